/*
 * sched.c - jobs and cron timers. Every run is a job: cron sweeps,
 * registration schedules, manual runs and --once.
 *
 * Invariants: a job is in exactly one of the queue (FIFO), the running
 * list, or the history; a running job holds at most
 * housekeeper_concurrent_cleanups sweeps; the idle watcher is active
 * exactly while a job runs, and each of its callbacks works for about
 * SCHED_SLICE_NS over all jobs, in steps of SCHED_STEP units (so the loop
 * keeps serving events, timers and clients); a waiter is on the list until its function
 * has run or it was cancelled, and its timer runs only while it is.
 */
#include "autoconfig.h"

#include <ev.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report.h"
#include "sched.h"
#include "util.h"

#define SCHED_ANY_OWNER ((uid_t)-1)   /* a job of every registration, whoever owns it */
#define SCHED_STEP 128            /* work units per step, all jobs together */
#define SCHED_SLICE_NS (5 * 1000 * 1000)   /* steps per loop iteration: for about 5 ms */
#define SCHED_HISTORY_MAX 1000    /* jobs kept in memory */

typedef char sched_id[HK_UUID_LEN + 1];

struct sched_active {
	struct hk_sweep *sweep;
	size_t idx;                /* position in ids */
};

struct sched_job {
	struct hk_job_info info;
	struct hk_report *rep;
	struct hk_run *run;
	sched_id *ids;
	size_t n_ids;
	bool *finished;            /* per id */
	bool *started;
	struct sched_active *active;
	size_t n_active;
	int64_t deadline_mono_ns;
	hk_job_done_fn done;
	void *arg;
	struct hk_job_info final;  /* its record once ended, while its report renders */
	struct hk_report_render *render;
	struct sched_job *next;
};

struct hk_sched_wait {
	struct hk_sched *sched;
	uint64_t id;
	ev_timer timer;
	bool timed;
	hk_sched_wait_fn fn;
	void *arg;
	struct hk_sched_wait *next;
};

struct sched_cron {
	ev_periodic timer;
	struct hk_sched *sched;
	struct hk_cron cron;
	char *filter;              /* NULL: the global sweep */
};

struct hk_sched {
	struct ev_loop *loop;
	struct hk_engine *eng;
	const struct hk_config *cfg;
	ev_idle work;
	struct sched_job *queue;   /* FIFO */
	struct sched_job *running;
	struct hk_job_info *history;   /* ring, newest at history_head - 1 */
	size_t n_history;
	size_t history_head;
	uint64_t next_id;
	struct sched_cron *crons;
	size_t n_crons;
	struct hk_sched_wait *waits;
	hk_job_done_fn hook;
	void *hook_arg;
	bool render_reports;       /* hk_sched_set_render */
	struct sched_job *finishing;   /* ended, their reports rendering */
	ev_async rendered;
};

/* Job records ---------------------------------------------------------------- */

static sched_id *sched_ids_dup(const sched_id *ids, size_t n)
{
	if (!n)
		return NULL;
	sched_id *copy = hk_xcalloc(n, sizeof(*copy));
	memcpy(copy, ids, n * sizeof(*copy));
	return copy;
}

void hk_job_info_fini(struct hk_job_info *info)
{
	free(info->filter);
	free(info->waiting);
	free(info->not_run);
	info->filter = NULL;
	info->waiting = info->not_run = NULL;
	info->n_waiting = info->n_not_run = 0;
}

/* A deep copy of src (the strings and lists its own). */
static void sched_info_copy(struct hk_job_info *dst, const struct hk_job_info *src)
{
	*dst = *src;
	dst->filter = src->filter ? hk_xstrdup(src->filter) : NULL;
	dst->waiting = sched_ids_dup(src->waiting, src->n_waiting);
	dst->not_run = sched_ids_dup(src->not_run, src->n_not_run);
}

/* The record of job as it stands: totals of the registrations swept so
 * far (the running ones included), waiting directories, and, for an ended
 * job, what it did not sweep to the end. A deep copy into out. */
