/*
 * config_keys.c - the keys of each section: the key tables of [scheduler],
 * [daemon] and [cleanup "NAME"], the setter of every key (value parsing,
 * ranges, empty value = default) and the inih handler that looks a key up,
 * refuses duplicates and aliases set together, and calls its setter.
 *
 * Invariant: a setter that refuses a value reports it with config_err and
 * leaves the setting as it was.
 */
#include "autoconfig.h"

#include <ctype.h>
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

/* Sets key from value in the section of the current line (f->cur_line). */
typedef void (*config_setter)(struct config_file *f, const char *key, const char *value);

struct config_keydef {
	const char *name;
	config_setter set;
	bool repeat;           /* a list key: may repeat within a section */
};

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

static void config_long_range(struct config_file *f, const char *key, const char *v,
			      long min, long max, long *out)
{
	long x = 0;
	int r = hk_parse_int(v, min, max, &x);

	if (r == -ERANGE)
		config_err(f, "%s: '%s' is out of range (%ld..%ld)", key, v, min, max);
	else if (r < 0)
		config_err(f, "%s: '%s' is not a number", key, v);
	else
		*out = x;
}

static void config_bool(struct config_file *f, const char *key, const char *v, bool *out)
{
	if (config_parse_bool(v, out) < 0)
		config_err(f, "%s: '%s' is not a boolean (use yes/no, true/false, on/off, 1/0)", key, v);
}

/* [scheduler] ------------------------------------------------------------------ */

static void config_sched_history(struct config_file *f, const char *key, const char *v)
{
	config_long_range(f, key, v, 1, HK_CONFIG_MAX_RETENTION_DAYS,
			  &f->ctx->cfg->scheduler.job_history_retention_days);
}

static void config_sched_jobs(struct config_file *f, const char *key, const char *v)
{
	config_long_range(f, key, v, 1, CONFIG_MAX_WORKERS,
			  &f->ctx->cfg->scheduler.max_concurrent_jobs);
}

static void config_sched_timeout(struct config_file *f, const char *key, const char *v)
{
	int64_t sec_v = 0;
	char *cause = NULL;
	int r;

	if (!*v) {
		config_err(f, "%s: must not be empty", key);
		goto out;
	}
	r = hk_duration_parse(v, true, &sec_v, &cause);
	if (r == -ERANGE || (r == 0 && (sec_v < 1 || sec_v > CONFIG_MAX_TIMEOUT)))
		config_err(f, "%s: '%s' is out of range (1s..31d)", key, v);
	else if (r < 0)
		config_err(f, "%s: '%s': %s", key, v, cause ? cause : "invalid duration");
	else
		f->ctx->cfg->scheduler.default_timeout = (long)sec_v;
out:
	free(cause);
}

static void config_sched_schedule(struct config_file *f, const char *key, const char *v)
{
	struct hk_cron cron;
	char *cause = NULL;

	if (!*v) {
		config_err(f, "%s: must not be empty", key);
		goto out;
	}
	if (hk_cron_parse(v, &cron, &cause) < 0) {
		config_err(f, "%s: '%s': %s", key, v, cause ? cause : "invalid cron expression");
		goto out;
	}
	config_set_str(&f->ctx->cfg->scheduler.housekeeper_schedule, v);
	f->ctx->cfg->scheduler.schedule_cron = cron;
out:
	free(cause);
}

static void config_sched_default_retention(struct config_file *f, const char *key, const char *v)
{
	config_long_range(f, key, v, 0, HK_CONFIG_MAX_RETENTION_DAYS,
			  &f->ctx->cfg->scheduler.housekeeper_default_retention);
}

static void config_sched_dry_run(struct config_file *f, const char *key, const char *v)
{
	config_bool(f, key, v, &f->ctx->cfg->scheduler.housekeeper_dry_run);
}

static void config_sched_read_only(struct config_file *f, const char *key, const char *v)
{
	config_bool(f, key, v, &f->ctx->cfg->scheduler.housekeeper_read_only);
}

static void config_sched_cleanups(struct config_file *f, const char *key, const char *v)
{
	config_long_range(f, key, v, 1, CONFIG_MAX_WORKERS,
			  &f->ctx->cfg->scheduler.housekeeper_concurrent_cleanups);
}

