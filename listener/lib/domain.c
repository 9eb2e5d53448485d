/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A domain: one fanotify group with its readers, queue, workers and keeper.
 *
 * The one invariant: every permission event we read gets exactly one answer.
 * An event is answered by exactly one of
 *   - its reader, at receipt, when no content is needed (own pid, excluded,
 *     not a regular file, nothing to scan) or the queue is full;
 *   - its worker, after the scan;
 *   - the keeper, when the deadline passes first, or at stop.
 * Whoever sets ev->answered (under d->lock) writes the answer; the holder of
 * the event closes its fd only after that (see struct fg_event).
 *
 * Must never: read file content in a reader, block a reader on a worker,
 * take the log path synchronously, or write to the group fd after it was
 * closed (the number may belong to someone else by then). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "fanguard-internal.h"
#include "macro.h"
#include "procfs.h"

/* Newer than Debian 12's 6.1 headers; support is detected at run time. */
#ifndef FAN_ERRNO_BITS
#define FAN_ERRNO_BITS 8
#define FAN_ERRNO_SHIFT (32 - FAN_ERRNO_BITS)
#define FAN_ERRNO_MASK ((1 << FAN_ERRNO_BITS) - 1)
#define FAN_DENY_ERRNO(err) (FAN_DENY | ((((uint32_t) (err)) & FAN_ERRNO_MASK) << FAN_ERRNO_SHIFT))
#endif

/* FAN_REPORT_PIDFD (5.15): every event carries an info record with a pidfd
 * of its subject, an fd in our table (closed after each event). Support is
 * detected at run time (fanotify_init() fails with EINVAL before). */
#ifndef FAN_REPORT_PIDFD
#define FAN_REPORT_PIDFD 0x00000080
#endif
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

/* How long every reader of an elastic domain must have been inside read()
 * before the keeper adds one: a read of a queued event takes microseconds
 * unless the kernel is waiting on a FUSE daemon to open the file. */
#define READER_STUCK_USEC (100 * USEC_PER_MSEC)

uint64_t fan_mask_for(const struct fanguard *fg)
{
	uint64_t m = 0;

	if (fg->opts.events & FANGUARD_EVENT_OPEN)
		m |= FAN_OPEN_PERM;
	if (fg->opts.events & FANGUARD_EVENT_EXEC)
		m |= FAN_OPEN_EXEC_PERM;
	if (fg->opts.events & FANGUARD_EVENT_ACCESS)
		m |= FAN_ACCESS_PERM;
	return m;
}

/* Writes the answer. The group fd is read-locked so stop cannot close it
 * (and the number be reused) in between. */
static int fan_respond(struct domain *d, int fd, enum fanguard_verdict v)
{
	struct fanguard *fg = d->fg;
	struct fanotify_response resp = {.fd = fd, .response = FAN_ALLOW};
	int r = 0;

	if (v == FANGUARD_DENY) {
		resp.response = FAN_DENY;
		/* Ask for the errno explicitly where the kernel takes it (6.13+,
		 * FAN_CLASS_PRE_CONTENT groups); plain FAN_DENY gives EPERM. */
		if (!atomic_load_explicit(&fg->deny_errno_unsupported, memory_order_relaxed))
			resp.response = FAN_DENY_ERRNO(fg->opts.deny_errno);
	}
	pthread_rwlock_rdlock(&d->fan_fd_lock);
	for (;;) {
		ssize_t n;

		if (d->fan_fd < 0) {
			/* Closed at stop: the kernel allowed it at release. */
			r = -EBADF;
			break;
		}
		n = write(d->fan_fd, &resp, sizeof(resp));
		if (n == (ssize_t) sizeof(resp))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && resp.response != FAN_DENY &&
		    resp.response != FAN_ALLOW) {
			/* FAN_DENY_ERRNO is EINVAL in a FAN_CLASS_CONTENT group and
			 * before 6.13 (DESIGN.md §2): fall back to plain deny. */
			if (!atomic_exchange(&fg->deny_errno_unsupported, true) &&
			    fg->opts.deny_errno != EPERM)
				fg_log(fg, LOG_WARNING,
				       "this kernel or group class takes no FAN_DENY_ERRNO: denied "
				       "opens fail with EPERM, not errno %d",
				       fg->opts.deny_errno);
			resp.response = FAN_DENY;
			continue;
		}
		r = n < 0 ? -errno : -EIO;
		break;
	}
	pthread_rwlock_unlock(&d->fan_fd_lock);
	if (r < 0)
		atomic_fetch_add_explicit(&d->stats.response_errors, 1, memory_order_relaxed);
	return r;
}

