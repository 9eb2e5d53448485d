/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* libfanguard: answers fanotify permission events within a deadline, and is
 * never blocked by a FUSE daemon that depends on it.
 *
 * Every call returns >= 0 or -errno. The library never exits, never touches
 * signal handlers (its threads run with all signals blocked), keeps no
 * globals, and logs only through the callback in fanguard_options.
 *
 * Lifecycle: fanguard_new() -> fanguard_set_class_options(), scanners ->
 * fanguard_watch()... -> denylists -> fanguard_start() -> ... ->
 * fanguard_stop() -> fanguard_free(). Watches may also be added after start,
 * and behave the same: a watch's mark goes in only once its group's threads
 * run, so no call made before fanguard_start() ever waits on the listener
 * (e.g. fanguard_deny_sha256_file() of a file on a watched mount). A stopped
 * listener cannot be started again. Needs CAP_SYS_ADMIN (fanotify permission
 * events). Every function has a man page; libfanguard(3) lists them.
 *
 * Every event in flight holds a file descriptor, and the kernel denies an
 * event whose fd it cannot create (EMFILE): raise RLIMIT_NOFILE well above
 * the queue lengths before starting. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <fanguard/fanguard-version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fanguard; /* opaque */

enum fanguard_verdict {
	FANGUARD_ALLOW = 1,
	FANGUARD_DENY = 2,
};

/* The domains a watched mount can belong to (see fanguard_watch()). */
enum fanguard_mount_class {
	FANGUARD_MOUNT_LOCAL = 0,
	FANGUARD_MOUNT_FUSE = 1,    /* FUSE, or backed by FUSE (overlay over FUSE, bind) */
	FANGUARD_MOUNT_NETWORK = 2, /* nfs, cifs, ...: handled like local, own deadline */
	_FANGUARD_MOUNT_CLASS_MAX = 3,
};

/* Why an event got its verdict. */
enum fanguard_reason {
	FANGUARD_REASON_SCANNED = 0, /* a scanner looked at the content */
	FANGUARD_REASON_SELF,	     /* the listener's own access */
	FANGUARD_REASON_NOT_REGULAR, /* FIFO, device, socket, directory: never read */
	FANGUARD_REASON_EXCLUDED,    /* excluded path or subject */
	FANGUARD_REASON_TOO_LARGE,   /* over max_scan_bytes: default verdict */
	FANGUARD_REASON_DEADLINE,    /* the deadline passed: default verdict */
	FANGUARD_REASON_QUEUE_FULL,  /* the domain's queue was full: default verdict */
	FANGUARD_REASON_ERROR,	     /* scanner or I/O error: default verdict */
	FANGUARD_REASON_SHUTDOWN,    /* answered while stopping: default verdict */
	FANGUARD_REASON_NO_SCANNER,  /* nothing to scan for (e.g. empty denylist) */
	FANGUARD_REASON_POLICY,	     /* an administrator's policy, no scan (fuse_user_exec) */
	_FANGUARD_REASON_MAX,
};

/* The event mask bits a listener can ask for. */
#define FANGUARD_EVENT_OPEN (1u << 0)	/* FAN_OPEN_PERM */
#define FANGUARD_EVENT_EXEC (1u << 1)	/* FAN_OPEN_EXEC_PERM */
#define FANGUARD_EVENT_ACCESS (1u << 2) /* FAN_ACCESS_PERM (every read: costly) */

/* One answered event, handed to the verdict callback from the library's log
 * thread, after the answer was written. Strings are valid during the call.
 * path, comm and exe are raw bytes a user chose (newlines, escape sequences,
 * invalid UTF-8): escape them before they reach a line-based sink. Messages
 * given to the log callback are already escaped, one line each. */
struct fanguard_verdict_info {
	uint32_t size; /* sizeof(struct fanguard_verdict_info) */
	enum fanguard_verdict verdict;
	enum fanguard_reason reason;
	enum fanguard_mount_class mount_class;
	pid_t pid;	       /* subject (thread group id) */
	uint64_t mask;	       /* fanotify event mask */
	uint64_t latency_usec; /* receipt to answer */
	const char *path;      /* best effort, may be "?" */
	const char *scanner;   /* who decided, e.g. "sha256", or "" */
	const char *detail;    /* e.g. the matching hash, or "" */
	/* The subject's comm and executable, read before a deny was answered
	 * (afterwards it may be gone); "" when unknown or for allows. */
	const char *comm;
	const char *exe;
	/* The subject's effective uid, read with comm and exe before a deny
	 * was answered; (uid_t) -1 when unknown or for allows. */
	uid_t uid;
	/* Audit mode (fanguard_options.audit): the scanners' verdict was deny,
	 * and the event was answered allow (verdict is FANGUARD_ALLOW). */
	uint32_t would_deny;
};

typedef void (*fanguard_log_fn)(void *userdata, int priority /* LOG_ERR.. */, const char *msg);
typedef void (*fanguard_verdict_fn)(void *userdata, const struct fanguard_verdict_info *info);

/* ABI rules. Every public struct starts with uint32_t size. A struct the
 * caller fills (options, scanner ops) is read only up to the size it gives,
 * and bytes past what the library knows must be zero (else -E2BIG). A struct
 * the library fills (infos, requests) says how much it filled: read a field
 * added in a later version only if FANGUARD_HAS_FIELD() says it is there.
 * Fields are only ever appended; no public struct has an array whose length
 * depends on an enum. */
#define FANGUARD_HAS_FIELD(ptr, type, field) \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *) 0)->field))

/** The library's version at run time, "MAJOR.MINOR.MICRO" (compare with
 * FANGUARD_VERSION_STRING, the headers' version). Never NULL. */
