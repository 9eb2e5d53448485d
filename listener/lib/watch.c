/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watches: classify a path's mount, find its domain in the registry, mark
 * it, record it. One way to place a watch, for fanguard_watch() and the
 * mount watcher (mountwatch.c). Marks go in when the domain runs (before
 * fanguard_start(), domain_mark() keeps them pending), so a call made
 * before start never waits on the listener. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include "domain-internal.h"
#include "emask-internal.h"
#include "fg-internal.h"
#include "loopback-internal.h"
#include "macro.h"
#include "mounts.h"
#include "registry-internal.h"
#include "watch-internal.h"

void watch_record_free(struct fg_watch *w)
{
	if (!w)
		return;
	free(w->path);
	free(w->mount_point);
	free(w->fstype);
	free(w->evidence);
	free(w->origin);
	free(w->backing_mnt_ids);
	if (w->d)
		domain_unref(w->d);
	free(w);
}

/* NULL on OOM: the watch still works, it is only missing from the list. */
struct fg_watch *watch_record_new(const char *path, const struct mount_entry *me,
				  enum fanguard_mount_class cls, uint32_t flags)
{
	struct fg_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->path = strdup(path);
	w->mount_point = strdup(me->mount_point ? me->mount_point : "?");
	w->fstype = strdup(me->fstype ? me->fstype : "?");
	w->evidence = strdup(me->class_reason ? me->class_reason : "");
	w->mount_class = mount_class_to_string(me->class);
	w->domain_class = cls;
	w->mnt_id = me->mnt_id;
	w->dev_major = me->major;
	w->dev_minor = me->minor;
	w->flags = flags;
	if (!w->path || !w->mount_point || !w->fstype || !w->evidence) {
		watch_record_free(w);
		return NULL;
	}
	return w;
}

void watch_record_append_locked(struct fanguard *fg, struct fg_watch *w)
{
	w->next = NULL;
	if (fg->watches_tail)
		fg->watches_tail->next = w;
	else
		fg->watches = w;
	fg->watches_tail = w;
}

void watch_record_commit(struct fanguard *fg, struct fg_watch *w)
{
	pthread_mutex_lock(&fg->lock);
	watch_policy_apply_locked(fg, w, w->d);
	watch_record_append_locked(fg, w);
	pthread_mutex_unlock(&fg->lock);
}

void watch_records_clear(struct fanguard *fg)
{
	struct fg_watch *w;

	pthread_mutex_lock(&fg->lock);
	w = TAKE_PTR(fg->watches);
	fg->watches_tail = NULL;
	pthread_mutex_unlock(&fg->lock);
	while (w) {
		struct fg_watch *next = w->next;

		watch_record_free(w);
		w = next;
	}
}

