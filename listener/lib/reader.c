/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Readers: one event at a time from the group (on groups that can hold
 * FUSE files), classify it without touching its content, answer it at
 * receipt (own pid, excluded, not a regular file, nothing to scan, too
 * large) or queue it for the workers with a deadline.
 *
 * Must never: read file content, wait on a worker, take the log path
 * synchronously. A reader can block inside read() (the kernel opens a FUSE
 * file there) and in close() of an event fd (FUSE_FLUSH): both are visible
 * in its slot, and the keeper adds readers while all are stuck. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <syslog.h>
#include "answer-internal.h"
#include "cache-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "exclude-internal.h"
#include "fanops-internal.h"
#include "fg-internal.h"
#include "macro.h"
#include "pool-internal.h"
#include "quarantine-internal.h"
#include "reader-internal.h"
#include "sbinfo-internal.h"
#include "scan-internal.h"
#include "store-internal.h"
#include "subject-internal.h"

/* FAN_REPORT_PIDFD (5.15): the info record with a pidfd of the subject. */
#ifndef FAN_EVENT_INFO_TYPE_PIDFD
#define FAN_EVENT_INFO_TYPE_PIDFD 4
struct fanotify_event_info_pidfd {
	struct fanotify_event_info_header hdr;
	__s32 pidfd;
};
#endif

#define PERM_EVENTS (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | FAN_ACCESS_PERM)

/* Groups that can hold FUSE files read one event per read(): the kernel opens
 * each event's fd inside read() (create_fd()), which for a FUSE file is a
 * round trip to the daemon, and a read() with room for several events can
 * dequeue an event the daemon's own progress depends on and then block on
 * the next one before returning either (DESIGN.md §1). No event, with or
 * without info records, is shorter than the metadata, so this fits one; the
 * longest we ask for, metadata (24) + a pidfd record (8) = 32 bytes, fits
 * too, and two never do. */
#define ONE_EVENT_BUF (2 * FAN_EVENT_METADATA_LEN - 1)

/* Answers an event the reader holds alone, then closes its fd. */
static void answer_direct(struct reader *rd, struct fg_event *ev, enum fanguard_verdict v,
			  enum fanguard_reason why)
{
	(void) event_answer(rd->d, ev, v, why, NULL);
	event_release(rd->d, ev, &rd->slot, /* heap_owned= */ false);
}

/* Tracks ev (deadline heap) and queues it; answers it if it cannot.
 * parallel: the most scans a scanner runs at once (struct scan_plan). */
static void enqueue(struct reader *rd, struct fg_event *ev, unsigned parallel)
{
	struct domain *d = rd->d;
	int r;

	pthread_mutex_lock(&d->lock);
	/* Stop answers what the heap holds once: nothing joins it after. */
	r = d->stopping ? -ESHUTDOWN : inflight_add(&d->inflight, ev);
	/* The keeper, once asleep until an earlier deadline, needs no
	 * wake-up: waking it per event cost a context switch (measured: ~8 us
	 * of CPU per scanned event). */
	if (r >= 0 && ev->deadline_usec < d->keeper_next)
		pthread_cond_signal(&d->keeper_cond);
	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		if (r == -ENOMEM)
			stat_inc(&d->stats.alloc_errors);
		ev->tracked = false;
		answer_direct(rd, ev, domain_fallback(d, ev->mask),
			      r == -ENOMEM ? FANGUARD_REASON_ERROR : FANGUARD_REASON_SHUTDOWN);
		free(ev);
		return;
	}
	r = queue_push(&d->queue, ev);
	if (r > 1)
		pool_grow(d, parallel); /* it waits behind others */
	if (r < 0) {
		enum fanguard_reason why =
			r == -ENOBUFS ? FANGUARD_REASON_QUEUE_FULL : FANGUARD_REASON_SHUTDOWN;

		(void) event_answer(d, ev,
				    domain_untrusted_exec(d, ev->mask) ? FANGUARD_DENY
								       : domain_verdict_for(d, why),
				    why, NULL);
		event_release(d, ev, &rd->slot, /* heap_owned= */ true);
	}
}

