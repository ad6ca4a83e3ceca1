// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userfaultfd file: contexts, the fault queues,
 * read/poll/release, the ioctls, and the fault path (handle_userfault).
 *
 * A thread that faults on a registered range parks itself on its context
 * until a monitor resolves the page.  Each parked fault is a struct
 * uffd_fault on the faulting thread's own stack, and sits in two places:
 *
 *  - ctx->pending: a FIFO of the faults no monitor has read yet.  read()
 *    takes the head in O(1); poll() only looks whether it is empty.
 *  - ctx->faults: an rbtree of every parked fault, read or not, keyed by
 *    page address.  Resolving [start, end) visits just the faults inside
 *    it, so the cost of a wake does not grow with the number of threads
 *    parked elsewhere.
 *
 * A fault that has been read is one that is in the tree but no longer on
 * the FIFO: that is the "read queue".  Waking a fault takes it off both.
 *
 * Lock order: mmap_lock (or the VMA lock) -> ctx->map_changing_lock ->
 * ctx->fault_lock -> scheduler locks (wake_up_process()).
 *
 * See Documentation/vm/userfaultfd.txt for the design and its lifetimes.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/poll.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/sysctl.h>
#include <linux/uio.h>
#include <linux/userfaultfd_k.h>

static int sysctl_unprivileged_userfaultfd __read_mostly;

static struct kmem_cache *uffd_ctx_cache __ro_after_init;

/* Optional features this implementation provides. */
#define UFFD_FEATURES_SUPPORTED	(UFFD_FEATURE_MISSING_SHMEM |		\
				 UFFD_FEATURE_MISSING_HUGETLBFS |	\
				 UFFD_FEATURE_SIGBUS |			\
				 UFFD_FEATURE_THREAD_ID |		\
				 UFFD_FEATURE_EXACT_ADDRESS)

/* ioctls valid on a registered range; hugetlbfs has no zero page. */
#define UFFD_RANGE_IOCTLS	(BIT_ULL(_UFFDIO_WAKE) |		\
				 BIT_ULL(_UFFDIO_COPY) |		\
				 BIT_ULL(_UFFDIO_ZEROPAGE))
#define UFFD_HUGE_RANGE_IOCTLS	(UFFD_RANGE_IOCTLS & ~BIT_ULL(_UFFDIO_ZEROPAGE))

/* Registration modes this implementation provides. */
#define UFFD_MODES_SUPPORTED	UFFDIO_REGISTER_MODE_MISSING

/* userfaultfd(2) flags. */
#define UFFD_FD_FLAGS		(O_CLOEXEC | O_NONBLOCK)
#define UFFD_CREATE_FLAGS	(UFFD_FD_FLAGS | UFFD_USER_MODE_ONLY)

/* In ctx->features: the UFFDIO_API handshake is done. */
#define UFFD_CTX_READY		(1U << 31)

/**
 * struct userfaultfd_ctx - one userfaultfd.
 * @mm: the address space it serves; mmgrab()ed for the context's life,
 *	so the ioctls must mmget_not_zero() before touching its VMAs.
 * @flags: UFFD_USER_MODE_ONLY and the fd flags given at creation.
 * @features: requested UFFD_FEATURE_* | UFFD_CTX_READY, written once by
 *	UFFDIO_API (cmpxchg from 0), read locklessly afterwards.
 * @refs: the file holds one reference, every parked fault another.
 * @fault_lock: protects @pending, @faults, @released and each parked
 *	fault's links and @woken.  Nests inside mmap_lock and
 *	@map_changing_lock.
 * @pending: parked faults not yet read, oldest first.
 * @faults: every parked fault, keyed by page address.
 * @released: the file is gone; no fault may park any more.
 * @read_wqh: readers and pollers waiting for @pending to fill.
 * @map_changing_lock: held for read by UFFDIO_COPY/ZEROPAGE while they
 *	fill page tables, for write while @mmap_changing is raised, so a
 *	fill never overlaps a layout change the monitor has not seen.
 *	Nests inside mmap_lock.
 * @mmap_changing: layout-change events not yet read by the monitor.
 */
struct userfaultfd_ctx {
	struct mm_struct *mm;
	unsigned int flags;
	unsigned int features;
	refcount_t refs;

