/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Opening a mount point with a deadline (mark.c). */
#include <stdint.h>
#include "time-util.h"

/* Opens path (O_PATH, no symlinks) on a short-lived helper thread and
 * checks it is mount mnt_id (something mounted over it since: -ESTALE).
 * The path walk can hang on a dead NFS or FUSE mount: past the deadline the
 * helper is abandoned (-ETIMEDOUT) and closes what it opened when it
 * returns. *ret_unique: the mount's unique id (0 where the kernel has
 * none). It never holds a group fd, so a hung helper pins nothing. */
int open_mount_with_deadline(const char *path, uint64_t mnt_id, usec_t deadline, int *ret_fd,
			     uint64_t *ret_unique);
