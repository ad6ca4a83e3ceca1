// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: creating a userfaultfd, the UFFDIO_API handshake, fdinfo, and
 * registering and unregistering ranges.
 */
#include "uffd_test.h"

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
	a = (struct uffdio_api){ .api = UFFD_API, .features = 1ULL << 17 };
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
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_CONTINUE, buf));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(fd, UFFDIO_POISON, buf));
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

static volatile int alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/*
 * The target: the handshake with the exit event, under a flood of timer
 * signals (no SA_RESTART, so an interrupted call returns EINTR).  Every
 * failure must be EINTR and leave both the fd and the request as they
 * were; once the flood stops, the handshake succeeds.  Exit status: the
 * number of EINTRs seen (capped), or 200 + a step that went wrong.
 */
static void api_under_signals(int sock)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	struct uffdio_api a;
	int fd, eintr = 0;
	bool done = false;

	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fragment_address_space(4000) || sigaction(SIGALRM, &sa, NULL))
		_exit(201);
	if (setitimer(ITIMER_REAL, &it, NULL))
		_exit(202);
	for (int i = 0; i < 50 && !done; i++) {
		a = (struct uffdio_api){ .api = UFFD_API,
					 .features = UFFD_FEATURE_EVENT_EXIT };
		done = !ioctl(fd, UFFDIO_API, &a);
		if (done)
			break;
		if (errno != EINTR)
			_exit(203);
		/* Untouched: a restarted call reads the same request. */
		if (a.api != UFFD_API || a.features != UFFD_FEATURE_EVENT_EXIT ||
		    a.ioctls)
			_exit(204);
		eintr++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	if (!done && api(fd, UFFD_FEATURE_EVENT_EXIT))
		_exit(205);
	if (send_fd(sock, fd))
		_exit(206);
	_exit(eintr > 100 ? 100 : eintr);
}

TEST(api_restartable)
{
	struct uffd_msg msg;
	int sv[2], fd, status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		api_under_signals(sv[1]);
	fd = recv_fd(sv[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_GT(200, WEXITSTATUS(status)) {
		TH_LOG("target failed at step %d", WEXITSTATUS(status) - 200);
	}
	TH_LOG("the handshake was interrupted %d times", WEXITSTATUS(status));
	/* Interrupted or not, the exit watch is in place. */
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_EXIT, msg.event);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

TEST(fdinfo)
{
	int fd = new_uffd(false, UFFD_FEATURE_THREAD_ID);
	char text[512];

	ASSERT_LE(0, fd);
	ASSERT_TRUE(read_fdinfo(fd, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "pending:\t0\n"));
	EXPECT_NE(NULL, strstr(text, "total:\t0\n"));
	EXPECT_NE(NULL, strstr(text, "API:\taa:100:"));
	close(fd);
}

/* ---- registration ------------------------------------------------------ */

TEST_F(uffd, register_errors)
{
	int fd = self->fd, other, memfd, rofd;
	char *a = self->area, *file;
	char path[64];
	__u64 ioctls = 0;

	/* Modes: none, unknown, or not implemented (uffd-wp tests WP). */
	ASSERT_EQ(-1, do_register(fd, a, pgsz, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_register(fd, a, pgsz, 1ULL << 5, NULL));
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

#ifndef __NR_map_shadow_stack
#define __NR_map_shadow_stack 453
#endif

/* A fill would write user-chosen return addresses into a shadow stack. */
TEST_F(uffd, shadow_stack_refused)
{
	long ss = syscall(__NR_map_shadow_stack, 0, pgsz, 0);

	if (ss == -1)
		SKIP(return, "no user shadow stacks here (map_shadow_stack: %s)",
		     strerror(errno));
	ASSERT_EQ(-1, do_register(self->fd, (void *)ss, pgsz,
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	munmap((void *)ss, pgsz);
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

TEST_HARNESS_MAIN
