/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Fastsocket control interface: ioctls on /dev/fastsocket.
 *
 * This is the project's ABI.  Every argument starts with its own size, set
 * by the caller to sizeof() of the structure it was built against; the
 * module rejects sizes it does not know with EINVAL.  See
 * Documentation/control-plane.rst.
 */
#ifndef _UAPI_LINUX_FASTSOCKET_H
#define _UAPI_LINUX_FASTSOCKET_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FASTSOCKET_DEVICE	"/dev/fastsocket"
#define FASTSOCKET_IOC_MAGIC	0xF5

/* Features, as bits of fastsocket_info.features and .enabled */
#define FASTSOCKET_FEATURE_LISTEN	(1ULL << 0)	/* local listen tables */

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
 * @cpus: in, with FASTSOCKET_LISTEN_CPUS: the cpus that get a local
 *	listener (bit n of word n / 64); all online cpus without the flag
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
 * @fd: in: a socket of the caller
 * @state: out: FASTSOCKET_STATE_*
 * @nr_local: out: local listeners it has now
 * @queued: out: connections waiting in its local listeners' queues
 * @reserved: zero
 * @memory: out: bytes held for its local listen (wait queues, local
 *	listeners, tables)
 * @cpus: out: the cpus allowed a local listener
 * @local: out: the cpus that have one
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
