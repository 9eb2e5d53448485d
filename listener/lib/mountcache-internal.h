/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Our namespace's mount table, kept current by the mount watcher
 * (mountcache.c): read whole once, then, where the kernel has mount events
 * with ids (FAN_MNT_ATTACH/DETACH, 6.15) and statmount(2) with its strings
 * (6.11), changed one mount at a time: a detach drops that mount, an attach
 * asks statmount about that one mount. Nothing else in the table is read
 * again, however many unrelated mounts there are. Re-read whole only as the
 * fallback: lost events (queue overflow), an old kernel. */
#include <stdbool.h>
#include "mountids-internal.h"
#include "mounts.h"

struct mount_events_batch;

struct mount_cache {
	struct mount_table *t;		     /* classified; NULL until loaded */
	struct mount_ids ids;		     /* unique ids by old id */
	bool have_ids;			     /* listmount/statmount work here */
	bool per_mount;			     /* statmount describes one mount (else: re-read) */
	unsigned full_reads, mounts_applied; /* for the log and tests */
};

/* Reads the whole table and the ids. 0 or -errno (the cache is then
 * left as it was). */
int mount_cache_reload(struct mount_cache *c);
/* Applies one batch of mount events; -EAGAIN when only a full re-read can
 * tell (lost events, no ids, statmount failing): the caller reloads. */
int mount_cache_apply(struct mount_cache *c, const struct mount_events_batch *b);
void mount_cache_done(struct mount_cache *c);
