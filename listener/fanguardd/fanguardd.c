/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd: the on-access scanning daemon on top of libfanguard.
 * Foreground only; signals arrive through a signalfd on the main thread
 * (library threads block them all). Never exits from the middle: main()
 * returns after answering everything pending. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check-config.h"
#include "config.h"
#include "control.h"
#include "events-log.h"
#include "fanguard.h"
#include "fd-util.h"
#include "fdstore.h"
#include "hook.h"
#include "log-json.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "privileges.h"
#include "rules-watch.h"
#include "reload-job.h"
#include "procfs.h"
#include "quarantine-dir.h"
#include "sandbox.h"
#include "settings.h"
#include "uncovered.h"
#include "stats-format.h"
#include "time-util.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* The settings in force: replaced whole by a reload (see reload()). */
static struct settings *arg_settings;
/* Restart-only and read until exit (write_stats() at exit): a stable copy. */
static char *arg_stats_file;

static void on_log(void *userdata, int prio, const char *msg)
{
	log_full_errno(prio, 0, "%s", msg);
}

/* Writes path atomically (temp file + rename). */
static int write_file_atomic(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = loop_write(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void) unlink(tmp);
	return r;
}

static void write_stats(struct fanguard *fg)
{
	_cleanup_free_ char *buf = NULL;
	struct stats_table t;
	size_t len = 0;
	FILE *f;
	int r;

	if (!arg_stats_file || stats_table_read(fg, &t) < 0)
		return;
	f = open_memstream(&buf, &len);
	if (f) {
		stats_format_file(&t, f);
		if (fclose(f) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	stats_table_done(&t);
	if (!buf)
		return;
	r = write_file_atomic(arg_stats_file, buf);
	if (r < 0)
		log_warning_errno(r, "Failed to write '%s', ignoring: %m", arg_stats_file);
}

/* --- service: fanguard.conf, reload, control socket, watchdog ---------------- */

/* How far past its deadline an unanswered event may be before the watchdog
 * stops vouching for us: the keeper answers at the deadline itself. */
#define HEALTH_GRACE_MS 1000

static int saved_argc;
static char **saved_argv;
static struct control_ctx ctl = {.health = 0};
static struct events_log_state events_state;

/* JOURNAL_STREAM=dev:ino names the journal's stream if it is our stderr:
 * then log straight to the journal, with structured fields. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

#define ITEMS(l) ((const char *const *) (l).items)

/* ExcludeExe= PATH[:UID|:*]: the executable's identity run as UID (root if
 * none is given; '*' for anyone: any user may run a world-executable
 * binary). The suffix counts only if it is a number or '*', so a path with
 * a colon in it stays whole unless it ends like one. */
static int exe_rule_parse(const char *item, char **ret_path, uid_t *ret_uid)
{
	const char *colon = strrchr(item, ':');
	uint64_t u;

	*ret_uid = 0;
	if (colon && strcmp(colon + 1, "*") == 0)
		*ret_uid = FANGUARD_ANY_UID;
	else if (colon && colon[1] && parse_u64(colon + 1, (uid_t) -2, &u) >= 0)
		*ret_uid = (uid_t) u;
	else
		colon = NULL;
	*ret_path = colon ? strndup(item, (size_t) (colon - item)) : strdup(item);
	return *ret_path ? 0 : -ENOMEM;
}

/* The uid and executable exclusions, one swap each (a reload drops the old
 * executables for a moment: they are scanned then, never wrongly exempt). */
static int set_subject_exclusions(struct fanguard *fg, const struct settings *s, char *err,
				  size_t errlen)
{
	size_t n = s->exclude_exe.n;
	_cleanup_free_ char **paths = calloc(n ? n : 1, sizeof(char *));
	_cleanup_free_ uid_t *uids = calloc(n ? n : 1, sizeof(uid_t));
	size_t i;
	int r;

	if (!paths || !uids)
		return log_error_errno(ENOMEM, "Out of memory");
	r = fanguard_set_exclude_subjects(fg, s->exclude_uid.items, s->exclude_uid.n, NULL, 0);
	if (r < 0)
		return settings_error(err, errlen, r, "Failed to exclude uids: %s", strerror(-r));
	for (i = 0, r = 0; i < n && r >= 0; i++)
		r = exe_rule_parse(s->exclude_exe.items[i], &paths[i], &uids[i]);
	if (r >= 0) {
		r = fanguard_set_exclude_exes(fg, (const char *const *) paths, uids, n);
		if (r < 0)
			(void) settings_error(err, errlen, r,
					      "Failed to exclude the executables %s%s: %s",
					      n > 0 ? s->exclude_exe.items[0] : "",
					      n > 1 ? ", ..." : "", strerror(-r));
	} else
		(void) settings_error(err, errlen, r, "Out of memory");
	for (size_t j = 0; j < n; j++)
		free(paths[j]);
	return r;
}

static bool listed(const struct setting_list *l, const char *v)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], v) == 0)
			return true;
	return false;
}

