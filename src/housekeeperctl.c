/*
 * housekeeperctl.c - the control CLI (SPEC 9): one subcommand per
 * operation of the control protocol, sent with libhousekeeper's hk_call.
 *
 * Output: human tables by default (sizes in KiB/MiB/GiB unless --bytes,
 * times relative to now, colour only on a terminal and never with
 * NO_COLOR); --json prints the daemon's result as is (snake_case fields,
 * lists as JSON arrays). Exit codes: 0 ok, 1 error reported by the daemon,
 * 2 usage error, 3 daemon not reachable.
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

#include "config.h"
#include "housekeeper.h"
#include "proto.h"
#include "units.h"
#include "util.h"

#define CLI_OK 0
#define CLI_EDAEMON 1
#define CLI_EUSAGE 2
#define CLI_EUNREACH 3

struct cli {
	const char *socket;
	const char *config;
	bool json;
	bool bytes;
	bool color;
	const char *cmd;
	struct hk_client *client;
	char *socket_resolved;
};

static const char *cli_prog = "housekeeperctl";

static void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cli_err(const char *fmt, ...)
{
	va_list ap;
	bool color = isatty(STDERR_FILENO) && !getenv("NO_COLOR");

	fprintf(stderr, "%s%s:%s ", color ? "\033[1;31m" : "", cli_prog, color ? "\033[0m" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Socket and calls ------------------------------------------------------------ */

static const char *cli_socket(struct cli *cli)
{
	struct hk_config *cfg = NULL;
	struct hk_config_errors errs = { 0 };
	const char *env = getenv(HK_SOCKET_ENV);
	const char *file = cli->config ? cli->config : HK_SYSCONFDIR "/housekeeper.conf";

	if (cli->socket_resolved)
		return cli->socket_resolved;
	if (cli->socket)
		cli->socket_resolved = hk_xstrdup(cli->socket);
	else if (env && *env)
		cli->socket_resolved = hk_xstrdup(env);
	else if (access(file, F_OK) == 0 || cli->config) {
		if (hk_config_load(file, NULL, &cfg, &errs) == 0) {
			if (cfg->daemon.control_socket && *cfg->daemon.control_socket)
				cli->socket_resolved = hk_xstrdup(cfg->daemon.control_socket);
		} else if (cli->config) {
			cli_err("%s: %zu configuration error%s; using the default socket (first: %s)",
				file, errs.n, errs.n == 1 ? "" : "s", errs.n ? errs.msgs[0] : "?");
		}
		hk_config_errors_fini(&errs);
		hk_config_free(cfg);
	}
	if (!cli->socket_resolved)
		cli->socket_resolved = hk_xstrdup(hk_default_socket_path());
	return cli->socket_resolved;
}

static bool cli_unreachable(int r)
{
	return r == HK_ENODAEMON || r == -ETIMEDOUT || r == -ECONNRESET || r == -EPIPE ||
	       r == -EACCES || r == -ENAMETOOLONG || r == -ECONNREFUSED || r == -ENOENT;
}

/* Call op with args (stolen, NULL = {}). On success returns CLI_OK with
 * *result (owned); otherwise prints the error and returns the exit code. */
static int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result)
{
	char *argtext = NULL, *restext = NULL;
	json_t *res = NULL;
	int r;

	*result = NULL;
	if (!cli->client) {
		r = hk_connect(cli_socket(cli), &cli->client);
		if (r < 0) {
			cli_err("cannot reach the daemon at %s: %s%s", cli_socket(cli), hk_strerror(r),
				r == HK_ENODAEMON ? " (is housekeeperd running?)" : "");
			json_decref(args);
			return CLI_EUNREACH;
		}
	}
	if (args)
		argtext = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	r = hk_call(cli->client, op, argtext, &restext);
	free(argtext);
	if (restext)
		res = json_loads(restext, JSON_DECODE_ANY, NULL);
	free(restext);
	if (r == 0) {
		*result = res ? res : json_null();
		return CLI_OK;
	}
	if (res) {
		/* the daemon's error object */
		char *msg = NULL;
		const json_t *details = json_object_get(res, "details");
		if (hk_proto_get_bytes(res, "message", &msg, NULL) < 0)
			msg = hk_xstrdup(hk_strerror(r));
		cli_err("%s", msg);
		if (json_is_array(details)) {
			size_t i;
			const json_t *d;
			json_array_foreach(details, i, d)
				if (json_is_string(d))
					fprintf(stderr, "  %s\n", json_string_value(d));
		}
		free(msg);
		json_decref(res);
		return CLI_EDAEMON;
	}
	{
		char *msg = hk_client_last_error(cli->client);
		cli_err("%s: %s%s%s", op, hk_strerror(r), msg ? ": " : "", msg ? msg : "");
		free(msg);
	}
	return cli_unreachable(r) || r == HK_EPROTO ? CLI_EUNREACH : CLI_EDAEMON;
}

