/*
 * config_int.h - what the files of the configuration loader share
 * (config.c, config_keys.c, config_reg.c, config_print.c, config_err.c):
 * the state of a load and of the file being parsed, defaults, and the
 * helpers used across them. Private to those files; the rest of the daemon includes config.h.
 */
#ifndef HK_CONFIG_INT_H
#define HK_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#ifndef HK_RUNSTATEDIR
#define HK_RUNSTATEDIR "/run/housekeeper"
#endif
#ifndef HK_LOCALSTATEDIR
#define HK_LOCALSTATEDIR "/var/lib/housekeeper"
#endif

#define CONFIG_DEFAULT_SOCKET HK_RUNSTATEDIR "/housekeeper.sock"
#define CONFIG_DEFAULT_LOG_LEVEL "info"
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

/* The key table (config_keys.c) ---------------------------------------------------
 * Every key of every section once: its type, where it is stored (an offset
 * into the section's struct: hk_scheduler_settings, hk_daemon_settings or
 * hk_registration), bounds, default and flags. Loading, defaults, -T
 * printing and reload all walk this table; a custom setter or printer
 * exists only where the grammar is special. */
enum config_type {
	CONFIG_T_LONG,       /* long in [min, max] */
	CONFIG_T_SECONDS,    /* long: a duration in seconds in [min, max] */
	CONFIG_T_BOOL,       /* yes/no, true/false, on/off, 1/0 */
	CONFIG_T_STR,        /* text of at most max bytes (0: any); empty = default */
	CONFIG_T_PATH,       /* absolute clean path; empty = default */
	CONFIG_T_CUSTOM,     /* its own setter and, if not a char *, printer */
};

enum {
	CONFIG_REPEAT = 1u << 0,      /* a list key: may repeat within a section */
	CONFIG_RESTART = 1u << 1,     /* a reload keeps the running value */
	CONFIG_ALIAS = 1u << 2,       /* another spelling of a key: never printed */
	CONFIG_EMPTY_DEFAULT = 1u << 3, /* CONFIG_T_LONG: an empty value = default */
};

struct config_setting;
/* Sets the key from value into base, the section's struct; a refused
 * value is reported with config_err and leaves the setting as it was. */
typedef void (*config_setter)(struct config_file *f, const struct config_setting *s, void *base,
			      const char *value);
/* Prints the key's "key = value" line(s) of base. */
typedef void (*config_printer)(FILE *out, const struct config_setting *s, const void *base);

struct config_setting {
	const char *name;
	enum config_kind section;
	size_t offset;            /* of the value in the section's struct */
	enum config_type type;
	size_t aux_offset;        /* a cron key: of its parsed struct hk_cron */
	long min, max;            /* CONFIG_T_LONG bounds; CONFIG_T_STR max length */
	const char *def;          /* the default as the file would spell it; NULL: unset */
	unsigned flags;           /* CONFIG_* above */
	config_setter set;        /* CONFIG_T_CUSTOM only */
	config_printer print;     /* custom printing; NULL: by type (custom: a char *) */
};

/* The table, and the entry of name in section (NULL: unknown key). */
const struct config_setting *config_settings(size_t *n);
const struct config_setting *config_setting_find(enum config_kind section, const char *name);
/* Sets the defaults of every key of section into base. */
void config_defaults_apply(enum config_kind section, void *base);
/* The value of a CONFIG_T_LONG/BOOL/STR/PATH or char * custom key in base. */
#define CONFIG_AT(base, s, type) ((type *)(void *)((char *)(base) + (s)->offset))

/* The setters and printers of min_free/free_target, low_watermark and
 * unit (config_limits.c). */
void config_reg_space(struct config_file *f, const struct config_setting *s, void *base,
		      const char *v);
void config_print_space(FILE *out, const struct config_setting *s, const void *base);
void config_reg_low_watermark(struct config_file *f, const struct config_setting *s, void *base,
			      const char *v);
void config_print_low_watermark(FILE *out, const struct config_setting *s, const void *base);
void config_reg_unit(struct config_file *f, const struct config_setting *s, void *base,
		     const char *v);
void config_print_unit(FILE *out, const struct config_setting *s, const void *base);

/* "key = value" lines of -T (config_keys.c; the document is config_print.c). */
void config_print_kv(FILE *out, const char *key, const char *value);
void config_print_setting(FILE *out, const struct config_setting *s, const void *base);

/* Errors (config_err.c): "file:line: message", or "where: message". An
 * error at the current line of the file being parsed; a key whose value
 * is refused keeps its default, so later checks do not report it twice. */
void config_err(struct config_file *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void config_err_line(struct config_ctx *ctx, const char *file, unsigned line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void config_err_at(struct config_ctx *ctx, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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
