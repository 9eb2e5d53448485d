/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguard.conf parsing (listener/fanguardd/conffile.c, libinih): every key
 * reaches the apply callback as its long option, in file order; flags and
 * negated flags follow their boolean; unknown sections and keys, empty
 * values, bad booleans, syntax errors, overlong lines and values the callback
 * rejects fail with -EINVAL and nothing after the error is applied.
 * Unprivileged: temporary files only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conffile.h"

struct record {
	char seen[4096];
	unsigned n;
	const char *reject; /* option whose value the callback rejects */
};

static int apply(void *userdata, const char *option, const char *value)
{
	struct record *r = userdata;
	size_t l = strlen(r->seen);

	if (r->reject && strcmp(option, r->reject) == 0)
		return -EINVAL;
	(void) snprintf(r->seen + l, sizeof(r->seen) - l, "%s--%s%s%s", l ? " " : "", option,
			value ? "=" : "", value ? value : "");
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
	int r = config_parse_file(path, apply, rec);

	unlink(path);
	free(path);
	return r;
}

static void test_valid(void **state)
{
	struct record rec = {0};

	(void) state;
	assert_int_equal(parse_text("# comment\n; another\n"
				    "[Watch]\nMount = /srv\nMount=/mnt/x\nExclude = /srv/cache\n"
				    "ExcludeUid = 34\nExcludeExe = /usr/bin/borg\n"
				    "[Events]\nExec = no\nAccess = yes\n"
				    "[scan]\ndenyhashes = /etc/fanguard/deny.sha256\n"
				    "[FUSE]\nDeadlineMs = 1000\nDefaultVerdict = deny\n"
				    "[Cache]\nEnabled = yes\n"
				    "[Daemon]\nSeccomp = errno\n",
				    &rec),
			 0);
	assert_string_equal(rec.seen, "--watch=/srv --watch=/mnt/x --exclude=/srv/cache "
				      "--exclude-uid=34 --exclude-exe=/usr/bin/borg --no-exec "
				      "--access --deny-hashes=/etc/fanguard/deny.sha256 "
				      "--fuse-deadline-ms=1000 --fuse-default-verdict=deny "
				      "--seccomp=errno");
}

static void test_every_key_has_an_option(void **state)
{
	(void) state;
	for (const struct config_key *k = config_keys; k->section; k++) {
		assert_non_null(k->key);
		assert_non_null(k->option);
		assert_true(k->option[0] != '-');
	}
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"[Watch]\nMount = /srv\nBogus = 1\n",	   /* unknown key */
		"[Nope]\nMount = /srv\n",		   /* unknown section */
		"Mount = /srv\n",			   /* key before any section */
		"[Watch]\nMount =\n",			   /* empty value */
		"[Events]\nAccess = maybe\n",		   /* not a boolean */
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
	assert_int_equal(parse_text("[Watch]\nMount = /a\nBogus = 1\nMount = /b\n", &rec), -EINVAL);
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
	assert_int_equal(config_parse_file("/nonexistent/fanguard.conf", apply, &rec), -ENOENT);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_every_key_has_an_option),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stops_at_first_error),
		cmocka_unit_test(test_rejected_value),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_bool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
