/*
 * cli_jobs.c - housekeeperctl's job commands (SPEC 9): run [ID]
 * [--dry-run] [--no-wait], wait JOB, jobs [--limit N]; the text of a run
 * report; progress on stderr.
 *
 * Truth in exit codes: a job's reply is waited for without a time limit
 * (client.c), so a slow job never looks like an absent daemon (3); a job
 * whose outcome is not ok, or that failed a deletion, exits 1.
 *
 * Progress: only on a terminal (stderr) that is not "dumb", never with
 * --json. run then
 * submits with no_wait and polls wait_job with a 0.25 s timeout, so that
 * the line (registrations, files examined, deleted, bytes, rate) changes at
 * most four times a second; it is erased before the report is printed. A
 * daemon that does not know no_wait (older) gets the plain blocking call.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "housekeeper.h"
#include "proto.h"
#include "units.h"
#include "util.h"

#define CLI_POLL_SECONDS 0.25      /* wait_job timeout while progress is shown */
#define CLI_PROGRESS_INTERVAL 0.25 /* at most four updates a second */

const struct option cli_run_longopts[] = {
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ NULL, 0, NULL, 0 },
};

const struct option cli_jobs_longopts[] = {
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ NULL, 0, NULL, 0 },
};

static double cli_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* o[key] as a count: a number, or the length of a list (a job's waiting
 * and not_run are lists of ids). */
static json_int_t cli_int(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (json_is_array(v))
		return (json_int_t)json_array_size(v);
	return json_is_integer(v) ? json_integer_value(v) : json_is_real(v) ? (json_int_t)json_real_value(v) : 0;
}

/* Replies --------------------------------------------------------------------- */

/* The run report in a reply: {job_id, outcome, report} (run_cleanup),
 * {job_id, done, job, report} (wait_job), or the report itself (daemons
 * before the job protocol). NULL when there is none. */
static const json_t *cli_reply_report(const json_t *res)
{
	const json_t *rep = json_object_get(res, "report");

	if (json_is_object(rep))
		return rep;
	return json_object_get(res, "totals") ? res : NULL;
}

/* The outcome of the job a reply is about, NULL when it says none. */
static const char *cli_reply_outcome(const json_t *res)
{
	const char *o = json_string_value(json_object_get(res, "outcome"));

	if (!o)
		o = json_string_value(json_object_get(json_object_get(res, "job"), "outcome"));
	if (!o)
		o = json_string_value(json_object_get(cli_reply_report(res), "outcome"));
	return o;
}

/* Errors of a report: failed deletions and registrations that could not
 * be cleaned (totals.errors counts both; a waiting one is none); at least
 * the registrations' own errors, whatever the totals say. */
static json_int_t cli_report_errors(const json_t *rep)
{
	json_int_t n = cli_int(json_object_get(rep, "totals"), "errors");
	json_int_t regs = 0;
	size_t i;
	const json_t *o;

	json_array_foreach(json_object_get(rep, "registrations"), i, o)
		regs += json_is_string(json_object_get(o, "error"));
	return n > regs ? n : regs;
}

int cli_job_exit(const json_t *job, const json_t *report)
{
	const char *outcome = cli_reply_outcome(job);

	if (!report)
		report = cli_reply_report(job);
	if (outcome && strcmp(outcome, "ok") != 0)
		return CLI_EDAEMON;
	return report && cli_report_errors(report) > 0 ? CLI_EDAEMON : CLI_OK;
}

/* Report text ----------------------------------------------------------------- */

static void cli_report_files(const struct cli *cli, const json_t *rep, FILE *out)
{
	size_t i;
	const json_t *o;

	json_array_foreach(json_object_get(rep, "files"), i, o) {
		char *path = cli_bytes(cli, o, "path");
		char *size = cli_size(cli, o, "size");
		const char *outcome = json_string_value(json_object_get(o, "outcome"));
		const char *reason = json_string_value(json_object_get(o, "reason"));
		const char *err = json_string_value(json_object_get(o, "error"));
		fprintf(out, "%-12s %-5s %10s  %s%s%s\n", outcome ? outcome : "?", reason ? reason : "?",
			size, path, err ? ": " : "", err ? err : "");
		free(path);
		free(size);
	}
}

/* Registrations that failed or wait for their directory; returns how many
 * wait. */
