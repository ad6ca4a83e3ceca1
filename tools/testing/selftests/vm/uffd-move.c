// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: UFFDIO_MOVE, anonymous pages moved from one
 * address to another without a copy (a compacting garbage collector's
 * tool): single pages, the zero page, swapped-out pages, whole and cut
 * huge pages, holes, what must be refused, and a fault parked on the
 * destination.  Every page moved is checked.
 */
#include "uffd_test.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static inline int do_move(int fd, void *dst, void *src, size_t len,
			  __u64 mode, __s64 *moved)
{
	struct uffdio_move m = {
		.dst = (unsigned long)dst, .src = (unsigned long)src,
		.len = len, .mode = mode, .move = 0x5a5a,
	};
	int ret = ioctl(fd, UFFDIO_MOVE, &m);

	if (moved)
		*moved = m.move;
	return ret;
}

/* @n pages at @a hold pattern @first, @first + 1, ... */
static void fill_pages(char *a, size_t n, unsigned long first)
{
	for (size_t i = 0; i < n; i++)
		fill_pattern(a + i * pgsz, first + i);
}

static bool check_pages(const char *a, size_t n, unsigned long first)
{
	for (size_t i = 0; i < n; i++)
		if (!check_pattern(a + i * pgsz, first + i))
			return false;
	return true;
}

/*
 * Clear this process's soft-dirty bits (and its VMAs' VM_SOFTDIRTY, which
 * pagemap would report for every page otherwise).  False if the kernel
 * has no soft-dirty tracking.
 */
static bool clear_soft_dirty(void)
{
	static char *probe;	/* written before, and not after, the clear */
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	bool ok;

	if (!probe)
		probe = map_anon(pgsz);
	if (!probe)
		return false;
	probe[0] = 1;
	ok = fd >= 0 && write(fd, "4", 1) == 1;
	if (fd >= 0)
		close(fd);
	return ok && !(pagemap_entry(probe) & (1ULL << 55));
}

#define PM_SOFT_DIRTY	(1ULL << 55)

/* Is anything mapped at @addr (present or swapped)? */
static bool mapped(void *addr)
{
	return pagemap_entry(addr) & (PM_PRESENT | (1ULL << 62));
}

/* @len bytes of anonymous memory aligned to @align. */
static char *map_aligned(size_t len, size_t align)
{
	char *raw = map_anon(len + align);
	unsigned long a;

	if (!raw)
		return NULL;
	a = ((unsigned long)raw + align - 1) & ~(align - 1);
	return (char *)a;
}

/* AnonHugePages of the VMA holding @addr, in kB (-1 if unknown). */
static long anon_huge_kb(void *addr)
{
	unsigned long lo, hi, x = (unsigned long)addr;
	char line[256];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)	/* a VMA's line */
			in = x >= lo && x < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