	spinlock_t fault_lock;
	struct list_head pending;
	struct rb_root faults;
	bool released;

	wait_queue_head_t read_wqh;

	struct rw_semaphore map_changing_lock;
	atomic_t mmap_changing;
};

/**
 * struct uffd_fault - a faulting thread parked on a context.
 * @msg: what read() returns for it.
 * @page: page-aligned fault address, the key in ctx->faults.
 * @node: link in ctx->faults while parked.
 * @link: link in ctx->pending until read or woken.
 * @task: the parked thread.
 * @woken: set (under ctx->fault_lock) when it was taken off the queues.
 */
struct uffd_fault {
	struct uffd_msg msg;
	unsigned long page;
	struct rb_node node;
	struct list_head link;
	struct task_struct *task;
	bool woken;
};

/* The features and the ready bit are set together, in one cmpxchg. */
static bool uffd_ready(struct userfaultfd_ctx *ctx)
{
	return READ_ONCE(ctx->features) & UFFD_CTX_READY;
}

static bool uffd_has(struct userfaultfd_ctx *ctx, unsigned int feature)
{
	return READ_ONCE(ctx->features) & feature;
}

static void uffd_ctx_get(struct userfaultfd_ctx *ctx)
{
	refcount_inc(&ctx->refs);
}

static void uffd_ctx_put(struct userfaultfd_ctx *ctx)
{
	if (!refcount_dec_and_test(&ctx->refs))
		return;
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&ctx->faults));
	WARN_ON_ONCE(!list_empty(&ctx->pending));
	mmdrop(ctx->mm);
	kmem_cache_free(uffd_ctx_cache, ctx);
}

/* ---- the fault queues ------------------------------------------------ */

static bool uffd_fault_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct uffd_fault, node)->page <
	       rb_entry(b, struct uffd_fault, node)->page;
}

struct uffd_span {
	unsigned long start, end;
};

/* Order a fault against a span: 0 inside, <0 the span is before it. */
static int uffd_span_cmp(const void *key, const struct rb_node *n)
{
	const struct uffd_span *span = key;
	unsigned long page = rb_entry(n, struct uffd_fault, node)->page;

	if (page >= span->end)
		return -1;
	if (page < span->start)
		return 1;
	return 0;
}

/* Park @f: visible to read()/poll() and to wakers from here on. */
static void uffd_park(struct userfaultfd_ctx *ctx, struct uffd_fault *f)
{
	lockdep_assert_held(&ctx->fault_lock);
	rb_add(&f->node, &ctx->faults, uffd_fault_less);
	list_add_tail(&f->link, &ctx->pending);
}

/* Take @f off both queues; it is no longer visible to anyone. */
static void uffd_unpark(struct userfaultfd_ctx *ctx, struct uffd_fault *f)
{
	lockdep_assert_held(&ctx->fault_lock);
	rb_erase(&f->node, &ctx->faults);
	list_del_init(&f->link);
	WRITE_ONCE(f->woken, true);
}

/*
 * Wake every fault parked in [start, end).  Callers have just changed the
 * page tables (or given up on the range); a fault that parked before the
 * change is found here, one that parks after it sees the change in its
 * own page-table check and does not sleep.
 */
static void uffd_wake_span(struct userfaultfd_ctx *ctx,
			   unsigned long start, unsigned long end)
{
	struct uffd_span span = { .start = start, .end = end };
	struct rb_node *n, *next;
	struct uffd_fault *f;

	/*
	 * Order the page-table update before the emptiness test; pairs with
	 * the barrier in set_current_state() in handle_userfault().
	 */
	smp_mb();
	if (RB_EMPTY_ROOT(&ctx->faults))
		return;

	spin_lock(&ctx->fault_lock);
	for (n = rb_find_first(&span, &ctx->faults, uffd_span_cmp); n; n = next) {
		f = rb_entry(n, struct uffd_fault, node);
		if (f->page >= end)
			break;
		next = rb_next(n);
		uffd_unpark(ctx, f);
		/* @f may vanish once we unlock; its task may not before. */
		wake_up_process(f->task);
	}
	spin_unlock(&ctx->fault_lock);
}

/* ---- the fault path ---------------------------------------------------- */

