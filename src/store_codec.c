/*
 * store_codec.c - how the store's records look in LMDB: the primitives
 * (little-endian integers, length-prefixed strings, big-endian keys, the
 * checked reader), the codec of each record kind (registration, job,
 * audit), and the error text of a failed store operation. No LMDB
 * environment or transaction here: what is stored is apart from how.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

void store_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (!cause)
		return;
	va_start(ap, fmt);
	free(*cause);
	*cause = hk_xvasprintf(fmt, ap);
	va_end(ap);
}

/* Encoding ------------------------------------------------------------------ */

void store_put_u8(struct hk_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	hk_buf_append(b, &c, 1);
}

void store_put_u32(struct hk_buf *b, uint32_t v)
{
	unsigned char c[4];

	for (int i = 0; i < 4; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	hk_buf_append(b, c, sizeof(c));
}

void store_put_u64(struct hk_buf *b, uint64_t v)
{
	unsigned char c[8];

	for (int i = 0; i < 8; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	hk_buf_append(b, c, sizeof(c));
}

void store_put_i64(struct hk_buf *b, int64_t v)
{
	store_put_u64(b, (uint64_t)v);
}

void store_put_bytes(struct hk_buf *b, const char *s, size_t n)
{
	store_put_u32(b, (uint32_t)n);
	hk_buf_append(b, s, n);
	store_put_u8(b, 0);
}

/* NULL is kept apart from "". */
void store_put_str(struct hk_buf *b, const char *s)
{
	if (!s) {
		store_put_u32(b, STORE_NULL_LEN);
		return;
	}
	store_put_bytes(b, s, strlen(s));
}

void store_be64(unsigned char out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (56 - 8 * i));
}

uint64_t store_from_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

const unsigned char *store_take(struct store_rd *r, size_t n)
{
	const unsigned char *p = r->p;

	if (r->bad || r->n < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

unsigned store_get_u8(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 1);

	return p ? p[0] : 0;
}

uint32_t store_get_u32(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 4);
	uint32_t v = 0;

	for (int i = 3; p && i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t store_get_u64(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 8);
	uint64_t v = 0;

	for (int i = 7; p && i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int64_t store_get_i64(struct store_rd *r)
{
	return (int64_t)store_get_u64(r);
}

bool store_get_bool(struct store_rd *r)
{
	unsigned v = store_get_u8(r);

	if (v > 1)
		r->bad = true;
	return v == 1;
}

/* A str: pointer into the value (NUL-terminated there), or NULL. */
const char *store_get_str(struct store_rd *r, size_t *len)
{
	uint32_t n = store_get_u32(r);
	const unsigned char *p = NULL;

	if (len)
		*len = 0;
	if (r->bad || n == STORE_NULL_LEN)
		return NULL;
	p = store_take(r, (size_t)n + 1);
	if (!p || p[n] != '\0' || memchr(p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	if (len)
		*len = n;
	return (const char *)p;
}

char *store_dup_or_null(const char *s)
{
	return s ? hk_xstrdup(s) : NULL;
}

/* 128-bit hash of a long relpath for its key: two FNV-1a 64 passes with
 * different offsets. Only has to keep distinct long paths apart. */
void store_hash(const char *s, size_t n, unsigned char out[STORE_HASH_LEN])
{
	uint64_t h1 = UINT64_C(0xcbf29ce484222325);
	uint64_t h2 = UINT64_C(0x84222325cbf29ce4) ^ n;

	for (size_t i = 0; i < n; i++) {
		h1 = (h1 ^ (unsigned char)s[i]) * UINT64_C(0x100000001b3);
		h2 = (h2 ^ (unsigned char)s[n - 1 - i]) * UINT64_C(0x100000001b3);
	}
	store_be64(out, h1);
	store_be64(out + 8, h2);
}

bool store_id_ok(const char *id)
{
	return id && strnlen(id, HK_UUID_LEN + 1) == HK_UUID_LEN;
}

static void store_put_space(struct hk_buf *b, const struct hk_space *sp)
{
	store_put_u8(b, sp->set);
	store_put_u8(b, sp->is_percent);
	store_put_u32(b, sp->percent);
	store_put_u64(b, sp->bytes);
}

static void store_get_space(struct store_rd *r, struct hk_space *sp)
{
	sp->set = store_get_bool(r);
	sp->is_percent = store_get_bool(r);
	sp->percent = store_get_u32(r);
	sp->bytes = store_get_u64(r);
	if (!sp->set)
		*sp = (struct hk_space){ 0 };
}

/* Version 2 appends the keys of SPEC 5's later limits (min_free ...
 * remove_empty_dirs) to version 1's fields; a version 1 record decodes
 * with their defaults. */
void store_encode_reg(struct hk_buf *b, const struct hk_registration *reg)
{
	store_put_u8(b, STORE_REC_V2);
	store_put_str(b, reg->id);
	store_put_str(b, reg->name);
	store_put_str(b, reg->directory);
	store_put_str(b, reg->pattern);
	store_put_u32(b, (uint32_t)reg->n_excludes);
	for (size_t i = 0; i < reg->n_excludes; i++)
		store_put_str(b, reg->excludes[i]);
	store_put_i64(b, reg->retention);
	store_put_u8(b, reg->has_retention);
	store_put_u64(b, reg->max_files);
	store_put_u8(b, reg->has_max_files);
	store_put_u64(b, reg->max_size);
	store_put_u8(b, reg->has_max_size);
	store_put_i64(b, reg->priority);
	store_put_str(b, reg->description);
	store_put_u8(b, reg->recursive);
	store_put_u32(b, reg->age_by);
	store_put_str(b, reg->schedule);
	store_put_u64(b, reg->schedule_cron.minutes);
	store_put_u32(b, reg->schedule_cron.hours);
	store_put_u32(b, reg->schedule_cron.mdays);
	store_put_u32(b, reg->schedule_cron.months);
	store_put_u8(b, reg->schedule_cron.wdays);
	store_put_u8(b, reg->schedule_cron.mday_star);
	store_put_u8(b, reg->schedule_cron.wday_star);
	store_put_u8(b, reg->allow_system_directory);
	store_put_u8(b, reg->default_retention);
	store_put_u8(b, (unsigned)reg->source);
	store_put_str(b, reg->source_file);
	store_put_u32(b, reg->source_line);
	store_put_i64(b, reg->created_at);
	store_put_i64(b, reg->updated_at);
	store_put_i64(b, reg->last_run);
	store_put_u32(b, reg->owner_uid);
	store_put_space(b, &reg->min_free);
	store_put_space(b, &reg->free_target);
	store_put_u32(b, reg->low_watermark ? reg->low_watermark : 100);
	store_put_u8(b, reg->skip_open);
	store_put_u8(b, (unsigned)reg->unit);
	store_put_u8(b, reg->remove_empty_dirs);
}

/* Decode into a new registration (all strings copied); NULL if malformed. */
struct hk_registration *store_decode_reg(const MDB_val *v)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };
	struct hk_registration *reg = NULL;
	const char *id;
	uint32_t n;
	unsigned source, unit;
	unsigned version = store_get_u8(&r);

	if (version != STORE_REC_V1 && version != STORE_REC_V2)
		return NULL;
	reg = hk_xcalloc(1, sizeof(*reg));
	reg->low_watermark = 100;
	id = store_get_str(&r, NULL);
	if (!store_id_ok(id))
		goto bad;
	memcpy(reg->id, id, HK_UUID_LEN + 1);
	reg->name = store_dup_or_null(store_get_str(&r, NULL));
	reg->directory = store_dup_or_null(store_get_str(&r, NULL));
	reg->pattern = store_dup_or_null(store_get_str(&r, NULL));
	n = store_get_u32(&r);
	if (r.bad || n > r.n / 4)
		goto bad;
	reg->excludes = hk_xcalloc((size_t)n + 1, sizeof(*reg->excludes));
	for (uint32_t i = 0; i < n; i++) {
		const char *e = store_get_str(&r, NULL);
		if (!e)
			goto bad;
		reg->excludes[reg->n_excludes++] = hk_xstrdup(e);
	}
	reg->retention = store_get_i64(&r);
	reg->has_retention = store_get_bool(&r);
	reg->max_files = store_get_u64(&r);
	reg->has_max_files = store_get_bool(&r);
	reg->max_size = store_get_u64(&r);
	reg->has_max_size = store_get_bool(&r);
	reg->priority = (long)store_get_i64(&r);
	reg->description = store_dup_or_null(store_get_str(&r, NULL));
	reg->recursive = store_get_bool(&r);
	reg->age_by = store_get_u32(&r);
	reg->schedule = store_dup_or_null(store_get_str(&r, NULL));
	reg->schedule_cron.minutes = store_get_u64(&r);
	reg->schedule_cron.hours = store_get_u32(&r);
	reg->schedule_cron.mdays = store_get_u32(&r);
	reg->schedule_cron.months = (uint16_t)store_get_u32(&r);
	reg->schedule_cron.wdays = (uint8_t)store_get_u8(&r);
	reg->schedule_cron.mday_star = store_get_bool(&r);
	reg->schedule_cron.wday_star = store_get_bool(&r);
	reg->allow_system_directory = store_get_bool(&r);
	reg->default_retention = store_get_bool(&r);
	source = store_get_u8(&r);
	if (source == HK_SOURCE_CONFIG)
		reg->source = HK_SOURCE_CONFIG;
	else if (source == HK_SOURCE_API)
		reg->source = HK_SOURCE_API;
	else
		goto bad;
	reg->source_file = store_dup_or_null(store_get_str(&r, NULL));
	reg->source_line = store_get_u32(&r);
	reg->created_at = store_get_i64(&r);
	reg->updated_at = store_get_i64(&r);
	reg->last_run = store_get_i64(&r);
	reg->owner_uid = store_get_u32(&r);
	if (version == STORE_REC_V2) {
		store_get_space(&r, &reg->min_free);
		store_get_space(&r, &reg->free_target);
		reg->low_watermark = store_get_u32(&r);
		reg->skip_open = store_get_bool(&r);
		unit = store_get_u8(&r);
		reg->remove_empty_dirs = store_get_bool(&r);
		if (unit == HK_UNIT_FILE)
			reg->unit = HK_UNIT_FILE;
		else if (unit == HK_UNIT_DIRECTORY)
			reg->unit = HK_UNIT_DIRECTORY;
		else
			goto bad;
		if (reg->low_watermark < 1 || reg->low_watermark > 100)
			goto bad;
	}
	if (r.bad || r.n != 0 || !reg->directory || !reg->pattern)
		goto bad;
	return reg;
bad:
	hk_registration_free(reg);
	return NULL;
}

bool store_decode_job(const MDB_val *k, const MDB_val *v, struct hk_store_job *j)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };

	memset(j, 0, sizeof(*j));
	if (k->mv_size != 8 || store_get_u8(&r) != STORE_REC_V1)
		return false;
	j->id = store_get_u64(&r);
	j->kind = store_get_str(&r, NULL);
	j->trigger = store_get_str(&r, NULL);
	j->reg_id = store_get_str(&r, NULL);
	j->start_ns = store_get_i64(&r);
	j->end_ns = store_get_i64(&r);
	j->outcome = store_get_str(&r, NULL);
	j->scanned = store_get_u64(&r);
	j->deleted = store_get_u64(&r);
	j->bytes = store_get_u64(&r);
	j->errors = store_get_u64(&r);
	j->dry_run = store_get_bool(&r);
	return !r.bad && r.n == 0 && j->id == store_from_be64(k->mv_data);
}

void store_encode_audit(struct hk_buf *b, const struct hk_store_audit *a)
{
	bool v2 = a->ino || a->aside;

	store_put_u8(b, v2 ? STORE_REC_V2 : STORE_REC_V1);
	store_put_u8(b, (unsigned)a->state);
	store_put_u8(b, a->dry_run);
	store_put_i64(b, a->time_ns);
	store_put_str(b, a->reg_id);
	store_put_bytes(b, a->path, a->path_len);
	store_put_u64(b, a->size);
	store_put_i64(b, a->mtime_ns);
	store_put_str(b, a->reason);
	store_put_str(b, a->outcome);
	store_put_u32(b, (uint32_t)a->err);
	if (v2) {
		store_put_u64(b, a->ino);
		store_put_str(b, a->aside);
	}
}

/* Decode an audit value; pointers borrow from the value. */
bool store_decode_audit(const MDB_val *k, const MDB_val *v, struct hk_store_audit *a)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };
	unsigned state, version;

	memset(a, 0, sizeof(*a));
	version = k->mv_size == 8 ? store_get_u8(&r) : 0;
	if (version != STORE_REC_V1 && version != STORE_REC_V2)
		return false;
	a->id = store_from_be64(k->mv_data);
	state = store_get_u8(&r);
	a->dry_run = store_get_bool(&r);
	a->time_ns = store_get_i64(&r);
	a->reg_id = store_get_str(&r, NULL);
	a->path = store_get_str(&r, &a->path_len);
	a->size = store_get_u64(&r);
	a->mtime_ns = store_get_i64(&r);
	a->reason = store_get_str(&r, NULL);
	a->outcome = store_get_str(&r, NULL);
	a->err = (int)store_get_u32(&r);
	if (version == STORE_REC_V2) {
		a->ino = store_get_u64(&r);
		a->aside = store_get_str(&r, NULL);
	}
	if (state != HK_STORE_AUDIT_INTENT && state != HK_STORE_AUDIT_DONE)
		return false;
	a->state = (enum hk_store_audit_state)state;
	return !r.bad && r.n == 0 && a->path;
}
