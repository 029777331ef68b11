/*
 * engine_paths.c - a registration's directory table looked up: a
 * directory by id or identity, whether it is still where it was found,
 * its path and a file's, and the bracket that does work in a
 * registration's directories with its owner's identity. Shared by every
 * engine file; calls none of them.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "cred.h"
#include "engine_int.h"
#include "index.h"
#include "report.h"
#include "scan.h"
#include "util.h"

/* Everything done in a registration's directories is done with its owner's
 * filesystem identity, so the kernel refuses what the owner could not do
 * (cred.h). Brackets nest: eng_as(prev) goes back to what was in force,
 * and an inner bracket for the same owner costs nothing. False: the
 * identity cannot be had, and the work must be skipped. */
bool eng_as_owner(const struct eng_reg *reg, const struct hk_cred **prev)
{
	return hk_cred_use(reg->cred, prev) == 0;
}

void eng_as(const struct hk_cred *prev)
{
	hk_cred_use(prev, NULL);
}

bool eng_dir_live(const struct eng_reg *reg, uint32_t id)
{
	return id < reg->n_dirs && reg->dirs[id].fd >= 0;
}

/* Find the live directory of reg with identity (dev, ino). */
bool eng_dir_find(const struct eng_reg *reg, uint64_t dev, uint64_t ino, uint32_t *id)
{
	for (size_t i = 0; i < reg->n_dirs; i++) {
		const struct eng_dir *d = &reg->dirs[i];
		if (d->fd >= 0 && d->dev == dev && d->ino == ino) {
			*id = (uint32_t)i;
			return true;
		}
	}
	return false;
}

/* Is directory id still where it was found: each name on the way up still
 * the same directory in its parent, up to the root? A subdirectory renamed
 * out of the tree keeps its pinned fd, which would follow it anywhere.
 * Looked up as the owner. */
bool eng_dir_in_tree(struct eng_reg *reg, uint32_t id)
{
	const struct hk_cred *prev;
	if (!eng_as_owner(reg, &prev))
		return false;
	bool ok = true;
	for (uint32_t d = id; ok && d != ENG_ROOT; d = reg->dirs[d].parent) {
		const struct eng_dir *dir = &reg->dirs[d];
		struct hk_stat st;
		ok = eng_dir_live(reg, dir->parent) &&
		     hk_stat_at(reg->dirs[dir->parent].fd, dir->name, &st) == 0 &&
		     S_ISDIR(st.mode) && st.dev == dir->dev && st.ino == dir->ino;
	}
	eng_as(prev);
	return ok;
}

/* The path of dir id relative to the root ("" for the root, "a/b/"). */
void eng_dir_relpath(const struct eng_reg *reg, uint32_t id, struct hk_buf *b)
{
	if (id == ENG_ROOT)
		return;
	eng_dir_relpath(reg, reg->dirs[id].parent, b);
	hk_buf_append(b, reg->dirs[id].name, strlen(reg->dirs[id].name));
	hk_buf_append(b, "/", 1);
}

char *eng_file_path(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_buf b = { 0 };
	hk_buf_append(&b, reg->conf->directory, strlen(reg->conf->directory));
	if (strcmp(reg->conf->directory, "/") != 0)
		hk_buf_append(&b, "/", 1);
	eng_dir_relpath(reg, dir, &b);
	hk_buf_append(&b, name, strlen(name));
	return b.data;
}

/* The full path for a log line. Raw: log.c escapes the whole message
 * (control bytes, invalid UTF-8), so escaping here too would double it. */
char *eng_log_path(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	return eng_file_path(reg, dir, name);
}

/* Did an earlier registration of run delete (or, dry, select) e? One
 * lookup in the run's hash set of its gone list. */
bool eng_entry_gone_in_run(const struct eng_reg *reg, const struct eng_run *run,
			   const struct hk_entry *e)
{
	if (!run->gone_set_cap)
		return false;
	const struct eng_dir *d = &reg->dirs[hk_entry_dir(e)];
	size_t mask = run->gone_set_cap - 1;
	size_t at = eng_gone_hash(d->dev, d->ino, hk_entry_ino(e), hk_entry_name(e)) & mask;
	for (uint32_t v; (v = run->gone_set[at]) != 0; at = (at + 1) & mask) {
		const struct eng_gone *g = &run->gone[v - 1];
		if (g->ino == hk_entry_ino(e) && g->dir_ino == d->ino && g->dir_dev == d->dev &&
		    strcmp(eng_gone_name(run, g), hk_entry_name(e)) == 0)
			return true;
	}
	return false;
}

/* The next file entry of run's report (grown by doubling), or NULL: no
 * report, or beyond HK_REPORT_MAX_FILES (then counted as omitted). */
struct hk_report_file *eng_report_slot(struct eng_run *run)
{
	struct hk_report *rep = run->rep;
	if (!rep)
		return NULL;
	if (rep->n_files >= HK_REPORT_MAX_FILES) {
		rep->files_omitted++;
		return NULL;
	}
	if ((rep->n_files & (rep->n_files - 1)) == 0)
		rep->files = hk_xreallocarray(rep->files, rep->n_files ? rep->n_files * 2 : 1,
					      sizeof(*rep->files));
	return &rep->files[rep->n_files++];
}
