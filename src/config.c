/*
 * config.c - the configuration loader (SPEC 3): the main INI file, its
 * drop-ins and include globs, the [scheduler], [daemon] and
 * [cleanup "NAME"] sections, registration validation and ids, and the
 * printer of the effective merged configuration.
 *
 * Every file is staged before inih sees it: read whole (at most
 * HK_CONFIG_MAX_FILE bytes), split into lines, and each line checked here
 * for what inih would silently get wrong (NUL bytes, lines longer than its
 * fixed 200-byte buffer, section names it would cut, duplicate sections,
 * lines it cannot parse). Section headers are parsed here, not by inih: a
 * table maps every line to the section it belongs to, and the reader fed to
 * ini_parse_stream counts lines so the handler knows where it is. inih only
 * sees "key = value" lines (every other line is handed over empty) and does
 * the splitting and inline-comment stripping.
 *
 * Invariants: errors are collected, never only the first; a load that
 * produced any error frees everything it built and returns HK_ECONFIG; a
 * returned struct hk_config is never modified again.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <dirent.h>

#include <ini.h>
#include <uuid/uuid.h>

#include "config.h"
#include "housekeeper.h"
#include "units.h"
#include "util.h"

#ifndef HK_SYSCONFDIR
#define HK_SYSCONFDIR "/etc/housekeeper"
#endif
#ifndef HK_RUNSTATEDIR
#define HK_RUNSTATEDIR "/run/housekeeper"
#endif
#ifndef HK_LOCALSTATEDIR
#define HK_LOCALSTATEDIR "/var/lib/housekeeper"
#endif
#ifndef HK_LIBDIR_CONFD
#define HK_LIBDIR_CONFD "/usr/lib/housekeeper/conf.d"
#endif

#define CONFIG_DEFAULT_SCHEDULE "0 3 * * *"
#define CONFIG_DEFAULT_SOCKET HK_RUNSTATEDIR "/housekeeper.sock"
#define CONFIG_DEFAULT_LOG_LEVEL "info"
#define CONFIG_DEFAULT_PRIORITY 100
#define CONFIG_NAME_CHARS "-_.@:"
#define CONFIG_SECONDS_PER_DAY INT64_C(86400)
#define CONFIG_MAX_TIMEOUT (31 * 86400L)
#define CONFIG_MAX_WORKERS 1024

/* Namespace of the UUIDv5 registration ids (fixed forever: changing it
 * changes every config registration's id). */
static const char config_uuid_namespace[] = "68781fd0-71e5-47fe-8822-7a200630f830";

enum config_kind {
	CONFIG_SEC_SKIP,       /* broken/unknown/duplicate: its keys are ignored */
	CONFIG_SEC_SCHEDULER,
	CONFIG_SEC_DAEMON,
	CONFIG_SEC_CLEANUP,
};

/* A key set in a section of the file being parsed. */
struct config_seen {
	const char *key;       /* static name from a key table */
	unsigned line;
};

/* A section of the file being parsed. */
struct config_section {
	enum config_kind kind;
	char *name;            /* cleanup NAME, else NULL */
	unsigned line;
	size_t reg;            /* index into ctx->regs (cleanup) */
	struct config_seen *seen;
	size_t n_seen;
};

/* Loader-side facts about one registration. */
struct config_regmeta {
	unsigned dir_line;     /* line of its directory key, 0 if none */
};

/* One staged line. */
struct config_line {
	size_t off;            /* offset of its first byte in the file */
	size_t len;            /* content length without "\n" / "\r\n" */
	bool feed;             /* handed to inih (a key line without error) */
	int section;           /* index into file->sections, -1 before any */
};

/* The file being parsed. */
struct config_file {
	struct config_ctx *ctx;
	const char *path;
	bool is_main;
	const char *data;
	size_t size;
	struct config_line *lines;
	size_t n_lines;
	size_t next_line;      /* reader position */
	unsigned cur_line;     /* 1-based line of the key being handled */
	struct config_section *sections;
	size_t n_sections;
};

/* The whole load. */
struct config_ctx {
	struct hk_config *cfg;
	struct hk_config_errors *errs;
	struct config_regmeta *meta;  /* parallel to cfg->regs */
	unsigned *include_lines;      /* parallel to cfg->daemon.includes */
	char **read_real;             /* realpath of every file read */
	size_t n_read_real;
};

/* Sets key from value in the section of the current line (f->cur_line). */
typedef void (*config_setter)(struct config_file *f, const char *key, const char *value);

struct config_keydef {
	const char *name;
	config_setter set;
	bool repeat;           /* a list key: may repeat within a section */
};

