/*
 * log.c - tagged logging to stderr, to stderr with systemd "<N>" priority
 * prefixes, or to syslog. The level is checked before anything is
 * formatted, so debug calls on the hot path cost a comparison.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "util.h"

static enum hk_log_target log_target = HK_LOG_STDERR;
static int log_level = LOG_INFO;
static const char *log_ident = "housekeeper";

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT },   { "crit", LOG_CRIT },
	{ "err", LOG_ERR },     { "error", LOG_ERR },     { "warning", LOG_WARNING },
	{ "warn", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

void hk_log_init(const char *ident, enum hk_log_target target, int level)
{
	log_ident = ident;
	log_target = target;
	log_level = level;
	if (target == HK_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void hk_log_set_level(int level)
{
	log_level = level;
}

int hk_log_get_level(void)
{
	return log_level;
}

int hk_log_level_parse(const char *name)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(log_levels); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].level;
	return -1;
}

const char *hk_log_level_name(int level)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(log_levels); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "info";
}

static void log_vemit(int prio, const char *tag, const char *suffix, const char *fmt, va_list ap)
{
	char *msg = hk_xvasprintf(fmt, ap);
	switch (log_target) {
	case HK_LOG_SYSLOG:
		syslog(prio, "[%s] %s%s%s", tag, msg, suffix ? ": " : "", suffix ? suffix : "");
		break;
	case HK_LOG_JOURNAL:
		fprintf(stderr, "<%d>%s: %s%s%s\n", prio, tag, msg, suffix ? ": " : "",
			suffix ? suffix : "");
		break;
	case HK_LOG_STDERR:
		fprintf(stderr, "%s: %s: %s%s%s\n", log_ident, tag, msg, suffix ? ": " : "",
			suffix ? suffix : "");
		break;
	}
	free(msg);
}

void hk_log(int prio, const char *tag, const char *fmt, ...)
{
	if (prio > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vemit(prio, tag, NULL, fmt, ap);
	va_end(ap);
}

void hk_log_errno(int prio, const char *tag, const char *fmt, ...)
{
	int saved = errno;
	if (prio > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vemit(prio, tag, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
