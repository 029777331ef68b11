/*
 * config_keys.c - the keys of each section: one table of every key of
 * [scheduler], [daemon] and [cleanup "NAME"] (type, storage, bounds,
 * default, flags), the generic setters of numbers, booleans, strings and
 * paths, the custom setters where the grammar is special, the defaults
 * taken from the table, and the inih handler that looks a key up, refuses
 * duplicates and aliases set together, and calls its setter.
 *
 * Invariant: a setter that refuses a value reports it with config_err and
 * leaves the setting as it was.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "config_int.h"
#include "units.h"
#include "util.h"

#define CONFIG_MAX_TIMEOUT (31 * 86400L)
#define CONFIG_MAX_WORKERS 1024

/* Small helpers -------------------------------------------------------------- */

static void config_set_str(char **dst, const char *value)
{
	free(*dst);
	*dst = value ? hk_xstrdup(value) : NULL;
}

static int config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < HK_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static bool config_is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Checks shared by every path-valued key; reports and returns false. */
static bool config_check_path(struct config_file *f, const char *key, const char *v)
{
	if (v[0] != '/') {
		config_err(f, "%s: '%s' is not an absolute path", key, v);
		return false;
	}
	if (!hk_path_is_clean_absolute(v)) {
		config_err(f, "%s: '%s' is not a clean path (no trailing '/', '//', '.' or '..')", key, v);
		return false;
	}
	return true;
}

/* Printing a value (-T; config_print.c lays out the file) ---------------------- */

/* "key = value", or "key=value" when that is the only form that fits a
 * line or keeps a leading ';' from reading as a comment. */
void config_print_kv(FILE *out, const char *key, const char *value)
{
	if (!value || !*value)
		fprintf(out, "%s =\n", key);
	else if (value[0] == ';' || strlen(key) + 3 + strlen(value) > HK_CONFIG_MAX_LINE)
		fprintf(out, "%s=%s\n", key, value);
	else
		fprintf(out, "%s = %s\n", key, value);
}

/* One key of base by the table: its custom printer, else by its type. */
void config_print_setting(FILE *out, const struct config_setting *s, const void *base)
{
	if (s->flags & CONFIG_ALIAS)
		return;
	if (s->print) {
		s->print(out, s, base);
		return;
	}
	switch (s->type) {
	case CONFIG_T_LONG:
	case CONFIG_T_SECONDS:
		fprintf(out, "%s = %ld\n", s->name, *CONFIG_AT(base, s, const long));
		break;
	case CONFIG_T_BOOL:
		config_print_kv(out, s->name, *CONFIG_AT(base, s, const bool) ? "true" : "false");
		break;
	case CONFIG_T_STR:
	case CONFIG_T_PATH:
	case CONFIG_T_CUSTOM:
		config_print_kv(out, s->name, *CONFIG_AT(base, s, char *const));
		break;
	}
}

/* Generic setters ---------------------------------------------------------------- */

static void config_set_long(struct config_file *f, const struct config_setting *s, void *base,
			    const char *v)
{
	long x = 0;
	int r;

	if (!*v && (s->flags & CONFIG_EMPTY_DEFAULT))
		v = s->def;
	r = hk_parse_int(v, s->min, s->max, &x);
	if (r == -ERANGE)
		config_err(f, "%s: '%s' is out of range (%ld..%ld)", s->name, v, s->min, s->max);
	else if (r < 0)
		config_err(f, "%s: '%s' is not a number", s->name, v);
	else
		*CONFIG_AT(base, s, long) = x;
}

static void config_set_bool(struct config_file *f, const struct config_setting *s, void *base,
			    const char *v)
{
	if (config_parse_bool(v, CONFIG_AT(base, s, bool)) < 0)
		config_err(f, "%s: '%s' is not a boolean (use yes/no, true/false, on/off, 1/0)",
			   s->name, v);
}

