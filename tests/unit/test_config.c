/*
 * test_config.c - the configuration loader (SPEC 3): every error kind with
 * its exact "file:line: message", from a string and from a file; drop-in
 * order, override and masking; private configs; defaults; print/reload
 * round trip; registration ids; the shipped sample files.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_int.h"
#include "housekeeper.h"
#include "util.h"
#include "testutil.h"

#define DAY INT64_C(86400)

/* Per-test temp root with the drop-in directories of a fake system. */
struct fixture {
	char root[64];
	char *etc;         /* root/etc: main file's directory = sysconfdir_main */
	char *main;        /* root/etc/housekeeper.conf */
	char *run;         /* root/run */
	char *lib;         /* root/lib */
	struct hk_config_paths paths;
};

static int setup(void **state)
{
	struct fixture *fx = hk_xcalloc(1, sizeof(*fx));

	if (!test_tmpdir(fx->root, sizeof(fx->root), "config"))
		return -1;
	fx->etc = hk_xasprintf("%s/etc", fx->root);
	fx->main = hk_xasprintf("%s/housekeeper.conf", fx->etc);
	fx->run = hk_xasprintf("%s/run", fx->root);
	fx->lib = hk_xasprintf("%s/lib", fx->root);
	mkdir(fx->etc, 0755);
	fx->paths.sysconfdir_main = fx->etc;
	fx->paths.run_confd = fx->run;
	fx->paths.lib_confd = fx->lib;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	test_rmtree(fx->root);
	free(fx->etc);
	free(fx->main);
	free(fx->run);
	free(fx->lib);
	free(fx);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* Writes dir/name (creating dir) and returns the path (caller frees). */
static char *put(const char *dir, const char *name, const char *text)
{
	char *path = hk_xasprintf("%s/%s", dir, name);

	if (!text) {
		/* put(parent, name, NULL): make the directory parent/name */
		mkdir(path, 0755);
		return path;
	}
	mkdir(dir, 0755);
	write_text(path, text);
	return path;
}

static void dump_errors(const struct hk_config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "  error[%zu]: %s\n", i, errs->msgs[i]);
}

/* Checks errs against expected suffixes: each message must be
 * name + ":" + expected[i]. */
static void check_errors(const struct hk_config_errors *errs, const char *name,
			 const char *const *expected, size_t n)
{
	if (errs->n != n)
		dump_errors(errs);
	assert_int_equal(errs->n, n);
	for (size_t i = 0; i < n; i++) {
		char *want = hk_xasprintf("%s:%s", name, expected[i]);
		if (strcmp(errs->msgs[i], want) != 0)
			dump_errors(errs);
		assert_string_equal(errs->msgs[i], want);
		free(want);
	}
}

/* Loads text from a string and from the main file of a fresh fixture and
 * checks both give exactly the expected errors ("LINE: message"). */
static void expect_errors_n(struct fixture *fx, const char *text, const char *const *expected,
			    size_t n)
{
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;

	assert_int_equal(hk_config_load_string(text, "test.conf", &cfg, &errs), HK_ECONFIG);
	assert_null(cfg);
	check_errors(&errs, "test.conf", expected, n);
	hk_config_errors_fini(&errs);

	write_text(fx->main, text);
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	assert_null(cfg);
	check_errors(&errs, fx->main, expected, n);
	hk_config_errors_fini(&errs);
}

#define expect_errors(fx, text, ...) do { \
	const char *const exp_[] = { __VA_ARGS__ }; \
	expect_errors_n(fx, text, exp_, sizeof(exp_) / sizeof(exp_[0])); \
} while (0)

/* Loads text from a string and a file; both must succeed. Returns the
 * file-loaded config (caller frees). */
static struct hk_config *expect_ok(struct fixture *fx, const char *text)
{
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	int r;

	r = hk_config_load_string(text, "test.conf", &cfg, &errs);
	if (r != 0)
		dump_errors(&errs);
	assert_int_equal(r, 0);
	assert_non_null(cfg);
	hk_config_free(cfg);
	cfg = NULL;
	write_text(fx->main, text);
	r = hk_config_load(fx->main, &fx->paths, &cfg, &errs);
	if (r != 0)
		dump_errors(&errs);
	assert_int_equal(r, 0);
	assert_int_equal(errs.n, 0);
	return cfg;
}

/* Loads the fixture's main file with its drop-ins; must succeed. */
static struct hk_config *load_main_ok(struct fixture *fx)
{
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	int r = hk_config_load(fx->main, &fx->paths, &cfg, &errs);

	if (r != 0)
		dump_errors(&errs);
	assert_int_equal(r, 0);
	return cfg;
}

static const struct hk_registration *find_reg(const struct hk_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_regs; i++)
		if (strcmp(cfg->regs[i]->name, name) == 0)
			return cfg->regs[i];
	return NULL;
}

/* Defaults ------------------------------------------------------------------ */

static void check_defaults(const struct hk_config *cfg)
{
	const struct hk_scheduler_settings *s = &cfg->scheduler;

	assert_int_equal(s->job_history_retention_days, 30);
	assert_int_equal(s->max_concurrent_jobs, 5);
	assert_int_equal(s->default_timeout, 300);
	assert_string_equal(s->housekeeper_schedule, "0 3 * * *");
	assert_true(s->schedule_cron.minutes == 1 && s->schedule_cron.hours == (1u << 3));
	assert_int_equal(s->housekeeper_default_retention, 30);
	assert_false(s->housekeeper_dry_run);
	assert_false(s->housekeeper_read_only);
	assert_int_equal(s->housekeeper_concurrent_cleanups, 3);
	assert_true(s->housekeeper_report_enabled);
	assert_string_equal(s->housekeeper_report_directory, "");
	assert_non_null(cfg->daemon.state_directory);
	assert_non_null(cfg->daemon.control_socket);
	assert_null(cfg->daemon.control_group);
	assert_int_equal(cfg->daemon.n_includes, 0);
	assert_string_equal(cfg->daemon.log_level, "info");
	assert_null(cfg->daemon.metrics_textfile);
	assert_null(cfg->daemon.on_failure);
	assert_int_equal(cfg->n_regs, 0);
}

static void test_defaults(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx, "; nothing set\n\n[scheduler]\n[daemon]\n");

	check_defaults(cfg);
	assert_int_equal(cfg->n_files, 1);
	assert_string_equal(cfg->files[0], fx->main);
	hk_config_free(cfg);
	cfg = expect_ok(fx, "");
	check_defaults(cfg);
	hk_config_free(cfg);
}

static void test_scheduler_values(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[scheduler]\n"
		"job_history_retention_days = 7\n"
		"max_concurrent_jobs = 2\n"
		"default_timeout = 5min ; a duration\n"
		"housekeeper_schedule = */15 * * * *\n"
		"housekeeper_default_retention = 14\n"
		"housekeeper_dry_run = yes\n"
		"housekeeper_read_only = On\n"
		"housekeeper_concurrent_cleanups = 1\n"
		"housekeeper_report_enabled = 0\n"
		"housekeeper_report_directory = /srv/reports\n");
	const struct hk_scheduler_settings *s = &cfg->scheduler;

	assert_int_equal(s->job_history_retention_days, 7);
	assert_int_equal(s->max_concurrent_jobs, 2);
	assert_int_equal(s->default_timeout, 300);
	assert_string_equal(s->housekeeper_schedule, "*/15 * * * *");
	assert_int_equal(s->housekeeper_default_retention, 14);
	assert_true(s->housekeeper_dry_run);
	assert_true(s->housekeeper_read_only);
	assert_int_equal(s->housekeeper_concurrent_cleanups, 1);
	assert_false(s->housekeeper_report_enabled);
	assert_string_equal(s->housekeeper_report_directory, "/srv/reports");
	hk_config_free(cfg);

	cfg = expect_ok(fx, "[scheduler]\ndefault_timeout = 120\n");
	assert_int_equal(cfg->scheduler.default_timeout, 120);
	hk_config_free(cfg);
}

static void test_bools(void **state)
{
	struct fixture *fx = *state;
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };

	for (size_t i = 0; i < HK_ARRAY_SIZE(yes); i++) {
		char *t = hk_xasprintf("[scheduler]\nhousekeeper_dry_run = %s\n"
				       "housekeeper_report_enabled = %s\n", yes[i], no[i]);
		struct hk_config *cfg = expect_ok(fx, t);
		assert_true(cfg->scheduler.housekeeper_dry_run);
		assert_false(cfg->scheduler.housekeeper_report_enabled);
		hk_config_free(cfg);
		free(t);
	}
	expect_errors(fx, "[scheduler]\nhousekeeper_dry_run = maybe\n",
		      "2: housekeeper_dry_run: 'maybe' is not a boolean (use yes/no, true/false, on/off, 1/0)");
}

