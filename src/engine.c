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
 * Invariants:
 *  - no deletion happens on a registration whose index is in doubt: before
 *    its first scan completes, while it is being rescanned (after an
 *    overflow or on a sweep's reconcile), or while its root is missing;
 *  - every deletion goes through hk_reap_file with the entry's identity;
 *  - registrations are processed in priority order (lower first, ties by
 *    name), and a file deleted by one is purged from the view of the next
 *    ones in the same run before they decide (struct eng_run), so each
 *    applies to what the previous ones left (SPEC 5).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine.h"
#include "index.h"
#include "log.h"
#include "scan.h"
#include "store.h"
#include "units.h"
#include "util.h"
#include "watch.h"

#define ENG_ROOT 0u
#define ENG_ANCESTOR UINT32_MAX
#define ENG_SCAN_SLICE 4096        /* directory entries per loop iteration */
#define ENG_CHANGED_RETRIES 64     /* re-evaluations of changed files per enforcement */
#define ENG_FALLBACK_RESCAN 30.0   /* seconds between rescans of an unwatched registration */
#define ENG_ENFORCE_SLICE 8        /* batches of ENG_REAP_BATCH per enforcement slice */
#define ENG_RETRY_MIN 5.0          /* seconds before a failed deletion is retried */
#define ENG_RETRY_MAX 300.0
#define ENG_FD_RESERVE 128         /* fds never used for directories */
#define ENG_PENDING_FAILS 64
#define ENG_CLOCK_JUMP (INT64_C(3600) * HK_NSEC_PER_SEC)   /* a clock step this large pauses age */

struct eng_dir {
	char *name;          /* NULL for the root */
	uint32_t parent;
	int fd;              /* -1: free slot */
	int wd;              /* -1: not watched */
	uint64_t dev;
	uint64_t ino;
};

struct eng_reg {
	struct hk_engine *eng;
	struct hk_registration *conf;     /* owned copy */
	struct hk_policy policy;
	struct hk_index *index;
	struct eng_dir *dirs;
	size_t n_dirs;
	bool attached;                    /* root is open */
	bool root_mount;                  /* root is a mount point: protect aquota.* */
	int anc_fd;                       /* while detached: deepest existing ancestor */
	int anc_wd;
	bool scanned;                     /* a complete scan has built the index */
	bool scanning;                    /* a scan is in progress */
	bool dirty;                       /* events since the last enforcement */
	bool watch_failed;                /* no inotify watch: periodic rescans instead */
	bool rescan_pending;              /* another full scan once this one ends */
	ev_timer fallback_timer;          /* periodic rescans while watch_failed */
	/* files whose deletion failed or was refused by a lock: out of the
	 * index (the policy counts them as handled), retried with backoff */
	struct hk_entry **held;
	size_t n_held;
	size_t cap_held;
	ev_timer retry_timer;
	double retry_delay;
	/* sliced scan state */
	uint32_t *queue;
	size_t n_queue;
	size_t cap_queue;
	struct hk_dirscan *cur;
	uint32_t cur_dir;
	ev_timer age_timer;
	struct hk_sweep *sweep;           /* the sweep working on it, if any */
	/* counters since start */
	uint64_t files_deleted;
	uint64_t bytes_deleted;
	uint64_t delete_errors;
	int64_t last_run;
	/* growth measurement: gross bytes/files (kept + deleted) at t0 */
	int64_t rate_t0_ns;
	uint64_t rate_bytes0;
	uint64_t rate_files0;
	double growth_bytes;
	double growth_files;
};

struct eng_pending_fail {
	enum hk_failure cls;
	char reg_id[HK_UUID_LEN + 1];
	char *message;
};

struct eng_refresh {
	struct eng_reg *reg;       /* NULL: cancelled (registration gone) */
	uint32_t dir;
	char *name;
};

struct hk_engine {
	struct ev_loop *loop;
	const struct hk_config *cfg;
	struct hk_watch *watch;
	struct eng_reg **regs;            /* priority order */
	size_t n_regs;
	ev_idle scan_idle;
	ev_idle enforce_idle;             /* continues sliced mass deletions */
	ev_io mounts_io;                  /* the mount table changed */
	int mounts_fd;                    /* /proc/self/mountinfo */
	bool overflowed;
	struct hk_store *store;           /* borrowed; NULL: nothing persisted */
	struct hk_registration *const *api;   /* borrowed API registrations */
	int64_t clock_offset;             /* realtime - monotonic, the accepted baseline */
	bool clock_baseline_set;
	bool clock_paused;                /* a forward jump: no age decisions */
	size_t n_api;
	bool audit_failing;               /* intents cannot be written: no deletion */
	bool no_index_store;              /* the index is not persisted (benchmarks) */
	size_t open_dirs;                 /* directory fds held by registrations */
	size_t fd_budget;                 /* ... at most; the rest stays for deletions,
					   * clients, the store, reports */
	struct eng_refresh *refresh;      /* names to statx at the end of the batch */
	size_t n_refresh;
	size_t cap_refresh;
	struct eng_pending_fail *pending_fails;   /* raised before the hook was set */
	size_t n_pending_fails;
	hk_failure_fn failure;
	void *failure_arg;
	struct hk_report *event_rep;      /* borrowed: event-path deletions go there */
};

/* One deletion (or would-be deletion) recorded in a run, so that later
 * registrations in the same run see what the earlier ones left. */
struct eng_gone {
	uint64_t dir_dev;
	uint64_t dir_ino;
	uint64_t ino;
	char *name;
};

struct eng_run {
	bool dry_run;
	int64_t now_ns;
	bool age_allowed;
	struct hk_report *rep;            /* NULL on the event path */
	struct eng_gone *gone;
	size_t n_gone;
	size_t cap_gone;
};

static void eng_reg_enforce(struct eng_reg *reg, struct eng_run *run);
static void eng_reg_arm_age(struct eng_reg *reg);
static void eng_reg_attach(struct eng_reg *reg);
static void eng_reg_detach(struct eng_reg *reg);
static void eng_scan_kick(struct hk_engine *eng);
static void eng_idx_set(struct eng_reg *reg, uint32_t dir, const char *name,
			const struct hk_file_meta *meta);
static void eng_idx_remove(struct eng_reg *reg, uint32_t dir, const char *name);
static void eng_idx_clear(struct eng_reg *reg);
static void eng_store_forget(struct eng_reg *reg, uint32_t dir);
static void eng_reg_warm_load(struct eng_reg *reg);
static void eng_refresh_later(struct eng_reg *reg, uint32_t dir, const char *name);
static void eng_reg_rescan(struct eng_reg *reg);
static int64_t eng_fs_free(int fd);
static void eng_held_free(struct eng_reg *reg, uint32_t dir_only);
static void eng_hold(struct eng_reg *reg, struct hk_entry *e);
static void eng_fail(struct hk_engine *eng, enum hk_failure cls, const char *reg_id,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Runs -------------------------------------------------------------------- */

/* May the age policy act at now? Not while the clock is before the build
 * date, nor after the realtime clock jumped forward against the monotonic
 * one (a wrong clock must not make every file look old): then age
 * decisions pause, with an error, until the clock comes back or a reload
 * accepts the new time. Backward jumps only make files look younger. */
static bool eng_clock_ok(struct hk_engine *eng, int64_t now)
{
	if (hk_clock_implausible(now))
		return false;
	if (!eng || !eng->loop)
		return true;
	int64_t offset = now - hk_time_mono_ns();
	if (!eng->clock_baseline_set) {
		eng->clock_offset = offset;
		eng->clock_baseline_set = true;
	}
	int64_t drift = offset - eng->clock_offset;
	if (eng->clock_paused) {
		if (drift < ENG_CLOCK_JUMP && drift > -ENG_CLOCK_JUMP) {
			eng->clock_paused = false;
			log_notice("sched", "the clock is back where it was: age limits resume");
		}
	} else if (drift > ENG_CLOCK_JUMP) {
		eng->clock_paused = true;
		log_errx("sched", "the realtime clock jumped %" PRId64 " s forward: age limits are "
			 "paused (reload to accept the new time)", drift / HK_NSEC_PER_SEC);
		eng_fail(eng, HK_FAIL_CLOCK, NULL, "the realtime clock jumped %" PRId64 " s forward; "
			 "age limits paused", drift / HK_NSEC_PER_SEC);
	} else if (drift < -ENG_CLOCK_JUMP) {
		eng->clock_offset = offset;   /* back in time: files only look younger */
	}
	return !eng->clock_paused;
}

static void eng_run_init(struct eng_run *run, struct hk_engine *eng, bool dry_run,
			 struct hk_report *rep)
{
	memset(run, 0, sizeof(*run));
	run->dry_run = dry_run;
	run->now_ns = hk_time_now_ns();
	run->age_allowed = eng_clock_ok(eng, run->now_ns);
	run->rep = rep;
}

static void eng_run_fini(struct eng_run *run)
{
	for (size_t i = 0; i < run->n_gone; i++)
		free(run->gone[i].name);
	free(run->gone);
}

static void eng_run_add_gone(struct eng_run *run, const struct eng_dir *d, uint64_t ino,
			     const char *name)
{
	if (run->n_gone == run->cap_gone) {
		run->cap_gone = run->cap_gone ? run->cap_gone * 2 : 64;
		run->gone = hk_xreallocarray(run->gone, run->cap_gone, sizeof(*run->gone));
	}
	run->gone[run->n_gone++] = (struct eng_gone){ d->dev, d->ino, ino, hk_xstrdup(name) };
}

/* Directories ------------------------------------------------------------- */

static uint32_t eng_dir_alloc(struct eng_reg *reg)
{
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (reg->dirs[i].fd < 0)
			return (uint32_t)i;
	reg->dirs = hk_xreallocarray(reg->dirs, reg->n_dirs + 1, sizeof(*reg->dirs));
	return (uint32_t)reg->n_dirs++;
}

static bool eng_dir_live(const struct eng_reg *reg, uint32_t id)
{
	return id < reg->n_dirs && reg->dirs[id].fd >= 0;
}

/* Find the live directory of reg with identity (dev, ino). */
static bool eng_dir_find(const struct eng_reg *reg, uint64_t dev, uint64_t ino, uint32_t *id)
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

static void eng_dir_unwatch(struct eng_reg *reg, uint32_t id)
{
	struct eng_dir *d = &reg->dirs[id];
	if (d->wd >= 0 && reg->eng->watch)
		hk_watch_remove(reg->eng->watch, d->wd, reg, id);
	d->wd = -1;
}

/* Drop directory id, its subdirectories and their index entries. */
static void eng_dir_drop(struct eng_reg *reg, uint32_t id)
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
	reg->eng->open_dirs--;
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

/* The path of dir id relative to the root ("" for the root, "a/b/"). */
static void eng_dir_relpath(const struct eng_reg *reg, uint32_t id, struct hk_buf *b)
{
	if (id == ENG_ROOT)
		return;
	eng_dir_relpath(reg, reg->dirs[id].parent, b);
	hk_buf_append(b, reg->dirs[id].name, strlen(reg->dirs[id].name));
	hk_buf_append(b, "/", 1);
}

static char *eng_file_path(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_buf b = { 0 };
	hk_buf_append(&b, reg->conf->directory, strlen(reg->conf->directory));
	if (strcmp(reg->conf->directory, "/") != 0)
		hk_buf_append(&b, "/", 1);
	eng_dir_relpath(reg, dir, &b);
	hk_buf_append(&b, name, strlen(name));
	return b.data;
}

/* The full path for a log line, with control bytes and invalid UTF-8
 * escaped so that a file name cannot forge log lines. */
static char *eng_log_path(const struct eng_reg *reg, uint32_t dir, const char *name)
{
	char *raw = eng_file_path(reg, dir, name);
	struct hk_buf b = { 0 };
	hk_buf_append_escaped(&b, raw, strlen(raw));
	free(raw);
	return b.data;
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

/* A subdirectory found by a scan or an event: open it safely, watch it,
 * queue its scan. Mount points and other devices are never entered. */
static void eng_subdir_found(struct eng_reg *reg, uint32_t parent, const char *name)
{
	if (strcmp(name, "lost+found") == 0)
		return;
	for (size_t i = 1; i < reg->n_dirs; i++) {
		const struct eng_dir *d = &reg->dirs[i];
		if (d->fd >= 0 && d->parent == parent && strcmp(d->name, name) == 0)
			return;   /* known already */
	}
	int fd = reg->eng->open_dirs >= reg->eng->fd_budget
			 ? -EMFILE   /* keep fds for deletions and clients */
			 : hk_open_subdir(reg->dirs[parent].fd, name, reg->dirs[ENG_ROOT].dev);
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
					 reg->conf->directory, hk_strerror(fd),
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
	uint32_t id = eng_dir_alloc(reg);
	reg->dirs[id] = (struct eng_dir){ hk_xstrdup(name), parent, fd, -1, st.dev, st.ino };
	reg->eng->open_dirs++;
	eng_dir_watch(reg, id);
	eng_queue_scan(reg, id);
}

/* Files ------------------------------------------------------------------- */

static bool eng_name_matches(const struct hk_registration *conf, const char *name)
{
	if (fnmatch(conf->pattern, name, 0) != 0)
		return false;
	for (size_t i = 0; i < conf->n_excludes; i++)
		if (fnmatch(conf->excludes[i], name, 0) == 0)
			return false;
	return true;
}

/* Bring the index entry of dir/name in line with the disk. */
static void eng_file_refresh(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_stat st;
	int r = hk_stat_at(reg->dirs[dir].fd, name, &st);
	if (r < 0 || !S_ISREG(st.mode) || st.dev != reg->dirs[ENG_ROOT].dev || st.mount_root ||
	    strlen(name) > 255) {
		eng_idx_remove(reg, dir, name);
		return;
	}
	struct hk_file_meta meta;
	hk_stat_to_meta(&st, reg->conf->age_by, &meta);
	eng_idx_set(reg, dir, name, &meta);
}

/* Scanning ---------------------------------------------------------------- */

static void eng_scan_entry(struct eng_reg *reg, uint32_t dir, const char *name,
			   unsigned char d_type)
{
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
	if (eng_name_matches(reg->conf, name))
		eng_file_refresh(reg, dir, name);
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
}

/* Read up to budget directory entries of reg's pending scan. Returns the
 * number read; reg->scanning turns false when the scan is complete. */
static size_t eng_scan_step(struct eng_reg *reg, size_t budget)
{
	size_t done = 0;
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
		eng_scan_entry(reg, reg->cur_dir, name, d_type);
		done++;
	}
	return done;
}

/* Start a full (re)scan: existing entries are kept and served until the
 * scan has confirmed or dropped them. */
static void eng_reg_rescan(struct eng_reg *reg)
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
	for (size_t i = 0; i < eng->n_regs && !more; i++)
		more = eng->regs[i]->scanning;
	if (!more)
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

/* Open path component by component, never following a symlink. Returns
 * the directory fd or -errno. *parent receives the deepest existing
 * directory above the target (its parent on success), or -1. */
static int eng_open_path(const char *path, int *parent)
{
	*parent = -1;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	const char *p = path + 1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];
		if (len == 0 || len >= sizeof(comp)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int err = -errno;
			/* missing, or a symlink/non-directory in the way: watch the
			 * deepest real directory so a repair is noticed */
			if (err == -ENOENT || err == -ELOOP || err == -ENOTDIR)
				*parent = fd;
			else
				close(fd);
			return err;
		}
		p = slash ? slash + 1 : p + len;
		if (*p == '\0')
			*parent = fd;
		else
			close(fd);
		fd = next;
	}
	return fd;
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

/* Open the registered root and start scanning it. The parent directory (or,
 * while the root is missing, its deepest existing ancestor) is watched too:
 * a directory we hold open reports no IN_DELETE_SELF until we close it, so
 * its removal or replacement is seen from the parent. */
static void eng_reg_attach(struct eng_reg *reg)
{
	if (reg->attached)
		return;
	int parent = -1;
	int fd = eng_open_path(reg->conf->directory, &parent);
	eng_reg_set_ancestor(reg, parent);
	if (fd < 0) {
		if (fd == -ENOENT)
			log_info("watch", "%s: does not exist (yet); waiting for it",
				 reg->conf->directory);
		else if (fd == -ELOOP || fd == -ENOTDIR)
			log_errx("watch", "%s: a path component is a symlink or not a directory; "
				 "refusing to follow it", reg->conf->directory);
		else
			log_errx("watch", "%s: cannot open: %s", reg->conf->directory,
				 hk_strerror(fd));
		return;
	}
	struct hk_stat st;
	if (hk_stat_fd(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (reg->n_dirs == 0) {
		reg->dirs = hk_xcalloc(1, sizeof(*reg->dirs));
		reg->n_dirs = 1;
	}
	reg->dirs[ENG_ROOT] = (struct eng_dir){ NULL, ENG_ROOT, fd, -1, st.dev, st.ino };
	reg->eng->open_dirs++;
	reg->root_mount = st.mount_root;
	reg->attached = true;
	reg->scanned = false;
	eng_dir_watch(reg, ENG_ROOT);
	eng_reg_rescan(reg);   /* keeps a warm-loaded index until reconciled */
}

static void eng_reg_detach(struct eng_reg *reg)
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
		reg->eng->open_dirs--;
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
static bool eng_reg_identity_ok(struct eng_reg *reg)
{
	int parent = -1;
	int fd = eng_open_path(reg->conf->directory, &parent);
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

/* Persistence of the index ------------------------------------------------ */

/* The store key of a file: its path relative to the registered root. */
static char *eng_relpath(const struct eng_reg *reg, uint32_t dir, const char *name, size_t *len)
{
	struct hk_buf b = { 0 };
	eng_dir_relpath(reg, dir, &b);
	hk_buf_append(&b, name, strlen(name));
	*len = b.len;
	return b.data;
}

static void eng_store_put(struct eng_reg *reg, const struct hk_entry *e)
{
	struct hk_store *store = reg->eng->store;
	if (!store || reg->eng->no_index_store)
		return;
	size_t len;
	char *rel = eng_relpath(reg, e->dir, e->name, &len);
	struct hk_store_file f = { e->ino, e->size, e->mtime_ns, e->key_ns };
	hk_store_index_put(store, reg->conf->id, rel, len, &f);
	free(rel);
}

static void eng_store_del(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_store *store = reg->eng->store;
	if (!store || reg->eng->no_index_store)
		return;
	size_t len;
	char *rel = eng_relpath(reg, dir, name, &len);
	hk_store_index_delete(store, reg->conf->id, rel, len);
	free(rel);
}

/* Index mutations that the store follows. */
static void eng_idx_set(struct eng_reg *reg, uint32_t dir, const char *name,
			const struct hk_file_meta *meta)
{
	size_t len = strlen(name);
	struct hk_entry *old = hk_index_get(reg->index, dir, name, len);
	bool same = old && old->ino == meta->ino && old->size == meta->size &&
		    old->mtime_ns == meta->mtime_ns && old->key_ns == meta->key_ns;
	hk_index_set(reg->index, dir, name, len, meta);
	if (!same) {
		struct hk_entry *e = hk_index_get(reg->index, dir, name, len);
		if (e)
			eng_store_put(reg, e);
	}
}

static void eng_idx_remove(struct eng_reg *reg, uint32_t dir, const char *name)
{
	if (hk_index_remove(reg->index, dir, name, strlen(name)))
		eng_store_del(reg, dir, name);
}

static void eng_idx_remove_entry(struct eng_reg *reg, struct hk_entry *e)
{
	eng_store_del(reg, e->dir, e->name);
	hk_index_remove_entry(reg->index, e);
}

struct eng_collect {
	struct eng_reg *reg;
	uint32_t dir;          /* ENG_ANCESTOR: every unseen entry instead */
};

static void eng_collect_cb(struct hk_entry *e, void *arg)
{
	struct eng_collect *c = arg;
	bool hit = c->dir == ENG_ANCESTOR ? !(e->heap_pos & 0x80000000u) : e->dir == c->dir;
	if (hit)
		eng_store_del(c->reg, e->dir, e->name);
}

/* Before entries leave in bulk (a directory dropped, a rescan's unseen
 * sweep), tell the store. */
static void eng_store_forget(struct eng_reg *reg, uint32_t dir)
{
	if (!reg->eng->store || reg->eng->no_index_store)
		return;
	struct eng_collect c = { reg, dir };
	hk_index_foreach(reg->index, eng_collect_cb, &c);
}

static void eng_idx_clear(struct eng_reg *reg)
{
	if (reg->eng->store && !reg->eng->no_index_store && hk_index_count(reg->index))
		hk_store_index_drop(reg->eng->store, reg->conf->id);
	hk_index_clear(reg->index);
}

static int eng_warm_load_cb(const char *rel, size_t len, const struct hk_store_file *f, void *arg)
{
	struct eng_reg *reg = arg;
	if (memchr(rel, '/', len) || len > 255)
		return 0;   /* subdirectory entries come back with the scan */
	struct hk_file_meta meta = { f->ino, f->size, f->mtime_ns, f->key_ns };
	hk_index_set(reg->index, ENG_ROOT, rel, len, &meta);
	return 0;
}

/* Warm start: serve the stored index until the first scan reconciles it
 * (deletions wait for that scan). */
static void eng_reg_warm_load(struct eng_reg *reg)
{
	struct hk_store *store = reg->eng->store;
	if (!store || reg->eng->no_index_store)
		return;
	hk_store_index_load(store, reg->conf->id, eng_warm_load_cb, reg);
	if (reg->conf->recursive && hk_index_count(reg->index))
		hk_store_index_drop(store, reg->conf->id);   /* the scan puts all back */
	if (hk_index_count(reg->index))
		log_debug("store", "%s: %zu files from the stored index", reg->conf->directory,
			  hk_index_count(reg->index));
}

/* Enforcement ------------------------------------------------------------- */

#define ENG_REAP_BATCH 256     /* files per audit-intent commit */

static void eng_report_add(struct eng_run *run, struct eng_reg *reg, struct hk_report_reg *rr,
			   uint32_t dir, const char *name, const struct hk_reap_result *res,
			   uint64_t size, int64_t mtime_ns, enum hk_reason why)
{
	if (!run->rep)
		return;
	struct hk_report *rep = run->rep;
	if (rep->n_files >= HK_REPORT_MAX_FILES) {
		rep->files_omitted++;
		return;
	}
	if ((rep->n_files & (rep->n_files - 1)) == 0)
		rep->files = hk_xreallocarray(rep->files, rep->n_files ? rep->n_files * 2 : 1,
					      sizeof(*rep->files));
	struct hk_report_file *f = &rep->files[rep->n_files++];
	*f = (struct hk_report_file){
		.path = eng_file_path(reg, dir, name),
		.size = size,
		.blocks = res->st.blocks,
		.mtime_ns = mtime_ns,
		.reason = why,
		.outcome = res->outcome,
		.err = res->err,
	};
	memcpy(f->reg_id, rr ? rr->id : reg->conf->id, sizeof(f->reg_id));
}

static void eng_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Keep a detached entry whose deletion failed or was refused by a lock;
 * it goes back to the index when the retry timer fires. */
static void eng_hold(struct eng_reg *reg, struct hk_entry *e)
{
	struct ev_loop *loop = reg->eng->loop;
	if (!loop) {
		free(e);   /* one-shot: nothing to retry */
		return;
	}
	if (reg->n_held == reg->cap_held) {
		reg->cap_held = reg->cap_held ? reg->cap_held * 2 : 16;
		reg->held = hk_xreallocarray(reg->held, reg->cap_held, sizeof(*reg->held));
	}
	reg->held[reg->n_held++] = e;
	if (!ev_is_active(&reg->retry_timer)) {
		if (reg->retry_delay < ENG_RETRY_MIN)
			reg->retry_delay = ENG_RETRY_MIN;
		ev_timer_set(&reg->retry_timer, reg->retry_delay, 0.);
		ev_timer_start(loop, &reg->retry_timer);
	}
}

static void eng_held_free(struct eng_reg *reg, uint32_t dir_only)
{
	size_t k = 0;
	for (size_t i = 0; i < reg->n_held; i++) {
		if (dir_only == ENG_ANCESTOR || reg->held[i]->dir == dir_only)
			free(reg->held[i]);
		else
			reg->held[k++] = reg->held[i];
	}
	reg->n_held = k;
}

/* A file set aside for deletion: detached from the index while its intent
 * is recorded and the deletion done. */
struct eng_pick {
	struct hk_entry *e;
	enum hk_reason why;
	uint64_t audit_id;
};

/* Record intents for the picks (real runs). Fail closed: without the
 * records nothing is deleted. */
static bool eng_record_intents(struct eng_reg *reg, struct eng_run *run, struct eng_pick *picks,
			       size_t n)
{
	struct hk_engine *eng = reg->eng;
	if (!eng->store || run->dry_run || n == 0)
		return true;
	struct hk_store_audit *recs = hk_xcalloc(n, sizeof(*recs));
	uint64_t *ids = hk_xcalloc(n, sizeof(*ids));
	char **paths = hk_xcalloc(n, sizeof(*paths));
	for (size_t i = 0; i < n; i++) {
		const struct hk_entry *e = picks[i].e;
		paths[i] = eng_file_path(reg, e->dir, e->name);
		recs[i] = (struct hk_store_audit){
			.time_ns = run->now_ns,
			.reg_id = reg->conf->id,
			.path = paths[i],
			.path_len = strlen(paths[i]),
			.size = e->size,
			.mtime_ns = e->mtime_ns,
			.reason = hk_reason_name(picks[i].why),
		};
	}
	int r = hk_store_audit_intent(eng->store, recs, n, ids);
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			picks[i].audit_id = ids[i];
		if (eng->audit_failing)
			log_notice("store", "audit records can be written again: deleting resumes");
		eng->audit_failing = false;
	} else if (!eng->audit_failing) {
		log_errx("store", "%s: cannot record the audit trail (%s): no file is deleted "
			 "until it can be", reg->conf->directory, hk_strerror(r));
		eng_fail(eng, HK_FAIL_AUDIT, reg->conf->id, "audit trail cannot be written (%s): "
			 "deletions stopped", hk_strerror(r));
		eng->audit_failing = true;
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(ids);
	free(recs);
	return r == 0;
}

/* A dry run under housekeeper_dry_run leaves an audit record per file it
 * would delete; a manual dry run stores nothing but its job and report. */
static void eng_record_dry(struct eng_reg *reg, struct eng_run *run, const struct hk_entry *e,
			   enum hk_reason why)
{
	struct hk_engine *eng = reg->eng;
	if (!eng->store || !eng->cfg->scheduler.housekeeper_dry_run)
		return;
	char *path = eng_file_path(reg, e->dir, e->name);
	struct hk_store_audit rec = {
		.time_ns = run->now_ns,
		.reg_id = reg->conf->id,
		.path = path,
		.path_len = strlen(path),
		.size = e->size,
		.mtime_ns = e->mtime_ns,
		.reason = hk_reason_name(why),
		.dry_run = true,
		.state = HK_STORE_AUDIT_DONE,
		.outcome = "would-delete",
	};
	uint64_t id;
	hk_store_audit_add(eng->store, &rec, &id);
	free(path);
}

/* Delete (or, dry, check) one detached pick; the entry is freed or given
 * back to the index. Returns true when the file turned out changed. */
static bool eng_reap_pick(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			  struct eng_pick *p)
{
	struct hk_entry *e = p->e;
	struct hk_store *store = reg->eng->store;
	uint32_t dir = e->dir;
	struct eng_dir *d = &reg->dirs[dir];
	struct hk_reap_expect exp = {
		.dev = reg->dirs[ENG_ROOT].dev,
		.ino = e->ino,
		.size = e->size,
		.mtime_ns = e->mtime_ns,
		.dir_is_mount_root = dir == ENG_ROOT && reg->root_mount,
	};
	struct hk_reap_result res;
	hk_reap_file(d->fd, e->name, &exp, run->dry_run, &res);
	bool record = store && !run->dry_run && p->audit_id;
	bool changed = false;

	if (rr && res.outcome != HK_REAP_CHANGED)
		rr->selected++;
	switch (res.outcome) {
	case HK_REAP_DELETED:
	case HK_REAP_WOULD_DELETE:
		eng_run_add_gone(run, d, e->ino, e->name);
		eng_report_add(run, reg, rr, dir, e->name, &res, e->size, e->mtime_ns, p->why);
		if (rr) {
			rr->deleted++;
			rr->bytes += e->size;
			rr->blocks_bytes += res.st.blocks * 512;
		}
		if (res.outcome == HK_REAP_WOULD_DELETE) {
			eng_record_dry(reg, run, e, p->why);
			hk_index_attach(reg->index, e);
			return false;
		}
		if (record)
			hk_store_audit_complete(store, p->audit_id, "deleted", 0);
		reg->files_deleted++;
		reg->bytes_deleted += e->size;
		if (hk_log_get_level() >= LOG_DEBUG) {
			char *path = eng_log_path(reg, dir, e->name);
			log_debug("reap", "%s: deleted (%s)", path, hk_reason_name(p->why));
			free(path);
		}
		eng_store_del(reg, dir, e->name);
		free(e);
		return false;
	case HK_REAP_GONE:
		break;
	case HK_REAP_CHANGED:
		changed = true;
		break;
	case HK_REAP_LOCKED:
	case HK_REAP_REFUSED:
	case HK_REAP_FAILED:
		if (rr) {
			rr->skipped += res.outcome != HK_REAP_FAILED;
			rr->errors += res.outcome == HK_REAP_FAILED;
		}
		eng_report_add(run, reg, rr, dir, e->name, &res, e->size, e->mtime_ns, p->why);
		{
			char *path = eng_log_path(reg, dir, e->name);
			if (res.outcome == HK_REAP_FAILED) {
				reg->delete_errors++;
				log_errx("reap", "%s: cannot delete: %s", path, hk_strerror(res.err));
				eng_fail(reg->eng, HK_FAIL_DELETE, reg->conf->id,
					 "%s: cannot delete: %s", path, hk_strerror(res.err));
			} else {
				/* a lock is an application's request: no news */
				hk_log(res.outcome == HK_REAP_LOCKED ? LOG_DEBUG : LOG_INFO, "reap",
				       "%s: kept (%s)", path, hk_reap_outcome_name(res.outcome));
			}
			free(path);
		}
		if (run->dry_run) {
			hk_index_attach(reg->index, e);
			return false;
		}
		if (res.outcome != HK_REAP_REFUSED) {
			/* locked or failed: held out of the index (the policy
			 * counts it as handled) and retried later */
			if (record)
				hk_store_audit_drop(store, p->audit_id);
			eng_hold(reg, e);
			return false;
		}
		break;
	}
	if (record)
		hk_store_audit_drop(store, p->audit_id);
	char name[256];
	memcpy(name, e->name, (size_t)e->name_len + 1);
	eng_store_del(reg, dir, name);
	free(e);
	if (changed)
		eng_file_refresh(reg, dir, name);   /* re-evaluate what is on disk now */
	return changed;
}

/* Delete a batch of picks: intents first (fail closed), then each file.
 * Returns the number that turned out changed, or -1 when nothing could be
 * done (the picks are back in the index). */
static long eng_reap_batch(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			   struct eng_pick *picks, size_t n)
{
	if (!eng_record_intents(reg, run, picks, n)) {
		for (size_t i = 0; i < n; i++)
			hk_index_attach(reg->index, picks[i].e);
		return -1;
	}
	long changed = 0;
	for (size_t i = 0; i < n; i++)
		changed += eng_reap_pick(reg, run, rr, &picks[i]);
	return changed;
}

/* Remove from reg's index the files that earlier registrations of this run
 * deleted (real runs), so reg decides on what they left. */
static void eng_reg_purge_gone(struct eng_reg *reg, const struct eng_run *run, size_t from)
{
	for (size_t i = from; i < run->n_gone; i++) {
		const struct eng_gone *g = &run->gone[i];
		uint32_t dir;
		if (!eng_dir_find(reg, g->dir_dev, g->dir_ino, &dir))
			continue;
		struct hk_entry *e = hk_index_get(reg->index, dir, g->name, strlen(g->name));
		if (e && e->ino == g->ino)
			eng_idx_remove_entry(reg, e);
	}
}

static bool eng_entry_gone_in_run(const struct eng_reg *reg, const struct eng_run *run,
				  const struct hk_entry *e)
{
	const struct eng_dir *d = &reg->dirs[e->dir];
	for (size_t i = 0; i < run->n_gone; i++) {
		const struct eng_gone *g = &run->gone[i];
		if (g->ino == e->ino && g->dir_ino == d->ino && g->dir_dev == d->dev &&
		    strcmp(g->name, e->name) == 0)
			return true;
	}
	return false;
}

static bool eng_reg_may_delete(const struct eng_reg *reg)
{
	return reg->attached && reg->scanned && !reg->scanning;
}

/* The event/timer path leaves a registration alone while a sweep works on
 * it; the sweep enforces what accumulated when it ends. */
static bool eng_reg_event_path_ok(const struct eng_reg *reg)
{
	return reg->eng->loop && eng_reg_may_delete(reg) && !reg->sweep;
}

/* Event and timer path: delete the oldest while any policy selects it,
 * in batches of ENG_REAP_BATCH (one audit commit each). */
static void eng_reg_enforce(struct eng_reg *reg, struct eng_run *run)
{
	const struct hk_scheduler_settings *s = &reg->eng->cfg->scheduler;
	if (!eng_reg_event_path_ok(reg))
		return;
	reg->dirty = false;
	if (s->housekeeper_read_only || s->housekeeper_dry_run) {
		/* only sweeps report in these modes */
		eng_reg_arm_age(reg);
		return;
	}
	eng_reg_purge_gone(reg, run, 0);
	long changed = 0;
	struct eng_pick picks[ENG_REAP_BATCH];
	for (int batches = 0;; batches++) {
		if (batches == ENG_ENFORCE_SLICE) {
			/* a mass deletion goes on in the next loop iteration, so
			 * signals, events and the socket are served meanwhile */
			reg->dirty = true;
			if (!ev_is_active(&reg->eng->enforce_idle))
				ev_idle_start(reg->eng->loop, &reg->eng->enforce_idle);
			break;
		}
		size_t n = 0;
		struct hk_entry *e;
		while (n < ENG_REAP_BATCH && (e = hk_index_oldest(reg->index))) {
			enum hk_reason why = hk_policy_check_oldest(
				&reg->policy, hk_index_count(reg->index), hk_index_bytes(reg->index),
				e->key_ns, run->now_ns, run->age_allowed);
			if (why == HK_REASON_NONE)
				break;
			picks[n++] = (struct eng_pick){ hk_index_detach(reg->index, e), why, 0 };
		}
		if (n == 0)
			break;
		long c = eng_reap_batch(reg, run, NULL, picks, n);
		if (c < 0)
			break;
		changed += c;
		if (changed > ENG_CHANGED_RETRIES) {
			log_warnx("reap", "%s: files keep changing under us; retrying later",
				  reg->conf->directory);
			break;
		}
	}
	eng_reg_arm_age(reg);
}

/* Give held files back to the index and enforce again; back off while
 * they keep failing. */
static void eng_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	struct hk_entry **held = reg->held;
	size_t n = reg->n_held;
	reg->held = NULL;
	reg->n_held = reg->cap_held = 0;
	for (size_t i = 0; i < n; i++) {
		if (reg->attached && eng_dir_live(reg, held[i]->dir))
			hk_index_attach(reg->index, held[i]);
		else
			free(held[i]);
	}
	free(held);
	reg->retry_delay = reg->retry_delay * 2 > ENG_RETRY_MAX ? ENG_RETRY_MAX
								 : reg->retry_delay * 2;
	reg->dirty = true;
	struct eng_run run;
	eng_run_init(&run, reg->eng, false, reg->eng->event_rep);
	eng_reg_enforce(reg, &run);
	eng_run_fini(&run);
	if (reg->n_held == 0)
		reg->retry_delay = ENG_RETRY_MIN;
}

static void eng_age_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	struct eng_run run;
	eng_run_init(&run, reg->eng, false, reg->eng->event_rep);
	eng_reg_enforce(reg, &run);
	eng_run_fini(&run);
}

/* Arm the age timer for the moment the oldest file expires (no polling:
 * nothing is armed when there is nothing to expire). */
static void eng_reg_arm_age(struct eng_reg *reg)
{
	struct ev_loop *loop = reg->eng->loop;
	if (!loop)
		return;
	ev_timer_stop(loop, &reg->age_timer);
	struct hk_entry *e = hk_index_oldest(reg->index);
	if (!e || !eng_reg_may_delete(reg))
		return;
	int64_t expiry = hk_policy_next_expiry(&reg->policy, e->key_ns);
	if (expiry == INT64_MAX)
		return;
	int64_t now = hk_time_now_ns();
	if (!eng_clock_ok(reg->eng, now))
		return;
	/* strictly older than retention: fire just after the expiry */
	double delay = expiry > now ? (double)(expiry - now) / 1e9 + 0.001 : 0.001;
	ev_timer_set(&reg->age_timer, delay, 0.);
	ev_timer_start(loop, &reg->age_timer);
}

/* Sweeps ------------------------------------------------------------------ */

struct hk_run {
	struct eng_run r;
};

struct hk_run *hk_run_create(struct hk_engine *eng, bool dry_run, struct hk_report *rep)
{
	struct hk_run *run = hk_xcalloc(1, sizeof(*run));
	eng_run_init(&run->r, eng, dry_run, rep);
	return run;
}

void hk_run_free(struct hk_run *run)
{
	if (!run)
		return;
	eng_run_fini(&run->r);
	free(run);
}

bool hk_run_age_allowed(const struct hk_run *run)
{
	return run->r.age_allowed;
}

/* A file chosen by a sweep's plan, copied out of the index: the index may
 * change between slices. */
struct eng_victim {
	uint32_t dir;
	uint64_t dir_dev;
	uint64_t dir_ino;
	uint64_t ino;
	enum hk_reason why;
	char *name;
};

enum eng_sweep_phase {
	SWEEP_SCAN,
	SWEEP_PLAN,
	SWEEP_REAP,
	SWEEP_DONE,
};

struct hk_sweep {
	struct eng_reg *reg;
	struct eng_run *run;
	struct hk_report_reg *rr;
	enum eng_sweep_phase phase;
	struct eng_victim *victims;
	size_t n_victims;
	size_t next;
};

static struct eng_reg *eng_reg_find(const struct hk_engine *eng, const char *key)
{
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (strcmp(key, reg->conf->id) == 0 ||
		    (reg->conf->name && strcmp(key, reg->conf->name) == 0))
			return reg;
	}
	return NULL;
}

/* Choose the victims of one registration with the batch policy, on a
 * snapshot that leaves out what earlier registrations of the run took. */
static void eng_sweep_plan(struct hk_sweep *sw)
{
	struct eng_reg *reg = sw->reg;
	struct eng_run *run = sw->run;
	if (!run->dry_run)
		eng_reg_purge_gone(reg, run, 0);
	struct hk_entry **sorted = NULL;
	size_t n = hk_index_sorted(reg->index, &sorted);
	struct hk_policy_file *files = hk_xcalloc(n ? n : 1, sizeof(*files));
	enum hk_reason *why = hk_xcalloc(n ? n : 1, sizeof(*why));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (run->dry_run && run->n_gone && eng_entry_gone_in_run(reg, run, sorted[i]))
			continue;
		sorted[m] = sorted[i];
		files[m].key_ns = sorted[i]->key_ns;
		files[m].size = sorted[i]->size;
		m++;
	}
	sw->rr->scanned = m;
	size_t k = hk_policy_select(&reg->policy, files, m, run->now_ns, run->age_allowed, why);
	sw->victims = hk_xcalloc(k ? k : 1, sizeof(*sw->victims));
	for (size_t i = 0; i < k; i++) {
		const struct hk_entry *e = sorted[i];
		const struct eng_dir *d = &reg->dirs[e->dir];
		sw->victims[i] = (struct eng_victim){ e->dir, d->dev, d->ino, e->ino, why[i],
						      hk_xstrdup(e->name) };
	}
	sw->n_victims = k;
	free(files);
	free(why);
	free(sorted);
}

