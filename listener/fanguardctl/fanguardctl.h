/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardctl: one file per verb; each verb sends one request line to the
 * daemon's control socket (control.c in fanguardd) and prints the answer. */
#include <stdbool.h>

struct ctl_args {
	const char *socket;
	bool json;
};

/* Sends verb, returns the payload after "OK\n" (caller frees). An "ERR ..."
 * answer is logged and returned as -EBADE. */
int ctl_request(const struct ctl_args *a, const char *verb, char **ret);

int verb_status(const struct ctl_args *a);
int verb_stats(const struct ctl_args *a);
int verb_metrics(const struct ctl_args *a);
int verb_mounts(const struct ctl_args *a);
int verb_reload(const struct ctl_args *a);