/* Marks what s watches and old did not (old NULL: everything). */
static int watch_added(struct fanguard *fg, const struct settings *old, const struct settings *s)
{
	static const struct {
		size_t offset;
		unsigned flags;
	} kinds[] = {
		{offsetof(struct settings, watch), 0},
		{offsetof(struct settings, watch_mount), FANGUARD_WATCH_MOUNT},
		{offsetof(struct settings, watch_fs), 0},
	};
	const uint32_t root = s->watch_root_fs ? FANGUARD_WATCH_ROOT_FS : 0;
	int r;

	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		const struct setting_list *l = (const void *) ((const char *) s + kinds[k].offset);

		for (size_t i = 0; i < l->n; i++) {
			if (old && listed((const void *) ((const char *) old + kinds[k].offset),
					  l->items[i]))
				continue;
			r = fanguard_watch(fg, l->items[i], kinds[k].flags | root);
			if (r < 0)
				return log_error_errno(r, "Failed to watch '%s': %m", l->items[i]);
			if (old)
				log_info("Now also watching '%s'", l->items[i]);
		}
	}
	for (size_t i = 0; i < s->watch_tree.n; i++) {
		if (old && listed(&old->watch_tree, s->watch_tree.items[i]))
			continue;
		r = fanguard_watch_tree(fg, s->watch_tree.items[i], root);
		if (r < 0)
			return log_error_errno(r, "Failed to watch the tree '%s': %m",
					       s->watch_tree.items[i]);
		if (old)
			log_info("Now also watching the tree '%s'", s->watch_tree.items[i]);
	}
	return 0;
}

/* The SHA-256 allowlist: replaced whole (at start and on reload). */
static int load_allowlist(struct fanguard *fg, const struct settings *s)
{
	size_t file = 0;
	unsigned line = 0;
	int r;

	r = fanguard_replace_allow_sha256_files(fg, ITEMS(s->allow_hashes), s->allow_hashes.n,
						&file, &line);
	if (r == -EBADMSG)
		return log_error_errno(r, "%s:%u: not a SHA-256 hex digest",
				       s->allow_hashes.items[file], line);
	if (r < 0)
		return log_error_errno(r, "Failed to load allowlist '%s': %m",
				       s->allow_hashes.n ? s->allow_hashes.items[file] : "");
	if (s->allow_hashes.n > 0)
		log_info("Allowlist: %d digests from %zu files (allowed whatever a scanner says)",
			 r, s->allow_hashes.n);
	return 0;
}

/* Applies what can change while running (the rows marked SETTING_RELOAD);
 * the library swaps each list atomically under its config lock, so every
 * event sees either the old or the new list and is answered exactly once
 * either way. */
/* One message per way a denylist file can be refused (see
 * fanguard_deny_sha256_file()), logged and copied to err (if not NULL) for
 * fanguardctl status and STATUS=. Returns r. */
static int denylist_error(char *err, size_t errlen, int r, const char *path, unsigned line)
{
	switch (r) {
	case -EBADMSG:
		return settings_error(err, errlen, r, "%s:%u: not a SHA-256 hex digest", path,
				      line);
	case -EILSEQ:
		return settings_error(err, errlen, r, "%s:%u: NUL byte in a denylist", path, line);
	case -ENODATA:
		return settings_error(err, errlen, r, "Denylist '%s' holds no digest", path);
	case -EBADFD:
		return settings_error(err, errlen, r, "Denylist '%s' is not a regular file", path);
	case -EISDIR:
		return settings_error(err, errlen, r, "Denylist '%s' is a directory", path);
	case -ELOOP:
		return settings_error(err, errlen, r,
				      "Denylist '%s' is a symbolic link (not followed)", path);
	case -EFBIG:
		return settings_error(err, errlen, r, "Denylist '%s': too many digests", path);
	default:
		return settings_error(err, errlen, r, "Failed to load denylist '%s': %s", path,
				      strerror(-r));
	}
}

/* --prewarm: a new pass over the configured directories (none: stopped). */
static int prewarm_start(struct fanguard *fg, const struct settings *s)
{
	int r = fanguard_prewarm(fg, ITEMS(s->prewarm), s->prewarm.n);

	if (r >= 0 && s->prewarm.n > 0)
		log_info("Pre-warming the cache from %zu directories", s->prewarm.n);
	return r;
}

static bool prewarm_changed(const struct settings *s, const struct settings *old)
{
	for (const struct setting *e = settings_table; e->name; e++)
		if (strcmp(e->name, "prewarm") == 0)
			return !settings_same(s, old, e);
	return false;
}

static int log_denylist_error(int r, const char *path, unsigned line)
{
	return denylist_error(NULL, 0, r, path, line);
}

