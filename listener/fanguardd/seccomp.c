/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's sandbox after init: a libseccomp allow-list loaded into every
 * thread (the library's readers, workers and keepers already run), and the
 * capability sets cut down to what a reload still needs (sandbox.h has the
 * whole picture, Landlock included).
 *
 * What the running daemon does, and so what the list holds: read events and
 * write answers (read/write on fanotify fds), open and read event files and
 * denylists (openat read-only, pread, statx, readlink of /proc/self/fd),
 * write the stats file (a new temporary, renamed), add groups and marks on
 * reload (fanotify_init, fanotify_mark, eventfd2), start and retire threads
 * (clone for threads only, futex, mmap, madvise, rseq), log to the journal
 * (AF_UNIX socket, sendmsg, memfd_create), serve the control socket
 * (accept4, recvfrom, sendto, epoll). Never exec, ptrace, mount, load
 * modules, use the network (but a configured TCP clamd), or change ids.
 * Must never be installed before the marks are placed: that is the only
 * time the daemon opens its setup paths. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include "config.h"
#include "procfs.h"
#include "sandbox.h"
#if HAVE_LIBSECCOMP
#include <seccomp.h>
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FG_SANITIZED 1
#endif
#endif

#if HAVE_LIBSECCOMP
/* FS_IOC_GETFSUUID (6.5) = _IOR(0x15, 0, struct fsuuid2 { u8 len; u8 uuid[16]; }):
 * Debian 12's headers (6.1) lack it. */
#define FG_FS_IOC_GETFSUUID _IOR(0x15, 0, uint8_t[17])
#define FG_NR_STATMOUNT 457
#define FG_NR_LISTMOUNT 458

static const char *const allowed[] = {
	/* files and fds */
	"read",
	"setfsuid",
	"setfsgid",
	"write",
	"readv",
	"writev",
	"pread64",
	"fadvise64", /* POSIX_FADV_SEQUENTIAL on large files being hashed */
	"preadv2",   /* RWF_NOWAIT: readers scan small files in memory (reader.c) */
	"pwrite64",
	"close",
	"close_range",
	"lseek",
	"fstat",
	"newfstatat",
	"stat",
	"lstat",
	"statx",
	"statfs",
	"fstatfs",
	"readlink",
	"readlinkat",
	"getdents64",
	"getdents",
	"getcwd",
	"access",
	"faccessat",
	"faccessat2",
	"fcntl",
	"dup",
	"dup3",
	"fadvise64",
	"fsync",
	"fdatasync",
	"ftruncate",
	"fchmod",
	"rename",
	"renameat",
	"renameat2",
	"unlink",
	"unlinkat",
	"openat2", /* quarantine: the parent of a denied file, RESOLVE_NO_SYMLINKS */
	"umask",
	/* the verdict store (libfanguard store.c): a file's handle on the
	 * readers; LMDB's writes (pwrite64, writev, fdatasync) are above */
	"name_to_handle_at",
	/* waiting */
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"futex",
	"nanosleep",
	"clock_nanosleep",
	"restart_syscall",
	"sched_yield",
	/* memory and threads */
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	"brk",
	"exit",
	"exit_group",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"gettid",
	"getpid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"sched_getaffinity",
	"prlimit64",
	"getrlimit",
	"uname",
	"sysinfo",
	/* signals: the signalfd, blocked masks, abort() */
	"rt_sigprocmask",
	"rt_sigaction",
	"rt_sigreturn",
	"sigaltstack",
	/* time and randomness (OpenSSL, mkostemp) */
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"time",
	"getrandom",
	/* fanotify: new groups and marks for watches added on reload */
	"fanotify_init",
	"fanotify_mark",
	"eventfd2",
	/* the control socket, sd_notify, the journal (AF_UNIX only, below) */
	"connect",
	"accept4",
	"accept",
	"sendmsg",
	"sendto",
	"recvmsg",
	"recvfrom",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	"shutdown",
	"memfd_create",
	/* sd_notify_barrier() after FDSTORE=/FDSTOREREMOVE= (fdstore.c): a
	 * pipe whose write end goes to the service manager */
	"pipe2",
};

#ifdef FG_SANITIZED
/* ASan/TSan runtimes: LeakSanitizer stops the world with ptrace at exit,
 * the allocators ask for page residency and resource usage. Test builds only. */
static const char *const allowed_sanitizer[] = {
	"ptrace",
	"wait4",
	"waitid",
	"prctl",
	"mincore",
	"getrusage",
	"pipe2",
	"pipe",
	"kill",
	"sched_getparam",
	"sched_getscheduler",
	"process_vm_readv",
	"msync",
	"setrlimit",
	/* LeakSanitizer's tracer: clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_UNTRACED) */
	"clone",
};
#endif

#endif /* HAVE_LIBSECCOMP */

int seccomp_mode_from_string(const char *s)
{
	for (int m = 0; m < _FG_SECCOMP_MAX; m++)
		if (strcmp(s, seccomp_mode_to_string(m)) == 0)
			return m;
	return -EINVAL;
}

const char *seccomp_mode_to_string(enum fg_seccomp_mode m)
{
	static const char *const s[_FG_SECCOMP_MAX] = {
		[FG_SECCOMP_OFF] = "off",
		[FG_SECCOMP_LOG] = "log",
		[FG_SECCOMP_ERRNO] = "errno",
		[FG_SECCOMP_KILL] = "kill",
	};

	return (unsigned) m < _FG_SECCOMP_MAX ? s[m] : "?";
}

#if HAVE_LIBSECCOMP
static int allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

int sandbox_seccomp_install(enum fg_seccomp_mode mode, unsigned flags)
{
	scmp_filter_ctx ctx;
	uint32_t def;
	int r;

	switch (mode) {
	case FG_SECCOMP_OFF:
		return 0;
	case FG_SECCOMP_LOG:
		def = SCMP_ACT_LOG;
		break;
	case FG_SECCOMP_ERRNO:
		def = SCMP_ACT_ERRNO(EPERM);
		break;
	case FG_SECCOMP_KILL:
		def = SCMP_ACT_KILL_PROCESS;
		break;
	default:
		return -EINVAL;
	}
	ctx = seccomp_init(def);
	if (!ctx)
		return -ENOMEM;
	/* Every thread, not just the caller: the library's threads run already. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0)
		goto out;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r < 0)
		goto out;
	r = allow_names(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (r < 0)
		goto out;
	/* listmount(2)/statmount(2) (6.8; the mount watcher's unique ids):
	 * libseccomp 2.5 knows neither name; the same numbers on every
	 * architecture (the unified syscall table). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, FG_NR_STATMOUNT, 0);
	if (r >= 0 || r == -EEXIST)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, FG_NR_LISTMOUNT, 0);
	if (r < 0 && r != -EEXIST)
		goto out;
#ifdef FG_SANITIZED
	r = allow_names(ctx, allowed_sanitizer,
			sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]));
	if (r < 0)
		goto out;
#else
	/* pthread_setname_np() on itself uses PR_SET_NAME. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
			     SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (r < 0)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
			     SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (r < 0)
		goto out;
#endif
	/* The pre-warm thread lowers its own priorities (libfanguard
	 * prewarm.c): nice and the I/O class, of the calling thread only
	 * (who 0), never another process's. 1: IOPRIO_WHO_PROCESS. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setpriority), 2,
			     SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS), SCMP_A1(SCMP_CMP_EQ, 0));
	if (r < 0)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioprio_set), 2, SCMP_A0(SCMP_CMP_EQ, 1),
			     SCMP_A1(SCMP_CMP_EQ, 0));
	if (r < 0)
		goto out;
	/* Threads only: a clone that shares memory, signal handlers and the
	 * thread group and makes no namespace. clone3 passes its flags in a
	 * struct seccomp cannot read: ENOSYS makes glibc fall back to clone. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		goto out;
#ifndef FG_SANITIZED
	{
		const scmp_datum_t mask = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_NEWNS |
					  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
					  CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

		r = seccomp_rule_add(
			ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			SCMP_A0(SCMP_CMP_MASKED_EQ, mask, CLONE_THREAD | CLONE_VM | CLONE_SIGHAND));
		if (r < 0)
			goto out;
	}
#endif
	/* Opens: read-only without O_TRUNC, or a new file (O_CREAT|O_EXCL: the
	 * stats file's temporary, libsystemd's fallback). Never a write open of
	 * an existing file: /proc/PID/mem with CAP_SYS_PTRACE was one. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_TRUNC, O_RDONLY));
	if (r < 0)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_EXCL, O_CREAT | O_EXCL));
	if (r < 0)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_TRUNC, O_RDONLY));
	if (r < 0 && r != -EDOM)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT | O_EXCL, O_CREAT | O_EXCL));
	if (r < 0 && r != -EDOM)
		goto out;
	/* Sockets: AF_UNIX only (control socket, sd_notify, journal). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r < 0)
		goto out;
	/* Which process accepted clamd's connection (common/sockpeer.c): a
	 * read-only socket diagnostics query, nothing else over netlink. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
			     SCMP_A2(SCMP_CMP_EQ, NETLINK_SOCK_DIAG));
	if (r < 0)
		goto out;
	/* A remote clamd: INSTREAM over TCP (its address was resolved before). */
	if (flags & FG_SANDBOX_INET) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
		if (r < 0)
			goto out;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
		if (r < 0)
			goto out;
	}
	/* isatty() of stderr, nothing else. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (r < 0)
		goto out;
	/* A subject's uid through its event's pidfd (libfanguard, 6.13+). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t) FG_PIDFD_GET_INFO));
	if (r < 0)
		goto out;
	/* The verdict store's key: a filesystem's UUID (libfanguard, 6.5+). */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t) FG_FS_IOC_GETFSUUID));
	if (r < 0)
		goto out;
	/* abort() and raise() signal this process only. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) getpid()));
	if (r < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

#else
int sandbox_seccomp_install(enum fg_seccomp_mode mode, unsigned flags)
{
	(void) flags;
	return mode == FG_SECCOMP_OFF ? 0 : -EOPNOTSUPP; /* built without libseccomp */
}
#endif

