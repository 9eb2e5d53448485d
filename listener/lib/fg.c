/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listener object's lifetime (references, destruction) and the small
 * helpers every module uses: names, the fanotify mask, counter sums. Low in
 * the dependency order (fg-internal.h): it calls nothing that manages
 * domains or threads. */
#include <errno.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include "fg-internal.h"
#include "quarantine-internal.h"
#include "scan-internal.h"
#include "store-internal.h"

const char *fanguard_reason_to_string(enum fanguard_reason r)
{
	static const char *const s[_FANGUARD_REASON_MAX] = {
		[FANGUARD_REASON_SCANNED] = "scanned",
		[FANGUARD_REASON_SELF] = "self",
		[FANGUARD_REASON_NOT_REGULAR] = "not-regular",
		[FANGUARD_REASON_EXCLUDED] = "excluded",
		[FANGUARD_REASON_TOO_LARGE] = "too-large",
		[FANGUARD_REASON_DEADLINE] = "deadline",
		[FANGUARD_REASON_QUEUE_FULL] = "queue-full",
		[FANGUARD_REASON_ERROR] = "error",
		[FANGUARD_REASON_SHUTDOWN] = "shutdown",
		[FANGUARD_REASON_NO_SCANNER] = "no-scanner",
		[FANGUARD_REASON_POLICY] = "policy",
	};

	return (unsigned) r < _FANGUARD_REASON_MAX && s[r] ? s[r] : "?";
}

const char *fanguard_mount_class_to_string(enum fanguard_mount_class c)
{
	static const char *const s[_FANGUARD_MOUNT_CLASS_MAX] = {
		[FANGUARD_MOUNT_LOCAL] = "local",
		[FANGUARD_MOUNT_FUSE] = "fuse",
		[FANGUARD_MOUNT_NETWORK] = "network",
	};

	return (unsigned) c < _FANGUARD_MOUNT_CLASS_MAX ? s[c] : "?";
}

uint64_t fan_mask_for(const struct fanguard *fg)
{
	uint64_t m = 0;

	if (fg->opts.events & FANGUARD_EVENT_OPEN)
		m |= FAN_OPEN_PERM;
	if (fg->opts.events & FANGUARD_EVENT_EXEC)
		m |= FAN_OPEN_EXEC_PERM;
	if (fg->opts.events & FANGUARD_EVENT_ACCESS)
		m |= FAN_ACCESS_PERM;
	return m;
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

void domain_stats_add(struct domain_stats *to, const struct domain_stats *from)
{
#define X(f) atomic_fetch_add_explicit(&to->f, load(&from->f), memory_order_relaxed);
	DOMAIN_COUNTERS(X)
#undef X
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
		atomic_fetch_add_explicit(&to->by_reason[i], load(&from->by_reason[i]),
					  memory_order_relaxed);
}

static void fg_destroy(struct fanguard *fg)
{
	logq_stop(fg->logq);
	denylist_slot_done(&fg->deny);
	denylist_slot_done(&fg->allow);
	fg->store = store_free(fg->store); /* may log: before the log queue goes */
	scanners_free(fg);
	logq_free(fg->logq);
	if (atomic_load(&fg->excl.cur))
		snapshot_slot_done(&fg->excl);
	pthread_rwlock_destroy(&fg->cfg_lock);
	cache_done(&fg->cache);
	ns_cache_done(&fg->nsc);
	budget_done(&fg->budget);
	for (size_t i = 0; i < fg->n_at_backing; i++)
		free(fg->at_backing[i]);
	free(fg->at_backing);
	for (size_t i = 0; i < fg->n_emask_mounts; i++)
		free(fg->emask_mounts[i].mount_point);
	free(fg->emask_mounts);
	coverage_done(&fg->coverage);
	quarantine_free(fg->quar);
	pthread_mutex_destroy(&fg->lock);
	fg_bg_thread_done(&fg->state_thread);
	free(fg);
}

void fg_ref(struct fanguard *fg)
{
	atomic_fetch_add(&fg->refs, 1);
}

void fg_unref(struct fanguard *fg)
{
	if (atomic_fetch_sub(&fg->refs, 1) == 1)
		fg_destroy(fg);
}

void fg_set_fan_ops(struct fanguard *fg, const struct fan_ops *ops, void *userdata)
{
	fg->ops = ops;
	fg->ops_userdata = userdata;
}
