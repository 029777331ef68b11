/*
 * engine_scan.c - a registration's root and its scans: the root opened
 * (as the owner, without symlinks, its parent or deepest existing
 * ancestor watched), detached when it goes, checked against the path; full
 * scans read in slices (ENG_SCAN_SLICE entries or ENG_SCAN_SLICE_NS) from an idle watcher,
 * each entry indexed, entered or (a crash's leftover) finished; the end of
 * a scan (vanished files dropped, a cold index's store walk started).
 *
 * Invariant: an index is in doubt while its root is missing and until a
 * full scan of it completes (attached, scanned, scanning say so).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
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
		if (eng_subdir_matches(reg, dir, name))
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
	if (eng_file_matches(reg, dir, name))
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
	bool first = !reg->scanned;
	eng_store_forget(reg, ENG_ANCESTOR);
	size_t gone = hk_index_sweep_unseen(reg->index);
	if (gone)
		log_debug("scan", "%s: %zu vanished files dropped", reg->conf->directory, gone);
	reg->scanning = false;
	reg->scanned = true;
	reg->dirty = true;
	if (reg->conf->remove_empty_dirs)
		reg->empty_due_ns = 0;   /* the old empty directories it found: at once */
	log_debug("scan", "%s: %zu files, %" PRIu64 " bytes", reg->conf->directory,
		  hk_index_count(reg->index), hk_index_bytes(reg->index));
	/* what the first scan's reservation or growth left unused; not after
	 * a rescan (an overflow's, say): there is no reservation then, and
	 * the fit re-hashes the whole table at once, which at two million
	 * entries of a flat-out writer's backlog held the loop 270 ms to
	 * save about a byte an entry */
	if (first)
		hk_index_fit(reg->index);
	eng_persist_walk_start(reg);
	if (reg->persist_walk)
		eng_scan_kick(reg->eng);
	if (reg->conf->min_free.set && reg->eng->loop) {
		/* a fresh index: free space is checked in the next slice
		 * (engine_free.c), not only by the periodic check */
		reg->eng->free_pending = true;
		if (!ev_is_active(&reg->eng->enforce_idle))
			ev_idle_start(reg->eng->loop, &reg->eng->enforce_idle);
	}
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
	eng_held_return(reg);   /* the scan judges them with the rest */
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

void eng_scan_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_engine *eng = w->data;
	size_t budget = ENG_SCAN_SLICE;
	int64_t end = hk_time_mono_ns() + ENG_SCAN_SLICE_NS;
	bool more = false;
	struct eng_run run;
	eng_run_init(&run, eng, false, eng->event_rep);
	for (size_t i = 0; i < eng->n_regs && budget; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (!reg->scanning)
			continue;
		while (budget && reg->scanning) {
			size_t used = eng_scan_step(reg, budget < ENG_SCAN_STEP ? budget : ENG_SCAN_STEP);
			budget -= used;
			if (used == 0 || hk_time_mono_ns() >= end)
				budget = 0;
		}
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

void eng_scan_kick(struct hk_engine *eng)
{
	if (eng->loop && !ev_is_active(&eng->scan_idle))
		ev_idle_start(eng->loop, &eng->scan_idle);
}

/* Attaching the root ------------------------------------------------------ */

void eng_reg_set_ancestor(struct eng_reg *reg, int anc_fd)
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

bool hk_engine_idle(const struct hk_engine *eng)
{
	for (size_t i = 0; i < eng->n_regs; i++)
		if (eng->regs[i]->scanning || eng->regs[i]->persist_walk)
			return false;
	return true;
}
