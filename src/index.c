/*
 * index.c - the in-memory index of one registration's candidate files.
 *
 * Owns every record (struct hk_entry) of the index, their spill blocks,
 * and two arrays of 32-bit record ids:
 *  - a hash table (open addressing, linear probing, backward-shift
 *    deletion, no tombstones) keyed by (dir, name), for O(1) lookup; a
 *    slot is id << 4 | fingerprint (1..15, a few more hash bits, so most
 *    non-matching probes do not touch the record), 0 when empty; it grows
 *    in steps (see "growing in steps" below);
 *  - a binary min-heap ordered by hk_entry_cmp, for the oldest in O(1);
 *    new entries are appended and ordered when the order is next needed
 *    (index_heap_settle), so a scan that inserts a million files builds
 *    the heap once, in O(n).
 * and the running totals (count, bytes).
 *
 * Records live in chunks of HK_INDEX_CHUNK (38 * 4096 bytes = 38 pages,
 * each its own mapping); id = chunk number << 12 | slot, so records never
 * move and entry pointers stay valid until removed. A chunk hands out its
 * freed records first, then fresh ones in address order (pages past the
 * high-water mark are never touched, so a small index costs a page, not
 * a chunk). Chunks with room are on the "open" list, partly used ones
 * ahead of the (at most one) empty chunk kept as a spare; a second chunk
 * that empties is unmapped. Churn thus reuses records instead of growing.
 *
 * Invariants:
 *  - every entry is in exactly one hash slot and one heap slot;
 *    heap[e->heap_pos & INDEX_POS_MASK] is e's id; heap[0..heap_ok) is in
 *    heap order;
 *  - the top bits of heap_pos (seen mark, spill, free) survive heap moves;
 *  - every entry sits in the probe run that starts at its home slot (no
 *    empty slot between home and its slot); count <= 0.8 of the slots;
 *  - a chunk is on the open list iff it is mapped and not full; at most
 *    one mapped chunk is empty (idx->spare);
 *  - a new chunk is mapped only when all mapped ones are full, so with at
 *    most INDEX_MAX entries no chunk number reaches 2^16 and ids fit 28 bits;
 *  - bytes == sum of entry sizes, count == number of entries.
 *
 * Memory per entry (1..14-byte names, key == mtime, size and ino < 2^32,
 * dir < 2^24): 38-byte record, 4-byte hash slot at load 0.64..0.8 (grown
 * by 1.25x; 0.8 after hk_index_fit), 4-byte heap slot with at most 1/8
 * slack (none after a fit): 47..48.75 bytes. Hash and heap arrays of 64 KiB or more are mappings of
 * their own so that growing them leaves no holes in the malloc heap.
 * Pure data structure: no I/O, no logging (one getrandom for the hash seed).
 *
 * This file keeps the hash table, insert and remove and the public
 * operations; the records and their memory are index_mem.c's, the order
 * (heap, sorted snapshots) index_heap.c's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "index.h"
#include "index_int.h"
#include "util.h"

/* --- hash table ----------------------------------------------------------- */

/* A per-process random seed, so that names chosen to collide (someone
 * who may create files in a watched directory) cannot be precomputed. */
static uint64_t index_seed;

/* The directory id, length and name mixed 8 bytes at a time
 * (multiply-xorshift), then finalised so that both the high half (home
 * slot) and the low half (fingerprint) depend on every input bit. */
static uint64_t index_hash(uint32_t dir, const char *name, size_t len)
{
	const uint64_t m = UINT64_C(0xbf58476d1ce4e5b9);
	uint64_t h = index_seed ^ dir ^ (uint64_t)len << 32;
	uint64_t w;

	for (; len >= 8; name += 8, len -= 8) {
		memcpy(&w, name, 8);
		h = (h ^ w) * m;
		h ^= h >> 29;
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, name, len);
		h = (h ^ w) * m;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= UINT64_C(0xd6e8feb86659fd93);
	h ^= h >> 32;
	return h;
}

static uint64_t index_entry_hash(const struct hk_entry *e)
{
	return index_hash(hk_entry_dir(e), hk_entry_name(e), hk_entry_name_len(e));
}

/* Home slot in a table of n slots: the high half of the hash scaled to it
 * (fastrange), so the capacity need not be a power of two. */
