/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Journal entries for the listener's work (see events-log.h). Each entry
 * carries the facts as FANGUARD_* fields, structured first, and a
 * MESSAGE_ID that systemd/fanguard.catalog explains. Field values are
 * passed as they are: the journal's native protocol and the JSON writer
 * (log-json.c) keep them intact, and the plain text line is not built from
 * them. Never on the permission path: the verdict callback runs on the
 * library's log thread, the tick on the main loop. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "events-log.h"
#include "hook.h"
#include "log.h"
#include "macro.h"
#include "message-ids.h"
#include "procfs.h"
#include "stats-format.h"

#define MID(id) "MESSAGE_ID=" id

static bool is_sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return n == 64 && s[n] == '\0';
}

/* Audit mode: answered allow, and logged as the deny it would be. */
static bool would_deny(const struct fanguard_verdict_info *v)
{
	return FANGUARD_HAS_FIELD(v, struct fanguard_verdict_info, would_deny) && v->would_deny;
}

static const char *message_id(const struct fanguard_verdict_info *v)
{
	if (v->verdict == FANGUARD_DENY || would_deny(v))
		return MID(FANGUARD_MESSAGE_DENY);
	switch (v->reason) {
	case FANGUARD_REASON_QUEUE_FULL:
		return MID(FANGUARD_MESSAGE_OVERLOAD);
	case FANGUARD_REASON_DEADLINE:
	case FANGUARD_REASON_ERROR:
	case FANGUARD_REASON_TOO_LARGE:
		return MID(FANGUARD_MESSAGE_UNCOVERED);
	default:
		return MID(FANGUARD_MESSAGE_VERDICT);
	}
}

void events_log_verdict(void *userdata, const struct fanguard_verdict_info *v)
{
	char f_verdict[32], f_path[4200], f_pid[32], f_class[32], f_reason[48], f_lat[48];
	char f_exe[4200], f_comm[48], f_scanner[96], f_detail[160], f_sha[96], f_uid[32];
	char exe[4096], comm[24] = "?";
	const char *fields[16];
	bool denied = v->verdict == FANGUARD_DENY || would_deny(v);
	const char *verdict = would_deny(v)		    ? "would-deny"
			      : v->verdict == FANGUARD_DENY ? "deny"
							    : "allow";
	bool unscanned = v->verdict == FANGUARD_ALLOW && v->reason != FANGUARD_REASON_SCANNED &&
			 strcmp(message_id(v), MID(FANGUARD_MESSAGE_VERDICT)) != 0;
	uid_t uid = FANGUARD_HAS_FIELD(v, struct fanguard_verdict_info, uid) ? v->uid : (uid_t) -1;
	size_t n = 0;
	int have_exe;

	(void) userdata;
	/* For a deny the library read comm and exe before answering (a denied
	 * opener often exits at once). Otherwise look now, on the log thread,
	 * after the answer: the subject may be gone ("?"). */
	if (FANGUARD_HAS_FIELD(v, struct fanguard_verdict_info, exe) && v->exe && v->exe[0]) {
		(void) snprintf(exe, sizeof(exe), "%s", v->exe);
		have_exe = 1;
	} else
		have_exe = proc_read_exe(v->pid, exe, sizeof(exe)) >= 0;
	if (FANGUARD_HAS_FIELD(v, struct fanguard_verdict_info, comm) && v->comm && v->comm[0])
		(void) snprintf(comm, sizeof(comm), "%s", v->comm);
	else if (proc_read_comm(v->pid, comm, sizeof(comm)) < 0)
		comm[0] = '\0';

	/* Structured fields first; the MESSAGE_ID says which kind of line. */
	fields[n++] = message_id(v);
	(void) snprintf(f_verdict, sizeof(f_verdict), "FANGUARD_VERDICT=%s", verdict);
	fields[n++] = f_verdict;
	(void) snprintf(f_path, sizeof(f_path), "FANGUARD_PATH=%s", v->path);
	fields[n++] = f_path;
	(void) snprintf(f_pid, sizeof(f_pid), "FANGUARD_PID=%d", (int) v->pid);
	fields[n++] = f_pid;
	if (uid != (uid_t) -1) {
		(void) snprintf(f_uid, sizeof(f_uid), "FANGUARD_UID=%u", (unsigned) uid);
		fields[n++] = f_uid;
	}
	(void) snprintf(f_comm, sizeof(f_comm), "FANGUARD_COMM=%s", comm[0] ? comm : "?");
	fields[n++] = f_comm;
	(void) snprintf(f_exe, sizeof(f_exe), "FANGUARD_EXE=%s", have_exe ? exe : "?");
	fields[n++] = f_exe;
	(void) snprintf(f_class, sizeof(f_class), "FANGUARD_MOUNT_CLASS=%s",
			fanguard_mount_class_to_string(v->mount_class));
	fields[n++] = f_class;
	(void) snprintf(f_reason, sizeof(f_reason), "FANGUARD_REASON=%s",
			fanguard_reason_to_string(v->reason));
	fields[n++] = f_reason;
	if (v->scanner[0]) {
		(void) snprintf(f_scanner, sizeof(f_scanner), "FANGUARD_SCANNER=%s", v->scanner);
		fields[n++] = f_scanner;
	}
	if (v->detail[0]) {
		(void) snprintf(f_detail, sizeof(f_detail), "FANGUARD_DETAIL=%s", v->detail);
		fields[n++] = f_detail;
	}
	/* The denylist names the file's digest as its detail. */
	if (strcmp(v->scanner, "sha256") == 0 && is_sha256_hex(v->detail)) {
		(void) snprintf(f_sha, sizeof(f_sha), "FANGUARD_SHA256=%s", v->detail);
		fields[n++] = f_sha;
	}
	(void) snprintf(f_lat, sizeof(f_lat), "FANGUARD_LATENCY_USEC=%llu",
			(unsigned long long) v->latency_usec);
	fields[n++] = f_lat;
	fields[n] = NULL;
	assert(n < ELEMENTSOF(fields));

	/* Allows, scanned or not, at debug level: a FUSE daemon that hangs
	 * would make a line per open. The tick sums them up (below). The path
	 * last: a cut of a long line (log.c escapes it and caps it with a
	 * marker) loses only the path's tail. */
	if (denied)
		hook_deny(v, comm[0] ? comm : "?", have_exe ? exe : "?", uid);
	log_struct(denied ? LOG_NOTICE : LOG_DEBUG, 0, fields,
		   "%s%s pid=%d class=%s reason=%s%s%s%s%s latency_us=%llu path=%s", verdict,
		   unscanned ? " (not scanned)" : "", (int) v->pid,
		   fanguard_mount_class_to_string(v->mount_class),
		   fanguard_reason_to_string(v->reason), v->scanner[0] ? " scanner=" : "",
		   v->scanner, v->detail[0] ? " detail=" : "", v->detail,
		   (unsigned long long) v->latency_usec, v->path);
}

