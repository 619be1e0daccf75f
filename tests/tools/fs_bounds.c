// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 17's bounds and lifetimes of an enabled listener, measured as an
 * application sees them: work stealing from a cpu whose acceptor stopped,
 * unpinned acceptors woken at once, SIGIO (O_ASYNC) and Linux AIO
 * IOCB_CMD_POLL on the listener, and LISTEN/UNLISTEN racing from two
 * threads.  tests/vm/scenarios/listen_bounds.sh runs it once on stock
 * (the module loaded, the listener not enabled) and once with
 * FASTSOCKET_IOC_LISTEN, and holds the second to the first.
 *
 *   fs_bounds --mode stock|ioctl [--conns N] [--unpinned-conns N]
 *             [--rounds N] [ROW...]
 *
 * Rows: steal unpinned sigio aio race (all but race when none is named:
 * the scenario runs race alone, in a network namespace of its own, to
 * see that the namespace is freed after it).
 *
 * Every listener's state is checked with FASTSOCKET_IOC_LISTEN_STATE, so
 * a mode that did not take effect is an error, not a stock-looking result
 * (in stock mode only where /dev/fastsocket exists: the tool runs on any
 * Linux).  Prints "KEY VALUE" lines; exits 1 with a line on stderr when
 * it cannot measure.  Times are in microseconds, from CLOCK_MONOTONIC.
 * "Cpu 0" is the first cpu of the tool's affinity, "the last cpu" its
 * last; with one cpu they are the same, and every task is pinned to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../include/uapi/linux/fastsocket.h"
#include "fs_tool.h"

enum mode { MODE_STOCK, MODE_IOCTL };
static const char *const mode_names[] = { "stock", "ioctl" };

static enum mode mode;
static int dev = -1;
static cpu_set_t all_cpus;
static int cpus[CPU_SETSIZE];
static int ncpus;
/* Row 1: connections from cpu 0 after its acceptor stopped. */
static int steal_conns = 20;
/* Row 2: connections to the unpinned acceptors, from every cpu. */
static int unpinned_conns = 200;
/* Row 5: rounds of LISTEN and UNLISTEN, in each of two threads. */
static int race_rounds = 10000;

static void __noreturn __printf(1, 2) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fs_bounds (%s): ", mode_names[mode]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("pinning to cpu %d: %m", cpu);
}

static void unpin(void)
{
	if (sched_setaffinity(0, sizeof(all_cpus), &all_cpus))
		die("unpinning: %m");
}

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

static int cpu0(void)
{
	return cpus[0];
}

static int last_cpu(void)
{
	return cpus[ncpus - 1];
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(port) };
	return a;
}

static int port_of(int fd, bool peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin_port);
}

static void set_timeo(int fd, int name, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)))
		die("SO_RCVTIMEO/SO_SNDTIMEO: %m");
}

/* FASTSOCKET_IOC_LISTEN_STATE of FD; false without the device. */
static bool listen_state(int fd, struct fastsocket_listen_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->fd = fd;
	if (dev < 0)
		return false;
	if (ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, st))
		die("FASTSOCKET_IOC_LISTEN_STATE: %m");
	return true;
}

/* Connections waiting on FD's per-cpu queues (-1: no device). */
static long queued_local(int fd)
{
	struct fastsocket_listen_state st;

	return listen_state(fd, &st) ? (long)st.queued : -1;
}

static int listen_ioctl(int fd, unsigned long cmd)
{
	struct fastsocket_listen l = { .size = sizeof(l), .fd = fd };

	return ioctl(dev, cmd, &l) ? -errno : 0;
}

/*
 * A blocking IPv4 listener on loopback, any port, enabled as the mode
 * says and checked; its accept() gives up after RCVTIMEO_MS.
 */
