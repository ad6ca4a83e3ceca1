// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: write-protect: registering,
 * UFFDIO_WRITEPROTECT and its errors, write faults that park and report
 * UFFD_PAGEFAULT_FLAG_WP, COPY with MODE_WP, and where the marks go over
 * fork, THP split, mremap, migration, swap and unregister (read back from
 * pagemap), on anonymous memory, shmem and hugetlbfs, and pages never
 * populated (WP_UNPOPULATED).
 */
#include "uffd_test.h"
#include <linux/fs.h>		/* PAGEMAP_SCAN */

#define RANGE_IOCTLS_WP	(RANGE_IOCTLS | (1ULL << _UFFDIO_WRITEPROTECT))

static int do_wp(int fd, void *addr, size_t len, __u64 mode)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = mode,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

static bool wp_marked(void *addr)
{
	return pagemap_entry(addr) & PM_UFFD_WP;
}

FIXTURE(wp) {
	int fd;
	char *area;
	size_t len;
};

/* A WP-registered, populated anonymous area (page i holds i + 1). */
FIXTURE_SETUP(wp)
{
	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	self->len = 16 * pgsz;
	self->fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, self->fd);
	self->area = map_anon(self->len);
	ASSERT_NE(NULL, self->area);
	for (size_t i = 0; i < 16; i++)
		self->area[i * pgsz] = i + 1;
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_WP, NULL));
}

FIXTURE_TEARDOWN(wp)
{
	if (self->fd > 0)
		close(self->fd);
	if (self->area)
		munmap(self->area, self->len);
}

TEST_F(wp, register_modes)
{
	int memfd = memfd_create("uffd-wp", 0), other;
	char *shm, *b = map_anon(4 * pgsz);
	__u64 ioctls = 0;

	/* WP alone, and with MISSING: WRITEPROTECT is offered. */
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, do_register(self->fd, b, 2 * pgsz,
				 UFFDIO_REGISTER_MODE_WP, &ioctls));
	ASSERT_EQ(RANGE_IOCTLS_WP, ioctls);
	ASSERT_EQ(0, do_register(self->fd, b + 2 * pgsz, 2 * pgsz,
				 UFFDIO_REGISTER_MODE_WP |
				 UFFDIO_REGISTER_MODE_MISSING, &ioctls));
	ASSERT_EQ(RANGE_IOCTLS_WP, ioctls);
	/* MISSING alone: not offered. */
	other = new_uffd(false, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, do_unregister(self->fd, b, 4 * pgsz));
	ASSERT_EQ(0, do_register(other, b, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, &ioctls));
	ASSERT_EQ(RANGE_IOCTLS, ioctls);
	close(other);

	/* shmem too (its marks survive unmapping as PTE markers). */
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, pgsz));
	shm = mmap(NULL, pgsz, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	ASSERT_EQ(0, do_register(self->fd, shm, pgsz, UFFDIO_REGISTER_MODE_WP,
				 &ioctls));
	ASSERT_EQ(RANGE_IOCTLS_WP, ioctls);
	munmap(shm, pgsz);
	close(memfd);
	/* A kind of memory we do not handle at all: EINVAL. */
	memfd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, memfd);
	shm = mmap(NULL, pgsz, PROT_READ, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	ASSERT_EQ(-1, do_register(self->fd, shm, pgsz, UFFDIO_REGISTER_MODE_WP,
				  NULL));
	ASSERT_EQ(EINVAL, errno);
	munmap(shm, pgsz);
	close(memfd);
	munmap(b, 4 * pgsz);
}

