/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A domain's lifecycle: one fanotify group, its threads (reader.c, pool.c,
 * keeper.c) and its marks.
 *
 * Marks go in only once the domain runs: a mark with nobody to answer it
 * would make the caller's own next open on that mount wait forever (e.g.
 * fanguard_new -> fanguard_watch -> fanguard_deny_sha256_file -> start with
 * the denylist on the watched mount). Before start, domain_mark() keeps a
 * dup of the O_PATH fd, and domain_start() places it.
 *
 * Must never: write to the group fd after it was closed (the number may
 * belong to someone else by then), or wait on a thread without a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "domain-internal.h"
#include "emask-internal.h"
#include "fanops-internal.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "handover-internal.h"
#include "keeper-internal.h"
#include "mounts.h"
#include "exclude-internal.h"
#include "macro.h"
#include "pool-internal.h"
#include "reader-internal.h"

/* FAN_REPORT_PIDFD (5.15): every event carries an info record with a pidfd
 * of its subject. Support is detected at run time (EINVAL before). */
#ifndef FAN_REPORT_PIDFD
#define FAN_REPORT_PIDFD 0x00000080
#endif

/* fanotify_init() with what the options ask for, dropping what this kernel
 * or these privileges refuse. FAN_UNLIMITED_MARKS (CAP_SYS_ADMIN): coverage
 * and cache marks do not count against fs.fanotify.max_user_marks; without
 * the capability (EPERM) the cache gives way instead (mark_now()).
 * FAN_REPORT_PIDFD before 5.15: EINVAL, subjects by pid only. It is asked
 * for only where a subject may be looked at closely: groups that can hold
 * FUSE files (untrusted users; every event is queued, its uid the fair
 * queue's key), and the local group when an exclusion names subjects at its
 * creation. Measured: the pidfd the kernel makes inside read() and our
 * close() of it were 3-15 us of the local group's 10-25 us of CPU per
 * event (the floor's: 7-12), the largest part of what fanguardd without a
 * scanner cost over the floor. Without it a subject is read from
 * /proc/PID, which stays the opener's while its event waits for us.
 * FAN_ENABLE_AUDIT needs CAP_AUDIT_WRITE (EPERM) and CONFIG_AUDITSYSCALL
 * (EINVAL): tried first when asked for, and once refused not asked again. */
static int group_init(struct domain *d, unsigned init_flags, unsigned f_flags)
{
	static const unsigned extra[] = {
		FAN_UNLIMITED_MARKS | FAN_REPORT_PIDFD,
		FAN_REPORT_PIDFD,
		FAN_UNLIMITED_MARKS,
		0,
	};
	struct fanguard *fg = d->fg;
	bool want_audit = fg->opts.kernel_audit && !atomic_load(&fg->kernel_audit_refused);
	bool want_pidfd = d->cls != FANGUARD_MOUNT_LOCAL || exclusions_need_subject(fg);
	int audit_err[ELEMENTSOF(extra)] = {0};
	int fd = -EINVAL;

	for (int a = want_audit ? 1 : 0; a >= 0; a--)
		for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
			if ((extra[i] & FAN_REPORT_PIDFD) && !want_pidfd)
				continue;
			fd = d->ops->init(d->ops_userdata,
					  init_flags | extra[i] | (a ? FAN_ENABLE_AUDIT : 0),
					  f_flags);
			if (fd >= 0) {
				if (want_audit && !a &&
				    !atomic_exchange(&fg->kernel_audit_refused, true))
					fg_log(fg, LOG_WARNING,
					       "no kernel audit records of denies: "
					       "FAN_ENABLE_AUDIT refused (%s%s)",
					       strerror(-audit_err[i]),
					       audit_err[i] == -EPERM ? ", needs CAP_AUDIT_WRITE"
								      : "");
				d->fan_fd = fd;
				d->unlimited_marks = extra[i] & FAN_UNLIMITED_MARKS;
				d->report_pidfd = extra[i] & FAN_REPORT_PIDFD;
				d->kernel_audit = a;
				return 0;
			}
			if (fd != -EPERM && fd != -EINVAL)
				return fd;
			if (a)
				audit_err[i] = fd;
		}
	return fd;
}