static int new_listener(int backlog, long rcvtimeo_ms, const char *what)
{
	struct sockaddr_in a = loopback(0);
	struct fastsocket_listen_state st;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool enabled;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("%s: listener: %m", what);
	set_timeo(fd, SO_RCVTIMEO, rcvtimeo_ms);
	if (listen(fd, backlog))
		die("%s: listen: %m", what);
	if (mode == MODE_IOCTL && listen_ioctl(fd, FASTSOCKET_IOC_LISTEN))
		die("%s: FASTSOCKET_IOC_LISTEN: %s", what,
		    strerror(-listen_ioctl(fd, FASTSOCKET_IOC_LISTEN)));
	if (!listen_state(fd, &st))
		return fd;
	enabled = st.state & FASTSOCKET_STATE_ENABLED;
	if (enabled != (mode == MODE_IOCTL))
		die("%s: local listen is %s, not as the mode says", what,
		    enabled ? "on" : "off");
	return fd;
}

/*
 * The time each connection started, by the client's port: a client binds
 * before it connects, stores the time, then connects; whoever accepts
 * reads it back through getpeername().
 */
static long started_us[65536];

static void start_clock(int port)
{
	__atomic_store_n(&started_us[port], now_us(), __ATOMIC_RELEASE);
}

/* Microseconds since child C's client started connecting, or -1. */
static long waited_us(int c)
{
	int port = port_of(c, true);
	long t0 = port > 0 ? __atomic_load_n(&started_us[port],
					     __ATOMIC_ACQUIRE) : 0;

	return t0 ? now_us() - t0 : -1;
}

/*
 * A blocking connect() to PORT from the calling cpu, timed from just
 * before it (start_clock); the client socket, or -1 if the handshake did
 * not complete within 3 s.
 */
static int timed_connect(int port)
{
	struct sockaddr_in a = loopback(0), to = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int p;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("client socket: %m");
	set_timeo(fd, SO_SNDTIMEO, 3000);
	p = port_of(fd, false);
	if (p <= 0)
		die("client port: %m");
	start_clock(p);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to MS for a connection on listener FD (any mode); or -1. */
static int accept_wait(int fd, long ms)
{
	long end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, end - now_ms() > 0 ? end - now_ms() : 0) > 0) {
			c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c >= 0)
				return c;
		}
		if (now_ms() >= end)
			return -1;
	}
}

/*
 * Waits until thread TID sleeps (it said it is about to block in a call
 * on a listener: that is where it sleeps), then a little more.
 */
static void wait_blocked(pid_t tid, const char *what)
{
	char path[64], buf[512];
	long end = now_ms() + 5000;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		char *p;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S') {
				sleep_ms(5);
				return;
			}
		}
		if (now_ms() > end)
			die("%s did not block", what);
		sleep_ms(1);
	}
}

/* The sum of column COL of /proc/net/fastsocket, or -1 without it. */
static long proc_sum(const char *col)
{
	FILE *f = fopen("/proc/net/fastsocket", "r");
	char line[1024];
	int c = -1, i;
	long sum = 0;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *tok, *save;

		for (i = 0, tok = strtok_r(line, " \t\n", &save); tok;
		     i++, tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, col))
				c = i;
	}
	while (c >= 0 && fgets(line, sizeof(line), f)) {
		char *tok, *save;

		for (i = 0, tok = strtok_r(line, " \t\n", &save); tok;
		     i++, tok = strtok_r(NULL, " \t\n", &save))
			if (i == c)
				sum += atol(tok);
	}
	fclose(f);
	return c < 0 ? -1 : sum;
}

/* "TCP: inuse N ... alloc N" of /proc/net/sockstat (this namespace's). */
static void sockstat(long *inuse, long *alloc)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];

	*inuse = *alloc = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %ld orphan %*d tw %*d alloc %ld",
			   inuse, alloc) == 2)
			break;
	if (f)
		fclose(f);
	if (*inuse < 0)
		die("/proc/net/sockstat: no TCP line");
}

/*
 * --- steal: the acceptor of cpu 0 accepts once, then sleeps; a second
 * acceptor, pinned to the last cpu or not pinned, blocks in accept(); a
 * client on cpu 0 connects steal_conns times.  Every connection must
 * reach the second acceptor: on stock at once, enabled once the rescue
 * has moved cpu 0's queue (about 1.5 listen_idle_ms).
 */
struct acceptor {
	pthread_t thread;
	int fd, cpu;		/* cpu -1: not pinned */
	int want;		/* connections to take */
	pid_t tid;
	int ready;		/* about to block */
	int accepted;
	long max_us;
	int *children;
	int wake[2];		/* steal's first acceptor sleeps on it */
};

