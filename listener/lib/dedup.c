/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deduplicating per-read events on access-mask domains (emask-internal.h).
 *
 * Every read() of a file on an access-mask mount raises FAN_ACCESS_PERM,
 * and each costs a FUSE open inside our read() of the group and a scan
 * (8 events per 1 MiB cat). The verdict cache of local files (cache.c) is
 * not used on FUSE on purpose: the daemon's content can change behind the
 * kernel's back, with no FS_MODIFY to clear a mark. Here, after a clean
 * scan of a read, an evictable ignore mark for FAN_ACCESS_PERM only (never
 * exec) goes on the inode, and every such mark of the group is dropped at
 * most DEDUP_TTL_USEC after the first of them went in (FAN_MARK_FLUSH of
 * the group's inode marks: a FUSE group holds no other inode marks). So a
 * content change behind the kernel's back goes unscanned for at most the
 * TTL, a local write clears the mark at once (no FAN_MARK_IGNORED_SURV_
 * MODIFY), no fd is held (unmounting is never held up), and exec is always
 * scanned. Concurrent reads of one inode while its first scan runs wait
 * for that scan (flight.c).
 *
 * Must never: add a mark for an exec, a deny, an unscanned verdict, or on a
 * domain with the open mask; hold an fd of the mount. */
#include <errno.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif

void dedup_note_clean(struct domain *d, const struct fg_event *ev, uint64_t gen)
{
	int r;

	if (!atomic_load_explicit(&d->emask_access, memory_order_acquire) ||
	    !(ev->mask & FAN_ACCESS_PERM) || (ev->mask & FAN_OPEN_EXEC_PERM) ||
	    d->fg->opts.no_cache)
		return;
	pthread_rwlock_rdlock(&d->fg->cache.lock);
	pthread_rwlock_rdlock(&d->fan_fd_lock);
	/* A denylist change since the scan began: no mark (cache_invalidate()
	 * flushes every group's inode marks under the write lock). */
	r = d->fan_fd < 0 || gen != cache_gen(d->fg)
		    ? -ESTALE
		    : d->ops->mark(d->ops_userdata, d->fan_fd,
				   FAN_MARK_ADD | FAN_MARK_IGNORE | FAN_MARK_EVICTABLE,
				   FAN_ACCESS_PERM, ev->fd, NULL);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	pthread_rwlock_unlock(&d->fg->cache.lock);
	if (r < 0)
		return;
	if (atomic_fetch_add(&d->dedup_held, 1) == 0)
		atomic_store(&d->dedup_oldest, now_usec());
	stat_inc(&d->stats.dedup_marks);
}

void dedup_tick(struct domain *d, usec_t now)
{
	if (atomic_load(&d->dedup_held) == 0 ||
	    now - atomic_load(&d->dedup_oldest) < DEDUP_TTL_USEC)
		return;
	/* Zero first: a mark added from here on is flushed now or counted for
	 * the next tick, never left without a deadline. */
	atomic_store(&d->dedup_held, 0);
	pthread_rwlock_rdlock(&d->fan_fd_lock);
	if (d->fan_fd >= 0)
		(void) d->ops->mark(d->ops_userdata, d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	stat_inc(&d->stats.dedup_flushes);
}
