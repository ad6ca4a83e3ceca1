// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-roundtrip: the latency of one fault served by a monitor, as the
 * faulting thread sees it.
 *
 * One thread touches N registered pages in turn; a monitor thread reads
 * each fault (read(), or poll() then read()) and resolves it with
 * UFFDIO_COPY.  The time is the faulting thread's, per page: fault,
 * park, message, read, copy, wake and retry.
 *
 * usage: uffd-roundtrip read|poll PAGES
 * prints: mode=M pages=N ns_per_fault=X
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static long page, pages;
static char *area;
static int fd;
static bool poll_first;

/* Serve @pages faults, then return. */
static void *monitor(void *arg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char *src = aligned_alloc(page, page);
	struct uffd_msg msg;

	if (!src)
		fail("memory");
	memset(src, 0x3c, page);
	for (long served = 0; served < pages; ) {
		struct uffdio_copy c = { .src = (unsigned long)src, .len = page };

		if (poll_first && poll(&p, 1, 10000) != 1)
			fail("poll");
		if (read(fd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno != EAGAIN || (!poll_first && poll(&p, 1, 10000) != 1))
				fail("read");
			continue;
		}
		c.dst = msg.arg.pagefault.address & ~(page - 1);
		if (ioctl(fd, UFFDIO_COPY, &c) && errno != EEXIST)
			fail("UFFDIO_COPY");
		served++;
	}
	free(src);
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t th;
	double t0, spent;

	if (argc != 3 || (strcmp(argv[1], "read") && strcmp(argv[1], "poll")))
		return fprintf(stderr, "usage: uffd-roundtrip read|poll PAGES\n"), 2;
	poll_first = !strcmp(argv[1], "poll");
	pages = atol(argv[2]);
	page = sysconf(_SC_PAGESIZE);
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		fail("userfaultfd");
	area = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap");
	/* One fault per 4 KiB page, not one per huge page. */
	madvise(area, pages * page, MADV_NOHUGEPAGE);
	reg.range.start = (unsigned long)area;
	reg.range.len = pages * page;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER");
	if (pthread_create(&th, NULL, monitor, NULL))
		fail("pthread_create");
	t0 = now_ns();
	for (long i = 0; i < pages; i++)
		if (*(volatile char *)(area + i * page) != 0x3c)
			fail("wrong contents");
	spent = now_ns() - t0;
	pthread_join(th, NULL);
	printf("mode=%s pages=%ld ns_per_fault=%.0f\n", argv[1], pages,
	       spent / pages);
	return 0;
}
