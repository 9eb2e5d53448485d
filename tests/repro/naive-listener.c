/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* naive-listener: the seed's design, reproduced on purpose (DESIGN.md §1).
 * Do not copy it: it deadlocks against any FUSE daemon served from a
 * filesystem it also watches.
 *
 *   naive-listener [--ready-file FILE] [-v] MOUNT...
 *
 * One thread, one FAN_CLASS_CONTENT group, FAN_OPEN_PERM on every given
 * mount (FAN_MARK_MOUNT). Loop: read() a buffer of events; for each, read
 * the whole file through the event's fd (the "scan"), answer FAN_ALLOW,
 * close. Nothing else: no deadline, no own-pid shortcut, no second thread.
 *
 * Why it hangs: the kernel opens each event's fd inside read() on the
 * fanotify fd. For a file on a FUSE mount that open is a FUSE_OPEN round trip
 * to the daemon, and when the daemon (or its server process) then opens the
 * backing file on a watched mount, that open waits for this very listener,
 * which is still inside read(). SIGKILL does not help: the listener sits in
 * an uninterruptible FUSE wait, so its group never closes. Aborting the FUSE
 * connection does.
 *
 * --ready-file is written once every mark is in place. -v logs each event
 * (pid and path) to stderr before it is scanned. Exits only by signal. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

static bool arg_verbose;
static const char *arg_ready_file;

/* The "scan": reads every byte, as a content scanner would. */
static int scan_fd(int fd, uint64_t *ret_sum)
{
	static char buf[1 << 16];
	uint64_t sum = 0;
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char) buf[i];
		off += n;
	}
	*ret_sum = sum;
	return 0;
}

static void log_event(const struct fanotify_event_metadata *m, uint64_t nr)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	(void) snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		n = 0;
	path[n] = '\0';
	fprintf(stderr, "naive-listener: event %llu: pid %d '%s'\n", (unsigned long long) nr,
		(int) m->pid, path);
}

static int write_ready(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int) getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"ready-file", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{},
	};
	/* Several events per read(), as the seed did. */
	static char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	uint64_t n_events = 0;
	int fan, c;

	while ((c = getopt_long(argc, argv, "r:v", options, NULL)) >= 0) {
		switch (c) {
		case 'r':
			arg_ready_file = optarg;
			break;
		case 'v':
			arg_verbose = true;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: naive-listener [--ready-file FILE] [-v] MOUNT...\n");
		return 2;
	}

	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE,
			    O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan < 0) {
		fprintf(stderr, "naive-listener: fanotify_init: %m\n");
		return errno == EPERM ? 1 : 77;
	}
	for (int i = optind; i < argc; i++)
		if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_PERM, AT_FDCWD,
				  argv[i]) < 0) {
			fprintf(stderr, "naive-listener: fanotify_mark '%s': %m\n", argv[i]);
			return 1;
		}
	if (arg_ready_file && write_ready(arg_ready_file) < 0) {
		fprintf(stderr, "naive-listener: cannot write '%s': %m\n", arg_ready_file);
		return 1;
	}

	for (;;) {
		const struct fanotify_event_metadata *m = (const void *) buf;
		/* Blocks here, inside the kernel's open of a FUSE file, when the
		 * deadlock strikes. */
		ssize_t len = read(fan, buf, sizeof(buf));

		if (len < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "naive-listener: read: %m\n");
			return 1;
		}
		for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			struct fanotify_response resp;
			uint64_t sum;

			if (m->vers != FANOTIFY_METADATA_VERSION) {
				fprintf(stderr, "naive-listener: unknown metadata version\n");
				return 1;
			}
			if (m->fd < 0)
				continue; /* queue overflow: cannot happen, unlimited */
			n_events++;
			if (arg_verbose)
				log_event(m, n_events);
			if (scan_fd(m->fd, &sum) < 0 && arg_verbose)
				fprintf(stderr, "naive-listener: scan failed: %m\n");
			resp = (struct fanotify_response){.fd = m->fd, .response = FAN_ALLOW};
			if (write(fan, &resp, sizeof(resp)) != sizeof(resp))
				fprintf(stderr, "naive-listener: answer: %m\n");
			close(m->fd);
		}
	}
}
