/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl reload: re-read fanguard.conf and the denylists, like SIGHUP,
 * but synchronous: the exit status says whether the new configuration is in
 * force (on failure the old one stays, and the daemon logs why). */
#include <stdio.h>
#include "fanguardctl.h"
#include "macro.h"

int verb_reload(const struct ctl_args *a)
{
	_cleanup_free_ char *out = NULL;
	int r = ctl_request(a, "reload", &out);

	if (r < 0)
		return r;
	puts("reloaded");
	return 0;
}
