/*
 * util.h - small helpers shared by every module: allocation that dies on
 * out-of-memory (the only fatal error after start-up), string buffers,
 * time in nanoseconds.
 */
#ifndef HK_UTIL_H
#define HK_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "housekeeper.h"

#define HK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HK_NSEC_PER_SEC INT64_C(1000000000)

/* Allocation: abort with a message on out-of-memory. */
void *hk_xmalloc(size_t n);
void *hk_xcalloc(size_t nmemb, size_t size);
void *hk_xrealloc(void *p, size_t n);
void *hk_xreallocarray(void *p, size_t nmemb, size_t size);
char *hk_xstrdup(const char *s);
char *hk_xstrndup(const char *s, size_t n);
/* printf into a new string owned by the caller. */
char *hk_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hk_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Anonymous pages apart from the malloc heap, n bytes (a multiple of the
 * page size), zero-filled: for bulk buffers that are dropped wholesale, so
 * that what they held never stays behind in the heap. hk_unmap(NULL, n) is
 * a no-op. */
void *hk_xmap(size_t n);
void hk_unmap(void *p, size_t n);
/* Start a thread with every signal blocked, so that signals keep reaching
 * the event loop's thread. 0, or -errno. */
int hk_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Growable byte/string buffer; data is always NUL-terminated. */
struct hk_buf {
	char *data;
	size_t len;
	size_t cap;
};
void hk_buf_append(struct hk_buf *b, const void *data, size_t n);
void hk_buf_printf(struct hk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with control bytes, backslash and invalid UTF-8 escaped (\n, \xNN),
 * for any text output that shows a file name. */
void hk_buf_append_escaped(struct hk_buf *b, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when
 * invalid (overlong, surrogate, out of range, cut short). */
size_t hk_utf8_seq_len(const unsigned char *s, size_t n);
void hk_buf_fini(struct hk_buf *b);

/* Time helpers: nanoseconds since the epoch (realtime) or since boot. */
int64_t hk_time_now_ns(void);
int64_t hk_time_mono_ns(void);
static inline int64_t hk_timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * HK_NSEC_PER_SEC + ts->tv_nsec;
}

/* True when the realtime clock is earlier than the build date: age
 * decisions must then be refused (SPEC 7). */
bool hk_clock_implausible(int64_t now_ns);

/* Parse a decimal non-negative integer that fills the whole string;
 * -ERANGE on overflow, -EINVAL otherwise. */
int hk_parse_u64(const char *s, uint64_t *out);
int hk_parse_int(const char *s, long min, long max, long *out);

/* Is s a path "/..." without empty/"."/".." components? (lexical check) */
bool hk_path_is_clean_absolute(const char *s);

struct stat;

/* NULL-terminated string vectors of n strings: add a copy of s, free,
 * copy (a copy of an empty one is an empty vector, NULL stays NULL). */
void hk_strv_add(char ***v, size_t *n, const char *s);
void hk_strv_free(char **v, size_t n);
char **hk_strv_dup(char *const *v, size_t n);

#endif /* HK_UTIL_H */
