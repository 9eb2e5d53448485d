/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the embedder's scanner callbacks (scan-callback.c) through
 * the dispatcher: what a callback is told, how its answers compose with the
 * built-in engines, its cache control, registration at run time (release
 * runs once, after the last call in flight, also when a callback removes
 * itself), and the border checks of the public calls. Unprivileged: events
 * are stood in for by plain fds of temporary files, as in test-scan.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fanguard-internal.h"

static int tmpfile_with(const char *content)
{
	char path[] = "/dev/shm/fg-test-cb-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	(void) unlink(path);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
	return fd;
}

/* Runs the dispatcher on fd as an event of class cls from this process. */
static void scan_fd(struct fanguard *fg, int fd, enum fanguard_mount_class cls,
		    unsigned deadline_ms, struct scan_result *res)
{
	static uint8_t buf[65536];
	struct domain *d = calloc(1, sizeof(*d));
	struct fg_event ev = {.fd = fd, .pid = getpid(), .mask = 0x10000};
	struct stat st;

	assert_non_null(d);
	assert_int_equal(fstat(fd, &st), 0);
	d->fg = fg;
	d->cls = cls;
	d->default_verdict = FANGUARD_ALLOW;
	ev.size = (uint64_t) st.st_size;
	ev.received_usec = now_usec();
	ev.deadline_usec = ev.received_usec + deadline_ms * USEC_PER_MSEC;
	scan_event(d, &ev, buf, sizeof(buf), false, res);
	free(d);
}

/* A scanner that denies files containing "EVIL", and records its calls. */
struct marker {
	_Atomic unsigned calls, releases;
	struct fanguard_scan_request last;
	char last_path[256];
	int ret;	  /* if non-zero: return this instead */
	uint32_t flags;	  /* FANGUARD_SCAN_RESULT_* to set */
	unsigned hold_ms; /* sleep this long in each call */
	struct fanguard *remove_fg;
	uint64_t remove_id; /* remove this scanner from inside the call */
};

static int marker_scan(void *userdata, const struct fanguard_scan_request *req,
		       struct fanguard_scan_result *res)
{
	struct marker *m = userdata;
	char data[256];
	ssize_t n;

	atomic_fetch_add(&m->calls, 1);
	m->last = *req;
	(void) snprintf(m->last_path, sizeof(m->last_path), "%s", req->path);
	if (m->remove_id)
		assert_int_equal(fanguard_remove_scanner(m->remove_fg, m->remove_id), 0);
	if (m->hold_ms)
		usleep(m->hold_ms * 1000);
	if (m->ret)
		return m->ret;
	assert_int_equal(res->size, sizeof(*res));
	res->flags = m->flags;
	n = pread(req->fd, data, sizeof(data) - 1, 0);
	if (n < 0)
		return -errno;
	data[n] = '\0';
	if (strstr(data, "EVIL")) {
		(void) snprintf(res->detail, sizeof(res->detail), "marker at %td",
				strstr(data, "EVIL") - data);
		return FANGUARD_DENY;
	}
	return FANGUARD_ALLOW;
}

static void marker_release(void *userdata)
{
	struct marker *m = userdata;

	atomic_fetch_add(&m->releases, 1);
}

static const struct fanguard_scanner_ops marker_ops = {
	.size = sizeof(struct fanguard_scanner_ops),
	.name = "marker",
	.scan = marker_scan,
	.release = marker_release,
};