/* Whether an event can be answered at receipt, without its content (and
 * how: *ret_v, *ret_why). Fills *stx for the queue otherwise, and
 * *ret_plan: whether every scanner to run may run on a reader, how many
 * scans one runs at once. */
static bool answer_at_receipt(struct reader *rd, const struct fanotify_event_metadata *m,
			      struct subject *subj, struct statx *stx, enum fanguard_verdict *ret_v,
			      enum fanguard_reason *ret_why, struct scan_plan *ret_plan)
{
	struct domain *d = rd->d;
	struct fanguard *fg = d->fg;
	struct snapshot *xs;
	bool stopping, excluded;
	int r;

	*ret_v = FANGUARD_ALLOW;
	pthread_mutex_lock(&d->lock);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->lock);
	if (stopping) {
		*ret_v = domain_fallback(d, m->mask);
		*ret_why = FANGUARD_REASON_SHUTDOWN;
		return true;
	}
	/* Our own accesses (other than through event fds, which carry
	 * FMODE_NONOTIFY) raise events too: never wait on ourselves. */
	if (m->pid == fg->self_pid) {
		*ret_why = FANGUARD_REASON_SELF;
		return true;
	}
	/* fuse_user_exec=deny: no exec from a user's FUSE daemon, scanned
	 * or not (it could show the scanner other bytes than the opener). */
	if (d->untrusted && (m->mask & FAN_OPEN_EXEC_PERM) &&
	    fg->opts.fuse_user_exec == FANGUARD_FUSE_USER_EXEC_DENY) {
		*ret_v = FANGUARD_DENY;
		*ret_why = FANGUARD_REASON_POLICY;
		return true;
	}
	/* Nothing to scan with: nothing about the file matters (no statx:
	 * measured, a syscall of the allow path's few). */
	pthread_rwlock_rdlock(&fg->cfg_lock);
	r = scan_needed(fg, ret_plan);
	pthread_rwlock_unlock(&fg->cfg_lock);
	if (!r) {
		*ret_why = FANGUARD_REASON_NO_SCANNER;
		return true;
	}
	/* AT_STATX_DONT_SYNC: take the cached type and size; on FUSE a synced
	 * statx may be a GETATTR round trip to the daemon. */
	r = statx(m->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  FG_CHANGE_ATTRS_MASK | STATX_MNT_ID_UNIQUE, stx);
	if (r < 0 || !S_ISREG(stx->stx_mode)) {
		/* FIFOs, devices, sockets: never read them. */
		*ret_why = r < 0 ? FANGUARD_REASON_ERROR : FANGUARD_REASON_NOT_REGULAR;
		return true;
	}
	/* A root-owned passthrough FUSE mount the administrator named for
	 * scanning at the backing layer (fanguard_scan_at_backing(), watch.c):
	 * the daemon's open of the backing file is scanned (and denied) in the
	 * local group, which then fails this open. */
	excluded = atomic_load_explicit(&d->content_at_backing, memory_order_relaxed);
	if (!excluded) {
		xs = snapshot_get(&fg->excl);
		const struct exclusions *x = snapshot_container(xs, struct exclusions);

		excluded = exclusions_match(fg, x, subj, m->fd);
		/* Rules by uid or executable need the subject's pidfd: set after
		 * this group was made without one (or on a kernel without
		 * FAN_REPORT_PIDFD), they exclude nothing here (fail closed). */
		if (!excluded && !d->report_pidfd && (x->n_uids > 0 || x->n_exes > 0) &&
		    !atomic_exchange(&d->subject_rules_warned, true))
			fg_log(fg, LOG_WARNING,
			       "%s: exclusions by uid or executable need the subjects' pidfds, "
			       "which this group was created without (no such rule then, or a "
			       "kernel before 5.15): its events are scanned, not excluded, until "
			       "fanguard restarts",
			       d->name);
		snapshot_put(xs);
	}
	if (excluded) {
		*ret_why = FANGUARD_REASON_EXCLUDED;
		return true;
	}
	if (stx->stx_size > fg->opts.max_scan_bytes) {
		*ret_v = domain_fallback(d, m->mask);
		*ret_why = FANGUARD_REASON_TOO_LARGE;
		return true;
	}
	return false;
}

