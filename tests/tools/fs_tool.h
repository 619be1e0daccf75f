/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the VM test tools (tests/tools/fs_*.c): figures as
 * "key value" lines, a monotonic clock, and short sleeps.
 */
#ifndef FS_TOOL_H
#define FS_TOOL_H

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))

/* Prints one figure: the formatted key, then VALUE. */
static inline void __printf(2, 3) put(long value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" %ld\n", value);
}

static inline long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static inline long now_ms(void)
{
	return now_us() / 1000;
}

static inline void sleep_ms(long ms)
{
	if (ms > 0)
		poll(NULL, 0, ms);
}

#endif /* FS_TOOL_H */
