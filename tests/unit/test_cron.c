/*
 * test_cron.c - cron grammar (bit sets, names, steps, errors with their
 * exact messages) and next-fire computation: month ends, leap days, the
 * day-of-month/day-of-week OR rule, shorthands, and DST in Europe/Berlin
 * and America/New_York (skipped when tzdata is not installed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cron.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (UINT64_C(1) << (n))

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static bool have_zone(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return access(path, R_OK) == 0;
}

/* Local time "YYYY-MM-DD HH:MM[:SS]" in the current TZ; isdst picks one of
 * a repeated wall time (-1: let mktime decide). */
static time_t local(const char *s, int isdst)
{
	struct tm tm = { 0 };
	int n = sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		       &tm.tm_min, &tm.tm_sec);
	assert_true(n >= 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = isdst;
	time_t t = mktime(&tm);
	assert_true(t != (time_t)-1);
	return t;
}

static const char *fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;
	assert_non_null(localtime_r(&t, &tm));
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
	return buf;
}

static struct hk_cron parse_ok(const char *expr)
{
	struct hk_cron c;
	char *cause = NULL;
	int r = hk_cron_parse(expr, &c, &cause);
	if (r != 0)
		fail_msg("parse \"%s\": %d %s", expr, r, cause ? cause : "(no cause)");
	assert_null(cause);
	return c;
}

/* Parsing into bit sets ----------------------------------------------------- */

struct parse_case {
	const char *expr;
	uint64_t minutes;
	uint32_t hours;
	uint32_t mdays;
	uint16_t months;
	uint8_t wdays;
	bool mday_star;
	bool wday_star;
};

#define ALL_MIN (BIT(60) - 1)
#define ALL_HOUR 0xffffffu
#define ALL_MDAY 0xfffffffeu
#define ALL_MON 0x1ffeu
#define ALL_WDAY 0x7fu