static void count_answer(struct domain *d, enum fanguard_verdict v, enum fanguard_reason why)
{
	atomic_fetch_add_explicit(&d->stats.answered, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(v == FANGUARD_DENY ? &d->stats.denied : &d->stats.allowed, 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&d->stats.by_reason[why], 1, memory_order_relaxed);
}

/* After the answer: the verdict callback gets a best-effort path. */
/* The subject's comm and executable, for the verdict log of a deny. Read
 * before the answer: once answered, a denied opener often exits at once.
 * procfs only (no FUSE); "" when unreadable. */
struct subject_names {
	char comm[17];
	char exe[4096];
};

static void subject_names_read(pid_t pid, struct subject_names *ret)
{
	char proc[64];
	ssize_t n;
	int fd;

	ret->comm[0] = ret->exe[0] = '\0';
	(void) snprintf(proc, sizeof(proc), "/proc/%d/comm", (int) pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, ret->comm, sizeof(ret->comm) - 1);
		ret->comm[n > 0 ? n : 0] = '\0';
		ret->comm[strcspn(ret->comm, "\n")] = '\0';
		(void) close(fd);
	}
	(void) snprintf(proc, sizeof(proc), "/proc/%d/exe", (int) pid);
	n = readlink(proc, ret->exe, sizeof(ret->exe) - 1);
	ret->exe[n > 0 ? n : 0] = '\0';
}

static void report_verdict(struct domain *d, int fd, pid_t pid, uint64_t mask, usec_t received,
			   enum fanguard_verdict v, enum fanguard_reason why, const char *scanner,
			   const char *detail, const struct subject_names *names)
{
	struct fanguard *fg = d->fg;
	struct fanguard_verdict_info info = {
		.size = sizeof(info),
		.verdict = v,
		.reason = why,
		.mount_class = d->cls,
		.pid = pid,
		.mask = mask,
		.latency_usec = now_usec() - received,
		.scanner = scanner ? scanner : "",
		.detail = detail ? detail : "",
		.path = "?",
		.comm = names ? names->comm : "",
		.exe = names ? names->exe : "",
	};
	char proc[64], path[4096];
	ssize_t n;

	if (!fg->opts.verdict_fn)
		return;
	/* Allows are reported at debug level only: most deployments don't want
	 * a line per open, and the path lookup below is not free. */
	if (v == FANGUARD_ALLOW && why != FANGUARD_REASON_DEADLINE &&
	    why != FANGUARD_REASON_QUEUE_FULL && why != FANGUARD_REASON_ERROR &&
	    fg->opts.log_max_priority < LOG_DEBUG)
		return;
	if (fd >= 0) {
		/* d_path of an open file: no round trip to a FUSE daemon. */
		(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = '\0';
			info.path = path;
		}
	}
	logq_verdict(fg->logq, &info);
}

/* Answers an event that was never queued (the reader holds it alone). */
static void answer_direct(struct domain *d, int fd, pid_t pid, uint64_t mask, usec_t received,
			  enum fanguard_verdict v, enum fanguard_reason why)
{
	if (fan_respond(d, fd, v) >= 0)
		count_answer(d, v, why);
	report_verdict(d, fd, pid, mask, received, v, why, NULL, NULL, NULL);
}

static void inflight_append(struct domain *d, struct fg_event *ev)
{
	ev->prev = d->inflight_tail;
	ev->next = NULL;
	if (d->inflight_tail)
		d->inflight_tail->next = ev;
	else
		d->inflight_head = ev;
	d->inflight_tail = ev;
	d->n_inflight++;
}

static void inflight_remove(struct domain *d, struct fg_event *ev)
{
	if (ev->prev)
		ev->prev->next = ev->next;
	else
		d->inflight_head = ev->next;
	if (ev->next)
		ev->next->prev = ev->prev;
	else
		d->inflight_tail = ev->prev;
	ev->prev = ev->next = NULL;
	d->n_inflight--;
}

static void event_release(struct fg_event *ev)
{
	safe_close(ev->fd);
	free(ev);
}

static int worker_spawn(struct domain *d);

/* Called with d->lock held. Answers ev (still unanswered) with the default
 * verdict; if a worker is scanning it, that worker is stuck (in a FUSE read,
 * say) and cannot be cancelled: abandon it and start a replacement. */
