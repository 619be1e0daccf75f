// SPDX-License-Identifier: GPL-2.0
/*
 * The rows of issue 17: what the kernel checks against a listening socket
 * (its options, filters, keys, policies, cgroup), what it reports of it
 * (its queue) and how it steers (SO_INCOMING_CPU, reuseport), measured as
 * an application sees them.  Stock 6.12 gives the expected value of every
 * row; tests/vm/scenarios/semantics.sh runs this once on stock and once in
 * each way of enabling local listen, and compares.
 *
 *   fs_semantics --mode stock|ioctl|preload|auto [--wait-ms N] [ROW...]
 *
 * The mode says how the listeners get local listen: not at all (stock),
 * FASTSOCKET_IOC_LISTEN right after listen() (ioctl), or by someone else:
 * libfsocket.so in LD_PRELOAD (preload) or the listen_auto sysctl (auto).
 * Every listener's state is checked with FASTSOCKET_IOC_LISTEN_STATE, so a
 * mode that did not take effect is an error, not a stock-looking result
 * (in stock mode, only where /dev/fastsocket exists).
 *
 * Prints "KEY VALUE" lines, one per measured value; exits 1 with a line
 * on stderr when it cannot measure.  A row whose option the kernel lacks
 * (TCP-MD5, XFRM, cgroup BPF) prints only "ROW_supported 0".
 *
 * The small rows run as the table says: on loopback, the listener's
 * worker and the client on cpu 0, and a non-blocking accept() on cpu 0
 * before any connection, so that cpu 0 counts as having an acceptor.
 * incoming_cpu and reuseport_spread bring their own acceptors, as their
 * rows of the table say.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/xfrm.h>

#include "../../include/uapi/linux/fastsocket.h"
#include "fs_tool.h"

#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif

/* The kernel's spellings, for checkpatch and the reader alike. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum mode { MODE_STOCK, MODE_IOCTL, MODE_PRELOAD, MODE_AUTO };
static const char *const mode_names[] = { "stock", "ioctl", "preload", "auto" };

static enum mode mode;
static int dev = -1;
/* How long a connection that stock drops is given to get through. */
static int wait_ms = 1000;
static cpu_set_t all_cpus;
static int cpus[CPU_SETSIZE];
static int ncpus;

static void __noreturn __printf(1, 2) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fs_semantics (%s): ", mode_names[mode]);
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

/* The loopback address of FAMILY with PORT (host order). */
static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname: %m");
	return ntohs(ss.ss_family == AF_INET6 ?
		     ((struct sockaddr_in6 *)&ss)->sin6_port :
		     ((struct sockaddr_in *)&ss)->sin_port);
}

static void bind_loopback(int fd, int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);

	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind to port %d: %m", port);
}

static void set_int(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)))
		die("%s: %m", what);
}

/*
 * listen(), then local listen as the mode says, checked: a listener that
 * stayed stock in a fastsocket mode would make that mode's row stock's.
 */
static void do_listen(int fd, int backlog, const char *what)
{
	struct fastsocket_listen_state st = { .size = sizeof(st), .fd = fd };
	bool enabled;

	if (listen(fd, backlog))
		die("%s: listen: %m", what);
	if (mode == MODE_IOCTL) {
		struct fastsocket_listen l = { .size = sizeof(l), .fd = fd };

		if (ioctl(dev, FASTSOCKET_IOC_LISTEN, &l))
			die("%s: FASTSOCKET_IOC_LISTEN: %m", what);
	}
	if (dev < 0)
		return;
	if (ioctl(dev, FASTSOCKET_IOC_LISTEN_STATE, &st))
		die("%s: FASTSOCKET_IOC_LISTEN_STATE: %m", what);
	enabled = st.state & FASTSOCKET_STATE_ENABLED;
	if (enabled != (mode != MODE_STOCK))
		die("%s: local listen is %s, not as the mode says", what,
		    enabled ? "on" : "off");
}

