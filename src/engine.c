/*
 * engine.c - the runtime of every registration.
 *
 * Each registration (struct eng_reg) owns: its pinned root directory fd
 * (opened component by component with O_NOFOLLOW) and, when recursive, a
 * table of subdirectory fds (ids are slots of that table, 0 = root); one
 * inotify watch per directory; the index of its candidate files; an age
 * timer armed at the moment its oldest file expires; and its own schedule
 * timer if it has one.
 *
 * This file creates and frees registrations (and the engine), keeps their
 * directory tables, attaches and detaches their roots, scans them in
 * slices, handles inotify events and changes of the mount table, and
 * applies a new configuration. What the other engine files own is listed in
 * engine_int.h.
 *
 * Invariants:
 *  - an index is in doubt before its first scan completes, while it is being
 *    rescanned (after an overflow or on a sweep's reconcile), and while its
 *    root is missing: scanned/scanning/attached say so, and no deletion
 *    happens then (engine_enforce.c);
 *  - registrations are kept in priority order (lower first, ties by name).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred.h"
#include "engine.h"
#include "engine_int.h"
#include "index.h"
#include "locks.h"
#include "log.h"
#include "reap.h"
#include "scan.h"
#include "util.h"
#include "watch.h"

static void eng_scan_kick(struct hk_engine *eng);
static void eng_refresh_later(struct eng_reg *reg, uint32_t dir, const char *name);

/* Directories ------------------------------------------------------------- */

static void eng_dirs_opened(struct eng_reg *reg, int delta)
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

static void eng_dir_unwatch(struct eng_reg *reg, uint32_t id)
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

static void eng_queue_scan(struct eng_reg *reg, uint32_t dir)
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

static void eng_dir_watch(struct eng_reg *reg, uint32_t id)
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
static void eng_subdir_found(struct eng_reg *reg, uint32_t parent, const char *name)
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

/* Files ------------------------------------------------------------------- */

