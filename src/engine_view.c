/*
 * engine_view.c - read-only views of the engine for the control interface:
 * the registrations in priority order, lookups by id or name, overlap,
 * status (with growth rates), explain, overflow and audit state.
 *
 * Invariants: nothing here changes an index, a watch or a file; growth
 * sampling is the only state these views keep.
 */
#include "autoconfig.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "index.h"
#include "policy.h"
#include "units.h"
#include "util.h"
#include "watch.h"

/* Views for the control interface ------------------------------------------ */

size_t hk_engine_count(const struct hk_engine *eng)
{
	return eng->n_regs;
}

const struct hk_registration *hk_engine_registration(const struct hk_engine *eng, size_t i)
{
	return i < eng->n_regs ? eng->regs[i]->conf : NULL;
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
	/* two floors of min_free on one filesystem (or maybe one: not
	 * attached yet) depend on each other's deletions: their sweeps go in
	 * priority order, one after the other (engine_free.c) */
	if (a->conf->min_free.set && b->conf->min_free.set &&
	    (!a->attached || !b->attached || a->dirs[ENG_ROOT].dev == b->dirs[ENG_ROOT].dev))
		return true;
	/* a recursive registration, and one of directory units, covers the
	 * subdirectories of its directory */
	if (eng_path_within(da, db))
		return a->conf->recursive || a->conf->unit == HK_UNIT_DIRECTORY;
	if (eng_path_within(db, da))
		return b->conf->recursive || b->conf->unit == HK_UNIT_DIRECTORY;
	return false;
}

