/*
 * index_mem.c - the memory of an index: records in the compact or the
 * spilled form, the chunks that hold them (mapped, the open list, the one
 * spare; freed records reused first) and the arrays of record ids (a
 * large one a mapping of its own). Pure: no I/O, no logging.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index_int.h"
#include "util.h"

/* --- records -------------------------------------------------------------- */

/* Fill e in the compact form; name may be e's own (inline) name. */
void index_rec_inline(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
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
void index_rec_spill(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
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
void index_rec_update(struct hk_entry *e, const struct hk_file_meta *m)
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

bool index_rec_same(const struct hk_entry *e, const struct hk_file_meta *m)
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
uint32_t index_rec_alloc(struct hk_index *idx)
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
void index_rec_release(struct hk_index *idx, uint32_t id)
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

void index_chunks_free(struct hk_index *idx)
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

size_t index_round_page(size_t n)
{
	size_t page = index_page_size();

	return (n + page - 1) / page * page;
}

/* A zeroed array of at least *n ids. A large one is a mapping of its own
 * (*n then grows to fill its last page): a resize gives the old one back
 * to the system instead of leaving a hole in the malloc heap. */
uint32_t *index_arr_new(size_t *n)
{
	size_t bytes = *n * sizeof(uint32_t);

	if (bytes < INDEX_MAP_MIN)
		return hk_xcalloc(*n, sizeof(uint32_t));
	bytes = index_round_page(bytes);
	*n = bytes / sizeof(uint32_t);
	return hk_xmap(bytes);
}

void index_arr_free(uint32_t *a, size_t n)
{
	if (n * sizeof(uint32_t) < INDEX_MAP_MIN)
		free(a);
	else
		hk_unmap(a, n * sizeof(uint32_t));
}

size_t index_arr_mapped(size_t n)
{
	return n * sizeof(uint32_t) < INDEX_MAP_MIN ? 0 : n * sizeof(uint32_t);
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

	if (idx->old_slots)
		bytes += index_arr_mapped(idx->n_old_slots);
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
