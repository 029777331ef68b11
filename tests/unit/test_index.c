/*
 * test_index.c - unit tests of the file index (src/index.c): lookup, update,
 * removal, heap order against a sorted reference under random operations
 * (detach/attach included), totals, remove_dir, the seen mark, name
 * lengths, snapshots, entries that do not fit the compact record, chunks
 * given back, the walk by record id, growth in steps, and the memory used
 * per entry.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct hk_file_meta meta_of(int64_t key, uint64_t size)
{
	struct hk_file_meta m = {
		.ino = (uint64_t)key * 7u + size,
		.size = size,
		.mtime_ns = key - 1,
		.key_ns = key,
	};
	return m;
}

static int set_str(struct hk_index *idx, uint32_t dir, const char *name, int64_t key,
		   uint64_t size)
{
	struct hk_file_meta m = meta_of(key, size);

	return hk_index_set(idx, dir, name, strlen(name), &m);
}

static struct hk_entry *get_str(struct hk_index *idx, uint32_t dir, const char *name)
{
	return hk_index_get(idx, dir, name, strlen(name));
}

static void test_create_free(void **state)
{
	struct hk_index *idx = hk_index_create();

	(void)state;
	assert_non_null(idx);
	assert_int_equal(hk_index_count(idx), 0);
	assert_int_equal(hk_index_bytes(idx), 0);
	assert_null(hk_index_oldest(idx));
	assert_null(get_str(idx, 0, "x"));
	assert_false(hk_index_remove(idx, 0, "x", 1));
	assert_int_equal(hk_index_remove_dir(idx, 0), 0);
	assert_int_equal(hk_index_sweep_unseen(idx), 0);
	hk_index_free(idx);
	hk_index_free(NULL);
}

static void test_set_get_update_remove(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_entry *e;

	(void)state;
	assert_int_equal(set_str(idx, 0, "a.log", 300, 10), 1);
	assert_int_equal(set_str(idx, 0, "b.log", 200, 20), 1);
	assert_int_equal(set_str(idx, 1, "a.log", 100, 30), 1);
	assert_int_equal(hk_index_count(idx), 3);
	assert_int_equal(hk_index_bytes(idx), 60);

	e = get_str(idx, 0, "a.log");
	assert_non_null(e);
	assert_int_equal(hk_entry_dir(e), 0);
	assert_int_equal(hk_entry_key(e), 300);
	assert_int_equal(hk_entry_mtime(e), 299);
	assert_int_equal(hk_entry_size(e), 10);
	assert_int_equal(hk_entry_ino(e), 300 * 7 + 10);
	assert_int_equal(hk_entry_name_len(e), 5);
	assert_string_equal(hk_entry_name(e), "a.log");
	assert_ptr_equal(hk_index_oldest(idx), get_str(idx, 1, "a.log"));
	assert_null(get_str(idx, 2, "a.log"));
	assert_null(get_str(idx, 0, "a.lo"));
	assert_null(get_str(idx, 0, "a.log2"));

	/* update: same entry object, new meta, total adjusted, re-heaped */
	assert_int_equal(set_str(idx, 0, "a.log", 50, 5), 0);
	assert_ptr_equal(get_str(idx, 0, "a.log"), e);
	assert_int_equal(hk_entry_key(e), 50);
	assert_int_equal(hk_entry_size(e), 5);
	assert_int_equal(hk_index_count(idx), 3);
	assert_int_equal(hk_index_bytes(idx), 55);
	assert_ptr_equal(hk_index_oldest(idx), e);
	assert_int_equal(set_str(idx, 0, "a.log", 1000, 5), 0);
	assert_ptr_equal(hk_index_oldest(idx), get_str(idx, 1, "a.log"));

	assert_true(hk_index_remove(idx, 1, "a.log", 5));
	assert_false(hk_index_remove(idx, 1, "a.log", 5));
	assert_null(get_str(idx, 1, "a.log"));
	assert_int_equal(hk_index_count(idx), 2);
	assert_int_equal(hk_index_bytes(idx), 25);
	assert_ptr_equal(hk_index_oldest(idx), get_str(idx, 0, "b.log"));

	hk_index_remove_entry(idx, hk_index_oldest(idx));
	assert_int_equal(hk_index_count(idx), 1);
	assert_int_equal(hk_index_bytes(idx), 5);
	assert_ptr_equal(hk_index_oldest(idx), get_str(idx, 0, "a.log"));
	hk_index_remove_entry(idx, hk_index_oldest(idx));
	assert_null(hk_index_oldest(idx));
	assert_int_equal(hk_index_bytes(idx), 0);
	hk_index_free(idx);
}

/* hk_index_put: one lookup says added (1), changed (0) or unchanged (2),
 * and hands back the entry; the byte total and order follow changes. */
static void test_put_reports_change(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_file_meta m = { .ino = 7, .size = 10, .mtime_ns = 100, .key_ns = 100 };
	struct hk_entry *e = NULL, *again = NULL;

	(void)state;
	assert_int_equal(hk_index_put(idx, 0, "x.log", 5, &m, &e), 1);
	assert_non_null(e);
	assert_string_equal(hk_entry_name(e), "x.log");
	assert_int_equal(hk_index_put(idx, 0, "x.log", 5, &m, &again), 2);
	assert_ptr_equal(again, e);
	assert_int_equal(hk_index_set(idx, 0, "x.log", 5, &m), 0);   /* the old contract */
	m.size = 30;
	assert_int_equal(hk_index_put(idx, 0, "x.log", 5, &m, &again), 0);
	assert_ptr_equal(again, e);
	assert_int_equal(hk_entry_size(e), 30);
	assert_int_equal(hk_index_bytes(idx), 30);
	m.key_ns = 50;   /* a key change moves it in the order */
	assert_int_equal(hk_index_put(idx, 0, "y.log", 5, &(struct hk_file_meta){ 8, 1, 80, 80 },
				      NULL), 1);
	assert_int_equal(hk_index_put(idx, 0, "x.log", 5, &m, NULL), 0);
	assert_ptr_equal(hk_index_oldest(idx), e);
	assert_int_equal(hk_index_put(idx, 0, "", 0, &m, NULL), -EINVAL);
	hk_index_free(idx);
}