int domain_new(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
	       unsigned dev_major, unsigned dev_minor, uid_t owner, const char *name,
	       struct domain **ret)
{
	const struct fanguard_class_options *co = &fg->cls[cls];
	unsigned init_flags = FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE;
	unsigned f_flags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;
	struct adopted_group *adopted;
	pthread_condattr_t ca;
	struct domain *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	fg_ref(fg);
	d->fg = fg;
	atomic_init(&d->refs, 1);
	d->cls = cls;
	d->mnt_id = mnt_id;
	d->dev_major = dev_major;
	d->dev_minor = dev_minor;
	d->owner = owner;
	d->untrusted = cls != FANGUARD_MOUNT_LOCAL && owner != 0;
	d->ops = fg->ops;
	d->ops_userdata = fg->ops_userdata;
	d->fan_fd = d->group_fd = d->wake_fd = -EBADF;
	if (name)
		(void) snprintf(d->name, sizeof(d->name), "%s", name);
	else if (cls == FANGUARD_MOUNT_LOCAL)
		(void) snprintf(d->name, sizeof(d->name), "local");
	else
		(void) snprintf(d->name, sizeof(d->name), "%s/%llu",
				fanguard_mount_class_to_string(cls), (unsigned long long) mnt_id);
	d->one_event_per_read = cls != FANGUARD_MOUNT_LOCAL;
	/* emask_domain_init() chooses for FUSE-backed mounts (watch_place()). */
	atomic_init(&d->emask, fan_mask_for(fg));
	d->deadline = (usec_t) co->deadline_ms * USEC_PER_MSEC;
	d->default_verdict = co->default_verdict;
	d->on_deadline = co->on_deadline;
	d->on_queue_full = co->on_queue_full;
	d->n_workers = co->n_workers;
	d->max_abandoned = co->max_abandoned;
	/* The local group never holds a file whose open waits on FUSE: two
	 * readers that read many events at a time. Both wait on the group:
	 * the kernel's open of an overlay file inside read() opens its layer's
	 * file, whose event, in this same group, only another reader can
	 * answer (tried: one reader waiting and the other parked until a
	 * backlog saved ~3 us of CPU per event with one opener, and hung
	 * cache-invalidate.sh's overlay open). Groups that can hold FUSE
	 * files start with one and grow while every reader is stuck, up to
	 * the mount's share. */
	d->base_readers = d->one_event_per_read ? 1 : 2;
	d->max_readers = d->one_event_per_read ? 16 : d->base_readers;
	pthread_mutex_init(&d->lock, NULL);
	pthread_rwlock_init(&d->fan_fd_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->keeper_cond, &ca);
	pthread_cond_init(&d->exit_cond, &ca);
	pthread_condattr_destroy(&ca);

	r = queue_init(&d->queue, co->queue_len);
	if (r < 0)
		goto fail;
	/* FAN_UNLIMITED_QUEUE: with a bounded queue the kernel silently allows
	 * overflowing permission events (DESIGN.md §2); we count our own. */
	adopted = handover_take_locked(fg, d->name);
	if (adopted) {
		/* Handed over by a previous listener, with its marks and the
		 * events queued meanwhile (handover.c). */
		d->fan_fd = TAKE_FD(adopted->fd);
		d->report_pidfd = adopted->init_flags & FAN_REPORT_PIDFD;
		d->unlimited_marks = adopted->init_flags & FAN_UNLIMITED_MARKS;
		d->kernel_audit = adopted->init_flags & FAN_ENABLE_AUDIT;
		d->adopted = true;
		free(adopted);
	} else {
		r = group_init(d, init_flags, f_flags);
		if (r < 0)
			goto fail;
	}
	fg_log(fg, LOG_DEBUG, "%s: %s fanotify group, subjects %s, marks %s", d->name,
	       d->adopted ? "adopted" : "new",
	       d->report_pidfd ? "by pidfd (FAN_REPORT_PIDFD)" : "by pid only",
	       d->unlimited_marks ? "unlimited (FAN_UNLIMITED_MARKS)"
				  : "counted against fs.fanotify.max_user_marks");
	d->group_fd = d->fan_fd;
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	domain_unref(d);
	return r;
}

/* Called with fg->lock held (watch_place(), the registry's starts). */
static int mark_now(struct domain *d, int path_fd, uint32_t flags)
{
	unsigned how = FAN_MARK_ADD |
		       ((flags & FANGUARD_WATCH_MOUNT) ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM);
	char proc[FD_PROC_PATH_MAX];
	int r;

	/* Mark exactly the object we opened and classified, not whatever the
	 * path names by now. fanotify_mark(dirfd, NULL) rejects O_PATH fds
	 * (EBADF: it uses fdget()), so go through the fd's magic link. */
	for (int attempt = 0;; attempt++) {
		pthread_rwlock_rdlock(&d->fan_fd_lock);
		r = d->fan_fd < 0
			    ? -ESHUTDOWN
			    : d->ops->mark(d->ops_userdata, d->fan_fd, how, atomic_load(&d->emask),
					   AT_FDCWD, fd_proc_path(path_fd, proc));
		pthread_rwlock_unlock(&d->fan_fd_lock);
		/* Out of marks (fs.fanotify.max_user_marks; a group without
		 * FAN_UNLIMITED_MARKS): coverage wins, the cache gives way. */
		if (r != -ENOSPC || attempt > 0)
			return r;
		fg_log(d->fg, LOG_WARNING,
		       "%s: out of fanotify marks (fs.fanotify.max_user_marks): evicting the "
		       "verdict cache to place a coverage mark",
		       d->name);
		cache_evict_all_locked(d->fg);
	}
}

