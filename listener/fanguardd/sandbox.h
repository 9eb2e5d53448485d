/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
/* fanguardd's sandbox, three layers, each in force in every thread:
 *
 * 1. Capabilities (sandbox_drop_capabilities(), before any thread starts):
 *    every one is dropped from the effective, permitted, inheritable,
 *    ambient and bounding sets except
 *      CAP_SYS_ADMIN       fanotify_init/fanotify_mark for watches added on
 *                          reload and mounts that appear later;
 *      CAP_DAC_READ_SEARCH open paths to watch and read denylists, YARA
 *                          rules and configuration wherever they are;
 *      CAP_SYS_PTRACE      read /proc/PID/{fd,fdinfo,exe} of other users'
 *                          processes (the loopback detector, exe exclusions):
 *                          procfs refuses them otherwise. Its danger, a write
 *                          open of /proc/PID/mem, is closed by 2 and 3.
 * 2. Landlock (sandbox_landlock_apply(), before any thread starts: it binds
 *    the calling thread and the threads it creates): writes only in the
 *    directories listed (stats file, pid file, control socket; a future
 *    quarantine directory goes in the same list), no exec, TCP connect only
 *    to the configured clamd ports and no TCP bind (ABI 4), no connect to an
 *    abstract unix socket made outside the daemon and no signal to another
 *    process (ABI 6 scoping). Gap: no Landlock ABI controls connect() to a
 *    pathname unix socket (clamd's, the journal's: allowed).
 * 3. seccomp (sandbox_seccomp_install(), after every mark is in place, TSYNC
 *    into every thread): an allow-list with argument checks: openat/open
 *    only read-only without O_TRUNC, or O_CREAT|O_EXCL (a new file: never an
 *    existing /proc/PID/mem); clone only for threads (CLONE_THREAD|CLONE_VM|
 *    CLONE_SIGHAND, no namespace flags); clone3 fails with ENOSYS so glibc
 *    falls back to clone, whose flags seccomp can read; socket only AF_UNIX
 *    (and AF_INET/AF_INET6 with a TCP clamd); ioctl only TCGETS; tgkill only
 *    to this process; prctl only PR_SET_NAME/PR_GET_NAME. No exec, ptrace,
 *    mount, module loading, id changes. Sanitizer builds (tests) also allow
 *    what LeakSanitizer needs (ptrace, fork-like clone).
 *
 * In a static library of its own so that a test helper (seccomp-probe) can
 * apply exactly the daemon's sandbox. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Drops every capability but CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH and
 * CAP_SYS_PTRACE (see above), and CAP_AUDIT_WRITE if keep_audit_write
 * (--kernel-audit: groups made later ask for FAN_ENABLE_AUDIT); with
 * keep_setid also CAP_SETUID and CAP_SETGID, for --watch-all-fuse only: a
 * FUSE filesystem of another user namespace is read with the mounter's fs
 * ids (setfsuid(2), setfsgid(2)), as fuse refuses requests from ids
 * unmapped there. With keep_quarantine (--quarantine) also
 * CAP_DAC_OVERRIDE and CAP_FOWNER: removing a denied file needs write
 * access to its directory, a user's, sticky ones included. */
int sandbox_drop_capabilities(bool keep_audit_write, bool keep_setid, bool keep_quarantine);

struct sandbox_landlock {
	const char *const *write_dirs; /* directories the daemon writes files in */
	size_t n_write_dirs;
	/* Trees where it may remove files (--quarantine: the watched paths). */
	const char *const *remove_dirs;
	size_t n_remove_dirs;
	const uint16_t *tcp_ports; /* TCP ports it may connect to (clamd) */
	size_t n_tcp_ports;
};

/* The kernel's Landlock ABI version, 0 if it has none (or it is disabled). */
int sandbox_landlock_abi(void);
/* Restricts the calling thread and its future threads. Returns the ABI
 * used, 0 if the kernel has no Landlock (nothing done), or -errno. */
int sandbox_landlock_apply(const struct sandbox_landlock *ll);
