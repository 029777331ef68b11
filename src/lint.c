/*
 * lint.c - the warnings of housekeeperd -t: registrations that are valid
 * but would delete what their owner almost surely wants kept. Not errors:
 * the configuration is applied all the same, and -t exits 0.
 *
 * Today one check: a recursive registration whose pattern and excludes let
 * it delete the bookkeeping of a ccache cache (statistics, the cache
 * directory tag, ccache.conf, temp files of running compiles) in its
 * directory or a subdirectory one level down. A ccache cache is known by
 * a CACHEDIR.TAG that names ccache, a ccache.conf, or a stats file in a
 * level-1 subdirectory (0-9, a-f). Reads only: directories opened without
 * following symlinks, at most LINT_MAX_ENTRIES entries of the registered
 * directory looked at.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lint.h"
#include "scan.h"
#include "util.h"

#define LINT_MAX_ENTRIES 4096
#define LINT_TAG_READ 512

/* ccache's own files, one name of each kind, as the pattern sees them. */
static const char *const lint_ccache_names[] = {
	"stats", "CACHEDIR.TAG", "ccache.conf", "0123456789abcdefR.tmp.Ab12Cd",
};

static bool lint_regular(int dir_fd, const char *name)
{
	struct stat st;
	return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* A CACHEDIR.TAG in dir_fd that ccache wrote. */
static bool lint_ccache_tag(int dir_fd)
{
	char buf[LINT_TAG_READ + 1];
	int fd = openat(dir_fd, "CACHEDIR.TAG", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, LINT_TAG_READ) : -1;
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strncmp(buf, "Signature: 8a477f597d28d172789f06886806bc55", 43) == 0 &&
	       strstr(buf, "ccache") != NULL;
}

static int lint_open_dir(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Does the directory dir_fd look like a ccache cache? */
static bool lint_is_ccache(int dir_fd)
{
	if (lint_ccache_tag(dir_fd) || lint_regular(dir_fd, "ccache.conf"))
		return true;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < 16; i++) {
		char name[2] = { hex[i], '\0' };
		int sub = lint_open_dir(dir_fd, name);
		if (sub < 0)
			continue;
		bool yes = lint_regular(sub, "stats") || lint_ccache_tag(sub);
		close(sub);
		if (yes)
			return true;
	}
	return false;
}

/* The first ccache cache at dir or one level down: its path (owned by the
 * caller), or NULL. */
static char *lint_find_ccache(const char *dir)
{
	char *found = NULL;
	int fd = hk_open_path_nofollow(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, NULL, NULL);
	if (fd < 0)
		return NULL;   /* not there (yet), or not reachable without symlinks */
	if (lint_is_ccache(fd)) {
		close(fd);
		return hk_xstrdup(dir);
	}
	int list = dup(fd);
	DIR *d = list >= 0 ? fdopendir(list) : NULL;
	if (!d && list >= 0)
		close(list);
	struct dirent *de;
	size_t seen = 0;
	while (d && !found && seen++ < LINT_MAX_ENTRIES && (de = readdir(d))) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int sub = lint_open_dir(fd, de->d_name);
		if (sub < 0)
			continue;
		if (lint_is_ccache(sub))
			found = hk_xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, de->d_name);
		close(sub);
	}
	if (d)
		closedir(d);
	close(fd);
	return found;
}

/* Would reg delete a file of this name (pattern matches, no exclude)? */
static bool lint_deletes(const struct hk_registration *reg, const char *name)
{
	if (fnmatch(reg->pattern ? reg->pattern : "*", name, 0) != 0)
		return false;
	for (size_t i = 0; i < reg->n_excludes; i++)
		if (fnmatch(reg->excludes[i], name, 0) == 0)
			return false;
	return true;
}

size_t hk_lint_config(const struct hk_config *cfg, FILE *out)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_regs; i++) {
		const struct hk_registration *reg = cfg->regs[i];
		char names[128] = "";
		size_t at = 0;
		if (!reg->recursive)
			continue;
		for (size_t k = 0; k < HK_ARRAY_SIZE(lint_ccache_names); k++) {
			const char *name = lint_ccache_names[k];
			if (!lint_deletes(reg, name))
				continue;
			int w = snprintf(names + at, sizeof(names) - at, "%s%s", at ? ", " : "",
					 k == 3 ? "temp files *.tmp.*" : name);
			if (w > 0 && (size_t)w < sizeof(names) - at)
				at += (size_t)w;
		}
		if (at == 0)
			continue;
		char *cache = lint_find_ccache(reg->directory);
		if (!cache)
			continue;
		fprintf(out, "%s:%u: warning: [cleanup \"%s\"] %s looks like a ccache cache: this "
			"recursive registration deletes its bookkeeping (%s); exclude them (see "
			"contrib/examples/ccache.conf and RECIPES in housekeeper.conf(5))\n",
			reg->source_file ? reg->source_file : "(config)", reg->source_line,
			reg->name ? reg->name : reg->directory, cache, names);
		free(cache);
		n++;
	}
	return n;
}
