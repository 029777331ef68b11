/*
 * config_err.c - the error list of a configuration load: every message
 * "file:line: message" or "file: message", collected, never printed here.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

static void config_errors_add(struct hk_config_errors *errs, char *msg)
{
	errs->msgs = hk_xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
	errs->msgs[errs->n++] = msg;
}

void config_err_at(struct config_ctx *ctx, const char *where, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	config_errors_add(ctx->errs, hk_xasprintf("%s: %s", where, msg));
	free(msg);
}

void config_err_line(struct config_ctx *ctx, const char *file, unsigned line,
			    const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		config_errors_add(ctx->errs, hk_xasprintf("%s:%u: %s", file, line, msg));
	else
		config_errors_add(ctx->errs, hk_xasprintf("%s: %s", file, msg));
	free(msg);
}

/* An error at the current line of the file being parsed. A key whose value
 * is refused keeps its default, so later checks do not report it twice. */
void config_err(struct config_file *f, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	msg = hk_xvasprintf(fmt, ap);
	va_end(ap);
	config_err_line(f->ctx, f->path, f->cur_line, "%s", msg);
	free(msg);
}

void hk_config_errors_fini(struct hk_config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}
