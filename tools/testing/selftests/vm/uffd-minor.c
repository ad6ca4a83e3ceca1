// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: minor faults and UFFDIO_CONTINUE on shmem and
 * hugetlbfs, and UFFDIO_POISON on every kind of memory.
 *
 * A minor fault is one on a page the page cache already holds but this
 * mapping does not map yet: a VMM fills guest memory through a second
 * mapping, and only the guest's page tables are missing.
 */
#include <setjmp.h>
#include "uffd_test.h"

#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP	((__u64)1 << 1)
#endif

static inline int do_continue(int fd, void *addr, size_t len, __u64 mode,
			      __s64 *mapped)
{
	struct uffdio_continue c = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = mode, .mapped = 0x5a5a,
	};
	int ret = ioctl(fd, UFFDIO_CONTINUE, &c);

	if (mapped)
		*mapped = c.mapped;
	return ret;
}

static inline int do_poison(int fd, void *addr, size_t len, __u64 mode,
			    __s64 *updated)
{
	struct uffdio_poison p = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = mode, .updated = 0x5a5a,
	};
	int ret = ioctl(fd, UFFDIO_POISON, &p);

	if (updated)
		*updated = p.updated;
	return ret;
}

/* Two shared mappings of one file: the registered one, and the filler's. */
struct pair {
	int memfd;
	size_t len;
	char *reg, *fill;
};

static bool map_pair(struct pair *p, size_t len, bool huge, bool private)
{
	p->len = len;
	p->memfd = memfd_create("uffd-minor", huge ? MFD_HUGETLB : 0);
	if (p->memfd < 0 || ftruncate(p->memfd, len))
		return false;
	p->reg = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      private ? MAP_PRIVATE : MAP_SHARED, p->memfd, 0);
	p->fill = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       p->memfd, 0);
	return p->reg != MAP_FAILED && p->fill != MAP_FAILED;
}

static void unmap_pair(struct pair *p)
{
	munmap(p->reg, p->len);
	munmap(p->fill, p->len);
	close(p->memfd);
}

/*
 * A read fault on @addr, whose page the file already holds: it parks,
 * is reported as a minor fault, and CONTINUE lets it see the page.
 */
static void minor_round_trip(struct __test_metadata *_metadata, int fd,
			     char *addr, size_t size, char want)
{
	struct toucher t = { .addr = addr + 3 };
	struct uffd_msg msg;
	pthread_t th;
	__s64 mapped;

	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((unsigned long)addr, msg.arg.pagefault.address);
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_MINOR, msg.arg.pagefault.flags);
	usleep(20000);
	ASSERT_EQ(0, t.done);
	ASSERT_EQ(0, do_continue(fd, addr, size, 0, &mapped));
	ASSERT_EQ(size, mapped);
	pthread_join(th, NULL);
	ASSERT_EQ(want, (char)t.value);
}

TEST(minor_shmem)
{
	int fd = new_uffd(false, UFFD_FEATURE_MINOR_SHMEM);
	struct pair p;
	__u64 ioctls = 0;
	__s64 mapped;

	ASSERT_LE(0, fd);
	ASSERT_TRUE(map_pair(&p, 8 * pgsz, false, false));
	/* Minor mode is for memory with a page cache only. */
	ASSERT_EQ(-1, do_register(fd, map_anon(pgsz), pgsz,
				  UFFDIO_REGISTER_MODE_MINOR, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_register(fd, p.reg, p.len, UFFDIO_REGISTER_MODE_MINOR,
				 &ioctls));
	ASSERT_EQ(RANGE_IOCTLS | (1ULL << _UFFDIO_CONTINUE), ioctls);

	/* The filler writes through its own mapping: no fault there. */
	for (int i = 0; i < 8; i++)
		p.fill[i * pgsz + 3] = 'a' + i;
	minor_round_trip(_metadata, fd, p.reg + 2 * pgsz, pgsz, 'c');
	/* Mapped now: the file's own page, shared both ways. */
	p.reg[2 * pgsz + 4] = 'Z';
	ASSERT_EQ('Z', p.fill[2 * pgsz + 4]);
	/* Several pages at once, then EEXIST on what is mapped. */
	ASSERT_EQ(0, do_continue(fd, p.reg + 4 * pgsz, 2 * pgsz, 0, &mapped));
	ASSERT_EQ(2 * pgsz, mapped);
	ASSERT_EQ('e', p.reg[4 * pgsz + 3]);
	ASSERT_EQ(-1, do_continue(fd, p.reg + 3 * pgsz, 2 * pgsz, 0, &mapped));
	ASSERT_EQ(EAGAIN, errno);		/* one page done, then EEXIST */
	ASSERT_EQ(pgsz, mapped);
	ASSERT_EQ(-1, do_continue(fd, p.reg + 3 * pgsz, pgsz, 0, &mapped));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-EEXIST, mapped);

	/* Dropped from this mapping only: the next access is minor again. */
	ASSERT_EQ(0, madvise(p.reg + 2 * pgsz, pgsz, MADV_DONTNEED));
	ASSERT_EQ('Z', p.fill[2 * pgsz + 4]);
	minor_round_trip(_metadata, fd, p.reg + 2 * pgsz, pgsz, 'c');
	ASSERT_EQ('Z', p.reg[2 * pgsz + 4]);
	unmap_pair(&p);
	close(fd);
}

