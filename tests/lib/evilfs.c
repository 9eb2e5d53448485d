/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evilfs: the small FUSE daemon an unprivileged user could write (issue 13,
 * findings 1 and the hostile-daemon case). It serves one executable file,
 * /run.sh, from memory (the bytes of CONTENT_FILE, read at start): nothing of
 * it exists on any backing layer. Mount options (fsname=, subtype=) are the
 * caller's, as fusermount3 lets any user pick them.
 *
 *   evilfs [--hostile-pid PID] [--hostile fail|stall] [--pid-file F]
 *          CONTENT_FILE MOUNTPOINT [-o OPTS]
 *
 * --hostile-pid: reads by that process (any of its threads: a FUSE request
 * names the calling thread, so its Tgid is looked up) fail with EIO
 * (--hostile fail) or never return (--hostile stall, until the connection
 * is aborted or unmounted);
 * everyone else gets the file. Opens are served to all: a failed open of the
 * event fd would be denied by the kernel itself, which tests nothing.
 * Foreground and multi-threaded: a stalled read parks its own thread, and
 * other requests are still served. */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *content;
static size_t content_len;
static pid_t hostile_pid;
static int hostile_stall;
static const char *pid_file;

static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	(void) snprintf(path, sizeof(path), "/proc/%d/status", (int) tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Tgid:", 5) == 0) {
			tgid = (pid_t) strtol(line + 5, NULL, 10);
			break;
		}
	fclose(f);
	return tgid;
}

static void *ev_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void) conn;
	cfg->direct_io = 1; /* every read reaches us: no page cache answers */
	cfg->entry_timeout = cfg->attr_timeout = 0;
	if (pid_file) {
		FILE *f = fopen(pid_file, "we");

		if (f) {
			fprintf(f, "%d\n", (int) getpid());
			fclose(f);
		}
	}
	return NULL;
}

static int ev_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void) fi;
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/run.sh") == 0) {
		st->st_mode = S_IFREG | 0755;
		st->st_nlink = 1;
		st->st_size = (off_t) content_len;
		return 0;
	}
	return -ENOENT;
}

static int ev_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void) off;
	(void) fi;
	(void) flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "run.sh", NULL, 0, 0);
	return 0;
}

static int ev_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/run.sh") != 0)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fi->direct_io = 1;
	return 0;
}

static int ev_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void) fi;
	if (strcmp(path, "/run.sh") != 0)
		return -ENOENT;
	if (hostile_pid > 0 && tgid_of(fuse_get_context()->pid) == hostile_pid) {
		struct fuse_session *se = fuse_get_session(fuse_get_context()->fuse);

		if (!hostile_stall)
			return -EIO;
		/* Until the connection is aborted or unmounted. */
		while (!fuse_session_exited(se))
			(void) usleep(20 * 1000);
		return -EIO;
	}
	if ((size_t) off >= content_len)
		return 0;
	if (size > content_len - (size_t) off)
		size = content_len - (size_t) off;
	memcpy(buf, content + off, size);
	return (int) size;
}

static const struct fuse_operations ops = {
	.init = ev_init,
	.getattr = ev_getattr,
	.readdir = ev_readdir,
	.open = ev_open,
	.read = ev_read,
};

static int load(const char *path)
{
	FILE *f = fopen(path, "re");
	long n;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -EIO;
	}
	content = malloc((size_t) n + 1);
	if (!content || fread(content, 1, (size_t) n, f) != (size_t) n) {
		fclose(f);
		return -EIO;
	}
	content_len = (size_t) n;
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	/* evilfs's own options first, then CONTENT_FILE, then fuse_main's. */
	char *fargv[16];
	int i = 1, fargc = 0;

	while (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--hostile-pid") == 0)
			hostile_pid = (pid_t) atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--hostile") == 0)
			hostile_stall = strcmp(argv[i + 1], "stall") == 0;
		else if (strcmp(argv[i], "--pid-file") == 0)
			pid_file = argv[i + 1];
		else
			break;
		i += 2;
	}
	if (argc - i < 2 || argc - i > 12) {
		fprintf(stderr,
			"usage: evilfs [--hostile-pid PID] [--hostile fail|stall] [--pid-file F] "
			"CONTENT_FILE MOUNTPOINT [-o OPTS]\n");
		return 2;
	}
	if (load(argv[i]) < 0) {
		fprintf(stderr, "evilfs: cannot read '%s'\n", argv[i]);
		return 1;
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";
	for (i++; i < argc; i++)
		fargv[fargc++] = argv[i];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ops, NULL);
}
