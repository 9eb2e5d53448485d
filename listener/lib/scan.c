/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scan dispatcher: runs the scanners in order on one event and composes
 * their results. A file allowlisted by SHA-256 is allowed (the sha256
 * scanner runs first and stops the run). Any deny wins (and stops the run); otherwise the first
 * scanner that could not decide (deadline, error, too large) makes the
 * verdict the domain's default; otherwise the file is allowed.
 *
 * The scanner list is append-only and lock-free for the permission path:
 * writers link a fully built scanner under fg->lock and publish it with a
 * release store; workers walk it with acquire loads. Scanners are freed only
 * when the last reference to the listener goes (fg_destroy), so a worker
 * that comes back from a stuck read long after fanguard_free() still finds
 * them. No lock is held across a scanner's I/O: each scanner bounds every
 * step by the event's deadline itself. Runs on a worker thread: never logs
 * synchronously. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <string.h>
#include <unistd.h>
#include "domain-state-internal.h"
#include "fg-internal.h"
#include "scan-internal.h"

void scanner_append_locked(struct fanguard *fg, struct scanner *s)
{
	struct scanner *_Atomic *p;

	for (p = &fg->scanners; atomic_load_explicit(p, memory_order_acquire);
	     p = &atomic_load_explicit(p, memory_order_acquire)->next)
		;
	atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
	atomic_store_explicit(p, s, memory_order_release);
}

void scanner_append(struct fanguard *fg, struct scanner *s)
{
	pthread_mutex_lock(&fg->lock);
	scanner_append_locked(fg, s);
	pthread_mutex_unlock(&fg->lock);
}

struct scanner *scanner_find(struct fanguard *fg, const char *name)
{
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire))
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

void scanners_free(struct fanguard *fg)
{
	struct scanner *s = atomic_exchange(&fg->scanners, NULL);

	while (s) {
		struct scanner *next = atomic_load(&s->next);

		s->free(s);
		s = next;
	}
}

bool scan_needed(struct fanguard *fg, struct scan_plan *ret)
{
	bool any = false, all_inline = true;
	unsigned most = 0;

	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire))
		if (!s->active || s->active(s)) {
			unsigned p = atomic_load_explicit(&s->parallel, memory_order_relaxed);

			any = true;
			all_inline = all_inline && s->inline_ok;
			most = p > most ? p : most;
		}
	if (ret)
		*ret = (struct scan_plan){.inline_ok = any && all_inline, .parallel = most};
	return any;
}

/* On FUSE (and network) files, read around the page cache. A buffered READ
 * that the daemon never answers holds the page's lock, and the opener we
 * answered at the deadline then blocks in its own open (FUSE invalidates
 * the file's pages there, measured: wchan __folio_lock) until the daemon
 * replies. Direct reads hold no page lock, and do not fill the cache with
 * what only the scanner wanted. The flag is on the open file description,
 * so a clamd that got the fd passed reads direct too. Best effort: a
 * filesystem that refuses O_DIRECT is read buffered. */
static void scan_fd_direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_DIRECT))
		(void) fcntl(fd, F_SETFL, fl | O_DIRECT);
}

struct domain *scan_standin_new(struct fanguard *fg, enum fanguard_mount_class cls,
				const char *name)
{
	struct domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->fg = fg;
	d->cls = cls;
	d->default_verdict = FANGUARD_ALLOW;
	(void) snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

void scan_standin_free(struct domain *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->fg->lock);
	domain_stats_add(&d->fg->retired, &d->stats);
	pthread_mutex_unlock(&d->fg->lock);
	free(d);
}

void scan_detail(struct scan_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

int scan_read_at(const struct scan_ctx *ctx, uint8_t *buf, size_t len, uint64_t off,
		 struct scan_result *res)
{
	for (;;) {
		ssize_t n;

		if (deadline_passed(ctx->deadline)) {
			res->reason = FANGUARD_REASON_DEADLINE;
			return -ETIMEDOUT;
		}
		if (ctx->nowait) {
			struct iovec iov = {.iov_base = buf, .iov_len = len};

			n = preadv2(ctx->fd, &iov, 1, (off_t) off, RWF_NOWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
				res->would_block = true;
				res->reason = FANGUARD_REASON_ERROR;
				return -EAGAIN;
			}
		} else
			n = pread(ctx->fd, buf, len, (off_t) off);
		if (n >= 0)
			return (int) n;
		if (errno == EINTR)
			continue;
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "read: %s", strerror(errno));
		return -errno;
	}
}

