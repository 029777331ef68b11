/*
 * housekeeperctl.c - the control CLI (SPEC 9): one subcommand per
 * operation of the control protocol, sent with libhousekeeper's hk_call.
 *
 * Output: human tables by default (sizes in KiB/MiB/GiB unless --bytes,
 * times relative to now, colour only on a terminal and never with
 * NO_COLOR); --json prints the daemon's result as is (snake_case fields,
 * lists as JSON arrays). Exit codes: 0 ok, 1 error reported by the daemon
 * or a job that failed (any deletion error), 2 usage error, 3 daemon not
 * reachable (never for a slow job). Shared parts in cli.c, the job
 * commands (run, wait, jobs) and their progress in cli_jobs.c.
 *
 * Socket: -s, else $HOUSEKEEPER_SOCKET, else [daemon] control_socket of
 * the config (-c, default $sysconfdir/housekeeper/housekeeper.conf; a
 * missing file is fine), else the compiled-in default.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "housekeeper.h"
#include "proto.h"
#include "units.h"
#include "util.h"

#define CLI_REG_OPTIONS \
	{ "pattern", required_argument, NULL, OPT_PATTERN }, \
	{ "exclude", required_argument, NULL, OPT_EXCLUDE }, \
	{ "retention", required_argument, NULL, OPT_RETENTION }, \
	{ "max-files", required_argument, NULL, OPT_MAX_FILES }, \
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE }, \
	{ "priority", required_argument, NULL, OPT_PRIORITY }, \
	{ "description", required_argument, NULL, OPT_DESCRIPTION }, \
	{ "recursive", no_argument, NULL, OPT_RECURSIVE }, \
	{ "no-recursive", no_argument, NULL, OPT_NO_RECURSIVE }, \
	{ "age-by", required_argument, NULL, OPT_AGE_BY }, \
	{ "schedule", required_argument, NULL, OPT_SCHEDULE }, \
	{ "name", required_argument, NULL, OPT_NAME }, \
	{ "min-free", required_argument, NULL, OPT_MIN_FREE }, \
	{ "free-target", required_argument, NULL, OPT_FREE_TARGET }, \
	{ "low-watermark", required_argument, NULL, OPT_LOW_WATERMARK }, \
	{ "skip-open", no_argument, NULL, OPT_SKIP_OPEN }, \
	{ "no-skip-open", no_argument, NULL, OPT_NO_SKIP_OPEN }, \
	{ "unit", required_argument, NULL, OPT_UNIT }, \
	{ "remove-empty-dirs", no_argument, NULL, OPT_REMOVE_EMPTY_DIRS }, \
	{ "no-remove-empty-dirs", no_argument, NULL, OPT_NO_REMOVE_EMPTY_DIRS }

static const struct option cli_reg_longopts[] = { CLI_REG_OPTIONS, { NULL, 0, NULL, 0 } };

/* --min-free/--free-target/--low-watermark: checked here, sent as the
 * configuration writes them ("10%", "2G"); "none" is null (no floor, or
 * the default). */
static int cli_reg_share(json_t *args, const char *key, const char *v, bool space, char **cause)
{
	struct hk_space sp;
	unsigned pct;

	if (strcmp(v, "none") == 0)
		return json_object_set_new(args, key, json_null());
	if ((space ? hk_space_parse(v, &sp, cause) : hk_percent_parse(v, &pct, cause)) < 0)
		return -1;
	return json_object_set_new(args, key, json_string(v));
}

/* Registration options into JSON args; CLI_EUSAGE on a bad value. Values
 * use the configuration's grammar (units required: "30d", "500M"). */
