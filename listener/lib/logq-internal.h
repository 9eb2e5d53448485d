/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The library's log path (logq.c). logq_log() and logq_verdict() never
 * block and never do I/O: they copy into a bounded ring that one log thread
 * hands to the caller's callbacks; overflow is counted. */
#include <stddef.h>
#include <stdint.h>
#include "fanguard.h"

struct logq;

int logq_new(const struct fanguard_options *opts, size_t cap, struct logq **ret);
/* Idempotent and safe from any thread. */
int logq_start(struct logq *q);
void logq_stop(struct logq *q); /* drains, then joins */
struct logq *logq_free(struct logq *q);
void logq_log(struct logq *q, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void logq_verdict(struct logq *q, const struct fanguard_verdict_info *info);
uint64_t logq_dropped(struct logq *q);
