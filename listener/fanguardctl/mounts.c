/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl mounts: the watches, each with its mount, class (local, fuse,
 * fuse-backed, network) and the evidence for that class, as a table or
 * (--json) as the daemon's JSON array. */
#include <errno.h>
#include <json-c/json.h>
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

			const char *origin = field(o, "origin");

			printf("%-28s %-8s %-12s %-14s %-8s %s\n", field(o, "path"),
			       field(o, "mount_id"), field(o, "class"), field(o, "fstype"),
			       field(o, "group"), field(o, "evidence"));
			if (origin[0] && strcmp(origin, "?") != 0)
				printf("%-28s   served by: %s\n", "", origin);
		}
	}
	json_object_put(arr);
	return 0;
}