/* Errors ------------------------------------------------------------------- */

static void config_errors_add(struct hk_config_errors *errs, char *msg)
{
	errs->msgs = hk_xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
	errs->msgs[errs->n++] = msg;
}

__attribute__((format(printf, 3, 4)))
static void config_err_at(struct config_ctx *ctx, const char *where, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	config_errors_add(ctx->errs, hk_xasprintf("%s: %s", where, msg));
	free(msg);
}

__attribute__((format(printf, 4, 5)))
static void config_err_line(struct config_ctx *ctx, const char *file, unsigned line,
			    const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		config_errors_add(ctx->errs, hk_xasprintf("%s:%u: %s", file, line, msg));
	else
		config_errors_add(ctx->errs, hk_xasprintf("%s: %s", file, msg));
	free(msg);
}

/* An error at the current line of the file being parsed. A key whose value
 * is refused keeps its default, so later checks do not report it twice. */
__attribute__((format(printf, 2, 3)))
static void config_err(struct config_file *f, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	config_err_line(f->ctx, f->path, f->cur_line, "%s", msg);
	free(msg);
}

void hk_config_errors_fini(struct hk_config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* Small helpers -------------------------------------------------------------- */

static void config_strv_add(char ***v, size_t *n, const char *s)
{
	*v = hk_xreallocarray(*v, *n + 2, sizeof(**v));
	(*v)[(*n)++] = hk_xstrdup(s);
	(*v)[*n] = NULL;
}

static void config_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **config_strv_dup(char *const *v, size_t n)
{
	char **out = NULL;
	size_t m = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		config_strv_add(&out, &m, v[i]);
	if (!out)
		out = hk_xcalloc(1, sizeof(*out));
	return out;
}

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

static bool config_name_valid(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) || (unsigned char)*p > 0x7f)
			if (!strchr(CONFIG_NAME_CHARS, *p))
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

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
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

/* The ini_reader: hands inih one staged line per call, or an empty line for
 * lines it must not see, and counts lines for the handler. */
