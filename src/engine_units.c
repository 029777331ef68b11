/*
 * engine_units.c - whole directories: the units of a `unit = directory`
 * registration and the removal of directories (a selected unit's, bottom-up;
 * the empty ones of `remove_empty_dirs`).
 *
 * A unit-mode registration is indexed like a recursive one below the
 * subdirectories of its root whose names match (engine_dirs.c:
 * eng_subdir_matches, eng_file_matches): every regular file of a unit is an
 * index entry, each directory of it a slot of the directory table (opened
 * with O_NOFOLLOW, never across a mount). The units are aggregated from the
 * index when the policy runs: a unit's age key is its newest file's, its
 * size the sum of its files; a unit with no indexed file has its
 * directory's mtime as age key and counts for age only (a unit whose files
 * are held by a lock is not counted twice, nor replaced by a live one).
 * The files of a selected unit go through eng_reap_batch (engine_enforce.c,
 * audit intents first); only then are its directories removed here.
 *
 * Invariants:
 *  - a directory is removed only with unlinkat(AT_REMOVEDIR) by name in its
 *    pinned parent fd, after the chain of names up to the root was checked
 *    (eng_dir_in_tree) and the name was found to be the same directory
 *    (dev, ino) on the root's mount and not a mount point; never the root,
 *    never one of the daemon's own (engine_guard.c), never in a dry run;
 *  - a directory that is not empty by then stays, and so do its parents;
 *  - no removal without its audit intent committed first, as for files
 *    (engine_enforce.c): the directories a pass decided on are planned
 *    bottom-up, their intents committed in one transaction (fail closed),
 *    then each is removed and its intent completed, or dropped when it
 *    stayed; a crash in between leaves intents that the next start settles
 *    by whether the directory is still there (state.c).
 * Calls engine_dirs.c, engine_guard.c and engine_paths.c, nothing above.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "policy.h"
#include "report.h"
#include "scan.h"
#include "store.h"
#include "util.h"

#define ENG_EMPTY_DIR_AGE_NS (60 * HK_NSEC_PER_SEC)   /* without retention */

static int64_t eng_sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Units ------------------------------------------------------------------- */

/* The unit (a child of the root) directory dir is in; ENG_ROOT for the root. */
static uint32_t eng_unit_of(const struct eng_reg *reg, uint32_t dir)
{
	while (dir != ENG_ROOT && reg->dirs[dir].parent != ENG_ROOT)
		dir = reg->dirs[dir].parent;
	return dir;
}

struct eng_units_walk {
	struct eng_reg *reg;
	const struct eng_run *run;
	uint32_t *slot;    /* by directory id: index into units, UINT32_MAX none */
	struct eng_units *us;
};

static void eng_units_add_cb(struct hk_entry *e, void *arg)
{
	struct eng_units_walk *w = arg;
	uint32_t dir = hk_entry_dir(e);
	if (dir >= w->reg->n_dirs || w->slot[dir] == UINT32_MAX)
		return;
	if (w->run && w->run->n_gone && eng_entry_gone_in_run(w->reg, w->run, e))
		return;   /* an earlier registration of this run took it */
	struct eng_unit *u = &w->us->u[w->slot[dir]];
	if (u->files == 0 || hk_entry_key(e) > u->key_ns)
		u->key_ns = hk_entry_key(e);
	u->files++;
	u->bytes += hk_entry_size(e);
}

static int eng_unit_cmp(const void *a, const void *b, void *arg)
{
	const struct eng_unit *x = a, *y = b;
	const struct eng_reg *reg = arg;
	if (x->key_ns != y->key_ns)
		return x->key_ns < y->key_ns ? -1 : 1;
	return strcmp(reg->dirs[x->dir].name, reg->dirs[y->dir].name);
}

