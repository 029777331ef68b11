/*
 * config.h - the configuration (SPEC 3): the main INI file, its drop-ins,
 * the [scheduler] and [daemon] settings and the [cleanup "name"]
 * registration sections.
 *
 * A loaded struct hk_config is immutable: a reload loads a new one, and the
 * daemon swaps the pointer only when the load had no error at all. Every
 * error is collected (never only the first) as "file:line: message".
 *
 * Choices where SPEC 3 is silent (also described in etc/housekeeper.conf):
 * - Staging: a file over HK_CONFIG_MAX_FILE bytes, a NUL byte, or a line
 *   over HK_CONFIG_MAX_LINE bytes (inih's fixed 200-byte fgets buffer must
 *   hold the line plus "\r\n" and NUL) is an error; so is a section name
 *   (the text between '[' and ']') over HK_CONFIG_MAX_SECTION bytes, text
 *   after a section's ']' other than a ';' comment, and a line that is
 *   neither a section, a "key = value" nor a comment. Multi-line
 *   (indented continuation) values are off. Comments: ';' or '#' at the
 *   start of a line, " ;" inline.
 * - The keys of a section whose header is in error (unknown, duplicate,
 *   badly formed) are ignored. "key: value" works like "key = value"
 *   (inih's concession to Python's configparser).
 * - Within one file a key may be set once per section (except the list
 *   keys exclude and include); a section may appear once. [scheduler] and
 *   [daemon] may appear in several files: later files override earlier
 *   keys. A [cleanup "NAME"] may be defined in one file only.
 * - An empty value resets an optional key to its default/unset state
 *   (systemd convention); for the list keys exclude and include it clears
 *   the list collected so far. Required or always-valued keys (directory,
 *   pattern, age_by, the [scheduler] numbers) reject an empty value.
 * - retention = 0 means "no age limit" and counts as a policy
 *   (has_retention, retention 0): "older than nothing" would delete every
 *   file the moment it appears, never what an operator means. max_files = 0
 *   and max_size = 0 are literal limits ("keep the newest 0", "keep the
 *   total at most 0 bytes": an always-emptied spool); leaving the key out
 *   (or empty) means no limit, like the seed's None. A
 *   registration with none of retention/max_files/max_size set gets
 *   housekeeper_default_retention days (default_retention true).
 * - Ranges: retention at most 36500 days; max_files 0..UINT32_MAX;
 *   priority -1e9..1e9; description at most 256 bytes;
 *   job_history_retention_days 1..36500; housekeeper_default_retention
 *   0..36500 (0 = policy-less registrations get no age limit);
 *   max_concurrent_jobs and housekeeper_concurrent_cleanups 1..1024;
 *   default_timeout 1s..31d (bare number = seconds).
 * - include is honoured only in the main file (an error elsewhere);
 *   relative globs are relative to the main file's directory; a glob
 *   without wildcards that matches nothing is an error, a wildcard glob
 *   matching nothing is not; a file already read is not read twice; a
 *   match that is a symlink to /dev/null is skipped like a masked drop-in.
 * - Drop-in names must end in ".conf" and not start with '.'; missing
 *   drop-in directories are fine, unreadable ones are an error.
 * - The /run drop-in directory is /run/housekeeper/conf.d as SPEC 3 says,
 *   whatever runstatedir is.
 * - Section names: [scheduler], [daemon], [cleanup "NAME"] exactly (spaces
 *   around the name inside the brackets are tolerated); NAME uses letters,
 *   digits and "-_.@:" only.
 */
#ifndef HK_CONFIG_H
#define HK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cron.h"
#include "registration.h"

/* Staging limits (see above). */
#define HK_CONFIG_MAX_FILE (1024 * 1024)   /* bytes per file */
#define HK_CONFIG_MAX_LINE 197             /* bytes per line, without "\r\n" */
#define HK_CONFIG_MAX_SECTION 49           /* bytes between '[' and ']' */
#define HK_CONFIG_MAX_DESCRIPTION 256
#define HK_CONFIG_MAX_RETENTION_DAYS 36500
#define HK_CONFIG_MAX_PRIORITY 1000000000L

