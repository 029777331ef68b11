/*
 * proto_records.c - the JSON form of registrations (to JSON, and parsed
 * from a request's arguments) and of run reports, daemon side (the client
 * library has only proto.c: framing, envelopes, byte strings).
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "housekeeper.h"
#include "proto.h"
#include "proto_records.h"
#include "policy.h"
#include "reap.h"
#include "units.h"
#include "util.h"

/* Registrations ---------------------------------------------------------------- */

static void proto_xset_bytes(json_t *obj, const char *key, const char *s)
{
	if (!s) {
		json_object_set_new(obj, key, json_null());
		return;
	}
	if (hk_proto_set_bytes(obj, key, s, strlen(s)) < 0) {
		fprintf(stderr, "housekeeper: out of memory\n");
		abort();
	}
}

static json_t *proto_xcheck(json_t *j)
{
	if (!j) {
		fprintf(stderr, "housekeeper: out of memory\n");
		abort();
	}
	return j;
}

static json_t *proto_uint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* min_free/free_target as the INI writes them ("10%", "2G"), null unset. */
static void proto_space_to_json(json_t *o, const char *key, const struct hk_space *sp)
{
	char buf[HK_UNITS_FORMAT_MAX];
	json_object_set_new(o, key, sp->set ? json_string(hk_space_format(sp, buf, sizeof(buf)))
					   : json_null());
}

void hk_proto_registration_limits_to_json(json_t *o, const struct hk_registration *reg)
{
	char pct[16];
	proto_space_to_json(o, "min_free", &reg->min_free);
	proto_space_to_json(o, "free_target", &reg->free_target);
	snprintf(pct, sizeof(pct), "%u%%", reg->low_watermark ? reg->low_watermark : 100);
	json_object_set_new(o, "low_watermark", json_string(pct));
	json_object_set_new(o, "skip_open", json_boolean(reg->skip_open));
	json_object_set_new(o, "unit", json_string(reg->unit == HK_UNIT_DIRECTORY ? "directory" : "file"));
	json_object_set_new(o, "remove_empty_dirs", json_boolean(reg->remove_empty_dirs));
}

json_t *hk_proto_registration_to_json(const struct hk_registration *reg)
{
	json_t *o = proto_xcheck(json_object());
	json_t *ex = proto_xcheck(json_array());
	json_t *exb = proto_xcheck(json_array());
	json_t *age = proto_xcheck(json_array());
	bool any_b64 = false;

	json_object_set_new(o, "id", json_string(reg->id));
	proto_xset_bytes(o, "name", reg->name);
	proto_xset_bytes(o, "directory", reg->directory);
	proto_xset_bytes(o, "pattern", reg->pattern);
	for (size_t i = 0; i < reg->n_excludes; i++) {
		json_t *tmp = proto_xcheck(json_object());
		proto_xset_bytes(tmp, "x", reg->excludes[i]);
		json_array_append(ex, json_object_get(tmp, "x"));
		json_t *b = json_object_get(tmp, "x_b64");
		json_array_append_new(exb, b ? json_incref(b) : json_null());
		any_b64 |= b != NULL;
		json_decref(tmp);
	}
	json_object_set_new(o, "exclude", ex);
	if (any_b64)
		json_object_set_new(o, "exclude_b64", exb);
	else
		json_decref(exb);
	json_object_set_new(o, "retention", reg->has_retention ? json_integer(reg->retention) : json_null());
	json_object_set_new(o, "max_files", reg->has_max_files ? proto_uint(reg->max_files) : json_null());
	json_object_set_new(o, "max_size", reg->has_max_size ? proto_uint(reg->max_size) : json_null());
	json_object_set_new(o, "priority", json_integer(reg->priority));
	proto_xset_bytes(o, "description", reg->description);
	json_object_set_new(o, "recursive", json_boolean(reg->recursive));
	if (reg->age_by & HK_AGE_MTIME)
		json_array_append_new(age, json_string("mtime"));
	if (reg->age_by & HK_AGE_ATIME)
		json_array_append_new(age, json_string("atime"));
	if (reg->age_by & HK_AGE_CTIME)
		json_array_append_new(age, json_string("ctime"));
	json_object_set_new(o, "age_by", age);
	proto_xset_bytes(o, "schedule", reg->schedule);
	json_object_set_new(o, "allow_system_directory", json_boolean(reg->allow_system_directory));
	hk_proto_registration_limits_to_json(o, reg);
	json_object_set_new(o, "default_retention", json_boolean(reg->default_retention));
	/* epoch seconds, null when unset (never 0: a time of 1970) */
	json_object_set_new(o, "created_at", reg->created_at ? json_integer(reg->created_at) : json_null());
	json_object_set_new(o, "updated_at", reg->updated_at ? json_integer(reg->updated_at) : json_null());
	json_object_set_new(o, "last_run", reg->last_run ? json_integer(reg->last_run) : json_null());
	json_object_set_new(o, "source", json_string(reg->source == HK_SOURCE_CONFIG ? "config" : "api"));
	proto_xset_bytes(o, "source_file", reg->source_file);
	json_object_set_new(o, "owner_uid", json_integer(reg->owner_uid));
	return o;
}

