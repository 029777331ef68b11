/*
 * engine_persist.c - the stored copy of each registration's index.
 *
 * Index mutations go through eng_idx_* so that the store follows them
 * (keyed by the file's path relative to the registered root); at start a
 * registration is warm-loaded from the store.
 *
 * Invariants:
 *  - nothing is stored without a store or under HK_ENGINE_NO_INDEX_STORE;
 *  - a warm-loaded index is served until the first scan reconciles it, and
 *    deletions wait for that scan;
 *  - a cold index (nothing stored) is not written while its first scan
 *    runs; after it, a walk in record id order writes every entry, and
 *    meanwhile a change is written at once only for an entry the walk has
 *    passed (a deletion always: deleting a key not stored yet is a no-op,
 *    and the walk can only store what is still in the index).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Persistence of the index ------------------------------------------------ */

/* The store key of a file: its path relative to the registered root. For
 * a file of the root that is its name (no copy); otherwise it is built in
 * b (the caller's, to hk_buf_fini). Borrowed until then. */
static const char *eng_relpath(const struct eng_reg *reg, uint32_t dir, const char *name,
			       struct hk_buf *b, size_t *len)
{
	if (dir == ENG_ROOT) {
		*len = strlen(name);
		return name;
	}
	eng_dir_relpath(reg, dir, b);
	hk_buf_append(b, name, strlen(name));
	*len = b->len;
	return b->data;
}

static bool eng_store_on(const struct eng_reg *reg)
{
	return reg->eng->store && !reg->eng->no_index_store && !reg->persist_cold;
}

static void eng_store_write(struct eng_reg *reg, const struct hk_entry *e)
{
	struct hk_store *store = reg->eng->store;
	struct hk_buf b = { 0 };
	size_t len;
	const char *rel = eng_relpath(reg, hk_entry_dir(e), hk_entry_name(e), &b, &len);
	struct hk_store_file f = { hk_entry_ino(e), hk_entry_size(e), hk_entry_mtime(e),
				    hk_entry_key(e) };
	hk_store_index_put(store, reg->conf->id, rel, len, &f);
	hk_buf_fini(&b);
}

/* e (in the index) is new or changed. */
static void eng_store_put(struct eng_reg *reg, const struct hk_entry *e)
{
	if (!eng_store_on(reg))
		return;
	if (reg->persist_walk && hk_index_id(reg->index, e) >= reg->persist_next)
		return;   /* the walk gets there and writes it as it is then */
	eng_store_write(reg, e);
}

void eng_store_del(struct eng_reg *reg, uint32_t dir, const char *name)
{
	struct hk_store *store = reg->eng->store;
	if (!eng_store_on(reg))
		return;
	struct hk_buf b = { 0 };
	size_t len;
	const char *rel = eng_relpath(reg, dir, name, &b, &len);
	hk_store_index_delete(store, reg->conf->id, rel, len);
	hk_buf_fini(&b);
}

/* Index mutations that the store follows. */
void eng_idx_set(struct eng_reg *reg, uint32_t dir, const char *name,
		 const struct hk_file_meta *meta)
{
	struct hk_entry *e;
	int r = hk_index_put(reg->index, dir, name, strlen(name), meta, &e);
	if (r == 0 || r == 1)
		eng_store_put(reg, e);   /* new or changed */
}

void eng_idx_remove(struct eng_reg *reg, uint32_t dir, const char *name)
{
	if (hk_index_remove(reg->index, dir, name, strlen(name)))
		eng_store_del(reg, dir, name);
}

void eng_idx_remove_entry(struct eng_reg *reg, struct hk_entry *e)
{
	eng_store_del(reg, hk_entry_dir(e), hk_entry_name(e));
	hk_index_remove_entry(reg->index, e);
}

/* Give a detached entry back (hk_index_attach). Its stored copy was left
 * alone, unless the walk had not written it yet and its new id is behind
 * the walk: then eng_store_put writes it now. */
void eng_idx_attach(struct eng_reg *reg, struct hk_entry *e)
{
	const struct hk_entry *back = hk_index_attach(reg->index, e);
	if (back && reg->persist_walk)
		eng_store_put(reg, back);
}

struct eng_collect {
	struct eng_reg *reg;
	uint32_t dir;          /* ENG_ANCESTOR: every unseen entry instead */
};

static void eng_collect_cb(struct hk_entry *e, void *arg)
{
	struct eng_collect *c = arg;
	bool hit = c->dir == ENG_ANCESTOR ? !hk_index_seen(c->reg->index, e) : hk_entry_dir(e) == c->dir;
	if (hit)
		eng_store_del(c->reg, hk_entry_dir(e), hk_entry_name(e));
}

/* Before entries leave in bulk (a directory dropped, a rescan's unseen
 * sweep), tell the store. */
void eng_store_forget(struct eng_reg *reg, uint32_t dir)
{
	if (!eng_store_on(reg) || (dir == ENG_ANCESTOR && hk_index_unseen(reg->index) == 0))
		return;
	struct eng_collect c = { reg, dir };
	hk_index_foreach(reg->index, eng_collect_cb, &c);
}

void eng_idx_clear(struct eng_reg *reg)
{
	if (eng_store_on(reg) && hk_index_count(reg->index))
		hk_store_index_drop(reg->eng->store, reg->conf->id);
	hk_index_clear(reg->index);
	reg->persist_walk = false;   /* nothing left to write */
}

/* The first scan of a cold index is complete: store it, in slices. */
void eng_persist_walk_start(struct eng_reg *reg)
{
	if (!reg->persist_cold)
		return;
	reg->persist_cold = false;
	if (!reg->eng->store || reg->eng->no_index_store || !reg->eng->loop)
		return;   /* --once stores no cold index: nobody would warm-start from it */
	reg->persist_walk = true;
	reg->persist_next = 0;
}

static void eng_walk_cb(struct hk_entry *e, void *arg)
{
	eng_store_write(arg, e);
}

/* Write up to budget entries of the walk; returns how many. */
size_t eng_persist_walk_step(struct eng_reg *reg, size_t budget)
{
	size_t n = hk_index_walk(reg->index, &reg->persist_next, budget, eng_walk_cb, reg);
	if (n < budget) {
		reg->persist_walk = false;
		log_debug("store", "%s: index stored (%zu files)", reg->conf->directory,
			  hk_index_count(reg->index));
	}
	return n;
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
void eng_reg_warm_load(struct eng_reg *reg)
{
	struct hk_store *store = reg->eng->store;
	if (!store || reg->eng->no_index_store)
		return;
	hk_store_index_load(store, reg->conf->id, eng_warm_load_cb, reg);
	if (hk_index_count(reg->index))
		log_debug("store", "%s: %zu files from the stored index", reg->conf->directory,
			  hk_index_count(reg->index));
	if ((reg->conf->recursive || reg->conf->unit == HK_UNIT_DIRECTORY) &&
	    hk_index_count(reg->index)) {
		/* stored paths below the root are not loaded: store it anew */
		hk_store_index_drop(store, reg->conf->id);
		reg->persist_cold = true;
	} else if (hk_index_count(reg->index) == 0) {
		reg->persist_cold = true;
	}
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
