/*
 * config_limits.c - the setters and printers of the registration keys of
 * SPEC 5's later limits: min_free and free_target (SIZE or N%),
 * low_watermark (N%) and unit (file or directory). The table that names
 * them is config_keys.c's; skip_open and remove_empty_dirs are plain
 * booleans there.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "units.h"
#include "util.h"

/* "key = value" ("key =" when unset): these values are short and never
 * start with ';', so config_print_kv's other forms are not needed (and
 * calling it would make this file and config_keys.c call each other). */
static void limits_print(FILE *out, const char *key, const char *value)
{
	if (*value)
		fprintf(out, "%s = %s\n", key, value);
	else
		fprintf(out, "%s =\n", key);
}

void config_reg_space(struct config_file *f, const struct config_setting *s, void *base,
		      const char *v)
{
	struct hk_space *sp = CONFIG_AT(base, s, struct hk_space);
	char *cause = NULL;
	if (!*v) {
		*sp = (struct hk_space){ 0 };
		return;
	}
	if (hk_space_parse(v, sp, &cause) < 0)
		config_err(f, "%s: %s", s->name, cause ? cause : "invalid amount (SIZE or N%)");
	free(cause);
}

void config_print_space(FILE *out, const struct config_setting *s, const void *base)
{
	char buf[HK_UNITS_FORMAT_MAX];
	limits_print(out, s->name,
		     hk_space_format(CONFIG_AT(base, s, const struct hk_space), buf, sizeof(buf)));
}

void config_reg_low_watermark(struct config_file *f, const struct config_setting *s, void *base,
			      const char *v)
{
	unsigned *pct = CONFIG_AT(base, s, unsigned);
	char *cause = NULL;
	if (!*v) {
		*pct = 100;
		return;
	}
	if (hk_percent_parse(v, pct, &cause) < 0)
		config_err(f, "%s: %s", s->name, cause ? cause : "expected N% (1% to 100%)");
	free(cause);
}

void config_print_low_watermark(FILE *out, const struct config_setting *s, const void *base)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u%%", *CONFIG_AT(base, s, const unsigned));
	limits_print(out, s->name, buf);
}

void config_reg_unit(struct config_file *f, const struct config_setting *s, void *base,
		     const char *v)
{
	enum hk_unit *unit = CONFIG_AT(base, s, enum hk_unit);
	if (!*v || strcmp(v, "file") == 0)
		*unit = HK_UNIT_FILE;
	else if (strcmp(v, "directory") == 0)
		*unit = HK_UNIT_DIRECTORY;
	else
		config_err(f, "%s: '%s': use file or directory", s->name, v);
}

void config_print_unit(FILE *out, const struct config_setting *s, const void *base)
{
	limits_print(out, s->name,
		     *CONFIG_AT(base, s, const enum hk_unit) == HK_UNIT_DIRECTORY ? "directory"
										  : "file");
}
