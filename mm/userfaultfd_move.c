// SPDX-License-Identifier: GPL-2.0-only
/*
 * UFFDIO_MOVE: move anonymous pages from one address of the monitored
 * process to another, page table entry and all, without copying them.
 * A compacting garbage collector moves live objects this way while the
 * mutator faults on the destination and waits for them.
 *
 * Only pages the source maps exclusively can move: the page's anon_vma
 * and index are rewritten for its new place, which would be wrong for a
 * page another process (a fork's COW sharing, KSM) or a pin (DMA) still
 * sees.  Those are EBUSY.  Both VMAs are held by their per-VMA read locks
 * throughout (page-table moves assert them), then the context's fill
 * gate; each page is moved under its folio lock, its anon_vma lock and
 * both page-table locks.
 *
 * See Documentation/vm/userfaultfd.txt.
 */

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlbflush.h>
#include "internal.h"
#include "swap.h"
#include "userfaultfd_internal.h"

/*
 * Hold the VMAs of @dst and @src by their read locks, with mmap_lock
 * not held.  Where the lockless lookup fails (contention, or a destination
 * without an anon_vma yet, which needs mmap_lock to be given one), look
 * them up under mmap_lock and take their locks there: nobody can write-
 * lock a VMA while we hold mmap_lock, so that cannot fail.
 *
 * Return: 0, or -ENOENT if either address is unmapped, -ENOMEM.
 */
static int uffd_move_lock(struct mm_struct *mm, unsigned long dst,
			  unsigned long src, struct vm_area_struct **dvmap,
			  struct vm_area_struct **svmap)
{
	struct vm_area_struct *dvma, *svma;
	int err = 0;

	dvma = lock_vma_under_rcu(mm, dst);
	if (dvma && dvma->anon_vma) {
		if (src >= dvma->vm_start && src < dvma->vm_end) {
			svma = dvma;
			goto locked;
		}
		svma = lock_vma_under_rcu(mm, src);
		if (svma)
			goto locked;
	}
	if (dvma)
		vma_end_read(dvma);

	mmap_read_lock(mm);
	dvma = vma_lookup(mm, dst);
	svma = vma_lookup(mm, src);
	if (!dvma || !svma) {
		err = -ENOENT;
		goto unlock;
	}
	/* The moved pages' rmap needs one; private anonymous memory only. */
	if (vma_is_anonymous(dvma) && !(dvma->vm_flags & VM_SHARED) &&
	    anon_vma_prepare(dvma)) {
		err = -ENOMEM;
		goto unlock;
	}
#ifdef CONFIG_PER_VMA_LOCK
	down_read(&dvma->vm_lock->lock);
	if (svma != dvma)
		down_read_nested(&svma->vm_lock->lock, SINGLE_DEPTH_NESTING);
	mmap_read_unlock(mm);
#endif
	/* Without per-VMA locks, mmap_lock stays held until the unlock. */
	goto locked;
unlock:
	mmap_read_unlock(mm);
	return err;
locked:
	*dvmap = dvma;
	*svmap = svma;
	return 0;
}

static void uffd_move_unlock(struct vm_area_struct *dvma,
			     struct vm_area_struct *svma)
{
#ifdef CONFIG_PER_VMA_LOCK
	vma_end_read(dvma);
	if (svma != dvma)
		vma_end_read(svma);
#else
	mmap_read_unlock(dvma->vm_mm);
#endif
}

/* Both anonymous and private, alike enough that a page may change VMA. */
static int uffd_move_check_vmas(struct userfaultfd_ctx *ctx,
				struct vm_area_struct *dvma,
				struct vm_area_struct *svma)
{
	const vm_flags_t no_move = VM_PFNMAP | VM_IO | VM_HUGETLB |
				   VM_MIXEDMAP | VM_SHADOW_STACK;

