/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The three forms of the library's statistics, all generated from its one
 * table (fanguard_stat_describe(), fanguard_stats_snapshot()):
 *   - the stats file: "key value" lines;
 *   - `fanguardctl stats` JSON: one key per statistic, labelled families as
 *     an object "by_<label>" (e.g. "by_reason": {"queue_full": 0});
 *   - Prometheus text (0.0.4): fanguard_<name>[_total]{<label>="<value>"}.
 * Keys of labelled entries use '_' for '-' (stats file: "<label>_<value>"). */
#include <stdint.h>
#include <stdio.h>
#include "fanguard.h"

struct json_object;

/* A snapshot of every statistic, with its descriptions. */
struct stats_table {
	size_t n;
	struct fanguard_stat_info *info;
	uint64_t *values;
};

int stats_table_read(struct fanguard *fg, struct stats_table *ret);
void stats_table_done(struct stats_table *t);
/* The value of name (with label value label, or NULL); 0 if unknown. */
uint64_t stats_table_get(const struct stats_table *t, const char *name, const char *label);

/* Appends "key value\n" lines to f. */
void stats_format_file(const struct stats_table *t, FILE *f);
/* Adds the statistics to the JSON object o. 0 or -ENOMEM. */
int stats_format_json(const struct stats_table *t, struct json_object *o);
/* Appends the Prometheus exposition to f. */
void stats_format_prometheus(const struct stats_table *t, FILE *f);
