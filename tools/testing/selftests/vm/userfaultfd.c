// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: the API handshake, registration, COPY/ZEROPAGE/
 * WAKE, read and poll, the fault path under concurrency, and lifetimes
 * (close while faulting, target exit, fork).
 *
 * Each test runs in its own child under the harness timeout, so a fault
 * that never wakes fails the test instead of hanging the run.
 */
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"

#define NPAGES		64
#ifndef UFFD_FEATURE_EVENT_EXIT	/* our extension, absent from upstream headers */
#define UFFD_FEATURE_EVENT_EXIT	(1 << 30)
#define UFFD_EVENT_EXIT		0x80
#endif
#define EVENTS		(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
			 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)
#define SUPPORTED	(EVENTS | UFFD_FEATURE_EVENT_EXIT | \
			 UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MISSING_HUGETLBFS | \
			 UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID | \
			 UFFD_FEATURE_EXACT_ADDRESS)
#define RANGE_IOCTLS	((1ULL << _UFFDIO_WAKE) | (1ULL << _UFFDIO_COPY) | \
			 (1ULL << _UFFDIO_ZEROPAGE))

static size_t pgsz;

static int sys_userfaultfd(int flags)
{
	return syscall(__NR_userfaultfd, flags);
}

static int api(int fd, __u64 features)
{
	struct uffdio_api a = { .api = UFFD_API, .features = features };

	return ioctl(fd, UFFDIO_API, &a);
}

/* A ready userfaultfd (non-blocking unless @blocking). */
static int new_uffd(bool blocking, __u64 features)
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

static char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int do_register(int fd, void *addr, size_t len, __u64 mode,
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

static int do_unregister(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (unsigned long)addr, .len = len };

	return ioctl(fd, UFFDIO_UNREGISTER, &r);
}

static int do_copy(int fd, void *dst, const void *src, size_t len,
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

static int do_zeropage(int fd, void *dst, size_t len, __u64 mode,
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

static int do_wake(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (unsigned long)addr, .len = len };

	return ioctl(fd, UFFDIO_WAKE, &r);
}

/* Page @idx of the reference data: every word tells where it belongs. */
static void fill_pattern(void *page, unsigned long idx)
{
	uint64_t *w = page;

	for (size_t i = 0; i < pgsz / sizeof(*w); i++)
		w[i] = (idx << 32) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xfeedULL;
}

static bool check_pattern(const void *page, unsigned long idx)
{
	const uint64_t *w = page;

	for (size_t i = 0; i < pgsz / sizeof(*w); i++)
		if (w[i] != ((idx << 32) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xfeedULL))
			return false;
	return true;
}

/* Wait up to @ms for a message; 1 read, 0 none, -1 error. */
static int read_msg(int fd, struct uffd_msg *msg, int ms)
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

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	struct uffd_msg msg;
	char *src = aligned_alloc(pgsz, pgsz);
	unsigned long off;
	int r;

	while (!m->stop) {
		r = read_msg(m->fd, &msg, 50);
		if (r < 0) {
			m->errors++;
			break;
		}
		if (!r)
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			m->errors++;
			continue;
		}
		off = (msg.arg.pagefault.address & ~(pgsz - 1)) -
		      (unsigned long)m->base;
		if (off >= m->len) {
			m->errors++;
			continue;
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
	free(src);
	return NULL;
}

static int monitor_start(struct monitor *m, int fd, void *base, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->base = base;
	m->len = len;
	return pthread_create(&m->thread, NULL, monitor_main, m);
}

static void monitor_stop(struct monitor *m)
{
	m->stop = true;
	pthread_join(m->thread, NULL);
}

/* Touch (read) every page of [base, base + len). */
static unsigned long touch_all(const char *base, size_t len)
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

/* ---- creation and the API handshake ------------------------------------ */

TEST(create_flags)
{
	int fd;

	fd = sys_userfaultfd(~(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(EINVAL, errno);

	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	close(fd);

	fd = sys_userfaultfd(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	fd = sys_userfaultfd(UFFD_USER_MODE_ONLY);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST(dev_userfaultfd)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	int fd;

	if (dev < 0)
		SKIP(return, "/dev/userfaultfd: %s", strerror(errno));
	ASSERT_EQ(-1, ioctl(dev, _IO(USERFAULTFD_IOC, 0x01), 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(dev, USERFAULTFD_IOC_NEW, ~0));
	ASSERT_EQ(EINVAL, errno);
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, api(fd, 0));
	close(fd);
	close(dev);
}

/*
 * Drop root to "nobody" (and with it CAP_SYS_PTRACE) in a child, create a
 * userfaultfd there and, with @features, do the handshake.
 */
static int unprivileged_create(int flags, __u64 features)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		fd = sys_userfaultfd(flags);
		if (fd >= 0 && features && api(fd, features))
			_exit(errno);
		_exit(fd >= 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int write_sysctl(const char *val)
{
	int fd = open("/proc/sys/vm/unprivileged_userfaultfd", O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

TEST(unprivileged_sysctl)
{
	char old[8] = "";
	int fd = open("/proc/sys/vm/unprivileged_userfaultfd", O_RDONLY);

	if (fd < 0 || geteuid() != 0)
		SKIP(return, "needs root and vm.unprivileged_userfaultfd");
	ASSERT_LT(0, read(fd, old, sizeof(old) - 1));
	close(fd);
	ASSERT_EQ('0', old[0]);	/* upstream's default */

	/* Kernel-mode fault handling needs privilege ... */
	ASSERT_EQ(EPERM, unprivileged_create(0, 0));
	/* ... user-mode-only does not ... */
	ASSERT_EQ(0, unprivileged_create(UFFD_USER_MODE_ONLY, 0));
	ASSERT_EQ(0, unprivileged_create(UFFD_USER_MODE_ONLY,
					 UFFD_FEATURE_EVENT_REMAP));
	/* ... but fork events hand over another process: like ptrace. */
	ASSERT_EQ(EPERM, unprivileged_create(UFFD_USER_MODE_ONLY,
					     UFFD_FEATURE_EVENT_FORK));

	ASSERT_EQ(0, write_sysctl("1"));
	EXPECT_EQ(0, unprivileged_create(0, 0));
	ASSERT_EQ(0, write_sysctl("0"));
	ASSERT_EQ(-1, write_sysctl("2"));	/* out of range */
}

TEST(api_handshake)
{
	struct uffdio_api a;
	int fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	char buf[sizeof(struct uffd_msg)];
	struct pollfd p = { .events = POLLIN };

	ASSERT_LE(0, fd);
	p.fd = fd;

	/* Nothing but UFFDIO_API works before the handshake. */
	ASSERT_EQ(-1, do_register(fd, buf, pgsz, UFFDIO_REGISTER_MODE_MISSING,
				  NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLERR, p.revents);

	/* A wrong API number is refused, and the struct comes back zeroed. */
	memset(&a, 0xff, sizeof(a));
	a.api = UFFD_API + 1;
	a.features = 0;
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_API, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, a.api);
	ASSERT_EQ(0, a.features);
	ASSERT_EQ(0, a.ioctls);

	/* So is a feature that is not implemented. */
	a = (struct uffdio_api){ .api = UFFD_API,
				 .features = UFFD_FEATURE_MINOR_SHMEM };
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_API, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, a.features);
	a = (struct uffdio_api){ .api = UFFD_API, .features = 1ULL << 40 };
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_API, &a));
	ASSERT_EQ(EINVAL, errno);

	/* Failed attempts do not use up the handshake. */
	a = (struct uffdio_api){ .api = UFFD_API, .features = 0 };
	ASSERT_EQ(0, ioctl(fd, UFFDIO_API, &a));
	ASSERT_EQ(UFFD_API, a.api);
	ASSERT_EQ(SUPPORTED, a.features);	/* exactly what is implemented */
	ASSERT_EQ((1ULL << _UFFDIO_REGISTER) | (1ULL << _UFFDIO_UNREGISTER) |
		  (1ULL << _UFFDIO_API), a.ioctls);

	/* Once per fd. */
	a = (struct uffdio_api){ .api = UFFD_API, .features = 0 };
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_API, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, a.api);

	/* Unknown ioctls, and unimplemented ones, are refused. */
	ASSERT_EQ(-1, ioctl(fd, _IOWR(UFFDIO, 0x30, struct uffdio_range), buf));
	ASSERT_EQ(EINVAL, errno);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_WRITEPROTECT, buf));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_CONTINUE, buf));
	ASSERT_EQ(EINVAL, errno);

	/* A bad pointer is a fault, not a crash. */
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_REGISTER, (void *)8));
	ASSERT_EQ(EFAULT, errno);
	close(fd);

	fd = sys_userfaultfd(O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_API, (void *)8));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, api(fd, SUPPORTED));
	close(fd);
}