	if (dvma->vm_userfaultfd_ctx.ctx != ctx)
		return -EINVAL;
	if (!vma_is_anonymous(dvma) || !vma_is_anonymous(svma) ||
	    ((dvma->vm_flags | svma->vm_flags) & (no_move | VM_SHARED)))
		return -EINVAL;
	/* The same protections, both locked in memory or neither. */
	if ((dvma->vm_flags & (VM_ACCESS_FLAGS | VM_LOCKED)) !=
	    (svma->vm_flags & (VM_ACCESS_FLAGS | VM_LOCKED)) ||
	    pgprot_val(dvma->vm_page_prot) != pgprot_val(svma->vm_page_prot))
		return -EINVAL;
	/* Moved pages are mapped writable, as mremap() maps them. */
	if (!(svma->vm_flags & VM_WRITE))
		return -EINVAL;
	return 0;
}

/* The PMD for @addr, with the levels above it allocated. */
static pmd_t *uffd_move_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d = p4d_alloc(mm, pgd, addr);
	pud_t *pud = p4d ? pud_alloc(mm, p4d, addr) : NULL;

	return pud ? pmd_alloc(mm, pud, addr) : NULL;
}

/*
 * Map both page tables again after sleeping.  They are the same ones:
 * nothing frees an anonymous VMA's page tables without write-locking the
 * VMA, and we hold its read lock, so the PTE locks found before still
 * apply.  False (nothing mapped) if one is gone all the same.
 */
static bool uffd_move_remap(pmd_t *dpmd, pmd_t *spmd, unsigned long dst,
			    unsigned long src, pte_t **dptep, pte_t **sptep)
{
	*dptep = pte_offset_map(dpmd, dst);
	if (!*dptep)
		return false;
	*sptep = pte_offset_map(spmd, src);
	if (!*sptep) {
		pte_unmap(*dptep);
		return false;
	}
	return true;
}

/*
 * Move one present anonymous page (or the zero page) from @src to @dst.
 * Entered with both PTEs mapped and unlocked; leaves them unmapped.
 * Return: 0, -EAGAIN to look again, or an errno for the caller.
 */
static int uffd_move_present(struct mm_struct *mm, struct vm_area_struct *dvma,
			     struct vm_area_struct *svma, pmd_t *dpmd,
			     pmd_t *spmd, unsigned long dst, unsigned long src,
			     pte_t *dpte, pte_t *spte, spinlock_t *dptl,
			     spinlock_t *sptl, pte_t orig_src)
{
	struct anon_vma *anon_vma = NULL;
	struct folio *folio = NULL;
	pte_t entry;
	int err = 0;

	/*
	 * The page may be zapped and freed the moment we look away: take
	 * our reference under the PTE lock, on the page still mapped.
	 */
	spin_lock(sptl);
	if (!pte_same(ptep_get(spte), orig_src)) {
		err = -EAGAIN;
	} else if (!is_zero_pfn(pte_pfn(orig_src))) {
		folio = vm_normal_folio(svma, src, orig_src);
		if (!folio || !folio_test_anon(folio) ||
		    !PageAnonExclusive(pte_page(orig_src))) {
			err = -EBUSY;
			folio = NULL;
		} else if (folio_test_large(folio) && !folio_trylock(folio)) {
			/*
			 * Somebody works on it (another move splitting it):
			 * no reference of ours to make their split fail.
			 */
			err = -EAGAIN;
			folio = NULL;
		} else {
			folio_get(folio);
		}
	}
	spin_unlock(sptl);
	pte_unmap(spte);
	pte_unmap(dpte);
	if (err)
		return err;

	if (folio) {
		/* Only small pages change their rmap here: split large ones. */
		if (folio_test_large(folio)) {	/* locked already */
			err = -EBUSY;
			if (folio_maybe_dma_pinned(folio))
				goto out;
			/* Split, look again; a passing reference: retry. */
			err = split_folio(folio);
			err = !err || err == -EAGAIN ? -EAGAIN : -EBUSY;
			goto out;
		}
		folio_lock(folio);
		/* The anon_vma lock keeps rmap walkers (and splits) out. */
		anon_vma = folio_get_anon_vma(folio);
		if (!anon_vma) {
			err = -EAGAIN;
			goto out;
		}
		anon_vma_lock_write(anon_vma);
	}

	err = -EAGAIN;
	if (!uffd_move_remap(dpmd, spmd, dst, src, &dpte, &spte))
		goto out;
	double_pt_lock(dptl, sptl);
	if (!pte_none(ptep_get(dpte)) || !pte_same(ptep_get(spte), orig_src))
		goto unlock;

	if (folio) {
		err = -EBUSY;
		if (folio_maybe_dma_pinned(folio) ||
		    !PageAnonExclusive(&folio->page))
			goto unlock;
		entry = ptep_clear_flush(svma, src, spte);
		/* Pinned between the check and the clear: put it back. */
		if (folio_maybe_dma_pinned(folio)) {
			set_pte_at(mm, src, spte, entry);
			goto unlock;
		}
		folio_move_anon_rmap(folio, dvma);
		folio->index = linear_page_index(dvma, dst);
		/* Dirty and writable where it lands, as mremap() leaves it. */
		entry = mk_pte(&folio->page, dvma->vm_page_prot);
		entry = pte_mkwrite(pte_mkdirty(entry), dvma);
		/* A soft-dirty tracker (CRIU) must see the page changed. */
		entry = pte_mksoft_dirty(entry);
	} else {
		ptep_clear_flush(svma, src, spte);
		entry = pte_mkspecial(pfn_pte(my_zero_pfn(dst),
					      dvma->vm_page_prot));
		entry = pte_mksoft_dirty(entry);
	}
	set_pte_at(mm, dst, dpte, entry);
	update_mmu_cache(dvma, dst, dpte);
	err = 0;
unlock:
	double_pt_unlock(dptl, sptl);
	pte_unmap(spte);
	pte_unmap(dpte);
out:
	if (anon_vma) {
		anon_vma_unlock_write(anon_vma);
		put_anon_vma(anon_vma);
	}
	if (folio) {
		folio_unlock(folio);
		folio_put(folio);
	}
	return err;
}

