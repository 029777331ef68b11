/*
 * cli_metrics.c - housekeeperctl's --json form of the metrics: the
 * Prometheus text exposition (what the daemon sends and writes for
 * node_exporter) parsed into metric families, so that scripts get a
 * structure, not one string. Pure: text in, JSON out.
 *
 * A family is opened by its "# HELP" or "# TYPE" line, or by a sample of
 * a name not seen before ("untyped"); a sample joins the family it
 * continues (histogram and summary series: NAME_bucket, NAME_sum,
 * NAME_count), and names its series ("name") only when that differs from
 * the family's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "util.h"

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':'). */
static size_t cli_metrics_name_len(const char *p)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
	       p[n] == ':' || (n > 0 && p[n] >= '0' && p[n] <= '9'))
		n++;
	return n;
}

/* Text up to end with the exposition's escapes (\\, \n, and in label
 * values \") undone; NULL when it is not UTF-8. */
static json_t *cli_metrics_unescape(const char *p, const char *end)
{
	struct hk_buf b = { 0 };
	json_t *s;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			hk_buf_append(&b, *p == 'n' ? "\n" : p, 1);
		} else {
			hk_buf_append(&b, p, 1);
		}
	}
	s = json_stringn(b.data ? b.data : "", b.len);
	hk_buf_fini(&b);
	return s;
}

/* A sample value: an integer when whole and exact in a double, a real,
 * or the strings of NaN and the infinities (JSON has no such numbers). */
static json_t *cli_metrics_value(const char *p, const char **end)
{
	char *e = NULL;
	double v;

	errno = 0;
	v = strtod(p, &e);
	if (e == p)
		return NULL;
	*end = e;
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "+Inf" : "-Inf");
	if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && (double)(json_int_t)v == v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The family a sample of name continues, or NULL. */
static json_t *cli_metrics_family_of(json_t *fam, const char *name, size_t n)
{
	static const char *const suffixes[] = { "", "_bucket", "_sum", "_count" };
	const char *fname = json_string_value(json_object_get(fam, "name"));
	size_t fn = fname ? strlen(fname) : 0;

	if (!fname || n < fn || strncmp(name, fname, fn) != 0)
		return NULL;
	for (size_t i = 0; i < HK_ARRAY_SIZE(suffixes); i++)
		if (n - fn == strlen(suffixes[i]) && strncmp(name + fn, suffixes[i], n - fn) == 0)
			return fam;
	return NULL;
}

static json_t *cli_metrics_family_new(json_t *out, const char *name, size_t n)
{
	json_t *fam = json_pack("{s:s%, s:s, s:n, s:[]}", "name", name, n, "type", "untyped",
				"help", "samples");
	json_array_append_new(out, fam);
	return fam;
}

/* "# HELP name text" / "# TYPE name type" into the family of that name. */
static json_t *cli_metrics_comment(json_t *out, json_t *fam, const char *line, const char *end)
{
	bool help = strncmp(line, "# HELP ", 7) == 0;
	const char *p = line + 7;
	size_t n;

	if (!help && strncmp(line, "# TYPE ", 7) != 0)
		return fam;   /* another comment */
	n = cli_metrics_name_len(p);
	if (!n)
		return fam;
	if (!fam || !cli_metrics_family_of(fam, p, n) ||
	    strlen(json_string_value(json_object_get(fam, "name"))) != n)
		fam = cli_metrics_family_new(out, p, n);
	p += n;
	while (p < end && *p == ' ')
		p++;
	json_t *v = help ? cli_metrics_unescape(p, end) : json_stringn(p, (size_t)(end - p));
	if (v)
		json_object_set_new(fam, help ? "help" : "type", v);
	return fam;
}

/* name{k="v",...} value [timestamp] as a sample of its family. */
static json_t *cli_metrics_sample(json_t *out, json_t *fam, const char *p, const char *end)
{
	size_t n = cli_metrics_name_len(p);
	const char *name = p, *vend;
	json_t *labels = json_object(), *value, *sample;

	if (!n)
		goto bad;
	p += n;
	if (*p == '{') {
		p++;
		while (p < end && *p != '}') {
			size_t ln = cli_metrics_name_len(p);
			const char *k = p, *v;
			if (!ln || p[ln] != '=' || p[ln + 1] != '"')
				goto bad;
			p += ln + 2;
			for (v = p; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				goto bad;
			char *key = hk_xstrndup(k, ln);
			json_t *val = cli_metrics_unescape(v, p);
			json_object_set_new(labels, key, val ? val : json_null());
			free(key);
			p++;
			if (*p == ',')
				p++;
		}
		if (p >= end)
			goto bad;
		p++;
	}
	while (p < end && *p == ' ')
		p++;
	value = cli_metrics_value(p, &vend);
	if (!value || vend > end)
		goto bad_value;
	if (!fam || !cli_metrics_family_of(fam, name, n))
		fam = cli_metrics_family_new(out, name, n);
	sample = json_object();
	if (strlen(json_string_value(json_object_get(fam, "name"))) != n)
		json_object_set_new(sample, "name", json_stringn(name, n));
	json_object_set_new(sample, "labels", labels);
	json_object_set_new(sample, "value", value);
	json_array_append_new(json_object_get(fam, "samples"), sample);
	return fam;
bad_value:
	json_decref(value);
bad:
	json_decref(labels);
	return fam;
}

json_t *cli_metrics_json(const char *text)
{
	json_t *out = json_array(), *fam = NULL;

	while (text && *text) {
		const char *end = strchr(text, '\n');
		if (!end)
			end = text + strlen(text);
		if (*text == '#')
			fam = cli_metrics_comment(out, fam, text, end);
		else if (end > text)
			fam = cli_metrics_sample(out, fam, text, end);
		text = *end ? end + 1 : end;
	}
	return out;
}
