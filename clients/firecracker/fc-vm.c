// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM side of a Firecracker-style snapshot restore, without the VM:
 * what Firecracker does with guest memory when it loads a snapshot with
 * the "Uffd" memory backend, and what the guest then does to it.
 *
 *	fc-vm snapshot FILE MIB
 *		writes a snapshot memory file: every 64-bit word holds a
 *		function of its offset, so any page can be checked alone.
 *	fc-vm restore SOCKET MIB 4k|2m THREADS
 *		maps MIB of guest memory as two regions (anonymous, or 2 MiB
 *		hugetlb pages), creates a userfaultfd with UFFD_FEATURE_EVENT_REMOVE,
 *		registers the regions for missing faults and sends the fd and
 *		their description (Firecracker's JSON) to the handler over the
 *		socket.  THREADS "vCPUs" then read every page of the snapshot,
 *		each its own pages in its own order, check them, write them and
 *		check their writes; meanwhile a "balloon" thread reads a range,
 *		gives it back with MADV_DONTNEED, gives back a range never
 *		touched, and checks both read as zeros afterwards.
 *
 * It prints what the handler must have served ("fc-vm: expect ..."),
 * which the scenario compares with what the handler says it served.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif

static uint64_t page_size, nr_pages, mem_size;
static uint8_t *region[2];		/* each holds half of guest memory */
static uint64_t balloon_first, balloon_pages;	/* B, then C, after it */
static int nr_threads;
static unsigned long verified, zero_verified;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fc-vm: FAIL: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	_exit(1);
}