static size_t cli_report_regs(const struct cli *cli, const json_t *rep, FILE *out)
{
	size_t i, waiting = 0;
	const json_t *o;

	json_array_foreach(json_object_get(rep, "registrations"), i, o) {
		char *dir = cli_bytes(cli, o, "directory");
		if (json_is_string(json_object_get(o, "error"))) {
			char *msg = cli_bytes(cli, o, "error");
			fprintf(out, "error        %s: %s\n", dir, msg);
			free(msg);
		} else if (json_is_true(json_object_get(o, "waiting"))) {
			fprintf(out, "waiting      %s: does not exist yet\n", dir);
			waiting++;
		}
		free(dir);
	}
	return waiting;
}

void cli_report_print(const struct cli *cli, const json_t *rep, FILE *out)
{
	const json_t *regs = json_object_get(rep, "registrations");
	const json_t *tot = json_object_get(rep, "totals");
	bool dry = json_is_true(json_object_get(rep, "dry_run"));
	json_int_t omitted = cli_int(rep, "files_omitted");
	const char *file = json_string_value(json_object_get(rep, "report_file"));

	cli_report_files(cli, rep, out);
	size_t waiting = cli_report_regs(cli, rep, out);
	if (omitted > 0) {
		fprintf(out, "(%" JSON_INTEGER_FORMAT " more file%s not listed: the report lists the "
			"first %zu", omitted, omitted == 1 ? "" : "s",
			json_array_size(json_object_get(rep, "files")));
		if (file)
			fprintf(out, "; the JSON report: %s", file);
		fprintf(out, "%s)\n", dry ? "" : "; every deletion is in the audit trail (audit)");
	}
	json_int_t n = cli_int(tot, "deleted");
	char *size = cli_size(cli, tot, "bytes");
	json_int_t errors = cli_report_errors(rep);
	fprintf(out, "total: %" JSON_INTEGER_FORMAT " file%s, %s %s (%zu registration%s, %"
		JSON_INTEGER_FORMAT " skipped, %" JSON_INTEGER_FORMAT " error%s",
		n, n == 1 ? "" : "s", size, dry ? "would be deleted" : "deleted",
		json_array_size(regs), json_array_size(regs) == 1 ? "" : "s",
		cli_int(tot, "skipped"), errors, errors == 1 ? "" : "s");
	if (waiting)
		fprintf(out, ", %zu waiting for %s directory", waiting, waiting == 1 ? "its" : "their");
	fprintf(out, ")\n");
	free(size);
}

/* A job's final reply: as is with --json, else its report (or its outcome
 * when it has none for this caller); returns the exit code it calls for. */
static int cli_show_final(const struct cli *cli, const json_t *res)
{
	const json_t *rep = cli_reply_report(res);
	const char *outcome = cli_reply_outcome(res);

	if (cli->json)
		cli_print_json(res);
	else if (rep)
		cli_report_print(cli, rep, stdout);
	else
		printf("job %" JSON_INTEGER_FORMAT ": %s\n", cli_int(res, "job_id"),
		       outcome ? outcome : "?");
	if (!cli->json && outcome && strcmp(outcome, "ok") != 0)
		cli_err(cli, "job %" JSON_INTEGER_FORMAT " ended %s", cli_int(res, "job_id"), outcome);
	return cli_job_exit(res, rep);
}

/* Progress -------------------------------------------------------------------- */

void cli_progress_format(const json_t *job, double elapsed, char *buf, size_t size)
{
	char bytes[HK_UNITS_FORMAT_MAX];
	const char *outcome = json_string_value(json_object_get(job, "outcome"));
	json_int_t scanned = cli_int(job, "scanned");
	bool dry = json_is_true(json_object_get(job, "dry_run"));

	if (outcome && strcmp(outcome, "queued") == 0) {
		snprintf(buf, size, "job %" JSON_INTEGER_FORMAT ": queued", cli_int(job, "job_id"));
		return;
	}
	snprintf(buf, size, "job %" JSON_INTEGER_FORMAT ": %" JSON_INTEGER_FORMAT "/%"
		 JSON_INTEGER_FORMAT " registrations, %" JSON_INTEGER_FORMAT " files examined, %"
		 JSON_INTEGER_FORMAT " %s (%s), %.0f files/s",
		 cli_int(job, "job_id"), cli_int(job, "registrations_done"),
		 cli_int(job, "registrations_total"), scanned, cli_int(job, "deleted"),
		 dry ? "would be deleted" : "deleted",
		 hk_size_human((uint64_t)cli_int(job, "bytes"), bytes, sizeof(bytes)),
		 elapsed > 0.05 ? (double)scanned / elapsed : 0.0);
}

struct cli_progress {
	double last;           /* when the line was last drawn (monotonic), 0: never */
	double start;          /* when we began watching */
};