/* Reap up to budget planned victims (one audit commit) that the index
 * still knows as planned; returns how many victims were consumed. */
static size_t eng_sweep_reap_some(struct hk_sweep *sw, size_t budget)
{
	struct eng_reg *reg = sw->reg;
	struct eng_pick picks[ENG_REAP_BATCH];
	size_t n = 0, used = 0;
	if (budget > ENG_REAP_BATCH)
		budget = ENG_REAP_BATCH;
	while (used < budget && sw->next < sw->n_victims) {
		const struct eng_victim *v = &sw->victims[sw->next++];
		used++;
		if (!eng_dir_live(reg, v->dir) || reg->dirs[v->dir].dev != v->dir_dev ||
		    reg->dirs[v->dir].ino != v->dir_ino)
			continue;   /* its directory went away since the plan */
		struct hk_entry *e = hk_index_get(reg->index, v->dir, v->name, strlen(v->name));
		if (!e || e->ino != v->ino)
			continue;   /* deleted or replaced since the plan: not ours to judge now */
		picks[n++] = (struct eng_pick){ hk_index_detach(reg->index, e), v->why, 0 };
	}
	if (eng_reap_batch(reg, sw->run, sw->rr, picks, n) < 0) {
		/* fail closed: the audit trail cannot be written */
		sw->next = sw->n_victims;
		if (!sw->rr->error)
			sw->rr->error = hk_xstrdup("audit trail cannot be written: nothing deleted");
	}
	return used ? used : 1;
}

