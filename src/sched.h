/*
 * sched.h - the job manager and the cron timers (SPEC 6).
 *
 * Every run is a job with an id: sweeps (the global housekeeper_schedule,
 * a registration's own schedule), manual runs (control socket, client
 * library) and --once. At most max_concurrent_jobs run at
 * once (the rest wait in order); within a job, registrations are swept in
 * priority order with up to housekeeper_concurrent_cleanups in flight, a
 * registration starting only when every earlier one that could cover the
 * same files has finished. A job running longer than default_timeout is
 * stopped and recorded as timed out, the registrations it did not sweep
 * to the end listed as not run. Work is done in slices from an
 * ev_idle watcher, so the loop keeps serving events; the watcher runs only
 * while a job does (an idle daemon has no periodic wake-up).
 */
#ifndef HK_SCHED_H
#define HK_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "engine.h"

struct ev_loop;
struct hk_sched;

struct hk_job_info {
	uint64_t id;
	const char *trigger;        /* "schedule", "registration-schedule", "manual", "once" */
	bool dry_run;
	char *filter;               /* registration id/name, NULL = all */
	uid_t uid;                  /* who asked over the socket; 0: root or the daemon itself */
	int64_t queued_ns;
	int64_t started_ns;         /* 0 while queued */
	int64_t finished_ns;        /* 0 while not finished */
	const char *outcome;        /* "queued", "running", "ok", "failed", "timeout", "cancelled" */
	uint64_t registrations;     /* registrations the job covers */
	uint64_t registrations_done;   /* swept to the end (or gone since the job was queued) */
	uint64_t scanned;           /* counters so far while the job runs */
	uint64_t deleted;
	uint64_t bytes;
	uint64_t errors;
	char (*waiting)[HK_UUID_LEN + 1];   /* registrations whose directory does not exist */
	size_t n_waiting;
	char (*not_run)[HK_UUID_LEN + 1];   /* not swept to the end: default_timeout (or a stop) came first */
	size_t n_not_run;
};

/* Called when a job ends; rep and job are borrowed for the call. */
typedef void (*hk_job_done_fn)(const struct hk_job_info *job, const struct hk_report *rep,
			       void *arg);

/* loop may be NULL: jobs then run only through hk_sched_run_all. */
struct hk_sched *hk_sched_create(struct ev_loop *loop, struct hk_engine *eng);
/* Cancels running and queued jobs (their callbacks run with "cancelled"). */
void hk_sched_free(struct hk_sched *sched);

/* Re-arm the cron timers for cfg (borrowed until the next call). */
void hk_sched_apply_config(struct hk_sched *sched, const struct hk_config *cfg);

/* Queue a job sweeping the registration `filter` (id or name; NULL = all).
 * uid is who asks (job->uid): 0 (root, the daemon itself) gets a job of
 * every registration filter names; another uid only of the registrations
 * it owns (its run of "all" must not sweep, nor report the files of,
 * others'). The job waits under max_concurrent_jobs and runs in slices
 * from the loop. Returns 0 and *job_id, or HK_ENOTFOUND when filter
 * matches nothing. done may be NULL; it runs when the job ends, never
 * before this returns. */
int hk_sched_submit(struct hk_sched *sched, const char *filter, bool dry_run,
		    const char *trigger, uid_t uid, hk_job_done_fn done, void *arg,
		    uint64_t *job_id);

/* A copy of job id's record: queued or running (with its progress so
 * far) or from the history kept in memory. Returns 0 with *out (free with
 * hk_job_info_fini), or HK_ENOTFOUND. */
int hk_sched_job(const struct hk_sched *sched, uint64_t id, struct hk_job_info *out);
void hk_job_info_fini(struct hk_job_info *info);

/* Waiting for a job. fn runs once: when the job ends (rep set, job final),
 * or when timeout seconds (>= 0; < 0: none) have passed first (rep NULL,
 * job with its progress); both borrowed for the call. Returns 0 with *out
 * (valid until fn has run or the wait is cancelled), HK_ENOTFOUND for a
 * job neither queued nor running (an ended job has nothing to wait for:
 * see hk_sched_job). Needs the loop. */
struct hk_sched_wait;
typedef void (*hk_sched_wait_fn)(const struct hk_job_info *job, const struct hk_report *rep,
				 void *arg);
int hk_sched_wait(struct hk_sched *sched, uint64_t id, double timeout, hk_sched_wait_fn fn,
		  void *arg, struct hk_sched_wait **out);
/* Stop waiting (fn will not run); the job goes on. NULL is a no-op. */
void hk_sched_wait_cancel(struct hk_sched *sched, struct hk_sched_wait *wait);

/* Run every queued job to completion now, without the loop (--once): the
 * same slices, default_timeout and report as from the loop. */
void hk_sched_run_all(struct hk_sched *sched);

/* Where a queued or running job stands, from its own counters. */
struct hk_job_progress {
	size_t registrations_total;
	size_t registrations_done;
	uint64_t scanned;           /* files examined so far */
	uint64_t deleted;           /* (or would be, in a dry run) */
	uint64_t bytes;
};
/* As hk_sched_run_all, calling progress(arg, job id, where it stands)
 * between slices of bounded work, for --once's progress line. */
void hk_sched_run_all_progress(struct hk_sched *sched,
			       void (*progress)(void *arg, uint64_t job_id,
						const struct hk_job_progress *p),
			       void *arg);

/* Every job: running ones and the queue (in order) first, with their
 * progress, then the history kept in memory, newest first. A new array of
 * copies owned by the caller (free with hk_job_infos_free). */
size_t hk_sched_jobs(const struct hk_sched *sched, struct hk_job_info **out);
void hk_job_infos_free(struct hk_job_info *jobs, size_t n);

/* Called for every job that ends, before its own done callback: the daemon
 * persists the job record and its report there. */
void hk_sched_set_hook(struct hk_sched *sched, hk_job_done_fn hook, void *arg);

/* Continue job ids after a restart. */
/* on: an ended job's report is rendered off the loop thread, and written
 * to housekeeper_report_directory when reports are enabled (report.h:
 * hk_report_render); the hook, the job's callback and its waiters then
 * run once it is, with rep->text (and rep->file when written) set. The
 * job counts as running until then. */
void hk_sched_set_render(struct hk_sched *sched, bool on);
void hk_sched_set_next_id(struct hk_sched *sched, uint64_t next_id);

#endif /* HK_SCHED_H */