TEST(fdinfo)
{
	char path[64], text[512];
	int fd = new_uffd(false, UFFD_FEATURE_THREAD_ID);
	int info;
	ssize_t n;

	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = open(path, O_RDONLY);
	ASSERT_LE(0, info);
	n = read(info, text, sizeof(text) - 1);
	ASSERT_LT(0, n);
	text[n] = 0;
	EXPECT_NE(NULL, strstr(text, "pending:\t0\n"));
	EXPECT_NE(NULL, strstr(text, "total:\t0\n"));
	EXPECT_NE(NULL, strstr(text, "API:\taa:100:"));
	close(info);
	close(fd);
}

/* ---- registration ------------------------------------------------------ */

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

TEST_F(uffd, register_errors)
{
	int fd = self->fd, other, memfd, rofd;
	char *a = self->area, *file;
	char path[64];
	__u64 ioctls = 0;

	/* Modes: none, unknown, or not implemented. */
	ASSERT_EQ(-1, do_register(fd, a, pgsz, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, pgsz, 1ULL << 5, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MINOR, NULL));
	ASSERT_EQ(EINVAL, errno);

	/* Ranges: unaligned, empty, overflowing, beyond the address space. */
	ASSERT_EQ(-1, do_register(fd, a + 1, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, pgsz + 1, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, 0, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, -pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, (void *)(1UL << 62), pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);

	/* No VMA in the range at all. */
	ASSERT_EQ(0, munmap(a + 10 * pgsz, pgsz));
	ASSERT_EQ(-1, do_register(fd, a + 10 * pgsz, pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);

	/* Memory this implementation does not handle: an ordinary file. */
	memfd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, memfd);
	file = mmap(NULL, pgsz, PROT_READ, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, file);
	ASSERT_EQ(-1, do_register(fd, file, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	munmap(file, pgsz);
	close(memfd);

	/* A shared mapping that may never be written: EPERM. */
	memfd = memfd_create("uffd-test", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, pgsz));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	rofd = open(path, O_RDONLY);
	ASSERT_LE(0, rofd);
	file = mmap(NULL, pgsz, PROT_READ, MAP_SHARED, rofd, 0);
	ASSERT_NE(MAP_FAILED, file);
	ASSERT_EQ(-1, do_register(fd, file, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EPERM, errno);
	munmap(file, pgsz);
	close(rofd);
	close(memfd);

	/* A range with a hole registers what is there. */
	ASSERT_EQ(0, do_register(fd, a + 9 * pgsz, 3 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, &ioctls));
	ASSERT_EQ(RANGE_IOCTLS, ioctls);

	/* Registered with another context: busy, and nothing changed. */
	other = new_uffd(false, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(-1, do_register(other, a, 10 * pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, do_register(other, a, 9 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, &ioctls));
	close(other);

	/* Registering again with the same context is fine. */
	ASSERT_EQ(0, do_register(fd, a + 9 * pgsz, pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));

	/* Unregister: same range checks. */
	ASSERT_EQ(-1, do_unregister(fd, a + 1, pgsz));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_unregister(fd, a, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_unregister(fd, a + 10 * pgsz, pgsz));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_unregister(fd, a, self->len));

	/* WAKE: same range checks. */
	ASSERT_EQ(-1, do_wake(fd, a + 1, pgsz));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_wake(fd, a, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_wake(fd, a, pgsz));
}

TEST_F(uffd, unregister_stops_faults)
{
	char *a = self->area;

	ASSERT_EQ(0, do_register(self->fd, a, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* Unregister the middle: the VMA splits, the rest stays registered. */
	ASSERT_EQ(0, do_unregister(self->fd, a + pgsz, 2 * pgsz));
	ASSERT_EQ(0, a[pgsz]);		/* no fault raised: zero page */
	ASSERT_EQ(0, a[2 * pgsz + 7]);
	a[pgsz] = 1;
	/* Page 0 is still registered: COPY works there ... */
	ASSERT_EQ(0, do_zeropage(self->fd, a, pgsz, 0, NULL));
	/* ... but not on the unregistered part. */
	ASSERT_EQ(-1, do_zeropage(self->fd, a + 2 * pgsz, pgsz, 0, NULL));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, do_unregister(self->fd, a, self->len));
	ASSERT_EQ(0, touch_all(a + 3 * pgsz, self->len - 3 * pgsz));
}

/* ---- COPY, ZEROPAGE, WAKE ---------------------------------------------- */

TEST_F(uffd, copy_errors)
{
	char *a = self->area, *src = map_anon(4 * pgsz);
	__s64 res;

	ASSERT_NE(NULL, src);
	/* Not registered: ENOENT, reported in the struct too. */
	ASSERT_EQ(-1, do_copy(self->fd, a, src, pgsz, 0, &res));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-ENOENT, res);

	ASSERT_EQ(0, do_register(self->fd, a, 8 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* Bad mode, bad ranges: the struct is left alone. */
	ASSERT_EQ(-1, do_copy(self->fd, a, src, pgsz, 1ULL << 7, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, res);
	ASSERT_EQ(-1, do_copy(self->fd, a, src, pgsz, UFFDIO_COPY_MODE_WP, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_copy(self->fd, a + 1, src, pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_copy(self->fd, a, src, pgsz - 1, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_copy(self->fd, a, src, 0, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_copy(self->fd, a, (void *)-pgsz, pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	/* The range runs past the registered VMA. */
	ASSERT_EQ(-1, do_copy(self->fd, a + 7 * pgsz, src, 2 * pgsz, 0, &res));
	ASSERT_EQ(ENOENT, errno);
	/* The source is not readable. */
	ASSERT_EQ(-1, do_copy(self->fd, a, (void *)pgsz, pgsz, 0, &res));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, res);

	/* Populated: EEXIST; partial progress is reported, then EAGAIN. */
	ASSERT_EQ(0, do_copy(self->fd, a + 2 * pgsz, src, pgsz, 0, &res));
	ASSERT_EQ(0, res - pgsz);
	ASSERT_EQ(-1, do_copy(self->fd, a + 2 * pgsz, src, pgsz, 0, &res));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-EEXIST, res);
	ASSERT_EQ(-1, do_copy(self->fd, a, src, 4 * pgsz, 0, &res));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(2 * pgsz, res);
	munmap(src, 4 * pgsz);
}

TEST_F(uffd, copy_integrity)
{
	char *a = self->area, *src = map_anon(self->len);
	char *unaligned = malloc(pgsz * 3 + 1);
	__s64 res;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, unaligned);
	for (int i = 0; i < NPAGES; i++)
		fill_pattern(src + i * pgsz, i);
	ASSERT_EQ(0, do_register(self->fd, a, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* Half in one call, the rest page by page. */
	ASSERT_EQ(0, do_copy(self->fd, a, src, self->len / 2, 0, &res));
	ASSERT_EQ(self->len / 2, res);
	for (int i = NPAGES / 2; i < NPAGES - 1; i++)
		ASSERT_EQ(0, do_copy(self->fd, a + i * pgsz, src + i * pgsz,
				     pgsz, 0, NULL));
	/* An unaligned source is fine. */
	memcpy(unaligned + 1, src + (NPAGES - 1) * pgsz, pgsz);
	ASSERT_EQ(0, do_copy(self->fd, a + (NPAGES - 1) * pgsz, unaligned + 1,
			     pgsz, 0, NULL));
	for (int i = 0; i < NPAGES; i++)
		ASSERT_TRUE(check_pattern(a + i * pgsz, i));
	/* The pages are ordinary private memory now. */
	a[0] ^= 1;
	ASSERT_FALSE(check_pattern(a, 0));
	free(unaligned);
	munmap(src, self->len);
}

TEST_F(uffd, copy_source_not_resident)
{
	char *a = self->area, *src = map_anon(4 * pgsz);
	__s64 res;

	/* The kernel must fault the source in itself. */
	ASSERT_NE(NULL, src);
	ASSERT_EQ(0, do_register(self->fd, a, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, do_copy(self->fd, a, src, 4 * pgsz, 0, &res));
	ASSERT_EQ(4 * pgsz, res);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, a[i * pgsz + 5]);
	munmap(src, 4 * pgsz);
}

TEST_F(uffd, zeropage)
{
	char *a = self->area;
	__s64 res;

	ASSERT_EQ(-1, do_zeropage(self->fd, a, pgsz, 0, &res));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, do_register(self->fd, a, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_zeropage(self->fd, a, pgsz, 1ULL << 3, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_zeropage(self->fd, a + 1, pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_zeropage(self->fd, a, 4 * pgsz, 0, &res));
	ASSERT_EQ(4 * pgsz, res);
	ASSERT_EQ(0, touch_all(a, 4 * pgsz));
	ASSERT_EQ(-1, do_zeropage(self->fd, a + 3 * pgsz, pgsz, 0, &res));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-EEXIST, res);
	/* Writing to a zero page gives a private copy. */
	a[pgsz] = 42;
	ASSERT_EQ(42, a[pgsz]);
	ASSERT_EQ(0, a[2 * pgsz]);
}

/* ---- the fault path ---------------------------------------------------- */

struct toucher {
	char *addr;
	bool write;
	volatile int done;
	unsigned long value;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;

	if (t->write)
		*(volatile char *)t->addr = 7;
	else
		t->value = *(volatile unsigned char *)t->addr;
	t->done = 1;
	return NULL;
}

static bool wait_done(volatile int *flag, int ms)
{
	for (int i = 0; i < ms && !*flag; i++)
		usleep(1000);
	return *flag;
}

TEST_F(uffd, fault_message)
{
	struct toucher t = { .addr = self->area + 5 * pgsz + 123, .write = true };
	struct uffd_msg msg;
	pthread_t th;
	char pat[4096] __attribute__((aligned(4096)));

	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_EQ(0, msg.reserved1);
	EXPECT_EQ(0, msg.reserved2);
	EXPECT_EQ(0, msg.reserved3);
	/* Page-aligned by default; a write; no thread id unless asked. */
	EXPECT_EQ((unsigned long)self->area + 5 * pgsz, msg.arg.pagefault.address);
	EXPECT_EQ(UFFD_PAGEFAULT_FLAG_WRITE, msg.arg.pagefault.flags);
	EXPECT_EQ(0, msg.arg.pagefault.feat.ptid);
	/* The fault is parked until resolved. */
	usleep(100000);
	ASSERT_EQ(0, t.done);
	ASSERT_LE(pgsz, sizeof(pat));
	memset(pat, 3, pgsz);
	ASSERT_EQ(0, do_copy(self->fd, self->area + 5 * pgsz, pat, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(1, t.done);
	ASSERT_EQ(7, self->area[5 * pgsz + 123]);
	ASSERT_EQ(3, self->area[5 * pgsz + 124]);
}

TEST(fault_message_features)
{
	char *a = map_anon(pgsz);
	int fd = new_uffd(false, UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS);
	struct toucher t = { .addr = a + 321, .write = false };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	EXPECT_EQ((unsigned long)a + 321, msg.arg.pagefault.address);
	EXPECT_EQ(0, msg.arg.pagefault.flags);	/* a read */
	EXPECT_NE(0, msg.arg.pagefault.feat.ptid);
	EXPECT_NE(getpid(), msg.arg.pagefault.feat.ptid);
	ASSERT_EQ(0, do_zeropage(fd, a, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0, t.value);
	close(fd);
}

TEST_F(uffd, read_semantics)
{
	struct toucher t[3];
	pthread_t th[3];
	struct uffd_msg msgs[4];
	char small[sizeof(struct uffd_msg) - 1];
	ssize_t n;
	int got = 0;

	/* Nothing queued: EAGAIN on a non-blocking fd. */
	ASSERT_EQ(-1, read(self->fd, msgs, sizeof(msgs[0])));
	ASSERT_EQ(EAGAIN, errno);
	/* A buffer smaller than one message. */
	ASSERT_EQ(-1, read(self->fd, small, sizeof(small)));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < 3; i++) {
		t[i] = (struct toucher){ .addr = self->area + i * 2 * pgsz };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, toucher_main, &t[i]));
	}
	/* Several messages in one read, never a partial one. */
	while (got < 3) {
		struct pollfd p = { .fd = self->fd, .events = POLLIN };

		ASSERT_EQ(1, poll(&p, 1, 5000));
		n = read(self->fd, msgs, sizeof(msgs) - 1);
		ASSERT_LT(0, n);
		ASSERT_EQ(0, n % sizeof(msgs[0]));
		ASSERT_GE(3 * sizeof(msgs[0]), n);
		got += n / sizeof(msgs[0]);
	}
	ASSERT_EQ(3, got);
	/* Read faults are not read twice. */
	ASSERT_EQ(-1, read(self->fd, msgs, sizeof(msgs)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, do_zeropage(self->fd, self->area, self->len, 0, NULL));
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
}

TEST(blocking_read_and_poll)
{
	char *a = map_anon(pgsz);
	int fd = new_uffd(true, 0);
	struct pollfd p;
	struct uffd_msg msg;
	struct toucher t;
	pthread_t th;

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	t = (struct toucher){ .addr = a };
	/* poll on a blocking fd is an error: read could block forever. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLERR, p.revents);

	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	/* A blocking read waits for the fault. */
	ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)));
	ASSERT_EQ((unsigned long)a, msg.arg.pagefault.address);

	/* Non-blocking now: poll says nothing, then POLLIN for a fault. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	p.revents = 0;
	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, do_zeropage(fd, a, pgsz, 0, NULL));
	pthread_join(th, NULL);
	close(fd);
}

TEST(blocking_read_signal)
{
	int fd = new_uffd(true, 0);
	struct uffd_msg msg;
	pid_t pid;
	int status;

	/* A blocked reader is interruptible, and killable. */
	ASSERT_LE(0, fd);
	pid = fork();
	if (pid == 0) {
		read(fd, &msg, sizeof(msg));
		_exit(0);
	}
	usleep(200000);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	close(fd);
}

TEST_F(uffd, dontwake_then_wake)
{
	struct toucher t = { .addr = self->area + pgsz };
	struct uffd_msg msg;
	pthread_t th;
	char pat[4096] __attribute__((aligned(4096)));

	ASSERT_LE(pgsz, sizeof(pat));
	fill_pattern(pat, 1);
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	/* Resolved but not woken: the thread stays parked. */
	ASSERT_EQ(0, do_copy(self->fd, self->area + pgsz, pat, pgsz,
			     UFFDIO_COPY_MODE_DONTWAKE, NULL));
	usleep(200000);
	ASSERT_EQ(0, t.done);
	/* Waking elsewhere does not wake it. */
	ASSERT_EQ(0, do_wake(self->fd, self->area, pgsz));
	ASSERT_EQ(0, do_wake(self->fd, self->area + 2 * pgsz, pgsz));
	usleep(200000);
	ASSERT_EQ(0, t.done);
	ASSERT_EQ(0, do_wake(self->fd, self->area, 2 * pgsz));
	pthread_join(th, NULL);
	ASSERT_TRUE(check_pattern(self->area + pgsz, 1));
}

TEST_F(uffd, dontwake_batch)
{
	enum { N = 8 };
	struct toucher t[N];
	pthread_t th[N];
	struct uffd_msg msg;
	int seen = 0;

	/* Resolve a batch with DONTWAKE, then one WAKE for all of it. */
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < N; i++) {
		t[i] = (struct toucher){ .addr = self->area + i * pgsz };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, toucher_main, &t[i]));
	}
	while (seen < N) {
		ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
		ASSERT_EQ(0, do_zeropage(self->fd,
				(void *)(unsigned long)msg.arg.pagefault.address,
				pgsz, UFFDIO_ZEROPAGE_MODE_DONTWAKE, NULL));
		seen++;
	}
	usleep(100000);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(0, t[i].done);
	ASSERT_EQ(0, do_wake(self->fd, self->area, N * pgsz));
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
}

TEST_F(uffd, resolved_before_read)
{
	struct toucher t = { .addr = self->area };
	pthread_t th;
	char path[64], text[256];
	int info;
	ssize_t n;

	/* A fault resolved without ever being read is woken all the same. */
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->fd);
	/* Wait until it is parked (fdinfo counts it). */
	for (int i = 0; i < 5000; i++) {
		info = open(path, O_RDONLY);
		ASSERT_LE(0, info);
		n = read(info, text, sizeof(text) - 1);
		close(info);
		ASSERT_LT(0, n);
		text[n] = 0;
		if (strstr(text, "pending:\t1\n"))
			break;
		usleep(1000);
	}
	ASSERT_NE(NULL, strstr(text, "total:\t1\n"));
	ASSERT_EQ(0, do_zeropage(self->fd, self->area, pgsz, 0, NULL));
	pthread_join(th, NULL);
	/* And its message is gone with it. */
	ASSERT_EQ(-1, read(self->fd, text, sizeof(struct uffd_msg)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(uffd, poll_pending)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	struct toucher t = { .addr = self->area };
	pthread_t th;

	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, poll(&p, 1, 5000));
	ASSERT_EQ(POLLIN, p.revents);
	ASSERT_EQ(0, do_zeropage(self->fd, self->area, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0, poll(&p, 1, 0));
}

static sigjmp_buf sigbus_env;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_env, 1);
}

TEST(sigbus_feature)
{
	char *a = map_anon(pgsz);
	int fd = new_uffd(false, UFFD_FEATURE_SIGBUS);
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct uffd_msg msg;
	volatile int reached = 0;

	/* With UFFD_FEATURE_SIGBUS a missing page is SIGBUS, not a wait. */
	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	if (!sigsetjmp(sigbus_env, 1)) {
		(void)*(volatile char *)a;
		reached = 1;
	}
	ASSERT_EQ(0, reached);
	/* No message was queued, and the page can still be filled. */
	ASSERT_EQ(-1, read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, do_zeropage(fd, a, pgsz, 0, NULL));
	ASSERT_EQ(0, *(volatile char *)a);
	close(fd);
}

/* A kernel-mode fault: read(2) writes into the registered page. */
struct kfault {
	char *addr;
	int pipe_rd;
	volatile int done;
	ssize_t ret;
	int err;
};

static void *kfault_main(void *arg)
{
	struct kfault *k = arg;

	k->ret = read(k->pipe_rd, k->addr, 16);
	k->err = errno;
	k->done = 1;
	return NULL;
}

static void kernel_fault_case(struct __test_metadata *_metadata, int flags)
{
	char *a = map_anon(pgsz);
	int fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | flags);
	struct kfault k = { .addr = a };
	struct uffd_msg msg;
	int pipefd[2];
	pthread_t th;

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, api(fd, 0));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(16, write(pipefd[1], "0123456789abcdef", 16));
	k.pipe_rd = pipefd[0];
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, kfault_main, &k));
	if (flags & UFFD_USER_MODE_ONLY) {
		/* Not ours to handle: the syscall fails with EFAULT. */
		pthread_join(th, NULL);
		ASSERT_EQ(-1, k.ret);
		ASSERT_EQ(EFAULT, k.err);
		ASSERT_EQ(-1, read(fd, &msg, sizeof(msg)));
		ASSERT_EQ(EAGAIN, errno);
	} else {
		/* Handled like any other fault. */
		ASSERT_EQ(1, read_msg(fd, &msg, 5000));
		ASSERT_EQ((unsigned long)a, msg.arg.pagefault.address);
		ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE, msg.arg.pagefault.flags);
		ASSERT_EQ(0, k.done);
		ASSERT_EQ(0, do_zeropage(fd, a, pgsz, 0, NULL));
		pthread_join(th, NULL);
		ASSERT_EQ(16, k.ret);
		ASSERT_EQ(0, memcmp(a, "0123456789abcdef", 16));
	}
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
}

TEST(kernel_fault)
{
	kernel_fault_case(_metadata, 0);
}

TEST(kernel_fault_user_mode_only)
{
	kernel_fault_case(_metadata, UFFD_USER_MODE_ONLY);
}

static volatile int usr1_seen;

static void on_usr1(int sig)
{
	usr1_seen++;
}

TEST_F(uffd, signal_while_parked)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct toucher t = { .addr = self->area };
	struct uffd_msg msg;
	pthread_t th;
	int n = 0;

	/* A signal runs its handler, then the access faults again. */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(0, pthread_kill(th, SIGUSR1));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));	/* faulted again */
	ASSERT_EQ(1, usr1_seen);
	ASSERT_EQ(0, t.done);
	ASSERT_EQ(0, do_zeropage(self->fd, self->area, pgsz, 0, NULL));
	pthread_join(th, NULL);
	/* Drain any duplicate, then nothing is left. */
	while (read(self->fd, &msg, sizeof(msg)) > 0 && n++ < 4)
		;
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(uffd, fatal_signal_while_parked)
{
	pid_t pid;
	int status;
	struct uffd_msg msg;

	/* The child parks on a fault nobody answers: SIGKILL must end it. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = new_uffd(false, 0);
		char *a = map_anon(pgsz);

		if (fd < 0 || !a ||
		    do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
			_exit(1);
		(void)*(volatile char *)a;	/* nobody will ever answer */
		_exit(2);
	}
	usleep(300000);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	ASSERT_EQ(-1, read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
}