static bool eng_name_matches(const struct hk_registration *conf, const char *name)
{
	bool all = conf->pattern[0] == '*' && conf->pattern[1] == '\0';   /* the default */
	if (!all && fnmatch(conf->pattern, name, 0) != 0)
		return false;
	for (size_t i = 0; i < conf->n_excludes; i++)
		if (fnmatch(conf->excludes[i], name, 0) == 0)
			return false;
	return true;
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

/* Scanning ---------------------------------------------------------------- */

static void eng_finish_interrupted(struct eng_reg *reg, uint32_t dir, const char *name);

static void eng_scan_entry(struct eng_reg *reg, uint32_t dir, const char *name,
			   unsigned char d_type)
{
	if (eng_own_skip(reg, dir, name))
		return;   /* the daemon's own files and trees: never indexed */
	if (d_type == DT_DIR || d_type == DT_UNKNOWN) {
		if (d_type == DT_UNKNOWN) {
			struct hk_stat st;
			if (hk_stat_at(reg->dirs[dir].fd, name, &st) < 0)
				return;
			if (!S_ISDIR(st.mode))
				goto file;
		}
		if (reg->conf->recursive)
			eng_subdir_found(reg, dir, name);
		return;
	}
	if (d_type != DT_REG)
		return;
file:
	if (strncmp(name, HK_REAP_TMP_PREFIX, sizeof(HK_REAP_TMP_PREFIX) - 1) == 0) {
		eng_finish_interrupted(reg, dir, name);
		return;
	}
	if (eng_name_matches(reg->conf, name))
		eng_file_refresh(reg, dir, name);
}

/* A file with the private name of a deletion (reap.c). Only one that an
 * open audit intent names, with the recorded inode, is ours: a crash came
 * between its rename and its unlink, so the deletion is finished here
 * through the one deletion path, against the identity decided on, and
 * recorded. Never in a dry run (nor read-only, nor without a store: the
 * intent then waits for a later start). Any other such name is somebody's
 * file: left alone, not indexed. */
static void eng_finish_interrupted(struct eng_reg *reg, uint32_t dir, const char *name)
{
	const struct hk_scheduler_settings *s = &reg->eng->cfg->scheduler;
	struct hk_reap_leftover *lo = eng_leftover_find(reg, dir, name);
	if (!lo || !reg->eng->store || s->housekeeper_dry_run || s->housekeeper_read_only ||
	    (reg->sweep && reg->sweep->run->dry_run))
		return;
	struct hk_reap_expect exp = {
		.dev = reg->dirs[ENG_ROOT].dev,
		.mnt_id = reg->root_mnt_id,
		.lock_dev = reg->root_lock_dev,
		.ino = lo->ino,
		.size = lo->size,
		.mtime_ns = lo->mtime_ns,
		.dir_is_mount_root = dir == ENG_ROOT && reg->root_mount,
	};
	struct hk_reap_result res;
	/* rare: no lock set is read for it, the per-file lock check runs */
	hk_reap_file(reg->dirs[dir].fd, name, &exp, NULL, false, &res);
	eng_leftover_done(reg, lo, &res);
}

static void eng_scan_done(struct eng_reg *reg)
{
	eng_store_forget(reg, ENG_ANCESTOR);
	size_t gone = hk_index_sweep_unseen(reg->index);
	if (gone)
		log_debug("scan", "%s: %zu vanished files dropped", reg->conf->directory, gone);
	reg->scanning = false;
	reg->scanned = true;
	reg->dirty = true;
	log_debug("scan", "%s: %zu files, %" PRIu64 " bytes", reg->conf->directory,
		  hk_index_count(reg->index), hk_index_bytes(reg->index));
	hk_index_fit(reg->index);   /* what a reservation or growth left unused */
	eng_persist_walk_start(reg);
	if (reg->persist_walk)
		eng_scan_kick(reg->eng);
}

/* A first scan: room in the index for about as many files as the root
 * has entries, so that its hash table is not rebuilt again and again on
 * the way (a directory's size is about 20 bytes per entry on tmpfs, ext4
 * and btrfs, more with long names; a directory that once held more is
 * fitted back at the end of the scan). */
static void eng_scan_reserve(struct eng_reg *reg)
{
	struct hk_stat st;
	if (hk_stat_fd(reg->dirs[ENG_ROOT].fd, &st) < 0 || st.size < ENG_RESERVE_MIN * 20)
		return;
	uint64_t n = st.size / 20;
	hk_index_reserve(reg->index, n > ENG_RESERVE_MAX ? ENG_RESERVE_MAX : (size_t)n);
}

/* Read up to budget directory entries of reg's pending scan. Returns the
 * number read; reg->scanning turns false when the scan is complete. */
size_t eng_scan_step(struct eng_reg *reg, size_t budget)
{
	size_t done = 0;
	const struct hk_cred *prev;
	if (!eng_as_owner(reg, &prev)) {
		/* nothing can be read as the owner: the scan ends with what
		 * it has (and deletes nothing it did not see) */
		reg->n_queue = 0;
		reg->rescan_pending = false;
		if (reg->cur) {
			hk_dirscan_free(reg->cur);
			reg->cur = NULL;
		}
	}
	while (done < budget) {
		if (!reg->cur) {
			if (reg->n_queue == 0) {
				if (reg->rescan_pending) {
					reg->rescan_pending = false;
					reg->scanning = false;
					eng_reg_rescan(reg);
					continue;
				}
				eng_scan_done(reg);
				break;
			}
			uint32_t id = reg->queue[0];
			memmove(reg->queue, reg->queue + 1, --reg->n_queue * sizeof(*reg->queue));
			if (id == ENG_ANCESTOR || !eng_dir_live(reg, id))
				continue;
			reg->cur = hk_dirscan_create(reg->dirs[id].fd);
			reg->cur_dir = id;
			if (id == ENG_ROOT && hk_index_count(reg->index) == 0)
				eng_scan_reserve(reg);
		}
		const char *name;
		unsigned char d_type;
		int r = hk_dirscan_next(reg->cur, &name, &d_type);
		if (r <= 0) {
			if (r < 0)
				log_warnx("scan", "%s: reading directory: %s", reg->conf->directory,
					  hk_strerror(r));
			hk_dirscan_free(reg->cur);
			reg->cur = NULL;
			continue;
		}
		const char *next = hk_dirscan_peek(reg->cur);
		if (next)   /* its hash slot comes into the cache during our statx */
			hk_index_prefetch(reg->index, reg->cur_dir, next, strlen(next));
		eng_scan_entry(reg, reg->cur_dir, name, d_type);
		done++;
	}
	eng_as(prev);
	return done;
}

/* Start a full (re)scan: existing entries are kept and served until the
 * scan has confirmed or dropped them. */
void eng_reg_rescan(struct eng_reg *reg)
{
	if (!reg->attached)
		return;
	if (reg->scanning) {
		/* a scan that has not read anything yet will see everything;
		 * otherwise (overflow storms) one more full scan after this
		 * one, not one per overflow */
		bool unstarted = !reg->cur && reg->n_queue == 1 && reg->queue[0] == ENG_ROOT;
		if (!unstarted)
			reg->rescan_pending = true;
		return;
	}
	if (reg->cur) {
		hk_dirscan_free(reg->cur);
		reg->cur = NULL;
	}
	reg->n_queue = 0;
	/* Subdirectories are found again from the root, by name: one that was
	 * moved away (perhaps while events were lost) must not be cleaned as
	 * if it were still inside. */
	for (size_t i = reg->n_dirs; i-- > 1;)
		if (reg->dirs[i].fd >= 0)
			eng_dir_drop(reg, (uint32_t)i);
	hk_index_unmark_all(reg->index);
	eng_queue_scan(reg, ENG_ROOT);
	eng_scan_kick(reg->eng);
}

static void eng_scan_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_engine *eng = w->data;
	size_t budget = ENG_SCAN_SLICE;
	bool more = false;
	struct eng_run run;
	eng_run_init(&run, eng, false, eng->event_rep);
	for (size_t i = 0; i < eng->n_regs && budget; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (!reg->scanning)
			continue;
		budget -= eng_scan_step(reg, budget);
		if (reg->scanning) {
			more = true;
		} else {
			eng_reg_enforce(reg, &run);
		}
	}
	eng_run_fini(&run);
	if (!more)   /* then cold indexes go to the store, once no scan waits */
		hk_engine_persist_step(eng, budget);
	if (hk_engine_idle(eng))   /* also a scan the budget did not reach */
		ev_idle_stop(loop, w);
}

