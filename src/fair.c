/*
 * fair.c - per-uid accounting of the control socket (see fair.h).
 *
 * Invariants:
 * - total is the sum of every entry's clients, and never exceeds
 *   max_clients; non-root connections never exceed max_clients -
 *   root_slots, so root always finds a slot unless root itself holds them.
 * - An entry exists while its uid holds a connection or keeps state that
 *   still matters: a bucket not yet full again, a refusal logged less than
 *   HK_FAIR_LOG_INTERVAL ago (FAIR_SUPPRESSED_KEEP when refusals were
 *   left out of the log since). So the table holds the uids active in the
 *   last few seconds, not every uid ever seen.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "fair.h"
#include "util.h"

#define FAIR_SUPPRESSED_KEEP (6 * HK_FAIR_LOG_INTERVAL)

struct fair_uid {
	uid_t uid;
	size_t clients;
	bool has_bucket;
	struct hk_fair_bucket bucket;
	bool has_log;
	double last_log;
	size_t suppressed;
};

struct hk_fair {
	size_t max_clients;
	size_t root_slots;
	size_t uid_clients;
	size_t total;
	struct fair_uid *uids;
	size_t n_uids;
	size_t cap_uids;
};

void hk_fair_bucket_init(struct hk_fair_bucket *b, double burst, double now)
{
	b->tokens = burst;
	b->stamp = now;
}

bool hk_fair_bucket_take(struct hk_fair_bucket *b, double rate, double burst, double now,
			 double *wait)
{
	/* a clock that went back (it should not: monotonic) refills nothing */
	if (now > b->stamp) {
		b->tokens += (now - b->stamp) * rate;
		if (b->tokens > burst)
			b->tokens = burst;
		b->stamp = now;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	if (wait)
		*wait = rate > 0 ? (1.0 - b->tokens) / rate : 0.0;
	return false;
}

struct hk_fair *hk_fair_create(size_t max_clients, size_t root_slots, size_t uid_clients)
{
	struct hk_fair *f = hk_xcalloc(1, sizeof(*f));
	f->max_clients = max_clients;
	f->root_slots = root_slots < max_clients ? root_slots : max_clients;
	f->uid_clients = uid_clients;
	return f;
}

void hk_fair_free(struct hk_fair *f)
{
	if (!f)
		return;
	free(f->uids);
	free(f);
}

/* Does entry u still carry anything at now? */
static bool fair_uid_live(const struct fair_uid *u, double now)
{
	if (u->clients > 0)
		return true;
	if (u->has_bucket &&
	    u->bucket.tokens + (now - u->bucket.stamp) * HK_FAIR_RUN_RATE < HK_FAIR_RUN_BURST)
		return true;
	/* refusals not logged yet are told with the next line, if it comes
	 * within a few intervals */
	double keep = u->suppressed ? FAIR_SUPPRESSED_KEEP : HK_FAIR_LOG_INTERVAL;
	return u->has_log && now - u->last_log < keep;
}

/* Drop the entries that carry nothing any more (now < 0: only those
 * without any time state). */
static void fair_prune(struct hk_fair *f, double now)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n_uids; i++) {
		const struct fair_uid *u = &f->uids[i];
		bool keep = now < 0 ? u->clients > 0 || u->has_bucket || u->has_log
				    : fair_uid_live(u, now);
		if (keep)
			f->uids[k++] = *u;
	}
	f->n_uids = k;
}

static struct fair_uid *fair_find(const struct hk_fair *f, uid_t uid)
{
	for (size_t i = 0; i < f->n_uids; i++)
		if (f->uids[i].uid == uid)
			return &f->uids[i];
	return NULL;
}

static struct fair_uid *fair_get(struct hk_fair *f, uid_t uid)
{
	struct fair_uid *u = fair_find(f, uid);
	if (u)
		return u;
	if (f->n_uids == f->cap_uids) {
		f->cap_uids = f->cap_uids ? f->cap_uids * 2 : 8;
		f->uids = hk_xreallocarray(f->uids, f->cap_uids, sizeof(*f->uids));
	}
	u = &f->uids[f->n_uids++];
	memset(u, 0, sizeof(*u));
	u->uid = uid;
	return u;
}

enum hk_fair_verdict hk_fair_client_add(struct hk_fair *f, uid_t uid)
{
	if (f->total >= f->max_clients)
		return HK_FAIR_FULL;
	if (uid != 0) {
		/* root_slots of the slots are root's: the others together stop short */
		if (f->total - hk_fair_clients(f, 0) >= f->max_clients - f->root_slots)
			return HK_FAIR_FULL;
		if (hk_fair_clients(f, uid) >= f->uid_clients)
			return HK_FAIR_UID_CAP;
	}
	fair_get(f, uid)->clients++;
	f->total++;
	return HK_FAIR_OK;
}

void hk_fair_client_remove(struct hk_fair *f, uid_t uid)
{
	struct fair_uid *u = fair_find(f, uid);
	if (!u || u->clients == 0)
		return;
	u->clients--;
	f->total--;
	if (u->clients == 0)
		fair_prune(f, -1.0);
}

size_t hk_fair_clients(const struct hk_fair *f, uid_t uid)
{
	const struct fair_uid *u = fair_find(f, uid);
	return u ? u->clients : 0;
}

size_t hk_fair_total(const struct hk_fair *f)
{
	return f->total;
}

bool hk_fair_run_take(struct hk_fair *f, uid_t uid, double now, double *wait)
{
	if (uid == 0)
		return true;
	fair_prune(f, now);
	struct fair_uid *u = fair_get(f, uid);
	if (!u->has_bucket) {
		hk_fair_bucket_init(&u->bucket, HK_FAIR_RUN_BURST, now);
		u->has_bucket = true;
	}
	return hk_fair_bucket_take(&u->bucket, HK_FAIR_RUN_RATE, HK_FAIR_RUN_BURST, now, wait);
}

bool hk_fair_log_due(struct hk_fair *f, uid_t uid, double now, size_t *suppressed)
{
	fair_prune(f, now);
	struct fair_uid *u = fair_get(f, uid);
	if (u->has_log && now - u->last_log < HK_FAIR_LOG_INTERVAL) {
		u->suppressed++;
		return false;
	}
	if (suppressed)
		*suppressed = u->suppressed;
	u->suppressed = 0;
	u->has_log = true;
	u->last_log = now;
	return true;
}