const struct hk_config *hk_engine_config(const struct hk_engine *eng)
{
	return eng->cfg;
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
		st->bytes += hk_entry_size(reg->held[h].e);
	const struct hk_entry *e = hk_index_oldest(reg->index);
	st->oldest_ns = e ? hk_entry_key(e) : 0;
	st->next_expiry_ns = e ? hk_policy_next_expiry(&reg->policy, hk_entry_key(e)) : INT64_MAX;
	st->last_run = reg->last_run;
	st->runs = reg->runs;
	st->last_success = reg->last_success;
	st->files_deleted = reg->files_deleted;
	st->bytes_deleted = reg->bytes_deleted;
	st->delete_errors = reg->delete_errors;
	st->free_files_deleted = reg->free_files_deleted;
	st->free_bytes_deleted = reg->free_bytes_deleted;
	st->attached = reg->attached;
	st->scanned = reg->scanned && !reg->scanning;
	st->watch_failed = reg->watch_failed;
	st->policy = reg->policy;
	st->growth_bytes = reg->growth_bytes;
	st->growth_files = reg->growth_files;
	st->seconds_to_size = -1;
	st->seconds_to_files = -1;
	st->free_bytes = reg->conf->min_free.set && reg->attached
				 ? eng_fs_free(reg->dirs[ENG_ROOT].fd, NULL) : -1;
	st->free_active = reg->free_active;
	st->trimming = reg->trim.count || reg->trim.size;
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

bool hk_engine_age_paused(const struct hk_engine *eng)
{
	return eng->clock_paused;
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

/* How many files come before e in the index's order, and their bytes. */
struct eng_rank {
	const struct hk_entry *e;
	const struct hk_policy *policy;
	int64_t now;
	bool age_allowed;
	size_t before;
	uint64_t bytes_before;
	size_t expired;          /* files the age limit selects */
	uint64_t bytes_expired;
	const struct hk_entry **all;   /* every entry, when eng_rank_collect runs */
	size_t n_all;
};

static void eng_rank_count(struct hk_entry *f, void *arg)
{
	struct eng_rank *r = arg;
	if (hk_entry_cmp(f, r->e) < 0) {
		r->before++;
		r->bytes_before += hk_entry_size(f);
	}
	if (hk_policy_expired(r->policy, hk_entry_key(f), r->now, r->age_allowed)) {
		r->expired++;
		r->bytes_expired += hk_entry_size(f);
	}
}

static void eng_rank_collect(struct hk_entry *f, void *arg)
{
	struct eng_rank *r = arg;
	r->all[r->n_all++] = f;
}

static int eng_rank_cmp(const void *a, const void *b)
{
	return hk_entry_cmp(*(const struct hk_entry *const *)a, *(const struct hk_entry *const *)b);
}

/* The bytes of the files from position cut on in the set's order. Past
 * the expired files that is a sum of the first pass; a count cut beyond
 * them (a low_watermark trim with a size limit too) sorts the index, as
 * only then the place of the cut is not known without it. */
static uint64_t eng_rank_bytes_from(const struct eng_reg *reg, struct eng_rank *r, size_t cut)
{
	size_t n = hk_index_count(reg->index);
	uint64_t bytes = 0;
	if (cut == r->expired)
		return hk_index_bytes(reg->index) - r->bytes_expired;
	r->all = hk_xreallocarray(NULL, n ? n : 1, sizeof(*r->all));
	r->n_all = 0;
	hk_index_foreach(reg->index, eng_rank_collect, r);
	qsort(r->all, r->n_all, sizeof(*r->all), eng_rank_cmp);
	for (size_t i = cut; i < r->n_all; i++)
		bytes += hk_entry_size(r->all[i]);
	free(r->all);
	r->all = NULL;
	return bytes;
}

/* Would min_free select a file after older ones of bytes_before? While
 * the floor is crossed (or the target not reached since), the oldest go
 * until the free space measured now reaches the largest target of the
 * crossed registrations on the filesystem, after every candidate of those
 * before it (lower priority numbers) that take part (eng_free_view). */
static bool eng_explain_free(const struct eng_reg *reg, uint64_t bytes_before)
{
	if (!reg->conf->min_free.set || !reg->attached)
		return false;
	uint64_t total;
	int64_t avail = eng_fs_free(reg->dirs[ENG_ROOT].fd, &total);
	struct eng_free_view v;
	eng_free_view(reg, NULL, avail, total, &v);
	if (!v.crossed || avail < 0 || (uint64_t)avail >= v.target)
		return false;
	uint64_t short_bytes = v.target - (uint64_t)avail;
	short_bytes = v.earlier_bytes >= short_bytes ? 0 : short_bytes - v.earlier_bytes;
	return short_bytes > bytes_before;
}

/* The held file (a deletion put off) of directory dir named name, or NULL. */
static const struct eng_held *eng_held_find(const struct eng_reg *reg, uint32_t dir,
					    const char *name)
{
	for (size_t i = 0; i < reg->n_held; i++)
		if (hk_entry_dir(reg->held[i].e) == dir && strcmp(hk_entry_name(reg->held[i].e), name) == 0)
			return &reg->held[i];
	return NULL;
}

/* A file whose deletion was put off: why, and when it is tried again. */
static void eng_explain_held(const struct eng_reg *reg, const struct eng_held *h,
			     struct hk_explain *x)
{
	char retry[48] = "";
	struct ev_loop *loop = reg->eng->loop;
	ev_timer *t = (ev_timer *)&reg->retry_timer;
	x->indexed = true;
	x->held = true;
	x->size = hk_entry_size(h->e);
	x->key_ns = hk_entry_key(h->e);
	if (loop && ev_is_active(t))
		snprintf(retry, sizeof(retry), " in about %.0f s", ev_timer_remaining(loop, t));
	snprintf(x->note, sizeof(x->note), "kept for now: %s; tried again%s",
		 h->outcome == HK_REAP_IN_USE
			 ? "a process holds it open (skip_open = yes keeps open files)"
		 : h->outcome == HK_REAP_LOCKED ? "an application holds a lock on it"
						: "its deletion failed",
		 retry);
}

/* Look up the entry of path's file (rel: its path below the root); NULL
 * when the index does not know it (*held: put off, out of the index). */
static struct hk_entry *eng_explain_entry(const struct eng_reg *reg, const char *rel,
					  const char *base, const struct eng_held **held)
{
	char *reldir = hk_xstrndup(rel, (size_t)(base - rel) ? (size_t)(base - rel) - 1 : 0);
	uint32_t d;
	struct hk_entry *e = NULL;
	*held = NULL;
	if (eng_dir_lookup(reg, reldir, &d)) {
		e = hk_index_get(reg->index, d, base, strlen(base));
		if (!e)
			*held = eng_held_find(reg, d, base);
	}
	free(reldir);
	return e;
}

/* The unit's place among the units with files: 1 = the newest. */
static size_t eng_unit_rank(const struct eng_units *us, size_t k, size_t *with_files)
{
	size_t rank = 1;
	*with_files = 0;
	for (size_t i = 0; i < us->n; i++) {
		*with_files += us->u[i].files > 0;
		rank += i > k && us->u[i].files > 0;
	}
	return rank;
}

/* What the policy does with unit u (selected or kept, and why) in words. */
static void eng_explain_unit_note(const struct eng_reg *reg, const struct eng_unit *u,
				  int64_t now, struct hk_explain *x)
{
	char sz[32], head[128];
	const char *why = u->why == HK_REASON_AGE ? "its newest file is older than the age limit"
			  : u->why == HK_REASON_COUNT ? "more units than max_files"
						      : "more bytes than the size limit";
	if (u->files)
		snprintf(head, sizeof(head), "in unit %.64s (%zu file%s, %s)", x->unit, u->files,
			 u->files == 1 ? "" : "s", hk_size_human(u->bytes, sz, sizeof(sz)));
	else
		snprintf(head, sizeof(head), "in unit %.64s (no files; aged by its mtime)", x->unit);
	if (u->why != HK_REASON_NONE) {
		x->delete_at_ns = now;
		snprintf(x->note, sizeof(x->note), "%s: the whole unit goes at the next event or "
			 "sweep: %s%s", head, u->files ? why : "older than the age limit",
			 u->why != HK_REASON_AGE && reg->policy.low_watermark < 100
				 ? " (trimmed to low_watermark)" : "");
		return;
	}
	x->delete_at_ns = u->files || reg->policy.retention_ns > 0
				  ? hk_policy_next_expiry(&reg->policy, u->key_ns) : INT64_MAX;
	if (u->files)
		snprintf(x->note, sizeof(x->note), "%s: kept for now: the newest %zu of %zu units%s",
			 head, x->rank_newest, x->n_units,
			 x->delete_at_ns == INT64_MAX ? ", and no age limit" : "");
	else
		snprintf(x->note, sizeof(x->note), "%s: kept%s", head,
			 x->delete_at_ns == INT64_MAX ? " (no age limit)"
						      : " until it is older than the age limit");
}

/* unit = directory: path is a unit (a matching subdirectory directly in
 * the root) or lies in one; the unit is judged whole, as
 * eng_units_enforce judges it. */
static void eng_explain_unit(const struct eng_reg *reg, const char *path, const char *rel,
			     const char *base, int64_t now, struct hk_explain *x)
{
	const char *slash = strchr(rel, '/');
	size_t len = slash ? (size_t)(slash - rel) : strlen(rel);
	uint32_t ud;
	x->covers = true;
	if (len >= sizeof(x->unit) || eng_own_note(reg->eng, path, x->note, sizeof(x->note)))
		return;
	memcpy(x->unit, rel, len);
	x->unit[len] = '\0';
	bool is_dir = eng_dir_lookup(reg, x->unit, &ud);
	x->matches = is_dir && eng_name_matches(reg->conf, x->unit);
	if (!x->matches) {
		x->excluded = is_dir && fnmatch(reg->conf->pattern, x->unit, 0) == 0;
		snprintf(x->note, sizeof(x->note), !is_dir
			 ? "not in a unit (unit = directory: only the matching subdirectories "
			   "directly in the directory are deleted, whole): never deleted by it"
			 : x->excluded ? "in a subdirectory an exclude glob matches: not a unit, "
					 "never deleted"
				       : "in a subdirectory whose name does not match the pattern: "
					 "not a unit, never deleted by this registration");
		x->unit[0] = '\0';
		return;
	}
	if (slash) {
		const struct eng_held *held;
		if (!eng_explain_entry(reg, rel, base, &held)) {
			if (held)
				eng_explain_held(reg, held, x);
			else
				snprintf(x->note, sizeof(x->note), "in unit %.64s, but not a file this "
					 "registration tracks: never deleted (it keeps the unit's "
					 "directories when the unit goes)", x->unit);
			return;
		}
	}
	struct eng_units us;
	struct eng_run run = { .now_ns = now,
			       .age_allowed = !hk_clock_implausible(now) && !reg->eng->clock_paused };
	eng_units_collect((struct eng_reg *)reg, NULL, &us);
	eng_units_select(reg, &run, &us);
	for (size_t k = 0; k < us.n; k++) {
		const struct eng_unit *u = &us.u[k];
		if (u->dir != ud)
			continue;
		x->indexed = x->in_unit = true;
		x->unit_files = u->files;
		x->size = u->bytes;
		x->key_ns = u->key_ns;
		x->rank_newest = eng_unit_rank(&us, k, &x->n_units);
		x->reason = u->why;
		eng_explain_unit_note(reg, u, now, x);
	}
	eng_units_fini(&us);
}

/* The free space and floor of reg's filesystem in words: "800.0 KiB free,
 * min_free 1.0 MiB, free_target 3.0 MiB". */
static void eng_explain_free_words(const struct eng_reg *reg, char *buf, size_t size)
{
	uint64_t total, lo, hi;
	char a[32], b[32], c[32];
	int64_t avail = eng_fs_free(reg->dirs[ENG_ROOT].fd, &total);
	eng_free_limits(reg, total, &lo, &hi);
	snprintf(buf, size, "%s free, min_free %s, free_target %s",
		 hk_size_human(avail > 0 ? (uint64_t)avail : 0, a, sizeof(a)),
		 hk_size_human(lo, b, sizeof(b)), hk_size_human(hi, c, sizeof(c)));
}

/* The note of an indexed file of n, judged x->reason. */
static void eng_explain_note(const struct eng_reg *reg, size_t n, int64_t now,
			     struct hk_explain *x)
{
	const char *open = reg->conf->skip_open
				   ? "; kept instead while a process holds it open (skip_open = yes)"
				   : "";
	char words[80];
	if (x->reason == HK_REASON_FREE) {
		x->delete_at_ns = now;
		eng_explain_free_words(reg, words, sizeof(words));
		snprintf(x->note, sizeof(x->note), "the filesystem is short of free space (%s): "
			 "the oldest go until free_target is free, lower priority numbers first%s",
			 words, open);
	} else if (x->reason != HK_REASON_NONE) {
		x->delete_at_ns = now;
		char trim[48] = "";
		if (x->reason != HK_REASON_AGE && reg->policy.low_watermark < 100)
			snprintf(trim, sizeof(trim), " (trimmed to low_watermark %u%% of it)",
				 reg->policy.low_watermark);
		snprintf(x->note, sizeof(x->note), "%s%s: deleted at the next event or sweep%s",
			 x->reason == HK_REASON_AGE ? "older than the age limit"
			 : x->reason == HK_REASON_COUNT ? "more files than the file limit"
			 : "more bytes than the size limit", trim, open);
	} else {
		/* plain words; when it expires is delete_at, which clients show
		 * as they show times */
		x->delete_at_ns = hk_policy_next_expiry(&reg->policy, x->key_ns);
		snprintf(x->note, sizeof(x->note), "kept for now: the newest %zu of %zu files%s",
			 x->rank_newest, n, x->delete_at_ns == INT64_MAX ? ", and no age limit" : "");
	}
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
	if (reg->conf->unit == HK_UNIT_DIRECTORY) {
		eng_explain_unit(reg, path, rel, base, now, x);
		return;
	}
	if (base != rel && !reg->conf->recursive) {
		snprintf(x->note, sizeof(x->note), "in a subdirectory; the registration is not recursive");
		return;
	}
	x->covers = true;
	x->matches = fnmatch(reg->conf->pattern, base, 0) == 0;
	if (eng_own_note(reg->eng, path, x->note, sizeof(x->note)))
		return;
	for (size_t i = 0; i < reg->conf->n_excludes; i++)
		if (fnmatch(reg->conf->excludes[i], base, 0) == 0)
			x->excluded = true;
	if (!x->matches || x->excluded) {
		snprintf(x->note, sizeof(x->note), "%s", !x->matches
			 ? "its name does not match the pattern: not deleted by this registration"
			 : "an exclude glob matches it: never deleted");
		return;
	}
	const struct eng_held *held;
	struct hk_entry *e = eng_explain_entry(reg, rel, base, &held);
	if (held) {
		eng_explain_held(reg, held, x);
		return;
	}
	if (!e) {
		snprintf(x->note, sizeof(x->note), "not a file this registration tracks (not a "
			 "regular file, or not there): never deleted by it");
		return;
	}
	x->indexed = true;
	x->size = hk_entry_size(e);
	x->key_ns = hk_entry_key(e);
	/* its place in the order, in one pass: no sort of the whole index */
	bool age_allowed = !hk_clock_implausible(now);
	struct eng_rank rank = { .e = e, .policy = &reg->policy, .now = now,
				 .age_allowed = age_allowed };
	hk_index_foreach(reg->index, eng_rank_count, &rank);
	size_t n = hk_index_count(reg->index);
	x->rank_newest = n - rank.before;
	struct hk_policy_place at = { .pos = rank.before, .n = n, .n_expired = rank.expired,
				      .bytes_from_pos = hk_index_bytes(reg->index) - rank.bytes_before };
	size_t cut = hk_policy_count_cut(&reg->policy, &reg->trim, n, rank.expired);
	if (reg->policy.has_max_size && at.pos >= cut)
		at.bytes_from_cut = eng_rank_bytes_from(reg, &rank, cut);
	x->reason = hk_policy_judge(&reg->policy, &reg->trim, &at, x->key_ns, now, age_allowed);
	if (x->reason == HK_REASON_NONE && eng_explain_free(reg, rank.bytes_before))
		x->reason = HK_REASON_FREE;
	eng_explain_note(reg, n, now, x);
}

size_t hk_engine_explain(const struct hk_engine *eng, const char *path, int64_t now_ns,
			 struct hk_explain **out)
{
	*out = hk_xcalloc(eng->n_regs ? eng->n_regs : 1, sizeof(**out));
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_explain_reg(eng->regs[i], path, now_ns, &(*out)[i]);
	return eng->n_regs;
}