static void test_deny_then_remove(void **state)
{
	struct fanguard *fg = NULL;
	struct marker m = {0};
	struct scan_result res;
	int evil = tmpfile_with("harmless, then EVIL"), clean = tmpfile_with("harmless");
	uint64_t id = 0, gen;
	usec_t before;

	(void) state;
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	gen = cache_gen(fg);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), 0);
	assert_true(id != 0);
	/* Files found clean before were never shown to the new scanner. */
	assert_true(cache_gen(fg) != gen);
	pthread_rwlock_rdlock(&fg->cfg_lock);
	assert_true(scan_needed(fg, NULL));
	pthread_rwlock_unlock(&fg->cfg_lock);

	before = now_usec();
	scan_fd(fg, evil, FANGUARD_MOUNT_FUSE, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_int_equal(res.reason, FANGUARD_REASON_SCANNED);
	assert_string_equal(res.scanner, "marker");
	assert_string_equal(res.detail, "marker at 15");
	/* What it was told. */
	assert_int_equal(m.last.size, sizeof(struct fanguard_scan_request));
	assert_int_equal(m.last.file_size, strlen("harmless, then EVIL"));
	assert_int_equal(m.last.pid, getpid());
	assert_int_equal(m.last.uid, geteuid());
	assert_int_equal(m.last.mask, 0x10000);
	assert_int_equal(m.last.mount_class, FANGUARD_MOUNT_FUSE);
	assert_true(m.last.deadline_usec > before);
	assert_true(m.last.deadline_usec <= before + 1000 * USEC_PER_MSEC);
	assert_non_null(strstr(m.last_path, "/dev/shm/fg-test-cb-"));

	scan_fd(fg, clean, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_int_equal(res.reason, FANGUARD_REASON_SCANNED);
	assert_false(res.no_cache);
	assert_int_equal(m.calls, 2);

	/* Unregistered: no longer asked, released once. */
	assert_int_equal(fanguard_remove_scanner(fg, id), 0);
	assert_int_equal(m.releases, 1);
	assert_int_equal(fanguard_remove_scanner(fg, id), -ENOENT);
	pthread_rwlock_rdlock(&fg->cfg_lock);
	assert_false(scan_needed(fg, NULL));
	pthread_rwlock_unlock(&fg->cfg_lock);
	scan_fd(fg, evil, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_int_equal(res.reason, FANGUARD_REASON_NO_SCANNER);
	assert_int_equal(m.calls, 2);
	fanguard_free(fg);
	assert_int_equal(m.releases, 1);
	close(evil);
	close(clean);
}

/* Errors and late answers get the default verdict, named and counted as
 * such; an unknown return value is an error, never a verdict. */
static void test_errors(void **state)
{
	struct fanguard *fg = NULL;
	struct marker m = {0};
	struct scan_result res;
	int fd = tmpfile_with("EVIL");
	uint64_t id;

	(void) state;
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), 0);
	m.ret = -EIO;
	scan_fd(fg, fd, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW); /* the default */
	assert_int_equal(res.reason, FANGUARD_REASON_ERROR);
	assert_string_equal(res.scanner, "marker");
	assert_non_null(strstr(res.detail, "Input/output error"));
	m.ret = 42;
	scan_fd(fg, fd, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.reason, FANGUARD_REASON_ERROR);
	assert_string_equal(res.detail, "bad verdict 42");
	m.ret = -ETIMEDOUT;
	scan_fd(fg, fd, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.reason, FANGUARD_REASON_DEADLINE);
	/* Not even started when the deadline has passed. */
	m.ret = 0;
	scan_fd(fg, fd, FANGUARD_MOUNT_LOCAL, 0, &res);
	assert_int_equal(res.reason, FANGUARD_REASON_DEADLINE);
	fanguard_free(fg);
	close(fd);
}

/* Two scanners compose: any deny wins, whatever the order; an error in one
 * does not hide the other's deny. Cache control: a clean verdict is cached
 * only if no engine (built-in or callback) said not to. */
static void test_compose_and_cache(void **state)
{
	static const uint8_t other[1][32] = {{1, 2, 3}};
	struct fanguard_scanner_ops nocache_ops = marker_ops;
	struct fanguard *fg = NULL;
	struct marker a = {.ret = -EIO}, b = {0};
	struct scan_result res;
	int evil = tmpfile_with("EVIL"), clean = tmpfile_with("fine");
	uint64_t ia, ib;

	(void) state;
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	/* The SHA-256 engine runs first (its list is not empty) and allows. */
	assert_int_equal(fanguard_deny_sha256(fg, other, 1), 0);
	nocache_ops.name = "first";
	assert_int_equal(fanguard_add_scanner(fg, &nocache_ops, &a, &ia), 0);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &b, &ib), 0);
	scan_fd(fg, evil, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_DENY);
	assert_string_equal(res.scanner, "marker");
	a.ret = 0;
	scan_fd(fg, clean, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_int_equal(res.reason, FANGUARD_REASON_SCANNED);
	assert_false(res.no_cache);
	/* One verdict says "do not cache this one". */
	b.flags = FANGUARD_SCAN_RESULT_NO_CACHE;
	scan_fd(fg, clean, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_true(res.no_cache);
	b.flags = 0;
	/* A scanner registered with FANGUARD_SCANNER_NO_CACHE. */
	assert_int_equal(fanguard_remove_scanner(fg, ia), 0);
	nocache_ops.flags = FANGUARD_SCANNER_NO_CACHE;
	assert_int_equal(fanguard_add_scanner(fg, &nocache_ops, &a, &ia), 0);
	scan_fd(fg, clean, FANGUARD_MOUNT_LOCAL, 1000, &res);
	assert_int_equal(res.verdict, FANGUARD_ALLOW);
	assert_true(res.no_cache);
	/* fanguard_flush_cache() invalidates. */
	{
		uint64_t gen = cache_gen(fg);

		assert_int_equal(fanguard_flush_cache(fg), 0);
		assert_true(cache_gen(fg) != gen);
		assert_int_equal(fanguard_flush_cache(NULL), -EINVAL);
	}
	fanguard_free(fg);
	/* Every registration released exactly once: a twice (removed, then
	 * re-added and freed with the listener), b once. */
	assert_int_equal(a.releases, 2);
	assert_int_equal(b.releases, 1);
	close(evil);
	close(clean);
}

struct scan_thread {
	struct fanguard *fg;
	int fd;
	struct scan_result res;
};

static void *scan_thread_main(void *p)
{
	struct scan_thread *t = p;

	scan_fd(t->fg, t->fd, FANGUARD_MOUNT_LOCAL, 5000, &t->res);
	return NULL;
}

/* Removal never waits for a call in flight, and release runs only after it
 * returned, on the thread that made the call; removing itself from inside
 * its own callback works. */
static void test_remove_in_flight(void **state)
{
	struct fanguard *fg = NULL;
	struct marker m = {.hold_ms = 300};
	struct scan_thread t = {0};
	pthread_t th;
	uint64_t id;
	usec_t t0;

	(void) state;
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), 0);
	t.fg = fg;
	t.fd = tmpfile_with("EVIL");
	assert_int_equal(pthread_create(&th, NULL, scan_thread_main, &t), 0);
	/* Wait (bounded) until the call is in flight. */
	t0 = now_usec();
	while (atomic_load(&m.calls) == 0 && now_usec() - t0 < 5 * USEC_PER_SEC)
		usleep(1000);
	assert_int_equal(m.calls, 1);
	t0 = now_usec();
	assert_int_equal(fanguard_remove_scanner(fg, id), 0);
	assert_true(now_usec() - t0 < 200 * USEC_PER_MSEC); /* did not wait */
	assert_int_equal(m.releases, 0);		    /* still in its call */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(m.releases, 1);
	/* The call that was in flight still decided its event. */
	assert_int_equal(t.res.verdict, FANGUARD_DENY);

	/* A scanner that removes itself from inside its callback. */
	m = (struct marker){.remove_fg = fg};
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), 0);
	m.remove_id = id;
	scan_thread_main(&t);
	assert_int_equal(t.res.verdict, FANGUARD_DENY);
	assert_int_equal(m.releases, 1);
	assert_int_equal(fanguard_remove_scanner(fg, id), -ENOENT);
	fanguard_free(fg);
	close(t.fd);
}

