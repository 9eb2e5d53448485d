/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for listener/lib/loopback-backing.c: which facts make a FUSE
 * mount "served from this host" (loopback_decide), and the backing evidence
 * gathered from a real process (this one) standing in for a daemon: a held
 * directory named by the source is backing; a held directory named by
 * nothing, argv paths and the source alone are not; a file it writes is
 * never a source. Unprivileged: no mounts, no fanotify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fd-util.h"
#include "loopback-internal.h"
#include "macro.h"
#include "mounts.h"

static void test_decide(void **state)
{
	(void) state;
	/* Nothing known: not from this host. */
	assert_false(loopback_decide(&(struct origin_facts){}));
	/* bindfs, fuse-overlayfs, fuse2fs: held and named. */
	assert_true(loopback_decide(&(struct origin_facts){.daemon = true, .n_backing = 1}));
	/* A connection to another host wins over everything. */
	assert_false(loopback_decide(
		&(struct origin_facts){.daemon = true, .n_backing = 3, .remote = true}));
	/* encfs, mergerfs: argv only, and no socket at all. */
	assert_true(loopback_decide(&(struct origin_facts){.daemon = true, .n_hints = 1}));
	/* ... but with a TCP or UDP socket, argv decides nothing. */
	assert_false(loopback_decide(
		&(struct origin_facts){.daemon = true, .n_hints = 2, .inet = true}));
	assert_false(
		loopback_decide(&(struct origin_facts){.daemon = true, .n_held = 1, .inet = true}));
	/* Held files on local mounts, named by nothing, no socket. */
	assert_true(loopback_decide(&(struct origin_facts){.daemon = true, .n_held = 1}));
	/* Without the daemon (no /dev/fuse holder found), hints are nothing. */
	assert_false(loopback_decide(&(struct origin_facts){.n_hints = 4, .n_held = 1}));
	/* sshfs: only its chain decides. */
	assert_true(loopback_decide(&(struct origin_facts){.sshfs = true, .tcp_local = true}));
	assert_true(loopback_decide(&(struct origin_facts){.sshfs = true, .ssh_local = true}));
	assert_false(loopback_decide(
		&(struct origin_facts){.sshfs = true, .daemon = true, .n_backing = 1}));
	assert_false(loopback_decide(
		&(struct origin_facts){.sshfs = true, .tcp_local = true, .remote = true}));
}

struct gather {
	char dir[64], named[128], other[128], log[128];
	int named_fd, other_fd, log_fd;
	struct mount_table *t;
	struct mount_entry fuse;
	struct proc_info self;
	struct proc_scan scan;
};

