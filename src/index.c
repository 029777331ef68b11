/*
 * index.c - the in-memory index of one registration's candidate files.
 *
 * Owns every struct hk_entry of the index and two arrays of pointers to
 * them:
 *  - a hash table (open addressing, linear probing, backward-shift
 *    deletion, no tombstones) keyed by (dir, name), for O(1) lookup;
 *  - a binary min-heap ordered by hk_entry_cmp, for the oldest in O(1).
 * and the running totals (count, bytes).
 *
 * Invariants:
 *  - every entry is in exactly one hash slot and one heap slot;
 *    heap[e->heap_pos & INDEX_POS_MASK] == e;
 *  - the top bit of heap_pos is the "seen" mark and survives heap moves;
 *  - hash capacity is a power of two >= INDEX_HASH_MIN, and
 *    count <= 3/4 of it; every entry sits in the probe run that starts at
 *    its home slot (no empty slot between home and its slot);
 *  - bytes == sum of entry sizes, count == number of entries;
 *  - an entry is allocated with exactly offsetof(name) + name_len + 1 bytes.
 *
 * Memory per entry (14-byte names): 64-byte malloc chunk, 8-byte heap slot
 * (grown by 1.5x), 8-byte hash slot at load 0.375..0.75. Pure data
 * structure: no I/O, no logging.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "util.h"

#define INDEX_SEEN 0x80000000u
#define INDEX_POS_MASK 0x7fffffffu
#define INDEX_HASH_MIN 16u
#define INDEX_HEAP_MIN 16u
#define INDEX_NAME_MAX 255u

struct hk_index {
	struct hk_entry **slots;   /* hash table; NULL = empty */
	size_t slot_mask;          /* capacity - 1 */
	struct hk_entry **heap;    /* min-heap by hk_entry_cmp */
	size_t heap_cap;
	size_t count;
	uint64_t bytes;
};

/* FNV-1a 64 over the directory id (little-endian bytes) and the name,
 * followed by a multiply-xorshift finaliser so the low bits that pick the
 * slot depend on every input bit. */
static uint64_t index_hash(uint32_t dir, const char *name, size_t len)
{
	const uint64_t prime = UINT64_C(0x100000001b3);
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	const unsigned char *p = (const unsigned char *)name;

	for (unsigned i = 0; i < 4; i++) {
		h ^= (dir >> (8 * i)) & 0xffu;
		h *= prime;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= prime;
	}
	h ^= h >> 32;
	h *= UINT64_C(0xd6e8feb86659fd93);
	h ^= h >> 32;
	return h;
}

static uint64_t index_entry_hash(const struct hk_entry *e)
{
	return index_hash(e->dir, e->name, e->name_len);
}

static bool index_entry_is(const struct hk_entry *e, uint32_t dir, const char *name, size_t len)
{
	return e->dir == dir && e->name_len == len && memcmp(e->name, name, len) == 0;
}

int hk_entry_cmp(const struct hk_entry *a, const struct hk_entry *b)
{
	size_t n;
	int c;

	if (a->key_ns != b->key_ns)
		return a->key_ns < b->key_ns ? -1 : 1;
	n = a->name_len < b->name_len ? a->name_len : b->name_len;
	c = memcmp(a->name, b->name, n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return 0;
}

/* --- hash table ------------------------------------------------------- */

/* Slot holding (dir, name), or the empty slot where it would go. */
static size_t index_hash_find(const struct hk_index *idx, uint32_t dir, const char *name,
			      size_t len)
{
	size_t i = (size_t)index_hash(dir, name, len) & idx->slot_mask;

	while (idx->slots[i] != NULL && !index_entry_is(idx->slots[i], dir, name, len))
		i = (i + 1) & idx->slot_mask;
	return i;
}

/* Slot holding exactly the entry e (which must be present). */
static size_t index_hash_slot_of(const struct hk_index *idx, const struct hk_entry *e)
{
	size_t i = (size_t)index_entry_hash(e) & idx->slot_mask;

	while (idx->slots[i] != e)
		i = (i + 1) & idx->slot_mask;
	return i;
}

/* Re-hash every entry into a table of new_cap slots (a power of two). */
static void index_hash_resize(struct hk_index *idx, size_t new_cap)
{
	struct hk_entry **old = idx->slots;
	size_t old_cap = idx->slot_mask + 1;

	idx->slots = hk_xcalloc(new_cap, sizeof(*idx->slots));
	idx->slot_mask = new_cap - 1;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (old[i] == NULL)
			continue;
		j = (size_t)index_entry_hash(old[i]) & idx->slot_mask;
		while (idx->slots[j] != NULL)
			j = (j + 1) & idx->slot_mask;
		idx->slots[j] = old[i];
	}
	free(old);
}

