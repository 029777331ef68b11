/*
 * test_store.c - unit tests of the LMDB state store (src/store.c) on real
 * files in mkdtemp directories: creation and permissions, the directory
 * lock, faults at open (truncation, garbage, newer schema), move-aside,
 * round trips of registrations, index, jobs and audit (raw-byte paths),
 * map growth, the intent protocol across a simulated crash, failing
 * commits and the bounded queue, coalescing of index writes to one path,
 * trimming after a burst, queries and pruning.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"
#include "testutil.h"

#define ID_A "11111111-2222-3333-4444-555555555555"
#define ID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define NOW INT64_C(1700000000000000000)

struct fixture {
	char root[64];
	char *state;
	char *data;
};

static int setup(void **state)
{
	struct fixture *fx = hk_xcalloc(1, sizeof(*fx));

	if (!test_tmpdir(fx->root, sizeof(fx->root), "store"))
		return -1;
	fx->state = hk_xasprintf("%s/state", fx->root);
	fx->data = hk_xasprintf("%s/state/%s", fx->root, HK_STORE_DATA_FILE);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	test_rmtree(fx->root);
	free(fx->state);
	free(fx->data);
	free(fx);
	return 0;
}

static struct hk_store *open_ok(const struct fixture *fx, const struct hk_store_options *opts)
{
	struct hk_store *s = NULL;
	char *cause = NULL;
	int rc = hk_store_open(fx->state, opts, NOW, &s, &cause);

	if (rc != 0)
		fprintf(stderr, "open: %d %s\n", rc, cause ? cause : "");
	assert_int_equal(rc, 0);
	assert_null(cause);
	assert_non_null(s);
	return s;
}

/* Open expecting failure; returns the cause (caller frees). */
static char *open_fail(const char *dir, const struct hk_store_options *opts, int want)
{
	struct hk_store *s = (struct hk_store *)1;
	char *cause = NULL;
	int rc = hk_store_open(dir, opts, NOW, &s, &cause);

	assert_int_equal(rc, want);
	assert_null(s);
	assert_non_null(cause);
	return cause;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static mode_t file_mode(const char *dir, const char *name)
{
	struct stat st;
	char *p = hk_xasprintf("%s/%s", dir, name);

	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_mode;
}

static struct hk_store_file meta_of(uint64_t i)
{
	struct hk_store_file f = {
		.ino = i, .size = i * 3, .mtime_ns = (int64_t)i * 7 - 5, .key_ns = (int64_t)i * 11,
	};
	return f;
}

/* Collects index entries. */
struct idx_item {
	char *path;
	size_t len;
	struct hk_store_file f;
};
struct idx_list {
	struct idx_item *items;
	size_t n;
	size_t cap;
};

static int idx_collect(const char *relpath, size_t rel_len, const struct hk_store_file *file,
		       void *arg)
{
	struct idx_list *l = arg;

	assert_int_equal(relpath[rel_len], '\0');
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->items = hk_xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	l->items[l->n].path = hk_xmalloc(rel_len + 1);
	memcpy(l->items[l->n].path, relpath, rel_len + 1);
	l->items[l->n].len = rel_len;
	l->items[l->n].f = *file;
	l->n++;
	return 0;
}

static void idx_list_fini(struct idx_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static const struct idx_item *idx_find(const struct idx_list *l, const char *p, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].len == len && memcmp(l->items[i].path, p, len) == 0)
			return &l->items[i];
	return NULL;
}

static size_t idx_count(struct hk_store *s, const char *id)
{
	struct idx_list l = { 0 };
	size_t n;

	assert_int_equal(hk_store_index_load(s, id, idx_collect, &l), 0);
	n = l.n;
	idx_list_fini(&l);
	return n;
}

/* Collects audit records (deep copies). */
struct aud_item {
	uint64_t id;
	int64_t time_ns;
	char reg_id[HK_UUID_LEN + 1];
	char *path;
	size_t path_len;
	uint64_t size;
	int64_t mtime_ns;
	char reason[16];
	bool dry_run;
	int state;
	char outcome[32];
	bool has_outcome;
	int err;
	uint64_t ino;
	char aside[48];
	bool has_aside;
};
struct aud_list {
	struct aud_item *items;
	size_t n;
};

static int aud_collect(const struct hk_store_audit *a, void *arg)
{
	struct aud_list *l = arg;
	struct aud_item *it;

	l->items = hk_xreallocarray(l->items, l->n + 1, sizeof(*l->items));
	it = &l->items[l->n++];
	memset(it, 0, sizeof(*it));
	it->id = a->id;
	it->time_ns = a->time_ns;
	assert_int_equal(strlen(a->reg_id), HK_UUID_LEN);
	strcpy(it->reg_id, a->reg_id);
	it->path = hk_xmalloc(a->path_len + 1);
	memcpy(it->path, a->path, a->path_len + 1);
	it->path_len = a->path_len;
	it->size = a->size;
	it->mtime_ns = a->mtime_ns;
	snprintf(it->reason, sizeof(it->reason), "%s", a->reason ? a->reason : "");
	it->dry_run = a->dry_run;
	it->state = (int)a->state;
	it->has_outcome = a->outcome != NULL;
	snprintf(it->outcome, sizeof(it->outcome), "%s", a->outcome ? a->outcome : "");
	it->err = a->err;
	it->ino = a->ino;
	it->has_aside = a->aside != NULL;
	snprintf(it->aside, sizeof(it->aside), "%s", a->aside ? a->aside : "");
	return 0;
}

static void aud_list_fini(struct aud_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static void aud_query(struct hk_store *s, const struct hk_store_audit_query *q, struct aud_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(hk_store_audit_list(s, q, aud_collect, l), 0);
}

static void intents(struct hk_store *s, struct aud_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(hk_store_audit_open_intents(s, aud_collect, l), 0);
}

static struct hk_store_audit audit_rec(const char *reg, const char *path, size_t len,
				       int64_t t, bool dry)
{
	struct hk_store_audit a = {
		.time_ns = t, .reg_id = reg, .path = path, .path_len = len, .size = 4096,
		.mtime_ns = t - 1000, .reason = "age", .dry_run = dry,
	};
	return a;
}

/* Collects jobs. */
struct job_list {
	struct hk_store_job j[64];
	char kind[64][16];
	char outcome[64][16];
	bool reg_null[64];
	size_t n;
};

static int job_collect(const struct hk_store_job *j, void *arg)
{
	struct job_list *l = arg;

	assert_true(l->n < 64);
	l->j[l->n] = *j;
	snprintf(l->kind[l->n], 16, "%s", j->kind ? j->kind : "(null)");
	snprintf(l->outcome[l->n], 16, "%s", j->outcome ? j->outcome : "(null)");
	l->reg_null[l->n] = j->reg_id == NULL;
	l->j[l->n].kind = l->j[l->n].trigger = l->j[l->n].reg_id = l->j[l->n].outcome = NULL;
	l->n++;
	return 0;
}

/* A registration with every field set to something recognizable. */
static struct hk_registration *reg_make(const char *id, bool full)
{
	struct hk_registration *r = hk_xcalloc(1, sizeof(*r));

	memcpy(r->id, id, HK_UUID_LEN + 1);
	r->name = full ? hk_xstrdup("myapp-logs") : NULL;
	r->directory = hk_xstrdup(full ? "/var/log/my app\n\xff" : "/srv/spool");
	r->pattern = hk_xstrdup(full ? "*.log" : "*");
	r->excludes = hk_xcalloc(3, sizeof(char *));
	if (full) {
		r->excludes[0] = hk_xstrdup("current.log");
		r->excludes[1] = hk_xstrdup("");
		r->n_excludes = 2;
	}
	r->retention = full ? 30 * 86400 : 0;
	r->has_retention = full;
	r->max_files = full ? 100 : 0;
	r->has_max_files = full;
	r->max_size = full ? UINT64_C(500) << 20 : UINT64_MAX;
	r->has_max_size = !full;
	r->priority = full ? -123456789L : 100;
	r->description = full ? hk_xstrdup("MyApp log files") : NULL;
	r->recursive = full;
	r->age_by = full ? (HK_AGE_MTIME | HK_AGE_CTIME) : HK_AGE_MTIME;
	r->schedule = full ? hk_xstrdup("*/15 * * * *") : NULL;
	r->schedule_cron.minutes = full ? UINT64_C(0x0800400200100001) : 0;
	r->schedule_cron.hours = full ? 0xffffffu : 0;
	r->schedule_cron.mdays = full ? 0xfffffffeu : 0;
	r->schedule_cron.months = full ? 0x1ffe : 0;
	r->schedule_cron.wdays = full ? 0x7f : 0;
	r->schedule_cron.mday_star = full;
	r->schedule_cron.wday_star = !full;
	r->allow_system_directory = full;
	r->default_retention = !full;
	r->source = full ? HK_SOURCE_CONFIG : HK_SOURCE_API;
	r->source_file = full ? hk_xstrdup("/etc/housekeeper/conf.d/myapp.conf") : NULL;
	r->source_line = full ? 42 : 0;
	r->created_at = full ? 1600000000 : -5;
	r->updated_at = full ? 1600000100 : 0;
	r->last_run = full ? 1600000200 : INT64_MAX;
	r->owner_uid = full ? 0 : 1000;
	r->min_free = full ? (struct hk_space){ .set = true, .is_percent = true, .percent = 10 }
			   : (struct hk_space){ .set = true, .bytes = UINT64_C(3) << 30 };
	r->free_target = full ? (struct hk_space){ .set = true, .is_percent = true, .percent = 15 }
			      : (struct hk_space){ 0 };
	r->low_watermark = full ? 80 : 100;
	r->skip_open = full;
	r->unit = full ? HK_UNIT_FILE : HK_UNIT_DIRECTORY;
	r->remove_empty_dirs = full;
	return r;
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b) {
		assert_ptr_equal(a, b);
		return;
	}
	assert_string_equal(a, b);
}