static void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
}

typedef void (*cli_show_fn)(const struct cli *cli, const json_t *res);

/* Call op with args (stolen, NULL = {}) and print its result: as is with
 * --json, else by show (nothing when NULL). Returns the exit code. */
static int cli_call_show(struct cli *cli, const char *op, json_t *args, cli_show_fn show)
{
	json_t *res = NULL;
	int rc = cli_call(cli, op, args, &res);

	if (rc == CLI_OK && cli->json)
		cli_print_json(res);
	else if (rc == CLI_OK && show)
		show(cli, res);
	json_decref(res);
	return rc;
}

/* Formatting ------------------------------------------------------------------ */

/* Each formatter returns o[key] as display text owned by the caller, "-"
 * when it is missing; one signature, so a table column can name it. */

static char *cli_size(const struct cli *cli, const json_t *o, const char *key)
{
	char buf[HK_UNITS_FORMAT_MAX];
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return hk_xstrdup("-");
	uint64_t b = json_is_integer(v) ? (uint64_t)json_integer_value(v) : (uint64_t)json_number_value(v);
	if (cli->bytes)
		return hk_xasprintf("%" PRIu64, b);
	return hk_xstrdup(hk_size_human(b, buf, sizeof(buf)));
}

static char *cli_duration(const struct cli *cli, const json_t *o, const char *key)
{
	char buf[HK_UNITS_FORMAT_MAX];
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return hk_xstrdup("-");
	return hk_xstrdup(hk_duration_format(json_integer_value(v), buf, sizeof(buf)));
}

static char *cli_num(const struct cli *cli, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return hk_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return hk_xasprintf("%.1f", json_real_value(v));
	if (json_is_boolean(v))
		return hk_xstrdup(json_is_true(v) ? "yes" : "no");
	if (json_is_string(v))
		return hk_xstrdup(json_string_value(v));
	return hk_xstrdup("-");
}

/* "3m ago", "in 2h", "-" for 0/null. */
static char *cli_reltime(const struct cli *cli, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	double t = json_is_number(v) ? json_number_value(v) : 0;
	double d;
	int64_t a;
	const char *unit;

	if (t <= 0)
		return hk_xstrdup("-");
	d = t - (double)time(NULL);
	a = (int64_t)(d < 0 ? -d : d);
	if (a < 5)
		return hk_xstrdup("now");
	if (a < 120)
		unit = "s";
	else if ((a /= 60) < 120)
		unit = "m";
	else if ((a /= 60) < 48)
		unit = "h";
	else
		a /= 24, unit = "d";
	return d < 0 ? hk_xasprintf("%" PRId64 "%s ago", a, unit) : hk_xasprintf("in %" PRId64 "%s", a, unit);
}

/* A byte-string field for display: escaped, never raw control bytes. */
static char *cli_bytes(const struct cli *cli, const json_t *o, const char *key)
{
	char *raw = NULL;
	size_t len = 0;
	struct hk_buf b = { 0 };

	if (hk_proto_get_bytes(o, key, &raw, &len) < 0)
		return hk_xstrdup("-");
	hk_buf_append_escaped(&b, raw, len);
	free(raw);
	if (!b.data)
		hk_buf_append(&b, "", 0);
	return b.data;
}

/* Tables ---------------------------------------------------------------------- */

/* A column: its title and how its cell is made from the row, a JSON object:
 * one of the formatters above applied to row[key], or a function of its
 * own that may read other fields. */
struct cli_column {
	const char *title;
	const char *key;
	char *(*format)(const struct cli *cli, const json_t *row, const char *key);
};

/* Print rows (a JSON array of objects) under a bold header line, columns
 * aligned and the last one not padded; just none_text when there is no row. */
