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
 *    the address its message reports.  Resolving [start, end) visits
 *    just the faults inside it, so the cost of a wake does not grow with
 *    the number of threads parked elsewhere.
 *
 * A fault that has been read is one that is in the tree but no longer on
 * the FIFO: that is the "read queue".  Waking a fault takes it off both.
 *
 * Lock order: mmap_lock (or the VMA lock) -> ctx->map_changing_lock ->
 * ctx->fault_lock -> scheduler locks (wake_up_process() of an event's
 * raiser; parked faults are woken after ctx->fault_lock is dropped).
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
#include <linux/err.h>
#include <linux/poll.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/wake_q.h>
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
#define UFFD_FEATURES_SUPPORTED	(UFFD_FEATURE_EVENT_FORK |		\
				 UFFD_FEATURE_EVENT_REMAP |		\
				 UFFD_FEATURE_EVENT_REMOVE |		\
				 UFFD_FEATURE_EVENT_UNMAP |		\
				 UFFD_FEATURE_EVENT_EXIT |		\
				 UFFD_FEATURE_MISSING_SHMEM |		\
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

/*
 * In ctx->features, above every feature bit: the UFFDIO_API handshake is
 * done (READY), or under way in one caller (BUSY).
 */
#define UFFD_CTX_READY		(1U << 31)
#define UFFD_CTX_BUSY		(1U << 29)
#define UFFD_CTX_STATE		(UFFD_CTX_READY | UFFD_CTX_BUSY)

/* A message on ctx->pending: a parked fault's or an event's. */
struct uffd_slot {
	struct uffd_msg msg;
	struct list_head link;
};

/*
 * Where an event is.  QUEUED on ctx->pending; READING while a reader
 * delivers it (copies the message, creates the fd a fork event carries);
 * DONE once read; DROPPED when the monitor will never read it (the fd
 * was closed, or the raiser killed).
 *
 * An event lives on its raiser's stack, and the raiser returns as soon
 * as it sees DONE or DROPPED, without taking ctx->fault_lock.  So whoever
 * publishes one of those states does it with a release store as its very
 * last access to the event, having read (and pinned) the task to wake
 * before: see uffd_event_finish().  QUEUED and READING pin the event: a
 * raiser leaves a QUEUED event only by cancelling it under the lock, and
 * never leaves a READING one, whose reader does bounded work and then
 * finishes it (DONE, or DROPPED if the raiser was killed meanwhile) or
 * puts it back on the queue.
 */
enum uffd_event_state {
	UFFD_EV_QUEUED,
	UFFD_EV_READING,
	UFFD_EV_DONE,
	UFFD_EV_DROPPED,
};

/**
 * struct uffd_event - an event, on the stack of the task that raised it.
 * @slot: its message and its link in ctx->pending.
 * @task: the raiser, which waits until the event is read or dropped;
 *	NULL for the exit message, which nobody waits for.
 * @child: UFFD_EVENT_FORK: the child's context, handed to the reader's
 *	new fd on read (then NULL).
 * @state: enum uffd_event_state, written under ctx->fault_lock; the
 *	raiser reads it locklessly (acquire) to see DONE or DROPPED.
 * @abandoned: the raiser was killed while a reader held the event: if
 *	the read fails, the event is dropped rather than put back.  Under
 *	ctx->fault_lock.
 */
struct uffd_event {
	struct uffd_slot slot;
	struct task_struct *task;
	struct userfaultfd_ctx *child;
	enum uffd_event_state state;
	bool abandoned;
};

/**
 * struct userfaultfd_ctx - one userfaultfd.
 * @mm: the address space it serves; mmgrab()ed for the context's life,
 *	so the ioctls must mmget_not_zero() before touching its VMAs.
 * @flags: UFFD_USER_MODE_ONLY and the fd flags given at creation.
 * @features: requested UFFD_FEATURE_* | UFFD_CTX_READY, written by
 *	UFFDIO_API alone (claimed by a cmpxchg from 0 to UFFD_CTX_BUSY,
 *	then published or reset to 0), read locklessly.
 * @refs: the file holds one reference, every parked fault and every
 *	raised event another.
 * @fault_lock: protects @pending, @faults, @forks, @released, @exited, each
 *	parked fault's links and @woken, each event's state.  Nests inside
 *	mmap_lock and @map_changing_lock.
 * @pending: faults and events not yet read, oldest first.
 * @faults: every parked fault, keyed by the address its message
 *	reports.
 * @forks: forks of this address space that copied it but are not yet
 *	reported (struct uffd_fork.in_flight).
 * @released: the file is gone; nothing may park or queue any more.
 * @exited: the address space is gone and the exit message was queued
 *	(UFFD_FEATURE_EVENT_EXIT); once it is delivered (@exit_ev DONE),
 *	read() gives EOF.
 * @exit_ev: the exit message, ready before it is needed: the exiting
 *	task never allocates and never waits.
 * @exit_watch: the mmu notifier that reports the exit; registered only
 *	for contexts that asked for the exit event.
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
	struct list_head forks;
	bool released;
	bool exited;
	struct uffd_event exit_ev;
	struct mmu_notifier exit_watch;

	wait_queue_head_t read_wqh;

	struct rw_semaphore map_changing_lock;
	atomic_t mmap_changing;
};

/**
 * struct uffd_fault - a faulting thread parked on a context.
 * @slot: its message, and its link in ctx->pending until read or woken.
 * @addr: the address its message reports (aligned to the mapping's page
 *	size unless UFFD_FEATURE_EXACT_ADDRESS), the key in ctx->faults:
 *	a wake of [start, end) wakes the faults whose reported address is
 *	inside, as upstream's does.
 * @node: link in ctx->faults while parked.
 * @task: the parked thread.
 * @woken: set once it was taken off the queues by a waker, under
 *	ctx->fault_lock and with release semantics, as the waker's last
 *	access to the fault: a faulter that sees it set (acquire) may return
 *	at once, without the lock.
 */
