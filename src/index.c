/*
 * index.c - the in-memory index of one registration's candidate files.
 *
 * Owns every record (struct hk_entry) of the index, their spill blocks,
 * and two arrays of 32-bit record ids:
 *  - a hash table (open addressing, linear probing, backward-shift
 *    deletion, no tombstones) keyed by (dir, name), for O(1) lookup; a
 *    slot is id << 4 | fingerprint (1..15, a few more hash bits, so most
 *    non-matching probes do not touch the record), 0 when empty;
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
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "index.h"
#include "util.h"

#define INDEX_POS_MASK 0x0fffffffu
#define INDEX_ID_BITS 28
#define INDEX_MAX ((UINT32_C(1) << INDEX_ID_BITS) - 1u)   /* entries */
#define INDEX_FP_BITS 4
#define INDEX_FP_MASK 0xfu
#define INDEX_CHUNK_SHIFT 12
#define INDEX_CHUNK_BYTES ((size_t)HK_INDEX_CHUNK * sizeof(struct hk_entry))
#define INDEX_HASH_MIN 16u
#define INDEX_HEAP_MIN 16u
#define INDEX_MAP_MIN (64u * 1024u)
#define INDEX_NAME_MAX 255u
#define INDEX_NONE UINT32_MAX

_Static_assert(sizeof(struct hk_entry) == 38, "a record is 38 bytes");
_Static_assert(sizeof(void *) + sizeof(uint32_t) <= sizeof(((struct hk_entry *)0)->name),
	       "a spilled record's name holds its pointer and directory id");
_Static_assert(HK_INDEX_CHUNK == 1u << INDEX_CHUNK_SHIFT, "chunk size and shift agree");

struct index_chunk {
	struct hk_entry *recs;   /* NULL: the number is not in use */
	uint32_t free_head;      /* first freed record + 1; 0 = none */
	uint32_t live;
	uint32_t bumped;         /* records ever handed out: the touched part */
	uint32_t prev, next;     /* open list */
};

struct hk_index {
	uint32_t *slots;         /* hash table */
	size_t n_slots;
	uint32_t *heap;          /* ids, min-heap by hk_entry_cmp */
	size_t heap_cap;
	size_t heap_ok;          /* heap[0..heap_ok) is in heap order; the rest
				  * was appended since (index_heap_settle) */
	size_t count;
	uint64_t bytes;
	struct index_chunk *chunks;
	uint32_t n_chunks;       /* numbers in use are below */
	uint32_t cap_chunks;
	uint32_t open_head, open_tail;
	uint32_t spare;          /* the empty chunk kept, or INDEX_NONE */
};

/* --- records -------------------------------------------------------------- */

static struct hk_entry *index_rec(const struct hk_index *idx, uint32_t id)
{
	return &idx->chunks[id >> INDEX_CHUNK_SHIFT].recs[id & (HK_INDEX_CHUNK - 1)];
}

static uint32_t index_id_of(const struct hk_index *idx, const struct hk_entry *e)
{
	return idx->heap[e->heap_pos & INDEX_POS_MASK];
}

static struct hk_entry_spill *index_spill(struct hk_entry *e)
{
	return (struct hk_entry_spill *)hk_entry_spill_of(e);
}

static bool index_fits_inline(uint32_t dir, size_t len, const struct hk_file_meta *m)
{
	return len <= HK_ENTRY_INLINE_MAX && m->key_ns == m->mtime_ns && m->size >> 32 == 0 &&
	       m->ino >> 32 == 0 && dir < HK_ENTRY_DIR_INLINE;
}

/* Fill e in the compact form; name may be e's own (inline) name. */
static void index_rec_inline(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
			     const struct hk_file_meta *m)
{
	e->mtime_ns = m->mtime_ns;
	e->size32 = (uint32_t)m->size;
	e->ino32 = (uint32_t)m->ino;
	e->dir24[0] = (uint8_t)dir;
	e->dir24[1] = (uint8_t)(dir >> 8);
	e->dir24[2] = (uint8_t)(dir >> 16);
	memmove(e->name, name, len);
	memset(e->name + len, 0, sizeof(e->name) - len);
	e->heap_pos &= ~(HK_ENTRY_SPILL | HK_ENTRY_FREE);
}