/* The snapshot's word at file offset @off (splitmix64 of it). */
static uint64_t pattern(uint64_t off)
{
	uint64_t z = off + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Guest page @p, at file offset p * page_size. */
static uint64_t *page_addr(uint64_t p)
{
	uint64_t half = nr_pages / 2;

	return (uint64_t *)(region[p >= half] + (p % half) * page_size);
}

static bool in_balloon(uint64_t p)
{
	return p >= balloon_first && p < balloon_first + 2 * balloon_pages;
}

static void check_page(uint64_t p, bool written)
{
	uint64_t *w = page_addr(p), off = p * page_size;

	for (uint64_t i = 0; i < page_size / 8; i++) {
		uint64_t want = pattern(off + i * 8);

		if (written && i == 0)
			want = ~p;
		if (w[i] != want)
			die("page %" PRIu64 " word %" PRIu64 ": %#" PRIx64
			    " instead of %#" PRIx64, p, i, w[i], want);
	}
}

static void check_zero(uint64_t p)
{
	uint64_t *w = page_addr(p);

	for (uint64_t i = 0; i < page_size / 8; i++)
		if (w[i])
			die("given-back page %" PRIu64 " word %" PRIu64
			    " is %#" PRIx64 ", not zero", p, i, w[i]);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A vCPU: its pages (p % nr_threads == id) in a scattered order. */
static void *vcpu(void *arg)
{
	uint64_t id = (uintptr_t)arg, mine = 0, stride = 7919, n, p;
	unsigned long done = 0;

	for (p = id; p < nr_pages; p += nr_threads)
		mine++;
	while (gcd(stride, mine) != 1)
		stride += 2;
	for (int pass = 0; pass < 2; pass++) {
		for (n = 0; n < mine; n++) {
			p = id + ((n * stride) % mine) * nr_threads;
			if (in_balloon(p))
				continue;
			check_page(p, pass);
			if (!pass) {
				page_addr(p)[0] = ~p;
				done++;
			}
		}
	}
	pthread_mutex_lock(&count_lock);
	verified += done;
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

/* The balloon: B is read, then given back; C is given back unread. */
static void *balloon(void *arg)
{
	uint64_t p, len = balloon_pages * page_size;

	for (p = balloon_first; p < balloon_first + balloon_pages; p++)
		check_page(p, false);
	if (madvise(page_addr(balloon_first), len, MADV_DONTNEED))
		die("MADV_DONTNEED: %s", strerror(errno));
	if (madvise(page_addr(balloon_first + balloon_pages), len,
		    MADV_DONTNEED))
		die("MADV_DONTNEED: %s", strerror(errno));
	for (p = balloon_first; p < balloon_first + 2 * balloon_pages; p++)
		check_zero(p);
	pthread_mutex_lock(&count_lock);
	verified += balloon_pages;
	zero_verified += 2 * balloon_pages;
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

static int send_to_handler(const char *path, int uffd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char body[1024], cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { body, 0 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int sock, tries;

	/* Firecracker's GuestRegionUffdMapping, one per region. */
	iov.iov_len = snprintf(body, sizeof(body),
		"[{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
		",\"offset\":0,\"page_size\":%" PRIu64 "},"
		"{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
		",\"offset\":%" PRIu64 ",\"page_size\":%" PRIu64 "}]",
		(uint64_t)(uintptr_t)region[0], mem_size / 2, page_size,
		(uint64_t)(uintptr_t)region[1], mem_size / 2, mem_size / 2,
		page_size);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));

	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		die("socket: %s", strerror(errno));
	for (tries = 0; connect(sock, (void *)&sa, sizeof(sa)); tries++) {
		if (tries == 300)
			die("connect %s: %s", path, strerror(errno));
		usleep(100000);
	}
	if (sendmsg(sock, &mh, 0) != (ssize_t)iov.iov_len)
		die("sendmsg: %s", strerror(errno));
	/* Kept open: the handler serves until it sees us go. */
	return sock;
}

/*
 * Like Firecracker we keep our copy of the userfaultfd, so a handler that
 * dies leaves our faults parked for good: watch the socket instead.
 */
static void *watch_handler(void *arg)
{
	char c;

	if (recv((int)(intptr_t)arg, &c, 1, 0) <= 0)
		die("the handler went away (see its log)");
	return NULL;
}

static int restore(const char *sock, const char *kind)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE,
	};
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	pthread_t th[64], bt, wt;
	int uffd, sock_fd, i;

	if (!strcmp(kind, "2m")) {
		page_size = 2UL << 20;
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	} else {
		page_size = getpagesize();
	}
	nr_pages = mem_size / page_size;
	if (nr_pages < 16 || nr_pages % 2 || nr_threads < 1 ||
	    nr_threads > 64 || (uint64_t)nr_threads > nr_pages)
		die("bad size or thread count");
	/* B and C: two ranges of 1/16 of memory each, in the second region. */
	balloon_pages = nr_pages / 16;
	balloon_first = nr_pages * 5 / 8;

	for (i = 0; i < 2; i++) {
		region[i] = mmap(NULL, mem_size / 2, PROT_READ | PROT_WRITE,
				 flags, -1, 0);
		if (region[i] == MAP_FAILED)
			die("mmap %s guest memory: %s", kind, strerror(errno));
	}

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		die("userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api))
		die("UFFDIO_API with EVENT_REMOVE: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		struct uffdio_register reg = {
			.range = { (uintptr_t)region[i], mem_size / 2 },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			die("UFFDIO_REGISTER: %s", strerror(errno));
		if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)))
			die("no UFFDIO_COPY on %s memory", kind);
	}
	sock_fd = send_to_handler(sock, uffd);
	if (pthread_create(&wt, NULL, watch_handler, (void *)(intptr_t)sock_fd))
		die("pthread_create");
	if (pthread_create(&bt, NULL, balloon, NULL))
		die("pthread_create");
	for (i = 0; i < nr_threads; i++)
		if (pthread_create(&th[i], NULL, vcpu, (void *)(uintptr_t)i))
			die("pthread_create");
	for (i = 0; i < nr_threads; i++)
		pthread_join(th[i], NULL);
	pthread_join(bt, NULL);

	if (verified != nr_pages - balloon_pages)
		die("verified %lu pages of %" PRIu64, verified,
		    nr_pages - balloon_pages);
	printf("fc-vm: %d vCPU threads checked %lu %s pages of the snapshot and %lu given-back pages read as zeros\n",
	       nr_threads, verified, kind, zero_verified);
	printf("fc-vm: expect copied=%" PRIu64 " zeroed=%" PRIu64
	       " removes=2 removed_pages=%" PRIu64 "\n",
	       nr_pages - balloon_pages, 2 * balloon_pages,
	       2 * balloon_pages);
	return 0;
}

static int snapshot(const char *path)
{
	uint64_t buf[512];
	FILE *f = fopen(path, "w");

	if (!f)
		die("%s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < mem_size; off += sizeof(buf)) {
		for (int i = 0; i < 512; i++)
			buf[i] = pattern(off + i * 8);
		if (fwrite(buf, sizeof(buf), 1, f) != 1)
			die("writing %s", path);
	}
	if (fclose(f))
		die("writing %s: %s", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "snapshot")) {
		mem_size = strtoull(argv[3], NULL, 0) << 20;
		return snapshot(argv[2]);
	}
	if (argc == 6 && !strcmp(argv[1], "restore")) {
		mem_size = strtoull(argv[3], NULL, 0) << 20;
		nr_threads = atoi(argv[5]);
		return restore(argv[2], argv[4]);
	}
	fprintf(stderr, "usage: %s snapshot FILE MIB\n"
		"       %s restore SOCKET MIB 4k|2m THREADS\n",
		argv[0], argv[0]);
	return 2;
}
