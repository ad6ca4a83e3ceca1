// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-mem: kernel memory a userfaultfd context costs, and a parked fault.
 *
 * Contexts: the growth of Slab in /proc/meminfo over N new userfaultfds
 * (the API handshake done, one range registered each).
 * Parked faults: N threads first wait in read() on a pipe, then each
 * faults on a registered page of its own and parks; the growth of Slab +
 * KernelStack + PageTables between the two states is what parking costs
 * beyond the threads themselves.
 *
 * usage: uffd-mem contexts|faults N
 * prints: what=W n=N bytes_each=X
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static long page;
static char *area;
static int pipefd[2];

/* Slab + KernelStack + PageTables, in bytes. */
static long kernel_mem(void)
{
	char line[128];
	long kb, sum = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		fail("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld", &kb) == 1 ||
		    sscanf(line, "KernelStack: %ld", &kb) == 1 ||
		    sscanf(line, "PageTables: %ld", &kb) == 1)
			sum += kb;
	fclose(f);
	return sum * 1024;
}

static int new_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		fail("userfaultfd");
	return fd;
}

static void *parker(void *arg)
{
	char c;

	if (read(pipefd[0], &c, 1) != 1)
		fail("pipe");
	(void)*(volatile char *)(area + (long)arg * page);
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	long before, after;
	int n, fd;

	if (argc != 3)
		goto usage;
	n = atoi(argv[2]);
	page = sysconf(_SC_PAGESIZE);
	area = mmap(NULL, (long)n * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap");

	if (!strcmp(argv[1], "contexts")) {
		before = kernel_mem();
		for (int i = 0; i < n; i++) {
			fd = new_uffd();
			reg.range.start = (unsigned long)area + (long)i * page;
			reg.range.len = page;
			if (ioctl(fd, UFFDIO_REGISTER, &reg))
				fail("UFFDIO_REGISTER");
		}
		after = kernel_mem();
	} else if (!strcmp(argv[1], "faults")) {
		pthread_t *th = calloc(n, sizeof(*th));
		struct uffd_msg msg;
		int got = 0;

		fd = new_uffd();
		reg.range.start = (unsigned long)area;
		reg.range.len = (long)n * page;
		if (!th || pipe(pipefd) || ioctl(fd, UFFDIO_REGISTER, &reg))
			fail("setup");
		for (long i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, parker, (void *)i))
				fail("pthread_create");
		sleep(1);
		before = kernel_mem();
		for (int i = 0; i < n; i++)
			if (write(pipefd[1], "x", 1) != 1)
				fail("pipe");
		/* Every thread parked: its message read. */
		while (got < n) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (read(fd, &msg, sizeof(msg)) == sizeof(msg)) {
				got++;
				continue;
			}
			if (errno != EAGAIN || poll(&p, 1, 10000) != 1)
				fail("waiting for faults");
		}
		sleep(1);
		after = kernel_mem();
		if (ioctl(fd, UFFDIO_ZEROPAGE, &(struct uffdio_zeropage){
			.range = reg.range }) && errno != EEXIST)
			fail("UFFDIO_ZEROPAGE");
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	} else {
		goto usage;
	}
	printf("what=%s n=%d bytes_each=%ld\n", argv[1], n, (after - before) / n);
	return 0;
usage:
	fprintf(stderr, "usage: uffd-mem contexts|faults N\n");
	return 2;
}
