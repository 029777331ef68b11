/*
 * service.c - the control operations, implemented against the engine.
 * Owns the API registrations (the store is their source of truth; this
 * list mirrors it) and hands them to the engine with the config ones.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "loopstat.h"
#include "notify.h"
#include "proto.h"
#include "report.h"
#include "service.h"
#include "units.h"
#include "scan.h"
#include "util.h"

struct hk_service {
	struct hk_engine *eng;
	struct hk_sched *sched;
	struct hk_store *store;
	hk_service_reload_fn reload;
	void *reload_arg;
	struct hk_registration **api;
	size_t n_api;
	int64_t started_ns;
	const struct hk_notify *notify;
	const struct hk_loopstat *loopstat;   /* NULL: no loop metrics */
};

void hk_service_set_notify(struct hk_service *svc, const struct hk_notify *notify)
{
	svc->notify = notify;
}

void hk_service_set_loopstat(struct hk_service *svc, const struct hk_loopstat *ls)
{
	svc->loopstat = ls;
}

struct hk_service *hk_service_create(struct hk_engine *eng, struct hk_sched *sched,
				     struct hk_store *store, hk_service_reload_fn reload,
				     void *reload_arg)
{
	struct hk_service *svc = hk_xcalloc(1, sizeof(*svc));
	svc->eng = eng;
	svc->sched = sched;
	svc->store = store;
	svc->reload = reload;
	svc->reload_arg = reload_arg;
	svc->started_ns = hk_time_now_ns();
	return svc;
}

void hk_service_free(struct hk_service *svc)
{
	if (!svc)
		return;
	for (size_t i = 0; i < svc->n_api; i++)
		hk_registration_free(svc->api[i]);
	free(svc->api);
	free(svc);
}

void hk_service_apply(struct hk_service *svc, const struct hk_config *cfg)
{
	hk_engine_apply(svc->eng, cfg, svc->api, svc->n_api);
	hk_sched_apply_config(svc->sched, cfg);
}

int hk_service_load(struct hk_service *svc)
{
	if (!svc->store)
		return 0;
	struct hk_registration **regs = NULL;
	size_t n = 0;
	int r = hk_store_reg_load_all(svc->store, &regs, &n);
	if (r < 0) {
		log_errx("store", "cannot load the API registrations: %s", hk_strerror(r));
		return r;
	}
	svc->api = regs;
	svc->n_api = n;
	if (n)
		log_info("store", "%zu API registration%s restored", n, n == 1 ? "" : "s");
	hk_service_apply(svc, hk_engine_config(svc->eng));
	return 0;
}

static struct hk_registration *svc_find_api(struct hk_service *svc, const char *id, size_t *pos)
{
	for (size_t i = 0; i < svc->n_api; i++) {
		if (strcmp(svc->api[i]->id, id) == 0) {
			if (pos)
				*pos = i;
			return svc->api[i];
		}
	}
	return NULL;
}

static const struct hk_registration *svc_find_any(struct hk_service *svc, const char *id)
{
	size_t n = hk_engine_count(svc->eng);
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		if (strcmp(r->id, id) == 0 || (r->name && strcmp(r->name, id) == 0))
			return r;
	}
	return NULL;
}

/* A registration change is committed before the caller gets its answer:
 * an id handed out must survive a crash right after. */
static void svc_persist(struct hk_service *svc, const struct hk_registration *reg)
{
	if (!svc->store)
		return;
	hk_store_reg_put(svc->store, reg);
	hk_store_flush(svc->store);
}

/* Ops ----------------------------------------------------------------------- */

static int svc_get_registration(void *ctx, const char *id, struct hk_registration **out)
{
	struct hk_service *svc = ctx;
	const struct hk_registration *r = svc_find_any(svc, id);
	if (!r)
		return HK_ENOTFOUND;
	*out = hk_registration_dup(r);
	return 0;
}

/* What a registration's directory is at this moment: the object its
 * path names walked without following symlinks, or, while nothing is
 * there, only its (clean) path. Never realpath(): a path the caller can
 * turn into a symlink would make its registration pass for the target's. */
