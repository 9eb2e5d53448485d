/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pre-warm pass (fanguard_prewarm()): one background thread walks the
 * configured directories and scans their regular files through the same
 * scanners as a permission event; a clean file gets the cache's ignore mark
 * (cache_keep_clean(), with the same race checks as after an event) and
 * goes into the verdict store, so its first open after a start raises no
 * event at all.
 *
 * Must never: follow a symlink or resolve a path again below a configured
 * root (openat/fdopendir relative to directory fds, O_NOFOLLOW), leave the
 * root's mount, touch a file the cache would not keep (cache_fs_kept():
 * never FUSE, network, overlayfs or ecryptfs), deny, quarantine or answer
 * anything (a dirty file is only counted), add marks beyond the cache's
 * budget (max_cache_marks: the pass stops marking, never evicts), log per
 * file, or run on a reader or worker. It runs at IOPRIO_CLASS_IDLE and nice
 * 19, and yields between files. Our own opens of files in watched
 * filesystems raise permission events like anyone's: the readers answer
 * events of our pid at receipt (reason self).
 *
 * Stopping: fanguard_stop() (and a new pass) ask the thread to stop; it
 * checks between entries, so a stop waits at most for one file's scan,
 * bounded by the local class's deadline. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>
#include "cache-internal.h"
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "prewarm-internal.h"
#include "scan-internal.h"
#include "watch-internal.h"

/* linux/ioprio.h (not in every libc's headers) */
#define FG_IOPRIO_WHO_PROCESS 1
#define FG_IOPRIO_CLASS_IDLE 3
#define FG_IOPRIO_CLASS_SHIFT 13

#define PREWARM_MAX_PATHS 256
#define PREWARM_MAX_DEPTH 64
#define PREWARM_BUF_SIZE (256 * 1024)
#define PREWARM_NICE 19

/* One pass's working state, on the thread's stack. */
struct walk {
	struct fanguard *fg;
	struct fg_prewarm *pw;
	struct domain *local; /* a reference: where the marks go */
	struct domain *sd;    /* the scans' stand-in (counts their bytes) */
	uint8_t *buf;
	uint64_t root_mnt_id;
	long f_type;
	bool budget_full; /* sticky: the rest of the pass only counts */
};

static const char *const state_names[_PREWARM_STATE_MAX] = {
	[PREWARM_OFF] = "off",
	[PREWARM_RUNNING] = "running",
	[PREWARM_DONE] = "done",
	[PREWARM_STOPPED] = "stopped",
};

static const char *const skip_names[_PREWARM_SKIP_MAX] = {
	[PREWARM_SKIP_NOT_REGULAR] = "not-regular", [PREWARM_SKIP_TOO_LARGE] = "too-large",
	[PREWARM_SKIP_OTHER_FS] = "other-fs",	    [PREWARM_SKIP_BUDGET] = "budget",
	[PREWARM_SKIP_CHANGED] = "changed",	    [PREWARM_SKIP_ERROR] = "error",
};

const char *prewarm_state_to_string(int state)
{
	return state >= 0 && state < _PREWARM_STATE_MAX ? state_names[state] : "?";
}

const char *prewarm_skip_to_string(int skip)
{
	return skip >= 0 && skip < _PREWARM_SKIP_MAX ? skip_names[skip] : "?";
}

enum prewarm_step prewarm_step_for(const struct statx *stx, uint64_t root_mnt_id,
				   uint64_t max_scan_bytes, enum prewarm_skip *ret_skip)
{
	const unsigned need = STATX_TYPE | STATX_SIZE | STATX_MNT_ID;

	if ((stx->stx_mask & need) != need) {
		*ret_skip = PREWARM_SKIP_ERROR;
		return PREWARM_STEP_SKIP;
	}
	/* A mount point (or a file bind-mounted over one): never crossed. */
	if (stx->stx_mnt_id != root_mnt_id) {
		*ret_skip = PREWARM_SKIP_OTHER_FS;
		return PREWARM_STEP_SKIP;
	}
	if (S_ISDIR(stx->stx_mode))
		return PREWARM_STEP_DESCEND;
	if (!S_ISREG(stx->stx_mode)) {
		*ret_skip = PREWARM_SKIP_NOT_REGULAR;
		return PREWARM_STEP_SKIP;
	}
	if (stx->stx_size > max_scan_bytes) {
		*ret_skip = PREWARM_SKIP_TOO_LARGE;
		return PREWARM_STEP_SKIP;
	}
	return PREWARM_STEP_SCAN;
}

