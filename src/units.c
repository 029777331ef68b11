/*
 * units.c - owns the duration and size grammars of the configuration
 * (parsing, canonical formatting, human-readable sizes).
 *
 * Invariants: every canonical form produced by hk_duration_format and
 * hk_size_format re-parses, with allow_bare false, to the same value.
 * Durations are summed exactly in microseconds (every unit is a whole
 * number of them) with 128-bit arithmetic, so overflow is detected, never
 * wrapped; the total is then rounded up to whole seconds.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "util.h"

#define UNITS_USEC_PER_SEC UINT64_C(1000000)

typedef unsigned __int128 units_u128;

/* The units of SPEC 3 (s, min/m, h, d, w) and their long spellings; no
 * unit letter means two things across the grammars: "M" is MiB in sizes
 * only (there are no months or years here, nor sub-second units), "m" is
 * minutes in durations only (sizes take upper-case letters). */
static const struct {
	const char *name;
	uint64_t usec;
} units_durations[] = {
	{ "s", UNITS_USEC_PER_SEC },
	{ "sec", UNITS_USEC_PER_SEC },
	{ "second", UNITS_USEC_PER_SEC },
	{ "seconds", UNITS_USEC_PER_SEC },
	{ "m", 60 * UNITS_USEC_PER_SEC },
	{ "min", 60 * UNITS_USEC_PER_SEC },
	{ "minute", 60 * UNITS_USEC_PER_SEC },
	{ "minutes", 60 * UNITS_USEC_PER_SEC },
	{ "h", 3600 * UNITS_USEC_PER_SEC },
	{ "hr", 3600 * UNITS_USEC_PER_SEC },
	{ "hour", 3600 * UNITS_USEC_PER_SEC },
	{ "hours", 3600 * UNITS_USEC_PER_SEC },
	{ "d", 86400 * UNITS_USEC_PER_SEC },
	{ "day", 86400 * UNITS_USEC_PER_SEC },
	{ "days", 86400 * UNITS_USEC_PER_SEC },
	{ "w", 604800 * UNITS_USEC_PER_SEC },
	{ "week", 604800 * UNITS_USEC_PER_SEC },
	{ "weeks", 604800 * UNITS_USEC_PER_SEC },
};

/* Units of the canonical duration form, largest first. */
static const struct {
	const char *name;
	uint64_t sec;
} units_duration_fmt[] = {
	{ "w", 604800 }, { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "s", 1 },
};

static void units_set_cause(char **cause, char *msg)
{
	if (cause)
		*cause = msg;
	else
		free(msg);
}

static int units_too_large(const char *s, char **cause)
{
	units_set_cause(cause, hk_xasprintf("\"%s\": too large", s));
	return -ERANGE;
}

static bool units_is_space(char c)
{
	return isspace((unsigned char)c);
}

/* Parse the decimal digits at *pp into *v; false on overflow of uint64. */
static bool units_digits(const char **pp, uint64_t *v, int *ndigits)
{
	const char *p = *pp;
	bool ok = true;

	*v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (*v > (UINT64_MAX - d) / 10)
			ok = false;
		else
			*v = *v * 10 + d;
	}
	*ndigits = (int)(p - *pp);
	*pp = p;
	return ok;
}

/* The error of an unknown duration unit: the units there are, and what
 * the letter means where it is no duration unit. */
static char *units_duration_unknown(const char *s, const char *unit, size_t ulen)
{
	const char *hint = "";

	if (ulen == 1 && strchr("KMGTB", unit[0]))
		hint = "; K, M, G, T and B are sizes";
	else if ((ulen == 1 && unit[0] == 'y') || (ulen >= 4 && strncmp(unit, "year", 4) == 0) ||
		 (ulen >= 5 && strncmp(unit, "month", 5) == 0))
		hint = "; write months or years in days, e.g. \"30d\" or \"365d\"";
	else if (ulen == 2 && (strncmp(unit, "ms", 2) == 0 || strncmp(unit, "us", 2) == 0))
		hint = "; durations are whole seconds";
	return hk_xasprintf("\"%s\": unknown unit \"%.*s\" (" HK_UNITS_DURATION_UNITS "%s)", s,
			    (int)ulen, unit, hint);
}

static const char *units_skip_space(const char *p)
{
	while (units_is_space(*p))
		p++;
	return p;
}

