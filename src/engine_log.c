/*
 * engine_log.c - deletions told in the log at the default level: per
 * registration one line a batch with the files, the bytes and why (age,
 * count, size), coalesced so that a registration says it at most once a
 * second (ENG_TALLY_INTERVAL_NS), however many batches and events a mass
 * deletion takes. Each file stays in the audit trail, and in the debug
 * log (engine_enforce.c).
 *
 * With a loop, deletions are counted into the registration's tally; a
 * batch's end logs the tally when the last line is a second old, else one
 * engine timer logs it when the second is over. Without a loop (--once),
 * a registration's sweep logs its tally when it ends. Nothing is lost: a
 * registration removed, or the engine stopped, logs what it still holds.
 */
#include "autoconfig.h"

#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "log.h"
#include "policy.h"
#include "units.h"
#include "util.h"

#define ENG_TALLY_INTERVAL_NS HK_NSEC_PER_SEC

const char *eng_reg_label(const struct eng_reg *reg)
{
	return reg->conf->name && *reg->conf->name ? reg->conf->name : reg->conf->directory;
}

void eng_tally_add(struct eng_reg *reg, bool dry, enum hk_reason why, uint64_t size)
{
	struct eng_tally *t = &reg->tally[dry];
	if ((size_t)why >= HK_ARRAY_SIZE(t->files))
		why = HK_REASON_NONE;
	t->files[why]++;
	t->n++;
	t->bytes += size;
}

/* One line of a tally, which is then cleared. */
static void eng_tally_say(struct eng_reg *reg, bool dry)
{
	struct eng_tally *t = &reg->tally[dry];
	static const enum hk_reason order[] = { HK_REASON_AGE, HK_REASON_COUNT, HK_REASON_SIZE,
						HK_REASON_FREE, HK_REASON_NONE };
	char size[HK_UNITS_FORMAT_MAX], why[128] = "";
	size_t at = 0;
	if (t->n == 0)
		return;
	for (size_t i = 0; i < HK_ARRAY_SIZE(order); i++) {
		uint64_t n = t->files[order[i]];
		if (n == 0 || at >= sizeof(why))
			continue;
		int w = snprintf(why + at, sizeof(why) - at, "%s%" PRIu64 " by %s", at ? ", " : "",
				 n, order[i] == HK_REASON_NONE ? "other limits" : hk_reason_name(order[i]));
		if (w > 0)
			at += (size_t)w;
	}
	if (reg->conf->name && *reg->conf->name)
		log_info("reap", "%s: %s %" PRIu64 " file%s (%s) in %s: %s%s", reg->conf->name,
			 dry ? "would delete" : "deleted", t->n, t->n == 1 ? "" : "s",
			 hk_size_human(t->bytes, size, sizeof(size)), reg->conf->directory, why,
			 dry ? " (dry run)" : "");
	else
		log_info("reap", "%s: %s %" PRIu64 " file%s (%s): %s%s", reg->conf->directory,
			 dry ? "would delete" : "deleted", t->n, t->n == 1 ? "" : "s",
			 hk_size_human(t->bytes, size, sizeof(size)), why, dry ? " (dry run)" : "");
	memset(t, 0, sizeof(*t));
}

static void eng_tally_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hk_engine *eng = w->data;
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_tally_flush(eng->regs[i], false);
}

void eng_tally_flush(struct eng_reg *reg, bool force)
{
	struct hk_engine *eng = reg->eng;
	if (reg->tally[0].n == 0 && reg->tally[1].n == 0)
		return;
	int64_t now = hk_time_mono_ns();
	int64_t due = reg->tally_logged_ns + ENG_TALLY_INTERVAL_NS;
	if (!force && reg->tally_logged_ns && now < due) {
		if (!eng->loop)
			return;   /* the sweep's end says it */
		if (!eng->tally_timer_init) {
			ev_timer_init(&eng->tally_timer, eng_tally_timer_cb, 0., 0.);
			eng->tally_timer.data = eng;
			eng->tally_timer_init = true;
		}
		if (!ev_is_active(&eng->tally_timer)) {
			ev_timer_set(&eng->tally_timer, (double)(due - now) / 1e9 + 0.001, 0.);
			ev_timer_start(eng->loop, &eng->tally_timer);
		}
		return;
	}
	if (!force && !eng->loop)
		return;
	eng_tally_say(reg, false);
	eng_tally_say(reg, true);
	reg->tally_logged_ns = now;
}

void eng_tally_fini(struct hk_engine *eng)
{
	for (size_t i = 0; i < eng->n_regs; i++)
		eng_tally_flush(eng->regs[i], true);
	if (eng->tally_timer_init && eng->loop)
		ev_timer_stop(eng->loop, &eng->tally_timer);
}