static void config_set_text(struct config_file *f, const struct config_setting *s, void *base,
			    const char *v)
{
	if (s->max > 0 && strlen(v) > (size_t)s->max) {
		config_err(f, "%s: too long (%zu bytes, at most %ld)", s->name, strlen(v), s->max);
		return;
	}
	config_set_str(CONFIG_AT(base, s, char *), *v ? v : s->def);
}

static void config_set_path(struct config_file *f, const struct config_setting *s, void *base,
			    const char *v)
{
	if (*v && !config_check_path(f, s->name, v))
		return;
	config_set_str(CONFIG_AT(base, s, char *), *v ? v : s->def);
}

/* A duration in seconds within [min, max]; a bare number is seconds. */
static void config_set_seconds(struct config_file *f, const struct config_setting *s, void *base,
			       const char *v)
{
	int64_t sec_v = 0;
	char *cause = NULL;
	char lo[32], hi[32];
	int r;

	if (!*v) {
		config_err(f, "%s: must not be empty", s->name);
		goto out;
	}
	r = hk_duration_parse(v, true, &sec_v, &cause);
	if (r == -ERANGE || (r == 0 && (sec_v < s->min || sec_v > s->max)))
		config_err(f, "%s: '%s' is out of range (%s..%s)", s->name, v,
			   hk_duration_format(s->min, lo, sizeof(lo)),
			   hk_duration_format(s->max, hi, sizeof(hi)));
	else if (r < 0)
		config_err(f, "%s: '%s': %s", s->name, v, cause ? cause : "invalid duration");
	else
		*CONFIG_AT(base, s, long) = (long)sec_v;
out:
	free(cause);
}

static void config_set(struct config_file *f, const struct config_setting *s, void *base,
		       const char *v)
{
	switch (s->type) {
	case CONFIG_T_LONG: config_set_long(f, s, base, v); break;
	case CONFIG_T_SECONDS: config_set_seconds(f, s, base, v); break;
	case CONFIG_T_BOOL: config_set_bool(f, s, base, v); break;
	case CONFIG_T_STR: config_set_text(f, s, base, v); break;
	case CONFIG_T_PATH: config_set_path(f, s, base, v); break;
	case CONFIG_T_CUSTOM: s->set(f, s, base, v); break;
	}
}

/* Custom setters ------------------------------------------------------------------ */

/* A cron expression: the text at s->offset, the parsed form at
 * s->aux_offset. */
static struct hk_cron *config_cron_of(const struct config_setting *s, void *base)
{
	return (struct hk_cron *)(void *)((char *)base + s->aux_offset);
}

static void config_set_cron(struct config_file *f, const struct config_setting *s, void *base,
			    const char *v)
{
	struct hk_cron cron;
	char *cause = NULL;

	if (!*v) {
		if (s->def) {
			config_err(f, "%s: must not be empty", s->name);
		} else {
			config_set_str(CONFIG_AT(base, s, char *), NULL);
			memset(config_cron_of(s, base), 0, sizeof(cron));
		}
		goto out;
	}
	if (hk_cron_parse(v, &cron, &cause) < 0) {
		config_err(f, "%s: '%s': %s", s->name, v, cause ? cause : "invalid cron expression");
		goto out;
	}
	config_set_str(CONFIG_AT(base, s, char *), v);
	*config_cron_of(s, base) = cron;
out:
	free(cause);
}

/* Custom setters: [daemon] ------------------------------------------------------- */

static const char *const config_log_levels[] = { "debug", "info", "notice", "warning", "err" };

static void config_daemon_socket(struct config_file *f, const struct config_setting *s,
				 void *base, const char *v)
{
	struct sockaddr_un sun;

	if (*v && !config_check_path(f, s->name, v))
		return;
	if (strlen(v) >= sizeof(sun.sun_path)) {
		config_err(f, "%s: '%s' is too long for a socket path (%zu bytes, at most %zu)",
			   s->name, v, strlen(v), sizeof(sun.sun_path) - 1);
		return;
	}
	config_set_str(CONFIG_AT(base, s, char *), *v ? v : s->def);
}