/* Non-blocking connect() to PORT; the socket, still connecting. */
static int connect_start(int family, int port, int (*opt)(int fd))
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		die("client socket: %m");
	if (opt)
		err = opt(fd);
	if (err)
		die("client option: %s", strerror(-err));
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		die("connect to port %d: %m", port);
	return fd;
}

/*
 * Whether client FD's handshake completed, in its own view: ESTABLISHED,
 * or CLOSE_WAIT when the server already accepted and closed.
 */
static bool established(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return false;
	return ti.tcpi_state == TCP_ESTABLISHED ||
	       ti.tcpi_state == TCP_CLOSE_WAIT;
}

/* Waits up to MS for FD's handshake; whether it completed. */
static bool connect_wait(int fd, long ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, ms) != 1)
		return false;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return !err && established(fd);
}

/* Waits up to MS for a connection on listener FD; the child or -1. */
static int accept_wait(int fd, long ms)
{
	long end = now_ms() + ms;
	int c;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EAGAIN && errno != EINTR)
			die("accept: %m");
		if (now_ms() >= end)
			return -1;
		poll(&p, 1, end - now_ms());
	}
}

/*
 * The non-blocking accept on cpu 0 every small row starts with: it is
 * where fastsocket learns that cpu 0 has an acceptor.  Nothing connected
 * yet, so it must find nothing.
 */
static void nonblocking_accept(int fd)
{
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c >= 0)
		die("a connection before any connect()");
	if (errno != EAGAIN)
		die("non-blocking accept: %m");
}

/* --- inet_diag, as ss(8) reads it, and /proc/net/tcp. */

struct diag {
	int listen_rqueue;	/* Recv-Q of the listener: its queue */
	int listen_max;		/* Send-Q of the listener: its backlog */
	int established;	/* server-side children of the port */
	int syn_recv;		/* request sockets of the port */
};

static void diag_port(int family, int port, struct diag *d)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~0U },
	};
	static char buf[65536];
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			NETLINK_SOCK_DIAG);
	bool done = false;

	memset(d, 0, sizeof(*d));
	d->listen_rqueue = d->listen_max = -1;
	if (nl < 0 || send(nl, &req, sizeof(req), 0) < 0)
		die("sock_diag: %m");
	while (!done) {
		int n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			die("sock_diag recv: %m");
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR)
				die("sock_diag: error reply");
			if (ntohs(m->id.idiag_sport) != port)
				continue;
			switch (m->idiag_state) {
			case TCP_LISTEN:
				d->listen_rqueue = m->idiag_rqueue;
				d->listen_max = m->idiag_wqueue;
				break;
			case TCP_ESTABLISHED:
				d->established++;
				break;
			case TCP_SYN_RECV:
				d->syn_recv++;
				break;
			}
		}
	}
	close(nl);
}

/* rx_queue of the IPv4 listener on PORT in /proc/net/tcp, or -1. */
static int proc_rx_queue(int port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int rq = -1;

	if (!f)
		die("/proc/net/tcp: %m");
	while (fgets(line, sizeof(line), f)) {
		unsigned int lport, st, tq, rxq;

		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %x:%x", &lport, &st,
			   &tq, &rxq) == 4 && lport == (unsigned int)port &&
		    st == TCP_LISTEN)
			rq = rxq;
	}
	fclose(f);
	return rq;
}

/* --- The small rows: one listener each, an option, one client. */

enum stage { BEFORE_LISTEN, AFTER_LISTEN, AFTER_ACCEPT, NR_STAGES };
static const char *const stage_names[] = {
	"before_listen", "after_listen", "after_accept"
};
#define ALL_STAGES ((1U << NR_STAGES) - 1)

struct small_row {
	const char *name;
	int family;
	unsigned int stages;		/* when opt is set: bits of enum stage */
	int (*setup)(void);		/* 0, or -errno: the kernel lacks it */
	int (*new_socket)(int family);	/* the listener's socket() */
	int (*opt)(int fd);		/* the listener's option: 0 or -errno */
	int (*client_opt)(int fd);
	void (*child)(const char *key, int fd);	/* reads the child */
	void (*cleanup)(void);
};