int hk_duration_parse(const char *s, bool allow_bare, int64_t *out_sec, char **cause)
{
	const units_u128 max_usec = (units_u128)INT64_MAX * UNITS_USEC_PER_SEC;
	units_u128 total = 0;
	const char *p;

	if (!s || !*units_skip_space(s)) {
		units_set_cause(cause, hk_xasprintf("empty duration"));
		return -EINVAL;
	}
	p = units_skip_space(s);
	while (*p) {
		const char *num = p;
		uint64_t ipart, fpart = 0, fscale = 1;
		int nd, nf = 0;

		if (*p == '-' && num == units_skip_space(s)) {
			units_set_cause(cause, hk_xasprintf("\"%s\": a duration cannot be negative",
							    s));
			return -EINVAL;
		}
		if (!isdigit((unsigned char)*p)) {
			units_set_cause(cause, hk_xasprintf("\"%s\": expected a number at \"%s\"",
							    s, p));
			return -EINVAL;
		}
		if (!units_digits(&p, &ipart, &nd))
			return units_too_large(s, cause);
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p)) {
				units_set_cause(cause, hk_xasprintf("\"%s\": expected digits after "
								    "\".\"",
								    s));
				return -EINVAL;
			}
			/* Digits beyond the 18th are below a microsecond even for years. */
			for (; isdigit((unsigned char)*p); p++) {
				if (nf < 18) {
					fpart = fpart * 10 + (uint64_t)(*p - '0');
					fscale *= 10;
					nf++;
				}
			}
		}
		int numlen = (int)(p - num);
		p = units_skip_space(p);

		const char *unit = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t ulen = (size_t)(p - unit);
		uint64_t mult = 0;
		if (ulen == 0) {
			if (!allow_bare && (ipart != 0 || fpart != 0)) {
				units_set_cause(cause,
						hk_xasprintf("\"%s\": a number needs a unit, e.g. "
							     "\"%.*sd\" or \"%.*ss\"",
							     s, numlen, num, numlen, num));
				return -EINVAL;
			}
			mult = UNITS_USEC_PER_SEC;
		} else {
			for (size_t i = 0; i < HK_ARRAY_SIZE(units_durations); i++) {
				if (strlen(units_durations[i].name) == ulen &&
				    memcmp(units_durations[i].name, unit, ulen) == 0) {
					mult = units_durations[i].usec;
					break;
				}
			}
			if (!mult) {
				units_set_cause(cause, units_duration_unknown(s, unit, ulen));
				return -EINVAL;
			}
		}
		/* ipart < 2^64, mult < 2^45: the product fits in 128 bits. */
		units_u128 term = (units_u128)ipart * mult;
		term += ((units_u128)fpart * mult + fscale - 1) / fscale;
		total += term;
		if (total > max_usec)
			return units_too_large(s, cause);
		p = units_skip_space(p);
	}
	if (total > 0 && total < UNITS_USEC_PER_SEC) {
		units_set_cause(cause, hk_xasprintf("\"%s\": durations below 1s are not supported",
						    s));
		return -EINVAL;
	}
	/* Fractions of a second round up: a limit is never shorter than written. */
	total = (total + UNITS_USEC_PER_SEC - 1) / UNITS_USEC_PER_SEC;
	*out_sec = (int64_t)total;
	return 0;
}

int hk_size_parse(const char *s, bool allow_bare, uint64_t *out_bytes, char **cause)
{
	const char *p;
	uint64_t v;
	int nd, shift = 0;
	bool has_unit = false;

	if (!s || !*units_skip_space(s)) {
		units_set_cause(cause, hk_xasprintf("empty size"));
		return -EINVAL;
	}
	p = units_skip_space(s);
	if (*p == '-') {
		units_set_cause(cause, hk_xasprintf("\"%s\": a size cannot be negative", s));
		return -EINVAL;
	}
	if (!isdigit((unsigned char)*p)) {
		units_set_cause(cause, hk_xasprintf("\"%s\": expected a number", s));
		return -EINVAL;
	}
	const char *num = p;
	bool fits = units_digits(&p, &v, &nd);
	if (*p == '.' || *p == ',') {
		units_set_cause(cause, hk_xasprintf("\"%s\": a size must be a whole number, use "
						    "a smaller unit (e.g. \"1536M\", not \"1.5G\")",
						    s));
		return -EINVAL;
	}
	p = units_skip_space(p);
	switch (*p) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: break;
	}
	if (shift) {
		p++;
		has_unit = true;
		if (p[0] == 'i' && p[1] == 'B')
			p += 2;
		else if (p[0] == 'B')
			p++;
	} else if (*p == 'B') {
		p++;
		has_unit = true;
	}
	p = units_skip_space(p);
	if (*p) {
		bool lower = p[0] && strchr("kmgt", p[0]);
		units_set_cause(cause, hk_xasprintf("\"%s\": unknown unit \"%s\" (" HK_UNITS_SIZE_UNITS
						    "%s)", s, p, lower ? "; sizes take upper-case letters" : ""));
		return -EINVAL;
	}
	if (!fits || (shift && v > (UINT64_MAX >> shift)))
		return units_too_large(s, cause);
	if (!has_unit && !allow_bare && v != 0) {
		units_set_cause(cause, hk_xasprintf("\"%s\": a size needs a unit, e.g. \"%.*sM\" "
						    "or \"%.*sK\" (\"%.*sB\" for bytes)",
						    s, nd, num, nd, num, nd, num));
		return -EINVAL;
	}
	*out_bytes = v << shift;
	return 0;
}