TEST_F(wp, errors)
{
	char *a = self->area, *b = map_anon(4 * pgsz);
	char src[4096] __attribute__((aligned(4096))) = { 0 };
	__s64 res;

	ASSERT_NE(NULL, b);
	/* Ranges and modes. */
	ASSERT_EQ(-1, do_wp(self->fd, a + 1, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_wp(self->fd, a, pgsz + 1, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_wp(self->fd, a, 0, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_wp(self->fd, a, pgsz, 1ULL << 2));
	ASSERT_EQ(EINVAL, errno);
	/* Protecting wakes nobody: DONTWAKE with it is a mistake. */
	ASSERT_EQ(-1, do_wp(self->fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP |
			    UFFDIO_WRITEPROTECT_MODE_DONTWAKE));
	ASSERT_EQ(EINVAL, errno);
	/* Not registered at all, or not for write-protect. */
	ASSERT_EQ(-1, do_wp(self->fd, b, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, do_register(self->fd, b, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_wp(self->fd, b, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(ENOENT, errno);
	/* A page mapped protected needs a range that tracks writes. */
	ASSERT_EQ(-1, do_copy(self->fd, b, src, pgsz, UFFDIO_COPY_MODE_WP, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-EINVAL, res);
	munmap(b, 4 * pgsz);

	/* Half the range not WP-registered: nothing changes at all. */
	ASSERT_EQ(0, do_unregister(self->fd, a + 8 * pgsz, 8 * pgsz));
	ASSERT_EQ(-1, do_wp(self->fd, a, self->len, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_FALSE(wp_marked(a));
}

TEST_F(wp, protect_write_unprotect)
{
	struct toucher w = { .addr = self->area + pgsz + 5, .write = true };
	struct toucher r = { .addr = self->area + 2 * pgsz };
	struct uffd_msg msg;
	pthread_t tw, tr;

	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	for (int i = 0; i < 16; i++)
		ASSERT_TRUE(wp_marked(self->area + i * pgsz));
	/* A read does not fault ... */
	ASSERT_EQ(0, pthread_create(&tr, NULL, toucher_main, &r));
	pthread_join(tr, NULL);
	ASSERT_EQ(3, r.value);
	ASSERT_FALSE(msg_queued(self->fd, 100));
	/* ... a write parks, reported as a write to a protected page. */
	ASSERT_EQ(0, pthread_create(&tw, NULL, toucher_main, &w));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((unsigned long)self->area + pgsz, msg.arg.pagefault.address);
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
		  msg.arg.pagefault.flags);
	usleep(100000);
	ASSERT_EQ(0, w.done);
	/* Unprotecting elsewhere does not let it go; its own page does. */
	ASSERT_EQ(0, do_wp(self->fd, self->area, pgsz, 0));
	usleep(100000);
	ASSERT_EQ(0, w.done);
	ASSERT_EQ(0, do_wp(self->fd, self->area + pgsz, pgsz, 0));
	pthread_join(tw, NULL);
	ASSERT_EQ(7, self->area[pgsz + 5]);
	ASSERT_EQ(2, self->area[pgsz]);
	ASSERT_FALSE(wp_marked(self->area + pgsz));
	ASSERT_TRUE(wp_marked(self->area + 2 * pgsz));
}

TEST_F(wp, dontwake_then_wake)
{
	struct toucher w = { .addr = self->area + 3 * pgsz, .write = true };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(0, do_wp(self->fd, self->area + 3 * pgsz, pgsz,
			   UFFDIO_WRITEPROTECT_MODE_DONTWAKE));
	ASSERT_FALSE(wp_marked(self->area + 3 * pgsz));
	usleep(200000);
	ASSERT_EQ(0, w.done);
	ASSERT_EQ(0, do_wake(self->fd, self->area + 3 * pgsz, pgsz));
	pthread_join(th, NULL);
	ASSERT_EQ(7, self->area[3 * pgsz]);
}

/* A write-protect fault woken while still protected faults again. */
TEST_F(wp, woken_protected_faults_again)
{
	struct toucher w = { .addr = self->area + 5 * pgsz, .write = true };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
		ASSERT_EQ((unsigned long)w.addr, msg.arg.pagefault.address);
		ASSERT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
		ASSERT_EQ(0, w.done);
		ASSERT_EQ(0, do_wake(self->fd, w.addr, pgsz));
	}
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(0, w.done);
	ASSERT_EQ(0, do_wp(self->fd, w.addr, pgsz, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(7, *w.addr);
	ASSERT_EQ(0, read_msg(self->fd, &msg, 100));
}

TEST(missing_then_wp)
{
	char *a = map_anon(pgsz);
	int fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	char src[4096] __attribute__((aligned(4096)));
	struct toucher w = { .addr = a + 9, .write = true };
	struct uffd_msg msg;
	pthread_t th;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	memset(src, 0x21, sizeof(src));
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING |
				 UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	/* First the page is missing ... */
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE, msg.arg.pagefault.flags);
	/* ... then it is there, but protected: the write faults again. */
	ASSERT_EQ(0, do_copy(fd, a, src, pgsz, UFFDIO_COPY_MODE_WP, NULL));
	ASSERT_TRUE(wp_marked(a));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
		  msg.arg.pagefault.flags);
	ASSERT_EQ(0, w.done);
	ASSERT_EQ(0x21, a[10]);		/* reads go through */
	ASSERT_EQ(0, do_wp(fd, a, pgsz, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(7, a[9]);
	close(fd);
}

TEST_F(wp, sigbus)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	int status;
	pid_t pid;

	/* With UFFD_FEATURE_SIGBUS a protected write is SIGBUS, not a wait. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *a = map_anon(pgsz);
		int fd = new_uffd(false, UFFD_FEATURE_SIGBUS |
				  UFFD_FEATURE_PAGEFAULT_FLAG_WP);

		sigaction(SIGBUS, &sa, NULL);
		if (!a || fd < 0)
			_exit(1);
		a[0] = 1;
		if (do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_WP, NULL) ||
		    do_wp(fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP))
			_exit(2);
		if (*(volatile char *)a != 1)	/* reads are fine */
			_exit(3);
		*(volatile char *)a = 2;
		_exit(4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGBUS, WTERMSIG(status));
}

/* read(2) writes into a protected page: a kernel-mode write fault. */
struct kwrite {
	char *addr;
	int fd;
	volatile int done;
	ssize_t ret;
	int err;
};

static void *kwrite_main(void *p)
{
	struct kwrite *k = p;

	k->ret = read(k->fd, k->addr, 8);
	k->err = errno;
	k->done = 1;
	return NULL;
}

static void kernel_write_case(struct __test_metadata *_metadata, int flags)
{
	char *a = map_anon(pgsz);
	int fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | flags), pipefd[2];
	struct kwrite k = { .addr = a };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, api(fd, UFFD_FEATURE_PAGEFAULT_FLAG_WP));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(8, write(pipefd[1], "abcdefgh", 8));
	k.fd = pipefd[0];
	a[0] = 1;
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, pthread_create(&th, NULL, kwrite_main, &k));
	if (flags & UFFD_USER_MODE_ONLY) {
		pthread_join(th, NULL);
		ASSERT_EQ(-1, k.ret);
		ASSERT_EQ(EFAULT, k.err);
	} else {
		ASSERT_EQ(1, read_msg(fd, &msg, 5000));
		ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
			  msg.arg.pagefault.flags);
		ASSERT_EQ(0, k.done);
		ASSERT_EQ(0, do_wp(fd, a, pgsz, 0));
		pthread_join(th, NULL);
		ASSERT_EQ(8, k.ret);
		ASSERT_EQ(0, memcmp(a, "abcdefgh", 8));
	}
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
}

TEST(kernel_write)
{
	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	kernel_write_case(_metadata, 0);
}

TEST(kernel_write_user_mode_only)
{
	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	kernel_write_case(_metadata, UFFD_USER_MODE_ONLY);
}

/* ---- where the marks go ------------------------------------------------ */

TEST_F(wp, unregister_clears_marks)
{
	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_TRUE(wp_marked(self->area + 4 * pgsz));
	/* Re-registering without WP is leaving write-protect too. */
	ASSERT_EQ(0, do_register(self->fd, self->area, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_FALSE(wp_marked(self->area));
	ASSERT_EQ(0, do_unregister(self->fd, self->area + 4 * pgsz, 4 * pgsz));
	ASSERT_FALSE(wp_marked(self->area + 4 * pgsz));
	self->area[4 * pgsz] = 9;	/* ordinary memory: no fault */
	ASSERT_TRUE(wp_marked(self->area + 8 * pgsz));
	close(self->fd);		/* closing unregisters the rest */
	self->fd = -1;
	ASSERT_FALSE(wp_marked(self->area + 8 * pgsz));
	self->area[8 * pgsz] = 9;
}

/* Unregistering a page that then merges with its neighbour: no marks. */
TEST(unregister_merge_clears_marks)
{
	char *a = map_anon(2 * pgsz);
	struct toucher w = { .write = true };
	int fd, fd2;
	pthread_t th;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, a);
	memset(a, 1, 2 * pgsz);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a + pgsz, pgsz, UFFDIO_REGISTER_MODE_WP,
				 NULL));
	ASSERT_EQ(0, do_wp(fd, a + pgsz, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, do_unregister(fd, a + pgsz, pgsz));
	ASSERT_FALSE(wp_marked(a + pgsz));
	close(fd);
	/* A new registration protects nothing it did not protect itself. */
	fd2 = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, do_register(fd2, a, 2 * pgsz, UFFDIO_REGISTER_MODE_WP,
				 NULL));
	w.addr = a + pgsz;
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_TRUE(wait_done(&w.done, 5000));
	pthread_join(th, NULL);
	close(fd2);
	munmap(a, 2 * pgsz);
}

/* Without EVENT_FORK the child's copy is not tracked: no marks left. */
TEST_F(wp, fork_drops_marks)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wp_marked(self->area + pgsz))
			_exit(1);
		self->area[pgsz] = 42;	/* never waits */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_TRUE(wp_marked(self->area + pgsz));	/* the parent's stay */
	ASSERT_EQ(2, self->area[pgsz]);
}

struct forkread {
	int fd;
	struct uffd_msg msg;
};

static void *read_fork(void *p)
{
	struct forkread *f = p;

	read_msg(f->fd, &f->msg, 5000);
	return NULL;
}

/* With EVENT_FORK the child is tracked too, and keeps the marks. */
TEST(fork_keeps_marks_with_event)
{
	struct forkread f = { 0 };
	char *a = map_anon(pgsz);
	int status, cfd;
	pthread_t th;
	pid_t pid;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, a);
	a[0] = 1;
	f.fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
			UFFD_FEATURE_EVENT_FORK);
	ASSERT_LE(0, f.fd);
	ASSERT_EQ(0, do_register(f.fd, a, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(f.fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, pthread_create(&th, NULL, read_fork, &f));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(wp_marked(a) ? 0 : 1);
	pthread_join(th, NULL);
	ASSERT_EQ(UFFD_EVENT_FORK, f.msg.event);
	cfd = f.msg.arg.fork.ufd;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(cfd);
	close(f.fd);
}

/* Splitting a protected transparent huge page keeps every mark. */
TEST(thp_split_keeps_marks)
{
	size_t len = 2UL << 20;
	char *raw = map_anon(2 * len), *a;
	struct toucher w;
	struct uffd_msg msg;
	pthread_t th;
	int fd;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, raw);
	a = (char *)(((unsigned long)raw + len - 1) & ~(len - 1));
	madvise(a, len, MADV_HUGEPAGE);
	memset(a, 1, len);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, len, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, len, UFFDIO_WRITEPROTECT_MODE_WP));
	/* Changing the protection of half of it splits the huge page. */
	ASSERT_EQ(0, mprotect(a, len / 2, PROT_READ));
	ASSERT_EQ(0, mprotect(a, len / 2, PROT_READ | PROT_WRITE));
	for (size_t off = 0; off < len; off += 37 * pgsz)
		ASSERT_TRUE(wp_marked(a + off));
	w = (struct toucher){ .addr = a + len - pgsz, .write = true };
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
		  msg.arg.pagefault.flags);
	ASSERT_EQ(0, do_wp(fd, a, len, 0));
	pthread_join(th, NULL);
	close(fd);
	munmap(raw, 2 * len);
}