/* Setters of the settable fields: each parses value (never NULL; JSON null
 * means "default") into reg, or returns HK_ECONFIG with *cause. */
typedef int (*proto_field_fn)(const json_t *args, const char *key, const json_t *value,
			      struct hk_registration *reg, char **cause);

static int proto_string_field(const json_t *args, const char *key, char **dst, bool nullable,
			      const char *def, char **cause)
{
	char *s = NULL;
	int r = hk_proto_get_bytes(args, key, &s, NULL);

	if (r == -ENOENT) {
		if (!nullable && !def) {
			*cause = hk_xasprintf("%s: must not be null", key);
			return HK_ECONFIG;
		}
		free(*dst);
		*dst = def ? hk_xstrdup(def) : NULL;
		return 0;
	}
	if (r == -ENOMEM) {
		fprintf(stderr, "housekeeper: out of memory\n");
		abort();
	}
	if (r < 0) {
		*cause = hk_xasprintf("%s: expected a string", key);
		return HK_ECONFIG;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int proto_f_name(const json_t *args, const char *key, const json_t *value,
			struct hk_registration *reg, char **cause)
{
	return proto_string_field(args, key, &reg->name, true, NULL, cause);
}

static int proto_f_directory(const json_t *args, const char *key, const json_t *value,
			     struct hk_registration *reg, char **cause)
{
	return proto_string_field(args, key, &reg->directory, false, NULL, cause);
}

static int proto_f_pattern(const json_t *args, const char *key, const json_t *value,
			   struct hk_registration *reg, char **cause)
{
	return proto_string_field(args, key, &reg->pattern, false, "*", cause);
}

static int proto_f_description(const json_t *args, const char *key, const json_t *value,
			       struct hk_registration *reg, char **cause)
{
	return proto_string_field(args, key, &reg->description, true, NULL, cause);
}

static int proto_f_schedule(const json_t *args, const char *key, const json_t *value,
			    struct hk_registration *reg, char **cause)
{
	return proto_string_field(args, key, &reg->schedule, true, NULL, cause);
}

static void proto_excludes_free(struct hk_registration *reg)
{
	for (size_t i = 0; reg->excludes && i < reg->n_excludes; i++)
		free(reg->excludes[i]);
	free(reg->excludes);
	reg->excludes = NULL;
	reg->n_excludes = 0;
}

static int proto_f_exclude(const json_t *args, const char *key, const json_t *value,
			   struct hk_registration *reg, char **cause)
{
	const json_t *b64 = json_object_get(args, "exclude_b64");
	size_t n = json_is_array(value) ? json_array_size(value) : 1;
	char **list = NULL;
	int r = HK_ECONFIG;

	if (json_is_null(value))
		n = 0;
	else if (!json_is_array(value) && !json_is_string(value))
		goto bad;
	if (b64 && !json_is_null(b64) &&
	    (!json_is_array(b64) || !json_is_array(value) || json_array_size(b64) != n))
		goto bad;
	list = hk_xcalloc(n + 1, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_is_array(value) ? json_array_get(value, i) : value;
		const json_t *b = json_is_array(b64) ? json_array_get(b64, i) : NULL;
		if (hk_proto_bytes_from_json(v, b, &list[i], NULL) < 0)
			goto bad;
	}
	proto_excludes_free(reg);
	reg->excludes = list;
	reg->n_excludes = n;
	return 0;
bad:
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
	*cause = hk_xasprintf("%s: expected an array of strings", key);
	return r;
}

static int proto_f_retention(const json_t *args, const char *key, const json_t *value,
			     struct hk_registration *reg, char **cause)
{
	int64_t sec;
	char *c = NULL;

	if (json_is_null(value)) {
		reg->has_retention = false;
		reg->retention = 0;
		return 0;
	}
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		sec = json_integer_value(value);
	} else if (json_is_string(value)) {
		if (hk_duration_parse(json_string_value(value), true, &sec, &c) < 0) {
			*cause = hk_xasprintf("%s: %s", key, c ? c : "invalid duration");
			free(c);
			return HK_ECONFIG;
		}
	} else {
		*cause = hk_xasprintf("%s: expected seconds (a non-negative integer) "
				      "or a duration string like \"30d\"", key);
		return HK_ECONFIG;
	}
	reg->retention = sec;
	reg->has_retention = true;
	return 0;
}

static int proto_f_max_size(const json_t *args, const char *key, const json_t *value,
			    struct hk_registration *reg, char **cause)
{
	uint64_t bytes;
	char *c = NULL;

	if (json_is_null(value)) {
		reg->has_max_size = false;
		reg->max_size = 0;
		return 0;
	}
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		bytes = (uint64_t)json_integer_value(value);
	} else if (json_is_string(value)) {
		if (hk_size_parse(json_string_value(value), true, &bytes, &c) < 0) {
			*cause = hk_xasprintf("%s: %s", key, c ? c : "invalid size");
			free(c);
			return HK_ECONFIG;
		}
	} else {
		*cause = hk_xasprintf("%s: expected bytes (a non-negative integer) "
				      "or a size string like \"500M\"", key);
		return HK_ECONFIG;
	}
	reg->max_size = bytes;
	reg->has_max_size = true;
	return 0;
}

