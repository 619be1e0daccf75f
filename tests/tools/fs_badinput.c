// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to /dev/fastsocket gets a clear errno and changes nothing.
 *
 * Every case prints "ok NAME" or "FAIL NAME: ..."; the exit status is the
 * number of failures.  Run as root; some cases drop to an unprivileged uid
 * in a child.  Built against include/uapi/linux/fastsocket.h.
 *
 * LISTEN_STATE's nr_local/local are the cpus whose accept queue of the
 * listener is in use now: a task pinned to that cpu (affinity of exactly
 * one cpu) accepted from or polled the listener within listen_idle_ms.
 * Unpinned acceptors use the listener's shared queue and attend no cpu.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/uapi/linux/fastsocket.h"

static int dev;
static int failures;

static void check(const char *name, int ret, int want_errno)
{
	int got = ret < 0 ? errno : 0;

	if (got == want_errno) {
		printf("ok %s\n", name);
		return;
	}
	printf("FAIL %s: errno %d (%s), want %d (%s)\n", name, got,
	       strerror(got), want_errno, strerror(want_errno));
	failures++;
}

static int tcp_listener(int family)
{
	int fd = socket(family, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (fd < 0)
		return -1;
	if (family == AF_INET6 ? bind(fd, (void *)&a6, sizeof(a6)) :
				 bind(fd, (void *)&a4, sizeof(a4)))
		return -1;
	if (listen(fd, 128))
		return -1;
	return fd;
}

static int do_listen(int fd, __u32 flags, const __u64 *cpus)
{
	struct fastsocket_listen req = { .size = sizeof(req), .fd = fd,
					 .flags = flags };

	if (cpus)
		memcpy(req.cpus, cpus, sizeof(req.cpus));
	return ioctl(dev, FASTSOCKET_IOC_LISTEN, &req);
}

static int do_unlisten(int fd)
{
	struct fastsocket_listen req = { .size = sizeof(req), .fd = fd };

	return ioctl(dev, FASTSOCKET_IOC_UNLISTEN, &req);
}

static int enabled(int fd)
{
	struct fastsocket_listen_state st = { .size = sizeof(st), .fd = fd };

	if (ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, &st))
		return -1;
	return !!(st.state & FASTSOCKET_STATE_ENABLED);
}

static int state_of(int fd, struct fastsocket_listen_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->fd = fd;
	return ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, st);
}

/*
 * LISTEN_STATE of a socket that is not an enabled TCP listener (UDP, UNIX,
 * raw, netlink, packet, a TCP socket that does not listen): nothing
 * enabled, nothing in use, no memory, and no read of what the socket does
 * not have (the module must not take any socket for a TCP listener).
 * EOPNOTSUPP is a fine answer too.
 */
static void expect_no_state(const char *name, int fd)
{
	struct fastsocket_listen_state st;
	int rc = state_of(fd, &st);

	if (rc && errno == EOPNOTSUPP) {
		printf("ok %s (EOPNOTSUPP)\n", name);
		return;
	}
	if (rc) {
		printf("FAIL %s: errno %d (%s)\n", name, errno, strerror(errno));
		failures++;
		return;
	}
	if (st.state || st.nr_local || st.queued || st.memory) {
		printf("FAIL %s: state %#x, %u cpus in use, %u queued, %llu bytes\n",
		       name, st.state, st.nr_local, st.queued,
		       (unsigned long long)st.memory);
		failures++;
		return;
	}
	printf("ok %s\n", name);
}

static void expect_disabled(const char *name, int fd)
{
	if (enabled(fd) == 0) {
		printf("ok %s\n", name);
		return;
	}
	printf("FAIL %s: the socket was enabled by a failed call\n", name);
	failures++;
}

/* close() of the fd on one thread while another enables it */
static void *enable_loop(void *arg)
{
	int fd = *(int *)arg;

	for (int i = 0; i < 200; i++)
		do_listen(fd, 0, NULL);
	return NULL;
}