static size_t index_home_n(size_t n, uint64_t h)
{
	return (size_t)(((h >> 32) * (uint64_t)n) >> 32);
}

static size_t index_home(const struct hk_index *idx, uint64_t h)
{
	return index_home_n(idx->n_slots, h);
}

/* The slot value of id: the fingerprint is never 0, so 0 means empty. */
static uint32_t index_slot_val(uint32_t id, uint64_t h)
{
	uint32_t fp = (uint32_t)(((h & UINT32_MAX) * INDEX_FP_MASK) >> 32) + 1u;

	return id << INDEX_FP_BITS | fp;
}

static size_t index_next_n(size_t n, size_t i)
{
	return i + 1 == n ? 0 : i + 1;
}

static bool index_entry_is(const struct hk_entry *e, uint32_t dir, const char *name, size_t len)
{
	return hk_entry_dir(e) == dir && hk_entry_name_len(e) == len &&
	       memcmp(hk_entry_name(e), name, len) == 0;
}

/*
 * Growing in steps. Re-hashing every entry into a larger table at once
 * held the loop for ~100 ms at a million entries (a flat-out writer's
 * backlog grows the index through a dozen such resizes), so a table past
 * its load is replaced by a larger, empty one, and the entries of the old
 * one move over INDEX_GROW_STEP slots per insert, in slot order. Until the
 * last has moved, both tables are searched (the new one first). In the old
 * one an entry that leaves (moved or removed) leaves INDEX_GONE behind, a
 * value no entry has (fingerprint 0), so that probe runs stay unbroken;
 * nothing is ever added to it. A table grows by 1.25x past a load of 0.8:
 * its n slots have moved after n / 64 inserts, a twelfth of the ~0.2 n
 * before the next growth (and removals move slots too). Meanwhile the old
 * table's memory is kept, about 5 bytes an entry (hk_index_growing).
 */
#define INDEX_GONE (1u << INDEX_FP_BITS)
#define INDEX_GROW_STEP 64
#define INDEX_GROW_STEPPED 65536   /* tables of fewer slots are re-hashed at once */

/* In the table slots[0..n): the slot holding (dir, name) of hash h, or,
 * with empty set, the empty slot where it would go (NULL when found). */
static uint32_t *index_table_find(const struct hk_index *idx, uint32_t *slots, size_t n,
				  uint64_t h, uint32_t dir, const char *name, size_t len,
				  uint32_t **empty)
{
	uint32_t fp = index_slot_val(0, h);
	size_t i = index_home_n(n, h);
	uint32_t s;

	while ((s = slots[i]) != 0) {
		if ((s & INDEX_FP_MASK) == fp &&
		    index_entry_is(index_rec(idx, s >> INDEX_FP_BITS), dir, name, len))
			return &slots[i];
		i = index_next_n(n, i);
	}
	if (empty)
		*empty = &slots[i];
	return NULL;
}

/* The slot holding (dir, name) of hash h, in either table, or the empty
 * slot of the current table where it would go. */
static uint32_t *index_hash_find(const struct hk_index *idx, uint64_t h, uint32_t dir,
				 const char *name, size_t len)
{
	uint32_t *empty = NULL;
	uint32_t *at = index_table_find(idx, idx->slots, idx->n_slots, h, dir, name, len, &empty);

	if (at == NULL && idx->old_slots)
		at = index_table_find(idx, idx->old_slots, idx->n_old_slots, h, dir, name, len,
				      NULL);
	return at ? at : empty;
}

/* The slot holding record id (which must be present), in either table. */
static uint32_t *index_hash_slot_of(const struct hk_index *idx, uint32_t id)
{
	uint64_t h = index_entry_hash(index_rec(idx, id));
	uint32_t want = index_slot_val(id, h);
	size_t i = index_home(idx, h);

	for (uint32_t s; (s = idx->slots[i]) != 0; i = index_next_n(idx->n_slots, i))
		if (s == want)
			return &idx->slots[i];
	i = index_home_n(idx->n_old_slots, h);
	while (idx->old_slots[i] != want)
		i = index_next_n(idx->n_old_slots, i);
	return &idx->old_slots[i];
}

/* Empty slot i of the current table and shift later members of its probe
 * run back, so that no lookup ever crosses a hole (no tombstones). */
