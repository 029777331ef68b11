/*
 * engine_enforce.c - runs and the event/timer deletion path.
 *
 * A run (struct eng_run) is what the registrations processed together
 * share: dry-run flag, clock reading, report and the files deleted so far.
 * After every event batch, on the age timer and on the retry timer, dirty
 * registrations are enforced: the oldest entries are detached while a
 * policy selects them, their audit intents are committed, and each is
 * reaped. Failed or locked files are held out of the index and retried
 * with backoff.
 *
 * Invariants:
 *  - no deletion happens on a registration whose index is in doubt: before
 *    its first scan completes, while it is being rescanned (after an
 *    overflow or on a sweep's reconcile), or while its root is missing;
 *  - every deletion goes through hk_reap_file with the entry's identity;
 *  - no deletion without its audit intent committed first (fail closed);
 *  - registrations are processed in priority order (lower first, ties by
 *    name), and a file deleted by one is purged from the view of the next
 *    ones in the same run before they decide (struct eng_run), so each
 *    applies to what the previous ones left (SPEC 5).
 */
#include "autoconfig.h"

#include <ev.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "index.h"
#include "locks.h"
#include "log.h"
#include "policy.h"
#include "reap.h"
#include "store.h"
#include "util.h"
#include "watch.h"

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

void eng_run_init(struct eng_run *run, struct hk_engine *eng, bool dry_run,
		  struct hk_report *rep)
{
	memset(run, 0, sizeof(*run));
	run->dry_run = dry_run;
	run->now_ns = hk_time_now_ns();
	run->age_allowed = eng_clock_ok(eng, run->now_ns);
	run->rep = rep;
}

void eng_run_fini(struct eng_run *run)
{
	free(run->gone);
	free(run->gone_names);
	free(run->gone_set);
	free(run->freed);
}

/* Enter gone[i] into the run's hash set, grown (by doubling, rehashed) to
 * keep its load at most 1/2. */
static void eng_gone_set_add(struct eng_run *run, size_t i)
{
	if (2 * (i + 1) > run->gone_set_cap) {
		size_t cap = run->gone_set_cap ? 2 * run->gone_set_cap : 256;
		free(run->gone_set);
		run->gone_set = hk_xcalloc(cap, sizeof(*run->gone_set));
		run->gone_set_cap = cap;
		for (size_t k = 0; k < i; k++)
			eng_gone_set_add(run, k);
	}
	const struct eng_gone *g = &run->gone[i];
	size_t mask = run->gone_set_cap - 1;
	size_t at = eng_gone_hash(g->dir_dev, g->dir_ino, g->ino, eng_gone_name(run, g)) & mask;
	while (run->gone_set[at])
		at = (at + 1) & mask;
	run->gone_set[at] = (uint32_t)(i + 1);
}

static void eng_run_add_gone(struct eng_run *run, const struct eng_dir *d, uint64_t ino,
			     const char *name)
{
	if (run->n_gone == run->cap_gone) {
		run->cap_gone = run->cap_gone ? run->cap_gone * 2 : 64;
		run->gone = hk_xreallocarray(run->gone, run->cap_gone, sizeof(*run->gone));
	}
	size_t len = strlen(name) + 1;
	if (run->gone_names_len + len > run->gone_names_cap) {
		while (run->gone_names_len + len > run->gone_names_cap)
			run->gone_names_cap = run->gone_names_cap ? 2 * run->gone_names_cap : 16384;
		run->gone_names = hk_xrealloc(run->gone_names, run->gone_names_cap);
	}
	memcpy(run->gone_names + run->gone_names_len, name, len);
	run->gone[run->n_gone] = (struct eng_gone){ d->dev, d->ino, ino, run->gone_names_len };
	run->gone_names_len += len;
	eng_gone_set_add(run, run->n_gone++);
}

/* Enforcement ------------------------------------------------------------- */

