// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: UFFDIO_COPY and UFFDIO_ZEROPAGE: their errors, what they
 * write, and filling shmem and hugetlbfs.
 */
#include "uffd_test.h"

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

/*
 * COPY's source is judged as upstream judges it: whole pages inside an
 * address space the size of the target's, or EINVAL before anything is
 * tried (the struct is left alone).  Inside it, a source nobody mapped
 * is a fault.
 */
TEST_F(uffd, copy_source_range)
{
	char *a = self->area;
	__s64 res;

	ASSERT_EQ(0, do_register(self->fd, a, 8 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_copy(self->fd, a, (void *)(1UL << 62), pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, res);
#ifdef __x86_64__
	/* Running off the end of the 47-bit user address space. */
	ASSERT_EQ(-1, do_copy(self->fd, a, (void *)((1UL << 47) - 2 * pgsz),
			      2 * pgsz, 0, &res));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, res);
#endif
	ASSERT_EQ(-1, do_copy(self->fd, a, (void *)pgsz, pgsz, 0, &res));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, res);
}

/* A private mapping of a file is filled no further than the file goes. */
TEST_F(uffd, private_file_past_eof)
{
	int memfd = memfd_create("uffd-eof", 0);
	char src[4096] __attribute__((aligned(4096)));
	char *p;
	__s64 res;

	ASSERT_LE(pgsz, sizeof(src));
	memset(src, 0x6b, pgsz);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, pgsz));
	p = mmap(NULL, 4 * pgsz, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, do_register(self->fd, p, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_copy(self->fd, p + 2 * pgsz, src, pgsz, 0, &res));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, res);
	ASSERT_EQ(-1, do_zeropage(self->fd, p + pgsz, pgsz, 0, &res));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-EFAULT, res);
	/* Inside the file, both work; a COPY stops at the end. */
	ASSERT_EQ(0, do_zeropage(self->fd, p, pgsz, 0, NULL));
	ASSERT_EQ(0, ftruncate(memfd, 2 * pgsz));
	ASSERT_EQ(-1, do_copy(self->fd, p + pgsz, src, 2 * pgsz, 0, &res));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(pgsz, res);
	ASSERT_EQ(0x6b, p[pgsz + 9]);
	munmap(p, 4 * pgsz);
	close(memfd);
}

/* Fill page 1 of a private file mapping, by turns COPY and ZEROPAGE. */
struct eof_filler {
	int fd;
	char *page;
	volatile bool stop;
	int filled;
};

static void *fill_past_eof(void *p)
{
	struct eof_filler *f = p;
	char src[4096] __attribute__((aligned(4096))) = { 1 };

	for (int i = 0; !f->stop; i++)
		if (!(i & 1 ? do_copy(f->fd, f->page, src, pgsz, 0, NULL)
			    : do_zeropage(f->fd, f->page, pgsz, 0, NULL)))
			f->filled++;
	return NULL;
}

/*
 * A truncate racing fills past the new end: once the file has shrunk and
 * the fills in flight are done, nothing may be mapped past its end (the
 * fill checks the size under the page-table lock that the truncate's zap
 * takes).  A bounded stress.
 */
