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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "fanguard.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MAX_ARGS 256

static const char *arg_watch[MAX_ARGS];
static bool arg_watch_fs[MAX_ARGS];
static size_t arg_n_watch;
static const char *arg_exclude[MAX_ARGS];
static size_t arg_n_exclude;
static const char *arg_deny_hashes[MAX_ARGS];
static size_t arg_n_deny_hashes;
static const char *arg_pid_file;
static const char *arg_stats_file;
static struct fanguard_options arg_opts = {.size = sizeof(struct fanguard_options)};

static void help(void)
{
	printf("Usage: fanguardd [OPTIONS] --watch PATH...\n"
	       "Answer fanotify permission events for the watched mounts, denying files\n"
	       "whose SHA-256 is denylisted, within a deadline, never blocked by FUSE.\n\n"
	       "  -w, --watch PATH            watch the mount holding PATH (repeatable)\n"
	       "      --watch-fs PATH         watch the whole filesystem holding PATH\n"
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
	       "  -x, --exclude PREFIX        never scan files under PREFIX (repeatable)\n"
	       "      --access                also check reads (FAN_ACCESS_PERM): costly\n"
	       "      --no-exec               do not check execs (FAN_OPEN_EXEC_PERM)\n"
	       "      --pid-file PATH         written once every mark is in place\n"
	       "      --stats-file PATH       counters, written at exit and on SIGUSR1\n"
	       "  -l, --log-level LEVEL       err|warning|notice|info|debug [info]\n"
	       "  -v, --verbose               same as --log-level debug (a line per verdict)\n"
	       "  -h, --help                  this help\n"
	       "      --version               print the version\n\n"
	       "Signals: SIGTERM/SIGINT stop after answering everything pending;\n"
	       "SIGUSR1 writes the stats file. See fanguardd(8).\n");
}

