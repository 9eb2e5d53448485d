/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Exclusions (paths, pids, uids, executables): an immutable snapshot
 * (snapshot.h) that config calls replace and readers consult without ever
 * waiting on a writer. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "exe-id.h"
#include "snapshot.h"

struct fanguard;
struct subject;

/* Which mounts are in the listener's mount namespace, by unique mount id
 * (never reused; STATX_MNT_ID_UNIQUE, 6.8): a path prefix names files only
 * as this namespace spells them. Direct-mapped; a miss reads the table. */
#define NS_CACHE_SIZE 64
struct ns_cache {
	pthread_mutex_t lock;
	uint64_t id[NS_CACHE_SIZE]; /* 0: empty */
	bool ours[NS_CACHE_SIZE];
};

void ns_cache_init(struct ns_cache *c);
void ns_cache_done(struct ns_cache *c);

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
/* Whether the event (subject subj, file fd) is excluded. A path prefix
 * matches only a file reached through a mount of the listener's own mount
 * namespace: in another namespace (an unshare -Urm copy, a container) the
 * same path string may name a different file (issue 13, finding 7). */
bool exclusions_match(struct fanguard *fg, const struct exclusions *x, struct subject *subj,
		      int fd);
/* Whether a rule names subjects (pids, uids, executables): a group created
 * now asks for pidfds (FAN_REPORT_PIDFD) only then (domain.c). */
bool exclusions_need_subject(struct fanguard *fg);
