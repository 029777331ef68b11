/*
 * test_cli.c - the text housekeeperctl and housekeeperd --once make of a
 * run and a job, without a daemon: the exit code a job's reply calls for
 * (a failed deletion is 1 even when the daemon says ok), the report's note
 * on files it left unlisted (with the JSON report's path), registrations
 * waiting for their directory, and the progress line.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <threads.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"
#include "engine.h"
#include "housekeeper.h"
#include "proto.h"
#include "testutil.h"
#include "util.h"

static json_t *test_json(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

/* What cli_report_print writes for the report in text. */
static char *test_cli_report(const char *text)
{
	struct cli cli = { .bytes = true };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	json_t *rep = test_json(text);

	cli_report_print(&cli, rep, f);
	fclose(f);
	json_decref(rep);
	return out;
}

static void test_exit_codes(void **state)
{
	static const struct {
		const char *reply;
		int rc;
	} cases[] = {
		/* the job protocol's run_cleanup reply */
		{ "{\"job_id\":1,\"outcome\":\"ok\",\"report\":{\"totals\":{\"errors\":0}}}", CLI_OK },
		{ "{\"job_id\":1,\"outcome\":\"failed\",\"report\":{\"totals\":{\"errors\":1}}}", CLI_EDAEMON },
		/* a failed deletion is a failure whatever the outcome says */
		{ "{\"job_id\":1,\"outcome\":\"ok\",\"report\":{\"totals\":{\"errors\":2}}}", CLI_EDAEMON },
		{ "{\"job_id\":1,\"outcome\":\"timeout\",\"report\":{\"totals\":{\"errors\":0}}}", CLI_EDAEMON },
		{ "{\"job_id\":1,\"outcome\":\"busy\",\"report\":{\"totals\":{\"errors\":0}}}", CLI_EDAEMON },
		/* a registration that could not be cleaned counts; a waiting one does not */
		{ "{\"outcome\":\"ok\",\"totals\":{\"errors\":0},\"registrations\":[{\"error\":\"gone\"}]}",
		  CLI_EDAEMON },
		{ "{\"outcome\":\"ok\",\"totals\":{\"errors\":0},\"registrations\":[{\"error\":null,"
		  "\"waiting\":true}]}", CLI_OK },
		/* wait_job's final reply */
		{ "{\"job_id\":3,\"done\":true,\"job\":{\"outcome\":\"ok\"},\"report\":{\"totals\":{\"errors\":0}}}",
		  CLI_OK },
		{ "{\"job_id\":3,\"done\":true,\"job\":{\"outcome\":\"failed\"}}", CLI_EDAEMON },
		/* the report itself, as daemons before the job protocol answer */
		{ "{\"outcome\":\"failed\",\"totals\":{\"errors\":1}}", CLI_EDAEMON },
		{ "{\"outcome\":\"ok\",\"totals\":{\"errors\":0}}", CLI_OK },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = test_json(cases[i].reply);
		int rc = cli_job_exit(j, NULL);
		if (rc != cases[i].rc)
			fail_msg("%s: exit %d, expected %d", cases[i].reply, rc, cases[i].rc);
		json_decref(j);
	}
}

static void test_cli_report_unlisted(void **state)
{
	(void)state;
	char *out = test_cli_report(
		"{\"dry_run\":true,\"files_omitted\":123456,"
		"\"report_file\":\"/var/lib/housekeeper/reports/report-000007.json\","
		"\"files\":[{\"path\":\"/d/a.log\",\"size\":10,\"reason\":\"age\",\"outcome\":\"would-delete\"}],"
		"\"registrations\":[{\"directory\":\"/d\",\"error\":null}],"
		"\"totals\":{\"deleted\":123457,\"bytes\":10,\"skipped\":0,\"errors\":0}}");
	assert_non_null(strstr(out, "123456 more files not listed"));
	assert_non_null(strstr(out, "lists the first 1"));
	assert_non_null(strstr(out, "/var/lib/housekeeper/reports/report-000007.json"));
	assert_non_null(strstr(out, "total: 123457 files"));
	free(out);
	/* nothing left out: no note */
	out = test_cli_report("{\"files_omitted\":0,\"files\":[],\"registrations\":[],"
			      "\"totals\":{\"deleted\":0,\"bytes\":0}}");
	assert_null(strstr(out, "not listed"));
	free(out);
}

