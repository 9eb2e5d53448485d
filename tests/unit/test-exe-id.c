/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/exe-id: an exclusion matches the running image and the uid
 * together; never the path, never the file alone. Runs this test binary's
 * own process and a copy of it. Unprivileged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "exe-id.h"

static void test_self(void **state)
{
	struct exe_id rule, me, other_uid, copy;
	char exe[4096], tmp[] = "/tmp/fg-unit-exe.XXXXXX", cmd[8300];
	ssize_t n;
	int fd;

	(void) state;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(exe_id_of_pid(getpid(), &me), 0);
	assert_int_equal(me.uid, geteuid());
	/* The rule for this binary and our uid matches us. */
	assert_int_equal(exe_id_from_path(exe, geteuid(), &rule), 0);
	assert_true(exe_id_matches(&rule, &me));
	/* The same file under another uid does not. */
	assert_int_equal(exe_id_from_path(exe, geteuid() + 1, &other_uid), 0);
	assert_false(exe_id_matches(&other_uid, &me));
	/* A byte-identical copy at another path is another file. */
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", exe, tmp);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(exe_id_from_path(tmp, geteuid(), &copy), 0);
	assert_false(exe_id_matches(&copy, &me));
	unlink(tmp);
	/* Bad input. */
	assert_int_equal(exe_id_from_path("/nonexistent/x", 0, &rule), -ENOENT);
	assert_int_equal(exe_id_from_path("/", 0, &rule), -EINVAL);
	assert_int_equal(exe_id_of_pid(0, &me), -EINVAL);
	assert_int_equal(exe_id_of_pid(-5, &me), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