static int reload_apply(struct fanguard *fg, const struct settings *old, const struct settings *s,
			char *err, size_t errlen)
{
	size_t file = 0;
	unsigned line = 0;
	int r;

	r = fanguard_replace_deny_sha256_files(fg, ITEMS(s->deny_hashes), s->deny_hashes.n, &file,
					       &line);
	if (r < 0)
		return denylist_error(err, errlen, r,
				      s->deny_hashes.n ? s->deny_hashes.items[file] : "", line);
	log_info("Denylist: %d digests from %zu files", r, s->deny_hashes.n);
	r = load_allowlist(fg, s);
	if (r < 0)
		return r;
	r = watch_added(fg, old, s);
	if (r < 0)
		return settings_error(err, errlen, r, "Failed to watch a new path: %s",
				      strerror(-r));
	(void) fdstore_check_watches(s);
	for (size_t i = 0; i < old->watch.n; i++)
		if (!listed(&s->watch, old->watch.items[i]))
			log_notice("'%s' is no longer configured; its mark stays until restart",
				   old->watch.items[i]);
	for (size_t i = 0; i < old->watch_mount.n; i++)
		if (!listed(&s->watch_mount, old->watch_mount.items[i]))
			log_notice("'%s' is no longer configured; its mark stays until restart",
				   old->watch_mount.items[i]);
	for (size_t i = 0; i < old->watch_fs.n; i++)
		if (!listed(&s->watch_fs, old->watch_fs.items[i]))
			log_notice("'%s' is no longer configured; its mark stays until restart",
				   old->watch_fs.items[i]);
	if (s->yara_rules) {
		r = fanguard_load_yara_rules(fg, s->yara_rules);
		if (r < 0)
			return settings_error(err, errlen, r,
					      "Failed to load YARA rules '%s': %s (compile errors: "
					      "see the log)",
					      s->yara_rules, strerror(-r));
	}
	r = fanguard_set_exclude_paths(fg, ITEMS(s->exclude), s->exclude.n);
	if (r < 0)
		return settings_error(err, errlen, r, "Failed to set the exclusions: %s",
				      strerror(-r));
	r = set_subject_exclusions(fg, s, err, errlen);
	if (r < 0)
		return r;
	/* A changed list restarts the pass (an unchanged one keeps running,
	 * or stays done). */
	if (prewarm_changed(s, old)) {
		r = prewarm_start(fg, s);
		if (r < 0)
			return settings_error(err, errlen, r,
					      "Failed to start the pre-warm pass: %s",
					      strerror(-r));
	}
	return 0;
}

/* The rest shapes the groups, threads and sandbox: it applies at the next
 * start. Keep the running values in s, so that the next reload compares
 * against what is in force, and say which changed. */
static int reload_keep_restart_only(struct settings *s, const struct settings *old)
{
	char changed[512] = "";
	size_t n = 0;
	int r;

	for (const struct setting *e = settings_table; e->name; e++) {
		if ((e->flags & SETTING_RELOAD) || e->type == SETTING_ACTION)
			continue;
		if (!settings_same(s, old, e) && n < sizeof(changed))
			n += (size_t) snprintf(changed + n, sizeof(changed) - n, "%s--%s",
					       n ? ", " : "", e->name);
		r = settings_copy(s, old, e);
		if (r < 0)
			return log_error_errno(r, "Out of memory");
	}
	if (n > 0)
		log_notice("Changed, taking effect at the next start: %s", changed);
	return 0;
}

/* The reload's slow part, on the reload thread (reload-job.h): parses into a
 * fresh struct settings and hands what can change at run time to the
 * library. Reads arg_settings, which only the main thread replaces, and
 * only in reload_commit(), after joining this thread. */
static int reload_prepare(void *userdata, void **ret_state, char *error, size_t errlen)
{
	struct fanguard *fg = userdata;
	struct settings *s, *old = arg_settings;
	enum settings_action action;
	int r;

	log_info("Reloading the configuration%s%s", old->config ? " from " : "",
		 old->config ? old->config : "");
	s = settings_new();
	if (!s)
		r = log_error_errno(ENOMEM, "Out of memory");
	else
		r = settings_load(s, saved_argc, saved_argv, &action, error, errlen);
	if (r >= 0)
		r = reload_apply(fg, old, s, error, errlen);
	if (r >= 0)
		r = reload_keep_restart_only(s, old);
	if (r < 0) {
		settings_free(s);
		return r;
	}
	*ret_state = s;
	return 0;
}

static void settings_free_state(void *state)
{
	settings_free(state);
}

/* On the main thread: swaps the new settings in; on any error the old one
 * stays in force, whole. */
static int reload_commit(int r, struct settings *s, const char *error)
{
	static char last_error[1024]; /* why the last reload failed: for fanguardctl */
	struct settings *old = arg_settings;

	if (r < 0) {
		(void) snprintf(last_error, sizeof(last_error), "%s", error ? error : "");
		ctl.reloads_failed++;
		if (!last_error[0])
			(void) snprintf(last_error, sizeof(last_error), "%s", strerror(-r));
		ctl.reload_error = last_error;
		log_error("Reload failed: keeping the previous configuration: %s", last_error);
		return r;
	}
	arg_settings = s;
	ctl.config_path = s->config;
	ctl.reload_error = NULL;
	settings_free(old);
	ctl.reloads_ok++;
	log_info("Reloaded: %zu watches, %zu denylists, %zu exclusions",
		 s->watch.n + s->watch_mount.n + s->watch_fs.n, s->deny_hashes.n, s->exclude.n);
	return 0;
}

static struct reload_job *reload_job;

/* A reload now, on this thread: when no reload thread can start. */
static int reload_sync(struct fanguard *fg)
{
	char error[1024] = "";
	void *state = NULL;
	int r = reload_prepare(fg, &state, error, sizeof(error));

	return reload_commit(r, state, error);
}