static void config_daemon_group(struct config_file *f, const struct config_setting *s,
				void *base, const char *v)
{
	struct group grp, *res = NULL;
	char buf[4096];
	int r;

	if (*v) {
		r = getgrnam_r(v, &grp, buf, sizeof(buf), &res);
		if (!res && r == 0 && config_is_digits(v)) {
			uint64_t gid = 0;
			if (hk_parse_u64(v, &gid) == 0 && gid <= UINT32_MAX)
				r = getgrgid_r((gid_t)gid, &grp, buf, sizeof(buf), &res);
		}
		if (!res) {
			if (r != 0)
				config_err(f, "%s: cannot look up group '%s': %s", s->name, v,
					   strerror(r));
			else
				config_err(f, "%s: no such group '%s'", s->name, v);
			return;
		}
	}
	config_set_str(CONFIG_AT(base, s, char *), *v ? v : NULL);
}

static void config_daemon_include(struct config_file *f, const struct config_setting *s,
				  void *base, const char *v)
{
	struct hk_daemon_settings *d = base;

	if (!f->is_main) {
		config_err(f, "%s: only allowed in the main configuration file", s->name);
		return;
	}
	if (!*v) {
		hk_strv_free(d->includes, d->n_includes);
		d->includes = NULL;
		d->n_includes = 0;
		return;
	}
	f->ctx->include_lines = hk_xreallocarray(f->ctx->include_lines, d->n_includes + 1,
						 sizeof(*f->ctx->include_lines));
	f->ctx->include_lines[d->n_includes] = f->cur_line;
	hk_strv_add(&d->includes, &d->n_includes, v);
}

static void config_print_includes(FILE *out, const struct config_setting *s, const void *base)
{
	const struct hk_daemon_settings *d = base;

	if (d->n_includes == 0)
		config_print_kv(out, s->name, "");
	for (size_t i = 0; i < d->n_includes; i++)
		config_print_kv(out, s->name, d->includes[i]);
}

static void config_daemon_log_level(struct config_file *f, const struct config_setting *s,
				    void *base, const char *v)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(config_log_levels); i++) {
		if (strcmp(v, config_log_levels[i]) == 0) {
			config_set_str(CONFIG_AT(base, s, char *), v);
			return;
		}
	}
	if (!*v) {
		config_set_str(CONFIG_AT(base, s, char *), s->def);
		return;
	}
	config_err(f, "%s: '%s' is not a log level (use debug, info, notice, warning or err)",
		   s->name, v);
}

static void config_daemon_on_failure(struct config_file *f, const struct config_setting *s,
				     void *base, const char *v)
{
	struct hk_daemon_settings *d = base;
	char **argv = NULL;
	size_t argc = 0;
	char *copy = hk_xstrdup(v);
	char *save = NULL;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		hk_strv_add(&argv, &argc, w);
	if (argc > 0 && argv[0][0] != '/') {
		config_err(f, "%s: '%s' must start with an absolute path to the program (no shell is used)",
			   s->name, argv[0]);
		goto out;
	}
	hk_strv_free(d->on_failure_argv, d->on_failure_argc);
	d->on_failure_argv = argv;
	d->on_failure_argc = argc;
	argv = NULL;
	config_set_str(&d->on_failure, argc ? v : NULL);
out:
	hk_strv_free(argv, argc);
	free(copy);
}

/* Custom setters: [cleanup "NAME"] ----------------------------------------------- */

/* The current section of a [cleanup] key handler. */
static struct config_section *config_cur_sec(struct config_file *f)
{
	return &f->sections[f->lines[f->cur_line - 1].section];
}

