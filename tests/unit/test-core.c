/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listener core, unprivileged, against a fake fanotify group: a
 * SOCK_SEQPACKET socketpair stands in for the group (the test writes
 * fanotify_event_metadata records into it, one per packet, as the kernel
 * hands out one event per read), real temporary files are the event fds,
 * and the answers, marks and closes are captured through the injectable
 * fan_ops. Faults are injected there too: a read that blocks after it
 * dequeued its event (the kernel's open of a FUSE file inside read()), a
 * close that hangs (FUSE_FLUSH), allocation failures; and a test scanner
 * that allows, denies, fails or hangs per event.
 *
 * The invariant every test checks at the end: every event the library read
 * got exactly one answer, and its fd was closed only after that answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "domain-internal.h"
#include "domain-state-internal.h"
#include "emask-internal.h"
#include "fanguard-internal.h"
#include "fanops-internal.h"
#include "inflight-internal.h"
#include "macro.h"
#include "mounts.h"
#include "registry-internal.h"
#include "snapshot.h"
#include "watch-internal.h"

#define MAX_EV 8192
#define N_PLANNED 12U
#define MAX_FD 65536
/* Generous: these run beside other builds on 2 CPUs, and under ASan. */
#define WAIT_USEC (20 * USEC_PER_SEC)

enum ev_state { EV_FREE = 0, EV_INJECTED, EV_READ, EV_ANSWERED, EV_CLOSED };
/* B_NOT_IN_MEMORY: on a reader (an inline scan), the content would need I/O
 * (res->would_block); on a worker, allowed. */
/* B_HANG_DENY, B_HANG_ERROR: hang like B_HANG, then deny or fail. */
enum behave { B_ALLOW = 0, B_DENY, B_ERROR, B_HANG, B_NOT_IN_MEMORY, B_HANG_DENY, B_HANG_ERROR };

struct ev_rec {
	int fd;
	enum ev_state state;
	unsigned n_answers;
	uint32_t response;
	enum behave behave;
	bool hang_open, hang_close;
	bool closed_before_answer;
	bool scanned_by_reader; /* inline (reader.c), not by a worker */
	unsigned n_scans;	/* the test scanner's calls with its fd */
};

static struct fake {
	unsigned n_flushes; /* FAN_MARK_FLUSH calls */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char dir[64];
	int inject[MAX_FD]; /* by library group fd: the test's end */
	struct ev_rec ev[MAX_EV];
	size_t n_ev;
	int by_fd[MAX_FD]; /* event fd -> index + 1 */
	unsigned n_marks, n_answers, n_bad_answers, n_inits;
	unsigned fail_alloc;
	int fail_init;		   /* errno for every fanotify_init while set */
	unsigned fail_mark_enospc; /* mount/filesystem marks that fail with ENOSPC */
	unsigned n_inode_flushes;  /* FAN_MARK_FLUSH of inode marks (the cache) */
	unsigned n_not_covered_lines, n_summary_lines;
	bool release; /* lets every hang go */
	unsigned hanging_scans, hanging_opens, hanging_closes;
	unsigned would_block; /* inline scans that found no content in memory */
	/* Every fanotify_mark() call, in order (emask.c, dedup.c). */
	struct {
		unsigned flags;
		uint64_t mask;
	} mark_log[256];
	unsigned n_mark_log;
	unsigned n_refused; /* REFUSE_FD records read: read() failed */
} F;

/* An injected record with this fd: the kernel's open of the event's file
 * failed after the daemon kept it waiting (rclone's second open of a file
 * being created): read() blocks REFUSE_USEC, then fails with ENOENT. */
#define REFUSE_FD (-77)
#define REFUSE_USEC (EMASK_REFUSAL_USEC + 50 * USEC_PER_MSEC)

static struct ev_rec *ev_of_fd_locked(int fd)
{
	return fd >= 0 && fd < MAX_FD && F.by_fd[fd] ? &F.ev[F.by_fd[fd] - 1] : NULL;
}

/* --- fan_ops ---------------------------------------------------------------- */

static int fake_init(void *ud, unsigned flags, unsigned event_f_flags)
{
	int sv[2];

	(void) ud;
	(void) flags;
	(void) event_f_flags;
	if (F.fail_init)
		return -F.fail_init;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* The library's end is non-blocking, like FAN_NONBLOCK. */
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	pthread_mutex_lock(&F.lock);
	F.inject[sv[0]] = sv[1];
	F.n_inits++;
	pthread_mutex_unlock(&F.lock);
	return sv[0];
}

static ssize_t fake_read(void *ud, int group_fd, void *buf, size_t len)
{
	const struct fanotify_event_metadata *m = buf;
	struct ev_rec *e;
	ssize_t n;

	(void) ud;
	n = read(group_fd, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t) n < sizeof(*m))
		return n;
	if (m->fd == REFUSE_FD) {
		(void) usleep(REFUSE_USEC);
		pthread_mutex_lock(&F.lock);
		F.n_refused++;
		pthread_cond_broadcast(&F.cond);
		pthread_mutex_unlock(&F.lock);
		return -ENOENT;
	}
	pthread_mutex_lock(&F.lock);
	e = ev_of_fd_locked(m->fd);
	if (e) {
		e->state = EV_READ;
		/* Dequeued, now "opening" it: a FUSE daemon that never answers. */
		if (e->hang_open) {
			F.hanging_opens++;
			pthread_cond_broadcast(&F.cond);
			while (!F.release)
				pthread_cond_wait(&F.cond, &F.lock);
			F.hanging_opens--;
		}
	}
	pthread_mutex_unlock(&F.lock);
	return n;
}

static ssize_t fake_respond(void *ud, int group_fd, const struct fanotify_response *resp)
{
	struct ev_rec *e;

	(void) ud;
	(void) group_fd;
	pthread_mutex_lock(&F.lock);
	e = ev_of_fd_locked(resp->fd);
	if (!e || e->state != EV_READ)
		F.n_bad_answers++;
	if (e) {
		e->n_answers++;
		e->response = resp->response;
		e->state = EV_ANSWERED;
	}
	F.n_answers++;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
	return sizeof(*resp);
}

static int fake_mark(void *ud, int group_fd, unsigned flags, uint64_t mask, int dirfd,
		     const char *path)
{
	(void) ud;
	(void) group_fd;
	(void) mask;
	(void) dirfd;
	(void) path;
	pthread_mutex_lock(&F.lock);
	if (F.n_mark_log < ELEMENTSOF(F.mark_log)) {
		F.mark_log[F.n_mark_log].flags = flags;
		F.mark_log[F.n_mark_log++].mask = mask;
	}
	if ((flags & FAN_MARK_ADD) && (flags & (FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM)) &&
	    F.fail_mark_enospc > 0) {
		F.fail_mark_enospc--;
		pthread_mutex_unlock(&F.lock);
		return -ENOSPC;
	}
	if (flags & FAN_MARK_ADD)
		F.n_marks++;
	if ((flags & FAN_MARK_FLUSH) && !(flags & (FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM)))
		F.n_inode_flushes++;
	if (flags & FAN_MARK_FLUSH)
		F.n_flushes++;
	pthread_mutex_unlock(&F.lock);
	return 0;
}

static void fake_close(void *ud, int fd)
{
	struct ev_rec *e;

	(void) ud;
	pthread_mutex_lock(&F.lock);
	e = ev_of_fd_locked(fd);
	if (e && e->hang_close) {
		F.hanging_closes++;
		pthread_cond_broadcast(&F.cond);
		while (!F.release)
			pthread_cond_wait(&F.cond, &F.lock);
		F.hanging_closes--;
	}
	if (e) {
		if (e->state != EV_ANSWERED)
			e->closed_before_answer = true;
		e->state = EV_CLOSED;
		F.by_fd[fd] = 0;
	}
	(void) close(fd);
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
}

static void *fake_alloc(void *ud, size_t size)
{
	bool fail;

	(void) ud;
	pthread_mutex_lock(&F.lock);
	fail = F.fail_alloc > 0;
	if (fail)
		F.fail_alloc--;
	pthread_mutex_unlock(&F.lock);
	return fail ? NULL : calloc(1, size);
}

static const struct fan_ops fake_ops = {
	.init = fake_init,
	.read = fake_read,
	.respond = fake_respond,
	.mark = fake_mark,
	.close_event_fd = fake_close,
	.alloc_event = fake_alloc,
};

/* --- the test scanner --------------------------------------------------------- */

static bool test_active(struct scanner *s)
{
	(void) s;
	return true;
}

static void test_scan(struct scanner *s, const struct scan_ctx *ctx, struct scan_result *res)
{
	char name[16] = "";
	struct ev_rec *e;
	enum behave b;
	bool on_reader;

	(void) s;
	(void) pthread_getname_np(pthread_self(), name, sizeof(name));
	on_reader = strncmp(name, "fg-read", 7) == 0;
	pthread_mutex_lock(&F.lock);
	e = ev_of_fd_locked(ctx->fd);
	b = e ? e->behave : B_ERROR;
	if (b == B_HANG || b == B_HANG_DENY || b == B_HANG_ERROR) {
		/* A read stuck in a FUSE daemon: past any deadline. */
		F.hanging_scans++;
		pthread_cond_broadcast(&F.cond);
		while (!F.release)
			pthread_cond_wait(&F.cond, &F.lock);
		F.hanging_scans--;
	}
	if (b == B_NOT_IN_MEMORY && on_reader) {
		F.would_block++;
		pthread_mutex_unlock(&F.lock);
		res->would_block = true;
		return;
	}
	if (e) {
		e->scanned_by_reader = on_reader;
		e->n_scans++;
	}
	pthread_mutex_unlock(&F.lock);
	switch (b) {
	case B_ALLOW:
	case B_NOT_IN_MEMORY:
	case B_HANG:
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_ALLOW;
		break;
	case B_DENY:
	case B_HANG_DENY:
		res->reason = FANGUARD_REASON_SCANNED;
		res->verdict = FANGUARD_DENY;
		break;
	case B_ERROR:
	case B_HANG_ERROR:
		res->reason = FANGUARD_REASON_ERROR;
		scan_detail(res, "injected");
		break;
	}
}