static void test_invalid_names(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_file_meta m = meta_of(1, 1);
	char big[300];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(hk_index_set(idx, 0, "", 0, &m), -EINVAL);
	assert_int_equal(hk_index_set(idx, 0, big, 256, &m), -EINVAL);
	assert_int_equal(hk_index_count(idx), 0);
	assert_null(hk_index_get(idx, 0, big, 256));
	assert_null(hk_index_get(idx, 0, "", 0));
	assert_false(hk_index_remove(idx, 0, big, 256));
	hk_index_free(idx);
}

/* Names of 1 and 255 bytes, with every byte value but NUL and '/'. */
static void test_name_lengths(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_file_meta m = meta_of(5, 7);
	char n255[255];
	char n254[254];
	struct hk_entry *e;
	size_t j = 0;

	(void)state;
	for (unsigned c = 1; j < sizeof(n255); c = c % 255 + 1)
		if (c != '/')
			n255[j++] = (char)c;
	memcpy(n254, n255, sizeof(n254));

	assert_int_equal(hk_index_set(idx, 3, n255, 255, &m), 1);
	assert_int_equal(hk_index_set(idx, 3, n254, 254, &m), 1);
	assert_int_equal(hk_index_set(idx, 3, "\xff", 1, &m), 1);
	assert_int_equal(hk_index_set(idx, 3, "z", 1, &m), 1);
	assert_int_equal(hk_index_count(idx), 4);

	e = hk_index_get(idx, 3, n255, 255);
	assert_non_null(e);
	assert_int_equal(hk_entry_name_len(e), 255);
	assert_memory_equal(hk_entry_name(e), n255, 255);
	assert_int_equal(hk_entry_name(e)[255], '\0');
	e = hk_index_get(idx, 3, n254, 254);
	assert_non_null(e);
	assert_int_equal(hk_entry_name_len(e), 254);
	assert_int_equal(hk_entry_name(e)[254], '\0');
	e = hk_index_get(idx, 3, "\xff", 1);
	assert_non_null(e);
	assert_int_equal(hk_entry_name_len(e), 1);
	assert_int_equal((unsigned char)hk_entry_name(e)[0], 0xff);
	assert_int_equal(hk_entry_name(e)[1], '\0');

	/* same key: bytewise order, the 254-byte prefix before the 255-byte
	 * name, 0xff (unsigned) last */
	assert_ptr_equal(hk_index_oldest(idx), hk_index_get(idx, 3, n254, 254));
	assert_true(hk_index_remove(idx, 3, n254, 254));
	assert_ptr_equal(hk_index_oldest(idx), hk_index_get(idx, 3, n255, 255));
	assert_true(hk_index_remove(idx, 3, n255, 255));
	assert_ptr_equal(hk_index_oldest(idx), hk_index_get(idx, 3, "z", 1));
	assert_true(hk_index_remove(idx, 3, "z", 1));
	assert_ptr_equal(hk_index_oldest(idx), hk_index_get(idx, 3, "\xff", 1));
	hk_index_free(idx);
}

static void test_entry_cmp(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_entry *a, *ab, *b, *a1, *old;

	(void)state;
	set_str(idx, 0, "b", 10, 1);
	set_str(idx, 0, "ab", 10, 1);
	set_str(idx, 1, "a", 10, 1);
	set_str(idx, 0, "a", 10, 1);
	set_str(idx, 9, "zzz", 9, 1);
	a = get_str(idx, 0, "a");
	a1 = get_str(idx, 1, "a");
	ab = get_str(idx, 0, "ab");
	b = get_str(idx, 0, "b");
	old = get_str(idx, 9, "zzz");

	assert_true(hk_entry_cmp(old, a) < 0);   /* key first */
	assert_true(hk_entry_cmp(a, old) > 0);
	assert_true(hk_entry_cmp(a, ab) < 0);    /* shorter prefix first */
	assert_true(hk_entry_cmp(ab, b) < 0);    /* bytewise */
	assert_true(hk_entry_cmp(a, a1) < 0);    /* then dir */
	assert_true(hk_entry_cmp(a1, ab) < 0);   /* name before dir */
	assert_int_equal(hk_entry_cmp(a, a), 0);

	assert_ptr_equal(hk_index_oldest(idx), old);
	hk_index_remove_entry(idx, old);
	assert_ptr_equal(hk_index_oldest(idx), a);
	hk_index_remove_entry(idx, a);
	assert_ptr_equal(hk_index_oldest(idx), a1);
	hk_index_remove_entry(idx, a1);
	assert_ptr_equal(hk_index_oldest(idx), ab);
	hk_index_remove_entry(idx, ab);
	assert_ptr_equal(hk_index_oldest(idx), b);
	hk_index_free(idx);
}

static void test_sorted_snapshot(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct hk_entry **arr = NULL;
	size_t n;

	(void)state;
	n = hk_index_sorted(idx, &arr);
	assert_int_equal(n, 0);
	free(arr);

	set_str(idx, 2, "c", 30, 1);
	set_str(idx, 1, "b", 10, 1);
	set_str(idx, 0, "b", 10, 1);
	set_str(idx, 0, "a", 20, 1);
	set_str(idx, 0, "a0", 10, 1);
	n = hk_index_sorted(idx, &arr);
	assert_int_equal(n, 5);
	assert_non_null(arr);
	assert_string_equal(hk_entry_name(arr[0]), "a0");
	assert_string_equal(hk_entry_name(arr[1]), "b");
	assert_int_equal(hk_entry_dir(arr[1]), 0);
	assert_string_equal(hk_entry_name(arr[2]), "b");
	assert_int_equal(hk_entry_dir(arr[2]), 1);
	assert_string_equal(hk_entry_name(arr[3]), "a");
	assert_string_equal(hk_entry_name(arr[4]), "c");
	for (size_t i = 1; i < n; i++)
		assert_true(hk_entry_cmp(arr[i - 1], arr[i]) < 0);
	free(arr);
	/* the index is untouched */
	assert_int_equal(hk_index_count(idx), 5);
	assert_string_equal(hk_entry_name(hk_index_oldest(idx)), "a0");
	hk_index_free(idx);
}

