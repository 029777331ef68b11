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
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cred.h"
#include "log.h"
#include "reap.h"
#include "util.h"

/* Below this many files a batch runs on the caller's thread: waking a
 * worker costs more than it saves. */
#define REAP_POOL_MIN_SHARED 16

struct hk_reap_pool {
	unsigned want_workers;      /* threads besides the caller */
	unsigned n_workers;         /* started */
	pthread_t *workers;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;     /* a new batch, or quit */
	pthread_cond_t done_cv;     /* the last worker left the batch */
	uint64_t generation;        /* batches posted so far */
	unsigned busy;              /* workers still in the current batch */
	bool quit;
	/* the current batch; stable while busy > 0 */
	struct hk_reap_job *jobs;
	size_t n_jobs;
	bool dry_run;
	const struct hk_locks *locks;
	const struct hk_cred *cred;
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
		pthread_mutex_unlock(&p->mu);
		/* a worker that cannot act as the owner leaves the jobs to
		 * the caller, which always drains */
		if (hk_cred_use(p->cred, NULL) == 0) {
			reap_pool_drain(p);
			hk_cred_use(NULL, NULL);
		}
		pthread_mutex_lock(&p->mu);
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

void hk_reap_many(struct hk_reap_pool *p, struct hk_reap_job *jobs, size_t n,
		  const struct hk_locks *locks, bool dry_run, const struct hk_cred *cred)
{
	const struct hk_cred *prev;
	int r = hk_cred_use(cred, &prev);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			jobs[i].res = (struct hk_reap_result){ .outcome = HK_REAP_FAILED, .err = r };
		hk_cred_use(prev, NULL);
		return;
	}
	if (!p || p->want_workers == 0 || n < REAP_POOL_MIN_SHARED) {
		for (size_t i = 0; i < n; i++)
			reap_job_run(&jobs[i], locks, dry_run);
		hk_cred_use(prev, NULL);
		return;
	}
	if (!p->workers)
		reap_pool_start(p);
	pthread_mutex_lock(&p->mu);
	p->jobs = jobs;
	p->n_jobs = n;
	p->dry_run = dry_run;
	p->locks = locks;
	p->cred = cred;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	p->busy = p->n_workers;
	p->generation++;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);

	reap_pool_drain(p);

	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
	p->jobs = NULL;
	p->n_jobs = 0;
	p->locks = NULL;
	pthread_mutex_unlock(&p->mu);
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
