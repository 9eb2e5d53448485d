/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Groups adopted from a previous listener (handover.c), waiting for the
 * domain of their name. The list is protected by fg->lock. */
#include <stdbool.h>

struct fanguard;

struct adopted_group {
	struct adopted_group *next;
	int fd;
	unsigned init_flags; /* fanotify_init() flags, from its fdinfo */
	char name[48];	     /* as struct domain's name */
};

/* Under fg->lock: the adopted group named name, unlinked (the caller owns
 * it and its fd), or NULL. */
struct adopted_group *handover_take_locked(struct fanguard *fg, const char *name);

/* Under fg->lock: closes every group no domain took (end of start, free). */
void handover_close_unclaimed_locked(struct fanguard *fg);
