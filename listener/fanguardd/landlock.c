/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardd's Landlock domain: the filesystem writes, TCP connects and
 * scopes the daemon keeps after init (see sandbox.h for what and why).
 *
 * The ABI is asked at run time (landlock_create_ruleset(NULL, 0,
 * LANDLOCK_CREATE_RULESET_VERSION)); every right a kernel does not know is
 * left out, so an older kernel gets a weaker but valid domain, and a kernel
 * without Landlock (or with it disabled) none, which is reported. Debian
 * 12's headers stop at ABI 2, so the constants and structs are our own
 * (values from include/uapi/linux/landlock.h, which keeps them stable).
 * Landlock applies to the calling thread and its future children only
 * (LANDLOCK_RESTRICT_SELF_TSYNC is ABI 8): call before any thread starts. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "macro.h"
#include "sandbox.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define FG_LL_CREATE_RULESET_VERSION (1U << 0)
#define FG_LL_RULE_PATH_BENEATH 1
#define FG_LL_RULE_NET_PORT 2

/* Filesystem rights, by the ABI that added them. */
#define FG_LL_FS_EXECUTE (1ULL << 0)
#define FG_LL_FS_WRITE_FILE (1ULL << 1)
#define FG_LL_FS_REMOVE_DIR (1ULL << 4)
#define FG_LL_FS_REMOVE_FILE (1ULL << 5)
#define FG_LL_FS_MAKE_CHAR (1ULL << 6)
#define FG_LL_FS_MAKE_DIR (1ULL << 7)
#define FG_LL_FS_MAKE_REG (1ULL << 8)
#define FG_LL_FS_MAKE_SOCK (1ULL << 9)
#define FG_LL_FS_MAKE_FIFO (1ULL << 10)
#define FG_LL_FS_MAKE_BLOCK (1ULL << 11)
#define FG_LL_FS_MAKE_SYM (1ULL << 12)
#define FG_LL_FS_REFER (1ULL << 13)	/* ABI 2 */
#define FG_LL_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define FG_LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
/* TCP, ABI 4 */
#define FG_LL_NET_BIND_TCP (1ULL << 0)
#define FG_LL_NET_CONNECT_TCP (1ULL << 1)
/* Scopes, ABI 6 */
#define FG_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define FG_LL_SCOPE_SIGNAL (1ULL << 1)

struct fg_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct fg_ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct fg_ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

int sandbox_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, FG_LL_CREATE_RULESET_VERSION);

	if (abi < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -errno;
	return (int) abi;
}

/* Every write-like right this ABI knows, plus exec. */
static uint64_t fs_handled(int abi)
{
	uint64_t h = FG_LL_FS_EXECUTE | FG_LL_FS_WRITE_FILE | FG_LL_FS_REMOVE_DIR |
		     FG_LL_FS_REMOVE_FILE | FG_LL_FS_MAKE_CHAR | FG_LL_FS_MAKE_DIR |
		     FG_LL_FS_MAKE_REG | FG_LL_FS_MAKE_SOCK | FG_LL_FS_MAKE_FIFO |
		     FG_LL_FS_MAKE_BLOCK | FG_LL_FS_MAKE_SYM;

	if (abi >= 2)
		h |= FG_LL_FS_REFER;
	if (abi >= 3)
		h |= FG_LL_FS_TRUNCATE;
	if (abi >= 5)
		h |= FG_LL_FS_IOCTL_DEV;
	return h;
}

/* In a directory the daemon writes: create, replace (rename over) and remove
 * regular files and sockets, write and truncate them. No subdirectories, no
 * links, no devices. */
static uint64_t fs_write_dir(int abi)
{
	uint64_t a =
		FG_LL_FS_WRITE_FILE | FG_LL_FS_REMOVE_FILE | FG_LL_FS_MAKE_REG | FG_LL_FS_MAKE_SOCK;

	if (abi >= 3)
		a |= FG_LL_FS_TRUNCATE;
	return a;
}

int sandbox_landlock_apply(const struct sandbox_landlock *ll)
{
	struct fg_ll_ruleset_attr attr = {0};
	_cleanup_close_ int rfd = -EBADF;
	int abi;

	abi = sandbox_landlock_abi();
	if (abi <= 0)
		return abi;
	attr.handled_access_fs = fs_handled(abi);
	if (abi >= 4)
		attr.handled_access_net = FG_LL_NET_BIND_TCP | FG_LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = FG_LL_SCOPE_ABSTRACT_UNIX_SOCKET | FG_LL_SCOPE_SIGNAL;
	/* Older kernels accept the struct only up to the fields they know. */
	rfd = (int) syscall(__NR_landlock_create_ruleset, &attr,
			    abi >= 6   ? sizeof(attr)
			    : abi >= 4 ? offsetof(struct fg_ll_ruleset_attr, scoped)
				       : offsetof(struct fg_ll_ruleset_attr, handled_access_net),
			    0);
	if (rfd < 0)
		return -errno;
	for (size_t i = 0; i < ll->n_write_dirs; i++) {
		struct fg_ll_path_beneath_attr pb = {.allowed_access = fs_write_dir(abi)};
		_cleanup_close_ int dfd = open(ll->write_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0) {
			/* Nothing can be written there anyway. */
			log_debug_errno(errno, "Landlock: no directory '%s', ignoring: %m",
					ll->write_dirs[i]);
			continue;
		}
		pb.parent_fd = dfd;
		if (syscall(__NR_landlock_add_rule, rfd, FG_LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -errno;
	}
	for (size_t i = 0; i < ll->n_remove_dirs; i++) {
		struct fg_ll_path_beneath_attr pb = {.allowed_access = FG_LL_FS_REMOVE_FILE};
		_cleanup_close_ int dfd = open(ll->remove_dirs[i], O_PATH | O_CLOEXEC);

		if (dfd < 0)
			continue; /* gone: nothing to remove there */
		pb.parent_fd = dfd;
		/* A watch of a file (not a directory) gets no rule: the
		 * kernel takes a directory only for REMOVE_FILE. */
		if (syscall(__NR_landlock_add_rule, rfd, FG_LL_RULE_PATH_BENEATH, &pb, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	}
	for (size_t i = 0; abi >= 4 && i < ll->n_tcp_ports; i++) {
		struct fg_ll_net_port_attr np = {.allowed_access = FG_LL_NET_CONNECT_TCP,
						 .port = ll->tcp_ports[i]};

		if (syscall(__NR_landlock_add_rule, rfd, FG_LL_RULE_NET_PORT, &np, 0) < 0)
			return -errno;
	}
	/* landlock_restrict_self() needs no_new_privs (or CAP_SYS_ADMIN); the
	 * seccomp filter sets it anyway. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(__NR_landlock_restrict_self, rfd, 0) < 0)
		return -errno;
	return abi;
}
