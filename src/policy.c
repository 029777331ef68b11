/*
 * policy.c - the cleanup policies of SPEC 5 as pure functions.
 *
 * Owns no state. The candidates of a registration are ordered oldest first
 * (hk_entry_cmp). Age, count and size each delete from the oldest end, each
 * applied to what the previous left, so the deleted files are the prefix of
 * length max(k_age, k_count, k_size), where
 *  - k_age:   files with now - key > retention (strictly), a prefix because
 *             the order is by key first;
 *  - k_count: n - max_files when positive;
 *  - k_size:  the shortest prefix whose removal leaves total <= max_size.
 * A selected file's reason is the first policy selecting it: AGE if
 * expired, else COUNT if among the n - max_files oldest, else SIZE.
 * With low_watermark below 100%, a limit exceeded by what the policies
 * before it left cuts deeper: k_count = n - count_target once more than
 * max_files remain after age; k_size = the shortest prefix leaving at most
 * size_target once what age and count left totals more than max_size.
 * struct hk_policy_trim carries a trim begun and not finished from one
 * call (or event) to the next, so that a set between target and limit
 * goes on down to the target instead of stopping at the limit.
 * hk_policy_check_oldest is the same rule applied one file at a time to the
 * remaining set; the unit tests check both agree.
 *
 * Times are int64 nanoseconds; every sum and difference saturates instead
 * of overflowing.
 */
#include "autoconfig.h"

#include "policy.h"

#define POLICY_NS_PER_SEC INT64_C(1000000000)
#define POLICY_SEC_PER_DAY INT64_C(86400)

const char *hk_reason_name(enum hk_reason r)
{
	switch (r) {
	case HK_REASON_NONE:
		return "none";
	case HK_REASON_AGE:
		return "age";
	case HK_REASON_COUNT:
		return "count";
	case HK_REASON_SIZE:
		return "size";
	case HK_REASON_FREE:
		return "free";
	}
	return "unknown";
}

/* seconds -> nanoseconds; <= 0 is "no limit" (0), overflow clamps. */
static int64_t policy_sec_to_ns(int64_t sec)
{
	if (sec <= 0)
		return 0;
	if (sec > INT64_MAX / POLICY_NS_PER_SEC)
		return INT64_MAX;
	return sec * POLICY_NS_PER_SEC;
}

void hk_policy_from_registration(const struct hk_registration *reg, long default_retention_days,
				 struct hk_policy *out)
{
	/* Same test as hk_registration_has_policy(), without calling into
	 * config_reg.c. */
	bool has_policy = reg->retention > 0 || reg->has_max_files || reg->has_max_size;

	out->retention_ns = policy_sec_to_ns(reg->retention);
	out->has_max_files = reg->has_max_files;
	out->max_files = reg->has_max_files ? reg->max_files : 0;
	out->has_max_size = reg->has_max_size;
	out->max_size = reg->has_max_size ? reg->max_size : 0;
	out->low_watermark = reg->low_watermark >= 1 && reg->low_watermark <= 100
				     ? reg->low_watermark : 100;
	if (!has_policy) {
		int64_t days = default_retention_days;

		if (days > INT64_MAX / POLICY_SEC_PER_DAY)
			days = INT64_MAX / POLICY_SEC_PER_DAY;
		out->retention_ns = policy_sec_to_ns(days * POLICY_SEC_PER_DAY);
	}
}

/* now - key > retention, computed as key < now - retention without
 * overflow: when now - retention is below INT64_MIN nothing is expired. */
bool hk_policy_expired(const struct hk_policy *p, int64_t key_ns, int64_t now_ns,
		       bool age_allowed)
{
	if (!age_allowed || p->retention_ns <= 0)
		return false;
	if (now_ns < INT64_MIN + p->retention_ns)
		return false;
	return key_ns < now_ns - p->retention_ns;
}

/* limit * pct / 100, rounded down, without overflow. */
static uint64_t policy_share(uint64_t limit, unsigned pct)
{
	if (pct == 0 || pct >= 100)
		return limit;
	return limit / 100 * pct + limit % 100 * pct / 100;
}

uint64_t hk_policy_count_target(const struct hk_policy *p)
{
	return policy_share(p->max_files, p->low_watermark);
}

uint64_t hk_policy_size_target(const struct hk_policy *p)
{
	return policy_share(p->max_size, p->low_watermark);
}

