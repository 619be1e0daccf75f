// SPDX-License-Identifier: GPL-2.0
/*
 * The local_listen() C API, as an application uses it: built against
 * include/fastsocket.h, linked with -lfastsocket.
 *
 *   fs_c_api            with the module loaded (VM scenario c_api)
 *   fs_c_api --absent   without it (host test): every call fails ENODEV
 *
 * Prints "ok NAME ..." or "FAIL NAME ..."; the exit status is the number of
 * failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fastsocket.h>

static int failures;

static void expect(const char *name, int rc, int want_errno)
{
	int ok = want_errno ? rc == -1 && errno == want_errno : rc == 0;

	if (!ok)
		failures++;
	if (rc == 0)
		printf("%s %s %s (rc 0)\n", ok ? "ok" : "FAIL", name,
		       want_errno ? strerrorname_np(want_errno) : "0");
	else
		printf("%s %s %s (rc %d, errno %d: %s)\n", ok ? "ok" : "FAIL",
		       name, want_errno ? strerrorname_np(want_errno) : "0", rc,
		       errno, strerror(errno));
}

static int listener(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	if (type == SOCK_STREAM && listen(fd, 64))
		return -1;
	return fd;
}

static int absent(void)
{
	struct fastsocket_listen_state st;
	struct fastsocket_info info;
	int fd = listener(SOCK_STREAM);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	printf("%s fastsocket_available 0\n", fastsocket_available() ? "FAIL" : "ok");
	failures += fastsocket_available() != 0;
	expect("local_listen", local_listen(fd), ENODEV);
	expect("local_listen_cpus", local_listen_cpus(fd, sizeof(set), &set), ENODEV);
	expect("local_unlisten", local_unlisten(fd), ENODEV);
	expect("local_listen_state", local_listen_state(fd, &st), ENODEV);
	expect("fastsocket_info", fastsocket_info(&info), ENODEV);
	expect("local_listen_state_null", local_listen_state(fd, NULL), EFAULT);
	expect("local_listen_cpus_null", local_listen_cpus(fd, sizeof(set), NULL), EFAULT);
	return failures;
}

/* Connects to fd's address and accepts: the listener still works. */
static void traffic(const char *name, int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int c = socket(AF_INET, SOCK_STREAM, 0), s;

	getsockname(fd, (struct sockaddr *)&a, &len);
	if (connect(c, (struct sockaddr *)&a, len)) {
		expect(name, -1, 0);
		return;
	}
	s = accept(fd, NULL, NULL);
	expect(name, s < 0 ? -1 : 0, 0);
	close(s);
	close(c);
}

/*
 * A thread pinned to cpu accepts from fd: that cpu's accept queue is in use
 * (nr_local and local name it) for listen_idle_ms after, and the accepted
 * connection waits nowhere (queued 0).  A try slower than the idle time (a
 * stalled vCPU) is tried again.
 */
static void pinned_accept(int fd, long cpu)
{
	struct fastsocket_listen_state st = { 0 };
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	cpu_set_t all, one;
	int ok = 0;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_getaffinity(0, sizeof(all), &all) ||
	    sched_setaffinity(0, sizeof(one), &one)) {
		printf("FAIL state_in_use: cannot pin to cpu %ld: %s\n", cpu,
		       strerror(errno));
		failures++;
		return;
	}
	getsockname(fd, (struct sockaddr *)&a, &len);
	for (int try = 0; try < 3 && !ok; try++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s = -1;

		if (!connect(c, (struct sockaddr *)&a, len))
			s = accept(fd, NULL, NULL);
		ok = s >= 0 && !local_listen_state(fd, &st) &&
		     st.nr_local == 1 && st.queued == 0 &&
		     (st.local[cpu / 64] >> (cpu % 64) & 1);
		close(s);
		close(c);
	}
	printf("%s state_in_use: cpu %ld (%u in use, %u queued)\n",
	       ok ? "ok" : "FAIL", cpu, st.nr_local, st.queued);
	failures += !ok;
	sched_setaffinity(0, sizeof(all), &all);
}

static int present(void)
{
	struct fastsocket_listen_state st = { 0 };
	struct fastsocket_info info = { 0 };
	int fd = listener(SOCK_STREAM), udp = listener(SOCK_DGRAM);
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (!fastsocket_available()) {
		printf("FAIL fastsocket_available: the module is not loaded\n");
		return 1;
	}
	expect("fastsocket_info", fastsocket_info(&info), 0);
	printf("# version %u.%u.%u features %#llx nr_cpu_ids %u\n",
	       info.version >> 16, (info.version >> 8) & 0xff,
	       info.version & 0xff, (unsigned long long)info.features,
	       info.nr_cpu_ids);

	expect("local_listen", local_listen(fd), 0);
	expect("local_listen_state", local_listen_state(fd, &st), 0);
	printf("%s state_enabled\n",
	       st.state & FASTSOCKET_STATE_ENABLED ? "ok" : "FAIL");
	failures += !(st.state & FASTSOCKET_STATE_ENABLED);
	traffic("accept_enabled", fd);

	/* Only the last cpu: the state shows exactly that one allowed. */
	CPU_ZERO(&set);
	CPU_SET(ncpus - 1, &set);
	expect("local_listen_cpus", local_listen_cpus(fd, sizeof(set), &set), 0);
	local_listen_state(fd, &st);
	printf("%s cpus_is_last_cpu\n",
	       st.cpus[(ncpus - 1) / 64] == 1ULL << ((ncpus - 1) % 64) ? "ok" : "FAIL");
	failures += st.cpus[(ncpus - 1) / 64] != 1ULL << ((ncpus - 1) % 64);
	traffic("accept_cpus", fd);
	pinned_accept(fd, ncpus - 1);

	CPU_ZERO(&set);
	CPU_SET(1023, &set);
	expect("local_listen_cpus_no_such_cpu",
	       local_listen_cpus(fd, sizeof(set), &set), EINVAL);
	CPU_ZERO(&set);
	expect("local_listen_cpus_empty",
	       local_listen_cpus(fd, sizeof(set), &set), EINVAL);

	expect("local_unlisten", local_unlisten(fd), 0);
	local_listen_state(fd, &st);
	printf("%s state_disabled\n", st.state ? "FAIL" : "ok");
	failures += st.state != 0;
	expect("local_unlisten_again", local_unlisten(fd), EINVAL);
	traffic("accept_disabled", fd);

	expect("local_listen_udp", local_listen(udp), EOPNOTSUPP);
	expect("local_listen_bad_fd", local_listen(-1), EBADF);
	expect("local_listen_not_socket",
	       local_listen(open("/dev/null", O_RDONLY)), ENOTSOCK);
	expect("local_listen_state_null", local_listen_state(fd, NULL), EFAULT);
	return failures;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "--absent"))
		return absent();
	return present();
}