void eng_units_collect(struct eng_reg *reg, const struct eng_run *run, struct eng_units *us)
{
	memset(us, 0, sizeof(*us));
	if (reg->n_dirs == 0)
		return;
	uint32_t *slot = hk_xcalloc(reg->n_dirs, sizeof(*slot));
	us->u = hk_xcalloc(reg->n_dirs, sizeof(*us->u));
	for (size_t i = 0; i < reg->n_dirs; i++) {
		slot[i] = UINT32_MAX;
		if (i == ENG_ROOT || reg->dirs[i].fd < 0 || reg->dirs[i].parent != ENG_ROOT)
			continue;
		slot[i] = (uint32_t)us->n;
		us->u[us->n++] = (struct eng_unit){ .dir = (uint32_t)i };
	}
	/* every directory of a unit maps to its unit's slot */
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (reg->dirs[i].fd >= 0 && reg->dirs[i].parent != ENG_ROOT)
			slot[i] = slot[eng_unit_of(reg, (uint32_t)i)];
	struct eng_units_walk w = { reg, run, slot, us };
	uint32_t next = 0;
	while (hk_index_walk(reg->index, &next, 4096, eng_units_add_cb, &w) == 4096)
		;
	free(slot);
	const struct hk_cred *prev;
	bool as = eng_as_owner(reg, &prev);
	for (size_t i = 0; i < us->n; i++) {
		struct eng_unit *u = &us->u[i];
		struct hk_stat st;
		if (u->files == 0)
			u->key_ns = as && hk_stat_fd(reg->dirs[u->dir].fd, &st) == 0 ? st.mtime_ns
										: INT64_MAX;
	}
	if (as)
		eng_as(prev);
	qsort_r(us->u, us->n, sizeof(*us->u), eng_unit_cmp, reg);
}

void eng_units_select(const struct eng_reg *reg, const struct eng_run *run, struct eng_units *us)
{
	size_t count = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < us->n; i++) {
		if (us->u[i].files) {
			count++;
			bytes += us->u[i].bytes;
		}
	}
	/* units with files: oldest first while a policy selects (SPEC 5); a
	 * limit exceeded is trimmed to low_watermark within this selection */
	struct hk_policy_trim trim = { false, false };
	for (size_t i = 0; i < us->n; i++) {
		struct eng_unit *u = &us->u[i];
		if (u->files == 0)
			continue;
		u->why = hk_policy_check_oldest(&reg->policy, &trim, count, bytes, u->key_ns,
						run->now_ns, run->age_allowed);
		if (u->why == HK_REASON_NONE)
			break;
		count--;
		bytes -= u->bytes;
	}
	/* empty ones by age alone */
	for (size_t i = 0; i < us->n; i++) {
		struct eng_unit *u = &us->u[i];
		if (u->files == 0 && u->key_ns != INT64_MAX &&
		    hk_policy_check_oldest(&reg->policy, NULL, 1, 0, u->key_ns, run->now_ns,
					   run->age_allowed) == HK_REASON_AGE &&
		    reg->policy.retention_ns > 0)
			u->why = HK_REASON_AGE;
	}
}

int64_t eng_units_next_expiry(struct eng_reg *reg)
{
	struct eng_units us;
	eng_units_collect(reg, NULL, &us);
	int64_t oldest = INT64_MAX;
	for (size_t i = 0; i < us.n; i++)
		if (us.u[i].key_ns < oldest)
			oldest = us.u[i].key_ns;
	eng_units_fini(&us);
	return oldest == INT64_MAX ? INT64_MAX : hk_policy_next_expiry(&reg->policy, oldest);
}

void eng_units_fini(struct eng_units *us)
{
	free(us->u);
	us->u = NULL;
	us->n = 0;
}

struct eng_keys_walk {
	const struct eng_reg *reg;
	uint32_t unit;
	struct eng_unit_file *f;
	size_t n, cap;
};

static void eng_unit_files_cb(struct hk_entry *e, void *arg)
{
	struct eng_keys_walk *w = arg;
	uint32_t dir = hk_entry_dir(e);
	if (dir == ENG_ROOT || dir >= w->reg->n_dirs || eng_unit_of(w->reg, dir) != w->unit)
		return;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->f = hk_xreallocarray(w->f, w->cap, sizeof(*w->f));
	}
	w->f[w->n++] = (struct eng_unit_file){ dir, hk_xstrdup(hk_entry_name(e)),
					       hk_entry_ino(e) };
}

