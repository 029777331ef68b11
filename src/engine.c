/*
 * engine.c - the runtime of every registration.
 *
 * Each registration (struct eng_reg) owns: its pinned root directory fd
 * (opened component by component with O_NOFOLLOW) and, when recursive, a
 * table of subdirectory fds (ids are slots of that table, 0 = root); one
 * inotify watch per directory; the index of its candidate files; an age
 * timer armed at the moment its oldest file expires; and its own schedule
 * timer if it has one.
 *
 * This file creates and frees registrations (and the engine), keeps them
 * in priority order and applies a new configuration: a registration whose
 * files are the same keeps its watches and index and takes the new limits.
 * What the other engine files own is listed in engine_int.h.
 *
 * Invariants:
 *  - an index is in doubt before its first scan completes, while it is being
 *    rescanned (after an overflow or on a sweep's reconcile), and while its
 *    root is missing: scanned/scanning/attached say so, and no deletion
 *    happens then (engine_enforce.c);
 *  - registrations are kept in priority order (lower first, ties by name).
 */
#include "autoconfig.h"

#include <dirent.h>
#include <ev.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cred.h"
#include "engine.h"
#include "engine_int.h"
#include "index.h"
#include "log.h"
#include "policy.h"
#include "reap.h"
#include "util.h"
#include "watch.h"

/* Registrations ----------------------------------------------------------- */

/* Without a watch, changes are found by rescanning (the limits then act
 * when the scan completes). */
static void eng_fallback_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eng_reg *reg = w->data;
	eng_reg_rescan(reg);
}

static struct eng_reg *eng_reg_create(struct hk_engine *eng, const struct hk_registration *conf)
{
	struct eng_reg *reg = hk_xcalloc(1, sizeof(*reg));
	reg->eng = eng;
	reg->conf = hk_registration_dup(conf);
	hk_policy_from_registration(reg->conf, eng->cfg->scheduler.housekeeper_default_retention,
				    &reg->policy);
	reg->index = hk_index_create();
	reg->cred = hk_cred_for_uid(conf->owner_uid);
	eng_reg_warm_load(reg);
	reg->anc_fd = -1;
	reg->anc_wd = -1;
	reg->empty_due_ns = INT64_MAX;
	ev_timer_init(&reg->age_timer, eng_age_timer_cb, 0., 0.);
	reg->age_timer.data = reg;
	ev_timer_init(&reg->fallback_timer, eng_fallback_cb, 0., 0.);
	reg->fallback_timer.data = reg;
	ev_timer_init(&reg->retry_timer, eng_retry_cb, 0., 0.);
	reg->retry_timer.data = reg;
	reg->retry_delay = ENG_RETRY_MIN;
	return reg;
}

static void eng_reg_free(struct eng_reg *reg)
{
	struct hk_engine *eng = reg->eng;
	eng_tally_flush(reg, true);
	for (size_t i = 0; i < eng->n_refresh; i++)
		if (eng->refresh[i].reg == reg)
			eng->refresh[i].reg = NULL;
	if (reg->sweep) {
		/* removed while a sweep worked on it: the sweep ends here */
		struct hk_sweep *sw = reg->sweep;
		sw->reg = NULL;
		sw->phase = SWEEP_DONE;
		if (!sw->rr->error)
			sw->rr->error = hk_xstrdup("registration removed during the sweep");
	}
	eng_reg_detach(reg);
	eng_reg_set_ancestor(reg, -1);
	if (eng->loop) {
		ev_timer_stop(eng->loop, &reg->age_timer);
		ev_timer_stop(eng->loop, &reg->fallback_timer);
	}
	free(reg->dirs);
	free(reg->queue);
	free(reg->held);
	hk_index_free(reg->index);
	hk_registration_free(reg->conf);
	hk_cred_free(reg->cred);
	free(reg);
}

static bool eng_same_selection(const struct hk_registration *a, const struct hk_registration *b)
{
	if (strcmp(a->directory, b->directory) != 0 || strcmp(a->pattern, b->pattern) != 0 ||
	    a->recursive != b->recursive || a->age_by != b->age_by || a->unit != b->unit ||
	    a->n_excludes != b->n_excludes)
		return false;
	for (size_t i = 0; i < a->n_excludes; i++)
		if (strcmp(a->excludes[i], b->excludes[i]) != 0)
			return false;
	return true;
}

