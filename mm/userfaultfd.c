// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory side of userfaultfd: which VMAs can be
 * registered, changing their registration, the fault path's last look at
 * the page tables, and filling page tables for UFFDIO_COPY,
 * UFFDIO_ZEROPAGE, UFFDIO_CONTINUE and UFFDIO_POISON.
 *
 * Registration lives in the VMA: the VM_UFFD_* bits in vm_flags and the
 * context in vm_userfaultfd_ctx, both changed only under mmap_lock held
 * for write (and the VMA write lock).  Fills hold the VMA's per-VMA
 * read lock (or, failing that, mmap_lock for read), then the context's
 * fill gate for read, then the page-table lock of the PTE they install.
 *
 * The kinds of memory differ only behind struct uffd_mem_kind, at the end
 * of this file.  UFFDIO_MOVE, a concern of its own, is in
 * userfaultfd_move.c.  Calls go one way: the file side (fs/userfaultfd/) calls
 * in here, and nothing here calls back into it.
 *
 * See Documentation/vm/userfaultfd.txt.
 */

#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/swap.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>
#include "internal.h"
#include "userfaultfd_internal.h"

/* Fills one page at @addr of @vma; see "the per-page fillers" below. */
typedef int (*uffd_filler_t)(struct vm_area_struct *vma, unsigned long addr,
			     unsigned long src, uffd_flags_t flags,
			     struct folio **foliop);

/*
 * The fault path's last look before it sleeps, with the fault's mmap or
 * VMA lock held; may sleep.  One per page-table granularity, shared by
 * every kind of memory mapped at it.
 */
struct uffd_pt_look {
	/* Does nothing map @addr yet?  NULL: never asked (no such mode). */
	bool (*missing)(struct vm_area_struct *vma, unsigned long addr);
	/* Is @addr still write-protected? */
	bool (*wp)(struct vm_area_struct *vma, unsigned long addr);
};

/*
 * What differs between the kinds of memory userfaultfd serves.  Shared
 * code asks the kind of the VMA; a new operation is a new member here,
 * not a test of the memory type in a shared path.
 */
struct uffd_mem_kind {
	/* The VM_UFFD_* modes such memory can be registered for. */
	unsigned long modes;
	/*
	 * More of them, for a context whose write faults the kernel
	 * resolves itself (UFFD_FEATURE_WP_ASYNC) and registering for
	 * nothing else: write tracking needs no fills.
	 */
	unsigned long modes_async;
	/*
	 * The range ioctls valid on such memory: UFFDIO_REGISTER's answer
	 * (UFFDIO_WRITEPROTECT is added for ranges registered for it).
	 */
	u64 range_ioctls;
	/* How its page tables are read: by PTE or by huge page. */
	const struct uffd_pt_look *look;
	/*
	 * The per-page fillers (see below), one per fill operation; NULL
	 * where such memory has none (-EINVAL).  UFFDIO_COPY and
	 * UFFDIO_ZEROPAGE fill a new page; UFFDIO_CONTINUE maps the page
	 * already in the page cache (what a minor fault waits for);
	 * UFFDIO_POISON leaves a marker that makes any access SIGBUS.
	 */
	uffd_filler_t fill;
	uffd_filler_t cont;
	uffd_filler_t poison;
	/*
	 * @vma was just registered, mmap_lock held for write: undo what its
	 * new modes cannot live with.  Optional.
	 */
	void (*registered)(struct vm_area_struct *vma);
	/*
	 * Every fault path of such memory hands handle_userfault()'s result
	 * straight back to handle_mm_fault(), so a resolved fault may say
	 * VM_FAULT_COMPLETED (true of anonymous memory only: shmem's and
	 * hugetlbfs' fault paths act on the result themselves).
	 */
	bool fault_completes;
};

static const struct uffd_mem_kind *uffd_kind(struct vm_area_struct *vma);

/* Point @vma at @ctx in mode @mode (0 and NULL: not registered). */
static void uffd_vma_set(struct vm_area_struct *vma,
			 struct userfaultfd_ctx *ctx, unsigned long mode)
{
	bool wp_changed = (vma->vm_flags ^ mode) & VM_UFFD_WP;

	vma_start_write(vma);
	vm_flags_reset(vma, (vma->vm_flags & ~__VM_UFFD_FLAGS) | mode);
	vma->vm_userfaultfd_ctx.ctx = ctx;
	/*
	 * A shared mapping tracked for writes must not hand out writable
	 * PTEs by default (vma_wants_writenotify()): a PTE rebuilt from
	 * vm_page_prot (a NUMA hinting fault) would otherwise be writable
	 * with its mark still on.
	 */
	if (wp_changed && (vma->vm_flags & VM_SHARED))
		vma_set_page_prot(vma);
}

/**
 * uffd_vma_forget - drop @vma's registration in place
 * @vma: the VMA; its mm's mmap_lock held for write
 *
 * For VMAs that are not (or not yet) in a VMA tree we may merge in, such as
 * a child's copy during fork or the target of an mremap.
 */
void uffd_vma_forget(struct vm_area_struct *vma)
{
	uffd_vma_set(vma, NULL, 0);
}

/* ---- write protection ------------------------------------------------ */

/**
 * uffd_wp_range - write-protect, or unprotect, part of a VMA
 * @vma: the VMA; its mm's mmap_lock held
 * @start: page-aligned start inside @vma
 * @len: page-aligned length, ending inside @vma
 * @enable_wp: protect (mark the PTEs uffd-wp and read-only) or unprotect
 *	(clear the mark)
 *
 * A write to a protected page faults to the monitor.  Unprotecting makes
 * a PTE writable again at once where the page may be written in place
 * (an exclusive anonymous page), rather than on the next write fault.
 * Used by UFFDIO_WRITEPROTECT, and by PAGEMAP_SCAN for asynchronous
 * write-protect.
 *
 * Return: the number of PTEs changed, or a negative errno.
 */
