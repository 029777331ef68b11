/*
 * test_policy.c - unit tests of the SPEC 5 policies (src/policy.c):
 * a table of policy x fixture x now with the exact selection and reasons,
 * a randomized check that the incremental form (check_oldest) deletes the
 * same files for the same reasons as the batch form (select), and so does
 * the one-file form (judge) for every file, ties in age
 * through the index order, the registration mapping and next expiry.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "policy.h"
#include "testutil.h"

#define S INT64_C(1000000000)
#define DAY (86400 * S)
#define MAXF 64

/* --- fixtures: candidate sets, oldest first ----------------------------- */

struct fixture {
	const char *name;
	size_t n;
	struct hk_policy_file files[MAXF];
};

enum {
	FX_EMPTY,
	FX_SIX,      /* keys 100..600 s, sizes 10..60 (total 210) */
	FX_TIES,     /* keys 100,100,100,200,200 s, sizes 5 each */
	FX_ZEROES,   /* sizes 10,20,0,0: empty files at the newest end */
	FX_EXTREME,  /* keys INT64_MIN, 0, INT64_MAX */
	FX_HUGE,     /* sizes near UINT64_MAX */
};

static const struct fixture fixtures[] = {
	[FX_EMPTY] = { "empty", 0, { { 0, 0 } } },
	[FX_SIX] = { "six", 6, {
		{ 100 * S, 10 }, { 200 * S, 20 }, { 300 * S, 30 },
		{ 400 * S, 40 }, { 500 * S, 50 }, { 600 * S, 60 } } },
	[FX_TIES] = { "ties", 5, {
		{ 100 * S, 5 }, { 100 * S, 5 }, { 100 * S, 5 },
		{ 200 * S, 5 }, { 200 * S, 5 } } },
	[FX_ZEROES] = { "zeroes", 4, {
		{ 100 * S, 10 }, { 200 * S, 20 }, { 300 * S, 0 }, { 400 * S, 0 } } },
	[FX_EXTREME] = { "extreme", 3, {
		{ INT64_MIN, 1 }, { 0, 1 }, { INT64_MAX, 1 } } },
	[FX_HUGE] = { "huge", 3, {
		{ 1 * S, UINT64_MAX - 1 }, { 2 * S, UINT64_MAX / 2 }, { 3 * S, 7 } } },
};

/* --- policies ------------------------------------------------------------- */

#define P_NONE { 0, 0, false, 0, false, 100 }
#define P_AGE(r) { (r), 0, false, 0, false, 100 }
#define P_COUNT(c) { 0, (c), true, 0, false, 100 }
#define P_SIZE(b) { 0, 0, false, (b), true, 100 }
#define P_ALL(r, c, b) { (r), (c), true, (b), true, 100 }

/* Expected reasons, one character per file: A age, C count, S size,
 * '-' kept. */
struct pcase {
	const char *what;
	struct hk_policy pol;
	int fx;
	int64_t now;
	bool age_allowed;
	const char *expect;
};

