// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-tput: how many faults per second a monitor serves when T threads
 * fault at once on one userfaultfd, as a post-copy destination with one
 * thread per vCPU does.
 *
 * T threads each write the first byte of every page of their own share of
 * one registered area (FAULTS pages in all).  R monitor threads wait on the
 * same fd, read up to 64 messages at a time and resolve each fault with
 * one UFFDIO_COPY; with -b they copy a batch without waking (DONTWAKE) and
 * wake it with one UFFDIO_WAKE over the batch's span.  Timed from the
 * moment the faulting threads are let go until the last of them is done.
 *
 * With two CPUs or more, monitors run on CPU 0 and faulting threads on the
 * others, as a VMM keeps its handler threads apart from its vCPU threads:
 * left to the scheduler, one run puts the monitor beside the faulter and
 * the next apart, and the figures jump between two modes.
 *
 * The monitors' stacks come from one mapping of the same size whatever
 * their number (up to MAX_MONITORS): where the faulting threads' stacks
 * land in the address space costs faults a percent or so either way (one
 * more 8 MiB mapping before them does it, on either kernel, with no
 * thread at all), and more monitors with stacks of their own would be
 * charged for that rather than for reading.
 *
 * Wakeups are counted as the monitors' voluntary context switches (each
 * time a monitor sleeps, something has to wake it): a reader woken for a
 * message another reader took sleeps again and counts one more.  Reads
 * that find nothing (poll modes) are counted as empty.
 *
 * Under -icount QEMU runs one vCPU at a time, and a vCPU that never goes
 * idle keeps its turn until the machine's next timer deadline, a tick
 * away at worst: an interrupt it sends (the wake of the monitor when a
 * thread faults) waits until then, whereas a real machine delivers it
 * within a microsecond.  Other runs let the CPUs go idle often enough
 * for that not to matter (and -q would cost them 3 to 5%); with -c,
 * whose thread keeps CPU 1 busy, the figure would be the emulator's
 * turns.  -q keeps a timer deadline at most US away, so that no turn is
 * longer (README, Benchmarks).
 *
 * usage: uffd-tput [-m anon|memfd|hugetlb] [-r MONITORS]
 *                  [-w read|poll|epoll|epollx] [-b] [-c] [-q US]
 *                  THREADS FAULTS
 *   -w  how monitors wait: blocking read(); poll() on a non-blocking fd;
 *       epoll, each monitor with its own epoll instance; epollx, the same
 *       with EPOLLEXCLUSIVE
 *   -c  another thread maps, protects and unmaps unrelated memory of the
 *       process all along (mmap_lock taken for write over and over)
 *   -q  a thread on CPU 0 sleeps US microseconds at a time all along,
 *       for the emulator (above); 0, the default, is none.  Where it
 *       preempts a monitor, that counts in preempted_per_fault.
 * prints: faults=N threads=T monitors=R faults_per_s=X us_per_fault=Y
 *         wakeups_per_fault=Z preempted_per_fault=P empty_reads=E
 *         [mappings_per_fault=M mappings_per_s=S: the -c thread's rounds
 *         in the timed region, per fault and per second]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BATCH	64
#define MAX_MONITORS	16
#define MONITOR_STACK	(256 << 10)

enum wait_mode { W_READ, W_POLL, W_EPOLL, W_EPOLLX };

static int fd, nthreads, nmonitors, nfaults, turn_us;
static enum wait_mode wait_mode = W_READ;
static bool batch, contend;
static long page;
static char *area, *src;
static volatile int go, stop;
/*
 * contender()'s rounds: how much of CPU 1 the faulting threads left it,
 * and whether they held up its mmap_lock writes
 */
static volatile long contender_rounds;
static pthread_barrier_t done;	/* every faulting thread and main */

struct monitor {
	pthread_t th;
	pid_t tid;
	long resolved, empty;
};

/* Run the calling thread on CPU 0 (@monitor) or on the others. */
static void pin(bool monitor)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	if (monitor)
		CPU_SET(0, &set);
	else
		for (long c = 1; c < ncpu && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fail("sched_setaffinity");
}

static void *faulter(void *arg)
{
	long id = (long)arg, per = nfaults / nthreads;
	char *p = area + id * per * page;

	pin(false);

	while (!go)
		;
	for (long i = 0; i < per; i++)
		p[i * page] = 1;
	pthread_barrier_wait(&done);
	return NULL;
}

