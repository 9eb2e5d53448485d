/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl status: state, configuration, counters in a few lines. */
#include <stdio.h>
#include "fanguardctl.h"
#include "macro.h"

int verb_status(const struct ctl_args *a)
{
	_cleanup_free_ char *out = NULL;
	int r = ctl_request(a, "status", &out);

	if (r < 0)
		return r;
	fputs(out, stdout);
	return 0;
}
