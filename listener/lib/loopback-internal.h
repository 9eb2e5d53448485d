/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* loopback.c: who serves a FUSE mount and whether its data is from this host. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mount_table;
struct mount_entry;

struct fuse_origin {
	bool loopback;
	char *evidence; /* "; "-separated, human-readable */
	char **backing; /* absolute local paths its data comes from */
	size_t n_backing;
	pid_t *helpers; /* the daemon, its children, its peers on this host */
	size_t n_helpers;
};

int loopback_classify(const struct mount_table *t, const struct mount_entry *me,
		      struct fuse_origin *ret);
void fuse_origin_done(struct fuse_origin *o);
