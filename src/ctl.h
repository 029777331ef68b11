/*
 * ctl.h - the control socket server (SPEC 9): accepts clients on a Unix
 * socket, decodes requests (proto.h), authorizes them by SO_PEERCRED and
 * dispatches each to a handler through a table. Handlers get a request and
 * a reply sink, never the socket; the operations themselves are behind a
 * vtable (struct hk_ctl_ops) that the daemon implements against the engine,
 * so this module knows nothing of the engine and tests drive hk_ctl_dispatch
 * with a fake vtable.
 *
 * Authorization, done here before any op is called (and, for reads that
 * show files, on what the op returns):
 * - read verbs (get_cleanup_configs, status, explain, audit, jobs, metrics,
 *   version, run_cleanup with dry_run) for anyone who can open the socket;
 * - wait_job: root waits for any job, another uid only for its own (the
 *   uid the job was asked for by, job_owner); JOB records (jobs, and the
 *   progress in a wait) carry no paths and are shown to anyone;
 * - uid 0 may change and read anything;
 * - no caller, root included, may register a directory through a symlink;
 * - another uid may register only a directory that is, without following
 *   any symlink on its path, a directory it owns; may update, remove and
 *   run (dry runs included) only registrations whose owner_uid is its uid,
 *   and may not run every registration at once for real nor reload;
 * - what shows files is limited to the caller's own registrations for
 *   another uid (SPEC 9): audit records of other registrations (config
 *   ones, removed ones) are left out and `audit` of another's id refused;
 *   explain omits other registrations' results, saying only how many
 *   cover the path ("other_registrations"); a dry run of every
 *   registration sweeps only the caller's own (run_cleanup's peer);
 * - config registrations cannot be updated or removed through the socket
 *   (HK_ESOURCE, the message names the file);
 * - every change is logged (tag "ctl") with the caller's uid and pid;
 * - fairness (fair.h): a non-root uid's runs, dry or real, take a token of
 *   its bucket; without one the run is refused with HK_EBUSY ("rate
 *   limited") before any op is called.
 */
#ifndef HK_CTL_H
#define HK_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"

struct ev_loop;
struct hk_ctl;
struct hk_ctl_pending;

/* Per-client limits. Between callers (fair.h): HK_FAIR_ROOT_SLOTS of the
 * HK_CTL_MAX_CLIENTS slots are root's, a non-root uid holds at most
 * HK_FAIR_UID_CLIENTS connections, idles at most HK_FAIR_IDLE_TIMEOUT and
 * starts runs at HK_FAIR_RUN_RATE (bursts of HK_FAIR_RUN_BURST). */
#define HK_CTL_MAX_CLIENTS 64
#define HK_CTL_READ_TIMEOUT 5.0      /* seconds to finish a started request */
#define HK_CTL_WRITE_TIMEOUT 30.0    /* seconds for a stalled reader to take a reply */
#define HK_CTL_IDLE_TIMEOUT 600.0    /* seconds an idle connection of root is kept */
/* A client waiting for a deferred reply (a job) is not idle: no deadline
 * applies until the reply is queued (then HK_CTL_WRITE_TIMEOUT). */
#define HK_CTL_ACCEPT_BACKOFF 1.0    /* seconds without accept() after EMFILE */

/* Who is calling (SO_PEERCRED). */
struct hk_ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Paged audit (SPEC 9): every request's work and reply are bounded (the
 * records per page: HK_PROTO_AUDIT_LIMIT, at most HK_PROTO_AUDIT_LIMIT_MAX). */
#define HK_CTL_AUDIT_BYTES (4u << 20)        /* JSON of a page's records, at most about */
#define HK_CTL_AUDIT_VISIT 100000            /* records looked at per request, at most */

/* Replies written to clients that have not read them yet: while a non-root
 * uid's exceed HK_CTL_PENDING_UID, or everyone's HK_CTL_PENDING_MAX, that
 * uid's (every non-root uid's) new requests are refused with HK_EBUSY;
 * root's never are. */
#define HK_CTL_PENDING_UID (16u << 20)
#define HK_CTL_PENDING_MAX (64u << 20)

