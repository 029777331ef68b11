/*
 * service_int.h - private to the files of the control operations:
 * service.c (the service, API registrations, the operations table),
 * service_jobs.c (runs, waits, jobs) and service_view.c (status, explain,
 * audit, metrics, daemon info). service.h is the public API.
 */
#ifndef HK_SERVICE_INT_H
#define HK_SERVICE_INT_H

#include <stdint.h>

#include <jansson.h>

#include "ctl.h"
#include "ghost.h"
#include "service.h"

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
	struct hk_ghost *ghost;               /* the last count of ghost bytes (owned) */
};

/* service_jobs.c */
/* A time as epoch seconds, null when unset (0 or INT64_MAX). */
json_t *svc_time_or_null(int64_t ns);
int svc_run(void *ctx, const char *id, bool dry_run, const struct hk_ctl_peer *peer,
	    struct hk_ctl_pending *pending, uint64_t *job_id, char **cause);
int svc_job_owner(void *ctx, uint64_t job_id, uid_t *uid);
int svc_wait_job(void *ctx, uint64_t job_id, double timeout, struct hk_ctl_pending *pending);
int svc_jobs(void *ctx, size_t limit, json_t **out);

/* service_view.c */
/* A registration by id or name among the engine's (config and API). */
const struct hk_registration *svc_find_any(struct hk_service *svc, const char *id);
int svc_status(void *ctx, json_t **out);
/* Start a count of ghost bytes for every registration (ghost.h), unless
 * one is running or fresh; never waits. */
void svc_ghost_refresh(struct hk_service *svc);
int svc_explain(void *ctx, const char *path, json_t **out, char **cause);
int svc_audit(void *ctx, const struct hk_ctl_audit_query *q, json_t **out, uint64_t *next);
int svc_daemon_info(void *ctx, json_t **out);
int svc_metrics_op(void *ctx, char **text);

#endif /* HK_SERVICE_INT_H */
