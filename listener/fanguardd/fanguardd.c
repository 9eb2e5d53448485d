/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd: the on-access scanning daemon on top of libfanguard.
 * Foreground only; signals arrive through a signalfd on the main thread
 * (library threads block them all). Never exits from the middle: main()
 * returns after answering everything pending. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conffile.h"
#include "config.h"
#include "control.h"
#include "fanguard.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "sandbox.h"
#include "time-util.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MAX_ARGS 256

static const char *arg_watch[MAX_ARGS];
static bool arg_watch_fs[MAX_ARGS];
static size_t arg_n_watch;
static const char *arg_watch_tree[MAX_ARGS]; /* and every mount appearing below */
static size_t arg_n_watch_tree;
static const char *arg_exclude[MAX_ARGS];
static size_t arg_n_exclude;
static uid_t arg_exclude_uid[MAX_ARGS]; /* subjects: effective uid */
static size_t arg_n_exclude_uid;
static const char *arg_exclude_exe[MAX_ARGS]; /* subjects: /proc/PID/exe, exact */
static size_t arg_n_exclude_exe;
static const char *arg_deny_hashes[MAX_ARGS];
static size_t arg_n_deny_hashes;
static const char *arg_clamd[MAX_ARGS]; /* socket paths and host:port, tried in order */
static size_t arg_n_clamd;
static const char *arg_yara_rules;
static const char *arg_pid_file;
static const char *arg_stats_file;
/* Service settings (fanguard.conf(5) [Daemon]); see main() for the defaults. */
static const char *arg_config;
static const char *arg_control_socket;
static int arg_seccomp = FG_SECCOMP_KILL;
/* Off by default: a Landlock domain also denies ptrace-mode access to every
 * process outside it, so /proc/PID/exe and /proc/PID/fd of subjects and FUSE
 * daemons become unreadable (exe exclusions fail closed, loopback daemons go
 * unexplained). On by default once the library confines only the threads
 * that handle content (FIXME: needs a per-thread hook in the library). */
static bool arg_landlock;
static bool arg_in_config; /* parse_argv() runs for one fanguard.conf key */
/* Applied once at start: the library's log thread reads the level while a
 * reload parses, so a reload only notes a change (see reload_apply()). */
static int arg_log_level = LOG_INFO;
static struct fanguard_options arg_opts = {.size = sizeof(struct fanguard_options)};

static void help(void)
{
	printf("Usage: fanguardd [OPTIONS] --watch PATH...\n"
	       "Answer fanotify permission events for the watched mounts, denying files\n"
	       "whose SHA-256 is denylisted, within a deadline, never blocked by FUSE.\n\n"
	       "  -w, --watch PATH            watch the mount holding PATH (repeatable)\n"
	       "      --watch-fs PATH         watch the whole filesystem holding PATH\n"
	       "      --watch-tree PATH       watch PATH's mount and every mount below it, also\n"
	       "                              those mounted later (repeatable)\n"
	       "      --scan-through-loopback read loopback FUSE mounts' content through the\n"
	       "                              daemon too, not only at the backing layer\n"
	       "  -d, --deny-hashes FILE      SHA-256 denylist: hex digest per line (repeatable)\n"
	       "      --default-verdict V     allow|deny on deadline, error, shutdown [allow]\n"
	       "      --deadline-ms N         deadline for every mount class\n"
	       "      --local-deadline-ms N   local mounts [5000]\n"
	       "      --fuse-deadline-ms N    each FUSE-backed mount [1500]\n"
	       "      --network-deadline-ms N each network mount [3000]\n"
	       "      --workers N             scanning threads for local mounts [CPUs]\n"
	       "      --fuse-workers N        scanning threads per FUSE mount [2]\n"
	       "      --max-scan-bytes N      larger files get the default verdict [256 MiB]\n"
	       "      --queue-len N           events queued per group before the default\n"
	       "                              verdict is given at once [local 4096, others 1024]\n"
	       "      --clamd-socket PATH     scan with a local clamd, fd passed (repeatable)\n"
	       "      --clamd-tcp HOST:PORT   scan with a remote clamd, INSTREAM (repeatable;\n"
	       "                              all clamd endpoints are tried in order)\n"
	       "      --yara-rules FILE       scan with these YARA rules\n"
	       "  -x, --exclude PREFIX        never scan files under PREFIX (repeatable)\n"
	       "      --exclude-uid UID       never scan accesses by processes of this\n"
	       "                              effective uid (repeatable)\n"
	       "      --exclude-exe PATH      never scan accesses by processes running this\n"
	       "                              executable, exact path (repeatable)\n"
	       "      --access                also check reads (FAN_ACCESS_PERM): costly\n"
	       "      --no-exec               do not check execs (FAN_OPEN_EXEC_PERM)\n"
	       "      --no-cache              never cache clean verdicts (in-kernel ignore marks)\n"
	       "      --pid-file PATH         written once every mark is in place\n"
	       "      --stats-file PATH       counters, written at exit and on SIGUSR1\n"
	       "      --local-default-verdict V, --fuse-default-verdict V,\n"
	       "      --network-default-verdict V   the default verdict of one mount class\n"
	       "      --network-workers N     scanning threads per network mount [2]\n"
	       "  -c, --config FILE           read fanguard.conf(5) first; options given here\n"
	       "                              override its settings or add to its lists\n"
	       "      --control-socket PATH   serve fanguardctl(8) here (\"\" for none)\n"
	       "                              [/run/fanguard/control with --config, else none]\n"
	       "      --seccomp MODE          kill|errno|log|off: syscalls outside the\n"
	       "                              allow-list after init [kill]\n"
	       "      --landlock              confine file writes, TCP connects and abstract\n"
	       "                              sockets with Landlock (costs: see fanguardd(8))\n"
	       "  -l, --log-level LEVEL       err|warning|notice|info|debug [info]\n"
	       "  -v, --verbose               same as --log-level debug (a line per verdict)\n"
	       "  -h, --help                  this help\n"
	       "      --version               print the version\n\n"
	       "Signals: SIGTERM/SIGINT stop after answering everything pending;\n"
	       "SIGUSR1 writes the stats file; SIGHUP reloads the configuration.\n"
	       "See fanguardd(8), fanguard.conf(5), fanguardctl(8).\n");
}

