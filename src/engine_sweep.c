/*
 * engine_sweep.c - runs and sweeps for the job manager, filling their
 * reports (report.h).
 *
 * A sweep revalidates one registration's root, rescans and reconciles it,
 * copies the index into a snapshot, makes it a heap and pops it oldest first
 * as far as the policy selects, reaping as it goes, every phase in slices
 * (SWEEP_SCAN -> SWEEP_COPY -> SWEEP_HEAP -> SWEEP_REAP -> SWEEP_DIRS ->
 * SWEEP_DONE; unit = directory: SWEEP_SCAN -> SWEEP_UNITS -> SWEEP_DIRS).
 *
 * Invariants:
 *  - a registration has at most one sweep (reg->sweep), and the event path
 *    leaves it alone meanwhile;
 *  - a planned file is reaped only if the index still knows it with the same
 *    identity, in the directory the snapshot saw; deletions go through the enforcement path (eng_reap_batch),
 *    audit intents first;
 *  - a dry run reports exactly the files a real run deletes.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "engine.h"
#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "policy.h"
#include "units.h"
#include "util.h"

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

/* The directory identity the snapshot saw for id (grown on first sight). */
static void eng_sweep_note_dir(struct hk_sweep *sw, uint32_t id)
{
	if (id < sw->n_dir_ids)
		return;
	size_t n = (size_t)id + 1;
	sw->dir_ids = hk_xreallocarray(sw->dir_ids, n, sizeof(*sw->dir_ids));
	for (size_t i = sw->n_dir_ids; i < n; i++) {
		const struct eng_dir *d = &sw->reg->dirs[i];
		sw->dir_ids[i] = (struct eng_dir_id){ d->dev, d->ino };
	}
	sw->n_dir_ids = n;
}

static void eng_sweep_copy_one(struct hk_entry *e, void *arg)
{
	struct hk_sweep *sw = arg;
	const struct eng_run *run = sw->run;
	if (run->dry_run && run->n_gone && eng_entry_gone_in_run(sw->reg, run, e))
		return;   /* an earlier registration of this dry run took it */
	eng_sweep_note_dir(sw, hk_entry_dir(e));
	hk_plan_add(&sw->plan, hk_entry_key(e), hk_entry_size(e), hk_entry_ino(e), hk_entry_dir(e),
		    hk_entry_name(e), hk_entry_name_len(e));
}

/* Copies up to budget files of the index into the snapshot; the files that
 * arrive meanwhile are the event path's to judge once the sweep is over.
 * Returns the budget used (at least 1); the phase moves on when done. */
static size_t eng_sweep_copy_some(struct hk_sweep *sw, size_t budget)
{
	struct eng_reg *reg = sw->reg;
	if (sw->copy_next == 0 && !sw->run->dry_run)
		eng_reg_purge_gone(reg, sw->run, 0);
	size_t n = hk_index_walk(reg->index, &sw->copy_next, budget, eng_sweep_copy_one, sw);
	if (n < budget) {
		sw->rr->scanned = sw->plan.n;
		reg->last_run = sw->run->now_ns / HK_NSEC_PER_SEC;
		sw->phase = SWEEP_HEAP;
	}
	return n ? n : 1;
}

/* The free space a sweep of reg projects (min_free): measured before each
 * batch, or for a dry run once, plus what the run's earlier registrations
 * would have freed on the same filesystem. The floor counts as crossed
 * when it was by the free space the run first saw there (before its
 * deletions: as on the event path, every registration whose floor was
 * crossed takes part), or while the event path is on its way to the
 * target. Its turn comes only when no crossed registration before it
 * (a lower priority number) on the filesystem has candidates left; the
 * target is the largest free_target of the crossed ones (eng_free_view). */