static const struct parse_case parse_cases[] = {
	{ "* * * * *", ALL_MIN, ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, true, true },
	{ "  0   0 \t 1 1 0  ", BIT(0), 1, 2, 2, 1, false, false },
	{ "*/15 * * * *", BIT(0) | BIT(15) | BIT(30) | BIT(45), ALL_HOUR, ALL_MDAY, ALL_MON,
	  ALL_WDAY, true, true },
	{ "1-30/5 * * * *", BIT(1) | BIT(6) | BIT(11) | BIT(16) | BIT(21) | BIT(26), ALL_HOUR,
	  ALL_MDAY, ALL_MON, ALL_WDAY, true, true },
	{ "5/10 * * * *", BIT(5) | BIT(15) | BIT(25) | BIT(35) | BIT(45) | BIT(55), ALL_HOUR,
	  ALL_MDAY, ALL_MON, ALL_WDAY, true, true },
	{ "1,2,10-12,59 * * * *", BIT(1) | BIT(2) | BIT(10) | BIT(11) | BIT(12) | BIT(59),
	  ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, true, true },
	{ "0 */6 * * *", BIT(0), 1u | 1u << 6 | 1u << 12 | 1u << 18, ALL_MDAY, ALL_MON, ALL_WDAY,
	  true, true },
	{ "0 0 */10 * *", BIT(0), 1, 1u << 1 | 1u << 11 | 1u << 21 | 1u << 31, ALL_MON,
	  ALL_WDAY, true, true },
	{ "0 0 1 jan,MAR-may,Dec *", BIT(0), 1, 2, 1u << 1 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 12,
	  ALL_WDAY, false, true },
	{ "0 0 * */3 *", BIT(0), 1, ALL_MDAY, 1u << 1 | 1u << 4 | 1u << 7 | 1u << 10, ALL_WDAY,
	  true, true },
	{ "0 0 * * mon-fri", BIT(0), 1, ALL_MDAY, ALL_MON, 0x3e, true, false },
	{ "0 0 * * SUN", BIT(0), 1, ALL_MDAY, ALL_MON, 1, true, false },
	{ "0 0 * * 7", BIT(0), 1, ALL_MDAY, ALL_MON, 1, true, false },
	{ "0 0 * * 0,7", BIT(0), 1, ALL_MDAY, ALL_MON, 1, true, false },
	{ "0 0 * * 5-7", BIT(0), 1, ALL_MDAY, ALL_MON, 1u | 1u << 5 | 1u << 6, true, false },
	{ "0 0 * * fri-sun", BIT(0), 1, ALL_MDAY, ALL_MON, 0x61, true, false },
	{ "0 0 * * 5-0", BIT(0), 1, ALL_MDAY, ALL_MON, 0x61, true, false },
	{ "0 0 * * 0-7", BIT(0), 1, ALL_MDAY, ALL_MON, ALL_WDAY, true, false },
	{ "0 0 * * */2", BIT(0), 1, ALL_MDAY, ALL_MON, 0x55, true, true },
	{ "0 0 * * 1/2", BIT(0), 1, ALL_MDAY, ALL_MON, 0x2a, true, false },
	{ "0 0 */2 * mon", BIT(0), 1, 0xaaaaaaaau, ALL_MON, 2, true, false },
	{ "0 0 13 * fri", BIT(0), 1, 1u << 13, ALL_MON, 1u << 5, false, false },
	{ "59 23 31 12 6", BIT(59), 1u << 23, 1u << 31, 1u << 12, 1u << 6, false, false },
	{ "*/60 */24 */31 */12 */7", BIT(0), 1, 2, 2, 1, true, true },
	{ "0-59 0-23 1-31 1-12 0-6", ALL_MIN, ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, false, false },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *pc = &parse_cases[i];
		struct hk_cron c = parse_ok(pc->expr);
		print_message("parse \"%s\"\n", pc->expr);
		assert_int_equal(c.minutes, pc->minutes);
		assert_int_equal(c.hours, pc->hours);
		assert_int_equal(c.mdays, pc->mdays);
		assert_int_equal(c.months, pc->months);
		assert_int_equal(c.wdays, pc->wdays);
		assert_int_equal(c.mday_star, pc->mday_star);
		assert_int_equal(c.wday_star, pc->wday_star);
	}
}

static void assert_same_cron(const struct hk_cron *a, const struct hk_cron *b)
{
	assert_int_equal(a->minutes, b->minutes);
	assert_int_equal(a->hours, b->hours);
	assert_int_equal(a->mdays, b->mdays);
	assert_int_equal(a->months, b->months);
	assert_int_equal(a->wdays, b->wdays);
	assert_int_equal(a->mday_star, b->mday_star);
	assert_int_equal(a->wday_star, b->wday_star);
}

static const struct {
	const char *shorthand;
	const char *expr;
} shorthand_cases[] = {
	{ "@hourly", "0 * * * *" },   { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },   { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" }, { "  @DAILY  ", "0 0 * * *" },
};

static void test_parse_shorthands(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(shorthand_cases); i++) {
		struct hk_cron a = parse_ok(shorthand_cases[i].shorthand);
		struct hk_cron b = parse_ok(shorthand_cases[i].expr);
		assert_same_cron(&a, &b);
	}
}