static int proto_f_max_files(const json_t *args, const char *key, const json_t *value,
			     struct hk_registration *reg, char **cause)
{
	uint64_t n;

	if (json_is_null(value)) {
		reg->has_max_files = false;
		reg->max_files = 0;
		return 0;
	}
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		n = (uint64_t)json_integer_value(value);
	} else if (!json_is_string(value) || hk_parse_u64(json_string_value(value), &n) < 0) {
		*cause = hk_xasprintf("%s: expected a non-negative integer", key);
		return HK_ECONFIG;
	}
	reg->max_files = n;
	reg->has_max_files = true;
	return 0;
}

static int proto_f_priority(const json_t *args, const char *key, const json_t *value,
			    struct hk_registration *reg, char **cause)
{
	long p;

	if (json_is_null(value)) {
		reg->priority = 100;
		return 0;
	}
	if (json_is_integer(value) && json_integer_value(value) >= LONG_MIN &&
	    json_integer_value(value) <= LONG_MAX) {
		p = (long)json_integer_value(value);
	} else if (!json_is_string(value) ||
		   hk_parse_int(json_string_value(value), LONG_MIN, LONG_MAX, &p) < 0) {
		*cause = hk_xasprintf("%s: expected an integer", key);
		return HK_ECONFIG;
	}
	reg->priority = p;
	return 0;
}

static int proto_bool(const char *key, const json_t *value, bool *dst, char **cause)
{
	if (json_is_null(value)) {
		*dst = false;
		return 0;
	}
	if (!json_is_boolean(value)) {
		*cause = hk_xasprintf("%s: expected true or false", key);
		return HK_ECONFIG;
	}
	*dst = json_is_true(value);
	return 0;
}

static int proto_f_recursive(const json_t *args, const char *key, const json_t *value,
			     struct hk_registration *reg, char **cause)
{
	return proto_bool(key, value, &reg->recursive, cause);
}

static int proto_f_allow_sysdir(const json_t *args, const char *key, const json_t *value,
				struct hk_registration *reg, char **cause)
{
	return proto_bool(key, value, &reg->allow_system_directory, cause);
}

static int proto_f_skip_open(const json_t *args, const char *key, const json_t *value,
			     struct hk_registration *reg, char **cause)
{
	return proto_bool(key, value, &reg->skip_open, cause);
}