static const struct pcase cases[] = {
	{ "no limit", P_NONE, FX_SIX, 10000 * S, true, "------" },
	{ "age", P_AGE(250 * S), FX_SIX, 700 * S, true, "AAAA--" },
	{ "age boundary is strict", P_AGE(250 * S), FX_SIX, 650 * S, true, "AAA---" },
	{ "age 1ns past boundary", P_AGE(250 * S), FX_SIX, 650 * S + 1, true, "AAAA--" },
	{ "age all", P_AGE(1), FX_SIX, 700 * S, true, "AAAAAA" },
	{ "age none yet", P_AGE(1000 * S), FX_SIX, 700 * S, true, "------" },
	{ "age, files in the future", P_AGE(10 * S), FX_SIX, 50 * S, true, "------" },
	{ "age not allowed", P_AGE(250 * S), FX_SIX, 700 * S, false, "------" },
	{ "count 4", P_COUNT(4), FX_SIX, 700 * S, true, "CC----" },
	{ "count 0 deletes all", P_COUNT(0), FX_SIX, 700 * S, true, "CCCCCC" },
	{ "count = n", P_COUNT(6), FX_SIX, 700 * S, true, "------" },
	{ "count > n", P_COUNT(100), FX_SIX, 700 * S, true, "------" },
	{ "count unaffected by age_allowed", P_COUNT(4), FX_SIX, 700 * S, false, "CC----" },
	{ "size 100", P_SIZE(100), FX_SIX, 700 * S, true, "SSSSS-" },
	{ "size 150 exact fit", P_SIZE(150), FX_SIX, 700 * S, true, "SSS---" },
	{ "size 149", P_SIZE(149), FX_SIX, 700 * S, true, "SSSS--" },
	{ "size = total", P_SIZE(210), FX_SIX, 700 * S, true, "------" },
	{ "size total - 1", P_SIZE(209), FX_SIX, 700 * S, true, "S-----" },
	{ "size 59 (newest alone too big)", P_SIZE(59), FX_SIX, 700 * S, true, "SSSSSS" },
	{ "size 0", P_SIZE(0), FX_SIX, 700 * S, true, "SSSSSS" },
	{ "age then count then size", P_ALL(350 * S, 2, 100), FX_SIX, 700 * S, true, "AAACS-" },
	{ "age covers all", P_ALL(50 * S, 2, 100), FX_SIX, 700 * S, true, "AAAAAA" },
	{ "count beyond age", P_ALL(550 * S, 3, 1000), FX_SIX, 700 * S, true, "ACC---" },
	{ "size beyond count", P_ALL(550 * S, 4, 60), FX_SIX, 700 * S, true, "ACSSS-" },
	{ "all, age not allowed", P_ALL(350 * S, 2, 100), FX_SIX, 700 * S, false, "CCCCS-" },
	{ "count dominates size", P_ALL(0, 1, 1000), FX_SIX, 700 * S, true, "CCCCC-" },
	{ "zero limits", P_ALL(0, 0, 0), FX_SIX, 700 * S, true, "CCCCCC" },
	{ "empty, no limit", P_NONE, FX_EMPTY, 700 * S, true, "" },
	{ "empty, all limits", P_ALL(1, 0, 0), FX_EMPTY, 700 * S, true, "" },
	{ "ties expire together", P_AGE(150 * S), FX_TIES, 300 * S, true, "AAA--" },
	{ "ties at boundary", P_AGE(200 * S), FX_TIES, 300 * S, true, "-----" },
	{ "ties split by count", P_COUNT(3), FX_TIES, 300 * S, true, "CC---" },
	{ "ties split by size", P_SIZE(12), FX_TIES, 300 * S, true, "SSS--" },
	{ "size 0 keeps empty newest", P_SIZE(0), FX_ZEROES, 500 * S, true, "SS--" },
	{ "size 10 with empties", P_SIZE(10), FX_ZEROES, 500 * S, true, "SS--" },
	{ "size 20 with empties", P_SIZE(20), FX_ZEROES, 500 * S, true, "S---" },
	{ "count 0 with empties", P_COUNT(0), FX_ZEROES, 500 * S, true, "CCCC" },
	{ "extreme keys, max retention", P_AGE(INT64_MAX), FX_EXTREME, INT64_MAX, true, "A--" },
	{ "extreme keys, now -1", P_AGE(INT64_MAX), FX_EXTREME, -1, true, "---" },
	{ "extreme keys, now 0", P_AGE(INT64_MAX), FX_EXTREME, 0, true, "A--" },
	{ "extreme keys, now min", P_AGE(1), FX_EXTREME, INT64_MIN, true, "---" },
	{ "extreme keys, retention 1", P_AGE(1), FX_EXTREME, INT64_MAX, true, "AA-" },
	{ "huge sizes", P_SIZE(UINT64_MAX / 2), FX_HUGE, 0, true, "SS-" },
	{ "huge sizes, max - 1", P_SIZE(UINT64_MAX - 1), FX_HUGE, 0, true, "S--" },
	{ "huge sizes, max", P_SIZE(UINT64_MAX), FX_HUGE, 0, true, "S--" },
	{ "huge sizes, small", P_SIZE(6), FX_HUGE, 0, true, "SSS" },
};