static void reg_assert_equal(const struct hk_registration *a, const struct hk_registration *b)
{
	assert_string_equal(a->id, b->id);
	assert_str_or_null(a->name, b->name);
	assert_string_equal(a->directory, b->directory);
	assert_string_equal(a->pattern, b->pattern);
	assert_int_equal(a->n_excludes, b->n_excludes);
	for (size_t i = 0; i < a->n_excludes; i++)
		assert_string_equal(a->excludes[i], b->excludes[i]);
	assert_non_null(b->excludes);
	assert_null(b->excludes[b->n_excludes]);
	assert_int_equal(a->retention, b->retention);
	assert_int_equal(a->has_retention, b->has_retention);
	assert_int_equal(a->max_files, b->max_files);
	assert_int_equal(a->has_max_files, b->has_max_files);
	assert_int_equal(a->max_size, b->max_size);
	assert_int_equal(a->has_max_size, b->has_max_size);
	assert_int_equal(a->priority, b->priority);
	assert_str_or_null(a->description, b->description);
	assert_int_equal(a->recursive, b->recursive);
	assert_int_equal(a->age_by, b->age_by);
	assert_str_or_null(a->schedule, b->schedule);
	assert_memory_equal(&a->schedule_cron.minutes, &b->schedule_cron.minutes, 8);
	assert_int_equal(a->schedule_cron.hours, b->schedule_cron.hours);
	assert_int_equal(a->schedule_cron.mdays, b->schedule_cron.mdays);
	assert_int_equal(a->schedule_cron.months, b->schedule_cron.months);
	assert_int_equal(a->schedule_cron.wdays, b->schedule_cron.wdays);
	assert_int_equal(a->schedule_cron.mday_star, b->schedule_cron.mday_star);
	assert_int_equal(a->schedule_cron.wday_star, b->schedule_cron.wday_star);
	assert_int_equal(a->allow_system_directory, b->allow_system_directory);
	assert_int_equal(a->default_retention, b->default_retention);
	assert_int_equal(a->source, b->source);
	assert_str_or_null(a->source_file, b->source_file);
	assert_int_equal(a->source_line, b->source_line);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_int_equal(a->last_run, b->last_run);
	assert_int_equal(a->owner_uid, b->owner_uid);
	assert_memory_equal(&a->min_free, &b->min_free, sizeof(a->min_free));
	assert_memory_equal(&a->free_target, &b->free_target, sizeof(a->free_target));
	assert_int_equal(a->low_watermark, b->low_watermark);
	assert_int_equal(a->skip_open, b->skip_open);
	assert_int_equal(a->unit, b->unit);
	assert_int_equal(a->remove_empty_dirs, b->remove_empty_dirs);
}

/* A registration record of version 1 (written before min_free ...
 * remove_empty_dirs existed: version 2's record without its tail) still
 * decodes, with those keys at their defaults; a version 2 record
 * round-trips them; a cut tail or a bad unit is refused. */
static void test_reg_record_versions(void **state)
{
	(void)state;
	struct hk_registration *full = reg_make(ID_A, true);
	struct hk_registration *plain = reg_make(ID_B, false);
	struct hk_buf b = { 0 };
	const size_t tail = 2 * (1 + 1 + 4 + 8) + 4 + 1 + 1 + 1;

	store_encode_reg(&b, full);
	assert_int_equal(((unsigned char *)b.data)[0], STORE_REC_V2);
	MDB_val v = { .mv_size = b.len, .mv_data = b.data };
	struct hk_registration *d = store_decode_reg(&v);
	assert_non_null(d);
	reg_assert_equal(full, d);
	hk_registration_free(d);

	/* version 1: the same record without the tail */
	((unsigned char *)b.data)[0] = STORE_REC_V1;
	v.mv_size = b.len - tail;
	d = store_decode_reg(&v);
	assert_non_null(d);
	assert_string_equal(d->directory, full->directory);
	assert_int_equal(d->max_files, 100);
	assert_false(d->min_free.set);
	assert_false(d->free_target.set);
	assert_int_equal(d->low_watermark, 100);
	assert_false(d->skip_open);
	assert_int_equal(d->unit, HK_UNIT_FILE);
	assert_false(d->remove_empty_dirs);
	hk_registration_free(d);
	/* version 1 with a tail, version 2 without: malformed */
	v.mv_size = b.len;
	assert_null(store_decode_reg(&v));
	((unsigned char *)b.data)[0] = STORE_REC_V2;
	v.mv_size = b.len - tail;
	assert_null(store_decode_reg(&v));
	v.mv_size = b.len - 1;
	assert_null(store_decode_reg(&v));
	/* unit 7 */
	((unsigned char *)b.data)[b.len - 2] = 7;
	v.mv_size = b.len;
	assert_null(store_decode_reg(&v));
	free(b.data);

	b = (struct hk_buf){ 0 };
	store_encode_reg(&b, plain);
	v = (MDB_val){ .mv_size = b.len, .mv_data = b.data };
	d = store_decode_reg(&v);
	assert_non_null(d);
	reg_assert_equal(plain, d);
	hk_registration_free(d);
	free(b.data);
	hk_registration_free(full);
	hk_registration_free(plain);
}

/* Tests -------------------------------------------------------------------------- */

static void test_create_modes(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	char uuid[HK_UUID_LEN + 1];

	assert_int_equal(file_mode(fx->root, "state"), S_IFDIR | 0700);
	assert_int_equal(file_mode(fx->state, HK_STORE_DATA_FILE), S_IFREG | 0600);
	assert_int_equal(file_mode(fx->state, HK_STORE_DATA_FILE "-lock"), S_IFREG | 0600);
	assert_int_equal(file_mode(fx->state, HK_STORE_LOCK_FILE), S_IFREG | 0600);
	assert_int_equal(strlen(hk_store_uuid(s)), HK_UUID_LEN);
	strcpy(uuid, hk_store_uuid(s));
	assert_int_equal(hk_store_created_ns(s), NOW);
	assert_true(hk_store_healthy(s));
	assert_int_equal(hk_store_map_size(s), HK_STORE_MAP_SIZE_DEFAULT);
	hk_store_close(s);

	/* reopen: same identity; a later now_ns does not change created */
	{
		struct hk_store *s2 = NULL;
		char *cause = NULL;

		assert_int_equal(hk_store_open(fx->state, NULL, NOW + 5, &s2, &cause), 0);
		assert_string_equal(hk_store_uuid(s2), uuid);
		assert_int_equal(hk_store_created_ns(s2), NOW);
		assert_int_equal(hk_store_job_last_id(s2), 0);
		hk_store_close(s2);
	}
}