static void resolve(struct monitor *m, struct uffd_msg *msgs, int n)
{
	unsigned long lo = ~0UL, hi = 0;

	for (int i = 0; i < n; i++) {
		unsigned long a;
		struct uffdio_copy c;

		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		a = msgs[i].arg.pagefault.address & ~(page - 1);
		c = (struct uffdio_copy){ .dst = a, .src = (unsigned long)src,
			.len = page,
			.mode = batch ? UFFDIO_COPY_MODE_DONTWAKE : 0 };
		/* Another monitor may have resolved it already. */
		if (ioctl(fd, UFFDIO_COPY, &c) && errno != EEXIST)
			fail("UFFDIO_COPY");
		lo = a < lo ? a : lo;
		hi = a + page > hi ? a + page : hi;
		m->resolved++;
	}
	if (batch && hi) {
		struct uffdio_range r = { .start = lo, .len = hi - lo };

		if (ioctl(fd, UFFDIO_WAKE, &r))
			fail("UFFDIO_WAKE");
	}
}

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	struct uffd_msg msgs[BATCH];
	int ep = -1;

	__atomic_store_n(&m->tid, gettid(), __ATOMIC_RELEASE);
	pin(true);
	if (wait_mode >= W_EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (wait_mode == W_EPOLLX)
			ev.events |= EPOLLEXCLUSIVE;
		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			fail("epoll");
	}
	while (!stop) {
		ssize_t n;

		if (wait_mode == W_POLL) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				fail("poll");
		} else if (ep >= 0) {
			struct epoll_event ev;

			if (epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
				fail("epoll_wait");
		}
		if (stop)
			break;
		n = read(fd, msgs, sizeof(msgs));
		if (n < 0) {
			if (errno == EAGAIN)
				m->empty++;
			else if (errno != EINTR)
				fail("read");
			continue;
		}
		resolve(m, msgs, n / sizeof(msgs[0]));
	}
	if (ep >= 0)
		close(ep);
	return NULL;
}

/* A VMM's or a garbage collector's life: mmap_lock written all along. */
static void *contender(void *arg)
{
	pin(false);
	while (!stop) {
		char *p = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			fail("mmap");
		contender_rounds++;
		p[0] = 1;
		mprotect(p, 8 * page, PROT_READ);
		munmap(p, 16 * page);
	}
	return arg;
}

/* -q: a timer deadline never more than turn_us away (see the top). */
static void *turn_timer(void *arg)
{
	struct timespec ts = { .tv_nsec = turn_us * 1000L };

	/* Any vCPU's deadline ends every turn: CPU 1 is left as it was. */
	pin(true);
	/* The default slack (50 us) would let each expiry slip that far. */
	if (prctl(PR_SET_TIMERSLACK, 1UL))
		fail("PR_SET_TIMERSLACK");
	while (!stop)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	return arg;
}

/* A monitor's context switches: voluntary (@key "voluntary") or not. */
static long ctxt_switches(pid_t tid, const char *key)
{
	char path[64], line[128];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		fail(path);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    !strncmp(line + strlen(key), "_ctxt_switches:", 15))
			v = atol(line + strlen(key) + 15);
	fclose(f);
	return v;
}

static void on_signal(int sig)
{
	(void)sig;
}

