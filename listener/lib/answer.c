/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one claim/answer primitive (answer-internal.h), and the verdict
 * report that follows an answer.
 *
 * Must never: block (the write goes to the group, no I/O), write to the
 * group fd after stop closed it (the number may belong to someone else by
 * then: the fd is read-locked across the write), or close an event fd
 * before its answer is written. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <syslog.h>
#include "answer-internal.h"
#include "domain-state-internal.h"
#include "fanops-internal.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "macro.h"
#include "subject-internal.h"

/* Newer than Debian 12's 6.1 headers; support is detected at run time. */
#ifndef FAN_ERRNO_BITS
#define FAN_ERRNO_BITS 8
#define FAN_ERRNO_SHIFT (32 - FAN_ERRNO_BITS)
#define FAN_ERRNO_MASK ((1 << FAN_ERRNO_BITS) - 1)
#define FAN_DENY_ERRNO(err) (FAN_DENY | ((((uint32_t) (err)) & FAN_ERRNO_MASK) << FAN_ERRNO_SHIFT))
#endif
#ifndef FAN_AUDIT
#define FAN_AUDIT 0x10
#endif

void event_init(struct fg_event *ev, int fd, pid_t pid, uint64_t mask, usec_t received)
{
	*ev = (struct fg_event){.fd = fd, .pid = pid, .mask = mask, .received_usec = received};
	ev->heap_idx = -1;
	atomic_init(&ev->state, EVENT_PENDING);
}

bool event_claim(struct fg_event *ev)
{
	int expected = EVENT_PENDING;

	return atomic_compare_exchange_strong_explicit(&ev->state, &expected, EVENT_CLAIMED,
						       memory_order_acq_rel, memory_order_acquire);
}

/* Writes the answer. */
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
		/* The kernel writes an audit record of the deny (fapolicyd
		 * does the same); only in a FAN_ENABLE_AUDIT group. */
		if (d->kernel_audit)
			resp.response |= FAN_AUDIT;
	}
	pthread_rwlock_rdlock(&d->fan_fd_lock);
	for (;;) {
		ssize_t n;

		if (d->fan_fd < 0) {
			/* Closed at stop: the kernel allowed it at release. */
			r = -EBADF;
			break;
		}
		n = d->ops->respond(d->ops_userdata, d->fan_fd, &resp);
		if (n == (ssize_t) sizeof(resp))
			break;
		if (n == -EINTR)
			continue;
		if (n == -EINVAL && (resp.response & ~(uint32_t) FAN_AUDIT) != FAN_DENY &&
		    resp.response != FAN_ALLOW) {
			/* FAN_DENY_ERRNO is EINVAL in a FAN_CLASS_CONTENT group and
			 * before 6.13 (DESIGN.md §2): fall back to plain deny. */
			if (!atomic_exchange(&fg->deny_errno_unsupported, true) &&
			    fg->opts.deny_errno != EPERM)
				fg_log(fg, LOG_WARNING,
				       "this kernel or group class takes no FAN_DENY_ERRNO: denied "
				       "opens fail with EPERM, not errno %d",
				       fg->opts.deny_errno);
			resp.response = FAN_DENY | (resp.response & FAN_AUDIT);
			continue;
		}
		r = n < 0 ? (int) n : -EIO;
		break;
	}
	pthread_rwlock_unlock(&d->fan_fd_lock);
	return r;
}

/* After the answer: the verdict callback gets a best-effort path. Allows
 * are reported at debug level only: most deployments don't want a line per
 * open, and the path lookup is not free. */
static void report_verdict(struct domain *d, const struct fg_event *ev, enum fanguard_verdict v,
			   enum fanguard_reason why, const struct scan_result *res,
			   struct subject *subj, bool would_deny)
{
	struct fanguard *fg = d->fg;
	struct fanguard_verdict_info info = {
		.size = sizeof(info),
		.verdict = v,
		.reason = why,
		.mount_class = d->cls,
		.pid = ev->pid,
		.mask = ev->mask,
		.latency_usec = now_usec() - ev->received_usec,
		.scanner = res && res->scanner ? res->scanner : "",
		.detail = res ? res->detail : "",
		.path = "?",
		.comm = subj ? subject_comm(subj) : "",
		.exe = subj ? subject_exe(subj) : "",
		.uid = (uid_t) -1,
		.would_deny = would_deny,
	};
	char path[4096];

	if (subj && subject_euid(subj, &info.uid) < 0)
		info.uid = (uid_t) -1;
	if (ev->fd >= 0 && fd_get_path(ev->fd, path, sizeof(path)) >= 0)
		info.path = path;
	logq_verdict(fg->logq, &info);
}

