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

#define SCANNER_STATE_MAX 256

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
	/* On a reader (reader.c): reads never wait for I/O (RWF_NOWAIT); one
	 * that would sets res->would_block and the event goes to a worker. */
	bool nowait;
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
	/* Cheap, in-process, reads through scan_read_at() only: may run on a
	 * reader for small files whose content is in memory (reader.c). */
	bool inline_ok;
	bool (*active)(struct scanner *s);
	void (*scan)(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res);
	void (*free)(struct scanner *s);
	/* Optional: what its clean verdicts depend on besides the file (clamd:
	 * the signature version), as a string; < 0 if it cannot tell now.
	 * Polled by scanstate.c; a change flushes the verdict cache. */
	int (*state)(struct scanner *s, char *buf, size_t len);
	/* Optional, for the verdict store (store-writer.c): what its verdicts
	 * depend on, synchronous with its configuration (a reload bumps the
	 * cache generation after the new set is in place); cheap, no I/O. */
	int (*digest)(struct scanner *s, char *buf, size_t len);
	/* How many scans it can run at once when that is more than the CPUs:
	 * an engine elsewhere that the worker only waits on (clamd: its
	 * threads, from STATS). 0: it computes, the CPUs bound it. The local
	 * pool grows to this while scans wait in its queue (pool.c). */
	_Atomic unsigned parallel;
	char last_state[SCANNER_STATE_MAX]; /* scanstate.c's thread only */
	bool state_known;
	struct scanner *_Atomic next;
};

void scanner_append(struct fanguard *fg, struct scanner *s);
void scanner_append_locked(struct fanguard *fg, struct scanner *s); /* fg->lock held */
struct scanner *scanner_find(struct fanguard *fg, const char *name);
void scanners_free(struct fanguard *fg);
/* Scans ev's content until its deadline. Reads only ev's immutable fields.
 * nowait: see struct scan_ctx (ret->would_block: nothing decided). */
void scan_event(struct domain *d, const struct fg_event *ev, uint8_t *buf, size_t buflen,
		bool nowait, struct scan_result *ret);
/* What the active scanners need of an event. */
struct scan_plan {
	bool inline_ok;	   /* every active one is inline_ok */
	unsigned parallel; /* the most scans one of them runs at once (->parallel) */
};

/* Called with cfg_lock held for reading: whether any scanner is active, and
 * (*ret, may be NULL) what they need. */
bool scan_needed(struct fanguard *fg, struct scan_plan *ret);
/* A stand-in domain for scans outside any group (fanguard_scan_fd(), the
 * pre-warm pass): the scanners read its class and count the bytes they read
 * into its stats, which scan_standin_free() adds to the listener's totals.
 * NULL without memory. */
struct domain *scan_standin_new(struct fanguard *fg, enum fanguard_mount_class cls,
				const char *name);
void scan_standin_free(struct domain *d);
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