struct small_case {
	const struct small_row *row;
	char key[64];
	int lfd, cfd, child;
	int error;			/* of opt, or 0 */
};

static int sockopt_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) ? -errno : 0;
}

/* Loopback's TTL (hop limit) is 64: a minimum of 255 drops every SYN. */
static int opt_minttl(int fd)
{
	return sockopt_int(fd, IPPROTO_IP, IP_MINTTL, 255);
}

static int opt_minhopcount(int fd)
{
	return sockopt_int(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, 255);
}

/* The one-instruction classic BPF program "ret #0": drop everything. */
static int opt_filter(int fd)
{
	struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog)) ? -errno : 0;
}

static int md5_key(int fd)
{
	struct tcp_md5sig sig = { .tcpm_keylen = 8 };
	struct sockaddr_in *a = (struct sockaddr_in *)&sig.tcpm_addr;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(sig.tcpm_key, "fs-sem17", 8);
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) ?
		-errno : 0;
}

static int md5_setup(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int err = md5_key(fd);

	close(fd);
	return err;
}

/* A per-socket policy that blocks everything the listener receives. */
static int opt_xfrm_block(int fd)
{
	struct xfrm_userpolicy_info pol = {
		.sel.family = AF_INET,
		.lft = { .soft_byte_limit = XFRM_INF,
			 .hard_byte_limit = XFRM_INF,
			 .soft_packet_limit = XFRM_INF,
			 .hard_packet_limit = XFRM_INF },
		.dir = XFRM_POLICY_IN,
		.action = XFRM_POLICY_BLOCK,
		.share = XFRM_SHARE_ANY,
	};

	return setsockopt(fd, IPPROTO_IP, IP_XFRM_POLICY, &pol, sizeof(pol)) ?
		-errno : 0;
}

static int xfrm_setup(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int err = opt_xfrm_block(fd);

	close(fd);
	return err;
}

/* A traffic class and hop limit that are not the defaults. */
#define TCLASS 0x28
#define HOPS 7

static int opt_ipv6_tclass(int fd)
{
	return sockopt_int(fd, IPPROTO_IPV6, IPV6_TCLASS, TCLASS) ?:
		sockopt_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, HOPS);
}

static void child_ipv6_tclass(const char *key, int fd)
{
	int tclass = -1, hops = -1;
	socklen_t len = sizeof(int);

	getsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, &len);
	len = sizeof(int);
	getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, &len);
	put(tclass, "%s_child_tclass", key);
	put(hops, "%s_child_hops", key);
}

static int opt_save_syn(int fd)
{
	return sockopt_int(fd, IPPROTO_TCP, TCP_SAVE_SYN, 1);
}

/* The saved SYN's length (its IP and TCP headers), or -errno. */
static void child_save_syn(const char *key, int fd)
{
	char syn[512];
	socklen_t len = sizeof(syn);

	put(getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len) ? -errno :
	    (long)len, "%s_saved_syn_bytes", key);
}

/*
 * cgroup v2: the listener is made in a cgroup of its own, the process
 * (worker and client) then goes back to its cgroup, and a cgroup_skb
 * ingress program that drops everything is attached to the listener's.
 * On stock the listener's cgroup decides, not the worker's.
 */
static char cg_root[256], cg_dir[320], cg_home[1024];
static bool cg_mounted;
static int cg_prog = -1, cg_fd = -1;

static int cg_write_pid(const char *dir)
{
	char path[1100], pid[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, n) != n)
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

/* The cgroup2 mount, or one of our own; 0 or -errno. */
static int cg_find_root(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024], mnt[256], fstype[64];

	while (f && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*d %*d %*s %*s %255s", mnt) != 1)
			continue;
		snprintf(cg_root, sizeof(cg_root), "%s", mnt);
		fclose(f);
		return 0;
	}
	if (f)
		fclose(f);
	snprintf(cg_root, sizeof(cg_root), "/tmp/fs_semantics.cgroup2.%d",
		 getpid());
	if (mkdir(cg_root, 0700) && errno != EEXIST)
		return -errno;
	if (mount("none", cg_root, "cgroup2", 0, NULL)) {
		int err = -errno;

		rmdir(cg_root);
		return err;
	}
	cg_mounted = true;
	return 0;
}

