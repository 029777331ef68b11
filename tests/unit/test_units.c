/*
 * test_units.c - duration and size grammars: accepted forms with exact
 * values, errors with exact messages and codes, overflow edges, and the
 * canonical and human formatters (including that canonical forms re-parse).
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

#include <cmocka.h>

#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Durations ---------------------------------------------------------------- */

static const struct {
	const char *s;
	bool allow_bare;
	int64_t sec;
} duration_ok[] = {
	{ "0", false, 0 },
	{ " 0 ", false, 0 },
	{ "0s", false, 0 },
	{ "0.0", false, 0 },
	{ "30s", false, 30 },
	{ "30sec", false, 30 },
	{ "1second", false, 1 },
	{ "2seconds", false, 2 },
	{ "5m", false, 300 },
	{ "5min", false, 300 },
	{ "1minute", false, 60 },
	{ "2minutes", false, 120 },
	{ "2h", false, 7200 },
	{ "2hr", false, 7200 },
	{ "1hour", false, 3600 },
	{ "3hours", false, 10800 },
	{ "30d", false, 2592000 },
	{ "1day", false, 86400 },
	{ "2days", false, 172800 },
	{ "1w", false, 604800 },
	{ "1week", false, 604800 },
	{ "2weeks", false, 1209600 },
	{ "1w 2d", false, 777600 },
	{ "1h30min", false, 5400 },
	{ "1h 30min", false, 5400 },
	{ "2 h 5 min", false, 7500 },
	{ "  1d\t12h  ", false, 129600 },
	{ "1w 2d 3h 4min 5s", false, 788645 },
	{ "1.5h", false, 5400 },
	{ "0.5d", false, 43200 },
	{ "1.25s", false, 2 },
	{ "90s", false, 90 },
	{ "1h 0", false, 3600 },
	{ "30", true, 30 },
	{ "1.5", true, 2 },
	{ "1h 30", true, 3630 },
	{ "9223372036854775807s", false, INT64_MAX },
	{ "9223372036854775806s 0.5s", false, INT64_MAX }, /* rounds up to the max */
	{ "1.5m", false, 90 },
	{ "9223372036854775807", true, INT64_MAX },
	{ "106751991167300d 15h 30min 7s", false, INT64_MAX },
};

static void test_duration_parse_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(duration_ok); i++) {
		int64_t sec = -1;
		char *cause = NULL;
		int r = hk_duration_parse(duration_ok[i].s, duration_ok[i].allow_bare, &sec,
					  &cause);
		if (r != 0)
			fail_msg("\"%s\": %d %s", duration_ok[i].s, r, cause ? cause : "");
		assert_null(cause);
		if (sec != duration_ok[i].sec)
			fail_msg("\"%s\": %lld, expected %lld", duration_ok[i].s, (long long)sec,
				 (long long)duration_ok[i].sec);
	}
}

#define DURATION_UNITS "use s, m or min, h, d or w"

