/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live mount tracking: fanguard_watch_tree() watches the mount holding a
 * path and every mount that appears below it later, and releases the group
 * of a mount that goes away.
 *
 * A watcher thread polls /proc/self/mountinfo: the kernel flags it with
 * POLLPRI|POLLERR whenever the mount namespace changed (mounts_poll() in
 * fs/proc_namespace.c compares the namespace's event counter with the one
 * the reader saw last, and updates it in poll itself), so each wake-up is
 * one re-read of the table. (listmount()/statmount() (6.8) and mount
 * notifications via fanotify (FAN_MNT_ATTACH, 6.15) give the same
 * information without parsing; the text table is what every kernel has.)
 *
 * Marking must never hold up the permission path, and can itself hang: the
 * path walk to a dead network mount, or a statx on a FUSE root. So each
 * mark runs on a short-lived helper thread with its own dup of the group
 * fd, and is abandoned at a deadline; an abandoned helper that returns
 * later marks a group that is already being torn down and closes it.
 *
 * New FUSE mounts get their own domain (group, readers, workers, deadline);
 * loopback.c tells whether their data comes from this host. If so and the
 * backing files are watched locally, the FUSE domain answers without
 * reading content (content_at_backing, FANGUARD_LOOPBACK_BACKING): the
 * daemon's open of the backing file is itself a local event, scanned and
 * denied there, and the kernel then fails (denies) the FUSE open. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "fanguard-internal.h"
#include "macro.h"
#include "mounts.h"

struct tree_rule {
	char *path;
	uint32_t flags;
};

struct mountwatch {
	/* One scan at a time (the watcher thread, or fanguard_watch_tree()).
	 * Held across marking, never across anything without a deadline. */
	pthread_mutex_t scan_lock;
	struct tree_rule *rules; /* protected by scan_lock */
	size_t n_rules;
	/* Mounts not to retry (pseudo fs, mark timed out), by id and device:
	 * ids are reused at once. Pruned when they go away. */
	struct ignored_mount {
		uint64_t id;
		unsigned major, minor;
	} * ignored;
	size_t n_ignored;

	int wake_fd;
	pthread_t thread;
	bool running; /* protected by the caller's serialization (fg->lock) */
};

/* --- marking with a deadline ------------------------------------------------ */

struct mark_job {
	_Atomic int refs;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool done;	     /* protected by lock */
	int result;	     /* protected by lock */
	int group_fd;	     /* our own dup: the domain may close its fd meanwhile */
	char *path;
	uint64_t mnt_id, mask;
	unsigned how;
};