/* CAP_SYS_ADMIN: new groups and marks (reload, mounts that appear later).
 * CAP_DAC_READ_SEARCH: open paths to watch, read denylists.
 * CAP_SYS_PTRACE: read /proc/PID/fd, fdinfo and exe of other processes (the
 * loopback detector's /dev/fuse holders and their helpers, --exclude-exe):
 * procfs refuses them for a target whose capabilities are not a subset of
 * ours (cap_ptrace_access_check), which a root FUSE daemon's are not. The
 * seccomp filter does not allow ptrace(2) itself.
 * CAP_AUDIT_WRITE, with --kernel-audit only: groups made later (reload,
 * mounts that appear) ask for FAN_ENABLE_AUDIT, which needs it.
 * CAP_SETUID and CAP_SETGID, with --watch-all-fuse only: setfsuid(2) and
 * setfsgid(2) in the groups of other user namespaces' FUSE filesystems. */
static bool cap_kept(unsigned cap, bool keep_audit_write, bool keep_setid, bool keep_quarantine)
{
	return cap == CAP_SYS_ADMIN || cap == CAP_DAC_READ_SEARCH || cap == CAP_SYS_PTRACE ||
	       (keep_audit_write && cap == CAP_AUDIT_WRITE) ||
	       (keep_setid && (cap == CAP_SETUID || cap == CAP_SETGID)) ||
	       (keep_quarantine && (cap == CAP_DAC_OVERRIDE || cap == CAP_FOWNER));
}

int sandbox_drop_capabilities(bool keep_audit_write, bool keep_setid, bool keep_quarantine)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the capset() below removes. */
	for (unsigned cap = 0; cap < 64; cap++) {
		if (cap_kept(cap, keep_audit_write, keep_setid, keep_quarantine))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			if (errno != EPERM)
				return -errno;
		}
	}
	(void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (unsigned i = 0; i < 2; i++) {
		uint32_t keep = 0;

		for (unsigned b = 0; b < 32; b++)
			if (cap_kept(i * 32 + b, keep_audit_write, keep_setid, keep_quarantine))
				keep |= 1u << b;
		data[i].effective &= keep;
		data[i].permitted &= keep;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