static int proto_f_remove_empty_dirs(const json_t *args, const char *key, const json_t *value,
				     struct hk_registration *reg, char **cause)
{
	return proto_bool(key, value, &reg->remove_empty_dirs, cause);
}

/* min_free, free_target: "SIZE" or "N%" as in the INI, bytes as an
 * integer, null for none. */
static int proto_f_space(const json_t *args, const char *key, const json_t *value,
			 struct hk_registration *reg, char **cause)
{
	struct hk_space *dst = strcmp(key, "min_free") == 0 ? &reg->min_free : &reg->free_target;
	struct hk_space sp = { .set = true };
	char *c = NULL;

	if (json_is_null(value)) {
		*dst = (struct hk_space){ 0 };
		return 0;
	}
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		sp.bytes = (uint64_t)json_integer_value(value);
	} else if (!json_is_string(value)) {
		*cause = hk_xasprintf("%s: expected a size string like \"2G\" or a share like "
				      "\"10%%\"", key);
		return HK_ECONFIG;
	} else if (hk_space_parse(json_string_value(value), &sp, &c) < 0) {
		*cause = hk_xasprintf("%s: %s", key, c ? c : "invalid amount (SIZE or N%)");
		free(c);
		return HK_ECONFIG;
	}
	*dst = sp;
	return 0;
}

/* low_watermark: "N%" (1% to 100%), null for the default 100%. */
static int proto_f_low_watermark(const json_t *args, const char *key, const json_t *value,
				 struct hk_registration *reg, char **cause)
{
	unsigned pct = 100;
	char *c = NULL;

	if (json_is_null(value)) {
		reg->low_watermark = 100;
		return 0;
	}
	if (!json_is_string(value)) {
		*cause = hk_xasprintf("%s: expected a share like \"80%%\"", key);
		return HK_ECONFIG;
	}
	if (hk_percent_parse(json_string_value(value), &pct, &c) < 0) {
		*cause = hk_xasprintf("%s: %s", key, c ? c : "expected N% (1% to 100%)");
		free(c);
		return HK_ECONFIG;
	}
	reg->low_watermark = pct;
	return 0;
}

static int proto_f_unit(const json_t *args, const char *key, const json_t *value,
			struct hk_registration *reg, char **cause)
{
	const char *v = json_is_string(value) ? json_string_value(value) : NULL;

	if (json_is_null(value) || (v && strcmp(v, "file") == 0)) {
		reg->unit = HK_UNIT_FILE;
	} else if (v && strcmp(v, "directory") == 0) {
		reg->unit = HK_UNIT_DIRECTORY;
	} else {
		*cause = hk_xasprintf("%s: use \"file\" or \"directory\"", key);
		return HK_ECONFIG;
	}
	return 0;
}

static int proto_age_word(const char *w, size_t n, unsigned *bits)
{
	if (n == 5 && strncmp(w, "mtime", 5) == 0)
		*bits |= HK_AGE_MTIME;
	else if (n == 5 && strncmp(w, "atime", 5) == 0)
		*bits |= HK_AGE_ATIME;
	else if (n == 5 && strncmp(w, "ctime", 5) == 0)
		*bits |= HK_AGE_CTIME;
	else
		return -EINVAL;
	return 0;
}

static int proto_f_age_by(const json_t *args, const char *key, const json_t *value,
			  struct hk_registration *reg, char **cause)
{
	unsigned bits = 0;

	if (json_is_null(value)) {
		bits = HK_AGE_MTIME;
	} else if (json_is_string(value)) {
		const char *s = json_string_value(value);
		while (*s) {
			size_t skip = strspn(s, ", \t");
			s += skip;
			size_t n = strcspn(s, ", \t");
			if (n && proto_age_word(s, n, &bits) < 0)
				goto bad;
			s += n;
		}
	} else if (json_is_array(value)) {
		size_t i;
		const json_t *v;
		json_array_foreach(value, i, v) {
			if (!json_is_string(v) ||
			    proto_age_word(json_string_value(v), json_string_length(v), &bits) < 0)
				goto bad;
		}
	}
	if (!bits)
		goto bad;
	reg->age_by = bits;
	return 0;
bad:
	*cause = hk_xasprintf("%s: use mtime, atime, ctime or a list of them", key);
	return HK_ECONFIG;
}

