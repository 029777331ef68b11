/*
 * watch.h - the one inotify instance of the daemon. Maps watch descriptors
 * to their owners (several registrations may watch the same directory:
 * inotify hands out one wd per inode, so owners are reference-counted) and
 * delivers events to the engine in batches.
 */
#ifndef HK_WATCH_H
#define HK_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

struct ev_loop;
struct hk_watch;

struct hk_watch_ops {
	/* One event on a directory owned by (owner, dir_id). name is NULL for
	 * events on the directory itself (IN_DELETE_SELF, IN_MOVE_SELF,
	 * IN_UNMOUNT, IN_IGNORED: the watch is gone or going). */
	void (*event)(void *ctx, void *owner, uint32_t dir_id, uint32_t mask, const char *name);
	/* IN_Q_OVERFLOW: events were lost; every index is in doubt. */
	void (*overflow)(void *ctx);
	/* Everything readable has been read and dispatched. */
	void (*batch_end)(void *ctx);
};

/* Create the inotify instance and start reading it on loop. Returns NULL
 * and sets errno on failure. */
struct hk_watch *hk_watch_create(struct ev_loop *loop, const struct hk_watch_ops *ops, void *ctx);
void hk_watch_free(struct hk_watch *w);

/* Watch the directory open at dir_fd (through /proc/self/fd, so the pinned
 * directory itself is watched, never a path that could be swapped) for
 * (owner, dir_id). Returns the wd, or -errno: -ENOSPC means the
 * fs.inotify.max_user_watches limit is reached. */
int hk_watch_add(struct hk_watch *w, int dir_fd, void *owner, uint32_t dir_id);
/* Drop (owner, dir_id) from wd; the inotify watch goes with its last owner. */
void hk_watch_remove(struct hk_watch *w, int wd, void *owner, uint32_t dir_id);

/* Read and dispatch every pending event now, without batch_end (used to
 * apply the events of our own deletions before the next registration of a
 * sweep looks at its index). */
void hk_watch_read(struct hk_watch *w);

/* Move the events the kernel queue holds into memory, undispatched (they
 * are dispatched, in order, before anything read later, in the next loop
 * iteration at the latest). For the middle of a long deletion, whose own
 * events would otherwise overflow the kernel queue; NULL is a no-op. */
void hk_watch_drain(struct hk_watch *w);

/* Counters for status and metrics. */
uint64_t hk_watch_overflows(const struct hk_watch *w);
size_t hk_watch_count(const struct hk_watch *w);

#endif /* HK_WATCH_H */
