/*
 * housekeeper.h - public client API of housekeeper.
 *
 * Error convention shared by the library and the daemon: functions return
 * 0 on success, -errno for a system failure, or one of the HK_E* codes
 * below (all < -1000). hk_strerror() describes both.
 */
#ifndef HOUSEKEEPER_H
#define HOUSEKEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum hk_error {
	HK_EBASE = -1000,
	HK_ECONFIG = -1001,       /* configuration is invalid */
	HK_ENOTFOUND = -1002,     /* no such registration */
	HK_EREADONLY = -1003,     /* housekeeper_read_only forbids deletion */
	HK_EPROTO = -1004,        /* malformed or unexpected message */
	HK_ENODAEMON = -1005,     /* daemon not reachable */
	HK_EDENIED = -1006,       /* caller is not allowed to do this */
	HK_ESOURCE = -1007,       /* registration comes from a config file */
	HK_ESTORE = -1008,        /* state store corrupt, newer or unusable */
	HK_ECLOCK = -1009,        /* system clock is implausible */
	HK_ESYSDIR = -1010,       /* system directory without allow_system_directory */
	HK_ECHANGED = -1011,      /* object changed under us; skipped */
	HK_EBUSY = -1012,         /* resource in use (lock held, job running) */
	HK_ELAST = -1013,
};

/* Describe an error code returned by any hk_* function: -errno or HK_E*.
 * The string is static. */
const char *hk_strerror(int err);

/*
 * Client library (libhousekeeper, pkg-config "housekeeper"): the seed's
 * SchedulerService API over the daemon's control socket.
 *
 * Conventions:
 * - Every function returns 0 or an error code (see above): HK_ENODAEMON
 *   when no daemon answers at the socket (missing socket, refused
 *   connection, connection lost and not re-established), -ETIMEDOUT when
 *   the daemon does not answer in time, -EACCES when the socket may not be
 *   opened, HK_EPROTO for a malformed answer, -ENOMEM, -EINVAL for bad
 *   arguments; and, for an error reported by the daemon, its code
 *   (HK_ENOTFOUND, HK_EDENIED, HK_ECONFIG, HK_ESYSDIR, HK_ESOURCE,
 *   HK_EREADONLY, HK_EBUSY, -errno...), whose message
 *   hk_client_last_error() returns.
 * - Nothing aborts the caller or raises SIGPIPE; no call blocks longer than
 *   the handle's timeout (5 s unless changed with hk_client_set_timeout),
 *   except the wait for a job: hk_run_cleanup and hk_wait_job (and
 *   hk_call of run_cleanup and wait_job) get their answer when the job
 *   ends (or at hk_wait_job's own timeout), however long the job takes;
 *   the handle's timeout bounds only connecting and sending. A slow job is
 *   never an error; a daemon that goes away meanwhile is HK_ENODAEMON.
 * - A returned char * or array belongs to the caller (free(3) for strings,
 *   hk_cleanup_configs_free for configs). const char * arguments are only
 *   read during the call.
 * - A handle may be shared by threads: calls on it are serialized by a
 *   mutex inside it. A lost connection (daemon restarted, idle connection
 *   closed by the daemon) is re-established once, transparently.
 */

/* Environment variable naming the socket, checked when no path is given. */
#define HK_SOCKET_ENV "HOUSEKEEPER_SOCKET"

struct hk_client;

/* Connect to the daemon at socket_path; NULL: $HOUSEKEEPER_SOCKET when set
 * and non-empty, else the compiled-in default (hk_default_socket_path()).
 * Returns 0 with a new handle in *out (close with hk_disconnect), or
 * HK_ENODAEMON at once when no daemon listens, -EACCES,
 * -ENAMETOOLONG, -ETIMEDOUT, -ENOMEM; *out is then NULL. */
int hk_connect(const char *socket_path, struct hk_client **out);

/* Close the connection and free the handle. NULL is a no-op. */
void hk_disconnect(struct hk_client *client);

/* The compiled-in socket path ($runstatedir/housekeeper/housekeeper.sock);
 * a static string. */
const char *hk_default_socket_path(void);

/* Set the timeout of every later call on client, in milliseconds (> 0);
 * 0 restores the default (5 s). It never cuts the wait for a job (see the
 * conventions). Returns 0 or -EINVAL. */
int hk_client_set_timeout(struct hk_client *client, int timeout_ms);