static void index_table_delete(struct hk_index *idx, size_t i)
{
	size_t n = idx->n_slots;
	size_t j = i;

	for (;;) {
		uint32_t s;
		size_t home;

		j = index_next_n(n, j);
		s = idx->slots[j];
		if (s == 0)
			break;
		home = index_home(idx, index_entry_hash(index_rec(idx, s >> INDEX_FP_BITS)));
		/* slots[j] may move to i only if its home is not in (i, j]. */
		if ((j + n - home) % n >= (j + n - i) % n) {
			idx->slots[i] = s;
			i = j;
		}
	}
	idx->slots[i] = 0;
}

/* Take the entry at slot *at (index_hash_find, index_hash_slot_of) out. */
static void index_hash_delete(struct hk_index *idx, uint32_t *at)
{
	if (idx->old_slots && at >= idx->old_slots && at < idx->old_slots + idx->n_old_slots)
		*at = INDEX_GONE;
	else
		index_table_delete(idx, (size_t)(at - idx->slots));
}

static void index_old_free(struct hk_index *idx)
{
	index_arr_free(idx->old_slots, idx->n_old_slots);
	idx->old_slots = NULL;
	idx->n_old_slots = 0;
	idx->old_next = 0;
}

/* Re-hash every entry (records in address order) into a new table of n
 * slots: the old table, and any growth in steps, is done with. */
static void index_hash_resize(struct hk_index *idx, size_t n)
{
	index_old_free(idx);
	index_arr_free(idx->slots, idx->n_slots);
	idx->slots = index_arr_new(&n);
	idx->n_slots = n;
	/* records in address order (a freed one is marked): reading them
	 * sequentially costs far less than following the heap's random ids */
	for (uint32_t c = 0; c < idx->n_chunks; c++) {
		const struct index_chunk *ch = &idx->chunks[c];

		for (uint32_t k = 0; ch->recs != NULL && k < ch->bumped; k++) {
			const struct hk_entry *e = &ch->recs[k];
			if (e->heap_pos & HK_ENTRY_FREE)
				continue;
			uint64_t h = index_entry_hash(e);
			size_t i = index_home(idx, h);

			while (idx->slots[i] != 0)
				i = index_next_n(n, i);
			idx->slots[i] = index_slot_val(c << INDEX_CHUNK_SHIFT | k, h);
		}
	}
}

/* Move the entries of up to budget slots of the old table into the
 * current one; the old table goes once empty. */
static void index_hash_move_some(struct hk_index *idx, size_t budget)
{
	for (; budget > 0 && idx->old_next < idx->n_old_slots; budget--) {
		uint32_t s = idx->old_slots[idx->old_next++];

		/* an empty slot stays empty: it ends probe runs, and a lookup
		 * in the old table must stop at the same places as before */
		if (s == 0 || s == INDEX_GONE)
			continue;
		idx->old_slots[idx->old_next - 1] = INDEX_GONE;
		uint64_t h = index_entry_hash(index_rec(idx, s >> INDEX_FP_BITS));
		size_t i = index_home(idx, h);

		while (idx->slots[i] != 0)
			i = index_next_n(idx->n_slots, i);
		idx->slots[i] = s;
	}
	if (idx->old_next >= idx->n_old_slots)
		index_old_free(idx);
}

/* Make room for one more entry: past a load of 0.8, a table 1.25x larger
 * (filled in steps from then on, see above). Returns true when slots may
 * have moved (the caller finds its slot again). */
static bool index_hash_grow(struct hk_index *idx)
{
	bool full = (idx->count + 1) * 5 > idx->n_slots * 4;

	if (idx->old_slots) {
		if (full)   /* not emptied in time (cannot happen at the step): at once */
			index_hash_resize(idx, idx->n_slots + idx->n_slots / 4);
		else
			index_hash_move_some(idx, INDEX_GROW_STEP);
		return true;
	}
	if (!full)
		return false;
	size_t n = idx->n_slots + idx->n_slots / 4;
	if (idx->n_slots < INDEX_GROW_STEPPED) {
		index_hash_resize(idx, n);
		return true;
	}
	idx->old_slots = idx->slots;
	idx->n_old_slots = idx->n_slots;
	idx->old_next = 0;
	idx->slots = index_arr_new(&n);
	idx->n_slots = n;
	index_hash_move_some(idx, INDEX_GROW_STEP);
	return true;
}