struct fg_watch *watch_records_take(struct fanguard *fg,
				    bool (*keep)(const struct fg_watch *w, const void *arg),
				    const void *arg)
{
	struct fg_watch *gone = NULL;

	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch **p = &fg->watches, *prev = NULL; *p;) {
		struct fg_watch *w = *p;

		if (keep(w, arg)) {
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
	return gone;
}

void watch_records_release(struct fanguard *fg, struct fg_watch *gone)
{
	while (gone) {
		struct fg_watch *w = gone;
		bool shared = false;

		gone = w->next;
		pthread_mutex_lock(&fg->lock);
		for (struct fg_watch *o = fg->watches; o && !shared; o = o->next)
			shared = o->d == w->d;
		for (struct fg_watch *o = gone; o && !shared; o = o->next)
			shared = o->d == w->d;
		pthread_mutex_unlock(&fg->lock);
		if (w->d && !shared && w->d->cls != FANGUARD_MOUNT_LOCAL)
			registry_release(fg, w->d);
		watch_record_free(w);
	}
}

int domain_class_of(enum mount_class c, enum fanguard_mount_class *ret)
{
	switch (c) {
	case MOUNT_CLASS_LOCAL:
		*ret = FANGUARD_MOUNT_LOCAL;
		return 0;
	case MOUNT_CLASS_FUSE:
	case MOUNT_CLASS_FUSE_BACKED:
		*ret = FANGUARD_MOUNT_FUSE;
		return 0;
	case MOUNT_CLASS_NETWORK:
		*ret = FANGUARD_MOUNT_NETWORK;
		return 0;
	default:
		return -EINVAL; /* pseudo filesystems are never watched */
	}
}

uid_t mount_owner(const struct mount_table *t, const struct mount_entry *me)
{
	const char *o;
	unsigned long uid;

	if (!mount_class_is_fuse(me->class))
		return 0;
	if (me->class != MOUNT_CLASS_FUSE && me->fuse_mnt_id != 0 && t) {
		const struct mount_entry *f = mount_table_find_id(t, me->fuse_mnt_id);

		if (f && f != me && f->class == MOUNT_CLASS_FUSE)
			me = f;
	}
	/* The kernel writes user_id=N for every FUSE superblock. */
	for (o = me->super_opts; o && (o = strstr(o, "user_id=")); o++)
		if (o == me->super_opts || o[-1] == ',') {
			uid = strtoul(o + 8, NULL, 10);
			return (uid_t) uid;
		}
	/* Unknown: treat it as a user's, never as root's. */
	return (uid_t) 65534;
}

struct fg_watch *watch_of_superblock_locked(struct fanguard *fg, enum fanguard_mount_class cls,
					    unsigned dev_major, unsigned dev_minor)
{
	/* The device number of a mount (mountinfo's major:minor) is its
	 * superblock's s_dev: unique among live superblocks, and records of
	 * mounts gone are dropped before new mounts are placed. A released
	 * group (out of the registry) is never joined. */
	if (cls == FANGUARD_MOUNT_LOCAL)
		return NULL; /* one local group anyway */
	for (struct fg_watch *o = fg->watches; o; o = o->next)
		if (o->d && !o->d->released && !o->unmarked && o->domain_class == cls &&
		    o->dev_major == dev_major && o->dev_minor == dev_minor)
			return o;
	return NULL;
}

int watch_place(struct fanguard *fg, int path_fd, enum fanguard_mount_class cls, uint64_t mnt_id,
		unsigned dev_major, unsigned dev_minor, uid_t owner, unsigned depth,
		struct fg_watch *w, uint32_t flags, struct domain **ret_d, bool *ret_created)
{
	struct fg_watch *first;
	struct domain *d;
	bool created = false;
	int r;

	pthread_mutex_lock(&fg->lock);
	/* One superblock, one group: a second mount of a filesystem already
	 * answered (a bind of a FUSE mount, of part of it) joins that group,
	 * shared or not; a second group would see, and scan, every event of
	 * the filesystem again, and count against the group limit. */
	first = watch_of_superblock_locked(fg, cls, dev_major, dev_minor);
	if (first && !fg->stopped) {
		d = first->d;
		domain_ref(d);
		if (w)
			w->same_fs_as = first->mnt_id;
		r = 0;
	} else
		r = registry_get_locked(fg, cls, mnt_id, dev_major, dev_minor, owner, depth, &d,
					&created);
	if (r < 0) {
		pthread_mutex_unlock(&fg->lock);
		watch_record_free(w);
		return r;
	}
	/* A new FUSE-backed group: its event mask from the configuration,
	 * before its first mark (a configured access mask never has an open
	 * one). Shared groups take the default and never switch. */
	if (created)
		emask_domain_init(d, d->shared ? NULL : w ? w->mount_point : NULL);
	r = domain_mark(d, path_fd, flags);
	if (r >= 0) {
		fg->n_watches++;
		if (w) {
			w->d = d;
			domain_ref(d);
		}
	}
	pthread_mutex_unlock(&fg->lock);
	if (r < 0)
		watch_record_free(w);
	if (r < 0 && created)
		registry_release(fg, d);
	if (ret_created)
		*ret_created = created;
	if (ret_d && r >= 0)
		*ret_d = d; /* the caller's reference */
	else
		domain_unref(d);
	return r;
}

void watch_origin_fill(struct fanguard *fg, struct fg_watch *w, const struct mount_table *t,
		       const struct mount_entry *me, const _Atomic bool *cancel)
{
	struct fuse_origin o = {};

	w->dev_major = me->major;
	w->dev_minor = me->minor;
	if (!mount_class_is_fuse(me->class))
		return;
	if (loopback_classify(t, me, cancel, &o) < 0)
		return;
	w->loopback = o.loopback;
	w->daemon = o.daemon;
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

void watch_emask_apply(struct fanguard *fg, struct fg_watch *w, int path_fd)
{
	char why[160];

	(void) fg;
	if (!w->d || w->unmarked || !w->d->emask_auto || atomic_load(&w->d->emask_access) ||
	    !emask_daemon_hint(w->daemon, why, sizeof(why)))
		return;
	(void) domain_emask_to_access(w->d, path_fd, w->flags, why);
}

int fanguard_scan_at_backing(struct fanguard *fg, const char *mount_point)
{
	char **n, *p;

	if (!fg || !mount_point || mount_point[0] != '/')
		return -EINVAL;
	p = strdup(mount_point);
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&fg->lock);
	n = realloc(fg->at_backing, (fg->n_at_backing + 1) * sizeof(*n));
	if (n) {
		n[fg->n_at_backing++] = TAKE_PTR(p);
		fg->at_backing = n;
	}
	pthread_mutex_unlock(&fg->lock);
	free(p);
	return n ? 0 : -ENOMEM;
}

static bool at_backing_named_locked(struct fanguard *fg, const char *mount_point)
{
	for (size_t i = 0; i < fg->n_at_backing; i++)
		if (strcmp(fg->at_backing[i], mount_point) == 0)
			return true;
	return false;
}

void watch_policy_apply_locked(struct fanguard *fg, struct fg_watch *w, struct domain *d)
{
	/* Read through by default (DESIGN §4): every FUSE-backed mount, loopback
	 * or not. Loopback evidence (fsname, argv, sources) is a claim a user
	 * makes; it explains a mount and never exempts it. Only a mount the
	 * administrator named, whose FUSE superblock is root's (user_id=0, the
	 * kernel's fact: fusermount3 refuses user_id= from users) and whose
	 * backing mounts are watched locally, is scanned at the backing layer. */
	if (!d || d->cls == FANGUARD_MOUNT_LOCAL || d->untrusted || w->owner != 0 ||
	    w->classify_pending || !at_backing_named_locked(fg, w->mount_point))
		return;
	if (!w->loopback || w->n_backing == 0) {
		fg_log(fg, LOG_WARNING,
		       "mount %llu '%s': named for scanning at the backing layer, but no backing "
		       "on this host was found: read through the daemon",
		       (unsigned long long) w->mnt_id, w->mount_point);
		return;
	}
	for (size_t i = 0; i < w->n_backing; i++) {
		bool watched = false;

		for (struct fg_watch *o = fg->watches; o && !watched; o = o->next)
			watched = o->mnt_id == w->backing_mnt_ids[i] &&
				  o->domain_class == FANGUARD_MOUNT_LOCAL;
		if (!watched) {
			fg_log(fg, LOG_WARNING,
			       "mount %llu '%s': named for scanning at the backing layer, but its "
			       "backing mount %llu is not watched: read through the daemon",
			       (unsigned long long) w->mnt_id, w->mount_point,
			       (unsigned long long) w->backing_mnt_ids[i]);
			return;
		}
	}
	w->content_at_backing = true;
	atomic_store(&d->content_at_backing, true);
	fg_log(fg, LOG_INFO,
	       "mount %llu '%s' (%s): loopback-served, named by the administrator, its backing "
	       "files watched locally: scanned at the backing layer, not read through the daemon",
	       (unsigned long long) w->mnt_id, w->mount_point, d->name);
}

int watch_flags_check(uint32_t flags)
{
	const uint32_t all =
		FANGUARD_WATCH_FILESYSTEM | FANGUARD_WATCH_MOUNT | FANGUARD_WATCH_ROOT_FS;

	if ((flags & ~all) ||
	    ((flags & FANGUARD_WATCH_FILESYSTEM) && (flags & FANGUARD_WATCH_MOUNT)))
		return -EINVAL;
	return 0;
}

/* The superblock of the filesystem at root, whose mount is listed in
 * mountinfo (the table of root's mount namespace). */
static int root_sb(const char *root, const char *mountinfo, struct sb_id *ret)
{
	_cleanup_close_ int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct mount_table *t = NULL;
	uint64_t id;
	int r;

	if (fd < 0)
		return -errno;
	r = fd_mount_id(fd, &id, NULL);
	if (r < 0)
		return r;
	r = mount_table_load(mountinfo, &t);
	if (r < 0)
		return r;
	r = mount_table_sb_of(t, id, ret);
	mount_table_free(t);
	return r;
}

size_t root_fs_superblocks(struct sb_id *ret, size_t max)
{
	/* PID 1's root (the host's, or a container's init), and our own: by
	 * superblock (mount_on_superblock()), so that another btrfs subvolume
	 * of "/" (another st_dev, the same filesystem) is refused too. */
	static const char *const roots[][2] = {{"/proc/1/root/", "/proc/1/mountinfo"},
					       {"/", "/proc/self/mountinfo"}};
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
		struct stat st;

		if (n < max && root_sb(roots[i][0], roots[i][1], &ret[n]) == 0)
			n++;
		/* Also by st_dev, as before: kept even where the superblock
		 * could be read (a filesystem whose st_dev is its s_dev). */
		if (n < max && stat(roots[i][0], &st) == 0)
			ret[n++] = (struct sb_id){major(st.st_dev), minor(st.st_dev)};
	}
	return n;
}