const char *fanguard_version(void);

/* Per mount class settings (fanguard_set_class_options()). Zero fields take
 * the defaults in brackets. */
struct fanguard_class_options {
	uint32_t size;		/* sizeof(struct fanguard_class_options) */
	uint32_t deadline_ms;	/* [local 5000, fuse 1500, network 3000] */
	int default_verdict;	/* [FANGUARD_ALLOW] used on deadline/error/shutdown */
	uint32_t n_workers;	/* [local: CPUs (>= 2); fuse/network: 2 per mount] */
	uint32_t max_abandoned; /* [16] workers stuck in I/O replaced, at most this many */
	uint32_t queue_len;	/* [local 4096, others 1024] beyond: default verdict */
	/* The verdict when the deadline passes, and when the queue is full (or
	 * the subject's uid is at its share of it): FANGUARD_ALLOW or
	 * FANGUARD_DENY. [default_verdict] Error, too large and shutdown take
	 * default_verdict. Every such answer is counted (stats "verdicts" by
	 * reason), summarised in the log every 10 s, and raises "overload". */
	int on_deadline;
	int on_queue_full;
};

struct fanguard_options {
	uint32_t size;	 /* sizeof(struct fanguard_options) */
	uint32_t events; /* FANGUARD_EVENT_* [OPEN | EXEC] */
	/* Per class settings: fanguard_set_class_options(). */
	uint64_t max_scan_bytes;	/* [256 MiB] larger files get the default verdict */
	int deny_errno;			/* [EPERM] via FAN_DENY_ERRNO where the kernel allows */
	fanguard_log_fn log_fn;		/* [none] called from the log thread only */
	fanguard_verdict_fn verdict_fn; /* [none] called from the log thread only */
	void *userdata;
	int log_max_priority;	/* [LOG_INFO] messages above are dropped early */
	uint32_t log_queue_len; /* [8192] messages; overflow is counted, not blocking */
	/* [0] 1: never cache verdicts. By default a clean verdict on a local
	 * file becomes an in-kernel ignore mark, cleared by the next write. */
	uint32_t no_cache;
	/* Deprecated, ignored: every FUSE-backed mount is read through its
	 * daemon (O_DIRECT), loopback or not. FANGUARD_LOOPBACK_BACKING no
	 * longer applies to every loopback mount (a user picks a mount's
	 * fsname, so any such evidence is a claim): name each passthrough mount
	 * whose files are to be scanned at the backing layer instead with
	 * fanguard_scan_at_backing(). */
	uint32_t loopback_policy;
	/* [512] hard cap on the listener's threads (readers, workers, keepers,
	 * replacements for threads stuck in FUSE). The local domain's share is
	 * reserved; a FUSE or network mount whose group would not fit is not
	 * marked (fanguard_watch() fails with -EUSERS, the mount watcher logs
	 * it as uncovered). */
	uint32_t max_threads;
	/* [max_threads / 4] at most this many threads for all the mounts of
	 * one owner other than root (a FUSE mount's user_id=), so users who
	 * mount daemons that hang on purpose cannot use up the budget. */
	uint32_t max_threads_per_owner;
	/* [fs.fanotify.max_user_groups - max(8, 1/8)] fanotify groups this
	 * listener makes: FUSE mounts get a group of their own while they fit,
	 * beyond it they share one group per FUSE nesting depth. */
	uint32_t max_groups;
	/* [65536] verdict cache marks held at once; at the budget the cache is
	 * flushed (evicted) and refilled. Coverage marks are never evicted. */
	uint32_t max_cache_marks;
	/* [0] 1: audit (permissive) mode. Every event is scanned as usual,
	 * but a deny is answered allow: it is counted (audit_would_deny),
	 * reported to verdict_fn with would_deny set, and never cached. */
	uint32_t audit;
	/* [0] 1: have the kernel write an audit record (type FANOTIFY) of
	 * every deny, as fapolicyd does: FAN_ENABLE_AUDIT on every group and
	 * FAN_AUDIT on deny answers. Needs CAP_AUDIT_WRITE and kernel support:
	 * without (EPERM, EINVAL) groups are made without it, once logged;
	 * the stat kernel_audit says whether the groups have it. */
	uint32_t kernel_audit;
	/* Execs from untrusted FUSE mounts (the daemon is not root: the
	 * mount's user_id= is not 0): FANGUARD_FUSE_USER_EXEC_SCAN [0] scans
	 * them (and denies an exec whose scan fails or passes its deadline,
	 * whatever the class's default verdict); FANGUARD_FUSE_USER_EXEC_DENY
	 * denies every exec from them (reason "policy"). */
	uint32_t fuse_user_exec;
	/* [0: off] every FUSE filesystem on the host, in whichever mount
	 * namespace it is mounted (a user's `unshare -Urm` too): poll
	 * /sys/fs/fuse/connections every this many ms, mark each new FUSE
	 * filesystem through a process that shows it (/proc/PID/root), in a
	 * group of its own. Detection delay: one interval. One root cannot
	 * enter is reported uncovered (cause namespace): a user's FUSE mount
	 * opens to root only with the fuse module's allow_sys_admin_access. */
	uint32_t watch_all_fuse_ms;
};

#define FANGUARD_FUSE_USER_EXEC_SCAN 0
#define FANGUARD_FUSE_USER_EXEC_DENY 1

#define FANGUARD_LOOPBACK_DEFAULT 0
#define FANGUARD_LOOPBACK_BACKING 1
#define FANGUARD_LOOPBACK_THROUGH 2