static void test_scanner_free(struct scanner *s)
{
	free(s);
}

/* --- harness ------------------------------------------------------------------ */

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.lock, NULL);
	pthread_cond_init(&F.cond, NULL);
	snprintf(F.dir, sizeof(F.dir), "/tmp/fg-core.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	return 0;
}

static int teardown(void **state)
{
	char p[128];

	(void) state;
	for (int i = 0; i < MAX_FD; i++)
		if (F.inject[i] > 0)
			(void) close(F.inject[i]);
	for (size_t i = 0; i < F.n_ev; i++)
		if (F.ev[i].state == EV_INJECTED)
			(void) close(F.ev[i].fd); /* never read: ours */
	snprintf(p, sizeof(p), "%s/f", F.dir);
	(void) unlink(p);
	(void) rmdir(F.dir);
	pthread_cond_destroy(&F.cond);
	pthread_mutex_destroy(&F.lock);
	return 0;
}

static struct fanguard *listener_new_fuse(struct fanguard_options *o,
					  const struct fanguard_class_options *fuse);

static struct fanguard *listener_new(struct fanguard_options *o)
{
	return listener_new_fuse(o, NULL);
}

/* With the FUSE class's settings (fanguard_set_class_options()). */
static struct fanguard *listener_new_fuse(struct fanguard_options *o,
					  const struct fanguard_class_options *fuse)
{
	struct fanguard_options def = {.size = sizeof(def)};
	struct fanguard *fg;
	struct scanner *s;
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/f", F.dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "content\n", 8), 8);
	close(fd);
	if (!o)
		o = &def;
	o->size = sizeof(*o);
	if (!o->log_max_priority)
		o->log_max_priority = 3; /* LOG_ERR: keep the log thread quiet */
	assert_int_equal(fanguard_new(o, &fg), 0);
	if (fuse)
		assert_int_equal(fanguard_set_class_options(fg, FANGUARD_MOUNT_FUSE, fuse), 0);
	fg_set_fan_ops(fg, &fake_ops, NULL);
	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->name = "test";
	s->fg = fg;
	s->active = test_active;
	s->scan = test_scan;
	s->free = test_scanner_free;
	scanner_append(fg, s);
	return fg;
}

/* A FUSE-class domain for a made-up mount (no FUSE needed: the group is fake). */
static struct domain *fuse_domain(struct fanguard *fg, uint64_t mnt_id, uid_t owner, int *ret)
{
	struct domain *d = NULL;
	bool created;
	int r;

	pthread_mutex_lock(&fg->lock);
	r = registry_get_locked(fg, FANGUARD_MOUNT_FUSE, mnt_id, 0, (unsigned) mnt_id, owner, 1, &d,
				&created);
	pthread_mutex_unlock(&fg->lock);
	if (ret)
		*ret = r;
	return r < 0 ? NULL : d;
}

/* The same at a FUSE nesting depth (registry_depth_of()). */
static struct domain *fuse_domain_at(struct fanguard *fg, uint64_t mnt_id, unsigned depth, int *ret)
{
	struct domain *d = NULL;
	bool created;
	int r;

	pthread_mutex_lock(&fg->lock);
	r = registry_get_locked(fg, FANGUARD_MOUNT_FUSE, mnt_id, 0, (unsigned) mnt_id, 0, depth, &d,
				&created);
	pthread_mutex_unlock(&fg->lock);
	if (ret)
		*ret = r;
	return r < 0 ? NULL : d;
}

static struct domain *local_domain(struct fanguard *fg)
{
	struct domain *d = NULL;

	pthread_mutex_lock(&fg->lock);
	for (struct domain *i = fg->domains; i; i = i->next)
		if (i->cls == FANGUARD_MOUNT_LOCAL)
			d = i;
	pthread_mutex_unlock(&fg->lock);
	return d;
}

/* Writes one event record (mask) into d's fake group; returns its index. */
static size_t inject_mask(struct domain *d, enum behave b, bool hang_open, bool hang_close,
			  uint64_t mask)
{
	struct fanotify_event_metadata m = {
		.event_len = sizeof(m),
		.vers = FANOTIFY_METADATA_VERSION,
		.metadata_len = sizeof(m),
		.mask = mask,
		.pid = getppid() > 1 ? getppid() : 1,
	};
	char p[128];
	size_t i;
	int fd, sock;

	snprintf(p, sizeof(p), "%s/f", F.dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && fd < MAX_FD);
	pthread_mutex_lock(&F.lock);
	assert_true(F.n_ev < MAX_EV);
	i = F.n_ev++;
	F.ev[i] = (struct ev_rec){.fd = fd,
				  .state = EV_INJECTED,
				  .behave = b,
				  .hang_open = hang_open,
				  .hang_close = hang_close};
	F.by_fd[fd] = (int) i + 1;
	sock = F.inject[d->group_fd];
	pthread_mutex_unlock(&F.lock);
	m.fd = fd;
	assert_int_equal(send(sock, &m, sizeof(m), 0), (ssize_t) sizeof(m));
	return i;
}

static size_t inject(struct domain *d, enum behave b, bool hang_open, bool hang_close)
{
	return inject_mask(d, b, hang_open, hang_close, FAN_OPEN_PERM);
}

/* Waits until cond() holds (under F.lock), at most WAIT_USEC. */
static bool wait_for(bool (*cond)(void *), void *arg)
{
	usec_t deadline = deadline_after(WAIT_USEC);
	bool ok;

	pthread_mutex_lock(&F.lock);
	while (!(ok = cond(arg)) && !deadline_passed(deadline)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void) pthread_cond_timedwait(&F.cond, &F.lock, &ts);
	}
	pthread_mutex_unlock(&F.lock);
	return ok;
}

static bool answered(void *arg)
{
	size_t i = (size_t) (uintptr_t) arg;

	return F.ev[i].n_answers > 0;
}

static bool all_answered(void *arg)
{
	(void) arg;
	for (size_t i = 0; i < F.n_ev; i++)
		if (F.ev[i].n_answers == 0)
			return false;
	return true;
}

static bool hanging_scans_1(void *arg)
{
	(void) arg;
	return F.hanging_scans >= 1;
}

static bool hanging_opens_1(void *arg)
{
	(void) arg;
	return F.hanging_opens >= 1;
}

static bool hanging_closes_1(void *arg)
{
	(void) arg;
	return F.hanging_closes >= 1;
}

static void release_all(void)
{
	pthread_mutex_lock(&F.lock);
	F.release = true;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
}

static bool no_hangs(void *arg)
{
	(void) arg;
	return F.hanging_scans == 0 && F.hanging_opens == 0 && F.hanging_closes == 0;
}

/* The invariant: each event read got exactly one answer, before its close. */
static void assert_exactly_once(void)
{
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.n_bad_answers, 0);
	for (size_t i = 0; i < F.n_ev; i++) {
		struct ev_rec *e = &F.ev[i];

		if (e->state == EV_INJECTED)
			continue; /* never read (the kernel allows it at close) */
		assert_int_equal(e->n_answers, 1);
		assert_false(e->closed_before_answer);
	}
	pthread_mutex_unlock(&F.lock);
}

static unsigned verdict_of(size_t i)
{
	unsigned v;

	pthread_mutex_lock(&F.lock);
	v = F.ev[i].response & 3;
	pthread_mutex_unlock(&F.lock);
	return v;
}

static uint64_t stat_value(struct fanguard *fg, const char *name, const char *label)
{
	size_t n = fanguard_stats_count();
	uint64_t *v = calloc(n, sizeof(*v)), r = UINT64_MAX;

	assert_non_null(v);
	assert_int_equal(fanguard_stats_snapshot(fg, v, n), (int) n);
	for (size_t i = 0; i < n; i++) {
		struct fanguard_stat_info info = {.size = sizeof(info)};

		assert_int_equal(fanguard_stat_describe(i, &info), 0);
		if (strcmp(info.name, name) == 0 &&
		    (!label || (info.label_value && strcmp(info.label_value, label) == 0)))
			r = v[i];
	}
	free(v);
	assert_true(r != UINT64_MAX);
	return r;
}

/* Counters are bumped right after the answer is written: wait for them. */
static uint64_t stat_wait(struct fanguard *fg, const char *name, const char *label, uint64_t want)
{
	usec_t end = deadline_after(WAIT_USEC);
	uint64_t v;

	while ((v = stat_value(fg, name, label)) < want && !deadline_passed(end))
		(void) usleep(2 * 1000);
	return v;
}