static char *map_area(const char *mem, size_t len)
{
	int flags = MAP_SHARED, mfd = -1;
	char *p;

	if (!strcmp(mem, "anon")) {
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
	} else {
		mfd = memfd_create("uffd-tput", !strcmp(mem, "hugetlb") ?
				   MFD_HUGETLB : 0);
		if (mfd < 0 || ftruncate(mfd, len))
			fail("memfd");
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, mfd, 0);
	if (p == MAP_FAILED)
		fail("mmap area");
	if (mfd >= 0)
		close(mfd);
	return p;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *mem = "anon";
	struct monitor *mons;
	pthread_t *th, cth, tth;
	char *stacks;
	long rounds0, rounds1;
	long before = 0, after = 0, empty = 0, resolved = 0;
	long pre_before = 0, pre_after = 0;
	double t0, t;
	int opt;

	nmonitors = 1;
	while ((opt = getopt(argc, argv, "m:r:w:bcq:")) != -1) {
		switch (opt) {
		case 'm': mem = optarg; break;
		case 'r': nmonitors = atoi(optarg); break;
		case 'w':
			wait_mode = !strcmp(optarg, "poll") ? W_POLL :
				    !strcmp(optarg, "epoll") ? W_EPOLL :
				    !strcmp(optarg, "epollx") ? W_EPOLLX : W_READ;
			break;
		case 'b': batch = true; break;
		case 'c': contend = true; break;
		case 'q': turn_us = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	nthreads = atoi(argv[optind]);
	nfaults = atoi(argv[optind + 1]);
	if (nthreads < 1 || nmonitors < 1 || nmonitors > MAX_MONITORS ||
	    nfaults < nthreads || nfaults % nthreads ||
	    turn_us < 0 || turn_us >= 1000000)
		goto usage;
	page = strcmp(mem, "hugetlb") ? sysconf(_SC_PAGESIZE) : 2L << 20;

	/* Blocked readers stop on a signal: no SA_RESTART. */
	sigaction(SIGUSR1, &sa, NULL);
	fd = syscall(__NR_userfaultfd, O_CLOEXEC |
		     (wait_mode == W_READ ? 0 : O_NONBLOCK));
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		fail("userfaultfd");
	area = map_area(mem, (size_t)nfaults * page);
	src = aligned_alloc(page, page);
	mons = calloc(nmonitors, sizeof(*mons));
	th = calloc(nthreads, sizeof(*th));
	if (!src || !mons || !th)
		fail("memory");
	if (pthread_barrier_init(&done, NULL, nthreads + 1))
		fail("pthread_barrier_init");
	memset(src, 1, page);
	reg.range.start = (unsigned long)area;
	reg.range.len = (size_t)nfaults * page;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER");

	stacks = mmap(NULL, (size_t)MAX_MONITORS * MONITOR_STACK,
		      PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stacks == MAP_FAILED)
		fail("mmap stacks");
	for (int i = 0; i < nmonitors; i++) {
		pthread_attr_t attr;

		if (pthread_attr_init(&attr) ||
		    pthread_attr_setstack(&attr, stacks + i * MONITOR_STACK,
					  MONITOR_STACK) ||
		    pthread_create(&mons[i].th, &attr, monitor_main, &mons[i]))
			fail("pthread_create");
		pthread_attr_destroy(&attr);
	}
	/* Running before the faulting threads spin: their tids are needed. */
	for (int i = 0; i < nmonitors; i++)
		while (!__atomic_load_n(&mons[i].tid, __ATOMIC_ACQUIRE))
			usleep(1000);
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, faulter, (void *)i))
			fail("pthread_create");
	if (contend && pthread_create(&cth, NULL, contender, NULL))
		fail("pthread_create");
	if (turn_us && pthread_create(&tth, NULL, turn_timer, NULL))
		fail("pthread_create");
	usleep(100000);		/* every monitor waiting */
	for (int i = 0; i < nmonitors; i++) {
		before += ctxt_switches(mons[i].tid, "voluntary");
		pre_before += ctxt_switches(mons[i].tid, "nonvoluntary");
	}

	profile_mark(0);
	rounds0 = contender_rounds;
	t0 = now_ns();
	go = 1;
	/* Blocked, not polling: a timer every few faults would be timed too. */
	pthread_barrier_wait(&done);
	t = now_ns() - t0;
	rounds1 = contender_rounds;
	profile_mark(1);
	for (int i = 0; i < nmonitors; i++) {
		after += ctxt_switches(mons[i].tid, "voluntary");
		pre_after += ctxt_switches(mons[i].tid, "nonvoluntary");
	}

	stop = 1;
	for (int i = 0; i < nmonitors; i++) {
		/* Until it sees stop: a signal before it blocks is lost. */
		do
			pthread_kill(mons[i].th, SIGUSR1);
		while (pthread_timedjoin_np(mons[i].th, NULL,
					    &(struct timespec){ 0 }) &&
		       !usleep(1000));
		empty += mons[i].empty;
		resolved += mons[i].resolved;
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (contend)
		pthread_join(cth, NULL);
	if (turn_us)
		pthread_join(tth, NULL);
	if (resolved < nfaults) {
		fprintf(stderr, "uffd-tput: %ld of %d faults resolved\n",
			resolved, nfaults);
		return 1;
	}
	printf("faults=%d threads=%d monitors=%d faults_per_s=%.0f "
	       "us_per_fault=%.2f wakeups_per_fault=%.3f "
	       "preempted_per_fault=%.3f empty_reads=%ld",
	       nfaults, nthreads, nmonitors, nfaults / (t / 1e9),
	       t / 1e3 / nfaults, (double)(after - before) / nfaults,
	       (double)(pre_after - pre_before) / nfaults, empty);
	if (contend)
		printf(" mappings_per_fault=%.2f mappings_per_s=%.0f",
		       (double)(rounds1 - rounds0) / nfaults,
		       (rounds1 - rounds0) / (t / 1e9));
	putchar('\n');
	return 0;
usage:
	fprintf(stderr, "usage: uffd-tput [-m anon|memfd|hugetlb] [-r MONITORS] "
		"[-w read|poll|epoll|epollx] [-b] [-c] [-q US] THREADS FAULTS\n");
	return 2;
}
