/*
 * loopstat.c - a histogram of the event loop's busy time per iteration.
 *
 * An ev_check watcher of the highest priority runs first after the loop
 * wakes, an ev_prepare watcher of the lowest priority last before it
 * sleeps (after the store's flush, which is work of the iteration): the
 * time between the two is the iteration's busy time.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "loopstat.h"

/* Upper bounds of the buckets, in microseconds: from what a status reply
 * costs to what a client notices. */
static const int64_t loopstat_bounds_us[] = { 1000, 5000, 10000, 25000, 50000,
					      100000, 250000, 1000000 };
#define LOOPSTAT_BUCKETS (sizeof(loopstat_bounds_us) / sizeof(loopstat_bounds_us[0]))

struct hk_loopstat {
	struct ev_loop *loop;
	ev_check woke;
	ev_prepare sleeps;
	int64_t woke_ns;               /* 0 before the first wake-up */
	uint64_t counts[LOOPSTAT_BUCKETS + 1];   /* the last: over every bound */
	uint64_t iterations;
	int64_t sum_ns;
	int64_t max_ns;
};

static void loopstat_woke_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hk_loopstat *ls = w->data;
	ls->woke_ns = hk_time_mono_ns();
}

static void loopstat_sleeps_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hk_loopstat *ls = w->data;
	if (ls->woke_ns == 0)
		return;   /* the first prepare comes before any wake-up */
	int64_t busy = hk_time_mono_ns() - ls->woke_ns;
	size_t b = 0;
	while (b < LOOPSTAT_BUCKETS && busy > loopstat_bounds_us[b] * 1000)
		b++;
	ls->counts[b]++;
	ls->iterations++;
	ls->sum_ns += busy;
	if (busy > ls->max_ns)
		ls->max_ns = busy;
}

struct hk_loopstat *hk_loopstat_start(struct ev_loop *loop)
{
	struct hk_loopstat *ls = hk_xcalloc(1, sizeof(*ls));
	ls->loop = loop;
	ev_check_init(&ls->woke, loopstat_woke_cb);
	ev_set_priority(&ls->woke, EV_MAXPRI);
	ls->woke.data = ls;
	ev_check_start(loop, &ls->woke);
	ev_unref(loop);   /* the meter alone keeps no loop running */
	ev_prepare_init(&ls->sleeps, loopstat_sleeps_cb);
	ev_set_priority(&ls->sleeps, EV_MINPRI);
	ls->sleeps.data = ls;
	ev_prepare_start(loop, &ls->sleeps);
	ev_unref(loop);
	return ls;
}

void hk_loopstat_free(struct hk_loopstat *ls)
{
	if (!ls)
		return;
	ev_ref(ls->loop);
	ev_check_stop(ls->loop, &ls->woke);
	ev_ref(ls->loop);
	ev_prepare_stop(ls->loop, &ls->sleeps);
	free(ls);
}

void hk_loopstat_metrics(const struct hk_loopstat *ls, struct hk_buf *b)
{
	hk_buf_printf(b, "# HELP housekeeper_loop_iteration_seconds Time the event loop was busy "
		      "per iteration (control clients, events and timers wait meanwhile).\n"
		      "# TYPE housekeeper_loop_iteration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; i < LOOPSTAT_BUCKETS; i++) {
		cum += ls->counts[i];
		hk_buf_printf(b, "housekeeper_loop_iteration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			      (double)loopstat_bounds_us[i] / 1e6, cum);
	}
	hk_buf_printf(b, "housekeeper_loop_iteration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		      "housekeeper_loop_iteration_seconds_sum %.6f\n"
		      "housekeeper_loop_iteration_seconds_count %" PRIu64 "\n",
		      ls->iterations, (double)ls->sum_ns / 1e9, ls->iterations);
	hk_buf_printf(b, "# HELP housekeeper_loop_iteration_max_seconds The longest iteration of "
		      "the event loop since the daemon started.\n"
		      "# TYPE housekeeper_loop_iteration_max_seconds gauge\n"
		      "housekeeper_loop_iteration_max_seconds %.6f\n", (double)ls->max_ns / 1e9);
}