static void eng_scan_kick(struct hk_engine *eng)
{
	if (eng->loop && !ev_is_active(&eng->scan_idle))
		ev_idle_start(eng->loop, &eng->scan_idle);
}

/* Attaching the root ------------------------------------------------------ */

static const char *eng_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void eng_reg_set_ancestor(struct eng_reg *reg, int anc_fd)
{
	if (reg->anc_wd >= 0)
		hk_watch_remove(reg->eng->watch, reg->anc_wd, reg, ENG_ANCESTOR);
	if (reg->anc_fd >= 0)
		close(reg->anc_fd);
	reg->anc_fd = anc_fd;
	reg->anc_wd = -1;
	if (anc_fd >= 0 && reg->eng->watch) {
		int wd = hk_watch_add(reg->eng->watch, anc_fd, reg, ENG_ANCESTOR);
		if (wd >= 0)
			reg->anc_wd = wd;
	}
}

static void eng_reg_open_root(struct eng_reg *reg);

/* Open the registered root and start scanning it. The parent directory (or,
 * while the root is missing, its deepest existing ancestor) is watched too:
 * a directory we hold open reports no IN_DELETE_SELF until we close it, so
 * its removal or replacement is seen from the parent. */
void eng_reg_attach(struct eng_reg *reg)
{
	if (reg->attached)
		return;
	const struct hk_cred *prev;
	reg->attach_err = -EPERM;   /* refused (credentials, the daemon's own tree) unless said */
	if (!eng_as_owner(reg, &prev))
		return;
	eng_reg_open_root(reg);
	eng_as(prev);
}

/* eng_reg_attach as the owner: a root the owner cannot reach is never
 * opened. */
static void eng_reg_open_root(struct eng_reg *reg)
{
	int parent = -1;
	int fd = hk_open_path_nofollow(reg->conf->directory, O_RDONLY | O_DIRECTORY, &parent, NULL);
	eng_reg_set_ancestor(reg, parent);
	if (fd < 0) {
		reg->attach_err = fd;
		/* a directory allowed not to exist yet: said once, not at every
		 * sweep or event of its ancestor */
		if (fd == -ENOENT && !reg->waiting_logged)
			log_notice("watch", "%s: does not exist (yet); waiting for it",
				   reg->conf->directory);
		if (fd == -ENOENT)
			reg->waiting_logged = true;
		else if (fd == -ELOOP || fd == -ENOTDIR)
			log_errx("watch", "%s: a path component is a symlink or not a directory; "
				 "refusing to follow it", reg->conf->directory);
		else
			log_errx("watch", "%s: cannot open: %s", reg->conf->directory,
				 hk_strerror(fd));
		return;
	}
	struct hk_stat st;
	if (hk_stat_fd(fd, &st) < 0 || eng_own_refuse_root(reg, fd)) {
		close(fd);
		return;
	}
	if (reg->n_dirs == 0) {
		reg->dirs = hk_xcalloc(1, sizeof(*reg->dirs));
		reg->n_dirs = 1;
	}
	reg->dirs[ENG_ROOT] = (struct eng_dir){ NULL, ENG_ROOT, fd, -1, st.dev, st.ino };
	eng_dirs_opened(reg, 1);
	reg->root_mount = st.mount_root;
	reg->root_mnt_id = st.mnt_id;
	reg->root_lock_dev = hk_locks_mount_dev(st.mnt_id);
	reg->attached = true;
	reg->attach_err = 0;
	reg->waiting_logged = false;
	reg->scanned = false;
	eng_dir_watch(reg, ENG_ROOT);
	eng_reg_rescan(reg);   /* keeps a warm-loaded index until reconciled */
}