/** Create a listener; nothing is marked, no thread runs yet.
 * @param opts copied; NULL for defaults
 * @param ret  set on success; release with fanguard_free()
 * @return 0, -EINVAL for bad options, -ENOMEM */
int fanguard_new(const struct fanguard_options *opts, struct fanguard **ret);

/** Stop (if running) and release everything. NULL-safe; returns NULL. */
struct fanguard *fanguard_free(struct fanguard *fg);

/** Set the deadline, default verdict, workers and queue of one mount class.
 * Call after fanguard_new(), before the first watch of any kind and before
 * fanguard_start(): domains take their settings when they are created.
 * @param co read up to co->size; zero fields take the defaults
 * @return 0, -EINVAL (bad class or value), -E2BIG (unknown non-zero
 * fields of a newer caller), -EBUSY (a watch or start came first) */
int fanguard_set_class_options(struct fanguard *fg, enum fanguard_mount_class cls,
			       const struct fanguard_class_options *co);

/** The settings in force for a class, defaults filled in; ret->size must be
 * set, and at most that many bytes are written. @return 0, -EINVAL */
int fanguard_get_class_options(struct fanguard *fg, enum fanguard_mount_class cls,
			       struct fanguard_class_options *ret);

/* fanguard_watch() and fanguard_watch_tree() flags. By default a watch
 * marks the whole filesystem (FAN_MARK_FILESYSTEM, the superblock) holding
 * the path: every mount of it is covered, bind mounts, the copies an
 * unprivileged unshare -Urm makes, overlay's private lower mounts, mounts
 * made after the watch. */
#define FANGUARD_WATCH_FILESYSTEM (1u << 0) /* the default; accepted, changes nothing */
#define FANGUARD_WATCH_MOUNT (1u << 1)	    /* mark only the mount holding the path */
/* Marking the filesystem of PID 1's "/" (or the caller's "/") is refused
 * (-EPERM, logged) unless this is given: it stops every process on the
 * host, the listener's own setup included, until answered. */
#define FANGUARD_WATCH_ROOT_FS (1u << 2)

/** Watch the filesystem that holds path (or only its mount, with
 * FANGUARD_WATCH_MOUNT). The mount is classified from the mount table (never from st_dev): local mounts share
 * one fanotify group; each FUSE-backed mount gets its own group, readers,
 * queue, workers and deadline, so that a FUSE daemon's accesses to its local
 * backing files are always served by threads that never wait on FUSE.
 * Watching a path again is not an error (the mark is already there).
 * Before fanguard_start() the mark is only recorded, and placed by
 * fanguard_start(), which then reports its errors; after start it is placed
 * now and its errors are returned here.
 * @return 0, -errno of open(2) (-ENOENT, -EACCES...), -EINVAL (pseudo
 * filesystem, unknown flags, MOUNT with FILESYSTEM), -EPERM (the filesystem of
 * "/" without FANGUARD_WATCH_ROOT_FS), -ESHUTDOWN after fanguard_stop(), -EUSERS (the
 * thread budget has no room for this mount's group, see max_threads), or
 * after start -errno of fanotify_init(2)/fanotify_mark(2) (-EPERM, -EMFILE
 * at the group limit, -ENOSPC at the mark limit, -ENOMEM) */
int fanguard_watch(struct fanguard *fg, const char *path, uint32_t flags);

/** Scan the files of the FUSE mount at mount_point at the backing layer
 * instead of reading them through its daemon: the daemon's own open of the
 * backing file is scanned, and denied, in the local group, which fails the
 * FUSE open. Only for passthrough daemons (bindfs-like) that show the
 * opener the backing file's bytes: a content-transforming filesystem
 * (gocryptfs, squashfuse, fuse2fs, encfs...) shows bytes that exist nowhere
 * on the backing layer, and they would go unscanned. Applies only when the
 * mount is found loopback-served, its backing mounts are watched locally,
 * and its FUSE superblock belongs to root (user_id=0): a user's mount at
 * that path is read through as any other.
 * @param mount_point absolute, as the mount table spells it
 * @return 0, -EINVAL, -ENOMEM */
int fanguard_scan_at_backing(struct fanguard *fg, const char *mount_point);

/* The events a FUSE-backed mount's group is marked for (fanguard_set_fuse_event_mask()). */
enum fanguard_fuse_event_mask {
	/* open, switched to access (once, logged, counted) when the mount's
	 * daemon refuses the kernel's open of an event's file (a read() on
	 * the mount's own group blocks > 1 s and fails twice within a
	 * minute), or from the start when the daemon's argv hints at it
	 * (rclone mount without --vfs-cache-mode writes|full) */
	FANGUARD_FUSE_EVENT_MASK_AUTO = 0,
	/* FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM: a verdict before any byte is read */
	FANGUARD_FUSE_EVENT_MASK_OPEN = 1,
	/* FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM: a verdict at the first read()
	 * and at exec; opens are not seen, so a daemon that cannot open a file
	 * twice while it is created is never asked to. A file mapped and
	 * never read() is not scanned. */
	FANGUARD_FUSE_EVENT_MASK_ACCESS = 2,
};

/** Choose the event mask of the groups of FUSE-backed mounts: for the mount
 * at mount_point, or the default for every other one (mount_point NULL;
 * FANGUARD_FUSE_EVENT_MASK_AUTO unless set). Applies to mounts marked after
 * the call. Nothing here removes scanning: an access-mask mount is scanned at
 * the first read() and at exec (fanguard_watch(3)).
 * @param mount_point absolute, as the mount table spells it, or NULL
 * @return 0, -EINVAL, -ENOMEM */
int fanguard_set_fuse_event_mask(struct fanguard *fg, const char *mount_point,
				 enum fanguard_fuse_event_mask mask);

