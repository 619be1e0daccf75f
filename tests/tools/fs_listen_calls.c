// SPDX-License-Identifier: GPL-2.0
/*
 * The socket calls libfsocket.so sits in front of, with their results.
 *
 * Prints one line per call: "NAME rc=R errno=E" (errno after a successful
 * call too: the library must leave it as the C library did).  Run with and
 * without LD_PRELOAD=libfsocket.so, the two outputs must be the same,
 * whether or not the fastsocket module is loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void show(const char *name, int rc)
{
	printf("%s rc=%d errno=%d\n", name, rc < 0 ? -1 : 0, errno);
}

static int tcp4_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	errno = 4242;	/* a successful listen() leaves errno alone */
	show("listen_tcp4", listen(fd, 16));
	errno = 0;
	show("listen_tcp4_again", listen(fd, 32));
	return fd;
}

static void tcp6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		printf("listen_tcp6 skipped\n");
		return;
	}
	errno = 0;
	show("listen_tcp6", listen(fd, 16));
	close(fd);
}

static void others(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd;

	errno = 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	show("listen_udp", listen(fd, 16));
	close(fd);

	errno = 0;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	/* Abstract, so no file is left behind; the pid keeps runs that
	 * overlap (the host tests run them in parallel) off each other's
	 * name, where bind() would fail and listen() with it.
	 */
	snprintf(un.sun_path, sizeof(un.sun_path), "@fs_listen_calls.%d",
		 (int)getpid());
	un.sun_path[0] = 0;
	bind(fd, (struct sockaddr *)&un, sizeof(un));
	show("listen_unix", listen(fd, 16));
	close(fd);

	errno = 0;
	show("listen_bad_fd", listen(-1, 16));
	errno = 0;
	show("listen_closed_fd", listen(1000, 16));
	fd = open("/dev/null", O_RDONLY);
	errno = 0;
	show("listen_not_socket", listen(fd, 16));
	close(fd);

	errno = 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	show("listen_unbound_tcp", listen(fd, 16));
	close(fd);
}

static void epolls(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	errno = 0;
	show("epoll_ctl_add_listener", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	errno = 0;
	show("epoll_ctl_add_again", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	errno = 0;
	show("epoll_ctl_mod", epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev));
	errno = 0;
	show("epoll_ctl_del", epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL));
	errno = 0;
	show("epoll_ctl_bad_epfd", epoll_ctl(-1, EPOLL_CTL_ADD, lfd, &ev));
	errno = 0;
	show("epoll_ctl_bad_fd", epoll_ctl(ep, EPOLL_CTL_ADD, -1, &ev));
	close(ep);
}

static void accepts(int lfd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int c, s;

	fcntl(lfd, F_SETFL, O_NONBLOCK);
	errno = 0;
	show("accept_empty", accept(lfd, NULL, NULL));
	errno = 0;
	show("accept4_empty", accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	errno = 0;
	show("accept_bad_fd", accept(-1, NULL, NULL));

	getsockname(lfd, (struct sockaddr *)&a, &len);
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, len);
	fcntl(lfd, F_SETFL, 0);
	errno = 777;
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	show("accept4_connection", s);
	printf("accept4_cloexec %d\n", !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
	close(s);
	close(c);
}

int main(void)
{
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = tcp4_listener();
	if (lfd < 0) {
		perror("tcp4 listener");
		return 1;
	}
	tcp6();
	others();
	epolls(lfd);
	accepts(lfd);
	close(lfd);
	return 0;
}
