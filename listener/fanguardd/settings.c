/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd's settings table and the code it drives: getopt, fanguard.conf
 * (through conffile.c), --help, and the field-wise compare and copy a reload
 * needs. A new option is one row here (and its lines in the man pages).
 * Never touches the library or the running daemon. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "conffile.h"
#include "log-json.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "sandbox.h"
#include "settings.h"

#define N_CLASSES _FANGUARD_MOUNT_CLASS_MAX
#define DEFAULT_CONTROL_SOCKET "/run/fanguard/control"
#define CLASS(f, c) (offsetof(struct settings, f) + (c) * sizeof(((struct settings *) 0)->f[0]))
#define ALL(f) .offset = offsetof(struct settings, f), .n = N_CLASSES
#define AT(f) .offset = offsetof(struct settings, f)
#define DEADLINE .type = SETTING_UINT32, .min = 1, .max = 3600 * 1000
#define WORKERS .type = SETTING_UINT32, .min = 0, .max = 1024
#define VERDICT .type = SETTING_ENUM, .parse = parse_verdict, .choices = "allow, deny"

static int parse_user_exec(const char *s)
{
	if (strcmp(s, "scan") == 0)
		return FANGUARD_FUSE_USER_EXEC_SCAN;
	if (strcmp(s, "deny") == 0)
		return FANGUARD_FUSE_USER_EXEC_DENY;
	return -EINVAL;
}

static int parse_event_mask(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return FANGUARD_FUSE_EVENT_MASK_AUTO;
	if (strcmp(s, "open") == 0)
		return FANGUARD_FUSE_EVENT_MASK_OPEN;
	if (strcmp(s, "access") == 0)
		return FANGUARD_FUSE_EVENT_MASK_ACCESS;
	return -EINVAL;
}

static int parse_on_uncovered(const char *s)
{
	if (strcmp(s, "warn") == 0)
		return ON_UNCOVERED_WARN;
	if (strcmp(s, "fail") == 0)
		return ON_UNCOVERED_FAIL;
	return -EINVAL;
}

static int parse_verdict(const char *s)
{
	if (strcmp(s, "allow") == 0)
		return FANGUARD_ALLOW;
	if (strcmp(s, "deny") == 0)
		return FANGUARD_DENY;
	return -EINVAL;
}

