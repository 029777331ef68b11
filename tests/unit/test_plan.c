/*
 * test_plan.c - unit tests of the sweep's snapshot heap (src/plan.c):
 * random snapshots (many ties in age, shared name prefixes, several
 * directories) built in random small steps pop in exactly the order a
 * full sort gives, with the remaining bytes right after every pop; and
 * popping only as far as the policy selects picks the same files as the
 * batch policy over the sorted set.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "policy.h"
#include "testutil.h"

#define S INT64_C(1000000000)

static const struct hk_plan *sort_plan;

static int sort_cmp(const void *a, const void *b)
{
	return hk_plan_cmp(sort_plan, a, b);
}

/* n random files: keys from few distinct values (ties), each name in up
 * to four directories ((directory, name) is unique, as in an index). */
static void fill_random(struct hk_plan *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char name[32];
		int len = snprintf(name, sizeof(name), "f%zu", i / 4);
		hk_plan_add(p, (int64_t)test_rng_below(20) * S, test_rng_below(1000), i + 1,
			    (uint32_t)(i % 4), name, (size_t)len);
	}
}

static void build_in_steps(struct hk_plan *p)
{
	while (!hk_plan_heapify_step(p, 1 + test_rng_below(7)))
		;
}

static void test_pops_sorted(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		test_rng_state = seed;
		size_t n = test_rng_below(300);
		struct hk_plan p;
		hk_plan_init(&p);
		fill_random(&p, n);
		struct hk_plan_file *want = malloc((n ? n : 1) * sizeof(*want));
		memcpy(want, p.files, n * sizeof(*want));
		sort_plan = &p;
		qsort(want, n, sizeof(*want), sort_cmp);
		uint64_t bytes = 0;
		for (size_t i = 0; i < n; i++)
			bytes += want[i].size;
		assert_int_equal(p.heap_bytes, bytes);
		build_in_steps(&p);
		for (size_t i = 0; i < n; i++) {
			struct hk_plan_file f;
			assert_true(hk_plan_pop(&p, &f));
			assert_int_equal(hk_plan_cmp(&p, &f, &want[i]), 0);
			assert_int_equal(f.ino, want[i].ino);   /* the very file, not an equal one */
			assert_string_equal(hk_plan_name(&p, &f), hk_plan_name(&p, &want[i]));
			bytes -= f.size;
			assert_int_equal(p.heap_bytes, bytes);
			assert_int_equal(p.heap_n, n - i - 1);
		}
		struct hk_plan_file f;
		assert_false(hk_plan_pop(&p, &f));
		free(want);
		hk_plan_fini(&p);
	}
}

/* Popping while hk_policy_check_oldest selects (what a sweep does) takes
 * the first k of the sorted set, with hk_policy_select's reasons. */
static void test_policy_prefix(void **state)
{
	(void)state;
	for (uint64_t seed = 100; seed < 160; seed++) {
		test_rng_state = seed;
		size_t n = 1 + test_rng_below(200);
		struct hk_plan p;
		hk_plan_init(&p);
		fill_random(&p, n);
		struct hk_policy pol = { 0 };
		pol.retention_ns = (int64_t)test_rng_below(25) * S;
		pol.has_max_files = test_rng_below(2);
		pol.max_files = test_rng_below(n + 2);
		pol.has_max_size = test_rng_below(2);
		pol.max_size = test_rng_below(n * 600 + 1);
		int64_t now = 20 * S;

		struct hk_plan_file *sorted = malloc(n * sizeof(*sorted));
		memcpy(sorted, p.files, n * sizeof(*sorted));
		sort_plan = &p;
		qsort(sorted, n, sizeof(*sorted), sort_cmp);
		struct hk_policy_file *files = malloc(n * sizeof(*files));
		enum hk_reason *why = malloc(n * sizeof(*why));
		for (size_t i = 0; i < n; i++)
			files[i] = (struct hk_policy_file){ sorted[i].key_ns, sorted[i].size };
		size_t k = hk_policy_select(&pol, NULL, files, n, now, true, why);

		build_in_steps(&p);
		size_t got = 0;
		for (;;) {
			if (p.heap_n == 0)
				break;
			enum hk_reason r = hk_policy_check_oldest(&pol, NULL, p.heap_n, p.heap_bytes,
								  p.files[0].key_ns, now, true);
			if (r == HK_REASON_NONE)
				break;
			struct hk_plan_file f;
			assert_true(hk_plan_pop(&p, &f));
			assert_true(got < k);
			assert_int_equal(f.ino, sorted[got].ino);
			assert_int_equal(r, why[got]);
			got++;
		}
		assert_int_equal(got, k);
		free(sorted);
		free(files);
		free(why);
		hk_plan_fini(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pops_sorted),
		cmocka_unit_test(test_policy_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