static void config_reg_directory(struct config_file *f, const struct config_setting *s,
				 void *base, const char *v)
{
	struct hk_registration *reg = base;

	f->ctx->meta[config_cur_sec(f)->reg].dir_line = f->cur_line;
	if (!config_check_path(f, s->name, v))
		return;
	config_set_str(&reg->directory, v);
}

/* A file name glob: never empty (the default "*" is said explicitly). */
static void config_reg_pattern(struct config_file *f, const struct config_setting *s,
			       void *base, const char *v)
{
	if (!*v) {
		config_err(f, "%s: must not be empty (use * for every file)", s->name);
		return;
	}
	if (strchr(v, '/')) {
		config_err(f, "%s: '%s' contains '/' (it matches file names, not paths)", s->name, v);
		return;
	}
	config_set_str(CONFIG_AT(base, s, char *), v);
}

static void config_reg_exclude(struct config_file *f, const struct config_setting *s,
			       void *base, const char *v)
{
	struct hk_registration *reg = base;

	if (!*v) {
		hk_strv_free(reg->excludes, reg->n_excludes);
		reg->excludes = hk_xcalloc(1, sizeof(*reg->excludes));
		reg->n_excludes = 0;
		return;
	}
	if (strchr(v, '/')) {
		config_err(f, "%s: '%s' contains '/' (it matches file names, not paths)", s->name, v);
		return;
	}
	hk_strv_add(&reg->excludes, &reg->n_excludes, v);
}

static void config_print_excludes(FILE *out, const struct config_setting *s, const void *base)
{
	const struct hk_registration *reg = base;

	if (reg->n_excludes == 0)
		config_print_kv(out, s->name, "");
	for (size_t i = 0; i < reg->n_excludes; i++)
		config_print_kv(out, s->name, reg->excludes[i]);
}

static void config_reg_retention(struct config_file *f, const struct config_setting *s,
				 void *base, const char *v)
{
	struct hk_registration *reg = base;
	int64_t secs = 0;
	char *cause = NULL;
	int r;

	if (!*v) {
		reg->has_retention = false;
		reg->retention = 0;
		goto out;
	}
	if (config_is_digits(v) && strspn(v, "0") != strlen(v)) {
		config_err(f, "%s: '%s' has no unit (did you mean '%sd' for days?)", s->name, v, v);
		goto out;
	}
	r = hk_duration_parse(v, false, &secs, &cause);
	if (r == -ERANGE || (r == 0 && (secs < 0 ||
	    secs > HK_CONFIG_MAX_RETENTION_DAYS * CONFIG_SECONDS_PER_DAY))) {
		config_err(f, "%s: '%s' is out of range (at most %dd)", s->name, v,
			   HK_CONFIG_MAX_RETENTION_DAYS);
		goto out;
	}
	if (r < 0) {
		config_err(f, "%s: '%s': %s", s->name, v, cause ? cause : "invalid duration");
		goto out;
	}
	reg->retention = secs;
	reg->has_retention = true;
out:
	free(cause);
}

static void config_print_retention(FILE *out, const struct config_setting *s, const void *base)
{
	const struct hk_registration *reg = base;
	char buf[128];

	if (reg->default_retention) {
		fprintf(out, "; no limit set: housekeeper_default_retention applies (%" PRId64
			" days)\n", reg->retention / CONFIG_SECONDS_PER_DAY);
		config_print_kv(out, s->name, "");
	} else {
		config_print_kv(out, s->name, reg->has_retention
				? hk_duration_format(reg->retention, buf, sizeof(buf)) : "");
	}
}

static void config_reg_retention_days(struct config_file *f, const struct config_setting *s,
				      void *base, const char *v)
{
	struct hk_registration *reg = base;
	long days = 0;
	int r;

	if (!*v) {
		reg->has_retention = false;
		reg->retention = 0;
		return;
	}
	r = hk_parse_int(v, 0, HK_CONFIG_MAX_RETENTION_DAYS, &days);
	if (r == -ERANGE || (r < 0 && config_is_digits(v))) {
		config_err(f, "%s: '%s' is out of range (0..%d)", s->name, v,
			   HK_CONFIG_MAX_RETENTION_DAYS);
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number of days", s->name, v);
		return;
	}
	reg->retention = days * CONFIG_SECONDS_PER_DAY;
	reg->has_retention = true;
}