static void sched_job_snapshot(const struct sched_job *job, struct hk_job_info *out)
{
	const struct hk_report *rep = job->rep;
	*out = job->info;
	out->filter = job->info.filter ? hk_xstrdup(job->info.filter) : NULL;
	out->scanned = out->deleted = out->bytes = out->errors = 0;
	out->waiting = out->not_run = NULL;
	out->n_waiting = out->n_not_run = 0;
	for (size_t i = 0; i < rep->n_regs; i++) {
		const struct hk_report_reg *r = &rep->regs[i];
		out->scanned += r->scanned;
		out->deleted += r->deleted;
		out->bytes += r->bytes;
		out->errors += r->errors + (r->error != NULL && !r->waiting);
		if (r->waiting) {
			if (!out->waiting)
				out->waiting = hk_xcalloc(rep->n_regs, sizeof(*out->waiting));
			memcpy(out->waiting[out->n_waiting++], r->id, sizeof(sched_id));
		}
	}
	out->registrations = job->n_ids;
	out->registrations_done = 0;
	for (size_t i = 0; i < job->n_ids; i++)
		out->registrations_done += job->finished[i];
	out->not_run = sched_ids_dup(rep->not_run, rep->n_not_run);
	out->n_not_run = out->not_run ? rep->n_not_run : 0;
}

static void sched_history_add(struct hk_sched *s, const struct hk_job_info *info)
{
	if (!s->history)
		s->history = hk_xcalloc(SCHED_HISTORY_MAX, sizeof(*s->history));
	struct hk_job_info *slot = &s->history[s->history_head];
	if (s->n_history == SCHED_HISTORY_MAX)
		hk_job_info_fini(slot);
	else
		s->n_history++;
	sched_info_copy(slot, info);
	s->history_head = (s->history_head + 1) % SCHED_HISTORY_MAX;
}

static void sched_job_free(struct sched_job *job)
{
	for (size_t i = 0; i < job->n_active; i++)
		hk_engine_sweep_free(job->active[i].sweep);
	hk_run_free(job->run);
	hk_report_free_detached(job->rep);
	free(job->ids);
	free(job->finished);
	free(job->started);
	free(job->active);
	hk_job_info_fini(&job->info);
	free(job);
}

/* Run the waiters of job id with info and rep (NULL: not ended). Each is
 * unlinked before its function runs, which may add or cancel others. */
static void sched_wake(struct hk_sched *s, const struct hk_job_info *info,
		       const struct hk_report *rep)
{
	for (;;) {
		struct hk_sched_wait **pp = &s->waits;
		while (*pp && (*pp)->id != info->id)
			pp = &(*pp)->next;
		struct hk_sched_wait *w = *pp;
		if (!w)
			return;
		*pp = w->next;
		if (w->timed && s->loop)
			ev_timer_stop(s->loop, &w->timer);
		w->fn(info, rep, w->arg);
		free(w);
	}
}

/* What the job did not sweep to the end is listed in its report. */
static void sched_job_not_run(struct sched_job *job)
{
	struct hk_report *rep = job->rep;
	for (size_t i = 0; i < job->n_ids; i++) {
		if (job->finished[i])
			continue;
		if (!rep->not_run)
			rep->not_run = hk_xcalloc(job->n_ids, sizeof(*rep->not_run));
		memcpy(rep->not_run[rep->n_not_run++], job->ids[i], sizeof(sched_id));
	}
}

/* The job's record and report are complete: log, history, callbacks,
 * waiters, free. */
