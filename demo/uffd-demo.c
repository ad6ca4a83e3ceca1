// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-demo: the smallest useful userfaultfd monitor.
 *
 * Maps a few pages, registers them for missing faults, and lets a worker
 * thread read them.  Each first touch parks the worker; the monitor (this
 * main thread) reads the fault, fills the page with UFFDIO_COPY and the
 * worker goes on.  Prints what happened; exits 0 if every page arrived.
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

#define NPAGES 8

static long page;
static char *area;

static void *worker(void *arg)
{
	char text[64];

	/*
	 * Touch the page before printing: a fault inside printf() would park
	 * this thread holding the stdout lock the monitor needs.
	 */
	for (int i = 0; i < NPAGES; i++) {
		memcpy(text, area + i * page, sizeof(text) - 1);
		text[sizeof(text) - 1] = 0;
		printf("worker: page %d says \"%s\"\n", i, text);
	}
	return arg;
}

static int die(const char *what)
{
	fprintf(stderr, "uffd-demo: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *buf;
	pthread_t th;
	int fd, served = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return die("userfaultfd");
	if (ioctl(fd, UFFDIO_API, &api))
		return die("UFFDIO_API");
	printf("monitor: API 0x%llx, features 0x%llx\n", api.api, api.features);

	area = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(page);
	if (area == MAP_FAILED || !buf)
		return die("mmap");
	reg.range.start = (unsigned long)area;
	reg.range.len = NPAGES * page;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return die("UFFDIO_REGISTER");
	printf("monitor: registered %d pages at %p, ioctls 0x%llx\n",
	       NPAGES, area, reg.ioctls);

	if (pthread_create(&th, NULL, worker, NULL))
		return die("pthread_create");
	while (served < NPAGES) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy copy;
		unsigned long idx;

		if (poll(&p, 1, 5000) != 1)
			return die("poll (no fault within 5 s)");
		if (read(fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		idx = (msg.arg.pagefault.address - (unsigned long)area) / page;
		memset(buf, 0, page);
		snprintf(buf, page, "filled lazily as page %lu", idx);
		copy = (struct uffdio_copy){
			.dst = msg.arg.pagefault.address & ~(page - 1),
			.src = (unsigned long)buf, .len = page,
		};
		if (ioctl(fd, UFFDIO_COPY, &copy))
			return die("UFFDIO_COPY");
		printf("monitor: %s fault at page %lu, resolved with UFFDIO_COPY\n",
		       msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE ?
		       "write" : "read", idx);
		served++;
	}
	pthread_join(th, NULL);
	for (int i = 0; i < NPAGES; i++) {
		snprintf(buf, page, "filled lazily as page %d", i);
		if (strcmp(buf, area + i * page))
			return die("page content");
	}
	printf("monitor: %d faults served, all pages correct\n", served);
	close(fd);
	return 0;
}
