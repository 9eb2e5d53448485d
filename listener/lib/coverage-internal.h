/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Coverage (coverage.c): every mount a watch covers is marked, or it is
 * *uncovered*, and that is loud. This is the one place that records such a
 * mount with its cause: an error line (rate-limited per cause and
 * summarised, one line per mount at most while it stays uncovered), the
 * "uncovered" gauge of the stats table (by cause), fanguard_foreach_uncovered()
 * (fanguardctl status and mounts, the systemd status line). Never takes
 * fg->lock: callable with or without it. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct fanguard;
struct mount_table;

enum uncovered_cause {
	UNCOVERED_GROUP_LIMIT,	 /* fanotify_init: EMFILE (fs.fanotify.max_user_groups) */
	UNCOVERED_MARK_LIMIT,	 /* fanotify_mark: ENOSPC (fs.fanotify.max_user_marks) */
	UNCOVERED_PERMISSION,	 /* EACCES/EPERM: a FUSE mount without allow_other */
	UNCOVERED_NAMESPACE,	 /* in a mount namespace we cannot reach */
	UNCOVERED_HUNG_DAEMON,	 /* hung in a shared group, no group of its own */
	UNCOVERED_THREAD_BUDGET, /* EUSERS: its group's threads do not fit */
	UNCOVERED_MARK_ERROR,	 /* any other error (ENOMEM, a dead filesystem...) */
	_UNCOVERED_CAUSE_MAX
};

struct coverage_entry {
	uint64_t mnt_id;
	char *mount_point;
	enum uncovered_cause cause;
	int err;	/* positive errno */
	uint64_t since; /* CLOCK_MONOTONIC usec */
};

struct coverage {
	pthread_mutex_t lock;
	struct coverage_entry *v; /* protected by lock */
	size_t n, cap;
	uint64_t window_start; /* rate limit: usec */
	unsigned logged[_UNCOVERED_CAUSE_MAX], suppressed[_UNCOVERED_CAUSE_MAX];
	_Atomic uint64_t reports[_UNCOVERED_CAUSE_MAX]; /* every report, even repeated */
};

void coverage_init(struct coverage *c);
void coverage_done(struct coverage *c);

/* The cause for an error placing a group or mark (-errno or errno). */
enum uncovered_cause uncovered_cause_of_errno(int err);
const char *uncovered_cause_to_string(enum uncovered_cause c);
/* What an administrator can do about it (names the sysctl or switch). */
const char *uncovered_cause_hint(enum uncovered_cause c);

/* Records mount mnt_id (at mount_point) as not covered, for cause, with
 * err (errno, either sign, or 0). Logged at once unless the same mount is
 * already recorded for the same cause, or this cause logged more than a
 * few mounts in the current 10 s window (counted, summarised). */
void coverage_report_uncovered(struct fanguard *fg, uint64_t mnt_id, const char *mount_point,
			       enum uncovered_cause cause, int err);
/* The mount is covered now (or was watched after all): forgets it, logs
 * that if it was uncovered. */
void coverage_report_covered(struct fanguard *fg, uint64_t mnt_id);
/* Forgets the mounts no longer in t (by id and mount point). */
void coverage_prune(struct fanguard *fg, const struct mount_table *t);
/* Drops the report of a mount that went away (fusens.c: mounts of other
 * namespaces, named /proc/PID/root/..., which coverage_prune() keeps). */
void coverage_forget(struct fanguard *fg, uint64_t mnt_id);
/* Logs the reports suppressed so far, with the totals, once per call at
 * most (the mount watcher calls it after each scan). */
void coverage_summarise(struct fanguard *fg);
/* Mounts uncovered now, by cause (n[_UNCOVERED_CAUSE_MAX]); returns the total. */
uint64_t coverage_count(struct fanguard *fg, uint64_t n[_UNCOVERED_CAUSE_MAX]);
