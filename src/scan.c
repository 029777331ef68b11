/*
 * scan.c - directory reading (getdents64 into a buffer owned by the scan)
 * and statx-based metadata, relative to pinned directory fds only.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "scan.h"
#include "util.h"

/* Paths ------------------------------------------------------------------------ */

/* The next directory of the walk, or -errno: a symlink (opened itself by
 * O_PATH|O_NOFOLLOW) or a non-directory on the way is refused here. */
static int scan_walk_dir(int fd, const char *comp)
{
	struct stat st;
	int next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int err = 0;

	if (next < 0)
		return -errno;
	if (fstat(next, &st) < 0)
		err = -errno;
	else if (S_ISLNK(st.st_mode))
		err = -ELOOP;
	else if (!S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err) {
		close(next);
		return err;
	}
	return next;
}

int hk_open_path_nofollow(const char *path, int last_flags, int *parent, size_t *stop)
{
	size_t off;
	int fd;

	if (parent)
		*parent = -1;
	if (stop)
		*stop = 0;
	if (!path || path[0] != '/')
		return -EINVAL;
	off = strspn(path, "/");
	fd = open("/", (path[off] ? O_PATH : last_flags) | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (path[off]) {
		size_t len = strcspn(path + off, "/");
		char *comp = hk_xstrndup(path + off, len);
		off += len;
		bool last = path[off + strspn(path + off, "/")] == '\0';
		int next = last ? openat(fd, comp, last_flags | O_NOFOLLOW | O_CLOEXEC)
				: scan_walk_dir(fd, comp);
		if (next < 0 && last)
			next = -errno;
		free(comp);
		if (stop)
			*stop = off;
		if (next < 0 || last) {
			/* found, or missing, or a symlink/non-directory in the
			 * way: the deepest real directory reached (so that a
			 * repair is noticed) */
			if (parent && (next >= 0 || next == -ENOENT || next == -ELOOP ||
				       next == -ENOTDIR))
				*parent = fd;
			else
				close(fd);
			return next;
		}
		close(fd);
		fd = next;
		off += strspn(path + off, "/");
	}
	return fd;
}

int hk_path_stat_nofollow(const char *path, struct stat *st, size_t *stop)
{
	int fd = hk_open_path_nofollow(path, O_PATH, NULL, stop);
	int r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		r = -errno;
	else if (S_ISLNK(st->st_mode))
		r = -ELOOP;
	close(fd);
	return r;
}

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* Nanoseconds since the epoch, saturated: a time past 2262 (or before
 * 1677) must not wrap around and look ancient (or brand new). */
static int64_t scan_ts_ns(const struct statx_timestamp *t)
{
	if (t->tv_sec >= INT64_MAX / HK_NSEC_PER_SEC)
		return INT64_MAX;
	if (t->tv_sec <= INT64_MIN / HK_NSEC_PER_SEC)
		return INT64_MIN;
	return (int64_t)t->tv_sec * HK_NSEC_PER_SEC + t->tv_nsec;
}

static void scan_from_statx(const struct statx *sx, struct hk_stat *st)
{
	st->dev = ((uint64_t)sx->stx_dev_major << 32) | sx->stx_dev_minor;
	st->ino = sx->stx_ino;
	st->size = sx->stx_size;
	st->blocks = sx->stx_blocks;
	st->mtime_ns = scan_ts_ns(&sx->stx_mtime);
	st->atime_ns = scan_ts_ns(&sx->stx_atime);
	st->ctime_ns = scan_ts_ns(&sx->stx_ctime);
	st->mode = sx->stx_mode;
	st->uid = sx->stx_uid;
	st->mnt_id = (sx->stx_mask & STATX_MNT_ID) ? sx->stx_mnt_id : 0;
	st->mount_root = (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			 (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int hk_stat_at(int dir_fd, const char *name, struct hk_stat *st)
{
	struct statx sx;
	if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	scan_from_statx(&sx, st);
	return 0;
}

int hk_stat_fd(int fd, struct hk_stat *st)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	scan_from_statx(&sx, st);
	return 0;
}

int64_t hk_stat_age_key(const struct hk_stat *st, unsigned age_by)
{
	int64_t key = INT64_MIN;
	if ((age_by & HK_AGE_MTIME) || age_by == 0)
		key = st->mtime_ns;
	if ((age_by & HK_AGE_ATIME) && st->atime_ns > key)
		key = st->atime_ns;
	if ((age_by & HK_AGE_CTIME) && st->ctime_ns > key)
		key = st->ctime_ns;
	return key;
}

void hk_stat_to_meta(const struct hk_stat *st, unsigned age_by, struct hk_file_meta *meta)
{
	meta->ino = st->ino;
	meta->size = st->size;
	meta->mtime_ns = st->mtime_ns;
	meta->key_ns = hk_stat_age_key(st, age_by);
}

bool hk_stat_on_mount(const struct hk_stat *st, uint64_t dev, uint64_t mnt_id)
{
	if (st->mnt_id && mnt_id)
		return st->mnt_id == mnt_id;
	return st->dev == dev;
}

int hk_open_subdir(int dir_fd, const char *name, uint64_t dev, uint64_t mnt_id)
{
	struct hk_stat before, after;
	int r = hk_stat_at(dir_fd, name, &before);
	if (r < 0)
		return r;
	if (!S_ISDIR(before.mode))
		return S_ISLNK(before.mode) ? -ELOOP : -ENOTDIR;
	if (!hk_stat_on_mount(&before, dev, mnt_id) || before.mount_root)
		return -EXDEV;
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = hk_stat_fd(fd, &after);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (after.dev != before.dev || after.ino != before.ino) {
		close(fd);
		return HK_ECHANGED;
	}
	return fd;
}

/* getdents64 record, as the kernel writes it. */
struct scan_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define SCAN_BUF_SIZE (64 * 1024)

struct hk_dirscan {
	int fd;
	size_t pos;
	size_t len;
	bool eof;
	char buf[SCAN_BUF_SIZE] __attribute__((aligned(8)));
};

struct hk_dirscan *hk_dirscan_create(int dir_fd)
{
	struct hk_dirscan *ds = hk_xmalloc(sizeof(*ds));
	ds->fd = dir_fd;
	ds->pos = ds->len = 0;
	ds->eof = false;
	/* start from the beginning even if the fd was read before */
	lseek(dir_fd, 0, SEEK_SET);
	return ds;
}

int hk_dirscan_next(struct hk_dirscan *ds, const char **name, unsigned char *d_type)
{
	for (;;) {
		if (ds->pos >= ds->len) {
			if (ds->eof)
				return 0;
			long n = syscall(SYS_getdents64, ds->fd, ds->buf, sizeof(ds->buf));
			if (n < 0)
				return -errno;
			if (n == 0) {
				ds->eof = true;
				return 0;
			}
			ds->len = (size_t)n;
			ds->pos = 0;
		}
		struct scan_dirent64 *d = (struct scan_dirent64 *)(ds->buf + ds->pos);
		ds->pos += d->d_reclen;
		if (d->d_name[0] == '.' &&
		    (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))
			continue;
		*name = d->d_name;
		*d_type = d->d_type;
		return 1;
	}
}

const char *hk_dirscan_peek(const struct hk_dirscan *ds)
{
	if (ds->pos >= ds->len)
		return NULL;
	return ((const struct scan_dirent64 *)(ds->buf + ds->pos))->d_name;
}

void hk_dirscan_free(struct hk_dirscan *ds)
{
	free(ds);
}