struct svc_dir_id {
	bool exists;
	dev_t dev;
	ino_t ino;
};

static int svc_dir_identify(const char *dir, struct svc_dir_id *id)
{
	struct stat st;
	int r = hk_path_stat_nofollow(dir, &st, NULL);

	memset(id, 0, sizeof(*id));
	if (r == -ELOOP)
		return r;
	if (r == 0 && S_ISDIR(st.st_mode)) {
		id->exists = true;
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
	return 0;
}

/* Is registration r the one req names again (SPEC 4)? The same owner, the
 * same pattern, and the same directory: one inode when both exist, else
 * the same path. Another uid's registration never matches, root's call
 * included, so nobody can be handed, or change, someone else's. */
static bool svc_same_registration(const struct hk_registration *r, uid_t owner,
				  const struct hk_registration *req, const struct svc_dir_id *req_id)
{
	struct svc_dir_id rid;

	if (r->owner_uid != owner || strcmp(r->pattern, req->pattern) != 0)
		return false;
	if (svc_dir_identify(r->directory, &rid) < 0)
		return false;   /* its path is a symlink now: it names nothing */
	if (rid.exists && req_id->exists)
		return rid.dev == req_id->dev && rid.ino == req_id->ino;
	return !rid.exists && !req_id->exists && strcmp(r->directory, req->directory) == 0;
}

/* Register again: the fields given this time replace those of the
 * caller's own registration r (an api one); one left out gets its default
 * (SPEC 4: callers pass their whole spec at every start). */
static int svc_reregister(struct hk_service *svc, const struct hk_registration *r,
			  const struct hk_registration *req, int64_t now)
{
	size_t pos = 0;
	struct hk_registration *cur = svc_find_api(svc, r->id, &pos);
	if (!cur)
		return HK_ENOTFOUND;
	struct hk_registration *next = hk_registration_dup(req);
	memcpy(next->id, cur->id, sizeof(next->id));
	next->source = HK_SOURCE_API;
	next->owner_uid = cur->owner_uid;
	next->created_at = cur->created_at;
	next->last_run = cur->last_run;
	next->updated_at = now;
	hk_registration_free(svc->api[pos]);
	svc->api[pos] = next;
	svc_persist(svc, next);
	hk_service_apply(svc, hk_engine_config(svc->eng));
	return 0;
}

/* The daemon's own state is never a registration's directory (SPEC 7). */
static int svc_check_state(struct hk_service *svc, const struct hk_registration *reg,
			   char **cause)
{
	return hk_registration_check_state(reg, hk_engine_config(svc->eng)->daemon.state_directory,
					   cause);
}

static int svc_register(void *ctx, const struct hk_registration *req,
			const struct hk_ctl_peer *peer, char id_out[HK_UUID_LEN + 1],
			bool *existed, char **cause)
{
	struct hk_service *svc = ctx;
	*existed = false;
	int rc_state = svc_check_state(svc, req, cause);
	if (rc_state < 0)
		return rc_state;
	int64_t now = hk_time_now_ns() / HK_NSEC_PER_SEC;
	size_t n = hk_engine_count(svc->eng);
	struct svc_dir_id req_id;

	*existed = false;
	/* ctl checked the path; it may have become a symlink since */
	if (svc_dir_identify(req->directory, &req_id) < 0) {
		*cause = hk_xasprintf("directory: '%s' goes through a symlink; register the real path",
				      req->directory);
		return HK_EDENIED;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		if (!svc_same_registration(r, peer->uid, req, &req_id))
			continue;
		memcpy(id_out, r->id, HK_UUID_LEN + 1);
		*existed = true;
		if (r->source == HK_SOURCE_CONFIG) {
			log_notice("ctl", "%s (%s): already registered by %s; its settings there apply",
				   r->directory, r->pattern, r->source_file ? r->source_file : "config");
			return 0;
		}
		return svc_reregister(svc, r, req, now);
	}
	struct hk_registration *reg = hk_registration_dup(req);
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, reg->id);
	reg->source = HK_SOURCE_API;
	reg->owner_uid = peer->uid;
	reg->created_at = reg->updated_at = now;
	svc->api = hk_xreallocarray(svc->api, svc->n_api + 1, sizeof(*svc->api));
	svc->api[svc->n_api++] = reg;
	svc_persist(svc, reg);
	hk_service_apply(svc, hk_engine_config(svc->eng));
	memcpy(id_out, reg->id, HK_UUID_LEN + 1);
	return 0;
}

