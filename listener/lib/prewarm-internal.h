/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The pre-warm pass (prewarm.c, fanguard_prewarm()): a background walk of
 * configured directories that scans their files and caches the clean ones
 * (cache.c) before anyone opens them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "thread-internal.h"
#include "time-util.h"

struct fanguard;

enum prewarm_state {
	PREWARM_OFF = 0, /* never asked, or asked for no paths */
	PREWARM_RUNNING,
	PREWARM_DONE,
	PREWARM_STOPPED, /* ended early: fanguard_stop(), or a new pass replaced it */
	_PREWARM_STATE_MAX,
};

/* Why a file of the walk got no mark. Each file seen is counted once: seen
 * = cached + dirty + the sum of these. */
enum prewarm_skip {
	PREWARM_SKIP_NOT_REGULAR, /* FIFO, socket, device, symlink (never followed) */
	PREWARM_SKIP_TOO_LARGE,	  /* over max_scan_bytes */
	PREWARM_SKIP_OTHER_FS,	  /* another mount, or one the cache does not keep */
	PREWARM_SKIP_BUDGET,	  /* the cache reached max_cache_marks */
	PREWARM_SKIP_CHANGED,	  /* changed while it was scanned (cache.c's race checks) */
	PREWARM_SKIP_ERROR,	  /* open, statx, mark, or a scan that could not decide */
	_PREWARM_SKIP_MAX,
};

/* What the walk does with one directory entry, from its statx(). */
enum prewarm_step {
	PREWARM_STEP_DESCEND, /* a directory of the same mount */
	PREWARM_STEP_SCAN,    /* a regular file of the same mount, small enough */
	PREWARM_STEP_SKIP,    /* counted under *ret_skip */
};

/* Pure: the step for an entry whose statx (STATX_TYPE | STATX_SIZE |
 * STATX_MNT_ID asked for) is stx, in a walk of the mount root_mnt_id. */
enum prewarm_step prewarm_step_for(const struct statx *stx, uint64_t root_mnt_id,
				   uint64_t max_scan_bytes, enum prewarm_skip *ret_skip);

/* The walk's scratch buffer, for the scanners. */
#define PREWARM_BUF_SIZE (256 * 1024)

struct domain;
struct fg_prewarm;

/* One pass's working state (prewarm.c fills it, prewarm-walk.c walks). */
struct prewarm_walk {
	struct fanguard *fg;
	struct fg_prewarm *pw;
	struct domain *local; /* a reference: where the marks go */
	struct domain *sd;    /* the scans' stand-in (counts their bytes) */
	uint8_t *buf;	      /* PREWARM_BUF_SIZE */
	uint64_t root_mnt_id; /* the configured path's mount */
	long f_type;	      /* its filesystem type */
	bool budget_full;     /* sticky: the rest of the pass only counts */
};

/* Walks the directory path (opened as given; nothing below it is resolved
 * by path), counting every entry into w->pw. */
void prewarm_walk_root(struct prewarm_walk *w, const char *path);
/* Whether the pass was asked to stop (checked between entries). */
bool prewarm_walk_stopping(const struct prewarm_walk *w);
/* An entry seen and skipped for why: both counted. */
void prewarm_skip_entry(struct prewarm_walk *w, enum prewarm_skip why);

/* Embedded in struct fanguard. Counters are of the current (or last) pass. */
struct fg_prewarm {
	/* Serialises starting and stopping the pass (taken before fg->lock). */
	pthread_mutex_t lock;
	struct fg_bg_thread thread;
	char **paths; /* the pass's, owned; replaced only while the thread is stopped */
	size_t n_paths;
	_Atomic int state; /* enum prewarm_state */
	_Atomic uint64_t seen, cached, dirty, skipped[_PREWARM_SKIP_MAX];
	_Atomic usec_t started_usec, ended_usec;
};

void prewarm_init(struct fg_prewarm *pw);
/* From fanguard_stop(), after fg->stopped is set: ends the pass, joins. */
void prewarm_stop(struct fanguard *fg);
/* At the listener's end. */
void prewarm_done(struct fg_prewarm *pw);
/* The pass's run time so far (running) or in all (done, stopped). */
usec_t prewarm_elapsed(const struct fg_prewarm *pw);
const char *prewarm_state_to_string(int state);
const char *prewarm_skip_to_string(int skip);
