// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fault queues, waking, and the fault path.
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
 * Nothing here knows kinds of memory: the memory side answers whether a
 * page is still missing.
 */

#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/wake_q.h>
#include "internal.h"

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

/**
 * uffd_wake_span - wake every fault parked in [start, end)
 * @ctx: the context
 * @start: start of the range
 * @end: its end (exclusive)
 *
 * Callers have just changed the page tables (or given up on the range):
 * a fault that parked before the change is found here, one that parks
 * after it sees the change in its own page-table check and does not
 * sleep.  Costs O(log n + woken) for n parked faults; a barrier and one
 * load when none is parked.
 */
void uffd_wake_span(struct userfaultfd_ctx *ctx, unsigned long start,
		    unsigned long end)
{
	struct uffd_span span = { .start = start, .end = end };
	struct rb_node *n, *next;
	struct task_struct *task;
	struct uffd_fault *f;
	DEFINE_WAKE_Q(wakeq);

	/*
	 * Order the page-table update before the emptiness test; pairs with
	 * the barrier after parking in handle_userfault().
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

/**
 * userfaultfd_wp_unpopulated - does @vma protect pages never populated?
 * @vma: a VMA, with its mmap or VMA lock held
 *
 * Such a range (UFFD_FEATURE_WP_UNPOPULATED) gets a PTE marker where
 * nothing is mapped when it is protected, so that a first write faults to
 * the monitor as a write to a protected page.
 *
 * Return: true if @vma is registered for write-protect with a context
 * that asked for it.
 */
bool userfaultfd_wp_unpopulated(struct vm_area_struct *vma)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	return userfaultfd_wp(vma) && ctx &&
	       uffd_has(ctx, UFFD_FEATURE_WP_UNPOPULATED);
}

/**
 * userfaultfd_wp_async - does the kernel resolve @vma's write faults?
 * @vma: a VMA, with its mmap or VMA lock held
 *
 * With UFFD_FEATURE_WP_ASYNC a write to a protected page only clears its
 * mark and goes on, without a message: the marks then tell which pages
 * were written since they were protected (PAGEMAP_SCAN reads them).
 *
 * Return: true if @vma is registered for write-protect with a context
 * that asked for it.
 */
bool userfaultfd_wp_async(struct vm_area_struct *vma)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx.ctx;

	return userfaultfd_wp(vma) && ctx && uffd_has(ctx, UFFD_FEATURE_WP_ASYNC);
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
			   unsigned long reason, struct uffd_msg *msg)
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
	if (reason & VM_UFFD_WP)
		msg->arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_WP;
	if (reason & VM_UFFD_MINOR)
		msg->arg.pagefault.flags |= UFFD_PAGEFAULT_FLAG_MINOR;
	if (uffd_has(ctx, UFFD_FEATURE_THREAD_ID))
		msg->arg.pagefault.feat.ptid = task_pid_vnr(current);
}

/**
 * handle_userfault - park a fault on a registered range for the monitor
 * @vmf: the fault; its mmap or VMA lock is held
 * @reason: the VM_UFFD_* mode that caught it: VM_UFFD_MISSING (nothing
 *	mapped yet), VM_UFFD_WP (a write to a write-protected page) or
 *	VM_UFFD_MINOR (a page in the page cache, not mapped here yet)
 *
 * Queues a message for the monitor and sleeps until the page is resolved,
 * the range is woken or unregistered, the file is released, or a signal
 * arrives.  The fault lock is dropped before sleeping.
 *
 * Return: VM_FAULT_COMPLETED once the fault lock was dropped and the fault
 * resolved, where the memory's fault path passes that on (the faulting
 * access then runs again instead of handle_mm_fault() walking the page
 * tables a second time under the mmap lock); VM_FAULT_RETRY once the
 * fault lock was dropped otherwise (also with FAULT_FLAG_RETRY_NOWAIT,
 * where it is kept); VM_FAULT_SIGBUS when the
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
	bool wait, completes, woken;

	assert_fault_locked(vmf);

	/* No waiting while dumping core or for the final exit path. */
	if (!ctx || (current->flags & (PF_EXITING | PF_DUMPCORE)))
		return VM_FAULT_SIGBUS;
	if (WARN_ON_ONCE((reason != VM_UFFD_MISSING && reason != VM_UFFD_WP &&
			  reason != VM_UFFD_MINOR) ||
			 ctx->mm != vma->vm_mm))
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

	uffd_fault_msg(ctx, vmf, reason, &f.slot.msg);
	f.addr = f.slot.msg.arg.pagefault.address;
	f.task = current;
	f.woken = false;

	spin_lock(&ctx->fault_lock);
	if (ctx->released) {
		/*
		 * The file is going away and will unregister the range once
		 * it gets the mmap lock: drop ours and retry the fault.
		 */
		spin_unlock(&ctx->fault_lock);
		release_fault_lock(vmf);
		return VM_FAULT_RETRY;
	}
	if (unlikely(!list_empty(&ctx->forks)))
		fc = uffd_fork_of_current(ctx);
	if (unlikely(fc)) {
		/* Only we report or drop @fc: it stays valid unlocked. */
		spin_unlock(&ctx->fault_lock);
		release_fault_lock(vmf);
		/* Killed meanwhile: the fault, then the fork, fails. */
		uffd_fork_report(fc);
		return VM_FAULT_RETRY;
	}
	uffd_ctx_get(ctx);	/* we sleep without the mmap lock */
	uffd_park(ctx, &f);
	spin_unlock(&ctx->fault_lock);

	/*
	 * Parked, then a last look at the page tables, still under the
	 * fault's lock: if the page is there now (or no longer protected),
	 * a fill (or an unprotect) raced with us and we need not sleep; if
	 * it lands after this look, its wake finds us parked.  The barrier
	 * orders parking before the look and pairs with the one in
	 * uffd_wake_span().  The look may sleep (the memory side may take a
	 * sleeping lock), so it comes before we change our task state.
	 */
	smp_mb();
	wait = uffd_must_wait(vma, vmf->address, reason, &completes);
	/*
	 * Only callers that wait killably (the architectures' fault
	 * handlers, get_user_pages()) are known to take VM_FAULT_COMPLETED
	 * for what it is: khugepaged's swap-in, for one, acts on
	 * VM_FAULT_RETRY alone.
	 */
	completes = completes && (vmf->flags & FAULT_FLAG_KILLABLE);
	release_fault_lock(vmf);

	if (wait) {
		uffd_offer_fault(ctx);
		for (;;) {
			set_current_state(state);
			/* Pairs with the waker's release in uffd_wake_span(). */
			if (smp_load_acquire(&f.woken) ||
			    signal_pending_state(state, current))
				break;
			schedule();
		}
		__set_current_state(TASK_RUNNING);
	}

	/*
	 * Not woken (a signal, or no need to sleep): leave on our own.  The
	 * acquire pairs with uffd_wake_span(): once set, @f is ours again.
	 */
	woken = smp_load_acquire(&f.woken);
	if (!woken) {
		spin_lock(&ctx->fault_lock);
		if (!f.woken)
			uffd_unpark(ctx, &f);
		spin_unlock(&ctx->fault_lock);
	}
	uffd_ctx_put(ctx);
	/*
	 * Resolved: most likely the page is there now.  A fault woken
	 * without it (UFFDIO_WAKE alone, an unregister) simply faults again
	 * when the access runs again, as its retry would have.
	 */
	if (completes && (woken || !wait))
		return VM_FAULT_COMPLETED;
	return VM_FAULT_RETRY;
}
