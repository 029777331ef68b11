/*
 * watch.c - owns the inotify fd. Invariants: every wd in the table has at
 * least one owner and is a live inotify watch; the table is keyed by wd
 * (open addressing), each slot holding the owners that share the wd.
 * Events are read in 64 KiB gulps until EAGAIN, dispatched to owners, then
 * batch_end lets the engine enforce count and size limits once per batch
 * (watch_io_cb).
 *
 * Held events: in the middle of a deletion batch the engine cannot take
 * events (they may drop directories its picks refer to), yet the batch's
 * own renames and unlinks fill the kernel queue. hk_watch_drain moves what
 * the kernel holds into w->held, undispatched, in order; held events are
 * dispatched before anything read later, at the next read. So our own
 * deletions never overflow the kernel queue, however long a run is.
 */
#include "autoconfig.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "watch.h"

#define WATCH_MASK                                                                               \
	(IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |       \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

struct watch_owner {
	void *owner;
	uint32_t dir_id;
};

struct watch_slot {
	int wd;                 /* 0 = empty (inotify wds start at 1) */
	size_t n_owners;
	struct watch_owner *owners;
};

/* Raw events read ahead, in kernel order; the buffer is read into
 * directly and kept between floods when it is small. */
struct watch_held {
	char *data;
	size_t off;             /* data[off, len) is still to be dispatched */
	size_t len;
	size_t cap;
};

struct hk_watch {
	struct ev_loop *loop;
	ev_io io;
	int fd;
	const struct hk_watch_ops *ops;
	void *ctx;
	struct watch_slot *slots;
	size_t cap;             /* power of two */
	size_t used;
	uint64_t overflows;
	struct watch_held held; /* raw events read by hk_watch_drain, not yet dispatched */
	ev_idle held_idle;      /* dispatches them in a later loop iteration */
};

/* Events held at most (bytes): beyond, the kernel queue keeps the rest
 * (and may overflow: then a rescan, as for any overflow). */
#define WATCH_HELD_MAX (32u << 20)
/* A held buffer up to this size is kept for the next flood. */
#define WATCH_HELD_KEEP (1u << 20)

static size_t watch_hash(int wd, size_t cap)
{
	return ((uint32_t)wd * 2654435761u) & (cap - 1);
}

static struct watch_slot *watch_find(const struct hk_watch *w, int wd)
{
	if (!w->cap)
		return NULL;
	for (size_t i = watch_hash(wd, w->cap);; i = (i + 1) & (w->cap - 1)) {
		if (w->slots[i].wd == wd)
			return &w->slots[i];
		if (w->slots[i].wd == 0)
			return NULL;
	}
}

static struct watch_slot *watch_insert_slot(struct hk_watch *w, int wd);

static void watch_grow(struct hk_watch *w)
{
	struct watch_slot *old = w->slots;
	size_t old_cap = w->cap;
	w->cap = old_cap ? old_cap * 2 : 64;
	w->slots = hk_xcalloc(w->cap, sizeof(*w->slots));
	w->used = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].wd) {
			struct watch_slot *s = watch_insert_slot(w, old[i].wd);
			*s = old[i];
		}
	}
	free(old);
}

static struct watch_slot *watch_insert_slot(struct hk_watch *w, int wd)
{
	if ((w->used + 1) * 4 > w->cap * 3)
		watch_grow(w);
	size_t i = watch_hash(wd, w->cap);
	while (w->slots[i].wd != 0)
		i = (i + 1) & (w->cap - 1);
	w->slots[i].wd = wd;
	w->used++;
	return &w->slots[i];
}

/* Delete a slot with backward-shift so probe chains stay intact. */
static void watch_delete_slot(struct hk_watch *w, struct watch_slot *s)
{
	free(s->owners);
	size_t i = (size_t)(s - w->slots);
	size_t j = i;
	for (;;) {
		j = (j + 1) & (w->cap - 1);
		if (w->slots[j].wd == 0)
			break;
		size_t home = watch_hash(w->slots[j].wd, w->cap);
		/* can slot j move to i? only if its home is not in (i, j] */
		bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			w->slots[i] = w->slots[j];
			i = j;
		}
	}
	memset(&w->slots[i], 0, sizeof(w->slots[i]));
	w->used--;
}