static enum hk_reason reason_of_char(char c)
{
	switch (c) {
	case 'A':
		return HK_REASON_AGE;
	case 'C':
		return HK_REASON_COUNT;
	case 'S':
		return HK_REASON_SIZE;
	default:
		return HK_REASON_NONE;
	}
}

/* Apply check_oldest repeatedly, removing the oldest each time, and
 * compare with the reasons select() gave. Returns how many it deleted. */
static size_t run_incremental_trim(const char *what, const struct hk_policy *p,
				   struct hk_policy_trim *trim,
				   const struct hk_policy_file *files, size_t n, int64_t now,
				   bool age_allowed, const enum hk_reason *expect)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bytes += files[i].size;   /* callers keep totals small enough */
	for (i = 0; i < n; i++) {
		enum hk_reason r = hk_policy_check_oldest(p, trim, n - i, bytes, files[i].key_ns,
							   now, age_allowed);

		if (r != expect[i])
			fail_msg("%s: incremental, file %zu: got %s, select said %s", what, i,
				 hk_reason_name(r), hk_reason_name(expect[i]));
		if (r == HK_REASON_NONE)
			break;
		bytes -= files[i].size;
	}
	if (i == n)
		assert_int_equal(hk_policy_check_oldest(p, trim, 0, 0, 0, now, age_allowed),
				 HK_REASON_NONE);
	return i;
}

static size_t run_incremental(const char *what, const struct hk_policy *p,
			      const struct hk_policy_file *files, size_t n, int64_t now,
			      bool age_allowed, const enum hk_reason *expect)
{
	struct hk_policy_trim trim = { false, false };
	return run_incremental_trim(what, p, &trim, files, n, now, age_allowed, expect);
}

static void test_select_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct pcase *pc = &cases[c];
		const struct fixture *fx = &fixtures[pc->fx];
		enum hk_reason reasons[MAXF];
		size_t k, expect_k = 0;

		if (strlen(pc->expect) != fx->n)
			fail_msg("case '%s': expectation does not fit fixture %s", pc->what,
				 fx->name);
		memset(reasons, 0xa5, sizeof(reasons));
		k = hk_policy_select(&pc->pol, NULL, fx->files, fx->n, pc->now, pc->age_allowed, reasons);
		for (size_t i = 0; i < fx->n; i++) {
			enum hk_reason want = reason_of_char(pc->expect[i]);

			if (want != HK_REASON_NONE)
				expect_k = i + 1;
			if (reasons[i] != want)
				fail_msg("case '%s': file %zu: got %s, want %s", pc->what, i,
					 hk_reason_name(reasons[i]), hk_reason_name(want));
		}
		if (k != expect_k)
			fail_msg("case '%s': selected %zu, want %zu", pc->what, k, expect_k);
		/* (the huge fixture's total does not fit the running sum) */
		if (pc->fx != FX_HUGE &&
		    run_incremental(pc->what, &pc->pol, fx->files, fx->n, pc->now,
				    pc->age_allowed, reasons) != k)
			fail_msg("case '%s': incremental deleted a different count", pc->what);
	}
	print_message("%zu policy cases\n", sizeof(cases) / sizeof(cases[0]));
}

/* --- randomized equivalence of check_oldest and select ------------------ */

