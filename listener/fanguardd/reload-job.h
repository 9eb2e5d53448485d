/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A reload in the background: the slow part (parsing fanguard.conf,
 * loading denylists of millions of digests, compiling YARA rules, handing
 * them to the library) runs on a thread of its own, so the main loop keeps
 * serving signals, the watchdog and every other control client meanwhile.
 * The result is committed on the main thread (the settings swap, counters),
 * so nothing the main loop reads changes under it.
 *
 * Requests while one runs are merged into one more run after it: each
 * requester gets the generation whose completion answers it, and that run
 * starts after the request, so it sees the configuration as of then. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reload_job;

/* Runs on the job's thread: builds the new state (*ret_state) or fails
 * (< 0) with a message in err. Must not touch what the main loop changes. */
typedef int (*reload_prepare_fn)(void *userdata, void **ret_state, char *err, size_t errlen);

int reload_job_new(reload_prepare_fn prepare, void *userdata, struct reload_job **ret);
/* Joins a running reload first (its result is freed through free_state). */
void reload_job_free(struct reload_job *j, void (*free_state)(void *state));
/* Readable when a run finished: then call reload_job_collect(). */
int reload_job_fd(const struct reload_job *j);
/* Asks for a reload; returns the generation that will answer it (> 0), or
 * -errno if no thread could start (the caller may reload synchronously). */
int64_t reload_job_request(struct reload_job *j);
/* After the fd polled readable: joins the finished run and returns true
 * with its result (*ret_r, *ret_state, err, *ret_gen); false if nothing
 * finished. Commit the result, then call reload_job_continue(). */
bool reload_job_collect(struct reload_job *j, int *ret_r, void **ret_state, char *err,
			size_t errlen, uint64_t *ret_gen);
bool reload_job_running(const struct reload_job *j);
/* Starts the run asked for while the last one ran, if any (after the last
 * result was committed: the next run reads what the commit put in place).
 * false if none started; then the clients waiting for it were answered with
 * the last result (its generation covers them). */
bool reload_job_continue(struct reload_job *j);