static void mark_job_unref(struct mark_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	safe_close(j->group_fd);
	free(j->path);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *mark_main(void *userdata)
{
	struct mark_job *j = userdata;
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0, unique = 0;
	char proc[64];
	int r = 0;

	/* Either may block on a dead filesystem: that is why we are here. */
	fd = open(j->path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		r = -errno;
	if (r == 0)
		r = fd_mount_id(fd, &id, &unique);
	/* Something was mounted over it since: that mount is handled itself. */
	if (r == 0 && id != j->mnt_id)
		r = -ESTALE;
	if (r == 0) {
		/* fanotify_mark(dirfd, NULL) rejects O_PATH fds (see domain_mark). */
		(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (fanotify_mark(j->group_fd, j->how, j->mask, AT_FDCWD, proc) < 0)
			r = -errno;
	}
	/* Release the group at once: if we were abandoned, this is what lets
	 * the kernel free it (and allow whatever it queued). */
	j->group_fd = safe_close(j->group_fd);
	pthread_mutex_lock(&j->lock);
	j->result = r;
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	mark_job_unref(j);
	return NULL;
}

/* Takes group_fd. -ETIMEDOUT if the helper did not return by the deadline. */
static int mark_with_deadline(int group_fd, const char *path, uint64_t mnt_id, unsigned how,
			      uint64_t mask, usec_t deadline)
{
	struct mark_job *j = calloc(1, sizeof(*j));
	pthread_condattr_t ca;
	pthread_t t;
	int r;

	if (!j) {
		safe_close(group_fd);
		return -ENOMEM;
	}
	atomic_store(&j->refs, 2);
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->group_fd = group_fd;
	j->path = strdup(path);
	j->mnt_id = mnt_id;
	j->how = how;
	j->mask = mask;
	if (!j->path) {
		atomic_store(&j->refs, 1);
		mark_job_unref(j);
		return -ENOMEM;
	}
	r = fg_thread_start(&t, "fg-mark", mark_main, j, /* detached= */ true);
	if (r < 0) {
		atomic_store(&j->refs, 1);
		mark_job_unref(j);
		return r;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->done) {
		struct timespec ts = usec_to_timespec(deadline);

		if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) == ETIMEDOUT && !j->done)
			break;
	}
	r = j->done ? j->result : -ETIMEDOUT;
	pthread_mutex_unlock(&j->lock);
	mark_job_unref(j);
	return r;
}

/* --- records and domains ------------------------------------------------------ */

void domain_stats_add(struct domain_stats *to, struct domain_stats *from)
{
#define ADD(f) atomic_fetch_add(&to->f, atomic_load(&from->f))
	ADD(read);
	ADD(answered);
	ADD(allowed);
	ADD(denied);
	ADD(response_errors);
	ADD(abandoned);
	ADD(replaced);
	ADD(bytes_scanned);
	ADD(readers_added);
	ADD(open_errors);
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
		ADD(by_reason[i]);
#undef ADD
}

void watch_origin_fill(struct fanguard *fg, struct fg_watch *w, const struct mount_table *t,
		       const struct mount_entry *me)
{
	struct fuse_origin o = {};

	w->dev_major = me->major;
	w->dev_minor = me->minor;
	if (!mount_class_is_fuse(me->class))
		return;
	if (loopback_classify(t, me, &o) < 0)
		return;
	w->loopback = o.loopback;
	w->origin = TAKE_PTR(o.evidence);
	if (o.n_backing > 0) {
		w->backing_mnt_ids = calloc(o.n_backing, sizeof(uint64_t));
		for (size_t i = 0; w->backing_mnt_ids && i < o.n_backing; i++) {
			const struct mount_entry *b = mount_table_find_path(t, o.backing[i]);

			if (b)
				w->backing_mnt_ids[w->n_backing++] = b->mnt_id;
		}
	}
	fg_log(fg, LOG_INFO, "mount %llu '%s' (%s) is %s: %s", (unsigned long long) me->mnt_id,
	       me->mount_point, me->fstype, w->loopback ? "loopback-served" : "remote or unknown",
	       w->origin ? w->origin : "");
	fuse_origin_done(&o);
}

void watch_policy_apply_locked(struct fanguard *fg, struct fg_watch *w, struct domain *d)
{
	if (!w->loopback || !d || d->cls == FANGUARD_MOUNT_LOCAL || w->n_backing == 0 ||
	    fg->opts.loopback_policy == FANGUARD_LOOPBACK_THROUGH)
		return;
	/* A FUSE mount the caller named itself is scanned through unless asked. */
	if (!w->from_tree && fg->opts.loopback_policy != FANGUARD_LOOPBACK_BACKING)
		return;
	for (size_t i = 0; i < w->n_backing; i++) {
		bool watched = false;

		for (struct fg_watch *o = fg->watches; o && !watched; o = o->next)
			watched = o->mnt_id == w->backing_mnt_ids[i] &&
				  o->domain_class == FANGUARD_MOUNT_LOCAL;
		if (!watched)
			return;
	}
	w->content_at_backing = true;
	atomic_store(&d->content_at_backing, true);
	fg_log(fg, LOG_INFO,
	       "mount %llu '%s' (%s): loopback-served, its backing files are watched locally: "
	       "scanned at the backing layer, not read through the daemon",
	       (unsigned long long) w->mnt_id, w->mount_point, d->name);
}

/* Stops d and, once its threads are gone, frees it. A thread stuck in a
 * FUSE request keeps it (stopped, unfindable) until fanguard_free(). */
static void domain_release(struct fanguard *fg, struct domain *d)
{
	bool ok;

	pthread_mutex_lock(&fg->lock);
	d->fuse_mnt_id = UINT64_MAX; /* never found again by fanguard_watch() */
	pthread_mutex_unlock(&fg->lock);
	domain_stop_begin(d);
	ok = domain_stop_finish(d, deadline_after(2 * USEC_PER_SEC));
	pthread_mutex_lock(&fg->lock);
	/* Once stopping, fanguard_stop() walks the list without the lock. */
	if (!ok || fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		fg_log(fg, LOG_WARNING, "%s: stopped; %s", d->name,
		       ok ? "freed at fanguard_free()" : "a thread is stuck: kept until then");
		return;
	}
	for (struct domain **p = &fg->domains; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	fg->n_domains--;
	domain_stats_add(&fg->retired, &d->stats);
	pthread_mutex_unlock(&fg->lock);
	fg_log(fg, LOG_INFO,
	       "%s: released (group closed, threads exited) after %llu events, %llu answered "
	       "without reading content",
	       d->name, (unsigned long long) atomic_load(&d->stats.read),
	       (unsigned long long) atomic_load(&d->stats.by_reason[FANGUARD_REASON_EXCLUDED]));
	domain_free(d);
}

/* --- scanning the table --------------------------------------------------------- */

static bool rule_covers(const struct tree_rule *r, const char *mp)
{
	size_t l = strlen(r->path);

	if (strcmp(r->path, "/") == 0)
		return true;
	return strncmp(mp, r->path, l) == 0 && (mp[l] == '\0' || mp[l] == '/');
}

static bool ignored(struct mountwatch *mw, const struct mount_entry *e)
{
	for (size_t i = 0; i < mw->n_ignored; i++)
		if (mw->ignored[i].id == e->mnt_id && mw->ignored[i].major == e->major &&
		    mw->ignored[i].minor == e->minor)
			return true;
	return false;
}

static void ignore(struct mountwatch *mw, const struct mount_entry *e)
{
	struct ignored_mount *n = realloc(mw->ignored, (mw->n_ignored + 1) * sizeof(*n));

	if (n) {
		n[mw->n_ignored++] = (struct ignored_mount){e->mnt_id, e->major, e->minor};
		mw->ignored = n;
	}
}

static void ignored_prune(struct mountwatch *mw, const struct mount_table *t)
{
	size_t k = 0;

	for (size_t i = 0; i < mw->n_ignored; i++) {
		const struct mount_entry *e = mount_table_find_id(t, mw->ignored[i].id);

		if (e && e->major == mw->ignored[i].major && e->minor == mw->ignored[i].minor)
			mw->ignored[k++] = mw->ignored[i];
	}
	mw->n_ignored = k;
}

static bool entry_present(const struct mount_table *t, const struct fg_watch *w)
{
	const struct mount_entry *e = mount_table_find_id(t, w->mnt_id);

	return e && e->major == w->dev_major && e->minor == w->dev_minor;
}

/* Called with scan_lock held. */
static void watch_entry(struct fanguard *fg, struct mountwatch *mw, const struct mount_table *t,
			const struct mount_entry *e, const struct tree_rule *rule, usec_t changed)
{
	enum fanguard_mount_class cls;
	struct fg_watch *w;
	struct domain *d = NULL;
	bool created = false;
	unsigned how;
	int gfd, r;
	usec_t t0, marked;

	if (domain_class_of(e->class, &cls) < 0) {
		fg_log(fg, LOG_INFO,
		       "mount %llu '%s' (%s) under '%s': pseudo filesystem, not watched",
		       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path);
		ignore(mw, e);
		return;
	}
	w = watch_record_new(e->mount_point, e, cls, rule->flags);
	if (!w)
		return;
	w->from_tree = true;

	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		watch_record_free(w);
		return;
	}
	r = domain_get_locked(fg, cls, e->mnt_id, &d, &created);
	if (r < 0) {
		pthread_mutex_unlock(&fg->lock);
		fg_log(fg, LOG_ERR, "mount %llu '%s': cannot make its group: %s",
		       (unsigned long long) e->mnt_id, e->mount_point, strerror(-r));
		watch_record_free(w);
		return;
	}
	w->d = d;
	gfd = fcntl(d->fan_fd, F_DUPFD_CLOEXEC, 3);
	pthread_mutex_unlock(&fg->lock);

	how = FAN_MARK_ADD |
	      ((rule->flags & FANGUARD_WATCH_FILESYSTEM) ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT);
	t0 = now_usec();
	r = gfd < 0 ? -errno
		    : mark_with_deadline(
			      gfd, e->mount_point, e->mnt_id, how, fan_mask_for(fg),
			      deadline_after((usec_t) fg->cls[cls].deadline_ms * USEC_PER_MSEC));
	if (r < 0) {
		fg_log(fg, r == -ESTALE ? LOG_INFO : LOG_ERR,
		       "mount %llu '%s' (%s) under '%s': not marked: %s",
		       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path,
		       r == -ETIMEDOUT ? "marking did not finish by the deadline (dead filesystem?)"
				       : strerror(-r));
		if (r == -ETIMEDOUT)
			ignore(mw, e);
		if (created)
			domain_release(fg, d);
		watch_record_free(w);
		return;
	}
	/* Marked first, classified after: until the policy applies, the new
	 * group reads content through the daemon, as for any FUSE mount. */
	marked = now_usec();
	watch_origin_fill(fg, w, t, e);
	pthread_mutex_lock(&fg->lock);
	watch_policy_apply_locked(fg, w, d);
	watch_record_append_locked(fg, w);
	fg->n_watches++;
	pthread_mutex_unlock(&fg->lock);
	fg_log(fg, LOG_NOTICE,
	       "mount %llu '%s' (%s) under '%s' is %s (%s)%s%s: group %s%s, marked in %llu us "
	       "(%llu us after the table changed)",
	       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path,
	       w->mount_class, w->evidence, w->origin ? "; " : "", w->origin ? w->origin : "",
	       d->name, created ? " (new)" : "", (unsigned long long) (marked - t0),
	       (unsigned long long) (changed ? marked - changed : 0));
}

/* Called with scan_lock held. */
static void scan_table(struct fanguard *fg, struct mountwatch *mw, const struct mount_table *t,
		       usec_t changed)
{
	struct fg_watch *gone = NULL;

	ignored_prune(mw, t);
	/* Mounts that went away: their records, and groups nobody else uses. */
	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch **p = &fg->watches, *prev = NULL; *p;) {
		struct fg_watch *w = *p;

		if (entry_present(t, w)) {
			prev = w;
			p = &w->next;
			continue;
		}
		*p = w->next;
		if (fg->watches_tail == w)
			fg->watches_tail = prev;
		fg->n_watches--;
		w->next = gone;
		gone = w;
	}
	pthread_mutex_unlock(&fg->lock);
	while (gone) {
		struct fg_watch *w = gone;
		bool shared = false;

		gone = w->next;
		fg_log(fg, LOG_NOTICE, "mount %llu '%s' (%s) is gone",
		       (unsigned long long) w->mnt_id, w->mount_point, w->fstype);
		pthread_mutex_lock(&fg->lock);
		for (struct fg_watch *o = fg->watches; o && !shared; o = o->next)
			shared = o->d == w->d;
		for (struct fg_watch *o = gone; o && !shared; o = o->next)
			shared = o->d == w->d;
		pthread_mutex_unlock(&fg->lock);
		if (w->d && !shared && w->d->cls != FANGUARD_MOUNT_LOCAL)
			domain_release(fg, w->d);
		watch_record_free(w);
	}

	for (size_t i = 0; i < t->n_entries; i++) {
		const struct mount_entry *e = &t->entries[i];
		const struct tree_rule *rule = NULL;
		bool known = false;

		for (size_t k = 0; k < mw->n_rules && !rule; k++)
			if (rule_covers(&mw->rules[k], e->mount_point))
				rule = &mw->rules[k];
		if (!rule || ignored(mw, e))
			continue;
		/* Only the topmost mount at a mount point is reachable by path. */
		if (mount_table_find_path(t, e->mount_point) != e)
			continue;
		pthread_mutex_lock(&fg->lock);
		for (struct fg_watch *w = fg->watches; w && !known; w = w->next)
			known = w->mnt_id == e->mnt_id && w->dev_major == e->major &&
				w->dev_minor == e->minor;
		pthread_mutex_unlock(&fg->lock);
		if (!known)
			watch_entry(fg, mw, t, e, rule, changed);
	}
}

