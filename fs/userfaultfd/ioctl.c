// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userfaultfd ioctls: the API handshake, registering and
 * unregistering ranges, waking, filling (COPY, ZEROPAGE, CONTINUE,
 * POISON), moving (MOVE) and write-protecting (WRITEPROTECT).  Ranges are checked here;
 * the memory side does the rest.
 */

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include "internal.h"

/* Registration modes this implementation provides. */
#define UFFD_MODES_SUPPORTED	(UFFDIO_REGISTER_MODE_MISSING |		\
				 (UFFD_WP_SUPPORTED ? UFFDIO_REGISTER_MODE_WP : 0) | \
				 (UFFD_MINOR_SUPPORTED ?			\
				  UFFDIO_REGISTER_MODE_MINOR : 0))

/* COPY and CONTINUE modes: MODE_WP maps the page write-protected. */
#define UFFD_COPY_MODES		(UFFDIO_COPY_MODE_DONTWAKE |		\
				 (UFFD_WP_SUPPORTED ? UFFDIO_COPY_MODE_WP : 0))
#define UFFD_CONTINUE_MODES	(UFFDIO_CONTINUE_MODE_DONTWAKE |	\
				 (UFFD_WP_SUPPORTED ? UFFDIO_CONTINUE_MODE_WP : 0))

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
	/* Tracking writes needs the pages never written protected too. */
	if (want & UFFD_FEATURE_WP_ASYNC)
		want |= UFFD_FEATURE_WP_UNPOPULATED;

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
	u64 ioctls;
	int err;

	if (copy_from_user(&reg, arg, offsetof(struct uffdio_register, ioctls)))
		return -EFAULT;
	if (!reg.mode || (reg.mode & ~(u64)UFFD_MODES_SUPPORTED))
		return -EINVAL;
	vm_flags = 0;
	if (reg.mode & UFFDIO_REGISTER_MODE_MISSING)
		vm_flags |= VM_UFFD_MISSING;
	if (reg.mode & UFFDIO_REGISTER_MODE_WP)
		vm_flags |= VM_UFFD_WP;
	if (reg.mode & UFFDIO_REGISTER_MODE_MINOR)
		vm_flags |= VM_UFFD_MINOR;
	err = uffd_check_range(ctx, reg.range.start, reg.range.len);
	if (err)
		return err;
	if (uffd_mm_get(ctx))
		return -ENOMEM;	/* what upstream reports here */

	mmap_write_lock(ctx->mm);
	err = uffd_register_range(ctx->mm, ctx, reg.range.start,
				  reg.range.start + reg.range.len, vm_flags,
				  uffd_has(ctx, UFFD_FEATURE_WP_ASYNC), &ioctls);
	mmap_write_unlock(ctx->mm);
	mmput(ctx->mm);
	if (err)
		return err;
	/* What can be done on the range now. */
	if (put_user(ioctls, &arg->ioctls))
		return -EFAULT;
	return 0;
}

static int uffd_ioctl_unregister(struct userfaultfd_ctx *ctx,
				 struct uffdio_range __user *arg)
{
	struct uffdio_range range;
	u64 ioctls;	/* not used when unregistering */
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
				  range.start + range.len, 0, false, &ioctls);
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
 * The common tail of the fills (COPY, ZEROPAGE, CONTINUE, POISON): fill,
 * report the bytes done (or the error) in @result, wake what was filled.
 */