struct mover {
	void *old, *new;
	size_t len;
};

static void *move_it(void *p)
{
	struct mover *m = p;

	return mremap(m->old, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED,
		      m->new);
}

/* With EVENT_REMAP a protected range moves with its marks. */
TEST(mremap_keeps_marks_with_event)
{
	char *hole = mmap(NULL, 8 * pgsz, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = map_anon(4 * pgsz);
	struct mover m = { .old = a, .new = hole + 2 * pgsz, .len = 4 * pgsz };
	struct uffd_msg msg;
	struct job j;
	int fd;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_NE(NULL, a);
	memset(a, 3, 4 * pgsz);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_EVENT_REMAP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, 4 * pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, 4 * pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, job_start(&j, move_it, &m));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_REMAP, msg.event);
	pthread_join(j.th, NULL);
	ASSERT_EQ(m.new, (void *)j.ret);
	for (int i = 0; i < 4; i++)
		ASSERT_TRUE(wp_marked((char *)m.new + i * pgsz));
	ASSERT_EQ(0, do_wp(fd, m.new, 4 * pgsz, 0));
	ASSERT_FALSE(wp_marked(m.new));
	close(fd);
	munmap(hole, 8 * pgsz);
}

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

/* Migrating a protected page (to another NUMA node) keeps its mark. */
TEST_F(wp, migration_keeps_marks)
{
	struct toucher w = { .addr = self->area + 5 * pgsz, .write = true };
	void *pages[1] = { self->area + 5 * pgsz };
	int node, status = -1;
	struct uffd_msg msg;
	pthread_t th;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "needs two NUMA nodes (numa=fake=2)");
	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	/* Where is it?  Then move it to the other node. */
	ASSERT_EQ(0, syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0));
	ASSERT_LE(0, status);
	node = !status;
	ASSERT_EQ(0, syscall(SYS_move_pages, 0, 1, pages, &node, &status,
			     MPOL_MF_MOVE));
	ASSERT_EQ(node, status);
	ASSERT_TRUE(wp_marked(self->area + 5 * pgsz));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
		  msg.arg.pagefault.flags);
	ASSERT_EQ(0, do_wp(self->fd, self->area + 5 * pgsz, pgsz, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(7, self->area[5 * pgsz]);
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#define PM_SWAP		(1ULL << 62)

/* Is there swap to page out to (beyond the header of /proc/swaps)? */
static bool have_swap(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n > 1;
}

/* ---- shmem, hugetlbfs, and pages never populated ------------------------ */

/*
 * Protect [a, a + size) (populated, registered on @fd for WP), write from
 * a thread at @off: it parks with the WP flag; unprotecting lets it go.
 */
static void write_parks(struct __test_metadata *_metadata, int fd, char *a,
			size_t size, size_t off)
{
	struct toucher w = { .addr = a + off, .write = true };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_EQ(0, do_wp(fd, a, size, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP,
		  msg.arg.pagefault.flags);
	usleep(50000);
	ASSERT_EQ(0, w.done);
	ASSERT_EQ(0, do_wp(fd, a, size, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(7, a[off]);
}

/*
 * shmem, shared and private: a protected page keeps its protection when
 * it is unmapped (MADV_DONTNEED) and when it was never mapped here (only
 * in the page cache): PTE markers hold it.
 */
static void shmem_case(struct __test_metadata *_metadata, int flags)
{
	int memfd = memfd_create("uffd-wp-shmem", 0), fd;
	size_t len = 4 * pgsz;
	char *a, *alias;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, len));
	alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, memfd, 0);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_NE(MAP_FAILED, a);
	memset(alias, 1, len);		/* in the page cache, not mapped in a */
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, len, UFFDIO_REGISTER_MODE_WP, NULL));
	a[0] = 2;			/* mapped */
	write_parks(_metadata, fd, a, pgsz, 0);
	/* Never mapped here when protected. */
	write_parks(_metadata, fd, a + pgsz, pgsz, 0);
	/* Protected, then unmapped: the marker keeps the protection. */
	a[2 * pgsz] = 2;
	ASSERT_EQ(0, do_wp(fd, a + 2 * pgsz, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, madvise(a + 2 * pgsz, pgsz, MADV_DONTNEED));
	ASSERT_TRUE(wp_marked(a + 2 * pgsz));
	ASSERT_EQ(0, do_wp(fd, a + 2 * pgsz, pgsz, 0));
	ASSERT_FALSE(wp_marked(a + 2 * pgsz));
	write_parks(_metadata, fd, a + 2 * pgsz, pgsz, 3);
	close(fd);
	munmap(a, len);
	munmap(alias, len);
	close(memfd);
}

TEST(shmem_shared)
{
	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	shmem_case(_metadata, MAP_SHARED);
}

TEST(shmem_private)
{
	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	shmem_case(_metadata, MAP_PRIVATE);
}

/*
 * A marker where a missing page used to be: a private mapping of a file
 * with nothing in its page cache, MISSING|WP, a page filled protected and
 * then dropped.  Reading it again is a missing fault that waits for the
 * monitor (not one that spins), and a COPY over the marker resolves it.
 */
TEST(marker_then_missing)
{
	int memfd = memfd_create("uffd-wp-marker", 0), fd;
	char src[4096] __attribute__((aligned(4096)));
	struct toucher r = { 0 };
	struct uffd_msg msg;
	pthread_t th;
	char *a;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, pgsz));
	a = mmap(NULL, pgsz, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING |
				 UFFDIO_REGISTER_MODE_WP, NULL));
	memset(src, 0x44, sizeof(src));
	ASSERT_EQ(0, do_copy(fd, a, src, pgsz, UFFDIO_COPY_MODE_WP, NULL));
	ASSERT_EQ(0, madvise(a, pgsz, MADV_DONTNEED));
	ASSERT_TRUE(wp_marked(a));
	r.addr = a + 1;
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &r));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(0, msg.arg.pagefault.flags);		/* a missing read */
	ASSERT_EQ(0, do_copy(fd, a, src, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0x44, r.value);
	close(fd);
	munmap(a, pgsz);
	close(memfd);
}