static int cg_setup(void)
{
	struct bpf_insn drop[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_CGROUP_SKB,
		.insns = (unsigned long)drop,
		.insn_cnt = 2,
		.license = (unsigned long)"GPL",
		.expected_attach_type = BPF_CGROUP_INET_INGRESS,
	};
	FILE *f;
	char line[512];
	int err;

	cg_prog = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (cg_prog < 0)
		return -errno;
	err = cg_find_root();
	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(cg_home, sizeof(cg_home), "%s%s", cg_root,
				 line + 3);
		}
	if (f)
		fclose(f);
	if (!cg_home[0])
		return -ENOENT;
	snprintf(cg_dir, sizeof(cg_dir), "%s/fs_semantics.%d", cg_root,
		 getpid());
	if (mkdir(cg_dir, 0755))
		return -errno;
	cg_fd = open(cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return cg_fd < 0 ? -errno : 0;
}

/* socket() in the listener's cgroup; the process then goes home. */
static int cg_socket(int family)
{
	int fd, err = cg_write_pid(cg_dir);

	if (err)
		die("joining %s: %s", cg_dir, strerror(-err));
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	err = cg_write_pid(cg_home);
	if (err)
		die("back to %s: %s", cg_home, strerror(-err));
	return fd;
}

static int cg_attach(int fd)
{
	union bpf_attr attr = {
		.target_fd = cg_fd,
		.attach_bpf_fd = cg_prog,
		.attach_type = BPF_CGROUP_INET_INGRESS,
	};

	(void)fd;
	return syscall(__NR_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) ?
		-errno : 0;
}

static void cg_cleanup(void)
{
	union bpf_attr attr = {
		.target_fd = cg_fd,
		.attach_bpf_fd = cg_prog,
		.attach_type = BPF_CGROUP_INET_INGRESS,
	};

	if (cg_fd >= 0) {
		syscall(__NR_bpf, BPF_PROG_DETACH, &attr, sizeof(attr));
		close(cg_fd);
	}
	if (cg_prog >= 0)
		close(cg_prog);
	if (cg_dir[0])
		rmdir(cg_dir);
	if (cg_mounted) {
		umount2(cg_root, MNT_DETACH);
		rmdir(cg_root);
	}
}

static const struct small_row small_rows[] = {
	{ "minttl", AF_INET, ALL_STAGES, .opt = opt_minttl },
	{ "minhopcount", AF_INET6, ALL_STAGES, .opt = opt_minhopcount },
	{ "filter", AF_INET, ALL_STAGES, .opt = opt_filter },
	/* The case: a key added at run time, after the first accept. */
	{ "md5_unkeyed", AF_INET, 1U << AFTER_ACCEPT, .setup = md5_setup,
	  .opt = md5_key },
	{ "md5_keyed", AF_INET, 1U << AFTER_ACCEPT, .setup = md5_setup,
	  .opt = md5_key, .client_opt = md5_key },
	{ "xfrm_block", AF_INET, ALL_STAGES, .setup = xfrm_setup,
	  .opt = opt_xfrm_block },
	{ "cgroup_ingress", AF_INET, 1U << AFTER_ACCEPT, .setup = cg_setup,
	  .new_socket = cg_socket, .opt = cg_attach, .cleanup = cg_cleanup },
	{ "ipv6_tclass", AF_INET6, ALL_STAGES, .opt = opt_ipv6_tclass,
	  .child = child_ipv6_tclass },
	{ "save_syn", AF_INET, ALL_STAGES, .opt = opt_save_syn,
	  .child = child_save_syn },
};
#define NR_SMALL ARRAY_SIZE(small_rows)

/*
 * The listener of one case, up to the moment its client connects: OPT at
 * its STAGE, the non-blocking accept on cpu 0, and for AFTER_ACCEPT one
 * connection accepted first (the option then comes at run time, to a
 * listener that fastsocket has already served).
 */