long uffd_wp_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long len, bool enable_wp)
{
	unsigned long cp_flags = enable_wp ? MM_CP_UFFD_WP : MM_CP_UFFD_WP_RESOLVE;
	struct mmu_gather tlb;
	long changed;

	VM_WARN_ON_ONCE(start < vma->vm_start || start + len > vma->vm_end);
	if (!enable_wp && vma_wants_manual_pte_write_upgrade(vma))
		cp_flags |= MM_CP_TRY_CHANGE_WRITABLE;
	tlb_gather_mmu(&tlb, vma->vm_mm);
	changed = change_protection(&tlb, vma, start, start + len, cp_flags);
	tlb_finish_mmu(&tlb);
	return changed;
}

/*
 * @vma stops being registered for write-protect: clear the marks it left,
 * which nobody would ever resolve.  Before its flags change, as it may
 * then merge into a neighbour that never had any.
 */
static void uffd_wp_forget(struct vm_area_struct *vma)
{
	if (!userfaultfd_wp(vma))
		return;
	/* Keep out fills (per-VMA lock) that would mark pages behind us. */
	vma_start_write(vma);
	uffd_wp_range(vma, vma->vm_start, vma->vm_end - vma->vm_start, false);
}

/* ---- registration ---------------------------------------------------- */

/*
 * Check every VMA in [start, end) before anything is changed; narrow
 * @ioctls to the range ioctls valid on all of them.
 */
static int uffd_register_check(struct mm_struct *mm,
			       struct userfaultfd_ctx *ctx,
			       unsigned long start, unsigned long end,
			       unsigned long mode, bool wp_async, u64 *ioctls)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	struct userfaultfd_ctx *owner;
	int err = -EINVAL;	/* no VMA at all in the range */
	unsigned long modes;

	for_each_vma_range(vmi, vma, end) {
		const struct uffd_mem_kind *kind = uffd_kind(vma);
		unsigned long mask = vma_kernel_pagesize(vma) - 1;

		owner = vma->vm_userfaultfd_ctx.ctx;
		if (!kind)
			return -EINVAL;
		modes = kind->modes;
		if (mode ? wp_async && mode == VM_UFFD_WP :
			   (vma->vm_flags & __VM_UFFD_FLAGS) == VM_UFFD_WP)
			modes |= kind->modes_async;
		/* Memory that could not be registered is not unregistered. */
		if ((mode & ~modes) || !modes)
			return -EINVAL;
		/* A huge page is registered whole or not at all. */
		if ((max(start, vma->vm_start) | min(end, vma->vm_end)) & mask)
			return -EINVAL;
		*ioctls &= kind->range_ioctls;
		if (WARN_ON_ONCE(!owner != !userfaultfd_armed(vma)))
			return -EINVAL;
		if (mode && !(vma->vm_flags & VM_MAYWRITE))
			return -EPERM;
		if (mode && owner && owner != ctx)
			return -EBUSY;
		err = 0;
	}
	return err;
}

/**
 * uffd_register_range - register or unregister [start, end) with @ctx
 * @mm: the address space; mmap_lock held for write
 * @ctx: the context
 * @start: page-aligned start
 * @end: page-aligned end
 * @mode: the VM_UFFD_* mode to register, or 0 to unregister
 * @wp_async: @ctx resolves no write fault itself (UFFD_FEATURE_WP_ASYNC):
 *	write-protect alone may then track any kind of memory
 * @ioctls: set to the range ioctls valid on every VMA of the range
 *
 * Holes in the range are skipped; VMAs are split at @start and @end and
 * merged with neighbours where they now match.  Everything is checked
 * before anything changes.  Unregistering leaves alone the parts another
 * context registered.
 *
 * Return: 0, -EINVAL if the range holds no VMA, one that cannot be
 * registered, or cuts a huge page, -EPERM for a VMA that may never be
 * written, -EBUSY for a VMA registered with another context, -ENOMEM if
 * a split failed (VMAs before it are already changed).
 */
int uffd_register_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			unsigned long start, unsigned long end,
			unsigned long mode, bool wp_async, u64 *ioctls)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma, *prev;
	struct vm_userfaultfd_ctx want = { mode ? ctx : NULL };
	const struct uffd_mem_kind *kind;
	int err;

	mmap_assert_write_locked(mm);
	*ioctls = ~0ULL;
	err = uffd_register_check(mm, ctx, start, end, mode, wp_async, ioctls);
	if (err)
		return err;
	if (mode & VM_UFFD_WP)
		*ioctls |= BIT_ULL(_UFFDIO_WRITEPROTECT);
	if (mode & VM_UFFD_MINOR)
		*ioctls |= BIT_ULL(_UFFDIO_CONTINUE);

	vma = vma_find(&vmi, end);
	prev = vma_prev(&vmi);
	if (vma->vm_start < start)
		prev = vma;	/* the split-off head will be the neighbour */

	for_each_vma_range(vmi, vma, end) {
		unsigned long lo = max(start, vma->vm_start);
		unsigned long hi = min(end, vma->vm_end);
		struct userfaultfd_ctx *owner = vma->vm_userfaultfd_ctx.ctx;
		bool done = mode ? owner == ctx &&
				   (vma->vm_flags & __VM_UFFD_FLAGS) == mode
				 : owner != ctx;

		if (!done) {
			/*
			 * Before the VMA may merge into one without WP, and
			 * write-locked first: a fill holding only the VMA's
			 * lock could otherwise map marked pages behind us.
			 */
			if (userfaultfd_wp(vma) && !(mode & VM_UFFD_WP)) {
				vma_start_write(vma);
				uffd_wp_range(vma, lo, hi - lo, false);
			}
			vma = vma_modify_flags_uffd(&vmi, prev, vma, lo, hi,
					(vma->vm_flags & ~__VM_UFFD_FLAGS) | mode,
					want, false);
			if (IS_ERR(vma))
				return PTR_ERR(vma);
			uffd_vma_set(vma, want.ctx, mode);
			kind = uffd_kind(vma);
			if (mode && kind->registered)
				kind->registered(vma);
		}
		prev = vma;
	}
	return 0;
}