void prewarm_init(struct fg_prewarm *pw)
{
	pthread_mutex_init(&pw->lock, NULL);
}

static void paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

void prewarm_done(struct fg_prewarm *pw)
{
	paths_free(pw->paths, pw->n_paths);
	pw->paths = NULL;
	pw->n_paths = 0;
	fg_bg_thread_done(&pw->thread);
	pthread_mutex_destroy(&pw->lock);
}

usec_t prewarm_elapsed(const struct fg_prewarm *pw)
{
	usec_t start = atomic_load(&pw->started_usec), end = atomic_load(&pw->ended_usec);

	if (!start)
		return 0;
	if (!end)
		end = now_usec();
	return end > start ? end - start : 0;
}

static void count_skip(struct walk *w, enum prewarm_skip why)
{
	stat_inc(&w->pw->skipped[why]);
}

static bool stopping(const struct walk *w)
{
	return atomic_load(&w->pw->thread.stopping);
}

static void budget_reached(struct walk *w)
{
	if (w->budget_full)
		return;
	w->budget_full = true;
	fg_log(w->fg, LOG_NOTICE,
	       "Pre-warm: the cache is full (%u marks): the rest of the pass adds none",
	       w->fg->opts.max_cache_marks);
}

/* Opens name (a regular file by its statx a moment ago) below dirfd for
 * reading: never following a symlink, never waiting (a FIFO swapped in),
 * without touching its atime where we may. */
static int open_file(int dirfd, const char *name)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	int fd = openat(dirfd, name, flags | O_NOATIME);

	/* O_NOATIME needs ownership or CAP_FOWNER. */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd < 0 ? -errno : fd;
}

