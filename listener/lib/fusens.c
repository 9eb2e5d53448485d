/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FUSE in other mount namespaces (issue 13, finding 8). A FUSE mount an
 * unprivileged user makes inside `unshare -Urm` is in no table of ours, and
 * no kernel event announces a new mount namespace. So, every
 * watch_all_fuse_ms, a thread lists /sys/fs/fuse/connections (one entry per
 * FUSE superblock, named by its device minor). For a connection not seen
 * before it finds a process whose mountinfo holds a mount of device 0:N
 * (one mountinfo per mount namespace), and marks the whole filesystem
 * (FAN_MARK_FILESYSTEM: the superblock, whichever mount shows it) through
 * that process's view, /proc/PID/root/MOUNTPOINT, in a group of its own as
 * for any FUSE mount. Every other mount namespace a process is in is also
 * subscribed to for mount events (FAN_MARK_MNTNS): a mount there wakes the
 * poller at once. Detection delay: at once for a mount in a namespace known
 * at the last poll; else (a namespace made since, no mount events) at most
 * one interval plus the /proc walk. A mount root cannot reach (a user's FUSE mount without allow_other,
 * made in their user namespace: fuse lets root in only with the module
 * parameter allow_sys_admin_access) is reported uncovered, cause
 * "namespace", and tried again at every poll. A connection that goes away
 * releases its group. Mounts in our own namespace are left to the watches
 * and trees, which mark them by path. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>
#include "coverage-internal.h"
#include "domain-state-internal.h"
#include "fanguard.h"
#include "fg-internal.h"
#include "fusens-internal.h"
#include "handover-internal.h"
#include "macro.h"
#include "mark-internal.h"
#include "mountevents-internal.h"
#include "mounts.h"
#include "registry-internal.h"
#include "watch-internal.h"

#define FUSE_CONNECTIONS "/sys/fs/fuse/connections"
/* Polls a new connection may go unshown by any mount table before it is
 * taken for a detached mount's. */
#define NOT_SHOWN_TRIES 20

static void closedirp(DIR **d)
{
	if (*d)
		(void) closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* After a mount event, a connection not covered yet is tried again every
 * RETRY_MS, RETRIES times, before it waits for the poll. */
#define RETRY_MS 20
#define RETRIES 25
/* Mount namespaces subscribed to (FAN_MARK_MNTNS), at most this many. */
#define NS_MARKS_MAX 1024

struct fusens {
	struct fg_bg_thread bt;
	/* Mount events of the other namespaces (mountevents.c), or -errno
	 * where the kernel has none: then only the poll finds mounts. */
	int ev_fd;
	struct ns_mark {
		ino_t ino;
		bool seen;
	} * ns;
	size_t n_ns;
	bool ns_full_logged;
	bool first_pass_armed; /* report the first poll (handover.c); fg->lock */
	/* Connections seen, and whether their filesystem is marked. */
	struct fusens_conn {
		unsigned id;
		bool covered;
		bool present;
		unsigned tries;	    /* polls no process showed it */
		uint64_t uncovered; /* the mount id reported uncovered, or 0 */
	} * v;
	size_t n;
};

static struct fusens_conn *conn_find(struct fusens *fs, unsigned id)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].id == id)
			return &fs->v[i];
	return NULL;
}

static bool own_namespace_has(unsigned id)
{
	struct mount_table *t = NULL;
	bool found = false;

	if (mount_table_load(NULL, &t) < 0)
		return false;
	for (size_t i = 0; i < t->n_entries && !found; i++)
		found = t->entries[i].major == 0 && t->entries[i].minor == id &&
			mount_class_is_fuse(fstype_class(t->entries[i].fstype));
	mount_table_free(t);
	return found;
}

/* id (in the user namespace of pid, per its uid_map or gid_map) as the
 * kernel's id; -1 if unmapped. */
static long long map_out(const char *pid, const char *map, unsigned long long id)
{
	char p[sizeof("/proc//gid_map") + 256];
	unsigned long long in, out, count;
	long long r = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%s/%s", pid, map);
	f = fopen(p, "re");
	if (!f)
		return -1;
	while (r < 0 && fscanf(f, "%llu %llu %llu", &in, &out, &count) == 3)
		if (id >= in && id - in < count)
			r = (long long) (out + (id - in));
	fclose(f);
	return r;
}

/* The number after "key=" in a mount's super options, or -1. */
static long long super_opt(const struct mount_entry *e, const char *key)
{
	const char *s = e->super_opts ? strstr(e->super_opts, key) : NULL;

	return s ? strtoll(s + strlen(key), NULL, 10) : -1;
}