static void test_incremental_matches_select(void **state)
{
	size_t selected = 0, by[4] = { 0, 0, 0, 0 };

	(void)state;
	test_rng_state = 42;
	for (unsigned iter = 0; iter < 20000; iter++) {
		struct hk_policy_file files[MAXF];
		enum hk_reason reasons[MAXF];
		struct hk_policy p = P_NONE;
		size_t n = (size_t)test_rng_below(MAXF + 1);
		int64_t key = (int64_t)test_rng_below(100) - 50;
		int64_t now = (int64_t)test_rng_below(400) - 100;
		bool age_allowed = test_rng_below(4) != 0;
		size_t k;

		for (size_t i = 0; i < n; i++) {
			key += (int64_t)test_rng_below(4);   /* sorted, with ties */
			files[i].key_ns = key;
			files[i].size = test_rng_below(5) == 0 ? 0 : test_rng_below(100);
		}
		if (test_rng_below(2))
			p.retention_ns = (int64_t)test_rng_below(200);
		if (test_rng_below(2)) {
			p.has_max_files = true;
			p.max_files = test_rng_below(MAXF + 4);
		}
		if (test_rng_below(2)) {
			p.has_max_size = true;
			p.max_size = test_rng_below(3000);
		}
		/* low_watermark: 100% (also as 0) or a share; a trim under way */
		p.low_watermark = test_rng_below(2) ? 0 : 1 + (unsigned)test_rng_below(100);
		struct hk_policy_trim trim = { test_rng_below(4) == 0, test_rng_below(4) == 0 };
		struct hk_policy_trim before = trim;
		k = hk_policy_select(&p, &trim, files, n, now, age_allowed, reasons);
		for (size_t i = 0; i < n; i++) {
			assert_true((i < k) == (reasons[i] != HK_REASON_NONE));
			by[reasons[i]]++;
		}
		selected += k;
		assert_int_equal(run_incremental_trim("random", &p, &trim, files, n, now,
						      age_allowed, reasons), k);
		/* explain's form: each file judged from its place, the bytes
		 * from it on and from the count cut on, without the rest of the
		 * set */
		size_t expired = 0;
		for (size_t i = 0; i < n; i++)
			expired += hk_policy_expired(&p, files[i].key_ns, now, age_allowed);
		size_t cut = hk_policy_count_cut(&p, &before, n, expired);
		uint64_t from = 0, from_cut = 0;
		for (size_t i = cut; i < n; i++)
			from_cut += files[i].size;
		for (size_t i = n; i-- > 0;) {
			from += files[i].size;
			struct hk_policy_place at = { .pos = i, .n = n, .n_expired = expired,
						      .bytes_from_pos = from,
						      .bytes_from_cut = from_cut };
			assert_int_equal(hk_policy_judge(&p, &before, &at, files[i].key_ns, now,
							 age_allowed), reasons[i]);
		}
	}
	print_message("selected %zu files: age %zu, count %zu, size %zu\n", selected,
		      by[HK_REASON_AGE], by[HK_REASON_COUNT], by[HK_REASON_SIZE]);
	/* the generator exercises every reason */
	assert_true(by[HK_REASON_AGE] > 1000);
	assert_true(by[HK_REASON_COUNT] > 1000);
	assert_true(by[HK_REASON_SIZE] > 1000);
}

/* --- ties in age, end to end through the index order ---------------------- */

static void test_ties_ordered_by_name(void **state)
{
	struct hk_index *idx = hk_index_create();
	const char *names[] = { "b.log", "a.log", "c.log", "a.log.1", "A.log" };
	struct hk_policy_file files[8];
	enum hk_reason reasons[8];
	struct hk_entry **arr = NULL;
	struct hk_policy p = P_COUNT(2);
	size_t n, k;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		struct hk_file_meta m = { .ino = i, .size = 1, .mtime_ns = 100 * S,
					  .key_ns = 100 * S };

		assert_int_equal(hk_index_set(idx, 0, names[i], strlen(names[i]), &m), 1);
	}
	{
		struct hk_file_meta m = { .ino = 9, .size = 1, .mtime_ns = 50 * S,
					  .key_ns = 50 * S };

		hk_index_set(idx, 1, "z.log", 5, &m);
	}
	n = hk_index_sorted(idx, &arr);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		files[i].key_ns = hk_entry_key(arr[i]);
		files[i].size = hk_entry_size(arr[i]);
	}
	k = hk_policy_select(&p, NULL, files, n, 200 * S, true, reasons);
	assert_int_equal(k, 4);
	/* oldest first, then same-age files in byte order of the name */
	assert_string_equal(hk_entry_name(arr[0]), "z.log");
	assert_string_equal(hk_entry_name(arr[1]), "A.log");
	assert_string_equal(hk_entry_name(arr[2]), "a.log");
	assert_string_equal(hk_entry_name(arr[3]), "a.log.1");
	assert_string_equal(hk_entry_name(arr[4]), "b.log");
	assert_string_equal(hk_entry_name(arr[5]), "c.log");
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(reasons[i], HK_REASON_COUNT);
	assert_int_equal(reasons[4], HK_REASON_NONE);

	/* the event path deletes the same ones, through hk_index_oldest */
	for (size_t i = 0; i < 4; i++) {
		struct hk_entry *e = hk_index_oldest(idx);

		assert_int_equal(hk_policy_check_oldest(&p, NULL, hk_index_count(idx),
							hk_index_bytes(idx), hk_entry_key(e), 200 * S,
							true),
				 HK_REASON_COUNT);
		assert_ptr_equal(e, arr[i]);
		hk_index_remove_entry(idx, e);
	}
	assert_int_equal(hk_policy_check_oldest(&p, NULL, hk_index_count(idx), hk_index_bytes(idx),
						hk_entry_key(hk_index_oldest(idx)), 200 * S, true),
			 HK_REASON_NONE);
	free(arr);
	hk_index_free(idx);
}

