/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Exclusions (paths, pids, uids, executables): an immutable snapshot
 * (snapshot.h) that config calls replace and readers consult without ever
 * waiting on a writer. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "exe-id.h"
#include "snapshot.h"

struct subject;

struct exclusions {
	struct snapshot s;
	pid_t *pids;
	uint64_t *pid_starts; /* their start times (0: unknown) */
	size_t n_pids;
	char **paths;
	size_t n_paths;
	uid_t *uids; /* subjects' effective uids */
	size_t n_uids;
	struct exe_rule *exes; /* executables by identity (exe-id.h) */
	size_t n_exes;
};

/* An excluded executable: the file's device and inode, resolved when the
 * rule is set (a replaced binary, say a package upgrade, is a new inode:
 * scanned until the rule is set again), and the effective uid it must run
 * as; any_uid exempts everyone who runs it. */
struct exe_rule {
	struct exe_id id;
	bool any_uid;
};

/* An empty set with one reference; NULL on OOM. */
struct exclusions *exclusions_new(void);
/* Whether the event (subject subj, file fd) is excluded. */
bool exclusions_match(const struct exclusions *x, struct subject *subj, int fd);
