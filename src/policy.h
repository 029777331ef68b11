/*
 * policy.h - the cleanup policies of SPEC 5 as pure functions.
 *
 * For one registration the candidates are ordered oldest first (age key,
 * ties by name). Age applies first, then count, then size, each to what the
 * previous left; since each deletes from the oldest end, the files deleted
 * are always an oldest-first prefix, and each file's reason is the first
 * policy that selects it.
 *
 * low_watermark (SPEC 5): once count or size is exceeded (by what the
 * policies before it left), that policy deletes down to low_watermark% of
 * its limit (rounded down), not just to the limit. A trim in progress is
 * remembered in a struct hk_policy_trim (hysteresis): a set between the
 * target and the limit is trimmed further only while its trim is under way.
 * The engine keeps it in memory only: after a restart a set left between
 * the target and the limit waits until the limit is exceeded again (then
 * it is trimmed to the target); a set over the limit is trimmed at once.
 * No limit is ever exceeded for it, so it is not stored.
 */
#ifndef HK_POLICY_H
#define HK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registration.h"

enum hk_reason {
	HK_REASON_NONE = 0,
	HK_REASON_AGE,     /* older than retention */
	HK_REASON_COUNT,   /* beyond the newest max_files */
	HK_REASON_SIZE,    /* total over max_size */
	HK_REASON_FREE,    /* the filesystem below min_free (engine_free.c) */
};
#define HK_REASON_MAX HK_REASON_FREE
/* "age", "count", "size", "free", "none" */
const char *hk_reason_name(enum hk_reason r);

struct hk_policy {
	int64_t retention_ns;   /* 0 = no age limit */
	uint64_t max_files;
	bool has_max_files;
	uint64_t max_size;
	bool has_max_size;
	unsigned low_watermark;   /* percent 1..100 of max_files/max_size to trim to */
};

/* A trim under way: count or size was exceeded and its target not reached
 * yet. Zeroed = none. The engine keeps one per registration. */
struct hk_policy_trim {
	bool count;
	bool size;
};

/* The targets a trim goes down to: low_watermark% of max_files and of
 * max_size, rounded down (the limits themselves at 100%). */
uint64_t hk_policy_count_target(const struct hk_policy *p);
uint64_t hk_policy_size_target(const struct hk_policy *p);

/* Is a file with age key key_ns older than the age limit at now_ns? */
bool hk_policy_expired(const struct hk_policy *p, int64_t key_ns, int64_t now_ns,
		       bool age_allowed);

/* The effective policy of a registration: its own limits (retention in
 * seconds becomes nanoseconds, clamped to INT64_MAX), or, when it sets none
 * (retention 0, no max_files, no max_size), default_retention_days as its
 * age limit (<= 0: no limit at all). */
void hk_policy_from_registration(const struct hk_registration *reg, long default_retention_days,
				 struct hk_policy *out);

/* Incremental form, for the event path and sweeps: given the set's current
 * count and total bytes and the age key of its oldest file, must that
 * oldest file go, and why? age_allowed false (implausible clock) disables
 * the age policy. trim (may be NULL: none under way, none recorded) is
 * updated: a limit exceeded starts a trim, its target reached ends it.
 * Calling this, removing the oldest, and repeating until NONE deletes
 * exactly the files hk_policy_select selects with the trim state of the
 * first call. */
enum hk_reason hk_policy_check_oldest(const struct hk_policy *p, struct hk_policy_trim *trim,
				      size_t count, uint64_t bytes, int64_t oldest_key_ns,
				      int64_t now_ns, bool age_allowed);

/* One candidate, as hk_policy_select sees it. */
struct hk_policy_file {
	int64_t key_ns;
	uint64_t size;
};

/* Batch form: files[0..n) sorted oldest first. Fills reasons[i] for every
 * file (NONE for survivors) and returns how many are selected (always the
 * first k). Age: now - key > retention. Count: when more than max_files
 * are left (or trim->count), the oldest go until hk_policy_count_target
 * are left; max_files 0 selects all. Size: when what count left totals
 * more than max_size (or trim->size), the oldest go until the rest total
 * at most hk_policy_size_target, so with a target 0 empty files newer than
 * the newest non-empty one stay. trim may be NULL (none under way). O(n). */
size_t hk_policy_select(const struct hk_policy *p, const struct hk_policy_trim *trim,
			const struct hk_policy_file *files, size_t n, int64_t now_ns,
			bool age_allowed, enum hk_reason *reasons);

/* Where age and count together cut a set of n files of which n_expired
 * are expired (hk_policy_expired): the files before this position go by
 * age or count; size judges what is left from it on. */
size_t hk_policy_count_cut(const struct hk_policy *p, const struct hk_policy_trim *trim,
			   size_t n, size_t n_expired);

/* One file's judgement without sorting its set, for explain: pos files come
 * before it in the set's order (older, or as old with a smaller name),
 * n files in all, n_expired of them expired, bytes_from_pos the total size
 * of it and every file after it, bytes_from_cut the total size of the
 * files from hk_policy_count_cut on (only read when the file is at or
 * after that cut and there is a size limit). The same reason
 * hk_policy_select gives files[pos]. */
struct hk_policy_place {
	size_t pos;
	size_t n;
	size_t n_expired;
	uint64_t bytes_from_pos;
	uint64_t bytes_from_cut;
};
enum hk_reason hk_policy_judge(const struct hk_policy *p, const struct hk_policy_trim *trim,
			       const struct hk_policy_place *at, int64_t key_ns, int64_t now_ns,
			       bool age_allowed);

/* When does the age policy next select something, given the oldest key?
 * The first instant at which hk_policy_check_oldest returns AGE for it:
 * key + retention + 1 ns (the age test is strict), saturating at
 * INT64_MAX; INT64_MAX when there is no age limit. */
int64_t hk_policy_next_expiry(const struct hk_policy *p, int64_t oldest_key_ns);

/* Free space (SPEC 5, min_free and free_target), with hysteresis: given
 * the free bytes of the filesystem (< 0: unknown) and the registration's
 * floor and target in bytes (a target below the floor counts as the
 * floor), *active becomes true when free is below the floor and false once
 * it reaches the target (or is unknown). Returns how many bytes are still
 * to be freed: target - free while *active, else 0. */
uint64_t hk_policy_free_short(int64_t free_bytes, uint64_t min_free, uint64_t target,
			      bool *active);

#endif /* HK_POLICY_H */