static void eng_sweep_free_measure(struct hk_sweep *sw)
{
	struct eng_reg *reg = sw->reg;
	bool first = !sw->free_measured;
	sw->free_measured = true;
	if (!reg->conf->min_free.set || (!first && (!sw->free_on || sw->run->dry_run)))
		return;
	uint64_t total;
	int64_t avail = eng_fs_free(reg->dirs[ENG_ROOT].fd, &total);
	if (avail < 0) {
		sw->free_on = false;
		return;
	}
	struct eng_run_freed *fs = eng_run_fs(sw->run, reg->dirs[ENG_ROOT].dev, avail);
	if (sw->run->dry_run)
		avail += (int64_t)fs->bytes;
	sw->free_base = avail;
	sw->free_planned = 0;
	if (!first)
		return;
	struct eng_free_view v;
	eng_free_view(reg, sw->run, fs->first_free < avail ? fs->first_free : avail, total, &v);
	sw->free_on = v.crossed && !v.earlier_has;
	sw->free_target = v.target;
	sw->free_deferred = v.crossed && v.earlier_has;
	if (sw->free_deferred)
		log_debug("reap", "%s: below min_free, but a registration before it on the "
			  "filesystem has candidates left: its turn first", reg->conf->directory);
}

/* Pops up to budget files oldest first while the policy selects them (SPEC
 * 5: hk_policy_check_oldest on what the snapshot still holds, then
 * min_free while the projected free space is below the target) and reaps
 * those the index still knows as planned (one audit commit); the phase
 * ends when nothing selects more. Returns the budget used. */
static size_t eng_sweep_reap_some(struct hk_sweep *sw, size_t budget)
{
	struct eng_reg *reg = sw->reg;
	struct eng_run *run = sw->run;
	struct hk_plan *plan = &sw->plan;
	struct eng_pick picks[ENG_REAP_BATCH];
	size_t n = 0, used = 0;
	uint64_t picked = 0;
	if (budget > ENG_REAP_BATCH)
		budget = ENG_REAP_BATCH;
	eng_sweep_free_measure(sw);
	while (used < budget) {
		if (plan->heap_n == 0) {
			sw->phase = SWEEP_DONE;
			break;
		}
		/* a real sweep goes on with (and leaves) the registration's trim;
		 * a dry run judges on a copy */
		enum hk_reason why = hk_policy_check_oldest(&reg->policy,
							    run->dry_run ? &sw->trim : &reg->trim,
							    plan->heap_n, plan->heap_bytes,
							    plan->files[0].key_ns, run->now_ns,
							    run->age_allowed);
		if (why == HK_REASON_NONE && sw->free_on &&
		    (uint64_t)sw->free_base + sw->free_planned < sw->free_target)
			why = HK_REASON_FREE;
		if (why == HK_REASON_NONE) {
			sw->phase = SWEEP_DONE;
			break;
		}
		struct hk_plan_file f;
		hk_plan_pop(plan, &f);
		sw->popped++;
		used++;
		const struct eng_dir_id *was = &sw->dir_ids[f.dir];
		if (!eng_dir_live(reg, f.dir) || reg->dirs[f.dir].dev != was->dev ||
		    reg->dirs[f.dir].ino != was->ino)
			continue;   /* its directory went away since the snapshot */
		struct hk_entry *e = hk_index_get(reg->index, f.dir, hk_plan_name(plan, &f), f.name_len);
		if (!e || hk_entry_ino(e) != f.ino)
			continue;   /* deleted or replaced since the snapshot: not ours to judge now */
		picks[n++] = (struct eng_pick){ .e = hk_index_detach(reg->index, e), .why = why };
		sw->free_planned += f.size;
		picked += f.size;
	}
	if (run->dry_run && picked)
		eng_run_fs(run, reg->dirs[ENG_ROOT].dev, -1)->bytes += picked;
	if (eng_reap_batch(reg, run, sw->rr, picks, n) < 0) {
		/* fail closed: the audit trail cannot be written */
		sw->phase = SWEEP_DONE;
		if (!sw->rr->error)
			sw->rr->error = hk_xstrdup("audit trail cannot be written: nothing deleted");
	}
	return used ? used : 1;
}

/* min_free: every floor on the filesystem counts from a run's first
 * measure, so the registrations with one are attached (without a loop, as
 * in --once, a registration is attached only when its sweep starts). */