static bool eng_same_schedule(const struct hk_registration *a, const struct hk_registration *b)
{
	if (!a->schedule || !b->schedule)
		return a->schedule == b->schedule;
	return strcmp(a->schedule, b->schedule) == 0;
}

static int eng_reg_cmp(const void *a, const void *b)
{
	const struct eng_reg *x = *(const struct eng_reg *const *)a;
	const struct eng_reg *y = *(const struct eng_reg *const *)b;
	if (x->conf->priority != y->conf->priority)
		return x->conf->priority < y->conf->priority ? -1 : 1;
	const char *nx = x->conf->name ? x->conf->name : x->conf->id;
	const char *ny = y->conf->name ? y->conf->name : y->conf->id;
	return strcmp(nx, ny);
}

struct eng_reg *eng_reg_find(const struct hk_engine *eng, const char *key)
{
	for (size_t i = 0; i < eng->n_regs; i++) {
		struct eng_reg *reg = eng->regs[i];
		if (strcmp(key, reg->conf->id) == 0 ||
		    (reg->conf->name && strcmp(key, reg->conf->name) == 0))
			return reg;
	}
	return NULL;
}

void hk_engine_apply_config(struct hk_engine *eng, const struct hk_config *cfg)
{
	hk_engine_apply(eng, cfg, eng->api, eng->n_api);
}

/* Deletions of one batch run on housekeeper_concurrent_cleanups threads,
 * no more than there are CPUs to run them. */
static void eng_reapers_configure(struct hk_engine *eng, const struct hk_config *cfg)
{
	long cpus = 1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	long want = cfg->scheduler.housekeeper_concurrent_cleanups;
	if (want > cpus)
		want = cpus;
	if (want > ENG_REAP_THREADS_MAX)
		want = ENG_REAP_THREADS_MAX;
	if (want < 1)
		want = 1;
	if (eng->reapers && eng->reap_threads == (unsigned)want)
		return;
	hk_reap_pool_free(eng->reapers);
	eng->reapers = hk_reap_pool_new((unsigned)want);
	eng->reap_threads = (unsigned)want;
}

static void eng_apply(struct hk_engine *eng, const struct hk_config *cfg,
		      struct hk_registration *const *api, size_t n_api);

/* Nobody is served from inside the engine (engine_yield.c) while its
 * registrations are being replaced: they are not whole until the end. */
void hk_engine_apply(struct hk_engine *eng, const struct hk_config *cfg,
		     struct hk_registration *const *api, size_t n_api)
{
	eng->yield_held++;
	eng_apply(eng, cfg, api, n_api);
	eng->yield_held--;
}

static void eng_apply(struct hk_engine *eng, const struct hk_config *cfg,
		      struct hk_registration *const *api, size_t n_api)
{
	eng_reapers_configure(eng, cfg);
	if (eng->clock_paused) {
		eng->clock_paused = false;
		eng->clock_baseline_set = false;
		log_notice("sched", "reload: the current time is accepted; age limits resume");
	}
	eng->cfg = cfg;
	eng->api = api;
	eng->n_api = n_api;
	eng_own_update(eng);
	size_t total = cfg->n_regs + n_api;
	struct eng_reg **next = hk_xcalloc(total ? total : 1, sizeof(*next));
	bool *kept = hk_xcalloc(eng->n_regs ? eng->n_regs : 1, sizeof(*kept));
	for (size_t i = 0; i < total; i++) {
		const struct hk_registration *conf =
			i < cfg->n_regs ? cfg->regs[i] : api[i - cfg->n_regs];
		struct eng_reg *reg = NULL;
		for (size_t j = 0; j < eng->n_regs; j++) {
			if (!kept[j] && strcmp(eng->regs[j]->conf->id, conf->id) == 0 &&
			    eng_same_selection(eng->regs[j]->conf, conf) &&
			    eng_same_schedule(eng->regs[j]->conf, conf)) {
				reg = eng->regs[j];
				kept[j] = true;
				break;
			}
		}
		if (reg) {
			/* same files: keep watches and index, take the new limits */
			hk_registration_free(reg->conf);
			reg->conf = hk_registration_dup(conf);
			hk_policy_from_registration(reg->conf,
						    cfg->scheduler.housekeeper_default_retention,
						    &reg->policy);
			reg->trim = (struct hk_policy_trim){ false, false };   /* new limits */
			reg->dirty = true;
		} else {
			reg = eng_reg_create(eng, conf);
		}
		next[i] = reg;
	}
	for (size_t j = 0; j < eng->n_regs; j++)
		if (!kept[j])
			eng_reg_free(eng->regs[j]);
	free(kept);
	free(eng->regs);
	eng->regs = next;
	eng->n_regs = total;
	qsort(eng->regs, eng->n_regs, sizeof(*eng->regs), eng_reg_cmp);

