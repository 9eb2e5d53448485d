/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd's settings (listener/fanguardd/settings.c, conffile.c over
 * libinih). The file: every key reaches the apply callback as its row of the
 * settings table, in file order; unknown sections and keys, syntax errors,
 * overlong lines and values the callback rejects fail with -EINVAL and
 * nothing after the error is applied. The table: file keys are unique, every
 * row is in --help, values parse into struct settings with their checks
 * (ranges, verdicts, absolute paths, booleans), the file comes before the
 * command line (single values replaced, lists added up), and compare/copy
 * (what a reload uses) agree. Unprivileged: temporary files only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "conffile.h"
#include "log.h"
#include "macro.h"
#include "sandbox.h"
#include "settings.h"

struct record {
	char seen[4096];
	unsigned n;
	const char *reject; /* option whose value the callback rejects */
};

static int apply(void *userdata, const struct setting *e, const char *value, char *err,
		 size_t errlen)
{
	struct record *r = userdata;
	size_t l = strlen(r->seen);

	if (r->reject && strcmp(e->name, r->reject) == 0)
		return -EINVAL;
	(void) snprintf(r->seen + l, sizeof(r->seen) - l, "%s--%s=%s", l ? " " : "", e->name,
			value);
	r->n++;
	return 0;
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test-config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	return path;
}

static int parse_text(const char *text, struct record *rec)
{
	char *path = write_tmp(text);
	int r = config_parse_file(path, settings_table, apply, rec, NULL, 0);

	unlink(path);
	free(path);
	return r;
}

static void test_valid(void **state)
{
	struct record rec = {0};

	(void) state;
	assert_int_equal(parse_text("# comment\n; another\n"
				    "[Watch]\nPath = /srv\nMount=/mnt/x\nExclude = /srv/cache\n"
				    "ExcludeUid = 34\nExcludeExe = /usr/bin/borg\n"
				    "[Events]\nExec = no\nAccess = yes\n"
				    "[scan]\ndenyhashes = /etc/fanguard/deny.sha256\n"
				    "[FUSE]\nDeadlineMs = 1000\nDefaultVerdict = deny\n"
				    "[Cache]\nEnabled = yes\n"
				    "[Daemon]\nSeccomp = errno\n",
				    &rec),
			 0);
	assert_string_equal(rec.seen, "--watch=/srv --watch-mount=/mnt/x --exclude=/srv/cache "
				      "--exclude-uid=34 --exclude-exe=/usr/bin/borg --no-exec=no "
				      "--access=yes --deny-hashes=/etc/fanguard/deny.sha256 "
				      "--fuse-deadline-ms=1000 --fuse-default-verdict=deny "
				      "--no-cache=yes --seccomp=errno");
}

static void test_file_keys_unique(void **state)
{
	(void) state;
	for (const struct setting *k = settings_table; k->name; k++) {
		assert_true(k->help && k->help[0]);
		assert_true((k->section == NULL) == (k->key == NULL));
		if (!k->section)
			continue;
		for (const struct setting *j = k + 1; j->name; j++)
			assert_false(j->section && strcasecmp(j->section, k->section) == 0 &&
				     strcasecmp(j->key, k->key) == 0);
	}
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"[Watch]\nMount = /srv\nBogus = 1\n",	   /* unknown key */
		"[Nope]\nMount = /srv\n",		   /* unknown section */
		"Mount = /srv\n",			   /* key before any section */
		"[Watch]\nthis line has no equals sign\n", /* syntax */
		"[Watch\nMount = /srv\n",		   /* unterminated section */
	};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct record rec = {0};

		assert_int_equal(parse_text(bad[i], &rec), -EINVAL);
	}
}

static void test_stops_at_first_error(void **state)
{
	struct record rec = {0};

	(void) state;
	assert_int_equal(parse_text("[Watch]\nPath = /a\nBogus = 1\nPath = /b\n", &rec), -EINVAL);
	assert_string_equal(rec.seen, "--watch=/a");
}

static void test_rejected_value(void **state)
{
	struct record rec = {.reject = "local-deadline-ms"};

	(void) state;
	assert_int_equal(parse_text("[Local]\nDeadlineMs = soon\n[Watch]\nMount = /a\n", &rec),
			 -EINVAL);
	assert_int_equal(rec.n, 0);
}

