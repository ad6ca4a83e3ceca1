// SPDX-License-Identifier: GPL-2.0
/*
 * A bare-metal workload for QEMU's background snapshot test: booted by
 * QEMU's multiboot loader in 32-bit protected mode with paging off, so
 * every address below is a guest-physical one.
 *
 * It writes generation numbers over an area of RAM page by page, forever,
 * and before each write checks that the page still holds the previous
 * generation.  At any instant the area is "pages below the cursor hold g,
 * the rest hold g - 1", so a VM restored from a point-in-time snapshot
 * passes every check; a page saved before or after that instant (a write
 * that slipped past write-protect, a page saved twice) is caught within
 * one pass of the restored VM.  Both ends of each page are checked, which
 * also catches a page saved while it was being written.
 */
#define COM1		0x3f8
#define AREA_START	(8u << 20)
#define AREA_END	(56u << 20)	/* the VM has 64 MiB */
#define PAGE		4096u
#define BEAT		16u		/* passes between heartbeats */

static inline void outb(unsigned short port, unsigned char v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putch(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, c);
}

static void puts_(const char *s)
{
	while (*s)
		putch(*s++);
}

static void putu(unsigned int v)
{
	char buf[12];
	int i = 0;

	do {
		buf[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i)
		putch(buf[--i]);
}

static void putx(unsigned int v)
{
	int i;

	puts_("0x");
	for (i = 28; i >= 0; i -= 4)
		putch("0123456789abcdef"[(v >> i) & 0xf]);
}

static void __attribute__((noreturn)) inconsistent(unsigned int addr,
						   unsigned int got,
						   unsigned int want)
{
	for (;;) {
		puts_("WL INCONSISTENT at ");
		putx(addr);
		puts_(" holds ");
		putu(got);
		puts_(" expected ");
		putu(want);
		puts_("\n");
		for (volatile int i = 0; i < 10000000; i++)
			;
	}
}

void __attribute__((noreturn)) wl_main(void)
{
	unsigned int gen, a;

	/* 8250 at 115200 8N1; QEMU does not care, real hardware would. */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x80);
	outb(COM1, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 3);

	for (a = AREA_START; a < AREA_END; a += PAGE) {
		volatile unsigned int *w = (volatile unsigned int *)a;

		w[0] = 0;
		w[PAGE / 4 - 1] = 0;
	}
	puts_("WL start\n");
	for (gen = 1;; gen++) {
		for (a = AREA_START; a < AREA_END; a += PAGE) {
			volatile unsigned int *w = (volatile unsigned int *)a;

			if (w[0] != gen - 1)
				inconsistent(a, w[0], gen - 1);
			if (w[PAGE / 4 - 1] != gen - 1)
				inconsistent(a + PAGE - 4, w[PAGE / 4 - 1],
					     gen - 1);
			w[0] = gen;
			w[PAGE / 4 - 1] = gen;
		}
		if (gen % BEAT == 0) {
			puts_("WL gen ");
			putu(gen);
			puts_("\n");
		}
	}
}

/* Multiboot header (ELF image, so no address fields), then the entry. */
asm(".section .multiboot, \"a\"\n"
    ".align 4\n"
    ".long 0x1badb002, 0, -0x1badb002\n"
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "	mov $0x7ff000, %esp\n"
    "	call wl_main\n");
