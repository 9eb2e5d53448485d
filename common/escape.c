/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Visible escaping for every log sink (see escape.h). Pure functions: no
 * allocation except escape_strdup(), no locale, safe on any thread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"

/* Longest output of one input character: "\xHH" per byte of a 4-byte
 * sequence never happens (an invalid byte is escaped alone), "\uXXXX" is 6. */
#define ESCAPE_MAX_PER_CHAR 6

/* Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * sets *cp, or 0 if the sequence is invalid (overlong, surrogate, > U+10FFFF,
 * truncated or a stray continuation byte). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Valid code points that still change how a line reads. */
static int needs_uescape(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* Writes the escaped form of the character at s into tmp; returns the
 * input length consumed and sets *outlen. */
static size_t escape_one(const unsigned char *s, size_t n, char tmp[ESCAPE_MAX_PER_CHAR + 1],
			 size_t *outlen)
{
	uint32_t cp;
	size_t l;

	if (s[0] >= 0x20 && s[0] < 0x7f) {
		tmp[0] = (char) s[0];
		*outlen = 1;
		return 1;
	}
	switch (s[0]) {
	case '\n':
		memcpy(tmp, "\\n", 2);
		*outlen = 2;
		return 1;
	case '\r':
		memcpy(tmp, "\\r", 2);
		*outlen = 2;
		return 1;
	case '\t':
		memcpy(tmp, "\\t", 2);
		*outlen = 2;
		return 1;
	default:
		break;
	}
	l = s[0] < 0x80 ? 0 : utf8_decode(s, n, &cp);
	if (l == 0) {
		/* C0 control, DEL or a byte that starts no valid sequence. */
		*outlen = (size_t) snprintf(tmp, ESCAPE_MAX_PER_CHAR + 1, "\\x%02x", s[0]);
		return 1;
	}
	if (needs_uescape(cp)) {
		*outlen = (size_t) snprintf(tmp, ESCAPE_MAX_PER_CHAR + 1, "\\u%04x", (unsigned) cp);
		return l;
	}
	memcpy(tmp, s, l);
	*outlen = l;
	return l;
}

/* The escaped length of s[0..len), or limit + 1 once it exceeds limit. */
static size_t escaped_len_upto(const unsigned char *s, size_t len, size_t limit)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o <= limit;) {
		char tmp[ESCAPE_MAX_PER_CHAR + 1];
		size_t tl;

		i += escape_one(s + i, len - i, tmp, &tl);
		o += tl;
	}
	return o <= limit ? o : limit + 1;
}

size_t escape_mem(char *out, size_t outsz, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *) src;
	const size_t mlen = sizeof(ESCAPE_TRUNCATED_MARKER) - 1;
	size_t i = 0, o = 0;

	if (outsz == 0)
		return 0;
	out[0] = '\0';
	if (outsz <= mlen)
		return 0;
	/* Invariant: o + mlen + 1 <= outsz, room for the marker is kept. */
	while (i < len) {
		char tmp[ESCAPE_MAX_PER_CHAR + 1];
		size_t tl, used = escape_one(s + i, len - i, tmp, &tl);

		if (o + tl + mlen + 1 > outsz &&
		    escaped_len_upto(s + i, len - i, outsz - o - 1) > outsz - o - 1) {
			memcpy(out + o, ESCAPE_TRUNCATED_MARKER, mlen);
			o += mlen;
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
		i += used;
	}
	out[o] = '\0';
	return o;
}

size_t escape_str(char *out, size_t outsz, const char *src)
{
	return escape_mem(out, outsz, src, strlen(src));
}

bool escape_is_clean(const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *) src;

	for (size_t i = 0; i < len;) {
		char tmp[ESCAPE_MAX_PER_CHAR + 1];
		size_t tl, used = escape_one(s + i, len - i, tmp, &tl);

		if (tl != used || memcmp(tmp, s + i, used) != 0)
			return false;
		i += used;
	}
	return true;
}

char *escape_strdup(const char *src)
{
	size_t len = strlen(src), sz;
	char *out;

	if (len > (SIZE_MAX - 1) / ESCAPE_MAX_PER_CHAR)
		return NULL;
	sz = len * ESCAPE_MAX_PER_CHAR + sizeof(ESCAPE_TRUNCATED_MARKER);
	out = malloc(sz);
	if (!out)
		return NULL;
	(void) escape_mem(out, sz, src, len);
	return out;
}