static void watch_dispatch(struct hk_watch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		w->overflows++;
		w->ops->overflow(w->ctx);
		return;
	}
	struct watch_slot *s = watch_find(w, ev->wd);
	if (!s)
		return;   /* a watch we already dropped */
	/* Owners may remove themselves while handling: work on a copy. */
	size_t n = s->n_owners;
	struct watch_owner stack_copy[4];
	struct watch_owner *copy = n <= 4 ? stack_copy : hk_xmalloc(n * sizeof(*copy));
	memcpy(copy, s->owners, n * sizeof(*copy));
	bool ignored = ev->mask & IN_IGNORED;
	if (ignored)
		watch_delete_slot(w, s);   /* the kernel already dropped the wd */
	const char *name = ev->len ? ev->name : NULL;
	for (size_t i = 0; i < n; i++)
		w->ops->event(w->ctx, copy[i].owner, copy[i].dir_id, ev->mask, name);
	if (copy != stack_copy)
		free(copy);
}

/* Dispatch the n bytes of events at buf (whole events, aligned) until
 * end_ns (0: all of them). Returns the bytes dispatched. */
static size_t watch_dispatch_some(struct hk_watch *w, const char *buf, size_t n, int64_t end_ns)
{
	size_t off = 0, k = 0;
	while (off < n) {
		const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
		watch_dispatch(w, ev);
		off += sizeof(*ev) + ev->len;
		if (end_ns && ++k % 64 == 0 && hk_time_mono_ns() > end_ns)
			break;
	}
	return off;
}

/* Hold n bytes of events read from the kernel but not dispatched: before
 * whatever owners drained while they were being dispatched (newer). */
static void watch_hold_front(struct hk_watch *w, const char *buf, size_t n)
{
	struct watch_held *h = &w->held;
	size_t pending = h->len - h->off;
	if (h->off >= n) {
		h->off -= n;
	} else {
		if (h->cap < pending + n) {
			h->cap = pending + n;
			h->data = hk_xrealloc(h->data, h->cap);
		}
		memmove(h->data + n, h->data + h->off, pending);
		h->off = 0;
		h->len = pending + n;
	}
	memcpy(h->data + h->off, buf, n);
	if (!ev_is_active(&w->held_idle))
		ev_idle_start(w->loop, &w->held_idle);
}

/* Dispatch the held events (older than anything still in the kernel)
 * until end_ns (0: all of them); the rest stays held, before what owners
 * drain meanwhile. Returns true when none is left. */
static bool watch_dispatch_held(struct hk_watch *w, int64_t end_ns)
{
	struct watch_held held = w->held;
	size_t k = 0;

	if (held.off == held.len)
		return true;
	memset(&w->held, 0, sizeof(w->held));   /* owners may drain again meanwhile */
	while (held.off < held.len) {
		const struct inotify_event *ev = (const struct inotify_event *)(held.data + held.off);
		watch_dispatch(w, ev);
		held.off += sizeof(*ev) + ev->len;
		if (end_ns && ++k % 64 == 0 && hk_time_mono_ns() > end_ns)
			break;
	}
	if (held.off < held.len) {
		size_t more = w->held.len - w->held.off;
		if (held.cap - held.len < more) {
			held.cap = held.len + more;
			held.data = hk_xrealloc(held.data, held.cap);
		}
		if (more)
			memcpy(held.data + held.len, w->held.data + w->held.off, more);
		held.len += more;
		free(w->held.data);
		w->held = held;
		return false;
	}
	if (!w->held.data && held.cap <= WATCH_HELD_KEEP) {
		held.off = held.len = 0;
		w->held = held;
	} else {
		free(held.data);
	}
	return true;
}

/* Read one buffer of events into buf. Returns its length, 0 when nothing
 * more is readable. */
static size_t watch_read_raw(struct hk_watch *w, char *buf, size_t size)
{
	ssize_t n;
	do
		n = read(w->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN)
			log_warn("watch", "inotify read");
		return 0;
	}
	return (size_t)n;
}

#define WATCH_GULP (64 * 1024)

/* Read one buffer of events and dispatch them, the held ones first, until
 * end_ns (0: no limit). Returns false when nothing more is readable, or
 * when time ran out with held events left. */
static bool watch_read_one(struct hk_watch *w, int64_t end_ns)
{
	char buf[WATCH_GULP] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t n;

	if (!watch_dispatch_held(w, end_ns))
		return false;
	n = watch_read_raw(w, buf, sizeof(buf));
	/* a gulp is ~2,000 events of short names, tens of ms to dispatch:
	 * what time does not allow waits, held, for a later iteration */
	size_t done = watch_dispatch_some(w, buf, n, end_ns);
	if (done < n) {
		watch_hold_front(w, buf + done, n - done);
		return false;
	}
	return n > 0;
}

void hk_watch_read(struct hk_watch *w)
{
	while (watch_read_one(w, 0))
		;
}

