/*
 * locks.c - the set of locked files, from /proc/locks (locks.h).
 *
 * A line of /proc/locks (fs/locks.c, lock_get_status) reads
 *   "1: FLOCK  ADVISORY  WRITE 1234 08:02:1311 0 EOF"
 *   "2: -> POSIX  ADVISORY  WRITE 1240 00:2e:77 0 EOF"   (a blocked waiter)
 *   "3: LEASE  ACTIVE    READ 1250 00:2e:78"
 *   "4: POSIX  ADVISORY  READ 1260 <none>:0 0 EOF"     (no inode)
 * The file is MAJOR:MINOR:INODE of its superblock's device, major and minor
 * printed with %02x (so wider when they need it), the inode with %lu. The
 * set keeps (dev, ino) for every line that names an inode, sorted by inode.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "locks.h"
#include "log.h"
#include "util.h"

/* The inode number of the initial PID namespace (the kernel's
 * PROC_PID_INIT_INO), as /proc/self/ns/pid shows it. */
#define LOCKS_INIT_PID_NS_INO 0xEFFFFFFCULL
/* A /proc/locks larger than this is not read: the per-file check is used. */
#define LOCKS_MAX_TEXT (64u << 20)

struct locks_ent {
	uint64_t ino;
	uint64_t dev;
};

struct hk_locks {
	struct locks_ent *ents;
	size_t n;
};

static bool locks_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse n hex (or decimal) digits of [p, end) into *v; false on an empty
 * field, another byte, or overflow of max. */
static bool locks_num(const char *p, const char *end, unsigned base, uint64_t max,
		      uint64_t *v)
{
	uint64_t x = 0;
	if (p == end)
		return false;
	for (; p < end; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a') + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A') + 10;
		else
			return false;
		if (x > (max - d) / base)
			return false;
		x = x * base + d;
	}
	*v = x;
	return true;
}

/* MAJ:MIN:INO in [p, end)? */
static bool locks_file_token(const char *p, const char *end, struct locks_ent *e)
{
	const char *c1 = memchr(p, ':', (size_t)(end - p));
	if (!c1)
		return false;
	const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || memchr(c2 + 1, ':', (size_t)(end - c2 - 1)))
		return false;
	uint64_t maj, min;
	if (!locks_num(p, c1, 16, UINT32_MAX, &maj) || !locks_num(c1 + 1, c2, 16, UINT32_MAX, &min) ||
	    !locks_num(c2 + 1, end, 10, UINT64_MAX, &e->ino))
		return false;
	e->dev = maj << 32 | min;
	return true;
}

/* One line [p, end): 1 with *e, 0 for a line naming no inode (or blank),
 * -EINVAL for anything else. */
static int locks_line(const char *p, const char *end, struct locks_ent *e)
{
	bool first = true, none = false;
	while (p < end) {
		while (p < end && locks_space(*p))
			p++;
		const char *t = p;
		while (p < end && !locks_space(*p))
			p++;
		if (t == p)
			break;
		if (first) {
			/* the lock's number: "N:" */
			uint64_t id;
			if (p - t < 2 || p[-1] != ':' || !locks_num(t, p - 1, 10, UINT64_MAX, &id))
				return -EINVAL;
			first = false;
			continue;
		}
		if (locks_file_token(t, p, e))
			return 1;
		if ((size_t)(p - t) >= 6 && memcmp(t, "<none>", 6) == 0)
			none = true;
	}
	if (first || none)
		return 0;   /* blank, or a lock without an inode */
	return -EINVAL;
}

static int locks_cmp(const void *a, const void *b)
{
	const struct locks_ent *x = a, *y = b;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return 0;
}

int hk_locks_parse(const char *text, size_t len, struct hk_locks **out)
{
	struct hk_locks *l = hk_xcalloc(1, sizeof(*l));
	size_t cap = 0;
	const char *p = text, *end = text + len;
	*out = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		struct locks_ent e;
		int r = locks_line(p, eol, &e);
		if (r < 0) {
			hk_locks_free(l);
			return r;
		}
		if (r > 0) {
			if (l->n == cap) {
				cap = cap ? cap * 2 : 16;
				l->ents = hk_xreallocarray(l->ents, cap, sizeof(*l->ents));
			}
			l->ents[l->n++] = e;
		}
		p = nl ? nl + 1 : end;
	}
	if (l->n > 1)
		qsort(l->ents, l->n, sizeof(*l->ents), locks_cmp);
	*out = l;
	return 0;
}

/* Is this process's /proc that of the initial PID namespace? Asked once. */
static bool locks_proc_complete(void)
{
	static _Atomic int known;   /* 0: not asked, 1: yes, -1: no */
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	if (k == 0) {
		struct stat st;
		k = stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == LOCKS_INIT_PID_NS_INO ? 1
											    : -1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k > 0;
}

/* Say once per process why the lock set is not used. */
static void locks_unknown(const char *why, int err)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&said))
		return;
	log_notice("reap", "no lock set from /proc/locks (%s%s%s): each file is opened to "
		   "check its locks before deletion (slower)", why, err ? ": " : "",
		   err ? hk_strerror(err) : "");
}

struct hk_locks *hk_locks_read(void)
{
	struct hk_locks *l = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 16384;
	if (!locks_proc_complete()) {
		locks_unknown("/proc is not that of the initial PID namespace", 0);
		return NULL;
	}
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		locks_unknown("cannot open it", -errno);
		return NULL;
	}
	buf = hk_xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap >= LOCKS_MAX_TEXT) {
				locks_unknown("larger than 64 MiB", 0);
				goto out;
			}
			cap *= 2;
			buf = hk_xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			locks_unknown("cannot read it", -errno);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (hk_locks_parse(buf, len, &l) < 0) {
		locks_unknown("a line of an unknown shape", 0);
		l = NULL;
	}
out:
	close(fd);
	free(buf);
	return l;
}

bool hk_locks_has(const struct hk_locks *l, uint64_t dev, uint64_t ino)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->ents[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->n && l->ents[lo].ino == ino; lo++)
		if (dev == 0 || l->ents[lo].dev == dev)
			return true;
	return false;
}

int hk_locks_mountinfo_dev(const char *text, size_t len, uint64_t mnt_id, uint64_t *dev)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[128];
		unsigned long long id = 0, parent = 0;
		unsigned major = 0, minor = 0;
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1),
			 p);
		if (sscanf(line, "%llu %llu %u:%u ", &id, &parent, &major, &minor) == 4 &&
		    id == mnt_id) {
			*dev = (uint64_t)major << 32 | minor;
			return 0;
		}
		p = nl ? nl + 1 : end;
	}
	return -ENOENT;
}

uint64_t hk_locks_mount_dev(uint64_t mnt_id)
{
	uint64_t dev = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (mnt_id == 0)
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	struct hk_buf b = { 0 };
	char chunk[8192];
	size_t r;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hk_buf_append(&b, chunk, r);
	fclose(f);
	buf = b.data;
	len = b.len;
	if (!buf || hk_locks_mountinfo_dev(buf, len, mnt_id, &dev) < 0)
		dev = 0;
	hk_buf_fini(&b);
	return dev;
}

size_t hk_locks_count(const struct hk_locks *l)
{
	return l->n;
}

void hk_locks_entry(const struct hk_locks *l, size_t i, uint64_t *dev, uint64_t *ino)
{
	*dev = l->ents[i].dev;
	*ino = l->ents[i].ino;
}

void hk_locks_free(struct hk_locks *l)
{
	if (!l)
		return;
	free(l->ents);
	free(l);
}
