/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for listener/lib/denylist.c: any bytes as a denylist
 * file. Checks: the parse fed whole and fed in two pieces split at a point
 * the input picks gives the same result, line and digests (the streaming
 * state is invisible); errors are only -EBADMSG or -EILSEQ, with a line
 * inside the input; a set built from the digests contains each of them and
 * nothing else that was probed. Seeds: tests/fixtures/denylist. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "denylist.h"
#include "fuzz-util.h"

struct out {
	uint8_t (*d)[32];
	size_t n, cap;
};

static int emit(void *userdata, const uint8_t digest[32])
{
	struct out *o = userdata;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		void *p = realloc(o->d, cap * 32);

		if (!p)
			return -ENOMEM;
		o->d = p;
		o->cap = cap;
	}
	memcpy(o->d[o->n++], digest, 32);
	return 0;
}

static int parse(const char *buf, size_t size, size_t split, struct out *o, unsigned *line)
{
	struct denylist_parser p;
	int r;

	denylist_parser_init(&p);
	r = denylist_parser_feed(&p, buf, split, emit, o);
	if (r >= 0)
		r = denylist_parser_feed(&p, buf + split, size - split, emit, o);
	if (r >= 0)
		r = denylist_parser_finish(&p, emit, o);
	*line = p.line;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out a = {0}, b = {0};
	struct denylist_builder *bl = NULL;
	struct denylist *dl = NULL;
	unsigned la = 0, lb = 0, newlines = 0;
	size_t split = size ? data[0] % (size + 1) : 0;
	char *buf = malloc(size ? size : 1);
	int ra, rb;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ra = parse(buf, size, size, &a, &la);
	rb = parse(buf, size, split, &b, &lb);
	check(ra == rb);
	check(ra == 0 || ra == -EBADMSG || ra == -EILSEQ);
	check(a.n == b.n);
	check(a.n == 0 || memcmp(a.d, b.d, a.n * 32) == 0);
	for (size_t i = 0; i < size; i++)
		newlines += buf[i] == '\n';
	if (ra < 0) {
		check(la == lb);
		check(la >= 1 && la <= newlines + 1);
	}
	/* A digest needs 64 bytes of input. */
	check(a.n * 64 <= size);

	check(denylist_builder_new(&bl) == 0);
	check(denylist_builder_add(bl, (const uint8_t(*)[32]) a.d, a.n) == 0);
	check(denylist_builder_finish(bl, &dl) == 0);
	check(denylist_size(dl) <= a.n);
	for (size_t i = 0; i < a.n; i++) {
		uint8_t x[32];

		check(denylist_contains(dl, a.d[i]));
		/* A neighbour is in the set only if it was parsed too. */
		memcpy(x, a.d[i], 32);
		x[31] ^= 1;
		if (denylist_contains(dl, x)) {
			bool found = false;

			for (size_t j = 0; j < a.n && !found; j++)
				found = memcmp(a.d[j], x, 32) == 0;
			check(found);
		}
	}
	denylist_unref(dl);
	denylist_builder_free(bl);
	free(a.d);
	free(b.d);
	free(buf);
	return 0;
}
