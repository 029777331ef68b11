/*
 * daemon_report.c - the reports housekeeperd writes: one JSON report per
 * job that ended (unless reports are disabled; a non-root uid's oldest
 * beyond HK_FAIR_UID_REPORTS removed), and the summaries of event-path
 * deletions, each written on a thread of its own.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemon_int.h"
#include "fair.h"
#include "log.h"
#include "report.h"
#include "util.h"

/* Returns the report's path (owned by the caller), NULL when not written. */
static char *daemon_write_report_to(const char *dir, const struct hk_job_info *job,
				    const struct hk_report *rep)
{
	char *path = NULL;
	int r = hk_report_write(dir, job, rep, &path);
	if (r < 0)
		log_errx("report", "%s: cannot write the report of job %llu: %s", dir,
			 (unsigned long long)job->id, hk_strerror(r));
	else
		log_debug("report", "%s: written", path);
	return path;
}

char *daemon_write_report(const struct hk_config *cfg, const struct hk_job_info *job,
				 const struct hk_report *rep)
{
	if (!cfg->scheduler.housekeeper_report_enabled)
		return NULL;
	char *dir = hk_report_dir(cfg);
	/* written already off the loop (hk_sched_set_render) */
	char *path = rep->file ? hk_xstrdup(rep->file) : daemon_write_report_to(dir, job, rep);
	if (job->uid != 0) {
		size_t gone = hk_report_cap(dir, job->uid, HK_FAIR_UID_REPORTS);
		if (gone)
			log_debug("report", "%s: %zu older report%s of uid %u removed (at most %d kept)",
				  dir, gone, gone == 1 ? "" : "s", (unsigned)job->uid,
				  HK_FAIR_UID_REPORTS);
	}
	free(dir);
	return path;
}

static void *daemon_summary_thread(void *arg)
{
	struct daemon_summary *sum = arg;
	free(daemon_write_report_to(sum->dir, &sum->job, &sum->rep));
	hk_report_clear(&sum->rep);
	free(sum->dir);
	sum->dir = NULL;
	return NULL;
}

void daemon_summary_wait(struct daemon_summary *sum)
{
	if (sum->running) {
		pthread_join(sum->thread, NULL);
		sum->running = false;
	}
}

void daemon_summary_start(struct daemon_summary *sum, const struct hk_config *cfg,
			  struct hk_report *rep)
{
	daemon_summary_wait(sum);
	rep->finished_ns = hk_time_now_ns();
	rep->job_id = 0;
	sum->job = (struct hk_job_info){
		.id = 0,
		.trigger = "events",
		.queued_ns = rep->started_ns,
		.started_ns = rep->started_ns,
		.finished_ns = rep->finished_ns,
		.outcome = "ok",
	};
	sum->rep = *rep;   /* the file list moves over */
	rep->files = NULL;
	rep->n_files = 0;
	sum->dir = hk_report_dir(cfg);
	if (hk_thread_start(&sum->thread, daemon_summary_thread, sum) == 0)
		sum->running = true;
	else
		daemon_summary_thread(sum);   /* no thread: write it here */
}
