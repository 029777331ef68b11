/*
 * config_int.h - what the files of the configuration loader share
 * (config.c, config_keys.c, config_reg.c, config_print.c): the state of a
 * load and of the file being parsed, defaults, and the helpers used across
 * them. Private to those files; the rest of the daemon includes config.h.
 */
#ifndef HK_CONFIG_INT_H
#define HK_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#ifndef HK_RUNSTATEDIR
#define HK_RUNSTATEDIR "/run/housekeeper"
#endif
#ifndef HK_LOCALSTATEDIR
#define HK_LOCALSTATEDIR "/var/lib/housekeeper"
#endif

#define CONFIG_DEFAULT_SOCKET HK_RUNSTATEDIR "/housekeeper.sock"
#define CONFIG_DEFAULT_LOG_LEVEL "info"
#define CONFIG_DEFAULT_PRIORITY 100
#define CONFIG_SECONDS_PER_DAY INT64_C(86400)

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
	const char *state_override;   /* -S: replaces [daemon] state_directory */
};

/* Errors (config.c). */

/* An error at the current line of the file being parsed. */
void config_err(struct config_file *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* NULL-terminated string vectors (config.c). */
void config_strv_add(char ***v, size_t *n, const char *s);
void config_strv_free(char **v, size_t n);
char **config_strv_dup(char *const *v, size_t n);

/* Paths (config_reg.c). Is inner at or below outer (both absolute and
 * clean; strictly below when strict)? */
bool config_path_within(const char *outer, const char *inner, bool strict);
/* path with its deepest existing ancestor resolved by realpath and the
 * rest appended as written: what the kernel would reach, also for a path
 * that does not exist yet. A new string. */
char *config_path_resolve(const char *path);

/* The inih handler: checks and sets one key of the current line's section
 * (config_keys.c). Always returns 1: errors are collected, never through
 * inih. */
int config_ini_handler(void *user, const char *section, const char *name, const char *value);

#endif /* HK_CONFIG_INT_H */
