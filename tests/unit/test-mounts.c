/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for common/mounts.c: the mountinfo parser on real and hostile
 * tables (tests/fixtures/mountinfo, see its README.md), the classifier
 * (local, FUSE, FUSE-backed through overlay layers and binds, network,
 * pseudo), path lookups, and the mount id of an fd. Unprivileged: no mounts;
 * the fd tests only look at /proc and /, as they are. */
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
#include "macro.h"
#include "mounts.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

static char *fixture_path(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", MOUNTINFO_FIXTURES, name) > 0);
	return p;
}

/* Parses a fixture and expects success; classifies it. */
static struct mount_table *load(const char *name)
{
	_cleanup_free_ char *path = fixture_path(name), *text = NULL;
	struct mount_table *t = NULL;
	unsigned bad = 0;
	size_t len;

	assert_int_equal(read_full_file(path, 1 << 20, &text, &len), 0);
	assert_int_equal(mount_table_parse(text, len, &t, &bad), 0);
	assert_non_null(t);
	mount_table_classify(t);
	return t;
}

/* Parses a fixture and expects -EBADMSG at the given line. */
static void expect_bad(const char *name, unsigned want_line)
{
	_cleanup_free_ char *path = fixture_path(name), *text = NULL;
	struct mount_table *t = NULL;
	unsigned bad = 0;
	size_t len;

	assert_int_equal(read_full_file(path, 1 << 20, &text, &len), 0);
	assert_int_equal(mount_table_parse(text, len, &t, &bad), -EBADMSG);
	assert_null(t);
	assert_int_equal(bad, want_line);
}

static int parse_str(const char *s, struct mount_table **t, unsigned *bad)
{
	return mount_table_parse(s, strlen(s), t, bad);
}

static const struct mount_entry *id(const struct mount_table *t, uint64_t mnt_id)
{
	const struct mount_entry *e = mount_table_find_id(t, mnt_id);

	assert_non_null(e);
	assert_true(e->mnt_id == mnt_id);
	return e;
}

/* class, fuse_mnt_id and the exact reason of one entry */
static void expect_class(const struct mount_table *t, uint64_t mnt_id, enum mount_class c,
			 uint64_t fuse_mnt_id, const char *reason)
{
	const struct mount_entry *e = id(t, mnt_id);

	if (e->class != c || e->fuse_mnt_id != fuse_mnt_id)
		print_error("mount %llu: %s (%s), fuse_mnt_id %llu\n", (unsigned long long) mnt_id,
			    mount_class_to_string(e->class), e->class_reason,
			    (unsigned long long) e->fuse_mnt_id);
	assert_string_equal(mount_class_to_string(e->class), mount_class_to_string(c));
	assert_true(e->fuse_mnt_id == fuse_mnt_id);
	assert_non_null(e->class_reason);
	assert_string_equal(e->class_reason, reason);
}

static uint64_t path_id(const struct mount_table *t, const char *path)
{
	const struct mount_entry *e = mount_table_find_path(t, path);

	assert_non_null(e);
	return e->mnt_id;
}

static void test_real_host(void **state)
{
	struct mount_table *t = load("real-host.txt");
	const struct mount_entry *e;

	(void) state;
	assert_int_equal(t->n_entries, 20);
	/* Listed sixth, after mounts on it: mountinfo is not in tree order. */
	e = id(t, 27);
	assert_ptr_equal(e, &t->entries[5]);
	assert_true(e->parent_id == 1);
	assert_int_equal(e->major, 254);
	assert_int_equal(e->minor, 0);
	assert_string_equal(e->root, "/");
	assert_string_equal(e->mount_point, "/");
	assert_string_equal(e->mount_opts, "rw,relatime");
	assert_string_equal(e->optional, "");
	assert_string_equal(e->fstype, "ext4");
	assert_string_equal(e->source, "/dev/vda");
	assert_string_equal(e->super_opts, "rw,discard,resv_strict,resuid=65534,resgid=65534");
	expect_class(t, 27, MOUNT_CLASS_LOCAL, 0, "fstype ext4");
	expect_class(t, 22, MOUNT_CLASS_PSEUDO, 0, "fstype proc");
	expect_class(t, 23, MOUNT_CLASS_PSEUDO, 0, "fstype sysfs");
	expect_class(t, 24, MOUNT_CLASS_LOCAL, 0, "fstype devtmpfs");
	expect_class(t, 26, MOUNT_CLASS_PSEUDO, 0, "fstype devpts");
	expect_class(t, 28, MOUNT_CLASS_LOCAL, 0, "fstype tmpfs");
	expect_class(t, 32, MOUNT_CLASS_PSEUDO, 0, "fstype cgroup");
	expect_class(t, 41, MOUNT_CLASS_PSEUDO, 0, "fstype cgroup2");
	e = id(t, 24);
	assert_int_equal(e->major, 0);
	assert_int_equal(e->minor, 6);
	assert_string_equal(e->super_opts, "rw,size=12334460k,nr_inodes=3083615,mode=755");

	/* Longest prefix, on component boundaries. */
	assert_int_equal(path_id(t, "/etc/passwd"), 27);
	assert_int_equal(path_id(t, "/"), 27);
	assert_int_equal(path_id(t, "/proc/self/mountinfo"), 22);
	assert_int_equal(path_id(t, "/proc"), 22);
	assert_int_equal(path_id(t, "/procfoo"), 27);
	assert_int_equal(path_id(t, "/sys/fs/cgroup/cpu/tasks"), 32);
	assert_int_equal(path_id(t, "/sys/fs/cgroup/cpuacct/tasks"), 33);
	assert_int_equal(path_id(t, "/sys/fs/cgroup/cpux"), 31);
	/* Stacked mounts: /dev/shm (25, then 30 on it), /dev/pts (26, then 29). */
	assert_int_equal(path_id(t, "/dev/shm/x"), 30);
	assert_int_equal(path_id(t, "/dev/pts/0"), 29);
	/* Lexically normalized. */
	assert_int_equal(path_id(t, "//proc/./self/../1/"), 22);
	assert_int_equal(path_id(t, "/sys/fs/cgroup/../../../proc"), 22);
	assert_int_equal(path_id(t, "/../../proc"), 22);
	assert_null(mount_table_find_path(t, "proc"));
	assert_null(mount_table_find_path(t, ""));
	assert_null(mount_table_find_id(t, 1));
	assert_null(mount_table_find_id(t, 0));
	mount_table_free(t);
}

