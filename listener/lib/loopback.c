/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who serves a FUSE mount, and is its data from this host ("loopback")?
 *
 * Evidence, gathered from /proc without touching any FUSE file:
 *   - the daemon: the process holding /dev/fuse for the mount's connection
 *     (fdinfo "fuse_connection:" == the mount's device minor, seen on 6.18;
 *     before that, a /dev/fuse holder whose argv names the mount point);
 *   - its helpers: its children, and the processes at the other end of its
 *     (and its children's) TCP connections on this host, with their
 *     children: sshfs -> ssh -> 127.0.0.1:22 -> sshd session -> sftp-server;
 *   - where the data comes from (loopback-backing.c): the files the daemon
 *     holds open and its cwd, with argv and the source as hints; for sshfs,
 *     a source "user@host:path" whose host is this host.
 * A TCP connection to another host makes the mount remote, whatever else;
 * loopback_decide() weighs the rest.
 *
 * Runs on the caller's thread (fanguard_watch) or the mount watcher, never on
 * the permission path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "loopback-internal.h"
#include "macro.h"
#include "mounts.h"
#include "procfs.h"

static void closedirp(DIR **d)
{
	if (*d)
		(void) closedir(*d);
}

static void scan_done(struct proc_scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->procs[i].socks);
	free(s->procs);
}

static void helper_add(struct fuse_origin *o, pid_t pid)
{
	pid_t *n;

	for (size_t i = 0; i < o->n_helpers; i++)
		if (o->helpers[i] == pid)
			return;
	n = realloc(o->helpers, (o->n_helpers + 1) * sizeof(*n));
	if (!n)
		return;
	n[o->n_helpers++] = pid;
	o->helpers = n;
}

void fuse_origin_done(struct fuse_origin *o)
{
	free(o->evidence);
	for (size_t i = 0; i < o->n_backing; i++)
		free(o->backing[i]);
	free(o->backing);
	free(o->helpers);
	*o = (struct fuse_origin){};
}

/* One pass over /proc: every process's ppid, comm, socket inodes and whether
 * it holds /dev/fuse for connection conn. */
static int proc_scan(unsigned conn, struct proc_scan *ret)
{
	_cleanup_(closedirp) DIR *proc = opendir("/proc");
	struct proc_scan s = {};
	struct dirent *de;

	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		struct proc_info pi = {};
		char path[64];
		DIR *fds;
		struct dirent *fe;
		void *np;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		pi.pid = (pid_t) pid;
		if (proc_read_stat(pi.pid, pi.comm, &pi.ppid, &pi.sid) < 0)
			continue; /* gone */
		(void) snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		pi.fd_denied = !fds && errno == EACCES;
		while (fds && (fe = readdir(fds))) {
			char link[256];
			ssize_t l;
			char kind;
			uint64_t ino;

			if (fe->d_name[0] == '.')
				continue;
			l = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
			if (l < 0 && errno == EACCES)
				pi.fd_denied = true;
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (strcmp(link, "/dev/fuse") == 0) {
				struct proc_fdinfo fi;

				if (proc_read_fdinfo(pi.pid, atoi(fe->d_name), &fi) >= 0 &&
				    fi.has_fuse_conn) {
					if (fi.fuse_conn == conn)
						pi.fuse_fd = true;
				} else
					pi.fuse_fd_other = true;
			} else if (fd_link_parse(link, &kind, &ino) >= 0 && kind == 's') {
				np = realloc(pi.socks, (pi.n_socks + 1) * sizeof(*pi.socks));
				if (np) {
					pi.socks = np;
					pi.socks[pi.n_socks++] = ino;
				}
			}
		}
		if (fds)
			closedir(fds);
		np = realloc(s.procs, (s.n + 1) * sizeof(*s.procs));
		if (!np) {
			free(pi.socks);
			scan_done(&s);
			return -ENOMEM;
		}
		s.procs = np;
		s.procs[s.n++] = pi;
	}
	*ret = s;
	return 0;
}

