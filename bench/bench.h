/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the benchmark programs. */
#ifndef UFFD_BENCH_H
#define UFFD_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

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

/*
 * UFFD_BENCH_PROFILE=FILE, on a kernel booted with profile=1 (CONFIG_PROFILING
 * is in harness/bench.config): the kernel profile of the timed region only,
 * reset where it starts (@end false) and copied to FILE where it ends, for
 * readprofile(8).  Setup and teardown would otherwise drown it.
 */
static inline void profile_mark(int end)
{
	const char *out = getenv("UFFD_BENCH_PROFILE");
	char buf[65536];
	ssize_t n;
	int in, o;

	if (!out)
		return;
	in = open("/proc/profile", end ? O_RDONLY : O_WRONLY);
	if (in < 0)
		fail("/proc/profile (boot with profile=1)");
	if (!end) {
		if (write(in, "0", 1) != 1)
			fail("resetting /proc/profile");
		close(in);
		return;
	}
	o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (o < 0)
		fail(out);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(o, buf, n) != n)
			fail(out);
	close(o);
	close(in);
}

#endif