static unsigned int uffd_wait_state(unsigned int fault_flags)
{
	if (fault_flags & FAULT_FLAG_INTERRUPTIBLE)
		return TASK_INTERRUPTIBLE;
	if (fault_flags & FAULT_FLAG_KILLABLE)
		return TASK_KILLABLE;
	return TASK_UNINTERRUPTIBLE;
}

static void uffd_fault_msg(struct userfaultfd_ctx *ctx, struct vm_fault *vmf,
			   struct uffd_msg *msg)
{
	unsigned long addr = vmf->real_address;

	memset(msg, 0, sizeof(*msg));
	msg->event = UFFD_EVENT_PAGEFAULT;
	if (!uffd_has(ctx, UFFD_FEATURE_EXACT_ADDRESS))
		addr &= PAGE_MASK;
	msg->arg.pagefault.address = addr;
	if (vmf->flags & FAULT_FLAG_WRITE)
		msg->arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_WRITE;
	if (uffd_has(ctx, UFFD_FEATURE_THREAD_ID))
		msg->arg.pagefault.feat.ptid = task_pid_vnr(current);
}

/**
 * handle_userfault - park a fault on a registered range for the monitor
 * @vmf: the fault; its mmap or VMA lock is held
 * @reason: the VM_UFFD_* mode that caught it (only VM_UFFD_MISSING here)
 *
 * Queues a message for the monitor and sleeps until the page is resolved,
 * the range is woken or unregistered, the file is released, or a signal
 * arrives.  The fault lock is dropped before sleeping.
 *
 * Return: VM_FAULT_RETRY once the fault lock was dropped (also with
 * FAULT_FLAG_RETRY_NOWAIT, where it is kept), VM_FAULT_SIGBUS when the
 * fault may not wait (UFFD_FEATURE_SIGBUS, a kernel fault on a
 * UFFD_USER_MODE_ONLY context, an exiting task, no retry allowed).
 */
vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason)
{
	struct vm_area_struct *vma = vmf->vma;
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;
	unsigned int state = uffd_wait_state(vmf->flags);
	struct uffd_fault f;
	bool missing, huge;

	assert_fault_locked(vmf);

	/* No waiting while dumping core or for the final exit path. */
	if (!ctx || (current->flags & (PF_EXITING | PF_DUMPCORE)))
		return VM_FAULT_SIGBUS;
	if (WARN_ON_ONCE(reason != VM_UFFD_MISSING || ctx->mm != vma->vm_mm))
		return VM_FAULT_SIGBUS;
	if (uffd_has(ctx, UFFD_FEATURE_SIGBUS))
		return VM_FAULT_SIGBUS;
	if ((ctx->flags & UFFD_USER_MODE_ONLY) && !(vmf->flags & FAULT_FLAG_USER))
		return VM_FAULT_SIGBUS;
	/* Without retry we could not drop the lock to sleep. */
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return VM_FAULT_SIGBUS;
	/* The caller wants no wait: it keeps its lock and tries later. */
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;

	uffd_fault_msg(ctx, vmf, &f.msg);
	f.page = vmf->address & PAGE_MASK;
	f.task = current;
	f.woken = false;
	huge = is_vm_hugetlb_page(vma);

	/* A sleeping lock: taken before the task state changes. */
	if (huge)
		hugetlb_vma_lock_read(vma);
	spin_lock(&ctx->fault_lock);
	if (ctx->released) {
		/*
		 * The file is going away and will unregister the range once
		 * it gets the mmap lock: drop ours and retry the fault.
		 */
		spin_unlock(&ctx->fault_lock);
		if (huge)
			hugetlb_vma_unlock_read(vma);
		release_fault_lock(vmf);
		return VM_FAULT_RETRY;
	}
	uffd_ctx_get(ctx);	/* we sleep without the mmap lock */
	uffd_park(ctx, &f);
	/* Full barrier: parking is visible before the page-table check. */
	set_current_state(state);
	spin_unlock(&ctx->fault_lock);

	/*
	 * Still under the fault's lock: if the page is there now, a fill
	 * raced with us and we need not sleep; if it lands after this
	 * check, its wake finds us parked.
	 */
	missing = uffd_page_missing(vma, f.page);
	if (huge)
		hugetlb_vma_unlock_read(vma);
	release_fault_lock(vmf);

	if (missing) {
		wake_up_poll(&ctx->read_wqh, EPOLLIN);
		while (!READ_ONCE(f.woken) && !signal_pending_state(state, current)) {
			schedule();
			set_current_state(state);
		}
	}
	__set_current_state(TASK_RUNNING);

	spin_lock(&ctx->fault_lock);
	if (!f.woken)
		uffd_unpark(ctx, &f);
	spin_unlock(&ctx->fault_lock);
	uffd_ctx_put(ctx);
	return VM_FAULT_RETRY;
}