/* Small files on local mounts are scanned by the reader itself when every
 * scanner is cheap (inline_ok) and the content is in memory: no queue hop,
 * no worker wake-up (measured: the hop was most of the CPU the SHA-256 path
 * added per event, futex wake-ups and context switches). Reads never wait
 * for I/O: on tmpfs and ramfs the content is memory; elsewhere they use
 * RWF_NOWAIT and a read that would wait hands the event to a worker, so
 * a reader never blocks on a disk and the keeper never has to take over
 * from one. */
#define INLINE_MAX (128 * 1024)

static bool reader_memfs(struct reader *rd, int fd, const struct statx *stx)
{
	long t = sbinfo_type_hint(&rd->sb, fd, stx);

	return t == TMPFS_MAGIC || t == RAMFS_MAGIC;
}

/* true if ev (the reader's, untracked) was scanned, answered and released;
 * false to queue it instead. */
static bool reader_scan_inline(struct reader *rd, struct fg_event *ev, const struct statx *stx)
{
	struct domain *d = rd->d;
	struct scan_result res;
	uint64_t gen;

	if (!rd->buf && !(rd->buf = malloc(INLINE_MAX)))
		return false;
	ev->size = stx->stx_size;
	ev->deadline_usec = ev->received_usec + d->deadline;
	cache_attrs_from_statx(stx, &ev->attrs);
	ev->attrs_valid = (stx->stx_mask & FG_CHANGE_ATTRS_MASK) == FG_CHANGE_ATTRS_MASK;
	gen = cache_gen(d->fg); /* before the scan looks at the denylist */
	scan_event(d, ev, rd->buf, INLINE_MAX, !reader_memfs(rd, ev->fd, stx), &res);
	/* The exact type, for the cache mark after the answer (cache.c): only
	 * where the mount id is unique, else cache.c looks it up itself. */
	if (rd->sb.mnt_id && rd->sb.mnt_id == stx->stx_mnt_id &&
	    (stx->stx_mask & STATX_MNT_ID_UNIQUE))
		ev->f_type = rd->sb.f_type;
	/* A deny to quarantine: the copy is a worker's job, never a reader's
	 * (a worker scans it again, from memory). */
	if (res.would_block || quarantine_wanted(d->fg, &res))
		return false;
	stat_inc(&d->stats.scanned_inline);
	if (event_answer(d, ev, res.verdict, res.reason, &res) && res.verdict == FANGUARD_ALLOW &&
	    res.reason == FANGUARD_REASON_SCANNED && !res.no_cache)
		cache_note_clean(d, ev, gen);
	event_release(d, ev, &rd->slot, /* heap_owned= */ false);
	return true;
}

/* A clean verdict kept across restarts (store.c): one read transaction.
 * true if ev (the reader's, untracked) was answered and released. A hit
 * sets the kernel's ignore mark, as a scan would. */
static bool reader_store_hit(struct reader *rd, struct fg_event *ev, const struct statx *stx)
{
	struct domain *d = rd->d;
	struct fanguard *fg = d->fg;
	struct scan_result res = {
		.verdict = FANGUARD_ALLOW, .reason = FANGUARD_REASON_SCANNED, .scanner = "store"};
	const struct sbinfo *sb;
	uint64_t gen;

	if (!fg->store || fg->opts.no_cache || d->cls != FANGUARD_MOUNT_LOCAL ||
	    (stx->stx_mask & FG_CHANGE_ATTRS_MASK) != FG_CHANGE_ATTRS_MASK)
		return false;
	cache_attrs_from_statx(stx, &ev->attrs);
	ev->attrs_valid = true;
	ev->size = stx->stx_size;
	gen = cache_gen(fg);
	sb = sbinfo_get(&rd->sb, ev->fd, stx, /* want_uuid= */ true);
	if (!sb || !store_lookup(fg->store, ev->fd, sb, &ev->attrs, gen))
		return false;
	ev->f_type = sb->f_type;
	ev->from_store = true;
	scan_detail(&res, "kept verdict");
	if (event_answer(d, ev, res.verdict, res.reason, &res))
		cache_note_clean(d, ev, gen);
	event_release(d, ev, &rd->slot, /* heap_owned= */ false);
	return true;
}