static void small_listen(struct small_case *c, enum stage stage)
{
	const struct small_row *r = c->row;
	int fd = r->new_socket ? r->new_socket(r->family) :
		socket(r->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("%s: socket: %m", c->key);
	c->lfd = fd;
	c->cfd = c->child = -1;
	bind_loopback(fd, r->family, 0);
	c->error = stage == BEFORE_LISTEN ? r->opt(fd) : 0;
	if (c->error)
		return;
	do_listen(fd, 16, c->key);
	c->error = stage == AFTER_LISTEN ? r->opt(fd) : 0;
	if (c->error)
		return;
	nonblocking_accept(fd);
	if (stage == AFTER_ACCEPT) {
		int cfd = connect_start(r->family, port_of(fd), NULL);
		int child = accept_wait(fd, 5000);

		if (child < 0)
			die("%s: the first connection was not accepted", c->key);
		close(child);
		close(cfd);
		c->error = r->opt(fd);
	}
}

static void run_small(const bool *want)
{
	struct small_case cases[NR_SMALL * NR_STAGES];
	bool supported[NR_SMALL];
	int n = 0, i, left;
	long end;

	for (size_t r = 0; r < NR_SMALL; r++) {
		const struct small_row *row = &small_rows[r];
		int err;

		supported[r] = false;
		if (!want[r])
			continue;
		err = row->setup ? row->setup() : 0;
		if (row->setup)
			put(!err, "%s_supported", row->name);
		if (err) {
			fprintf(stderr, "fs_semantics: %s: not in this kernel (%s)\n",
				row->name, strerror(-err));
			if (row->cleanup)
				row->cleanup();
			continue;
		}
		supported[r] = true;
		for (int s = 0; s < NR_STAGES; s++) {
			struct small_case *c = &cases[n];

			if (!(row->stages & (1U << s)))
				continue;
			n++;
			c->row = row;
			snprintf(c->key, sizeof(c->key), "%s_%s", row->name,
				 stage_names[s]);
			small_listen(c, s);
		}
	}

	/* Every client at once: a dropped SYN costs the wait only once. */
	for (i = 0; i < n; i++)
		if (!cases[i].error)
			cases[i].cfd = connect_start(cases[i].row->family,
						     port_of(cases[i].lfd),
						     cases[i].row->client_opt);
	end = now_ms() + wait_ms;
	do {
		left = 0;
		for (i = 0; i < n; i++) {
			struct small_case *c = &cases[i];

			if (c->error || c->child >= 0)
				continue;
			c->child = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c->child < 0 && errno != EAGAIN)
				die("%s: accept: %m", c->key);
			left += c->child < 0;
		}
		if (left)
			sleep_ms(5);
	} while (left && now_ms() < end);

	for (i = 0; i < n; i++) {
		struct small_case *c = &cases[i];

		if (c->error) {
			put(-c->error, "%s_errno", c->key);
		} else {
			put(c->child >= 0, "%s_accepted", c->key);
			put(established(c->cfd), "%s_connected", c->key);
			if (c->child >= 0 && c->row->child)
				c->row->child(c->key, c->child);
		}
		if (c->child >= 0)
			close(c->child);
		if (c->cfd >= 0)
			close(c->cfd);
		close(c->lfd);
	}
	for (size_t r = 0; r < NR_SMALL; r++)
		if (supported[r] && small_rows[r].cleanup)
			small_rows[r].cleanup();
}

/*
 * --- incoming_cpu: listener i of a reuseport group sets SO_INCOMING_CPU
 * to cpu i and is served by a thread on cpu i + 1; clients on every cpu.
 * On stock each connection goes to the listener of the cpu that received
 * it, whoever accepts there.
 */
struct ic_acceptor {
	pthread_t thread;
	int fd, cpu, want;
	long accepted, matched;
};

static int ic_stop;

