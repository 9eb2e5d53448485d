/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The state a domain's threads share: one fanotify group with its readers,
 * queue, workers and deadline keeper.
 *
 *   kernel -> group -> reader(s) -> queue -> workers -> scanner -> answer
 *                         \-> deadline heap <- keeper (answers at deadline)
 *
 * Local mounts share one domain; every FUSE-backed or network mount has its
 * own, so a reader or worker blocked on a FUSE daemon never holds up the
 * local events that daemon's backing accesses raise (DESIGN.md §1, §4).
 * Data only: the lifecycle is domain-internal.h, the threads reader.c,
 * pool.c and keeper.c. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/types.h>
#include "fanguard.h"
#include "inflight-internal.h"
#include "queue-internal.h"
#include "counters-internal.h"
#include "flight-internal.h"
#include "sbinfo-internal.h"
#include "overload-internal.h"
#include "time-util.h"

struct fanguard;
struct fan_ops;

/* Where a thread is, for the stuck-thread accounting (health, stats, the
 * budget): inside read() of the group (the kernel opens the event's file
 * there: a FUSE OPEN), reading content (worker), or in close() of an event
 * fd (FUSE_FLUSH). */
enum thread_where {
	WHERE_IDLE = 0,
	WHERE_OPEN,
	WHERE_READ,
	WHERE_CLOSE,
	WHERE_BUSY,
	_WHERE_MAX,
};

struct thread_slot {
	_Atomic int where;
	_Atomic usec_t since;
};

static inline void slot_set(struct thread_slot *s, enum thread_where w)
{
	if (!s)
		return;
	atomic_store_explicit(&s->since, now_usec(), memory_order_relaxed);
	atomic_store_explicit(&s->where, w, memory_order_release);
}

/* How long a thread must have been inside read(), or close(), before it
 * counts as stuck: these take microseconds unless a FUSE daemon stalls. */
#define THREAD_STUCK_USEC (100 * USEC_PER_MSEC)

static inline bool slot_stuck(struct thread_slot *s, usec_t now, enum thread_where *ret)
{
	int w = atomic_load_explicit(&s->where, memory_order_acquire);

	*ret = (enum thread_where) w;
	return (w == WHERE_OPEN || w == WHERE_CLOSE) &&
	       now - atomic_load_explicit(&s->since, memory_order_relaxed) >= THREAD_STUCK_USEC;
}

struct worker {
	struct domain *d;
	pthread_t thread;
	unsigned id;
	struct thread_slot slot;
	bool abandoned;	      /* protected by d->lock */
	struct worker *next;  /* protected by d->lock */
	struct flight flight; /* flight.c: the scan it leads; protected by d->lock */
};

struct reader {
	struct domain *d;
	pthread_t thread;
	unsigned id;
	struct thread_slot slot;
	bool extra;	     /* added while the others were stuck; leaves when done */
	bool exited;	     /* protected by d->lock */
	struct reader *next; /* protected by d->lock */
	/* reader.c's inline scans: the buffer; the last mount's superblock
	 * facts (type: is the content in memory; UUID: the store's key) */
	uint8_t *buf;
	struct sbinfo sb;
	/* The fair queue's key without a pidfd (reader.c): euid by pid. */
	struct euid_memo {
		pid_t pid;
		uid_t euid;
		usec_t at;
	} euids[64];
};

/* A mark asked for before the domain started: placed by domain_start(). */
struct pending_mark {
	int fd; /* O_PATH, ours */
	uint32_t flags;
	struct pending_mark *next;
};

struct domain {
	struct fanguard *fg;
	_Atomic int refs; /* registry + watches + threads + callers */
	enum fanguard_mount_class cls;
	char name[48];		       /* "local", "fuse/53" for thread names and logs */
	uint64_t mnt_id;	       /* non-local domains: the mount they hold */
	unsigned dev_major, dev_minor; /* with mnt_id: the mount (ids are reused) */
	uid_t owner;		       /* who mounted it (FUSE user_id=), 0 for local */
	/* A FUSE filesystem of another user namespace (fusens.c): fuse fails
	 * every request from fs ids unmapped there (EOVERFLOW), so its
	 * readers and workers take these (the mounter's, mapped) once set. */
	_Atomic bool fs_ids;
	uid_t fs_uid;
	gid_t fs_gid;
	/* Beyond the group budget (fg->max_groups), FUSE and network mounts
	 * share one group per FUSE nesting depth (registry.c); mnt_id is 0. */
	bool shared;
	unsigned depth;
	/* A FUSE-backed domain whose daemon is a user's (owner != 0): that
	 * daemon sees our pid and may fail or stall only our reads, so a scan
	 * of an exec that fails or is late is denied (domain_fallback()). */
	bool untrusted;
	const struct fan_ops *ops;
	void *ops_userdata;
	int fan_fd; /* write-locked by stop to close it */
	/* == fan_fd, never changed: readers poll and read it; by the time stop
	 * closes the group they are gone, or stuck inside read() (which holds
	 * the file). */
	int group_fd;
	pthread_rwlock_t fan_fd_lock;
	int wake_fd;		 /* eventfd: wakes polling readers at stop */
	bool one_event_per_read; /* any group that can hold FUSE files (DESIGN §1) */
	bool report_pidfd;	 /* FAN_REPORT_PIDFD: events carry a pidfd of the subject */
	bool unlimited_marks;	 /* FAN_UNLIMITED_MARKS: marks not counted per user */
	bool kernel_audit;	 /* FAN_ENABLE_AUDIT: denies are answered with FAN_AUDIT */
	bool adopted;		 /* its group came from fanguard_adopt_group() */
	/* reader.c: rules by uid or executable met a group without pidfds, logged */
	_Atomic bool subject_rules_warned;
	usec_t deadline;
	enum fanguard_verdict default_verdict;
	enum fanguard_verdict on_deadline, on_queue_full; /* domain_verdict_for() */
	unsigned n_workers, max_abandoned, base_readers, max_readers;

