/*
 * cli_files.c - housekeeperctl's commands about files (SPEC 9): explain
 * PATH (which registrations cover a file and what each does with it, in
 * plain words) and audit (the trail of deletions, paged, with names).
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "proto.h"
#include "units.h"
#include "util.h"

const struct option cli_audit_longopts[] = {
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "cursor", required_argument, NULL, OPT_CURSOR },
	{ "all", no_argument, NULL, OPT_ALL },
	{ NULL, 0, NULL, 0 },
};

/* explain in plain words: per registration that covers the path, what it
 * says of the file, said once, and when it will be deleted. */
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
		printf("  covered by %" JSON_INTEGER_FORMAT " registration%s of other users "
		       "(shown only to their owners and root)\n", others, others == 1 ? "" : "s");
	if (!json_is_array(regs) || json_array_size(regs) == 0) {
		if (others <= 0)
			printf("  no registration covers it: never deleted\n");
		return;
	}
	json_array_foreach(regs, i, o) {
		char *name = cli_name_or_id(cli, o, "id");
		char *dir = cli_bytes(cli, o, "directory");
		char *pat = cli_bytes(cli, o, "pattern");
		char *when = cli_reltime(cli, o, "delete_at");
		const char *note = json_string_value(json_object_get(o, "note"));
		bool kept = json_is_true(json_object_get(o, "indexed")) &&
			    json_is_null(json_object_get(o, "reason"));
		printf("  %s (%s, pattern %s): %s", name, dir, pat, note ? note : "?");
		if (kept && strcmp(when, "-") != 0)
			printf("; it reaches the age limit %s", when);
		fputs("\n", stdout);
		free(name);
		free(dir);
		free(pat);
		free(when);
	}
}

/* The absolute path explain asks about: the file's own name (a symlink is
 * not followed: it is what would be deleted) in its directory's real path,
 * so "./x", "../x" and relative names work. NULL with errno. */
static char *cli_explain_path(const char *arg)
{
	char *copy = hk_xstrdup(arg), *slash, *dir, *out = NULL;
	const char *base;

	for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		dir = realpath(".", NULL);
		base = copy;
	} else if (slash == copy) {
		dir = hk_xstrdup("/");
		base = copy + 1;
	} else {
		*slash = '\0';
		dir = realpath(copy, NULL);
		base = slash + 1;
	}
	if (dir && (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)) {
		/* a directory named by . or ..: its real path */
		char *whole = realpath(arg, NULL);
		free(dir);
		free(copy);
		return whole;
	}
	if (dir)
		out = hk_xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
	free(dir);
	free(copy);
	return out;
}

int cli_cmd_explain(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	struct stat st;
	json_t *args;
	char *path = NULL;
	int rc = CLI_OK, first;

	first = cli_parse(cli, cmd, argc, argv, 1, 1, &p, &rc);
	if (first < 0)
		return rc;
	/* a path that is not there is an error (as for ls), said here: the
	 * daemon, which may see what the caller may not, never tells */
	if (lstat(argv[first], &st) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		cli_err(cli, "%s: %s", argv[first], strerror(errno));
		return CLI_EDAEMON;
	}
	path = cli_explain_path(argv[first]);
	if (!path) {
		cli_err(cli, "%s: %s", argv[first], strerror(errno));
		return CLI_EDAEMON;
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

static char *cli_audit_reg(const struct cli *cli, const json_t *rec, const char *key)
{
	const char *name = json_string_value(json_object_get(rec, "registration_name"));
	return name ? hk_xstrdup(name) : cli_num(cli, rec, key);
}

/* whole cells, as list's: paths are for grep */
static const struct cli_column cli_audit_columns[] = {
	{ "TIME", "time", cli_reltime, 0 },
	{ "REGISTRATION", "registration_id", cli_audit_reg, 0 },
	{ "RESULT", "result", cli_audit_result, 0 },
	{ "REASON", "reason", cli_num, 0 },
	{ "SIZE", "size", cli_size, 0 },
	{ "PATH", "path", cli_bytes, 0 },
};

/* The audit arguments of the command line into args; false (usage error
 * printed) on a bad value. */
static bool cli_audit_args(struct cli *cli, const struct cli_parsed *p, json_t *args, bool *all)
{
	for (size_t i = 0; i < p->n; i++) {
		char *cause = NULL, *end = NULL;
		int64_t since;
		long long n;

		switch (p->key[i]) {
		case OPT_SINCE:
			if (cli_parse_since(p->val[i], &since, &cause) < 0) {
				cli_err(cli, "--since %s", cause ? cause : "invalid");
				free(cause);
				return false;
			}
			json_object_set_new(args, "since", json_integer(since));
			break;
		case OPT_ID:
			json_object_set_new(args, "id", json_string(p->val[i]));
			break;
		case OPT_LIMIT:
			errno = 0;
			n = strtoll(p->val[i], &end, 10);
			if (errno || end == p->val[i] || *end || n < 1 || n > HK_PROTO_AUDIT_LIMIT_MAX) {
				cli_err(cli, "--limit '%s': expected a number from 1 to %d", p->val[i],
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
			cli_err(cli, "the daemon's answer has no records");
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

int cli_cmd_audit(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parsed p;
	json_t *args = json_object(), *records = json_array();
	const json_t *limit;
	char *cursor = NULL;
	bool all = false;
	int rc = CLI_OK;

	if (cli_parse(cli, cmd, argc, argv, 0, 0, &p, &rc) < 0)
		goto out;
	if (!cli_audit_args(cli, &p, args, &all)) {
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