static const struct {
	const char *s;
	bool allow_bare;
	int err;
	const char *cause;
} duration_bad[] = {
	{ "", false, -EINVAL, "empty duration" },
	{ "   ", true, -EINVAL, "empty duration" },
	{ "30", false, -EINVAL, "\"30\": a number needs a unit, e.g. \"30d\" or \"30s\"" },
	{ "1.5", false, -EINVAL, "\"1.5\": a number needs a unit, e.g. \"1.5d\" or \"1.5s\"" },
	{ "1h 30", false, -EINVAL, "\"1h 30\": a number needs a unit, e.g. \"30d\" or \"30s\"" },
	{ "-5s", false, -EINVAL, "\"-5s\": a duration cannot be negative" },
	{ " -1", true, -EINVAL, "\" -1\": a duration cannot be negative" },
	{ "1h-5m", false, -EINVAL, "\"1h-5m\": expected a number at \"-5m\"" },
	{ "abc", false, -EINVAL, "\"abc\": expected a number at \"abc\"" },
	{ "h", false, -EINVAL, "\"h\": expected a number at \"h\"" },
	{ ".5h", false, -EINVAL, "\".5h\": expected a number at \".5h\"" },
	{ "1.h", false, -EINVAL, "\"1.h\": expected digits after \".\"" },
	{ "1h,2m", false, -EINVAL, "\"1h,2m\": expected a number at \",2m\"" },
	{ "5x", false, -EINVAL, "\"5x\": unknown unit \"x\" (" DURATION_UNITS ")" },
	{ "5H", false, -EINVAL, "\"5H\": unknown unit \"H\" (" DURATION_UNITS ")" },
	{ "1 mins", false, -EINVAL, "\"1 mins\": unknown unit \"mins\" (" DURATION_UNITS ")" },
	/* no letter with two meanings: M is MiB, not a month (issue 18) */
	{ "1M", false, -EINVAL,
	  "\"1M\": unknown unit \"M\" (" DURATION_UNITS "; K, M, G, T and B are sizes)" },
	{ "1month", false, -EINVAL, "\"1month\": unknown unit \"month\" (" DURATION_UNITS
	  "; write months or years in days, e.g. \"30d\" or \"365d\")" },
	{ "1y", false, -EINVAL, "\"1y\": unknown unit \"y\" (" DURATION_UNITS
	  "; write months or years in days, e.g. \"30d\" or \"365d\")" },
	{ "2years", false, -EINVAL, "\"2years\": unknown unit \"years\" (" DURATION_UNITS
	  "; write months or years in days, e.g. \"30d\" or \"365d\")" },
	{ "1500ms", false, -EINVAL,
	  "\"1500ms\": unknown unit \"ms\" (" DURATION_UNITS "; durations are whole seconds)" },
	{ "1us", false, -EINVAL,
	  "\"1us\": unknown unit \"us\" (" DURATION_UNITS "; durations are whole seconds)" },
	{ "0.5s", false, -EINVAL, "\"0.5s\": durations below 1s are not supported" },
	{ "9223372036854775808s", false, -ERANGE, "\"9223372036854775808s\": too large" },
	{ "9223372036854775808", true, -ERANGE, "\"9223372036854775808\": too large" },
	{ "9223372036854775807s 1s", false, -ERANGE, "\"9223372036854775807s 1s\": too large" },
	{ "9223372036854775807s 0.1s", false, -ERANGE,
	  "\"9223372036854775807s 0.1s\": too large" },
	{ "99999999999999999999s", false, -ERANGE, "\"99999999999999999999s\": too large" },
	{ "300000000000000d", false, -ERANGE, "\"300000000000000d\": too large" },
	{ "18446744073709551615w", false, -ERANGE, "\"18446744073709551615w\": too large" },
};

static void test_duration_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(duration_bad); i++) {
		int64_t sec = 12345;
		char *cause = NULL;
		int r = hk_duration_parse(duration_bad[i].s, duration_bad[i].allow_bare, &sec,
					  &cause);
		print_message("\"%s\" -> %s\n", duration_bad[i].s, cause ? cause : "(null)");
		assert_int_equal(r, duration_bad[i].err);
		assert_non_null(cause);
		assert_string_equal(cause, duration_bad[i].cause);
		assert_int_equal(sec, 12345);
		free(cause);
		assert_int_equal(hk_duration_parse(duration_bad[i].s, duration_bad[i].allow_bare,
						   &sec, NULL),
				 duration_bad[i].err);
	}
	char *cause = NULL;
	int64_t sec;
	assert_int_equal(hk_duration_parse(NULL, true, &sec, &cause), -EINVAL);
	assert_string_equal(cause, "empty duration");
	free(cause);
}