/* Once load falls under 1/2, shrink back to a load of 0.64 (not while a
 * growth is being filled: it ends first). */
static void index_hash_maybe_shrink(struct hk_index *idx)
{
	size_t n = idx->count + idx->count * 9 / 16;

	if (idx->old_slots || idx->n_slots <= INDEX_HASH_MIN || idx->count * 2 >= idx->n_slots)
		return;
	index_hash_resize(idx, n < INDEX_HASH_MIN ? INDEX_HASH_MIN : n);
}

/* --- insert and remove ---------------------------------------------------- */

/* Enter record id (filled, of hash h) at empty hash slot *slot; the heap
 * has room. */
static void index_insert(struct hk_index *idx, uint32_t *slot, uint64_t h, uint32_t id)
{
	struct hk_entry *e = index_rec(idx, id);

	e->heap_pos = (e->heap_pos & HK_ENTRY_SPILL) | idx->seen_bit;
	*slot = index_slot_val(id, h);
	idx->heap[idx->count] = id;
	idx->count++;
	idx->bytes += hk_entry_size(e);
	index_heap_put(idx, idx->count - 1, id);   /* ordered at the next settle */
}

/* Take record id out of the hash, heap and totals, and release it; its
 * spill block too unless keep_spill (a detached copy owns it). */
static void index_remove_id(struct hk_index *idx, uint32_t id, bool keep_spill)
{
	struct hk_entry *e = index_rec(idx, id);
	size_t pos;
	uint32_t last;

	index_heap_settle(idx);
	pos = index_pos(e);
	index_hash_delete(idx, index_hash_slot_of(idx, id));
	if (!hk_index_seen(idx, e))
		idx->n_unseen--;
	idx->count--;
	idx->heap_ok = idx->count;
	idx->bytes -= hk_entry_size(e);
	last = idx->heap[idx->count];
	if (last != id) {
		index_heap_put(idx, pos, last);
		index_heap_fix(idx, pos);
	}
	if (!keep_spill)
		free(index_spill(e));
	index_rec_release(idx, id);
	if (idx->old_slots)
		index_hash_move_some(idx, INDEX_GROW_STEP);   /* churn without growth ends it too */
	else
		index_hash_maybe_shrink(idx);
	index_heap_maybe_shrink(idx);
}

/* --- public --------------------------------------------------------------- */

struct hk_index *hk_index_create(void)
{
	struct hk_index *idx = hk_xcalloc(1, sizeof(*idx));

	if (index_seed == 0 &&
	    getrandom(&index_seed, sizeof(index_seed), GRND_NONBLOCK) != sizeof(index_seed))
		index_seed = (uint64_t)hk_time_mono_ns() ^ (uint64_t)getpid() << 32;
	idx->n_slots = INDEX_HASH_MIN;
	idx->slots = index_arr_new(&idx->n_slots);
	idx->open_head = idx->open_tail = idx->spare = INDEX_NONE;
	idx->seen_bit = HK_ENTRY_SEEN;
	return idx;
}

void hk_index_free(struct hk_index *idx)
{
	if (idx == NULL)
		return;
	index_chunks_free(idx);
	index_arr_free(idx->heap, idx->heap_cap);
	index_arr_free(idx->slots, idx->n_slots);
	index_arr_free(idx->old_slots, idx->n_old_slots);
	free(idx);
}

int hk_index_put(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta, struct hk_entry **entry)
{
	struct hk_entry *e;
	uint64_t h;
	uint32_t *slot;
	uint32_t id;

	if (name_len == 0 || name_len > INDEX_NAME_MAX)
		return -EINVAL;
	h = index_hash(dir, name, name_len);
	slot = index_hash_find(idx, h, dir, name, name_len);
	if (*slot != 0) {
		e = index_rec(idx, *slot >> INDEX_FP_BITS);
		if (entry)
			*entry = e;
		if (!hk_index_seen(idx, e))
			idx->n_unseen--;
		e->heap_pos = (e->heap_pos & ~HK_ENTRY_SEEN) | idx->seen_bit;
		if (index_rec_same(e, meta))
			return 2;
		idx->bytes = idx->bytes - hk_entry_size(e) + meta->size;
		index_heap_settle(idx);
		index_rec_update(e, meta);
		index_heap_fix(idx, index_pos(e));
		return 0;
	}
	if (idx->count >= INDEX_MAX)
		return -EOVERFLOW;

	/* Grow first so the new entry lands in the final table. */
	if (index_hash_grow(idx))
		slot = index_hash_find(idx, h, dir, name, name_len);
	index_heap_reserve(idx);
	id = index_rec_alloc(idx);
	e = index_rec(idx, id);
	e->heap_pos = 0;
	if (index_fits_inline(dir, name_len, meta))
		index_rec_inline(e, dir, name, name_len, meta);
	else
		index_rec_spill(e, dir, name, name_len, meta);
	index_insert(idx, slot, h, id);
	if (entry)
		*entry = e;
	return 1;
}