/* ctl.reload and SIGHUP: in the background (reload-job.h). */
static int64_t reload_request(void *userdata)
{
	int64_t gen = reload_job ? reload_job_request(reload_job) : -ENOSYS;

	if (gen > 0) {
#if HAVE_LIBSYSTEMD
		(void) sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading");
#endif
		return gen;
	}
	return reload_sync(userdata);
}

/* The reload thread finished: commit, answer its control clients. */
static void reload_finished(struct control_server *srv)
{
	char error[1024];
	void *state;
	uint64_t gen;
	int r;

	if (!reload_job_collect(reload_job, &r, &state, error, sizeof(error), &gen))
		return;
	r = reload_commit(r, state, error);
	/* The next run, if one was asked for meanwhile, reads what this one
	 * committed; if it cannot start, its clients take this result. */
	if (!reload_job_continue(reload_job))
		gen = UINT64_MAX;
	if (srv)
		control_server_reload_done(srv, gen, r, ctl.reload_error);
#if HAVE_LIBSYSTEMD
	if (!reload_job_running(reload_job))
		(void) sd_notify(0, "READY=1");
#endif
}

/* fanguard_check_health(), and with on-uncovered=fail a watched mount that
 * is not covered (UNCOVERED_HEALTH). */
static int daemon_health(struct fanguard *fg, unsigned *ret_uncovered)
{
	int health = fanguard_check_health(fg, HEALTH_GRACE_MS);
	unsigned n = uncovered_count(fg);

	if (ret_uncovered)
		*ret_uncovered = n;
	if (health == 0 && n > 0 && arg_settings->on_uncovered == ON_UNCOVERED_FAIL)
		health = UNCOVERED_HEALTH;
	return health;
}

static void service_tick(struct fanguard *fg, bool watchdog)
{
	struct stats_table t;
	unsigned uncovered = 0;
	int health = daemon_health(fg, &uncovered);

	if (health != ctl.health) {
		if (health < 0)
			log_error_errno(
				health, "Unhealthy: %s; no longer pinging the watchdog",
				health == -ETIME ? "an event is unanswered past its deadline"
				: health == UNCOVERED_HEALTH
					? "a watched mount is not covered (on-uncovered=fail)"
					: "a group lost its readers");
		else
			log_notice("Healthy again");
		ctl.health = health;
	}
	events_log_tick(fg, &events_state);
	if (stats_table_read(fg, &t) < 0)
		return;
#if HAVE_LIBSYSTEMD
	{
		uint64_t overload = stats_table_get(&t, "overload", NULL);

		/* The alarms first: "OVERLOAD" while a deadline or a full queue
		 * gave a default verdict in the last 10 s; a failed reload stays
		 * until one succeeds (the configuration on disk is not the one in
		 * force). */
		(void) sd_notifyf(
			0,
			"%sSTATUS=%s%s%s%s%s %llu mounts in %llu groups%s%.0u%s: %llu events, %llu "
			"denied, %llu pending, %llu past deadline, %llu queue full",
			watchdog && health == 0 ? "WATCHDOG=1\n" : "", overload ? "OVERLOAD, " : "",
			ctl.reload_error ? "Reload failed (old configuration in force): " : "",
			ctl.reload_error ? ctl.reload_error : "", ctl.reload_error ? "; " : "",
			health == 0 ? "Watching" : "UNHEALTHY, watching",
			(unsigned long long) stats_table_get(&t, "watches", NULL),
			(unsigned long long) stats_table_get(&t, "groups", NULL),
			uncovered ? ", " : "", uncovered, uncovered ? " NOT COVERED" : "",
			(unsigned long long) stats_table_get(&t, "events_read", NULL),
			(unsigned long long) stats_table_get(&t, "denied", NULL),
			(unsigned long long) stats_table_get(&t, "pending", NULL),
			(unsigned long long) stats_table_get(&t, "verdicts", "deadline"),
			(unsigned long long) stats_table_get(&t, "verdicts", "queue-full"));
	}
#else
	(void) watchdog;
#endif
	stats_table_done(&t);
}

/* After every mark is in place: the control socket, then the sandbox. */
static int service_setup(struct fanguard *fg, int *ret_ctl_fd)
{
	const struct settings *a = arg_settings;
	unsigned flags = 0;
	int r;

	ctl.fg = fg;
	ctl.reload = reload_request;
	ctl.userdata = fg;
	ctl.started_usec = now_usec();
	ctl.config_path = a->config;
	ctl.seccomp_mode = seccomp_mode_to_string(a->seccomp);
	ctl.audit = a->audit;
	ctl.quarantine = a->quarantine;
	if (a->control_socket) {
		r = control_listen(a->control_socket, ret_ctl_fd);
		if (r < 0)
			return log_error_errno(r, "Failed to listen on '%s': %m",
					       a->control_socket);
	}
	for (size_t i = 0; i < a->clamd.n; i++)
		if (a->clamd.items[i][0] != '/')
			flags |= FG_SANDBOX_INET; /* --clamd-tcp */
	r = sandbox_seccomp_install(a->seccomp, flags);
	if (r < 0)
		return log_error_errno(r, "Failed to load the seccomp filter: %m");
	return 0;
}