struct uffd_fault {
	struct uffd_slot slot;
	unsigned long addr;
	struct rb_node node;
	struct task_struct *task;
	bool woken;
};

/* The features and the ready bit are published together, in one store. */
static bool uffd_ready(struct userfaultfd_ctx *ctx)
{
	/* Pairs with the release in uffd_ioctl_api(). */
	return smp_load_acquire(&ctx->features) & UFFD_CTX_READY;
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
	WARN_ON_ONCE(!list_empty(&ctx->forks));
	mmdrop(ctx->mm);
	kmem_cache_free(uffd_ctx_cache, ctx);
}

/* ---- the fault queues ------------------------------------------------ */

static bool uffd_fault_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct uffd_fault, node)->addr <
	       rb_entry(b, struct uffd_fault, node)->addr;
}

struct uffd_span {
	unsigned long start, end;
};

/* Order a fault against a span: 0 inside, <0 the span is before it. */
static int uffd_span_cmp(const void *key, const struct rb_node *n)
{
	const struct uffd_span *span = key;
	unsigned long addr = rb_entry(n, struct uffd_fault, node)->addr;

	if (addr >= span->end)
		return -1;
	if (addr < span->start)
		return 1;
	return 0;
}

/* Park @f: visible to read()/poll() and to wakers from here on. */
static void uffd_park(struct userfaultfd_ctx *ctx, struct uffd_fault *f)
{
	lockdep_assert_held(&ctx->fault_lock);
	rb_add(&f->node, &ctx->faults, uffd_fault_less);
	list_add_tail(&f->slot.link, &ctx->pending);
}

/* Take @f off both queues; it is no longer visible to anyone. */
static void uffd_unpark(struct userfaultfd_ctx *ctx, struct uffd_fault *f)
{
	lockdep_assert_held(&ctx->fault_lock);
	rb_erase(&f->node, &ctx->faults);
	list_del_init(&f->slot.link);
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
	struct task_struct *task;
	struct uffd_fault *f;
	DEFINE_WAKE_Q(wakeq);

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
		if (f->addr >= end)
			break;
		next = rb_next(n);
		task = f->task;
		/* Held by the wake queue: the task may exit once it sees woken. */
		get_task_struct(task);
		uffd_unpark(ctx, f);
		/* The last touch of @f: its faulter may return from here on. */
		smp_store_release(&f->woken, true);
		/* After the store: a queued wake may happen at once. */
		wake_q_add_safe(&wakeq, task);
	}
	spin_unlock(&ctx->fault_lock);
	wake_up_q(&wakeq);
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
	memset(msg, 0, sizeof(*msg));
	msg->event = UFFD_EVENT_PAGEFAULT;
	/*
	 * vmf->address is aligned to the page size of the mapping (a huge
	 * page on hugetlbfs): the unit the monitor fills and wakes.
	 */
	msg->arg.pagefault.address = uffd_has(ctx, UFFD_FEATURE_EXACT_ADDRESS) ?
				     vmf->real_address : vmf->address;
	if (vmf->flags & FAULT_FLAG_WRITE)
		msg->arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_WRITE;
	if (uffd_has(ctx, UFFD_FEATURE_THREAD_ID))
		msg->arg.pagefault.feat.ptid = task_pid_vnr(current);
}

struct uffd_fork;
static struct uffd_fork *uffd_fork_of_current(struct userfaultfd_ctx *ctx);
static bool uffd_fork_report(struct uffd_fork *fc);

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
	struct uffd_fork *fc = NULL;
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

	uffd_fault_msg(ctx, vmf, &f.slot.msg);
	f.addr = f.slot.msg.arg.pagefault.address;
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
	if (unlikely(!list_empty(&ctx->forks)))
		fc = uffd_fork_of_current(ctx);
	if (unlikely(fc)) {
		/* Only we report or drop @fc: it stays valid unlocked. */
		spin_unlock(&ctx->fault_lock);
		if (huge)
			hugetlb_vma_unlock_read(vma);
		release_fault_lock(vmf);
		/* Killed meanwhile: the fault, then the fork, fails. */
		uffd_fork_report(fc);
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
	missing = uffd_page_missing(vma, vmf->address);
	if (huge)
		hugetlb_vma_unlock_read(vma);
	release_fault_lock(vmf);

	if (missing) {
		wake_up_poll(&ctx->read_wqh, EPOLLIN);
		/* Pairs with the waker's release in uffd_wake_span(). */
		while (!smp_load_acquire(&f.woken) &&
		       !signal_pending_state(state, current)) {
			schedule();
			set_current_state(state);
		}
	}
	__set_current_state(TASK_RUNNING);

	/*
	 * Not woken (a signal, or no need to sleep): leave on our own.  The
	 * acquire pairs with uffd_wake_span(): once set, @f is ours again.
	 */
	if (!smp_load_acquire(&f.woken)) {
		spin_lock(&ctx->fault_lock);
		if (!f.woken)
			uffd_unpark(ctx, &f);
		spin_unlock(&ctx->fault_lock);
	}
	uffd_ctx_put(ctx);
	return VM_FAULT_RETRY;
}

