/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The listener object shared by every module of libfanguard: options, the
 * registry of domains, watches, configuration snapshots, log queue, cache,
 * thread budget. Modules depend one way, from the public API down:
 *
 *   fanguard.c, mountwatch.c, watch.c, stats.c     (public API)
 *   -> registry.c        find-or-create, start, stop, release domains
 *   -> domain.c          one fanotify group: lifecycle, marks
 *   -> keeper.c -> reader.c, pool.c                 the threads
 *   -> exclude.c, cache.c, deny.c, mark.c, domain-ref.c (references)
 *   -> fg.c (the listener's lifetime) -> scan*.c -> answer.c
 *   -> logq.c, subject.c, snapshot.c, inflight.c, queue.c, budget.c,
 *      fanops.c, thread.c -> common/
 *
 * A header lower in that list never includes one higher up. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "budget-internal.h"
#include "cache-internal.h"
#include "fanguard.h"
#include "denylist.h"
#include "exclude-internal.h"
#include "logq-internal.h"
#include "snapshot.h"
#include "counters-internal.h"
#include "coverage-internal.h"
#include "prewarm-internal.h"
#include "thread-internal.h"

/* The verdict cache's shared state (cache.c). */
struct fg_cache {
	/* read-held while adding a mark, write-held while flushing them */
	pthread_rwlock_t lock;
	_Atomic uint64_t gen; /* bumped by every invalidation */
	_Atomic uint64_t marks_added, marks_revoked, marks_failed, flushes;
	_Atomic uint64_t held; /* marks added since the last flush (the budget) */
};

static inline void cache_init(struct fg_cache *c)
{
	pthread_rwlock_init(&c->lock, NULL);
	atomic_store(&c->gen, 1);
}

static inline void cache_done(struct fg_cache *c)
{
	pthread_rwlock_destroy(&c->lock);
}

/* The cache's generation: bumped by every invalidation, so a verdict made
 * under an older one is never kept (in the kernel or in the store). */
#define cache_gen(fg) atomic_load_explicit(&(fg)->cache.gen, memory_order_acquire)

struct adopted_group;
struct domain;

/* fanguard_set_fuse_event_mask() for one mount point (emask.c) */
struct fg_emask_mount {
	char *mount_point;
	enum fanguard_fuse_event_mask mask;
};
struct fg_watch;
struct mountwatch;
struct quarantine;
struct scanner;
struct fan_ops;

struct fanguard {
	struct fanguard_options opts;
	/* fanguard_set_class_options(), defaults filled; read by domain_new() */
	struct fanguard_class_options cls[_FANGUARD_MOUNT_CLASS_MAX];
	pid_t self_pid;
	_Atomic int refs;		      /* the caller's + one per domain (see fg_unref) */
	void (*destroy)(struct fanguard *fg); /* at the last fg_unref(): fanguard.c */

	/* Protects the registry (domains), watches, started/stopped, and the
	 * scanner list's writers. Never held across anything without a
	 * deadline, never taken on the permission path. */
	pthread_mutex_t lock;
	struct domain *domains; /* registry.c */
	unsigned n_domains, n_watches;
	bool started, stopped;
	struct fg_watch *watches, *watches_tail; /* fanguard_foreach_watch() */
	struct mountwatch *mw;			 /* mountwatch.c */
	struct fusens *fusens;			 /* fusens.c */
	struct domain_stats retired;		 /* counters of released domains */
	/* Mounts under a watch that got no mark (uncovered): stats.c */
	_Atomic uint64_t marks_failed;
	/* fanguard_scan_at_backing(): mount points scanned at the backing
	 * layer (an administrator's per-mount policy; watch.c) */
	char **at_backing;
	size_t n_at_backing;
	/* fanguard_set_fuse_event_mask(): protected by lock (emask.c) */
	enum fanguard_fuse_event_mask emask_default;
	struct fg_emask_mount *emask_mounts;
	size_t n_emask_mounts;
	/* Mounts that went away before they could be marked (mountwatch.c) */
	_Atomic uint64_t mounts_gone_before_marked;
	struct adopted_group *adopted; /* handover.c: not yet taken by a domain */
	/* handover.c: watchers whose first pass may still claim an adopted
	 * group (protected by lock) */
	unsigned handover_passes_pending;
	/* fanguard_handover(): set once, before the stop; domains keep their
	 * marks and pass their group to fn (domain_stop_finish()). */
	/* Set once by the stop (after handover_userdata), read by any thread
	 * that stops a domain meanwhile (the mount watcher's releases). */
	_Atomic(fanguard_group_fn) handover_fn;
	void *handover_userdata;
	/* fanguard_prewarm(): the pass and its counters (prewarm.c) */
	struct fg_prewarm prewarm;
	/* scanstate.c: the thread (started under fg->lock) */
	struct fg_bg_thread state_thread;

	/* Exclusions: struct exclusions (exclude-internal.h). */
	struct snapshot_slot excl;
	struct ns_cache nsc; /* exclude.c: mounts of our namespace */
	/* Readers: a scanner's active(), see scan-internal.h; writers: the
	 * scanner engines' configuration calls. */
	pthread_rwlock_t cfg_lock;
	struct denylist_slot deny;  /* the SHA-256 denylist (denylist.h, scan-sha256.c) */
	struct denylist_slot allow; /* the SHA-256 allowlist: overrides any deny */

	_Atomic bool deny_errno_unsupported;
	_Atomic bool kernel_audit_refused; /* FAN_ENABLE_AUDIT refused once: not asked again */
	struct logq *logq;
	struct fg_cache cache;
	struct budget budget;
	struct coverage coverage;    /* uncovered mounts (coverage.c) */
	uint32_t max_groups;	     /* opts.max_groups, or from the sysctl */
	uint64_t group_limit_logged; /* usec; protected by lock (registry.c) */
	_Atomic uint64_t cache_marks_evicted;
	struct scanner *_Atomic scanners; /* scan.c: append-only, freed in fg_destroy */
	/* fanguard_set_verdict_store(): set before start, freed in fg_destroy */
	struct fg_store *store;

	/* fanguard_set_quarantine() (quarantine.c): set before start, or NULL */
	struct quarantine *quar;

	/* The kernel calls (fanops-internal.h); tests install fakes. */
	const struct fan_ops *ops;
	void *ops_userdata;
};

/* Each domain holds a reference, and each domain thread one on its domain,
 * so a thread that returns from a stuck FUSE read long after
 * fanguard_free() still finds its memory. */
void fg_ref(struct fanguard *fg);
void fg_unref(struct fanguard *fg);

/* Tests only, before the first watch: drive the core through ops. */
void fg_set_fan_ops(struct fanguard *fg, const struct fan_ops *ops, void *userdata);

/* The fanotify mask for the events the options ask for. */
uint64_t fan_mask_for(const struct fanguard *fg);

#define fg_log(fg, prio, ...)                                      \
	do {                                                       \
		if ((prio) <= (fg)->opts.log_max_priority)         \
			logq_log((fg)->logq, (prio), __VA_ARGS__); \
	} while (0)
