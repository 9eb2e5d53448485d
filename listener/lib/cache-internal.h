/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The verdict cache (cache.c): clean verdicts as in-kernel ignore marks. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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
/* A reader got FAN_CLOSE_WRITE for a cached inode (fd): drop its mark. */
void cache_note_closed_write(struct domain *d, int fd);
/* Drops every cached verdict; call after the denylist or config changed. */
void cache_invalidate(struct fanguard *fg);
/* Called with fg->lock held, when a coverage mark failed with ENOSPC: drops
 * every cache mark so coverage marks win (the cache refills). Takes no
 * cache lock (cache_invalidate() takes it before fg->lock). */
void cache_evict_all_locked(struct fanguard *fg);
