/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userfaultfd selftests share: system-call wrappers, the
 * reference page pattern, a monitor thread, a faulting thread, fd
 * passing, and the "uffd" fixture (a ready fd and NPAGES of anonymous
 * memory).  One test program per feature includes it.
 *
 * Each test runs in its own child under the harness timeout, so a fault
 * that never wakes fails the test instead of hanging the run.
 */
#ifndef UFFD_TEST_H
#define UFFD_TEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"

#define NPAGES		64
#ifndef UFFD_FEATURE_EVENT_EXIT	/* our extension, absent from upstream headers */
#define UFFD_FEATURE_EVENT_EXIT	(1 << 30)
#define UFFD_EVENT_EXIT		0x80
#endif
#define EVENTS		(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
			 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)
/* Write-protect and minor faults need the architecture's help; x86-64 gives it. */
#ifdef __x86_64__
#define WP_FEATURES	(UFFD_FEATURE_PAGEFAULT_FLAG_WP | \
			 UFFD_FEATURE_WP_HUGETLBFS_SHMEM | \
			 UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_ASYNC)
#define MINOR_FEATURES	(UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MINOR_HUGETLBFS)
#else
#define WP_FEATURES	0
#define MINOR_FEATURES	0
#endif
#define SUPPORTED	(EVENTS | UFFD_FEATURE_EVENT_EXIT | \
			 UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MISSING_HUGETLBFS | \
			 UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID | \
			 UFFD_FEATURE_EXACT_ADDRESS | UFFD_FEATURE_POISON | \
			 UFFD_FEATURE_MOVE | MINOR_FEATURES | WP_FEATURES)
/* What REGISTER offers on PTE-mapped memory (hugetlbfs: no ZEROPAGE, MOVE). */
#define RANGE_IOCTLS	((1ULL << _UFFDIO_WAKE) | (1ULL << _UFFDIO_COPY) | \
			 (1ULL << _UFFDIO_ZEROPAGE) | (1ULL << _UFFDIO_POISON) | \
			 (1ULL << _UFFDIO_MOVE))
#define RANGE_IOCTLS_HUGE (RANGE_IOCTLS & ~((1ULL << _UFFDIO_ZEROPAGE) | \
					    (1ULL << _UFFDIO_MOVE)))

static size_t pgsz;

static inline int sys_userfaultfd(int flags)
{
	return syscall(__NR_userfaultfd, flags);
}

static inline int api(int fd, __u64 features)
{
	struct uffdio_api a = { .api = UFFD_API, .features = features };

	return ioctl(fd, UFFDIO_API, &a);
}

/* A ready userfaultfd (non-blocking unless @blocking). */
static inline int new_uffd(bool blocking, __u64 features)
{
	int fd = sys_userfaultfd(O_CLOEXEC | (blocking ? 0 : O_NONBLOCK));

	if (fd < 0)
		return -1;
	if (api(fd, features)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline int do_register(int fd, void *addr, size_t len, __u64 mode,
		       __u64 *ioctls)
{
	struct uffdio_register r = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = mode,
	};
	int ret = ioctl(fd, UFFDIO_REGISTER, &r);

	if (ioctls)
		*ioctls = r.ioctls;
	return ret;
}

static inline int do_unregister(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (unsigned long)addr, .len = len };

	return ioctl(fd, UFFDIO_UNREGISTER, &r);
}

static inline int do_copy(int fd, void *dst, const void *src, size_t len,
		   __u64 mode, __s64 *result)
{
	struct uffdio_copy c = {
		.dst = (unsigned long)dst, .src = (unsigned long)src,
		.len = len, .mode = mode, .copy = 0x5a5a,
	};
	int ret = ioctl(fd, UFFDIO_COPY, &c);

	if (result)
		*result = c.copy;
	return ret;
}

