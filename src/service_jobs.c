/*
 * service_jobs.c - the control operations on jobs: a manual run (and its
 * answer, the report, when the job ends), waiting for a job (with a
 * timeout; the report of one that ended already from its file), a job's
 * owner, the list of jobs (the job manager's, then the stored ones); the
 * JOB object of ctl.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "report.h"
#include "service_int.h"
#include "util.h"

json_t *svc_time_or_null(int64_t ns)
{
	return ns && ns != INT64_MAX ? json_integer(ns / HK_NSEC_PER_SEC) : json_null();
}

/* Jobs ---------------------------------------------------------------------- */

static json_t *svc_ids_json(const char (*ids)[HK_UUID_LEN + 1], size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(ids[i]));
	return arr;
}

/* JOB (ctl.h): a job record with its progress; no paths. */
static json_t *svc_job_info_json(const struct hk_job_info *j)
{
	json_t *o = json_object();
	json_object_set_new(o, "job_id", json_integer((json_int_t)j->id));
	json_object_set_new(o, "trigger", json_string(j->trigger ? j->trigger : ""));
	json_object_set_new(o, "registration_id", j->filter ? json_string(j->filter) : json_null());
	json_object_set_new(o, "dry_run", json_boolean(j->dry_run));
	json_object_set_new(o, "queued", svc_time_or_null(j->queued_ns));
	json_object_set_new(o, "started", svc_time_or_null(j->started_ns));
	json_object_set_new(o, "finished", svc_time_or_null(j->finished_ns));
	json_object_set_new(o, "outcome", json_string(j->outcome ? j->outcome : ""));
	json_object_set_new(o, "registrations_total", json_integer((json_int_t)j->registrations));
	json_object_set_new(o, "registrations_done",
			    json_integer((json_int_t)j->registrations_done));
	json_object_set_new(o, "scanned", json_integer((json_int_t)j->scanned));
	json_object_set_new(o, "deleted", json_integer((json_int_t)j->deleted));
	json_object_set_new(o, "bytes", json_integer((json_int_t)j->bytes));
	json_object_set_new(o, "errors", json_integer((json_int_t)j->errors));
	json_object_set_new(o, "waiting", svc_ids_json(j->waiting, j->n_waiting));
	json_object_set_new(o, "not_run", svc_ids_json(j->not_run, j->n_not_run));
	return o;
}

/* A stored job record (an older job, or one before a restart) as JOB. */
static json_t *svc_store_job_json(const struct hk_store_job *sj)
{
	struct hk_job_info j = {
		.id = sj->id, .trigger = sj->trigger, .dry_run = sj->dry_run,
		.queued_ns = sj->start_ns, .started_ns = sj->start_ns, .finished_ns = sj->end_ns,
		.outcome = sj->outcome, .scanned = sj->scanned, .deleted = sj->deleted,
		.bytes = sj->bytes, .errors = sj->errors,
	};
	json_t *o = svc_job_info_json(&j);
	json_object_set_new(o, "registration_id", sj->reg_id ? json_string(sj->reg_id) : json_null());
	return o;
}

/* The JSON report's path, when the daemon's job hook (which runs before a
 * job's own callback) wrote it, as the member "report_file" of the
 * streamed report object: the text of a report that leaves files unlisted
 * names it. */
static void svc_report_file(const struct hk_config *cfg, const struct hk_job_info *job,
			    const struct hk_report *rep, struct hk_buf *text)
{
	if (!cfg->scheduler.housekeeper_report_enabled || text->len < 2 ||
	    text->data[text->len - 1] != '}')
		return;
	char *dir = hk_report_dir(cfg);
	char *path = hk_report_path(dir, job, rep);
	if (access(path, F_OK) == 0) {
		json_t *o = json_object();
		hk_proto_set_bytes(o, "report_file", path, strlen(path));
		char *member = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (member) {
			text->len--;   /* the report object's '}' */
			hk_buf_append(text, ",", 1);
			hk_buf_append(text, member + 1, strlen(member) - 1);
		}
		free(member);
	}
	free(path);
	free(dir);
}

/* A control client waiting for a job (run_cleanup, wait_job). */
struct svc_wait {
	struct hk_service *svc;
	struct hk_ctl_pending *pending;
	struct hk_sched_wait *wait;
	bool run;                  /* run_cleanup's answer: the report itself */
};

