/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguard-agent: a small on-access scanner built on libfanguard, as an
 * embedder would write one. It registers a scanner of its own (here: deny
 * files that contain a marker string, by default the EICAR test string's
 * start; a real agent would ask its model, cloud or trust database), watches
 * the mount holding DIR, optionally adds a SHA-256 denylist, and prints every
 * verdict on stdout.
 *
 * It follows the documented call order: fanguard_new() -> (class settings,
 * scanners) -> fanguard_watch() -> fanguard_deny_sha256_file() ->
 * fanguard_start() ... fanguard_stop() -> fanguard_free().
 *
 * Signals: SIGINT/SIGTERM stop it; SIGUSR1 unregisters its scanner (or
 * registers it again); SIGUSR2 flushes the verdict cache.
 *
 * Build against an installed library:
 *   cc agent.c $(pkg-config --cflags --libs libfanguard) -o fanguard-agent */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <fanguard/fanguard.h>

struct agent {
	const char *marker;
	size_t marker_len;
	unsigned delay_ms; /* simulate a slow lookup (e.g. a cloud service) */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* The scanner: runs on a library worker thread, many at once. It reads the
 * event's fd (never the path), bounded by the request's deadline. */
static int marker_scan(void *userdata, const struct fanguard_scan_request *req,
		       struct fanguard_scan_result *res)
{
	const struct agent *a = userdata;
	char buf[65536];
	size_t keep = 0;
	uint64_t off = 0;