static inline int do_zeropage(int fd, void *dst, size_t len, __u64 mode,
		       __s64 *result)
{
	struct uffdio_zeropage z = {
		.range = { .start = (unsigned long)dst, .len = len },
		.mode = mode,
	};
	int ret = ioctl(fd, UFFDIO_ZEROPAGE, &z);

	if (result)
		*result = z.zeropage;
	return ret;
}

static inline int do_wake(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (unsigned long)addr, .len = len };

	return ioctl(fd, UFFDIO_WAKE, &r);
}

/* Page @idx of the reference data: every word tells where it belongs. */
static inline void fill_pattern(void *page, unsigned long idx)
{
	uint64_t *w = page;

	for (size_t i = 0; i < pgsz / sizeof(*w); i++)
		w[i] = (idx << 32) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xfeedULL;
}

static inline bool check_pattern(const void *page, unsigned long idx)
{
	const uint64_t *w = page;

	for (size_t i = 0; i < pgsz / sizeof(*w); i++)
		if (w[i] != ((idx << 32) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xfeedULL))
			return false;
	return true;
}

/* Wait up to @ms for a message; 1 read, 0 none, -1 error. */
static inline int read_msg(int fd, struct uffd_msg *msg, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		n = read(fd, msg, sizeof(*msg));
		if (n == sizeof(*msg))
			return 1;
		if (n >= 0 || errno != EAGAIN)
			return -1;
		n = poll(&p, 1, ms);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * A monitor thread: serves page faults on [base, base + len) with the
 * reference pattern until told to stop.
 */
struct monitor {
	int fd;
	char *base;
	size_t len;
	bool zero;		/* serve with ZEROPAGE instead of COPY */
	volatile bool stop;
	int served;		/* faults resolved by this monitor */
	int eexist;		/* faults already resolved by someone else */
	int errors;
	pthread_t thread;
};

/* Resolve the fault @msg reports, with @src (a page) as the buffer. */
static inline void monitor_serve(struct monitor *m, const struct uffd_msg *msg,
				 char *src)
{
	unsigned long off;
	int r;

	if (msg->event != UFFD_EVENT_PAGEFAULT) {
		m->errors++;
		return;
	}
	off = (msg->arg.pagefault.address & ~(pgsz - 1)) -
	      (unsigned long)m->base;
	if (off >= m->len) {
		m->errors++;
		return;
	}
	fill_pattern(src, off / pgsz);
	r = m->zero ? do_zeropage(m->fd, m->base + off, pgsz, 0, NULL)
		    : do_copy(m->fd, m->base + off, src, pgsz, 0, NULL);
	if (!r)
		m->served++;
	else if (errno == EEXIST)
		m->eexist++;	/* another monitor won the race */
	else
		m->errors++;
}

static inline void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	struct uffd_msg msg;
	char *src = aligned_alloc(pgsz, pgsz);
	int r;

	while (!m->stop) {
		r = read_msg(m->fd, &msg, 50);
		if (r < 0) {
			m->errors++;
			break;
		}
		if (r)
			monitor_serve(m, &msg, src);
	}
	free(src);
	return NULL;
}

static inline int monitor_start(struct monitor *m, int fd, void *base, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->base = base;
	m->len = len;
	return pthread_create(&m->thread, NULL, monitor_main, m);
}

static inline void monitor_stop(struct monitor *m)
{
	m->stop = true;
	pthread_join(m->thread, NULL);
}

/* Touch (read) every page of [base, base + len). */
static inline unsigned long touch_all(const char *base, size_t len)
{
	unsigned long sum = 0;

	for (size_t off = 0; off < len; off += pgsz)
		sum += *(volatile const char *)(base + off);
	return sum;
}

static void __attribute__((constructor)) init_pgsz(void)
{
	pgsz = sysconf(_SC_PAGESIZE);
}

struct toucher {
	char *addr;
	bool write;
	volatile int done;
	unsigned long value;
};

