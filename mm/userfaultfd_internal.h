/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * userfaultfd, the memory side: what mm/userfaultfd.c (registration,
 * fills, write-protect) and mm/userfaultfd_move.c (UFFDIO_MOVE) share.
 */
#ifndef _MM_USERFAULTFD_INTERNAL_H
#define _MM_USERFAULTFD_INTERNAL_H

#include <linux/rwsem.h>
#include <linux/userfaultfd_k.h>

/*
 * Enter the fill gate (struct uffd_fill_gate), after the VMA locks:
 * -EAGAIN while a layout change is not yet read.
 */
static inline int uffd_gate_enter(struct uffd_fill_gate *gate)
{
	down_read(&gate->lock);
	if (atomic_read(&gate->changing)) {
		up_read(&gate->lock);
		return -EAGAIN;
	}
	return 0;
}

static inline void uffd_gate_leave(struct uffd_fill_gate *gate)
{
	up_read(&gate->lock);
}

#endif /* _MM_USERFAULTFD_INTERNAL_H */