/* Scans one regular file of the walk and caches it if clean. */
static void warm_file(struct walk *w, int dirfd, const char *name)
{
	struct fanguard *fg = w->fg;
	_cleanup_close_ int fd = -EBADF;
	enum prewarm_skip why = PREWARM_SKIP_ERROR;
	struct fg_change_attrs attrs;
	enum prewarm_step step;
	struct scan_result res;
	struct fg_event ev;
	struct statx stx;
	usec_t received;
	uint64_t gen;

	if (w->budget_full || atomic_load(&fg->cache.held) >= (uint64_t) fg->opts.max_cache_marks) {
		budget_reached(w);
		count_skip(w, PREWARM_SKIP_BUDGET);
		return;
	}
	fd = open_file(dirfd, name);
	if (fd < 0) {
		count_skip(w, fd == -ELOOP ? PREWARM_SKIP_NOT_REGULAR : PREWARM_SKIP_ERROR);
		return;
	}
	/* The file we opened, before anything is read: the name may have been
	 * replaced since the walk looked. */
	received = now_usec();
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, FG_CHANGE_ATTRS_MASK | STATX_MNT_ID,
		  &stx) < 0) {
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	step = prewarm_step_for(&stx, w->root_mnt_id, fg->opts.max_scan_bytes, &why);
	if (step != PREWARM_STEP_SCAN) {
		count_skip(w, step == PREWARM_STEP_DESCEND ? PREWARM_SKIP_NOT_REGULAR : why);
		return;
	}
	if ((stx.stx_mask & FG_CHANGE_ATTRS_MASK) != FG_CHANGE_ATTRS_MASK) {
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	cache_attrs_from_statx(&stx, &attrs);
	gen = cache_gen(fg); /* before the scan looks at the denylist */
	event_init(&ev, fd, fg->self_pid, FAN_OPEN_PERM, received);
	ev.deadline_usec = received + w->local->deadline;
	ev.size = stx.stx_size;
	scan_event(w->sd, &ev, w->buf, PREWARM_BUF_SIZE, false, &res);
	if (res.reason == FANGUARD_REASON_SCANNED && res.verdict == FANGUARD_DENY) {
		/* Never acted on here: its next open is scanned, and denied. */
		stat_inc(&w->pw->dirty);
		return;
	}
	if (res.reason != FANGUARD_REASON_SCANNED || res.no_cache) {
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	switch (cache_keep_clean(w->local, &(const struct cache_clean){
						   .fd = fd,
						   .attrs = &attrs,
						   .gen = gen,
						   .f_type = w->f_type,
						   .received_usec = received,
						   .keep_budget = true,
					   })) {
	case CACHE_KEPT:
		stat_inc(&w->pw->cached);
		break;
	case CACHE_BUDGET:
		budget_reached(w);
		count_skip(w, PREWARM_SKIP_BUDGET);
		break;
	case CACHE_CHANGED:
		count_skip(w, PREWARM_SKIP_CHANGED);
		break;
	case CACHE_NOT_KEPT:
		count_skip(w, PREWARM_SKIP_OTHER_FS);
		break;
	case CACHE_FAILED:
	default:
		count_skip(w, PREWARM_SKIP_ERROR);
		break;
	}
}

/* Depth first below the directory open at dirfd (taken). */
static void walk_dir(struct walk *w, int dirfd, unsigned depth)
{
	struct dirent *de;
	DIR *dir;

	dir = fdopendir(dirfd);
	if (!dir) {
		safe_close(dirfd);
		stat_inc(&w->pw->seen);
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	while (!stopping(w) && (de = readdir(dir))) {
		enum prewarm_skip why = PREWARM_SKIP_ERROR;
		struct statx stx;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Without syncing: a mount point's root on FUSE answers from
		 * its cached attributes, never waiting on its daemon. */
		if (statx(dirfd, de->d_name,
			  AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC,
			  STATX_TYPE | STATX_SIZE | STATX_MNT_ID, &stx) < 0)
			stx.stx_mask = 0;
		switch (prewarm_step_for(&stx, w->root_mnt_id, w->fg->opts.max_scan_bytes, &why)) {
		case PREWARM_STEP_DESCEND:
			if (depth + 1 >= PREWARM_MAX_DEPTH) {
				stat_inc(&w->pw->seen);
				count_skip(w, PREWARM_SKIP_ERROR);
				break;
			}
			fd = openat(dirfd, de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				stat_inc(&w->pw->seen);
				count_skip(w, PREWARM_SKIP_ERROR);
				break;
			}
			/* The directory we opened: still of our mount. */
			if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) <
				    0 ||
			    stx.stx_mnt_id != w->root_mnt_id) {
				safe_close(fd);
				stat_inc(&w->pw->seen);
				count_skip(w, PREWARM_SKIP_OTHER_FS);
				break;
			}
			walk_dir(w, fd, depth + 1);
			break;
		case PREWARM_STEP_SCAN:
			stat_inc(&w->pw->seen);
			warm_file(w, dirfd, de->d_name);
			/* Never starve the permission path (we are at nice 19
			 * already; this lets any runnable reader go first). */
			(void) sched_yield();
			break;
		case PREWARM_STEP_SKIP:
			stat_inc(&w->pw->seen);
			count_skip(w, why);
			break;
		}
	}
	closedir(dir);
}

/* Whether the local group caches files of the mount mnt_id (device
 * major:minor): a watch of the local domain marks it (its filesystem or
 * that mount). */
static bool local_covers(struct fanguard *fg, struct domain *local, uint64_t mnt_id, unsigned major,
			 unsigned minor)
{
	bool yes = false;

	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch *w = fg->watches; w && !yes; w = w->next)
		yes = w->d == local &&
		      (w->mnt_id == mnt_id || (!(w->flags & FANGUARD_WATCH_MOUNT) &&
					       w->dev_major == major && w->dev_minor == minor));
	pthread_mutex_unlock(&fg->lock);
	return yes;
}

