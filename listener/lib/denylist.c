/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SHA-256 denylist (see denylist.h): streaming parser, compact sorted
 * set, one-swap publication. Lookups run on worker threads and never block
 * on more than a pointer load under a mutex; loading runs on the caller's
 * thread and never touches the published set. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "denylist.h"
#include "macro.h"

#define PREFIX_BUCKETS 65536u

struct denylist {
	_Atomic unsigned long refs;
	size_t n;
	size_t map_len;		/* bytes mapped at digests (0: nothing mapped) */
	uint8_t (*digests)[32]; /* sorted, unique */
	/* index[p]: first digest whose first two bytes are >= p; index[65536] = n */
	uint32_t index[PREFIX_BUCKETS + 1];
	uint8_t set_digest[32]; /* denylist_set_digest(), before it is published */
};

struct denylist_builder {
	uint8_t (*d)[32]; /* an anonymous mapping: grown with mremap, never copied */
	size_t n, cap;
};

/* --- the set ------------------------------------------------------------- */

struct denylist *denylist_ref(struct denylist *dl)
{
	if (dl)
		atomic_fetch_add_explicit(&dl->refs, 1, memory_order_relaxed);
	return dl;
}

struct denylist *denylist_unref(struct denylist *dl)
{
	if (!dl || atomic_fetch_sub_explicit(&dl->refs, 1, memory_order_acq_rel) != 1)
		return NULL;
	if (dl->map_len)
		(void) munmap(dl->digests, dl->map_len);
	free(dl);
	return NULL;
}

size_t denylist_size(const struct denylist *dl)
{
	return dl ? dl->n : 0;
}

