/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl quarantine list | restore ID | delete ID: the files fanguardd
 * --quarantine copied (fanguard_set_quarantine(3)), from its records.jsonl.
 * Done here, as root, not by the daemon: its sandbox (Landlock, seccomp)
 * lets it write only its own directories. The directory is --dir, else
 * the one the running daemon names in its status.
 *
 * Must never: follow a symlink on the way to the original path, overwrite
 * anything there, or act on an ID that is not a plain name of a record. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "escape.h"
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define RECORDS "records.jsonl"

/* The directory from the daemon's status line "quarantine: DIR: N files (". */
static int dir_from_status(const struct ctl_args *a, char **ret)
{
	_cleanup_free_ char *out = NULL;
	const char *line, *end;
	int r = ctl_request(a, "status", &out);

	if (r < 0)
		return r;
	line = strstr(out, "\nquarantine: ");
	end = line ? strstr(line, " files (not copied:") : NULL;
	if (!line || !end) {
		log_error("The daemon has no quarantine (--quarantine); give --dir");
		return -ENOENT;
	}
	line += strlen("\nquarantine: ");
	while (end > line && end[-1] >= '0' && end[-1] <= '9')
		end--;
	if (end - line < 3 || end[-2] != ':' || end[-1] != ' ')
		return log_error_errno(EBADMSG, "Cannot read the quarantine directory from status");
	*ret = strndup(line, (size_t) (end - 2 - line));
	return *ret ? 0 : -ENOMEM;
}

static bool id_valid(const char *id)
{
	return id[0] && strspn(id, "0123456789.-") == strlen(id);
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t int_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* Calls fn for each record (stops at fn's first non-zero). */
static int each_record(int dfd, int (*fn)(int dfd, struct json_object *rec, void *u), void *u)
{
	_cleanup_close_ int fd = openat(dfd, RECORDS, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	if (fd < 0)
		return log_error_errno(errno, "Cannot open " RECORDS ": %m");
	f = fdopen(TAKE_FD(fd), "r");
	if (!f)
		return -errno;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		struct json_object *rec = json_tokener_parse(line);

		if (rec && str_of(rec, "id") && str_of(rec, "sha256"))
			r = fn(dfd, rec, u);
		json_object_put(rec);
	}
	fclose(f);
	return r < 0 ? r : 0;
}

static int list_one(int dfd, struct json_object *rec, void *u)
{
	const char *id = str_of(rec, "id");
	struct stat st;

	(void) u;
	/* Only what is still kept: a restored or deleted copy is gone. */
	if (!id_valid(id) || fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	printf("%s  %s  %10lld  %-15s %s\n", id, str_of(rec, "time") ?: "?",
	       (long long) int_of(rec, "size"), str_of(rec, "outcome") ?: "?",
	       str_of(rec, "path") ?: "?");
	return 0;
}

struct find {
	const char *id;
	struct json_object *rec; /* a reference, or NULL */
};

static int find_one(int dfd, struct json_object *rec, void *u)
{
	struct find *f = u;

	(void) dfd;
	if (strcmp(str_of(rec, "id"), f->id) != 0)
		return 0;
	f->rec = json_object_get(rec);
	return 1;
}

/* The record's exact original path, from path_hex. */
static char *path_of(struct json_object *rec)
{
	const char *h = str_of(rec, "path_hex");
	size_t n = h ? strlen(h) : 0;
	char *p;

	if (n == 0 || n % 2)
		return NULL;
	p = malloc(n / 2 + 1);
	if (!p)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(p);
			return NULL;
		}
		p[i] = (char) v;
	}
	p[n / 2] = '\0';
	return p;
}

static int copy_fd(int in, int out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), w;

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t o = 0; o < n; o += w) {
			w = write(out, buf + o, (size_t) (n - o));
			if (w < 0)
				return -errno;
		}
	}
}

static int restore(int dfd, const char *id, struct json_object *rec)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_free_ char *path = path_of(rec), *dir = NULL;
	_cleanup_close_ int in = -EBADF, pfd = -EBADF, out = -EBADF;
	char shown[1024];
	const char *slash;
	int r;

	if (geteuid() != 0)
		return log_error_errno(EPERM, "restore: only root may restore a quarantined file");
	if (!path || path[0] != '/' || !(slash = strrchr(path, '/')) || !slash[1])
		return log_error_errno(EBADMSG, "restore: record %s has no usable path", id);
	(void) escape_str(shown, sizeof(shown), path);
	dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
	if (!dir)
		return -ENOMEM;
	in = openat(dfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return log_error_errno(errno, "restore: no copy %s: %m", id);
	/* No symlink on the way, and never over an existing file. */
	pfd = (int) syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (pfd < 0)
		return log_error_errno(errno, "restore: '%s': cannot open its directory: %m",
				       shown);
	out = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return log_error_errno(errno, "restore: '%s': %m (nothing overwritten)", shown);
	r = copy_fd(in, out);
	if (r >= 0 && int_of(rec, "owner_uid") >= 0 &&
	    fchown(out, (uid_t) int_of(rec, "owner_uid"), (gid_t) int_of(rec, "owner_gid")) < 0)
		r = -errno;
	if (r >= 0 && int_of(rec, "mode") >= 0 &&
	    fchmod(out, (mode_t) (int_of(rec, "mode") & 07777)) < 0)
		r = -errno;
	if (r >= 0 && fsync(out) < 0)
		r = -errno;
	if (r < 0) {
		(void) unlinkat(pfd, slash + 1, 0);
		return log_error_errno(r, "restore: '%s': %m (removed again)", shown);
	}
	if (unlinkat(dfd, id, 0) < 0)
		log_warning_errno(errno, "restore: the copy %s stays: %m", id);
	printf("restored %s to '%s'\n", id, shown);
	return 0;
}

int verb_quarantine(const struct ctl_args *a)
{
	_cleanup_free_ char *dir_buf = NULL;
	_cleanup_close_ int dfd = -EBADF;
	const char *dir = a->quarantine_dir, *what = a->n_args > 0 ? a->args[0] : "list";
	struct find f = {};
	int r;

	if (!(strcmp(what, "list") == 0 && a->n_args <= 1) &&
	    !((strcmp(what, "restore") == 0 || strcmp(what, "delete") == 0) && a->n_args == 2)) {
		log_error("Use: quarantine list | restore ID | delete ID");
		return -EINVAL;
	}
	if (!dir) {
		r = dir_from_status(a, &dir_buf);
		if (r < 0)
			return r;
		dir = dir_buf;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(errno, "Cannot open the quarantine directory '%s': %m", dir);
	if (strcmp(what, "list") == 0)
		return each_record(dfd, list_one, NULL);
	f.id = a->args[1];
	if (!id_valid(f.id))
		return log_error_errno(EINVAL, "'%s' is no quarantine ID", f.id);
	r = each_record(dfd, find_one, &f);
	if (r < 0)
		return r;
	if (!f.rec)
		return log_error_errno(ENOENT, "No quarantine record %s", f.id);
	if (strcmp(what, "restore") == 0)
		r = restore(dfd, f.id, f.rec);
	else if (unlinkat(dfd, f.id, 0) < 0)
		r = log_error_errno(errno, "delete: %s: %m", f.id);
	else
		printf("deleted %s\n", f.id);
	json_object_put(f.rec);
	return r;
}