static void sched_job_finish(struct hk_sched *s, struct sched_job *job, struct hk_job_info *info)
{
	job->info.finished_ns = info->finished_ns;
	job->info.outcome = info->outcome;
	int prio = strcmp(info->outcome, "ok") == 0 ? LOG_INFO : LOG_ERR;
	hk_log(prio, "sched",
	       "job %" PRIu64 " (%s%s): %s; %" PRIu64 " registration%s, %" PRIu64
	       " file%s %s, %" PRIu64 " error%s%s",
	       info->id, info->trigger, info->dry_run ? ", dry run" : "", info->outcome,
	       info->registrations, info->registrations == 1 ? "" : "s", info->deleted,
	       info->deleted == 1 ? "" : "s", info->dry_run ? "would be deleted" : "deleted",
	       info->errors, info->errors == 1 ? "" : "s",
	       info->n_not_run ? ", some registrations not run" : "");
	sched_history_add(s, info);
	if (s->hook)
		s->hook(info, job->rep, s->hook_arg);
	if (job->done)
		job->done(info, job->rep, job->arg);
	sched_wake(s, info, job->rep);
	hk_job_info_fini(info);
	sched_job_free(job);
}

/* Render job's report off the loop (its record in job->final); the job
 * finishes when the thread is done (sched_rendered_cb). False: no
 * thread, finish it here. */
static bool sched_render_start(struct hk_sched *s, struct sched_job *job)
{
	if (!s->render_reports || !s->loop)
		return false;
	const struct hk_config *cfg = s->cfg;
	struct hk_report_render *r = hk_xcalloc(1, sizeof(*r));
	r->job = &job->final;
	r->rep = job->rep;
	r->dir = cfg->scheduler.housekeeper_report_enabled ? hk_report_dir(cfg) : NULL;
	r->loop = s->loop;
	r->done = &s->rendered;
	if (hk_report_render_start(r) < 0) {
		hk_report_render_fini(r);
		free(r);
		return false;
	}
	job->render = r;
	job->next = s->finishing;
	s->finishing = job;
	return true;
}

/* Finish the jobs whose reports are rendered (all of them: wait). */
static void sched_finish_rendered(struct hk_sched *s, bool wait)
{
	struct sched_job **pp = &s->finishing;
	while (*pp) {
		struct sched_job *job = *pp;
		struct hk_report_render *r = job->render;
		if (!wait && !hk_report_render_finished(r)) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		hk_report_render_join(r);
		if (r->rc == 0 || r->path)
			job->rep->text = &r->text;
		job->rep->file = r->path;
		sched_job_finish(s, job, &job->final);
		hk_report_render_fini(r);
		free(r);
	}
}

static void sched_rendered_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	sched_finish_rendered(w->data, false);
}

/* The job ends: totals; its report rendered (off the loop when
 * hk_sched_set_render asked for it), then sched_job_finish. */
static void sched_job_end(struct hk_sched *s, struct sched_job *job, const char *outcome)
{
	for (size_t i = 0; i < job->n_active; i++)
		hk_engine_sweep_free(job->active[i].sweep);
	job->n_active = 0;
	struct hk_report *rep = job->rep;
	rep->finished_ns = hk_time_now_ns();
	if (!job->info.started_ns)
		job->info.started_ns = rep->started_ns = rep->finished_ns;   /* cancelled while queued */
	sched_job_not_run(job);
	struct hk_job_info *info = &job->final;
	sched_job_snapshot(job, info);
	info->finished_ns = rep->finished_ns;
	info->outcome = outcome ? outcome : info->errors ? "failed" : "ok";
	if (!sched_render_start(s, job))
		sched_job_finish(s, job, info);
}

/* Running jobs --------------------------------------------------------------- */

/* Can ids[i] start now: no earlier unfinished registration overlaps it? */
static bool sched_can_start(struct hk_sched *s, struct sched_job *job, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!job->finished[j] && hk_engine_regs_overlap(s->eng, job->ids[j], job->ids[i]))
			return false;
	return true;
}

static void sched_job_fill(struct hk_sched *s, struct sched_job *job)
{
	size_t limit = (size_t)s->cfg->scheduler.housekeeper_concurrent_cleanups;
	for (size_t i = 0; i < job->n_ids && job->n_active < limit; i++) {
		if (job->started[i] || !sched_can_start(s, job, i))
			continue;
		struct hk_report_reg *rr = &job->rep->regs[job->rep->n_regs];
		struct hk_sweep *sw = NULL;
		int r = hk_engine_sweep_start(s->eng, job->ids[i], job->run, rr, &sw);
		if (r == HK_EBUSY)
			continue;   /* another job sweeps it: try again next slice */
		job->started[i] = true;
		if (r < 0) {
			job->finished[i] = true;   /* removed since the job was queued */
			continue;
		}
		job->rep->n_regs++;
		job->active[job->n_active++] = (struct sched_active){ sw, i };
	}
}

