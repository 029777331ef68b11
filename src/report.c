/*
 * report.c - run reports (freed, printed as text, rendered as JSON off the
 * loop, written, read back, pruned and capped per uid) and atomic writes
 * of daemon-owned files.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <ev.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proto.h"
#include "proto_records.h"
#include "report.h"
#include "sched.h"
#include "units.h"
#include "util.h"

int hk_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char *tmp = hk_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int err = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		unlink(tmp);   /* a leftover of ours from a crash */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

static int report_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int report_dump_cb(const char *data, size_t n, void *arg)
{
	hk_buf_append(arg, data, n);
	return 0;
}

char *hk_report_dir(const struct hk_config *cfg)
{
	const char *dir = cfg->scheduler.housekeeper_report_directory;
	if (dir && *dir)
		return hk_xstrdup(dir);
	return hk_xasprintf("%s/reports", cfg->daemon.state_directory);
}

char *hk_report_path(const char *dir, const struct hk_job_info *job, const struct hk_report *rep)
{
	time_t start = (time_t)(rep->started_ns / HK_NSEC_PER_SEC);
	struct tm tm;
	char stamp[32];
	gmtime_r(&start, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	/* with nanoseconds: event summaries (job 0) can follow each other
	 * within a second under a flood, and must not replace each other */
	/* a run a non-root uid asked for carries the uid: hk_report_cap keeps
	 * only the newest HK_FAIR_UID_REPORTS of them */
	char owner[32] = "";
	if (job->uid != 0)
		snprintf(owner, sizeof(owner), "-uid%u", (unsigned)job->uid);
	return hk_xasprintf("%s/report-%06" PRIu64 "-%s.%09" PRId64 "Z%s.json", dir, job->id,
			    stamp, rep->started_ns % HK_NSEC_PER_SEC, owner);
}

int hk_report_text(const struct hk_job_info *job, const struct hk_report *rep,
		   struct hk_buf *text)
{
	/* The file list streamed, the rest through jansson: an indented,
	 * key-sorted dump of a whole 100k-file report built in memory took a
	 * sixth of a sweep. Compact, in insertion order: read it with jq. */
	json_t *o = hk_proto_report_head_to_json(rep);
	json_object_set_new(o, "outcome", json_string(job->outcome));
	json_object_set_new(o, "registration_filter", job->filter ? json_string(job->filter)
								   : json_null());
	size_t start = text->len;
	hk_buf_append(text, "{\"files\":", 9);
	hk_proto_report_files_dump(text, rep);
	hk_buf_append(text, ",", 1);
	size_t head = text->len;
	int r = json_dump_callback(o, report_dump_cb, text, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (r < 0) {
		text->len = start;
		return -ENOMEM;
	}
	/* the head object's own '{' goes: its members follow the files */
	memmove(text->data + head, text->data + head + 1, text->len - head - 1);
	text->len--;
	return 0;
}

int hk_report_write(const char *dir, const struct hk_job_info *job,
		    const struct hk_report *rep, char **path_out)
{
	int r = report_mkdir(dir);
	if (r < 0)
		return r;
	struct hk_buf text = { 0 };
	r = hk_report_text(job, rep, &text);
	if (r < 0) {
		hk_buf_fini(&text);
		return r;
	}
	hk_buf_append(&text, "\n", 1);
	char *path = hk_report_path(dir, job, rep);
	r = hk_write_atomic(path, text.data, text.len, 0600);
	hk_buf_fini(&text);
	if (r == 0 && path_out)
		*path_out = path;
	else
		free(path);
	return r;
}

/* The render thread: the text once, then the file from it. */
static void *report_render_thread(void *arg)
{
	struct hk_report_render *r = arg;
	r->rc = hk_report_text(r->job, r->rep, &r->text);
	if (r->rc == 0 && r->dir) {
		r->rc = report_mkdir(r->dir);
		if (r->rc == 0) {
			char *path = hk_report_path(r->dir, r->job, r->rep);
			hk_buf_append(&r->text, "\n", 1);
			r->rc = hk_write_atomic(path, r->text.data, r->text.len, 0600);
			r->text.len--;
			if (r->rc == 0)
				r->path = path;
			else
				free(path);
		}
	}
	atomic_store(&r->finished, true);
	ev_async_send(r->loop, r->done);
	return NULL;
}

int hk_report_render_start(struct hk_report_render *r)
{
	atomic_init(&r->finished, false);
	int e = hk_thread_start(&r->thread, report_render_thread, r);
	r->started = e == 0;
	return e;
}

bool hk_report_render_finished(const struct hk_report_render *r)
{
	return !r->started || atomic_load(&r->finished);
}

void hk_report_render_join(struct hk_report_render *r)
{
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = false;
}

void hk_report_render_fini(struct hk_report_render *r)
{
	hk_report_render_join(r);
	hk_buf_fini(&r->text);
	free(r->path);
	free(r->dir);
	r->path = r->dir = NULL;
}

size_t hk_report_prune(const char *dir, int64_t before_ns)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (fnmatch("report-*.json", de->d_name, 0) != 0)
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((int64_t)st.st_mtim.tv_sec * HK_NSEC_PER_SEC + st.st_mtim.tv_nsec >= before_ns)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

struct report_entry {
	int64_t mtime_ns;
	char *name;
};

static int report_entry_cmp(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t hk_report_cap(const char *dir, uid_t uid, size_t keep)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	char *pattern = hk_xasprintf("report-*-uid%u.json", (unsigned)uid);
	struct report_entry *list = NULL;
	size_t n = 0, cap = 0, gone = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (fnmatch(pattern, de->d_name, 0) != 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			list = hk_xreallocarray(list, cap, sizeof(*list));
		}
		list[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * HK_NSEC_PER_SEC + st.st_mtim.tv_nsec;
		list[n].name = hk_xstrdup(de->d_name);
		n++;
	}
	if (n > keep) {
		qsort(list, n, sizeof(*list), report_entry_cmp);
		for (size_t i = 0; i < n - keep; i++)
			if (unlinkat(dfd, list[i].name, 0) == 0)
				gone++;
	}
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
	free(pattern);
	closedir(d);
	return gone;
}

int hk_report_read(const char *dir, uint64_t job_id, size_t max, struct hk_buf *out)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "report-%06" PRIu64 "-*.json", job_id);
	int r = -ENOENT;
	struct dirent *de;
	while (r == -ENOENT && (de = readdir(d))) {
		if (fnmatch(pattern, de->d_name, 0) != 0)
			continue;
		int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			r = fd < 0 ? -errno : -EINVAL;
			if (fd >= 0)
				close(fd);
			continue;
		}
		if ((uint64_t)st.st_size > max) {
			close(fd);
			r = -EFBIG;
			break;
		}
		size_t start = out->len;
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			hk_buf_append(out, buf, (size_t)n);
		r = n < 0 ? -errno : 0;
		close(fd);
		if (r < 0)
			out->len = start;
		while (r == 0 && out->len > start && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
	}
	closedir(d);
	return r;
}

