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

/* Under fg->lock: closes every group no domain took (stop, free, and once
 * the mount watchers' first passes are done). */
void handover_close_unclaimed_locked(struct fanguard *fg);

/* Under fg->lock, at the end of fanguard_start(): closes the groups no
 * domain took, except, when n_watchers > 0 watchers (mountwatch.c,
 * fusens.c) were just started, those whose names belong to mounts a
 * watcher finds and names itself ("fuse/<mount id>", "network/<mount
 * id>"): a watcher may claim them in its first pass over the mount table.
 * They are closed when the last of them calls handover_first_pass_done(). */
void handover_start_done_locked(struct fanguard *fg, unsigned n_watchers);

/* A watcher finished its first pass (or gave up before it): takes
 * fg->lock; counts only if *armed (set under fg->lock by fanguard_start(),
 * cleared here). Every watcher calls it after its first pass, on every
 * path. */
void handover_first_pass_done(struct fanguard *fg, bool *armed);