static void cli_table_show(const struct cli *cli, const json_t *rows, const struct cli_column *cols,
			   size_t ncols, const char *none_text)
{
	size_t nrows = json_array_size(rows) + 1;   /* with the header */
	char **cells = NULL;
	size_t *w = NULL;
	size_t i;
	const json_t *row;

	if (nrows == 1) {
		printf("%s\n", none_text);
		return;
	}
	cells = hk_xreallocarray(NULL, nrows * ncols, sizeof(*cells));
	w = hk_xcalloc(ncols, sizeof(*w));
	for (size_t c = 0; c < ncols; c++)
		cells[c] = hk_xstrdup(cols[c].title);
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++)
			cells[(i + 1) * ncols + c] = cols[c].format(cli, row, cols[c].key);
	for (i = 0; i < nrows * ncols; i++)
		if (strlen(cells[i]) > w[i % ncols])
			w[i % ncols] = strlen(cells[i]);
	for (size_t r = 0; r < nrows; r++) {
		if (r == 0 && cli->color)
			fputs("\033[1m", stdout);
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			if (c + 1 == ncols)
				fputs(s, stdout);
			else
				printf("%-*s  ", (int)w[c], s);
		}
		if (r == 0 && cli->color)
			fputs("\033[0m", stdout);
		fputc('\n', stdout);
	}
	for (i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(w);
}

/* Options ------------------------------------------------------------------ */

enum {
	OPT_JSON = 1000, OPT_BYTES, OPT_HELP, OPT_PATTERN, OPT_EXCLUDE, OPT_RETENTION,
	OPT_MAX_FILES, OPT_MAX_SIZE, OPT_PRIORITY, OPT_DESCRIPTION, OPT_RECURSIVE,
	OPT_NO_RECURSIVE, OPT_AGE_BY, OPT_SCHEDULE, OPT_DRY_RUN, OPT_SINCE, OPT_ID, OPT_NAME,
	OPT_AUDIT_LIMIT, OPT_CURSOR, OPT_ALL,
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

static void cli_usage_cmd(const struct cli_cmd *c, FILE *out)
{
	fprintf(out, "Usage: %s [-s SOCKET] [--json] [--bytes] %s%s%s\n\n%s\n", cli_prog, c->name,
		c->args ? " " : "", c->args ? c->args : "", c->help);
	if (c->options)
		fprintf(out, "\nOptions:\n%s", c->options);
}

/* Parse a command's options: the common ones (--json, --bytes, -s, -h)
 * plus cmd->longopts, stored into *p as (key, optarg) pairs, then check
 * that min..max operands follow. Returns the index of the first operand,
 * or -1 after printing help or a usage error (*rc set). */
struct cli_parsed {
	int key[64];
	const char *val[64];
	size_t n;
};

static int cli_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv, int min,
		     int max, struct cli_parsed *p, int *rc)
{
	struct option opts[40];
	size_t n = 0;
	int c;

	opts[n++] = (struct option){ "json", no_argument, NULL, OPT_JSON };
	opts[n++] = (struct option){ "bytes", no_argument, NULL, OPT_BYTES };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[n++] = (struct option){ "socket", required_argument, NULL, 's' };
	for (size_t i = 0; cmd->longopts && cmd->longopts[i].name && n < HK_ARRAY_SIZE(opts) - 1; i++)
		opts[n++] = cmd->longopts[i];
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	p->n = 0;
	optind = 0;   /* glibc: 0 re-initializes the scanner for a new argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: cli->json = true; break;
		case OPT_BYTES: cli->bytes = true; break;
		case 's': cli->socket = optarg; break;
		case 'h':
		case OPT_HELP:
			cli_usage_cmd(cmd, stdout);
			*rc = CLI_OK;
			return -1;
		case '?':
		case ':':
			if (optopt)
				cli_err("%s: invalid option or missing value: -%c", cmd->name, optopt);
			else
				cli_err("%s: invalid option or missing value: %s", cmd->name, argv[optind - 1]);
			fprintf(stderr, "Try '%s %s --help'.\n", cli_prog, cmd->name);
			*rc = CLI_EUSAGE;
			return -1;
		default:
			if (p->n == HK_ARRAY_SIZE(p->key)) {
				cli_err("%s: too many options", cmd->name);
				*rc = CLI_EUSAGE;
				return -1;
			}
			p->key[p->n] = c;
			p->val[p->n++] = optarg;
			break;
		}
	}
	if (argc - optind < min || argc - optind > max) {
		cli_err("%s: expected %s", cmd->name, cmd->args ? cmd->args : "no operand");
		fprintf(stderr, "Try '%s %s --help'.\n", cli_prog, cmd->name);
		*rc = CLI_EUSAGE;
		return -1;
	}
	return optind;
}

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
	{ "name", required_argument, NULL, OPT_NAME }

static const struct option cli_reg_longopts[] = { CLI_REG_OPTIONS, { NULL, 0, NULL, 0 } };

/* Registration options into JSON args; CLI_EUSAGE on a bad value. Values
 * use the configuration's grammar (units required: "30d", "500M"). */
static int cli_reg_args(const struct cli_cmd *cmd, const struct cli_parsed *p, json_t *args)
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
		default:
			break;
		}
	}
	return CLI_OK;