void eng_reg_detach(struct eng_reg *reg)
{
	if (reg->cur) {
		hk_dirscan_free(reg->cur);
		reg->cur = NULL;
	}
	reg->n_queue = 0;
	reg->scanning = false;
	reg->scanned = false;
	if (reg->attached) {
		for (size_t i = reg->n_dirs; i-- > 1;)
			eng_dir_drop(reg, (uint32_t)i);
		eng_dir_unwatch(reg, ENG_ROOT);
		close(reg->dirs[ENG_ROOT].fd);
		eng_dirs_opened(reg, -1);
		reg->dirs[ENG_ROOT].fd = -1;
		reg->attached = false;
	}
	eng_idx_clear(reg);
	eng_held_free(reg, ENG_ANCESTOR);
	if (reg->eng->loop) {
		ev_timer_stop(reg->eng->loop, &reg->age_timer);
		ev_timer_stop(reg->eng->loop, &reg->retry_timer);
	}
}

/* Is the registered path still the directory we pinned? (A parent may have
 * been renamed or the path replaced.) */
bool eng_reg_identity_ok(struct eng_reg *reg)
{
	int parent = -1;
	const struct hk_cred *prev;
	if (!eng_as_owner(reg, &prev))
		return false;
	int fd = hk_open_path_nofollow(reg->conf->directory, O_RDONLY | O_DIRECTORY, &parent, NULL);
	eng_as(prev);
	if (parent >= 0)
		close(parent);
	if (fd < 0)
		return false;
	struct hk_stat st;
	bool ok = hk_stat_fd(fd, &st) == 0 && st.dev == reg->dirs[ENG_ROOT].dev &&
		  st.ino == reg->dirs[ENG_ROOT].ino;
	close(fd);
	return ok;
}

/* Events ------------------------------------------------------------------ */

static void eng_event_cb(void *ctx, void *owner, uint32_t dir, uint32_t mask, const char *name)
{
	struct eng_reg *reg = owner;
	if (dir == ENG_ANCESTOR) {
		/* something appeared or vanished on the way to our root */
		if (mask & IN_IGNORED)
			reg->anc_wd = -1;
		/* attached: only our own name in the parent matters (a busy
		 * parent like /var/log must not cost a path walk per event) */
		if (reg->attached && name &&
		    (!(mask & (IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_MOVED_TO)) ||
		     strcmp(name, eng_basename(reg->conf->directory)) != 0))
			return;
		if (reg->attached && !eng_reg_identity_ok(reg)) {
			log_info("watch", "%s: directory removed or replaced", reg->conf->directory);
			eng_reg_detach(reg);
		}
		eng_reg_attach(reg);
		return;
	}
	if (!eng_dir_live(reg, dir))
		return;
	if (!name) {
		if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
			if (mask & IN_IGNORED)
				reg->dirs[dir].wd = -1;   /* the kernel dropped it */
			if (dir == ENG_ROOT) {
				log_info("watch", "%s: directory removed or moved away",
					 reg->conf->directory);
				eng_reg_detach(reg);
				eng_reg_attach(reg);   /* it may already be back */
			} else {
				eng_dir_drop(reg, dir);
			}
		}
		return;
	}
	if (mask & IN_ISDIR) {
		if (!reg->conf->recursive)
			return;
		if (mask & (IN_CREATE | IN_MOVED_TO)) {
			eng_subdir_found(reg, dir, name);
			eng_scan_kick(reg->eng);
		} else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
			for (size_t i = 1; i < reg->n_dirs; i++) {
				struct eng_dir *d = &reg->dirs[i];
				if (d->fd >= 0 && d->parent == dir && strcmp(d->name, name) == 0) {
					eng_dir_drop(reg, (uint32_t)i);
					break;
				}
			}
		}
		return;
	}
	/* our own rename-then-unlink of a file being deleted (reap.c) */
	if (strncmp(name, HK_REAP_TMP_PREFIX, sizeof(HK_REAP_TMP_PREFIX) - 1) == 0)
		return;
	if (!eng_name_matches(reg->conf, name))
		return;
	if (mask & (IN_DELETE | IN_MOVED_FROM))
		eng_idx_remove(reg, dir, name);
	else
		eng_refresh_later(reg, dir, name);
	reg->dirty = true;
}