/**
 * uffd_unregister_ctx - drop every registration of @ctx in @mm
 * @mm: the address space; mmap_lock held for write
 * @ctx: the context being released
 *
 * Whole VMAs change, so nothing needs a split; a merge that cannot get
 * memory is skipped and the VMA cleared in place.  Cannot fail.
 */
void uffd_unregister_ctx(struct mm_struct *mm, struct userfaultfd_ctx *ctx)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma, *merged, *prev = NULL;

	mmap_assert_write_locked(mm);
	for_each_vma(vmi, vma) {
		if (vma->vm_userfaultfd_ctx.ctx == ctx) {
			uffd_wp_forget(vma);
			merged = vma_modify_flags_uffd(&vmi, prev, vma,
					vma->vm_start, vma->vm_end,
					vma->vm_flags & ~__VM_UFFD_FLAGS,
					NULL_VM_UFFD_CTX, true);
			if (!IS_ERR(merged))
				vma = merged;
			uffd_vma_forget(vma);
		}
		prev = vma;
		cond_resched();
	}
}

/* ---- the fault path's check ------------------------------------------ */

/*
 * Does the uffd-wp mark still sit on @addr, in a VMA of PTE-mapped memory
 * (on a huge PMD too)?  Only a mark certainly there makes a write wait:
 * anything else (unprotected, zapped, swapped out or migrating meanwhile)
 * retries the write, which faults again if it must.
 */
static bool uffd_pte_wp(struct vm_area_struct *vma, unsigned long addr)
{
	pmd_t *pmd, pmdval;
	pte_t *pte, ptent;

	pmd = mm_find_pmd(vma->vm_mm, addr);
	if (!pmd)
		return false;
	pmdval = pmdp_get_lockless(pmd);
	if (!pmd_present(pmdval))
		return false;
	if (pmd_trans_huge(pmdval))
		return pmd_uffd_wp(pmdval);
	pte = pte_offset_map(pmd, addr);
	if (!pte)
		return false;
	ptent = ptep_get(pte);
	pte_unmap(pte);
	return pte_present(ptent) && pte_uffd_wp(ptent);
}

/* Nothing maps @addr yet in a hugetlbfs VMA. */
static bool uffd_huge_page_missing(struct vm_area_struct *vma,
				   unsigned long addr)
{
#ifdef CONFIG_HUGETLB_PAGE
	pte_t *ptep;
	bool none;

	/* Keeps a shared page table from going away under the walk. */
	hugetlb_vma_lock_read(vma);
	ptep = hugetlb_walk(vma, addr, vma_kernel_pagesize(vma));
	none = !ptep || huge_pte_none_mostly(huge_ptep_get(vma->vm_mm, addr,
							   ptep));
	hugetlb_vma_unlock_read(vma);
	return none;
#else
	return true;	/* no hugetlbfs VMA can exist */
#endif
}

/* Is the huge page at @addr in a hugetlbfs VMA still write-protected? */
static bool uffd_huge_page_wp(struct vm_area_struct *vma, unsigned long addr)
{
#ifdef CONFIG_HUGETLB_PAGE
	pte_t *ptep, pte;
	bool wp = false;

	hugetlb_vma_lock_read(vma);
	ptep = hugetlb_walk(vma, addr, vma_kernel_pagesize(vma));
	if (ptep) {
		pte = huge_ptep_get(vma->vm_mm, addr, ptep);
		wp = pte_present(pte) && huge_pte_uffd_wp(pte);
	}
	hugetlb_vma_unlock_read(vma);
	return wp;
#else
	return false;	/* no hugetlbfs VMA can exist */
#endif
}

/*
 * Nothing maps @addr yet in a VMA of PTE-mapped memory.  A huge page, a
 * migration entry or a swapped-out page count as present, as does a page
 * table that changed under us (the fault simply retries).  Such VMAs
 * never hold PUD-sized mappings.
 */
static bool uffd_pte_missing(struct vm_area_struct *vma, unsigned long addr)
{
	pmd_t *pmd, pmdval;
	pte_t *pte;
	bool none;

	pmd = mm_find_pmd(vma->vm_mm, addr);
	if (!pmd)
		return true;
	pmdval = pmdp_get_lockless(pmd);
	if (pmd_none(pmdval))
		return true;
	if (!pmd_present(pmdval) || pmd_leaf(pmdval))
		return false;
	pte = pte_offset_map(pmd, addr);
	if (!pte)
		return false;
	/* A uffd-wp marker holds a protection, not a page. */
	none = pte_none_mostly(ptep_get(pte));
	pte_unmap(pte);
	return none;
}

/**
 * uffd_must_wait - does a fault still have to wait for the monitor?
 * @vma: the registered VMA of a fault; its mmap or VMA lock held
 * @addr: the fault's address, aligned to the VMA's page size
 * @reason: VM_UFFD_MISSING or VM_UFFD_MINOR (is nothing mapped here
 *	yet?) or VM_UFFD_WP (is the page still write-protected?)
 * @completes: set to whether the fault, once resolved, may end with
 *	VM_FAULT_COMPLETED rather than VM_FAULT_RETRY (its kind's
 *	fault_completes), answered here while @vma is held
 *
 * The last look a fault takes before it sleeps.  May sleep.
 *
 * Return: true if the fault has to wait for the monitor.
 */
bool uffd_must_wait(struct vm_area_struct *vma, unsigned long addr,
		    unsigned long reason, bool *completes)
{
	const struct uffd_mem_kind *kind = uffd_kind(vma);

	*completes = kind && kind->fault_completes;
	if (reason & VM_UFFD_WP)
		return kind && kind->look->wp(vma, addr);
	return !kind || !kind->look->missing || kind->look->missing(vma, addr);
}

/* ---- filling page tables ---------------------------------------------- */

/**
 * double_pt_lock - take two page-table locks, which may be the same
 * @ptl1: one lock
 * @ptl2: the other
 *
 * Locks are taken in address order, so two callers cannot deadlock.
 */