/* ---- concurrency --------------------------------------------------------- */

struct worker {
	char *base;
	size_t len;
	int id, nworkers;
	int bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t npages = w->len / pgsz;

	/* Every worker reads every page, starting at its own offset. */
	for (size_t i = 0; i < npages; i++) {
		size_t page = (i + w->id * npages / w->nworkers) % npages;

		if (!check_pattern(w->base + page * pgsz, page))
			w->bad++;
	}
	return NULL;
}

TEST_F_TIMEOUT(uffd, many_threads_many_monitors, 120)
{
	enum { WORKERS = 16, MONITORS = 3, PAGES = 512 };
	size_t len = PAGES * pgsz;
	char *a = map_anon(len);
	struct monitor m[MONITORS];
	struct worker w[WORKERS];
	pthread_t th[WORKERS];
	int served = 0, eexist = 0;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	for (int i = 0; i < MONITORS; i++)
		ASSERT_EQ(0, monitor_start(&m[i], self->fd, a, len));
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ .base = a, .len = len, .id = i,
					.nworkers = WORKERS };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_main, &w[i]));
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].bad);
	}
	for (int i = 0; i < MONITORS; i++) {
		monitor_stop(&m[i]);
		EXPECT_EQ(0, m[i].errors);
		served += m[i].served;
		eexist += m[i].eexist;
	}
	/* Each page was resolved exactly once. */
	EXPECT_EQ(PAGES, served);
	for (int i = 0; i < PAGES; i++)
		ASSERT_TRUE(check_pattern(a + i * pgsz, i));
	TH_LOG("%d faults served, %d duplicate resolutions", served, eexist);
	munmap(a, len);
}