/* ---- hooks from fork, mremap, madvise, munmap -------------------------- */

/**
 * vma_has_uffd_without_event_remap - is @vma registered by a monitor that
 * will not be told when it moves?
 * @vma: the VMA being moved; mmap_lock held for write
 *
 * Return: true if @vma is registered and its context lacks
 * UFFD_FEATURE_EVENT_REMAP (mremap then drops the registration).
 */
bool vma_has_uffd_without_event_remap(struct vm_area_struct *vma)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	return ctx && !uffd_has(ctx, UFFD_FEATURE_EVENT_REMAP);
}

/**
 * dup_userfaultfd - decide what a forked VMA keeps of its registration
 * @vma: the child's copy of a parent VMA; both mmap locks held for write
 * @fcs: per-fork list for fork events
 *
 * Without UFFD_FEATURE_EVENT_FORK the monitor never learns of the child,
 * so the child's copy is not registered.
 *
 * Return: 0.
 */
int dup_userfaultfd(struct vm_area_struct *vma, struct list_head *fcs)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	if (ctx && !uffd_has(ctx, UFFD_FEATURE_EVENT_FORK))
		uffd_vma_forget(vma);
	return 0;
}

/**
 * dup_userfaultfd_complete - fork succeeded
 * @fcs: the list dup_userfaultfd() filled (always empty here)
 */
void dup_userfaultfd_complete(struct list_head *fcs)
{
}

/**
 * dup_userfaultfd_fail - fork failed
 * @fcs: the list dup_userfaultfd() filled (always empty here)
 */
void dup_userfaultfd_fail(struct list_head *fcs)
{
}

/**
 * mremap_userfaultfd_prep - a registered VMA was copied to a new place
 * @vma: the new VMA; mmap_lock held for write
 * @vm_ctx: where to note the context for mremap_userfaultfd_complete()
 *
 * Without UFFD_FEATURE_EVENT_REMAP the monitor would not know the new
 * address, so the new VMA is not registered.
 */
void mremap_userfaultfd_prep(struct vm_area_struct *vma,
			     struct vm_userfaultfd_ctx *vm_ctx)
{
	if (vma_has_uffd_without_event_remap(vma))
		uffd_vma_forget(vma);
}

/**
 * mremap_userfaultfd_complete - mremap finished
 * @vm_ctx: what mremap_userfaultfd_prep() noted
 * @from: old start
 * @to: new start, or an error
 * @len: old length
 */
void mremap_userfaultfd_complete(struct vm_userfaultfd_ctx *vm_ctx,
				 unsigned long from, unsigned long to,
				 unsigned long len)
{
}

/**
 * userfaultfd_remove - pages of a registered range are about to be dropped
 * @vma: the VMA; mmap_lock held for read
 * @start: start of the range
 * @end: end of the range
 *
 * Return: true, the mmap_lock is still held.
 */
bool userfaultfd_remove(struct vm_area_struct *vma,
			unsigned long start, unsigned long end)
{
	return true;
}

/**
 * userfaultfd_unmap_prep - part of a registered VMA is being unmapped
 * @vma: the VMA; mmap_lock held for write
 * @start: start of the range
 * @end: end of the range
 * @uf: per-munmap list for unmap events
 *
 * Return: 0.
 */
int userfaultfd_unmap_prep(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end, struct list_head *uf)
{
	return 0;
}

/**
 * userfaultfd_unmap_complete - the unmap finished, mmap_lock released
 * @mm: the address space
 * @uf: what userfaultfd_unmap_prep() queued (always empty here)
 */
void userfaultfd_unmap_complete(struct mm_struct *mm, struct list_head *uf)
{
}

