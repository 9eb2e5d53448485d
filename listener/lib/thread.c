/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fg_thread_start() (thread-internal.h). */
#include <signal.h>
#include "thread-internal.h"

int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg, bool detached)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	/* The embedding program's signal handlers must never run on our
	 * threads, and a signal must never interrupt our syscalls. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(ret, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		(void) pthread_setname_np(*ret, name);
	return r;
}
