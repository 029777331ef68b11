/*
 * service_view.c - the control operations that read: status of every
 * registration, explain of one path, a page of the audit trail (redacted
 * in the scan for a non-root caller, bounded in bytes), the Prometheus
 * text and the daemon's own facts.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "loopstat.h"
#include "notify.h"
#include "proto.h"
#include "proto_records.h"
#include "service_int.h"
#include "util.h"

const struct hk_registration *svc_find_any(struct hk_service *svc, const char *id)
{
	size_t n = hk_engine_count(svc->eng);
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		if (strcmp(r->id, id) == 0 || (r->name && strcmp(r->name, id) == 0))
			return r;
	}
	return NULL;
}

/* A registration change is committed before the caller gets its answer:
 * an id handed out must survive a crash right after. */
static json_t *svc_status_reg(struct hk_service *svc, size_t i)
{
	const struct hk_registration *r = hk_engine_registration(svc->eng, i);
	struct hk_reg_status st;
	hk_engine_reg_status(svc->eng, i, &st);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(r->id));
	if (r->name)
		json_object_set_new(o, "name", json_string(r->name));
	else
		json_object_set_new(o, "name", json_null());
	hk_proto_set_bytes(o, "directory", r->directory, strlen(r->directory));
	hk_proto_set_bytes(o, "pattern", r->pattern, strlen(r->pattern));
	json_object_set_new(o, "files", json_integer((json_int_t)st.files));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(o, "retention", st.policy.retention_ns
				    ? json_integer(st.policy.retention_ns / HK_NSEC_PER_SEC)
				    : json_null());
	json_object_set_new(o, "max_files", st.policy.has_max_files
				    ? json_integer((json_int_t)st.policy.max_files) : json_null());
	json_object_set_new(o, "max_size", st.policy.has_max_size
				    ? json_integer((json_int_t)st.policy.max_size) : json_null());
	hk_proto_registration_limits_to_json(o, r);
	/* what the later limits do now: min_free's free space (null without
	 * it) and whether it is below the floor, a low_watermark trim */
	json_object_set_new(o, "free_bytes", st.free_bytes >= 0 ? json_integer(st.free_bytes)
								 : json_null());
	json_object_set_new(o, "free_active", json_boolean(st.free_active));
	json_object_set_new(o, "trimming", json_boolean(st.trimming));
	json_object_set_new(o, "oldest", svc_time_or_null(st.oldest_ns));
	json_object_set_new(o, "next_expiry", svc_time_or_null(st.next_expiry_ns));
	json_object_set_new(o, "last_run", st.last_run ? json_integer(st.last_run) : json_null());
	json_object_set_new(o, "last_success", st.last_success ? json_integer(st.last_success)
							       : json_null());
	json_object_set_new(o, "runs", json_integer((json_int_t)st.runs));
	json_object_set_new(o, "reclaimed_bytes", json_integer((json_int_t)st.bytes_deleted));
	json_object_set_new(o, "reclaimed_files", json_integer((json_int_t)st.files_deleted));
	json_object_set_new(o, "free_space_reclaimed_bytes",
			    json_integer((json_int_t)st.free_bytes_deleted));
	json_object_set_new(o, "free_space_reclaimed_files",
			    json_integer((json_int_t)st.free_files_deleted));
	json_object_set_new(o, "delete_errors", json_integer((json_int_t)st.delete_errors));
	json_object_set_new(o, "growth_bytes_per_second", json_real(st.growth_bytes));
	json_object_set_new(o, "growth_files_per_second", json_real(st.growth_files));
	json_object_set_new(o, "seconds_to_size_limit", st.seconds_to_size >= 0
				    ? json_integer(st.seconds_to_size) : json_null());
	json_object_set_new(o, "seconds_to_files_limit", st.seconds_to_files >= 0
				    ? json_integer(st.seconds_to_files) : json_null());
	/* waiting (for its directory, as run reports say), scanning (the
	 * counts are partial), paused (deletions stopped: no audit trail),
	 * age-paused (the clock jumped: no age deletions), sweeps-only (no
	 * watch), watching */
	json_object_set_new(o, "state", json_string(!st.attached ? "waiting"
						    : !st.scanned ? "scanning"
						    : hk_engine_audit_failing(svc->eng) ? "paused"
						    : hk_engine_age_paused(svc->eng) ? "age-paused"
						    : st.watch_failed ? "sweeps-only" : "watching"));
	json_object_set_new(o, "source", json_string(r->source == HK_SOURCE_API ? "api" : "config"));
	/* ghost bytes: the last count that ended (null before the first);
	 * pending: a newer one is running (ask again for it) */
	struct hk_ghost_view gv;
	hk_ghost_get(svc->ghost, r->id, &gv);
	json_object_set_new(o, "ghost_bytes", gv.known ? json_integer((json_int_t)gv.bytes)
						       : json_null());
	json_object_set_new(o, "ghost_files", gv.known ? json_integer((json_int_t)gv.files)
						       : json_null());
	json_object_set_new(o, "ghost_bytes_incomplete", gv.known ? json_boolean(gv.incomplete)
								  : json_null());
	json_object_set_new(o, "ghost_bytes_at", gv.known ? json_integer(gv.at_ns / HK_NSEC_PER_SEC)
							  : json_null());
	json_object_set_new(o, "ghost_pending", json_boolean(gv.pending));
	return o;
}