/* One slice of a running job. Returns true when the job is over. */
static bool sched_job_step(struct hk_sched *s, struct sched_job *job, size_t budget)
{
	if (hk_time_mono_ns() > job->deadline_mono_ns) {
		log_errx("sched", "job %" PRIu64 ": default_timeout (%lds) reached; stopped",
			 job->info.id, s->cfg->scheduler.default_timeout);
		return true;
	}
	sched_job_fill(s, job);
	if (job->n_active == 0) {
		for (size_t i = 0; i < job->n_ids; i++)
			if (!job->finished[i])
				return false;   /* waiting for another job's sweep */
		return true;
	}
	size_t share = budget / job->n_active + 1;
	for (size_t a = 0; a < job->n_active;) {
		struct sched_active *act = &job->active[a];
		if (hk_engine_sweep_step(act->sweep, share)) {
			hk_engine_sweep_free(act->sweep);
			job->finished[act->idx] = true;
			job->active[a] = job->active[--job->n_active];
		} else {
			a++;
		}
	}
	return false;
}

static void sched_start_queued(struct hk_sched *s)
{
	size_t running = 0;
	for (struct sched_job *j = s->running; j; j = j->next)
		running++;
	while (s->queue && running < (size_t)s->cfg->scheduler.max_concurrent_jobs) {
		struct sched_job *job = s->queue;
		s->queue = job->next;
		job->next = s->running;
		s->running = job;
		job->info.started_ns = hk_time_now_ns();
		job->info.outcome = "running";
		job->rep->started_ns = job->info.started_ns;
		job->deadline_mono_ns = hk_time_mono_ns() +
					(int64_t)s->cfg->scheduler.default_timeout * HK_NSEC_PER_SEC;
		job->run = hk_run_create(s->eng, job->info.dry_run, job->rep);
		if (!hk_run_age_allowed(job->run))
			log_errx("sched", "job %" PRIu64 ": the system clock is before the build "
				 "date; age limits are not enforced until it is right",
				 job->info.id);
		running++;
	}
	if (s->loop && s->running && !ev_is_active(&s->work))
		ev_idle_start(s->loop, &s->work);
}

/* Step every running job once, budget shared between them; end the
 * finished ones. */
static void sched_step_all(struct hk_sched *s, size_t budget)
{
	size_t n = 0;
	for (struct sched_job *j = s->running; j; j = j->next)
		n++;
	size_t share = n ? budget / n + 1 : budget;
	struct sched_job **pp = &s->running;
	while (*pp) {
		struct sched_job *job = *pp;
		bool timed_out = hk_time_mono_ns() > job->deadline_mono_ns;
		if (sched_job_step(s, job, share)) {
			*pp = job->next;
			sched_job_end(s, job, timed_out ? "timeout" : NULL);
		} else {
			pp = &job->next;
		}
	}
	sched_start_queued(s);
}

static void sched_work_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_sched *s = w->data;
	int64_t end = hk_time_mono_ns() + SCHED_SLICE_NS;
	/* small steps until the slice's time is used (a step's cost varies:
	 * a directory entry read, a file reported, a file deleted) */
	do
		sched_step_all(s, SCHED_STEP);
	while (s->running && hk_time_mono_ns() < end);
	if (!s->running)
		ev_idle_stop(loop, w);
}

/* Keep, in their order, the ids of registrations owned by owner. */
static size_t sched_keep_owned(const struct hk_sched *s, sched_id *ids, size_t n, uid_t owner)
{
	size_t kept = 0, count = hk_engine_count(s->eng);
	for (size_t k = 0; k < n; k++) {
		bool own = false;
		for (size_t i = 0; i < count && !own; i++) {
			const struct hk_registration *r = hk_engine_registration(s->eng, i);
			own = strcmp(r->id, ids[k]) == 0 && r->owner_uid == owner;
		}
		if (own)
			memmove(ids[kept++], ids[k], sizeof(ids[k]));
	}
	return kept;
}

