// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd selftest: the non-cooperative events (fork, remap, remove, unmap) and
 * the exit extension, and what a layout change does without them.
 */
#include "uffd_test.h"

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
	ASSERT_EQ(-1, read(fd, bad_buffer(), sizeof(msg)));	/* not lost */
	ASSERT_EQ(EFAULT, errno);
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

static int go_pipe[2];

/* Exit once told to. */
static void exit_when_told(int ufd)
{
	char b;

	_exit(read(go_pipe[0], &b, 1) == 1 ? 0 : 1);
}

struct exclusive_waiter {
	int ep;
	volatile int woken;
	pthread_t th;
};

static void *wait_exclusive(void *p)
{
	struct exclusive_waiter *w = p;
	struct epoll_event ev;

	if (epoll_wait(w->ep, &ev, 1, 20000) == 1)
		w->woken = 1;
	return NULL;
}

/*
 * End of file is news for every poller: of EPOLLEXCLUSIVE waiters, the
 * exit message wakes one, and once it is read, all the others are told.
 */
TEST(exit_wakes_every_poller)
{
	enum { WAITERS = 3 };
	struct exclusive_waiter w[WAITERS];
	struct uffd_msg msg;
	int fd, status, woken = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(go_pipe));
	pid = spawn_target(UFFD_FEATURE_EVENT_EXIT, exit_when_told, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	for (int i = 0; i < WAITERS; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

		w[i] = (struct exclusive_waiter){ .ep = epoll_create1(0) };
		ASSERT_LE(0, w[i].ep);
		ASSERT_EQ(0, epoll_ctl(w[i].ep, EPOLL_CTL_ADD, fd, &ev));
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, wait_exclusive, &w[i]));
	}
	usleep(100000);			/* all asleep in epoll_wait() */
	ASSERT_EQ(1, write(go_pipe[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_EXIT, msg.event);
	for (int i = 0; i < WAITERS; i++) {
		wait_done(&w[i].woken, 5000);
		woken += w[i].woken;
	}
	ASSERT_EQ(WAITERS, woken);
	for (int i = 0; i < WAITERS; i++) {
		pthread_join(w[i].th, NULL);
		close(w[i].ep);
	}
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

/* ---- hardening: event lifetimes --------------------------------------- */

static void *raise_remove(void *p)
{
	madvise(p, pgsz, MADV_DONTNEED);
	return NULL;
}

/* Spin on a non-blocking read, to take each event the moment it is queued. */
struct spinreader {
	int fd;
	volatile bool stop;
	int events, errors;
	pthread_t th;
};

static void *spin_read(void *p)
{
	struct spinreader *r = p;
	struct uffd_msg msg;
	ssize_t n;

	while (!r->stop) {
		n = read(r->fd, &msg, sizeof(msg));
		if (n == sizeof(msg) && msg.event == UFFD_EVENT_REMOVE)
			r->events++;
		else if (n >= 0 || errno != EAGAIN)
			r->errors++;
	}
	return NULL;
}

/*
 * Raisers that return the moment their event is read, and then exit,
 * racing readers that take the events at once: whoever finishes an event
 * must not touch it afterwards (it lives on the raiser's stack), nor the
 * raiser's task.  A bounded stress; KASAN and the log scan judge it.
 */
TEST_F_TIMEOUT(events, finish_races_raiser_exit, 120)
{
	enum { READERS = 2, BATCH = 8, ROUNDS = 150 };
	struct spinreader r[READERS];
	pthread_t th[BATCH];
	int raised = 0, got = 0;

	for (int i = 0; i < READERS; i++) {
		r[i] = (struct spinreader){ .fd = self->fd };
		ASSERT_EQ(0, pthread_create(&r[i].th, NULL, spin_read, &r[i]));
	}
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, raise_remove,
						    self->area + i * pgsz));
		for (int i = 0; i < BATCH; i++)
			pthread_join(th[i], NULL);
		raised += BATCH;
	}
	for (int i = 0; i < READERS; i++) {
		r[i].stop = true;
		pthread_join(r[i].th, NULL);
		EXPECT_EQ(0, r[i].errors);
		got += r[i].events;
	}
	/* Every raiser returned because its event was read, once. */
	ASSERT_EQ(raised, got);
}

/* Register a page and fork once; the fork waits for the monitor. */
static void fork_once(int ufd)
{
	char *a = map_anon(pgsz);

	if (!a || do_register(ufd, a, pgsz, UFFDIO_REGISTER_MODE_MISSING, NULL))
		_exit(1);
	if (fork() == 0)
		_exit(0);
	_exit(2);
}

/* Make the next fd this process creates fail with EMFILE. */
static int no_more_fds(struct rlimit *old)
{
	struct rlimit rl;
	int next = dup(2);

	if (next < 0 || close(next) || getrlimit(RLIMIT_NOFILE, old))
		return -1;
	rl = *old;
	rl.rlim_cur = next;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * A fork event whose read fails (no fd left for the child) goes back on
 * the queue, and readers waiting for one are told again: an edge-
 * triggered epoll waiter sees a second edge.
 */
TEST(fork_read_fails_requeued)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct uffd_msg msg;
	struct rlimit old;
	int fd, ep, status;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	pid = spawn_target(UFFD_FEATURE_EVENT_FORK, fork_once, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 5000));	/* the fork is queued */

	ASSERT_EQ(0, no_more_fds(&old));
	ASSERT_EQ(-1, read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(EMFILE, errno);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 5000));	/* put back, told again */

	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_FORK, msg.event);
	ASSERT_LE(0, msg.arg.fork.ufd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(2, WEXITSTATUS(status));
	while (waitpid(-1, &status, 0) > 0)	/* the grandchild */
		;
	close(msg.arg.fork.ufd);
	close(ep);
	close(fd);
}