/* Stops and frees fg, then waits for its threads to be gone (they hold the
 * listener: LeakSanitizer must find nothing). */
static void listener_done(struct fanguard *fg)
{
	usec_t end = deadline_after(WAIT_USEC);

	release_all();
	assert_true(wait_for(no_hangs, NULL));
	fg_ref(fg);
	assert_null(fanguard_free(fg));
	/* Each domain holds the listener until its last thread is gone. */
	while (atomic_load(&fg->refs) > 1 && !deadline_passed(end))
		(void) usleep(5 * 1000);
	assert_int_equal(atomic_load(&fg->refs), 1);
	fg_unref(fg);
	assert_exactly_once();
}

/* --- tests --------------------------------------------------------------------- */

/* Marks go in at start, not before; scanned events get the scanner's verdict. */
static void test_watch_before_start_and_verdicts(void **state)
{
	struct fanguard *fg = listener_new(NULL);
	struct domain *d;
	size_t first = F.n_ev;

	(void) state;
	/* F.dir is on the root filesystem here: this mount only. */
	assert_int_equal(fanguard_watch(fg, F.dir, FANGUARD_WATCH_MOUNT), 0);
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.n_marks, 0); /* nobody could answer yet */
	pthread_mutex_unlock(&F.lock);
	assert_int_equal(fanguard_start(fg), 0);
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.n_marks, 1);
	pthread_mutex_unlock(&F.lock);
	d = local_domain(fg);
	assert_non_null(d);
	for (int i = 0; i < 300; i++)
		(void) inject(d, i % 3 == 0 ? B_DENY : B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	for (size_t i = first; i < F.n_ev; i++)
		assert_int_equal(verdict_of(i), (i - first) % 3 == 0 ? FAN_DENY : FAN_ALLOW);
	assert_int_equal(stat_wait(fg, "events_read", NULL, 300), 300);
	assert_int_equal(stat_wait(fg, "denied", NULL, 100), 100);
	assert_int_equal(stat_wait(fg, "verdicts", "scanned", 300), 300);
	listener_done(fg);
}

/* Audit mode: a deny is answered allow, counted, and never cached. */
static void test_audit_mode(void **state)
{
	struct fanguard_options o = {.size = sizeof(o), .audit = 1};
	struct fanguard *fg = listener_new(&o);
	struct domain *d;
	size_t a, b;

	(void) state;
	assert_int_equal(fanguard_watch(fg, F.dir, FANGUARD_WATCH_MOUNT), 0);
	assert_int_equal(fanguard_start(fg), 0);
	d = local_domain(fg);
	assert_non_null(d);
	a = inject(d, B_DENY, false, false);
	b = inject(d, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(verdict_of(a), FAN_ALLOW);
	assert_int_equal(verdict_of(b), FAN_ALLOW);
	assert_int_equal(stat_wait(fg, "audit_would_deny", NULL, 1), 1);
	assert_int_equal(stat_value(fg, "denied", NULL), 0);
	assert_int_equal(stat_wait(fg, "allowed", NULL, 2), 2);
	listener_done(fg);
}

struct handed {
	unsigned n;
	char name[64];
	int fd;
};

static int hand_fn(void *userdata, int fd, const char *name)
{
	struct handed *h = userdata;

	h->n++;
	h->fd = fd;
	(void) snprintf(h->name, sizeof(h->name), "%s", name);
	return 0;
}

/* Handover: every event read is answered, the marks stay (no flush), and
 * the group goes to fn by name. Adoption refuses what is not a fanotify
 * group, and bad names. */
static void test_handover(void **state)
{
	struct fanguard *fg = listener_new(NULL), *fg2;
	struct handed h = {.fd = -1};
	struct domain *d;
	int sv[2];

	(void) state;
	assert_int_equal(fanguard_watch(fg, F.dir, FANGUARD_WATCH_MOUNT), 0);
	assert_int_equal(fanguard_start(fg), 0);
	d = local_domain(fg);
	assert_non_null(d);
	for (int i = 0; i < 20; i++)
		(void) inject(d, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(fanguard_handover(fg, 2000, NULL, NULL), -EINVAL);
	assert_int_equal(fanguard_handover(fg, 2000, hand_fn, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.name, "local");
	assert_true(h.fd >= 0);
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.n_flushes, 0);
	pthread_mutex_unlock(&F.lock);
	listener_done(fg);

	assert_int_equal(fanguard_new(NULL, &fg2), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fanguard_adopt_group(fg2, sv[0], "local"), -EINVAL);
	assert_int_equal(fanguard_adopt_group(fg2, sv[0], "bad:name"), -EINVAL);
	assert_int_equal(fanguard_adopt_group(fg2, sv[0], ""), -EINVAL);
	(void) close(sv[0]);
	(void) close(sv[1]);
	assert_null(fanguard_free(fg2));
}

/* A cheap scanner (inline_ok) runs on the reader for local files: no queue
 * hop. One whose content is not in memory goes to a worker instead, and is
 * scanned there; FUSE domains never scan inline. Exactly once throughout. */
static void test_inline_scan(void **state)
{
	struct fanguard *fg = listener_new(NULL);
	struct scanner *s = scanner_find(fg, "test");
	struct domain *d, *fd;
	size_t first = F.n_ev, blocked[20], fuse_ev;
	unsigned nb = 0;

	(void) state;
	assert_non_null(s);
	s->inline_ok = true;
	assert_int_equal(fanguard_watch(fg, F.dir, FANGUARD_WATCH_MOUNT), 0);
	assert_int_equal(fanguard_start(fg), 0);
	d = local_domain(fg);
	assert_non_null(d);
	for (int i = 0; i < 200; i++) {
		enum behave b = i % 10 == 5 ? B_NOT_IN_MEMORY : i % 4 == 0 ? B_DENY : B_ALLOW;
		size_t k = inject(d, b, false, false);

		if (b == B_NOT_IN_MEMORY)
			blocked[nb++] = k;
	}
	fd = fuse_domain(fg, 4002, 0, NULL);
	assert_non_null(fd);
	fuse_ev = inject(fd, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	for (size_t i = first; i < first + 200; i++) {
		size_t k = i - first;

		assert_int_equal(verdict_of(i), k % 10 != 5 && k % 4 == 0 ? FAN_DENY : FAN_ALLOW);
	}
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.would_block, nb);
	for (unsigned j = 0; j < nb; j++)
		assert_false(F.ev[blocked[j]].scanned_by_reader); /* a worker did */
	for (size_t i = first; i < first + 200; i++)
		if ((i - first) % 10 != 5)
			assert_true(F.ev[i].scanned_by_reader);
	assert_false(F.ev[fuse_ev].scanned_by_reader);
	pthread_mutex_unlock(&F.lock);
	assert_int_equal(stat_wait(fg, "scanned_inline", NULL, 200 - nb), 200 - nb);
	assert_int_equal(stat_wait(fg, "verdicts", "scanned", 201), 201);
	domain_unref(fd);
	listener_done(fg);
}

/* A scanner error takes the class's default verdict. */
static void test_scanner_error(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t a, b;

	(void) state;
	fc.default_verdict = FANGUARD_DENY;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4001, 0, NULL);
	assert_non_null(d);
	a = inject(d, B_ERROR, false, false);
	b = inject(d, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(verdict_of(a), FAN_DENY);
	assert_int_equal(verdict_of(b), FAN_ALLOW);
	assert_int_equal(stat_wait(fg, "verdicts", "error", 1), 1);
	domain_unref(d);
	listener_done(fg);
}

/* An untrusted FUSE mount (a user's daemon, owner != 0): an exec whose scan
 * fails or passes its deadline is denied although the default is allow; an
 * open gets the default; a root-owned mount's exec gets the default too. */
static void test_untrusted_fallback(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *u, *r;
	size_t ex_err, op_err, ex_late, ex_root, ex_ok;

	(void) state;
	fc.deadline_ms = 300;
	fc.n_workers = 2;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	u = fuse_domain(fg, 4101, 1000, NULL);
	r = fuse_domain(fg, 4102, 0, NULL);
	assert_non_null(u);
	assert_non_null(r);
	assert_true(u->untrusted);
	assert_false(r->untrusted);
	ex_err = inject_mask(u, B_ERROR, false, false, FAN_OPEN_EXEC_PERM);
	op_err = inject_mask(u, B_ERROR, false, false, FAN_OPEN_PERM);
	ex_ok = inject_mask(u, B_ALLOW, false, false, FAN_OPEN_EXEC_PERM);
	ex_root = inject_mask(r, B_ERROR, false, false, FAN_OPEN_EXEC_PERM);
	ex_late = inject_mask(u, B_HANG, false, false, FAN_OPEN_EXEC_PERM);
	assert_true(wait_for(answered, (void *) (uintptr_t) ex_late));
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(verdict_of(ex_err), FAN_DENY);
	assert_int_equal(verdict_of(op_err), FAN_ALLOW);
	assert_int_equal(verdict_of(ex_ok), FAN_ALLOW);
	assert_int_equal(verdict_of(ex_root), FAN_ALLOW);
	assert_int_equal(verdict_of(ex_late), FAN_DENY);
	assert_int_equal(stat_wait(fg, "verdicts", "deadline", 1), 1);
	domain_unref(u);
	domain_unref(r);
	listener_done(fg);
}

/* fuse_user_exec=deny: every exec from an untrusted mount is denied at
 * receipt (reason policy), not scanned; its opens and root's execs are. */
static void test_fuse_user_exec_deny(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard *fg;
	struct domain *u, *r;
	size_t ex_u, op_u, ex_r;

	(void) state;
	o.fuse_user_exec = FANGUARD_FUSE_USER_EXEC_DENY;
	fg = listener_new_fuse(&o, NULL);
	assert_int_equal(fanguard_start(fg), 0);
	u = fuse_domain(fg, 4201, 1000, NULL);
	r = fuse_domain(fg, 4202, 0, NULL);
	assert_non_null(u);
	assert_non_null(r);
	ex_u = inject_mask(u, B_ALLOW, false, false, FAN_OPEN_EXEC_PERM);
	op_u = inject_mask(u, B_ALLOW, false, false, FAN_OPEN_PERM);
	ex_r = inject_mask(r, B_ALLOW, false, false, FAN_OPEN_EXEC_PERM);
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(verdict_of(ex_u), FAN_DENY);
	assert_int_equal(verdict_of(op_u), FAN_ALLOW);
	assert_int_equal(verdict_of(ex_r), FAN_ALLOW);
	assert_int_equal(stat_wait(fg, "verdicts", "policy", 1), 1);
	assert_int_equal(stat_wait(fg, "verdicts", "scanned", 2), 2);
	o.fuse_user_exec = 2;
	assert_int_equal(fanguard_new(&o, &(struct fanguard *){NULL}), -EINVAL);
	domain_unref(u);
	domain_unref(r);
	listener_done(fg);
}

/* A worker stuck in a read past the deadline: the keeper answers with the
 * default verdict at the deadline, abandons the worker and starts another;
 * later events are still scanned. */
static void test_deadline_worker_stuck_in_read(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t stuck, later;
	usec_t t0;

	(void) state;
	fc.deadline_ms = 300;
	fc.n_workers = 1;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4002, 0, NULL);
	assert_non_null(d);
	t0 = now_usec();
	stuck = inject(d, B_HANG, false, false);
	assert_true(wait_for(hanging_scans_1, NULL));
	assert_true(wait_for(answered, (void *) (uintptr_t) stuck));
	/* Not before its deadline. */
	assert_true(now_usec() - t0 >= 300 * USEC_PER_MSEC);
	assert_int_equal(verdict_of(stuck), FAN_ALLOW);
	assert_int_equal(stat_wait(fg, "verdicts", "deadline", 1), 1);
	assert_int_equal(stat_wait(fg, "workers_abandoned", NULL, 1), 1);
	assert_int_equal(stat_wait(fg, "workers_replaced", NULL, 1), 1);
	assert_int_equal(stat_wait(fg, "threads_stuck", "read", 1), 1);
	/* The replacement scans the next one. */
	later = inject(d, B_DENY, false, false);
	assert_true(wait_for(answered, (void *) (uintptr_t) later));
	assert_int_equal(verdict_of(later), FAN_DENY);
	domain_unref(d);
	listener_done(fg);
}

/* Overload policy per reason: default allow, but deny on a full queue (one
 * uid at its share: a quarter of 4 is 1) and at the deadline; both are
 * counted and raise the overload gauge. */
static void test_overload_policy(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t stuck, queued, turned_away;

	(void) state;
	fc.deadline_ms = 300;
	fc.n_workers = 1;
	fc.queue_len = 4;
	fc.on_deadline = FANGUARD_DENY;
	fc.on_queue_full = FANGUARD_DENY;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4010, 0, NULL);
	assert_non_null(d);
	assert_int_equal(stat_wait(fg, "overload", NULL, 0), 0);
	stuck = inject(d, B_HANG, false, false);
	assert_true(wait_for(hanging_scans_1, NULL));
	queued = inject(d, B_ALLOW, false, false);	/* the uid's one slot */
	turned_away = inject(d, B_ALLOW, false, false); /* over its share */
	assert_true(wait_for(answered, (void *) (uintptr_t) turned_away));
	assert_int_equal(verdict_of(turned_away), FAN_DENY);
	assert_int_equal(stat_wait(fg, "verdicts", "queue-full", 1), 1);
	assert_int_equal(stat_wait(fg, "overload", NULL, 1), 1);
	assert_true(wait_for(answered, (void *) (uintptr_t) stuck));
	assert_int_equal(verdict_of(stuck), FAN_DENY);
	assert_true(wait_for(answered, (void *) (uintptr_t) queued));
	assert_true(stat_wait(fg, "verdicts", "deadline", 1) >= 1);
	domain_unref(d);
	listener_done(fg);
}

