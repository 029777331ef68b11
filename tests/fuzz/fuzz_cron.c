/*
 * fuzz_cron.c - libFuzzer target for cron.h: the input, as a NUL-terminated
 * expression, through hk_cron_parse; when it parses, hk_cron_next from a
 * few fixed times (ordinary days and DST transition days) in a few time
 * zones (TZ), three fires in a row.
 *
 * Checked contracts: 0 or -EINVAL; *cause set exactly on error and *out
 * untouched then; a next fire is strictly after its start, on a minute
 * boundary, in a matching month and day (Vixie day-of-month/day-of-week
 * rule), at a matching minute and hour unless it is the first instant after
 * a DST gap; and when no UTC offset change is near, no matching minute is
 * skipped between the start and the fire (brute force, windows <= 1 day).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_zones[] = {
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
};

/* Starts, UTC: ordinary, spring-forward and fall-back days (Europe and
 * US 2026), a leap day, the end of a Gregorian-cycle search. */
static const time_t fuzz_starts[] = {
	1735689600,  /* 2025-01-01 00:00 */
	1774742400,  /* 2026-03-29 00:00 */
	1772928000,  /* 2026-03-08 00:00 */
	1792886400,  /* 2026-10-25 00:00 */
	1709164800,  /* 2024-02-29 00:00 */
	4096483200,  /* 2099-10-24 00:00 */
};

static void fuzz_fail(const char *expr, const char *zone, time_t after, time_t next,
		      const char *what)
{
	fprintf(stderr, "cron \"%s\" TZ=%s after %lld: next %lld: %s\n", expr, zone,
		(long long)after, (long long)next, what);
	abort();
}

/* Do the date (month, day-of-month/day-of-week) of tm match? */
static bool fuzz_day_matches(const struct hk_cron *c, const struct tm *tm)
{
	bool m = c->mdays & (UINT32_C(1) << tm->tm_mday);
	bool w = c->wdays & (1u << tm->tm_wday);

	if (!(c->months & (1u << (tm->tm_mon + 1))))
		return false;
	if (!c->mday_star && !c->wday_star)
		return m || w;
	return m && w;
}

static bool fuzz_time_matches(const struct hk_cron *c, const struct tm *tm)
{
	return (c->minutes & (UINT64_C(1) << tm->tm_min)) && (c->hours & (UINT32_C(1) << tm->tm_hour));
}

static long fuzz_offset(time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		abort();
	return tm.tm_gmtoff;
}

static void fuzz_check_next(const char *expr, const char *zone, const struct hk_cron *c,
			    time_t after, time_t next)
{
	struct tm tm;
	bool gap_end;

	if (next <= after)
		fuzz_fail(expr, zone, after, next, "not after the start");
	if (!localtime_r(&next, &tm))
		fuzz_fail(expr, zone, after, next, "localtime fails");
	if (!fuzz_day_matches(c, &tm))
		fuzz_fail(expr, zone, after, next, "day does not match");
	gap_end = fuzz_offset(next - 1) < tm.tm_gmtoff;
	if (!gap_end && (tm.tm_sec != 0 || !fuzz_time_matches(c, &tm)))
		fuzz_fail(expr, zone, after, next, "time does not match");

	/* Brute force: no matching minute in between, when no offset change
	 * is within 3 hours of the window (DST rules are for the unit tests). */
	if (next - after > 86400 || fuzz_offset(after - 3 * 3600) != fuzz_offset(next + 3 * 3600) ||
	    fuzz_offset(after) != fuzz_offset(next) ||
	    fuzz_offset(after + (next - after) / 2) != fuzz_offset(next))
		return;
	for (time_t t = after - after % 60 + 60; t < next; t += 60) {
		if (!localtime_r(&t, &tm))
			abort();
		if (fuzz_day_matches(c, &tm) && fuzz_time_matches(c, &tm)) {
			fprintf(stderr, "matching minute %lld skipped\n", (long long)t);
			fuzz_fail(expr, zone, after, next, "skips a matching minute");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_cron cron, untouched;
	char *expr, *cause = NULL;
	int r;

	if (size > 1024)
		return 0;
	expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';

	memset(&cron, 0xa5, sizeof(cron));
	untouched = cron;
	r = hk_cron_parse(expr, &cron, &cause);
	if (r != 0) {
		if (r != -EINVAL || !cause || !*cause || memcmp(&cron, &untouched, sizeof(cron)) != 0)
			fuzz_fail(expr, "-", 0, 0, "bad error contract");
		free(cause);
		free(expr);
		return 0;
	}
	if (cause)
		fuzz_fail(expr, "-", 0, 0, "cause set on success");
	/* Only the documented bits may be set. */
	if ((cron.minutes >> 60) || (cron.hours >> 24) || (cron.mdays & 1) ||
	    (cron.months & ~UINT16_C(0x1ffe)) || (cron.wdays >> 7))
		fuzz_fail(expr, "-", 0, 0, "bits out of range");

	for (size_t z = 0; z < sizeof(fuzz_zones) / sizeof(fuzz_zones[0]); z++) {
		setenv("TZ", fuzz_zones[z], 1);
		tzset();
		for (size_t s = 0; s < sizeof(fuzz_starts) / sizeof(fuzz_starts[0]); s++) {
			time_t after = fuzz_starts[s], next = 0;

			for (int k = 0; k < 3; k++) {
				r = hk_cron_next(&cron, after, &next);
				if (r == -ERANGE)
					break;
				if (r != 0)
					fuzz_fail(expr, fuzz_zones[z], after, next, "unexpected return");
				fuzz_check_next(expr, fuzz_zones[z], &cron, after, next);
				after = next;
			}
		}
	}
	free(expr);
	return 0;
}