static bool report_wanted(struct domain *d, enum fanguard_verdict v, enum fanguard_reason why,
			  const struct scan_result *res)
{
	const struct fanguard_options *o = &d->fg->opts;

	if (!o->verdict_fn)
		return false;
	if (o->log_max_priority >= LOG_DEBUG)
		return true;
	/* Answers without a scan (the keeper at the deadline, a full queue, a
	 * stop) are summarised per window instead (overload.c): a flood must
	 * not turn into a line per event. A scan that itself ran into the
	 * deadline (res: its scanner and detail) is reported: at most one per
	 * worker and deadline. */
	if (!res && (why == FANGUARD_REASON_DEADLINE || why == FANGUARD_REASON_QUEUE_FULL ||
		     why == FANGUARD_REASON_SHUTDOWN))
		return false;
	if (why == FANGUARD_REASON_DEADLINE)
		return true;
	return v == FANGUARD_DENY || why == FANGUARD_REASON_ERROR;
}

void answer_write(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
		  enum fanguard_reason why, const struct scan_result *res)
{
	answer_write_subject(d, ev, v, why, res, NULL);
}

void answer_write_subject(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
			  enum fanguard_reason why, const struct scan_result *res,
			  struct subject *known)
{
	struct subject subj, *sp = NULL;
	bool report = report_wanted(d, v, why, res), would_deny = false;

	if (atomic_load_explicit(&ev->state, memory_order_relaxed) != EVENT_CLAIMED)
		abort(); /* only the winner of event_claim() may answer */
	/* Audit (permissive) mode: whatever would be denied is allowed,
	 * counted and reported as such. Callers never cache a deny, so
	 * nothing said here turns into a cached clean verdict. */
	if (v == FANGUARD_DENY && d->fg->opts.audit) {
		v = FANGUARD_ALLOW;
		would_deny = true;
		stat_inc(&d->stats.audit_would_deny);
	}
	/* The subject's names for a deny, read before the answer: once
	 * answered, a denied opener often exits at once. */
	if (report && (v == FANGUARD_DENY || would_deny) && known)
		sp = known; /* read by the caller already (quarantine) */
	else if (report && (v == FANGUARD_DENY || would_deny)) {
		subject_init(&subj, ev->pid, -EBADF);
		(void) subject_comm(&subj);
		(void) subject_exe(&subj);
		(void) subject_euid(&subj, &(uid_t){0});
		sp = &subj;
	}
	if (fan_respond(d, ev->fd, v) >= 0) {
		stat_inc(&d->stats.answered);
		atomic_fetch_add_explicit(&d->stats.latency_usec, now_usec() - ev->received_usec,
					  memory_order_relaxed);
		stat_inc(v == FANGUARD_DENY ? &d->stats.denied : &d->stats.allowed);
		stat_inc(&d->stats.by_reason[why]);
		if (reason_is_unscanned(why))
			overload_note(d, v, why);
	} else
		stat_inc(&d->stats.response_errors);
	/* Before publishing: the holder closes ev->fd (and may free ev) as
	 * soon as it sees ANSWERED. The opener has its answer already. */
	if (report)
		report_verdict(d, ev, v, why, res, sp, would_deny);
	atomic_store_explicit(&ev->state, EVENT_ANSWERED, memory_order_release);
}

bool event_answer(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
		  enum fanguard_reason why, const struct scan_result *res)
{
	return event_answer_subject(d, ev, v, why, res, NULL);
}

bool event_answer_subject(struct domain *d, struct fg_event *ev, enum fanguard_verdict v,
			  enum fanguard_reason why, const struct scan_result *res,
			  struct subject *known)
{
	if (!event_claim(ev))
		return false;
	if (ev->tracked) {
		pthread_mutex_lock(&d->lock);
		inflight_remove(&d->inflight, ev);
		pthread_mutex_unlock(&d->lock);
	}
	answer_write_subject(d, ev, v, why, res, known);
	return true;
}

void event_release(struct domain *d, struct fg_event *ev, struct thread_slot *slot, bool heap_owned)
{
	/* Whoever won is between its claim and its write: microseconds. */
	while (atomic_load_explicit(&ev->state, memory_order_acquire) != EVENT_ANSWERED)
		sched_yield();
	if (ev->fd >= 0) {
		/* On FUSE, close() sends FUSE_FLUSH and may hang: visible. */
		slot_set(slot, WHERE_CLOSE);
		d->ops->close_event_fd(d->ops_userdata, ev->fd);
		slot_set(slot, WHERE_BUSY);
		ev->fd = -EBADF;
	}
	if (heap_owned)
		free(ev);
}