struct racer {
	char *base;
	int npages;
	volatile int next;	/* the page the toucher is about to touch */
	volatile bool quit;
};

static void *racer_touch(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < r->npages; i++) {
		r->next = i;
		if (!check_pattern(r->base + i * pgsz, i))
			return (void *)1;
	}
	r->quit = true;
	return NULL;
}

TEST_F_TIMEOUT(uffd, fault_races_copy, 120)
{
	enum { PAGES = 256 };
	size_t len = PAGES * pgsz;
	char *a = map_anon(len), *src = aligned_alloc(pgsz, pgsz);
	struct racer r = { .base = a, .npages = PAGES };
	struct uffd_msg msg;
	pthread_t th;
	void *ret;
	int copied = 0;

	/*
	 * Resolve each page as the toucher reaches it, without waiting for
	 * its message: some copies land before the fault parks, some after.
	 * The page-table check before sleeping must catch the first kind.
	 */
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, racer_touch, &r));
	for (int page = 0; page < PAGES; page++) {
		while (r.next < page && !r.quit)
			;
		fill_pattern(src, page);
		if (!do_copy(self->fd, a + page * pgsz, src, pgsz, 0, NULL))
			copied++;
		else
			ASSERT_EQ(EEXIST, errno);
		while (read(self->fd, &msg, sizeof(msg)) > 0)
			;
	}
	pthread_join(th, &ret);
	ASSERT_EQ(NULL, ret);
	ASSERT_EQ(PAGES, copied);
	free(src);
	munmap(a, len);
}

TEST_F_TIMEOUT(uffd, thp_range, 60)
{
	size_t len = 4UL << 20;
	char *raw = map_anon(len * 2), *a;
	struct monitor m;

	/* A THP-eligible range faults at PMD level first. */
	ASSERT_NE(NULL, raw);
	a = (char *)(((unsigned long)raw + len - 1) & ~(len - 1));
	madvise(a, len, MADV_HUGEPAGE);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	ASSERT_EQ(0, monitor_start(&m, self->fd, a, len));
	for (size_t i = 0; i < len / pgsz; i += 97)
		ASSERT_TRUE(check_pattern(a + i * pgsz, i));
	monitor_stop(&m);
	EXPECT_EQ(0, m.errors);
	munmap(raw, len * 2);
}

/* ---- shmem and hugetlbfs ----------------------------------------------- */