/* Order: as --help lists them. */
const struct setting settings_table[] = {
	{"watch", 'w', "PATH", "Watch", "Path", SETTING_LIST, AT(watch), .flags = SETTING_RELOAD,
	 .help = "watch the filesystem holding PATH: every mount\nof it (repeatable)"},
	{"watch-mount", 0, "PATH", "Watch", "Mount", SETTING_LIST, AT(watch_mount),
	 .flags = SETTING_RELOAD, .help = "watch only the mount holding PATH (repeatable)"},
	{"watch-fs", 0, "PATH", "Watch", "Filesystem", SETTING_LIST, AT(watch_fs),
	 .flags = SETTING_RELOAD, .help = "the same as --watch (repeatable)"},
	{"watch-root-fs", 0, NULL, "Watch", "RootFilesystem", SETTING_FLAG, AT(watch_root_fs),
	 .help = "allow watching the filesystem of \"/\" (refused\notherwise: every process "
		 "would wait on us)"},
	{"watch-tree", 0, "PATH", "Watch", "Tree", SETTING_LIST, AT(watch_tree),
	 .flags = SETTING_RELOAD,
	 .help = "watch PATH's mount and every mount below it, also\nthose mounted later "
		 "(repeatable)"},
	{"scan-through-loopback", 0, NULL, "Watch", "ScanThroughLoopback", SETTING_FLAG,
	 AT(scan_through_loopback),
	 .help = "deprecated, ignored: every FUSE mount is read\nthrough its daemon"},
	{"scan-at-backing", 0, "MOUNTPOINT", "Watch", "ScanAtBacking", SETTING_LIST,
	 AT(scan_at_backing), .flags = SETTING_ABSOLUTE,
	 .help = "scan this root-owned passthrough FUSE mount\n(bindfs-like) at its backing "
		 "layer instead of\nreading through its daemon (repeatable; risky)"},
	{"fuse-user-exec", 0, "P", "FUSE", "UserExec", SETTING_ENUM, AT(fuse_user_exec),
	 .parse = parse_user_exec, .choices = "scan, deny",
	 .help = "scan|deny execs from FUSE mounts of users\n(daemon not root) [scan]"},
	{"fuse-event-mask", 0, "M", "FUSE", "EventMask", SETTING_ENUM, AT(fuse_event_mask),
	 .parse = parse_event_mask, .choices = "auto, open, access",
	 .help = "auto|open|access: FUSE mounts are checked at open\n(and exec), or at the first "
		 "read() and exec;\nauto switches a mount whose daemon refuses our\nopens [auto]"},
	{"fuse-event-mask-open", 0, "MOUNTPOINT", "FUSE", "EventMaskOpen", SETTING_LIST,
	 AT(fuse_event_mask_open), .flags = SETTING_ABSOLUTE,
	 .help = "check this FUSE mount at open, never switch it\n(repeatable)"},
	{"fuse-event-mask-access", 0, "MOUNTPOINT", "FUSE", "EventMaskAccess", SETTING_LIST,
	 AT(fuse_event_mask_access), .flags = SETTING_ABSOLUTE,
	 .help = "check this FUSE mount at the first read() and exec\n(repeatable)"},
	{"fuse-allow-sys-admin-access", 0, NULL, "FUSE", "AllowSysAdminAccess", SETTING_FLAG,
	 AT(fuse_allow_sys_admin_access),
	 .help = "turn on the fuse module's allow_sys_admin_access\nat start, so users' "
		 "private FUSE mounts can be\nscanned (root may then enter them)"},
	{"watch-all-fuse", 0, NULL, "Watch", "AllFuse", SETTING_FLAG, AT(watch_all_fuse),
	 .help = "watch every FUSE filesystem in every mount namespace\n(polled every 500 ms; "
		 "users' need allow_sys_admin_access)"},
	{"on-uncovered", 0, "P", "Watch", "OnUncovered", SETTING_ENUM, AT(on_uncovered),
	 .parse = parse_on_uncovered, .choices = "warn, fail",
	 .help = "warn|fail when a watched mount cannot be marked:\nfail exits at start, is "
		 "unhealthy later [warn]"},
	{"max-groups", 0, "N", "Watch", "MaxGroups", SETTING_UINT32, AT(max_groups), .min = 2,
	 .max = 1u << 20,
	 .help = "fanotify groups to use at most; beyond, FUSE mounts\nshare a group per "
		 "nesting depth [fs.fanotify.max_user_groups\nless max(8, 1/8)]"},
	{"max-threads", 0, "N", "Watch", "MaxThreads", SETTING_UINT32, AT(max_threads), .min = 4,
	 .max = 65536,
	 .help = "threads to run at most; a FUSE or network mount\nwhose group would not fit "
		 "is uncovered [512]"},
	{"deny-hashes", 'd', "FILE", "Scan", "DenyHashes", SETTING_LIST, AT(deny_hashes),
	 .flags = SETTING_RELOAD, .help = "SHA-256 denylist: hex digest per line (repeatable)"},
	{"allow-hashes", 0, "FILE", "Scan", "AllowHashes", SETTING_LIST, AT(allow_hashes),
	 .flags = SETTING_RELOAD,
	 .help = "SHA-256 allowlist: files with these digests are\nallowed whatever a scanner "
		 "says (repeatable)"},
	{"default-verdict", 0, "V", "Scan", "DefaultVerdict", VERDICT, ALL(default_verdict),
	 .help = "allow|deny on deadline, error, shutdown [allow]"},
	{"on-deadline", 0, "V", "Scan", "OnDeadline", VERDICT, ALL(on_deadline),
	 .help = "allow|deny when the deadline passes [default-verdict]"},
	{"on-queue-full", 0, "V", "Scan", "OnQueueFull", VERDICT, ALL(on_queue_full),
	 .help = "allow|deny when the queue, or the subject uid's\nshare of it, is full "
		 "[default-verdict]"},
	{"deadline-ms", 0, "N", "Scan", "DeadlineMs", DEADLINE, ALL(deadline_ms),
	 .help = "deadline for every mount class"},
	{"local-deadline-ms", 0, "N", "Local", "DeadlineMs", DEADLINE,
	 .offset = CLASS(deadline_ms, FANGUARD_MOUNT_LOCAL), .help = "local mounts [5000]"},
	{"fuse-deadline-ms", 0, "N", "FUSE", "DeadlineMs", DEADLINE,
	 .offset = CLASS(deadline_ms, FANGUARD_MOUNT_FUSE),
	 .help = "each FUSE-backed mount [1500]"},
	{"network-deadline-ms", 0, "N", "Network", "DeadlineMs", DEADLINE,
	 .offset = CLASS(deadline_ms, FANGUARD_MOUNT_NETWORK), .help = "each network mount [3000]"},
	{"workers", 0, "N", "Local", "Workers", WORKERS,
	 .offset = CLASS(workers, FANGUARD_MOUNT_LOCAL),
	 .help = "scanning threads for local mounts [CPUs]"},
	{"fuse-workers", 0, "N", "FUSE", "Workers", WORKERS,
	 .offset = CLASS(workers, FANGUARD_MOUNT_FUSE),
	 .help = "scanning threads per FUSE mount [2]"},
	{"network-workers", 0, "N", "Network", "Workers", WORKERS,
	 .offset = CLASS(workers, FANGUARD_MOUNT_NETWORK),
	 .help = "scanning threads per network mount [2]"},
	{"local-default-verdict", 0, "V", "Local", "DefaultVerdict", VERDICT,
	 .offset = CLASS(default_verdict, FANGUARD_MOUNT_LOCAL),
	 .help = "the default verdict of local mounts"},
	{"fuse-default-verdict", 0, "V", "FUSE", "DefaultVerdict", VERDICT,
	 .offset = CLASS(default_verdict, FANGUARD_MOUNT_FUSE),
	 .help = "the default verdict of FUSE-backed mounts"},
	{"network-default-verdict", 0, "V", "Network", "DefaultVerdict", VERDICT,
	 .offset = CLASS(default_verdict, FANGUARD_MOUNT_NETWORK),
	 .help = "the default verdict of network mounts"},
	{"max-scan-bytes", 0, "N", "Scan", "MaxScanBytes", SETTING_UINT64, AT(max_scan_bytes),
	 .max = UINT64_MAX, .help = "larger files get the default verdict [256 MiB]"},
	{"queue-len", 0, "N", "Scan", "QueueLen", SETTING_UINT32, ALL(queue_len), .min = 1,
	 .max = 1u << 24,
	 .help = "events queued per group before the default\nverdict is given at once [local "
		 "4096, others 1024]"},
	{"clamd-socket", 0, "PATH", "Scan", "ClamdSocket", SETTING_LIST, AT(clamd),
	 .flags = SETTING_ABSOLUTE, .help = "scan with a local clamd, fd passed (repeatable)"},
	{"clamd-tcp", 0, "HOST:PORT", "Scan", "ClamdTcp", SETTING_LIST, AT(clamd),
	 .help = "scan with a remote clamd, INSTREAM (repeatable;\nall clamd endpoints are "
		 "tried in order)"},
	{"yara-rules", 0, "FILE", "Scan", "YaraRules", SETTING_STRING, AT(yara_rules),
	 .flags = SETTING_RELOAD, .help = "scan with these YARA rules"},
	{"exclude", 'x', "PREFIX", "Watch", "Exclude", SETTING_LIST, AT(exclude),
	 .flags = SETTING_RELOAD | SETTING_ABSOLUTE,
	 .help = "never scan files under PREFIX (repeatable)"},
	{"exclude-uid", 0, "UID", "Watch", "ExcludeUid", SETTING_UIDS, AT(exclude_uid),
	 /* (uid_t) -1 is no uid (setresuid()'s "unchanged"). */
	 .max = (uid_t) -1 - 1, .flags = SETTING_RELOAD,
	 .help = "never scan accesses by processes of this\neffective uid (repeatable)"},
	{"exclude-exe", 0, "PATH[:UID]", "Watch", "ExcludeExe", SETTING_LIST, AT(exclude_exe),
	 .flags = SETTING_RELOAD | SETTING_ABSOLUTE,
	 .help = "never scan accesses by processes running this\nexecutable (its device and "
		 "inode) as UID [0];\n'*': any uid (repeatable)"},
	{"access", 0, NULL, "Events", "Access", SETTING_FLAG, AT(access),
	 .help = "also check reads (FAN_ACCESS_PERM): costly"},
	{"no-exec", 0, NULL, "Events", "Exec", SETTING_FLAG, AT(no_exec),
	 .flags = SETTING_INVERT_KEY, .help = "do not check execs (FAN_OPEN_EXEC_PERM)"},
	{"no-cache", 0, NULL, "Cache", "Enabled", SETTING_FLAG, AT(no_cache),
	 .flags = SETTING_INVERT_KEY,
	 .help = "never cache clean verdicts (in-kernel ignore marks)"},
	{"cache-max-marks", 0, "N", "Cache", "MaxMarks", SETTING_UINT32, AT(max_cache_marks),
	 .min = 1, .max = UINT32_MAX,
	 .help = "clean verdicts cached at once; beyond, the cache\nis emptied [65536]"},
	{"verdict-store", 0, "DIR", "Cache", "VerdictStore", SETTING_STRING, AT(verdict_store),
	 .flags = SETTING_ABSOLUTE,
	 .help = "keep clean verdicts across restarts and reboots\nin this directory (root's, "
		 "0700) [none]"},
	{"verdict-store-max-bytes", 0, "N", "Cache", "VerdictStoreMaxBytes", SETTING_UINT64,
	 AT(verdict_store_max_bytes), .min = 1 << 20, .max = 1ull << 40,
	 .help = "the verdict store's size; when full it is\nemptied [64 MiB]"},
	{"prewarm", 0, "DIR", "Cache", "PreWarm", SETTING_LIST, AT(prewarm),
	 .flags = SETTING_RELOAD | SETTING_ABSOLUTE,
	 .help = "after start, scan DIR's files in the background\n(idle I/O priority) and "
		 "cache the clean ones,\nwithin --cache-max-marks (repeatable) [off]"},
	{"audit", 0, NULL, "Scan", "Audit", SETTING_FLAG, AT(audit),
	 .help = "audit (permissive) mode: log and count what\nwould be denied, and allow it"},
	{"kernel-audit", 0, NULL, "Scan", "KernelAudit", SETTING_FLAG, AT(kernel_audit),
	 .help = "kernel audit records of denies (FAN_AUDIT);\nneeds CAP_AUDIT_WRITE"},
	{"on-deny", 0, "PROGRAM", "Daemon", "OnDeny", SETTING_STRING, AT(on_deny),
	 .flags = SETTING_ABSOLUTE,
	 .help = "run PROGRAM for every deny, the facts in its\nenvironment (FANGUARD_PATH, "
		 "FANGUARD_SHA256...)"},
	{"on-deny-timeout-ms", 0, "N", "Daemon", "OnDenyTimeoutMs", SETTING_UINT32,
	 AT(on_deny_timeout_ms), .min = 1, .max = 3600 * 1000,
	 .help = "kill the on-deny program after N ms [10000]"},
	{"on-deny-per-minute", 0, "N", "Daemon", "OnDenyPerMinute", SETTING_UINT32,
	 AT(on_deny_per_minute), .min = 1, .max = 1000000,
	 .help = "run it at most N times a minute [60]"},
	{"on-deny-user", 0, "USER", "Daemon", "OnDenyUser", SETTING_STRING, AT(on_deny_user),
	 .help = "run it as USER, without capabilities [nobody];\n\"root\" only if named here"},
	{"quarantine", 0, "DIR", "Quarantine", "Directory", SETTING_STRING, AT(quarantine),
	 .flags = SETTING_ABSOLUTE,
	 .help = "copy denied files into DIR (root's, 0700) and\nremove them [off]"},
	{"quarantine-max-bytes", 0, "N", "Quarantine", "MaxBytes", SETTING_UINT64,
	 AT(quarantine_max_bytes), .min = 1, .max = UINT64_MAX,
	 .help = "larger files are not quarantined [64 MiB]"},
	{"quarantine-per-minute", 0, "N", "Quarantine", "PerMinute", SETTING_UINT32,
	 AT(quarantine_per_minute), .min = 1, .max = 1000000,
	 .help = "quarantine at most N files a minute [60]"},
	{"quarantine-min-free-bytes", 0, "N", "Quarantine", "MinFreeBytes", SETTING_UINT64,
	 AT(quarantine_min_free_bytes), .min = 1, .max = UINT64_MAX,
	 .help = "keep this much free in DIR's filesystem\n[128 MiB]"},
	{"pid-file", 0, "PATH", "Daemon", "PidFile", SETTING_STRING, AT(pid_file),
	 .help = "written once every mark is in place"},
	{"stats-file", 0, "PATH", "Daemon", "StatsFile", SETTING_STRING, AT(stats_file),
	 .help = "counters, written at exit and on SIGUSR1"},
	{"config", 'c', "FILE", NULL, NULL, SETTING_STRING, AT(config), .flags = SETTING_NO_FILE,
	 .help = "read fanguard.conf(5) first; options given here\noverride its settings or add "
		 "to its lists"},
	{"control-socket", 0, "PATH", "Daemon", "ControlSocket", SETTING_STRING, AT(control_socket),
	 .flags = SETTING_ABSOLUTE | SETTING_EMPTY_OK,
	 .help = "serve fanguardctl(8) here (\"\" for none)\n[" DEFAULT_CONTROL_SOCKET
		 " with --config, else none]"},
	{"seccomp", 0, "MODE", "Daemon", "Seccomp", SETTING_ENUM, AT(seccomp),
	 .parse = seccomp_mode_from_string, .choices = "kill, errno, log, off",
	 .help = "kill|errno|log|off: syscalls outside the\nallow-list after init [kill]"},
	{"landlock", 0, NULL, "Daemon", "Landlock", SETTING_FLAG, AT(landlock),
	 .help = "confine file writes, TCP connects and abstract\nsockets with Landlock (costs: "
		 "see fanguardd(8))"},
	{"log-level", 'l', "LEVEL", "Daemon", "LogLevel", SETTING_ENUM, AT(log_level),
	 .parse = log_level_from_string, .choices = "err, warning, notice, info, debug",
	 .help = "err|warning|notice|info|debug [info]"},
	{"log-format", 0, "FORMAT", "Daemon", "LogFormat", SETTING_ENUM, AT(log_format),
	 .parse = log_format_from_string, .choices = "text, json",
	 .help = "text|json: json writes one JSON object per line\nto stderr, for SIEMs [text]"},
	{"verbose", 'v', NULL, NULL, NULL, SETTING_SET, AT(log_level), .min = LOG_DEBUG,
	 .help = "same as --log-level debug (a line per verdict)"},
	{"check-config", 0, NULL, NULL, NULL, SETTING_ACTION, .min = SETTINGS_CHECK,
	 .help = "check the configuration file and the command line,\nprint what is wrong and "
		 "exit (0: valid)"},
	{"help", 'h', NULL, NULL, NULL, SETTING_ACTION, .min = SETTINGS_HELP, .help = "this help"},
	{"version", 0, NULL, NULL, NULL, SETTING_ACTION, .min = SETTINGS_VERSION,
	 .help = "print the version"},
	{}};