static const struct {
	const char *expr;
	const char *cause;
} error_cases[] = {
	{ "", "empty expression" },
	{ " \t ", "empty expression" },
	{ "* * * *", "expected 5 fields, got 4" },
	{ "* * * * * *", "expected 5 fields, got 6" },
	{ "0", "expected 5 fields, got 1" },
	{ "60 * * * *", "minute: 60 is out of range 0-59" },
	{ "99999999999 * * * *", "minute: 99999999999 is out of range 0-59" },
	{ "* 24 * * *", "hour: 24 is out of range 0-23" },
	{ "* * 0 * *", "day-of-month: 0 is out of range 1-31" },
	{ "* * 32 * *", "day-of-month: 32 is out of range 1-31" },
	{ "* * * 0 *", "month: 0 is out of range 1-12" },
	{ "* * * 13 *", "month: 13 is out of range 1-12" },
	{ "* * * * 8", "day-of-week: 8 is out of range 0-7" },
	{ "* * * * fooday", "day-of-week: unknown name \"fooday\"" },
	{ "* * * * monday", "day-of-week: unknown name \"monday\"" },
	{ "* * * * mon-foo", "day-of-week: unknown name \"foo\"" },
	{ "* * * foo *", "month: unknown name \"foo\"" },
	{ "* * * * jan", "day-of-week: unknown name \"jan\"" },
	{ "x * * * *", "minute: \"x\" is not a number" },
	{ "* * mon * *", "day-of-month: \"mon\" is not a number" },
	{ "1x * * * *", "minute: unexpected \"x\" in \"1x\"" },
	{ "*5 * * * *", "minute: unexpected \"5\" in \"*5\"" },
	{ "1-2-3 * * * *", "minute: unexpected \"-3\" in \"1-2-3\"" },
	{ "*/5/2 * * * *", "minute: unexpected \"/2\" in \"*/5/2\"" },
	{ "-5 * * * *", "minute: unexpected \"-5\" in \"-5\"" },
	{ "1- * * * *", "minute: missing value in \"1-\"" },
	{ "*/ * * * *", "minute: missing step in \"*/\"" },
	{ "*/x * * * *", "minute: missing step in \"*/x\"" },
	{ "*/0 * * * *", "minute: step 0 is out of range 1-60" },
	{ "*/61 * * * *", "minute: step 61 is out of range 1-60" },
	{ "* */25 * * *", "hour: step 25 is out of range 1-24" },
	{ "* * * * */8", "day-of-week: step 8 is out of range 1-7" },
	{ "1,,2 * * * *", "minute: empty list item in \"1,,2\"" },
	{ ",1 * * * *", "minute: empty list item in \",1\"" },
	{ "1, * * * *", "minute: empty list item in \"1,\"" },
	{ "30-10 * * * *", "minute: range \"30-10\" ends before it starts" },
	{ "* * * dec-jan *", "month: range \"dec-jan\" ends before it starts" },
	{ "* * * * sat-mon", "day-of-week: range \"sat-mon\" ends before it starts" },
	{ "@foo", "unknown shorthand \"@foo\"" },
	{ "@", "unknown shorthand \"@\"" },
	{ "@reboot", "\"@reboot\" is not supported" },
	{ "@daily x", "unexpected \"x\" after \"@daily\"" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		struct hk_cron c;
		char *cause = NULL;
		memset(&c, 0xa5, sizeof(c));
		struct hk_cron before = c;
		int r = hk_cron_parse(error_cases[i].expr, &c, &cause);
		print_message("\"%s\" -> %s\n", error_cases[i].expr, cause ? cause : "(null)");
		assert_int_equal(r, -EINVAL);
		assert_non_null(cause);
		assert_string_equal(cause, error_cases[i].cause);
		assert_memory_equal(&c, &before, sizeof(c));
		free(cause);
		/* The cause is optional. */
		assert_int_equal(hk_cron_parse(error_cases[i].expr, &c, NULL), -EINVAL);
	}
	char *cause = NULL;
	struct hk_cron c;
	assert_int_equal(hk_cron_parse(NULL, &c, &cause), -EINVAL);
	assert_string_equal(cause, "empty expression");
	free(cause);
}

/* Next fire ------------------------------------------------------------------ */

#define MAX_FIRES 6

struct next_case {
	const char *tz;
	const char *expr;
	const char *after; /* local time in tz */
	int after_isdst;
	const char *fires[MAX_FIRES]; /* successive next fires, local with zone */
};