static void eng_report_add(struct eng_run *run, struct eng_reg *reg, struct hk_report_reg *rr,
			   uint32_t dir, const char *name, const struct hk_reap_result *res,
			   uint64_t size, int64_t mtime_ns, enum hk_reason why)
{
	struct hk_report_file *f = eng_report_slot(run);
	if (!f)
		return;
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

/* Keep a detached entry whose deletion failed or was refused by a lock;
 * it goes back to the index when the retry timer fires. */
static void eng_hold(struct eng_reg *reg, struct hk_entry *e, enum hk_reap_outcome outcome)
{
	struct ev_loop *loop = reg->eng->loop;
	if (!loop) {
		hk_entry_free(e);   /* one-shot: nothing to retry */
		return;
	}
	if (reg->n_held == reg->cap_held) {
		reg->cap_held = reg->cap_held ? reg->cap_held * 2 : 16;
		reg->held = hk_xreallocarray(reg->held, reg->cap_held, sizeof(*reg->held));
	}
	reg->held[reg->n_held++] = (struct eng_held){ e, outcome };
	if (!ev_is_active(&reg->retry_timer)) {
		if (reg->retry_delay < ENG_RETRY_MIN)
			reg->retry_delay = ENG_RETRY_MIN;
		ev_timer_set(&reg->retry_timer, reg->retry_delay, 0.);
		ev_timer_start(loop, &reg->retry_timer);
	}
}

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
		paths[i] = eng_file_path(reg, hk_entry_dir(e), hk_entry_name(e));
		recs[i] = (struct hk_store_audit){
			.time_ns = run->now_ns,
			.reg_id = reg->conf->id,
			.path = paths[i],
			.path_len = strlen(paths[i]),
			.size = hk_entry_size(e),
			.mtime_ns = hk_entry_mtime(e),
			.reason = hk_reason_name(picks[i].why),
			.ino = hk_entry_ino(e),
			.aside = picks[i].tmp,
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
	char *path = eng_file_path(reg, hk_entry_dir(e), hk_entry_name(e));
	struct hk_store_audit rec = {
		.time_ns = run->now_ns,
		.reg_id = reg->conf->id,
		.path = path,
		.path_len = strlen(path),
		.size = hk_entry_size(e),
		.mtime_ns = hk_entry_mtime(e),
		.reason = hk_reason_name(why),
		.dry_run = true,
		.state = HK_STORE_AUDIT_DONE,
		.outcome = "would-delete",
	};
	uint64_t id;
	hk_store_audit_add(eng->store, &rec, &id);
	free(path);
}

/* The deletion job of one detached pick: the file as the index knows it,
 * renamed aside to the private name its intent recorded. */
static void eng_reap_job(const struct eng_reg *reg, const struct eng_pick *p,
			 struct hk_reap_job *job)
{
	const struct hk_entry *e = p->e;
	*job = (struct hk_reap_job){
		.dir_fd = reg->dirs[hk_entry_dir(e)].fd,
		.name = hk_entry_name(e),
		.exp = {
			.dev = reg->dirs[ENG_ROOT].dev,
			.mnt_id = reg->root_mnt_id,
			.lock_dev = reg->root_lock_dev,
			.ino = hk_entry_ino(e),
			.size = hk_entry_size(e),
			.mtime_ns = hk_entry_mtime(e),
			.dir_is_mount_root = hk_entry_dir(e) == ENG_ROOT && reg->root_mount,
			.age_by = reg->conf->age_by,
			.key_ns = hk_entry_key(e),
			.tmp_name = p->tmp[0] ? p->tmp : NULL,
			.skip_open = reg->conf->skip_open,
		},
	};
}

/* The log of a file kept or not deleted: a failure is an error (and
 * raised); a lock or an open file is an application's request (debug);
 * what the owner may not delete is summed up per batch. A file kept
 * because no lease could be taken at all (without CAP_LEASE on another
 * uid's file, or a filesystem without leases; not: someone has it open)
 * is said once per registration. */
static void eng_log_kept(struct eng_reg *reg, uint32_t dir, const struct hk_entry *e,
			 const struct hk_reap_result *res, bool not_theirs)
{
	char *path = eng_log_path(reg, dir, hk_entry_name(e));
	if (res->outcome == HK_REAP_IN_USE && res->err && !reg->lease_logged) {
		log_notice("reap", "%s: kept: skip_open cannot tell whether it is open "
			   "(no lease: %s); such files are kept (said once per registration)",
			   path, hk_strerror(res->err));
		reg->lease_logged = true;
	}
	if (res->outcome == HK_REAP_FAILED) {
		reg->delete_errors++;
		log_errx("reap", "%s: cannot delete: %s", path, hk_strerror(res->err));
		eng_fail(reg->eng, HK_FAIL_DELETE, reg->conf->id, "%s: cannot delete: %s", path,
			 hk_strerror(res->err));
	} else {
		hk_log(res->outcome == HK_REAP_LOCKED || res->outcome == HK_REAP_IN_USE ||
			       not_theirs ? LOG_DEBUG : LOG_INFO,
		       "reap", "%s: kept (%s)", path,
		       not_theirs ? "the owner may not delete it" : hk_reap_outcome_name(res->outcome));
	}
	free(path);
}

/* Account for the reaped (or, dry, checked) pick; the entry is freed or
 * given back to the index. Returns true when the file turned out changed. */
static bool eng_reap_done(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			  struct eng_pick *p, const struct hk_reap_result *result)
{
	struct hk_entry *e = p->e;
	struct hk_store *store = reg->eng->store;
	uint32_t dir = hk_entry_dir(e);
	struct eng_dir *d = &reg->dirs[dir];
	struct hk_reap_result res = *result;
	bool record = store && !run->dry_run && p->audit_id;
	bool changed = false;

	/* what the owner may not delete (its own rm would fail the same way)
	 * is kept: a refusal, not an error of the daemon's */
	bool not_theirs = reg->cred && res.outcome == HK_REAP_FAILED &&
			  (res.err == -EACCES || res.err == -EPERM);
	if (not_theirs) {
		res.outcome = HK_REAP_REFUSED;
		reg->perm_refused++;
	}

	if (rr && res.outcome != HK_REAP_CHANGED)
		rr->selected++;
	switch (res.outcome) {
	case HK_REAP_DELETED:
	case HK_REAP_WOULD_DELETE:
		eng_run_add_gone(run, d, hk_entry_ino(e), hk_entry_name(e));
		eng_report_add(run, reg, rr, dir, hk_entry_name(e), &res, hk_entry_size(e),
			       hk_entry_mtime(e), p->why);
		if (rr) {
			rr->deleted++;
			rr->bytes += hk_entry_size(e);
			rr->blocks_bytes += res.st.blocks * 512;
		}
		eng_tally_add(reg, res.outcome == HK_REAP_WOULD_DELETE, p->why, hk_entry_size(e));
		if (res.outcome == HK_REAP_WOULD_DELETE) {
			eng_record_dry(reg, run, e, p->why);
			eng_idx_attach(reg, e);
			return false;
		}
		if (record)
			hk_store_audit_complete(store, p->audit_id, "deleted", 0);
		reg->files_deleted++;
		reg->bytes_deleted += hk_entry_size(e);
		if (p->why == HK_REASON_FREE) {
			reg->free_files_deleted++;
			reg->free_bytes_deleted += hk_entry_size(e);
		}
		if (hk_log_get_level() >= LOG_DEBUG) {
			char *path = eng_log_path(reg, dir, hk_entry_name(e));
			log_debug("reap", "%s: deleted (%s)", path, hk_reason_name(p->why));
			free(path);
		}
		eng_store_del(reg, dir, hk_entry_name(e));
		hk_entry_free(e);
		return false;
	case HK_REAP_GONE:
		break;
	case HK_REAP_CHANGED:
		changed = true;
		break;
	case HK_REAP_IN_USE:
	case HK_REAP_LOCKED:
	case HK_REAP_REFUSED:
	case HK_REAP_FAILED:
		if (rr) {
			rr->skipped += res.outcome != HK_REAP_FAILED;
			rr->errors += res.outcome == HK_REAP_FAILED;
		}
		eng_report_add(run, reg, rr, dir, hk_entry_name(e), &res, hk_entry_size(e),
			       hk_entry_mtime(e), p->why);
		eng_log_kept(reg, dir, e, &res, not_theirs);
		if (run->dry_run) {
			eng_idx_attach(reg, e);
			return false;
		}
		if (res.outcome != HK_REAP_REFUSED) {
			/* locked or failed: held out of the index (the policy
			 * counts it as handled) and retried later */
			if (record)
				hk_store_audit_drop(store, p->audit_id);
			eng_hold(reg, e, res.outcome);
			return false;
		}
		break;
	}
	if (record)
		hk_store_audit_drop(store, p->audit_id);
	char name[256];
	memcpy(name, hk_entry_name(e), (size_t)hk_entry_name_len(e) + 1);
	eng_store_del(reg, dir, name);
	hk_entry_free(e);
	if (changed)
		eng_file_refresh(reg, dir, name);   /* re-evaluate what is on disk now */
	return changed;
}

/* The next chunk of picks: all of them in the root, at most
 * ENG_SUBDIR_CHUNK in subdirectories. */
static size_t eng_chunk_len(const struct eng_pick *picks, size_t n)
{
	size_t in_subdirs = 0, len = 0;
	for (; len < n; len++) {
		if (hk_entry_dir(picks[len].e) == ENG_ROOT)
			continue;
		if (in_subdirs == ENG_SUBDIR_CHUNK)
			break;
		in_subdirs++;
	}
	return len;
}

/* Directories found moved out of the tree during one batch: dropped when
 * the batch is done, once no pick refers to them any more. */
struct eng_moved {
	uint32_t dirs[ENG_REAP_BATCH];
	size_t n;
};

static bool eng_moved_has(const struct eng_moved *m, uint32_t dir)
{
	for (size_t k = 0; k < m->n; k++)
		if (m->dirs[k] == dir)
			return true;
	return false;
}

/* Reap one chunk. Right before, every subdirectory it deletes in is checked
 * to be still in the tree: the files of one that was moved out are left
 * alone (as gone from the registration). */
static long eng_reap_chunk(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			   struct eng_pick *picks, size_t n, struct eng_moved *moved)
{
	struct hk_reap_job jobs[ENG_REAP_BATCH];
	uint32_t checked[ENG_SUBDIR_CHUNK];
	size_t n_checked = 0, n_jobs = 0;
	bool out[ENG_REAP_BATCH];
	for (size_t i = 0; i < n; i++) {
		uint32_t dir = hk_entry_dir(picks[i].e);
		out[i] = false;
		if (dir != ENG_ROOT) {
			size_t k = 0;
			while (k < n_checked && checked[k] != dir)
				k++;
			if (k == n_checked) {
				checked[n_checked++] = dir;
				if (!eng_moved_has(moved, dir) && !eng_dir_in_tree(reg, dir))
					moved->dirs[moved->n++] = dir;
			}
			out[i] = eng_moved_has(moved, dir);
		}
		if (!out[i])
			eng_reap_job(reg, &picks[i], &jobs[n_jobs++]);
	}
	/* the lock set is read once per chunk, as late as it can be: right
	 * before its files are renamed aside (NULL: each file is opened and
	 * its locks probed instead, reap.c) */
	struct hk_locks *locks = n_jobs ? hk_locks_read() : NULL;
	hk_reap_many(reg->eng->reapers, jobs, n_jobs, locks, run->dry_run, reg->cred,
		     eng_reap_wait(reg->eng));
	hk_locks_free(locks);
	long changed = 0;
	const struct hk_reap_result left = { .outcome = HK_REAP_GONE };
	for (size_t i = 0, j = 0; i < n; i++)
		changed += eng_reap_done(reg, run, rr, &picks[i], out[i] ? &left : &jobs[j++].res);
	return changed;
}

/* The last line before the deletion path: a pick that is one of the
 * daemon's own files (it cannot be indexed, see engine_guard.c) is kept.
 * Returns the number of picks left in picks[0..). */
static size_t eng_keep_own(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			   struct eng_pick *picks, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!eng_own_entry(reg, hk_entry_dir(picks[i].e), hk_entry_name(picks[i].e))) {
			picks[k++] = picks[i];
			continue;
		}
		struct hk_reap_result refused = { .outcome = HK_REAP_REFUSED };
		eng_reap_done(reg, run, rr, &picks[i], &refused);
	}
	return k;
}