#define N_SETTINGS (ELEMENTSOF(settings_table) - 1)

static void *field(const struct settings *s, const struct setting *e)
{
	return (char *) s + e->offset;
}

static unsigned slots(const struct setting *e)
{
	return e->n ? e->n : 1;
}

struct settings *settings_new(void)
{
	struct settings *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->seccomp = FG_SECCOMP_KILL;
	s->log_level = LOG_INFO;
	return s;
}

static void list_done(struct setting_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	*l = (struct setting_list){};
}

struct settings *settings_free(struct settings *s)
{
	if (!s)
		return NULL;
	/* Every owned pointer is in a row; rows may share a field (clamd). */
	for (const struct setting *e = settings_table; e->name; e++) {
		if (e->type == SETTING_LIST)
			list_done(field(s, e));
		else if (e->type == SETTING_UIDS) {
			struct setting_uids *u = field(s, e);

			free(u->items);
			*u = (struct setting_uids){};
		} else if (e->type == SETTING_STRING) {
			char **p = field(s, e);

			free(*p);
			*p = NULL;
		}
	}
	free(s);
	return NULL;
}

static int errf(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int list_append(struct setting_list *l, const char *v)
{
	char **n, *c = strdup(v);

	if (!c)
		return -ENOMEM;
	n = reallocarray(l->items, l->n + 1, sizeof(*n));
	if (!n) {
		free(c);
		return -ENOMEM;
	}
	l->items = n;
	l->items[l->n++] = c;
	return 0;
}

int settings_set(struct settings *s, const struct setting *e, const char *value, bool from_file,
		 char *err, size_t errlen)
{
	void *p = field(s, e);
	uint64_t v;
	int r;

	assert(s && e && err);
	err[0] = '\0';
	if (e->type == SETTING_FLAG) {
		bool b = true;

		if (from_file) {
			if (config_parse_bool(value, &b) < 0)
				return errf(err, errlen, "not a boolean (yes or no)");
			if (e->flags & SETTING_INVERT_KEY)
				b = !b;
		}
		*(bool *) p = b;
		return 0;
	}
	if (e->type == SETTING_SET) {
		*(int *) p = (int) e->min;
		return 0;
	}
	if (e->type == SETTING_ACTION)
		return errf(err, errlen, "not a setting");
	assert(value);
	if (value[0] == '\0' && !(e->flags & SETTING_EMPTY_OK))
		return errf(err, errlen, "needs a value");
	if ((e->flags & SETTING_ABSOLUTE) && value[0] != '\0' && value[0] != '/')
		return errf(err, errlen, "'%s' is not an absolute path", value);

	switch (e->type) {
	case SETTING_UINT32:
	case SETTING_UINT64:
	case SETTING_UIDS:
		r = parse_u64(value, e->max, &v);
		if (r == -EINVAL)
			return errf(err, errlen, "'%s' is not a decimal number", value);
		if (r < 0 || v < e->min)
			return errf(err, errlen, "%s is out of range %llu..%llu", value,
				    (unsigned long long) e->min, (unsigned long long) e->max);
		if (e->type == SETTING_UINT64)
			*(uint64_t *) p = v;
		else if (e->type == SETTING_UINT32)
			for (unsigned i = 0; i < slots(e); i++)
				((uint32_t *) p)[i] = (uint32_t) v;
		else {
			struct setting_uids *u = p;
			uid_t *n = reallocarray(u->items, u->n + 1, sizeof(*n));

			if (!n)
				return -ENOMEM;
			u->items = n;
			u->items[u->n++] = (uid_t) v;
		}
		return 0;
	case SETTING_ENUM:
		r = e->parse(value);
		if (r < 0)
			return errf(err, errlen, "'%s' is not one of %s", value, e->choices);
		for (unsigned i = 0; i < slots(e); i++)
			((int *) p)[i] = r;
		return 0;
	case SETTING_STRING: {
		char *c = strdup(value);

		if (!c)
			return -ENOMEM;
		free(*(char **) p);
		*(char **) p = c;
		return 0;
	}
	case SETTING_LIST:
		return list_append(p, value);
	default:
		return errf(err, errlen, "not a setting");
	}
}

/* --- the command line ------------------------------------------------------ */

#define OPTION_BASE 0x100

int settings_error(char *err, size_t errlen, int r, const char *fmt, ...)
{
	char line[1400];
	va_list ap;

	assert(r < 0);
	va_start(ap, fmt);
	(void) vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (err && errlen > 0)
		(void) snprintf(err, errlen, "%s", line);
	return log_error_errno(r, "%s", line);
}

static int parse_argv(struct settings *s, int argc, char **argv, enum settings_action *action,
		      char *errbuf, size_t errlen)
{
	struct option options[N_SETTINGS + 1] = {};
	char shortopts[2 * N_SETTINGS + 1] = "", *sp = shortopts;
	const struct setting *e;
	char err[256];
	int c, r;

	for (size_t i = 0; i < N_SETTINGS; i++) {
		e = &settings_table[i];
		options[i] = (struct option){e->name, e->metavar ? required_argument : no_argument,
					     NULL, OPTION_BASE + (int) i};
		if (e->short_name) {
			*sp++ = e->short_name;
			if (e->metavar)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	optind = 0; /* afresh: the daemon parses again on every reload */
	while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
		e = NULL;
		if (c >= OPTION_BASE && c < OPTION_BASE + (int) N_SETTINGS)
			e = &settings_table[c - OPTION_BASE];
		else
			for (size_t i = 0; i < N_SETTINGS && !e; i++)
				if (c != 0 && settings_table[i].short_name == c)
					e = &settings_table[i];
		if (!e) /* getopt printed why */
			return settings_error(errbuf, errlen, -EINVAL, "Invalid option '%s'",
					      argv[optind - 1]);
		if (e->type == SETTING_ACTION) {
			/* The first wins: "--check-config --help" helps. */
			if (*action == SETTINGS_RUN)
				*action = (enum settings_action) e->min;
			continue;
		}
		r = settings_set(s, e, optarg, false, err, sizeof(err));
		if (r == -ENOMEM)
			return settings_error(errbuf, errlen, r, "Out of memory");
		if (r < 0)
			return settings_error(errbuf, errlen, r, "--%s: %s", e->name, err);
	}
	if (optind < argc)
		return settings_error(errbuf, errlen, -EINVAL, "Unexpected argument '%s'",
				      argv[optind]);
	return 0;
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
		else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0')
			found = argv[i] + 2;
	}
	return found;
}

static int file_apply(void *userdata, const struct setting *e, const char *value, char *err,
		      size_t errlen)
{
	return settings_set(userdata, e, value, true, err, errlen);
}

int settings_load(struct settings *s, int argc, char **argv, enum settings_action *ret_action,
		  char *err, size_t errlen)
{
	enum settings_action action = SETTINGS_RUN;
	const char *config = find_config(argc, argv);
	int r;

	if (config) {
		r = config_parse_file(config, settings_table, file_apply, s, err, errlen);
		if (r < 0)
			return r;
	}
	r = parse_argv(s, argc, argv, &action, err, errlen);
	if (r < 0)
		return r;
	*ret_action = action;
	if (action == SETTINGS_HELP || action == SETTINGS_VERSION)
		return 0;
	if (s->watch.n + s->watch_mount.n + s->watch_fs.n + s->watch_tree.n == 0)
		return settings_error(err, errlen, -EINVAL, "Nothing to watch: give --watch PATH%s",
				      config ? " or [Watch] Path=" : "");
	if (!s->control_socket && s->config) {
		s->control_socket = strdup(DEFAULT_CONTROL_SOCKET);
		if (!s->control_socket)
			return settings_error(err, errlen, -ENOMEM, "Out of memory");
	}
	if (s->control_socket && s->control_socket[0] == '\0') {
		free(s->control_socket);
		s->control_socket = NULL;
	}
	return 0;
}

/* --- --help ---------------------------------------------------------------- */

void settings_help(FILE *f)
{
	fputs("Usage: fanguardd [OPTIONS] --watch PATH...\n"
	      "Answer fanotify permission events for the watched mounts, denying files\n"
	      "whose SHA-256 is denylisted, within a deadline, never blocked by FUSE.\n\n",
	      f);
	for (const struct setting *e = settings_table; e->name; e++) {
		char head[64];
		int n;

		n = snprintf(head, sizeof(head), "  %c%c%s--%s%s%s", e->short_name ? '-' : ' ',
			     e->short_name ? e->short_name : ' ', e->short_name ? ", " : "  ",
			     e->name, e->metavar ? " " : "", e->metavar ? e->metavar : "");
		fputs(head, f);
		/* The help column starts at 30; a longer head gets a line of its own. */
		for (const char *h = e->help; h;) {
			const char *nl = strchr(h, '\n');
			int len = nl ? (int) (nl - h) : (int) strlen(h);

			if (n >= 30) {
				fputc('\n', f);
				n = 0;
			}
			fprintf(f, "%*s%.*s\n", 30 - n, "", len, h);
			n = 0;
			h = nl ? nl + 1 : NULL;
		}
	}
	fputs("\nSignals: SIGTERM/SIGINT stop after answering everything pending;\n"
	      "SIGUSR1 writes the stats file; SIGHUP reloads the configuration.\n"
	      "See fanguardd(8), fanguard.conf(5), fanguardctl(8).\n",
	      f);
}

/* --- into the library's options; compare and copy for reload --------------- */

void settings_to_options(const struct settings *s, struct fanguard_options *o)
{
	o->size = sizeof(*o);
	o->events = FANGUARD_EVENT_OPEN | FANGUARD_EVENT_EXEC;
	if (s->access)
		o->events |= FANGUARD_EVENT_ACCESS;
	if (s->no_exec)
		o->events &= ~FANGUARD_EVENT_EXEC;
	o->max_scan_bytes = s->max_scan_bytes;
	o->no_cache = s->no_cache;
	o->fuse_user_exec = (uint32_t) s->fuse_user_exec;
	o->audit = s->audit;
	o->kernel_audit = s->kernel_audit;
	if (s->watch_all_fuse)
		o->watch_all_fuse_ms = 500;
	o->log_max_priority = s->log_level;
	o->max_groups = s->max_groups;
	o->max_threads = s->max_threads;
	o->max_cache_marks = s->max_cache_marks;
}

void settings_to_class_options(const struct settings *s, int cls, struct fanguard_class_options *o)
{
	assert(cls >= 0 && cls < N_CLASSES);
	*o = (struct fanguard_class_options){
		.size = sizeof(*o),
		.deadline_ms = s->deadline_ms[cls],
		.default_verdict = s->default_verdict[cls],
		.on_deadline = s->on_deadline[cls],
		.on_queue_full = s->on_queue_full[cls],
		.n_workers = s->workers[cls],
		.queue_len = s->queue_len[cls],
	};
}

static size_t value_size(const struct setting *e)
{
	switch (e->type) {
	case SETTING_FLAG:
		return sizeof(bool);
	case SETTING_SET:
	case SETTING_ENUM:
		return slots(e) * sizeof(int);
	case SETTING_UINT32:
		return slots(e) * sizeof(uint32_t);
	case SETTING_UINT64:
		return sizeof(uint64_t);
	default:
		return 0;
	}
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool settings_same(const struct settings *a, const struct settings *b, const struct setting *e)
{
	switch (e->type) {
	case SETTING_ACTION:
		return true;
	case SETTING_STRING:
		return str_same(*(char **) field(a, e), *(char **) field(b, e));
	case SETTING_LIST: {
		const struct setting_list *x = field(a, e), *y = field(b, e);

		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->items[i], y->items[i]) != 0)
				return false;
		return true;
	}
	case SETTING_UIDS: {
		const struct setting_uids *x = field(a, e), *y = field(b, e);

		return x->n == y->n &&
		       (x->n == 0 || memcmp(x->items, y->items, x->n * sizeof(uid_t)) == 0);
	}
	default:
		return memcmp(field(a, e), field(b, e), value_size(e)) == 0;
	}
}