static void *ic_accept(void *arg)
{
	struct ic_acceptor *a = arg;

	pin(a->cpu);
	while (!__atomic_load_n(&ic_stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = a->fd, .events = POLLIN };
		int c, cpu;
		socklen_t len = sizeof(cpu);

		poll(&p, 1, 10);
		while ((c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			if (getsockopt(c, SOL_SOCKET, SO_INCOMING_CPU, &cpu,
				       &len))
				cpu = -1;
			__atomic_add_fetch(&a->matched, cpu == a->want,
					   __ATOMIC_RELAXED);
			__atomic_add_fetch(&a->accepted, 1, __ATOMIC_RELEASE);
			close(c);
		}
	}
	return NULL;
}

#define IC_PER_CPU 16

struct ic_client {
	pthread_t thread;
	int cpu, port, connected;
	int fds[IC_PER_CPU];
};

static void *ic_connect(void *arg)
{
	struct ic_client *c = arg;

	pin(c->cpu);
	for (int i = 0; i < IC_PER_CPU; i++) {
		c->fds[i] = connect_start(AF_INET, c->port, NULL);
		c->connected += connect_wait(c->fds[i], 3000);
	}
	return NULL;
}

static void run_incoming_cpu(void)
{
	struct ic_acceptor *acc = calloc(ncpus, sizeof(*acc));
	struct ic_client *cli = calloc(ncpus, sizeof(*cli));
	long connected = 0, accepted, matched = 0, end;
	int port = 0, min_pct = 100, i;

	for (i = 0; i < ncpus; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);

		set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
		set_int(fd, SOL_SOCKET, SO_INCOMING_CPU, cpus[i],
			"SO_INCOMING_CPU");
		bind_loopback(fd, AF_INET, port);
		port = port_of(fd);
		do_listen(fd, 128, "incoming_cpu");
		acc[i] = (struct ic_acceptor){ .fd = fd, .want = cpus[i],
					       .cpu = cpus[(i + 1) % ncpus] };
	}
	ic_stop = 0;
	for (i = 0; i < ncpus; i++)
		if (pthread_create(&acc[i].thread, NULL, ic_accept, &acc[i]))
			die("pthread_create");
	/* Let every acceptor reach its cpu and accept once first. */
	sleep_ms(100);
	for (i = 0; i < ncpus; i++) {
		cli[i] = (struct ic_client){ .cpu = cpus[i], .port = port };
		if (pthread_create(&cli[i].thread, NULL, ic_connect, &cli[i]))
			die("pthread_create");
	}
	for (i = 0; i < ncpus; i++) {
		pthread_join(cli[i].thread, NULL);
		connected += cli[i].connected;
	}
	end = now_ms() + 3000;
	do {
		accepted = 0;
		for (i = 0; i < ncpus; i++)
			accepted += __atomic_load_n(&acc[i].accepted,
						    __ATOMIC_ACQUIRE);
		if (accepted < connected)
			sleep_ms(10);
	} while (accepted < connected && now_ms() < end);
	__atomic_store_n(&ic_stop, 1, __ATOMIC_RELEASE);
	accepted = 0;
	for (i = 0; i < ncpus; i++) {
		pthread_join(acc[i].thread, NULL);
		accepted += acc[i].accepted;
		matched += acc[i].matched;
		if (acc[i].accepted &&
		    acc[i].matched * 100 / acc[i].accepted < min_pct)
			min_pct = acc[i].matched * 100 / acc[i].accepted;
		close(acc[i].fd);
		for (int j = 0; j < IC_PER_CPU; j++)
			close(cli[i].fds[j]);
	}
	put(ncpus, "incoming_cpu_listeners");
	put(connected, "incoming_cpu_connected");
	put(accepted, "incoming_cpu_accepted");
	put(accepted ? matched * 100 / accepted : -1, "incoming_cpu_match_pct");
	put(min_pct, "incoming_cpu_min_match_pct");
	free(acc);
	free(cli);
}

