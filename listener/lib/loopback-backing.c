/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a FUSE daemon's data comes from: evidence from kernel facts first.
 *
 *   - files and directories the daemon (and its children) hold open: the
 *     link of /proc/PID/fd/N is the kernel's d_path, and fdinfo names the
 *     mount of the open file by id and its access mode (a file open
 *     write-only is a log or pid file, not a source);
 *   - the daemon's cwd (bindfs chdir()s into its source);
 *   - hints, shown as such: absolute paths in the daemon's argv, and the
 *     mount's source (fsname), which whoever mounted chose freely.
 * A path counts as backing (o->backing, which the backing-layer policy may
 * use) only when it is both held (or the cwd) and named by a hint: a held
 * file named by nothing (a config file left open) and a hint held by
 * nothing (encfs and mergerfs open their backing files only while serving
 * a request) are evidence of a daemon serving from this host, not of where.
 *
 * Never touches a file on a FUSE mount: a held file is stat()ed only when
 * its mount is local, and nothing else is opened. Runs off the permission
 * path (the mount watcher, fanguard_watch()). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "loopback-internal.h"
#include "macro.h"
#include "mounts.h"
#include "procfs.h"

/* Enough for any real daemon; a process with more open files is not
 * described file by file. */
#define HELD_MAX 256

static void closedirp(DIR **d)
{
	if (*d)
		(void) closedir(*d);
}

int origin_note(struct fuse_origin *o, const char *fmt, ...)
{
	_cleanup_free_ char *part = NULL;
	char *n;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&part, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (o->evidence && strlen(o->evidence) > 4000)
		return 0; /* enough said */
	if (asprintf(&n, "%s%s%s", o->evidence ? o->evidence : "", o->evidence ? "; " : "", part) <
	    0)
		return -ENOMEM;
	free(o->evidence);
	o->evidence = n;
	return 0;
}

void origin_add_backing(struct fuse_origin *o, const char *path)
{
	char **n, *c;

	for (size_t i = 0; i < o->n_backing; i++)
		if (strcmp(o->backing[i], path) == 0)
			return;
	c = strdup(path);
	n = c ? realloc(o->backing, (o->n_backing + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(c);
		return;
	}
	n[o->n_backing++] = c;
	o->backing = n;
}

bool loopback_decide(const struct origin_facts *f)
{
	if (f->remote)
		return false;
	if (f->sshfs)
		return f->ssh_local || f->tcp_local;
	if (!f->daemon)
		return false;
	if (f->n_backing > 0)
		return true;
	return (f->n_held > 0 || f->n_hints > 0) && !f->inet;
}

static bool path_under(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	while (l > 1 && dir[l - 1] == '/')
		l--;
	return strncmp(path, dir, l) == 0 && (path[l] == '\0' || path[l] == '/' || l == 1);
}

/* The hints: absolute paths on local mounts, from argv and the source. */
struct hints {
	const struct mount_table *t;
	const struct mount_entry *fuse;
	struct fuse_origin *o;
	pid_t pid; /* whose argv; 0: the mount's source */
	const char *comm;
	char **paths;
	size_t n;
};

static void hints_done(struct hints *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->paths[i]);
	free(h->paths);
}

static void hint_add(const char *path, void *userdata)
{
	struct hints *h = userdata;
	const struct mount_entry *e;
	char **n, *c;

	if (path_under(path, h->fuse->mount_point))
		return; /* the mount point, or a path inside the mount */
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->paths[i], path) == 0)
			return;
	/* A path string, looked up in our mount table: a hint. */
	e = mount_table_find_path(h->t, path);
	if (!e || e->class != MOUNT_CLASS_LOCAL)
		return;
	c = strdup(path);
	n = c ? realloc(h->paths, (h->n + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(c);
		return;
	}
	n[h->n++] = c;
	h->paths = n;
	if (h->pid > 0)
		(void) origin_note(
			h->o, "hint: argv of pid %d (%s) names '%s', on local mount %llu (%s)",
			(int) h->pid, h->comm, path, (unsigned long long) e->mnt_id, e->fstype);
	else
		(void) origin_note(h->o,
				   "hint: source '%s' (a claim: whoever mounts picks it), on local "
				   "mount %llu (%s)",
				   path, (unsigned long long) e->mnt_id, e->fstype);
}

static bool hints_name(const struct hints *h, const char *path)
{
	for (size_t i = 0; i < h->n; i++)
		if (path_under(path, h->paths[i]))
			return true;
	return false;
}

/* Paths listed one by one per process and kind; beyond, only counted (a
 * gocryptfs that served a while holds a directory fd per directory). */
#define HELD_LISTED 3

/* The files process p holds open, each on the mount fdinfo names. */
static void held_gather(const struct mount_table *t, const struct mount_entry *fuse,
			const struct proc_info *p, const struct hints *h, struct fuse_origin *o,
			struct origin_facts *f)
{
	_cleanup_(closedirp) DIR *fds = NULL;
	struct dirent *de;
	char dir[64];
	unsigned n = 0, n_backing = 0, n_held = 0, n_other = 0;