static struct proc_info *proc_find(struct proc_scan *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

/* Does pid's argv name path as a whole argument? */
static bool argv_names(pid_t pid, const char *path)
{
	_cleanup_free_ char *argv = NULL;
	size_t len;

	if (proc_read_cmdline(pid, &argv, &len) < 0)
		return false;
	for (size_t i = 0; i < len; i += strlen(argv + i) + 1)
		if (strcmp(argv + i, path) == 0)
			return true;
	return false;
}

/* Marks the descendants of every helper as helpers (a few passes suffice
 * for any real tree; bounded so a hostile ppid loop cannot spin). */
static void helpers_close_over_children(struct proc_scan *s)
{
	for (int pass = 0; pass < 16; pass++) {
		bool changed = false;

		for (size_t i = 0; i < s->n; i++) {
			struct proc_info *parent;

			if (s->procs[i].helper)
				continue;
			parent = proc_find(s, s->procs[i].ppid);
			if (parent && parent->helper) {
				s->procs[i].helper = true;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
}

static const char *addr_str(const struct net_sock *k, bool remote, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(k->family, remote ? k->remote : k->local, a, sizeof(a)))
		(void) snprintf(a, sizeof(a), "?");
	(void) snprintf(buf, n, k->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			(unsigned) (remote ? k->rport : k->lport));
	return buf;
}

/* Follows the helpers' TCP connections: the other end of a connection on
 * this host is the socket in our network namespace with the endpoints
 * swapped (no getifaddrs() or DNS needed: fanguardd's seccomp filter allows
 * AF_UNIX sockets only). Returns true if one has no such peer (another host,
 * or another network namespace); *ret_local if one has. */
static bool tcp_peers(struct proc_scan *s, struct fuse_origin *o, bool *ret_local)
{
	_cleanup_free_ struct net_sock *socks = NULL;
	size_t n = 0;
	bool remote = false;

	int r = net_tcp_load(&socks, &n);

	if (r < 0) {
		(void) origin_note(o, "cannot read /proc/net/tcp: %s", strerror(-r));
		return false;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct proc_info *p = &s->procs[i];

		if (!p->helper)
			continue;
		if (p->fd_denied) {
			/* ssh, sshd and sftp-server make themselves non-dumpable;
			 * their fds need CAP_SYS_PTRACE to read. */
			(void) origin_note(
				o,
				"cannot read the fds of pid %d (%s): not dumpable and no "
				"CAP_SYS_PTRACE",
				(int) p->pid, p->comm);
			p->fd_denied = false; /* once */
		}
		for (size_t j = 0; j < p->n_socks; j++)
			for (size_t k = 0; k < n; k++) {
				const struct net_sock *a = &socks[k];
				char la[64], ra[64];
				bool found = false, owner = false;

				if (a->inode != p->socks[j] || a->state != 1 /* ESTABLISHED */)
					continue;
				for (size_t m = 0; m < n; m++) {
					const struct net_sock *b = &socks[m];

					if (b->family != a->family || b->lport != a->rport ||
					    b->rport != a->lport ||
					    memcmp(b->local, a->remote, 16) ||
					    memcmp(b->remote, a->local, 16) || b->inode == 0)
						continue;
					found = true;
					for (size_t q = 0; q < s->n; q++) {
						struct proc_info *peer = &s->procs[q];

						for (size_t x = 0; x < peer->n_socks; x++) {
							if (peer->n_socks &&
							    peer->socks[x] != b->inode)
								continue;
							if (!peer->helper)
								(void) origin_note(
									o,
									"pid %d (%s) has TCP %s -> "
									"%s, "
									"served on this host by "
									"pid %d (%s)",
									(int) p->pid, p->comm,
									addr_str(a, false, la,
										 sizeof(la)),
									addr_str(a, true, ra,
										 sizeof(ra)),
									(int) peer->pid,
									peer->comm);
							peer->helper = true;
							owner = true;
						}
					}
				}
				/* The other end is on this host. Count the chain
				 * only once its process is known too: sshd forks
				 * a child per connection, and until that child
				 * shows the socket the caller should look again. */
				if (found && owner)
					*ret_local = true;
				else if (!found) {
					remote = true;
					(void) origin_note(
						o,
						"pid %d (%s) has TCP %s -> %s: no end on "
						"this host",
						(int) p->pid, p->comm,
						addr_str(a, false, la, sizeof(la)),
						addr_str(a, true, ra, sizeof(ra)));
				}
			}
	}
	return remote;
}

/* sshfs runs ssh double-forked (ssh's parent is gone, not sshfs) and talks
 * to it over a socketpair. The peer of a unix socket is only told by
 * sock_diag (NETLINK_SOCK_DIAG, UNIX_DIAG_PEER), which fanguardd's seccomp
 * filter does not allow; so: an "ssh" in the daemon's session whose argv
 * names the source host and the sftp subsystem. */
static void sshfs_find_ssh(struct proc_scan *s, struct fuse_origin *o, const char *host)
{
	for (size_t i = 0; i < s->n; i++) {
		struct proc_info *d = &s->procs[i];

		if (!d->fuse_fd)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			struct proc_info *p = &s->procs[j];
			_cleanup_free_ char *argv = NULL;
			bool names_host = false, sftp = false;
			size_t len;

			if (p->helper || p->sid != d->sid || strcmp(p->comm, "ssh") != 0 ||
			    proc_read_cmdline(p->pid, &argv, &len) < 0)
				continue;
			for (size_t a = 0; a < len; a += strlen(argv + a) + 1) {
				const char *at = strrchr(argv + a, '@');

				names_host =
					names_host || strcmp(at ? at + 1 : argv + a, host) == 0;
				sftp = sftp || strcmp(argv + a, "sftp") == 0;
			}
			if (!names_host || !sftp)
				continue;
			p->helper = true;
			(void) origin_note(
				o,
				"pid %d (ssh) in the session of pid %d (sshfs) runs sftp "
				"on '%s'",
				(int) p->pid, (int) d->pid, host);
		}
	}
}

static int classify_once(const struct mount_table *t, const struct mount_entry *me,
			 struct fuse_origin *ret, bool *ret_complete)
{
	struct fuse_origin o = {};
	struct origin_facts facts = {};
	const struct mount_entry *f;
	struct proc_scan s = {};
	_cleanup_free_ char *ssh_path = NULL, *ssh_host = NULL;
	int r;

	f = me->class == MOUNT_CLASS_FUSE ? me : mount_table_find_id(t, me->fuse_mnt_id);
	if (!f) {
		(void) origin_note(&o, "no FUSE mount behind mount %llu",
				   (unsigned long long) me->mnt_id);
		*ret_complete = true;
		*ret = o;
		return 0;
	}

	/* sshfs: "[user@]host:path". */
	if (strcmp(f->fstype, "fuse.sshfs") == 0) {
		_cleanup_free_ char *user = NULL, *host = NULL, *rpath = NULL;

		facts.sshfs = true;
		if (remote_source_parse(f->source, &user, &host, &rpath) >= 0) {
			/* Names and this host's other addresses: the connection
			 * below decides (no DNS here). */
			facts.ssh_local = host_literal_is_loopback(host) == 1;
			(void) origin_note(
				&o,
				facts.ssh_local
					? "sshfs source host '%s' is loopback"
					: "sshfs source host '%s' is not a loopback literal",
				host);
			if (rpath[0] == '/')
				ssh_path = TAKE_PTR(rpath);
			ssh_host = TAKE_PTR(host);
		}
	}

	r = proc_scan(f->minor, &s);
	if (r < 0) {
		(void) origin_note(&o, "cannot read /proc: %s", strerror(-r));
		goto decide;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct proc_info *p = &s.procs[i];

		if (!p->fuse_fd && !(p->fuse_fd_other && argv_names(p->pid, f->mount_point)))
			continue;
		facts.daemon = p->helper = true;
		if (!o.daemon && p->fuse_fd)
			o.daemon = p->pid;
		(void) origin_note(&o,
				   p->fuse_fd
					   ? "daemon pid %d (%s) holds /dev/fuse for connection %u"
					   : "daemon pid %d (%s) holds /dev/fuse and names the "
					     "mount point (no fuse_connection in fdinfo)",
				   (int) p->pid, p->comm, f->minor);
	}
	if (!facts.daemon)
		(void) origin_note(&o, "no process here holds /dev/fuse for connection %u",
				   f->minor);
	helpers_close_over_children(&s);
	if (facts.sshfs && ssh_host)
		sshfs_find_ssh(&s, &o, ssh_host);
	/* What the daemon and its children hold, its cwd and argv. Not for
	 * sshfs: its argv holds ssh options (IdentityFile=/...), its data comes
	 * over the chain found below. */
	if (!facts.sshfs)
		loopback_backing_gather(t, f, &s, &o, &facts);
	/* Two rounds: sshfs -> ssh -> sshd, then the session's own connections. */
	for (int round = 0; round < 2; round++) {
		facts.remote = tcp_peers(&s, &o, &facts.tcp_local) || facts.remote;
		helpers_close_over_children(&s);
	}
	facts.inet = loopback_helpers_hold_inet(&s);
	if (!facts.inet && !facts.sshfs)
		(void) origin_note(&o, "no TCP or UDP socket in the daemon or its helpers");
	for (size_t i = 0; i < s.n; i++)
		if (s.procs[i].helper) {
			helper_add(&o, s.procs[i].pid);
			if (!s.procs[i].fuse_fd)
				(void) origin_note(&o, "helper pid %d (%s)", (int) s.procs[i].pid,
						   s.procs[i].comm);
		}

decide:
	scan_done(&s);
	o.loopback = loopback_decide(&facts);
	if (o.loopback && facts.sshfs && ssh_path) {
		origin_add_backing(&o, ssh_path);
		(void) origin_note(&o, "backing '%s': the sshfs source path, on this host",
				   ssh_path);
	}
	/* An sshfs chain with no end on this host yet is looked at again too:
	 * /proc/net/tcp is read in chunks, and an entry that moves between
	 * reads can be missed, so one miss is no proof of a remote host (seen
	 * on a loaded 2-CPU machine). Only the last look concludes "remote". */
	*ret_complete = !facts.sshfs || facts.tcp_local;
	*ret = o;
	return 0;
}

int loopback_classify(const struct mount_table *t, const struct mount_entry *me,
		      const _Atomic bool *cancel, struct fuse_origin *ret)
{
	bool complete = false;
	int r;

	/* sshfs shows its mount before its ssh is connected (or even exec'd):
	 * look again, 50 ms apart, for up to 2 s (400 ms was too short on a
	 * loaded 2-CPU machine under ASan). Never on the permission path: the
	 * mount is already marked, and classification runs on a thread of its
	 * own (classifier.c), never on the mount watcher's path. */
	for (int i = 0;; i++) {
		r = classify_once(t, me, ret, &complete);
		if (r < 0 || complete || i == 40 || (cancel && atomic_load(cancel)))
			return r;
		fuse_origin_done(ret);
		(void) usleep(50 * 1000);
	}
}
