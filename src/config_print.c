/*
 * config_print.c - the printer of the effective merged configuration
 * (housekeeperd -T): INI that loads again, defaults spelled out, each
 * registration with a comment naming the file and line it came from, and
 * every line short enough for the loader's line limit.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "units.h"
#include "util.h"

/* Printing ---------------------------------------------------------------------- */

/* "key = value", or "key=value" when that is the only form that fits a
 * line or keeps a leading ';' from reading as a comment. */
static void config_print_kv(FILE *out, const char *key, const char *value)
{
	if (!value || !*value)
		fprintf(out, "%s =\n", key);
	else if (value[0] == ';' || strlen(key) + 3 + strlen(value) > HK_CONFIG_MAX_LINE)
		fprintf(out, "%s=%s\n", key, value);
	else
		fprintf(out, "%s = %s\n", key, value);
}

/* A comment line, cut to fit a line. */
__attribute__((format(printf, 2, 3)))
static void config_print_comment(FILE *out, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	size_t len;

	va_start(ap, fmt);
	text = hk_xvasprintf(fmt, ap);
	va_end(ap);
	len = strlen(text);
	if (len + 2 > HK_CONFIG_MAX_LINE)
		fprintf(out, "; ...%s\n", text + len - (HK_CONFIG_MAX_LINE - 5));
	else
		fprintf(out, "; %s\n", text);
	free(text);
}

static const char *config_bool_str(bool b)
{
	return b ? "true" : "false";
}

static void config_print_long(FILE *out, const char *key, long v)
{
	fprintf(out, "%s = %ld\n", key, v);
}

/* Is the daemon's own path (a tree or a file) reached by reg: a tree below
 * a recursive registration, a file where it looks? As written or as the
 * kernel resolves both. */
static bool config_print_reaches(const struct hk_registration *reg, const char *path, bool tree)
{
	char *rd = config_path_resolve(reg->directory);
	char *rp = config_path_resolve(path);
	bool hit = false;

	for (int pass = 0; pass < 2 && !hit; pass++) {
		const char *dir = pass ? rd : reg->directory;
		const char *p = pass ? rp : path;
		if (reg->recursive) {
			hit = config_path_within(dir, p, true);
		} else if (!tree) {
			/* a file directly in the directory */
			const char *slash = strrchr(p, '/');
			size_t n = slash == p ? 1 : (size_t)(slash - p);
			hit = strlen(dir) == n && strncmp(dir, p, n) == 0;
		}
	}
	free(rd);
	free(rp);
	return hit;
}

/* A comment on each of the daemon's own files or trees that reg would
 * reach: the engine skips them (engine_guard.c). */
static void config_print_own(FILE *out, const struct hk_config *cfg,
			     const struct hk_registration *reg)
{
	const char *state = cfg->daemon.state_directory;
	const char *reports = cfg->scheduler.housekeeper_report_directory;
	const struct {
		const char *what;
		const char *path;
		bool tree;
	} own[] = {
		{ "state directory", state, true },
		/* the default one lies in the state directory, said already */
		{ "report directory", reports && *reports ? reports : NULL, true },
		{ "metrics textfile", cfg->daemon.metrics_textfile, false },
		{ "control socket", cfg->daemon.control_socket, false },
	};

	for (size_t i = 0; i < HK_ARRAY_SIZE(own); i++) {
		if (!own[i].path || own[i].path[0] != '/' || !reg->directory)
			continue;
		if (config_print_reaches(reg, own[i].path, own[i].tree))
			config_print_comment(out, "skips the %s %s%s: the daemon's own files are "
					     "never cleaned", own[i].what, own[i].path,
					     own[i].tree ? " and all below it" : "");
	}
}

