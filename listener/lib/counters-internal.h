/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Per-domain counters. The public table (stats.c: name, kind, help, how to
 * aggregate, label) is generated from DOMAIN_COUNTERS: a new counter is one
 * line here and one in stats.c's table. */
#include <stdatomic.h>
#include <stdint.h>
#include "fanguard.h"

#define DOMAIN_COUNTERS(X)  \
	X(read)             \
	X(answered)         \
	X(allowed)          \
	X(denied)           \
	X(response_errors)  \
	X(abandoned)        \
	X(replaced)         \
	X(bytes_scanned)    \
	X(readers_added)    \
	X(workers_grown)    \
	X(open_errors)      \
	X(alloc_errors)     \
	X(budget_refused)   \
	X(close_stuck)      \
	X(latency_usec)     \
	X(audit_would_deny) \
	X(allowlisted)      \
	X(scanned_inline)   \
	X(open_refusals)    \
	X(emask_switches)   \
	X(dedup_marks)      \
	X(dedup_flushes)    \
	X(coalesced)

struct domain_stats {
#define X(f) _Atomic uint64_t f;
	DOMAIN_COUNTERS(X)
#undef X
	_Atomic uint64_t by_reason[_FANGUARD_REASON_MAX];
};

void domain_stats_add(struct domain_stats *to, const struct domain_stats *from);

static inline void stat_inc(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}