/* What a page of the audit trail covers. */
struct hk_ctl_audit_query {
	int64_t since;           /* epoch seconds, 0 = all */
	const char *id;          /* registration id (or name), NULL = all */
	uint64_t from;           /* the position to start at (from a cursor), 0 = the start */
	size_t limit;            /* records at most */
	size_t max_bytes;        /* JSON of the records, at most about */
	size_t max_visit;        /* records looked at, at most */
	/* redaction: NULL = every record; else false leaves a record of
	 * registration reg_id out (it is neither shown nor counted) */
	bool (*visible)(const char *reg_id, void *arg);
	void *visible_arg;
};

/*
 * The operations, implemented by the daemon. Every function returns 0 or
 * an error code (-errno, HK_E*); with an error it may set *cause to a
 * message for the caller (a new string the server frees), otherwise
 * hk_strerror's text is sent. JSON outputs are new references the server
 * takes over. ctx is the ops_ctx given to hk_ctl_create. All are called
 * on the loop thread, one at a time; they must not block for long.
 * Arguments arrive validated and authorized (see the top of this file).
 */
struct hk_ctl_ops {
	/* A copy of registration id (caller frees with hk_registration_free),
	 * with owner_uid, source and source_file filled in; HK_ENOTFOUND. Used
	 * for authorization and to merge updates. */
	int (*get_registration)(void *ctx, const char *id, struct hk_registration **out);

	/* Register reg (validated: hk_registration_validate passed; directory,
	 * pattern, defaults filled in; source HK_SOURCE_API; owner_uid =
	 * peer uid; id empty; the directory reached without a symlink).
	 * Idempotent per owner (SPEC 4): a registration of the same owner
	 * uid, pattern and directory (the same inode, walked without
	 * following symlinks; the same path while it does not exist) gets
	 * the fields given and *existed set; another uid's registration,
	 * root's call included, is never returned nor changed. Writes the id
	 * into id_out (NUL-terminated). */
	int (*register_cleanup)(void *ctx, const struct hk_registration *reg,
				const struct hk_ctl_peer *peer, char id_out[HK_UUID_LEN + 1],
				bool *existed, char **cause);

	/* Replace registration merged->id by merged: the stored one with the
	 * fields in `changed` (HK_PROTO_F_* bits) replaced, validated. */
	int (*update_cleanup_config)(void *ctx, const struct hk_registration *merged,
				     unsigned changed, char **cause);

	/* Remove registration id (an api one; checked). */
	int (*remove_cleanup_config)(void *ctx, const char *id, char **cause);

	/* Every registration, config and api, as a JSON array of
	 * hk_proto_registration_to_json objects, in priority order. */
	int (*get_cleanup_configs)(void *ctx, json_t **out);

	/* Queue a job sweeping registration id (NULL: all, in priority order;
	 * for a peer other than root, all of the registrations it owns and no
	 * other) for peer (whose uid the job and its report file carry, so
	 * that the reports of a non-root uid can be capped), and set *job_id.
	 * pending NULL (no_wait): that is all. Otherwise the op takes pending
	 * over and completes it when the job ends, with the report
	 * (hk_proto_report_to_json, its "outcome" added); on an error return
	 * it has not taken it. HK_ENOTFOUND; HK_EREADONLY for a real run
	 * under housekeeper_read_only. */
	int (*run_cleanup)(void *ctx, const char *id, bool dry_run, const struct hk_ctl_peer *peer,
			   struct hk_ctl_pending *pending, uint64_t *job_id, char **cause);

	/* Who job_id is for (the uid that asked for it; 0: root or the daemon
	 * itself, and any job known only from the store). HK_ENOTFOUND. */
	int (*job_owner)(void *ctx, uint64_t job_id, uid_t *uid);

	/* Complete pending (taken over; on an error return not taken) with
	 * {job_id, done, job: JOB, report?} when job_id ends, or after
	 * timeout seconds (< 0: none) with done false and the job's progress.
	 * A job that has already ended answers at once, without its report.
	 * A client that goes away cancels the wait (pending's cancel), never
	 * the job. HK_ENOTFOUND. */
	int (*wait_job)(void *ctx, uint64_t job_id, double timeout, struct hk_ctl_pending *pending);