/* The FUSE filesystem's group reads and scans it as the mounter, whose ids
 * map into its user namespace (fuse fails requests from ids that do not). */
static void give_fs_ids(struct fanguard *fg, struct domain *d, const char *pid,
			const struct mount_entry *e)
{
	long long uid = super_opt(e, "user_id="), gid = super_opt(e, "group_id=");

	uid = uid < 0 ? -1 : map_out(pid, "uid_map", (unsigned long long) uid);
	gid = gid < 0 ? -1 : map_out(pid, "gid_map", (unsigned long long) gid);
	if (uid < 0 || gid < 0 || d->shared) {
		fg_log(fg, LOG_WARNING,
		       "%s: the mounter's ids of '%s' %s: reads by root may fail (the kernel "
		       "then denies)",
		       d->name, e->mount_point,
		       d->shared ? "cannot be taken in a shared group" : "are not mapped");
		return;
	}
	d->fs_uid = (uid_t) uid;
	d->fs_gid = (gid_t) gid;
	atomic_store_explicit(&d->fs_ids, true, memory_order_release);
	fg_log(fg, LOG_INFO, "%s: reads and scans as uid %lld gid %lld (the mounter's)", d->name,
	       uid, gid);
}

/* Marks connection id's filesystem through the first process whose mount
 * namespace shows it. 0 (marked), 1 (no process shows it: not ours to
 * cover, e.g. a detached mount still open), -errno (reported uncovered). */
static int cover(struct fanguard *fg, unsigned id, const char *how, uint64_t *ret_uncovered)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct dirent *de;
	struct stat self;
	ino_t seen[64];
	size_t n_seen = 0;

	if (!proc)
		return -errno;
	if (stat("/proc/self/ns/mnt", &self) < 0)
		return -errno;
	while ((de = readdir(proc))) {
		char p[sizeof("/proc//mountinfo") + 256], path[PATH_MAX];
		struct mount_table *t = NULL;
		const struct mount_entry *e = NULL;
		enum fanguard_mount_class cls;
		_cleanup_close_ int fd = -EBADF;
		struct fg_watch *w;
		struct domain *d = NULL;
		struct stat ns;
		uint64_t unique = 0;
		bool dup = false;
		int r;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/ns/mnt", de->d_name);
		if (stat(p, &ns) < 0 || ns.st_ino == self.st_ino)
			continue;
		for (size_t i = 0; i < n_seen && !dup; i++)
			dup = seen[i] == ns.st_ino;
		if (dup)
			continue;
		if (n_seen < ELEMENTSOF(seen))
			seen[n_seen++] = ns.st_ino;
		snprintf(p, sizeof(p), "/proc/%s/mountinfo", de->d_name);
		if (mount_table_load(p, &t) < 0)
			continue;
		mount_table_classify(t);
		for (size_t i = 0; i < t->n_entries && !e; i++)
			if (t->entries[i].major == 0 && t->entries[i].minor == id &&
			    t->entries[i].class == MOUNT_CLASS_FUSE)
				e = &t->entries[i];
		if (!e || domain_class_of(e->class, &cls) < 0 ||
		    snprintf(path, sizeof(path), "/proc/%s/root%s", de->d_name,
			     strcmp(e->mount_point, "/") == 0 ? "" : e->mount_point) >=
			    (int) sizeof(path)) {
			mount_table_free(t);
			continue;
		}
		r = open_mount_with_deadline(
			path, e->mnt_id,
			deadline_after((usec_t) fg->cls[cls].deadline_ms * USEC_PER_MSEC), &fd,
			&unique);
		if (r == 0) {
			w = watch_record_new(path, e, cls, FANGUARD_WATCH_FILESYSTEM);
			long long kuid = super_opt(e, "user_id=");

			kuid = kuid < 0 ? -1
					: map_out(de->d_name, "uid_map", (unsigned long long) kuid);
			if (w) {
				/* The mounter as this host knows them (thread shares
				 * are per owner), not as their namespace does. */
				w->owner = kuid < 0 ? (uid_t) 65534 : (uid_t) kuid;
				w->unique = unique;
				w->foreign = true;
			}
			r = watch_place(fg, fd, cls, e->mnt_id, e->major, e->minor,
					w ? w->owner : 0, registry_depth_of(e->class), w,
					FANGUARD_WATCH_FILESYSTEM, &d, NULL);
			if (r >= 0 && w)
				watch_record_commit(fg, w);
			if (r >= 0 && d) {
				give_fs_ids(fg, d, de->d_name, e);
				domain_unref(d);
			}
		}
		if (r == 0) {
			coverage_report_covered(fg, e->mnt_id);
			fg_log(fg, LOG_NOTICE,
			       "FUSE connection %u in the mount namespace of pid %s ('%s', %s): "
			       "filesystem marked through '%s' (found %s)",
			       id, de->d_name, e->mount_point, e->fstype, path, how);
		} else if (r != -ESHUTDOWN) {
			*ret_uncovered = e->mnt_id;
			coverage_report_uncovered(fg, e->mnt_id, path,
						  r == -EACCES || r == -EPERM
							  ? UNCOVERED_NAMESPACE
							  : uncovered_cause_of_errno(r),
						  r);
		}
		mount_table_free(t);
		return r;
	}
	return 1;
}

