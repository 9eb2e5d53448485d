/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The statistics table: every counter and gauge the library reports, with
 * its kind, help, label and how it is aggregated across domains. The stats
 * file, `fanguardctl stats` JSON and the Prometheus metrics are generated
 * from it (listener/fanguardd/stats-format.c), and fanguard_get_stats()
 * (deprecated) is filled from it: a new counter is one row here (plus one
 * line in DOMAIN_COUNTERS if it is per domain). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "answer-internal.h"
#include "domain-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "quarantine-internal.h"
#include "store-internal.h"

/* How a row is collected. */
enum stat_agg {
	AGG_DOMAINS,  /* a domain counter, summed over live and released domains */
	AGG_REASON,   /* by_reason[arg], summed the same way */
	AGG_LIVE,     /* a gauge summed over the live domains (struct live) */
	AGG_LISTENER, /* a listener-wide value (struct live) */
};

/* Gauges and listener-wide values, read at snapshot time. */
struct live {
	uint64_t pending, groups, watches, threads, stuck[_WHERE_MAX], overload;
	uint64_t kernel_audit;
	uint64_t log_dropped, cache_added, cache_revoked, cache_failed, cache_flushes;
	uint64_t uncovered[_UNCOVERED_CAUSE_MAX], uncovered_reports;
	uint64_t cache_evictions, max_groups;
	uint64_t marks_failed, mounts_gone;
	uint64_t access_mask;
	uint64_t quarantined, quarantine_failed[_QUARANTINE_CAUSE_MAX];
	uint64_t store_hits, store_misses, store_stale, store_inserts, store_invalidated;
	uint64_t store_rebuilds, store_resets, store_dropped, store_errors, store_unsupported;
	uint64_t store_bypassed, store_enabled;
	uint64_t prewarm_state, prewarm_usec, prewarm_seen, prewarm_cached, prewarm_dirty;
	uint64_t prewarm_skipped[_PREWARM_SKIP_MAX];
};

struct stat_row {
	const char *name, *help;
	int kind;
	const char *label_name, *label_value;
	enum stat_agg agg;
	size_t off; /* in struct domain_stats (AGG_DOMAINS) or struct live */
	int arg;    /* AGG_REASON: the reason */
};

#define C FANGUARD_STAT_COUNTER
#define G FANGUARD_STAT_GAUGE
#define DOM(n, f, h)                                                                  \
	{                                                                             \
		n, h, C, NULL, NULL, AGG_DOMAINS, offsetof(struct domain_stats, f), 0 \
	}
#define LIVE(n, k, f, h)                                                   \
	{                                                                  \
		n, h, k, NULL, NULL, AGG_LIVE, offsetof(struct live, f), 0 \
	}
#define LSN(n, k, f, h)                                                        \
	{                                                                      \
		n, h, k, NULL, NULL, AGG_LISTENER, offsetof(struct live, f), 0 \
	}
#define STUCK(v, w)                                                                     \
	{                                                                               \
		"threads_stuck", "Threads stuck now (>= 100 ms) in FUSE, by where.", G, \
			"stuck_in", v, AGG_LIVE, offsetof(struct live, stuck[w]), 0     \
	}
#define UNCOV(v, c)                                                                                \
	{                                                                                          \
		"uncovered", "Mounts a watch covers that are not marked now, by cause.", G,        \
			"uncovered_cause", v, AGG_LISTENER, offsetof(struct live, uncovered[c]), 0 \
	}
#define QFAIL(c)                                                          \
	{                                                                 \
		"quarantine_failed",                                      \
			"Denied files not (fully) quarantined, by cause " \
			"(fanguard_set_quarantine).",                     \
			C, "quarantine_cause", NULL, AGG_LISTENER,        \
			offsetof(struct live, quarantine_failed[c]), c    \
	}
#define PWSKIP(v, c)                                                                             \
	{                                                                                        \
		"prewarm_files_skipped",                                                         \
			"Files the pre-warm pass saw and left uncached, by why (this pass).", G, \
			"prewarm_skip", v, AGG_LISTENER,                                         \
			offsetof(struct live, prewarm_skipped[c]), 0                             \
	}
