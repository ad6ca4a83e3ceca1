// SPDX-License-Identifier: GPL-2.0
/*
 * A snapshot page-fault handler in the shape of Firecracker's: a separate
 * process that listens on a Unix socket, receives the restored VM's
 * userfaultfd and a JSON description of its memory regions from the VMM
 * (fc-vm.c), and serves every fault from the snapshot memory file with
 * UFFDIO_COPY.  A balloon's MADV_DONTNEED reaches it as UFFD_EVENT_REMOVE;
 * the pages it names are served as zero pages from then on, because the
 * guest gave them back and expects them empty, not the snapshot's bytes.
 *
 *	fc-handler [-u] SOCKET SNAPSHOT_FILE
 *
 * It exits when the VMM closes the socket, after printing what it served
 * ("fc-handler: ..."), which the scenario checks against what the VMM
 * touched: every count is of messages read from the userfaultfd.
 *
 * With -u it answers a REMOVE as Firecracker's own example handlers have
 * since v1.14: it unregisters the range, so that the kernel fills the
 * next fault there with zeros (UFFDIO_ZEROPAGE does not exist for
 * hugetlb pages, the reason they changed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define MAX_REGIONS	8
#define NR_MSGS	64

/* What Firecracker's GuestRegionUffdMapping says of one region. */
struct region {
	uint64_t base;		/* base_host_virt_addr */
	uint64_t size;
	uint64_t offset;	/* of its contents in the snapshot file */
	uint64_t page_size;
	uint8_t *removed;	/* one byte per page: given back by the balloon */
};

static struct region regions[MAX_REGIONS];
static int nr_regions;
static const uint8_t *snapshot;
static uint64_t snapshot_size;
static int uffd;
static bool unregister_removed;

static struct {
	unsigned long faults, copied, zeroed, exists, again, removes;
	unsigned long removed_pages, unregistered, kernels;
} st;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fc-handler: FAIL: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

/* Firecracker sends [{"base_host_virt_addr":N,"size":N,"offset":N,"page_size":N},...]. */
static uint64_t json_field(const char *obj, const char *end, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p || p > end)
		die("mapping without \"%s\": %s", key, obj);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void parse_mappings(char *body)
{
	char *obj = body, *end;

	while ((obj = strchr(obj, '{'))) {
		struct region *r = &regions[nr_regions];

		end = strchr(obj, '}');
		if (!end || nr_regions == MAX_REGIONS)
			die("bad mappings: %s", body);
		r->base = json_field(obj, end, "base_host_virt_addr");
		r->size = json_field(obj, end, "size");
		r->offset = json_field(obj, end, "offset");
		r->page_size = json_field(obj, end, "page_size");
		if (!r->page_size || r->page_size & (r->page_size - 1) ||
		    r->size % r->page_size || r->offset + r->size > snapshot_size)
			die("region %d does not fit the snapshot", nr_regions);
		r->removed = calloc(r->size / r->page_size, 1);
		if (!r->removed)
			die("out of memory");
		nr_regions++;
		obj = end;
	}
	if (!nr_regions)
		die("no mappings in: %s", body);
}

