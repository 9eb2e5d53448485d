/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* listener/lib/denylist: the streaming parser on hostile lines (NUL bytes,
 * cut digests, CR), chunking that must not change the result, the sorted
 * set against qsort, the files a loader must refuse without blocking, and
 * the publication slot's references. Unprivileged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "denylist.h"

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct collect {
	uint8_t d[64][32];
	size_t n;
};

static int collect(void *userdata, const uint8_t digest[32])
{
	struct collect *c = userdata;

	if (c->n < 64)
		memcpy(c->d[c->n], digest, 32);
	c->n++;
	return 0;
}

/* Parses text fed in chunks of `chunk` bytes: digests found, or -errno. */
static int parse(const char *text, size_t len, size_t chunk, struct collect *c, unsigned *ret_line)
{
	struct denylist_parser p;
	int r = 0;

	memset(c, 0, sizeof(*c));
	denylist_parser_init(&p);
	for (size_t off = 0; off < len && r >= 0; off += chunk)
		r = denylist_parser_feed(&p, text + off, len - off < chunk ? len - off : chunk,
					 collect, c);
	if (r >= 0)
		r = denylist_parser_finish(&p, collect, c);
	if (ret_line)
		*ret_line = p.line;
	return r < 0 ? r : (int) c->n;
}

static int parse_str(const char *text, unsigned *ret_line)
{
	struct collect c;

	return parse(text, strlen(text), 1u << 20, &c, ret_line);
}

static void test_lines(void **state)
{
	struct collect c;
	unsigned line = 0;

	(void) state;
	assert_int_equal(parse_str("", NULL), 0);
	assert_int_equal(parse_str("\n\n  \t\n# comment\n", NULL), 0);
	assert_int_equal(parse(HEX "\n", 65, 7, &c, NULL), 1);
	assert_int_equal(c.d[0][0], 0xe3);
	assert_int_equal(c.d[0][31], 0x55);
	/* sha256sum output, comments, CRLF, upper case, no final newline. */
	assert_int_equal(parse_str(HEX "  /bin/evil\n", NULL), 1);
	assert_int_equal(parse_str("  " HEX "#note\n", NULL), 1);
	assert_int_equal(parse_str(HEX "\r\n\r\n", NULL), 1);
	assert_int_equal(
		parse_str("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", NULL),
		1);
	/* Too short, too long, not hex: the line is named. */
	assert_int_equal(parse_str("# ok\ne3b0c442\n", &line), -EBADMSG);
	assert_int_equal(line, 2);
	assert_int_equal(parse_str(HEX "0\n", &line), -EBADMSG);
	assert_int_equal(line, 1);
	assert_int_equal(
		parse_str("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g\n",
			  &line),
		-EBADMSG);
	/* A digest cut by the end of the file. */
	assert_int_equal(parse_str(HEX "\ne3b0c4", &line), -EBADMSG);
	assert_int_equal(line, 2);
	/* A CR that does not end the line. */
	assert_int_equal(parse_str("\rjunk\n", &line), -EBADMSG);
}

static void test_nul(void **state)
{
	static const char text[] = HEX "\n# x\n" HEX "  name\0tail\n";
	struct collect c;
	unsigned line = 0;

	(void) state;
	/* Whatever the chunking, the NUL is found on line 3; nothing is cut. */
	for (size_t chunk = 1; chunk < sizeof(text); chunk += 13) {
		assert_int_equal(parse(text, sizeof(text) - 1, chunk, &c, &line), -EILSEQ);
		assert_int_equal(line, 3);
	}
	assert_int_equal(parse("\0", 1, 1, &c, &line), -EILSEQ);
	assert_int_equal(line, 1);
}

static void test_chunking_is_invisible(void **state)
{
	unsigned seed = 7;

	(void) state;
	for (int round = 0; round < 2000; round++) {
		static const char alphabet[] = "0123456789abcdefABCDEF \t#\r\n\nxz";
		char text[400];
		size_t len = (size_t) (rand_r(&seed) % sizeof(text));
		struct collect whole, part;
		unsigned lw = 0, lp = 0;
		int rw, rp;

		/* Mostly well-formed: digest lines with noise. */
		for (size_t i = 0; i < len; i++)
			text[i] = rand_r(&seed) % 4
					  ? "0123456789abcdef"[rand_r(&seed) % 16]
					  : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		rw = parse(text, len, len ? len : 1, &whole, &lw);
		rp = parse(text, len, 1 + (size_t) (rand_r(&seed) % 17), &part, &lp);
		assert_int_equal(rw, rp);
		assert_int_equal(lw, lp);
		if (rw > 0)
			assert_memory_equal(whole.d, part.d, 32 * (size_t) (rw < 64 ? rw : 64));
	}
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void check_set(uint8_t (*d)[32], size_t n)
{
	struct denylist_builder *b = NULL;
	struct denylist *dl = NULL;
	uint8_t(*sorted)[32] = malloc(n * 32 + 32);
	size_t u = 0;

	assert_non_null(sorted);
	assert_int_equal(denylist_builder_new(&b), 0);
	assert_int_equal(denylist_builder_add(b, (const uint8_t(*)[32]) d, n), 0);
	assert_int_equal(denylist_builder_finish(b, &dl), 0);
	memcpy(sorted, d, n * 32);
	qsort(sorted, n, 32, cmp32);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || memcmp(sorted[u - 1], sorted[i], 32) != 0)
			memmove(sorted[u++], sorted[i], 32);
	assert_int_equal(denylist_size(dl), u);
	for (size_t i = 0; i < n; i++)
		assert_true(denylist_contains(dl, d[i]));
	for (size_t i = 0; i < 1000; i++) {
		uint8_t x[32];

		memcpy(x, d[i % n], 32);
		x[31] ^= 0x80;
		x[0] ^= (uint8_t) i;
		assert_int_equal(denylist_contains(dl, x),
				 bsearch(x, sorted, u, 32, cmp32) != NULL);
	}
	denylist_unref(dl);
	denylist_builder_free(b);
	free(sorted);
}