static const struct next_case utc_cases[] = {
	/* Month ends: 31 only in long months. */
	{ "UTC", "0 0 31 * *", "2025-01-31 00:00", -1,
	  { "2025-03-31 00:00:00 UTC", "2025-05-31 00:00:00 UTC", "2025-07-31 00:00:00 UTC",
	    "2025-08-31 00:00:00 UTC", "2025-10-31 00:00:00 UTC", "2025-12-31 00:00:00 UTC" } },
	{ "UTC", "0 12 30 * *", "2025-01-30 13:00", -1,
	  { "2025-03-30 12:00:00 UTC", "2025-04-30 12:00:00 UTC" } },
	/* Leap days. */
	{ "UTC", "0 0 29 2 *", "2025-01-01 00:00", -1,
	  { "2028-02-29 00:00:00 UTC", "2032-02-29 00:00:00 UTC" } },
	{ "UTC", "0 0 29 2 *", "2024-02-29 00:00", -1, { "2028-02-29 00:00:00 UTC" } },
	{ "UTC", "0 0 29 2 *", "2096-03-01 00:00", -1, { "2104-02-29 00:00:00 UTC" } },
	{ "UTC", "0 0 28 2 *", "2024-02-28 00:00", -1, { "2025-02-28 00:00:00 UTC" } },
	{ "UTC", "0 0 1 3 *", "2024-02-28 23:59", -1, { "2024-03-01 00:00:00 UTC" } },
	{ "UTC", "0 0 * 2 *", "2024-02-28 00:00", -1,
	  { "2024-02-29 00:00:00 UTC", "2025-02-01 00:00:00 UTC" } },
	/* Steps, lists, strictly after. */
	{ "UTC", "*/15 * * * *", "2025-01-01 00:00", -1,
	  { "2025-01-01 00:15:00 UTC", "2025-01-01 00:30:00 UTC", "2025-01-01 00:45:00 UTC",
	    "2025-01-01 01:00:00 UTC" } },
	{ "UTC", "* * * * *", "2025-01-01 00:00:30", -1,
	  { "2025-01-01 00:01:00 UTC", "2025-01-01 00:02:00 UTC" } },
	{ "UTC", "5/20 9-10 * * *", "2025-01-01 09:05", -1,
	  { "2025-01-01 09:25:00 UTC", "2025-01-01 09:45:00 UTC", "2025-01-01 10:05:00 UTC",
	    "2025-01-01 10:25:00 UTC", "2025-01-01 10:45:00 UTC", "2025-01-02 09:05:00 UTC" } },
	/* Year end. */
	{ "UTC", "59 23 31 12 *", "2025-12-31 23:59", -1, { "2026-12-31 23:59:00 UTC" } },
	{ "UTC", "0 0 1 1 *", "2025-06-01 00:00", -1, { "2026-01-01 00:00:00 UTC" } },
	/* Names; 2026-01-01 is a Thursday. */
	{ "UTC", "0 8 * jun mon", "2026-01-01 00:00", -1,
	  { "2026-06-01 08:00:00 UTC", "2026-06-08 08:00:00 UTC" } },
	{ "UTC", "0 0 * * 7", "2026-01-01 00:00", -1,
	  { "2026-01-04 00:00:00 UTC", "2026-01-11 00:00:00 UTC" } },
	/* OR rule: the 13th or a Friday. */
	{ "UTC", "0 0 13 * fri", "2026-01-01 00:00", -1,
	  { "2026-01-02 00:00:00 UTC", "2026-01-09 00:00:00 UTC", "2026-01-13 00:00:00 UTC",
	    "2026-01-16 00:00:00 UTC" } },
	/* AND rule when one starts with '*': odd days that are Mondays. */
	{ "UTC", "0 0 */2 * mon", "2026-01-01 00:00", -1,
	  { "2026-01-05 00:00:00 UTC", "2026-01-19 00:00:00 UTC", "2026-02-09 00:00:00 UTC" } },
	{ "UTC", "0 0 13 * *", "2026-01-01 00:00", -1,
	  { "2026-01-13 00:00:00 UTC", "2026-02-13 00:00:00 UTC" } },
	{ "UTC", "0 0 * * fri", "2026-01-01 00:00", -1,
	  { "2026-01-02 00:00:00 UTC", "2026-01-09 00:00:00 UTC" } },
	/* Shorthands, from Thursday 2026-01-01 00:00. */
	{ "UTC", "@hourly", "2026-01-01 00:00", -1,
	  { "2026-01-01 01:00:00 UTC", "2026-01-01 02:00:00 UTC" } },
	{ "UTC", "@daily", "2026-01-01 00:00", -1,
	  { "2026-01-02 00:00:00 UTC", "2026-01-03 00:00:00 UTC" } },
	{ "UTC", "@midnight", "2026-01-01 00:00", -1, { "2026-01-02 00:00:00 UTC" } },
	{ "UTC", "@weekly", "2026-01-01 00:00", -1,
	  { "2026-01-04 00:00:00 UTC", "2026-01-11 00:00:00 UTC" } },
	{ "UTC", "@monthly", "2026-01-01 00:00", -1,
	  { "2026-02-01 00:00:00 UTC", "2026-03-01 00:00:00 UTC" } },
	{ "UTC", "@yearly", "2026-01-01 00:00", -1,
	  { "2027-01-01 00:00:00 UTC", "2028-01-01 00:00:00 UTC" } },
	{ "UTC", "@annually", "2026-01-01 00:00", -1, { "2027-01-01 00:00:00 UTC" } },
	/* Before the epoch works too. */
	{ "UTC", "0 0 1 1 *", "1969-06-01 00:00", -1, { "1970-01-01 00:00:00 UTC" } },
};