static const struct {
	int64_t sec;
	const char *s;
} duration_fmt[] = {
	{ 0, "0" },
	{ 1, "1s" },
	{ 59, "59s" },
	{ 60, "1min" },
	{ 90, "1min 30s" },
	{ 3600, "1h" },
	{ 5400, "1h 30min" },
	{ 86400, "1d" },
	{ 2592000, "30d" },
	{ 604800, "1w" },
	{ 788645, "9d 3h 4min 5s" },
	{ 777600 + 10800, "9d 3h" }, { 1209600, "2w" },
	{ 31557600, "365d 6h" },
	{ INT64_MAX, "106751991167300d 15h 30min 7s" },
	{ -90, "-1min 30s" },
	{ INT64_MIN, "-106751991167300d 15h 30min 8s" },
};

static void test_duration_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(duration_fmt); i++) {
		char buf[HK_UNITS_FORMAT_MAX];
		assert_ptr_equal(hk_duration_format(duration_fmt[i].sec, buf, sizeof(buf)), buf);
		assert_string_equal(buf, duration_fmt[i].s);
		if (duration_fmt[i].sec < 0)
			continue;
		int64_t back = -1;
		assert_int_equal(hk_duration_parse(buf, false, &back, NULL), 0);
		assert_int_equal(back, duration_fmt[i].sec);
	}
}

/* Canonical forms round-trip over a spread of values, edges included. */
static void test_duration_roundtrip(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252u;
	for (int i = 0; i < 20000; i++) {
		char buf[HK_UNITS_FORMAT_MAX];
		int64_t v, back = -1;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (int64_t)(x >> (1 + (unsigned)(i % 63)));
		hk_duration_format(v, buf, sizeof(buf));
		assert_int_equal(hk_duration_parse(buf, false, &back, NULL), 0);
		assert_int_equal(back, v);
	}
}

static void test_format_truncates(void **state)
{
	(void)state;
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	hk_duration_format(INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "1067519");
	hk_duration_format(788645, buf, 5);
	assert_string_equal(buf, "9d 3");
	hk_size_format(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "1844674");
	hk_size_human(1536 * 1024, buf, 4);
	assert_string_equal(buf, "1.5");
	/* len 0 writes nothing. */
	buf[0] = 'q';
	hk_duration_format(5, buf, 0);
	hk_size_format(5, buf, 0);
	hk_size_human(5, buf, 0);
	assert_int_equal(buf[0], 'q');
}

/* Sizes -------------------------------------------------------------------- */

static const struct {
	const char *s;
	bool allow_bare;
	uint64_t bytes;
} size_ok[] = {
	{ "0", false, 0 },
	{ " 0 ", false, 0 },
	{ "0M", false, 0 },
	{ "1000B", false, 1000 },
	{ "1K", false, 1024 },
	{ "1KB", false, 1024 },
	{ "1KiB", false, 1024 },
	{ "500M", false, 500ULL << 20 },
	{ "500MB", false, 500ULL << 20 },
	{ "500MiB", false, 500ULL << 20 },
	{ "500 MiB", false, 500ULL << 20 },
	{ "1536K", false, 1536ULL << 10 },
	{ "3G", false, 3ULL << 30 },
	{ "3GB", false, 3ULL << 30 },
	{ "2T", false, 2ULL << 40 },
	{ "2TiB", false, 2ULL << 40 },
	{ "500", true, 500 },
	{ "18446744073709551615B", false, UINT64_MAX },
	{ "18446744073709551615", true, UINT64_MAX },
	{ "16777215T", false, 16777215ULL << 40 },
	{ "17179869183G", false, 17179869183ULL << 30 },
	{ "18014398509481983K", false, 18014398509481983ULL << 10 },
};

static void test_size_parse_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(size_ok); i++) {
		uint64_t v = 1;
		char *cause = NULL;
		int r = hk_size_parse(size_ok[i].s, size_ok[i].allow_bare, &v, &cause);
		if (r != 0)
			fail_msg("\"%s\": %d %s", size_ok[i].s, r, cause ? cause : "");
		assert_null(cause);
		if (v != size_ok[i].bytes)
			fail_msg("\"%s\": %llu, expected %llu", size_ok[i].s,
				 (unsigned long long)v, (unsigned long long)size_ok[i].bytes);
	}
}

