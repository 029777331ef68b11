/*
 * sched.c - jobs and cron timers. Invariants: a job is in exactly one of
 * the queue (FIFO), the running list, or the history; a running job holds
 * at most housekeeper_concurrent_cleanups sweeps; the idle watcher is
 * active exactly while a job runs.
 */
#include "autoconfig.h"

#include <ev.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sched.h"

#define SCHED_ANY_OWNER ((uid_t)-1)   /* a job of every registration, whoever owns it */
#include "util.h"

#define SCHED_SLICE 2048          /* work units per loop iteration, all jobs together */
#define SCHED_HISTORY_MAX 1000    /* jobs kept in memory */

struct sched_active {
	struct hk_sweep *sweep;
	size_t idx;                /* position in ids */
};

struct sched_job {
	struct hk_job_info info;
	struct hk_report *rep;
	struct hk_run *run;
	char (*ids)[HK_UUID_LEN + 1];
	size_t n_ids;
	bool *finished;            /* per id */
	bool *started;
	struct sched_active *active;
	size_t n_active;
	int64_t deadline_mono_ns;
	hk_job_done_fn done;
	void *arg;
	struct sched_job *next;
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
	hk_job_done_fn hook;
	void *hook_arg;
};

static void sched_info_fini(struct hk_job_info *info)
{
	free(info->filter);
	info->filter = NULL;
}

static void sched_history_add(struct hk_sched *s, const struct hk_job_info *info)
{
	if (!s->history)
		s->history = hk_xcalloc(SCHED_HISTORY_MAX, sizeof(*s->history));
	struct hk_job_info *slot = &s->history[s->history_head];
	if (s->n_history == SCHED_HISTORY_MAX)
		sched_info_fini(slot);
	else
		s->n_history++;
	*slot = *info;
	slot->filter = info->filter ? hk_xstrdup(info->filter) : NULL;
	s->history_head = (s->history_head + 1) % SCHED_HISTORY_MAX;
}

static void sched_job_free(struct sched_job *job)
{
	for (size_t i = 0; i < job->n_active; i++)
		hk_engine_sweep_free(job->active[i].sweep);
	hk_run_free(job->run);
	hk_report_free(job->rep);
	free(job->ids);
	free(job->finished);
	free(job->started);
	free(job->active);
	sched_info_fini(&job->info);
	free(job);
}

/* The job ends: totals, history, callback, free. */
static void sched_job_end(struct hk_sched *s, struct sched_job *job, const char *outcome)
{
	for (size_t i = 0; i < job->n_active; i++)
		hk_engine_sweep_free(job->active[i].sweep);
	job->n_active = 0;
	struct hk_job_info *info = &job->info;
	struct hk_report *rep = job->rep;
	rep->finished_ns = hk_time_now_ns();
	info->finished_ns = rep->finished_ns;
	for (size_t i = 0; i < rep->n_regs; i++) {
		const struct hk_report_reg *r = &rep->regs[i];
		info->scanned += r->scanned;
		info->deleted += r->deleted;
		info->bytes += r->bytes;
		info->errors += r->errors + (r->error != NULL);
	}
	info->registrations = rep->n_regs;
	info->outcome = outcome ? outcome : info->errors ? "failed" : "ok";
	int prio = strcmp(info->outcome, "ok") == 0 ? LOG_INFO : LOG_ERR;
	hk_log(prio, "sched",
	       "job %" PRIu64 " (%s%s): %s; %" PRIu64 " registration%s, %" PRIu64
	       " file%s %s, %" PRIu64 " error%s",
	       info->id, info->trigger, info->dry_run ? ", dry run" : "", info->outcome,
	       info->registrations, info->registrations == 1 ? "" : "s", info->deleted,
	       info->deleted == 1 ? "" : "s", info->dry_run ? "would be deleted" : "deleted",
	       info->errors, info->errors == 1 ? "" : "s");
	sched_history_add(s, info);
	if (s->hook)
		s->hook(info, rep, s->hook_arg);
	if (job->done)
		job->done(info, rep, job->arg);
	sched_job_free(job);
}

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

