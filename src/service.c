/*
 * service.c - the control operations, implemented against the engine,
 * the job manager and the store: the service itself, the API
 * registrations (register, update, remove, list; the store is their
 * source of truth, this list mirrors it, and they go to the engine with
 * the config ones), reload, and the operations table. The job operations
 * are service_jobs.c's, the reading ones service_view.c's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "proto.h"
#include "proto_records.h"
#include "service.h"
#include "service_int.h"
#include "scan.h"
#include "util.h"

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
	svc->ghost = hk_ghost_new();
	return svc;
}

void hk_service_free(struct hk_service *svc)
{
	if (!svc)
		return;
	for (size_t i = 0; i < svc->n_api; i++)
		hk_registration_free(svc->api[i]);
	free(svc->api);
	hk_ghost_free(svc->ghost);
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
