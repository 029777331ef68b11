/*
 * testutil.h - helpers shared by the cmocka unit tests: a private
 * directory under /tmp that is removed with everything in it, and a
 * deterministic PRNG (splitmix64) so that randomized tests reproduce.
 * Header-only: each test program is one file that includes it once.
 */
#ifndef HK_TESTUTIL_H
#define HK_TESTUTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A new directory /tmp/hk-test-TAG-XXXXXX, its path in root (size bytes).
 * Returns root, or NULL when it cannot be made. */
static inline char *test_tmpdir(char *root, size_t size, const char *tag)
{
	snprintf(root, size, "/tmp/hk-test-%s-XXXXXX", tag);
	return mkdtemp(root);
}

static inline int test_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove root and everything below it, symlinks as links. A test may have
 * made root read-only: it is made writable first. */
static inline int test_rmtree(const char *root)
{
	chmod(root, 0700);
	return nftw(root, test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* splitmix64: set test_rng_state to a seed, then draw. */
static uint64_t test_rng_state __attribute__((unused));

static inline uint64_t test_rng_next(void)
{
	uint64_t z = (test_rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A number in 0..n-1 (n > 0). */
static inline uint64_t test_rng_below(uint64_t n)
{
	return test_rng_next() % n;
}

#endif /* HK_TESTUTIL_H */
