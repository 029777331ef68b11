/*
 * index_heap.c - the order of an index: hk_entry_cmp (age key, then name,
 * then directory), the binary min-heap over record ids (appended entries
 * settled when the order is next needed, Floyd's construction for many),
 * its array (grown by 1/8, moved with mremap when large, shrunk when half
 * unused), the oldest entry and a sorted snapshot. Pure: no I/O.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "index_int.h"
#include "util.h"

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

/* --- heap ----------------------------------------------------------------- */

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
void index_heap_fix(struct hk_index *idx, size_t pos)
{
	if (pos > 0 && hk_entry_cmp(index_rec(idx, idx->heap[pos]),
				    index_rec(idx, idx->heap[(pos - 1) / 2])) < 0)
		index_sift_up(idx, pos);
	else
		index_sift_down(idx, pos);
}

/* Floyd's bottom-up construction over heap[0..count): O(n). */
void index_heap_build(struct hk_index *idx)
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
void index_heap_settle(struct hk_index *idx)
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
void index_heap_resize(struct hk_index *idx, size_t cap)
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
void index_heap_reserve(struct hk_index *idx)
{
	if (idx->count < idx->heap_cap)
		return;
	index_heap_resize(idx, idx->heap_cap < INDEX_HEAP_MIN
				       ? INDEX_HEAP_MIN
				       : idx->heap_cap + idx->heap_cap / 8);
}

/* Give back heap memory once half of it is unused. */
void index_heap_maybe_shrink(struct hk_index *idx)
{
	size_t cap = idx->count + idx->count / 8;

	if (idx->heap_cap <= INDEX_HEAP_MIN || idx->count * 2 >= idx->heap_cap)
		return;
	index_heap_resize(idx, cap < INDEX_HEAP_MIN ? INDEX_HEAP_MIN : cap);
}

struct hk_entry *hk_index_oldest(const struct hk_index *cidx)
{
	/* logically const: ordering what was appended changes no content
	 * (and no index is ever defined const) */
	struct hk_index *idx = (struct hk_index *)cidx;

	index_heap_settle(idx);
	return idx->count > 0 ? index_rec(idx, idx->heap[0]) : NULL;
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
