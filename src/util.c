/*
 * util.c - allocation, string buffers, number parsing, clocks, and
 * hk_strerror. Out-of-memory is the one fatal error after start-up:
 * the hk_x* allocators abort with a message rather than return NULL.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void util_oom(void)
{
	static const char msg[] = "housekeeper: out of memory\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

void *hk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

void *hk_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		util_oom();
	return p;
}

void *hk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		util_oom();
	return q;
}

void *hk_xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);
	if (!q)
		util_oom();
	return q;
}

void *hk_xmap(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		util_oom();
	return p;
}

void hk_unmap(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

int hk_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

char *hk_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		util_oom();
	return p;
}

char *hk_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		util_oom();
	return p;
}

char *hk_xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		util_oom();
	return s;
}

char *hk_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = hk_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Buffers ------------------------------------------------------------------ */

static void buf_reserve(struct hk_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = hk_xrealloc(b->data, cap);
	b->cap = cap;
}

void hk_buf_append(struct hk_buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void hk_buf_printf(struct hk_buf *b, const char *fmt, ...)
{
	va_list ap;
	/* straight into the buffer when it fits (a report prints a few
	 * fields per file: no allocation per field) */
	buf_reserve(b, 128);
	va_start(ap, fmt);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
size_t hk_utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* reject overlong forms, surrogates and out-of-range code points */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void hk_buf_append_escaped(struct hk_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = hk_utf8_seq_len(u + i, n - i);
		if (l == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\') {
			hk_buf_append(b, s + i, 1);
		} else if (l > 1) {
			hk_buf_append(b, s + i, l);
		} else {
			char esc[5];
			switch (u[i]) {
			case '\n': memcpy(esc, "\\n", 3); break;
			case '\t': memcpy(esc, "\\t", 3); break;
			case '\r': memcpy(esc, "\\r", 3); break;
			case '\\': memcpy(esc, "\\\\", 3); break;
			default: snprintf(esc, sizeof(esc), "\\x%02x", u[i]); break;
			}
			hk_buf_append(b, esc, strlen(esc));
			l = 1;
		}
		i += l;
	}
}

void hk_buf_fini(struct hk_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Clocks ------------------------------------------------------------------- */

int64_t hk_time_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return hk_timespec_ns(&ts);
}

int64_t hk_time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return hk_timespec_ns(&ts);
}

bool hk_clock_implausible(int64_t now_ns)
{
	return now_ns < (int64_t)HK_BUILD_EPOCH * HK_NSEC_PER_SEC;
}

/* Numbers ------------------------------------------------------------------ */

int hk_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	uint64_t v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int hk_parse_int(const char *s, long min, long max, long *out)
{
	bool neg = false;
	if (s && (*s == '-' || *s == '+')) {
		neg = *s == '-';
		s++;
	}
	uint64_t v;
	int r = hk_parse_u64(s, &v);
	if (r < 0)
		return r;
	if (!neg && v > (uint64_t)LONG_MAX)
		return -ERANGE;
	if (neg && v > (uint64_t)LONG_MAX + 1)
		return -ERANGE;
	long x = neg ? (long)(0 - v) : (long)v;
	if (x < min || x > max)
		return -ERANGE;
	*out = x;
	return 0;
}

bool hk_path_is_clean_absolute(const char *s)
{
	if (!s || s[0] != '/')
		return false;
	if (s[1] == '\0')
		return true;
	const char *p = s + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* NULL-terminated string vectors -------------------------------------------- */

void hk_strv_add(char ***v, size_t *n, const char *s)
{
	*v = hk_xreallocarray(*v, *n + 2, sizeof(**v));
	(*v)[(*n)++] = hk_xstrdup(s);
	(*v)[*n] = NULL;
}

void hk_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char **hk_strv_dup(char *const *v, size_t n)
{
	char **out = NULL;
	size_t m = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		hk_strv_add(&out, &m, v[i]);
	if (!out)
		out = hk_xcalloc(1, sizeof(*out));
	return out;
}