/* Step every running job once; end the finished ones. */
static void sched_step_all(struct hk_sched *s, size_t budget)
{
	struct sched_job **pp = &s->running;
	while (*pp) {
		struct sched_job *job = *pp;
		bool timed_out = hk_time_mono_ns() > job->deadline_mono_ns;
		if (sched_job_step(s, job, budget)) {
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
	sched_step_all(s, SCHED_SLICE);
	if (!s->running)
		ev_idle_stop(loop, w);
}

static struct sched_job *sched_job_create(struct hk_sched *s, const char *filter, uid_t owner,
					   bool dry_run, const char *trigger, hk_job_done_fn done,
					   void *arg, int *err);

int hk_sched_submit(struct hk_sched *s, const char *filter, bool dry_run, const char *trigger,
		    hk_job_done_fn done, void *arg, uint64_t *job_id)
{
	int err;
	struct sched_job *job = sched_job_create(s, filter, SCHED_ANY_OWNER, dry_run, trigger,
						 done, arg, &err);
	if (!job)
		return err;
	struct sched_job **pp = &s->queue;
	while (*pp)
		pp = &(*pp)->next;
	*pp = job;
	if (job_id)
		*job_id = job->info.id;
	sched_start_queued(s);
	return 0;
}

/* Is a registration of the job waiting to start (another job sweeps it)? */
static bool sched_job_blocked(const struct sched_job *job)
{
	for (size_t i = 0; i < job->n_ids; i++)
		if (!job->started[i])
			return true;
	return false;
}

int hk_sched_run_now(struct hk_sched *s, const char *filter, bool dry_run, const char *trigger,
		     uid_t uid, hk_job_done_fn done, void *arg, uint64_t *job_id)
{
	int err;
	uid_t owner = uid == 0 ? SCHED_ANY_OWNER : uid;
	struct sched_job *job = sched_job_create(s, filter, owner, dry_run, trigger, done, arg, &err);
	if (!job)
		return err;
	job->info.uid = uid;
	if (job_id)
		*job_id = job->info.id;
	/* started at once, outside the queue: the caller waits for it */
	struct sched_job *saved_queue = s->queue;
	s->queue = job;
	job->next = NULL;
	struct sched_job *saved_running = s->running;
	s->running = NULL;
	sched_start_queued(s);
	while (s->running == job) {
		bool timed_out = hk_time_mono_ns() > job->deadline_mono_ns;
		if (sched_job_step(s, job, SIZE_MAX / 4)) {
			s->running = NULL;
			sched_job_end(s, job, timed_out ? "timeout" : NULL);
		} else if (job->n_active == 0 && sched_job_blocked(job)) {
			/* a paused job sweeps the same registration: give up */
			s->running = NULL;
			sched_job_end(s, job, "busy");
		}
	}
	s->queue = saved_queue;
	s->running = saved_running;
	if (s->loop && (s->running || s->queue) && !ev_is_active(&s->work))
		ev_idle_start(s->loop, &s->work);
	return 0;
}

/* Keep, in their order, the ids of registrations owned by owner. */
static size_t sched_keep_owned(const struct hk_sched *s, char (*ids)[HK_UUID_LEN + 1], size_t n,
			       uid_t owner)
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
					   bool dry_run, const char *trigger, hk_job_done_fn done,
					   void *arg, int *err)
{
	char (*ids)[HK_UUID_LEN + 1] = NULL;
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
	job->done = done;
	job->arg = arg;
	return job;
}

void hk_sched_run_all(struct hk_sched *s)
{
	sched_start_queued(s);
	while (s->running)
		sched_step_all(s, SIZE_MAX / 4);
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
		struct hk_job_progress p;
		sched_job_progress(s->running, &p);
		progress(arg, s->running->info.id, &p);
		sched_step_all(s, SCHED_SLICE);
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

static void sched_cron_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct sched_cron *c = w->data;
	uint64_t id;
	int r = hk_sched_submit(c->sched, c->filter, false,
				c->filter ? "registration-schedule" : "schedule", NULL, NULL, &id);
	if (r < 0)
		log_warnx("sched", "%s: scheduled sweep not started: %s",
			  c->filter ? c->filter : "all", hk_strerror(r));
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
	if (s->loop)
		ev_idle_stop(s->loop, &s->work);
	for (size_t i = 0; i < s->n_history; i++)
		sched_info_fini(&s->history[i]);
	free(s->history);
	free(s);
}

size_t hk_sched_jobs(const struct hk_sched *s, struct hk_job_info **out)
{
	size_t n = s->n_history, k = 0;
	for (const struct sched_job *j = s->running; j; j = j->next)
		n++;
	for (const struct sched_job *j = s->queue; j; j = j->next)
		n++;
	*out = hk_xcalloc(n ? n : 1, sizeof(**out));
	const struct sched_job *lists[] = { s->queue, s->running };
	for (size_t l = 0; l < 2; l++)
		for (const struct sched_job *j = lists[l]; j; j = j->next) {
			(*out)[k] = j->info;
			(*out)[k].filter = j->info.filter ? hk_xstrdup(j->info.filter) : NULL;
			k++;
		}
	for (size_t i = 0; i < s->n_history; i++) {
		size_t slot = (s->history_head + SCHED_HISTORY_MAX - 1 - i) % SCHED_HISTORY_MAX;
		(*out)[k] = s->history[slot];
		(*out)[k].filter = s->history[slot].filter ? hk_xstrdup(s->history[slot].filter)
							   : NULL;
		k++;
	}
	return k;
}

void hk_job_infos_free(struct hk_job_info *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(jobs[i].filter);
	free(jobs);
}

void hk_sched_set_hook(struct hk_sched *s, hk_job_done_fn hook, void *arg)
{
	s->hook = hook;
	s->hook_arg = arg;
}

void hk_sched_set_next_id(struct hk_sched *s, uint64_t next_id)
{
	if (next_id > s->next_id)
		s->next_id = next_id;
}
