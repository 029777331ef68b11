/*
 * ghost.c - ghost bytes (ghost.h): deleted files still held open, counted
 * per registered directory from /proc/PID/fd.
 *
 * A count walks /proc once: for every process, every entry of its fd
 * directory is read with readlinkat; only a target that ends in
 * " (deleted)" is looked at further, with fstatat through the magic link
 * (the inode itself: a regular file with no link left). It belongs to a
 * root when the path it had starts with the root's directory (directly in
 * it, or below it when recursive) and it is on the root's device. An inode
 * open in several places counts once. The walk stops at its deadline
 * (HK_GHOST_BUDGET_NS) and says so; it never waits for anything but the
 * kernel's answers about /proc.
 *
 * What cannot be seen is said, not guessed: the fds of another uid's
 * process (or of one with more capabilities) need ptrace read access
 * (PTRACE_MODE_READ_FSCREDS: CAP_SYS_PTRACE); without it the process is
 * counted as unreadable (kernel threads, which hold no files, are not),
 * and a /proc mounted with hidepid=invisible hides such processes
 * altogether (hidden).
 *
 * The count runs on a thread of its own (struct hk_ghost), started by a
 * request (status, metrics) and never waited for on the loop: a request
 * gets the last count that ended, and whether a newer one is running.
 * The thread touches nothing but /proc, its own copy of the roots and,
 * under the mutex, the result it publishes.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ghost.h"
#include "log.h"
#include "util.h"

#define GHOST_SUFFIX " (deleted)"
#define GHOST_CAP_SYS_PTRACE 19

void hk_ghost_roots_free(struct hk_ghost_root *roots, size_t n)
{
	for (size_t i = 0; roots && i < n; i++) {
		free(roots[i].id);
		free(roots[i].path);
	}
	free(roots);
}

/* A root made ready for matching: its device and path length. */
struct ghost_root {
	const struct hk_ghost_root *r;
	size_t len;
	dev_t dev;
	bool ok;
};

/* One deleted inode seen open, for one root. */
struct ghost_seen {
	dev_t dev;
	ino_t ino;
	uint64_t size;
	size_t root;
};

static int ghost_seen_cmp(const void *a, const void *b)
{
	const struct ghost_seen *x = a, *y = b;
	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* Does the path a deleted file had (len bytes) lie where root looks? */
static bool ghost_under(const struct ghost_root *gr, const char *path, size_t len)
{
	size_t rl = gr->len;
	/* "/" as a root: every path; else the directory and a slash */
	if (rl == 1 && gr->r->path[0] == '/')
		rl = 0;
	if (len <= rl + 1 || memcmp(path, gr->r->path, rl) != 0 || path[rl] != '/')
		return false;
	return gr->r->recursive || memchr(path + rl + 1, '/', len - rl - 1) == NULL;
}

/* Is process pid (its /proc directory fd) a kernel thread? Its stat's
 * flags say so (PF_KTHREAD); such a process holds no files. */
static bool ghost_kthread(int pid_fd)
{
	char buf[512];
	int fd = openat(pid_fd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned flags = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return false;
	return (flags & 0x00200000u) != 0;
}

/* Does /proc hide processes we may not see? hidepid=invisible (or 2) on
 * the /proc we look at, and no CAP_SYS_PTRACE in our effective set. */
static bool ghost_hidden(void)
{
	bool hidepid = false, ptrace_cap = false;
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint ... - type source options */
		char mnt[256];
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || strcmp(mnt, "/proc") != 0)
			continue;
		const char *sep = strstr(line, " - ");
		hidepid = sep && (strstr(sep, "hidepid=invisible") || strstr(sep, "hidepid=2"));
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long eff;
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			ptrace_cap = (eff >> GHOST_CAP_SYS_PTRACE) & 1;
	}
	if (f)
		fclose(f);
	return hidepid && !ptrace_cap;
}

/* Every deleted file process pid_fd holds open that a root covers, added
 * to seen. Returns false when its fds could not be read. */
static bool ghost_process(int pid_fd, const struct ghost_root *grs, size_t n,
			  struct ghost_seen **seen, size_t *n_seen, size_t *cap_seen)
{
	int fd_dir = openat(pid_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_dir < 0)
		return errno == ENOENT || errno == ESRCH;   /* it ended: nothing held */
	DIR *d = fdopendir(fd_dir);
	if (!d) {
		close(fd_dir);
		return false;
	}
	bool ok = true;
	struct dirent *de;
	char target[4096 + sizeof(GHOST_SUFFIX)];
	const size_t suffix = sizeof(GHOST_SUFFIX) - 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ssize_t len = readlinkat(fd_dir, de->d_name, target, sizeof(target) - 1);
		if (len < 0) {
			if (errno == EACCES || errno == EPERM)
				ok = false;
			continue;
		}
		if ((size_t)len <= suffix || target[0] != '/' ||
		    memcmp(target + len - (ssize_t)suffix, GHOST_SUFFIX, suffix) != 0)
			continue;
		size_t plen = (size_t)len - suffix;
		struct stat st;
		if (fstatat(fd_dir, de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!grs[i].ok || st.st_dev != grs[i].dev || !ghost_under(&grs[i], target, plen))
				continue;
			if (*n_seen == *cap_seen) {
				*cap_seen = *cap_seen ? *cap_seen * 2 : 64;
				*seen = hk_xreallocarray(*seen, *cap_seen, sizeof(**seen));
			}
			(*seen)[(*n_seen)++] = (struct ghost_seen){ st.st_dev, st.st_ino,
								   (uint64_t)st.st_size, i };
		}
	}
	closedir(d);
	return ok;
}