static int parse_uint(const char *s, const char *what, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return log_error_errno(EINVAL, "Invalid %s '%s' (0..%llu)", what, s,
				       (unsigned long long) max);
	*ret = v;
	return 0;
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
	ARG_PID_FILE,
	ARG_STATS_FILE,
	ARG_VERSION,
};

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{"watch", required_argument, NULL, 'w'},
		{"watch-fs", required_argument, NULL, ARG_WATCH_FS},
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
		{"pid-file", required_argument, NULL, ARG_PID_FILE},
		{"stats-file", required_argument, NULL, ARG_STATS_FILE},
		{"log-level", required_argument, NULL, 'l'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{}};
	struct fanguard_options *o = &arg_opts;
	bool no_exec = false;
	uint64_t v;
	int c, r, verdict = FANGUARD_ALLOW;

	o->events = FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC;
	while ((c = getopt_long(argc, argv, "w:d:x:l:vh", options, NULL)) >= 0) {
		switch (c) {
		case 'w':
		case ARG_WATCH_FS:
			if (arg_n_watch == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many watches");
			arg_watch_fs[arg_n_watch] = c == ARG_WATCH_FS;
			arg_watch[arg_n_watch++] = optarg;
			break;
		case 'd':
			if (arg_n_deny_hashes == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many denylists");
			arg_deny_hashes[arg_n_deny_hashes++] = optarg;
			break;
		case 'x':
			if (arg_n_exclude == MAX_ARGS)
				return log_error_errno(E2BIG, "Too many exclusions");
			if (optarg[0] != '/')
				return log_error_errno(EINVAL, "Exclusion '%s' is not absolute",
						       optarg);
			arg_exclude[arg_n_exclude++] = optarg;
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
			r = parse_uint(optarg, "deadline", 3600 * 1000, &v);
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
			r = parse_uint(optarg, "worker count", 1024, &v);
			if (r < 0)
				return r;
			o->cls[c == ARG_WORKERS ? FANGUARD_MOUNT_LOCAL : FANGUARD_MOUNT_FUSE]
				.n_workers = (uint32_t) v;
			break;
		case ARG_MAX_SCAN:
			r = parse_uint(optarg, "size", UINT64_MAX, &v);
			if (r < 0)
				return r;
			o->max_scan_bytes = v;
			break;
		case ARG_QUEUE_LEN:
			r = parse_uint(optarg, "queue length", 1u << 24, &v);
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
			log_set_max_level(r);
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
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
	if (arg_n_watch == 0)
		return log_error_errno(EINVAL, "Nothing to watch: give --watch PATH");
	o->log_max_priority = log_get_max_level();
	return 1;
}

static void on_log(void *userdata, int prio, const char *msg)
{
	log_full_errno(prio, 0, "%s", msg);
}

static void on_verdict(void *userdata, const struct fanguard_verdict_info *v)
{
	char f_verdict[32], f_path[4200], f_pid[32], f_class[32], f_reason[48], f_lat[48];
	const char *fields[] = {f_verdict, f_path, f_pid, f_class, f_reason, f_lat, NULL};
	const char *verdict = v->verdict == FANGUARD_DENY ? "deny" : "allow";

	(void) snprintf(f_verdict, sizeof(f_verdict), "FANGUARD_VERDICT=%s", verdict);
	(void) snprintf(f_path, sizeof(f_path), "FANGUARD_PATH=%s", v->path);
	(void) snprintf(f_pid, sizeof(f_pid), "FANGUARD_PID=%d", (int) v->pid);
	(void) snprintf(f_class, sizeof(f_class), "FANGUARD_MOUNT_CLASS=%s",
			fanguard_mount_class_to_string(v->mount_class));
	(void) snprintf(f_reason, sizeof(f_reason), "FANGUARD_REASON=%s",
			fanguard_reason_to_string(v->reason));
	(void) snprintf(f_lat, sizeof(f_lat), "FANGUARD_LATENCY_USEC=%llu",
			(unsigned long long) v->latency_usec);
	log_struct_internal(v->verdict == FANGUARD_DENY ? LOG_NOTICE : LOG_DEBUG, 0, fields,
			    "%s pid=%d path=%s class=%s reason=%s%s%s%s%s latency_us=%llu", verdict,
			    (int) v->pid, v->path, fanguard_mount_class_to_string(v->mount_class),
			    fanguard_reason_to_string(v->reason), v->scanner[0] ? " scanner=" : "",
			    v->scanner, v->detail[0] ? " detail=" : "", v->detail,
			    (unsigned long long) v->latency_usec);
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
	r = write_file_atomic(arg_stats_file, buf);
	if (r < 0)
		log_warning_errno(r, "Failed to write '%s', ignoring: %m", arg_stats_file);
}

static int run(struct fanguard *fg)
{
	_cleanup_close_ int sfd = -EBADF;
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

	for (size_t i = 0; i < arg_n_deny_hashes; i++) {
		unsigned line = 0;

		r = fanguard_deny_sha256_file(fg, arg_deny_hashes[i], &line);
		if (r == -EBADMSG)
			return log_error_errno(r, "%s:%u: not a SHA-256 hex digest",
					       arg_deny_hashes[i], line);
		if (r < 0)
			return log_error_errno(r, "Failed to load denylist '%s': %m",
					       arg_deny_hashes[i]);
		log_info("Loaded %d digests from '%s'", r, arg_deny_hashes[i]);
	}
	for (size_t i = 0; i < arg_n_exclude; i++) {
		r = fanguard_exclude_path(fg, arg_exclude[i]);
		if (r < 0)
			return log_error_errno(r, "Failed to exclude '%s': %m", arg_exclude[i]);
	}
	r = fanguard_start(fg);
	if (r < 0)
		return log_error_errno(r, "Failed to start: %m");
	for (size_t i = 0; i < arg_n_watch; i++) {
		r = fanguard_watch(fg, arg_watch[i],
				   arg_watch_fs[i] ? FANGUARD_WATCH_FILESYSTEM : 0);
		if (r < 0)
			return log_error_errno(r, "Failed to watch '%s': %m", arg_watch[i]);
	}
	if (arg_pid_file) {
		char pid[32];

		(void) snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
		r = write_file_atomic(arg_pid_file, pid);
		if (r < 0)
			return log_error_errno(r, "Failed to write '%s': %m", arg_pid_file);
	}
#if HAVE_LIBSYSTEMD
	(void) sd_notify(0, "READY=1\nSTATUS=Watching");
#endif
	log_info("Ready: %zu watches", arg_n_watch);

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
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
			log_info("SIGHUP: reload is not implemented yet, ignoring");
			break;
		default:
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct fanguard *fg = NULL;
	struct rlimit rl;
	sigset_t mask;
	int r, rr;

	log_set_ident("fanguardd");
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

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
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