	/* A JSON array, one object per registration: id, name, directory,
	 * pattern, files, bytes, retention, max_files, max_size (as in
	 * registrations), oldest (epoch seconds or null), next_expiry (epoch
	 * seconds or null), last_run, reclaimed_bytes, reclaimed_files. */
	int (*status)(void *ctx, json_t **out);

	/* Which registrations cover path (raw bytes) and when/why it will be
	 * deleted: an object {"path", "registrations": [{"id", "directory",
	 * "pattern", "matches" (bool), "excluded" (bool), "reason" (age,
	 * count, size or null), "delete_at" (epoch seconds or null), "note"
	 * (text)}]}. (For a non-root peer the server keeps only its own
	 * registrations and adds "other_registrations": how many it left out.) */
	int (*explain)(void *ctx, const char *path, json_t **out, char **cause);

	/* One page of the audit trail (see struct hk_ctl_audit_query): a
	 * JSON array of {time, registration_id, path, size, mtime, reason,
	 * dry_run, result} in *out, oldest first, and in *next the position
	 * the next page starts at (0: no more). The page holds at most
	 * q->limit records of at most about q->max_bytes of JSON; fewer
	 * (none, even) when q->max_visit records were looked at first. */
	int (*audit)(void *ctx, const struct hk_ctl_audit_query *q, json_t **out, uint64_t *next);

	/* At most limit jobs (0: no limit) as a JSON array of JOB objects
	 * (docs/ARCHITECTURE.md, "Jobs"): queued and running jobs first, with
	 * their progress, then history newest first. JOB records carry no
	 * paths: anyone may list them. */
	int (*jobs)(void *ctx, size_t limit, json_t **out);

	/* Reload the configuration like SIGHUP. On a config with errors
	 * return HK_ECONFIG and set *errors to a JSON array of the
	 * "file:line: message" strings (the old config stays). */
	int (*reload)(void *ctx, json_t **errors);

	/* Prometheus text exposition (a new string the server frees). */
	int (*metrics)(void *ctx, char **text);
	/* Optional: facts about the daemon itself (an object: uptime,
	 * started, config_files, state_directory, store_healthy, ...), merged
	 * into the answer of "version". */
	int (*daemon_info)(void *ctx, json_t **out);
};

struct hk_fair;

/* One request as a handler sees it. */
struct hk_ctl_request {
	const char *op;
	const json_t *args;          /* always an object */
	struct hk_ctl_peer peer;
	struct hk_fair *fair;        /* per-uid rations (NULL: none, as in tests) */
	double now;                  /* monotonic seconds, for fair */
};

/* The reply sink: a handler sets either a result or an error. */
struct hk_ctl_reply {
	int code;                    /* 0 = success */
	char *message;               /* error text (owned) */
	json_t *result;              /* success value (owned; NULL = null) */
	json_t *details;             /* optional error details (owned) */
	bool quiet;                  /* a refusal the handler logged (rate-limited) itself */
	struct hk_ctl_pending *pending;   /* set by hk_ctl_reply_defer: the answer comes later */
	char *raw_result;            /* or the result as JSON text (owned; see set_raw) */
	size_t raw_len;
};
/* hk_ctl_reply_fini cancels a pending reply still in the sink. */
void hk_ctl_reply_init(struct hk_ctl_reply *reply);
void hk_ctl_reply_fini(struct hk_ctl_reply *reply);
/* Set the result (stolen). */
void hk_ctl_reply_set_result(struct hk_ctl_reply *reply, json_t *result);
/* Set the result as JSON text (one value, valid JSON; stolen): a long
 * report streamed into text is sent as it is, never built as objects. */
void hk_ctl_reply_set_raw(struct hk_ctl_reply *reply, char *json_text, size_t len);
/* Set an error: code and a printf message (NULL fmt: hk_strerror(code)). */
void hk_ctl_reply_set_error(struct hk_ctl_reply *reply, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Deferred replies. A handler that answers later calls hk_ctl_reply_defer
 * and hands the pending reply to the op, which fills its sink
 * (hk_ctl_pending_reply) and calls hk_ctl_pending_done when it can, from
 * the loop, at once or later. Whoever serves the request (the socket
 * server, a test) attaches a delivery function; a client that goes away
 * cancels the reply instead: the op's cancel function runs (it must
 * forget the pending reply) and the reply is freed. Exactly one of
 * hk_ctl_pending_done and the cancel happens.
 */
