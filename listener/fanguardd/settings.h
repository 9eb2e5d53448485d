/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's settings: one typed table (settings_table[]) drives getopt,
 * fanguard.conf(5), --help, --check-config and reload. A setting is parsed
 * into a struct settings that owns all its strings; a reload parses into a
 * fresh one and swaps it in whole, so a bad reload leaves the running one
 * untouched. Never touches the library: settings_to_options() only fills a
 * struct fanguard_options for the caller. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "fanguard.h"

struct setting_list {
	char **items;
	size_t n;
};

struct setting_uids {
	uid_t *items;
	size_t n;
};

struct settings {
	struct setting_list watch;	     /* --watch: the filesystem holding PATH */
	struct setting_list watch_mount;     /* --watch-mount: only the mount holding PATH */
	struct setting_list watch_fs;	     /* --watch-fs: the same as --watch */
	struct setting_list watch_tree;	     /* --watch-tree: and every mount below */
	struct setting_list scan_at_backing; /* FUSE mount points scanned at the backing */
	struct setting_list exclude;	     /* path prefixes */
	struct setting_uids exclude_uid;
	struct setting_list exclude_exe;
	struct setting_list deny_hashes;
	struct setting_list allow_hashes; /* override a scanner's false positive */
	struct setting_list clamd;	  /* socket paths and host:port, tried in order */
	char *yara_rules;
	char *pid_file;
	char *on_deny; /* --on-deny: a program, never a shell string */
	uint32_t on_deny_timeout_ms, on_deny_per_minute;
	char *on_deny_user; /* --on-deny-user: NULL for "nobody" */
	char *quarantine;   /* --quarantine: a root-only directory, or NULL */
	uint64_t quarantine_max_bytes, quarantine_min_free_bytes; /* 0: defaults */
	uint32_t quarantine_per_minute;
	char *stats_file;
	char *control_socket;		  /* after settings_load(): NULL for none */
	char *config;			  /* --config, as given */
	bool scan_through_loopback;	  /* deprecated: the default, ignored */
	bool watch_root_fs;		  /* FANGUARD_WATCH_ROOT_FS for every watch */
	bool fuse_allow_sys_admin_access; /* turn the fuse module's switch on at start */
	int fuse_user_exec;		  /* FANGUARD_FUSE_USER_EXEC_* */
	int fuse_event_mask;		  /* FANGUARD_FUSE_EVENT_MASK_*: the default */
	struct setting_list fuse_event_mask_open, fuse_event_mask_access; /* per mount */
	bool watch_all_fuse; /* FUSE in every mount namespace (polled) */
	bool access;
	bool no_exec;
	bool no_cache;
	bool audit;	   /* --audit: deny nothing, log what would be denied */
	bool kernel_audit; /* --kernel-audit: FAN_ENABLE_AUDIT, FAN_AUDIT */
	/* Per mount class (FANGUARD_MOUNT_*); 0 is the library's default. */
	uint32_t deadline_ms[_FANGUARD_MOUNT_CLASS_MAX];
	int default_verdict[_FANGUARD_MOUNT_CLASS_MAX];
	int on_deadline[_FANGUARD_MOUNT_CLASS_MAX];
	int on_queue_full[_FANGUARD_MOUNT_CLASS_MAX];
	uint32_t workers[_FANGUARD_MOUNT_CLASS_MAX];
	uint32_t queue_len[_FANGUARD_MOUNT_CLASS_MAX];
	uint64_t max_scan_bytes;
	uint32_t max_groups;		  /* 0: the library's default (from the sysctl) */
	uint32_t max_threads;		  /* 0: the library's default */
	uint32_t max_cache_marks;	  /* 0: the library's default */
	char *verdict_store;		  /* --verdict-store: NULL for none */
	uint64_t verdict_store_max_bytes; /* 0: the library's default */
	struct setting_list prewarm;	  /* --prewarm: directories to pre-warm the cache from */
	int on_uncovered;		  /* ON_UNCOVERED_* */
	int seccomp;			  /* FG_SECCOMP_* */
	bool landlock;			  /* --landlock: off by default, see landlock_setup() */
	int log_level;			  /* LOG_* */
	int log_format;			  /* LOG_FORMAT_* (log-json.h) */
};