static const struct proto_field {
	const char *key;
	proto_field_fn fn;
	unsigned bit;
} proto_fields[] = {
	{ "name", proto_f_name, HK_PROTO_F_NAME },
	{ "directory", proto_f_directory, HK_PROTO_F_DIRECTORY },
	{ "pattern", proto_f_pattern, HK_PROTO_F_PATTERN },
	{ "exclude", proto_f_exclude, HK_PROTO_F_EXCLUDE },
	{ "retention", proto_f_retention, HK_PROTO_F_RETENTION },
	{ "max_files", proto_f_max_files, HK_PROTO_F_MAX_FILES },
	{ "max_size", proto_f_max_size, HK_PROTO_F_MAX_SIZE },
	{ "priority", proto_f_priority, HK_PROTO_F_PRIORITY },
	{ "description", proto_f_description, HK_PROTO_F_DESCRIPTION },
	{ "recursive", proto_f_recursive, HK_PROTO_F_RECURSIVE },
	{ "age_by", proto_f_age_by, HK_PROTO_F_AGE_BY },
	{ "schedule", proto_f_schedule, HK_PROTO_F_SCHEDULE },
	{ "allow_system_directory", proto_f_allow_sysdir, HK_PROTO_F_ALLOW_SYSDIR },
	{ "min_free", proto_f_space, HK_PROTO_F_MIN_FREE },
	{ "free_target", proto_f_space, HK_PROTO_F_FREE_TARGET },
	{ "low_watermark", proto_f_low_watermark, HK_PROTO_F_LOW_WATERMARK },
	{ "skip_open", proto_f_skip_open, HK_PROTO_F_SKIP_OPEN },
	{ "unit", proto_f_unit, HK_PROTO_F_UNIT },
	{ "remove_empty_dirs", proto_f_remove_empty_dirs, HK_PROTO_F_REMOVE_EMPTY_DIRS },
};

/* Is key the base64 twin ("directory_b64") of a byte-string field? */
static bool proto_is_b64_twin(const char *key)
{
	static const char *const twins[] = { "name_b64", "directory_b64", "pattern_b64",
					     "exclude_b64", "description_b64", "schedule_b64" };
	for (size_t i = 0; i < HK_ARRAY_SIZE(twins); i++)
		if (strcmp(key, twins[i]) == 0)
			return true;
	return false;
}

int hk_proto_registration_parse(const json_t *args, const char *const *ignore,
				struct hk_registration *reg, unsigned *set, char **cause)
{
	const char *key;
	const json_t *value;
	unsigned bits = 0;

	*cause = NULL;
	if (!json_is_object(args)) {
		*cause = hk_xstrdup("arguments must be an object");
		return HK_ECONFIG;
	}
	json_object_foreach((json_t *)args, key, value) {
		const struct proto_field *f = NULL;
		bool skip = false;
		for (size_t i = 0; ignore && ignore[i]; i++)
			skip |= strcmp(key, ignore[i]) == 0;
		if (skip || proto_is_b64_twin(key))
			continue;
		for (size_t i = 0; i < HK_ARRAY_SIZE(proto_fields); i++)
			if (strcmp(key, proto_fields[i].key) == 0)
				f = &proto_fields[i];
		if (!f) {
			*cause = hk_xasprintf("%s: unknown or read-only field", key);
			return HK_ECONFIG;
		}
		int r = f->fn(args, key, value, reg, cause);
		if (r < 0)
			return r;
		bits |= f->bit;
	}
	/* a base64 twin alone (directory_b64 without directory) still counts */
	for (size_t i = 0; i < HK_ARRAY_SIZE(proto_fields); i++) {
		char twin[64];
		snprintf(twin, sizeof(twin), "%s_b64", proto_fields[i].key);
		if (!(bits & proto_fields[i].bit) && proto_is_b64_twin(twin) &&
		    json_object_get(args, twin)) {
			bool skip = false;
			for (size_t k = 0; ignore && ignore[k]; k++)
				skip |= strcmp(proto_fields[i].key, ignore[k]) == 0;
			if (skip)
				continue;
			int r = proto_fields[i].fn(args, proto_fields[i].key,
						   json_object_get(args, twin), reg, cause);
			if (r < 0)
				return r;
			bits |= proto_fields[i].bit;
		}
	}
	if (set)
		*set = bits;
	return 0;
}