static void config_sched_report(struct config_file *f, const char *key, const char *v)
{
	config_bool(f, key, v, &f->ctx->cfg->scheduler.housekeeper_report_enabled);
}

static void config_sched_report_dir(struct config_file *f, const char *key, const char *v)
{
	if (*v && !config_check_path(f, key, v))
		return;
	config_set_str(&f->ctx->cfg->scheduler.housekeeper_report_directory, v);
}

static const struct config_keydef config_scheduler_keys[] = {
	{ "job_history_retention_days", config_sched_history, false },
	{ "max_concurrent_jobs", config_sched_jobs, false },
	{ "default_timeout", config_sched_timeout, false },
	{ "housekeeper_schedule", config_sched_schedule, false },
	{ "housekeeper_default_retention", config_sched_default_retention, false },
	{ "housekeeper_dry_run", config_sched_dry_run, false },
	{ "housekeeper_read_only", config_sched_read_only, false },
	{ "housekeeper_concurrent_cleanups", config_sched_cleanups, false },
	{ "housekeeper_report_enabled", config_sched_report, false },
	{ "housekeeper_report_directory", config_sched_report_dir, false },
};

/* [daemon] ---------------------------------------------------------------------- */

static const char *const config_log_levels[] = { "debug", "info", "notice", "warning", "err" };

static void config_daemon_state(struct config_file *f, const char *key, const char *v)
{
	if (*v && !config_check_path(f, key, v))
		return;
	config_set_str(&f->ctx->cfg->daemon.state_directory, *v ? v : HK_LOCALSTATEDIR);
}

static void config_daemon_socket(struct config_file *f, const char *key, const char *v)
{
	struct sockaddr_un sun;

	if (*v && !config_check_path(f, key, v))
		return;
	if (strlen(v) >= sizeof(sun.sun_path)) {
		config_err(f, "%s: '%s' is too long for a socket path (%zu bytes, at most %zu)",
			   key, v, strlen(v), sizeof(sun.sun_path) - 1);
		return;
	}
	config_set_str(&f->ctx->cfg->daemon.control_socket, *v ? v : CONFIG_DEFAULT_SOCKET);
}

static void config_daemon_group(struct config_file *f, const char *key, const char *v)
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
				config_err(f, "%s: cannot look up group '%s': %s", key, v, strerror(r));
			else
				config_err(f, "%s: no such group '%s'", key, v);
			return;
		}
	}
	config_set_str(&f->ctx->cfg->daemon.control_group, *v ? v : NULL);
}

static void config_daemon_include(struct config_file *f, const char *key, const char *v)
{
	struct hk_daemon_settings *d = &f->ctx->cfg->daemon;

	if (!f->is_main) {
		config_err(f, "%s: only allowed in the main configuration file", key);
		return;
	}
	if (!*v) {
		config_strv_free(d->includes, d->n_includes);
		d->includes = NULL;
		d->n_includes = 0;
		return;
	}
	f->ctx->include_lines = hk_xreallocarray(f->ctx->include_lines, d->n_includes + 1,
						 sizeof(*f->ctx->include_lines));
	f->ctx->include_lines[d->n_includes] = f->cur_line;
	config_strv_add(&d->includes, &d->n_includes, v);
}

static void config_daemon_log_level(struct config_file *f, const char *key, const char *v)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(config_log_levels); i++) {
		if (strcmp(v, config_log_levels[i]) == 0) {
			config_set_str(&f->ctx->cfg->daemon.log_level, v);
			return;
		}
	}
	if (!*v) {
		config_set_str(&f->ctx->cfg->daemon.log_level, CONFIG_DEFAULT_LOG_LEVEL);
		return;
	}
	config_err(f, "%s: '%s' is not a log level (use debug, info, notice, warning or err)", key, v);
}

static void config_daemon_metrics(struct config_file *f, const char *key, const char *v)
{
	if (*v && !config_check_path(f, key, v))
		return;
	config_set_str(&f->ctx->cfg->daemon.metrics_textfile, *v ? v : NULL);
}

