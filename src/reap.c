/*
 * reap.c - safe deletion of one file relative to a pinned directory fd.
 *
 * Order of checks (SAFETY.md checklist), with the batch's lock set (the
 * caller read /proc/locks right before the batch, locks.h):
 *  0. aquota.* at a mount root: refused, nothing is touched;
 *  1. the inode decided on is in the lock set (flock, POSIX, OFD, lease):
 *     kept, nothing is touched;
 *  2. dry runs, and registrations whose age counts atime or ctime, only:
 *     statx(dir_fd, name, AT_SYMLINK_NOFOLLOW) checked as in 4 with the
 *     whole age key (a dry run stops here: it renames nothing);
 *  3. renameat2(name -> private name, RENAME_NOREPLACE); ENOENT: gone,
 *     EBUSY: a mount point, refused;
 *  4. statx of the private name: a regular file, on the registered mount
 *     (mount id, else device), not a mount root, the inode, size and mtime
 *     decided on, and an atime not newer than the age key decided on when
 *     the age counts atime (the rename sets ctime: it is checked in 2);
 *  5. unlinkat of the private name; anything that failed 4 (or an unlink
 *     that failed) is renamed back, untouched but for its ctime.
 * Three syscalls for a file that goes (3, 4, 5), four with the check of 2.
 * The private name is the one the caller recorded in the file's audit
 * intent (exp->tmp_name), so a crash between the rename and the unlink
 * leaves a name that the next start can prove to be ours (state.c,
 * engine_scan.c) and no other.
 *
 * Without a lock set (NULL: /proc/locks unreadable or incomplete) the
 * per-file check runs instead: statx, open (O_NOFOLLOW), compare the opened
 * inode, flock(LOCK_EX|LOCK_NB) held across the unlink, an F_OFD_GETLK
 * probe for POSIX and OFD locks, the lease of skip_open, then 3-5.
 *
 * With skip_open (SPEC 7: a file any process holds open is kept), a
 * write lease is the test: fcntl(F_SETLEASE, F_WRLCK) on an fd of our own
 * succeeds only while no other open file description of the inode exists
 * (the kernel counts them; an mmap holds one too). The file is opened
 * (O_RDONLY|O_NOFOLLOW|O_NONBLOCK: a lease someone else holds makes the
 * open fail with EWOULDBLOCK instead of waiting), the opened inode is
 * compared with the decision, the lease taken, then 3-5 run and the fd is
 * closed, which releases the lease. While we hold it, another process's
 * open() of the file blocks until we release it (or lease-break-time, 45
 * s by default): so the lease is held around the rename and the unlink
 * only, never across anything that may wait. The break's signal (SIGIO
 * by default, fatal) is ignored process-wide. No lease (EAGAIN: open
 * elsewhere; EACCES without CAP_LEASE on another uid's file; EINVAL on a
 * filesystem without leases, some FUSE and NFS): kept as in use, and the
 * caller tells which (res->err).
 *
 * The windows that remain (docs/SECURITY.md): a lock taken after the
 * caller read the lock set and before the unlink; a change of the file's
 * content through an fd opened earlier between 4 and 5. Any doubt keeps
 * the file. Where the filesystem lacks RENAME_NOREPLACE the check of the
 * name and a plain unlinkat remain, with the narrow window between them.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "locks.h"
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
	case HK_REAP_IN_USE: return "in-use";
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


/* What a fresh statx st of the file says against the decision exp: the
 * outcome that keeps it, or -1 when it may go. With key_bits (HK_AGE_*),
 * the age key of those times must not be newer than the one decided on:
 * a file read (atime) since is no longer as old as it was. */
static int reap_check(const struct hk_stat *st, const struct hk_reap_expect *exp,
		      unsigned key_bits)
{
	if (!S_ISREG(st->mode) || !hk_stat_on_mount(st, exp->dev, exp->mnt_id) || st->mount_root)
		return HK_REAP_REFUSED;
	if (st->ino != exp->ino || st->size != exp->size || st->mtime_ns != exp->mtime_ns)
		return HK_REAP_CHANGED;
	if (key_bits && hk_stat_age_key(st, key_bits) > exp->key_ns)
		return HK_REAP_CHANGED;
	return -1;
}

