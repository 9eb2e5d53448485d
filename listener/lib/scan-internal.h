/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The scanner interface and the dispatcher (scan.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "answer-internal.h"
#include "fanguard.h"
#include "time-util.h"

struct fanguard;
struct domain;

/* What a scanner gets for one event. buf is the worker's scratch buffer. */
struct scan_ctx {
	struct fanguard *fg;
	struct domain *d;
	int fd;	       /* the event fd: FMODE_NONOTIFY, never reopen the path */
	uint64_t size; /* statx at receipt; the file may change while scanned */
	pid_t pid;     /* the subject */
	uint64_t mask; /* fanotify event mask */
	usec_t deadline;
	enum fanguard_verdict default_verdict;
	uint8_t *buf;
	size_t buflen;
};

/* A scanning engine. scan() must return by ctx->deadline (every connect,
 * send, receive and read bounded by it; only a read stuck in a FUSE daemon
 * may outlive it, see pool.c) and sets res->reason: SCANNED with
 * res->verdict, or DEADLINE / ERROR / TOO_LARGE (the dispatcher then takes
 * the default verdict). It may run on many workers at once: no global lock
 * across I/O. active() (optional) says whether it has anything to look for;
 * called with fg->cfg_lock held for reading. */
struct scanner {
	const char *name;
	struct fanguard *fg;
	bool (*active)(struct scanner *s);
	void (*scan)(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res);
	void (*free)(struct scanner *s);
	struct scanner *_Atomic next;
};

void scanner_append(struct fanguard *fg, struct scanner *s);
void scanner_append_locked(struct fanguard *fg, struct scanner *s); /* fg->lock held */
struct scanner *scanner_find(struct fanguard *fg, const char *name);
void scanners_free(struct fanguard *fg);
/* Scans ev's content until its deadline. Reads only ev's immutable fields. */
void scan_event(struct domain *d, const struct fg_event *ev, uint8_t *buf, size_t buflen,
		struct scan_result *ret);
bool scan_needed(struct fanguard *fg);
/* Sets res->detail, truncated to fit (details are for the log). */
void scan_detail(struct scan_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* pread through the event fd, bounded by the deadline; bytes read or -errno
 * with res->reason (and detail) set. */
int scan_read_at(const struct scan_ctx *ctx, uint8_t *buf, size_t len, uint64_t off,
		 struct scan_result *res);
/* scan-sha256.c (clamd and YARA: fanguard_add_clamd(), fanguard_load_yara_rules();
 * the embedder's: scan-callback.c, fanguard_add_scanner()) */
int scan_sha256_new(struct fanguard *fg, struct scanner **ret);
