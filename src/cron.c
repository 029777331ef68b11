/*
 * cron.c - owns the cron expression grammar (parsing into bit sets) and the
 * next-fire computation in local time.
 *
 * Invariants: a parsed struct hk_cron has at least one bit set in every
 * field; wdays never has bit 7 (7 is folded into Sunday = 0). hk_cron_next
 * walks civil dates (pure arithmetic, whole months skipped when the month
 * does not match) and asks the C library for UTC offsets only on days that
 * match, so even impossible expressions cost a few milliseconds at most.
 * Wall times are turned into instants with the day's offset segments, which
 * is where the DST rules documented in cron.h are applied.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cron.h"
#include "util.h"

#define CRON_ALL_HOURS UINT32_C(0xffffff)
#define CRON_SECS_PER_DAY INT64_C(86400)
/* No UTC offset, past or present, exceeds 16 hours either way. */
#define CRON_MAX_OFFSET INT64_C(57600)
/* One Gregorian cycle: a day pattern that matches nowhere in it never will. */
#define CRON_SEARCH_DAYS 146097
/* Offsets are sampled this far apart when looking for transitions. */
#define CRON_SAMPLE_STEP INT64_C(3 * 3600)
/* Enough offset segments for a day with two transitions and some slack. */
#define CRON_MAX_SEGS 8

enum cron_field_id {
	CRON_MINUTE,
	CRON_HOUR,
	CRON_MDAY,
	CRON_MONTH,
	CRON_WDAY,
	CRON_NFIELDS,
};

struct cron_field {
	const char *name;
	int min;
	int max;            /* largest value accepted as written */
	int implicit_max;   /* upper end of '*' and of "N/step" */
	const char *const *names; /* 3-letter names for min.., or NULL */
};

static const char *const cron_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL,
};

static const char *const cron_wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

static const struct cron_field cron_fields[CRON_NFIELDS] = {
	[CRON_MINUTE] = { "minute", 0, 59, 59, NULL },
	[CRON_HOUR] = { "hour", 0, 23, 23, NULL },
	[CRON_MDAY] = { "day-of-month", 1, 31, 31, NULL },
	[CRON_MONTH] = { "month", 1, 12, 12, cron_month_names },
	[CRON_WDAY] = { "day-of-week", 0, 7, 6, cron_wday_names },
};

static const struct {
	const char *name;
	const char *expr;
} cron_shorthands[] = {
	{ "hourly", "0 * * * *" },
	{ "daily", "0 0 * * *" },
	{ "midnight", "0 0 * * *" },
	{ "weekly", "0 0 * * 0" },
	{ "monthly", "0 0 1 * *" },
	{ "yearly", "0 0 1 1 *" },
	{ "annually", "0 0 1 1 *" },
};

static void cron_set_cause(char **cause, char *msg)
{
	if (cause)
		*cause = msg;
	else
		free(msg);
}