static uint64_t grew(uint64_t now, uint64_t *last)
{
	uint64_t d = now > *last ? now - *last : 0;

	*last = now;
	return d;
}

void events_log_tick(struct fanguard *fg, struct events_log_state *st)
{
	char f1[64], f2[64], f3[64];
	const char *fields[5];
	struct stats_table t;
	uint64_t abandoned, queue_full, refused, marks, deadline, errors;

	if (stats_table_read(fg, &t) < 0)
		return;
	abandoned = grew(stats_table_get(&t, "workers_abandoned", NULL), &st->abandoned);
	queue_full = grew(stats_table_get(&t, "verdicts", "queue-full"), &st->queue_full);
	refused = grew(stats_table_get(&t, "threads_refused", NULL), &st->refused);
	marks = grew(stats_table_get(&t, "marks_failed", NULL), &st->marks_failed);
	deadline = grew(stats_table_get(&t, "verdicts", "deadline"), &st->deadline);
	errors = grew(stats_table_get(&t, "verdicts", "error"), &st->errors);
	stats_table_done(&t);
	if (!st->primed) {
		/* The first tick only takes the baseline. */
		st->primed = 1;
		return;
	}
	if (abandoned > 0) {
		(void) snprintf(f1, sizeof(f1), "FANGUARD_WORKERS_ABANDONED=%llu",
				(unsigned long long) abandoned);
		fields[0] = MID(FANGUARD_MESSAGE_ABANDONED);
		fields[1] = f1;
		fields[2] = NULL;
		log_struct(LOG_WARNING, 0, fields,
			   "%llu workers abandoned: stuck in I/O (a FUSE daemon?) past a deadline; "
			   "replacements started",
			   (unsigned long long) abandoned);
	}
	if (queue_full > 0 || refused > 0) {
		(void) snprintf(f1, sizeof(f1), "FANGUARD_QUEUE_FULL=%llu",
				(unsigned long long) queue_full);
		(void) snprintf(f2, sizeof(f2), "FANGUARD_THREADS_REFUSED=%llu",
				(unsigned long long) refused);
		fields[0] = MID(FANGUARD_MESSAGE_OVERLOAD);
		fields[1] = f1;
		fields[2] = f2;
		fields[3] = NULL;
		log_struct(LOG_WARNING, 0, fields,
			   "Overloaded: %llu events answered unscanned because a queue was full, "
			   "%llu threads refused by the budget",
			   (unsigned long long) queue_full, (unsigned long long) refused);
	}
	if (marks > 0 || deadline > 0 || errors > 0) {
		(void) snprintf(f1, sizeof(f1), "FANGUARD_MARKS_FAILED=%llu",
				(unsigned long long) marks);
		(void) snprintf(f2, sizeof(f2), "FANGUARD_DEADLINE=%llu",
				(unsigned long long) deadline);
		(void) snprintf(f3, sizeof(f3), "FANGUARD_ERRORS=%llu",
				(unsigned long long) errors);
		fields[0] = MID(FANGUARD_MESSAGE_UNCOVERED);
		fields[1] = f1;
		fields[2] = f2;
		fields[3] = f3;
		fields[4] = NULL;
		log_struct(LOG_WARNING, 0, fields,
			   "Not covered: %llu mounts left without a mark, %llu events answered at "
			   "their deadline and %llu on a scanner error, unscanned",
			   (unsigned long long) marks, (unsigned long long) deadline,
			   (unsigned long long) errors);
	}
}
