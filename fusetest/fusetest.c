/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fusetest: a libfuse3 test filesystem that reproduces the deadlock of
 * DESIGN.md §1 on purpose, and injects faults (delay, hang, crash, slow
 * read) on demand. See fusetest(1) and -h.
 *
 * The FUSE side uses the high-level, path-based API (after libfuse's
 * example/passthrough.c and passthrough_fh.c) and hands every operation, as
 * a struct fs_req, to a backend: local.c in this process (passthrough) or the
 * relay client, which forwards it to a separate server process (relay). */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "config.h"
#include "fd-util.h"
#include "fusetest-internal.h"
#include "log.h"
#include "parse-util.h"
#include "macro.h"

#define READDIR_CHUNK (64u << 10)

enum mode {
	MODE_PASSTHROUGH,
	MODE_RELAY,
};

static enum mode arg_mode;
static const char *arg_backing;
static const char *arg_mountpoint;
static const char *arg_control;
static const char *arg_pid_file;
static const char *arg_server_pid_file;
static struct fault_config arg_faults;
static unsigned arg_max_threads; /* 0: libfuse's default */
static bool arg_single_thread;
static bool arg_debug;
static char *arg_fuse_opts; /* -o, joined with ',' */

struct fusetest {
	struct fuse *fuse; /* set before the session starts, read by workers */
	fs_call_fn call;
	void *backend; /* struct local * or struct relay_client * */
	struct relay_client *relay;
	struct local *local;
	struct faults *faults;
	bool timeouts_given; /* -o entry_timeout= and friends: keep them */
};

static void help(void)
{
	printf("Usage: fusetest [OPTIONS] passthrough|relay BACKING MOUNTPOINT\n"
	       "A FUSE filesystem mirroring the directory BACKING at MOUNTPOINT, built to\n"
	       "reproduce the FUSE/fanotify deadlock and to inject faults. Always runs in\n"
	       "the foreground, multithreaded.\n\n"
	       "Modes:\n"
	       "  passthrough   this process does the I/O on BACKING (like bindfs)\n"
	       "  relay         a forked server process (comm \"fusetest-server\") does the\n"
	       "                I/O; this process forwards every operation to it over a\n"
	       "                socket (like sshfs -> sftp-server): opener -> fusetest ->\n"
	       "                fusetest-server -> BACKING\n\n"
	       "Fault injection (operations are counted from 1, in arrival order):\n"
	       "      --delay-ms N          wait N ms before every operation\n"
	       "      --slow-read-ms N      wait N ms more before every read\n"
	       "      --hang-after N        answer N operations, then never reply again\n"
	       "      --hang-path GLOB      never reply to operations on a path matching\n"
	       "                            GLOB (fnmatch, '*' matches '/'; paths start with\n"
	       "                            '/' at the mount root, also for reads and writes)\n"
	       "      --hang-op OP[,OP...]  never reply to these operations (flush, read,\n"
	       "                            open, release, getattr, ...; flush: close(2)\n"
	       "                            of a file on the mount waits for ever)\n"
	       "      --crash-after N       answer N operations, then abort()\n"
	       "      --control FILE        on SIGUSR1 re-read FILE: key=value lines with the\n"
	       "                            keys above (hang-after=3, hang-path=/x/*, ...);\n"
	       "                            absent keys are off. Hung operations re-check\n"
	       "                            and carry on when they no longer match.\n"
	       "A hung operation never replies: only the end of the session (SIGTERM, or\n"
	       "an abort through /sys/fs/fuse/connections/N/abort) ends the wait, and\n"
	       "still without a reply.\n\n"
	       "Other options:\n"
	       "      --pid-file FILE       write our PID once the kernel has sent FUSE_INIT\n"
	       "                            (the mount is up and served); removed at exit\n"
	       "      --server-pid-file FILE  relay: the server's PID, written at the same time\n"
	       "      --threads N           at most N FUSE worker threads [libfuse: 10]\n"
	       "  -s                        single-threaded\n"
	       "  -o OPT[,OPT...]           mount options (allow_other, default_permissions,\n"
	       "                            ro, entry_timeout=S, ...); repeatable\n"
	       "  -d, --debug               libfuse's trace of every request\n"
	       "  -f                        accepted and ignored (always foreground)\n"
	       "  -v, --verbose             log at debug level\n"
	       "  -h, --help                this help\n"
	       "      --version             print the version\n\n"
	       "Signals: SIGTERM, SIGINT, SIGHUP unmount and exit (the relay server exits\n"
	       "when the daemon does); SIGUSR1 re-reads --control, or logs the counters.\n"
	       "See fusetest(1).\n");
}

