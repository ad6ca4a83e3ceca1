/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * userfaultfd, the file side: what its files share.
 *
 *   file.c    contexts, the file (read, poll, release, fdinfo), creating
 *             userfaultfds (the syscall, /dev/userfaultfd), the sysctl
 *   fault.c   the fault queues, waking, and the fault path
 *             (handle_userfault())
 *   event.c   non-cooperative events: raising, waiting, delivering them,
 *             the hooks fork, mremap, madvise and munmap call, the exit
 *             watch
 *   ioctl.c   the ioctls
 *
 * The memory side, mm/userfaultfd.c, registers ranges, looks at page
 * tables and fills them; the file side calls it and is never called back
 * (include/linux/userfaultfd_k.h).
 *
 * Lock order (the whole picture is in Documentation/vm/userfaultfd.txt):
 *   mmap_lock (or the VMA lock on the fault path)
 *     ctx->gate.lock (fills for read, raising a layout change for write)
 *       the memory side's locks (hugetlb fault mutex and VMA lock,
 *       page-table locks) for fills
 *       ctx->fault_lock (spinlock)
 *         scheduler locks (wake_up_process() of an event's raiser;
 *         parked faults are woken after ctx->fault_lock is dropped)
 *     the hugetlb VMA lock, for the fault path's last look, with none
 *     of ours held
 */
#ifndef _FS_USERFAULTFD_INTERNAL_H
#define _FS_USERFAULTFD_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/userfaultfd_k.h>

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
				 UFFD_FEATURE_EXACT_ADDRESS |		\
				 UFFD_FEATURE_POISON |			\
				 (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) ? \
				  UFFD_FEATURE_MOVE : 0) |		\
				 UFFD_FEATURES_MINOR |			\
				 UFFD_FEATURES_WP)

/*
 * Minor faults, where the architecture has a spare PTE bit for them.  As
 * upstream, and as MISSING_SHMEM/HUGETLBFS are, the two features are
 * reported whether or not this kernel has shmem or hugetlbfs: they say
 * what could be registered, and nothing of that kind can exist.
 */
#define UFFD_MINOR_SUPPORTED	IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_MINOR)
#define UFFD_FEATURES_MINOR	(UFFD_MINOR_SUPPORTED ?			\
				 UFFD_FEATURE_MINOR_SHMEM |		\
				 UFFD_FEATURE_MINOR_HUGETLBFS : 0)

/*
 * Write-protect, where the architecture can mark PTEs for it; on shmem
 * and hugetlbfs, and on anonymous pages never populated, where PTE
 * markers can keep a protection with no page mapped.
 */
#define UFFD_WP_SUPPORTED	IS_ENABLED(CONFIG_HAVE_ARCH_USERFAULTFD_WP)
#define UFFD_WP_MARKERS		IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP)
#define UFFD_FEATURES_WP	((UFFD_WP_SUPPORTED ?			\
				  UFFD_FEATURE_PAGEFAULT_FLAG_WP : 0) |	\
				 (UFFD_WP_MARKERS ?			\
				  UFFD_FEATURE_WP_HUGETLBFS_SHMEM |	\
				  UFFD_FEATURE_WP_UNPOPULATED |	\
				  UFFD_FEATURE_WP_ASYNC : 0))

