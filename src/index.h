/*
 * index.h - the in-memory index of one registration's candidate files.
 *
 * Holds, for every regular file that matches the registration (pattern,
 * excludes), its directory id, name, inode, size, mtime and age key. Gives
 * O(1) lookup by (dir, name), the oldest entry in O(1) (a binary min-heap
 * ordered by age key, ties by name in byte order, then dir id), O(log n)
 * insert/update/remove, and running totals of files and bytes.
 *
 * Memory per file: a 38-byte record in slabs of HK_INDEX_CHUNK records
 * (their own mappings, given back when they empty), a 4-byte hash slot at
 * load 0.64..0.8 (5..6.25 bytes; 0.8 after hk_index_fit) and a 4-byte
 * heap slot with at most 1/8 slack (4..4.5 bytes; none after a fit):
 * 47..48.75 bytes per file when the name has 1..14 bytes, the age key is
 * the mtime, size and inode are below 2^32 and the directory id below
 * 2^24 (test_index measures it). Any other file also has a malloc'd block
 * of 26 bytes + name (a 48-byte malloc chunk or more).
 * At most 2^28 - 1 files. Pure data structure: no I/O.
 *
 * Directory ids are opaque to the index: the caller (scan/watch) assigns
 * them, e.g. 0 for the registered root, others for subdirectories.
 */
#ifndef HK_INDEX_H
#define HK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct hk_index;

#define HK_INDEX_CHUNK 4096u        /* records per slab */
#define HK_ENTRY_SEEN 0x80000000u   /* in heap_pos: the seen mark */
#define HK_ENTRY_SPILL 0x40000000u  /* in heap_pos: the record has a spill block */
#define HK_ENTRY_FREE 0x20000000u   /* in heap_pos: a freed record (internal) */
#define HK_ENTRY_INLINE_MAX 14u     /* longest name kept in the record */
#define HK_ENTRY_DIR_INLINE (UINT32_C(1) << 24)   /* directory ids kept in the record */

/* One indexed file, a 38-byte record. Read it only through the hk_entry_*
 * accessors below, and change nothing. Owned by the index and valid until
 * removed or the index is freed; a detached entry (hk_index_detach) is the
 * caller's. Internals: size and ino are 32-bit, the directory id 24-bit;
 * names of up to 14 bytes are inline, NUL-terminated (their length is
 * their strlen); otherwise (or when the key is not the mtime, or size,
 * ino or dir do not fit) heap_pos has HK_ENTRY_SPILL and name holds a
 * pointer to a struct hk_entry_spill, which then has the authoritative
 * key, ino, size and name, and at name + 8 the 32-bit directory id. */
struct hk_entry {
	int64_t mtime_ns;    /* for the re-check before unlink */
	uint32_t heap_pos;   /* internal: slot in the heap; top bits: seen, spill, free */
	uint32_t size32;
	uint32_t ino32;
	uint8_t dir24[3];    /* caller's directory id, little-endian */
	char name[15];       /* NUL-terminated, or a spill pointer and the dir */
} __attribute__((packed, aligned(2)));

/* Internal: what a spilled record points to (malloc'd, exact size). */
struct hk_entry_spill {
	int64_t key_ns;
	uint64_t ino;
	uint64_t size;
	uint8_t name_len;    /* 1..255 */
	char name[];         /* NUL-terminated */
};

static inline const struct hk_entry_spill *hk_entry_spill_of(const struct hk_entry *e)
{
	const struct hk_entry_spill *s;

	if (!(e->heap_pos & HK_ENTRY_SPILL))
		return NULL;
	memcpy(&s, e->name, sizeof(s));
	return s;
}

/* The name, NUL-terminated: valid while e is, and until e is updated. */
static inline const char *hk_entry_name(const struct hk_entry *e)
{
	const struct hk_entry_spill *s = hk_entry_spill_of(e);

	return s ? s->name : e->name;
}

static inline size_t hk_entry_name_len(const struct hk_entry *e)
{
	const struct hk_entry_spill *s = hk_entry_spill_of(e);

	return s ? s->name_len : strnlen(e->name, HK_ENTRY_INLINE_MAX);
}

static inline uint32_t hk_entry_dir(const struct hk_entry *e)
{
	uint32_t dir;

	if (e->heap_pos & HK_ENTRY_SPILL) {
		memcpy(&dir, e->name + sizeof(void *), sizeof(dir));
		return dir;
	}
	return (uint32_t)e->dir24[0] | (uint32_t)e->dir24[1] << 8 | (uint32_t)e->dir24[2] << 16;
}

static inline uint64_t hk_entry_size(const struct hk_entry *e)
{
	const struct hk_entry_spill *s = hk_entry_spill_of(e);

	return s ? s->size : e->size32;
}

static inline uint64_t hk_entry_ino(const struct hk_entry *e)
{
	const struct hk_entry_spill *s = hk_entry_spill_of(e);

	return s ? s->ino : e->ino32;
}

static inline int64_t hk_entry_mtime(const struct hk_entry *e)
{
	return e->mtime_ns;
}

/* The age key: the newest of the age_by times. */
static inline int64_t hk_entry_key(const struct hk_entry *e)
{
	const struct hk_entry_spill *s = hk_entry_spill_of(e);

	return s ? s->key_ns : e->mtime_ns;
}

/* Was the entry set since the last hk_index_unmark_all? */
bool hk_index_seen(const struct hk_index *idx, const struct hk_entry *e);
/* How many entries were not (in O(1)). */
size_t hk_index_unseen(const struct hk_index *idx);

