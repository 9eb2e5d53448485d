/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Executable identity for exclusions (issue 17): a subject matches an
 * excluded executable only by the file it runs (device + inode of
 * /proc/PID/exe, which names the running image even if the path was
 * replaced or renamed) TOGETHER with the uid it runs as. Never by path,
 * never by the file alone: /usr/sbin/clamd is world-executable, so any user
 * could run it and be exempted; a user cannot run it as clamav.
 *
 * For the subject module (core): exe_id_of_pid() at event receipt, then
 * exe_id_matches() against each rule made by exe_id_from_path() when the
 * exclusion was configured. Reads /proc: never on a FUSE file, but not
 * free either (two syscalls). */
#include <stdbool.h>
#include <sys/types.h>

struct exe_id {
	dev_t dev;
	ino_t ino;
	uid_t uid; /* effective uid the process runs as */
};

/* The rule for an excluded executable at path, for processes running as uid. */
int exe_id_from_path(const char *path, uid_t uid, struct exe_id *ret);
/* The subject's identity: stat() of /proc/PID/exe and its effective uid
 * (/proc/PID/status). -errno if either is unreadable (gone, or ptrace access
 * refused): the caller then scans (fails closed). */
int exe_id_of_pid(pid_t pid, struct exe_id *ret);
/* The matching rule: device, inode and uid all equal. */
bool exe_id_matches(const struct exe_id *rule, const struct exe_id *subject);