/**
 * userfaultfd_fill_begin - enter a page-table fill for a monitor
 * @ctx: the context the fill is for; the caller holds mmap_lock for read
 *
 * A fill must not race with a layout change (fork, mremap, remove, unmap)
 * the monitor has not read yet; the monitor must first learn of it.
 *
 * Return: 0 with the context's map-changing lock held for read, or
 * -EAGAIN (lock not held) while such a change is outstanding.
 */
int userfaultfd_fill_begin(struct userfaultfd_ctx *ctx)
{
	down_read(&ctx->map_changing_lock);
	if (atomic_read(&ctx->mmap_changing)) {
		up_read(&ctx->map_changing_lock);
		return -EAGAIN;
	}
	return 0;
}

/**
 * userfaultfd_fill_end - leave a fill entered with userfaultfd_fill_begin()
 * @ctx: the context
 */
void userfaultfd_fill_end(struct userfaultfd_ctx *ctx)
{
	up_read(&ctx->map_changing_lock);
}

/* ---- the file ------------------------------------------------------------ */

/* Take the oldest unread fault's message, if there is one. */
static bool uffd_take_msg(struct userfaultfd_ctx *ctx, struct uffd_msg *msg)
{
	struct uffd_fault *f;

	spin_lock(&ctx->fault_lock);
	f = list_first_entry_or_null(&ctx->pending, struct uffd_fault, link);
	if (f) {
		list_del_init(&f->link);	/* now "read": tree only */
		*msg = f->msg;
	}
	spin_unlock(&ctx->fault_lock);
	return f;
}

static ssize_t uffd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct userfaultfd_ctx *ctx = iocb->ki_filp->private_data;
	bool nowait = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		      (iocb->ki_flags & IOCB_NOWAIT);
	struct uffd_msg msg;
	ssize_t done = 0;
	int err;

	if (!uffd_ready(ctx))
		return -EINVAL;

	/* As many messages as fit and are there; block only for the first. */
	while (iov_iter_count(to) >= sizeof(msg)) {
		if (!uffd_take_msg(ctx, &msg)) {
			if (done)
				break;
			if (nowait)
				return -EAGAIN;
			err = wait_event_interruptible(ctx->read_wqh,
						       !list_empty(&ctx->pending));
			if (err)
				return err;
			continue;
		}
		/*
		 * A bad buffer loses this message (the fault stays parked
		 * until woken, as upstream): monitors pass valid buffers.
		 */
		if (!copy_to_iter_full(&msg, sizeof(msg), to))
			return done ? done : -EFAULT;
		done += sizeof(msg);
	}
	return done ? done : -EINVAL;
}

static __poll_t uffd_poll(struct file *file, poll_table *wait)
{
	struct userfaultfd_ctx *ctx = file->private_data;

	poll_wait(file, &ctx->read_wqh, wait);
	/*
	 * Faults are woken without being read, so a blocking read after
	 * EPOLLIN could sleep forever: polling a blocking fd is an error.
	 */
	if (!uffd_ready(ctx) || !(file->f_flags & O_NONBLOCK))
		return EPOLLERR;
	/* Lockless: pairs with the wakeup after a fault parks. */
	smp_mb();
	return list_empty(&ctx->pending) ? 0 : EPOLLIN;
}

static int uffd_release(struct inode *inode, struct file *file)
{
	struct userfaultfd_ctx *ctx = file->private_data;
	struct mm_struct *mm = ctx->mm;

	spin_lock(&ctx->fault_lock);
	ctx->released = true;
	spin_unlock(&ctx->fault_lock);

	if (mmget_not_zero(mm)) {
		mmap_write_lock(mm);
		uffd_unregister_ctx(mm, ctx);
		mmap_write_unlock(mm);
		mmput(mm);
	}
	/* Nothing parks any more: wake everything that did. */
	uffd_wake_span(ctx, 0, ULONG_MAX);
	wake_up_all(&ctx->read_wqh);
	uffd_ctx_put(ctx);
	return 0;
}