/* ---- events -------------------------------------------------------- */

static void uffd_event_init(struct uffd_event *ev, u8 event)
{
	memset(ev, 0, sizeof(*ev));	/* no stale kernel bytes reach the monitor */
	ev->slot.msg.event = event;
	INIT_LIST_HEAD(&ev->slot.link);
}

/*
 * The event was read or will never be: let its raiser go on.  The raiser
 * may return, and its stack frame with @ev be reused, the moment it sees
 * @state: the release store is the last access to @ev, and the task is
 * read and pinned before it (it may even exit before we wake it).
 */
static void uffd_event_finish(struct uffd_event *ev, enum uffd_event_state state)
{
	struct task_struct *task = ev->task;

	if (!task) {		/* the exit message: nobody waits for it */
		WRITE_ONCE(ev->state, state);
		return;
	}
	get_task_struct(task);
	/* Our last access to @ev: pairs with uffd_event_wait()'s acquire. */
	smp_store_release(&ev->state, state);
	wake_up_process(task);
	put_task_struct(task);
}

/*
 * The raiser of @ev was killed: drop the event if it is still queued, or
 * have its reader drop it should the read fail.  Return: false if a
 * reader holds it, and will release the raiser when done.
 */
static bool uffd_event_cancel(struct userfaultfd_ctx *ctx,
			      struct uffd_event *ev)
{
	bool gone;

	spin_lock(&ctx->fault_lock);
	if (ev->state == UFFD_EV_QUEUED) {
		list_del_init(&ev->slot.link);
		ev->state = UFFD_EV_DROPPED;
	}
	gone = ev->state != UFFD_EV_READING;
	if (!gone)
		ev->abandoned = true;
	spin_unlock(&ctx->fault_lock);
	return gone;
}

/*
 * Queue @ev on @ctx and wait until the monitor has read it.  The wait
 * ends early when the fd is closed (the event is dropped) or the raiser
 * is killed.  A killed raiser drops a QUEUED event at once; a READING one
 * is in a reader's hands for a bounded time (copying the message with
 * page faults disabled, creating an fd, registering an exit watch), after
 * which the reader finishes it: DONE, or DROPPED if the read failed.
 * The caller holds no mmap_lock.
 *
 * Return: true if the monitor read the event.
 */
