/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for listener/fanguardd/control-request.c: any bytes as
 * what a control client sent, with or without EOF. Checks: the result is a
 * verb or -EAGAIN/-EMSGSIZE/-EINVAL; -EAGAIN only without EOF and below the
 * cap; a verb is exactly its name before the first newline (CR allowed);
 * bytes past the cap are never looked at (the input is copied to an exact
 * size buffer, so ASan sees a read past it). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "control.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool eof = size > 0 && (data[0] & 1);
	const char *buf;
	char *copy;
	size_t len;
	int r, r2;

	if (size > 0)
		data++, size--;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	buf = copy;
	len = size;
	r = control_parse_request(buf, len, eof);
	check(r == -EAGAIN || r == -EMSGSIZE || r == -EINVAL || (r >= 0 && r < _CONTROL_VERB_MAX));
	if (r == -EAGAIN)
		check(!eof && len < CONTROL_REQUEST_MAX && !memchr(buf, '\n', len));
	if (r >= 0) {
		const char *v = control_verb_to_string(r);
		size_t vl = strlen(v);

		check(len >= vl && memcmp(buf, v, vl) == 0);
		check(len == vl || buf[vl] == '\n' ||
		      (buf[vl] == '\r' && (len == vl + 1 || buf[vl + 1] == '\n')));
	}
	/* Only the first CONTROL_REQUEST_MAX bytes count. */
	if (len > CONTROL_REQUEST_MAX) {
		r2 = control_parse_request(buf, CONTROL_REQUEST_MAX, false);
		check(r2 == r || (r2 == -EAGAIN && r == -EMSGSIZE) ||
		      (r == -EMSGSIZE && r2 == -EMSGSIZE));
	}
	free(copy);
	return 0;
}