static int scan_now(struct fanguard *fg, struct mountwatch *mw, usec_t changed)
{
	struct mount_table *t = NULL;
	int r;

	r = mount_table_load(NULL, &t);
	if (r < 0) {
		fg_log(fg, LOG_ERR, "cannot read the mount table: %s", strerror(-r));
		return r;
	}
	pthread_mutex_lock(&mw->scan_lock);
	scan_table(fg, mw, t, changed);
	pthread_mutex_unlock(&mw->scan_lock);
	mount_table_free(t);
	return 0;
}

static void *watcher_main(void *userdata)
{
	struct fanguard *fg = userdata;
	struct mountwatch *mw = fg->mw;
	_cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fg_log(fg, LOG_ERR,
		       "cannot open /proc/self/mountinfo: %m; new mounts are not watched");
		return NULL;
	}
	/* Mounts made between the rules' first scan and now. */
	(void) scan_now(fg, mw, 0);
	for (;;) {
		struct pollfd p[2] = {
			{.fd = fd, .events = POLLPRI},
			{.fd = mw->wake_fd, .events = POLLIN},
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fg_log(fg, LOG_ERR, "mount watcher: poll failed: %m");
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLPRI | POLLERR))
			(void) scan_now(fg, mw, now_usec());
	}
	return NULL;
}