/* Keeps every record but those of FUSE connection *id (another
 * namespace's mounts, recorded by connection). */
static bool not_of_connection(const struct fg_watch *w, const void *id)
{
	return !w->foreign || w->dev_major != 0 || w->dev_minor != *(const unsigned *) id;
}

/* Connection id went away: its records, and its group if nobody else's. */
static void forget(struct fanguard *fg, unsigned id)
{
	struct fg_watch *gone = watch_records_take(fg, not_of_connection, &id);

	for (struct fg_watch *w = gone; w; w = w->next)
		fg_log(fg, LOG_NOTICE, "FUSE connection %u ('%s') is gone", id, w->mount_point);
	watch_records_release(fg, gone);
}

/* Subscribes to mount events of every mount namespace a process here is
 * in (but ours: the mount watcher's), so that a FUSE mount made in one of
 * them later wakes the poller at once. No event announces a new
 * namespace: one made since the last poll is found by this walk, and a
 * FUSE mount made in it before then by the poll. */
static void subscribe_namespaces(struct fanguard *fg, struct fusens *fs)
{
	_cleanup_closedir_ DIR *proc = NULL;
	struct dirent *de;
	struct stat self;
	size_t k = 0;

	if (fs->ev_fd < 0 || stat("/proc/self/ns/mnt", &self) < 0)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	for (size_t i = 0; i < fs->n_ns; i++)
		fs->ns[i].seen = false;
	while ((de = readdir(proc))) {
		char p[sizeof("/proc//ns/mnt") + 256];
		struct stat ns;
		bool known = false;
		int r;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/ns/mnt", de->d_name);
		if (stat(p, &ns) < 0 || ns.st_ino == self.st_ino)
			continue;
		for (size_t i = 0; i < fs->n_ns && !known; i++)
			if (fs->ns[i].ino == ns.st_ino)
				known = fs->ns[i].seen = true;
		if (known)
			continue;
		if (fs->n_ns >= NS_MARKS_MAX) {
			if (!fs->ns_full_logged)
				fg_log(fg, LOG_WARNING,
				       "more than %d other mount namespaces: FUSE mounts in the "
				       "rest are found by the poll only",
				       NS_MARKS_MAX);
			fs->ns_full_logged = true;
			continue;
		}
		r = mount_events_watch_ns(fs->ev_fd, p);
		if (r < 0) {
			fg_log(fg, LOG_DEBUG, "mount events of the namespace of pid %s: %s",
			       de->d_name, strerror(-r));
			continue; /* gone meanwhile, or refused: the poll finds it */
		}
		fs->ns[fs->n_ns++] = (struct ns_mark){.ino = ns.st_ino, .seen = true};
		fg_log(fg, LOG_DEBUG, "mount events of the namespace of pid %s: subscribed",
		       de->d_name);
	}
	/* A namespace no process is in is gone, and its mark with it (an
	 * inode number seen again is a new namespace: marked again). */
	for (size_t i = 0; i < fs->n_ns; i++)
		if (fs->ns[i].seen)
			fs->ns[k++] = fs->ns[i];
	fs->n_ns = k;
}

