/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The classifier thread (classifier-internal.h). Never on the permission
 * path and never on the mount watcher's: it reads /proc and the mount table,
 * then takes fg->lock only to move its findings into the mount's record. A
 * record gone meanwhile (the mount went away) is simply not found. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "classifier-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "mounts.h"
#include "thread-internal.h"
#include "watch-internal.h"

/* Far more than a burst of FUSE mounts needs; a flood beyond it leaves the
 * extra mounts read through (the safe default), unexplained. */
#define CLASSIFIER_QUEUE_MAX 4096

struct classify_job {
	uint64_t mnt_id, unique;
	unsigned major, minor;
};

struct classifier {
	struct fanguard *fg;
	struct fg_bg_thread bt;
	pthread_mutex_t lock;
	struct classify_job *q; /* protected by lock */
	size_t n, cap;
};

struct classifier *classifier_new(void)
{
	struct classifier *cl = calloc(1, sizeof(*cl));

	if (cl)
		pthread_mutex_init(&cl->lock, NULL);
	return cl;
}

struct classifier *classifier_free(struct classifier *cl)
{
	if (!cl)
		return NULL;
	fg_bg_thread_done(&cl->bt);
	pthread_mutex_destroy(&cl->lock);
	free(cl->q);
	free(cl);
	return NULL;
}

int classifier_queue(struct classifier *cl, uint64_t mnt_id, unsigned major, unsigned minor,
		     uint64_t unique)
{
	int r = 0;

	pthread_mutex_lock(&cl->lock);
	if (cl->n == cl->cap) {
		size_t c = cl->cap ? 2 * cl->cap : 16;
		struct classify_job *n =
			c <= CLASSIFIER_QUEUE_MAX ? realloc(cl->q, c * sizeof(*n)) : NULL;

		if (!n)
			r = c <= CLASSIFIER_QUEUE_MAX ? -ENOMEM : -ENOBUFS;
		else {
			cl->q = n;
			cl->cap = c;
		}
	}
	if (r == 0)
		cl->q[cl->n++] = (struct classify_job){mnt_id, unique, major, minor};
	pthread_mutex_unlock(&cl->lock);
	if (r == 0)
		fg_bg_thread_wake(&cl->bt);
	return r;
}

/* Called with fg->lock held: the record the watcher committed for j. */
static struct fg_watch *record_of_locked(struct fanguard *fg, const struct classify_job *j)
{
	for (struct fg_watch *w = fg->watches; w; w = w->next)
		if (!w->foreign && w->mnt_id == j->mnt_id && w->dev_major == j->major &&
		    w->dev_minor == j->minor && (j->unique == 0 || w->unique == j->unique))
			return w;
	return NULL;
}

static void classify_one(struct classifier *cl, const struct mount_table *t,
			 const struct classify_job *j)
{
	struct fanguard *fg = cl->fg;
	const struct mount_entry *e = mount_table_find_id(t, j->mnt_id);
	struct fg_watch found = {};
	struct domain *d = NULL;
	struct fg_watch *w;
	pid_t daemon = 0;

	if (!e || e->major != j->major || e->minor != j->minor)
		return; /* gone since: its record goes with the next scan */
	watch_origin_fill(fg, &found, t, e, &cl->bt.stopping);
	pthread_mutex_lock(&fg->lock);
	w = record_of_locked(fg, j);
	if (w) {
		w->loopback = found.loopback;
		free(w->origin);
		w->origin = TAKE_PTR(found.origin);
		free(w->backing_mnt_ids);
		w->backing_mnt_ids = TAKE_PTR(found.backing_mnt_ids);
		w->n_backing = found.n_backing;
		w->daemon = daemon = found.daemon;
		w->classify_pending = false;
		watch_policy_apply_locked(fg, w, w->d);
		if ((d = w->d))
			domain_ref(d);
	}
	pthread_mutex_unlock(&fg->lock);
	if (d) {
		/* Outside the lock: it may open the mount point (bounded). */
		domain_emask_hint(d, daemon);
		domain_unref(d);
	}
	free(found.origin);
	free(found.backing_mnt_ids);
}

static void *classifier_main(void *userdata)
{
	struct classifier *cl = userdata;

	for (;;) {
		struct classify_job *q;
		struct mount_table *t = NULL;
		size_t n;

		pthread_mutex_lock(&cl->lock);
		q = TAKE_PTR(cl->q);
		n = cl->n;
		cl->n = cl->cap = 0;
		pthread_mutex_unlock(&cl->lock);
		/* One table for the whole batch: a mount storm costs one read. */
		if (n > 0 && mount_table_load(NULL, &t) >= 0) {
			for (size_t i = 0; i < n && !atomic_load(&cl->bt.stopping); i++)
				classify_one(cl, t, &q[i]);
			mount_table_free(t);
		}
		free(q);
		pthread_mutex_lock(&cl->lock);
		n = cl->n;
		pthread_mutex_unlock(&cl->lock);
		if (n > 0 && !atomic_load(&cl->bt.stopping))
			continue;
		if (fg_bg_thread_wait(&cl->bt, -1, 0, -1, NULL) < 0)
			break;
	}
	return NULL;
}

int classifier_start(struct fanguard *fg, struct classifier *cl)
{
	cl->fg = fg;
	return fg_bg_thread_start(&cl->bt, "fg-classify", classifier_main, cl);
}

void classifier_stop(struct classifier *cl)
{
	if (!cl)
		return;
	fg_bg_thread_stop(&cl->bt);
	pthread_mutex_lock(&cl->lock);
	cl->n = 0;
	pthread_mutex_unlock(&cl->lock);
}