/* statx of the name and reap_check; false (res set) when it must stay. */
static bool reap_stat_ok(int dir_fd, const char *name, const struct hk_reap_expect *exp,
			 unsigned key_bits, struct hk_reap_result *res)
{
	int r = hk_stat_at(dir_fd, name, &res->st);
	if (r < 0) {
		res->outcome = r == -ENOENT ? HK_REAP_GONE : HK_REAP_FAILED;
		res->err = r == -ENOENT ? 0 : r;
		return false;
	}
	int bad = reap_check(&res->st, exp, key_bits);
	if (bad >= 0) {
		res->outcome = (enum hk_reap_outcome)bad;
		return false;
	}
	return true;
}

static void reap_put_back(int dir_fd, const char *tmp, const char *name)
{
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) < 0)
		log_errx("reap", "a file that replaced one being deleted could not be put back "
			 "(%s); it is kept as %s", strerror(errno), tmp);
}

/* unlinkat by name cannot say which inode it removes: a file renamed over
 * the name after the last check would be deleted instead. So the name is
 * first renamed to a private, unguessable one (RENAME_NOREPLACE), what
 * moved is checked against the decision (type, mount, inode, size, mtime,
 * atime when the age counts it: the rename itself sets ctime), and only
 * then unlinked; anything else is moved back untouched. */
static void reap_aside(int dir_fd, const char *name, const struct hk_reap_expect *exp,
		       struct hk_reap_result *res)
{
	char fresh[HK_REAP_TMP_SIZE];
	const char *tmp = exp->tmp_name;
	if (!tmp) {
		hk_reap_tmp_name(fresh);
		tmp = fresh;
	}
	if (renameat2(dir_fd, name, dir_fd, tmp, RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL || errno == ENOSYS || errno == EPERM) {
			/* no RENAME_NOREPLACE here (some filesystems): check the
			 * name and unlink it, with the narrow window between the
			 * two (docs/SECURITY.md) */
			if (reap_stat_ok(dir_fd, name, exp, exp->age_by, res))
				reap_unlink_plain(dir_fd, name, res);
		} else if (errno == ENOENT) {
			res->outcome = HK_REAP_GONE;
		} else if (errno == EBUSY) {
			res->outcome = HK_REAP_REFUSED;   /* a mount point */
		} else {
			res->outcome = HK_REAP_FAILED;
			res->err = -errno;
		}
		return;
	}
	if (reap_stat_ok(dir_fd, tmp, exp, exp->age_by & HK_AGE_ATIME, res)) {
		reap_unlink_plain(dir_fd, tmp, res);
		if (res->outcome == HK_REAP_FAILED)
			reap_put_back(dir_fd, tmp, name);
		return;
	}
	/* not the file decided on (or unreadable): it goes back; gone from
	 * the private name means someone else removed it */
	if (res->outcome != HK_REAP_GONE)
		reap_put_back(dir_fd, tmp, name);
}

/* Is someone's POSIX or OFD lock on the open file? A write lock is probed
 * as an OFD lock (it conflicts with both kinds, whoever holds them, this
 * process included); F_OFD_GETLK needs no write access. */
static int reap_fd_lock_probe(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return errno == EINVAL ? 0 : -errno;   /* a kernel without OFD locks */
	return fl.l_type != F_UNLCK;
}

/* A lease break (someone opening the file while we hold our lease) sends
 * the lease holder SIGIO, whose default action ends the process: ignored,
 * once, before the first lease (nothing else here uses SIGIO). */
static void reap_sigio_ignore(void)
{
	struct sigaction sa;
	if (sigaction(SIGIO, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGIO, SIG_IGN);
}

/* Take the write lease that says nobody else has fd's file open; false
 * (res: in use, err 0 when someone has it open, else why no lease could
 * be taken) when it must stay. Closing fd releases it. */
static bool reap_lease(int fd, struct hk_reap_result *res)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, reap_sigio_ignore);
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == 0)
		return true;
	res->outcome = HK_REAP_IN_USE;
	res->err = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return false;
}

/* Open dir_fd/name to read nothing, as the checks of this file need: the
 * fd, or -1 with res set (gone, changed: a symlink now, in use: someone
 * holds a lease, failed). */
static int reap_open(int dir_fd, const char *name, bool noatime, struct hk_reap_result *res)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd = -1;
	/* O_NOATIME keeps a dry run from touching atime; it needs ownership or
	 * CAP_FOWNER, so retry without it. */
	if (noatime)
		fd = openat(dir_fd, name, flags | O_NOATIME);
	if (fd < 0 && (!noatime || errno == EPERM))
		fd = openat(dir_fd, name, flags);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT) {
		res->outcome = HK_REAP_GONE;
	} else if (errno == ELOOP) {
		res->outcome = HK_REAP_CHANGED;
	} else if (errno == EWOULDBLOCK) {
		res->outcome = HK_REAP_IN_USE;   /* someone else's lease */
	} else {
		res->outcome = HK_REAP_FAILED;
		res->err = -errno;
	}
	return -1;
}