static void test_set(void **state)
{
	const size_t n = 200000;
	uint8_t(*d)[32] = malloc(n * 32);
	unsigned seed = 3;

	(void) state;
	assert_non_null(d);
	/* Random digests, with duplicates. */
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 32; j++)
			d[i][j] = (uint8_t) rand_r(&seed);
	for (size_t i = 0; i < n; i += 10)
		memcpy(d[i], d[(i * 7) % n], 32);
	check_set(d, n);
	/* Hostile: every digest shares 30 bytes, so the radix sort goes deep. */
	for (size_t i = 0; i < n; i++) {
		memset(d[i], 0x41, 30);
		d[i][30] = (uint8_t) rand_r(&seed);
		d[i][31] = (uint8_t) rand_r(&seed);
	}
	check_set(d, n);
	/* Tiny and empty sets. */
	check_set(d, 1);
	{
		struct denylist_builder *b = NULL;
		struct denylist *dl = NULL;

		assert_int_equal(denylist_builder_new(&b), 0);
		assert_int_equal(denylist_builder_finish(b, &dl), 0);
		assert_int_equal(denylist_size(dl), 0);
		assert_false(denylist_contains(dl, d[0]));
		assert_false(denylist_contains(NULL, d[0]));
		denylist_unref(dl);
		denylist_builder_free(b);
	}
	free(d);
}

static int add_file(const char *path, unsigned *line)
{
	struct denylist_builder *b = NULL;
	int r;

	assert_int_equal(denylist_builder_new(&b), 0);
	r = denylist_builder_add_file(b, path, line);
	denylist_builder_free(b);
	return r;
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t) len);
	close(fd);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/fg-unit-denylist.XXXXXX", p[128], q[128];
	unsigned line = 0;

	(void) state;
	assert_non_null(mkdtemp(dir));
	/* A FIFO with no writer: refused at once, never waited on. */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(add_file(p, &line), -EBADFD);
	unlink(p);
	/* Devices and directories. */
	assert_int_equal(add_file("/dev/zero", &line), -EBADFD);
	assert_int_equal(add_file("/dev/null", &line), -EBADFD);
	assert_int_equal(add_file(dir, &line), -EISDIR);
	/* A symlink to a good list: refused (O_NOFOLLOW). */
	snprintf(p, sizeof(p), "%s/good", dir);
	write_file(p, HEX "\n", 65);
	assert_int_equal(add_file(p, &line), 1);
	snprintf(q, sizeof(q), "%s/link", dir);
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(add_file(q, &line), -ELOOP);
	unlink(q);
	/* Empty, or comments only: no digest is an error, not "0 loaded". */
	write_file(p, "", 0);
	assert_int_equal(add_file(p, &line), -ENODATA);
	write_file(p, "# nothing\n\n", 11);
	assert_int_equal(add_file(p, &line), -ENODATA);
	/* A NUL byte names its line. */
	write_file(p, HEX "\n" HEX "\n\0\n", 132);
	assert_int_equal(add_file(p, &line), -EILSEQ);
	assert_int_equal(line, 3);
	/* A big sparse file: NUL bytes from the start, refused at line 1
	 * without reading it all. */
	{
		int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t) 10 << 30), 0);
		close(fd);
		assert_int_equal(add_file(p, &line), -EILSEQ);
		assert_int_equal(line, 1);
	}
	unlink(p);
	assert_int_equal(add_file("/nonexistent/x", &line), -ENOENT);
	rmdir(dir);
}

static void test_slot(void **state)
{
	struct denylist_slot s;
	struct denylist_builder *b = NULL;
	struct denylist *a = NULL, *c = NULL, *held;
	uint8_t d[2][32] = {{1}, {2}};

	(void) state;
	denylist_slot_init(&s);
	assert_null(denylist_slot_acquire(&s));
	assert_int_equal(denylist_builder_new(&b), 0);
	assert_int_equal(denylist_builder_add(b, (const uint8_t(*)[32]) d, 1), 0);
	assert_int_equal(denylist_builder_finish(b, &a), 0);
	assert_int_equal(denylist_builder_add(b, (const uint8_t(*)[32]) d + 1, 1), 0);
	assert_int_equal(denylist_builder_finish(b, &c), 0);
	denylist_slot_publish(&s, a);
	held = denylist_slot_acquire(&s);
	assert_ptr_equal(held, a);
	/* A reader keeps the old set alive across a swap. */
	denylist_slot_publish(&s, c);
	assert_true(denylist_contains(held, d[0]));
	assert_false(denylist_contains(held, d[1]));
	denylist_unref(held);
	assert_int_equal(denylist_slot_size(&s), 1);
	held = denylist_slot_acquire(&s);
	assert_true(denylist_contains(held, d[1]));
	denylist_unref(held);
	denylist_slot_done(&s);
	denylist_builder_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_chunking_is_invisible),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
