/*
 * config_reg.c - registrations, shared by the config loader and the control
 * API: validation (including the system-directory check, also after
 * resolving symlinks), the UUIDv5 ids of config sections, copy and free.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "config.h"
#include "config_int.h"
#include "housekeeper.h"
#include "util.h"

/* Namespace of the UUIDv5 registration ids (fixed forever: changing it
 * changes every config registration's id). */
static const char config_uuid_namespace[] = "68781fd0-71e5-47fe-8822-7a200630f830";

/* How a system directory is registered anyway, said where the user is: a
 * config section takes the key; the control API (housekeeperctl has no
 * option for it, deliberately) takes a config section or, from root, the
 * request field. */
static const char *config_reg_sysdir_way(const struct hk_registration *reg)
{
	if (reg->source == HK_SOURCE_API)
		return "(to register it anyway, give it a [cleanup] section with "
		       "allow_system_directory = yes in the configuration, see housekeeper.conf(5); "
		       "or, as root, send the field allow_system_directory: true)";
	return "(set allow_system_directory = yes to register it anyway)";
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

/* The checks of the later limits' keys together (SPEC 5): a message, or
 * NULL when they agree. */
static char *config_reg_limits_check(const struct hk_registration *reg)
{
	if (reg->free_target.set && !reg->min_free.set) {
		return hk_xstrdup("free_target: needs min_free (it is how far below min_free the "
				 "free space is brought back)");
	}
	if (reg->free_target.set && reg->free_target.is_percent == reg->min_free.is_percent &&
	    (reg->free_target.is_percent ? reg->free_target.percent < reg->min_free.percent
					 : reg->free_target.bytes < reg->min_free.bytes)) {
		return hk_xstrdup("free_target: less than min_free (it is the free space to reach "
				 "once below min_free)");
	}
	if (reg->low_watermark > 100) {
		return hk_xasprintf("low_watermark: %u%% is out of range (1%%..100%%)",
				   reg->low_watermark);
	}
	if (reg->remove_empty_dirs && !reg->recursive) {
		return hk_xstrdup("remove_empty_dirs: needs recursive = yes (the directory itself is "
				 "never removed)");
	}
	if (reg->unit == HK_UNIT_DIRECTORY && reg->min_free.set) {
		return hk_xstrdup("min_free: not with unit = directory (free space is taken file by "
				 "file, and a unit goes whole)");
	}
	if (reg->unit == HK_UNIT_DIRECTORY && reg->recursive) {
		return hk_xstrdup("unit = directory: the units are the subdirectories directly in the "
				 "directory; not with recursive = yes");
	}
	return NULL;
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
	msg = config_reg_limits_check(reg);
	if (msg)
		goto out;
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
			msg = hk_xasprintf("directory: '%s' is a system directory %s",
					   reg->directory, config_reg_sysdir_way(reg));
			goto out;
		}
		real = realpath(reg->directory, NULL);
		if (real && hk_path_is_system_directory(real)) {
			msg = hk_xasprintf("directory: '%s' resolves to the system directory '%s' %s",
					   reg->directory, real, config_reg_sysdir_way(reg));
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

bool config_path_within(const char *outer, const char *inner, bool strict)
{
	size_t n = strlen(outer);

	if (strcmp(outer, "/") == 0)
		return !strict || strcmp(inner, "/") != 0;
	if (strncmp(outer, inner, n) != 0)
		return false;
	return (!strict && inner[n] == '\0') || inner[n] == '/';
}

char *config_path_resolve(const char *path)
{
	char *head = hk_xstrdup(path);
	size_t cut = strlen(head);   /* path + cut: the part that does not exist */
	char *real = NULL;
	char *out = NULL;

	while (!(real = realpath(head, NULL))) {
		char *slash = strrchr(head, '/');
		if (!slash || strcmp(head, "/") == 0) {
			free(head);
			return hk_xstrdup(path);   /* nothing resolves: as written */
		}
		cut = (size_t)(slash - head);
		head[cut ? cut : 1] = '\0';
	}
	free(head);
	if (path[cut] == '\0')
		return real;
	out = hk_xasprintf("%s%s", strcmp(real, "/") == 0 ? "" : real, path + cut);
	free(real);
	return out;
}

int hk_registration_check_state(const struct hk_registration *reg, const char *state_dir,
				char **cause)
{
	char *rs = NULL;
	char *rd = NULL;
	int r = 0;

	*cause = NULL;
	if (!state_dir || state_dir[0] != '/' || !reg->directory || reg->directory[0] != '/')
		return 0;
	if (config_path_within(state_dir, reg->directory, false)) {
		*cause = hk_xasprintf("directory: '%s' is the state directory '%s' or inside it "
				      "(the daemon's own files are never cleaned)",
				      reg->directory, state_dir);
		return HK_ECONFIG;
	}
	rs = config_path_resolve(state_dir);
	rd = config_path_resolve(reg->directory);
	if (config_path_within(rs, rd, false)) {
		*cause = hk_xasprintf("directory: '%s' resolves to '%s', the state directory '%s' "
				      "or inside it (the daemon's own files are never cleaned)",
				      reg->directory, rd, state_dir);
		r = HK_ECONFIG;
	}
	free(rs);
	free(rd);
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
	c->excludes = hk_strv_dup(reg->excludes, reg->n_excludes);
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
	hk_strv_free(reg->excludes, reg->n_excludes);
	free(reg->description);
	free(reg->schedule);
	free(reg->source_file);
	free(reg);
}

bool hk_registration_has_policy(const struct hk_registration *reg)
{
	return reg->has_retention || reg->has_max_files || reg->has_max_size || reg->min_free.set;
}