/* Fill e in the spilled form with a new block; name may be e's own. */
static void index_rec_spill(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
			    const struct hk_file_meta *m)
{
	struct hk_entry_spill *s = hk_xmalloc(offsetof(struct hk_entry_spill, name) + len + 1);

	s->key_ns = m->key_ns;
	s->ino = m->ino;
	s->size = m->size;
	s->name_len = (uint8_t)len;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	e->mtime_ns = m->mtime_ns;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, &s, sizeof(s));
	memcpy(e->name + sizeof(s), &dir, sizeof(dir));
	e->heap_pos = (e->heap_pos & ~HK_ENTRY_FREE) | HK_ENTRY_SPILL;
}

/* Replace e's metadata, switching between the two forms as needed. */
static void index_rec_update(struct hk_entry *e, const struct hk_file_meta *m)
{
	struct hk_entry_spill *s = index_spill(e);
	size_t len = hk_entry_name_len(e);
	uint32_t dir = hk_entry_dir(e);

	if (s == NULL && index_fits_inline(dir, len, m)) {
		index_rec_inline(e, dir, e->name, len, m);
	} else if (s == NULL) {
		char name[HK_ENTRY_INLINE_MAX];

		memcpy(name, e->name, len);
		index_rec_spill(e, dir, name, len, m);
	} else if (index_fits_inline(dir, len, m)) {
		index_rec_inline(e, dir, s->name, len, m);
		free(s);
	} else {
		s->key_ns = m->key_ns;
		s->ino = m->ino;
		s->size = m->size;
		e->mtime_ns = m->mtime_ns;
	}
}

static bool index_rec_same(const struct hk_entry *e, const struct hk_file_meta *m)
{
	return hk_entry_ino(e) == m->ino && hk_entry_size(e) == m->size &&
	       hk_entry_mtime(e) == m->mtime_ns && hk_entry_key(e) == m->key_ns;
}

void hk_entry_free(struct hk_entry *e)
{
	if (e == NULL)
		return;
	free(index_spill(e));
	free(e);
}

/* --- chunks --------------------------------------------------------------- */

static void index_open_unlink(struct hk_index *idx, uint32_t c)
{
	struct index_chunk *ch = &idx->chunks[c];

	if (ch->prev != INDEX_NONE)
		idx->chunks[ch->prev].next = ch->next;
	else
		idx->open_head = ch->next;
	if (ch->next != INDEX_NONE)
		idx->chunks[ch->next].prev = ch->prev;
	else
		idx->open_tail = ch->prev;
	ch->prev = ch->next = INDEX_NONE;
}

static void index_open_push(struct hk_index *idx, uint32_t c, bool at_tail)
{
	struct index_chunk *ch = &idx->chunks[c];

	if (idx->open_head == INDEX_NONE) {
		ch->prev = ch->next = INDEX_NONE;
		idx->open_head = idx->open_tail = c;
	} else if (at_tail) {
		ch->prev = idx->open_tail;
		ch->next = INDEX_NONE;
		idx->chunks[idx->open_tail].next = c;
		idx->open_tail = c;
	} else {
		ch->prev = INDEX_NONE;
		ch->next = idx->open_head;
		idx->chunks[idx->open_head].prev = c;
		idx->open_head = c;
	}
}

/* Map a chunk under the lowest free number and open it. */
static uint32_t index_chunk_new(struct hk_index *idx)
{
	uint32_t c = 0;

	while (c < idx->n_chunks && idx->chunks[c].recs != NULL)
		c++;
	if (c == idx->n_chunks) {
		if (c == idx->cap_chunks) {
			idx->cap_chunks = idx->cap_chunks ? idx->cap_chunks * 2 : 4;
			idx->chunks = hk_xreallocarray(idx->chunks, idx->cap_chunks,
						       sizeof(*idx->chunks));
		}
		idx->n_chunks++;
	}
	idx->chunks[c] = (struct index_chunk){ .recs = hk_xmap(INDEX_CHUNK_BYTES) };
	index_open_push(idx, c, false);
	return c;
}