/** Never scan files under this absolute path prefix (answered at receipt). */
int fanguard_exclude_path(struct fanguard *fg, const char *prefix);

/** Never scan accesses by this process (answered at receipt). Use for the
 * processes a deployment trusts, e.g. a backup agent. */
int fanguard_exclude_pid(struct fanguard *fg, pid_t pid);

/** Deny files whose SHA-256 is in this list (binary, 32 bytes each). */
int fanguard_deny_sha256(struct fanguard *fg, const uint8_t (*digests)[32], size_t n);

/** Load a denylist: one lowercase or uppercase hex SHA-256 per line, optionally
 * followed by whitespace and a name; '#' starts a comment; blank lines ignored.
 * Only a regular file is read (opened O_NONBLOCK|O_NOFOLLOW); the new set is
 * built beside the current one and swapped in.
 * @return the number of hashes added, -EBADMSG on a bad line or -EILSEQ on a
 * NUL byte (*ret_line set), -ENODATA if the file holds no digest, -EISDIR,
 * -EBADFD (FIFO, device, socket), -ELOOP (symlink), -EFBIG (more than 64 Mi
 * digests), or the open/read error */
int fanguard_deny_sha256_file(struct fanguard *fg, const char *path, unsigned *ret_line);

/** Start the readers, workers and deadline keepers, then place the marks of
 * the watches added before. Calling it again while running does nothing. A
 * listener runs once: after fanguard_stop() it cannot be restarted (create a
 * new one).
 * @return 0, -ESHUTDOWN after fanguard_stop(), -errno starting a thread or
 * the mount watcher (e.g. -EMFILE, -ENOMEM), or the first error of a mark
 * that could not be placed (logged with its path; the listener runs and
 * answers for the watches that were marked: stop it if that is not enough) */
int fanguard_start(struct fanguard *fg);

/** Stop: remove marks, answer every event we hold with the default verdict,
 * close the groups (the kernel then allows whatever it still queues), join
 * the threads that can be joined within timeout_ms and abandon the rest (a
 * thread stuck in a FUSE request cannot be cancelled; one stuck in close()
 * of a FUSE file waits uninterruptibly for FUSE_FLUSH). Every event the
 * listener read is answered before this returns, whatever is stuck.
 * @return 0, or -ETIMEDOUT if some thread was abandoned (logged with where
 * they are stuck: open, read or close); the process can exit once the FUSE
 * connection is aborted */
int fanguard_stop(struct fanguard *fg, uint32_t timeout_ms);

struct fanguard_stats {
	uint32_t size;		  /* set by the caller: sizeof(struct fanguard_stats) */
	uint64_t events_read;	  /* permission events received */
	uint64_t events_answered; /* answers written (always == read once idle) */
	uint64_t allowed, denied;
	uint64_t by_reason[10];	    /* the first ten reasons; frozen (ABI) */
	uint64_t response_errors;   /* write() of an answer failed */
	uint64_t workers_abandoned; /* stuck in I/O past the deadline (not counting stop) */
	uint64_t workers_replaced;
	uint64_t log_dropped; /* log messages dropped on overflow */
	uint64_t bytes_scanned;
	uint64_t pending;	     /* read but not yet answered, now */
	uint64_t kernel_open_errors; /* events whose file the kernel could not open inside
				       read(); the kernel denied those itself */
	uint64_t readers_added;	     /* started because every reader was stuck in a FUSE open */
	uint32_t n_groups;	     /* fanotify groups (domains) */
	uint32_t n_watches;
	uint64_t cache_marks_added;   /* clean verdicts now held by the kernel */
	uint64_t cache_marks_revoked; /* removed again: the file changed during the scan */
	uint64_t cache_marks_failed;  /* not added (fanotify_mark error, denylist changed) */
	uint64_t cache_flushes;	      /* invalidations (denylist changes) */
};

/** Snapshot of the counters. stats->size must be set.
 * Deprecated: use fanguard_stats_snapshot(), which has every statistic;
 * this struct is filled from the same table and no longer grows. */
int fanguard_get_stats(struct fanguard *fg, struct fanguard_stats *stats);

/* Statistics, as one table: the library describes each entry (name, kind,
 * help, optional label), and a snapshot fills the values in table order.
 * New entries are appended in later versions, so iterate, never hard-code
 * indices. Values are aggregated over every domain, including released
 * ones for counters. */
#define FANGUARD_STAT_COUNTER 1 /* only grows */
#define FANGUARD_STAT_GAUGE 2	/* a current value */

struct fanguard_stat_info {
	uint32_t size;		 /* set by the caller: sizeof(struct fanguard_stat_info) */
	const char *name;	 /* "events_read"; a labelled family shares its name */
	const char *help;	 /* one line */
	int kind;		 /* FANGUARD_STAT_COUNTER or FANGUARD_STAT_GAUGE */
	const char *label_name;	 /* NULL, or e.g. "reason" */
	const char *label_value; /* e.g. "queue-full" (NULL without label) */
};

/** How many statistics this library version has. */
size_t fanguard_stats_count(void);

/** Describe statistic i (0 <= i < fanguard_stats_count()); ret->size must be
 * set. Strings are static. @return 0, -ERANGE past the end, -EINVAL */
int fanguard_stat_describe(size_t i, struct fanguard_stat_info *ret);

/** Fill values[0..n) with the current values, in table order (entries past
 * n are skipped). @return fanguard_stats_count(), or -EINVAL */
int fanguard_stats_snapshot(struct fanguard *fg, uint64_t *values, size_t n);