static void test_dir_refused(void **state)
{
	struct fixture *fx = *state;
	char *real = hk_xasprintf("%s/real", fx->root);
	char *link = hk_xasprintf("%s/link", fx->root);
	char *rel = hk_xasprintf("%s/real/%s", fx->root, HK_STORE_DATA_FILE);
	char *cause;
	struct stat st;

	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	cause = open_fail(link, NULL, -ELOOP);
	assert_non_null(strstr(cause, link));
	assert_non_null(strstr(cause, "symbolic link"));
	free(cause);
	assert_int_equal(lstat(rel, &st), -1);   /* nothing created through it */

	assert_int_equal(chmod(real, 0770), 0);
	cause = open_fail(real, NULL, -EPERM);
	assert_non_null(strstr(cause, "writable by group or other"));
	free(cause);
	assert_int_equal(chmod(real, 0755), 0);   /* readable is fine */
	{
		struct hk_store *s = NULL;
		char *c2 = NULL;
		assert_int_equal(hk_store_open(real, NULL, NOW, &s, &c2), 0);
		hk_store_close(s);
	}

	cause = open_fail("relative/dir", NULL, -EINVAL);
	free(cause);
	free(real);
	free(link);
	free(rel);
}

static void test_second_open_refused(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	char want[64];
	char *cause;
	pid_t pid;
	int status;

	/* same process: the lock file is opened afresh, so flock conflicts */
	cause = open_fail(fx->state, NULL, HK_EBUSY);
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(cause, want));
	assert_non_null(strstr(cause, fx->state));
	free(cause);

	/* another process; it touches no LMDB state (it fails at the lock) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hk_store *s2 = NULL;
		char *c2 = NULL;
		int rc = hk_store_open(fx->state, NULL, NOW, &s2, &c2);
		_exit(rc == HK_EBUSY && c2 && strstr(c2, want) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* move_aside is refused while the store is open */
	{
		char *nn = NULL;
		char *c3 = NULL;
		assert_int_equal(hk_store_move_aside(fx->state, 1, &nn, &c3), HK_EBUSY);
		assert_null(nn);
		free(c3);
	}
	hk_store_close(s);
	s = open_ok(fx, NULL);
	hk_store_close(s);
}

/* The read-only open of the preview (--once --dry-run beside a running
 * daemon): no store yet is -ENOENT with nothing created; beside an open
 * writer (another process, as LMDB wants) it needs no lock, reads what the
 * writer committed and writes nothing (a flush with queued writes is
 * -EROFS); the writer goes on committing. */
