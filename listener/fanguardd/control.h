/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's control socket (fanguardctl(8)): a root-only AF_UNIX stream
 * socket. A client sends one line, "VERB\n"; the daemon answers "OK\n" and
 * the payload, or "ERR message\n", and closes. Served on the main thread
 * between signals, with short socket timeouts so that a stuck client can
 * never hold the daemon (answering events never depends on this thread). */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "time-util.h"

struct control_ctx {
	struct fanguard *fg;
	/* Re-reads the configuration; < 0 keeps the old one. */
	int (*reload)(void *userdata);
	void *userdata;
	uint64_t started_usec; /* CLOCK_MONOTONIC */
	unsigned reloads_ok, reloads_failed;
	const char *config_path;  /* or NULL */
	const char *reload_error; /* why the last reload failed ("FILE:LINE: ..."), or NULL */
	const char *seccomp_mode;
	int health; /* last fanguard_check_health() */
};

/* Binds and listens on path (its directory is created 0700, the socket is
 * 0600); replaces a stale socket, fails with -EADDRINUSE if one answers. */
int control_listen(const char *path, int *ret_fd);
/* Accepts and serves one client. Never fails the daemon: errors are logged. */
void control_serve_one(int listen_fd, struct control_ctx *ctx);

/* The payloads, also used for the stats file and STATUS=. Caller frees. */
int control_stats_json(struct control_ctx *ctx, char **ret);
int control_metrics(struct control_ctx *ctx, char **ret);
int control_mounts_json(struct control_ctx *ctx, char **ret);
int control_status_text(struct control_ctx *ctx, char **ret);

/* control-scan.c: "scan" hands the connection to a session thread (see
 * there for the protocol); takes fd whatever happens. -EBUSY when
 * CONTROL_SCAN_MAX_SESSIONS run already (the client is told so). */
#define CONTROL_SCAN_DEADLINE_MS 30000
int control_scan_start(struct control_ctx *ctx, int fd, pid_t pid);
/* At exit, before fanguard_stop(): ends every session (waits up to timeout
 * for scans in flight); false if some are still running. */
bool control_scan_stop_all(usec_t timeout);
