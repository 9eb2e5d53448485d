/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pre-warm pass's walk (prewarm.c runs it): depth first below one
 * configured directory, every entry looked at relative to its directory's
 * fd, and each regular file scanned as a permission event for its open
 * would be, then cached through cache_keep_clean() if clean.
 *
 * Must never: follow a symlink or resolve a path again below the
 * configured root (openat/fdopendir relative to directory fds,
 * O_NOFOLLOW), open a FIFO, socket or device, leave the root's mount, touch
 * a file the cache would not keep (cache_fs_kept(): never FUSE, network,
 * overlayfs or ecryptfs), deny, quarantine or answer anything (a dirty file
 * is only counted), add marks beyond the cache's budget (max_cache_marks:
 * the pass stops marking, never evicts), or log per file. Our own opens of
 * files in watched filesystems raise permission events like anyone's: the
 * readers answer events of our pid at receipt (reason self). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/fanotify.h>
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

#define PREWARM_MAX_DEPTH 64

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

/* A file already counted as seen, skipped. */
static void prewarm_count_skip(struct prewarm_walk *w, enum prewarm_skip why)
{
	stat_inc(&w->pw->skipped[why]);
}

void prewarm_skip_entry(struct prewarm_walk *w, enum prewarm_skip why)
{
	stat_inc(&w->pw->seen);
	prewarm_count_skip(w, why);
}

bool prewarm_walk_stopping(const struct prewarm_walk *w)
{
	return atomic_load(&w->pw->thread.stopping);
}

static void budget_reached(struct prewarm_walk *w)
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
static void warm_file(struct prewarm_walk *w, int dirfd, const char *name)
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
		prewarm_count_skip(w, PREWARM_SKIP_BUDGET);
		return;
	}
	fd = open_file(dirfd, name);
	if (fd < 0) {
		prewarm_count_skip(w, fd == -ELOOP ? PREWARM_SKIP_NOT_REGULAR : PREWARM_SKIP_ERROR);
		return;
	}
	/* The file we opened, before anything is read: the name may have been
	 * replaced since the walk looked. */
	received = now_usec();
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, FG_CHANGE_ATTRS_MASK | STATX_MNT_ID,
		  &stx) < 0) {
		prewarm_count_skip(w, PREWARM_SKIP_ERROR);
		return;
	}
	step = prewarm_step_for(&stx, w->root_mnt_id, fg->opts.max_scan_bytes, &why);
	if (step != PREWARM_STEP_SCAN) {
		prewarm_count_skip(w,
				   step == PREWARM_STEP_DESCEND ? PREWARM_SKIP_NOT_REGULAR : why);
		return;
	}
	if ((stx.stx_mask & FG_CHANGE_ATTRS_MASK) != FG_CHANGE_ATTRS_MASK) {
		prewarm_count_skip(w, PREWARM_SKIP_ERROR);
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
		prewarm_count_skip(w, PREWARM_SKIP_ERROR);
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
		prewarm_count_skip(w, PREWARM_SKIP_BUDGET);
		break;
	case CACHE_CHANGED:
		prewarm_count_skip(w, PREWARM_SKIP_CHANGED);
		break;
	case CACHE_NOT_KEPT:
		prewarm_count_skip(w, PREWARM_SKIP_OTHER_FS);
		break;
	case CACHE_FAILED:
	default:
		prewarm_count_skip(w, PREWARM_SKIP_ERROR);
		break;
	}
}

/* Depth first below the directory open at dirfd (taken). */
static void walk_dir(struct prewarm_walk *w, int dirfd, unsigned depth)
{
	struct dirent *de;
	DIR *dir;

	dir = fdopendir(dirfd);
	if (!dir) {
		safe_close(dirfd);
		prewarm_skip_entry(w, PREWARM_SKIP_ERROR);
		return;
	}
	while (!prewarm_walk_stopping(w) && (de = readdir(dir))) {
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
				prewarm_skip_entry(w, PREWARM_SKIP_ERROR);
				break;
			}
			fd = openat(dirfd, de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				prewarm_skip_entry(w, PREWARM_SKIP_ERROR);
				break;
			}
			/* The directory we opened: still of our mount. */
			if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) <
				    0 ||
			    stx.stx_mnt_id != w->root_mnt_id) {
				safe_close(fd);
				prewarm_skip_entry(w, PREWARM_SKIP_OTHER_FS);
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
			prewarm_skip_entry(w, why);
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

void prewarm_walk_root(struct prewarm_walk *w, const char *path)
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
		prewarm_skip_entry(w, PREWARM_SKIP_ERROR);
		return;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID) || fstatfs(fd, &sfs) < 0) {
		fg_log(fg, LOG_WARNING, "Pre-warm: cannot stat '%s', skipped: %m", path);
		safe_close(fd);
		prewarm_skip_entry(w, PREWARM_SKIP_ERROR);
		return;
	}
	if (!cache_fs_kept(w->local, sfs.f_type) ||
	    !local_covers(fg, w->local, stx.stx_mnt_id, stx.stx_dev_major, stx.stx_dev_minor)) {
		fg_log(fg, LOG_NOTICE,
		       "Pre-warm: '%s' is not on a watched local filesystem the cache keeps, "
		       "skipped",
		       path);
		safe_close(fd);
		prewarm_skip_entry(w, PREWARM_SKIP_OTHER_FS);
		return;
	}
	w->root_mnt_id = stx.stx_mnt_id;
	w->f_type = sfs.f_type;
	walk_dir(w, fd, 0);
}