static int uffd_fill(struct userfaultfd_ctx *ctx, u64 dst, u64 src, u64 len,
		     uffd_flags_t flags, bool wake, __s64 __user *result)
{
	ssize_t done;

	if (atomic_read(&ctx->gate.changing)) {
		done = -EAGAIN;	/* spare pinning the mm: the gate would say so */
	} else {
		if (uffd_mm_get(ctx))
			return -ESRCH;
		done = uffd_fill_range(ctx, &ctx->gate, ctx->mm, dst, src, len,
				       flags);
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
	uffd_flags_t flags;
	int err;

	if (copy_from_user(&copy, arg, offsetof(struct uffdio_copy, copy)))
		return -EFAULT;
	err = uffd_check_range(ctx, copy.dst, copy.len);
	if (!err)
		err = uffd_check_span(ctx, copy.src, copy.len);
	if (err)
		return err;
	if (copy.mode & ~(u64)UFFD_COPY_MODES)
		return -EINVAL;
	flags = uffd_flags_set_mode(0, MFILL_ATOMIC_COPY);
	if (copy.mode & UFFDIO_COPY_MODE_WP)
		flags |= MFILL_ATOMIC_WP;
	return uffd_fill(ctx, copy.dst, copy.src, copy.len, flags,
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

/*
 * Map what the page cache already holds over a range (a minor fault's
 * resolution), write-protected with MODE_WP.
 */
static int uffd_ioctl_continue(struct userfaultfd_ctx *ctx,
			       struct uffdio_continue __user *arg)
{
	struct uffdio_continue cont;
	uffd_flags_t flags;
	int err;

	if (copy_from_user(&cont, arg, offsetof(struct uffdio_continue, mapped)))
		return -EFAULT;
	err = uffd_check_range(ctx, cont.range.start, cont.range.len);
	if (err)
		return err;
	if (cont.mode & ~(u64)UFFD_CONTINUE_MODES)
		return -EINVAL;
	flags = uffd_flags_set_mode(0, MFILL_ATOMIC_CONTINUE);
	if (cont.mode & UFFDIO_CONTINUE_MODE_WP)
		flags |= MFILL_ATOMIC_WP;
	/*
	 * The monitor wrote the page through another mapping: those writes
	 * must be visible before the PTE that lets the faulting thread read
	 * it.  hugetlb's helper relies on this barrier too.
	 */
	smp_wmb();
	return uffd_fill(ctx, cont.range.start, 0, cont.range.len, flags,
			 !(cont.mode & UFFDIO_CONTINUE_MODE_DONTWAKE),
			 &arg->mapped);
}

/* Mark a range poisoned: a fault there, parked or to come, gets SIGBUS. */
static int uffd_ioctl_poison(struct userfaultfd_ctx *ctx,
			     struct uffdio_poison __user *arg)
{
	struct uffdio_poison poison;
	int err;

	if (copy_from_user(&poison, arg, offsetof(struct uffdio_poison, updated)))
		return -EFAULT;
	err = uffd_check_range(ctx, poison.range.start, poison.range.len);
	if (err)
		return err;
	if (poison.mode & ~UFFDIO_POISON_MODE_DONTWAKE)
		return -EINVAL;
	return uffd_fill(ctx, poison.range.start, 0, poison.range.len,
			 uffd_flags_set_mode(0, MFILL_ATOMIC_POISON),
			 !(poison.mode & UFFDIO_POISON_MODE_DONTWAKE),
			 &arg->updated);
}

/*
 * Move anonymous pages from src to dst (a registered range), waking the
 * faults parked on what arrived unless DONTWAKE.
 */
static int uffd_ioctl_move(struct userfaultfd_ctx *ctx,
			   struct uffdio_move __user *arg)
{
	struct uffdio_move mv;
	ssize_t done;
	int err;

	if (copy_from_user(&mv, arg, offsetof(struct uffdio_move, move)))
		return -EFAULT;
	err = uffd_check_range(ctx, mv.dst, mv.len);
	if (!err)
		err = uffd_check_range(ctx, mv.src, mv.len);
	if (err)
		return err;
	if (mv.mode & ~(u64)(UFFDIO_MOVE_MODE_DONTWAKE |
			     UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES))
		return -EINVAL;
	/* Pages move within the caller's own address space only. */
	if (ctx->mm != current->mm)
		return -EINVAL;
	if (atomic_read(&ctx->gate.changing)) {
		done = -EAGAIN;	/* spare pinning the mm: the gate would say so */
	} else {
		if (uffd_mm_get(ctx))
			return -ESRCH;
		done = uffd_move_range(ctx, &ctx->gate, ctx->mm, mv.dst, mv.src,
				       mv.len, mv.mode);
		mmput(ctx->mm);
	}
	if (done > 0 && !(mv.mode & UFFDIO_MOVE_MODE_DONTWAKE))
		uffd_wake_span(ctx, mv.dst, mv.dst + done);
	if (put_user(done, &arg->move))
		return -EFAULT;
	if (done < 0)
		return done;
	return done == mv.len ? 0 : -EAGAIN;
}

/*
 * Protect a range (writes then fault to the monitor) or unprotect it
 * (waking the writers parked on it, unless DONTWAKE: UFFDIO_WAKE does
 * that later).  Protecting wakes nobody, so DONTWAKE makes no sense
 * with it.
 */
static int uffd_ioctl_writeprotect(struct userfaultfd_ctx *ctx,
				   struct uffdio_writeprotect __user *arg)
{
	struct uffdio_writeprotect wp;
	bool protect, wake;
	int err;

	if (!UFFD_WP_SUPPORTED)
		return -EINVAL;
	if (copy_from_user(&wp, arg, sizeof(wp)))
		return -EFAULT;
	err = uffd_check_range(ctx, wp.range.start, wp.range.len);
	if (err)
		return err;
	if (wp.mode & ~(UFFDIO_WRITEPROTECT_MODE_WP |
			UFFDIO_WRITEPROTECT_MODE_DONTWAKE))
		return -EINVAL;
	protect = wp.mode & UFFDIO_WRITEPROTECT_MODE_WP;
	wake = !(wp.mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
	if (protect && !wake)
		return -EINVAL;
	if (atomic_read(&ctx->gate.changing))
		return -EAGAIN;	/* spare pinning the mm: the gate would say so */
	if (uffd_mm_get(ctx))
		return -ESRCH;
	err = uffd_protect_range(ctx, &ctx->gate, ctx->mm, wp.range.start,
				 wp.range.len, protect);
	mmput(ctx->mm);
	if (!err && !protect && wake)
		uffd_wake_span(ctx, wp.range.start,
			       wp.range.start + wp.range.len);
	return err;
}

/**
 * uffd_ioctl - the userfaultfd ioctls
 * @file: the userfaultfd
 * @cmd: the UFFDIO_* command
 * @arg: its argument, a pointer to user memory
 *
 * Return: 0, or a negative errno (-EINVAL for everything but UFFDIO_API
 * until the handshake is done, and for the ioctls not provided).
 */
long uffd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
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
	case UFFDIO_WRITEPROTECT:
		return uffd_ioctl_writeprotect(ctx, uarg);
	case UFFDIO_CONTINUE:
		return uffd_ioctl_continue(ctx, uarg);
	case UFFDIO_POISON:
		return uffd_ioctl_poison(ctx, uarg);
	case UFFDIO_MOVE:
		return uffd_ioctl_move(ctx, uarg);
	}
	return -EINVAL;
}