static void expire_locked(struct domain *d, struct fg_event *ev, enum fanguard_reason why)
{
	ev->answered = true;
	inflight_remove(d, ev);
	if (fan_respond(d, ev->fd, d->default_verdict) >= 0)
		count_answer(d, d->default_verdict, why);
	fg_log(d->fg, LOG_WARNING, "%s: %s for pid %d after %llu ms: answered %s", d->name,
	       why == FANGUARD_REASON_DEADLINE ? "deadline passed" : "stopping", (int) ev->pid,
	       (unsigned long long) ((now_usec() - ev->received_usec) / USEC_PER_MSEC),
	       d->default_verdict == FANGUARD_DENY ? "deny" : "allow");
	if (ev->worker && !ev->worker->abandoned) {
		struct worker *w = ev->worker;

		w->abandoned = true;
		d->n_active_workers--;
		d->n_stuck_workers++;
		if (why == FANGUARD_REASON_DEADLINE)
			atomic_fetch_add_explicit(&d->stats.abandoned, 1, memory_order_relaxed);
		if (!d->stopping && d->n_stuck_workers <= d->max_abandoned) {
			if (worker_spawn(d) >= 0)
				atomic_fetch_add_explicit(&d->stats.replaced, 1,
							  memory_order_relaxed);
		} else if (!d->stopping)
			fg_log(d->fg, LOG_ERR,
			       "%s: %u workers stuck, at the cap: not replacing worker %u", d->name,
			       d->n_stuck_workers, w->id);
	}
}

/* --- workers ---------------------------------------------------------------- */

#define SCAN_BUF_SIZE (256 * 1024)

static void *worker_main(void *userdata)
{
	struct worker *w = userdata;
	struct domain *d = w->d;
	struct fanguard *fg = d->fg;
	_cleanup_free_ uint8_t *buf = malloc(SCAN_BUF_SIZE);

	bool counted = true; /* in d->n_active_workers */

	for (;;) {
		struct scan_result res;
		struct fg_event *ev;
		bool won, leave = false;
		uint64_t gen;

		if (queue_pop(&d->queue, &ev) < 0)
			break;
		pthread_mutex_lock(&d->lock);
		if (ev->answered) {
			/* The keeper answered it while it waited in the queue. */
			pthread_mutex_unlock(&d->lock);
			event_release(ev);
			continue;
		}
		ev->worker = w;
		pthread_mutex_unlock(&d->lock);

		gen = cache_gen(fg); /* before the scan looks at the denylist */
		if (buf)
			scan_event(d, ev, buf, SCAN_BUF_SIZE, &res);
		else {
			res = (struct scan_result){.verdict = d->default_verdict,
						   .reason = FANGUARD_REASON_ERROR,
						   .detail = "out of memory"};
		}

		pthread_mutex_lock(&d->lock);
		ev->worker = NULL;
		won = !ev->answered;
		if (won) {
			ev->answered = true;
			inflight_remove(d, ev);
		}
		if (w->abandoned) {
			/* Back from a read that outlived its deadline. */
			w->abandoned = false;
			d->n_stuck_workers--;
			if (!d->stopping && d->n_active_workers < d->n_workers)
				d->n_active_workers++;
			else {
				leave = true;
				counted = false;
			}
		}
		pthread_mutex_unlock(&d->lock);

		if (won) {
			struct subject_names names, *np = NULL;

			if (res.verdict == FANGUARD_DENY && fg->opts.verdict_fn) {
				subject_names_read(ev->pid, &names);
				np = &names;
			}
			if (fan_respond(d, ev->fd, res.verdict) >= 0)
				count_answer(d, res.verdict, res.reason);
			report_verdict(d, ev->fd, ev->pid, ev->mask, ev->received_usec, res.verdict,
				       res.reason, res.scanner, res.detail, np);
			/* After the answer (the opener never waits on it), while
			 * ev->fd still names the file. */
			if (res.verdict == FANGUARD_ALLOW &&
			    res.reason == FANGUARD_REASON_SCANNED && !res.no_cache)
				cache_note_clean(d, ev, gen);
		}
		event_release(ev);
		if (leave)
			break;
	}

	/* Free libcrypto's per-thread state now: the thread is detached, and
	 * once it announces its exit the process may be gone before the
	 * thread-exit handlers would run (LeakSanitizer saw that). */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&d->lock);
	for (struct worker **p = &d->workers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	if (counted && !w->abandoned)
		d->n_active_workers--;
	d->n_running_threads--;
	pthread_cond_broadcast(&d->exit_cond);
	pthread_mutex_unlock(&d->lock);
	free(w);
	fg_unref(fg);
	return NULL;
}

/* Called with d->lock held. */
static int worker_spawn(struct domain *d)
{
	static _Atomic unsigned next_id;
	struct worker *w = calloc(1, sizeof(*w));
	char name[16];
	int r;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->id = atomic_fetch_add(&next_id, 1);
	(void) snprintf(name, sizeof(name), "fg-work/%u", w->id);
	fg_ref(d->fg);
	r = fg_thread_start(&w->thread, name, worker_main, w, /* detached= */ true);
	if (r < 0) {
		fg_unref(d->fg);
		free(w);
		fg_log(d->fg, LOG_ERR, "%s: cannot start a worker: %s", d->name, strerror(-r));
		return r;
	}
	w->next = d->workers;
	d->workers = w;
	d->n_active_workers++;
	d->n_running_threads++;
	return 0;
}