bad:
	cli_err("%s: --%s: %s", cmd->name, optname, cause ? cause : "invalid value");
	free(cause);
	return CLI_EUSAGE;
}

#define CLI_REG_HELP \
	"  --pattern P        fnmatch(3) pattern on file names (default *)\n" \
	"  --exclude G        glob never deleted (repeatable)\n" \
	"  --retention D      age limit: 30d, 12h, 1w 2d (0 = none)\n" \
	"  --max-files N      keep the newest N files\n" \
	"  --max-size S       keep the total under S: 500M, 2G\n" \
	"  --priority N       lower runs first (default 100)\n" \
	"  --description T    free text\n" \
	"  --recursive        also files in subdirectories (--no-recursive: not)\n" \
	"  --age-by LIST      mtime, atime, ctime or a list (the newest counts)\n" \
	"  --schedule CRON    own sweep schedule, 5 cron fields\n" \
	"  --name NAME        a name for the registration\n"

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
			cli_err("%s: %s", argv[first], strerror(errno));
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
	if ((rc = cli_reg_args(cmd, &p, args)) != CLI_OK) {
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
		cli_err("update: nothing to change; give at least one option");
		return CLI_EUSAGE;
	}
	args = json_pack("{s:s}", "id", argv[first]);
	if ((rc = cli_reg_args(cmd, &p, args)) != CLI_OK) {
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

/* A registration's name, else its id (reg[key]). */
static char *cli_name_or_id(const struct cli *cli, const json_t *reg, const char *key)
{
	const char *name = json_string_value(json_object_get(reg, "name"));
	const char *id = json_string_value(json_object_get(reg, key));
	return hk_xstrdup(name ? name : id ? id : "-");
}

static const struct cli_column cli_list_columns[] = {
	{ "ID", "id", cli_num },
	{ "NAME", "name", cli_bytes },
	{ "SOURCE", "source", cli_num },
	{ "DIRECTORY", "directory", cli_bytes },
	{ "PATTERN", "pattern", cli_bytes },
	{ "RETENTION", "retention", cli_duration },
	{ "MAX FILES", "max_files", cli_num },
	{ "MAX SIZE", "max_size", cli_size },
	{ "PRIO", "priority", cli_num },
	{ "LAST RUN", "last_run", cli_reltime },
};

static void cli_show_list(const struct cli *cli, const json_t *res)
{
	cli_table_show(cli, res, cli_list_columns, HK_ARRAY_SIZE(cli_list_columns), "no registrations");
}

static int cli_cmd_list(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "get_cleanup_configs", cli_show_list);
}

/* The three limits of a registration in one cell. */
static char *cli_status_limits(const struct cli *cli, const json_t *reg, const char *key)
{
	char *age = cli_duration(cli, reg, "retention");
	char *files = cli_num(cli, reg, "max_files");
	char *size = cli_size(cli, reg, "max_size");
	char *cell = hk_xasprintf("age %s, files %s, size %s", age, files, size);

	free(age);
	free(files);
	free(size);
	return cell;
}

static const struct cli_column cli_status_columns[] = {
	{ "REGISTRATION", "id", cli_name_or_id },
	{ "DIRECTORY", "directory", cli_bytes },
	{ "FILES", "files", cli_num },
	{ "SIZE", "bytes", cli_size },
	{ "LIMITS", NULL, cli_status_limits },
	{ "OLDEST", "oldest", cli_reltime },
	{ "NEXT EXPIRY", "next_expiry", cli_reltime },
	{ "LAST RUN", "last_run", cli_reltime },
	{ "RECLAIMED", "reclaimed_bytes", cli_size },
};

