// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-evcost: what a non-cooperative event costs the process that raises
 * it: fork, mremap, MADV_DONTNEED and munmap of a registered range, with
 * the matching event feature on (a monitor thread reading every event) or
 * off.
 *
 * Each operation works on a 16-page registered area, populated before it
 * is registered (no faults); only the operation itself is timed.
 *
 * usage: uffd-evcost fork|mremap|dontneed|munmap on|off N
 * prints: op=OP events=on|off n=N us_per_op=X
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
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define PAGES	16

static int fd;
static long page;
static volatile int stop;

/* Reading an event is what lets its raiser go on. */
static void *monitor(void *arg)
{
	struct uffd_msg msgs[16];

	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, msgs, sizeof(msgs));
		for (int i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++)
			if (msgs[i].event == UFFD_EVENT_FORK)
				close(msgs[i].arg.fork.ufd);
	}
	return arg;
}

static char *registered_area(void)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap");
	memset(p, 1, PAGES * page);
	reg.range.start = (unsigned long)p;
	reg.range.len = PAGES * page;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER");
	return p;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	const char *op;
	double spent = 0, t0;
	bool on;
	pthread_t th;
	char *spare;
	int n;

	if (argc != 4)
		goto usage;
	op = argv[1];
	on = !strcmp(argv[2], "on");
	n = atoi(argv[3]);
	page = sysconf(_SC_PAGESIZE);
	if (!strcmp(op, "fork"))
		api.features = UFFD_FEATURE_EVENT_FORK;
	else if (!strcmp(op, "mremap"))
		api.features = UFFD_FEATURE_EVENT_REMAP;
	else if (!strcmp(op, "dontneed"))
		api.features = UFFD_FEATURE_EVENT_REMOVE;
	else if (!strcmp(op, "munmap"))
		api.features = UFFD_FEATURE_EVENT_UNMAP;
	else
		goto usage;
	if (!on)
		api.features = 0;
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		fail("userfaultfd");
	if (pthread_create(&th, NULL, monitor, NULL))
		fail("pthread_create");
	/* Where mremap moves the area to: reserved, so nothing lands there. */
	spare = mmap(NULL, PAGES * page, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (spare == MAP_FAILED)
		fail("mmap");

	for (int i = 0; i < n; i++) {
		char *a = registered_area(), *b;
		pid_t pid;

		t0 = now_ns();
		if (!strcmp(op, "fork")) {
			pid = fork();
			if (pid == 0)
				_exit(0);
			if (pid < 0)
				fail("fork");
			spent += now_ns() - t0;
			waitpid(pid, NULL, 0);
			munmap(a, PAGES * page);
		} else if (!strcmp(op, "mremap")) {
			b = mremap(a, PAGES * page, PAGES * page,
				   MREMAP_MAYMOVE | MREMAP_FIXED, spare);
			spent += now_ns() - t0;
			if (b == MAP_FAILED)
				fail("mremap");
			/* The old place back as the spare for the next. */
			spare = mmap(a, PAGES * page, PROT_NONE, MAP_PRIVATE |
				     MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (spare == MAP_FAILED)
				fail("mmap spare");
			munmap(b, PAGES * page);
		} else if (!strcmp(op, "dontneed")) {
			if (madvise(a, PAGES * page, MADV_DONTNEED))
				fail("madvise");
			spent += now_ns() - t0;
			munmap(a, PAGES * page);
		} else {
			if (munmap(a, PAGES * page))
				fail("munmap");
			spent += now_ns() - t0;
		}
	}
	stop = 1;
	pthread_join(th, NULL);
	printf("op=%s events=%s n=%d us_per_op=%.2f\n", op, on ? "on" : "off",
	       n, spent / 1e3 / n);
	return 0;
usage:
	fprintf(stderr, "usage: uffd-evcost fork|mremap|dontneed|munmap on|off N\n");
	return 2;
}
