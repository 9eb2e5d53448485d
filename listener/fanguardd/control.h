/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's control socket (fanguardctl(8)): a root-only AF_UNIX stream
 * socket. A client sends one line, "VERB\n" (at most CONTROL_REQUEST_MAX
 * bytes; shutting down its writing side ends the line too); the daemon
 * answers "OK\n" and the payload, or "ERR message\n", and closes.
 * Served on the main thread by a non-blocking server (control-server.c):
 * every client socket is in one epoll set, none is ever waited on, each has
 * a deadline (CONTROL_CLIENT_TIMEOUT_USEC) and replies are capped
 * (CONTROL_REPLY_MAX). Answering events never depends on this thread. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "fanguard.h"
#include "time-util.h"

#define CONTROL_REQUEST_MAX 64
#define CONTROL_REPLY_MAX (8u << 20)
#define CONTROL_MAX_CLIENTS 256
#define CONTROL_CLIENT_TIMEOUT_USEC (5 * 1000000ull)

enum control_verb {
	CONTROL_STATUS,
	CONTROL_STATS,
	CONTROL_METRICS,
	CONTROL_MOUNTS,
	CONTROL_RELOAD,
	CONTROL_SCAN, /* hands the connection to a scan session (control-scan.c) */
	_CONTROL_VERB_MAX,
};

/* What a client sent so far (eof: it shut down writing). Returns the verb,
 * -EAGAIN for an incomplete line, -EMSGSIZE past CONTROL_REQUEST_MAX
 * without a newline, -EINVAL for anything else. */
int control_parse_request(const char *buf, size_t len, bool eof);
const char *control_verb_to_string(int v);

struct control_ctx {
	struct fanguard *fg;
	/* Asks for a reload of the configuration: > 0, the generation whose end
	 * answers the client (control_server_reload_done()); 0 done; < 0 failed
	 * (the old configuration stays, reload_error says why). */
	int64_t (*reload)(void *userdata);
	void *userdata;
	uint64_t started_usec; /* CLOCK_MONOTONIC */
	unsigned reloads_ok, reloads_failed;
	const char *config_path;  /* or NULL */
	const char *reload_error; /* why the last reload failed ("FILE:LINE: ..."), or NULL */
	const char *seccomp_mode;
	int health;		/* last fanguard_check_health() */
	bool audit;		/* audit (permissive) mode: denies are only logged */
	const char *quarantine; /* --quarantine directory, or NULL */
};

/* Binds and listens on path (its directory is created 0700, the socket is
 * 0600); replaces a stale socket, fails with -EADDRINUSE if one answers. */
int control_listen(const char *path, int *ret_fd);

struct control_server;

/* Serves the clients of listen_fd (non-blocking) with ctx. */
int control_server_new(int listen_fd, struct control_ctx *ctx, struct control_server **ret);
struct control_server *control_server_free(struct control_server *s); /* NULL-safe */
static inline void control_server_freep(struct control_server **s)
{
	control_server_free(*s);
}
/* An fd to poll for POLLIN: readable when a client or the listener is. */
int control_server_fd(const struct control_server *s);
/* Milliseconds until the next client deadline, -1 if none. */
int control_server_timeout_ms(const struct control_server *s);
/* Accepts, reads, answers, writes whatever is ready; closes clients past
 * their deadline. Never blocks: a reload runs on a thread of its own
 * (reload-job.h), and its client waits for control_server_reload_done()
 * while the others are served.
 * Never fails the daemon: errors are logged at debug level. */
void control_server_process(struct control_server *s);
/* Answers the clients waiting for reload generation gen or earlier: OK, or
 * ERR with msg when r < 0. */
void control_server_reload_done(struct control_server *s, uint64_t gen, int r, const char *msg);

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
