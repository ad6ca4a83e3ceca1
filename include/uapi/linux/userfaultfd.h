/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * userfaultfd(2) user-space ABI.
 *
 * Every number and every structure layout here is the ABI of Linux 6.12:
 * programs built against the upstream header run unchanged on this kernel,
 * and the other way round.  Which of these features a running kernel
 * actually implements is what UFFDIO_API reports, not what this header
 * defines.
 *
 * See Documentation/vm/userfaultfd.txt.
 */
#ifndef _LINUX_USERFAULTFD_H
#define _LINUX_USERFAULTFD_H

#include <linux/types.h>

/* ioctl on /dev/userfaultfd: create a userfaultfd; the argument is the flags. */
#define USERFAULTFD_IOC		0xAA
#define USERFAULTFD_IOC_NEW	_IO(USERFAULTFD_IOC, 0x00)

/* The only API version: asked for, and echoed back, by UFFDIO_API. */
#define UFFD_API ((__u64)0xAA)

/* Every registration mode the ABI defines. */
#define UFFD_API_REGISTER_MODES	(UFFDIO_REGISTER_MODE_MISSING |	\
				 UFFDIO_REGISTER_MODE_WP |		\
				 UFFDIO_REGISTER_MODE_MINOR)

/* Every feature bit the ABI defines (see struct uffdio_api). */
#define UFFD_API_FEATURES	(UFFD_FEATURE_PAGEFAULT_FLAG_WP |	\
				 UFFD_FEATURE_EVENT_FORK |		\
				 UFFD_FEATURE_EVENT_REMAP |		\
				 UFFD_FEATURE_EVENT_REMOVE |		\
				 UFFD_FEATURE_EVENT_UNMAP |		\
				 UFFD_FEATURE_MISSING_HUGETLBFS |	\
				 UFFD_FEATURE_MISSING_SHMEM |		\
				 UFFD_FEATURE_SIGBUS |			\
				 UFFD_FEATURE_THREAD_ID |		\
				 UFFD_FEATURE_MINOR_HUGETLBFS |	\
				 UFFD_FEATURE_MINOR_SHMEM |		\
				 UFFD_FEATURE_EXACT_ADDRESS |		\
				 UFFD_FEATURE_WP_HUGETLBFS_SHMEM |	\
				 UFFD_FEATURE_WP_UNPOPULATED |		\
				 UFFD_FEATURE_POISON |			\
				 UFFD_FEATURE_WP_ASYNC |		\
				 UFFD_FEATURE_MOVE)

/* ioctl numbers (the _UFFDIO_* values are bit positions in "ioctls"). */
#define _UFFDIO_REGISTER	(0x00)
#define _UFFDIO_UNREGISTER	(0x01)
#define _UFFDIO_WAKE		(0x02)
#define _UFFDIO_COPY		(0x03)
#define _UFFDIO_ZEROPAGE	(0x04)
#define _UFFDIO_MOVE		(0x05)
#define _UFFDIO_WRITEPROTECT	(0x06)
#define _UFFDIO_CONTINUE	(0x07)
#define _UFFDIO_POISON		(0x08)
#define _UFFDIO_API		(0x3F)

/* ioctls valid on the fd itself once the API handshake is done. */
#define UFFD_API_IOCTLS		((__u64)1 << _UFFDIO_REGISTER |	\
				 (__u64)1 << _UFFDIO_UNREGISTER |	\
				 (__u64)1 << _UFFDIO_API)

/* Every ioctl the ABI defines on a registered range. */
#define UFFD_API_RANGE_IOCTLS	((__u64)1 << _UFFDIO_WAKE |		\
				 (__u64)1 << _UFFDIO_COPY |		\
				 (__u64)1 << _UFFDIO_ZEROPAGE |	\
				 (__u64)1 << _UFFDIO_MOVE |		\
				 (__u64)1 << _UFFDIO_WRITEPROTECT |	\
				 (__u64)1 << _UFFDIO_CONTINUE |	\
				 (__u64)1 << _UFFDIO_POISON)

