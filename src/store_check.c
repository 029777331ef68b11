/*
 * store_check.c - the state store's data file checked before LMDB maps it
 * (store.c calls these from hk_store_open). LMDB has no checksums and maps
 * the file: a short file kills the reader with SIGBUS, damaged pages can
 * crash it. So the meta pages and the file length are read by hand, and
 * every page of every database is read once in a forked child whose death
 * says "damaged" instead of taking the daemon down.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "housekeeper.h"
#include "store.h"
#include "store_int.h"

/* LMDB on-disk constants (mdb.c). */
#define STORE_MDB_MAGIC 0xBEEFC0DEu
#define STORE_MDB_VERSION 1u

/*
 * Check the data file as LMDB's mdb_env_read_header would see it, before
 * anything maps it: both meta pages must be readable with the right magic
 * and version, and the file must cover every page the newer one (larger
 * txnid) uses; a short file would SIGBUS on access. An empty file is a new
 * store. Sets *map_size to the map size the newer meta page records.
 */
#define STORE_TAIL_SLACK 16   /* pages */

int store_check_data(int fd, const char *path, uint64_t *map_size, char **cause)
{
	/* MDB_page header: pgno_t + u16 pad + u16 flags + u32 bounds */
	const size_t hdr = sizeof(size_t) + 8;
	/* MDB_meta: magic, version, address, mapsize, dbs[2], last_pg, txnid */
	const size_t dbsz = 8 + 5 * sizeof(size_t);
	const size_t off_mapsize = 8 + sizeof(void *);
	const size_t off_dbs = off_mapsize + sizeof(size_t);
	const size_t off_last = off_dbs + 2 * dbsz;
	const size_t off_txnid = off_last + sizeof(size_t);
	const size_t metasz = off_txnid + sizeof(size_t);
	unsigned char m[2][256];
	struct stat st;
	uint32_t magic, version, psize = 0;
	size_t last_pg = 0, txnid[2] = { 0, 0 }, msize[2] = { 0, 0 }, lp[2] = { 0, 0 };
	int best;
	int rc = 0;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		off_t off = i == 0 ? 0 : (off_t)psize;
		ssize_t r;

		if ((uint64_t)st.st_size < (uint64_t)off + hdr + metasz) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: truncated: %jd bytes, too short for LMDB "
					"meta page %d", path, (intmax_t)st.st_size, i);
			goto out;
		}
		r = pread(fd, m[i], hdr + metasz, off);
		if (r < 0) {
			rc = -errno;
			store_set_cause(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if ((size_t)r != hdr + metasz) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: short read of LMDB meta page %d", path, i);
			goto out;
		}
		memcpy(&magic, m[i] + hdr, 4);
		memcpy(&version, m[i] + hdr + 4, 4);
		if (magic != STORE_MDB_MAGIC) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: not an LMDB data file (bad magic in meta page %d)",
					path, i);
			goto out;
		}
		if (version != STORE_MDB_VERSION) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: LMDB data format version %" PRIu32
					" is not supported (want %u)", path, version,
					STORE_MDB_VERSION);
			goto out;
		}
		if (i == 0) {
			memcpy(&psize, m[0] + hdr + off_dbs, 4);   /* mm_psize = dbs[0].md_pad */
			if (psize < 256 || psize > 65536 || (psize & (psize - 1))) {
				rc = HK_ESTORE;
				store_set_cause(cause, "%s: corrupt: page size %" PRIu32, path,
						psize);
				goto out;
			}
		}
		memcpy(&txnid[i], m[i] + hdr + off_txnid, sizeof(size_t));
		memcpy(&lp[i], m[i] + hdr + off_last, sizeof(size_t));
		memcpy(&msize[i], m[i] + hdr + off_mapsize, sizeof(size_t));
	}
	best = txnid[1] > txnid[0] ? 1 : 0;
	last_pg = lp[best];
	/* The root pages of the free and main databases (the newest pages,
	 * copy-on-write) must be in the file. The last few allocated pages
	 * may legitimately never have been written (pages a transaction
	 * allocated and freed again), so the file may end up to
	 * STORE_TAIL_SLACK pages before last_pg. */
	for (int d = 0; d < 2; d++) {
		size_t root;
		memcpy(&root, m[best] + hdr + off_dbs + (size_t)d * dbsz + 8 + 4 * sizeof(size_t),
		       sizeof(root));
		if (root != (size_t)-1 &&
		    (root > (UINT64_MAX / psize) - 1 ||
		     (uint64_t)st.st_size < ((uint64_t)root + 1) * psize)) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: truncated or corrupt: %jd bytes, but a root "
					"page is page %zu of %" PRIu32 " bytes", path,
					(intmax_t)st.st_size, root, psize);
			goto out;
		}
	}
	if (last_pg < 1 || last_pg > (UINT64_MAX / psize) - 1 ||
	    (uint64_t)st.st_size + (uint64_t)STORE_TAIL_SLACK * psize <
		    ((uint64_t)last_pg + 1) * psize) {
		rc = HK_ESTORE;
		store_set_cause(cause, "%s: truncated or corrupt: %jd bytes, but its meta page "
				"uses %" PRIu64 " pages of %" PRIu32 " bytes (%" PRIu64 ")", path,
				(intmax_t)st.st_size, (uint64_t)last_pg + 1, psize,
				((uint64_t)last_pg + 1) * psize);
		goto out;
	}
	*map_size = msize[best];