static bool uffd_event_wait(struct userfaultfd_ctx *ctx, struct uffd_event *ev)
{
	bool killed;

	might_sleep();
	ev->task = current;
	spin_lock(&ctx->fault_lock);
	if (ctx->released) {
		ev->state = UFFD_EV_DROPPED;
		spin_unlock(&ctx->fault_lock);
		return false;
	}
	ev->state = UFFD_EV_QUEUED;
	list_add_tail(&ev->slot.link, &ctx->pending);
	spin_unlock(&ctx->fault_lock);
	wake_up_poll(&ctx->read_wqh, EPOLLIN);

	for (;;) {
		killed = fatal_signal_pending(current);
		if (killed && uffd_event_cancel(ctx, ev))
			break;
		/* Killable sleep would return at once with SIGKILL pending. */
		set_current_state(killed ? TASK_UNINTERRUPTIBLE : TASK_KILLABLE);
		/* Pairs with the release in uffd_event_finish(). */
		if (smp_load_acquire(&ev->state) >= UFFD_EV_DONE)
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	/* Final now, and ours again: pairs with uffd_event_finish(). */
	return smp_load_acquire(&ev->state) == UFFD_EV_DONE;
}

/*
 * Layout changes.  While one the monitor has not read is outstanding,
 * fills fail with EAGAIN; raising the count waits for fills in flight.
 */
static void uffd_changing_begin(struct userfaultfd_ctx *ctx)
{
	down_write(&ctx->map_changing_lock);
	atomic_inc(&ctx->mmap_changing);
	up_write(&ctx->map_changing_lock);
}

static void uffd_changing_end(struct userfaultfd_ctx *ctx)
{
	atomic_dec(&ctx->mmap_changing);
}

/* Raise a layout event on @ctx, wait for it, and drop what prep took. */
static void uffd_report_change(struct userfaultfd_ctx *ctx,
			       struct uffd_event *ev)
{
	uffd_event_wait(ctx, ev);
	uffd_changing_end(ctx);
	uffd_ctx_put(ctx);
}

/* Report [start, end) removed or unmapped; drops what the prep took. */
static void uffd_report_range(struct userfaultfd_ctx *ctx, u8 event,
			      unsigned long start, unsigned long end)
{
	struct uffd_event ev;

	uffd_event_init(&ev, event);
	ev.slot.msg.arg.remove.start = start;
	ev.slot.msg.arg.remove.end = end;
	uffd_report_change(ctx, &ev);
}

/* The mm of an exit-watching context is gone: queue the exit message. */
static void uffd_mm_gone(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct userfaultfd_ctx *ctx =
		container_of(mn, struct userfaultfd_ctx, exit_watch);
	bool queued = false;

	spin_lock(&ctx->fault_lock);
	if (!ctx->released && !ctx->exited) {
		ctx->exited = true;
		list_add_tail(&ctx->exit_ev.slot.link, &ctx->pending);
		queued = true;
	}
	spin_unlock(&ctx->fault_lock);
	if (queued)
		wake_up_poll(&ctx->read_wqh, EPOLLIN | EPOLLHUP);
}

static const struct mmu_notifier_ops uffd_exit_ops = {
	.release = uffd_mm_gone,
};

/*
 * Watch for @ctx's mm going away, if it asked to be told.  Costs nothing
 * to processes whose monitors did not ask.
 *
 * Return: 0, -ENOMEM, or -ERESTARTSYS: registering takes every lock of
 * the address space and gives up on any pending signal, so the caller
 * must be restartable with nothing changed.
 */
static int uffd_watch_exit(struct userfaultfd_ctx *ctx)
{
	int err;

	if (!uffd_has(ctx, UFFD_FEATURE_EVENT_EXIT) || ctx->exit_watch.ops)
		return 0;	/* not asked for, or already watching */
	if (!mmget_not_zero(ctx->mm)) {
		uffd_mm_gone(&ctx->exit_watch, ctx->mm);	/* already gone */
		return 0;
	}
	/* Set only while registered: uffd_shutdown() unregisters by it. */
	ctx->exit_watch.ops = &uffd_exit_ops;
	err = mmu_notifier_register(&ctx->exit_watch, ctx->mm);
	if (err)
		ctx->exit_watch.ops = NULL;
	mmput(ctx->mm);
	return err == -EINTR ? -ERESTARTSYS : err;
}

static void uffd_shutdown(struct userfaultfd_ctx *ctx);

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
 * struct uffd_fork - one parent context in one fork, until it is reported.
 * @link: in the fork's own list (copy_process()), touched only by @task.
 * @in_flight: in @parent->forks, under its fault_lock.
 * @parent: the context the parent's VMAs are registered with; holds a
 *	reference and one count of its mmap_changing.
 * @child: the child's new context, with the same registrations.
 * @task: the forking task.
 */
struct uffd_fork {
	struct list_head link;
	struct list_head in_flight;
	struct userfaultfd_ctx *parent;
	struct userfaultfd_ctx *child;
	struct task_struct *task;
};

static struct userfaultfd_ctx *uffd_ctx_alloc(struct mm_struct *mm,
					      unsigned int flags,
					      unsigned int features);

/**
 * dup_userfaultfd - decide what a forked VMA keeps of its registration
 * @vma: the child's copy of a parent VMA; both mmap locks held for write
 * @fcs: this fork's list of child contexts
 *
 * Without UFFD_FEATURE_EVENT_FORK the monitor never learns of the child,
 * so the child's copy is not registered.  With it, the child gets a
 * context of its own (one per parent context) with the same
 * registrations, reported by dup_userfaultfd_complete().
 *
 * Return: 0, or -ENOMEM (the fork fails).
 */
int dup_userfaultfd(struct vm_area_struct *vma, struct list_head *fcs)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;
	struct uffd_fork *fc;

	if (!ctx)
		return 0;
	if (!uffd_has(ctx, UFFD_FEATURE_EVENT_FORK) || READ_ONCE(ctx->released)) {
		uffd_vma_forget(vma);
		return 0;
	}
	list_for_each_entry(fc, fcs, link)
		if (fc->parent == ctx)
			goto found;

	fc = kmalloc(sizeof(*fc), GFP_KERNEL);
	if (!fc)
		return -ENOMEM;
	fc->child = uffd_ctx_alloc(vma->vm_mm, ctx->flags,
				   READ_ONCE(ctx->features));
	if (!fc->child) {
		kfree(fc);
		return -ENOMEM;
	}
	fc->parent = ctx;
	fc->task = current;
	uffd_ctx_get(ctx);
	/* The monitor must see the fork before filling the parent again. */
	uffd_changing_begin(ctx);
	spin_lock(&ctx->fault_lock);
	list_add(&fc->in_flight, &ctx->forks);
	spin_unlock(&ctx->fault_lock);
	list_add_tail(&fc->link, fcs);
found:
	vma->vm_userfaultfd_ctx.ctx = fc->child;
	return 0;
}

/* @fc is reported or dropped: let the monitor fill the parent again. */
static void uffd_fork_done(struct uffd_fork *fc)
{
	struct userfaultfd_ctx *parent = fc->parent;

	spin_lock(&parent->fault_lock);
	list_del(&fc->in_flight);
	spin_unlock(&parent->fault_lock);
	uffd_changing_end(parent);
	uffd_ctx_put(parent);
	list_del(&fc->link);
	kfree(fc);
}

/*
 * Report one parent context's fork and wait until it is read.  A monitor
 * that closed its fd, or a forker killed meanwhile, leaves the child
 * unregistered instead.
 *
 * Return: true if the forker was killed before the monitor took the
 * child: the child must then not run.
 */
static bool uffd_fork_report(struct uffd_fork *fc)
{
	struct uffd_event ev;
	bool lost = false;

	uffd_event_init(&ev, UFFD_EVENT_FORK);
	ev.child = fc->child;
	if (!uffd_event_wait(fc->parent, &ev)) {	/* not handed over */
		lost = fatal_signal_pending(current);
		uffd_shutdown(fc->child);
		uffd_ctx_put(fc->child);
	}
	uffd_fork_done(fc);
	return lost;
}