static void config_reg_max_files(struct config_file *f, const struct config_setting *s,
				 void *base, const char *v)
{
	struct hk_registration *reg = base;
	uint64_t n = 0;
	int r;

	if (!*v) {
		reg->has_max_files = false;
		reg->max_files = 0;
		return;
	}
	r = hk_parse_u64(v, &n);
	if (r == -ERANGE || (r == 0 && n > UINT32_MAX)) {
		config_err(f, "%s: '%s' is out of range (0..%" PRIu32 ")", s->name, v, UINT32_MAX);
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number", s->name, v);
		return;
	}
	reg->max_files = n;
	reg->has_max_files = true;
}

static void config_print_max_files(FILE *out, const struct config_setting *s, const void *base)
{
	const struct hk_registration *reg = base;

	if (reg->has_max_files)
		fprintf(out, "%s = %" PRIu64 "\n", s->name, reg->max_files);
	else
		config_print_kv(out, s->name, "");
}

static void config_reg_max_size(struct config_file *f, const struct config_setting *s,
				void *base, const char *v)
{
	struct hk_registration *reg = base;
	uint64_t bytes = 0;
	char *cause = NULL;
	int r;

	if (!*v) {
		reg->has_max_size = false;
		reg->max_size = 0;
		goto out;
	}
	if (config_is_digits(v) && strspn(v, "0") != strlen(v)) {
		config_err(f, "%s: '%s' has no unit (did you mean '%sM' for MiB?)", s->name, v, v);
		goto out;
	}
	r = hk_size_parse(v, false, &bytes, &cause);
	if (r == -ERANGE) {
		config_err(f, "%s: '%s' is out of range", s->name, v);
		goto out;
	}
	if (r < 0) {
		config_err(f, "%s: '%s': %s", s->name, v, cause ? cause : "invalid size");
		goto out;
	}
	reg->max_size = bytes;
	reg->has_max_size = true;
out:
	free(cause);
}

static void config_print_max_size(FILE *out, const struct config_setting *s, const void *base)
{
	const struct hk_registration *reg = base;
	char buf[128];

	config_print_kv(out, s->name,
			reg->has_max_size ? hk_size_format(reg->max_size, buf, sizeof(buf)) : "");
}

static void config_reg_max_size_mb(struct config_file *f, const struct config_setting *s,
				   void *base, const char *v)
{
	struct hk_registration *reg = base;
	uint64_t mb = 0;
	int r;

	if (!*v) {
		reg->has_max_size = false;
		reg->max_size = 0;
		return;
	}
	r = hk_parse_u64(v, &mb);
	if (r == -ERANGE || (r == 0 && mb > UINT64_MAX / (1024 * 1024))) {
		config_err(f, "%s: '%s' is out of range (0..%" PRIu64 ")", s->name, v,
			   UINT64_MAX / (1024 * 1024));
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number of MiB", s->name, v);
		return;
	}
	reg->max_size = mb * 1024 * 1024;
	reg->has_max_size = true;
}

/* "mtime", "atime, mtime", "ctime mtime": the age is the newest of them. */
static int config_parse_age_by(const char *v, unsigned *out)
{
	char *copy = hk_xstrdup(v);
	char *save = NULL;
	unsigned bits = 0;
	int r = 0;

	for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(w, "mtime") == 0) {
			bits |= HK_AGE_MTIME;
		} else if (strcmp(w, "atime") == 0) {
			bits |= HK_AGE_ATIME;
		} else if (strcmp(w, "ctime") == 0) {
			bits |= HK_AGE_CTIME;
		} else {
			r = -EINVAL;
			goto out;
		}
	}
	if (!bits) {
		r = -EINVAL;
		goto out;
	}
	*out = bits;