/* skip_open with a lock set: open the file, check that the opened inode
 * is the one decided on, take the lease, then rename aside and unlink
 * (3-5) under it; the close releases it. The lease window is these few
 * syscalls: any open() of the file by another process waits for it. */
static void reap_file_lease(int dir_fd, const char *name, const struct hk_reap_expect *exp,
			    bool dry_run, struct hk_reap_result *res)
{
	int fd = reap_open(dir_fd, name, false, res);
	if (fd < 0)
		return;
	struct hk_stat opened;
	int r = hk_stat_fd(fd, &opened);
	if (r < 0) {
		res->outcome = HK_REAP_FAILED;
		res->err = r;
	} else if (!S_ISREG(opened.mode) || opened.ino != exp->ino ||
		   !hk_stat_on_mount(&opened, exp->dev, exp->mnt_id)) {
		res->outcome = HK_REAP_CHANGED;
	} else if (reap_lease(fd, res)) {
		if (dry_run)
			res->outcome = HK_REAP_WOULD_DELETE;
		else
			reap_aside(dir_fd, name, exp, res);
	}
	int saved = errno;
	close(fd);
	errno = saved;
}

/* The per-file lock check, where no lock set is known (/proc/locks
 * unreadable or incomplete): open the file, compare the opened inode
 * with the decision, flock(LOCK_EX|LOCK_NB) it (held across the unlink)
 * and probe POSIX/OFD locks, then reap_aside. */
static void reap_file_fd(int dir_fd, const char *name, const struct hk_reap_expect *exp,
			 bool dry_run, struct hk_reap_result *res)
{
	int fd = -1;
	if (!reap_stat_ok(dir_fd, name, exp, exp->age_by, res))
		return;
	fd = reap_open(dir_fd, name, true, res);
	if (fd < 0)
		return;
	struct hk_stat opened;
	int r = hk_stat_fd(fd, &opened);
	int locked = 0;
	if (r < 0 || !reap_same_file(&opened, &res->st) || !S_ISREG(opened.mode)) {
		res->outcome = HK_REAP_CHANGED;
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		res->outcome = errno == EWOULDBLOCK ? HK_REAP_LOCKED : HK_REAP_FAILED;
		res->err = errno == EWOULDBLOCK ? 0 : -errno;
	} else if ((locked = reap_fd_lock_probe(fd)) != 0) {
		res->outcome = locked > 0 ? HK_REAP_LOCKED : HK_REAP_FAILED;
		res->err = locked > 0 ? 0 : locked;
	} else if (exp->skip_open && !reap_lease(fd, res)) {
		/* in use (res set); the lease, when taken, is held across the
		 * rename and unlink below and released by the close */
	} else if (dry_run) {
		res->outcome = HK_REAP_WOULD_DELETE;
	} else {
		reap_aside(dir_fd, name, exp, res);
	}
	int saved = errno;
	close(fd);
	errno = saved;
}

void hk_reap_file(int dir_fd, const char *name, const struct hk_reap_expect *exp,
		  const struct hk_locks *locks, bool dry_run, struct hk_reap_result *res)
{
	memset(res, 0, sizeof(*res));
	if (exp->dir_is_mount_root && strncmp(name, "aquota.", 7) == 0) {
		res->outcome = HK_REAP_REFUSED;
		return;
	}
	if (!locks) {
		reap_file_fd(dir_fd, name, exp, dry_run, res);
		return;
	}
	/* a locked file is not even renamed aside */
	if (hk_locks_has(locks, exp->lock_dev, exp->ino)) {
		res->outcome = HK_REAP_LOCKED;
		return;
	}
	/* A dry run renames nothing: a statx is its whole check. Where the age
	 * counts atime or ctime, which no event reports, the name is checked
	 * before the rename too: a file read since the decision is not moved
	 * (and ctime, which the rename sets, is checked only here). */
	if (dry_run || (exp->age_by & (HK_AGE_ATIME | HK_AGE_CTIME))) {
		if (!reap_stat_ok(dir_fd, name, exp, exp->age_by, res))
			return;
		if (dry_run && !exp->skip_open) {
			res->outcome = HK_REAP_WOULD_DELETE;
			return;
		}
	}
	if (exp->skip_open) {
		reap_file_lease(dir_fd, name, exp, dry_run, res);
		return;
	}
	reap_aside(dir_fd, name, exp, res);
}
