/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The start-up check for what fanotify permission events need: without it,
 * a start without CAP_SYS_ADMIN fails only at the first watch with a bare
 * "Operation not permitted", and a configuration that watches nothing yet
 * would even start and then fail every later watch.
 *
 * Never marks anything: the probe group is closed at once, before any other
 * group exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "macro.h"
#include "log.h"
#include "privileges.h"

static bool has_effective_cap(unsigned cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The initial user namespace maps every uid to itself. */
static bool in_initial_userns(void)
{
	unsigned long inner, outer, count;
	bool initial = false;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (!f)
		return true; /* no procfs: assume so, the message then names the capability */
	if (fscanf(f, "%lu %lu %lu", &inner, &outer, &count) == 3)
		initial = inner == 0 && outer == 0 && count == UINT32_MAX;
	fclose(f);
	return initial;
}

int privileges_check(void)
{
	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		safe_close(fd);
		return 0;
	}
	if (errno != EPERM)
		return 0; /* EINVAL, EMFILE, ...: the first watch reports it */

	/* The process exits right after this line. journald attributes a
	 * native-protocol message to a unit by reading /proc/PID/cgroup of the
	 * sender, which may be gone by then (the line would be missing from
	 * "systemctl status"); the stderr stream's unit is known when it is
	 * opened. */
	log_set_target(LOG_TARGET_STDERR);

	if (!has_effective_cap(CAP_SYS_ADMIN))
		log_error("fanguardd needs the capability CAP_SYS_ADMIN for fanotify permission "
			  "events (fanotify_init(FAN_CLASS_CONTENT)); this process (uid %u) does "
			  "not have it. Start it as root; in a container, keep CAP_SYS_ADMIN (see "
			  "CONTAINERS in fanguardd(8))",
			  (unsigned) getuid());
	else if (!in_initial_userns())
		log_error(
			"fanguardd needs CAP_SYS_ADMIN in the initial user namespace for fanotify "
			"permission events; this process has it only inside a user namespace (a "
			"rootless container cannot run fanguardd; see CONTAINERS in fanguardd(8))");
	else
		log_error("fanotify_init() was refused with EPERM although this process has "
			  "CAP_SYS_ADMIN: a seccomp filter blocks it. systemd-nspawn needs "
			  "--system-call-filter='fanotify_init fanotify_mark', a service "
			  "SystemCallFilter= must allow both (see CONTAINERS in fanguardd(8))");
	return -EPERM;
}
