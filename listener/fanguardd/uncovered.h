/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's view of the mounts a watch covers but that are not marked
 * (fanguard_foreach_uncovered()): the status text, the mounts JSON, the
 * systemd status line and the on-uncovered policy. */
#include <json-c/json.h>
#include <stdbool.h>
#include "fanguard.h"

/* The health a policy of fail makes of it (fanguard_check_health()'s
 * value otherwise): -ENOLINK while a watched mount is uncovered. */
#define UNCOVERED_HEALTH (-ENOLINK)

/* Mounts uncovered now. */
unsigned uncovered_count(struct fanguard *fg);
/* "coverage: ..." lines for fanguardctl status (at most 10 mounts named).
 * Caller frees. */
int uncovered_status_text(struct fanguard *fg, char **ret);
/* Appends one object per uncovered mount to the mounts array (class
 * "uncovered", covered false, cause, error, hint). */
int uncovered_json_add(struct fanguard *fg, struct json_object *arr);
/* At start: logs what is uncovered; with fail, -ENOLINK. */
int uncovered_check_start(struct fanguard *fg, bool fail);