static void config_print_reg(FILE *out, const struct hk_config *cfg,
			     const struct hk_registration *reg)
{
	char buf[128];
	char age[32] = "";

	fprintf(out, "\n");
	config_print_comment(out, "from %s:%u", reg->source_file ? reg->source_file : "?",
			     reg->source_line);
	config_print_comment(out, "id %s", reg->id);
	config_print_own(out, cfg, reg);
	fprintf(out, "[cleanup \"%s\"]\n", reg->name ? reg->name : "");
	config_print_kv(out, "directory", reg->directory);
	config_print_kv(out, "pattern", reg->pattern);
	if (reg->n_excludes == 0)
		config_print_kv(out, "exclude", "");
	for (size_t i = 0; i < reg->n_excludes; i++)
		config_print_kv(out, "exclude", reg->excludes[i]);
	if (reg->default_retention) {
		config_print_comment(out, "no limit set: housekeeper_default_retention applies (%" PRId64 " days)",
				     reg->retention / CONFIG_SECONDS_PER_DAY);
		config_print_kv(out, "retention", "");
	} else if (reg->has_retention) {
		config_print_kv(out, "retention", hk_duration_format(reg->retention, buf, sizeof(buf)));
	} else {
		config_print_kv(out, "retention", "");
	}
	if (reg->has_max_files)
		fprintf(out, "max_files = %" PRIu64 "\n", reg->max_files);
	else
		config_print_kv(out, "max_files", "");
	config_print_kv(out, "max_size",
			reg->has_max_size ? hk_size_format(reg->max_size, buf, sizeof(buf)) : "");
	config_print_long(out, "priority", reg->priority);
	config_print_kv(out, "description", reg->description);
	config_print_kv(out, "recursive", config_bool_str(reg->recursive));
	if (reg->age_by & HK_AGE_MTIME)
		strcat(age, "mtime");
	if (reg->age_by & HK_AGE_ATIME)
		strcat(age, *age ? ", atime" : "atime");
	if (reg->age_by & HK_AGE_CTIME)
		strcat(age, *age ? ", ctime" : "ctime");
	config_print_kv(out, "age_by", age);
	config_print_kv(out, "schedule", reg->schedule);
	config_print_kv(out, "allow_system_directory", config_bool_str(reg->allow_system_directory));
}

void hk_config_print(const struct hk_config *cfg, FILE *out)
{
	const struct hk_scheduler_settings *s = &cfg->scheduler;
	const struct hk_daemon_settings *d = &cfg->daemon;

	config_print_comment(out, "effective housekeeper configuration");
	for (size_t i = 0; i < cfg->n_files; i++)
		config_print_comment(out, "read %s", cfg->files[i]);
	fprintf(out, "\n[scheduler]\n");
	config_print_long(out, "job_history_retention_days", s->job_history_retention_days);
	config_print_long(out, "max_concurrent_jobs", s->max_concurrent_jobs);
	config_print_long(out, "default_timeout", s->default_timeout);
	config_print_kv(out, "housekeeper_schedule", s->housekeeper_schedule);
	config_print_long(out, "housekeeper_default_retention", s->housekeeper_default_retention);
	config_print_kv(out, "housekeeper_dry_run", config_bool_str(s->housekeeper_dry_run));
	config_print_kv(out, "housekeeper_read_only", config_bool_str(s->housekeeper_read_only));
	config_print_long(out, "housekeeper_concurrent_cleanups", s->housekeeper_concurrent_cleanups);
	config_print_kv(out, "housekeeper_report_enabled",
			config_bool_str(s->housekeeper_report_enabled));
	config_print_kv(out, "housekeeper_report_directory", s->housekeeper_report_directory);
	fprintf(out, "\n[daemon]\n");
	config_print_kv(out, "state_directory", d->state_directory);
	config_print_kv(out, "control_socket", d->control_socket);
	config_print_kv(out, "control_group", d->control_group);
	if (d->n_includes == 0)
		config_print_kv(out, "include", "");
	for (size_t i = 0; i < d->n_includes; i++)
		config_print_kv(out, "include", d->includes[i]);
	config_print_kv(out, "log_level", d->log_level);
	config_print_kv(out, "metrics_textfile", d->metrics_textfile);
	config_print_kv(out, "on_failure", d->on_failure);
	for (size_t i = 0; i < cfg->n_regs; i++)
		config_print_reg(out, cfg, cfg->regs[i]);
}