/* As fork_once, with a slow exit watch to register for the child. */
static void fork_once_slow_watch(int ufd)
{
	if (fragment_address_space(3000))
		_exit(1);
	fork_once(ufd);
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

struct killer {
	pid_t pid;
	long delay_us;
	long at;		/* when the kill was sent */
};

static void *kill_after(void *p)
{
	struct killer *k = p;

	usleep(k->delay_us);
	k->at = now_us();
	kill(k->pid, SIGKILL);
	return NULL;
}

/* Reap @pid within @ms; false if it is still there. */
static bool reaped_within(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * A forker killed while a reader holds its fork event (registering the
 * child's exit watch, which takes long here), and the read then fails (no
 * fd left): the forker must be let go, not left waiting for a read that
 * may never come.  The first round times a read; the others spread the
 * kill over that time, so some land while the reader holds the event.
 */
TEST_F_TIMEOUT(uffd, killed_forker_failing_reader, 180)
{
	enum { ROUNDS = 16 };
	int fd, status, failed = 0, stuck = 0, during = 0;
	long read_us = 0, start, end;
	struct uffd_msg msg;
	struct rlimit old;
	struct killer k;
	pthread_t th;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	for (int round = 0; round < ROUNDS; round++) {
		k.pid = spawn_target(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_EXIT,
				     fork_once_slow_watch, &fd);
		ASSERT_LE(0, k.pid);
		ASSERT_LE(0, fd);
		ASSERT_TRUE(msg_queued(fd, 20000));
		/* Round 0 kills well after the read, to time it. */
		k.delay_us = round ? read_us * (round - 1) / (ROUNDS - 2) : 1000000;
		ASSERT_EQ(0, pthread_create(&th, NULL, kill_after, &k));
		ASSERT_EQ(0, no_more_fds(&old));
		start = now_us();
		if (read(fd, &msg, sizeof(msg)) < 0 && errno == EMFILE)
			failed++;
		end = now_us();
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
		pthread_join(th, NULL);
		if (!round)
			read_us = end - start;
		else if (k.at > start && k.at < end)
			during++;
		if (!reaped_within(k.pid, 10000)) {
			stuck++;
			/* Release it for the next round: read what it waits on. */
			while (read_msg(fd, &msg, 1000) == 1)
				if (msg.event == UFFD_EVENT_FORK)
					close(msg.arg.fork.ufd);
			waitpid(k.pid, &status, 0);
		}
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		close(fd);
	}
	TH_LOG("failing read: %ld us; %d rounds, %d failed, %d killed in it, %d stuck",
	       read_us, ROUNDS, failed, during, stuck);
	ASSERT_EQ(0, stuck);
}

/*
 * An event read into a bad buffer is not lost: read() fails with EFAULT,
 * the raiser still waits, and the next read gets the event.  A buffer
 * that is merely not resident yet is faulted in.
 */
TEST_F(events, bad_buffer_keeps_event)
{
	struct madv m = { self->area, pgsz, MADV_DONTNEED };
	char *fresh = map_anon(pgsz);
	struct uffd_msg *msg = (struct uffd_msg *)fresh;
	struct job j;

	ASSERT_NE(NULL, fresh);
	ASSERT_EQ(0, job_start(&j, do_madvise, &m));
	ASSERT_TRUE(msg_queued(self->fd, 5000));
	ASSERT_EQ(-1, read(self->fd, bad_buffer(), sizeof(*msg)));
	ASSERT_EQ(EFAULT, errno);
	usleep(50000);
	ASSERT_EQ(0, j.done);			/* still waiting for us */
	ASSERT_TRUE(msg_queued(self->fd, 0));
	/* Never touched: not resident until the kernel faults it in. */
	ASSERT_EQ(sizeof(*msg), read(self->fd, fresh, sizeof(*msg)));
	ASSERT_EQ(UFFD_EVENT_REMOVE, msg->event);
	ASSERT_EQ((unsigned long)self->area, msg->arg.remove.start);
	pthread_join(j.th, NULL);
	ASSERT_EQ(0, j.ret);
	munmap(fresh, pgsz);
}

/* The lowest fd number free in this process. */
static int lowest_free_fd(void)
{
	int fd = dup(2);

	close(fd);
	return fd;
}

/*
 * The same for a fork event, whose fd is made in the reading process:
 * a failed read installs nothing, and the next one hands the fd over.
 */
TEST(fork_bad_buffer_keeps_event)
{
	struct uffd_msg msg;
	int fd, status, before;
	void *bad;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	pid = spawn_target(UFFD_FEATURE_EVENT_FORK, fork_once, &fd);
	ASSERT_LE(0, pid);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(msg_queued(fd, 5000));
	bad = bad_buffer();
	before = lowest_free_fd();
	ASSERT_EQ(-1, read(fd, bad, sizeof(msg)));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(before, lowest_free_fd());	/* no fd left behind */
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));	/* still forking */
	ASSERT_EQ(1, read_msg(fd, &msg, 5000));
	ASSERT_EQ(UFFD_EVENT_FORK, msg.event);
	ASSERT_EQ(before, msg.arg.fork.ufd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(2, WEXITSTATUS(status));
	while (waitpid(-1, &status, 0) > 0)
		;
	close(msg.arg.fork.ufd);
	close(fd);
}

TEST_HARNESS_MAIN
