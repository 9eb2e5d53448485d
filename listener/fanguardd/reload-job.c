/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reload on a thread of its own (reload-job.h). The main thread owns the
 * job's fields; the thread writes only its result and then the eventfd,
 * which publishes it (the main thread joins before reading). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "fd-util.h"
#include "macro.h"
#include "reload-job.h"

struct reload_job {
	reload_prepare_fn prepare;
	void *userdata;
	int efd;
	pthread_t thread;
	bool running;
	uint64_t started, wanted; /* generations */
	/* the running thread's result */
	int r;
	void *state;
	char err[1024];
};

int reload_job_new(reload_prepare_fn prepare, void *userdata, struct reload_job **ret)
{
	struct reload_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->prepare = prepare;
	j->userdata = userdata;
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->efd < 0) {
		int r = -errno;

		free(j);
		return r;
	}
	*ret = j;
	return 0;
}

static void *job_main(void *p)
{
	struct reload_job *j = p;
	uint64_t one = 1;

	j->err[0] = '\0';
	j->state = NULL;
	j->r = j->prepare(j->userdata, &j->state, j->err, sizeof(j->err));
	(void) !write(j->efd, &one, sizeof(one));
	return NULL;
}

static int job_start(struct reload_job *j)
{
	int r = pthread_create(&j->thread, NULL, job_main, j);

	if (r != 0)
		return -r;
	j->running = true;
	j->started++;
	return 0;
}

int64_t reload_job_request(struct reload_job *j)
{
	int r;

	if (j->running) {
		/* After the one running: it may have read the old file. */
		j->wanted = j->started + 1;
		return (int64_t) j->wanted;
	}
	r = job_start(j);
	if (r < 0)
		return r;
	j->wanted = j->started;
	return (int64_t) j->started;
}

bool reload_job_collect(struct reload_job *j, int *ret_r, void **ret_state, char *err,
			size_t errlen, uint64_t *ret_gen)
{
	uint64_t v;

	if (!j->running || read(j->efd, &v, sizeof(v)) != (ssize_t) sizeof(v))
		return false;
	(void) pthread_join(j->thread, NULL);
	j->running = false;
	*ret_r = j->r;
	*ret_state = j->state;
	*ret_gen = j->started;
	if (errlen > 0) {
		strncpy(err, j->err, errlen - 1);
		err[errlen - 1] = '\0';
	}
	return true;
}

bool reload_job_continue(struct reload_job *j)
{
	if (j->running || j->wanted <= j->started)
		return false;
	if (job_start(j) < 0) {
		j->wanted = j->started; /* those clients got the last result */
		return false;
	}
	return true;
}

bool reload_job_running(const struct reload_job *j)
{
	return j && j->running;
}

int reload_job_fd(const struct reload_job *j)
{
	return j->efd;
}

void reload_job_free(struct reload_job *j, void (*free_state)(void *state))
{
	if (!j)
		return;
	if (j->running) {
		(void) pthread_join(j->thread, NULL);
		if (j->state && free_state)
			free_state(j->state);
	}
	safe_close(j->efd);
	free(j);
}