/*
 * Move a swapped-out page: its swap entry, and the rmap of its copy in
 * the swap cache if there is one, so that a swap-in at @dst finds it.
 * Entered with both PTEs mapped and unlocked; leaves them unmapped.
 */
static int uffd_move_swap(struct mm_struct *mm, struct vm_area_struct *dvma,
			  pmd_t *dpmd, pmd_t *spmd, unsigned long dst,
			  unsigned long src, pte_t *dpte, pte_t *spte,
			  spinlock_t *dptl, spinlock_t *sptl, pte_t orig_src)
{
	swp_entry_t entry = pte_to_swp_entry(orig_src);
	struct swap_info_struct *si;
	struct folio *folio;
	int err = -EAGAIN;

	if (!pte_swp_exclusive(orig_src)) {
		pte_unmap(spte);
		pte_unmap(dpte);
		return -EBUSY;
	}
	/* Keeps swapoff from freeing the device under us. */
	si = get_swap_device(entry);
	if (!si) {
		pte_unmap(spte);
		pte_unmap(dpte);
		return -EAGAIN;
	}
	folio = filemap_get_folio(swap_address_space(entry),
				  swap_cache_index(entry));
	if (IS_ERR(folio))
		folio = NULL;
	if (folio) {
		/* Sleeping locks: with the page tables unmapped. */
		pte_unmap(spte);
		pte_unmap(dpte);
		folio_lock(folio);
		if (folio_test_large(folio) || !folio_test_swapcache(folio) ||
		    folio->swap.val != entry.val) {
			err = folio_test_large(folio) ? -EBUSY : -EAGAIN;
			goto out;
		}
		if (!uffd_move_remap(dpmd, spmd, dst, src, &dpte, &spte))
			goto out;
	}
	double_pt_lock(dptl, sptl);
	/*
	 * No folio found: one may have entered the swap cache since (a
	 * swap-in, then a swap-out reusing the entry), with the old rmap.
	 * Look again later rather than move the entry away from it.
	 */
	if (pte_none(ptep_get(dpte)) && pte_same(ptep_get(spte), orig_src) &&
	    (folio || !(READ_ONCE(si->swap_map[swp_offset(entry)]) &
			SWAP_HAS_CACHE))) {
		if (folio) {
			folio_move_anon_rmap(folio, dvma);
			folio->index = linear_page_index(dvma, dst);
		}
		pte_clear(mm, src, spte);
		set_pte_at(mm, dst, dpte, pte_swp_mksoft_dirty(orig_src));
		err = 0;
	}
	double_pt_unlock(dptl, sptl);
	pte_unmap(spte);
	pte_unmap(dpte);
out:
	if (folio) {
		folio_unlock(folio);
		folio_put(folio);
	}
	put_swap_device(si);
	return err;
}