static void race_close(void)
{
	int bad = 0;

	for (int i = 0; i < 200; i++) {
		int fd = tcp_listener(AF_INET);
		pthread_t t;

		if (fd < 0 || pthread_create(&t, NULL, enable_loop, &fd)) {
			bad++;
			break;
		}
		usleep(i % 7 * 50);
		close(fd);
		pthread_join(t, NULL);
	}
	check("close while enabling", bad ? -1 : 0, 0);
}

/* LISTEN and UNLISTEN of one listener racing on two threads */
static void *unlisten_loop(void *arg)
{
	int fd = *(int *)arg, bad = 0;

	for (int i = 0; i < 2000; i++)
		if (do_unlisten(fd) && errno != EINVAL)
			bad++;
	return (void *)(long)bad;
}

static void race_unlisten(void)
{
	int fd = tcp_listener(AF_INET6), bad = 0;
	pthread_t t;
	void *ret;

	if (fd < 0 || pthread_create(&t, NULL, unlisten_loop, &fd)) {
		check("listen and unlisten racing", -1, 0);
		return;
	}
	for (int i = 0; i < 2000; i++)
		if (do_listen(fd, 0, NULL))
			bad++;
	pthread_join(t, &ret);
	bad += (int)(long)ret;
	/* Whoever won last, the listener is one or the other, and works. */
	if (do_listen(fd, 0, NULL) || enabled(fd) != 1 || do_unlisten(fd) ||
	    enabled(fd) != 0 || do_unlisten(fd) != -1)
		bad++;
	close(fd);
	check("listen and unlisten racing", bad ? -1 : 0, 0);
}

/*
 * shutdown() of an enabled listener disables it; listening again does not
 * enable it (UNLISTEN: EINVAL), enabling it again does.
 */
static void shutdown_relisten(void)
{
	int fd = tcp_listener(AF_INET), bad = 0;

	if (fd < 0 || do_listen(fd, 0, NULL) || enabled(fd) != 1)
		bad |= 1;
	if (shutdown(fd, SHUT_RD) || enabled(fd) != 0)
		bad |= 2;
	if (listen(fd, 16) || enabled(fd) != 0)
		bad |= 4;
	if (do_unlisten(fd) != -1 || errno != EINVAL)
		bad |= 8;
	if (do_listen(fd, 0, NULL) || enabled(fd) != 1 || do_unlisten(fd) ||
	    enabled(fd) != 0)
		bad |= 16;
	close(fd);
	if (bad) {
		printf("FAIL shutdown, listen again: failed steps %#x (1 enable, "
		       "2 shutdown disables, 4 listen again stays disabled, "
		       "8 UNLISTEN is EINVAL, 16 enable and disable again)\n",
		       bad);
		failures++;
	} else {
		printf("ok shutdown disables, listening again does not enable\n");
	}
}

/* fork, exec and exit around enabled listeners */
static void fork_exec_exit(void)
{
	int status, bad = 0;

	for (int i = 0; i < 50; i++) {
		int fd = tcp_listener(i % 2 ? AF_INET6 : AF_INET);
		pid_t pid;

		if (fd < 0 || do_listen(fd, 0, NULL)) {
			bad++;
			break;
		}
		pid = fork();
		if (pid == 0) {
			/* The child enables it again, then exits or execs. */
			do_listen(fd, 0, NULL);
			if (i % 3 == 0)
				execl("/bin/true", "true", (char *)NULL);
			_exit(0);
		}
		if (i % 2)
			close(fd);
		waitpid(pid, &status, 0);
		if (!(i % 2)) {
			if (enabled(fd) != 1)
				bad++;
			close(fd);
		}
	}
	check("fork, exec and exit", bad ? -1 : 0, 0);
}

/* A connection to the listener lfd from this thread, or -1. */
static int connect_to(int lfd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int c;

	if (getsockname(lfd, (void *)&a, &len))
		return -1;
	c = socket(a.ss_family, SOCK_STREAM, 0);
	if (c < 0)
		return -1;
	if (connect(c, (void *)&a, len)) {
		close(c);
		return -1;
	}
	return c;
}

