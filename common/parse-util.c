/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Number parsing shared by fanguardd, fusetest and the tests. */
#include <errno.h>
#include <stdlib.h>
#include "log.h"
#include "parse-util.h"

int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL; /* strtoull would take " 1", "+1" and "-1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_uint_arg(const char *s, const char *what, uint64_t max, uint64_t *ret)
{
	int r = parse_u64(s, max, ret);

	if (r < 0)
		return log_error_errno(EINVAL, "Invalid %s '%s' (0..%llu)", what, s,
				       (unsigned long long) max);
	return 0;
}
