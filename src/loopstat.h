/*
 * loopstat.h - how long the event loop is busy per iteration.
 *
 * Everything the daemon serves (control clients, inotify events, timers)
 * waits while one loop iteration runs; the longest iterations are the
 * latency every client sees on top of the kernel's scheduling. The meter
 * times each iteration from the wake-up to the next sleep and keeps a
 * histogram for the metrics.
 */
#ifndef HK_LOOPSTAT_H
#define HK_LOOPSTAT_H

#include <ev.h>

#include "util.h"

struct hk_loopstat;

struct hk_loopstat *hk_loopstat_start(struct ev_loop *loop);
void hk_loopstat_free(struct hk_loopstat *ls);

/* Appends the Prometheus text of housekeeper_loop_iteration_seconds and
 * housekeeper_loop_iteration_cpu_seconds (histograms) and
 * housekeeper_loop_iteration_max_seconds (gauge). */
void hk_loopstat_metrics(const struct hk_loopstat *ls, struct hk_buf *b);

#endif