/* Empty slot i and shift later members of its probe run back, so that no
 * lookup ever crosses a hole (no tombstones). */
static void index_hash_delete_slot(struct hk_index *idx, size_t i)
{
	size_t mask = idx->slot_mask;
	size_t j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (idx->slots[j] == NULL)
			break;
		home = (size_t)index_entry_hash(idx->slots[j]) & mask;
		/* slots[j] may move to i only if its home is not in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			idx->slots[i] = idx->slots[j];
			i = j;
		}
	}
	idx->slots[i] = NULL;
}

/* Shrink the table once load falls under 1/8 (to a load of at most 1/4). */
static void index_hash_maybe_shrink(struct hk_index *idx)
{
	size_t cap = idx->slot_mask + 1;
	size_t new_cap = cap;

	if (cap <= INDEX_HASH_MIN || idx->count >= cap / 8)
		return;
	while (new_cap > INDEX_HASH_MIN && idx->count < new_cap / 8)
		new_cap /= 2;
	index_hash_resize(idx, new_cap);
}

/* --- heap --------------------------------------------------------------- */

static size_t index_pos(const struct hk_entry *e)
{
	return e->heap_pos & INDEX_POS_MASK;
}

/* Put e in heap slot pos, keeping its seen mark. */
static void index_heap_put(struct hk_index *idx, size_t pos, struct hk_entry *e)
{
	idx->heap[pos] = e;
	e->heap_pos = (e->heap_pos & INDEX_SEEN) | (uint32_t)pos;
}

static void index_sift_up(struct hk_index *idx, size_t pos)
{
	struct hk_entry *e = idx->heap[pos];

	while (pos > 0) {
		size_t parent = (pos - 1) / 2;

		if (hk_entry_cmp(idx->heap[parent], e) <= 0)
			break;
		index_heap_put(idx, pos, idx->heap[parent]);
		pos = parent;
	}
	index_heap_put(idx, pos, e);
}

static void index_sift_down(struct hk_index *idx, size_t pos)
{
	struct hk_entry *e = idx->heap[pos];
	size_t n = idx->count;

	for (;;) {
		size_t child = 2 * pos + 1;

		if (child >= n)
			break;
		if (child + 1 < n && hk_entry_cmp(idx->heap[child + 1], idx->heap[child]) < 0)
			child++;
		if (hk_entry_cmp(e, idx->heap[child]) <= 0)
			break;
		index_heap_put(idx, pos, idx->heap[child]);
		pos = child;
	}
	index_heap_put(idx, pos, e);
}

/* Restore heap order around pos after its entry changed or was replaced. */
static void index_heap_fix(struct hk_index *idx, size_t pos)
{
	if (pos > 0 && hk_entry_cmp(idx->heap[pos], idx->heap[(pos - 1) / 2]) < 0)
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
}

static void index_heap_reserve(struct hk_index *idx, size_t need)
{
	size_t cap = idx->heap_cap;

	if (need <= cap)
		return;
	if (cap < INDEX_HEAP_MIN)
		cap = INDEX_HEAP_MIN;
	while (cap < need)
		cap += cap / 2;
	idx->heap = hk_xreallocarray(idx->heap, cap, sizeof(*idx->heap));
	idx->heap_cap = cap;
}

/* Give back heap memory once three quarters of it are unused. */
static void index_heap_maybe_shrink(struct hk_index *idx)
{
	size_t cap = idx->heap_cap / 2;

	if (idx->heap_cap <= INDEX_HEAP_MIN || idx->count >= idx->heap_cap / 4)
		return;
	if (cap < INDEX_HEAP_MIN)
		cap = INDEX_HEAP_MIN;
	idx->heap = hk_xreallocarray(idx->heap, cap, sizeof(*idx->heap));
	idx->heap_cap = cap;
}

/* --- public ----------------------------------------------------------- */

struct hk_index *hk_index_create(void)
{
	struct hk_index *idx = hk_xcalloc(1, sizeof(*idx));

	idx->slots = hk_xcalloc(INDEX_HASH_MIN, sizeof(*idx->slots));
	idx->slot_mask = INDEX_HASH_MIN - 1;
	return idx;
}

void hk_index_free(struct hk_index *idx)
{
	if (idx == NULL)
		return;
	for (size_t i = 0; i < idx->count; i++)
		free(idx->heap[i]);
	free(idx->heap);
	free(idx->slots);
	free(idx);
}

static void index_entry_set_meta(struct hk_entry *e, const struct hk_file_meta *meta)
{
	e->key_ns = meta->key_ns;
	e->mtime_ns = meta->mtime_ns;
	e->ino = meta->ino;
	e->size = meta->size;
}

int hk_index_put(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta, struct hk_entry **entry)
{
	struct hk_entry *e;
	size_t slot;

	if (name_len == 0 || name_len > INDEX_NAME_MAX)
		return -EINVAL;
	slot = index_hash_find(idx, dir, name, name_len);
	e = idx->slots[slot];
	if (e != NULL) {
		if (entry)
			*entry = e;
		e->heap_pos |= INDEX_SEEN;
		if (e->ino == meta->ino && e->size == meta->size &&
		    e->mtime_ns == meta->mtime_ns && e->key_ns == meta->key_ns)
			return 2;
		idx->bytes = idx->bytes - e->size + meta->size;
		index_entry_set_meta(e, meta);
		index_heap_fix(idx, index_pos(e));
		return 0;
	}
	if (idx->count >= INDEX_POS_MASK)
		return -EOVERFLOW;

	/* Grow first so the new entry lands in the final table. */
	if ((idx->count + 1) * 4 > (idx->slot_mask + 1) * 3) {
		index_hash_resize(idx, (idx->slot_mask + 1) * 2);
		slot = index_hash_find(idx, dir, name, name_len);
	}
	index_heap_reserve(idx, idx->count + 1);

	e = hk_xmalloc(offsetof(struct hk_entry, name) + name_len + 1);
	index_entry_set_meta(e, meta);
	e->dir = dir;
	e->heap_pos = INDEX_SEEN;
	e->name_len = (uint8_t)name_len;
	memcpy(e->name, name, name_len);
	e->name[name_len] = '\0';

	idx->slots[slot] = e;
	idx->heap[idx->count] = e;
	idx->count++;
	idx->bytes += e->size;
	index_heap_put(idx, idx->count - 1, e);
	index_sift_up(idx, idx->count - 1);
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

struct hk_entry *hk_index_get(const struct hk_index *idx, uint32_t dir, const char *name,
			      size_t name_len)
{
	if (name_len == 0 || name_len > INDEX_NAME_MAX)
		return NULL;
	return idx->slots[index_hash_find(idx, dir, name, name_len)];
}

/* Take e out of the heap and totals (not the hash); the caller frees it. */
static void index_heap_remove(struct hk_index *idx, struct hk_entry *e)
{
	size_t pos = index_pos(e);
	struct hk_entry *last;

	idx->count--;
	idx->bytes -= e->size;
	last = idx->heap[idx->count];
	if (last != e) {
		index_heap_put(idx, pos, last);
		index_heap_fix(idx, pos);
	}
}

struct hk_entry *hk_index_detach(struct hk_index *idx, struct hk_entry *e)
{
	index_hash_delete_slot(idx, index_hash_slot_of(idx, e));
	index_heap_remove(idx, e);
	index_hash_maybe_shrink(idx);
	index_heap_maybe_shrink(idx);
	return e;
}

void hk_index_remove_entry(struct hk_index *idx, struct hk_entry *e)
{
	free(hk_index_detach(idx, e));
}

int hk_index_attach(struct hk_index *idx, struct hk_entry *e)
{
	size_t slot = index_hash_find(idx, e->dir, e->name, e->name_len);
	if (idx->slots[slot] != NULL || idx->count >= INDEX_POS_MASK) {
		free(e);   /* the index learned newer facts meanwhile */
		return 0;
	}
	if ((idx->count + 1) * 4 > (idx->slot_mask + 1) * 3) {
		index_hash_resize(idx, (idx->slot_mask + 1) * 2);
		slot = index_hash_find(idx, e->dir, e->name, e->name_len);
	}
	index_heap_reserve(idx, idx->count + 1);
	e->heap_pos = INDEX_SEEN;
	idx->slots[slot] = e;
	idx->heap[idx->count] = e;
	idx->count++;
	idx->bytes += e->size;
	index_heap_put(idx, idx->count - 1, e);
	index_sift_up(idx, idx->count - 1);
	return 1;
}

bool hk_index_remove(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len)
{
	struct hk_entry *e = hk_index_get(idx, dir, name, name_len);

	if (e == NULL)
		return false;
	hk_index_remove_entry(idx, e);
	return true;
}

/* Remove every entry for which drop() is true, in O(n): unhash and free
 * them, compact the heap array, rebuild the heap. */
static size_t index_remove_if(struct hk_index *idx, bool (*drop)(const struct hk_entry *e,
								  uint32_t dir),
			      uint32_t dir)
{
	size_t kept = 0;
	size_t removed;

	for (size_t i = 0; i < idx->count; i++) {
		struct hk_entry *e = idx->heap[i];

		if (!drop(e, dir)) {
			idx->heap[kept++] = e;
			continue;
		}
		index_hash_delete_slot(idx, index_hash_slot_of(idx, e));
		idx->bytes -= e->size;
		free(e);
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
	return e->dir == dir;
}

static bool index_unseen(const struct hk_entry *e, uint32_t dir)
{
	(void)dir;
	return (e->heap_pos & INDEX_SEEN) == 0;
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
		idx->heap[i]->heap_pos &= INDEX_POS_MASK;
}

void hk_index_clear(struct hk_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		free(idx->heap[i]);
	free(idx->heap);
	idx->heap = NULL;
	idx->heap_cap = 0;
	idx->count = 0;
	idx->bytes = 0;
	free(idx->slots);
	idx->slots = hk_xcalloc(INDEX_HASH_MIN, sizeof(*idx->slots));
	idx->slot_mask = INDEX_HASH_MIN - 1;
}

struct hk_entry *hk_index_oldest(const struct hk_index *idx)
{
	return idx->count > 0 ? idx->heap[0] : NULL;
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
	memcpy(arr, idx->heap, idx->count * sizeof(*arr));
	qsort(arr, idx->count, sizeof(*arr), index_qsort_cmp);
	*out = arr;
	return idx->count;
}

void hk_index_foreach(const struct hk_index *idx, void (*cb)(struct hk_entry *e, void *arg),
		      void *arg)
{
	for (size_t i = 0; i < idx->count; i++)
		cb(idx->heap[i], arg);
}
