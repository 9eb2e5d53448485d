/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl top: a live view like clamdtop, from the stats table and the
 * watch list over the control socket: events/s, verdicts by reason, mean
 * answer latency, threads stuck in FUSE, and per mount its group's events/s
 * and mean answer latency.
 * Plain ANSI (clear + home) on a terminal; q or Ctrl-C quits; --iterations N
 * (or --once) prints N frames without clearing, for scripts and tests. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

#define TOP_MAX_MOUNTS 64

struct frame {
	struct json_object *stats, *mounts;
	usec_t at;
};

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void) sig;
	quit = 1;
}

static uint64_t num(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, k1, &v))
		return 0;
	if (k2 && !json_object_object_get_ex(v, k2, &v))
		return 0;
	return json_object_get_uint64(v);
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "?";
}

static void frame_done(struct frame *f)
{
	json_object_put(f->stats);
	json_object_put(f->mounts);
	*f = (struct frame){};
}

static int frame_read(const struct ctl_args *a, struct frame *ret)
{
	_cleanup_free_ char *s = NULL, *m = NULL;
	struct frame f = {};
	int r;

	r = ctl_request(a, "stats", &s);
	if (r < 0)
		return r;
	r = ctl_request(a, "mounts", &m);
	if (r < 0)
		return r;
	f.at = now_usec();
	f.stats = json_tokener_parse(s);
	f.mounts = json_tokener_parse(m);
	if (!f.stats || !json_object_is_type(f.stats, json_type_object) || !f.mounts ||
	    !json_object_is_type(f.mounts, json_type_array)) {
		frame_done(&f);
		return log_error_errno(EPROTO, "fanguardd sent invalid JSON");
	}
	*ret = f;
	return 0;
}

static double rate(uint64_t now, uint64_t before, usec_t dt)
{
	return dt > 0 && now >= before ? (double) (now - before) * 1e6 / (double) dt : 0.0;
}

/* The previous frame's entry of the watch with this mount id, or NULL. */
static struct json_object *prev_watch(struct json_object *prev, uint64_t mnt_id)
{
	for (size_t i = 0; prev && i < json_object_array_length(prev); i++) {
		struct json_object *o = json_object_array_get_idx(prev, i);

		if (num(o, "mount_id", NULL) == mnt_id)
			return o;
	}
	return NULL;
}

