/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fg_thread_start() (thread-internal.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "thread-internal.h"

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

/* A thread names itself (PR_SET_NAME): naming another thread writes
 * /proc/self/task/TID/comm, a write open that fanguardd's seccomp filter
 * forbids once it is loaded (threads also start after that). */
static void *thread_trampoline(void *userdata)
{
	struct thread_start ts = *(struct thread_start *) userdata;

	free(userdata);
	(void) pthread_setname_np(pthread_self(), ts.name);
	return ts.fn(ts.arg);
}

int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg, bool detached)
{
	struct thread_start *ts;
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	ts->fn = fn;
	ts->arg = arg;
	(void) snprintf(ts->name, sizeof(ts->name), "%s", name);

	/* The embedding program's signal handlers must never run on our
	 * threads, and a signal must never interrupt our syscalls. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(ret, &attr, thread_trampoline, ts);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		free(ts);
	return r;
}