/* --- readers ---------------------------------------------------------------- */

static bool path_excluded(struct fanguard *fg, int fd)
{
	char proc[64], path[4096];
	ssize_t n;
	bool hit = false;

	(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	for (size_t i = 0; i < fg->n_excluded_paths && !hit; i++) {
		const char *pre = fg->excluded_paths[i];
		size_t l = strlen(pre);

		hit = strncmp(path, pre, l) == 0 &&
		      (path[l] == '\0' || path[l] == '/' || (l > 0 && pre[l - 1] == '/'));
	}
	return hit;
}

/* Without pid reuse races: a pid that matches is the excluded process only
 * if whoever has that pid now started when it did, and the event's subject
 * (its pidfd) still has the pid after we looked (a pid number is not reused
 * before its process is reaped). */
static bool pid_excluded(struct fanguard *fg, pid_t pid, int pidfd)
{
	for (size_t i = 0; i < fg->n_excluded_pids; i++) {
		uint64_t start;
		pid_t now;

		if (fg->excluded_pids[i] != pid)
			continue;
		if (!fg->excluded_pid_starts || fg->excluded_pid_starts[i] == 0 || pidfd < 0)
			return true; /* no identity to check: trust the number */
		if (proc_read_starttime(pid, &start) < 0 || proc_pidfd_pid(pidfd, &now) < 0 ||
		    now != pid)
			return false;
		return start == fg->excluded_pid_starts[i];
	}
	return false;
}

/* The effective uid in /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs").
 * The effective one, as the kernel checks file access (with the fs uid, which
 * follows it unless setfsuid()). The event's pid is the thread group's, so
 * this is its leader's uid (threads may differ only after a raw setuid). */
static int subject_euid(pid_t pid, uid_t *ret)
{
	char path[64], buf[1024];
	unsigned long ruid, euid;
	const char *u;
	ssize_t n;
	int fd;

	(void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* "Uid:" is within the first ~10 lines, well inside 1 KiB. */
	n = read(fd, buf, sizeof(buf) - 1);
	safe_close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EBADMSG;
	buf[n] = '\0';
	u = strstr(buf, "\nUid:");
	if (!u || sscanf(u + 5, "%lu %lu", &ruid, &euid) != 2)
		return -EBADMSG;
	*ret = (uid_t) euid;
	return 0;
}

/* Excluded by effective uid or executable (cfg_lock held for reading; the
 * lookups are procfs reads: never a FUSE round trip). The subject waits for
 * our answer, but killably: it may die and be reaped meanwhile. A match counts only if
 * the event's pidfd still names pid after the lookups: a pid number is not
 * reused before its process is reaped, so what we read was the subject's.
 * Without a pidfd, or if /proc/PID/exe is unreadable (ptrace access check:
 * a more privileged subject once CAP_SYS_PTRACE is dropped), the subject is
 * not excluded: it is scanned. */
static bool subject_excluded(struct fanguard *fg, pid_t pid, int pidfd)
{
	bool hit = false;
	pid_t now;

	if (pidfd < 0 || pid <= 0)
		return false;
	if (fg->n_excluded_uids > 0) {
		uid_t euid = (uid_t) -1;

		if (subject_euid(pid, &euid) >= 0)
			for (size_t i = 0; i < fg->n_excluded_uids && !hit; i++)
				hit = fg->excluded_uids[i] == euid;
	}
	if (!hit && fg->n_excluded_exes > 0) {
		char proc[64], exe[4096];
		ssize_t n;

		(void) snprintf(proc, sizeof(proc), "/proc/%d/exe", (int) pid);
		n = readlink(proc, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			for (size_t i = 0; i < fg->n_excluded_exes && !hit; i++)
				hit = strcmp(fg->excluded_exes[i], exe) == 0;
		}
	}
	return hit && proc_pidfd_pid(pidfd, &now) >= 0 && now == pid;
}

/* Classifies one event without touching its content; answers it or queues it. */
static void reader_handle(struct domain *d, const struct fanotify_event_metadata *m, int pidfd)
{
	struct fanguard *fg = d->fg;
	usec_t received = now_usec();
	struct statx stx;
	struct fg_event *ev;
	bool stopping, excluded, scan;
	int r;

	if (m->fd < 0) {
		/* FAN_NOFD: an overflow notice (we use an unlimited queue) or an
		 * fd the kernel could not open; nothing here can be answered. */
		fg_log(fg, LOG_WARNING, "%s: event without fd (mask 0x%llx)", d->name,
		       (unsigned long long) m->mask);
		return;
	}
	if (!(m->mask & PERM_EVENTS)) {
		/* Only cached inodes ask for it (cache.c): a writer closed
		 * one, maybe after writing through a mapping. */
		if (m->mask & FAN_CLOSE_WRITE)
			cache_note_closed_write(d, m->fd);
		safe_close(m->fd);
		return;
	}
	atomic_fetch_add_explicit(&d->stats.read, 1, memory_order_relaxed);

	pthread_mutex_lock(&d->lock);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->lock);
	if (stopping) {
		answer_direct(d, m->fd, m->pid, m->mask, received, d->default_verdict,
			      FANGUARD_REASON_SHUTDOWN);
		safe_close(m->fd);
		return;
	}
	/* Our own accesses (other than through event fds, which carry
	 * FMODE_NONOTIFY) raise events too: never wait on ourselves. */
	if (m->pid == fg->self_pid) {
		answer_direct(d, m->fd, m->pid, m->mask, received, FANGUARD_ALLOW,
			      FANGUARD_REASON_SELF);
		safe_close(m->fd);
		return;
	}
	/* AT_STATX_DONT_SYNC: take the cached type and size; on FUSE a synced
	 * statx may be a GETATTR round trip to the daemon. */
	r = statx(m->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, FG_CHANGE_ATTRS_MASK, &stx);
	if (r < 0 || !S_ISREG(stx.stx_mode)) {
		/* FIFOs, devices, sockets: never read them. */
		answer_direct(d, m->fd, m->pid, m->mask, received, FANGUARD_ALLOW,
			      r < 0 ? FANGUARD_REASON_ERROR : FANGUARD_REASON_NOT_REGULAR);
		safe_close(m->fd);
		return;
	}

	pthread_rwlock_rdlock(&fg->cfg_lock);
	excluded = pid_excluded(fg, m->pid, pidfd) ||
		   (fg->n_excluded_paths > 0 && path_excluded(fg, m->fd)) ||
		   ((fg->n_excluded_uids > 0 || fg->n_excluded_exes > 0) &&
		    subject_excluded(fg, m->pid, pidfd));
	scan = scan_needed(fg);
	pthread_rwlock_unlock(&fg->cfg_lock);
	/* A loopback-served FUSE mount whose backing files we watch: the
	 * daemon's open of the backing file is scanned (and denied) in the
	 * local group, which then fails this open (mountwatch.c). */
	if (atomic_load_explicit(&d->content_at_backing, memory_order_relaxed))
		excluded = true;
	if (excluded || !scan) {
		answer_direct(d, m->fd, m->pid, m->mask, received, FANGUARD_ALLOW,
			      excluded ? FANGUARD_REASON_EXCLUDED : FANGUARD_REASON_NO_SCANNER);
		safe_close(m->fd);
		return;
	}
	if (stx.stx_size > fg->opts.max_scan_bytes) {
		answer_direct(d, m->fd, m->pid, m->mask, received, d->default_verdict,
			      FANGUARD_REASON_TOO_LARGE);
		safe_close(m->fd);
		return;
	}

	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		answer_direct(d, m->fd, m->pid, m->mask, received, d->default_verdict,
			      FANGUARD_REASON_ERROR);
		safe_close(m->fd);
		return;
	}
	ev->fd = m->fd;
	ev->pid = m->pid;
	ev->mask = m->mask;
	ev->size = stx.stx_size;
	/* For the verdict cache: what the file was before the scan read it. */
	cache_attrs_from_statx(&stx, &ev->attrs);
	ev->attrs_valid = (stx.stx_mask & FG_CHANGE_ATTRS_MASK) == FG_CHANGE_ATTRS_MASK;
	ev->received_usec = received;
	ev->deadline_usec = received + d->deadline;

	pthread_mutex_lock(&d->lock);
	inflight_append(d, ev);
	/* Deadlines only grow, so the keeper, once asleep until an earlier
	 * one, needs no wake-up: waking it per event cost a context switch
	 * (measured: ~8 us of CPU per scanned event). */
	if (ev->deadline_usec < d->keeper_next)
		pthread_cond_signal(&d->keeper_cond);
	pthread_mutex_unlock(&d->lock);

	r = queue_push(&d->queue, ev);
	if (r < 0) {
		bool won;

		pthread_mutex_lock(&d->lock);
		won = !ev->answered;
		if (won) {
			ev->answered = true;
			inflight_remove(d, ev);
		}
		pthread_mutex_unlock(&d->lock);
		if (won)
			answer_direct(d, ev->fd, ev->pid, ev->mask, received, d->default_verdict,
				      r == -ENOBUFS ? FANGUARD_REASON_QUEUE_FULL
						    : FANGUARD_REASON_SHUTDOWN);
		event_release(ev);
	}
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

/* Called with d->lock held: how many readers have been inside read() for a
 * while, i.e. wait on a FUSE daemon to open a file; sets *ret_alive. */
static unsigned readers_stuck_count_locked(struct domain *d, unsigned *ret_alive)
{
	usec_t now = now_usec();
	unsigned stuck = 0, alive = 0;

	for (struct reader *rd = d->readers; rd; rd = rd->next) {
		int s = atomic_load_explicit(&rd->state, memory_order_acquire);

		if (s == READER_EXITED)
			continue;
		alive++;
		if (s == READER_READING &&
		    now - atomic_load_explicit(&rd->state_since, memory_order_relaxed) >=
			    READER_STUCK_USEC)
			stuck++;
	}
	if (ret_alive)
		*ret_alive = alive;
	return stuck;
}

static unsigned readers_stuck_locked(struct domain *d)
{
	return readers_stuck_count_locked(d, NULL);
}

static void reader_set_state(struct reader *rd, enum reader_state s)
{
	atomic_store_explicit(&rd->state_since, now_usec(), memory_order_relaxed);
	atomic_store_explicit(&rd->state, s, memory_order_release);
}

static void *reader_main(void *userdata)
{
	struct reader *rd = userdata;
	struct domain *d = rd->d;
	struct fanguard *fg = d->fg;
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	size_t len = d->one_event_per_read ? ONE_EVENT_BUF : sizeof(buf);
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

	for (;;) {
		struct pollfd p[2] = {
			{.fd = d->group_fd, .events = POLLIN},
			{.fd = d->wake_fd, .events = POLLIN},
		};
		struct fanotify_event_metadata *m;
		ssize_t n;
		bool surplus;

		reader_set_state(rd, READER_POLLING);
		if (ep >= 0) {
			struct epoll_event e[2];
			int k = epoll_wait(ep, e, 2, -1);

			p[0].revents = p[1].revents = 0;
			for (int i = 0; i < k; i++)
				p[e[i].data.u32].revents = (short) e[i].events;
			if (k < 0 && errno != EINTR) {
				fg_log(fg, LOG_ERR, "%s: epoll_wait failed: %m", d->name);
				break;
			}
		} else if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fg_log(fg, LOG_ERR, "%s: poll failed: %m", d->name);
			break;
		}
		if (p[1].revents)
			break; /* stopping */
		if (!(p[0].revents & POLLIN))
			continue;

		reader_set_state(rd, READER_READING);
		n = read(d->group_fd, buf, len);
		reader_set_state(rd, READER_HANDLING);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue; /* another reader took it */
			/* The kernel could not open the file of the event it
			 * dequeued (create_fd(): a FUSE daemon refused or failed
			 * the open, EMFILE, ...). It answered that event itself,
			 * with a deny: measured here, the opener gets EPERM. */
			atomic_fetch_add_explicit(&d->stats.open_errors, 1, memory_order_relaxed);
			fg_log(fg, errno == EMFILE || errno == ENFILE ? LOG_ERR : LOG_INFO,
			       "%s: the kernel could not open an event's file (%m); it denied that "
			       "event",
			       d->name);
			continue;
		}
		for (m = (struct fanotify_event_metadata *) buf; FAN_EVENT_OK(m, n);
		     m = FAN_EVENT_NEXT(m, n)) {
			int pidfd;

			if (m->vers != FANOTIFY_METADATA_VERSION) {
				fg_log(fg, LOG_CRIT, "%s: fanotify metadata version %u, want %u",
				       d->name, m->vers, FANOTIFY_METADATA_VERSION);
				if (m->fd >= 0)
					(void) close(m->fd);
				safe_close(event_pidfd(m));
				continue;
			}
			pidfd = event_pidfd(m);
			reader_handle(d, m, pidfd);
			safe_close(pidfd);
		}

		/* Readers added while others were stuck leave once they are
		 * no longer needed. */
		pthread_mutex_lock(&d->lock);
		surplus = rd->extra && d->n_active_readers > d->base_readers &&
			  readers_stuck_locked(d) == 0;
		if (surplus)
			d->n_active_readers--;
		pthread_mutex_unlock(&d->lock);
		if (surplus) {
			reader_set_state(rd, READER_EXITED);
			goto out;
		}
	}
	pthread_mutex_lock(&d->lock);
	d->n_active_readers--;
	pthread_mutex_unlock(&d->lock);
	reader_set_state(rd, READER_EXITED);
