/*
 * engine_dirs.c - a registration's directory table and the files in it:
 * subdirectories found by a scan or an event opened safely (never across a
 * mount, within the owner's share of fds and watches), watched and queued
 * for their scan; a directory dropped with everything below it (index
 * entries, stored entries, held files); the patterns a file name must
 * match; one file's index entry brought in line with the disk.
 *
 * Invariant: a directory slot is live while its fd is open (fd >= 0);
 * every live slot but the root has a live parent.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred.h"
#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "scan.h"
#include "util.h"
#include "watch.h"

/* Directories ------------------------------------------------------------- */

void eng_dirs_opened(struct eng_reg *reg, int delta)
{
	reg->open_dirs += (size_t)(ssize_t)delta;
	reg->eng->open_dirs += (size_t)(ssize_t)delta;
}

/* May reg open one more subdirectory as far as its owner goes? A non-root
 * owner stays within a share of the budget, so that one user's many
 * directories (each an fd and an inotify watch) cannot starve the
 * registrations of root or of other users. */
static bool eng_dir_share_ok(const struct eng_reg *reg)
{
	const struct hk_engine *eng = reg->eng;
	uid_t owner = reg->conf->owner_uid;
	if (owner == 0 || eng->user_dirs_budget == SIZE_MAX)
		return true;
	size_t mine = 0, users = 0;
	for (size_t i = 0; i < eng->n_regs; i++) {
		const struct eng_reg *r = eng->regs[i];
		if (r->conf->owner_uid == owner)
			mine += r->open_dirs;
		if (r->conf->owner_uid != 0)
			users += r->open_dirs;
	}
	return mine < eng->user_dirs_budget / ENG_FD_SHARE_USER &&
	       users < eng->user_dirs_budget / ENG_FD_SHARE_USERS;
}

static uint32_t eng_dir_alloc(struct eng_reg *reg)
{
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (reg->dirs[i].fd < 0)
			return (uint32_t)i;
	reg->dirs = hk_xreallocarray(reg->dirs, reg->n_dirs + 1, sizeof(*reg->dirs));
	return (uint32_t)reg->n_dirs++;
}

void eng_dir_unwatch(struct eng_reg *reg, uint32_t id)
{
	struct eng_dir *d = &reg->dirs[id];
	if (d->wd >= 0 && reg->eng->watch)
		hk_watch_remove(reg->eng->watch, d->wd, reg, id);
	d->wd = -1;
}

/* Drop directory id, its subdirectories and their index entries. */
void eng_dir_drop(struct eng_reg *reg, uint32_t id)
{
	if (!eng_dir_live(reg, id))
		return;
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (reg->dirs[i].fd >= 0 && reg->dirs[i].parent == id && i != id)
			eng_dir_drop(reg, (uint32_t)i);
	struct eng_dir *d = &reg->dirs[id];
	eng_dir_unwatch(reg, id);
	eng_store_forget(reg, id);
	hk_index_remove_dir(reg->index, id);
	eng_held_free(reg, id);
	close(d->fd);
	eng_dirs_opened(reg, -1);
	d->fd = -1;
	free(d->name);
	d->name = NULL;
	/* a scan of this directory in progress stops here */
	if (reg->cur && reg->cur_dir == id) {
		hk_dirscan_free(reg->cur);
		reg->cur = NULL;
	}
	for (size_t i = 0; i < reg->n_queue; i++)
		if (reg->queue[i] == id)
			reg->queue[i] = ENG_ANCESTOR;   /* tombstone, skipped */
}

void eng_queue_scan(struct eng_reg *reg, uint32_t dir)
{
	if (reg->n_queue == reg->cap_queue) {
		reg->cap_queue = reg->cap_queue ? reg->cap_queue * 2 : 8;
		reg->queue = hk_xreallocarray(reg->queue, reg->cap_queue, sizeof(*reg->queue));
	}
	reg->queue[reg->n_queue++] = dir;
	reg->scanning = true;
}

