/*
 * sched.h - the job manager and the cron timers (SPEC 6).
 *
 * Sweeps (the global housekeeper_schedule, a registration's own schedule)
 * and manual runs are jobs with ids. At most max_concurrent_jobs run at
 * once (the rest wait in order); within a job, registrations are swept in
 * priority order with up to housekeeper_concurrent_cleanups in flight, a
 * registration starting only when every earlier one that could cover the
 * same files has finished. A job running longer than default_timeout is
 * stopped and recorded as timed out. Work is done in slices from an
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
	uint64_t registrations;
	uint64_t scanned;
	uint64_t deleted;
	uint64_t bytes;
	uint64_t errors;
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
 * Returns 0 and *job_id, or HK_ENOTFOUND when filter matches nothing. done
 * may be NULL. */
int hk_sched_submit(struct hk_sched *sched, const char *filter, bool dry_run,
		    const char *trigger, hk_job_done_fn done, void *arg, uint64_t *job_id);

/* Run a job now, to completion, before returning (a manual run whose caller
 * waits for the report); other jobs pause meanwhile. uid is the caller's
 * (job->uid); a caller other than root gets a job of only the
 * registrations it owns (its run of "all" must not sweep, nor report the
 * files of, others'). Same other arguments and errors as hk_sched_submit;
 * done runs before this returns. */
int hk_sched_run_now(struct hk_sched *sched, const char *filter, bool dry_run,
		     const char *trigger, uid_t uid, hk_job_done_fn done, void *arg,
		     uint64_t *job_id);

/* Run every queued job to completion now, without the loop (--once). */
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

/* Job history, newest first: a new array of copies owned by the caller
 * (free with hk_job_infos_free). */
size_t hk_sched_jobs(const struct hk_sched *sched, struct hk_job_info **out);
void hk_job_infos_free(struct hk_job_info *jobs, size_t n);

/* Called for every job that ends, before its own done callback: the daemon
 * persists the job record and its report there. */
void hk_sched_set_hook(struct hk_sched *sched, hk_job_done_fn hook, void *arg);

/* Continue job ids after a restart. */
void hk_sched_set_next_id(struct hk_sched *sched, uint64_t next_id);

#endif /* HK_SCHED_H */
