/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Who raised an event: comm, executable, effective uid. Each is read only
 * when a rule or a log line asks, and at most once per event. The uid comes
 * through the event's pidfd (PIDFD_GET_INFO, 6.13) where the kernel has it,
 * detected at run time, else from /proc; comm and exe always from /proc.
 * All procfs reads: never a round trip to a FUSE daemon. */
#include <stdbool.h>
#include <sys/types.h>

struct subject {
	pid_t pid;
	int pidfd;	       /* borrowed, or -EBADF */
	unsigned have, failed; /* SUBJECT_* bits */
	uid_t euid;
	char comm[17];
	char exe[4096];
};

#define SUBJECT_EUID (1u << 0)
#define SUBJECT_COMM (1u << 1)
#define SUBJECT_EXE (1u << 2)

struct exe_id;

void subject_init(struct subject *s, pid_t pid, int pidfd);
/* 0 or -errno (gone, unreadable). */
int subject_euid(struct subject *s, uid_t *ret);
/* "" when unknown. */
const char *subject_comm(struct subject *s);
const char *subject_exe(struct subject *s);
/* The executable's identity (exe-id.h): stat() of /proc/PID/exe (the
 * running image) and the effective uid. 0 or -errno (gone, or no ptrace
 * access to another uid's process). */
int subject_exe_id(struct subject *s, struct exe_id *ret);
/* Whether the event's pidfd still names pid: a pid number is not reused
 * before its process is reaped, so what was read by pid was the subject's.
 * false without a pidfd. */
bool subject_still_alive(struct subject *s);