void svc_ghost_refresh(struct hk_service *svc)
{
	size_t n = hk_engine_count(svc->eng);
	struct hk_ghost_root *roots = hk_xcalloc(n ? n : 1, sizeof(*roots));
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		roots[i] = (struct hk_ghost_root){ hk_xstrdup(r->id), hk_xstrdup(r->directory),
						   r->recursive };
	}
	hk_ghost_refresh(svc->ghost, roots, n);
}

int svc_status(void *ctx, json_t **out)
{
	struct hk_service *svc = ctx;
	svc_ghost_refresh(svc);
	json_t *arr = json_array();
	size_t n = hk_engine_count(svc->eng);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, svc_status_reg(svc, i));
	*out = arr;
	return 0;
}

/* unit = directory: the unit judged for the path (size, age_key and
 * rank_newest are then the unit's), else null. */
static json_t *svc_explain_unit(const struct hk_explain *x)
{
	if (!x->in_unit)
		return json_null();
	json_t *u = json_object();
	hk_proto_set_bytes(u, "name", x->unit, strlen(x->unit));
	json_object_set_new(u, "files", json_integer((json_int_t)x->unit_files));
	json_object_set_new(u, "units", json_integer((json_int_t)x->n_units));
	return u;
}

int svc_explain(void *ctx, const char *path, json_t **out, char **cause)
{
	struct hk_service *svc = ctx;
	if (!hk_path_is_clean_absolute(path)) {
		*cause = hk_xasprintf("%s: give an absolute path without . or .. components", path);
		return -EINVAL;
	}
	struct hk_explain *xs = NULL;
	size_t n = hk_engine_explain(svc->eng, path, hk_time_now_ns(), &xs);
	json_t *o = json_object();
	hk_proto_set_bytes(o, "path", path, strlen(path));
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct hk_explain *x = &xs[i];
		if (!x->covers)
			continue;
		json_t *e = json_object();
		json_object_set_new(e, "id", json_string(x->reg->id));
		hk_proto_set_bytes(e, "directory", x->reg->directory, strlen(x->reg->directory));
		hk_proto_set_bytes(e, "pattern", x->reg->pattern, strlen(x->reg->pattern));
		json_object_set_new(e, "matches", json_boolean(x->matches));
		json_object_set_new(e, "excluded", json_boolean(x->excluded));
		json_object_set_new(e, "indexed", json_boolean(x->indexed));
		json_object_set_new(e, "reason", x->reason == HK_REASON_NONE
						       ? json_null()
						       : json_string(hk_reason_name(x->reason)));
		json_object_set_new(e, "delete_at", svc_time_or_null(x->delete_at_ns));
		if (x->indexed) {
			json_object_set_new(e, "size", json_integer((json_int_t)x->size));
			json_object_set_new(e, "age_key", json_integer(x->key_ns / HK_NSEC_PER_SEC));
			json_object_set_new(e, "rank_newest", json_integer((json_int_t)x->rank_newest));
		}
		json_object_set_new(e, "held", json_boolean(x->held));
		json_object_set_new(e, "unit", svc_explain_unit(x));
		json_object_set_new(e, "note", json_string(x->note));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "registrations", arr);
	free(xs);
	*out = o;
	return 0;
}