/* Parse one value (number or name) at *pp, within [p, end). */
static int cron_parse_value(const struct cron_field *f, const char **pp, const char *end,
			    const char *item, size_t item_len, int *out, char **cause)
{
	const char *p = *pp;
	const char *start = p;

	if (p < end && isdigit((unsigned char)*p)) {
		long v = 0;
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (v < 1000000)
				v = v * 10 + (*p - '0');
		}
		if (v < f->min || v > f->max) {
			cron_set_cause(cause, hk_xasprintf("%s: %.*s is out of range %d-%d",
							   f->name, (int)(p - start), start,
							   f->min, f->max));
			return -EINVAL;
		}
		*out = (int)v;
		*pp = p;
		return 0;
	}
	if (p < end && isalpha((unsigned char)*p)) {
		while (p < end && isalpha((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - start);
		if (!f->names) {
			cron_set_cause(cause, hk_xasprintf("%s: \"%.*s\" is not a number", f->name,
							   (int)n, start));
			return -EINVAL;
		}
		for (int i = 0; f->names[i]; i++) {
			if (n == 3 && strncasecmp(start, f->names[i], 3) == 0) {
				*out = f->min + i;
				*pp = p;
				return 0;
			}
		}
		cron_set_cause(cause, hk_xasprintf("%s: unknown name \"%.*s\"", f->name, (int)n,
						   start));
		return -EINVAL;
	}
	if (p == end)
		cron_set_cause(cause, hk_xasprintf("%s: missing value in \"%.*s\"", f->name,
						   (int)item_len, item));
	else
		cron_set_cause(cause, hk_xasprintf("%s: unexpected \"%.*s\" in \"%.*s\"", f->name,
						   (int)(end - p), p, (int)item_len, item));
	return -EINVAL;
}

/* Parse one list item: '*', N, N-M, each optionally followed by /STEP. */
static int cron_parse_item(const struct cron_field *f, const char *item, size_t len,
			   uint64_t *bits, char **cause)
{
	const char *p = item;
	const char *end = item + len;
	int lo, hi, step = 1;
	bool single = false;
	int r;

	if (p < end && *p == '*') {
		lo = f->min;
		hi = f->implicit_max;
		p++;
	} else {
		r = cron_parse_value(f, &p, end, item, len, &lo, cause);
		if (r < 0)
			return r;
		hi = lo;
		single = true;
		if (p < end && *p == '-') {
			p++;
			r = cron_parse_value(f, &p, end, item, len, &hi, cause);
			if (r < 0)
				return r;
			single = false;
			/* "fri-sun": Sunday ends a day-of-week range as 7. */
			if (f->names == cron_wday_names && hi == 0 && lo > 0)
				hi = 7;
			if (hi < lo) {
				cron_set_cause(cause, hk_xasprintf("%s: range \"%.*s\" ends before "
								   "it starts",
								   f->name, (int)len, item));
				return -EINVAL;
			}
		}
	}
	if (p < end && *p == '/') {
		const char *s = ++p;
		long v = 0;
		int span = f->implicit_max - f->min + 1;
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (v < 1000000)
				v = v * 10 + (*p - '0');
		}
		if (p == s) {
			cron_set_cause(cause, hk_xasprintf("%s: missing step in \"%.*s\"", f->name,
							   (int)len, item));
			return -EINVAL;
		}
		if (v < 1 || v > span) {
			cron_set_cause(cause, hk_xasprintf("%s: step %.*s is out of range 1-%d",
							   f->name, (int)(p - s), s, span));
			return -EINVAL;
		}
		step = (int)v;
		/* Vixie extension: "5/10" means 5-max/10. */
		if (single)
			hi = f->implicit_max;
	}
	if (p != end) {
		cron_set_cause(cause, hk_xasprintf("%s: unexpected \"%.*s\" in \"%.*s\"", f->name,
						   (int)(end - p), p, (int)len, item));
		return -EINVAL;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

/* Parse one whitespace-free field: a comma-separated list of items. */
static int cron_parse_field(enum cron_field_id id, const char *text, size_t len, uint64_t *bits,
			    char **cause)
{
	const struct cron_field *f = &cron_fields[id];
	const char *p = text;
	const char *end = text + len;

	*bits = 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;
		if (item_end == p) {
			cron_set_cause(cause, hk_xasprintf("%s: empty list item in \"%.*s\"",
							   f->name, (int)len, text));
			return -EINVAL;
		}
		int r = cron_parse_item(f, p, (size_t)(item_end - p), bits, cause);
		if (r < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (id == CRON_WDAY && (*bits & (UINT64_C(1) << 7)))
		*bits = (*bits & ~(UINT64_C(1) << 7)) | 1;
	return 0;
}

static int cron_parse_shorthand(const char *s, struct hk_cron *out, char **cause)
{
	const char *name = s + 1;
	size_t n = 0;

	while (name[n] && !isspace((unsigned char)name[n]))
		n++;
	for (const char *p = name + n; *p; p++) {
		if (!isspace((unsigned char)*p)) {
			cron_set_cause(cause, hk_xasprintf("unexpected \"%s\" after \"@%.*s\"", p,
							   (int)n, name));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < HK_ARRAY_SIZE(cron_shorthands); i++) {
		if (strlen(cron_shorthands[i].name) == n &&
		    strncasecmp(name, cron_shorthands[i].name, n) == 0)
			return hk_cron_parse(cron_shorthands[i].expr, out, cause);
	}
	if (n == 6 && strncasecmp(name, "reboot", 6) == 0)
		cron_set_cause(cause, hk_xasprintf("\"@reboot\" is not supported"));
	else
		cron_set_cause(cause, hk_xasprintf("unknown shorthand \"@%.*s\"", (int)n, name));
	return -EINVAL;
}

int hk_cron_parse(const char *expr, struct hk_cron *out, char **cause)
{
	const char *tok[CRON_NFIELDS + 1];
	size_t tok_len[CRON_NFIELDS + 1];
	uint64_t bits[CRON_NFIELDS];
	struct hk_cron c;
	int nfields = 0;
	const char *p = expr ? expr : "";

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '@')
		return cron_parse_shorthand(p, out, cause);

	while (*p) {
		const char *start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (nfields <= CRON_NFIELDS) {
			tok[nfields] = start;
			tok_len[nfields] = (size_t)(p - start);
		}
		nfields++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (nfields == 0) {
		cron_set_cause(cause, hk_xasprintf("empty expression"));
		return -EINVAL;
	}
	if (nfields != CRON_NFIELDS) {
		cron_set_cause(cause, hk_xasprintf("expected 5 fields, got %d", nfields));
		return -EINVAL;
	}
	for (int i = 0; i < CRON_NFIELDS; i++) {
		int r = cron_parse_field((enum cron_field_id)i, tok[i], tok_len[i], &bits[i],
					 cause);
		if (r < 0)
			return r;
	}
	c.minutes = bits[CRON_MINUTE];
	c.hours = (uint32_t)bits[CRON_HOUR];
	c.mdays = (uint32_t)bits[CRON_MDAY];
	c.months = (uint16_t)bits[CRON_MONTH];
	c.wdays = (uint8_t)bits[CRON_WDAY];
	c.mday_star = tok[CRON_MDAY][0] == '*';
	c.wday_star = tok[CRON_WDAY][0] == '*';
	*out = c;
	return 0;
}

/* Civil dates ------------------------------------------------------------- */

static bool cron_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int cron_month_days(int64_t y, int m)
{
	static const int days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && cron_is_leap(y) ? 29 : days[m];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t cron_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool cron_day_matches(const struct hk_cron *c, int mday, int wday)
{
	bool dom = c->mdays & (UINT32_C(1) << mday);
	bool dow = c->wdays & (1u << wday);
	if (c->mday_star || c->wday_star)
		return dom && dow;
	return dom || dow;
}

/* True when no selected month has a selected day: nothing ever fires. Only
 * possible when the AND rule applies with a day-of-week of all days or a
 * "*" step list, which always includes Sunday, so checking the days of the
 * month alone is exact: every date falls on every weekday over 400 years. */
static bool cron_never_fires(const struct hk_cron *c)
{
	bool or_rule = !c->mday_star && !c->wday_star;
	if (or_rule || c->mday_star)
		return false;
	for (int m = 1; m <= 12; m++) {
		if (!(c->months & (1u << m)))
			continue;
		int max = m == 2 ? 29 : cron_month_days(1, m);
		if (c->mdays & (((UINT32_C(1) << max) - 1) << 1))
			return false;
	}
	return true;
}

/* Offsets ----------------------------------------------------------------- */

/* A stretch of time [start, end) with one UTC offset (seconds east). */
struct cron_seg {
	int64_t start;
	int64_t end;
	int64_t off;
};

static int cron_offset(int64_t t, int64_t *off)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return -ERANGE;
	*off = tm.tm_gmtoff;
	return 0;
}

/* Split [from, to) into segments of constant offset. Transitions are found
 * by sampling every CRON_SAMPLE_STEP and bisecting a change to the second. */
static int cron_segments(int64_t from, int64_t to, struct cron_seg *seg, int *nseg)
{
	int64_t off, t = from;
	int n = 0;
	int r = cron_offset(from, &off);

	if (r < 0)
		return r;
	seg[0] = (struct cron_seg){ from, to, off };
	while (t < to) {
		int64_t next = t + CRON_SAMPLE_STEP < to ? t + CRON_SAMPLE_STEP : to;
		int64_t noff;
		r = cron_offset(next, &noff);
		if (r < 0)
			return r;
		if (noff != seg[n].off && n + 1 < CRON_MAX_SEGS) {
			/* First instant in (t, next] whose offset differs. */
			int64_t lo = t, hi = next;
			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;
				int64_t moff;
				r = cron_offset(mid, &moff);
				if (r < 0)
					return r;
				if (moff == seg[n].off)
					lo = mid;
				else
					hi = mid;
			}
			r = cron_offset(hi, &noff);
			if (r < 0)
				return r;
			seg[n].end = hi;
			n++;
			seg[n] = (struct cron_seg){ hi, to, noff };
			t = hi;
			continue;
		}
		t = next;
	}
	*nseg = n + 1;
	return 0;
}

/*
 * The instant at which wall time `wall` (seconds since the epoch as if the
 * zone were UTC) fires, or false when it does not fire. `every_hour`
 * selects the wildcard semantics of cron.h. `after` is used to pick the
 * second occurrence of a repeated wall time when the first is already past.
 */
static bool cron_wall_instant(const struct cron_seg *seg, int nseg, int64_t wall, bool every_hour,
			      int64_t after, int64_t *out)
{
	bool seen = false;

	for (int i = 0; i < nseg; i++) {
		int64_t t = wall - seg[i].off;
		if (t < seg[i].start || t >= seg[i].end)
			continue;
		if (t > after) {
			*out = t;
			return true;
		}
		/* A fixed-time job fires at the first occurrence only. */
		if (!every_hour)
			return false;
		seen = true;
	}
	if (seen || every_hour)
		return false;
	/* Not found: wall time in a gap; fixed-time jobs fire at its end. */
	for (int i = 0; i + 1 < nseg; i++) {
		if (wall - seg[i].off >= seg[i].end && wall - seg[i + 1].off < seg[i + 1].start) {
			if (seg[i].end > after) {
				*out = seg[i].end;
				return true;
			}
			return false;
		}
	}
	return false;
}

/* Earliest fire instant > after among the wall times of the day starting at
 * wall time day0, into *best (which it only lowers). */
static int cron_scan_day(const struct hk_cron *c, int64_t day0, int64_t after, int64_t *best,
			 bool *found)
{
	struct cron_seg seg[CRON_MAX_SEGS];
	int nseg;
	bool every_hour = (c->hours & CRON_ALL_HOURS) == CRON_ALL_HOURS;
	int r = cron_segments(day0 - CRON_MAX_OFFSET, day0 + CRON_SECS_PER_DAY + CRON_MAX_OFFSET,
			      seg, &nseg);

	if (r < 0)
		return r;
	int64_t min_off = seg[0].off, max_off = seg[0].off;
	for (int i = 1; i < nseg; i++) {
		if (seg[i].off < min_off)
			min_off = seg[i].off;
		if (seg[i].off > max_off)
			max_off = seg[i].off;
	}
	/* Every instant of wall time W (gap ends included) is <= W - min_off:
	 * skip the wall times with W <= after + min_off. */
	int64_t first = after + min_off - day0;
	int start = first < 0 ? 0 : (int)(first / 60) + 1;
	if (start >= 24 * 60)
		return 0;
	for (int h = start / 60; h < 24; h++) {
		if (!(c->hours & (UINT32_C(1) << h)))
			continue;
		for (int m = h == start / 60 ? start % 60 : 0; m < 60; m++) {
			if (!(c->minutes & (UINT64_C(1) << m)))
				continue;
			int64_t wall = day0 + h * 3600 + m * 60;
			int64_t t;
			/* No later wall time can come before what we have. */
			if (*found && wall - max_off > *best)
				return 0;
			if (cron_wall_instant(seg, nseg, wall, every_hour, after, &t) &&
			    (!*found || t < *best)) {
				*best = t;
				*found = true;
			}
		}
	}
	return 0;
}

int hk_cron_next(const struct hk_cron *cron, time_t after, time_t *next)
{
	time_t a = after;
	struct tm tm;
	int64_t best = 0;
	bool found = false;

	tzset();
	if (cron_never_fires(cron))
		return -ERANGE;
	if (!localtime_r(&a, &tm))
		return -ERANGE;

	int64_t y = (int64_t)tm.tm_year + 1900;
	int m = tm.tm_mon + 1, d = tm.tm_mday;
	int64_t days = cron_days_from_civil(y, m, d);
	int wday = tm.tm_wday;

	for (int n = 0; n < CRON_SEARCH_DAYS;) {
		int64_t day0 = days * CRON_SECS_PER_DAY;
		int mlen = cron_month_days(y, m);
		if (found && day0 - CRON_MAX_OFFSET > best)
			break;
		if (!(cron->months & (1u << m))) {
			/* Skip to the first of the next month. */
			int skip = mlen - d + 1;
			n += skip;
			days += skip;
			wday = (wday + skip) % 7;
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
			continue;
		}
		if (cron_day_matches(cron, d, wday)) {
			int r = cron_scan_day(cron, day0, (int64_t)after, &best, &found);
			if (r < 0)
				return r;
		}
		n++;
		days++;
		wday = (wday + 1) % 7;
		if (++d > mlen) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	if (!found)
		return -ERANGE;
	*next = (time_t)best;
	return 0;
}