/* Stop while a scan hangs: the event is answered (shutdown) before stop
 * returns; stop reports the stuck thread with -ETIMEDOUT. */
static void test_shutdown_mid_scan(void **state)
{
	struct fanguard *fg = listener_new(NULL);
	struct domain *d;
	size_t stuck, queued[4];

	(void) state;
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4003, 0, NULL);
	assert_non_null(d);
	stuck = inject(d, B_HANG, false, false);
	assert_true(wait_for(hanging_scans_1, NULL));
	for (int i = 0; i < 4; i++)
		queued[i] = inject(d, B_HANG, false, false);
	assert_int_equal(fanguard_stop(fg, 300), -ETIMEDOUT);
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.ev[stuck].n_answers, 1);
	for (int i = 0; i < 4; i++)
		if (F.ev[queued[i]].state != EV_INJECTED)
			assert_int_equal(F.ev[queued[i]].n_answers, 1);
	pthread_mutex_unlock(&F.lock);
	assert_true(stat_wait(fg, "verdicts", "shutdown", 1) >= 1);
	domain_unref(d);
	listener_done(fg);
}

/* No memory for an event: answered at once with the default verdict. */
static void test_enomem(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;

	(void) state;
	fc.default_verdict = FANGUARD_DENY;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4004, 0, NULL);
	assert_non_null(d);
	pthread_mutex_lock(&F.lock);
	F.fail_alloc = 5;
	pthread_mutex_unlock(&F.lock);
	for (int i = 0; i < 20; i++)
		(void) inject(d, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	assert_int_equal(stat_wait(fg, "event_alloc_errors", NULL, 5), 5);
	assert_int_equal(stat_wait(fg, "verdicts", "error", 5), 5);
	assert_int_equal(stat_wait(fg, "denied", NULL, 5), 5);
	assert_int_equal(stat_wait(fg, "verdicts", "scanned", 15), 15);
	domain_unref(d);
	listener_done(fg);
}

/* A reader stuck in the kernel's open inside read(): the keeper adds a
 * reader, and the mount's other events are still answered in time. */
static void test_reader_stuck_in_open(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t stuck, later;
	usec_t t0;

	(void) state;
	/* Long, so that a verdict at the deadline (allow) cannot pass for
	 * the scan's (deny) on a loaded machine. */
	fc.deadline_ms = 15000;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4005, 0, NULL);
	assert_non_null(d);
	stuck = inject(d, B_ALLOW, true, false);
	assert_true(wait_for(hanging_opens_1, NULL));
	t0 = now_usec();
	later = inject(d, B_DENY, false, false);
	assert_true(wait_for(answered, (void *) (uintptr_t) later));
	assert_int_equal(verdict_of(later), FAN_DENY); /* scanned, not defaulted */
	assert_true(now_usec() - t0 < 15000 * USEC_PER_MSEC);
	assert_true(stat_wait(fg, "readers_added", NULL, 1) >= 1);
	assert_int_equal(stat_wait(fg, "threads_stuck", "open", 1), 1);
	release_all();
	assert_true(wait_for(answered, (void *) (uintptr_t) stuck));
	domain_unref(d);
	listener_done(fg);
}

/* rclone takes --vfs-cache-mode from RCLONE_VFS_CACHE_MODE when its
 * command line does not name it: the hint reads the environment too, from
 * a buffer and from /proc/PID/environ of a real process. */
