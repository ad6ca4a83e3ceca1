// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userfaultfd file: contexts and their lifetime, read, poll, release
 * and fdinfo, and creating userfaultfds (the syscall, /dev/userfaultfd,
 * vm.unprivileged_userfaultfd).
 *
 * See Documentation/vm/userfaultfd.txt for the design and its lifetimes.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/sysctl.h>
#include <linux/uio.h>
#include "internal.h"

/* userfaultfd(2) and USERFAULTFD_IOC_NEW flags. */
#define UFFD_CREATE_FLAGS	(UFFD_FD_FLAGS | UFFD_USER_MODE_ONLY)

static int sysctl_unprivileged_userfaultfd __read_mostly;

static struct kmem_cache *uffd_ctx_cache __ro_after_init;

/**
 * uffd_ctx_put - drop a reference to @ctx, freeing it with the last
 * @ctx: the context
 */
void uffd_ctx_put(struct userfaultfd_ctx *ctx)
{
	if (!refcount_dec_and_test(&ctx->refs))
		return;
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&ctx->faults));
	WARN_ON_ONCE(!list_empty(&ctx->pending));
	WARN_ON_ONCE(!list_empty(&ctx->forks));
	mmdrop(ctx->mm);
	kmem_cache_free(uffd_ctx_cache, ctx);
}

/* ---- the file ------------------------------------------------------------ */

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
		WRITE_ONCE(ctx->msgs_taken, ctx->msgs_taken + 1);
		*msg = slot->msg;
		*evp = NULL;
		if (msg->event != UFFD_EVENT_PAGEFAULT) {
			*evp = container_of(slot, struct uffd_event, slot);
			WRITE_ONCE((*evp)->state, UFFD_EV_READING);
		}
	}
	spin_unlock(&ctx->fault_lock);
	return slot;
}

/* Nothing more will ever be read: the exit message has been. */
static bool uffd_at_eof(struct userfaultfd_ctx *ctx)
{
	return READ_ONCE(ctx->exit_ev.state) == UFFD_EV_DONE;
}

/**
 * struct uffd_reader - a reader blocked in read()
 * @wq: its entry on ctx->reader_wqh
 * @ctx: the context
 * @counted: set by the wake that woke it, with ctx->readers_woken raised;
 *	whoever clears it (the reader, back at the queue, or a wake that
 *	found it running) drops the count, exactly once.
 */
struct uffd_reader {
	struct wait_queue_entry wq;
	struct userfaultfd_ctx *ctx;
	atomic_t counted;
};

static int uffd_reader_wake(struct wait_queue_entry *wq, unsigned int mode,
			    int sync, void *key)
{
	struct uffd_reader *r = container_of(wq, struct uffd_reader, wq);
	struct userfaultfd_ctx *ctx = r->ctx;
	int woken;

	/* Counted before the wake: a woken reader may look at once. */
	WRITE_ONCE(ctx->reader_wakes, ctx->reader_wakes + 1);
	/* The wake before the reader away: the timer reads them reversed. */
	smp_mb__before_atomic();
	atomic_inc(&ctx->readers_woken);
	atomic_set_release(&r->counted, 1);
	woken = autoremove_wake_function(wq, mode, sync, key);
	/*
	 * Woken: @r may be gone already, not to be touched.  Not woken (it
	 * was running): it is still queued, so its finish_wait() waits for
	 * the queue's lock we hold, and @r is still there.
	 */
	if (!woken && atomic_xchg(&r->counted, 0) &&
	    atomic_dec_and_test(&ctx->readers_woken))
		WRITE_ONCE(ctx->handoff_late, false);
	return woken;
}

/*
 * Back at the queue: no message queued from now on is left to us.  Both
 * atomics return a value, so are fully ordered: the look at the queue that
 * follows cannot pass them, which uffd_offer_fault()'s barrier pairs with.
 */