/* YaraRules= changed on disk: reloaded as by SIGHUP (rules-watch.h). */
static struct rules_watch *rules_watch;

static int main_loop(struct fanguard *fg, int sfd, struct control_server *srv)
{
	usec_t tick = 2 * USEC_PER_SEC, next = 0;
	uint64_t wd = 0;

#if HAVE_LIBSYSTEMD
	if (sd_watchdog_enabled(0, &wd) <= 0)
		wd = 0;
#endif
	if (wd > 0 && wd / 2 < tick)
		tick = wd / 2;
	for (;;) {
		struct pollfd p[4] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = srv ? control_server_fd(srv) : -EBADF, .events = POLLIN},
			{.fd = reload_job ? reload_job_fd(reload_job) : -EBADF, .events = POLLIN},
			{.fd = rules_watch_fd(rules_watch), .events = POLLIN}};
		struct signalfd_siginfo si;
		usec_t now = now_usec();
		int timeout = (int) ((next - now) / USEC_PER_MSEC) + 1, ct;
		ssize_t n;

		if (now >= next) {
			service_tick(fg, wd > 0);
			next = now + tick;
			timeout = (int) (tick / USEC_PER_MSEC) + 1;
		}
		/* Wake for the next control client deadline too. */
		ct = srv ? control_server_timeout_ms(srv) : -1;
		if (ct >= 0 && ct < timeout)
			timeout = ct;
		if (poll(p, ELEMENTSOF(p), timeout) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(errno, "poll failed: %m");
		}
		if (p[2].revents & POLLIN)
			reload_finished(srv);
		if ((p[3].revents & POLLIN) && rules_watch_changed(rules_watch)) {
			log_info("YARA rules '%s' changed on disk: reloading",
				 arg_settings->yara_rules);
			(void) reload_request(fg);
			next = 0;
		}
		if (srv) {
			unsigned reloads = ctl.reloads_ok + ctl.reloads_failed;

			if (p[1].revents & POLLIN)
				ctl.health = daemon_health(fg, NULL);
			control_server_process(srv);
			/* A reload by fanguardctl: the status line says how it went. */
			if (reloads != ctl.reloads_ok + ctl.reloads_failed)
				next = 0;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != (ssize_t) sizeof(si))
			return log_error_errno(n < 0 ? errno : EIO, "Failed to read signalfd: %m");
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("Received %s, stopping", strsignal((int) si.ssi_signo));
			return 0;
		case SIGUSR1:
			write_stats(fg);
			break;
		case SIGHUP:
			/* In the background; reload_finished() commits it. */
			if (reload_request(fg) == 0) {
#if HAVE_LIBSYSTEMD
				(void) sd_notify(0, "READY=1");
#endif
			}
			next = 0;
			break;
		default:
			break;
		}
	}
}

#define FUSE_SYS_ADMIN_SWITCH "/sys/module/fuse/parameters/allow_sys_admin_access"

/* AllowSysAdminAccess=yes: lets root (and so the scanner) into every FUSE
 * mount, also users' mounts without allow_other. Machine-wide, and left on
 * at exit: other processes may rely on it by then. */
static int fuse_sys_admin_access_enable(void)
{
	_cleanup_close_ int fd = open(FUSE_SYS_ADMIN_SWITCH, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "Y", 1) != 1)
		return log_error_errno(errno, "Failed to turn on " FUSE_SYS_ADMIN_SWITCH
					      " (AllowSysAdminAccess=yes): %m; users' FUSE mounts "
					      "without allow_other stay uncovered");
	log_notice("Turned on " FUSE_SYS_ADMIN_SWITCH ": root may enter users' FUSE mounts");
	return 0;
}