static void test_read_only(void **state)
{
	struct fixture *fx = *state;
	const struct hk_store_options ro = { .read_only = true };
	struct stat before, after;
	char *cause;
	pid_t pid;
	int status;

	cause = open_fail(fx->state, &ro, -ENOENT);
	free(cause);
	assert_int_equal(access(fx->state, F_OK), -1);   /* nothing created */

	struct hk_store *w = open_ok(fx, NULL);
	struct hk_registration *r = reg_make(ID_A, true);
	assert_int_equal(hk_store_reg_put(w, r), 0);
	assert_int_equal(hk_store_flush(w), 0);
	assert_int_equal(stat(fx->data, &before), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hk_store *s2 = NULL;
		struct hk_registration **regs = NULL;
		size_t n = 0;
		char *c2 = NULL;
		int ok = hk_store_open(fx->state, &ro, NOW, &s2, &c2) == 0 &&
			 hk_store_reg_load_all(s2, &regs, &n) == 0 && n == 1 &&
			 strcmp(regs[0]->id, ID_A) == 0 && hk_store_flush(s2) == 0 &&
			 hk_store_reg_put(s2, regs[0]) == 0 && hk_store_flush(s2) == -EROFS;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(fx->data, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	/* the writer still holds the directory and commits */
	struct hk_registration *r2 = reg_make(ID_B, false);
	assert_int_equal(hk_store_reg_put(w, r2), 0);
	assert_int_equal(hk_store_flush(w), 0);
	cause = open_fail(fx->state, NULL, HK_EBUSY);
	free(cause);
	hk_store_close(w);
	hk_registration_free(r);
	hk_registration_free(r2);

	/* no daemon: read-only in this process, the data file checked */
	struct hk_store *s = open_ok(fx, &ro);
	struct hk_registration **regs = NULL;
	size_t n = 0;
	assert_int_equal(hk_store_reg_load_all(s, &regs, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		hk_registration_free(regs[i]);
	free(regs);
	hk_store_close(s);
}

/* A store with a little of everything, flushed and closed. */
static void make_store(const struct fixture *fx)
{
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_registration *r = reg_make(ID_A, true);
	char name[32];

	assert_int_equal(hk_store_reg_put(s, r), 0);
	for (int i = 0; i < 200; i++) {
		struct hk_store_file f = meta_of((uint64_t)i);
		snprintf(name, sizeof(name), "file-%04d.log", i);
		assert_int_equal(hk_store_index_put(s, ID_A, name, strlen(name), &f), 0);
	}
	assert_int_equal(hk_store_flush(s), 0);
	hk_store_close(s);
	hk_registration_free(r);
}

static void test_truncated_half(void **state)
{
	struct fixture *fx = *state;
	char *cause;
	off_t size;

	make_store(fx);
	size = file_size(fx->data);
	assert_true(size >= 8 * 4096);
	assert_int_equal(truncate(fx->data, size / 2), 0);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	assert_non_null(strstr(cause, fx->data));
	assert_non_null(strstr(cause, "truncated"));
	free(cause);
	/* the failed open left no lock behind: a second try fails the same way */
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	free(cause);
}

static void test_truncated_100(void **state)
{
	struct fixture *fx = *state;
	char *cause;

	make_store(fx);
	assert_int_equal(truncate(fx->data, 100), 0);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	assert_non_null(strstr(cause, fx->data));
	assert_non_null(strstr(cause, "truncated"));
	free(cause);
}

static void write_file(const char *path, char fill, size_t n)
{
	char *buf = hk_xmalloc(n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	memset(buf, fill, n);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	free(buf);
}

static void test_garbage(void **state)
{
	struct fixture *fx = *state;
	char *cause;

	assert_int_equal(mkdir(fx->state, 0700), 0);
	write_file(fx->data, 'Z', 65536);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	assert_non_null(strstr(cause, fx->data));
	assert_non_null(strstr(cause, "bad magic"));
	free(cause);

	/* too short to hold a meta page at all */
	write_file(fx->data, 'Z', 5);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	assert_non_null(strstr(cause, "truncated"));
	free(cause);
}

static void test_garbage_meta1(void **state)
{
	struct fixture *fx = *state;
	char *cause;
	int fd;

	make_store(fx);
	fd = open(fx->data, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage!garbage!garbage!", 24, 4096), 24);
	close(fd);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	assert_non_null(strstr(cause, "bad magic in meta page 1"));
	free(cause);
}

static void test_newer_schema(void **state)
{
	struct fixture *fx = *state;
	struct hk_store_options newer = { .schema_version = HK_STORE_SCHEMA + 1 };
	struct hk_store *s = open_ok(fx, &newer);
	char want[128];
	char *cause;

	hk_store_close(s);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	snprintf(want, sizeof(want), "schema version %u is newer than this housekeeper's (%u)",
		 HK_STORE_SCHEMA + 1, HK_STORE_SCHEMA);
	assert_non_null(strstr(cause, want));
	assert_non_null(strstr(cause, fx->data));
	free(cause);
	/* the newer build itself still opens it */
	s = open_ok(fx, &newer);
	hk_store_close(s);
}

static void test_move_aside(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s;
	struct hk_registration **regs = NULL;
	size_t n = 9;
	char *nn = NULL;
	char *cause = NULL;
	char *want;

	assert_int_equal(hk_store_move_aside(fx->state, 1, &nn, &cause), -ENOENT);
	assert_null(nn);
	free(cause);
	cause = NULL;

	make_store(fx);
	write_file(fx->data, 'Z', 65536);
	cause = open_fail(fx->state, NULL, HK_ESTORE);
	free(cause);
	cause = NULL;
	assert_int_equal(hk_store_move_aside(fx->state, 1700000000, &nn, &cause), 0);
	assert_null(cause);
	want = hk_xasprintf("%s/store.mdb.corrupt-1700000000", fx->state);
	assert_string_equal(nn, want);
	assert_int_equal(file_size(nn), 65536);   /* kept as it was */
	free(want);
	free(nn);

	s = open_ok(fx, NULL);   /* fresh and empty */
	assert_int_equal(hk_store_reg_load_all(s, &regs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(regs);
	hk_store_close(s);

	/* same second again: a suffix keeps the first one */
	assert_int_equal(hk_store_move_aside(fx->state, 1700000000, &nn, &cause), 0);
	want = hk_xasprintf("%s/store.mdb.corrupt-1700000000.1", fx->state);
	assert_string_equal(nn, want);
	free(want);
	free(nn);
}

static void test_roundtrip(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_registration *ra = reg_make(ID_A, true);
	struct hk_registration *rb = reg_make(ID_B, false);
	struct hk_registration **regs = NULL;
	size_t n = 0;
	static const char nl[] = "sub/dir\nwith newline/x.log";
	static const char bad[] = "\xff\xfe\x80 not utf-8\x01\x7f";
	char lng[1500];
	struct idx_list l = { 0 };
	struct aud_list al;
	struct job_list jl = { 0 };
	uint64_t ids[1], dry_id;
	struct hk_store_audit a;
	struct hk_store_job job = {
		.id = 7, .kind = "sweep", .trigger = "schedule", .reg_id = NULL,
		.start_ns = NOW, .end_ns = NOW + 99, .outcome = "ok", .scanned = 1000,
		.deleted = 12, .bytes = UINT64_C(1) << 40, .errors = 3, .dry_run = true,
	};

	memset(lng, 'L', sizeof(lng));
	for (size_t i = 0; i < sizeof(lng); i += 100)
		lng[i] = '/';
	lng[1499] = 'z';

	assert_int_equal(hk_store_reg_put(s, ra), 0);
	assert_int_equal(hk_store_reg_put(s, rb), 0);
	{
		struct hk_store_file f1 = meta_of(1), f2 = meta_of(2), f3 = meta_of(3),
				     f4 = meta_of(4), f5 = meta_of(5);
		assert_int_equal(hk_store_index_put(s, ID_A, "a.log", 5, &f1), 0);
		assert_int_equal(hk_store_index_put(s, ID_A, nl, sizeof(nl) - 1, &f2), 0);
		assert_int_equal(hk_store_index_put(s, ID_A, bad, sizeof(bad) - 1, &f3), 0);
		assert_int_equal(hk_store_index_put(s, ID_A, lng, sizeof(lng), &f4), 0);
		assert_int_equal(hk_store_index_put(s, ID_B, "b", 1, &f5), 0);
		/* bad arguments */
		assert_int_equal(hk_store_index_put(s, "short", "b", 1, &f5), -EINVAL);
		assert_int_equal(hk_store_index_put(s, ID_B, "a\0b", 3, &f5), -EINVAL);
		assert_int_equal(hk_store_index_put(s, ID_B, "", 0, &f5), -EINVAL);
	}
	assert_int_equal(hk_store_job_put(s, &job), 0);
	assert_int_equal(hk_store_pending(s), 8);
	/* the intent commits the queue with it */
	a = audit_rec(ID_A, "/var/log/x\ny\xff", 12, NOW + 10, false);
	assert_int_equal(hk_store_audit_intent(s, &a, 1, ids), 0);
	assert_int_equal(ids[0], (uint64_t)(NOW + 10));
	assert_int_equal(hk_store_pending(s), 0);
	assert_int_equal(hk_store_audit_complete(s, ids[0], "deleted", 0), 0);
	a = audit_rec(ID_B, bad, sizeof(bad) - 1, NOW + 10, true);
	assert_int_equal(hk_store_audit_add(s, &a, &dry_id), 0);
	assert_int_equal(dry_id, (uint64_t)(NOW + 11));   /* unique although same time */
	assert_int_equal(hk_store_flush(s), 0);
	hk_store_close(s);

	s = open_ok(fx, NULL);
	assert_int_equal(hk_store_reg_load_all(s, &regs, &n), 0);
	assert_int_equal(n, 2);
	reg_assert_equal(ra, regs[0]);
	reg_assert_equal(rb, regs[1]);
	for (size_t i = 0; i < n; i++)
		hk_registration_free(regs[i]);
	free(regs);

	assert_int_equal(hk_store_index_load(s, ID_A, idx_collect, &l), 0);
	assert_int_equal(l.n, 4);
	{
		const struct idx_item *it;
		it = idx_find(&l, "a.log", 5);
		assert_non_null(it);
		assert_int_equal(it->f.ino, 1);
		assert_int_equal(it->f.size, 3);
		assert_int_equal(it->f.mtime_ns, 2);
		assert_int_equal(it->f.key_ns, 11);
		it = idx_find(&l, nl, sizeof(nl) - 1);
		assert_non_null(it);
		assert_int_equal(it->f.ino, 2);
		it = idx_find(&l, bad, sizeof(bad) - 1);
		assert_non_null(it);
		assert_int_equal(it->f.key_ns, 33);
		it = idx_find(&l, lng, sizeof(lng));
		assert_non_null(it);
		assert_int_equal(it->f.size, 12);
		assert_int_equal(it->f.mtime_ns, 23);
	}
	idx_list_fini(&l);
	assert_int_equal(idx_count(s, ID_B), 1);

	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 2);
	assert_int_equal(al.items[0].id, (uint64_t)(NOW + 10));
	assert_int_equal(al.items[0].time_ns, NOW + 10);
	assert_string_equal(al.items[0].reg_id, ID_A);
	assert_int_equal(al.items[0].path_len, 12);
	assert_memory_equal(al.items[0].path, "/var/log/x\ny\xff", 12);
	assert_int_equal(al.items[0].size, 4096);
	assert_int_equal(al.items[0].mtime_ns, NOW + 10 - 1000);
	assert_string_equal(al.items[0].reason, "age");
	assert_false(al.items[0].dry_run);
	assert_int_equal(al.items[0].state, HK_STORE_AUDIT_DONE);
	assert_string_equal(al.items[0].outcome, "deleted");
	assert_int_equal(al.items[0].err, 0);
	assert_int_equal(al.items[1].id, (uint64_t)(NOW + 11));
	assert_int_equal(al.items[1].time_ns, NOW + 10);
	assert_int_equal(al.items[1].path_len, sizeof(bad) - 1);
	assert_memory_equal(al.items[1].path, bad, sizeof(bad) - 1);
	assert_true(al.items[1].dry_run);
	assert_int_equal(al.items[1].state, HK_STORE_AUDIT_DONE);
	assert_false(al.items[1].has_outcome);
	aud_list_fini(&al);

	assert_int_equal(hk_store_job_last_id(s), 7);
	assert_int_equal(hk_store_job_list(s, 0, job_collect, &jl), 0);
	assert_int_equal(jl.n, 1);
	assert_int_equal(jl.j[0].id, 7);
	assert_string_equal(jl.kind[0], "sweep");
	assert_string_equal(jl.outcome[0], "ok");
	assert_true(jl.reg_null[0]);
	assert_int_equal(jl.j[0].start_ns, NOW);
	assert_int_equal(jl.j[0].end_ns, NOW + 99);
	assert_int_equal(jl.j[0].scanned, 1000);
	assert_int_equal(jl.j[0].deleted, 12);
	assert_int_equal(jl.j[0].bytes, UINT64_C(1) << 40);
	assert_int_equal(jl.j[0].errors, 3);
	assert_true(jl.j[0].dry_run);

	/* delete by path (also the hashed long key), then a registration */
	assert_int_equal(hk_store_index_delete(s, ID_A, lng, sizeof(lng)), 0);
	assert_int_equal(hk_store_index_delete(s, ID_A, nl, sizeof(nl) - 1), 0);
	assert_int_equal(hk_store_index_delete(s, ID_A, "absent", 6), 0);
	assert_int_equal(hk_store_reg_delete(s, ID_A), 0);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 2);
	assert_int_equal(hk_store_reg_load_all(s, &regs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(regs[0]->id, ID_B);
	hk_registration_free(regs[0]);
	free(regs);
	hk_store_close(s);
	hk_registration_free(ra);
	hk_registration_free(rb);
}

static void test_index_drop(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	/* B shares A's first 35 bytes: the prefix is the whole id */
	static const char id_c[] = "11111111-2222-3333-4444-555555555556";
	struct hk_store_file f = meta_of(1);
	char name[16];

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "a%03d", i);
		assert_int_equal(hk_store_index_put(s, ID_A, name, 4, &f), 0);
		assert_int_equal(hk_store_index_put(s, id_c, name, 4, &f), 0);
	}
	assert_int_equal(hk_store_index_put(s, ID_B, "x", 1, &f), 0);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 300);
	assert_int_equal(hk_store_index_drop(s, ID_A), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, "after", 5, &f), 0);  /* queued after the drop */
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 1);
	assert_int_equal(idx_count(s, id_c), 300);
	assert_int_equal(idx_count(s, ID_B), 1);
	hk_store_close(s);
}

/* Entry of relpath p in the committed index of id; NULL when absent. */
static bool idx_get(struct hk_store *s, const char *id, const char *p, struct hk_store_file *f)
{
	struct idx_list l = { 0 };
	const struct idx_item *it;
	bool found;

	assert_int_equal(hk_store_index_load(s, id, idx_collect, &l), 0);
	it = idx_find(&l, p, strlen(p));
	found = it != NULL;
	if (it && f)
		*f = it->f;
	idx_list_fini(&l);
	return found;
}

/* Writes of one index key before a commit: the last one counts, once. */
static void test_index_coalesce(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_store_file f1 = meta_of(1), f2 = meta_of(2), f3 = meta_of(3), got;
	char lng[1000], name[16];

	memset(lng, 'L', sizeof(lng));
	lng[sizeof(lng) - 1] = '\0';   /* a hashed key */
	/* committed before: a PUT then DEL must still delete it */
	assert_int_equal(hk_store_index_put(s, ID_A, "old", 3, &f1), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, lng, strlen(lng), &f1), 0);
	assert_int_equal(hk_store_flush(s), 0);

	assert_int_equal(hk_store_index_put(s, ID_A, "x", 1, &f1), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, "x", 1, &f2), 0);      /* PUT, PUT */
	assert_int_equal(hk_store_index_put(s, ID_A, "y", 1, &f1), 0);
	assert_int_equal(hk_store_index_delete(s, ID_A, "y", 1), 0);        /* PUT, DEL */
	assert_int_equal(hk_store_index_delete(s, ID_A, "w", 1), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, "w", 1, &f3), 0);      /* DEL, PUT */
	assert_int_equal(hk_store_index_put(s, ID_A, "old", 3, &f2), 0);
	assert_int_equal(hk_store_index_delete(s, ID_A, "old", 3), 0);      /* committed: gone */
	assert_int_equal(hk_store_index_put(s, ID_A, lng, strlen(lng), &f2), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, lng, strlen(lng), &f3), 0);
	assert_int_equal(hk_store_index_put(s, ID_B, "x", 1, &f3), 0);      /* other id */
	assert_int_equal(hk_store_pending(s), 6);
	assert_int_equal(hk_store_flush(s), 0);
	assert_true(idx_get(s, ID_A, "x", &got));
	assert_int_equal(got.ino, 2);
	assert_false(idx_get(s, ID_A, "y", NULL));
	assert_true(idx_get(s, ID_A, "w", &got));
	assert_int_equal(got.ino, 3);
	assert_int_equal(got.key_ns, 33);
	assert_false(idx_get(s, ID_A, "old", NULL));
	assert_true(idx_get(s, ID_A, lng, &got));
	assert_int_equal(got.ino, 3);
	assert_true(idx_get(s, ID_B, "x", &got));
	assert_int_equal(got.ino, 3);

	/* a drop is a barrier: the PUT after it is not merged into the one before */
	assert_int_equal(hk_store_index_put(s, ID_A, "a", 1, &f1), 0);
	assert_int_equal(hk_store_index_drop(s, ID_A), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, "a", 1, &f2), 0);
	assert_int_equal(hk_store_index_delete(s, ID_A, "x", 1), 0);
	assert_int_equal(hk_store_pending(s), 4);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 1);
	assert_true(idx_get(s, ID_A, "a", &got));
	assert_int_equal(got.ino, 2);

	/* many keys (the table grows), each written three times */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3000; i++) {
			struct hk_store_file f = meta_of((uint64_t)(i + round));
			snprintf(name, sizeof(name), "f%05d", i);
			if (round == 1 && i % 2)
				assert_int_equal(hk_store_index_delete(s, ID_B, name, 6), 0);
			else
				assert_int_equal(hk_store_index_put(s, ID_B, name, 6, &f), 0);
		}
	}
	assert_int_equal(hk_store_pending(s), 3000);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_B), 3001);
	assert_true(idx_get(s, ID_B, "f00007", &got));
	assert_int_equal(got.ino, 9);
	hk_store_close(s);
}

