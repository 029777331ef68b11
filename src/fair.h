/*
 * fair.h - fairness of the control socket between callers (SPEC 9): one
 * non-root user must not lock the others, root least of all, out of the
 * daemon. Per uid it accounts connections (root's reserved slots, a cap
 * per non-root uid), rations runs with a token bucket, and rate-limits the
 * log lines of refusals. Pure: no I/O, times are passed in (seconds of a
 * monotonic clock, as ev_now), so everything here is unit-tested.
 */
#ifndef HK_FAIR_H
#define HK_FAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The numbers (documented in docs/SECURITY.md and housekeeperd(8)). */
#define HK_FAIR_ROOT_SLOTS 8          /* client slots only uid 0 may take */
#define HK_FAIR_UID_CLIENTS 8         /* connections one non-root uid may hold */
#define HK_FAIR_IDLE_TIMEOUT 30.0     /* seconds a non-root idle connection is kept */
#define HK_FAIR_RUN_RATE 1.0          /* runs a second a non-root uid earns back */
#define HK_FAIR_RUN_BURST 10.0        /* runs a non-root uid may start at once */
#define HK_FAIR_UID_REPORTS 20        /* run reports kept per non-root uid */
#define HK_FAIR_LOG_INTERVAL 10.0     /* seconds between refusal log lines per uid */

/* A token bucket: tokens refill at rate a second up to burst. */
struct hk_fair_bucket {
	double tokens;
	double stamp;                 /* when tokens was last brought up to date */
};
/* A full bucket as of now. */
void hk_fair_bucket_init(struct hk_fair_bucket *b, double burst, double now);
/* Take one token if there is one (true); otherwise false and, when wait is
 * not NULL, *wait = seconds until the next token. */
bool hk_fair_bucket_take(struct hk_fair_bucket *b, double rate, double burst, double now,
			 double *wait);

/* Why a connection is refused. */
enum hk_fair_verdict {
	HK_FAIR_OK,
	HK_FAIR_FULL,                 /* no slot left for this caller */
	HK_FAIR_UID_CAP,              /* this non-root uid holds HK_FAIR_UID_CLIENTS */
};

struct hk_fair;
/* max_clients slots in all, root_slots of them only for uid 0 (clamped to
 * max_clients), uid_clients at most per non-root uid. */
struct hk_fair *hk_fair_create(size_t max_clients, size_t root_slots, size_t uid_clients);
void hk_fair_free(struct hk_fair *f);

/* A connection of uid arrives: HK_FAIR_OK counts it (the caller must call
 * hk_fair_client_remove when it closes), anything else leaves the counts
 * as they were. */
enum hk_fair_verdict hk_fair_client_add(struct hk_fair *f, uid_t uid);
void hk_fair_client_remove(struct hk_fair *f, uid_t uid);
/* Connections held by uid / by everyone. */
size_t hk_fair_clients(const struct hk_fair *f, uid_t uid);
size_t hk_fair_total(const struct hk_fair *f);

/* May uid start a run (dry or real) now? Always for uid 0; for another
 * uid one token of its bucket (HK_FAIR_RUN_RATE, HK_FAIR_RUN_BURST), else
 * false with *wait (may be NULL) the seconds until it may. */
bool hk_fair_run_take(struct hk_fair *f, uid_t uid, double now, double *wait);

/* Should a refusal of uid be logged now? True at most once per
 * HK_FAIR_LOG_INTERVAL per uid; *suppressed (may be NULL) = refusals not
 * logged since the last line. */
bool hk_fair_log_due(struct hk_fair *f, uid_t uid, double now, size_t *suppressed);

#endif /* HK_FAIR_H */
