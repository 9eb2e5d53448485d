/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quarantine of denied files (quarantine-internal.h, fanguard_set_quarantine()).
 *
 * Order, on the worker that answered the deny and still holds the event's
 * fd: (1) skip what must not be copied (not local, too large, over the
 * rate, under the disk floor), counted; (2) copy the content from the
 * event's fd (FMODE_NONOTIFY: our reads raise no event; the path is never
 * reopened, a user may have swapped it) into a new O_EXCL file of the
 * quarantine directory, hashing it, and fdatasync() it; (3) only then
 * remove the original: open its parent with openat2(RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) (the path comes from /proc/self/fd, canonical, so
 * any symlink on the way means it changed), fstatat() the name without
 * following it, and unlinkat() it only if device and inode are the event
 * fd's; (4) append one JSON line to records.jsonl.
 *
 * Why only local filesystems: the copy reads the whole file, and on FUSE
 * every read goes to a daemon that may hang (our reads of the event fd
 * have no deadline), or on a network mount to a server that may stall; a
 * worker pinned there would be abandoned by the keeper and replaced, but
 * never freed. Local reads finish (bounded by max_bytes), so no deadline
 * machinery is needed. Denies on other mounts are counted (cause
 * not-local), never silently skipped.
 *
 * What remains between fstatat() and unlinkat(): whoever can rename
 * entries of that directory can swap the name in between. In a directory a
 * user may write, that user may remove or rename those entries anyway (in
 * a sticky one only their own, which is also all they can swap in); the
 * parent itself is held open, so it cannot be swapped. So the window gives
 * nobody a removal they could not do themselves.
 *
 * Must never: run before the answer, run on a reader, follow a symlink,
 * overwrite a file, or log more than a line per quarantined file (a flood
 * is cut by the rate limit; skips are logged at 1, 2, 4, 8... per cause). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "answer-internal.h"
#include "domain-internal.h"
#include "escape.h"
#include "fd-util.h"
#include "fg-internal.h"
#include "macro.h"
#include "quarantine-internal.h"
#include "subject-internal.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define RECORDS "records.jsonl"
#define DEFAULT_MAX_BYTES (64ULL << 20)
#define DEFAULT_PER_MINUTE 60
#define DEFAULT_MIN_FREE (128ULL << 20)

struct quarantine {
	int dir_fd, record_fd;
	uint64_t max_bytes, min_free;
	uint32_t per_minute;
	pthread_mutex_t lock; /* the rate window, appends to records.jsonl */
	usec_t window_start;  /* protected by lock */
	uint32_t window_n;    /* protected by lock */
	_Atomic uint64_t seq, done;
	_Atomic uint64_t failed[_QUARANTINE_CAUSE_MAX];
};

static const char *const cause_names[_QUARANTINE_CAUSE_MAX] = {
	[QUARANTINE_NOT_LOCAL] = "not-local",	    [QUARANTINE_TOO_LARGE] = "too-large",
	[QUARANTINE_RATE_LIMIT] = "rate-limit",	    [QUARANTINE_DISK_FLOOR] = "disk-floor",
	[QUARANTINE_COPY_ERROR] = "copy-error",	    [QUARANTINE_PATH_CHANGED] = "path-changed",
	[QUARANTINE_REMOVE_ERROR] = "remove-error", [QUARANTINE_RECORD_ERROR] = "record-error",
};

const char *quarantine_cause_to_string(enum quarantine_cause c)
{
	return c < _QUARANTINE_CAUSE_MAX ? cause_names[c] : "?";
}