TEST_F(uffd, move_errors)
{
	char *src = map_anon(5 * pgsz), *dst = self->area;
	int memfd = memfd_create("uffd-move", 0);
	char *shm;
	__s64 moved;

	ASSERT_NE(NULL, src);
	/* A hole after the source, so that no neighbour merges with it. */
	ASSERT_EQ(0, munmap(src + 4 * pgsz, pgsz));
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 4 * pgsz));
	shm = mmap(NULL, 4 * pgsz, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	fill_pages(src, 4, 0);
	/* The destination must be registered with this context. */
	ASSERT_EQ(-1, do_move(self->fd, dst, src, pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-EINVAL, moved);
	ASSERT_EQ(0, do_register(self->fd, dst, 8 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* Bad modes and ranges: EINVAL, the struct left alone. */
	ASSERT_EQ(-1, do_move(self->fd, dst, src, pgsz, 1ULL << 5, &moved));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0x5a5a, moved);
	ASSERT_EQ(-1, do_move(self->fd, dst + 1, src, pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_move(self->fd, dst, src + 1, pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_move(self->fd, dst, src, 0, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	/* Past the end of either VMA, or where nothing is mapped. */
	ASSERT_EQ(-1, do_move(self->fd, dst, src, 8 * pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, do_move(self->fd, dst, (void *)pgsz, pgsz, 0, &moved));
	ASSERT_EQ(ENOENT, errno);
	/* Only private anonymous memory moves. */
	ASSERT_EQ(-1, do_move(self->fd, dst, shm, pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	/* Nor between VMAs of different protections. */
	ASSERT_EQ(0, mprotect(src + 3 * pgsz, pgsz, PROT_READ));
	ASSERT_EQ(-1, do_move(self->fd, dst, src + 3 * pgsz, pgsz, 0, &moved));
	ASSERT_EQ(EINVAL, errno);
	/* Nothing moved by any of it. */
	ASSERT_TRUE(check_pages(src, 3, 0));
	ASSERT_FALSE(mapped(dst));
	munmap(shm, 4 * pgsz);
	close(memfd);
	munmap(src, 4 * pgsz);
}

TEST_F(uffd, move_pages)
{
	char *src = map_anon(16 * pgsz), *dst = self->area;
	__s64 moved;
	bool sd;

	ASSERT_NE(NULL, src);
	fill_pages(src, 12, 100);
	/* Pages 12..15: the zero page, mapped by reads. */
	for (int i = 12; i < 16; i++)
		ASSERT_EQ(0, src[i * pgsz]);
	ASSERT_EQ(0, do_register(self->fd, dst, 16 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	sd = clear_soft_dirty();
	ASSERT_EQ(0, do_move(self->fd, dst, src, 16 * pgsz, 0, &moved));
	ASSERT_EQ(16 * pgsz, moved);
	ASSERT_TRUE(check_pages(dst, 12, 100));
	for (int i = 12; i < 16; i++) {
		ASSERT_EQ(0, dst[i * pgsz + 9]);
		ASSERT_FALSE(mapped(src + i * pgsz));
	}
	/* The source is empty now: it reads as zeroes again. */
	for (int i = 0; i < 12; i++)
		ASSERT_FALSE(mapped(src + i * pgsz));
	ASSERT_EQ(0, src[5 * pgsz + 3]);
	/* Soft-dirty where they landed: a tracker sees them changed. */
	if (sd) {
		ASSERT_TRUE(pagemap_entry(dst) & PM_SOFT_DIRTY);
		ASSERT_TRUE(pagemap_entry(dst + 13 * pgsz) & PM_SOFT_DIRTY);
	}
	/* Moved pages are ordinary pages of their new home. */
	dst[3 * pgsz] = 'w';
	ASSERT_EQ('w', dst[3 * pgsz]);
	munmap(src, 16 * pgsz);
}

TEST_F(uffd, move_holes_and_populated)
{
	char *src = map_anon(8 * pgsz), *dst = self->area;
	__s64 moved;

	ASSERT_NE(NULL, src);
	fill_pages(src, 8, 7);
	ASSERT_EQ(0, madvise(src + 3 * pgsz, pgsz, MADV_DONTNEED));
	ASSERT_EQ(0, do_register(self->fd, dst, 16 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* A hole stops the move: partial progress, then ENOENT. */
	ASSERT_EQ(-1, do_move(self->fd, dst, src, 8 * pgsz, 0, &moved));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(3 * pgsz, moved);
	ASSERT_EQ(-1, do_move(self->fd, dst + 3 * pgsz, src + 3 * pgsz, pgsz, 0,
			      &moved));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-ENOENT, moved);
	/* ALLOW_SRC_HOLES: a hole moves as a hole. */
	ASSERT_EQ(0, do_move(self->fd, dst + 3 * pgsz, src + 3 * pgsz,
			     5 * pgsz, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
			     &moved));
	ASSERT_EQ(5 * pgsz, moved);
	ASSERT_FALSE(mapped(dst + 3 * pgsz));
	ASSERT_TRUE(check_pages(dst, 3, 7));
	ASSERT_TRUE(check_pages(dst + 4 * pgsz, 4, 11));
	/* A populated destination: EEXIST, the source left where it is. */
	fill_pages(src, 2, 50);
	ASSERT_EQ(-1, do_move(self->fd, dst + 7 * pgsz, src, 2 * pgsz, 0,
			      &moved));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-EEXIST, moved);
	ASSERT_TRUE(check_pages(src, 2, 50));
	munmap(src, 8 * pgsz);
}

/* A page another process still shares (COW after fork) cannot move. */
TEST_F(uffd, move_shared_page_busy)
{
	char *src = map_anon(2 * pgsz), *dst = self->area;
	int pipefd[2], status;
	__s64 moved;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, src);
	fill_pages(src, 2, 3);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	if (pid == 0) {
		read(pipefd[0], &c, 1);
		_exit(check_pages(src, 2, 3) ? 0 : 1);
	}
	ASSERT_EQ(0, do_register(self->fd, dst, 2 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(-1, do_move(self->fd, dst, src, pgsz, 0, &moved));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-EBUSY, moved);
	/* Written, the parent's copy is its own again: it moves. */
	*(volatile char *)(src + pgsz + 1) = src[pgsz + 1];
	ASSERT_EQ(0, do_move(self->fd, dst + pgsz, src + pgsz, pgsz, 0, NULL));
	ASSERT_TRUE(check_pages(dst + pgsz, 1, 4));
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));	/* the child's copy untouched */
	munmap(src, 2 * pgsz);
}

TEST_F(uffd, move_swapped_out)
{
	char *src = map_anon(4 * pgsz), *dst = self->area;

	ASSERT_NE(NULL, src);
	fill_pages(src, 4, 900);
	if (madvise(src, 4 * pgsz, MADV_PAGEOUT) ||
	    (pagemap_entry(src) & PM_PRESENT))
		SKIP(return, "cannot page out (no swap?)");
	ASSERT_EQ(0, do_register(self->fd, dst, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, do_move(self->fd, dst, src, 4 * pgsz, 0, NULL));
	ASSERT_FALSE(mapped(src));
	ASSERT_TRUE(check_pages(dst, 4, 900));
	munmap(src, 4 * pgsz);
}

/* A huge page moves whole when the move covers it; else it is split. */
TEST_F_TIMEOUT(uffd, move_thp, 60)
{
	const size_t hsz = 2UL << 20, n = hsz / pgsz;
	char *src = map_aligned(2 * hsz, hsz), *dst = map_aligned(2 * hsz, hsz);
	__s64 moved;
	bool sd;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	madvise(src, 2 * hsz, MADV_HUGEPAGE);
	madvise(dst, 2 * hsz, MADV_HUGEPAGE);
	fill_pages(src, 2 * n, 0);
	if (anon_huge_kb(src) < 2048)
		SKIP(return, "no transparent huge page to move");
	ASSERT_EQ(0, do_register(self->fd, dst, 2 * hsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* Whole: one PMD-mapped huge page changes place, soft-dirty. */
	sd = clear_soft_dirty();
	ASSERT_EQ(0, do_move(self->fd, dst, src, hsz, 0, &moved));
	ASSERT_EQ(hsz, moved);
	if (sd)
		ASSERT_TRUE(pagemap_entry(dst + 5 * pgsz) & PM_SOFT_DIRTY);
	ASSERT_TRUE(check_pages(dst, n, 0));
	ASSERT_LE(2048, anon_huge_kb(dst));
	ASSERT_FALSE(mapped(src));
	/* Cut: half of the second huge page; the other half stays. */
	ASSERT_EQ(0, do_move(self->fd, dst + hsz + hsz / 2, src + hsz + hsz / 2,
			     hsz / 2, 0, &moved));
	ASSERT_EQ(hsz / 2, moved);
	ASSERT_TRUE(check_pages(dst + hsz + hsz / 2, n / 2, n + n / 2));
	ASSERT_TRUE(check_pages(src + hsz, n / 2, n));
	ASSERT_FALSE(mapped(src + hsz + hsz / 2));
	ASSERT_FALSE(mapped(dst + hsz));
}

/* A fault parked on the destination is woken by the move and sees it. */
TEST_F(uffd, move_wakes_parked_fault)
{
	char *src = map_anon(pgsz), *dst = self->area;
	struct toucher t = { .addr = dst + 2 * pgsz + 8 };
	struct uffd_msg msg;
	pthread_t th;

	ASSERT_NE(NULL, src);
	fill_pattern(src, 77);
	ASSERT_EQ(0, do_register(self->fd, dst, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, toucher_main, &t));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)dst + 2 * pgsz, msg.arg.pagefault.address);
	usleep(20000);
	ASSERT_EQ(0, t.done);
	ASSERT_EQ(0, do_move(self->fd, dst + 2 * pgsz, src, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(((unsigned char *)dst)[2 * pgsz + 8], t.value);
	ASSERT_TRUE(check_pattern(dst + 2 * pgsz, 77));
	munmap(src, pgsz);
}

/*
 * Threads fault on the destination while a monitor moves pages into it
 * in batches, DONTWAKE then one WAKE: every page arrives once, intact.
 */
struct mover {
	int fd;
	char *dst, *src;
	size_t n;
	volatile int errors;
};

static void *mover_main(void *arg)
{
	struct mover *m = arg;

	for (size_t i = 0; i < m->n; i += 8) {
		if (do_move(m->fd, m->dst + i * pgsz, m->src + i * pgsz,
			    8 * pgsz, UFFDIO_MOVE_MODE_DONTWAKE, NULL))
			m->errors++;
		if (do_wake(m->fd, m->dst + i * pgsz, 8 * pgsz))
			m->errors++;
	}
	return NULL;
}

TEST_F_TIMEOUT(uffd, move_races_faults, 60)
{
	struct mover m = { .fd = self->fd, .dst = self->area, .n = NPAGES };
	struct toucher t[NPAGES / 4];
	pthread_t mt, th[NPAGES / 4];

	m.src = map_anon(NPAGES * pgsz);
	ASSERT_NE(NULL, m.src);
	fill_pages(m.src, NPAGES, 4000);
	ASSERT_EQ(0, do_register(self->fd, m.dst, NPAGES * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < NPAGES / 4; i++) {
		t[i] = (struct toucher){ .addr = m.dst + (i * 4 + 1) * pgsz };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, toucher_main, &t[i]));
	}
	ASSERT_EQ(0, pthread_create(&mt, NULL, mover_main, &m));
	pthread_join(mt, NULL);
	for (int i = 0; i < NPAGES / 4; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, m.errors);
	ASSERT_TRUE(check_pages(m.dst, NPAGES, 4000));
	munmap(m.src, NPAGES * pgsz);
}

/*
 * MOVE back and forth while another thread zaps both places: a page may
 * vanish between the look and the move, and nothing may be taken from
 * under the zap (judged by KASAN and DEBUG_VM too).
 */
struct zapper {
	char *a;
	size_t len;
	volatile int stop;
};

static void *zap_main(void *arg)
{
	struct zapper *z = arg;

	/* Often, but not so often that no move ever finds a page. */
	while (!z->stop) {
		madvise(z->a, z->len, MADV_DONTNEED);
		usleep(50);
	}
	return NULL;
}

TEST_F_TIMEOUT(uffd, move_races_zap, 60)
{
	char *a = self->area, *src = map_anon(pgsz);
	struct zapper z = { .a = a, .len = 4 * pgsz };
	int moved = 0, gone = 0;
	pthread_t th;

	ASSERT_NE(NULL, src);
	fill_pattern(src, 5);
	ASSERT_EQ(0, do_register(self->fd, a, 4 * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, zap_main, &z));
	for (int i = 0; i < 3000; i++) {
		if (do_copy(self->fd, a, src, pgsz, 0, NULL) && errno != EEXIST)
			continue;
		if (!do_move(self->fd, a + 2 * pgsz, a, pgsz, 0, NULL))
			moved++;
		else
			ASSERT_TRUE(errno == ENOENT || errno == EEXIST ||
				    errno == EAGAIN) TH_LOG("errno %d", errno);
		if (!do_move(self->fd, a, a + 2 * pgsz, pgsz, 0, NULL))
			moved++;
		else
			gone++;
	}
	z.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%d moves, %d found the page zapped", moved, gone);
	munmap(src, pgsz);
}

TEST_HARNESS_MAIN