static void test_cli_report_waiting(void **state)
{
	(void)state;
	char *out = test_cli_report(
		"{\"files\":[],\"registrations\":[{\"directory\":\"/later\",\"error\":null,\"waiting\":true},"
		"{\"directory\":\"/broken\",\"error\":\"directory cannot be opened: Permission denied\"}],"
		"\"totals\":{\"deleted\":0,\"bytes\":0,\"skipped\":0,\"errors\":0}}");
	assert_non_null(strstr(out, "waiting      /later: does not exist yet\n"));
	assert_non_null(strstr(out, "error        /broken: directory cannot be opened"));
	/* the registration's error is counted, the waiting one said */
	assert_non_null(strstr(out, "1 error, 1 waiting for its directory)"));
	free(out);
}

static void test_report_print_unlisted(void **state)
{
	struct hk_report_file file = { .path = (char *)"/d/a.log", .size = 1 };
	struct hk_report_reg regs[2] = {
		{ .directory = (char *)"/d", .deleted = 3 },
		{ .directory = (char *)"/later", .waiting = true },
	};
	struct hk_report rep = {
		.dry_run = false, .regs = regs, .n_regs = 2, .files = &file, .n_files = 1,
		.files_omitted = 2, .file = "/state/reports/report-000001.json",
	};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	(void)state;

	hk_report_print(&rep, f);
	fclose(f);
	assert_non_null(strstr(out, "2 more files not listed: the report lists the first 1"));
	assert_non_null(strstr(out, "the JSON report: /state/reports/report-000001.json"));
	assert_non_null(strstr(out, "waiting      /later: does not exist yet\n"));
	assert_non_null(strstr(out, "0 errors, 1 waiting for its directory)"));
	free(out);
	/* without a written report and nothing left out: no note */
	rep.file = NULL;
	rep.files_omitted = 0;
	f = open_memstream(&out, &len);
	hk_report_print(&rep, f);
	fclose(f);
	assert_null(strstr(out, "not listed"));
	free(out);
}

static void test_progress_line(void **state)
{
	char line[256];
	json_t *job = test_json("{\"job_id\":12,\"outcome\":\"running\",\"dry_run\":true,"
				"\"registrations_total\":10,\"registrations_done\":3,"
				"\"scanned\":50000,\"deleted\":1200,\"bytes\":1048576}");
	(void)state;

	cli_progress_format(job, 10.0, line, sizeof(line));
	assert_string_equal(line, "job 12: 3/10 registrations, 50000 files examined, "
			    "1200 would be deleted (1.0 MiB), 5000 files/s");
	json_decref(job);
	job = test_json("{\"job_id\":13,\"outcome\":\"queued\"}");
	cli_progress_format(job, 1.0, line, sizeof(line));
	assert_string_equal(line, "job 13: queued");
	json_decref(job);
}

/* A fake daemon speaking the job protocol on one connection: run_cleanup
 * with no_wait answers a job id, wait_job answers "not done" not_done times
 * (when asked with a timeout), then the job's end. Every request is kept. */
struct fake_daemon {
	int listen_fd;
	char path[128];
	int not_done;
	const char *final;        /* wait_job's last answer */
	json_t *requests;         /* array of {op, args} */
};

