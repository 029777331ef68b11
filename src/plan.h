/*
 * plan.h - a sweep's victims, oldest first, in bounded steps.
 *
 * A sweep judges a snapshot of its registration's index (SPEC 5: oldest
 * first by the age key, ties by name in byte order, then directory). The
 * snapshot is copied entry by entry, made a min-heap in steps, and popped
 * oldest first only as far as the policy selects: no step sorts the whole
 * set, so a million files never stall the event loop, and a sweep that
 * deletes a few files of many pays O(n + k log n), not O(n log n).
 *
 * Pure: no I/O, no index; names are copied into the plan's own arena.
 */
#ifndef HK_PLAN_H
#define HK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_plan_file {
	int64_t key_ns;       /* the age_by time */
	uint64_t size;
	uint64_t ino;
	uint32_t dir;         /* the registration's directory id */
	uint32_t name_len;
	size_t name_off;      /* into the plan's arena (hk_plan_name) */
};

struct hk_plan {
	struct hk_plan_file *files;   /* heap[0..heap_n) once built */
	size_t n, cap;
	char *arena;
	size_t arena_len, arena_cap;
	size_t heapify_next;          /* sift-downs left to build the heap: n/2 .. 0 */
	bool heap_built;
	size_t heap_n;                /* files not popped yet */
	uint64_t heap_bytes;          /* their total size */
};

void hk_plan_init(struct hk_plan *p);
void hk_plan_fini(struct hk_plan *p);

/* Copies one file into the snapshot (before the heap is built). */
void hk_plan_add(struct hk_plan *p, int64_t key_ns, uint64_t size, uint64_t ino, uint32_t dir,
		 const char *name, size_t name_len);

/* Builds the heap with up to budget sift-downs; true once it is built. */
bool hk_plan_heapify_step(struct hk_plan *p, size_t budget);

/* Pops the oldest file not popped yet into *out (its name stays valid
 * until hk_plan_fini); false when none is left. The heap must be built. */
bool hk_plan_pop(struct hk_plan *p, struct hk_plan_file *out);

static inline const char *hk_plan_name(const struct hk_plan *p, const struct hk_plan_file *f)
{
	return p->arena + f->name_off;
}

/* The snapshot's order: key, then name bytes, then name length, then
 * directory (hk_entry_cmp's order). */
int hk_plan_cmp(const struct hk_plan *p, const struct hk_plan_file *a,
		const struct hk_plan_file *b);

#endif