size_t eng_unit_files(const struct eng_reg *reg, uint32_t unit, struct eng_unit_file **out)
{
	struct eng_keys_walk w = { reg, unit, NULL, 0, 0 };
	uint32_t next = 0;
	while (hk_index_walk(reg->index, &next, 4096, eng_unit_files_cb, &w) == 4096)
		;
	*out = w.f;
	return w.n;
}

/* Directories ------------------------------------------------------------- */

static void eng_dir_report(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			   const char *path, int64_t mtime_ns, enum hk_reason why,
			   enum hk_reap_outcome outcome, int err)
{
	struct hk_report_file *f = eng_report_slot(run);
	if (!f)
		return;
	*f = (struct hk_report_file){
		.path = hk_xasprintf("%s/", path),
		.mtime_ns = mtime_ns,
		.reason = why,
		.outcome = outcome,
		.err = err,
	};
	memcpy(f->reg_id, rr ? rr->id : reg->conf->id, sizeof(f->reg_id));
}

/* The path of directory id as its audit records name it: "DIR/". */
static char *eng_dir_audit_path(const struct eng_reg *reg, uint32_t id)
{
	const struct eng_dir *d = &reg->dirs[id];
	char *path = eng_file_path(reg, d->parent, d->name);
	char *p = hk_xasprintf("%s/", path);
	free(path);
	return p;
}

/* A dry run under housekeeper_dry_run leaves a record per directory it
 * would remove; a manual dry run stores nothing but its job and report. */
static void eng_dir_audit_dry(struct eng_reg *reg, struct eng_run *run, uint32_t id,
			      int64_t mtime_ns, const char *reason)
{
	struct hk_store *store = reg->eng->store;
	if (!store || !reg->eng->cfg->scheduler.housekeeper_dry_run)
		return;
	char *p = eng_dir_audit_path(reg, id);
	struct hk_store_audit rec = {
		.time_ns = run->now_ns,
		.reg_id = reg->conf->id,
		.path = p,
		.path_len = strlen(p),
		.mtime_ns = mtime_ns,
		.reason = reason,
		.dry_run = true,
		.state = HK_STORE_AUDIT_DONE,
		.outcome = "would-delete",
	};
	uint64_t rid;
	hk_store_audit_add(store, &rec, &rid);
	free(p);
}

/* Commit the audit intents of the directories planned (real runs with a
 * store; ids_out[i] 0 otherwise). Fail closed: false when they cannot be
 * written, and nothing is removed. */