/* Europe/Berlin 2026: 03-29 02:00 CET -> 03:00 CEST; 10-25 03:00 CEST -> 02:00 CET.
 * America/New_York 2026: 03-08 02:00 EST -> 03:00 EDT; 11-01 02:00 EDT -> 01:00 EST. */
static const struct next_case dst_cases[] = {
	/* Fixed hour in the gap: once, at the gap end. */
	{ "Europe/Berlin", "30 2 * * *", "2026-03-28 12:00", -1,
	  { "2026-03-29 03:00:00 CEST", "2026-03-30 02:30:00 CEST" } },
	{ "Europe/Berlin", "30 2 * * *", "2026-03-29 01:59:59", -1,
	  { "2026-03-29 03:00:00 CEST" } },
	{ "Europe/Berlin", "30 2 * * *", "2026-03-29 03:00:00", 1,
	  { "2026-03-30 02:30:00 CEST" } },
	{ "Europe/Berlin", "*/20 2 * * *", "2026-03-29 00:00", -1,
	  { "2026-03-29 03:00:00 CEST", "2026-03-30 02:00:00 CEST" } },
	/* A gap end that matches by itself too still fires once. */
	{ "Europe/Berlin", "*/30 2,3 * * *", "2026-03-29 00:00", -1,
	  { "2026-03-29 03:00:00 CEST", "2026-03-29 03:30:00 CEST", "2026-03-30 02:00:00 CEST" } },
	{ "Europe/Berlin", "0 3 * * *", "2026-03-29 00:00", -1,
	  { "2026-03-29 03:00:00 CEST", "2026-03-30 03:00:00 CEST" } },
	/* Every hour: real time, the skipped hour does not fire. */
	{ "Europe/Berlin", "0 * * * *", "2026-03-29 00:30", -1,
	  { "2026-03-29 01:00:00 CET", "2026-03-29 03:00:00 CEST", "2026-03-29 04:00:00 CEST" } },
	{ "Europe/Berlin", "30 * * * *", "2026-03-29 01:00", -1,
	  { "2026-03-29 01:30:00 CET", "2026-03-29 03:30:00 CEST" } },
	/* Fixed hour repeated: first occurrence only. */
	{ "Europe/Berlin", "30 2 * * *", "2026-10-24 12:00", -1,
	  { "2026-10-25 02:30:00 CEST", "2026-10-26 02:30:00 CET" } },
	{ "Europe/Berlin", "30 2 * * *", "2026-10-25 02:45", 1, { "2026-10-26 02:30:00 CET" } },
	{ "Europe/Berlin", "*/30 2 * * *", "2026-10-25 00:00", -1,
	  { "2026-10-25 02:00:00 CEST", "2026-10-25 02:30:00 CEST", "2026-10-26 02:00:00 CET" } },
	/* Every hour: both occurrences of the repeated hour. */
	{ "Europe/Berlin", "0 * * * *", "2026-10-25 01:00", -1,
	  { "2026-10-25 02:00:00 CEST", "2026-10-25 02:00:00 CET", "2026-10-25 03:00:00 CET" } },
	{ "Europe/Berlin", "*/30 * * * *", "2026-10-25 02:30", 1,
	  { "2026-10-25 02:00:00 CET", "2026-10-25 02:30:00 CET", "2026-10-25 03:00:00 CET" } },
	{ "Europe/Berlin", "@daily", "2026-03-28 12:00", -1,
	  { "2026-03-29 00:00:00 CET", "2026-03-30 00:00:00 CEST" } },
	{ "America/New_York", "30 2 * * *", "2026-03-07 12:00", -1,
	  { "2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT" } },
	{ "America/New_York", "30 1 * * *", "2026-10-31 12:00", -1,
	  { "2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST" } },
	{ "America/New_York", "*/30 * * * *", "2026-11-01 00:45", -1,
	  { "2026-11-01 01:00:00 EDT", "2026-11-01 01:30:00 EDT", "2026-11-01 01:00:00 EST",
	    "2026-11-01 01:30:00 EST", "2026-11-01 02:00:00 EST" } },
	{ "America/New_York", "0 0 * * *", "2026-03-07 12:00", -1,
	  { "2026-03-08 00:00:00 EST", "2026-03-09 00:00:00 EDT" } },
};