/* Fault at @addr from a thread, serve it with a pattern page, check it. */
static void serve_one(struct __test_metadata *_metadata, int fd, char *addr,
		      size_t size, unsigned long idx)
{
	struct toucher t = { .addr = addr + 17 };
	char *src = aligned_alloc(pgsz, size);
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_NE(NULL, src);
	for (size_t off = 0; off < size; off += pgsz)
		fill_pattern(src + off, idx + off / pgsz);
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ((unsigned long)addr, msg.arg.pagefault.address);
	usleep(20000);
	ASSERT_EQ(0, t.done);
	ASSERT_EQ(0, do_copy(fd, addr, src, size, 0, NULL));
	pthread_join(th, NULL);
	for (size_t off = 0; off < size; off += pgsz)
		ASSERT_TRUE(check_pattern(addr + off, idx + off / pgsz));
	free(src);
}

TEST_F(uffd, shmem_shared)
{
	int memfd = memfd_create("uffd-shmem", 0);
	size_t len = 8 * pgsz;
	char *a, *alias;
	__u64 ioctls = 0;
	__s64 res;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, len));
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 &ioctls));
	ASSERT_EQ(RANGE_IOCTLS, ioctls);

	/* The page goes into the file: the other mapping sees it. */
	serve_one(_metadata, self->fd, a + 2 * pgsz, pgsz, 2);
	ASSERT_TRUE(check_pattern(alias + 2 * pgsz, 2));
	/* ZEROPAGE, and EEXIST on what the file already holds. */
	ASSERT_EQ(0, do_zeropage(self->fd, a, pgsz, 0, &res));
	ASSERT_EQ(0, a[100]);
	ASSERT_EQ(-1, do_zeropage(self->fd, a + 2 * pgsz, pgsz, 0, &res));
	ASSERT_EQ(EEXIST, errno);
	/* A page written through the alias is there: no fault. */
	alias[5 * pgsz] = 'x';
	ASSERT_EQ('x', a[5 * pgsz]);
	/* The source may be shmem that is not resident either. */
	ASSERT_EQ(0, do_copy(self->fd, a + 6 * pgsz, alias + 7 * pgsz, pgsz, 0,
			     &res));
	ASSERT_EQ(pgsz, res);
	munmap(a, len);
	munmap(alias, len);
	close(memfd);
}

