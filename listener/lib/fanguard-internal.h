/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Internals of libfanguard. A listener is a set of domains; a domain is one
 * fanotify group with its own readers, queue, workers and deadline keeper:
 *
 *   kernel -> group -> reader(s) -> queue -> workers -> scanner -> answer
 *                         \-> in-flight list <- keeper (answers at deadline)
 *
 * Local mounts share one domain; every FUSE-backed mount has its own, so a
 * reader or worker blocked on a FUSE daemon never holds up the local events
 * that daemon's backing accesses raise (DESIGN.md §1, §4). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "denylist.h"
#include "fanguard.h"
#include "mounts.h"
#include "time-util.h"

struct fanguard;
struct domain;
struct worker;

/* What identifies a file's content without reading it (cache.c): the
 * statx change attributes. */
struct fg_change_attrs {
	uint64_t ino, size;
	uint32_t dev_major, dev_minor;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
};
#define FG_CHANGE_ATTRS_MASK (STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME)

/* One permission event, from read() to answer. Owned by whoever holds it
 * (reader, then queue, then worker): that holder alone closes ev->fd and
 * frees it, and only after the event was answered, because the kernel finds
 * the event by fd number and a reused number would answer the wrong event. */
struct fg_event {
	int fd;
	pid_t pid;
	uint64_t mask;
	usec_t received_usec;
	usec_t deadline_usec;
	uint64_t size; /* from statx at receipt */

	/* protected by domain->lock */
	bool answered;
	struct worker *worker;	      /* scanning it now, or NULL */
	struct fg_event *prev, *next; /* in domain->inflight while unanswered */

	/* cache.c: the file's change attributes at receipt, before any read */
	struct fg_change_attrs attrs;
	bool attrs_valid;
};

/* What a scan concluded. Private to the worker until it wins the answer. */
struct scan_result {
	enum fanguard_verdict verdict;
	enum fanguard_reason reason;
	const char *scanner;
	char detail[72];
};

/* A bounded FIFO of events (mutex + condition variables). */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct fg_event **ring; /* protected by lock */
	size_t cap, head, len;	/* protected by lock */
	bool closed;		/* protected by lock */
};

int queue_init(struct queue *q, size_t cap);
void queue_done(struct queue *q);
/* -ENOBUFS when full, -ESHUTDOWN when closed; never blocks. */
int queue_push(struct queue *q, struct fg_event *ev);
/* Blocks until an event or close; -ESHUTDOWN once closed and drained. */
int queue_pop(struct queue *q, struct fg_event **ret);
void queue_close(struct queue *q);

struct worker {
	struct domain *d;
	pthread_t thread;
	unsigned id;
	bool abandoned;	     /* protected by d->lock */
	struct worker *next; /* protected by d->lock */
};

enum reader_state { READER_POLLING, READER_READING, READER_HANDLING, READER_EXITED };

struct reader {
	struct domain *d;
	pthread_t thread;
	unsigned id;
	_Atomic int state; /* enum reader_state */
	bool extra;	   /* added while the others were stuck; leaves when done */
	_Atomic usec_t state_since;
	struct reader *next; /* protected by d->lock */
};

struct domain_stats {
	_Atomic uint64_t read, answered, allowed, denied, response_errors;
	_Atomic uint64_t by_reason[_FANGUARD_REASON_MAX];
	_Atomic uint64_t abandoned, replaced, bytes_scanned, readers_added, open_errors;
};

struct domain {
	struct fanguard *fg;
	enum fanguard_mount_class cls;
	char name[48];	      /* "local", "fuse/53 (/mnt/x)" for thread names and logs */
	uint64_t fuse_mnt_id; /* FUSE domains: the mount they hold */
	int fan_fd;	      /* write-locked by stop to close it */
	/* == fan_fd, never changed: readers poll and read it; by the time stop
	 * closes the group they are gone, or stuck inside read() (which holds
	 * the file). */
	int group_fd;
	pthread_rwlock_t fan_fd_lock;
	int wake_fd;		 /* eventfd: wakes polling readers at stop */
	bool one_event_per_read; /* any group that can hold FUSE files (DESIGN §1) */
	usec_t deadline;
	enum fanguard_verdict default_verdict;
	unsigned n_workers, max_abandoned, base_readers, max_readers;

	struct queue queue;

	pthread_mutex_t lock;
	pthread_cond_t keeper_cond; /* CLOCK_MONOTONIC */
	pthread_cond_t exit_cond;   /* a thread exited */
	/* protected by lock: */
	struct fg_event *inflight_head, *inflight_tail;
	uint64_t n_inflight;
	struct worker *workers;
	struct reader *readers;
	unsigned n_active_workers, n_stuck_workers, n_running_threads;
	unsigned n_active_readers;
	bool started, stopping;
	pthread_t keeper;
	bool keeper_running;
	/* protected by lock: when the keeper wakes next on its own (0 before it
	 * first sleeps). A reader signals it only for an earlier deadline. */
	usec_t keeper_next;