static void warm_root(struct walk *w, const char *path)
{
	struct fanguard *fg = w->fg;
	struct statfs sfs;
	struct statx stx;
	int fd;

	/* The configured path itself is resolved once, as given (the
	 * administrator's); nothing below it is. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fg_log(fg, LOG_WARNING, "Pre-warm: cannot open '%s', skipped: %m", path);
		stat_inc(&w->pw->seen);
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID) || fstatfs(fd, &sfs) < 0) {
		fg_log(fg, LOG_WARNING, "Pre-warm: cannot stat '%s', skipped: %m", path);
		safe_close(fd);
		stat_inc(&w->pw->seen);
		count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	if (!cache_fs_kept(w->local, sfs.f_type) ||
	    !local_covers(fg, w->local, stx.stx_mnt_id, stx.stx_dev_major, stx.stx_dev_minor)) {
		fg_log(fg, LOG_NOTICE,
		       "Pre-warm: '%s' is not on a watched local filesystem the cache keeps, "
		       "skipped",
		       path);
		safe_close(fd);
		stat_inc(&w->pw->seen);
		count_skip(w, PREWARM_SKIP_OTHER_FS);
		return;
	}
	w->root_mnt_id = stx.stx_mnt_id;
	w->f_type = sfs.f_type;
	walk_dir(w, fd, 0);
}

/* The local domain, a new reference; NULL if there is none. */
static struct domain *local_domain(struct fanguard *fg)
{
	struct domain *found = NULL;

	pthread_mutex_lock(&fg->lock);
	for (struct domain *d = fg->domains; d && !found; d = d->next)
		if (d->cls == FANGUARD_MOUNT_LOCAL && !d->released)
			found = d;
	if (found)
		domain_ref(found);
	pthread_mutex_unlock(&fg->lock);
	return found;
}

/* Lower our own thread's priorities: CPU (nice) and I/O (idle class: served
 * only when no one else uses the disk). Both are per thread on Linux. */
static void lower_priority(struct fanguard *fg)
{
	if (setpriority(PRIO_PROCESS, 0, PREWARM_NICE) < 0)
		fg_log(fg, LOG_DEBUG, "Pre-warm: setpriority() failed, ignoring: %m");
	if (syscall(SYS_ioprio_set, FG_IOPRIO_WHO_PROCESS, 0,
		    FG_IOPRIO_CLASS_IDLE << FG_IOPRIO_CLASS_SHIFT) < 0)
		fg_log(fg, LOG_DEBUG, "Pre-warm: ioprio_set() failed, ignoring: %m");
}

static void *prewarm_main(void *userdata)
{
	struct fanguard *fg = userdata;
	struct fg_prewarm *pw = &fg->prewarm;
	struct walk w = {.fg = fg, .pw = pw};
	uint64_t skipped = 0;

	lower_priority(fg);
	fg_log(fg, LOG_INFO, "Pre-warm: started over %zu paths", pw->n_paths);
	w.local = local_domain(fg);
	w.buf = malloc(PREWARM_BUF_SIZE);
	w.sd = calloc(1, sizeof(*w.sd));
	if (!w.local || !w.buf || !w.sd) {
		fg_log(fg, LOG_WARNING, "Pre-warm: %s, not run",
		       w.local ? "out of memory" : "no local filesystem is watched");
		for (size_t i = 0; i < pw->n_paths; i++) {
			stat_inc(&pw->seen);
			count_skip(&w, w.local ? PREWARM_SKIP_ERROR : PREWARM_SKIP_OTHER_FS);
		}
	} else {
		/* A stand-in like fanguard_scan_fd()'s: the scanners read its
		 * class and count the bytes they read into its stats. */
		w.sd->fg = fg;
		w.sd->cls = FANGUARD_MOUNT_LOCAL;
		w.sd->default_verdict = FANGUARD_ALLOW;
		(void) snprintf(w.sd->name, sizeof(w.sd->name), "prewarm");
		for (size_t i = 0; i < pw->n_paths && !stopping(&w); i++)
			warm_root(&w, pw->paths[i]);
		pthread_mutex_lock(&fg->lock);
		domain_stats_add(&fg->retired, &w.sd->stats);
		pthread_mutex_unlock(&fg->lock);
	}
	free(w.sd);
	free(w.buf);
	if (w.local)
		domain_unref(w.local);

	atomic_store(&pw->ended_usec, now_usec());
	atomic_store(&pw->state, stopping(&w) ? PREWARM_STOPPED : PREWARM_DONE);
	for (int i = 0; i < _PREWARM_SKIP_MAX; i++)
		skipped += atomic_load(&pw->skipped[i]);
	fg_log(fg, LOG_INFO,
	       "Pre-warm: %s: %llu files seen, %llu cached, %llu dirty, %llu skipped "
	       "(%llu over the cache's budget), %.1f s",
	       stopping(&w) ? "stopped" : "done", (unsigned long long) atomic_load(&pw->seen),
	       (unsigned long long) atomic_load(&pw->cached),
	       (unsigned long long) atomic_load(&pw->dirty), (unsigned long long) skipped,
	       (unsigned long long) atomic_load(&pw->skipped[PREWARM_SKIP_BUDGET]),
	       (double) prewarm_elapsed(pw) / USEC_PER_SEC);
	return NULL;
}

/* Called with pw->lock held: ends a running (or finished) pass's thread. */
static void pass_stop_locked(struct fg_prewarm *pw)
{
	fg_bg_thread_stop(&pw->thread);
}

void prewarm_stop(struct fanguard *fg)
{
	/* After fg->stopped is set: no new pass starts once we hold the lock. */
	pthread_mutex_lock(&fg->prewarm.lock);
	pass_stop_locked(&fg->prewarm);
	pthread_mutex_unlock(&fg->prewarm.lock);
}

static int paths_copy(const char *const *paths, size_t n, char ***ret)
{
	char **c;

	for (size_t i = 0; i < n; i++)
		if (!paths[i] || paths[i][0] != '/')
			return -EINVAL;
	c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = strdup(paths[i]))) {
			paths_free(c, i);
			return -ENOMEM;
		}
	*ret = c;
	return 0;
}

