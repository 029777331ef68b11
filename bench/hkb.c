/*
 * hkb.c - the benchmark's own tools, one binary with subcommands (built by
 * bench/run.sh with cc -O2 -pthread into a temp dir; never part of make).
 *
 *   hkb now                          CLOCK_MONOTONIC in ns
 *   hkb spawnlog OUT PIDFILE CMD...  run CMD with stdout+stderr into a pipe;
 *                                    OUT gets "ns START" then "ns line" per line
 *   hkb waitlog OUT PATTERN SECS     wait for a line of OUT containing PATTERN,
 *                                    print its ns stamp (exit 1 on timeout)
 *   hkb time CMD...                  run CMD, print "wall_ns user_ns sys_ns rc" on stderr
 *   hkb mktree DIR N [SIZE] [NSUB]   N files f%08u of SIZE bytes (default 64),
 *                                    spread over NSUB subdirs d%04u if NSUB > 0
 *   hkb unlink DIR N [NSUB]          the floor: unlinkat over the known names
 *   hkb walk DIR                     the floor of indexing: getdents64 +
 *                                    fstatat(AT_SYMLINK_NOFOLLOW), recursive;
 *                                    prints the number of regular files
 *   hkb count DIR                    entries in DIR (getdents64, no stat)
 *   hkb sweepfloor DIR SECS [THREADS] the floor of a SPEC 7 sweep: getdents64,
 *                                    statx of each name; each regular file
 *                                    older than SECS renamed aside
 *                                    (renameat2 NOREPLACE), statx checked
 *                                    against the first, unlinkat; /proc/locks
 *                                    read per 256; one directory; each
 *                                    getdents buffer's names shared out over
 *                                    THREADS threads (default 1)
 *   hkb churn DIR N MAX MODE [SECS [RATE [WATCH_MS]]]   (SECS 0: N files, no time bound)
 *                                    writer creating N small files as fast as
 *                                    it can (or RATE files/s); MODE self = the ideal writer that
 *                                    unlinks its own file i-MAX after creating
 *                                    file i; MODE none = leaves it to a daemon;
 *                                    MODE floor = to the floor cleaner: a child
 *                                    process doing what any SPEC 7 cleaner must
 *                                    and nothing else (inotify, a statx of each
 *                                    new name, per excess file renameat2 aside,
 *                                    statx, unlinkat; /proc/locks read per 256)
 *                                    with no index, store, audit or log;
 *                                    MODE rawfloor = to a cleaner that only
 *                                    unlinks each excess name as inotify
 *                                    reports it (no statx, rename or lock
 *                                    set): the floor of any cleaner.
 *                                    A sampler thread counts entries with
 *                                    getdents64 every ~10 ms; a watcher thread
 *                                    reads inotify IN_CREATE/IN_DELETE and
 *                                    timestamps (CLOCK_MONOTONIC) the delete
 *                                    of file i-MAX against the create of
 *                                    file i (the create that broke the limit).
 *   hkb ctlprobe SOCK SECONDS INTERVAL
 *                                    latency of `status` on the control socket
 *                                    (raw protocol: 4-byte length + JSON), two
 *                                    threads at once: "conn" opens one
 *                                    connection per request (as housekeeperctl
 *                                    does), "persist" keeps one connection.
 *                                    Each sends a request every INTERVAL
 *                                    seconds, for SECONDS or until SIGTERM /
 *                                    SIGINT (the time of the signal ends the
 *                                    schedule). No client timeout (600 s cap).
 *                                    One request at a time per mode; "raw_"
 *                                    percentiles are of the measured ones, the
 *                                    others add the requests that the slots
 *                                    a long wait covered would have made
 *                                    (HdrHistogram's correction for coordinated
 *                                    omission: a wait of L adds L-INTERVAL,
 *                                    L-2*INTERVAL, ...), so a stall weighs its
 *                                    length. Prints per mode: mode= n=
 *                                    n_corrected= err= p50_ms= p99_ms= max_ms=
 *                                    raw_p50_ms= raw_p99_ms= raw_max_ms= (err:
 *                                    refused, not ok, broken or no answer in
 *                                    600 s).
 *   hkb floorserv SOCK BYTES         the floor of a control request: a
 *                                    single-threaded poll(2) server on SOCK
 *                                    that answers every framed request at once
 *                                    with a canned ok reply of BYTES bytes
 *                                    (about a real status reply), until
 *                                    SIGTERM. Probed beside the daemon, it
 *                                    shows what the machine's scheduling alone
 *                                    costs a request under the same load.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

struct d64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

/* count entries of an open directory fd (rewinds it) */
static long count_fd(int fd, char *buf, size_t sz)
{
	long c = 0;
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sz);
		if (n <= 0)
			return n < 0 ? -1 : c;
		for (long p = 0; p < n;) {
			struct d64 *d = (struct d64 *)(buf + p);
			if (!is_dot(d->name))
				c++;
			p += d->reclen;
		}
	}
}