static void *steal_first(void *arg)
{
	struct acceptor *a = arg;
	char b;
	int c;

	pin(a->cpu);
	c = accept(a->fd, NULL, NULL);
	if (c >= 0) {
		a->children[0] = c;
		a->accepted = 1;
	}
	__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
	/* It stops accepting: asleep, away from the listener. */
	if (read(a->wake[0], &b, 1) < 0)
		return NULL;
	return NULL;
}

static void *steal_second(void *arg)
{
	struct acceptor *a = arg;

	if (a->cpu >= 0)
		pin(a->cpu);
	else
		unpin();
	a->tid = gettid_();
	__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
	while (a->accepted < a->want) {
		int c = accept(a->fd, NULL, NULL);
		long w;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			break;		/* SO_RCVTIMEO: a connection is late */
		w = waited_us(c);
		if (w > a->max_us)
			a->max_us = w;
		a->children[a->accepted++] = c;
	}
	return NULL;
}

static void wait_flag(int *flag, const char *what)
{
	long end = now_ms() + 5000;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			die("%s: timed out", what);
		sleep_ms(1);
	}
}

static void run_steal(bool second_pinned)
{
	const char *key = second_pinned ? "steal_pinned" : "steal_unpinned";
	int fd = new_listener(128, 5000, key);
	int port = port_of(fd, false), n = steal_conns, i, connected = 0;
	struct acceptor first = { .fd = fd, .cpu = cpu0() };
	struct acceptor second = { .fd = fd, .want = n,
				   .cpu = second_pinned ? last_cpu() : -1 };
	int *clients = calloc(n + 1, sizeof(int));
	long moved = proc_sum("moved"), local_at_burst, start;

	first.children = calloc(1, sizeof(int));
	second.children = calloc(n, sizeof(int));
	if (!clients || !first.children || !second.children ||
	    pipe(first.wake))
		die("%s: out of memory", key);
	memset(started_us, 0, sizeof(started_us));
	pin(cpu0());

	/* Cpu 0's acceptor takes the first connection, alone. */
	if (pthread_create(&first.thread, NULL, steal_first, &first))
		die("pthread_create");
	clients[n] = timed_connect(port);
	if (clients[n] < 0)
		die("%s: the first connection failed", key);
	wait_flag(&first.ready, key);
	if (!first.accepted)
		die("%s: cpu 0's acceptor did not accept the first connection",
		    key);

	/* The second acceptor blocks in accept(), then cpu 0 connects. */
	if (pthread_create(&second.thread, NULL, steal_second, &second))
		die("pthread_create");
	wait_flag(&second.ready, key);
	wait_blocked(second.tid, "the second acceptor");
	start = now_us();
	for (i = 0; i < n; i++) {
		clients[i] = timed_connect(port);
		connected += clients[i] >= 0;
	}
	put((now_us() - start) / 1000, "%s_burst_ms", key);
	local_at_burst = queued_local(fd);
	pthread_join(second.thread, NULL);

	if (write(first.wake[1], "x", 1) != 1)
		die("%s: waking cpu 0's acceptor: %m", key);
	pthread_join(first.thread, NULL);
	put(second.cpu, "%s_second_cpu", key);
	put(connected, "%s_connected", key);
	put(second.accepted, "%s_accepted", key);
	put(second.max_us, "%s_max_wait_us", key);
	put(local_at_burst, "%s_queued_local", key);
	put(moved < 0 ? -1 : proc_sum("moved") - moved, "%s_moved", key);
	for (i = 0; i < second.accepted; i++)
		close(second.children[i]);
	for (i = 0; i <= n; i++)
		if (clients[i] >= 0)
			close(clients[i]);
	close(first.children[0]);
	close(first.wake[0]);
	close(first.wake[1]);
	close(fd);
	free(first.children);
	free(second.children);
	free(clients);
}

/*
 * --- unpinned: four acceptors that are not pinned block in accept();
 * client threads pinned one per cpu connect unpinned_conns times in all.
 * Each connection's wait from connect() to accept() is measured.
 */
#define UNPINNED_ACCEPTORS 4

static int unpinned_total;
static long *unpinned_waits;

