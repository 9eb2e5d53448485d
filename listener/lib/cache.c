/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verdict cache: a clean verdict on a local filesystem becomes an
 * in-kernel ignore mark on the file's inode, so the next opens of the
 * unchanged file raise no event at all.
 *
 * Kernel facts this relies on (fs/notify/fanotify/fanotify_user.c, probed
 * on 6.18 by tests/integration/cache-invalidate.sh):
 *   - an ignore mark without FAN_MARK_IGNORED_SURV_MODIFY is cleared by the
 *     next FS_MODIFY on the inode: write(), truncate, copy_file_range...;
 *   - it is silently not added (fanotify_mark() returns 0) while another
 *     task holds the file open for writing (inode_is_open_for_write()), so
 *     a writer that opened before us can never leave a stale mark;
 *   - FAN_MARK_EVICTABLE (5.19): the mark does not pin the inode; when the
 *     inode is evicted the mark goes, and the file is scanned again;
 *   - FAN_MARK_FLUSH without FAN_MARK_MOUNT/FILESYSTEM drops only the
 *     group's inode marks, i.e. exactly these, never our mount marks.
 *   - writes through a shared mapping raise no FS_MODIFY (no fsnotify hook
 *     on page faults; measured: the mark stays and the next open is not
 *     seen), and the writer's own open was ignored. So each cached inode's
 *     mark also asks for FAN_CLOSE_WRITE, which the kernel sends when the
 *     last reference of a file opened for writing goes (a mapping holds
 *     one): the reader then drops the mark. Until that event is read, an
 *     open of a file still mapped for writing, or just closed, is not
 *     scanned; content that changes while mapped is not covered by open
 *     scanning anyway.
 *
 * Never on FUSE or network files: their content can change behind the
 * kernel's back (another client, the daemon's backing store), and no
 * FS_MODIFY would clear the mark. Nor on stacking filesystems in the local
 * domain (overlayfs, ecryptfs): a write to a layer underneath changes what
 * the upper inode shows without an FS_MODIFY on it.
 *
 * Races: a write between the reader's statx (before the scan read
 * anything) and the mark would leave a mark on content we never scanned.
 * The change attributes are checked again after the mark is in place: a
 * write before the mark changed them (statx asked for the ctime, so with
 * multigrain timestamps (6.13) the next change is a distinct ctime), a
 * write after the mark cleared it. On a difference the mark is removed.
 * A denylist change between the scan and the mark is caught by the
 * generation, read before the scan and checked under the cache lock that
 * the flush takes for writing.
 *
 * One marking path, cache_keep_clean(), serves the readers and workers
 * after an answer and the pre-warm pass (prewarm-walk.c), which asks it
 * never to evict at the budget. */
#include <errno.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "answer-internal.h"
#include "cache-internal.h"
#include "domain-state-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"
#include "store-internal.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define ECRYPTFS_SUPER_MAGIC 0xf15f

/* Debian 12's headers (6.1) have these; older ones may not. */
#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif

bool cache_attrs_same(const struct fg_change_attrs *a, const struct fg_change_attrs *b)
{
	return a->ino == b->ino && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->size == b->size && a->mtime_sec == b->mtime_sec &&
	       a->mtime_nsec == b->mtime_nsec && a->ctime_sec == b->ctime_sec &&
	       a->ctime_nsec == b->ctime_nsec;
}

void cache_attrs_from_statx(const struct statx *stx, struct fg_change_attrs *ret)
{
	*ret = (struct fg_change_attrs){
		.ino = stx->stx_ino,
		.dev_major = stx->stx_dev_major,
		.dev_minor = stx->stx_dev_minor,
		.size = stx->stx_size,
		.mtime_sec = stx->stx_mtime.tv_sec,
		.mtime_nsec = stx->stx_mtime.tv_nsec,
		.ctime_sec = stx->stx_ctime.tv_sec,
		.ctime_nsec = stx->stx_ctime.tv_nsec,
	};
}

static int inode_mark(struct domain *d, int fd, unsigned int how, uint64_t mask)
{
	int r = 0;

	pthread_rwlock_rdlock(&d->fan_fd_lock);
	if (d->fan_fd < 0)
		r = -EBADF;
	else
		r = d->ops->mark(d->ops_userdata, d->fan_fd, how, mask, fd, NULL);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	return r;
}

/* Drops the inode's mark: its ignore mask and its FAN_CLOSE_WRITE. */
static void mark_drop(struct domain *d, int fd)
{
	(void) inode_mark(d, fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, fan_mask_for(d->fg));
	(void) inode_mark(d, fd, FAN_MARK_REMOVE, FAN_CLOSE_WRITE);
}

/* At the budget (max_cache_marks): drop this domain's inode marks (only the
 * local domain caches), keep its mount and filesystem marks. */
static void cache_evict(struct domain *d)
{
	struct fanguard *fg = d->fg;

	pthread_rwlock_wrlock(&fg->cache.lock);
	if (atomic_load(&fg->cache.held) >= fg->opts.max_cache_marks) {
		pthread_rwlock_rdlock(&d->fan_fd_lock);
		if (d->fan_fd >= 0)
			(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD,
					    NULL);
		pthread_rwlock_unlock(&d->fan_fd_lock);
		atomic_store(&fg->cache.held, 0);
		atomic_fetch_add_explicit(&fg->cache_marks_evicted, 1, memory_order_relaxed);
	}
	pthread_rwlock_unlock(&fg->cache.lock);
}

