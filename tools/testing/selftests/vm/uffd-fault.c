// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: the fault path: messages, read and poll, waking, signals,
 * kernel-mode faults, many threads and monitors, and what happens to
 * faults when the fd is closed or the target exits.
 */
#include <sys/uio.h>

#include "uffd_test.h"

/* ---- the fault path ---------------------------------------------------- */

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

/* Installed without SA_RESTART: a blocked read() returns EINTR. */
static volatile int usr1_seen;

static void on_usr1(int sig)
{
	usr1_seen++;
}

/*
 * Several threads blocked in read() on one fd: a message wakes one of
 * them, not all.  A reader woken for a message another reader took goes
 * back to sleep, which counts one more voluntary context switch; the
 * readers left blocked must count none.
 */
struct reader {
	int fd;
	pid_t tid;
	volatile int state;	/* 1: about to read, 2: read returned */
	ssize_t ret;
	struct uffd_msg msg;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->tid = gettid();
	r->state = 1;
	r->ret = read(r->fd, &r->msg, sizeof(r->msg));
	r->state = 2;
	return NULL;
}

/* A field of /proc/self/task/@tid/status, or -1. */
static long task_status(pid_t tid, const char *field)
{
	char path[64], line[128];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Is @tid asleep (state S)? */
static bool task_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool s;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	s = p && p[1] == ' ' && p[2] == 'S';
	return s;
}

/* Wait (5 s at most) for @r to be asleep in its read(); is it? */
static bool reader_blocked(struct reader *r)
{
	for (int ms = 0; (r->state != 1 || !task_sleeping(r->tid)) &&
			 ms < 5000; ms++)
		usleep(1000);
	return task_sleeping(r->tid);
}

#define READERS	4

TEST(blocked_readers_woken_one_per_message)
{
	char *a = map_anon(READERS * pgsz);
	int fd = new_uffd(true, 0);
	struct reader r[READERS];
	struct toucher t[READERS];
	pthread_t rth[READERS], tth[READERS];
	long csw[READERS];

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, do_register(fd, a, READERS * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < READERS; i++) {
		r[i] = (struct reader){ .fd = fd };
		ASSERT_EQ(0, pthread_create(&rth[i], NULL, reader_main, &r[i]));
	}
	for (int i = 0; i < READERS; i++)
		ASSERT_TRUE(reader_blocked(&r[i]));
	usleep(50000);

	for (int f = 0; f < READERS; f++) {
		int returned = 0;

		for (int i = 0; i < READERS; i++)
			csw[i] = task_status(r[i].tid, "voluntary_ctxt_switches");
		t[f] = (struct toucher){ .addr = a + f * pgsz };
		ASSERT_EQ(0, pthread_create(&tth[f], NULL, toucher_main, &t[f]));
		for (int ms = 0; ms < 5000; ms++) {
			returned = 0;
			for (int i = 0; i < READERS; i++)
				returned += r[i].state == 2;
			if (returned == f + 1)
				break;
			usleep(1000);
		}
		ASSERT_EQ(f + 1, returned);
		/* Time for a reader woken in vain to run and sleep again. */
		usleep(200000);
		returned = 0;
		for (int i = 0; i < READERS; i++) {
			returned += r[i].state == 2;
			if (r[i].state == 2)
				continue;
			EXPECT_EQ(csw[i], task_status(r[i].tid,
						      "voluntary_ctxt_switches"))
				TH_LOG("reader %d woken for fault %d", i, f);
		}
		ASSERT_EQ(f + 1, returned);
		ASSERT_EQ(0, do_zeropage(fd, a + f * pgsz, pgsz, 0, NULL));
		pthread_join(tth[f], NULL);
	}
	for (int i = 0; i < READERS; i++) {
		pthread_join(rth[i], NULL);
		ASSERT_EQ(sizeof(r[i].msg), r[i].ret);
	}
	close(fd);
	munmap(a, READERS * pgsz);
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Keep a CPU from every other thread for a while, at real-time priority. */
struct hog {
	int cpu, ms, err;
	volatile int done;
};

static void *hog_main(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };
	struct hog *h = arg;
	struct timespec t0, t;

	if (pin_to(h->cpu) || sched_setscheduler(0, SCHED_FIFO, &sp)) {
		h->err = errno;
		h->done = 1;
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 +
	       (t.tv_nsec - t0.tv_nsec) / 1000000 < h->ms);
	h->done = 1;
	return NULL;
}

