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
 * path walk to a dead network mount, or a statx on a FUSE root. So the
 * mount point is opened on a short-lived helper thread, abandoned at a
 * deadline (mark.c); the mark then goes through the registry like any
 * other watch (watch.c), and in only once the domain runs.
 *
 * New FUSE mounts get their own domain (group, readers, workers, deadline)
 * and are read through their daemon; loopback.c explains where their data
 * comes from, which exempts nothing (watch_policy_apply_locked(): only a
 * mount the administrator names is scanned at the backing layer). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "classifier-internal.h"
#include "domain-state-internal.h"
#include "fanguard.h"
#include "fg-internal.h"
#include "macro.h"
#include "handover-internal.h"
#include "hung-internal.h"
#include "mark-internal.h"
#include "mountcache-internal.h"
#include "mountevents-internal.h"
#include "mountids-internal.h"
#include "mountwatch-internal.h"
#include "mounts.h"
#include "registry-internal.h"
#include "watch-internal.h"

struct tree_rule {
	char *path;
	uint32_t flags;
};

struct mountwatch {
	/* One scan at a time (the watcher thread, or fanguard_watch_tree()).
	 * Held across marking, never across anything without a deadline. */
	pthread_mutex_t scan_lock;
	struct tree_rule *rules; /* protected by scan_lock */
	/* Report the first pass (handover.c); protected by fg->lock */
	bool first_pass_armed;
	size_t n_rules;
	/* Mounts not to retry (pseudo fs, mark timed out), by id and device:
	 * ids are reused at once. Pruned when they go away. */
	struct ignored_mount {
		uint64_t id;
		unsigned major, minor;
	} * ignored;
	size_t n_ignored;
	/* The unique ids the last scan saw (sorted), to tell a mount attached
	 * and gone between two scans from one a scan handled. */
	uint64_t *seen;
	size_t n_seen;

	struct fg_bg_thread bt;	  /* started and stopped under fg->lock's serialization */
	struct classifier *cl;	  /* explains new FUSE mounts after they are marked */
	struct mount_cache cache; /* protected by scan_lock */
	struct sb_id root_sbs[4]; /* the root filesystem's superblocks (watch.c) */
	size_t n_root_sbs;
};

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

/* Is w's mount still there? By its unique id where both are known: an
 * old id and a device number (tmpfs: an anonymous one) are reused at once,
 * so a mount made again at the same place looks the same by those. */
static bool entry_present(const struct mount_table *t, const struct mount_ids *ids,
			  const struct fg_watch *w)
{
	const struct mount_entry *e = mount_table_find_id(t, w->mnt_id);
	uint64_t u;

	if (!e || e->major != w->dev_major || e->minor != w->dev_minor)
		return false;
	u = ids && w->unique ? mount_ids_unique_of(ids, w->mnt_id) : 0;
	return u == 0 || u == w->unique;
}

