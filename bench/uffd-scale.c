// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-scale: what does resolving one fault cost when many threads are
 * parked on the same userfaultfd?
 *
 * T threads each fault on a page of their own and park.  The monitor
 * reads all T messages, then resolves the faults one UFFDIO_COPY at a
 * time, and times just that phase.  Repeated for R rounds.  An
 * implementation whose wake walks every parked fault pays O(T) per copy;
 * ours pays O(log T).
 *
 * usage: uffd-scale THREADS ROUNDS
 * prints: threads=T rounds=R copies=N ns_per_resolve=X
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
#include <time.h>
#include <unistd.h>

#include "bench.h"

static long page;
static char *area;
static int nthreads, rounds;

static void *worker(void *arg)
{
	long id = (long)arg;

	for (int r = 0; r < rounds; r++)
		(void)*(volatile char *)(area + ((long)r * nthreads + id) * page);
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	unsigned long *addrs;
	pthread_t *th;
	double spent = 0;
	char *src;
	long copies = 0;
	int fd;

	if (argc != 3)
		return fprintf(stderr, "usage: uffd-scale THREADS ROUNDS\n"), 2;
	nthreads = atoi(argv[1]);
	rounds = atoi(argv[2]);
	page = sysconf(_SC_PAGESIZE);
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		fail("userfaultfd");
	area = mmap(NULL, (long)nthreads * rounds * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = aligned_alloc(page, page);
	addrs = calloc(nthreads, sizeof(*addrs));
	th = calloc(nthreads, sizeof(*th));
	if (area == MAP_FAILED || !src || !addrs || !th)
		fail("memory");
	memset(src, 1, page);
	reg.range.start = (unsigned long)area;
	reg.range.len = (long)nthreads * rounds * page;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			fail("pthread_create");

	for (int r = 0; r < rounds; r++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct uffd_msg msg;
		int got = 0;
		double t0;

		/* Every thread parks on this round's page: read them all. */
		while (got < nthreads) {
			if (read(fd, &msg, sizeof(msg)) == sizeof(msg)) {
				addrs[got++] = msg.arg.pagefault.address;
				continue;
			}
			if (errno != EAGAIN || poll(&p, 1, 10000) != 1)
				fail("waiting for faults");
		}
		t0 = now_ns();
		for (int i = 0; i < nthreads; i++) {
			struct uffdio_copy c = { .dst = addrs[i],
				.src = (unsigned long)src, .len = page };

			if (ioctl(fd, UFFDIO_COPY, &c) && errno != EEXIST)
				fail("UFFDIO_COPY");
			copies++;
		}
		spent += now_ns() - t0;
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("threads=%d rounds=%d copies=%ld ns_per_resolve=%.0f\n",
	       nthreads, rounds, copies, spent / copies);
	return 0;
}
