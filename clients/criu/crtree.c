// SPDX-License-Identifier: GPL-2.0
/*
 * A process tree for CRIU's lazy restore to bring back, built to make the
 * lazy-pages daemon see every non-cooperative event while it still has
 * pages to serve:
 *
 *	parent	 16 MiB it checks in stripes; forks a short-lived child each
 *		 round that checks a stripe too (UFFD_EVENT_FORK); two threads
 *		 that keep writing counters to their own pages.
 *	mremap	 8 MiB; each round moves 1 MiB away and back
 *		 (UFFD_EVENT_REMAP) and checks it moved with its contents.
 *	dontneed 8 MiB; each round drops 256 KiB with MADV_DONTNEED
 *		 (UFFD_EVENT_REMOVE), unmaps and maps again another 256 KiB
 *		 (UFFD_EVENT_UNMAP), checks both read as zeros and refills them.
 *
 *	crtree DIR
 *
 * It writes DIR/pids ("role pid" lines) once all three run.  SIGUSR1 (sent
 * after the restore) makes each process check every page it wrote before
 * the dump, write "ok ..." or "FAIL ..." to DIR/ROLE.report and exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MIB		(1UL << 20)
#define NR_WRITERS	2
#define WRITER_PAGES	256

static const char *dir;
static const char *role = "parent";
static long page_size;
static volatile sig_atomic_t restored;
static unsigned long checked;

static void report(const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.report", dir, role);
	f = fopen(path, "w");
	if (!f)
		_exit(3);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void __attribute__((noreturn)) fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report("FAIL %s %d: %s\n", role, getpid(), msg);
	_exit(1);
}

/* Word @i of page @p of the region numbered @r. */
static uint64_t pattern(int r, uint64_t p, uint64_t i)
{
	uint64_t z = ((uint64_t)r << 56) ^ (p << 20) ^ i;

	z = (z ^ (z >> 31)) * 0x9e3779b97f4a7c15ULL;
	return z ^ (z >> 29);
}

static void fill(int r, char *base, uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n; p++) {
		uint64_t *w = (uint64_t *)(base + p * page_size);

		for (uint64_t i = 0; i < page_size / 8; i++)
			w[i] = pattern(r, p, i);
	}
}

/* Page @p of region @r, now at @at, holds what fill() wrote (or zeros). */
static void check(int r, const char *at, uint64_t p, int zero)
{
	const uint64_t *w = (const uint64_t *)at;

	for (uint64_t i = 0; i < page_size / 8; i++) {
		uint64_t want = zero ? 0 : pattern(r, p, i);

		if (w[i] != want)
			fail("region %d page %llu word %llu: %#llx, not %#llx",
			     r, (unsigned long long)p, (unsigned long long)i,
			     (unsigned long long)w[i],
			     (unsigned long long)want);
	}
	checked++;
}

static void check_all(int r, const char *base, uint64_t n)
{
	for (uint64_t p = 0; p < n; p++)
		check(r, base + p * page_size, p, 0);
}

static char *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return p;
}

static void on_usr1(int sig)
{
	restored = 1;
}

static void pause_a_little(void)
{
	usleep(20000);
}

/* The mremap child: 1 MiB goes away and comes back, each round. */
static void mremap_child(void)
{
	uint64_t pages = 8 * MIB / page_size, chunk = MIB / page_size;
	char *m = map(8 * MIB), *spare = map(MIB);

	fill(2, m, 0, pages);
	for (uint64_t round = 0; !restored; round++) {
		uint64_t first = (round % 8) * chunk;
		char *at = m + first * page_size;

		if (mremap(at, MIB, MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
			   spare) != spare)
			fail("mremap away: %s", strerror(errno));
		check(2, spare + (round % chunk) * page_size,
		      first + round % chunk, 0);
		if (mremap(spare, MIB, MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
			   at) != at)
			fail("mremap back: %s", strerror(errno));
		/* The hole it left behind, for the next round. */
		spare = map(MIB);
		check(2, at + ((round * 7) % chunk) * page_size,
		      first + (round * 7) % chunk, 0);
		pause_a_little();
	}
	check_all(2, m, pages);
	report("ok %s %d: checked %lu pages\n", role, getpid(), checked);
	_exit(0);
}