/* Without (part of) its watches a registration is rescanned periodically. */
static void eng_watch_fallback(struct eng_reg *reg)
{
	struct hk_engine *eng = reg->eng;
	if (!reg->watch_failed && eng->loop) {
		ev_timer_set(&reg->fallback_timer, ENG_FALLBACK_RESCAN, ENG_FALLBACK_RESCAN);
		ev_timer_start(eng->loop, &reg->fallback_timer);
	}
	reg->watch_failed = true;
}

void eng_dir_watch(struct eng_reg *reg, uint32_t id)
{
	struct hk_engine *eng = reg->eng;
	if (!eng->watch)
		return;
	int wd = hk_watch_add(eng->watch, reg->dirs[id].fd, reg, id);
	if (wd >= 0) {
		reg->dirs[id].wd = wd;
		return;
	}
	if (wd == -ENOSPC) {
		if (!reg->watch_failed)
			log_errx("watch",
				 "%s: inotify watch limit reached; raise the sysctl "
				 "fs.inotify.max_user_watches. This registration falls back to "
				 "a rescan every %d seconds",
				 reg->conf->directory, (int)ENG_FALLBACK_RESCAN);
	} else {
		log_errx("watch", "%s: cannot watch: %s", reg->conf->directory, hk_strerror(wd));
	}
	if (!reg->watch_failed)
		eng_fail(eng, HK_FAIL_WATCH, reg->conf->id, "%s: cannot watch (%s): rescanning every "
			 "%d seconds instead", reg->conf->directory, hk_strerror(wd),
			 (int)ENG_FALLBACK_RESCAN);
	eng_watch_fallback(reg);
}

static void eng_subdir_open(struct eng_reg *reg, uint32_t parent, const char *name);

/* A subdirectory found by a scan or an event: open it safely, watch it,
 * queue its scan. Mount points and other devices are never entered. */
void eng_subdir_found(struct eng_reg *reg, uint32_t parent, const char *name)
{
	if (strcmp(name, "lost+found") == 0 || eng_own_skip(reg, parent, name))
		return;
	for (size_t i = 1; i < reg->n_dirs; i++) {
		const struct eng_dir *d = &reg->dirs[i];
		if (d->fd >= 0 && d->parent == parent && strcmp(d->name, name) == 0)
			return;   /* known already */
	}
	const struct hk_cred *prev;
	if (!eng_as_owner(reg, &prev))
		return;
	eng_subdir_open(reg, parent, name);
	eng_as(prev);
}

/* eng_subdir_found as the owner: an owner who may not read or enter the
 * directory gets nothing from it. */
static void eng_subdir_open(struct eng_reg *reg, uint32_t parent, const char *name)
{
	/* keep fds for deletions, clients, the store and other owners */
	bool share_ok = eng_dir_share_ok(reg);
	int fd = reg->eng->open_dirs >= reg->eng->fd_budget || !share_ok
			 ? -EMFILE
			 : hk_open_subdir(reg->dirs[parent].fd, name, reg->dirs[ENG_ROOT].dev,
					  reg->root_mnt_id);
	if (fd < 0) {
		if (fd == -EXDEV) {
			log_debug("scan", "%s/%s: mount point, not entered", reg->conf->directory, name);
		} else if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM) {
			/* files below stay unindexed, so nothing there is deleted;
			 * the fallback rescans retry */
			if (!reg->watch_failed)
				eng_fail(reg->eng, HK_FAIL_WATCH, reg->conf->id,
					 "%s: cannot open a subdirectory (%s): part of the tree is "
					 "not watched; rescanning every %d seconds",
					 reg->conf->directory,
					 share_ok ? hk_strerror(fd)
						  : "its owner's share of directory fds and "
						    "watches is used up",
					 (int)ENG_FALLBACK_RESCAN);
			eng_watch_fallback(reg);
		}
		return;
	}
	struct hk_stat st;
	uint32_t known;
	if (hk_stat_fd(fd, &st) < 0 || eng_dir_find(reg, st.dev, st.ino, &known)) {
		/* the same directory under a second name (a rename race): its
		 * files must not count twice */
		close(fd);
		return;
	}
	if (eng_own_skip_subdir(reg, name, st.dev, st.ino)) {
		close(fd);
		return;
	}
	uint32_t id = eng_dir_alloc(reg);
	reg->dirs[id] = (struct eng_dir){ hk_xstrdup(name), parent, fd, -1, st.dev, st.ino };
	eng_dirs_opened(reg, 1);
	eng_dir_watch(reg, id);
	eng_queue_scan(reg, id);
}