/* Files touched by events are looked at once per batch: a create and the
 * close-after-write that follows it cost one statx, not two. */
static void eng_refresh_later(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_engine *eng = reg->eng;
	if (eng->n_refresh) {
		const struct eng_refresh *last = &eng->refresh[eng->n_refresh - 1];
		if (last->reg == reg && last->dir == dir && strcmp(last->name, name) == 0)
			return;
	}
	if (eng->n_refresh == eng->cap_refresh) {
		eng->cap_refresh = eng->cap_refresh ? eng->cap_refresh * 2 : 64;
		eng->refresh = hk_xreallocarray(eng->refresh, eng->cap_refresh, sizeof(*eng->refresh));
	}
	eng->refresh[eng->n_refresh++] = (struct eng_refresh){ reg, dir, hk_xstrdup(name) };
}

static void eng_refresh_pending(struct hk_engine *eng)
{
	/* one identity switch per run of one owner's names, not one per name */
	const struct hk_cred *prev = hk_cred_current();
	for (size_t i = 0; i < eng->n_refresh; i++) {
		struct eng_refresh *r = &eng->refresh[i];
		if (r->reg && r->reg->attached && eng_dir_live(r->reg, r->dir) &&
		    eng_as_owner(r->reg, NULL))
			eng_file_refresh(r->reg, r->dir, r->name);
		free(r->name);
	}
	eng_as(prev);
	eng->n_refresh = 0;
}

/* An overflow is routine: the index is in doubt until the rescan it
 * starts is done (no count or size deletion meanwhile, SAFETY.md), and
 * that is all. It is no failure: no error line, no on_failure, only
 * housekeeper_inotify_overflows_total and a notice (one a minute at most,
 * with the count since the last). docs/ARCHITECTURE.md says why. */
static void eng_overflow_cb(void *ctx)
{
	struct hk_engine *eng = ctx;
	int64_t now = hk_time_mono_ns();

	eng->overflows_unlogged++;
	if (!eng->overflow_logged_ns || now - eng->overflow_logged_ns >= ENG_OVERFLOW_LOG_NS) {
		char more[64] = "";
		if (eng->overflows_unlogged > 1)
			snprintf(more, sizeof(more), " (%" PRIu64 " times since the last notice)",
				 eng->overflows_unlogged);
		log_notice("watch", "inotify queue overflowed%s: events were lost; rescanning every "
			   "registration (raise fs.inotify.max_queued_events if this repeats)", more);
		eng->overflow_logged_ns = now;
		eng->overflows_unlogged = 0;
	}
	eng->overflowed = true;
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_reg_rescan(eng->regs[i]);
}

static void eng_batch_end_cb(void *ctx)
{
	struct hk_engine *eng = ctx;
	eng_refresh_pending(eng);
	struct eng_run run;
	eng_run_init(&run, eng, false, eng->event_rep);
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (reg->dirty || (run.n_gone && reg->attached))
			eng_reg_enforce(reg, &run);
	}
	eng_run_fini(&run);
}

static void eng_enforce_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_engine *eng = w->data;
	ev_idle_stop(loop, w);   /* enforcement restarts it when a slice is not enough */
	eng_batch_end_cb(eng);
}

/* A lazy unmount, or a new mount over a registered directory, makes no
 * inotify event on a directory we hold open. /proc/self/mountinfo signals
 * every change of the mount table with EPOLLPRI (and EPOLLIN always, which
 * libev would spin on), so it sits alone in an epoll set of its own
 * registered for EPOLLPRI, and libev watches that set. Each change
 * re-validates every registered root. */
static void eng_mounts_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hk_engine *eng = w->data;
	struct epoll_event ev;
	while (epoll_wait(w->fd, &ev, 1, 0) > 0)
		;
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (reg->attached && !eng_reg_identity_ok(reg)) {
			log_info("watch", "%s: another filesystem is at this path now (mount "
				 "table changed)", reg->conf->directory);
			eng_reg_detach(reg);
		}
		if (!reg->attached)
			eng_reg_attach(reg);
	}
}