static int svc_update(void *ctx, const struct hk_registration *merged, unsigned changed,
		      char **cause)
{
	struct hk_service *svc = ctx;
	size_t pos = 0;
	struct hk_registration *cur = svc_find_api(svc, merged->id, &pos);
	if (!cur)
		return HK_ENOTFOUND;
	int r = svc_check_state(svc, merged, cause);
	if (r < 0)
		return r;
	struct hk_registration *next = hk_registration_dup(merged);
	next->source = HK_SOURCE_API;
	next->owner_uid = cur->owner_uid;
	next->created_at = cur->created_at;
	next->updated_at = hk_time_now_ns() / HK_NSEC_PER_SEC;
	hk_registration_free(cur);
	svc->api[pos] = next;
	svc_persist(svc, next);
	hk_service_apply(svc, hk_engine_config(svc->eng));
	return 0;
}

static int svc_remove(void *ctx, const char *id, char **cause)
{
	struct hk_service *svc = ctx;
	size_t pos = 0;
	struct hk_registration *cur = svc_find_api(svc, id, &pos);
	if (!cur)
		return HK_ENOTFOUND;
	if (svc->store) {
		hk_store_reg_delete(svc->store, cur->id);
		hk_store_flush(svc->store);
	}
	svc->api[pos] = svc->api[--svc->n_api];
	hk_service_apply(svc, hk_engine_config(svc->eng));   /* drops its index too */
	hk_registration_free(cur);
	return 0;
}

static int svc_list(void *ctx, json_t **out)
{
	struct hk_service *svc = ctx;
	json_t *arr = json_array();
	size_t n = hk_engine_count(svc->eng);
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		struct hk_reg_status st;
		json_t *o = hk_proto_registration_to_json(r);
		/* the seed's last_run: the engine's last sweep (status's), which
		 * the registration's copy does not follow */
		hk_engine_reg_status(svc->eng, i, &st);
		if (st.last_run > r->last_run)
			json_object_set_new(o, "last_run", json_integer(st.last_run));
		json_array_append_new(arr, o);
	}
	*out = arr;
	return 0;
}

static json_t *svc_time_or_null(int64_t ns)
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