int fanguard_prewarm(struct fanguard *fg, const char *const *paths, size_t n)
{
	struct fg_prewarm *pw;
	char **copy = NULL;
	bool started, stopped;
	int r;

	if (!fg || (n > 0 && !paths))
		return -EINVAL;
	if (n > PREWARM_MAX_PATHS)
		return -E2BIG;
	r = paths_copy(paths, n, &copy);
	if (r < 0)
		return r;
	pw = &fg->prewarm;
	pthread_mutex_lock(&pw->lock);
	pthread_mutex_lock(&fg->lock);
	started = fg->started;
	stopped = fg->stopped;
	pthread_mutex_unlock(&fg->lock);
	if (stopped || !started) {
		pthread_mutex_unlock(&pw->lock);
		paths_free(copy, n);
		return stopped ? -ESHUTDOWN : -EAGAIN;
	}
	pass_stop_locked(pw);
	paths_free(pw->paths, pw->n_paths);
	pw->paths = copy;
	pw->n_paths = n;
	atomic_store(&pw->seen, 0);
	atomic_store(&pw->cached, 0);
	atomic_store(&pw->dirty, 0);
	for (int i = 0; i < _PREWARM_SKIP_MAX; i++)
		atomic_store(&pw->skipped[i], 0);
	atomic_store(&pw->ended_usec, 0);
	atomic_store(&pw->started_usec, n ? now_usec() : 0);
	atomic_store(&pw->state, n ? PREWARM_RUNNING : PREWARM_OFF);
	r = 0;
	if (n > 0) {
		r = fg_bg_thread_start(&pw->thread, "fg-prewarm", prewarm_main, fg);
		if (r < 0) {
			atomic_store(&pw->state, PREWARM_OFF);
			atomic_store(&pw->started_usec, 0);
		}
	}
	pthread_mutex_unlock(&pw->lock);
	return r;
}