/* The client went away: stop waiting, the job goes on. */
static void svc_wait_cancel(void *arg)
{
	struct svc_wait *w = arg;
	hk_sched_wait_cancel(w->svc->sched, w->wait);
	free(w);
}

/* Answer the report (run) or {job_id, done, job, report?} (wait_job).
 * The report is streamed as text (report.c), as its file is: built as
 * JSON objects, 100,000 files held the loop for seconds. */
static void svc_wait_done(const struct hk_job_info *job, const struct hk_report *rep, void *arg)
{
	struct svc_wait *w = arg;
	struct hk_ctl_pending *p = w->pending;
	struct hk_ctl_reply *reply = hk_ctl_pending_reply(p);
	const struct hk_config *cfg = hk_engine_config(w->svc->eng);
	struct hk_buf b = { 0 };
	bool run = w->run && rep;

	free(w);
	if (!run) {
		json_t *res = json_object();
		json_object_set_new(res, "job_id", json_integer((json_int_t)job->id));
		json_object_set_new(res, "done", json_boolean(rep != NULL));
		json_object_set_new(res, "job", svc_job_info_json(job));
		if (!rep) {
			hk_ctl_reply_set_result(reply, res);
			hk_ctl_pending_done(p);
			return;
		}
		char *head = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(res);
		if (head) {
			hk_buf_append(&b, head, strlen(head) - 1);   /* without its '}' */
			hk_buf_append(&b, ",\"report\":", 10);
		}
		free(head);
		if (!head)
			goto oom;
	}
	if (run && rep->text && rep->text->data) {
		/* rendered off the loop (sched.h: hk_sched_set_render): taken */
		b = *rep->text;
		*rep->text = (struct hk_buf){ 0 };
	} else if (rep->text && rep->text->data) {
		hk_buf_append(&b, rep->text->data, rep->text->len);
	} else if (hk_report_text(job, rep, &b) < 0)
		goto oom;
	svc_report_file(cfg, job, rep, &b);
	if (!run)
		hk_buf_append(&b, "}", 1);
	hk_ctl_reply_set_raw(reply, b.data, b.len);
	hk_ctl_pending_done(p);
	return;
oom:
	hk_buf_fini(&b);
	hk_ctl_reply_set_error(reply, -ENOMEM, NULL);
	hk_ctl_pending_done(p);
}

static int svc_wait_start(struct hk_service *svc, uint64_t job_id, double timeout, bool run,
			  struct hk_ctl_pending *pending)
{
	struct svc_wait *w = hk_xcalloc(1, sizeof(*w));
	w->svc = svc;
	w->pending = pending;
	w->run = run;
	int r = hk_sched_wait(svc->sched, job_id, timeout, svc_wait_done, w, &w->wait);
	if (r < 0) {
		free(w);
		return r;
	}
	hk_ctl_pending_set_cancel(pending, svc_wait_cancel, w);
	return 0;
}

int svc_run(void *ctx, const char *id, bool dry_run, const struct hk_ctl_peer *peer,
		   struct hk_ctl_pending *pending, uint64_t *job_id, char **cause)
{
	struct hk_service *svc = ctx;
	const struct hk_config *cfg = hk_engine_config(svc->eng);
	if (!dry_run && cfg->scheduler.housekeeper_read_only) {
		*cause = hk_xstrdup("housekeeper_read_only is set: nothing is deleted; use a dry run");
		return HK_EREADONLY;
	}
	/* a report lists files: a non-root caller's covers its own registrations */
	int r = hk_sched_submit(svc->sched, id, dry_run, "manual", peer->uid, NULL, NULL, job_id);
	if (r < 0)
		return r;
	return pending ? svc_wait_start(svc, *job_id, -1, true, pending) : 0;
}

struct svc_store_find {
	uint64_t id;
	json_t *job;
};

static int svc_store_find_cb(const struct hk_store_job *j, void *arg)
{
	struct svc_store_find *f = arg;
	if (j->id > f->id)
		return 0;
	if (j->id == f->id)
		f->job = svc_store_job_json(j);
	return 1;   /* newest first: nothing older can match */
}

/* Job id from the store, as JOB (a new reference), or NULL. */
static json_t *svc_store_job(struct hk_service *svc, uint64_t id)
{
	struct svc_store_find f = { id, NULL };
	if (svc->store) {
		hk_store_flush(svc->store);
		hk_store_job_list(svc->store, 0, svc_store_find_cb, &f);
	}
	return f.job;
}