static int cli_reg_args(const struct cli *cli, const struct cli_parsed *p, json_t *args)
{
	json_t *ex = NULL;
	char *cause = NULL;
	const char *optname = "";

	for (size_t i = 0; i < p->n; i++) {
		const char *v = p->val[i];
		for (size_t k = 0; k < HK_ARRAY_SIZE(cli_reg_longopts); k++)
			if (cli_reg_longopts[k].name && cli_reg_longopts[k].val == p->key[i])
				optname = cli_reg_longopts[k].name;
		switch (p->key[i]) {
		case OPT_PATTERN:
			hk_proto_set_bytes(args, "pattern", v, strlen(v));
			break;
		case OPT_NAME:
			hk_proto_set_bytes(args, "name", v, strlen(v));
			break;
		case OPT_EXCLUDE:
			if (!ex) {
				ex = json_array();
				json_object_set_new(args, "exclude", ex);
			}
			if (json_array_append_new(ex, json_string(v)) < 0) {
				cause = hk_xasprintf("--exclude '%s': not valid UTF-8", v);
				goto bad;
			}
			break;
		case OPT_RETENTION: {
			int64_t sec;
			if (hk_duration_parse(v, false, &sec, &cause) < 0)
				goto bad;
			json_object_set_new(args, "retention", json_integer(sec));
			break;
		}
		case OPT_MAX_SIZE: {
			uint64_t b;
			if (hk_size_parse(v, false, &b, &cause) < 0)
				goto bad;
			json_object_set_new(args, "max_size", json_integer(b > INT64_MAX ? INT64_MAX : (json_int_t)b));
			break;
		}
		case OPT_MAX_FILES: {
			uint64_t n;
			if (hk_parse_u64(v, &n) < 0 || n > UINT32_MAX) {
				cause = hk_xasprintf("'%s' is not a count (0..%" PRIu32 ")", v, UINT32_MAX);
				goto bad;
			}
			json_object_set_new(args, "max_files", json_integer((json_int_t)n));
			break;
		}
		case OPT_PRIORITY: {
			long n;
			if (hk_parse_int(v, -HK_CONFIG_MAX_PRIORITY, HK_CONFIG_MAX_PRIORITY, &n) < 0) {
				cause = hk_xasprintf("'%s' is not an integer in %ld..%ld", v,
						     -HK_CONFIG_MAX_PRIORITY, HK_CONFIG_MAX_PRIORITY);
				goto bad;
			}
			json_object_set_new(args, "priority", json_integer(n));
			break;
		}
		case OPT_DESCRIPTION:
			hk_proto_set_bytes(args, "description", v, strlen(v));
			break;
		case OPT_RECURSIVE:
			json_object_set_new(args, "recursive", json_true());
			break;
		case OPT_NO_RECURSIVE:
			json_object_set_new(args, "recursive", json_false());
			break;
		case OPT_AGE_BY:
			json_object_set_new(args, "age_by", json_string(v));
			break;
		case OPT_SCHEDULE:
			json_object_set_new(args, "schedule", json_string(v));
			break;
		case OPT_MIN_FREE:
		case OPT_FREE_TARGET:
		case OPT_LOW_WATERMARK:
			if (cli_reg_share(args, p->key[i] == OPT_MIN_FREE ? "min_free"
					  : p->key[i] == OPT_FREE_TARGET ? "free_target"
					  : "low_watermark", v, p->key[i] != OPT_LOW_WATERMARK,
					  &cause) < 0)
				goto bad;
			break;
		case OPT_SKIP_OPEN:
		case OPT_NO_SKIP_OPEN:
			json_object_set_new(args, "skip_open", json_boolean(p->key[i] == OPT_SKIP_OPEN));
			break;
		case OPT_UNIT:
			if (strcmp(v, "file") != 0 && strcmp(v, "directory") != 0) {
				cause = hk_xasprintf("'%s': use file or directory", v);
				goto bad;
			}
			json_object_set_new(args, "unit", json_string(v));
			break;
		case OPT_REMOVE_EMPTY_DIRS:
		case OPT_NO_REMOVE_EMPTY_DIRS:
			json_object_set_new(args, "remove_empty_dirs",
					    json_boolean(p->key[i] == OPT_REMOVE_EMPTY_DIRS));
			break;
		default:
			break;
		}
	}
	return CLI_OK;
bad:
	cli_err(cli, "--%s: %s", optname, cause ? cause : "invalid value");
	free(cause);
	return CLI_EUSAGE;
}

