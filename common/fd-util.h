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