/* The VMM's first message: the mappings, with the userfaultfd attached. */
static int receive_uffd(int sock)
{
	char body[4096], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { body, sizeof(body) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int fd;

	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		die("no message from the VMM");
	body[n] = 0;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		die("the VMM sent no file descriptor");
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	parse_mappings(body);
	return fd;
}

static struct region *find_region(uint64_t addr)
{
	for (int i = 0; i < nr_regions; i++)
		if (addr >= regions[i].base &&
		    addr - regions[i].base < regions[i].size)
			return &regions[i];
	return NULL;
}

/* Return: false if the fault must be retried once the queue is read. */
static bool serve_fault(uint64_t addr)
{
	struct region *r = find_region(addr);
	uint64_t page;
	int ret;

	if (!r)
		die("fault at %#" PRIx64 " outside every region", addr);
	page = (addr - r->base) / r->page_size;
	addr = r->base + page * r->page_size;
	if (r->removed[page]) {
		struct uffdio_zeropage z = {
			.range = { .start = addr, .len = r->page_size },
		};

		/* hugetlbfs has no zero page: copy zeros. */
		if (r->page_size == (uint64_t)getpagesize()) {
			ret = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		} else {
			static const uint8_t *zeros;
			struct uffdio_copy cp = {
				.dst = addr, .len = r->page_size,
			};

			if (!zeros)
				zeros = mmap(NULL, r->page_size, PROT_READ,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (zeros == MAP_FAILED)
				die("mmap: %s", strerror(errno));
			cp.src = (uintptr_t)zeros;
			ret = ioctl(uffd, UFFDIO_COPY, &cp);
		}
		if (!ret)
			st.zeroed++;
	} else {
		struct uffdio_copy cp = {
			.dst = addr, .len = r->page_size,
			.src = (uintptr_t)(snapshot + r->offset +
					   page * r->page_size),
		};

		ret = ioctl(uffd, UFFDIO_COPY, &cp);
		if (!ret)
			st.copied++;
	}
	if (!ret)
		return true;
	/*
	 * Unregistered after its REMOVE, the page is the kernel's to fill;
	 * a fault read in the same batch as the REMOVE was woken by the
	 * unregister.  A fill that worked there would have been the bug.
	 */
	if (unregister_removed && r->removed[page] && errno == ENOENT) {
		st.kernels++;
		return true;
	}
	/* Another thread's fault on the same page was served first. */
	if (errno == EEXIST) {
		st.exists++;
		return true;
	}
	/* A layout event (REMOVE) waits in the queue: read it first. */
	if (errno == EAGAIN) {
		st.again++;
		return false;
	}
	die("filling %#" PRIx64 ": %s", addr, strerror(errno));
	return false;
}

static void mark_removed(uint64_t start, uint64_t end)
{
	st.removes++;
	if (unregister_removed) {
		struct uffdio_range r = { .start = start, .len = end - start };

		if (ioctl(uffd, UFFDIO_UNREGISTER, &r))
			die("UFFDIO_UNREGISTER after REMOVE: %s",
			    strerror(errno));
		st.unregistered++;
	}
	for (uint64_t a = start; a < end;) {
		struct region *r = find_region(a);

		if (!r)
			die("REMOVE of %#" PRIx64 " outside every region", a);
		r->removed[(a - r->base) / r->page_size] = 1;
		st.removed_pages++;
		a += r->page_size;
	}
}

static void serve(int sock)
{
	static struct uffd_msg deferred[NR_MSGS * 16];
	int nr_deferred = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = uffd, .events = POLLIN },
			{ .fd = sock, .events = POLLIN },
		};
		struct uffd_msg msgs[NR_MSGS];
		int still = 0;
		ssize_t n;

		/* A deferred fault waits for a REMOVE that may not be queued yet. */
		if (poll(p, 2, nr_deferred ? 1 : -1) < 0)
			die("poll: %s", strerror(errno));
		if (p[1].revents & (POLLIN | POLLHUP)) {
			char c;

			/* The VMM is gone (or says so): we are done. */
			if (recv(sock, &c, 1, MSG_DONTWAIT) <= 0)
				return;
		}
		if (p[0].revents & POLLERR)
			die("userfaultfd POLLERR (a blocking fd?)");

		/* Read the whole queue: a REMOVE in it blocks every fill. */
		while ((n = read(uffd, msgs, sizeof(msgs))) > 0) {
			for (int i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++) {
				struct uffd_msg *m = &msgs[i];

				switch (m->event) {
				case UFFD_EVENT_PAGEFAULT:
					st.faults++;
					if (nr_deferred == (int)(sizeof(deferred) / sizeof(deferred[0])))
						die("too many deferred faults");
					deferred[nr_deferred++] = *m;
					break;
				case UFFD_EVENT_REMOVE:
					mark_removed(m->arg.remove.start,
						     m->arg.remove.end);
					break;
				default:
					die("unexpected event %u", m->event);
				}
			}
		}
		if (n < 0 && errno != EAGAIN)
			die("read: %s", strerror(errno));

		for (int i = 0; i < nr_deferred; i++)
			if (!serve_fault(deferred[i].arg.pagefault.address))
				deferred[still++] = deferred[i];
		nr_deferred = still;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int lsock, sock, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "-u")) {
		unregister_removed = true;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s [-u] SOCKET SNAPSHOT_FILE\n",
			argv[0]);
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &sb))
		die("%s: %s", argv[2], strerror(errno));
	snapshot_size = sb.st_size;
	snapshot = mmap(NULL, snapshot_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (snapshot == MAP_FAILED)
		die("mmap %s: %s", argv[2], strerror(errno));

	lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	unlink(argv[1]);
	if (lsock < 0 || bind(lsock, (void *)&sa, sizeof(sa)) ||
	    listen(lsock, 1))
		die("%s: %s", argv[1], strerror(errno));
	printf("fc-handler: listening on %s\n", argv[1]);
	sock = accept(lsock, NULL, NULL);
	if (sock < 0)
		die("accept: %s", strerror(errno));
	uffd = receive_uffd(sock);
	if (fcntl(uffd, F_SETFL, O_NONBLOCK))
		die("O_NONBLOCK: %s", strerror(errno));
	printf("fc-handler: %d region(s), page size %" PRIu64 "\n",
	       nr_regions, regions[0].page_size);

	serve(sock);

	printf("fc-handler: faults=%lu copied=%lu zeroed=%lu eexist=%lu eagain=%lu removes=%lu removed_pages=%lu unregistered=%lu enoent_after_unregister=%lu\n",
	       st.faults, st.copied, st.zeroed, st.exists, st.again,
	       st.removes, st.removed_pages, st.unregistered, st.kernels);
	return 0;
}