/* The message of the last error the daemon reported on this handle (its
 * explanation of HK_EDENIED, HK_ECONFIG...), as a new string the caller
 * frees, or NULL when the last failed call got no message from the daemon.
 * With several threads on one handle it is the last failure of any. */
char *hk_client_last_error(struct hk_client *client);

/* What to register or change. Start from HK_CLEANUP_SPEC_INIT (all unset).
 * For hk_register_cleanup an unset field takes its default (pattern "*",
 * no exclude, no limit, priority 100, not recursive; a registration with
 * no limit at all gets housekeeper_default_retention); for
 * hk_update_cleanup_config an unset field stays unchanged. */
struct hk_cleanup_spec {
	const char *directory;          /* absolute; required to register; NULL = unset */
	const char *pattern;            /* fnmatch(3) on file names; NULL = unset */
	const char *const *exclude;     /* n_exclude globs never deleted; NULL = unset,
					   non-NULL with n_exclude 0 = clear the list */
	size_t n_exclude;
	int64_t retention;              /* seconds (0 = no age limit) */
	bool has_retention;
	uint64_t max_files;             /* keep the newest N */
	bool has_max_files;
	uint64_t max_size;              /* bytes: keep the total under it */
	bool has_max_size;
	long priority;                  /* lower runs first */
	bool has_priority;
	const char *description;        /* NULL = unset */
	bool recursive;                 /* also subdirectories */
	bool has_recursive;
};
#define HK_CLEANUP_SPEC_INIT { 0 }

/* Register a cleanup (SPEC 4: idempotent on directory and pattern, so call
 * it at every start). A non-root caller may register only a directory it
 * owns, named without symlinks. Returns 0 and, when id_out is not NULL, the
 * registration id (36 characters) as a new string; errors as above, e.g.
 * HK_ECONFIG or HK_ESYSDIR (invalid spec), HK_EDENIED. */
int hk_register_cleanup(struct hk_client *client, const struct hk_cleanup_spec *spec,
			char **id_out);

/* Change the set fields of registration id. HK_ENOTFOUND, HK_ESOURCE (it
 * comes from a config file), HK_EDENIED (not yours), HK_ECONFIG,
 * -EINVAL (nothing set). */
int hk_update_cleanup_config(struct hk_client *client, const char *id,
			     const struct hk_cleanup_spec *spec);

/* SPEC 5's later keys, apart from struct hk_cleanup_spec so that its size
 * (and the ABI of the calls above) stays as it was. Start from
 * HK_CLEANUP_LIMITS_INIT, which sets size; the strings are the INI's
 * values: NULL = unset (register: the default; update: unchanged), ""
 * = back to the default. */
struct hk_cleanup_limits {
	size_t size;                    /* sizeof(struct hk_cleanup_limits) */
	const char *min_free;           /* "SIZE" or "N%": free-space floor */
	const char *free_target;        /* "SIZE" or "N%": free space to reach once below */
	const char *low_watermark;      /* "N%" of max_files/max_size to trim to */
	bool skip_open;                 /* keep files any process holds open */
	bool has_skip_open;
	const char *unit;               /* "file" or "directory" */
	bool remove_empty_dirs;         /* recursive: remove empty subdirectories */
	bool has_remove_empty_dirs;
};
#define HK_CLEANUP_LIMITS_INIT { .size = sizeof(struct hk_cleanup_limits) }

/* hk_register_cleanup with limits too (NULL: none given). Also -EINVAL
 * when limits->size is too small. Read the keys back with
 * hk_call("get_cleanup_configs"): the JSON has every field. */
int hk_register_cleanup_limits(struct hk_client *client, const struct hk_cleanup_spec *spec,
			       const struct hk_cleanup_limits *limits, char **id_out);
/* hk_update_cleanup_config with limits too; spec or limits may be NULL,
 * not both. */
int hk_update_cleanup_limits(struct hk_client *client, const char *id,
			     const struct hk_cleanup_spec *spec,
			     const struct hk_cleanup_limits *limits);

/* Remove registration id. HK_ENOTFOUND, HK_ESOURCE, HK_EDENIED. */
int hk_remove_cleanup_config(struct hk_client *client, const char *id);

enum hk_cleanup_source {
	HK_CLEANUP_SOURCE_CONFIG,       /* from a configuration file */
	HK_CLEANUP_SOURCE_API,          /* registered through the socket */
};

