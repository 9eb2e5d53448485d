/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* fanguardd's sandbox after init: a seccomp allow-list (libseccomp) and the
 * capabilities it keeps. In a static library of its own so that a test
 * helper can load exactly the daemon's filter. Never called before every
 * mark is in place: marking needs syscalls the filter then forbids. */
#include <stdbool.h>

enum fg_seccomp_mode {
	FG_SECCOMP_OFF,
	FG_SECCOMP_LOG,	  /* allow, but the kernel logs it (audit, SECCOMP_RET_LOG) */
	FG_SECCOMP_ERRNO, /* the call fails with EPERM */
	FG_SECCOMP_KILL,  /* the whole process dies with SIGSYS */
	_FG_SECCOMP_MAX,
};

int seccomp_mode_from_string(const char *s); /* -EINVAL if unknown */
const char *seccomp_mode_to_string(enum fg_seccomp_mode m);

/* sandbox_seccomp_install() flags */
#define FG_SANDBOX_INET (1u << 0) /* AF_INET/AF_INET6 sockets: a remote clamd (--clamd-tcp) */

/* Loads the allow-list into every thread of the process (TSYNC); sets
 * no_new_privs. A no-op for FG_SECCOMP_OFF. */
int sandbox_seccomp_install(enum fg_seccomp_mode mode, unsigned flags);

/* Drops every capability but CAP_SYS_ADMIN (new fanotify groups and marks
 * on reload) and CAP_DAC_READ_SEARCH (open paths to watch, read denylists),
 * and CAP_AUDIT_WRITE if keep_audit_write (FAN_ENABLE_AUDIT groups), from the effective, permitted, inheritable and bounding sets. */
int sandbox_drop_capabilities(bool keep_audit_write);
