/*
 * service.h - the daemon side of the control operations (struct
 * hk_ctl_ops, ctl.h) against the engine, the job manager and the store:
 * API registrations (idempotent register, update, remove, persisted),
 * listing, manual runs, status, explain, audit, jobs, reload, metrics.
 */
#ifndef HK_SERVICE_H
#define HK_SERVICE_H

#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "sched.h"
#include "store.h"

struct hk_service;

/* Reload the configuration (the daemon's SIGHUP path). Returns 0, or
 * HK_ECONFIG with errs filled. */
typedef int (*hk_service_reload_fn)(void *arg, struct hk_config_errors *errs);

/* All borrowed for the service's lifetime. store may be NULL. */
struct hk_service *hk_service_create(struct hk_engine *eng, struct hk_sched *sched,
				     struct hk_store *store, hk_service_reload_fn reload,
				     void *reload_arg);
void hk_service_free(struct hk_service *svc);

/* Load the persisted API registrations and hand them, with cfg, to the
 * engine. Also the path to re-apply after a config reload. */
void hk_service_apply(struct hk_service *svc, const struct hk_config *cfg);
int hk_service_load(struct hk_service *svc);

const struct hk_ctl_ops *hk_service_ops(void);

struct hk_notify;
/* Failure counters for the metrics (borrowed). */
void hk_service_set_notify(struct hk_service *svc, const struct hk_notify *notify);
struct hk_loopstat;
void hk_service_set_loopstat(struct hk_service *svc, const struct hk_loopstat *ls);

/* The Prometheus text exposition (new string, caller frees). */
char *hk_service_metrics(struct hk_service *svc);

#endif /* HK_SERVICE_H */
