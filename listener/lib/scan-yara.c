/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The YARA scanner (libyara). Rules are compiled once per load; a load
 * replaces them atomically (a scan in progress keeps the set it started
 * with, by reference), and a load that fails to compile keeps the old set.
 *
 * Content is read through the event fd into memory (pread, deadline checked
 * between chunks, at most YARA_MAX_BYTES) and scanned with
 * yr_rules_scan_mem(). Not yr_rules_scan_fd(): that maps the file, and a
 * page fault on a FUSE file waits on the daemon with no way to bound it; a
 * fault cannot be abandoned the way the worker's read is. libyara's own
 * timeout is in whole seconds, so the scan gets the seconds left rounded
 * up, and the match callback aborts once the deadline passed; the dispatcher
 * has the last word on the deadline either way (the keeper answers at it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/evp.h>
#include <yara.h>
#include "fanguard-internal.h"

/* Files above this get the default verdict from YARA: every worker may
 * hold one such copy. */
#define YARA_MAX_BYTES (64ULL * 1024 * 1024)

struct yara_rules {
	YR_RULES *rules;
	char digest[65]; /* of the compiled rules (includes too), for the verdict store */
	_Atomic unsigned refs;
};

struct yara_scanner {
	struct scanner s;
	pthread_mutex_t lock; /* protects cur; held only to swap or take a ref */
	struct yara_rules *cur;
};

static void rules_unref(struct yara_rules *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		yr_rules_destroy(r->rules);
		free(r);
	}
}

struct match {
	usec_t deadline;
	const char *rule; /* first matching rule's identifier */
	char name[72];
};

static int match_cb(YR_SCAN_CONTEXT *context, int message, void *data, void *userdata)
{
	struct match *m = userdata;

	if (message == CALLBACK_MSG_RULE_MATCHING) {
		const YR_RULE *rule = data;

		(void) snprintf(m->name, sizeof(m->name), "%s", rule->identifier);
		m->rule = m->name;
		return CALLBACK_ABORT; /* one match decides */
	}
	if (deadline_passed(m->deadline))
		return CALLBACK_ABORT;
	return CALLBACK_CONTINUE;
}

static void yara_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	struct yara_scanner *ys = (struct yara_scanner *) s;
	uint64_t limit = ctx->fg->opts.max_scan_bytes < YARA_MAX_BYTES
				 ? ctx->fg->opts.max_scan_bytes
				 : YARA_MAX_BYTES;
	struct match m = {.deadline = ctx->deadline};
	struct yara_rules *rules;
	uint8_t *data = NULL;
	size_t cap, len = 0;
	usec_t left;
	int r;

	if (ctx->size > limit) {
		res->reason = FANGUARD_REASON_TOO_LARGE;
		return;
	}
	/* One byte more than statx said, to see growth without a second read. */
	cap = (size_t) ctx->size + 1;
	data = malloc(cap);
	if (!data) {
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "out of memory");
		return;
	}
	for (;;) {
		int n;

		if (len == cap) {
			/* It grew while we read: take more, up to the limit. */
			size_t ncap = cap * 2;
			uint8_t *p;

			if (cap > limit) {
				res->reason = FANGUARD_REASON_TOO_LARGE;
				goto out;
			}
			if (ncap > limit + 1)
				ncap = (size_t) limit + 1;
			p = realloc(data, ncap);
			if (!p) {
				res->reason = FANGUARD_REASON_ERROR;
				goto out;
			}
			data = p;
			cap = ncap;
		}
		n = scan_read_at(ctx, data + len, cap - len > (1u << 20) ? (1u << 20) : cap - len,
				 len, res);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t) n;
	}

	pthread_mutex_lock(&ys->lock);
	rules = ys->cur;
	if (rules)
		atomic_fetch_add(&rules->refs, 1);
	pthread_mutex_unlock(&ys->lock);
	if (!rules) {
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_ALLOW;
		goto out;
	}
	left = deadline_left(ctx->deadline);
	r = yr_rules_scan_mem(
		rules->rules, data, len, SCAN_FLAGS_FAST_MODE, match_cb, &m,
		left == USEC_INFINITY ? 0 : (int) ((left + USEC_PER_SEC - 1) / USEC_PER_SEC));
	rules_unref(rules);
	if (m.rule) {
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_DENY;
		scan_detail(res, "%s", m.rule);
	} else if (r == ERROR_SCAN_TIMEOUT || deadline_passed(ctx->deadline)) {
		res->reason = FANGUARD_REASON_DEADLINE;
	} else if (r != ERROR_SUCCESS) {
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "libyara error %d", r);
	} else {
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_ALLOW;
	}
	atomic_fetch_add_explicit(&ctx->d->stats.bytes_scanned, len, memory_order_relaxed);
out:
	free(data);
}

static bool yara_active(struct scanner *s)
{
	struct yara_scanner *ys = (struct yara_scanner *) s;
	bool loaded;

	pthread_mutex_lock(&ys->lock);
	loaded = ys->cur != NULL;
	pthread_mutex_unlock(&ys->lock);
	return loaded;
}