/* Building one page of the audit trail: the records so far and their size. */
struct svc_audit_page {
	const struct hk_ctl_audit_query *q;
	json_t *arr;
	size_t bytes;
};

static bool svc_audit_keep(const struct hk_store_audit *rec, void *arg)
{
	const struct hk_ctl_audit_query *q = arg;

	return !q->visible || q->visible(rec->reg_id, q->visible_arg);
}

static bool svc_plain(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '"' ||
		    p[i] == '\\')
			return false;
	return true;
}

/* Are a record's strings printable ASCII that JSON keeps as it is? */
static bool svc_audit_plain(const struct hk_store_audit *rec)
{
	return svc_plain(rec->path, rec->path_len) &&
	       (!rec->reg_id || svc_plain(rec->reg_id, strlen(rec->reg_id))) &&
	       (!rec->reason || svc_plain(rec->reason, strlen(rec->reason)));
}

/* At least the length of a plain record's encoding (svc_audit_cb), and a
 * comma: members' names and punctuation, numbers at most 20 digits. */
static size_t svc_audit_bound(const struct hk_store_audit *rec)
{
	size_t n = 128 + 3 * 20 + rec->path_len;
	n += rec->reg_id ? strlen(rec->reg_id) : 0;
	n += rec->reason ? strlen(rec->reason) : 0;
	n += rec->outcome ? strlen(rec->outcome) : 8;
	n += rec->err ? strlen(hk_strerror(rec->err)) + 12 : 0;
	return n;
}