/* Report data -------------------------------------------------------------- */

void hk_report_clear(struct hk_report *rep)
{
	for (size_t i = 0; i < rep->n_regs; i++) {
		free(rep->regs[i].name);
		free(rep->regs[i].directory);
		free(rep->regs[i].error);
	}
	for (size_t i = 0; i < rep->n_files; i++)
		free(rep->files[i].path);
	free(rep->regs);
	free(rep->files);
	free(rep->not_run);
	rep->not_run = NULL;
	rep->n_not_run = 0;
	rep->regs = NULL;
	rep->n_regs = 0;
	rep->files = NULL;
	rep->n_files = 0;
}

void hk_report_free(struct hk_report *rep)
{
	if (!rep)
		return;
	hk_report_clear(rep);
	free(rep);
}

#define REPORT_FREE_DETACHED_MIN 16384   /* files: below, freed on the spot */

static void *report_free_thread(void *arg)
{
	hk_report_free(arg);
	return NULL;
}

void hk_report_free_detached(struct hk_report *rep)
{
	pthread_t t;
	if (!rep || rep->n_files < REPORT_FREE_DETACHED_MIN ||
	    hk_thread_start(&t, report_free_thread, rep) < 0) {
		hk_report_free(rep);
		return;
	}
	pthread_detach(t);
}

void hk_report_print(const struct hk_report *rep, FILE *out)
{
	uint64_t files = 0, bytes = 0, errors = 0, skipped = 0, waiting = 0;
	char sz[32];
	for (size_t i = 0; i < rep->n_files; i++) {
		const struct hk_report_file *f = &rep->files[i];
		struct hk_buf path = { 0 };
		hk_buf_append_escaped(&path, f->path, strlen(f->path));
		fprintf(out, "%-12s %-5s %10s  %s", hk_reap_outcome_name(f->outcome),
			hk_reason_name(f->reason), hk_size_human(f->size, sz, sizeof(sz)),
			path.data);
		if (f->outcome == HK_REAP_FAILED)
			fprintf(out, " (%s)", hk_strerror(f->err));
		fputc('\n', out);
		hk_buf_fini(&path);
	}
	for (size_t i = 0; i < rep->n_regs; i++) {
		const struct hk_report_reg *r = &rep->regs[i];
		files += r->deleted;
		bytes += r->bytes;
		errors += r->errors;
		skipped += r->skipped;
		/* a registration that could not be cleaned is an error like a file */
		errors += r->error != NULL;
		waiting += r->waiting;
		if (r->error)
			fprintf(out, "error        %s: %s\n", r->directory, r->error);
		else if (r->waiting)
			fprintf(out, "waiting      %s: does not exist yet\n", r->directory);
	}
	if (rep->files_omitted) {
		fprintf(out, "(%" PRIu64 " more file%s not listed: the report lists the first %zu",
			rep->files_omitted, rep->files_omitted == 1 ? "" : "s", rep->n_files);
		if (rep->file)
			fprintf(out, "; the JSON report: %s", rep->file);
		fprintf(out, "%s)\n", rep->dry_run ? "" : "; every deletion is in the audit trail");
	}
	fprintf(out, "total: %" PRIu64 " file%s, %s %s (%zu registration%s, %" PRIu64
		" skipped, %" PRIu64 " error%s",
		files, files == 1 ? "" : "s", hk_size_human(bytes, sz, sizeof(sz)),
		rep->dry_run ? "would be deleted" : "deleted", rep->n_regs,
		rep->n_regs == 1 ? "" : "s", skipped, errors, errors == 1 ? "" : "s");
	if (waiting)
		fprintf(out, ", %" PRIu64 " waiting for %s directory", waiting, waiting == 1 ? "its" : "their");
	fprintf(out, ")\n");
}
