/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public denylist calls: add digests, load and replace denylist files;
 * and the allowlist's replacement (same format, overrides any deny).
 * The store and the line parser are scan-sha256.c's; a replacement is built
 * off to the side and swapped in under the write lock (a struct copy). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fd-util.h"
#include "fg-internal.h"
#include "macro.h"

/* Makes fresh the list *which (fg->deny or fg->allow; writers hold
 * deny_writer) and frees the old. */
static void list_swap_locked(struct fanguard *fg, struct hashset *which, struct hashset *fresh)
{
	struct hashset old;

	pthread_rwlock_wrlock(&fg->cfg_lock);
	old = *which;
	*which = *fresh;
	pthread_rwlock_unlock(&fg->cfg_lock);
	hashset_done(&old);
}

static void deny_swap_locked(struct fanguard *fg, struct hashset *fresh)
{
	list_swap_locked(fg, &fg->deny, fresh);
}

int fanguard_deny_sha256(struct fanguard *fg, const uint8_t (*digests)[32], size_t n)
{
	struct hashset fresh = {0};
	int r;

	if (!fg || (n > 0 && !digests))
		return -EINVAL;
	if (n == 0)
		return 0;
	/* Build the union aside: the sort never runs under the lock readers
	 * take. Only writers change fg->deny, and they take turns. */
	pthread_mutex_lock(&fg->deny_writer);
	r = hashset_add(&fresh, (const uint8_t(*)[32]) fg->deny.digests, fg->deny.n);
	if (r >= 0)
		r = hashset_add(&fresh, digests, n);
	if (r < 0) {
		pthread_mutex_unlock(&fg->deny_writer);
		hashset_done(&fresh);
		return r;
	}
	deny_swap_locked(fg, &fresh);
	pthread_mutex_unlock(&fg->deny_writer);
	/* A file found clean before may match now. */
	cache_invalidate(fg);
	return 0;
}

/* Reads one denylist file into *digests (grown as needed). */
static int denylist_read_into(const char *path, uint8_t (**digests)[32], size_t *n, size_t *cap,
			      unsigned *ret_line)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	unsigned lineno = 0;
	int r;

	r = read_full_file(path, 256u << 20, &text, NULL);
	if (r < 0)
		return r;
	for (char *p = text; p; p = save) {
		uint8_t dg[32];

		save = strchr(p, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		r = denylist_parse_line(p, dg);
		if (r < 0) {
			*ret_line = lineno;
			return r;
		}
		if (r == 0)
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			void *np = realloc(*digests, nc * 32);

			if (!np)
				return -ENOMEM;
			*digests = np;
			*cap = nc;
		}
		memcpy((*digests)[(*n)++], dg, 32);
	}
	return 0;
}

int fanguard_deny_sha256_file(struct fanguard *fg, const char *path, unsigned *ret_line)
{
	_cleanup_free_ uint8_t(*digests)[32] = NULL;
	size_t n = 0, cap = 0;
	unsigned line = 0;
	int r;

	if (!fg || !path)
		return -EINVAL;
	r = denylist_read_into(path, &digests, &n, &cap, &line);
	if (r < 0) {
		if (ret_line)
			*ret_line = line;
		return r;
	}
	r = fanguard_deny_sha256(fg, (const uint8_t(*)[32]) digests, n);
	return r < 0 ? r : (int) n;
}

static int replace_files(struct fanguard *fg, struct hashset *which, const char *const *paths,
			 size_t n, size_t *ret_file, unsigned *ret_line)
{
	_cleanup_free_ uint8_t(*digests)[32] = NULL;
	struct hashset fresh = {0};
	size_t nd = 0, cap = 0;
	int r;

	if (!fg || (n > 0 && !paths))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned line = 0;

		r = denylist_read_into(paths[i], &digests, &nd, &cap, &line);
		if (r < 0) {
			if (ret_file)
				*ret_file = i;
			if (ret_line)
				*ret_line = line;
			return r;
		}
	}
	/* Build the new set outside the lock; the swap is a struct copy. */
	r = hashset_add(&fresh, (const uint8_t(*)[32]) digests, nd);
	if (r < 0) {
		hashset_done(&fresh);
		return r;
	}
	pthread_mutex_lock(&fg->deny_writer);
	list_swap_locked(fg, which, &fresh);
	pthread_mutex_unlock(&fg->deny_writer);
	/* A file found clean before may match the new denylist, or have been
	 * clean only through an allowlist entry that is gone. */
	cache_invalidate(fg);
	return (int) nd;
}

int fanguard_replace_deny_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
				       size_t *ret_file, unsigned *ret_line)
{
	if (!fg)
		return -EINVAL;
	return replace_files(fg, &fg->deny, paths, n, ret_file, ret_line);
}

int fanguard_replace_allow_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
					size_t *ret_file, unsigned *ret_line)
{
	if (!fg)
		return -EINVAL;
	return replace_files(fg, &fg->allow, paths, n, ret_file, ret_line);
}