/** Replace the whole SHA-256 denylist with the digests in these files (format
 * as in fanguard_deny_sha256_file()), atomically: events scanned before see
 * the old list, after the new one; on any error nothing changes.
 * @return the number of digests, -EBADMSG or -EILSEQ on a bad line (*ret_file
 * is the index in paths, *ret_line the line), or another -errno as for
 * fanguard_deny_sha256_file() (*ret_file set) */
int fanguard_replace_deny_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
				       size_t *ret_file, unsigned *ret_line);

/** Replace the SHA-256 allowlist with the digests in these files (format as
 * in fanguard_deny_sha256_file(); a file without digests is no error here),
 * atomically; n = 0 empties it. A file
 * whose content has one of these digests is allowed whatever the denylist,
 * clamd, YARA or an embedder's scanner would say (none of them runs): an
 * operator's override of a false positive on one file. Counted
 * (allowlisted); clean verdicts cached before are dropped.
 * @return as fanguard_replace_deny_sha256_files() */
int fanguard_replace_allow_sha256_files(struct fanguard *fg, const char *const *paths, size_t n,
					size_t *ret_file, unsigned *ret_line);

/** Replace every excluded path prefix (see fanguard_exclude_path()) at once. */
int fanguard_set_exclude_paths(struct fanguard *fg, const char *const *prefixes, size_t n);

/** Whether the listener still answers: 0 when every started domain has a live
 * reader and no unanswered event is older than its deadline plus grace_ms
 * (its keeper answers at the deadline); -ETIME if one is, -ESRCH if a domain
 * lost its readers, -ESHUTDOWN once stopped. Cheap: for a service watchdog. */
int fanguard_check_health(struct fanguard *fg, uint32_t grace_ms);

/* One watch, as classified when it was added. Strings valid during the call. */
struct fanguard_watch_info {
	uint32_t size;				/* sizeof(struct fanguard_watch_info) */
	const char *path;			/* as given to fanguard_watch() */
	const char *mount_point;		/* of the mount holding it */
	const char *fstype;			/* "tmpfs", "fuse.sshfs", ... */
	const char *mount_class;		/* "local", "fuse", "fuse-backed", "network" */
	const char *evidence;			/* why that class, e.g. "fstype fuse.sshfs" */
	enum fanguard_mount_class domain_class; /* the kind of group answering it */
	uint64_t mnt_id;
	uint32_t flags; /* FANGUARD_WATCH_* */
	/* FUSE mounts: served from this host (loopback) or not, and why: the
	 * daemon holding /dev/fuse for its connection, its helpers, sources. */
	int loopback;
	const char *origin;	    /* "" for non-FUSE mounts */
	int content_at_backing;	    /* scanned at the backing layer only */
	int from_tree;		    /* found under a fanguard_watch_tree() path */
	uint64_t group_events_read; /* events read by the group answering it */
	/* Threads of its group stuck now (>= 100 ms) in the kernel's open of a
	 * FUSE file inside read(), in a content read past the deadline, or in
	 * close() of an event fd (FUSE_FLUSH). */
	uint32_t threads_stuck_open, threads_stuck_read, threads_stuck_close;
	uint32_t owner_uid; /* FUSE: who mounted it (user_id=); 0 otherwise */
	/* The group answering it: "local", "fuse/53", or "fuse/shared-1" when
	 * it shares the group of its FUSE nesting depth (over max_groups). */
	const char *group_name;
	int group_shared;
	/* Its mark was taken out (a hung daemon in a shared group that could
	 * not get a group of its own): listed by fanguard_foreach_uncovered(). */
	int unmarked;
	/* The group's answers, and their receipt-to-answer times summed: the
	 * mean latency of a mount over an interval is the ratio of the deltas. */
	uint64_t group_events_answered, group_answer_latency_usec;
	/* Answers its group gave without a scan, by reason, since it started;
	 * overloaded: a deadline or a full queue gave one in the last 10 s. */
	uint64_t unscanned_deadline, unscanned_queue_full, unscanned_error, unscanned_too_large;
	int overloaded;
	/* FUSE-backed and owner_uid != 0: the daemon is a user's, the mount is
	 * untrusted (a failed or late scan of an exec denies it). */
	int untrusted;
	/* FUSE-backed: the events its group is marked for, "open" or
	 * "access" ("" otherwise), and why (configuration, a hint from the
	 * daemon's argv, or the daemon refusing the kernel's opens). */
	const char *event_mask;
	const char *event_mask_why;
	/* Another watched mount of the same filesystem (superblock) whose
	 * group answers this one too: one filesystem, one group, whatever
	 * number of mounts show it (a bind of a FUSE mount); 0 if none. */
	uint64_t same_fs_as_mnt_id;
};

typedef int (*fanguard_watch_fn)(void *userdata, const struct fanguard_watch_info *info);

/** Calls fn for every watch, in the order added, under the listener's lock
 * (fn must not call back into the library). Stops at fn's first < 0 return.
 * @return 0, or fn's error */
int fanguard_foreach_watch(struct fanguard *fg, fanguard_watch_fn fn, void *userdata);

/* A mount a watch covers that is not marked: its events are not seen. */
struct fanguard_uncovered_info {
	uint32_t size; /* sizeof(struct fanguard_uncovered_info) */
	uint64_t mnt_id;
	const char *mount_point;
	/* "group-limit", "mark-limit", "permission", "namespace",
	 * "hung-daemon", "thread-budget", "mark-error" */
	const char *cause;
	int error;	     /* errno of the failed call, or 0 */
	const char *hint;    /* what an administrator can do (names the sysctl) */
	uint64_t since_usec; /* CLOCK_MONOTONIC */
};