static void eng_mounts_open(struct hk_engine *eng)
{
	eng->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	int efd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLPRI };
	if (eng->mounts_fd < 0 || efd < 0 ||
	    epoll_ctl(efd, EPOLL_CTL_ADD, eng->mounts_fd, &ev) < 0) {
		log_warn("watch", "/proc/self/mountinfo: cannot watch the mount table");
		if (efd >= 0)
			close(efd);
		return;
	}
	ev_io_init(&eng->mounts_io, eng_mounts_cb, efd, EV_READ);
	eng->mounts_io.data = eng;
	ev_io_start(eng->loop, &eng->mounts_io);
}

static const struct hk_watch_ops eng_watch_ops = {
	.event = eng_event_cb,
	.overflow = eng_overflow_cb,
	.batch_end = eng_batch_end_cb,
};

/* Registrations ----------------------------------------------------------- */

/* Without a watch, changes are found by rescanning (the limits then act
 * when the scan completes). */
static void eng_fallback_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	eng_reg_rescan(reg);
}

static struct eng_reg *eng_reg_create(struct hk_engine *eng, const struct hk_registration *conf)
{
	struct eng_reg *reg = hk_xcalloc(1, sizeof(*reg));
	reg->eng = eng;
	reg->conf = hk_registration_dup(conf);
	hk_policy_from_registration(reg->conf, eng->cfg->scheduler.housekeeper_default_retention,
				    &reg->policy);
	reg->index = hk_index_create();
	reg->cred = hk_cred_for_uid(conf->owner_uid);
	eng_reg_warm_load(reg);
	reg->anc_fd = -1;
	reg->anc_wd = -1;
	ev_timer_init(&reg->age_timer, eng_age_timer_cb, 0., 0.);
	reg->age_timer.data = reg;
	ev_timer_init(&reg->fallback_timer, eng_fallback_cb, 0., 0.);
	reg->fallback_timer.data = reg;
	ev_timer_init(&reg->retry_timer, eng_retry_cb, 0., 0.);
	reg->retry_timer.data = reg;
	reg->retry_delay = ENG_RETRY_MIN;
	return reg;
}

static void eng_reg_free(struct eng_reg *reg)
{
	struct hk_engine *eng = reg->eng;
	eng_tally_flush(reg, true);
	for (size_t i = 0; i < eng->n_refresh; i++)
		if (eng->refresh[i].reg == reg)
			eng->refresh[i].reg = NULL;
	if (reg->sweep) {
		/* removed while a sweep worked on it: the sweep ends here */
		struct hk_sweep *sw = reg->sweep;
		sw->reg = NULL;
		sw->phase = SWEEP_DONE;
		if (!sw->rr->error)
			sw->rr->error = hk_xstrdup("registration removed during the sweep");
	}
	eng_reg_detach(reg);
	eng_reg_set_ancestor(reg, -1);
	if (eng->loop) {
		ev_timer_stop(eng->loop, &reg->age_timer);
		ev_timer_stop(eng->loop, &reg->fallback_timer);
	}
	free(reg->dirs);
	free(reg->queue);
	free(reg->held);
	hk_index_free(reg->index);
	hk_registration_free(reg->conf);
	hk_cred_free(reg->cred);
	free(reg);
}

static bool eng_same_selection(const struct hk_registration *a, const struct hk_registration *b)
{
	if (strcmp(a->directory, b->directory) != 0 || strcmp(a->pattern, b->pattern) != 0 ||
	    a->recursive != b->recursive || a->age_by != b->age_by ||
	    a->n_excludes != b->n_excludes)
		return false;
	for (size_t i = 0; i < a->n_excludes; i++)
		if (strcmp(a->excludes[i], b->excludes[i]) != 0)
			return false;
	return true;
}

static bool eng_same_schedule(const struct hk_registration *a, const struct hk_registration *b)
{
	if (!a->schedule || !b->schedule)
		return a->schedule == b->schedule;
	return strcmp(a->schedule, b->schedule) == 0;
}

static int eng_reg_cmp(const void *a, const void *b)
{
	const struct eng_reg *x = *(const struct eng_reg *const *)a;
	const struct eng_reg *y = *(const struct eng_reg *const *)b;
	if (x->conf->priority != y->conf->priority)
		return x->conf->priority < y->conf->priority ? -1 : 1;
	const char *nx = x->conf->name ? x->conf->name : x->conf->id;
	const char *ny = y->conf->name ? y->conf->name : y->conf->id;
	return strcmp(nx, ny);
}

