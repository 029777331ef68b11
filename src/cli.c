/*
 * cli.c - what the commands of housekeeperctl share (cli.h): the socket
 * and the calls to the daemon with their error messages and exit codes,
 * formatting of JSON fields, tables, option parsing.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "housekeeper.h"
#include "proto.h"
#include "units.h"
#include "util.h"

const char *const cli_prog = "housekeeperctl";

/* The last message of cli_err, and whether JSON (an answer or an error
 * object) went to stdout already (cli_finish: one document at most). */
static char *cli_last_error;
static bool cli_json_done;

bool cli_term_ok(int fd)
{
	const char *term = getenv("TERM");

	return isatty(fd) && term && *term && strcmp(term, "dumb") != 0;
}

bool cli_color_ok(int fd)
{
	return cli_term_ok(fd) && !getenv("NO_COLOR");
}

size_t cli_term_width(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	uint64_t n = 0;

	if (!cols || hk_parse_u64(cols, &n) < 0 || n == 0 || n > 10000) {
		n = 0;
		if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
			n = ws.ws_col;
	}
	return n > 100 ? (size_t)n : 100;
}

void cli_err(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	bool color = cli_color_ok(STDERR_FILENO);
	const char *cmd = cli ? cli->cmd : NULL;
	char *msg;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s%s%s:%s %s\n", color ? "\033[1;31m" : "", cli_prog, cmd ? " " : "",
		cmd ? cmd : "", color ? "\033[0m" : "", msg);
	free(cli_last_error);
	cli_last_error = msg;
}