TEST_F_TIMEOUT(uffd, private_file_eof_race, 60)
{
	int memfd = memfd_create("uffd-eof-race", 0), beyond = 0;
	struct eof_filler f = { .fd = self->fd };
	pthread_t th;
	char *p;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 2 * pgsz));
	p = mmap(NULL, 2 * pgsz, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, do_register(self->fd, p, 2 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	f.page = p + pgsz;
	ASSERT_EQ(0, pthread_create(&th, NULL, fill_past_eof, &f));
	for (int i = 0; i < 300; i++) {
		ASSERT_EQ(0, ftruncate(memfd, pgsz));
		usleep(2000);		/* let a fill in flight finish */
		if (pagemap_entry(f.page) & PM_PRESENT)
			beyond++;
		ASSERT_EQ(0, ftruncate(memfd, 2 * pgsz));
		usleep(i % 7 * 100);
	}
	f.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%d fills, %d pages left past the end", f.filled, beyond);
	ASSERT_EQ(0, beyond);
	munmap(p, 2 * pgsz);
	close(memfd);
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

/*
 * Fills hold the destination VMA by its per-VMA lock while other threads
 * of the process map, protect and unmap memory, some of it splitting and
 * merging the very VMA being filled: every fill lands whole, in the right
 * place.  The first fill of a fresh private VMA (no anon_vma yet) takes
 * mmap_lock instead; each round starts with one.  Judged also by lockdep,
 * KASAN and DEBUG_VM in the test kernel.
 */
struct mangler {
	char *area;
	size_t len;
	volatile int stop;
};

static void *mangle_main(void *arg)
{
	struct mangler *m = arg;
	unsigned long n = 0;

	while (!m->stop) {
		char *other = mmap(NULL, 16 * pgsz, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (other == MAP_FAILED)
			return (void *)1;
		other[0] = 1;
		mprotect(other, 8 * pgsz, PROT_READ);
		/* Split the registered VMA, then let it merge again. */
		mprotect(m->area + (n++ % 60) * pgsz, 2 * pgsz, PROT_READ);
		mprotect(m->area, m->len, PROT_READ | PROT_WRITE);
		munmap(other, 16 * pgsz);
	}
	return NULL;
}

TEST_F_TIMEOUT(uffd, fills_race_layout_changes, 120)
{
	char *src = map_anon(pgsz);
	struct mangler m;
	pthread_t th;
	void *ret;

	ASSERT_NE(NULL, src);
	for (int round = 0; round < 40; round++) {
		char *a = map_anon(self->len);

		ASSERT_NE(NULL, a);
		ASSERT_EQ(0, do_register(self->fd, a, self->len,
					 UFFDIO_REGISTER_MODE_MISSING, NULL));
		m = (struct mangler){ .area = a, .len = self->len };
		ASSERT_EQ(0, pthread_create(&th, NULL, mangle_main, &m));
		for (unsigned long i = 0; i < NPAGES; i++) {
			fill_pattern(src, i + round);
			ASSERT_EQ(0, do_copy(self->fd, a + i * pgsz, src, pgsz,
					     0, NULL));
		}
		m.stop = 1;
		pthread_join(th, &ret);
		ASSERT_EQ(NULL, ret);
		for (unsigned long i = 0; i < NPAGES; i++)
			ASSERT_TRUE(check_pattern(a + i * pgsz, i + round));
		munmap(a, self->len);
	}
	munmap(src, pgsz);
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
	ASSERT_EQ(RANGE_IOCTLS_HUGE, ioctls);
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

/*
 * A fault on hugetlbfs is reported at its huge page, the unit the
 * monitor fills and wakes (with EXACT_ADDRESS, at the exact address).
 */
TEST_F_TIMEOUT(uffd, hugetlb_fault_address, 60)
{
	size_t hsz = huge_page_size(), off;
	struct uffd_msg msg;
	struct toucher t;
	char *a, *src;
	pthread_t th;
	int xfd;

	if (!hsz)
		SKIP(return, "no hugetlbfs");
	a = mmap(NULL, hsz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED)
		SKIP(return, "no huge pages reserved");
	src = aligned_alloc(pgsz, hsz);
	ASSERT_NE(NULL, src);
	memset(src, 0x33, hsz);
	off = hsz / 2 + 123;		/* well inside the huge page */
	ASSERT_EQ(0, do_register(self->fd, a, hsz, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	t = (struct toucher){ .addr = a + off, .write = true };
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)a, msg.arg.pagefault.address);
	/* Waking the page reported wakes the thread: it faults again. */
	ASSERT_EQ(0, do_wake(self->fd, (void *)(unsigned long)
			     msg.arg.pagefault.address, pgsz));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)a, msg.arg.pagefault.address);
	/* And a huge-page COPY there resolves it. */
	ASSERT_EQ(0, do_copy(self->fd, (void *)(unsigned long)
			     msg.arg.pagefault.address, src, hsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(7, a[off]);
	ASSERT_EQ(0x33, a[hsz - 1]);
	munmap(a, hsz);

	a = mmap(NULL, hsz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	xfd = new_uffd(false, UFFD_FEATURE_EXACT_ADDRESS);
	ASSERT_LE(0, xfd);
	ASSERT_EQ(0, do_register(xfd, a, hsz, UFFDIO_REGISTER_MODE_MISSING, NULL));
	t = (struct toucher){ .addr = a + off };
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(xfd, &msg, 5000));
	ASSERT_EQ((unsigned long)a + off, msg.arg.pagefault.address);
	/* A wake matches the address reported, as upstream's does. */
	ASSERT_EQ(0, do_wake(xfd, a + (off & ~(pgsz - 1)), pgsz));
	ASSERT_EQ(1, read_msg(xfd, &msg, 5000));
	ASSERT_EQ((unsigned long)a + off, msg.arg.pagefault.address);
	ASSERT_EQ(0, do_copy(xfd, a, src, hsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(0x33, t.value);
	close(xfd);
	munmap(a, hsz);
	free(src);
}

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

/* Move one page between NUMA nodes 0 and 1 until told to stop. */
struct mover {
	char *addr;
	volatile bool stop;
	int moves;
};

static void *mover_main(void *p)
{
	struct mover *m = p;
	void *pages[1] = { m->addr };
	int node = 1, status;

	while (!m->stop) {
		if (!syscall(SYS_move_pages, 0, 1, pages, &node, &status,
			     MPOL_MF_MOVE) && status == node)
			m->moves++;
		node ^= 1;
	}
	return NULL;
}

/* AnonHugePages of this process, in kB. */
static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * A transparent huge page under migration is a non-present PMD: the
 * address is populated all the same, and COPY says EEXIST (which
 * monitors take as benign), never EFAULT.
 */
TEST_F_TIMEOUT(uffd, thp_migrating_is_populated, 60)
{
	size_t len = 2UL << 20;
	char *raw = map_anon(2 * len), *a, src[4096] __attribute__((aligned(4096)));
	struct mover m;
	pthread_t th;
	int eexist = 0, other = 0, last = 0;

	ASSERT_NE(NULL, raw);
	ASSERT_LE(pgsz, sizeof(src));
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "needs two NUMA nodes (numa=fake=2)");
	a = (char *)(((unsigned long)raw + len - 1) & ~(len - 1));
	madvise(a, len, MADV_HUGEPAGE);
	memset(a, 1, len);
	if (anon_huge_kb() < (long)(len >> 10))
		SKIP(return, "no transparent huge page");
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	m = (struct mover){ .addr = a };
	ASSERT_EQ(0, pthread_create(&th, NULL, mover_main, &m));
	for (int i = 0; i < 20000 && m.moves < 40; i++) {
		if (!do_copy(self->fd, a + (i % 512) * pgsz, src, pgsz, 0, NULL))
			other++;	/* nothing may be filled: it is all there */
		else if (errno == EEXIST)
			eexist++;
		else
			other++, last = errno;
	}
	m.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%d migrations, %d EEXIST, %d otherwise (last errno %d)",
	       m.moves, eexist, other, last);
	ASSERT_LT(0, m.moves);
	ASSERT_EQ(0, other);
	munmap(raw, 2 * len);
}

TEST_HARNESS_MAIN
