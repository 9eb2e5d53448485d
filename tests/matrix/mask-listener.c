/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mask-listener: an allow-all permission listener on one mount, with the
 * event mask chosen on the command line, for measuring what a mask costs on
 * a FUSE daemon (tests/matrix/rclone-mask.sh; DESIGN.md §2):
 *
 *   mask-listener open|access READY_FILE COUNT_FILE MOUNT
 *
 * open:   FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM (what fanguard marks today)
 * access: FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM (no event on a plain open;
 *         one per read(), and per exec)
 * Marks MOUNT only (FAN_MARK_MOUNT): the daemon's backing accesses raise
 * nothing, so this listener cannot deadlock on it. Reads one event per
 * read() (the kernel opens each event's fd inside read(), a FUSE open),
 * answers FAN_ALLOW without reading the file, and on SIGTERM writes "events
 * N open_failures M" to COUNT_FILE and exits. Not a product: a probe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void) sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	unsigned long long events = 0, open_failures = 0;
	struct sigaction sa = {.sa_handler = on_term};
	uint64_t mask;
	FILE *f;
	int fan;

	if (argc != 5 || (strcmp(argv[1], "open") != 0 && strcmp(argv[1], "access") != 0)) {
		fprintf(stderr, "usage: mask-listener open|access READY_FILE COUNT_FILE MOUNT\n");
		return 2;
	}
	mask = strcmp(argv[1], "open") == 0 ? FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM
					    : FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM;
	/* No SA_RESTART: SIGTERM must interrupt read(). */
	(void) sigaction(SIGTERM, &sa, NULL);
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE,
			    O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan < 0) {
		perror("fanotify_init");
		return errno == EPERM || errno == EINVAL ? 77 : 1;
	}
	if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD, argv[4]) < 0) {
		fprintf(stderr, "fanotify_mark '%s': %m\n", argv[4]);
		return 1;
	}
	f = fopen(argv[2], "we");
	if (!f || fclose(f) != 0)
		return 1;
	while (!stop) {
		struct fanotify_event_metadata ev;
		struct fanotify_response resp;
		ssize_t n = read(fan, &ev, sizeof(ev)); /* one event per read() */

		if (n < 0 && errno == EINTR)
			continue;
		/* The kernel could not open the event's fd (the daemon failed
		 * our FUSE open): it answered FAN_DENY itself and read() returns
		 * the open's error. */
		if (n < 0 && errno != EBADF && errno != EINVAL && errno != EFAULT) {
			events++;
			open_failures++;
			fprintf(stderr, "mask-listener: an event's fd could not be opened: %m\n");
			continue;
		}
		if (n < (ssize_t) sizeof(ev)) {
			perror("read");
			return 1;
		}
		events++;
		if (ev.fd < 0) {
			open_failures++; /* the kernel answered it (FAN_DENY) */
			continue;
		}
		resp = (struct fanotify_response){.fd = ev.fd, .response = FAN_ALLOW};
		if (write(fan, &resp, sizeof(resp)) != sizeof(resp))
			perror("write response");
		(void) close(ev.fd);
	}
	f = fopen(argv[3], "we");
	if (!f)
		return 1;
	fprintf(f, "events %llu open_failures %llu\n", events, open_failures);
	return fclose(f) == 0 ? 0 : 1;
}