typedef int (*fanguard_uncovered_fn)(void *userdata, const struct fanguard_uncovered_info *info);

/** Calls fn for every mount a watch covers that is not marked now, under
 * the coverage lock (fn must not call back into the library). Stops at fn's
 * first < 0 return. @return 0, -EINVAL, or fn's error */
int fanguard_foreach_uncovered(struct fanguard *fg, fanguard_uncovered_fn fn, void *userdata);

/** Watch the mount holding path (as fanguard_watch()) and every mount below
 * path, now and whenever one appears later: each new FUSE mount (sshfs,
 * bindfs, fuse-overlayfs, an overlay over FUSE) gets its own group at once,
 * without a restart; the group of a mount that goes away is released.
 * Marking runs off the permission path with the class's deadline.
 * @return 0, -ENOENT, -EINVAL, or as fanguard_watch() */
int fanguard_watch_tree(struct fanguard *fg, const char *path, uint32_t flags);

const char *fanguard_reason_to_string(enum fanguard_reason r);
const char *fanguard_mount_class_to_string(enum fanguard_mount_class c);

/* Scanners. Every event is run through the SHA-256 lists (when they have
 * entries: an allowlisted digest allows the file and ends the run), then
 * clamd, then YARA, in that order; any deny wins and stops
 * the run; an engine that cannot decide in time (deadline, error, limit)
 * makes the verdict the default. The verdict names the engine (info->scanner:
 * "sha256", "clamd", "yara"). */

/** Add a clamd endpoint; endpoints are tried in the order added until one
 * answers. "/path" or "unix:/path": a local clamd, sent the event's fd
 * (FILDES), and whose process (SO_PEERCRED) is excluded from scanning;
 * "host:port" or "[v6]:port": a remote clamd, sent the content (INSTREAM).
 * Names are resolved now, never on the permission path. Connections are
 * kept open (IDSESSION) and every step is bounded by the event's deadline.
 * @return 0, -EINVAL (bad address), -EADDRNOTAVAIL (cannot resolve), -E2BIG (> 8) */
int fanguard_add_clamd(struct fanguard *fg, const char *address);

/** Compile a YARA rules file and make it the rule set, atomically (scans in
 * progress finish with the set they started with). Call again to reload.
 * @return 0, -errno opening it, -EBADMSG if it does not compile (each error
 * is logged through the log callback; the rules loaded before stay) */
int fanguard_load_yara_rules(struct fanguard *fg, const char *path);

/* Subject exclusions, answered at receipt with FANGUARD_REASON_EXCLUDED.
 * Only when some are configured does the reader look the subject up: its
 * effective uid ("Uid:" in /proc/PID/status, second field) and the target
 * of /proc/PID/exe; both are procfs reads (no FUSE round trip), then the
 * event's pidfd must still name that pid, so a reused pid is never taken
 * for the excluded process. A subject whose /proc/PID/exe we may not read
 * (ptrace access check: e.g. a more privileged process once the caller has
 * dropped CAP_SYS_PTRACE), or an event without a pidfd, is not excluded:
 * it is scanned (fails closed). */

/** Never scan accesses by processes whose effective uid is uid. */
int fanguard_exclude_uid(struct fanguard *fg, uid_t uid);

/* fanguard_exclude_exe_uid(), fanguard_set_exclude_exes(): a rule for
 * everyone who runs the executable. */
#define FANGUARD_ANY_UID ((uid_t) -1)

/** Never scan accesses by processes running the executable at path AS ROOT
 * (effective uid 0): fanguard_exclude_exe_uid(fg, path, 0). The rule matches
 * the file's identity (device and inode, resolved now; a replaced binary is
 * a new file, scanned until the rule is set again), never its path string,
 * and the uid with it: any user may run a world-executable binary.
 * @return 0, -EINVAL (not absolute, not a regular file), -errno of stat(2) */
int fanguard_exclude_exe(struct fanguard *fg, const char *path);

/** Never scan accesses by processes running the executable at path (its
 * device and inode) with effective uid uid. FANGUARD_ANY_UID exempts
 * everyone who runs it: only for binaries no user can run or that read
 * nothing a user chooses. @return as fanguard_exclude_exe() */
int fanguard_exclude_exe_uid(struct fanguard *fg, const char *path, uid_t uid);

/** Replace every excluded uid and executable at once (a reload); the
 * executables are for uid 0 (see fanguard_exclude_exe()). On error nothing
 * changes. */
int fanguard_set_exclude_subjects(struct fanguard *fg, const uid_t *uids, size_t n_uids,
				  const char *const *exes, size_t n_exes);

/** Replace every excluded executable at once: paths[i] run as uids[i]
 * (or FANGUARD_ANY_UID). The uid exclusions stay. On error nothing changes.
 * @return as fanguard_exclude_exe() */
int fanguard_set_exclude_exes(struct fanguard *fg, const char *const *paths, const uid_t *uids,
			      size_t n);

/* Scanners of the embedder's own (its ML model, cloud lookup, trust DB).
 * See fanguard_add_scanner(3). */

/* What a scanner is asked about: one event, valid during the call only. */
struct fanguard_scan_request {
	uint32_t size;	    /* sizeof the struct the library filled */
	int fd;		    /* the event's file, read-only: pread() it, never close
				it; reads raise no events; never reopen the path */
	uint64_t file_size; /* at receipt (the file may change while scanned) */
	pid_t pid;	    /* subject (thread group id) */
	uid_t uid;	    /* its effective uid, (uid_t) -1 if unknown */
	uint64_t mask;	    /* fanotify event mask (FAN_OPEN_PERM...), as in verdict info */
	enum fanguard_mount_class mount_class;
	uint64_t deadline_usec; /* CLOCK_MONOTONIC, microseconds: return by then */
	const char *path;	/* best effort, may be "?" */
};