/* True if a connection seen is not covered yet (tried again later). */
static bool poll_once(struct fanguard *fg, struct fusens *fs, const char *how)
{
	bool pending = false;

	_cleanup_closedir_ DIR *d = opendir(FUSE_CONNECTIONS);
	struct dirent *de;
	size_t k = 0;
	int r;

	if (!d)
		return false;
	for (size_t i = 0; i < fs->n; i++)
		fs->v[i].present = false;
	while ((de = readdir(d))) {
		struct fusens_conn *c;
		char *end;
		unsigned long id;

		errno = 0;
		id = strtoul(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || errno || id > UINT_MAX)
			continue;
		c = conn_find(fs, (unsigned) id);
		if (!c) {
			struct fusens_conn *n = realloc(fs->v, (fs->n + 1) * sizeof(*n));

			if (!n)
				continue;
			fs->v = n;
			c = &fs->v[fs->n++];
			*c = (struct fusens_conn){.id = (unsigned) id};
		}
		c->present = true;
		if (c->covered)
			continue;
		if (own_namespace_has(c->id)) {
			c->covered = true; /* the watches' and trees' to mark */
			continue;
		}
		r = cover(fg, c->id, how, &c->uncovered);
		if (r == 0) {
			c->covered = true;
			c->uncovered = 0;
		} else if (r == 1 && ++c->tries >= NOT_SHOWN_TRIES) {
			/* A connection is listed before its mount is attached:
			 * tried for a while; then a detached mount's, whose
			 * files only fds still open reach. */
			c->covered = true;
			fg_log(fg, LOG_NOTICE,
			       "FUSE connection %u: no process shows a mount of it; not watched",
			       c->id);
		}
		pending = pending || !c->covered;
	}
	for (size_t i = 0; i < fs->n; i++) {
		if (fs->v[i].present)
			fs->v[k++] = fs->v[i];
		else {
			if (fs->v[i].uncovered)
				coverage_forget(fg, fs->v[i].uncovered);
			forget(fg, fs->v[i].id);
		}
	}
	fs->n = k;
	return pending;
}

static void *fusens_main(void *userdata)
{
	struct fanguard *fg = userdata;
	struct fusens *fs = fg->fusens;
	int ms = (int) fg->opts.watch_all_fuse_ms;

	const char *how = "by the poll";
	unsigned retries = 0;
	bool first = true;
	int r;

	if (!fs->ns) {
		fs->ns = calloc(NS_MARKS_MAX, sizeof(*fs->ns));
		fs->ev_fd = fs->ns ? mount_events_new() : -ENOMEM;
	}
	fg_log(fg, LOG_INFO,
	       "watching every FUSE filesystem in every mount namespace: " FUSE_CONNECTIONS
	       " polled every %d ms%s",
	       ms,
	       fs->ev_fd >= 0 ? ", and at once on a mount event in a namespace known by then"
			      : " (no mount events from this kernel)");
	do {
		short rev = 0;
		bool pending;

		subscribe_namespaces(fg, fs);
		pending = poll_once(fg, fs, how);
		/* Groups handed over for FUSE mounts of other namespaces
		 * waited for this poll; the ones it did not claim close now. */
		if (first) {
			handover_first_pass_done(fg, &fs->first_pass_armed);
			first = false;
		}
		/* Right after a mount event a new FUSE mount may not take a mark
		 * yet (its daemon still starting: EOVERFLOW seen here): looked
		 * at again every RETRY_MS for a while, not only at the poll. */
		if (!pending || strcmp(how, "by the poll") == 0)
			retries = 0;
		else
			retries++;
		r = fg_bg_thread_wait(
			&fs->bt, fs->ev_fd, POLLIN,
			retries > 0 && retries <= RETRIES && RETRY_MS < ms ? RETRY_MS : ms, &rev);
		if (r == 0 && retries > 0 && retries <= RETRIES)
			continue; /* "how" stays: the event found it */
		how = "by the poll";
		if (r == 1) {
			struct mount_events_batch *b = malloc(sizeof(*b));

			/* Which mount does not matter: the connections tell. */
			if (b)
				fg_log(fg, LOG_DEBUG, "%u mount event(s) in other namespaces",
				       mount_events_drain(fs->ev_fd, b));
			free(b);
			how = "after a mount event in its namespace";
		}
	} while (r >= 0);
	return NULL;
}

int fusens_start(struct fanguard *fg)
{
	if (fg->opts.watch_all_fuse_ms == 0)
		return 0;
	if (!fg->fusens) {
		fg->fusens = calloc(1, sizeof(*fg->fusens));
		if (!fg->fusens)
			return -ENOMEM;
		fg->fusens->ev_fd = -EBADF;
	}
	return fg_bg_thread_start(&fg->fusens->bt, "fg-fusens", fusens_main, fg);
}

unsigned fusens_arm_first_pass_locked(struct fanguard *fg)
{
	if (!fg->fusens || !fg->fusens->bt.running)
		return 0;
	fg->fusens->first_pass_armed = true;
	return 1;
}

void fusens_stop(struct fanguard *fg)
{
	if (fg->fusens)
		fg_bg_thread_stop(&fg->fusens->bt);
}

void fusens_free(struct fanguard *fg)
{
	struct fusens *fs = fg->fusens;

	if (!fs)
		return;
	fg_bg_thread_done(&fs->bt);
	if (fs->ev_fd >= 0)
		safe_close(fs->ev_fd);
	free(fs->ns);
	free(fs->v);
	free(fs);
	fg->fusens = NULL;
}