/* Called with scan_lock held. */
static void watch_entry(struct fanguard *fg, struct mountwatch *mw, const struct mount_table *t,
			const struct mount_entry *e, const struct tree_rule *rule, usec_t changed)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t unique = 0;
	enum fanguard_mount_class cls;
	struct fg_watch *w;
	struct domain *d = NULL;
	bool created = false;
	uint32_t flags;
	uid_t owner;
	int r;
	usec_t t0, marked;
	uint64_t same_fs;
	char same_fs_note[64] = "";

	if (domain_class_of(e->class, &cls) < 0) {
		fg_log(fg, LOG_INFO,
		       "mount %llu '%s' (%s) under '%s': pseudo filesystem, not watched",
		       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path);
		ignore(mw, e);
		return;
	}
	/* The tree covers this mount; its filesystem is the root one only if
	 * asked (a bind of part of "/" under the tree): then this mount only. */
	flags = rule->flags;
	if (!(flags & (FANGUARD_WATCH_MOUNT | FANGUARD_WATCH_ROOT_FS)) &&
	    mount_on_superblock(e, mw->root_sbs, mw->n_root_sbs)) {
		flags |= FANGUARD_WATCH_MOUNT;
		fg_log(fg, LOG_NOTICE,
		       "mount %llu '%s' (%s) under '%s' is of the root filesystem: marking this "
		       "mount only (FANGUARD_WATCH_ROOT_FS, --watch-root-fs, marks all of it)",
		       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path);
	}
	w = watch_record_new(e->mount_point, e, cls, flags);
	if (!w)
		return;
	w->from_tree = true;
	w->owner = owner = mount_owner(t, e);

	t0 = now_usec();
	r = open_mount_with_deadline(
		e->mount_point, e->mnt_id,
		deadline_after((usec_t) fg->cls[cls].deadline_ms * USEC_PER_MSEC), &fd, &unique);
	w->unique = unique;
	if (r < 0)
		watch_record_free(w);
	else /* frees w on failure */
		r = watch_place(fg, fd, cls, e->mnt_id, e->major, e->minor, owner,
				registry_depth_of(e->class), w, flags, &d, &created);
	if (r == -ESHUTDOWN)
		return;
	if (r == -ESTALE) {
		/* Unmounted between the table and the mark: nothing was left
		 * to cover, but say so, counted (never silently missed). */
		atomic_fetch_add_explicit(&fg->mounts_gone_before_marked, 1, memory_order_relaxed);
		fg_log(fg, LOG_NOTICE,
		       "mount %llu '%s' (%s) under '%s' went away before it could be marked",
		       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path);
		return;
	}
	if (r < 0) {
		/* Loud, once per mount and cause, rate-limited (coverage.c). */
		coverage_report_uncovered(fg, e->mnt_id, e->mount_point,
					  uncovered_cause_of_errno(r), r);
		atomic_fetch_add_explicit(&fg->marks_failed, 1, memory_order_relaxed);
		if (r == -ETIMEDOUT || r == -EUSERS)
			ignore(mw, e);
		return;
	}
	coverage_report_covered(fg, e->mnt_id);
	/* Marked first, classified after, on the classifier's thread: until
	 * the policy applies, the new group reads content through the daemon,
	 * as for any FUSE mount, and a slow classification (a user's fake
	 * sshfs) holds up no later mount. */
	marked = now_usec();
	w->dev_major = e->major;
	w->dev_minor = e->minor;
	w->classify_pending = mount_class_is_fuse(e->class);
	same_fs = w->same_fs_as;
	watch_record_commit(fg, w);
	if (w->classify_pending &&
	    (r = classifier_queue(mw->cl, e->mnt_id, e->major, e->minor, unique)) < 0)
		fg_log(fg, LOG_WARNING,
		       "mount %llu '%s': cannot queue it for classification (%s): read through "
		       "its daemon, unexplained",
		       (unsigned long long) e->mnt_id, e->mount_point, strerror(-r));
	if (same_fs)
		(void) snprintf(same_fs_note, sizeof(same_fs_note),
				" (the filesystem of mount %llu)", (unsigned long long) same_fs);
	fg_log(fg, LOG_NOTICE,
	       "mount %llu '%s' (%s) under '%s' is %s (%s): group %s%s%s, marked in %llu us "
	       "(%llu us after the table changed)",
	       (unsigned long long) e->mnt_id, e->mount_point, e->fstype, rule->path,
	       mount_class_to_string(e->class), e->class_reason ? e->class_reason : "", d->name,
	       created ? " (new)" : "", same_fs_note, (unsigned long long) (marked - t0),
	       (unsigned long long) (changed ? marked - changed : 0));
	domain_unref(d);
}

struct present_in {
	const struct mount_table *t;
	const struct mount_ids *ids;
};

/* Keeps a record whose mount is still there, and every record of another
 * namespace's mount (fusens.c's to track). */
static bool still_present(const struct fg_watch *w, const void *arg)
{
	const struct present_in *in = arg;

	return w->foreign || entry_present(in->t, in->ids, w);
}

