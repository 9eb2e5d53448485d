/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SHA-256 denylist and allowlist scanner. It runs first: a file whose
 * digest is allowlisted is allowed, and no later scanner runs (an
 * operator's override of a false positive); one on the denylist is denied. Content is read through the event fd
 * (FMODE_NONOTIFY: our reads raise no events), in chunks, with the event's
 * deadline checked between them. A read stuck in a FUSE daemon cannot be
 * interrupted; the keeper answers at the deadline and abandons this worker
 * (domain.c). Runs on a worker thread: never logs synchronously. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "fanguard-internal.h"

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int hashset_add(struct hashset *h, const uint8_t (*digests)[32], size_t n)
{
	size_t w;

	if (n == 0)
		return 0;
	if (h->n + n > h->cap) {
		size_t cap = h->cap ? h->cap : 64;
		void *p;

		while (cap < h->n + n)
			cap *= 2;
		p = realloc(h->digests, cap * 32);
		if (!p)
			return -ENOMEM;
		h->digests = p;
		h->cap = cap;
	}
	memcpy(h->digests[h->n], digests, n * 32);
	h->n += n;
	qsort(h->digests, h->n, 32, digest_cmp);
	/* Drop duplicates. */
	w = 0;
	for (size_t i = 0; i < h->n; i++)
		if (w == 0 || memcmp(h->digests[w - 1], h->digests[i], 32) != 0)
			memmove(h->digests[w++], h->digests[i], 32);
	h->n = w;
	return 0;
}

bool hashset_contains(const struct hashset *h, const uint8_t digest[32])
{
	return h->n > 0 && bsearch(digest, h->digests, h->n, 32, digest_cmp) != NULL;
}

void hashset_done(struct hashset *h)
{
	free(h->digests);
	*h = (struct hashset){0};
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int denylist_parse_line(const char *line, uint8_t ret[32])
{
	const char *p = line;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '#' || *p == '\r')
		return 0;
	for (int i = 0; i < 32; i++) {
		int hi = unhex(p[2 * i]), lo = hi < 0 ? -1 : unhex(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		ret[i] = (uint8_t) (hi << 4 | lo);
	}
	p += 64;
	/* A digest is followed by the end, whitespace (then a name, as in
	 * sha256sum output) or a comment. */
	if (*p != '\0' && *p != '\n' && *p != '\r' && *p != ' ' && *p != '\t' && *p != '#')
		return -EBADMSG;
	return 1;
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool sha256_active(struct scanner *s)
{
	return s->fg->deny.n > 0 || s->fg->allow.n > 0;
}

static void sha256_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	struct fanguard *fg = ctx->fg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[32];
	unsigned int dlen = 0;
	uint64_t off = 0;
	bool hit, allowed;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "libcrypto: cannot init sha256");
		EVP_MD_CTX_free(md);
		return;
	}
	for (;;) {
		int n = scan_read_at(ctx, ctx->buf, ctx->buflen, off, res);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		off += (uint64_t) n;
		if (off > fg->opts.max_scan_bytes) {
			/* It grew past the limit while we read. */
			res->reason = FANGUARD_REASON_TOO_LARGE;
			goto out;
		}
		if (EVP_DigestUpdate(md, ctx->buf, (size_t) n) != 1) {
			res->reason = FANGUARD_REASON_ERROR;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
		res->reason = FANGUARD_REASON_ERROR;
		goto out;
	}
	atomic_fetch_add_explicit(&ctx->d->stats.bytes_scanned, off, memory_order_relaxed);
	pthread_rwlock_rdlock(&fg->cfg_lock);
	allowed = hashset_contains(&fg->allow, digest);
	hit = !allowed && hashset_contains(&fg->deny, digest);
	pthread_rwlock_unlock(&fg->cfg_lock);
	res->reason = FANGUARD_REASON_SCANNED;
	res->verdict = hit ? FANGUARD_DENY : FANGUARD_ALLOW;
	if (hit || allowed)
		to_hex(digest, 32, res->detail);
	if (allowed) {
		res->allowlisted = true;
		stat_inc(&ctx->d->stats.allowlisted);
	}
out:
	EVP_MD_CTX_free(md);
}

static void sha256_free(struct scanner *s)
{
	free(s);
}

int scan_sha256_new(struct fanguard *fg, struct scanner **ret)
{
	struct scanner *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->name = "sha256";
	s->fg = fg;
	s->active = sha256_active;
	s->scan = sha256_scan;
	s->free = sha256_free;
	*ret = s;
	return 0;
}
