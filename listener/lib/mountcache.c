/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount watcher's table (mountcache-internal.h). Runs on the watcher's
 * thread only; never on the permission path. statmount(2) of a mount in our
 * own namespace neither opens nor stats anything on it: a hung FUSE daemon
 * cannot hold it up. */
#include <errno.h>
#include <stdlib.h>
#include "mountcache-internal.h"
#include "mountevents-internal.h"

void mount_cache_done(struct mount_cache *c)
{
	mount_table_free(c->t);
	c->t = NULL;
	mount_ids_done(&c->ids);
	c->have_ids = false;
}

int mount_cache_reload(struct mount_cache *c)
{
	struct mount_table *t = NULL;
	struct mount_ids ids = {};
	int r;

	r = mount_table_load(NULL, &t);
	if (r < 0)
		return r;
	/* After the table: a mount made in between is new to both, or only
	 * to the ids (then it comes with its own event). */
	mount_cache_done(c);
	c->t = t;
	c->have_ids = mount_ids_load(&ids) >= 0;
	c->ids = ids;
	c->per_mount = c->have_ids;
	c->full_reads++;
	return 0;
}

/* The mount with this unique id, if the cache has it: dropped. */
static void drop(struct mount_cache *c, uint64_t unique)
{
	uint64_t old;

	if (mount_ids_remove_unique(&c->ids, unique, &old))
		(void) mount_table_remove_id(c->t, old);
}

/* 0, 1 when it was gone already (came and went), or -errno. */
static int add(struct mount_cache *c, uint64_t unique)
{
	struct mount_entry e = {};
	uint64_t old;
	int r;

	r = mount_entry_statmount(unique, &e);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	old = e.mnt_id;
	r = mount_table_append(c->t, &e);
	if (r < 0) {
		mount_entry_free_fields(&e);
		return r;
	}
	r = mount_ids_add(&c->ids, old, unique);
	if (r < 0)
		(void) mount_table_remove_id(c->t, old);
	return r;
}

int mount_cache_apply(struct mount_cache *c, const struct mount_events_batch *b)
{
	bool attached = false;

	if (!c->t || !c->have_ids || !c->per_mount || b->lost)
		return -EAGAIN;
	for (size_t i = 0; i < b->n_ops; i++) {
		const struct mount_event_op *op = &b->ops[i];
		int r;

		/* An attach of a mount the table has (its event was queued
		 * before the last full read) replaces it. */
		drop(c, op->id);
		if (!op->attach)
			continue;
		r = add(c, op->id);
		if (r < 0) {
			/* EINVAL/EOPNOTSUPP: this kernel's statmount cannot
			 * describe a mount; re-read from now on. */
			if (r == -EINVAL || r == -EOPNOTSUPP || r == -ENOSYS)
				c->per_mount = false;
			return -EAGAIN;
		}
		attached = attached || r == 0;
		c->mounts_applied++;
	}
	/* Binds and overlays are classified against the table. */
	if (attached)
		mount_table_classify(c->t);
	return 0;
}