static int svc_run(void *ctx, const char *id, bool dry_run, const struct hk_ctl_peer *peer,
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

static int svc_job_owner(void *ctx, uint64_t job_id, uid_t *uid)
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

static int svc_wait_job(void *ctx, uint64_t job_id, double timeout, struct hk_ctl_pending *pending)
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


static json_t *svc_status_reg(struct hk_service *svc, size_t i)
{
	const struct hk_registration *r = hk_engine_registration(svc->eng, i);
	struct hk_reg_status st;
	hk_engine_reg_status(svc->eng, i, &st);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(r->id));
	if (r->name)
		json_object_set_new(o, "name", json_string(r->name));
	else
		json_object_set_new(o, "name", json_null());
	hk_proto_set_bytes(o, "directory", r->directory, strlen(r->directory));
	hk_proto_set_bytes(o, "pattern", r->pattern, strlen(r->pattern));
	json_object_set_new(o, "files", json_integer((json_int_t)st.files));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(o, "retention", st.policy.retention_ns
				    ? json_integer(st.policy.retention_ns / HK_NSEC_PER_SEC)
				    : json_null());
	json_object_set_new(o, "max_files", st.policy.has_max_files
				    ? json_integer((json_int_t)st.policy.max_files) : json_null());
	json_object_set_new(o, "max_size", st.policy.has_max_size
				    ? json_integer((json_int_t)st.policy.max_size) : json_null());
	json_object_set_new(o, "oldest", svc_time_or_null(st.oldest_ns));
	json_object_set_new(o, "next_expiry", svc_time_or_null(st.next_expiry_ns));
	json_object_set_new(o, "last_run", st.last_run ? json_integer(st.last_run) : json_null());
	json_object_set_new(o, "last_success", st.last_success ? json_integer(st.last_success)
							       : json_null());
	json_object_set_new(o, "runs", json_integer((json_int_t)st.runs));
	json_object_set_new(o, "reclaimed_bytes", json_integer((json_int_t)st.bytes_deleted));
	json_object_set_new(o, "reclaimed_files", json_integer((json_int_t)st.files_deleted));
	json_object_set_new(o, "delete_errors", json_integer((json_int_t)st.delete_errors));
	json_object_set_new(o, "growth_bytes_per_second", json_real(st.growth_bytes));
	json_object_set_new(o, "growth_files_per_second", json_real(st.growth_files));
	json_object_set_new(o, "seconds_to_size_limit", st.seconds_to_size >= 0
				    ? json_integer(st.seconds_to_size) : json_null());
	json_object_set_new(o, "seconds_to_files_limit", st.seconds_to_files >= 0
				    ? json_integer(st.seconds_to_files) : json_null());
	/* waiting (for its directory, as run reports say), scanning (the
	 * counts are partial), paused (deletions stopped: no audit trail),
	 * age-paused (the clock jumped: no age deletions), sweeps-only (no
	 * watch), watching */
	json_object_set_new(o, "state", json_string(!st.attached ? "waiting"
						    : !st.scanned ? "scanning"
						    : hk_engine_audit_failing(svc->eng) ? "paused"
						    : hk_engine_age_paused(svc->eng) ? "age-paused"
						    : st.watch_failed ? "sweeps-only" : "watching"));
	json_object_set_new(o, "source", json_string(r->source == HK_SOURCE_API ? "api" : "config"));
	return o;
}

static int svc_status(void *ctx, json_t **out)
{
	struct hk_service *svc = ctx;
	json_t *arr = json_array();
	size_t n = hk_engine_count(svc->eng);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, svc_status_reg(svc, i));
	*out = arr;
	return 0;
}

static int svc_explain(void *ctx, const char *path, json_t **out, char **cause)
{
	struct hk_service *svc = ctx;
	if (!hk_path_is_clean_absolute(path)) {
		*cause = hk_xasprintf("%s: give an absolute path without . or .. components", path);
		return -EINVAL;
	}
	struct hk_explain *xs = NULL;
	size_t n = hk_engine_explain(svc->eng, path, hk_time_now_ns(), &xs);
	json_t *o = json_object();
	hk_proto_set_bytes(o, "path", path, strlen(path));
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct hk_explain *x = &xs[i];
		if (!x->covers)
			continue;
		json_t *e = json_object();
		json_object_set_new(e, "id", json_string(x->reg->id));
		hk_proto_set_bytes(e, "directory", x->reg->directory, strlen(x->reg->directory));
		hk_proto_set_bytes(e, "pattern", x->reg->pattern, strlen(x->reg->pattern));
		json_object_set_new(e, "matches", json_boolean(x->matches));
		json_object_set_new(e, "excluded", json_boolean(x->excluded));
		json_object_set_new(e, "indexed", json_boolean(x->indexed));
		json_object_set_new(e, "reason", x->reason == HK_REASON_NONE
						       ? json_null()
						       : json_string(hk_reason_name(x->reason)));
		json_object_set_new(e, "delete_at", svc_time_or_null(x->delete_at_ns));
		if (x->indexed) {
			json_object_set_new(e, "size", json_integer((json_int_t)x->size));
			json_object_set_new(e, "age_key", json_integer(x->key_ns / HK_NSEC_PER_SEC));
			json_object_set_new(e, "rank_newest", json_integer((json_int_t)x->rank_newest));
		}
		json_object_set_new(e, "note", json_string(x->note));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "registrations", arr);
	free(xs);
	*out = o;
	return 0;
}

/* Building one page of the audit trail: the records so far and their size. */
struct svc_audit_page {
	const struct hk_ctl_audit_query *q;
	json_t *arr;
	size_t bytes;
};

