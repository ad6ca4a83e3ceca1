/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the benchmark programs. */
#ifndef UFFD_BENCH_H
#define UFFD_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Guest time in ns (tied to executed instructions under -icount). */
static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Report what failed, with errno, and exit 1. */
static inline void fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

#endif
