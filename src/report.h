/*
 * report.h - run reports: what a sweep, a manual run or the event path
 * deleted (struct hk_report, filled by the engine, owned by the job or the
 * daemon), its human text, and the files the daemon writes for people and
 * tools: one JSON run report per job (schema: hk_proto_report_to_json,
 * plus "outcome" and "filesystems"), the Prometheus textfile, and their
 * retention. Every file is written atomically: a temp file in the same
 * directory, fsync, rename. No loop here: a render's loop and async
 * watcher are only pointers.
 */
#ifndef HK_REPORT_H
#define HK_REPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "policy.h"
#include "reap.h"
#include "registration.h"
#include "util.h"

struct ev_loop;
struct ev_async;
struct hk_config;
struct hk_job_info;

/* One file of a run report. */
struct hk_report_file {
	char *path;                 /* absolute, raw bytes */
	char reg_id[HK_UUID_LEN + 1];   /* a copy: registrations may go while the report lives */
	uint64_t size;
	uint64_t blocks;
	int64_t mtime_ns;
	enum hk_reason reason;
	enum hk_reap_outcome outcome;
	int err;
};

/* Per registration totals of a run. */
struct hk_report_reg {
	char id[HK_UUID_LEN + 1];
	char *name;
	char *directory;
	uint64_t scanned;           /* candidate files seen */
	uint64_t selected;          /* chosen by the policies */
	uint64_t deleted;           /* deleted (or would be, in a dry run) */
	uint64_t bytes;             /* their st_size sum */
	uint64_t blocks_bytes;      /* their st_blocks * 512 sum */
	uint64_t skipped;           /* changed, locked, refused */
	uint64_t errors;
	int64_t free_before;        /* free bytes of the filesystem before the sweep; -1: unknown */
	int64_t free_after;         /* ... and after it */
	char *error;                /* the registration could not be cleaned (NULL: fine) */
	bool waiting;               /* its directory does not exist (yet): nothing to do, no error */
};

/* The outcome of one sweep or manual run. */
struct hk_report {
	uint64_t job_id;
	const char *trigger;        /* "once", "schedule", "manual", ... (static) */
	bool dry_run;
	int64_t started_ns;
	int64_t finished_ns;
	struct hk_report_reg *regs;
	size_t n_regs;
	struct hk_report_file *files;
	size_t n_files;
	uint64_t files_omitted;     /* beyond HK_REPORT_MAX_FILES: counted, not listed */
	const char *file;           /* the JSON report's path once written, else NULL;
				       borrowed from whoever wrote it (hk_report_print) */
	char (*not_run)[HK_UUID_LEN + 1];   /* registrations the job did not sweep to the
					       end (default_timeout, a stop) */
	size_t n_not_run;
	struct hk_buf *text;        /* its JSON text when rendered off the loop (report.h:
				       hk_report_render), else NULL; borrowed: a job's
				       waiter may take the buffer (then text->data NULL) */
};

/* Files listed in one report at most (a sweep of millions stays small). */
#define HK_REPORT_MAX_FILES 100000
/* Free what a report holds (registrations, files) and empty it. */
void hk_report_clear(struct hk_report *rep);
void hk_report_free(struct hk_report *rep);
/* The same, on a thread of its own when the report lists many files (a
 * path each: a million frees held the loop for tens of ms). */
void hk_report_free_detached(struct hk_report *rep);
/* Human text: one line per file, registrations that failed or wait for
 * their directory, how many files the report left unlisted and where the
 * JSON report is (rep->file, when set), then totals. */
void hk_report_print(const struct hk_report *rep, FILE *out);

/* Write data to path atomically (O_EXCL|O_NOFOLLOW temp file beside it,
 * fsync, rename). Returns 0 or -errno. */
int hk_write_atomic(const char *path, const char *data, size_t len, mode_t mode);

/* Where reports go: housekeeper_report_directory, else <state>/reports.
 * A new string. */
char *hk_report_dir(const struct hk_config *cfg);
/* The path hk_report_write gives the report of job in dir. A new string. */
char *hk_report_path(const char *dir, const struct hk_job_info *job, const struct hk_report *rep);

/* Write the report of job to dir/report-<job id>-<start time>.json, or
 * report-<job id>-<start time>-uid<uid>.json for a job a non-root uid asked
 * for (dir is created 0700 when missing). *path_out (may be NULL) receives
 * the file's path, owned by the caller. Returns 0 or -errno. */
int hk_report_write(const char *dir, const struct hk_job_info *job,
		    const struct hk_report *rep, char **path_out);

/* Append the report of job as JSON text (one object, compact; the file
 * list streamed, not built in memory) to text. Returns 0 or -ENOMEM. */
struct hk_buf;
int hk_report_text(const struct hk_job_info *job, const struct hk_report *rep,
		   struct hk_buf *text);

/* A job's report rendered off the loop thread (a 100k-file report is
 * 18 MB of text: built and written on the loop it held the daemon for
 * up to a second and a half). The thread builds the text of job and rep
 * (both borrowed, read only, until the render is joined), writes it to
 * its file in dir when dir is set (owned, freed by fini), then sends
 * done on loop. rc: 0 or a negative errno; path: the file when written.
 * The text stays for the job's waiters (the run's answer is the same
 * report) until fini. */
struct hk_report_render {
	const struct hk_job_info *job;
	const struct hk_report *rep;
	char *dir;
	struct ev_loop *loop;
	struct ev_async *done;
	struct hk_buf text;
	char *path;
	int rc;
	bool started;
	pthread_t thread;
	atomic_bool finished;
};
int hk_report_render_start(struct hk_report_render *r);
bool hk_report_render_finished(const struct hk_report_render *r);
void hk_report_render_join(struct hk_report_render *r);
void hk_report_render_fini(struct hk_report_render *r);

/* Delete the report files in dir last modified before before_ns (only
 * regular files named report-*.json). Returns how many went. */
size_t hk_report_prune(const char *dir, int64_t before_ns);
/* The JSON report file of job job_id in dir, appended to out without its
 * final newline (a report is written whole, so the file is one object).
 * 0, -ENOENT when there is none, -EFBIG past max bytes, or -errno. */
int hk_report_read(const char *dir, uint64_t job_id, size_t max, struct hk_buf *out);

/* Keep only the newest keep reports of jobs uid asked for in dir (regular
 * files named report-*-uid<uid>.json, oldest by mtime removed first): a
 * user's runs are rate-limited, and its reports must not fill the state
 * disk within the retention either. Returns how many went. */
size_t hk_report_cap(const char *dir, uid_t uid, size_t keep);

#endif /* HK_REPORT_H */