static void uffd_reader_back(struct uffd_reader *r)
{
	struct userfaultfd_ctx *ctx = r->ctx;

	/* Every woken reader is back, a late one too: leave messages again. */
	if (atomic_xchg(&r->counted, 0) &&
	    atomic_dec_and_test(&ctx->readers_woken))
		WRITE_ONCE(ctx->handoff_late, false);
}

/*
 * Block until there is a message or end of file.  Exclusive: a message
 * wakes one blocked reader, not all (the monitor of a VM may have one per
 * vCPU or more), and a fault's message none while a reader woken before
 * it has yet to look (uffd_offer_fault()).  One woken with nothing left
 * to take sleeps again; a message put back wakes the next; end of file
 * and release wake them all.
 *
 * Return: 0, or -ERESTARTSYS on a signal.
 */
static int uffd_wait_msg(struct userfaultfd_ctx *ctx)
{
	struct uffd_reader r = { .ctx = ctx, .counted = ATOMIC_INIT(0) };
	int err = 0;

	init_wait_entry(&r.wq, 0);
	r.wq.func = uffd_reader_wake;
	for (;;) {
		prepare_to_wait_exclusive(&ctx->reader_wqh, &r.wq,
					  TASK_INTERRUPTIBLE);
		if (!list_empty(&ctx->pending) || uffd_at_eof(ctx))
			break;
		if (signal_pending(current)) {
			err = -ERESTARTSYS;
			break;
		}
		schedule();
		uffd_reader_back(&r);
	}
	finish_wait(&ctx->reader_wqh, &r.wq);
	/* Off the queue: no wake can count us any more. */
	uffd_reader_back(&r);
	return err;
}

/*
 * The hand-off period: at least 4 ms (two ticks at HZ=250).  Like rwsem's
 * hand-off (RWSEM_WAIT_TIMEOUT), a few milliseconds: long enough to cost
 * the common case nothing, short enough that a starved reader is no
 * outage.
 */
#define UFFD_HANDOFF_WAIT	(msecs_to_jiffies(4) + 1)

/*
 * Messages were queued while readers were blocked, and the reader to
 * take them (woken for them, or before them) may be kept from its CPU by
 * a real-time thread or CPU bandwidth throttling.  At each expiry, with
 * messages still queued:
 *
 *  - more readers are away than were woken during the period: one woken
 *    before it, a whole period ago, has still not looked.  It is late:
 *    until every woken reader is back, each fault wakes a reader, as if
 *    none were on its way;
 *  - if a reader is late, or no message was read during the period (a
 *    reader may be slow inside read() itself), wake another blocked
 *    reader;
 *  - go on, one period after another, while blocked readers remain.
 *
 * The snapshots are written by whoever holds ctx->handoff_armed: the one
 * that armed us, then we.  The rest are lockless looks.
 */
static void uffd_handoff_expired(struct timer_list *t)
{
	struct userfaultfd_ctx *ctx = from_timer(ctx, t, handoff);
	unsigned long taken, wakes;
	bool late;
	int away;

	/* Pairs with the barrier in uffd_offer_fault(), as its look does. */
	smp_mb();
	if (list_empty_careful(&ctx->pending))
		goto disarm;
	taken = READ_ONCE(ctx->msgs_taken);
	away = atomic_read(&ctx->readers_woken);
	/* Away, then wakes: a reader counted away has its wake counted. */
	smp_rmb();
	wakes = READ_ONCE(ctx->reader_wakes);
	late = away > 0 && away > wakes - ctx->handoff_wakes;
	if (late) {
		WRITE_ONCE(ctx->handoff_late, true);
		/* The last one came back and cleared it before we set it. */
		smp_mb();
		if (atomic_read(&ctx->readers_woken) <= 0)
			WRITE_ONCE(ctx->handoff_late, false);
	}
	if (late || taken == ctx->handoff_taken)
		wake_up(&ctx->reader_wqh);
	ctx->handoff_taken = taken;
	ctx->handoff_wakes = wakes;
	/* Unlocked: a reader that blocks after this look is never owed one. */
	if (waitqueue_active(&ctx->reader_wqh)) {
		mod_timer(t, jiffies + UFFD_HANDOFF_WAIT);
		return;
	}
disarm:
	/*
	 * A message queued while we still held it armed did not arm it:
	 * either its faulter sees it unarmed now, or we see its message
	 * (the exchange is a full barrier, and orders our snapshots before
	 * the next armer's).
	 */
	atomic_xchg(&ctx->handoff_armed, 0);
	uffd_handoff_arm(ctx);
}