/* Swapping a protected page out and in keeps its mark. */
TEST_F(wp, swap_keeps_marks)
{
	char *p = self->area + 6 * pgsz;

	if (!have_swap())
		SKIP(return, "no swap");
	ASSERT_EQ(0, do_wp(self->fd, self->area, self->len,
			   UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, madvise(p, pgsz, MADV_PAGEOUT));
	ASSERT_EQ(PM_SWAP | PM_UFFD_WP, pagemap_entry(p) & (PM_SWAP | PM_UFFD_WP));
	ASSERT_EQ(7, *(volatile char *)p);	/* swapped in */
	ASSERT_FALSE(pagemap_entry(p) & PM_SWAP);
	ASSERT_TRUE(wp_marked(p));
	write_parks(_metadata, self->fd, p, pgsz, 1);
}

/* The same for shmem, whose pages go to swap from the page cache. */
TEST(shmem_swap_keeps_marks)
{
	int memfd = memfd_create("uffd-wp-swap", 0), fd;
	char *a;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	if (!have_swap())
		SKIP(return, "no swap");
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, pgsz));
	a = mmap(NULL, pgsz, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, a);
	*(volatile char *)a = 5;
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(0, madvise(a, pgsz, MADV_PAGEOUT));
	ASSERT_TRUE(wp_marked(a));
	ASSERT_EQ(5, *(volatile char *)a);	/* back in */
	ASSERT_TRUE(wp_marked(a));
	write_parks(_metadata, fd, a, pgsz, 1);
	close(fd);
	munmap(a, pgsz);
	close(memfd);
}