bool mount_is_root_fs(const struct mount_entry *me)
{
	struct sb_id sbs[4];

	return mount_on_superblock(me, sbs, root_fs_superblocks(sbs, ELEMENTSOF(sbs)));
}

int fanguard_watch(struct fanguard *fg, const char *path, uint32_t flags)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *mp = NULL;
	struct mount_table *table = NULL;
	const struct mount_entry *me;
	enum fanguard_mount_class cls;
	struct fg_watch *w;
	uint64_t mnt_id;
	unsigned major, minor;
	unsigned depth;
	uid_t owner;
	int r;

	if (!fg || !path || watch_flags_check(flags) < 0)
		return -EINVAL;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fd_mount_entry(fd, &table, &me);
	if (r < 0)
		return r;
	if (domain_class_of(me->class, &cls) < 0) {
		fg_log(fg, LOG_ERR, "'%s' is on a pseudo filesystem (%s): not watching it", path,
		       me->fstype);
		mount_table_free(table);
		return -EINVAL;
	}
	if (!(flags & (FANGUARD_WATCH_MOUNT | FANGUARD_WATCH_ROOT_FS)) && mount_is_root_fs(me)) {
		fg_log(fg, LOG_ERR,
		       "'%s' is on the root filesystem (mount %llu '%s', %s, device %u:%u): a "
		       "filesystem mark there holds up every process on the host; refused. Watch "
		       "only its mount (FANGUARD_WATCH_MOUNT, --watch-mount) or ask for the root "
		       "filesystem (FANGUARD_WATCH_ROOT_FS, --watch-root-fs)",
		       path, (unsigned long long) me->mnt_id, me->mount_point, me->fstype,
		       me->major, me->minor);
		mount_table_free(table);
		return -EPERM;
	}
	fg_log(fg, LOG_INFO, "watching '%s' (%s): mount %llu '%s' (%s) is %s: %s", path,
	       (flags & FANGUARD_WATCH_MOUNT) ? "this mount" : "its filesystem",
	       (unsigned long long) me->mnt_id, me->mount_point, me->fstype,
	       mount_class_to_string(me->class), me->class_reason ? me->class_reason : "");
	mnt_id = me->mnt_id;
	depth = registry_depth_of(me->class);
	major = me->major;
	minor = me->minor;
	owner = mount_owner(table, me);
	w = watch_record_new(path, me, cls, flags);
	if (w) {
		w->owner = owner;
		watch_origin_fill(fg, w, table, me, NULL);
	}
	mp = strdup(me->mount_point ? me->mount_point : path);
	mount_table_free(table); /* me points into it */
	r = watch_place(fg, fd, cls, mnt_id, major, minor, owner, depth, w, flags, NULL, NULL);
	if (r >= 0 && w) {
		watch_record_commit(fg, w);
		watch_emask_apply(fg, w, fd);
	}
	if (r < 0 && r != -ESHUTDOWN)
		coverage_report_uncovered(fg, mnt_id, mp ? mp : path, uncovered_cause_of_errno(r),
					  r);
	return r;
}