static void eng_sweep_attach_floors(struct hk_engine *eng)
{
	for (size_t i = 0; !eng->loop && i < eng->n_regs; i++)
		if (eng->regs[i]->conf->min_free.set && !eng->regs[i]->attached)
			eng_reg_attach(eng->regs[i]);
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
	hk_plan_init(&sw->plan);
	sw->reg = reg;
	sw->run = &run->r;
	sw->rr = rr;
	sw->trim = reg->trim;
	rr->free_before = rr->free_after = -1;
	reg->sweep = sw;
	if (reg->attached && !eng_reg_identity_ok(reg)) {
		log_warnx("watch", "%s: no longer the directory that was registered; re-attaching",
			  reg->conf->directory);
		eng_reg_detach(reg);
	}
	if (!reg->attached)
		eng_reg_attach(reg);
	if (reg->conf->min_free.set)
		eng_sweep_attach_floors(eng);
	if (!reg->attached && reg->attach_err == -ENOENT) {
		/* documented as allowed: nothing to clean yet, and no failure */
		rr->waiting = true;
		sw->phase = SWEEP_DONE;
	} else if (!reg->attached) {
		rr->error = hk_xasprintf("directory cannot be opened: %s", hk_strerror(reg->attach_err));
		sw->phase = SWEEP_DONE;
	} else {
		rr->free_before = eng_fs_free(reg->dirs[ENG_ROOT].fd, NULL);
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
		if (!reg->attached) {
			/* what was reaped stays reaped; an unfinished plan is an error */
			if (sw->phase != SWEEP_REAP)
				sw->rr->error = hk_xstrdup("directory went away during the sweep");
			sw->phase = SWEEP_DONE;
			break;
		}
		size_t used = budget;
		switch (sw->phase) {
		case SWEEP_SCAN:
			used = reg->scanning ? eng_scan_step(reg, budget) : 0;
			sw->rr->scanned += used;   /* progress; the copy sets the count */
			if (!reg->scanning)
				sw->phase = reg->conf->unit == HK_UNIT_DIRECTORY ? SWEEP_UNITS
										 : SWEEP_COPY;
			break;
		case SWEEP_COPY:
			used = eng_sweep_copy_some(sw, budget);
			break;
		case SWEEP_HEAP:   /* a sift-down per unit: the step's share is spent */
			if (hk_plan_heapify_step(&sw->plan, budget))
				sw->phase = SWEEP_REAP;
			break;
		case SWEEP_REAP:
			used = eng_sweep_reap_some(sw, budget);
			if (sw->phase == SWEEP_DONE && !sw->rr->error)
				sw->phase = SWEEP_DIRS;
			break;
		case SWEEP_UNITS:
			/* not sliced: the units are aggregated from the whole index */
			reg->last_run = sw->run->now_ns / HK_NSEC_PER_SEC;
			sw->phase = SWEEP_DIRS;
			if (!eng_units_enforce(reg, sw->run, sw->rr)) {
				sw->phase = SWEEP_DONE;
				if (!sw->rr->error)
					sw->rr->error = hk_xstrdup("audit trail cannot be written: "
								   "nothing deleted");
			}
			break;
		case SWEEP_DIRS:
			reg->empty_due_ns = eng_empty_dirs(reg, sw->run, sw->rr);
			sw->phase = SWEEP_DONE;
			break;
		case SWEEP_DONE:
			break;
		}
		budget = used >= budget ? 0 : budget - used;
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
	if (reg && sw->phase == SWEEP_DONE) {
		reg->runs++;
		if (!sw->rr->error && sw->rr->errors == 0)
			reg->last_success = sw->run->now_ns / HK_NSEC_PER_SEC;
	}
	if (reg && reg->attached && sw->rr->free_before >= 0)
		sw->rr->free_after = eng_fs_free(reg->dirs[ENG_ROOT].fd, NULL);
	bool sw_dry = sw->run->dry_run;
	hk_plan_fini(&sw->plan);
	free(sw->dir_ids);
	free(sw);
	if (!reg)
		return;
	reg->sweep = NULL;
	eng_tally_flush(reg, !reg->eng->loop);   /* --once: one line per registration */
	eng_reg_arm_age(reg);
	if (reg->conf->min_free.set && !sw_dry)
		eng_free_recheck(reg->eng);   /* a deferred turn, or those that waited */
	/* events that arrived meanwhile are enforced now */
	struct eng_run run;
	eng_run_init(&run, reg->eng, false, reg->eng->event_rep);
	eng_reg_enforce(reg, &run);
	eng_run_fini(&run);
}