static int fake_read_all(int fd, char *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = read(fd, buf + off, n - off);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static void fake_answer(int fd, json_t *msg)
{
	char *frame = NULL;
	size_t len = 0;
	if (hk_proto_frame_encode(msg, HK_PROTO_MAX_RESPONSE, &frame, &len) == 0)
		(void)!write(fd, frame, len);
	free(frame);
	json_decref(msg);
}

static int fake_daemon_main(void *arg)
{
	struct fake_daemon *f = arg;
	int fd = accept(f->listen_fd, NULL, NULL);
	unsigned char hdr[HK_PROTO_HEADER_LEN];

	while (fd >= 0 && fake_read_all(fd, (char *)hdr, sizeof(hdr)) == 0) {
		uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			       (uint32_t)hdr[2] << 8 | hdr[3];
		char *buf = malloc(len + 1);
		struct hk_proto_request req = { 0 };
		char *cause = NULL;
		if (fake_read_all(fd, buf, len) < 0 ||
		    hk_proto_request_parse(buf, len, &req, &cause) < 0) {
			free(buf);
			free(cause);
			hk_proto_request_fini(&req);
			break;
		}
		json_array_append_new(f->requests, json_pack("{s:s,s:O}", "op", req.op, "args", req.args));
		json_t *result;
		if (strcmp(req.op, "run_cleanup") == 0)
			result = json_pack("{s:i}", "job_id", 7);
		else if (strcmp(req.op, "wait_job") == 0 && json_object_get(req.args, "timeout") &&
			 f->not_done-- > 0)
			result = json_pack("{s:i,s:b,s:{s:i,s:s,s:i,s:i}}", "job_id", 7, "done", 0, "job",
					   "job_id", 7, "outcome", "running", "registrations_total", 2,
					   "registrations_done", 1);
		else
			result = test_json(f->final);
		fake_answer(fd, hk_proto_response_ok(req.id, result));
		free(buf);
		hk_proto_request_fini(&req);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Run one CLI command (argv) against the fake daemon; its stdout into out
 * (owned by the caller), its exit code returned. */
static int fake_run(struct fake_daemon *f, const char *name, int argc, char **argv, bool json,
		    char **out)
{
	static const struct cli_cmd cmds[] = {
		{ "run", cli_cmd_run, NULL, "", NULL, cli_run_longopts },
		{ "wait", cli_cmd_wait, "JOB", "", NULL, NULL },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cli cli = { .json = json, .cmd = name };
	char tmp[] = "/tmp/hk-test-cli-out-XXXXXX";
	thrd_t th;
	int rc, saved = dup(STDOUT_FILENO), ofd = mkstemp(tmp);

	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, f->path);
	unlink(f->path);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	f->requests = json_array();
	thrd_create(&th, fake_daemon_main, f);
	cli.socket = f->path;
	fflush(stdout);
	dup2(ofd, STDOUT_FILENO);
	rc = strcmp(name, "run") == 0 ? cmds[0].fn(&cli, &cmds[0], argc, argv)
				     : cmds[1].fn(&cli, &cmds[1], argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	hk_disconnect(cli.client);
	free(cli.socket_resolved);
	thrd_join(th, NULL);
	close(f->listen_fd);
	unlink(f->path);
	off_t n = lseek(ofd, 0, SEEK_END);
	*out = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(ofd, *out, (size_t)n, 0), n);
	close(ofd);
	unlink(tmp);
	return rc;
}

static void test_no_wait_and_wait(void **state)
{
	char root[64];
	struct fake_daemon f = { .final =
		"{\"job_id\":7,\"done\":true,\"job\":{\"job_id\":7,\"outcome\":\"failed\"},"
		"\"report\":{\"files\":[{\"path\":\"/d/x.log\",\"size\":1,\"reason\":\"age\","
		"\"outcome\":\"failed\",\"error\":\"Operation not permitted\"}],"
		"\"registrations\":[{\"directory\":\"/d\",\"error\":null}],"
		"\"totals\":{\"deleted\":0,\"bytes\":0,\"skipped\":0,\"errors\":1}}}" };
	char *out = NULL;
	(void)state;

	assert_non_null(test_tmpdir(root, sizeof(root), "cli"));
	snprintf(f.path, sizeof(f.path), "%s/s", root);
	/* run --no-wait: the job id at once */
	char *run_argv[] = { (char *)"run", (char *)"--no-wait", (char *)"--dry-run", NULL };
	assert_int_equal(fake_run(&f, "run", 3, run_argv, false, &out), CLI_OK);
	assert_string_equal(out, "7\n");
	free(out);
	const json_t *args = json_object_get(json_array_get(f.requests, 0), "args");
	assert_true(json_is_true(json_object_get(args, "no_wait")));
	assert_true(json_is_true(json_object_get(args, "dry_run")));
	json_decref(f.requests);
	/* wait 7: waits (no timeout: not a terminal), prints the report, exits 1 */
	char *wait_argv[] = { (char *)"wait", (char *)"7", NULL };
	assert_int_equal(fake_run(&f, "wait", 2, wait_argv, false, &out), CLI_EDAEMON);
	assert_non_null(strstr(out, "/d/x.log: Operation not permitted"));
	assert_non_null(strstr(out, "1 error)"));
	free(out);
	assert_int_equal(json_array_size(f.requests), 1);
	args = json_object_get(json_array_get(f.requests, 0), "args");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f.requests, 0), "op")),
			    "wait_job");
	assert_int_equal(json_integer_value(json_object_get(args, "job_id")), 7);
	assert_null(json_object_get(args, "timeout"));
	json_decref(f.requests);
	/* wait --json: the reply as is, same exit */
	char *wait_json_argv[] = { (char *)"wait", (char *)"--json", (char *)"7", NULL };
	assert_int_equal(fake_run(&f, "wait", 3, wait_json_argv, true, &out), CLI_EDAEMON);
	json_t *j = test_json(out);
	assert_true(json_is_true(json_object_get(j, "done")));
	json_decref(j);
	free(out);
	json_decref(f.requests);
	test_rmtree(root);
}


