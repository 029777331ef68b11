/*
 * test_cli.c - the text housekeeperctl and housekeeperd --once make of a
 * run and a job, without a daemon: the exit code a job's reply calls for
 * (a failed deletion is 1 even when the daemon says ok), the report's note
 * on files it left unlisted (with the JSON report's path), registrations
 * waiting for their directory, and the progress line.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"
#include "engine.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_cli_report_unlisted),
		cmocka_unit_test(test_cli_report_waiting),
		cmocka_unit_test(test_report_print_unlisted),
		cmocka_unit_test(test_progress_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
