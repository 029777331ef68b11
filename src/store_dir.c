/*
 * store_dir.c - the state directory: opened and checked (ours, 0700, no
 * symlink), locked with its pid file, its private files opened never
 * through a symlink, and a damaged data file moved aside.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* Open (creating 0600 unless existing is set) one of our files in the
 * state directory, never through a symlink, and make sure it is a private
 * regular file (existing: only checked, never changed). */
int store_open_file(int dir_fd, const char *dir, const char *name, int flags,
		    bool existing, char **cause)
{
	struct stat st;
	int fd = -1;
	int rc;

	fd = openat(dir_fd, name, flags | (existing ? 0 : O_CREAT) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
	if (fd < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: %s%s", dir, name, strerror(errno),
				errno == ELOOP ? " (a symbolic link)" : "");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: %s", dir, name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = HK_ESTORE;
		store_set_cause(cause, "%s/%s: not a regular file", dir, name);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = -EPERM;
		store_set_cause(cause, "%s/%s: owned by uid %ju, not %ju", dir, name,
				(uintmax_t)st.st_uid, (uintmax_t)geteuid());
		goto out;
	}
	if ((st.st_mode & 077) && existing) {
		rc = -EPERM;
		store_set_cause(cause, "%s/%s: readable by group or other (mode %04o)", dir, name,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: chmod 0600: %s", dir, name, strerror(errno));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Create (0700) if missing, unless existing is set, and open the state
 * directory; refuse symlinks, foreign owners and group/other write
 * permission. */
int store_open_dir(const char *dir, bool existing, char **cause)
{
	struct stat st;
	bool created = false;
	int fd = -1;
	int rc;

	if (!dir || dir[0] != '/') {
		rc = -EINVAL;
		store_set_cause(cause, "%s: the state directory must be an absolute path",
				dir ? dir : "(null)");
		goto out;
	}
	if (existing)
		created = false;
	else if (mkdir(dir, 0700) == 0)
		created = true;
	else if (errno != EEXIST) {
		rc = -errno;
		store_set_cause(cause, "%s: cannot create the state directory: %s", dir,
				strerror(errno));
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (errno == ELOOP || (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))) {
			rc = -ELOOP;
			store_set_cause(cause, "%s: the state directory is a symbolic link; "
					"refusing it", dir);
		} else {
			store_set_cause(cause, "%s: cannot open the state directory: %s", dir,
					strerror(-rc));
		}
		goto out;
	}
	if (created && fchmod(fd, 0700) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: chmod 0700: %s", dir, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = -EPERM;
		store_set_cause(cause, "%s: the state directory is owned by uid %ju, not %ju; "
				"refusing it", dir, (uintmax_t)st.st_uid, (uintmax_t)geteuid());
		goto out;
	}
	if (st.st_mode & 022) {
		rc = -EPERM;
		store_set_cause(cause, "%s: the state directory is writable by group or other "
				"(mode %04o); refusing it (chmod 0700)", dir,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Take the directory lock: a fresh open file description every time, so a
 * second open in the same process conflicts too. Returns the fd or an error
 * (HK_EBUSY naming the holder's pid). */
int store_lock(int dir_fd, const char *dir, char **cause)
{
	char buf[32];
	ssize_t r;
	int fd = -1;
	int rc;

	fd = store_open_file(dir_fd, dir, HK_STORE_LOCK_FILE, O_RDWR, false, cause);
	if (fd < 0) {
		rc = fd;
		fd = -1;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			rc = -errno;
			store_set_cause(cause, "%s/%s: flock: %s", dir, HK_STORE_LOCK_FILE,
					strerror(errno));
			goto out;
		}
		r = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rc = HK_EBUSY;
		store_set_cause(cause, "%s: the state directory is in use by another "
				"housekeeperd (pid %s)", dir, buf[0] ? buf : "unknown");
		goto out;
	}
	r = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)r, 0) != r) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: cannot write the pid: %s", dir, HK_STORE_LOCK_FILE,
				strerror(errno));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

bool store_lock_held(int dir_fd)
{
	bool held = false;
	int fd = openat(dir_fd, HK_STORE_LOCK_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		flock(fd, LOCK_UN);   /* at once: a daemon starting now must get it */
	else
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

int hk_store_move_aside(const char *state_dir, int64_t now_s, char **new_name, char **cause)
{
	char *name = NULL;
	int dir_fd = -1;
	int lock_fd = -1;
	int rc;

	if (new_name)
		*new_name = NULL;
	rc = store_open_dir(state_dir, false, cause);
	if (rc < 0)
		goto out;
	dir_fd = rc;
	rc = store_lock(dir_fd, state_dir, cause);
	if (rc < 0)
		goto out;
	lock_fd = rc;
	for (unsigned n = 0;; n++) {
		free(name);
		name = n ? hk_xasprintf("%s.corrupt-%" PRId64 ".%u", HK_STORE_DATA_FILE, now_s, n)
			 : hk_xasprintf("%s.corrupt-%" PRId64, HK_STORE_DATA_FILE, now_s);
		if (faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			break;
		if (n > 1000) {
			rc = -EEXIST;
			store_set_cause(cause, "%s/%s: exists", state_dir, name);
			goto out;
		}
	}
	/* the directory is ours (0700, locked): nobody races the name */
	if (renameat(dir_fd, HK_STORE_DATA_FILE, dir_fd, name) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: cannot move aside: %s", state_dir,
				HK_STORE_DATA_FILE, strerror(errno));
		goto out;
	}
	if (unlinkat(dir_fd, STORE_LMDB_LOCK, 0) < 0 && errno != ENOENT)
		log_warn(STORE_TAG, "%s/%s: unlink", state_dir, STORE_LMDB_LOCK);
	log_notice(STORE_TAG, "%s/%s: moved aside to %s", state_dir, HK_STORE_DATA_FILE, name);
	if (new_name)
		*new_name = hk_xasprintf("%s/%s", state_dir, name);
	rc = 0;
out:
	free(name);
	if (lock_fd >= 0)
		close(lock_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
}