#define CLI_REG_HELP \
	"  --pattern P        fnmatch(3) pattern on file names (default *)\n" \
	"  --exclude G        glob never deleted (repeatable)\n" \
	"  --retention D      age limit: 30d, 12h, 90m, 1w 2d (0 = none);\n" \
	"                     units s, m or min, h, d, w (no months: 30d)\n" \
	"  --max-files N      keep the newest N files\n" \
	"  --max-size S       keep the total under S: 500M, 2G (K M G T, 1024-based)\n" \
	"  --priority N       lower runs first (default 100)\n" \
	"  --description T    free text\n" \
	"  --recursive        also files in subdirectories (--no-recursive: not)\n" \
	"  --age-by LIST      mtime, atime, ctime or a list (the newest counts)\n" \
	"  --schedule CRON    own sweep schedule, 5 cron fields\n" \
	"  --name NAME        a name for the registration\n" \
	"  --min-free S|N%    free-space floor of the filesystem: 2G or 10% (none: no floor)\n" \
	"  --free-target S|N% once below --min-free, delete until this is free\n" \
	"  --low-watermark N% once max-files/max-size is exceeded, trim to N% of it\n" \
	"  --skip-open        keep files any process holds open (--no-skip-open: not)\n" \
	"  --unit U           file, or directory: each matching subdirectory is one unit\n" \
	"  --remove-empty-dirs  with --recursive: remove empty subdirectories\n"

/* Commands ------------------------------------------------------------------- */

static void cli_show_registered(const struct cli *cli, const json_t *res)
{
	printf("%s\n", json_string_value(json_object_get(res, "id")) ?: "?");
}

static int cli_cmd_register(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args;
	char *dir = NULL;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	if (argv[first][0] != '/') {
		dir = realpath(argv[first], NULL);
		if (!dir) {
			cli_err(cli, "%s: %s", argv[first], strerror(errno));
			return CLI_EUSAGE;
		}
	} else {
		dir = hk_xstrdup(argv[first]);
		for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
			dir[n - 1] = '\0';
	}
	args = json_object();
	hk_proto_set_bytes(args, "directory", dir, strlen(dir));
	free(dir);
	if ((rc = cli_reg_args(cli, &p, args)) != CLI_OK) {
		json_decref(args);
		return rc;
	}
	return cli_call_show(cli, "register_cleanup", args, cli_show_registered);
}

static int cli_cmd_update(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	if (p.n == 0) {
		cli_err(cli, "nothing to change; give at least one option");
		return CLI_EUSAGE;
	}
	args = json_pack("{s:s}", "id", argv[first]);
	if ((rc = cli_reg_args(cli, &p, args)) != CLI_OK) {
		json_decref(args);
		return rc;
	}
	return cli_call_show(cli, "update_cleanup_config", args, NULL);
}

static int cli_cmd_remove(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	return cli_call_show(cli, "remove_cleanup_config", json_pack("{s:s}", "id", argv[first]), NULL);
}

/* Commands with no operand whose result is printed by show. */
static int cli_simple(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
		      const char *op, cli_show_fn show)
{
	struct cli_parsed p;
	int rc = CLI_OK;

	if (cli_parse(cli, cmd, argc, argv, 0, 0, &p, &rc) < 0)
		return rc;
	return cli_call_show(cli, op, NULL, show);
}

/* The keys of SPEC 5's later limits that differ from their defaults, as
 * the configuration writes them: "min_free=10% low_watermark=80%"; "-"
 * when none does. */