static void emask_env_hints(void)
{
	static const char dflt[] = "/usr/bin/rclone\0mount\0r:/x\0/mnt";
	static const char wr[] = "rclone\0mount\0r:/x\0/mnt\0--vfs-cache-mode=writes";
	static const char off[] = "rclone\0mount\0--vfs-cache-mode\0off\0r:/x\0/mnt";
	static const char env_wr[] = "HOME=/\0RCLONE_VFS_CACHE_MODE=writes";
	static const char env_full[] = "RCLONE_VFS_CACHE_MODE=full\0PATH=/bin";
	static const char env_min[] = "RCLONE_VFS_CACHE_MODE=minimal";
	static const char env_other[] = "XRCLONE_VFS_CACHE_MODE=full\0RCLONE_VFS_CACHE_MODEX=full";
	static const char unterminated[] = {'R', 'C', 'L', 'O', 'N', 'E', '_', 'V',
					    'F', 'S', '_', 'C', 'A', 'C', 'H', 'E',
					    '_', 'M', 'O', 'D', 'E', '=', 'w'};
	char *const args[] = {"rclone", "-c", "read x", "mount", "r:/x", "/mnt", NULL};
	char *const env_writes[] = {"RCLONE_VFS_CACHE_MODE=writes", NULL};
	char *const env_off[] = {"RCLONE_VFS_CACHE_MODE=off", NULL};
	char why[160];

	/* The environment's mode when the command line names none. */
	assert_false(emask_argv_hint(dflt, sizeof(dflt), env_wr, sizeof(env_wr), why, sizeof(why)));
	assert_false(
		emask_argv_hint(dflt, sizeof(dflt), env_full, sizeof(env_full), why, sizeof(why)));
	assert_true(
		emask_argv_hint(dflt, sizeof(dflt), env_min, sizeof(env_min), why, sizeof(why)));
	assert_non_null(strstr(why, "RCLONE_VFS_CACHE_MODE=minimal in its environment"));
	/* Other names are not it; an unterminated value is not read. */
	assert_true(emask_argv_hint(dflt, sizeof(dflt), env_other, sizeof(env_other), why,
				    sizeof(why)));
	assert_non_null(strstr(why, "--vfs-cache-mode off (default)"));
	assert_true(emask_argv_hint(dflt, sizeof(dflt), unterminated, sizeof(unterminated), why,
				    sizeof(why)));
	/* The command line wins either way. */
	assert_false(emask_argv_hint(wr, sizeof(wr), env_min, sizeof(env_min), why, sizeof(why)));
	assert_true(emask_argv_hint(off, sizeof(off), env_wr, sizeof(env_wr), why, sizeof(why)));
	assert_non_null(strstr(why, "--vfs-cache-mode off"));

	/* A process named rclone (sh waiting on a pipe), read through /proc. */
	for (int i = 0; i < 2; i++) {
		int p[2], status;
		pid_t pid;
		bool hint;

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			(void) dup2(p[0], 0);
			execve("/bin/sh", args, i == 0 ? env_writes : env_off);
			_exit(127);
		}
		(void) close(p[0]);
		/* Until the exec is done: its argv is ours before. */
		for (int t = 0; t < 2000; t++) {
			char buf[16] = "";
			_cleanup_close_ int fd = -EBADF;
			char path[64];

			(void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 &&
			    strcmp(buf, "rclone") == 0)
				break;
			(void) usleep(1000);
		}
		hint = emask_daemon_hint(pid, why, sizeof(why));
		(void) close(p[1]); /* read x returns: sh exits */
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (i == 0)
			assert_false(hint);
		else {
			assert_true(hint);
			assert_non_null(
				strstr(why, "RCLONE_VFS_CACHE_MODE=off in its environment"));
		}
	}
}

/* The pure parts of the event-mask choice (emask.c). */
static void test_emask_rules(void **state)
{
	static const char off[] = "rclone\0mount\0r:/x\0/mnt\0--vfs-cache-mode\0off";
	static const char dflt[] = "/usr/bin/rclone\0mount\0r:/x\0/mnt";
	static const char wr[] = "rclone\0mount\0r:/x\0/mnt\0--vfs-cache-mode=writes";
	static const char full[] = "rclone\0cmount\0--vfs-cache-mode\0full\0r:/x\0/mnt";
	static const char other[] = "sshfs\0mount\0h:/x\0/mnt";
	static const char copy[] = "rclone\0copy\0a\0b";
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard *fg;
	char why[160];
	usec_t first = 0;
	unsigned n = 0;

	(void) state;
	assert_true(emask_is_refusal(-ENOENT, EMASK_REFUSAL_USEC));
	assert_true(emask_is_refusal(-EIO, 5 * USEC_PER_SEC));
	assert_false(emask_is_refusal(-ENOENT, EMASK_REFUSAL_USEC - 1)); /* quick: not a wait */
	assert_false(emask_is_refusal(-EMFILE, 5 * USEC_PER_SEC));	 /* ours */
	assert_false(emask_is_refusal(-ECONNABORTED, 5 * USEC_PER_SEC)); /* aborted */
	/* Two within the window switch; one, or two a window apart, do not. */
	assert_false(emask_refusal_note(1000, &first, &n));
	assert_false(emask_refusal_note(1000 + EMASK_WINDOW_USEC + 1, &first, &n));
	assert_true(emask_refusal_note(2000 + EMASK_WINDOW_USEC, &first, &n));
	assert_true(emask_argv_hint(off, sizeof(off), NULL, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "--vfs-cache-mode off"));
	assert_true(emask_argv_hint(dflt, sizeof(dflt), NULL, 0, why, sizeof(why)));
	assert_false(emask_argv_hint(wr, sizeof(wr), NULL, 0, why, sizeof(why)));
	assert_false(emask_argv_hint(full, sizeof(full), NULL, 0, why, sizeof(why)));
	assert_false(emask_argv_hint(other, sizeof(other), NULL, 0, why, sizeof(why)));
	assert_false(emask_argv_hint(copy, sizeof(copy), NULL, 0, why, sizeof(why)));
	assert_false(emask_argv_hint(NULL, 0, NULL, 0, why, sizeof(why)));
	emask_env_hints();
	assert_int_equal(fanguard_new(&o, &fg), 0);
	assert_int_equal(emask_fan_mask(fg, false), FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM);
	assert_int_equal(emask_fan_mask(fg, true), FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM);
	assert_int_equal(fanguard_set_fuse_event_mask(fg, "rel", FANGUARD_FUSE_EVENT_MASK_OPEN),
			 -EINVAL);
	assert_int_equal(fanguard_set_fuse_event_mask(fg, NULL, 7), -EINVAL);
	assert_int_equal(fanguard_set_fuse_event_mask(fg, "/a", FANGUARD_FUSE_EVENT_MASK_ACCESS),
			 0);
	assert_int_equal(fanguard_set_fuse_event_mask(fg, NULL, FANGUARD_FUSE_EVENT_MASK_OPEN), 0);
	assert_int_equal(emask_configured(fg, "/a"), FANGUARD_FUSE_EVENT_MASK_ACCESS);
	assert_int_equal(emask_configured(fg, "/b"), FANGUARD_FUSE_EVENT_MASK_OPEN);
	assert_null(fanguard_free(fg));
}

static bool refused_2(void *arg)
{
	(void) arg;
	return F.n_refused >= 2;
}

/* The index in F.mark_log of the first call with these flags and mask bits
 * after `from`, or -1. */
static int mark_logged(unsigned from, unsigned flags, uint64_t mask)
{
	int r = -1;

	pthread_mutex_lock(&F.lock);
	for (unsigned i = from; i < F.n_mark_log && r < 0; i++)
		if ((F.mark_log[i].flags & flags) == flags && (F.mark_log[i].mask & mask) == mask)
			r = (int) i;
	pthread_mutex_unlock(&F.lock);
	return r;
}

/* auto: two read()s of a FUSE group that block > 1 s and fail (the daemon
 * refused the kernel's open) switch it to the access mask, the new mark in
 * before the old events go; then a clean read scan adds a short-lived
 * ignore mark (never for an exec or a deny), flushed at the TTL. */
static void test_emask_auto_switch_and_dedup(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanotify_event_metadata m = {
		.event_len = sizeof(m),
		.vers = FANOTIFY_METADATA_VERSION,
		.metadata_len = sizeof(m),
		.fd = REFUSE_FD,
		.pid = 1,
	};
	uint64_t mnt_id = 0, unique = 0;
	size_t rd, ex, bad;
	struct fanguard *fg;
	struct domain *d;
	int fd, add, rem, sock;
	unsigned from;

	(void) state;
	fc.deadline_ms = 15000;
	fg = listener_new_fuse(&o, &fc);
	/* A real mount id and path, so the switch can re-open the "mount". */
	fd = open(F.dir, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fd_mount_id(fd, &mnt_id, &unique), 0);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, mnt_id, 0, NULL);
	assert_non_null(d);
	pthread_mutex_lock(&fg->lock);
	emask_domain_init(d, F.dir);
	pthread_mutex_unlock(&fg->lock);
	assert_true(d->emask_auto);
	assert_false(atomic_load(&d->emask_access));
	assert_int_equal(domain_mark(d, fd, 0), 0);
	(void) close(fd);
	assert_int_equal(mark_logged(0, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_PERM), 0);
	from = F.n_mark_log;

	pthread_mutex_lock(&F.lock);
	sock = F.inject[d->group_fd];
	pthread_mutex_unlock(&F.lock);
	assert_int_equal(send(sock, &m, sizeof(m), 0), (ssize_t) sizeof(m));
	assert_int_equal(send(sock, &m, sizeof(m), 0), (ssize_t) sizeof(m));
	assert_true(wait_for(refused_2, NULL));
	assert_int_equal(stat_wait(fg, "event_mask_switches", NULL, 1), 1);
	assert_int_equal(stat_value(fg, "open_refusals", NULL), 2);
	assert_int_equal(stat_value(fg, "mounts_access_mask", NULL), 1);
	assert_true(atomic_load(&d->emask_access));
	assert_non_null(strstr(d->emask_why[1], "refused"));
	add = mark_logged(from, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_ACCESS_PERM);
	rem = mark_logged(from, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM, FAN_OPEN_PERM);
	assert_true(add >= 0);
	assert_true(rem > add); /* no gap: added first */
	pthread_mutex_lock(&F.lock);
	assert_false(F.mark_log[rem].mask & (FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM));
	pthread_mutex_unlock(&F.lock);

	/* Dedup: an allowed read gets an ignore mark; an exec and a denied
	 * read do not. */
	from = F.n_mark_log;
	ex = inject_mask(d, B_ALLOW, false, false, FAN_OPEN_EXEC_PERM);
	bad = inject_mask(d, B_DENY, false, false, FAN_ACCESS_PERM);
	assert_true(wait_for(answered, (void *) (uintptr_t) ex));
	assert_true(wait_for(answered, (void *) (uintptr_t) bad));
	assert_int_equal(mark_logged(from, FAN_MARK_ADD | FAN_MARK_IGNORE, 0), -1);
	rd = inject_mask(d, B_ALLOW, false, false, FAN_ACCESS_PERM);
	assert_true(wait_for(answered, (void *) (uintptr_t) rd));
	assert_int_equal(verdict_of(rd), FAN_ALLOW);
	assert_int_equal(verdict_of(bad), FAN_DENY);
	assert_int_equal(stat_wait(fg, "dedup_marks", NULL, 1), 1);
	add = mark_logged(from, FAN_MARK_ADD | FAN_MARK_IGNORE, FAN_ACCESS_PERM);
	assert_true(add >= 0);
	pthread_mutex_lock(&F.lock);
	assert_int_equal(F.mark_log[add].mask, FAN_ACCESS_PERM);
	pthread_mutex_unlock(&F.lock);
	/* Gone at the TTL. */
	assert_int_equal(stat_wait(fg, "dedup_flushes", NULL, 1), 1);
	assert_true(mark_logged((unsigned) add, FAN_MARK_FLUSH, 0) > add);
	domain_unref(d);
	listener_done(fg);
}