void double_pt_lock(spinlock_t *ptl1, spinlock_t *ptl2)
	__acquires(ptl1)
	__acquires(ptl2)
{
	spinlock_t *low = ptl1 < ptl2 ? ptl1 : ptl2;
	spinlock_t *high = ptl1 < ptl2 ? ptl2 : ptl1;

	spin_lock(low);
	if (high == low)
		__acquire(high);
	else
		spin_lock_nested(high, SINGLE_DEPTH_NESTING);
}

/**
 * double_pt_unlock - release what double_pt_lock() took
 * @ptl1: one lock
 * @ptl2: the other
 */
void double_pt_unlock(spinlock_t *ptl1, spinlock_t *ptl2)
	__releases(ptl1)
	__releases(ptl2)
{
	if (ptl1 == ptl2)
		__release(ptl2);
	else
		spin_unlock(ptl2);
	spin_unlock(ptl1);
}

/*
 * Is @addr past the end of the file @vma maps?  Checked under the PTE
 * lock, where a racing truncate either has not yet shrunk the file or
 * will find and zap what we install (it unmaps after changing the size).
 */
static bool uffd_past_eof(struct vm_area_struct *vma, unsigned long addr)
{
	pgoff_t end;

	if (!vma->vm_file)
		return false;
	end = DIV_ROUND_UP(i_size_read(file_inode(vma->vm_file)), PAGE_SIZE);
	return linear_page_index(vma, addr) >= end;
}

/**
 * mfill_atomic_install_pte - map a filled page at @dst_addr
 * @dst_pmd: the PMD, already pointing at a page table
 * @dst_vma: the registered VMA, held (struct uffd_fill_lock)
 * @dst_addr: page-aligned address
 * @page: the page, uptodate; a new anonymous one or one in a page cache
 * @newly_allocated: the caller just allocated @page: it goes on an LRU
 * @flags: the fill's uffd_flags_t (MFILL_ATOMIC_WP maps it read-only)
 *
 * Return: 0 with @page mapped (the mapping owns the caller's reference),
 * -EEXIST if something is mapped there already, -EAGAIN if the page
 * table went away meanwhile, -EFAULT if @dst_addr is past the end of the
 * file @dst_vma maps.
 */
int mfill_atomic_install_pte(pmd_t *dst_pmd, struct vm_area_struct *dst_vma,
			     unsigned long dst_addr, struct page *page,
			     bool newly_allocated, uffd_flags_t flags)
{
	struct mm_struct *mm = dst_vma->vm_mm;
	struct folio *folio = page_folio(page);
	struct address_space *mapping = folio_mapping(folio);
	bool wp = flags & MFILL_ATOMIC_WP;
	bool writable;
	spinlock_t *ptl;
	pte_t *ptep, entry;
	int err = 0;

	/* A private mapping of a cache page must copy on write. */
	writable = (dst_vma->vm_flags & VM_WRITE) && !wp &&
		   (!mapping || (dst_vma->vm_flags & VM_SHARED));
	entry = pte_mkdirty(mk_pte(page, dst_vma->vm_page_prot));
	if (writable)
		entry = pte_mkwrite(entry, dst_vma);
	if (wp)
		entry = pte_mkuffd_wp(entry);

	ptep = pte_offset_map_lock(mm, dst_pmd, dst_addr, &ptl);
	if (!ptep)
		return -EAGAIN;
	if (uffd_past_eof(dst_vma, dst_addr)) {
		err = -EFAULT;
		goto unlock;
	}
	/*
	 * A uffd-wp marker (a page protected before it was there) may be
	 * filled over; it is the fill's mode that says whether the new page
	 * stays protected.
	 */
	if (!pte_none_mostly(ptep_get(ptep))) {
		err = -EEXIST;
		goto unlock;
	}

	/* A new page, in a page cache or not, is not on an LRU list yet. */
	if (mapping) {
		if (newly_allocated)
			folio_add_lru(folio);
		folio_add_file_rmap_pte(folio, page, dst_vma);
	} else {
		folio_add_new_anon_rmap(folio, dst_vma, dst_addr, RMAP_EXCLUSIVE);
		if (newly_allocated)
			folio_add_lru_vma(folio, dst_vma);
	}
	inc_mm_counter(mm, mm_counter(folio));
	set_pte_at(mm, dst_addr, ptep, entry);
	update_mmu_cache(dst_vma, dst_addr, ptep);
unlock:
	pte_unmap_unlock(ptep, ptl);
	return err;
}

/* Map the shared zero page at @addr. */
static int uffd_install_zero(pmd_t *pmd, struct vm_area_struct *vma,
			     unsigned long addr)
{
	pte_t entry = pte_mkspecial(pfn_pte(my_zero_pfn(addr),
					    vma->vm_page_prot));
	spinlock_t *ptl;
	pte_t *ptep;
	int err = 0;

	ptep = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!ptep)
		return -EAGAIN;
	if (uffd_past_eof(vma, addr)) {
		err = -EFAULT;
	} else if (pte_none(ptep_get(ptep))) {	/* not over a uffd-wp marker */
		set_pte_at(vma->vm_mm, addr, ptep, entry);
		update_mmu_cache(vma, addr, ptep);
	} else {
		err = -EEXIST;
	}
	pte_unmap_unlock(ptep, ptl);
	return err;
}

/* The PMD covering @addr, with a page table under it. */
static int uffd_page_table(struct mm_struct *mm, unsigned long addr,
			   pmd_t **pmdp)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd, val;

	p4d = p4d_alloc(mm, pgd, addr);
	pud = p4d ? pud_alloc(mm, p4d, addr) : NULL;
	pmd = pud ? pmd_alloc(mm, pud, addr) : NULL;
	if (!pmd)
		return -ENOMEM;
	val = pmdp_get_lockless(pmd);
	if (pmd_none(val)) {
		if (__pte_alloc(mm, pmd))
			return -ENOMEM;
		val = pmdp_get_lockless(pmd);
	}
	/*
	 * A huge page maps the address, or is being migrated, or a device
	 * does: the address is populated, which monitors take as benign.
	 */
	if (!pmd_present(val) || pmd_trans_huge(val) || pmd_devmap(val))
		return -EEXIST;
	if (pmd_bad(val))
		return -EFAULT;
	*pmdp = pmd;
	return 0;
}

