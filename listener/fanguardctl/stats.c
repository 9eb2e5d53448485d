/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl stats: every counter as one JSON object (checked with json-c
 * before printing, so a truncated answer is an error, not bad JSON). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"

int verb_stats(const struct ctl_args *a)
{
	_cleanup_free_ char *out = NULL;
	struct json_object *o;
	int r = ctl_request(a, "stats", &out);

	if (r < 0)
		return r;
	o = json_tokener_parse(out);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return log_error_errno(EPROTO, "fanguardd sent invalid JSON");
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}
