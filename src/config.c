/*
 * config.c - the configuration loader (SPEC 3): the main INI file, its
 * drop-ins and include globs, staging, the error list, and the config
 * object. The keys of each section are set in config_keys.c, registrations
 * are checked in config_reg.c, the effective configuration is printed by
 * config_print.c; config_int.h holds what these files share.
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
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <ini.h>

#include "config.h"
#include "config_int.h"
#include "housekeeper.h"
#include "util.h"

#ifndef HK_SYSCONFDIR
#define HK_SYSCONFDIR "/etc/housekeeper"
#endif
#ifndef HK_LIBDIR_CONFD
#define HK_LIBDIR_CONFD "/usr/lib/housekeeper/conf.d"
#endif

#define CONFIG_NAME_CHARS "-_.@:"

/* Small helpers -------------------------------------------------------------- */

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

/* The inih reader ------------------------------------------------------------------ */

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

void hk_registration_set_defaults(struct hk_registration *reg)
{
	config_defaults_apply(CONFIG_SEC_CLEANUP, reg);
}

static struct hk_registration *config_reg_new(const char *name)
{
	struct hk_registration *reg = hk_xcalloc(1, sizeof(*reg));

	reg->name = hk_xstrdup(name);
	hk_registration_id_from_name(name, reg->id);
	hk_registration_set_defaults(reg);
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

	hk_strv_add(&cfg->files, &cfg->n_files, path);
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

	cfg->main_file = hk_xstrdup(main_file);
	config_defaults_apply(CONFIG_SEC_SCHEDULER, &cfg->scheduler);
	config_defaults_apply(CONFIG_SEC_DAEMON, &cfg->daemon);
	return cfg;
}

void hk_config_free(struct hk_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->main_file);
	hk_strv_free(cfg->files, cfg->n_files);
	free(cfg->scheduler.housekeeper_schedule);
	free(cfg->scheduler.housekeeper_report_directory);
	free(cfg->daemon.state_directory);
	free(cfg->daemon.control_socket);
	free(cfg->daemon.control_group);
	hk_strv_free(cfg->daemon.includes, cfg->daemon.n_includes);
	free(cfg->daemon.log_level);
	free(cfg->daemon.metrics_textfile);
	free(cfg->daemon.on_failure);
	hk_strv_free(cfg->daemon.on_failure_argv, cfg->daemon.on_failure_argc);
	for (size_t i = 0; i < cfg->n_regs; i++)
		hk_registration_free(cfg->regs[i]);
	free(cfg->regs);
	free(cfg);
}

size_t hk_config_keep_restart_only(struct hk_config *next, const struct hk_config *running,
				   const char **changed, size_t max_changed)
{
	size_t n = 0, n_changed = 0;
	const struct config_setting *table = config_settings(&n);

	for (size_t i = 0; i < n; i++) {
		const struct config_setting *s = &table[i];
		if (!(s->flags & CONFIG_RESTART))
			continue;
		/* restart-only keys are [daemon] strings (checked by the unit tests) */
		char **dst = CONFIG_AT(&next->daemon, s, char *);
		char *const *cur = CONFIG_AT(&running->daemon, s, char *const);
		if (!*dst != !*cur || (*dst && strcmp(*dst, *cur) != 0)) {
			if (n_changed < max_changed)
				changed[n_changed] = s->name;
			n_changed++;
		}
		free(*dst);
		*dst = *cur ? hk_xstrdup(*cur) : NULL;
	}
	return n_changed;
}

/* After all files: required keys, default retention, validation. */
static void config_finish(struct config_ctx *ctx)
{
	struct hk_config *cfg = ctx->cfg;
	char *cause = NULL;

	if (ctx->state_override) {
		free(cfg->daemon.state_directory);
		cfg->daemon.state_directory = hk_xstrdup(ctx->state_override);
	}
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
		if (hk_registration_validate(reg, &cause) < 0 ||
		    hk_registration_check_state(reg, cfg->daemon.state_directory, &cause) < 0)
			config_err_line(ctx, reg->source_file, ctx->meta[i].dir_line, "%s", cause);
		free(cause);
		cause = NULL;
	}
}

static void config_ctx_fini(struct config_ctx *ctx)
{
	free(ctx->meta);
	free(ctx->include_lines);
	hk_strv_free(ctx->read_real, ctx->n_read_real);
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
	ctx.state_override = paths->state_directory;

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
		hk_strv_add(&ctx.cfg->files, &ctx.cfg->n_files, name);
		config_parse_buffer(&ctx, name, true, text, strlen(text));
		config_finish(&ctx);
	}
	r = config_conclude(&ctx, n_before, out);
	config_ctx_fini(&ctx);
	hk_config_errors_fini(&local);
	return r;
}