static void cli_show_status(const struct cli *cli, const json_t *res)
{
	const json_t *list = json_is_array(res) ? res : json_object_get(res, "registrations");

	if (!json_is_array(list))
		cli_print_json(res);
	else
		cli_table_show(cli, list, cli_status_columns, HK_ARRAY_SIZE(cli_status_columns),
			       "no registrations");
}

/* The daemon line above the status table: version, uptime, config files,
 * state. */
static void cli_show_daemon(const json_t *v)
{
	json_int_t up = json_integer_value(json_object_get(v, "uptime"));
	const json_t *files = json_object_get(v, "config_files");
	const char *main_file = json_string_value(json_array_get(files, 0));
	size_t n_files = json_array_size(files);
	printf("housekeeperd %s, up %lldd %02lld:%02lld:%02lld", 
	       json_string_value(json_object_get(v, "version")) ?: "?", (long long)(up / 86400),
	       (long long)(up / 3600 % 24), (long long)(up / 60 % 60), (long long)(up % 60));
	if (main_file)
		printf(", config %s", main_file);
	if (n_files > 1)
		printf(" (+%zu drop-in%s)", n_files - 1, n_files == 2 ? "" : "s");
	if (json_is_false(json_object_get(v, "audit_writable")))
		printf(", AUDIT TRAIL NOT WRITABLE: deletions stopped");
	if (json_is_true(json_object_get(v, "read_only")))
		printf(", read-only");
	else if (json_is_true(json_object_get(v, "dry_run")))
		printf(", dry run");
	printf("\n\n");
}

static int cli_cmd_status(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	if (!cli->json && !(argc > 1 && argv[1][0] == '-')) {
		json_t *v = NULL;
		int rc = cli_call(cli, "version", NULL, &v);
		if (rc == CLI_OK && json_object_get(v, "uptime"))
			cli_show_daemon(v);
		json_decref(v);
		if (rc == CLI_EUNREACH)
			return rc;   /* said once already */
	}
	return cli_simple(cli, cmd, argc, argv, "status", cli_show_status);
}

/* A run report: one line per file with its reason, then totals. */
static void cli_show_report(const struct cli *cli, const json_t *rep)
{
	const json_t *files = json_object_get(rep, "files");
	const json_t *regs = json_object_get(rep, "registrations");
	const json_t *tot = json_object_get(rep, "totals");
	bool dry = json_is_true(json_object_get(rep, "dry_run"));
	size_t i;
	const json_t *o;

	json_array_foreach(files, i, o) {
		char *path = cli_bytes(cli, o, "path");
		char *size = cli_size(cli, o, "size");
		const char *outcome = json_string_value(json_object_get(o, "outcome"));
		const char *reason = json_string_value(json_object_get(o, "reason"));
		const char *err = json_string_value(json_object_get(o, "error"));
		printf("%-12s %-5s %10s  %s%s%s\n", outcome ? outcome : "?", reason ? reason : "?", size,
		       path, err ? ": " : "", err ? err : "");
		free(path);
		free(size);
	}
	json_array_foreach(regs, i, o) {
		const json_t *e = json_object_get(o, "error");
		if (json_is_string(e)) {
			char *dir = cli_bytes(cli, o, "directory");
			char *msg = cli_bytes(cli, o, "error");
			printf("error        %s: %s\n", dir, msg);
			free(dir);
			free(msg);
		}
	}
	{
		json_int_t n = json_integer_value(json_object_get(tot, "deleted"));
		char *size = cli_size(cli, tot, "bytes");
		json_int_t errors = json_integer_value(json_object_get(tot, "errors"));
		printf("total: %" JSON_INTEGER_FORMAT " file%s, %s %s (%zu registration%s, %"
		       JSON_INTEGER_FORMAT " skipped, %" JSON_INTEGER_FORMAT " error%s)\n",
		       n, n == 1 ? "" : "s", size, dry ? "would be deleted" : "deleted",
		       json_array_size(regs), json_array_size(regs) == 1 ? "" : "s",
		       json_integer_value(json_object_get(tot, "skipped")), errors,
		       errors == 1 ? "" : "s");
		free(size);
	}
}

static int cli_cmd_run(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args;
	bool dry = false;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 0, 1, &p, &rc);
	if (first < 0)
		return rc;
	for (size_t i = 0; i < p.n; i++)
		dry |= p.key[i] == OPT_DRY_RUN;
	args = json_pack("{s:b}", "dry_run", dry);
	if (first < argc)
		json_object_set_new(args, "id", json_string(argv[first]));
	return cli_call_show(cli, "run_cleanup", args, cli_show_report);
}