	(void) snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) p->pid);
	fds = opendir(dir);
	while (fds && (de = readdir(fds)) && n < HELD_MAX) {
		_cleanup_free_ char *link = NULL;
		const struct mount_entry *e;
		struct proc_fdinfo fi;
		char fdpath[96];
		struct stat st;
		const char *what = "file";
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (proc_read_fd_link(p->pid, fd, &link) < 0 ||
		    proc_read_fdinfo(p->pid, fd, &fi) < 0)
			continue; /* closed meanwhile */
		switch (held_fd_kind(link, &fi)) {
		case HELD_FD_OTHER:
			continue;
		case HELD_FD_WRITE_ONLY:
			/* stdout and stderr go where its starter said. */
			if (fd > 2)
				(void) origin_note(o, "pid %d (%s) writes '%s' (not a source)",
						   (int) p->pid, p->comm, link);
			n++;
			continue;
		case HELD_FD_READABLE:
			break;
		}
		n++;
		e = fi.has_mnt_id ? mount_table_find_id(t, fi.mnt_id) : NULL;
		if (e == fuse)
			continue; /* a file of its own mount */
		if (!e || e->class != MOUNT_CLASS_LOCAL) {
			if (n_other++ < HELD_LISTED)
				(void) origin_note(
					o, "pid %d (%s) holds '%s' open on mount %llu (%s)",
					(int) p->pid, p->comm, link, (unsigned long long) fi.mnt_id,
					e ? e->fstype : "not in our mount table");
			continue;
		}
		/* Local: stat() through the magic link cannot reach a daemon. */
		(void) snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", (int) p->pid, fd);
		if (stat(fdpath, &st) == 0 && S_ISDIR(st.st_mode))
			what = "directory";
		if (hints_name(h, link)) {
			origin_add_backing(o, link);
			f->n_backing++;
			if (n_backing++ < HELD_LISTED)
				(void) origin_note(o,
						   "backing '%s': %s held open by pid %d (%s), on "
						   "local mount %llu (%s)",
						   link, what, (int) p->pid, p->comm,
						   (unsigned long long) e->mnt_id, e->fstype);
		} else {
			f->n_held++;
			if (n_held++ < HELD_LISTED)
				(void) origin_note(o,
						   "pid %d (%s) holds %s '%s' open, on local mount "
						   "%llu (%s), named by no hint",
						   (int) p->pid, p->comm, what, link,
						   (unsigned long long) e->mnt_id, e->fstype);
		}
	}
	if (n_backing > HELD_LISTED || n_held > HELD_LISTED || n_other > HELD_LISTED)
		(void) origin_note(o, "pid %d (%s) holds %u more files (%u backing)", (int) p->pid,
				   p->comm,
				   (n_backing > HELD_LISTED ? n_backing - HELD_LISTED : 0) +
					   (n_held > HELD_LISTED ? n_held - HELD_LISTED : 0) +
					   (n_other > HELD_LISTED ? n_other - HELD_LISTED : 0),
				   n_backing > HELD_LISTED ? n_backing - HELD_LISTED : 0);
}

/* The daemon's cwd: backing if a hint names it (bindfs chdir()s there). */
static void cwd_gather(const struct mount_table *t, const struct proc_info *p,
		       const struct hints *h, struct fuse_origin *o, struct origin_facts *f)
{
	_cleanup_free_ char *cwd = NULL;
	const struct mount_entry *e;

	if (proc_read_cwd(p->pid, &cwd) < 0 || strcmp(cwd, "/") == 0)
		return;
	e = mount_table_find_path(t, cwd);
	if (!e || e->class != MOUNT_CLASS_LOCAL)
		return;
	if (!hints_name(h, cwd)) {
		(void) origin_note(o,
				   "pid %d (%s) has its cwd '%s' on local mount %llu (%s), named "
				   "by no hint",
				   (int) p->pid, p->comm, cwd, (unsigned long long) e->mnt_id,
				   e->fstype);
		return;
	}
	origin_add_backing(o, cwd);
	f->n_backing++;
	(void) origin_note(o, "backing '%s': the cwd of pid %d (%s), on local mount %llu (%s)", cwd,
			   (int) p->pid, p->comm, (unsigned long long) e->mnt_id, e->fstype);
}

void loopback_backing_gather(const struct mount_table *t, const struct mount_entry *fuse,
			     const struct proc_scan *s, struct fuse_origin *o,
			     struct origin_facts *f)
{
	struct hints h = {.t = t, .fuse = fuse, .o = o};
	const char *src = strchr(fuse->source, ':');

	/* The source: bindfs "/backing", fusetest "fusetest:/backing". */
	if (fuse->source[0] == '/')
		hint_add(fuse->source, &h);
	else if (src && src[1] == '/')
		hint_add(src + 1, &h);
	for (size_t i = 0; i < s->n; i++) {
		_cleanup_free_ char *argv = NULL;
		size_t len;

		if (!s->procs[i].fuse_fd || proc_read_cmdline(s->procs[i].pid, &argv, &len) < 0)
			continue;
		h.pid = s->procs[i].pid;
		h.comm = s->procs[i].comm;
		/* Skip argv[0] (the program). */
		for (size_t a = strlen(argv) + 1; a < len; a += strlen(argv + a) + 1)
			arg_abs_paths(argv + a, hint_add, &h);
	}
	f->n_hints = h.n;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->procs[i].helper)
			continue;
		held_gather(t, fuse, &s->procs[i], &h, o, f);
		if (s->procs[i].fuse_fd)
			cwd_gather(t, &s->procs[i], &h, o, f);
	}
	hints_done(&h);
}

bool loopback_helpers_hold_inet(const struct proc_scan *s)
{
	_cleanup_free_ struct net_sock *tcp = NULL, *udp = NULL;
	size_t n_tcp = 0, n_udp = 0;

	/* Unreadable tables: assume the worst, argv decides nothing. */
	if (net_tcp_load(&tcp, &n_tcp) < 0 || net_udp_load(&udp, &n_udp) < 0)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const struct proc_info *p = &s->procs[i];

		if (!p->helper)
			continue;
		for (size_t j = 0; j < p->n_socks; j++) {
			for (size_t k = 0; k < n_tcp; k++)
				if (tcp[k].inode == p->socks[j])
					return true;
			for (size_t k = 0; k < n_udp; k++)
				if (udp[k].inode == p->socks[j])
					return true;
		}
	}
	return false;
}
