/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lazy subject lookups (subject-internal.h). Runs on readers and workers:
 * procfs and pidfd only, never a path that could be on FUSE. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "exe-id.h"
#include "macro.h"
#include "procfs.h"
#include "subject-internal.h"

/* 0 unknown, 1 works, -1 not on this kernel (ENOTTY/EINVAL). Process-wide:
 * a property of the kernel, not of a listener. */
static _Atomic int pidfd_info_works;

void subject_init(struct subject *s, pid_t pid, int pidfd)
{
	s->pid = pid;
	s->pidfd = pidfd;
	s->have = s->failed = 0;
	s->comm[0] = s->exe[0] = '\0';
}

static int euid_by_pidfd(int pidfd, uid_t *ret)
{
	struct fg_pidfd_info info = {.mask = FG_PIDFD_INFO_CREDS};

	if (pidfd < 0 || atomic_load_explicit(&pidfd_info_works, memory_order_relaxed) < 0)
		return -EOPNOTSUPP;
	if (ioctl(pidfd, FG_PIDFD_GET_INFO, &info) < 0) {
		if (errno == ENOTTY || errno == EINVAL) {
			atomic_store_explicit(&pidfd_info_works, -1, memory_order_relaxed);
			return -EOPNOTSUPP;
		}
		return -errno; /* ESRCH: the subject is gone */
	}
	if (!(info.mask & FG_PIDFD_INFO_CREDS))
		return -EOPNOTSUPP;
	atomic_store_explicit(&pidfd_info_works, 1, memory_order_relaxed);
	*ret = (uid_t) info.euid;
	return 0;
}

int subject_euid(struct subject *s, uid_t *ret)
{
	int r;

	if (!(s->have & SUBJECT_EUID)) {
		if (s->failed & SUBJECT_EUID)
			return -ESRCH;
		r = euid_by_pidfd(s->pidfd, &s->euid);
		if (r == -EOPNOTSUPP)
			/* FIXME: drop once kernel >= 6.13 is the baseline */
			r = proc_read_euid(s->pid, &s->euid);
		if (r < 0) {
			s->failed |= SUBJECT_EUID;
			return r;
		}
		s->have |= SUBJECT_EUID;
	}
	*ret = s->euid;
	return 0;
}

const char *subject_comm(struct subject *s)
{
	if (!((s->have | s->failed) & SUBJECT_COMM)) {
		if (s->pid > 0 && proc_read_comm(s->pid, s->comm, sizeof(s->comm)) >= 0)
			s->have |= SUBJECT_COMM;
		else {
			s->comm[0] = '\0';
			s->failed |= SUBJECT_COMM;
		}
	}
	return s->comm;
}

const char *subject_exe(struct subject *s)
{
	if (!((s->have | s->failed) & SUBJECT_EXE)) {
		if (s->pid > 0 && proc_read_exe(s->pid, s->exe, sizeof(s->exe)) >= 0)
			s->have |= SUBJECT_EXE;
		else {
			s->exe[0] = '\0';
			s->failed |= SUBJECT_EXE;
		}
	}
	return s->exe;
}

int subject_exe_id(struct subject *s, struct exe_id *ret)
{
	char path[64];
	struct stat st;
	uid_t euid;
	int r;

	if (s->pid <= 0)
		return -ESRCH;
	(void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) s->pid);
	/* stat() follows the magic link to the running image itself, even if
	 * its path was replaced or renamed since. */
	if (stat(path, &st) < 0)
		return -errno;
	r = subject_euid(s, &euid);
	if (r < 0)
		return r;
	*ret = (struct exe_id){.dev = st.st_dev, .ino = st.st_ino, .uid = euid};
	return 0;
}

bool subject_still_alive(struct subject *s)
{
	pid_t now;

	return s->pidfd >= 0 && proc_pidfd_pid(s->pidfd, &now) >= 0 && now == s->pid;
}