static void test_daemon_values(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[daemon]\n"
		"state_directory = /srv/hk\n"
		"control_socket = /run/hk.sock\n"
		"control_group = root\n"
		"include = /nonexistent-hk/*.conf\n"
		"include = more/*.conf\n"
		"log_level = debug\n"
		"metrics_textfile = /var/lib/node/hk.prom\n"
		"on_failure = /usr/local/bin/notify  --to  ops\n");
	const struct hk_daemon_settings *d = &cfg->daemon;

	assert_string_equal(d->state_directory, "/srv/hk");
	assert_string_equal(d->control_socket, "/run/hk.sock");
	assert_string_equal(d->control_group, "root");
	assert_int_equal(d->n_includes, 2);
	assert_string_equal(d->includes[1], "more/*.conf");
	assert_null(d->includes[2]);
	assert_string_equal(d->log_level, "debug");
	assert_string_equal(d->metrics_textfile, "/var/lib/node/hk.prom");
	assert_string_equal(d->on_failure, "/usr/local/bin/notify  --to  ops");
	assert_int_equal(d->on_failure_argc, 3);
	assert_string_equal(d->on_failure_argv[0], "/usr/local/bin/notify");
	assert_string_equal(d->on_failure_argv[2], "ops");
	assert_null(d->on_failure_argv[3]);
	hk_config_free(cfg);

	char longsock[160];
	memset(longsock, 'a', sizeof(longsock));
	longsock[0] = '/';
	longsock[108] = '\0';
	char *t = hk_xasprintf("[daemon]\ncontrol_socket = %s\n", longsock);
	char *e = hk_xasprintf("2: control_socket: '%s' is too long for a socket path "
			       "(108 bytes, at most 107)", longsock);
	expect_errors(fx, t, e);
	free(t);
	free(e);

	expect_errors(fx,
		"[daemon]\n"
		"state_directory = var/lib/hk\n"
		"control_group = no-such-group-hk\n"
		"log_level = verbose\n"
		"metrics_textfile = /srv/m/\n"
		"on_failure = notify-send oops\n",
		"2: state_directory: 'var/lib/hk' is not an absolute path",
		"3: control_group: no such group 'no-such-group-hk'",
		"4: log_level: 'verbose' is not a log level (use debug, info, notice, warning or err)",
		"5: metrics_textfile: '/srv/m/' is not a clean path (no trailing '/', '//', '.' or '..')",
		"6: on_failure: 'notify-send' must start with an absolute path to the program (no shell is used)");
}

/* Error kinds ------------------------------------------------------------------- */

static void test_unknown_key(void **state)
{
	expect_errors(*state, "[scheduler]\nmax_jobs = 3\n[daemon]\nfoo=1\n"
		      "[cleanup \"a\"]\ndirectory = /srv/a\nretain = 3d\n",
		      "2: unknown key 'max_jobs' in [scheduler]",
		      "4: unknown key 'foo' in [daemon]",
		      "7: unknown key 'retain' in [cleanup \"a\"]");
}

static void test_unknown_section(void **state)
{
	/* its keys are not reported one by one */
	expect_errors(*state, "[schedule]\nmax_concurrent_jobs = 1\nx = y\n[cleanup]\n",
		      "1: unknown section [schedule] (expected [scheduler], [daemon] or [cleanup \"NAME\"])",
		      "4: section [cleanup]: the name must be quoted, as in [cleanup \"NAME\"]");
}

static void test_key_outside_section(void **state)
{
	expect_errors(*state, "max_concurrent_jobs = 1\n[scheduler]\n",
		      "1: key 'max_concurrent_jobs' outside of any section");
}

static void test_bad_lines(void **state)
{
	expect_errors(*state,
		"[scheduler\n"
		"[daemon] log_level = info\n"
		"[scheduler]\n"
		"  continuation of nothing\n"
		"max_concurrent_jobs = 2 ; inline comment is fine\n"
		"# hash comment\n",
		"1: section header without closing ']'",
		"2: unexpected text after section header: 'log_level = info'",
		"4: expected 'key = value', a [section] or a comment: 'continuation of nothing'");
}

static void test_multiline_off(void **state)
{
	/* An indented line is never a continuation of the previous value. */
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[cleanup \"a\"]\ndirectory = /srv/a\n    pattern = *.log\n");

	assert_string_equal(cfg->regs[0]->directory, "/srv/a");
	assert_string_equal(cfg->regs[0]->pattern, "*.log");
	hk_config_free(cfg);
}

static void test_duplicate_section(void **state)
{
	expect_errors(*state,
		"[scheduler]\nmax_concurrent_jobs = 2\n[scheduler]\nmax_concurrent_jobs = 3\n"
		"[cleanup \"a\"]\ndirectory = /srv/a\n[daemon]\n[cleanup \"a\"]\ndirectory = /srv/b\n"
		"[daemon]\n",
		"3: duplicate section [scheduler] (first on line 1)",
		"8: duplicate section [cleanup \"a\"] (first on line 5)",
		"10: duplicate section [daemon] (first on line 7)");
}

static void test_duplicate_key(void **state)
{
	expect_errors(*state,
		"[scheduler]\nmax_concurrent_jobs = 2\nmax_concurrent_jobs = 3\n"
		"[cleanup \"a\"]\ndirectory = /srv/a\nexclude = a\nexclude = b\npattern = x\npattern = y\n",
		"3: duplicate key 'max_concurrent_jobs' (first set on line 2)",
		"9: duplicate key 'pattern' (first set on line 8)");
}

static void test_duplicate_cleanup_across_files(void **state)
{
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	char *drop = NULL;

	write_text(fx->main, "[scheduler]\n\n[cleanup \"app\"]\ndirectory = /srv/app\n");
	drop = put(confd, "10-app.conf", "; again\n[cleanup \"app\"]\ndirectory = /srv/other\n");
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	assert_null(cfg);
	const char *exp[] = { "" };
	char *want = hk_xasprintf("2: [cleanup \"app\"] already defined at %s:3", fx->main);
	exp[0] = want;
	check_errors(&errs, drop, exp, 1);
	hk_config_errors_fini(&errs);
	free(want);
	free(drop);
	free(confd);
}

static void test_relative_and_unclean_paths(void **state)
{
	expect_errors(*state,
		"[cleanup \"a\"]\ndirectory = var/log\n"
		"[cleanup \"b\"]\ndirectory = /var/log/\n"
		"[cleanup \"c\"]\ndirectory = /var//log\n"
		"[cleanup \"d\"]\ndirectory = /var/log/../lib\n"
		"[scheduler]\nhousekeeper_report_directory = reports\n",
		"2: directory: 'var/log' is not an absolute path",
		"4: directory: '/var/log/' is not a clean path (no trailing '/', '//', '.' or '..')",
		"6: directory: '/var//log' is not a clean path (no trailing '/', '//', '.' or '..')",
		"8: directory: '/var/log/../lib' is not a clean path (no trailing '/', '//', '.' or '..')",
		"10: housekeeper_report_directory: 'reports' is not an absolute path");
}

static void test_missing_directory(void **state)
{
	expect_errors(*state, "[cleanup \"a\"]\npattern = *.log\n",
		      "1: [cleanup \"a\"]: missing required key 'directory'");
}

static void test_out_of_range(void **state)
{
	expect_errors(*state,
		"[scheduler]\n"
		"max_concurrent_jobs = 0\n"
		"job_history_retention_days = 36501\n"
		"housekeeper_concurrent_cleanups = 1025\n"
		"default_timeout = 32d\n"
		"housekeeper_default_retention = -1\n"
		"[cleanup \"a\"]\n"
		"directory = /srv/a\n"
		"max_files = 4294967296\n"
		"priority = -1000000001\n"
		"retention = 36501d\n",
		"2: max_concurrent_jobs: '0' is out of range (1..1024)",
		"3: job_history_retention_days: '36501' is out of range (1..36500)",
		"4: housekeeper_concurrent_cleanups: '1025' is out of range (1..1024)",
		"5: default_timeout: '32d' is out of range (1s..31d)",
		"6: housekeeper_default_retention: '-1' is out of range (0..36500)",
		"9: max_files: '4294967296' is out of range (0..4294967295)",
		"10: priority: '-1000000001' is out of range (-1000000000..1000000000)",
		"11: retention: '36501d' is out of range (at most 36500d)");
}

