/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's fan_ops (fanops-internal.h): plain syscalls, -errno. */
#include <errno.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <unistd.h>
#include "fanops-internal.h"

static int kernel_init(void *userdata, unsigned flags, unsigned event_f_flags)
{
	int fd = fanotify_init(flags, event_f_flags);

	(void) userdata;
	return fd < 0 ? -errno : fd;
}

static ssize_t kernel_read(void *userdata, int group_fd, void *buf, size_t len)
{
	ssize_t n = read(group_fd, buf, len);

	(void) userdata;
	return n < 0 ? -errno : n;
}

static ssize_t kernel_respond(void *userdata, int group_fd, const struct fanotify_response *resp)
{
	ssize_t n = write(group_fd, resp, sizeof(*resp));

	(void) userdata;
	return n < 0 ? -errno : n;
}

static int kernel_mark(void *userdata, int group_fd, unsigned flags, uint64_t mask, int dirfd,
		       const char *path)
{
	(void) userdata;
	return fanotify_mark(group_fd, flags, mask, dirfd, path) < 0 ? -errno : 0;
}

static void kernel_close(void *userdata, int fd)
{
	(void) userdata;
	(void) close(fd);
}

static void *kernel_alloc(void *userdata, size_t size)
{
	(void) userdata;
	return calloc(1, size);
}

const struct fan_ops fan_ops_kernel = {
	.init = kernel_init,
	.read = kernel_read,
	.respond = kernel_respond,
	.mark = kernel_mark,
	.close_event_fd = kernel_close,
	.alloc_event = kernel_alloc,
};
