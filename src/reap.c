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
 *  4. unlinkat(dir_fd, name, 0); ENOENT means someone else deleted it.
 * Any doubt keeps the file. The residual race - the name replaced by a
 * rename between steps 3 and 4 by someone who can already rename in this
 * directory - is documented in docs/SECURITY.md.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (!S_ISREG(res->st.mode) || res->st.dev != exp->dev || res->st.mount_root ||
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
	if (unlinkat(dir_fd, name, 0) < 0) {
		if (errno == ENOENT) {
			res->outcome = HK_REAP_GONE;
		} else {
			res->outcome = HK_REAP_FAILED;
			res->err = -errno;
		}
		goto out;
	}
	res->outcome = HK_REAP_DELETED;
out:
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
}