static int svc_audit_cb(const struct hk_store_audit *rec, void *arg)
{
	struct svc_audit_page *pg = arg;
	json_t *o = json_object();
	size_t size;

	json_object_set_new(o, "time", json_integer(rec->time_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "registration_id", json_string(rec->reg_id));
	hk_proto_set_bytes(o, "path", rec->path, rec->path_len);
	json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
	json_object_set_new(o, "mtime", json_integer(rec->mtime_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "reason", json_string(rec->reason ? rec->reason : ""));
	json_object_set_new(o, "dry_run", json_boolean(rec->dry_run));
	json_object_set_new(o, "result", json_string(rec->outcome ? rec->outcome : "intent"));
	if (rec->err)
		json_object_set_new(o, "error", json_string(hk_strerror(rec->err)));
	/* the byte budget of the reply: this record's encoding and a comma;
	 * bounded from its lengths when its strings need no escapes (an
	 * encoding of every record made a page cost a quarter more) */
	size = svc_audit_plain(rec) ? svc_audit_bound(rec) : json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
	if (pg->q->max_bytes && json_array_size(pg->arr) && pg->bytes + size > pg->q->max_bytes) {
		json_decref(o);
		return HK_STORE_PAGE_FULL;
	}
	pg->bytes += size;
	json_array_append_new(pg->arr, o);
	return 0;
}

int svc_audit(void *ctx, const struct hk_ctl_audit_query *q, json_t **out, uint64_t *next)
{
	struct hk_service *svc = ctx;
	struct svc_audit_page pg = { q, json_array(), 0 };
	int r = 0;

	*next = 0;
	if (svc->store) {
		hk_store_flush(svc->store);   /* queries see committed data */
		const struct hk_registration *reg = q->id ? svc_find_any(svc, q->id) : NULL;
		struct hk_store_audit_query sq = {
			.since_ns = q->since > 0 ? q->since * HK_NSEC_PER_SEC : 0,
			.reg_id = reg ? reg->id : q->id,
			.limit = q->limit,
		};
		struct hk_store_audit_page page = {
			.from_id = q->from,
			.max_visit = q->max_visit,
			.keep = q->visible ? svc_audit_keep : NULL,
			.keep_arg = (void *)q,
		};
		r = hk_store_audit_page(svc->store, &sq, &page, svc_audit_cb, &pg);
		*next = page.next_id;
	}
	if (r < 0) {
		json_decref(pg.arr);
		return r;
	}
	*out = pg.arr;
	return 0;
}

/* Metrics ------------------------------------------------------------------- */

/* {registration="..."}: the exposition format escapes backslash, quote
 * and newline; any other control byte or invalid UTF-8 (a name given
 * through the API is raw bytes) would break the scrape or a line of it, so
 * it is written as an escaped backslash and its hex value ("\\x1b"). */
static void svc_label(struct hk_buf *b, const struct hk_registration *r)
{
	const char *v = r->name ? r->name : r->id;
	const unsigned char *u = (const unsigned char *)v;
	size_t n = strlen(v);
	hk_buf_append(b, "{registration=\"", 15);
	for (size_t i = 0; i < n;) {
		size_t l = hk_utf8_seq_len(u + i, n - i);
		if (l > 1) {
			hk_buf_append(b, v + i, l);
			i += l;
			continue;
		}
		if (u[i] == '\\' || u[i] == '"')
			hk_buf_printf(b, "\\%c", u[i]);
		else if (u[i] == '\n')
			hk_buf_append(b, "\\n", 2);
		else if (l == 0 || u[i] < 0x20 || u[i] == 0x7f)
			hk_buf_printf(b, "\\\\x%02x", u[i]);
		else
			hk_buf_append(b, v + i, 1);
		i++;
	}
	hk_buf_append(b, "\"}", 2);
}

struct svc_metric {
	const char *name;
	const char *type;
	const char *help;
};

static const struct svc_metric svc_metrics[] = {
	{ "housekeeper_files_deleted_total", "counter", "Files deleted since the daemon started." },
	{ "housekeeper_reclaimed_bytes_total", "counter", "Bytes (st_size) of the files deleted since the daemon started." },
	{ "housekeeper_delete_errors_total", "counter", "Deletions that failed since the daemon started." },
	{ "housekeeper_directory_size_bytes", "gauge", "Total size of the files the registration covers." },
	{ "housekeeper_directory_files", "gauge", "Files the registration covers." },
	{ "housekeeper_last_success_timestamp_seconds", "gauge", "When the registration was last swept without an error (0: never)." },
	{ "housekeeper_runs_total", "counter", "Sweeps of the registration completed since the daemon started." },
	{ "housekeeper_free_space_files_deleted_total", "counter", "Files deleted because the filesystem was below min_free (of housekeeper_files_deleted_total)." },
	{ "housekeeper_free_space_reclaimed_bytes_total", "counter", "Bytes (st_size) of the files deleted for free space (of housekeeper_reclaimed_bytes_total)." },
};

char *hk_service_metrics(struct hk_service *svc)
{
	struct hk_buf b = { 0 };
	size_t n = hk_engine_count(svc->eng);
	/* one status read per registration, not one per metric */
	struct hk_reg_status *sts = hk_xcalloc(n ? n : 1, sizeof(*sts));
	for (size_t i = 0; i < n; i++)
		hk_engine_reg_status(svc->eng, i, &sts[i]);
	for (size_t m = 0; m < HK_ARRAY_SIZE(svc_metrics); m++) {
		hk_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", svc_metrics[m].name,
			      svc_metrics[m].help, svc_metrics[m].name, svc_metrics[m].type);
		for (size_t i = 0; i < n; i++) {
			const struct hk_reg_status *st = &sts[i];
			uint64_t v = 0;
			switch (m) {
			case 0: v = st->files_deleted; break;
			case 1: v = st->bytes_deleted; break;
			case 2: v = st->delete_errors; break;
			case 3: v = st->bytes; break;
			case 4: v = st->files; break;
			case 5: v = (uint64_t)(st->last_success > 0 ? st->last_success : 0); break;
			case 6: v = st->runs; break;
			case 7: v = st->free_files_deleted; break;
			default: v = st->free_bytes_deleted; break;
			}
			hk_buf_append(&b, svc_metrics[m].name, strlen(svc_metrics[m].name));
			svc_label(&b, hk_engine_registration(svc->eng, i));
			hk_buf_printf(&b, " %" PRIu64 "\n", v);
		}
	}
	free(sts);
	/* the last count that ended; a registration it did not cover yet has
	 * no sample */
	hk_buf_printf(&b, "# HELP housekeeper_ghost_bytes Bytes of files deleted from the "
		      "registration's directory that a process still holds open (space "
		      "deleting did not free), at the last count.\n"
		      "# TYPE housekeeper_ghost_bytes gauge\n");
	for (size_t i = 0; i < n; i++) {
		const struct hk_registration *r = hk_engine_registration(svc->eng, i);
		struct hk_ghost_view gv;
		hk_ghost_get(svc->ghost, r->id, &gv);
		if (!gv.known)
			continue;
		hk_buf_append(&b, "housekeeper_ghost_bytes", 23);
		svc_label(&b, r);
		hk_buf_printf(&b, " %" PRIu64 "\n", gv.bytes);
	}
	hk_buf_printf(&b, "# HELP housekeeper_inotify_overflows_total inotify queue overflows "
		      "(events lost; registrations rescanned).\n"
		      "# TYPE housekeeper_inotify_overflows_total counter\n"
		      "housekeeper_inotify_overflows_total %" PRIu64 "\n",
		      hk_engine_overflows(svc->eng));
	static const struct {
		enum hk_failure cls;
		const char *name;
		const char *help;
	} fails[] = {
		{ HK_FAIL_JOB, "housekeeper_job_failures_total", "Jobs that finished with errors." },
		{ HK_FAIL_TIMEOUT, "housekeeper_job_timeouts_total", "Jobs stopped by default_timeout." },
		{ HK_FAIL_WATCH, "housekeeper_watch_fallbacks_total", "Registrations that lost their inotify watch (watch limit) and fell back to rescans." },
		{ HK_FAIL_AUDIT, "housekeeper_audit_failures_total", "Times the audit trail could not be written (deletions stopped)." },
	};
	for (size_t i = 0; svc->notify && i < HK_ARRAY_SIZE(fails); i++)
		hk_buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", fails[i].name,
			      fails[i].help, fails[i].name, fails[i].name,
			      hk_notify_count(svc->notify, fails[i].cls));
	hk_buf_printf(&b, "# HELP housekeeper_audit_writable Whether the audit trail can be "
		      "written (deletions stop when it cannot).\n"
		      "# TYPE housekeeper_audit_writable gauge\n"
		      "housekeeper_audit_writable %d\n", hk_engine_audit_failing(svc->eng) ? 0 : 1);
	hk_buf_printf(&b, "# HELP housekeeper_build_info The daemon's version and protocol "
		      "(labels; the value is always 1).\n"
		      "# TYPE housekeeper_build_info gauge\n"
		      "housekeeper_build_info{version=\"%s\",protocol=\"%d\"} 1\n",
		      PACKAGE_VERSION, HK_PROTO_VERSION);
	hk_buf_printf(&b, "# HELP housekeeper_start_time_seconds When the daemon started.\n"
		      "# TYPE housekeeper_start_time_seconds gauge\n"
		      "housekeeper_start_time_seconds %" PRId64 "\n",
		      svc->started_ns / HK_NSEC_PER_SEC);
	if (svc->loopstat)
		hk_loopstat_metrics(svc->loopstat, &b);
	return b.data;
}