/* Waiters of d's scans in flight (flight.c). */
static unsigned flight_waiters(struct domain *d)
{
	unsigned n = 0;

	pthread_mutex_lock(&d->lock);
	for (struct flight *f = d->flights; f; f = f->next)
		n += (unsigned) f->n_waiters;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static bool wait_flight_waiters(struct domain *d, unsigned want)
{
	usec_t end = deadline_after(WAIT_USEC);

	while (flight_waiters(d) != want && !deadline_passed(end))
		(void) usleep(1000);
	return flight_waiters(d) == want;
}

static unsigned n_scans_of(size_t i)
{
	unsigned n;

	pthread_mutex_lock(&F.lock);
	n = F.ev[i].n_scans;
	pthread_mutex_unlock(&F.lock);
	return n;
}

/* An access-mask FUSE domain (configured) with fc's settings, started. */
static struct domain *access_domain(struct fanguard **ret_fg, struct fanguard_class_options *fc)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct domain *d;

	*ret_fg = listener_new_fuse(&o, fc);
	assert_int_equal(
		fanguard_set_fuse_event_mask(*ret_fg, F.dir, FANGUARD_FUSE_EVENT_MASK_ACCESS), 0);
	assert_int_equal(fanguard_start(*ret_fg), 0);
	d = fuse_domain(*ret_fg, 4300, 0, NULL);
	assert_non_null(d);
	pthread_mutex_lock(&(*ret_fg)->lock);
	emask_domain_init(d, F.dir);
	pthread_mutex_unlock(&(*ret_fg)->lock);
	assert_true(atomic_load(&d->emask_access));
	return d;
}

/* One round: a read whose scan hangs, then behaves as lead; 3 more reads
 * of the same file meanwhile wait for it (never scanned themselves) and
 * get its verdict (want), while an exec of the file is scanned on its own. */
static void flight_round(struct fanguard *fg, struct domain *d, enum behave lead, unsigned want,
			 uint64_t coalesced_before)
{
	size_t first, w[3], ex;

	pthread_mutex_lock(&F.lock);
	F.release = false;
	pthread_mutex_unlock(&F.lock);
	first = inject_mask(d, lead, false, false, FAN_ACCESS_PERM);
	assert_true(wait_for(hanging_scans_1, NULL));
	for (size_t i = 0; i < ELEMENTSOF(w); i++)
		w[i] = inject_mask(d, B_ALLOW, false, false, FAN_ACCESS_PERM);
	assert_true(wait_flight_waiters(d, ELEMENTSOF(w)));
	ex = inject_mask(d, B_ALLOW, false, false, FAN_OPEN_EXEC_PERM);
	assert_true(wait_for(answered, (void *) (uintptr_t) ex));
	assert_int_equal(n_scans_of(ex), 1);
	for (size_t i = 0; i < ELEMENTSOF(w); i++)
		assert_false(answered((void *) (uintptr_t) w[i])); /* racy read: fine */
	release_all();
	for (size_t i = 0; i < ELEMENTSOF(w); i++)
		assert_true(wait_for(answered, (void *) (uintptr_t) w[i]));
	assert_true(wait_for(no_hangs, NULL));
	assert_int_equal(verdict_of(first), want);
	for (size_t i = 0; i < ELEMENTSOF(w); i++) {
		assert_int_equal(verdict_of(w[i]), want);
		assert_int_equal(n_scans_of(w[i]), 0);
	}
	assert_int_equal(stat_wait(fg, "coalesced", NULL, coalesced_before + 3),
			 coalesced_before + 3);
	assert_int_equal(flight_waiters(d), 0);
}

/* Access-mask groups: reads of a file whose scan is in flight wait for
 * that scan instead of a scan each (flight.c): a clean scan allows them
 * all, a deny denies them all, an error gives each its default verdict
 * (reason error), each answered exactly once and counted. */
static void test_flight_coalesces_reads(void **state)
{
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;

	(void) state;
	fc.deadline_ms = 15000;
	fc.n_workers = 3;
	d = access_domain(&fg, &fc);
	flight_round(fg, d, B_HANG, FAN_ALLOW, 0);
	flight_round(fg, d, B_HANG_DENY, FAN_DENY, 3);
	assert_int_equal(stat_value(fg, "verdicts", "error"), 0);
	flight_round(fg, d, B_HANG_ERROR, FAN_ALLOW, 6);
	assert_int_equal(stat_wait(fg, "verdicts", "error", 4), 4);
	domain_unref(d);
	listener_done(fg);
}

/* A waiter keeps its own deadline: the keeper answers it while the scan it
 * waits for hangs; the scan's verdict then answers nothing twice. */
static void test_flight_waiter_deadline(void **state)
{
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t first, w;

	(void) state;
	fc.deadline_ms = 300;
	fc.n_workers = 2;
	d = access_domain(&fg, &fc);
	first = inject_mask(d, B_HANG_DENY, false, false, FAN_ACCESS_PERM);
	assert_true(wait_for(hanging_scans_1, NULL));
	w = inject_mask(d, B_ALLOW, false, false, FAN_ACCESS_PERM);
	assert_true(wait_for(answered, (void *) (uintptr_t) first));
	assert_true(wait_for(answered, (void *) (uintptr_t) w));
	assert_int_equal(verdict_of(w), FAN_ALLOW); /* the class default, at its deadline */
	assert_int_equal(stat_wait(fg, "verdicts", "deadline", 2), 2);
	release_all();
	assert_true(wait_for(no_hangs, NULL));
	assert_int_equal(stat_value(fg, "coalesced", NULL), 0);
	domain_unref(d);
	listener_done(fg);
}

/* A worker stuck in close() of an event fd (FUSE_FLUSH): visible, counted,
 * replaced; the next events are scanned. */
static void test_close_hangs(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard_class_options fc = {.size = sizeof(fc)};
	struct fanguard *fg;
	struct domain *d;
	size_t later;

	(void) state;
	fc.n_workers = 1;
	fg = listener_new_fuse(&o, &fc);
	assert_int_equal(fanguard_start(fg), 0);
	d = fuse_domain(fg, 4006, 0, NULL);
	assert_non_null(d);
	(void) inject(d, B_ALLOW, false, true);
	assert_true(wait_for(hanging_closes_1, NULL));
	later = inject(d, B_DENY, false, false);
	assert_true(wait_for(answered, (void *) (uintptr_t) later));
	assert_int_equal(verdict_of(later), FAN_DENY);
	assert_int_equal(stat_wait(fg, "workers_stuck_in_close", NULL, 1), 1);
	assert_int_equal(stat_wait(fg, "threads_stuck", "close", 1), 1);
	/* Stop cannot finish while the close hangs; every event is answered. */
	assert_int_equal(fanguard_stop(fg, 200), -ETIMEDOUT);
	domain_unref(d);
	listener_done(fg);
}

/* The thread budget: a mount owner's share caps its groups; a domain whose
 * start fails part way (some threads running) is stopped and freed
 * cleanly (the partial-start use-after-free, under ASan). */
