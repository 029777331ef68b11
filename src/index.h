/*
 * index.h - the in-memory index of one registration's candidate files.
 *
 * Holds, for every regular file that matches the registration (pattern,
 * excludes), its directory id, name, inode, size, mtime and age key. Gives
 * O(1) lookup by (dir, name), the oldest entry in O(1) (a binary min-heap
 * ordered by age key, ties by name in byte order, then dir id), O(log n)
 * insert/update/remove, and running totals of files and bytes.
 *
 * Memory: one malloc'd entry per file (41 bytes + name + NUL: a 64-byte
 * malloc chunk for names up to 14 bytes), one heap slot (8 bytes, array
 * grown by 1.5x) and one hash slot (8 bytes, load 0.375..0.75): about 95
 * bytes per file with 14-byte names (test_index measures it). Pure data
 * structure: no I/O.
 *
 * Directory ids are opaque to the index: the caller (scan/watch) assigns
 * them, e.g. 0 for the registered root, others for subdirectories.
 */
#ifndef HK_INDEX_H
#define HK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_index;

/* One indexed file. Owned by the index; valid until removed or the index
 * is freed. Callers may read every field, and must change none. */
struct hk_entry {
	int64_t key_ns;      /* age key: the newest of the age_by times */
	int64_t mtime_ns;    /* for the re-check before unlink */
	uint64_t ino;
	uint64_t size;       /* st_size, apparent size */
	uint32_t dir;        /* caller's directory id */
	uint32_t heap_pos;   /* internal: slot in the heap; top bit = seen mark */
	uint8_t name_len;    /* 1..255 */
	char name[];         /* NUL-terminated */
};

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
 * -EINVAL for an empty or over-255-byte name, -EOVERFLOW past 2^31-1
 * entries. Existing entry pointers stay valid either way. */
int hk_index_set(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta);
/* The same, and *entry (when not NULL) is the entry afterwards; returns 2
 * instead of 0 when the entry was there with the very same metadata (only
 * marked seen): one hash lookup for "insert, or tell me what changed". */
int hk_index_put(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len,
		 const struct hk_file_meta *meta, struct hk_entry **entry);
/* Look up (dir, name); NULL when absent. */
struct hk_entry *hk_index_get(const struct hk_index *idx, uint32_t dir, const char *name,
			      size_t name_len);
/* Remove and free an entry. Returns true if it was there. remove_entry
 * takes an entry of this index (e.g. hk_index_oldest()). */
bool hk_index_remove(struct hk_index *idx, uint32_t dir, const char *name, size_t name_len);
void hk_index_remove_entry(struct hk_index *idx, struct hk_entry *e);
/* Take an entry out of the index without freeing it: the caller owns it
 * and either frees it (free()) or gives it back with hk_index_attach. Used
 * to set files aside while their deletion is being recorded and done. */
struct hk_entry *hk_index_detach(struct hk_index *idx, struct hk_entry *e);
/* Give a detached entry back (marked seen). When the index has an entry
 * for the same (dir, name) by now, that one is newer: e is freed and 0
 * returned; otherwise 1. */
int hk_index_attach(struct hk_index *idx, struct hk_entry *e);
/* Remove every entry of directory dir (that directory went away); returns
 * how many. O(n). */
size_t hk_index_remove_dir(struct hk_index *idx, uint32_t dir);
void hk_index_clear(struct hk_index *idx);

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

/* The total order of the index: <0 if a is older than b. */
int hk_entry_cmp(const struct hk_entry *a, const struct hk_entry *b);

#endif /* HK_INDEX_H */