enum hk_reason hk_policy_check_oldest(const struct hk_policy *p, struct hk_policy_trim *trim,
				      size_t count, uint64_t bytes, int64_t oldest_key_ns,
				      int64_t now_ns, bool age_allowed)
{
	struct hk_policy_trim none = { false, false };
	if (!trim)
		trim = &none;
	if (count == 0) {
		*trim = none;
		return HK_REASON_NONE;
	}
	if (hk_policy_expired(p, oldest_key_ns, now_ns, age_allowed))
		return HK_REASON_AGE;
	if (p->has_max_files) {
		if ((uint64_t)count > p->max_files)
			trim->count = true;
		if (trim->count && (uint64_t)count > hk_policy_count_target(p))
			return HK_REASON_COUNT;
	}
	trim->count = false;
	if (p->has_max_size) {
		if (bytes > p->max_size)
			trim->size = true;
		if (trim->size && bytes > hk_policy_size_target(p))
			return HK_REASON_SIZE;
	}
	trim->size = false;
	return HK_REASON_NONE;
}

size_t hk_policy_count_cut(const struct hk_policy *p, const struct hk_policy_trim *trim,
			   size_t n, size_t n_expired)
{
	size_t left = n - n_expired;
	uint64_t target = hk_policy_count_target(p);
	if (p->has_max_files && ((uint64_t)left > p->max_files || (trim && trim->count)) &&
	    (uint64_t)left > target)
		return n - (size_t)target;
	return n_expired;
}

/* The shortest prefix of files[0..n) whose removal leaves at most limit:
 * summing from the newest end never overflows before exceeding it. */
static size_t policy_size_cut(const struct hk_policy_file *files, size_t n, uint64_t limit)
{
	uint64_t kept = 0;
	size_t k = n;
	while (k > 0 && files[k - 1].size <= limit - kept) {
		kept += files[k - 1].size;
		k--;
	}
	return k;
}

size_t hk_policy_select(const struct hk_policy *p, const struct hk_policy_trim *trim,
			const struct hk_policy_file *files, size_t n, int64_t now_ns,
			bool age_allowed, enum hk_reason *reasons)
{
	size_t k_age = 0;
	size_t k_count, k;

	while (k_age < n && hk_policy_expired(p, files[k_age].key_ns, now_ns, age_allowed))
		k_age++;
	k_count = hk_policy_count_cut(p, trim, n, k_age);
	k = k_count;
	/* size: what age and count left is over max_size (or a trim goes on) */
	if (p->has_max_size &&
	    (policy_size_cut(files, n, p->max_size) > k_count || (trim && trim->size))) {
		size_t k_size = policy_size_cut(files, n, hk_policy_size_target(p));
		if (k_size > k)
			k = k_size;
	}
	for (size_t i = 0; i < n; i++) {
		if (i < k_age)
			reasons[i] = HK_REASON_AGE;
		else if (i < k_count)
			reasons[i] = HK_REASON_COUNT;
		else if (i < k)
			reasons[i] = HK_REASON_SIZE;
		else
			reasons[i] = HK_REASON_NONE;
	}
	return k;
}

enum hk_reason hk_policy_judge(const struct hk_policy *p, const struct hk_policy_trim *trim,
			       const struct hk_policy_place *at, int64_t key_ns, int64_t now_ns,
			       bool age_allowed)
{
	/* age selects a prefix of the order (expiry is monotone in the key),
	 * count the prefix up to the cut, size every file whose suffix (it
	 * and all newer) is over the size target, once what is left from the
	 * cut is over max_size: hk_policy_select's three prefixes */
	if (hk_policy_expired(p, key_ns, now_ns, age_allowed))
		return HK_REASON_AGE;
	if (at->pos < hk_policy_count_cut(p, trim, at->n, at->n_expired))
		return HK_REASON_COUNT;
	if (p->has_max_size && (at->bytes_from_cut > p->max_size || (trim && trim->size)) &&
	    at->bytes_from_pos > hk_policy_size_target(p))
		return HK_REASON_SIZE;
	return HK_REASON_NONE;
}

int64_t hk_policy_next_expiry(const struct hk_policy *p, int64_t oldest_key_ns)
{
	if (p->retention_ns <= 0)
		return INT64_MAX;
	/* Expired means now - key > retention: the first such instant is
	 * key + retention + 1 ns. */
	if (oldest_key_ns >= INT64_MAX - p->retention_ns)
		return INT64_MAX;
	return oldest_key_ns + p->retention_ns + 1;
}

uint64_t hk_policy_free_short(int64_t free_bytes, uint64_t min_free, uint64_t target,
			      bool *active)
{
	if (target < min_free)
		target = min_free;
	if (free_bytes < 0) {
		*active = false;
		return 0;
	}
	uint64_t avail = (uint64_t)free_bytes;
	if (avail < min_free)
		*active = true;
	else if (avail >= target)
		*active = false;
	return *active ? target - avail : 0;
}