#define REASON(r)                                                                     \
	{                                                                             \
		"verdicts", "Answers by reason.", C, "reason", NULL, AGG_REASON, 0, r \
	}

static const struct stat_row table[] = {
	DOM("events_read", read, "Permission events received."),
	DOM("events_answered", answered, "Answers written to the kernel."),
	DOM("allowed", allowed, "Events answered allow."),
	DOM("denied", denied, "Events answered deny."),
	LIVE("pending", G, pending, "Events read but not yet answered."),
	DOM("response_errors", response_errors, "Answers the kernel refused."),
	DOM("workers_abandoned", abandoned, "Workers stuck in I/O past a deadline."),
	DOM("workers_replaced", replaced, "Workers started to replace stuck ones."),
	LSN("log_dropped", C, log_dropped, "Log messages dropped on overflow."),
	DOM("bytes_scanned", bytes_scanned, "Bytes of file content scanned."),
	DOM("kernel_open_errors", open_errors, "Events whose file the kernel could not open."),
	DOM("readers_added", readers_added, "Readers added while every reader waited on FUSE."),
	DOM("workers_grown", workers_grown,
	    "Workers added to keep as many scans in flight as the scanner runs (clamd's threads)."),
	DOM("event_alloc_errors", alloc_errors, "Events answered at once for lack of memory."),
	DOM("threads_refused", budget_refused, "Threads not started: over the thread budget."),
	DOM("workers_stuck_in_close", close_stuck, "Workers stuck in close() (FUSE_FLUSH)."),
	DOM("scanned_inline", scanned_inline,
	    "Events scanned by their reader (small, in memory: no queue hop)."),
	DOM("answer_latency_usec", latency_usec,
	    "Receipt-to-answer time summed over answers (divide by events_answered)."),
	LIVE("overload", G, overload,
	     "Groups that gave a default verdict for a passed deadline or a full queue in the "
	     "last 10 s."),
	DOM("audit_would_deny", audit_would_deny,
	    "Denies answered allow in audit (permissive) mode."),
	DOM("allowlisted", allowlisted,
	    "Files allowed by the SHA-256 allowlist, whatever the scanners say."),
	LSN("kernel_audit", G, kernel_audit, "1: denies write kernel audit records (FAN_AUDIT)."),
	LSN("groups", G, groups, "fanotify groups (domains)."),
	LSN("watches", G, watches, "Watched mounts."),
	LSN("threads", G, threads, "Threads the listener runs (readers, workers, keepers)."),
	STUCK("open", WHERE_OPEN),
	STUCK("read", WHERE_READ),
	STUCK("close", WHERE_CLOSE),
	LSN("cache_marks_added", C, cache_added, "Clean verdicts now held by the kernel."),
	LSN("cache_marks_revoked", C, cache_revoked, "Cache marks removed again."),
	LSN("cache_marks_failed", C, cache_failed, "Cache marks not added."),
	LSN("cache_flushes", C, cache_flushes, "Verdict cache invalidations."),
	LSN("cache_evictions", C, cache_evictions,
	    "Verdict cache flushes because it reached max_cache_marks."),
	LSN("groups_planned", G, max_groups,
	    "fanotify groups the listener may make (max_groups); beyond, mounts share."),
	LSN("uncovered_reports", C, uncovered_reports,
	    "Failures to cover a mount (each attempt, repeats too)."),
	UNCOV("group-limit", UNCOVERED_GROUP_LIMIT),
	UNCOV("mark-limit", UNCOVERED_MARK_LIMIT),
	UNCOV("permission", UNCOVERED_PERMISSION),
	UNCOV("namespace", UNCOVERED_NAMESPACE),
	UNCOV("hung-daemon", UNCOVERED_HUNG_DAEMON),
	UNCOV("thread-budget", UNCOVERED_THREAD_BUDGET),
	UNCOV("mark-error", UNCOVERED_MARK_ERROR),
	LSN("marks_failed", C, marks_failed,
	    "Mounts under a watch left without a mark (uncovered)."),
	LSN("mounts_gone_before_marked", C, mounts_gone,
	    "Mounts that came and went before they could be marked."),
	REASON(FANGUARD_REASON_SCANNED),
	REASON(FANGUARD_REASON_SELF),
	REASON(FANGUARD_REASON_NOT_REGULAR),
	REASON(FANGUARD_REASON_EXCLUDED),
	REASON(FANGUARD_REASON_TOO_LARGE),
	REASON(FANGUARD_REASON_DEADLINE),
	REASON(FANGUARD_REASON_QUEUE_FULL),
	REASON(FANGUARD_REASON_ERROR),
	REASON(FANGUARD_REASON_SHUTDOWN),
	REASON(FANGUARD_REASON_NO_SCANNER),
	/* Appended later: keep the table's order stable. */
	REASON(FANGUARD_REASON_POLICY),
	LIVE("mounts_access_mask", G, access_mask,
	     "FUSE groups marked FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM (fuse-event-mask)."),
	DOM("open_refusals", open_refusals,
	    "read() on a FUSE group blocked > 1 s and failed: the daemon refused the kernel's "
	    "open of an event's file (that event was denied by the kernel)."),
	DOM("event_mask_switches", emask_switches,
	    "FUSE groups switched from the open to the access event mask (auto)."),
	DOM("dedup_marks", dedup_marks,
	    "Access-mask groups: short-lived ignore marks added after a clean read scan."),
	DOM("dedup_flushes", dedup_flushes, "Access-mask groups: ignore marks dropped at the TTL."),
	DOM("coalesced", coalesced,
	    "Access-mask groups: read events answered from the scan of the same file that was in "
	    "flight when they arrived, not scanned again."),
	LSN("quarantined", C, quarantined,
	    "Denied files copied to the quarantine directory and removed."),
	QFAIL(QUARANTINE_NOT_LOCAL),
	QFAIL(QUARANTINE_TOO_LARGE),
	QFAIL(QUARANTINE_RATE_LIMIT),
	QFAIL(QUARANTINE_DISK_FLOOR),
	QFAIL(QUARANTINE_COPY_ERROR),
	QFAIL(QUARANTINE_PATH_CHANGED),
	QFAIL(QUARANTINE_REMOVE_ERROR),
	QFAIL(QUARANTINE_RECORD_ERROR),
	LSN("store_enabled", G, store_enabled, "1: a verdict store is open (VerdictStore=)."),
	LSN("store_hits", C, store_hits, "Opens allowed by a kept verdict, without a scan."),
	LSN("store_misses", C, store_misses, "Verdict store lookups that found nothing."),
	LSN("store_invalidations", C, store_stale,
	    "Kept verdicts found but void: the file or the scanners changed since."),
	LSN("store_inserts", C, store_inserts, "Clean verdicts written to the verdict store."),
	LSN("store_flushed", C, store_invalidated,
	    "Kept verdicts dropped because the scanners' state changed."),
	LSN("store_rebuilds", C, store_rebuilds,
	    "Corrupt, truncated or foreign stores moved aside and started empty."),
	LSN("store_resets", C, store_resets, "Verdict store emptied because it was full."),
	LSN("store_dropped", C, store_dropped, "Verdict store writes dropped: queue full."),
	LSN("store_errors", C, store_errors, "Verdict store read or write errors."),
	LSN("store_unsupported", C, store_unsupported,
	    "Lookups for files the store does not keep (filesystem type, no UUID or handle)."),
	LSN("store_bypassed", C, store_bypassed,
	    "Lookups skipped: the scanners' state not known yet, or a scanner without one."),
	LSN("prewarm_state", G, prewarm_state,
	    "Pre-warm pass (fanguard_prewarm): 0 off, 1 running, 2 done, 3 stopped early."),
	LSN("prewarm_duration_usec", G, prewarm_usec,
	    "How long the pre-warm pass has run (running) or ran (done)."),
	LSN("prewarm_files_seen", G, prewarm_seen,
	    "Files (non-directories) the pre-warm pass walked over (this pass)."),
	LSN("prewarm_files_cached", G, prewarm_cached,
	    "Files the pre-warm pass scanned clean and cached (this pass)."),
	LSN("prewarm_files_dirty", G, prewarm_dirty,
	    "Files a scanner found during the pre-warm pass, left to be denied at their open "
	    "(this pass)."),
	PWSKIP("not-regular", PREWARM_SKIP_NOT_REGULAR),
	PWSKIP("too-large", PREWARM_SKIP_TOO_LARGE),
	PWSKIP("other-fs", PREWARM_SKIP_OTHER_FS),
	PWSKIP("budget", PREWARM_SKIP_BUDGET),
	PWSKIP("changed", PREWARM_SKIP_CHANGED),
	PWSKIP("error", PREWARM_SKIP_ERROR),
};

