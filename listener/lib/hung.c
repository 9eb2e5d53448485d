/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Moving a hung daemon's mount out of a shared group (hung-internal.h).
 * Runs on the mount watcher's thread, which alone adds and drops watch
 * records while it holds its scan lock: the records seen here stay valid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "coverage-internal.h"
#include "domain-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fg-internal.h"
#include "hung-internal.h"
#include "macro.h"
#include "mark-internal.h"
#include "registry-internal.h"
#include "watch-internal.h"

/* Requests waiting on FUSE connection conn, or -errno. */
static long conn_waiting(unsigned conn)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	(void) snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/waiting", conn);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	safe_close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Another mount of w's filesystem in the same group: a bind placed later
 * (watch_place() joins the first mount's group), or the first mount when w
 * is the bind. Each keeps its own mark (a filesystem mark, the same one;
 * or a mount mark of its own), so each must leave the shared group with w. */
struct follower {
	struct fg_watch *w;
	int fd; /* O_PATH on its mount point, or -errno */
};

/* Called with fg->lock held. */
static bool is_follower_locked(const struct fg_watch *o, const struct fg_watch *w,
			       const struct domain *shared)
{
	return o != w && o->d == shared && !o->unmarked && o->domain_class == w->domain_class &&
	       o->dev_major == w->dev_major && o->dev_minor == w->dev_minor;
}

/* The followers of w, each with its mount point opened; *ret NULL if none. */
static size_t followers_open(struct fanguard *fg, struct fg_watch *w, struct domain *shared,
			     struct follower **ret)
{
	struct follower *v = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch *o = fg->watches; o; o = o->next) {
		struct follower *nv;

		if (!is_follower_locked(o, w, shared))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break; /* the rest are moved out on their own, later */
			v = nv;
		}
		v[n++] = (struct follower){.w = o, .fd = -EBADF};
	}
	pthread_mutex_unlock(&fg->lock);
	/* Records stay valid: only this thread drops them (see above). */
	for (size_t i = 0; i < n; i++) {
		uint64_t unique = 0;
		int fd = -EBADF;
		int r = open_mount_with_deadline(v[i].w->mount_point, v[i].w->mnt_id,
						 deadline_after(USEC_PER_SEC), &fd, &unique);

		v[i].fd = r < 0 ? r : fd;
	}
	*ret = v;
	return n;
}

static void followers_close(struct follower *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].fd >= 0)
			safe_close(v[i].fd);
	free(v);
}

/* Called with fg->lock held, after w left shared (for own, or uncovered if
 * own is NULL): each follower goes where w went. One whose mount point
 * could not be opened follows only if it shares w's filesystem mark (moved
 * with w's); one with a mount mark of its own then stays, and is moved out
 * on its own at a later check. Returns how many followed. */
static size_t followers_move_locked(struct fg_watch *w, struct domain *shared, struct domain *own,
				    struct follower *v, size_t n)
{
	size_t moved = 0;

	for (size_t i = 0; i < n; i++) {
		struct fg_watch *o = v[i].w;
		bool fs_mark =
			!(o->flags & FANGUARD_WATCH_MOUNT) && !(w->flags & FANGUARD_WATCH_MOUNT);

		if (v[i].fd >= 0) {
			if (own && domain_mark(own, v[i].fd, o->flags) < 0 && !fs_mark)
				continue; /* still marked in shared, moved out later */
			/* ENOENT when w's removal took the same filesystem mark;
			 * a mount mark of its own that stays: not uncovered. */
			if (domain_unmark(shared, v[i].fd, o->flags) < 0 && !own && !fs_mark)
				continue;
		} else if (!fs_mark)
			continue;
		if (own) {
			domain_ref(own);
			o->d = own;
			o->same_fs_as = w->mnt_id;
			domain_unref(shared); /* o's old reference */
		} else
			o->unmarked = true;
		o->waiting_since = 0;
		moved++;
	}
	return moved;
}