/* Drop the held files (engine_enforce.c) of directory dir_only, or all of
 * them with ENG_ANCESTOR. */
void eng_held_free(struct eng_reg *reg, uint32_t dir_only)
{
	size_t k = 0;
	for (size_t i = 0; i < reg->n_held; i++) {
		if (dir_only == ENG_ANCESTOR || hk_entry_dir(reg->held[i].e) == dir_only)
			hk_entry_free(reg->held[i].e);
		else
			reg->held[k++] = reg->held[i];
	}
	reg->n_held = k;
}

/* Give every held file back to the index (those of directories still
 * there), to be judged again: by the retry timer, and before a rescan,
 * which would otherwise index a held file a second time (it is on disk
 * and not in the index) and count it twice. */
void eng_held_return(struct eng_reg *reg)
{
	struct eng_held *held = reg->held;
	size_t n = reg->n_held;
	reg->held = NULL;
	reg->n_held = reg->cap_held = 0;
	for (size_t i = 0; i < n; i++) {
		if (reg->attached && eng_dir_live(reg, hk_entry_dir(held[i].e)))
			eng_idx_attach(reg, held[i].e);
		else
			hk_entry_free(held[i].e);
	}
	free(held);
}

/* Files ------------------------------------------------------------------- */

bool eng_name_matches(const struct hk_registration *conf, const char *name)
{
	bool all = conf->pattern[0] == '*' && conf->pattern[1] == '\0';   /* the default */
	if (!all && fnmatch(conf->pattern, name, 0) != 0)
		return false;
	for (size_t i = 0; i < conf->n_excludes; i++)
		if (fnmatch(conf->excludes[i], name, 0) == 0)
			return false;
	return true;
}

/* unit = directory: the files below the matching subdirectories of the root
 * (any name), none in the root; the pattern and excludes are the units'. */
bool eng_file_matches(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	if (reg->conf->unit == HK_UNIT_DIRECTORY)
		return dir != ENG_ROOT;
	return eng_name_matches(reg->conf, name);
}

bool eng_subdir_matches(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	if (reg->conf->unit == HK_UNIT_DIRECTORY)
		return dir != ENG_ROOT || eng_name_matches(reg->conf, name);
	return reg->conf->recursive;
}

/* Bring the index entry of dir/name in line with the disk. */
void eng_file_refresh(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_stat st;
	const struct hk_cred *prev;
	int r = -EACCES;
	if (eng_as_owner(reg, &prev)) {
		r = hk_stat_at(reg->dirs[dir].fd, name, &st);
		eng_as(prev);
	}
	if (r < 0 || !S_ISREG(st.mode) ||
	    !hk_stat_on_mount(&st, reg->dirs[ENG_ROOT].dev, reg->root_mnt_id) || st.mount_root ||
	    strlen(name) > 255 || eng_own_entry(reg, dir, name)) {
		eng_idx_remove(reg, dir, name);
		return;
	}
	struct hk_file_meta meta;
	hk_stat_to_meta(&st, reg->conf->age_by, &meta);
	eng_idx_set(reg, dir, name, &meta);
}