static void run_next_cases(const struct next_case *cases, size_t n)
{
	char buf[64];
	for (size_t i = 0; i < n; i++) {
		const struct next_case *nc = &cases[i];
		set_tz(nc->tz);
		struct hk_cron c = parse_ok(nc->expr);
		time_t t = local(nc->after, nc->after_isdst);
		print_message("%s \"%s\" after %s\n", nc->tz, nc->expr, nc->after);
		for (size_t k = 0; k < MAX_FIRES && nc->fires[k]; k++) {
			time_t next = 0;
			assert_int_equal(hk_cron_next(&c, t, &next), 0);
			assert_true(next > t);
			assert_string_equal(fmt(next, buf, sizeof(buf)), nc->fires[k]);
			t = next;
		}
	}
}

static void test_next_utc(void **state)
{
	(void)state;
	run_next_cases(utc_cases, ARRAY_SIZE(utc_cases));
}

static void test_next_dst(void **state)
{
	(void)state;
	if (!have_zone("Europe/Berlin") || !have_zone("America/New_York"))
		skip();
	run_next_cases(dst_cases, ARRAY_SIZE(dst_cases));
}

/* TZ is read at call time, not cached. */
static void test_next_follows_tz(void **state)
{
	(void)state;
	if (!have_zone("Europe/Berlin"))
		skip();
	struct hk_cron c = parse_ok("0 12 * * *");
	time_t after = 1767225600; /* 2026-01-01 00:00:00 UTC */
	time_t next;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	assert_int_equal(hk_cron_next(&c, after, &next), 0);
	assert_int_equal(next, after + 12 * 3600);
	assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
	assert_int_equal(hk_cron_next(&c, after, &next), 0);
	assert_int_equal(next, after + 11 * 3600);
}