static int gather_setup(void **state)
{
	struct gather *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	(void) snprintf(g->dir, sizeof(g->dir), "/tmp/test-loopback.XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	(void) snprintf(g->named, sizeof(g->named), "%s/backing", g->dir);
	(void) snprintf(g->other, sizeof(g->other), "%s/other", g->dir);
	(void) snprintf(g->log, sizeof(g->log), "%s/daemon.log", g->dir);
	assert_int_equal(mkdir(g->named, 0700), 0);
	assert_int_equal(mkdir(g->other, 0700), 0);
	g->named_fd = open(g->named, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->other_fd = open(g->other, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->log_fd = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(g->named_fd > 2 && g->other_fd > 2 && g->log_fd > 2);
	assert_int_equal(mount_table_load(NULL, &g->t), 0);
	/* A FUSE mount that exists only in this test; this process plays its
	 * daemon. Its mount point is nowhere near the files. */
	g->fuse = (struct mount_entry){
		.mnt_id = UINT64_MAX - 1,
		.mount_point = (char *) "/nonexistent/test-loopback/mnt",
		.fstype = (char *) "fuse.test",
		.class = MOUNT_CLASS_FUSE,
	};
	g->self = (struct proc_info){.pid = getpid(), .fuse_fd = true, .helper = true};
	(void) snprintf(g->self.comm, sizeof(g->self.comm), "test-loopback");
	g->scan = (struct proc_scan){.procs = &g->self, .n = 1};
	*state = g;
	return 0;
}

static int gather_teardown(void **state)
{
	struct gather *g = *state;

	safe_close(g->named_fd);
	safe_close(g->other_fd);
	safe_close(g->log_fd);
	(void) unlink(g->log);
	(void) rmdir(g->named);
	(void) rmdir(g->other);
	(void) rmdir(g->dir);
	mount_table_free(g->t);
	free(g);
	return 0;
}

static bool local(const struct mount_table *t, const char *path)
{
	const struct mount_entry *e = mount_table_find_path(t, path);

	return e && e->class == MOUNT_CLASS_LOCAL;
}

static void test_gather_source_names_held_dir(void **state)
{
	struct gather *g = *state;
	struct fuse_origin o = {};
	struct origin_facts f = {.daemon = true};

	if (!local(g->t, g->dir))
		skip(); /* /tmp on something not local here */
	g->fuse.source = g->named;
	loopback_backing_gather(g->t, &g->fuse, &g->scan, &o, &f);
	assert_non_null(o.evidence);
	/* Held and named: backing, shown as such; the source a hint. */
	assert_int_equal(o.n_backing, 1);
	assert_string_equal(o.backing[0], g->named);
	assert_int_equal(f.n_backing, 1);
	assert_non_null(strstr(o.evidence, "backing '"));
	assert_non_null(strstr(o.evidence, "': directory held open by pid "));
	assert_non_null(strstr(o.evidence, "hint: source '"));
	/* Held and named by nothing: evidence, no backing. */
	assert_true(f.n_held >= 1);
	assert_non_null(strstr(o.evidence, "named by no hint"));
	/* The log: written, never a source. */
	assert_non_null(strstr(o.evidence, "daemon.log' (not a source)"));
	for (size_t i = 0; i < o.n_backing; i++)
		assert_null(strstr(o.backing[i], "daemon.log"));
	assert_true(loopback_decide(&f));
	fuse_origin_done(&o);
}

static void test_gather_unheld_source_is_a_hint(void **state)
{
	struct gather *g = *state;
	struct fuse_origin o = {};
	struct origin_facts f = {.daemon = true};

	if (!local(g->t, g->dir))
		skip();
	/* A source naming a directory nobody holds (a spoofed fsname, or
	 * encfs): a hint, never backing. */
	g->fuse.source = g->dir;
	assert_int_equal(close(g->named_fd), 0);
	assert_int_equal(close(g->other_fd), 0);
	g->named_fd = g->other_fd = -EBADF;
	loopback_backing_gather(g->t, &g->fuse, &g->scan, &o, &f);
	assert_int_equal(o.n_backing, 0);
	assert_int_equal(f.n_backing, 0);
	assert_int_equal(f.n_hints, 1);
	fuse_origin_done(&o);
}

static void test_gather_mount_point_is_no_hint(void **state)
{
	struct gather *g = *state;
	struct fuse_origin o = {};
	struct origin_facts f = {.daemon = true};

	/* The mount point and paths inside the mount name no source. */
	g->fuse.source = (char *) "/nonexistent/test-loopback/mnt/sub";
	loopback_backing_gather(g->t, &g->fuse, &g->scan, &o, &f);
	assert_int_equal(o.n_backing, 0);
	assert_null(o.evidence ? strstr(o.evidence, "hint: source") : NULL);
	fuse_origin_done(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test_setup_teardown(test_gather_source_names_held_dir, gather_setup,
						gather_teardown),
		cmocka_unit_test_setup_teardown(test_gather_unheld_source_is_a_hint, gather_setup,
						gather_teardown),
		cmocka_unit_test_setup_teardown(test_gather_mount_point_is_no_hint, gather_setup,
						gather_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