static void test_remove_dir(void **state)
{
	struct hk_index *idx = hk_index_create();
	char name[32];

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		set_str(idx, i % 3, name, (int64_t)(1000 - i), 1 + i % 3);
	}
	assert_int_equal(hk_index_count(idx), 300);
	assert_int_equal(hk_index_bytes(idx), 100 * (1 + 2 + 3));
	assert_int_equal(hk_index_remove_dir(idx, 2), 100);
	assert_int_equal(hk_index_remove_dir(idx, 2), 0);
	assert_int_equal(hk_index_remove_dir(idx, 7), 0);
	assert_int_equal(hk_index_count(idx), 200);
	assert_int_equal(hk_index_bytes(idx), 100 * (1 + 2));
	for (unsigned i = 0; i < 300; i++) {
		struct hk_entry *e;

		snprintf(name, sizeof(name), "f%u", i);
		e = get_str(idx, i % 3, name);
		if (i % 3 == 2) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_int_equal(hk_entry_key(e), 1000 - i);
		}
	}
	/* oldest is f298 (dir 1), then descending */
	for (unsigned i = 299; i-- > 0;) {
		struct hk_entry *e;

		if (i % 3 == 2)
			continue;
		e = hk_index_oldest(idx);
		assert_non_null(e);
		snprintf(name, sizeof(name), "f%u", i);
		assert_string_equal(hk_entry_name(e), name);
		hk_index_remove_entry(idx, e);
	}
	assert_int_equal(hk_index_count(idx), 0);
	assert_int_equal(hk_index_bytes(idx), 0);
	hk_index_free(idx);
}

static void test_unmark_sweep(void **state)
{
	struct hk_index *idx = hk_index_create();
	char name[32];

	(void)state;
	for (unsigned i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		set_str(idx, 0, name, (int64_t)i, 10);
	}
	/* freshly set entries are seen */
	assert_int_equal(hk_index_sweep_unseen(idx), 0);
	assert_int_equal(hk_index_count(idx), 10);

	hk_index_unmark_all(idx);
	/* the rescan finds f0, f3, f6, f9 (one with a new key) and a new one */
	set_str(idx, 0, "f0", 0, 10);
	set_str(idx, 0, "f3", 3, 10);
	set_str(idx, 0, "f6", 100, 11);
	set_str(idx, 0, "f9", 9, 10);
	set_str(idx, 0, "new", 5, 1);
	assert_int_equal(hk_index_sweep_unseen(idx), 6);
	assert_int_equal(hk_index_count(idx), 5);
	assert_int_equal(hk_index_bytes(idx), 10 + 10 + 11 + 10 + 1);
	assert_non_null(get_str(idx, 0, "f0"));
	assert_non_null(get_str(idx, 0, "f3"));
	assert_non_null(get_str(idx, 0, "f6"));
	assert_non_null(get_str(idx, 0, "f9"));
	assert_non_null(get_str(idx, 0, "new"));
	assert_null(get_str(idx, 0, "f1"));
	assert_null(get_str(idx, 0, "f8"));
	/* the marks stay until the next unmark */
	assert_int_equal(hk_index_sweep_unseen(idx), 0);

	{
		const char *order[] = { "f0", "f3", "new", "f9", "f6" };

		for (size_t i = 0; i < 5; i++) {
			struct hk_entry *e = hk_index_oldest(idx);

			assert_string_equal(hk_entry_name(e), order[i]);
			hk_index_remove_entry(idx, e);
		}
	}
	/* unmark everything and sweep all */
	set_str(idx, 0, "a", 1, 1);
	set_str(idx, 0, "b", 2, 1);
	hk_index_unmark_all(idx);
	assert_int_equal(hk_index_sweep_unseen(idx), 2);
	assert_int_equal(hk_index_count(idx), 0);
	assert_null(hk_index_oldest(idx));
	hk_index_free(idx);
}

static void test_clear_and_reuse(void **state)
{
	struct hk_index *idx = hk_index_create();
	char name[32];

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		set_str(idx, 0, name, (int64_t)i, 1);
	}
	hk_index_clear(idx);
	assert_int_equal(hk_index_count(idx), 0);
	assert_int_equal(hk_index_bytes(idx), 0);
	assert_null(hk_index_oldest(idx));
	assert_null(get_str(idx, 0, "g1"));
	assert_int_equal(set_str(idx, 0, "g1", 1, 4), 1);
	assert_int_equal(hk_index_bytes(idx), 4);
	assert_ptr_equal(hk_index_oldest(idx), get_str(idx, 0, "g1"));
	hk_index_free(idx);
}

struct fe_acc {
	size_t n;
	uint64_t bytes;
};

static void fe_cb(struct hk_entry *e, void *arg)
{
	struct fe_acc *acc = arg;

	acc->n++;
	acc->bytes += hk_entry_size(e);
}

static void test_foreach(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct fe_acc acc = { 0, 0 };
	char name[32];

	(void)state;
	hk_index_foreach(idx, fe_cb, &acc);
	assert_int_equal(acc.n, 0);
	for (unsigned i = 0; i < 77; i++) {
		snprintf(name, sizeof(name), "h%u", i);
		set_str(idx, i, name, (int64_t)i, i);
	}
	hk_index_foreach(idx, fe_cb, &acc);
	assert_int_equal(acc.n, 77);
	assert_int_equal(acc.bytes, hk_index_bytes(idx));
	assert_int_equal(acc.bytes, 76 * 77 / 2);
	hk_index_free(idx);
}

/* Grow far, shrink back by single removals: lookups and order survive the
 * table shrinking and the backward shifts. */
static void test_grow_shrink(void **state)
{
	struct hk_index *idx = hk_index_create();
	char name[32];
	const unsigned n = 50000;

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(set_str(idx, i & 7, name, (int64_t)((i * 7919u) % n), 1), 1);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_non_null(get_str(idx, i & 7, name));
	}
	for (unsigned i = 0; i < n - 10; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_true(hk_index_remove(idx, i & 7, name, strlen(name)));
	}
	assert_int_equal(hk_index_count(idx), 10);
	assert_int_equal(hk_index_bytes(idx), 10);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		if (i < n - 10)
			assert_null(get_str(idx, i & 7, name));
		else
			assert_non_null(get_str(idx, i & 7, name));
	}
	{
		int64_t prev = INT64_MIN;

		while (hk_index_count(idx) > 0) {
			struct hk_entry *e = hk_index_oldest(idx);

			assert_true(hk_entry_key(e) >= prev);
			prev = hk_entry_key(e);
			hk_index_remove_entry(idx, e);
		}
	}
	hk_index_free(idx);
}