/* Defer reply (which must be empty); returns the pending reply, also kept
 * in reply->pending until the server takes it. */
struct hk_ctl_pending *hk_ctl_reply_defer(struct hk_ctl_reply *reply);
/* Take back a deferral the op did not take over (its error return). */
void hk_ctl_reply_undefer(struct hk_ctl_reply *reply);
/* The op's side: the sink to fill, the cancel function (fn(arg) when the
 * client goes away before done), and done (delivers the reply and frees
 * pending: do not use it afterwards). */
struct hk_ctl_reply *hk_ctl_pending_reply(struct hk_ctl_pending *pending);
void hk_ctl_pending_set_cancel(struct hk_ctl_pending *pending, void (*fn)(void *arg), void *arg);
void hk_ctl_pending_done(struct hk_ctl_pending *pending);
/* The server's side: deliver(reply, arg) runs at done (at once when done
 * already happened), then pending is freed; cancel runs the op's cancel
 * function and frees pending. */
typedef void (*hk_ctl_deliver_fn)(struct hk_ctl_reply *reply, void *arg);
void hk_ctl_pending_attach(struct hk_ctl_pending *pending, hk_ctl_deliver_fn deliver, void *arg);
void hk_ctl_pending_cancel(struct hk_ctl_pending *pending);

/* Dispatch one request through the table to its handler (authorization
 * included). Always fills reply. */
void hk_ctl_dispatch(const struct hk_ctl_ops *ops, void *ops_ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply);

/* Handle one request payload end to end: parse, dispatch, build the
 * response; returns the response frame (caller frees) in *frame. Never
 * fails except on out-of-memory (aborts). A reply the op defers and has
 * not completed by then is cancelled and answered with an error (nothing
 * can wait here: only the socket server waits). */
void hk_ctl_handle_payload(const struct hk_ctl_ops *ops, void *ops_ctx,
			   const struct hk_ctl_peer *peer, const char *text, size_t len,
			   char **frame, size_t *frame_len);

/* Create the socket at path (mode, group gid or (gid_t)-1 to keep) and
 * serve it on loop. The parent directory is created 0755 when missing; an
 * existing socket file that no server answers is replaced; anything else
 * at path (a file, a symlink, a live socket) is an error. Returns 0 with
 * *out, or -errno / HK_EBUSY with *cause (owned by the caller). */
int hk_ctl_create(struct ev_loop *loop, const char *path, mode_t mode, gid_t gid,
		  const struct hk_ctl_ops *ops, void *ops_ctx, struct hk_ctl **out, char **cause);
/* Close every client and the socket, unlink it (if it is still ours). */
void hk_ctl_free(struct hk_ctl *ctl);
/* Change the per-client time limits (seconds; defaults HK_CTL_*_TIMEOUT);
 * for tests. Applies from each client's next event. */
void hk_ctl_set_timeouts(struct hk_ctl *ctl, double read_timeout, double write_timeout,
			 double idle_timeout);
/* Change the idle limit of non-root clients (default HK_FAIR_IDLE_TIMEOUT;
 * the shorter of it and the idle timeout applies); for tests. */
void hk_ctl_set_user_idle_timeout(struct hk_ctl *ctl, double idle_timeout);
/* Number of connected clients (for status and tests). */
size_t hk_ctl_clients(const struct hk_ctl *ctl);

/* Serving clients from inside long work. The engine's deletion batches,
 * event backlogs and refreshes can hold the loop thread for tens of ms
 * (under a flat-out writer, every unlink may sleep on the directory's
 * lock for milliseconds). At safe points of that work (between batches,
 * between the files of a batch) the engine asks: is the fd
 * readable (a connection or a request waiting)? Then
 * hk_ctl_serve_urgent accepts and reads, answers the requests that may
 * be answered there (status, metrics: in-memory state only), and defers
 * every other one to the loop, as it would be served anyway. */
int hk_ctl_urgent_fd(const struct hk_ctl *ctl);
void hk_ctl_serve_urgent(struct hk_ctl *ctl);

#endif /* HK_CTL_H */