out:
	safe_close(ep);
	pthread_mutex_lock(&d->lock);
	for (struct reader **p = &d->readers; *p; p = &(*p)->next)
		if (*p == rd) {
			*p = rd->next;
			break;
		}
	d->n_running_threads--;
	pthread_cond_broadcast(&d->exit_cond);
	pthread_mutex_unlock(&d->lock);
	free(rd);
	fg_unref(fg);
	return NULL;
}

/* Called with d->lock held. */
static int reader_spawn(struct domain *d, unsigned id, bool extra)
{
	struct reader *rd = calloc(1, sizeof(*rd));
	char name[16];
	int r;

	if (!rd)
		return -ENOMEM;
	rd->d = d;
	rd->id = id;
	rd->extra = extra;
	atomic_store(&rd->state, READER_POLLING);
	atomic_store(&rd->state_since, now_usec());
	(void) snprintf(name, sizeof(name), "fg-read/%u", id);
	fg_ref(d->fg);
	r = fg_thread_start(&rd->thread, name, reader_main, rd, /* detached= */ true);
	if (r < 0) {
		fg_unref(d->fg);
		free(rd);
		return r;
	}
	rd->next = d->readers;
	d->readers = rd;
	d->n_active_readers++;
	d->n_running_threads++;
	return 0;
}

