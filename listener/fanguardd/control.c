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
#include "time-util.h"

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

static void reason_key(int i, char *buf, size_t len)
{
	(void) snprintf(buf, len, "%s", fanguard_reason_to_string(i));
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
}

int control_stats_json(struct control_ctx *ctx, char **ret)
{
	struct fanguard_stats s = {.size = sizeof(s)};
	struct json_object *o, *reasons;
	int r;

	r = fanguard_get_stats(ctx->fg, &s);
	if (r < 0)
		return r;
	o = json_object_new_object();
	reasons = json_object_new_object();
	if (!o || !reasons) {
		json_object_put(o);
		json_object_put(reasons);
		return -ENOMEM;
	}
#define ADD_U64(name, v) json_object_object_add(o, name, json_object_new_uint64(v))
	ADD_U64("events_read", s.events_read);
	ADD_U64("events_answered", s.events_answered);
	ADD_U64("allowed", s.allowed);
	ADD_U64("denied", s.denied);
	ADD_U64("pending", s.pending);
	ADD_U64("response_errors", s.response_errors);
	ADD_U64("workers_abandoned", s.workers_abandoned);
	ADD_U64("workers_replaced", s.workers_replaced);
	ADD_U64("log_dropped", s.log_dropped);
	ADD_U64("bytes_scanned", s.bytes_scanned);
	ADD_U64("kernel_open_errors", s.kernel_open_errors);
	ADD_U64("readers_added", s.readers_added);
	ADD_U64("groups", s.n_groups);
	ADD_U64("watches", s.n_watches);
	ADD_U64("reloads", ctx->reloads_ok);
	ADD_U64("reloads_failed", ctx->reloads_failed);
	ADD_U64("uptime_usec", now_usec() - ctx->started_usec);
#undef ADD_U64
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++) {
		char key[32];

		reason_key(i, key, sizeof(key));
		json_object_object_add(reasons, key, json_object_new_uint64(s.by_reason[i]));
	}
	json_object_object_add(o, "by_reason", reasons);
	json_object_object_add(o, "healthy", json_object_new_boolean(ctx->health == 0));
	return json_take_string(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, ret);
}

int control_metrics(struct control_ctx *ctx, char **ret)
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} m[] = {
#define M(f, t, h) {"fanguard_" #f, t, h, offsetof(struct fanguard_stats, f)}
		M(events_read, "counter", "Permission events received."),
		M(events_answered, "counter", "Answers written to the kernel."),
		M(allowed, "counter", "Events answered allow."),
		M(denied, "counter", "Events answered deny."),
		M(pending, "gauge", "Events read but not yet answered."),
		M(response_errors, "counter", "Answers the kernel refused."),
		M(workers_abandoned, "counter", "Workers stuck in I/O past a deadline."),
		M(workers_replaced, "counter", "Workers started to replace stuck ones."),
		M(log_dropped, "counter", "Log messages dropped on overflow."),
		M(bytes_scanned, "counter", "Bytes of file content scanned."),
		M(kernel_open_errors, "counter", "Events whose file the kernel could not open."),
		M(readers_added, "counter", "Readers added while every reader waited on FUSE."),
#undef M
	};
	struct fanguard_stats s = {.size = sizeof(s)};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = fanguard_get_stats(ctx->fg, &s);
	if (r < 0)
		return r;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(m); i++) {
		uint64_t v = *(const uint64_t *) ((const char *) &s + m[i].offset);
		const char *suffix = strcmp(m[i].type, "counter") == 0 ? "_total" : "";

		fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n%s%s %llu\n", m[i].name, suffix,
			m[i].help, m[i].name, suffix, m[i].type, m[i].name, suffix,
			(unsigned long long) v);
	}
	fprintf(f, "# HELP fanguard_verdicts_total Answers by reason.\n"
		   "# TYPE fanguard_verdicts_total counter\n");
	for (int i = 0; i < _FANGUARD_REASON_MAX; i++)
		fprintf(f, "fanguard_verdicts_total{reason=\"%s\"} %llu\n",
			fanguard_reason_to_string(i), (unsigned long long) s.by_reason[i]);
	fprintf(f,
		"# HELP fanguard_groups fanotify groups (domains).\n# TYPE fanguard_groups gauge\n"
		"fanguard_groups %u\n"
		"# HELP fanguard_watches Watched mounts.\n# TYPE fanguard_watches gauge\n"
		"fanguard_watches %u\n"
		"# HELP fanguard_healthy 1 while every group answers within its deadline.\n"
		"# TYPE fanguard_healthy gauge\nfanguard_healthy %d\n"
		"# HELP fanguard_reloads_total Configuration reloads.\n"
		"# TYPE fanguard_reloads_total counter\n"
		"fanguard_reloads_total{result=\"ok\"} %u\n"
		"fanguard_reloads_total{result=\"failed\"} %u\n",
		s.n_groups, s.n_watches, ctx->health == 0, ctx->reloads_ok, ctx->reloads_failed);
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
			       json_object_new_boolean(!!(w->flags & FANGUARD_WATCH_FILESYSTEM)));
	json_object_object_add(o, "loopback", json_object_new_boolean(w->loopback > 0));
	json_object_object_add(o, "origin", json_escaped(w->origin));
	json_object_object_add(o, "content_at_backing",
			       json_object_new_boolean(w->content_at_backing > 0));
	json_object_object_add(o, "from_tree", json_object_new_boolean(w->from_tree > 0));
	json_object_object_add(o, "group_events_read",
			       json_object_new_uint64(w->group_events_read));
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
	if (r < 0) {
		json_object_put(a);
		return r;
	}
	return json_take_string(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, ret);
}

int control_status_text(struct control_ctx *ctx, char **ret)
{
	struct fanguard_stats s = {.size = sizeof(s)};
	int r;

	r = fanguard_get_stats(ctx->fg, &s);
	if (r < 0)
		return r;
	if (asprintf(ret,
		     "fanguardd %s, pid %d, up %llu s\n"
		     "state: %s\n"
		     "config: %s (reloads: %u ok, %u failed)\n"
		     "seccomp: %s\n"
		     "watches: %u in %u groups\n"
		     "events: %llu read, %llu answered, %llu pending, %llu denied\n",
		     FANGUARD_VERSION, (int) getpid(),
		     (unsigned long long) ((now_usec() - ctx->started_usec) / USEC_PER_SEC),
		     ctx->health == 0 ? "running"
				      : "UNHEALTHY (an event is overdue or a group "
					"lost its readers)",
		     ctx->config_path ? ctx->config_path : "(command line only)", ctx->reloads_ok,
		     ctx->reloads_failed, ctx->seccomp_mode, s.n_watches, s.n_groups,
		     (unsigned long long) s.events_read, (unsigned long long) s.events_answered,
		     (unsigned long long) s.pending, (unsigned long long) s.denied) < 0)
		return -ENOMEM;
	return 0;
}
