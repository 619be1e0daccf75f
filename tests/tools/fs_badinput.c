// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to /dev/fastsocket gets a clear errno and changes nothing.
 *
 * Every case prints "ok NAME" or "FAIL NAME: ..."; the exit status is the
 * number of failures.  Run as root; some cases drop to an unprivileged uid
 * in a child.  Built against include/uapi/linux/fastsocket.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
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

int main(void)
{
	struct fastsocket_info info = { .size = sizeof(info) };
	struct fastsocket_listen req;
	__u64 cpus[FASTSOCKET_CPUSET_WORDS];
	int fd, tcp, udp, unx, raw, cli;
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
			printf("ok state: enabled, %u local, %llu bytes\n",
			       st.nr_local, (unsigned long long)st.memory);
		}
		/* One accept makes this cpu's local listener. */
		{
			struct sockaddr_in a;
			socklen_t len = sizeof(a);
			int c = socket(AF_INET, SOCK_STREAM, 0), s;

			getsockname(tcp, (void *)&a, &len);
			connect(c, (void *)&a, len);
			s = accept(tcp, NULL, NULL);
			close(s);
			close(c);
		}
		if (ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, &st) ||
		    st.nr_local != 1) {
			printf("FAIL state: %u local listeners after an accept\n",
			       st.nr_local);
			failures++;
		} else {
			printf("ok state after an accept: %u local, %llu bytes\n",
			       st.nr_local, (unsigned long long)st.memory);
		}
	}
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

	race_close();
	fork_exec_exit();

	printf("%d failures\n", failures);
	return failures;
}
