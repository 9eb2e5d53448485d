/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Cleanup attributes and ownership transfer, after systemd's fd-util.h and
 * bubblewrap's steal_pointer(). Never put a cleanup attribute on a lock. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Returns the old value and resets the variable, so a cleanup handler
 * leaves the object alone once ownership moved on. */
#define TAKE_GENERIC(var, type, nullvalue) \
	({                                 \
		type *_pvar_ = &(var);     \
		type _var_ = *_pvar_;      \
		*_pvar_ = (nullvalue);     \
		_var_;                     \
	})
#define TAKE_PTR(p) TAKE_GENERIC((p), typeof(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC((fd), int, -EBADF)

static inline void freep(void *p)
{
	free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes fd if it is valid; preserves errno; returns -EBADF so that
 * "fd = safe_close(fd);" leaves fd invalid. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void) close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* -errno from a libc-style call that returns -1 and sets errno. */
#define RET_NERRNO(expr)                   \
	({                                 \
		typeof(expr) _r_ = (expr); \
		_r_ < 0 ? -errno : _r_;    \
	})

/* errno as a negative value, never 0 (some callers leave errno unset). */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