	if (a->delay_ms) {
		/* A slow lookup. If it outlives the deadline, the library has
		 * already answered the default verdict; this thread was
		 * replaced, and what we return is ignored. */
		struct timespec ts = {a->delay_ms / 1000, (long) (a->delay_ms % 1000) * 1000000};

		(void) nanosleep(&ts, NULL);
	}
	for (;;) {
		ssize_t n;

		if (now_usec() >= req->deadline_usec)
			return -ETIMEDOUT; /* the default verdict */
		n = pread(req->fd, buf + keep, sizeof(buf) - keep, (off_t) off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return FANGUARD_ALLOW;
		off += (uint64_t) n;
		n += (ssize_t) keep;
		if (memmem(buf, (size_t) n, a->marker, a->marker_len)) {
			(void) snprintf(res->detail, sizeof(res->detail), "marker found");
			return FANGUARD_DENY;
		}
		/* Keep the tail: the marker may straddle two reads. */
		keep = a->marker_len - 1 < (size_t) n ? a->marker_len - 1 : (size_t) n;
		memmove(buf, buf + n - keep, keep);
	}
}

static void on_log(void *userdata, int priority, const char *msg)
{
	(void) userdata;
	fprintf(stderr, "<%d>%s\n", priority, msg);
}

/* Called from the library's log thread, after the answer was written. */
static void on_verdict(void *userdata, const struct fanguard_verdict_info *info)
{
	(void) userdata;
	printf("%s path=%s pid=%d reason=%s scanner=%s detail=%s\n",
	       info->verdict == FANGUARD_DENY ? "deny" : "allow", info->path, (int) info->pid,
	       fanguard_reason_to_string(info->reason), info->scanner, info->detail);
	fflush(stdout);
}

static int add_scanner(struct fanguard *fg, struct agent *a, uint32_t flags, uint64_t *ret_id)
{
	const struct fanguard_scanner_ops ops = {
		.size = sizeof(ops), .flags = flags, .name = "example-marker", .scan = marker_scan,
		/* userdata lives as long as main(): no release needed */
	};

	return fanguard_add_scanner(fg, &ops, a, ret_id);
}

static void usage(void)
{
	fprintf(stderr, "usage: fanguard-agent [--marker STRING] [--deadline-ms N] "
			"[--default allow|deny] [--delay-ms N] [--no-cache] "
			"[--deny-hashes FILE] DIR\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"marker", required_argument, NULL, 'm'},
		{"deadline-ms", required_argument, NULL, 'd'},
		{"default", required_argument, NULL, 'D'},
		{"delay-ms", required_argument, NULL, 's'},
		{"no-cache", no_argument, NULL, 'n'},
		{"deny-hashes", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct agent a = {.marker = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"};
	struct fanguard_options opts = {.size = sizeof(opts)};
	struct fanguard_class_options co = {.size = sizeof(co)};
	const char *deny_file = NULL;
	uint32_t scanner_flags = 0;
	struct fanguard *fg = NULL;
	uint64_t id = 0;
	sigset_t sigs;
	int c, r, rc = EXIT_FAILURE;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'm':
			a.marker = optarg;
			break;
		case 'd':
			co.deadline_ms = (uint32_t) strtoul(optarg, NULL, 10);
			break;
		case 'D':
			co.default_verdict =
				strcmp(optarg, "deny") == 0 ? FANGUARD_DENY : FANGUARD_ALLOW;
			break;
		case 's':
			a.delay_ms = (unsigned) strtoul(optarg, NULL, 10);
			break;
		case 'n':
			scanner_flags |= FANGUARD_SCANNER_NO_CACHE;
			break;
		case 'H':
			deny_file = optarg;
			break;
		default:
			usage();
			return c == 'h' ? EXIT_SUCCESS : EXIT_FAILURE;
		}
	}
	if (optind + 1 != argc || !a.marker[0]) {
		usage();
		return EXIT_FAILURE;
	}
	a.marker_len = strlen(a.marker);
	fprintf(stderr, "fanguard-agent: headers %s, library %s\n", FANGUARD_VERSION_STRING,
		fanguard_version());

	/* Block the signals we wait for before the library starts threads (its
	 * own threads block every signal anyway). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	opts.log_fn = on_log;
	opts.verdict_fn = on_verdict;
	opts.log_max_priority = LOG_NOTICE;
	r = fanguard_new(&opts, &fg);
	if (r < 0) {
		fprintf(stderr, "fanguard_new: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	for (int cls = 0; cls < _FANGUARD_MOUNT_CLASS_MAX; cls++) {
		r = fanguard_set_class_options(fg, cls, &co);
		if (r < 0) {
			fprintf(stderr, "fanguard_set_class_options: %s\n", strerror(-r));
			goto out;
		}
	}
	r = add_scanner(fg, &a, scanner_flags, &id);
	if (r < 0) {
		fprintf(stderr, "fanguard_add_scanner: %s\n", strerror(-r));
		goto out;
	}
	r = fanguard_watch(fg, argv[optind], 0);
	if (r < 0) {
		fprintf(stderr, "fanguard_watch %s: %s\n", argv[optind], strerror(-r));
		goto out;
	}
	if (deny_file) {
		unsigned line = 0;

		r = fanguard_deny_sha256_file(fg, deny_file, &line);
		if (r < 0) {
			fprintf(stderr, "%s:%u: %s\n", deny_file, line, strerror(-r));
			goto out;
		}
		fprintf(stderr, "fanguard-agent: %d digests from %s\n", r, deny_file);
	}
	r = fanguard_start(fg);
	if (r < 0) {
		fprintf(stderr, "fanguard_start: %s\n", strerror(-r));
		goto out;
	}
	printf("ready watching=%s\n", argv[optind]);
	fflush(stdout);

	for (;;) {
		int sig = sigwaitinfo(&sigs, NULL);

		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGUSR1 && id) {
			r = fanguard_remove_scanner(fg, id);
			id = 0;
			printf("scanner removed (%s)\n", r < 0 ? strerror(-r) : "ok");
		} else if (sig == SIGUSR1) {
			r = add_scanner(fg, &a, scanner_flags, &id);
			printf("scanner added (%s)\n", r < 0 ? strerror(-r) : "ok");
		} else if (sig == SIGUSR2) {
			r = fanguard_flush_cache(fg);
			printf("cache flushed (%s)\n", r < 0 ? strerror(-r) : "ok");
		}
		fflush(stdout);
	}
	rc = EXIT_SUCCESS;
out:
	/* Answers whatever is pending; a scan callback still running past its
	 * deadline is abandoned (-ETIMEDOUT), never waited for. */
	r = fanguard_stop(fg, 5000);
	if (r < 0)
		fprintf(stderr, "fanguard_stop: %s\n", strerror(-r));
	fanguard_free(fg);
	printf("stopped\n");
	return rc;
}