static bool svc_audit_keep(const struct hk_store_audit *rec, void *arg)
{
	const struct hk_ctl_audit_query *q = arg;

	return !q->visible || q->visible(rec->reg_id, q->visible_arg);
}

static bool svc_plain(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '"' ||
		    p[i] == '\\')
			return false;
	return true;
}

/* Are a record's strings printable ASCII that JSON keeps as it is? */
static bool svc_audit_plain(const struct hk_store_audit *rec)
{
	return svc_plain(rec->path, rec->path_len) &&
	       (!rec->reg_id || svc_plain(rec->reg_id, strlen(rec->reg_id))) &&
	       (!rec->reason || svc_plain(rec->reason, strlen(rec->reason)));
}

/* At least the length of a plain record's encoding (svc_audit_cb), and a
 * comma: members' names and punctuation, numbers at most 20 digits. */
static size_t svc_audit_bound(const struct hk_store_audit *rec)
{
	size_t n = 128 + 3 * 20 + rec->path_len;
	n += rec->reg_id ? strlen(rec->reg_id) : 0;
	n += rec->reason ? strlen(rec->reason) : 0;
	n += rec->outcome ? strlen(rec->outcome) : 8;
	n += rec->err ? strlen(hk_strerror(rec->err)) + 12 : 0;
	return n;
}