/* A new page for @addr: zeroed, or to be filled from user memory. */
static struct folio *uffd_new_folio(struct vm_area_struct *vma,
				    unsigned long addr, bool zero)
{
	struct folio *folio;

	if (zero)
		folio = vma_alloc_zeroed_movable_folio(vma, addr);
	else
		folio = vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, addr, false);
	if (!folio)
		return NULL;
	if (mem_cgroup_charge(folio, vma->vm_mm, GFP_KERNEL)) {
		folio_put(folio);
		return NULL;
	}
	return folio;
}

/*
 * Copy user memory at @src into the whole of @folio.  Under mmap_lock
 * page faults stay disabled (-EFAULT if @src is not resident); without
 * locks they are allowed.  The D-cache is flushed before anybody can map
 * the folio: on aliasing caches user space would read stale lines.
 */
static int uffd_copy_folio(struct folio *folio, unsigned long src,
			   bool may_fault)
{
	size_t off, size = folio_size(folio);
	unsigned long left = 0;
	void *dst;

	for (off = 0; off < size && !left; off += PAGE_SIZE) {
		dst = kmap_local_folio(folio, off);
		if (!may_fault)
			pagefault_disable();
		left = copy_from_user(dst, (const void __user *)(src + off),
				      PAGE_SIZE);
		if (!may_fault)
			pagefault_enable();
		kunmap_local(dst);
		if (may_fault)
			cond_resched();
	}
	if (left)
		return -EFAULT;
	flush_dcache_folio(folio);
	return 0;
}

/*
 * The per-page fillers.  Each fills one page (one huge page for hugetlbfs)
 * at @addr, with the VMA held (struct uffd_fill_lock).  When @src cannot
 * be read with page faults disabled, a filler returns -ENOENT with
 * *@foliop holding a folio for the caller to fill from @src without locks;
 * called again with it, the filler uses it.  This is also what shmem's
 * and hugetlbfs' own helpers do.  Only COPY reads @src.
 */

/*
 * Map @page at @addr through mfill_atomic_install_pte(), looking the page
 * table up again if it went away meanwhile.
 */
static int uffd_map_page(struct vm_area_struct *vma, unsigned long addr,
			 struct page *page, bool newly_allocated,
			 uffd_flags_t flags)
{
	pmd_t *pmd;
	int err;

	do {
		err = uffd_page_table(vma->vm_mm, addr, &pmd);
		if (!err)
			err = mfill_atomic_install_pte(pmd, vma, addr, page,
						       newly_allocated, flags);
	} while (err == -EAGAIN);
	return err;
}

/* Private memory: a new anonymous page, or the zero page. */
static int uffd_fill_private(struct vm_area_struct *vma, unsigned long addr,
			     unsigned long src, uffd_flags_t flags,
			     struct folio **foliop)
{
	bool zero = uffd_flags_mode_is(flags, MFILL_ATOMIC_ZEROPAGE);
	struct folio *folio = *foliop;
	pmd_t *pmd;
	int err;

	if (!folio && zero && !mm_forbids_zeropage(vma->vm_mm)) {
		do {
			err = uffd_page_table(vma->vm_mm, addr, &pmd);
			if (!err)
				err = uffd_install_zero(pmd, vma, addr);
		} while (err == -EAGAIN);	/* the page table went away */
		return err;
	}
	if (!folio) {
		folio = uffd_new_folio(vma, addr, zero);
		if (!folio)
			return -ENOMEM;
		if (!zero && uffd_copy_folio(folio, src, false)) {
			*foliop = folio;
			return -ENOENT;
		}
	}
	*foliop = NULL;
	__folio_mark_uptodate(folio);
	err = uffd_map_page(vma, addr, &folio->page, true, flags);
	if (err)
		folio_put(folio);
	return err;
}

/* Shared shmem: a page in the page cache, mapped here. */
static int uffd_fill_shmem(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long src, uffd_flags_t flags,
			   struct folio **foliop)
{
	pmd_t *pmd;
	int err;

	do {
		err = uffd_page_table(vma->vm_mm, addr, &pmd);
		if (!err)
			err = shmem_mfill_atomic_pte(pmd, vma, addr, src, flags,
						     foliop);
	} while (err == -EAGAIN);
	return err;
}

/*
 * hugetlbfs: a whole huge page (copied, continued from the page cache, or
 * poisoned; hugetlb's helper does all three), under the locks its fault
 * path takes.
 */
static int uffd_fill_hugetlb(struct vm_area_struct *vma, unsigned long addr,
			     unsigned long src, uffd_flags_t flags,
			     struct folio **foliop)
{
#ifdef CONFIG_HUGETLB_PAGE
	struct hstate *h = hstate_vma(vma);
	struct address_space *mapping = vma->vm_file->f_mapping;
	/* The same mutex as hugetlb_fault() for this page: huge-page units. */
	u32 hash = hugetlb_fault_mutex_hash(mapping,
					    hugetlb_linear_page_index(vma, addr));
	pte_t *pte;
	int err;

	if (uffd_flags_mode_is(flags, MFILL_ATOMIC_ZEROPAGE))
		return -EINVAL;		/* no zero huge page to map */
	/* The order of hugetlb_fault(): fault mutex, then the VMA lock. */
	mutex_lock(&hugetlb_fault_mutex_table[hash]);
	hugetlb_vma_lock_read(vma);
	pte = huge_pte_alloc(vma->vm_mm, vma, addr, huge_page_size(h));
	if (!pte)
		err = -ENOMEM;
	/* CONTINUE: hugetlb's helper tells EFAULT and EIO from EEXIST. */
	else if (!uffd_flags_mode_is(flags, MFILL_ATOMIC_CONTINUE) &&
		 !huge_pte_none_mostly(huge_ptep_get(vma->vm_mm, addr, pte)))
		err = -EEXIST;
	else
		err = hugetlb_mfill_atomic_pte(pte, vma, addr, src, flags, foliop);
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&hugetlb_fault_mutex_table[hash]);
	return err;