/* A real overlay over bindfs, captured in a private mount namespace. */
static void test_real_overlay_fuse(void **state)
{
	struct mount_table *t = load("real-overlay-fuse.txt");
	const struct mount_entry *e;

	(void) state;
	assert_int_equal(t->n_entries, 29);
	e = id(t, 65);
	assert_string_equal(e->mount_point, "/tmp/fgfix/fuse mnt");
	assert_string_equal(e->fstype, "fuse");
	assert_string_equal(e->source, "/tmp/fgfix/back");
	assert_int_equal(e->major, 0);
	assert_int_equal(e->minor, 41); /* the connection under /sys/fs/fuse/connections */
	expect_class(t, 65, MOUNT_CLASS_FUSE, 65, "fstype fuse");

	e = id(t, 66);
	assert_string_equal(e->root, "/sub dir");
	assert_string_equal(e->mount_point, "/tmp/fgfix/fsub,x");
	expect_class(t, 66, MOUNT_CLASS_FUSE_BACKED, 65,
		     "bind of '/sub dir' of fuse mount 65 (0:41)");

	expect_class(t, 70, MOUNT_CLASS_FUSE_BACKED, 65,
		     "overlay lowerdir '/tmp/fgfix/fuse mnt' is on fuse mount 65 (fuse)");

	/* The user's "\:" and "\," come back as \134: and \134\054. */
	e = id(t, 74);
	assert_string_equal(e->super_opts,
			    "rw,lowerdir=/tmp/fgfix/c\\:d:/tmp/fgfix/fsub\\,x,"
			    "upperdir=/tmp/fgfix/up2,workdir=/tmp/fgfix/work2,uuid=on");
	expect_class(t, 74, MOUNT_CLASS_FUSE_BACKED, 65,
		     "overlay lowerdir '/tmp/fgfix/fsub,x' is on fuse-backed mount 66 (fuse)");

	/* New mount API: a ',' in a lowerdir+ path is only \054. */
	e = id(t, 78);
	assert_string_equal(e->source, "none");
	assert_string_equal(e->super_opts, "ro,lowerdir+=/tmp/fgfix/x,y,lowerdir+=/tmp/fgfix/local,"
					   "datadir+=/tmp/fgfix/fuse mnt,redirect_dir=on");
	expect_class(t, 78, MOUNT_CLASS_FUSE_BACKED, 65,
		     "overlay datadir+ '/tmp/fgfix/fuse mnt' is on fuse mount 65 (fuse)");

	/* An overlay over that overlay: transitively. */
	expect_class(t, 81, MOUNT_CLASS_FUSE_BACKED, 65,
		     "overlay lowerdir '/tmp/fgfix/ovl' is on fuse-backed mount 70 (overlay)");
	expect_class(t, 84, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	expect_class(t, 63, MOUNT_CLASS_LOCAL, 0, "fstype tmpfs");
	expect_class(t, 64, MOUNT_CLASS_PSEUDO, 0, "fstype fusectl");
	expect_class(t, 43, MOUNT_CLASS_LOCAL, 0, "fstype ext4");

	assert_int_equal(path_id(t, "/tmp/fgfix/fuse mnt/f"), 65);
	assert_int_equal(path_id(t, "/tmp/fgfix/fuse"), 63);
	assert_int_equal(path_id(t, "/tmp/fgfix/ovl4/a/b"), 81);
	assert_int_equal(path_id(t, "/tmp/x"), 43);
	mount_table_free(t);
}

static void test_escapes(void **state)
{
	struct mount_table *t = load("escapes.txt");
	const struct mount_entry *e;

	(void) state;
	assert_int_equal(t->n_entries, 5);
	e = id(t, 20);
	assert_string_equal(e->optional, "shared:1");
	e = id(t, 21);
	assert_true(e->parent_id == 20);
	assert_int_equal(e->minor, 50);
	assert_string_equal(e->root, "/dir with space");
	assert_string_equal(e->mount_point, "/mnt/a b\tc\nd\\e");
	assert_string_equal(e->mount_opts, "rw,nosuid");
	assert_string_equal(e->optional, "shared:2 master:1 propagate_from:1 unbindable");
	assert_string_equal(e->fstype, "tmpfs");
	assert_string_equal(e->source, "my src");
	assert_string_equal(e->super_opts, "rw,size=1k,opt=x y");
	assert_string_equal(e->super_opts_raw, "rw,size=1k,opt=x\\040y");
	expect_class(t, 21, MOUNT_CLASS_LOCAL, 0, "fstype tmpfs");
	assert_int_equal(path_id(t, "/mnt/a b\tc\nd\\e/f"), 21);

	e = id(t, 22);
	assert_string_equal(e->mount_point, "/mnt/fuse\\dir");
	assert_string_equal(e->fstype, "fuse.my fs");
	assert_string_equal(e->source, "host:/srv data");
	expect_class(t, 22, MOUNT_CLASS_FUSE, 22, "fstype fuse.my fs");

	e = id(t, 23);
	assert_string_equal(e->source, "");
	assert_string_equal(e->super_opts, "rw");

	/* Not an escape: kept. Super options run to the end of the line. */
	e = id(t, 24);
	assert_string_equal(e->mount_point, "/mnt/bare\\backslash");
	assert_string_equal(e->super_opts, "rw,opt with unescaped spaces");
	mount_table_free(t);
}

static void test_long_path(void **state)
{
	struct mount_table *t = load("long-path.txt");
	_cleanup_free_ char *want = malloc(8192), *fuse_src = malloc(8192);
	const struct mount_entry *e;
	size_t n = 0;

	(void) state;
	/* "/long" then 25 x "/ddd...d NN" (200 d), as written by the fixture's generator. */
	n += (size_t) sprintf(want, "/long");
	for (int i = 0; i < 25; i++) {
		want[n++] = '/';
		memset(want + n, 'd', 200);
		n += 200;
		n += (size_t) sprintf(want + n, " %02d", i);
	}
	assert_int_equal(strlen(want), 5105);
	assert_int_equal(t->n_entries, 4);

	e = id(t, 2);
	assert_string_equal(e->mount_point, want);
	assert_int_equal(strlen(e->source), 4500);
	assert_int_equal(strspn(e->source, "s"), 4500);
	expect_class(t, 2, MOUNT_CLASS_LOCAL, 0, "fstype tmpfs");

	e = id(t, 3);
	assert_int_equal(strlen(e->mount_point), 5105 + 5);
	assert_memory_equal(e->mount_point, want, 5105);
	assert_string_equal(e->mount_point + 5105, "/fuse");
	fuse_src[0] = '\0';
	strcat(fuse_src, "u@h:/");
	memset(fuse_src + 5, 'x', 4200);
	fuse_src[4205] = '\0';
	assert_string_equal(e->source, fuse_src);
	expect_class(t, 3, MOUNT_CLASS_FUSE, 3, "fstype fuse.sshfs");

	e = id(t, 4);
	assert_int_equal(mount_table_find_path(t, e->mount_point)->mnt_id, 4);
	assert_true(id(t, 4)->class == MOUNT_CLASS_FUSE_BACKED);
	assert_true(id(t, 4)->fuse_mnt_id == 3);
	assert_non_null(strstr(e->class_reason, "/fuse/sub' is on fuse mount 3 (fuse.sshfs)"));
	assert_int_equal(strncmp(e->class_reason, "overlay lowerdir '/long/ddd", 27), 0);
	mount_table_free(t);
}

/* No fixed-size line buffer anywhere: a 1 MiB path. */
static void test_huge_line(void **state)
{
	const size_t plen = 1 << 20;
	_cleanup_free_ char *line = malloc(plen + 200);
	struct mount_table *t = NULL;
	size_t n;

	(void) state;
	n = (size_t) sprintf(line, "7 1 0:9 / /");
	memset(line + n, 'p', plen);
	n += plen;
	n += (size_t) sprintf(line + n, " rw - tmpfs tmpfs rw\n");
	assert_int_equal(mount_table_parse(line, n, &t, NULL), 0);
	assert_int_equal(t->n_entries, 1);
	assert_int_equal(strlen(t->entries[0].mount_point), plen + 1);
	assert_string_equal(t->entries[0].fstype, "tmpfs");
	mount_table_free(t);
}

static void test_malformed_fixtures(void **state)
{
	(void) state;
	expect_bad("truncated.txt", 3);
	expect_bad("no-separator.txt", 2);
	expect_bad("bad-id.txt", 4);
}

static void test_empty(void **state)
{
	struct mount_table *t = load("empty.txt");

	(void) state;
	assert_int_equal(t->n_entries, 0);
	assert_null(mount_table_find_path(t, "/"));
	assert_null(mount_table_find_id(t, 1));
	mount_table_free(t);
	assert_int_equal(mount_table_parse(NULL, 0, &t, NULL), 0);
	assert_int_equal(t->n_entries, 0);
	mount_table_free(t);
}

/* Every way a line can be wrong, each at a known line number. */
/* A btrfs root on subvolume @: stat("/") would give @'s own device number
 * (btrfs_getattr()), another for @home; mountinfo shows the superblock's
 * s_dev (0:26) for both, and both are the root filesystem. A bind of part
 * of "/" is too; /boot (ext4) and a tmpfs are not. */
static void test_root_superblock(void **state)
{
	static const char text[] =
		"29 1 0:26 /@ / rw,relatime shared:1 - btrfs /dev/vda2 rw,subvol=/@\n"
		"30 29 0:26 /@home /home rw,relatime shared:2 - btrfs /dev/vda2 rw,subvol=/@home\n"
		"31 29 8:1 / /boot rw shared:3 - ext4 /dev/vda1 rw\n"
		"32 29 0:40 / /tmp rw shared:4 - tmpfs tmpfs rw\n"
		"33 29 0:26 /@/srv /mnt/srv rw shared:1 - btrfs /dev/vda2 rw,subvol=/@\n";
	struct mount_table *t = NULL;
	struct sb_id root, by_st_dev = {0, 27};

	(void) state;
	assert_int_equal(parse_str(text, &t, NULL), 0);
	assert_int_equal(mount_table_sb_of(t, 29, &root), 0);
	assert_int_equal(root.major, 0);
	assert_int_equal(root.minor, 26);
	assert_int_equal(mount_table_sb_of(t, 99, &root), -ENOENT);
	assert_true(mount_on_superblock(id(t, 29), &root, 1));
	assert_true(mount_on_superblock(id(t, 30), &root, 1)); /* another subvolume */
	assert_true(mount_on_superblock(id(t, 33), &root, 1)); /* a bind of part of "/" */
	assert_false(mount_on_superblock(id(t, 31), &root, 1));
	assert_false(mount_on_superblock(id(t, 32), &root, 1));
	assert_false(mount_on_superblock(NULL, &root, 1));
	/* What the st_dev comparison missed: @home is not @'s st_dev. */
	assert_false(mount_on_superblock(id(t, 30), &by_st_dev, 1));
	mount_table_free(t);
}

static void test_malformed_inline(void **state)
{
	static const char good[] = "1 0 8:1 / / rw - ext4 /dev/sda rw\n";
	static const char *const bad[] = {
		"",					  /* an empty line */
		"2",					  /* one field */
		"2 1 0:5 / /x rw",			  /* no separator */
		"2 1 0:5 / /x rw -",			  /* nothing after it */
		"2 1 0:5 / /x rw - tmpfs",		  /* no source */
		"2 1 0:5 / /x rw shared:1  - tmpfs t rw", /* empty optional field */
		"2 1 0:5 / /x rw - - t rw",		  /* fstype "-" is ok: see below */
		"-2 1 0:5 / /x rw - tmpfs t rw",
		"2 +1 0:5 / /x rw - tmpfs t rw",
		"18446744073709551616 1 0:5 / /x rw - tmpfs t rw", /* 2^64 */
		"2 1 0x1:5 / /x rw - tmpfs t rw",
		"2 1 0:5:1 / /x rw - tmpfs t rw",
		"2 1 :5 / /x rw - tmpfs t rw",
		"2 1 0: / /x rw - tmpfs t rw",
		"2 1 05 / /x rw - tmpfs t rw",
		"2 1 0:4294967296 / /x rw - tmpfs t rw", /* minor > UINT_MAX */
		"2 1 0:5  /x rw - tmpfs t rw",		 /* empty root */
		"2 1 0:5 /  rw - tmpfs t rw",		 /* empty mount point */
		"2 1 0:5 / /x  - tmpfs t rw",		 /* empty mount options */
		"2 1 0:5 / /x rw -  t rw",		 /* empty fstype */
		"2 1 0:5 / /a\\000b rw - tmpfs t rw",	 /* escaped NUL */
		" 2 1 0:5 / /x rw - tmpfs t rw",
	};

	(void) state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *text = NULL;
		struct mount_table *t = NULL;
		unsigned line = 0;
		int r;

		assert_true(asprintf(&text, "%s%s%s\n%s", good, good, bad[i], good) > 0);
		r = parse_str(text, &t, &line);
		if (i == 6) { /* "-" as fstype after the separator is just a name */
			assert_int_equal(r, 0);
			assert_string_equal(t->entries[2].fstype, "-");
			mount_table_free(t);
			continue;
		}
		if (r != -EBADMSG)
			print_error("accepted: '%s'\n", bad[i]);
		assert_int_equal(r, -EBADMSG);
		assert_null(t);
		assert_int_equal(line, 3);
	}
}