/* Files per batch on the event path: as many as one enforcement slice has
 * time for at the measured cost per file, within [ENG_REAP_BATCH_MIN,
 * ENG_REAP_BATCH]. A batch is what the loop cannot interrupt: 256 files of
 * a flat-out writer's churn took up to 100 ms on two busy cores, and every
 * client waited. The intents' commit is left out of the cost: a slow fsync
 * makes each batch dearer, and fewer files per commit would only add
 * commits. */
static size_t eng_batch_size(const struct hk_engine *eng)
{
	if (eng->reap_file_ns <= 0)
		return ENG_REAP_BATCH;
	int64_t n = ENG_ENFORCE_SLICE_NS / eng->reap_file_ns;
	if (n < ENG_REAP_BATCH_MIN)
		return ENG_REAP_BATCH_MIN;
	return n > ENG_REAP_BATCH ? ENG_REAP_BATCH : (size_t)n;
}

/* Delete a batch of picks: intents first (fail closed), then each file.
 * Each gets its private name before its intent is recorded, so a crash
 * between rename and unlink leaves a name the next start can prove.
 * Returns the number that turned out changed, or -1 when nothing could be
 * done (the picks are back in the index). */
long eng_reap_batch(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
		    struct eng_pick *picks, size_t n)
{
	n = eng_keep_own(reg, run, rr, picks, n);
	for (size_t i = 0; i < n; i++) {
		if (run->dry_run)
			picks[i].tmp[0] = '\0';
		else
			hk_reap_tmp_name(picks[i].tmp);
	}
	if (!eng_record_intents(reg, run, picks, n)) {
		for (size_t i = 0; i < n; i++)
			eng_idx_attach(reg, picks[i].e);
		return -1;
	}
	long changed = 0;
	uint64_t refused0 = reg->perm_refused;
	struct eng_moved moved = { .n = 0 };
	int64_t t0 = hk_time_mono_ns();
	for (size_t at = 0; at < n;) {
		size_t len = eng_chunk_len(picks + at, n - at);
		changed += eng_reap_chunk(reg, run, rr, picks + at, len, &moved);
		at += len;
		/* each deletion queues a rename and an unlink event: take them
		 * out of the kernel queue now, so that a run of any length
		 * never overflows it with its own events (watch.c: held) */
		hk_watch_drain(reg->eng->watch);
		eng_yield(reg->eng);
	}
	if (n >= ENG_REAP_BATCH_MIN && !run->dry_run) {
		int64_t per = (hk_time_mono_ns() - t0) / (int64_t)n;
		int64_t *avg = &reg->eng->reap_file_ns;
		*avg = *avg ? (3 * *avg + per) / 4 : per;
	}
	for (size_t k = 0; k < moved.n; k++) {
		log_info("reap", "%s: a subdirectory left the tree; its files are no longer "
			 "cleaned", reg->conf->directory);
		eng_dir_drop(reg, moved.dirs[k]);
	}
	if (reg->perm_refused > refused0)
		log_info("reap", "%s: %" PRIu64 " files kept: uid %u may not delete them",
			 reg->conf->directory, reg->perm_refused - refused0,
			 (unsigned)reg->conf->owner_uid);
	eng_tally_flush(reg, false);
	return changed;
}

