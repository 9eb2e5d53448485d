/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SHA-256 denylist and allowlist scanner. It runs first: a file whose
 * digest is allowlisted is allowed, and no later scanner runs (an
 * operator's override of a false positive); one on the denylist is denied. Content is read through the event fd
 * (FMODE_NONOTIFY: our reads raise no events), in chunks, with the event's
 * deadline checked between them. A read stuck in a FUSE daemon cannot be
 * interrupted; the keeper answers at the deadline and abandons this worker
 * (domain.c). Runs on a worker thread: never logs synchronously.
 * Also the public calls that load the lists (parsing: denylist.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/evp.h>
#include "fanguard-internal.h"

/* --- public API: loading and replacing the denylist ----------------------- */

/* Publishes the builder's set in slot (fg->deny or fg->allow); a file found
 * clean before may match now, or was clean only through an allowlist entry
 * that is gone. */
static int publish_in(struct fanguard *fg, struct denylist_slot *slot, struct denylist_builder *b)
{
	struct denylist *dl = NULL;
	uint8_t digest[32];
	const void *bytes;
	size_t len;
	int r;

	r = denylist_builder_finish(b, &dl);
	if (r < 0)
		return r;
	/* For the verdict store: what the set holds (sorted, unique). */
	bytes = denylist_bytes(dl, &len);
	if (EVP_Digest(len ? bytes : "", len, digest, NULL, EVP_sha256(), NULL) != 1) {
		denylist_unref(dl);
		return -EIO;
	}
	denylist_set_digest(dl, digest);
	denylist_slot_publish(slot, dl);
	cache_invalidate(fg);
	return 0;
}

static int publish(struct fanguard *fg, struct denylist_builder *b)
{
	return publish_in(fg, &fg->deny, b);
}

/* The current set plus more, built off to the side: the permission path
 * keeps using the current set until the swap. */
static int append(struct fanguard *fg, const uint8_t (*digests)[32], size_t n, const char *path,
		  unsigned *ret_line)
{
	struct denylist_builder *b = NULL;
	struct denylist *cur;
	int r, added = (int) n;

	r = denylist_builder_new(&b);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fg->deny.writers);
	if (path) {
		r = denylist_builder_add_file(b, path, ret_line);
		if (r < 0)
			goto out;
		added = r;
	} else {
		r = denylist_builder_add(b, digests, n);
		if (r < 0)
			goto out;
	}
	cur = denylist_slot_acquire(&fg->deny);
	r = denylist_builder_add_set(b, cur);
	denylist_unref(cur);
	if (r < 0)
		goto out;
	r = publish(fg, b);
out:
	pthread_mutex_unlock(&fg->deny.writers);
	denylist_builder_free(b);
	return r < 0 ? r : added;
}

int fanguard_deny_sha256(struct fanguard *fg, const uint8_t (*digests)[32], size_t n)
{
	int r;

	if (!fg || (n > 0 && !digests))
		return -EINVAL;
	if (n == 0)
		return 0;
	r = append(fg, digests, n, NULL, NULL);
	return r < 0 ? r : 0;
}

int fanguard_deny_sha256_file(struct fanguard *fg, const char *path, unsigned *ret_line)
{
	if (!fg || !path)
		return -EINVAL;
	return append(fg, NULL, 0, path, ret_line);
}

/* empty_ok: a file without digests is an empty list (an operator removes
 * entries one by one until none is left; a package ships the file empty),
 * logged as a warning, not -ENODATA. Replacing is how a service loads its
 * lists; fanguard_deny_sha256_file() keeps -ENODATA for a caller adding one
 * file that yields nothing. */
static int replace_files(struct fanguard *fg, struct denylist_slot *slot, const char *const *paths,
			 size_t n, bool empty_ok, size_t *ret_file, unsigned *ret_line)
{
	struct denylist_builder *b = NULL;
	int r;

	if (!fg || (n > 0 && !paths))
		return -EINVAL;
	r = denylist_builder_new(&b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = denylist_builder_add_file(b, paths[i], ret_line);
		if (r == -ENODATA && empty_ok) {
			/* Said once per load: an emptied list is a choice, but
			 * one the operator should see. */
			fg_log(fg, LOG_WARNING, "'%s' holds no digest: it adds nothing", paths[i]);
			continue;
		}
		if (r < 0) {
			if (ret_file)
				*ret_file = i;
			goto out;
		}
	}
	pthread_mutex_lock(&slot->writers);
	r = publish_in(fg, slot, b);
	pthread_mutex_unlock(&slot->writers);
	if (r >= 0) {
		struct denylist *cur = denylist_slot_acquire(slot);

		r = (int) denylist_size(cur);
		denylist_unref(cur);
	}
out:
	denylist_builder_free(b);
	return r;
}

int fanguard_replace_deny_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
				       size_t *ret_file, unsigned *ret_line)
{
	if (!fg)
		return -EINVAL;
	return replace_files(fg, &fg->deny, paths, n, true, ret_file, ret_line);
}