static void cli_show_explain(const struct cli *cli, const json_t *res)
{
	const json_t *regs = json_object_get(res, "registrations");
	char *path = cli_bytes(cli, res, "path");
	size_t i;
	const json_t *o;

	json_int_t others = json_integer_value(json_object_get(res, "other_registrations"));

	printf("%s\n", path);
	free(path);
	if (others > 0)
		printf("  covered by %" JSON_INTEGER_FORMAT " other registration%s "
		       "(shown only to their owners and root)\n", others, others == 1 ? "" : "s");
	if (!json_is_array(regs) || json_array_size(regs) == 0) {
		if (others <= 0)
			printf("  covered by no registration: never deleted\n");
		return;
	}
	json_array_foreach(regs, i, o) {
		char *id = cli_name_or_id(cli, o, "id");
		char *dir = cli_bytes(cli, o, "directory");
		char *pat = cli_bytes(cli, o, "pattern");
		char *when = cli_reltime(cli, o, "delete_at");
		const char *reason = json_string_value(json_object_get(o, "reason"));
		const char *note = json_string_value(json_object_get(o, "note"));
		printf("  %s (%s, pattern %s): %s", id, dir, pat,
		       json_is_false(json_object_get(o, "matches")) ? "does not match" :
		       json_is_true(json_object_get(o, "excluded")) ? "excluded" : "matches");
		if (reason)
			printf(", deleted by %s %s", reason, when);
		else if (strcmp(when, "-") != 0)
			printf(", deleted %s", when);
		if (note)
			printf(" (%s)", note);
		fputc('\n', stdout);
		free(id);
		free(dir);
		free(pat);
		free(when);
	}
}

static int cli_cmd_explain(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args;
	char *path = NULL;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	if (argv[first][0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			cli_err("getcwd: %s", strerror(errno));
			return CLI_EUSAGE;
		}
		path = hk_xasprintf("%s/%s", cwd, argv[first]);
	} else {
		path = hk_xstrdup(argv[first]);
	}
	args = json_object();
	hk_proto_set_bytes(args, "path", path, strlen(path));
	free(path);
	return cli_call_show(cli, "explain", args, cli_show_explain);
}

/* --since T: a duration ago ("2h", "7d"), "@EPOCH", or "YYYY-MM-DD[ HH:MM[:SS]]"
 * local time. */
static int cli_parse_since(const char *s, int64_t *out, char **cause)
{
	int64_t sec;
	struct tm tm = { 0 };
	const char *end;

	if (s[0] == '@') {
		uint64_t v;
		if (hk_parse_u64(s + 1, &v) < 0 || v > INT64_MAX) {
			*cause = hk_xasprintf("'%s': expected @EPOCH_SECONDS", s);
			return -EINVAL;
		}
		*out = (int64_t)v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end) {
		if (*end && !(end = strptime(end, " %H:%M:%S", &tm)) &&
		    !(end = strptime(s + 10, " %H:%M", &tm))) {
			*cause = hk_xasprintf("'%s': expected YYYY-MM-DD [HH:MM[:SS]]", s);
			return -EINVAL;
		}
		if (end && *end) {
			*cause = hk_xasprintf("'%s': trailing text", s);
			return -EINVAL;
		}
		tm.tm_isdst = -1;
		*out = (int64_t)mktime(&tm);
		return 0;
	}
	if (hk_duration_parse(s, false, &sec, cause) < 0)
		return -EINVAL;
	*out = (int64_t)time(NULL) - sec;
	if (*out < 0)
		*out = 0;
	return 0;
}

/* An audit record's rec[key] (its result), marked when it was a dry run. */
static char *cli_audit_result(const struct cli *cli, const json_t *rec, const char *key)
{
	char *result = cli_num(cli, rec, key);
	char *cell;

	if (!json_is_true(json_object_get(rec, "dry_run")))
		return result;
	cell = hk_xasprintf("%s (dry run)", result);
	free(result);
	return cell;
}

static const struct cli_column cli_audit_columns[] = {
	{ "TIME", "time", cli_reltime },
	{ "REGISTRATION", "registration_id", cli_num },
	{ "RESULT", "result", cli_audit_result },
	{ "REASON", "reason", cli_num },
	{ "SIZE", "size", cli_size },
	{ "PATH", "path", cli_bytes },
};