int domain_unmark(struct domain *d, int path_fd, uint32_t flags)
{
	/* As mark_now() placed it: the filesystem unless FANGUARD_WATCH_MOUNT
	 * (FANGUARD_WATCH_FILESYSTEM is the default, set or not). */
	unsigned how = FAN_MARK_REMOVE |
		       ((flags & FANGUARD_WATCH_MOUNT) ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM);
	char proc[FD_PROC_PATH_MAX];
	int r;

	pthread_rwlock_rdlock(&d->fan_fd_lock);
	/* Both masks: a switch (emask.c) may be half done. */
	r = d->fan_fd < 0 ? -ESHUTDOWN
			  : d->ops->mark(d->ops_userdata, d->fan_fd, how,
					 atomic_load(&d->emask) | emask_fan_mask(d->fg, true) |
						 fan_mask_for(d->fg),
					 AT_FDCWD, fd_proc_path(path_fd, proc));
	pthread_rwlock_unlock(&d->fan_fd_lock);
	return r;
}

int domain_start(struct domain *d)
{
	struct pending_mark *pending;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (d->started || d->stopping) {
		pthread_mutex_unlock(&d->lock);
		return d->stopping ? -ESHUTDOWN : 0;
	}
	/* First: whatever starts below is stopped by domain_stop_begin(). */
	d->started = true;
	for (unsigned i = 0; i < d->n_workers && r >= 0; i++)
		r = pool_spawn_locked(d);
	for (unsigned i = 0; i < d->base_readers && r >= 0; i++)
		r = reader_spawn_locked(d, /* extra= */ false);
	if (r >= 0)
		r = keeper_start_locked(d);
	pending = TAKE_PTR(d->pending);
	pthread_mutex_unlock(&d->lock);

	while (pending) {
		struct pending_mark *p = pending;
		int k = r >= 0 ? mark_now(d, p->fd, p->flags) : 0;

		if (k < 0) {
			uint64_t id = 0, unique = 0;
			char path[4096];

			if (fd_get_path(p->fd, path, sizeof(path)) < 0)
				(void) snprintf(path, sizeof(path), "?");
			fg_log(d->fg, LOG_ERR, "%s: cannot mark '%s': %s", d->name, path,
			       strerror(-k));
			(void) fd_mount_id(p->fd, &id, &unique);
			coverage_report_uncovered(d->fg, id, path, uncovered_cause_of_errno(k), k);
			atomic_fetch_add_explicit(&d->fg->marks_failed, 1, memory_order_relaxed);
			r = k;
		}
		pending = p->next;
		safe_close(p->fd);
		free(p);
	}
	return r;
}

