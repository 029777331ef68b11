/*
 * reap_pool.c - run a batch of safe deletions on several threads.
 *
 * Deleting is syscall-bound: the protocol of hk_reap_file costs three
 * syscalls a file, and most of their kernel time (path lookups, inode
 * eviction, page freeing) runs in parallel on other cores; only the
 * directory-modifying part holds the directory's lock. So a batch of
 * decided deletions is spread over the pool's threads plus the caller.
 *
 * The pool does nothing but call hk_reap_file on jobs the engine prepared:
 * the decisions, the index, the store and the event loop stay on the
 * engine's thread, which waits for the batch (fork-join) and then
 * processes the results in order. Workers are started on the first batch
 * large enough to share (after any daemonizing fork) with every signal
 * blocked, so signals keep reaching the event loop's thread.
 *
 * How many of the workers a batch wakes is measured, not fixed (issue 16:
 * never take an application's core). Every shared batch records its wall
 * time and the CPU time each participant got (CLOCK_THREAD_CPUTIME_ID);
 * a participant that was off its CPU for a large part of the batch was
 * waiting for a core (the machine is busy: an application writing flat
 * out, say) or for the directory's lock (more threads only queue there):
 * either way one thread fewer. When every participant kept its CPU and the
 * batch is large (a backlog), one more is tried; a try that failed makes
 * the next one wait twice as long (20 ms to 640 ms), so on a machine
 * without a spare core the pool stays at the caller's thread but for one
 * batch in a while, and finds a core that frees up within a second.
 *
 * A caller that has others to serve meanwhile (the event loop: the
 * control socket) says so (struct hk_reap_wait): between two of its
 * jobs, at most every REAP_SERVE_NS, it looks at its fd and serves it
 * when readable. Under a flat-out writer a batch took 10-100 ms (every
 * unlink may sleep on the directory's lock for milliseconds), and a
 * status request waited for all of it. Handing the whole batch to the
 * workers instead, the caller sleeping on its fd, answered even sooner
 * but drained a flat-out writer's backlog 15% slower (two thread wake-ups
 * a batch, on cores the writer keeps busy).
 */
#include "autoconfig.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "cred.h"
#include "log.h"
#include "reap.h"
#include "util.h"

/* Below this many files per thread a batch runs on fewer threads: waking
 * a worker costs more than it saves. */
#define REAP_POOL_MIN_SHARED 16
/* Share of a batch's wall time a participant must have been on its CPU:
 * below REAP_UTIL_LOW (in a batch's average) one worker fewer, above
 * REAP_UTIL_HIGH (every participant) one more may be tried. Percent. */
#define REAP_UTIL_LOW 70
#define REAP_UTIL_HIGH 90
#define REAP_PROBE_MIN_NS (20 * 1000000LL)    /* before trying one more worker */
#define REAP_PROBE_MAX_NS (640 * 1000000LL)
#define REAP_SERVE_NS (1000000LL)             /* between two looks at the caller's fd */

struct hk_reap_pool {
	unsigned want_workers;      /* threads besides the caller */
	unsigned n_workers;         /* started */
	unsigned active;            /* of them woken per batch (measured) */
	int64_t probe_at_ns;        /* CLOCK_MONOTONIC: active + 1 may be tried */
	int64_t probe_backoff_ns;   /* ... this long after the last failed try */
	unsigned since_change;      /* batches since active last changed */
	pthread_t *workers;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;     /* a new batch, or quit */
	pthread_cond_t done_cv;     /* the last worker left the batch */
	uint64_t generation;        /* batches posted so far */
	unsigned tickets;           /* workers the current batch may still take */
	unsigned busy;              /* workers still in the current batch */
	unsigned joined;            /* workers that took part in it */
	int64_t worker_cpu_ns;      /* their CPU time in it */
	int64_t min_util;           /* lowest participant's CPU share, percent */
	bool quit;
	/* the current batch; stable while busy > 0 */
	struct hk_reap_job *jobs;
	size_t n_jobs;
	bool dry_run;
	const struct hk_locks *locks;
	const struct hk_cred *cred;
	int64_t posted_ns;          /* CLOCK_MONOTONIC when it was posted */
	atomic_size_t next;
};

static void reap_job_run(struct hk_reap_job *j, const struct hk_locks *locks, bool dry_run)
{
	hk_reap_file(j->dir_fd, j->name, &j->exp, locks, dry_run, &j->res);
}