/* --- spilled entries ------------------------------------------------------ */

struct spill_case {
	uint32_t dir;
	size_t len;
	struct hk_file_meta m;
};

static void name_of_len(char *buf, size_t len, char fill)
{
	memset(buf, fill, len);
	buf[len] = '\0';
}

static void assert_entry_is(const struct hk_entry *e, uint32_t dir, const char *name,
			    size_t len, const struct hk_file_meta *m)
{
	assert_non_null(e);
	assert_int_equal(hk_entry_dir(e), dir);
	assert_int_equal(hk_entry_name_len(e), len);
	assert_memory_equal(hk_entry_name(e), name, len);
	assert_int_equal(hk_entry_name(e)[len], '\0');
	assert_true(hk_entry_size(e) == m->size);
	assert_true(hk_entry_ino(e) == m->ino);
	assert_true(hk_entry_mtime(e) == m->mtime_ns);
	assert_true(hk_entry_key(e) == m->key_ns);
}

/* Whatever does not fit the compact record (long names, key != mtime,
 * size or inode of 2^32 and more, a directory id of 2^24 and more) reads
 * back exactly, sorts right, moves
 * between the two forms on update and survives detach/attach. */
static void test_spilled_entries(void **state)
{
	const uint64_t b48 = UINT64_C(1) << 32;
	const uint32_t d24 = UINT32_C(1) << 24;
	const struct spill_case cases[] = {
		{ 0, 14, { 1, 10, 100, 100 } },                 /* compact */
		{ 0, 15, { 2, 11, 100, 100 } },
		{ 0, 100, { 3, 12, 100, 100 } },
		{ 1, 255, { 4, 13, 100, 100 } },
		{ 1, 5, { 5, 14, 90, 100 } },                   /* key != mtime */
		{ 2, 6, { 6, b48, 100, 100 } },
		{ 2, 7, { 7, b48 - 1, 100, 100 } },             /* compact */
		{ 2, 8, { 8, UINT64_MAX - 1, 100, 100 } },
		{ 3, 9, { b48, 15, 100, 100 } },
		{ 3, 10, { b48 - 1, 16, 100, 100 } },           /* compact */
		{ 3, 11, { UINT64_MAX, 17, 100, 100 } },
		{ 4, 12, { 9, 18, INT64_MIN, INT64_MAX } },
		{ 4, 13, { 10, 19, INT64_MAX, INT64_MIN } },
		{ 4, 3, { 11, 20, -5, -5 } },                    /* compact, negative */
		{ d24, 4, { 12, 21, 100, 100 } },
		{ d24 - 1, 4, { 13, 22, 100, 100 } },           /* compact */
		{ UINT32_MAX - 1, 14, { 14, 23, 100, 100 } },
	};
	const size_t n = ARRAY_LEN(cases);
	char names[ARRAY_LEN(cases)][256];
	struct hk_index *idx = hk_index_create();
	struct hk_entry **arr = NULL;
	uint64_t bytes = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		name_of_len(names[i], cases[i].len, (char)('a' + i));
		assert_int_equal(hk_index_set(idx, cases[i].dir, names[i], cases[i].len,
					      &cases[i].m), 1);
		bytes += cases[i].m.size;
	}
	assert_int_equal(hk_index_count(idx), n);
	assert_true(hk_index_bytes(idx) == bytes);   /* modulo 2^64 like the index */
	for (size_t i = 0; i < n; i++)
		assert_entry_is(hk_index_get(idx, cases[i].dir, names[i], cases[i].len),
				cases[i].dir, names[i], cases[i].len, &cases[i].m);

	/* order: INT64_MIN key first, INT64_MAX last; key 100 ties by name */
	assert_int_equal(hk_index_sorted(idx, &arr), n);
	assert_true(hk_entry_key(arr[0]) == INT64_MIN);
	assert_true(hk_entry_key(arr[1]) == -5);
	assert_true(hk_entry_key(arr[n - 1]) == INT64_MAX);
	for (size_t i = 1; i < n; i++)
		assert_true(hk_entry_cmp(arr[i - 1], arr[i]) < 0);
	for (size_t i = 2; i < n - 1; i++)   /* the last three cases sort after 'k' */
		assert_int_equal(hk_entry_name(arr[i])[0], 'a' + (int)(i < 13 ? i - 2 : i + 1));
	free(arr);
	assert_ptr_equal(hk_index_oldest(idx), hk_index_get(idx, 4, names[12], 13));

	/* updates switch forms in place: compact -> spilled -> compact */
	{
		struct hk_entry *e = hk_index_get(idx, 0, names[0], 14);
		struct hk_file_meta m = { 1, b48 + 3, 100, 100 };

		assert_int_equal(hk_index_put(idx, 0, names[0], 14, &m, NULL), 0);
		assert_ptr_equal(hk_index_get(idx, 0, names[0], 14), e);
		assert_entry_is(e, 0, names[0], 14, &m);
		m = (struct hk_file_meta){ 1, 10, 100, 100 };
		assert_int_equal(hk_index_put(idx, 0, names[0], 14, &m, NULL), 0);
		assert_entry_is(e, 0, names[0], 14, &m);
		assert_int_equal(hk_index_put(idx, 0, names[0], 14, &m, NULL), 2);
		/* a long name stays spilled through any update */
		e = hk_index_get(idx, 1, names[3], 255);
		m = (struct hk_file_meta){ 4, 13, 50, 50 };
		assert_int_equal(hk_index_put(idx, 1, names[3], 255, &m, NULL), 0);
		assert_entry_is(e, 1, names[3], 255, &m);
		m = cases[3].m;
		assert_int_equal(hk_index_put(idx, 1, names[3], 255, &m, NULL), 0);
		/* and spilled -> compact for a short one */
		e = hk_index_get(idx, 1, names[4], 5);
		m = (struct hk_file_meta){ 5, 14, 100, 100 };
		assert_int_equal(hk_index_put(idx, 1, names[4], 5, &m, NULL), 0);
		assert_entry_is(e, 1, names[4], 5, &m);
		assert_int_equal(hk_index_put(idx, 1, names[4], 5, &cases[4].m, NULL), 0);
	}
	assert_true(hk_index_bytes(idx) == bytes);

	/* detach hands out an exact copy; attach takes it back */
	for (size_t i = 0; i < n; i++) {
		const struct spill_case *c = &cases[i];
		struct hk_entry *copy = hk_index_detach(idx, hk_index_get(idx, c->dir, names[i],
									  c->len));

		assert_entry_is(copy, c->dir, names[i], c->len, &c->m);
		assert_null(hk_index_get(idx, c->dir, names[i], c->len));
		assert_int_equal(hk_index_count(idx), n - 1);
		struct hk_entry *back = hk_index_attach(idx, copy);
		assert_non_null(back);
		assert_ptr_equal(back, hk_index_get(idx, c->dir, names[i], c->len));
		assert_entry_is(back, c->dir, names[i], c->len, &c->m);
	}
	assert_true(hk_index_bytes(idx) == bytes);
	/* a newer entry wins over the copy given back; a copy can be freed */
	for (size_t i = 0; i < n; i++) {
		const struct spill_case *c = &cases[i];
		struct hk_entry *copy = hk_index_detach(idx, hk_index_get(idx, c->dir, names[i],
									  c->len));
		struct hk_file_meta newer = { 77, 1, 200, 300 };

		if (i % 2 == 0) {
			hk_entry_free(copy);
			continue;
		}
		assert_int_equal(hk_index_set(idx, c->dir, names[i], c->len, &newer), 1);
		assert_null(hk_index_attach(idx, copy));
		assert_entry_is(hk_index_get(idx, c->dir, names[i], c->len), c->dir, names[i],
				c->len, &newer);
	}
	assert_int_equal(hk_index_count(idx), n / 2);
	assert_int_equal(hk_index_bytes(idx), n / 2);
	hk_entry_free(NULL);
	hk_index_free(idx);
}