/* --- check_oldest details -------------------------------------------------- */

static void test_check_oldest(void **state)
{
	struct hk_policy all = P_ALL(100, 3, 50);
	struct hk_policy none = P_NONE;

	(void)state;
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 0, 0, 0, 1000, true), HK_REASON_NONE);
	assert_int_equal(hk_policy_check_oldest(&none, NULL, 10, 1000, 0, 1000, true), HK_REASON_NONE);
	/* age first */
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 10, 1000, 899, 1000, true), HK_REASON_AGE);
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 10, 1000, 900, 1000, true),
			 HK_REASON_COUNT);
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 10, 1000, 899, 1000, false),
			 HK_REASON_COUNT);
	/* then count, then size */
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 3, 1000, 900, 1000, true), HK_REASON_SIZE);
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 3, 50, 900, 1000, true), HK_REASON_NONE);
	assert_int_equal(hk_policy_check_oldest(&all, NULL, 4, 0, 900, 1000, true), HK_REASON_COUNT);
}

/* --- low_watermark (SPEC 5): trimmed in batches, with hysteresis --------- */

static void test_low_watermark(void **state)
{
	struct hk_policy p = { 0, 100, true, 0, false, 80 };
	struct hk_policy_file files[200];
	enum hk_reason reasons[200];
	struct hk_policy_trim trim = { false, false };

	(void)state;
	for (size_t i = 0; i < 200; i++)
		files[i] = (struct hk_policy_file){ (int64_t)i, 10 };
	assert_int_equal(hk_policy_count_target(&p), 80);
	/* 101 > 100: down to 80 */
	assert_int_equal(hk_policy_select(&p, NULL, files, 101, 1000, true, reasons), 21);
	assert_int_equal(reasons[20], HK_REASON_COUNT);
	assert_int_equal(reasons[21], HK_REASON_NONE);
	assert_int_equal(run_incremental_trim("wm", &p, &trim, files, 101, 1000, true, reasons),
			 21);
	assert_false(trim.count);   /* target reached: the trim is over */
	/* at the limit, and between target and limit without a trim: nothing */
	assert_int_equal(hk_policy_select(&p, NULL, files, 100, 1000, true, reasons), 0);
	assert_int_equal(hk_policy_check_oldest(&p, &trim, 100, 1000, 0, 1000, true),
			 HK_REASON_NONE);
	assert_int_equal(hk_policy_check_oldest(&p, &trim, 90, 900, 0, 1000, true),
			 HK_REASON_NONE);
	/* a trim under way goes on between target and limit */
	trim.count = true;
	assert_int_equal(hk_policy_select(&p, &trim, files, 90, 1000, true, reasons), 10);
	assert_int_equal(hk_policy_check_oldest(&p, &trim, 90, 900, 0, 1000, true),
			 HK_REASON_COUNT);
	assert_true(trim.count);
	assert_int_equal(hk_policy_check_oldest(&p, &trim, 80, 800, 0, 1000, true),
			 HK_REASON_NONE);
	assert_false(trim.count);
	/* an age deletion first: the count is judged on what age left */
	p.retention_ns = 500;   /* at 501 key 0 alone is expired */
	assert_int_equal(hk_policy_select(&p, NULL, files, 101, 501, true, reasons), 1);
	p.retention_ns = 0;
	/* rounding down, and 100% (or 0, a zeroed policy) is the limit itself */
	p.max_files = 9;
	assert_int_equal(hk_policy_count_target(&p), 7);
	p.low_watermark = 100;
	assert_int_equal(hk_policy_count_target(&p), 9);
	p.low_watermark = 0;
	assert_int_equal(hk_policy_count_target(&p), 9);
	p.max_files = UINT64_MAX;
	p.low_watermark = 50;
	assert_int_equal(hk_policy_count_target(&p), UINT64_MAX / 2);

	/* size: 200 files of 10 bytes, max 1000 at 50%: down to 500 */
	struct hk_policy sz = { 0, 0, false, 1000, true, 50 };
	assert_int_equal(hk_policy_select(&sz, NULL, files, 101, 1000, true, reasons), 51);
	assert_int_equal(reasons[50], HK_REASON_SIZE);
	assert_int_equal(hk_policy_select(&sz, NULL, files, 100, 1000, true, reasons), 0);
	trim = (struct hk_policy_trim){ false, false };
	assert_int_equal(hk_policy_select(&sz, NULL, files, 101, 1000, true, reasons), 51);
	assert_int_equal(run_incremental_trim("wm size", &sz, &trim, files, 101, 1000, true,
					      reasons), 51);
	/* count and size: count's cut first, size on what it left */
	struct hk_policy both = { 0, 100, true, 700, true, 80 };
	assert_int_equal(hk_policy_select(&both, NULL, files, 101, 1000, true, reasons), 45);
	assert_int_equal(reasons[20], HK_REASON_COUNT);
	assert_int_equal(reasons[21], HK_REASON_SIZE);
	assert_int_equal(reasons[44], HK_REASON_SIZE);
	assert_int_equal(reasons[45], HK_REASON_NONE);
}