/* The directory a file is written in ("." for a bare name); caller frees. */
static char *dir_of(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash) {
		free(d);
		return strdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* Landlock: writes only where the daemon writes, TCP connects only to the
 * configured clamd ports. Before any thread starts (see sandbox.h). Paths
 * that change on reload (stats file, pid file, control socket) apply at the
 * next start, as they already did. Off by default: a Landlock domain also
 * denies ptrace-mode access to every process outside it, so /proc/PID/exe
 * and /proc/PID/fd of subjects and FUSE daemons become unreadable (exe
 * exclusions fail closed, loopback daemons go unexplained); on by default
 * once the library confines only the threads that handle content. */
static int landlock_setup(const struct settings *a)
{
	char *dirs[4] = {};
	const char *removes[64];
	uint16_t ports[256];
	struct sandbox_landlock ll = {.write_dirs = (const char *const *) dirs,
				      .remove_dirs = removes,
				      .tcp_ports = ports};
	int r = 0;

	if (!a->landlock)
		return 0;
	/* Quarantine: its directory, and removal of denied files under the
	 * watched paths (a watch marks the whole filesystem: a file outside
	 * every watched path cannot be removed, counted as remove-error). */
	if (a->quarantine && !(dirs[ll.n_write_dirs++] = strdup(a->quarantine)))
		r = -ENOMEM;
	for (size_t i = 0; a->quarantine && i < a->watch.n && ll.n_remove_dirs < 64; i++)
		removes[ll.n_remove_dirs++] = a->watch.items[i];
	for (size_t i = 0; a->quarantine && i < a->watch_fs.n && ll.n_remove_dirs < 64; i++)
		removes[ll.n_remove_dirs++] = a->watch_fs.items[i];
	for (size_t i = 0; a->quarantine && i < a->watch_mount.n && ll.n_remove_dirs < 64; i++)
		removes[ll.n_remove_dirs++] = a->watch_mount.items[i];
	for (size_t i = 0; a->quarantine && i < a->watch_tree.n && ll.n_remove_dirs < 64; i++)
		removes[ll.n_remove_dirs++] = a->watch_tree.items[i];
	if (a->stats_file && !(dirs[ll.n_write_dirs++] = dir_of(a->stats_file)))
		r = -ENOMEM;
	if (a->pid_file && !(dirs[ll.n_write_dirs++] = dir_of(a->pid_file)))
		r = -ENOMEM;
	/* Hook: a quarantine directory goes here too, once one exists. The
	 * verdict store is written beneath its directory; made now (0700,
	 * checked at open) so that the rule has something to name. */
	if (a->verdict_store) {
		if (mkdir(a->verdict_store, 0700) < 0 && errno != EEXIST)
			log_debug_errno(errno, "Failed to create '%s', ignoring: %m",
					a->verdict_store);
		if (!(dirs[ll.n_write_dirs++] = strdup(a->verdict_store)))
			r = -ENOMEM;
	}
	if (a->control_socket && !(dirs[ll.n_write_dirs++] = dir_of(a->control_socket)))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	/* control_listen() creates the socket's directory later: under
	 * Landlock it could not, and the rule needs it now. */
	if (a->control_socket && mkdir(dirs[ll.n_write_dirs - 1], 0700) < 0 && errno != EEXIST)
		log_debug_errno(errno, "Failed to create '%s', ignoring: %m",
				dirs[ll.n_write_dirs - 1]);
	for (size_t i = 0; i < a->clamd.n && ll.n_tcp_ports < ELEMENTSOF(ports); i++) {
		const char *addr = a->clamd.items[i], *colon = strrchr(addr, ':');
		unsigned long port;
		char *end;

		if (addr[0] == '/' || strncmp(addr, "unix:", 5) == 0 || !colon)
			continue;
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno == 0 && *end == '\0' && port > 0 && port <= 65535)
			ports[ll.n_tcp_ports++] = (uint16_t) port;
	}
	r = sandbox_landlock_apply(&ll);
	if (r == 0)
		log_info("Landlock not available in this kernel: file writes are not confined");
	else if (r > 0)
		log_debug("Landlock ABI %d: writes confined to %zu directories, %zu TCP ports", r,
			  ll.n_write_dirs, ll.n_tcp_ports);
out:
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		free(dirs[i]);
	return r;
}