static struct sched_job *sched_job_create(struct hk_sched *s, const char *filter, uid_t owner,
					   bool dry_run, const char *trigger, int *err)
{
	sched_id *ids = NULL;
	size_t n = hk_engine_reg_ids(s->eng, filter, &ids);
	if (owner != SCHED_ANY_OWNER)
		n = sched_keep_owned(s, ids, n, owner);
	if (filter && n == 0) {
		free(ids);
		*err = HK_ENOTFOUND;
		return NULL;
	}
	*err = 0;
	const struct hk_scheduler_settings *set = &s->cfg->scheduler;
	struct sched_job *job = hk_xcalloc(1, sizeof(*job));
	job->info.id = s->next_id++;
	job->info.trigger = trigger;
	job->info.dry_run = dry_run || set->housekeeper_dry_run || set->housekeeper_read_only;
	job->info.filter = filter ? hk_xstrdup(filter) : NULL;
	job->info.queued_ns = hk_time_now_ns();
	job->info.outcome = "queued";
	job->info.registrations = n;
	job->ids = ids;
	job->n_ids = n;
	job->finished = hk_xcalloc(n ? n : 1, sizeof(bool));
	job->started = hk_xcalloc(n ? n : 1, sizeof(bool));
	job->active = hk_xcalloc(n ? n : 1, sizeof(*job->active));
	job->rep = hk_xcalloc(1, sizeof(*job->rep));
	job->rep->job_id = job->info.id;
	job->rep->trigger = trigger;
	job->rep->dry_run = job->info.dry_run;
	job->rep->regs = hk_xcalloc(n ? n : 1, sizeof(*job->rep->regs));
	return job;
}

int hk_sched_submit(struct hk_sched *s, const char *filter, bool dry_run, const char *trigger,
		    uid_t uid, hk_job_done_fn done, void *arg, uint64_t *job_id)
{
	int err;
	struct sched_job *job = sched_job_create(s, filter, uid == 0 ? SCHED_ANY_OWNER : uid,
						 dry_run, trigger, &err);
	if (!job)
		return err;
	job->info.uid = uid;
	job->done = done;
	job->arg = arg;
	struct sched_job **pp = &s->queue;
	while (*pp)
		pp = &(*pp)->next;
	*pp = job;
	if (job_id)
		*job_id = job->info.id;
	sched_start_queued(s);
	return 0;
}

void hk_sched_run_all(struct hk_sched *s)
{
	hk_sched_run_all_progress(s, NULL, NULL);
}

/* Waiting for jobs ----------------------------------------------------------- */

static const struct sched_job *sched_find(const struct hk_sched *s, uint64_t id)
{
	const struct sched_job *lists[] = { s->queue, s->running, s->finishing };
	for (size_t l = 0; l < 3; l++)
		for (const struct sched_job *j = lists[l]; j; j = j->next)
			if (j->info.id == id)
				return j;
	return NULL;
}

int hk_sched_job(const struct hk_sched *s, uint64_t id, struct hk_job_info *out)
{
	const struct sched_job *job = sched_find(s, id);
	if (job) {
		sched_job_snapshot(job, out);
		return 0;
	}
	for (size_t i = 0; i < s->n_history; i++) {
		if (s->history[i].id == id) {
			sched_info_copy(out, &s->history[i]);
			return 0;
		}
	}
	return HK_ENOTFOUND;
}

/* A wait's timeout: its function gets the job's progress. */
static void sched_wait_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hk_sched_wait *w = t->data;
	struct hk_sched *s = w->sched;
	hk_sched_wait_fn fn = w->fn;
	void *arg = w->arg;
	struct hk_job_info info = { .id = w->id, .outcome = "cancelled" };
	bool found = hk_sched_job(s, w->id, &info) == 0;   /* always: an ended job woke it */
	hk_sched_wait_cancel(s, w);
	fn(&info, NULL, arg);
	if (found)
		hk_job_info_fini(&info);
}

