// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-exit: what does a process's exit cost, with and without the exit
 * event?  The exit extension promises that a process whose address space
 * no monitor watches pays nothing for it: there is no hook in the exit
 * path, only an mmu notifier on the address spaces that asked.
 *
 * Each iteration forks a child, which (by mode) does
 *	plain	nothing: it never touches userfaultfd (compare the kernels);
 *	uffd	opens a userfaultfd with no features, then exits;
 *	watched	opens one asking for UFFD_FEATURE_EVENT_EXIT, then exits;
 * and the parent waits for it.  The time is per fork+exit+wait.
 *
 * usage: uffd-exit plain|uffd|watched ITERATIONS
 * prints: mode=M n=N ns_per_fork_exit=X (or =unsupported)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef UFFD_FEATURE_EVENT_EXIT		/* our extension */
#define UFFD_FEATURE_EVENT_EXIT	(1 << 30)
#endif

/* The child's work before it exits; its exit status. */
static int open_uffd(unsigned long long features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		return 1;
	return 0;	/* the fd goes with the exit */
}

int main(int argc, char **argv)
{
	unsigned long long features = 0;
	const char *mode;
	int n, status;
	bool plain;
	double t0;

	if (argc != 3)
		return fprintf(stderr, "usage: uffd-exit plain|uffd|watched N\n"), 2;
	mode = argv[1];
	n = atoi(argv[2]);
	plain = !strcmp(mode, "plain");
	if (!strcmp(mode, "watched"))
		features = UFFD_FEATURE_EVENT_EXIT;
	else if (!plain && strcmp(mode, "uffd"))
		return fprintf(stderr, "uffd-exit: unknown mode %s\n", mode), 2;

	/* A kernel without the mode prints "unsupported", not a number. */
	if (!plain && open_uffd(features)) {
		printf("mode=%s n=%d ns_per_fork_exit=unsupported\n", mode, n);
		return 0;
	}
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("uffd-exit: fork");
			return 1;
		}
		if (pid == 0)
			_exit(plain ? 0 : open_uffd(features));
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "uffd-exit: child failed\n");
			return 1;
		}
	}
	printf("mode=%s n=%d ns_per_fork_exit=%.0f\n", mode, n,
	       (now_ns() - t0) / n);
	return 0;
}