static void test_in_range_limits(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[cleanup \"a\"]\ndirectory = /srv/a\nmax_files = 4294967295\n"
		"priority = -1000000000\nretention = 36500d\n"
		"[cleanup \"b\"]\ndirectory = /srv/b\npriority = +1000000000\n"
		"retention_days = 36500\nmax_size_mb = 17592186044415\n");

	assert_int_equal(cfg->regs[0]->max_files, UINT32_MAX);
	assert_true(cfg->regs[0]->has_max_files);
	assert_int_equal(cfg->regs[0]->priority, -1000000000L);
	assert_int_equal(cfg->regs[0]->retention, 36500 * DAY);
	assert_int_equal(cfg->regs[1]->priority, 1000000000L);
	assert_int_equal(cfg->regs[1]->retention, 36500 * DAY);
	assert_true(cfg->regs[1]->max_size == UINT64_C(17592186044415) * 1024 * 1024);
	hk_config_free(cfg);
}

static void test_overflow(void **state)
{
	expect_errors(*state,
		"[cleanup \"a\"]\ndirectory = /srv/a\n"
		"retention_days = 99999999999999999999\n"
		"max_files = 99999999999999999999\n"
		"max_size_mb = 17592186044416\n"
		"[cleanup \"b\"]\ndirectory = /srv/b\n"
		"retention = 99999999999999999999d\n"
		"max_size = 99999999999999999999T\n"
		"priority = 99999999999999999999\n"
		"[scheduler]\nmax_concurrent_jobs = 99999999999999999999\n",
		"3: retention_days: '99999999999999999999' is out of range (0..36500)",
		"4: max_files: '99999999999999999999' is out of range (0..4294967295)",
		"5: max_size_mb: '17592186044416' is out of range (0..17592186044415)",
		"8: retention: '99999999999999999999d' is out of range (at most 36500d)",
		"9: max_size: '99999999999999999999T' is out of range",
		"10: priority: '99999999999999999999' is out of range (-1000000000..1000000000)",
		"12: max_concurrent_jobs: '99999999999999999999' is out of range (1..1024)");
}

static void test_not_numbers(void **state)
{
	expect_errors(*state,
		"[scheduler]\nmax_concurrent_jobs = five\n"
		"[cleanup \"a\"]\ndirectory = /srv/a\nmax_files = -1\nretention_days = 7d\n"
		"max_size_mb = 1G\nage_by = birth\n",
		"2: max_concurrent_jobs: 'five' is not a number",
		"5: max_files: '-1' is not a number",
		"6: retention_days: '7d' is not a number of days",
		"7: max_size_mb: '1G' is not a number of MiB",
		"8: age_by: 'birth' is not valid (use mtime, atime, ctime or a list of them)");
}

static void test_pattern_slash(void **state)
{
	expect_errors(*state,
		"[cleanup \"a\"]\ndirectory = /srv/a\npattern = logs/*.log\nexclude = ok\n"
		"exclude = sub/keep\n[cleanup \"b\"]\ndirectory = /srv/b\npattern =\n",
		"3: pattern: 'logs/*.log' contains '/' (it matches file names, not paths)",
		"5: exclude: 'sub/keep' contains '/' (it matches file names, not paths)",
		"8: pattern: must not be empty (use * for every file)");
}

static void test_line_too_long_boundary(void **state)
{
	struct fixture *fx = *state;
	/* "description = " is 14 bytes: 183 more make a 197-byte line. */
	char value[200];
	char *ok = NULL, *ok_crlf = NULL, *bad = NULL;
	struct hk_config *cfg = NULL;

	memset(value, 'd', sizeof(value));
	value[183] = '\0';
	ok = hk_xasprintf("[cleanup \"a\"]\ndirectory = /srv/a\ndescription = %s\n", value);
	assert_int_equal(strlen(strchr(strchr(ok, '\n') + 1, '\n') + 1), 198);
	cfg = expect_ok(fx, ok);
	assert_int_equal(strlen(cfg->regs[0]->description), 183);
	hk_config_free(cfg);

	ok_crlf = hk_xasprintf("[cleanup \"a\"]\r\ndirectory = /srv/a\r\ndescription = %s\r\n", value);
	cfg = expect_ok(fx, ok_crlf);
	assert_string_equal(cfg->regs[0]->description, value);
	hk_config_free(cfg);

	value[183] = 'd';
	value[184] = '\0';
	bad = hk_xasprintf("[cleanup \"a\"]\ndirectory = /srv/a\ndescription = %s\npattern = /x\n",
			   value);
	/* the long line is reported, and the next line still parsed */
	expect_errors(fx, bad, "3: line too long (198 bytes, at most 197)",
		      "4: pattern: '/x' contains '/' (it matches file names, not paths)");
	free(bad);
	/* the same 198 bytes without a final newline */
	bad = hk_xasprintf("[cleanup \"a\"]\ndirectory = /srv/a\ndescription = %s", value);
	expect_errors(fx, bad, "3: line too long (198 bytes, at most 197)");
	free(bad);
	/* a long comment line is refused too: inih would read its tail as a key */
	memset(value, 'c', sizeof(value));
	value[196] = '\0';
	bad = hk_xasprintf("[scheduler]\n;%s\n; %s\n", value, value);
	expect_errors(fx, bad, "3: line too long (198 bytes, at most 197)");
	free(bad);
	free(ok);
	free(ok_crlf);
}

static void test_section_name_too_long(void **state)
{
	struct fixture *fx = *state;
	char name[64];
	char *t = NULL;
	struct hk_config *cfg = NULL;

	/* cleanup "NAME" with a 39-byte NAME is 49 bytes */
	memset(name, 'n', sizeof(name));
	name[39] = '\0';
	t = hk_xasprintf("[cleanup \"%s\"]\ndirectory = /srv/a\n", name);
	cfg = expect_ok(fx, t);
	assert_string_equal(cfg->regs[0]->name, name);
	hk_config_free(cfg);
	free(t);
	name[39] = 'n';
	name[40] = '\0';
	t = hk_xasprintf("[cleanup \"%s\"]\ndirectory = /srv/a\n", name);
	expect_errors(fx, t, "1: section name too long (50 bytes, at most 49)");
	free(t);
}

static void test_section_names(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[ cleanup   \"A-z_0.9@host:x\" ]\ndirectory = /srv/a\n");

	assert_string_equal(cfg->regs[0]->name, "A-z_0.9@host:x");
	hk_config_free(cfg);
	expect_errors(fx,
		"[cleanup \"my app\"]\n[cleanup \"\"]\n[cleanup app]\n[cleanup \"a/b\"]\n",
		"1: section [cleanup \"my app\"]: invalid name \"my app\" (use letters, digits and \"-_.@:\")",
		"2: section [cleanup \"\"]: the name must not be empty",
		"3: section [cleanup app]: the name must be quoted, as in [cleanup \"NAME\"]",
		"4: section [cleanup \"a/b\"]: invalid name \"a/b\" (use letters, digits and \"-_.@:\")");
}

static void test_nul_byte(void **state)
{
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	static const char text[] = "[cleanup \"a\"]\ndirectory = /srv/a\0/etc\npattern = *\n";

	write_file(fx->main, text, sizeof(text) - 1);
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	assert_null(cfg);
	const char *exp[] = { "2: NUL byte in line",
			      "1: [cleanup \"a\"]: missing required key 'directory'" };
	check_errors(&errs, fx->main, exp, 2);
	hk_config_errors_fini(&errs);
}

/* SPEC 7, SPEC 3 Errors: the daemon's state directory, and any directory
 * inside it, is never a registration; the check uses the state directory
 * in force (-S through hk_config_paths), also through symlinks, and -T
 * says what a recursive registration above it skips. */