static int add_fuse_opt(const char *o)
{
	char *n;

	if (asprintf(&n, "%s%s%s", arg_fuse_opts ? arg_fuse_opts : "", arg_fuse_opts ? "," : "",
		     o) < 0)
		return -ENOMEM;
	free(arg_fuse_opts);
	arg_fuse_opts = n;
	return 0;
}

/* Returns 1 to go on, 0 to exit successfully (help), < 0 on error. */
static int parse_argv(int argc, char **argv)
{
	enum {
		ARG_DELAY = 0x100,
		ARG_SLOW_READ,
		ARG_HANG_AFTER,
		ARG_HANG_PATH,
		ARG_CRASH_AFTER,
		ARG_HANG_OP,
		ARG_CONTROL,
		ARG_PID_FILE,
		ARG_SERVER_PID_FILE,
		ARG_THREADS,
		ARG_VERSION,
	};
	static const struct option options[] = {
		{"delay-ms", required_argument, NULL, ARG_DELAY},
		{"slow-read-ms", required_argument, NULL, ARG_SLOW_READ},
		{"hang-after", required_argument, NULL, ARG_HANG_AFTER},
		{"hang-path", required_argument, NULL, ARG_HANG_PATH},
		{"crash-after", required_argument, NULL, ARG_CRASH_AFTER},
		{"hang-op", required_argument, NULL, ARG_HANG_OP},
		{"control", required_argument, NULL, ARG_CONTROL},
		{"pid-file", required_argument, NULL, ARG_PID_FILE},
		{"server-pid-file", required_argument, NULL, ARG_SERVER_PID_FILE},
		{"threads", required_argument, NULL, ARG_THREADS},
		{"debug", no_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{}};
	uint64_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:sdfvh", options, NULL)) >= 0) {
		switch (c) {
		case ARG_DELAY:
			r = parse_uint_arg(optarg, "--delay-ms", 3600000, &v);
			if (r < 0)
				return r;
			arg_faults.delay_ms = (unsigned) v;
			break;
		case ARG_SLOW_READ:
			r = parse_uint_arg(optarg, "--slow-read-ms", 3600000, &v);
			if (r < 0)
				return r;
			arg_faults.slow_read_ms = (unsigned) v;
			break;
		case ARG_HANG_AFTER:
			r = parse_uint_arg(optarg, "--hang-after", UINT64_MAX,
					   &arg_faults.hang_after);
			if (r < 0)
				return r;
			break;
		case ARG_HANG_PATH:
			if (strlen(optarg) >= sizeof(arg_faults.hang_path))
				return log_error_errno(EINVAL, "--hang-path is too long");
			strcpy(arg_faults.hang_path, optarg);
			break;
		case ARG_CRASH_AFTER:
			r = parse_uint_arg(optarg, "--crash-after", UINT64_MAX,
					   &arg_faults.crash_after);
			if (r < 0)
				return r;
			break;
		case ARG_HANG_OP:
			r = fault_parse_ops(optarg, &arg_faults.hang_ops);
			if (r < 0)
				return log_error_errno(r, "Invalid --hang-op '%s'", optarg);
			break;
		case ARG_CONTROL:
			arg_control = optarg;
			break;
		case ARG_PID_FILE:
			arg_pid_file = optarg;
			break;
		case ARG_SERVER_PID_FILE:
			arg_server_pid_file = optarg;
			break;
		case ARG_THREADS:
			r = parse_uint_arg(optarg, "--threads", 100000, &v);
			if (r < 0)
				return r;
			if (v == 0)
				return log_error_errno(EINVAL, "--threads must be at least 1");
			arg_max_threads = (unsigned) v;
			break;
		case 'o':
			r = add_fuse_opt(optarg);
			if (r < 0)
				return log_error_errno(r, "%m");
			break;
		case 's':
			arg_single_thread = true;
			break;
		case 'd':
			arg_debug = true;
			break;
		case 'f':
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("fusetest %s (FUSE library %s)\n", FANGUARD_VERSION,
			       fuse_pkgversion());
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 3)
		return log_error_errno(EINVAL, "Need MODE BACKING MOUNTPOINT; see --help");
	if (strcmp(argv[optind], "passthrough") == 0)
		arg_mode = MODE_PASSTHROUGH;
	else if (strcmp(argv[optind], "relay") == 0)
		arg_mode = MODE_RELAY;
	else
		return log_error_errno(EINVAL, "Unknown mode '%s' (passthrough or relay)",
				       argv[optind]);
	arg_backing = argv[optind + 1];
	arg_mountpoint = argv[optind + 2];
	return 1;
}

/* --- the FUSE operations --------------------------------------------------- */

static struct fusetest *ft_get(void)
{
	return fuse_get_context()->private_data;
}

static bool session_ended(void *userdata)
{
	struct fusetest *ft = userdata;

	return ft->fuse && fuse_session_exited(fuse_get_session(ft->fuse));
}

/* Runs the faults, then the backend. */
static int call(struct fs_req *req, void *out, size_t out_size, size_t *ret_out_len)
{
	struct fusetest *ft = ft_get();
	struct fuse_context *ctx = fuse_get_context();
	size_t dummy;
	int r;

	req->a.ctx_uid = ctx->uid;
	req->a.ctx_gid = ctx->gid;
	r = faults_before_op(ft->faults, req->op, req->path, req->path2);
	if (r < 0)
		return r;
	return ft->call(ft->backend, req, out, out_size, ret_out_len ? ret_out_len : &dummy);
}

static void set_fh(struct fs_req *req, const struct fuse_file_info *fi)
{
	if (fi) {
		req->a.has_fh = 1;
		req->a.fh = fi->fh;
	}
}

static void fs_to_stat(const struct fs_stat *f, struct stat *st)
{
	*st = (struct stat){
		.st_dev = f->dev,
		.st_ino = f->ino,
		.st_nlink = f->nlink,
		.st_size = (off_t) f->size,
		.st_blocks = (blkcnt_t) f->blocks,
		.st_rdev = f->rdev,
		.st_mode = f->mode,
		.st_uid = f->uid,
		.st_gid = f->gid,
		.st_blksize = f->blksize,
		.st_atim = {f->atime_sec, f->atime_nsec},
		.st_mtim = {f->mtime_sec, f->mtime_nsec},
		.st_ctim = {f->ctime_sec, f->ctime_nsec},
	};
}

/* Written to a temporary name and renamed, so a reader never sees it half done. */
static int write_pid_file(const char *path, pid_t pid)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	int r, n;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int) pid);
	r = loop_write(fd, buf, (size_t) n);
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void) unlink(tmp);
	return r;
}