/* What else happens when a watched mount is uncovered (it is always logged
 * and reported): WARN nothing; FAIL: exit non-zero at start, unhealthy
 * while running. */
enum { ON_UNCOVERED_WARN, ON_UNCOVERED_FAIL };

enum setting_type {
	SETTING_FLAG,	/* bool; no argument; in the file a boolean */
	SETTING_SET,	/* int = .min, no argument (--verbose); not in the file */
	SETTING_UINT32, /* .min...max, into .n slots */
	SETTING_UINT64,
	SETTING_ENUM,	/* int from .parse, into .n slots */
	SETTING_STRING, /* char *, replaced */
	SETTING_LIST,	/* struct setting_list, appended to */
	SETTING_UIDS,	/* struct setting_uids, appended to */
	SETTING_ACTION, /* command line only: --help, --version, --check-config */
};

enum {
	SETTING_RELOAD = 1 << 0,     /* applied on reload; otherwise at the next start */
	SETTING_ABSOLUTE = 1 << 1,   /* strings: must start with '/' */
	SETTING_EMPTY_OK = 1 << 2,   /* strings: "" is a value of its own */
	SETTING_INVERT_KEY = 1 << 3, /* flags: the file's key is the opposite (Exec=no) */
	SETTING_NO_FILE = 1 << 4,    /* command line only (--config) */
};

enum settings_action {
	SETTINGS_RUN,
	SETTINGS_HELP,
	SETTINGS_VERSION,
	SETTINGS_CHECK,
};

struct setting {
	const char *name;    /* long option, without "--" */
	char short_name;     /* or 0 */
	const char *metavar; /* the argument in --help; NULL: takes none */
	const char *section; /* fanguard.conf(5) [Section], or NULL */
	const char *key;     /* its Key= */
	enum setting_type type;
	size_t offset;		     /* into struct settings */
	unsigned n;		     /* consecutive slots set (per-class arrays); 0 means 1 */
	uint64_t min, max;	     /* numbers; SETTING_SET: the value */
	int (*parse)(const char *s); /* SETTING_ENUM: value or -EINVAL */
	const char *choices;	     /* SETTING_ENUM: for the error message */
	unsigned flags;		     /* SETTING_* */
	const char *help;	     /* may hold '\n' for continuation lines */
};

/* Ends with an entry whose name is NULL. */
extern const struct setting settings_table[];

struct settings *settings_new(void);
struct settings *settings_free(struct settings *s); /* NULL-safe, returns NULL */

/* Parses one value of e into s. value is NULL for a flag on the command
 * line; from the file a flag's value is a boolean. On error returns -EINVAL
 * (or -ENOMEM) and writes the reason, without the setting's name, to err. */
int settings_set(struct settings *s, const struct setting *e, const char *value, bool from_file,
		 char *err, size_t errlen);

/* defaults < the file named by --config < the command line. Lists add up,
 * single values are replaced. Logs every error (FILE:LINE: ... for the file)
 * and returns < 0, with the line in err (if not NULL) for the caller to
 * pass on; nothing to watch is an error (not for --help, --version).
 * @param ret_action what the command line asks for (help, version, ...) */
int settings_load(struct settings *s, int argc, char **argv, enum settings_action *ret_action,
		  char *err, size_t errlen);

/* Logs an error line and copies it to err (if not NULL); returns r (< 0). */
int settings_error(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prints --help, generated from the table. */
void settings_help(FILE *f);

/* Fills o (size, events, classes, scan size, cache, loopback, log level);
 * the callbacks are left as they are. */
void settings_to_options(const struct settings *s, struct fanguard_options *o);
/* The settings of mount class cls (FANGUARD_MOUNT_*), for
 * fanguard_set_class_options(). */
void settings_to_class_options(const struct settings *s, int cls, struct fanguard_class_options *o);

/* Whether e's value is the same in a and b. */
bool settings_same(const struct settings *a, const struct settings *b, const struct setting *e);
/* Copies e's value from src into dst (strings and lists duplicated). */
int settings_copy(struct settings *dst, const struct settings *src, const struct setting *e);