static void test_state_directory(void **state)
{
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	char *st = hk_xasprintf("%s/st", fx->root);
	char *link = hk_xasprintf("%s/st-link", fx->root);
	char *t = NULL, *e1 = NULL, *e2 = NULL, *cause = NULL, *printed = NULL;
	size_t printed_len = 0;

	assert_int_equal(mkdir(st, 0700), 0);
	t = hk_xasprintf("[daemon]\nstate_directory = %s\n"
			 "[cleanup \"a\"]\ndirectory = %s\n"
			 "[cleanup \"b\"]\npattern = *\ndirectory = %s/sub/deeper\n", st, st, st);
	e1 = hk_xasprintf("4: directory: '%s' is the state directory '%s' or inside it "
			  "(the daemon's own files are never cleaned)", st, st);
	e2 = hk_xasprintf("7: directory: '%s/sub/deeper' is the state directory '%s' or inside "
			  "it (the daemon's own files are never cleaned)", st, st);
	expect_errors(fx, t, e1, e2);
	free(t);
	free(e1);
	free(e2);

	/* through a symlink, to a directory that does not exist yet */
	assert_int_equal(symlink(st, link), 0);
	t = hk_xasprintf("[daemon]\nstate_directory = %s\n[cleanup \"a\"]\ndirectory = %s/new\n",
			 st, link);
	e1 = hk_xasprintf("4: directory: '%s/new' resolves to '%s/new', the state directory "
			  "'%s' or inside it (the daemon's own files are never cleaned)", link, st,
			  st);
	expect_errors(fx, t, e1);
	free(t);
	free(e1);

	/* a sibling sharing a prefix and the parent are fine: the parent is
	 * recursive, and -T says what it skips */
	t = hk_xasprintf("[daemon]\nstate_directory = %s\n"
			 "[cleanup \"sibling\"]\ndirectory = %s2\n"
			 "[cleanup \"parent\"]\ndirectory = %s\nrecursive = yes\n", st, st,
			 fx->root);
	cfg = expect_ok(fx, t);
	FILE *mem = open_memstream(&printed, &printed_len);
	assert_non_null(mem);
	hk_config_print(cfg, mem);
	assert_int_equal(fclose(mem), 0);
	e1 = hk_xasprintf("; skips the state directory %s and all below it: the daemon's own "
			  "files are never cleaned\n[cleanup \"parent\"]", st);
	assert_non_null(strstr(printed, e1));
	/* the sibling's block (up to the parent's) says nothing of the kind */
	char *sib = strstr(printed, "[cleanup \"sibling\"]");
	assert_non_null(sib);
	assert_true(strstr(sib, "skips") == strstr(printed, e1) + 2);
	free(printed);
	free(e1);
	hk_config_free(cfg);
	free(t);

	/* -S: the file's state_directory is replaced before the check */
	t = hk_xasprintf("[cleanup \"a\"]\ndirectory = %s\n", st);
	write_text(fx->main, t);
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), 0);
	hk_config_free(cfg);
	cfg = NULL;
	fx->paths.state_directory = st;
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	assert_int_equal(errs.n, 1);
	e1 = hk_xasprintf("%s:2: directory: '%s' is the state directory", fx->main, st);
	assert_memory_equal(errs.msgs[0], e1, strlen(e1));
	hk_config_errors_fini(&errs);
	fx->paths.state_directory = NULL;
	free(e1);
	free(t);

	/* the API's check */
	struct hk_registration reg = { .directory = st, .pattern = (char *)"*" };
	assert_int_equal(hk_registration_check_state(&reg, st, &cause), HK_ECONFIG);
	assert_non_null(strstr(cause, "is the state directory"));
	free(cause);
	reg.directory = fx->root;
	assert_int_equal(hk_registration_check_state(&reg, st, &cause), 0);
	assert_null(cause);
	assert_int_equal(hk_registration_check_state(&reg, NULL, &cause), 0);
	free(st);
	free(link);
}

static void test_system_directory(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = NULL;
	char *link = hk_xasprintf("%s/etc-link", fx->root);
	char *t = NULL, *e = NULL;

	expect_errors(fx,
		"[cleanup \"a\"]\ndirectory = /etc\n"
		"[cleanup \"b\"]\npattern = *\ndirectory = /lib64\n"
		"[cleanup \"c\"]\ndirectory = /\n"
		"[cleanup \"d\"]\ndirectory = /var\n",
		"2: directory: '/etc' is a system directory (set allow_system_directory = yes to register it anyway)",
		"5: directory: '/lib64' is a system directory (set allow_system_directory = yes to register it anyway)",
		"7: directory: '/' is a system directory (set allow_system_directory = yes to register it anyway)",
		"9: directory: '/var' is a system directory (set allow_system_directory = yes to register it anyway)");

	/* other errors of the registration do not hide it (checks run last) */
	expect_errors(fx, "[cleanup \"a\"]\ndirectory = /etc\ncolour = red\n",
		      "3: unknown key 'colour' in [cleanup \"a\"]",
		      "2: directory: '/etc' is a system directory (set allow_system_directory = yes to register it anyway)");

	assert_int_equal(symlink("/etc", link), 0);
	t = hk_xasprintf("[cleanup \"a\"]\ndirectory = %s\n", link);
	e = hk_xasprintf("2: directory: '%s' resolves to the system directory '/etc' "
			 "(set allow_system_directory = yes to register it anyway)", link);
	expect_errors(fx, t, e);
	free(t);

	t = hk_xasprintf("[cleanup \"a\"]\ndirectory = %s\nallow_system_directory = yes\n"
			 "[cleanup \"b\"]\ndirectory = /var/log/app\n"
			 "[cleanup \"c\"]\ndirectory = /etc\nallow_system_directory = on\n", link);
	cfg = expect_ok(fx, t);
	assert_true(cfg->regs[0]->allow_system_directory);
	hk_config_free(cfg);

	assert_true(hk_path_is_system_directory("/lib"));
	assert_true(hk_path_is_system_directory("/libx32"));
	assert_true(hk_path_is_system_directory("/root"));
	assert_false(hk_path_is_system_directory("/lib/modules"));
	assert_false(hk_path_is_system_directory("/var/log"));
	assert_false(hk_path_is_system_directory("/etcetera"));
	free(t);
	free(e);
	free(link);
}

static void test_bare_numbers(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = NULL;

	expect_errors(fx,
		"[cleanup \"a\"]\ndirectory = /srv/a\nretention = 30\nmax_size = 500\n",
		"3: retention: '30' has no unit (did you mean '30d' for days?)",
		"4: max_size: '500' has no unit (did you mean '500M' for MiB?)");
	cfg = expect_ok(fx, "[cleanup \"a\"]\ndirectory = /srv/a\nretention = 0\nmax_size = 0\n");
	assert_true(cfg->regs[0]->has_retention);
	assert_int_equal(cfg->regs[0]->retention, 0);
	assert_false(cfg->regs[0]->default_retention);
	/* max_size = 0 is a literal limit: keep at most 0 bytes */
	assert_true(cfg->regs[0]->has_max_size);
	assert_int_equal(cfg->regs[0]->max_size, 0);
	hk_config_free(cfg);
}

static void test_alias_conflict(void **state)
{
	expect_errors(*state,
		"[cleanup \"a\"]\ndirectory = /srv/a\nretention = 30d\nretention_days = 7\n"
		"max_size_mb = 5\nmax_size = 5M\n",
		"4: 'retention_days' conflicts with 'retention' (line 3): set only one",
		"6: 'max_size' conflicts with 'max_size_mb' (line 5): set only one");
}

static void test_multiple_errors(void **state)
{
	expect_errors(*state,
		"[scheduler]\n"
		"max_concurrent_jobs = lots\n"
		"housekeeper_schedule =\n"
		"[bogus]\n"
		"[cleanup \"x\"]\n"
		"directory = tmp\n"
		"pattern = a/b\n"
		"retention = 10\n"
		"colour = blue\n"
		"[cleanup \"y\"]\n"
		"directory = /proc\n",
		"2: max_concurrent_jobs: 'lots' is not a number",
		"3: housekeeper_schedule: must not be empty",
		"4: unknown section [bogus] (expected [scheduler], [daemon] or [cleanup \"NAME\"])",
		"6: directory: 'tmp' is not an absolute path",
		"7: pattern: 'a/b' contains '/' (it matches file names, not paths)",
		"8: retention: '10' has no unit (did you mean '10d' for days?)",
		"9: unknown key 'colour' in [cleanup \"x\"]",
		"11: directory: '/proc' is a system directory (set allow_system_directory = yes to register it anyway)");
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", s, prefix);
	assert_true(strlen(s) > strlen(prefix));
}

static void test_bad_units_and_cron(void **state)
{
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;

	/* causes come from units.c / cron.c: only the prefix is ours */
	assert_int_equal(hk_config_load_string(
		"[cleanup \"a\"]\ndirectory = /srv/a\nretention = 3 parsecs\nmax_size = 5Q\n"
		"schedule = 61 * * * *\n[scheduler]\nhousekeeper_schedule = every day\n",
		"t.conf", &cfg, &errs), HK_ECONFIG);
	if (errs.n != 4)
		dump_errors(&errs);
	assert_int_equal(errs.n, 4);
	assert_prefix(errs.msgs[0], "t.conf:3: retention: '3 parsecs': ");
	assert_prefix(errs.msgs[1], "t.conf:4: max_size: '5Q': ");
	assert_prefix(errs.msgs[2], "t.conf:5: schedule: '61 * * * *': ");
	assert_prefix(errs.msgs[3], "t.conf:7: housekeeper_schedule: 'every day': ");
	hk_config_errors_fini(&errs);
	(void)fx;
}

/* Registrations --------------------------------------------------------------------- */