int svc_daemon_info(void *ctx, json_t **out)
{
	struct hk_service *svc = ctx;
	const struct hk_config *cfg = hk_engine_config(svc->eng);
	json_t *o = json_object();
	int64_t now = hk_time_now_ns();
	json_object_set_new(o, "started", json_integer(svc->started_ns / HK_NSEC_PER_SEC));
	json_object_set_new(o, "uptime", json_integer((now - svc->started_ns) / HK_NSEC_PER_SEC));
	json_t *files = json_array();
	for (size_t i = 0; i < cfg->n_files; i++)
		json_array_append_new(files, json_string(cfg->files[i]));
	json_object_set_new(o, "config_files", files);
	json_object_set_new(o, "state_directory", json_string(cfg->daemon.state_directory));
	json_object_set_new(o, "registrations", json_integer((json_int_t)hk_engine_count(svc->eng)));
	json_object_set_new(o, "store_healthy",
			    json_boolean(!svc->store || hk_store_healthy(svc->store)));
	json_object_set_new(o, "audit_writable", json_boolean(!hk_engine_audit_failing(svc->eng)));
	json_object_set_new(o, "dry_run", json_boolean(cfg->scheduler.housekeeper_dry_run));
	json_object_set_new(o, "read_only", json_boolean(cfg->scheduler.housekeeper_read_only));
	*out = o;
	return 0;
}

int svc_metrics_op(void *ctx, char **text)
{
	svc_ghost_refresh(ctx);
	*text = hk_service_metrics(ctx);
	return 0;
}
