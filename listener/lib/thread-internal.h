/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Starting the library's threads (thread.c). */
#include <pthread.h>
#include <stdbool.h>

/* Starts a thread named name with every signal blocked (the embedding
 * program's handlers must never run on our threads). 0 or -errno. */
int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg,
		    bool detached);
