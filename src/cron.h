/*
 * cron.h - 5-field cron expressions (minute hour day-of-month month
 * day-of-week) with lists, ranges, steps, month and day names, and the
 * @hourly @daily @midnight @weekly @monthly @yearly @annually shorthands.
 *
 * Grammar, per field: a comma list of items; an item is "*", N or N-M,
 * optionally followed by "/STEP". "N/STEP" means N-max/STEP (Vixie). Month
 * names jan..dec and day names sun..sat (3 letters, any case) may stand for
 * numbers, also in ranges. Day-of-week takes 0-7, 0 and 7 both Sunday; the
 * implicit end of "*" and "N/STEP" there is 6 (sat), so "*\/2" is sun,tue,
 * thu,sat, and a range ending in Sunday counts it as 7 ("fri-sun", "5-0").
 * Ranges must not go backwards otherwise ("5-1" is an error). Steps are
 * 1..span of the field (1-60 for minutes, 1-7 for day-of-week).
 * Day-of-month and day-of-week follow Vixie cron: when both are restricted
 * (neither starts with '*'), a day matches if either matches; otherwise
 * both must match (so "0 0 *\/2 * mon" is odd days that are Mondays).
 *
 * Next-fire computation in local time (TZ at call time), DST-correct, with
 * the Vixie/cronie split between wildcard and fixed-time jobs:
 *  - a job whose hour field matches every hour ("*", "0-23", "*\/1") follows
 *    real time: on a fall-back day a repeated wall time fires at both of its
 *    occurrences ("0 * * * *" fires every real hour, at 02:00 CEST and again
 *    at 02:00 CET), and a wall time skipped by spring-forward does not fire
 *    ("30 * * * *" fires 01:30 CET then 03:30 CEST, one real hour later);
 *  - any other job (a fixed hour set) fires once per matching wall time: a
 *    repeated wall time at its first occurrence only, and a wall time that
 *    does not exist at the first instant after the gap ("30 2 * * *" fires
 *    at 03:00 CEST on 2026-03-29 in Europe/Berlin). Several skipped wall
 *    times of one gap, and a match at the gap end itself, fire once.
 * Pure functions; the only allocation is the cause string.
 */
#ifndef HK_CRON_H
#define HK_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct hk_cron {
	uint64_t minutes;   /* bit n set: minute n (0-59) */
	uint32_t hours;     /* bits 0-23 */
	uint32_t mdays;     /* bits 1-31 */
	uint16_t months;    /* bits 1-12 */
	uint8_t wdays;      /* bits 0-6, Sunday = 0 (7 accepted as Sunday) */
	bool mday_star;     /* day-of-month field started with '*' */
	bool wday_star;     /* day-of-week field started with '*' */
};

/* Parse expr into *out (shorthands in any case; "@reboot" is refused).
 * Returns 0, or -EINVAL with *cause (new string owned by the caller; pass
 * NULL to not ask) naming the bad field and why, e.g. "minute: 60 is out of
 * range 0-59". On error *out is untouched; *cause is set only on error. */
int hk_cron_parse(const char *expr, struct hk_cron *out, char **cause);

/* The first fire time strictly after `after` (epoch seconds), in the local
 * time zone as set by TZ at call time (tzset() is called). Returns 0 and
 * *next, or -ERANGE when no time ever matches (e.g. "0 0 30 2 *": detected
 * without searching) or none matches within 400 years (a full Gregorian
 * cycle, so in practice never for a valid expression: "0 0 29 2 *" after
 * 2096-03-01 finds 2104-02-29), or when `after` is out of the range
 * localtime() handles. Walks days, skipping non-matching months, so it
 * costs well under a millisecond for ordinary expressions. */
int hk_cron_next(const struct hk_cron *cron, time_t after, time_t *next);

#endif /* HK_CRON_H */