static int parse_verdict(const char *s, int *ret)
{
	if (strcmp(s, "allow") == 0)
		*ret = FANGUARD_ALLOW;
	else if (strcmp(s, "deny") == 0)
		*ret = FANGUARD_DENY;
	else
		return log_error_errno(EINVAL, "Invalid verdict '%s' (allow or deny)", s);
	return 0;
}

enum {
	ARG_WATCH_FS = 0x100,
	ARG_WATCH_TREE,
	ARG_SCAN_THROUGH_LOOPBACK,
	ARG_DEFAULT_VERDICT,
	ARG_DEADLINE,
	ARG_LOCAL_DEADLINE,
	ARG_FUSE_DEADLINE,
	ARG_NETWORK_DEADLINE,
	ARG_WORKERS,
	ARG_FUSE_WORKERS,
	ARG_MAX_SCAN,
	ARG_QUEUE_LEN,
	ARG_ACCESS,
	ARG_NO_EXEC,
	ARG_NO_CACHE,
	ARG_PID_FILE,
	ARG_STATS_FILE,
	ARG_VERSION,
	ARG_LOCAL_VERDICT,
	ARG_FUSE_VERDICT,
	ARG_NETWORK_VERDICT,
	ARG_NETWORK_WORKERS,
	ARG_CONTROL_SOCKET,
	ARG_SECCOMP,
	ARG_CLAMD_SOCKET,
	ARG_CLAMD_TCP,
	ARG_YARA_RULES,
	ARG_EXCLUDE_UID,
	ARG_EXCLUDE_EXE,
	ARG_LANDLOCK,
};

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{"watch", required_argument, NULL, 'w'},
		{"watch-fs", required_argument, NULL, ARG_WATCH_FS},
		{"watch-tree", required_argument, NULL, ARG_WATCH_TREE},
		{"scan-through-loopback", no_argument, NULL, ARG_SCAN_THROUGH_LOOPBACK},
		{"deny-hashes", required_argument, NULL, 'd'},
		{"default-verdict", required_argument, NULL, ARG_DEFAULT_VERDICT},
		{"deadline-ms", required_argument, NULL, ARG_DEADLINE},
		{"local-deadline-ms", required_argument, NULL, ARG_LOCAL_DEADLINE},
		{"fuse-deadline-ms", required_argument, NULL, ARG_FUSE_DEADLINE},
		{"network-deadline-ms", required_argument, NULL, ARG_NETWORK_DEADLINE},
		{"workers", required_argument, NULL, ARG_WORKERS},
		{"fuse-workers", required_argument, NULL, ARG_FUSE_WORKERS},
		{"max-scan-bytes", required_argument, NULL, ARG_MAX_SCAN},
		{"queue-len", required_argument, NULL, ARG_QUEUE_LEN},
		{"exclude", required_argument, NULL, 'x'},
		{"access", no_argument, NULL, ARG_ACCESS},
		{"no-exec", no_argument, NULL, ARG_NO_EXEC},
		{"no-cache", no_argument, NULL, ARG_NO_CACHE},
		{"pid-file", required_argument, NULL, ARG_PID_FILE},
		{"stats-file", required_argument, NULL, ARG_STATS_FILE},
		{"log-level", required_argument, NULL, 'l'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"local-default-verdict", required_argument, NULL, ARG_LOCAL_VERDICT},
		{"fuse-default-verdict", required_argument, NULL, ARG_FUSE_VERDICT},
		{"network-default-verdict", required_argument, NULL, ARG_NETWORK_VERDICT},
		{"network-workers", required_argument, NULL, ARG_NETWORK_WORKERS},
		{"config", required_argument, NULL, 'c'},
		{"control-socket", required_argument, NULL, ARG_CONTROL_SOCKET},
		{"seccomp", required_argument, NULL, ARG_SECCOMP},
		{"clamd-socket", required_argument, NULL, ARG_CLAMD_SOCKET},
		{"clamd-tcp", required_argument, NULL, ARG_CLAMD_TCP},
		{"landlock", no_argument, NULL, ARG_LANDLOCK},
		{"yara-rules", required_argument, NULL, ARG_YARA_RULES},
		{"exclude-uid", required_argument, NULL, ARG_EXCLUDE_UID},
		{"exclude-exe", required_argument, NULL, ARG_EXCLUDE_EXE},
		{}};
	struct fanguard_options *o = &arg_opts;
	bool no_exec = false;
	uint64_t v;
	int c, r, verdict = FANGUARD_ALLOW;

	/* Runs once per fanguard.conf key, then for the command line: start
	 * getopt afresh, and keep what earlier passes set. */
	optind = 0;
	if (o->events == 0)
		o->events = FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC;
	while ((c = getopt_long(argc, argv, "w:d:x:l:c:vh", options, NULL)) >= 0) {
		switch (c) {
		case ARG_LOCAL_VERDICT:
		case ARG_FUSE_VERDICT:
		case ARG_NETWORK_VERDICT:
			r = parse_verdict(optarg, &verdict);
			if (r < 0)
				return r;
			o->cls[c == ARG_LOCAL_VERDICT  ? FANGUARD_MOUNT_LOCAL
			       : c == ARG_FUSE_VERDICT ? FANGUARD_MOUNT_FUSE
						       : FANGUARD_MOUNT_NETWORK]
				.default_verdict = verdict;
			break;
		case ARG_NETWORK_WORKERS:
			r = parse_uint_arg(optarg, "worker count", 1024, &v);
			if (r < 0)
				return r;
			o->cls[FANGUARD_MOUNT_NETWORK].n_workers = (uint32_t) v;
			break;
		case 'c':
			/* Read before the command line (main()); here only for getopt. */
			if (arg_in_config)
				return log_error_errno(EINVAL,
						       "A configuration cannot name another");
			arg_config = optarg;
			break;
		case ARG_CONTROL_SOCKET:
			if (optarg[0] != '\0' && optarg[0] != '/')
				return log_error_errno(
					EINVAL, "Control socket '%s' is not absolute", optarg);
			arg_control_socket = optarg;
			break;
		case ARG_SECCOMP:
			r = seccomp_mode_from_string(optarg);
			if (r < 0)
				return log_error_errno(
					r, "Invalid seccomp mode '%s' (kill, errno, log, off)",
					optarg);
			arg_seccomp = r;
			break;
		case 'w':
		case ARG_WATCH_FS:
			if (arg_n_watch == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many watches");
			arg_watch_fs[arg_n_watch] = c == ARG_WATCH_FS;
			arg_watch[arg_n_watch++] = optarg;
			break;
		case ARG_WATCH_TREE:
			if (arg_n_watch_tree == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many watches");
			arg_watch_tree[arg_n_watch_tree++] = optarg;
			break;
		case ARG_SCAN_THROUGH_LOOPBACK:
			o->loopback_policy = FANGUARD_LOOPBACK_THROUGH;
			break;
		case 'd':
			if (arg_n_deny_hashes == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many denylists");
			arg_deny_hashes[arg_n_deny_hashes++] = optarg;
			break;
		case ARG_CLAMD_SOCKET:
		case ARG_CLAMD_TCP:
			if (arg_n_clamd == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many clamd endpoints");
			if (c == ARG_CLAMD_SOCKET && optarg[0] != '/')
				return log_error_errno(EINVAL, "clamd socket '%s' is not absolute",
						       optarg);
			arg_clamd[arg_n_clamd++] = optarg;
			break;
		case ARG_YARA_RULES:
			arg_yara_rules = optarg;
			break;
		case ARG_LANDLOCK:
			arg_landlock = true;
			break;
		case 'x':
			if (arg_n_exclude == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many exclusions");
			if (optarg[0] != '/')
				return log_error_errno(EINVAL, "Exclusion '%s' is not absolute",
						       optarg);
			arg_exclude[arg_n_exclude++] = optarg;
			break;
		case ARG_EXCLUDE_UID:
			if (arg_n_exclude_uid == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many uid exclusions");
			/* (uid_t) -1 is no uid (setresuid()'s "unchanged"). */
			r = parse_uint_arg(optarg, "uid", (uid_t) -1 - 1, &v);
			if (r < 0)
				return r;
			arg_exclude_uid[arg_n_exclude_uid++] = (uid_t) v;
			break;
		case ARG_EXCLUDE_EXE:
			if (arg_n_exclude_exe == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many executable exclusions");
			if (optarg[0] != '/')
				return log_error_errno(EINVAL, "Executable '%s' is not absolute",
						       optarg);
			arg_exclude_exe[arg_n_exclude_exe++] = optarg;
			break;
		case ARG_DEFAULT_VERDICT:
			r = parse_verdict(optarg, &verdict);
			if (r < 0)
				return r;
			for (int i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++)
				o->cls[i].default_verdict = verdict;
			break;
		case ARG_DEADLINE:
		case ARG_LOCAL_DEADLINE:
		case ARG_FUSE_DEADLINE:
		case ARG_NETWORK_DEADLINE:
			r = parse_uint_arg(optarg, "deadline", 3600 * 1000, &v);
			if (r < 0)
				return r;
			if (v == 0)
				return log_error_errno(EINVAL, "A deadline must be > 0 ms");
			for (int i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++)
				if (c == ARG_DEADLINE ||
				    (c == ARG_LOCAL_DEADLINE && i == FANGUARD_MOUNT_LOCAL) ||
				    (c == ARG_FUSE_DEADLINE && i == FANGUARD_MOUNT_FUSE) ||
				    (c == ARG_NETWORK_DEADLINE && i == FANGUARD_MOUNT_NETWORK))
					o->cls[i].deadline_ms = (uint32_t) v;
			break;
		case ARG_WORKERS:
		case ARG_FUSE_WORKERS:
			r = parse_uint_arg(optarg, "worker count", 1024, &v);
			if (r < 0)
				return r;
			o->cls[c == ARG_WORKERS ? FANGUARD_MOUNT_LOCAL : FANGUARD_MOUNT_FUSE]
				.n_workers = (uint32_t) v;
			break;
		case ARG_MAX_SCAN:
			r = parse_uint_arg(optarg, "size", UINT64_MAX, &v);
			if (r < 0)
				return r;
			o->max_scan_bytes = v;
			break;
		case ARG_QUEUE_LEN:
			r = parse_uint_arg(optarg, "queue length", 1u << 24, &v);
			if (r < 0)
				return r;
			if (v == 0)
				return log_error_errno(EINVAL, "A queue length must be > 0");
			for (int i = 0; i < _FANGUARD_MOUNT_CLASS_MAX; i++)
				o->cls[i].queue_len = (uint32_t) v;
			break;
		case ARG_ACCESS:
			o->events |= FANGUARD_EVENT_ACCESS;
			break;
		case ARG_NO_EXEC:
			no_exec = true;
			break;
		case ARG_NO_CACHE:
			o->no_cache = 1;
			break;
		case ARG_PID_FILE:
			arg_pid_file = optarg;
			break;
		case ARG_STATS_FILE:
			arg_stats_file = optarg;
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0)
				return log_error_errno(r, "Invalid log level '%s'", optarg);
			arg_log_level = r;
			break;
		case 'v':
			arg_log_level = LOG_DEBUG;
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("fanguardd %s\n", FANGUARD_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "Unexpected argument '%s'", argv[optind]);
	if (no_exec)
		o->events &= ~FANGUARD_EVENT_EXEC;
	if (arg_n_watch == 0 && arg_n_watch_tree == 0 && !arg_in_config)
		return log_error_errno(EINVAL, "Nothing to watch: give --watch PATH");
	o->log_max_priority = arg_log_level;
	return 1;
}

static void on_log(void *userdata, int prio, const char *msg)
{
	log_full_errno(prio, 0, "%s", msg);
}

#define FANGUARD_VERDICT_MESSAGE_ID "MESSAGE_ID=3f0b6c1e9d2a4e7b8c5d1a2f6e9b0c47"

static void on_verdict(void *userdata, const struct fanguard_verdict_info *v)
{
	char f_verdict[32], f_path[4200], f_pid[32], f_class[32], f_reason[48], f_lat[48];
	char f_exe[4200], f_comm[48], proc[64], exe[4096], comm[24] = "?";
	/* One MESSAGE_ID for every verdict line: journalctl MESSAGE_ID=... finds them. */
	const char *fields[] = {FANGUARD_VERDICT_MESSAGE_ID,
				f_verdict,
				f_path,
				f_pid,
				f_class,
				f_reason,
				f_lat,
				f_exe,
				f_comm,
				NULL};
	const char *verdict = v->verdict == FANGUARD_DENY ? "deny" : "allow";
	ssize_t n;
	int fd;

	/* For a deny the library read comm and exe before answering (a denied
	 * opener often exits at once). Otherwise look now, on the log thread,
	 * after the answer: the subject may be gone ("?"). */
	if (v->size >= offsetof(struct fanguard_verdict_info, exe) + sizeof(v->exe) && v->exe &&
	    v->exe[0]) {
		/* Read by the library before it answered the deny. */
		(void) snprintf(exe, sizeof(exe), "%s", v->exe);
		n = 1;
	} else {
		(void) snprintf(proc, sizeof(proc), "/proc/%d/exe", (int) v->pid);
		n = readlink(proc, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
	}
	(void) snprintf(f_exe, sizeof(f_exe), "FANGUARD_EXE=%s", n > 0 ? exe : "?");
	if (v->size >= offsetof(struct fanguard_verdict_info, comm) + sizeof(v->comm) && v->comm &&
	    v->comm[0])
		(void) snprintf(comm, sizeof(comm), "%s", v->comm);
	else {
		(void) snprintf(proc, sizeof(proc), "/proc/%d/comm", (int) v->pid);
		fd = open(proc, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, comm, sizeof(comm) - 1);
			comm[n > 0 ? n : 0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			(void) close(fd);
		}
	}
	(void) snprintf(f_comm, sizeof(f_comm), "FANGUARD_COMM=%s", comm[0] ? comm : "?");

	(void) snprintf(f_verdict, sizeof(f_verdict), "FANGUARD_VERDICT=%s", verdict);
	(void) snprintf(f_path, sizeof(f_path), "FANGUARD_PATH=%s", v->path);
	(void) snprintf(f_pid, sizeof(f_pid), "FANGUARD_PID=%d", (int) v->pid);
	(void) snprintf(f_class, sizeof(f_class), "FANGUARD_MOUNT_CLASS=%s",
			fanguard_mount_class_to_string(v->mount_class));
	(void) snprintf(f_reason, sizeof(f_reason), "FANGUARD_REASON=%s",
			fanguard_reason_to_string(v->reason));
	(void) snprintf(f_lat, sizeof(f_lat), "FANGUARD_LATENCY_USEC=%llu",
			(unsigned long long) v->latency_usec);
	/* Structured fields first, the path last: a cut of a long line (log.c
	 * escapes it and caps it with a marker) loses only the path's tail.
	 * comm (spaces allowed, e.g. " path=/x") stays in its journal field. */
	log_struct_internal(v->verdict == FANGUARD_DENY ? LOG_NOTICE : LOG_DEBUG, 0, fields,
			    "%s pid=%d class=%s reason=%s%s%s%s%s latency_us=%llu path=%s", verdict,
			    (int) v->pid, fanguard_mount_class_to_string(v->mount_class),
			    fanguard_reason_to_string(v->reason), v->scanner[0] ? " scanner=" : "",
			    v->scanner, v->detail[0] ? " detail=" : "", v->detail,
			    (unsigned long long) v->latency_usec, v->path);
}

/* Writes path atomically (temp file + rename). */
static int write_file_atomic(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = loop_write(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void) unlink(tmp);
	return r;
}

static void write_stats(struct fanguard *fg)
{
	struct fanguard_stats s = {.size = sizeof(s)};
	char buf[4096];
	size_t n;
	int r;

	if (!arg_stats_file || fanguard_get_stats(fg, &s) < 0)
		return;
	n = (size_t) snprintf(
		buf, sizeof(buf),
		"events_read %llu\nevents_answered %llu\nallowed %llu\ndenied %llu\n"
		"pending %llu\nresponse_errors %llu\nworkers_abandoned %llu\n"
		"workers_replaced %llu\nlog_dropped %llu\nbytes_scanned %llu\n"
		"kernel_open_errors %llu\nreaders_added %llu\n"
		"groups %u\nwatches %u\n",
		(unsigned long long) s.events_read, (unsigned long long) s.events_answered,
		(unsigned long long) s.allowed, (unsigned long long) s.denied,
		(unsigned long long) s.pending, (unsigned long long) s.response_errors,
		(unsigned long long) s.workers_abandoned, (unsigned long long) s.workers_replaced,
		(unsigned long long) s.log_dropped, (unsigned long long) s.bytes_scanned,
		(unsigned long long) s.kernel_open_errors, (unsigned long long) s.readers_added,
		s.n_groups, s.n_watches);
	for (int i = 0; i < _FANGUARD_REASON_MAX && n < sizeof(buf); i++) {
		char key[32];

		(void) snprintf(key, sizeof(key), "%s", fanguard_reason_to_string(i));
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "reason_%s %llu\n", key,
				       (unsigned long long) s.by_reason[i]);
	}
	if (n < sizeof(buf))
		n += (size_t) snprintf(buf + n, sizeof(buf) - n,
				       "cache_marks_added %llu\ncache_marks_revoked %llu\n"
				       "cache_marks_failed %llu\ncache_flushes %llu\n",
				       (unsigned long long) s.cache_marks_added,
				       (unsigned long long) s.cache_marks_revoked,
				       (unsigned long long) s.cache_marks_failed,
				       (unsigned long long) s.cache_flushes);
	r = write_file_atomic(arg_stats_file, buf);
	if (r < 0)
		log_warning_errno(r, "Failed to write '%s', ignoring: %m", arg_stats_file);
}

/* --- service: fanguard.conf, reload, control socket, watchdog ---------------- */

/* How far past its deadline an unanswered event may be before the watchdog
 * stops vouching for us: the keeper answers at the deadline itself. */
#define HEALTH_GRACE_MS 1000
#define DEFAULT_CONTROL_SOCKET "/run/fanguard/control"

static int saved_argc;
static char **saved_argv;
/* "--key=value" strings built from fanguard.conf: optarg points into them. */
static char **arg_strings;
static size_t arg_n_strings;
static struct control_ctx ctl = {.health = 0};

/* Paths used until exit, copied once at start: reloads free the strings
 * parsed from fanguard.conf, and these never change while running. */
static char *keep_pid_file, *keep_stats_file, *keep_control_socket;

static int keep_paths(void)
{
	if ((arg_pid_file && !(keep_pid_file = strdup(arg_pid_file))) ||
	    (arg_stats_file && !(keep_stats_file = strdup(arg_stats_file))) ||
	    (arg_control_socket && !(keep_control_socket = strdup(arg_control_socket))))
		return -ENOMEM;
	arg_pid_file = keep_pid_file;
	arg_stats_file = keep_stats_file;
	arg_control_socket = keep_control_socket;
	return 0;
}

/* JOURNAL_STREAM=dev:ino names the journal's stream if it is our stderr:
 * then log straight to the journal, with structured fields. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static void strings_free(char **strv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(strv[i]);
	free(strv);
}

/* fanguard.conf keys run through parse_argv() one at a time, so the file and
 * the command line share every check. */
static int config_apply(void *userdata, const char *option, const char *value)
{
	char *arg, **n, *argv[3];
	int r;

	if ((value ? asprintf(&arg, "--%s=%s", option, value) : asprintf(&arg, "--%s", option)) < 0)
		return -ENOMEM;
	n = realloc(arg_strings, (arg_n_strings + 1) * sizeof(*n));
	if (!n) {
		free(arg);
		return -ENOMEM;
	}
	arg_strings = n;
	arg_strings[arg_n_strings++] = arg;
	argv[0] = (char *) "fanguardd";
	argv[1] = arg;
	argv[2] = NULL;
	arg_in_config = true;
	r = parse_argv(2, argv);
	arg_in_config = false;
	return r > 0 ? 0 : -EINVAL;
}

/* The file named by --config/-c, found before getopt runs: the command line
 * is applied after the file, so that it overrides it. */
static const char *find_config(int argc, char **argv)
{
	const char *found = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
		    i + 1 < argc)
			found = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			found = argv[i] + 9;
	}
	return found;
}

/* Precedence: defaults < fanguard.conf < command line. Lists (watches,
 * exclusions, denylists, scanners) add up; single values are overridden. */
static int load_settings(int argc, char **argv)
{
	const char *config = find_config(argc, argv);
	int r;

	if (config) {
		r = config_parse_file(config, config_apply, NULL);
		if (r < 0)
			return r;
	}
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	if (!arg_control_socket && arg_config)
		arg_control_socket = DEFAULT_CONTROL_SOCKET;
	if (arg_control_socket && arg_control_socket[0] == '\0')
		arg_control_socket = NULL;
	return r;
}

struct arg_snapshot {
	const char *watch[MAX_ARGS];
	bool watch_fs[MAX_ARGS];
	size_t n_watch;
	const char *exclude[MAX_ARGS];
	size_t n_exclude;
	uid_t exclude_uid[MAX_ARGS];
	size_t n_exclude_uid;
	const char *exclude_exe[MAX_ARGS];
	size_t n_exclude_exe;
	const char *deny[MAX_ARGS];
	size_t n_deny;
	const char *clamd[MAX_ARGS];
	size_t n_clamd;
	const char *tree[MAX_ARGS];
	size_t n_tree;
	const char *yara, *pid_file, *stats_file, *config, *control_socket;
	int seccomp, log_level;
	struct fanguard_options opts;
	char **strings;
	size_t n_strings;
};

static void snapshot_take(struct arg_snapshot *s)
{
	memcpy(s->watch, arg_watch, sizeof(arg_watch));
	memcpy(s->watch_fs, arg_watch_fs, sizeof(arg_watch_fs));
	s->n_watch = arg_n_watch;
	memcpy(s->exclude, arg_exclude, sizeof(arg_exclude));
	s->n_exclude = arg_n_exclude;
	memcpy(s->exclude_uid, arg_exclude_uid, sizeof(arg_exclude_uid));
	s->n_exclude_uid = arg_n_exclude_uid;
	memcpy(s->exclude_exe, arg_exclude_exe, sizeof(arg_exclude_exe));
	s->n_exclude_exe = arg_n_exclude_exe;
	memcpy(s->deny, arg_deny_hashes, sizeof(arg_deny_hashes));
	s->n_deny = arg_n_deny_hashes;
	memcpy(s->clamd, arg_clamd, sizeof(arg_clamd));
	s->n_clamd = arg_n_clamd;
	memcpy(s->tree, arg_watch_tree, sizeof(arg_watch_tree));
	s->n_tree = arg_n_watch_tree;
	s->yara = arg_yara_rules;
	s->pid_file = arg_pid_file;
	s->stats_file = arg_stats_file;
	s->config = arg_config;
	s->control_socket = arg_control_socket;
	s->seccomp = arg_seccomp;
	s->log_level = arg_log_level;
	s->opts = arg_opts;
	s->strings = arg_strings;
	s->n_strings = arg_n_strings;
}

static void snapshot_restore(const struct arg_snapshot *s)
{
	memcpy(arg_watch, s->watch, sizeof(arg_watch));
	memcpy(arg_watch_fs, s->watch_fs, sizeof(arg_watch_fs));
	arg_n_watch = s->n_watch;
	memcpy(arg_exclude, s->exclude, sizeof(arg_exclude));
	arg_n_exclude = s->n_exclude;
	memcpy(arg_exclude_uid, s->exclude_uid, sizeof(arg_exclude_uid));
	arg_n_exclude_uid = s->n_exclude_uid;
	memcpy(arg_exclude_exe, s->exclude_exe, sizeof(arg_exclude_exe));
	arg_n_exclude_exe = s->n_exclude_exe;
	memcpy(arg_deny_hashes, s->deny, sizeof(arg_deny_hashes));
	arg_n_deny_hashes = s->n_deny;
	memcpy(arg_clamd, s->clamd, sizeof(arg_clamd));
	arg_n_clamd = s->n_clamd;
	memcpy(arg_watch_tree, s->tree, sizeof(arg_watch_tree));
	arg_n_watch_tree = s->n_tree;
	arg_yara_rules = s->yara;
	arg_pid_file = s->pid_file;
	arg_stats_file = s->stats_file;
	arg_config = s->config;
	arg_control_socket = s->control_socket;
	arg_seccomp = s->seccomp;
	arg_log_level = s->log_level;
	arg_opts = s->opts;
	arg_strings = s->strings;
	arg_n_strings = s->n_strings;
}

static void args_reset(void)
{
	arg_n_watch = arg_n_exclude = arg_n_deny_hashes = arg_n_clamd = arg_n_watch_tree = 0;
	arg_n_exclude_uid = arg_n_exclude_exe = 0;
	arg_yara_rules = arg_pid_file = arg_stats_file = arg_config = arg_control_socket = NULL;
	arg_seccomp = FG_SECCOMP_KILL;
	arg_log_level = LOG_INFO;
	arg_opts = (struct fanguard_options){.size = sizeof(struct fanguard_options)};
	arg_strings = NULL;
	arg_n_strings = 0;
}

static bool watch_listed(const struct arg_snapshot *s, const char *path, bool fs)
{
	for (size_t i = 0; i < s->n_watch; i++)
		if (strcmp(s->watch[i], path) == 0 && s->watch_fs[i] == fs)
			return true;
	return false;
}

static bool str_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* One message per way a denylist file can be refused (see
 * fanguard_deny_sha256_file()). Returns r. */
static int log_denylist_error(int r, const char *path, unsigned line)
{
	switch (r) {
	case -EBADMSG:
		return log_error_errno(r, "%s:%u: not a SHA-256 hex digest", path, line);
	case -EILSEQ:
		return log_error_errno(r, "%s:%u: NUL byte in a denylist", path, line);
	case -ENODATA:
		return log_error_errno(r, "Denylist '%s' holds no digest", path);
	case -EBADFD:
		return log_error_errno(r, "Denylist '%s' is not a regular file", path);
	case -EISDIR:
		return log_error_errno(r, "Denylist '%s' is a directory", path);
	case -ELOOP:
		return log_error_errno(r, "Denylist '%s' is a symbolic link (not followed)", path);
	case -EFBIG:
		return log_error_errno(r, "Denylist '%s': too many digests", path);
	default:
		return log_error_errno(r, "Failed to load denylist '%s': %m", path);
	}
}

/* Applies what can change while running; the library swaps each list
 * atomically under its config lock, so every event sees either the old or
 * the new list and is answered exactly once either way. */
static int reload_apply(struct fanguard *fg, const struct arg_snapshot *old)
{
	struct fanguard_options o = arg_opts;
	size_t file = 0;
	unsigned line = 0;
	int r;

	r = fanguard_replace_deny_sha256_files(fg, arg_deny_hashes, arg_n_deny_hashes, &file,
					       &line);
	if (r < 0)
		return log_denylist_error(r, arg_n_deny_hashes ? arg_deny_hashes[file] : "", line);
	log_info("Denylist: %d digests from %zu files", r, arg_n_deny_hashes);
	for (size_t i = 0; i < arg_n_watch; i++) {
		if (watch_listed(old, arg_watch[i], arg_watch_fs[i]))
			continue;
		r = fanguard_watch(fg, arg_watch[i],
				   arg_watch_fs[i] ? FANGUARD_WATCH_FILESYSTEM : 0);
		if (r < 0)
			return log_error_errno(r, "Failed to watch '%s': %m", arg_watch[i]);
		log_info("Now also watching '%s'", arg_watch[i]);
	}
	for (size_t i = 0; i < arg_n_watch_tree; i++) {
		bool known = false;

		for (size_t j = 0; j < old->n_tree && !known; j++)
			known = strcmp(old->tree[j], arg_watch_tree[i]) == 0;
		if (known)
			continue;
		r = fanguard_watch_tree(fg, arg_watch_tree[i], 0);
		if (r < 0)
			return log_error_errno(r, "Failed to watch the tree '%s': %m",
					       arg_watch_tree[i]);
		log_info("Now also watching the tree '%s'", arg_watch_tree[i]);
	}
	for (size_t i = 0; i < old->n_watch; i++) {
		bool kept = false;

		for (size_t j = 0; j < arg_n_watch && !kept; j++)
			kept = strcmp(old->watch[i], arg_watch[j]) == 0 &&
			       old->watch_fs[i] == arg_watch_fs[j];
		if (!kept)
			log_notice("'%s' is no longer configured; its mark stays until restart",
				   old->watch[i]);
	}
	if (arg_yara_rules) {
		r = fanguard_load_yara_rules(fg, arg_yara_rules);
		if (r < 0)
			return log_error_errno(r, "Failed to load YARA rules '%s': %m",
					       arg_yara_rules);
	}
	r = fanguard_set_exclude_paths(fg, arg_exclude, arg_n_exclude);
	if (r < 0)
		return log_error_errno(r, "Failed to set the exclusions: %m");
	r = fanguard_set_exclude_subjects(fg, arg_exclude_uid, arg_n_exclude_uid, arg_exclude_exe,
					  arg_n_exclude_exe);
	if (r < 0)
		return log_error_errno(r, "Failed to set the uid and executable exclusions: %m");

	/* The rest shapes the groups and threads: it applies at the next start. */
	o.log_fn = old->opts.log_fn;
	o.verdict_fn = old->opts.verdict_fn;
	o.userdata = old->opts.userdata;
	o.log_max_priority = old->opts.log_max_priority;
	if (memcmp(&o, &old->opts, sizeof(o)) != 0)
		log_notice("Events, deadlines, default verdicts, workers, queue lengths, scan size "
			   "and cache settings changed: they take effect at the next start");
	if (str_changed(arg_pid_file, old->pid_file) ||
	    str_changed(arg_stats_file, old->stats_file) ||
	    str_changed(arg_control_socket, old->control_socket) || arg_seccomp != old->seccomp ||
	    arg_n_clamd != old->n_clamd || arg_log_level != old->log_level)
		log_notice("Pid file, control socket, seccomp mode, log level or clamd endpoints "
			   "changed: "
			   "they take effect at the next start");
	return 0;
}

static int reload(void *userdata)
{
	static struct arg_snapshot old; /* large: not on the stack */
	struct fanguard *fg = userdata;
	int r;

	log_info("Reloading the configuration%s%s", arg_config ? " from " : "",
		 arg_config ? arg_config : "");
	snapshot_take(&old);
	args_reset();
	r = load_settings(saved_argc, saved_argv);
	if (r == 0)
		r = -EINVAL;
	if (r > 0)
		r = reload_apply(fg, &old);
	if (r < 0) {
		strings_free(arg_strings, arg_n_strings);
		snapshot_restore(&old);
		ctl.reloads_failed++;
		log_error("Reload failed: keeping the previous configuration");
		return r;
	}
	/* Restart-only settings stay as running (the paths are copies owned
	 * by main()), so the next reload compares against what is in force. */
	arg_pid_file = old.pid_file;
	arg_stats_file = old.stats_file;
	arg_control_socket = old.control_socket;
	arg_opts = old.opts;
	arg_seccomp = old.seccomp;
	arg_log_level = old.log_level;
	strings_free(old.strings, old.n_strings);
	ctl.reloads_ok++;
	log_info("Reloaded: %zu watches, %zu denylists, %zu exclusions", arg_n_watch,
		 arg_n_deny_hashes, arg_n_exclude);
	return 0;
}

static void service_tick(struct fanguard *fg, bool watchdog)
{
	struct fanguard_stats s = {.size = sizeof(s)};
	int health = fanguard_check_health(fg, HEALTH_GRACE_MS);

	if (health != ctl.health) {
		if (health < 0)
			log_error_errno(health, "Unhealthy: %s; no longer pinging the watchdog",
					health == -ETIME
						? "an event is unanswered past its deadline"
						: "a group lost its readers");
		else
			log_notice("Healthy again");
		ctl.health = health;
	}
	if (fanguard_get_stats(fg, &s) < 0)
		return;
#if HAVE_LIBSYSTEMD
	(void) sd_notifyf(0,
			  "%sSTATUS=%s %u mounts in %u groups: %llu events, %llu denied, %llu "
			  "pending, %llu past deadline",
			  watchdog && health == 0 ? "WATCHDOG=1\n" : "",
			  health == 0 ? "Watching" : "UNHEALTHY, watching", s.n_watches, s.n_groups,
			  (unsigned long long) s.events_read, (unsigned long long) s.denied,
			  (unsigned long long) s.pending,
			  (unsigned long long) s.by_reason[FANGUARD_REASON_DEADLINE]);
#else
	(void) watchdog;
#endif
}

/* After every mark is in place: the control socket, then the sandbox. */
static int service_setup(struct fanguard *fg, int *ret_ctl_fd)
{
	unsigned flags = 0;
	int r;

	ctl.fg = fg;
	ctl.reload = reload;
	ctl.userdata = fg;
	ctl.started_usec = now_usec();
	ctl.config_path = arg_config;
	ctl.seccomp_mode = seccomp_mode_to_string(arg_seccomp);
	if (arg_control_socket) {
		r = control_listen(arg_control_socket, ret_ctl_fd);
		if (r < 0)
			return log_error_errno(r, "Failed to listen on '%s': %m",
					       arg_control_socket);
	}
	for (size_t i = 0; i < arg_n_clamd; i++)
		if (arg_clamd[i][0] != '/')
			flags |= FG_SANDBOX_INET; /* --clamd-tcp */
	r = sandbox_seccomp_install(arg_seccomp, flags);
	if (r < 0)
		return log_error_errno(r, "Failed to load the seccomp filter: %m");
	return 0;
}

static int main_loop(struct fanguard *fg, int sfd, struct control_server *srv)
{
	usec_t tick = 2 * USEC_PER_SEC, next = 0;
	uint64_t wd = 0;

#if HAVE_LIBSYSTEMD
	if (sd_watchdog_enabled(0, &wd) <= 0)
		wd = 0;
#endif
	if (wd > 0 && wd / 2 < tick)
		tick = wd / 2;
	for (;;) {
		struct pollfd p[2] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = srv ? control_server_fd(srv) : -EBADF, .events = POLLIN}};
		struct signalfd_siginfo si;
		usec_t now = now_usec();
		int timeout = (int) ((next - now) / USEC_PER_MSEC) + 1, ct;
		ssize_t n;

		if (now >= next) {
			service_tick(fg, wd > 0);
			next = now + tick;
			timeout = (int) (tick / USEC_PER_MSEC) + 1;
		}
		/* Wake for the next control client deadline too. */
		ct = srv ? control_server_timeout_ms(srv) : -1;
		if (ct >= 0 && ct < timeout)
			timeout = ct;
		if (poll(p, srv ? 2 : 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(errno, "poll failed: %m");
		}
		if (srv) {
			if (p[1].revents & POLLIN)
				ctl.health = fanguard_check_health(fg, HEALTH_GRACE_MS);
			control_server_process(srv);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != (ssize_t) sizeof(si))
			return log_error_errno(n < 0 ? errno : EIO, "Failed to read signalfd: %m");
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("Received %s, stopping", strsignal((int) si.ssi_signo));
			return 0;
		case SIGUSR1:
			write_stats(fg);
			break;
		case SIGHUP:
#if HAVE_LIBSYSTEMD
			(void) sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading");
#endif
			(void) reload(fg);
#if HAVE_LIBSYSTEMD
			(void) sd_notify(0, "READY=1");
#endif
			next = 0;
			break;
		default:
			break;
		}
	}
}

/* The directory a file is written in ("." for a bare name); caller frees. */
static char *dir_of(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash) {
		free(d);
		return strdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* Landlock: writes only where the daemon writes, TCP connects only to the
 * configured clamd ports. Before any thread starts (see sandbox.h). Paths
 * that change on reload (stats file, pid file, control socket) apply at the
 * next start, as they already did. */
static int landlock_setup(void)
{
	char *dirs[4] = {};
	uint16_t ports[MAX_ARGS];
	struct sandbox_landlock ll = {.write_dirs = (const char *const *) dirs, .tcp_ports = ports};
	int r = 0;

	if (!arg_landlock)
		return 0;
	if (arg_stats_file && !(dirs[ll.n_write_dirs++] = dir_of(arg_stats_file)))
		r = -ENOMEM;
	if (arg_pid_file && !(dirs[ll.n_write_dirs++] = dir_of(arg_pid_file)))
		r = -ENOMEM;
	if (arg_control_socket && !(dirs[ll.n_write_dirs++] = dir_of(arg_control_socket)))
		r = -ENOMEM;
	/* Hook: a quarantine or store directory goes here too, once one exists. */
	if (r < 0)
		goto out;
	/* control_listen() creates the socket's directory later: under
	 * Landlock it could not, and the rule needs it now. */
	if (arg_control_socket && mkdir(dirs[ll.n_write_dirs - 1], 0700) < 0 && errno != EEXIST)
		log_debug_errno(errno, "Failed to create '%s', ignoring: %m",
				dirs[ll.n_write_dirs - 1]);
	for (size_t i = 0; i < arg_n_clamd; i++) {
		const char *colon = strrchr(arg_clamd[i], ':');
		unsigned long port;
		char *end;

		if (arg_clamd[i][0] == '/' || strncmp(arg_clamd[i], "unix:", 5) == 0 || !colon)
			continue;
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno == 0 && *end == '\0' && port > 0 && port <= 65535)
			ports[ll.n_tcp_ports++] = (uint16_t) port;
	}
	r = sandbox_landlock_apply(&ll);
	if (r == 0)
		log_info("Landlock not available in this kernel: file writes are not confined");
	else if (r > 0)
		log_debug("Landlock ABI %d: writes confined to %zu directories, %zu TCP ports", r,
			  ll.n_write_dirs, ll.n_tcp_ports);
out:
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		free(dirs[i]);
	return r;
}

static int run(struct fanguard *fg)
{
	_cleanup_close_ int sfd = -EBADF;
	_cleanup_close_ int ctl_fd = -EBADF;
	_cleanup_(control_server_freep) struct control_server *srv = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return log_error_errno(errno, "Failed to create signalfd: %m");

	/* Capabilities are per thread, and a thread starts with its creator's:
	 * drop them before the library starts any thread (the log thread may
	 * start as early as loading YARA rules), or those threads keep them. */
	if (geteuid() == 0) {
		r = sandbox_drop_capabilities();
		if (r < 0)
			return log_error_errno(r, "Failed to drop capabilities: %m");
	}
	/* Per thread too, so now. */
	r = landlock_setup();
	if (r < 0)
		return log_error_errno(r, "Failed to set up Landlock: %m");

	for (size_t i = 0; i < arg_n_deny_hashes; i++) {
		unsigned line = 0;

		r = fanguard_deny_sha256_file(fg, arg_deny_hashes[i], &line);
		if (r < 0)
			return log_denylist_error(r, arg_deny_hashes[i], line);
		log_info("Loaded %d digests from '%s'", r, arg_deny_hashes[i]);
	}
	for (size_t i = 0; i < arg_n_clamd; i++) {
		r = fanguard_add_clamd(fg, arg_clamd[i]);
		if (r < 0)
			return log_error_errno(r, "Bad clamd endpoint '%s': %m", arg_clamd[i]);
	}
	if (arg_yara_rules) {
		/* Compile errors went to the log, line by line. */
		r = fanguard_load_yara_rules(fg, arg_yara_rules);
		if (r < 0)
			return log_error_errno(r, "Failed to load YARA rules '%s': %m",
					       arg_yara_rules);
	}
	for (size_t i = 0; i < arg_n_exclude; i++) {
		r = fanguard_exclude_path(fg, arg_exclude[i]);
		if (r < 0)
			return log_error_errno(r, "Failed to exclude '%s': %m", arg_exclude[i]);
	}
	r = fanguard_set_exclude_subjects(fg, arg_exclude_uid, arg_n_exclude_uid, arg_exclude_exe,
					  arg_n_exclude_exe);
	if (r < 0)
		return log_error_errno(r, "Failed to exclude uids and executables: %m");
	r = fanguard_start(fg);
	if (r < 0)
		return log_error_errno(r, "Failed to start: %m");
	for (size_t i = 0; i < arg_n_watch; i++) {
		r = fanguard_watch(fg, arg_watch[i],
				   arg_watch_fs[i] ? FANGUARD_WATCH_FILESYSTEM : 0);
		if (r < 0)
			return log_error_errno(r, "Failed to watch '%s': %m", arg_watch[i]);
	}
	for (size_t i = 0; i < arg_n_watch_tree; i++) {
		r = fanguard_watch_tree(fg, arg_watch_tree[i], 0);
		if (r < 0)
			return log_error_errno(r, "Failed to watch the tree '%s': %m",
					       arg_watch_tree[i]);
	}
	/* The control socket and the sandbox, before anyone is told we are ready. */
	r = service_setup(fg, &ctl_fd);
	if (r < 0)
		return r;
	if (ctl_fd >= 0) {
		r = control_server_new(ctl_fd, &ctl, &srv);
		if (r < 0)
			return log_error_errno(r, "Failed to set up the control socket: %m");
	}
	if (arg_pid_file) {
		char pid[32];

		(void) snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
		r = write_file_atomic(arg_pid_file, pid);
		if (r < 0)
			return log_error_errno(r, "Failed to write '%s': %m", arg_pid_file);
	}
#if HAVE_LIBSYSTEMD
	/* Every mark is in place and the sandbox is on. */
	(void) sd_notify(0, "READY=1\nSTATUS=Watching");
#endif
	log_info("Ready: %zu watches, %zu tree watches, seccomp %s", arg_n_watch, arg_n_watch_tree,
		 seccomp_mode_to_string(arg_seccomp));
	return main_loop(fg, sfd, srv);
}

int main(int argc, char **argv)
{
	struct fanguard *fg = NULL;
	struct rlimit rl;
	sigset_t mask;
	int r, rr;

	log_set_ident("fanguardd");
	if (stderr_is_journal())
		log_set_target(LOG_TARGET_JOURNAL); /* structured fields reach it */
	saved_argc = argc;
	saved_argv = argv;
	r = load_settings(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_set_max_level(arg_log_level);
	if (keep_paths() < 0) {
		log_error_errno(ENOMEM, "Out of memory");
		return EXIT_FAILURE;
	}

	/* Block before any thread exists: every thread inherits the mask and
	 * signals are read from the signalfd only. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Every event in flight holds an fd, and the kernel denies an event
	 * whose fd it cannot create: take every fd the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE, ignoring: %m");
	}

	arg_opts.log_fn = on_log;
	arg_opts.verdict_fn = on_verdict;
	r = fanguard_new(&arg_opts, &fg);
	if (r < 0) {
		log_error_errno(r, "Failed to set up the listener: %m");
		return EXIT_FAILURE;
	}
	r = run(fg);
#if HAVE_LIBSYSTEMD
	(void) sd_notify(0, "STOPPING=1");
#endif
	rr = fanguard_stop(fg, 5000);
	if (rr == -ETIMEDOUT)
		log_warning("Some threads are stuck in a FUSE request; exiting without them");
	write_stats(fg);
	fg = fanguard_free(fg);
	if (arg_pid_file)
		(void) unlink(arg_pid_file);
	if (arg_control_socket && ctl.fg)
		(void) unlink(arg_control_socket);
	strings_free(arg_strings, arg_n_strings);
	free(keep_pid_file);
	free(keep_stats_file);
	free(keep_control_socket);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
