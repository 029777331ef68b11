/*
 * daemon_once.c - housekeeperd --once [--dry-run]: one full sweep of every
 * registration (the configured ones and those the API stored) as one job
 * without a loop, its progress on a terminal, its report on stdout.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon_int.h"
#include "engine.h"
#include "log.h"
#include "sched.h"
#include "state.h"
#include "store.h"
#include "units.h"
#include "util.h"

/* What the hook and the end of a --once job share. */
struct daemon_once {
	struct hk_store *store;
	const struct hk_config *cfg;
	char *report_file;           /* written by the hook, which runs first */
	int rc;
	bool dry_run;
	bool quiet;                  /* -q: no report on stdout */
	int64_t start_ns;            /* monotonic, for the rate */
	int64_t shown_ns;            /* when the progress line was last drawn; 0: never */
};

#define DAEMON_PROGRESS_INTERVAL_NS (HK_NSEC_PER_SEC / 4)   /* at most 4 updates a second */

/* --once on a terminal: the job's progress on stderr, under the log lines
 * (hk_log_status), from its own counters. */
static void daemon_once_progress(void *arg, uint64_t job_id, const struct hk_job_progress *p)
{
	struct daemon_once *once = arg;
	int64_t now = hk_time_mono_ns();
	char bytes[HK_UNITS_FORMAT_MAX], line[256];

	if (once->shown_ns && now - once->shown_ns < DAEMON_PROGRESS_INTERVAL_NS)
		return;
	double elapsed = (double)(now - once->start_ns) / 1e9;
	snprintf(line, sizeof(line), "job %" PRIu64 ": %zu/%zu registrations, %" PRIu64
		 " files examined, %" PRIu64 " %s (%s), %.0f files/s", job_id,
		 p->registrations_done, p->registrations_total, p->scanned, p->deleted,
		 once->dry_run ? "would be deleted" : "deleted",
		 hk_size_human(p->bytes, bytes, sizeof(bytes)),
		 elapsed > 0.05 ? (double)p->scanned / elapsed : 0.0);
	hk_log_status(line);
	once->shown_ns = now;
}

static void daemon_once_done(const struct hk_job_info *job, const struct hk_report *rep,
			     void *arg)
{
	struct daemon_once *once = arg;
	struct hk_report shown = *rep;   /* the text names the JSON report */
	shown.file = once->report_file;
	if (once->shown_ns)
		hk_log_status(NULL);   /* erased before the report */
	if (!once->quiet)
		hk_report_print(&shown, stdout);
	once->rc = strcmp(job->outcome, "ok") == 0 ? 0 : 1;
}

static void daemon_once_hook(const struct hk_job_info *job, const struct hk_report *rep,
			     void *arg)
{
	struct daemon_once *once = arg;
	hk_state_record_job(once->store, job);
	free(once->report_file);
	once->report_file = daemon_write_report(once->cfg, job, rep);
}

/* --once: one full sweep as a job, the report on stdout. Exit 1 when the
 * job failed (a deletion error, a registration that could not be swept)
 * or timed out; refused (exit 1) when a real run meets
 * housekeeper_read_only: the user asked for deletions that may not happen,
 * and a dry run in their place would look like success.
 * A real run takes the state directory (refused while a daemon runs
 * there), settles a crash's intents and records its job and report. A dry
 * run is a preview that works beside a running daemon: the store is only
 * read (API registrations, the leftovers of interrupted deletions), with no
 * lock; nothing is written: no store record, no report file, no audit. */
int daemon_once(const struct daemon_opts *opts, struct hk_config *cfg)
{
	struct hk_store *store = NULL;
	struct hk_reap_leftover *leftovers = NULL;
	size_t n_leftovers = 0;
	if (!opts->dry_run && cfg->scheduler.housekeeper_read_only) {
		log_errx("daemon", "--once: housekeeper_read_only is set: nothing may be deleted; "
			 "use --once --dry-run to see what would be");
		hk_config_free(cfg);
		return 1;
	}
	if (opts->dry_run) {
		int r = hk_state_open_read(cfg->daemon.state_directory, &store);
		if (r < 0 && r != -ENOENT) {
			hk_config_free(cfg);
			return 1;
		}
		if (store)
			hk_state_find_leftovers(store, &leftovers, &n_leftovers);
	} else {
		if (hk_state_open(cfg->daemon.state_directory, opts->reset_state, &store) < 0) {
			hk_config_free(cfg);
			return 1;
		}
		hk_state_settle_intents(store, &leftovers, &n_leftovers);
	}
	/* a dry run stores nothing (and so finishes no interrupted deletion
	 * either) */
	struct hk_engine *eng = hk_engine_create(NULL, cfg, opts->dry_run ? NULL : store,
						 opts->no_index_store ? HK_ENGINE_NO_INDEX_STORE : 0);
	hk_engine_set_leftovers(eng, leftovers, n_leftovers);
	/* every registration: the API ones persisted in the store too */
	struct hk_registration **api = NULL;
	size_t n_api = 0;
	if (store && hk_store_reg_load_all(store, &api, &n_api) == 0 && n_api)
		hk_engine_apply(eng, cfg, api, n_api);
	struct hk_sched *sched = hk_sched_create(NULL, eng);
	struct daemon_once once = { store, cfg, NULL, 1, opts->dry_run, opts->quiet,
				    hk_time_mono_ns(), 0 };
	/* progress only for a person: stderr a terminal that can redraw a
	 * line (TERM set and not dumb, as the CLI's), not the journal */
	const char *term = getenv("TERM");
	bool progress = !opts->quiet && isatty(STDERR_FILENO) && term && *term &&
			strcmp(term, "dumb") != 0 && !getenv("JOURNAL_STREAM") &&
			!getenv("NOTIFY_SOCKET");
	if (!opts->dry_run)
		hk_sched_set_hook(sched, daemon_once_hook, &once);
	hk_sched_set_next_id(sched, store ? hk_store_job_last_id(store) + 1 : 1);
	uint64_t id;
	if (hk_sched_submit(sched, NULL, opts->dry_run, "once", 0, daemon_once_done, &once, &id) == 0) {
		if (progress)
			hk_sched_run_all_progress(sched, daemon_once_progress, &once);
		else
			hk_sched_run_all(sched);
	}
	if (once.shown_ns)
		hk_log_status(NULL);
	free(once.report_file);
	hk_sched_free(sched);
	hk_engine_free(eng);
	for (size_t i = 0; i < n_api; i++)
		hk_registration_free(api[i]);
	free(api);
	if (store && !opts->dry_run)
		hk_store_flush(store);
	hk_store_close(store);
	hk_config_free(cfg);
	return once.rc;
}