static void test_registration_fields(void **state)
{
	struct fixture *fx = *state;
	struct hk_config *cfg = expect_ok(fx,
		"[cleanup \"myapp-logs\"]\n"
		"directory   = /var/log/myapp       ; absolute, required\n"
		"pattern     = *.log\n"
		"exclude     = current.log\n"
		"exclude     = keep-*.log\n"
		"retention   = 1w 2d\n"
		"max_files   = 100\n"
		"max_size    = 500M\n"
		"priority    = -5\n"
		"description = MyApp log files\n"
		"recursive   = yes\n"
		"age_by      = atime, ctime\n"
		"schedule    = */15 * * * *\n"
		"[cleanup \"b\"]\ndirectory = /srv/b\nexclude = x\nexclude =\nexclude = y\n"
		"retention_days = 3\nmax_size_mb = 2\nage_by = mtime ctime\n");
	const struct hk_registration *r = cfg->regs[0];
	char id[HK_UUID_LEN + 1];

	assert_int_equal(cfg->n_regs, 2);
	assert_string_equal(r->name, "myapp-logs");
	hk_registration_id_from_name("myapp-logs", id);
	assert_string_equal(r->id, id);
	assert_string_equal(r->directory, "/var/log/myapp");
	assert_string_equal(r->pattern, "*.log");
	assert_int_equal(r->n_excludes, 2);
	assert_string_equal(r->excludes[0], "current.log");
	assert_string_equal(r->excludes[1], "keep-*.log");
	assert_null(r->excludes[2]);
	assert_true(r->has_retention);
	assert_int_equal(r->retention, 9 * DAY);
	assert_true(r->has_max_files);
	assert_int_equal(r->max_files, 100);
	assert_true(r->has_max_size);
	assert_int_equal(r->max_size, 500 * 1024 * 1024);
	assert_int_equal(r->priority, -5);
	assert_string_equal(r->description, "MyApp log files");
	assert_true(r->recursive);
	assert_int_equal(r->age_by, HK_AGE_ATIME | HK_AGE_CTIME);
	assert_string_equal(r->schedule, "*/15 * * * *");
	assert_false(r->allow_system_directory);
	assert_false(r->default_retention);
	assert_int_equal(r->source, HK_SOURCE_CONFIG);
	assert_string_equal(r->source_file, fx->main);
	assert_int_equal(r->source_line, 1);

	r = cfg->regs[1];
	assert_int_equal(r->n_excludes, 1);
	assert_string_equal(r->excludes[0], "y");
	assert_int_equal(r->retention, 3 * DAY);
	assert_int_equal(r->max_size, 2 * 1024 * 1024);
	assert_int_equal(r->age_by, HK_AGE_MTIME | HK_AGE_CTIME);
	assert_string_equal(r->pattern, "*");
	assert_int_equal(r->priority, 100);
	assert_null(r->description);
	assert_null(r->schedule);
	assert_false(r->recursive);

	struct hk_registration *dup = hk_registration_dup(cfg->regs[0]);
	assert_string_equal(dup->excludes[1], "keep-*.log");
	assert_string_equal(dup->source_file, fx->main);
	hk_registration_free(dup);
	hk_registration_free(NULL);
	hk_config_free(cfg);
}

static void test_default_retention(void **state)
{
	struct fixture *fx = *state;
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	struct hk_config *cfg = NULL;

	write_text(fx->main, "[cleanup \"none\"]\ndirectory = /srv/a\n"
		   "[cleanup \"zero-files\"]\ndirectory = /srv/b\nmax_files = 0\n"
		   "[cleanup \"count\"]\ndirectory = /srv/c\nmax_files = 10\n");
	/* a later drop-in changes the default: it applies to all */
	char *later = put(confd, "50-default.conf", "[scheduler]\nhousekeeper_default_retention = 7\n");
	cfg = load_main_ok(fx);
	assert_true(find_reg(cfg, "none")->default_retention);
	assert_true(find_reg(cfg, "none")->has_retention);
	assert_int_equal(find_reg(cfg, "none")->retention, 7 * DAY);
	/* max_files = 0 is a limit of its own (keep none): no default */
	assert_false(find_reg(cfg, "zero-files")->default_retention);
	assert_true(find_reg(cfg, "zero-files")->has_max_files);
	assert_int_equal(find_reg(cfg, "zero-files")->max_files, 0);
	assert_false(find_reg(cfg, "count")->default_retention);
	assert_false(find_reg(cfg, "count")->has_retention);
	hk_config_free(cfg);
	unlink(later);
	free(later);

	cfg = expect_ok(fx, "[cleanup \"none\"]\ndirectory = /srv/a\n");
	assert_int_equal(cfg->regs[0]->retention, 30 * DAY);
	assert_true(cfg->regs[0]->default_retention);
	hk_config_free(cfg);
	free(confd);
}

static void test_validate_api(void **state)
{
	struct hk_registration reg;
	char *cause = NULL;

	(void)state;
	memset(&reg, 0, sizeof(reg));
	reg.directory = (char *)"/srv/data";
	reg.pattern = (char *)"*";
	reg.age_by = HK_AGE_MTIME;
	assert_int_equal(hk_registration_validate(&reg, &cause), 0);
	assert_null(cause);
	reg.directory = (char *)"/home";
	assert_int_equal(hk_registration_validate(&reg, &cause), HK_ESYSDIR);
	assert_string_equal(cause, "directory: '/home' is a system directory "
			    "(set allow_system_directory = yes to register it anyway)");
	free(cause);
	reg.allow_system_directory = true;
	assert_int_equal(hk_registration_validate(&reg, NULL), 0);
	reg.directory = (char *)"relative";
	assert_int_equal(hk_registration_validate(&reg, &cause), HK_ECONFIG);
	assert_string_equal(cause, "directory: 'relative' is not an absolute path");
	free(cause);
	reg.directory = (char *)"/srv/data";
	reg.priority = 2000000000L;
	assert_int_equal(hk_registration_validate(&reg, &cause), HK_ECONFIG);
	assert_string_equal(cause, "priority: 2000000000 is out of range (-1000000000..1000000000)");
	free(cause);
	reg.priority = 0;
	reg.has_max_files = true;
	reg.max_files = UINT64_C(1) << 32;
	assert_int_equal(hk_registration_validate(&reg, &cause), HK_ECONFIG);
	free(cause);
	reg.has_max_files = false;
	assert_false(hk_registration_has_policy(&reg));
	reg.has_retention = true;
	assert_true(hk_registration_has_policy(&reg));
}

static void test_id_determinism(void **state)
{
	struct fixture *fx = *state;
	char a[HK_UUID_LEN + 1], b[HK_UUID_LEN + 1], c[HK_UUID_LEN + 1];
	struct hk_config *cfg1 = NULL, *cfg2 = NULL;

	hk_registration_id_from_name("myapp-logs", a);
	hk_registration_id_from_name("myapp-logs", b);
	hk_registration_id_from_name("tracelogger", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), HK_UUID_LEN);
	assert_int_equal(a[14], '5');   /* version 5 */
	assert_true(strchr("89ab", a[19]) != NULL);   /* RFC 4122 variant */
	for (const char *p = a; *p; p++)
		assert_true(strchr("0123456789abcdef-", *p) != NULL);
	/* fixed namespace: the id never changes between builds */
	assert_string_equal(a, "37f61087-b6b7-5281-bb94-519760fdd6a3");

	cfg1 = expect_ok(fx, "[cleanup \"myapp-logs\"]\ndirectory = /srv/a\n");
	cfg2 = expect_ok(fx, "; edited\n\n[cleanup \"myapp-logs\"]\ndirectory = /srv/b\n");
	assert_string_equal(cfg1->regs[0]->id, a);
	assert_string_equal(cfg2->regs[0]->id, a);
	hk_config_free(cfg1);
	hk_config_free(cfg2);
}

/* Files and drop-ins ---------------------------------------------------------------- */

static void test_main_missing(void **state)
{
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	const char *exp[] = { " cannot open: No such file or directory" };

	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	assert_null(cfg);
	check_errors(&errs, fx->main, exp, 1);
	hk_config_errors_fini(&errs);
	/* errs may be NULL */
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, NULL), HK_ECONFIG);
}