static int run(struct fanguard *fg)
{
	const struct settings *a = arg_settings;
	_cleanup_close_ int sfd = -EBADF;
	_cleanup_close_ int ctl_fd = -EBADF;
	_cleanup_(control_server_freep) struct control_server *srv = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return log_error_errno(errno, "Failed to create signalfd: %m");

	/* Capabilities are per thread, and a thread starts with its creator's:
	 * drop them before the library starts any thread (the log thread may
	 * start as early as loading YARA rules), or those threads keep them. */
	if (a->fuse_allow_sys_admin_access)
		(void) fuse_sys_admin_access_enable();
	for (size_t i = 0; i < a->scan_at_backing.n; i++) {
		r = fanguard_scan_at_backing(fg, a->scan_at_backing.items[i]);
		if (r < 0)
			return log_error_errno(r,
					       "Failed to name '%s' for scanning at the backing "
					       "layer: %m",
					       a->scan_at_backing.items[i]);
		log_warning("'%s': if a root-owned passthrough FUSE mount, scanned at its "
			    "backing layer, not read through its daemon",
			    a->scan_at_backing.items[i]);
	}
	r = fanguard_set_fuse_event_mask(fg, NULL, a->fuse_event_mask);
	for (int m = 0; m < 2 && r >= 0; m++) {
		const struct setting_list *l =
			m ? &a->fuse_event_mask_access : &a->fuse_event_mask_open;

		for (size_t i = 0; i < l->n && r >= 0; i++)
			r = fanguard_set_fuse_event_mask(fg, l->items[i],
							 m ? FANGUARD_FUSE_EVENT_MASK_ACCESS
							   : FANGUARD_FUSE_EVENT_MASK_OPEN);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to set the FUSE event mask: %m");
	if (geteuid() == 0) {
		r = sandbox_drop_capabilities(a->kernel_audit, a->watch_all_fuse, a->quarantine);
		if (r < 0)
			return log_error_errno(r, "Failed to drop capabilities: %m");
	}
	/* Per thread too, so now. */
	r = landlock_setup(a);
	if (r < 0)
		return log_error_errno(r, "Failed to set up Landlock: %m");

	for (size_t i = 0; i < a->deny_hashes.n; i++) {
		const char *path = a->deny_hashes.items[i];
		unsigned line = 0;

		r = fanguard_deny_sha256_file(fg, path, &line);
		if (r == -ENODATA) {
			/* The shipped /etc/fanguard/deny.sha256 starts so: a
			 * service with an empty list still scans with its other
			 * engines and is told digests later by a reload. */
			log_warning("Denylist '%s' holds no digest yet: nothing is denied by hash "
				    "until digests are added and the service reloaded",
				    path);
			continue;
		}
		if (r < 0)
			return log_denylist_error(r, path, line);
		log_info("Loaded %d digests from '%s'", r, path);
	}
	r = load_allowlist(fg, a);
	if (r < 0)
		return r;
	if (a->verdict_store) {
		/* Refusals (owner, mode) are logged by the library. */
		r = fanguard_set_verdict_store(fg, a->verdict_store, a->verdict_store_max_bytes);
		if (r < 0)
			return log_error_errno(r, "Failed to open the verdict store '%s': %m",
					       a->verdict_store);
		log_info("Verdict store: %s", a->verdict_store);
	}
	for (size_t i = 0; i < a->clamd.n; i++) {
		r = fanguard_add_clamd(fg, a->clamd.items[i]);
		if (r < 0)
			return log_error_errno(r, "Bad clamd endpoint '%s': %m", a->clamd.items[i]);
	}
	if (a->yara_rules) {
		/* Compile errors went to the log, line by line. */
		r = fanguard_load_yara_rules(fg, a->yara_rules);
		if (r < 0)
			return log_error_errno(r, "Failed to load YARA rules '%s': %m",
					       a->yara_rules);
	}
	r = fanguard_set_exclude_paths(fg, ITEMS(a->exclude), a->exclude.n);
	if (r < 0)
		return log_error_errno(r, "Failed to set the exclusions: %m");
	r = set_subject_exclusions(fg, a, NULL, 0);
	if (r < 0)
		return r;
	/* Groups a previous fanguardd handed over, then the watches (which
	 * claim them by name), then start: fanguard_start() closes the
	 * adopted groups no watch claimed. */
	(void) fdstore_adopt(fg, a);
	r = watch_added(fg, NULL, a);
	if (r < 0)
		return r;
	(void) fdstore_check_watches(a);
	r = fanguard_start(fg);
	if (r < 0)
		return log_error_errno(r, "Failed to start: %m");
	r = uncovered_check_start(fg, a->on_uncovered == ON_UNCOVERED_FAIL);
	if (r < 0)
		return r;
	/* Every start mark is in place: what the pass caches is covered. */
	if (a->prewarm.n > 0) {
		r = prewarm_start(fg, a);
		if (r < 0)
			log_warning_errno(r, "Failed to start the pre-warm pass, ignoring: %m");
	}
	/* Reloads run on a thread of their own; without it, synchronously. */
	r = reload_job_new(reload_prepare, fg, &reload_job);
	if (r < 0)
		log_warning_errno(r, "Reloads will hold the main loop: %m");
	/* Before the sandbox: no watch can be added once it is on. */
	if (a->yara_rules) {
		r = rules_watch_new(a->yara_rules, &rules_watch);
		if (r < 0)
			log_warning_errno(
				r,
				"Cannot watch '%s', ignoring: rules changed on disk apply "
				"at the next reload: %m",
				a->yara_rules);
	}
	/* The control socket and the sandbox, before anyone is told we are ready. */
	r = service_setup(fg, &ctl_fd);
	if (r < 0)
		return r;
	if (ctl_fd >= 0) {
		r = control_server_new(ctl_fd, &ctl, &srv);
		if (r < 0)
			return log_error_errno(r, "Failed to set up the control socket: %m");
	}
	if (a->pid_file) {
		char pid[32];

		(void) snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
		r = write_file_atomic(a->pid_file, pid);
		if (r < 0)
			return log_error_errno(r, "Failed to write '%s': %m", a->pid_file);
	}
#if HAVE_LIBSYSTEMD
	/* Every mark is in place and the sandbox is on. */
	(void) sd_notify(0, "READY=1\nSTATUS=Watching");
#endif
	log_info("Ready: %zu watches, %zu tree watches, seccomp %s",
		 a->watch.n + a->watch_mount.n + a->watch_fs.n, a->watch_tree.n,
		 seccomp_mode_to_string(a->seccomp));
	return main_loop(fg, sfd, srv);
}

int main(int argc, char **argv)
{
	struct fanguard_options opts = {.size = sizeof(opts)};
	struct fanguard *fg = NULL;
	enum settings_action action = SETTINGS_RUN;
	struct rlimit rl;
	sigset_t mask;
	unsigned stored = 0;
	bool scans_done;
	int r, rr;

	log_set_ident("fanguardd");
	if (stderr_is_journal())
		log_set_target(LOG_TARGET_JOURNAL); /* structured fields reach it */
	saved_argc = argc;
	saved_argv = argv;
	arg_settings = settings_new();
	if (!arg_settings) {
		log_error_errno(ENOMEM, "Out of memory");
		return EXIT_FAILURE;
	}
	r = settings_load(arg_settings, argc, argv, &action, NULL, 0);
	if (r >= 0 && action == SETTINGS_HELP)
		settings_help(stdout);
	else if (r >= 0 && action == SETTINGS_VERSION)
		printf("fanguardd %s\n", FANGUARD_VERSION);
	/* --check-config: also what start checks beyond the settings. */
	if (r >= 0 && action == SETTINGS_CHECK)
		r = check_config_dirs(arg_settings);
	if (r < 0 || action != SETTINGS_RUN) {
		/* --check-config: the errors are logged; the exit status says it. */
		if (r < 0 && action == SETTINGS_RUN)
			fdstore_drop();
		arg_settings = settings_free(arg_settings);
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	log_set_max_level(arg_settings->log_level);
	if (arg_settings->log_format == LOG_FORMAT_JSON) {
		/* JSON lines on stderr, also under systemd (the journal then
		 * stores each line as MESSAGE): what a SIEM shipper reads. */
		log_set_target(LOG_TARGET_STDERR);
		log_set_writer(log_json_write);
	}
	if (arg_settings->stats_file && !(arg_stats_file = strdup(arg_settings->stats_file))) {
		log_error_errno(ENOMEM, "Out of memory");
		fdstore_drop();
		arg_settings = settings_free(arg_settings);
		return EXIT_FAILURE;
	}

	/* Block before any thread exists: every thread inherits the mask and
	 * signals are read from the signalfd only. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Every event in flight holds an fd, and the kernel denies an event
	 * whose fd it cannot create: take every fd the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE, ignoring: %m");
	}

	/* Say which privilege is missing, rather than a bare EPERM later. */
	if (privileges_check() < 0) {
		fdstore_drop();
		arg_settings = settings_free(arg_settings);
		free(arg_stats_file);
		return PRIVILEGES_EXIT_STATUS;
	}

	/* The on-deny helper: forked now, while this process has one thread
	 * and before the sandbox forbids fork and exec. */
	if (arg_settings->on_deny) {
		struct hook_settings hs = {
			.program = arg_settings->on_deny,
			.timeout_ms = arg_settings->on_deny_timeout_ms ?: 10000,
			.per_minute = arg_settings->on_deny_per_minute ?: 60,
		};

		r = hook_user(arg_settings->on_deny_user, &hs.uid, &hs.gid); /* logs */
		if (r >= 0 && (r = hook_start(&hs)) < 0 && r != -EPERM)
			log_error_errno(r, "Failed to start the on-deny helper: %m");
		if (r < 0) {
			fdstore_drop();
			arg_settings = settings_free(arg_settings);
			free(arg_stats_file);
			return EXIT_FAILURE;
		}
	}

	settings_to_options(arg_settings, &opts);
	opts.log_fn = on_log;
	opts.verdict_fn = events_log_verdict;
	r = fanguard_new(&opts, &fg);
	if (r < 0) {
		log_error_errno(r, "Failed to set up the listener: %m");
		fdstore_drop();
		arg_settings = settings_free(arg_settings);
		free(arg_stats_file);
		return EXIT_FAILURE;
	}
	for (int i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++) {
		struct fanguard_class_options co;

		settings_to_class_options(arg_settings, i, &co);
		r = fanguard_set_class_options(fg, i, &co);
		if (r < 0) {
			log_error_errno(r, "Failed to set the %s settings: %m",
					fanguard_mount_class_to_string(i));
			fg = fanguard_free(fg);
			fdstore_drop();
			arg_settings = settings_free(arg_settings);
			free(arg_stats_file);
			return EXIT_FAILURE;
		}
	}
	r = quarantine_dir_setup(fg, arg_settings); /* logs */
	if (r < 0) {
		fg = fanguard_free(fg);
		fdstore_drop();
		arg_settings = settings_free(arg_settings);
		free(arg_stats_file);
		return EXIT_FAILURE;
	}
	r = run(fg);
#if HAVE_LIBSYSTEMD
	(void) sd_notify(0, "STOPPING=1");
#endif
	/* A reload still running finishes first: it calls into the library. */
	reload_job_free(reload_job, settings_free_state);
	rules_watch = rules_watch_free(rules_watch);
	reload_job = NULL;
	/* Scan sessions use fg: end them first (a scan in flight finishes). */
	scans_done = control_scan_stop_all(2 * USEC_PER_SEC);
	/* A clean stop under systemd keeps the groups in its fd store for the
	 * next instance; after an error they are closed (their waiters
	 * allowed), never kept. */
	if (r >= 0)
		rr = fdstore_stop(fg, 5000, &stored);
	else {
		rr = fanguard_stop(fg, 5000);
		fdstore_drop(); /* if run() failed before it adopted them */
	}
	if (rr == -ETIMEDOUT)
		log_warning("Some threads are stuck in a FUSE request; exiting without them");
	write_stats(fg);
	if (scans_done)
		fg = fanguard_free(fg);
	else
		log_warning("An on-demand scan is still running; exiting without freeing it");
	hook_stop();
	/* Restart-only: still the values the daemon started with. */
	if (arg_settings->pid_file)
		(void) unlink(arg_settings->pid_file);
	if (arg_settings->control_socket && ctl.fg)
		(void) unlink(arg_settings->control_socket);
	arg_settings = settings_free(arg_settings);
	free(arg_stats_file);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