	struct domain_stats stats;
	struct domain *next; /* protected by fg->lock */

	/* mountwatch.c: answer at receipt, never read content through the
	 * daemon: its accesses to the backing files are scanned locally. */
	_Atomic bool content_at_backing;
	bool report_pidfd; /* FAN_REPORT_PIDFD: events carry a pidfd of the subject */
};

/* The verdict cache (cache.c). */
struct fg_cache {
	/* read-held while adding a mark, write-held while flushing them */
	pthread_rwlock_t lock;
	_Atomic uint64_t gen; /* bumped by every invalidation */
	_Atomic uint64_t marks_added, marks_revoked, marks_failed, flushes;
};

/* A watch as classified when added (fanguard_watch()), for enumeration. */
struct fg_watch {
	char *path, *mount_point, *fstype, *evidence;
	const char *mount_class;
	enum fanguard_mount_class domain_class;
	uint64_t mnt_id;
	uint32_t flags;
	struct fg_watch *next;

	/* mountwatch.c, loopback.c */
	unsigned dev_major, dev_minor; /* with mnt_id: the mount (ids are reused) */
	struct domain *d;	       /* the group answering it */
	bool from_tree;		       /* found under a fanguard_watch_tree() rule */
	bool loopback;		       /* FUSE served from this host (loopback.c) */
	bool content_at_backing;       /* policy: its domain scans nothing itself */
	char *origin;		       /* loopback.c's evidence, or NULL */
	uint64_t *backing_mnt_ids;     /* local mounts its data comes from */
	size_t n_backing;
};

/* Frees a watch record and everything it owns; NULL-safe. */
void watch_record_free(struct fg_watch *w);
/* A record of a watch of mount me at path; NULL on OOM. */
struct fg_watch *watch_record_new(const char *path, const struct mount_entry *me,
				  enum fanguard_mount_class cls, uint32_t flags);
/* Called with fg->lock held: appends w to fg->watches. */
void watch_record_append_locked(struct fanguard *fg, struct fg_watch *w);
/* The domain class for a mount's class; -EINVAL for pseudo filesystems. */
int domain_class_of(enum mount_class c, enum fanguard_mount_class *ret);
/* Called with fg->lock held: the domain for a mount of class cls (local mounts
 * share one, others are keyed by mnt_id), created and started if needed. */
int domain_get_locked(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t mnt_id,
		      struct domain **ret, bool *ret_created);

struct logq;

struct fanguard {
	struct fanguard_options opts;
	pid_t self_pid;
	_Atomic int refs; /* the caller's + one per thread (see fg_unref) */

	pthread_mutex_t lock; /* protects domains, watches, exclusions' writers */
	struct domain *domains;
	unsigned n_domains, n_watches;
	bool started, stopped;

	pthread_rwlock_t cfg_lock;     /* readers: permission path; writers: config calls */
	pid_t *excluded_pids;	       /* protected by cfg_lock */
	uint64_t *excluded_pid_starts; /* their start times (0: unknown), cfg_lock */
	size_t n_excluded_pids;
	char **excluded_paths; /* protected by cfg_lock */
	size_t n_excluded_paths;
	uid_t *excluded_uids; /* subjects' effective uids (cfg_lock) */
	size_t n_excluded_uids;
	char **excluded_exes; /* /proc/PID/exe targets, exact (cfg_lock) */
	size_t n_excluded_exes;
	struct denylist_slot deny; /* the SHA-256 denylist (denylist.h) */

	_Atomic bool deny_errno_unsupported;
	struct logq *logq;
	struct fg_watch *watches, *watches_tail; /* protected by lock; fanguard_foreach_watch() */
	struct mountwatch *mw;			 /* mountwatch.c: tree rules, watcher thread */
	struct domain_stats retired;		 /* counters of released domains (lock) */
	struct fg_cache cache;
	struct scanner *_Atomic scanners; /* scan.c: append-only, freed in fg_destroy */
};

/* Each thread holds a reference, so a thread that returns from a stuck FUSE
 * read long after fanguard_free() still finds its memory. */
void fg_ref(struct fanguard *fg);
void fg_unref(struct fanguard *fg);

/* Starts a thread named name with every signal blocked (the embedding
 * program's handlers must never run on our threads). */
int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg,
		    bool detached);

/* domain.c */
int domain_new(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t fuse_mnt_id,
	       const char *label, struct domain **ret);