/* What a scanner may add to its verdict (zeroed before each call). */
struct fanguard_scan_result {
	uint32_t size;	 /* sizeof the struct the library passes */
	uint32_t flags;	 /* FANGUARD_SCAN_RESULT_* */
	char detail[64]; /* shown in the verdict info and the log, e.g. a rule name */
};

/* This clean verdict may not be cached (see fanguard_add_scanner(3)). */
#define FANGUARD_SCAN_RESULT_NO_CACHE (1u << 0)

/* Returns FANGUARD_ALLOW or FANGUARD_DENY, or -errno: the event then gets the
 * default verdict of its mount class (-ETIMEDOUT counts as the deadline,
 * anything else as an error). Runs on a library worker thread, many at once. */
typedef int (*fanguard_scan_fn)(void *userdata, const struct fanguard_scan_request *req,
				struct fanguard_scan_result *res);

struct fanguard_scanner_ops {
	uint32_t size;	  /* sizeof(struct fanguard_scanner_ops) */
	uint32_t flags;	  /* FANGUARD_SCANNER_* */
	const char *name; /* copied; names the verdicts it decides ("" not allowed) */
	fanguard_scan_fn scan;
	/* [optional] Called once, when no call to scan is in flight any more
	 * after fanguard_remove_scanner() or fanguard_free(), possibly from a
	 * library thread: free userdata here. */
	void (*release)(void *userdata);
};

/* Never cache clean verdicts while this scanner is registered. */
#define FANGUARD_SCANNER_NO_CACHE (1u << 0)

/** Register a scanner. It runs after the engines added before it, on every
 * event whose file is scanned, until removed. Flushes the verdict cache
 * (files found clean before were not shown to it).
 * @param ret_id set on success, for fanguard_remove_scanner() (never 0)
 * @return 0, -EINVAL, -E2BIG (unknown non-zero fields, or > 16 scanners),
 * -ENOMEM, -ESHUTDOWN after fanguard_stop() */
int fanguard_add_scanner(struct fanguard *fg, const struct fanguard_scanner_ops *ops,
			 void *userdata, uint64_t *ret_id);

/** Unregister a scanner: events scanned from now on do not see it; calls in
 * flight finish (their verdicts still count if in time), then release runs.
 * Never waits for them. May be called from inside its own scan callback.
 * @return 0, -ENOENT (unknown or already removed id), -EINVAL */
int fanguard_remove_scanner(struct fanguard *fg, uint64_t id);

/* What fanguard_scan_fd() found. */
struct fanguard_scan_info {
	uint32_t size;		       /* set by the caller to sizeof(struct fanguard_scan_info) */
	enum fanguard_verdict verdict; /* FANGUARD_DENY: a scanner found something */
	/* FANGUARD_REASON_SCANNED when a scanner decided; DEADLINE, ERROR,
	 * TOO_LARGE or NO_SCANNER when the file was not (fully) looked at:
	 * then verdict is FANGUARD_ALLOW and means nothing. */
	enum fanguard_reason reason;
	enum fanguard_mount_class mount_class; /* as the fd's superblock shows it */
	uint64_t latency_usec;
	char scanner[32]; /* who decided, e.g. "sha256", or "" */
	char detail[80];  /* e.g. the matching digest or signature, or "" */
};

/** Scan one file the caller opened, through the listener's scanners (the
 * denylist, clamd, YARA, fanguard_add_scanner()), as an open of it would be
 * scanned, and return what they found. Nothing is answered or cached, and
 * the path is never reopened: the caller may pass an fd it received from
 * someone else. Runs on the calling thread; every scanner stops by the
 * deadline, except a read stuck in a FUSE daemon serving the file.
 * Works before fanguard_start() as well.
 * @param fd a regular file open for reading (not O_PATH)
 * @param deadline_ms 1 .. 600000
 * @param ret its size set by the caller; filled on success only
 * @return 0 (see ret->verdict and ret->reason), -EINVAL, -EBADF (not open
 * for reading), -EBADFD (not a regular file), -ESHUTDOWN after
 * fanguard_stop(), -ENOMEM */
int fanguard_scan_fd(struct fanguard *fg, int fd, uint32_t deadline_ms,
		     struct fanguard_scan_info *ret);

/** Forget every cached clean verdict, e.g. after a signature update: every
 * file is scanned again at its next open. @return 0, -EINVAL */
int fanguard_flush_cache(struct fanguard *fg);

/** Pre-warm the verdict cache (see fanguard_prewarm(3)): one background
 * thread, at I/O priority class idle and nice 19, walks each directory of
 * paths depth first (relative to directory fds; symlinks are never
 * followed, other mounts never entered), scans every regular file up to
 * max_scan_bytes through the listener's scanners as an open would be
 * scanned, and gives each clean one the cache's in-kernel ignore mark (and
 * a verdict store entry, if one is set), with the same checks as after a
 * permission event: a file that changed while scanned is not marked. Only
 * files the cache keeps: a path whose mount is not watched in the local
 * group, or is FUSE, network, overlayfs or ecryptfs, is skipped. It never
 * denies, quarantines or answers anything: a file a scanner finds is only
 * counted, and denied at its next open as ever. It stops adding marks when
 * the cache holds max_cache_marks (never evicting), and counts the rest.
 * Progress is in the statistics (prewarm_*, fanguard_stats_snapshot()).
 * A new call replaces the pass in progress (stopped and joined first) and
 * starts from the beginning; n == 0 only stops it. fanguard_stop() stops it
 * too, waiting at most for one file's scan (the local deadline).
 * @param paths absolute paths of directories, resolved once as given
 * @param n at most 256
 * @return 0 (the pass runs in the background), -EINVAL (NULL, a relative
 * path), -E2BIG, -ENOMEM, -EAGAIN before fanguard_start() (nothing is
 * marked yet: call it after), -ESHUTDOWN after fanguard_stop(), -errno
 * starting the thread */