static char *cli_list_more(const struct cli *cli, const json_t *reg, const char *key)
{
	static const char *const keys[] = { "min_free", "free_target", "low_watermark",
					    "skip_open", "unit", "remove_empty_dirs" };
	struct hk_buf b = { 0 };

	for (size_t i = 0; i < HK_ARRAY_SIZE(keys); i++) {
		const json_t *v = json_object_get(reg, keys[i]);
		const char *s = json_string_value(v);
		if (json_is_true(v))
			hk_buf_printf(&b, "%s%s=yes", b.len ? " " : "", keys[i]);
		else if (s && strcmp(s, "100%") != 0 && strcmp(s, "file") != 0)
			hk_buf_printf(&b, "%s%s=%s", b.len ? " " : "", keys[i], s);
	}
	if (!b.len)
		return hk_xstrdup("-");
	hk_buf_append(&b, "", 1);
	return b.data;
}

/* list keeps every cell whole (full ids and paths, for grep and copying):
 * status is the table that fits 100 columns. */
static const struct cli_column cli_list_columns[] = {
	{ "ID", "id", cli_num, 0 },
	{ "NAME", "name", cli_bytes, 0 },
	{ "SOURCE", "source", cli_num, 0 },
	{ "DIRECTORY", "directory", cli_bytes, 0 },
	{ "PATTERN", "pattern", cli_bytes, 0 },
	{ "RETENTION", "retention", cli_duration, 0 },
	{ "MAX FILES", "max_files", cli_num, 0 },
	{ "MAX SIZE", "max_size", cli_size, 0 },
	{ "PRIO", "priority", cli_num, 0 },
	{ "LAST RUN", "last_run", cli_reltime, 0 },
	{ "MORE", NULL, cli_list_more, 0 },
};

static void cli_show_list(const struct cli *cli, const json_t *res)
{
	cli_table_show(cli, res, cli_list_columns, HK_ARRAY_SIZE(cli_list_columns), "no registrations");
}

static int cli_cmd_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "get_cleanup_configs", cli_show_list);
}

/* A value and its limit in one cell: "3/10", "1.2 MiB/2.0 MiB"; the value
 * alone when there is no limit. */
static char *cli_with_limit(char *value, char *limit)
{
	char *cell = strcmp(limit, "-") == 0 ? hk_xstrdup(value)
					     : hk_xasprintf("%s/%s", value, limit);
	free(value);
	free(limit);
	return cell;
}

static char *cli_status_files(const struct cli *cli, const json_t *reg, const char *key)
{
	return cli_with_limit(cli_num(cli, reg, "files"), cli_num(cli, reg, "max_files"));
}

static char *cli_status_size(const struct cli *cli, const json_t *reg, const char *key)
{
	return cli_with_limit(cli_size(cli, reg, "bytes"), cli_size(cli, reg, "max_size"));
}

/* The oldest file's age and the age limit: "5d/30d". */
static char *cli_status_age(const struct cli *cli, const json_t *reg, const char *key)
{
	const json_t *oldest = json_object_get(reg, "oldest");
	char *age = json_is_integer(oldest)
			    ? cli_span((int64_t)time(NULL) - json_integer_value(oldest))
			    : hk_xstrdup("-");
	return cli_with_limit(age, cli_duration(cli, reg, "retention"));
}

/* When the first limit is reached at the rate files come in (the
 * forecast of seconds_to_size_limit and seconds_to_files_limit). */
static char *cli_status_full(const struct cli *cli, const json_t *reg, const char *key)
{
	const json_t *sz = json_object_get(reg, "seconds_to_size_limit");
	const json_t *nf = json_object_get(reg, "seconds_to_files_limit");
	json_int_t t = -1;

	if (json_is_integer(sz))
		t = json_integer_value(sz);
	if (json_is_integer(nf) && (t < 0 || json_integer_value(nf) < t))
		t = json_integer_value(nf);
	if (t < 0)
		return hk_xstrdup("-");
	char *span = cli_span(t), *cell = strcmp(span, "now") == 0 ? span : hk_xasprintf("in %s", span);
	if (cell != span)
		free(span);
	return cell;
}