/**
 * uffd_handoff_arm - back up a wake: messages are queued, readers blocked
 * @ctx: the context
 *
 * Whoever is to take the messages may be kept from its CPU; while other
 * readers are blocked, the hand-off timer sees to it that they do not
 * wait for it more than a period or two (uffd_handoff_expired()).  Once
 * armed, the timer is never put off, so a burst cannot defer it.  After
 * a full barrier since the message was queued.
 */
void uffd_handoff_arm(struct userfaultfd_ctx *ctx)
{
	if (list_empty_careful(&ctx->pending))
		return;
	/* Not to be kept from the CPU holding it armed with no timer. */
	guard(preempt)();
	/* Lockless: a reader that blocks after this look sees the queue. */
	if (!waitqueue_active(&ctx->reader_wqh) ||
	    atomic_read(&ctx->handoff_armed) ||
	    atomic_xchg(&ctx->handoff_armed, 1))
		return;
	/* Ours until it expires: the period starts now. */
	ctx->handoff_taken = READ_ONCE(ctx->msgs_taken);
	ctx->handoff_wakes = READ_ONCE(ctx->reader_wakes);
	mod_timer(&ctx->handoff, jiffies + UFFD_HANDOFF_WAIT);
}

/**
 * uffd_offer_fault - a fault's message is queued: tell the readers
 * @ctx: the context
 *
 * Every poller is told, and one blocked reader woken, unless a reader
 * woken earlier (for another message, or to pass a wake on) has yet to
 * look at the queue: that one takes this message too (a read takes as
 * many as fit), or passes the wake on if its buffer is full.  With more
 * monitor threads than faults to serve, that saves a sleep and a wake for
 * most messages.  The hand-off timer keeps a reader kept from its CPU
 * from holding messages up for more than a period or two, and from doing
 * it again while it stays away (uffd_handoff_expired()).
 *
 * Context: process context, after ctx->fault_lock is dropped.
 */
void uffd_offer_fault(struct userfaultfd_ctx *ctx)
{
	wake_up_poll(&ctx->read_wqh, EPOLLIN);
	/*
	 * The message is queued before the count is read; pairs with the
	 * ordering in uffd_reader_back(): either that reader sees the
	 * message, or we see it gone back and wake somebody.  The same
	 * barrier orders the message before waitqueue_active(), against a
	 * reader that blocks now (it looks at the queue once on it).
	 */
	smp_mb();
	if (!atomic_read(&ctx->readers_woken) || READ_ONCE(ctx->handoff_late))
		wake_up(&ctx->reader_wqh);
	uffd_handoff_arm(ctx);
}

/* As many messages as fit and are there; block only for the first. */
static ssize_t uffd_read_msgs(struct userfaultfd_ctx *ctx,
			      struct iov_iter *to, bool nowait,
			      struct inode *inode)
{
	bool faulted_in = false;	/* the buffer, for the message at hand */
	struct uffd_event *ev;
	struct uffd_msg msg;
	ssize_t done = 0;
	int err;

