/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pre-warm pass (listener/lib/prewarm.c): the walk's decision for one
 * directory entry, and fanguard_prewarm()'s checks at the border (before
 * start, after stop, bad arguments). Unprivileged: no group is made; the
 * listener is never started (a started one needs fanotify). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "fanguard.h"
#include "fg-internal.h"
#include "prewarm-internal.h"

#define ALL (STATX_TYPE | STATX_SIZE | STATX_MNT_ID)

static struct statx entry(unsigned mask, mode_t mode, uint64_t size, uint64_t mnt)
{
	struct statx stx;

	memset(&stx, 0, sizeof(stx));
	stx.stx_mask = mask;
	stx.stx_mode = (uint16_t) mode;
	stx.stx_size = size;
	stx.stx_mnt_id = mnt;
	return stx;
}

static void test_step(void **state)
{
	enum prewarm_skip why = _PREWARM_SKIP_MAX;
	struct statx stx;

	(void) state;
	stx = entry(ALL, S_IFREG | 0644, 100, 7);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SCAN);
	/* At the limit is scanned, as the listener scans it. */
	stx = entry(ALL, S_IFREG | 0644, 1000, 7);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SCAN);
	stx = entry(ALL, S_IFREG | 0644, 1001, 7);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
	assert_int_equal(why, PREWARM_SKIP_TOO_LARGE);
	stx = entry(ALL, S_IFDIR | 0755, 4096, 7);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_DESCEND);
	/* Never followed, never opened. */
	const mode_t others[] = {S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		why = _PREWARM_SKIP_MAX;
		stx = entry(ALL, others[i] | 0644, 0, 7);
		assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
		assert_int_equal(why, PREWARM_SKIP_NOT_REGULAR);
	}
	/* A mount point, or a file bind-mounted: another mount, whatever it is. */
	stx = entry(ALL, S_IFDIR | 0755, 4096, 8);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
	assert_int_equal(why, PREWARM_SKIP_OTHER_FS);
	stx = entry(ALL, S_IFREG | 0644, 1, 8);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
	assert_int_equal(why, PREWARM_SKIP_OTHER_FS);
	/* A statx that failed or could not tell the mount: never guessed. */
	stx = entry(0, 0, 0, 0);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
	assert_int_equal(why, PREWARM_SKIP_ERROR);
	stx = entry(STATX_TYPE | STATX_SIZE, S_IFREG | 0644, 1, 7);
	assert_int_equal(prewarm_step_for(&stx, 7, 1000, &why), PREWARM_STEP_SKIP);
	assert_int_equal(why, PREWARM_SKIP_ERROR);
}

static void test_names(void **state)
{
	(void) state;
	assert_string_equal(prewarm_state_to_string(PREWARM_DONE), "done");
	assert_string_equal(prewarm_skip_to_string(PREWARM_SKIP_BUDGET), "budget");
	assert_string_equal(prewarm_skip_to_string(_PREWARM_SKIP_MAX), "?");
}

static void test_api_border(void **state)
{
	struct fanguard_options o = {.size = sizeof(o)};
	const char *rel[] = {"usr/bin"}, *abs[] = {"/usr/bin"}, *none[] = {NULL};
	uint64_t v[256];
	struct fanguard *fg = NULL;
	int n;

	(void) state;
	assert_int_equal(fanguard_prewarm(NULL, abs, 1), -EINVAL);
	if (fanguard_new(&o, &fg) < 0)
		skip();
	assert_int_equal(fanguard_prewarm(fg, NULL, 1), -EINVAL);
	assert_int_equal(fanguard_prewarm(fg, rel, 1), -EINVAL);
	assert_int_equal(fanguard_prewarm(fg, none, 1), -EINVAL);
	assert_int_equal(fanguard_prewarm(fg, abs, 100000), -E2BIG);
	/* Nothing to mark in yet. */
	assert_int_equal(fanguard_prewarm(fg, abs, 1), -EAGAIN);
	assert_int_equal(atomic_load(&fg->prewarm.state), PREWARM_OFF);
	n = fanguard_stats_snapshot(fg, v, sizeof(v) / sizeof(v[0]));
	assert_true(n > 0 && (size_t) n <= sizeof(v) / sizeof(v[0]));
	assert_int_equal(fanguard_stop(fg, 1000), 0);
	assert_int_equal(fanguard_prewarm(fg, abs, 1), -ESHUTDOWN);
	fanguard_free(fg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_api_border),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
