/*
 * ghost.h - ghost bytes: the bytes of files deleted from a registered
 * directory (or below it, when recursive) that some process still holds
 * open, so that deleting them freed no space. Counted from /proc/PID/fd
 * on request, within a deadline, on a thread of its own (ghost.c).
 */
#ifndef HK_GHOST_H
#define HK_GHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A directory to count for: a registration's. */
struct hk_ghost_root {
	char *id;            /* the registration's id (owned) */
	char *path;          /* its directory, absolute (owned) */
	bool recursive;      /* also below it */
};
void hk_ghost_roots_free(struct hk_ghost_root *roots, size_t n);

/* What one count saw, for one root. */
struct hk_ghost_count {
	uint64_t bytes;      /* st_size of each deleted inode still open, once */
	uint64_t files;
};

/* One count of every root. incomplete: something could not be seen (the
 * deadline cut it short, a process's fds could not be read, /proc hides
 * other users' processes); the counts are what was seen. */
struct hk_ghost_scan {
	struct hk_ghost_count *counts;   /* one per root, owned (free()) */
	bool cut_short;                  /* the deadline passed */
	size_t unreadable;               /* processes whose fds could not be read */
	bool hidden;                     /* /proc hides processes (hidepid) and
					  * we may not see them (no CAP_SYS_PTRACE) */
};

/* Count now, on the calling thread, for at most budget_ns. */
void hk_ghost_count(const struct hk_ghost_root *roots, size_t n, int64_t budget_ns,
		    struct hk_ghost_scan *out);

/* The last count, kept and refreshed on a thread. */
struct hk_ghost;
struct hk_ghost *hk_ghost_new(void);
/* Waits for a count in progress (at most its deadline). NULL: no-op. */
void hk_ghost_free(struct hk_ghost *g);

#define HK_GHOST_BUDGET_NS (200 * 1000000LL)   /* one count's deadline */
#define HK_GHOST_FRESH_NS (1000 * 1000000LL)   /* a count this recent is reused */

/* Start a count of roots (taken over, n of them) on a thread, unless one
 * is running or the last one ended less than HK_GHOST_FRESH_NS ago (then
 * roots are freed). Never waits. */
void hk_ghost_refresh(struct hk_ghost *g, struct hk_ghost_root *roots, size_t n);

/* One registration's part of the last count. */
struct hk_ghost_view {
	bool known;          /* a count that covered it has ended */
	bool pending;        /* a count is running */
	bool incomplete;     /* the count could not see everything */
	uint64_t bytes;
	uint64_t files;
	int64_t at_ns;       /* when that count ended (realtime) */
};
void hk_ghost_get(struct hk_ghost *g, const char *id, struct hk_ghost_view *v);

#endif /* HK_GHOST_H */