static void *ft_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fusetest *ft = ft_get();
	int r;

	(void) conn;
	cfg->use_ino = 1;
	/* Operations by handle (read, write, release...) still get their path,
	 * so that --hang-path can pick the reads of one file. hard_remove stays
	 * off: an open file that is unlinked is renamed to .fuse_hidden* until
	 * its last close, because with hard_remove libfuse forgets its path and
	 * an fstat() of it fails with ESTALE. */
	cfg->nullpath_ok = 0;
	if (!ft->timeouts_given) {
		/* The backing directory changes under us (tests write to both
		 * sides): no caching, like example/passthrough.c. */
		cfg->entry_timeout = 0;
		cfg->attr_timeout = 0;
		cfg->negative_timeout = 0;
	}
	if (arg_pid_file) {
		r = write_pid_file(arg_pid_file, getpid());
		if (r < 0)
			log_warning_errno(r, "Cannot write '%s', ignoring: %m", arg_pid_file);
	}
	if (arg_server_pid_file && ft->relay) {
		r = write_pid_file(arg_server_pid_file, relay_client_server_pid(ft->relay));
		if (r < 0)
			log_warning_errno(r, "Cannot write '%s', ignoring: %m",
					  arg_server_pid_file);
	}
	if (ft->relay)
		log_info("Serving '%s' on '%s' (relay, server pid %d)", arg_backing, arg_mountpoint,
			 (int) relay_client_server_pid(ft->relay));
	else
		log_info("Serving '%s' on '%s' (passthrough)", arg_backing, arg_mountpoint);
	return ft;
}