/* The audit arguments of the command line into args; false (usage error
 * printed) on a bad value. */
static bool cli_audit_args(const struct cli_parsed *p, json_t *args, bool *all)
{
	for (size_t i = 0; i < p->n; i++) {
		char *cause = NULL, *end = NULL;
		int64_t since;
		long long n;

		switch (p->key[i]) {
		case OPT_SINCE:
			if (cli_parse_since(p->val[i], &since, &cause) < 0) {
				cli_err("audit: --since %s", cause ? cause : "invalid");
				free(cause);
				return false;
			}
			json_object_set_new(args, "since", json_integer(since));
			break;
		case OPT_ID:
			json_object_set_new(args, "id", json_string(p->val[i]));
			break;
		case OPT_AUDIT_LIMIT:
			errno = 0;
			n = strtoll(p->val[i], &end, 10);
			if (errno || end == p->val[i] || *end || n < 1 || n > HK_PROTO_AUDIT_LIMIT_MAX) {
				cli_err("audit: --limit '%s': expected a number from 1 to %d", p->val[i],
					HK_PROTO_AUDIT_LIMIT_MAX);
				return false;
			}
			json_object_set_new(args, "limit", json_integer(n));
			break;
		case OPT_CURSOR:
			json_object_set_new(args, "cursor", json_string(p->val[i]));
			break;
		case OPT_ALL:
			*all = true;
			break;
		default:
			break;
		}
	}
	return true;
}

/* Fetch audit pages into *records (appended) until one has records (a
 * page of a bounded scan may have none while more follow), or, with all,
 * until the last. *cursor: where to go on (NULL: nothing more). */
static int cli_audit_fetch(struct cli *cli, json_t *args, bool all, json_t *records,
			   char **cursor)
{
	int rc = CLI_OK;

	*cursor = NULL;
	for (;;) {
		json_t *res = NULL;
		const json_t *next;

		rc = cli_call(cli, "audit", json_deep_copy(args), &res);
		if (rc != CLI_OK)
			return rc;
		next = json_object_get(res, "next_cursor");
		if (!json_is_array(json_object_get(res, "records"))) {
			cli_err("audit: the daemon's answer has no records");
			json_decref(res);
			return CLI_EDAEMON;
		}
		json_array_extend(records, json_object_get(res, "records"));
		free(*cursor);
		*cursor = json_is_string(next) ? hk_xstrdup(json_string_value(next)) : NULL;
		json_decref(res);
		if (!*cursor || (!all && json_array_size(records)))
			return CLI_OK;
		json_object_set_new(args, "cursor", json_string(*cursor));
	}
}

static int cli_cmd_audit(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args = json_object(), *records = json_array();
	const json_t *limit;
	char *cursor = NULL;
	bool all = false;
	int rc = CLI_OK;

	if (cli_parse(cli, cmd, argc, argv, 0, 0, &p, &rc) < 0)
		goto out;
	if (!cli_audit_args(&p, args, &all)) {
		rc = CLI_EUSAGE;
		goto out;
	}
	rc = cli_audit_fetch(cli, args, all, records, &cursor);
	if (rc != CLI_OK)
		goto out;
	if (cli->json && all) {
		cli_print_json(records);   /* every page: a list, as the other list commands */
		goto out;
	}
	if (cli->json) {
		json_t *page = json_pack("{s:O, s:o}", "records", records, "next_cursor",
					 cursor ? json_string(cursor) : json_null());
		cli_print_json(page);
		json_decref(page);
		goto out;
	}
	cli_table_show(cli, records, cli_audit_columns, HK_ARRAY_SIZE(cli_audit_columns),
		       "no audit records");
	limit = json_object_get(args, "limit");
	if (cursor && json_is_integer(limit))
		printf("more records follow: %s audit --limit %" JSON_INTEGER_FORMAT " --cursor %s\n",
		       cli_prog, json_integer_value(limit), cursor);
	else if (cursor)
		printf("more records follow: %s audit --cursor %s\n", cli_prog, cursor);
out:
	free(cursor);
	json_decref(records);
	json_decref(args);
	return rc;
}

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
		return hk_xasprintf("%.1fs", json_number_value(end) - json_number_value(start));
	return hk_xstrdup(json_is_number(start) ? "running" : "-");
}