void cache_evict_all_locked(struct fanguard *fg)
{
	for (struct domain *d = fg->domains; d; d = d->next) {
		pthread_rwlock_rdlock(&d->fan_fd_lock);
		if (d->fan_fd >= 0 && d->cls == FANGUARD_MOUNT_LOCAL)
			(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD,
					    NULL);
		pthread_rwlock_unlock(&d->fan_fd_lock);
	}
	atomic_store(&fg->cache.held, 0);
	atomic_fetch_add_explicit(&fg->cache_marks_evicted, 1, memory_order_relaxed);
}

bool cache_fs_kept(const struct domain *d, long f_type)
{
	return !d->fg->opts.no_cache && d->cls == FANGUARD_MOUNT_LOCAL &&
	       f_type != OVERLAYFS_SUPER_MAGIC && f_type != ECRYPTFS_SUPER_MAGIC;
}

enum cache_outcome cache_keep_clean(struct domain *d, const struct cache_clean *c)
{
	struct fanguard *fg = d->fg;
	struct fg_change_attrs now;
	struct statfs sfs;
	struct statx stx;
	long f_type = c->f_type;
	int r = -ESTALE;

	if (fg->opts.no_cache || d->cls != FANGUARD_MOUNT_LOCAL)
		return CACHE_NOT_KEPT;
	/* The reader's, per mount (sbinfo.c), else one fstatfs() here. */
	if (!f_type) {
		if (fstatfs(c->fd, &sfs) < 0)
			return CACHE_NOT_KEPT;
		f_type = sfs.f_type;
	}
	if (!cache_fs_kept(d, f_type))
		return CACHE_NOT_KEPT;
	if (c->keep_budget && atomic_load(&fg->cache.held) >= fg->opts.max_cache_marks)
		return CACHE_BUDGET;
	/* Queued before the marks: a FAN_CLOSE_WRITE read once they are in
	 * place queues its delete after this insert. */
	if (fg->store && !c->from_store)
		store_note_clean(fg->store, c->fd, c->attrs, c->gen, c->received_usec);
	if (atomic_load(&fg->cache.held) >= fg->opts.max_cache_marks)
		cache_evict(d);
	pthread_rwlock_rdlock(&fg->cache.lock);
	/* FAN_CLOSE_WRITE first: a writer that maps the file after the
	 * ignore mask is in place must find it there. */
	if (c->gen == cache_gen(fg))
		r = inode_mark(d, c->fd, FAN_MARK_ADD | FAN_MARK_EVICTABLE, FAN_CLOSE_WRITE);
	if (r >= 0)
		r = inode_mark(d, c->fd, FAN_MARK_ADD | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE,
			       fan_mask_for(fg));
	pthread_rwlock_unlock(&fg->cache.lock);
	if (r < 0) {
		if (r != -ESTALE)
			mark_drop(d, c->fd);
		atomic_fetch_add_explicit(&fg->cache.marks_failed, 1, memory_order_relaxed);
		return r == -ESTALE ? CACHE_CHANGED : CACHE_FAILED;
	}
	/* No sync: a local inode's attributes are the truth. */
	if (statx(c->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, FG_CHANGE_ATTRS_MASK, &stx) < 0)
		r = -errno;
	else {
		cache_attrs_from_statx(&stx, &now);
		if (!cache_attrs_same(&now, c->attrs))
			r = -ESTALE;
	}
	if (r < 0) {
		/* Changed since the caller looked: the scan may have read
		 * older content. */
		mark_drop(d, c->fd);
		if (fg->store)
			store_note_changed(fg->store, c->fd);
		atomic_fetch_add_explicit(&fg->cache.marks_revoked, 1, memory_order_relaxed);
		return CACHE_CHANGED;
	}
	atomic_fetch_add_explicit(&fg->cache.marks_added, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fg->cache.held, 1, memory_order_relaxed);
	return CACHE_KEPT;
}

void cache_note_clean(struct domain *d, const struct fg_event *ev, uint64_t gen)
{
	const struct cache_clean c = {
		.fd = ev->fd,
		.attrs = &ev->attrs,
		.gen = gen,
		.f_type = ev->f_type,
		.received_usec = ev->received_usec,
		.from_store = ev->from_store,
	};

	if (ev->attrs_valid)
		(void) cache_keep_clean(d, &c);
}

void cache_note_closed_write(struct domain *d, int fd)
{
	if (d->cls != FANGUARD_MOUNT_LOCAL)
		return;
	mark_drop(d, fd);
	/* Maybe written through a mapping: its ctime may not tell. */
	if (d->fg->store)
		store_note_changed(d->fg->store, fd);
	atomic_fetch_add_explicit(&d->fg->cache.marks_revoked, 1, memory_order_relaxed);
}

void cache_invalidate(struct fanguard *fg)
{
	pthread_rwlock_wrlock(&fg->cache.lock);
	atomic_fetch_add_explicit(&fg->cache.gen, 1, memory_order_acq_rel);
	pthread_mutex_lock(&fg->lock);
	for (struct domain *d = fg->domains; d; d = d->next) {
		pthread_rwlock_rdlock(&d->fan_fd_lock);
		/* Inode marks only: the mount and filesystem marks stay. */
		if (d->fan_fd >= 0)
			(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD,
					    NULL);
		pthread_rwlock_unlock(&d->fan_fd_lock);
	}
	pthread_mutex_unlock(&fg->lock);
	atomic_store(&fg->cache.held, 0);
	atomic_fetch_add_explicit(&fg->cache.flushes, 1, memory_order_relaxed);
	pthread_rwlock_unlock(&fg->cache.lock);
	if (fg->store)
		store_invalidate(fg->store);
}