static bool eng_dir_intents(struct eng_reg *reg, struct eng_run *run, const uint32_t *ids,
			    size_t n, const char *reason, uint64_t *ids_out)
{
	struct hk_store *store = reg->eng->store;
	memset(ids_out, 0, n * sizeof(*ids_out));
	if (!store || run->dry_run || n == 0)
		return true;
	struct hk_store_audit *recs = hk_xcalloc(n, sizeof(*recs));
	char **paths = hk_xcalloc(n, sizeof(*paths));
	const struct hk_cred *prev;
	bool as = eng_as_owner(reg, &prev);
	for (size_t i = 0; i < n; i++) {
		struct hk_stat st;
		paths[i] = eng_dir_audit_path(reg, ids[i]);
		recs[i] = (struct hk_store_audit){
			.time_ns = run->now_ns,
			.reg_id = reg->conf->id,
			.path = paths[i],
			.path_len = strlen(paths[i]),
			.mtime_ns = as && hk_stat_fd(reg->dirs[ids[i]].fd, &st) == 0 ? st.mtime_ns : 0,
			.reason = reason,
			.ino = reg->dirs[ids[i]].ino,
		};
	}
	if (as)
		eng_as(prev);
	int r = hk_store_audit_intent(store, recs, n, ids_out);
	if (r != 0) {
		memset(ids_out, 0, n * sizeof(*ids_out));
		log_warnx("store", "%s: cannot record the audit trail (%s): no directory removed",
			  reg->conf->directory, hk_strerror(r));
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(recs);
	return r == 0;
}

/* Does directory fd hold nothing but the names of children of id that
 * this pass removed (or, dry, would remove)? */
static bool eng_dir_empty(const struct eng_reg *reg, uint32_t id, const bool *gone)
{
	int fd = openat(reg->dirs[id].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		empty = false;
		for (size_t i = 1; gone && i < reg->n_dirs; i++)
			if (gone[i] && reg->dirs[i].parent == id && reg->dirs[i].name &&
			    strcmp(reg->dirs[i].name, de->d_name) == 0)
				empty = true;
	}
	closedir(d);
	return empty;
}

/* eng_dir_remove without its audit record and table entry. */
static bool eng_dir_remove_at(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			      uint32_t id, enum hk_reason why, const char *reason)
{
	if (id == ENG_ROOT || !eng_dir_live(reg, id))
		return false;
	struct eng_dir *d = &reg->dirs[id];
	uint32_t parent = d->parent;
	if (!eng_dir_live(reg, parent) || eng_own_entry(reg, parent, d->name))
		return false;
	const struct hk_cred *prev;
	if (!eng_as_owner(reg, &prev))
		return false;
	bool ok = false;
	struct hk_stat st;
	char *path = eng_file_path(reg, parent, d->name);
	if (!eng_dir_in_tree(reg, id) || hk_stat_at(reg->dirs[parent].fd, d->name, &st) < 0 ||
	    !S_ISDIR(st.mode) || st.dev != d->dev || st.ino != d->ino || st.mount_root ||
	    !hk_stat_on_mount(&st, reg->dirs[ENG_ROOT].dev, reg->root_mnt_id)) {
		log_info("reap", "%s: directory changed under us; kept", path);
		goto out;
	}
	if (run->dry_run) {
		ok = true;
		eng_dir_report(reg, run, rr, path, st.mtime_ns, why, HK_REAP_WOULD_DELETE, 0);
		eng_dir_audit_dry(reg, run, id, st.mtime_ns, reason);
		goto out;
	}
	if (unlinkat(reg->dirs[parent].fd, d->name, AT_REMOVEDIR) < 0) {
		int err = -errno;
		if (err == -ENOTEMPTY || err == -EEXIST)
			log_debug("reap", "%s: directory not empty; kept", path);
		else
			log_info("reap", "%s: directory kept: %s", path, hk_strerror(err));
		goto out;
	}
	ok = true;
	log_debug("reap", "%s: directory removed (%s)", path, reason);
	eng_dir_report(reg, run, rr, path, st.mtime_ns, why, HK_REAP_DELETED, 0);
out:
	eng_as(prev);
	free(path);
	return ok;
}

/* Remove directory id (not the root) by name in its parent, as the owner,
 * after the checks of the invariants; its intent audit_id (0: none) is
 * completed when it went, else dropped. Returns true when it is gone (or,
 * in a dry run, would be). */
static bool eng_dir_remove(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			   uint32_t id, enum hk_reason why, const char *reason, uint64_t audit_id)
{
	struct hk_store *store = reg->eng->store;
	bool ok = eng_dir_remove_at(reg, run, rr, id, why, reason);
	if (store && audit_id) {
		if (ok)
			hk_store_audit_complete(store, audit_id, "deleted", 0);
		else
			hk_store_audit_drop(store, audit_id);
	}
	if (ok && !run->dry_run)
		eng_dir_drop(reg, id);
	return ok;
}

/* Directories planned for removal, children before their parents. */
struct eng_dir_plan {
	uint32_t *ids;
	size_t n;
};

static void eng_plan_add(struct eng_dir_plan *p, uint32_t id)
{
	p->ids = hk_xreallocarray(p->ids, p->n + 1, sizeof(*p->ids));
	p->ids[p->n++] = id;
}

/* Remove the planned directories in their order, intents first (fail
 * closed). A directory whose child stayed is not empty: the kernel keeps
 * it. Returns false when the intents could not be written. */
static bool eng_plan_remove(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			    const struct eng_dir_plan *p, enum hk_reason why, const char *reason,
			    bool *gone)
{
	uint64_t *audit = hk_xcalloc(p->n ? p->n : 1, sizeof(*audit));
	bool ok = eng_dir_intents(reg, run, p->ids, p->n, reason, audit);
	for (size_t i = 0; ok && i < p->n; i++) {
		bool went = eng_dir_remove(reg, run, rr, p->ids[i], why, reason, audit[i]);
		if (gone)
			gone[p->ids[i]] = went;
	}
	free(audit);
	return ok;
}

/* Post-order over the live subtree of id: children first. */
static void eng_tree_plan(const struct eng_reg *reg, uint32_t id, struct eng_dir_plan *p)
{
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (i != id && reg->dirs[i].fd >= 0 && reg->dirs[i].parent == id)
			eng_tree_plan(reg, (uint32_t)i, p);
	eng_plan_add(p, id);
}

bool eng_unit_remove_dirs(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			  uint32_t unit, enum hk_reason why)
{
	if (unit == ENG_ROOT || !eng_dir_live(reg, unit) || reg->dirs[unit].parent != ENG_ROOT)
		return false;
	struct eng_dir_plan p = { NULL, 0 };
	eng_tree_plan(reg, unit, &p);
	bool *gone = hk_xcalloc(reg->n_dirs, sizeof(*gone));
	eng_plan_remove(reg, run, rr, &p, why, hk_reason_name(why), gone);
	bool ok = gone[unit];
	free(gone);
	free(p.ids);
	return ok;
}

struct eng_empty {
	int64_t *mtime;   /* by id; INT64_MAX: unknown */
	bool *gone;       /* planned for removal */
	struct eng_dir_plan plan;
	int64_t cutoff;   /* older than this (strictly): removable */
	int64_t due;      /* the earliest moment another one becomes removable */
	int64_t age_ns;
};

/* Plan the removal of the old empty directories of id's subtree (empty
 * but for planned children), deepest first. */
static bool eng_empty_pass(struct eng_reg *reg, struct eng_empty *x, uint32_t id)
{
	bool all = true;
	for (size_t i = 1; i < reg->n_dirs; i++)
		if (i != id && reg->dirs[i].fd >= 0 && reg->dirs[i].parent == id)
			all = eng_empty_pass(reg, x, (uint32_t)i) && all;
	if (id == ENG_ROOT || !all || x->mtime[id] == INT64_MAX)
		return false;
	if (!eng_dir_empty(reg, id, x->gone))
		return false;
	if (x->mtime[id] >= x->cutoff) {
		int64_t at = eng_sat_add(x->mtime[id], x->age_ns);
		if (at < x->due)
			x->due = at;
		return false;
	}
	x->gone[id] = true;
	eng_plan_add(&x->plan, id);
	return true;
}

int64_t eng_empty_dirs(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr)
{
	if (!reg->conf->remove_empty_dirs || !reg->attached || !run->age_allowed ||
	    reg->n_dirs <= 1)
		return INT64_MAX;
	struct eng_empty x = {
		.mtime = hk_xcalloc(reg->n_dirs, sizeof(int64_t)),
		.gone = hk_xcalloc(reg->n_dirs, sizeof(bool)),
		.due = INT64_MAX,
		.age_ns = reg->policy.retention_ns > 0 ? reg->policy.retention_ns
						       : ENG_EMPTY_DIR_AGE_NS,
	};
	x.cutoff = eng_sat_add(run->now_ns, -x.age_ns);
	const struct hk_cred *prev;
	if (eng_as_owner(reg, &prev)) {
		/* the ages are read before any removal: a parent whose
		 * old empty children go is judged by its own age */
		for (size_t i = 0; i < reg->n_dirs; i++) {
			struct hk_stat st;
			x.mtime[i] = reg->dirs[i].fd >= 0 && hk_stat_fd(reg->dirs[i].fd, &st) == 0
					     ? st.mtime_ns
					     : INT64_MAX;
		}
		eng_empty_pass(reg, &x, ENG_ROOT);
		eng_plan_remove(reg, run, rr, &x.plan, HK_REASON_AGE, "empty-directory", NULL);
		eng_as(prev);
	}
	free(x.plan.ids);
	free(x.mtime);
	free(x.gone);
	return x.due;
}
