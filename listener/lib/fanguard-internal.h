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
#include "fanguard.h"
#include "time-util.h"

struct fanguard;
struct domain;
struct worker;

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

	struct domain_stats stats;
	struct domain *next; /* protected by fg->lock */
};

struct hashset {
	uint8_t (*digests)[32]; /* sorted */
	size_t n, cap;
};

struct logq;

struct fanguard {
	struct fanguard_options opts;
	pid_t self_pid;
	_Atomic int refs; /* the caller's + one per thread (see fg_unref) */

	pthread_mutex_t lock; /* protects domains, watches, exclusions' writers */
	struct domain *domains;
	unsigned n_domains, n_watches;
	bool started, stopped;

	pthread_rwlock_t cfg_lock; /* readers: permission path; writers: config calls */
	pid_t *excluded_pids;	   /* protected by cfg_lock */
	size_t n_excluded_pids;
	char **excluded_paths; /* protected by cfg_lock */
	size_t n_excluded_paths;
	struct hashset deny; /* protected by cfg_lock */

	_Atomic bool deny_errno_unsupported;
	struct logq *logq;
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
int hashset_add(struct hashset *h, const uint8_t (*digests)[32], size_t n);
bool hashset_contains(const struct hashset *h, const uint8_t digest[32]);
void hashset_done(struct hashset *h);
/* Parses one denylist line; 1 if a digest was stored, 0 if blank/comment, -EBADMSG. */
int denylist_parse_line(const char *line, uint8_t ret[32]);

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