/*
 * The fork in flight that @current started on @ctx, if any.  Until it is
 * reported the monitor gets -EAGAIN filling @ctx's address space, so a
 * fault of the forker itself on it (the CLONE_PIDFD store) would never
 * be resolved: handle_userfault() reports the fork first.
 */
static struct uffd_fork *uffd_fork_of_current(struct userfaultfd_ctx *ctx)
{
	struct uffd_fork *fc;

	lockdep_assert_held(&ctx->fault_lock);
	list_for_each_entry(fc, &ctx->forks, in_flight)
		if (fc->task == current)
			return fc;
	return NULL;
}

/**
 * dup_userfaultfd_complete - report a fork to each monitor
 * @fcs: the list dup_userfaultfd() filled; no lock held
 *
 * Called once the fork can no longer fail, before the child first runs.
 * The forking task waits until each monitor has read its fork event (the
 * read gives the monitor an fd for the child).
 *
 * Return: 0, or -EINTR if the forker was killed before a monitor took
 * the child: the fork can no longer fail, so the caller must kill the
 * child before it runs on memory its monitor never learnt of.
 */
int dup_userfaultfd_complete(struct list_head *fcs)
{
	struct uffd_fork *fc, *next;
	bool lost = false;

	list_for_each_entry_safe(fc, next, fcs, link)
		lost |= uffd_fork_report(fc);
	return lost ? -EINTR : 0;
}

/**
 * dup_userfaultfd_fail - the fork failed: forget the child contexts
 * @fcs: the list dup_userfaultfd() filled
 *
 * Called before the child's mm is put.  Nothing was reported, unless
 * the forker faulted on a registered page in between (see
 * uffd_fork_of_current()): that monitor keeps an fd on an address space
 * that is gone (fills get -ESRCH; the exit event, if it asked).  The
 * child's VMAs are torn down with its mm and never look at their context
 * again.
 */
void dup_userfaultfd_fail(struct list_head *fcs)
{
	struct uffd_fork *fc, *next;

	list_for_each_entry_safe(fc, next, fcs, link) {
		uffd_ctx_put(fc->child);
		uffd_fork_done(fc);
	}
}

/**
 * mremap_userfaultfd_prep - a registered VMA was copied to a new place
 * @vma: the new VMA; mmap_lock held for write
 * @vm_ctx: where to note the context for mremap_userfaultfd_complete()
 *
 * With UFFD_FEATURE_EVENT_REMAP the new VMA stays registered and the move
 * is reported; without, the monitor would not know the new address, so
 * the new VMA is not registered.
 */
void mremap_userfaultfd_prep(struct vm_area_struct *vma,
			     struct vm_userfaultfd_ctx *vm_ctx)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	if (!ctx)
		return;
	if (!uffd_has(ctx, UFFD_FEATURE_EVENT_REMAP)) {
		uffd_vma_forget(vma);
		return;
	}
	uffd_ctx_get(ctx);
	uffd_changing_begin(ctx);
	vm_ctx->ctx = ctx;
}

/**
 * mremap_userfaultfd_complete - report a move noted by the prep step
 * @vm_ctx: what mremap_userfaultfd_prep() noted
 * @from: old start
 * @to: new start, or a negative errno if mremap failed after all
 * @len: old length
 */
void mremap_userfaultfd_complete(struct vm_userfaultfd_ctx *vm_ctx,
				 unsigned long from, unsigned long to,
				 unsigned long len)
{
	struct userfaultfd_ctx *ctx = vm_ctx->ctx;
	struct uffd_event ev;

	if (ctx && !IS_ERR_VALUE(to)) {
		uffd_event_init(&ev, UFFD_EVENT_REMAP);
		ev.slot.msg.arg.remap.from = from;
		ev.slot.msg.arg.remap.to = to;
		ev.slot.msg.arg.remap.len = len;
		uffd_report_change(ctx, &ev);
	} else if (ctx) {
		/* mremap failed after all: nothing moved, nothing to say. */
		uffd_changing_end(ctx);
		uffd_ctx_put(ctx);
	}
}

/**
 * userfaultfd_remove - pages of a registered range are about to be dropped
 * @vma: the VMA; mmap_lock held for read
 * @start: start of the range
 * @end: end of the range
 *
 * With UFFD_FEATURE_EVENT_REMOVE, drops the mmap_lock and waits until the
 * monitor has read the event, so it knows zero pages belong there before
 * they are gone.
 *
 * Return: true if the mmap_lock is still held, false if it was dropped.
 */
bool userfaultfd_remove(struct vm_area_struct *vma,
			unsigned long start, unsigned long end)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	if (!ctx || !uffd_has(ctx, UFFD_FEATURE_EVENT_REMOVE))
		return true;
	uffd_ctx_get(ctx);
	uffd_changing_begin(ctx);
	mmap_read_unlock(vma->vm_mm);
	uffd_report_range(ctx, UFFD_EVENT_REMOVE, start, end);
	return false;
}

/* One unmapped range to report to one context. */
struct uffd_unmap {
	struct list_head link;
	struct userfaultfd_ctx *ctx;
	unsigned long start, end;
};

/**
 * userfaultfd_unmap_prep - part of a registered VMA is being unmapped
 * @vma: the VMA; mmap_lock held for write
 * @start: start of the whole range being unmapped
 * @end: its end
 * @uf: this munmap's list of ranges to report
 *
 * Faults parked in the range are woken (they will find nothing mapped).
 * With UFFD_FEATURE_EVENT_UNMAP the range is noted once per context and
 * reported by userfaultfd_unmap_complete().
 *
 * Return: 0, or -ENOMEM (the munmap fails).
 */