struct quarantine *quarantine_free(struct quarantine *q)
{
	if (!q)
		return NULL;
	safe_close(q->dir_fd);
	safe_close(q->record_fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return NULL;
}

int fanguard_set_quarantine(struct fanguard *fg, const struct fanguard_quarantine_options *qo)
{
	struct fanguard_quarantine_options o = {};
	struct quarantine *q;
	struct stat st;
	int r = 0;

	if (!fg || !qo || qo->size < offsetof(struct fanguard_quarantine_options, max_bytes) ||
	    qo->size > 4096)
		return -EINVAL;
	for (size_t i = sizeof(o); i < qo->size; i++)
		if (((const uint8_t *) qo)[i] != 0)
			return -E2BIG;
	memcpy(&o, qo, qo->size < sizeof(o) ? qo->size : sizeof(o));
	if (o.dir_fd < 0)
		return -EBADF;
	if (fstat(o.dir_fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Root's alone: a user who could list or write it could read the
	 * copies, or plant a name we then fail to create. */
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return -EPERM;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->record_fd = -EBADF;
	pthread_mutex_init(&q->lock, NULL);
	q->max_bytes = o.max_bytes ?: DEFAULT_MAX_BYTES;
	q->per_minute = o.per_minute ?: DEFAULT_PER_MINUTE;
	q->min_free = o.min_free_bytes ?: DEFAULT_MIN_FREE;
	q->dir_fd = fcntl(o.dir_fd, F_DUPFD_CLOEXEC, 3);
	if (q->dir_fd < 0) {
		r = -errno;
		goto fail;
	}
	q->record_fd = openat(q->dir_fd, RECORDS,
			      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (q->record_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (fstat(q->record_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		r = -EPERM;
		goto fail;
	}
	pthread_mutex_lock(&fg->lock);
	if (fg->started || fg->stopped) {
		pthread_mutex_unlock(&fg->lock);
		r = -EBUSY;
		goto fail;
	}
	quarantine_free(fg->quar);
	fg->quar = q;
	pthread_mutex_unlock(&fg->lock);
	return 0;
fail:
	quarantine_free(q);
	return r;
}

bool quarantine_wanted(const struct fanguard *fg, const struct scan_result *res)
{
	return fg->quar && res->verdict == FANGUARD_DENY &&
	       res->reason == FANGUARD_REASON_SCANNED && !fg->opts.audit;
}

void quarantine_subject(const struct fg_event *ev, struct subject *ret)
{
	subject_init(ret, ev->pid, -EBADF);
	(void) subject_comm(ret);
	(void) subject_exe(ret);
	(void) subject_euid(ret, &(uid_t){0});
}

uint64_t quarantine_count_done(const struct fanguard *fg)
{
	return fg->quar ? atomic_load(&fg->quar->done) : 0;
}

uint64_t quarantine_count_failed(const struct fanguard *fg, enum quarantine_cause c)
{
	return fg->quar && c < _QUARANTINE_CAUSE_MAX ? atomic_load(&fg->quar->failed[c]) : 0;
}

/* Counts a skip or failure; logs the 1st, 2nd, 4th, 8th... of each cause. */
static void fail(struct fanguard *fg, enum quarantine_cause c, int err, const char *path)
{
	uint64_t n = atomic_fetch_add(&fg->quar->failed[c], 1) + 1;

	if ((n & (n - 1)) == 0)
		fg_log(fg, LOG_WARNING, "Quarantine of '%s' %s (%s%s%s; %llu so far)", path,
		       c >= QUARANTINE_PATH_CHANGED ? "incomplete" : "skipped",
		       quarantine_cause_to_string(c), err ? ": " : "", err ? strerror(err) : "",
		       (unsigned long long) n);
}

static bool rate_ok(struct quarantine *q)
{
	usec_t now = now_usec();
	bool ok;

	pthread_mutex_lock(&q->lock);
	if (now - q->window_start >= 60 * USEC_PER_SEC) {
		q->window_start = now;
		q->window_n = 0;
	}
	ok = q->window_n < q->per_minute;
	if (ok)
		q->window_n++;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t) w;
	}
	return 0;
}

/* Copies ev's content into dir/id, hashing it. 0, -EFBIG past max, -errno. */
static int copy_content(struct quarantine *q, int fd, const char *id, uint8_t *buf, size_t buflen,
			uint8_t digest[32], uint64_t *ret_size)
{
	_cleanup_close_ int out = -EBADF;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int dlen = 0;
	uint64_t off = 0;
	int r = 0;

	out = openat(q->dir_fd, id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = out < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, buflen, (off_t) off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		off += (uint64_t) n;
		if (off > q->max_bytes) { /* it grew while we copied */
			r = -EFBIG;
			break;
		}
		if (EVP_DigestUpdate(md, buf, (size_t) n) != 1) {
			r = -EIO;
			break;
		}
		r = write_all(out, buf, (size_t) n);
		if (r < 0)
			break;
	}
	/* The copy is on disk before the original goes. */
	if (r >= 0 && fdatasync(out) < 0)
		r = -errno;
	if (r >= 0 && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32))
		r = -EIO;
	if (r < 0 && out >= 0)
		(void) unlinkat(q->dir_fd, id, 0);
	*ret_size = off;
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* Removes path if it still names the file st describes: 0, -ESTALE when it
 * does not (or cannot be resolved without a symlink), else -errno. */
static int remove_original(const char *path, const struct stat *st)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int pfd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/'), *base;
	struct stat now;

	if (path[0] != '/' || !slash || slash[1] == '\0')
		return -ESTALE;
	base = slash + 1;
	dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
	if (!dir)
		return -ENOMEM;
	pfd = (int) syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (pfd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == EXDEV
			       ? -ESTALE
			       : -errno;
	if (fstatat(pfd, base, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return -ESTALE;
	if (unlinkat(pfd, base, 0) < 0)
		return -errno;
	return 0;
}

/* s as a JSON string body: escaped for display (escape.h), then '"' and
 * '\\' escaped; the result is printable UTF-8. */
static void json_text(char *out, size_t outsz, const char *s)
{
	char esc[8192];
	size_t o = 0;

	(void) escape_str(esc, sizeof(esc), s);
	for (const char *p = esc; *p && o + 3 < outsz; p++) {
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

struct record {
	const char *id, *path, *outcome;
	const struct stat *st;
	const uint8_t *digest;
	uint64_t size;
	pid_t pid;
	struct subject *subj;
	const struct scan_result *res;
};

static int write_record(struct quarantine *q, const struct record *rc)
{
	size_t plen = strlen(rc->path), cap = 4 * 8192 + 2 * plen + 1024;
	_cleanup_free_ char *line = malloc(cap), *phex = malloc(2 * plen + 1);
	char jpath[8192], jcomm[128], jexe[8192], jdetail[256], sha[65], when[32];
	struct timespec ts;
	struct tm tm;
	uid_t uid = (uid_t) -1;
	int n, r;

	if (!line || !phex)
		return -ENOMEM;
	(void) clock_gettime(CLOCK_REALTIME, &ts);
	(void) gmtime_r(&ts.tv_sec, &tm);
	(void) strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	hex((const uint8_t *) rc->path, plen, phex);
	hex(rc->digest, 32, sha);
	json_text(jpath, sizeof(jpath), rc->path);
	json_text(jcomm, sizeof(jcomm), subject_comm(rc->subj));
	json_text(jexe, sizeof(jexe), subject_exe(rc->subj));
	json_text(jdetail, sizeof(jdetail), rc->res->detail);
	(void) subject_euid(rc->subj, &uid);
	n = snprintf(line, cap,
		     "{\"id\":\"%s\",\"time\":\"%s\",\"path\":\"%s\",\"path_hex\":\"%s\","
		     "\"sha256\":\"%s\",\"size\":%llu,\"dev\":\"%u:%u\",\"ino\":%llu,"
		     "\"owner_uid\":%u,\"owner_gid\":%u,\"mode\":%u,"
		     "\"uid\":%lld,\"pid\":%d,\"comm\":\"%s\",\"exe\":\"%s\",\"scanner\":\"%s\","
		     "\"detail\":\"%s\",\"outcome\":\"%s\"}\n",
		     rc->id, when, jpath, phex, sha, (unsigned long long) rc->size,
		     major(rc->st->st_dev), minor(rc->st->st_dev),
		     (unsigned long long) rc->st->st_ino, (unsigned) rc->st->st_uid,
		     (unsigned) rc->st->st_gid, (unsigned) (rc->st->st_mode & 07777),
		     uid == (uid_t) -1 ? -1LL : (long long) uid, (int) rc->pid, jcomm, jexe,
		     rc->res->scanner ? rc->res->scanner : "", jdetail, rc->outcome);
	if (n < 0 || (size_t) n >= cap)
		return -ENOBUFS;
	/* One write() per line, under the lock: lines never interleave. */
	pthread_mutex_lock(&q->lock);
	r = write_all(q->record_fd, (const uint8_t *) line, (size_t) n);
	if (r >= 0 && fdatasync(q->record_fd) < 0)
		r = -errno;
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* What keeps this file from being copied, or -1: it may be. */
static int skip_cause(struct domain *d, struct quarantine *q, int fd, struct stat *st, int *err)
{
	struct statvfs vfs;

	*err = 0;
	if (d->cls != FANGUARD_MOUNT_LOCAL)
		return QUARANTINE_NOT_LOCAL;
	if (fstat(fd, st) < 0 || fstatvfs(q->dir_fd, &vfs) < 0) {
		*err = errno;
		return QUARANTINE_COPY_ERROR;
	}
	if ((uint64_t) st->st_size > q->max_bytes)
		return QUARANTINE_TOO_LARGE;
	if ((uint64_t) vfs.f_bavail * vfs.f_frsize < (uint64_t) st->st_size + q->min_free)
		return QUARANTINE_DISK_FLOOR;
	if (!rate_ok(q)) /* last: a skipped file does not use up the rate */
		return QUARANTINE_RATE_LIMIT;
	return -1;
}

void quarantine_event(struct domain *d, const struct fg_event *ev, const struct scan_result *res,
		      struct subject *subj, uint8_t *buf, size_t buflen)
{
	struct fanguard *fg = d->fg;
	struct quarantine *q = fg->quar;
	char path[4096] = "?", id[64];
	uint8_t digest[32];
	const char *outcome;
	uint64_t size = 0;
	struct timespec ts;
	struct stat st;
	int r, cause, err;

	if (ev->fd < 0 || fd_get_path(ev->fd, path, sizeof(path)) < 0)
		(void) snprintf(path, sizeof(path), "?");
	cause = skip_cause(d, q, ev->fd, &st, &err);
	if (cause >= 0) {
		fail(fg, cause, err, path);
		return;
	}
	(void) clock_gettime(CLOCK_REALTIME, &ts);
	(void) snprintf(id, sizeof(id), "%lld.%06ld-%llu", (long long) ts.tv_sec, ts.tv_nsec / 1000,
			(unsigned long long) ++q->seq);
	r = copy_content(q, ev->fd, id, buf, buflen, digest, &size);
	if (r < 0) {
		fail(fg, r == -EFBIG ? QUARANTINE_TOO_LARGE : QUARANTINE_COPY_ERROR,
		     r == -EFBIG ? 0 : -r, path);
		return;
	}
	/* The kernel knows whether it still has a name: a "(deleted)" path is
	 * not ours to parse. */
	if (fstat(ev->fd, &st) < 0 || st.st_nlink == 0) {
		r = 0;
		outcome = "already-removed";
	} else {
		r = remove_original(path, &st);
		outcome = r == 0 ? "removed" : r == -ESTALE ? "path-changed" : "remove-error";
	}
	err = write_record(q, &(struct record){.id = id,
					       .path = path,
					       .outcome = outcome,
					       .st = &st,
					       .digest = digest,
					       .size = size,
					       .pid = ev->pid,
					       .subj = subj,
					       .res = res});
	if (err < 0)
		fail(fg, QUARANTINE_RECORD_ERROR, -err, path);
	if (r == -ESTALE)
		fail(fg, QUARANTINE_PATH_CHANGED, 0, path);
	else if (r < 0)
		fail(fg, QUARANTINE_REMOVE_ERROR, -r, path);
	else {
		atomic_fetch_add(&q->done, 1);
		fg_log(fg, LOG_NOTICE, "Quarantined '%s' as %s (%llu bytes), original %s", path, id,
		       (unsigned long long) size, outcome);
	}
}