/* Reports ------------------------------------------------------------------------- */

/* Times are whole epoch seconds everywhere in the protocol (SPEC 9), as
 * in job records and the audit trail: nanoseconds rounded down (toward
 * the past, also before 1970). */
static int64_t proto_seconds(int64_t ns)
{
	return ns / HK_NSEC_PER_SEC - (ns % HK_NSEC_PER_SEC < 0);
}

static json_t *proto_time(int64_t ns)
{
	return json_integer(proto_seconds(ns));
}

static json_t *proto_report_file_to_json(const struct hk_report_file *f)
{
	json_t *j = proto_xcheck(json_object());
	json_object_set_new(j, "registration_id", f->reg_id[0] ? json_string(f->reg_id) : json_null());
	proto_xset_bytes(j, "path", f->path);
	json_object_set_new(j, "size", proto_uint(f->size));
	json_object_set_new(j, "mtime", proto_time(f->mtime_ns));
	json_object_set_new(j, "reason", json_string(hk_reason_name(f->reason)));
	json_object_set_new(j, "outcome", json_string(hk_reap_outcome_name(f->outcome)));
	json_object_set_new(j, "error", f->outcome == HK_REAP_FAILED ?
				json_string(hk_strerror(f->err)) : json_null());
	return j;
}

json_t *hk_proto_report_head_to_json(const struct hk_report *rep)
{
	json_t *o = proto_xcheck(json_object());
	json_t *regs = proto_xcheck(json_array());
	json_t *tot = proto_xcheck(json_object());
	uint64_t deleted = 0, bytes = 0, skipped = 0, errors = 0, waiting = 0;

	json_object_set_new(o, "job_id", proto_uint(rep->job_id));
	json_object_set_new(o, "trigger", rep->trigger ? json_string(rep->trigger) : json_null());
	json_object_set_new(o, "dry_run", json_boolean(rep->dry_run));
	json_object_set_new(o, "started", proto_time(rep->started_ns));
	json_object_set_new(o, "finished", proto_time(rep->finished_ns));
	for (size_t i = 0; i < rep->n_regs; i++) {
		const struct hk_report_reg *r = &rep->regs[i];
		json_t *j = proto_xcheck(json_object());
		json_object_set_new(j, "id", json_string(r->id));
		proto_xset_bytes(j, "name", r->name);
		proto_xset_bytes(j, "directory", r->directory);
		json_object_set_new(j, "scanned", proto_uint(r->scanned));
		json_object_set_new(j, "selected", proto_uint(r->selected));
		json_object_set_new(j, "deleted", proto_uint(r->deleted));
		json_object_set_new(j, "bytes", proto_uint(r->bytes));
		json_object_set_new(j, "blocks_bytes", proto_uint(r->blocks_bytes));
		json_object_set_new(j, "skipped", proto_uint(r->skipped));
		json_object_set_new(j, "errors", proto_uint(r->errors));
		json_object_set_new(j, "free_before", r->free_before >= 0 ? json_integer(r->free_before)
									 : json_null());
		json_object_set_new(j, "free_after", r->free_after >= 0 ? json_integer(r->free_after)
								       : json_null());
		proto_xset_bytes(j, "error", r->error);
		json_object_set_new(j, "waiting", json_boolean(r->waiting));
		json_array_append_new(regs, j);
		waiting += r->waiting;
		errors += r->error != NULL;   /* as the job counts it: a registration not cleaned */
		deleted += r->deleted;
		bytes += r->bytes;
		skipped += r->skipped;
		errors += r->errors;
	}
	json_object_set_new(o, "registrations", regs);
	json_t *not_run = proto_xcheck(json_array());
	for (size_t i = 0; i < rep->n_not_run; i++)
		json_array_append_new(not_run, json_string(rep->not_run[i]));
	json_object_set_new(o, "not_run", not_run);
	json_object_set_new(o, "files_omitted", proto_uint(rep->files_omitted));
	json_object_set_new(tot, "registrations", proto_uint(rep->n_regs));
	json_object_set_new(tot, "deleted", proto_uint(deleted));
	json_object_set_new(tot, "bytes", proto_uint(bytes));
	json_object_set_new(tot, "skipped", proto_uint(skipped));
	json_object_set_new(tot, "errors", proto_uint(errors));
	json_object_set_new(tot, "waiting", proto_uint(waiting));
	json_object_set_new(o, "totals", tot);
	return o;
}