int userfaultfd_unmap_prep(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end, struct list_head *uf)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;
	struct uffd_unmap *u;

	if (!ctx)
		return 0;
	uffd_wake_span(ctx, start, end);
	if (!uffd_has(ctx, UFFD_FEATURE_EVENT_UNMAP))
		return 0;
	list_for_each_entry(u, uf, link)
		if (u->ctx == ctx && u->start == start && u->end == end)
			return 0;
	u = kmalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	*u = (struct uffd_unmap){ .ctx = ctx, .start = start, .end = end };
	list_add_tail(&u->link, uf);
	uffd_ctx_get(ctx);
	uffd_changing_begin(ctx);
	return 0;
}

/**
 * userfaultfd_unmap_complete - report what userfaultfd_unmap_prep() noted
 * @mm: the address space; its mmap_lock is no longer held
 * @uf: the list of ranges
 */
void userfaultfd_unmap_complete(struct mm_struct *mm, struct list_head *uf)
{
	struct uffd_unmap *u, *next;

	list_for_each_entry_safe(u, next, uf, link) {
		uffd_report_range(u->ctx, UFFD_EVENT_UNMAP, u->start, u->end);
		list_del(&u->link);
		kfree(u);
	}
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

static struct file *uffd_file_for(struct userfaultfd_ctx *ctx,
				  struct inode *like);

/*
 * Take the oldest message, if there is one, into @msg.  A fault read
 * stays parked (in the tree only): there is nothing to hold, and a wake
 * may end it at any time.  An event is held (READING) until the reader
 * has delivered it, and returned in @evp; its raiser waits meanwhile.
 *
 * Return: true if a message was taken.
 */
static bool uffd_take_msg(struct userfaultfd_ctx *ctx, struct uffd_msg *msg,
			  struct uffd_event **evp)
{
	struct uffd_slot *slot;

	spin_lock(&ctx->fault_lock);
	slot = list_first_entry_or_null(&ctx->pending, struct uffd_slot, link);
	if (slot) {
		list_del_init(&slot->link);
		*msg = slot->msg;
		*evp = NULL;
		if (msg->event != UFFD_EVENT_PAGEFAULT) {
			*evp = container_of(slot, struct uffd_event, slot);
			(*evp)->state = UFFD_EV_READING;
		}
	}
	spin_unlock(&ctx->fault_lock);
	return slot;
}

/*
 * A held event could not be delivered: back to the head of the queue,
 * for the next read, and every waiting reader is told.  Unless its raiser
 * was killed meanwhile: nobody waits for it any more, so it is dropped,
 * and the raiser released.
 */
static void uffd_event_put_back(struct userfaultfd_ctx *ctx,
				struct uffd_event *ev)
{
	bool queued;

	spin_lock(&ctx->fault_lock);
	queued = !ev->abandoned;
	if (queued) {
		ev->state = UFFD_EV_QUEUED;
		list_add(&ev->slot.link, &ctx->pending);
	} else {
		uffd_event_finish(ev, UFFD_EV_DROPPED);
	}
	spin_unlock(&ctx->fault_lock);
	if (queued)
		wake_up_poll(&ctx->read_wqh, EPOLLIN);
}

/*
 * Deliver the held event @ev, whose message is @msg, into @to.  The event
 * is done only once its message is in the reader's buffer and, for a
 * fork, the child's fd exists: a failure anywhere puts it back, and
 * nothing is lost.  The copy runs with page faults disabled, because the
 * raiser waits for us and must never wait for whoever would resolve a
 * fault on the buffer.  A fork's fd is created in the reading process,
 * labelled for LSMs like @inode (the fd being read), and installed last.
 *
 * Return: 0, -EFAULT if the buffer is not resident (fault it in and read
 * again), or the errno of making the fork's fd or exit watch.
 */
static int uffd_deliver_event(struct userfaultfd_ctx *ctx,
			      struct uffd_event *ev, struct uffd_msg *msg,
			      struct iov_iter *to, struct inode *inode)
{
	struct file *file;
	bool copied;
	int fd = -1;
	int err;

	if (msg->event == UFFD_EVENT_FORK) {
		/*
		 * Here rather than in the forker: registering the exit watch
		 * fails on any pending signal (mm_take_all_locks()), and a
		 * read can simply be restarted, where a fork would lose the
		 * child.
		 */
		err = uffd_watch_exit(ev->child);
		if (err)
			goto put_back;
		fd = get_unused_fd_flags(ev->child->flags & UFFD_FD_FLAGS);
		if (fd < 0) {
			err = fd;
			goto put_back;
		}
		msg->arg.fork.ufd = fd;
	}
	pagefault_disable();
	copied = copy_to_iter_full(msg, sizeof(*msg), to);
	pagefault_enable();
	if (!copied) {
		err = -EFAULT;
		goto put_back;
	}
	if (fd >= 0) {
		file = uffd_file_for(ev->child, inode);
		if (IS_ERR(file)) {
			err = PTR_ERR(file);
			iov_iter_revert(to, sizeof(*msg));
			goto put_back;
		}
		fd_install(fd, file);
		ev->child = NULL;	/* the new file owns it */
	}
	spin_lock(&ctx->fault_lock);
	uffd_event_finish(ev, UFFD_EV_DONE);
	spin_unlock(&ctx->fault_lock);
	if (msg->event == UFFD_EVENT_EXIT)	/* end of file from now on */
		wake_up_poll(&ctx->read_wqh, EPOLLHUP);
	return 0;

put_back:
	if (fd >= 0)
		put_unused_fd(fd);
	uffd_event_put_back(ctx, ev);
	return err;
}

/* Nothing more will ever be read: the exit message has been. */
static bool uffd_at_eof(struct userfaultfd_ctx *ctx)
{
	return READ_ONCE(ctx->exit_ev.state) == UFFD_EV_DONE;
}

static ssize_t uffd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct userfaultfd_ctx *ctx = iocb->ki_filp->private_data;
	bool nowait = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		      (iocb->ki_flags & IOCB_NOWAIT);
	struct uffd_event *ev;
	struct uffd_msg msg;
	ssize_t done = 0;
	int err;

	if (!uffd_ready(ctx))
		return -EINVAL;
	if (iov_iter_count(to) < sizeof(msg))
		return -EINVAL;

	/* As many messages as fit and are there; block only for the first. */
	while (iov_iter_count(to) >= sizeof(msg)) {
		if (!uffd_take_msg(ctx, &msg, &ev)) {
			if (done || uffd_at_eof(ctx))
				break;
			if (nowait)
				return -EAGAIN;
			err = wait_event_interruptible(ctx->read_wqh,
						       !list_empty(&ctx->pending) ||
						       uffd_at_eof(ctx));
			if (err)
				return err;
			continue;
		}
		if (!ev) {
			/*
			 * A fault's message cannot be put back (its thread
			 * may be gone by now): a bad buffer loses it, and the
			 * fault stays parked until woken, as upstream.
			 */
			if (!copy_to_iter_full(&msg, sizeof(msg), to))
				return done ? done : -EFAULT;
			done += sizeof(msg);
			continue;
		}
		err = uffd_deliver_event(ctx, ev, &msg, to,
					 file_inode(iocb->ki_filp));
		if (err == -EFAULT &&
		    !fault_in_iov_iter_writeable(to, sizeof(msg))) {
			/* The event is queued again: take it again. */
			if (signal_pending(current))
				return done ? done : -ERESTARTSYS;
			cond_resched();
			continue;
		}
		if (err)
			return done ? done : err;
		done += sizeof(msg);
	}
	return done;
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
	/* Lockless: pairs with the wakeup after a message is queued. */
	smp_mb();
	if (!list_empty(&ctx->pending))
		return EPOLLIN | EPOLLRDNORM;
	return uffd_at_eof(ctx) ? EPOLLHUP : 0;
}