static double elapsed_ms(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void test_next_impossible(void **state)
{
	(void)state;
	static const char *const impossible[] = {
		"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb *", "0 0 31 2 */2",
	};
	set_tz("UTC");
	for (size_t i = 0; i < ARRAY_SIZE(impossible); i++) {
		struct hk_cron c = parse_ok(impossible[i]);
		time_t next = 42;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(hk_cron_next(&c, 1767225600, &next), -ERANGE);
		assert_true(elapsed_ms(&t0) < 50);
		assert_int_equal(next, 42);
	}
	/* Beyond what localtime() handles. */
	struct hk_cron d = parse_ok("* * * * *");
	time_t far = 0;
	assert_int_equal(hk_cron_next(&d, (time_t)INT64_MAX, &far), -ERANGE);
	assert_int_equal(far, 0);
	/* OR rule: the 30th of February never comes, but Mondays do. */
	struct hk_cron c = parse_ok("0 0 30 2 mon");
	time_t next;
	char buf[64];
	assert_int_equal(hk_cron_next(&c, 1767225600, &next), 0);
	assert_string_equal(fmt(next, buf, sizeof(buf)), "2026-02-02 00:00:00 UTC");
	/* Rare but possible (AND rule): a Monday Feb 1st or 29th. */
	c = parse_ok("0 0 */28 2 mon");
	assert_int_equal(hk_cron_next(&c, 1767225600, &next), 0);
	assert_string_equal(fmt(next, buf, sizeof(buf)), "2027-02-01 00:00:00 UTC");
	assert_int_equal(hk_cron_next(&c, next, &next), 0);
	assert_string_equal(fmt(next, buf, sizeof(buf)), "2038-02-01 00:00:00 UTC");
}

/* Far-apart and dense schedules stay fast: no minute-by-minute walking. */
static void test_next_fast(void **state)
{
	(void)state;
	static const char *const exprs[] = {
		"0 0 29 2 *", "59 23 31 12 *", "* * * * *", "0 0 13 * fri", "0 0 */28 2 mon",
	};
	if (!have_zone("Europe/Berlin"))
		skip();
	set_tz("Europe/Berlin");
	for (size_t i = 0; i < ARRAY_SIZE(exprs); i++) {
		struct hk_cron c = parse_ok(exprs[i]);
		time_t t = 1767225600;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; k < 20; k++)
			assert_int_equal(hk_cron_next(&c, t, &t), 0);
		print_message("\"%s\": 20 fires in %.2f ms\n", exprs[i], elapsed_ms(&t0));
		assert_true(elapsed_ms(&t0) < 500);
	}
}

/* Whatever the expression, every fire of a year in a DST zone is strictly
 * increasing and matches the fields (fixed-hour jobs exactly, or at a gap). */
static void test_next_matches_fields(void **state)
{
	(void)state;
	static const char *const exprs[] = { "17 */5 * * *", "0,30 1-3 * * 0", "*/7 * 1,15 * *" };
	if (!have_zone("Europe/Berlin"))
		skip();
	set_tz("Europe/Berlin");
	for (size_t i = 0; i < ARRAY_SIZE(exprs); i++) {
		struct hk_cron c = parse_ok(exprs[i]);
		time_t t = 1767225600, end = t + 366 * 86400;
		int n = 0;
		while (t < end) {
			time_t next;
			struct tm tm;
			assert_int_equal(hk_cron_next(&c, t, &next), 0);
			assert_true(next > t);
			assert_non_null(localtime_r(&next, &tm));
			assert_int_equal(tm.tm_sec, 0);
			assert_true(c.minutes & BIT(tm.tm_min));
			assert_true(c.hours & (1u << tm.tm_hour));
			assert_true(c.months & (1u << (tm.tm_mon + 1)));
			t = next;
			n++;
		}
		assert_true(n > 300);
	}
}

