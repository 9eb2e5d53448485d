/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Small fd helpers. All return 0/-errno and retry EINTR. */
#include <stddef.h>
#include <sys/types.h>

/* Reads the whole of a small file (e.g. /proc/self/mountinfo) into a
 * NUL-terminated buffer; fails with -EFBIG past max bytes. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* write() all of buf or fail. */
int loop_write(int fd, const void *buf, size_t len);
int fd_set_nonblock(int fd, int nonblock);
/* "/proc/self/fd/N" for fd, in buf (at least FD_PROC_PATH_MAX bytes): the
 * magic link that names exactly the open object, e.g. for fanotify_mark(),
 * which rejects O_PATH fds as dirfd. */
#define FD_PROC_PATH_MAX 32
const char *fd_proc_path(int fd, char buf[static FD_PROC_PATH_MAX]);
/* The path of an open fd (readlink of its magic link: d_path, no lookup and
 * so no round trip to a FUSE daemon), NUL-terminated in ret. */
int fd_get_path(int fd, char *ret, size_t size);
