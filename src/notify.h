/*
 * notify.h - failure notifications (SPEC 9, issue 6). A failure is logged
 * at error priority (at most once a minute per cause and registration),
 * counted, and, when [daemon] on_failure is set, that command is run
 * without a shell: its argv from the config, and in its environment
 * HK_FAILURE_CLASS, HK_REGISTRATION_ID, HK_REGISTRATION_NAME, HK_JOB_ID,
 * HK_ERROR_MESSAGE. The
 * command runs detached from the loop (posix_spawn, reaped by ev_child),
 * is killed after HK_NOTIFY_TIMEOUT seconds, and at most HK_NOTIFY_MAX_CHILDREN
 * run at once.
 */
#ifndef HK_NOTIFY_H
#define HK_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define HK_NOTIFY_TIMEOUT 30.0
#define HK_NOTIFY_MAX_CHILDREN 4
#define HK_NOTIFY_INTERVAL 60.0      /* seconds between two notices of one cause */

struct ev_loop;
struct hk_notify;

struct hk_notify *hk_notify_create(struct ev_loop *loop);
/* Kills running commands. */
void hk_notify_free(struct hk_notify *n);
/* The on_failure command (argv borrowed until the next call; NULL: none). */
void hk_notify_set_command(struct hk_notify *n, char *const *argv);

/* Report a failure. reg_id may be NULL, job_id 0 when none. */
void hk_notify_failure(struct hk_notify *n, enum hk_failure cls, const char *reg_id,
		       uint64_t job_id, const char *message);
/* The name of a registration, for log lines (its name, else its
 * directory; NULL when unknown), borrowed until the callback returns. */
typedef const char *(*hk_notify_namer_fn)(void *arg, const char *reg_id);
void hk_notify_set_namer(struct hk_notify *n, hk_notify_namer_fn fn, void *arg);
/* How many failures of cls were reported since start. */
uint64_t hk_notify_count(const struct hk_notify *n, enum hk_failure cls);
const char *hk_failure_name(enum hk_failure cls);

#endif /* HK_NOTIFY_H */