int hk_sched_wait(struct hk_sched *s, uint64_t id, double timeout, hk_sched_wait_fn fn,
		  void *arg, struct hk_sched_wait **out)
{
	*out = NULL;
	if (!sched_find(s, id))
		return HK_ENOTFOUND;
	struct hk_sched_wait *w = hk_xcalloc(1, sizeof(*w));
	w->sched = s;
	w->id = id;
	w->fn = fn;
	w->arg = arg;
	w->next = s->waits;
	s->waits = w;
	if (timeout >= 0 && s->loop) {
		ev_timer_init(&w->timer, sched_wait_timer_cb, timeout, 0.);
		w->timer.data = w;
		w->timed = true;
		ev_timer_start(s->loop, &w->timer);
	}
	*out = w;
	return 0;
}

void hk_sched_wait_cancel(struct hk_sched *s, struct hk_sched_wait *w)
{
	if (!w)
		return;
	for (struct hk_sched_wait **pp = &s->waits; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	if (w->timed && s->loop)
		ev_timer_stop(s->loop, &w->timer);
	free(w);
}

static void sched_job_progress(const struct sched_job *job, struct hk_job_progress *p)
{
	*p = (struct hk_job_progress){ .registrations_total = job->n_ids };
	for (size_t i = 0; i < job->n_ids; i++)
		p->registrations_done += job->finished[i];
	for (size_t i = 0; i < job->rep->n_regs; i++) {
		p->scanned += job->rep->regs[i].scanned;
		p->deleted += job->rep->regs[i].deleted;
		p->bytes += job->rep->regs[i].bytes;
	}
}

void hk_sched_run_all_progress(struct hk_sched *s,
			       void (*progress)(void *arg, uint64_t job_id,
						const struct hk_job_progress *p),
			       void *arg)
{
	sched_start_queued(s);
	while (s->running) {
		if (progress) {
			struct hk_job_progress p;
			sched_job_progress(s->running, &p);
			progress(arg, s->running->info.id, &p);
		}
		sched_step_all(s, SCHED_STEP);
	}
}

/* Cron ---------------------------------------------------------------------- */

static ev_tstamp sched_cron_resched(ev_periodic *w, ev_tstamp now)
{
	struct sched_cron *c = w->data;
	time_t next;
	if (hk_cron_next(&c->cron, (time_t)now, &next) < 0)
		return now + 1e9;   /* never: ev needs a time; a third of a century is far */
	return (ev_tstamp)next;
}

/* A registration as log lines name it: its name, else its directory (the
 * id when it is gone). Borrowed until the engine changes. */
static const char *sched_reg_label(const struct hk_sched *s, const char *id)
{
	for (size_t i = 0; i < hk_engine_count(s->eng); i++) {
		const struct hk_registration *r = hk_engine_registration(s->eng, i);
		if (strcmp(r->id, id) == 0)
			return r->name && *r->name ? r->name : r->directory;
	}
	return id;
}

static void sched_cron_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct sched_cron *c = w->data;
	uint64_t id;
	int r = hk_sched_submit(c->sched, c->filter, false,
				c->filter ? "registration-schedule" : "schedule", 0, NULL, NULL,
				&id);
	if (r < 0)
		log_warnx("sched", "%s: scheduled sweep not started: %s",
			  c->filter ? sched_reg_label(c->sched, c->filter) : "all", hk_strerror(r));
}

static void sched_crons_stop(struct hk_sched *s)
{
	for (size_t i = 0; i < s->n_crons; i++) {
		if (s->loop)
			ev_periodic_stop(s->loop, &s->crons[i].timer);
		free(s->crons[i].filter);
	}
	free(s->crons);
	s->crons = NULL;
	s->n_crons = 0;
}

