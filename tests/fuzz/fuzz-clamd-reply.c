/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for listener/lib/scan-clamd-reply.c: any bytes as what a
 * clamd (or whatever listens on its socket) replied. Checks what the scanner
 * relies on: a reply parses or is refused with -EBADMSG/-EMSGSIZE, never
 * reads past len, leaves *ret alone on refusal, NUL-terminates its text, and
 * a FOUND reply names a non-empty signature. Seeds: tests/fixtures/clamd-reply. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scan-clamd.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clamd_reply r, canary;
	/* An exact-size copy, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	int k;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&canary, 0x5a, sizeof(canary));
	r = canary;
	k = clamd_parse_reply(buf, size, &r);
	check(k == 0 || k == -EBADMSG || k == -EMSGSIZE);
	if (k < 0) {
		check(memcmp(&r, &canary, sizeof(r)) == 0);
	} else {
		check(memchr(r.text, '\0', sizeof(r.text)) != NULL);
		check(r.status == CLAMD_CLEAN || r.status == CLAMD_FOUND ||
		      r.status == CLAMD_ERROR);
		if (r.status == CLAMD_FOUND)
			check(r.text[0] != '\0');
		if (r.status == CLAMD_CLEAN)
			check(size >= 4);
	}
	if (size > CLAMD_REPLY_MAX)
		check(k == -EMSGSIZE);
	{
		unsigned n = 0;

		k = clamd_parse_max_threads(buf, size, &n);
		check(k == 0 || k == -EBADMSG);
		check(k < 0 || (n >= 1 && n <= 100000));
	}
	free(buf);
	return 0;
}