static const struct cli_column cli_jobs_columns[] = {
	{ "JOB", "job_id", cli_num },
	{ "TRIGGER", "trigger", cli_job_trigger },
	{ "REGISTRATION", "registration_id", cli_num },
	{ "STARTED", "started", cli_reltime },
	{ "DURATION", NULL, cli_job_duration },
	{ "OUTCOME", "outcome", cli_num },
	{ "DELETED", "deleted", cli_num },
	{ "SIZE", "bytes", cli_size },
};

static void cli_show_jobs(const struct cli *cli, const json_t *res)
{
	cli_table_show(cli, res, cli_jobs_columns, HK_ARRAY_SIZE(cli_jobs_columns), "no jobs");
}

static int cli_cmd_jobs(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "jobs", cli_show_jobs);
}

static void cli_show_reload(const struct cli *cli, const json_t *res)
{
	printf("configuration reloaded\n");
}

static int cli_cmd_reload(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	return cli_simple(cli, cmd, argc, argv, "reload", cli_show_reload);
}

static void cli_show_text(const struct cli *cli, const json_t *res)
{
	if (json_is_string(res))
		fputs(json_string_value(res), stdout);
	else
		cli_print_json(res);
}

static int cli_cmd_metrics(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	/* the exposition format is text already: --json wraps it in a string */
	return cli_simple(cli, cmd, argc, argv, "metrics", cli_show_text);
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

static const struct option cli_run_longopts[] = {
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN }, { NULL, 0, NULL, 0 },
};
static const struct option cli_audit_longopts[] = {
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "limit", required_argument, NULL, OPT_AUDIT_LIMIT },
	{ "cursor", required_argument, NULL, OPT_CURSOR },
	{ "all", no_argument, NULL, OPT_ALL },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd cli_cmds[] = {
	{ "register", cli_cmd_register, "DIR [OPTIONS]",
	  "Register DIR for cleanup and print the registration id. Registering the same\n"
	  "directory and pattern again returns the same id and applies changed options.",
	  CLI_REG_HELP, cli_reg_longopts },
	{ "update", cli_cmd_update, "ID [OPTIONS]", "Change options of registration ID.",
	  CLI_REG_HELP, cli_reg_longopts },
	{ "remove", cli_cmd_remove, "ID", "Remove registration ID (its files stay).", NULL, NULL },
	{ "list", cli_cmd_list, NULL, "List every registration.", NULL, NULL },
	{ "run", cli_cmd_run, "[ID] [--dry-run]",
	  "Clean registration ID (default: all) now and print the report.",
	  "  --dry-run          only report what would be deleted\n", cli_run_longopts },
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
	{ "jobs", cli_cmd_jobs, NULL, "Show the job history.", NULL, NULL },
	{ "reload", cli_cmd_reload, NULL, "Reload the configuration (like SIGHUP).", NULL, NULL },
	{ "metrics", cli_cmd_metrics, NULL, "Print the metrics in Prometheus text format.", NULL, NULL },
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
		"  -h, --help         this help; COMMAND --help for a command's\n"
		"  -V, --version      print the version\n"
		"\n"
		"Commands:\n",
		cli_prog, HK_SOCKET_ENV, hk_default_socket_path(), HK_SYSCONFDIR "/housekeeper.conf");
	for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
		fprintf(out, "  %-9s%s%s\n", cli_cmds[i].name, cli_cmds[i].args ? " " : "",
			cli_cmds[i].args ? cli_cmds[i].args : "");
	fprintf(out, "\nExit status: 0 ok, 1 error reported by the daemon, 2 usage error,\n"
		     "3 daemon not reachable.\n");
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
			cli_err("invalid option or missing value: %s", argv[optind - 1]);
			cli_usage(stderr);
			return CLI_EUSAGE;
		}
	}
	if (optind >= argc) {
		cli_usage(stderr);
		return CLI_EUSAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 < argc) {
			for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
				if (strcmp(argv[optind + 1], cli_cmds[i].name) == 0) {
					cli_usage_cmd(&cli_cmds[i], stdout);
					return CLI_OK;
				}
		}
		cli_usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < HK_ARRAY_SIZE(cli_cmds); i++)
		if (strcmp(argv[optind], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (!cmd) {
		cli_err("unknown command '%s'", argv[optind]);
		cli_usage(stderr);
		return CLI_EUSAGE;
	}
	cli.cmd = cmd->name;
	cli.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	rc = cmd->fn(&cli, cmd, argc - optind, argv + optind);
	hk_disconnect(cli.client);
	free(cli.socket_resolved);
	return rc;
}
