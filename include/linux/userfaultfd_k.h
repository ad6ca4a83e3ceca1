/* SPDX-License-Identifier: GPL-2.0 */
/*
 * userfaultfd: what the rest of the kernel sees of it.
 *
 * The context (struct userfaultfd_ctx) is private to fs/userfaultfd/; a
 * VMA registered with a context points at it from vm_userfaultfd_ctx and
 * carries the VM_UFFD_* mode bits in vm_flags.  The hooks below are what
 * the fault, fork, mremap, madvise and munmap paths call.
 *
 * See Documentation/vm/userfaultfd.txt.
 */
#ifndef _LINUX_USERFAULTFD_K_H
#define _LINUX_USERFAULTFD_K_H

#include <linux/userfaultfd.h>	/* the user-space ABI */
#include <linux/fcntl.h>
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <asm-generic/pgtable_uffd.h>
#include <linux/hugetlb_inline.h>

/*
 * How a page-table fill was asked for.  The mode lives in the low byte of
 * uffd_flags_t; modifiers are the bits above it.  shmem and hugetlbfs
 * fill helpers take these too.  Mode 0 is none at all, so flags nobody
 * set match no mode.
 */
enum mfill_atomic_mode {
	MFILL_ATOMIC_COPY = 1,		/* UFFDIO_COPY */
	MFILL_ATOMIC_ZEROPAGE = 2,	/* UFFDIO_ZEROPAGE */
	MFILL_ATOMIC_CONTINUE = 3,	/* UFFDIO_CONTINUE */
	MFILL_ATOMIC_POISON = 4,	/* UFFDIO_POISON */
};

typedef unsigned int __bitwise uffd_flags_t;

#define UFFD_FLAGS_MODE_MASK	0xffU
/* Map the filled page write-protected (uffd-wp). */
#define MFILL_ATOMIC_WP		((__force uffd_flags_t)BIT(8))

static inline bool uffd_flags_mode_is(uffd_flags_t flags,
				      enum mfill_atomic_mode mode)
{
	return ((__force unsigned int)flags & UFFD_FLAGS_MODE_MASK) == mode;
}

static inline uffd_flags_t uffd_flags_set_mode(uffd_flags_t flags,
					       enum mfill_atomic_mode mode)
{
	unsigned int bits = (__force unsigned int)flags;

	bits = (bits & ~UFFD_FLAGS_MODE_MASK) | mode;
	return (__force uffd_flags_t)bits;
}

/* Every VM flag that marks a VMA as registered, in whatever mode. */
#define __VM_UFFD_FLAGS (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)

/*
 * What a VMA is registered for.  The VM_UFFD_* bits exist in every
 * configuration; without CONFIG_USERFAULTFD nothing sets them, and
 * IS_ENABLED() lets the compiler drop the code they guard.
 */
static inline bool userfaultfd_vm_flags(struct vm_area_struct *vma,
					unsigned long mask)
{
	return IS_ENABLED(CONFIG_USERFAULTFD) && (vma->vm_flags & mask);
}

static inline bool userfaultfd_missing(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, VM_UFFD_MISSING);
}

static inline bool userfaultfd_wp(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, VM_UFFD_WP);
}

static inline bool userfaultfd_minor(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, VM_UFFD_MINOR);
}

static inline bool userfaultfd_armed(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, __VM_UFFD_FLAGS);
}

static inline bool userfaultfd_pte_wp(struct vm_area_struct *vma, pte_t pte)
{
	return userfaultfd_wp(vma) && pte_uffd_wp(pte);
}

static inline bool userfaultfd_huge_pmd_wp(struct vm_area_struct *vma,
					   pmd_t pmd)
{
	return userfaultfd_wp(vma) && pmd_uffd_wp(pmd);
}

/* PMD sharing and fault-around would hide faults a WP/minor range wants. */
static inline bool uffd_disable_huge_pmd_share(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, VM_UFFD_WP | VM_UFFD_MINOR);
}

static inline bool uffd_disable_fault_around(struct vm_area_struct *vma)
{
	return userfaultfd_vm_flags(vma, VM_UFFD_WP | VM_UFFD_MINOR);
}

/*
 * The hooks the rest of the kernel calls, each with what it is without
 * CONFIG_USERFAULTFD.
 */
struct userfaultfd_ctx;

#ifdef CONFIG_USERFAULTFD
/* Two VMAs may merge only when they belong to the same context. */
static inline bool
is_mergeable_vm_userfaultfd_ctx(struct vm_area_struct *vma,
				struct vm_userfaultfd_ctx vm_ctx)
{
	return vma->vm_userfaultfd_ctx.ctx == vm_ctx.ctx;
}

vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason);
bool vma_has_uffd_without_event_remap(struct vm_area_struct *vma);

/*
 * Write-protect: does a range protect pages never populated too
 * (UFFD_FEATURE_WP_UNPOPULATED)?  Does the kernel itself resolve its
 * write faults, only clearing the mark (UFFD_FEATURE_WP_ASYNC, for
 * PAGEMAP_SCAN)?
 */
bool userfaultfd_wp_unpopulated(struct vm_area_struct *vma);
bool userfaultfd_wp_async(struct vm_area_struct *vma);

/* fork: decide per VMA, then report (or undo) once the fork is done. */
int dup_userfaultfd(struct vm_area_struct *vma, struct list_head *fcs);
int dup_userfaultfd_complete(struct list_head *fcs);
void dup_userfaultfd_fail(struct list_head *fcs);

/* mremap: note the move under mmap_lock, report it after. */
void mremap_userfaultfd_prep(struct vm_area_struct *vma,
			     struct vm_userfaultfd_ctx *vm_ctx);
void mremap_userfaultfd_complete(struct vm_userfaultfd_ctx *vm_ctx,
				 unsigned long from, unsigned long to,
				 unsigned long len);

/* MADV_DONTNEED/REMOVE: false if mmap_lock was dropped meanwhile. */
bool userfaultfd_remove(struct vm_area_struct *vma,
			unsigned long start, unsigned long end);

/* munmap: note the ranges under mmap_lock, report them after. */
int userfaultfd_unmap_prep(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end, struct list_head *uf);
void userfaultfd_unmap_complete(struct mm_struct *mm, struct list_head *uf);

/*
 * Between the file side (fs/userfaultfd/) and the memory side
 * (mm/userfaultfd.c).  The file side calls these; the memory side never
 * calls back.
 */

/**
 * struct uffd_fill_gate - keeps fills and layout changes apart
 * @lock: fills hold it for read while they change page tables; raising
 *	@changing takes it for write, so it waits for the fills in flight.
 *	Nests inside mmap_lock or the per-VMA lock of the VMA filled.
 * @changing: layout changes (fork, mremap, remove, unmap) the monitor
 *	has not read yet; fills fail with -EAGAIN while it is not zero, so
 *	the monitor never fills a page that is about to move or go.
 *
 * Part of a context; the file side raises and lowers @changing and hands
 * the gate to uffd_fill_range() with each fill.
 */
struct uffd_fill_gate {
	struct rw_semaphore lock;
	atomic_t changing;
};

/* Every range ioctl some kind of memory offers (fdinfo says so). */
#define UFFD_RANGE_IOCTLS_ALL	(BIT_ULL(_UFFDIO_WAKE) |		\
				 BIT_ULL(_UFFDIO_COPY) |		\
				 BIT_ULL(_UFFDIO_ZEROPAGE) |		\
				 BIT_ULL(_UFFDIO_MOVE) |		\
				 BIT_ULL(_UFFDIO_POISON) |		\
				 (IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_WP) ? \
				  BIT_ULL(_UFFDIO_WRITEPROTECT) : 0) |	\
				 (IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_MINOR) ? \
				  BIT_ULL(_UFFDIO_CONTINUE) : 0))

bool uffd_must_wait(struct vm_area_struct *vma, unsigned long addr,
		    unsigned long reason, bool *completes);
int uffd_register_range(struct mm_struct *mm, struct userfaultfd_ctx *ctx,
			unsigned long start, unsigned long end,
			unsigned long mode, bool wp_async, u64 *ioctls);
void uffd_unregister_ctx(struct mm_struct *mm, struct userfaultfd_ctx *ctx);
void uffd_vma_forget(struct vm_area_struct *vma);
ssize_t uffd_fill_range(struct userfaultfd_ctx *ctx, struct uffd_fill_gate *gate,
			struct mm_struct *mm, unsigned long dst,
			unsigned long src, unsigned long len,
			uffd_flags_t flags);
ssize_t uffd_move_range(struct userfaultfd_ctx *ctx,
			struct uffd_fill_gate *gate, struct mm_struct *mm,
			unsigned long dst, unsigned long src, unsigned long len,
			u64 mode);
int uffd_protect_range(struct userfaultfd_ctx *ctx, struct uffd_fill_gate *gate,
		       struct mm_struct *mm, unsigned long start,
		       unsigned long len, bool protect);