out:
	free(copy);
	return r;
}

static void config_reg_age_by(struct config_file *f, const struct config_setting *s,
			      void *base, const char *v)
{
	if (config_parse_age_by(v, CONFIG_AT(base, s, unsigned)) < 0)
		config_err(f, "%s: '%s' is not valid (use mtime, atime, ctime or a list of them)",
			   s->name, v);
}

static void config_print_age_by(FILE *out, const struct config_setting *s, const void *base)
{
	unsigned bits = *CONFIG_AT(base, s, const unsigned);
	char age[32] = "";

	if (bits & HK_AGE_MTIME)
		strcat(age, "mtime");
	if (bits & HK_AGE_ATIME)
		strcat(age, *age ? ", atime" : "atime");
	if (bits & HK_AGE_CTIME)
		strcat(age, *age ? ", ctime" : "ctime");
	config_print_kv(out, s->name, age);
}

/* The table ------------------------------------------------------------------------ */

#define SCHED(field) CONFIG_SEC_SCHEDULER, offsetof(struct hk_scheduler_settings, field)
#define DAEMON(field) CONFIG_SEC_DAEMON, offsetof(struct hk_daemon_settings, field)
#define CLEANUP(field) CONFIG_SEC_CLEANUP, offsetof(struct hk_registration, field)
#define CUSTOM(setter, printer) .type = CONFIG_T_CUSTOM, .set = (setter), .print = (printer)