static void uffd_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct userfaultfd_ctx *ctx = file->private_data;
	unsigned long unread = 0, parked = 0;
	struct list_head *l;
	struct rb_node *n;

	spin_lock(&ctx->fault_lock);
	list_for_each(l, &ctx->pending)
		unread++;
	for (n = rb_first(&ctx->faults); n; n = rb_next(n))
		parked++;
	spin_unlock(&ctx->fault_lock);

	/* The format is the one tools already parse. */
	seq_printf(m, "pending:\t%lu\ntotal:\t%lu\nAPI:\t%llx:%x:%llx\n",
		   unread, parked, UFFD_API,
		   READ_ONCE(ctx->features) & ~UFFD_CTX_READY,
		   UFFD_API_IOCTLS | UFFD_RANGE_IOCTLS);
}

/* ---- ioctls ---------------------------------------------------------- */

/* A page-aligned, non-empty range inside the context's address space. */
static int uffd_check_range(struct userfaultfd_ctx *ctx, u64 start, u64 len)
{
	u64 limit = ctx->mm->task_size;

	if (offset_in_page(start) || !len || offset_in_page(len))
		return -EINVAL;
	if (start >= limit || len > limit - start)
		return -EINVAL;
	return 0;
}

static int uffd_ioctl_api(struct userfaultfd_ctx *ctx,
			  struct uffdio_api __user *arg)
{
	struct uffdio_api api;

	if (copy_from_user(&api, arg, sizeof(api)))
		return -EFAULT;
	if (api.api != UFFD_API)
		goto refuse;
	if (api.features & ~(u64)UFFD_FEATURES_SUPPORTED)
		goto refuse;
	/* One handshake per fd: the first to set the features wins. */
	if (cmpxchg(&ctx->features, 0, (unsigned int)api.features | UFFD_CTX_READY))
		goto refuse;

	api.features = UFFD_FEATURES_SUPPORTED;
	api.ioctls = UFFD_API_IOCTLS;
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	return 0;

refuse:
	memset(&api, 0, sizeof(api));
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	return -EINVAL;
}

/* Pin the target's address space for an ioctl: -ESRCH once it is gone. */
static int uffd_mm_get(struct userfaultfd_ctx *ctx)
{
	return mmget_not_zero(ctx->mm) ? 0 : -ESRCH;
}

static int uffd_ioctl_register(struct userfaultfd_ctx *ctx,
			       struct uffdio_register __user *arg)
{
	struct uffdio_register reg;
	unsigned long vm_flags;
	bool huge;
	int err;

	if (copy_from_user(&reg, arg, offsetof(struct uffdio_register, ioctls)))
		return -EFAULT;
	if (!reg.mode || (reg.mode & ~(u64)UFFD_MODES_SUPPORTED))
		return -EINVAL;
	vm_flags = VM_UFFD_MISSING;
	err = uffd_check_range(ctx, reg.range.start, reg.range.len);
	if (err)
		return err;
	if (uffd_mm_get(ctx))
		return -ENOMEM;	/* what upstream reports here */

	mmap_write_lock(ctx->mm);
	err = uffd_register_range(ctx->mm, ctx, reg.range.start,
				  reg.range.start + reg.range.len, vm_flags,
				  &huge);
	mmap_write_unlock(ctx->mm);
	mmput(ctx->mm);
	if (err)
		return err;
	/* What can be done on the range now. */
	if (put_user(huge ? UFFD_HUGE_RANGE_IOCTLS : UFFD_RANGE_IOCTLS,
		     &arg->ioctls))
		return -EFAULT;
	return 0;
}

static int uffd_ioctl_unregister(struct userfaultfd_ctx *ctx,
				 struct uffdio_range __user *arg)
{
	struct uffdio_range range;
	bool huge;
	int err;

	if (copy_from_user(&range, arg, sizeof(range)))
		return -EFAULT;
	err = uffd_check_range(ctx, range.start, range.len);
	if (err)
		return err;
	if (uffd_mm_get(ctx))
		return -ENOMEM;

	mmap_write_lock(ctx->mm);
	err = uffd_register_range(ctx->mm, ctx, range.start,
				  range.start + range.len, 0, &huge);
	mmap_write_unlock(ctx->mm);
	mmput(ctx->mm);
	/*
	 * Faults parked on the range would otherwise wait forever.  Also on
	 * a failure part-way: a spurious wake only makes a fault retry.
	 */
	uffd_wake_span(ctx, range.start, range.start + range.len);
	return err;
}