/* Called with scan_lock held. */
static void scan_table(struct fanguard *fg, struct mountwatch *mw, const struct mount_table *t,
		       const struct mount_ids *ids, usec_t changed)
{
	struct fg_watch *gone = NULL;

	ignored_prune(mw, t);
	coverage_prune(fg, t);
	/* Mounts that went away: their records, and groups nobody else uses. */
	gone = watch_records_take(fg, still_present, &(struct present_in){t, ids});
	for (struct fg_watch *w = gone; w; w = w->next)
		fg_log(fg, LOG_NOTICE, "mount %llu '%s' (%s) is gone",
		       (unsigned long long) w->mnt_id, w->mount_point, w->fstype);
	watch_records_release(fg, gone);

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
		/* Records of mounts gone were dropped above: by id and device
		 * is enough here. */
		pthread_mutex_lock(&fg->lock);
		for (struct fg_watch *w = fg->watches; w && !known; w = w->next)
			known = w->mnt_id == e->mnt_id && w->dev_major == e->major &&
				w->dev_minor == e->minor;
		pthread_mutex_unlock(&fg->lock);
		if (!known)
			watch_entry(fg, mw, t, e, rule, changed);
	}
	coverage_summarise(fg);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static bool seen_has(const uint64_t *v, size_t n, uint64_t id)
{
	return n > 0 && bsearch(&id, v, n, sizeof(*v), cmp_u64);
}

/* Mounts the kernel announced (FAN_MNT_ATTACH) that neither this scan nor
 * the last one saw: they came and went between two scans, unmarked. Their
 * place is gone with them, so whether a watched tree held one is not
 * known: counted and reported all the same. Called with scan_lock held. */
static void account_vanished(struct fanguard *fg, struct mountwatch *mw,
			     const struct mount_ids *ids, const struct mount_events_batch *b)
{
	_cleanup_free_ uint64_t *now = NULL;
	unsigned vanished = 0;

	if (ids && ids->n > 0) {
		now = malloc(ids->n * sizeof(*now));
		if (now) {
			memcpy(now, ids->unique, ids->n * sizeof(*now));
			qsort(now, ids->n, sizeof(*now), cmp_u64);
		}
	}
	for (size_t i = 0; b && now && i < b->n_attached; i++)
		if (!seen_has(now, ids->n, b->attached[i]) &&
		    !seen_has(mw->seen, mw->n_seen, b->attached[i]))
			vanished++;
	if (vanished > 0) {
		atomic_fetch_add_explicit(&fg->mounts_gone_before_marked, vanished,
					  memory_order_relaxed);
		fg_log(fg, LOG_NOTICE,
		       "%u mount(s) came and went before they could be marked (where is not "
		       "known: they may have been under a watched tree)",
		       vanished);
	}
	if (b && b->lost)
		fg_log(fg, LOG_WARNING,
		       "mount events were lost (queue overflow): mounts that came and went "
		       "since the last scan are not counted");
	if (now) {
		free(mw->seen);
		mw->seen = TAKE_PTR(now);
		mw->n_seen = ids->n;
	} else if (ids) {
		mw->n_seen = 0;
	}
}

/* b: the mount events since the last scan (NULL: no events, or none with
 * ids): applied one mount at a time where the kernel can (mountcache.c),
 * else the whole table is read again. */
static int scan_now(struct fanguard *fg, struct mountwatch *mw, usec_t changed,
		    const struct mount_events_batch *b)
{
	struct mount_cache *c = &mw->cache;
	int r = -EAGAIN;

	pthread_mutex_lock(&mw->scan_lock);
	if (b)
		r = mount_cache_apply(c, b);
	if (r < 0) {
		r = mount_cache_reload(c);
		if (r < 0) {
			pthread_mutex_unlock(&mw->scan_lock);
			fg_log(fg, LOG_ERR, "cannot read the mount table: %s", strerror(-r));
			return r;
		}
		/* The root filesystem is looked up again with the table. */
		mw->n_root_sbs = root_fs_superblocks(mw->root_sbs, ELEMENTSOF(mw->root_sbs));
	}
	scan_table(fg, mw, c->t, c->have_ids ? &c->ids : NULL, changed);
	account_vanished(fg, mw, c->have_ids ? &c->ids : NULL, b);
	pthread_mutex_unlock(&mw->scan_lock);
	return 0;
}

