/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl mounts: the watches, each with its mount, class (local, fuse,
 * fuse-backed, network) and the evidence for that class, as a table or
 * (--json) as the daemon's JSON array. For a FUSE mount also: whether it is
 * served from this host, the policy, and the daemon's evidence ("origin",
 * from loopback.c) sorted into its daemon, helpers, backing (kernel facts:
 * what the daemon holds open, its cwd), hints (argv and the mount's source:
 * claims) and the rest. Paths in there are user-controlled: control
 * characters are printed as '?'. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "?";
}

static bool flag(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Writes s[0..n) with control characters (a newline, an escape sequence in
 * a file name) as '?'. */
static void put_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void) putchar((unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
}

/* The origin's "; "-separated items, sorted by what they are. */
static const struct {
	const char *label, *prefix;
} kinds[] = {
	{"daemon", "daemon "}, {"helpers", "helper "}, {"backing", "backing "},
	{"hints", "hint: "},   {"evidence", NULL}, /* everything else */
};

static bool item_is(const char *item, size_t len, int k)
{
	if (kinds[k].prefix)
		return len >= strlen(kinds[k].prefix) &&
		       strncmp(item, kinds[k].prefix, strlen(kinds[k].prefix)) == 0;
	for (size_t j = 0; j < ELEMENTSOF(kinds); j++)
		if (kinds[j].prefix && item_is(item, len, (int) j))
			return false;
	return true;
}

static void print_origin(const char *origin)
{
	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		bool first = true;

		for (const char *p = origin; *p;) {
			const char *end = strstr(p, "; ");
			size_t len = end ? (size_t) (end - p) : strlen(p);

			if (item_is(p, len, (int) k)) {
				printf("%-28s   %-9s ", "", first ? kinds[k].label : "");
				first = false;
				put_safe(p, len);
				(void) putchar('\n');
			}
			p += len;
			if (end)
				p += 2;
		}
	}
}

int verb_mounts(const struct ctl_args *a)
{
	_cleanup_free_ char *out = NULL;
	struct json_object *arr;
	int r = ctl_request(a, "mounts", &out);

	if (r < 0)
		return r;
	arr = json_tokener_parse(out);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return log_error_errno(EPROTO, "fanguardd sent invalid JSON");
	}
	if (a->json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else {
		printf("%-28s %-8s %-12s %-14s %-8s %s\n", "PATH", "MOUNT-ID", "CLASS", "FSTYPE",
		       "GROUP", "EVIDENCE");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i);
			const char *origin = field(o, "origin"), *path = field(o, "path"),
				   *ev = field(o, "evidence");

			put_safe(path, strlen(path));
			printf("%*s %-8s %-12s %-14s %-8s ",
			       strlen(path) < 28 ? (int) (28 - strlen(path)) : 0, "",
			       field(o, "mount_id"), field(o, "class"), field(o, "fstype"),
			       field(o, "group"));
			put_safe(ev, strlen(ev));
			(void) putchar('\n');
			if (flag(o, "untrusted"))
				printf("%-28s   %-9s untrusted: a user's daemon (user_id=%s); an "
				       "exec "
				       "whose scan fails or is late is denied\n",
				       "", "trust", field(o, "owner_uid"));
			else if (strcmp(field(o, "group"), "fuse") == 0)
				printf("%-28s   %-9s root's daemon (user_id=0)\n", "", "trust");
			if (strcmp(field(o, "same_fs_as_mount_id"), "0") != 0 &&
			    strcmp(field(o, "same_fs_as_mount_id"), "?") != 0)
				printf("%-28s   %-9s by group %s of mount %s (the same "
				       "filesystem)\n",
				       "", "covered", field(o, "group_name"),
				       field(o, "same_fs_as_mount_id"));
			if (flag(o, "overload") ||
			    strcmp(field(o, "unscanned_deadline"), "0") != 0 ||
			    strcmp(field(o, "unscanned_queue_full"), "0") != 0)
				printf("%-28s   %-9s %s%s past deadline, %s queue full (its "
				       "group)\n",
				       "", "unscanned", flag(o, "overload") ? "OVERLOAD now: " : "",
				       field(o, "unscanned_deadline"),
				       field(o, "unscanned_queue_full"));
			if (field(o, "event_mask")[0] && strcmp(field(o, "event_mask"), "?") != 0) {
				const char *why = field(o, "event_mask_why");

				printf("%-28s   %-9s %s: ", "", "events",
				       strcmp(field(o, "event_mask"), "access") == 0
					       ? "access (first read() and exec)"
					       : "open (open and exec)");
				put_safe(why, strlen(why));
				(void) putchar('\n');
			}
			if (!origin[0] || strcmp(origin, "?") == 0)
				continue;
			printf("%-28s   %-9s %s\n", "", "served",
			       flag(o, "loopback") ? "from this host"
						   : "not shown to be from this host");
			printf("%-28s   %-9s %s\n", "", "policy",
			       flag(o, "content_at_backing")
				       ? "scanned at the backing layer, not read through the daemon"
				       : "read through the daemon");
			print_origin(origin);
		}
	}
	json_object_put(arr);
	return 0;
}
