/*
 * engine_yield.c - serving others from inside the engine's long work.
 *
 * A deletion batch, an event backlog's refreshes or a mass deletion's
 * slice holds the loop thread for milliseconds at best; under a flat-out
 * writer every unlink may sleep on the directory's lock, and the loop's
 * iterations grew to 50-250 ms, which every status call waited for. The
 * daemon gives the engine a hook (hk_engine_set_yield: an fd and what
 * serves it, the control socket's urgent set, ctl.h); the engine calls it
 * at safe points of long work (eng_yield: between batches and chunks, in
 * a backlog of refreshes, at most every ENG_YIELD_NS), and between the
 * files it deletes itself in a batch (hk_reap_wait).
 * Safe points are where the engine's state is whole: no entry half
 * updated, no store transaction open; what is served there reads only
 * in-memory state (ctl.h says which requests).
 */
#include "autoconfig.h"

#include <poll.h>

#include "cred.h"
#include "engine.h"
#include "engine_int.h"
#include "util.h"

/* The serving runs with the daemon's own identity (a status call never
 * acts as the registration's owner whose files are being deleted), and
 * gives back the one it interrupted. The reaping pool does the same for
 * the serving between its caller's files (reap_pool.c). */
static void eng_serve(struct hk_engine *eng)
{
	const struct hk_cred *prev;
	if (hk_cred_use(NULL, &prev) == 0)
		eng->yield.serve(eng->yield.ctx);
	hk_cred_use(prev, NULL);
}

void hk_engine_set_yield(struct hk_engine *eng, int fd, void (*serve)(void *ctx), void *ctx)
{
	eng->yield = (struct hk_reap_wait){ .fd = fd, .serve = fd >= 0 ? serve : NULL, .ctx = ctx };
}

const struct hk_reap_wait *eng_reap_wait(const struct hk_engine *eng)
{
	return eng->yield.serve && !eng->yield_held ? &eng->yield : NULL;
}

void eng_yield(struct hk_engine *eng)
{
	if (!eng_reap_wait(eng))
		return;
	int64_t now = hk_time_mono_ns();
	if (now < eng->yield_next_ns)
		return;
	eng->yield_next_ns = now + ENG_YIELD_NS;
	struct pollfd p = { .fd = eng->yield.fd, .events = POLLIN };
	if (poll(&p, 1, 0) == 1)
		eng_serve(eng);
}
