/*
 * engine_sweep.c - runs and sweeps for the job manager, filling their
 * reports (report.h).
 *
 * A sweep revalidates one registration's root, rescans and reconciles it,
 * plans with the batch policy on a sorted snapshot, then reaps the plan in
 * slices (SWEEP_SCAN -> SWEEP_PLAN -> SWEEP_REAP -> SWEEP_DONE).
 *
 * Invariants:
 *  - a registration has at most one sweep (reg->sweep), and the event path
 *    leaves it alone meanwhile;
 *  - a planned file is reaped only if the index still knows it with the same
 *    identity; deletions go through the enforcement path (eng_reap_batch),
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

/* Free bytes of the filesystem of fd (-1 when unknown). */
static int64_t eng_fs_free(int fd)
{
	struct statvfs vfs;
	if (fd < 0 || fstatvfs(fd, &vfs) < 0)
		return -1;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
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
		files[m].key_ns = hk_entry_key(sorted[i]);
		files[m].size = hk_entry_size(sorted[i]);
		m++;
	}
	sw->rr->scanned = m;
	size_t k = hk_policy_select(&reg->policy, files, m, run->now_ns, run->age_allowed, why);
	sw->victims = hk_xcalloc(k ? k : 1, sizeof(*sw->victims));
	for (size_t i = 0; i < k; i++) {
		const struct hk_entry *e = sorted[i];
		const struct eng_dir *d = &reg->dirs[hk_entry_dir(e)];
		sw->victims[i] = (struct eng_victim){ hk_entry_dir(e), d->dev, d->ino,
						      hk_entry_ino(e), why[i],
						      hk_xstrdup(hk_entry_name(e)) };
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
		if (!e || hk_entry_ino(e) != v->ino)
			continue;   /* deleted or replaced since the plan: not ours to judge now */
		picks[n++] = (struct eng_pick){ .e = hk_index_detach(reg->index, e), .why = v->why };
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
	if (!reg->attached && reg->attach_err == -ENOENT) {
		/* documented as allowed: nothing to clean yet, and no failure */
		rr->waiting = true;
		sw->phase = SWEEP_DONE;
	} else if (!reg->attached) {
		rr->error = hk_xasprintf("directory cannot be opened: %s", hk_strerror(reg->attach_err));
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
			if (reg->scanning) {
				size_t used = eng_scan_step(reg, budget);
				sw->rr->scanned += used;   /* progress; the plan sets the count */
				budget -= used;
			}
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
	if (reg && sw->phase == SWEEP_DONE) {
		reg->runs++;
		if (!sw->rr->error && sw->rr->errors == 0)
			reg->last_success = sw->run->now_ns / HK_NSEC_PER_SEC;
	}
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