/* The fair queue's key (queue.c): by pidfd, cheap (an exclusion rule may
 * have read it already). Groups without pidfds would read /proc/PID/status
 * per queued event (measured: 12 us); the answer is kept per pid for a
 * second instead. The key only orders the queue, never decides a verdict:
 * a pid reused or a set-uid exec within that second is only queued under
 * the previous euid. Unknown uids share one FIFO. */
#define EUID_MEMO_USEC USEC_PER_SEC

static uid_t reader_euid(struct reader *rd, struct subject *subj, usec_t now)
{
	struct euid_memo *m = &rd->euids[(uint32_t) subj->pid % ELEMENTSOF(rd->euids)];
	uid_t uid;

	if (rd->d->report_pidfd || subj->pid <= 0)
		return subject_euid(subj, &uid) < 0 ? (uid_t) -1 : uid;
	if (m->pid == subj->pid && now - m->at < EUID_MEMO_USEC)
		return m->euid;
	if (subject_euid(subj, &uid) < 0)
		return (uid_t) -1;
	*m = (struct euid_memo){.pid = subj->pid, .euid = uid, .at = now};
	return uid;
}

static void reader_handle(struct reader *rd, const struct fanotify_event_metadata *m, int pidfd)
{
	struct domain *d = rd->d;
	enum fanguard_verdict v;
	enum fanguard_reason why;
	struct fg_event local, *ev;
	struct subject subj;
	struct statx stx;
	struct scan_plan plan = {0};

	if (m->fd < 0) {
		/* FAN_NOFD: an overflow notice (we use an unlimited queue) or an
		 * fd the kernel could not open; nothing here can be answered. */
		fg_log(d->fg, LOG_WARNING, "%s: event without fd (mask 0x%llx)", d->name,
		       (unsigned long long) m->mask);
		return;
	}
	event_init(&local, m->fd, m->pid, m->mask, now_usec());
	if (!(m->mask & PERM_EVENTS)) {
		/* Only cached inodes ask for it (cache.c): a writer closed
		 * one, maybe after writing through a mapping. */
		if (m->mask & FAN_CLOSE_WRITE)
			cache_note_closed_write(d, m->fd);
		atomic_store(&local.state, EVENT_ANSWERED); /* nothing to answer */
		event_release(d, &local, &rd->slot, false);
		return;
	}
	stat_inc(&d->stats.read);
	subject_init(&subj, m->pid, pidfd);
	if (answer_at_receipt(rd, m, &subj, &stx, &v, &why, &plan)) {
		answer_direct(rd, &local, v, why);
		return;
	}
	if (reader_store_hit(rd, &local, &stx))
		return;
	if (plan.inline_ok && d->cls == FANGUARD_MOUNT_LOCAL && stx.stx_size <= INLINE_MAX &&
	    reader_scan_inline(rd, &local, &stx))
		return;
	ev = d->ops->alloc_event(d->ops_userdata, sizeof(*ev));
	if (!ev) {
		stat_inc(&d->stats.alloc_errors);
		answer_direct(rd, &local, domain_fallback(d, m->mask), FANGUARD_REASON_ERROR);
		return;
	}
	event_init(ev, m->fd, m->pid, m->mask, local.received_usec);
	ev->tracked = true;
	ev->uid = reader_euid(rd, &subj, local.received_usec);
	ev->size = stx.stx_size;
	ev->deadline_usec = ev->received_usec + d->deadline;
	/* For the verdict cache: what the file was before the scan read it. */
	cache_attrs_from_statx(&stx, &ev->attrs);
	ev->attrs_valid = (stx.stx_mask & FG_CHANGE_ATTRS_MASK) == FG_CHANGE_ATTRS_MASK;
	enqueue(rd, ev, plan.parallel);
}