static void *unpinned_accept(void *arg)
{
	struct acceptor *a = arg;

	unpin();
	a->tid = gettid_();
	__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		int c = accept(a->fd, NULL, NULL), i;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			break;		/* shut down, or SO_RCVTIMEO */
		i = __atomic_fetch_add(&unpinned_total, 1, __ATOMIC_ACQ_REL);
		if (i < unpinned_conns)
			unpinned_waits[i] = waited_us(c);
		a->accepted++;
		close(c);
	}
	return NULL;
}

struct client {
	pthread_t thread;
	int cpu, port, n, connected, failed;
};

static void *unpinned_connect(void *arg)
{
	struct client *c = arg;

	pin(c->cpu);
	for (int i = 0; i < c->n; i++) {
		int fd = timed_connect(c->port);

		if (fd < 0) {
			c->failed++;
			continue;
		}
		c->connected++;
		close(fd);
	}
	return NULL;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void run_unpinned(void)
{
	int fd = new_listener(1024, 10000, "unpinned");
	int port = port_of(fd, false), connected = 0, failed = 0, i, n;
	struct acceptor acc[UNPINNED_ACCEPTORS] = { 0 };
	struct client *cli = calloc(ncpus, sizeof(*cli));
	long syn_local = proc_sum("syn_local"), end;

	unpinned_waits = calloc(unpinned_conns, sizeof(long));
	if (!cli || !unpinned_waits)
		die("unpinned: out of memory");
	memset(started_us, 0, sizeof(started_us));
	unpinned_total = 0;
	for (i = 0; i < UNPINNED_ACCEPTORS; i++) {
		acc[i].fd = fd;
		if (pthread_create(&acc[i].thread, NULL, unpinned_accept,
				   &acc[i]))
			die("pthread_create");
	}
	for (i = 0; i < UNPINNED_ACCEPTORS; i++) {
		wait_flag(&acc[i].ready, "unpinned");
		wait_blocked(acc[i].tid, "an unpinned acceptor");
	}
	for (i = 0; i < ncpus; i++) {
		cli[i] = (struct client){
			.cpu = cpus[i], .port = port,
			.n = unpinned_conns / ncpus +
			     (i < unpinned_conns % ncpus),
		};
		if (pthread_create(&cli[i].thread, NULL, unpinned_connect,
				   &cli[i]))
			die("pthread_create");
	}
	for (i = 0; i < ncpus; i++) {
		pthread_join(cli[i].thread, NULL);
		connected += cli[i].connected;
		failed += cli[i].failed;
	}
	end = now_ms() + 5000;
	while (__atomic_load_n(&unpinned_total, __ATOMIC_ACQUIRE) < connected &&
	       now_ms() < end)
		sleep_ms(5);
	/* Wakes every acceptor still in accept(): EINVAL. */
	shutdown(fd, SHUT_RDWR);
	for (i = 0; i < UNPINNED_ACCEPTORS; i++)
		pthread_join(acc[i].thread, NULL);
	n = unpinned_total < unpinned_conns ? unpinned_total : unpinned_conns;
	qsort(unpinned_waits, n, sizeof(long), cmp_long);
	put(UNPINNED_ACCEPTORS, "unpinned_acceptors");
	put(connected, "unpinned_connected");
	put(failed, "unpinned_failed");
	put(unpinned_total, "unpinned_accepted");
	put(n ? unpinned_waits[n / 2] : -1, "unpinned_p50_us");
	put(n ? unpinned_waits[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] :
	    -1, "unpinned_p99_us");
	put(n ? unpinned_waits[n - 1] : -1, "unpinned_max_us");
	put(syn_local < 0 ? -1 : proc_sum("syn_local") - syn_local,
	    "unpinned_syn_local");
	close(fd);
	free(cli);
	free(unpinned_waits);
}

/*
 * --- sigio: the listener has O_ASYNC and F_SETOWN (this process); a
 * thread pinned to cpu 0 polls it (so that cpu 0's queue is in use); a
 * client on cpu 0 connects.  SIGIO is blocked in every thread and taken
 * with sigtimedwait().
 */
struct poller {
	pthread_t thread;
	int fd;
	pid_t tid;
	int ready, revents;
	long woken_us;
};

static void *sigio_poll(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	pin(cpu0());
	p->tid = gettid_();
	__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	if (poll(&pfd, 1, 3000) == 1)
		p->revents = pfd.revents;
	p->woken_us = now_us();
	return NULL;
}

static void run_sigio(void)
{
	int fd = new_listener(16, 3000, "sigio");
	struct poller p = { .fd = fd };
	struct timespec ts = { .tv_sec = 2 }, zero = { 0 };
	siginfo_t si;
	sigset_t set;
	long start, queued;
	int cfd, child, got = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	/* Nothing pending from before. */
	while (sigtimedwait(&set, &si, &zero) == SIGIO)
		;
	if (fcntl(fd, F_SETOWN, getpid()) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC))
		die("sigio: F_SETOWN, O_ASYNC: %m");
	pin(cpu0());
	if (pthread_create(&p.thread, NULL, sigio_poll, &p))
		die("pthread_create");
	wait_flag(&p.ready, "sigio");
	wait_blocked(p.tid, "the polling thread");
	start = now_us();
	cfd = timed_connect(port_of(fd, false));
	if (cfd < 0)
		die("sigio: the connection failed");
	if (sigtimedwait(&set, &si, &ts) == SIGIO)
		got = 1;
	put(got, "sigio_received");
	put(got ? now_us() - start : -1, "sigio_us");
	pthread_join(p.thread, NULL);
	put(!!(p.revents & POLLIN), "sigio_poll_woken");
	put(p.revents & POLLIN ? p.woken_us - start : -1, "sigio_poll_us");
	queued = queued_local(fd);
	put(queued, "sigio_queued_local");
	child = accept_wait(fd, 2000);
	put(child >= 0, "sigio_accepted");
	if (child >= 0)
		close(child);
	close(cfd);
	close(fd);
	/* A second SIGIO (the readiness of the accept) is not counted. */
	while (sigtimedwait(&set, &si, &zero) == SIGIO)
		;
}

