/*
 * plan.c - the sweep's snapshot as a min-heap built and popped in steps.
 *
 * Invariants:
 *  - before the heap is built, files[0..n) are in insertion order and
 *    files[heapify_next..n) satisfy the heap property below each of them;
 *  - once built, files[0..heap_n) is a min-heap by hk_plan_cmp and
 *    files[heap_n..n) are the popped ones (in no useful order);
 *  - heap_bytes is the total size of files[0..heap_n).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "util.h"

void hk_plan_init(struct hk_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void hk_plan_fini(struct hk_plan *p)
{
	free(p->files);
	free(p->arena);
	memset(p, 0, sizeof(*p));
}

void hk_plan_add(struct hk_plan *p, int64_t key_ns, uint64_t size, uint64_t ino, uint32_t dir,
		 const char *name, size_t name_len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->files = hk_xreallocarray(p->files, p->cap, sizeof(*p->files));
	}
	if (p->arena_len + name_len + 1 > p->arena_cap) {
		while (p->arena_len + name_len + 1 > p->arena_cap)
			p->arena_cap = p->arena_cap ? 2 * p->arena_cap : 16384;
		p->arena = hk_xrealloc(p->arena, p->arena_cap);
	}
	memcpy(p->arena + p->arena_len, name, name_len);
	p->arena[p->arena_len + name_len] = '\0';
	p->files[p->n++] = (struct hk_plan_file){ key_ns, size, ino, dir, (uint32_t)name_len,
						  p->arena_len };
	p->arena_len += name_len + 1;
	p->heap_n = p->n;
	p->heap_bytes += size;
	p->heapify_next = p->n / 2;
}

int hk_plan_cmp(const struct hk_plan *p, const struct hk_plan_file *a,
		const struct hk_plan_file *b)
{
	if (a->key_ns != b->key_ns)
		return a->key_ns < b->key_ns ? -1 : 1;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(p->arena + a->name_off, p->arena + b->name_off, n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return 0;
}

static void plan_sift_down(struct hk_plan *p, size_t i)
{
	struct hk_plan_file *f = p->files;
	size_t n = p->heap_n;
	for (;;) {
		size_t least = i, l = 2 * i + 1, r = l + 1;
		if (l < n && hk_plan_cmp(p, &f[l], &f[least]) < 0)
			least = l;
		if (r < n && hk_plan_cmp(p, &f[r], &f[least]) < 0)
			least = r;
		if (least == i)
			return;
		struct hk_plan_file t = f[i];
		f[i] = f[least];
		f[least] = t;
		i = least;
	}
}

bool hk_plan_heapify_step(struct hk_plan *p, size_t budget)
{
	while (!p->heap_built && budget--) {
		if (p->heapify_next == 0) {
			p->heap_built = true;
			break;
		}
		plan_sift_down(p, --p->heapify_next);
	}
	if (p->heapify_next == 0)
		p->heap_built = true;
	return p->heap_built;
}

bool hk_plan_pop(struct hk_plan *p, struct hk_plan_file *out)
{
	if (p->heap_n == 0)
		return false;
	*out = p->files[0];
	p->heap_bytes -= out->size;
	p->files[0] = p->files[--p->heap_n];
	p->files[p->heap_n] = *out;
	plan_sift_down(p, 0);
	return true;
}
