// SPDX-License-Identifier: GPL-2.0-only
/*
 * Non-cooperative events: a task that changes a registered address space
 * (fork, mremap, MADV_DONTNEED/REMOVE, munmap) raises an event and waits
 * until the monitor has read it; the exit of the address space is
 * reported without anybody waiting.  Raising, waiting, delivering to a
 * reader, and the hooks the rest of mm calls.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include "internal.h"

/* ---- raising and waiting -------------------------------------------- */

/**
 * uffd_event_init - a zeroed event carrying message @event
 * @ev: the event
 * @event: its UFFD_EVENT_* number
 *
 * Zeroed, so that no stale kernel bytes reach the monitor.
 */
void uffd_event_init(struct uffd_event *ev, u8 event)
{
	memset(ev, 0, sizeof(*ev));
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
		WRITE_ONCE(ev->state, UFFD_EV_DROPPED);
		ev->abandoned = true;
	} else if (ev->state == UFFD_EV_READING) {
		ev->abandoned = true;
	}
	gone = ev->state != UFFD_EV_READING;
	spin_unlock(&ctx->fault_lock);
	return gone;
}

/*
 * Queue @ev on @ctx and wait until the monitor has read it.  The wait
 * ends early when the fd is closed (the event is dropped) or the raiser
 * is killed.  A killed raiser drops a QUEUED event at once (and one it
 * was about to queue); a READING one is in a reader's hands for a
 * bounded time (copying the message with page faults disabled, creating
 * an fd, registering an exit watch), after which the reader finishes it:
 * DONE, or DROPPED if the read failed.  The caller holds no mmap_lock.
 *
 * Return: 0 if the monitor read the event, -EPIPE if it went away first
 * (the fd was closed), -EINTR if the raiser was killed first.
 */
static int uffd_event_wait(struct userfaultfd_ctx *ctx, struct uffd_event *ev)
{
	bool killed;

	might_sleep();
	ev->task = current;
	spin_lock(&ctx->fault_lock);
	if (ctx->released || fatal_signal_pending(current)) {
		ev->state = UFFD_EV_DROPPED;
		ev->abandoned = !ctx->released;
		spin_unlock(&ctx->fault_lock);
		return ev->abandoned ? -EINTR : -EPIPE;
	}
	ev->state = UFFD_EV_QUEUED;
	list_add_tail(&ev->slot.link, &ctx->pending);
	spin_unlock(&ctx->fault_lock);
	uffd_wake_readers(ctx, EPOLLIN);

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
	if (smp_load_acquire(&ev->state) == UFFD_EV_DONE)
		return 0;
	/* Only we set it, under the lock, before the final state. */
	return ev->abandoned ? -EINTR : -EPIPE;
}

/**
 * uffd_drop_events - drop every queued event: nobody will read them
 * @ctx: the context, being shut down; its fault_lock held
 *
 * Their raisers go on.  Faults stay queued, for the caller to wake; the
 * exit message stays with the context.
 */
void uffd_drop_events(struct userfaultfd_ctx *ctx)
{
	struct uffd_slot *slot, *next;
	struct uffd_event *ev;

	lockdep_assert_held(&ctx->fault_lock);
	list_for_each_entry_safe(slot, next, &ctx->pending, link) {
		if (slot->msg.event == UFFD_EVENT_PAGEFAULT)
			continue;
		ev = container_of(slot, struct uffd_event, slot);
		list_del_init(&slot->link);
		if (ev != &ctx->exit_ev)
			uffd_event_finish(ev, UFFD_EV_DROPPED);
	}
}

/*
 * Layout changes.  While one the monitor has not read is outstanding,
 * fills fail with EAGAIN; raising the count waits for fills in flight
 * (struct uffd_fill_gate).
 */
static void uffd_changing_begin(struct userfaultfd_ctx *ctx)
{
	down_write(&ctx->gate.lock);
	atomic_inc(&ctx->gate.changing);
	up_write(&ctx->gate.lock);
}

static void uffd_changing_end(struct userfaultfd_ctx *ctx)
{
	atomic_dec(&ctx->gate.changing);
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
		uffd_wake_readers(ctx, EPOLLIN | EPOLLHUP);
}