static int yara_digest(struct scanner *s, char *buf, size_t len)
{
	struct yara_scanner *ys = (struct yara_scanner *) s;
	int r;

	pthread_mutex_lock(&ys->lock);
	r = ys->cur && ys->cur->digest[0] ? snprintf(buf, len, "rules=%s", ys->cur->digest) : -1;
	pthread_mutex_unlock(&ys->lock);
	return r < 0 || (size_t) r >= len ? -ENODATA : 0;
}

static size_t digest_write(const void *ptr, size_t size, size_t count, void *userdata)
{
	return EVP_DigestUpdate(userdata, ptr, size * count) == 1 ? count : 0;
}

/* SHA-256 of the compiled rules as libyara saves them. "" on failure: the
 * verdict store then stays unused. */
static void rules_digest(YR_RULES *rules, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	YR_STREAM stream = {.user_data = md, .write = digest_write};
	uint8_t d[32];
	unsigned n = 0;

	out[0] = '\0';
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    yr_rules_save_stream(rules, &stream) == ERROR_SUCCESS &&
	    EVP_DigestFinal_ex(md, d, &n) == 1 && n == 32)
		for (int i = 0; i < 32; i++)
			(void) snprintf(out + 2 * i, 3, "%02x", d[i]);
	EVP_MD_CTX_free(md);
}

static void yara_free(struct scanner *s)
{
	struct yara_scanner *ys = (struct yara_scanner *) s;

	rules_unref(ys->cur);
	pthread_mutex_destroy(&ys->lock);
	free(ys);
	(void) yr_finalize();
}

struct compile_log {
	struct fanguard *fg;
	const char *path;
	unsigned errors;
};

static void compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
		       void *userdata)
{
	struct compile_log *cl = userdata;

	if (level == YARA_ERROR_LEVEL_ERROR)
		cl->errors++;
	fg_log(cl->fg, level == YARA_ERROR_LEVEL_ERROR ? LOG_ERR : LOG_WARNING, "yara: %s:%d: %s",
	       file ? file : cl->path, line, msg);
}

int fanguard_load_yara_rules(struct fanguard *fg, const char *path)
{
	struct compile_log cl = {.fg = fg, .path = path};
	struct yara_scanner *ys;
	struct yara_rules *nr, *old;
	YR_COMPILER *comp = NULL;
	YR_RULES *rules = NULL;
	FILE *f;
	int r;

	if (!fg || !path)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* libyara's init is reference counted: one per scanner object. */
	pthread_mutex_lock(&fg->lock);
	ys = (struct yara_scanner *) scanner_find(fg, "yara");
	if (!ys) {
		if (yr_initialize() != ERROR_SUCCESS) {
			pthread_mutex_unlock(&fg->lock);
			fclose(f);
			return -ENOMEM;
		}
		ys = calloc(1, sizeof(*ys));
		if (!ys) {
			(void) yr_finalize();
			pthread_mutex_unlock(&fg->lock);
			fclose(f);
			return -ENOMEM;
		}
		ys->s.name = "yara";
		ys->s.fg = fg;
		ys->s.active = yara_active;
		ys->s.scan = yara_scan;
		ys->s.free = yara_free;
		ys->s.digest = yara_digest;
		pthread_mutex_init(&ys->lock, NULL);
		scanner_append_locked(fg, &ys->s);
	}
	pthread_mutex_unlock(&fg->lock);
	/* The compiler's messages go through the log thread; before
	 * fanguard_start() it is not running yet, and a caller that gives up
	 * on -EBADMSG would never see why. Start it now (idempotent). */
	(void) logq_start(fg->logq);
	if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
		fclose(f);
		return -ENOMEM;
	}
	yr_compiler_set_callback(comp, compile_cb, &cl);
	r = yr_compiler_add_file(comp, f, NULL, path);
	fclose(f);
	if (r > 0 || cl.errors > 0) {
		yr_compiler_destroy(comp);
		fg_log(fg, LOG_ERR, "yara: %s: %u error(s), keeping the rules loaded before", path,
		       cl.errors ? cl.errors : (unsigned) r);
		return -EBADMSG;
	}
	r = yr_compiler_get_rules(comp, &rules);
	yr_compiler_destroy(comp);
	if (r != ERROR_SUCCESS)
		return -ENOMEM;
	nr = calloc(1, sizeof(*nr));
	if (!nr) {
		yr_rules_destroy(rules);
		return -ENOMEM;
	}
	nr->rules = rules;
	rules_digest(rules, nr->digest);
	atomic_store(&nr->refs, 1);
	pthread_mutex_lock(&ys->lock);
	old = ys->cur;
	ys->cur = nr;
	pthread_mutex_unlock(&ys->lock);
	rules_unref(old);
	cache_invalidate(fg);
	fg_log(fg, LOG_INFO, "yara: loaded %s", path);
	return 0;
}