TEST(hugetlb)
{
	size_t hsz = huge_page_size();
	char *a;
	int fd;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	if (!hsz)
		SKIP(return, "no hugetlbfs");
	a = mmap(NULL, hsz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED)
		SKIP(return, "no huge pages reserved");
	memset(a, 1, hsz);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, hsz, UFFDIO_REGISTER_MODE_WP, NULL));
	/* Huge pages are protected whole. */
	ASSERT_EQ(-1, do_wp(fd, a, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_EQ(EINVAL, errno);
	write_parks(_metadata, fd, a, hsz, hsz / 2);
	close(fd);
	munmap(a, hsz);
}

/*
 * Two mappings of one hugetlbfs file, each a whole aligned gigabyte, share
 * their page table.  Registering one for write-protect must stop sharing
 * it, or protecting it would change (or skip) the other's entries too: a
 * protected write must park, and the other mapping must stay writable.
 */
TEST(hugetlb_shared_page_table)
{
	const size_t G = 1UL << 30;
	size_t hsz = huge_page_size();
	struct toucher o = { .write = true };
	int mfd, fd;
	pthread_t th;
	char *base, *a, *b;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	if (hsz != 2UL << 20)
		SKIP(return, "needs 2 MiB huge pages");
	mfd = memfd_create("uffd-wp-pmdshare", MFD_HUGETLB);
	if (mfd < 0 || ftruncate(mfd, G))
		SKIP(return, "no hugetlbfs memfd");
	base = mmap(NULL, 3 * G, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, base);
	a = (char *)(((unsigned long)base + G - 1) & ~(G - 1));
	b = a + G;
	ASSERT_EQ(a, mmap(a, G, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED | MAP_NORESERVE, mfd, 0));
	ASSERT_EQ(b, mmap(b, G, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED | MAP_NORESERVE, mfd, 0));
	*(volatile char *)a = 1;		/* a's page table ... */
	ASSERT_EQ(1, *(volatile char *)b);	/* ... b shares it */

	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, b, G, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, b, hsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_TRUE(wp_marked(b));
	ASSERT_FALSE(wp_marked(a));
	o.addr = a + 1;				/* not registered: writes */
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &o));
	ASSERT_TRUE(wait_done(&o.done, 5000));
	pthread_join(th, NULL);
	write_parks(_metadata, fd, b, hsz, 2);	/* protected: parks */
	close(fd);
	munmap(base, 3 * G);
	close(mfd);
}