/* The registration's state; "?" from a daemon that does not say. A count
 * while the state is "scanning" is partial. */
static char *cli_status_state(const struct cli *cli, const json_t *reg, const char *key)
{
	const char *st = json_string_value(json_object_get(reg, "state"));
	return hk_xstrdup(st ? st : "?");
}

/* Ghost bytes (deleted files still held open), "-" before the daemon
 * counted them, with "?" when the count could not see every process. */
static char *cli_status_ghost(const struct cli *cli, const json_t *reg, const char *key)
{
	if (!json_is_integer(json_object_get(reg, "ghost_bytes")))
		return hk_xstrdup("-");
	char *size = cli_size(cli, reg, "ghost_bytes");
	if (!json_is_true(json_object_get(reg, "ghost_bytes_incomplete")))
		return size;
	char *cell = hk_xasprintf("%s?", size);
	free(size);
	return cell;
}

/* status fits 100 columns (cli->width): a limit beside its value, times
 * coarse, the name and the directory cut first. */
static const struct cli_column cli_status_columns[] = {
	{ "NAME", "id", cli_name_or_id, 8 },
	{ "STATE", "state", cli_status_state, 0 },
	{ "FILES", NULL, cli_status_files, 0 },
	{ "SIZE", NULL, cli_status_size, 0 },
	{ "OLDEST", NULL, cli_status_age, 0 },
	{ "EXPIRES", "next_expiry", cli_reltime, 0 },
	{ "AT LIMIT", NULL, cli_status_full, 0 },
	{ "LAST RUN", "last_run", cli_reltime, 0 },
	{ "FREED", "reclaimed_bytes", cli_size, 0 },
	{ "GHOST", NULL, cli_status_ghost, 0 },
	{ "DIRECTORY", "directory", cli_bytes, -10 },
};

/* What the later limits of reg do right now: "812.0 KiB free, below
 * min_free: deleting for free space", "trimming to low_watermark"; NULL
 * when nothing is under way. */
static char *cli_status_now(const struct cli *cli, const json_t *reg)
{
	struct hk_buf b = { 0 };

	if (json_is_integer(json_object_get(reg, "free_bytes"))) {
		char *free_sz = cli_size(cli, reg, "free_bytes");
		hk_buf_printf(&b, "%s free%s", free_sz,
			      json_is_true(json_object_get(reg, "free_active"))
				      ? ", below min_free: deleting for free space" : "");
		free(free_sz);
	}
	if (json_is_true(json_object_get(reg, "trimming")))
		hk_buf_printf(&b, "%strimming to low_watermark", b.len ? "; " : "");
	if (!b.len)
		return NULL;
	hk_buf_append(&b, "", 1);
	return b.data;
}

/* Below the table, one line per registration that sets a later limit
 * (SPEC 5; what list's MORE column shows), and what it does right now. */
static void cli_status_limits(const struct cli *cli, const json_t *list)
{
	size_t i;
	const json_t *reg;
	bool head = false;

	json_array_foreach(list, i, reg) {
		char *more = cli_list_more(cli, reg, NULL);
		if (strcmp(more, "-") != 0) {
			char *name = cli_name_or_id(cli, reg, "id");
			char *now = cli_status_now(cli, reg);
			if (!head)
				printf("\n");
			head = true;
			printf("%.24s: %s\n", name, more);
			if (now)
				printf("  now: %s\n", now);
			free(name);
			free(now);
		}
		free(more);
	}
}

static void cli_show_status(const struct cli *cli, const json_t *res)
{
	const json_t *list = json_is_array(res) ? res : json_object_get(res, "registrations");

	if (!json_is_array(list)) {
		cli_print_json(res);
		return;
	}
	cli_table_show(cli, list, cli_status_columns, HK_ARRAY_SIZE(cli_status_columns),
		       "no registrations");
	cli_status_limits(cli, list);
}