/* The pidfd in m's info records, or -EBADF (none, or FAN_NOPIDFD: the
 * subject exited; FAN_EPIDFD: the kernel could not make one). */
static int event_pidfd(const struct fanotify_event_metadata *m)
{
	size_t off = m->metadata_len;

	while (off + sizeof(struct fanotify_event_info_header) <= m->event_len) {
		const struct fanotify_event_info_header *h =
			(const void *) ((const uint8_t *) m + off);

		if (h->len < sizeof(*h) || off + h->len > m->event_len)
			break;
		if (h->info_type == FAN_EVENT_INFO_TYPE_PIDFD &&
		    h->len >= sizeof(struct fanotify_event_info_pidfd)) {
			const struct fanotify_event_info_pidfd *p = (const void *) h;

			return p->pidfd >= 0 ? p->pidfd : -EBADF;
		}
		off += h->len;
	}
	return -EBADF;
}

unsigned readers_stuck_locked(struct domain *d, unsigned *ret_alive)
{
	usec_t now = now_usec();
	unsigned stuck = 0, alive = 0;

	for (struct reader *rd = d->readers; rd; rd = rd->next) {
		enum thread_where w;

		if (rd->exited)
			continue;
		alive++;
		if (slot_stuck(&rd->slot, now, &w))
			stuck++;
	}
	if (ret_alive)
		*ret_alive = alive;
	return stuck;
}

/* Waits for the group (or the wake fd) to be readable: false to leave. */
static bool reader_wait(struct reader *rd, int ep)
{
	struct domain *d = rd->d;
	struct pollfd p[2] = {
		{.fd = d->group_fd, .events = POLLIN},
		{.fd = d->wake_fd, .events = POLLIN},
	};

	for (;;) {
		slot_set(&rd->slot, WHERE_IDLE);
		if (ep >= 0) {
			struct epoll_event e[2];
			int k = epoll_wait(ep, e, 2, -1);

			if (k < 0 && errno != EINTR) {
				fg_log(d->fg, LOG_ERR, "%s: epoll_wait failed: %m", d->name);
				return false;
			}
			p[0].revents = p[1].revents = 0;
			for (int i = 0; i < k; i++)
				p[e[i].data.u32].revents = (short) e[i].events;
		} else if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fg_log(d->fg, LOG_ERR, "%s: poll failed: %m", d->name);
			return false;
		}
		if (p[1].revents)
			return false; /* stopping */
		if (p[0].revents & POLLIN)
			return true;
		if (p[0].revents & (POLLHUP | POLLERR))
			return false;
	}
}

static void reader_read_one(struct reader *rd, char *buf, size_t len)
{
	struct domain *d = rd->d;
	struct fanotify_event_metadata *m;
	usec_t t0 = now_usec();
	ssize_t n;

	slot_set(&rd->slot, WHERE_OPEN);
	n = d->ops->read(d->ops_userdata, d->group_fd, buf, len);
	slot_set(&rd->slot, WHERE_BUSY);
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR)
			return; /* another reader took it */
		/* The kernel could not open the file of the event it dequeued
		 * (create_fd(): a FUSE daemon refused or failed the open,
		 * EMFILE, ...). It answered that event itself, with a deny:
		 * measured here, the opener gets EPERM. */
		stat_inc(&d->stats.open_errors);
		fg_log(d->fg, n == -EMFILE || n == -ENFILE ? LOG_ERR : LOG_INFO,
		       "%s: the kernel could not open an event's file (%s); it denied that event",
		       d->name, strerror((int) -n));
		/* A daemon refusing that open after a long wait (rclone's
		 * second open of a file being created): emask.c. */
		emask_note_read_error(d, (int) n, now_usec() - t0);
		return;
	}
	for (m = (struct fanotify_event_metadata *) buf; FAN_EVENT_OK(m, n);
	     m = FAN_EVENT_NEXT(m, n)) {
		int pidfd = event_pidfd(m);

		if (m->vers != FANOTIFY_METADATA_VERSION) {
			fg_log(d->fg, LOG_CRIT, "%s: fanotify metadata version %u, want %u",
			       d->name, m->vers, FANOTIFY_METADATA_VERSION);
			if (m->fd >= 0)
				d->ops->close_event_fd(d->ops_userdata, m->fd);
		} else
			reader_handle(rd, m, pidfd);
		safe_close(pidfd);
	}
}