/* Issue 18: --json metrics is a structure, not one string. */
static void test_metrics_json(void **state)
{
	const char *text =
		"# HELP hk_files_total Files \\\\ deleted\\nsince start.\n"
		"# TYPE hk_files_total counter\n"
		"hk_files_total{registration=\"logs\"} 12\n"
		"hk_files_total{registration=\"q\\\"x,}\"} 3\n"
		"# HELP hk_build_info Build.\n"
		"# TYPE hk_build_info gauge\n"
		"hk_build_info{version=\"0.1.0\",protocol=\"1\"} 1\n"
		"# TYPE hk_lat_seconds histogram\n"
		"hk_lat_seconds_bucket{le=\"0.5\"} 4\n"
		"hk_lat_seconds_bucket{le=\"+Inf\"} 5\n"
		"hk_lat_seconds_sum 1.25\n"
		"hk_lat_seconds_count 5\n"
		"hk_untyped NaN\n"
		"garbage line here\n"
		"hk_big 1e300 1700000000000\n";
	json_t *j = cli_metrics_json(text);
	(void)state;

	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 5);
	json_t *f = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "hk_files_total");
	assert_string_equal(json_string_value(json_object_get(f, "type")), "counter");
	assert_string_equal(json_string_value(json_object_get(f, "help")),
			    "Files \\ deleted\nsince start.");
	json_t *samples = json_object_get(f, "samples");
	assert_int_equal(json_array_size(samples), 2);
	json_t *s0 = json_array_get(samples, 0);
	assert_null(json_object_get(s0, "name"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(s0, "labels"),
							      "registration")), "logs");
	assert_true(json_is_integer(json_object_get(s0, "value")));
	assert_int_equal(json_integer_value(json_object_get(s0, "value")), 12);
	json_t *s1 = json_array_get(samples, 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s1, "labels"),
							      "registration")), "q\"x,}");
	f = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "hk_build_info");
	s0 = json_array_get(json_object_get(f, "samples"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s0, "labels"),
							      "version")), "0.1.0");
	assert_int_equal(json_integer_value(json_object_get(s0, "value")), 1);
	/* a histogram's series stay in their family, named */
	f = json_array_get(j, 2);
	assert_string_equal(json_string_value(json_object_get(f, "type")), "histogram");
	samples = json_object_get(f, "samples");
	assert_int_equal(json_array_size(samples), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(samples, 2), "name")),
			    "hk_lat_seconds_sum");
	assert_true(json_is_real(json_object_get(json_array_get(samples, 2), "value")));
	/* NaN is a string (JSON has no NaN); untyped without a TYPE line */
	f = json_array_get(j, 3);
	assert_string_equal(json_string_value(json_object_get(f, "type")), "untyped");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(f, "samples"), 0), "value")), "NaN");
	f = json_array_get(j, 4);
	assert_true(json_is_real(json_object_get(json_array_get(json_object_get(f, "samples"), 0),
						 "value")));
	json_decref(j);
	j = cli_metrics_json("");
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