int domain_mark(struct domain *d, int path_fd, uint32_t flags)
{
	struct pending_mark *p;

	pthread_mutex_lock(&d->lock);
	if (d->stopping) {
		pthread_mutex_unlock(&d->lock);
		return -ESHUTDOWN;
	}
	/* The first mark's target, for a switch of the event mask later
	 * (emask.c): a path, never an fd, which would keep the mount busy. */
	if (!d->mark_path && d->cls != FANGUARD_MOUNT_LOCAL) {
		char path[4096];

		if (fd_get_path(path_fd, path, sizeof(path)) >= 0)
			d->mark_path = strdup(path);
		d->mark_flags = flags;
	}
	if (d->started) {
		pthread_mutex_unlock(&d->lock);
		return mark_now(d, path_fd, flags);
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->fd = fcntl(path_fd, F_DUPFD_CLOEXEC, 3);
	if (!p || p->fd < 0) {
		int r = p ? -errno : -ENOMEM;

		pthread_mutex_unlock(&d->lock);
		free(p);
		return r;
	}
	p->flags = flags;
	p->next = d->pending;
	d->pending = p;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static bool wait_threads_locked(struct domain *d, usec_t deadline)
{
	while (d->n_running_threads > 0) {
		struct timespec ts;

		if (deadline_passed(deadline))
			return false;
		ts = usec_to_timespec(deadline);
		(void) pthread_cond_timedwait(&d->exit_cond, &d->lock, &ts);
	}
	return true;
}

static void flush_marks(struct domain *d)
{
	pthread_rwlock_rdlock(&d->fan_fd_lock);
	if (d->fan_fd >= 0) {
		(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0,
				    AT_FDCWD, NULL);
		(void) d->ops->mark(d->ops_userdata, d->fan_fd,
				    FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
		(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	}
	pthread_rwlock_unlock(&d->fan_fd_lock);
}

/* fanguard_handover() stops every domain still in the registry; one the
 * mount watcher released (its mount is gone) is stopped as always. */
static bool handing_over(struct domain *d)
{
	return !d->released && atomic_load_explicit(&d->fg->handover_fn, memory_order_acquire);
}

/* After every thread of d exited: nothing it read is unanswered, so the
 * group (with its marks and what the kernel queues) may go to the caller's
 * fn. Returns true if fn took it. */
static bool hand_over(struct domain *d)
{
	struct fanguard *fg = d->fg;
	fanguard_group_fn fn = atomic_load_explicit(&fg->handover_fn, memory_order_acquire);
	int r;

	pthread_rwlock_rdlock(&d->fan_fd_lock);
	r = d->fan_fd < 0 ? -EBADF : fn(fg->handover_userdata, d->fan_fd, d->name);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	if (r < 0) {
		fg_log(fg, LOG_ERR, "%s: group not handed over (%s): marks removed", d->name,
		       strerror(-r));
		return false;
	}
	fg_log(fg, LOG_INFO, "%s: group handed over with its marks", d->name);
	return true;
}

void domain_stop_begin(struct domain *d)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	if (d->stopping) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->stopping = true;
	pthread_cond_broadcast(&d->keeper_cond);
	pthread_mutex_unlock(&d->lock);

	/* No new events: drop every mark of the group. Unless it is handed
	 * over: then new events wait in the group for the successor, and
	 * domain_stop_finish() passes it on or drops the marks then. */
	if (!handing_over(d))
		flush_marks(d);
	/* Wake the polling readers. */
	if (d->wake_fd >= 0)
		(void) !write(d->wake_fd, &one, sizeof(one));
	keeper_join(d);
	/* Answer everything we hold, including events being scanned now. */
	keeper_expire_all(d, FANGUARD_REASON_SHUTDOWN);
	pthread_mutex_lock(&d->lock);
	(void) overload_flush_locked(d, now_usec(), /* force= */ true);
	pthread_mutex_unlock(&d->lock);
	queue_close(&d->queue);
}

void domain_stuck_counts(struct domain *d, unsigned counts[_WHERE_MAX])
{
	usec_t now = now_usec();

	pthread_mutex_lock(&d->lock);
	for (struct reader *rd = d->readers; rd; rd = rd->next) {
		enum thread_where w;

		if (!rd->exited && slot_stuck(&rd->slot, now, &w))
			counts[w]++;
	}
	for (struct worker *wk = d->workers; wk; wk = wk->next) {
		enum thread_where w;

		if (slot_stuck(&wk->slot, now, &w))
			counts[w]++;
		else if (wk->abandoned)
			counts[w == WHERE_CLOSE ? WHERE_CLOSE : WHERE_READ]++;
	}
	pthread_mutex_unlock(&d->lock);
}

bool domain_stop_finish(struct domain *d, usec_t deadline)
{
	unsigned stuck[_WHERE_MAX] = {};
	bool all_exited;
	unsigned left;

	if (d->fan_fd < 0)
		return true;
	/* Readers leave at once unless stuck in a FUSE open inside read().
	 * Wait for them before closing the group, so no reader ever reads a
	 * reused fd number; one that stays stuck holds the group open (and so
	 * the events the kernel still queues) until the daemon answers or
	 * its connection is aborted. Closing the group allows every event
	 * still queued in the kernel. */
	pthread_mutex_lock(&d->lock);
	all_exited = wait_threads_locked(d, deadline);
	left = d->n_running_threads;
	pthread_mutex_unlock(&d->lock);
	if (!all_exited)
		domain_stuck_counts(d, stuck);
	/* A thread still in read() may hold an event: never hand that group
	 * over (the event would stay unanswered for as long as it lives). */
	if (handing_over(d) && (!all_exited || !hand_over(d)))
		flush_marks(d);

	pthread_rwlock_wrlock(&d->fan_fd_lock);
	d->fan_fd = safe_close(d->fan_fd);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	if (!all_exited)
		fg_log(d->fg, LOG_ERR,
		       "%s: %u threads stuck in I/O at stop (in open: %u, read: %u, close: %u); "
		       "abandoned",
		       d->name, left, stuck[WHERE_OPEN], stuck[WHERE_READ], stuck[WHERE_CLOSE]);
	return all_exited;
}