/* Reference model of the DST rules of cron.h, walking real time minute by
 * minute: a minute fires when its wall time matches, unless the job has a
 * fixed hour set and that wall time already occurred (fall back); after a
 * spring-forward jump, a fixed-hour job also fires when any skipped wall
 * time matches. Wall times are compared as "naive" epoch seconds. */
static bool brute_matches(const struct hk_cron *c, const struct tm *tm)
{
	bool dom = c->mdays & (1u << tm->tm_mday);
	bool dow = c->wdays & (1u << tm->tm_wday);
	bool day = (c->mday_star || c->wday_star) ? (dom && dow) : (dom || dow);
	return day && (c->minutes & BIT(tm->tm_min)) && (c->hours & (1u << tm->tm_hour)) &&
	       (c->months & (1u << (tm->tm_mon + 1)));
}

static bool brute_fires(const struct hk_cron *c, time_t t)
{
	bool every_hour = c->hours == 0xffffffu;
	struct tm tm, prev;
	assert_non_null(localtime_r(&t, &tm));
	time_t wall = t + tm.tm_gmtoff;
	time_t p = t - 60;
	assert_non_null(localtime_r(&p, &prev));
	time_t pwall = p + prev.tm_gmtoff;
	if (brute_matches(c, &tm)) {
		if (every_hour)
			return true;
		/* Repeated wall time: did it occur within the last 4 hours? */
		bool repeated = false;
		for (time_t q = t - 60; q >= t - 4 * 3600; q -= 60) {
			struct tm qt;
			assert_non_null(localtime_r(&q, &qt));
			if (q + qt.tm_gmtoff == wall)
				repeated = true;
		}
		if (!repeated)
			return true;
	}
	if (!every_hour && wall - pwall > 60) {
		for (time_t w = pwall + 60; w < wall; w += 60) {
			struct tm wt;
			assert_non_null(gmtime_r(&w, &wt));
			if (brute_matches(c, &wt))
				return true;
		}
	}
	return false;
}

static void test_next_brute_force(void **state)
{
	(void)state;
	static const struct {
		const char *tz;
		const char *from; /* a day before a transition */
	} windows[] = {
		{ "Europe/Berlin", "2026-03-28 00:00" },    { "Europe/Berlin", "2026-10-24 00:00" },
		{ "America/New_York", "2026-03-07 00:00" },
		{ "America/New_York", "2026-10-31 00:00" },
		{ "Australia/Lord_Howe", "2026-04-04 00:00" },
		{ "Australia/Lord_Howe", "2026-10-03 00:00" },
	};
	static const char *const exprs[] = {
		"30 2 * * *", "*/15 * * * *", "*/20 1-3 * * *", "0 * * * *", "45 1 * * *",
		"0,30 2 * * 0", "10 2-4 * * *", "*/30 0-22 * * *",
	};
	for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
		if (!have_zone(windows[w].tz))
			continue;
		set_tz(windows[w].tz);
		time_t start = local(windows[w].from, -1);
		for (size_t e = 0; e < ARRAY_SIZE(exprs); e++) {
			struct hk_cron c = parse_ok(exprs[e]);
			time_t t = start;
			assert_int_equal(hk_cron_next(&c, t, &t), 0);
			for (time_t m = start + 60; m < start + 3 * 86400; m += 60) {
				bool fires = brute_fires(&c, m);
				if (fires != (m == t))
					fail_msg("%s \"%s\": minute %lld fires=%d, next=%lld",
						 windows[w].tz, exprs[e], (long long)m, fires,
						 (long long)t);
				if (m == t)
					assert_int_equal(hk_cron_next(&c, t, &t), 0);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_shorthands),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_next_dst),
		cmocka_unit_test(test_next_follows_tz),
		cmocka_unit_test(test_next_impossible),
		cmocka_unit_test(test_next_fast),
		cmocka_unit_test(test_next_matches_fields),
		cmocka_unit_test(test_next_brute_force),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