out:
	return rc;
}

/* Touch every page of a value (overflow pages included). */
static unsigned store_touch(const MDB_val *v)
{
	unsigned sum = 0;
	const unsigned char *p = v->mv_data;
	for (size_t i = 0; i < v->mv_size; i += 2048)
		sum += p[i];
	if (v->mv_size)
		sum += p[v->mv_size - 1];
	return sum;
}

/* Walk one database with a cursor, touching every key and value. */
static int store_walk_dbi(MDB_txn *txn, MDB_dbi dbi, unsigned *sum)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0)
		*sum += store_touch(&k) + store_touch(&v);
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* In a child process: open the environment read-only and read every page
 * that any database or the free list reaches. LMDB trusts its file: a
 * damaged one (a truncated tail, garbage pages behind valid meta pages)
 * can kill the reader with SIGBUS or SIGSEGV, so the reading is done where
 * dying costs nothing. Exit 0: readable; 3: LMDB reported an error. */
static void store_walk_child(const char *path, uint64_t map_size)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi main_dbi;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	unsigned sum = 0;
	/* a damaged page must kill this child by its signal, for the parent to
	 * see; a sanitizer's handler would turn it into an ordinary exit */
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
	int rc = mdb_env_create(&env);
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 64);
	if (!rc)
		rc = mdb_env_set_mapsize(env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (!rc)
		rc = store_walk_dbi(txn, 0, &sum);   /* the free list */
	if (!rc)
		rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (!rc)
		rc = mdb_cursor_open(txn, main_dbi, &c);
	while (!rc && (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		char name[512];
		MDB_dbi dbi;
		if (k.mv_size == 0 || k.mv_size >= sizeof(name))
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if (mdb_dbi_open(txn, name, 0, &dbi) == 0)
			rc = store_walk_dbi(txn, dbi, &sum);
		else
			sum += store_touch(&v);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	volatile unsigned sink = sum;   /* the reads must happen */
	(void)sink;
	_exit(rc ? 3 : 0);
}

int store_check_walk(const char *path, uint64_t map_size, char **cause)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0;   /* cannot check; LMDB's own checks remain */
	if (pid == 0)
		store_walk_child(path, map_size);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFSIGNALED(status)) {
		store_set_cause(cause, "%s: damaged: reading it fails with signal %d (%s)", path,
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		return HK_ESTORE;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		store_set_cause(cause, "%s: damaged: LMDB cannot read every database", path);
		return HK_ESTORE;
	}
	return 0;   /* read fine, or could not check (a wrapper's exit code): LMDB decides */
}