static void test_inline_details(void **state)
{
	struct mount_table *t = NULL;
	unsigned line = 0;
	char nul[] = "1 0 8:1 / / rw - ext4 /dev/sda rw\n2 1 0:5 / /x rw - tmpfs t r\0w\n";

	(void) state;
	/* An embedded NUL byte. */
	assert_int_equal(mount_table_parse(nul, sizeof(nul) - 1, &t, &line), -EBADMSG);
	assert_int_equal(line, 2);
	/* No final newline; the largest ids; \377 is a byte, \400 is no escape. */
	assert_int_equal(parse_str("18446744073709551615 4294967295 4294967295:4294967295 "
				   "/r\\377 /m\\400 rw - ext4 s rw",
				   &t, NULL),
			 0);
	assert_true(t->entries[0].mnt_id == UINT64_MAX);
	assert_true(t->entries[0].parent_id == 4294967295u);
	assert_int_equal(t->entries[0].major, 4294967295u);
	assert_int_equal(t->entries[0].minor, 4294967295u);
	assert_string_equal(t->entries[0].root, "/r\xff");
	assert_string_equal(t->entries[0].mount_point, "/m\\400");
	assert_string_equal(t->entries[0].super_opts, "rw");
	t = mount_table_free(t);
	/* A trailing backslash, and an escape cut short at the end of a field. */
	assert_int_equal(parse_str("1 0 0:1 /\\ /m\\04 rw - x s rw\\", &t, NULL), 0);
	assert_string_equal(t->entries[0].root, "/\\");
	assert_string_equal(t->entries[0].mount_point, "/m\\04");
	assert_string_equal(t->entries[0].super_opts, "rw\\");
	t = mount_table_free(t);
	/* Many optional fields. */
	assert_int_equal(
		parse_str("1 0 0:1 / / rw a:1 b:2 c:3 d:4 e:5 f:6 g:7 h:8 - x s rw", &t, NULL), 0);
	assert_string_equal(t->entries[0].optional, "a:1 b:2 c:3 d:4 e:5 f:6 g:7 h:8");
	assert_string_equal(t->entries[0].fstype, "x");
	t = mount_table_free(t);
	/* Mount points the kernel would not write: compared by components. */
	assert_int_equal(parse_str("1 0 0:1 / / rw - x s rw\n"
				   "2 1 0:2 / //a//b/./ rw - x s rw\n"
				   "3 1 0:3 / /a/b/../c rw - x s rw\n",
				   &t, NULL),
			 0);
	assert_int_equal(path_id(t, "/a/b/c"), 2);
	assert_int_equal(path_id(t, "/a/b"), 2);
	assert_int_equal(path_id(t, "/a/bc"), 1);
	assert_int_equal(path_id(t, "/a/c"), 1); /* ".." in a mount point matches nothing */
	t = mount_table_free(t);
	/* Bad arguments. */
	assert_int_equal(mount_table_parse("x", 1, NULL, NULL), -EINVAL);
	assert_int_equal(mount_table_parse(NULL, 1, &t, NULL), -EINVAL);
	assert_null(mount_table_free(NULL));
}