/* --- API ---------------------------------------------------------------------- */

int mountwatch_start(struct fanguard *fg)
{
	struct mountwatch *mw = fg->mw;
	int r;

	if (!mw || mw->running)
		return 0;
	r = fg_thread_start(&mw->thread, "fg-mountwatch", watcher_main, fg, /* detached= */ false);
	if (r < 0)
		return r;
	mw->running = true;
	return 0;
}

void mountwatch_stop(struct fanguard *fg)
{
	struct mountwatch *mw = fg->mw;
	uint64_t one = 1;

	if (!mw || !mw->running)
		return;
	(void) !write(mw->wake_fd, &one, sizeof(one));
	(void) pthread_join(mw->thread, NULL);
	mw->running = false;
}

void mountwatch_free(struct fanguard *fg)
{
	struct mountwatch *mw = fg->mw;

	if (!mw)
		return;
	for (size_t i = 0; i < mw->n_rules; i++)
		free(mw->rules[i].path);
	free(mw->rules);
	free(mw->ignored);
	safe_close(mw->wake_fd);
	pthread_mutex_destroy(&mw->scan_lock);
	free(mw);
	fg->mw = NULL;
}

int fanguard_watch_tree(struct fanguard *fg, const char *path, uint32_t flags)
{
	_cleanup_free_ char *real = NULL;
	struct mountwatch *mw;
	struct tree_rule *n;
	int r;

	if (!fg || !path || path[0] != '/' || (flags & ~FANGUARD_WATCH_FILESYSTEM))
		return -EINVAL;
	real = realpath(path, NULL);
	if (!real)
		return -errno;
	r = fanguard_watch(fg, real, flags);
	if (r < 0)
		return r;

	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		return -ESHUTDOWN;
	}
	if (!fg->mw) {
		mw = calloc(1, sizeof(*mw));
		if (!mw) {
			pthread_mutex_unlock(&fg->lock);
			return -ENOMEM;
		}
		mw->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (mw->wake_fd < 0) {
			r = -errno;
			free(mw);
			pthread_mutex_unlock(&fg->lock);
			return r;
		}
		pthread_mutex_init(&mw->scan_lock, NULL);
		fg->mw = mw;
	}
	mw = fg->mw;
	pthread_mutex_unlock(&fg->lock);

	pthread_mutex_lock(&mw->scan_lock);
	n = realloc(mw->rules, (mw->n_rules + 1) * sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&mw->scan_lock);
		return -ENOMEM;
	}
	mw->rules = n;
	fg_log(fg, LOG_INFO, "watching the tree under '%s', and mounts that appear there later",
	       real);
	n[mw->n_rules++] = (struct tree_rule){.path = TAKE_PTR(real), .flags = flags};
	pthread_mutex_unlock(&mw->scan_lock);

	/* The mounts below it now; later ones are the watcher's. */
	r = scan_now(fg, mw, 0);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fg->lock);
	if (fg->started && !fg->stopped)
		r = mountwatch_start(fg);
	pthread_mutex_unlock(&fg->lock);
	return r;
}
