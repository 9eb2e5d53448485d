/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The local I/O on the backing directory, shaped after libfuse's
 * example/passthrough.c but relative to a directory fd: in passthrough mode
 * the FUSE handlers call it directly, in relay mode the server process does.
 * Whoever calls it is the process that opens the backing files, and so the
 * process a fanotify listener on the backing filesystem sees. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "fusetest-internal.h"
#include "macro.h"

struct handle {
	int fd;
	DIR *dir;	      /* OPENDIR: owns fd */
	pthread_mutex_t lock; /* serializes seekdir+readdir on dir */
};

struct local {
	int root_fd;	      /* O_PATH of the backing directory */
	bool chown_new;	      /* we are root: give what we create to the caller */
	pthread_mutex_t lock; /* protects handles, n_handles */
	struct handle **handles;
	size_t n_handles;
};

static const char *const op_names[_FS_OP_MAX] = {
	[FS_HELLO] = "hello",	      [FS_GETATTR] = "getattr", [FS_READLINK] = "readlink",
	[FS_MKNOD] = "mknod",	      [FS_MKDIR] = "mkdir",	[FS_UNLINK] = "unlink",
	[FS_RMDIR] = "rmdir",	      [FS_SYMLINK] = "symlink", [FS_RENAME] = "rename",
	[FS_LINK] = "link",	      [FS_CHMOD] = "chmod",	[FS_CHOWN] = "chown",
	[FS_TRUNCATE] = "truncate",   [FS_UTIMENS] = "utimens", [FS_OPEN] = "open",
	[FS_CREATE] = "create",	      [FS_READ] = "read",	[FS_WRITE] = "write",
	[FS_STATFS] = "statfs",	      [FS_RELEASE] = "release", [FS_FSYNC] = "fsync",
	[FS_OPENDIR] = "opendir",     [FS_READDIR] = "readdir", [FS_RELEASEDIR] = "releasedir",
	[FS_FALLOCATE] = "fallocate", [FS_FLUSH] = "flush",
};

const char *fs_op_to_string(uint32_t op)
{
	return op < _FS_OP_MAX && op_names[op] ? op_names[op] : "?";
}

int fs_op_from_string(const char *s)
{
	for (int i = 0; i < _FS_OP_MAX; i++)
		if (op_names[i] && strcmp(op_names[i], s) == 0)
			return i;
	return -EINVAL;
}

