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

static void move_out(struct fanguard *fg, struct fg_watch *w, uint64_t since)
{
	_cleanup_close_ int fd = -EBADF;
	struct domain *shared = w->d, *own = NULL;
	uint64_t unique = 0, t0 = now_usec();
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
		w->d = own; /* the record's reference */
		own = NULL;
	} else
		w->unmarked = k >= 0;
	pthread_mutex_unlock(&fg->lock);
	if (own) /* created, not marked */
		registry_release(fg, own);
	if (r < 0) {
		coverage_report_uncovered(fg, w->mnt_id, w->mount_point, UNCOVERED_HUNG_DAEMON, r);
		fg_log(fg, LOG_ERR,
		       "mount %llu '%s': its daemon hangs (requests waiting %llu ms) in shared "
		       "group %s; no group of its own (%s): taken out of the shared group%s; "
		       "uncovered until it is unmounted",
		       (unsigned long long) w->mnt_id, w->mount_point,
		       (unsigned long long) ((t0 - since) / USEC_PER_MSEC), shared->name,
		       strerror(-r), k < 0 ? " failed too" : "");
		return;
	}
	fg_log(fg, LOG_WARNING,
	       "mount %llu '%s': its daemon hangs (requests waiting %llu ms, a reader of %s "
	       "stuck): moved out to group %s in %llu us",
	       (unsigned long long) w->mnt_id, w->mount_point,
	       (unsigned long long) ((t0 - since) / USEC_PER_MSEC), shared->name, w->d->name,
	       (unsigned long long) (now_usec() - t0));
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
		long waiting =
			conn_waiting(w->dev_minor); /* a FUSE mount's minor: its connection */

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
