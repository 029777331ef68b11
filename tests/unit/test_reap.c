/*
 * test_reap.c - the deletion path run by a pool of threads: every job gets
 * the outcome of its own file (deleted, changed, locked under flock, POSIX
 * or OFD lock, read since the decision, gone, refused), what must stay
 * stays, and no private rename-aside name is left behind; with the lock
 * set of /proc/locks and with the per-file check (no set).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "cred.h"
#include "locks.h"
#include "reap.h"
#include "scan.h"
#include "util.h"
#include "testutil.h"

#define N_FILES 2000

enum kind { K_PLAIN, K_CHANGED, K_LOCKED, K_POSIX, K_OFD, K_READ, K_GONE, K_FIFO };

static enum kind kind_of(size_t i)
{
	if (i % 7 == 3)
		return K_CHANGED;
	if (i % 11 == 5)
		return K_LOCKED;
	if (i % 19 == 2)
		return K_POSIX;
	if (i % 23 == 4)
		return K_OFD;
	if (i % 29 == 7)
		return K_READ;
	if (i % 13 == 6)
		return K_GONE;
	if (i % 17 == 8)
		return K_FIFO;
	return K_PLAIN;
}

struct fixture {
	char dir[64];
	int dir_fd;
	char names[N_FILES][16];
	struct hk_reap_job jobs[N_FILES];
	int lock_fds[N_FILES];
};

/* One file per job, made to be what kind_of says by the time it is reaped. */
static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_non_null(test_tmpdir(f->dir, sizeof(f->dir), "reap"));
	f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dir_fd >= 0);
	for (size_t i = 0; i < N_FILES; i++) {
		f->lock_fds[i] = -1;
		snprintf(f->names[i], sizeof(f->names[i]), "f%05zu", i);
		int fd = openat(f->dir_fd, f->names[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "data", 4), 4);
		close(fd);
		struct hk_stat st;
		assert_int_equal(hk_stat_at(f->dir_fd, f->names[i], &st), 0);
		f->jobs[i] = (struct hk_reap_job){
			.dir_fd = f->dir_fd,
			.name = f->names[i],
			.exp = { .dev = st.dev, .ino = st.ino, .size = st.size,
				 .mtime_ns = st.mtime_ns },
		};
		switch (kind_of(i)) {
		case K_PLAIN:
			break;
		case K_CHANGED:
			f->jobs[i].exp.size = 99;   /* decided on another size */
			break;
		case K_LOCKED:
			f->lock_fds[i] = openat(f->dir_fd, f->names[i], O_RDONLY);
			assert_int_equal(flock(f->lock_fds[i], LOCK_EX | LOCK_NB), 0);
			break;
		case K_POSIX: {
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
			f->lock_fds[i] = openat(f->dir_fd, f->names[i], O_RDWR);
			assert_int_equal(fcntl(f->lock_fds[i], F_SETLK, &fl), 0);
			break;
		}
		case K_OFD: {
			struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
			f->lock_fds[i] = openat(f->dir_fd, f->names[i], O_RDONLY);
			assert_int_equal(fcntl(f->lock_fds[i], F_OFD_SETLK, &fl), 0);
			break;
		}
		case K_READ: {
			/* decided on by an age key of atime 10 s ago; read since */
			struct timespec ts[2] = { { .tv_sec = st.mtime_ns / 1000000000 - 10 },
						  { .tv_nsec = UTIME_OMIT } };
			assert_int_equal(utimensat(f->dir_fd, f->names[i], ts, 0), 0);
			f->jobs[i].exp.age_by = HK_AGE_ATIME;
			f->jobs[i].exp.key_ns = ts[0].tv_sec * 1000000000LL;
			ts[0] = (struct timespec){ .tv_nsec = UTIME_NOW };
			assert_int_equal(utimensat(f->dir_fd, f->names[i], ts, 0), 0);
			break;
		}
		case K_GONE:
		case K_FIFO:
			break;
		}
	}
	/* once every file exists, so that no other file of the fixture takes
	 * the inode number of one gone (a locked one would keep its job) */
	for (size_t i = 0; i < N_FILES; i++) {
		if (kind_of(i) == K_FIFO) {
			/* swapped for a FIFO after the decision */
			assert_int_equal(unlinkat(f->dir_fd, f->names[i], 0), 0);
			assert_int_equal(mkfifoat(f->dir_fd, f->names[i], 0600), 0);
		}
	}
	for (size_t i = 0; i < N_FILES; i++)
		if (kind_of(i) == K_GONE)
			assert_int_equal(unlinkat(f->dir_fd, f->names[i], 0), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	for (size_t i = 0; i < N_FILES; i++)
		if (f->lock_fds[i] >= 0)
			close(f->lock_fds[i]);
	DIR *d = opendir(f->dir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || strncmp(de->d_name, ".hk", 3) == 0 ||
		    strncmp(de->d_name, ".housekeeper", 12) == 0)
			unlinkat(f->dir_fd, de->d_name, 0);
	closedir(d);
	close(f->dir_fd);
	rmdir(f->dir);
	free(f);
}