/* --- chunks ---------------------------------------------------------------- */

/* RssAnon of this process in bytes, 0 when unknown. */
static size_t rss_anon(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static void set_seq(struct hk_index *idx, uint64_t i)
{
	char name[32];
	struct hk_file_meta m = { i + 1, 100, (int64_t)i, (int64_t)i };

	snprintf(name, sizeof(name), "c%" PRIu64, i);
	assert_int_equal(hk_index_set(idx, 0, name, strlen(name), &m), 1);
}

/* Emptied chunks go back to the system (one spare kept), and FIFO churn
 * (add the newest, remove the oldest) reuses records instead of growing. */
static void test_chunk_release(void **state)
{
	const size_t chunk_bytes = HK_INDEX_CHUNK * sizeof(struct hk_entry);
	const uint64_t n = 3 * HK_INDEX_CHUNK + 100;
	struct hk_index *idx = hk_index_create();
	size_t chunks, full, rss_full;

	(void)state;
	assert_int_equal(sizeof(struct hk_entry), 38);
	assert_int_equal(hk_index_mapped(idx, &chunks), 0);
	assert_int_equal(chunks, 0);
	set_seq(idx, 0);
	/* one record touches one page of its chunk, not the chunk */
	assert_true(hk_index_mapped(idx, &chunks) <= 4096 * 4);
	assert_int_equal(chunks, 1);
	for (uint64_t i = 1; i < n; i++)
		set_seq(idx, i);
	full = hk_index_mapped(idx, &chunks);
	assert_int_equal(chunks, 4);
	assert_true(full >= 3 * chunk_bytes);
	rss_full = rss_anon();
	/* oldest first: the first chunks empty out */
	while (hk_index_count(idx) > 5)
		hk_index_remove_entry(idx, hk_index_oldest(idx));
	assert_true(hk_index_mapped(idx, &chunks) <= 2 * chunk_bytes);
	assert_true(chunks <= 2);
	assert_string_equal(hk_entry_name(hk_index_oldest(idx)), "c12383");
#if !defined(__SANITIZE_ADDRESS__)
	print_message("RssAnon %zu kB full, %zu kB with 5 left\n", rss_full / 1024,
		      rss_anon() / 1024);
	if (rss_full > 0)
		assert_true(rss_anon() + 2 * chunk_bytes <= rss_full);
#else
	(void)rss_full;
#endif
	/* everything out: a spare chunk at most */
	while (hk_index_count(idx) > 0)
		hk_index_remove_entry(idx, hk_index_oldest(idx));
	hk_index_mapped(idx, &chunks);
	assert_true(chunks <= 1);
	hk_index_clear(idx);
	assert_int_equal(hk_index_mapped(idx, &chunks), 0);
	assert_int_equal(chunks, 0);

	/* FIFO churn, 1000 live, a million times */
	for (uint64_t i = 0; i < 1000; i++)
		set_seq(idx, i);
	for (uint64_t i = 1000; i < 1000000 + 1000; i++) {
		set_seq(idx, i);
		hk_index_remove_entry(idx, hk_index_oldest(idx));
		if (i % 4096 == 0) {
			assert_true(hk_index_mapped(idx, &chunks) <= chunk_bytes + 64 * 1024);
			assert_int_equal(chunks, 1);
		}
	}
	assert_int_equal(hk_index_count(idx), 1000);
	assert_int_equal(hk_entry_key(hk_index_oldest(idx)), 1000000);

	/* waves of 20000 up and down: chunks follow the live count */
	for (int wave = 0; wave < 5; wave++) {
		uint64_t base = 2000000 + (uint64_t)wave * 100000;

		for (uint64_t i = 0; i < 20000; i++)
			set_seq(idx, base + i);
		hk_index_mapped(idx, &chunks);
		assert_true(chunks <= (20000 + 1000) / HK_INDEX_CHUNK + 2);
		while (hk_index_count(idx) > 1000)
			hk_index_remove_entry(idx, hk_index_oldest(idx));
		hk_index_mapped(idx, &chunks);
		assert_true(chunks <= 2 + 1);   /* where the 1000 are, and a spare */
	}
	hk_index_free(idx);
}

/* A reservation (a first scan's hint) takes no rebuild on the way and
 * costs nothing once fitted: every entry is still found, in order. */
static void test_reserve_fit(void **state)
{
	struct hk_index *idx = hk_index_create();
	size_t reserved, fitted;
	char name[32];

	(void)state;
	hk_index_reserve(idx, 1000000);
	reserved = hk_index_mapped(idx, NULL);
	assert_true(reserved >= 1000000 * 5);   /* the hash table at a load of 0.8 */
	for (unsigned i = 0; i < 20000; i++) {
		struct hk_file_meta m = { i + 1, 1, (int64_t)(20000 - i), (int64_t)(20000 - i) };

		snprintf(name, sizeof(name), "r%u", i);
		assert_int_equal(hk_index_set(idx, i % 3, name, strlen(name), &m), 1);
	}
	hk_index_fit(idx);
	fitted = hk_index_mapped(idx, NULL);
	assert_true(fitted < reserved / 5);   /* the 20000 records are most of it */
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		assert_non_null(hk_index_get(idx, i % 3, name, strlen(name)));
	}
	for (unsigned i = 0; i < 20000; i++) {
		struct hk_entry *e = hk_index_oldest(idx);

		assert_int_equal(hk_entry_key(e), (int64_t)i + 1);
		hk_index_remove_entry(idx, e);
	}
	hk_index_fit(idx);
	hk_index_free(idx);
}