static inline void *toucher_main(void *arg)
{
	struct toucher *t = arg;

	if (t->write)
		*(volatile char *)t->addr = 7;
	else
		t->value = *(volatile unsigned char *)t->addr;
	t->done = 1;
	return NULL;
}

static inline bool wait_done(volatile int *flag, int ms)
{
	for (int i = 0; i < ms && !*flag; i++)
		usleep(1000);
	return *flag;
}

static inline size_t huge_page_size(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static inline int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static inline int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The rest of a message after its event-specific fields must be zero. */
static inline bool msg_tail_zero(const struct uffd_msg *m, size_t used)
{
	const unsigned char *arg = (const unsigned char *)&m->arg;

	if (m->reserved1 || m->reserved2 || m->reserved3)
		return false;
	for (size_t i = used; i < sizeof(m->arg); i++)
		if (arg[i])
			return false;
	return true;
}

/* Run fn(arg) in a thread; the caller joins th and reads ret. */
struct job {
	pthread_t th;
	void *(*fn)(void *arg);
	void *arg;
	volatile int done;
	long ret;
};

static inline void *job_main(void *p)
{
	struct job *j = p;

	j->ret = (long)j->fn(j->arg);
	j->done = 1;
	return NULL;
}

static inline int job_start(struct job *j, void *(*fn)(void *), void *arg)
{
	j->fn = fn;
	j->arg = arg;
	j->done = 0;
	return pthread_create(&j->th, NULL, job_main, j);
}

/* Wait until a message is queued, without reading it. */
static inline bool msg_queued(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/*
 * Fork a target process that opens a userfaultfd with @features, hands
 * it to us (*fd), then runs @body (if any) and exits.  Return: its pid.
 */
static inline pid_t spawn_target(__u64 features, void (*body)(int ufd), int *fd)
{
	int sv[2], ufd;
	pid_t pid;

	*fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		ufd = new_uffd(false, features);
		if (ufd < 0 || send_fd(sv[1], ufd))
			_exit(1);
		if (body)
			body(ufd);
		_exit(0);
	}
	if (pid > 0)
		*fd = recv_fd(sv[0]);
	close(sv[0]);
	close(sv[1]);
	return pid;
}

FIXTURE(uffd) {
	int fd;
	char *area;
	size_t len;
};

FIXTURE_SETUP(uffd)
{
	self->len = NPAGES * pgsz;
	self->fd = new_uffd(false, 0);
	ASSERT_LE(0, self->fd);
	self->area = map_anon(self->len);
	ASSERT_NE(NULL, self->area);
}

FIXTURE_TEARDOWN(uffd)
{
	close(self->fd);
	munmap(self->area, self->len);
}

/* This process's /proc/self/pagemap entry for @addr (0 if unreadable). */
#define PM_UFFD_WP	(1ULL << 57)
#define PM_PRESENT	(1ULL << 63)
static inline uint64_t pagemap_entry(void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (unsigned long)addr / pgsz * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	return entry;
}

/* The text of @fd's /proc/self/fdinfo entry, into @buf; false if none. */
static inline bool read_fdinfo(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int info;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = open(path, O_RDONLY);
	if (info < 0)
		return false;
	n = read(info, buf, size - 1);
	close(info);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}

/* A buffer nobody may write to: reads into it fail with EFAULT. */
static inline void *bad_buffer(void)
{
	void *p = mmap(NULL, pgsz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Split the address space into @nvmas more VMAs (alternating protection
 * keeps them from merging): registering an exit watch, which takes the
 * lock of every VMA, then takes long enough to be interrupted or raced.
 */
static inline int fragment_address_space(int nvmas)
{
	char *p = mmap(NULL, 2 * nvmas * pgsz, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	for (int i = 0; i < nvmas; i++)
		if (mprotect(p + 2 * i * pgsz, pgsz, PROT_READ | PROT_WRITE))
			return -1;
	return 0;
}

#endif /* UFFD_TEST_H */