/* The subset defined for ranges that hold huge pages (hugetlbfs). */
#define UFFD_API_RANGE_IOCTLS_BASIC ((__u64)1 << _UFFDIO_WAKE |	\
				 (__u64)1 << _UFFDIO_COPY |		\
				 (__u64)1 << _UFFDIO_WRITEPROTECT |	\
				 (__u64)1 << _UFFDIO_CONTINUE |	\
				 (__u64)1 << _UFFDIO_POISON)

#define UFFDIO			0xAA
#define UFFDIO_API		_IOWR(UFFDIO, _UFFDIO_API, struct uffdio_api)
#define UFFDIO_REGISTER		_IOWR(UFFDIO, _UFFDIO_REGISTER,	\
				      struct uffdio_register)
#define UFFDIO_UNREGISTER	_IOR(UFFDIO, _UFFDIO_UNREGISTER,	\
				     struct uffdio_range)
#define UFFDIO_WAKE		_IOR(UFFDIO, _UFFDIO_WAKE, struct uffdio_range)
#define UFFDIO_COPY		_IOWR(UFFDIO, _UFFDIO_COPY, struct uffdio_copy)
#define UFFDIO_ZEROPAGE		_IOWR(UFFDIO, _UFFDIO_ZEROPAGE,	\
				      struct uffdio_zeropage)
#define UFFDIO_MOVE		_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#define UFFDIO_WRITEPROTECT	_IOWR(UFFDIO, _UFFDIO_WRITEPROTECT,	\
				      struct uffdio_writeprotect)
#define UFFDIO_CONTINUE		_IOWR(UFFDIO, _UFFDIO_CONTINUE,	\
				      struct uffdio_continue)
#define UFFDIO_POISON		_IOWR(UFFDIO, _UFFDIO_POISON,		\
				      struct uffdio_poison)

/*
 * One message, as read(2) returns it.  32 bytes on every architecture;
 * fields a message does not use are zero.
 */
struct uffd_msg {
	__u8	event;		/* UFFD_EVENT_* */

	__u8	reserved1;
	__u16	reserved2;
	__u32	reserved3;

	union {
		struct {	/* UFFD_EVENT_PAGEFAULT */
			__u64	flags;		/* UFFD_PAGEFAULT_FLAG_* */
			__u64	address;
			union {
				__u32 ptid;	/* with UFFD_FEATURE_THREAD_ID */
			} feat;
		} pagefault;

		struct {	/* UFFD_EVENT_FORK */
			__u32	ufd;		/* the child's userfaultfd */
		} fork;

		struct {	/* UFFD_EVENT_REMAP */
			__u64	from;
			__u64	to;
			__u64	len;
		} remap;

		struct {	/* UFFD_EVENT_REMOVE, UFFD_EVENT_UNMAP */
			__u64	start;
			__u64	end;
		} remove;

		struct {	/* room for future events */
			__u64	reserved1;
			__u64	reserved2;
			__u64	reserved3;
		} reserved;
	} arg;
} __packed;

/* Values of uffd_msg.event. */
#define UFFD_EVENT_PAGEFAULT	0x12
#define UFFD_EVENT_FORK		0x13
#define UFFD_EVENT_REMAP	0x14
#define UFFD_EVENT_REMOVE	0x15
#define UFFD_EVENT_UNMAP	0x16

/*
 * Extension of this implementation, not in upstream Linux: with
 * UFFD_FEATURE_EVENT_EXIT the monitor gets one UFFD_EVENT_EXIT message
 * (no arguments) once the last user of the target's address space is
 * gone; read() then returns 0 (end of file) and poll() EPOLLHUP.  The
 * number sits far from upstream's event codes, which count up from 0x12.
 */
#define UFFD_EVENT_EXIT		0x80

/* Bits of uffd_msg.arg.pagefault.flags. */
#define UFFD_PAGEFAULT_FLAG_WRITE	(1 << 0) /* the access was a write */
#define UFFD_PAGEFAULT_FLAG_WP		(1 << 1) /* write-protect fault */
#define UFFD_PAGEFAULT_FLAG_MINOR	(1 << 2) /* minor fault */

