/*
 * bench/micro_audit.c - the audit trail's and the report list's cost per
 * file, timed alone on the thread's CPU clock: 100k audit intents in
 * commits of 256, each batch's completions queued and applied by the next
 * commit, and the JSON file list of a 100k-file report dumped 5 times.
 * Built by hand against a build tree (docs/PERFORMANCE.md, session 7):
 *   cc -O2 -iquote . -iquote src -iquote src/lib -iquote include \
 *      bench/micro_audit.c .libs/libhk_internal.a \
 *      -lev -linih -ljansson -llmdb -luuid -lpthread -lm -o micro_audit
 *   mkdir -m 700 /tmp/ms && ./micro_audit /tmp/ms    (an empty state dir)
 */
#include "autoconfig.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"
#include "store.h"
#include "util.h"
#include "proto_records.h"
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv)
{
	const char *dir = argv[1];
	struct hk_store *s; char *cause = NULL;
	int64_t now = hk_time_now_ns();
	if (hk_store_open(dir, NULL, now, &s, &cause)) { fprintf(stderr, "open: %s\n", cause); return 1; }
	const char *rid = "0b0ad5a4-5a8c-5bd5-9a4b-1f8e5c0c7d11";
	double t0 = cpu();
	for (int b = 0; b < 100000 / 256; b++) {
		struct hk_store_audit recs[256]; uint64_t ids[256]; char paths[256][64], tmp[256][40];
		for (int i = 0; i < 256; i++) {
			snprintf(paths[i], 64, "/tmp/perf-work/t/sweep/f%08d", b * 256 + i);
			snprintf(tmp[i], 40, ".housekeeper-deleting-%016x", b * 256 + i);
			recs[i] = (struct hk_store_audit){ .time_ns = now, .reg_id = rid, .path = paths[i],
				.path_len = strlen(paths[i]), .size = 64, .mtime_ns = now, .reason = "age",
				.ino = 1000 + b * 256 + i, .aside = tmp[i] };
		}
		if (hk_store_audit_intent(s, recs, 256, ids)) { fprintf(stderr, "intent\n"); return 1; }
		for (int i = 0; i < 256; i++)
			hk_store_audit_complete(s, ids[i], "deleted", 0);
	}
	hk_store_flush(s);
	double t1 = cpu();
	hk_store_close(s);
	struct hk_report rep = { 0 };
	rep.n_files = 100000;
	rep.files = calloc(rep.n_files, sizeof(*rep.files));
	for (size_t i = 0; i < rep.n_files; i++) {
		rep.files[i].path = hk_xasprintf("/tmp/perf-work/t/sweep/f%08zu", i);
		memcpy(rep.files[i].reg_id, rid, strlen(rid) + 1);
		rep.files[i].size = 64; rep.files[i].mtime_ns = now; rep.files[i].outcome = HK_REAP_DELETED;
	}
	double t2 = cpu();
	struct hk_buf out = { 0 };
	for (int k = 0; k < 5; k++) { out.len = 0; hk_proto_report_files_dump(&out, &rep); }
	double t3 = cpu();
	printf("intents_us_per_file=%.2f files_dump_us_per_file=%.3f bytes=%zu\n", (t1 - t0) * 1e6 / 99840, (t3 - t2) * 1e6 / 5 / 100000, out.len);
	return 0;
}