static void config_daemon_on_failure(struct config_file *f, const char *key, const char *v)
{
	struct hk_daemon_settings *d = &f->ctx->cfg->daemon;
	char **argv = NULL;
	size_t argc = 0;
	char *copy = hk_xstrdup(v);
	char *save = NULL;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		config_strv_add(&argv, &argc, w);
	if (argc > 0 && argv[0][0] != '/') {
		config_err(f, "%s: '%s' must start with an absolute path to the program (no shell is used)",
			   key, argv[0]);
		goto out;
	}
	config_strv_free(d->on_failure_argv, d->on_failure_argc);
	d->on_failure_argv = argv;
	d->on_failure_argc = argc;
	argv = NULL;
	config_set_str(&d->on_failure, argc ? v : NULL);
out:
	config_strv_free(argv, argc);
	free(copy);
}

static const struct config_keydef config_daemon_keys[] = {
	{ "state_directory", config_daemon_state, false },
	{ "control_socket", config_daemon_socket, false },
	{ "control_group", config_daemon_group, false },
	{ "include", config_daemon_include, true },
	{ "log_level", config_daemon_log_level, false },
	{ "metrics_textfile", config_daemon_metrics, false },
	{ "on_failure", config_daemon_on_failure, false },
};

/* [cleanup "NAME"] ------------------------------------------------------------------ */

/* The current section of a [cleanup] key handler. */
static struct config_section *config_cur_sec(struct config_file *f)
{
	return &f->sections[f->lines[f->cur_line - 1].section];
}

/* The registration of the current [cleanup] section. */
static struct hk_registration *config_cur_reg(struct config_file *f)
{
	return f->ctx->cfg->regs[config_cur_sec(f)->reg];
}

static void config_reg_directory(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);

	f->ctx->meta[config_cur_sec(f)->reg].dir_line = f->cur_line;
	if (!config_check_path(f, key, v))
		return;
	config_set_str(&reg->directory, v);
}

static void config_reg_pattern(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);

	if (!*v) {
		config_err(f, "%s: must not be empty (use * for every file)", key);
		return;
	}
	if (strchr(v, '/')) {
		config_err(f, "%s: '%s' contains '/' (it matches file names, not paths)", key, v);
		return;
	}
	config_set_str(&reg->pattern, v);
}

static void config_reg_exclude(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);

	if (!*v) {
		config_strv_free(reg->excludes, reg->n_excludes);
		reg->excludes = hk_xcalloc(1, sizeof(*reg->excludes));
		reg->n_excludes = 0;
		return;
	}
	if (strchr(v, '/')) {
		config_err(f, "%s: '%s' contains '/' (it matches file names, not paths)", key, v);
		return;
	}
	config_strv_add(&reg->excludes, &reg->n_excludes, v);
}

static void config_reg_retention(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	int64_t secs = 0;
	char *cause = NULL;
	int r;

	if (!*v) {
		reg->has_retention = false;
		reg->retention = 0;
		goto out;
	}
	if (config_is_digits(v) && strspn(v, "0") != strlen(v)) {
		config_err(f, "%s: '%s' has no unit (did you mean '%sd' for days?)", key, v, v);
		goto out;
	}
	r = hk_duration_parse(v, false, &secs, &cause);
	if (r == -ERANGE || (r == 0 && (secs < 0 ||
	    secs > HK_CONFIG_MAX_RETENTION_DAYS * CONFIG_SECONDS_PER_DAY))) {
		config_err(f, "%s: '%s' is out of range (at most %dd)", key, v,
			   HK_CONFIG_MAX_RETENTION_DAYS);
		goto out;
	}
	if (r < 0) {
		config_err(f, "%s: '%s': %s", key, v, cause ? cause : "invalid duration");
		goto out;
	}
	reg->retention = secs;
	reg->has_retention = true;
out:
	free(cause);
}

static void config_reg_retention_days(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	long days = 0;
	int r;

	if (!*v) {
		reg->has_retention = false;
		reg->retention = 0;
		return;
	}
	r = hk_parse_int(v, 0, HK_CONFIG_MAX_RETENTION_DAYS, &days);
	if (r == -ERANGE || (r < 0 && config_is_digits(v))) {
		config_err(f, "%s: '%s' is out of range (0..%d)", key, v, HK_CONFIG_MAX_RETENTION_DAYS);
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number of days", key, v);
		return;
	}
	reg->retention = days * CONFIG_SECONDS_PER_DAY;
	reg->has_retention = true;
}