/*
 * Nobody will ever read @ctx again: unregister its ranges, let every
 * parked fault retry, release every raiser waiting on an event, stop
 * watching for the exit.  For the fd's release, and for a child context
 * whose fork the monitor never saw.
 */
static void uffd_shutdown(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm = ctx->mm;
	struct uffd_slot *slot, *next;

	spin_lock(&ctx->fault_lock);
	ctx->released = true;
	list_for_each_entry_safe(slot, next, &ctx->pending, link) {
		struct uffd_event *ev = container_of(slot, struct uffd_event, slot);

		if (slot->msg.event == UFFD_EVENT_PAGEFAULT)
			continue;	/* woken below, with the tree */
		list_del_init(&slot->link);
		if (ev != &ctx->exit_ev)
			uffd_event_finish(ev, UFFD_EV_DROPPED);
	}
	spin_unlock(&ctx->fault_lock);

	if (mmget_not_zero(mm)) {
		mmap_write_lock(mm);
		uffd_unregister_ctx(mm, ctx);
		mmap_write_unlock(mm);
		mmput(mm);
	}
	/* Nothing parks any more: wake everything that did. */
	uffd_wake_span(ctx, 0, ULONG_MAX);
	if (ctx->exit_watch.ops)
		mmu_notifier_unregister(&ctx->exit_watch, mm);
	wake_up_all(&ctx->read_wqh);
}

static int uffd_release(struct inode *inode, struct file *file)
{
	struct userfaultfd_ctx *ctx = file->private_data;

	uffd_shutdown(ctx);
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
	list_for_each(l, &ctx->pending)		/* faults and events */
		unread++;
	for (n = rb_first(&ctx->faults); n; n = rb_next(n))
		parked++;
	spin_unlock(&ctx->fault_lock);

	/* The format is the one tools already parse. */
	seq_printf(m, "pending:\t%lu\ntotal:\t%lu\nAPI:\t%llx:%x:%llx\n",
		   unread, parked, UFFD_API,
		   READ_ONCE(ctx->features) & ~UFFD_CTX_STATE,
		   UFFD_API_IOCTLS | UFFD_RANGE_IOCTLS);
}

/* ---- ioctls ---------------------------------------------------------- */

/*
 * A non-empty span of whole pages, inside an address space the size of
 * the context's.  COPY's source is judged by this too (upstream's rule),
 * although it lies in the caller's memory.
 */
static int uffd_check_span(struct userfaultfd_ctx *ctx, u64 start, u64 len)
{
	u64 limit = ctx->mm->task_size;

	if (!len || offset_in_page(len))
		return -EINVAL;
	if (start >= limit || len > limit - start)
		return -EINVAL;
	return 0;
}