json_t *hk_proto_report_to_json(const struct hk_report *rep)
{
	json_t *o = hk_proto_report_head_to_json(rep);
	json_t *files = proto_xcheck(json_array());
	for (size_t i = 0; i < rep->n_files; i++)
		json_array_append_new(files, proto_report_file_to_json(&rep->files[i]));
	json_object_set_new(o, "files", files);
	return o;
}

/* A JSON string of valid UTF-8 s, or false (b unchanged past its length
 * then is the caller's to restore) when s is not valid UTF-8. */
static bool proto_buf_string(struct hk_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	hk_buf_append(b, "\"", 1);
	size_t run = 0;   /* bytes copied as they are, pending */
	for (size_t i = 0; i < n;) {
		if (u[i] >= 0x80) {
			size_t l = hk_utf8_seq_len(u + i, n - i);
			if (l == 0)
				return false;
			i += l;
			run += l;
			continue;
		}
		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			i++;
			run++;
			continue;
		}
		hk_buf_append(b, s + i - run, run);
		run = 0;
		char esc[8];
		if (u[i] == '"' || u[i] == '\\')
			snprintf(esc, sizeof(esc), "\\%c", u[i]);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
		hk_buf_append(b, esc, strlen(esc));
		i++;
	}
	hk_buf_append(b, s + n - run, run);
	hk_buf_append(b, "\"", 1);
	return true;
}

static int proto_buf_dump_cb(const char *data, size_t n, void *arg)
{
	hk_buf_append(arg, data, n);
	return 0;
}

/* A time as proto_time writes it: whole epoch seconds. */
/* A decimal integer appended without printf (a report lists up to 100,000
 * files, and formatting them through vsnprintf was half of its cost). */
static void proto_buf_int(struct hk_buf *b, int64_t v)
{
	char digits[24];
	size_t at = sizeof(digits);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		digits[--at] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--at] = '-';
	hk_buf_append(b, digits + at, sizeof(digits) - at);
}

static void proto_buf_str(struct hk_buf *b, const char *s)
{
	hk_buf_append(b, s, strlen(s));
}

void hk_proto_report_files_dump(struct hk_buf *b, const struct hk_report *rep)
{
	hk_buf_append(b, "[", 1);
	for (size_t i = 0; i < rep->n_files; i++) {
		const struct hk_report_file *f = &rep->files[i];
		size_t start = b->len;
		if (i)
			hk_buf_append(b, ",", 1);
		size_t object = b->len;
		proto_buf_str(b, "{\"registration_id\":");
		if (f->reg_id[0]) {
			hk_buf_append(b, "\"", 1);   /* a UUID */
			proto_buf_str(b, f->reg_id);
			hk_buf_append(b, "\"", 1);
		} else {
			hk_buf_append(b, "null", 4);
		}
		hk_buf_append(b, ",\"path\":", 8);
		if (!proto_buf_string(b, f->path)) {
			/* not UTF-8: the jansson form, with path_b64 */
			b->len = object;
			json_t *j = proto_report_file_to_json(f);
			if (json_dump_callback(j, proto_buf_dump_cb, b, JSON_COMPACT) < 0)
				b->len = start;
			json_decref(j);
			continue;
		}
		proto_buf_str(b, ",\"size\":");
		proto_buf_int(b, f->size > INT64_MAX ? INT64_MAX : (int64_t)f->size);
		proto_buf_str(b, ",\"mtime\":");
		proto_buf_int(b, proto_seconds(f->mtime_ns));
		proto_buf_str(b, ",\"reason\":\"");
		proto_buf_str(b, hk_reason_name(f->reason));
		proto_buf_str(b, "\",\"outcome\":\"");
		proto_buf_str(b, hk_reap_outcome_name(f->outcome));
		proto_buf_str(b, "\",\"error\":");
		if (f->outcome != HK_REAP_FAILED)
			hk_buf_append(b, "null", 4);
		else if (!proto_buf_string(b, hk_strerror(f->err)))
			hk_buf_append(b, "\"?\"", 3);
		hk_buf_append(b, "}", 1);
	}
	hk_buf_append(b, "]", 1);
}