/* How decisive an outcome is: deny > undecided (deadline, error...) > allow. */
static int outcome_rank(const struct scan_result *r)
{
	if (r->reason == FANGUARD_REASON_SCANNED)
		return r->verdict == FANGUARD_DENY ? 2 : 0;
	return 1;
}

void scan_event(struct domain *d, const struct fg_event *ev, uint8_t *buf, size_t buflen,
		bool nowait, struct scan_result *res)
{
	struct fanguard *fg = d->fg;
	/* Scanners give up a little before the event's deadline, so that this
	 * worker answers (naming the scanner that ran out of time) rather
	 * than the keeper, which would take it for stuck in I/O, abandon it
	 * and start a replacement thread: a stalled clamd must not churn
	 * threads. A tenth of the deadline, at most 25 ms. */
	usec_t total =
		ev->deadline_usec > ev->received_usec ? ev->deadline_usec - ev->received_usec : 0;
	usec_t slack = total / 10 < 25 * USEC_PER_MSEC ? total / 10 : 25 * USEC_PER_MSEC;
	const struct scan_ctx ctx = {
		.fg = fg,
		.d = d,
		.fd = ev->fd,
		.size = ev->size,
		.pid = ev->pid,
		.mask = ev->mask,
		.deadline = ev->deadline_usec - slack,
		.default_verdict = domain_fallback(d, ev->mask),
		.buf = buf,
		.buflen = buflen,
		.nowait = nowait,
	};
	uint64_t active = 0;
	unsigned i = 0;
	bool any = false, no_cache = false;

	/* Which scanners have something to look for (active() reads config
	 * under cfg_lock, held here only for that). */
	pthread_rwlock_rdlock(&fg->cfg_lock);
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire);
	     s && i < 64; s = atomic_load_explicit(&s->next, memory_order_acquire), i++)
		if (!s->active || s->active(s))
			active |= UINT64_C(1) << i;
	pthread_rwlock_unlock(&fg->cfg_lock);

	*res = (struct scan_result){.verdict = ctx.default_verdict,
				    .reason = FANGUARD_REASON_NO_SCANNER,
				    .scanner = ""};
	if (d->cls != FANGUARD_MOUNT_LOCAL)
		scan_fd_direct(ev->fd);
	i = 0;
	for (struct scanner *s = atomic_load_explicit(&fg->scanners, memory_order_acquire);
	     s && i < 64; s = atomic_load_explicit(&s->next, memory_order_acquire), i++) {
		struct scan_result r = {.verdict = ctx.default_verdict,
					.reason = FANGUARD_REASON_ERROR,
					.scanner = s->name};

		if (!(active & (UINT64_C(1) << i)))
			continue;
		if (deadline_passed(ctx.deadline)) {
			r.reason = FANGUARD_REASON_DEADLINE;
			(void) snprintf(r.detail, sizeof(r.detail), "not started");
		} else
			s->scan(s, &ctx, &r);
		if (r.would_block) {
			*res = r;
			return;
		}
		/* A scanner may name who decided (scan-callback.c names the
		 * embedder's scanner); the name must outlive the listener's
		 * use of the verdict. */
		if (!r.scanner || !r.scanner[0])
			r.scanner = s->name;
		if (r.reason != FANGUARD_REASON_SCANNED)
			r.verdict = ctx.default_verdict;
		/* A clean verdict is cached only if no engine said not to. */
		if (r.reason == FANGUARD_REASON_SCANNED && r.no_cache)
			no_cache = true;
		if (!any || outcome_rank(&r) > outcome_rank(res))
			*res = r;
		any = true;
		if (outcome_rank(res) == 2 || r.reason == FANGUARD_REASON_DEADLINE)
			break;
		/* Allowlisted by digest: the operator's word beats any engine. */
		if (r.allowlisted) {
			*res = r;
			break;
		}
	}
	if (!any)
		res->verdict = FANGUARD_ALLOW;
	res->no_cache = no_cache;
}