static int ft_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_GETATTR, .path = path};
	struct fs_stat fs;
	size_t len;
	int r;

	set_fh(&req, fi);
	r = call(&req, &fs, sizeof(fs), &len);
	if (r < 0)
		return r;
	if (len != sizeof(fs))
		return -EIO;
	fs_to_stat(&fs, st);
	return 0;
}

static int ft_readlink(const char *path, char *buf, size_t size)
{
	struct fs_req req = {.op = FS_READLINK, .path = path};
	size_t len;
	int r;

	if (size == 0)
		return -EINVAL;
	r = call(&req, buf, size - 1, &len);
	if (r < 0)
		return r;
	buf[len] = '\0';
	return 0;
}

static int ft_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct fs_req req = {.op = FS_MKNOD, .path = path, .a = {.mode = mode, .rdev = rdev}};

	return call(&req, NULL, 0, NULL);
}

static int ft_mkdir(const char *path, mode_t mode)
{
	struct fs_req req = {.op = FS_MKDIR, .path = path, .a = {.mode = mode}};

	return call(&req, NULL, 0, NULL);
}

static int ft_unlink(const char *path)
{
	struct fs_req req = {.op = FS_UNLINK, .path = path};

	return call(&req, NULL, 0, NULL);
}

static int ft_rmdir(const char *path)
{
	struct fs_req req = {.op = FS_RMDIR, .path = path};

	return call(&req, NULL, 0, NULL);
}

static int ft_symlink(const char *target, const char *path)
{
	struct fs_req req = {.op = FS_SYMLINK, .path = target, .path2 = path};

	return call(&req, NULL, 0, NULL);
}

static int ft_rename(const char *from, const char *to, unsigned int flags)
{
	struct fs_req req = {.op = FS_RENAME, .path = from, .path2 = to, .a = {.flags = flags}};

	return call(&req, NULL, 0, NULL);
}

static int ft_link(const char *from, const char *to)
{
	struct fs_req req = {.op = FS_LINK, .path = from, .path2 = to};

	return call(&req, NULL, 0, NULL);
}

static int ft_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_CHMOD, .path = path, .a = {.mode = mode}};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_CHOWN, .path = path, .a = {.uid = uid, .gid = gid}};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_TRUNCATE, .path = path, .a = {.off = (uint64_t) size}};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_UTIMENS, .path = path};

	if (tv) {
		req.a.atime_sec = tv[0].tv_sec;
		req.a.atime_nsec = tv[0].tv_nsec;
		req.a.mtime_sec = tv[1].tv_sec;
		req.a.mtime_nsec = tv[1].tv_nsec;
	} else {
		req.a.atime_nsec = UTIME_NOW;
		req.a.mtime_nsec = UTIME_NOW;
	}
	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int open_common(uint32_t op, const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = op, .path = path, .a = {.mode = mode, .flags = fi->flags}};
	uint64_t fh;
	size_t len;
	int r;

	r = call(&req, &fh, sizeof(fh), &len);
	if (r < 0)
		return r;
	if (len != sizeof(fh))
		return -EIO;
	fi->fh = fh;
	return 0;
}

static int ft_open(const char *path, struct fuse_file_info *fi)
{
	return open_common(FS_OPEN, path, 0, fi);
}

static int ft_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_common(FS_CREATE, path, mode, fi);
}

