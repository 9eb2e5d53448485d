/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The embedder's own scanners (fanguard_add_scanner()): one engine in the
 * dispatcher's list (scan.c), named "callback", that runs every registered
 * callback in the order added and composes their answers as the dispatcher
 * does (any deny wins, else an undecided one makes the default verdict).
 *
 * Registration at run time, safe against scans in flight: each registration
 * is refcounted, one reference held by the registry and one by every call
 * in flight. A scan takes its references under the lock (a short copy of at
 * most MAX_CALLBACKS pointers), calls without any lock, and drops them after.
 * fanguard_remove_scanner() drops the registry's reference and never waits:
 * whoever drops the last one calls the embedder's release(), possibly a
 * worker that comes back from a callback that outlived its deadline (that
 * worker was abandoned and replaced meanwhile; its late verdict is ignored).
 * Names are interned until the listener is destroyed, because a verdict
 * names its scanner after the call returned (logq.c copies it later).
 *
 * Runs on worker threads: never logs synchronously, reads only procfs. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fanguard-internal.h"
#include "fd-util.h"
#include "macro.h"
#include "procfs.h"

#define MAX_CALLBACKS 16
#define MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))
#define CALLBACK_SCANNER_NAME "callback"

struct cb_entry {
	uint64_t id;
	const char *name; /* interned: lives until the scanner is freed */
	uint32_t flags;	  /* FANGUARD_SCANNER_* */
	fanguard_scan_fn scan;
	void (*release)(void *userdata);
	void *userdata;
	_Atomic unsigned refs; /* the registry's + one per call in flight */
};

struct cb_name {
	struct cb_name *next;
	char name[];
};

struct callback_scanner {
	struct scanner s;
	pthread_mutex_t lock;
	/* protected by lock: */
	struct cb_entry *entries[MAX_CALLBACKS]; /* in the order added */
	unsigned n_entries;
	uint64_t next_id;
	struct cb_name *names;
	/* for active(), which must not take the lock */
	_Atomic unsigned n_active;
};

static void entry_unref(struct cb_entry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		if (e->release)
			e->release(e->userdata);
		free(e);
	}
}

/* Called with lock held. */
static const char *name_intern_locked(struct callback_scanner *cs, const char *name)
{
	struct cb_name *n;
	size_t len = strlen(name);

	for (n = cs->names; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n->name;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->name, name, len + 1);
	n->next = cs->names;
	cs->names = n;
	return n->name;
}

static bool callback_active(struct scanner *s)
{
	struct callback_scanner *cs = (struct callback_scanner *) s;

	return atomic_load_explicit(&cs->n_active, memory_order_relaxed) > 0;
}

/* The subject's effective uid (procfs: never a FUSE round trip), or -1. */
static uid_t subject_euid(pid_t pid)
{
	uid_t uid;

	return proc_read_euid(pid, &uid) >= 0 ? uid : (uid_t) -1;
}

/* deny > undecided (deadline, error) > allow, as the dispatcher ranks. */
static int rank(const struct scan_result *r)
{
	if (r->reason == FANGUARD_REASON_SCANNED)
		return r->verdict == FANGUARD_DENY ? 2 : 0;
	return 1;
}

static void callback_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	struct callback_scanner *cs = (struct callback_scanner *) s;
	struct cb_entry *run[MAX_CALLBACKS];
	unsigned n = 0;
	char path[512];
	bool any = false, no_cache = false;

	pthread_mutex_lock(&cs->lock);
	for (unsigned i = 0; i < cs->n_entries; i++) {
		atomic_fetch_add(&cs->entries[i]->refs, 1);
		run[n++] = cs->entries[i];
	}
	pthread_mutex_unlock(&cs->lock);

	/* The event fd's path comes from the kernel's dentry (d_path), not
	 * from a lookup through the filesystem. */
	if (fd_get_path(ctx->fd, path, sizeof(path)) < 0)
		(void) snprintf(path, sizeof(path), "?");
	const struct fanguard_scan_request req = {
		.size = sizeof(req),
		.fd = ctx->fd,
		.file_size = ctx->size,
		.pid = ctx->pid,
		.uid = n > 0 ? subject_euid(ctx->pid) : (uid_t) -1,
		.mask = ctx->mask,
		.mount_class = ctx->d->cls,
		.deadline_usec = ctx->deadline,
		.path = path,
	};

	*res = (struct scan_result){.verdict = FANGUARD_ALLOW,
				    .reason = FANGUARD_REASON_NO_SCANNER,
				    .scanner = CALLBACK_SCANNER_NAME};
	for (unsigned i = 0; i < n; i++) {
		struct cb_entry *e = run[i];
		struct fanguard_scan_result out = {.size = sizeof(out)};
		struct scan_result r = {.verdict = ctx->default_verdict, .scanner = e->name};
		int v;

		if (deadline_passed(ctx->deadline)) {
			r.reason = FANGUARD_REASON_DEADLINE;
			scan_detail(&r, "not started");
		} else {
			v = e->scan(e->userdata, &req, &out);
			out.detail[sizeof(out.detail) - 1] = '\0';
			if (v == FANGUARD_ALLOW || v == FANGUARD_DENY) {
				r.reason = FANGUARD_REASON_SCANNED;
				r.verdict = (enum fanguard_verdict) v;
				scan_detail(&r, "%s", out.detail);
				r.no_cache = v == FANGUARD_ALLOW &&
					     ((out.flags & FANGUARD_SCAN_RESULT_NO_CACHE) ||
					      (e->flags & FANGUARD_SCANNER_NO_CACHE));
			} else if (v == -ETIMEDOUT) {
				r.reason = FANGUARD_REASON_DEADLINE;
				scan_detail(&r, "%s", out.detail);
			} else {
				r.reason = FANGUARD_REASON_ERROR;
				if (out.detail[0])
					scan_detail(&r, "%s", out.detail);
				else if (v < 0)
					scan_detail(&r, "%s", strerror(-v));
				else
					scan_detail(&r, "bad verdict %d", v);
			}
		}
		/* A clean verdict is cacheable only if every allow was. */
		if (r.reason == FANGUARD_REASON_SCANNED && r.no_cache)
			no_cache = true;
		if (!any || rank(&r) > rank(res))
			*res = r;
		any = true;
		if (rank(res) == 2 || r.reason == FANGUARD_REASON_DEADLINE)
			break;
	}
	res->no_cache = no_cache;
	for (unsigned i = 0; i < n; i++)
		entry_unref(run[i]);
}