#else
	return -EINVAL;		/* no hugetlbfs VMA can exist */
#endif
}

/*
 * shmem, shared or private: map the page already in the page cache (a
 * minor fault's page; a private mapping gets it read-only, to copy on
 * write).  No page there: -EFAULT, as upstream.
 */
static int uffd_cont_shmem(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long src, uffd_flags_t flags,
			   struct folio **foliop)
{
	struct inode *inode = file_inode(vma->vm_file);
	pgoff_t pgoff = linear_page_index(vma, addr);
	struct folio *folio;
	struct page *page;
	int err;

	if (!IS_ENABLED(CONFIG_SHMEM))
		return -EINVAL;		/* no shmem VMA can exist */
	err = shmem_get_folio(inode, pgoff, 0, &folio, SGP_NOALLOC);
	if (err == -ENOENT || (!err && !folio))
		return -EFAULT;
	if (err)
		return err;
	page = folio_file_page(folio, pgoff);
	err = -EIO;
	if (PageHWPoison(page))
		goto out;
	err = uffd_map_page(vma, addr, page, false, flags);
	if (!err) {
		/* The mapping owns our reference now. */
		folio_unlock(folio);
		return 0;
	}
out:
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

/*
 * PTE-mapped memory: a poison marker where nothing is mapped, not even
 * another marker (a page protected before it was there stays what it
 * is): any access then gets SIGBUS, as after a memory error.  What
 * post-copy uses for a page the source can never send.
 */
static int uffd_poison_pte(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long src, uffd_flags_t flags,
			   struct folio **foliop)
{
	spinlock_t *ptl;
	pte_t *ptep;
	pmd_t *pmd;
	int err;

