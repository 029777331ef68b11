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

/* Every key of section in base, in table order. */
static void config_print_section(FILE *out, enum config_kind section, const void *base)
{
	size_t n = 0;
	const struct config_setting *table = config_settings(&n);

	for (size_t i = 0; i < n; i++)
		if (table[i].section == section)
			config_print_setting(out, &table[i], base);
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
	fprintf(out, "\n");
	config_print_comment(out, "from %s:%u", reg->source_file ? reg->source_file : "?",
			     reg->source_line);
	config_print_comment(out, "id %s", reg->id);
	config_print_own(out, cfg, reg);
	fprintf(out, "[cleanup \"%s\"]\n", reg->name ? reg->name : "");
	config_print_section(out, CONFIG_SEC_CLEANUP, reg);
}

void hk_config_print(const struct hk_config *cfg, FILE *out)
{
	config_print_comment(out, "effective housekeeper configuration");
	for (size_t i = 0; i < cfg->n_files; i++)
		config_print_comment(out, "read %s", cfg->files[i]);
	fprintf(out, "\n[scheduler]\n");
	config_print_section(out, CONFIG_SEC_SCHEDULER, &cfg->scheduler);
	fprintf(out, "\n[daemon]\n");
	config_print_section(out, CONFIG_SEC_DAEMON, &cfg->daemon);
	for (size_t i = 0; i < cfg->n_regs; i++)
		config_print_reg(out, cfg, cfg->regs[i]);
}