/* The daemon line above the status table: version, uptime, config files,
 * state; within cli->width, the config path cut at its start when needed. */
static void cli_show_daemon(const struct cli *cli, const json_t *v)
{
	json_int_t up = json_integer_value(json_object_get(v, "uptime"));
	const json_t *files = json_object_get(v, "config_files");
	const char *main_file = json_string_value(json_array_get(files, 0));
	size_t n_files = json_array_size(files), width = cli->width ? cli->width : 100;
	struct hk_buf head = { 0 }, tail = { 0 };

	hk_buf_printf(&head, "housekeeperd %s, up %lldd %02lld:%02lld:%02lld",
		      json_string_value(json_object_get(v, "version")) ?: "?", (long long)(up / 86400),
		      (long long)(up / 3600 % 24), (long long)(up / 60 % 60), (long long)(up % 60));
	if (n_files > 1)
		hk_buf_printf(&tail, " (+%zu drop-in%s)", n_files - 1, n_files == 2 ? "" : "s");
	if (json_is_false(json_object_get(v, "audit_writable")))
		hk_buf_printf(&tail, ", AUDIT TRAIL NOT WRITABLE: deletions stopped");
	if (json_is_true(json_object_get(v, "read_only")))
		hk_buf_printf(&tail, ", read-only");
	else if (json_is_true(json_object_get(v, "dry_run")))
		hk_buf_printf(&tail, ", dry run");
	fputs(head.data, stdout);
	if (main_file) {
		size_t room = width > head.len + tail.len + 9 ? width - head.len - tail.len - 9 : 0;
		size_t n = strlen(main_file);
		if (room < 12)
			room = 12;
		if (n > room)
			printf(", config ..%s", main_file + n - (room - 2));
		else
			printf(", config %s", main_file);
	}
	printf("%s\n\n", tail.data ? tail.data : "");
	hk_buf_fini(&head);
	hk_buf_fini(&tail);
}

/* Is the daemon still counting ghost bytes for status (ghost_pending)? */
static bool cli_status_pending(const json_t *res)
{
	size_t i;
	const json_t *reg;
	json_array_foreach(res, i, reg)
		if (json_is_true(json_object_get(reg, "ghost_pending")))
			return true;
	return false;
}

/* A status request starts the daemon's count of ghost bytes on a thread
 * and answers at once; wait here (not in the daemon) until that count
 * ended, for at most its deadline and a little, so the status shown has
 * it. Returns the first call's exit code (its error printed). */
static int cli_status_settle(struct cli *cli)
{
	for (int tries = 0; tries < 10; tries++) {
		json_t *res = NULL;
		int rc = cli_call(cli, "status", NULL, &res);
		bool pending = rc == CLI_OK && cli_status_pending(res);
		json_decref(res);
		if (rc != CLI_OK)
			return tries ? CLI_OK : rc;
		if (!pending)
			break;
		struct timespec ts = { 0, 30 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return CLI_OK;
}

static int cli_cmd_status(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	if (argc == 1) {
		int rc = cli_status_settle(cli);
		if (rc != CLI_OK)
			return rc;
	}
	if (!cli->json && !(argc > 1 && argv[1][0] == '-')) {
		json_t *v = NULL;
		int rc = cli_call(cli, "version", NULL, &v);
		if (rc == CLI_OK && json_object_get(v, "uptime"))
			cli_show_daemon(cli, v);
		json_decref(v);
		if (rc == CLI_EUNREACH)
			return rc;   /* said once already */
	}
	return cli_simple(cli, cmd, argc, argv, "status", cli_show_status);
}

static void cli_show_reload(const struct cli *cli, const json_t *res)
{
	printf("configuration reloaded\n");
}

static int cli_cmd_reload(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "reload", cli_show_reload);
}

static int cli_cmd_metrics(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *res = NULL;
	int rc = CLI_OK;

	if (cli_parse(cli, cmd, argc, argv, 0, 0, &p, &rc) < 0)
		return rc;
	rc = cli_call(cli, "metrics", NULL, &res);
	if (rc == CLI_OK && !json_is_string(res)) {
		cli_err(cli, "the daemon's answer is not the metrics text");
		rc = CLI_EDAEMON;
	} else if (rc == CLI_OK && cli->json) {
		/* the families as a structure, not the text in a string */
		json_t *fams = cli_metrics_json(json_string_value(res));
		cli_print_json(fams);
		json_decref(fams);
	} else if (rc == CLI_OK) {
		fputs(json_string_value(res), stdout);
	}
	json_decref(res);
	return rc;
}

static void cli_show_version(const struct cli *cli, const json_t *res)
{
	printf("housekeeperd %s (protocol %" JSON_INTEGER_FORMAT ")\n",
	       json_string_value(json_object_get(res, "version")) ?: "?",
	       json_integer_value(json_object_get(res, "protocol")));
}

static int cli_cmd_version(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "version", cli_show_version);
}


