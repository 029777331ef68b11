/*
 * engine_fail.c - failures the engine raises (a watch, a deletion, the
 * audit trail, the clock): formatted and handed to the daemon's hook with
 * the daemon's own identity, or kept (ENG_PENDING_FAILS at most) until
 * the hook is set.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cred.h"
#include "engine.h"
#include "engine_int.h"
#include "util.h"

void hk_engine_set_failure_hook(struct hk_engine *eng, hk_failure_fn fn, void *arg)
{
	eng->failure = fn;
	eng->failure_arg = arg;
	for (size_t i = 0; i < eng->n_pending_fails; i++) {
		struct eng_pending_fail *f = &eng->pending_fails[i];
		if (fn)
			fn(arg, f->cls, f->reg_id[0] ? f->reg_id : NULL, f->message);
		free(f->message);
	}
	free(eng->pending_fails);
	eng->pending_fails = NULL;
	eng->n_pending_fails = 0;
}

/* Report a failure to the daemon's hook, formatted. */
void eng_fail(struct hk_engine *eng, enum hk_failure cls, const char *reg_id,
	      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	if (!eng->failure) {
		/* raised while starting, before the daemon set its hook */
		if (eng->n_pending_fails < ENG_PENDING_FAILS) {
			if (!eng->pending_fails)
				eng->pending_fails = hk_xcalloc(ENG_PENDING_FAILS,
								sizeof(*eng->pending_fails));
			struct eng_pending_fail *f = &eng->pending_fails[eng->n_pending_fails++];
			f->cls = cls;
			snprintf(f->reg_id, sizeof(f->reg_id), "%s", reg_id ? reg_id : "");
			f->message = msg;
			return;
		}
		free(msg);
		return;
	}
	/* the hook writes the daemon's own files and may start a command:
	 * never with an owner's identity */
	const struct hk_cred *prev;
	hk_cred_use(NULL, &prev);
	eng->failure(eng->failure_arg, cls, reg_id, msg);
	eng_as(prev);
	free(msg);
}