_Static_assert(_FANGUARD_REASON_MAX == 11, "add a REASON() row for the new reason");
_Static_assert(_UNCOVERED_CAUSE_MAX == 7, "add UNCOV() rows for the new cause");
_Static_assert(_QUARANTINE_CAUSE_MAX == 8, "add QFAIL() rows for the new cause");
_Static_assert(_PREWARM_SKIP_MAX == 6, "add PWSKIP() rows for the new reason");

size_t fanguard_stats_count(void)
{
	return ELEMENTSOF(table);
}

int fanguard_stat_describe(size_t i, struct fanguard_stat_info *ret)
{
	struct fanguard_stat_info info;
	size_t size;

	if (i >= ELEMENTSOF(table) || !ret || ret->size < offsetof(struct fanguard_stat_info, help))
		return i >= ELEMENTSOF(table) ? -ERANGE : -EINVAL;
	info = (struct fanguard_stat_info){
		.size = sizeof(info),
		.name = table[i].name,
		.help = table[i].help,
		.kind = table[i].kind,
		.label_name = table[i].label_name,
		.label_value = table[i].agg == AGG_REASON ? fanguard_reason_to_string(table[i].arg)
			       : table[i].label_name && !table[i].label_value
				       ? quarantine_cause_to_string(table[i].arg)
				       : table[i].label_value,
	};
	size = ret->size < sizeof(info) ? ret->size : sizeof(info);
	info.size = (uint32_t) size;
	memcpy(ret, &info, size);
	return 0;
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

int fanguard_stats_snapshot(struct fanguard *fg, uint64_t *values, size_t n)
{
	struct domain_stats sum = {};
	struct live live = {};

	if (!fg || (n > 0 && !values))
		return -EINVAL;
	pthread_mutex_lock(&fg->lock);
	domain_stats_add(&sum, &fg->retired);
	for (struct domain *d = fg->domains; d; d = d->next) {
		unsigned stuck[_WHERE_MAX] = {};

		domain_stats_add(&sum, &d->stats);
		if (d->kernel_audit)
			live.kernel_audit = 1;
		domain_stuck_counts(d, stuck);
		for (int w = 0; w < _WHERE_MAX; w++)
			live.stuck[w] += stuck[w];
		live.overload += overload_active(d, now_usec());
		live.access_mask += atomic_load(&d->emask_access);
		pthread_mutex_lock(&d->lock);
		live.pending += d->inflight.n;
		pthread_mutex_unlock(&d->lock);
	}
	live.groups = fg->n_domains;
	live.watches = fg->n_watches;
	pthread_mutex_unlock(&fg->lock);
	live.threads = budget_used(&fg->budget);
	live.log_dropped = logq_dropped(fg->logq);
	live.cache_added = load(&fg->cache.marks_added);
	live.cache_revoked = load(&fg->cache.marks_revoked);
	live.cache_failed = load(&fg->cache.marks_failed);
	live.cache_flushes = load(&fg->cache.flushes);
	live.cache_evictions = load(&fg->cache_marks_evicted);
	live.max_groups = fg->max_groups;
	(void) coverage_count(fg, live.uncovered);
	for (int c = 0; c < _UNCOVERED_CAUSE_MAX; c++)
		live.uncovered_reports += load(&fg->coverage.reports[c]);
	live.marks_failed = load(&fg->marks_failed);
	live.mounts_gone = load(&fg->mounts_gone_before_marked);
	live.quarantined = quarantine_count_done(fg);
	for (int c = 0; c < _QUARANTINE_CAUSE_MAX; c++)
		live.quarantine_failed[c] = quarantine_count_failed(fg, c);
	if (fg->store) {
		struct fg_store *st = fg->store;

		live.store_enabled = 1;
		live.store_hits = load(&st->hits);
		live.store_misses = load(&st->misses);
		live.store_stale = load(&st->stale);
		live.store_inserts = load(&st->inserts);
		live.store_invalidated = load(&st->invalidated);
		live.store_rebuilds = load(&st->rebuilds);
		live.store_resets = load(&st->resets);
		live.store_dropped = load(&st->dropped);
		live.store_errors = load(&st->errors);
		live.store_unsupported = load(&st->unsupported);
		live.store_bypassed = load(&st->bypassed);
	}

	live.prewarm_state = (uint64_t) atomic_load(&fg->prewarm.state);
	live.prewarm_usec = prewarm_elapsed(&fg->prewarm);
	live.prewarm_seen = load(&fg->prewarm.seen);
	live.prewarm_cached = load(&fg->prewarm.cached);
	live.prewarm_dirty = load(&fg->prewarm.dirty);
	for (int c = 0; c < _PREWARM_SKIP_MAX; c++)
		live.prewarm_skipped[c] = load(&fg->prewarm.skipped[c]);

	for (size_t i = 0; i < n && i < ELEMENTSOF(table); i++) {
		const struct stat_row *r = &table[i];

		switch (r->agg) {
		case AGG_DOMAINS:
			values[i] = load((const _Atomic uint64_t *) ((const char *) &sum + r->off));
			break;
		case AGG_REASON:
			values[i] = load(&sum.by_reason[r->arg]);
			break;
		case AGG_LIVE:
		case AGG_LISTENER:
			values[i] = *(const uint64_t *) ((const char *) &live + r->off);
			break;
		}
	}
	return (int) ELEMENTSOF(table);
}

/* The value of the row named name (label_value for a labelled one). */
static uint64_t value_of(const uint64_t *v, const char *name, const char *label_value)
{
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		struct fanguard_stat_info info = {.size = sizeof(info)};

		(void) fanguard_stat_describe(i, &info);
		if (strcmp(info.name, name) == 0 &&
		    (!label_value ||
		     (info.label_value && strcmp(info.label_value, label_value) == 0)))
			return v[i];
	}
	return 0;
}