static void config_reg_max_files(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	uint64_t n = 0;
	int r;

	if (!*v) {
		reg->has_max_files = false;
		reg->max_files = 0;
		return;
	}
	r = hk_parse_u64(v, &n);
	if (r == -ERANGE || (r == 0 && n > UINT32_MAX)) {
		config_err(f, "%s: '%s' is out of range (0..%" PRIu32 ")", key, v, UINT32_MAX);
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number", key, v);
		return;
	}
	reg->max_files = n;
	reg->has_max_files = true;
}

static void config_reg_max_size(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	uint64_t bytes = 0;
	char *cause = NULL;
	int r;

	if (!*v) {
		reg->has_max_size = false;
		reg->max_size = 0;
		goto out;
	}
	if (config_is_digits(v) && strspn(v, "0") != strlen(v)) {
		config_err(f, "%s: '%s' has no unit (did you mean '%sM' for MiB?)", key, v, v);
		goto out;
	}
	r = hk_size_parse(v, false, &bytes, &cause);
	if (r == -ERANGE) {
		config_err(f, "%s: '%s' is out of range", key, v);
		goto out;
	}
	if (r < 0) {
		config_err(f, "%s: '%s': %s", key, v, cause ? cause : "invalid size");
		goto out;
	}
	reg->max_size = bytes;
	reg->has_max_size = true;
out:
	free(cause);
}

static void config_reg_max_size_mb(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	uint64_t mb = 0;
	int r;

	if (!*v) {
		reg->has_max_size = false;
		reg->max_size = 0;
		return;
	}
	r = hk_parse_u64(v, &mb);
	if (r == -ERANGE || (r == 0 && mb > UINT64_MAX / (1024 * 1024))) {
		config_err(f, "%s: '%s' is out of range (0..%" PRIu64 ")", key, v,
			   UINT64_MAX / (1024 * 1024));
		return;
	}
	if (r < 0) {
		config_err(f, "%s: '%s' is not a number of MiB", key, v);
		return;
	}
	reg->max_size = mb * 1024 * 1024;
	reg->has_max_size = true;
}

static void config_reg_priority(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);

	if (!*v) {
		reg->priority = CONFIG_DEFAULT_PRIORITY;
		return;
	}
	config_long_range(f, key, v, -HK_CONFIG_MAX_PRIORITY, HK_CONFIG_MAX_PRIORITY, &reg->priority);
}

static void config_reg_description(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);

	if (strlen(v) > HK_CONFIG_MAX_DESCRIPTION) {
		config_err(f, "%s: too long (%zu bytes, at most %d)", key, strlen(v),
			   HK_CONFIG_MAX_DESCRIPTION);
		return;
	}
	config_set_str(&reg->description, *v ? v : NULL);
}

static void config_reg_recursive(struct config_file *f, const char *key, const char *v)
{
	config_bool(f, key, v, &config_cur_reg(f)->recursive);
}

static void config_reg_allow_sys(struct config_file *f, const char *key, const char *v)
{
	config_bool(f, key, v, &config_cur_reg(f)->allow_system_directory);
}

/* "mtime", "atime, mtime", "ctime mtime": the age is the newest of them. */
static int config_parse_age_by(const char *v, unsigned *out, char **bad)
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
			*bad = hk_xstrdup(w);
			r = -EINVAL;
			goto out;
		}
	}
	if (!bits) {
		*bad = hk_xstrdup("");
		r = -EINVAL;
		goto out;
	}
	*out = bits;
out:
	free(copy);
	return r;
}

static void config_reg_age_by(struct config_file *f, const char *key, const char *v)
{
	char *bad = NULL;

	if (config_parse_age_by(v, &config_cur_reg(f)->age_by, &bad) < 0)
		config_err(f, "%s: '%s' is not valid (use mtime, atime, ctime or a list of them)",
			   key, v);
	free(bad);
}