static int ft_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_req req = {
		.op = FS_READ, .path = path, .a = {.off = (uint64_t) off, .size = size}};

	set_fh(&req, fi);
	return call(&req, buf, size, NULL);
}

static int ft_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_WRITE,
			     .path = path,
			     .data = buf,
			     .a = {.off = (uint64_t) off, .data_len = (uint32_t) size}};

	if (size > RELAY_MAX_DATA)
		return -EINVAL;
	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_statfs(const char *path, struct statvfs *sv)
{
	struct fs_req req = {.op = FS_STATFS, .path = path};
	struct fs_statvfs f;
	size_t len;
	int r;

	r = call(&req, &f, sizeof(f), &len);
	if (r < 0)
		return r;
	if (len != sizeof(f))
		return -EIO;
	*sv = (struct statvfs){
		.f_bsize = f.bsize,
		.f_frsize = f.frsize,
		.f_blocks = f.blocks,
		.f_bfree = f.bfree,
		.f_bavail = f.bavail,
		.f_files = f.files,
		.f_ffree = f.ffree,
		.f_favail = f.favail,
		.f_fsid = f.fsid,
		.f_flag = f.flag,
		.f_namemax = f.namemax,
	};
	return 0;
}

static int ft_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_RELEASE, .path = path};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

/* Every close(2) of a file on the mount (and dup2 over one): the kernel
 * waits for the reply uninterruptibly, so a hung FLUSH holds the closer in D. */
static int ft_flush(const char *path, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_FLUSH, .path = path};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_FSYNC, .path = path, .a = {.flags = datasync ? 1 : 0}};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_opendir(const char *path, struct fuse_file_info *fi)
{
	return open_common(FS_OPENDIR, path, 0, fi);
}

static int ft_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fusetest *ft = ft_get();
	_cleanup_free_ char *chunk = malloc(READDIR_CHUNK);
	uint64_t cookie = (uint64_t) off;
	bool first = true;

	(void) flags;
	if (!chunk)
		return -ENOMEM;
	for (;;) {
		struct fs_req req = {.op = FS_READDIR, .path = path, .a = {.off = cookie}};
		size_t len, pos = 0;
		int r;

		set_fh(&req, fi);
		/* One operation for the faults, however many chunks it takes. */
		if (first)
			r = call(&req, chunk, READDIR_CHUNK, &len);
		else
			r = ft->call(ft->backend, &req, chunk, READDIR_CHUNK, &len);
		first = false;
		if (r < 0)
			return r;
		if (len == 0)
			return 0;
		while (pos + sizeof(struct fs_dirent) <= len) {
			struct fs_dirent e;
			struct stat st = {};
			const char *name;

			memcpy(&e, chunk + pos, sizeof(e));
			if (pos + FS_DIRENT_SIZE(e.namelen) > len)
				return -EIO;
			name = chunk + pos + sizeof(e);
			st.st_ino = e.ino;
			st.st_mode = DTTOIF(e.type);
			if (filler(buf, name, &st, (off_t) e.next_off, 0))
				return 0; /* the kernel's buffer is full */
			cookie = e.next_off;
			pos += FS_DIRENT_SIZE(e.namelen);
		}
	}
}

static int ft_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct fs_req req = {.op = FS_RELEASEDIR, .path = path};

	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static int ft_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct fs_req req = {
		.op = FS_FALLOCATE,
		.path = path,
		.a = {.mode = (uint32_t) mode, .off = (uint64_t) off, .size = (uint64_t) len}};

	if (!fi)
		return -EOPNOTSUPP;
	set_fh(&req, fi);
	return call(&req, NULL, 0, NULL);
}

static const struct fuse_operations ft_ops = {
	.init = ft_init,
	.getattr = ft_getattr,
	.readlink = ft_readlink,
	.mknod = ft_mknod,
	.mkdir = ft_mkdir,
	.unlink = ft_unlink,
	.rmdir = ft_rmdir,
	.symlink = ft_symlink,
	.rename = ft_rename,
	.link = ft_link,
	.chmod = ft_chmod,
	.chown = ft_chown,
	.truncate = ft_truncate,
	.utimens = ft_utimens,
	.open = ft_open,
	.create = ft_create,
	.read = ft_read,
	.write = ft_write,
	.statfs = ft_statfs,
	.flush = ft_flush,
	.release = ft_release,
	.fsync = ft_fsync,
	.opendir = ft_opendir,
	.readdir = ft_readdir,
	.releasedir = ft_releasedir,
	.fallocate = ft_fallocate,
};

