/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listener object and its public lifecycle: options, new/free,
 * start/stop, health, enumeration. Watches are watch.c, exclusions
 * exclude.c, the denylist deny.c, statistics stats.c. No globals, no exit,
 * no signal handlers; logs only through the caller's callback (logq.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include <unistd.h>
#include "answer-internal.h"
#include "domain-internal.h"
#include "exclude-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"
#include "fusens-internal.h"
#include "handover-internal.h"
#include "logq-internal.h"
#include "quarantine-internal.h"
#include "macro.h"
#include "mountwatch-internal.h"
#include "scanstate-internal.h"
#include "registry-internal.h"
#include "scan-internal.h"
#include "store-internal.h"
#include "watch-internal.h"

static const struct fanguard_class_options class_defaults[_FANGUARD_MOUNT_CLASS_MAX] = {
	[FANGUARD_MOUNT_LOCAL] = {.size = sizeof(struct fanguard_class_options),
				  .deadline_ms = 5000,
				  .default_verdict = FANGUARD_ALLOW,
				  .n_workers = 0,
				  .max_abandoned = 16,
				  .queue_len = 4096},
	[FANGUARD_MOUNT_FUSE] = {.size = sizeof(struct fanguard_class_options),
				 .deadline_ms = 1500,
				 .default_verdict = FANGUARD_ALLOW,
				 .n_workers = 2,
				 .max_abandoned = 16,
				 .queue_len = 1024},
	[FANGUARD_MOUNT_NETWORK] = {.size = sizeof(struct fanguard_class_options),
				    .deadline_ms = 3000,
				    .default_verdict = FANGUARD_ALLOW,
				    .n_workers = 2,
				    .max_abandoned = 16,
				    .queue_len = 1024},
};

/* Copies a caller's size-versioned struct into a zeroed one of ours: an
 * older caller's shorter struct leaves our newer fields zero (defaults); a
 * newer caller's longer one must have zeroes where we know nothing. */
static int struct_copy_in(void *dst, size_t dst_size, const void *src, uint32_t src_size,
			  size_t min_size)
{
	if (src_size < min_size || src_size > 4096)
		return -EINVAL;
	for (size_t i = dst_size; i < src_size; i++)
		if (((const uint8_t *) src)[i] != 0)
			return -E2BIG;
	memset(dst, 0, dst_size);
	memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
	return 0;
}

/* Fills the defaults of a class's zero fields; -EINVAL for bad values. */
static int class_options_fill(enum fanguard_mount_class c, struct fanguard_class_options *co)
{
	const struct fanguard_class_options *def = &class_defaults[c];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	co->size = sizeof(*co);
	if (co->deadline_ms == 0)
		co->deadline_ms = def->deadline_ms;
	if (co->deadline_ms > 3600 * 1000)
		return -EINVAL;
	if (co->default_verdict == 0)
		co->default_verdict = def->default_verdict;
	if (co->default_verdict != FANGUARD_ALLOW && co->default_verdict != FANGUARD_DENY)
		return -EINVAL;
	if (co->on_deadline == 0)
		co->on_deadline = co->default_verdict;
	if (co->on_queue_full == 0)
		co->on_queue_full = co->default_verdict;
	if ((co->on_deadline != FANGUARD_ALLOW && co->on_deadline != FANGUARD_DENY) ||
	    (co->on_queue_full != FANGUARD_ALLOW && co->on_queue_full != FANGUARD_DENY))
		return -EINVAL;
	if (co->n_workers == 0)
		co->n_workers = def->n_workers ? def->n_workers : (unsigned) (ncpu < 2 ? 2 : ncpu);
	if (co->n_workers > 1024)
		return -EINVAL;
	if (co->max_abandoned == 0)
		co->max_abandoned = def->max_abandoned;
	if (co->queue_len == 0)
		co->queue_len = def->queue_len;
	if (co->queue_len > (1u << 24))
		return -EINVAL;
	return 0;
}

/* The local domain's threads must fit the budget: workers, readers, keeper,
 * and its replacements. */
static bool local_fits_budget(const struct fanguard_options *o,
			      const struct fanguard_class_options *lo)
{
	return o->max_threads >= lo->n_workers + 3;
}