int hk_engine_sweep_start(struct hk_engine *eng, const char *reg_id, struct hk_run *run,
			  struct hk_report_reg *rr, struct hk_sweep **out)
{
	struct eng_reg *reg = eng_reg_find(eng, reg_id);
	*out = NULL;
	if (!reg)
		return HK_ENOTFOUND;
	if (reg->sweep)
		return HK_EBUSY;
	memcpy(rr->id, reg->conf->id, sizeof(rr->id));
	rr->name = reg->conf->name ? hk_xstrdup(reg->conf->name) : NULL;
	rr->directory = hk_xstrdup(reg->conf->directory);

	struct hk_sweep *sw = hk_xcalloc(1, sizeof(*sw));
	sw->reg = reg;
	sw->run = &run->r;
	sw->rr = rr;
	rr->free_before = rr->free_after = -1;
	reg->sweep = sw;
	if (reg->attached && !eng_reg_identity_ok(reg)) {
		log_warnx("watch", "%s: no longer the directory that was registered; re-attaching",
			  reg->conf->directory);
		eng_reg_detach(reg);
	}
	if (!reg->attached)
		eng_reg_attach(reg);
	if (!reg->attached) {
		rr->error = hk_xstrdup("directory does not exist or cannot be opened");
		sw->phase = SWEEP_DONE;
	} else {
		rr->free_before = eng_fs_free(reg->dirs[ENG_ROOT].fd);
		eng_reg_rescan(reg);
		sw->phase = SWEEP_SCAN;
	}
	*out = sw;
	return 0;
}