static const struct config_setting config_table[] = {
	/* [scheduler]: the seed's settings, with the seed's defaults */
	{ "job_history_retention_days", SCHED(job_history_retention_days), .type = CONFIG_T_LONG,
	  .min = 1, .max = HK_CONFIG_MAX_RETENTION_DAYS, .def = "30" },
	{ "max_concurrent_jobs", SCHED(max_concurrent_jobs), .type = CONFIG_T_LONG,
	  .min = 1, .max = CONFIG_MAX_WORKERS, .def = "5" },
	{ "default_timeout", SCHED(default_timeout), .type = CONFIG_T_SECONDS,
	  .min = 1, .max = CONFIG_MAX_TIMEOUT, .def = "300" },
	{ "housekeeper_schedule", SCHED(housekeeper_schedule), CUSTOM(config_set_cron, NULL),
	  .aux_offset = offsetof(struct hk_scheduler_settings, schedule_cron),
	  .def = "0 3 * * *" },
	{ "housekeeper_default_retention", SCHED(housekeeper_default_retention), .type = CONFIG_T_LONG,
	  .min = 0, .max = HK_CONFIG_MAX_RETENTION_DAYS, .def = "30" },
	{ "housekeeper_dry_run", SCHED(housekeeper_dry_run), .type = CONFIG_T_BOOL, .def = "false" },
	{ "housekeeper_read_only", SCHED(housekeeper_read_only), .type = CONFIG_T_BOOL, .def = "false" },
	{ "housekeeper_concurrent_cleanups", SCHED(housekeeper_concurrent_cleanups), .type = CONFIG_T_LONG,
	  .min = 1, .max = CONFIG_MAX_WORKERS, .def = "3" },
	{ "housekeeper_report_enabled", SCHED(housekeeper_report_enabled), .type = CONFIG_T_BOOL,
	  .def = "true" },
	{ "housekeeper_report_directory", SCHED(housekeeper_report_directory), .type = CONFIG_T_PATH,
	  .def = "" },

	/* [daemon] */
	{ "state_directory", DAEMON(state_directory), .type = CONFIG_T_PATH, .def = HK_LOCALSTATEDIR,
	  .flags = CONFIG_RESTART },
	{ "control_socket", DAEMON(control_socket), CUSTOM(config_daemon_socket, NULL),
	  .def = CONFIG_DEFAULT_SOCKET, .flags = CONFIG_RESTART },
	{ "control_group", DAEMON(control_group), CUSTOM(config_daemon_group, NULL),
	  .flags = CONFIG_RESTART },
	{ "include", DAEMON(includes), CUSTOM(config_daemon_include, config_print_includes),
	  .flags = CONFIG_REPEAT },
	{ "log_level", DAEMON(log_level), CUSTOM(config_daemon_log_level, NULL),
	  .def = CONFIG_DEFAULT_LOG_LEVEL },
	{ "metrics_textfile", DAEMON(metrics_textfile), .type = CONFIG_T_PATH },
	{ "on_failure", DAEMON(on_failure), CUSTOM(config_daemon_on_failure, NULL) },

	/* [cleanup "NAME"]: a registration */
	{ "directory", CLEANUP(directory), CUSTOM(config_reg_directory, NULL) },
	{ "pattern", CLEANUP(pattern), CUSTOM(config_reg_pattern, NULL), .def = "*" },
	{ "exclude", CLEANUP(excludes), CUSTOM(config_reg_exclude, config_print_excludes),
	  .def = "", .flags = CONFIG_REPEAT },
	{ "retention", CLEANUP(retention), CUSTOM(config_reg_retention, config_print_retention) },
	{ "retention_days", CLEANUP(retention), CUSTOM(config_reg_retention_days, NULL),
	  .flags = CONFIG_ALIAS },
	{ "max_files", CLEANUP(max_files), CUSTOM(config_reg_max_files, config_print_max_files) },
	{ "max_size", CLEANUP(max_size), CUSTOM(config_reg_max_size, config_print_max_size) },
	{ "max_size_mb", CLEANUP(max_size), CUSTOM(config_reg_max_size_mb, NULL),
	  .flags = CONFIG_ALIAS },
	{ "priority", CLEANUP(priority), .type = CONFIG_T_LONG, .min = -HK_CONFIG_MAX_PRIORITY,
	  .max = HK_CONFIG_MAX_PRIORITY, .def = "100", .flags = CONFIG_EMPTY_DEFAULT },
	{ "description", CLEANUP(description), .type = CONFIG_T_STR, .max = HK_CONFIG_MAX_DESCRIPTION },
	{ "recursive", CLEANUP(recursive), .type = CONFIG_T_BOOL, .def = "false" },
	{ "age_by", CLEANUP(age_by), CUSTOM(config_reg_age_by, config_print_age_by),
	  .def = "mtime" },
	{ "schedule", CLEANUP(schedule), CUSTOM(config_set_cron, NULL),
	  .aux_offset = offsetof(struct hk_registration, schedule_cron) },
	{ "allow_system_directory", CLEANUP(allow_system_directory), .type = CONFIG_T_BOOL,
	  .def = "false" },
	{ "min_free", CLEANUP(min_free), CUSTOM(config_reg_space, config_print_space) },
	{ "free_target", CLEANUP(free_target), CUSTOM(config_reg_space, config_print_space) },
	{ "low_watermark", CLEANUP(low_watermark),
	  CUSTOM(config_reg_low_watermark, config_print_low_watermark), .def = "100%" },
	{ "skip_open", CLEANUP(skip_open), .type = CONFIG_T_BOOL, .def = "false" },
	{ "unit", CLEANUP(unit), CUSTOM(config_reg_unit, config_print_unit), .def = "file" },
	{ "remove_empty_dirs", CLEANUP(remove_empty_dirs), .type = CONFIG_T_BOOL,
	  .def = "false" },
};

/* Keys that set the same thing: setting both in one section is an error. */
static const char *const config_aliases[][2] = {
	{ "retention", "retention_days" },
	{ "max_size", "max_size_mb" },
};

const struct config_setting *config_settings(size_t *n)
{
	*n = HK_ARRAY_SIZE(config_table);
	return config_table;
}

