/*
 * report.h - files the daemon writes for people and tools: one JSON run
 * report per job (schema: hk_proto_report_to_json, plus "outcome" and
 * "filesystems"), the Prometheus textfile, and their retention. Every file
 * is written atomically: a temp file in the same directory, fsync, rename.
 */
#ifndef HK_REPORT_H
#define HK_REPORT_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "sched.h"
#include "util.h"

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

/* Delete the report files in dir last modified before before_ns (only
 * regular files named report-*.json). Returns how many went. */
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
	ev_async *done;
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
