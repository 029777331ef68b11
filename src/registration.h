/*
 * registration.h - one registration (a directory, a pattern and its
 * limits) as every layer sees it: the config loader, the control API, the
 * store, the wire protocol, the policies and the engine. The functions are
 * config_reg.c's (validation, ids, copy, free) and, for the defaults of
 * the key table, config_keys.c's. config.h is the whole configuration.
 */
#ifndef HK_REGISTRATION_H
#define HK_REGISTRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "units.h"

/* age_by bits: the age of a file is the newest of the selected times. */
#define HK_AGE_MTIME 0x1u
#define HK_AGE_ATIME 0x2u
#define HK_AGE_CTIME 0x4u

#define HK_UUID_LEN 36

enum hk_reg_source {
	HK_SOURCE_CONFIG,   /* from an INI file: changed by editing files */
	HK_SOURCE_API,      /* registered through the control socket */
};

/* What one candidate of a registration is (unit =). */
enum hk_unit {
	HK_UNIT_FILE = 0,        /* each matching regular file */
	HK_UNIT_DIRECTORY = 1,   /* each matching subdirectory directly in the directory */
};

/* One registration: a directory, a pattern, and its limits. */
struct hk_registration {
	char id[HK_UUID_LEN + 1];   /* config: UUIDv5 of the section name */
	char *name;                 /* section name ("myapp-logs"); api: NULL or given */
	char *directory;            /* absolute, lexically clean */
	char *pattern;              /* fnmatch(3) on the file name, default "*" */
	char **excludes;            /* NULL-terminated list of globs (may be empty) */
	size_t n_excludes;
	int64_t retention;          /* seconds; 0 = no age limit */
	bool has_retention;         /* retention was set (even to 0 = explicitly none) */
	uint64_t max_files;         /* keep the newest N; only with has_max_files */
	bool has_max_files;
	uint64_t max_size;          /* bytes; has_max_size false = no size limit */
	bool has_max_size;
	long priority;              /* lower runs first; default 100 */
	char *description;          /* may be NULL */
	bool recursive;
	unsigned age_by;            /* HK_AGE_* bits, default HK_AGE_MTIME */
	char *schedule;             /* own sweep cron expression, NULL if none */
	struct hk_cron schedule_cron;
	bool allow_system_directory;
	struct hk_space min_free;   /* unset: no free-space floor (SPEC 5) */
	struct hk_space free_target;   /* unset: min_free */
	unsigned low_watermark;     /* percent (1..100) of max_files/max_size to trim to;
				     * 100 by default, and 0 (a zeroed struct) means 100 too */
	bool skip_open;             /* a file any process holds open is kept and retried */
	enum hk_unit unit;          /* HK_UNIT_FILE unless unit = directory */
	bool remove_empty_dirs;     /* recursive only: empty subdirectories removed */
	bool default_retention;     /* retention came from housekeeper_default_retention */
	enum hk_reg_source source;
	char *source_file;          /* config: file of the section, else NULL */
	unsigned source_line;       /* config: line of the section header */
	int64_t created_at;         /* epoch seconds; 0 when unknown */
	int64_t updated_at;
	int64_t last_run;
	uint32_t owner_uid;         /* api: uid that registered it; config: 0 */
};

/* The [cleanup] defaults of the key table (pattern "*", priority 100,
 * age_by mtime, no excludes...) set into a zeroed registration. */
void hk_registration_set_defaults(struct hk_registration *reg);

/* Validate one registration (directory absolute and clean, not a system
 * directory unless allowed, also after resolving symlinks; pattern without
 * '/'; values in range). Shared by the config loader and the control API.
 * Returns 0, or an HK_E* / -errno code with *cause (owned by the caller). */
int hk_registration_validate(const struct hk_registration *reg, char **cause);
/* A registration must not clean the daemon's own state (SPEC 7): its
 * directory is neither state_dir nor inside it, as written and as the
 * kernel resolves both. Returns 0, or HK_ECONFIG with *cause (owned by
 * the caller). Shared by the config loader and the control API. */
int hk_registration_check_state(const struct hk_registration *reg, const char *state_dir,
				char **cause);
/* Is path (canonical, absolute) one of the protected system directories? */
bool hk_path_is_system_directory(const char *path);
/* Deterministic UUIDv5 id for a config section name. */
void hk_registration_id_from_name(const char *name, char out[HK_UUID_LEN + 1]);
struct hk_registration *hk_registration_dup(const struct hk_registration *reg);
void hk_registration_free(struct hk_registration *reg);
/* Does the registration set any limit of its own? */
bool hk_registration_has_policy(const struct hk_registration *reg);

#endif /* HK_REGISTRATION_H */