static int uffd_ioctl_wake(struct userfaultfd_ctx *ctx,
			   struct uffdio_range __user *arg)
{
	struct uffdio_range range;
	int err;

	if (copy_from_user(&range, arg, sizeof(range)))
		return -EFAULT;
	err = uffd_check_range(ctx, range.start, range.len);
	if (err)
		return err;
	uffd_wake_span(ctx, range.start, range.start + range.len);
	return 0;
}

/*
 * The common tail of UFFDIO_COPY and UFFDIO_ZEROPAGE: fill, report the
 * bytes done (or the error) in @result, wake what was filled.
 */
static int uffd_fill(struct userfaultfd_ctx *ctx, u64 dst, u64 src, u64 len,
		     uffd_flags_t flags, bool wake, __s64 __user *result)
{
	ssize_t done;

	if (atomic_read(&ctx->mmap_changing)) {
		done = -EAGAIN;
	} else {
		if (uffd_mm_get(ctx))
			return -ESRCH;
		done = uffd_fill_range(ctx, ctx->mm, dst, src, len, flags);
		mmput(ctx->mm);
	}
	/* Wake first: the pages are there even if the report fails. */
	if (wake && done > 0)
		uffd_wake_span(ctx, dst, dst + done);
	if (put_user(done, result))
		return -EFAULT;
	if (done < 0)
		return done;
	/* Partial progress: the caller retries the remainder. */
	return done == len ? 0 : -EAGAIN;
}

static int uffd_ioctl_copy(struct userfaultfd_ctx *ctx,
			   struct uffdio_copy __user *arg)
{
	struct uffdio_copy copy;
	int err;

	if (copy_from_user(&copy, arg, offsetof(struct uffdio_copy, copy)))
		return -EFAULT;
	err = uffd_check_range(ctx, copy.dst, copy.len);
	if (err)
		return err;
	/* The source is the caller's memory: access_ok() judges it. */
	if (copy.src + copy.len <= copy.src)
		return -EINVAL;
	if (copy.mode & ~UFFDIO_COPY_MODE_DONTWAKE)
		return -EINVAL;	/* MODE_WP needs write-protect support */
	return uffd_fill(ctx, copy.dst, copy.src, copy.len,
			 uffd_flags_set_mode(0, MFILL_ATOMIC_COPY),
			 !(copy.mode & UFFDIO_COPY_MODE_DONTWAKE), &arg->copy);
}

static int uffd_ioctl_zeropage(struct userfaultfd_ctx *ctx,
			       struct uffdio_zeropage __user *arg)
{
	struct uffdio_zeropage zp;
	int err;

	if (copy_from_user(&zp, arg, offsetof(struct uffdio_zeropage, zeropage)))
		return -EFAULT;
	err = uffd_check_range(ctx, zp.range.start, zp.range.len);
	if (err)
		return err;
	if (zp.mode & ~UFFDIO_ZEROPAGE_MODE_DONTWAKE)
		return -EINVAL;
	return uffd_fill(ctx, zp.range.start, 0, zp.range.len,
			 uffd_flags_set_mode(0, MFILL_ATOMIC_ZEROPAGE),
			 !(zp.mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE),
			 &arg->zeropage);
}

static long uffd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct userfaultfd_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == UFFDIO_API)
		return uffd_ioctl_api(ctx, uarg);
	if (!uffd_ready(ctx))
		return -EINVAL;

	switch (cmd) {
	case UFFDIO_REGISTER:
		return uffd_ioctl_register(ctx, uarg);
	case UFFDIO_UNREGISTER:
		return uffd_ioctl_unregister(ctx, uarg);
	case UFFDIO_WAKE:
		return uffd_ioctl_wake(ctx, uarg);
	case UFFDIO_COPY:
		return uffd_ioctl_copy(ctx, uarg);
	case UFFDIO_ZEROPAGE:
		return uffd_ioctl_zeropage(ctx, uarg);
	}
	/* MOVE, WRITEPROTECT, CONTINUE, POISON are not provided. */
	return -EINVAL;
}