/* [scheduler]: the seed's settings, with the seed's defaults. */
struct hk_scheduler_settings {
	long job_history_retention_days;      /* 30 */
	long max_concurrent_jobs;             /* 5 */
	long default_timeout;                 /* 300 seconds */
	char *housekeeper_schedule;           /* "0 3 * * *" */
	struct hk_cron schedule_cron;
	long housekeeper_default_retention;   /* 30 days */
	bool housekeeper_dry_run;             /* false */
	bool housekeeper_read_only;           /* false */
	long housekeeper_concurrent_cleanups; /* 3 */
	bool housekeeper_report_enabled;      /* true */
	char *housekeeper_report_directory;   /* "" = <state>/reports */
};

/* [daemon] */
struct hk_daemon_settings {
	char *state_directory;   /* default HK_LOCALSTATEDIR */
	char *control_socket;    /* default HK_RUNSTATEDIR "/housekeeper.sock" */
	char *control_group;     /* NULL = root's group */
	char **includes;         /* extra drop-in globs, NULL-terminated */
	size_t n_includes;
	char *log_level;         /* "info" */
	char *metrics_textfile;  /* NULL = none */
	char *on_failure;        /* NULL = none */
	char **on_failure_argv;  /* on_failure split on blanks, NULL-terminated;
				    argv[0] is absolute; NULL when unset */
	size_t on_failure_argc;
};

struct hk_config {
	char *main_file;                 /* the -c file */
	char **files;                    /* every file read, in order (main first) */
	size_t n_files;
	struct hk_scheduler_settings scheduler;
	struct hk_daemon_settings daemon;
	struct hk_registration **regs;   /* config registrations, in file order */
	size_t n_regs;
};

/* Where to look for drop-ins; tests point these at temp directories. */
struct hk_config_paths {
	const char *sysconfdir_main;  /* directory of the default main file (HK_SYSCONFDIR) */
	const char *run_confd;        /* /run/housekeeper/conf.d */
	const char *lib_confd;        /* $prefix/lib/housekeeper/conf.d */
	/* replaces [daemon] state_directory (housekeeperd -S), so that the
	 * check of registrations against it sees the one in use; NULL: none */
	const char *state_directory;
};
/* The compiled-in defaults. */
const struct hk_config_paths *hk_config_default_paths(void);

/* Error list: every message is "file:line: message" (or "file: message"
 * when no line applies). */
struct hk_config_errors {
	char **msgs;
	size_t n;
};
void hk_config_errors_fini(struct hk_config_errors *errs);

/* A reload: gives next the running values of the keys only a restart
 * can change ([daemon] state_directory, control_socket, control_group).
 * Returns how many differed; their names go to changed (up to max). */
size_t hk_config_keep_restart_only(struct hk_config *next, const struct hk_config *running,
				   const char **changed, size_t max_changed);

/* Load main_file and its drop-ins (SPEC 3). On success returns 0 and a new
 * config in *out (caller frees with hk_config_free). On any error returns
 * HK_ECONFIG, *out is NULL, and errs holds every error found. paths may be
 * NULL for the compiled-in defaults. */
int hk_config_load(const char *main_file, const struct hk_config_paths *paths,
		   struct hk_config **out, struct hk_config_errors *errs);

/* Parse one INI text as if it were the file `name` (no drop-ins): for tests
 * and for validating API input. Same contract as hk_config_load. */
int hk_config_load_string(const char *text, const char *name,
			  struct hk_config **out, struct hk_config_errors *errs);

void hk_config_free(struct hk_config *cfg);

/* Print the effective merged config as INI that loads again: every
 * setting with its value (defaults spelled out), each registration with a
 * comment naming the file and line it came from. */
void hk_config_print(const struct hk_config *cfg, FILE *out);

#endif /* HK_CONFIG_H */