/* --- randomized operations against a reference model ------------------- */

#define REF_DIRS 4u
#define REF_NAMES 500u
#define REF_SLOTS (REF_DIRS * REF_NAMES)
#define REF_HELD 16u

struct ref_file {
	bool present;
	bool seen;
	struct hk_file_meta m;
	uint32_t dir;
	char name[48];
};

static struct ref_file ref[REF_SLOTS];

/* A detached copy and what it must read back as. */
struct ref_held {
	struct hk_entry *e;
	size_t slot;
	struct hk_file_meta m;
};

static int ref_cmp(const struct ref_file *a, const struct ref_file *b)
{
	size_t la = strlen(a->name), lb = strlen(b->name);
	size_t n = la < lb ? la : lb;
	int c;

	if (a->m.key_ns != b->m.key_ns)
		return a->m.key_ns < b->m.key_ns ? -1 : 1;
	c = memcmp(a->name, b->name, n);
	if (c != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->dir < b->dir ? -1 : a->dir > b->dir;
}

static int ref_qsort_cmp(const void *a, const void *b)
{
	return ref_cmp(*(const struct ref_file *const *)a, *(const struct ref_file *const *)b);
}

static const struct ref_file *ref_oldest(void)
{
	const struct ref_file *best = NULL;

	for (size_t i = 0; i < REF_SLOTS; i++)
		if (ref[i].present && (best == NULL || ref_cmp(&ref[i], best) < 0))
			best = &ref[i];
	return best;
}

static void ref_check_full(struct hk_index *idx)
{
	struct ref_file *sorted[REF_SLOTS];
	struct hk_entry **arr = NULL;
	size_t n = 0, got;
	uint64_t bytes = 0;

	for (size_t i = 0; i < REF_SLOTS; i++) {
		struct hk_entry *e = hk_index_get(idx, ref[i].dir, ref[i].name,
						  strlen(ref[i].name));

		if (!ref[i].present) {
			assert_null(e);
			continue;
		}
		assert_entry_is(e, ref[i].dir, ref[i].name, strlen(ref[i].name), &ref[i].m);
		assert_int_equal(hk_index_seen(idx, e), ref[i].seen);
		sorted[n++] = &ref[i];
		bytes += ref[i].m.size;
	}
	qsort(sorted, n, sizeof(sorted[0]), ref_qsort_cmp);
	got = hk_index_sorted(idx, &arr);
	assert_int_equal(got, n);
	assert_int_equal(hk_index_count(idx), n);
	assert_true(hk_index_bytes(idx) == bytes);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(hk_entry_dir(arr[i]), sorted[i]->dir);
		assert_string_equal(hk_entry_name(arr[i]), sorted[i]->name);
		assert_true(hk_entry_key(arr[i]) == sorted[i]->m.key_ns);
	}
	free(arr);
}

/* Random metadata: mostly compact, some spilled for each reason. */
static struct hk_file_meta ref_meta(void)
{
	struct hk_file_meta m;
	uint64_t r = test_rng_below(16);

	/* few distinct keys, so ties are common */
	m.key_ns = (int64_t)test_rng_below(64) - 8;
	m.mtime_ns = r == 0 ? m.key_ns - (int64_t)test_rng_below(5) - 1 : m.key_ns;
	m.size = r == 1 ? (UINT64_C(1) << 48) + test_rng_below(1000) : test_rng_below(1000);
	m.ino = r == 2 ? test_rng_next() | (UINT64_C(1) << 63) : test_rng_below(UINT64_C(1) << 48);
	return m;
}

