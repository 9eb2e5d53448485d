/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --quarantine: opens and checks the directory, hands it to the library
 * (fanguard_set_quarantine(), which does the work on its workers). The
 * check is the library's too; here it becomes a message naming what is
 * wrong and how to fix it, at start, before any thread or mark exists.
 *
 * Must never: create the directory (an administrator chooses where denied
 * files go and on which filesystem), or follow a symlink to it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "macro.h"
#include "quarantine-dir.h"

static bool have_cap(unsigned cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	return syscall(SYS_capget, &h, d) == 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

int quarantine_dir_check(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno,
				       "Quarantine directory '%s': %m (create it with "
				       "'install -d -m 0700 -o root -g root %s')",
				       path, path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(errno, "Quarantine directory '%s': %m", path);
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return log_error_errno(
			EPERM,
			"Quarantine directory '%s' is owned by uid %u with mode %04o: "
			"it must be root's with mode 0700 (no access for group or "
			"others), so that no user can read or plant its files",
			path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 0;
}

int quarantine_dir_setup(struct fanguard *fg, const struct settings *s)
{
	struct fanguard_quarantine_options qo = {
		.size = sizeof(qo),
		.max_bytes = s->quarantine_max_bytes,
		.per_minute = s->quarantine_per_minute,
		.min_free_bytes = s->quarantine_min_free_bytes,
	};
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!s->quarantine)
		return 0;
	r = quarantine_dir_check(s->quarantine, &fd); /* logs */
	if (r < 0)
		return r;
	qo.dir_fd = fd;
	r = fanguard_set_quarantine(fg, &qo);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the quarantine in '%s': %m",
				       s->quarantine);
	log_info("Quarantine of denied files on local filesystems in '%s' (records.jsonl)",
		 s->quarantine);
	if (!have_cap(CAP_DAC_OVERRIDE) || !have_cap(CAP_FOWNER))
		log_warning("Quarantine: without CAP_DAC_OVERRIDE and CAP_FOWNER a denied file "
			    "is not removed from a directory root may not write or a sticky one "
			    "(counted as remove-error, the copy kept); under systemd add them to "
			    "CapabilityBoundingSet= in a drop-in");
	return 0;
}