/* The dontneed child: pages dropped and unmapped read back as zeros. */
static void dontneed_child(void)
{
	uint64_t pages = 8 * MIB / page_size, chunk = MIB / 4 / page_size;
	char *d = map(8 * MIB);

	fill(3, d, 0, pages);
	for (uint64_t round = 0; !restored; round++) {
		uint64_t a = (round % 32) * chunk, b = ((round + 16) % 32) * chunk;
		char *at = d + a * page_size, *bt = d + b * page_size;

		if (madvise(at, chunk * page_size, MADV_DONTNEED))
			fail("MADV_DONTNEED: %s", strerror(errno));
		if (munmap(bt, chunk * page_size))
			fail("munmap: %s", strerror(errno));
		if (mmap(bt, chunk * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != bt)
			fail("mmap again: %s", strerror(errno));
		check(3, at, a, 1);
		check(3, bt + (chunk - 1) * page_size, b + chunk - 1, 1);
		fill(3, d, a, chunk);
		fill(3, d, b, chunk);
		check(3, d + ((round * 13) % pages) * page_size,
		      (round * 13) % pages, 0);
		pause_a_little();
	}
	check_all(3, d, pages);
	report("ok %s %d: checked %lu pages\n", role, getpid(), checked);
	_exit(0);
}

/* A writer thread: word 0 of each of its pages counts its rounds. */
static char *writer_mem;
static volatile int writers_stop;
static unsigned long writer_rounds[NR_WRITERS];

static void *writer(void *arg)
{
	long id = (long)arg;
	char *mine = writer_mem + id * WRITER_PAGES * page_size;
	uint64_t round;

	for (round = 0; !writers_stop; round++) {
		for (int p = 0; p < WRITER_PAGES; p++) {
			uint64_t *w = (uint64_t *)(mine + p * page_size);

			if (w[0] != round || w[1] != (uint64_t)id)
				fail("writer %ld page %d: %llu, not round %llu",
				     id, p, (unsigned long long)w[0],
				     (unsigned long long)round);
			w[0] = round + 1;
			w[1] = id;
		}
		pause_a_little();
	}
	writer_rounds[id] = round;
	return NULL;
}

static pid_t start_child(void (*body)(void), const char *name)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		role = name;
		body();
	}
	return pid;
}

int main(int argc, char **argv)
{
	uint64_t pages;
	pthread_t th[NR_WRITERS];
	pid_t kids[2];
	char path[4096];
	FILE *f;
	char *p;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	page_size = sysconf(_SC_PAGESIZE);
	pages = 16 * MIB / page_size;
	signal(SIGUSR1, on_usr1);

	kids[0] = start_child(mremap_child, "mremap");
	kids[1] = start_child(dontneed_child, "dontneed");
	p = map(16 * MIB);
	fill(1, p, 0, pages);
	writer_mem = map(NR_WRITERS * WRITER_PAGES * page_size);
	for (long i = 0; i < NR_WRITERS; i++)
		for (int q = 0; q < WRITER_PAGES; q++)
			((uint64_t *)(writer_mem + (i * WRITER_PAGES + q) *
				      page_size))[1] = i;
	for (long i = 0; i < NR_WRITERS; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)i))
			fail("pthread_create");

	snprintf(path, sizeof(path), "%s/pids", dir);
	f = fopen(path, "w");
	if (!f)
		fail("%s: %s", path, strerror(errno));
	fprintf(f, "parent %d\nmremap %d\ndontneed %d\n", getpid(),
		kids[0], kids[1]);
	fclose(f);

	for (uint64_t round = 0; !restored; round++) {
		uint64_t stripe = round % 64;
		int st;
		pid_t c = fork();

		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (!c) {
			role = "checker";
			for (uint64_t q = (stripe + 32) % 64; q < pages; q += 64)
				check(1, p + q * page_size, q, 0);
			_exit(0);
		}
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			fail("round %llu: its child found a bad page",
			     (unsigned long long)round);
		for (uint64_t q = stripe; q < pages; q += 64)
			check(1, p + q * page_size, q, 0);
		pause_a_little();
	}
	writers_stop = 1;
	for (int i = 0; i < NR_WRITERS; i++)
		pthread_join(th[i], NULL);
	check_all(1, p, pages);
	for (int i = 0; i < 2; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			fail("child %d did not end well", kids[i]);
	}
	report("ok %s %d: checked %lu pages; writers ran %lu and %lu rounds\n",
	       role, getpid(), checked, writer_rounds[0], writer_rounds[1]);
	return 0;
}
