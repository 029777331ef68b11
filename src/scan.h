/*
 * scan.h - reading directories and file metadata through directory file
 * descriptors only (SPEC 7): getdents64 on a pinned fd, statx relative to
 * it with AT_SYMLINK_NOFOLLOW. No path string ever reaches a syscall.
 */
#ifndef HK_SCAN_H
#define HK_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "index.h"

/* The one way a path string is opened (the registered root, a directory
 * an API caller names): from "/" one component at a time, never following
 * a symlink. The components on the way are opened O_PATH (search
 * permission only, as for the owner's own cd) and each must be a real
 * directory; the last one is opened with last_flags | O_NOFOLLOW
 * (O_PATH: whatever it is, a symlink included). Returns its fd or -errno:
 * -ELOOP when a component on the way is a symlink, -ENOTDIR when it is
 * not a directory, else the failing openat's (-ENOENT, -EACCES, and
 * -ELOOP/-ENOTDIR for the last under O_DIRECTORY). *stop (may be NULL):
 * the length of path up to and including the component where it stopped
 * (strlen(path) on success). *parent (may be NULL): the deepest directory
 * reached above the target, its parent on success, or -1 (the caller
 * closes it). */
int hk_open_path_nofollow(const char *path, int last_flags, int *parent, size_t *stop);

/* hk_open_path_nofollow(path, O_PATH) and fstat what it names at this
 * moment: 0 with *st (any file type but a symlink: -ELOOP at any depth). */
struct stat;
int hk_path_stat_nofollow(const char *path, struct stat *st, size_t *stop);

/* Metadata of one directory entry, from statx. */
struct hk_stat {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;       /* 512-byte blocks */
	int64_t mtime_ns;
	int64_t atime_ns;
	int64_t ctime_ns;
	uint32_t mode;
	uint32_t uid;
	uint64_t mnt_id;       /* mount id (STATX_MNT_ID), 0 when the kernel gives none */
	bool mount_root;       /* the entry is a mount point (STATX_ATTR_MOUNT_ROOT) */
};

/* Is st on the mount of a registered root (its st_dev and mount id)? By
 * mount id when the kernel gives one: a file on overlayfs carries its
 * layer's st_dev, not its directory's, while a bind mount of the same
 * filesystem carries the same st_dev under another mount. By st_dev on
 * kernels without STATX_MNT_ID (before 5.8). */
bool hk_stat_on_mount(const struct hk_stat *st, uint64_t dev, uint64_t mnt_id);

/* statx(dir_fd, name, AT_SYMLINK_NOFOLLOW). Returns 0 or -errno. */
int hk_stat_at(int dir_fd, const char *name, struct hk_stat *st);
/* fstat an open fd into the same shape. */
int hk_stat_fd(int fd, struct hk_stat *st);
/* The age key of a file: the newest of the times selected by age_by. */
int64_t hk_stat_age_key(const struct hk_stat *st, unsigned age_by);
void hk_stat_to_meta(const struct hk_stat *st, unsigned age_by, struct hk_file_meta *meta);

/* Open a directory below dir_fd by name, never following a symlink, and
 * verify that what was opened is what a statx of the name saw (so a swap in
 * between is caught). Returns the new fd or -errno (-ELOOP/-ENOTDIR for a
 * symlink or non-directory, HK_ECHANGED for a swap, -EXDEV for a mount
 * point or another mount than (dev, mnt_id), hk_stat_on_mount). */
int hk_open_subdir(int dir_fd, const char *name, uint64_t dev, uint64_t mnt_id);

/* A directory being read. */
struct hk_dirscan;
/* Start reading the directory open at dir_fd (the fd is borrowed and must
 * stay open until hk_dirscan_free). */
struct hk_dirscan *hk_dirscan_create(int dir_fd);
/* Next entry other than "." and "..": returns 1 and sets *name (valid until
 * the next call) and *d_type (DT_UNKNOWN possible), 0 at the end, -errno on
 * a read error. */
int hk_dirscan_next(struct hk_dirscan *ds, const char **name, unsigned char *d_type);
void hk_dirscan_free(struct hk_dirscan *ds);
/* The name the next hk_dirscan_next would give when it is already in the
 * buffer (".", ".." included), else NULL: for prefetching. */
const char *hk_dirscan_peek(const struct hk_dirscan *ds);

#endif /* HK_SCAN_H */