static void test_dropin_order_and_override(void **state)
{
	struct fixture *fx = *state;
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	char *p_main = NULL, *p_lib10 = NULL, *p_run20 = NULL, *p_etc30 = NULL, *p_etc50 = NULL;
	char *p_run40 = NULL, *mask = NULL;
	struct hk_config *cfg = NULL;

	write_text(fx->main, "[scheduler]\nmax_concurrent_jobs = 1\nhousekeeper_dry_run = yes\n");
	p_main = hk_xstrdup(fx->main);
	p_lib10 = put(fx->lib, "10-lib.conf", "[scheduler]\nmax_concurrent_jobs = 2\n"
		      "[cleanup \"from-lib\"]\ndirectory = /srv/lib\n");
	p_run20 = put(fx->run, "20-run.conf", "[scheduler]\nmax_concurrent_jobs = 3\n");
	p_etc30 = put(confd, "30-etc.conf", "[scheduler]\nmax_concurrent_jobs = 4\n");
	/* same name in all three: /etc wins over /run wins over /lib */
	free(put(fx->lib, "50-same.conf", "[cleanup \"lib-version\"]\ndirectory = /srv/x\n"));
	free(put(fx->run, "50-same.conf", "[cleanup \"run-version\"]\ndirectory = /srv/x\n"));
	p_etc50 = put(confd, "50-same.conf", "[cleanup \"etc-version\"]\ndirectory = /srv/x\n");
	free(put(fx->lib, "40-same.conf", "[cleanup \"lib40\"]\ndirectory = /srv/y\n"));
	p_run40 = put(fx->run, "40-same.conf", "[cleanup \"run40\"]\ndirectory = /srv/y\n");
	/* masked: /etc symlink to /dev/null hides the packaged file */
	free(put(fx->lib, "60-masked.conf", "[cleanup \"masked\"]\ndirectory = /srv/m\n"));
	mask = hk_xasprintf("%s/60-masked.conf", confd);
	assert_int_equal(symlink("/dev/null", mask), 0);
	/* not drop-ins */
	free(put(confd, "70-ignored.conf.example", "[bogus]\n"));
	free(put(confd, ".80-hidden.conf", "[bogus]\n"));
	free(put(confd, "README", "[bogus]\n"));

	cfg = load_main_ok(fx);
	assert_int_equal(cfg->scheduler.max_concurrent_jobs, 4);
	assert_true(cfg->scheduler.housekeeper_dry_run);
	assert_int_equal(cfg->n_files, 6);
	assert_string_equal(cfg->files[0], p_main);
	assert_string_equal(cfg->files[1], p_lib10);
	assert_string_equal(cfg->files[2], p_run20);
	assert_string_equal(cfg->files[3], p_etc30);
	assert_string_equal(cfg->files[4], p_run40);
	assert_string_equal(cfg->files[5], p_etc50);
	assert_int_equal(cfg->n_regs, 3);
	assert_string_equal(cfg->regs[0]->name, "from-lib");
	assert_string_equal(cfg->regs[1]->name, "run40");
	assert_string_equal(cfg->regs[2]->name, "etc-version");
	assert_string_equal(cfg->regs[2]->source_file, p_etc50);
	assert_null(find_reg(cfg, "masked"));
	hk_config_free(cfg);

	free(p_main);
	free(p_lib10);
	free(p_run20);
	free(p_etc30);
	free(p_etc50);
	free(p_run40);
	free(mask);
	free(confd);
}

static void test_dropin_errors(void **state)
{
	struct fixture *fx = *state;
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	char *sub = hk_xasprintf("%s/20-dir.conf", confd);
	char *p10 = NULL, *p30 = NULL;
	struct hk_config_errors errs = { NULL, 0 };
	struct hk_config *cfg = NULL;
	char *e[4];

	write_text(fx->main, "[scheduler]\nmax_concurrent_jobs = 0\n");
	p10 = put(confd, "10-a.conf", "[daemon]\ninclude = *.conf\n");
	mkdir(sub, 0755);
	p30 = put(confd, "30-b.conf", "[scheduler]\nmax_concurrent_jobs = x\n");
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	e[0] = hk_xasprintf("%s:2: max_concurrent_jobs: '0' is out of range (1..1024)", fx->main);
	e[1] = hk_xasprintf("%s:2: include: only allowed in the main configuration file", p10);
	e[2] = hk_xasprintf("%s: not a regular file", sub);
	e[3] = hk_xasprintf("%s:2: max_concurrent_jobs: 'x' is not a number", p30);
	if (errs.n != 4)
		dump_errors(&errs);
	assert_int_equal(errs.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(errs.msgs[i], e[i]);
		free(e[i]);
	}
	hk_config_errors_fini(&errs);
	free(p10);
	free(p30);
	free(sub);
	free(confd);
}

static void test_dropin_override_keys(void **state)
{
	/* [scheduler]/[daemon] in several files: later files win */
	struct fixture *fx = *state;
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	struct hk_config *cfg = NULL;

	write_text(fx->main, "[daemon]\nlog_level = debug\nmetrics_textfile = /srv/m.prom\n"
		   "[scheduler]\nhousekeeper_schedule = @daily\n");
	free(put(confd, "10-a.conf", "[daemon]\nlog_level = warning\nmetrics_textfile =\n"));
	cfg = load_main_ok(fx);
	assert_string_equal(cfg->daemon.log_level, "warning");
	assert_null(cfg->daemon.metrics_textfile);
	assert_string_equal(cfg->scheduler.housekeeper_schedule, "@daily");
	hk_config_free(cfg);
	free(confd);
}

static void test_private_config(void **state)
{
	struct fixture *fx = *state;
	char *priv = hk_xasprintf("%s/private", fx->root);
	char *pconfd = hk_xasprintf("%s/conf.d", priv);
	char *main = NULL, *own = NULL;
	struct hk_config *cfg = NULL;
	struct hk_config_errors errs = { NULL, 0 };

	mkdir(priv, 0755);
	main = put(priv, "hk.conf", "[scheduler]\nmax_concurrent_jobs = 9\n");
	own = put(pconfd, "10-own.conf", "[cleanup \"own\"]\ndirectory = /srv/own\n");
	free(put(fx->run, "10-run.conf", "[cleanup \"run\"]\ndirectory = /srv/run\n"));
	free(put(fx->lib, "10-lib.conf", "[cleanup \"lib\"]\ndirectory = /srv/lib\n"));
	assert_int_equal(hk_config_load(main, &fx->paths, &cfg, &errs), 0);
	assert_int_equal(cfg->n_files, 2);
	assert_string_equal(cfg->files[1], own);
	assert_int_equal(cfg->n_regs, 1);
	assert_string_equal(cfg->regs[0]->name, "own");
	hk_config_free(cfg);

	/* the same files beside the system main file: all three directories are read */
	write_text(fx->main, "");
	mkdir(fx->etc, 0755);
	free(put(fx->etc, "conf.d", NULL));
	free(put(fx->etc, "conf.d/10-etc.conf", "[cleanup \"etc\"]\ndirectory = /srv/etc\n"));
	cfg = load_main_ok(fx);
	assert_int_equal(cfg->n_regs, 3);
	assert_string_equal(cfg->regs[0]->name, "etc");
	assert_string_equal(cfg->regs[1]->name, "lib");
	assert_string_equal(cfg->regs[2]->name, "run");
	hk_config_free(cfg);
	free(main);
	free(own);
	free(pconfd);
	free(priv);
}

static void test_include(void **state)
{
	struct fixture *fx = *state;
	char *extra = hk_xasprintf("%s/extra", fx->root);
	char *confd = hk_xasprintf("%s/conf.d", fx->etc);
	char *t = NULL, *b = NULL, *a = NULL, *d = NULL, *e = NULL;
	struct hk_config *cfg = NULL;
	struct hk_config_errors errs = { NULL, 0 };

	t = hk_xasprintf("[daemon]\ninclude = %s/*.conf\ninclude = local/x.conf\n", extra);
	write_text(fx->main, t);
	b = put(extra, "b.conf", "[cleanup \"b\"]\ndirectory = /srv/b\n");
	a = put(extra, "a.conf", "[cleanup \"a\"]\ndirectory = /srv/a\n");
	d = put(confd, "99-late.conf", "[cleanup \"dropin\"]\ndirectory = /srv/d\n");
	free(put(fx->etc, "local", NULL));
	e = put(fx->etc, "local/x.conf", "[scheduler]\nmax_concurrent_jobs = 7\n");
	mkdir(fx->run, 0755);
	cfg = load_main_ok(fx);
	assert_int_equal(cfg->n_files, 5);
	assert_string_equal(cfg->files[1], d);
	assert_string_equal(cfg->files[2], a);
	assert_string_equal(cfg->files[3], b);
	assert_int_equal(cfg->scheduler.max_concurrent_jobs, 7);
	assert_string_equal(cfg->regs[0]->name, "dropin");
	assert_string_equal(cfg->regs[1]->name, "a");
	hk_config_free(cfg);
	free(t);

	/* a literal include that does not exist is an error; an empty glob is not */
	t = hk_xasprintf("[daemon]\ninclude = %s/none-*.conf\ninclude = /nonexistent-hk.conf\n", extra);
	write_text(fx->main, t);
	assert_int_equal(hk_config_load(fx->main, &fx->paths, &cfg, &errs), HK_ECONFIG);
	const char *exp[] = { "3: include: '/nonexistent-hk.conf': cannot open: No such file or directory" };
	check_errors(&errs, fx->main, exp, 1);
	hk_config_errors_fini(&errs);
	free(t);
	free(a);
	free(b);
	free(d);
	free(e);
	free(extra);
	free(confd);
}

/* Printing ---------------------------------------------------------------------------- */