/* Remove from reg's index the files that earlier registrations of this run
 * deleted (real runs), so reg decides on what they left. */
void eng_reg_purge_gone(struct eng_reg *reg, const struct eng_run *run, size_t from)
{
	for (size_t i = from; i < run->n_gone; i++) {
		const struct eng_gone *g = &run->gone[i];
		uint32_t dir;
		if (!eng_dir_find(reg, g->dir_dev, g->dir_ino, &dir))
			continue;
		const char *name = eng_gone_name(run, g);
		struct hk_entry *e = hk_index_get(reg->index, dir, name, strlen(name));
		if (e && hk_entry_ino(e) == g->ino)
			eng_idx_remove_entry(reg, e);
	}
}

static bool eng_reg_may_delete(const struct eng_reg *reg)
{
	return reg->attached && reg->scanned && !reg->scanning;
}

/* The event/timer path leaves a registration alone while a sweep works on
 * it; the sweep enforces what accumulated when it ends. */
bool eng_reg_event_path_ok(const struct eng_reg *reg)
{
	return reg->eng->loop && eng_reg_may_delete(reg) && !reg->sweep;
}

/* unit = directory: the units the policy selects, each deleted whole: its
 * files through eng_reap_batch (intents first, each file re-checked), then
 * its directories bottom-up (engine_units.c). The event path, the timer and
 * sweeps alike (rr: the sweep's report, else NULL). Returns false when the
 * audit trail cannot be written (nothing more deleted). */