int settings_copy(struct settings *dst, const struct settings *src, const struct setting *e)
{
	switch (e->type) {
	case SETTING_ACTION:
		return 0;
	case SETTING_STRING: {
		char **d = field(dst, e);
		const char *v = *(char **) field(src, e);
		char *c = NULL;

		if (v && !(c = strdup(v)))
			return -ENOMEM;
		free(*d);
		*d = c;
		return 0;
	}
	case SETTING_LIST: {
		const struct setting_list *from = field(src, e);
		struct setting_list l = {};

		for (size_t i = 0; i < from->n; i++)
			if (list_append(&l, from->items[i]) < 0) {
				list_done(&l);
				return -ENOMEM;
			}
		list_done(field(dst, e));
		*(struct setting_list *) field(dst, e) = l;
		return 0;
	}
	case SETTING_UIDS: {
		const struct setting_uids *from = field(src, e);
		struct setting_uids *to = field(dst, e);
		uid_t *c = NULL;

		if (from->n > 0) {
			c = reallocarray(NULL, from->n, sizeof(uid_t));
			if (!c)
				return -ENOMEM;
			memcpy(c, from->items, from->n * sizeof(uid_t));
		}
		free(to->items);
		*to = (struct setting_uids){c, from->n};
		return 0;
	}
	default:
		memcpy(field(dst, e), field(src, e), value_size(e));
		return 0;
	}
}