/* snprintf that appends at *off and never overruns buf. */
static void units_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void units_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

char *hk_duration_format(int64_t sec, char *buf, size_t len)
{
	size_t off = 0;
	uint64_t v = sec < 0 ? (uint64_t)0 - (uint64_t)sec : (uint64_t)sec;
	bool first = true;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (v == 0) {
		units_append(buf, len, &off, "0");
		return buf;
	}
	if (sec < 0)
		units_append(buf, len, &off, "-");
	/* weeks only for whole weeks: "30d" reads better than "4w 2d" */
	bool weeks = v % 604800 == 0;
	for (size_t i = 0; i < HK_ARRAY_SIZE(units_duration_fmt); i++) {
		uint64_t n = v / units_duration_fmt[i].sec;
		if (!n || (units_duration_fmt[i].sec == 604800 && !weeks))
			continue;
		v %= units_duration_fmt[i].sec;
		units_append(buf, len, &off, "%s%" PRIu64 "%s", first ? "" : " ", n,
			     units_duration_fmt[i].name);
		first = false;
	}
	return buf;
}

char *hk_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char suffix[] = "KMGT";
	int unit = 0;

	if (len == 0)
		return buf;
	if (bytes == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	while (unit < 4 && bytes % (UINT64_C(1) << (10 * (unit + 1))) == 0)
		unit++;
	if (unit == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, "%" PRIu64 "%c", bytes >> (10 * unit), suffix[unit - 1]);
	return buf;
}

char *hk_size_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int unit = 0;

	if (len == 0)
		return buf;
	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (unit + 1 < (int)HK_ARRAY_SIZE(names) && bytes >= UINT64_C(1) << (10 * (unit + 1)))
		unit++;
	/* Tenths of the unit, rounded half up; 1023.95 KiB becomes 1.0 MiB. */
	units_u128 scale = (units_u128)1 << (10 * unit);
	uint64_t tenths = (uint64_t)(((units_u128)bytes * 10 + scale / 2) / scale);
	if (tenths >= 10240 && unit + 1 < (int)HK_ARRAY_SIZE(names)) {
		unit++;
		scale <<= 10;
		tenths = (uint64_t)(((units_u128)bytes * 10 + scale / 2) / scale);
	}
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10, tenths % 10, names[unit]);
	return buf;
}

/* "N%" with N a whole number in lo..hi: 0 and *out, or -EINVAL/-ERANGE. */
static int units_percent(const char *s, unsigned lo, unsigned hi, unsigned *out, char **cause)
{
	const char *p = units_skip_space(s);
	char *end;
	if (!isdigit((unsigned char)*p)) {
		units_set_cause(cause, hk_xasprintf("\"%s\": expected a number of percent (N%%)", s));
		return -EINVAL;
	}
	errno = 0;
	unsigned long v = strtoul(p, &end, 10);
	if (*end != '%' || *units_skip_space(end + 1)) {
		units_set_cause(cause, hk_xasprintf("\"%s\": expected N%% with a whole N", s));
		return -EINVAL;
	}
	if (errno == ERANGE || v < lo || v > hi) {
		units_set_cause(cause, hk_xasprintf("\"%s\": a share from %u%% to %u%%", s, lo, hi));
		return -ERANGE;
	}
	*out = (unsigned)v;
	return 0;
}

int hk_space_parse(const char *s, struct hk_space *out, char **cause)
{
	struct hk_space sp = { .set = true };
	int r;
	if (s && strchr(s, '%')) {
		sp.is_percent = true;
		r = units_percent(s, 1, 99, &sp.percent, cause);
	} else {
		r = hk_size_parse(s, false, &sp.bytes, cause);
	}
	if (r == 0)
		*out = sp;
	return r;
}

int hk_percent_parse(const char *s, unsigned *out, char **cause)
{
	if (!s || !strchr(s, '%')) {
		units_set_cause(cause, hk_xasprintf("\"%s\": expected a share N%% (1%% to 100%%)",
						    s ? s : ""));
		return -EINVAL;
	}
	return units_percent(s, 1, 100, out, cause);
}

char *hk_space_format(const struct hk_space *sp, char *buf, size_t len)
{
	if (!sp->set)
		snprintf(buf, len, "%s", "");
	else if (sp->is_percent)
		snprintf(buf, len, "%u%%", sp->percent);
	else
		hk_size_format(sp->bytes, buf, len);
	return buf;
}

uint64_t hk_space_bytes(const struct hk_space *sp, uint64_t fs_bytes)
{
	if (!sp->set)
		return 0;
	if (!sp->is_percent)
		return sp->bytes;
	/* fs_bytes * percent / 100, rounded up, without overflow */
	uint64_t q = fs_bytes / 100, r = fs_bytes % 100;
	return q * sp->percent + (r * sp->percent + 99) / 100;
}