int fanguard_get_stats(struct fanguard *fg, struct fanguard_stats *st)
{
	uint64_t v[ELEMENTSOF(table)];
	struct fanguard_stats s = {0};
	size_t size;
	int r;

	if (!fg || !st || st->size < offsetof(struct fanguard_stats, events_answered))
		return -EINVAL;
	size = st->size < sizeof(s) ? st->size : sizeof(s);
	r = fanguard_stats_snapshot(fg, v, ELEMENTSOF(v));
	if (r < 0)
		return r;
	s.events_read = value_of(v, "events_read", NULL);
	s.events_answered = value_of(v, "events_answered", NULL);
	s.allowed = value_of(v, "allowed", NULL);
	s.denied = value_of(v, "denied", NULL);
	for (size_t i = 0; i < ELEMENTSOF(s.by_reason); i++)
		s.by_reason[i] = value_of(v, "verdicts", fanguard_reason_to_string(i));
	s.response_errors = value_of(v, "response_errors", NULL);
	s.workers_abandoned = value_of(v, "workers_abandoned", NULL);
	s.workers_replaced = value_of(v, "workers_replaced", NULL);
	s.log_dropped = value_of(v, "log_dropped", NULL);
	s.bytes_scanned = value_of(v, "bytes_scanned", NULL);
	s.pending = value_of(v, "pending", NULL);
	s.kernel_open_errors = value_of(v, "kernel_open_errors", NULL);
	s.readers_added = value_of(v, "readers_added", NULL);
	s.n_groups = (uint32_t) value_of(v, "groups", NULL);
	s.n_watches = (uint32_t) value_of(v, "watches", NULL);
	s.cache_marks_added = value_of(v, "cache_marks_added", NULL);
	s.cache_marks_revoked = value_of(v, "cache_marks_revoked", NULL);
	s.cache_marks_failed = value_of(v, "cache_marks_failed", NULL);
	s.cache_flushes = value_of(v, "cache_flushes", NULL);
	s.size = (uint32_t) size;
	memcpy(st, &s, size);
	return 0;
}