int hk_index_set(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta)
{
	int r = hk_index_put(idx, dir, name, name_len, meta, NULL);
	return r == 2 ? 0 : r;
}

void hk_index_prefetch(const struct hk_index *idx, uint32_t dir, const char *name,
		       size_t name_len)
{
	__builtin_prefetch(&idx->slots[index_home(idx, index_hash(dir, name, name_len))]);
}

struct hk_entry *hk_index_get(const struct hk_index *idx, uint32_t dir, const char *name,
			      size_t name_len)
{
	uint32_t s;

	if (name_len == 0 || name_len > INDEX_NAME_MAX)
		return NULL;
	s = *index_hash_find(idx, index_hash(dir, name, name_len), dir, name, name_len);
	return s != 0 ? index_rec(idx, s >> INDEX_FP_BITS) : NULL;
}

struct hk_entry *hk_index_detach(struct hk_index *idx, struct hk_entry *e)
{
	struct hk_entry *copy = hk_xmalloc(sizeof(*copy));

	memcpy(copy, e, sizeof(*copy));   /* the spill block goes with it */
	index_remove_id(idx, index_id_of(idx, e), true);
	return copy;
}

void hk_index_remove_entry(struct hk_index *idx, struct hk_entry *e)
{
	index_remove_id(idx, index_id_of(idx, e), false);
}

struct hk_entry *hk_index_attach(struct hk_index *idx, struct hk_entry *e)
{
	uint32_t dir = hk_entry_dir(e);
	const char *name = hk_entry_name(e);
	size_t len = hk_entry_name_len(e);
	uint64_t h = index_hash(dir, name, len);
	uint32_t *slot = index_hash_find(idx, h, dir, name, len);
	uint32_t id;

	if (*slot != 0 || idx->count >= INDEX_MAX) {
		hk_entry_free(e);   /* the index learned newer facts meanwhile */
		return NULL;
	}
	if (index_hash_grow(idx))
		slot = index_hash_find(idx, h, dir, name, len);
	index_heap_reserve(idx);
	id = index_rec_alloc(idx);
	memcpy(index_rec(idx, id), e, sizeof(*e));   /* and with it the spill block */
	free(e);
	index_insert(idx, slot, h, id);
	return index_rec(idx, id);
}

bool hk_index_remove(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len)
{
	struct hk_entry *e = hk_index_get(idx, dir, name, name_len);

	if (e == NULL)
		return false;
	hk_index_remove_entry(idx, e);
	return true;
}

/* Remove every entry for which drop() is true, in O(n): unhash and release
 * them, compact the heap array, rebuild the heap. */
static size_t index_remove_if(struct hk_index *idx,
			      bool (*drop)(const struct hk_index *idx, const struct hk_entry *e,
					   uint32_t dir),
			      uint32_t dir)
{
	size_t kept = 0;
	size_t removed;

	for (size_t i = 0; i < idx->count; i++) {
		uint32_t id = idx->heap[i];
		struct hk_entry *e = index_rec(idx, id);

		if (!drop(idx, e, dir)) {
			idx->heap[kept++] = id;
			continue;
		}
		index_hash_delete(idx, index_hash_slot_of(idx, id));
		if (!hk_index_seen(idx, e))
			idx->n_unseen--;
		idx->bytes -= hk_entry_size(e);
		free(index_spill(e));
		index_rec_release(idx, id);
	}
	removed = idx->count - kept;
	if (removed == 0)
		return 0;
	idx->count = kept;
	index_heap_build(idx);
	index_hash_maybe_shrink(idx);
	index_heap_maybe_shrink(idx);
	return removed;
}

static bool index_in_dir(const struct hk_index *idx, const struct hk_entry *e, uint32_t dir)
{
	return hk_entry_dir(e) == dir;
}