	do {
		err = uffd_page_table(vma->vm_mm, addr, &pmd);
		if (err)
			return err;
		/* NULL: the page table went away meanwhile. */
		ptep = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	} while (!ptep);
	if (uffd_past_eof(vma, addr)) {
		err = -EFAULT;
	} else if (!pte_none(ptep_get(ptep))) {
		err = -EEXIST;
	} else {
		set_pte_at(vma->vm_mm, addr, ptep,
			   make_pte_marker(PTE_MARKER_POISONED));
		/* Nothing was mapped: no TLB entry to flush. */
		update_mmu_cache(vma, addr, ptep);
	}
	pte_unmap_unlock(ptep, ptl);
	return err;
}

/* The kind's filler for the fill operation @flags asks for. */
static uffd_filler_t uffd_filler(const struct uffd_mem_kind *kind,
				 uffd_flags_t flags)
{
	if (uffd_flags_mode_is(flags, MFILL_ATOMIC_CONTINUE))
		return kind->cont;
	if (uffd_flags_mode_is(flags, MFILL_ATOMIC_POISON))
		return kind->poison;
	return kind->fill;
}

/*
 * Is @vma registered with @ctx for all of [start, start + len), and of a
 * kind of memory we know?  Either lock of the VMA keeps the answer true.
 */
static const struct uffd_mem_kind *uffd_fill_kind(struct vm_area_struct *vma,
						  struct userfaultfd_ctx *ctx,
						  unsigned long start,
						  unsigned long len)
{
	if (!vma || start < vma->vm_start || len > vma->vm_end - start)
		return NULL;
	if (vma->vm_userfaultfd_ctx.ctx != ctx)
		return NULL;
	return uffd_kind(vma);
}

/*
 * struct uffd_fill_lock - how a fill holds its VMA
 * @mm: the address space
 * @vma: the VMA, registered and holding the whole range
 * @kind: its kind of memory
 * @vma_locked: @vma is held by its per-VMA read lock alone; otherwise
 *	by mmap_lock held for read
 */
struct uffd_fill_lock {
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	const struct uffd_mem_kind *kind;
	bool vma_locked;
};

/*
 * Hold the registered VMA that must hold all of [start, start + len).
 *
 * By its per-VMA read lock where it can be had, as the page fault path
 * does: a monitor filling one VMA then does not queue behind a writer of
 * mmap_lock elsewhere in the process (a VMM or a garbage collector
 * mapping and protecting other memory), nor hold one up.  Any change to
 * the VMA's registration, bounds or page tables' layout takes its write
 * lock.  A private VMA without an anon_vma yet needs mmap_lock to be
 * given one, so that falls back to mmap_lock, as does a contended VMA.
 *
 * Return: 0 with @fl held, or -ENOENT with nothing held.
 */
static int uffd_fill_lock(struct uffd_fill_lock *fl,
			  struct userfaultfd_ctx *ctx, unsigned long start,
			  unsigned long len)
{
	struct vm_area_struct *vma;

	vma = lock_vma_under_rcu(fl->mm, start);
	if (vma) {
		fl->kind = uffd_fill_kind(vma, ctx, start, len);
		if (fl->kind && ((vma->vm_flags & VM_SHARED) || vma->anon_vma)) {
			fl->vma = vma;
			fl->vma_locked = true;
			return 0;
		}
		vma_end_read(vma);
	}

	mmap_read_lock(fl->mm);
	vma = vma_lookup(fl->mm, start);
	fl->kind = uffd_fill_kind(vma, ctx, start, len);
	if (!fl->kind) {
		mmap_read_unlock(fl->mm);
		return -ENOENT;
	}
	fl->vma = vma;
	fl->vma_locked = false;
	return 0;
}

static void uffd_fill_unlock(struct uffd_fill_lock *fl)
{
	if (fl->vma_locked)
		vma_end_read(fl->vma);
	else
		mmap_read_unlock(fl->mm);
}


/**
 * uffd_fill_range - fill [dst, dst + len): COPY, ZEROPAGE, CONTINUE, POISON
 * @ctx: the context the range must be registered with
 * @gate: its fill gate: no fill while a layout change is not yet read
 * @mm: its address space, pinned by the caller
 * @dst: page-aligned destination
 * @src: source in the caller's memory (COPY only)
 * @len: page-aligned length
 * @flags: the MFILL_ATOMIC_* mode, and MFILL_ATOMIC_WP
 *
 * Fills page by page (huge page by huge page on hugetlbfs) and stops at
 * the first that fails.  The destination VMA is held by its per-VMA lock
 * where it can be (uffd_fill_lock()), else by mmap_lock.  The source is
 * read with page faults disabled under that lock; when that fails, the
 * locks are dropped, the page is read with faults allowed, and the
 * destination is looked up again.
 *
 * Return: the number of bytes filled if any, else a negative errno:
 * -ENOENT (not registered with @ctx, or not in one VMA), -EEXIST (already
 * mapped), -EINVAL (an operation this memory does not have, such as
 * ZEROPAGE on hugetlbfs or CONTINUE on anonymous memory; a range that
 * cuts a huge page; CONTINUE past the end of the file), -EAGAIN (a
 * layout change is not yet read), -EFAULT (CONTINUE: nothing in the page
 * cache), -EIO (CONTINUE: a poisoned page), -ENOMEM, -EINTR (fatal
 * signal).
 */
ssize_t uffd_fill_range(struct userfaultfd_ctx *ctx, struct uffd_fill_gate *gate,
			struct mm_struct *mm, unsigned long dst,
			unsigned long src, unsigned long len,
			uffd_flags_t flags)
{
	struct uffd_fill_lock fl = { .mm = mm };
	uffd_filler_t filler;
	struct folio *folio = NULL;	/* filled outside the locks */
	const struct uffd_mem_kind *folio_for = NULL;
	unsigned long folio_step = 0;	/* the page size it was made for */
	struct vm_area_struct *vma;
	unsigned long done = 0, step;
	int err;

relock:
	err = uffd_fill_lock(&fl, ctx, dst + done, len - done);
	if (err)
		goto out;
	err = uffd_gate_enter(gate);
	if (err)
		goto unlock_vma;
	vma = fl.vma;
	/*
	 * Not every kind of memory has every fill (some is only tracked,
	 * never filled); a page mapped write-protected needs a range that
	 * tracks writes.
	 */
	err = -EINVAL;
	filler = uffd_filler(fl.kind, flags);
	if (!filler || ((flags & MFILL_ATOMIC_WP) && !userfaultfd_wp(vma)))
		goto unlock;
	step = vma_kernel_pagesize(vma);
	err = -EINVAL;
	if ((dst + done) & (step - 1) || (len - done) & (step - 1))
		goto unlock;
	err = -ENOMEM;
	if (!(vma->vm_flags & VM_SHARED) && anon_vma_prepare(vma))
		goto unlock;
	/*
	 * The VMA may have changed while the locks were dropped: a folio
	 * prepared for another kind of memory, or another page size, is of
	 * no use here.
	 */
	if (folio && (folio_for != fl.kind || folio_step != step)) {
		folio_put(folio);
		folio = NULL;
	}

	while (done < len) {
		err = filler(vma, dst + done, src + done, flags, &folio);
		if (err == -ENOENT && folio) {
			/* The source is not resident: read it unlocked. */
			uffd_gate_leave(gate);
			uffd_fill_unlock(&fl);
			folio_for = fl.kind;
			folio_step = step;
			err = uffd_copy_folio(folio, src + done, true);
			if (err)
				goto out;
			goto relock;
		}
		if (err)
			break;
		done += step;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
unlock:
	uffd_gate_leave(gate);
unlock_vma:
	uffd_fill_unlock(&fl);
out:
	if (folio)
		folio_put(folio);
	return done ? done : err;
}

/**
 * uffd_protect_range - UFFDIO_WRITEPROTECT: protect or unprotect a range
 * @ctx: the context every VMA of the range must be registered with, for
 *	write-protect
 * @gate: its fill gate: nothing changes while a layout change is unread
 * @mm: its address space, pinned by the caller
 * @start: page-aligned start
 * @len: page-aligned length
 * @protect: protect, or unprotect
 *
 * Holes in the range are skipped.  Every VMA is checked before any is
 * changed.
 *
 * Return: 0, -ENOENT (the range holds no VMA, or one not registered with
 * @ctx for write-protect), -EINVAL (the range cuts a huge page), -EAGAIN
 * (a layout change is not yet read), or the errno of changing the page
 * tables.
 */
int uffd_protect_range(struct userfaultfd_ctx *ctx, struct uffd_fill_gate *gate,
		       struct mm_struct *mm, unsigned long start,
		       unsigned long len, bool protect)
{
	VMA_ITERATOR(vmi, mm, start);
	unsigned long end = start + len, lo, hi;
	struct vm_area_struct *vma;
	long changed;
	int err;

	mmap_read_lock(mm);
	err = uffd_gate_enter(gate);
	if (err)
		goto unlock_mm;
	err = -ENOENT;
	for_each_vma_range(vmi, vma, end) {
		unsigned long mask = vma_kernel_pagesize(vma) - 1;

		if (vma->vm_userfaultfd_ctx.ctx != ctx || !userfaultfd_wp(vma)) {
			err = -ENOENT;
			goto unlock;
		}
		if ((max(start, vma->vm_start) | min(end, vma->vm_end)) & mask) {
			err = -EINVAL;
			goto unlock;
		}
		err = 0;
	}
	vma_iter_set(&vmi, start);
	for_each_vma_range(vmi, vma, end) {
		lo = max(start, vma->vm_start);
		hi = min(end, vma->vm_end);
		changed = uffd_wp_range(vma, lo, hi - lo, protect);
		if (changed < 0) {
			err = changed;
			break;
		}
	}
unlock:
	uffd_gate_leave(gate);
unlock_mm:
	mmap_read_unlock(mm);
	return err;
}

/* ---- the kinds of memory ----------------------------------------------- */

#define UFFD_IOCTLS_BASIC	(BIT_ULL(_UFFDIO_WAKE) | BIT_ULL(_UFFDIO_COPY) | \
				 BIT_ULL(_UFFDIO_POISON))
/*
 * Memory mapped by PTEs adds ZEROPAGE and, as upstream offers it, MOVE
 * (which only private anonymous memory accepts: userfaultfd_move.c).
 */
#define UFFD_IOCTLS_PTE		(UFFD_IOCTLS_BASIC | BIT_ULL(_UFFDIO_ZEROPAGE) | \
				 (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) ? \
				  BIT_ULL(_UFFDIO_MOVE) : 0))