static int options_fill(const struct fanguard_options *in, struct fanguard_options *o)
{
	int r;

	memset(o, 0, sizeof(*o));
	if (in) {
		r = struct_copy_in(o, sizeof(*o), in, in->size,
				   offsetof(struct fanguard_options, events) + sizeof(in->events));
		if (r < 0)
			return r;
	}
	o->size = sizeof(*o);
	if (o->events == 0)
		o->events = FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC;
	if (o->events & ~(FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC | FANGUARD_EVENT_ACCESS))
		return -EINVAL;
	if (o->max_scan_bytes == 0)
		o->max_scan_bytes = 256ULL << 20;
	if (o->deny_errno == 0)
		o->deny_errno = EPERM;
	if (o->deny_errno < 0 || o->deny_errno > 255)
		return -EINVAL;
	if (o->log_max_priority == 0)
		o->log_max_priority = LOG_INFO;
	if (o->log_queue_len == 0)
		o->log_queue_len = 8192;
	/* Deprecated and ignored (fanguard.h): every FUSE mount is read
	 * through unless named in fanguard_scan_at_backing(). */
	if (o->loopback_policy > FANGUARD_LOOPBACK_THROUGH)
		return -EINVAL;
	if (o->fuse_user_exec > FANGUARD_FUSE_USER_EXEC_DENY)
		return -EINVAL;
	if (o->max_threads == 0)
		o->max_threads = 512;
	if (o->max_threads_per_owner == 0)
		o->max_threads_per_owner = o->max_threads / 4 ? o->max_threads / 4 : 1;
	if (o->max_threads > 65536)
		return -EINVAL;
	if (o->max_cache_marks == 0)
		o->max_cache_marks = 65536;
	if (o->watch_all_fuse_ms > 0 &&
	    (o->watch_all_fuse_ms < 10 || o->watch_all_fuse_ms > 3600000))
		return -EINVAL;
	return 0;
}

/* The groups this listener plans with: the caller's, or the per-user limit
 * fs.fanotify.max_user_groups less headroom (other listeners of the same
 * user: max(8, 1/8)), at least 2 (the local group and one shared FUSE group). */
static uint32_t groups_budget(const struct fanguard_options *o)
{
	unsigned long lim = 128, headroom;
	FILE *f;

	if (o->max_groups > 0)
		return o->max_groups;
	f = fopen("/proc/sys/fs/fanotify/max_user_groups", "re");
	if (f) {
		if (fscanf(f, "%lu", &lim) != 1)
			lim = 128;
		fclose(f);
	}
	headroom = lim / 8 > 8 ? lim / 8 : 8;
	lim = lim > headroom ? lim - headroom : 0;
	return lim < 2 ? 2 : lim > UINT32_MAX ? UINT32_MAX : (uint32_t) lim;
}

const char *fanguard_version(void)
{
	return FANGUARD_VERSION_STRING;
}

int fanguard_set_class_options(struct fanguard *fg, enum fanguard_mount_class cls,
			       const struct fanguard_class_options *co)
{
	struct fanguard_class_options c;
	int r;

	if (!fg || !co || (unsigned) cls >= _FANGUARD_MOUNT_CLASS_MAX)
		return -EINVAL;
	r = struct_copy_in(&c, sizeof(c), co, co->size,
			   offsetof(struct fanguard_class_options, deadline_ms) +
				   sizeof(co->deadline_ms));
	if (r < 0)
		return r;
	r = class_options_fill(cls, &c);
	if (r < 0)
		return r;
	if (cls == FANGUARD_MOUNT_LOCAL && !local_fits_budget(&fg->opts, &c))
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	/* Domains copy their class's settings when created. */
	if (fg->domains || fg->watches || fg->started || fg->stopped || fg->mw)
		r = -EBUSY;
	else {
		fg->cls[cls] = c;
		if (cls == FANGUARD_MOUNT_LOCAL)
			budget_set_reserve(&fg->budget, c.n_workers + 3 + c.max_abandoned);
	}
	pthread_mutex_unlock(&fg->lock);
	return r;
}

int fanguard_get_class_options(struct fanguard *fg, enum fanguard_mount_class cls,
			       struct fanguard_class_options *ret)
{
	struct fanguard_class_options c;

	if (!fg || !ret || (unsigned) cls >= _FANGUARD_MOUNT_CLASS_MAX ||
	    ret->size < offsetof(struct fanguard_class_options, deadline_ms))
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	c = fg->cls[cls];
	pthread_mutex_unlock(&fg->lock);
	c.size = ret->size < sizeof(c) ? ret->size : (uint32_t) sizeof(c);
	memcpy(ret, &c, c.size);
	return 0;
}

/* The last reference's end (fg_unref(), from whichever thread drops it):
 * every member fanguard_new() and the setters made. */
static void fg_destroy(struct fanguard *fg)
{
	logq_stop(fg->logq);
	denylist_slot_done(&fg->deny);
	denylist_slot_done(&fg->allow);
	fg->store = store_close(fg->store); /* may log: before the log queue goes */
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
	prewarm_done(&fg->prewarm);
	free(fg);
}

