/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Fastsocket control interface: ioctls on /dev/fastsocket.
 *
 * This is the project's ABI.  Every argument starts with its own size, set
 * by the caller to sizeof() of the structure it was built against; the
 * module rejects sizes it does not know with EINVAL.  Every structure has
 * one layout for 32- and 64-bit callers (fixed-size fields, 64-bit fields
 * at multiples of 8 bytes), so 32-bit callers use the same ioctls.  See
 * Documentation/control-plane.rst.
 */
#ifndef _UAPI_LINUX_FASTSOCKET_H
#define _UAPI_LINUX_FASTSOCKET_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FASTSOCKET_DEVICE	"/dev/fastsocket"
#define FASTSOCKET_IOC_MAGIC	0xF5

/* Features, as bits of fastsocket_info.features and .enabled */
#define FASTSOCKET_FEATURE_LISTEN	(1ULL << 0)	/* local listen */

/* Up to 1024 cpus in a cpu set */
#define FASTSOCKET_CPUSET_WORDS	16

/**
 * struct fastsocket_info - FASTSOCKET_IOC_INFO
 * @size: in: sizeof(struct fastsocket_info)
 * @version: out: module version, (major << 16) | (minor << 8) | patch
 * @features: out: FASTSOCKET_FEATURE_* the module implements
 * @enabled: out: FASTSOCKET_FEATURE_* switched on (net.fastsocket sysctls)
 * @nr_cpu_ids: out: cpu numbers are below this
 * @reserved: zero
 */
struct fastsocket_info {
	__u32 size;
	__u32 version;
	__u64 features;
	__u64 enabled;
	__u32 nr_cpu_ids;
	__u32 reserved;
};

/* fastsocket_listen.flags */
#define FASTSOCKET_LISTEN_CPUS	(1U << 0)	/* only the cpus of @cpus */

/**
 * struct fastsocket_listen - FASTSOCKET_IOC_LISTEN and _UNLISTEN
 * @size: in: sizeof(struct fastsocket_listen)
 * @fd: in: a listening TCP socket (AF_INET or AF_INET6) of the caller
 * @flags: in: FASTSOCKET_LISTEN_* (LISTEN); 0 (UNLISTEN)
 * @reserved: zero
 * @cpus: in, with FASTSOCKET_LISTEN_CPUS: the cpus whose accept queue of
 *	the listener may be used (bit n of word n / 64); every cpu below
 *	nr_cpu_ids without the flag.  LISTEN of an enabled listener sets its
 *	cpus; the connections waiting on the queue of a cpu left out move to
 *	its shared queue at once.
 *
 * UNLISTEN of a listener that is not enabled fails with EINVAL, also of
 * one that stopped listening (which disabled it) and listens again.
 */
struct fastsocket_listen {
	__u32 size;
	__s32 fd;
	__u32 flags;
	__u32 reserved;
	__u64 cpus[FASTSOCKET_CPUSET_WORDS];
};

/* fastsocket_listen_state.state */
#define FASTSOCKET_STATE_ENABLED	(1U << 0)

/**
 * struct fastsocket_listen_state - FASTSOCKET_IOC_LISTEN_STATE
 * @size: in: sizeof(struct fastsocket_listen_state)
 * @fd: in: a socket of the caller; any socket but an enabled TCP
 *	listener (UDP, UNIX, a TCP socket not enabled) reads as not enabled,
 *	every out field 0
 * @state: out: FASTSOCKET_STATE_*
 * @nr_local: out: how many cpus @local has
 * @queued: out: connections waiting on its per-cpu accept queues (not
 *	those on its shared queue)
 * @reserved: zero
 * @memory: out: bytes held for its per-cpu accept queues
 * @cpus: out: the cpus whose accept queue may be used
 * @local: out: the cpus whose accept queue is in use now: a task pinned
 *	to that cpu accepted from or polled the listener within
 *	listen_idle_ms, or waits on that cpu's queue now
 *
 * The field names are those of 0.2.0, whose per-cpu unit was a "local
 * listener" socket; since 0.3.0 it is a cpu's accept queue of the
 * listener itself (Documentation/control-plane.rst).
 */
struct fastsocket_listen_state {
	__u32 size;
	__s32 fd;
	__u32 state;
	__u32 nr_local;
	__u32 queued;
	__u32 reserved;
	__u64 memory;
	__u64 cpus[FASTSOCKET_CPUSET_WORDS];
	__u64 local[FASTSOCKET_CPUSET_WORDS];
};

#define FASTSOCKET_IOC_INFO \
	_IOWR(FASTSOCKET_IOC_MAGIC, 0x00, struct fastsocket_info)
#define FASTSOCKET_IOC_LISTEN \
	_IOW(FASTSOCKET_IOC_MAGIC, 0x01, struct fastsocket_listen)
#define FASTSOCKET_IOC_UNLISTEN \
	_IOW(FASTSOCKET_IOC_MAGIC, 0x02, struct fastsocket_listen)
#define FASTSOCKET_IOC_LISTEN_STATE \
	_IOWR(FASTSOCKET_IOC_MAGIC, 0x03, struct fastsocket_listen_state)

#endif /* _UAPI_LINUX_FASTSOCKET_H */