	while (iov_iter_count(to) >= sizeof(msg)) {
		if (!uffd_take_msg(ctx, &msg, &ev)) {
			if (done || uffd_at_eof(ctx))
				break;
			if (nowait)
				return -EAGAIN;
			faulted_in = false;	/* the next one is another */
			err = uffd_wait_msg(ctx);
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
			faulted_in = false;
			done += sizeof(msg);
			continue;
		}
		err = uffd_deliver_event(ctx, ev, &msg, to, inode);
		/*
		 * The buffer may just not be resident: fault it in and take
		 * the event (queued again) once more.  Once only, as a buffer
		 * that faults in but cannot be written with page faults
		 * disabled (a shadow stack, a wrong memory tag) never will be.
		 */
		if (err == -EFAULT && !faulted_in &&
		    !fault_in_iov_iter_writeable(to, sizeof(msg))) {
			faulted_in = true;
			continue;
		}
		if (err)
			return done ? done : err;
		faulted_in = false;
		done += sizeof(msg);
	}
	return done;
}

static ssize_t uffd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct userfaultfd_ctx *ctx = iocb->ki_filp->private_data;
	bool nowait = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		      (iocb->ki_flags & IOCB_NOWAIT);
	ssize_t done;

	if (!uffd_ready(ctx))
		return -EINVAL;
	if (iov_iter_count(to) < sizeof(struct uffd_msg))
		return -EINVAL;

	done = uffd_read_msgs(ctx, to, nowait, file_inode(iocb->ki_filp));
	/*
	 * Pass the wakeup on: blocked readers are woken one per message, and
	 * this reader may have taken another's (it reads several, or took a
	 * fault that then left the queue without waking anybody), or left
	 * behind messages that woke nobody because it was on its way.
	 */
	if (!list_empty(&ctx->pending))
		uffd_wake_readers(ctx, EPOLLIN);
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

/**
 * uffd_shutdown - nobody will ever read @ctx again
 * @ctx: the context: the fd's, being released, or a child context whose
 *	fork the monitor never saw
 *
 * Unregisters its ranges, lets every parked fault retry, releases every
 * raiser waiting on an event, stops watching for the exit.  No event can
 * be held by a reader meanwhile: a reader holds the file.
 */
void uffd_shutdown(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm = ctx->mm;

	spin_lock(&ctx->fault_lock);
	ctx->released = true;
	uffd_drop_events(ctx);
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
	uffd_wake_all_readers(ctx, 0);
	/* Nothing is queued any more; a late fault cannot arm it again. */
	timer_shutdown_sync(&ctx->handoff);
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
		   UFFD_API_IOCTLS | UFFD_RANGE_IOCTLS_ALL);
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

/**
 * uffd_ctx_alloc - a new context for @mm
 * @mm: the address space it serves (mmgrab()ed)
 * @flags: UFFD_USER_MODE_ONLY and the fd flags
 * @features: the features, handshake state included (a fork's child
 *	context is born ready, with its parent's)
 *
 * Return: the context, with the caller's reference its only one, or NULL.
 */
struct userfaultfd_ctx *uffd_ctx_alloc(struct mm_struct *mm, unsigned int flags,
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
		.gate.changing = ATOMIC_INIT(0),
		.readers_woken = ATOMIC_INIT(0),
		.handoff_armed = ATOMIC_INIT(0),
	};
	spin_lock_init(&ctx->fault_lock);
	timer_setup(&ctx->handoff, uffd_handoff_expired, 0);
	init_waitqueue_head(&ctx->read_wqh);
	init_waitqueue_head(&ctx->reader_wqh);
	init_rwsem(&ctx->gate.lock);
	uffd_event_init(&ctx->exit_ev, UFFD_EVENT_EXIT);
	mmgrab(mm);
	return ctx;
}

/**
 * uffd_file_for - a new file for @ctx
 * @ctx: the context
 * @like: the inode LSMs label the new one after (a fork event's parent
 *	fd), or NULL
 *
 * Return: the file, which owns the caller's reference to @ctx, or an
 * ERR_PTR (the caller keeps its reference).
 */
struct file *uffd_file_for(struct userfaultfd_ctx *ctx, struct inode *like)
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