static const struct file_operations uffd_fops = {
	.read_iter	= uffd_read_iter,
	.poll		= uffd_poll,
	.unlocked_ioctl	= uffd_ioctl,
	.show_fdinfo	= IS_ENABLED(CONFIG_PROC_FS) ? uffd_show_fdinfo : NULL,
	.compat_ioctl	= compat_ptr_ioctl,	/* the arguments are pointers */
	.llseek		= noop_llseek,
	.release	= uffd_release,
};

static int uffd_new(int flags)
{
	struct userfaultfd_ctx *ctx;
	struct file *file;
	int fd;

	if (flags & ~UFFD_CREATE_FLAGS)
		return -EINVAL;
	if (WARN_ON_ONCE(!current->mm))
		return -EINVAL;
	ctx = kmem_cache_alloc(uffd_ctx_cache, GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	*ctx = (struct userfaultfd_ctx) {
		.mm = current->mm,
		.flags = flags,
		.refs = REFCOUNT_INIT(1),
		.pending = LIST_HEAD_INIT(ctx->pending),
		.faults = RB_ROOT,
		.mmap_changing = ATOMIC_INIT(0),
	};
	spin_lock_init(&ctx->fault_lock);
	init_waitqueue_head(&ctx->read_wqh);
	init_rwsem(&ctx->map_changing_lock);
	mmgrab(ctx->mm);

	/*
	 * The file first, with a fresh inode so that an LSM can refuse it.
	 * From here on the context belongs to the file: fput() releases it
	 * like a close would.
	 */
	file = anon_inode_create_getfile("[userfaultfd]", &uffd_fops, ctx,
					 O_RDONLY | (flags & UFFD_FD_FLAGS), NULL);
	if (IS_ERR(file)) {
		mmdrop(ctx->mm);
		kmem_cache_free(uffd_ctx_cache, ctx);
		return PTR_ERR(file);
	}
	file->f_mode |= FMODE_NOWAIT;
	fd = get_unused_fd_flags(flags & UFFD_FD_FLAGS);
	if (fd < 0)
		fput(file);
	else
		fd_install(fd, file);
	return fd;
}

SYSCALL_DEFINE1(userfaultfd, int, flags)
{
	BUILD_BUG_ON(UFFD_USER_MODE_ONLY & UFFD_FD_FLAGS);

	/*
	 * Handling kernel-mode faults lets a monitor stall the kernel at a
	 * chosen point: that takes privilege unless the admin allows it.
	 */
	if (!(flags & UFFD_USER_MODE_ONLY) &&
	    !READ_ONCE(sysctl_unprivileged_userfaultfd) &&
	    !capable(CAP_SYS_PTRACE))
		return -EPERM;
	return uffd_new(flags);
}

/*
 * /dev/userfaultfd hands out userfaultfds to whoever may open it, whatever
 * vm.unprivileged_userfaultfd says: access is the device node's business.
 */
static long uffd_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long flags)
{
	return cmd == USERFAULTFD_IOC_NEW ? uffd_new(flags) : -EINVAL;
}

static const struct file_operations uffd_dev_fops = {
	.unlocked_ioctl	= uffd_dev_ioctl,
	.compat_ioctl	= uffd_dev_ioctl,	/* the argument is a number */
	.llseek		= noop_llseek,
};

static struct miscdevice uffd_dev = {
	.minor = MISC_DYNAMIC_MINOR, .name = "userfaultfd", .fops = &uffd_dev_fops,
};

/* vm.unprivileged_userfaultfd: 0 (the default) or 1. */
static struct ctl_table uffd_sysctls[] = {
	{ .procname = "unprivileged_userfaultfd", .mode = 0644,
	  .data = &sysctl_unprivileged_userfaultfd, .maxlen = sizeof(int),
	  .proc_handler = proc_dointvec_minmax,
	  .extra1 = SYSCTL_ZERO, .extra2 = SYSCTL_ONE },
};

static int __init uffd_init(void)
{
	uffd_ctx_cache = KMEM_CACHE(userfaultfd_ctx, SLAB_HWCACHE_ALIGN | SLAB_PANIC);
	if (IS_ENABLED(CONFIG_SYSCTL))
		register_sysctl_init("vm", uffd_sysctls);
	return misc_register(&uffd_dev);
}
device_initcall(uffd_init);
