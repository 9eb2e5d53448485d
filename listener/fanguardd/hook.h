/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The on-deny hook (hook.c, --on-deny): a program run for every deny, with
 * the facts in its environment (FANGUARD_PATH, FANGUARD_SHA256, ...), like
 * clamd's VirusEvent but never through a shell string. The sandbox forbids
 * fork and exec once it is on, so a helper process is forked at start,
 * before any thread or fanotify group exists; the daemon hands it each
 * deny over a socketpair without ever blocking, and the helper runs the
 * program, one at a time, under a timeout and a rate limit, and reaps it. */
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"

struct hook_settings {
	const char *program; /* absolute path */
	uint32_t timeout_ms; /* then SIGKILL */
	uint32_t per_minute; /* at most this many runs per minute; more are dropped */
	uid_t uid;	     /* the program runs as this user, without capabilities */
	gid_t gid;
};

/* The uid and gid of the user the program runs as (NULL: "nobody"); logs
 * and returns -ENOENT if there is none. */
int hook_user(const char *name, uid_t *ret_uid, gid_t *ret_gid);

/* Forks the helper. Call while the process has one thread and no fd it
 * must not hand down (the helper closes every fd but its socket). */
int hook_start(const struct hook_settings *hs);

/* From the verdict callback: queues one deny (or would-be deny in audit
 * mode) for the helper; drops it (counted) if the helper is behind. */
void hook_deny(const struct fanguard_verdict_info *v, const char *comm, const char *exe, uid_t uid);

/* Closes the daemon's end: the helper finishes the program running, if
 * any (bounded by its timeout), and exits. */
void hook_stop(void);