static void put_safe(const char *s)
{
	for (; *s; s++)
		(void) putchar((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void draw(const struct frame *f, const struct frame *prev, bool tty)
{
	struct json_object *s = f->stats, *p = prev ? prev->stats : NULL;
	usec_t dt = prev ? f->at - prev->at : 0;
	uint64_t ans = num(s, "events_answered", NULL), lat = num(s, "answer_latency_usec", NULL);
	uint64_t dans = prev ? ans - num(p, "events_answered", NULL) : ans;
	uint64_t dlat = prev ? lat - num(p, "answer_latency_usec", NULL) : lat;
	json_bool healthy = 0;
	struct json_object *h;

	if (json_object_object_get_ex(s, "healthy", &h))
		healthy = json_object_get_boolean(h);
	if (tty)
		(void) fputs("\033[H\033[2J", stdout);
	printf("fanguard top - up %llu s - %s - %llu watches in %llu groups, %llu threads\n",
	       (unsigned long long) (num(s, "uptime_usec", NULL) / USEC_PER_SEC),
	       healthy ? "healthy" : "UNHEALTHY", (unsigned long long) num(s, "watches", NULL),
	       (unsigned long long) num(s, "groups", NULL),
	       (unsigned long long) num(s, "threads", NULL));
	printf("events/s %10.1f   answered/s %10.1f   denied/s %8.1f   pending %llu\n",
	       rate(num(s, "events_read", NULL), num(p, "events_read", NULL), dt),
	       rate(ans, num(p, "events_answered", NULL), dt),
	       rate(num(s, "denied", NULL), num(p, "denied", NULL), dt),
	       (unsigned long long) num(s, "pending", NULL));
	printf("latency  %10.2f ms mean over %s   scanned %llu MiB\n",
	       dans ? (double) dlat / (double) dans / 1000.0 : 0.0,
	       prev ? "the last interval" : "the uptime",
	       (unsigned long long) (num(s, "bytes_scanned", NULL) >> 20));
	printf("threads stuck in FUSE: open %llu, read %llu, close %llu; workers abandoned %llu, "
	       "refused %llu\n",
	       (unsigned long long) num(s, "by_stuck_in", "open"),
	       (unsigned long long) num(s, "by_stuck_in", "read"),
	       (unsigned long long) num(s, "by_stuck_in", "close"),
	       (unsigned long long) num(s, "workers_abandoned", NULL),
	       (unsigned long long) num(s, "threads_refused", NULL));
	printf("\n%-12s %14s %10s\n", "VERDICTS", "total", "per s");
	if (json_object_object_get_ex(s, "by_reason", &h)) {
		json_object_object_foreach(h, reason, v)
			printf("%-12s %14llu %10.1f\n", reason,
			       (unsigned long long) json_object_get_uint64(v),
			       rate(json_object_get_uint64(v), num(p, "by_reason", reason), dt));
	}
	printf("\n%-8s %-10s %-10s %12s %10s %10s  %s\n", "MOUNT", "CLASS", "GROUP", "group events",
	       "per s", "lat ms", "PATH");
	for (size_t i = 0; i < json_object_array_length(f->mounts) && i < TOP_MAX_MOUNTS; i++) {
		struct json_object *o = json_object_array_get_idx(f->mounts, i);
		uint64_t id = num(o, "mount_id", NULL), ev = num(o, "group_events_read", NULL);
		struct json_object *b = prev_watch(prev ? prev->mounts : NULL, id);
		/* The group's mean answer latency over the interval (or uptime). */
		uint64_t na = num(o, "group_events_answered", NULL) -
			      (b ? num(b, "group_events_answered", NULL) : 0);
		uint64_t nl = num(o, "group_answer_latency_usec", NULL) -
			      (b ? num(b, "group_answer_latency_usec", NULL) : 0);

		printf("%-8llu %-10s %-10s %12llu %10.1f %10.2f  ", (unsigned long long) id,
		       str(o, "class"), str(o, "group"), (unsigned long long) ev,
		       b ? rate(ev, num(b, "group_events_read", NULL), dt) : 0.0,
		       na ? (double) nl / (double) na / 1000.0 : 0.0);
		put_safe(str(o, "path"));
		(void) putchar('\n');
	}
	if (tty)
		printf("\n(q to quit)\n");
	(void) fflush(stdout);
}

/* Waits delay_ms for a key; true if it was q (or the input ended). */
static bool wait_key(unsigned delay_ms, bool interactive)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	char c;

	if (!interactive) {
		(void) poll(NULL, 0, (int) delay_ms);
		return false;
	}
	if (poll(&p, 1, (int) delay_ms) <= 0)
		return false;
	if (read(STDIN_FILENO, &c, 1) <= 0)
		return true;
	return c == 'q' || c == 'Q' || c == 3 /* Ctrl-C in raw mode */;
}

int verb_top(const struct ctl_args *a)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct frame cur = {}, prev = {};
	bool tty = isatty(STDOUT_FILENO) == 1 && a->iterations == 0;
	bool interactive = tty && isatty(STDIN_FILENO) == 1;
	struct termios saved, raw;
	int r = 0;

	(void) sigaction(SIGINT, &sa, NULL);
	(void) sigaction(SIGTERM, &sa, NULL);
	if (interactive && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
		(void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else
		interactive = false;
	for (unsigned n = 0; !quit && (a->iterations == 0 || n < a->iterations); n++) {
		if (n > 0 && wait_key(a->delay_ms, interactive))
			break;
		if (quit)
			break;
		r = frame_read(a, &cur);
		if (r < 0)
			break;
		draw(&cur, n > 0 ? &prev : NULL, tty);
		frame_done(&prev);
		prev = cur;
		cur = (struct frame){};
	}
	frame_done(&prev);
	if (interactive)
		(void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return r;
}