static int svc_audit_cb(const struct hk_store_audit *rec, void *arg)
{
	struct svc_audit_page *pg = arg;
	json_t *o = json_object();
	size_t size;

	json_object_set_new(o, "time", json_integer(rec->time_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "registration_id", json_string(rec->reg_id));
	hk_proto_set_bytes(o, "path", rec->path, rec->path_len);
	json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
	json_object_set_new(o, "mtime", json_integer(rec->mtime_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "reason", json_string(rec->reason ? rec->reason : ""));
	json_object_set_new(o, "dry_run", json_boolean(rec->dry_run));
	json_object_set_new(o, "result", json_string(rec->outcome ? rec->outcome : "intent"));
	if (rec->err)
		json_object_set_new(o, "error", json_string(hk_strerror(rec->err)));
	/* the byte budget of the reply: this record's encoding and a comma;
	 * bounded from its lengths when its strings need no escapes (an
	 * encoding of every record made a page cost a quarter more) */
	size = svc_audit_plain(rec) ? svc_audit_bound(rec) : json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
	if (pg->q->max_bytes && json_array_size(pg->arr) && pg->bytes + size > pg->q->max_bytes) {
		json_decref(o);
		return HK_STORE_PAGE_FULL;
	}
	pg->bytes += size;
	json_array_append_new(pg->arr, o);
	return 0;
}

static int svc_audit(void *ctx, const struct hk_ctl_audit_query *q, json_t **out, uint64_t *next)
{
	struct hk_service *svc = ctx;
	struct svc_audit_page pg = { q, json_array(), 0 };
	int r = 0;

	*next = 0;
	if (svc->store) {
		hk_store_flush(svc->store);   /* queries see committed data */
		const struct hk_registration *reg = q->id ? svc_find_any(svc, q->id) : NULL;
		struct hk_store_audit_query sq = {
			.since_ns = q->since > 0 ? q->since * HK_NSEC_PER_SEC : 0,
			.reg_id = reg ? reg->id : q->id,
			.limit = q->limit,
		};
		struct hk_store_audit_page page = {
			.from_id = q->from,
			.max_visit = q->max_visit,
			.keep = q->visible ? svc_audit_keep : NULL,
			.keep_arg = (void *)q,
		};
		r = hk_store_audit_page(svc->store, &sq, &page, svc_audit_cb, &pg);
		*next = page.next_id;
	}
	if (r < 0) {
		json_decref(pg.arr);
		return r;
	}
	*out = pg.arr;
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

static int svc_jobs(void *ctx, size_t limit, json_t **out)
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

static int svc_reload(void *ctx, json_t **errors)
{
	struct hk_service *svc = ctx;
	struct hk_config_errors errs = { 0 };
	int r = svc->reload(svc->reload_arg, &errs);
	if (r < 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < errs.n; i++)
			json_array_append_new(arr, json_string(errs.msgs[i]));
		*errors = arr;
	}
	hk_config_errors_fini(&errs);
	return r;
}

/* Metrics ------------------------------------------------------------------- */

/* {registration="..."}: the exposition format escapes backslash, quote
 * and newline; any other control byte or invalid UTF-8 (a name given
 * through the API is raw bytes) would break the scrape or a line of it, so
 * it is written as an escaped backslash and its hex value ("\\x1b"). */
static void svc_label(struct hk_buf *b, const struct hk_registration *r)
{
	const char *v = r->name ? r->name : r->id;
	const unsigned char *u = (const unsigned char *)v;
	size_t n = strlen(v);
	hk_buf_append(b, "{registration=\"", 15);
	for (size_t i = 0; i < n;) {
		size_t l = hk_utf8_seq_len(u + i, n - i);
		if (l > 1) {
			hk_buf_append(b, v + i, l);
			i += l;
			continue;
		}
		if (u[i] == '\\' || u[i] == '"')
			hk_buf_printf(b, "\\%c", u[i]);
		else if (u[i] == '\n')
			hk_buf_append(b, "\\n", 2);
		else if (l == 0 || u[i] < 0x20 || u[i] == 0x7f)
			hk_buf_printf(b, "\\\\x%02x", u[i]);
		else
			hk_buf_append(b, v + i, 1);
		i++;
	}
	hk_buf_append(b, "\"}", 2);
}

struct svc_metric {
	const char *name;
	const char *type;
	const char *help;
};

static const struct svc_metric svc_metrics[] = {
	{ "housekeeper_files_deleted_total", "counter", "Files deleted since the daemon started." },
	{ "housekeeper_reclaimed_bytes_total", "counter", "Bytes (st_size) of the files deleted since the daemon started." },
	{ "housekeeper_delete_errors_total", "counter", "Deletions that failed since the daemon started." },
	{ "housekeeper_directory_size_bytes", "gauge", "Total size of the files the registration covers." },
	{ "housekeeper_directory_files", "gauge", "Files the registration covers." },
	{ "housekeeper_last_success_timestamp_seconds", "gauge", "When the registration was last swept without an error (0: never)." },
	{ "housekeeper_runs_total", "counter", "Sweeps of the registration completed since the daemon started." },
};

char *hk_service_metrics(struct hk_service *svc)
{
	struct hk_buf b = { 0 };
	size_t n = hk_engine_count(svc->eng);
	/* one status read per registration, not one per metric */
	struct hk_reg_status *sts = hk_xcalloc(n ? n : 1, sizeof(*sts));
	for (size_t i = 0; i < n; i++)
		hk_engine_reg_status(svc->eng, i, &sts[i]);
	for (size_t m = 0; m < HK_ARRAY_SIZE(svc_metrics); m++) {
		hk_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", svc_metrics[m].name,
			      svc_metrics[m].help, svc_metrics[m].name, svc_metrics[m].type);
		for (size_t i = 0; i < n; i++) {
			const struct hk_reg_status *st = &sts[i];
			uint64_t v = 0;
			switch (m) {
			case 0: v = st->files_deleted; break;
			case 1: v = st->bytes_deleted; break;
			case 2: v = st->delete_errors; break;
			case 3: v = st->bytes; break;
			case 4: v = st->files; break;
			case 5: v = (uint64_t)(st->last_success > 0 ? st->last_success : 0); break;
			default: v = st->runs; break;
			}
			hk_buf_append(&b, svc_metrics[m].name, strlen(svc_metrics[m].name));
			svc_label(&b, hk_engine_registration(svc->eng, i));
			hk_buf_printf(&b, " %" PRIu64 "\n", v);
		}
	}
	free(sts);
	hk_buf_printf(&b, "# HELP housekeeper_inotify_overflows_total inotify queue overflows "
		      "(events lost; registrations rescanned).\n"
		      "# TYPE housekeeper_inotify_overflows_total counter\n"
		      "housekeeper_inotify_overflows_total %" PRIu64 "\n",
		      hk_engine_overflows(svc->eng));
	static const struct {
		enum hk_failure cls;
		const char *name;
		const char *help;
	} fails[] = {
		{ HK_FAIL_JOB, "housekeeper_job_failures_total", "Jobs that finished with errors." },
		{ HK_FAIL_TIMEOUT, "housekeeper_job_timeouts_total", "Jobs stopped by default_timeout." },
		{ HK_FAIL_WATCH, "housekeeper_watch_fallbacks_total", "Registrations that lost their inotify watch (watch limit) and fell back to rescans." },
		{ HK_FAIL_AUDIT, "housekeeper_audit_failures_total", "Times the audit trail could not be written (deletions stopped)." },
	};
	for (size_t i = 0; svc->notify && i < HK_ARRAY_SIZE(fails); i++)
		hk_buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", fails[i].name,
			      fails[i].help, fails[i].name, fails[i].name,
			      hk_notify_count(svc->notify, fails[i].cls));
	hk_buf_printf(&b, "# HELP housekeeper_audit_writable Whether the audit trail can be "
		      "written (deletions stop when it cannot).\n"
		      "# TYPE housekeeper_audit_writable gauge\n"
		      "housekeeper_audit_writable %d\n", hk_engine_audit_failing(svc->eng) ? 0 : 1);
	hk_buf_printf(&b, "# HELP housekeeper_build_info The daemon's version and protocol "
		      "(labels; the value is always 1).\n"
		      "# TYPE housekeeper_build_info gauge\n"
		      "housekeeper_build_info{version=\"%s\",protocol=\"%d\"} 1\n",
		      PACKAGE_VERSION, HK_PROTO_VERSION);
	hk_buf_printf(&b, "# HELP housekeeper_start_time_seconds When the daemon started.\n"
		      "# TYPE housekeeper_start_time_seconds gauge\n"
		      "housekeeper_start_time_seconds %" PRId64 "\n",
		      svc->started_ns / HK_NSEC_PER_SEC);
	if (svc->loopstat)
		hk_loopstat_metrics(svc->loopstat, &b);
	return b.data;
}