#define SIZE_UNITS "(use K, M, G or T, optionally followed by B or iB)"

static const struct {
	const char *s;
	bool allow_bare;
	int err;
	const char *cause;
} size_bad[] = {
	{ "", false, -EINVAL, "empty size" },
	{ " ", true, -EINVAL, "empty size" },
	{ "500", false, -EINVAL,
	  "\"500\": a size needs a unit, e.g. \"500M\" or \"500K\" (\"500B\" for bytes)" },
	{ "-1M", false, -EINVAL, "\"-1M\": a size cannot be negative" },
	{ "M", false, -EINVAL, "\"M\": expected a number" },
	{ "abc", false, -EINVAL, "\"abc\": expected a number" },
	{ "1.5G", false, -EINVAL,
	  "\"1.5G\": a size must be a whole number, use a smaller unit (e.g. \"1536M\", not "
	  "\"1.5G\")" },
	{ "1P", false, -EINVAL, "\"1P\": unknown unit \"P\" " SIZE_UNITS },
	{ "1Mi", false, -EINVAL, "\"1Mi\": unknown unit \"i\" " SIZE_UNITS },
	{ "1MBB", false, -EINVAL, "\"1MBB\": unknown unit \"B\" " SIZE_UNITS },
	{ "1M 2K", false, -EINVAL, "\"1M 2K\": unknown unit \"2K\" " SIZE_UNITS },
	{ "1b", false, -EINVAL, "\"1b\": unknown unit \"b\" " SIZE_UNITS },
	/* upper case only: "m" is minutes in a duration (issue 18) */
	{ "500m", false, -EINVAL,
	  "\"500m\": unknown unit \"m\" (use K, M, G or T, optionally followed by B or iB; "
	  "sizes take upper-case letters)" },
	{ "1k", false, -EINVAL,
	  "\"1k\": unknown unit \"k\" (use K, M, G or T, optionally followed by B or iB; "
	  "sizes take upper-case letters)" },
	{ "99999999999T", false, -ERANGE, "\"99999999999T\": too large" },
	{ "16777216T", false, -ERANGE, "\"16777216T\": too large" },
	{ "18446744073709551616B", false, -ERANGE, "\"18446744073709551616B\": too large" },
	{ "18446744073709551616", true, -ERANGE, "\"18446744073709551616\": too large" },
	{ "18014398509481984K", false, -ERANGE, "\"18014398509481984K\": too large" },
};

static void test_size_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(size_bad); i++) {
		uint64_t v = 12345;
		char *cause = NULL;
		int r = hk_size_parse(size_bad[i].s, size_bad[i].allow_bare, &v, &cause);
		print_message("\"%s\" -> %s\n", size_bad[i].s, cause ? cause : "(null)");
		assert_int_equal(r, size_bad[i].err);
		assert_non_null(cause);
		assert_string_equal(cause, size_bad[i].cause);
		assert_int_equal(v, 12345);
		free(cause);
		assert_int_equal(hk_size_parse(size_bad[i].s, size_bad[i].allow_bare, &v, NULL),
				 size_bad[i].err);
	}
	char *cause = NULL;
	uint64_t v;
	assert_int_equal(hk_size_parse(NULL, true, &v, &cause), -EINVAL);
	assert_string_equal(cause, "empty size");
	free(cause);
}