static const struct cli_cmd cli_cmds[] = {
	{ "register", cli_cmd_register, "DIR [OPTIONS]",
	  "Register DIR for cleanup and print the registration id. Registering the same\n"
	  "directory and pattern again returns the same id and replaces the options: one\n"
	  "left out gets its default again (use 'update' to change single options).",
	  CLI_REG_HELP, cli_reg_longopts },
	{ "update", cli_cmd_update, "ID [OPTIONS]", "Change options of registration ID.",
	  CLI_REG_HELP, cli_reg_longopts },
	{ "remove", cli_cmd_remove, "ID", "Remove registration ID (its files stay).", NULL, NULL },
	{ "list", cli_cmd_list, NULL, "List every registration.", NULL, NULL },
	{ "run", cli_cmd_run, "[ID] [--dry-run] [--no-wait]",
	  "Clean registration ID (default: all) now and print the report; exit 1 when the\n"
	  "job failed or a deletion failed. On a terminal, progress is shown on stderr.",
	  "  --dry-run          only report what would be deleted\n"
	  "  --no-wait          print the job id at once (see 'wait JOB')\n", cli_run_longopts },
	{ "wait", cli_cmd_wait, "JOB",
	  "Wait for job JOB to end, print its report like run, exit as its outcome.",
	  NULL, NULL },
	{ "status", cli_cmd_status, NULL,
	  "Per registration: files, bytes, limits, oldest file, next expiry, last run, reclaimed.",
	  NULL, NULL },
	{ "explain", cli_cmd_explain, "PATH",
	  "Show which registrations cover PATH, and when and why it will be deleted.", NULL, NULL },
	{ "audit", cli_cmd_audit, "[--since T] [--id ID] [--limit N] [--cursor C] [--all]",
	  "Show the audit trail of deletions, oldest first, a page at a time.",
	  "  --since T          newer than T: a duration ago (2h, 7d), @EPOCH or YYYY-MM-DD [HH:MM]\n"
	  "  --id ID            of registration ID only\n"
	  "  --limit N          at most N records (default 1000, at most 10000)\n"
	  "  --cursor C         continue where the page that printed C ended\n"
	  "  --all              every page (with --json: one array of every record)\n",
	  cli_audit_longopts },
	{ "jobs", cli_cmd_jobs, "[--limit N]",
	  "Show queued and running jobs with their progress, then the job history.",
	  "  --limit N          at most N jobs\n", cli_jobs_longopts },
	{ "reload", cli_cmd_reload, NULL, "Reload the configuration (like SIGHUP).", NULL, NULL },
	{ "metrics", cli_cmd_metrics, NULL,
	  "Print the metrics in Prometheus text format; with --json, an array of metric\n"
	  "families: {name, type, help, samples: [{labels, value}]}.", NULL, NULL },
	{ "version", cli_cmd_version, NULL, "Print the daemon's version.", NULL, NULL },
};