/* One registration as the daemon reports it (SPEC 4). */
struct hk_cleanup_config {
	char id[37];
	char *name;                     /* config section name, or NULL */
	char *directory;
	char *pattern;
	char **exclude;                 /* n_exclude strings */
	size_t n_exclude;
	int64_t retention;              /* seconds; valid when has_retention */
	bool has_retention;
	uint64_t max_files;
	bool has_max_files;
	uint64_t max_size;              /* bytes */
	bool has_max_size;
	long priority;
	char *description;              /* or NULL */
	bool recursive;
	int64_t created_at;             /* epoch seconds; 0 = unknown */
	int64_t updated_at;
	int64_t last_run;               /* 0 = never */
	enum hk_cleanup_source source;
	char *source_file;              /* config: the file; else NULL */
	uint32_t owner_uid;
};

/* Every registration. Returns 0 with *out (an array of *n configs, NULL
 * when *n is 0) owned by the caller: free it with hk_cleanup_configs_free. */
int hk_get_cleanup_configs(struct hk_client *client, struct hk_cleanup_config **out, size_t *n);
void hk_cleanup_configs_free(struct hk_cleanup_config *configs, size_t n);

/* Run the cleanup of registration id (NULL: all; for a caller other than
 * root, all of its own) as a job, or only report what it would delete
 * (dry_run), and wait for the job to end, however long it runs. The job
 * waits its turn under max_concurrent_jobs and stops at default_timeout.
 * Returns 0 and, when report_json_out is not NULL, the run report as JSON
 * text (a new string; fields: job_id, trigger, dry_run, started,
 * finished (integer epoch seconds), outcome ("ok", "failed", "timeout", "cancelled"),
 * registrations, not_run (ids of registrations the timeout stopped),
 * files, totals). A job that failed is still 0: read its outcome.
 * HK_ENOTFOUND, HK_EREADONLY (read-only mode refuses a real run),
 * HK_EDENIED, HK_EBUSY (rate limited), HK_ENODAEMON (also when the
 * daemon goes away before the job ends). */
int hk_run_cleanup(struct hk_client *client, const char *id, bool dry_run, char **report_json_out);

/* Queue the same job as hk_run_cleanup and return at once with its id in
 * *job_id (then see hk_wait_job). Same errors, without waiting. */
int hk_submit_cleanup(struct hk_client *client, const char *id, bool dry_run, uint64_t *job_id);

/* A job as hk_wait_job reports it. */
struct hk_job_status {
	uint64_t job_id;
	bool done;                      /* ended (then outcome is final) */
	char outcome[16];               /* "queued", "running", "ok", "failed", "timeout",
					   "cancelled" */
	uint64_t registrations_total;   /* registrations the job covers */
	uint64_t registrations_done;    /* swept to the end so far */
	uint64_t scanned;               /* files examined so far */
	uint64_t deleted;               /* deleted (a dry run: would be) so far */
	uint64_t bytes;                 /* their size */
	uint64_t errors;
	size_t n_waiting;               /* registrations whose directory does not exist */
	size_t n_not_run;               /* registrations the timeout stopped */
};

/* Wait for job job_id to end, at most timeout_ms (< 0: as long as it
 * runs). Returns 0 with *status (may be NULL): done, outcome and the
 * counters, the progress so far when the timeout came first; and, when
 * report_json_out is not NULL and the wait saw the job end, its report as
 * JSON text (a new string; NULL for a job that had ended before the call:
 * its report is in the daemon's report directory). A caller other than
 * root may wait only for the jobs it started: HK_EDENIED. HK_ENOTFOUND
 * for an unknown job, -EINVAL, HK_ENODAEMON. */
int hk_wait_job(struct hk_client *client, uint64_t job_id, int timeout_ms,
		struct hk_job_status *status, char **report_json_out);

/* Call any operation of the control protocol: op (e.g. "status") with
 * args_json (a JSON object as text, NULL = {}). Returns 0 with the result
 * as JSON text in *result_json (a new string, "null" when there is none);
 * for an error reported by the daemon returns its code and sets
 * *result_json to the error object ({"code","name","message"[,"details"]});
 * for any other error *result_json is NULL. -EINVAL when args_json is not
 * a JSON object. */
int hk_call(struct hk_client *client, const char *op, const char *args_json, char **result_json);

#ifdef __cplusplus
}
#endif

#endif /* HOUSEKEEPER_H */
