/*
 * engine_events.c - what changes a registration between scans: inotify
 * events (a file indexed, refreshed at the end of the batch or dropped; a
 * subdirectory found or dropped; the root or a way to it gone or back),
 * overflows (every registration rescanned), the end of a batch and its
 * continuation (enforcement of what changed), and changes of the mount
 * table (every root checked again).
 */
#include "autoconfig.h"

#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cred.h"
#include "engine_int.h"
#include "log.h"
#include "reap.h"
#include "util.h"
#include "watch.h"

static void eng_refresh_later(struct eng_reg *reg, uint32_t dir, const char *name);

static const char *eng_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
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
		if (mask & (IN_CREATE | IN_MOVED_TO)) {
			if (!eng_subdir_matches(reg, dir, name))
				return;
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
	if (!eng_file_matches(reg, dir, name))
		return;
	if (mask & (IN_DELETE | IN_MOVED_FROM))
		eng_idx_remove(reg, dir, name);
	else
		eng_refresh_later(reg, dir, name);
	reg->dirty = true;
}

static void eng_refresh_pending(struct hk_engine *eng);

/* Files touched by events are looked at once per batch: a create and the
 * close-after-write that follows it cost one statx, not two. At most
 * ENG_REFRESH_MAX wait: the statx go with the dispatch of their events,
 * inside its time budget (watch.c); a flat-out writer's batch once
 * dispatched 8,000 names in the budget and statx'ed them all after it,
 * 25-40 ms of one loop iteration. */
static void eng_refresh_later(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_engine *eng = reg->eng;
	if (eng->n_refresh) {
		const struct eng_refresh *last = &eng->refresh[eng->n_refresh - 1];
		if (last->reg == reg && last->dir == dir && strcmp(last->name, name) == 0)
			return;
	}
	if (eng->n_refresh >= ENG_REFRESH_MAX)
		eng_refresh_pending(eng);
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
		eng_yield(eng);
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

void eng_batch_end_cb(void *ctx)
{
	struct hk_engine *eng = ctx;
	eng_refresh_pending(eng);
	struct eng_run run;
	eng_run_init(&run, eng, false, eng->event_rep);
	/* free space is checked when a registration with a floor changed
	 * (its files may have taken space) or a free-space deletion goes on */
	bool check_free = eng->free_pending;
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (reg->dirty && reg->conf->min_free.set)
			check_free = true;
		if (reg->dirty || (run.n_gone && reg->attached))
			eng_reg_enforce(reg, &run);
	}
	if (check_free)
		eng_free_enforce(eng, &run);
	eng_run_fini(&run);
}

void eng_enforce_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
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

void eng_mounts_open(struct hk_engine *eng)
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

const struct hk_watch_ops eng_watch_ops = {
	.event = eng_event_cb,
	.overflow = eng_overflow_cb,
	.batch_end = eng_batch_end_cb,
};