static void cli_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-s SOCKET] [-c FILE] [--json] [--bytes] COMMAND [ARGS...]\n"
		"\n"
		"Control the housekeeper daemon.\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH  control socket (default: $%s, then [daemon] control_socket,\n"
		"                     then %s)\n"
		"  -c, --config FILE  configuration to read the socket from\n"
		"                     (default %s)\n"
		"      --json         machine-readable output\n"
		"      --bytes        sizes in bytes\n"
		"  -h, --help         this help; 'help COMMAND' or COMMAND --help for a command's\n"
		"  -V, --version      print the version\n"
		"\n"
		"Commands:\n",
		cli_prog, HK_SOCKET_ENV, hk_default_socket_path(), HK_SYSCONFDIR "/housekeeper.conf");
	for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
		fprintf(out, "  %-9s%s%s\n", cli_cmds[i].name, cli_cmds[i].args ? " " : "",
			cli_cmds[i].args ? cli_cmds[i].args : "");
	fprintf(out, "  %-9s [COMMAND]\n", "help");
	fprintf(out, "\nExit status: 0 ok, 1 error reported by the daemon or a job that failed\n"
		     "(any deletion error), 2 usage error, 3 daemon not reachable.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "bytes", no_argument, NULL, OPT_BYTES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	const struct cli_cmd *cmd = NULL;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': cli.socket = optarg; break;
		case 'c': cli.config = optarg; break;
		case OPT_JSON: cli.json = true; break;
		case OPT_BYTES: cli.bytes = true; break;
		case 'h': cli_usage(stdout); return CLI_OK;
		case 'V': printf("housekeeperctl %s\n", PACKAGE_VERSION); return CLI_OK;
		default:
			cli_err(NULL, "invalid option or missing value: %s", argv[optind - 1]);
			cli_usage(stderr);
			return cli_finish(&cli, CLI_EUSAGE);
		}
	}
	if (optind >= argc) {
		cli_err(NULL, "no command given");
		cli_usage(stderr);
		return cli_finish(&cli, CLI_EUSAGE);
	}
	if (strcmp(argv[optind], "help") == 0) {
		/* help [COMMAND]: one command's usage; an unknown one is a usage
		 * error, as for any command */
		if (optind + 2 < argc) {
			cli_err(NULL, "help: expected at most one command");
			return cli_finish(&cli, CLI_EUSAGE);
		}
		if (optind + 1 == argc) {
			cli_usage(stdout);
			return CLI_OK;
		}
		if (strcmp(argv[optind + 1], "help") == 0 || strcmp(argv[optind + 1], "--help") == 0 ||
		    strcmp(argv[optind + 1], "-h") == 0) {
			printf("Usage: %s help [COMMAND]\n\nPrint the usage of COMMAND, or of %s.\n",
			       cli_prog, cli_prog);
			return CLI_OK;
		}
		for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
			if (strcmp(argv[optind + 1], cli_cmds[i].name) == 0) {
				cli_usage_cmd(&cli_cmds[i], stdout);
				return CLI_OK;
			}
		cli_err(NULL, "help: unknown command '%s' (see '%s help')", argv[optind + 1],
			cli_prog);
		return cli_finish(&cli, CLI_EUSAGE);
	}
	for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
		if (strcmp(argv[optind], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (!cmd) {
		cli_err(NULL, "unknown command '%s'", argv[optind]);
		cli_usage(stderr);
		return cli_finish(&cli, CLI_EUSAGE);
	}
	cli.cmd = cmd->name;
	cli.color = cli_color_ok(STDOUT_FILENO);
	cli.width = cli_term_width();
	rc = cmd->fn(&cli, cmd, argc - optind, argv + optind);
	rc = cli_finish(&cli, rc);
	hk_disconnect(cli.client);
	free(cli.socket_resolved);
	return rc;
}
