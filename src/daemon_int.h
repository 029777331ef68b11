/*
 * daemon_int.h - private to the daemon's files: daemon.c (the loop,
 * signals, reload, grouped store commits, hk_daemon_main), daemon_args.c
 * (command line, configuration load, log level), daemon_once.c (--once)
 * and daemon_report.c (job reports, the event summary's thread). daemon.h
 * is the public API.
 */
#ifndef HK_DAEMON_INT_H
#define HK_DAEMON_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "engine.h"
#include "sched.h"

#define HK_DEFAULT_CONFIG HK_SYSCONFDIR "/housekeeper.conf"

struct daemon_opts {
	const char *config_file;
	const char *state_dir;
	const char *pidfile;
	bool foreground;
	bool check_config;
	bool print_config;
	bool verbose;
	bool quiet;
	bool once;
	bool dry_run;
	bool daemonize;
	bool reset_state;
	bool no_index_store;
};

/* Command line and configuration (daemon_args.c). */

/* Parse argv into opts. Returns 0, or 2 (usage error, printed), or -1 when
 * the program is done (help or version printed). */
int daemon_parse_args(int argc, char **argv, struct daemon_opts *opts);
/* The drop-in paths, with the state directory that is in use (-S, or
 * the running one on a reload) so registrations are checked against it. */
struct hk_config_paths daemon_config_paths(const char *state_dir);
/* Load the configuration, printing every error to stderr. NULL when it
 * has errors; else owned by the caller. */
struct hk_config *daemon_load_config(const char *file, const char *state_dir);
/* [daemon] log_level, or debug under -v. */
void daemon_apply_log_level(const struct daemon_opts *opts, const struct hk_config *cfg);

/* --once (daemon_once.c): takes cfg over (freed). Returns the exit code. */
int daemon_once(const struct daemon_opts *opts, struct hk_config *cfg);

/* Reports (daemon_report.c). */

/* The report of a job that ended, when reports are enabled (and the
 * oldest of a non-root uid's beyond HK_FAIR_UID_REPORTS removed).
 * Returns the report's path (owned by the caller), NULL when none was
 * written. */
char *daemon_write_report(const struct hk_config *cfg, const struct hk_job_info *job,
			  const struct hk_report *rep);

/* An event summary being written in the background. */
struct daemon_summary {
	pthread_t thread;
	bool running;
	char *dir;
	struct hk_job_info job;
	struct hk_report rep;          /* owns the file list */
};

/* Hand the event-path deletions of rep (its file list moves over, rep
 * keeps none) to a thread that writes them as one summary report in the
 * report directory of cfg; the previous summary is waited for first. */
void daemon_summary_start(struct daemon_summary *sum, const struct hk_config *cfg,
			  struct hk_report *rep);
/* Wait for the summary being written, if any. */
void daemon_summary_wait(struct daemon_summary *sum);

#endif /* HK_DAEMON_INT_H */