void hk_watch_drain(struct hk_watch *w)
{
	struct watch_held *h;
	size_t n;

	if (!w)
		return;
	h = &w->held;
	/* read straight into the held buffer, a gulp at a time (malloc's
	 * alignment suits struct inotify_event; gulps are whole events) */
	do {
		if (h->len - h->off >= WATCH_HELD_MAX)
			break;
		if (h->cap - h->len < WATCH_GULP && h->off) {
			/* what is dispatched goes: the pending part to the front */
			memmove(h->data, h->data + h->off, h->len - h->off);
			h->len -= h->off;
			h->off = 0;
		}
		if (h->cap - h->len < WATCH_GULP) {
			h->cap = h->cap ? h->cap * 2 : 4 * WATCH_GULP;
			h->data = hk_xrealloc(h->data, h->cap);
		}
		n = watch_read_raw(w, h->data + h->len, h->cap - h->len);
		h->len += n;
	} while (n > 0);
	/* the kernel queue may be empty now: make sure the loop comes back
	 * for the held events, in a later iteration (an event fed now would
	 * be handled within this one, chaining batch after batch without
	 * ever serving timers, signals or clients) */
	if (w->held.off < w->held.len && !ev_is_active(&w->held_idle))
		ev_idle_start(w->loop, &w->held_idle);
}

/* A batch is everything the kernel queue holds (up to WATCH_BATCH_READS
 * gulps), then one batch_end, whose enforcement is a bounded slice: under
 * a flood each loop iteration empties the queue and deletes one slice.
 * Reading only part of the queue between slices would let it overflow,
 * since every deletion adds events of its own (the rename aside, the
 * unlink) to the ones of the writer; a backlog belongs in the index, which
 * has no limit, not in the kernel queue (16,384 events by default). */
#define WATCH_BATCH_READS 64
/* Dispatching a batch's events: for about this long per loop iteration;
 * then the kernel queue is moved into the held buffer (a read, no
 * dispatch) for later iterations. 64 gulps of a flat-out writer's events
 * took up to 110 ms of one iteration, and status waited for it. */
#define WATCH_BATCH_NS (4 * 1000 * 1000)

static void watch_batch(struct hk_watch *w)
{
	int64_t end = hk_time_mono_ns() + WATCH_BATCH_NS;

	for (int i = 0; i < WATCH_BATCH_READS && watch_read_one(w, end); i++)
		if (hk_time_mono_ns() > end)
			break;
	if (w->held.off < w->held.len || hk_time_mono_ns() > end)
		hk_watch_drain(w);   /* the rest in a later iteration */
	w->ops->batch_end(w->ctx);
}

static void watch_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	watch_batch(io->data);
}

static void watch_held_cb(struct ev_loop *loop, ev_idle *idle, int revents)
{
	ev_idle_stop(loop, idle);
	watch_batch(idle->data);
}

struct hk_watch *hk_watch_create(struct ev_loop *loop, const struct hk_watch_ops *ops, void *ctx)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct hk_watch *w = hk_xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->fd = fd;
	w->ops = ops;
	w->ctx = ctx;
	ev_io_init(&w->io, watch_io_cb, fd, EV_READ);
	w->io.data = w;
	ev_io_start(loop, &w->io);
	ev_idle_init(&w->held_idle, watch_held_cb);
	w->held_idle.data = w;
	return w;
}

void hk_watch_free(struct hk_watch *w)
{
	if (!w)
		return;
	ev_io_stop(w->loop, &w->io);
	ev_idle_stop(w->loop, &w->held_idle);
	close(w->fd);
	free(w->held.data);
	for (size_t i = 0; i < w->cap; i++)
		free(w->slots[i].owners);
	free(w->slots);
	free(w);
}

int hk_watch_add(struct hk_watch *w, int dir_fd, void *owner, uint32_t dir_id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dir_fd);
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	if (wd < 0)
		return -errno;
	struct watch_slot *s = watch_find(w, wd);
	if (!s)
		s = watch_insert_slot(w, wd);
	s->owners = hk_xreallocarray(s->owners, s->n_owners + 1, sizeof(*s->owners));
	s->owners[s->n_owners++] = (struct watch_owner){ owner, dir_id };
	return wd;
}

void hk_watch_remove(struct hk_watch *w, int wd, void *owner, uint32_t dir_id)
{
	struct watch_slot *s = watch_find(w, wd);
	if (!s)
		return;
	for (size_t i = 0; i < s->n_owners; i++) {
		if (s->owners[i].owner == owner && s->owners[i].dir_id == dir_id) {
			s->owners[i] = s->owners[--s->n_owners];
			break;
		}
	}
	if (s->n_owners == 0) {
		inotify_rm_watch(w->fd, wd);
		watch_delete_slot(w, s);
	}
}

uint64_t hk_watch_overflows(const struct hk_watch *w)
{
	return w->overflows;
}

size_t hk_watch_count(const struct hk_watch *w)
{
	return w->used;
}