static void index_chunk_unmap(struct hk_index *idx, uint32_t c)
{
	hk_unmap(idx->chunks[c].recs, INDEX_CHUNK_BYTES);
	idx->chunks[c].recs = NULL;
	while (idx->n_chunks > 0 && idx->chunks[idx->n_chunks - 1].recs == NULL)
		idx->n_chunks--;
}

/* A free record: from the first open chunk, its freed ones first. */
static uint32_t index_rec_alloc(struct hk_index *idx)
{
	uint32_t c = idx->open_head;
	struct index_chunk *ch;
	uint32_t slot;

	if (c == INDEX_NONE)
		c = index_chunk_new(idx);
	ch = &idx->chunks[c];
	if (ch->free_head != 0) {
		slot = ch->free_head - 1;
		memcpy(&ch->free_head, &ch->recs[slot], sizeof(ch->free_head));
	} else {
		slot = ch->bumped++;
	}
	if (c == idx->spare)
		idx->spare = INDEX_NONE;
	if (++ch->live == HK_INDEX_CHUNK)
		index_open_unlink(idx, c);
	return c << INDEX_CHUNK_SHIFT | slot;
}

/* Give record id back (its spill block is someone else's business). */
static void index_rec_release(struct hk_index *idx, uint32_t id)
{
	uint32_t c = id >> INDEX_CHUNK_SHIFT;
	uint32_t slot = id & (HK_INDEX_CHUNK - 1);
	struct index_chunk *ch = &idx->chunks[c];
	struct hk_entry *e = &ch->recs[slot];

	e->heap_pos = HK_ENTRY_FREE;
	memcpy(e, &ch->free_head, sizeof(ch->free_head));
	ch->free_head = slot + 1;
	if (ch->live-- == HK_INDEX_CHUNK)
		index_open_push(idx, c, false);
	if (ch->live > 0)
		return;
	index_open_unlink(idx, c);
	if (idx->spare == INDEX_NONE) {
		idx->spare = c;
		index_open_push(idx, c, true);   /* partly used chunks first */
	} else {
		index_chunk_unmap(idx, c);
	}
}

static void index_chunks_free(struct hk_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		free(index_spill(index_rec(idx, idx->heap[i])));
	for (uint32_t c = 0; c < idx->n_chunks; c++)
		hk_unmap(idx->chunks[c].recs, INDEX_CHUNK_BYTES);
	free(idx->chunks);
	idx->chunks = NULL;
	idx->n_chunks = idx->cap_chunks = 0;
	idx->open_head = idx->open_tail = idx->spare = INDEX_NONE;
}

/* --- arrays --------------------------------------------------------------- */

static size_t index_page_size(void)
{
	static size_t page;

	if (page == 0) {
		long p = sysconf(_SC_PAGESIZE);
		page = p > 0 ? (size_t)p : 4096;
	}
	return page;
}

static size_t index_round_page(size_t n)
{
	size_t page = index_page_size();

	return (n + page - 1) / page * page;
}

/* A zeroed array of at least *n ids. A large one is a mapping of its own
 * (*n then grows to fill its last page): a resize gives the old one back
 * to the system instead of leaving a hole in the malloc heap. */
static uint32_t *index_arr_new(size_t *n)
{
	size_t bytes = *n * sizeof(uint32_t);

	if (bytes < INDEX_MAP_MIN)
		return hk_xcalloc(*n, sizeof(uint32_t));
	bytes = index_round_page(bytes);
	*n = bytes / sizeof(uint32_t);
	return hk_xmap(bytes);
}

static void index_arr_free(uint32_t *a, size_t n)
{
	if (n * sizeof(uint32_t) < INDEX_MAP_MIN)
		free(a);
	else
		hk_unmap(a, n * sizeof(uint32_t));
}