static void config_reg_schedule(struct config_file *f, const char *key, const char *v)
{
	struct hk_registration *reg = config_cur_reg(f);
	struct hk_cron cron;
	char *cause = NULL;

	if (!*v) {
		config_set_str(&reg->schedule, NULL);
		memset(&reg->schedule_cron, 0, sizeof(reg->schedule_cron));
		goto out;
	}
	if (hk_cron_parse(v, &cron, &cause) < 0) {
		config_err(f, "%s: '%s': %s", key, v, cause ? cause : "invalid cron expression");
		goto out;
	}
	config_set_str(&reg->schedule, v);
	reg->schedule_cron = cron;
out:
	free(cause);
}

static const struct config_keydef config_cleanup_keys[] = {
	{ "directory", config_reg_directory, false },
	{ "pattern", config_reg_pattern, false },
	{ "exclude", config_reg_exclude, true },
	{ "retention", config_reg_retention, false },
	{ "retention_days", config_reg_retention_days, false },
	{ "max_files", config_reg_max_files, false },
	{ "max_size", config_reg_max_size, false },
	{ "max_size_mb", config_reg_max_size_mb, false },
	{ "priority", config_reg_priority, false },
	{ "description", config_reg_description, false },
	{ "recursive", config_reg_recursive, false },
	{ "age_by", config_reg_age_by, false },
	{ "schedule", config_reg_schedule, false },
	{ "allow_system_directory", config_reg_allow_sys, false },
};

/* Keys that set the same thing: setting both in one section is an error. */
static const char *const config_aliases[][2] = {
	{ "retention", "retention_days" },
	{ "max_size", "max_size_mb" },
};

/* The inih handler ------------------------------------------------------------------ */

static const struct config_seen *config_seen_find(const struct config_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->n_seen; i++)
		if (strcmp(sec->seen[i].key, key) == 0)
			return &sec->seen[i];
	return NULL;
}

int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_file *f = user;
	const struct config_keydef *table = NULL;
	const struct config_keydef *def = NULL;
	const struct config_seen *prev = NULL;
	struct config_section *sec = NULL;
	size_t n = 0;
	int si;

	(void)section;   /* sections are tracked by line, see config_stage */
	si = f->lines[f->cur_line - 1].section;
	if (si < 0) {
		config_err(f, "key '%s' outside of any section", name);
		goto out;
	}
	sec = &f->sections[si];
	switch (sec->kind) {
	case CONFIG_SEC_SKIP:
		goto out;
	case CONFIG_SEC_SCHEDULER:
		table = config_scheduler_keys;
		n = HK_ARRAY_SIZE(config_scheduler_keys);
		break;
	case CONFIG_SEC_DAEMON:
		table = config_daemon_keys;
		n = HK_ARRAY_SIZE(config_daemon_keys);
		break;
	case CONFIG_SEC_CLEANUP:
		table = config_cleanup_keys;
		n = HK_ARRAY_SIZE(config_cleanup_keys);
		break;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			def = &table[i];
	if (!def) {
		if (sec->kind == CONFIG_SEC_CLEANUP)
			config_err(f, "unknown key '%s' in [cleanup \"%s\"]", name, sec->name);
		else
			config_err(f, "unknown key '%s' in [%s]", name,
				   sec->kind == CONFIG_SEC_SCHEDULER ? "scheduler" : "daemon");
		goto out;
	}
	prev = config_seen_find(sec, def->name);
	if (prev && !def->repeat) {
		config_err(f, "duplicate key '%s' (first set on line %u)", def->name, prev->line);
		goto out;
	}
	for (size_t i = 0; i < HK_ARRAY_SIZE(config_aliases); i++) {
		for (int k = 0; k < 2; k++) {
			if (strcmp(config_aliases[i][k], def->name) != 0)
				continue;
			prev = config_seen_find(sec, config_aliases[i][!k]);
			if (prev) {
				config_err(f, "'%s' conflicts with '%s' (line %u): set only one",
					   def->name, prev->key, prev->line);
				goto out;
			}
		}
	}
	if (!config_seen_find(sec, def->name)) {
		sec->seen = hk_xreallocarray(sec->seen, sec->n_seen + 1, sizeof(*sec->seen));
		sec->seen[sec->n_seen].key = def->name;
		sec->seen[sec->n_seen].line = f->cur_line;
		sec->n_seen++;
	}
	def->set(f, def->name, value);
out:
	return 1;   /* errors are collected here, never through inih */
}