int fanguard_new(const struct fanguard_options *opts, struct fanguard **ret)
{
	const struct fanguard_class_options *lo;
	struct exclusions *x;
	struct fanguard *fg;
	struct scanner *sha256;
	int r;

	if (!ret)
		return -EINVAL;
	fg = calloc(1, sizeof(*fg));
	if (!fg)
		return -ENOMEM;
	fg->destroy = fg_destroy;
	r = options_fill(opts, &fg->opts);
	for (int c = 0; c < _FANGUARD_MOUNT_CLASS_MAX && r >= 0; c++) {
		fg->cls[c] = (struct fanguard_class_options){0};
		r = class_options_fill(c, &fg->cls[c]);
	}
	lo = &fg->cls[FANGUARD_MOUNT_LOCAL];
	if (r >= 0 && !local_fits_budget(&fg->opts, lo))
		r = -EINVAL;
	if (r < 0) {
		free(fg);
		return r;
	}
	fg->self_pid = getpid();
	fg->ops = &fan_ops_kernel;
	atomic_store(&fg->refs, 1);
	pthread_mutex_init(&fg->lock, NULL);
	pthread_rwlock_init(&fg->cfg_lock, NULL);
	denylist_slot_init(&fg->deny);
	denylist_slot_init(&fg->allow);
	cache_init(&fg->cache);
	prewarm_init(&fg->prewarm);
	ns_cache_init(&fg->nsc);
	coverage_init(&fg->coverage);
	fg->max_groups = groups_budget(&fg->opts);
	budget_init(&fg->budget, fg->opts.max_threads, lo->n_workers + 3 + lo->max_abandoned,
		    fg->opts.max_threads_per_owner);
	x = exclusions_new();
	if (!x) {
		fg_unref(fg);
		return -ENOMEM;
	}
	snapshot_slot_init(&fg->excl, &x->s);
	r = logq_new(&fg->opts, fg->opts.log_queue_len, &fg->logq);
	if (r < 0) {
		fg_unref(fg);
		return r;
	}
	/* The built-in scanner; clamd and YARA are added by their calls. */
	r = scan_sha256_new(fg, &sha256);
	if (r < 0) {
		fg_unref(fg);
		return r;
	}
	scanner_append(fg, sha256);
	*ret = fg;
	return 0;
}

struct fanguard *fanguard_free(struct fanguard *fg)
{
	if (!fg)
		return NULL;
	(void) fanguard_stop(fg, 2000);
	/* The records' and the registry's references on the domains; each
	 * domain goes once its threads are gone, and the last one takes the
	 * listener with it. */
	watch_records_clear(fg);
	registry_clear(fg);
	mountwatch_free(fg); /* its thread was joined by the stop */
	fusens_free(fg);
	fg_unref(fg);
	return NULL;
}

int fanguard_start(struct fanguard *fg)
{
	bool prime;
	int r = 0;

	if (!fg)
		return -EINVAL;
	/* Not under fg->lock: asks the scanners (clamd: a query with its
	 * own deadline). Before the writer thread runs. */
	pthread_mutex_lock(&fg->lock);
	prime = fg->store && !fg->started && !fg->stopped;
	pthread_mutex_unlock(&fg->lock);
	if (prime)
		store_state_prime(fg->store);
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (fg->started)
		goto out;
	r = logq_start(fg->logq);
	if (r < 0)
		goto out;
	fg->started = true;
	/* Threads first, then the marks asked for before start. */
	r = registry_start_locked(fg);
	if (r < 0)
		goto out;
	/* New mounts under fanguard_watch_tree() paths. */
	r = mountwatch_start(fg);
	if (r >= 0)
		r = fusens_start(fg);
	/* Signature updates flush the cache. */
	if (r >= 0)
		r = scanstate_ensure_locked(fg);
	/* The verdict store's state and writes. */
	if (r >= 0 && fg->store)
		r = store_writer_start(fg->store);
out:
	/* An adopted group nobody answers would block every open it marks:
	 * closed now, or once the watchers' first passes are done (they
	 * take the lock we hold before they can report it). */
	handover_start_done_locked(fg, r < 0 ? 0
					     : mountwatch_arm_first_pass_locked(fg) +
						       fusens_arm_first_pass_locked(fg));
	pthread_mutex_unlock(&fg->lock);
	return r;
}