static void *watcher_main(void *userdata)
{
	struct fanguard *fg = userdata;
	struct mountwatch *mw = fg->mw;
	_cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int ev = mount_events_open();
	struct mount_events_batch batch;

	if (fd < 0) {
		fg_log(fg, LOG_ERR,
		       "cannot open /proc/self/mountinfo: %m; new mounts are not watched");
		handover_first_pass_done(fg, &mw->first_pass_armed);
		return NULL;
	}
	fg_log(fg, LOG_INFO, "mount watcher: %s",
	       ev >= 0 ? "mount events from the kernel (FAN_MNT_ATTACH/DETACH)"
		       : "no mount events from this kernel: POLLPRI on /proc/self/mountinfo");
	/* Mounts made between the rules' first scan and now. Groups a
	 * previous listener handed over for such mounts waited for this
	 * pass; the ones it did not claim are closed now. */
	(void) scan_now(fg, mw, 0, NULL);
	handover_first_pass_done(fg, &mw->first_pass_armed);
	for (usec_t next_hung = now_usec();;) {
		usec_t now = now_usec();
		short rev = 0;
		int r;

		/* Hung daemons in shared groups (hung.c), every tick. */
		if (now >= next_hung) {
			pthread_mutex_lock(&mw->scan_lock);
			hung_check(fg);
			pthread_mutex_unlock(&mw->scan_lock);
			next_hung = now + (usec_t) HUNG_TICK_MS * USEC_PER_MSEC;
		}
		r = fg_bg_thread_wait(&mw->bt, ev >= 0 ? ev : fd, ev >= 0 ? POLLIN : POLLPRI,
				      HUNG_TICK_MS, &rev);
		if (r == -ESHUTDOWN)
			break;
		if (r < 0) {
			fg_log(fg, LOG_ERR, "mount watcher: poll failed: %s", strerror(-r));
			break;
		}
		if (r == 0)
			continue;
		if (ev >= 0 && (rev & POLLIN)) {
			/* Every event queued so far: one scan covers them all. */
			(void) mount_events_drain(ev, &batch);
			(void) scan_now(fg, mw, now_usec(), &batch);
		} else if (ev < 0 && (rev & (POLLPRI | POLLERR)))
			(void) scan_now(fg, mw, now_usec(), NULL);
	}
	fg_log(fg, LOG_INFO,
	       "mount watcher: %u full reads of the mount table, %u mount events applied one "
	       "mount at a time (statmount)",
	       mw->cache.full_reads, mw->cache.mounts_applied);
	return NULL;
}

/* --- API ---------------------------------------------------------------------- */

int mountwatch_start(struct fanguard *fg)
{
	int r;

	if (!fg->mw)
		return 0;
	r = classifier_start(fg, fg->mw->cl);
	if (r >= 0)
		r = fg_bg_thread_start(&fg->mw->bt, "fg-mountwatch", watcher_main, fg);
	return r;
}

unsigned mountwatch_arm_first_pass_locked(struct fanguard *fg)
{
	if (!fg->mw || !fg->mw->bt.running)
		return 0;
	fg->mw->first_pass_armed = true;
	return 1;
}

void mountwatch_stop(struct fanguard *fg)
{
	if (!fg->mw)
		return;
	/* The watcher queues to the classifier: stopped first. */
	fg_bg_thread_stop(&fg->mw->bt);
	classifier_stop(fg->mw->cl);
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
	free(mw->seen);
	fg_bg_thread_done(&mw->bt);
	classifier_free(mw->cl);
	mount_cache_done(&mw->cache);
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

	if (!fg || !path || path[0] != '/' || watch_flags_check(flags) < 0)
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
		mw->cl = classifier_new();
		if (!mw->cl) {
			free(mw);
			pthread_mutex_unlock(&fg->lock);
			return -ENOMEM;
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
	r = scan_now(fg, mw, 0, NULL);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fg->lock);
	if (fg->started && !fg->stopped)
		r = mountwatch_start(fg);
	pthread_mutex_unlock(&fg->lock);
	return r;
}
