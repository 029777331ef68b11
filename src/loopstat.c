/*
 * loopstat.c - a histogram of the event loop's busy time per iteration.
 *
 * An ev_check watcher of the highest priority runs first after the loop
 * wakes, an ev_prepare watcher of the lowest priority last before it
 * sleeps (after the store's flush, which is work of the iteration): the
 * time between the two is the iteration's busy time. Its thread CPU time is
 * kept beside it: on a machine short of cores, an iteration that waited
 * for one is long in wall time and short in CPU time, and only the second
 * is the daemon's own stall.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "loopstat.h"

/* Upper bounds of the buckets, in microseconds: from what a status reply
 * costs to what a client notices. */
static const int64_t loopstat_bounds_us[] = { 1000, 5000, 10000, 25000, 50000,
					      100000, 250000, 1000000 };
#define LOOPSTAT_BUCKETS (sizeof(loopstat_bounds_us) / sizeof(loopstat_bounds_us[0]))

struct loopstat_hist {
	uint64_t counts[LOOPSTAT_BUCKETS + 1];   /* the last: over every bound */
	uint64_t n;
	int64_t sum_ns;
	int64_t max_ns;
};

struct hk_loopstat {
	struct ev_loop *loop;
	ev_check woke;
	ev_prepare sleeps;
	int64_t woke_ns;               /* 0 before the first wake-up */
	int64_t woke_cpu_ns;
	struct loopstat_hist wall;     /* what every client waited */
	struct loopstat_hist cpu;      /* the loop thread's own work */
};

static int64_t loopstat_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * HK_NSEC_PER_SEC + ts.tv_nsec;
}

static void loopstat_add(struct loopstat_hist *h, int64_t ns)
{
	size_t b = 0;
	while (b < LOOPSTAT_BUCKETS && ns > loopstat_bounds_us[b] * 1000)
		b++;
	h->counts[b]++;
	h->n++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static void loopstat_woke_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hk_loopstat *ls = w->data;
	ls->woke_ns = hk_time_mono_ns();
	ls->woke_cpu_ns = loopstat_cpu_ns();
}

static void loopstat_sleeps_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hk_loopstat *ls = w->data;
	if (ls->woke_ns == 0)
		return;   /* the first prepare comes before any wake-up */
	loopstat_add(&ls->wall, hk_time_mono_ns() - ls->woke_ns);
	loopstat_add(&ls->cpu, loopstat_cpu_ns() - ls->woke_cpu_ns);
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

static void loopstat_print(const struct loopstat_hist *h, const char *name, const char *help,
			   struct hk_buf *b)
{
	hk_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t cum = 0;
	for (size_t i = 0; i < LOOPSTAT_BUCKETS; i++) {
		cum += h->counts[i];
		hk_buf_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
			      (double)loopstat_bounds_us[i] / 1e6, cum);
	}
	hk_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n",
		      name, h->n, name, (double)h->sum_ns / 1e9, name, h->n);
}

void hk_loopstat_metrics(const struct hk_loopstat *ls, struct hk_buf *b)
{
	loopstat_print(&ls->wall, "housekeeper_loop_iteration_seconds",
		       "Time the event loop was busy per iteration (control clients, events and "
		       "timers wait meanwhile).", b);
	loopstat_print(&ls->cpu, "housekeeper_loop_iteration_cpu_seconds",
		       "CPU time of the event loop's thread per iteration (less than the busy "
		       "time when it waited for a core).", b);
	hk_buf_printf(b, "# HELP housekeeper_loop_iteration_max_seconds The longest iteration of "
		      "the event loop since the daemon started.\n"
		      "# TYPE housekeeper_loop_iteration_max_seconds gauge\n"
		      "housekeeper_loop_iteration_max_seconds %.6f\n", (double)ls->wall.max_ns / 1e9);
}