/* The same, starting on a page boundary: a range of the target. */
static int uffd_check_range(struct userfaultfd_ctx *ctx, u64 start, u64 len)
{
	if (offset_in_page(start))
		return -EINVAL;
	return uffd_check_span(ctx, start, len);
}

/*
 * The handshake, all or nothing: a call that fails leaves the fd as it
 * was (and the caller's struct as it was, when it may be restarted).
 * The one fallible step, the exit watch, runs while the handshake is
 * claimed (UFFD_CTX_BUSY) but not yet visible; the answer goes to user
 * space before anything is claimed, as upstream does.
 */
static int uffd_ioctl_api(struct userfaultfd_ctx *ctx,
			  struct uffdio_api __user *arg)
{
	struct uffdio_api api, asked;
	unsigned int want, old;
	int err = -EINVAL;

	if (copy_from_user(&asked, arg, sizeof(asked)))
		return -EFAULT;
	api = asked;
	if (api.api != UFFD_API)
		goto refuse;
	/* A fork event hands over the child's memory: as ptrace would. */
	if ((api.features & UFFD_FEATURE_EVENT_FORK) && !capable(CAP_SYS_PTRACE)) {
		err = -EPERM;
		goto refuse;
	}
	if (api.features & ~(u64)UFFD_FEATURES_SUPPORTED)
		goto refuse;
	want = api.features;

	api.features = UFFD_FEATURES_SUPPORTED;
	api.ioctls = UFFD_API_IOCTLS;
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	/*
	 * One handshake per fd: the first to claim it goes on.  Done, it is
	 * refused; under way in another call, which may yet fail, it is to
	 * be tried again.
	 */
	old = cmpxchg(&ctx->features, 0, want | UFFD_CTX_BUSY);
	if (old & UFFD_CTX_READY)
		goto refuse;
	err = old ? -EAGAIN : uffd_watch_exit(ctx);
	if (err) {
		if (!old)
			WRITE_ONCE(ctx->features, 0);
		/* A retried or restarted call must read the same request. */
		if (copy_to_user(arg, &asked, sizeof(asked)))
			return -EFAULT;
		return err;
	}
	/* Everything the handshake set up is visible with READY. */
	smp_store_release(&ctx->features, want | UFFD_CTX_READY);
	return 0;

refuse:
	memset(&api, 0, sizeof(api));
	if (copy_to_user(arg, &api, sizeof(api)))
		return -EFAULT;
	return err;
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
	if (!err)
		err = uffd_check_span(ctx, copy.src, copy.len);
	if (err)
		return err;
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

/* A context for @mm; the caller's reference is the only one. */
static struct userfaultfd_ctx *uffd_ctx_alloc(struct mm_struct *mm,
					      unsigned int flags,
					      unsigned int features)
{
	struct userfaultfd_ctx *ctx;

	ctx = kmem_cache_alloc(uffd_ctx_cache, GFP_KERNEL);
	if (!ctx)
		return NULL;
	*ctx = (struct userfaultfd_ctx) {
		.mm = mm,
		.flags = flags,
		.features = features,
		.refs = REFCOUNT_INIT(1),
		.pending = LIST_HEAD_INIT(ctx->pending),
		.faults = RB_ROOT,
		.forks = LIST_HEAD_INIT(ctx->forks),
		.mmap_changing = ATOMIC_INIT(0),
	};
	spin_lock_init(&ctx->fault_lock);
	init_waitqueue_head(&ctx->read_wqh);
	init_rwsem(&ctx->map_changing_lock);
	uffd_event_init(&ctx->exit_ev, UFFD_EVENT_EXIT);
	mmgrab(mm);
	return ctx;
}

/*
 * A file for @ctx.  On success it owns the caller's reference to @ctx; on
 * failure the caller keeps it.  @like (a fork event's parent fd) is the
 * inode LSMs label the new one after, or NULL.
 */
static struct file *uffd_file_for(struct userfaultfd_ctx *ctx,
				  struct inode *like)
{
	struct file *file;

	/* A fresh inode per fd, so that an LSM can refuse the creation. */
	file = anon_inode_create_getfile("[userfaultfd]", &uffd_fops, ctx,
					 O_RDONLY | (ctx->flags & UFFD_FD_FLAGS),
					 like);
	if (!IS_ERR(file))
		file->f_mode |= FMODE_NOWAIT;
	return file;
}

static int uffd_new(int flags)
{
	struct userfaultfd_ctx *ctx;
	struct file *file;
	int fd;

	if (flags & ~UFFD_CREATE_FLAGS)
		return -EINVAL;
	if (WARN_ON_ONCE(!current->mm))
		return -EINVAL;
	ctx = uffd_ctx_alloc(current->mm, flags, 0);
	if (!ctx)
		return -ENOMEM;
	fd = get_unused_fd_flags(flags & UFFD_FD_FLAGS);
	if (fd < 0)
		goto fail;
	file = uffd_file_for(ctx, NULL);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto fail;
	}
	fd_install(fd, file);
	return fd;
fail:
	uffd_ctx_put(ctx);
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
	BUILD_BUG_ON(UFFD_FEATURES_SUPPORTED & UFFD_CTX_STATE);
	uffd_ctx_cache = KMEM_CACHE(userfaultfd_ctx, SLAB_HWCACHE_ALIGN | SLAB_PANIC);
	if (IS_ENABLED(CONFIG_SYSCTL))
		register_sysctl_init("vm", uffd_sysctls);
	return misc_register(&uffd_dev);
}
device_initcall(uffd_init);