static void test_random_ops(void **state)
{
	struct hk_index *idx = hk_index_create();
	struct ref_held held[REF_HELD];
	size_t n_held = 0, count = 0;
	uint64_t bytes = 0;
	const unsigned ops = 40000;

	(void)state;
	test_rng_state = 20240601;
	memset(ref, 0, sizeof(ref));
	for (uint32_t i = 0; i < REF_SLOTS; i++) {
		ref[i].dir = i / REF_NAMES;
		/* the same names in every dir; varied lengths, some prefixes of
		 * others, every 7th longer than a record holds */
		if (i % 7 == 0)
			snprintf(ref[i].name, sizeof(ref[i].name), "%.*s%u", (int)(12 + i % 30),
				 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", i % REF_NAMES);
		else
			snprintf(ref[i].name, sizeof(ref[i].name), "%.*s%u", (int)(i % 5),
				 "xxxxx", i % REF_NAMES);
	}

	for (unsigned op = 0; op < ops; op++) {
		uint64_t r = test_rng_below(100);
		size_t slot = test_rng_below(REF_SLOTS);
		struct ref_file *f = &ref[slot];
		const struct ref_file *o;
		struct hk_entry *e;

		if (r < 50) {
			struct hk_file_meta m = ref_meta();
			int rc = hk_index_set(idx, f->dir, f->name, strlen(f->name), &m);

			assert_int_equal(rc, f->present ? 0 : 1);
			if (f->present) {
				bytes -= f->m.size;
			} else {
				count++;
			}
			bytes += m.size;
			f->present = true;
			f->seen = true;
			f->m = m;
		} else if (r < 65) {
			assert_int_equal(hk_index_remove(idx, f->dir, f->name, strlen(f->name)),
					 f->present);
			if (f->present) {
				count--;
				bytes -= f->m.size;
			}
			f->present = false;
		} else if (r < 80) {
			o = ref_oldest();
			e = hk_index_oldest(idx);
			if (o == NULL) {
				assert_null(e);
			} else {
				assert_non_null(e);
				assert_int_equal(hk_entry_dir(e), o->dir);
				assert_string_equal(hk_entry_name(e), o->name);
				hk_index_remove_entry(idx, e);
				ref[o - ref].present = false;
				count--;
				bytes -= o->m.size;
			}
		} else if (r < 88) {
			/* detach one (when there is room to hold it) */
			if (!f->present || n_held == REF_HELD)
				continue;
			e = hk_index_get(idx, f->dir, f->name, strlen(f->name));
			held[n_held] = (struct ref_held){ hk_index_detach(idx, e), slot, f->m };
			assert_entry_is(held[n_held].e, f->dir, f->name, strlen(f->name), &f->m);
			n_held++;
			f->present = false;
			count--;
			bytes -= f->m.size;
		} else if (r < 96) {
			/* give one back: it loses to a newer entry */
			size_t k;
			struct ref_held h;
			struct ref_file *g;

			if (n_held == 0)
				continue;
			k = test_rng_below(n_held);
			h = held[k];
			held[k] = held[--n_held];
			g = &ref[h.slot];
			assert_entry_is(h.e, g->dir, g->name, strlen(g->name), &h.m);
			assert_int_equal(hk_index_attach(idx, h.e) != NULL, !g->present);
			if (!g->present) {
				g->present = true;
				g->seen = true;
				g->m = h.m;
				count++;
				bytes += h.m.size;
			}
		} else if (r < 97) {
			uint32_t dir = (uint32_t)test_rng_below(REF_DIRS + 1);
			size_t expect = 0;

			for (size_t i = 0; i < REF_SLOTS; i++) {
				if (ref[i].present && ref[i].dir == dir) {
					ref[i].present = false;
					expect++;
					count--;
					bytes -= ref[i].m.size;
				}
			}
			assert_int_equal(hk_index_remove_dir(idx, dir), expect);
		} else if (r < 98) {
			hk_index_unmark_all(idx);
			for (size_t i = 0; i < REF_SLOTS; i++)
				ref[i].seen = false;
		} else {
			size_t expect = 0;

			for (size_t i = 0; i < REF_SLOTS; i++) {
				if (ref[i].present && !ref[i].seen) {
					ref[i].present = false;
					expect++;
					count--;
					bytes -= ref[i].m.size;
				}
			}
			assert_int_equal(hk_index_sweep_unseen(idx), expect);
		}

		assert_int_equal(hk_index_count(idx), count);
		assert_true(hk_index_bytes(idx) == bytes);
		size_t unseen = 0;
		for (size_t i = 0; i < REF_SLOTS; i++)
			unseen += ref[i].present && !ref[i].seen;
		assert_int_equal(hk_index_unseen(idx), unseen);
		o = ref_oldest();
		e = hk_index_oldest(idx);
		if (o == NULL) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_int_equal(hk_entry_dir(e), o->dir);
			assert_string_equal(hk_entry_name(e), o->name);
			assert_true(hk_entry_key(e) == o->m.key_ns);
		}
		if (op % 250 == 0 || op == ops - 1)
			ref_check_full(idx);
	}
	while (n_held > 0)
		hk_entry_free(held[--n_held].e);
	hk_index_free(idx);
}

/* --- walk by record id ------------------------------------------------------ */

/* The engine's cold-index protocol (engine_persist.c): a walk in slices
 * "stores" every entry; between slices files come and go; a change is
 * stored at once only when the walk has passed the entry's id, a removal
 * always. At the end the stored set must be the index. */
#define WALK_N 6000
static bool walk_stored[WALK_N];
static uint32_t walk_last_id;
static struct hk_index *walk_idx;

static void walk_store_cb(struct hk_entry *e, void *arg)
{
	uint32_t id = hk_index_id(walk_idx, e);
	int n = atoi(hk_entry_name(e) + 1);

	(void)arg;
	assert_true(id + 1 > walk_last_id);   /* strictly increasing ids */
	walk_last_id = id + 1;
	walk_stored[n] = true;
}

static void test_walk(void **state)
{
	struct hk_index *idx = hk_index_create();
	bool live[WALK_N] = { false };
	uint32_t next = 0;
	char name[16];
	size_t n;

	(void)state;
	walk_idx = idx;
	memset(walk_stored, 0, sizeof(walk_stored));
	walk_last_id = 0;
	test_rng_state = 99;
	for (int i = 0; i < WALK_N / 2; i++) {
		snprintf(name, sizeof(name), "n%05d", i);
		assert_int_equal(set_str(idx, 0, name, i, 10), 1);
		live[i] = true;
	}
	do {
		n = hk_index_walk(idx, &next, 37, walk_store_cb, NULL);
		for (int k = 0; n == 37 && k < 40; k++) {   /* fewer: the walk is over */
			int i = (int)(test_rng_next() % WALK_N);
			snprintf(name, sizeof(name), "n%05d", i);
			if (live[i] && test_rng_next() % 3 == 0) {
				assert_true(hk_index_remove(idx, 0, name, strlen(name)));
				live[i] = false;
				walk_stored[i] = false;
			} else {
				set_str(idx, 0, name, (int64_t)(test_rng_next() % 100000), 10);
				live[i] = true;
				if (hk_index_id(idx, get_str(idx, 0, name)) < next)
					walk_stored[i] = true;
			}
		}
	} while (n == 37);
	for (int i = 0; i < WALK_N; i++)
		assert_int_equal(walk_stored[i], live[i]);
	/* an index that did not change is visited exactly once, in full */
	next = 0;
	walk_last_id = 0;
	memset(walk_stored, 0, sizeof(walk_stored));
	n = hk_index_walk(idx, &next, SIZE_MAX, walk_store_cb, NULL);
	assert_int_equal(n, hk_index_count(idx));
	assert_int_equal(hk_index_walk(idx, &next, SIZE_MAX, walk_store_cb, NULL), 0);
	hk_index_free(idx);
}