/* ---- spawnlog / waitlog / time ---------------------------------------- */

static int cmd_spawnlog(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	FILE *out = fopen(argv[1], "w");
	if (!out)
		die(argv[1]);
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	fprintf(out, "%lld START\n", (long long)now_ns());
	fflush(out);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	FILE *pf = fopen(argv[2], "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)pid);
		fclose(pf);
	}
	close(p[1]);
	signal(SIGTERM, SIG_IGN);   /* we end when the child closes the pipe */
	FILE *in = fdopen(p[0], "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0) {
		fprintf(out, "%lld %s", (long long)now_ns(), line);
		if (line[n - 1] != '\n')
			fputc('\n', out);
		fflush(out);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}

static int cmd_waitlog(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int64_t deadline = now_ns() + (int64_t)(atof(argv[3]) * 1e9);
	char *line = NULL;
	size_t cap = 0;
	long pos = 0;
	for (;;) {
		FILE *f = fopen(argv[1], "r");
		if (f) {
			fseek(f, pos, SEEK_SET);
			ssize_t n;
			while ((n = getline(&line, &cap, f)) > 0) {
				if (line[n - 1] != '\n')
					break;   /* partial line: read it again next time */
				pos += n;
				if (strstr(line, argv[2])) {
					printf("%lld\n", atoll(line));
					return 0;
				}
			}
			fclose(f);
		}
		if (now_ns() > deadline)
			return 1;
		usleep(2000);
	}
}

static int cmd_time(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		die("wait4");
	int64_t t1 = now_ns();
	fprintf(stderr, "%lld %lld %lld %d\n", (long long)(t1 - t0),
	       (long long)ru.ru_utime.tv_sec * 1000000000LL + ru.ru_utime.tv_usec * 1000LL,
	       (long long)ru.ru_stime.tv_sec * 1000000000LL + ru.ru_stime.tv_usec * 1000LL,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

/* ---- trees --------------------------------------------------------------- */

static int open_sub(int root, unsigned nsub, unsigned i, int *subs)
{
	if (nsub == 0)
		return root;
	return subs[i % nsub];
}

static int *open_subs(int root, unsigned nsub, int create)
{
	int *subs = calloc(nsub ? nsub : 1, sizeof(int));
	for (unsigned s = 0; s < nsub; s++) {
		char n[32];
		snprintf(n, sizeof(n), "d%04u", s);
		if (create && mkdirat(root, n, 0755) < 0 && errno != EEXIST)
			die("mkdirat");
		subs[s] = openat(root, n, O_RDONLY | O_DIRECTORY);
		if (subs[s] < 0)
			die(n);
	}
	return subs;
}

static int cmd_mktree(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	unsigned n = strtoul(argv[2], NULL, 10);
	size_t size = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
	unsigned nsub = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
	mkdir(argv[1], 0755);
	int root = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (root < 0)
		die(argv[1]);
	int *subs = open_subs(root, nsub, 1);
	char *data = malloc(size + 1);
	memset(data, 'x', size);
	for (unsigned i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%08u", i);
		int fd = openat(open_sub(root, nsub, i, subs), name,
				O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die(name);
		if (size && write(fd, data, size) != (ssize_t)size)
			die("write");
		close(fd);
	}
	return 0;
}

static int cmd_unlink(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	unsigned n = strtoul(argv[2], NULL, 10);
	unsigned nsub = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	int root = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (root < 0)
		die(argv[1]);
	int *subs = open_subs(root, nsub, 0);
	unsigned fails = 0;
	for (unsigned i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%08u", i);
		if (unlinkat(open_sub(root, nsub, i, subs), name, 0) < 0)
			fails++;
	}
	if (fails)
		fprintf(stderr, "hkb unlink: %u failures\n", fails);
	return fails != 0;
}

static void floor_read_locks(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* One thread's share of a getdents buffer's names (every THREADS-th). */
struct sweep_part {
	int dfd;
	int64_t cutoff;
	char (*names)[256];
	size_t n, first, step;
	unsigned long deleted, kept;
};

static void *sweep_part_run(void *arg)
{
	struct sweep_part *p = arg;
	for (size_t i = p->first; i < p->n; i += p->step) {
		struct statx a, b;
		if (statx(p->dfd, p->names[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &a) < 0 ||
		    !S_ISREG(a.stx_mode) || a.stx_mtime.tv_sec >= p->cutoff) {
			p->kept++;
			continue;
		}
		if (p->deleted % 256 == 0)
			floor_read_locks();
		char aside[32];
		snprintf(aside, sizeof(aside), ".floor-%08x%02zx", (unsigned)random(), p->first);
		if (syscall(SYS_renameat2, p->dfd, p->names[i], p->dfd, aside, 1 /* RENAME_NOREPLACE */) < 0)
			continue;
		if (statx(p->dfd, aside, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &b) == 0 &&
		    b.stx_ino == a.stx_ino && b.stx_size == a.stx_size &&
		    b.stx_mtime.tv_sec == a.stx_mtime.tv_sec &&
		    b.stx_mtime.tv_nsec == a.stx_mtime.tv_nsec && unlinkat(p->dfd, aside, 0) == 0)
			p->deleted++;
		else
			syscall(SYS_renameat2, p->dfd, aside, p->dfd, p->names[i], 1);
	}
	return NULL;
}

#define SWEEP_MAX_THREADS 16

static int cmd_sweepfloor(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int64_t cutoff = (int64_t)time(NULL) - atoll(argv[2]);
	size_t threads = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	if (threads < 1 || threads > SWEEP_MAX_THREADS)
		die("sweepfloor: THREADS");
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(argv[1]);
	static char buf[256 * 1024];
	unsigned long deleted = 0, kept = 0;
	char (*names)[256] = NULL;   /* a getdents buffer's names, then their deletions */
	size_t cap = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (n < 0)
			die("getdents64");
		if (n == 0)
			break;
		size_t k = 0;
		for (long p = 0; p < n;) {
			struct d64 *d = (struct d64 *)(buf + p);
			p += d->reclen;
			if (is_dot(d->name))
				continue;
			if (k == cap) {
				cap = cap ? 2 * cap : 4096;
				names = realloc(names, cap * sizeof(*names));
				if (!names)
					die("realloc");
			}
			snprintf(names[k++], sizeof(names[0]), "%s", d->name);
		}
		/* the buffer's names shared out, the caller taking the first part */
		struct sweep_part part[SWEEP_MAX_THREADS];
		pthread_t tid[SWEEP_MAX_THREADS];
		for (size_t t = 0; t < threads; t++) {
			part[t] = (struct sweep_part){ dfd, cutoff, names, k, t, threads, 0, 0 };
			if (t > 0 && pthread_create(&tid[t], NULL, sweep_part_run, &part[t]) != 0)
				die("pthread_create");
		}
		sweep_part_run(&part[0]);
		for (size_t t = 0; t < threads; t++) {
			if (t > 0)
				pthread_join(tid[t], NULL);
			deleted += part[t].deleted;
			kept += part[t].kept;
		}
	}
	printf("deleted=%lu kept=%lu\n", deleted, kept);
	return 0;
}

static long walk_dir(int fd, char *buf, size_t sz)
{
	long files = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sz);
		if (n < 0)
			die("getdents64");
		if (n == 0)
			break;
		/* copy out subdirectory names before recursing (buf is reused) */
		char **subs = NULL;
		size_t ns = 0;
		for (long p = 0; p < n;) {
			struct d64 *d = (struct d64 *)(buf + p);
			p += d->reclen;
			if (is_dot(d->name))
				continue;
			struct stat st;
			if (fstatat(fd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (S_ISREG(st.st_mode)) {
				files++;
			} else if (S_ISDIR(st.st_mode)) {
				subs = realloc(subs, (ns + 1) * sizeof(*subs));
				subs[ns++] = strdup(d->name);
			}
		}
		for (size_t i = 0; i < ns; i++) {
			int sfd = openat(fd, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (sfd >= 0) {
				char *b2 = malloc(sz);
				files += walk_dir(sfd, b2, sz);
				free(b2);
				close(sfd);
			}
			free(subs[i]);
		}
		free(subs);
	}
	return files;
}

static int cmd_walk(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die(argv[1]);
	static char buf[64 * 1024];
	printf("%ld\n", walk_dir(fd, buf, sizeof(buf)));
	return 0;
}

static int cmd_count(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die(argv[1]);
	static char buf[64 * 1024];
	printf("%ld\n", count_fd(fd, buf, sizeof(buf)));
	return 0;
}

/* ---- churn --------------------------------------------------------------- */

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	nanosleep(&ts, NULL);
}

static struct {
	const char *dir;
	unsigned n, max;
	int64_t *t_create;          /* per file: after its open(O_CREAT) returned */
	int64_t *lat;               /* per excess file: delete of i-MAX - create of i */
	_Atomic long ev_count;      /* entries per the event stream */
	long ev_max;
	atomic_long sample_max;
	atomic_int stop_sampler, stop_watcher;
	atomic_int arm_back;        /* the writer has stopped */
	atomic_llong t_back;        /* then: when the event count came back to MAX */
	long overflows, nlat, samples;
	int ifd;
	int64_t watch_ns;           /* the watcher reads events at most this often (0: at once) */
} C;

static void *sampler(void *arg)
{
	int fd = open(C.dir, O_RDONLY | O_DIRECTORY);
	static char buf[256 * 1024];
	while (!atomic_load(&C.stop_sampler)) {
		int64_t t0 = now_ns();
		long c = count_fd(fd, buf, sizeof(buf));
		int64_t pass = now_ns() - t0;
		if (c > atomic_load(&C.sample_max))
			atomic_store(&C.sample_max, c);
		C.samples++;
		/* every 10 ms, and at most a tenth of the time: a getdents pass
		 * holds the directory's lock (shared) for its length, which the
		 * writer's creates and the cleaner's unlinks wait for; over
		 * 100k entries on tmpfs one pass takes ~50 ms */
		sleep_ns(pass * 9 > 10000000 ? pass * 9 : 10000000);
	}
	close(fd);
	return NULL;
}

static long parse_seq(const char *name)
{
	if (name[0] != 'f')
		return -1;
	char *end;
	long v = strtol(name + 1, &end, 10);
	return *end ? -1 : v;
}

static void *watcher(void *arg)
{
	static char buf[256 * 1024] __attribute__((aligned(8)));
	struct pollfd pfd = { C.ifd, POLLIN, 0 };
	for (;;) {
		int r = poll(&pfd, 1, 20);
		if (r == 0) {
			if (atomic_load(&C.stop_watcher))
				break;
			continue;
		}
		/* the measurement's own cost: a read per event burst woke this
		 * thread ~3,000 times a second under the flat-out writer, and
		 * each wake-up preempted the cleaner being measured (perf
		 * sched_switch: 11k preemptions of the daemon's loop in 4 s, all
		 * by this thread); reading every C.watch_ns at most makes them a
		 * few hundred (the queue holds 16,384 events, ~50 ms of churn) */
		if (C.watch_ns)
			sleep_ns(C.watch_ns);
		ssize_t n = read(C.ifd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		int64_t t = now_ns();
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				C.overflows++;
				continue;
			}
			/* only the writer's names count: housekeeperd renames a
			 * file aside (IN_MOVED_FROM of the name) right before its
			 * unlink, and that private name is not an entry of ours */
			long j = ev->len ? parse_seq(ev->name) : -1;
			if (j < 0)
				continue;
			if (ev->mask & IN_CREATE) {
				long c = ++C.ev_count;
				if (c > C.ev_max)
					C.ev_max = c;
			} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				if (--C.ev_count <= (long)C.max && atomic_load(&C.arm_back)) {
					long long zero = 0;
					atomic_compare_exchange_strong(&C.t_back, &zero, t);
				}
				long i = j + C.max;
				if (i < (long)C.n && C.t_create[i]) {
					int64_t l = t - C.t_create[i];
					C.lat[C.nlat++] = l < 0 ? 0 : l;
				}
			}
		}
	}
	return NULL;
}

/* The floor cleaner (MODE floor): the least work a cleaner that keeps the
 * limit as events arrive and re-checks each file as SPEC 7 asks can do per
 * file, so that the daemon's churn numbers have the floor of the protocol
 * on this machine beside them. With protocol false (MODE rawfloor) it only
 * unlinks each excess name, with no statx, rename or lock set: the floor of
 * any cleaner at all, the physical one. Files are the writer's f%08u,
 * created in order: the oldest is the lowest number seen and not yet
 * deleted. */
struct floor_file {
	uint64_t ino, size;
	int64_t mtime_s;
	uint32_t mtime_ns;
};

static void floor_cleaner(const char *dir, unsigned n, unsigned max, bool protocol, int ready_fd)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (dfd < 0 || ifd < 0 ||
	    inotify_add_watch(ifd, dir, IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				       IN_DELETE | IN_ATTRIB) < 0)
		die("floor: inotify");
	struct floor_file *files = calloc(n, sizeof(*files));
	unsigned char *have = calloc(n, 1);
	if (!files || !have)
		die("floor: calloc");
	static char buf[64 * 1024] __attribute__((aligned(8)));
	long count = 0, deleted = 0;
	unsigned oldest = 0, next = 0;   /* next: the lowest number not seen created yet */
	if (write(ready_fd, "r", 1) != 1)
		die("floor: ready");
	close(ready_fd);
	for (;;) {
		/* every event queued, then a batch of at most 256 deletions (each
		 * adds three events of its own: reading between batches keeps
		 * the queue from overflowing, as the daemon does) */
		struct pollfd pfd = { ifd, POLLIN, 0 };
		if (count <= (long)max && poll(&pfd, 1, -1) < 0)
			continue;
		ssize_t len;
		while ((len = read(ifd, buf, sizeof(buf))) > 0) {
			for (char *p = buf; p < buf + len;) {
				struct inotify_event *ev = (struct inotify_event *)p;
				p += sizeof(*ev) + ev->len;
				long j = ev->len ? parse_seq(ev->name) : -1;
				/* an overflow lost events: every name the writer has
				 * made since the last one seen (it makes them in order) */
				if (ev->mask & IN_Q_OVERFLOW)
					j = (long)n - 1;
				if (j < (long)next || j >= (long)n ||
				    !(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_Q_OVERFLOW)))
					continue;
				/* the names up to j (any an overflow lost) */
				for (; next <= (unsigned)j; next++) {
					if (!protocol) {
						have[next] = 1;
						count++;
						continue;
					}
					struct statx sx;
					char name[32];
					snprintf(name, sizeof(name), "f%08u", next);
					if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0) {
						if (ev->mask & IN_Q_OVERFLOW)
							break;   /* not made yet: its event will come */
						continue;
					}
					files[next] = (struct floor_file){ sx.stx_ino, sx.stx_size,
									   sx.stx_mtime.tv_sec,
									   sx.stx_mtime.tv_nsec };
					have[next] = 1;
					count++;
				}
			}
		}
		for (int b = 0; b < 256 && count > (long)max; b++) {
			while (oldest < n && have[oldest] != 1)
				oldest++;
			if (oldest >= n)
				break;
			char name[32], aside[32];
			snprintf(name, sizeof(name), "f%08u", oldest);
			have[oldest] = 2;
			count--;
			deleted++;
			if (!protocol) {
				unlinkat(dfd, name, 0);
				continue;
			}
			if (deleted % 256 == 1)
				floor_read_locks();
			snprintf(aside, sizeof(aside), ".floor-%08x", (unsigned)random());
			if (syscall(SYS_renameat2, dfd, name, dfd, aside, 1 /* RENAME_NOREPLACE */) < 0)
				continue;
			struct statx sx;
			const struct floor_file *f = &files[oldest];
			if (statx(dfd, aside, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
			    S_ISREG(sx.stx_mode) && sx.stx_ino == f->ino && sx.stx_size == f->size &&
			    sx.stx_mtime.tv_sec == f->mtime_s && sx.stx_mtime.tv_nsec == f->mtime_ns)
				unlinkat(dfd, aside, 0);
			else if (syscall(SYS_renameat2, dfd, aside, dfd, name, 1) == 0) {
				/* changed since its statx (written after the create):
				 * re-evaluated with what it is now */
				files[oldest] = (struct floor_file){ sx.stx_ino, sx.stx_size,
								     sx.stx_mtime.tv_sec,
								     sx.stx_mtime.tv_nsec };
				have[oldest] = 1;
				count++;
				deleted--;
				break;
			}
		}
	}
}

static pid_t floor_start(const char *dir, unsigned n, unsigned max, bool protocol)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		floor_cleaner(dir, n, max, protocol, pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	char c;
	if (read(pfd[0], &c, 1) != 1)
		die("floor: not ready");
	close(pfd[0]);
	return pid;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmd_churn(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	C.dir = argv[1];
	C.n = strtoul(argv[2], NULL, 10);
	C.max = strtoul(argv[3], NULL, 10);
	int self = strcmp(argv[4], "self") == 0;
	int floor = strcmp(argv[4], "floor") == 0, rawfloor = strcmp(argv[4], "rawfloor") == 0;
	double secs = argc > 5 ? atof(argv[5]) : 0;
	/* files per second; 0 = as fast as possible */
	double rate = argc > 6 ? atof(argv[6]) : 0;
	/* WATCH_MS: the watcher's read interval (deletion latencies are then
	 * timed to about it) */
	C.watch_ns = argc > 7 ? (int64_t)(atof(argv[7]) * 1e6) : 0;
	if (secs > 0 && C.n > 4000000)
		C.n = 4000000;   /* a time-bounded run: room for 4M files */
	C.t_create = calloc(C.n, sizeof(int64_t));
	C.lat = calloc(C.n, sizeof(int64_t));
	int dfd = open(C.dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(C.dir);
	C.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (C.ifd < 0 || inotify_add_watch(C.ifd, C.dir, IN_CREATE | IN_DELETE | IN_MOVED_FROM) < 0)
		die("inotify");
	static char cbuf[256 * 1024];
	C.ev_count = count_fd(dfd, cbuf, sizeof(cbuf));
	pid_t floor_pid = floor || rawfloor ? floor_start(C.dir, C.n, C.max, floor) : 0;
	pthread_t ts, tw;
	pthread_create(&ts, NULL, sampler, NULL);
	pthread_create(&tw, NULL, watcher, NULL);
	static const char data[64] = "churn churn churn churn churn churn churn churn churn churn ch\n";

	int64_t t0 = now_ns();
	int64_t stop_at = secs > 0 ? t0 + (int64_t)(secs * 1e9) : INT64_MAX;
	unsigned created = 0;
	for (unsigned i = 0; i < C.n; i++) {
		if ((i & 255) == 0 && now_ns() >= stop_at)
			break;
		if (rate > 0 && (i & 7) == 0) {
			/* paced: file i is due at t0 + i/rate */
			int64_t due = t0 + (int64_t)(i / rate * 1e9), t = now_ns();
			if (due > t) {
				struct timespec ts = { (due - t) / 1000000000, (due - t) % 1000000000 };
				nanosleep(&ts, NULL);
			}
		}
		created = i + 1;
		char name[32];
		snprintf(name, sizeof(name), "f%08u", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			die(name);
		C.t_create[i] = now_ns();
		if (write(fd, data, sizeof(data)) != sizeof(data))
			die("write");
		close(fd);
		if (self && i >= C.max) {
			snprintf(name, sizeof(name), "f%08u", i - C.max);
			if (unlinkat(dfd, name, 0) < 0)
				die("unlinkat");
		}
	}
	int64_t t1 = now_ns();
	atomic_store(&C.arm_back, 1);
	if (C.ev_count <= (long)C.max) {
		long long zero = 0;
		atomic_compare_exchange_strong(&C.t_back, &zero, t1);
	}
	/* let the daemon (or nobody) bring the directory back to MAX: the
	 * watcher's exact count says when, getdents confirms (a getdents
	 * poll of a large directory would hold its lock most of the time and
	 * slow the very deletions it waits for); t2 is when the watcher
	 * counted the limit back */
	int64_t drain_deadline = t1 + 10000000000LL;
	long left = -1;
	int64_t t2;
	for (;;) {
		while ((t2 = atomic_load(&C.t_back)) == 0 && now_ns() < drain_deadline)
			usleep(200);
		if (t2 == 0)
			t2 = now_ns();
		int64_t p0 = now_ns();
		left = count_fd(dfd, cbuf, sizeof(cbuf));
		if (left <= (long)C.max || now_ns() >= drain_deadline) {
			if (left > (long)C.max)
				t2 = now_ns();
			break;
		}
		/* the event count disagrees (the watcher's queue overflowed):
		 * poll, a tenth of the time */
		atomic_store(&C.t_back, 0);
		atomic_store(&C.arm_back, 1);
		sleep_ns((now_ns() - p0) * 9 > 1000000 ? (now_ns() - p0) * 9 : 1000000);
		if (count_fd(dfd, cbuf, sizeof(cbuf)) <= (long)C.max) {
			t2 = now_ns();
			left = C.max;
			break;
		}
	}
	if (t2 < t1)
		t2 = t1;
	usleep(50000);   /* last inotify events */
	atomic_store(&C.stop_sampler, 1);
	atomic_store(&C.stop_watcher, 1);
	pthread_join(ts, NULL);
	pthread_join(tw, NULL);
	if (floor_pid) {
		kill(floor_pid, SIGKILL);
		waitpid(floor_pid, NULL, 0);
	}

	qsort(C.lat, C.nlat, sizeof(int64_t), cmp64);
	double p50 = C.nlat ? C.lat[C.nlat / 2] / 1e3 : -1;
	double p99 = C.nlat ? C.lat[(long)(C.nlat * 0.99)] / 1e3 : -1;
	double pmax = C.nlat ? C.lat[C.nlat - 1] / 1e3 : -1;
	printf("created=%u elapsed_ns=%lld rate=%.0f drain_ns=%lld left=%ld max_sampled=%ld max_events=%ld "
	       "lat_n=%ld lat_p50_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f overflows=%ld samples=%ld\n",
	       created, (long long)(t1 - t0), created / ((t1 - t0) / 1e9), (long long)(t2 - t1), left,
	       (long)atomic_load(&C.sample_max), C.ev_max, C.nlat, p50, p99, pmax, C.overflows,
	       C.samples);
	return 0;
}

/* ---- ctlprobe ------------------------------------------------------------ */

#define PROBE_CAP_NS (600 * 1000000000LL)

static struct {
	const char *sock;
	double interval;
	int64_t t0, end;
	atomic_llong stop_at;        /* ns; INT64_MAX until a signal */
} P;

struct probe {
	const char *mode;
	int persist;
	int64_t *lat, *raw;          /* corrected (n_lat of them), measured (n) */
	long n, nlat, err;
};

static void probe_stop(int sig)
{
	long long never = INT64_MAX;
	(void)sig;
	/* the first signal ends the schedule; later ones do not move it */
	atomic_compare_exchange_strong(&P.stop_at, &never, now_ns());
}

static int probe_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", P.sock);
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return -1;
	}
	return fd;
}

/* all of n bytes before the deadline: 0, or -1 */
static int probe_io(int fd, char *buf, size_t n, int out, int64_t deadline)
{
	size_t done = 0;
	while (done < n) {
		int64_t left = deadline - now_ns();
		if (left <= 0)
			return -1;
		struct pollfd pfd = { fd, out ? POLLOUT : POLLIN, 0 };
		int r = poll(&pfd, 1, (int)(left / 1000000 + 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

/* one status request on fd: 0 when answered ok */
static int probe_status(int fd, long id)
{
	char req[128];
	int len = snprintf(req + 4, sizeof(req) - 4, "{\"v\":1,\"id\":%ld,\"op\":\"status\",\"args\":{}}", id);
	req[0] = (char)(len >> 24);
	req[1] = (char)(len >> 16);
	req[2] = (char)(len >> 8);
	req[3] = (char)len;
	int64_t deadline = now_ns() + PROBE_CAP_NS;
	if (probe_io(fd, req, (size_t)len + 4, 1, deadline) < 0)
		return -1;
	unsigned char h[4];
	if (probe_io(fd, (char *)h, 4, 0, deadline) < 0)
		return -1;
	uint32_t rl = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (rl > 64u * 1024 * 1024)
		return -1;
	char *body = malloc(rl + 1);
	if (!body || probe_io(fd, body, rl, 0, deadline) < 0) {
		free(body);
		return -1;
	}
	body[rl] = 0;
	int ok = strstr(body, "\"ok\":true") != NULL;
	free(body);
	return ok ? 0 : -1;
}

static void probe_add(int64_t **v, long *n, long *cap, int64_t x)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 4096;
		*v = realloc(*v, *cap * sizeof(int64_t));
		if (!*v)
			die("realloc");
	}
	(*v)[(*n)++] = x;
}

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	int64_t step = (int64_t)(P.interval * 1e9);
	long nlat = 0, cap_lat = 0, cap_raw = 0;
	int fd = -1;
	for (int64_t slot = P.t0;;) {
		if (slot > P.end || slot > atomic_load(&P.stop_at))
			break;
		int64_t t = now_ns();
		if (slot > t) {
			struct timespec ts = { (slot - t) / 1000000000, (slot - t) % 1000000000 };
			nanosleep(&ts, NULL);   /* a signal cuts it short: the check below */
			if (slot > atomic_load(&P.stop_at))
				break;
		}
		int64_t sent = now_ns();
		if (fd < 0)
			fd = probe_connect();
		int r = fd < 0 ? -1 : probe_status(fd, p->n + 1);
		int64_t done = now_ns();
		if (r < 0 || !p->persist) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		int64_t l = done - sent;
		probe_add(&p->raw, &p->n, &cap_raw, l);
		/* the requests of the slots this one's wait covered, as if sent at
		 * their slots and answered with it (HdrHistogram's correction for
		 * coordinated omission): a stall of S s weighs S / INTERVAL samples */
		for (int64_t x = l; x > 0; x -= step)
			probe_add(&p->lat, &nlat, &cap_lat, x);
		if (r < 0) {
			p->err++;
			/* a refused or closed connection answers at once: do not spin */
			usleep(1000);
		}
		/* the next slot after now: no backlog of our own */
		slot += step;
		done = now_ns();
		if (slot < done)
			slot += (done - slot + step - 1) / step * step;
	}
	p->nlat = nlat;
	if (fd >= 0)
		close(fd);
	return NULL;
}

static double pct_ms(int64_t *v, long n, double q)
{
	if (n == 0)
		return -1;
	long i = (long)(q * (n - 1) + 0.5);
	return v[i] / 1e6;
}

static int cmd_ctlprobe(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	P.sock = argv[1];
	double secs = atof(argv[2]);
	P.interval = atof(argv[3]);
	if (P.interval <= 0)
		P.interval = 0.01;
	atomic_store(&P.stop_at, INT64_MAX);
	struct sigaction sa = { .sa_handler = probe_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	P.t0 = now_ns();
	P.end = P.t0 + (int64_t)(secs * 1e9);
	struct probe pr[2] = { { .mode = "conn", .persist = 0 }, { .mode = "persist", .persist = 1 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, probe_thread, &pr[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		struct probe *p = &pr[i];
		qsort(p->lat, p->nlat, sizeof(int64_t), cmp64);
		qsort(p->raw, p->n, sizeof(int64_t), cmp64);
		printf("mode=%s n=%ld n_corrected=%ld err=%ld p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
		       "raw_p50_ms=%.3f raw_p99_ms=%.3f raw_max_ms=%.3f\n",
		       p->mode, p->n, p->nlat, p->err, pct_ms(p->lat, p->nlat, 0.5),
		       pct_ms(p->lat, p->nlat, 0.99), pct_ms(p->lat, p->nlat, 1),
		       pct_ms(p->raw, p->n, 0.5), pct_ms(p->raw, p->n, 0.99), pct_ms(p->raw, p->n, 1));
	}
	fflush(stdout);
	return 0;
}

/* ---- floorserv ----------------------------------------------------------- */

#define FLOOR_MAX_CLIENTS 64

struct floor_client {
	int fd;
	unsigned char hdr[4];
	size_t got;          /* bytes of the header, then of the body */
	uint32_t len;        /* the body's length, once the header is in */
};

static volatile sig_atomic_t floor_done;

static void floor_stop(int sig)
{
	(void)sig;
	floor_done = 1;
}

/* Reads what fd has; answers a whole request. -1: close the client. */
static int floor_serve(struct floor_client *c, const char *reply, size_t reply_len)
{
	char buf[65536];
	ssize_t k = recv(c->fd, buf, sizeof(buf), 0);
	if (k <= 0)
		return k < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
	for (ssize_t i = 0; i < k; i++) {
		if (c->got < 4) {
			c->hdr[c->got++] = (unsigned char)buf[i];
			if (c->got == 4)
				c->len = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
					 (uint32_t)c->hdr[2] << 8 | c->hdr[3];
			else
				continue;
		} else {
			c->got++;
		}
		if (c->got == 4 + (size_t)c->len) {
			if (send(c->fd, reply, reply_len, MSG_NOSIGNAL) != (ssize_t)reply_len)
				return -1;
			c->got = 0;
		}
	}
	return 0;
}

static int cmd_floorserv(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t body = (size_t)atol(argv[2]);
	const char *head = "{\"v\":1,\"id\":1,\"ok\":true,\"result\":{\"pad\":\"";
	if (body < strlen(head) + 4)
		body = strlen(head) + 4;
	char *reply = malloc(body + 4);
	if (!reply)
		die("malloc");
	memset(reply + 4, 'x', body);
	memcpy(reply + 4, head, strlen(head));
	memcpy(reply + 4 + body - 3, "\"}}", 3);
	reply[0] = (char)(body >> 24);
	reply[1] = (char)(body >> 16);
	reply[2] = (char)(body >> 8);
	reply[3] = (char)body;

	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 128) < 0)
		die("floorserv: listen");
	struct sigaction sa = { .sa_handler = floor_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct floor_client cl[FLOOR_MAX_CLIENTS];
	size_t n = 0;
	while (!floor_done) {
		struct pollfd pfd[FLOOR_MAX_CLIENTS + 1];
		pfd[0] = (struct pollfd){ lfd, POLLIN, 0 };
		for (size_t i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ cl[i].fd, POLLIN, 0 };
		if (poll(pfd, n + 1, -1) < 0)
			continue;   /* EINTR: the loop's check */
		for (size_t i = n; i-- > 0;) {
			if (!pfd[i + 1].revents)
				continue;
			if (floor_serve(&cl[i], reply, body + 4) < 0) {
				close(cl[i].fd);
				cl[i] = cl[--n];
			}
		}
		if (pfd[0].revents && n < FLOOR_MAX_CLIENTS) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				cl[n++] = (struct floor_client){ .fd = fd };
		}
	}
	unlink(argv[1]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hkb now|spawnlog|waitlog|time|mktree|unlink|sweepfloor|walk|count|churn|ctlprobe|floorserv ...\n");
		return 2;
	}
	const char *c = argv[1];
	argc--;
	argv++;
	if (!strcmp(c, "now")) {
		printf("%lld\n", (long long)now_ns());
		return 0;
	}
	if (!strcmp(c, "spawnlog"))
		return cmd_spawnlog(argc, argv);
	if (!strcmp(c, "waitlog"))
		return cmd_waitlog(argc, argv);
	if (!strcmp(c, "time"))
		return cmd_time(argc, argv);
	if (!strcmp(c, "mktree"))
		return cmd_mktree(argc, argv);
	if (!strcmp(c, "unlink"))
		return cmd_unlink(argc, argv);
	if (!strcmp(c, "walk"))
		return cmd_walk(argc, argv);
	if (!strcmp(c, "sweepfloor"))
		return cmd_sweepfloor(argc, argv);
	if (!strcmp(c, "count"))
		return cmd_count(argc, argv);
	if (!strcmp(c, "churn"))
		return cmd_churn(argc, argv);
	if (!strcmp(c, "ctlprobe"))
		return cmd_ctlprobe(argc, argv);
	if (!strcmp(c, "floorserv"))
		return cmd_floorserv(argc, argv);
	fprintf(stderr, "hkb: unknown command %s\n", c);
	return 2;
}