/*
 * --- aio: IOCB_CMD_POLL for POLLIN on the listener, through the raw
 * system calls (no libaio).  Pinned: submitted from cpu 0, the client on
 * cpu 0.  Unpinned: submitted by a task that is not pinned, the client on
 * the last cpu.
 */
static long sys_io_setup(unsigned int nr, aio_context_t *ctx)
{
	return syscall(__NR_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(__NR_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(__NR_io_submit, ctx, n, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long n,
			     struct io_event *ev, struct timespec *ts)
{
	return syscall(__NR_io_getevents, ctx, min, n, ev, ts);
}

static void run_aio_one(bool pinned)
{
	const char *key = pinned ? "aio_pinned" : "aio_unpinned";
	int fd = new_listener(16, 3000, key);
	aio_context_t ctx = 0;
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct io_event ev = { 0 };
	struct timespec ts = { .tv_sec = 2 };
	long rc, start, got;
	int cfd, child;

	if (sys_io_setup(4, &ctx))
		die("%s: io_setup: %m", key);
	cb.aio_lio_opcode = IOCB_CMD_POLL;
	cb.aio_fildes = fd;
	cb.aio_buf = POLLIN;
	cb.aio_data = 0x17;
	if (pinned)
		pin(cpu0());
	else
		unpin();
	rc = sys_io_submit(ctx, 1, cbs);
	put(rc == 1 ? 0 : errno, "%s_submit_errno", key);
	pin(pinned ? cpu0() : last_cpu());
	start = now_us();
	cfd = timed_connect(port_of(fd, false));
	if (cfd < 0)
		die("%s: the connection failed", key);
	got = rc == 1 ? sys_io_getevents(ctx, 1, 1, &ev, &ts) : 0;
	put(got == 1 && ev.data == 0x17, "%s_completed", key);
	put(got == 1 ? now_us() - start : -1, "%s_us", key);
	put(got == 1 && (ev.res & POLLIN), "%s_pollin", key);
	put(queued_local(fd), "%s_queued_local", key);
	child = accept_wait(fd, 2000);
	put(child >= 0, "%s_accepted", key);
	if (child >= 0)
		close(child);
	close(cfd);
	/* Cancels a poll that did not complete. */
	sys_io_destroy(ctx);
	close(fd);
}

static void run_aio(void)
{
	run_aio_one(true);
	run_aio_one(false);
}

/*
 * --- race: two threads enable and disable one listener race_rounds
 * times each (one LISTEN then UNLISTEN, the other UNLISTEN then LISTEN),
 * while a client connects now and then from cpu after cpu, and acceptors
 * (one pinned to each cpu, one not pinned) block in accept().  Every
 * connection must be accepted; once everything is closed, this network
 * namespace's TCP sockets in use (and all TCP sockets allocated) are back
 * where they were.  Stock: the same without the ioctls.
 */
#define RACE_MIN_CONNS 40
#define RACE_MAX_CONNS 2000

/* Racing threads still running; connections accepted. */
static int racers_left, race_accepted;

struct racer {
	pthread_t thread;
	int fd;
	bool listen_first;
	long listen_ok, unlisten_ok, unlisten_einval;
};

static void *race_ioctls(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < race_rounds; i++) {
		for (int k = 0; k < 2; k++) {
			bool listen = (k == 0) == r->listen_first;
			int err = listen_ioctl(r->fd, listen ?
					       FASTSOCKET_IOC_LISTEN :
					       FASTSOCKET_IOC_UNLISTEN);

			if (listen && err)
				die("race: LISTEN: %s", strerror(-err));
			if (listen)
				r->listen_ok++;
			else if (!err)
				r->unlisten_ok++;
			else if (err == -EINVAL)
				r->unlisten_einval++;	/* not enabled */
			else
				die("race: UNLISTEN: %s", strerror(-err));
		}
	}
	__atomic_sub_fetch(&racers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *race_accept(void *arg)
{
	struct acceptor *a = arg;

	if (a->cpu >= 0)
		pin(a->cpu);
	else
		unpin();
	for (;;) {
		int c = accept(a->fd, NULL, NULL);

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			break;		/* shut down, or SO_RCVTIMEO */
		__atomic_add_fetch(&race_accepted, 1, __ATOMIC_RELEASE);
		a->accepted++;
		close(c);
	}
	return NULL;
}

static void run_race(void)
{
	long inuse0, alloc0, inuse, alloc, start, end;
	int fd, port, i, connected = 0, failed = 0;
	struct acceptor *acc = calloc(ncpus + 1, sizeof(*acc));
	struct racer racers[2] = { { .listen_first = true },
				   { .listen_first = false } };

	if (!acc)
		die("race: out of memory");
	sockstat(&inuse0, &alloc0);
	fd = new_listener(256, 10000, "race");
	port = port_of(fd, false);
	race_accepted = 0;
	racers_left = mode == MODE_IOCTL ? 2 : 0;
	for (i = 0; i <= ncpus; i++) {
		acc[i] = (struct acceptor){ .fd = fd,
					    .cpu = i < ncpus ? cpus[i] : -1 };
		if (pthread_create(&acc[i].thread, NULL, race_accept, &acc[i]))
			die("pthread_create");
	}
	sleep_ms(20);
	start = now_ms();
	for (i = 0; mode == MODE_IOCTL && i < 2; i++) {
		racers[i].fd = fd;
		if (pthread_create(&racers[i].thread, NULL, race_ioctls,
				   &racers[i]))
			die("pthread_create");
	}
	/* The client, on this thread: cpu after cpu, every 5 ms or so. */
	for (i = 0; connected + failed < RACE_MAX_CONNS; i++) {
		struct sockaddr_in to = loopback(port);
		struct pollfd p = { .events = POLLOUT };
		int err = 0;
		socklen_t len = sizeof(err);

		if (!__atomic_load_n(&racers_left, __ATOMIC_ACQUIRE) &&
		    connected + failed >= RACE_MIN_CONNS)
			break;
		pin(cpus[i % ncpus]);
		p.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
			      SOCK_CLOEXEC, 0);
		if (p.fd < 0)
			die("race: client socket: %m");
		if (connect(p.fd, (struct sockaddr *)&to, sizeof(to)) &&
		    errno != EINPROGRESS)
			die("race: connect: %m");
		if (poll(&p, 1, 3000) == 1 &&
		    !getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err)
			connected++;
		else
			failed++;
		close(p.fd);
		sleep_ms(5);
	}
	for (i = 0; mode == MODE_IOCTL && i < 2; i++)
		pthread_join(racers[i].thread, NULL);
	put(now_ms() - start, "race_ms");
	unpin();
	end = now_ms() + 5000;
	while (__atomic_load_n(&race_accepted, __ATOMIC_ACQUIRE) < connected &&
	       now_ms() < end)
		sleep_ms(5);
	put(race_rounds * (mode == MODE_IOCTL), "race_rounds");
	put(racers[0].listen_ok + racers[1].listen_ok, "race_listen_ok");
	put(racers[0].unlisten_ok + racers[1].unlisten_ok, "race_unlisten_ok");
	put(racers[0].unlisten_einval + racers[1].unlisten_einval,
	    "race_unlisten_einval");
	put(connected, "race_connected");
	put(failed, "race_connect_failed");
	put(race_accepted, "race_accepted");
	shutdown(fd, SHUT_RDWR);
	for (i = 0; i <= ncpus; i++)
		pthread_join(acc[i].thread, NULL);
	close(fd);

	/* Closed children and clients go through FIN and TIME_WAIT. */
	end = now_ms() + 5000;
	do {
		sleep_ms(20);
		sockstat(&inuse, &alloc);
	} while ((inuse != inuse0 || alloc > alloc0) && now_ms() < end);
	put(inuse0, "race_tcp_inuse_before");
	put(inuse, "race_tcp_inuse_after");
	put(alloc0, "race_tcp_alloc_before");
	put(alloc, "race_tcp_alloc_after");
	free(acc);
}

static const char *const rows[] = { "steal", "unpinned", "sigio", "aio",
				    "race" };
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

static void steal(void)
{
	run_steal(true);
	run_steal(false);
}

static void (*const row_run[NR_ROWS])(void) = {
	steal, run_unpinned, run_sigio, run_aio, run_race
};

static void __noreturn usage(void)
{
	fprintf(stderr, "usage: fs_bounds --mode stock|ioctl [--conns N] "
		"[--unpinned-conns N] [--rounds N] [ROW...]\nrows:");
	for (size_t r = 0; r < NR_ROWS; r++)
		fprintf(stderr, " %s", rows[r]);
	fputs(" (default: all but race)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	bool want[NR_ROWS] = { 0 }, mode_set = false, any = false;
	sigset_t set;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "stock"))
				mode = MODE_STOCK;
			else if (!strcmp(argv[i], "ioctl"))
				mode = MODE_IOCTL;
			else
				usage();
			mode_set = true;
		} else if (!strcmp(argv[i], "--conns") && i + 1 < argc) {
			steal_conns = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--unpinned-conns") && i + 1 < argc) {
			unpinned_conns = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			race_rounds = atoi(argv[++i]);
		} else if (argv[i][0] == '-') {
			usage();
		} else {
			bool found = false;

			for (size_t r = 0; r < NR_ROWS; r++)
				if (!strcmp(rows[r], argv[i]))
					found = want[r] = true;
			if (!found)
				usage();
			any = true;
		}
	}
	if (!mode_set || steal_conns < 1 || unpinned_conns < 1 ||
	    race_rounds < 1)
		usage();
	if (!any)
		for (size_t r = 0; r + 1 < NR_ROWS; r++)
			want[r] = true;
	signal(SIGPIPE, SIG_IGN);
	/* SIGIO is taken with sigtimedwait(): blocked in every thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("blocking SIGIO");
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus))
		die("sched_getaffinity: %m");
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all_cpus))
			cpus[ncpus++] = i;
	/* As libfsocket.so opens it: read-write, else read-only. */
	dev = open(FASTSOCKET_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		dev = open(FASTSOCKET_DEVICE, O_RDONLY | O_CLOEXEC);
	if (dev < 0 && mode != MODE_STOCK)
		die("%s: %m", FASTSOCKET_DEVICE);
	put(ncpus, "cpus");
	for (size_t r = 0; r < NR_ROWS; r++)
		if (want[r]) {
			row_run[r]();
			unpin();
		}
	return 0;
}