static void test_overlay_fuse(void **state)
{
	struct mount_table *t = load("overlay-fuse.txt");
	const struct mount_entry *e;

	(void) state;
	assert_int_equal(t->n_entries, 16);
	expect_class(t, 3, MOUNT_CLASS_FUSE, 3, "fstype fuse.sshfs");
	assert_string_equal(id(t, 3)->optional, "shared:3");
	e = id(t, 4);
	assert_string_equal(e->super_opts, "rw,lowerdir=/srv/a\\,b:/mnt/ssh/x\\:y:/srv/c,"
					   "upperdir=/srv/up,workdir=/srv/work");
	expect_class(t, 4, MOUNT_CLASS_FUSE_BACKED, 3,
		     "overlay lowerdir '/mnt/ssh/x:y' is on fuse mount 3 (fuse.sshfs)");
	expect_class(t, 5, MOUNT_CLASS_FUSE_BACKED, 3,
		     "overlay upperdir '/mnt/ssh/up' is on fuse mount 3 (fuse.sshfs)");
	/* workdir holds no file that is read: not a layer. */
	expect_class(t, 6, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	/* A data-only layer after "::". */
	expect_class(t, 7, MOUNT_CLASS_FUSE_BACKED, 3,
		     "overlay lowerdir '/mnt/ssh/data' is on fuse mount 3 (fuse.sshfs)");
	/* "lowerdir+=/srv/x\054lowerdir+=/mnt/ssh" is one directory in /srv. */
	expect_class(t, 8, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	expect_class(t, 9, MOUNT_CLASS_FUSE_BACKED, 3,
		     "overlay lowerdir+ '/mnt/ssh/a,b' is on fuse mount 3 (fuse.sshfs)");
	expect_class(t, 11, MOUNT_CLASS_NETWORK, 0, "fstype nfs4");
	expect_class(t, 10, MOUNT_CLASS_NETWORK, 0,
		     "overlay lowerdir '/nfs/x' is on network mount 11 (nfs4)");
	/* Mounted on its own lowerdir: the layer is what was there before. */
	expect_class(t, 12, MOUNT_CLASS_FUSE, 12, "fstype fuse.sshfs");
	expect_class(t, 13, MOUNT_CLASS_FUSE_BACKED, 12,
		     "overlay lowerdir '/usr' is on fuse mount 12 (fuse.sshfs)");
	assert_int_equal(path_id(t, "/usr/bin/sh"), 13);
	/* Relative layers cannot be placed; FUSE is mounted: assume the worst. */
	expect_class(t, 14, MOUNT_CLASS_FUSE_BACKED, 0,
		     "overlay lowerdir 'l/ABC' is on no mount here, and fuse is mounted: "
		     "assumed fuse-backed");
	/* lowerdir+ is literal: no '\' escapes, no ':' separators. */
	e = id(t, 15);
	assert_string_equal(e->super_opts, "ro,lowerdir+=/srv/b\\s,lowerdir+=/srv/c:/mnt/ssh");
	expect_class(t, 15, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	/* upperdir keeps the user's escapes, like lowerdir. */
	expect_class(t, 16, MOUNT_CLASS_FUSE_BACKED, 3,
		     "overlay upperdir '/mnt/ssh/u,p' is on fuse mount 3 (fuse.sshfs)");
	mount_table_free(t);
}

static void test_overlay_without_fuse(void **state)
{
	struct mount_table *t = NULL;

	(void) state;
	assert_int_equal(parse_str("1 0 8:1 / / rw - ext4 /dev/sda rw\n"
				   "2 1 0:70 / /rel rw - overlay overlay "
				   "rw,lowerdir=l/A:l/B,upperdir=d,workdir=w\n"
				   "3 1 0:71 / /x rw - overlay overlay rw,lowerdir=/\n",
				   &t, NULL),
			 0);
	mount_table_classify(t);
	expect_class(t, 2, MOUNT_CLASS_LOCAL, 0,
		     "overlay: 3 layers, none on fuse or network (some not on any mount here)");
	expect_class(t, 3, MOUNT_CLASS_LOCAL, 0, "overlay: 1 layer, none on fuse or network");
	mount_table_free(t);
}

/* A table built by hand has no raw super options: '\,' still does not split. */
static void test_overlay_hand_built(void **state)
{
	struct mount_entry e[2] = {
		{.mnt_id = 1,
		 .major = 0,
		 .minor = 50,
		 .root = strdup("/"),
		 .mount_point = strdup("/mnt/f,x"),
		 .fstype = strdup("fuse.sshfs")},
		{.mnt_id = 2,
		 .major = 0,
		 .minor = 51,
		 .root = strdup("/"),
		 .mount_point = strdup("/o"),
		 .fstype = strdup("overlay"),
		 .super_opts = strdup("rw,lowerdir=/srv:/mnt/f\\,x/y,upperdir=/up")},
	};
	struct mount_table *t = calloc(1, sizeof(*t));

	(void) state;
	assert_non_null(t);
	t->entries = malloc(sizeof(e));
	assert_non_null(t->entries);
	memcpy(t->entries, e, sizeof(e));
	t->n_entries = 2;
	mount_table_classify(t);
	expect_class(t, 1, MOUNT_CLASS_FUSE, 1, "fstype fuse.sshfs");
	expect_class(t, 2, MOUNT_CLASS_FUSE_BACKED, 1,
		     "overlay lowerdir '/mnt/f,x/y' is on fuse mount 1 (fuse.sshfs)");
	mount_table_free(t);
}

static void test_bind_fuse(void **state)
{
	struct mount_table *t = load("bind-fuse.txt");

	(void) state;
	expect_class(t, 1, MOUNT_CLASS_LOCAL, 0, "fstype ext4");
	expect_class(t, 2, MOUNT_CLASS_FUSE, 2, "fstype fuse.sshfs");
	expect_class(t, 3, MOUNT_CLASS_FUSE_BACKED, 2, "bind of '/proj' of fuse mount 2 (0:53)");
	/* A bind of the whole FUSE mount is a FUSE mount. */
	expect_class(t, 4, MOUNT_CLASS_FUSE, 4, "fstype fuse.sshfs");
	expect_class(t, 5, MOUNT_CLASS_FUSE_BACKED, 2,
		     "device 0:53 is that of fuse mount 2 (fuse.sshfs)");
	expect_class(t, 6, MOUNT_CLASS_FUSE_BACKED, 6,
		     "bind of '/only/part' of a fuse filesystem (0:60) not mounted here");
	expect_class(t, 7, MOUNT_CLASS_FUSE, 7, "fstype fuseblk");
	expect_class(t, 8, MOUNT_CLASS_FUSE_BACKED, 2,
		     "overlay lowerdir '/home/u/proj/src' is on fuse-backed mount 3 (fuse.sshfs)");
	/* A bind of part of that overlay is the same overlay superblock. */
	assert_string_equal(id(t, 9)->root, "/sub");
	expect_class(t, 9, MOUNT_CLASS_FUSE_BACKED, 2,
		     "overlay lowerdir '/home/u/proj/src' is on fuse-backed mount 3 (fuse.sshfs)");
	assert_int_equal(path_id(t, "/home/u/proj/src/a.c"), 3);
	assert_int_equal(path_id(t, "/home/u/project"), 1);
	mount_table_free(t);
}

static void test_layer_cycle(void **state)
{
	struct mount_table *t = load("layer-cycle.txt");

	(void) state;
	expect_class(t, 2, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	expect_class(t, 3, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	/* Its own mount point as a layer resolves to what is under it. */
	expect_class(t, 4, MOUNT_CLASS_LOCAL, 0, "overlay: 2 layers, none on fuse or network");
	/* /c (listed first) depends on /d, which also has a layer on FUSE. */
	expect_class(t, 6, MOUNT_CLASS_FUSE_BACKED, 7,
		     "overlay lowerdir '/f/z' is on fuse mount 7 (fuse.sshfs)");
	expect_class(t, 5, MOUNT_CLASS_FUSE_BACKED, 7,
		     "overlay lowerdir '/d/x' is on fuse-backed mount 6 (overlay)");
	expect_class(t, 8, MOUNT_CLASS_LOCAL, 0, "overlay: 1 layer, none on fuse or network");
	expect_class(t, 9, MOUNT_CLASS_LOCAL, 0, "overlay: 1 layer, none on fuse or network");
	expect_class(t, 10, MOUNT_CLASS_LOCAL, 0, "overlay: 1 layer, none on fuse or network");
	mount_table_free(t);
}

/* Classifying twice gives the same answers (and frees the old reasons). */
static void test_classify_idempotent(void **state)
{
	static const char *const names[] = {"real-overlay-fuse.txt", "overlay-fuse.txt",
					    "bind-fuse.txt", "layer-cycle.txt"};

	(void) state;
	for (size_t k = 0; k < ELEMENTSOF(names); k++) {
		struct mount_table *t = load(names[k]);
		enum mount_class *c = calloc(t->n_entries, sizeof(*c));
		char **why = calloc(t->n_entries, sizeof(*why));

		assert_non_null(c);
		assert_non_null(why);
		for (size_t i = 0; i < t->n_entries; i++) {
			c[i] = t->entries[i].class;
			why[i] = strdup(t->entries[i].class_reason);
		}
		mount_table_classify(t);
		for (size_t i = 0; i < t->n_entries; i++) {
			assert_int_equal(t->entries[i].class, c[i]);
			assert_string_equal(t->entries[i].class_reason, why[i]);
			free(why[i]);
		}
		free(why);
		free(c);
		mount_table_free(t);
	}
}

static void test_fstype_class(void **state)
{
	static const struct {
		const char *fstype;
		enum mount_class c;
	} cases[] = {
		{"fuse", MOUNT_CLASS_FUSE},
		{"fuseblk", MOUNT_CLASS_FUSE},
		{"fuse.sshfs", MOUNT_CLASS_FUSE},
		{"fuse.glusterfs", MOUNT_CLASS_FUSE},
		{"fuseblk.ntfs", MOUNT_CLASS_FUSE},
		{"fusectl", MOUNT_CLASS_PSEUDO},
		{"fusefoo", MOUNT_CLASS_LOCAL},
		{"nfs", MOUNT_CLASS_NETWORK},
		{"nfs4", MOUNT_CLASS_NETWORK},
		{"cifs", MOUNT_CLASS_NETWORK},
		{"smb3", MOUNT_CLASS_NETWORK},
		{"9p", MOUNT_CLASS_NETWORK},
		{"ceph", MOUNT_CLASS_NETWORK},
		{"glusterfs", MOUNT_CLASS_NETWORK},
		{"proc", MOUNT_CLASS_PSEUDO},
		{"sysfs", MOUNT_CLASS_PSEUDO},
		{"cgroup", MOUNT_CLASS_PSEUDO},
		{"cgroup2", MOUNT_CLASS_PSEUDO},
		{"devpts", MOUNT_CLASS_PSEUDO},
		{"debugfs", MOUNT_CLASS_PSEUDO},
		{"tracefs", MOUNT_CLASS_PSEUDO},
		{"securityfs", MOUNT_CLASS_PSEUDO},
		{"bpf", MOUNT_CLASS_PSEUDO},
		{"mqueue", MOUNT_CLASS_PSEUDO},
		{"hugetlbfs", MOUNT_CLASS_PSEUDO},
		{"pstore", MOUNT_CLASS_PSEUDO},
		{"configfs", MOUNT_CLASS_PSEUDO},
		{"autofs", MOUNT_CLASS_PSEUDO},
		{"binfmt_misc", MOUNT_CLASS_PSEUDO},
		{"efivarfs", MOUNT_CLASS_PSEUDO},
		{"nsfs", MOUNT_CLASS_PSEUDO},
		{"rpc_pipefs", MOUNT_CLASS_PSEUDO},
		{"selinuxfs", MOUNT_CLASS_PSEUDO},
		{"tmpfs", MOUNT_CLASS_LOCAL},
		{"devtmpfs", MOUNT_CLASS_LOCAL},
		{"ramfs", MOUNT_CLASS_LOCAL},
		{"ext4", MOUNT_CLASS_LOCAL},
		{"overlay", MOUNT_CLASS_LOCAL},
		{"", MOUNT_CLASS_LOCAL},
	};

	(void) state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		if (fstype_class(cases[i].fstype) != cases[i].c)
			print_error("fstype '%s'\n", cases[i].fstype);
		assert_int_equal(fstype_class(cases[i].fstype), cases[i].c);
	}
	assert_int_equal(fstype_class(NULL), MOUNT_CLASS_LOCAL);
	assert_string_equal(mount_class_to_string(MOUNT_CLASS_LOCAL), "local");
	assert_string_equal(mount_class_to_string(MOUNT_CLASS_FUSE), "fuse");
	assert_string_equal(mount_class_to_string(MOUNT_CLASS_FUSE_BACKED), "fuse-backed");
	assert_string_equal(mount_class_to_string(MOUNT_CLASS_NETWORK), "network");
	assert_string_equal(mount_class_to_string(MOUNT_CLASS_PSEUDO), "pseudo");
	assert_string_equal(mount_class_to_string(_MOUNT_CLASS_MAX), "?");
	assert_string_equal(mount_class_to_string((enum mount_class) - 1), "?");
	assert_true(mount_class_is_fuse(MOUNT_CLASS_FUSE));
	assert_true(mount_class_is_fuse(MOUNT_CLASS_FUSE_BACKED));
	assert_false(mount_class_is_fuse(MOUNT_CLASS_LOCAL));
	assert_false(mount_class_is_fuse(MOUNT_CLASS_NETWORK));
	assert_false(mount_class_is_fuse(MOUNT_CLASS_PSEUDO));
}

static void test_load(void **state)
{
	_cleanup_free_ char *path = fixture_path("bind-fuse.txt");
	struct mount_table *t = NULL;

	(void) state;
	/* load classifies by itself */
	assert_int_equal(mount_table_load(path, &t), 0);
	expect_class(t, 3, MOUNT_CLASS_FUSE_BACKED, 2, "bind of '/proj' of fuse mount 2 (0:53)");
	t = mount_table_free(t);
	free(path);
	path = fixture_path("no-separator.txt");
	assert_int_equal(mount_table_load(path, &t), -EBADMSG);
	assert_int_equal(mount_table_load("/nonexistent/mountinfo", &t), -ENOENT);
	assert_null(t);
	/* The live table parses. */
	assert_int_equal(mount_table_load(NULL, &t), 0);
	assert_true(t->n_entries > 0);
	mount_table_free(t);
}

/* The fd of a file on /proc: its id is mountinfo's, and the entry says proc. */
static void test_fd_mount(void **state)
{
	_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int root = open("/", O_PATH | O_CLOEXEC);
	struct mount_table *t = NULL;
	const struct mount_entry *e = NULL;
	struct statx sx = {};
	uint64_t mid = 0, uniq = 0, mid2 = 0;

	(void) state;
	assert_true(fd >= 0);
	assert_true(root >= 0);
	assert_int_equal(fd_mount_id(fd, &mid, &uniq), 0);
	assert_true(mid > 0);
	assert_int_equal(fd_mount_id(fd, &mid2, NULL), 0);
	assert_true(mid2 == mid);

	/* Compare with the kernel directly: the unique id only where it is. */
	assert_int_equal(statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &sx), 0);
	if (sx.stx_mask & STATX_MNT_ID_UNIQUE) {
		assert_true(uniq == sx.stx_mnt_id);
		assert_true(uniq != mid); /* 6.8+ numbers them from 2^31 up */
	} else {
		assert_true(uniq == 0);
	}

	assert_int_equal(fd_mount_entry(fd, &t, &e), 0);
	assert_non_null(e);
	assert_true(e->mnt_id == mid);
	assert_string_equal(e->fstype, "proc");
	assert_int_equal(e->class, MOUNT_CLASS_PSEUDO);
	assert_ptr_equal(mount_table_find_id(t, mid), e);
	/* Where is /proc? Ask the table the way a caller would. */
	assert_ptr_equal(mount_table_find_path(t, e->mount_point), e);
	t = mount_table_free(t);

	/* O_PATH fds work too (statx AT_EMPTY_PATH). */
	assert_int_equal(fd_mount_entry(root, &t, &e), 0);
	assert_non_null(e);
	t = mount_table_free(t);

	assert_int_equal(fd_mount_id(-1, &mid, NULL), -EBADF);
	assert_int_equal(fd_mount_id(fd, NULL, NULL), -EINVAL);
	assert_int_equal(fd_mount_entry(-1, &t, &e), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_host),
		cmocka_unit_test(test_real_overlay_fuse),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_malformed_fixtures),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_malformed_inline),
		cmocka_unit_test(test_inline_details),
		cmocka_unit_test(test_overlay_fuse),
		cmocka_unit_test(test_overlay_without_fuse),
		cmocka_unit_test(test_overlay_hand_built),
		cmocka_unit_test(test_bind_fuse),
		cmocka_unit_test(test_layer_cycle),
		cmocka_unit_test(test_classify_idempotent),
		cmocka_unit_test(test_fstype_class),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_fd_mount),
		cmocka_unit_test(test_root_superblock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