int local_new(const char *backing, struct local **ret)
{
	_cleanup_free_ struct local *l = NULL;
	int fd;

	fd = open(backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	l = calloc(1, sizeof(*l));
	if (!l) {
		safe_close(fd);
		return -ENOMEM;
	}
	l->root_fd = fd;
	l->chown_new = geteuid() == 0;
	pthread_mutex_init(&l->lock, NULL);
	*ret = TAKE_PTR(l);
	return 0;
}

static void handle_close(struct handle *h)
{
	if (!h)
		return;
	if (h->dir)
		(void) closedir(h->dir);
	else
		safe_close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

struct local *local_free(struct local *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->n_handles; i++)
		handle_close(l->handles[i]);
	free(l->handles);
	safe_close(l->root_fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
	return NULL;
}

/* Handles are small integers (index + 1), so that a bogus one from the
 * other end of the relay is an error and not a wild pointer. */
static int handle_add(struct local *l, int fd, DIR *dir, uint64_t *ret_id)
{
	struct handle *h;
	size_t i;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->dir = dir;
	pthread_mutex_init(&h->lock, NULL);

	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->n_handles; i++)
		if (!l->handles[i])
			break;
	if (i == l->n_handles) {
		size_t n = l->n_handles ? l->n_handles * 2 : 64;
		struct handle **hs = realloc(l->handles, n * sizeof(*hs));

		if (!hs) {
			pthread_mutex_unlock(&l->lock);
			pthread_mutex_destroy(&h->lock);
			free(h);
			return -ENOMEM;
		}
		memset(hs + l->n_handles, 0, (n - l->n_handles) * sizeof(*hs));
		l->handles = hs;
		l->n_handles = n;
	}
	l->handles[i] = h;
	pthread_mutex_unlock(&l->lock);
	*ret_id = i + 1;
	return 0;
}

/* The kernel sends no operation on a handle after its release, so the
 * handle stays valid for the caller without a reference count. */
static struct handle *handle_get(struct local *l, uint64_t id)
{
	struct handle *h = NULL;

	pthread_mutex_lock(&l->lock);
	if (id >= 1 && id <= l->n_handles)
		h = l->handles[id - 1];
	pthread_mutex_unlock(&l->lock);
	return h;
}

static struct handle *handle_remove(struct local *l, uint64_t id)
{
	struct handle *h = NULL;

	pthread_mutex_lock(&l->lock);
	if (id >= 1 && id <= l->n_handles) {
		h = l->handles[id - 1];
		l->handles[id - 1] = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	return h;
}

/* "/a/b" -> "a/b", "/" -> "." */
static const char *rel(const char *path)
{
	if (!path)
		return NULL;
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static void stat_to_fs(const struct stat *st, struct fs_stat *o)
{
	*o = (struct fs_stat){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.nlink = st->st_nlink,
		.size = (uint64_t) st->st_size,
		.blocks = (uint64_t) st->st_blocks,
		.rdev = st->st_rdev,
		.mode = st->st_mode,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.blksize = (uint32_t) st->st_blksize,
		.atime_sec = st->st_atim.tv_sec,
		.atime_nsec = st->st_atim.tv_nsec,
		.mtime_sec = st->st_mtim.tv_sec,
		.mtime_nsec = st->st_mtim.tv_nsec,
		.ctime_sec = st->st_ctim.tv_sec,
		.ctime_nsec = st->st_ctim.tv_nsec,
	};
}

static int handle_fd(struct local *l, const struct fs_req *req)
{
	struct handle *h = handle_get(l, req->a.fh);

	return h ? h->fd : -EBADF;
}

/* The path, or -EINVAL when the op needs one and got none. */
#define NEED_PATH(p)                    \
	do {                            \
		if (!(p))               \
			return -EINVAL; \
	} while (0)

static int give_to_caller(struct local *l, const struct fs_req *req, const char *path)
{
	if (!l->chown_new || (req->a.ctx_uid == 0 && req->a.ctx_gid == 0))
		return 0;
	return RET_NERRNO(fchownat(l->root_fd, rel(path), req->a.ctx_uid, req->a.ctx_gid,
				   AT_SYMLINK_NOFOLLOW));
}

static int do_getattr(struct local *l, const struct fs_req *req, void *out, size_t out_size,
		      size_t *ret_out_len)
{
	struct stat st;
	int r;

	if (out_size < sizeof(struct fs_stat))
		return -EINVAL;
	if (req->a.has_fh) {
		int fd = handle_fd(l, req);

		if (fd < 0)
			return fd;
		r = fstat(fd, &st);
	} else {
		NEED_PATH(req->path);
		r = fstatat(l->root_fd, rel(req->path), &st, AT_SYMLINK_NOFOLLOW);
	}
	if (r < 0)
		return -errno;
	stat_to_fs(&st, out);
	*ret_out_len = sizeof(struct fs_stat);
	return 0;
}

static int do_open(struct local *l, const struct fs_req *req, bool create, void *out,
		   size_t out_size, size_t *ret_out_len)
{
	uint64_t id;
	int fd, flags, r;

	NEED_PATH(req->path);
	if (out_size < sizeof(uint64_t))
		return -EINVAL;
	/* O_NOFOLLOW: the kernel resolved symlinks in the mount already; one
	 * here was swapped in under us. */
	flags = (int) req->a.flags | O_CLOEXEC | O_NOFOLLOW;
	flags &= ~O_NOCTTY;
	if (create) {
		fd = openat(l->root_fd, rel(req->path), flags | O_CREAT, (mode_t) req->a.mode);
		if (fd < 0)
			return -errno;
		r = give_to_caller(l, req, req->path);
		if (r < 0) {
			safe_close(fd);
			return r;
		}
	} else {
		fd = openat(l->root_fd, rel(req->path), flags & ~(O_CREAT | O_EXCL));
		if (fd < 0)
			return -errno;
	}
	r = handle_add(l, fd, NULL, &id);
	if (r < 0) {
		safe_close(fd);
		return r;
	}
	memcpy(out, &id, sizeof(id));
	*ret_out_len = sizeof(id);
	return 0;
}

static int do_opendir(struct local *l, const struct fs_req *req, void *out, size_t out_size,
		      size_t *ret_out_len)
{
	uint64_t id;
	DIR *dir;
	int fd, r;

	NEED_PATH(req->path);
	if (out_size < sizeof(uint64_t))
		return -EINVAL;
	fd = openat(l->root_fd, rel(req->path), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		safe_close(fd);
		return r;
	}
	r = handle_add(l, fd, dir, &id);
	if (r < 0) {
		(void) closedir(dir);
		return r;
	}
	memcpy(out, &id, sizeof(id));
	*ret_out_len = sizeof(id);
	return 0;
}

/* Fills out with entries from cookie a.off on, as many as fit. */
static int do_readdir(struct local *l, const struct fs_req *req, void *out, size_t out_size,
		      size_t *ret_out_len)
{
	struct handle *h = handle_get(l, req->a.fh);
	size_t used = 0;
	int r = 0;

	if (!h || !h->dir)
		return -EBADF;
	pthread_mutex_lock(&h->lock);
	if (req->a.off == 0)
		rewinddir(h->dir);
	else
		seekdir(h->dir, (long) req->a.off);
	for (;;) {
		struct fs_dirent e;
		struct dirent *de;
		size_t namelen, sz;
		long pos;

		errno = 0;
		de = readdir(h->dir);
		if (!de) {
			r = errno > 0 ? -errno : 0;
			break;
		}
		namelen = strlen(de->d_name);
		sz = FS_DIRENT_SIZE(namelen);
		if (used + sz > out_size) {
			/* Does not fit: the next call starts at this entry. */
			break;
		}
		pos = telldir(h->dir);
		e = (struct fs_dirent){
			.ino = de->d_ino,
			.next_off = (uint64_t) pos,
			.type = de->d_type,
			.namelen = (uint32_t) namelen,
		};
		memcpy((char *) out + used, &e, sizeof(e));
		memcpy((char *) out + used + sizeof(e), de->d_name, namelen + 1);
		memset((char *) out + used + sizeof(e) + namelen + 1, 0,
		       sz - sizeof(e) - namelen - 1);
		used += sz;
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0 && used == 0)
		return r;
	*ret_out_len = used;
	return (int) used;
}

static int do_truncate(struct local *l, const struct fs_req *req)
{
	_cleanup_close_ int fd = -EBADF;

	if (req->a.has_fh) {
		int hfd = handle_fd(l, req);

		if (hfd < 0)
			return hfd;
		return RET_NERRNO(ftruncate(hfd, (off_t) req->a.off));
	}
	NEED_PATH(req->path);
	fd = openat(l->root_fd, rel(req->path), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return RET_NERRNO(ftruncate(fd, (off_t) req->a.off));
}

static int do_utimens(struct local *l, const struct fs_req *req)
{
	struct timespec ts[2] = {
		{.tv_sec = req->a.atime_sec, .tv_nsec = req->a.atime_nsec},
		{.tv_sec = req->a.mtime_sec, .tv_nsec = req->a.mtime_nsec},
	};

	if (req->a.has_fh) {
		int fd = handle_fd(l, req);

		if (fd < 0)
			return fd;
		return RET_NERRNO(futimens(fd, ts));
	}
	NEED_PATH(req->path);
	return RET_NERRNO(utimensat(l->root_fd, rel(req->path), ts, AT_SYMLINK_NOFOLLOW));
}

static int do_statfs(struct local *l, void *out, size_t out_size, size_t *ret_out_len)
{
	struct statvfs sv;

	if (out_size < sizeof(struct fs_statvfs))
		return -EINVAL;
	if (fstatvfs(l->root_fd, &sv) < 0)
		return -errno;
	*(struct fs_statvfs *) out = (struct fs_statvfs){
		.bsize = sv.f_bsize,
		.frsize = sv.f_frsize,
		.blocks = sv.f_blocks,
		.bfree = sv.f_bfree,
		.bavail = sv.f_bavail,
		.files = sv.f_files,
		.ffree = sv.f_ffree,
		.favail = sv.f_favail,
		.fsid = sv.f_fsid,
		.flag = sv.f_flag,
		.namemax = sv.f_namemax,
	};
	*ret_out_len = sizeof(struct fs_statvfs);
	return 0;
}

int local_call(void *userdata, const struct fs_req *req, void *out, size_t out_size,
	       size_t *ret_out_len)
{
	struct local *l = userdata;
	const char *p = req->path;
	int fd, r;

	assert(l);
	*ret_out_len = 0;
	switch (req->op) {
	case FS_GETATTR:
		return do_getattr(l, req, out, out_size, ret_out_len);
	case FS_READLINK: {
		ssize_t n;

		NEED_PATH(p);
		n = readlinkat(l->root_fd, rel(p), out, out_size);
		if (n < 0)
			return -errno;
		*ret_out_len = (size_t) n;
		return (int) n;
	}
	case FS_MKNOD:
		NEED_PATH(p);
		if (mknodat(l->root_fd, rel(p), (mode_t) req->a.mode, (dev_t) req->a.rdev) < 0)
			return -errno;
		return give_to_caller(l, req, p);
	case FS_MKDIR:
		NEED_PATH(p);
		if (mkdirat(l->root_fd, rel(p), (mode_t) req->a.mode) < 0)
			return -errno;
		return give_to_caller(l, req, p);
	case FS_UNLINK:
		NEED_PATH(p);
		return RET_NERRNO(unlinkat(l->root_fd, rel(p), 0));
	case FS_RMDIR:
		NEED_PATH(p);
		return RET_NERRNO(unlinkat(l->root_fd, rel(p), AT_REMOVEDIR));
	case FS_SYMLINK:
		NEED_PATH(p);
		NEED_PATH(req->path2);
		if (symlinkat(p, l->root_fd, rel(req->path2)) < 0)
			return -errno;
		return give_to_caller(l, req, req->path2);
	case FS_RENAME:
		NEED_PATH(p);
		NEED_PATH(req->path2);
		return RET_NERRNO(
			renameat2(l->root_fd, rel(p), l->root_fd, rel(req->path2), req->a.flags));
	case FS_LINK:
		NEED_PATH(p);
		NEED_PATH(req->path2);
		return RET_NERRNO(linkat(l->root_fd, rel(p), l->root_fd, rel(req->path2), 0));
	case FS_CHMOD:
		if (req->a.has_fh) {
			fd = handle_fd(l, req);
			return fd < 0 ? fd : RET_NERRNO(fchmod(fd, (mode_t) req->a.mode));
		}
		NEED_PATH(p);
		return RET_NERRNO(fchmodat(l->root_fd, rel(p), (mode_t) req->a.mode, 0));
	case FS_CHOWN:
		if (req->a.has_fh) {
			fd = handle_fd(l, req);
			return fd < 0 ? fd
				      : RET_NERRNO(
						fchown(fd, (uid_t) req->a.uid, (gid_t) req->a.gid));
		}
		NEED_PATH(p);
		return RET_NERRNO(fchownat(l->root_fd, rel(p), (uid_t) req->a.uid,
					   (gid_t) req->a.gid, AT_SYMLINK_NOFOLLOW));
	case FS_TRUNCATE:
		return do_truncate(l, req);
	case FS_UTIMENS:
		return do_utimens(l, req);
	case FS_OPEN:
		return do_open(l, req, false, out, out_size, ret_out_len);
	case FS_CREATE:
		return do_open(l, req, true, out, out_size, ret_out_len);
	case FS_READ: {
		size_t want = req->a.size < out_size ? req->a.size : out_size;
		size_t done = 0;

		fd = handle_fd(l, req);
		if (fd < 0)
			return fd;
		/* Short reads only at EOF: FUSE takes a short read for EOF. */
		while (done < want) {
			ssize_t n = pread(fd, (char *) out + done, want - done,
					  (off_t) (req->a.off + done));

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (done > 0)
					break;
				return -errno;
			}
			if (n == 0)
				break;
			done += (size_t) n;
		}
		*ret_out_len = done;
		return (int) done;
	}
	case FS_WRITE: {
		ssize_t n;

		fd = handle_fd(l, req);
		if (fd < 0)
			return fd;
		n = pwrite(fd, req->data, req->a.data_len, (off_t) req->a.off);
		return n < 0 ? -errno : (int) n;
	}
	case FS_STATFS:
		return do_statfs(l, out, out_size, ret_out_len);
	case FS_RELEASE:
	case FS_RELEASEDIR: {
		struct handle *h = handle_remove(l, req->a.fh);

		if (!h)
			return -EBADF;
		handle_close(h);
		return 0;
	}
	case FS_FLUSH:
		/* As passthrough_ll: close a duplicate, so that the backing file
		 * sees the close (locks, NFS close-to-open) while our handle stays. */
		fd = handle_fd(l, req);
		if (fd < 0)
			return fd;
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		return close(fd) < 0 ? -errno : 0;
	case FS_FSYNC:
		fd = handle_fd(l, req);
		if (fd < 0)
			return fd;
		r = req->a.flags ? fdatasync(fd) : fsync(fd);
		return r < 0 ? -errno : 0;
	case FS_OPENDIR:
		return do_opendir(l, req, out, out_size, ret_out_len);
	case FS_READDIR:
		return do_readdir(l, req, out, out_size, ret_out_len);
	case FS_FALLOCATE:
		fd = handle_fd(l, req);
		if (fd < 0)
			return fd;
		return RET_NERRNO(
			fallocate(fd, (int) req->a.mode, (off_t) req->a.off, (off_t) req->a.size));
	default:
		return -ENOSYS;
	}
}