/* TCP_INFO of a listener: every connection waiting for accept(). */
static int waiting(int lfd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_unacked;
}

static int in_use(const struct fastsocket_listen_state *st, int cpu)
{
	return cpu >= 0 && cpu < FASTSOCKET_CPUSET_WORDS * 64 &&
	       (st->local[cpu / 64] >> (cpu % 64) & 1);
}

/*
 * Which cpus' accept queues of the enabled listener lfd are in use: an
 * accept by an unpinned thread puts none in use; a poll or accept by a
 * thread pinned to cpu c puts c in use, and a connection completed on c
 * then waits on c's queue, where LISTEN_STATE (queued) and TCP_INFO (every
 * waiting connection, as ss's Recv-Q) both count it.  A queue stays in use
 * for listen_idle_ms (200 ms) after the last accept or poll: a try that a
 * stalled vCPU made slower than that is tried again.
 */
static void attended(int lfd)
{
	struct fastsocket_listen_state st, after;
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	cpu_set_t all, one;
	int c, s, cpu, w, w0, ok = 0;

	if (sched_getaffinity(0, sizeof(all), &all)) {
		printf("FAIL state: sched_getaffinity: %s\n", strerror(errno));
		failures++;
		return;
	}
	if (CPU_COUNT(&all) > 1) {
		c = connect_to(lfd);
		s = accept(lfd, NULL, NULL);
		if (c < 0 || s < 0 || state_of(lfd, &st)) {
			printf("FAIL state after an unpinned accept: %s\n",
			       strerror(errno));
			failures++;
		} else if (st.nr_local) {
			printf("FAIL state after an unpinned accept: %u cpus in use\n",
			       st.nr_local);
			failures++;
		} else {
			printf("ok state after an unpinned accept: no cpu in use\n");
		}
		close(s);
		close(c);
	} else {
		/* One cpu: every task is pinned to it. */
		printf("ok state after an unpinned accept (one cpu: skipped)\n");
	}

	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (cpu < 0 || sched_setaffinity(0, sizeof(one), &one)) {
		printf("FAIL state: cannot pin to cpu %d: %s\n", cpu,
		       strerror(errno));
		failures++;
		return;
	}
	for (int try = 1; try <= 3 && !ok; try++) {
		/* A poll by the pinned thread puts its cpu's queue in use. */
		poll(&p, 1, 0);
		/* Connections already on the shared queue (the caller's). */
		w0 = waiting(lfd);
		c = connect_to(lfd);
		if (c < 0 || poll(&p, 1, 2000) != 1) {
			printf("FAIL state: no connection to accept on cpu %d\n",
			       cpu);
			failures++;
			close(c);
			break;
		}
		state_of(lfd, &st);
		w = waiting(lfd);
		s = accept(lfd, NULL, NULL);
		state_of(lfd, &after);
		ok = st.nr_local == 1 && in_use(&st, cpu) && st.queued == 1 &&
		     w == w0 + 1 && s >= 0 && after.nr_local == 1 &&
		     in_use(&after, cpu) && after.queued == 0;
		if (!ok)
			printf("# try %d on cpu %d: %u cpus in use (cpu %d: %d), "
			       "%u queued on them, TCP_INFO %d waiting (%d "
			       "before); after the accept (%d) %u in use, %u "
			       "queued\n", try, cpu, st.nr_local, cpu,
			       in_use(&st, cpu), st.queued, w, w0, s,
			       after.nr_local, after.queued);
		if (s >= 0 && ok)
			expect_no_state("state: a connection accepted from an enabled listener",
					s);
		close(s);
		close(c);
	}
	if (ok) {
		printf("ok state after a pinned poll: cpu %d in use, its connection "
		       "queued there and counted by TCP_INFO\n", cpu);
	} else {
		printf("FAIL state after a pinned poll and accept on cpu %d: "
		       "see the tries above\n", cpu);
		failures++;
	}
	sched_setaffinity(0, sizeof(all), &all);
}