static void cli_progress_show(struct cli_progress *p, const json_t *job)
{
	char line[256];
	double now = cli_mono();
	const json_t *started = json_object_get(job, "started");
	double elapsed = now - p->start;

	if (p->last > 0 && now - p->last < CLI_PROGRESS_INTERVAL)
		return;
	if (json_is_number(started)) {
		/* the job's own age, when it began before we watched it */
		double age = (double)time(NULL) - json_number_value(started);
		if (age > elapsed)
			elapsed = age;
	}
	cli_progress_format(job, elapsed, line, sizeof(line));
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	p->last = now;
}

static void cli_progress_end(struct cli_progress *p)
{
	if (p->last > 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->last = 0;
}

/* Waiting --------------------------------------------------------------------- */

/* Wait for job_id to end, showing progress when asked. Returns CLI_OK with
 * the final wait_job reply in *final (owned), or the exit code of an
 * error, said already. */
static int cli_job_wait(struct cli *cli, json_int_t job_id, bool progress, json_t **final)
{
	struct cli_progress p = { 0, cli_mono() };

	*final = NULL;
	for (bool first = true;; first = false) {
		json_t *res = NULL;
		json_t *args = json_pack("{s:I}", "job_id", job_id);
		/* the first answer at once: the line is there from the start */
		if (progress)
			json_object_set_new(args, "timeout", json_real(first ? 0.0 : CLI_POLL_SECONDS));
		int rc = cli_call(cli, "wait_job", args, &res);
		if (rc != CLI_OK) {
			cli_progress_end(&p);
			return rc;
		}
		if (json_is_true(json_object_get(res, "done")) || !json_is_object(res)) {
			cli_progress_end(&p);
			*final = res;
			return CLI_OK;
		}
		if (progress)
			cli_progress_show(&p, json_object_get(res, "job"));
		json_decref(res);
	}
}

/* Did the daemon refuse no_wait as an argument it does not know? */
static bool cli_no_wait_unknown(int code, const json_t *error)
{
	const char *msg = json_string_value(json_object_get(error, "message"));
	return code == -EINVAL && msg && strstr(msg, "'no_wait'");
}

int cli_cmd_run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args, *res = NULL, *error = NULL;
	bool dry = false, no_wait = false;
	int rc = CLI_OK, code = 0, first;

	first = cli_parse(cli, cmd, argc, argv, 0, 1, &p, &rc);
	if (first < 0)
		return rc;
	for (size_t i = 0; i < p.n; i++) {
		dry |= p.key[i] == OPT_DRY_RUN;
		no_wait |= p.key[i] == OPT_NO_WAIT;
	}
	bool progress = !no_wait && !cli->json && cli_term_ok(STDERR_FILENO);
	args = json_pack("{s:b}", "dry_run", dry);
	if (first < argc)
		json_object_set_new(args, "id", json_string(argv[first]));
	if (no_wait || progress)
		json_object_set_new(args, "no_wait", json_true());
	rc = cli_call_quiet(cli, "run_cleanup", json_incref(args), &res, &code, &error);
	if (error && progress && cli_no_wait_unknown(code, error)) {
		/* an older daemon: the plain call, without progress */
		json_decref(error);
		json_object_del(args, "no_wait");
		progress = false;
		rc = cli_call_quiet(cli, "run_cleanup", json_incref(args), &res, &code, &error);
	}
	json_decref(args);
	if (error) {
		rc = cli_print_daemon_error(cli, "run_cleanup", code, error);
		json_decref(error);
		return rc;
	}
	if (rc != CLI_OK)
		return rc;
	if (no_wait && !cli_reply_report(res)) {
		if (cli->json)
			cli_print_json(res);
		else
			printf("%" JSON_INTEGER_FORMAT "\n", cli_int(res, "job_id"));
		json_decref(res);
		return CLI_OK;
	}
	if (progress && !cli_reply_report(res)) {
		json_int_t job_id = cli_int(res, "job_id");
		json_decref(res);
		rc = cli_job_wait(cli, job_id, true, &res);
		if (rc != CLI_OK)
			return rc;
	}
	rc = cli_show_final(cli, res);
	json_decref(res);
	return rc;
}

int cli_cmd_wait(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *res = NULL;
	uint64_t id;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	if (hk_parse_u64(argv[first], &id) < 0 || id == 0 || id > INT64_MAX) {
		cli_err(cli, "'%s' is not a job id (a positive integer, as run --no-wait prints)",
			argv[first]);
		return CLI_EUSAGE;
	}
	rc = cli_job_wait(cli, (json_int_t)id, !cli->json && cli_term_ok(STDERR_FILENO), &res);
	if (rc != CLI_OK)
		return rc;
	rc = cli_show_final(cli, res);
	json_decref(res);
	return rc;
}