static int stop(struct fanguard *fg, uint32_t timeout_ms, fanguard_group_fn fn, void *userdata)
{
	usec_t deadline = deadline_after((usec_t) timeout_ms * USEC_PER_MSEC);
	bool all;

	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		return 0;
	}
	fg->stopped = true;
	/* Read by domain_stop_begin()/finish() (handing_over()) from here on. */
	fg->handover_userdata = userdata;
	atomic_store_explicit(&fg->handover_fn, fn, memory_order_release);
	handover_close_unclaimed_locked(fg);
	pthread_mutex_unlock(&fg->lock);
	/* After this no domain is added or released by the watcher. */
	mountwatch_stop(fg);
	fusens_stop(fg);
	scanstate_stop(fg);
	/* Before the groups go: the pass marks through the local one. */
	prewarm_stop(fg);
	all = registry_stop_all(fg, deadline);
	/* After the readers: writes what they queued. */
	if (fg->store)
		store_writer_stop(fg->store);
	logq_stop(fg->logq);
	return all ? 0 : -ETIMEDOUT;
}

int fanguard_stop(struct fanguard *fg, uint32_t timeout_ms)
{
	if (!fg)
		return -EINVAL;
	return stop(fg, timeout_ms, NULL, NULL);
}

int fanguard_handover(struct fanguard *fg, uint32_t timeout_ms, fanguard_group_fn fn,
		      void *userdata)
{
	if (!fg || !fn)
		return -EINVAL;
	return stop(fg, timeout_ms, fn, userdata);
}

int fanguard_check_health(struct fanguard *fg, uint32_t grace_ms)
{
	usec_t now = now_usec(), grace = (usec_t) grace_ms * USEC_PER_MSEC;
	int r = 0;

	if (!fg)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	if (fg->stopped)
		r = -ESHUTDOWN;
	for (struct domain *d = fg->domains; d && r == 0; d = d->next) {
		pthread_mutex_lock(&d->lock);
		if (d->started && !d->stopping) {
			/* The keeper answers the oldest event at its deadline: one
			 * still unanswered well after it means the keeper is stuck. */
			struct fg_event *head = inflight_peek(&d->inflight);

			if (head && head->deadline_usec + grace < now)
				r = -ETIME;
			else if (d->n_active_readers == 0 || !d->keeper_running)
				r = -ESRCH;
		}
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&fg->lock);
	return r;
}

int fanguard_foreach_watch(struct fanguard *fg, fanguard_watch_fn fn, void *userdata)
{
	int r = 0;

	if (!fg || !fn)
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	for (struct fg_watch *w = fg->watches; w && r >= 0; w = w->next) {
		unsigned stuck[_WHERE_MAX] = {};
		struct fanguard_watch_info info = {
			.size = sizeof(info),
			.path = w->path,
			.mount_point = w->mount_point,
			.fstype = w->fstype,
			.mount_class = w->mount_class,
			.evidence = w->evidence,
			.domain_class = w->domain_class,
			.mnt_id = w->mnt_id,
			.flags = w->flags,
			.loopback = w->loopback,
			.origin = w->origin ? w->origin : "",
			.content_at_backing = w->content_at_backing,
			.from_tree = w->from_tree,
			.group_events_read = w->d ? atomic_load(&w->d->stats.read) : 0,
			.owner_uid = (uint32_t) w->owner,
			.group_name = w->d && !w->unmarked ? w->d->name : "",
			.group_shared = w->d && w->d->shared && !w->unmarked,
			.unmarked = w->unmarked,
			.group_events_answered = w->d ? atomic_load(&w->d->stats.answered) : 0,
			.group_answer_latency_usec =
				w->d ? atomic_load(&w->d->stats.latency_usec) : 0,
			.untrusted = w->d ? w->d->untrusted : 0,
			.event_mask = "",
			.event_mask_why = "",
			.same_fs_as_mnt_id = w->same_fs_as,
		};

		if (w->d) {
			const struct domain_stats *st = &w->d->stats;

			domain_stuck_counts(w->d, stuck);
			info.unscanned_deadline = st->by_reason[FANGUARD_REASON_DEADLINE];
			info.unscanned_queue_full = st->by_reason[FANGUARD_REASON_QUEUE_FULL];
			info.unscanned_error = st->by_reason[FANGUARD_REASON_ERROR];
			info.unscanned_too_large = st->by_reason[FANGUARD_REASON_TOO_LARGE];
			info.overloaded = overload_active(w->d, now_usec());
			if (w->d->cls != FANGUARD_MOUNT_LOCAL) {
				/* Each why is written once, before its flag. */
				bool a = atomic_load_explicit(&w->d->emask_access,
							      memory_order_acquire);

				info.event_mask = a ? "access" : "open";
				info.event_mask_why = w->d->emask_why[a];
			}
		}
		info.threads_stuck_open = stuck[WHERE_OPEN];
		info.threads_stuck_read = stuck[WHERE_READ];
		info.threads_stuck_close = stuck[WHERE_CLOSE];
		r = fn(userdata, &info);
	}
	pthread_mutex_unlock(&fg->lock);
	return r < 0 ? r : 0;
}