/*
 * Move the PTE at @src to @dst, both PMDs pointing at page tables.
 * Return: 0 (moved, or a hole skipped with ALLOW_SRC_HOLES), -EAGAIN to
 * look again, or an errno.
 */
static int uffd_move_one(struct mm_struct *mm, struct vm_area_struct *dvma,
			 struct vm_area_struct *svma, pmd_t *dpmd, pmd_t *spmd,
			 unsigned long dst, unsigned long src, u64 mode)
{
	struct mmu_notifier_range range;
	spinlock_t *dptl, *sptl;
	pte_t *dpte, *spte, orig_src;
	int err;

	flush_cache_range(svma, src, src + PAGE_SIZE);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, src,
				src + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	err = -EAGAIN;
	dpte = pte_offset_map_nolock(mm, dpmd, dst, &dptl);
	if (!dpte)
		goto out;
	spte = pte_offset_map_nolock(mm, spmd, src, &sptl);
	if (!spte) {
		pte_unmap(dpte);
		goto out;
	}
	orig_src = ptep_get(spte);
	if (!pte_none(ptep_get(dpte))) {
		err = -EEXIST;
	} else if (pte_none(orig_src)) {
		err = mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ? 0 : -ENOENT;
	} else if (pte_present(orig_src)) {
		err = uffd_move_present(mm, dvma, svma, dpmd, spmd, dst, src,
					dpte, spte, dptl, sptl, orig_src);
		goto out;
	} else if (is_migration_entry(pte_to_swp_entry(orig_src))) {
		pte_unmap(spte);
		pte_unmap(dpte);
		migration_entry_wait(mm, spmd, src);
		goto out;
	} else if (!non_swap_entry(pte_to_swp_entry(orig_src))) {
		err = uffd_move_swap(mm, dvma, dpmd, spmd, dst, src, dpte,
				     spte, dptl, sptl, orig_src);
		goto out;
	} else {
		err = -EFAULT;	/* a marker, a device entry: nothing to move */
	}
	pte_unmap(spte);
	pte_unmap(dpte);
out:
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/* Looks at one step before the move returns what it has done. */
#define UFFD_MOVE_RETRIES	64

/* Would moving the huge page at @src cut it (or land across a PMD)? */
static bool uffd_move_cuts_pmd(unsigned long dst, unsigned long src,
			       unsigned long src_end)
{
	return (dst | src) & ~HPAGE_PMD_MASK || src_end - src < HPAGE_PMD_SIZE;
}

/*
 * One step of the move at @dst/@src: a whole PMD-mapped huge page where
 * it moves whole, else one page.  Return: the bytes moved (a hole counts,
 * with ALLOW_SRC_HOLES), 0 to try this step again, or an errno.
 */
static long uffd_move_step(struct mm_struct *mm, struct vm_area_struct *dvma,
			   struct vm_area_struct *svma, unsigned long dst,
			   unsigned long src, unsigned long src_end, u64 mode)
{
	pmd_t *dpmd, *spmd, dpmdval;
	spinlock_t *ptl;
	int err;

	spmd = mm_find_pmd(mm, src);
	if (!spmd) {
		if (!(mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES))
			return -ENOENT;
		spmd = uffd_move_pmd(mm, src);
	}
	dpmd = uffd_move_pmd(mm, dst);
	if (!spmd || !dpmd)
		return -ENOMEM;
	dpmdval = pmdp_get_lockless(dpmd);
	if (pmd_trans_huge(dpmdval) || pmd_devmap(dpmdval))
		return -EEXIST;

	ptl = pmd_trans_huge_lock(spmd, svma);
	if (ptl) {
		struct folio *folio;

		__acquire(ptl);	/* for sparse: pmd_trans_huge_lock() took it */
		if (is_pmd_migration_entry(*spmd)) {
			spin_unlock(ptl);
			pmd_migration_entry_wait(mm, spmd);
			return 0;
		}
		if (pmd_devmap(*spmd)) {
			spin_unlock(ptl);
			return -ENOENT;
		}
		if (uffd_move_cuts_pmd(dst, src, src_end) ||
		    !pmd_none(dpmdval)) {
			/* Split the mapping; its pages move one by one. */
			folio = pmd_folio(*spmd);
			if (!is_huge_zero_folio(folio) &&
			    !PageAnonExclusive(&folio->page)) {
				spin_unlock(ptl);
				return -EBUSY;
			}
			spin_unlock(ptl);
			split_huge_pmd(svma, spmd, src);
			return 0;
		}
		/* It unlocks ptl. */
		err = move_pages_huge_pmd(mm, dpmd, spmd, dpmdval, dvma, svma,
					  dst, src);
		__release(ptl);
		return err ? (err == -EAGAIN ? 0 : err) : HPAGE_PMD_SIZE;
	}

	if (pmd_none(pmdp_get_lockless(spmd))) {
		if (!(mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES))
			return -ENOENT;
		if (__pte_alloc(mm, spmd))
			return -ENOMEM;
	}
	if (pte_alloc(mm, dpmd))
		return -ENOMEM;
	err = uffd_move_one(mm, dvma, svma, dpmd, spmd, dst, src, mode);
	return err ? (err == -EAGAIN ? 0 : err) : PAGE_SIZE;
}

/**
 * uffd_move_range - UFFDIO_MOVE: move [src, src + len) to dst
 * @ctx: the context @dst's VMA must be registered with
 * @gate: its fill gate: no move while a layout change is not yet read
 * @mm: its address space, pinned by the caller
 * @dst: page-aligned destination
 * @src: page-aligned source
 * @len: page-aligned length
 * @mode: UFFDIO_MOVE_MODE_* (ALLOW_SRC_HOLES matters here)
 *
 * Both ranges must lie in one VMA each, of private anonymous memory with
 * the same protections.  Page by page (PMD by PMD where a huge page moves
 * whole), stopping at the first that fails.
 *
 * Return: the bytes moved if any, else a negative errno: -ENOENT (nothing
 * mapped at an address, or a hole without ALLOW_SRC_HOLES), -EINVAL
 * (ranges not in one VMA each, VMAs that do not qualify), -EEXIST (the
 * destination is populated), -EBUSY (a page shared or pinned), -EAGAIN (a
 * layout change is not yet read, or a page kept busy by others), -ENOMEM,
 * -EFAULT, -EINTR.
 */
ssize_t uffd_move_range(struct userfaultfd_ctx *ctx,
			struct uffd_fill_gate *gate, struct mm_struct *mm,
			unsigned long dst, unsigned long src, unsigned long len,
			u64 mode)
{
	struct vm_area_struct *dvma, *svma;
	unsigned long done = 0;
	int retries = 0;
	long step;
	int err;

	/* Huge pages move with huge_memory.c's help, which needs THP. */
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		return -EINVAL;
	err = uffd_move_lock(mm, dst, src, &dvma, &svma);
	if (err)
		return err;
	err = uffd_gate_enter(gate);
	if (err)
		goto unlock;
	err = -EINVAL;
	if (len > dvma->vm_end - dst || len > svma->vm_end - src)
		goto leave;
	err = uffd_move_check_vmas(ctx, dvma, svma);
	if (err)
		goto leave;

	while (done < len) {
		step = uffd_move_step(mm, dvma, svma, dst + done, src + done,
				      src + len, mode);
		if (step < 0) {
			err = step;
			break;
		}
		/*
		 * A step looked at again and again (a page others keep a
		 * reference on): let user space retry, as EAGAIN says.
		 */
		retries = step ? 0 : retries + 1;
		if (retries > UFFD_MOVE_RETRIES) {
			err = -EAGAIN;
			break;
		}
		done += step;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
leave:
	uffd_gate_leave(gate);
unlock:
	uffd_move_unlock(dvma, svma);
	return done ? done : err;
}