/* After a large commit, a trim reopens the environment: the store goes on
 * working, and nothing queued is lost. */
static void test_trim(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_store_file f = meta_of(5), got;
	char name[16];

	assert_false(hk_store_trim_due(s));
	assert_int_equal(hk_store_trim(s), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "t%04d", i);
		assert_int_equal(hk_store_index_put(s, ID_A, name, 5, &f), 0);
	}
	assert_int_equal(hk_store_flush(s), 0);
	assert_true(hk_store_trim_due(s));
	/* not while writes are queued */
	assert_int_equal(hk_store_index_put(s, ID_A, "late", 4, &f), 0);
	assert_int_equal(hk_store_trim(s), 0);
	assert_true(hk_store_trim_due(s));
	assert_int_equal(hk_store_pending(s), 1);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(hk_store_trim(s), 0);
	assert_false(hk_store_trim_due(s));
	assert_true(hk_store_healthy(s));
	assert_int_equal(idx_count(s, ID_A), 1001);
	assert_int_equal(hk_store_index_delete(s, ID_A, "late", 4), 0);
	assert_int_equal(hk_store_index_put(s, ID_A, "after", 5, &f), 0);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 1001);
	assert_true(idx_get(s, ID_A, "after", &got));
	assert_int_equal(got.size, 15);
	hk_store_close(s);
	/* and what was committed is there after a reopen */
	s = open_ok(fx, NULL);
	assert_int_equal(idx_count(s, ID_A), 1001);
	hk_store_close(s);
}

