/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl metrics: the counters in Prometheus text format (0.0.4). */
#include <stdio.h>
#include "fanguardctl.h"
#include "macro.h"

int verb_metrics(const struct ctl_args *a)
{
	_cleanup_free_ char *out = NULL;
	int r = ctl_request(a, "metrics", &out);

	if (r < 0)
		return r;
	fputs(out, stdout);
	return 0;
}