static void *reader_main(void *userdata)
{
	struct reader *rd = userdata;
	struct domain *d = rd->d;
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	size_t len = d->one_event_per_read ? ONE_EVENT_BUF : sizeof(buf);
	bool fs_ids = false;
	/* With poll(), every event wakes every idle reader and all but one
	 * find nothing to read (measured: ~1.5 us of CPU per event with two
	 * local readers). EPOLLEXCLUSIVE (4.5) wakes one; the wake fd, not
	 * exclusive, still wakes them all at stop. poll() if it fails. */
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep >= 0) {
		struct epoll_event ge = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = 0};
		struct epoll_event we = {.events = EPOLLIN, .data.u32 = 1};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, d->group_fd, &ge) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, d->wake_fd, &we) < 0)
			ep = safe_close(ep);
	}
	while (reader_wait(rd, ep)) {
		bool surplus;

		domain_take_fs_ids(d, &fs_ids);
		reader_read_one(rd, buf, len);
		/* Readers added while others were stuck leave once they are
		 * no longer needed. */
		pthread_mutex_lock(&d->lock);
		surplus = rd->extra && d->n_active_readers > d->base_readers &&
			  readers_stuck_locked(d, NULL) == 0;
		if (surplus) {
			d->n_active_readers--;
			rd->exited = true;
		}
		pthread_mutex_unlock(&d->lock);
		if (surplus)
			goto out;
	}
	pthread_mutex_lock(&d->lock);
	d->n_active_readers--;
	rd->exited = true;
	pthread_mutex_unlock(&d->lock);
out:
	safe_close(ep);
	pthread_mutex_lock(&d->lock);
	for (struct reader **p = &d->readers; *p; p = &(*p)->next)
		if (*p == rd) {
			*p = rd->next;
			break;
		}
	pthread_mutex_unlock(&d->lock);
	free(rd->buf);
	free(rd);
	domain_thread_exit(d);
	return NULL;
}

int reader_spawn_locked(struct domain *d, bool extra)
{
	static _Atomic unsigned next_id;
	struct reader *rd = calloc(1, sizeof(*rd));
	char name[16];
	int r;

	if (!rd)
		return -ENOMEM;
	rd->d = d;
	rd->id = atomic_fetch_add(&next_id, 1);
	rd->extra = extra;
	slot_set(&rd->slot, WHERE_IDLE);
	(void) snprintf(name, sizeof(name), "fg-read/%u", rd->id);
	r = domain_thread_spawn_locked(d, &rd->thread, name, reader_main, rd);
	if (r < 0) {
		free(rd);
		return r;
	}
	rd->next = d->readers;
	d->readers = rd;
	d->n_active_readers++;
	return 0;
}

void readers_check_locked(struct domain *d)
{
	unsigned n, stuck = readers_stuck_locked(d, &n);
	int r;

	if (n == 0 || stuck < n || d->n_active_readers >= d->max_readers)
		return;
	r = reader_spawn_locked(d, /* extra= */ true);
	if (r >= 0) {
		d->budget_warned = false;
		stat_inc(&d->stats.readers_added);
		fg_log(d->fg, LOG_NOTICE, "%s: %u readers waiting on the FUSE daemon, added one",
		       d->name, stuck);
	} else if (r == -EUSERS && !d->budget_warned) {
		/* Once until a thread can start again: the keeper asks often. */
		d->budget_warned = true;
		fg_log(d->fg, LOG_ERR,
		       "%s: %u readers stuck; thread budget exhausted for owner uid %u: none added",
		       d->name, stuck, (unsigned) d->owner);
	}
}