/* Job table ------------------------------------------------------------------- */

/* A job's job[key] (its trigger), marked when it was a dry run. */
static char *cli_job_trigger(const struct cli *cli, const json_t *job, const char *key)
{
	const char *trigger = json_string_value(json_object_get(job, key));
	return hk_xasprintf("%s%s", trigger ? trigger : "-",
			    json_is_true(json_object_get(job, "dry_run")) ? " (dry run)" : "");
}

/* Seconds from start to finish, "running" when it has not finished. */
static char *cli_job_duration(const struct cli *cli, const json_t *job, const char *key)
{
	const json_t *start = json_object_get(job, "started"), *end = json_object_get(job, "finished");

	if (json_is_number(start) && json_is_number(end))
		return hk_xasprintf("%.0fs", json_number_value(end) - json_number_value(start));
	if (json_is_number(start))
		return hk_xasprintf("%.0fs so far", (double)time(NULL) - json_number_value(start));
	return hk_xstrdup("-");
}

/* Registrations done/total while the job is queued or running; what did
 * not go well once it ended. */
static char *cli_job_progress(const struct cli *cli, const json_t *job, const char *key)
{
	const char *outcome = json_string_value(json_object_get(job, "outcome"));
	bool live = outcome && (strcmp(outcome, "queued") == 0 || strcmp(outcome, "running") == 0);
	json_int_t errors = cli_int(job, "errors"), waiting = cli_int(job, "waiting");
	json_int_t not_run = cli_int(job, "not_run");

	if (live && json_object_get(job, "registrations_total"))
		return hk_xasprintf("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " regs, %"
				    JSON_INTEGER_FORMAT " files examined",
				    cli_int(job, "registrations_done"),
				    cli_int(job, "registrations_total"), cli_int(job, "scanned"));
	if (live)
		return hk_xstrdup("-");
	struct hk_buf b = { 0 };
	if (errors)
		hk_buf_printf(&b, "%" JSON_INTEGER_FORMAT " error%s", errors, errors == 1 ? "" : "s");
	if (waiting)
		hk_buf_printf(&b, "%s%" JSON_INTEGER_FORMAT " waiting", b.len ? ", " : "", waiting);
	if (not_run)
		hk_buf_printf(&b, "%s%" JSON_INTEGER_FORMAT " not run", b.len ? ", " : "", not_run);
	if (!b.data)
		hk_buf_append(&b, "-", 2);
	return b.data;
}

/* The registration a job is about: its name, else its id; "all" for a
 * job of every registration. */
static char *cli_job_reg(const struct cli *cli, const json_t *job, const char *key)
{
	const char *name = json_string_value(json_object_get(job, "registration_name"));
	const char *id = json_string_value(json_object_get(job, key));
	return hk_xstrdup(name ? name : id ? id : "all");
}

static const struct cli_column cli_jobs_columns[] = {
	{ "JOB", "job_id", cli_num, 0 },
	{ "TRIGGER", "trigger", cli_job_trigger, 0 },
	{ "REGISTRATION", "registration_id", cli_job_reg, 8 },
	{ "OUTCOME", "outcome", cli_num, 0 },
	{ "STARTED", "started", cli_reltime, 0 },
	{ "DURATION", NULL, cli_job_duration, 0 },
	{ "DELETED", "deleted", cli_num, 0 },
	{ "SIZE", "bytes", cli_size, 0 },
	{ "PROGRESS / PROBLEMS", NULL, cli_job_progress, 10 },
};

static void cli_show_jobs(const struct cli *cli, const json_t *res)
{
	cli_table_show(cli, res, cli_jobs_columns, HK_ARRAY_SIZE(cli_jobs_columns), "no jobs");
}

int cli_cmd_jobs(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args = json_object();
	int rc = CLI_OK;

	if (cli_parse(cli, cmd, argc, argv, 0, 0, &p, &rc) < 0)
		goto out;
	for (size_t i = 0; i < p.n; i++) {
		uint64_t n;
		if (p.key[i] != OPT_LIMIT)
			continue;
		if (hk_parse_u64(p.val[i], &n) < 0 || n == 0 || n > INT32_MAX) {
			cli_err(cli, "--limit '%s': expected a positive count", p.val[i]);
			rc = CLI_EUSAGE;
			goto out;
		}
		json_object_set_new(args, "limit", json_integer((json_int_t)n));
	}
	if (json_object_size(args) == 0) {
		/* the plain call, which every daemon knows */
		json_decref(args);
		args = NULL;
	}
	rc = cli_call_show(cli, "jobs", args, cli_show_jobs);
	args = NULL;
out:
	json_decref(args);
	return rc;
}