static void move_out(struct fanguard *fg, struct fg_watch *w, uint64_t since)
{
	_cleanup_close_ int fd = -EBADF;
	struct domain *shared = w->d, *own = NULL;
	struct follower *fv = NULL;
	uint64_t unique = 0, t0 = now_usec();
	size_t nf, moved = 0;
	int r, k;

	/* O_PATH and a statx that keeps cached attributes: no FUSE request. */
	r = open_mount_with_deadline(w->mount_point, w->mnt_id, deadline_after(USEC_PER_SEC), &fd,
				     &unique);
	if (r < 0) {
		fg_log(fg, LOG_ERR,
		       "mount %llu '%s': its daemon hangs in shared group %s, and its mount point "
		       "cannot be opened (%s): left there",
		       (unsigned long long) w->mnt_id, w->mount_point, shared->name, strerror(-r));
		w->waiting_since = 0;
		return;
	}
	nf = followers_open(fg, w, shared, &fv);
	pthread_mutex_lock(&fg->lock);
	r = registry_new_own_locked(fg, w->domain_class, w->mnt_id, w->dev_major, w->dev_minor,
				    w->owner, &own);
	if (r >= 0) {
		/* Its own event mask (configuration, auto), as for a new mount;
		 * a shared group's switch never applied to it (emask.c). */
		emask_domain_init(own, w->mount_point);
		r = domain_mark(own, fd, w->flags);
	}
	/* Out of the shared group either way: it traps its readers there. */
	k = domain_unmark(shared, fd, w->flags);
	if (r >= 0) {
		w->d = own;	   /* the record's reference */
		w->same_fs_as = 0; /* the first of its filesystem in own */
		moved = followers_move_locked(w, shared, own, fv, nf);
		own = NULL;
	} else {
		w->unmarked = k >= 0;
		if (w->unmarked)
			moved = followers_move_locked(w, shared, NULL, fv, nf);
	}
	pthread_mutex_unlock(&fg->lock);
	if (own) /* created, not marked */
		registry_release(fg, own);
	if (r < 0) {
		coverage_report_uncovered(fg, w->mnt_id, w->mount_point, UNCOVERED_HUNG_DAEMON, r);
		for (size_t i = 0; i < nf; i++)
			if (fv[i].w->unmarked)
				coverage_report_uncovered(fg, fv[i].w->mnt_id, fv[i].w->mount_point,
							  UNCOVERED_HUNG_DAEMON, r);
		fg_log(fg, LOG_ERR,
		       "mount %llu '%s': its daemon hangs (requests waiting %llu ms) in shared "
		       "group %s; no group of its own (%s): taken out of the shared group%s, "
		       "with %zu other mount(s) of its filesystem; uncovered until it is unmounted",
		       (unsigned long long) w->mnt_id, w->mount_point,
		       (unsigned long long) ((t0 - since) / USEC_PER_MSEC), shared->name,
		       strerror(-r), k < 0 ? " failed too" : "", moved);
		followers_close(fv, nf);
		return;
	}
	fg_log(fg, LOG_WARNING,
	       "mount %llu '%s': its daemon hangs (requests waiting %llu ms, a reader of %s "
	       "stuck): moved out to group %s in %llu us, with %zu other mount(s) of its "
	       "filesystem",
	       (unsigned long long) w->mnt_id, w->mount_point,
	       (unsigned long long) ((t0 - since) / USEC_PER_MSEC), shared->name, w->d->name,
	       (unsigned long long) (now_usec() - t0), moved);
	if (moved < nf)
		fg_log(fg, LOG_WARNING,
		       "mount %llu '%s': %zu other mount(s) of its filesystem with a mount mark of "
		       "their own could not be moved with it: still in %s",
		       (unsigned long long) w->mnt_id, w->mount_point, nf - moved, shared->name);
	followers_close(fv, nf);
	domain_unref(shared); /* the record's old reference */
	w->waiting_since = 0;
}

void hung_check(struct fanguard *fg)
{
	uint64_t now = now_usec();
	struct fg_watch **v = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch *w = fg->watches; w; w = w->next) {
		struct fg_watch **nv;

		if (!w->d || !w->d->shared || w->unmarked ||
		    w->domain_class != FANGUARD_MOUNT_FUSE || strncmp(w->fstype, "fuse", 4) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = w;
	}
	pthread_mutex_unlock(&fg->lock);

	for (size_t i = 0; i < n; i++) {
		struct fg_watch *w = v[i];
		unsigned stuck[_WHERE_MAX] = {};
		long waiting;
		bool still_shared;

		/* Moved out with another mount of its filesystem (a bind). */
		pthread_mutex_lock(&fg->lock);
		still_shared = w->d && w->d->shared && !w->unmarked;
		pthread_mutex_unlock(&fg->lock);
		if (!still_shared)
			continue;
		waiting = conn_waiting(w->dev_minor); /* a FUSE mount's minor: its connection */
		if (waiting <= 0) {
			w->waiting_since = 0;
			continue;
		}
		if (w->waiting_since == 0) {
			w->waiting_since = now;
			continue;
		}
		if (now - w->waiting_since < (uint64_t) HUNG_LIMIT_MS * USEC_PER_MSEC)
			continue;
		domain_stuck_counts(w->d, stuck);
		if (stuck[WHERE_OPEN] > 0)
			move_out(fg, w, w->waiting_since);
	}
	free(v);
}
