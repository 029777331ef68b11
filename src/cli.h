/*
 * cli.h - what the parts of housekeeperctl share (src/cli.c): exit codes,
 * the command line state, calls to the daemon, formatting of JSON fields
 * and tables, option parsing; and the job commands of src/cli_jobs.c.
 */
#ifndef HK_CLI_H
#define HK_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes (SPEC 9): 1 also when a job failed or a deletion failed; 3
 * only when the daemon cannot be reached, never for a slow job. */
#define CLI_OK 0
#define CLI_EDAEMON 1
#define CLI_EUSAGE 2
#define CLI_EUNREACH 3

struct hk_client;

struct cli {
	const char *socket;
	const char *config;
	bool json;
	bool bytes;
	bool color;
	size_t width;                    /* columns a table may take (0: 100) */
	const char *cmd;                 /* the user's command ("run"), for messages */
	struct hk_client *client;
	char *socket_resolved;
};

extern const char *const cli_prog;

/* "housekeeperctl CMD: message" on stderr (CMD when cli->cmd is set). The
 * last message is kept for cli_finish. */
void cli_err(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code rc of a command, after, with --json, the error object
 * ({"error": {code, name, message}}, SPEC 9) of a failure said only by
 * cli_err (a usage error: "usage") when nothing went to stdout as JSON
 * yet, so that every failure with --json has one JSON document and the
 * same exit code. */
int cli_finish(const struct cli *cli, int rc);

/* Is fd a terminal that knows escape sequences (TERM set and not "dumb"),
 * as a progress line that redraws itself needs? */
bool cli_term_ok(int fd);
/* May output on fd be coloured: cli_term_ok, and NO_COLOR not set
 * (whatever its value)? */
bool cli_color_ok(int fd);
/* Columns for tables: $COLUMNS when it is a number, else the terminal's
 * width (TIOCGWINSZ) of stdout; never below 100 (narrower terminals wrap;
 * a table fits 100 columns, wider only when the terminal is). */
size_t cli_term_width(void);

/* Call op with args (stolen, NULL = {}). On success returns CLI_OK with
 * *result (owned); otherwise prints the error (naming the user's command,
 * not op) and returns the exit code. A job's reply (run_cleanup, wait_job)
 * is waited for without a time limit. */
int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result);
/* As cli_call, but the daemon's error is returned (*code, *error owned,
 * nothing printed) so that the caller may decide; transport errors are
 * printed as by cli_call. */
int cli_call_quiet(struct cli *cli, const char *op, json_t *args, json_t **result, int *code,
		   json_t **error);
/* Print the daemon's error object as cli_call does; returns CLI_EDAEMON. */
int cli_print_daemon_error(const struct cli *cli, const char *op, int code, const json_t *error);

void cli_print_json(const json_t *j);

typedef void (*cli_show_fn)(const struct cli *cli, const json_t *res);
/* Call op with args (stolen, NULL = {}) and print its result: as is with
 * --json, else by show (nothing when NULL). Returns the exit code. */
int cli_call_show(struct cli *cli, const char *op, json_t *args, cli_show_fn show);

/* Each formatter returns o[key] as display text owned by the caller, "-"
 * when it is missing; one signature, so a table column can name it. */
char *cli_size(const struct cli *cli, const json_t *o, const char *key);
char *cli_duration(const struct cli *cli, const json_t *o, const char *key);
char *cli_num(const struct cli *cli, const json_t *o, const char *key);
/* "3m ago", "in 2h", "-" for 0/null. */
char *cli_reltime(const struct cli *cli, const json_t *o, const char *key);
/* A span of seconds, coarse: "now" (below 5 s), "42s", "17m", "5h", "3d". */
char *cli_span(int64_t seconds);
/* A byte-string field for display: escaped, never raw control bytes. */
char *cli_bytes(const struct cli *cli, const json_t *o, const char *key);
/* A registration's name, else its id (reg[key]). */
char *cli_name_or_id(const struct cli *cli, const json_t *reg, const char *key);