/* What cli_table_show prints on stdout. */
static char *test_table(const struct cli *cli, const json_t *rows, const struct cli_column *cols,
			size_t ncols)
{
	char path[] = "/tmp/hk-test-table-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
	char *out = hk_xcalloc(1, 65536);

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	cli_table_show(cli, rows, cols, ncols, "none");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_true(pread(fd, out, 65535, 0) >= 0);
	close(fd);
	unlink(path);
	return out;
}

static const struct cli_column test_cols[] = {
	{ "NAME", "name", cli_num, 8 },
	{ "STATE", "state", cli_num, 0 },
	{ "FILES", "files", cli_num, 0 },
	{ "DIRECTORY", "directory", cli_num, -10 },
};

/* Issue 18: a table fits its width (100 columns unless the terminal is
 * wider): the shrinkable columns are cut, the last ones first, a path at
 * its start, a name at its end. */
static void test_table_width(void **state)
{
	struct cli cli = { .width = 100 };
	char dir[200], name[80];
	(void)state;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(dir, sizeof(dir), "/srv/%0150d/app-logs", 7);
	json_t *rows = json_pack("[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}]", "name", "logs",
				 "state", "scanning", "files", 12, "directory", dir, "name", name,
				 "state", "watching", "files", 3, "directory", "/var/log/x");
	char *out = test_table(&cli, rows, test_cols, 4);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (strlen(line) > 100)
			fail_msg("%zu columns: %s", strlen(line), line);
		if (strstr(line, "scanning"))
			/* the end of a path stays, its cut start marked */
			assert_true(strstr(line, " ..") && strstr(line, "7/app-logs"));
	}
	free(out);
	/* a wider terminal: nothing cut */
	cli.width = 400;
	out = test_table(&cli, rows, test_cols, 4);
	assert_non_null(strstr(out, dir));
	assert_non_null(strstr(out, name));
	free(out);
	json_decref(rows);
}

/* Issue 18: colour only on a terminal whose TERM is set and not "dumb",
 * never with NO_COLOR (whatever its value). */
static void test_color(void **state)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;
	(void)state;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !ptsname(m))
		skip();
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm-256color", 1);
	assert_true(cli_color_ok(s));
	assert_true(cli_term_ok(s));
	assert_false(cli_color_ok(m < 0 ? -1 : open("/dev/null", O_RDONLY)));   /* not a tty */
	setenv("TERM", "dumb", 1);
	assert_false(cli_color_ok(s));
	assert_false(cli_term_ok(s));
	unsetenv("TERM");
	assert_false(cli_color_ok(s));
	setenv("TERM", "xterm", 1);
	setenv("NO_COLOR", "1", 1);
	assert_false(cli_color_ok(s));
	assert_true(cli_term_ok(s));
	setenv("NO_COLOR", "", 1);
	assert_false(cli_color_ok(s));
	unsetenv("NO_COLOR");
	close(s);
	close(m);
}

/* Terminal width: COLUMNS when it is a number, never below 100. */
static void test_term_width(void **state)
{
	(void)state;
	setenv("COLUMNS", "160", 1);
	assert_int_equal(cli_term_width(), 160);
	setenv("COLUMNS", "60", 1);
	assert_int_equal(cli_term_width(), 100);
	setenv("COLUMNS", "wide", 1);
	assert_true(cli_term_width() >= 100);
	unsetenv("COLUMNS");
}

static void test_span(void **state)
{
	static const struct {
		int64_t sec;
		const char *text;
	} cases[] = {
		{ -3, "now" }, { 4, "now" }, { 42, "42s" }, { 119, "119s" }, { 120, "2m" },
		{ 7199, "119m" }, { 7200, "2h" }, { 172799, "47h" }, { 172800, "2d" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = cli_span(cases[i].sec);
		assert_string_equal(t, cases[i].text);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_cli_report_unlisted),
		cmocka_unit_test(test_cli_report_waiting),
		cmocka_unit_test(test_report_print_unlisted),
		cmocka_unit_test(test_progress_line),
		cmocka_unit_test(test_no_wait_and_wait),
		cmocka_unit_test(test_metrics_json),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_term_width),
		cmocka_unit_test(test_span),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