/* --- memory --------------------------------------------------------------- */

static size_t mem_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Anonymous memory per indexed file (records, hash and heap slots: what
 * malloc holds plus the touched pages of the index's own mappings) for n
 * files with 14-byte names, key == mtime (age_by = mtime) or not. */
static double mem_per_entry(size_t n, bool key_is_mtime, bool fit, long *rss, bool *growing)
{
	struct hk_index *idx = hk_index_create();
	size_t before = mem_in_use(), rss0 = rss_anon(), after;
	char name[32];

	for (size_t i = 0; i < n; i++) {
		int64_t t = (int64_t)(i * 2654435761u % 1000003u);
		struct hk_file_meta m = { 1000000 + i, 4096, t, key_is_mtime ? t : t + 1 };

		snprintf(name, sizeof(name), "app-%06zu.log", i);
		assert_int_equal(strlen(name), 14);
		assert_int_equal(hk_index_set(idx, 0, name, 14, &m), 1);
	}
	if (fit)
		hk_index_fit(idx);
	if (growing)
		*growing = hk_index_growing(idx);
	after = mem_in_use() + hk_index_mapped(idx, NULL);
	*rss = (long)rss_anon() - (long)rss0;
	hk_index_free(idx);
	return (double)(after - before) / (double)n;
}

/* At several counts, so that a hash or heap growth step cannot hide in one.
 * Meaningless under ASan (its own allocator). */
static void test_memory_per_entry(void **state)
{
	const size_t counts[] = { 10000, 100000, 300000 };

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(counts); k++) {
		long rss;
		bool growing;
		double per = mem_per_entry(counts[k], true, false, &rss, &growing);

#if defined(__SANITIZE_ADDRESS__)
		(void)per;
		print_message("index memory: not measured (ASan replaces malloc)\n");
		break;
#else
		print_message("index memory: %.2f bytes per entry (%zu entries, 14-byte names; "
			      "RssAnon %+.2f%s)\n", per, counts[k], (double)rss / (double)counts[k],
			      growing ? "; the hash table growing in steps" : "");
		/* while a grown hash table is filled, the old one's 4 bytes a
		 * slot at a load of 0.8 are kept too */
		assert_true(per <= (growing ? 49.0 + 5.0 : 49.0));
		/* after a scan: the hash table at a load of 0.8, no heap slack */
		per = mem_per_entry(counts[k], true, true, &rss, NULL);
		print_message("index memory: %.2f bytes per entry fitted (%zu entries)\n", per,
			      counts[k]);
		assert_true(per <= 47.6);
#endif
	}
#if !defined(__SANITIZE_ADDRESS__)
	{
		long rss;
		double per = mem_per_entry(100000, false, false, &rss, NULL);

		/* key != mtime: a spill block each */
		print_message("index memory: %.2f bytes per entry with key != mtime\n", per);
		assert_true(per <= 112.0);
	}
#endif
}

/* --- growing in steps ------------------------------------------------------ */

/* Tables past 65,536 slots grow in steps (two tables searched until the old
 * one is empty): lookups, updates, removals, detach/attach and a fit in
 * the middle of every growth agree with a reference, and the order holds. */
static void test_grow_in_steps(void **state)
{
	const unsigned n = 300000;
	struct hk_index *idx = hk_index_create();
	unsigned char *in = calloc(n, 1);   /* 0 absent, 1 present */
	size_t count = 0;
	char name[32];

	(void)state;
	assert_non_null(in);
	test_rng_state = 4242;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		assert_int_equal(set_str(idx, i & 3, name, (int64_t)i + 1, 1), 1);
		in[i] = 1;
		count++;
		/* an earlier one: removed, detached and attached back, or
		 * updated (present or not, the index answers as the model) */
		unsigned j = (unsigned)test_rng_below(i + 1);
		snprintf(name, sizeof(name), "g%u", j);
		switch (test_rng_below(4)) {
		case 0:
			assert_int_equal(hk_index_remove(idx, j & 3, name, strlen(name)), in[j] == 1);
			count -= in[j];
			in[j] = 0;
			break;
		case 1:
			if (in[j]) {
				struct hk_entry *e = hk_index_detach(idx, get_str(idx, j & 3, name));
				assert_non_null(e);
				assert_null(get_str(idx, j & 3, name));
				assert_non_null(hk_index_attach(idx, e));
			}
			break;
		case 2:
			if (in[j])
				assert_int_equal(set_str(idx, j & 3, name, (int64_t)j + 1, 1), 0);
			break;
		default:
			break;
		}
		unsigned k = (unsigned)test_rng_below(i + 1);
		snprintf(name, sizeof(name), "g%u", k);
		if (in[k])
			assert_non_null(get_str(idx, k & 3, name));
		else
			assert_null(get_str(idx, k & 3, name));
		assert_int_equal(hk_index_count(idx), count);
	}
	/* every name, before and after a fit (which ends a growth) */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "g%u", i);
			struct hk_entry *e = get_str(idx, i & 3, name);
			assert_true((e != NULL) == (in[i] == 1));
			if (e)
				assert_int_equal(hk_entry_key(e), (int64_t)i + 1);
		}
		hk_index_fit(idx);
	}
	/* the oldest first, to the last */
	int64_t prev = INT64_MIN;
	size_t drained = 0;
	struct hk_entry *e;
	while ((e = hk_index_oldest(idx)) != NULL) {
		assert_true(hk_entry_key(e) > prev);
		prev = hk_entry_key(e);
		hk_index_remove_entry(idx, e);
		drained++;
	}
	assert_int_equal(drained, count);
	free(in);
	hk_index_free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_free),
		cmocka_unit_test(test_reserve_fit),
		cmocka_unit_test(test_set_get_update_remove),
		cmocka_unit_test(test_put_reports_change),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_entry_cmp),
		cmocka_unit_test(test_sorted_snapshot),
		cmocka_unit_test(test_remove_dir),
		cmocka_unit_test(test_unmark_sweep),
		cmocka_unit_test(test_clear_and_reuse),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_grow_shrink),
		cmocka_unit_test(test_spilled_entries),
		cmocka_unit_test(test_chunk_release),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_grow_in_steps),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_memory_per_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