	struct queue queue;

	pthread_mutex_t lock;
	pthread_cond_t keeper_cond; /* CLOCK_MONOTONIC */
	pthread_cond_t exit_cond;   /* CLOCK_MONOTONIC: a thread exited */
	/* protected by lock: */
	struct inflight inflight;
	struct worker *workers;
	struct reader *readers;
	struct pending_mark *pending;
	unsigned n_active_workers, n_stuck_workers, n_running_threads;
	unsigned n_active_readers;
	bool started, stopping;
	bool budget_warned; /* logged that the budget refused a reader */
	pthread_t keeper;
	bool keeper_running;
	/* When the keeper wakes next on its own (0 before it first sleeps). A
	 * reader signals it only for an earlier deadline. */
	usec_t keeper_next;

	struct domain_stats stats;
	struct overload overload; /* overload.c */
	struct domain *next;	  /* protected by fg->lock (registry) */
	bool released;		  /* protected by fg->lock: out of the registry */

	/* watch.c, only for a mount named by fanguard_scan_at_backing():
	 * answer at receipt, never read content through the daemon: its
	 * accesses to the backing files are scanned locally. */
	_Atomic bool content_at_backing;

	/* emask.c: the event mask of this group's marks. FUSE-backed domains
	 * start with open (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM) or access
	 * (FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM); auto ones switch to access,
	 * once, when the daemon refuses the kernel's open of an event fd. */
	_Atomic uint64_t emask;
	_Atomic bool emask_access; /* set after emask_why[1] is written */
	bool emask_auto;	   /* set before start: may switch itself */
	_Atomic bool emask_switching;
	char emask_why[2][160]; /* [access]: why; each written once, before use */
	/* protected by lock: the first mark's target, to re-mark it */
	char *mark_path;
	uint32_t mark_flags;
	usec_t refusal_first; /* protected by lock */
	unsigned refusals;    /* protected by lock */
	/* dedup.c: ignore marks added on access-mask domains since the last
	 * flush, and when the oldest of them went in */
	_Atomic uint64_t dedup_held;
	_Atomic usec_t dedup_oldest;
	/* flight.c: scans in flight that later reads of the same file wait
	 * for (workers' flights); protected by lock */
	struct flight *flights;
};

/* The verdict for an event of d that could not be scanned (deadline, error,
 * queue full, too large, stopping): the class's default, except that an
 * exec from an untrusted FUSE mount is denied. */
static inline bool domain_untrusted_exec(const struct domain *d, uint64_t mask)
{
	return d->untrusted && (mask & FAN_OPEN_EXEC_PERM);
}

static inline enum fanguard_verdict domain_fallback(const struct domain *d, uint64_t mask)
{
	return domain_untrusted_exec(d, mask) ? FANGUARD_DENY : d->default_verdict;
}

/* Called with d->lock held: starts a detached thread of d (reader.c,
 * pool.c) within the thread budget; it holds a budget slot and a reference
 * on d until it calls domain_thread_exit() last. -EUSERS over the budget. */
int domain_thread_spawn_locked(struct domain *d, pthread_t *ret, const char *name,
			       void *(*fn)(void *), void *arg);
void domain_thread_exit(struct domain *d);
/* A reader's or worker's: takes d's fs ids once they are set (*taken
 * remembers it; setfsuid(2) is per thread). */
void domain_take_fs_ids(struct domain *d, bool *taken);

void domain_ref(struct domain *d);
/* The last reference frees d (its threads are gone by then) and drops its
 * reference on the listener. */
void domain_unref(struct domain *d);