bool denylist_contains(const struct denylist *dl, const uint8_t digest[32])
{
	size_t lo, hi, p;

	if (!dl || dl->n == 0)
		return false;
	p = (size_t) digest[0] << 8 | digest[1];
	lo = dl->index[p];
	hi = dl->index[p + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(dl->digests[mid], digest, 32);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* --- building ------------------------------------------------------------ */

int denylist_builder_new(struct denylist_builder **ret)
{
	struct denylist_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	*ret = b;
	return 0;
}

struct denylist_builder *denylist_builder_free(struct denylist_builder *b)
{
	if (!b)
		return NULL;
	if (b->cap)
		(void) munmap(b->d, b->cap * 32);
	free(b);
	return NULL;
}

/* Room for at least want digests. Untouched pages of the mapping cost no
 * memory; mremap moves pages, it does not copy them. */
static int builder_reserve(struct denylist_builder *b, size_t want)
{
	size_t cap;
	void *p;

	if (want <= b->cap)
		return 0;
	if (want > DENYLIST_MAX_DIGESTS)
		return -EFBIG;
	cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap *= 2;
	if (cap > DENYLIST_MAX_DIGESTS)
		cap = DENYLIST_MAX_DIGESTS;
	if (b->cap)
		p = mremap(b->d, b->cap * 32, cap * 32, MREMAP_MAYMOVE);
	else
		p = mmap(NULL, cap * 32, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	/* Transparent huge pages where the admin allows them ("madvise"):
	 * 512x fewer page faults while filling, and fewer TLB misses for the
	 * sort's random swaps over hundreds of MB. A hint only. */
	(void) madvise(p, cap * 32, MADV_HUGEPAGE);
	b->d = p;
	b->cap = cap;
	return 0;
}

int denylist_builder_add(struct denylist_builder *b, const uint8_t (*digests)[32], size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if (n > DENYLIST_MAX_DIGESTS - b->n)
		return -EFBIG;
	r = builder_reserve(b, b->n + n);
	if (r < 0)
		return r;
	memcpy(b->d[b->n], digests, n * 32);
	b->n += n;
	return 0;
}

int denylist_builder_add_set(struct denylist_builder *b, const struct denylist *dl)
{
	if (!dl)
		return 0;
	return denylist_builder_add(b, (const uint8_t(*)[32]) dl->digests, dl->n);
}

static void swap32(uint8_t *a, uint8_t *b)
{
	uint8_t t[32];

	memcpy(t, a, 32);
	memcpy(a, b, 32);
	memcpy(b, t, 32);
}

/* In-place MSD radix sort (American flag sort) on byte `depth` onwards: no
 * buffer beyond 2 KiB of stack per level, O(n) per level, and SHA-256
 * digests spread evenly, so 10M digests need about three levels. Hostile
 * lists (a shared prefix) only add levels, at most 32. */
static void flag_sort(uint8_t (*a)[32], size_t n, unsigned depth)
{
	size_t count[256] = {0}, next[256], end[256], pos = 0;

	if (n <= 24 || depth == 32) {
		/* Insertion sort; equal digests stay adjacent. */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && memcmp(a[j - 1], a[j], 32) > 0; j--)
				swap32(a[j - 1], a[j]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		count[a[i][depth]]++;
	for (unsigned k = 0; k < 256; k++) {
		next[k] = pos;
		pos += count[k];
		end[k] = pos;
	}
	for (unsigned k = 0; k < 256; k++)
		while (next[k] < end[k]) {
			uint8_t v = a[next[k]][depth];

			if (v == k)
				next[k]++;
			else
				swap32(a[next[k]], a[next[v]++]);
		}
	pos = 0;
	for (unsigned k = 0; k < 256; k++) {
		if (count[k] > 1)
			flag_sort(a + pos, count[k], depth + 1);
		pos += count[k];
	}
}

int denylist_builder_finish(struct denylist_builder *b, struct denylist **ret)
{
	struct denylist *dl = calloc(1, sizeof(*dl));
	size_t w = 0, p = 0;

	if (!dl)
		return -ENOMEM;
	flag_sort(b->d, b->n, 0);
	for (size_t i = 0; i < b->n; i++)
		if (w == 0 || memcmp(b->d[w - 1], b->d[i], 32) != 0) {
			if (w != i)
				memcpy(b->d[w], b->d[i], 32);
			w++;
		}
	if (w > 0 && w < b->cap) {
		/* Give back the tail: shrinking in place never moves. */
		size_t keep = (w * 32 + 4095) & ~(size_t) 4095;

		if (keep < b->cap * 32 && munmap((uint8_t *) b->d + keep, b->cap * 32 - keep) == 0)
			b->cap = keep / 32;
	}
	if (w == 0 && b->cap) {
		(void) munmap(b->d, b->cap * 32);
		b->cap = 0;
		b->d = NULL;
	}
	for (size_t i = 0; i < w; i++) {
		size_t pfx = (size_t) b->d[i][0] << 8 | b->d[i][1];

		while (p <= pfx)
			dl->index[p++] = (uint32_t) i;
	}
	while (p <= PREFIX_BUCKETS)
		dl->index[p++] = (uint32_t) w;
	atomic_init(&dl->refs, 1);
	dl->n = w;
	dl->digests = b->d;
	dl->map_len = b->cap * 32;
	b->d = NULL;
	b->n = b->cap = 0;
	*ret = dl;
	return 0;
}

/* --- parsing ------------------------------------------------------------- */

enum {
	ST_START, /* at the start of a line, or after leading blanks */
	ST_HEX,	  /* inside the digest */
	ST_AFTER, /* 64 digits read: the next byte must end them */
	ST_REST,  /* a name or comment: skipped to the end of the line */
	ST_CR,	  /* a '\r' on an otherwise blank line: only '\n' may follow */
};

void denylist_parser_init(struct denylist_parser *p)
{
	*p = (struct denylist_parser){.line = 1, .state = ST_START};
}

/* Hex digit values; 0xff: not a hex digit. */
static const uint8_t hexval[256] = {
	['0'] = 0,  ['1'] = 1,	['2'] = 2,  ['3'] = 3,	['4'] = 4,  ['5'] = 5,
	['6'] = 6,  ['7'] = 7,	['8'] = 8,  ['9'] = 9,	['a'] = 10, ['b'] = 11,
	['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15, ['A'] = 10, ['B'] = 11,
	['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};

static bool is_hex(unsigned char c)
{
	return hexval[c] != 0 || c == '0';
}

static int unhex(unsigned char c)
{
	return is_hex(c) ? hexval[c] : -1;
}

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* Eight hex digits (in memory order) to four bytes, without a branch per
 * digit: each byte is checked to be in '0'..'9' or, lowercased, 'a'..'f'
 * with carry-free lane arithmetic (every lane < 0x80 first). */
static bool decode8(const unsigned char *s, uint8_t out[4])
{
	uint64_t x, y, digit, letter, nib;

	memcpy(&x, s, 8);
	if (x & HIGH)
		return false;
	digit = (x + (0x80 - '0') * ONES) & ((0x80 + '9') * ONES - x) & HIGH;
	y = x | 0x20 * ONES;
	letter = (y + (0x80 - 'a') * ONES) & ((0x80 + 'f') * ONES - y) & HIGH;
	if ((digit | letter) != HIGH)
		return false;
	nib = (x & 0x0f * ONES) + (letter >> 7) * 9;
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t) ((nib >> (16 * i)) << 4 | ((nib >> (16 * i + 8)) & 0x0f));
	return true;
}

/* The fast path: 64 hex digits at s (at least 65 bytes readable) decoded
 * into out; false if any is not a digit (the slow path then finds which). */
static bool decode64(const unsigned char *s, uint8_t out[32])
{
	bool ok = true;

	for (int i = 0; i < 8; i++)
		ok &= decode8(s + 8 * i, out + 4 * i);
	return ok;
}

int denylist_parser_feed(struct denylist_parser *p, const char *buf, size_t n,
			 int (*emit)(void *userdata, const uint8_t digest[32]), void *userdata)
{
	const unsigned char *s = (const unsigned char *) buf;
	int r;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int v;

		if (c == '\0')
			return -EILSEQ;
		switch (p->state) {
		case ST_START:
			/* Fast path: a whole digest and its terminator in this chunk. */
			if (n - i > 64 && decode64(s + i, p->digest)) {
				unsigned char t = s[i + 64];

				if (t != '\n' && t != ' ' && t != '\t' && t != '#' && t != '\r') {
					if (t == '\0')
						return -EILSEQ;
					return -EBADMSG;
				}
				r = emit(userdata, p->digest);
				if (r < 0)
					return r;
				i += 64;
				if (t == '\n')
					p->line++;
				else
					p->state = ST_REST;
				break;
			}
			if (c == ' ' || c == '\t')
				break;
			if (c == '\n') {
				p->line++;
				break;
			}
			if (c == '#') {
				p->state = ST_REST;
				break;
			}
			if (c == '\r') {
				p->state = ST_CR;
				break;
			}
			v = unhex(c);
			if (v < 0)
				return -EBADMSG;
			p->digest[0] = (uint8_t) (v << 4);
			p->nhex = 1;
			p->state = ST_HEX;
			break;
		case ST_HEX:
			v = unhex(c);
			if (v < 0)
				return -EBADMSG;
			if (p->nhex % 2 == 0)
				p->digest[p->nhex / 2] = (uint8_t) (v << 4);
			else
				p->digest[p->nhex / 2] |= (uint8_t) v;
			if (++p->nhex == 64)
				p->state = ST_AFTER;
			break;
		case ST_AFTER:
			if (c != '\n' && c != ' ' && c != '\t' && c != '#' && c != '\r')
				return -EBADMSG;
			r = emit(userdata, p->digest);
			if (r < 0)
				return r;
			if (c == '\n') {
				p->line++;
				p->state = ST_START;
			} else
				p->state = ST_REST;
			break;
		case ST_REST: {
			/* Skip to the end of the line, checking it for NUL bytes. */
			const unsigned char *nl = memchr(s + i, '\n', n - i);
			size_t end = nl ? (size_t) (nl - s) : n;

			if (memchr(s + i, '\0', end - i))
				return -EILSEQ;
			i = end; /* the loop's i++ steps over the '\n' */
			if (nl) {
				p->line++;
				p->state = ST_START;
			}
			break;
		}
		case ST_CR:
			if (c != '\n')
				return -EBADMSG;
			p->line++;
			p->state = ST_START;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int denylist_parser_finish(struct denylist_parser *p,
			   int (*emit)(void *userdata, const uint8_t digest[32]), void *userdata)
{
	if (p->state == ST_HEX)
		return -EBADMSG;
	if (p->state == ST_AFTER) {
		p->state = ST_REST;
		return emit(userdata, p->digest);
	}
	return 0;
}

struct file_ctx {
	struct denylist_builder *b;
	size_t lines;
};

static int emit_to_builder(void *userdata, const uint8_t digest[32])
{
	struct file_ctx *c = userdata;
	int r;

	if (c->b->n == c->b->cap) {
		r = builder_reserve(c->b, c->b->n + 1);
		if (r < 0)
			return r;
	}
	memcpy(c->b->d[c->b->n++], digest, 32);
	c->lines++;
	return 0;
}

#define READ_CHUNK (1u << 20)

int denylist_builder_add_file(struct denylist_builder *b, const char *path, unsigned *ret_line)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct denylist_parser p;
	struct file_ctx c = {.b = b};
	struct stat st;
	int r;

	/* O_NONBLOCK: opening a FIFO would wait for a writer; O_NOFOLLOW: no
	 * symlink at the last component (-ELOOP). */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	/* A first guess from the size, for a list of bare digests; growing
	 * later costs no copy. */
	r = builder_reserve(
		b, b->n + (st.st_size / 65 < (1 << 20) ? (size_t) st.st_size / 65 + 1 : 1u << 20));
	if (r < 0)
		return r;
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	denylist_parser_init(&p);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		r = denylist_parser_feed(&p, buf, (size_t) n, emit_to_builder, &c);
		if (r < 0)
			goto bad;
	}
	r = denylist_parser_finish(&p, emit_to_builder, &c);
	if (r < 0)
		goto bad;
	if (c.lines == 0)
		return -ENODATA;
	if (c.lines > INT32_MAX)
		return -EFBIG;
	return (int) c.lines;
bad:
	if (ret_line && (r == -EBADMSG || r == -EILSEQ))
		*ret_line = p.line;
	return r;
}

/* --- publishing ---------------------------------------------------------- */

void denylist_slot_init(struct denylist_slot *s)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->writers, NULL);
	s->cur = NULL;
	atomic_init(&s->n, 0);
}

void denylist_slot_done(struct denylist_slot *s)
{
	s->cur = denylist_unref(s->cur);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->writers);
}

struct denylist *denylist_slot_acquire(struct denylist_slot *s)
{
	struct denylist *dl;

	/* The lock covers only the load and the increment: a publisher cannot
	 * drop the last reference in between. */
	pthread_mutex_lock(&s->lock);
	dl = denylist_ref(s->cur);
	pthread_mutex_unlock(&s->lock);
	return dl;
}

void denylist_slot_publish(struct denylist_slot *s, struct denylist *dl)
{
	struct denylist *old;

	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = dl;
	atomic_store_explicit(&s->n, denylist_size(dl), memory_order_release);
	pthread_mutex_unlock(&s->lock);
	/* Readers still holding it keep it alive; the last one frees it. */
	denylist_unref(old);
}

const void *denylist_bytes(const struct denylist *dl, size_t *ret_len)
{
	*ret_len = dl ? dl->n * 32 : 0;
	return dl ? (const void *) dl->digests : NULL;
}

void denylist_set_digest(struct denylist *dl, const uint8_t digest[32])
{
	memcpy(dl->set_digest, digest, 32);
}

void denylist_get_digest(const struct denylist *dl, uint8_t ret[32])
{
	if (dl)
		memcpy(ret, dl->set_digest, 32);
	else
		memset(ret, 0, 32);
}

size_t denylist_slot_size(struct denylist_slot *s)
{
	return atomic_load_explicit(&s->n, memory_order_acquire);
}