int fanguard_prewarm(struct fanguard *fg, const char *const *paths, size_t n);

/* Restart without a gap (see fanguard_handover(3)). A listener hands its
 * fanotify groups, with their marks, to whatever keeps them across the
 * restart (systemd's fd store); its successor adopts them, and the events
 * that arrive meanwhile wait in the kernel until it reads and scans them:
 * none is let through unscanned. Each group has a name, e.g. "local" or "fuse/53"
 * (printable ASCII, no ':' or whitespace, at most 47 bytes). */
typedef int (*fanguard_group_fn)(void *userdata, int fd, const char *name);

/** Adopt a group that a previous listener handed over. Call before
 * fanguard_start(), before the watches: the domain of that name (the same
 * watches and mounts give the same names) then answers this group instead
 * of a new one, its marks included. The group's cached verdicts (inode
 * ignore marks) are dropped: the configuration may have changed. A group
 * that no watch claims by the end of fanguard_start() is closed there (the
 * kernel then allows the events it queued); one named "fuse/<mount id>" or
 * "network/<mount id>" waits for the mount watchers' first pass instead
 * (a mount they find after start keeps its group across a restart).
 * @param fd a fanotify group of the permission (content) class; taken
 * (closed by the library) on success only
 * @return 0, -EINVAL (not such a group, bad name), -EEXIST (name adopted
 * already), -EBUSY (after fanguard_start() or a watch), -ENOMEM */
int fanguard_adopt_group(struct fanguard *fg, int fd, const char *name);

/** Stop for a restart: as fanguard_stop(), but the marks stay, and for each
 * group whose threads all exited (so no event it read is left unanswered)
 * fn gets its fd and name to pass on (e.g. sd_pid_notify_with_fds() with
 * "FDSTORE=1\nFDNAME=name"; fn must duplicate or send the fd, which is
 * closed when fn returns). A group with a thread stuck in FUSE, or whose fn
 * returns < 0, is stopped as by fanguard_stop() (marks removed). Events
 * this listener had read when the stop began are answered with the default
 * verdict (reason shutdown), as by fanguard_stop(); later ones stay queued
 * in the group for the successor.
 * @return as fanguard_stop(); -EINVAL without fn */
int fanguard_handover(struct fanguard *fg, uint32_t timeout_ms, fanguard_group_fn fn,
		      void *userdata);

/* Quarantine of denied files (see fanguard_set_quarantine(3)). */
struct fanguard_quarantine_options {
	uint32_t size;		 /* sizeof(struct fanguard_quarantine_options) */
	int dir_fd;		 /* the directory: root's, mode 0700 (or stricter); duplicated */
	uint64_t max_bytes;	 /* [64 MiB] larger files are not copied (counted) */
	uint32_t per_minute;	 /* [60] more in one minute are not copied (counted) */
	uint64_t min_free_bytes; /* [128 MiB] free space the copies leave in its filesystem */
};

/** Quarantine what the scanners deny on local filesystems: after the deny
 * is answered, on the worker that still holds the event's fd, its content
 * is copied from that fd (the path is never reopened) into a new file of
 * the directory, then the original name is removed if it still names the
 * same file (device and inode, looked up under its parent opened without
 * following symlinks), and a JSON line describing it is appended to
 * "records.jsonl" there. Denies on FUSE and network mounts are not
 * quarantined (a copy through a daemon could hang the worker): counted.
 * Every skip or failure is counted (quarantine_failed, by cause) and
 * logged. Call before fanguard_start().
 * @param qo read up to qo->size; zero fields take the defaults
 * @return 0, -EINVAL, -E2BIG, -ENOTDIR, -EPERM (the directory is not
 * root's or is open to group or others), -EBUSY after start, -errno */
int fanguard_set_quarantine(struct fanguard *fg, const struct fanguard_quarantine_options *qo);
/** Keep clean verdicts across restarts and reboots (see
 * fanguard_set_verdict_store(3)): in an LMDB store in directory path
 * (created 0700 if missing), keyed by the filesystem's UUID and the file's
 * handle, valid while the file's size, mtime and ctime and the scanners'
 * state (denylist, allowlist, clamd's signature version, YARA rules) are
 * unchanged. Only for ext2/3/4, xfs, btrfs, f2fs and tmpfs, never FUSE,
 * network or overlay files. A lookup runs before a file is scanned; a hit
 * is allowed without a scan and gets the kernel's ignore mark. Call before
 * fanguard_start(); needs a listener that caches (no_cache 0).
 * @param max_bytes the store's size [0: 64 MiB, at least 1 MiB]; when
 * full it is emptied and refills (counted)
 * @return 0; -EPERM if the directory or its files are not owned by the
 * caller's euid or are open to group or others (logged; nothing is
 * changed); -EINVAL (relative path, max_bytes); -EBUSY after
 * fanguard_start(); -EEXIST (set already); -errno of mkdir(2)/open(2). A
 * corrupt, truncated or foreign store is moved aside (data.mdb.corrupt),
 * logged and started empty: not an error. */
int fanguard_set_verdict_store(struct fanguard *fg, const char *path, uint64_t max_bytes);

#ifdef __cplusplus
}
#endif
