/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control protocol's request parser: pure, no I/O, no allocation (the
 * fuzz target compiles it alone). See control.h for the protocol. */
#include <errno.h>
#include <string.h>
#include "control.h"

static const char *const verbs[_CONTROL_VERB_MAX] = {
	[CONTROL_STATUS] = "status", [CONTROL_STATS] = "stats",	  [CONTROL_METRICS] = "metrics",
	[CONTROL_MOUNTS] = "mounts", [CONTROL_RELOAD] = "reload", [CONTROL_SCAN] = "scan",
};

int control_parse_request(const char *buf, size_t len, bool eof)
{
	const char *nl = memchr(buf, '\n', len < CONTROL_REQUEST_MAX ? len : CONTROL_REQUEST_MAX);
	size_t l;

	if (!nl) {
		if (len >= CONTROL_REQUEST_MAX)
			return -EMSGSIZE;
		if (!eof)
			return -EAGAIN;
		l = len; /* the client shut down writing without a newline */
	} else
		l = (size_t) (nl - buf);
	if (l > 0 && buf[l - 1] == '\r')
		l--;
	for (int v = 0; v < _CONTROL_VERB_MAX; v++)
		if (strlen(verbs[v]) == l && memcmp(verbs[v], buf, l) == 0)
			return v;
	return -EINVAL;
}

const char *control_verb_to_string(int v)
{
	return v >= 0 && v < _CONTROL_VERB_MAX ? verbs[v] : "?";
}