static void test_budget_and_partial_start(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	struct fanguard *fg;
	struct domain *a, *b, *c;
	int r;

	(void) state;
	/* A FUSE group: 2 workers + 1 reader + keeper = 4 threads. */
	o.max_threads_per_owner = 6;
	fg = listener_new(&o);
	assert_int_equal(fanguard_start(fg), 0);
	a = fuse_domain(fg, 4007, 1000, &r);
	assert_int_equal(r, 0);
	/* The second group of uid 1000 starts 2 threads, then hits the share:
	 * the mount is covered by the shared group of its depth instead
	 * (charged to the listener, not to uid 1000). */
	b = fuse_domain(fg, 4008, 1000, &r);
	assert_int_equal(r, 0);
	assert_non_null(b);
	assert_true(b->shared);
	assert_int_equal(b->owner, 0);
	assert_true(stat_wait(fg, "threads_refused", NULL, 1) >= 1);
	/* The next one of uid 1000 shares it too. */
	c = fuse_domain(fg, 4010, 1000, &r);
	assert_int_equal(r, 0);
	assert_ptr_equal(c, b);
	domain_unref(c);
	assert_int_equal(stat_value(fg, "uncovered", "thread-budget"), 0);
	/* Another owner is not affected: a group of its own. */
	c = fuse_domain(fg, 4009, 1001, &r);
	assert_int_equal(r, 0);
	assert_false(c->shared);
	(void) inject(c, B_DENY, false, false);
	(void) inject(b, B_DENY, false, false);
	(void) inject(a, B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	domain_unref(a);
	domain_unref(b);
	domain_unref(c);
	listener_done(fg);
}

/* Groups are planned: own groups up to max_groups less the shared reserve,
 * then one shared group per FUSE nesting depth; never more than max_groups. */
static void test_groups_planned(void **state)
{
	struct fanguard_options o = {.size = sizeof(o), .max_groups = 6};
	struct domain *d[N_PLANNED], *deep;
	unsigned own = 0;
	struct fanguard *fg;
	int r;

	(void) state;
	fg = listener_new(&o);
	assert_int_equal(fanguard_start(fg), 0);
	assert_int_equal(stat_value(fg, "groups_planned", NULL), 6);
	for (unsigned i = 0; i < N_PLANNED; i++) {
		d[i] = fuse_domain_at(fg, 5000 + i, 1, &r);
		assert_int_equal(r, 0);
		own += !d[i]->shared;
		if (d[i]->shared)
			assert_int_equal(d[i]->depth, 1);
	}
	/* Every shared one is the same group. */
	for (unsigned i = 0; i < N_PLANNED; i++)
		for (unsigned k = 0; k < N_PLANNED; k++)
			if (d[i]->shared && d[k]->shared)
				assert_ptr_equal(d[i], d[k]);
	assert_true(own >= 1 && own <= 6 - 1 - 2);
	assert_true(d[N_PLANNED - 1]->shared);
	/* An overlay over FUSE never shares its lower layer's group. */
	deep = fuse_domain_at(fg, 6000, 2, &r);
	assert_int_equal(r, 0);
	assert_true(deep->shared);
	assert_int_equal(deep->depth, 2);
	assert_ptr_not_equal(deep, d[N_PLANNED - 1]);
	assert_true(stat_value(fg, "groups", NULL) <= 6);
	(void) inject(deep, B_DENY, false, false);
	(void) inject(d[N_PLANNED - 1], B_ALLOW, false, false);
	assert_true(wait_for(all_answered, NULL));
	for (unsigned i = 0; i < N_PLANNED; i++)
		domain_unref(d[i]);
	domain_unref(deep);
	listener_done(fg);
}

/* EMFILE from fanotify_init: a mount falls back to the shared group; when
 * that cannot be made either, the error reaches the caller. */
static void test_group_limit_falls_back(void **state)
{
	struct fanguard *fg;
	struct domain *a, *b;
	int r;

	(void) state;
	fg = listener_new(NULL);
	assert_int_equal(fanguard_start(fg), 0);
	a = fuse_domain_at(fg, 7001, 1, &r);
	assert_int_equal(r, 0);
	assert_false(a->shared);
	F.fail_init = EMFILE;
	b = fuse_domain_at(fg, 7002, 1, &r);
	assert_null(b);
	assert_int_equal(r, -EMFILE);
	assert_int_equal(uncovered_cause_of_errno(r), UNCOVERED_GROUP_LIMIT);
	F.fail_init = 0;
	b = fuse_domain_at(fg, 7002, 1, &r);
	assert_int_equal(r, 0);
	domain_unref(b);
	domain_unref(a);
	listener_done(fg);
}

static void count_lines(void *userdata, int prio, const char *msg)
{
	(void) userdata;
	(void) prio;
	pthread_mutex_lock(&F.lock);
	if (strstr(msg, "is NOT covered (cause: group-limit"))
		F.n_not_covered_lines++;
	if (strstr(msg, "more mounts are NOT covered"))
		F.n_summary_lines++;
	pthread_mutex_unlock(&F.lock);
}

static int count_uncovered(void *userdata, const struct fanguard_uncovered_info *u)
{
	assert_string_equal(u->cause, "group-limit");
	assert_int_equal(u->error, EMFILE);
	assert_non_null(strstr(u->hint, "fs.fanotify.max_user_groups"));
	(*(unsigned *) userdata)++;
	return 0;
}

/* 300 mounts uncovered, each reported on every rescan: a few lines, one
 * summary per pass, never a line per mount per pass; the gauge and the list
 * hold each mount once. */
static void test_uncovered_is_loud_and_bounded(void **state)
{
	struct fanguard_options o = {.size = sizeof(o), .log_fn = count_lines};
	struct fanguard *fg;
	unsigned n = 0;
	char mp[64];

	(void) state;
	fg = listener_new(&o);
	assert_int_equal(fanguard_start(fg), 0);
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < 300; i++) {
			snprintf(mp, sizeof(mp), "/m/%u", i);
			coverage_report_uncovered(fg, 9000 + i, mp, UNCOVERED_GROUP_LIMIT, -EMFILE);
		}
		coverage_summarise(fg);
	}
	assert_int_equal(stat_value(fg, "uncovered", "group-limit"), 300);
	assert_int_equal(stat_value(fg, "uncovered", "mark-limit"), 0);
	assert_int_equal(stat_value(fg, "uncovered_reports", NULL), 900);
	assert_int_equal(fanguard_foreach_uncovered(fg, count_uncovered, &n), 0);
	assert_int_equal(n, 300);
	coverage_report_covered(fg, 9000);
	assert_int_equal(stat_value(fg, "uncovered", "group-limit"), 299);
	listener_done(fg); /* drains the log */
	assert_int_equal(F.n_not_covered_lines, 5);
	assert_int_equal(F.n_summary_lines, 1);
}

/* Out of marks (no FAN_UNLIMITED_MARKS): the coverage mark evicts the
 * verdict cache and goes in. */
