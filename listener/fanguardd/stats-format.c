/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Statistics as a file, JSON and Prometheus text, generated from the
 * library's table (stats-format.h): a counter added to the library shows up
 * in all three without an edit here. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "macro.h"
#include "stats-format.h"

int stats_table_read(struct fanguard *fg, struct stats_table *ret)
{
	struct stats_table t = {.n = fanguard_stats_count()};
	int r;

	t.info = calloc(t.n ? t.n : 1, sizeof(*t.info));
	t.values = calloc(t.n ? t.n : 1, sizeof(*t.values));
	if (!t.info || !t.values) {
		stats_table_done(&t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t.n; i++) {
		t.info[i].size = sizeof(t.info[i]);
		r = fanguard_stat_describe(i, &t.info[i]);
		if (r < 0) {
			stats_table_done(&t);
			return r;
		}
	}
	r = fanguard_stats_snapshot(fg, t.values, t.n);
	if (r < 0) {
		stats_table_done(&t);
		return r;
	}
	*ret = t;
	return 0;
}

void stats_table_done(struct stats_table *t)
{
	free(t->info);
	free(t->values);
	*t = (struct stats_table){};
}

uint64_t stats_table_get(const struct stats_table *t, const char *name, const char *label)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->info[i].name, name) == 0 &&
		    (!label ||
		     (t->info[i].label_value && strcmp(t->info[i].label_value, label) == 0)))
			return t->values[i];
	return 0;
}

/* s with '-' as '_', in buf. */
static const char *key(const char *s, char *buf, size_t len)
{
	(void) snprintf(buf, len, "%s", s);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
	return buf;
}

void stats_format_file(const struct stats_table *t, FILE *f)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fanguard_stat_info *s = &t->info[i];
		char k[64], v[64];

		if (s->label_name)
			fprintf(f, "%s_%s %llu\n", key(s->label_name, k, sizeof(k)),
				key(s->label_value, v, sizeof(v)),
				(unsigned long long) t->values[i]);
		else
			fprintf(f, "%s %llu\n", s->name, (unsigned long long) t->values[i]);
	}
}

int stats_format_json(const struct stats_table *t, struct json_object *o)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fanguard_stat_info *s = &t->info[i];
		struct json_object *v = json_object_new_uint64(t->values[i]), *group;
		char k[64], g[80];

		if (!v)
			return -ENOMEM;
		if (!s->label_name) {
			json_object_object_add(o, s->name, v);
			continue;
		}
		(void) snprintf(g, sizeof(g), "by_%s", s->label_name);
		if (!json_object_object_get_ex(o, g, &group)) {
			group = json_object_new_object();
			if (!group) {
				json_object_put(v);
				return -ENOMEM;
			}
			json_object_object_add(o, g, group);
		}
		json_object_object_add(group, key(s->label_value, k, sizeof(k)), v);
	}
	return 0;
}

void stats_format_prometheus(const struct stats_table *t, FILE *f)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct fanguard_stat_info *s = &t->info[i];
		bool counter = s->kind == FANGUARD_STAT_COUNTER;
		const char *suffix = counter ? "_total" : "";

		/* HELP and TYPE once per family: labelled rows are adjacent. */
		if (i == 0 || strcmp(t->info[i - 1].name, s->name) != 0)
			fprintf(f, "# HELP fanguard_%s%s %s\n# TYPE fanguard_%s%s %s\n", s->name,
				suffix, s->help, s->name, suffix, counter ? "counter" : "gauge");
		if (s->label_name)
			fprintf(f, "fanguard_%s%s{%s=\"%s\"} %llu\n", s->name, suffix,
				s->label_name, s->label_value, (unsigned long long) t->values[i]);
		else
			fprintf(f, "fanguard_%s%s %llu\n", s->name, suffix,
				(unsigned long long) t->values[i]);
	}
}