/* Called with d->lock held: if every reader is inside read() for a while,
 * each waits on a FUSE daemon to open a file; add one so that events for
 * other files of the mount still flow. */
static void readers_check_locked(struct domain *d)
{
	static _Atomic unsigned next_id = 100;
	unsigned n, stuck = readers_stuck_count_locked(d, &n);

	if (n == 0 || stuck < n || d->n_active_readers >= d->max_readers)
		return;
	if (reader_spawn(d, atomic_fetch_add(&next_id, 1), /* extra= */ true) >= 0) {
		atomic_fetch_add_explicit(&d->stats.readers_added, 1, memory_order_relaxed);
		fg_log(d->fg, LOG_NOTICE, "%s: %u readers waiting on the FUSE daemon, added one",
		       d->name, stuck);
	}
}

/* --- keeper ----------------------------------------------------------------- */

static void *keeper_main(void *userdata)
{
	struct domain *d = userdata;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		usec_t now = now_usec(), next;
		struct timespec ts;

		while (d->inflight_head && d->inflight_head->deadline_usec <= now)
			expire_locked(d, d->inflight_head, FANGUARD_REASON_DEADLINE);
		next = d->inflight_head ? d->inflight_head->deadline_usec : USEC_INFINITY;
		if (d->max_readers > d->base_readers) {
			readers_check_locked(d);
			if (next > now + READER_STUCK_USEC / 2)
				next = now + READER_STUCK_USEC / 2;
		}
		d->keeper_next = next;
		if (next == USEC_INFINITY)
			pthread_cond_wait(&d->keeper_cond, &d->lock);
		else {
			ts = usec_to_timespec(next);
			(void) pthread_cond_timedwait(&d->keeper_cond, &d->lock, &ts);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* --- lifecycle -------------------------------------------------------------- */

int domain_new(struct fanguard *fg, enum fanguard_mount_class cls, uint64_t fuse_mnt_id,
	       const char *label, struct domain **ret)
{
	const struct fanguard_class_options *co = &fg->cls[cls];
	pthread_condattr_t ca;
	struct domain *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fg = fg;
	d->cls = cls;
	d->fuse_mnt_id = fuse_mnt_id;
	d->fan_fd = d->wake_fd = -EBADF;
	(void) snprintf(d->name, sizeof(d->name), "%s", label);
	d->one_event_per_read = cls != FANGUARD_MOUNT_LOCAL;
	d->deadline = (usec_t) co->deadline_ms * USEC_PER_MSEC;
	d->default_verdict = co->default_verdict;
	d->n_workers = co->n_workers;
	d->max_abandoned = co->max_abandoned;
	/* The local group never holds a file whose open waits on FUSE: two
	 * readers that read many events at a time. Groups that can hold FUSE
	 * files start with one and grow while every reader is stuck. */
	d->base_readers = d->one_event_per_read ? 1 : 2;
	d->max_readers = d->one_event_per_read ? 16 : d->base_readers;
	pthread_mutex_init(&d->lock, NULL);
	pthread_rwlock_init(&d->fan_fd_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->keeper_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&d->exit_cond, NULL);

	r = queue_init(&d->queue, co->queue_len);
	if (r < 0)
		goto fail;
	/* FAN_UNLIMITED_QUEUE: with a bounded queue the kernel silently allows
	 * overflowing permission events (DESIGN.md §2); we count our own. */
	d->fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
					  FAN_UNLIMITED_QUEUE | FAN_REPORT_PIDFD,
				  O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	d->report_pidfd = d->fan_fd >= 0;
	if (d->fan_fd < 0 && errno == EINVAL)
		/* Before 5.15: subjects by pid only. */
		d->fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
						  FAN_UNLIMITED_QUEUE,
					  O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (d->fan_fd < 0) {
		r = -errno;
		goto fail;
	}
	fg_log(fg, LOG_DEBUG, "%s: new fanotify group, subjects %s", d->name,
	       d->report_pidfd ? "by pidfd (FAN_REPORT_PIDFD)" : "by pid only");
	d->group_fd = d->fan_fd;
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	domain_free(d);
	return r;
}

int domain_start(struct domain *d)
{
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (d->started)
		goto out;
	for (unsigned i = 0; i < d->n_workers; i++) {
		r = worker_spawn(d);
		if (r < 0)
			goto out;
	}
	for (unsigned i = 0; i < d->base_readers; i++) {
		r = reader_spawn(d, i, /* extra= */ false);
		if (r < 0)
			goto out;
	}
	r = fg_thread_start(&d->keeper, "fg-keeper", keeper_main, d, /* detached= */ false);
	if (r < 0)
		goto out;
	d->keeper_running = true;
	d->started = true;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

int domain_mark(struct domain *d, int path_fd, uint32_t flags)
{
	unsigned int how = FAN_MARK_ADD;
	char proc[64];

	how |= (flags & FANGUARD_WATCH_FILESYSTEM) ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT;
	/* Mark exactly the object we opened and classified, not whatever the
	 * path names by now. fanotify_mark(dirfd, NULL) rejects O_PATH fds
	 * (EBADF: it uses fdget()), so go through the fd's magic link. */
	(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
	if (fanotify_mark(d->fan_fd, how, fan_mask_for(d->fg), AT_FDCWD, proc) < 0)
		return -errno;
	return 0;
}

static bool wait_threads_locked(struct domain *d, usec_t deadline)
{
	while (d->n_running_threads > 0) {
		struct timespec ts;

		if (deadline_passed(deadline))
			return false;
		/* exit_cond uses CLOCK_REALTIME: wait in short slices. */
		(void) clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void) pthread_cond_timedwait(&d->exit_cond, &d->lock, &ts);
	}
	return true;
}

void domain_stop_begin(struct domain *d)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	if (!d->started || d->stopping) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->stopping = true;
	pthread_cond_broadcast(&d->keeper_cond);
	pthread_mutex_unlock(&d->lock);

	/* No new events: drop every mark of the group. */
	(void) fanotify_mark(d->fan_fd, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, NULL);
	(void) fanotify_mark(d->fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	(void) fanotify_mark(d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	/* Wake the polling readers. */
	(void) !write(d->wake_fd, &one, sizeof(one));

	if (d->keeper_running) {
		(void) pthread_join(d->keeper, NULL);
		d->keeper_running = false;
	}

	/* Answer everything we hold, including events being scanned now. */
	pthread_mutex_lock(&d->lock);
	while (d->inflight_head)
		expire_locked(d, d->inflight_head, FANGUARD_REASON_SHUTDOWN);
	pthread_mutex_unlock(&d->lock);
	queue_close(&d->queue);
}

bool domain_stop_finish(struct domain *d, usec_t deadline)
{
	bool all_exited;
	unsigned left;

	if (d->fan_fd < 0)
		return true;
	/* Readers leave at once unless stuck in a FUSE open inside read().
	 * Wait for them before closing the group, so no reader ever reads a
	 * reused fd number; one that stays stuck holds the group open (and so
	 * the events the kernel still queues) until the daemon answers or
	 * its connection is aborted. Closing the group allows every event
	 * still queued in the kernel. */
	pthread_mutex_lock(&d->lock);
	all_exited = wait_threads_locked(d, deadline);
	left = d->n_running_threads;
	pthread_mutex_unlock(&d->lock);

	pthread_rwlock_wrlock(&d->fan_fd_lock);
	d->fan_fd = safe_close(d->fan_fd);
	pthread_rwlock_unlock(&d->fan_fd_lock);
	if (!all_exited)
		fg_log(d->fg, LOG_ERR, "%s: %u threads stuck in I/O at stop; abandoned", d->name,
		       left);
	return all_exited;
}

void domain_free(struct domain *d)
{
	struct fg_event *ev;

	if (!d)
		return;
	/* No thread runs any more: release what a stuck worker never took. */
	if (d->queue.ring) {
		queue_close(&d->queue);
		while (queue_pop(&d->queue, &ev) >= 0)
			event_release(ev);
	}
	safe_close(d->fan_fd);
	safe_close(d->wake_fd);
	queue_done(&d->queue);
	pthread_mutex_destroy(&d->lock);
	pthread_rwlock_destroy(&d->fan_fd_lock);
	pthread_cond_destroy(&d->keeper_cond);
	pthread_cond_destroy(&d->exit_cond);
	free(d);
}