static void callback_free(struct scanner *s)
{
	struct callback_scanner *cs = (struct callback_scanner *) s;

	/* The last reference to the listener is gone: no scan is in flight. */
	for (unsigned i = 0; i < cs->n_entries; i++)
		entry_unref(cs->entries[i]);
	while (cs->names) {
		struct cb_name *n = cs->names;

		cs->names = n->next;
		free(n);
	}
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* The callback engine, appended to the dispatcher's list at the first
 * registration (so it runs after the engines added before it). */
static int callback_scanner_get(struct fanguard *fg, struct callback_scanner **ret)
{
	struct callback_scanner *cs;
	int r = 0;

	pthread_mutex_lock(&fg->lock);
	if (fg->stopped) {
		r = -ESHUTDOWN;
		goto out;
	}
	cs = (struct callback_scanner *) scanner_find(fg, CALLBACK_SCANNER_NAME);
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs) {
			r = -ENOMEM;
			goto out;
		}
		pthread_mutex_init(&cs->lock, NULL);
		cs->s.name = CALLBACK_SCANNER_NAME;
		cs->s.fg = fg;
		cs->s.active = callback_active;
		cs->s.scan = callback_scan;
		cs->s.free = callback_free;
		cs->next_id = 1;
		scanner_append_locked(fg, &cs->s);
	}
	*ret = cs;
out:
	pthread_mutex_unlock(&fg->lock);
	return r;
}

int fanguard_add_scanner(struct fanguard *fg, const struct fanguard_scanner_ops *ops,
			 void *userdata, uint64_t *ret_id)
{
	struct fanguard_scanner_ops o = {0};
	struct callback_scanner *cs;
	struct cb_entry *e;
	int r;

	if (!fg || !ops || !ret_id || ops->size < offsetof(struct fanguard_scanner_ops, release) ||
	    ops->size > 4096)
		return -EINVAL;
	/* A newer caller's fields we do not know must be zero. */
	for (size_t i = sizeof(o); i < ops->size; i++)
		if (((const uint8_t *) ops)[i] != 0)
			return -E2BIG;
	memcpy(&o, ops, MIN_SIZE((size_t) ops->size, sizeof(o)));
	if (!o.scan || !o.name || !o.name[0] || strlen(o.name) > 64 ||
	    (o.flags & ~FANGUARD_SCANNER_NO_CACHE))
		return -EINVAL;
	r = callback_scanner_get(fg, &cs);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->flags = o.flags;
	e->scan = o.scan;
	e->release = o.release;
	e->userdata = userdata;
	atomic_store(&e->refs, 1);
	pthread_mutex_lock(&cs->lock);
	if (cs->n_entries == MAX_CALLBACKS) {
		r = -E2BIG;
		goto fail;
	}
	e->name = name_intern_locked(cs, o.name);
	if (!e->name) {
		r = -ENOMEM;
		goto fail;
	}
	e->id = cs->next_id++;
	cs->entries[cs->n_entries++] = e;
	atomic_store(&cs->n_active, cs->n_entries);
	*ret_id = e->id;
	pthread_mutex_unlock(&cs->lock);
	/* Files found clean before were never shown to this scanner. */
	cache_invalidate(fg);
	return 0;
fail:
	pthread_mutex_unlock(&cs->lock);
	free(e);
	return r;
}

int fanguard_remove_scanner(struct fanguard *fg, uint64_t id)
{
	struct callback_scanner *cs;
	struct cb_entry *e = NULL;

	if (!fg || id == 0)
		return -EINVAL;
	cs = (struct callback_scanner *) scanner_find(fg, CALLBACK_SCANNER_NAME);
	if (!cs)
		return -ENOENT;
	pthread_mutex_lock(&cs->lock);
	for (unsigned i = 0; i < cs->n_entries; i++)
		if (cs->entries[i]->id == id) {
			e = cs->entries[i];
			memmove(&cs->entries[i], &cs->entries[i + 1],
				(cs->n_entries - i - 1) * sizeof(cs->entries[0]));
			cs->n_entries--;
			break;
		}
	atomic_store(&cs->n_active, cs->n_entries);
	pthread_mutex_unlock(&cs->lock);
	if (!e)
		return -ENOENT;
	/* Calls in flight hold their own references; the last one releases. */
	entry_unref(e);
	return 0;
}

int fanguard_flush_cache(struct fanguard *fg)
{
	if (!fg)
		return -EINVAL;
	cache_invalidate(fg);
	return 0;
}
