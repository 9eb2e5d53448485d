/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl scan PATH...: scan files through the running daemon's
 * scanners. This client opens every file itself and passes the fd
 * (SCM_RIGHTS), so the daemon never opens a path a user named. Directories
 * are walked here: only regular files are opened (first O_PATH, checked,
 * then reopened through /proc/self/fd, so a FIFO or a device is never
 * opened for reading), symbolic links inside a tree are never followed.
 * Exits like clamdscan: 0 nothing found, 1 something found, 2 an error
 * (found wins). An open that fails with EPERM on a watched mount is the
 * daemon denying it: reported and counted as found. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fanguardctl.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "sock-util.h"
#include "time-util.h"

#define SCAN_ANSWER_TIMEOUT_SEC 40 /* the daemon's scan deadline is 30 s */

struct scan_state {
	const struct ctl_args *a;
	int sock;
	bool tty;
	unsigned long files, found, errors, skipped;
	/* The current top-level directory, for its progress line. */
	const char *dir;
	unsigned long dir_files, dir_found;
};

/* Paths are user-controlled: a newline or an escape sequence is shown as '?'. */
static void put_path(FILE *f, const char *p)
{
	for (; *p; p++)
		(void) fputc((unsigned char) *p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

static void result(struct scan_state *s, const char *path, const char *what, bool always)
{
	if (s->tty && s->dir)
		(void) fputs("\r\033[K", stderr);
	if (always || !s->a->infected_only) {
		put_path(stdout, path);
		printf(": %s\n", what);
		(void) fflush(stdout);
	}
}

static void progress(struct scan_state *s, bool final)
{
	if (!s->dir || (!s->tty && !final))
		return;
	(void) fputs(s->tty ? "\r\033[K" : "", stderr);
	put_path(stderr, s->dir);
	(void) fprintf(stderr, ": %lu files scanned, %lu found%s", s->dir_files, s->dir_found,
		       final ? "\n" : "");
	(void) fflush(stderr);
}

/* Scans the regular file behind path_fd (O_PATH). < 0 only when the
 * session is broken. */
static int scan_file(struct scan_state *s, int path_fd, const char *path)
{
	char proc[FD_PROC_PATH_MAX], line[512], what[600];
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(fd_proc_path(path_fd, proc), O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EPERM) {
			/* fanotify's deny: the daemon refused this open. */
			s->found++;
			s->dir_found++;
			s->files++;
			s->dir_files++;
			result(s, path, "DENIED on open (Operation not permitted) FOUND", true);
			return 0;
		}
		s->errors++;
		(void) snprintf(what, sizeof(what), "ERROR cannot open: %s", strerror(errno));
		result(s, path, what, true);
		return 0;
	}
	r = sock_send_fd(s->sock, fd, 'F', USEC_INFINITY);
	if (r < 0)
		return log_error_errno(r, "Failed to pass a file to fanguardd: %m");
	r = ctl_read_line(s->sock, line, sizeof(line));
	if (r < 0)
		return log_error_errno(r, "No answer from fanguardd: %m");
	s->files++;
	s->dir_files++;
	if (strcmp(line, "CLEAN") == 0)
		result(s, path, "OK", false);
	else if (strncmp(line, "FOUND ", 6) == 0) {
		s->found++;
		s->dir_found++;
		(void) snprintf(what, sizeof(what), "%s FOUND", line + 6);
		result(s, path, what, true);
	} else if (strcmp(line, "SKIPPED not-regular") == 0) {
		s->files--;
		s->dir_files--;
		s->skipped++;
	} else {
		/* SKIPPED (deadline, error, too large, nothing to scan for) or
		 * ERROR: the file was not looked at, which is an error here. */
		s->errors++;
		(void) snprintf(what, sizeof(what), "ERROR %s",
				strncmp(line, "ERROR ", 6) == 0 ? line + 6 : line);
		result(s, path, what, true);
	}
	progress(s, false);
	return 0;
}

static int walk(struct scan_state *s, int dir_fd, const char *path, unsigned depth)
{
	_cleanup_free_ char *child = NULL;
	DIR *d;
	int r = 0;

	if (depth > 256) {
		s->errors++;
		result(s, path, "ERROR too deep, not descended", true);
		return 0;
	}
	d = fdopendir(dir_fd);
	if (!d) {
		safe_close(dir_fd);
		s->errors++;
		result(s, path, "ERROR cannot read the directory", true);
		return 0;
	}
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		_cleanup_close_ int pfd = -EBADF;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		free(child);
		if (asprintf(&child, "%s%s%s", path,
			     path[0] && path[strlen(path) - 1] == '/' ? "" : "/", de->d_name) < 0) {
			r = log_error_errno(ENOMEM, "Out of memory");
			break;
		}
		/* Never follows a symbolic link: a tree's links may point out of it. */
		pfd = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0 || fstat(pfd, &st) < 0) {
			s->errors++;
			result(s, child, "ERROR cannot look at it", true);
			continue;
		}
		if (S_ISREG(st.st_mode))
			r = scan_file(s, pfd, child);
		else if (S_ISDIR(st.st_mode)) {
			int sub = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub < 0) {
				s->errors++;
				result(s, child, "ERROR cannot open the directory", true);
				continue;
			}
			r = walk(s, sub, child, depth + 1);
		} else
			s->skipped++;
	}
	closedir(d);
	return r;
}

int verb_scan(const struct ctl_args *a)
{
	struct scan_state s = {.a = a, .sock = -EBADF, .tty = isatty(STDERR_FILENO) == 1};
	struct timeval tv = {.tv_sec = SCAN_ANSWER_TIMEOUT_SEC};
	usec_t start = now_usec();
	int r = 0;

	if (a->n_args == 0) {
		log_error("scan: give at least one PATH");
		return 2;
	}
	if (ctl_session(a, "scan", &s.sock) < 0)
		return 2;
	(void) setsockopt(s.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (size_t i = 0; r >= 0 && i < a->n_args; i++) {
		const char *path = a->args[i];
		_cleanup_close_ int pfd = -EBADF;
		struct stat st;

		/* A link named on the command line is followed, as the user asked. */
		pfd = open(path, O_PATH | O_CLOEXEC);
		if (pfd < 0 || fstat(pfd, &st) < 0) {
			char what[128];

			(void) snprintf(what, sizeof(what), "ERROR %s", strerror(errno));
			s.errors++;
			result(&s, path, what, true);
			continue;
		}
		if (S_ISREG(st.st_mode))
			r = scan_file(&s, pfd, path);
		else if (S_ISDIR(st.st_mode)) {
			int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (dfd < 0) {
				s.errors++;
				result(&s, path, "ERROR cannot open the directory", true);
				continue;
			}
			s.dir = path;
			s.dir_files = s.dir_found = 0;
			r = walk(&s, dfd, path, 0);
			progress(&s, true);
			s.dir = NULL;
		} else {
			s.errors++;
			result(&s, path, "ERROR not a regular file or directory", true);
		}
	}
	(void) shutdown(s.sock, SHUT_WR);
	safe_close(s.sock);
	if (r < 0)
		s.errors++;
	printf("\n----------- SCAN SUMMARY -----------\n"
	       "Scanned files: %lu\nInfected files: %lu\nErrors: %lu\nSkipped (not regular): %lu\n"
	       "Time: %.3f sec\n",
	       s.files, s.found, s.errors, s.skipped,
	       (double) (now_usec() - start) / (double) USEC_PER_SEC);
	return s.found > 0 ? 1 : s.errors > 0 ? 2 : 0;
}
