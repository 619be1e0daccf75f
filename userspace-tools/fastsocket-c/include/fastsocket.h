/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fastsocket.h - the local_listen() C API (libfastsocket.so, -lfastsocket)
 *
 * Applications that opt in explicitly call these instead of relying on
 * LD_PRELOAD=libfsocket.so.  Every function returns 0 on success, or -1
 * with errno set; a failed call changes nothing.  See local_listen(3) in
 * Documentation/userspace.rst.
 */
#ifndef _FASTSOCKET_H
#define _FASTSOCKET_H

#include <sched.h>
#include <stddef.h>
#include <linux/fastsocket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether /dev/fastsocket is there and answers: 1 if so, 0 if not. */
int fastsocket_available(void);

/* The module's version, features and switches (FASTSOCKET_IOC_INFO). */
int fastsocket_info(struct fastsocket_info *info);

/* Local listen for the listening TCP socket fd, on every online cpu. */
int local_listen(int fd);

/* Local listen for fd on the cpus of mask only (as sched_setaffinity(2)). */
int local_listen_cpus(int fd, size_t cpusetsize, const cpu_set_t *mask);

/* Back to the stock listener; queued connections move to it, none lost. */
int local_unlisten(int fd);

/* The local-listen state of fd (FASTSOCKET_IOC_LISTEN_STATE). */
int local_listen_state(int fd, struct fastsocket_listen_state *state);

#ifdef __cplusplus
}
#endif

#endif /* _FASTSOCKET_H */