static char *config_ini_reader(char *str, int num, void *stream)
{
	struct config_file *f = stream;
	const struct config_line *l = NULL;
	size_t len = 0;

	if (f->next_line >= f->n_lines)
		return NULL;
	l = &f->lines[f->next_line++];
	f->cur_line = (unsigned)f->next_line;
	if (l->feed) {
		len = l->len;
		/* Staging guarantees len <= HK_CONFIG_MAX_LINE, i.e. fits num. */
		if (len + 2 > (size_t)num)
			len = 0;
		memcpy(str, f->data + l->off, len);
	}
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* Staging -------------------------------------------------------------------------- */

static const char *config_skip_space(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

/* inih's rule: the first of `chars`, or a ';' that follows whitespace. */
static const char *config_find_or_comment(const char *s, const char *end, const char *chars)
{
	bool was_space = false;

	for (; s < end; s++) {
		if (chars && strchr(chars, *s))
			break;
		if (was_space && *s == ';')
			break;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

static void config_section_add(struct config_file *f, enum config_kind kind, const char *name,
			       unsigned line)
{
	struct config_section *sec = NULL;

	f->sections = hk_xreallocarray(f->sections, f->n_sections + 1, sizeof(*f->sections));
	sec = &f->sections[f->n_sections++];
	memset(sec, 0, sizeof(*sec));
	sec->kind = kind;
	sec->name = name ? hk_xstrdup(name) : NULL;
	sec->line = line;
}

static struct hk_registration *config_reg_new(const char *name)
{
	struct hk_registration *reg = hk_xcalloc(1, sizeof(*reg));

	reg->name = hk_xstrdup(name);
	hk_registration_id_from_name(name, reg->id);
	reg->pattern = hk_xstrdup("*");
	reg->excludes = hk_xcalloc(1, sizeof(*reg->excludes));
	reg->priority = CONFIG_DEFAULT_PRIORITY;
	reg->age_by = HK_AGE_MTIME;
	reg->source = HK_SOURCE_CONFIG;
	return reg;
}

/* A new [cleanup "name"] section: checks it is defined nowhere else. */
static void config_section_cleanup(struct config_file *f, const char *name, unsigned line)
{
	struct config_ctx *ctx = f->ctx;
	struct hk_config *cfg = ctx->cfg;
	struct config_section *sec = NULL;

	for (size_t i = 0; i < f->n_sections; i++) {
		if (f->sections[i].kind == CONFIG_SEC_CLEANUP &&
		    strcmp(f->sections[i].name, name) == 0) {
			config_err_line(ctx, f->path, line,
					"duplicate section [cleanup \"%s\"] (first on line %u)",
					name, f->sections[i].line);
			config_section_add(f, CONFIG_SEC_SKIP, NULL, line);
			return;
		}
	}
	for (size_t i = 0; i < cfg->n_regs; i++) {
		if (strcmp(cfg->regs[i]->name, name) == 0) {
			config_err_line(ctx, f->path, line,
					"[cleanup \"%s\"] already defined at %s:%u",
					name, cfg->regs[i]->source_file, cfg->regs[i]->source_line);
			config_section_add(f, CONFIG_SEC_SKIP, NULL, line);
			return;
		}
	}
	config_section_add(f, CONFIG_SEC_CLEANUP, name, line);
	sec = &f->sections[f->n_sections - 1];
	sec->reg = cfg->n_regs;
	cfg->regs = hk_xreallocarray(cfg->regs, cfg->n_regs + 1, sizeof(*cfg->regs));
	ctx->meta = hk_xreallocarray(ctx->meta, cfg->n_regs + 1, sizeof(*ctx->meta));
	cfg->regs[cfg->n_regs] = config_reg_new(name);
	cfg->regs[cfg->n_regs]->source_file = hk_xstrdup(f->path);
	cfg->regs[cfg->n_regs]->source_line = line;
	memset(&ctx->meta[cfg->n_regs], 0, sizeof(ctx->meta[0]));
	cfg->n_regs++;
}

/* Parses a section header line (s..end, trimmed, *s == '['). */
static void config_stage_header(struct config_file *f, const char *s, const char *end,
				unsigned line)
{
	struct config_ctx *ctx = f->ctx;
	const char *close = config_find_or_comment(s + 1, end, "]");
	const char *rest = NULL;
	char *raw = NULL;
	char *name = NULL;
	size_t rawlen, len;
	char *p, *q;

	if (close >= end || *close != ']') {
		config_err_line(ctx, f->path, line, "section header without closing ']'");
		goto skip;
	}
	rest = config_skip_space(close + 1, end);
	if (rest < end && *rest != ';') {
		config_err_line(ctx, f->path, line, "unexpected text after section header: '%.*s'",
				(int)(end - rest), rest);
		goto skip;
	}
	rawlen = (size_t)(close - (s + 1));
	if (rawlen > HK_CONFIG_MAX_SECTION) {
		config_err_line(ctx, f->path, line, "section name too long (%zu bytes, at most %d)",
				rawlen, HK_CONFIG_MAX_SECTION);
		goto skip;
	}
	raw = hk_xstrndup(s + 1, rawlen);
	p = raw;
	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		p[--len] = '\0';
	if (strcmp(p, "scheduler") == 0 || strcmp(p, "daemon") == 0) {
		enum config_kind kind = p[0] == 's' ? CONFIG_SEC_SCHEDULER : CONFIG_SEC_DAEMON;
		for (size_t i = 0; i < f->n_sections; i++) {
			if (f->sections[i].kind == kind) {
				config_err_line(ctx, f->path, line,
						"duplicate section [%s] (first on line %u)",
						p, f->sections[i].line);
				goto skip;
			}
		}
		config_section_add(f, kind, NULL, line);
		goto out;
	}
	if (strncmp(p, "cleanup", 7) != 0 || (p[7] && !isspace((unsigned char)p[7]))) {
		config_err_line(ctx, f->path, line,
				"unknown section [%s] (expected [scheduler], [daemon] or [cleanup \"NAME\"])",
				p);
		goto skip;
	}
	q = p + 7;
	while (isspace((unsigned char)*q))
		q++;
	len = strlen(q);
	if (len < 2 || q[0] != '"' || q[len - 1] != '"') {
		config_err_line(ctx, f->path, line,
				"section [%s]: the name must be quoted, as in [cleanup \"NAME\"]", p);
		goto skip;
	}
	name = hk_xstrndup(q + 1, len - 2);
	if (!*name) {
		config_err_line(ctx, f->path, line, "section [%s]: the name must not be empty", p);
		goto skip;
	}
	if (!config_name_valid(name)) {
		config_err_line(ctx, f->path, line,
				"section [%s]: invalid name \"%s\" (use letters, digits and \"%s\")",
				p, name, CONFIG_NAME_CHARS);
		goto skip;
	}
	config_section_cleanup(f, name, line);
	goto out;
skip:
	config_section_add(f, CONFIG_SEC_SKIP, NULL, line);
out:
	free(raw);
	free(name);
}

/* Splits the file into lines and checks each (see the top comment). */
static void config_stage(struct config_file *f)
{
	struct config_ctx *ctx = f->ctx;
	size_t pos = 0;

	while (pos < f->size) {
		const char *base = f->data + pos;
		const char *nl = memchr(base, '\n', f->size - pos);
		size_t raw = nl ? (size_t)(nl - base) : f->size - pos;
		size_t len = raw;
		unsigned line = (unsigned)f->n_lines + 1;
		struct config_line *l = NULL;
		const char *s, *end;

		if (len > 0 && base[len - 1] == '\r')
			len--;
		f->lines = hk_xreallocarray(f->lines, f->n_lines + 1, sizeof(*f->lines));
		l = &f->lines[f->n_lines++];
		l->off = pos;
		l->len = len;
		l->feed = false;
		l->section = (int)f->n_sections - 1;
		pos += raw + (nl ? 1 : 0);

		if (memchr(base, '\0', raw)) {
			config_err_line(ctx, f->path, line, "NUL byte in line");
			continue;
		}
		if (len > HK_CONFIG_MAX_LINE) {
			config_err_line(ctx, f->path, line, "line too long (%zu bytes, at most %d)",
					len, HK_CONFIG_MAX_LINE);
			continue;
		}
		s = base;
		end = base + len;
		if (line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;
			l->off += 3;
			l->len -= 3;
		}
		s = config_skip_space(s, end);
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		if (s == end || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			config_stage_header(f, s, end, line);
			l->section = (int)f->n_sections - 1;
			continue;
		}
		{
			const char *eq = config_find_or_comment(s, end, "=:");
			if (eq >= end || (*eq != '=' && *eq != ':')) {
				config_err_line(ctx, f->path, line,
						"expected 'key = value', a [section] or a comment: '%.*s'",
						(int)(end - s), s);
				continue;
			}
		}
		l->feed = true;
	}
}

/* The line number of an error message "path:LINE: ..." (0 if none). */
static unsigned long config_msg_line(const char *msg, size_t path_len)
{
	if (!isdigit((unsigned char)msg[path_len + 1]))
		return 0;
	return strtoul(msg + path_len + 1, NULL, 10);
}

/* Orders the errors msgs[from..] of one file by line (stable): staging
 * finds some errors before inih reports earlier lines. */
static void config_sort_errors(struct hk_config_errors *errs, size_t from, const char *path)
{
	size_t plen = strlen(path);

	for (size_t i = from + 1; i < errs->n; i++) {
		char *m = errs->msgs[i];
		unsigned long line = config_msg_line(m, plen);
		size_t k = i;
		while (k > from && config_msg_line(errs->msgs[k - 1], plen) > line) {
			errs->msgs[k] = errs->msgs[k - 1];
			k--;
		}
		errs->msgs[k] = m;
	}
}

/* Parses one staged buffer as file `path`. */
static void config_parse_buffer(struct config_ctx *ctx, const char *path, bool is_main,
				const char *data, size_t size)
{
	struct config_file f;
	size_t n_before = ctx->errs->n;
	int r;

	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.path = path;
	f.is_main = is_main;
	f.data = data;
	f.size = size;
	config_stage(&f);
	ini_allow_multiline = false;
	r = ini_parse_stream(config_ini_reader, &f, config_ini_handler, &f);
	if (r > 0 && (size_t)r <= f.n_lines && f.lines[r - 1].feed)
		config_err_line(ctx, path, (unsigned)r, "cannot parse line");
	else if (r < 0)
		config_err_line(ctx, path, 0, "parser failed (%d)", r);
	for (size_t i = 0; i < f.n_sections; i++) {
		free(f.sections[i].name);
		free(f.sections[i].seen);
	}
	free(f.sections);
	free(f.lines);
	config_sort_errors(ctx->errs, n_before, path);
}

/* Files ------------------------------------------------------------------------- */

static void config_files_add(struct config_ctx *ctx, const char *path)
{
	struct hk_config *cfg = ctx->cfg;
	char *real = realpath(path, NULL);

	config_strv_add(&cfg->files, &cfg->n_files, path);
	ctx->read_real = hk_xreallocarray(ctx->read_real, ctx->n_read_real + 1,
					  sizeof(*ctx->read_real));
	ctx->read_real[ctx->n_read_real++] = real ? real : hk_xstrdup(path);
}

static bool config_already_read(struct config_ctx *ctx, const char *path)
{
	char *real = realpath(path, NULL);
	bool found = false;

	for (size_t i = 0; real && i < ctx->n_read_real; i++)
		if (strcmp(ctx->read_real[i], real) == 0)
			found = true;
	free(real);
	return found;
}

/* Is path a symlink to /dev/null (or /dev/null itself)? */
static bool config_is_masked(const char *path)
{
	struct stat st, null_st;

	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	if (stat("/dev/null", &null_st) < 0)
		return false;
	return st.st_rdev == null_st.st_rdev;
}

/* Reads and parses one file. */
static void config_load_file(struct config_ctx *ctx, const char *path, bool is_main)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		config_err_at(ctx, path, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		config_err_at(ctx, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		config_err_at(ctx, path, "not a regular file");
		goto out;
	}
	if (st.st_size > HK_CONFIG_MAX_FILE) {
		config_err_at(ctx, path, "file too large (%jd bytes, at most %d)",
			      (intmax_t)st.st_size, HK_CONFIG_MAX_FILE);
		goto out;
	}
	data = hk_xmalloc(HK_CONFIG_MAX_FILE + 1);
	while ((n = read(fd, data + len, HK_CONFIG_MAX_FILE + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			config_err_at(ctx, path, "cannot read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (len > HK_CONFIG_MAX_FILE) {
			config_err_at(ctx, path, "file too large (more than %d bytes)",
				      HK_CONFIG_MAX_FILE);
			goto out;
		}
	}
	config_files_add(ctx, path);
	config_parse_buffer(ctx, path, is_main, data, len);
out:
	if (fd >= 0)
		close(fd);
	free(data);
}

struct config_dropin {
	char *name;
	char *path;
};

static int config_dropin_cmp(const void *a, const void *b)
{
	const struct config_dropin *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static bool config_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

/* Reads the drop-ins of dirs (earlier directories win on equal names). */
static void config_load_dropins(struct config_ctx *ctx, const char *const *dirs, size_t n_dirs)
{
	struct config_dropin *list = NULL;
	size_t n = 0;
	DIR *d = NULL;
	struct dirent *de;

	for (size_t i = 0; i < n_dirs; i++) {
		if (!dirs[i])
			continue;
		d = opendir(dirs[i]);
		if (!d) {
			if (errno != ENOENT)
				config_err_at(ctx, dirs[i], "cannot open directory: %s", strerror(errno));
			continue;
		}
		while ((de = readdir(d))) {
			bool dup = false;
			if (!config_dropin_name(de->d_name))
				continue;
			for (size_t k = 0; k < n; k++)
				if (strcmp(list[k].name, de->d_name) == 0)
					dup = true;
			if (dup)
				continue;
			list = hk_xreallocarray(list, n + 1, sizeof(*list));
			list[n].name = hk_xstrdup(de->d_name);
			list[n].path = hk_xasprintf("%s/%s", dirs[i], de->d_name);
			n++;
		}
		closedir(d);
		d = NULL;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), config_dropin_cmp);
	for (size_t k = 0; k < n; k++) {
		if (!config_is_masked(list[k].path))
			config_load_file(ctx, list[k].path, false);
		free(list[k].name);
		free(list[k].path);
	}
	free(list);
}

/* Reads the files of the main file's include globs, in glob order. */
static void config_load_includes(struct config_ctx *ctx, const char *main_dir)
{
	struct hk_daemon_settings *d = &ctx->cfg->daemon;
	char *pat = NULL;
	glob_t g;
	int r;

	for (size_t i = 0; i < d->n_includes; i++) {
		const char *inc = d->includes[i];
		pat = inc[0] == '/' ? hk_xstrdup(inc) : hk_xasprintf("%s/%s", main_dir, inc);
		memset(&g, 0, sizeof(g));
		r = glob(pat, 0, NULL, &g);
		if (r == GLOB_NOMATCH) {
			if (!strpbrk(inc, "*?["))
				config_err_line(ctx, ctx->cfg->main_file, ctx->include_lines[i],
						"include: '%s': cannot open: %s", pat, strerror(ENOENT));
		} else if (r != 0) {
			config_err_line(ctx, ctx->cfg->main_file, ctx->include_lines[i],
					"include: '%s': cannot expand the glob", pat);
		} else {
			for (size_t k = 0; k < g.gl_pathc; k++) {
				const char *p = g.gl_pathv[k];
				if (config_is_masked(p) || config_already_read(ctx, p))
					continue;
				config_load_file(ctx, p, false);
			}
		}
		globfree(&g);
		free(pat);
		pat = NULL;
	}
}

/* Is dir the same directory as other (by realpath, else by name)? */
static bool config_same_dir(const char *dir, const char *other)
{
	char *a = realpath(dir, NULL);
	char *b = other ? realpath(other, NULL) : NULL;
	bool same;

	if (a && b)
		same = strcmp(a, b) == 0;
	else
		same = other && strcmp(dir, other) == 0;
	free(a);
	free(b);
	return same;
}

/* Config object -------------------------------------------------------------------- */

static struct hk_config *config_new(const char *main_file)
{
	struct hk_config *cfg = hk_xcalloc(1, sizeof(*cfg));
	struct hk_scheduler_settings *s = &cfg->scheduler;
	struct hk_daemon_settings *d = &cfg->daemon;

	cfg->main_file = hk_xstrdup(main_file);
	s->job_history_retention_days = 30;
	s->max_concurrent_jobs = 5;
	s->default_timeout = 300;
	s->housekeeper_schedule = hk_xstrdup(CONFIG_DEFAULT_SCHEDULE);
	(void)hk_cron_parse(CONFIG_DEFAULT_SCHEDULE, &s->schedule_cron, NULL);
	s->housekeeper_default_retention = 30;
	s->housekeeper_dry_run = false;
	s->housekeeper_read_only = false;
	s->housekeeper_concurrent_cleanups = 3;
	s->housekeeper_report_enabled = true;
	s->housekeeper_report_directory = hk_xstrdup("");
	d->state_directory = hk_xstrdup(HK_LOCALSTATEDIR);
	d->control_socket = hk_xstrdup(CONFIG_DEFAULT_SOCKET);
	d->log_level = hk_xstrdup(CONFIG_DEFAULT_LOG_LEVEL);
	return cfg;
}

void hk_config_free(struct hk_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->main_file);
	config_strv_free(cfg->files, cfg->n_files);
	free(cfg->scheduler.housekeeper_schedule);
	free(cfg->scheduler.housekeeper_report_directory);
	free(cfg->daemon.state_directory);
	free(cfg->daemon.control_socket);
	free(cfg->daemon.control_group);
	config_strv_free(cfg->daemon.includes, cfg->daemon.n_includes);
	free(cfg->daemon.log_level);
	free(cfg->daemon.metrics_textfile);
	free(cfg->daemon.on_failure);
	config_strv_free(cfg->daemon.on_failure_argv, cfg->daemon.on_failure_argc);
	for (size_t i = 0; i < cfg->n_regs; i++)
		hk_registration_free(cfg->regs[i]);
	free(cfg->regs);
	free(cfg);
}

/* After all files: required keys, default retention, validation. */
static void config_finish(struct config_ctx *ctx)
{
	struct hk_config *cfg = ctx->cfg;
	char *cause = NULL;

	for (size_t i = 0; i < cfg->n_regs; i++) {
		struct hk_registration *reg = cfg->regs[i];
		if (!reg->directory) {
			if (!ctx->meta[i].dir_line)
				config_err_line(ctx, reg->source_file, reg->source_line,
						"[cleanup \"%s\"]: missing required key 'directory'",
						reg->name);
			continue;
		}
		if (!hk_registration_has_policy(reg)) {
			reg->has_retention = true;
			reg->retention = cfg->scheduler.housekeeper_default_retention *
					 CONFIG_SECONDS_PER_DAY;
			reg->default_retention = true;
		}
		if (hk_registration_validate(reg, &cause) < 0)
			config_err_line(ctx, reg->source_file, ctx->meta[i].dir_line, "%s", cause);
		free(cause);
		cause = NULL;
	}
}

static void config_ctx_fini(struct config_ctx *ctx)
{
	free(ctx->meta);
	free(ctx->include_lines);
	config_strv_free(ctx->read_real, ctx->n_read_real);
}

/* Ends a load: hands out cfg if no error was added since n_before. */
static int config_conclude(struct config_ctx *ctx, size_t n_before, struct hk_config **out)
{
	if (ctx->errs->n > n_before) {
		hk_config_free(ctx->cfg);
		ctx->cfg = NULL;
		return HK_ECONFIG;
	}
	*out = ctx->cfg;
	ctx->cfg = NULL;
	return 0;
}

const struct hk_config_paths *hk_config_default_paths(void)
{
	static const struct hk_config_paths paths = {
		.sysconfdir_main = HK_SYSCONFDIR,
		.run_confd = "/run/housekeeper/conf.d",
		.lib_confd = HK_LIBDIR_CONFD,
	};
	return &paths;
}

int hk_config_load(const char *main_file, const struct hk_config_paths *paths,
		   struct hk_config **out, struct hk_config_errors *errs)
{
	struct hk_config_errors local = { NULL, 0 };
	struct config_ctx ctx;
	const char *dirs[3] = { NULL, NULL, NULL };
	char *main_dir = NULL;
	char *confd = NULL;
	const char *slash;
	size_t n_before;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	*out = NULL;
	if (!paths)
		paths = hk_config_default_paths();
	ctx.errs = errs ? errs : &local;
	n_before = ctx.errs->n;
	ctx.cfg = config_new(main_file);

	slash = strrchr(main_file, '/');
	if (!slash)
		main_dir = hk_xstrdup(".");
	else if (slash == main_file)
		main_dir = hk_xstrdup("/");
	else
		main_dir = hk_xstrndup(main_file, (size_t)(slash - main_file));

	config_load_file(&ctx, main_file, true);
	if (ctx.errs->n == n_before || ctx.cfg->n_files > 0) {
		confd = hk_xasprintf("%s/conf.d", strcmp(main_dir, "/") == 0 ? "" : main_dir);
		dirs[0] = confd;
		if (config_same_dir(main_dir, paths->sysconfdir_main)) {
			dirs[1] = paths->run_confd;
			dirs[2] = paths->lib_confd;
		}
		config_load_dropins(&ctx, dirs, HK_ARRAY_SIZE(dirs));
		config_load_includes(&ctx, main_dir);
		config_finish(&ctx);
	}
	r = config_conclude(&ctx, n_before, out);
	config_ctx_fini(&ctx);
	free(main_dir);
	free(confd);
	hk_config_errors_fini(&local);
	return r;
}

int hk_config_load_string(const char *text, const char *name,
			  struct hk_config **out, struct hk_config_errors *errs)
{
	struct hk_config_errors local = { NULL, 0 };
	struct config_ctx ctx;
	size_t n_before;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	*out = NULL;
	ctx.errs = errs ? errs : &local;
	n_before = ctx.errs->n;
	ctx.cfg = config_new(name);
	if (strlen(text) > HK_CONFIG_MAX_FILE) {
		config_err_at(&ctx, name, "file too large (%zu bytes, at most %d)", strlen(text),
			      HK_CONFIG_MAX_FILE);
	} else {
		config_strv_add(&ctx.cfg->files, &ctx.cfg->n_files, name);
		config_parse_buffer(&ctx, name, true, text, strlen(text));
		config_finish(&ctx);
	}
	r = config_conclude(&ctx, n_before, out);
	config_ctx_fini(&ctx);
	hk_config_errors_fini(&local);
	return r;
}

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

static void config_print_reg(FILE *out, const struct hk_registration *reg)
{
	char buf[128];
	char age[32] = "";

	fprintf(out, "\n");
	config_print_comment(out, "from %s:%u", reg->source_file ? reg->source_file : "?",
			     reg->source_line);
	config_print_comment(out, "id %s", reg->id);
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
		config_print_reg(out, cfg->regs[i]);
}

/* Registrations ------------------------------------------------------------------- */

bool hk_path_is_system_directory(const char *path)
{
	static const char *const sys[] = {
		"/", "/etc", "/usr", "/bin", "/sbin", "/boot", "/dev", "/proc", "/sys",
		"/run", "/var", "/home", "/root",
	};

	if (!path)
		return false;
	for (size_t i = 0; i < HK_ARRAY_SIZE(sys); i++)
		if (strcmp(path, sys[i]) == 0)
			return true;
	/* /lib*: /lib, /lib32, /lib64, /libx32, /libexec ... */
	return strncmp(path, "/lib", 4) == 0 && !strchr(path + 4, '/');
}

int hk_registration_validate(const struct hk_registration *reg, char **cause)
{
	char *real = NULL;
	char *msg = NULL;
	int r = HK_ECONFIG;

	if (!reg->directory || reg->directory[0] != '/') {
		msg = hk_xasprintf("directory: '%s' is not an absolute path",
				   reg->directory ? reg->directory : "");
		goto out;
	}
	if (!hk_path_is_clean_absolute(reg->directory)) {
		msg = hk_xasprintf("directory: '%s' is not a clean path (no trailing '/', '//', '.' or '..')",
				   reg->directory);
		goto out;
	}
	if (!reg->pattern || !*reg->pattern) {
		msg = hk_xstrdup("pattern: must not be empty (use * for every file)");
		goto out;
	}
	if (strchr(reg->pattern, '/')) {
		msg = hk_xasprintf("pattern: '%s' contains '/' (it matches file names, not paths)",
				   reg->pattern);
		goto out;
	}
	for (size_t i = 0; i < reg->n_excludes; i++) {
		if (!*reg->excludes[i] || strchr(reg->excludes[i], '/')) {
			msg = hk_xasprintf("exclude: '%s' is empty or contains '/'", reg->excludes[i]);
			goto out;
		}
	}
	if (reg->has_retention && (reg->retention < 0 ||
	    reg->retention > HK_CONFIG_MAX_RETENTION_DAYS * CONFIG_SECONDS_PER_DAY)) {
		msg = hk_xasprintf("retention: %" PRId64 " seconds is out of range (at most %dd)",
				   reg->retention, HK_CONFIG_MAX_RETENTION_DAYS);
		goto out;
	}
	if (reg->has_max_files && reg->max_files > UINT32_MAX) {
		msg = hk_xasprintf("max_files: %" PRIu64 " is out of range (0..%" PRIu32 ")",
				   reg->max_files, UINT32_MAX);
		goto out;
	}
	if (reg->priority < -HK_CONFIG_MAX_PRIORITY || reg->priority > HK_CONFIG_MAX_PRIORITY) {
		msg = hk_xasprintf("priority: %ld is out of range (%ld..%ld)", reg->priority,
				   -HK_CONFIG_MAX_PRIORITY, HK_CONFIG_MAX_PRIORITY);
		goto out;
	}
	if (reg->description && strlen(reg->description) > HK_CONFIG_MAX_DESCRIPTION) {
		msg = hk_xasprintf("description: too long (%zu bytes, at most %d)",
				   strlen(reg->description), HK_CONFIG_MAX_DESCRIPTION);
		goto out;
	}
	if (!reg->age_by || (reg->age_by & ~(HK_AGE_MTIME | HK_AGE_ATIME | HK_AGE_CTIME))) {
		msg = hk_xstrdup("age_by: use mtime, atime, ctime or a list of them");
		goto out;
	}
	if (reg->schedule) {
		struct hk_cron cron;
		char *c = NULL;
		if (hk_cron_parse(reg->schedule, &cron, &c) < 0) {
			msg = hk_xasprintf("schedule: '%s': %s", reg->schedule,
					   c ? c : "invalid cron expression");
			free(c);
			goto out;
		}
	}
	if (!reg->allow_system_directory) {
		r = HK_ESYSDIR;
		if (hk_path_is_system_directory(reg->directory)) {
			msg = hk_xasprintf("directory: '%s' is a system directory "
					   "(set allow_system_directory = yes to register it anyway)",
					   reg->directory);
			goto out;
		}
		real = realpath(reg->directory, NULL);
		if (real && hk_path_is_system_directory(real)) {
			msg = hk_xasprintf("directory: '%s' resolves to the system directory '%s' "
					   "(set allow_system_directory = yes to register it anyway)",
					   reg->directory, real);
			goto out;
		}
	}
	r = 0;
out:
	free(real);
	if (cause)
		*cause = msg;
	else
		free(msg);
	return r;
}

void hk_registration_id_from_name(const char *name, char out[HK_UUID_LEN + 1])
{
	uuid_t ns, id;

	if (uuid_parse(config_uuid_namespace, ns) < 0)
		abort();   /* a constant: cannot fail */
	uuid_generate_sha1(id, ns, name, strlen(name));
	uuid_unparse_lower(id, out);
}

struct hk_registration *hk_registration_dup(const struct hk_registration *reg)
{
	struct hk_registration *c = NULL;

	if (!reg)
		return NULL;
	c = hk_xmalloc(sizeof(*c));
	*c = *reg;
	c->name = reg->name ? hk_xstrdup(reg->name) : NULL;
	c->directory = reg->directory ? hk_xstrdup(reg->directory) : NULL;
	c->pattern = reg->pattern ? hk_xstrdup(reg->pattern) : NULL;
	c->excludes = config_strv_dup(reg->excludes, reg->n_excludes);
	c->description = reg->description ? hk_xstrdup(reg->description) : NULL;
	c->schedule = reg->schedule ? hk_xstrdup(reg->schedule) : NULL;
	c->source_file = reg->source_file ? hk_xstrdup(reg->source_file) : NULL;
	return c;
}

void hk_registration_free(struct hk_registration *reg)
{
	if (!reg)
		return;
	free(reg->name);
	free(reg->directory);
	free(reg->pattern);
	config_strv_free(reg->excludes, reg->n_excludes);
	free(reg->description);
	free(reg->schedule);
	free(reg->source_file);
	free(reg);
}

bool hk_registration_has_policy(const struct hk_registration *reg)
{
	return reg->has_retention || reg->has_max_files || reg->has_max_size;
}
