/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Starting the library's threads (thread.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Starts a thread named name with every signal blocked (the embedding
 * program's handlers must never run on our threads). 0 or -errno. */
int fg_thread_start(pthread_t *ret, const char *name, void *(*fn)(void *), void *arg,
		    bool detached);

/* A background thread woken by an eventfd (the mount watcher, the FUSE
 * namespace poller, the scanners' state watch, the classifier): start, wake,
 * wait inside the thread, stop (wake and join). Zero-initialised is a
 * stopped thread; start and stop are serialised by the owner. */
struct fg_bg_thread {
	pthread_t thread;
	int wake_fd; /* eventfd, once have_fd */
	bool have_fd;
	bool running;	       /* the owner's serialisation */
	_Atomic bool stopping; /* set by fg_bg_thread_stop() before the join */
};

/* Starts fn(arg) named name; 0 at once if it runs already. */
int fg_bg_thread_start(struct fg_bg_thread *t, const char *name, void *(*fn)(void *), void *arg);
/* Wakes the thread's fg_bg_thread_wait() (work is queued). */
void fg_bg_thread_wake(struct fg_bg_thread *t);
/* In the thread: waits up to ms (-1: no limit) for a wake-up, or for extra_fd
 * (-1: none) to poll with events. -ESHUTDOWN once stop was asked; 1 if
 * extra_fd is ready (its revents in *ret_revents); 0 otherwise (woken, or
 * the time passed). */
int fg_bg_thread_wait(struct fg_bg_thread *t, int extra_fd, short events, int ms,
		      short *ret_revents);
/* Asks the thread to end, wakes and joins it; no-op if it is not running. */
void fg_bg_thread_stop(struct fg_bg_thread *t);
/* After the last stop: closes the eventfd. */
void fg_bg_thread_done(struct fg_bg_thread *t);