TEST_F(uffd, shmem_private_and_anon_shared)
{
	int memfd = memfd_create("uffd-shmem", 0);
	size_t len = 4 * pgsz;
	char *priv, *shared;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, len));
	/* A private mapping of shmem gets private pages. */
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	ASSERT_EQ(0, do_register(self->fd, priv, len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	serve_one(_metadata, self->fd, priv + pgsz, pgsz, 1);
	ASSERT_EQ(0, do_unregister(self->fd, priv, len));
	munmap(priv, len);
	priv = mmap(NULL, len, PROT_READ, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	ASSERT_EQ(0, priv[pgsz + 17]);	/* the file was not touched */
	munmap(priv, len);
	close(memfd);

	/* MAP_SHARED | MAP_ANONYMOUS is shmem too. */
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_EQ(0, do_register(self->fd, shared, len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	serve_one(_metadata, self->fd, shared + 3 * pgsz, pgsz, 3);
	munmap(shared, len);
}

static size_t huge_page_size(void)
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

TEST_F_TIMEOUT(uffd, hugetlb, 60)
{
	size_t hsz = huge_page_size(), len;
	char *a;
	__u64 ioctls = 0;
	__s64 res;

	if (!hsz)
		SKIP(return, "no hugetlbfs");
	len = 2 * hsz;
	a = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED)
		SKIP(return, "no huge pages reserved");
	/* A huge page is registered whole or not at all. */
	ASSERT_EQ(-1, do_register(self->fd, a + pgsz, hsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(self->fd, a, pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 &ioctls));
	/* No zero huge page: ZEROPAGE is not offered, and refused. */
	ASSERT_EQ(RANGE_IOCTLS & ~(1ULL << _UFFDIO_ZEROPAGE), ioctls);
	ASSERT_EQ(-1, do_zeropage(self->fd, a, hsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-EINVAL, res);
	/* COPY must cover whole huge pages. */
	ASSERT_EQ(-1, do_copy(self->fd, a, self->area, pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	serve_one(_metadata, self->fd, a + hsz, hsz, 1000);
	ASSERT_EQ(-1, do_copy(self->fd, a + hsz, a, hsz, 0, &res));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(0, do_unregister(self->fd, a, len));
	munmap(a, len);
}

/* ---- lifetimes ----------------------------------------------------------- */

TEST_F_TIMEOUT(uffd, close_while_faulting, 60)
{
	enum { N = 8 };
	struct toucher t[N];
	pthread_t th[N];
	struct uffd_msg msg;
	int seen = 0;

	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < N; i++) {
		t[i] = (struct toucher){ .addr = self->area + i * pgsz,
					 .write = i & 1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, toucher_main, &t[i]));
	}
	/* Read some, leave the others unread. */
	while (seen < N / 2 && read_msg(self->fd, &msg, 5000) == 1)
		seen++;
	ASSERT_EQ(N / 2, seen);
	close(self->fd);
	self->fd = -1;
	/* Every fault completes, on now-unregistered memory. */
	for (int i = 0; i < N; i++) {
		ASSERT_TRUE(wait_done(&t[i].done, 10000));
		pthread_join(th[i], NULL);
		ASSERT_EQ(i & 1 ? 7 : 0, self->area[i * pgsz]);
	}
	ASSERT_EQ(0, touch_all(self->area + N * pgsz, self->len - N * pgsz));
}

static int send_fd(int sock, int fd)
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

static int recv_fd(int sock)
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

TEST(target_exits)
{
	int sv[2], fd, status;
	unsigned long addr;
	char *src = map_anon(pgsz);
	struct uffd_msg msg;
	__s64 res;
	pid_t pid;

	/*
	 * A monitor that is not the target: the child creates the fd and
	 * hands it over, then exits.  The monitor gets ESRCH afterwards.
	 */
	ASSERT_NE(NULL, src);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *a = map_anon(4 * pgsz);
		int ufd = new_uffd(false, 0);

		if (!a || ufd < 0 ||
		    do_register(ufd, a, 4 * pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
			_exit(1);
		addr = (unsigned long)a;
		if (send_fd(sv[1], ufd) ||
		    write(sv[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(2);
		/* Wait for the go-ahead, then leave without a word. */
		if (read(sv[1], &status, 1) != 1)
			_exit(3);
		_exit(0);
	}
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(addr), read(sv[0], &addr, sizeof(addr)));
	/* Alive: filling its memory works. */
	ASSERT_EQ(0, do_zeropage(fd, (void *)addr, pgsz, 0, NULL));
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	res = 0;
	ASSERT_EQ(-1, do_copy(fd, (void *)(addr + pgsz), src, pgsz, 0, &res));
	ASSERT_EQ(ESRCH, errno);
	ASSERT_EQ(-1, do_zeropage(fd, (void *)(addr + pgsz), pgsz, 0, &res));
	ASSERT_EQ(ESRCH, errno);
	ASSERT_EQ(-1, do_register(fd, (void *)addr, pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_EQ(0, do_wake(fd, (void *)addr, pgsz));
	ASSERT_EQ(-1, read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(uffd, fork_without_events)
{
	char *a = self->area;
	struct toucher t = { .addr = a + 3 * pgsz };
	struct uffd_msg msg;
	pthread_t th;
	pid_t pid;
	int status;

	ASSERT_EQ(0, do_register(self->fd, a, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, do_zeropage(self->fd, a, pgsz, 0, NULL));
	a[0] = 9;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's copy is not registered: no fault, no wait. */
		if (a[0] != 9 || touch_all(a + pgsz, self->len - pgsz) != 0)
			_exit(1);
		a[5 * pgsz] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Nothing was queued for the child ... */
	ASSERT_EQ(-1, read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
	/* ... and the parent's range is still registered. */
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)(a + 3 * pgsz), msg.arg.pagefault.address);
	ASSERT_EQ(0, do_zeropage(self->fd, a + 3 * pgsz, pgsz, 0, NULL));
	pthread_join(th, NULL);
}

TEST_F(uffd, mremap_without_events)
{
	char *a = self->area, *b;
	char *hole = mmap(NULL, 6 * pgsz, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/*
	 * Without REMAP events the moved range is no longer registered.  The
	 * destination is kept away from the registered area (guard pages):
	 * a move next to it would merge with it, and then, as upstream
	 * does, the whole merged VMA would lose its registration.
	 */
	ASSERT_NE(MAP_FAILED, hole);
	hole += pgsz;
	ASSERT_EQ(0, do_register(self->fd, a, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	b = mremap(a, 4 * pgsz, 4 * pgsz, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	ASSERT_EQ(hole, b);
	ASSERT_EQ(0, touch_all(b, 4 * pgsz));
	ASSERT_EQ(-1, do_zeropage(self->fd, b, pgsz, 0, NULL));
	ASSERT_EQ(ENOENT, errno);
	munmap(hole - pgsz, 6 * pgsz);
	/* The part left behind still is. */
	ASSERT_EQ(0, do_zeropage(self->fd, a + 4 * pgsz, pgsz, 0, NULL));
}

/* ---- non-cooperative events --------------------------------------------- */

/* The rest of a message after its event-specific fields must be zero. */
static bool msg_tail_zero(const struct uffd_msg *m, size_t used)
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

static void *job_main(void *p)
{
	struct job *j = p;

	j->ret = (long)j->fn(j->arg);
	j->done = 1;
	return NULL;
}

static int job_start(struct job *j, void *(*fn)(void *), void *arg)
{
	j->fn = fn;
	j->arg = arg;
	j->done = 0;
	return pthread_create(&j->th, NULL, job_main, j);
}

struct madv { void *addr; size_t len; int advice; };

static void *do_madvise(void *p)
{
	struct madv *m = p;

	return (void *)(long)madvise(m->addr, m->len, m->advice);
}

struct mrm { void *old; size_t len; void *new; };

static void *do_mremap(void *p)
{
	struct mrm *m = p;

	return mremap(m->old, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED,
		      m->new);
}

static void *do_mmap_fixed(void *p)
{
	return mmap(p, 2 * pgsz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void *do_mremap_shrink(void *p)
{
	return mremap(p, 4 * pgsz, pgsz, 0);
}

static void *do_munmap(void *p)
{
	struct madv *m = p;

	return (void *)(long)munmap(m->addr, m->len);
}

/* Wait until a message is queued, without reading it. */
static bool msg_queued(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

FIXTURE(events) {
	int fd;
	char *area;
	size_t len;
	char *src;
};

FIXTURE_SETUP(events)
{
	self->len = 16 * pgsz;
	self->fd = new_uffd(false, EVENTS);
	ASSERT_LE(0, self->fd);
	self->area = map_anon(self->len);
	self->src = map_anon(4 * pgsz);		/* enough for any copy below */
	ASSERT_NE(NULL, self->area);
	ASSERT_NE(NULL, self->src);
	memset(self->src, 0x5c, 4 * pgsz);
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
}

FIXTURE_TEARDOWN(events)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->area, self->len);
	munmap(self->src, 4 * pgsz);
}

TEST_F(events, remove)
{
	struct madv m = { self->area + 2 * pgsz, 2 * pgsz, MADV_DONTNEED };
	struct toucher t = { .addr = self->area + 2 * pgsz };
	struct uffd_msg msg;
	struct job j;
	pthread_t th;
	__s64 res;

	ASSERT_EQ(0, do_copy(self->fd, self->area + 2 * pgsz, self->src, 2 * pgsz,
			     0, NULL));
	ASSERT_EQ(0x5c, (unsigned char)self->area[2 * pgsz]);
	ASSERT_EQ(0, job_start(&j, do_madvise, &m));
	/* madvise waits for the monitor; fills fail meanwhile. */
	ASSERT_TRUE(msg_queued(self->fd, 5000));
	usleep(50000);
	ASSERT_EQ(0, j.done);
	ASSERT_EQ(-1, do_copy(self->fd, self->area, self->src, pgsz, 0, &res));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(-EAGAIN, res);
	ASSERT_EQ(-1, do_zeropage(self->fd, self->area, pgsz, 0, &res));
	ASSERT_EQ(EAGAIN, errno);

	ASSERT_EQ(sizeof(msg), read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_REMOVE, msg.event);
	ASSERT_EQ((unsigned long)m.addr, msg.arg.remove.start);
	ASSERT_EQ((unsigned long)m.addr + m.len, msg.arg.remove.end);
	ASSERT_TRUE(msg_tail_zero(&msg, sizeof(msg.arg.remove)));
	pthread_join(j.th, NULL);
	ASSERT_EQ(0, j.ret);
	ASSERT_EQ(0, do_copy(self->fd, self->area, self->src, pgsz, 0, NULL));

	/* The removed page faults again: the monitor supplies zeroes. */
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((unsigned long)t.addr, msg.arg.pagefault.address);
	ASSERT_EQ(0, do_zeropage(self->fd, t.addr, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0, t.value);
}

TEST_F(events, remap)
{
	char *hole = mmap(NULL, 6 * pgsz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	struct mrm m = { self->area, 4 * pgsz, hole + pgsz };
	struct toucher t = { .addr = hole + 2 * pgsz };
	struct uffd_msg msg;
	struct job j;
	pthread_t th;

	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, job_start(&j, do_mremap, &m));
	ASSERT_TRUE(msg_queued(self->fd, 5000));
	usleep(50000);
	ASSERT_EQ(0, j.done);
	ASSERT_EQ(-1, do_zeropage(self->fd, self->area + 8 * pgsz, pgsz, 0, NULL));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(sizeof(msg), read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_REMAP, msg.event);
	ASSERT_EQ((unsigned long)self->area, msg.arg.remap.from);
	ASSERT_EQ((unsigned long)m.new, msg.arg.remap.to);
	ASSERT_EQ(4 * pgsz, msg.arg.remap.len);
	ASSERT_TRUE(msg_tail_zero(&msg, sizeof(msg.arg.remap)));
	/* Then, as upstream, the old range is reported unmapped. */
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_UNMAP, msg.event);
	ASSERT_EQ((unsigned long)self->area, msg.arg.remove.start);
	ASSERT_EQ((unsigned long)self->area + 4 * pgsz, msg.arg.remove.end);
	pthread_join(j.th, NULL);
	ASSERT_EQ(m.new, (void *)j.ret);

	/* The moved range is still registered: faults come at the new place. */
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)t.addr, msg.arg.pagefault.address);
	ASSERT_EQ(0, do_copy(self->fd, t.addr, self->src, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0x5c, t.value);
	/* Unregistered first: a munmap would wait for us to read its event. */
	ASSERT_EQ(0, do_unregister(self->fd, hole, 6 * pgsz));
	munmap(hole, 6 * pgsz);
}

TEST_F(events, unmap)
{
	struct madv m = { self->area + 12 * pgsz, 4 * pgsz, 0 };
	struct uffd_msg msg;
	struct job j;
	char *p;

	/* munmap */
	ASSERT_EQ(0, job_start(&j, do_munmap, &m));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_UNMAP, msg.event);
	ASSERT_EQ((unsigned long)m.addr, msg.arg.remove.start);
	ASSERT_EQ((unsigned long)m.addr + m.len, msg.arg.remove.end);
	ASSERT_TRUE(msg_tail_zero(&msg, sizeof(msg.arg.remove)));
	pthread_join(j.th, NULL);
	ASSERT_EQ(0, j.ret);

	/* mmap over a registered range (from another thread: it waits) */
	ASSERT_EQ(0, job_start(&j, do_mmap_fixed, self->area + 8 * pgsz));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_UNMAP, msg.event);
	ASSERT_EQ((unsigned long)self->area + 8 * pgsz, msg.arg.remove.start);
	ASSERT_EQ((unsigned long)self->area + 10 * pgsz, msg.arg.remove.end);
	pthread_join(j.th, NULL);
	p = (char *)j.ret;
	ASSERT_EQ(self->area + 8 * pgsz, p);
	ASSERT_EQ(0, p[0]);		/* fresh memory: no fault */

	/* mremap shrinking a registered range */
	ASSERT_EQ(0, job_start(&j, do_mremap_shrink, self->area));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_UNMAP, msg.event);
	ASSERT_EQ((unsigned long)self->area + pgsz, msg.arg.remove.start);
	ASSERT_EQ((unsigned long)self->area + 4 * pgsz, msg.arg.remove.end);
	pthread_join(j.th, NULL);
	ASSERT_EQ(self->area, (char *)j.ret);
	ASSERT_EQ(-1, read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(events, close_releases_blocked_target)
{
	struct madv m = { self->area, pgsz, MADV_DONTNEED };
	struct job j;

	ASSERT_EQ(0, job_start(&j, do_madvise, &m));
	ASSERT_TRUE(msg_queued(self->fd, 5000));
	usleep(50000);
	ASSERT_EQ(0, j.done);
	close(self->fd);
	self->fd = -1;
	ASSERT_TRUE(wait_done(&j.done, 10000));
	pthread_join(j.th, NULL);
	ASSERT_EQ(0, j.ret);
	/* Unregistered now: plain memory. */
	ASSERT_EQ(0, self->area[pgsz]);
}

static volatile int fork_msg_read;

struct forkmon {
	int fd;
	struct uffd_msg msg;
	int delay_ms;
};

static void *fork_monitor(void *p)
{
	struct forkmon *f = p;

	usleep(f->delay_ms * 1000);
	if (read_msg(f->fd, &f->msg, 5000) == 1)
		fork_msg_read = 1;
	return NULL;
}

/* Serve the faults of a child through @cfd until it exits; its status. */
static int serve_child(int cfd, pid_t pid, const char *src)
{
	struct uffd_msg msg;
	int status, r;

	for (;;) {
		r = read_msg(cfd, &msg, 20);
		if (r == 1 && msg.event == UFFD_EVENT_PAGEFAULT)
			do_copy(cfd, (void *)(unsigned long)(msg.arg.pagefault.address &
							     ~(pgsz - 1)),
				src, pgsz, 0, NULL);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
}

TEST_F(events, fork)
{
	struct forkmon f = { .fd = self->fd, .delay_ms = 200 };
	pthread_t mon;
	pid_t pid;
	int cfd;

	/* Populated in the parent: copied to the child; the rest faults. */
	ASSERT_EQ(0, do_copy(self->fd, self->area, self->src, pgsz, 0, NULL));
	fork_msg_read = 0;
	ASSERT_EQ(0, pthread_create(&mon, NULL, fork_monitor, &f));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Every page reads 0x5c: copied, or served by the monitor. */
		for (size_t off = 0; off < self->len; off += pgsz)
			if ((unsigned char)self->area[off] != 0x5c)
				_exit(1);
		_exit(0);
	}
	/* fork() returned: the monitor has read the event already. */
	ASSERT_EQ(1, fork_msg_read);
	pthread_join(mon, NULL);
	ASSERT_EQ(UFFD_EVENT_FORK, f.msg.event);
	ASSERT_TRUE(msg_tail_zero(&f.msg, sizeof(f.msg.arg.fork)));
	cfd = f.msg.arg.fork.ufd;
	ASSERT_LE(0, cfd);
	ASSERT_EQ(FD_CLOEXEC, fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, serve_child(cfd, pid, self->src));
	close(cfd);
	/* The parent's own range is untouched by all this. */
	ASSERT_EQ(0, do_copy(self->fd, self->area + pgsz, self->src, pgsz, 0, NULL));
}

TEST_F(events, fork_of_fork)
{
	struct forkmon f = { .fd = self->fd };
	struct uffd_msg msg;
	pthread_t mon;
	pid_t pid;
	int cfd, gfd, status;

	ASSERT_EQ(0, pthread_create(&mon, NULL, fork_monitor, &f));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child forks again; the grandchild touches the memory. */
		pid_t g = fork();

		if (g < 0)
			_exit(2);
		if (g == 0)
			_exit((unsigned char)self->area[3 * pgsz] == 0x5c ? 0 : 1);
		if (waitpid(g, &status, 0) != g || !WIFEXITED(status))
			_exit(3);
		_exit(WEXITSTATUS(status));
	}
	pthread_join(mon, NULL);
	ASSERT_EQ(UFFD_EVENT_FORK, f.msg.event);
	cfd = f.msg.arg.fork.ufd;
	/* The child's fork is reported on the child's fd. */
	ASSERT_EQ(1, read_msg(cfd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_FORK, msg.event);
	gfd = msg.arg.fork.ufd;
	ASSERT_LE(0, gfd);
	ASSERT_NE(cfd, gfd);
	/* The grandchild's faults arrive on the grandchild's fd. */
	ASSERT_EQ(1, read_msg(gfd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((unsigned long)self->area + 3 * pgsz, msg.arg.pagefault.address);
	ASSERT_EQ(0, do_copy(gfd, self->area + 3 * pgsz, self->src, pgsz, 0, NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(gfd);
	close(cfd);
}

static void *close_after(void *p)
{
	int *fd = p;

	usleep(200000);
	close(*fd);
	return NULL;
}

TEST_F(events, fork_dropped_on_close)
{
	pthread_t th;
	pid_t pid;
	int status, fd = self->fd;

	/*
	 * The parent blocks in fork() until the monitor's fd goes away.  A
	 * plain fork() would copy the fd into the child before the memory
	 * and keep the file alive; a separate monitor process does not have
	 * that problem, sharing the fd table (CLONE_FILES) models it here.
	 */
	self->fd = -1;
	ASSERT_EQ(0, pthread_create(&th, NULL, close_after, &fd));
	pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(self->area[5 * pgsz] == 0 ? 0 : 1);
	pthread_join(th, NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* Arm (n > 0) or disarm fault injection for this thread. */
static int fail_nth(int n)
{
	char buf[16];
	int fd = open("/proc/thread-self/fail-nth", O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%d", n);
	ok = write(fd, buf, strlen(buf)) > 0;
	close(fd);
	return ok ? 0 : -1;
}

/* How many allocations were left before the armed failure (0: it hit). */
static int fail_nth_left(void)
{
	char buf[16] = "";
	int fd = open("/proc/thread-self/fail-nth", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/* Read fork events until told to stop; close the child fds. */
struct forkreader {
	int fd;
	volatile bool stop;
	int forks;
};

static void *fork_reader(void *p)
{
	struct forkreader *r = p;
	struct uffd_msg msg;

	while (!r->stop)
		if (read_msg(r->fd, &msg, 20) == 1 &&
		    msg.event == UFFD_EVENT_FORK) {
			close(msg.arg.fork.ufd);
			r->forks++;
		}
	return NULL;
}

TEST_F_TIMEOUT(events, fork_failures, 300)
{
	struct forkreader r = { .fd = self->fd };
	int failed = 0, succeeded = 0, n, left, status;
	struct uffd_msg msg;
	pthread_t th;
	pid_t pid;

	if (fail_nth(0))
		SKIP(return, "no fault injection (/proc/thread-self/fail-nth)");
	/*
	 * Fail the 1st, 2nd, ... allocation of fork() in turn, until fork
	 * makes fewer allocations than that.  Some failures fork tolerates;
	 * the others fail it.  A failed fork must leave no event, no context
	 * and no "changing" state behind; one that worked is reported once.
	 */
	ASSERT_EQ(0, pthread_create(&th, NULL, fork_reader, &r));
	for (n = 1; n < 3000; n++) {
		ASSERT_EQ(0, fail_nth(n));
		pid = fork();
		if (pid == 0)
			_exit(0);
		left = fail_nth_left();
		fail_nth(0);
		if (pid > 0) {
			succeeded++;
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
		} else {
			failed++;
			/* Fills work (or find the page there): not "changing". */
			if (do_zeropage(self->fd, self->area + (n % 16) * pgsz,
					pgsz, 0, NULL))
				ASSERT_EQ(EEXIST, errno);
		}
		if (left > 0)
			break;		/* every allocation of fork was tried */
	}
	/* Let the reader catch up with the last fork events. */
	for (int i = 0; i < 500 && r.forks < succeeded; i++)
		usleep(10000);
	r.stop = true;
	pthread_join(th, NULL);
	/*
	 * Failures while the memory is copied and later ones in
	 * copy_process() alike: only the forks that worked were reported.
	 */
	TH_LOG("%d allocation points: %d forks failed, %d succeeded",
	       n, failed, succeeded);
	ASSERT_LT(0, left);		/* the walk ended */
	ASSERT_LT(0, failed);
	ASSERT_EQ(succeeded, r.forks);
	ASSERT_EQ(-1, read(self->fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
}

#ifndef __NR_clone3
#define __NR_clone3 435
#endif

/* struct clone_args of <linux/sched.h>, up to set_tid_size (VER1). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size;
};

/* clone3() as fork(): the child _exit()s at once. */
static pid_t fork3(struct clone3_args *ca)
{
	pid_t pid;

	ca->exit_signal = SIGCHLD;
	pid = syscall(__NR_clone3, ca, sizeof(*ca));
	if (pid == 0)
		_exit(0);
	return pid;
}

/*
 * Forks that fail after the memory was copied, in the later steps of
 * copy_process(), deterministically: a set_tid that is taken (EEXIST
 * from alloc_pid()) and a CLONE_PIDFD pointer that faults (EFAULT).
 * Neither may be reported, and the parent may be filled right after.
 */
TEST_F(events, fork_late_failure)
{
	struct forkreader r = { .fd = self->fd };
	pid_t me = getpid(), pid;
	struct clone3_args ca;
	pthread_t th;
	int status;

	/* Reading keeps an old kernel's reporting fork from blocking. */
	ASSERT_EQ(0, pthread_create(&th, NULL, fork_reader, &r));

	memset(&ca, 0, sizeof(ca));
	ca.set_tid = (uintptr_t)&me;
	ca.set_tid_size = 1;
	pid = fork3(&ca);
	if (pid < 0 && errno == ENOSYS) {
		r.stop = true;
		pthread_join(th, NULL);
		SKIP(return, "no clone3()");
	}
	ASSERT_EQ(-1, pid);
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(0, do_zeropage(self->fd, self->area, pgsz, 0, NULL));

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD;
	ca.pidfd = 8;				/* never mapped */
	ASSERT_EQ(-1, fork3(&ca));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, do_zeropage(self->fd, self->area + pgsz, pgsz, 0, NULL));

	usleep(200000);
	r.stop = true;
	pthread_join(th, NULL);
	ASSERT_EQ(0, r.forks);
	ASSERT_FALSE(msg_queued(self->fd, 0));

	/* A fork that works is still reported, once. */
	r.stop = false;
	ASSERT_EQ(0, pthread_create(&th, NULL, fork_reader, &r));
	memset(&ca, 0, sizeof(ca));
	pid = fork3(&ca);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	for (int i = 0; i < 500 && !r.forks; i++)
		usleep(10000);
	r.stop = true;
	pthread_join(th, NULL);
	ASSERT_EQ(1, r.forks);
}

/* Serve one fork event and one fault, in whatever order they come. */
struct pidfdmon {
	int fd;
	char *page;
	int order[2];		/* events, in the order read */
	int n;
	int cfd;
	int eagain;
};

static void *pidfd_monitor(void *p)
{
	struct pidfdmon *m = p;
	struct uffd_msg msg;

	m->cfd = -1;
	while (m->n < 2 && read_msg(m->fd, &msg, 5000) == 1) {
		m->order[m->n++] = msg.event;
		if (msg.event == UFFD_EVENT_FORK) {
			m->cfd = msg.arg.fork.ufd;
			continue;
		}
		/* Give an old kernel 2 s of EAGAIN, then release the forker. */
		for (int i = 0; i < 200; i++) {
			if (!do_zeropage(m->fd, m->page, pgsz, 0, NULL) ||
			    errno != EAGAIN)
				break;
			m->eagain++;
			usleep(10000);
		}
		if (m->eagain >= 200) {
			close(m->fd);
			break;
		}
	}
	return NULL;
}

/*
 * The forker itself faults on a registered missing page after the copy
 * (the CLONE_PIDFD store goes there).  Until the fork is reported the
 * monitor cannot fill the parent; the kernel reports it first, so the
 * monitor reads FORK, then the fault, resolves it, and clone3() works.
 */
TEST_F(events, fork_pidfd_fault)
{
	struct pidfdmon m = { .fd = self->fd, .page = self->area + 7 * pgsz };
	struct clone3_args ca;
	pthread_t th;
	int status;
	pid_t pid;

	ASSERT_EQ(0, pthread_create(&th, NULL, pidfd_monitor, &m));
	memset(&ca, 0, sizeof(ca));
	/*
	 * CLONE_FILES: the child does not hold a copy of the fd, so a
	 * monitor that gives up and closes it really releases the forker.
	 */
	ca.flags = CLONE_PIDFD | CLONE_FILES;
	ca.pidfd = (uintptr_t)(m.page + 64);
	pid = fork3(&ca);
	if (pid < 0 && errno == ENOSYS) {
		close(self->fd);
		self->fd = -1;
		pthread_join(th, NULL);
		SKIP(return, "no clone3()");
	}
	pthread_join(th, NULL);
	if (m.eagain >= 200)
		self->fd = -1;			/* the monitor gave up, closed it */
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(2, m.n);
	ASSERT_EQ(UFFD_EVENT_FORK, m.order[0]);
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, m.order[1]);
	ASSERT_EQ(0, m.eagain);
	ASSERT_LE(0, m.cfd);
	/* The store landed on the page the monitor provided. */
	ASSERT_LE(0, *(int *)(m.page + 64));
	close(*(int *)(m.page + 64));
	close(m.cfd);
}

/*
 * Fork a target process that opens a userfaultfd with @features, hands
 * it to us (*fd), then runs @body (if any) and exits.  Return: its pid.
 */
static pid_t spawn_target(__u64 features, void (*body)(int ufd), int *fd)
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

/* Block on a REMOVE event nobody reads (until killed). */
static void remove_unread(int ufd)
{
	char *a = map_anon(pgsz);

	if (!a || do_register(ufd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
		_exit(1);
	madvise(a, pgsz, MADV_DONTNEED);
	_exit(2);
}

TEST(exit_event)
{
	int fd, status;
	struct uffd_msg msg;
	struct pollfd p;
	pid_t pid;

	pid = spawn_target(UFFD_FEATURE_EVENT_EXIT | UFFD_FEATURE_EVENT_REMOVE,
			   remove_unread, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(msg_queued(fd, 5000));	/* the REMOVE is queued */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));

	/* The killed raiser's event is gone; the exit is reported once. */
	ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_EXIT, msg.event);
	ASSERT_TRUE(msg_tail_zero(&msg, 0));
	/* Then end of file, and EPOLLHUP. */
	ASSERT_EQ(0, read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(0, read(fd, &msg, sizeof(msg)));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLHUP, p.revents & (POLLHUP | POLLIN));
	close(fd);
}

/* The grandchild writes here if it ever runs. */
static int ran_pipe[2];

/* Register a page, then fork: the fork waits for a read that never comes. */
static void fork_unread(int ufd)
{
	char *a = map_anon(pgsz);

	if (!a || do_register(ufd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
		_exit(1);
	if (fork() == 0) {
		if (write(ran_pipe[1], "r", 1) != 1)
			_exit(1);
		_exit(0);
	}
	_exit(2);
}

/*
 * The forker is killed while its fork event is unread.  The fork can no
 * longer fail by then, and the child's registrations are gone with the
 * event: the child must die before it runs a single instruction of its
 * own (or, on kernels that report earlier, the fork fails).
 */
TEST(fork_forker_killed)
{
	int fd, status;
	pid_t pid, c;
	char b;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe(ran_pipe));
	pid = spawn_target(UFFD_FEATURE_EVENT_FORK, fork_unread, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(msg_queued(fd, 5000));	/* the fork waits for us */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	/* The grandchild, if the fork made one, is reparented to us. */
	c = waitpid(-1, &status, 0);
	TH_LOG("the child was %s", c > 0 ? "killed before it ran" : "never made");
	if (c > 0) {
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		ASSERT_EQ(ECHILD, errno);
	}
	close(ran_pipe[1]);
	ASSERT_EQ(0, read(ran_pipe[0], &b, 1));	/* it never ran */
	close(ran_pipe[0]);
	/* The event went with its raiser. */
	ASSERT_FALSE(msg_queued(fd, 0));
	close(fd);
}

/* A forked child's context watches the child's exit too. */
TEST(exit_event_of_forked_child)
{
	struct forkmon f = { 0 };
	struct uffd_msg msg;
	pthread_t mon;
	int status, cfd;
	char *a;
	pid_t pid;

	f.fd = new_uffd(false, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_EXIT);
	ASSERT_LE(0, f.fd);
	a = map_anon(pgsz);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, do_register(f.fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&mon, NULL, fork_monitor, &f));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	pthread_join(mon, NULL);
	ASSERT_EQ(UFFD_EVENT_FORK, f.msg.event);
	cfd = f.msg.arg.fork.ufd;
	ASSERT_LE(0, cfd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, read_msg(cfd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_EXIT, msg.event);
	ASSERT_EQ(0, read(cfd, &msg, sizeof(msg)));	/* then end of file */
	close(cfd);
	close(f.fd);
	munmap(a, pgsz);
}

TEST(no_exit_event_without_feature)
{
	int fd, status;
	struct uffd_msg msg;
	struct pollfd p;
	pid_t pid;

	/* A monitor that did not ask sees upstream's behaviour: silence. */
	pid = spawn_target(EVENTS, NULL, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(-1, read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(EAGAIN, errno);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(0, poll(&p, 1, 0));
	close(fd);
}

TEST_HARNESS_MAIN
