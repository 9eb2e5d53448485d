/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection: delays, hangs and crashes on chosen operations, set by
 * option and changed at run time through the control file (re-read on
 * SIGUSR1).
 *
 * A hang is real: the operation never replies, so the kernel request stays
 * pending and whoever waits for it stays in request_wait_answer. The hung
 * thread waits on a condition in slices, to notice two things only: a new
 * configuration that no longer hangs it (it then carries on), and the end of
 * the FUSE session (SIGTERM, or the connection aborted through
 * /sys/fs/fuse/connections/N/abort), after which it returns -ENOTCONN without
 * ever having replied, so that libfuse can join its workers and we can exit. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "fd-util.h"
#include "fusetest-internal.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

#define WAIT_SLICE_USEC (250 * USEC_PER_MSEC)
#define CONTROL_MAX (64u << 10)

struct faults {
	char *control_path;
	bool (*cancelled)(void *userdata);
	void *userdata;
	atomic_uint_fast64_t n_ops;
	pthread_mutex_t lock; /* protects cfg, n_hung */
	pthread_cond_t cond;  /* broadcast on every change of cfg and by faults_wake() */
	struct fault_config cfg;
	unsigned n_hung;
};

int faults_new(const struct fault_config *initial, const char *control_path,
	       bool (*cancelled)(void *userdata), void *userdata, struct faults **ret)
{
	_cleanup_free_ struct faults *f = NULL;
	pthread_condattr_t ca;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (control_path) {
		f->control_path = strdup(control_path);
		if (!f->control_path)
			return -ENOMEM;
	}
	f->cfg = *initial;
	f->cancelled = cancelled;
	f->userdata = userdata;
	atomic_init(&f->n_ops, 0);
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	*ret = TAKE_PTR(f);
	return 0;
}

struct faults *faults_free(struct faults *f)
{
	if (!f)
		return NULL;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->control_path);
	free(f);
	return NULL;
}

static bool path_matches(const struct fault_config *c, const char *path, const char *path2)
{
	if (c->hang_path[0] == '\0')
		return false;
	/* An operation without a path (none today: fusetest.c asks libfuse for
	 * paths on every operation) matches a pattern that matches "". */
	if (fnmatch(c->hang_path, path ? path : "", 0) == 0)
		return true;
	return path2 && fnmatch(c->hang_path, path2, 0) == 0;
}

/* Under f->lock. */
static bool should_hang(const struct faults *f, uint32_t op, uint64_t n, const char *path,
			const char *path2)
{
	return (f->cfg.hang_after > 0 && n > f->cfg.hang_after) ||
	       (op < 64 && (f->cfg.hang_ops & (UINT64_C(1) << op))) ||
	       path_matches(&f->cfg, path, path2);
}

int fault_parse_ops(const char *s, uint64_t *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	uint64_t mask = 0;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
		int op = fs_op_from_string(w);

		if (op <= FS_HELLO)
			return -EINVAL;
		mask |= UINT64_C(1) << op;
	}
	*ret = mask;
	return 0;
}

/* Waits one slice, or until woken; -ENOTCONN when cancelled. Under f->lock. */
static int wait_slice(struct faults *f)
{
	struct timespec ts = usec_to_timespec(deadline_after(WAIT_SLICE_USEC));

	if (f->cancelled(f->userdata))
		return -ENOTCONN;
	(void) pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	return 0;
}