static void test_mark_enospc_evicts_cache(void **state)
{
	struct fanguard *fg;
	struct domain *d, *lo;
	int fd, r;

	(void) state;
	fg = listener_new(NULL);
	assert_int_equal(fanguard_start(fg), 0);
	{
		bool created;

		pthread_mutex_lock(&fg->lock);
		/* the one that holds cache marks */
		assert_int_equal(
			registry_get_locked(fg, FANGUARD_MOUNT_LOCAL, 0, 0, 0, 0, 0, &lo, &created),
			0);
		pthread_mutex_unlock(&fg->lock);
	}
	d = fuse_domain_at(fg, 8001, 1, &r);
	assert_int_equal(r, 0);
	fd = open(F.dir, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	F.fail_mark_enospc = 1;
	pthread_mutex_lock(&fg->lock);
	r = domain_mark(d, fd, 0);
	pthread_mutex_unlock(&fg->lock);
	assert_int_equal(r, 0);
	assert_int_equal(stat_value(fg, "cache_evictions", NULL), 1);
	assert_true(F.n_inode_flushes >= 1);
	/* Twice in a row: the error is the caller's (and a cause). */
	F.fail_mark_enospc = 2;
	pthread_mutex_lock(&fg->lock);
	r = domain_mark(d, fd, 0);
	pthread_mutex_unlock(&fg->lock);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(uncovered_cause_of_errno(r), UNCOVERED_MARK_LIMIT);
	close(fd);
	domain_unref(d);
	domain_unref(lo);
	listener_done(fg);
}

struct race {
	struct fanguard *fg;
	int path_fd;
	_Atomic bool stop;
	_Atomic unsigned placed, released;
};

static void *race_watcher(void *arg)
{
	struct race *x = arg;

	while (!atomic_load(&x->stop)) {
		struct mount_entry me = {.mnt_id = 4242,
					 .major = 0,
					 .minor = 42,
					 .mount_point = (char *) "/x",
					 .fstype = (char *) "fuse.t",
					 .class = MOUNT_CLASS_FUSE};
		struct fg_watch *w = watch_record_new("/x", &me, FANGUARD_MOUNT_FUSE, 0);
		struct domain *d;

		if (watch_place(x->fg, x->path_fd, FANGUARD_MOUNT_FUSE, 4242, 0, 42, 0, 1, w, 0, &d,
				NULL) >= 0) {
			/* Use it after a release may have run: it must still be there. */
			(void) atomic_load(&d->stats.read);
			domain_unref(d);
			watch_record_commit(x->fg, w);
			atomic_fetch_add(&x->placed, 1);
		}
	}
	return NULL;
}

static void *race_releaser(void *arg)
{
	struct race *x = arg;

	while (!atomic_load(&x->stop)) {
		struct domain *d = NULL;

		pthread_mutex_lock(&x->fg->lock);
		for (struct domain *i = x->fg->domains; i; i = i->next)
			if (i->mnt_id == 4242) {
				d = i;
				domain_ref(d);
				break;
			}
		pthread_mutex_unlock(&x->fg->lock);
		if (d) {
			registry_release(x->fg, d);
			domain_unref(d);
			atomic_fetch_add(&x->released, 1);
		}
	}
	return NULL;
}

/* A watch racing the release of its mount's group, with the mount id
 * reused: never a use-after-free (ASan), and a released group is never
 * handed out again. */
static void test_watch_races_release(void **state)
{
	struct race x = {};
	pthread_t t1, t2;
	usec_t end;

	(void) state;
	x.fg = listener_new(NULL);
	assert_int_equal(fanguard_start(x.fg), 0);
	x.path_fd = open(F.dir, O_PATH | O_CLOEXEC);
	assert_true(x.path_fd >= 0);
	assert_int_equal(pthread_create(&t1, NULL, race_watcher, &x), 0);
	assert_int_equal(pthread_create(&t2, NULL, race_releaser, &x), 0);
	end = deadline_after(USEC_PER_SEC);
	while (!deadline_passed(end) || atomic_load(&x.placed) < 3 || atomic_load(&x.released) < 3)
		(void) usleep(10 * 1000);
	atomic_store(&x.stop, true);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_mutex_lock(&x.fg->lock);
	for (struct domain *i = x.fg->domains; i; i = i->next)
		assert_false(i->released);
	pthread_mutex_unlock(&x.fg->lock);
	close(x.path_fd);
	listener_done(x.fg);
}

/* --- building blocks ------------------------------------------------------------ */

static void test_heap_order(void **state)
{
	struct inflight h = {};
	struct fg_event ev[500];
	usec_t last = 0;

	(void) state;
	srand(7);
	for (int i = 0; i < 500; i++) {
		event_init(&ev[i], -1, 1, 0, 0);
		ev[i].deadline_usec = (usec_t) (rand() % 1000);
		assert_int_equal(inflight_add(&h, &ev[i]), 0);
	}
	/* Remove some from the middle, as answering workers do. */
	for (int i = 0; i < 500; i += 3)
		inflight_remove(&h, &ev[i]);
	while (inflight_peek(&h)) {
		struct fg_event *e = inflight_peek(&h);

		assert_true(e->deadline_usec >= last);
		last = e->deadline_usec;
		inflight_remove(&h, e);
		assert_int_equal(e->heap_idx, -1);
	}
	assert_int_equal(h.n, 0);
	inflight_done(&h);
}

static void test_claim_once(void **state)
{
	struct fg_event ev;

	(void) state;
	event_init(&ev, -1, 1, 0, 0);
	assert_true(event_claim(&ev));
	assert_false(event_claim(&ev));
}

struct snap_obj {
	struct snapshot s;
	unsigned value;
	_Atomic unsigned *freed;
};

static void snap_free(struct snapshot *s)
{
	struct snap_obj *o = snapshot_container(s, struct snap_obj);

	atomic_fetch_add(o->freed, 1);
	free(o);
}

struct snap_test {
	struct snapshot_slot slot;
	_Atomic bool stop;
	_Atomic unsigned freed;
};

static void *snap_reader(void *arg)
{
	struct snap_test *t = arg;
	unsigned last = 0;

	while (!atomic_load(&t->stop)) {
		struct snapshot *s = snapshot_get(&t->slot);
		struct snap_obj *o = snapshot_container(s, struct snap_obj);

		/* Values only grow: a reader never sees an older snapshot. */
		assert_true(o->value >= last);
		last = o->value;
		snapshot_put(s);
	}
	return NULL;
}

/* Readers never wait on writers, never see freed memory (ASan), and every
 * replaced snapshot is freed exactly once. */
static void test_snapshot_swap(void **state)
{
	struct snap_test t = {};
	pthread_t r[3];
	struct snap_obj *o = calloc(1, sizeof(*o));

	(void) state;
	o->freed = &t.freed;
	snapshot_init(&o->s, snap_free);
	snapshot_slot_init(&t.slot, &o->s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&r[i], NULL, snap_reader, &t), 0);
	for (unsigned v = 1; v <= 2000; v++) {
		struct snap_obj *n = calloc(1, sizeof(*n));

		n->value = v;
		n->freed = &t.freed;
		snapshot_init(&n->s, snap_free);
		snapshot_write_lock(&t.slot);
		snapshot_publish(&t.slot, &n->s);
		snapshot_write_unlock(&t.slot);
	}
	atomic_store(&t.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	assert_int_equal(atomic_load(&t.freed), 2000);
	snapshot_slot_done(&t.slot);
	assert_int_equal(atomic_load(&t.freed), 2001);
}

static void test_stats_table(void **state)
{
	size_t n = fanguard_stats_count();
	struct fanguard_stat_info old = {.size = offsetof(struct fanguard_stat_info, kind)};

	(void) state;
	assert_true(n > 20);
	for (size_t i = 0; i < n; i++) {
		struct fanguard_stat_info a = {.size = sizeof(a)};

		assert_int_equal(fanguard_stat_describe(i, &a), 0);
		assert_non_null(a.name);
		assert_non_null(a.help);
		assert_true(a.kind == FANGUARD_STAT_COUNTER || a.kind == FANGUARD_STAT_GAUGE);
		assert_true(!a.label_name == !a.label_value);
		/* Unique (name, label value). */
		for (size_t j = 0; j < i; j++) {
			struct fanguard_stat_info b = {.size = sizeof(b)};

			assert_int_equal(fanguard_stat_describe(j, &b), 0);
			assert_false(strcmp(a.name, b.name) == 0 &&
				     (!a.label_value || strcmp(a.label_value, b.label_value) == 0));
		}
	}
	assert_int_equal(fanguard_stat_describe(n, &old), -ERANGE);
	/* An older caller's shorter struct is filled only as far as it goes. */
	assert_int_equal(fanguard_stat_describe(0, &old), 0);
	assert_int_equal(old.size, offsetof(struct fanguard_stat_info, kind));
	assert_string_equal(old.name, "events_read");
}

/* fanguard_scan_fd(): an fd the caller opened goes through the scanners
 * (here the denylist, then the test scanner, which errs on an fd it did not
 * inject) without any group, before and after start; a bad fd is refused. */
static void test_scan_fd(void **state)
{
	static const uint8_t
		digest
			[1][32] = {{0x43, 0x47, 0x28, 0xa4, 0x10, 0xa7, 0x8f, 0x56, 0xfc,
				    0x1b, 0x58, 0x99, 0xc3, 0x59, 0x34, 0x36, 0xe6, 0x1a,
				    0xb0, 0xc7, 0x31, 0xe9, 0x07, 0x2d, 0x95, 0xe9, 0x6d,
				    0xb2, 0x90, 0x20, 0x5e, 0x53}}; /* SHA-256 of "content\n", the listener's test file */
	struct fanguard_scan_info info = {.size = sizeof(info)};
	struct fanguard *fg;
	int fd, pfd, pipefd[2];
	char p[128];

	(void) state;
	fg = listener_new(NULL);
	snprintf(p, sizeof(p), "%s/f", F.dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	pfd = open(p, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0 && pfd >= 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);

	/* No digests: the denylist is idle, the test scanner cannot decide. */
	assert_int_equal(fanguard_scan_fd(fg, fd, 1000, &info), 0);
	assert_int_equal(info.reason, FANGUARD_REASON_ERROR);
	assert_string_equal(info.scanner, "test");
	assert_string_equal(info.detail, "injected");
	assert_int_equal(info.mount_class, FANGUARD_MOUNT_LOCAL);

	assert_true(fanguard_deny_sha256(fg, digest, 1) >= 0);
	assert_int_equal(fanguard_start(fg), 0);
	info = (struct fanguard_scan_info){.size = sizeof(info)};
	assert_int_equal(fanguard_scan_fd(fg, fd, 1000, &info), 0);
	assert_int_equal(info.reason, FANGUARD_REASON_SCANNED);
	assert_int_equal(info.verdict, FANGUARD_DENY);
	assert_string_equal(info.scanner, "sha256");
	assert_string_equal(info.detail,
			    "434728a410a78f56fc1b5899c3593436e61ab0c731e9072d95e96db290205e53");
	/* The bytes read count, on no group. */
	assert_true(stat_wait(fg, "bytes_scanned", NULL, 8) >= 8);
	assert_int_equal(stat_value(fg, "events_read", NULL), 0);

	assert_int_equal(fanguard_scan_fd(fg, pipefd[0], 1000, &info), -EBADFD);
	assert_int_equal(fanguard_scan_fd(fg, pfd, 1000, &info), -EBADF);
	assert_int_equal(fanguard_scan_fd(fg, fd, 0, &info), -EINVAL);
	assert_int_equal(fanguard_scan_fd(fg, -1, 1000, &info), -EINVAL);
	assert_int_equal(fanguard_scan_fd(NULL, fd, 1000, &info), -EINVAL);
	info.size = 4;
	assert_int_equal(fanguard_scan_fd(fg, fd, 1000, &info), -EINVAL);
	info.size = sizeof(info);
	assert_int_equal(fanguard_stop(fg, 1000), 0);
	assert_int_equal(fanguard_scan_fd(fg, fd, 1000, &info), -ESHUTDOWN);
	close(fd);
	close(pfd);
	close(pipefd[0]);
	close(pipefd[1]);
	listener_done(fg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_claim_once),
		cmocka_unit_test(test_snapshot_swap),
		cmocka_unit_test(test_stats_table),
		cmocka_unit_test_setup_teardown(test_scan_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_before_start_and_verdicts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inline_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scanner_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuse_user_exec_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_worker_stuck_in_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overload_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_mid_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_stuck_in_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_hangs, setup, teardown),
		cmocka_unit_test(test_emask_rules),
		cmocka_unit_test_setup_teardown(test_emask_auto_switch_and_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_coalesces_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_waiter_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_and_partial_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_planned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_limit_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncovered_is_loud_and_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mark_enospc_evicts_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_races_release, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