void hk_sched_apply_config(struct hk_sched *s, const struct hk_config *cfg)
{
	s->cfg = cfg;
	sched_crons_stop(s);
	if (!s->loop)
		return;
	size_t n = hk_engine_count(s->eng);
	s->crons = hk_xcalloc(n + 1, sizeof(*s->crons));
	s->crons[s->n_crons++] = (struct sched_cron){ .sched = s,
						      .cron = cfg->scheduler.schedule_cron };
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *reg = hk_engine_registration(s->eng, i);
		if (!reg->schedule)
			continue;
		s->crons[s->n_crons++] = (struct sched_cron){ .sched = s,
							      .cron = reg->schedule_cron,
							      .filter = hk_xstrdup(reg->id) };
	}
	for (size_t i = 0; i < s->n_crons; i++) {
		struct sched_cron *c = &s->crons[i];
		ev_periodic_init(&c->timer, sched_cron_cb, 0., 0., sched_cron_resched);
		c->timer.data = c;
		ev_periodic_start(s->loop, &c->timer);
	}
}

struct hk_sched *hk_sched_create(struct ev_loop *loop, struct hk_engine *eng)
{
	struct hk_sched *s = hk_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->eng = eng;
	s->next_id = 1;
	ev_idle_init(&s->work, sched_work_cb);
	s->work.data = s;
	ev_set_priority(&s->work, EV_MAXPRI);   /* not starved by a flood of events */
	ev_async_init(&s->rendered, sched_rendered_cb);
	s->rendered.data = s;
	if (loop)
		ev_async_start(loop, &s->rendered);
	hk_sched_apply_config(s, hk_engine_config(eng));
	return s;
}

void hk_sched_free(struct hk_sched *s)
{
	if (!s)
		return;
	sched_crons_stop(s);
	while (s->running) {
		struct sched_job *job = s->running;
		s->running = job->next;
		sched_job_end(s, job, "cancelled");
	}
	while (s->queue) {
		struct sched_job *job = s->queue;
		s->queue = job->next;
		sched_job_end(s, job, "cancelled");
	}
	sched_finish_rendered(s, true);
	if (s->loop) {
		ev_idle_stop(s->loop, &s->work);
		ev_async_stop(s->loop, &s->rendered);
	}
	while (s->waits)
		hk_sched_wait_cancel(s, s->waits);
	for (size_t i = 0; i < s->n_history; i++)
		hk_job_info_fini(&s->history[i]);
	free(s->history);
	free(s);
}

size_t hk_sched_jobs(const struct hk_sched *s, struct hk_job_info **out)
{
	size_t n = s->n_history, k = 0;
	const struct sched_job *lists[] = { s->finishing, s->running, s->queue };
	for (size_t l = 0; l < 3; l++)
		for (const struct sched_job *j = lists[l]; j; j = j->next)
			n++;
	*out = hk_xcalloc(n ? n : 1, sizeof(**out));
	/* running first (they are pushed at the head: newest first; those
	 * whose reports render are still running), then the queue in its
	 * order, then history newest first */
	for (size_t l = 0; l < 3; l++)
		for (const struct sched_job *j = lists[l]; j; j = j->next)
			sched_job_snapshot(j, &(*out)[k++]);
	for (size_t i = 0; i < s->n_history; i++) {
		size_t slot = (s->history_head + SCHED_HISTORY_MAX - 1 - i) % SCHED_HISTORY_MAX;
		sched_info_copy(&(*out)[k++], &s->history[slot]);
	}
	return k;
}

void hk_job_infos_free(struct hk_job_info *jobs, size_t n)
{
	for (size_t i = 0; jobs && i < n; i++)
		hk_job_info_fini(&jobs[i]);
	free(jobs);
}

void hk_sched_set_hook(struct hk_sched *s, hk_job_done_fn hook, void *arg)
{
	s->hook = hook;
	s->hook_arg = arg;
}

void hk_sched_set_render(struct hk_sched *s, bool on)
{
	s->render_reports = on;
}

void hk_sched_set_next_id(struct hk_sched *s, uint64_t next_id)
{
	if (next_id > s->next_id)
		s->next_id = next_id;
}