bool eng_units_enforce(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr)
{
	struct eng_units us;
	bool ok = true;
	if (!run->dry_run)
		eng_reg_purge_gone(reg, run, 0);
	eng_units_collect(reg, run, &us);
	eng_units_select(reg, run, &us);
	if (rr)
		rr->scanned += us.n;
	for (size_t i = 0; ok && i < us.n; i++) {
		const struct eng_unit *u = &us.u[i];
		if (u->why == HK_REASON_NONE)
			continue;
		struct eng_unit_file *files;
		size_t n_files = eng_unit_files(reg, u->dir, &files);
		struct eng_pick picks[ENG_REAP_BATCH];
		for (size_t at = 0; at < n_files;) {
			size_t n = 0;
			for (; at < n_files && n < ENG_REAP_BATCH; at++) {
				const struct eng_unit_file *f = &files[at];
				struct hk_entry *e = eng_dir_live(reg, f->dir)
							     ? hk_index_get(reg->index, f->dir, f->name,
									    strlen(f->name))
							     : NULL;
				if (!e || hk_entry_ino(e) != f->ino)
					continue;
				if (run->dry_run && run->n_gone && eng_entry_gone_in_run(reg, run, e))
					continue;
				picks[n++] = (struct eng_pick){ .e = hk_index_detach(reg->index, e),
								.why = u->why };
			}
			if (n && eng_reap_batch(reg, run, rr, picks, n) < 0) {
				ok = false;
				break;
			}
		}
		for (size_t k = 0; k < n_files; k++)
			free(files[k].name);
		free(files);
		if (ok)
			eng_unit_remove_dirs(reg, run, rr, u->dir, u->why);
	}
	eng_units_fini(&us);
	return ok;
}