static size_t count_private_names(const struct fixture *f)
{
	size_t n = 0;
	DIR *d = opendir(f->dir);
	struct dirent *de;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, HK_REAP_TMP_PREFIX, strlen(HK_REAP_TMP_PREFIX)) == 0;
	closedir(d);
	return n;
}

static void check_outcomes(const struct fixture *f, bool dry_run)
{
	for (size_t i = 0; i < N_FILES; i++) {
		const struct hk_reap_job *j = &f->jobs[i];
		bool exists = faccessat(f->dir_fd, f->names[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		switch (kind_of(i)) {
		case K_PLAIN:
			assert_int_equal(j->res.outcome,
					 dry_run ? HK_REAP_WOULD_DELETE : HK_REAP_DELETED);
			assert_int_equal(exists, dry_run);
			break;
		case K_CHANGED:
			assert_int_equal(j->res.outcome, HK_REAP_CHANGED);
			assert_true(exists);
			break;
		case K_LOCKED:
		case K_POSIX:
		case K_OFD:
			assert_int_equal(j->res.outcome, HK_REAP_LOCKED);
			assert_true(exists);
			break;
		case K_READ:
			assert_int_equal(j->res.outcome, HK_REAP_CHANGED);
			assert_true(exists);
			break;
		case K_GONE:
			assert_int_equal(j->res.outcome, HK_REAP_GONE);
			assert_false(exists);
			break;
		case K_FIFO:
			assert_int_equal(j->res.outcome, HK_REAP_REFUSED);
			assert_true(exists);
			break;
		}
	}
	assert_int_equal(count_private_names(f), 0);
}

/* The lock set as hk_locks_read gives it, but only of the test
 * directory's file system: the set matches by inode number alone, and a
 * lock another process holds elsewhere on the same number (the machine's
 * other tests) would keep one of ours, which is right for the daemon (it
 * only keeps files) but not what this test counts. */
static struct hk_locks *locks_of_dir(const struct fixture *f)
{
	struct stat st;
	char dev[32], line[512];
	struct hk_buf mine = { 0 };
	struct hk_locks *locks = NULL;
	FILE *in = fopen("/proc/locks", "r");

	assert_non_null(in);
	assert_int_equal(fstat(f->dir_fd, &st), 0);
	snprintf(dev, sizeof(dev), " %02x:%02x:", major(st.st_dev), minor(st.st_dev));
	while (fgets(line, sizeof(line), in))
		if (strstr(line, dev))
			hk_buf_append(&mine, line, strlen(line));
	fclose(in);
	assert_int_equal(hk_locks_parse(mine.data ? mine.data : "", mine.len, &locks), 0);
	hk_buf_fini(&mine);
	return locks;
}

/* Every job through one pool (none: threads == 0), in batches of batch
 * files like the engine's, the pool reused; with a lock set read per batch
 * as the engine does (use_set), or the per-file check. */
static void run_with_wait(unsigned threads, bool dry_run, size_t batch, bool use_set,
			  const struct hk_reap_wait *wait)
{
	struct fixture *f = fixture_new();
	struct hk_reap_pool *pool = threads ? hk_reap_pool_new(threads) : NULL;
	for (size_t at = 0; at < N_FILES; at += batch) {
		size_t n = N_FILES - at < batch ? N_FILES - at : batch;
		struct hk_locks *locks = use_set ? locks_of_dir(f) : NULL;
		if (use_set)
			assert_non_null(locks);
		hk_reap_many(pool, f->jobs + at, n, locks, dry_run, NULL, wait);
		hk_locks_free(locks);
	}
	check_outcomes(f, dry_run);
	hk_reap_pool_free(pool);
	fixture_free(f);
}

static void run_with(unsigned threads, bool dry_run, size_t batch, bool use_set)
{
	run_with_wait(threads, dry_run, batch, use_set, NULL);
}

static void run_with_threads(unsigned threads, bool dry_run, size_t batch)
{
	run_with(threads, dry_run, batch, true);
}

/* Jobs run with an owner's identity on every thread: as the unprivileged
 * user "nobody" (uid 65534) nothing in root's private directory can be
 * deleted, whichever thread takes the job; afterwards every thread is back
 * at the daemon's identity and the same jobs delete. Needs root (the
 * callers skip otherwise). */
static void run_as_nobody(unsigned threads, const struct hk_reap_wait *wait)
{
	struct fixture *f = fixture_new();
	struct hk_cred *nobody = hk_cred_for_uid(65534);
	assert_non_null(nobody);
	struct hk_reap_pool *pool = hk_reap_pool_new(threads);
	size_t plain[64], n = 0;
	for (size_t i = 0; i < N_FILES && n < 64; i++)
		if (kind_of(i) == K_PLAIN)
			plain[n++] = i;
	struct hk_reap_job jobs[64];
	for (size_t k = 0; k < n; k++)
		jobs[k] = f->jobs[plain[k]];
	hk_reap_many(pool, jobs, n, NULL, false, nobody, wait);
	assert_null(hk_cred_current());
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(jobs[k].res.outcome, HK_REAP_FAILED);
		assert_int_equal(jobs[k].res.err, -EACCES);
		assert_int_equal(faccessat(f->dir_fd, f->names[plain[k]], F_OK, AT_SYMLINK_NOFOLLOW), 0);
	}
	for (size_t k = 0; k < n; k++)
		jobs[k] = f->jobs[plain[k]];
	hk_reap_many(pool, jobs, n, NULL, false, NULL, wait);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(jobs[k].res.outcome, HK_REAP_DELETED);
	hk_reap_pool_free(pool);
	hk_cred_free(nobody);
	fixture_free(f);
}

static void test_owner_identity(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_as_nobody(4, NULL);
}

/* A caller that serves others meanwhile (struct hk_reap_wait): its fd is
 * readable when the batch starts, so serve runs on the caller's thread
 * between two of its jobs, with the caller's own identity; the outcomes
 * are those of every other way. */
struct serve_seen {
	int fd;
	unsigned calls;
	bool as_owner;      /* serve ran with another identity than the daemon's */
};

static void serve_count(void *arg)
{
	struct serve_seen *seen = arg;
	eventfd_t v;
	seen->calls++;
	if (hk_cred_current())
		seen->as_owner = true;
	(void)eventfd_read(seen->fd, &v);
}

static void run_serving(unsigned threads, bool dry_run)
{
	struct serve_seen seen = { .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	struct hk_reap_wait wait = { .fd = seen.fd, .serve = serve_count, .ctx = &seen };
	assert_true(seen.fd >= 0);
	assert_int_equal(eventfd_write(seen.fd, 1), 0);
	run_with_wait(threads, dry_run, 64, true, &wait);
	assert_int_equal(seen.calls, 1);
	assert_false(seen.as_owner);
	close(seen.fd);
}

static void test_serving_caller(void **state)
{
	(void)state;
	run_serving(1, false);   /* the caller alone */
	run_serving(0, true);    /* no pool */
}

/* The caller serves as itself and goes on as the owner: as "nobody", the
 * jobs after the serving still delete nothing of root's. */
static void test_serving_caller_identity(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct serve_seen seen = { .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	struct hk_reap_wait wait = { .fd = seen.fd, .serve = serve_count, .ctx = &seen };
	assert_int_equal(eventfd_write(seen.fd, 1), 0);
	run_as_nobody(1, &wait);   /* the caller takes every job */
	assert_int_equal(seen.calls, 1);
	assert_false(seen.as_owner);
	close(seen.fd);
}

static void test_no_pool(void **state)
{
	(void)state;
	run_with_threads(0, false, 256);
}

static void test_one_thread(void **state)
{
	(void)state;
	run_with_threads(1, false, 256);
}

static void test_four_threads(void **state)
{
	(void)state;
	run_with_threads(4, false, 256);
}

static void test_four_threads_dry_run(void **state)
{
	(void)state;
	run_with_threads(4, true, 256);
}

/* Small batches stay on the caller's thread; the outcome is the same. */
static void test_small_batches(void **state)
{
	(void)state;
	run_with_threads(3, false, 5);
}

/* Without a lock set (/proc/locks unreadable) each file is opened and its
 * flock, POSIX and OFD locks probed: the same outcomes. */
static void test_per_file_check(void **state)
{
	(void)state;
	run_with(3, false, 256, false);
}

static void test_per_file_check_dry_run(void **state)
{
	(void)state;
	run_with(3, true, 256, false);
}

/* A pool that never ran a batch frees cleanly. */
/* skip_open: a file open elsewhere (another open file description: one
 * of this process counts too), or mapped after its fd was closed, is kept
 * as in use; a closed one is deleted; without skip_open the open one goes.
 * With the lock set and with the per-file check, dry and real. */
static void skip_open_case(const struct hk_locks *locks, bool dry_run)
{
	char dir[64];
	assert_non_null(test_tmpdir(dir, sizeof(dir), "reap-open"));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	const char *names[] = { "open", "mapped", "closed", "open-noskip" };
	int held = -1;
	void *map = MAP_FAILED;
	struct hk_reap_expect exp[4];
	for (size_t i = 0; i < 4; i++) {
		int fd = openat(dfd, names[i], O_RDWR | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "data", 4), 4);
		struct hk_stat st;
		assert_int_equal(hk_stat_fd(fd, &st), 0);
		exp[i] = (struct hk_reap_expect){ .dev = st.dev, .ino = st.ino, .size = st.size,
						  .mtime_ns = st.mtime_ns, .skip_open = i < 3 };
		if (i == 0) {
			held = fd;
			continue;
		}
		if (i == 1) {
			map = mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0);
			assert_true(map != MAP_FAILED);
		}
		close(fd);
	}
	int open_noskip = openat(dfd, names[3], O_RDONLY);
	assert_true(open_noskip >= 0);
	struct hk_reap_result res;
	enum hk_reap_outcome gone = dry_run ? HK_REAP_WOULD_DELETE : HK_REAP_DELETED;
	hk_reap_file(dfd, names[0], &exp[0], locks, dry_run, &res);
	assert_int_equal(res.outcome, HK_REAP_IN_USE);
	assert_int_equal(res.err, 0);
	hk_reap_file(dfd, names[1], &exp[1], locks, dry_run, &res);
	assert_int_equal(res.outcome, HK_REAP_IN_USE);
	hk_reap_file(dfd, names[2], &exp[2], locks, dry_run, &res);
	assert_int_equal(res.outcome, gone);
	hk_reap_file(dfd, names[3], &exp[3], locks, dry_run, &res);
	assert_int_equal(res.outcome, gone);
	assert_int_equal(faccessat(dfd, names[0], F_OK, 0), 0);
	assert_int_equal(faccessat(dfd, names[1], F_OK, 0), 0);
	/* closed (and unmapped): it goes */
	close(held);
	munmap(map, 4);
	hk_reap_file(dfd, names[0], &exp[0], locks, dry_run, &res);
	assert_int_equal(res.outcome, gone);
	hk_reap_file(dfd, names[1], &exp[1], locks, dry_run, &res);
	assert_int_equal(res.outcome, gone);
	close(open_noskip);
	test_rmtree(dir);
	close(dfd);
}

static void test_skip_open(void **state)
{
	(void)state;
	struct hk_locks *locks = hk_locks_read();
	skip_open_case(locks, false);
	skip_open_case(locks, true);
	hk_locks_free(locks);
	skip_open_case(NULL, false);
	skip_open_case(NULL, true);
}

static void test_unused_pool(void **state)
{
	(void)state;
	hk_reap_pool_free(hk_reap_pool_new(4));
	hk_reap_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pool),
		cmocka_unit_test(test_one_thread),
		cmocka_unit_test(test_four_threads),
		cmocka_unit_test(test_four_threads_dry_run),
		cmocka_unit_test(test_small_batches),
		cmocka_unit_test(test_per_file_check),
		cmocka_unit_test(test_per_file_check_dry_run),
		cmocka_unit_test(test_unused_pool),
		cmocka_unit_test(test_owner_identity),
		cmocka_unit_test(test_serving_caller),
		cmocka_unit_test(test_serving_caller_identity),
		cmocka_unit_test(test_skip_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
