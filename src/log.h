/*
 * log.h - logging tagged by subsystem ("config", "watch", "reap", ...).
 * Messages name the object first, lower case: "/var/log/app: watch limit
 * reached". Destinations: stderr (foreground; with "<N>" priority prefixes
 * when run by systemd) or syslog.
 */
#ifndef HK_LOG_H
#define HK_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum hk_log_target {
	HK_LOG_STDERR,     /* plain lines on stderr */
	HK_LOG_JOURNAL,    /* stderr with <N> prefixes (systemd) */
	HK_LOG_SYSLOG,
};

void hk_log_init(const char *ident, enum hk_log_target target, int level);
void hk_log_set_level(int level);
/* A status line on stderr (a terminal: the caller checks), redrawn under
 * every log line written to stderr meanwhile; NULL erases it. The text is
 * copied. */
void hk_log_status(const char *line);
int hk_log_get_level(void);
/* "debug", "info", "notice", "warning", "err"... -> LOG_*; -1 if unknown. */
int hk_log_level_parse(const char *name);
const char *hk_log_level_name(int level);

void hk_log(int prio, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* warn: with strerror(errno) appended; warnx: without. */
#define log_warn(tag, ...) hk_log_errno(LOG_WARNING, tag, __VA_ARGS__)
#define log_warnx(tag, ...) hk_log(LOG_WARNING, tag, __VA_ARGS__)
#define log_err(tag, ...) hk_log_errno(LOG_ERR, tag, __VA_ARGS__)
#define log_errx(tag, ...) hk_log(LOG_ERR, tag, __VA_ARGS__)
#define log_info(tag, ...) hk_log(LOG_INFO, tag, __VA_ARGS__)
#define log_notice(tag, ...) hk_log(LOG_NOTICE, tag, __VA_ARGS__)
#define log_debug(tag, ...) hk_log(LOG_DEBUG, tag, __VA_ARGS__)
void hk_log_errno(int prio, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* HK_LOG_H */