static int svc_daemon_info(void *ctx, json_t **out)
{
	struct hk_service *svc = ctx;
	const struct hk_config *cfg = hk_engine_config(svc->eng);
	json_t *o = json_object();
	int64_t now = hk_time_now_ns();
	json_object_set_new(o, "started", json_integer(svc->started_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "uptime", json_integer((now - svc->started_ns) / HK_NSEC_PER_SEC));
	json_t *files = json_array();
	for (size_t i = 0; i < cfg->n_files; i++)
		json_array_append_new(files, json_string(cfg->files[i]));
	json_object_set_new(o, "config_files", files);
	json_object_set_new(o, "state_directory", json_string(cfg->daemon.state_directory));
	json_object_set_new(o, "registrations", json_integer((json_int_t)hk_engine_count(svc->eng)));
	json_object_set_new(o, "store_healthy",
			    json_boolean(!svc->store || hk_store_healthy(svc->store)));
	json_object_set_new(o, "audit_writable", json_boolean(!hk_engine_audit_failing(svc->eng)));
	json_object_set_new(o, "dry_run", json_boolean(cfg->scheduler.housekeeper_dry_run));
	json_object_set_new(o, "read_only", json_boolean(cfg->scheduler.housekeeper_read_only));
	*out = o;
	return 0;
}

static int svc_metrics_op(void *ctx, char **text)
{
	*text = hk_service_metrics(ctx);
	return 0;
}

static const struct hk_ctl_ops svc_ops = {
	.get_registration = svc_get_registration,
	.register_cleanup = svc_register,
	.update_cleanup_config = svc_update,
	.remove_cleanup_config = svc_remove,
	.get_cleanup_configs = svc_list,
	.run_cleanup = svc_run,
	.status = svc_status,
	.explain = svc_explain,
	.audit = svc_audit,
	.jobs = svc_jobs,
	.job_owner = svc_job_owner,
	.wait_job = svc_wait_job,
	.reload = svc_reload,
	.metrics = svc_metrics_op,
	.daemon_info = svc_daemon_info,
};

const struct hk_ctl_ops *hk_service_ops(void)
{
	return &svc_ops;
}