static const struct {
	uint64_t bytes;
	const char *canonical;
	const char *human;
} size_fmt[] = {
	{ 0, "0", "0 B" },
	{ 1, "1B", "1 B" },
	{ 512, "512B", "512 B" },
	{ 1000, "1000B", "1000 B" },
	{ 1023, "1023B", "1023 B" },
	{ 1024, "1K", "1.0 KiB" },
	{ 1025, "1025B", "1.0 KiB" },
	{ 1536, "1536B", "1.5 KiB" },
	{ 1536 * 1024, "1536K", "1.5 MiB" },
	{ 500ULL << 20, "500M", "500.0 MiB" },
	{ 1048575, "1048575B", "1.0 MiB" },     /* 1023.999 KiB rounds up a unit */
	{ 1048524, "1048524B", "1023.9 KiB" },
	{ 3ULL << 30, "3G", "3.0 GiB" },
	{ (3ULL << 30) + (1ULL << 29), "3584M", "3.5 GiB" },
	{ 2ULL << 40, "2T", "2.0 TiB" },
	{ 1024ULL << 40, "1024T", "1.0 PiB" },
	{ 1ULL << 60, "1048576T", "1.0 EiB" },
	{ UINT64_MAX, "18446744073709551615B", "16.0 EiB" },
	{ UINT64_MAX - 1023, "18014398509481983K", "16.0 EiB" },
};

static void test_size_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(size_fmt); i++) {
		char buf[HK_UNITS_FORMAT_MAX];
		uint64_t back = 1;
		assert_ptr_equal(hk_size_format(size_fmt[i].bytes, buf, sizeof(buf)), buf);
		assert_string_equal(buf, size_fmt[i].canonical);
		assert_int_equal(hk_size_parse(buf, false, &back, NULL), 0);
		assert_int_equal(back, size_fmt[i].bytes);
		assert_ptr_equal(hk_size_human(size_fmt[i].bytes, buf, sizeof(buf)), buf);
		assert_string_equal(buf, size_fmt[i].human);
	}
}

/* min_free/free_target (SIZE or N%) and low_watermark (N%). */
static void test_space_and_percent(void **state)
{
	struct hk_space sp;
	unsigned pct;
	char buf[HK_UNITS_FORMAT_MAX];
	char *cause = NULL;
	(void)state;

	assert_int_equal(hk_space_parse("10%", &sp, NULL), 0);
	assert_true(sp.set && sp.is_percent && sp.percent == 10);
	assert_string_equal(hk_space_format(&sp, buf, sizeof(buf)), "10%");
	assert_int_equal(hk_space_bytes(&sp, 1000), 100);
	assert_int_equal(hk_space_bytes(&sp, 1001), 101);   /* rounded up */
	assert_int_equal(hk_space_parse("2G", &sp, NULL), 0);
	assert_true(sp.set && !sp.is_percent && sp.bytes == 2ULL << 30);
	assert_string_equal(hk_space_format(&sp, buf, sizeof(buf)), "2G");
	assert_int_equal(hk_space_bytes(&sp, 1000), 2ULL << 30);
	assert_int_equal(hk_space_parse("100%", &sp, &cause), -ERANGE);
	assert_non_null(strstr(cause, "99%"));
	free(cause);
	cause = NULL;
	assert_int_equal(hk_space_parse("0%", &sp, NULL), -ERANGE);
	assert_int_equal(hk_space_parse("5.5%", &sp, NULL), -EINVAL);
	assert_int_equal(hk_space_parse("5", &sp, NULL), -EINVAL);   /* a size needs its unit */
	assert_int_equal(hk_percent_parse("80%", &pct, NULL), 0);
	assert_int_equal(pct, 80);
	assert_int_equal(hk_percent_parse("100%", &pct, NULL), 0);
	assert_int_equal(hk_percent_parse("101%", &pct, NULL), -ERANGE);
	assert_int_equal(hk_percent_parse("80", &pct, &cause), -EINVAL);
	assert_non_null(strstr(cause, "N%"));
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse_ok),
		cmocka_unit_test(test_duration_parse_errors),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_roundtrip),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_size_parse_ok),
		cmocka_unit_test(test_size_parse_errors),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_space_and_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