static void test_map_growth(void **state)
{
	struct fixture *fx = *state;
	struct hk_store_options opts = { .map_size = 64 * 1024 };
	struct hk_store *s = open_ok(fx, &opts);
	struct idx_list l = { 0 };
	char name[32];

	assert_int_equal(hk_store_map_size(s), 64 * 1024);
	for (int b = 0; b < 50; b++) {
		for (int i = b * 1000; i < (b + 1) * 1000; i++) {
			struct hk_store_file f = meta_of((uint64_t)i);
			snprintf(name, sizeof(name), "dir%02d/f%05d", i % 37, i);
			assert_int_equal(hk_store_index_put(s, ID_A, name, strlen(name), &f), 0);
		}
		assert_int_equal(hk_store_flush(s), 0);
		assert_true(hk_store_healthy(s));
	}
	assert_true(hk_store_map_size(s) > 64 * 1024);
	hk_store_close(s);

	s = open_ok(fx, &opts);   /* a small map option does not shrink below the data */
	assert_int_equal(hk_store_index_load(s, ID_A, idx_collect, &l), 0);
	assert_int_equal(l.n, 50000);
	for (size_t k = 0; k < l.n; k++) {
		unsigned i;
		assert_int_equal(sscanf(l.items[k].path, "dir%*2u/f%5u", &i), 1);
		snprintf(name, sizeof(name), "dir%02u/f%05u", i % 37, i);
		assert_string_equal(l.items[k].path, name);
		assert_int_equal(l.items[k].f.ino, i);
		assert_int_equal(l.items[k].f.size, (uint64_t)i * 3);
		assert_int_equal(l.items[k].f.mtime_ns, (int64_t)i * 7 - 5);
		assert_int_equal(l.items[k].f.key_ns, (int64_t)i * 11);
		if (k > 0)
			assert_true(strcmp(l.items[k - 1].path, l.items[k].path) < 0);
	}
	idx_list_fini(&l);
	hk_store_close(s);
}

/* Paged audit reads (the control socket's audit): one page at a time
 * from a position, bounded in records taken and records looked at. */
struct page_cb {
	struct aud_list l;
	size_t full_after;       /* answer HK_STORE_PAGE_FULL after this many (0: never) */
};

static int page_collect(const struct hk_store_audit *a, void *arg)
{
	struct page_cb *p = arg;

	if (p->full_after && p->l.n == p->full_after)
		return HK_STORE_PAGE_FULL;
	return aud_collect(a, &p->l);
}

static bool page_only_b(const struct hk_store_audit *a, void *arg)
{
	(void)arg;
	return strcmp(a->reg_id, ID_B) == 0;
}

/* Follow pages of q from the start; every id taken, in order, into ids. */
static size_t page_follow(struct hk_store *s, const struct hk_store_audit_query *q,
			  size_t max_visit, bool only_b, uint64_t *ids, size_t cap, size_t *pages)
{
	uint64_t from = 0;
	size_t n = 0;

	*pages = 0;
	do {
		struct page_cb p = { { 0 }, 0 };
		struct hk_store_audit_page pg = { .from_id = from, .max_visit = max_visit,
						  .keep = only_b ? page_only_b : NULL };
		assert_int_equal(hk_store_audit_page(s, q, &pg, page_collect, &p), 0);
		assert_int_equal(pg.taken, p.l.n);
		assert_true(!q->limit || p.l.n <= q->limit);
		assert_true(!max_visit || pg.visited <= max_visit);
		for (size_t i = 0; i < p.l.n; i++) {
			assert_true(n < cap);
			assert_true(p.l.items[i].id >= from);
			ids[n++] = p.l.items[i].id;
		}
		assert_true(pg.next_id == 0 || pg.next_id > from);
		from = pg.next_id;
		aud_list_fini(&p.l);
		(*pages)++;
	} while (from);
	return n;
}

static void test_audit_page(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	enum { N = 2500 };
	uint64_t *all = hk_xcalloc(N, sizeof(*all)), *got = hk_xcalloc(N, sizeof(*got));
	size_t n_all = 0, n_b = 0, n, pages;
	struct hk_store_audit_query q = { .limit = 1000 };
	struct aud_list al;

	for (int i = 0; i < N; i++) {
		char path[32];
		int len = snprintf(path, sizeof(path), "/d/f%05d", i);
		struct hk_store_audit a = audit_rec(i % 3 == 2 ? ID_B : ID_A, path, (size_t)len,
						    NOW + (int64_t)i * 1000, i % 7 == 0);
		uint64_t id;
		assert_int_equal(hk_store_audit_add(s, &a, &id), 0);
		all[n_all++] = id;
		n_b += i % 3 == 2;
	}
	{	/* an unsettled intent in the middle is not a record of the trail */
		struct hk_store_audit a = audit_rec(ID_A, "/d/intent", 9, NOW + 1500 * 1000 + 1, false);
		uint64_t id;
		assert_int_equal(hk_store_audit_intent(s, &a, 1, &id), 0);
	}
	assert_int_equal(hk_store_flush(s), 0);
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, N);
	aud_list_fini(&al);

	/* pages of 1000: every record once, in order; the last says "no more" */
	n = page_follow(s, &q, 0, false, got, N, &pages);
	assert_int_equal(n, N);
	assert_int_equal(pages, 3);
	assert_memory_equal(got, all, N * sizeof(*all));
	/* a page of exactly what is left ends the trail */
	q.limit = N;
	n = page_follow(s, &q, 0, false, got, N, &pages);
	assert_int_equal(pages, 1);
	assert_int_equal(n, N);
	/* since: the records from that time on */
	q.limit = 300;
	q.since_ns = NOW + 2000 * 1000;
	n = page_follow(s, &q, 0, false, got, N, &pages);
	assert_int_equal(n, 500);
	assert_memory_equal(got, all + 2000, 500 * sizeof(*all));
	q.since_ns = 0;
	/* a filter (redaction): pages hold only its records, all of them */
	q.limit = 100;
	n = page_follow(s, &q, 0, true, got, N, &pages);
	assert_int_equal(n, n_b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], all[3 * i + 2]);
	/* ... also when the scan of a request is bounded (pages may then hold
	 * fewer, even none, but the cursor goes on) */
	n = page_follow(s, &q, 10, true, got, N, &pages);
	assert_int_equal(n, n_b);
	assert_true(pages >= N / 10);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], all[3 * i + 2]);
	/* the byte budget: cb ends the page before a record, which comes next */
	{
		struct page_cb p = { { 0 }, 7 };
		struct hk_store_audit_page pg = { .from_id = all[10] };
		assert_int_equal(hk_store_audit_page(s, &q, &pg, page_collect, &p), 0);
		assert_int_equal(p.l.n, 7);
		assert_int_equal(pg.taken, 7);
		assert_int_equal(p.l.items[0].id, all[10]);
		assert_int_equal(pg.next_id, all[17]);
		aud_list_fini(&p.l);
	}
	/* a position past the end, and newest first (not paged) */
	{
		struct page_cb p = { { 0 }, 0 };
		struct hk_store_audit_page pg = { .from_id = all[N - 1] + 1 };
		struct hk_store_audit_query nf = { .newest_first = true };
		assert_int_equal(hk_store_audit_page(s, &q, &pg, page_collect, &p), 0);
		assert_int_equal(p.l.n, 0);
		assert_int_equal(pg.next_id, 0);
		assert_int_equal(hk_store_audit_page(s, &nf, &pg, page_collect, &p), -EINVAL);
	}
	free(all);
	free(got);
	hk_store_close(s);
}