int faults_before_op(struct faults *f, uint32_t op, const char *path, const char *path2)
{
	uint64_t n = atomic_fetch_add(&f->n_ops, 1) + 1;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	if (f->cfg.crash_after > 0 && n > f->cfg.crash_after) {
		struct rlimit no_core = {0, 0};

		log_notice("Crashing at operation %" PRIu64
			   " (%s '%s'), as asked (crash-after=%" PRIu64 ")",
			   n, fs_op_to_string(op), path ? path : "", f->cfg.crash_after);
		/* The point is the dead daemon, not a core file in the cwd. */
		(void) setrlimit(RLIMIT_CORE, &no_core);
		abort();
	}
	/* The delay follows the configuration while it runs: lowering it (to
	 * 0, say) ends a wait in progress sooner. */
	for (usec_t start = now_usec();;) {
		usec_t ms = f->cfg.delay_ms + (op == FS_READ ? f->cfg.slow_read_ms : 0);
		usec_t deadline = start + ms * USEC_PER_MSEC, slice;
		struct timespec ts;

		if (deadline_passed(deadline))
			break;
		if (f->cancelled(f->userdata)) {
			r = -ENOTCONN;
			goto out;
		}
		slice = deadline_after(WAIT_SLICE_USEC);
		ts = usec_to_timespec(slice < deadline ? slice : deadline);
		(void) pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	if (should_hang(f, op, n, path, path2)) {
		log_notice("Hanging operation %" PRIu64 " (%s '%s'): no reply until the "
			   "configuration changes or the session ends",
			   n, fs_op_to_string(op), path ? path : "");
		f->n_hung++;
		while (should_hang(f, op, n, path, path2)) {
			r = wait_slice(f);
			if (r < 0)
				break;
		}
		f->n_hung--;
		if (r == 0)
			log_notice("Released operation %" PRIu64 " (%s '%s')", n,
				   fs_op_to_string(op), path ? path : "");
	}
out:
	pthread_mutex_unlock(&f->lock);
	return r;
}

void faults_wake(struct faults *f)
{
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static char *strip(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int fault_config_parse(const char *text, struct fault_config *ret, unsigned *ret_bad_line)
{
	struct fault_config c = {};
	_cleanup_free_ char *copy = strdup(text);
	char *line, *save = NULL;
	unsigned lineno = 0;

	if (!copy)
		return -ENOMEM;
	/* strtok_r would skip empty lines and miscount; walk by hand. */
	for (line = copy; line; line = save) {
		char *key, *value, *eq;
		uint64_t v;
		int r = 0;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		key = strip(line);
		if (key[0] == '\0' || key[0] == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		key = strip(key);
		value = strip(eq + 1);
		if (strcmp(key, "hang-path") == 0) {
			if (strlen(value) >= sizeof(c.hang_path))
				goto bad;
			strcpy(c.hang_path, value);
			continue;
		}
		if (strcmp(key, "hang-op") == 0)
			r = fault_parse_ops(value, &c.hang_ops);
		else if (strcmp(key, "hang-after") == 0)
			r = parse_u64(value, UINT64_MAX, &c.hang_after);
		else if (strcmp(key, "crash-after") == 0)
			r = parse_u64(value, UINT64_MAX, &c.crash_after);
		else if (strcmp(key, "delay-ms") == 0) {
			r = parse_u64(value, 3600000, &v);
			c.delay_ms = (unsigned) v;
		} else if (strcmp(key, "slow-read-ms") == 0) {
			r = parse_u64(value, 3600000, &v);
			c.slow_read_ms = (unsigned) v;
		} else
			goto bad;
		if (r < 0)
			goto bad;
	}
	*ret = c;
	return 0;
bad:
	if (ret_bad_line)
		*ret_bad_line = lineno;
	return -EINVAL;
}

void fault_config_format(const struct fault_config *c, char *buf, size_t size)
{
	char ops[256] = "";
	size_t n = 0;

	for (uint32_t op = 0; op < _FS_OP_MAX && op < 64; op++)
		if ((c->hang_ops & (UINT64_C(1) << op)) && n < sizeof(ops))
			n += (size_t) snprintf(ops + n, sizeof(ops) - n, "%s%s", n ? "," : "",
					       fs_op_to_string(op));
	(void) snprintf(buf, size,
			"hang-after=%" PRIu64 " crash-after=%" PRIu64
			" delay-ms=%u slow-read-ms=%u hang-path='%s' hang-op='%s'",
			c->hang_after, c->crash_after, c->delay_ms, c->slow_read_ms, c->hang_path,
			ops);
}

/* Writes the control text just applied to "<control>.applied" (a new file
 * renamed over the old), so that a test that changes the faults can wait
 * until they are in force instead of racing the signal. */
static int write_applied(const char *control_path, const char *text)
{
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&path, "%s.applied", control_path) < 0 ||
	    asprintf(&tmp, "%s.applied.tmp", control_path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	r = loop_write(fd, text, strlen(text));
	if (r < 0)
		return r;
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

int faults_reload(struct faults *f)
{
	_cleanup_free_ char *text = NULL;
	struct fault_config c;
	char desc[1200];
	unsigned bad = 0, hung;
	uint64_t n = atomic_load(&f->n_ops);
	int r;

	if (!f->control_path) {
		pthread_mutex_lock(&f->lock);
		fault_config_format(&f->cfg, desc, sizeof(desc));
		hung = f->n_hung;
		pthread_mutex_unlock(&f->lock);
		log_info("SIGUSR1 without --control: %" PRIu64 " operations, %u hung; %s", n, hung,
			 desc);
		return 0;
	}
	r = read_full_file(f->control_path, CONTROL_MAX, &text, NULL);
	if (r < 0)
		return log_error_errno(r, "Cannot read control file '%s', keeping the faults: %m",
				       f->control_path);
	r = fault_config_parse(text, &c, &bad);
	if (r < 0)
		return log_error_errno(r, "%s:%u: bad line, keeping the faults", f->control_path,
				       bad);
	fault_config_format(&c, desc, sizeof(desc));
	pthread_mutex_lock(&f->lock);
	f->cfg = c;
	hung = f->n_hung;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	log_notice("Control: %s (after %" PRIu64 " operations, %u hung)", desc, n, hung);
	r = write_applied(f->control_path, text);
	if (r < 0)
		log_warning_errno(r, "Cannot write '%s.applied': %m", f->control_path);
	return 0;
}
