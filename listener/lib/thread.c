/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fg_thread_start() and struct fg_bg_thread (thread-internal.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "macro.h"
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

int fg_bg_thread_start(struct fg_bg_thread *t, const char *name, void *(*fn)(void *), void *arg)
{
	int r;

	if (t->running)
		return 0;
	if (!t->have_fd) {
		t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->wake_fd < 0)
			return -errno;
		t->have_fd = true;
	}
	atomic_store(&t->stopping, false);
	r = fg_thread_start(&t->thread, name, fn, arg, /* detached= */ false);
	if (r < 0)
		return r;
	t->running = true;
	return 0;
}

void fg_bg_thread_wake(struct fg_bg_thread *t)
{
	uint64_t one = 1;

	if (t->have_fd)
		(void) !write(t->wake_fd, &one, sizeof(one));
}

int fg_bg_thread_wait(struct fg_bg_thread *t, int extra_fd, short events, int ms,
		      short *ret_revents)
{
	struct pollfd p[2] = {
		{.fd = t->wake_fd, .events = POLLIN},
		{.fd = extra_fd, .events = events},
	};
	uint64_t v;

	if (atomic_load(&t->stopping))
		return -ESHUTDOWN;
	if (poll(p, extra_fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
		return -errno;
	if (p[0].revents)
		(void) !read(t->wake_fd, &v, sizeof(v));
	if (atomic_load(&t->stopping))
		return -ESHUTDOWN;
	if (extra_fd >= 0 && p[1].revents) {
		if (ret_revents)
			*ret_revents = p[1].revents;
		return 1;
	}
	return 0;
}

void fg_bg_thread_stop(struct fg_bg_thread *t)
{
	if (!t->running)
		return;
	atomic_store(&t->stopping, true);
	fg_bg_thread_wake(t);
	(void) pthread_join(t->thread, NULL);
	t->running = false;
}

void fg_bg_thread_done(struct fg_bg_thread *t)
{
	if (t->have_fd)
		safe_close(t->wake_fd);
	t->have_fd = false;
}