static void test_long_line(void **state)
{
	char text[1024];
	struct record rec = {0};

	(void) state;
	(void) snprintf(text, sizeof(text), "[Watch]\nMount = /%0600d\nMount = /b\n", 0);
	assert_int_equal(parse_text(text, &rec), -EINVAL);
}

static void test_missing_file(void **state)
{
	struct record rec = {0};

	(void) state;
	assert_int_equal(config_parse_file("/nonexistent/fanguard.conf", settings_table, apply,
					   &rec, NULL, 0),
			 -ENOENT);
}

static void test_bool(void **state)
{
	bool b;

	(void) state;
	assert_int_equal(config_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("2", &b), -EINVAL);
}

static const struct setting *row(const char *name)
{
	for (const struct setting *e = settings_table; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	fail_msg("no row --%s", name);
	return NULL;
}

/* settings_set() on one row: 0 or -EINVAL with a reason. */
static int set(struct settings *s, const char *name, const char *value, bool from_file)
{
	char err[256];
	int r = settings_set(s, row(name), value, from_file, err, sizeof(err));

	if (r < 0)
		assert_true(err[0] != '\0');
	return r;
}

static void test_values(void **state)
{
	struct settings *s = settings_new();

	(void) state;
	assert_non_null(s);
	/* Ranges and kinds. */
	assert_int_equal(set(s, "deadline-ms", "0", false), -EINVAL);
	assert_int_equal(set(s, "deadline-ms", "3600001", false), -EINVAL);
	assert_int_equal(set(s, "deadline-ms", "soon", false), -EINVAL);
	assert_int_equal(set(s, "deadline-ms", "-1", false), -EINVAL);
	assert_int_equal(set(s, "deadline-ms", "250", false), 0);
	for (int i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++)
		assert_int_equal(s->deadline_ms[i], 250);
	assert_int_equal(set(s, "fuse-deadline-ms", "900", false), 0);
	assert_int_equal(s->deadline_ms[FANGUARD_MOUNT_FUSE], 900);
	assert_int_equal(s->deadline_ms[FANGUARD_MOUNT_LOCAL], 250);
	assert_int_equal(set(s, "queue-len", "0", false), -EINVAL);
	assert_int_equal(set(s, "workers", "1025", false), -EINVAL);
	assert_int_equal(set(s, "workers", "0", false), 0);
	assert_int_equal(set(s, "default-verdict", "maybe", false), -EINVAL);
	assert_int_equal(set(s, "network-default-verdict", "deny", false), 0);
	assert_int_equal(s->default_verdict[FANGUARD_MOUNT_NETWORK], FANGUARD_DENY);
	assert_int_equal(s->default_verdict[FANGUARD_MOUNT_LOCAL], 0);
	assert_int_equal(set(s, "seccomp", "sometimes", false), -EINVAL);
	assert_int_equal(set(s, "log-level", "loud", false), -EINVAL);
	assert_int_equal(set(s, "exclude-uid", "4294967295", false), -EINVAL);
	assert_int_equal(set(s, "exclude-uid", "4294967294", false), 0);
	assert_int_equal(set(s, "max-scan-bytes", "18446744073709551615", false), 0);
	assert_int_equal(s->max_scan_bytes, UINT64_MAX);
	/* Paths. */
	assert_int_equal(set(s, "exclude", "relative/x", false), -EINVAL);
	assert_int_equal(set(s, "exclude-exe", "bash", false), -EINVAL);
	assert_int_equal(set(s, "clamd-socket", "clamd.ctl", false), -EINVAL);
	assert_int_equal(set(s, "clamd-tcp", "127.0.0.1:3310", false), 0);
	assert_int_equal(set(s, "control-socket", "run/x", false), -EINVAL);
	assert_int_equal(set(s, "control-socket", "", false), 0);
	assert_int_equal(set(s, "watch", "", true), -EINVAL);
	assert_int_equal(set(s, "pid-file", "/run/a.pid", false), 0);
	assert_int_equal(set(s, "pid-file", "/run/b.pid", false), 0);
	assert_string_equal(s->pid_file, "/run/b.pid");
	/* Flags: bare on the command line, booleans in the file, some inverted. */
	assert_int_equal(set(s, "access", NULL, false), 0);
	assert_true(s->access);
	assert_int_equal(set(s, "access", "maybe", true), -EINVAL);
	assert_int_equal(set(s, "access", "no", true), 0);
	assert_false(s->access);
	assert_int_equal(set(s, "no-exec", "no", true), 0); /* Exec = no */
	assert_true(s->no_exec);
	assert_int_equal(set(s, "no-cache", "yes", true), 0); /* Enabled = yes */
	assert_false(s->no_cache);
	assert_int_equal(set(s, "verbose", NULL, false), 0);
	assert_int_equal(s->log_level, LOG_DEBUG);
	settings_free(s);
}

static void test_file_then_command_line(void **state)
{
	char *path = write_tmp("[Watch]\nPath = /a\nExclude = /a/cache\n"
			       "[FUSE]\nDeadlineMs = 1000\n[Local]\nWorkers = 3\n"
			       "[Daemon]\nStatsFile = /from/file\nSeccomp = errno\n");
	char *argv[] = {"fanguardd",  "--config",
			path,	      "--watch",
			"/b",	      "-x",
			"/b/tmp",     "-w",
			"/c",	      "--stats-file",
			"/from/argv", "--deadline-ms",
			"200",	      "--local-deadline-ms",
			"50",	      NULL};
	struct settings *s = settings_new();
	struct fanguard_options o = {};
	struct fanguard_class_options co;
	enum settings_action action = SETTINGS_HELP;

	(void) state;
	assert_int_equal(settings_load(s, (int) ELEMENTSOF(argv) - 1, argv, &action, NULL, 0), 0);
	assert_int_equal(action, SETTINGS_RUN);
	assert_int_equal(s->watch.n, 3);
	assert_string_equal(s->watch.items[0], "/a");
	assert_string_equal(s->watch.items[1], "/b");
	assert_string_equal(s->watch.items[2], "/c");
	assert_int_equal(s->exclude.n, 2);
	assert_string_equal(s->stats_file, "/from/argv");
	assert_string_equal(s->config, path);
	/* --config without ControlSocket= gets the default socket. */
	assert_string_equal(s->control_socket, "/run/fanguard/control");
	settings_to_options(s, &o);
	assert_int_equal(o.size, sizeof(o));
	settings_to_class_options(s, FANGUARD_MOUNT_FUSE, &co);
	assert_int_equal(co.size, sizeof(co));
	assert_int_equal(co.deadline_ms, 200);
	settings_to_class_options(s, FANGUARD_MOUNT_LOCAL, &co);
	assert_int_equal(co.deadline_ms, 50);
	assert_int_equal(co.n_workers, 3);
	assert_int_equal(o.events, FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC);
	assert_int_equal(s->seccomp, FG_SECCOMP_ERRNO);
	settings_free(s);
	unlink(path);
	free(path);
}

/* Issue 13's settings: watch kinds, the root filesystem, FUSE policies. */
static void test_coverage_settings(void **state)
{
	char *path = write_tmp("[Watch]\nPath = /a\nMount = /m\nFilesystem = /f\n"
			       "RootFilesystem = yes\nScanAtBacking = /srv/bindfs\n"
			       "[FUSE]\nUserExec = deny\nAllowSysAdminAccess = yes\n");
	char *argv[] = {"fanguardd", "--config", path, "--watch-mount", "/m2", NULL};
	char *bad[] = {"fanguardd", "-w", "/a", "--fuse-user-exec", "maybe", NULL};
	char *rel[] = {"fanguardd", "-w", "/a", "--scan-at-backing", "relative", NULL};
	struct settings *s = settings_new();
	struct fanguard_options o = {};
	enum settings_action action;

	(void) state;
	assert_int_equal(settings_load(s, (int) ELEMENTSOF(argv) - 1, argv, &action, NULL, 0), 0);
	assert_int_equal(s->watch.n, 1);
	assert_int_equal(s->watch_mount.n, 2);
	assert_string_equal(s->watch_mount.items[1], "/m2");
	assert_int_equal(s->watch_fs.n, 1);
	assert_true(s->watch_root_fs);
	assert_int_equal(s->scan_at_backing.n, 1);
	assert_string_equal(s->scan_at_backing.items[0], "/srv/bindfs");
	assert_true(s->fuse_allow_sys_admin_access);
	settings_to_options(s, &o);
	assert_int_equal(o.fuse_user_exec, FANGUARD_FUSE_USER_EXEC_DENY);
	settings_free(s);
	s = settings_new();
	assert_true(settings_load(s, (int) ELEMENTSOF(bad) - 1, bad, &action, NULL, 0) < 0);
	settings_free(s);
	s = settings_new();
	assert_true(settings_load(s, (int) ELEMENTSOF(rel) - 1, rel, &action, NULL, 0) < 0);
	settings_free(s);
	unlink(path);
	free(path);
}

static void test_load_errors(void **state)
{
	char *path = write_tmp("[Watch]\nMount = /a\n[Local]\nDeadlineMs = 0\n");
	char *bad_file[] = {"fanguardd", "-c", path, NULL};
	char *nothing[] = {"fanguardd", "--deadline-ms", "5", NULL};
	char *bad_arg[] = {"fanguardd", "-w", "/a", "--deadline-ms", "0", NULL};
	char *extra[] = {"fanguardd", "-w", "/a", "stray", NULL};
	char *check[] = {"fanguardd", "-w", "/a", "--check-config", NULL};
	char *help[] = {"fanguardd", "--help", NULL};
	char **cases[] = {bad_file, nothing, bad_arg, extra};
	const char *why[] = {":4: invalid value for [Local] DeadlineMs=0: 0 is out of range",
			     "Nothing to watch", "--deadline-ms: 0 is out of range 1..3600000",
			     "Unexpected argument 'stray'"};
	enum settings_action action;

	(void) state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct settings *s = settings_new();
		int argc = 0;

		while (cases[i][argc])
			argc++;
		char err[512] = "";

		assert_int_equal(settings_load(s, argc, cases[i], &action, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, why[i]));
		settings_free(s);
	}
	{
		struct settings *s = settings_new();

		assert_int_equal(settings_load(s, 4, check, &action, NULL, 0), 0);
		assert_int_equal(action, SETTINGS_CHECK);
		settings_free(s);
		s = settings_new();
		assert_int_equal(settings_load(s, 2, help, &action, NULL, 0), 0);
		assert_int_equal(action, SETTINGS_HELP);
		settings_free(s);
	}
	unlink(path);
	free(path);
}

