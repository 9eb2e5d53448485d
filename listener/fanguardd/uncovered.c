/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Uncovered mounts, as fanguardd shows them (uncovered.h). Mount points are
 * user-controlled: the status text prints control characters as '?'. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "macro.h"
#include "uncovered.h"

static int count_one(void *userdata, const struct fanguard_uncovered_info *u)
{
	(void) u;
	(*(unsigned *) userdata)++;
	return 0;
}

unsigned uncovered_count(struct fanguard *fg)
{
	unsigned n = 0;

	(void) fanguard_foreach_uncovered(fg, count_one, &n);
	return n;
}

struct text {
	FILE *f;
	unsigned n;
};

static void put_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		(void) fputc((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static int text_one(void *userdata, const struct fanguard_uncovered_info *u)
{
	struct text *t = userdata;

	if (t->n++ >= 10)
		return 0;
	fprintf(t->f, "  NOT COVERED: mount %llu '", (unsigned long long) u->mnt_id);
	put_safe(t->f, u->mount_point);
	fprintf(t->f, "': %s%s%s; %s\n", u->cause, u->error ? ": " : "",
		u->error ? strerror(u->error) : "", u->hint);
	return 0;
}

int uncovered_status_text(struct fanguard *fg, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct text t = {};
	size_t len = 0;

	t.f = open_memstream(&buf, &len);
	if (!t.f)
		return -ENOMEM;
	(void) fanguard_foreach_uncovered(fg, text_one, &t);
	if (t.n > 10)
		fprintf(t.f, "  ... and %u more (fanguardctl mounts)\n", t.n - 10);
	if (fclose(t.f) != 0)
		return -ENOMEM;
	if (asprintf(ret, "coverage: %s%u watched mount%s NOT covered\n%s",
		     t.n ? "" : "every watched mount marked; ", t.n, t.n == 1 ? "" : "s",
		     buf ? buf : "") < 0)
		return -ENOMEM;
	return 0;
}

static int json_one(void *userdata, const struct fanguard_uncovered_info *u)
{
	struct json_object *a = userdata, *o = json_object_new_object();
	char ev[512];

	if (!o)
		return -ENOMEM;
	(void) snprintf(ev, sizeof(ev), "NOT COVERED: %s%s%s; %s", u->cause, u->error ? ": " : "",
			u->error ? strerror(u->error) : "", u->hint);
	json_object_object_add(o, "path", json_object_new_string(u->mount_point));
	json_object_object_add(o, "mount_point", json_object_new_string(u->mount_point));
	json_object_object_add(o, "mount_id", json_object_new_uint64(u->mnt_id));
	json_object_object_add(o, "fstype", json_object_new_string("?"));
	json_object_object_add(o, "class", json_object_new_string("uncovered"));
	json_object_object_add(o, "evidence", json_object_new_string(ev));
	json_object_object_add(o, "group", json_object_new_string("-"));
	json_object_object_add(o, "covered", json_object_new_boolean(0));
	json_object_object_add(o, "cause", json_object_new_string(u->cause));
	json_object_object_add(o, "error", json_object_new_int(u->error));
	json_object_object_add(o, "hint", json_object_new_string(u->hint));
	json_object_array_add(a, o);
	return 0;
}

int uncovered_json_add(struct fanguard *fg, struct json_object *arr)
{
	return fanguard_foreach_uncovered(fg, json_one, arr);
}

int uncovered_check_start(struct fanguard *fg, bool fail)
{
	unsigned n = uncovered_count(fg);

	if (n == 0)
		return 0;
	if (fail)
		return log_error_errno(ENOLINK,
				       "%u watched mount%s NOT covered (see the lines above, "
				       "fanguardctl mounts); on-uncovered=fail: exiting",
				       n, n == 1 ? " is" : "s are");
	log_warning("%u watched mount%s NOT covered (see the lines above); on-uncovered=warn: "
		    "running without %s",
		    n, n == 1 ? " is" : "s are", n == 1 ? "it" : "them");
	return 0;
}
