/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The kernel calls of the permission path, behind one table so that tests
 * drive the core unprivileged: a socketpair stands in for the fanotify
 * group (event records written into it), real files for event fds, and the
 * answers are captured (tests/unit/test-core.c). The library uses
 * fan_ops_kernel unless a test installs others before the first domain. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fanotify_response;

struct fan_ops {
	/* fanotify_init(): the group fd or -errno. */
	int (*init)(void *userdata, unsigned flags, unsigned event_f_flags);
	/* read() of the group: may block inside the kernel's open of a FUSE file. */
	ssize_t (*read)(void *userdata, int group_fd, void *buf, size_t len);
	/* write() of one answer: bytes written or -errno. */
	ssize_t (*respond)(void *userdata, int group_fd, const struct fanotify_response *resp);
	/* fanotify_mark(): 0 or -errno. */
	int (*mark)(void *userdata, int group_fd, unsigned flags, uint64_t mask, int dirfd,
		    const char *path);
	/* close() of an event fd (on FUSE: FUSE_FLUSH, may hang). */
	void (*close_event_fd)(void *userdata, int fd);
	/* calloc() of an event; tests inject ENOMEM. */
	void *(*alloc_event)(void *userdata, size_t size);
};

extern const struct fan_ops fan_ops_kernel;
