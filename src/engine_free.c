/*
 * engine_free.c - free space across registrations (SPEC 5: min_free and
 * free_target) on the event and timer path, and the free-space measure
 * that sweeps and reports share.
 *
 * Registrations are grouped by the filesystem of their root (its st_dev).
 * A registration's floor is crossed when the filesystem's free space
 * (f_bavail * f_frsize, as the reports count it) is below its min_free;
 * it stays active (hysteresis, reg->free_active) until free space reaches
 * its free_target. While registrations of a filesystem are active, the
 * filesystem is short of the largest (target - free) among them, and the
 * active ones give up their oldest candidates in the engine's priority
 * order (lower number first, ties by name): the next one is touched only
 * when the one before has no candidates left in its index, and not while
 * a crossed one before it is not ready (its scan, a rescan or a sweep
 * runs; the end of each checks free space again). A sweep of one
 * registration follows the same rule (eng_free_view): it deletes for
 * free space only when no crossed registration before it on the
 * filesystem has candidates left, down to the largest free_target among
 * the crossed ones, as the event path does.
 *
 * Invariants:
 *  - deletions go through eng_reap_batch (audit intents first, then
 *    hk_reap_file), oldest first, with reason HK_REASON_FREE;
 *  - free space is measured again after each batch (a batch is the oldest
 *    files whose sizes cover the shortfall, at most ENG_REAP_BATCH):
 *    deleting may free nothing at once (a file still open on ext4), so a
 *    registration is passed over once its candidates are gone, never by
 *    waiting for the space to show;
 *  - only registrations the event path may delete in take part (scanned,
 *    attached, no sweep running, not read-only or dry-run); files outside
 *    every registration are never candidates;
 *  - work is bounded per loop iteration (ENG_ENFORCE_SLICE batches, or
 *    ENG_ENFORCE_SLICE_NS): the rest goes on from the enforce idle watcher
 *    (eng->free_pending);
 *  - the periodic check (every ENG_FREE_PERIOD s, for space taken by
 *    writes outside any registration) exists only while some registration
 *    has min_free: without one the daemon makes no periodic wake-up
 *    (SPEC 6).
 * Calls go down only, to engine_enforce.c and what it calls.
 */
#include "autoconfig.h"

#include <ev.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "policy.h"
#include "units.h"
#include "util.h"