/* Event and timer path: delete the oldest while any policy selects it,
 * in batches of ENG_REAP_BATCH (one audit commit each). */
void eng_reg_enforce(struct eng_reg *reg, struct eng_run *run)
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
	if (reg->conf->unit == HK_UNIT_DIRECTORY) {
		/* aggregated from the whole index: one pass per enforcement */
		eng_units_enforce(reg, run, NULL);
		eng_reg_arm_age(reg);
		return;
	}
	eng_reg_purge_gone(reg, run, 0);
	long changed = 0;
	struct eng_pick picks[ENG_REAP_BATCH];
	int64_t end = hk_time_mono_ns() + ENG_ENFORCE_SLICE_NS;
	size_t picked = 0;   /* files of this slice's batches */
	for (int batches = 0;; batches++) {
		if (picked >= ENG_ENFORCE_SLICE * ENG_REAP_BATCH ||
		    (batches && hk_time_mono_ns() > end)) {
			/* a mass deletion goes on in the next loop iteration, so
			 * signals, events and the socket are served meanwhile */
			reg->dirty = true;
			if (!ev_is_active(&reg->eng->enforce_idle))
				ev_idle_start(reg->eng->loop, &reg->eng->enforce_idle);
			break;
		}
		size_t n = 0, max = eng_batch_size(reg->eng);
		struct hk_entry *e;
		while (n < max && (e = hk_index_oldest(reg->index))) {
			enum hk_reason why = hk_policy_check_oldest(
				&reg->policy, &reg->trim, hk_index_count(reg->index),
				hk_index_bytes(reg->index), hk_entry_key(e), run->now_ns,
				run->age_allowed);
			if (why == HK_REASON_NONE)
				break;
			picks[n++] = (struct eng_pick){ .e = hk_index_detach(reg->index, e), .why = why };
		}
		if (n == 0)
			break;
		picked += n;
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
	/* deletions may have left directories empty: they go once old enough
	 * (the age timer comes back for them) */
	if (reg->conf->remove_empty_dirs &&
	    (picked || (reg->empty_due_ns != INT64_MAX && reg->empty_due_ns <= run->now_ns)))
		reg->empty_due_ns = eng_empty_dirs(reg, run, NULL);
	eng_reg_arm_age(reg);
}

/* Give held files back to the index and enforce again; back off while
 * they keep failing. */
void eng_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	eng_held_return(reg);
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

void eng_age_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	struct eng_run run;
	eng_run_init(&run, reg->eng, false, reg->eng->event_rep);
	eng_reg_enforce(reg, &run);
	eng_run_fini(&run);
}

/* Arm the age timer for the moment the oldest file expires (no polling:
 * nothing is armed when there is nothing to expire). */
void eng_reg_arm_age(struct eng_reg *reg)
{
	struct ev_loop *loop = reg->eng->loop;
	if (!loop)
		return;
	ev_timer_stop(loop, &reg->age_timer);
	if (!eng_reg_may_delete(reg))
		return;
	int64_t expiry = INT64_MAX;
	if (reg->conf->unit == HK_UNIT_DIRECTORY) {
		expiry = eng_units_next_expiry(reg);   /* the oldest unit's newest file */
	} else {
		struct hk_entry *e = hk_index_oldest(reg->index);
		if (e)
			expiry = hk_policy_next_expiry(&reg->policy, hk_entry_key(e));
	}
	if (reg->empty_due_ns < expiry)
		expiry = reg->empty_due_ns;
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