static void test_intent_lifecycle(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_store_audit recs[3] = {
		audit_rec(ID_A, "/d/one", 6, 1000, false),
		audit_rec(ID_A, "/d/two", 6, 1000, false),
		audit_rec(ID_B, "/d/three", 8, 2000, false),
	};
	struct hk_store_audit dry = audit_rec(ID_A, "/d/dry", 6, 1000, true);
	struct hk_store_audit_query qi = { .with_intents = true };
	uint64_t ids[3], ids2[2];
	struct aud_list al;

	assert_int_equal(hk_store_audit_intent(s, &dry, 1, ids), -EINVAL);  /* dry runs are added */
	assert_int_equal(hk_store_audit_intent(s, recs, 3, ids), 0);
	assert_int_equal(ids[0], 1000);
	assert_int_equal(ids[1], 1001);
	assert_int_equal(ids[2], 2000);
	intents(s, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.items[0].state, HK_STORE_AUDIT_INTENT);
	assert_false(al.items[0].has_outcome);
	aud_list_fini(&al);
	/* intents are not part of the trail */
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 0);
	aud_list_fini(&al);

	assert_int_equal(hk_store_audit_complete(s, ids[0], "deleted", 0), 0);
	assert_int_equal(hk_store_audit_drop(s, ids[1]), 0);
	assert_int_equal(hk_store_flush(s), 0);
	intents(s, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.items[0].id, 2000);
	aud_list_fini(&al);
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.items[0].id, 1000);
	assert_string_equal(al.items[0].outcome, "deleted");
	aud_list_fini(&al);

	/* a second batch; one completion queued; then a crash (no flush) */
	recs[0].path = "/d/four";
	recs[0].path_len = 7;
	recs[0].time_ns = 3000;
	recs[1].path = "/d/five";
	recs[1].path_len = 7;
	recs[1].time_ns = 3000;
	assert_int_equal(hk_store_audit_intent(s, recs, 2, ids2), 0);
	assert_int_equal(ids2[0], 3000);
	assert_int_equal(ids2[1], 3001);
	assert_int_equal(hk_store_audit_complete(s, ids2[0], "deleted", 0), 0);
	assert_int_equal(hk_store_pending(s), 1);
	hk_store_close(s);

	s = open_ok(fx, NULL);
	intents(s, &al);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.items[0].id, 2000);
	assert_int_equal(al.items[1].id, 3000);
	assert_memory_equal(al.items[1].path, "/d/four", 7);
	assert_int_equal(al.items[2].id, 3001);
	aud_list_fini(&al);
	/* reconcile: 2000 and 3000 are gone, 3001 is still there */
	assert_int_equal(hk_store_audit_complete(s, 2000, "deleted-unconfirmed", 0), 0);
	assert_int_equal(hk_store_audit_complete(s, 3000, "deleted-unconfirmed", -ENOENT), 0);
	assert_int_equal(hk_store_audit_drop(s, 3001), 0);
	/* ids continue after the last committed one */
	assert_int_equal(hk_store_audit_add(s, &dry, &ids2[0]), 0);
	assert_int_equal(ids2[0], 3002);
	assert_int_equal(hk_store_flush(s), 0);
	intents(s, &al);
	assert_int_equal(al.n, 0);
	aud_list_fini(&al);
	/* exactly one record per deleted file, plus the dry-run record */
	aud_query(s, &qi, &al);
	assert_int_equal(al.n, 4);
	assert_int_equal(al.items[0].id, 1000);
	assert_int_equal(al.items[1].id, 2000);
	assert_string_equal(al.items[1].outcome, "deleted-unconfirmed");
	assert_int_equal(al.items[2].id, 3000);
	assert_int_equal(al.items[2].err, -ENOENT);
	assert_int_equal(al.items[3].id, 3002);
	assert_true(al.items[3].dry_run);
	assert_int_equal(al.items[3].state, HK_STORE_AUDIT_DONE);
	for (size_t i = 0; i < 3; i++) {
		assert_false(al.items[i].dry_run);
		assert_int_equal(al.items[i].state, HK_STORE_AUDIT_DONE);
	}
	aud_list_fini(&al);
	/* completing a settled record again changes nothing */
	assert_int_equal(hk_store_audit_complete(s, 1000, "again", 5), 0);
	assert_int_equal(hk_store_audit_drop(s, 999999), 0);
	assert_int_equal(hk_store_flush(s), 0);
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 4);
	assert_string_equal(al.items[0].outcome, "deleted");
	aud_list_fini(&al);
	hk_store_close(s);
}

/* Little-endian pieces of a raw record, as store_records.c lays them out. */
static void raw_put(unsigned char *buf, size_t *n, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		buf[(*n)++] = (unsigned char)(v >> (8 * i));
}

static void raw_str(unsigned char *buf, size_t *n, const char *s)
{
	if (!s) {
		raw_put(buf, n, UINT32_MAX, 4);
		return;
	}
	raw_put(buf, n, strlen(s), 4);
	memcpy(buf + *n, s, strlen(s) + 1);
	*n += strlen(s) + 1;
}

/* Write an intent in the layout of the stores before the aside field
 * (record version 1), straight into LMDB, as an older daemon left it. */