TEST(continue_errors)
{
	int fd = new_uffd(false, UFFD_FEATURE_MINOR_SHMEM);
	char *anon = map_anon(2 * pgsz);
	struct pair p;
	__s64 mapped;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, anon);
	ASSERT_TRUE(map_pair(&p, 4 * pgsz, false, false));
	/* Not registered: ENOENT, reported in the struct too. */
	ASSERT_EQ(-1, do_continue(fd, p.reg, pgsz, 0, &mapped));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-ENOENT, mapped);
	ASSERT_EQ(0, do_register(fd, p.reg, p.len, UFFDIO_REGISTER_MODE_MINOR,
				 NULL));
	/* Bad modes and ranges: EINVAL, the struct left alone. */
	ASSERT_EQ(-1, do_continue(fd, p.reg, pgsz, 1ULL << 5, &mapped));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, mapped);
	ASSERT_EQ(-1, do_continue(fd, p.reg + 1, pgsz, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_continue(fd, p.reg, pgsz + 1, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_continue(fd, p.reg, 0, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	/* MODE_WP on a range not registered for write-protect. */
	ASSERT_EQ(-1, do_continue(fd, p.reg, pgsz, UFFDIO_CONTINUE_MODE_WP,
				  &mapped));
	ASSERT_EQ(EINVAL, errno);
	/* Nothing in the page cache to map: EFAULT. */
	ASSERT_EQ(-1, do_continue(fd, p.reg, pgsz, 0, &mapped));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, mapped);
	/* Past the end of the file: nothing can be there either. */
	p.fill[0] = 1;
	ASSERT_EQ(0, ftruncate(p.memfd, pgsz));
	ASSERT_EQ(-1, do_continue(fd, p.reg + 2 * pgsz, pgsz, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_continue(fd, p.reg, pgsz, 0, &mapped));
	/* Anonymous memory has no page cache: EINVAL. */
	ASSERT_EQ(0, do_register(fd, anon, 2 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_continue(fd, anon, pgsz, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	unmap_pair(&p);
	munmap(anon, 2 * pgsz);
	close(fd);
}

/* A private mapping of shmem: the cache page, mapped to copy on write. */
TEST(minor_shmem_private)
{
	int fd = new_uffd(false, UFFD_FEATURE_MINOR_SHMEM);
	struct pair p;

	ASSERT_LE(0, fd);
	ASSERT_TRUE(map_pair(&p, 4 * pgsz, false, true));
	ASSERT_EQ(0, do_register(fd, p.reg, p.len, UFFDIO_REGISTER_MODE_MINOR,
				 NULL));
	p.fill[pgsz + 3] = 'q';
	minor_round_trip(_metadata, fd, p.reg + pgsz, pgsz, 'q');
	/* A write copies: the file keeps its page. */
	p.reg[pgsz + 3] = 'w';
	ASSERT_EQ('q', p.fill[pgsz + 3]);
	ASSERT_EQ('w', p.reg[pgsz + 3]);
	unmap_pair(&p);
	close(fd);
}

/* CONTINUE with MODE_WP: mapped, and a write then faults as WP. */
TEST(continue_wp)
{
	int fd = new_uffd(false, UFFD_FEATURE_MINOR_SHMEM |
			  UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
			  UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	struct toucher t;
	struct uffd_msg msg;
	struct pair p;
	pthread_t th;

	ASSERT_LE(0, fd);
	ASSERT_TRUE(map_pair(&p, 2 * pgsz, false, false));
	ASSERT_EQ(0, do_register(fd, p.reg, p.len, UFFDIO_REGISTER_MODE_MINOR |
				 UFFDIO_REGISTER_MODE_WP, NULL));
	p.fill[5] = 'm';
	ASSERT_EQ(0, do_continue(fd, p.reg, pgsz, UFFDIO_CONTINUE_MODE_WP,
				 NULL));
	ASSERT_EQ('m', p.reg[5]);	/* reads are fine */
	t = (struct toucher){ .addr = p.reg + 6, .write = true };
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ((unsigned long)p.reg, msg.arg.pagefault.address);
	ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE,
		  msg.arg.pagefault.flags);
	ASSERT_EQ(0, ioctl(fd, UFFDIO_WRITEPROTECT, &(struct uffdio_writeprotect){
		.range = { .start = (unsigned long)p.reg, .len = pgsz } }));
	pthread_join(th, NULL);
	ASSERT_EQ(7, p.fill[6]);
	unmap_pair(&p);
	close(fd);
}

TEST(minor_hugetlb)
{
	int fd = new_uffd(false, UFFD_FEATURE_MINOR_HUGETLBFS);
	size_t hsz = huge_page_size();
	__u64 ioctls = 0;
	struct pair p;
	__s64 mapped;

	ASSERT_LE(0, fd);
	if (!hsz)
		SKIP(return, "no hugetlbfs");
	if (!map_pair(&p, 2 * hsz, true, false))
		SKIP(return, "no huge pages reserved");
	ASSERT_EQ(0, do_register(fd, p.reg, p.len, UFFDIO_REGISTER_MODE_MINOR,
				 &ioctls));
	ASSERT_EQ(RANGE_IOCTLS_HUGE | (1ULL << _UFFDIO_CONTINUE), ioctls);
	p.fill[hsz + 3] = 'h';
	/* Whole huge pages only. */
	ASSERT_EQ(-1, do_continue(fd, p.reg + hsz, pgsz, 0, &mapped));
	ASSERT_EQ(EINVAL, errno);
	minor_round_trip(_metadata, fd, p.reg + hsz, hsz, 'h');
	ASSERT_EQ(-1, do_continue(fd, p.reg + hsz, hsz, 0, &mapped));
	ASSERT_EQ(EEXIST, errno);
	/* No page in the file there. */
	ASSERT_EQ(-1, do_continue(fd, p.reg, hsz, 0, &mapped));
	ASSERT_EQ(EFAULT, errno);
	unmap_pair(&p);
	close(fd);
}

/* ---- POISON ------------------------------------------------------------ */

static sigjmp_buf sigbus_env;
static volatile int sigbus_code;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigbus_code = si->si_code;
	siglongjmp(sigbus_env, 1);
}

/*
 * Does touching @addr (a write if @write) raise SIGBUS?  Reported as a
 * memory error (BUS_MCEERR_AR) where the kernel has CONFIG_MEMORY_FAILURE,
 * as a plain SIGBUS otherwise.
 */
static bool access_sigbus(char *addr, bool write)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	struct sigaction old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	sigbus_code = 0;
	if (!sigsetjmp(sigbus_env, 1)) {
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
	} else {
		bus = sigbus_code == BUS_MCEERR_AR || sigbus_code == BUS_ADRERR;
	}
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/*
 * @a: a registered range of 4 pages of @psz.  Poison page 1: reads and
 * writes there get SIGBUS, its neighbours are untouched; then the errors
 * and partial progress.
 */
static void poison_checks(struct __test_metadata *_metadata, int fd, char *a,
			  size_t psz, char *src)
{
	__s64 updated;

	ASSERT_EQ(-1, do_poison(fd, a + psz, psz, 1ULL << 4, &updated));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, updated);
	ASSERT_EQ(-1, do_poison(fd, a + 1, psz, 0, &updated));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, do_poison(fd, a + psz, psz, 0, &updated));
	ASSERT_EQ(psz, updated);
	ASSERT_TRUE(access_sigbus(a + psz + 7, false));
	ASSERT_TRUE(access_sigbus(a + psz + 9, true));
	/* Poisoned already: EEXIST; so is a populated page. */
	ASSERT_EQ(-1, do_poison(fd, a + psz, psz, 0, &updated));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-EEXIST, updated);
	ASSERT_EQ(0, do_copy(fd, a + 3 * psz, src, psz, 0, NULL));
	/* Page 2 poisoned, then page 3 is populated: partial progress. */
	ASSERT_EQ(-1, do_poison(fd, a + 2 * psz, 2 * psz, 0, &updated));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(psz, updated);
	ASSERT_TRUE(access_sigbus(a + 2 * psz, false));
	ASSERT_FALSE(access_sigbus(a + 3 * psz, false));
	/*
	 * A page that arrives after all replaces the marker, as upstream
	 * lets a fill replace any marker.
	 */
	memset(src, 'p', psz);
	ASSERT_EQ(0, do_copy(fd, a + psz, src, psz, 0, NULL));
	ASSERT_FALSE(access_sigbus(a + psz + 7, false));
	ASSERT_EQ('p', a[psz + 7]);
}

TEST_F(uffd, poison_anon)
{
	char *a = self->area, *src = map_anon(pgsz);
	__s64 updated;

	ASSERT_NE(NULL, src);
	/* Not registered: ENOENT. */
	ASSERT_EQ(-1, do_poison(self->fd, a, pgsz, 0, &updated));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, do_register(self->fd, a, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	poison_checks(_metadata, self->fd, a, pgsz, src);
	/* MADV_DONTNEED clears the marker: the page is missing again. */
	ASSERT_EQ(0, madvise(a + pgsz, pgsz, MADV_DONTNEED));
	ASSERT_EQ(0, do_zeropage(self->fd, a + pgsz, pgsz, 0, NULL));
	ASSERT_FALSE(access_sigbus(a + pgsz, true));
	munmap(src, pgsz);
}

TEST(poison_shmem)
{
	int fd = new_uffd(false, UFFD_FEATURE_MISSING_SHMEM);
	char *src = map_anon(pgsz);

	ASSERT_LE(0, fd);
	for (int priv = 0; priv < 2; priv++) {
		struct pair p;

		ASSERT_TRUE(map_pair(&p, 4 * pgsz, false, priv));
		ASSERT_EQ(0, do_register(fd, p.reg, p.len,
					 UFFDIO_REGISTER_MODE_MISSING, NULL));
		poison_checks(_metadata, fd, p.reg, pgsz, src);
		/* The file is not poisoned, only this mapping's PTE. */
		p.fill[2 * pgsz] = 'f';
		ASSERT_EQ('f', p.fill[2 * pgsz]);
		ASSERT_TRUE(access_sigbus(p.reg + 2 * pgsz, false));
		unmap_pair(&p);
	}
	munmap(src, pgsz);
	close(fd);
}

TEST(poison_hugetlb)
{
	int fd = new_uffd(false, UFFD_FEATURE_MISSING_HUGETLBFS);
	size_t hsz = huge_page_size();
	char *a, *src;

	ASSERT_LE(0, fd);
	if (!hsz)
		SKIP(return, "no hugetlbfs");
	a = mmap(NULL, 4 * hsz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED)
		SKIP(return, "no huge pages reserved");
	src = map_anon(hsz);
	ASSERT_NE(NULL, src);
	ASSERT_EQ(0, do_register(fd, a, 4 * hsz, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	/* Whole huge pages only. */
	ASSERT_EQ(-1, do_poison(fd, a, pgsz, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	poison_checks(_metadata, fd, a, hsz, src);
	munmap(a, 4 * hsz);
	munmap(src, hsz);
	close(fd);
}

/*
 * A fault parked on a page that is then poisoned: woken, it retries and
 * gets SIGBUS (the target, here a child process, dies of it).
 */
static void touch_page_one(int ufd)
{
	char *a = mmap((void *)0x7e0000000000UL, 2 * pgsz,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (a == MAP_FAILED ||
	    do_register(ufd, a, 2 * pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
		_exit(2);
	(void)*(volatile char *)(a + pgsz);
	_exit(0);
}

TEST(poison_wakes_parked_fault)
{
	struct uffd_msg msg;
	int fd, status;
	pid_t pid;

	pid = spawn_target(0, touch_page_one, &fd);
	ASSERT_LT(0, pid);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(0x7e0000000000UL + pgsz, msg.arg.pagefault.address);
	/* DONTWAKE first: it stays parked until UFFDIO_WAKE. */
	ASSERT_EQ(0, do_poison(fd, (void *)(unsigned long)msg.arg.pagefault.address,
			       pgsz, UFFDIO_POISON_MODE_DONTWAKE, NULL));
	usleep(100000);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, do_wake(fd, (void *)(unsigned long)msg.arg.pagefault.address,
			     pgsz));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGBUS, WTERMSIG(status));
	close(fd);
}

TEST_HARNESS_MAIN