static void test_help_lists_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void) state;
	assert_non_null(f);
	settings_help(f);
	assert_int_equal(fclose(f), 0);
	for (const struct setting *e = settings_table; e->name; e++) {
		char opt[64];

		(void) snprintf(opt, sizeof(opt), "--%s%s", e->name, e->metavar ? " " : "");
		assert_non_null(strstr(text, opt));
	}
	free(text);
}

static void test_copy_and_same(void **state)
{
	char *argv[] = {"fanguardd", "-w", "/a",	 "--watch-fs", "/b", "--exclude-uid",
			"7",	     "-d", "/d.sha256",	 "--workers",  "4",  "--seccomp",
			"log",	     "-v", "--no-cache", "--pid-file", "/p", NULL};
	struct settings *a = settings_new(), *b = settings_new();
	char *minimal[] = {"fanguardd", "-w", "/z", NULL};
	enum settings_action action;

	(void) state;
	assert_int_equal(settings_load(a, (int) ELEMENTSOF(argv) - 1, argv, &action, NULL, 0), 0);
	assert_int_equal(settings_load(b, 3, minimal, &action, NULL, 0), 0);
	for (const struct setting *e = settings_table; e->name; e++) {
		assert_int_equal(settings_copy(b, a, e), 0);
		assert_true(settings_same(a, b, e));
		/* Idempotent, and rows sharing a field (clamd) stay right. */
		assert_int_equal(settings_copy(b, a, e), 0);
		assert_true(settings_same(a, b, e));
	}
	assert_int_equal(b->exclude_uid.n, 1);
	assert_int_equal(b->exclude_uid.items[0], 7);
	assert_string_equal(b->watch.items[0], "/a");
	assert_int_equal(b->log_level, LOG_DEBUG);
	assert_true(b->no_cache);
	assert_int_equal(set(b, "watch", "/y", false), 0);
	assert_false(settings_same(a, b, row("watch")));
	assert_true(settings_same(a, b, row("watch-fs")));
	settings_free(a);
	settings_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_file_keys_unique),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stops_at_first_error),
		cmocka_unit_test(test_rejected_value),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_file_then_command_line),
		cmocka_unit_test(test_coverage_settings),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_help_lists_every_option),
		cmocka_unit_test(test_copy_and_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
