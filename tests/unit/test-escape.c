/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/escape: hostile names come out as one visible line; valid UTF-8
 * stays; the cap cuts at a character boundary and says so; idempotent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "escape.h"

static void check(const char *in, size_t len, const char *want)
{
	char out[256];

	escape_mem(out, sizeof(out), in, len);
	assert_string_equal(out, want);
	/* A second pass changes nothing. */
	assert_true(escape_is_clean(out, strlen(out)));
}

#define CHECK(lit, want) check((lit), sizeof(lit) - 1, (want))

static void test_controls(void **state)
{
	(void) state;
	CHECK("plain name.txt", "plain name.txt");
	CHECK("a\nb", "a\\nb");
	CHECK("a\r\nfanguardd: deny pid=1 path=/x", "a\\r\\nfanguardd: deny pid=1 path=/x");
	CHECK("\t", "\\t");
	CHECK("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	CHECK("\x7f\x01\x1f", "\\x7f\\x01\\x1f");
	CHECK("nul\0inside", "nul\\x00inside");
}

static void test_utf8(void **state)
{
	(void) state;
	CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK("\xff\xfe", "\\xff\\xfe");
	CHECK("\xc3", "\\xc3");				   /* truncated sequence */
	CHECK("\xc3(", "\\xc3(");			   /* bad continuation */
	CHECK("\xc0\xaf", "\\xc0\\xaf");		   /* overlong '/' */
	CHECK("\xe0\x80\xaf", "\\xe0\\x80\\xaf");	   /* overlong */
	CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80");	   /* surrogate */
	CHECK("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	CHECK("\x80", "\\x80");
	/* C1 CSI, line separator, right-to-left override: valid but hostile. */
	CHECK("\xc2\x9b"
	      "31m",
	      "\\u009b31m");
	CHECK("a\xe2\x80\xa8"
	      "b",
	      "a\\u2028b");
	CHECK("evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe");
}

static void test_cap(void **state)
{
	char out[32], in[100];
	size_t n;

	(void) state;
	memset(in, 'a', sizeof(in));
	n = escape_mem(out, sizeof(out), in, sizeof(in));
	assert_int_equal(n, strlen(out));
	assert_true(n <= sizeof(out) - 1);
	assert_non_null(strstr(out, ESCAPE_TRUNCATED_MARKER));
	assert_int_equal(strlen(out), sizeof(out) - 1);

	/* Exactly fits: no marker. */
	memset(in, 'b', sizeof(out) - 1);
	n = escape_mem(out, sizeof(out), in, sizeof(out) - 1);
	assert_int_equal(n, sizeof(out) - 1);
	assert_null(strstr(out, "truncated"));

	/* Never cut inside an escape or a UTF-8 sequence. */
	for (size_t sz = sizeof(ESCAPE_TRUNCATED_MARKER) + 1; sz < sizeof(out); sz++) {
		static const char hostile[] =
			"\x1b\x1b\xc3\xa9\xff\n\xe2\x82\xac\x1b\x1b\x1b\x1b\x1b";

		n = escape_mem(out, sz, hostile, sizeof(hostile) - 1);
		assert_true(n < sz);
		assert_true(escape_is_clean(out, n));
		if (strstr(out, ESCAPE_TRUNCATED_MARKER)) {
			const char *cut = strstr(out, ESCAPE_TRUNCATED_MARKER);
			/* The text before the marker is whole escapes only. */
			assert_true(cut == out || cut[-1] == 'b' || cut[-1] == 'f' ||
				    cut[-1] == 'n' || cut[-1] == '\xa9' || cut[-1] == '\xac');
		}
	}
	/* Too small for the marker: empty. */
	assert_int_equal(escape_mem(out, 4, "abcdef", 6), 0);
	assert_string_equal(out, "");
}

static void test_strdup(void **state)
{
	char *s;

	(void) state;
	s = escape_strdup("\xff\xff\xff\xff\n");
	assert_non_null(s);
	assert_string_equal(s, "\\xff\\xff\\xff\\xff\\n");
	free(s);
}

static void test_random_is_clean(void **state)
{
	unsigned seed = 1;

	(void) state;
	for (int round = 0; round < 20000; round++) {
		char in[64], out[512];
		size_t len = (size_t) (rand_r(&seed) % sizeof(in)), n;

		for (size_t i = 0; i < len; i++)
			in[i] = (char) rand_r(&seed);
		n = escape_mem(out, sizeof(out), in, len);
		assert_true(escape_is_clean(out, n));
		for (size_t i = 0; i < n; i++)
			assert_true((unsigned char) out[i] >= 0x20 && out[i] != 0x7f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_strdup),
		cmocka_unit_test(test_random_is_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