static void test_border(void **state)
{
	struct fanguard_scanner_ops o = marker_ops;
	struct {
		struct fanguard_scanner_ops o;
		uint64_t future;
	} newer = {.o = marker_ops};
	struct fanguard *fg = NULL;
	struct marker m = {0};
	uint64_t id, ids[16];

	(void) state;
	assert_int_equal(fanguard_new(NULL, &fg), 0);
	assert_int_equal(fanguard_add_scanner(NULL, &o, &m, &id), -EINVAL);
	assert_int_equal(fanguard_add_scanner(fg, NULL, &m, &id), -EINVAL);
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, NULL), -EINVAL);
	o.name = "";
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), -EINVAL);
	o.name = NULL;
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), -EINVAL);
	o = marker_ops;
	o.scan = NULL;
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), -EINVAL);
	o = marker_ops;
	o.flags = 1u << 7;
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), -EINVAL);
	o = marker_ops;
	o.size = 4;
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), -EINVAL);
	/* An older caller without release: fine. */
	o.size = offsetof(struct fanguard_scanner_ops, release);
	assert_int_equal(fanguard_add_scanner(fg, &o, &m, &id), 0);
	assert_int_equal(fanguard_remove_scanner(fg, id), 0);
	assert_int_equal(m.releases, 0); /* its release field was not read */
	/* A newer caller: only with zeroes where we know nothing. */
	newer.o.size = sizeof(newer);
	newer.future = 1;
	assert_int_equal(fanguard_add_scanner(fg, &newer.o, &m, &id), -E2BIG);
	newer.future = 0;
	assert_int_equal(fanguard_add_scanner(fg, &newer.o, &m, &id), 0);
	assert_int_equal(fanguard_remove_scanner(fg, id), 0);
	assert_int_equal(m.releases, 1);
	/* At most 16 at once. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &ids[i]), 0);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), -E2BIG);
	assert_int_equal(fanguard_remove_scanner(fg, 0), -EINVAL);
	assert_int_equal(fanguard_remove_scanner(fg, 999), -ENOENT);
	/* After stop: no new scanners (and no restart). */
	assert_int_equal(fanguard_stop(fg, 1000), 0);
	assert_int_equal(fanguard_add_scanner(fg, &marker_ops, &m, &id), -ESHUTDOWN);
	assert_int_equal(fanguard_start(fg), -ESHUTDOWN);
	assert_int_equal(fanguard_remove_scanner(fg, ids[0]), 0);
	fanguard_free(fg);
	assert_int_equal(m.releases, 1 + 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_then_remove),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_compose_and_cache),
		cmocka_unit_test(test_remove_in_flight),
		cmocka_unit_test(test_border),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
