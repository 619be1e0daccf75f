// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit caller of /dev/fastsocket: the ioctls through compat_ioctl.
 *
 * Built with -m32 and no C library (this machine has no 32-bit one), so
 * it makes its system calls itself through int $0x80.  On a listening
 * TCP socket of its own it checks that FASTSOCKET_IOC_INFO,
 * FASTSOCKET_IOC_LISTEN, FASTSOCKET_IOC_LISTEN_STATE and
 * FASTSOCKET_IOC_UNLISTEN give what a 64-bit caller gets, and that an
 * unknown ioctl fails with ENOTTY.  Prints "ok" or the first failure, and
 * exits 0 or 1.
 */
#include <linux/fastsocket.h>

#define SYS_exit	1
#define SYS_write	4
#define SYS_open	5
#define SYS_ioctl	54
#define SYS_socket	359
#define SYS_bind	361
#define SYS_listen	363

#define AF_INET		2
#define SOCK_STREAM	1
#define O_RDWR		2
#define ENOTTY		25

static long sys(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(n), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return r;
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys(SYS_write, 1, (long)s, len(s));
}

static void fail(const char *what)
{
	say("FAIL: ");
	say(what);
	say("\n");
	sys(SYS_exit, 1, 0, 0);
}

static void *zero(void *p, unsigned long n)
{
	unsigned char *b = p;

	while (n--)
		b[n] = 0;
	return p;
}

struct sockaddr_in32 {
	unsigned short family;
	unsigned short port;
	unsigned int addr;
	unsigned char zero[8];
};

void _start(void)
{
	struct fastsocket_info info;
	struct fastsocket_listen l;
	struct fastsocket_listen_state st;
	struct sockaddr_in32 sin;
	long dev, fd;

	dev = sys(SYS_open, (long)FASTSOCKET_DEVICE, O_RDWR, 0);
	if (dev < 0)
		fail("open " FASTSOCKET_DEVICE);

	zero(&info, sizeof(info));
	info.size = sizeof(info);
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_INFO, (long)&info))
		fail("FASTSOCKET_IOC_INFO");
	if (info.size != sizeof(info) || !info.version || !info.nr_cpu_ids ||
	    !(info.features & FASTSOCKET_FEATURE_LISTEN))
		fail("FASTSOCKET_IOC_INFO: fields");
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_INFO + 0x10000, (long)&info) !=
	    -ENOTTY)
		fail("an unknown ioctl: not ENOTTY");

	fd = sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	zero(&sin, sizeof(sin));
	sin.family = AF_INET;
	sin.addr = 0x0100007f;	/* 127.0.0.1, port 0: any */
	if (sys(SYS_bind, fd, (long)&sin, sizeof(sin)) ||
	    sys(SYS_listen, fd, 16, 0))
		fail("bind or listen");

	zero(&l, sizeof(l));
	l.size = sizeof(l);
	l.fd = fd;
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_LISTEN, (long)&l))
		fail("FASTSOCKET_IOC_LISTEN");

	zero(&st, sizeof(st));
	st.size = sizeof(st);
	st.fd = fd;
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_LISTEN_STATE, (long)&st))
		fail("FASTSOCKET_IOC_LISTEN_STATE");
	if (!(st.state & FASTSOCKET_STATE_ENABLED) || !st.memory ||
	    !(st.cpus[0] & 1))
		fail("FASTSOCKET_IOC_LISTEN_STATE: not enabled, or fields");

	zero(&l, sizeof(l));
	l.size = sizeof(l);
	l.fd = fd;
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_UNLISTEN, (long)&l))
		fail("FASTSOCKET_IOC_UNLISTEN");
	zero(&st, sizeof(st));
	st.size = sizeof(st);
	st.fd = fd;
	if (sys(SYS_ioctl, dev, FASTSOCKET_IOC_LISTEN_STATE, (long)&st) ||
	    (st.state & FASTSOCKET_STATE_ENABLED))
		fail("FASTSOCKET_IOC_LISTEN_STATE after UNLISTEN");

	say("ok\n");
	sys(SYS_exit, 0, 0, 0);
	for (;;)
		;
}