int domain_start(struct domain *d);
/* Stops taking events and answers everything held (never blocks on I/O). */
void domain_stop_begin(struct domain *d);
/* Waits for the threads until deadline, then closes the group; true if every
 * thread exited. Call after domain_stop_begin() on every domain, so the
 * waits overlap. */
bool domain_stop_finish(struct domain *d, usec_t deadline);
void domain_free(struct domain *d);
int domain_mark(struct domain *d, int path_fd, uint32_t flags);
uint64_t fan_mask_for(const struct fanguard *fg);

/* scan.c */
/* Scans ev's content until its deadline. Reads only ev's immutable fields. */
void scan_event(struct domain *d, const struct fg_event *ev, uint8_t *buf, size_t buflen,
		struct scan_result *ret);
bool scan_needed(struct fanguard *fg);

/* What a scanner gets for one event. buf is the worker's scratch buffer. */
struct scan_ctx {
	struct fanguard *fg;
	struct domain *d;
	int fd;	       /* the event fd: FMODE_NONOTIFY, never reopen the path */
	uint64_t size; /* statx at receipt; the file may change while scanned */
	usec_t deadline;
	enum fanguard_verdict default_verdict;
	uint8_t *buf;
	size_t buflen;
};

/* A scanning engine. scan() must return by ctx->deadline (every connect,
 * send, receive and read bounded by it; only a read stuck in a FUSE daemon
 * may outlive it, see domain.c) and sets res->reason: SCANNED with
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
/* Sets res->detail, truncated to fit (details are for the log). */
void scan_detail(struct scan_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* pread through the event fd, bounded by the deadline; bytes read or -errno
 * with res->reason (and detail) set. */
int scan_read_at(const struct scan_ctx *ctx, uint8_t *buf, size_t len, uint64_t off,
		 struct scan_result *res);
/* scan-sha256.c (clamd and YARA: fanguard_add_clamd(), fanguard_load_yara_rules()) */
int scan_sha256_new(struct fanguard *fg, struct scanner **ret);

/* logq.c: the library's log path. logq_push never blocks and never does I/O. */
int logq_new(struct fanguard *fg, size_t cap, struct logq **ret);
int logq_start(struct logq *q);
void logq_stop(struct logq *q); /* drains, then joins */
struct logq *logq_free(struct logq *q);
void logq_log(struct logq *q, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void logq_verdict(struct logq *q, const struct fanguard_verdict_info *info);
uint64_t logq_dropped(struct logq *q);
#define fg_log(fg, prio, ...)                                      \
	do {                                                       \
		if ((prio) <= (fg)->opts.log_max_priority)         \
			logq_log((fg)->logq, (prio), __VA_ARGS__); \
	} while (0)

/* cache.c */
struct statx;
void cache_init(struct fg_cache *c);
void cache_done(struct fg_cache *c);
/* Read before a scan; a mark is added only if no invalidation came since. */
uint64_t cache_gen(struct fanguard *fg);
void cache_attrs_from_statx(const struct statx *stx, struct fg_change_attrs *ret);
bool cache_attrs_same(const struct fg_change_attrs *a, const struct fg_change_attrs *b);
/* After ev was answered "allow" from a scan, before its fd is closed. */
void cache_note_clean(struct domain *d, const struct fg_event *ev, uint64_t gen);
/* A reader got FAN_CLOSE_WRITE for a cached inode (fd): drop its mark. */
void cache_note_closed_write(struct domain *d, int fd);
/* Drops every cached verdict; call after the denylist or config changed. */
void cache_invalidate(struct fanguard *fg);

/* loopback.c: who serves a FUSE mount and whether its data is from this host. */
struct mount_table;
struct mount_entry;
struct fuse_origin {
	bool loopback;
	char *evidence; /* "; "-separated, human-readable */
	char **backing; /* absolute local paths its data comes from */
	size_t n_backing;
	pid_t *helpers; /* the daemon, its children, its peers on this host */
	size_t n_helpers;
};
int loopback_classify(const struct mount_table *t, const struct mount_entry *me,
		      struct fuse_origin *ret);
void fuse_origin_done(struct fuse_origin *o);

/* mountwatch.c */
/* Fills w's loopback fields for a FUSE or FUSE-backed mount (reads /proc). */
void watch_origin_fill(struct fanguard *fg, struct fg_watch *w, const struct mount_table *t,
		       const struct mount_entry *me);
/* Called with fg->lock held once w's domain is known: applies the loopback
 * policy (content_at_backing) to it. */
void watch_policy_apply_locked(struct fanguard *fg, struct fg_watch *w, struct domain *d);
int mountwatch_start(struct fanguard *fg);
/* Joins the watcher; after it no domain is added or released. */
void mountwatch_stop(struct fanguard *fg);
void mountwatch_free(struct fanguard *fg);
void domain_stats_add(struct domain_stats *to, struct domain_stats *from);