static char *print_to_string(const struct hk_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	hk_config_print(cfg, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_str_eq_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

static void assert_cron_equal(const struct hk_cron *a, const struct hk_cron *b)
{
	assert_true(a->minutes == b->minutes);
	assert_int_equal(a->hours, b->hours);
	assert_int_equal(a->mdays, b->mdays);
	assert_int_equal(a->months, b->months);
	assert_int_equal(a->wdays, b->wdays);
	assert_int_equal(a->mday_star, b->mday_star);
	assert_int_equal(a->wday_star, b->wday_star);
}

static void assert_config_equal(const struct hk_config *x, const struct hk_config *y)
{
	const struct hk_scheduler_settings *s = &x->scheduler, *t = &y->scheduler;

	assert_int_equal(s->job_history_retention_days, t->job_history_retention_days);
	assert_int_equal(s->max_concurrent_jobs, t->max_concurrent_jobs);
	assert_int_equal(s->default_timeout, t->default_timeout);
	assert_string_equal(s->housekeeper_schedule, t->housekeeper_schedule);
	assert_cron_equal(&s->schedule_cron, &t->schedule_cron);
	assert_int_equal(s->housekeeper_default_retention, t->housekeeper_default_retention);
	assert_int_equal(s->housekeeper_dry_run, t->housekeeper_dry_run);
	assert_int_equal(s->housekeeper_read_only, t->housekeeper_read_only);
	assert_int_equal(s->housekeeper_concurrent_cleanups, t->housekeeper_concurrent_cleanups);
	assert_int_equal(s->housekeeper_report_enabled, t->housekeeper_report_enabled);
	assert_string_equal(s->housekeeper_report_directory, t->housekeeper_report_directory);
	assert_string_equal(x->daemon.state_directory, y->daemon.state_directory);
	assert_string_equal(x->daemon.control_socket, y->daemon.control_socket);
	assert_str_eq_null(x->daemon.control_group, y->daemon.control_group);
	assert_int_equal(x->daemon.n_includes, y->daemon.n_includes);
	for (size_t i = 0; i < x->daemon.n_includes; i++)
		assert_string_equal(x->daemon.includes[i], y->daemon.includes[i]);
	assert_string_equal(x->daemon.log_level, y->daemon.log_level);
	assert_str_eq_null(x->daemon.metrics_textfile, y->daemon.metrics_textfile);
	assert_str_eq_null(x->daemon.on_failure, y->daemon.on_failure);
	assert_int_equal(x->daemon.on_failure_argc, y->daemon.on_failure_argc);
	assert_int_equal(x->n_regs, y->n_regs);
	for (size_t i = 0; i < x->n_regs; i++) {
		const struct hk_registration *a = x->regs[i], *b = y->regs[i];
		assert_string_equal(a->id, b->id);
		assert_string_equal(a->name, b->name);
		assert_string_equal(a->directory, b->directory);
		assert_string_equal(a->pattern, b->pattern);
		assert_int_equal(a->n_excludes, b->n_excludes);
		for (size_t k = 0; k < a->n_excludes; k++)
			assert_string_equal(a->excludes[k], b->excludes[k]);
		assert_int_equal(a->has_retention, b->has_retention);
		assert_int_equal(a->retention, b->retention);
		assert_int_equal(a->default_retention, b->default_retention);
		assert_int_equal(a->has_max_files, b->has_max_files);
		assert_int_equal(a->max_files, b->max_files);
		assert_int_equal(a->has_max_size, b->has_max_size);
		assert_int_equal(a->max_size, b->max_size);
		assert_int_equal(a->priority, b->priority);
		assert_str_eq_null(a->description, b->description);
		assert_int_equal(a->recursive, b->recursive);
		assert_int_equal(a->age_by, b->age_by);
		assert_str_eq_null(a->schedule, b->schedule);
		assert_cron_equal(&a->schedule_cron, &b->schedule_cron);
		assert_int_equal(a->allow_system_directory, b->allow_system_directory);
	}
}

/* Drops comment lines (they name files and lines, which differ). */
static void strip_comments(char *s)
{
	char *w = s;

	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (line[0] != ';') {
			memmove(w, line, len);
			w += len;
		}
		line += len;
	}
	*w = '\0';
}

static void test_print_round_trip(void **state)
{
	struct fixture *fx = *state;
	char desc[200];
	char *text = NULL, *p1 = NULL, *p2 = NULL;
	struct hk_config *cfg = NULL, *again = NULL;
	struct hk_config_errors errs = { NULL, 0 };

	/* a 184-byte description: "description=" only fits without spaces */
	memset(desc, 'x', sizeof(desc));
	desc[184] = '\0';
	text = hk_xasprintf(
		"[scheduler]\nmax_concurrent_jobs = 2\ndefault_timeout = 1h\n"
		"housekeeper_schedule = 30 2 * * 1-5\nhousekeeper_read_only = yes\n"
		"housekeeper_report_directory = /srv/reports\n"
		"[daemon]\ncontrol_group = root\ninclude = /nonexistent-hk/*.conf\n"
		"on_failure = /bin/echo failed\nmetrics_textfile = /srv/m.prom\n"
		"[cleanup \"myapp-logs\"]\ndirectory = /var/log/myapp\npattern = *.log\n"
		"exclude = current.log\nexclude = keep.log\nretention = 1w 2d 3h\n"
		"max_files = 100\nmax_size = 1536K\npriority = -3\ndescription = MyApp: logs\n"
		"recursive = yes\nage_by = ctime,atime\nschedule = */15 * * * *\n"
		"[cleanup \"defaulted\"]\ndirectory = /srv/d\n"
		"[cleanup \"zero\"]\ndirectory = /srv/z\nretention = 0\npattern=;odd\n"
		"[cleanup \"long\"]\ndirectory = /srv/l\ndescription=%s\nretention_days = 2\n"
		"max_size_mb = 3\nallow_system_directory = yes\n", desc);
	cfg = expect_ok(fx, text);
	p1 = print_to_string(cfg);
	assert_non_null(strstr(p1, "[cleanup \"myapp-logs\"]\n"));
	assert_non_null(strstr(p1, "\n; id "));
	assert_non_null(strstr(p1, "; no limit set: housekeeper_default_retention applies (30 days)\n"));
	assert_non_null(strstr(p1, "housekeeper_dry_run = false\n"));
	assert_non_null(strstr(p1, "max_size = 1536K\n"));
	assert_non_null(strstr(p1, "pattern=;odd\n"));
	{
		char *from = hk_xasprintf("; from %s:12\n; id ", fx->main);
		assert_non_null(strstr(p1, from));
		free(from);
	}
	if (hk_config_load_string(p1, "printed.conf", &again, &errs) != 0) {
		dump_errors(&errs);
		fprintf(stderr, "%s", p1);
		fail();
	}
	assert_config_equal(cfg, again);
	p2 = print_to_string(again);
	strip_comments(p1);
	strip_comments(p2);
	assert_string_equal(p1, p2);
	hk_config_free(again);
	hk_config_free(cfg);
	free(p1);
	free(p2);
	free(text);

	/* the defaults print and reload too */
	cfg = expect_ok(fx, "");
	p1 = print_to_string(cfg);
	assert_int_equal(hk_config_load_string(p1, "printed.conf", &again, &errs), 0);
	assert_config_equal(cfg, again);
	hk_config_free(again);
	hk_config_free(cfg);
	free(p1);
}

/* A value other than the default for every key of the table: a key added
 * to the table without one here fails test_table_every_key. */
static const struct {
	enum config_kind section;
	const char *key;
	const char *value;
} table_examples[] = {
	{ CONFIG_SEC_SCHEDULER, "job_history_retention_days", "7" },
	{ CONFIG_SEC_SCHEDULER, "max_concurrent_jobs", "2" },
	{ CONFIG_SEC_SCHEDULER, "default_timeout", "10m" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_schedule", "*/5 * * * *" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_default_retention", "9" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_dry_run", "yes" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_read_only", "on" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_concurrent_cleanups", "2" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_report_enabled", "no" },
	{ CONFIG_SEC_SCHEDULER, "housekeeper_report_directory", "/srv/reports" },
	{ CONFIG_SEC_DAEMON, "state_directory", "/srv/state" },
	{ CONFIG_SEC_DAEMON, "control_socket", "/srv/hk.sock" },
	{ CONFIG_SEC_DAEMON, "control_group", "root" },
	{ CONFIG_SEC_DAEMON, "include", "/nonexistent-hk/*.conf" },
	{ CONFIG_SEC_DAEMON, "log_level", "debug" },
	{ CONFIG_SEC_DAEMON, "metrics_textfile", "/srv/m.prom" },
	{ CONFIG_SEC_DAEMON, "on_failure", "/bin/echo failed" },
	{ CONFIG_SEC_CLEANUP, "directory", "/srv/t" },
	{ CONFIG_SEC_CLEANUP, "pattern", "*.log" },
	{ CONFIG_SEC_CLEANUP, "exclude", "keep*" },
	{ CONFIG_SEC_CLEANUP, "retention", "2h" },
	{ CONFIG_SEC_CLEANUP, "retention_days", "3" },
	{ CONFIG_SEC_CLEANUP, "max_files", "10" },
	{ CONFIG_SEC_CLEANUP, "max_size", "5M" },
	{ CONFIG_SEC_CLEANUP, "max_size_mb", "6" },
	{ CONFIG_SEC_CLEANUP, "priority", "7" },
	{ CONFIG_SEC_CLEANUP, "description", "the t files" },
	{ CONFIG_SEC_CLEANUP, "recursive", "true" },
	{ CONFIG_SEC_CLEANUP, "age_by", "atime, mtime" },
	{ CONFIG_SEC_CLEANUP, "schedule", "0 * * * *" },
	{ CONFIG_SEC_CLEANUP, "allow_system_directory", "1" },
	{ CONFIG_SEC_CLEANUP, "min_free", "10%" },
	/* keys that need another: the example sets it on its next line */
	{ CONFIG_SEC_CLEANUP, "free_target", "2G\nmin_free = 1G" },
	{ CONFIG_SEC_CLEANUP, "low_watermark", "80%" },
	{ CONFIG_SEC_CLEANUP, "skip_open", "yes" },
	{ CONFIG_SEC_CLEANUP, "unit", "directory" },
	{ CONFIG_SEC_CLEANUP, "remove_empty_dirs", "yes\nrecursive = yes" },
};

static const char *table_example(const struct config_setting *s)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(table_examples); i++)
		if (table_examples[i].section == s->section &&
		    strcmp(table_examples[i].key, s->name) == 0)
			return table_examples[i].value;
	return NULL;
}