static bool index_unseen(const struct hk_index *idx, const struct hk_entry *e, uint32_t dir)
{
	(void)dir;
	return !hk_index_seen(idx, e);
}

size_t hk_index_remove_dir(struct hk_index *idx, uint32_t dir)
{
	return index_remove_if(idx, index_in_dir, dir);
}

size_t hk_index_sweep_unseen(struct hk_index *idx)
{
	if (idx->n_unseen == 0)
		return 0;   /* a rescan that found every file: no pass */
	return index_remove_if(idx, index_unseen, 0);
}

size_t hk_index_unseen(const struct hk_index *idx)
{
	return idx->n_unseen;
}

bool hk_index_seen(const struct hk_index *idx, const struct hk_entry *e)
{
	return (e->heap_pos & HK_ENTRY_SEEN) == idx->seen_bit;
}

/* Every entry unseen. When all were seen (a full scan's start after a
 * finished one) flipping what the bit means does it in O(1), not a pass
 * over every record (a million of them held the loop for ~0.1 s); else
 * the unseen ones would turn seen by the flip, so each is marked. */
void hk_index_unmark_all(struct hk_index *idx)
{
	if (idx->n_unseen == 0) {
		idx->seen_bit ^= HK_ENTRY_SEEN;
	} else {
		for (size_t i = 0; i < idx->count; i++) {
			struct hk_entry *e = index_rec(idx, idx->heap[i]);
			e->heap_pos = (e->heap_pos & ~HK_ENTRY_SEEN) | (idx->seen_bit ^ HK_ENTRY_SEEN);
		}
	}
	idx->n_unseen = idx->count;
}

void hk_index_clear(struct hk_index *idx)
{
	index_chunks_free(idx);
	index_arr_free(idx->heap, idx->heap_cap);
	idx->heap = NULL;
	idx->heap_cap = 0;
	idx->heap_ok = 0;
	idx->count = 0;
	idx->n_unseen = 0;
	idx->bytes = 0;
	index_old_free(idx);
	index_arr_free(idx->slots, idx->n_slots);
	idx->n_slots = INDEX_HASH_MIN;
	idx->slots = index_arr_new(&idx->n_slots);
}

void hk_index_reserve(struct hk_index *idx, size_t n)
{
	size_t slots;

	if (n > INDEX_MAX)
		n = INDEX_MAX;
	if (n <= idx->count)
		return;
	slots = 2 * n + 1;   /* a load of 1/2 at n, fitted afterwards */
	if (slots > idx->n_slots)
		index_hash_resize(idx, slots);
	if (n > idx->heap_cap)
		index_heap_resize(idx, n);   /* pages not yet used cost nothing */
}

void hk_index_fit(struct hk_index *idx)
{
	size_t slots = idx->count + idx->count / 4 + 1;
	size_t cap = index_round_page(idx->count * sizeof(uint32_t)) / sizeof(uint32_t);

	if (slots < INDEX_HASH_MIN)
		slots = INDEX_HASH_MIN;
	/* a table more than 1/16 above a load of 0.8 is fitted to it; a
	 * growth being filled is finished (no insert may come to do it) */
	if (idx->n_slots > slots + slots / 16)
		index_hash_resize(idx, slots);
	else if (idx->old_slots)
		index_hash_move_some(idx, idx->n_old_slots);
	if (idx->heap_cap * sizeof(uint32_t) >= INDEX_MAP_MIN && idx->heap_cap > cap &&
	    cap * sizeof(uint32_t) >= INDEX_MAP_MIN)
		index_heap_resize(idx, cap);
}

size_t hk_index_count(const struct hk_index *idx)
{
	return idx->count;
}

uint64_t hk_index_bytes(const struct hk_index *idx)
{
	return idx->bytes;
}

void hk_index_foreach(const struct hk_index *idx, void (*cb)(struct hk_entry *e, void *arg),
		      void *arg)
{
	for (size_t i = 0; i < idx->count; i++)
		cb(index_rec(idx, idx->heap[i]), arg);
}

bool hk_index_growing(const struct hk_index *idx)
{
	return idx->old_slots != NULL;
}

uint32_t hk_index_id(const struct hk_index *idx, const struct hk_entry *e)
{
	return index_id_of(idx, e);
}
