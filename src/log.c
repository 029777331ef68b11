/*
 * log.c - tagged logging to stderr, to stderr with systemd "<N>" priority
 * prefixes, or to syslog. The level is checked before anything is
 * formatted, so debug calls on the hot path cost a comparison.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
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
static char *log_status_line;   /* shown under the log lines on stderr, or NULL */

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

void hk_log_status(const char *line)
{
	if (line)
		fprintf(stderr, "\r\033[K%s", line);
	else if (log_status_line)
		fputs("\r\033[K", stderr);
	fflush(stderr);
	free(log_status_line);
	log_status_line = line ? hk_xstrdup(line) : NULL;
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

/* Does s hold anything that hk_buf_append_escaped rewrites (a control
 * byte, DEL, a backslash, invalid UTF-8)? */
static bool log_needs_escape(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = hk_utf8_seq_len(u + i, n - i);
		if (l == 0 || (l == 1 && (u[i] < 0x20 || u[i] == 0x7f || u[i] == '\\')))
			return true;
		i += l;
	}
	return false;
}

/*
 * The one place a log line is built. Directory names, patterns, file
 * names, descriptions and names come from users; one with a newline
 * would end the line and forge the next ("reap: /etc/shadow: deleted"),
 * which journald and syslog store as an entry of its own. So the whole
 * formatted message is escaped here, whatever the caller passed: no log
 * call can write more than one line. Tags are literals of the code. A
 * message that needs no escaping (the common case) is not copied again.
 */
static void log_vemit(int prio, const char *tag, const char *suffix, const char *fmt, va_list ap)
{
	char *msg = hk_xvasprintf(fmt, ap);
	if (suffix) {
		char *full = hk_xasprintf("%s: %s", msg, suffix);
		free(msg);
		msg = full;
	}
	if (log_needs_escape(msg)) {
		struct hk_buf b = { 0 };
		hk_buf_append_escaped(&b, msg, strlen(msg));
		free(msg);
		msg = b.data;   /* the buffer is handed over */
	}
	if (log_status_line && log_target != HK_LOG_SYSLOG)
		fputs("\r\033[K", stderr);   /* the line goes where the status was */
	switch (log_target) {
	case HK_LOG_SYSLOG:
		syslog(prio, "[%s] %s", tag, msg);
		break;
	case HK_LOG_JOURNAL:
		fprintf(stderr, "<%d>%s: %s\n", prio, tag, msg);
		break;
	case HK_LOG_STDERR:
		fprintf(stderr, "%s: %s: %s\n", log_ident, tag, msg);
		break;
	}
	if (log_status_line && log_target != HK_LOG_SYSLOG)
		fputs(log_status_line, stderr);
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
