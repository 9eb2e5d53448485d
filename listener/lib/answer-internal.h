/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* One permission event, and the one way to answer it.
 *
 * Exactly once, by construction: every path that answers (the reader at
 * receipt, a worker after the scan, the keeper at the deadline, stop, an
 * error path) first claims the event with a compare-and-swap on ev->state,
 * PENDING -> CLAIMED; only the winner writes the answer, then publishes
 * ANSWERED. The event's fd belongs to its holder (reader, then queue, then
 * worker), who closes it only once the event is ANSWERED, whoever won: the
 * kernel finds the event by fd number, and a reused number would answer
 * some other event.
 *
 * Must never block: the write goes to the fanotify group (no I/O). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "time-util.h"

struct domain;
struct worker;
struct thread_slot;

/* What identifies a file's content without reading it (cache.c): the
 * statx change attributes. */
struct fg_change_attrs {
	uint64_t ino, size;
	uint32_t dev_major, dev_minor;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
};
#define FG_CHANGE_ATTRS_MASK (STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME)

enum event_state { EVENT_PENDING = 0, EVENT_CLAIMED, EVENT_ANSWERED };

struct fg_event {
	int fd;
	pid_t pid;
	uint64_t mask;
	usec_t received_usec;
	usec_t deadline_usec;
	uint64_t size;	   /* from statx at receipt */
	_Atomic int state; /* enum event_state */
	bool tracked;	   /* in the deadline heap until claimed (immutable) */

	/* queue.c, protected by the queue's lock: its uid's FIFO */
	struct fg_event *qnext;
	uid_t uid; /* the subject's effective uid, or (uid_t) -1 unknown */

	/* protected by domain->lock */
	ssize_t heap_idx;      /* in domain->inflight, or -1 */
	struct worker *worker; /* scanning it now, or NULL */

	/* cache.c: the file's change attributes at receipt, before any read */
	struct fg_change_attrs attrs;
	bool attrs_valid;
	bool from_store; /* allowed by the verdict store (store.c): not kept again */
	long f_type;	 /* the filesystem's type if a reader knew it (sbinfo.c), or 0 */

	/* flight.c: waiting for another event's scan of the same file */
	struct fg_event *flight_next; /* protected by domain->lock */
	bool flight_alone;	      /* scanned on its own, never coalesced */
};

/* What a scan concluded. Private to the worker until it wins the answer. */
struct scan_result {
	enum fanguard_verdict verdict;
	enum fanguard_reason reason;
	const char *scanner;
	char detail[72];
	bool no_cache;	  /* a clean verdict the scanner said not to cache */
	bool would_block; /* ctx->nowait: content not in memory, nothing decided */
	bool allowlisted; /* its SHA-256 is allowlisted: no later scanner may deny it */
};

/* An event the reader answers at receipt, never queued: on its stack. */
void event_init(struct fg_event *ev, int fd, pid_t pid, uint64_t mask, usec_t received);

/* PENDING -> CLAIMED; true for the one caller that wins. */
bool event_claim(struct fg_event *ev);

/* The winner of event_claim() writes the answer, counts it, publishes
 * ANSWERED, then queues the verdict report (after the answer: the opener
 * never waits on the log). res may be NULL (no scan ran); comm/exe are read
 * for denies (before the answer, as the subject may exit right after). */
void answer_write(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
		  enum fanguard_reason why, const struct scan_result *res);

/* Claim, take ev out of d's deadline heap, write: true if this caller won. */
bool event_answer(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
		  enum fanguard_reason why, const struct scan_result *res);

/* The same, with the subject's comm, exe and uid read by the caller
 * already (subject_init() and reads, before the call): a deny's report
 * uses them instead of reading /proc again. known may be NULL. */
struct subject;
void answer_write_subject(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
			  enum fanguard_reason why, const struct scan_result *res,
			  struct subject *known);
bool event_answer_subject(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
			  enum fanguard_reason why, const struct scan_result *res,
			  struct subject *known);

/* The holder's end: waits (briefly) until whoever won has written, then
 * closes the fd (noting in slot that the thread is in close(): FUSE_FLUSH
 * may hang) and, if heap_owned, frees ev. */
void event_release(struct domain *d, struct fg_event *ev, struct thread_slot *slot,
		   bool heap_owned);