/* Free a detached entry (hk_index_detach); NULL is a no-op. Never for an
 * entry that is in an index. */
void hk_entry_free(struct hk_entry *e);

/* What the caller learned from fstatat. */
struct hk_file_meta {
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	int64_t key_ns;
};

struct hk_index *hk_index_create(void);
void hk_index_free(struct hk_index *idx);   /* NULL is a no-op */

/* Insert or update the entry for (dir, name); marks it seen. name is
 * name_len bytes, need not be NUL-terminated and is copied. Returns 1 when
 * added, 0 when updated (meta replaced, order and byte total adjusted),
 * -EINVAL for an empty or over-255-byte name, -EOVERFLOW when the index
 * already holds 2^28 - 1 entries. Existing entry pointers stay valid
 * either way (an updated entry's name pointer may change). */
int hk_index_set(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta);
/* The same, and *entry (when not NULL) is the entry afterwards; returns 2
 * instead of 0 when the entry was there with the very same metadata (only
 * marked seen): one hash lookup for "insert, or tell me what changed". */
int hk_index_put(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta, struct hk_entry **entry);
/* A hint: (dir, name) will be looked up soon; brings its hash slot into
 * the cache meanwhile. */
void hk_index_prefetch(const struct hk_index *idx, uint32_t dir, const char *name,
		       size_t name_len);
/* Look up (dir, name); NULL when absent. */
struct hk_entry *hk_index_get(const struct hk_index *idx, uint32_t dir, const char *name,
			      size_t name_len);
/* Remove and free an entry. Returns true if it was there. remove_entry
 * takes an entry of this index (e.g. hk_index_oldest()). */
bool hk_index_remove(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len);
void hk_index_remove_entry(struct hk_index *idx, struct hk_entry *e);
/* Take entry e of this index out of it and return a copy that the caller
 * owns (e itself is gone): the caller frees the copy (hk_entry_free) or
 * gives it back (hk_index_attach). Used to set files aside while their
 * deletion is being recorded and done. */
struct hk_entry *hk_index_detach(struct hk_index *idx, struct hk_entry *e);
/* Give a detached entry back (marked seen); e is consumed either way and
 * must not be used afterwards. Returns the entry now in the index, or NULL
 * when the index has an entry for the same (dir, name) by now (that one is
 * newer: e is freed; also when the index is full). */
struct hk_entry *hk_index_attach(struct hk_index *idx, struct hk_entry *e);
/* Remove every entry of directory dir (that directory went away); returns
 * how many. O(n). */
size_t hk_index_remove_dir(struct hk_index *idx, uint32_t dir);
void hk_index_clear(struct hk_index *idx);

/* Bulk loading: make room for n entries in all (a hint: the index still
 * grows past it), the hash table at a load of 1/2 (short probes while it
 * fills). hk_index_fit then sizes the hash table to a load of 0.8 and the
 * heap array to the count, giving back what a hint or growth left unused.
 * Both O(count). */
void hk_index_reserve(struct hk_index *idx, size_t n);
void hk_index_fit(struct hk_index *idx);

/* The oldest entry (smallest key, ties by name then dir), NULL if empty. */
struct hk_entry *hk_index_oldest(const struct hk_index *idx);
size_t hk_index_count(const struct hk_index *idx);
uint64_t hk_index_bytes(const struct hk_index *idx);

/* Reconcile support: clear every entry's seen mark; hk_index_set marks
 * entries seen; hk_index_sweep_unseen removes the unmarked ones (files
 * that a rescan did not find) and returns how many it removed. */
void hk_index_unmark_all(struct hk_index *idx);
size_t hk_index_sweep_unseen(struct hk_index *idx);

/* A snapshot of all entries ordered oldest first (the policy order). The
 * array is new, owned by the caller (free()); the entries stay owned by the
 * index and are valid until the index changes. Returns the count; for an
 * empty index 0 with *out = NULL. O(n log n). */
size_t hk_index_sorted(const struct hk_index *idx, struct hk_entry ***out);

/* Visit every entry in no particular order. The callback must not modify
 * the index. */
void hk_index_foreach(const struct hk_index *idx, void (*cb)(struct hk_entry *e, void *arg),
		      void *arg);

/* Record ids, for a walk that must survive changes to the index: every
 * entry has an id below 2^28, fixed while it stays in the index; a new
 * entry may take the id of a removed one. */
uint32_t hk_index_id(const struct hk_index *idx, const struct hk_entry *e);
/* Visit, in increasing id order, at most max entries whose id is >= *next,
 * and set *next past the last one visited. Returns how many were visited:
 * fewer than max means none are left above *next. The callback must not
 * modify the index; between calls the index may change. */
size_t hk_index_walk(const struct hk_index *idx, uint32_t *next, size_t max,
		     void (*cb)(struct hk_entry *e, void *arg), void *arg);

/* The total order of the index: <0 if a is older than b. */
int hk_entry_cmp(const struct hk_entry *a, const struct hk_entry *b);

/* Memory kept apart from malloc: returns the bytes of the index's own
 * mappings that it has touched (slabs up to their high-water mark, large
 * hash and heap arrays); *chunks (when not NULL) is the number of slabs.
 * For tests and statistics. */
size_t hk_index_mapped(const struct hk_index *idx, size_t *chunks);

/* Is a grown hash table still being filled from the old one (index.c,
 * "growing in steps")? Meanwhile the old table's 4 bytes a slot are kept
 * too, about 5 bytes an entry. For tests and statistics. */
bool hk_index_growing(const struct hk_index *idx);

#endif /* HK_INDEX_H */