static const struct mmu_notifier_ops uffd_exit_ops = {
	.release = uffd_mm_gone,
};

/**
 * uffd_watch_exit - watch for @ctx's address space going away
 * @ctx: the context; if it did not ask for UFFD_FEATURE_EVENT_EXIT, or
 *	is watching already, nothing is done
 *
 * Costs nothing to processes whose monitors did not ask.  Called by one
 * task at a time for a context: the UFFDIO_API caller that claimed the
 * handshake, or the reader holding the context's fork event.
 *
 * Return: 0, -ENOMEM, or -ERESTARTSYS: registering takes every lock of
 * the address space and gives up on any pending signal, so the caller
 * must be restartable with nothing changed.
 */
int uffd_watch_exit(struct userfaultfd_ctx *ctx)
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
 *	reference and one count of its fill gate.
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

/**
 * uffd_fork_report - report one parent context's fork, wait until read
 * @fc: the fork, from the forker's list; no lock held
 *
 * A monitor that closed its fd, or a forker killed meanwhile, leaves the
 * child unregistered instead.  @fc is freed.
 *
 * Return: true if the forker was killed before the monitor took the
 * child: the child must then not run.
 */
bool uffd_fork_report(struct uffd_fork *fc)
{
	struct uffd_event ev;
	bool lost = false;
	int err;

	uffd_event_init(&ev, UFFD_EVENT_FORK);
	ev.child = fc->child;
	err = uffd_event_wait(fc->parent, &ev);
	if (err) {		/* not handed over */
		/* Closed fd: the child runs unregistered, as upstream. */
		lost = err == -EINTR;
		uffd_shutdown(fc->child);
		uffd_ctx_put(fc->child);
	}
	uffd_fork_done(fc);
	return lost;
}

/**
 * uffd_fork_of_current - the fork in flight @current started on @ctx
 * @ctx: the parent context; its fault_lock held
 *
 * Until such a fork is reported the monitor gets -EAGAIN filling @ctx's
 * address space, so a fault of the forker itself on it (the CLONE_PIDFD
 * store) would never be resolved: handle_userfault() reports the fork
 * first.
 *
 * Return: the fork, valid while @current does not report it, or NULL.
 */
struct uffd_fork *uffd_fork_of_current(struct userfaultfd_ctx *ctx)
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

/* ---- delivering to a reader ----------------------------------------- */

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
		WRITE_ONCE(ev->state, UFFD_EV_QUEUED);
		list_add(&ev->slot.link, &ctx->pending);
	} else {
		uffd_event_finish(ev, UFFD_EV_DROPPED);
	}
	spin_unlock(&ctx->fault_lock);
	if (queued)
		uffd_wake_readers(ctx, EPOLLIN);
}

/**
 * uffd_deliver_event - deliver an event a reader took
 * @ctx: the context
 * @ev: the event, held (READING) by this reader
 * @msg: its message, as taken
 * @to: the reader's buffer
 * @inode: the inode of the fd being read
 *
 * The event is done only once its message is in the reader's buffer and,
 * for a fork, the child's fd exists: a failure anywhere puts it back, and
 * nothing is lost.  The copy runs with page faults disabled, because the
 * raiser waits for us and must never wait for whoever would resolve a
 * fault on the buffer.  A fork's fd is created in the reading process,
 * labelled for LSMs like @inode, and installed last.
 *
 * Return: 0, -EFAULT if the buffer is not resident (fault it in and read
 * again), or the errno of making the fork's fd or exit watch.
 */
int uffd_deliver_event(struct userfaultfd_ctx *ctx, struct uffd_event *ev,
		       struct uffd_msg *msg, struct iov_iter *to,
		       struct inode *inode)
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
	/* End of file from now on: for every reader and poller. */
	if (msg->event == UFFD_EVENT_EXIT)
		uffd_wake_all_readers(ctx, EPOLLHUP);
	return 0;

put_back:
	if (fd >= 0)
		put_unused_fd(fd);
	uffd_event_put_back(ctx, ev);
	return err;
}