int cli_finish(const struct cli *cli, int rc)
{
	if (rc != CLI_OK && cli->json && !cli_json_done && cli_last_error) {
		json_t *o = json_pack("{s:{s:i, s:s, s:s}}", "error", "code",
				      rc == CLI_EUSAGE ? -EINVAL : HK_EPROTO, "name",
				      rc == CLI_EUSAGE ? "usage" : "error", "message", cli_last_error);
		if (!o)   /* not UTF-8 (a path the user typed) */
			o = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", -EINVAL, "name",
				      rc == CLI_EUSAGE ? "usage" : "error", "message",
				      "invalid (see the message on stderr)");
		cli_print_json(o);
		json_decref(o);
			}
	free(cli_last_error);
	cli_last_error = NULL;
	return rc;
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
			cli_err(cli, "%s: %zu configuration error%s; using the default socket (first: %s)",
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

/* The daemon's message without a leading "<op>: ": the user typed a
 * command, not an operation of the protocol. */
static const char *cli_strip_op(const char *msg, const char *op)
{
	size_t n = strlen(op);

	if (strncmp(msg, op, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

int cli_print_daemon_error(const struct cli *cli, const char *op, int code, const json_t *error)
{
	char *msg = NULL;
	const json_t *details = json_object_get(error, "details");

	if (cli->json) {
		json_t *o = json_pack("{s:O}", "error", (json_t *)error);
		cli_print_json(o);
		json_decref(o);
			}
	if (hk_proto_get_bytes(error, "message", &msg, NULL) < 0)
		msg = hk_xstrdup(hk_strerror(code));
	cli_err(cli, "%s", cli_strip_op(msg, op));
	if (json_is_array(details)) {
		size_t i;
		const json_t *d;
		json_array_foreach(details, i, d)
			if (json_is_string(d))
				fprintf(stderr, "  %s\n", json_string_value(d));
	}
	free(msg);
	return CLI_EDAEMON;
}

/* A failure to reach or understand the daemon, said once with the socket;
 * with --json also as an error object on stdout. */
static int cli_transport_error(struct cli *cli, int r, const char *what)
{
	char *msg = cli->client ? hk_client_last_error(cli->client) : NULL;
	bool unreachable = cli_unreachable(r) || r == HK_EPROTO;

	cli_err(cli, "%s the daemon at %s: %s%s%s%s", what, cli_socket(cli), hk_strerror(r),
		msg ? ": " : "", msg ? msg : "",
		r == HK_ENODAEMON ? " (is housekeeperd running?)" : "");
	if (cli->json) {
		json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", r, "name",
				      unreachable ? "unreachable" : "error", "message", hk_strerror(r));
		cli_print_json(o);
		json_decref(o);
			}
	free(msg);
	return unreachable ? CLI_EUNREACH : CLI_EDAEMON;
}

int cli_call_quiet(struct cli *cli, const char *op, json_t *args, json_t **result, int *code,
		   json_t **error)
{
	char *argtext = NULL, *restext = NULL;
	json_t *res = NULL;
	int r;

	*result = NULL;
	*error = NULL;
	*code = 0;
	if (!cli->client) {
		r = hk_connect(cli_socket(cli), &cli->client);
		if (r < 0) {
			json_decref(args);
			return cli_transport_error(cli, r, "cannot reach");
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
		*code = r;
		*error = res;
		return CLI_EDAEMON;
	}
	return cli_transport_error(cli, r, r == -ETIMEDOUT ? "no answer from" : "lost");
}

int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result)
{
	json_t *error = NULL;
	int code = 0;
	int rc = cli_call_quiet(cli, op, args, result, &code, &error);

	if (error) {
		rc = cli_print_daemon_error(cli, op, code, error);
		json_decref(error);
	}
	return rc;
}

void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	cli_json_done = true;
	if (s) {
		puts(s);
		free(s);
	}
}


/* Call op with args (stolen, NULL = {}) and print its result: as is with
 * --json, else by show (nothing when NULL). Returns the exit code. */
int cli_call_show(struct cli *cli, const char *op, json_t *args, cli_show_fn show)
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


char *cli_size(const struct cli *cli, const json_t *o, const char *key)
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

char *cli_duration(const struct cli *cli, const json_t *o, const char *key)
{
	char buf[HK_UNITS_FORMAT_MAX];
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return hk_xstrdup("-");
	return hk_xstrdup(hk_duration_format(json_integer_value(v), buf, sizeof(buf)));
}

char *cli_num(const struct cli *cli, const json_t *o, const char *key)
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

char *cli_span(int64_t a)
{
	const char *unit;

	if (a < 0)
		a = 0;
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
	return hk_xasprintf("%" PRId64 "%s", a, unit);
}

/* "3m ago", "in 2h", "-" for 0/null. */
char *cli_reltime(const struct cli *cli, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	double t = json_is_number(v) ? json_number_value(v) : 0;
	double d;
	char *span, *cell;

	if (t <= 0)
		return hk_xstrdup("-");
	d = t - (double)time(NULL);
	span = cli_span((int64_t)(d < 0 ? -d : d));
	if (strcmp(span, "now") == 0)
		return span;
	cell = d < 0 ? hk_xasprintf("%s ago", span) : hk_xasprintf("in %s", span);
	free(span);
	return cell;
}

/* A byte-string field for display: escaped, never raw control bytes. */
char *cli_bytes(const struct cli *cli, const json_t *o, const char *key)
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

char *cli_name_or_id(const struct cli *cli, const json_t *reg, const char *key)
{
	const char *name = json_string_value(json_object_get(reg, "name"));
	const char *id = json_string_value(json_object_get(reg, key));
	return hk_xstrdup(name ? name : id ? id : "-");
}

/* Tables ---------------------------------------------------------------------- */


/* Cut the widths w of the shrinkable columns until the table fits width:
 * always the one with the most to spare above its minimum, so that a long
 * path and a long name share the cut. */
static void cli_table_fit(const struct cli_column *cols, size_t ncols, size_t *w, size_t width)
{
	size_t total = 0;

	for (size_t c = 0; c < ncols; c++)
		total += w[c] + (c + 1 < ncols ? 2 : 0);
	while (total > width) {
		size_t best = ncols, spare = 0;
		for (size_t c = 0; c < ncols; c++) {
			size_t min = (size_t)(cols[c].shrink < 0 ? -cols[c].shrink : cols[c].shrink);
			if (cols[c].shrink && w[c] > min && w[c] - min >= spare) {
				best = c;
				spare = w[c] - min;
			}
		}
		if (best == ncols)
			return;   /* nothing more to cut: wider than width */
		w[best]--;
		total--;
	}
}

/* Cell s in at most w columns: cut at the end or (paths) the start, ".."
 * marking the cut. Returns s or a new string put in *tmp. */
static const char *cli_table_cut(const char *s, size_t w, bool at_start, char **tmp)
{
	size_t n = strlen(s);

	*tmp = NULL;
	if (n <= w)
		return s;
	if (w <= 2)
		return *tmp = hk_xasprintf("%.*s", (int)w, "..");
	if (at_start)
		return *tmp = hk_xasprintf("..%s", s + n - (w - 2));
	return *tmp = hk_xasprintf("%.*s..", (int)(w - 2), s);
}

void cli_table_show(const struct cli *cli, const json_t *rows, const struct cli_column *cols,
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
	cli_table_fit(cols, ncols, w, cli->width ? cli->width : 100);
	for (size_t r = 0; r < nrows; r++) {
		if (r == 0 && cli->color)
			fputs("\033[1m", stdout);
		for (size_t c = 0; c < ncols; c++) {
			char *tmp;
			const char *s = cli_table_cut(cells[r * ncols + c], w[c], cols[c].shrink < 0,
						      &tmp);
			if (c + 1 == ncols)
				fputs(s, stdout);
			else
				printf("%-*s  ", (int)w[c], s);
			free(tmp);
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



void cli_usage_cmd(const struct cli_cmd *c, FILE *out)
{
	fprintf(out, "Usage: %s [-s SOCKET] [--json] [--bytes] %s%s%s\n\n%s\n", cli_prog, c->name,
		c->args ? " " : "", c->args ? c->args : "", c->help);
	if (c->options)
		fprintf(out, "\nOptions:\n%s", c->options);
}


int cli_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv, int min,
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
				cli_err(cli, "invalid option or missing value: -%c", optopt);
			else
				cli_err(cli, "invalid option or missing value: %s", argv[optind - 1]);
			fprintf(stderr, "Try '%s %s --help'.\n", cli_prog, cmd->name);
			*rc = CLI_EUSAGE;
			return -1;
		default:
			if (p->n == HK_ARRAY_SIZE(p->key)) {
				cli_err(cli, "too many options");
				*rc = CLI_EUSAGE;
				return -1;
			}
			p->key[p->n] = c;
			p->val[p->n++] = optarg;
			break;
		}
	}
	if (argc - optind < min || argc - optind > max) {
		cli_err(cli, "expected %s", cmd->args ? cmd->args : "no operand");
		fprintf(stderr, "Try '%s %s --help'.\n", cli_prog, cmd->name);
		*rc = CLI_EUSAGE;
		return -1;
	}
	return optind;
}
