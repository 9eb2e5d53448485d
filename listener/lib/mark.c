/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* open_mount_with_deadline() (mark-internal.h). The mark itself is placed
 * by the caller through the domain (domain_mark()), with the fd this
 * returns: a helper that kept a dup of the group fd could be pinned by a
 * hung path walk and so keep a stopped group (and the events the kernel
 * still queues on it) alive. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "fg-internal.h"
#include "macro.h"
#include "mark-internal.h"
#include "mounts.h"

struct open_job {
	_Atomic int refs;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool done;	     /* protected by lock */
	bool abandoned;	     /* protected by lock */
	int result;	     /* protected by lock */
	int fd;		     /* protected by lock: handed over if not abandoned */
	uint64_t unique;     /* protected by lock */
	char *path;
	uint64_t mnt_id;
};

static void open_job_unref(struct open_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	safe_close(j->fd);
	free(j->path);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *open_main(void *userdata)
{
	struct open_job *j = userdata;
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0, unique = 0;
	int r = 0;

	/* Either may block on a dead filesystem: that is why we are here. */
	fd = open(j->path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		r = -errno;
	if (r == 0)
		r = fd_mount_id(fd, &id, &unique);
	/* Something was mounted over it since: that mount is handled itself. */
	if (r == 0 && id != j->mnt_id)
		r = -ESTALE;
	pthread_mutex_lock(&j->lock);
	j->result = r;
	j->unique = unique;
	if (r == 0 && !j->abandoned)
		j->fd = TAKE_FD(fd);
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	open_job_unref(j);
	return NULL;
}

int open_mount_with_deadline(const char *path, uint64_t mnt_id, usec_t deadline, int *ret_fd,
			     uint64_t *ret_unique)
{
	struct open_job *j = calloc(1, sizeof(*j));
	pthread_condattr_t ca;
	pthread_t t;
	int r;

	if (!j)
		return -ENOMEM;
	atomic_init(&j->refs, 2);
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->fd = -EBADF;
	j->path = strdup(path);
	j->mnt_id = mnt_id;
	if (!j->path) {
		atomic_store(&j->refs, 1);
		open_job_unref(j);
		return -ENOMEM;
	}
	r = fg_thread_start(&t, "fg-mark", open_main, j, /* detached= */ true);
	if (r < 0) {
		atomic_store(&j->refs, 1);
		open_job_unref(j);
		return r;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->done) {
		struct timespec ts = usec_to_timespec(deadline);

		if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) == ETIMEDOUT && !j->done)
			break;
	}
	if (!j->done) {
		j->abandoned = true;
		r = -ETIMEDOUT;
	} else if ((r = j->result) >= 0) {
		*ret_fd = TAKE_FD(j->fd);
		*ret_unique = j->unique;
	}
	pthread_mutex_unlock(&j->lock);
	open_job_unref(j);
	return r;
}