/* A column: its title and how its cell is made from the row, a JSON object:
 * one of the formatters above applied to row[key], or a function of its
 * own that may read other fields. shrink: 0, the column keeps its width;
 * N > 0, it may be cut to N columns, its cells shortened at the end
 * ("name.."); N < 0, to -N columns, shortened at the start ("..r/log", for
 * paths, whose end says most). */
struct cli_column {
	const char *title;
	const char *key;
	char *(*format)(const struct cli *cli, const json_t *row, const char *key);
	int shrink;
};

/* Print rows (a JSON array of objects) under a bold header line, columns
 * aligned and the last one not padded; just none_text when there is no row.
 * A table wider than cli->width has its shrinkable columns cut to fit, the
 * one with the most to spare first. */
void cli_table_show(const struct cli *cli, const json_t *rows, const struct cli_column *cols,
		    size_t ncols, const char *none_text);

enum {
	OPT_JSON = 1000, OPT_BYTES, OPT_HELP, OPT_PATTERN, OPT_EXCLUDE, OPT_RETENTION,
	OPT_MAX_FILES, OPT_MAX_SIZE, OPT_PRIORITY, OPT_DESCRIPTION, OPT_RECURSIVE,
	OPT_NO_RECURSIVE, OPT_AGE_BY, OPT_SCHEDULE, OPT_DRY_RUN, OPT_SINCE, OPT_ID, OPT_NAME,
	OPT_NO_WAIT, OPT_LIMIT, OPT_CURSOR, OPT_ALL, OPT_MIN_FREE, OPT_FREE_TARGET,
	OPT_LOW_WATERMARK, OPT_SKIP_OPEN, OPT_NO_SKIP_OPEN, OPT_UNIT, OPT_REMOVE_EMPTY_DIRS,
	OPT_NO_REMOVE_EMPTY_DIRS,
};

struct cli_cmd;
typedef int (*cli_fn)(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);

struct cli_cmd {
	const char *name;
	cli_fn fn;
	const char *args;                /* usage after the name */
	const char *help;                /* one line */
	const char *options;             /* option help text, or NULL */
	const struct option *longopts;   /* command options besides the common ones */
};

void cli_usage_cmd(const struct cli_cmd *c, FILE *out);

/* Parse a command's options: the common ones (--json, --bytes, -s, -h)
 * plus cmd->longopts, stored into *p as (key, optarg) pairs, then check
 * that min..max operands follow. Returns the index of the first operand,
 * or -1 after printing help or a usage error (*rc set). */
struct cli_parsed {
	int key[64];
	const char *val[64];
	size_t n;
};
int cli_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv, int min,
	      int max, struct cli_parsed *p, int *rc);

/* Job commands (src/cli_jobs.c) ------------------------------------------- */

extern const struct option cli_run_longopts[];
extern const struct option cli_jobs_longopts[];
int cli_cmd_run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);
int cli_cmd_wait(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);
int cli_cmd_jobs(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);

/* A run report as text on out: one line per file, registrations that
 * failed or wait for their directory, the files left unlisted and where
 * the JSON report is, then totals. */
void cli_report_print(const struct cli *cli, const json_t *rep, FILE *out);
/* The exit code a job's reply calls for: CLI_OK when its outcome is ok and
 * no deletion failed, else CLI_EDAEMON. */
int cli_job_exit(const json_t *job, const json_t *report);
/* One progress line of job (a JOB object) after elapsed seconds, without
 * a newline, into buf. */
void cli_progress_format(const json_t *job, double elapsed, char *buf, size_t size);

/* Commands about files (src/cli_files.c) ---------------------------------- */

extern const struct option cli_audit_longopts[];
int cli_cmd_explain(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);
int cli_cmd_audit(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);

/* Metrics (src/cli_metrics.c) --------------------------------------------- */

/* The Prometheus text exposition as JSON: an array of metric families,
 * {"name", "type", "help", "samples": [{"labels": {...}, "value": N}]},
 * in the order of the text; values are integers when they are whole and
 * fit, else reals (NaN and infinities as the strings "NaN", "+Inf",
 * "-Inf"). Lines it does not understand are skipped. A new reference. */
json_t *cli_metrics_json(const char *text);

#endif /* HK_CLI_H */
