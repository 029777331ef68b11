/*
 * daemon_args.c - housekeeperd's command line (SPEC 2) and the loading of
 * its configuration: options, usage text, the checks of combinations, the
 * drop-in paths with the state directory in use, the log level.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon_int.h"
#include "log.h"
#include "util.h"

enum {
	OPT_ONCE = 0x100,
	OPT_DRY_RUN,
	OPT_DAEMONIZE,
	OPT_PIDFILE,
	OPT_RESET_STATE,
	OPT_NO_INDEX_STORE,
};

static const struct option daemon_long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "state-dir", required_argument, NULL, 'S' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "check-config", no_argument, NULL, 't' },
	{ "print-config", no_argument, NULL, 'T' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "reset-state", no_argument, NULL, OPT_RESET_STATE },
	{ "no-index-store", no_argument, NULL, OPT_NO_INDEX_STORE },
	{ NULL, 0, NULL, 0 },
};

static void daemon_usage(FILE *out)
{
	fprintf(out,
		"Usage: housekeeperd [-c FILE] [-S STATEDIR] [-f] [-t] [-T] [-v] [-q] [-h] [-V]\n"
		"                    [--once [--dry-run]] [--daemonize] [--pidfile FILE]\n"
		"\n"
		"Keeps registered directories within their age, count and size limits.\n"
		"\n"
		"  -c, --config FILE      main configuration file\n"
		"                         (default: %s)\n"
		"  -S, --state-dir DIR    state directory: LMDB store, reports (overrides config)\n"
		"  -f, --foreground       do not daemonize, log to stderr\n"
		"  -t, --check-config     validate the configuration, print errors, exit 0 or 1\n"
		"  -T, --print-config     print the effective merged configuration and exit\n"
		"  -v, --verbose          debug logging\n"
		"  -q, --quiet            with -t or --once: print no report, only errors; the\n"
		"                         exit status tells the result\n"
		"      --once             run one full sweep of every registration, print the\n"
		"                         report and exit\n"
		"      --dry-run          with --once: report what would be deleted, delete and\n"
		"                         write nothing (works beside a running daemon)\n"
		"      --daemonize        detach from the terminal (init systems other than systemd)\n"
		"      --pidfile FILE     write the daemon's pid to FILE\n"
		"      --reset-state      move an unusable state store aside and start fresh\n"
		"      --no-index-store   keep the file index in memory only (benchmarks)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n",
		HK_DEFAULT_CONFIG);
}

int daemon_parse_args(int argc, char **argv, struct daemon_opts *opts)
{
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:S:ftTvqhV", daemon_long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': opts->config_file = optarg; break;
		case 'S': opts->state_dir = optarg; break;
		case 'f': opts->foreground = true; break;
		case 't': opts->check_config = true; break;
		case 'T': opts->print_config = true; break;
		case 'v': opts->verbose = true; break;
		case 'q': opts->quiet = true; break;
		case 'h': daemon_usage(stdout); return -1;
		case 'V': printf("housekeeperd %s\n", PACKAGE_VERSION); return -1;
		case OPT_ONCE: opts->once = true; break;
		case OPT_DRY_RUN: opts->dry_run = true; break;
		case OPT_DAEMONIZE: opts->daemonize = true; break;
		case OPT_PIDFILE: opts->pidfile = optarg; break;
		case OPT_RESET_STATE: opts->reset_state = true; break;
		case OPT_NO_INDEX_STORE: opts->no_index_store = true; break;
		case ':':
			fprintf(stderr, "housekeeperd: option '%s' needs an argument\n", argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "housekeeperd: unknown option '%s'\n", argv[optind - 1]);
			goto usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "housekeeperd: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	if (opts->dry_run && !opts->once) {
		fprintf(stderr, "housekeeperd: --dry-run goes with --once\n");
		goto usage;
	}
	if (opts->check_config + opts->print_config + opts->once > 1) {
		fprintf(stderr, "housekeeperd: -t, -T and --once exclude each other\n");
		goto usage;
	}
	if (opts->quiet && !opts->check_config && !opts->once) {
		fprintf(stderr, "housekeeperd: -q goes with -t or --once\n");
		goto usage;
	}
	if (opts->quiet && opts->verbose) {
		fprintf(stderr, "housekeeperd: -q and -v exclude each other\n");
		goto usage;
	}
	if (opts->reset_state && opts->dry_run) {
		fprintf(stderr, "housekeeperd: --reset-state changes the state directory; "
			"not with --dry-run\n");
		goto usage;
	}
	if (opts->daemonize && (opts->foreground || opts->once)) {
		fprintf(stderr, "housekeeperd: --daemonize excludes -f and --once\n");
		goto usage;
	}
	if (opts->state_dir && !hk_path_is_clean_absolute(opts->state_dir)) {
		fprintf(stderr, "housekeeperd: -S %s: the state directory must be an absolute path\n",
			opts->state_dir);
		goto usage;
	}
	return 0;
usage:
	daemon_usage(stderr);
	return 2;
}

struct hk_config_paths daemon_config_paths(const char *state_dir)
{
	struct hk_config_paths paths = *hk_config_default_paths();
	paths.state_directory = state_dir;
	return paths;
}

struct hk_config *daemon_load_config(const char *file, const char *state_dir)
{
	struct hk_config *cfg = NULL;
	struct hk_config_errors errs = { 0 };
	struct hk_config_paths paths = daemon_config_paths(state_dir);
	if (hk_config_load(file, &paths, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		fprintf(stderr, "housekeeperd: %s: configuration has %zu error%s\n", file, errs.n,
			errs.n == 1 ? "" : "s");
	}
	hk_config_errors_fini(&errs);
	return cfg;
}

void daemon_apply_log_level(const struct daemon_opts *opts, const struct hk_config *cfg)
{
	int level = LOG_INFO;
	if (cfg->daemon.log_level && hk_log_level_parse(cfg->daemon.log_level) >= 0)
		level = hk_log_level_parse(cfg->daemon.log_level);
	if (opts->verbose)
		level = LOG_DEBUG;
	if (opts->quiet)
		level = LOG_ERR;
	hk_log_set_level(level);
}