/* The fd flags a context keeps, and every fd made for it gets. */
#define UFFD_FD_FLAGS		(O_CLOEXEC | O_NONBLOCK)

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
 * @fault_lock: protects @pending, @faults, @forks, @released, @exited,
 *	the updates of @msgs_taken, each parked fault's links and @woken,
 *	each event's state and abandoned flag.  Nests inside mmap_lock and
 *	@gate.lock.
 * @pending: faults and events not yet read, oldest first.
 * @msgs_taken: messages read() took off @pending (under @fault_lock;
 *	read locklessly).
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
 * @read_wqh: pollers (poll, epoll, io_uring) waiting for @pending to
 *	fill.
 * @reader_wqh: readers blocked in read(), waiting exclusively: a message
 *	wakes one of them, not all (uffd_wake_readers(),
 *	uffd_offer_fault()).  A queue of their own, so that a poller's
 *	exclusive entry (EPOLLEXCLUSIVE) never takes a blocked reader's
 *	wake.
 * @readers_woken: readers of @reader_wqh woken and not yet back at
 *	@pending (struct uffd_reader): a fault queued meanwhile is theirs
 *	to take, so it need not wake another (uffd_offer_fault()).
 * @reader_wakes: how many times a reader of @reader_wqh was woken
 *	(under @reader_wqh's lock; read locklessly).
 * @handoff_armed: @handoff is armed or running; whoever sets it owns
 *	@handoff_taken and @handoff_wakes until @handoff runs.
 * @handoff: while messages wait and readers are blocked, wakes another
 *	if one woken has not looked for a whole period, or none was read.
 * @handoff_taken: @msgs_taken when the period began.
 * @handoff_wakes: @reader_wakes when the period began.
 * @handoff_late: @handoff found a woken reader away for a whole period:
 *	faults wake a reader each until every woken reader is back.
 * @gate: keeps UFFDIO_COPY/ZEROPAGE away from layout changes the
 *	monitor has not read yet (struct uffd_fill_gate).
 */
struct userfaultfd_ctx {
	struct mm_struct *mm;
	unsigned int flags;
	unsigned int features;
	refcount_t refs;

	spinlock_t fault_lock;
	struct list_head pending;
	unsigned long msgs_taken;
	struct rb_root faults;
	struct list_head forks;
	bool released;
	bool exited;
	struct uffd_event exit_ev;
	struct mmu_notifier exit_watch;

	wait_queue_head_t read_wqh;
	wait_queue_head_t reader_wqh;
	atomic_t readers_woken;
	unsigned long reader_wakes;
	atomic_t handoff_armed;
	struct timer_list handoff;
	unsigned long handoff_taken;
	unsigned long handoff_wakes;
	bool handoff_late;

	struct uffd_fill_gate gate;
};

void uffd_handoff_arm(struct userfaultfd_ctx *ctx);	/* file.c */

/*
 * A message is queued (or put back, or left queued by a reader): tell
 * every poller, and one blocked reader, with the hand-off timer behind
 * it.  After ctx->fault_lock is dropped.
 * A fault's own message goes through uffd_offer_fault() instead.
 */
static inline void uffd_wake_readers(struct userfaultfd_ctx *ctx,
				     __poll_t events)
{
	wake_up_poll(&ctx->read_wqh, events);
	wake_up(&ctx->reader_wqh);
	/* uffd_handoff_arm() looks after a full barrier since the queueing. */
	smp_mb();
	uffd_handoff_arm(ctx);
}

/* Nothing more to wait for (end of file, release): wake everybody. */
static inline void uffd_wake_all_readers(struct userfaultfd_ctx *ctx,
					 __poll_t events)
{
	__wake_up(&ctx->read_wqh, TASK_NORMAL, 0, poll_to_key(events));
	wake_up_all(&ctx->reader_wqh);
}

/* The features and the ready bit are published together, in one store. */
static inline bool uffd_ready(struct userfaultfd_ctx *ctx)
{
	/* Pairs with the release in uffd_ioctl_api(). */
	return smp_load_acquire(&ctx->features) & UFFD_CTX_READY;
}

static inline bool uffd_has(struct userfaultfd_ctx *ctx,
			    unsigned int feature)
{
	return READ_ONCE(ctx->features) & feature;
}

static inline void uffd_ctx_get(struct userfaultfd_ctx *ctx)
{
	refcount_inc(&ctx->refs);
}

/* file.c */
struct userfaultfd_ctx *uffd_ctx_alloc(struct mm_struct *mm, unsigned int flags,
				       unsigned int features);
void uffd_ctx_put(struct userfaultfd_ctx *ctx);
struct file *uffd_file_for(struct userfaultfd_ctx *ctx, struct inode *like);
void uffd_shutdown(struct userfaultfd_ctx *ctx);
void uffd_offer_fault(struct userfaultfd_ctx *ctx);

/* fault.c */
void uffd_wake_span(struct userfaultfd_ctx *ctx, unsigned long start,
		    unsigned long end);

/* event.c */
void uffd_event_init(struct uffd_event *ev, u8 event);
void uffd_drop_events(struct userfaultfd_ctx *ctx);
int uffd_deliver_event(struct userfaultfd_ctx *ctx, struct uffd_event *ev,
		       struct uffd_msg *msg, struct iov_iter *to,
		       struct inode *inode);
int uffd_watch_exit(struct userfaultfd_ctx *ctx);
struct uffd_fork;
struct uffd_fork *uffd_fork_of_current(struct userfaultfd_ctx *ctx);
bool uffd_fork_report(struct uffd_fork *fc);

/* ioctl.c */
long uffd_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _FS_USERFAULTFD_INTERNAL_H */
