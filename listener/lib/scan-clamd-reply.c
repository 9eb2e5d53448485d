/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clamd reply parser (fuzzed by tests/fuzz/fuzz-clamd-reply.c). Kept apart
 * from the socket code so the fuzzer compiles just this. */
#include <errno.h>
#include <string.h>
#include "scan-clamd.h"

static bool ends_with(const char *s, size_t len, const char *suffix, size_t *ret_stem)
{
	size_t n = strlen(suffix);

	if (len < n || memcmp(s + len - n, suffix, n) != 0)
		return false;
	*ret_stem = len - n;
	return true;
}

static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int clamd_parse_reply(const char *buf, size_t len, struct clamd_reply *ret)
{
	struct clamd_reply r = {0};
	size_t stem, i = 0;

	if (len > CLAMD_REPLY_MAX)
		return -EMSGSIZE;
	while (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == '\n'))
		len--;
	if (len == 0)
		return -EBADMSG;
	for (size_t j = 0; j < len; j++)
		if ((unsigned char) buf[j] < 0x20 && buf[j] != '\t')
			return -EBADMSG;

	/* IDSESSION prefix: "<decimal>: " */
	while (i < len && i < 10 && buf[i] >= '0' && buf[i] <= '9')
		i++;
	if (i > 0 && i + 1 < len && buf[i] == ':' && buf[i + 1] == ' ') {
		r.has_id = true;
		for (size_t j = 0; j < i; j++)
			r.id = r.id * 10 + (unsigned long) (buf[j] - '0');
		buf += i + 2;
		len -= i + 2;
	}

	if (ends_with(buf, len, ": OK", &stem)) {
		r.status = CLAMD_CLEAN;
	} else if (ends_with(buf, len, " FOUND", &stem)) {
		/* "<subject>: <signature> FOUND"; the subject (a path) may
		 * itself hold ": ", the signature never does. */
		size_t start = stem;

		while (start >= 2 && !(buf[start - 2] == ':' && buf[start - 1] == ' '))
			start--;
		if (start < 2 || start == stem)
			return -EBADMSG;
		r.status = CLAMD_FOUND;
		copy_text(r.text, sizeof(r.text), buf + start, stem - start);
	} else if (ends_with(buf, len, "ERROR", &stem)) {
		while (stem > 0 && buf[stem - 1] == ' ')
			stem--;
		r.status = CLAMD_ERROR;
		copy_text(r.text, sizeof(r.text), buf, stem);
	} else
		return -EBADMSG;
	*ret = r;
	return 0;
}

int clamd_parse_max_threads(const char *buf, size_t len, unsigned *ret)
{
	static const char key[] = "\nTHREADS: ";
	const char *p = NULL;
	unsigned long max = 0;
	bool digits = false;

	/* "THREADS: live 1  idle 0 max 10 idle-timeout 30", on a line of its
	 * own (the reply starts "POOLS: ", never with it). */
	for (size_t i = 0; i + sizeof(key) - 1 <= len; i++)
		if (memcmp(buf + i, key, sizeof(key) - 1) == 0) {
			p = buf + i + sizeof(key) - 1;
			break;
		}
	if (!p)
		return -EBADMSG;
	for (const char *end = buf + len; p + 5 <= end && *p != '\n'; p++) {
		if (memcmp(p, " max ", 5) != 0)
			continue;
		for (p += 5; p < end && *p >= '0' && *p <= '9' && max <= 100000; p++) {
			max = max * 10 + (unsigned long) (*p - '0');
			digits = true;
		}
		if (!digits || max == 0 || max > 100000)
			return -EBADMSG;
		*ret = (unsigned) max;
		return 0;
	}
	return -EBADMSG;
}