int svc_job_owner(void *ctx, uint64_t job_id, uid_t *uid)
{
	struct hk_service *svc = ctx;
	struct hk_job_info info;
	if (hk_sched_job(svc->sched, job_id, &info) == 0) {
		*uid = info.uid;
		hk_job_info_fini(&info);
		return 0;
	}
	json_t *j = svc_store_job(svc, job_id);
	if (!j)
		return HK_ENOTFOUND;
	json_decref(j);
	*uid = 0;   /* the store does not say: root's */
	return 0;
}

/* The answer of wait_job for a job that has ended: {job_id, done, job,
 * report?}, the report as its file holds it (job is stolen). */
static void svc_wait_ended(struct hk_service *svc, uint64_t job_id, json_t *job,
			   struct hk_ctl_pending *pending)
{
	struct hk_ctl_reply *reply = hk_ctl_pending_reply(pending);
	const struct hk_config *cfg = hk_engine_config(svc->eng);
	json_t *res = json_pack("{s:I, s:b, s:o}", "job_id", (json_int_t)job_id, "done", 1,
				"job", job);
	struct hk_buf b = { 0 };
	char *head = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *dir = hk_report_dir(cfg);
	if (head && cfg->scheduler.housekeeper_report_enabled) {
		hk_buf_append(&b, head, strlen(head) - 1);   /* without its '}' */
		hk_buf_append(&b, ",\"report\":", 10);
		size_t at = b.len;
		if (hk_report_read(dir, job_id, HK_PROTO_MAX_RESPONSE / 2, &b) == 0 && b.len > at) {
			hk_buf_append(&b, "}", 1);
			hk_ctl_reply_set_raw(reply, b.data, b.len);
			json_decref(res);
			goto out;
		}
	}
	hk_buf_fini(&b);
	hk_ctl_reply_set_result(reply, res);
out:
	free(head);
	free(dir);
	hk_ctl_pending_done(pending);
}

int svc_wait_job(void *ctx, uint64_t job_id, double timeout, struct hk_ctl_pending *pending)
{
	struct hk_service *svc = ctx;
	struct hk_job_info info;
	json_t *job = NULL;
	if (hk_sched_job(svc->sched, job_id, &info) == 0) {
		bool ended = info.finished_ns != 0;
		if (ended)
			job = svc_job_info_json(&info);
		hk_job_info_fini(&info);
		if (!ended)
			return svc_wait_start(svc, job_id, timeout, false, pending);
	} else {
		job = svc_store_job(svc, job_id);
		if (!job)
			return HK_ENOTFOUND;
	}
	/* ended already: its report, if any, from the report directory (a
	 * fast job may end before its submitter's first wait) */
	svc_wait_ended(svc, job_id, job, pending);
	return 0;
}

struct svc_jobs {
	json_t *arr;
	uint64_t below;      /* stored jobs with smaller ids only */
	size_t limit;
};

static int svc_jobs_cb(const struct hk_store_job *j, void *arg)
{
	struct svc_jobs *sj = arg;
	if (json_array_size(sj->arr) >= sj->limit)
		return 1;
	if (j->id < sj->below)
		json_array_append_new(sj->arr, svc_store_job_json(j));
	return 0;
}

#define SVC_JOBS_DEFAULT_LIMIT 1000

int svc_jobs(void *ctx, size_t limit, json_t **out)
{
	struct hk_service *svc = ctx;
	struct hk_job_info *jobs = NULL;
	size_t n = hk_sched_jobs(svc->sched, &jobs);
	struct svc_jobs sj = { json_array(), UINT64_MAX, limit ? limit : SVC_JOBS_DEFAULT_LIMIT };
	for (size_t i = 0; i < n && json_array_size(sj.arr) < sj.limit; i++) {
		json_array_append_new(sj.arr, svc_job_info_json(&jobs[i]));
		if (jobs[i].id < sj.below)
			sj.below = jobs[i].id;
	}
	hk_job_infos_free(jobs, n);
	if (svc->store && json_array_size(sj.arr) < sj.limit) {
		hk_store_flush(svc->store);
		hk_store_job_list(svc->store, 0, svc_jobs_cb, &sj);
	}
	*out = sj.arr;
	return 0;
}