int fanguard_replace_allow_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
					size_t *ret_file, unsigned *ret_line)
{
	if (!fg)
		return -EINVAL;
	return replace_files(fg, &fg->allow, paths, n, true, ret_file, ret_line);
}

/* --- the scanner ------------------------------------------------------------ */

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
	return denylist_slot_size(&s->fg->deny) > 0 || denylist_slot_size(&s->fg->allow) > 0;
}

/* Local files are hashed in chunks that stay in the CPU's cache between the
 * copy and the hash (measured on a 512 MiB tmpfs file: 32 KiB reads hash
 * about 20% faster than 256 KiB reads). FUSE files keep the whole buffer:
 * every O_DIRECT read is a round trip to the daemon. */
#define LOCAL_CHUNK (32 * 1024)
/* Above this, ask for the larger sequential readahead window. */
#define SEQUENTIAL_FROM (1024 * 1024)

struct sha256_scanner {
	struct scanner s;
	EVP_MD *sha256; /* fetched once: an implicit fetch per init takes a lock */
};

static void sha256_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	struct sha256_scanner *h = (struct sha256_scanner *) s;
	struct fanguard *fg = ctx->fg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[32];
	unsigned int dlen = 0;
	struct denylist *dl;
	uint64_t off = 0;
	size_t chunk = ctx->buflen;
	bool hit, allowed;

	if (ctx->d->cls == FANGUARD_MOUNT_LOCAL) {
		chunk = chunk < LOCAL_CHUNK ? chunk : LOCAL_CHUNK;
		if (ctx->size >= SEQUENTIAL_FROM)
			(void) posix_fadvise(ctx->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	if (!md || EVP_DigestInit_ex(md, h->sha256, NULL) != 1) {
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "libcrypto: cannot init sha256");
		EVP_MD_CTX_free(md);
		return;
	}
	for (;;) {
		int n = scan_read_at(ctx, ctx->buf, chunk, off, res);

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
		/* A short read of a local file that reached the size it had at
		 * receipt is its end: no second read just to see EOF (measured:
		 * ~1 us of the hash path's CPU per small file). Short alone is
		 * not enough: RWF_NOWAIT stops early at a page not in memory. */
		if ((size_t) n < chunk && off >= ctx->size && ctx->d->cls == FANGUARD_MOUNT_LOCAL)
			break;
	}
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
		res->reason = FANGUARD_REASON_ERROR;
		goto out;
	}
	atomic_fetch_add_explicit(&ctx->d->stats.bytes_scanned, off, memory_order_relaxed);
	allowed = false;
	if (denylist_slot_size(&fg->allow) > 0) { /* most have none: no lock */
		dl = denylist_slot_acquire(&fg->allow);
		allowed = denylist_contains(dl, digest);
		denylist_unref(dl);
	}
	dl = denylist_slot_acquire(&fg->deny);
	hit = !allowed && denylist_contains(dl, digest);
	denylist_unref(dl);
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

/* For the verdict store: both lists' digests (set before each publish). */
static int sha256_digest(struct scanner *s, char *buf, size_t len)
{
	uint8_t d[32];
	char hex[2][65];
	struct denylist *dl;

	dl = denylist_slot_acquire(&s->fg->deny);
	denylist_get_digest(dl, d);
	denylist_unref(dl);
	to_hex(d, 32, hex[0]);
	dl = denylist_slot_acquire(&s->fg->allow);
	denylist_get_digest(dl, d);
	denylist_unref(dl);
	to_hex(d, 32, hex[1]);
	return snprintf(buf, len, "deny=%s allow=%s", hex[0], hex[1]) < (int) len ? 0 : -ENOBUFS;
}

static void sha256_free(struct scanner *s)
{
	EVP_MD_free(((struct sha256_scanner *) s)->sha256);
	free(s);
}

int scan_sha256_new(struct fanguard *fg, struct scanner **ret)
{
	struct sha256_scanner *h = calloc(1, sizeof(*h));
	struct scanner *s;

	if (!h)
		return -ENOMEM;
	h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!h->sha256) {
		free(h);
		return -ENOSYS;
	}
	s = &h->s;
	s->name = "sha256";
	s->fg = fg;
	s->inline_ok = true;
	s->digest = sha256_digest;
	s->active = sha256_active;
	s->scan = sha256_scan;
	s->free = sha256_free;
	*ret = s;
	return 0;
}