bool hk_engine_sweep_step(struct hk_sweep *sw, size_t budget)
{
	struct eng_reg *reg = sw->reg;
	while (budget && sw->phase != SWEEP_DONE) {   /* reg is set while not DONE */
		switch (sw->phase) {
		case SWEEP_SCAN:
			if (!reg->attached) {
				sw->rr->error = hk_xstrdup("directory went away during the sweep");
				sw->phase = SWEEP_DONE;
				break;
			}
			budget -= reg->scanning ? eng_scan_step(reg, budget) : 0;
			if (!reg->scanning)
				sw->phase = SWEEP_PLAN;
			break;
		case SWEEP_PLAN:
			eng_sweep_plan(sw);
			reg->last_run = sw->run->now_ns / HK_NSEC_PER_SEC;
			sw->phase = SWEEP_REAP;
			break;
		case SWEEP_REAP:
			if (sw->next == sw->n_victims || !reg->attached) {
				sw->phase = SWEEP_DONE;
				break;
			}
			{
				size_t used = eng_sweep_reap_some(sw, budget);
				budget = used >= budget ? 0 : budget - used;
			}
			break;
		case SWEEP_DONE:
			break;
		}
	}
	return sw->phase == SWEEP_DONE;
}

void hk_engine_sweep_free(struct hk_sweep *sw)
{
	if (!sw)
		return;
	struct eng_reg *reg = sw->reg;
	if (sw->phase != SWEEP_DONE && !sw->rr->error)
		sw->rr->error = hk_xstrdup("stopped before it finished");
	if (reg && reg->attached && sw->rr->free_before >= 0)
		sw->rr->free_after = eng_fs_free(reg->dirs[ENG_ROOT].fd);
	for (size_t i = 0; i < sw->n_victims; i++)
		free(sw->victims[i].name);
	free(sw->victims);
	free(sw);
	if (!reg)
		return;
	reg->sweep = NULL;
	eng_reg_arm_age(reg);
	/* events that arrived meanwhile are enforced now */
	struct eng_run run;
	eng_run_init(&run, reg->eng, false, reg->eng->event_rep);
	eng_reg_enforce(reg, &run);
	eng_run_fini(&run);
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

size_t hk_engine_reg_ids(const struct hk_engine *eng, const char *filter,
			 char (**ids)[HK_UUID_LEN + 1])
{
	*ids = hk_xcalloc(eng->n_regs ? eng->n_regs : 1, sizeof(**ids));
	size_t n = 0;
	for (size_t i = 0; i < eng->n_regs; i++) {
		const struct hk_registration *c = eng->regs[i]->conf;
		if (filter && strcmp(filter, c->id) != 0 && !(c->name && strcmp(filter, c->name) == 0))
			continue;
		memcpy((*ids)[n++], c->id, HK_UUID_LEN + 1);
	}
	return n;
}

/* Does dir `inner` lie at or below `outer` (lexically; both clean)? */
static bool eng_path_within(const char *outer, const char *inner)
{
	size_t n = strlen(outer);
	if (strcmp(outer, "/") == 0)
		return true;
	return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

bool hk_engine_regs_overlap(const struct hk_engine *eng, const char *id_a, const char *id_b)
{
	const struct eng_reg *a = eng_reg_find(eng, id_a), *b = eng_reg_find(eng, id_b);
	if (!a || !b)
		return false;
	const char *da = a->conf->directory, *db = b->conf->directory;
	if (strcmp(da, db) == 0)
		return true;
	if (eng_path_within(da, db))
		return a->conf->recursive;
	if (eng_path_within(db, da))
		return b->conf->recursive;
	return false;
}

const struct hk_config *hk_engine_config(const struct hk_engine *eng)
{
	return eng->cfg;
}

void hk_report_free(struct hk_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->n_regs; i++) {
		free(rep->regs[i].name);
		free(rep->regs[i].directory);
		free(rep->regs[i].error);
	}
	for (size_t i = 0; i < rep->n_files; i++)
		free(rep->files[i].path);
	free(rep->regs);
	free(rep->files);
	free(rep);
}

void hk_report_print(const struct hk_report *rep, FILE *out)
{
	uint64_t files = 0, bytes = 0, errors = 0, skipped = 0;
	char sz[32];
	for (size_t i = 0; i < rep->n_files; i++) {
		const struct hk_report_file *f = &rep->files[i];
		struct hk_buf path = { 0 };
		hk_buf_append_escaped(&path, f->path, strlen(f->path));
		fprintf(out, "%-12s %-5s %10s  %s", hk_reap_outcome_name(f->outcome),
			hk_reason_name(f->reason), hk_size_human(f->size, sz, sizeof(sz)),
			path.data);
		if (f->outcome == HK_REAP_FAILED)
			fprintf(out, " (%s)", hk_strerror(f->err));
		fputc('\n', out);
		hk_buf_fini(&path);
	}
	for (size_t i = 0; i < rep->n_regs; i++) {
		const struct hk_report_reg *r = &rep->regs[i];
		files += r->deleted;
		bytes += r->bytes;
		errors += r->errors;
		skipped += r->skipped;
		if (r->error)
			fprintf(out, "error        %s: %s\n", r->directory, r->error);
	}
	fprintf(out, "total: %" PRIu64 " file%s, %s %s (%zu registration%s, %" PRIu64
		" skipped, %" PRIu64 " error%s)\n",
		files, files == 1 ? "" : "s", hk_size_human(bytes, sz, sizeof(sz)),
		rep->dry_run ? "would be deleted" : "deleted", rep->n_regs,
		rep->n_regs == 1 ? "" : "s", skipped, errors, errors == 1 ? "" : "s");
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
	for (size_t i = 0; i < eng->n_refresh; i++) {
		struct eng_refresh *r = &eng->refresh[i];
		if (r->reg && r->reg->attached && eng_dir_live(r->reg, r->dir))
			eng_file_refresh(r->reg, r->dir, r->name);
		free(r->name);
	}
	eng->n_refresh = 0;
}

static void eng_overflow_cb(void *ctx)
{
	struct hk_engine *eng = ctx;
	log_warnx("watch", "inotify queue overflowed: events were lost; rescanning every "
		  "registration (raise fs.inotify.max_queued_events if this repeats)");
	eng->overflowed = true;
	eng_fail(eng, HK_FAIL_OVERFLOW, NULL, "inotify queue overflow: events lost, rescanning");
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

void hk_engine_apply_config(struct hk_engine *eng, const struct hk_config *cfg)
{
	hk_engine_apply(eng, cfg, eng->api, eng->n_api);
}

void hk_engine_apply(struct hk_engine *eng, const struct hk_config *cfg,
		     struct hk_registration *const *api, size_t n_api)
{
	if (eng->clock_paused) {
		eng->clock_paused = false;
		eng->clock_baseline_set = false;
		log_notice("sched", "reload: the current time is accepted; age limits resume");
	}
	eng->cfg = cfg;
	eng->api = api;
	eng->n_api = n_api;
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
	for (size_t i = 0; i < eng->n_pending_fails; i++)
		free(eng->pending_fails[i].message);
	free(eng->pending_fails);
	for (size_t i = 0; i < eng->n_refresh; i++)
		free(eng->refresh[i].name);
	free(eng->refresh);
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
static void eng_fail(struct hk_engine *eng, enum hk_failure cls, const char *reg_id,
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
	eng->failure(eng->failure_arg, cls, reg_id, msg);
	free(msg);
}

bool hk_engine_idle(const struct hk_engine *eng)
{
	for (size_t i = 0; i < eng->n_regs; i++)
		if (eng->regs[i]->scanning)
			return false;
	return true;
}

/* Views for the control interface ------------------------------------------ */

size_t hk_engine_count(const struct hk_engine *eng)
{
	return eng->n_regs;
}

const struct hk_registration *hk_engine_registration(const struct hk_engine *eng, size_t i)
{
	return i < eng->n_regs ? eng->regs[i]->conf : NULL;
}

/* Free bytes of the filesystem of fd (-1 when unknown). */
static int64_t eng_fs_free(int fd)
{
	struct statvfs vfs;
	if (fd < 0 || fstatvfs(fd, &vfs) < 0)
		return -1;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

/* Growth since the last sample, sampled at most every 10 s. */
static void eng_reg_sample_growth(struct eng_reg *reg)
{
	int64_t now = hk_time_mono_ns();
	uint64_t bytes = hk_index_bytes(reg->index) + reg->bytes_deleted;
	uint64_t files = hk_index_count(reg->index) + reg->files_deleted;
	if (reg->rate_t0_ns == 0) {
		reg->rate_t0_ns = now;
		reg->rate_bytes0 = bytes;
		reg->rate_files0 = files;
		return;
	}
	double dt = (double)(now - reg->rate_t0_ns) / 1e9;
	if (dt < 10.0)
		return;
	reg->growth_bytes = bytes > reg->rate_bytes0 ? (double)(bytes - reg->rate_bytes0) / dt : 0;
	reg->growth_files = files > reg->rate_files0 ? (double)(files - reg->rate_files0) / dt : 0;
	reg->rate_t0_ns = now;
	reg->rate_bytes0 = bytes;
	reg->rate_files0 = files;
}

void hk_engine_reg_status(struct hk_engine *eng, size_t i, struct hk_reg_status *st)
{
	struct eng_reg *reg = eng->regs[i];
	eng_reg_sample_growth(reg);
	memset(st, 0, sizeof(*st));
	st->files = hk_index_count(reg->index) + reg->n_held;
	st->bytes = hk_index_bytes(reg->index);
	for (size_t h = 0; h < reg->n_held; h++)
		st->bytes += reg->held[h]->size;
	const struct hk_entry *e = hk_index_oldest(reg->index);
	st->oldest_ns = e ? e->key_ns : 0;
	st->next_expiry_ns = e ? hk_policy_next_expiry(&reg->policy, e->key_ns) : INT64_MAX;
	st->last_run = reg->last_run;
	st->files_deleted = reg->files_deleted;
	st->bytes_deleted = reg->bytes_deleted;
	st->delete_errors = reg->delete_errors;
	st->attached = reg->attached;
	st->scanned = reg->scanned && !reg->scanning;
	st->watch_failed = reg->watch_failed;
	st->policy = reg->policy;
	st->growth_bytes = reg->growth_bytes;
	st->growth_files = reg->growth_files;
	st->seconds_to_size = -1;
	st->seconds_to_files = -1;
	if (reg->policy.has_max_size && reg->growth_bytes > 0)
		st->seconds_to_size = st->bytes >= reg->policy.max_size
					      ? 0
					      : (int64_t)((double)(reg->policy.max_size - st->bytes) /
							  reg->growth_bytes);
	if (reg->policy.has_max_files && reg->growth_files > 0)
		st->seconds_to_files = st->files >= reg->policy.max_files
					       ? 0
					       : (int64_t)((double)(reg->policy.max_files - st->files) /
							   reg->growth_files);
}

uint64_t hk_engine_overflows(const struct hk_engine *eng)
{
	return eng->watch ? hk_watch_overflows(eng->watch) : 0;
}

bool hk_engine_audit_failing(const struct hk_engine *eng)
{
	return eng->audit_failing;
}

/* Find the directory id of relative directory path rel (no leading or
 * trailing '/'; "" = root) in reg's table. */
static bool eng_dir_lookup(const struct eng_reg *reg, const char *rel, uint32_t *out)
{
	uint32_t cur = ENG_ROOT;
	while (*rel) {
		const char *slash = strchr(rel, '/');
		size_t len = slash ? (size_t)(slash - rel) : strlen(rel);
		bool found = false;
		for (size_t i = 1; i < reg->n_dirs && !found; i++) {
			const struct eng_dir *d = &reg->dirs[i];
			if (d->fd >= 0 && d->parent == cur && strlen(d->name) == len &&
			    memcmp(d->name, rel, len) == 0) {
				cur = (uint32_t)i;
				found = true;
			}
		}
		if (!found)
			return false;
		rel = slash ? slash + 1 : rel + len;
	}
	*out = cur;
	return true;
}

/* Explain one registration's view of path. */
static void eng_explain_reg(const struct eng_reg *reg, const char *path, int64_t now,
			    struct hk_explain *x)
{
	const char *dir = reg->conf->directory;
	size_t dl = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	memset(x, 0, sizeof(*x));
	x->reg = reg->conf;
	x->delete_at_ns = INT64_MAX;
	if (strncmp(path, dir, dl) != 0 || path[dl] != '/')
		return;
	const char *rel = path + dl + 1;
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	if (base != rel && !reg->conf->recursive) {
		snprintf(x->note, sizeof(x->note), "in a subdirectory; the registration is not recursive");
		return;
	}
	x->covers = true;
	x->matches = fnmatch(reg->conf->pattern, base, 0) == 0;
	for (size_t i = 0; i < reg->conf->n_excludes; i++)
		if (fnmatch(reg->conf->excludes[i], base, 0) == 0)
			x->excluded = true;
	if (!x->matches || x->excluded) {
		snprintf(x->note, sizeof(x->note), "%s", !x->matches ? "does not match the pattern"
								     : "excluded: never deleted");
		return;
	}
	char *reldir = hk_xstrndup(rel, (size_t)(base - rel) ? (size_t)(base - rel) - 1 : 0);
	uint32_t d;
	struct hk_entry *e = NULL;
	if (eng_dir_lookup(reg, reldir, &d))
		e = hk_index_get(reg->index, d, base, strlen(base));
	free(reldir);
	if (!e) {
		snprintf(x->note, sizeof(x->note), "not in the index (not a regular file, or not "
			 "there)");
		return;
	}
	x->indexed = true;
	x->size = e->size;
	x->key_ns = e->key_ns;
	struct hk_entry **sorted = NULL;
	size_t n = hk_index_sorted(reg->index, &sorted);
	struct hk_policy_file *files = hk_xcalloc(n ? n : 1, sizeof(*files));
	enum hk_reason *why = hk_xcalloc(n ? n : 1, sizeof(*why));
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		files[i] = (struct hk_policy_file){ sorted[i]->key_ns, sorted[i]->size };
		if (sorted[i] == e)
			pos = i;
	}
	x->rank_newest = n - pos;
	hk_policy_select(&reg->policy, files, n, now, !hk_clock_implausible(now), why);
	x->reason = why[pos];
	if (x->reason != HK_REASON_NONE) {
		x->delete_at_ns = now;
		snprintf(x->note, sizeof(x->note), "selected now (%s); deleted at the next event or sweep",
			 hk_reason_name(x->reason));
	} else {
		x->delete_at_ns = hk_policy_next_expiry(&reg->policy, e->key_ns);
		snprintf(x->note, sizeof(x->note), "kept: newest %zu of %zu%s", x->rank_newest, n,
			 x->delete_at_ns == INT64_MAX ? "; no age limit" : "; expires at delete_at");
	}
	free(files);
	free(why);
	free(sorted);
}

size_t hk_engine_explain(const struct hk_engine *eng, const char *path, int64_t now_ns,
			 struct hk_explain **out)
{
	*out = hk_xcalloc(eng->n_regs ? eng->n_regs : 1, sizeof(**out));
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_explain_reg(eng->regs[i], path, now_ns, &(*out)[i]);
	return eng->n_regs;
}