/* --- policy from a registration ------------------------------------------ */

static void test_from_registration(void **state)
{
	struct hk_registration reg;
	struct hk_policy p;

	(void)state;
	memset(&reg, 0, sizeof(reg));

	/* no policy at all: the default retention, in days */
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, 30 * DAY);
	assert_false(p.has_max_files);
	assert_false(p.has_max_size);
	hk_policy_from_registration(&reg, 0, &p);
	assert_int_equal(p.retention_ns, 0);
	hk_policy_from_registration(&reg, LONG_MAX, &p);
	assert_int_equal(p.retention_ns, INT64_MAX);
	assert_int_equal(p.low_watermark, 100);   /* a zeroed registration: 100% */
	reg.low_watermark = 80;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.low_watermark, 80);
	reg.low_watermark = 0;

	/* its own retention */
	reg.retention = 3600;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, 3600 * S);
	reg.retention = INT64_MAX / 1000000000 + 1;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, INT64_MAX);
	reg.retention = INT64_MAX;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, INT64_MAX);
	reg.retention = INT64_MAX / 1000000000;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, INT64_MAX / 1000000000 * S);

	/* a count limit alone (even 0) is a policy: no default age */
	reg.retention = 0;
	reg.has_max_files = true;
	reg.max_files = 0;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, 0);
	assert_true(p.has_max_files);
	assert_int_equal(p.max_files, 0);
	assert_false(p.has_max_size);

	/* a size limit alone */
	reg.has_max_files = false;
	reg.max_files = 77;   /* ignored without has_max_files */
	reg.has_max_size = true;
	reg.max_size = 500 * 1024 * 1024;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, 0);
	assert_false(p.has_max_files);
	assert_int_equal(p.max_files, 0);
	assert_true(p.has_max_size);
	assert_int_equal(p.max_size, 500 * 1024 * 1024);

	/* all three */
	reg.retention = 86400;
	reg.has_max_files = true;
	reg.max_files = 100;
	hk_policy_from_registration(&reg, 30, &p);
	assert_int_equal(p.retention_ns, DAY);
	assert_int_equal(p.max_files, 100);
	assert_int_equal(p.max_size, 500 * 1024 * 1024);
}