/*
 * A listener with a TCP-MD5 key: its keys are checked against the listener
 * itself, so it may be enabled.
 */
static void md5_listener(void)
{
	struct tcp_md5sig md5 = { .tcpm_keylen = 8 };
	struct sockaddr_in *peer = (void *)&md5.tcpm_addr;
	int fd = tcp_listener(AF_INET);

	peer->sin_family = AF_INET;
	peer->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(md5.tcpm_key, "fastsock", 8);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5,
				 sizeof(md5))) {
		if (fd >= 0 && errno == ENOPROTOOPT) {
			printf("ok listen: TCP-MD5 keyed listener (no CONFIG_TCP_MD5SIG: skipped)\n");
		} else {
			printf("FAIL listen: TCP-MD5 keyed listener: %s\n",
			       strerror(errno));
			failures++;
		}
		close(fd);
		return;
	}
	check("listen: TCP-MD5 keyed listener", do_listen(fd, 0, NULL), 0);
	if (enabled(fd) != 1) {
		printf("FAIL state: the TCP-MD5 keyed listener is not enabled\n");
		failures++;
	}
	close(fd);
}

int main(void)
{
	struct fastsocket_info info = { .size = sizeof(info) };
	struct fastsocket_listen req;
	__u64 cpus[FASTSOCKET_CPUSET_WORDS];
	int fd, fd2, tcp, udp, unx, raw, cli, nl, pk;
	char *page;
	pid_t pid;
	int status;

	dev = open(FASTSOCKET_DEVICE, O_RDWR);
	if (dev < 0) {
		perror(FASTSOCKET_DEVICE);
		return 1;
	}

	check("info", ioctl(dev, FASTSOCKET_IOC_INFO, &info), 0);
	if (!(info.features & FASTSOCKET_FEATURE_LISTEN) || !info.nr_cpu_ids) {
		printf("FAIL info: features %llx, nr_cpu_ids %u\n",
		       (unsigned long long)info.features, info.nr_cpu_ids);
		failures++;
	}
	info.size = 4;
	check("info: wrong size", ioctl(dev, FASTSOCKET_IOC_INFO, &info),
	      EINVAL);
	check("info: bad pointer", ioctl(dev, FASTSOCKET_IOC_INFO, NULL),
	      EFAULT);
	check("unknown ioctl", ioctl(dev, _IO(FASTSOCKET_IOC_MAGIC, 0x7f), 0),
	      ENOTTY);

	/* An argument that ends on an unmapped page */
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(page + 4096, 4096);
	*(__u32 *)(page + 4096 - 8) = sizeof(struct fastsocket_listen);
	check("short argument",
	      ioctl(dev, FASTSOCKET_IOC_LISTEN, page + 4096 - 8), EFAULT);

	tcp = tcp_listener(AF_INET);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req) - 8;
	req.fd = tcp;
	check("listen: short size", ioctl(dev, FASTSOCKET_IOC_LISTEN, &req),
	      EINVAL);
	req.size = sizeof(req) + 8;
	check("listen: oversized size",
	      ioctl(dev, FASTSOCKET_IOC_LISTEN, &req), EINVAL);
	req.size = sizeof(req);
	req.reserved = 1;
	check("listen: reserved set", ioctl(dev, FASTSOCKET_IOC_LISTEN, &req),
	      EINVAL);
	check("listen: unknown flag", do_listen(tcp, 1u << 7, NULL), EINVAL);
	memset(cpus, 0, sizeof(cpus));
	check("listen: empty cpu set",
	      do_listen(tcp, FASTSOCKET_LISTEN_CPUS, cpus), EINVAL);
	cpus[info.nr_cpu_ids / 64] = 1ULL << (info.nr_cpu_ids % 64);
	check("listen: cpu beyond nr_cpu_ids",
	      do_listen(tcp, FASTSOCKET_LISTEN_CPUS, cpus), EINVAL);
	memset(cpus, 0, sizeof(cpus));
	cpus[FASTSOCKET_CPUSET_WORDS - 1] = 1ULL << 63;
	check("listen: cpu 1023", do_listen(tcp, FASTSOCKET_LISTEN_CPUS, cpus),
	      EINVAL);
	expect_disabled("bad arguments change nothing", tcp);

	check("listen: closed fd", do_listen(1000, 0, NULL), EBADF);
	check("listen: negative fd", do_listen(-1, 0, NULL), EBADF);
	fd = open("/proc/self/status", O_RDONLY);
	check("listen: not a socket", do_listen(fd, 0, NULL), ENOTSOCK);
	close(fd);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	check("listen: UDP", do_listen(udp, 0, NULL), EOPNOTSUPP);
	unx = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		strcpy(a.sun_path + 1, "fastsocket-badinput");
		bind(unx, (void *)&a, sizeof(a));
		listen(unx, 8);
	}
	check("listen: UNIX listener", do_listen(unx, 0, NULL), EOPNOTSUPP);
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	check("listen: raw", do_listen(raw, 0, NULL), EOPNOTSUPP);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	check("listen: unconnected TCP", do_listen(fd, 0, NULL), EINVAL);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		getsockname(tcp, (void *)&a, &len);
		connect(cli, (void *)&a, len);
	}
	check("listen: connected TCP", do_listen(cli, 0, NULL), EINVAL);
	check("unlisten: never enabled", do_unlisten(tcp), EINVAL);

	/* The state of sockets that are no enabled listener */
	fd2 = open("/proc/self/status", O_RDONLY);
	{
		struct fastsocket_listen_state st;

		check("state: not a socket", state_of(fd2, &st), ENOTSOCK);
	}
	close(fd2);
	expect_no_state("state: UDP", udp);
	expect_no_state("state: UNIX listener", unx);
	expect_no_state("state: raw", raw);
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	expect_no_state("state: netlink", nl);
	pk = socket(AF_PACKET, SOCK_DGRAM, 0);
	expect_no_state("state: packet", pk);
	expect_no_state("state: unconnected TCP", fd);
	expect_no_state("state: connected TCP", cli);
	expect_no_state("state: TCP listener never enabled", tcp);
	md5_listener();

	/* The good path, then a cpu subset */
	check("listen", do_listen(tcp, 0, NULL), 0);
	check("listen: again", do_listen(tcp, 0, NULL), 0);
	{
		struct fastsocket_listen_state st = { .size = sizeof(st),
						      .fd = tcp };

		if (ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, &st) ||
		    !(st.state & FASTSOCKET_STATE_ENABLED) || !st.memory ||
		    !(st.cpus[0] & 1)) {
			printf("FAIL state: not enabled, or no memory or cpus\n");
			failures++;
		} else {
			printf("ok state: enabled, %u cpus in use, %llu bytes\n",
			       st.nr_local, (unsigned long long)st.memory);
		}
		if (st.nr_local) {
			printf("FAIL state: %u cpus in use before any accept\n",
			       st.nr_local);
			failures++;
		}
	}
	attended(tcp);
	check("unlisten", do_unlisten(tcp), 0);
	check("unlisten: again", do_unlisten(tcp), EINVAL);
	expect_disabled("state after unlisten", tcp);
	memset(cpus, 0, sizeof(cpus));
	cpus[0] = 1;
	check("listen: cpu 0 only", do_listen(tcp, FASTSOCKET_LISTEN_CPUS, cpus),
	      0);
	check("unlisten after subset", do_unlisten(tcp), 0);

	/* Any user, for its own sockets */
	pid = fork();
	if (pid == 0) {
		int own;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		dev = open(FASTSOCKET_DEVICE, O_RDWR);
		own = tcp_listener(AF_INET6);
		_exit(do_listen(own, 0, NULL) ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	check("unprivileged user, own socket",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1, 0);

	shutdown_relisten();
	race_close();
	race_unlisten();
	fork_exec_exit();

	printf("%d failures\n", failures);
	return failures;
}