/*
 * Write-protect: where the architecture can mark PTEs (anonymous pages
 * carry the mark themselves), and where PTE markers can keep it with no
 * page mapped (pages that stay in a page cache when unmapped).
 */
#define UFFD_MODE_WP	(IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_WP) ? \
			 VM_UFFD_WP : 0)
#define UFFD_MODE_WP_MARKED (IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP) ?	\
			     VM_UFFD_WP : 0)

/* Minor faults: a page in the page cache that is not mapped yet. */
#define UFFD_MODE_MINOR	(IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_MINOR) ? \
			 VM_UFFD_MINOR : 0)

static const struct uffd_pt_look uffd_ptes = {
	.missing = uffd_pte_missing,
	.wp = uffd_pte_wp,
};

/* Memory no fill can reach: write tracking only. */
static const struct uffd_pt_look uffd_ptes_wp_only = { .wp = uffd_pte_wp };

/* Anonymous memory. */
static const struct uffd_mem_kind uffd_anon = {
	.modes		= VM_UFFD_MISSING | UFFD_MODE_WP,
	.range_ioctls	= UFFD_IOCTLS_PTE,
	.look		= &uffd_ptes,
	.fill		= uffd_fill_private,
	.poison		= uffd_poison_pte,
	.fault_completes = true,
};

/*
 * Private mappings of shmem: filled with anonymous pages, but read from
 * the page cache where not written, so write-protect needs markers.
 */
static const struct uffd_mem_kind uffd_private_file = {
	.modes		= VM_UFFD_MISSING | UFFD_MODE_WP_MARKED | UFFD_MODE_MINOR,
	.range_ioctls	= UFFD_IOCTLS_PTE,
	.look		= &uffd_ptes,
	.fill		= uffd_fill_private,
	.cont		= uffd_cont_shmem,
	.poison		= uffd_poison_pte,
};

/* Shared mappings of shmem: pages in the page cache. */
static const struct uffd_mem_kind uffd_shmem = {
	.modes		= VM_UFFD_MISSING | UFFD_MODE_WP_MARKED | UFFD_MODE_MINOR,
	.range_ioctls	= UFFD_IOCTLS_PTE,
	.look		= &uffd_ptes,
	.fill		= uffd_fill_shmem,
	.cont		= uffd_cont_shmem,
	.poison		= uffd_poison_pte,
};

/*
 * Write-protect and minor faults cannot see through a page table shared
 * with another mapping of the file: new sharing stops once the VMA is
 * registered for them (uffd_disable_huge_pmd_share()), and what was
 * shared before is undone here.
 */
static void uffd_huge_registered(struct vm_area_struct *vma)
{
	if (uffd_disable_huge_pmd_share(vma))
		hugetlb_unshare_all_pmds(vma);
}

static const struct uffd_pt_look uffd_huge_pages = {
	.missing = uffd_huge_page_missing,
	.wp = uffd_huge_page_wp,
};

/* hugetlbfs, shared or private: whole huge pages, and no zero page. */
static const struct uffd_mem_kind uffd_hugetlb = {
	.modes		= VM_UFFD_MISSING | UFFD_MODE_WP_MARKED | UFFD_MODE_MINOR,
	.range_ioctls	= UFFD_IOCTLS_BASIC,
	.look		= &uffd_huge_pages,
	.fill		= uffd_fill_hugetlb,
	.cont		= uffd_fill_hugetlb,
	.poison		= uffd_fill_hugetlb,
	.registered	= uffd_huge_registered,
};

/*
 * Other files (and anything else not special): write tracking only, with
 * UFFD_FEATURE_WP_ASYNC; there is nothing to fill them with.
 */
static const struct uffd_mem_kind uffd_other = {
	.modes_async	= UFFD_MODE_WP_MARKED,
	.range_ioctls	= BIT_ULL(_UFFDIO_WAKE),
	.look		= &uffd_ptes_wp_only,
};

/* A new range ioctl of a kind is one fdinfo must announce too. */
static_assert(!(UFFD_IOCTLS_PTE & ~UFFD_RANGE_IOCTLS_ALL));

/*
 * The kind of memory @vma is, or NULL if it cannot be registered at all:
 * special mappings, droppable memory, and shadow stacks (a fill
 * would write user-chosen return addresses into one through an ordinary
 * writable PTE).  hugetlbfs mappings carry VM_DONTEXPAND, which is all
 * VM_SPECIAL means for them.
 */
static const struct uffd_mem_kind *uffd_kind(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_DROPPABLE | VM_SHADOW_STACK))
		return NULL;
	if (is_vm_hugetlb_page(vma))
		return &uffd_hugetlb;
	if (vma->vm_flags & VM_SPECIAL)
		return NULL;
	if (vma_is_anonymous(vma))
		return vma->vm_flags & VM_SHARED ? NULL : &uffd_anon;
	/* Markers mean nothing to DAX, nor to a file with no fault method. */
	if (!vma_is_shmem(vma))
		return vma_is_dax(vma) || !vma->vm_ops->fault ? NULL : &uffd_other;
	return vma->vm_flags & VM_SHARED ? &uffd_shmem : &uffd_private_file;
}