static void test_next_expiry(void **state)
{
	struct hk_policy age = P_AGE(50);
	struct hk_policy none = P_COUNT(3);
	struct hk_policy big = P_AGE(INT64_MAX);
	int64_t t;

	(void)state;
	assert_int_equal(hk_policy_next_expiry(&none, 100), INT64_MAX);
	t = hk_policy_next_expiry(&age, 100);
	assert_int_equal(t, 151);
	/* the first instant at which the age policy selects the file */
	assert_int_equal(hk_policy_check_oldest(&age, NULL, 1, 1, 100, t - 1, true), HK_REASON_NONE);
	assert_int_equal(hk_policy_check_oldest(&age, NULL, 1, 1, 100, t, true), HK_REASON_AGE);
	assert_int_equal(hk_policy_next_expiry(&age, INT64_MAX - 10), INT64_MAX);
	assert_int_equal(hk_policy_next_expiry(&age, INT64_MAX - 50), INT64_MAX);
	assert_int_equal(hk_policy_next_expiry(&age, INT64_MAX - 51), INT64_MAX);
	assert_int_equal(hk_policy_next_expiry(&age, INT64_MAX - 52), INT64_MAX - 1);
	assert_int_equal(hk_policy_next_expiry(&age, INT64_MIN), INT64_MIN + 51);
	assert_int_equal(hk_policy_next_expiry(&big, 0), INT64_MAX);
	assert_int_equal(hk_policy_next_expiry(&big, -2), INT64_MAX - 1);
	assert_int_equal(hk_policy_next_expiry(&big, INT64_MIN), 0);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(hk_reason_name(HK_REASON_NONE), "none");
	assert_string_equal(hk_reason_name(HK_REASON_AGE), "age");
	assert_string_equal(hk_reason_name(HK_REASON_COUNT), "count");
	assert_string_equal(hk_reason_name(HK_REASON_SIZE), "size");
	assert_string_equal(hk_reason_name(HK_REASON_FREE), "free");
}

/* min_free with hysteresis: crossed below the floor, active until the
 * target, a target below the floor is the floor, unknown free space is
 * never a reason to delete. */
static void test_free_short(void **state)
{
	(void)state;
	static const struct {
		int64_t free;
		uint64_t min, target;
		bool active_in;
		uint64_t want;
		bool active_out;
	} t[] = {
		{ 2000, 1000, 3000, false, 0, false },      /* above the floor, idle */
		{ 1000, 1000, 3000, false, 0, false },      /* at the floor: not below */
		{ 999, 1000, 3000, false, 2001, true },     /* crossed: short of the target */
		{ 2000, 1000, 3000, true, 1000, true },     /* on the way to the target */
		{ 3000, 1000, 3000, true, 0, false },       /* target reached */
		{ 5000, 1000, 3000, true, 0, false },
		{ 0, 1000, 1000, false, 1000, true },       /* target = floor */
		{ 500, 1000, 200, false, 500, true },       /* a target below the floor */
		{ 1000, 1000, 200, true, 0, false },
		{ -1, 1000, 3000, true, 0, false },         /* unknown */
		{ 0, 0, 0, false, 0, false },               /* no floor */
		{ INT64_MAX, UINT64_MAX, UINT64_MAX, false, UINT64_MAX - INT64_MAX, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool active = t[i].active_in;
		uint64_t got = hk_policy_free_short(t[i].free, t[i].min, t[i].target, &active);
		if (got != t[i].want || active != t[i].active_out)
			fail_msg("row %zu: short %" PRIu64 " active %d, want %" PRIu64 " %d", i, got,
				 active, t[i].want, t[i].active_out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_table),
		cmocka_unit_test(test_incremental_matches_select),
		cmocka_unit_test(test_ties_ordered_by_name),
		cmocka_unit_test(test_check_oldest),
		cmocka_unit_test(test_low_watermark),
		cmocka_unit_test(test_from_registration),
		cmocka_unit_test(test_next_expiry),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_free_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
