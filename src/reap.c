/*
 * reap.c - safe deletion of one file relative to a pinned directory fd.
 *
 * Order of checks (SAFETY.md checklist):
 *  1. statx(dir_fd, name, AT_SYMLINK_NOFOLLOW): regular file, same device
 *     as the registered root, not a mount point, same inode/size/mtime as
 *     the decision was made on;
 *  2. open it O_RDONLY|O_NOFOLLOW|O_NONBLOCK and compare the opened inode
 *     with step 1 (a swap in between is caught);
 *  3. flock(LOCK_EX|LOCK_NB): a lock held by someone means "keep";
 *     our lock is kept across the unlink;
 *  4. rename the name to a private unguessable one (RENAME_NOREPLACE),
 *     check that what moved is the inode we locked, unlinkat it; a file
 *     renamed over the name meanwhile is moved back untouched. ENOENT
 *     means someone else deleted it. The private name is the one the
 *     caller recorded in the file's audit intent (exp->tmp_name), so a
 *     crash between the rename and the unlink leaves a name that the next
 *     start can prove to be ours (state.c, engine.c) and no other.
 * Any doubt keeps the file. Where the filesystem lacks RENAME_NOREPLACE
 * the plain unlinkat remains, with the narrow window docs/SECURITY.md
 * describes.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "reap.h"
#include "util.h"

const char *hk_reap_outcome_name(enum hk_reap_outcome o)
{
	switch (o) {
	case HK_REAP_DELETED: return "deleted";
	case HK_REAP_WOULD_DELETE: return "would-delete";
	case HK_REAP_GONE: return "gone";
	case HK_REAP_CHANGED: return "changed";
	case HK_REAP_LOCKED: return "locked";
	case HK_REAP_REFUSED: return "refused";
	case HK_REAP_FAILED: return "failed";
	}
	return "unknown";
}

static bool reap_same_file(const struct hk_stat *a, const struct hk_stat *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static void reap_unlink_plain(int dir_fd, const char *name, struct hk_reap_result *res)
{
	if (unlinkat(dir_fd, name, 0) == 0) {
		res->outcome = HK_REAP_DELETED;
	} else if (errno == ENOENT) {
		res->outcome = HK_REAP_GONE;
	} else {
		res->outcome = HK_REAP_FAILED;
		res->err = -errno;
	}
}

/* The private names must be unguessable (someone who pre-creates one only
 * makes that deletion fail, but should not be able to): a secret drawn
 * once per process, mixed with a counter through splitmix64, costs no
 * syscall per deletion. Reaping threads share the counter atomically. */
static uint64_t reap_private_suffix(void)
{
	static _Atomic uint64_t secret, counter;
	uint64_t key = atomic_load_explicit(&secret, memory_order_relaxed);
	if (key == 0) {
		uint64_t fresh;
		if (getrandom(&fresh, sizeof(fresh), GRND_NONBLOCK) != sizeof(fresh))
			fresh = (uint64_t)hk_time_mono_ns() ^ ((uint64_t)getpid() << 32);
		fresh |= 1;
		uint64_t expected = 0;
		if (!atomic_compare_exchange_strong(&secret, &expected, fresh))
			fresh = expected;
		key = fresh;
	}
	uint64_t z = key + atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed) *
				   0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) ^ key;
}

void hk_reap_tmp_name(char out[HK_REAP_TMP_SIZE])
{
	snprintf(out, HK_REAP_TMP_SIZE, HK_REAP_TMP_PREFIX "%016llx",
		 (unsigned long long)reap_private_suffix());
}

void hk_reap_leftovers_free(struct hk_reap_leftover *los, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(los[i].path);
	free(los);
}

/* unlinkat by name cannot say which inode it removes: a file renamed over
 * the name after our last check would be deleted instead. So the name is
 * first renamed to a private, unguessable one (RENAME_NOREPLACE), what
 * moved is compared with the inode we opened and locked, and only then
 * unlinked; a replacement is moved back untouched. */
static void reap_unlink_checked(int dir_fd, const char *name, const struct hk_stat *opened,
				const char *tmp_name, struct hk_reap_result *res)
{
	char fresh[HK_REAP_TMP_SIZE];
	const char *tmp = tmp_name;
	if (!tmp) {
		hk_reap_tmp_name(fresh);
		tmp = fresh;
	}
	if (renameat2(dir_fd, name, dir_fd, tmp, RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL || errno == ENOSYS || errno == EPERM) {
			/* no RENAME_NOREPLACE here (some filesystems): the plain
			 * unlink, with its narrow window (docs/SECURITY.md) */
			reap_unlink_plain(dir_fd, name, res);
		} else if (errno == ENOENT) {
			res->outcome = HK_REAP_GONE;
		} else {
			res->outcome = HK_REAP_FAILED;
			res->err = -errno;
		}
		return;
	}
	struct hk_stat moved;
	if (hk_stat_at(dir_fd, tmp, &moved) == 0 && moved.dev == opened->dev &&
	    moved.ino == opened->ino) {
		reap_unlink_plain(dir_fd, tmp, res);
		if (res->outcome == HK_REAP_FAILED)
			renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE);
		return;
	}
	/* someone replaced the file between the check and now: theirs goes back */
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) < 0)
		log_errx("reap", "a file that replaced one being deleted could not be put back "
			 "(%s); it is kept as %s", strerror(errno), tmp);
	res->outcome = HK_REAP_CHANGED;
}

void hk_reap_file(int dir_fd, const char *name, const struct hk_reap_expect *exp, bool dry_run,
		  struct hk_reap_result *res)
{
	int fd = -1;
	memset(res, 0, sizeof(*res));

	int r = hk_stat_at(dir_fd, name, &res->st);
	if (r == -ENOENT) {
		res->outcome = HK_REAP_GONE;
		goto out;
	}
	if (r < 0) {
		res->outcome = HK_REAP_FAILED;
		res->err = r;
		goto out;
	}
	if (!S_ISREG(res->st.mode) || !hk_stat_on_mount(&res->st, exp->dev, exp->mnt_id) ||
	    res->st.mount_root ||
	    (exp->dir_is_mount_root && strncmp(name, "aquota.", 7) == 0)) {
		res->outcome = HK_REAP_REFUSED;
		goto out;
	}
	if (res->st.ino != exp->ino || res->st.size != exp->size ||
	    res->st.mtime_ns != exp->mtime_ns) {
		res->outcome = HK_REAP_CHANGED;
		goto out;
	}

	/* O_NOATIME keeps a dry run from touching atime; it needs ownership or
	 * CAP_FOWNER, so retry without it. */
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	fd = openat(dir_fd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dir_fd, name, flags);
	if (fd < 0) {
		if (errno == ENOENT) {
			res->outcome = HK_REAP_GONE;
		} else if (errno == ELOOP) {
			res->outcome = HK_REAP_CHANGED;
		} else {
			res->outcome = HK_REAP_FAILED;
			res->err = -errno;
		}
		goto out;
	}
	struct hk_stat opened;
	r = hk_stat_fd(fd, &opened);
	if (r < 0 || !reap_same_file(&opened, &res->st) || !S_ISREG(opened.mode)) {
		res->outcome = HK_REAP_CHANGED;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			res->outcome = HK_REAP_LOCKED;
		} else {
			res->outcome = HK_REAP_FAILED;
			res->err = -errno;
		}
		goto out;
	}
	if (dry_run) {
		res->outcome = HK_REAP_WOULD_DELETE;
		goto out;
	}
	reap_unlink_checked(dir_fd, name, &opened, exp->tmp_name, res);
out:
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
}