struct eng_reg *eng_reg_find(const struct hk_engine *eng, const char *key)
{
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (strcmp(key, reg->conf->id) == 0 ||
		    (reg->conf->name && strcmp(key, reg->conf->name) == 0))
			return reg;
	}
	return NULL;
}

void hk_engine_apply_config(struct hk_engine *eng, const struct hk_config *cfg)
{
	hk_engine_apply(eng, cfg, eng->api, eng->n_api);
}

/* Deletions of one batch run on housekeeper_concurrent_cleanups threads,
 * no more than there are CPUs to run them. */
static void eng_reapers_configure(struct hk_engine *eng, const struct hk_config *cfg)
{
	long cpus = 1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	long want = cfg->scheduler.housekeeper_concurrent_cleanups;
	if (want > cpus)
		want = cpus;
	if (want > ENG_REAP_THREADS_MAX)
		want = ENG_REAP_THREADS_MAX;
	if (want < 1)
		want = 1;
	if (eng->reapers && eng->reap_threads == (unsigned)want)
		return;
	hk_reap_pool_free(eng->reapers);
	eng->reapers = hk_reap_pool_new((unsigned)want);
	eng->reap_threads = (unsigned)want;
}

void hk_engine_apply(struct hk_engine *eng, const struct hk_config *cfg,
		     struct hk_registration *const *api, size_t n_api)
{
	eng_reapers_configure(eng, cfg);
	if (eng->clock_paused) {
		eng->clock_paused = false;
		eng->clock_baseline_set = false;
		log_notice("sched", "reload: the current time is accepted; age limits resume");
	}
	eng->cfg = cfg;
	eng->api = api;
	eng->n_api = n_api;
	eng_own_update(eng);
	size_t total = cfg->n_regs + n_api;
	struct eng_reg **next = hk_xcalloc(total ? total : 1, sizeof(*next));
	bool *kept = hk_xcalloc(eng->n_regs ? eng->n_regs : 1, sizeof(*kept));
	for (size_t i = 0; i < total; i++) {
		const struct hk_registration *conf =
			i < cfg->n_regs ? cfg->regs[i] : api[i - cfg->n_regs];
		struct eng_reg *reg = NULL;
		for (size_t j = 0; j < eng->n_regs; j++) {
			if (!kept[j] && strcmp(eng->regs[j]->conf->id, conf->id) == 0 &&
			    eng_same_selection(eng->regs[j]->conf, conf) &&
			    eng_same_schedule(eng->regs[j]->conf, conf)) {
				reg = eng->regs[j];
				kept[j] = true;
				break;
			}
		}
		if (reg) {
			/* same files: keep watches and index, take the new limits */
			hk_registration_free(reg->conf);
			reg->conf = hk_registration_dup(conf);
			hk_policy_from_registration(reg->conf,
						    cfg->scheduler.housekeeper_default_retention,
						    &reg->policy);
			reg->dirty = true;
		} else {
			reg = eng_reg_create(eng, conf);
		}
		next[i] = reg;
	}
	for (size_t j = 0; j < eng->n_regs; j++)
		if (!kept[j])
			eng_reg_free(eng->regs[j]);
	free(kept);
	free(eng->regs);
	eng->regs = next;
	eng->n_regs = total;
	qsort(eng->regs, eng->n_regs, sizeof(*eng->regs), eng_reg_cmp);

	if (eng->loop) {
		for (size_t i = 0; i < eng->n_regs; i++) {
			struct eng_reg *reg = eng->regs[i];
			if (!reg->attached)
				eng_reg_attach(reg);
		}
		/* enforce changed limits at once */
		eng_batch_end_cb(eng);
	}
}