static void put_v1_intent(const struct fixture *fx, uint64_t id, const char *path)
{
	unsigned char val[256], key[8];
	size_t n = 0;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi audit, pending;

	raw_put(val, &n, 1, 1);                  /* v1 */
	raw_put(val, &n, HK_STORE_AUDIT_INTENT, 1);
	raw_put(val, &n, 0, 1);                  /* dry_run */
	raw_put(val, &n, id, 8);                 /* time_ns */
	raw_str(val, &n, ID_A);
	raw_str(val, &n, path);
	raw_put(val, &n, 4096, 8);               /* size */
	raw_put(val, &n, id - 1000, 8);          /* mtime_ns */
	raw_str(val, &n, "age");
	raw_str(val, &n, NULL);                  /* outcome */
	raw_put(val, &n, 0, 4);                  /* err */
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(id >> (56 - 8 * i));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, fx->data, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
	assert_int_equal(mdb_dbi_open(txn, "pending", 0, &pending), 0);
	MDB_val k = { sizeof(key), key }, v = { n, val }, empty = { 0, NULL };
	assert_int_equal(mdb_put(txn, audit, &k, &v, 0), 0);
	assert_int_equal(mdb_put(txn, pending, &k, &empty, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Intents carry the inode and the private name of the rename-aside (so a
 * crash between rename and unlink leaves a provable leftover); records of
 * older stores, without them, still read; the name goes with completion. */
static void test_audit_aside(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_store_audit a = audit_rec(ID_A, "/d/new", 6, 2000, false);
	uint64_t id;
	struct aud_list al;

	hk_store_close(s);
	put_v1_intent(fx, 1000, "/d/old");
	s = open_ok(fx, NULL);
	a.ino = 42;
	a.aside = ".housekeeper-deleting-0011223344556677";
	assert_int_equal(hk_store_audit_intent(s, &a, 1, &id), 0);
	assert_int_equal(id, 2000);
	hk_store_close(s);

	s = open_ok(fx, NULL);
	intents(s, &al);
	assert_int_equal(al.n, 2);
	assert_int_equal(al.items[0].id, 1000);          /* the older daemon's */
	assert_memory_equal(al.items[0].path, "/d/old", 6);
	assert_int_equal(al.items[0].ino, 0);
	assert_false(al.items[0].has_aside);
	assert_int_equal(al.items[0].size, 4096);
	assert_string_equal(al.items[0].reason, "age");
	assert_int_equal(al.items[1].id, 2000);
	assert_int_equal(al.items[1].ino, 42);
	assert_string_equal(al.items[1].aside, ".housekeeper-deleting-0011223344556677");
	aud_list_fini(&al);
	assert_int_equal(hk_store_audit_complete(s, 1000, "deleted", 0), 0);
	assert_int_equal(hk_store_audit_complete(s, 2000, "deleted", 0), 0);
	assert_int_equal(hk_store_flush(s), 0);
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 2);
	assert_string_equal(al.items[0].outcome, "deleted");
	assert_int_equal(al.items[1].ino, 42);           /* kept: which file it was */
	assert_false(al.items[1].has_aside);             /* only a crash needed it */
	aud_list_fini(&al);

	/* a private name is a name in the directory, never a path */
	a.aside = "sub/.housekeeper-deleting-0011223344556677";
	assert_int_equal(hk_store_audit_intent(s, &a, 1, &id), -EINVAL);
	a.aside = "";
	assert_int_equal(hk_store_audit_intent(s, &a, 1, &id), -EINVAL);
	hk_store_close(s);
}

static void test_audit_query(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct aud_list al;

	for (int i = 1; i <= 10; i++) {
		struct hk_store_audit a = audit_rec(i % 2 ? ID_A : ID_B, "/p", 2, i * 100, false);
		assert_int_equal(hk_store_audit_add(s, &a, NULL), 0);
	}
	assert_int_equal(hk_store_flush(s), 0);
	{
		struct hk_store_audit_query q = { .since_ns = 500 };
		aud_query(s, &q, &al);
		assert_int_equal(al.n, 6);
		assert_int_equal(al.items[0].time_ns, 500);
		assert_int_equal(al.items[5].time_ns, 1000);
		aud_list_fini(&al);
	}
	{
		struct hk_store_audit_query q = { .since_ns = 450, .newest_first = true, .limit = 3 };
		aud_query(s, &q, &al);
		assert_int_equal(al.n, 3);
		assert_int_equal(al.items[0].time_ns, 1000);
		assert_int_equal(al.items[1].time_ns, 900);
		assert_int_equal(al.items[2].time_ns, 800);
		aud_list_fini(&al);
	}
	{
		struct hk_store_audit_query q = { .reg_id = ID_A, .newest_first = true,
						  .since_ns = 300 };
		aud_query(s, &q, &al);
		assert_int_equal(al.n, 4);   /* 900 700 500 300 */
		assert_int_equal(al.items[0].time_ns, 900);
		assert_int_equal(al.items[3].time_ns, 300);
		for (size_t i = 0; i < al.n; i++)
			assert_string_equal(al.items[i].reg_id, ID_A);
		aud_list_fini(&al);
	}
	hk_store_close(s);
}

static void test_prune(void **state)
{
	struct fixture *fx = *state;
	struct hk_store *s = open_ok(fx, NULL);
	struct hk_store_audit a = audit_rec(ID_A, "/old-intent", 11, 50, false);
	struct aud_list al;
	struct job_list jl = { 0 };
	uint64_t id;
	bool more = false;
	size_t calls = 0;

	assert_int_equal(hk_store_audit_intent(s, &a, 1, &id), 0);
	assert_int_equal(id, 50);
	for (int i = 1; i <= 10; i++) {
		struct hk_store_job j = { .id = (uint64_t)i, .kind = "sweep", .start_ns = i * 100 - 10,
					  .end_ns = i * 100, .outcome = "ok" };
		a = audit_rec(ID_A, "/p", 2, i * 100, false);
		assert_int_equal(hk_store_job_put(s, &j), 0);
		assert_int_equal(hk_store_audit_add(s, &a, NULL), 0);
	}
	{   /* a running job (end 0) is aged by its start */
		struct hk_store_job j = { .id = 11, .kind = "manual", .start_ns = 2000 };
		assert_int_equal(hk_store_job_put(s, &j), 0);
	}
	assert_int_equal(hk_store_flush(s), 0);

	/* old: jobs 1..5 and audit 100..500 = 10 records, budget 3 per call */
	do {
		assert_int_equal(hk_store_prune(s, 550, 3, &more), 0);
		calls++;
		assert_int_equal(more, calls < 4);
	} while (more && calls < 10);
	assert_int_equal(calls, 4);
	assert_int_equal(hk_store_prune(s, 550, 3, &more), 0);
	assert_false(more);

	assert_int_equal(hk_store_job_list(s, 0, job_collect, &jl), 0);
	assert_int_equal(jl.n, 6);   /* 11, 10..6 newest first */
	assert_int_equal(jl.j[0].id, 11);
	assert_int_equal(jl.j[1].id, 10);
	assert_int_equal(jl.j[5].id, 6);
	memset(&jl, 0, sizeof(jl));
	assert_int_equal(hk_store_job_list(s, 2, job_collect, &jl), 0);
	assert_int_equal(jl.n, 2);

	{
		struct hk_store_audit_query q = { .with_intents = true };
		aud_query(s, &q, &al);
		assert_int_equal(al.n, 6);   /* the intent survives */
		assert_int_equal(al.items[0].id, 50);
		assert_int_equal(al.items[0].state, HK_STORE_AUDIT_INTENT);
		assert_int_equal(al.items[1].id, 600);
		assert_int_equal(al.items[5].id, 1000);
		aud_list_fini(&al);
	}
	/* no budget: everything old in one call */
	assert_int_equal(hk_store_prune(s, 1000000, 0, &more), 0);
	assert_false(more);
	memset(&jl, 0, sizeof(jl));
	assert_int_equal(hk_store_job_list(s, 0, job_collect, &jl), 0);
	assert_int_equal(jl.n, 0);
	intents(s, &al);
	assert_int_equal(al.n, 1);
	aud_list_fini(&al);
	hk_store_close(s);
}

static void test_commit_failure(void **state)
{
	struct fixture *fx = *state;
	struct hk_store_options opts = {
		.map_size = 64 * 1024, .max_map_size = 64 * 1024, .queue_max = 500,
	};
	struct hk_store *s = open_ok(fx, &opts);
	struct hk_store_audit dry = audit_rec(ID_A, "/dry", 4, 100, true);
	struct hk_store_audit in = audit_rec(ID_A, "/intent", 7, 200, false);
	struct hk_store_file f = meta_of(9);
	struct aud_list al;
	const char *text = NULL;
	char name[400];
	uint64_t id;

	for (int i = 0; i < 300; i++) {
		memset(name, 'n', sizeof(name));
		snprintf(name, 16, "%05d", i);
		name[5] = 'n';
		assert_int_equal(hk_store_index_put(s, ID_A, name, sizeof(name), &f), 0);
	}
	assert_int_equal(hk_store_flush(s), -ENOSPC);
	assert_false(hk_store_healthy(s));
	assert_int_equal(hk_store_last_error(s, &text), -ENOSPC);
	assert_non_null(text);
	assert_int_equal(hk_store_pending(s), 300);   /* kept */
	assert_int_equal(hk_store_audit_add(s, &dry, &id), 0);
	assert_int_equal(id, 100);
	/* fail closed: no intent while the store cannot commit */
	assert_int_equal(hk_store_audit_intent(s, &in, 1, &id), -ENOSPC);
	assert_int_equal(hk_store_pending(s), 301);

	/* the queue reaches its limit: index writes go, the audit record stays */
	for (int i = 300; i < 499; i++) {
		snprintf(name, 16, "%05d", i);
		name[5] = 'n';
		assert_int_equal(hk_store_index_put(s, ID_A, name, sizeof(name), &f), 0);
	}
	assert_false(hk_store_index_lost(s));
	assert_int_equal(hk_store_index_put(s, ID_A, "x", 1, &f), -ENOBUFS);
	assert_true(hk_store_index_lost(s));
	assert_int_equal(hk_store_pending(s), 2);   /* the audit record and the index clear */
	assert_int_equal(hk_store_index_put(s, ID_A, "y", 1, &f), -ENOBUFS);
	assert_int_equal(hk_store_index_drop(s, ID_A), -ENOBUFS);

	assert_int_equal(hk_store_flush(s), 0);
	assert_true(hk_store_healthy(s));
	assert_int_equal(hk_store_last_error(s, NULL), 0);
	assert_int_equal(hk_store_audit_intent(s, &in, 1, &id), 0);
	assert_int_equal(id, 200);
	aud_query(s, NULL, &al);
	assert_int_equal(al.n, 1);
	assert_true(al.items[0].dry_run);
	aud_list_fini(&al);
	assert_int_equal(idx_count(s, ID_A), 0);
	assert_true(hk_store_index_lost(s));
	hk_store_index_resume(s);
	assert_int_equal(hk_store_index_put(s, ID_A, "y", 1, &f), 0);
	assert_int_equal(hk_store_flush(s), 0);
	assert_int_equal(idx_count(s, ID_A), 1);
	hk_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_half, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_100, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_meta1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test(test_reg_record_versions),
		cmocka_unit_test_setup_teardown(test_index_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
	};

	hk_log_init("test_store", HK_LOG_STDERR, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