void hk_ghost_count(const struct hk_ghost_root *roots, size_t n, int64_t budget_ns,
		    struct hk_ghost_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->counts = hk_xcalloc(n ? n : 1, sizeof(*out->counts));
	int64_t deadline = hk_time_mono_ns() + budget_ns;
	struct ghost_root *grs = hk_xcalloc(n ? n : 1, sizeof(*grs));
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		grs[i].r = &roots[i];
		grs[i].len = strlen(roots[i].path);
		while (grs[i].len > 1 && roots[i].path[grs[i].len - 1] == '/')
			grs[i].len--;
		grs[i].ok = roots[i].path[0] == '/' && stat(roots[i].path, &st) == 0;
		grs[i].dev = grs[i].ok ? st.st_dev : 0;
	}
	struct ghost_seen *seen = NULL;
	size_t n_seen = 0, cap_seen = 0;
	out->hidden = ghost_hidden();
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = proc_fd >= 0 ? fdopendir(proc_fd) : NULL;
	if (!d) {
		if (proc_fd >= 0)
			close(proc_fd);
		out->hidden = true;   /* nothing could be seen */
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (hk_time_mono_ns() > deadline) {
			out->cut_short = true;
			break;
		}
		int pid_fd = openat(proc_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pid_fd < 0)
			continue;   /* ended meanwhile */
		if (!ghost_process(pid_fd, grs, n, &seen, &n_seen, &cap_seen) &&
		    !ghost_kthread(pid_fd))
			out->unreadable++;
		close(pid_fd);
	}
	closedir(d);
out:
	if (n_seen)
		qsort(seen, n_seen, sizeof(*seen), ghost_seen_cmp);
	for (size_t i = 0; i < n_seen; i++) {
		if (i && ghost_seen_cmp(&seen[i - 1], &seen[i]) == 0)
			continue;
		out->counts[seen[i].root].bytes += seen[i].size;
		out->counts[seen[i].root].files++;
	}
	free(seen);
	free(grs);
}

/* The kept result and its thread ------------------------------------------ */

struct hk_ghost {
	pthread_mutex_t mu;
	bool running;              /* a thread counts (joined by the next start) */
	bool started;              /* thread is joinable */
	pthread_t thread;
	int64_t done_mono;         /* when the last count ended (0: none yet) */
	/* the last count: roots[i] and scan.counts[i] */
	struct hk_ghost_root *roots;
	size_t n;
	struct hk_ghost_scan scan;
	int64_t at_ns;
	/* the count in progress (the thread's alone until it publishes) */
	struct hk_ghost_root *next_roots;
	size_t next_n;
};

struct hk_ghost *hk_ghost_new(void)
{
	struct hk_ghost *g = hk_xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	return g;
}

void hk_ghost_free(struct hk_ghost *g)
{
	if (!g)
		return;
	if (g->started)
		pthread_join(g->thread, NULL);
	hk_ghost_roots_free(g->roots, g->n);
	free(g->scan.counts);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void *ghost_thread(void *arg)
{
	struct hk_ghost *g = arg;
	struct hk_ghost_scan scan;
	hk_ghost_count(g->next_roots, g->next_n, HK_GHOST_BUDGET_NS, &scan);
	if (scan.cut_short)
		log_info("ghost", "counting deleted files held open stopped at its deadline "
			 "(%lld ms): the counts are partial", HK_GHOST_BUDGET_NS / 1000000LL);
	pthread_mutex_lock(&g->mu);
	hk_ghost_roots_free(g->roots, g->n);
	free(g->scan.counts);
	g->roots = g->next_roots;
	g->n = g->next_n;
	g->scan = scan;
	g->next_roots = NULL;
	g->next_n = 0;
	g->at_ns = hk_time_now_ns();
	g->done_mono = hk_time_mono_ns();
	g->running = false;
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

void hk_ghost_refresh(struct hk_ghost *g, struct hk_ghost_root *roots, size_t n)
{
	/* only the caller's thread starts counts: running goes false on the
	 * counting thread, true only here */
	pthread_mutex_lock(&g->mu);
	bool busy = g->running ||
		    (g->done_mono && hk_time_mono_ns() - g->done_mono < HK_GHOST_FRESH_NS);
	if (!busy)
		g->running = true;
	pthread_mutex_unlock(&g->mu);
	if (busy) {
		hk_ghost_roots_free(roots, n);
		return;
	}
	if (g->started) {
		pthread_join(g->thread, NULL);   /* it has published: it ends now */
		g->started = false;
	}
	g->next_roots = roots;
	g->next_n = n;
	int r = pthread_create(&g->thread, NULL, ghost_thread, g);
	if (r != 0) {
		log_warnx("ghost", "cannot start counting deleted files held open: %s",
			  strerror(r));
		pthread_mutex_lock(&g->mu);
		g->running = false;
		pthread_mutex_unlock(&g->mu);
		hk_ghost_roots_free(roots, n);
		g->next_roots = NULL;
		g->next_n = 0;
		return;
	}
	g->started = true;
}

void hk_ghost_get(struct hk_ghost *g, const char *id, struct hk_ghost_view *v)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&g->mu);
	v->pending = g->running;
	for (size_t i = 0; i < g->n; i++) {
		if (strcmp(g->roots[i].id, id) != 0)
			continue;
		v->known = true;
		v->bytes = g->scan.counts[i].bytes;
		v->files = g->scan.counts[i].files;
		v->incomplete = g->scan.cut_short || g->scan.unreadable || g->scan.hidden;
		v->at_ns = g->at_ns;
		break;
	}
	pthread_mutex_unlock(&g->mu);
}