/* Also for PAGEMAP_SCAN (fs/proc/task_mmu.c). */
long uffd_wp_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long len, bool enable_wp);

/* Used by shmem's and hugetlbfs' fill helpers, and by huge_memory.c. */
int mfill_atomic_install_pte(pmd_t *dst_pmd, struct vm_area_struct *dst_vma,
			     unsigned long dst_addr, struct page *page,
			     bool newly_allocated, uffd_flags_t flags);
void double_pt_lock(spinlock_t *ptl1, spinlock_t *ptl2);
void double_pt_unlock(spinlock_t *ptl1, spinlock_t *ptl2);
/* mm/huge_memory.c: a whole PMD-mapped huge page, for UFFDIO_MOVE. */
int move_pages_huge_pmd(struct mm_struct *mm, pmd_t *dst_pmd, pmd_t *src_pmd,
			pmd_t dst_pmdval, struct vm_area_struct *dst_vma,
			struct vm_area_struct *src_vma,
			unsigned long dst_addr, unsigned long src_addr);

#else /* !CONFIG_USERFAULTFD: no context exists, every hook is a no-op */

/* Unreachable: no VMA is ever registered. */
static inline vm_fault_t handle_userfault(struct vm_fault *vmf,
					  unsigned long reason)
{
	return VM_FAULT_SIGBUS;
}

static inline bool
is_mergeable_vm_userfaultfd_ctx(struct vm_area_struct *vma,
				struct vm_userfaultfd_ctx vm_ctx) { return true; }
static inline bool
vma_has_uffd_without_event_remap(struct vm_area_struct *vma) { return false; }
static inline bool
userfaultfd_wp_unpopulated(struct vm_area_struct *vma) { return false; }
static inline bool
userfaultfd_wp_async(struct vm_area_struct *vma) { return false; }

static inline int dup_userfaultfd(struct vm_area_struct *vma,
				  struct list_head *fcs) { return 0; }
static inline int dup_userfaultfd_complete(struct list_head *fcs) { return 0; }
static inline void dup_userfaultfd_fail(struct list_head *fcs) {}
static inline void mremap_userfaultfd_prep(struct vm_area_struct *vma,
					   struct vm_userfaultfd_ctx *vm_ctx) {}
static inline void mremap_userfaultfd_complete(struct vm_userfaultfd_ctx *c,
					       unsigned long from,
					       unsigned long to,
					       unsigned long len) {}
static inline bool userfaultfd_remove(struct vm_area_struct *vma,
				      unsigned long start,
				      unsigned long end) { return true; }
static inline int userfaultfd_unmap_prep(struct vm_area_struct *vma,
					 unsigned long start, unsigned long end,
					 struct list_head *uf) { return 0; }
static inline void userfaultfd_unmap_complete(struct mm_struct *mm,
					      struct list_head *uf) {}
static inline long uffd_wp_range(struct vm_area_struct *vma,
				 unsigned long start, unsigned long len,
				 bool enable_wp) { return -EINVAL; }

#endif /* CONFIG_USERFAULTFD */

/*
 * Does protecting @vma leave PTE markers where no page is mapped?  Always
 * for shmem and hugetlbfs, whose pages stay in the page cache when they
 * are unmapped (a marker then keeps the protection); for anonymous memory
 * only if pages never populated are to be protected too.
 */
static inline bool userfaultfd_wp_use_markers(struct vm_area_struct *vma)
{
	if (!userfaultfd_wp(vma))
		return false;
	return !vma_is_anonymous(vma) || userfaultfd_wp_unpopulated(vma);
}

/* Is @entry a PTE marker that carries the uffd-wp bit? */
static inline bool pte_marker_entry_uffd_wp(swp_entry_t entry)
{
	if (!IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP) || !is_pte_marker_entry(entry))
		return false;
	return pte_marker_get(entry) & PTE_MARKER_UFFD_WP;
}

/* Is @pte a (non-present) PTE marker that carries the uffd-wp bit? */
static inline bool pte_marker_uffd_wp(pte_t pte)
{
	if (!IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP) || !is_swap_pte(pte))
		return false;
	return pte_marker_entry_uffd_wp(pte_to_swp_entry(pte));
}

/* Does a non-present @pte carry uffd-wp, as a swap bit or as a marker? */
static inline bool pte_swp_uffd_wp_any(pte_t pte)
{
	if (!IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP) || !is_swap_pte(pte))
		return false;
	return pte_swp_uffd_wp(pte) || pte_marker_uffd_wp(pte);
}

#endif /* _LINUX_USERFAULTFD_K_H */