/* The first "key = ..." or "key=..." line of key in a printed config
 * after the header of its section (a new string), or NULL. */
static char *printed_line(const char *printed, const char *header, const char *key)
{
	const char *p = strstr(printed, header);
	size_t klen = strlen(key);

	for (p = p ? strchr(p, '\n') : NULL; p && p[1] && p[1] != '['; p = strchr(p + 1, '\n')) {
		const char *line = p + 1;
		if (strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '=')) {
			const char *end = strchr(line, '\n');
			return strndup(line, end ? (size_t)(end - line) : strlen(line));
		}
	}
	return NULL;
}

/* Every key of the table: its example loads, prints unlike the default,
 * and the printed file loads back to the same print. Aliases print as the
 * key they spell differently. */
static void test_table_every_key(void **state)
{
	static const char *const headers[] = {
		[CONFIG_SEC_SCHEDULER] = "[scheduler]\n", [CONFIG_SEC_DAEMON] = "[daemon]\n",
		[CONFIG_SEC_CLEANUP] = "[cleanup \"t\"]\n",
	};
	struct fixture *fx = *state;
	struct hk_config_errors errs = { NULL, 0 };
	size_t n = 0;
	const struct config_setting *table = config_settings(&n);

	for (size_t i = 0; i < n; i++) {
		const struct config_setting *s = &table[i];
		const char *example = table_example(s);
		if (!example)
			fail_msg("key %s of the table has no example in this test", s->name);
		if (s->flags & CONFIG_RESTART)   /* hk_config_keep_restart_only copies strings */
			assert_true(s->section == CONFIG_SEC_DAEMON &&
				    (s->type == CONFIG_T_PATH || s->type == CONFIG_T_CUSTOM));
		/* the key alone (with the directory a cleanup section needs) */
		char *text = hk_xasprintf("%s%s = %s\n%s", headers[s->section], s->name, example,
					  s->section == CONFIG_SEC_CLEANUP &&
					  strcmp(s->name, "directory") != 0 ? "directory = /srv/t\n" : "");
		char *base = hk_xasprintf("[cleanup \"t\"]\ndirectory = /srv/%s\n",
					  strcmp(s->name, "directory") == 0 ? "other" : "t");
		if (s->section != CONFIG_SEC_CLEANUP) {
			char *with = hk_xasprintf("%s%s", text, base);
			free(text);
			text = with;
		}
		struct hk_config *cfg = expect_ok(fx, text);
		struct hk_config *dflt = expect_ok(fx, base);
		char *p1 = print_to_string(cfg);
		char *pd = print_to_string(dflt);
		const char *shown = s->flags & CONFIG_ALIAS
			? (strcmp(s->name, "retention_days") == 0 ? "retention" : "max_size")
			: s->name;
		char *line = printed_line(p1, headers[s->section], shown);
		char *dline = printed_line(pd, headers[s->section], shown);
		if (!line || (dline && strcmp(line, dline) == 0))
			fail_msg("%s = %s: printed as '%s', the default as '%s'", s->name, example,
				 line ? line : "(nothing)", dline ? dline : "(nothing)");
		struct hk_config *again = NULL;
		if (hk_config_load_string(p1, "printed.conf", &again, &errs) != 0) {
			dump_errors(&errs);
			fail_msg("the print of %s = %s does not load:\n%s", s->name, example, p1);
		}
		char *p2 = print_to_string(again);
		strip_comments(p1);
		strip_comments(p2);
		assert_string_equal(p1, p2);
		free(p1);
		free(p2);
		free(pd);
		free(line);
		free(dline);
		free(text);
		free(base);
		hk_config_free(cfg);
		hk_config_free(dflt);
		hk_config_free(again);
	}
}

/* Shipped samples ------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "r");
	char *buf = hk_xmalloc(HK_CONFIG_MAX_FILE);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, HK_CONFIG_MAX_FILE, f);
	fclose(f);
	write_file(to, buf, n);
	free(buf);
}

static void test_shipped_samples(void **state)
{
	struct fixture *fx = *state;
	const char *top = getenv("top_srcdir");
	char *src = NULL, *confd = NULL, *dst = NULL;
	struct hk_config *cfg = NULL;

	if (!top || !*top) {
		skip();
		return;
	}
	src = hk_xasprintf("%s/etc/housekeeper.conf", top);
	copy_file(src, fx->main);
	free(src);
	cfg = load_main_ok(fx);
	check_defaults(cfg);
	hk_config_free(cfg);

	confd = hk_xasprintf("%s/conf.d", fx->etc);
	mkdir(confd, 0755);
	static const char *const ex[] = { "myapp-logs", "tracelogger" };
	for (size_t i = 0; i < HK_ARRAY_SIZE(ex); i++) {
		src = hk_xasprintf("%s/etc/conf.d/%s.conf.example", top, ex[i]);
		dst = hk_xasprintf("%s/%s.conf", confd, ex[i]);
		copy_file(src, dst);
		free(src);
		free(dst);
	}
	cfg = load_main_ok(fx);
	assert_int_equal(cfg->n_regs, 2);
	assert_int_equal(cfg->n_files, 3);
	const struct hk_registration *m = find_reg(cfg, "myapp-logs");
	const struct hk_registration *t = find_reg(cfg, "tracelogger");
	assert_non_null(m);
	assert_non_null(t);
	assert_string_equal(m->pattern, "*.log");
	assert_int_equal(m->retention, 30 * DAY);
	assert_false(m->has_max_files);
	assert_string_equal(t->pattern, "trace_*");
	assert_int_equal(t->retention, 7 * DAY);
	assert_int_equal(t->max_files, 100);
	hk_config_free(cfg);
	free(confd);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_scheduler_values),
		T(test_bools),
		T(test_daemon_values),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_key_outside_section),
		T(test_bad_lines),
		T(test_multiline_off),
		T(test_duplicate_section),
		T(test_duplicate_key),
		T(test_duplicate_cleanup_across_files),
		T(test_relative_and_unclean_paths),
		T(test_missing_directory),
		T(test_out_of_range),
		T(test_in_range_limits),
		T(test_overflow),
		T(test_not_numbers),
		T(test_pattern_slash),
		T(test_line_too_long_boundary),
		T(test_section_name_too_long),
		T(test_section_names),
		T(test_nul_byte),
		T(test_system_directory),
		T(test_state_directory),
		T(test_bare_numbers),
		T(test_alias_conflict),
		T(test_multiple_errors),
		T(test_bad_units_and_cron),
		T(test_registration_fields),
		T(test_default_retention),
		T(test_validate_api),
		T(test_id_determinism),
		T(test_main_missing),
		T(test_dropin_order_and_override),
		T(test_dropin_errors),
		T(test_dropin_override_keys),
		T(test_private_config),
		T(test_include),
		T(test_table_every_key),
		T(test_print_round_trip),
		T(test_shipped_samples),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
