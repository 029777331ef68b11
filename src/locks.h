/*
 * locks.h - the set of files someone holds a lock on, read from
 * /proc/locks once per deletion batch (SPEC 7: a file under flock, POSIX
 * or OFD lock is kept; leases and delegations count too).
 *
 * The parser is pure (hk_locks_parse); hk_locks_read does the I/O and
 * answers NULL whenever the set cannot be trusted to be complete, so that
 * the caller falls back to checking each file on an open fd (reap.c).
 */
#ifndef HK_LOCKS_H
#define HK_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_locks;

/* Parse the text of /proc/locks (len bytes, no NUL needed). Every line
 * names a lock (FLOCK, POSIX, OFDLCK, LEASE, DELEG, ACCESS, a blocked
 * waiter "->" too) on MAJ:MIN:INO, major and minor in hex, the inode in
 * decimal; a line without an inode ("<none>:0") is skipped. Returns 0 and
 * *out (owned by the caller, hk_locks_free), or -EINVAL for a line of
 * another shape (the set is then unknown: nothing is returned). */
int hk_locks_parse(const char *text, size_t len, struct hk_locks **out);

/* Read /proc/locks now. NULL when it cannot be read or parsed, or when
 * this process's /proc does not belong to the initial PID namespace (the
 * kernel hides the flock and POSIX locks of processes it cannot name
 * there): the set would be incomplete. */
struct hk_locks *hk_locks_read(void);

/* Does the set hold a lock on (dev, ino)? dev is the device /proc/locks
 * names the file's file system by, its superblock's (hk_locks_mount_dev;
 * not always what statx reports: a btrfs subvolume's is another), in the
 * hk_stat encoding (major << 32 | minor); 0 when unknown: then the inode
 * number alone is matched, and a lock on the same number on another file
 * system keeps the file (never the other way round). */
bool hk_locks_has(const struct hk_locks *l, uint64_t dev, uint64_t ino);

/* The superblock device of the mount mnt_id (statx's STATX_MNT_ID), as
 * /proc/locks names it: the major:minor of its /proc/self/mountinfo line.
 * 0 when unknown. The parser of that text is pure. */
uint64_t hk_locks_mount_dev(uint64_t mnt_id);
int hk_locks_mountinfo_dev(const char *text, size_t len, uint64_t mnt_id, uint64_t *dev);

/* The number of entries, and entry i (sorted by inode) as parsed. */
size_t hk_locks_count(const struct hk_locks *l);
void hk_locks_entry(const struct hk_locks *l, size_t i, uint64_t *dev, uint64_t *ino);

/* NULL is a no-op. */
void hk_locks_free(struct hk_locks *l);

#endif /* HK_LOCKS_H */
