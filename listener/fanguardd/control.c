/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control socket of fanguardd and the payloads it serves: status (text),
 * stats and mounts (JSON, built with json-c), metrics (Prometheus text
 * exposition format 0.0.4), reload. Root only: the socket is 0600 in a 0700
 * directory, and the peer's SO_PEERCRED uid must be 0 as well.
 * The transport (control-server.c) is non-blocking and serves many clients
 * at once; names a user picked (mount paths, FUSE subtypes) are escaped
 * (common/escape.h) before they go into a reply. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "escape.h"
#include "control.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "stats-format.h"
#include "time-util.h"
#include "uncovered.h"

static int mkdir_parent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int control_listen(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	r = mkdir_parent(path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Another daemon answering on it: refuse rather than steal it. */
	{
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0)
			return -EADDRINUSE;
	}
	(void) unlink(path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return -errno;
	if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int json_take_string(struct json_object *o, int flags, char **ret)
{
	const char *s = json_object_to_json_string_ext(o, flags);
	char *copy = s ? strdup(s) : NULL;

	json_object_put(o);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

int control_stats_json(struct control_ctx *ctx, char **ret)
{
	struct stats_table t;
	struct json_object *o;
	int r;

	r = stats_table_read(ctx->fg, &t);
	if (r < 0)
		return r;
	o = json_object_new_object();
	r = o ? stats_format_json(&t, o) : -ENOMEM;
	stats_table_done(&t);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
#define ADD_U64(name, v) json_object_object_add(o, name, json_object_new_uint64(v))
	ADD_U64("reloads", ctx->reloads_ok);
	ADD_U64("reloads_failed", ctx->reloads_failed);
	ADD_U64("uptime_usec", now_usec() - ctx->started_usec);
#undef ADD_U64
	json_object_object_add(o, "healthy", json_object_new_boolean(ctx->health == 0));
	return json_take_string(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, ret);
}

int control_metrics(struct control_ctx *ctx, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct stats_table t;
	size_t len = 0;
	FILE *f;
	int r;

	r = stats_table_read(ctx->fg, &t);
	if (r < 0)
		return r;
	f = open_memstream(&buf, &len);
	if (!f) {
		stats_table_done(&t);
		return -ENOMEM;
	}
	stats_format_prometheus(&t, f);
	stats_table_done(&t);
	fprintf(f,
		"# HELP fanguard_healthy 1 while every group answers within its deadline.\n"
		"# TYPE fanguard_healthy gauge\nfanguard_healthy %d\n"
		"# HELP fanguard_reloads_total Configuration reloads.\n"
		"# TYPE fanguard_reloads_total counter\n"
		"fanguard_reloads_total{result=\"ok\"} %u\n"
		"fanguard_reloads_total{result=\"failed\"} %u\n",
		ctx->health == 0, ctx->reloads_ok, ctx->reloads_failed);
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* A JSON string of text a user may have chosen: json-c escapes control
 * characters but passes invalid UTF-8 through, which breaks consumers. */
static struct json_object *json_escaped(const char *s)
{
	_cleanup_free_ char *e = escape_strdup(s ? s : "");

	return json_object_new_string(e ? e : "?");
}

static int add_watch(void *userdata, const struct fanguard_watch_info *w)
{
	struct json_object *a = userdata, *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "path", json_escaped(w->path));
	json_object_object_add(o, "mount_point", json_escaped(w->mount_point));
	json_object_object_add(o, "mount_id", json_object_new_uint64(w->mnt_id));
	json_object_object_add(o, "fstype", json_escaped(w->fstype));
	json_object_object_add(o, "class", json_object_new_string(w->mount_class));
	json_object_object_add(o, "evidence", json_escaped(w->evidence));
	json_object_object_add(
		o, "group",
		json_object_new_string(fanguard_mount_class_to_string(w->domain_class)));
	json_object_object_add(o, "filesystem",
			       json_object_new_boolean(!(w->flags & FANGUARD_WATCH_MOUNT)));
	json_object_object_add(o, "loopback", json_object_new_boolean(w->loopback > 0));
	json_object_object_add(o, "origin", json_escaped(w->origin));
	json_object_object_add(o, "content_at_backing",
			       json_object_new_boolean(w->content_at_backing > 0));
	json_object_object_add(o, "from_tree", json_object_new_boolean(w->from_tree > 0));
	json_object_object_add(o, "owner_uid", json_object_new_uint64(w->owner_uid));
	json_object_object_add(
		o, "untrusted",
		json_object_new_boolean(
			FANGUARD_HAS_FIELD(w, struct fanguard_watch_info, untrusted) &&
			w->untrusted > 0));
	if (FANGUARD_HAS_FIELD(w, struct fanguard_watch_info, event_mask_why)) {
		json_object_object_add(o, "event_mask",
				       json_object_new_string(w->event_mask ? w->event_mask : ""));
		json_object_object_add(o, "event_mask_why", json_escaped(w->event_mask_why));
	}
	json_object_object_add(o, "group_events_read",
			       json_object_new_uint64(w->group_events_read));
	json_object_object_add(o, "covered", json_object_new_boolean(!w->unmarked));
	json_object_object_add(
		o, "same_fs_as_mount_id",
		json_object_new_uint64(
			FANGUARD_HAS_FIELD(w, struct fanguard_watch_info, same_fs_as_mnt_id)
				? w->same_fs_as_mnt_id
				: 0));
	json_object_object_add(o, "group_name",
			       json_object_new_string(w->group_name ? w->group_name : ""));
	json_object_object_add(o, "group_shared", json_object_new_boolean(w->group_shared > 0));
	if (FANGUARD_HAS_FIELD(w, struct fanguard_watch_info, group_answer_latency_usec)) {
		json_object_object_add(o, "group_events_answered",
				       json_object_new_uint64(w->group_events_answered));
		json_object_object_add(o, "group_answer_latency_usec",
				       json_object_new_uint64(w->group_answer_latency_usec));
	}
	json_object_object_add(o, "unscanned_deadline",
			       json_object_new_uint64(w->unscanned_deadline));
	json_object_object_add(o, "unscanned_queue_full",
			       json_object_new_uint64(w->unscanned_queue_full));
	json_object_object_add(o, "unscanned_error", json_object_new_uint64(w->unscanned_error));
	json_object_object_add(o, "unscanned_too_large",
			       json_object_new_uint64(w->unscanned_too_large));
	json_object_object_add(o, "overload", json_object_new_boolean(w->overloaded > 0));
	json_object_array_add(a, o);
	return 0;
}

int control_mounts_json(struct control_ctx *ctx, char **ret)
{
	struct json_object *a = json_object_new_array();
	int r;

	if (!a)
		return -ENOMEM;
	r = fanguard_foreach_watch(ctx->fg, add_watch, a);
	if (r >= 0)
		r = uncovered_json_add(ctx->fg, a);
	if (r < 0) {
		json_object_put(a);
		return r;
	}
	return json_take_string(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, ret);
}

/* The status line of --quarantine, "" without one. */
static int quarantine_status_text(const struct control_ctx *ctx, const struct stats_table *t,
				  char **ret)
{
#define Q(c) (unsigned long long) stats_table_get(t, "quarantine_failed", c)
	if (!ctx->quarantine) {
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	return asprintf(ret,
			"quarantine: %s: %llu files (not copied: %llu not local, %llu too large, "
			"%llu over the rate, %llu at the disk floor, %llu copy errors; copied, "
			"not removed: %llu path changed, %llu remove errors; %llu record errors)\n",
			ctx->quarantine,
			(unsigned long long) stats_table_get(t, "quarantined", NULL),
			Q("not-local"), Q("too-large"), Q("rate-limit"), Q("disk-floor"),
			Q("copy-error"), Q("path-changed"), Q("remove-error"),
			Q("record-error")) < 0
		       ? -ENOMEM
		       : 0;
#undef Q
}

/* The pre-warm pass's line (--prewarm): "prewarm: off" without one. */
static void prewarm_status_text(const struct stats_table *t, char *buf, size_t len)
{
	static const char *const states[] = {"off", "running", "done", "stopped"};
	uint64_t state = stats_table_get(t, "prewarm_state", NULL), skipped = 0;
	static const char *const why[] = {"not-regular", "too-large", "other-fs",
					  "budget",	 "changed",   "error"};

	if (state == 0 || state >= ELEMENTSOF(states)) {
		(void) snprintf(buf, len, "prewarm: off\n");
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(why); i++)
		skipped += stats_table_get(t, "prewarm_files_skipped", why[i]);
#define S(w) (unsigned long long) stats_table_get(t, "prewarm_files_skipped", w)
	(void) snprintf(buf, len,
			"prewarm: %s, %llu files seen, %llu cached, %llu dirty, %llu skipped "
			"(%llu budget, %llu not regular, %llu too large, %llu other fs, "
			"%llu changed, %llu errors), %.1f s\n",
			states[state],
			(unsigned long long) stats_table_get(t, "prewarm_files_seen", NULL),
			(unsigned long long) stats_table_get(t, "prewarm_files_cached", NULL),
			(unsigned long long) stats_table_get(t, "prewarm_files_dirty", NULL),
			(unsigned long long) skipped, S("budget"), S("not-regular"), S("too-large"),
			S("other-fs"), S("changed"), S("error"),
			(double) stats_table_get(t, "prewarm_duration_usec", NULL) / USEC_PER_SEC);
#undef S
}

int control_status_text(struct control_ctx *ctx, char **ret)
{
	_cleanup_free_ char *cov = NULL, *quar = NULL;
	char vstore[320] = "verdict store: off\n", prewarm[320];
	struct stats_table t;
	int r;

	r = uncovered_status_text(ctx->fg, &cov);
	if (r < 0)
		return r;
	r = stats_table_read(ctx->fg, &t);
	if (r < 0)
		return r;
	r = quarantine_status_text(ctx, &t, &quar);
	if (r < 0) {
		stats_table_done(&t);
		return r;
	}
	if (stats_table_get(&t, "store_enabled", NULL))
		(void) snprintf(
			vstore, sizeof(vstore),
			"verdict store: %llu hits, %llu misses, %llu void, %llu inserts, "
			"%llu flushed, %llu rebuilt, %llu full, %llu errors, %llu dropped\n",
			(unsigned long long) stats_table_get(&t, "store_hits", NULL),
			(unsigned long long) stats_table_get(&t, "store_misses", NULL),
			(unsigned long long) stats_table_get(&t, "store_invalidations", NULL),
			(unsigned long long) stats_table_get(&t, "store_inserts", NULL),
			(unsigned long long) stats_table_get(&t, "store_flushed", NULL),
			(unsigned long long) stats_table_get(&t, "store_rebuilds", NULL),
			(unsigned long long) stats_table_get(&t, "store_resets", NULL),
			(unsigned long long) stats_table_get(&t, "store_errors", NULL),
			(unsigned long long) stats_table_get(&t, "store_dropped", NULL));
	prewarm_status_text(&t, prewarm, sizeof(prewarm));
	r = asprintf(ret,
		     "fanguardd %s, pid %d, up %llu s\n"
		     "state: %s\n"
		     "config: %s (reloads: %u ok, %u failed)\n"
		     "%s%s%s"
		     "seccomp: %s\n"
		     "mode: %s (%llu denies allowed by audit mode); kernel audit records: %s\n"
		     "watches: %llu in %llu groups\n"
		     "events: %llu read, %llu answered, %llu pending, %llu denied\n"
		     "overload: %s (unscanned: %llu past deadline, %llu queue full, %llu error, "
		     "%llu too large)\n"
		     "threads: %llu (stuck in FUSE open: %llu, read: %llu, close: %llu; "
		     "refused: %llu)\n"
		     "%s%s%s%s",
		     FANGUARD_VERSION, (int) getpid(),
		     (unsigned long long) ((now_usec() - ctx->started_usec) / USEC_PER_SEC),
		     ctx->health == 0 ? "running"
		     : ctx->health == UNCOVERED_HEALTH
			     ? "UNHEALTHY (a watched mount is not covered, "
			       "on-uncovered=fail)"
			     : "UNHEALTHY (an event is overdue or a group "
			       "lost its readers)",
		     ctx->config_path ? ctx->config_path : "(command line only)", ctx->reloads_ok,
		     ctx->reloads_failed,
		     ctx->reload_error ? "last reload: FAILED, the previous configuration is in "
					 "force: "
				       : "",
		     ctx->reload_error ? ctx->reload_error : "", ctx->reload_error ? "\n" : "",
		     ctx->seccomp_mode, ctx->audit ? "AUDIT" : "enforcing",
		     (unsigned long long) stats_table_get(&t, "audit_would_deny", NULL),
		     stats_table_get(&t, "kernel_audit", NULL) ? "on" : "off",
		     (unsigned long long) stats_table_get(&t, "watches", NULL),
		     (unsigned long long) stats_table_get(&t, "groups", NULL),
		     (unsigned long long) stats_table_get(&t, "events_read", NULL),
		     (unsigned long long) stats_table_get(&t, "events_answered", NULL),
		     (unsigned long long) stats_table_get(&t, "pending", NULL),
		     (unsigned long long) stats_table_get(&t, "denied", NULL),
		     stats_table_get(&t, "overload", NULL) ? "YES, in the last 10 s" : "no",
		     (unsigned long long) stats_table_get(&t, "verdicts", "deadline"),
		     (unsigned long long) stats_table_get(&t, "verdicts", "queue-full"),
		     (unsigned long long) stats_table_get(&t, "verdicts", "error"),
		     (unsigned long long) stats_table_get(&t, "verdicts", "too-large"),
		     (unsigned long long) stats_table_get(&t, "threads", NULL),
		     (unsigned long long) stats_table_get(&t, "threads_stuck", "open"),
		     (unsigned long long) stats_table_get(&t, "threads_stuck", "read"),
		     (unsigned long long) stats_table_get(&t, "threads_stuck", "close"),
		     (unsigned long long) stats_table_get(&t, "threads_refused", NULL), quar,
		     vstore, prewarm, cov);
	stats_table_done(&t);
	return r < 0 ? -ENOMEM : 0;
}