/*
 * UFFD_FEATURE_WP_UNPOPULATED: protecting a range protects the pages
 * never populated too; without it, the first write to one just happens.
 */
TEST(unpopulated)
{
	char *a = map_anon(4 * pgsz);
	struct toucher w = { .write = true };
	pthread_t th;
	int fd;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, a);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, 4 * pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, 4 * pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	w.addr = a;
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &w));
	ASSERT_TRUE(wait_done(&w.done, 5000));
	pthread_join(th, NULL);
	close(fd);

	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		      UFFD_FEATURE_WP_UNPOPULATED);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, 4 * pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a + pgsz, 3 * pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_TRUE(wp_marked(a + 2 * pgsz));
	ASSERT_EQ(0, a[2 * pgsz + 1]);	/* reads see zeroes, no fault */
	write_parks(_metadata, fd, a + 3 * pgsz, pgsz, 0);
	close(fd);
	munmap(a, 4 * pgsz);
}

/* ---- asynchronous write-protect, and PAGEMAP_SCAN ------------------------ */

/* The regions of [a, a + len) PAGEMAP_SCAN finds written; re-protects. */
static long scan_written(void *a, size_t len, struct page_region *vec, int n)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (unsigned long)a,
		.end = (unsigned long)a + len,
		.vec = (unsigned long)vec,
		.vec_len = n,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY);
	long ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, PAGEMAP_SCAN, &arg);
	close(fd);
	return ret;
}