struct uffdio_api {
	/* In: must be UFFD_API.  Out: UFFD_API. */
	__u64 api;
	/*
	 * In: the optional features wanted; asking for one the kernel does
	 * not implement fails with EINVAL.  Out: every feature the kernel
	 * implements.  The bits:
	 */
#define UFFD_FEATURE_PAGEFAULT_FLAG_WP		(1 << 0)
#define UFFD_FEATURE_EVENT_FORK			(1 << 1)
#define UFFD_FEATURE_EVENT_REMAP		(1 << 2)
#define UFFD_FEATURE_EVENT_REMOVE		(1 << 3)
#define UFFD_FEATURE_MISSING_HUGETLBFS		(1 << 4)
#define UFFD_FEATURE_MISSING_SHMEM		(1 << 5)
#define UFFD_FEATURE_EVENT_UNMAP		(1 << 6)
#define UFFD_FEATURE_SIGBUS			(1 << 7)
#define UFFD_FEATURE_THREAD_ID			(1 << 8)
#define UFFD_FEATURE_MINOR_HUGETLBFS		(1 << 9)
#define UFFD_FEATURE_MINOR_SHMEM		(1 << 10)
#define UFFD_FEATURE_EXACT_ADDRESS		(1 << 11)
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM		(1 << 12)
#define UFFD_FEATURE_WP_UNPOPULATED		(1 << 13)
#define UFFD_FEATURE_POISON			(1 << 14)
#define UFFD_FEATURE_WP_ASYNC			(1 << 15)
#define UFFD_FEATURE_MOVE			(1 << 16)
/* Extension, not in upstream: see UFFD_EVENT_EXIT.  Far from upstream's bits. */
#define UFFD_FEATURE_EVENT_EXIT			(1 << 30)
	__u64 features;

	/* Out: the ioctls valid on the fd (bits are _UFFDIO_* numbers). */
	__u64 ioctls;
};

struct uffdio_range {
	__u64 start;
	__u64 len;
};

struct uffdio_register {
	struct uffdio_range range;
#define UFFDIO_REGISTER_MODE_MISSING	((__u64)1 << 0)
#define UFFDIO_REGISTER_MODE_WP		((__u64)1 << 1)
#define UFFDIO_REGISTER_MODE_MINOR	((__u64)1 << 2)
	__u64 mode;

	/* Out: the ioctls valid on the registered range. */
	__u64 ioctls;
};

struct uffdio_copy {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_COPY_MODE_DONTWAKE	((__u64)1 << 0)
#define UFFDIO_COPY_MODE_WP		((__u64)1 << 1)
	__u64 mode;

	/* Out: bytes copied, or a negative errno. */
	__s64 copy;
};

struct uffdio_zeropage {
	struct uffdio_range range;
#define UFFDIO_ZEROPAGE_MODE_DONTWAKE	((__u64)1 << 0)
	__u64 mode;

	/* Out: bytes zero-filled, or a negative errno. */
	__s64 zeropage;
};

struct uffdio_writeprotect {
	struct uffdio_range range;
#define UFFDIO_WRITEPROTECT_MODE_WP		((__u64)1 << 0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE	((__u64)1 << 1)
	__u64 mode;
};

struct uffdio_continue {
	struct uffdio_range range;
#define UFFDIO_CONTINUE_MODE_DONTWAKE	((__u64)1 << 0)
#define UFFDIO_CONTINUE_MODE_WP		((__u64)1 << 1)
	__u64 mode;

	/* Out: bytes mapped, or a negative errno. */
	__s64 mapped;
};

struct uffdio_poison {
	struct uffdio_range range;
#define UFFDIO_POISON_MODE_DONTWAKE	((__u64)1 << 0)
	__u64 mode;

	/* Out: bytes poisoned, or a negative errno. */
	__s64 updated;
};

struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE		((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	((__u64)1 << 1)
	__u64 mode;

	/* Out: bytes moved, or a negative errno. */
	__s64 move;
};

/* userfaultfd(2) flag: only faults raised by user-mode accesses are handled. */
#define UFFD_USER_MODE_ONLY 1

#endif /* _LINUX_USERFAULTFD_H */