static size_t index_arr_mapped(size_t n)
{
	return n * sizeof(uint32_t) < INDEX_MAP_MIN ? 0 : n * sizeof(uint32_t);
}

/* --- order ---------------------------------------------------------------- */

int hk_entry_cmp(const struct hk_entry *a, const struct hk_entry *b)
{
	int64_t ka = hk_entry_key(a), kb = hk_entry_key(b);
	size_t la, lb, n;
	int c;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	la = hk_entry_name_len(a);
	lb = hk_entry_name_len(b);
	n = la < lb ? la : lb;
	c = memcmp(hk_entry_name(a), hk_entry_name(b), n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	if (hk_entry_dir(a) != hk_entry_dir(b))
		return hk_entry_dir(a) < hk_entry_dir(b) ? -1 : 1;
	return 0;
}

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

/* Home slot: the high half of the hash scaled to the table (fastrange),
 * so the capacity need not be a power of two. */
static size_t index_home(const struct hk_index *idx, uint64_t h)
{
	return (size_t)(((h >> 32) * (uint64_t)idx->n_slots) >> 32);
}

/* The slot value of id: the fingerprint is never 0, so 0 means empty. */
static uint32_t index_slot_val(uint32_t id, uint64_t h)
{
	uint32_t fp = (uint32_t)(((h & UINT32_MAX) * INDEX_FP_MASK) >> 32) + 1u;

	return id << INDEX_FP_BITS | fp;
}

static size_t index_next(const struct hk_index *idx, size_t i)
{
	return i + 1 == idx->n_slots ? 0 : i + 1;
}

static bool index_entry_is(const struct hk_entry *e, uint32_t dir, const char *name, size_t len)
{
	return hk_entry_dir(e) == dir && hk_entry_name_len(e) == len &&
	       memcmp(hk_entry_name(e), name, len) == 0;
}

/* Slot holding (dir, name) of hash h, or the empty slot where it would go. */
static size_t index_hash_find(const struct hk_index *idx, uint64_t h, uint32_t dir,
			      const char *name, size_t len)
{
	uint32_t fp = index_slot_val(0, h);
	size_t i = index_home(idx, h);
	uint32_t s;

	while ((s = idx->slots[i]) != 0) {
		if ((s & INDEX_FP_MASK) == fp &&
		    index_entry_is(index_rec(idx, s >> INDEX_FP_BITS), dir, name, len))
			break;
		i = index_next(idx, i);
	}
	return i;
}

/* Slot holding record id (which must be present). */
static size_t index_hash_slot_of(const struct hk_index *idx, uint32_t id)
{
	uint64_t h = index_entry_hash(index_rec(idx, id));
	uint32_t want = index_slot_val(id, h);
	size_t i = index_home(idx, h);

	while (idx->slots[i] != want)
		i = index_next(idx, i);
	return i;
}

/* Re-hash every entry (from the heap array) into a table of n slots. */
static void index_hash_resize(struct hk_index *idx, size_t n)
{
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
				i = index_next(idx, i);
			idx->slots[i] = index_slot_val(c << INDEX_CHUNK_SHIFT | k, h);
		}
	}
}

/* Make room for one more entry: grow by 1.25x past a load of 0.8. */
static bool index_hash_grow(struct hk_index *idx)
{
	if ((idx->count + 1) * 5 <= idx->n_slots * 4)
		return false;
	index_hash_resize(idx, idx->n_slots + idx->n_slots / 4);
	return true;
}

/* Once load falls under 1/2, shrink back to a load of 0.64. */
static void index_hash_maybe_shrink(struct hk_index *idx)
{
	size_t n = idx->count + idx->count * 9 / 16;

	if (idx->n_slots <= INDEX_HASH_MIN || idx->count * 2 >= idx->n_slots)
		return;
	index_hash_resize(idx, n < INDEX_HASH_MIN ? INDEX_HASH_MIN : n);
}

/* Empty slot i and shift later members of its probe run back, so that no
 * lookup ever crosses a hole (no tombstones). */