/* --- recvq: listen(fd, 16), five connections waiting, not accepted. */
static void run_recvq(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int clients[5], port, i;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	struct diag d;

	bind_loopback(fd, AF_INET, 0);
	port = port_of(fd);
	do_listen(fd, 16, "recvq");
	nonblocking_accept(fd);
	for (i = 0; i < 5; i++) {
		clients[i] = connect_start(AF_INET, port, NULL);
		if (!connect_wait(clients[i], 3000))
			die("recvq: connection %d did not complete", i);
	}
	/*
	 * The last ACK may still be on its way into the queue.  Wait in
	 * poll() on cpu 0, as a server's event loop would: on stock that
	 * changes nothing, and fastsocket counts cpu 0 as attended, so
	 * that its idle scan moves nothing meanwhile.
	 */
	for (i = 0; i < 5; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, 0);
		sleep_ms(10);
	}
	diag_port(AF_INET, port, &d);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		die("TCP_INFO: %m");
	put(d.listen_rqueue, "recvq_diag");
	put(d.listen_max, "recvq_diag_backlog");
	put(proc_rx_queue(port), "recvq_proc");
	put(ti.tcpi_unacked, "recvq_tcp_info");
	put(ti.tcpi_sacked, "recvq_tcp_info_backlog");
	for (i = 0; i < 5; i++)
		close(clients[i]);
	close(fd);
}

/*
 * --- backlog: listen(fd, 4), the non-blocking accept and then none, 20
 * connections from cpu 0.  Stock queues backlog + 1 and drops the other
 * SYNs while the queue is full, also when they are sent again.  Counted
 * 1.5 s after: past the first SYN (and SYN-ACK) retransmission at 1 s,
 * clear of the next at 3 s.
 */
#define BACKLOG_CONNS 20

static void run_backlog(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int clients[BACKLOG_CONNS], port, i, connected = 0;
	long start;
	struct diag d;

	bind_loopback(fd, AF_INET, 0);
	port = port_of(fd);
	do_listen(fd, 4, "backlog");
	nonblocking_accept(fd);
	start = now_ms();
	for (i = 0; i < BACKLOG_CONNS; i++)
		clients[i] = connect_start(AF_INET, port, NULL);
	sleep_ms(start + 1500 - now_ms());
	diag_port(AF_INET, port, &d);
	for (i = 0; i < BACKLOG_CONNS; i++) {
		connected += established(clients[i]);
		close(clients[i]);
	}
	put(d.listen_rqueue, "backlog_queued");
	put(d.established, "backlog_established");
	put(d.syn_recv, "backlog_syn_recv");
	put(connected, "backlog_client_connected");
	close(fd);
}

/*
 * --- reuseport_spread: four member processes per cpu, not pinned, in
 * blocking accept(), each answering one byte; 320 connections from
 * client threads on every cpu, each given 5 s to be answered.  A client
 * that saw SPREAD_GIVE_UP of its connections fail counts the rest as
 * failed without trying: the row fails either way, and within the
 * scenario's time.
 */
#define SPREAD_CONNS 320
#define SPREAD_TIMEOUT_MS 5000
#define SPREAD_GIVE_UP 4

struct spread_client {
	pthread_t thread;
	int cpu, port, n, failed;
};

static void *spread_connect(void *arg)
{
	struct spread_client *c = arg;

	pin(c->cpu);
	for (int i = 0; i < c->n; i++) {
		struct pollfd p = { .events = POLLIN };
		char b;

		if (c->failed >= SPREAD_GIVE_UP) {
			c->failed += c->n - i;
			break;
		}
		p.fd = connect_start(AF_INET, c->port, NULL);
		if (poll(&p, 1, SPREAD_TIMEOUT_MS) != 1 ||
		    read(p.fd, &b, 1) != 1)
			c->failed++;
		close(p.fd);
	}
	return NULL;
}

