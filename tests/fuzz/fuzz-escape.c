/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for common/escape.c: any bytes as a file name, escaped
 * into a buffer whose size the input picks. Checks: the output is
 * NUL-terminated within the buffer, holds no control byte, DEL, invalid
 * UTF-8 or C1/bidi control, is unchanged by a second pass, and is either the
 * whole escaped text or a prefix of it followed by the marker. */
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outsz, n, full_n;
	char *in, *out, *full, *again;

	if (size < 2)
		return 0;
	outsz = ((size_t) data[0] << 8 | data[1]) % 2048;
	data += 2;
	size -= 2;
	in = malloc(size ? size : 1);
	out = malloc(outsz ? outsz : 1);
	full = malloc(size * 6 + sizeof(ESCAPE_TRUNCATED_MARKER));
	again = malloc(size * 6 + sizeof(ESCAPE_TRUNCATED_MARKER));
	check(in && out && full && again);
	memcpy(in, data, size);
	n = escape_mem(out, outsz, in, size);
	full_n = escape_mem(full, size * 6 + sizeof(ESCAPE_TRUNCATED_MARKER), in, size);
	/* Room for the worst case: never cut. */
	check(strlen(full) == full_n);
	check(escape_is_clean(full, full_n));
	for (size_t i = 0; i < full_n; i++)
		check((unsigned char) full[i] >= 0x20 && full[i] != 0x7f);
	/* Idempotent. */
	check(escape_mem(again, size * 6 + sizeof(ESCAPE_TRUNCATED_MARKER), full, full_n) ==
	      full_n);
	check(memcmp(again, full, full_n) == 0);
	if (outsz > 0) {
		check(n < outsz && out[n] == '\0' && strlen(out) == n);
		check(escape_is_clean(out, n));
		if (n == full_n)
			check(memcmp(out, full, n) == 0);
		else if (n > 0) {
			size_t m = sizeof(ESCAPE_TRUNCATED_MARKER) - 1;

			check(n >= m && memcmp(out + n - m, ESCAPE_TRUNCATED_MARKER, m) == 0);
			check(memcmp(out, full, n - m) == 0);
		}
	}
	free(in);
	free(out);
	free(full);
	free(again);
	return 0;
}