int64_t eng_fs_free(int fd, uint64_t *total)
{
	struct statvfs vfs;
	if (total)
		*total = 0;
	if (fd < 0 || fstatvfs(fd, &vfs) < 0)
		return -1;
	if (total)
		*total = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

void eng_free_limits(const struct eng_reg *reg, uint64_t total, uint64_t *min_free,
		     uint64_t *target)
{
	const struct hk_registration *c = reg->conf;
	*min_free = hk_space_bytes(&c->min_free, total);
	*target = c->free_target.set ? hk_space_bytes(&c->free_target, total) : *min_free;
	if (*target < *min_free)
		*target = *min_free;
}

static bool eng_free_member(const struct eng_reg *reg)
{
	return reg->conf->min_free.set && eng_reg_event_path_ok(reg);
}

/* Is reg's floor crossed at avail, its hysteresis as the event path left
 * it (reg->free_active is not changed)? *target: its free_target. */
static bool eng_free_crossed(const struct eng_reg *reg, int64_t avail, uint64_t total,
			     uint64_t *target)
{
	uint64_t lo;
	bool on = reg->free_active;
	eng_free_limits(reg, total, &lo, target);
	hk_policy_free_short(avail, lo, *target, &on);
	return on;
}

struct eng_cand_walk {
	const struct eng_reg *reg;
	const struct eng_run *run;
	bool found;
};

static void eng_cand_cb(struct hk_entry *e, void *arg)
{
	struct eng_cand_walk *w = arg;
	if (!w->run || !w->run->n_gone || !eng_entry_gone_in_run(w->reg, w->run, e))
		w->found = true;
}

/* Has reg a candidate left (an indexed file that run did not take)? One
 * that is not ready (its scan, a rescan or a sweep runs) counts as having
 * some: its turn is not over before it could take it. */
static bool eng_free_has_candidates(const struct eng_reg *reg, const struct eng_run *run)
{
	if (!reg->scanned || reg->scanning || reg->sweep)
		return true;
	struct eng_cand_walk w = { reg, run, false };
	uint32_t next = 0;
	while (!w.found && hk_index_walk(reg->index, &next, 64, eng_cand_cb, &w) == 64)
		;
	return w.found;
}

void eng_free_view(const struct eng_reg *reg, const struct eng_run *run, int64_t avail,
		   uint64_t total, struct eng_free_view *v)
{
	const struct hk_engine *eng = reg->eng;
	uint64_t dev = reg->dirs[ENG_ROOT].dev;
	*v = (struct eng_free_view){ .crossed = false };
	/* the floors crossed, and the largest target among them */
	for (size_t i = 0; i < eng->n_regs; i++) {
		const struct eng_reg *r = eng->regs[i];
		uint64_t hi;
		if (r->conf->min_free.set && r->attached && r->dirs[ENG_ROOT].dev == dev &&
		    eng_free_crossed(r, avail, total, &hi) && hi > v->target)
			v->target = hi;
	}
	if (v->target == 0)
		return;
	/* taking part: crossed, or still giving while another one is short
	 * (as the event path keeps them, eng_free_turn) */
	for (size_t i = 0; i < eng->n_regs && eng->regs[i] != reg; i++) {
		const struct eng_reg *r = eng->regs[i];
		uint64_t hi;
		if (!r->conf->min_free.set || !r->attached || r->dirs[ENG_ROOT].dev != dev ||
		    !(r->free_active || eng_free_crossed(r, avail, total, &hi)))
			continue;
		v->earlier_bytes += hk_index_bytes(r->index);
		v->earlier_has = v->earlier_has || eng_free_has_candidates(r, run);
	}
	uint64_t hi;
	v->crossed = reg->free_active || eng_free_crossed(reg, avail, total, &hi);
}

/* Set aside and delete reg's oldest candidates until their sizes cover
 * short_bytes (at least one file, at most ENG_REAP_BATCH). Returns how many
 * were picked (0: reg has no candidates left); *failed when the audit
 * trail could not be written (nothing was deleted). */
static size_t eng_free_batch(struct eng_reg *reg, struct eng_run *run, uint64_t short_bytes,
			     bool *failed)
{
	struct eng_pick picks[ENG_REAP_BATCH];
	size_t n = 0;
	uint64_t sum = 0;
	struct hk_entry *e;
	eng_reg_purge_gone(reg, run, 0);   /* what earlier registrations took */
	while (n < ENG_REAP_BATCH && sum < short_bytes && (e = hk_index_oldest(reg->index))) {
		sum += hk_entry_size(e);
		picks[n++] = (struct eng_pick){ .e = hk_index_detach(reg->index, e),
						.why = HK_REASON_FREE };
	}
	if (n && eng_reap_batch(reg, run, NULL, picks, n) < 0)
		*failed = true;
	return n;
}

void eng_free_recheck(struct hk_engine *eng)
{
	if (!eng->loop)
		return;
	eng->free_pending = true;
	if (!ev_is_active(&eng->enforce_idle))
		ev_idle_start(eng->loop, &eng->enforce_idle);
}

/* One measurement of the filesystem of regs[first]: the members' floors
 * updated, *need the largest shortfall among them, and whose turn it is
 * (SIZE_MAX: nobody's, or a crossed one before it is not ready). A
 * member whose floor was crossed stays active while another member is
 * short: it gives up its candidates until every target is reached, and
 * the next one is touched only when it has none left (SPEC 5). */
static size_t eng_free_turn(struct hk_engine *eng, size_t first, size_t from, int64_t avail,
			    uint64_t total, bool *seen, uint64_t *need)
{
	uint64_t dev = eng->regs[first]->dirs[ENG_ROOT].dev;
	size_t src = SIZE_MAX;
	bool waiting = false;
	*need = 0;
	for (size_t j = first; j < eng->n_regs; j++) {
		struct eng_reg *r = eng->regs[j];
		uint64_t lo, hi;
		if (!r->conf->min_free.set || !r->attached || r->dirs[ENG_ROOT].dev != dev)
			continue;
		seen[j] = true;
		if (!eng_free_member(r)) {
			/* its scan or sweep runs: those after it wait for its
			 * turn (its end checks free space again) */
			if (src == SIZE_MAX && eng_free_crossed(r, avail, total, &hi))
				waiting = true;
			continue;
		}
		bool was = r->free_active;
		eng_free_limits(r, total, &lo, &hi);
		uint64_t sh = hk_policy_free_short(avail, lo, hi, &r->free_active);
		if (sh > *need)
			*need = sh;
		r->free_active = r->free_active || was;   /* reset below once none is short */
		if (r->free_active && j >= from && src == SIZE_MAX && !waiting)
			src = j;
	}
	for (size_t j = first; *need == 0 && j < eng->n_regs; j++)
		if (eng_free_member(eng->regs[j]) && eng->regs[j]->dirs[ENG_ROOT].dev == dev)
			eng->regs[j]->free_active = false;
	return *need ? src : SIZE_MAX;
}

/* The filesystem of regs[first] (and every later member on it): measure,
 * delete a batch from the registration whose turn it is, repeat. Returns
 * false when the slice is spent (the rest is pending). */
static bool eng_free_fs(struct hk_engine *eng, struct eng_run *run, size_t first, bool *seen,
			size_t *batches, int64_t end)
{
	const struct eng_reg *lead = eng->regs[first];
	size_t from = first;   /* members before it have no candidates left */
	for (;;) {
		uint64_t total, need;
		int64_t avail = eng_fs_free(lead->dirs[ENG_ROOT].fd, &total);
		size_t src = eng_free_turn(eng, first, from, avail, total, seen, &need);
		if (src == SIZE_MAX)
			return true;
		if (*batches >= ENG_ENFORCE_SLICE ||
		    (*batches && hk_time_mono_ns() > end)) {
			eng_free_recheck(eng);
			return false;
		}
		bool failed = false;
		size_t n = eng_free_batch(eng->regs[src], run, need, &failed);
		if (failed)
			return false;
		if (n == 0) {
			from = src + 1;   /* no candidates left: the next one's turn */
			continue;
		}
		(*batches)++;
	}
}

void eng_free_enforce(struct hk_engine *eng, struct eng_run *run)
{
	const struct hk_scheduler_settings *s = &eng->cfg->scheduler;
	eng->free_pending = false;
	if (!eng->loop || s->housekeeper_read_only || s->housekeeper_dry_run || eng->n_regs == 0)
		return;
	bool *seen = hk_xcalloc(eng->n_regs, sizeof(*seen));
	size_t batches = 0;
	int64_t end = hk_time_mono_ns() + ENG_ENFORCE_SLICE_NS;
	for (size_t i = 0; i < eng->n_regs; i++) {
		const struct eng_reg *r = eng->regs[i];
		if (seen[i] || !r->conf->min_free.set || !r->attached)
			continue;
		if (!eng_free_fs(eng, run, i, seen, &batches, end))
			break;
	}
	free(seen);
}

struct eng_run_freed *eng_run_fs(struct eng_run *run, uint64_t dev, int64_t avail)
{
	for (size_t i = 0; i < run->n_freed; i++)
		if (run->freed[i].dev == dev)
			return &run->freed[i];
	run->freed = hk_xreallocarray(run->freed, run->n_freed + 1, sizeof(*run->freed));
	run->freed[run->n_freed] = (struct eng_run_freed){ .dev = dev, .first_free = avail };
	return &run->freed[run->n_freed++];
}

static void eng_free_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hk_engine *eng = w->data;
	struct eng_run run;
	eng_run_init(&run, eng, false, eng->event_rep);
	eng_free_enforce(eng, &run);
	eng_run_fini(&run);
}

void eng_free_arm(struct hk_engine *eng)
{
	if (!eng->loop)
		return;
	if (!eng->free_timer_init) {
		ev_timer_init(&eng->free_timer, eng_free_timer_cb, ENG_FREE_PERIOD, ENG_FREE_PERIOD);
		eng->free_timer.data = eng;
		eng->free_timer_init = true;
	}
	bool want = false;
	for (size_t i = 0; i < eng->n_regs && !want; i++)
		want = eng->regs[i]->conf->min_free.set;
	if (want && !ev_is_active(&eng->free_timer)) {
		ev_timer_start(eng->loop, &eng->free_timer);
		log_info("sched", "free space: checked every %.0f s while a registration has "
			 "min_free", ENG_FREE_PERIOD);
	} else if (!want && ev_is_active(&eng->free_timer)) {
		ev_timer_stop(eng->loop, &eng->free_timer);
		log_info("sched", "free space: no registration has min_free; the periodic "
			 "check is stopped");
	}
}

void eng_free_fini(struct hk_engine *eng)
{
	if (eng->loop && eng->free_timer_init)
		ev_timer_stop(eng->loop, &eng->free_timer);
}