static void reap_pool_drain(struct hk_reap_pool *p)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
		if (i >= p->n_jobs)
			return;
		reap_job_run(&p->jobs[i], p->locks, p->dry_run);
	}
}

static int64_t reap_clock_ns(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The caller's share of a batch: jobs taken from *next until none is
 * left, acting as cred; with wait, its fd is served between two jobs (as
 * the caller itself: a status request never runs with an owner's
 * identity). When the owner's identity cannot be taken back, the rest of
 * the jobs the caller takes fail with that error. */
static void reap_caller_drain(struct hk_reap_job *jobs, size_t n, atomic_size_t *next,
			      const struct hk_locks *locks, bool dry_run,
			      const struct hk_cred *cred, const struct hk_reap_wait *wait)
{
	int64_t look_at = 0;
	int r = 0;
	for (;;) {
		size_t i = atomic_fetch_add_explicit(next, 1, memory_order_relaxed);
		if (i >= n)
			return;
		if (r < 0) {
			jobs[i].res = (struct hk_reap_result){ .outcome = HK_REAP_FAILED, .err = r };
			continue;
		}
		reap_job_run(&jobs[i], locks, dry_run);
		if (!wait)
			continue;
		int64_t now = reap_clock_ns(CLOCK_MONOTONIC);
		if (now < look_at)
			continue;
		look_at = now + REAP_SERVE_NS;
		struct pollfd pf = { .fd = wait->fd, .events = POLLIN };
		if (poll(&pf, 1, 0) == 1) {
			hk_cred_use(NULL, NULL);
			wait->serve(wait->ctx);
			r = hk_cred_use(cred, NULL);
		}
	}
}

/* A participant's share of the batch on its CPU, percent. */
static int64_t reap_util(int64_t cpu_ns, int64_t wall_ns)
{
	return wall_ns > 0 ? cpu_ns * 100 / wall_ns : 100;
}

static void *reap_pool_worker(void *arg)
{
	struct hk_reap_pool *p = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->generation == seen)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->quit)
			break;
		seen = p->generation;
		if (p->tickets == 0)
			continue;   /* not woken for this batch, or too late for it */
		p->tickets--;
		p->joined++;
		int64_t posted = p->posted_ns;
		pthread_mutex_unlock(&p->mu);
		int64_t cpu0 = reap_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		/* a worker that cannot act as the owner leaves the jobs to
		 * the caller, which always drains */
		if (hk_cred_use(p->cred, NULL) == 0) {
			reap_pool_drain(p);
			hk_cred_use(NULL, NULL);
		}
		int64_t cpu = reap_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
		/* its wall time counts from the post: a worker that waited
		 * for a core to start on was off its CPU all that while */
		int64_t util = reap_util(cpu, reap_clock_ns(CLOCK_MONOTONIC) - posted);
		pthread_mutex_lock(&p->mu);
		p->worker_cpu_ns += cpu;
		if (util < p->min_util)
			p->min_util = util;
		if (--p->busy == 0)
			pthread_cond_signal(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct hk_reap_pool *hk_reap_pool_new(unsigned threads)
{
	struct hk_reap_pool *p = hk_xcalloc(1, sizeof(*p));
	p->want_workers = threads > 1 ? threads - 1 : 0;
	p->probe_backoff_ns = REAP_PROBE_MIN_NS;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	return p;
}

/* Start the workers; a failure leaves fewer workers (down to none: the
 * caller then reaps alone). */
static void reap_pool_start(struct hk_reap_pool *p)
{
	p->workers = hk_xcalloc(p->want_workers, sizeof(*p->workers));
	for (unsigned i = 0; i < p->want_workers; i++) {
		int r = hk_thread_start(&p->workers[p->n_workers], reap_pool_worker, p);
		if (r != 0) {
			log_warnx("reap", "cannot start a reaping thread (%s): %u of %u running",
				  hk_strerror(r), p->n_workers, p->want_workers);
			break;
		}
		p->n_workers++;
	}
	p->want_workers = p->n_workers;
}

/* After a shared batch that ended at now: the lowest share of its wall
 * time a participant spent on its CPU, and how many took part (the caller
 * included). */
static void reap_pool_adapt(struct hk_reap_pool *p, int64_t min_util, unsigned took_part,
			    size_t n, int64_t now)
{
	p->since_change++;
	if (p->active > 0 && took_part > 1 && min_util < REAP_UTIL_LOW) {
		/* a participant waited for a core or for the directory: one
		 * fewer, and the next try of more waits twice as long */
		p->active--;
		log_debug("reap", "%u reaping threads (a thread was on its CPU %d%% of a batch)",
			  p->active + 1, (int)min_util);
		p->since_change = 0;
		p->probe_at_ns = now + p->probe_backoff_ns;
		if (p->probe_backoff_ns < REAP_PROBE_MAX_NS)
			p->probe_backoff_ns *= 2;
		return;
	}
	if (min_util < REAP_UTIL_HIGH)
		return;
	if (took_part > 1 && p->since_change >= 8 && p->probe_backoff_ns > REAP_PROBE_MIN_NS)
		p->probe_backoff_ns /= 2;   /* more threads have held up for a while */
	if (now < p->probe_at_ns)
		return;
	if (p->active < p->n_workers && n >= (size_t)(p->active + 2) * 2 * REAP_POOL_MIN_SHARED) {
		p->active++;
		log_debug("reap", "%u reaping threads (trying one more)", p->active + 1);
		p->since_change = 0;
		p->probe_at_ns = now + REAP_PROBE_MIN_NS;
	}
}

/* Run a batch on the caller and the pool's active workers, measuring
 * what share of the batch each of them got its CPU for. */
static void reap_pool_shared(struct hk_reap_pool *p, struct hk_reap_job *jobs, size_t n,
			     const struct hk_locks *locks, bool dry_run, const struct hk_cred *cred,
			     const struct hk_reap_wait *wait)
{
	unsigned wake = p->active;
	/* a small batch does not need them all */
	if (wake > n / (2 * REAP_POOL_MIN_SHARED) - 1)
		wake = (unsigned)(n / (2 * REAP_POOL_MIN_SHARED) - 1);
	int64_t t0 = reap_clock_ns(CLOCK_MONOTONIC);
	int64_t cpu0 = reap_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	pthread_mutex_lock(&p->mu);
	p->jobs = jobs;
	p->n_jobs = n;
	p->dry_run = dry_run;
	p->locks = locks;
	p->cred = cred;
	p->posted_ns = t0;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	p->tickets = wake;
	p->busy = wake;
	p->joined = 0;
	p->worker_cpu_ns = 0;
	p->min_util = 100;
	p->generation++;
	for (unsigned i = 0; i < wake; i++)
		pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mu);

	reap_caller_drain(jobs, n, &p->next, locks, dry_run, cred, wait);

	int64_t cpu = reap_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	pthread_mutex_lock(&p->mu);
	/* a worker that has not started yet is not waited for (the jobs are
	 * done); it was off its CPU for the whole batch */
	unsigned late = p->tickets;
	p->busy -= late;
	p->tickets = 0;
	while (p->busy > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
	int64_t wall = reap_clock_ns(CLOCK_MONOTONIC) - t0;
	int64_t min_util = late ? 0 : p->min_util;
	int64_t util = reap_util(cpu, wall);
	if (util < min_util)
		min_util = util;
	unsigned took_part = 1 + p->joined + late;
	p->jobs = NULL;
	p->locks = NULL;
	p->n_jobs = 0;
	if (wake > 0 || p->active == 0)
		reap_pool_adapt(p, min_util, took_part, n, t0 + wall);
	pthread_mutex_unlock(&p->mu);
}

void hk_reap_many(struct hk_reap_pool *p, struct hk_reap_job *jobs, size_t n,
		  const struct hk_locks *locks, bool dry_run,
		  const struct hk_cred *cred, const struct hk_reap_wait *wait)
{
	const struct hk_cred *prev;
	/* started before the caller takes the owner's identity: a new thread
	 * inherits its creator's fsuid, and a worker believes it starts as
	 * the daemon */
	if (p && p->want_workers > 0 && !p->workers && n >= 2 * REAP_POOL_MIN_SHARED)
		reap_pool_start(p);
	int r = hk_cred_use(cred, &prev);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			jobs[i].res = (struct hk_reap_result){ .outcome = HK_REAP_FAILED, .err = r };
		hk_cred_use(prev, NULL);
		return;
	}
	if (!p || p->n_workers == 0 || n < 2 * REAP_POOL_MIN_SHARED) {
		atomic_size_t next = 0;
		reap_caller_drain(jobs, n, &next, locks, dry_run, cred, wait);
		hk_cred_use(prev, NULL);
		return;
	}
	reap_pool_shared(p, jobs, n, locks, dry_run, cred, wait);
	hk_cred_use(prev, NULL);
}

void hk_reap_pool_free(struct hk_reap_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_workers; i++)
		pthread_join(p->workers[i], NULL);
	free(p->workers);
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
