/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanguardctl: talk to a running fanguardd over its control socket.
 * A client only: it never touches fanotify, mounts or the daemon's files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fanguardctl.h"
#include "log.h"
#include "macro.h"

static const struct {
	const char *name;
	int (*fn)(const struct ctl_args *a);
	const char *help;
} verbs[] = {
	{"status", verb_status, "state, configuration and counters"},
	{"stats", verb_stats, "every counter, as JSON"},
	{"metrics", verb_metrics, "the counters in Prometheus text format"},
	{"mounts", verb_mounts, "the watched mounts, their class and the evidence"},
	{"reload", verb_reload, "re-read the configuration (like SIGHUP)"},
	{"scan", verb_scan, "PATH...: scan files through the daemon's scanners"},
	{"top", verb_top, "a live view: events/s, verdicts, latency, stuck threads"},
	{"quarantine", verb_quarantine, "[list | restore ID | delete ID]: quarantined files"},
};

static void help(void)
{
	printf("Usage: fanguardctl [OPTIONS] COMMAND [PATH...]\n"
	       "Query or control a running fanguardd.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-10s %s\n", verbs[i].name, verbs[i].help);
	printf("\nOptions:\n"
	       "  -s, --socket PATH   the daemon's control socket [/run/fanguard/control]\n"
	       "      --json          mounts: print JSON\n"
	       "  -i, --infected      scan: print only what was found and errors\n"
	       "  -n, --iterations N  top: print N frames and exit (no screen clearing)\n"
	       "      --once          top: the same as --iterations 1\n"
	       "  -d, --delay SEC     top: seconds between frames [1]\n"
	       "      --dir DIR       quarantine: the directory [the daemon's]\n"
	       "  -h, --help          this help\n"
	       "      --version       print the version\n\n"
	       "See fanguardctl(8).\n");
}

int main(int argc, char **argv)
{
	enum { ARG_JSON = 0x100, ARG_VERSION, ARG_ONCE, ARG_DIR };
	static const struct option options[] = {{"socket", required_argument, NULL, 's'},
						{"json", no_argument, NULL, ARG_JSON},
						{"infected", no_argument, NULL, 'i'},
						{"iterations", required_argument, NULL, 'n'},
						{"once", no_argument, NULL, ARG_ONCE},
						{"delay", required_argument, NULL, 'd'},
						{"dir", required_argument, NULL, ARG_DIR},
						{"help", no_argument, NULL, 'h'},
						{"version", no_argument, NULL, ARG_VERSION},
						{}};
	struct ctl_args a = {.socket = "/run/fanguard/control", .delay_ms = 1000};
	char *end;
	double d;
	unsigned long n;
	int c;

	log_set_ident("fanguardctl");
	while ((c = getopt_long(argc, argv, "s:hin:d:", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			a.socket = optarg;
			break;
		case ARG_JSON:
			a.json = true;
			break;
		case 'i':
			a.infected_only = true;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end || n == 0 || n > 1000000) {
				log_error("Bad --iterations '%s': give 1..1000000", optarg);
				return 2;
			}
			a.iterations = (unsigned) n;
			break;
		case ARG_ONCE:
			a.iterations = 1;
			break;
		case ARG_DIR:
			a.quarantine_dir = optarg;
			break;
		case 'd':
			d = strtod(optarg, &end);
			if (end == optarg || *end || !(d >= 0.1 && d <= 3600)) {
				log_error("Bad --delay '%s': give 0.1..3600 seconds", optarg);
				return 2;
			}
			a.delay_ms = (unsigned) (d * 1000);
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("fanguardctl %s\n", FANGUARD_VERSION);
			return EXIT_SUCCESS;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		log_error("Give one command; see --help");
		return 2;
	}
	a.args = argv + optind + 1;
	a.n_args = (size_t) (argc - optind - 1);
	/* scan takes paths and exits like clamdscan (0, 1 found, 2 error). */
	if (strcmp(argv[optind], "scan") == 0)
		return verb_scan(&a);
	if (strcmp(argv[optind], "quarantine") == 0)
		return verb_quarantine(&a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (a.n_args > 0) {
		log_error("'%s' takes no arguments; see --help", argv[optind]);
		return 2;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			return verbs[i].fn(&a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_error("Unknown command '%s'; see --help", argv[optind]);
	return 2;
}