/*
 * UFFD_FEATURE_WP_ASYNC: writes to protected pages go through, only
 * clearing the mark (it implies WP_UNPOPULATED, so pages never populated
 * count too), and PAGEMAP_SCAN finds exactly the pages written and
 * protects them again.
 */
TEST(async_tracks_writes)
{
	struct page_region vec[8];
	char *a = map_anon(8 * pgsz);
	char text[256];
	int fd;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_NE(NULL, a);
	memset(a, 1, 4 * pgsz);			/* pages 4-7 never populated */
	fd = new_uffd(false, UFFD_FEATURE_WP_ASYNC);
	ASSERT_LE(0, fd);
	/* WP_ASYNC brought WP_UNPOPULATED with it. */
	ASSERT_TRUE(read_fdinfo(fd, text, sizeof(text)));
	ASSERT_NE(NULL, strstr(text, "API:\taa:a000:"));

	ASSERT_EQ(0, do_register(fd, a, 8 * pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, a, 8 * pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_TRUE(wp_marked(a + 5 * pgsz));
	a[pgsz] = 2;				/* no message, no wait */
	a[6 * pgsz] = 2;
	ASSERT_FALSE(msg_queued(fd, 0));
	ASSERT_FALSE(wp_marked(a + pgsz));
	ASSERT_FALSE(wp_marked(a + 6 * pgsz));
	ASSERT_TRUE(wp_marked(a + 2 * pgsz));

	ASSERT_EQ(2, scan_written(a, 8 * pgsz, vec, 8));
	ASSERT_EQ((unsigned long)a + pgsz, vec[0].start);
	ASSERT_EQ((unsigned long)a + 2 * pgsz, vec[0].end);
	ASSERT_EQ((unsigned long)a + 6 * pgsz, vec[1].start);
	ASSERT_EQ((unsigned long)a + 7 * pgsz, vec[1].end);
	/* Found, and protected again: nothing is written any more. */
	ASSERT_TRUE(wp_marked(a + pgsz));
	ASSERT_EQ(0, scan_written(a, 8 * pgsz, vec, 8));
	a[3 * pgsz] = 2;
	ASSERT_EQ(1, scan_written(a, 8 * pgsz, vec, 8));
	ASSERT_EQ((unsigned long)a + 3 * pgsz, vec[0].start);
	close(fd);
	munmap(a, 8 * pgsz);
}

/* Write tracking alone may watch other files too; nothing else may. */
TEST(async_other_files)
{
	int exe = open("/proc/self/exe", O_RDONLY), fd;
	char *f;

	if (!WP_FEATURES)
		SKIP(return, "no write-protect on this architecture");
	ASSERT_LE(0, exe);
	f = mmap(NULL, pgsz, PROT_READ, MAP_PRIVATE, exe, 0);
	ASSERT_NE(MAP_FAILED, f);
	fd = new_uffd(false, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, do_register(fd, f, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
	fd = new_uffd(false, UFFD_FEATURE_WP_ASYNC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, do_register(fd, f, pgsz, UFFDIO_REGISTER_MODE_WP |
				  UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_register(fd, f, pgsz, UFFDIO_REGISTER_MODE_WP, NULL));
	ASSERT_EQ(0, do_wp(fd, f, pgsz, UFFDIO_WRITEPROTECT_MODE_WP));
	ASSERT_TRUE(wp_marked(f));
	/* Tracked, never filled. */
	ASSERT_EQ(-1, do_zeropage(fd, f, pgsz, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
	/* Unregistered again, it is memory nobody registers: EINVAL. */
	fd = new_uffd(false, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, do_unregister(fd, f, pgsz));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
	munmap(f, pgsz);
	close(exe);
}

TEST_HARNESS_MAIN
