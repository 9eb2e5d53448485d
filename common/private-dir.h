/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The verdict store's rule for its directory and files, shared by the
 * library (store.c, at start) and fanguardd --check-config, so that both
 * say the same: owned by uid, closed to group and others. */
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* 0, or -EPERM with why filled ("WHAT is owned by uid U with mode M:
 * refusing it (...)"). */
int private_owner_check(const char *what, const struct stat *st, uid_t uid, char *why, size_t len);

/* Entry name of directory dfd: absent (0), or a regular file that passes
 * private_owner_check() (0); else -EPERM with why filled, or -errno. */
int private_file_check(int dfd, const char *name, uid_t uid, char *why, size_t len);