const struct config_setting *config_setting_find(enum config_kind section, const char *name)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(config_table); i++)
		if (config_table[i].section == section && strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

/* The defaults go through the setters, as if a file said them: a default
 * the setter refuses is a bug of this table, caught by the unit tests. */
void config_defaults_apply(enum config_kind section, void *base)
{
	struct hk_config_errors errs = { 0 };
	struct config_ctx ctx = { .errs = &errs };
	struct config_file f = { .ctx = &ctx, .path = "(defaults)", .is_main = true };

	for (size_t i = 0; i < HK_ARRAY_SIZE(config_table); i++) {
		const struct config_setting *s = &config_table[i];
		if (s->section == section && s->def && !(s->flags & CONFIG_ALIAS))
			config_set(&f, s, base, s->def);
	}
	if (errs.n) {
		fprintf(stderr, "housekeeper: bad built-in default: %s\n", errs.msgs[0]);
		abort();
	}
}

/* The inih handler ------------------------------------------------------------------ */

static const struct config_seen *config_seen_find(const struct config_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->n_seen; i++)
		if (strcmp(sec->seen[i].key, key) == 0)
			return &sec->seen[i];
	return NULL;
}

/* The struct a key of sec is stored in. */
static void *config_section_base(struct config_file *f, const struct config_section *sec)
{
	switch (sec->kind) {
	case CONFIG_SEC_SCHEDULER: return &f->ctx->cfg->scheduler;
	case CONFIG_SEC_DAEMON: return &f->ctx->cfg->daemon;
	case CONFIG_SEC_CLEANUP: return f->ctx->cfg->regs[sec->reg];
	case CONFIG_SEC_SKIP: break;
	}
	return NULL;
}

/* Is def set together with one of its aliases in sec? Reports it. */
static bool config_alias_conflict(struct config_file *f, const struct config_section *sec,
				  const struct config_setting *def)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(config_aliases); i++) {
		for (int k = 0; k < 2; k++) {
			if (strcmp(config_aliases[i][k], def->name) != 0)
				continue;
			const struct config_seen *prev = config_seen_find(sec, config_aliases[i][!k]);
			if (prev) {
				config_err(f, "'%s' conflicts with '%s' (line %u): set only one",
					   def->name, prev->key, prev->line);
				return true;
			}
		}
	}
	return false;
}

int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_file *f = user;
	const struct config_setting *def = NULL;
	const struct config_seen *prev = NULL;
	struct config_section *sec = NULL;
	int si;

	(void)section;   /* sections are tracked by line, see config_stage */
	si = f->lines[f->cur_line - 1].section;
	if (si < 0) {
		config_err(f, "key '%s' outside of any section", name);
		goto out;
	}
	sec = &f->sections[si];
	if (sec->kind == CONFIG_SEC_SKIP)
		goto out;
	def = config_setting_find(sec->kind, name);
	if (!def) {
		if (sec->kind == CONFIG_SEC_CLEANUP)
			config_err(f, "unknown key '%s' in [cleanup \"%s\"]", name, sec->name);
		else
			config_err(f, "unknown key '%s' in [%s]", name,
				   sec->kind == CONFIG_SEC_SCHEDULER ? "scheduler" : "daemon");
		goto out;
	}
	prev = config_seen_find(sec, def->name);
	if (prev && !(def->flags & CONFIG_REPEAT)) {
		config_err(f, "duplicate key '%s' (first set on line %u)", def->name, prev->line);
		goto out;
	}
	if (config_alias_conflict(f, sec, def))
		goto out;
	if (!prev) {
		sec->seen = hk_xreallocarray(sec->seen, sec->n_seen + 1, sizeof(*sec->seen));
		sec->seen[sec->n_seen].key = def->name;
		sec->seen[sec->n_seen].line = f->cur_line;
		sec->n_seen++;
	}
	config_set(f, def, config_section_base(f, sec), value);
out:
	return 1;   /* errors are collected here, never through inih */
}