/* --- control: SIGUSR1 ------------------------------------------------------ */

struct control {
	struct faults *faults;
	int signal_fd; /* SIGUSR1 */
	int stop_fd;   /* eventfd: stop the thread */
	pthread_t thread;
};

static void *control_main(void *userdata)
{
	struct control *ctl = userdata;

	(void) pthread_setname_np(pthread_self(), "control");
	for (;;) {
		struct pollfd p[2] = {{ctl->signal_fd, POLLIN, 0}, {ctl->stop_fd, POLLIN, 0}};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error_errno(errno, "poll: %m");
			break;
		}
		if (p[1].revents)
			break;
		if (read(ctl->signal_fd, &si, sizeof(si)) == sizeof(si))
			(void) faults_reload(ctl->faults);
	}
	return NULL;
}

static int control_start(struct control *ctl, struct faults *faults)
{
	sigset_t usr1, all, old;
	int r;

	*ctl = (struct control){.faults = faults, .signal_fd = -EBADF, .stop_fd = -EBADF};
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ctl->signal_fd = signalfd(-1, &usr1, SFD_CLOEXEC);
	if (ctl->signal_fd < 0)
		return -errno;
	ctl->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (ctl->stop_fd < 0)
		return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&ctl->thread, NULL, control_main, ctl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void control_stop(struct control *ctl, bool started)
{
	uint64_t one = 1;

	if (started && write(ctl->stop_fd, &one, sizeof(one)) == sizeof(one))
		(void) pthread_join(ctl->thread, NULL);
	ctl->signal_fd = safe_close(ctl->signal_fd);
	ctl->stop_fd = safe_close(ctl->stop_fd);
}

/* --- main ------------------------------------------------------------------ */

static int build_fuse_args(struct fuse_args *args, const char *argv0, bool *ret_timeouts_given)
{
	_cleanup_free_ char *fsname = NULL;
	char *opts = NULL;
	int r = -ENOMEM;

	if (fuse_opt_add_arg(args, argv0) < 0)
		return -ENOMEM;
	if (arg_debug && fuse_opt_add_arg(args, "-d") < 0)
		return -ENOMEM;
	if (asprintf(&fsname, "fsname=fusetest:%s", arg_backing) < 0)
		return -ENOMEM;
	/* Ours first: a user's -o fsname=... or subtype=... comes later and wins. */
	if (fuse_opt_add_opt_escaped(&opts, fsname) < 0 ||
	    fuse_opt_add_opt(&opts, "subtype=fusetest") < 0)
		goto out;
	if (arg_fuse_opts && fuse_opt_add_opt(&opts, arg_fuse_opts) < 0)
		goto out;
	if (fuse_opt_add_arg(args, "-o") < 0 || fuse_opt_add_arg(args, opts) < 0)
		goto out;
	*ret_timeouts_given = arg_fuse_opts && (strstr(arg_fuse_opts, "entry_timeout=") ||
						strstr(arg_fuse_opts, "attr_timeout=") ||
						strstr(arg_fuse_opts, "negative_timeout="));
	r = 0;
out:
	free(opts);
	return r;
}

/* libfuse does not unmount a connection that was aborted (through
 * /sys/fs/fuse/connections/N/abort): it takes that for "already unmounted"
 * and leaves a dead mount behind. Our /dev/fuse fd is closed by now, so the
 * connection is dead either way and statfs() cannot block; ENOTCONN means
 * the dead mount is still there. */
static void detach_dead_mount(const char *mountpoint)
{
	struct statfs sfs;

	if (statfs(mountpoint, &sfs) == 0 || (errno != ENOTCONN && errno != ECONNABORTED))
		return;
	if (umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		log_warning_errno(errno, "Cannot detach the dead mount '%s', ignoring: %m",
				  mountpoint);
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fusetest ft = {};
	struct control ctl = {.signal_fd = -EBADF, .stop_fd = -EBADF};
	struct fuse_session *se;
	bool ctl_started = false, mounted = false, handlers = false;
	sigset_t usr1;
	int r, ret = 1;

	log_set_ident("fusetest");
	r = parse_argv(argc, argv);
	if (r <= 0) {
		free(arg_fuse_opts);
		return r < 0 ? 2 : 0;
	}

	/* SIGUSR1 goes to the control thread's signalfd only: block it before
	 * any thread exists, so every thread inherits the block. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	r = faults_new(&arg_faults, arg_control, session_ended, &ft, &ft.faults);
	if (r < 0) {
		log_error_errno(r, "%m");
		goto err_out1;
	}
	/* The relay server is forked first, while we hold nothing but stdio:
	 * it must never inherit /dev/fuse. */
	if (arg_mode == MODE_RELAY) {
		r = relay_client_new(arg_backing, session_ended, &ft, &ft.relay);
		if (r < 0) {
			log_error_errno(r, "Cannot start the relay server on '%s': %m",
					arg_backing);
			goto err_out1;
		}
		ft.call = relay_client_call;
		ft.backend = ft.relay;
	} else {
		r = local_new(arg_backing, &ft.local);
		if (r < 0) {
			log_error_errno(r, "Cannot open '%s': %m", arg_backing);
			goto err_out1;
		}
		ft.call = local_call;
		ft.backend = ft.local;
	}

	r = build_fuse_args(&args, argv[0], &ft.timeouts_given);
	if (r < 0) {
		log_error_errno(r, "%m");
		goto err_out1;
	}
	ft.fuse = fuse_new(&args, &ft_ops, sizeof(ft_ops), &ft);
	if (!ft.fuse) {
		log_error("Cannot set up FUSE (bad -o option?)");
		goto err_out1;
	}
	se = fuse_get_session(ft.fuse);
	if (fuse_mount(ft.fuse, arg_mountpoint) != 0) {
		log_error("Cannot mount on '%s'", arg_mountpoint);
		goto err_out2;
	}
	mounted = true;
	if (fuse_set_signal_handlers(se) != 0) {
		log_error("Cannot set signal handlers");
		goto err_out3;
	}
	handlers = true;
	r = control_start(&ctl, ft.faults);
	if (r < 0) {
		log_error_errno(r, "Cannot start the control thread: %m");
		goto err_out3;
	}
	ctl_started = true;

	if (arg_single_thread)
		r = fuse_loop(ft.fuse);
	else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();

		if (!cfg) {
			log_error("Out of memory");
			goto err_out3;
		}
		if (arg_max_threads > 0)
			fuse_loop_cfg_set_max_threads(cfg, arg_max_threads);
		r = fuse_loop_mt(ft.fuse, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* 0, a signal number (SIGTERM: a clean stop), or -errno. */
	if (r < 0)
		log_error_errno(r, "The FUSE session failed: %m");
	else
		ret = 0;
	log_info("Unmounting '%s'", arg_mountpoint);

err_out3:
	control_stop(&ctl, ctl_started);
	if (handlers)
		fuse_remove_signal_handlers(se);
	/* Closes /dev/fuse first (which aborts the connection), then a lazy
	 * umount: never blocks on a hung request. */
	if (mounted) {
		fuse_unmount(ft.fuse);
		detach_dead_mount(arg_mountpoint);
	}
err_out2:
	fuse_destroy(ft.fuse);
err_out1:
	fuse_opt_free_args(&args);
	/* The server exits on EOF; one stuck in an open is killed. */
	relay_client_free(ft.relay, 2000);
	local_free(ft.local);
	faults_free(ft.faults);
	if (arg_pid_file)
		(void) unlink(arg_pid_file);
	if (arg_server_pid_file)
		(void) unlink(arg_server_pid_file);
	free(arg_fuse_opts);
	return ret;
}