	if (eng->loop) {
		for (size_t i = 0; i < eng->n_regs; i++) {
			struct eng_reg *reg = eng->regs[i];
			if (!reg->attached)
				eng_reg_attach(reg);
		}
		eng_free_arm(eng);
		/* enforce changed limits at once */
		eng_batch_end_cb(eng);
	}
}

/* How many descriptors the process has open (0 when /proc is not there). */
static rlim_t eng_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	rlim_t n = 0;
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0;   /* not the one reading it */
}

struct hk_engine *hk_engine_create(struct ev_loop *loop, const struct hk_config *cfg,
				   struct hk_store *store, unsigned flags)
{
	struct hk_engine *eng = hk_xcalloc(1, sizeof(*eng));
	eng->loop = loop;
	eng->store = store;
	eng->no_index_store = flags & HK_ENGINE_NO_INDEX_STORE;
	struct rlimit rl;
	rlim_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
	rlim_t reserve = limit / 2 < ENG_FD_RESERVE ? limit / 2 : ENG_FD_RESERVE;
	/* the reserve is for what the daemon opens while it runs (clients,
	 * deletions, reports, the lock set): the descriptors already open
	 * (the store, the loop, the log) come off the budget first */
	rlim_t open_now = eng_open_fds();
	if (open_now > limit - reserve)
		open_now = limit - reserve;
	eng->fd_budget = limit == RLIM_INFINITY ? SIZE_MAX : (size_t)(limit - reserve - open_now);
	/* each directory is an fd and an inotify watch: users' shares are
	 * taken of whichever runs out first */
	eng->user_dirs_budget = eng->fd_budget;
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	unsigned long watches;
	if (f && fscanf(f, "%lu", &watches) == 1 && watches < eng->user_dirs_budget)
		eng->user_dirs_budget = watches;
	if (f)
		fclose(f);
	if (loop) {
		eng->watch = hk_watch_create(loop, &eng_watch_ops, eng);
		if (!eng->watch) {
			log_err("watch", "inotify_init1");
			free(eng);
			return NULL;
		}
		ev_idle_init(&eng->scan_idle, eng_scan_idle_cb);
		eng->scan_idle.data = eng;
		ev_idle_init(&eng->enforce_idle, eng_enforce_idle_cb);
		eng->enforce_idle.data = eng;
		/* An idle watcher runs only when nothing of its priority or higher
		 * is pending: at the top priority, slices go on under a flood of
		 * events instead of starving. */
		ev_set_priority(&eng->scan_idle, EV_MAXPRI);
		ev_set_priority(&eng->enforce_idle, EV_MAXPRI);
		eng->mounts_fd = -1;
		eng_mounts_open(eng);
	}
	hk_engine_apply_config(eng, cfg);
	return eng;
}

void hk_engine_free(struct hk_engine *eng)
{
	if (!eng)
		return;
	eng->store = NULL;   /* shutting down: keep the stored index for a warm start */
	eng_tally_fini(eng);
	eng_free_fini(eng);
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_reg_free(eng->regs[i]);
	free(eng->regs);
	if (eng->loop) {
		ev_idle_stop(eng->loop, &eng->scan_idle);
		ev_idle_stop(eng->loop, &eng->enforce_idle);
		if (ev_is_active(&eng->mounts_io)) {
			ev_io_stop(eng->loop, &eng->mounts_io);
			close(eng->mounts_io.fd);
		}
		if (eng->mounts_fd >= 0)
			close(eng->mounts_fd);
	}
	hk_watch_free(eng->watch);
	hk_reap_pool_free(eng->reapers);
	for (size_t i = 0; i < eng->n_pending_fails; i++)
		free(eng->pending_fails[i].message);
	free(eng->pending_fails);
	for (size_t i = 0; i < eng->n_refresh; i++)
		free(eng->refresh[i].name);
	free(eng->refresh);
	eng_own_free(eng);
	free(eng->own_socket);
	hk_reap_leftovers_free(eng->leftovers, eng->n_leftovers);
	free(eng);
}

void hk_engine_set_event_report(struct hk_engine *eng, struct hk_report *rep)
{
	eng->event_rep = rep;
}