/*
 * Readers woken for a message but kept off their CPU (here by a real-time
 * thread) hold up nobody: a message is left to a reader woken before it
 * only for a short hand-off time, after which another blocked reader is
 * woken, one after the other, until one that can run takes it.  Readers
 * 0 .. @starved - 1 block first, on CPU 0, and are woken first; the last
 * one, on CPU 1, must take a message while CPU 0 is kept busy.
 */
static void starved_readers(struct __test_metadata *_metadata, int starved)
{
	const int nr = starved + 1;
	char *a = map_anon(2 * pgsz);
	int fd = new_uffd(true, 0);
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no restart */
	struct hog h = { .cpu = 0, .ms = 500 };
	struct reader r[3];
	struct toucher t[2];
	pthread_t rth[3], tth[2], hth;
	unsigned long seen = 0;
	int returned = 0;

	ASSERT_LE(nr, 3);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, do_register(fd, a, 2 * pgsz, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	for (int i = 0; i < nr; i++) {
		if (pin_to(i < starved ? 0 : 1))
			SKIP(return, "CPUs 0 and 1 are not both ours");
		r[i] = (struct reader){ .fd = fd };
		ASSERT_EQ(0, pthread_create(&rth[i], NULL, reader_main, &r[i]));
		ASSERT_TRUE(reader_blocked(&r[i]));
	}
	/* Everything else on CPU 1; CPU 0 busy, so its readers cannot run. */
	ASSERT_EQ(0, pthread_create(&hth, NULL, hog_main, &h));
	usleep(100000);
	if (h.err) {
		pthread_join(hth, NULL);
		if (h.err == EPERM)
			SKIP(return, "no real-time priority here");
		ASSERT_EQ(0, h.err);
	}
	for (int i = 0; i < 2; i++) {
		t[i] = (struct toucher){ .addr = a + i * pgsz };
		ASSERT_EQ(0, pthread_create(&tth[i], NULL, toucher_main, &t[i]));
	}
	while (!h.done && r[starved].state != 2)
		usleep(1000);
	ASSERT_EQ(2, r[starved].state)
		TH_LOG("the reader on CPU 1 slept while %d were kept from theirs",
		       starved);
	pthread_join(hth, NULL);
	/* Two messages: two readers return; any other blocks again. */
	for (int ms = 0; ms < 5000 && returned < 2; ms++) {
		usleep(1000);
		returned = 0;
		for (int i = 0; i < nr; i++)
			returned += r[i].state == 2;
	}
	ASSERT_EQ(2, returned);
	for (int i = 0; i < nr; i++) {
		if (r[i].state != 2) {
			pthread_kill(rth[i], SIGUSR1);
			pthread_join(rth[i], NULL);
			ASSERT_EQ(-1, r[i].ret);
			continue;
		}
		pthread_join(rth[i], NULL);
		ASSERT_EQ(sizeof(r[i].msg), r[i].ret);
		seen |= 1UL << ((r[i].msg.arg.pagefault.address -
				 (unsigned long)a) / pgsz);
	}
	ASSERT_EQ(3, seen);
	ASSERT_EQ(0, do_zeropage(fd, a, 2 * pgsz, 0, NULL));
	for (int i = 0; i < 2; i++)
		pthread_join(tth[i], NULL);
	close(fd);
	munmap(a, 2 * pgsz);
}

TEST(starved_reader_holds_up_nobody)
{
	starved_readers(_metadata, 1);
}

/* The hand-off goes on past a second starved reader. */
TEST(starved_readers_hold_up_nobody)
{
	starved_readers(_metadata, 2);
}

/* Touch @n pages from @addr, one after the other. */
struct serial_toucher {
	char *addr;
	int n;
};

static void *serial_toucher_main(void *arg)
{
	struct serial_toucher *t = arg;

	for (int i = 0; i < t->n; i++)
		*(volatile char *)(t->addr + i * pgsz) = 1;
	return NULL;
}

/*
 * Serve @n faults in a row on @a with blocking reads, CPU 0 kept busy
 * meanwhile; *@ms: how long they took.  A second thread has to run on
 * CPU 1 beside us, so under emulation the time counts both.
 */
static void serve_in_a_row(struct __test_metadata *_metadata, int fd,
			   char *a, int n, long *ms)
{
	struct serial_toucher t = { .addr = a, .n = n };
	struct hog h = { .cpu = 0, .ms = 500 };
	struct timespec t0, t1;
	pthread_t th, hth;
	struct uffd_msg msg;

	ASSERT_EQ(0, pthread_create(&hth, NULL, hog_main, &h));
	usleep(50000);
	ASSERT_EQ(0, h.err);
	/* Who runs first, the toucher or our read(), is the scheduler's. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, pthread_create(&th, NULL, serial_toucher_main, &t));
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)))
			TH_LOG("fault %d of %d never reached us", i + 1, n);
		ASSERT_EQ(0, do_zeropage(fd, (char *)(unsigned long)
					 msg.arg.pagefault.address, pgsz,
					 0, NULL));
	}
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	      (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ASSERT_EQ(0, h.done)
		TH_LOG("CPU 0 was free again before %d faults were served", n);
	pthread_join(hth, NULL);
}

#define IN_A_ROW	30

/*
 * A reader that stays starved costs a hand-off or two, not one per fault:
 * once the hand-off finds it still away, each fault wakes a blocked
 * reader at once, as if nobody were on the way.  So faults served in a
 * row while a reader woken for the first of them cannot run take about as
 * long as with no such reader, not IN_A_ROW hand-offs (4 ms each, at
 * least) more.  Either the first fault comes before our read() blocks, or
 * after, behind the starved reader: both must cost the same.
 */
TEST(starved_reader_slows_nobody)
{
	char *a = map_anon(2 * IN_A_ROW * pgsz);
	int fd = new_uffd(true, 0);
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no restart */
	struct hog probe = { .cpu = 0, .ms = 0 };
	long base, starved;
	struct reader r;
	pthread_t rth;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, do_register(fd, a, 2 * IN_A_ROW * pgsz,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&rth, NULL, hog_main, &probe));
	pthread_join(rth, NULL);
	if (probe.err == EPERM)
		SKIP(return, "no real-time priority here");
	ASSERT_EQ(0, probe.err);
	if (pin_to(0) || pin_to(1))
		SKIP(return, "CPUs 0 and 1 are not both ours");
	/* A read that nothing wakes fails the test instead of hanging it. */
	alarm(20);

	/* Served by us alone, on CPU 1. */
	serve_in_a_row(_metadata, fd, a, IN_A_ROW, &base);

	/* A reader on CPU 0 blocks first: the first fault wakes it. */
	ASSERT_EQ(0, pin_to(0));
	r = (struct reader){ .fd = fd };
	ASSERT_EQ(0, pthread_create(&rth, NULL, reader_main, &r));
	ASSERT_TRUE(reader_blocked(&r));
	ASSERT_EQ(0, pin_to(1));
	serve_in_a_row(_metadata, fd, a + IN_A_ROW * pgsz, IN_A_ROW, &starved);
	TH_LOG("%d faults in a row: %ld ms, %ld ms with a reader starved",
	       IN_A_ROW, base, starved);
	/* Each fault paced by the hand-off would take 4 ms at least. */
	EXPECT_GT(IN_A_ROW * 4, base);
	EXPECT_GT(base + IN_A_ROW * 4 / 2, starved);

	/* It ran at last and found nothing left: it blocks again. */
	pthread_kill(rth, SIGUSR1);
	pthread_join(rth, NULL);
	ASSERT_EQ(-1, r.ret);
	alarm(0);
	close(fd);
	munmap(a, 2 * IN_A_ROW * pgsz);
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

/*
 * A fault woken with nothing filled is not over: it faults again and the
 * monitor hears of it again, for each wake, until the page is there; from
 * user mode, and from the kernel (read(2) writing into the page).
 */
static void woken_unfilled_case(struct __test_metadata *_metadata,
				int fd, char *addr, bool kernel)
{
	struct toucher t = { .addr = addr, .write = true };
	struct kfault k = { .addr = addr };
	volatile int *done = kernel ? &k.done : &t.done;
	struct uffd_msg msg;
	int pipefd[2];
	pthread_t th;

	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(16, write(pipefd[1], "0123456789abcdef", 16));
	k.pipe_rd = pipefd[0];
	ASSERT_EQ(0, kernel ? pthread_create(&th, NULL, kfault_main, &k) :
			      pthread_create(&th, NULL, toucher_main, &t));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(1, read_msg(fd, &msg, 5000));
		ASSERT_EQ((unsigned long)addr, msg.arg.pagefault.address);
		ASSERT_EQ(UFFD_PAGEFAULT_FLAG_WRITE, msg.arg.pagefault.flags);
		ASSERT_EQ(0, *done);
		ASSERT_EQ(0, do_wake(fd, addr, pgsz));
	}
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(0, *done);
	ASSERT_EQ(0, do_zeropage(fd, addr, pgsz, 0, NULL));
	pthread_join(th, NULL);
	if (kernel) {
		ASSERT_EQ(16, k.ret);
		ASSERT_EQ(0, memcmp(addr, "0123456789abcdef", 16));
	} else {
		ASSERT_EQ(7, *addr);
	}
	/* Nothing more was queued once the page was there. */
	ASSERT_EQ(0, read_msg(fd, &msg, 100));
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_F(uffd, woken_unfilled_faults_again)
{
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	woken_unfilled_case(_metadata, self->fd, self->area + 3 * pgsz, false);
	woken_unfilled_case(_metadata, self->fd, self->area + 4 * pgsz, true);
}

/* get_user_pages() faulting for the kernel: vmsplice() of a missing page. */
struct gup_fault {
	char *addr;
	int pipe_wr;
	volatile int done;
	ssize_t ret;
};

static void *gup_fault_main(void *arg)
{
	struct gup_fault *g = arg;
	struct iovec iov = { .iov_base = g->addr, .iov_len = 64 };

	g->ret = vmsplice(g->pipe_wr, &iov, 1, 0);
	g->done = 1;
	return NULL;
}

TEST_F(uffd, gup_fault)
{
	struct gup_fault g = { .addr = self->area + 2 * pgsz };
	char pat[4096] __attribute__((aligned(4096)));
	char buf[64];
	struct uffd_msg msg;
	int pipefd[2];
	pthread_t th;

	ASSERT_LE(pgsz, sizeof(pat));
	fill_pattern(pat, 2);
	ASSERT_EQ(0, pipe(pipefd));
	g.pipe_wr = pipefd[1];
	ASSERT_EQ(0, do_register(self->fd, self->area, self->len,
				 UFFDIO_REGISTER_MODE_MISSING, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, gup_fault_main, &g));
	ASSERT_EQ(1, read_msg(self->fd, &msg, 5000));
	ASSERT_EQ((unsigned long)g.addr, msg.arg.pagefault.address);
	/* vmsplice() only reads the page. */
	ASSERT_EQ(0, msg.arg.pagefault.flags);
	usleep(100000);
	ASSERT_EQ(0, g.done);
	ASSERT_EQ(0, do_copy(self->fd, g.addr, pat, pgsz, 0, NULL));
	pthread_join(th, NULL);
	ASSERT_EQ(64, g.ret);
	ASSERT_EQ(64, read(pipefd[0], buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, pat, sizeof(buf)));
	ASSERT_EQ(0, read_msg(self->fd, &msg, 100));
	close(pipefd[0]);
	close(pipefd[1]);
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

/*
 * @n workers (at most 16) read every page of [@base, @base + @len).
 * Return: how many pages read wrong, or -1 if a worker did not start.
 */
static int run_workers(char *base, size_t len, int n)
{
	struct worker w[16];
	pthread_t th[16];
	int bad = 0, started;

	for (started = 0; started < n && started < 16; started++) {
		w[started] = (struct worker){ .base = base, .len = len,
					      .id = started, .nworkers = n };
		if (pthread_create(&th[started], NULL, worker_main, &w[started]))
			break;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	return started == n ? bad : -1;
}

TEST_F_TIMEOUT(uffd, many_threads_many_monitors, 120)
{
	enum { WORKERS = 16, MONITORS = 3, PAGES = 512 };
	size_t len = PAGES * pgsz;
	char *a = map_anon(len);
	struct monitor m[MONITORS];
	int served = 0, eexist = 0;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	for (int i = 0; i < MONITORS; i++)
		ASSERT_EQ(0, monitor_start(&m[i], self->fd, a, len));
	EXPECT_EQ(0, run_workers(a, len, WORKERS));
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

/*
 * Blocked readers that take one message at a time, each resolving what it
 * read, under many faulting threads: every fault is served once.  Told to
 * stop by a signal (SIGUSR1, not restarted), as their read() blocks.
 */
static void *blocked_monitor_main(void *arg)
{
	struct monitor *m = arg;
	char *src = aligned_alloc(pgsz, pgsz);
	struct uffd_msg msg;

	while (!m->stop && src) {
		if (read(m->fd, &msg, sizeof(msg)) == sizeof(msg))
			monitor_serve(m, &msg, src);
		else if (errno != EINTR)
			m->errors++;
	}
	free(src);
	return NULL;
}

TEST_F_TIMEOUT(uffd, blocked_readers_one_message_each, 120)
{
	enum { WORKERS = 16, NREADERS = 4, PAGES = 512 };
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no restart */
	size_t len = PAGES * pgsz;
	char *a = map_anon(len);
	int fd = new_uffd(true, 0);
	struct monitor m[NREADERS];
	int served = 0;

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, do_register(fd, a, len, UFFDIO_REGISTER_MODE_MISSING, NULL));
	for (int i = 0; i < NREADERS; i++) {
		m[i] = (struct monitor){ .fd = fd, .base = a, .len = len };
		ASSERT_EQ(0, pthread_create(&m[i].thread, NULL,
					    blocked_monitor_main, &m[i]));
	}
	EXPECT_EQ(0, run_workers(a, len, WORKERS));
	for (int i = 0; i < NREADERS; i++) {
		m[i].stop = true;
		/* Until it has seen stop: a signal before it blocks is lost. */
		do
			pthread_kill(m[i].thread, SIGUSR1);
		while (pthread_tryjoin_np(m[i].thread, NULL) && !usleep(1000));
		EXPECT_EQ(0, m[i].errors);
		served += m[i].served;
	}
	EXPECT_EQ(PAGES, served);
	close(fd);
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

/* Writes: the first fault in each PMD asks for a huge page. */
TEST_F_TIMEOUT(uffd, thp_range_write, 60)
{
	size_t len = 4UL << 20;
	char *raw = map_anon(len * 2), *a;
	char want[4096] __attribute__((aligned(8)));
	struct monitor m;

	ASSERT_NE(NULL, raw);
	ASSERT_LE(pgsz, sizeof(want));
	a = (char *)(((unsigned long)raw + len - 1) & ~(len - 1));
	madvise(a, len, MADV_HUGEPAGE);
	ASSERT_EQ(0, do_register(self->fd, a, len, UFFDIO_REGISTER_MODE_MISSING,
				 NULL));
	ASSERT_EQ(0, monitor_start(&m, self->fd, a, len));
	for (size_t i = 0; i < len / pgsz; i += 97) {
		a[i * pgsz + 1] = 0x5a;
		/* The monitor's page, with the write on top of it. */
		fill_pattern(want, i);
		want[1] = 0x5a;
		ASSERT_EQ(0, memcmp(a + i * pgsz, want, pgsz));
	}
	monitor_stop(&m);
	EXPECT_EQ(0, m.errors);
	EXPECT_LE(len / pgsz / 97, m.served);
	munmap(raw, len * 2);
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

TEST_HARNESS_MAIN