static void index_hash_delete_slot(struct hk_index *idx, size_t i)
{
	size_t n = idx->n_slots;
	size_t j = i;

	for (;;) {
		uint32_t s;
		size_t home;

		j = index_next(idx, j);
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

/* --- heap ----------------------------------------------------------------- */

static size_t index_pos(const struct hk_entry *e)
{
	return e->heap_pos & INDEX_POS_MASK;
}

/* Put id in heap slot pos, keeping its seen mark. */
static void index_heap_put(struct hk_index *idx, size_t pos, uint32_t id)
{
	struct hk_entry *e = index_rec(idx, id);

	idx->heap[pos] = id;
	e->heap_pos = (e->heap_pos & ~INDEX_POS_MASK) | (uint32_t)pos;
}

static void index_sift_up(struct hk_index *idx, size_t pos)
{
	uint32_t id = idx->heap[pos];
	const struct hk_entry *e = index_rec(idx, id);

	while (pos > 0) {
		size_t parent = (pos - 1) / 2;

		if (hk_entry_cmp(index_rec(idx, idx->heap[parent]), e) <= 0)
			break;
		index_heap_put(idx, pos, idx->heap[parent]);
		pos = parent;
	}
	index_heap_put(idx, pos, id);
}

static void index_sift_down(struct hk_index *idx, size_t pos)
{
	uint32_t id = idx->heap[pos];
	const struct hk_entry *e = index_rec(idx, id);
	size_t n = idx->count;

	for (;;) {
		size_t child = 2 * pos + 1;

		if (child >= n)
			break;
		if (child + 1 < n && hk_entry_cmp(index_rec(idx, idx->heap[child + 1]),
						  index_rec(idx, idx->heap[child])) < 0)
			child++;
		if (hk_entry_cmp(e, index_rec(idx, idx->heap[child])) <= 0)
			break;
		index_heap_put(idx, pos, idx->heap[child]);
		pos = child;
	}
	index_heap_put(idx, pos, id);
}

/* Restore heap order around pos after its entry changed or was replaced. */
static void index_heap_fix(struct hk_index *idx, size_t pos)
{
	if (pos > 0 && hk_entry_cmp(index_rec(idx, idx->heap[pos]),
				    index_rec(idx, idx->heap[(pos - 1) / 2])) < 0)
		index_sift_up(idx, pos);
	else
		index_sift_down(idx, pos);
}

/* Floyd's bottom-up construction over heap[0..count): O(n). */
static void index_heap_build(struct hk_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		index_heap_put(idx, i, idx->heap[i]);
	for (size_t i = idx->count / 2; i-- > 0;)
		index_sift_down(idx, i);
	idx->heap_ok = idx->count;
}

/* Give heap order to the entries appended since the last settle (inserts
 * append without ordering, so that a bulk load costs O(n), not a sift up
 * through random records per file): one by one when they are few, by
 * Floyd's construction (positions are already right) when they are many.
 * Whatever reads or changes the order settles first. */
static void index_heap_settle(struct hk_index *idx)
{
	size_t pending = idx->count - idx->heap_ok;

	if (pending == 0)
		return;
	if (pending > 64 && pending * 16 >= idx->count) {
		for (size_t i = idx->count / 2; i-- > 0;)
			index_sift_down(idx, i);
	} else {
		for (size_t i = idx->heap_ok; i < idx->count; i++)
			index_sift_up(idx, i);
	}
	idx->heap_ok = idx->count;
}

/* A large heap array that stays large is moved with mremap: no copy, and
 * its pages are not touched again (growing by 1/8 would otherwise copy
 * and fault in the whole array eight times over). */
static void index_heap_resize(struct hk_index *idx, size_t cap)
{
	size_t old = idx->heap_cap * sizeof(uint32_t);
	size_t bytes = index_round_page(cap * sizeof(uint32_t));
	uint32_t *heap;

	if (old >= INDEX_MAP_MIN && bytes >= INDEX_MAP_MIN && bytes >= idx->count * sizeof(*heap)) {
		heap = mremap(idx->heap, old, bytes, MREMAP_MAYMOVE);
		if (heap != MAP_FAILED) {
			idx->heap = heap;
			idx->heap_cap = bytes / sizeof(*heap);
			return;
		}
	}
	heap = index_arr_new(&cap);
	if (idx->count > 0)
		memcpy(heap, idx->heap, idx->count * sizeof(*heap));
	index_arr_free(idx->heap, idx->heap_cap);
	idx->heap = heap;
	idx->heap_cap = cap;
}

/* Room for one more, growing by 1/8 so that the slack stays small. */
static void index_heap_reserve(struct hk_index *idx)
{
	if (idx->count < idx->heap_cap)
		return;
	index_heap_resize(idx, idx->heap_cap < INDEX_HEAP_MIN
				       ? INDEX_HEAP_MIN
				       : idx->heap_cap + idx->heap_cap / 8);
}

/* Give back heap memory once half of it is unused. */
static void index_heap_maybe_shrink(struct hk_index *idx)
{
	size_t cap = idx->count + idx->count / 8;

	if (idx->heap_cap <= INDEX_HEAP_MIN || idx->count * 2 >= idx->heap_cap)
		return;
	index_heap_resize(idx, cap < INDEX_HEAP_MIN ? INDEX_HEAP_MIN : cap);
}

/* --- insert and remove ---------------------------------------------------- */

/* Enter record id (filled, of hash h) at empty hash slot `slot`; the heap
 * has room. */
static void index_insert(struct hk_index *idx, size_t slot, uint64_t h, uint32_t id)
{
	struct hk_entry *e = index_rec(idx, id);

	e->heap_pos = (e->heap_pos & HK_ENTRY_SPILL) | HK_ENTRY_SEEN;
	idx->slots[slot] = index_slot_val(id, h);
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
	index_hash_delete_slot(idx, index_hash_slot_of(idx, id));
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
	return idx;
}

void hk_index_free(struct hk_index *idx)
{
	if (idx == NULL)
		return;
	index_chunks_free(idx);
	index_arr_free(idx->heap, idx->heap_cap);
	index_arr_free(idx->slots, idx->n_slots);
	free(idx);
}

int hk_index_put(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta, struct hk_entry **entry)
{
	struct hk_entry *e;
	uint64_t h;
	size_t slot;
	uint32_t id;

	if (name_len == 0 || name_len > INDEX_NAME_MAX)
		return -EINVAL;
	h = index_hash(dir, name, name_len);
	slot = index_hash_find(idx, h, dir, name, name_len);
	if (idx->slots[slot] != 0) {
		e = index_rec(idx, idx->slots[slot] >> INDEX_FP_BITS);
		if (entry)
			*entry = e;
		e->heap_pos |= HK_ENTRY_SEEN;
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
	s = idx->slots[index_hash_find(idx, index_hash(dir, name, name_len), dir, name,
				       name_len)];
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
	size_t slot = index_hash_find(idx, h, dir, name, len);
	uint32_t id;

	if (idx->slots[slot] != 0 || idx->count >= INDEX_MAX) {
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
static size_t index_remove_if(struct hk_index *idx, bool (*drop)(const struct hk_entry *e,
								  uint32_t dir),
			      uint32_t dir)
{
	size_t kept = 0;
	size_t removed;

	for (size_t i = 0; i < idx->count; i++) {
		uint32_t id = idx->heap[i];
		struct hk_entry *e = index_rec(idx, id);

		if (!drop(e, dir)) {
			idx->heap[kept++] = id;
			continue;
		}
		index_hash_delete_slot(idx, index_hash_slot_of(idx, id));
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

static bool index_in_dir(const struct hk_entry *e, uint32_t dir)
{
	return hk_entry_dir(e) == dir;
}

static bool index_unseen(const struct hk_entry *e, uint32_t dir)
{
	(void)dir;
	return !hk_entry_seen(e);
}

size_t hk_index_remove_dir(struct hk_index *idx, uint32_t dir)
{
	return index_remove_if(idx, index_in_dir, dir);
}

size_t hk_index_sweep_unseen(struct hk_index *idx)
{
	return index_remove_if(idx, index_unseen, 0);
}

void hk_index_unmark_all(struct hk_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		index_rec(idx, idx->heap[i])->heap_pos &= ~HK_ENTRY_SEEN;
}

void hk_index_clear(struct hk_index *idx)
{
	index_chunks_free(idx);
	index_arr_free(idx->heap, idx->heap_cap);
	idx->heap = NULL;
	idx->heap_cap = 0;
	idx->heap_ok = 0;
	idx->count = 0;
	idx->bytes = 0;
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
	/* a table more than 1/16 above a load of 0.8 is fitted to it */
	if (idx->n_slots > slots + slots / 16)
		index_hash_resize(idx, slots);
	if (idx->heap_cap * sizeof(uint32_t) >= INDEX_MAP_MIN && idx->heap_cap > cap &&
	    cap * sizeof(uint32_t) >= INDEX_MAP_MIN)
		index_heap_resize(idx, cap);
}

struct hk_entry *hk_index_oldest(const struct hk_index *cidx)
{
	/* logically const: ordering what was appended changes no content
	 * (and no index is ever defined const) */
	struct hk_index *idx = (struct hk_index *)cidx;

	index_heap_settle(idx);
	return idx->count > 0 ? index_rec(idx, idx->heap[0]) : NULL;
}

size_t hk_index_count(const struct hk_index *idx)
{
	return idx->count;
}

uint64_t hk_index_bytes(const struct hk_index *idx)
{
	return idx->bytes;
}

static int index_qsort_cmp(const void *a, const void *b)
{
	const struct hk_entry *const *ea = a;
	const struct hk_entry *const *eb = b;

	return hk_entry_cmp(*ea, *eb);
}

size_t hk_index_sorted(const struct hk_index *idx, struct hk_entry ***out)
{
	struct hk_entry **arr;

	if (idx->count == 0) {
		*out = NULL;
		return 0;
	}
	arr = hk_xreallocarray(NULL, idx->count, sizeof(*arr));
	for (size_t i = 0; i < idx->count; i++)
		arr[i] = index_rec(idx, idx->heap[i]);
	qsort(arr, idx->count, sizeof(*arr), index_qsort_cmp);
	*out = arr;
	return idx->count;
}

void hk_index_foreach(const struct hk_index *idx, void (*cb)(struct hk_entry *e, void *arg),
		      void *arg)
{
	for (size_t i = 0; i < idx->count; i++)
		cb(index_rec(idx, idx->heap[i]), arg);
}

uint32_t hk_index_id(const struct hk_index *idx, const struct hk_entry *e)
{
	return index_id_of(idx, e);
}

size_t hk_index_walk(const struct hk_index *idx, uint32_t *next, size_t max,
		     void (*cb)(struct hk_entry *e, void *arg), void *arg)
{
	size_t n = 0;
	uint32_t c = *next >> INDEX_CHUNK_SHIFT;
	uint32_t k = *next & (HK_INDEX_CHUNK - 1);

	for (; c < idx->n_chunks && n < max; c++, k = 0) {
		const struct index_chunk *ch = &idx->chunks[c];

		for (; ch->recs != NULL && k < ch->bumped && n < max; k++) {
			if (ch->recs[k].heap_pos & HK_ENTRY_FREE)
				continue;   /* a freed record */
			cb(&ch->recs[k], arg);
			n++;
			*next = (c << INDEX_CHUNK_SHIFT | k) + 1;
		}
	}
	return n;
}

size_t hk_index_mapped(const struct hk_index *idx, size_t *chunks)
{
	size_t bytes = index_arr_mapped(idx->n_slots) + index_arr_mapped(idx->heap_cap);
	size_t n = 0;

	for (uint32_t c = 0; c < idx->n_chunks; c++) {
		if (idx->chunks[c].recs == NULL)
			continue;
		n++;
		bytes += index_round_page(idx->chunks[c].bumped * sizeof(struct hk_entry));
	}
	if (chunks)
		*chunks = n;
	return bytes;
}