struct hk_engine *hk_engine_create(struct ev_loop *loop, const struct hk_config *cfg,
				   struct hk_store *store, unsigned flags)
{
	struct hk_engine *eng = hk_xcalloc(1, sizeof(*eng));
	eng->loop = loop;
	eng->store = store;
	eng->no_index_store = flags & HK_ENGINE_NO_INDEX_STORE;
	struct rlimit rl;
	rlim_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
	rlim_t reserve = limit / 2 < ENG_FD_RESERVE ? limit / 2 : ENG_FD_RESERVE;
	eng->fd_budget = limit == RLIM_INFINITY ? SIZE_MAX : (size_t)(limit - reserve);
	/* each directory is an fd and an inotify watch: users' shares are
	 * taken of whichever runs out first */
	eng->user_dirs_budget = eng->fd_budget;
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	unsigned long watches;
	if (f && fscanf(f, "%lu", &watches) == 1 && watches < eng->user_dirs_budget)
		eng->user_dirs_budget = watches;
	if (f)
		fclose(f);
	if (loop) {
		eng->watch = hk_watch_create(loop, &eng_watch_ops, eng);
		if (!eng->watch) {
			log_err("watch", "inotify_init1");
			free(eng);
			return NULL;
		}
		ev_idle_init(&eng->scan_idle, eng_scan_idle_cb);
		eng->scan_idle.data = eng;
		ev_idle_init(&eng->enforce_idle, eng_enforce_idle_cb);
		eng->enforce_idle.data = eng;
		/* An idle watcher runs only when nothing of its priority or higher
		 * is pending: at the top priority, slices go on under a flood of
		 * events instead of starving. */
		ev_set_priority(&eng->scan_idle, EV_MAXPRI);
		ev_set_priority(&eng->enforce_idle, EV_MAXPRI);
		eng->mounts_fd = -1;
		eng_mounts_open(eng);
	}
	hk_engine_apply_config(eng, cfg);
	return eng;
}

void hk_engine_free(struct hk_engine *eng)
{
	if (!eng)
		return;
	eng->store = NULL;   /* shutting down: keep the stored index for a warm start */
	eng_tally_fini(eng);
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_reg_free(eng->regs[i]);
	free(eng->regs);
	if (eng->loop) {
		ev_idle_stop(eng->loop, &eng->scan_idle);
		ev_idle_stop(eng->loop, &eng->enforce_idle);
		if (ev_is_active(&eng->mounts_io)) {
			ev_io_stop(eng->loop, &eng->mounts_io);
			close(eng->mounts_io.fd);
		}
		if (eng->mounts_fd >= 0)
			close(eng->mounts_fd);
	}
	hk_watch_free(eng->watch);
	hk_reap_pool_free(eng->reapers);
	for (size_t i = 0; i < eng->n_pending_fails; i++)
		free(eng->pending_fails[i].message);
	free(eng->pending_fails);
	for (size_t i = 0; i < eng->n_refresh; i++)
		free(eng->refresh[i].name);
	free(eng->refresh);
	eng_own_free(eng);
	free(eng->own_socket);
	hk_reap_leftovers_free(eng->leftovers, eng->n_leftovers);
	free(eng);
}

void hk_engine_set_failure_hook(struct hk_engine *eng, hk_failure_fn fn, void *arg)
{
	eng->failure = fn;
	eng->failure_arg = arg;
	for (size_t i = 0; i < eng->n_pending_fails; i++) {
		struct eng_pending_fail *f = &eng->pending_fails[i];
		if (fn)
			fn(arg, f->cls, f->reg_id[0] ? f->reg_id : NULL, f->message);
		free(f->message);
	}
	free(eng->pending_fails);
	eng->pending_fails = NULL;
	eng->n_pending_fails = 0;
}

void hk_engine_set_event_report(struct hk_engine *eng, struct hk_report *rep)
{
	eng->event_rep = rep;
}

/* Report a failure to the daemon's hook, formatted. */
void eng_fail(struct hk_engine *eng, enum hk_failure cls, const char *reg_id,
	      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	if (!eng->failure) {
		/* raised while starting, before the daemon set its hook */
		if (eng->n_pending_fails < ENG_PENDING_FAILS) {
			if (!eng->pending_fails)
				eng->pending_fails = hk_xcalloc(ENG_PENDING_FAILS,
								sizeof(*eng->pending_fails));
			struct eng_pending_fail *f = &eng->pending_fails[eng->n_pending_fails++];
			f->cls = cls;
			snprintf(f->reg_id, sizeof(f->reg_id), "%s", reg_id ? reg_id : "");
			f->message = msg;
			return;
		}
		free(msg);
		return;
	}
	/* the hook writes the daemon's own files and may start a command:
	 * never with an owner's identity */
	const struct hk_cred *prev;
	hk_cred_use(NULL, &prev);
	eng->failure(eng->failure_arg, cls, reg_id, msg);
	eng_as(prev);
	free(msg);
}

bool hk_engine_persist_step(struct hk_engine *eng, size_t budget)
{
	bool more = false;
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (reg->persist_walk && budget)
			budget -= eng_persist_walk_step(reg, budget);
		more = more || reg->persist_walk;
	}
	return more;
}

bool hk_engine_idle(const struct hk_engine *eng)
{
	for (size_t i = 0; i < eng->n_regs; i++)
		if (eng->regs[i]->scanning || eng->regs[i]->persist_walk)
			return false;
	return true;
}