static void run_reuseport_spread(void)
{
	int members = 4 * ncpus, port = 0, failed = 0, i;
	struct spread_client *cli = calloc(ncpus, sizeof(*cli));
	long *count = mmap(NULL, members * sizeof(long),
			   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	int *fds = calloc(members, sizeof(int));
	pid_t *pids = calloc(members, sizeof(pid_t));
	long total = 0, busiest = 0;

	if (count == MAP_FAILED || !fds || !pids || !cli)
		die("reuseport_spread: out of memory");
	for (i = 0; i < members; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		set_int(fds[i], SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
		bind_loopback(fds[i], AF_INET, port);
		port = port_of(fds[i]);
		do_listen(fds[i], 128, "reuseport_spread");
	}
	/* The members run wherever the scheduler puts them. */
	unpin();
	for (i = 0; i < members; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %m");
		if (pids[i])
			continue;
		for (int j = 0; j < members; j++)
			if (j != i)
				close(fds[j]);
		for (;;) {
			int c = accept(fds[i], NULL, NULL);

			if (c < 0 && (errno == EINTR || errno == ECONNABORTED))
				continue;
			if (c < 0)
				_exit(1);
			if (write(c, "x", 1) == 1)
				__atomic_add_fetch(&count[i], 1,
						   __ATOMIC_RELAXED);
			close(c);
		}
	}
	pin(cpus[0]);
	for (i = 0; i < members; i++)
		close(fds[i]);
	for (i = 0; i < ncpus; i++) {
		cli[i] = (struct spread_client){
			.cpu = cpus[i], .port = port,
			.n = SPREAD_CONNS / ncpus +
			     (i < SPREAD_CONNS % ncpus),
		};
		if (pthread_create(&cli[i].thread, NULL, spread_connect,
				   &cli[i]))
			die("pthread_create");
	}
	for (i = 0; i < ncpus; i++) {
		pthread_join(cli[i].thread, NULL);
		failed += cli[i].failed;
	}
	for (i = 0; i < members; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		total += count[i];
		if (count[i] > busiest)
			busiest = count[i];
	}
	put(members, "reuseport_spread_members");
	put(SPREAD_CONNS - failed, "reuseport_spread_answered");
	put(failed, "reuseport_spread_failed");
	put(total ? (busiest * 100 + total / 2) / total : -1,
	    "reuseport_spread_busiest_pct");
	munmap(count, members * sizeof(long));
	free(fds);
	free(pids);
	free(cli);
}

static const char *const big_rows[] = {
	"incoming_cpu", "recvq", "backlog", "reuseport_spread"
};
static void (*const big_run[])(void) = {
	run_incoming_cpu, run_recvq, run_backlog, run_reuseport_spread
};
#define NR_BIG ARRAY_SIZE(big_rows)

static void __noreturn usage(void)
{
	fprintf(stderr, "usage: fs_semantics --mode stock|ioctl|preload|auto [--wait-ms N] [ROW...]\nrows:");
	for (size_t r = 0; r < NR_SMALL; r++)
		fprintf(stderr, " %s", small_rows[r].name);
	for (size_t r = 0; r < NR_BIG; r++)
		fprintf(stderr, " %s", big_rows[r]);
	fputs("\n(a prefix selects every row it begins: md5)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	bool want_small[NR_SMALL] = { 0 }, want_big[NR_BIG] = { 0 };
	bool mode_set = false, any = false;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			for (mode = 0; mode < 4; mode++)
				if (!strcmp(argv[i + 1], mode_names[mode]))
					break;
			if (mode == 4)
				usage();
			mode_set = true;
			i++;
		} else if (!strcmp(argv[i], "--wait-ms") && i + 1 < argc) {
			wait_ms = atoi(argv[++i]);
		} else if (argv[i][0] == '-') {
			usage();
		} else {
			bool found = false;

			for (size_t r = 0; r < NR_SMALL; r++)
				if (!strncmp(small_rows[r].name, argv[i],
					     strlen(argv[i])))
					found = want_small[r] = true;
			for (size_t r = 0; r < NR_BIG; r++)
				if (!strcmp(big_rows[r], argv[i]))
					found = want_big[r] = true;
			if (!found)
				usage();
			any = true;
		}
	}
	if (!mode_set)
		usage();
	if (!any) {
		memset(want_small, 1, sizeof(want_small));
		memset(want_big, 1, sizeof(want_big));
	}
	signal(SIGPIPE, SIG_IGN);
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

	/* The worker and the client of the small rows: cpu 0. */
	pin(cpus[0]);
	run_small(want_small);
	for (size_t r = 0; r < NR_BIG; r++)
		if (want_big[r])
			big_run[r]();
	return 0;
}
