/*
 * engine_guard.c - what the engine must never touch, and what it may
 * finish only with proof (SPEC 7, SAFETY.md "Acting for someone else").
 *
 * The daemon's own files: the state directory and everything in it, the
 * report directory, the metrics textfile (and its temporary name while it
 * is rewritten) and the control socket. A registration covering any of
 * them never indexes them, so no policy can select them: a recursive one
 * skips those trees, and one rooted in such a tree is refused. They are
 * recognised by identity, not by path: the directory holding each (dev,
 * ino) plus its name, and for a tree its own (dev, ino), taken from the
 * configuration when it is applied and again when a registration attaches.
 *
 * Crash leftovers: a file renamed to its private name (reap.c) whose
 * unlink a crash interrupted. Only one that an open audit intent names,
 * with the recorded inode, is finished, through hk_reap_file, and the
 * intent completed; any other name with that prefix is somebody's file.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "engine_int.h"
#include "log.h"
#include "reap.h"
#include "scan.h"
#include "store.h"
#include "util.h"

/* The daemon's own files ------------------------------------------------------ */

/* (dev, ino) of the directory at path (symlinks followed: the identity is
 * what the kernel reaches), when it exists. */
static bool eng_own_ident(const char *path, uint64_t *dev, uint64_t *ino)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct hk_stat st;
	bool ok = fd >= 0 && hk_stat_fd(fd, &st) == 0;
	if (ok) {
		*dev = st.dev;
		*ino = st.ino;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static void eng_own_add(struct hk_engine *eng, const char *what, const char *path,
			const char *suffix, bool tree)
{
	if (!path || path[0] != '/' || eng->n_own == ENG_OWN_MAX)
		return;
	struct eng_own *o = &eng->own[eng->n_own];
	char *full = hk_xasprintf("%s%s", path, suffix ? suffix : "");
	const char *slash = strrchr(full, '/');
	if (slash[1] == '\0') {
		free(full);   /* "/" or a trailing slash: nothing to name */
		return;
	}
	*o = (struct eng_own){ .what = what, .path = full, .tree = tree };
	o->real = realpath(full, NULL);
	o->name = hk_xstrdup(slash + 1);
	char *parent = slash == full ? hk_xstrdup("/") : hk_xstrndup(full, (size_t)(slash - full));
	o->have_parent = eng_own_ident(parent, &o->pdev, &o->pino);
	o->have_self = tree && eng_own_ident(full, &o->dev, &o->ino);
	free(parent);
	eng->n_own++;
}

void eng_own_free(struct hk_engine *eng)
{
	for (size_t i = 0; i < eng->n_own; i++) {
		free(eng->own[i].path);
		free(eng->own[i].real);
		free(eng->own[i].name);
	}
	eng->n_own = 0;
}

/* Take the identities again from the configuration in force: after a
 * reload, and when a registration attaches (the report directory may have
 * been created since). A few statx calls. */
void eng_own_update(struct hk_engine *eng)
{
	const struct hk_config *cfg = eng->cfg;
	eng_own_free(eng);
	if (!cfg)
		return;
	const char *state = cfg->daemon.state_directory;
	const char *reports = cfg->scheduler.housekeeper_report_directory;
	char *default_reports = NULL;
	if (!reports || !*reports)
		reports = default_reports = state ? hk_xasprintf("%s/reports", state) : NULL;
	eng_own_add(eng, "state directory", state, NULL, true);
	eng_own_add(eng, "report directory", reports, NULL, true);
	const char *metrics = cfg->daemon.metrics_textfile;
	if (metrics && *metrics) {
		/* hk_write_atomic writes it as <path>.tmp.<pid> first */
		char suffix[32];
		snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
		eng_own_add(eng, "metrics textfile", metrics, NULL, false);
		eng_own_add(eng, "metrics textfile", metrics, suffix, false);
	}
	eng_own_add(eng, "control socket",
		    eng->own_socket ? eng->own_socket : cfg->daemon.control_socket, NULL, false);
	free(default_reports);
}

void hk_engine_set_socket(struct hk_engine *eng, const char *path)
{
	free(eng->own_socket);
	eng->own_socket = path ? hk_xstrdup(path) : NULL;
	eng_own_update(eng);
}

/* Is dir/name of reg one of the daemon's own files or trees? */
const struct eng_own *eng_own_entry(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	const struct hk_engine *eng = reg->eng;
	const struct eng_dir *d = &reg->dirs[dir];
	for (size_t i = 0; i < eng->n_own; i++) {
		const struct eng_own *o = &eng->own[i];
		if (o->have_parent && o->pdev == d->dev && o->pino == d->ino &&
		    strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static const struct eng_own *eng_own_tree(const struct hk_engine *eng, uint64_t dev,
					  uint64_t ino)
{
	for (size_t i = 0; i < eng->n_own; i++) {
		const struct eng_own *o = &eng->own[i];
		if (o->have_self && o->dev == dev && o->ino == ino)
			return o;
	}
	return NULL;
}

/* Say once per registration and item that it is skipped. */
static void eng_own_log(struct eng_reg *reg, const struct eng_own *o)
{
	uint32_t bit = 1u << (o - reg->eng->own);
	if (reg->own_logged & bit)
		return;
	reg->own_logged |= bit;
	log_info("scan", "%s: the daemon's %s %s is skipped: its own files are never cleaned",
		 reg->conf->directory, o->what, o->path);
}

/* A directory entry met by a scan or an event: true when it is one of the
 * daemon's own (then it is neither indexed nor entered). */
bool eng_own_skip(struct eng_reg *reg, uint32_t dir, const char *name)
{
	const struct eng_own *o = eng_own_entry(reg, dir, name);
	if (o)
		eng_own_log(reg, o);
	return o != NULL;
}

/* A subdirectory just opened: one of the daemon's own trees, under any
 * name (a rename since the identities were taken), is not entered. */
bool eng_own_skip_subdir(struct eng_reg *reg, const char *name, uint64_t dev, uint64_t ino)
{
	const struct eng_own *o = eng_own_tree(reg->eng, dev, ino);
	if (o)
		eng_own_log(reg, o);
	return o != NULL;
}

/* Is the root just opened at fd one of the daemon's own trees, or inside
 * one? Walks ".." up to the filesystem root (attaching is rare); a level
 * that cannot be opened ends the walk (the configuration check refused
 * such paths already; this catches what reached it another way). */
bool eng_own_refuse_root(struct eng_reg *reg, int fd)
{
	struct hk_engine *eng = reg->eng;
	eng_own_update(eng);
	const struct eng_own *found = NULL;
	int cur = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int depth = 0; cur >= 0 && depth < 4096 && !found; depth++) {
		struct hk_stat st, up_st;
		if (hk_stat_fd(cur, &st) < 0)
			break;
		found = eng_own_tree(eng, st.dev, st.ino);
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = up;
		if (up >= 0 && (hk_stat_fd(up, &up_st) < 0 ||
				(up_st.dev == st.dev && up_st.ino == st.ino)))
			break;   /* the filesystem root is its own parent */
	}
	if (cur >= 0)
		close(cur);
	if (found && !reg->own_refused)
		log_errx("watch", "%s: is the daemon's %s %s or inside it: not cleaned (its own "
			 "files are never deleted)", reg->conf->directory, found->what, found->path);
	reg->own_refused = found != NULL;
	return found != NULL;
}

/* Is path (absolute, clean) at or below dir? */
static bool eng_own_within(const char *dir, const char *path, bool tree)
{
	if (!dir)
		return false;
	size_t n = strlen(dir);
	if (strncmp(dir, path, n) != 0)
		return false;
	return path[n] == '\0' || (tree && path[n] == '/');
}

/* For explain: a note when path is one of the daemon's own files or lies
 * in one of its trees. */
bool eng_own_note(const struct hk_engine *eng, const char *path, char *note, size_t size)
{
	for (size_t i = 0; i < eng->n_own; i++) {
		const struct eng_own *o = &eng->own[i];
		if (eng_own_within(o->path, path, o->tree) || eng_own_within(o->real, path, o->tree)) {
			snprintf(note, size, "the daemon's %s (%s): skipped, never deleted", o->what,
				 o->path);
			return true;
		}
	}
	return false;
}

/* Crash leftovers --------------------------------------------------------------- */

void hk_engine_set_leftovers(struct hk_engine *eng, struct hk_reap_leftover *los, size_t n)
{
	hk_reap_leftovers_free(eng->leftovers, eng->n_leftovers);
	eng->leftovers = los;
	eng->n_leftovers = n;
}

/* The leftover that dir/name of reg is, if an open intent names it; NULL
 * otherwise (logged once per registration: somebody's file, kept). */
struct hk_reap_leftover *eng_leftover_find(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_engine *eng = reg->eng;
	struct hk_reap_leftover *lo = NULL;
	char *path = eng_file_path(reg, dir, name);
	for (size_t i = 0; i < eng->n_leftovers && !lo; i++)
		if (strcmp(eng->leftovers[i].path, path) == 0)
			lo = &eng->leftovers[i];
	free(path);
	if (!lo && !reg->leftover_logged) {
		char *shown = eng_log_path(reg, dir, name);
		log_notice("reap", "%s: kept: named like a deletion of ours, but no record of an "
			   "interrupted deletion names it (said once per registration)", shown);
		free(shown);
		reg->leftover_logged = true;
	}
	return lo;
}

/* Account for the attempt to finish leftover lo. Deleted (or gone): its
 * intent is completed. Changed or refused: it is not what was decided on,
 * so it is kept and the intent dropped. Locked or failed: tried again at
 * the next scan. */
void eng_leftover_done(struct eng_reg *reg, struct hk_reap_leftover *lo,
		       const struct hk_reap_result *res)
{
	struct hk_engine *eng = reg->eng;
	switch (res->outcome) {
	case HK_REAP_DELETED:
	case HK_REAP_GONE:
		hk_store_audit_complete(eng->store, lo->audit_id, "deleted", 0);
		log_notice("reap", "%s: finished a deletion a crash interrupted", lo->path);
		break;
	case HK_REAP_CHANGED:
	case HK_REAP_REFUSED:
		hk_store_audit_drop(eng->store, lo->audit_id);
		log_warnx("reap", "%s: kept: it is not the file whose deletion a crash "
			  "interrupted (%s)", lo->path, hk_reap_outcome_name(res->outcome));
		break;
	case HK_REAP_LOCKED:
	case HK_REAP_IN_USE:
	case HK_REAP_FAILED:
	case HK_REAP_WOULD_DELETE:
		return;
	}
	free(lo->path);
	*lo = eng->leftovers[--eng->n_leftovers];
}
