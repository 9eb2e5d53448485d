/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The verdict cache (cache.c): clean verdicts as in-kernel ignore marks. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "time-util.h"

struct fanguard;
struct domain;
struct fg_event;
struct fg_change_attrs;
struct statx;

/* Read before a scan; a mark is added only if no invalidation came since. */
void cache_attrs_from_statx(const struct statx *stx, struct fg_change_attrs *ret);
bool cache_attrs_same(const struct fg_change_attrs *a, const struct fg_change_attrs *b);
/* After ev was answered "allow" from a scan, before its fd is closed. */
void cache_note_clean(struct domain *d, const struct fg_event *ev, uint64_t gen);

/* The one rule for what the cache keeps: files of d's group (the local
 * domain only: never FUSE or network) on a filesystem of type f_type (never
 * overlayfs or ecryptfs), while the listener caches at all (no_cache). */
bool cache_fs_kept(const struct domain *d, long f_type);

/* A clean verdict on the file open at fd, for cache_keep_clean(). */
struct cache_clean {
	int fd;				     /* read-only, the file that was scanned */
	const struct fg_change_attrs *attrs; /* statx before the scan read anything */
	uint64_t gen;			     /* cache_gen() before the scan */
	long f_type;			     /* the filesystem's type, or 0: looked up */
	usec_t received_usec;		     /* when attrs were read (monotonic) */
	bool from_store;		     /* a verdict store hit: not written again */
	bool keep_budget;		     /* at max_cache_marks: CACHE_BUDGET, no eviction */
};

enum cache_outcome {
	CACHE_KEPT,	/* the ignore mark is in place (and the store told) */
	CACHE_NOT_KEPT, /* not a file the cache keeps (cache_fs_kept()) */
	CACHE_BUDGET,	/* keep_budget and the cache is full */
	CACHE_CHANGED,	/* the file or the generation changed since attrs: no mark */
	CACHE_FAILED,	/* the kernel refused the mark */
};

/* Sets d's ignore mark on the inode at fd with the race checks of a
 * permission event's clean verdict (see cache.c), and tells the verdict
 * store. Shared by the readers and workers (cache_note_clean()) and the
 * pre-warm pass (prewarm.c). */
enum cache_outcome cache_keep_clean(struct domain *d, const struct cache_clean *c);
/* A reader got FAN_CLOSE_WRITE for a cached inode (fd): drop its mark. */
void cache_note_closed_write(struct domain *d, int fd);
/* Drops every cached verdict; call after the denylist or config changed. */
void cache_invalidate(struct fanguard *fg);
/* Called with fg->lock held, when a coverage mark failed with ENOSPC: drops
 * every cache mark so coverage marks win (the cache refills). Takes no
 * cache lock (cache_invalidate() takes it before fg->lock). */
void cache_evict_all_locked(struct fanguard *fg);
