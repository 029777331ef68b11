/*
 * test_ctl.c - the control server: dispatch through the table with a fake
 * ops vtable (unknown op, argument errors with their exact messages, the
 * authorization matrix), then the real socket on a libev loop (garbage,
 * oversize, half-sent and valid requests; stale/foreign files at the
 * socket path; the client cap), fairness between uids (token bucket, slot
 * accounting, the run rate limit), and libhousekeeper against that server
 * (compiled in from src/lib/client.c, see below).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "ctl.h"
#include "ctl_int.h"
#include "fair.h"
#include "log.h"
#include "proto.h"
#include "proto_records.h"
#include "util.h"
#include "testutil.h"

/* The client library, built into this test so it can talk to the server
 * below without a daemon (hk_strerror comes from errors.c in the internal
 * library, as in libhousekeeper). */
#include "client.c"

/* Fake ops: an in-memory registration table. ------------------------------------ */

#define FAKE_MAX 16

struct fake {
	struct hk_registration *regs[FAKE_MAX];
	size_t n;
	unsigned next_id;
	int calls;                /* ops called (not get_registration) */
	const char *last_op;
	char *last_run_id;
	bool last_dry_run;
	uid_t last_run_uid;
	unsigned last_changed;
	bool reload_fails;
	struct hk_ctl_audit_query last_audit;   /* id not kept */
	uint64_t audit_next;      /* what audit answers as the next position */
	bool defer_runs;          /* run_cleanup and wait_job keep their pending reply */
	struct hk_ctl_pending *pending;
	int cancelled;            /* pending replies cancelled */
	uint64_t next_job;
	double last_timeout;
};

static struct hk_registration *fake_find(struct fake *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->regs[i]->id, id) == 0)
			return f->regs[i];
	return NULL;
}

static int fake_get(void *ctx, const char *id, struct hk_registration **out)
{
	struct hk_registration *r = fake_find(ctx, id);
	*out = NULL;
	if (!r)
		return HK_ENOTFOUND;
	*out = hk_registration_dup(r);
	return 0;
}

static int fake_register(void *ctx, const struct hk_registration *reg, const struct hk_ctl_peer *peer,
			 char id_out[HK_UUID_LEN + 1], bool *existed, char **cause)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_op = "register";
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regs[i]->directory, reg->directory) == 0 &&
		    strcmp(f->regs[i]->pattern, reg->pattern) == 0) {
			memcpy(id_out, f->regs[i]->id, HK_UUID_LEN + 1);
			*existed = true;
			return 0;
		}
	}
	if (f->n == FAKE_MAX)
		return -ENOSPC;
	struct hk_registration *c = hk_registration_dup(reg);
	snprintf(c->id, sizeof(c->id), "00000000-0000-0000-0000-%012u", ++f->next_id);
	f->regs[f->n++] = c;
	memcpy(id_out, c->id, HK_UUID_LEN + 1);
	*existed = false;
	return 0;
}

static int fake_update(void *ctx, const struct hk_registration *merged, unsigned changed, char **cause)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_op = "update";
	f->last_changed = changed;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regs[i]->id, merged->id) == 0) {
			hk_registration_free(f->regs[i]);
			f->regs[i] = hk_registration_dup(merged);
			return 0;
		}
	}
	return HK_ENOTFOUND;
}

static int fake_remove(void *ctx, const char *id, char **cause)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_op = "remove";
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->regs[i]->id, id) == 0) {
			hk_registration_free(f->regs[i]);
			f->regs[i] = f->regs[--f->n];
			return 0;
		}
	}
	return HK_ENOTFOUND;
}

static int fake_list(void *ctx, json_t **out)
{
	struct fake *f = ctx;
	*out = json_array();
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(*out, hk_proto_registration_to_json(f->regs[i]));
	return 0;
}

static void fake_cancel(void *arg)
{
	struct fake *f = arg;
	f->cancelled++;
	f->pending = NULL;
}

/* Answer pending now (the job ended at once) or keep it (defer_runs). */
static void fake_answer(struct fake *f, struct hk_ctl_pending *pending, json_t *result)
{
	if (f->defer_runs) {
		assert_null(f->pending);
		f->pending = pending;
		hk_ctl_pending_set_cancel(pending, fake_cancel, f);
		json_decref(result);
		return;
	}
	hk_ctl_reply_set_result(hk_ctl_pending_reply(pending), result);
	hk_ctl_pending_done(pending);
}

static int fake_run(void *ctx, const char *id, bool dry_run, const struct hk_ctl_peer *peer,
		    struct hk_ctl_pending *pending, uint64_t *job_id, char **cause)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_op = "run";
	f->last_run_uid = peer->uid;
	free(f->last_run_id);
	f->last_run_id = id ? hk_xstrdup(id) : NULL;
	f->last_dry_run = dry_run;
	*job_id = ++f->next_job;
	if (pending)
		fake_answer(f, pending, json_pack("{s:I, s:s, s:b, s:[], s:[], s:{s:i}}", "job_id",
						  (json_int_t)*job_id, "outcome", "ok", "dry_run",
						  dry_run, "files", "registrations", "totals",
						  "deleted", 0));
	return 0;
}

/* Job 7 is uid 1000's, job 8 root's; no other exists. */
static int fake_job_owner(void *ctx, uint64_t job_id, uid_t *uid)
{
	if (job_id != 7 && job_id != 8)
		return HK_ENOTFOUND;
	*uid = job_id == 7 ? 1000 : 0;
	return 0;
}

static int fake_wait_job(void *ctx, uint64_t job_id, double timeout, struct hk_ctl_pending *pending)
{
	struct fake *f = ctx;
	f->last_op = "wait_job";
	f->last_timeout = timeout;
	fake_answer(f, pending, json_pack("{s:I, s:b}", "job_id", (json_int_t)job_id, "done", 1));
	return 0;
}

static int fake_status(void *ctx, json_t **out)
{
	((struct fake *)ctx)->last_op = "status";
	*out = json_array();
	return 0;
}

/* Every registration covers every path, with the file details that only
 * its owner may see. */
static int fake_explain(void *ctx, const char *path, json_t **out, char **cause)
{
	struct fake *f = ctx;
	json_t *regs = json_array();
	f->last_op = "explain";
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(regs, json_pack("{s:s, s:s, s:i, s:i}", "id", f->regs[i]->id,
						      "directory", f->regs[i]->directory, "size", 42,
						      "delete_at", 1700000000));
	*out = json_pack("{s:s, s:o}", "path", path, "registrations", regs);
	return 0;
}

/* One record of each registration (each carries since), then one of a
 * registration that no longer exists; those q->visible refuses are left
 * out, as the store's scan does. */
static int fake_audit(void *ctx, const struct hk_ctl_audit_query *q, json_t **out, uint64_t *next)
{
	struct fake *f = ctx;
	const char *gone = "dddddddd-0000-0000-0000-000000000009";
	f->last_op = "audit";
	f->last_audit = *q;
	f->last_audit.id = NULL;
	*out = json_array();
	for (size_t i = 0; i < f->n; i++)
		if (!q->visible || q->visible(f->regs[i]->id, q->visible_arg))
			json_array_append_new(*out, json_pack("{s:I, s:s, s:s}", "since",
							      (json_int_t)q->since, "registration_id",
							      f->regs[i]->id, "path",
							      f->regs[i]->directory));
	if (!q->visible || q->visible(gone, q->visible_arg))
		json_array_append_new(*out, json_pack("{s:s, s:s}", "registration_id", gone, "path",
						      "/srv/removed/secret.log"));
	*next = f->audit_next;
	return 0;
}

static int fake_jobs(void *ctx, size_t limit, json_t **out)
{
	((struct fake *)ctx)->last_op = "jobs";
	*out = json_array();
	for (size_t i = 0; i < limit; i++)
		json_array_append_new(*out, json_pack("{s:I}", "job_id", (json_int_t)i + 1));
	return 0;
}

static int fake_reload(void *ctx, json_t **errors)
{
	struct fake *f = ctx;
	f->calls++;
	f->last_op = "reload";
	if (f->reload_fails) {
		*errors = json_pack("[s, s]", "a.conf:3: bad", "a.conf:4: worse");
		return HK_ECONFIG;
	}
	return 0;
}

static int fake_metrics(void *ctx, char **text)
{
	((struct fake *)ctx)->last_op = "metrics";
	*text = hk_xstrdup("housekeeper_files_deleted_total 0\n");
	return 0;
}

static const struct hk_ctl_ops fake_ops = {
	.get_registration = fake_get,
	.register_cleanup = fake_register,
	.update_cleanup_config = fake_update,
	.remove_cleanup_config = fake_remove,
	.get_cleanup_configs = fake_list,
	.run_cleanup = fake_run,
	.status = fake_status,
	.explain = fake_explain,
	.audit = fake_audit,
	.jobs = fake_jobs,
	.job_owner = fake_job_owner,
	.wait_job = fake_wait_job,
	.reload = fake_reload,
	.metrics = fake_metrics,
};

/* Per-test fixture: a fake with two registrations (an api one owned by
 * uid 1000 and a config one) and a temp directory. */
struct fx {
	struct fake fake;
	char tmp[64];
	char api_id[HK_UUID_LEN + 1];
	char cfg_id[HK_UUID_LEN + 1];
};

static struct hk_registration *mkreg(const char *id, const char *dir, enum hk_reg_source src,
				     uint32_t owner)
{
	struct hk_registration *r = hk_xcalloc(1, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->directory = hk_xstrdup(dir);
	r->pattern = hk_xstrdup("*");
	r->excludes = hk_xcalloc(1, sizeof(char *));
	r->priority = 100;
	r->age_by = HK_AGE_MTIME;
	r->has_retention = true;
	r->retention = 86400;
	r->source = src;
	r->owner_uid = owner;
	if (src == HK_SOURCE_CONFIG) {
		r->source_file = hk_xstrdup("/etc/housekeeper/conf.d/app.conf");
		r->source_line = 3;
	}
	return r;
}

static int setup(void **state)
{
	struct fx *fx = hk_xcalloc(1, sizeof(*fx));
	if (!test_tmpdir(fx->tmp, sizeof(fx->tmp), "ctl"))
		return -1;
	memcpy(fx->api_id, "aaaaaaaa-0000-0000-0000-000000000001", HK_UUID_LEN + 1);
	memcpy(fx->cfg_id, "cccccccc-0000-0000-0000-000000000002", HK_UUID_LEN + 1);
	fx->fake.regs[fx->fake.n++] = mkreg(fx->api_id, "/srv/app1/logs", HK_SOURCE_API, 1000);
	fx->fake.regs[fx->fake.n++] = mkreg(fx->cfg_id, "/srv/app2/logs", HK_SOURCE_CONFIG, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	for (size_t i = 0; i < fx->fake.n; i++)
		hk_registration_free(fx->fake.regs[i]);
	free(fx->fake.last_run_id);
	if (test_rmtree(fx->tmp) != 0)
		return -1;
	free(fx);
	return 0;
}

/* A deferred reply the op gave at once takes the sink's place. */
static void move_reply(struct hk_ctl_reply *from, void *arg)
{
	struct hk_ctl_reply *to = arg;
	hk_ctl_reply_fini(to);
	*to = *from;
	hk_ctl_reply_init(from);
}

static void settle(struct hk_ctl_reply *reply)
{
	struct hk_ctl_pending *p = reply->pending;
	if (!p)
		return;
	reply->pending = NULL;
	hk_ctl_pending_attach(p, move_reply, reply);
}

/* Dispatch op(args_text) as uid; returns the code, *msg the message
 * (owned; NULL on success), *result the result (owned). */
static int call_as(struct fx *fx, uid_t uid, const char *op, const char *args_text, char **msg,
		   json_t **result)
{
	json_error_t jerr;
	json_t *args = json_loads(args_text ? args_text : "{}", 0, &jerr);
	struct hk_ctl_request req = { .op = op, .args = args, .peer = { .uid = uid, .gid = uid, .pid = 4242 } };
	struct hk_ctl_reply reply;
	int code;

	if (!args)
		fail_msg("bad test JSON: %s: %s", args_text, jerr.text);
	hk_ctl_reply_init(&reply);
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	settle(&reply);
	code = reply.code;
	if (msg) {
		*msg = reply.message;
		reply.message = NULL;
	}
	if (result) {
		*result = reply.result;
		reply.result = NULL;
	}
	hk_ctl_reply_fini(&reply);
	json_decref(args);
	return code;
}

static void expect_error(struct fx *fx, uid_t uid, const char *op, const char *args, int code,
			 const char *message)
{
	char *msg = NULL;
	int r = call_as(fx, uid, op, args, &msg, NULL);
	if (r != code || !msg || strcmp(msg, message) != 0)
		fail_msg("%s %s as uid %u: got %d '%s', expected %d '%s'", op, args ? args : "",
			 (unsigned)uid, r, msg ? msg : "(null)", code, message);
	free(msg);
}

static void expect_ok(struct fx *fx, uid_t uid, const char *op, const char *args)
{
	char *msg = NULL;
	json_t *res = NULL;
	int r = call_as(fx, uid, op, args, &msg, &res);
	if (r != 0)
		fail_msg("%s %s as uid %u: got %d '%s'", op, args ? args : "", (unsigned)uid, r,
			 msg ? msg : "(null)");
	json_decref(res);
	free(msg);
}

/* Dispatch: messages ------------------------------------------------------------- */

static void test_unknown_op(void **state)
{
	expect_error(*state, 0, "frobnicate", NULL, HK_EPROTO, "unknown operation 'frobnicate'");
}

static void test_register_args(void **state)
{
	struct fx *fx = *state;

	expect_error(fx, 0, "register_cleanup", "{}", HK_ECONFIG, "directory: required");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"var/log\"}", HK_ECONFIG,
		     "directory: 'var/log' is not an absolute path");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"/srv/x/\"}", HK_ECONFIG,
		     "directory: '/srv/x/' is not a clean path (no trailing '/', '//', '.' or '..')");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"/srv/x\",\"pattern\":\"a/b\"}",
		     HK_ECONFIG, "pattern: 'a/b' contains '/' (it matches file names, not paths)");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"/srv/x\",\"retention\":-3}",
		     HK_ECONFIG,
		     "retention: expected seconds (a non-negative integer) or a duration string like \"30d\"");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"/srv/x\",\"bogus\":1}", HK_ECONFIG,
		     "bogus: unknown or read-only field");
	expect_error(fx, 0, "register_cleanup", "{\"directory\":\"/etc\"}", HK_ESYSDIR,
		     "directory: '/etc' is a system directory (to register it anyway, give it a "
		     "[cleanup] section with allow_system_directory = yes in the configuration, see "
		     "housekeeper.conf(5); or, as root, send the field allow_system_directory: true)");
	assert_int_equal(fx->fake.calls, 0);
}

static void test_register_units_and_idempotence(void **state)
{
	struct fx *fx = *state;
	json_t *res = NULL;
	char *msg = NULL;
	char id[HK_UUID_LEN + 1];

	assert_int_equal(call_as(fx, 0, "register_cleanup",
				 "{\"directory\":\"/srv/new\",\"pattern\":\"trace_*\",\"retention\":\"7d\","
				 "\"max_size\":\"500M\",\"max_files\":100}", &msg, &res), 0);
	assert_false(json_is_true(json_object_get(res, "existed")));
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(res, "id")));
	json_decref(res);
	struct hk_registration *r = fake_find(&fx->fake, id);
	assert_non_null(r);
	assert_int_equal(r->retention, 7 * 86400);
	assert_int_equal(r->max_size, 500 * 1024 * 1024);
	assert_int_equal(r->max_files, 100);
	assert_int_equal(r->source, HK_SOURCE_API);
	assert_int_equal(r->owner_uid, 0);
	/* again: the same id, flagged as existing */
	assert_int_equal(call_as(fx, 0, "register_cleanup",
				 "{\"directory\":\"/srv/new\",\"pattern\":\"trace_*\",\"retention\":604800}",
				 &msg, &res), 0);
	assert_string_equal(json_string_value(json_object_get(res, "id")), id);
	assert_true(json_is_true(json_object_get(res, "existed")));
	json_decref(res);
}

static void test_update_remove_args(void **state)
{
	struct fx *fx = *state;

	expect_error(fx, 0, "update_cleanup_config", "{}", -EINVAL,
		     "update_cleanup_config: missing argument 'id'");
	expect_error(fx, 0, "update_cleanup_config", "{\"id\":5}", -EINVAL,
		     "update_cleanup_config: 'id' must be a registration id (a string)");
	expect_error(fx, 0, "update_cleanup_config", "{\"id\":\"nope\",\"max_files\":3}", HK_ENOTFOUND,
		     "'nope' is neither the id nor the name of a registration");
	expect_error(fx, 0, "update_cleanup_config", "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\"}",
		     -EINVAL, "update_cleanup_config: no field to change");
	expect_error(fx, 0, "update_cleanup_config",
		     "{\"id\":\"cccccccc-0000-0000-0000-000000000002\",\"max_files\":3}", HK_ESOURCE,
		     "registration 'cccccccc-0000-0000-0000-000000000002' comes from "
		     "/etc/housekeeper/conf.d/app.conf:3; edit that file and reload");
	expect_error(fx, 0, "update_cleanup_config",
		     "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"max_size\":\"lots\"}", HK_ECONFIG,
		     "max_size: \"lots\": expected a number");
	expect_error(fx, 0, "remove_cleanup_config", "{}", -EINVAL,
		     "remove_cleanup_config: missing argument 'id'");
	expect_error(fx, 0, "remove_cleanup_config",
		     "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"force\":true}", -EINVAL,
		     "remove_cleanup_config: unknown argument 'force'");
	expect_error(fx, 0, "remove_cleanup_config", "{\"id\":\"cccccccc-0000-0000-0000-000000000002\"}",
		     HK_ESOURCE,
		     "registration 'cccccccc-0000-0000-0000-000000000002' comes from "
		     "/etc/housekeeper/conf.d/app.conf:3; edit that file and reload");
	assert_int_equal(fx->fake.calls, 0);

	/* a valid update merges: only the given fields change */
	expect_ok(fx, 0, "update_cleanup_config",
		  "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"max_files\":3,\"retention\":null}");
	struct hk_registration *r = fake_find(&fx->fake, fx->api_id);
	assert_int_equal(fx->fake.last_changed, HK_PROTO_F_MAX_FILES | HK_PROTO_F_RETENTION);
	assert_true(r->has_max_files);
	assert_int_equal(r->max_files, 3);
	assert_false(r->has_retention);
	assert_string_equal(r->directory, "/srv/app1/logs");
	assert_int_equal(r->owner_uid, 1000);
}

static void test_other_args(void **state)
{
	struct fx *fx = *state;
	json_t *res = NULL;

	expect_error(fx, 0, "run_cleanup", "{\"dry_run\":\"yes\"}", -EINVAL,
		     "run_cleanup: 'dry_run' must be true or false");
	expect_error(fx, 0, "run_cleanup", "{\"id\":\"nope\"}", HK_ENOTFOUND,
		     "'nope' is neither the id nor the name of a registration");
	expect_error(fx, 0, "explain", "{}", -EINVAL, "explain: missing argument 'path'");
	expect_error(fx, 0, "explain", "{\"path\":3}", -EINVAL, "explain: invalid argument 'path'");
	expect_error(fx, 0, "explain", "{\"path\":\"rel/x\"}", -EINVAL, "explain: path must be absolute");
	expect_error(fx, 0, "audit", "{\"since\":-1}", -EINVAL,
		     "audit: 'since' must be epoch seconds (a non-negative number)");
	expect_error(fx, 0, "status", "{\"verbose\":true}", -EINVAL, "status: unknown argument 'verbose'");
	assert_int_equal(call_as(fx, 0, "audit", "{\"since\":1700000000}", NULL, &res), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(res, "records"), 0), "since")),
			 1700000000);
	json_decref(res);
	/* reload errors come back as details */
	fx->fake.reload_fails = true;
	struct hk_ctl_request req = { .op = "reload", .args = json_object(), .peer = { 0 } };
	struct hk_ctl_reply reply;
	hk_ctl_reply_init(&reply);
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	assert_int_equal(reply.code, HK_ECONFIG);
	assert_string_equal(reply.message, "configuration has 2 errors; the running one stays in force");
	assert_int_equal(json_array_size(reply.details), 2);
	hk_ctl_reply_fini(&reply);
	json_decref((json_t *)req.args);
	/* a vtable slot left NULL */
	struct hk_ctl_ops partial = fake_ops;
	partial.jobs = NULL;
	req = (struct hk_ctl_request){ .op = "jobs", .args = json_object(), .peer = { 0 } };
	hk_ctl_reply_init(&reply);
	hk_ctl_dispatch(&partial, &fx->fake, &req, &reply);
	assert_int_equal(reply.code, -ENOSYS);
	assert_string_equal(reply.message, "jobs: not implemented by this daemon");
	hk_ctl_reply_fini(&reply);
	json_decref((json_t *)req.args);
}

/* Dispatch: authorization -------------------------------------------------------- */

static void test_read_ops_anyone(void **state)
{
	struct fx *fx = *state;
	static const char *const ops[][2] = {
		{ "get_cleanup_configs", NULL }, { "status", NULL }, { "jobs", NULL },
		{ "metrics", NULL }, { "version", NULL }, { "explain", "{\"path\":\"/srv/app1/logs/a\"}" },
		{ "audit", NULL }, { "run_cleanup", "{\"dry_run\":true}" },
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(ops); i++)
		expect_ok(fx, 54321, ops[i][0], ops[i][1]);
	assert_true(fx->fake.last_dry_run);
}

static void test_change_ops_matrix(void **state)
{
	struct fx *fx = *state;
	const char *upd = "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"priority\":5}";
	const char *run = "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\"}";

	/* another uid: refused, nothing called */
	expect_error(fx, 1001, "update_cleanup_config", upd, HK_EDENIED,
		     "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid 1000, "
		     "not to the caller (uid 1001)");
	expect_error(fx, 1001, "remove_cleanup_config", run, HK_EDENIED,
		     "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid 1000, "
		     "not to the caller (uid 1001)");
	expect_error(fx, 1001, "run_cleanup", run, HK_EDENIED,
		     "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid 1000, "
		     "not to the caller (uid 1001)");
	expect_error(fx, 1000, "run_cleanup", "{}", HK_EDENIED,
		     "only root may run every registration; give an id or dry_run");
	expect_error(fx, 1000, "run_cleanup", "{\"id\":\"cccccccc-0000-0000-0000-000000000002\"}",
		     HK_EDENIED, "registration 'cccccccc-0000-0000-0000-000000000002' comes from the "
		     "configuration; only root may run it");
	expect_error(fx, 1000, "reload", NULL, HK_EDENIED,
		     "reload: only root may reload the configuration");
	expect_error(fx, 1000, "update_cleanup_config",
		     "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"allow_system_directory\":true}",
		     HK_EDENIED, "allow_system_directory: only root may set it");
	assert_int_equal(fx->fake.calls, 0);

	/* the owner: allowed */
	expect_ok(fx, 1000, "update_cleanup_config", upd);
	assert_int_equal(fake_find(&fx->fake, fx->api_id)->priority, 5);
	expect_ok(fx, 1000, "run_cleanup", run);
	assert_string_equal(fx->fake.last_run_id, fx->api_id);
	assert_false(fx->fake.last_dry_run);
	/* root: allowed on anything api, all at once, reload */
	expect_ok(fx, 0, "update_cleanup_config", upd);
	expect_ok(fx, 0, "run_cleanup", "{}");
	assert_null(fx->fake.last_run_id);
	expect_ok(fx, 0, "run_cleanup", "{\"id\":\"cccccccc-0000-0000-0000-000000000002\"}");
	expect_ok(fx, 0, "reload", NULL);
	expect_ok(fx, 1000, "remove_cleanup_config", run);
	assert_null(fake_find(&fx->fake, fx->api_id));
}

/* The ids in the array at key (or the array itself with key NULL) of
 * res, joined with ',' in order (a new string). */
static char *ids_of(const json_t *res, const char *key, const char *field)
{
	const json_t *arr = key ? json_object_get(res, key) : res;
	struct hk_buf b = { 0 };
	const json_t *e;
	size_t i;

	hk_buf_append(&b, "", 0);
	json_array_foreach(arr, i, e)
		hk_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(json_object_get(e, field)));
	return b.data ? b.data : hk_xstrdup("");
}

static void expect_ids(struct fx *fx, uid_t uid, const char *op, const char *args, const char *key,
		       const char *field, const char *want)
{
	json_t *res = NULL;
	char *msg = NULL;
	int r = call_as(fx, uid, op, args, &msg, &res);
	if (r != 0)
		fail_msg("%s as uid %u: %d %s", op, (unsigned)uid, r, msg ? msg : "");
	char *got = ids_of(res, key, field);
	if (strcmp(got, want) != 0)
		fail_msg("%s as uid %u: got ids '%s', expected '%s'", op, (unsigned)uid, got, want);
	free(got);
	free(msg);
	json_decref(res);
}

/* audit pages: limit bounds, the cursor (position and registration),
 * next_cursor null at the end. */
static void test_audit_pages(void **state)
{
	struct fx *fx = *state;
	const char *api = "aaaaaaaa-0000-0000-0000-000000000001";
	char args[256];
	json_t *res = NULL;
	const char *cur;

	expect_error(fx, 0, "audit", "{\"limit\":0}", -EINVAL,
		     "audit: 'limit' must be an integer from 1 to 10000");
	expect_error(fx, 0, "audit", "{\"limit\":10001}", -EINVAL,
		     "audit: 'limit' must be an integer from 1 to 10000");
	expect_error(fx, 0, "audit", "{\"cursor\":\"c1-zz\"}", -EINVAL,
		     "audit: 'cursor' is not a cursor this daemon gave (pass next_cursor of the "
		     "previous page as it is)");
	expect_error(fx, 0, "audit", "{\"cursor\":3}", -EINVAL,
		     "audit: 'cursor' is not a cursor this daemon gave (pass next_cursor of the "
		     "previous page as it is)");
	/* defaults and bounds reach the op */
	assert_int_equal(call_as(fx, 0, "audit", NULL, NULL, &res), 0);
	assert_true(json_is_null(json_object_get(res, "next_cursor")));
	assert_int_equal(fx->fake.last_audit.limit, 1000);
	assert_int_equal(fx->fake.last_audit.max_bytes, HK_CTL_AUDIT_BYTES);
	assert_int_equal(fx->fake.last_audit.max_visit, HK_CTL_AUDIT_VISIT);
	assert_int_equal(fx->fake.last_audit.from, 0);
	assert_null(fx->fake.last_audit.visible);
	json_decref(res);
	/* a cursor continues at its position */
	fx->fake.audit_next = UINT64_C(0x17f00000000abcd);
	assert_int_equal(call_as(fx, 0, "audit", "{\"limit\":5}", NULL, &res), 0);
	assert_int_equal(fx->fake.last_audit.limit, 5);
	cur = json_string_value(json_object_get(res, "next_cursor"));
	assert_non_null(cur);
	assert_string_equal(cur, "c1-017f00000000abcd");
	snprintf(args, sizeof(args), "{\"cursor\":\"%s\"}", cur);
	json_decref(res);
	assert_int_equal(call_as(fx, 1000, "audit", args, NULL, &res), 0);
	assert_int_equal(fx->fake.last_audit.from, UINT64_C(0x17f00000000abcd));
	assert_non_null(fx->fake.last_audit.visible);   /* redaction applies to every page */
	json_decref(res);
	/* a query of one registration: its cursor carries the id */
	snprintf(args, sizeof(args), "{\"id\":\"%s\"}", api);
	assert_int_equal(call_as(fx, 1000, "audit", args, NULL, &res), 0);
	cur = json_string_value(json_object_get(res, "next_cursor"));
	assert_non_null(cur);
	assert_int_equal(strlen(cur), 3 + 16 + 1 + 72);
	snprintf(args, sizeof(args), "{\"cursor\":\"%s\"}", cur);
	json_decref(res);
	/* the owner goes on; another uid is refused as for the id itself */
	expect_ids(fx, 1000, "audit", args, "records", "registration_id", api);
	expect_error(fx, 1001, "audit", args, HK_EDENIED,
		     "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid 1000, not "
		     "to the caller (uid 1001)");
	/* a cursor of one registration with another's id */
	snprintf(args + strlen(args) - 1, sizeof(args) - strlen(args) + 1,
		 ",\"id\":\"cccccccc-0000-0000-0000-000000000002\"}");
	expect_error(fx, 0, "audit", args, -EINVAL,
		     "audit: the cursor continues a query of another registration");
}

/* SPEC 9: audit records, explain results and run reports only of the
 * caller's own registrations, unless it is root. */
static void test_read_redaction(void **state)
{
	struct fx *fx = *state;
	const char *api = "aaaaaaaa-0000-0000-0000-000000000001";
	const char *all = "aaaaaaaa-0000-0000-0000-000000000001,cccccccc-0000-0000-0000-000000000002";
	const char *path = "{\"path\":\"/srv/app1/logs/a\"}";
	json_t *res = NULL;

	/* audit: root sees every record, removed registrations' included */
	expect_ids(fx, 0, "audit", NULL, "records", "registration_id",
		   "aaaaaaaa-0000-0000-0000-000000000001,cccccccc-0000-0000-0000-000000000002,"
		   "dddddddd-0000-0000-0000-000000000009");
	/* the owner only its own; another uid nothing, not the config's */
	expect_ids(fx, 1000, "audit", NULL, "records", "registration_id", api);
	expect_ids(fx, 1001, "audit", NULL, "records", "registration_id", "");
	expect_ids(fx, 1000, "audit", "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\"}", "records",
		   "registration_id", api);
	expect_error(fx, 1001, "audit", "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\"}",
		     HK_EDENIED, "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid "
		     "1000, not to the caller (uid 1001)");
	expect_error(fx, 1000, "audit", "{\"id\":\"cccccccc-0000-0000-0000-000000000002\"}",
		     HK_EDENIED, "registration 'cccccccc-0000-0000-0000-000000000002' comes from the "
		     "configuration; only root may read its records");
	expect_error(fx, 1000, "audit", "{\"id\":\"dddddddd-0000-0000-0000-000000000009\"}",
		     HK_ENOTFOUND, "'dddddddd-0000-0000-0000-000000000009' is neither the id nor the name of a registration");

	/* explain: others' results left out, only counted */
	expect_ids(fx, 0, "explain", path, "registrations", "id", all);
	expect_ids(fx, 1000, "explain", path, "registrations", "id", api);
	expect_ids(fx, 1001, "explain", path, "registrations", "id", "");
	assert_int_equal(call_as(fx, 1001, "explain", path, NULL, &res), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "other_registrations")), 2);
	char *text = json_dumps(res, 0);
	assert_null(strstr(text, "size"));
	assert_null(strstr(text, "delete_at"));
	free(text);
	json_decref(res);
	assert_int_equal(call_as(fx, 0, "explain", path, NULL, &res), 0);
	assert_null(json_object_get(res, "other_registrations"));
	json_decref(res);

	/* run reports: a dry run of another's registration is refused... */
	expect_error(fx, 1001, "run_cleanup",
		     "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"dry_run\":true}", HK_EDENIED,
		     "registration 'aaaaaaaa-0000-0000-0000-000000000001' belongs to uid 1000, "
		     "not to the caller (uid 1001)");
	expect_error(fx, 1000, "run_cleanup",
		     "{\"id\":\"cccccccc-0000-0000-0000-000000000002\",\"dry_run\":true}", HK_EDENIED,
		     "registration 'cccccccc-0000-0000-0000-000000000002' comes from the "
		     "configuration; only root may run it");
	assert_int_equal(fx->fake.calls, 0);
	/* ...and a dry run of all is the caller's own: the op gets the peer */
	expect_ok(fx, 1000, "run_cleanup", "{\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\","
		  "\"dry_run\":true}");
	expect_ok(fx, 1001, "run_cleanup", "{\"dry_run\":true}");
	assert_null(fx->fake.last_run_id);
	assert_int_equal(fx->fake.last_run_uid, 1001);
	expect_ok(fx, 0, "run_cleanup", "{\"id\":\"cccccccc-0000-0000-0000-000000000002\","
		  "\"dry_run\":true}");
	assert_int_equal(fx->fake.last_run_uid, 0);
}

/* Register a directory as uid; returns the code and frees the message. */
static int register_as(struct fx *fx, uid_t uid, const char *dir, char **msg)
{
	char *args = hk_xasprintf("{\"directory\":\"%s\"}", dir);
	int r = call_as(fx, uid, "register_cleanup", args, msg, NULL);
	free(args);
	return r;
}

static void test_register_ownership(void **state)
{
	struct fx *fx = *state;
	char *own = hk_xasprintf("%s/own", fx->tmp);
	char *link = hk_xasprintf("%s/link", fx->tmp);
	char *via = hk_xasprintf("%s/link/sub", fx->tmp);
	char *sub = hk_xasprintf("%s/own/sub", fx->tmp);
	char *missing = hk_xasprintf("%s/missing", fx->tmp);
	char *file = hk_xasprintf("%s/file", fx->tmp);
	char *msg = NULL, *expect;
	uid_t me = getuid();
	uid_t user = me == 0 ? 4321 : me;

	assert_int_equal(mkdir(own, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(symlink(own, link), 0);
	close(open(file, O_CREAT | O_WRONLY, 0644));
	if (me == 0) {
		assert_int_equal(chown(own, user, user), 0);
		assert_int_equal(chown(sub, user, user), 0);
		assert_int_equal(chown(fx->tmp, user, user), 0);
	}

	/* the owner registers its own directory */
	assert_int_equal(register_as(fx, user, own, &msg), 0);
	/* but not through a symlink */
	assert_int_equal(register_as(fx, user, via, &msg), HK_EDENIED);
	expect = hk_xasprintf("directory: '%s' goes through the symlink '%s'; register the real path",
			      via, link);
	assert_string_equal(msg, expect);
	free(expect);
	free(msg);
	/* nor a directory that does not exist, nor a file */
	assert_int_equal(register_as(fx, user, missing, &msg), -ENOENT);
	free(msg);
	assert_int_equal(register_as(fx, user, file, &msg), -ENOTDIR);
	free(msg);
	/* nor may root: the engine would not follow it, and a path its owner
	 * can turn into a symlink must not pass for the target (SPEC 4) */
	assert_int_equal(register_as(fx, 0, via, &msg), HK_EDENIED);
	expect = hk_xasprintf("directory: '%s' goes through the symlink '%s'; register the real path",
			      via, link);
	assert_string_equal(msg, expect);
	free(expect);
	free(msg);
	/* a path whose last component is the symlink, too */
	assert_int_equal(register_as(fx, 0, link, &msg), HK_EDENIED);
	free(msg);
	/* root may name a directory that does not exist yet */
	assert_int_equal(register_as(fx, 0, missing, &msg), 0);

	/* someone else's directory: needs a directory owned by another uid */
	if (me == 0) {
		char *other = hk_xasprintf("%s/other", fx->tmp);
		assert_int_equal(mkdir(other, 0755), 0);
		assert_int_equal(chown(other, 9999, 9999), 0);
		assert_int_equal(register_as(fx, user, other, &msg), HK_EDENIED);
		expect = hk_xasprintf("directory: '%s' is owned by uid 9999, not by the caller (uid %u)",
				      other, (unsigned)user);
		assert_string_equal(msg, expect);
		free(expect);
		free(msg);
		assert_int_equal(register_as(fx, 0, other, &msg), 0);
		/* update of the owner's registration to someone else's directory */
		char *args = hk_xasprintf("{\"id\":\"%s\",\"directory\":\"%s\"}",
					  fx->fake.regs[2]->id, other);
		fx->fake.regs[2]->owner_uid = user;
		assert_int_equal(call_as(fx, user, "update_cleanup_config", args, &msg, NULL), HK_EDENIED);
		free(msg);
		free(args);
		free(other);
	} else {
		print_message("not root: skipping the someone-else's-directory cases\n");
	}
	free(own);
	free(link);
	free(via);
	free(sub);
	free(missing);
	free(file);
}

static void test_handle_payload(void **state)
{
	struct fx *fx = *state;
	struct hk_ctl_peer peer = { .uid = 0, .pid = 1 };
	char *frame = NULL;
	size_t len = 0;
	const char *req = "{\"v\":1,\"id\":8,\"op\":\"version\"}";

	hk_ctl_handle_payload(&fake_ops, &fx->fake, &peer, req, strlen(req), &frame, &len);
	const char *want = "{\"v\":1,\"id\":8,\"ok\":true,\"result\":{\"version\":\""
			   PACKAGE_VERSION "\",\"protocol\":1}}";
	assert_int_equal(len, 4 + strlen(want));
	assert_memory_equal(frame + 4, want, strlen(want));
	free(frame);
}

/* The socket ---------------------------------------------------------------------- */

/* Run the loop until cond(arg) or the timeout; returns cond's last value. */
static bool spin(struct ev_loop *loop, bool (*cond)(void *), void *arg, double seconds)
{
	int64_t end = hk_time_mono_ns() + (int64_t)(seconds * 1e9);
	while (!cond(arg)) {
		if (hk_time_mono_ns() > end)
			return false;
		ev_run(loop, EVRUN_NOWAIT);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

struct conn {
	int fd;
	char buf[65536];
	size_t len;
	bool eof;
};

static int conn_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void conn_send(struct conn *c, const void *data, size_t len)
{
	assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void conn_send_json(struct conn *c, const char *text)
{
	unsigned char hdr[4];
	size_t n = strlen(text);
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
	conn_send(c, hdr, 4);
	conn_send(c, text, n);
}

/* Poll c for a complete frame (or EOF). */
static bool conn_ready(void *arg)
{
	struct conn *c = arg;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1, MSG_DONTWAIT);
	if (n == 0)
		c->eof = true;
	else if (n > 0)
		c->len += (size_t)n;
	if (c->len >= 4) {
		size_t want = (size_t)((unsigned char)c->buf[0] << 24 | (unsigned char)c->buf[1] << 16 |
				       (unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]);
		if (c->len >= 4 + want)
			return true;
	}
	return c->eof;
}

static bool conn_eof(void *arg)
{
	struct conn *c = arg;
	conn_ready(c);
	return c->eof;
}

/* Wait for one response; returns its payload (owned) and drops it from buf. */
static json_t *conn_response(struct ev_loop *loop, struct conn *c)
{
	json_t *j;
	size_t want;

	assert_true(spin(loop, conn_ready, c, 5.0));
	assert_true(c->len >= 4);
	want = (size_t)((unsigned char)c->buf[0] << 24 | (unsigned char)c->buf[1] << 16 |
			(unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]);
	j = json_loadb(c->buf + 4, want, 0, NULL);
	assert_non_null(j);
	memmove(c->buf, c->buf + 4 + want, c->len - 4 - want);
	c->len -= 4 + want;
	return j;
}

static int error_code(const json_t *resp)
{
	return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static void test_socket(void **state)
{
	struct fx *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hk_ctl *ctl = NULL;
	char *path = hk_xasprintf("%s/run/sub/ctl.sock", fx->tmp);
	char *cause = NULL;
	struct conn garbage = { 0 }, big = { 0 }, half = { 0 }, good = { 0 };
	json_t *r;
	struct stat st;

	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	hk_ctl_set_timeouts(ctl, 0.3, 5.0, 60.0);

	/* garbage JSON: an error, the connection stays usable */
	garbage.fd = conn_open(path);
	conn_send_json(&garbage, "this is not json");
	r = conn_response(loop, &garbage);
	assert_int_equal(error_code(r), HK_EPROTO);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	conn_send_json(&garbage, "{\"v\":2,\"id\":4,\"op\":\"status\"}");
	r = conn_response(loop, &garbage);
	assert_int_equal(error_code(r), HK_EPROTO);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 4);
	json_decref(r);

	/* an oversized length: refused before buffering, then disconnected */
	big.fd = conn_open(path);
	conn_send(&big, "\x7f\xff\xff\xff", 4);
	r = conn_response(loop, &big);
	assert_int_equal(error_code(r), HK_EPROTO);
	json_decref(r);
	assert_true(spin(loop, conn_eof, &big, 5.0));

	/* a half-sent request: dropped after the read timeout */
	half.fd = conn_open(path);
	conn_send(&half, "\0\0\0\x40{\"v\":1,", 10);
	assert_true(spin(loop, conn_eof, &half, 5.0));

	/* a valid request, sent in two pieces (pipelined with a second) */
	good.fd = conn_open(path);
	conn_send(&good, "\0\0\0", 3);
	ev_run(loop, EVRUN_NOWAIT);
	const char *req = "{\"v\":1,\"id\":1,\"op\":\"version\"}";
	unsigned char n = (unsigned char)strlen(req);
	conn_send(&good, &n, 1);
	conn_send(&good, req, strlen(req));
	conn_send_json(&good, "{\"v\":1,\"id\":2,\"op\":\"get_cleanup_configs\"}");
	r = conn_response(loop, &good);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "version")),
			    PACKAGE_VERSION);
	json_decref(r);
	r = conn_response(loop, &good);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);

	/* the earlier client with garbage is still served */
	conn_send_json(&garbage, "{\"v\":1,\"id\":5,\"op\":\"status\"}");
	r = conn_response(loop, &garbage);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	close(garbage.fd);
	close(big.fd);
	close(half.fd);
	close(good.fd);
	hk_ctl_free(ctl);
	assert_int_equal(lstat(path, &st), -1);
	ev_loop_destroy(loop);
	free(path);
}


/* Serving from inside the engine's long work (hk_ctl_serve_urgent): without
 * a turn of the loop, a new connection is accepted and its status or
 * metrics request answered; anything else (a reload, a page of the audit
 * trail) waits for the loop, which then answers it. The urgent fd is
 * readable only while something waits that may be served there. */
static bool urgent_readable(const struct hk_ctl *ctl)
{
	struct pollfd p = { .fd = hk_ctl_urgent_fd(ctl), .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

static void test_socket_urgent(void **state)
{
	struct fx *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hk_ctl *ctl = NULL;
	char *path = hk_xasprintf("%s/urgent.sock", fx->tmp);
	char *cause = NULL;
	struct conn a = { 0 }, b = { 0 };
	json_t *r;

	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), 0);
	assert_false(urgent_readable(ctl));
	a.fd = conn_open(path);
	conn_send_json(&a, "{\"v\":1,\"id\":1,\"op\":\"status\"}");
	assert_true(urgent_readable(ctl));
	hk_ctl_serve_urgent(ctl);
	assert_string_equal(fx->fake.last_op, "status");
	assert_true(conn_ready(&a));
	r = conn_response(loop, &a);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	conn_send_json(&a, "{\"v\":1,\"id\":2,\"op\":\"metrics\"}");
	hk_ctl_serve_urgent(ctl);
	assert_string_equal(fx->fake.last_op, "metrics");
	r = conn_response(loop, &a);
	json_decref(r);

	/* a reload and an audit page: read, not done, until the loop runs */
	int calls = fx->fake.calls;
	conn_send_json(&a, "{\"v\":1,\"id\":3,\"op\":\"reload\"}");
	b.fd = conn_open(path);
	conn_send_json(&b, "{\"v\":1,\"id\":4,\"op\":\"audit\"}");
	hk_ctl_serve_urgent(ctl);
	hk_ctl_serve_urgent(ctl);
	assert_int_equal(fx->fake.calls, calls);
	assert_string_equal(fx->fake.last_op, "metrics");
	assert_false(conn_ready(&a));
	assert_false(conn_ready(&b));
	/* both wait for the loop: nothing more to serve, so no busy looking */
	assert_false(urgent_readable(ctl));
	r = conn_response(loop, &a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
	assert_int_equal(fx->fake.calls, calls + 1);
	json_decref(r);
	r = conn_response(loop, &b);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 4);
	assert_string_equal(fx->fake.last_op, "audit");
	json_decref(r);

	/* a client that hangs up is dropped from the set, not served forever */
	close(b.fd);
	assert_true(urgent_readable(ctl));
	hk_ctl_serve_urgent(ctl);
	assert_int_equal(hk_ctl_clients(ctl), 1);
	assert_false(urgent_readable(ctl));

	close(a.fd);
	hk_ctl_free(ctl);
	ev_loop_destroy(loop);
	free(path);
}

/* Deferred replies ------------------------------------------------------------------ */

static void test_deferred_reply(void **state)
{
	struct fx *fx = *state;
	json_t *args = json_pack("{s:b}", "dry_run", 1);
	struct hk_ctl_request req = { .op = "run_cleanup", .args = args, .peer = { 0 } };
	struct hk_ctl_reply reply, got;
	struct hk_ctl_pending *p;
	json_t *res = NULL;

	fx->fake.defer_runs = true;
	hk_ctl_reply_init(&reply);
	hk_ctl_reply_init(&got);
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	assert_int_equal(reply.code, 0);
	assert_null(reply.result);
	assert_non_null(reply.pending);
	p = reply.pending;
	reply.pending = NULL;
	hk_ctl_pending_attach(p, move_reply, &got);
	assert_null(got.result);                     /* nothing until the op is done */
	assert_ptr_equal(fx->fake.pending, p);
	hk_ctl_reply_set_result(hk_ctl_pending_reply(p), json_pack("{s:s}", "outcome", "ok"));
	fx->fake.pending = NULL;
	hk_ctl_pending_done(p);
	assert_string_equal(json_string_value(json_object_get(got.result, "outcome")), "ok");
	hk_ctl_reply_fini(&got);

	/* the client goes away: the op's cancel runs, nothing is delivered */
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	p = reply.pending;
	reply.pending = NULL;
	hk_ctl_pending_attach(p, move_reply, &got);
	hk_ctl_pending_cancel(p);
	assert_int_equal(fx->fake.cancelled, 1);
	assert_null(fx->fake.pending);
	assert_null(got.result);

	/* a sink dropped with its deferral still in it cancels it too */
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	hk_ctl_reply_fini(&reply);
	assert_int_equal(fx->fake.cancelled, 2);
	json_decref(args);

	/* no_wait: the job id at once */
	fx->fake.defer_runs = false;
	assert_int_equal(call_as(fx, 0, "run_cleanup", "{\"dry_run\":true,\"no_wait\":true}", NULL,
				 &res), 0);
	assert_true(json_integer_value(json_object_get(res, "job_id")) > 0);
	assert_null(json_object_get(res, "outcome"));
	json_decref(res);
}

static void test_wait_job_args(void **state)
{
	struct fx *fx = *state;
	json_t *res = NULL;

	expect_error(fx, 0, "wait_job", "{}", -EINVAL,
		     "wait_job: missing argument 'job_id' (a job number)");
	expect_error(fx, 0, "wait_job", "{\"job_id\":0}", -EINVAL,
		     "wait_job: invalid argument 'job_id' (a job number)");
	expect_error(fx, 0, "wait_job", "{\"job_id\":7,\"timeout\":-1}", -EINVAL,
		     "wait_job: 'timeout' must be seconds (a non-negative number)");
	expect_error(fx, 0, "wait_job", "{\"job_id\":7,\"x\":1}", -EINVAL,
		     "wait_job: unknown argument 'x'");
	expect_error(fx, 0, "wait_job", "{\"job_id\":99}", HK_ENOTFOUND, "no job with id 99");
	/* another uid waits only for its own jobs */
	expect_error(fx, 1001, "wait_job", "{\"job_id\":7}", HK_EDENIED,
		     "job 7 was not started by the caller (uid 1001)");
	expect_error(fx, 1000, "wait_job", "{\"job_id\":8}", HK_EDENIED,
		     "job 8 was not started by the caller (uid 1000)");
	assert_int_equal(call_as(fx, 1000, "wait_job", "{\"job_id\":7}", NULL, &res), 0);
	assert_true(json_is_true(json_object_get(res, "done")));
	json_decref(res);
	assert_true(fx->fake.last_timeout < 0);
	expect_ok(fx, 0, "wait_job", "{\"job_id\":7,\"timeout\":2.5}");
	assert_true(fx->fake.last_timeout == 2.5);
	/* jobs: a limit */
	assert_int_equal(call_as(fx, 1000, "jobs", "{\"limit\":3}", NULL, &res), 0);
	assert_int_equal(json_array_size(res), 3);
	json_decref(res);
	expect_error(fx, 0, "jobs", "{\"limit\":0}", -EINVAL, "jobs: 'limit' must be a positive integer");
}

static bool fake_pending_set(void *arg)
{
	return ((struct fake *)arg)->pending != NULL;
}

static bool fake_cancelled(void *arg)
{
	return ((struct fake *)arg)->cancelled > 0;
}

/* A client waiting for a job is not idle: neither the request nor the idle
 * timeout cuts it off; it gets the answer when the op completes, and one
 * that goes away cancels its wait. */
static void test_socket_waiting_client(void **state)
{
	struct fx *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hk_ctl *ctl = NULL;
	char *path = hk_xasprintf("%s/wait.sock", fx->tmp);
	char *cause = NULL;
	struct conn a = { 0 }, b = { 0 };
	json_t *r;

	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), 0);
	hk_ctl_set_timeouts(ctl, 0.2, 5.0, 0.2);
	hk_ctl_set_user_idle_timeout(ctl, 0.2);
	fx->fake.defer_runs = true;
	a.fd = conn_open(path);
	conn_send_json(&a, "{\"v\":1,\"id\":3,\"op\":\"run_cleanup\",\"args\":{\"dry_run\":true}}");
	/* pipelined: served after the answer */
	conn_send_json(&a, "{\"v\":1,\"id\":4,\"op\":\"version\"}");
	assert_false(spin(loop, conn_ready, &a, 0.8));  /* no answer, no disconnection */
	assert_non_null(fx->fake.pending);
	struct hk_ctl_pending *p = fx->fake.pending;
	fx->fake.pending = NULL;
	hk_ctl_reply_set_result(hk_ctl_pending_reply(p), json_pack("{s:s}", "outcome", "ok"));
	hk_ctl_pending_done(p);
	r = conn_response(loop, &a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "outcome")), "ok");
	json_decref(r);
	r = conn_response(loop, &a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 4);
	json_decref(r);

	b.fd = conn_open(path);
	conn_send_json(&b, "{\"v\":1,\"id\":1,\"op\":\"run_cleanup\",\"args\":{\"dry_run\":true}}");
	assert_true(spin(loop, fake_pending_set, &fx->fake, 5.0));
	close(b.fd);
	assert_true(spin(loop, fake_cancelled, &fx->fake, 5.0));
	assert_null(fx->fake.pending);

	close(a.fd);
	hk_ctl_free(ctl);
	ev_loop_destroy(loop);
	free(path);
}

static bool clients_are(void *arg)
{
	void **a = arg;
	return hk_ctl_clients(a[0]) == (size_t)(uintptr_t)a[1];
}

static void test_socket_client_cap(void **state)
{
	struct fx *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hk_ctl *ctl = NULL;
	char *path = hk_xasprintf("%s/cap.sock", fx->tmp);
	char *cause = NULL;
	int fds[HK_CTL_MAX_CLIENTS];
	struct conn extra = { 0 };
	json_t *r;
	/* as root the whole table; as another uid, that uid's cap (fair.h) */
	int max = geteuid() == 0 ? HK_CTL_MAX_CLIENTS : HK_FAIR_UID_CLIENTS;

	assert_int_equal(hk_ctl_create(loop, path, 0600, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), 0);
	for (int i = 0; i < max; i++)
		fds[i] = conn_open(path);
	void *arg[2] = { ctl, (void *)(uintptr_t)max };
	assert_true(spin(loop, clients_are, arg, 5.0));
	extra.fd = conn_open(path);
	r = conn_response(loop, &extra);
	assert_int_equal(error_code(r), HK_EBUSY);
	json_decref(r);
	assert_true(spin(loop, conn_eof, &extra, 5.0));
	close(extra.fd);
	for (int i = 0; i < max; i++)
		close(fds[i]);
	arg[1] = (void *)(uintptr_t)0;
	assert_true(spin(loop, clients_are, arg, 5.0));
	hk_ctl_free(ctl);
	ev_loop_destroy(loop);
	free(path);
}

static void test_socket_path_safety(void **state)
{
	struct fx *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hk_ctl *ctl = NULL, *ctl2 = NULL;
	char *path = hk_xasprintf("%s/s.sock", fx->tmp);
	char *target = hk_xasprintf("%s/target", fx->tmp);
	char *cause = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	/* a regular file: refused, left alone */
	close(open(path, O_CREAT | O_WRONLY, 0644));
	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), -EEXIST);
	assert_non_null(strstr(cause, "exists and is not a socket"));
	free(cause);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
	/* a symlink (even to nothing): refused, never followed */
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), -EEXIST);
	free(cause);
	assert_int_equal(lstat(target, &st), -1);
	unlink(path);
	/* a stale socket nobody listens on: replaced */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl, &cause), 0);
	/* a live one: refused */
	assert_int_equal(hk_ctl_create(loop, path, 0660, (gid_t)-1, &fake_ops, &fx->fake, &ctl2, &cause), HK_EBUSY);
	free(cause);
	assert_null(ctl2);
	hk_ctl_free(ctl);
	ev_loop_destroy(loop);
	free(path);
	free(target);
}

/* The client library against the server ------------------------------------------- */

struct server {
	struct ev_loop *loop;
	struct hk_ctl *ctl;
	ev_async stop;
	thrd_t thread;
};

static void server_stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static int server_main(void *arg)
{
	struct server *s = arg;
	ev_run(s->loop, 0);
	return 0;
}

static void test_client_no_daemon(void **state)
{
	struct fx *fx = *state;
	struct hk_client *c = (struct hk_client *)1;
	char *path = hk_xasprintf("%s/absent.sock", fx->tmp);
	int64_t t0 = hk_time_mono_ns();

	assert_int_equal(hk_connect(path, &c), HK_ENODAEMON);
	assert_null(c);
	/* a stale socket file (nobody listening) too */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(hk_connect(path, &c), HK_ENODAEMON);
	close(fd);
	/* $HOUSEKEEPER_SOCKET is used when no path is given */
	setenv("HOUSEKEEPER_SOCKET", fx->tmp, 1);
	assert_int_equal(hk_connect(NULL, &c), HK_ENODAEMON);
	unsetenv("HOUSEKEEPER_SOCKET");
	assert_true(hk_time_mono_ns() - t0 < HK_NSEC_PER_SEC / 2);
	assert_string_equal(hk_default_socket_path(), HK_RUNSTATEDIR "/housekeeper.sock");
	free(path);
}

static void test_client_library(void **state)
{
	struct fx *fx = *state;
	struct server s = { 0 };
	char *path = hk_xasprintf("%s/lib.sock", fx->tmp);
	char *cause = NULL, *id = NULL, *text = NULL, *msg;
	struct hk_client *c = NULL;
	struct hk_cleanup_config *cfgs = NULL;
	size_t n = 0;
	char *dir = hk_xasprintf("%s/applogs", fx->tmp);
	const char *excl[] = { "current.log", "keep-\xff.log" };

	assert_int_equal(mkdir(dir, 0755), 0);
	s.loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(hk_ctl_create(s.loop, path, 0600, (gid_t)-1, &fake_ops, &fx->fake, &s.ctl, &cause), 0);
	ev_async_init(&s.stop, server_stop_cb);
	ev_async_start(s.loop, &s.stop);
	assert_int_equal(thrd_create(&s.thread, server_main, &s), thrd_success);

	assert_int_equal(hk_connect(path, &c), 0);
	struct hk_cleanup_spec spec = HK_CLEANUP_SPEC_INIT;
	spec.directory = dir;
	spec.pattern = "trace_*";
	spec.retention = 7 * 86400;
	spec.has_retention = true;
	spec.max_files = 100;
	spec.has_max_files = true;
	spec.exclude = excl;
	spec.n_exclude = 2;
	assert_int_equal(hk_register_cleanup(c, &spec, &id), 0);
	assert_int_equal(strlen(id), HK_UUID_LEN);

	assert_int_equal(hk_get_cleanup_configs(c, &cfgs, &n), 0);
	assert_int_equal(n, 3);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cfgs[i].id, id) != 0)
			continue;
		found = true;
		assert_string_equal(cfgs[i].directory, dir);
		assert_string_equal(cfgs[i].pattern, "trace_*");
		assert_true(cfgs[i].has_retention);
		assert_int_equal(cfgs[i].retention, 7 * 86400);
		assert_int_equal(cfgs[i].max_files, 100);
		assert_false(cfgs[i].has_max_size);
		assert_int_equal(cfgs[i].n_exclude, 2);
		assert_string_equal(cfgs[i].exclude[1], "keep-\xff.log");
		assert_int_equal(cfgs[i].source, HK_CLEANUP_SOURCE_API);
	}
	assert_true(found);
	hk_cleanup_configs_free(cfgs, n);

	struct hk_cleanup_spec upd = HK_CLEANUP_SPEC_INIT;
	upd.max_size = 1024;
	upd.has_max_size = true;
	assert_int_equal(hk_update_cleanup_config(c, id, &upd), 0);
	assert_int_equal(hk_update_cleanup_config(c, "nope", &upd), HK_ENOTFOUND);
	msg = hk_client_last_error(c);
	assert_string_equal(msg, "'nope' is neither the id nor the name of a registration");
	free(msg);

	/* the keys of SPEC 5's later limits: new calls, struct hk_cleanup_spec unchanged */
	struct hk_cleanup_limits lim = HK_CLEANUP_LIMITS_INIT;
	lim.min_free = "10%";
	lim.low_watermark = "80%";
	lim.skip_open = true;
	lim.has_skip_open = true;
	assert_int_equal(hk_update_cleanup_limits(c, id, NULL, &lim), 0);
	assert_int_equal(fx->fake.last_changed, HK_PROTO_F_MIN_FREE | HK_PROTO_F_LOW_WATERMARK |
					       HK_PROTO_F_SKIP_OPEN);
	assert_int_equal(hk_call(c, "get_cleanup_configs", NULL, &text), 0);
	assert_non_null(strstr(text, "\"min_free\":\"10%\""));
	assert_non_null(strstr(text, "\"low_watermark\":\"80%\""));
	assert_non_null(strstr(text, "\"skip_open\":true"));
	assert_non_null(strstr(text, "\"free_target\":null"));
	free(text);
	struct hk_cleanup_limits bad = HK_CLEANUP_LIMITS_INIT;
	bad.low_watermark = "0%";
	assert_int_equal(hk_update_cleanup_limits(c, id, &upd, &bad), HK_ECONFIG);
	msg = hk_client_last_error(c);
	assert_non_null(msg);
	assert_int_equal(strncmp(msg, "low_watermark: ", 15), 0);
	free(msg);
	lim.min_free = "";   /* back to none */
	lim.size = 1;
	assert_int_equal(hk_update_cleanup_limits(c, id, NULL, &lim), -EINVAL);
	assert_int_equal(hk_update_cleanup_limits(c, id, NULL, NULL), -EINVAL);
	lim.size = sizeof(lim);
	assert_int_equal(hk_update_cleanup_limits(c, id, NULL, &lim), 0);
	assert_int_equal(hk_call(c, "get_cleanup_configs", NULL, &text), 0);
	assert_non_null(strstr(text, "\"min_free\":null"));
	free(text);
	struct hk_cleanup_spec spec2 = HK_CLEANUP_SPEC_INIT;
	spec2.directory = dir;
	spec2.pattern = "other_*";
	struct hk_cleanup_limits lim2 = HK_CLEANUP_LIMITS_INIT;
	lim2.unit = "directory";
	char *id2 = NULL;
	assert_int_equal(hk_register_cleanup_limits(c, &spec2, &lim2, &id2), 0);
	assert_int_equal(hk_call(c, "get_cleanup_configs", NULL, &text), 0);
	assert_non_null(strstr(text, "\"unit\":\"directory\""));
	free(text);
	assert_int_equal(hk_remove_cleanup_config(c, id2), 0);
	free(id2);

	assert_int_equal(hk_run_cleanup(c, id, true, &text), 0);
	assert_non_null(strstr(text, "\"dry_run\":true"));
	free(text);

	assert_int_equal(hk_call(c, "status", NULL, &text), 0);
	assert_string_equal(text, "[]");
	free(text);
	assert_int_equal(hk_call(c, "metrics", "{}", &text), 0);
	assert_string_equal(text, "\"housekeeper_files_deleted_total 0\\n\"");
	free(text);
	assert_int_equal(hk_call(c, "nosuchop", NULL, &text), HK_EPROTO);
	assert_non_null(strstr(text, "\"name\":\"HK_EPROTO\""));
	free(text);
	assert_int_equal(hk_call(c, "status", "[1]", &text), -EINVAL);
	assert_null(text);

	assert_int_equal(hk_remove_cleanup_config(c, id), 0);
	assert_int_equal(hk_remove_cleanup_config(c, id), HK_ENOTFOUND);

	/* the server drops an idle connection: the next call reconnects */
	hk_ctl_set_timeouts(s.ctl, 5.0, 5.0, 0.05);
	assert_int_equal(hk_call(c, "version", NULL, &text), 0);   /* re-arms with the new idle limit */
	free(text);
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(hk_call(c, "version", NULL, &text), 0);
	free(text);

	ev_async_send(s.loop, &s.stop);
	thrd_join(s.thread, NULL);
	/* daemon gone: a clear error, no hang, no SIGPIPE */
	hk_ctl_free(s.ctl);
	assert_int_equal(hk_call(c, "version", NULL, &text), HK_ENODAEMON);
	hk_disconnect(c);
	hk_disconnect(NULL);
	ev_loop_destroy(s.loop);
	free(id);
	free(dir);
	free(path);
}

/* Fairness (fair.h) ---------------------------------------------------------------- */

static void test_fair_bucket(void **state)
{
	struct hk_fair_bucket b;
	double wait = -1;

	hk_fair_bucket_init(&b, 10, 100.0);
	for (int i = 0; i < 10; i++)
		assert_true(hk_fair_bucket_take(&b, 1.0, 10, 100.0, NULL));
	assert_false(hk_fair_bucket_take(&b, 1.0, 10, 100.0, &wait));
	assert_true(wait > 0.99 && wait < 1.01);
	assert_false(hk_fair_bucket_take(&b, 1.0, 10, 100.5, &wait));
	assert_true(wait > 0.49 && wait < 0.51);
	assert_true(hk_fair_bucket_take(&b, 1.0, 10, 101.0, NULL));
	assert_false(hk_fair_bucket_take(&b, 1.0, 10, 101.0, NULL));
	/* a long pause refills up to the burst, not beyond */
	for (int i = 0; i < 10; i++)
		assert_true(hk_fair_bucket_take(&b, 1.0, 10, 1000.0, NULL));
	assert_false(hk_fair_bucket_take(&b, 1.0, 10, 1000.0, NULL));
	/* a clock going back refills nothing */
	assert_false(hk_fair_bucket_take(&b, 1.0, 10, 900.0, NULL));
}

static void test_fair_slots(void **state)
{
	struct hk_fair *f = hk_fair_create(HK_CTL_MAX_CLIENTS, HK_FAIR_ROOT_SLOTS, HK_FAIR_UID_CLIENTS);
	const size_t users = (HK_CTL_MAX_CLIENTS - HK_FAIR_ROOT_SLOTS) / HK_FAIR_UID_CLIENTS;

	/* one uid: its cap, then refused as such */
	for (int i = 0; i < HK_FAIR_UID_CLIENTS; i++)
		assert_int_equal(hk_fair_client_add(f, 1000), HK_FAIR_OK);
	assert_int_equal(hk_fair_client_add(f, 1000), HK_FAIR_UID_CAP);
	assert_int_equal(hk_fair_clients(f, 1000), HK_FAIR_UID_CLIENTS);
	/* more uids up to the non-root share: then full for anyone but root */
	for (uid_t u = 1001; u < 1000 + users; u++)
		for (int i = 0; i < HK_FAIR_UID_CLIENTS; i++)
			assert_int_equal(hk_fair_client_add(f, u), HK_FAIR_OK);
	assert_int_equal(hk_fair_total(f), HK_CTL_MAX_CLIENTS - HK_FAIR_ROOT_SLOTS);
	assert_int_equal(hk_fair_client_add(f, 2000), HK_FAIR_FULL);
	assert_int_equal(hk_fair_clients(f, 2000), 0);
	/* root's reserved slots, then full for root too */
	for (int i = 0; i < HK_FAIR_ROOT_SLOTS; i++)
		assert_int_equal(hk_fair_client_add(f, 0), HK_FAIR_OK);
	assert_int_equal(hk_fair_client_add(f, 0), HK_FAIR_FULL);
	assert_int_equal(hk_fair_total(f), HK_CTL_MAX_CLIENTS);
	/* a slot given back by a user is a user's again; root's is root's */
	hk_fair_client_remove(f, 1000);
	assert_int_equal(hk_fair_client_add(f, 2000), HK_FAIR_OK);
	hk_fair_client_remove(f, 0);
	assert_int_equal(hk_fair_client_add(f, 2000), HK_FAIR_FULL);
	assert_int_equal(hk_fair_client_add(f, 0), HK_FAIR_OK);
	/* root may use slots users left free */
	hk_fair_client_remove(f, 2000);
	assert_int_equal(hk_fair_client_add(f, 0), HK_FAIR_OK);
	assert_int_equal(hk_fair_clients(f, 0), HK_FAIR_ROOT_SLOTS + 1);
	assert_int_equal(hk_fair_client_add(f, 2000), HK_FAIR_FULL);
	/* removing what is not there changes nothing */
	hk_fair_client_remove(f, 4242);
	assert_int_equal(hk_fair_total(f), HK_CTL_MAX_CLIENTS);
	hk_fair_free(f);
	hk_fair_free(NULL);
}

static void test_fair_runs_and_logs(void **state)
{
	struct hk_fair *f = hk_fair_create(HK_CTL_MAX_CLIENTS, HK_FAIR_ROOT_SLOTS, HK_FAIR_UID_CLIENTS);
	double wait = 0;
	size_t suppressed = 99;

	for (int i = 0; i < 1000; i++)
		assert_true(hk_fair_run_take(f, 0, 5.0, NULL));
	for (int i = 0; i < (int)HK_FAIR_RUN_BURST; i++)
		assert_true(hk_fair_run_take(f, 1000, 5.0, NULL));
	assert_false(hk_fair_run_take(f, 1000, 5.0, &wait));
	assert_true(wait > 0 && wait <= 1.0 / HK_FAIR_RUN_RATE + 0.01);
	assert_true(hk_fair_run_take(f, 1001, 5.0, NULL));          /* uids do not share */
	assert_true(hk_fair_run_take(f, 1000, 5.0 + 1.0 / HK_FAIR_RUN_RATE, NULL));
	/* refusal log lines: one per interval per uid, the rest counted */
	assert_true(hk_fair_log_due(f, 1000, 10.0, &suppressed));
	assert_int_equal(suppressed, 0);
	assert_false(hk_fair_log_due(f, 1000, 11.0, NULL));
	assert_false(hk_fair_log_due(f, 1000, 12.0, NULL));
	assert_true(hk_fair_log_due(f, 1001, 12.0, NULL));
	assert_true(hk_fair_log_due(f, 1000, 10.0 + HK_FAIR_LOG_INTERVAL, &suppressed));
	assert_int_equal(suppressed, 2);
	/* many uids that ran once and left do not pile up: later calls prune them */
	for (uid_t u = 3000; u < 4000; u++)
		assert_true(hk_fair_run_take(f, u, 100.0, NULL));
	assert_true(hk_fair_run_take(f, 5000, 100.0 + 2 * HK_FAIR_RUN_BURST / HK_FAIR_RUN_RATE, NULL));
	hk_fair_free(f);
}

/* Dispatch run_cleanup as uid with the rations f at now. */
static int run_fair(struct fx *fx, struct hk_fair *f, uid_t uid, double now, char **msg)
{
	json_t *args = json_pack("{s:b}", "dry_run", 1);
	struct hk_ctl_request req = { .op = "run_cleanup", .args = args,
				      .peer = { .uid = uid, .gid = uid, .pid = 4242 },
				      .fair = f, .now = now };
	struct hk_ctl_reply reply;
	hk_ctl_reply_init(&reply);
	hk_ctl_dispatch(&fake_ops, &fx->fake, &req, &reply);
	int code = reply.code;
	if (msg) {
		*msg = reply.message;
		reply.message = NULL;
	}
	hk_ctl_reply_fini(&reply);
	json_decref(args);
	return code;
}

static void test_run_rate_limit(void **state)
{
	struct fx *fx = *state;
	struct hk_fair *f = hk_fair_create(HK_CTL_MAX_CLIENTS, HK_FAIR_ROOT_SLOTS, HK_FAIR_UID_CLIENTS);
	char *msg = NULL;

	for (int i = 0; i < (int)HK_FAIR_RUN_BURST; i++)
		assert_int_equal(run_fair(fx, f, 1000, 1.0, NULL), 0);
	int calls = fx->fake.calls;
	assert_int_equal(run_fair(fx, f, 1000, 1.0, &msg), HK_EBUSY);
	assert_non_null(strstr(msg, "rate limited"));
	free(msg);
	assert_int_equal(fx->fake.calls, calls);        /* the op was never called */
	/* root and other uids are not held back */
	for (int i = 0; i < 3 * (int)HK_FAIR_RUN_BURST; i++)
		assert_int_equal(run_fair(fx, f, 0, 1.0, NULL), 0);
	assert_int_equal(run_fair(fx, f, 1001, 1.0, NULL), 0);
	/* a token later */
	assert_int_equal(run_fair(fx, f, 1000, 1.0 + 1.0 / HK_FAIR_RUN_RATE, NULL), 0);
	/* without rations (hk_ctl_dispatch of tests, hk_ctl_handle_payload): no limit */
	for (int i = 0; i < 3 * (int)HK_FAIR_RUN_BURST; i++)
		assert_int_equal(run_fair(fx, NULL, 1000, 1.0, NULL), 0);
	hk_fair_free(f);
}

/* The queries whose answers can be large take turns under the server's
 * per-iteration budget; status and the rest never wait behind them. The
 * names are the protocol's "op" values (a check of a field the requests
 * do not have once made every query light). */
static void test_heavy_ops(void **state)
{
	(void)state;
	assert_true(ctl_op_heavy("audit"));
	assert_true(ctl_op_heavy("jobs"));
	assert_true(ctl_op_heavy("explain"));
	assert_true(ctl_op_heavy("get_cleanup_configs"));
	assert_false(ctl_op_heavy("status"));
	assert_false(ctl_op_heavy("metrics"));
	assert_false(ctl_op_heavy("run_cleanup"));
	assert_false(ctl_op_heavy("nosuch"));
	assert_false(ctl_op_heavy(NULL));
	/* answered from inside long work: in-memory reads only */
	assert_true(ctl_op_urgent("status"));
	assert_true(ctl_op_urgent("metrics"));
	assert_false(ctl_op_urgent("audit"));
	assert_false(ctl_op_urgent("reload"));
	assert_false(ctl_op_urgent("run_cleanup"));
	assert_false(ctl_op_urgent("register_cleanup"));
	assert_false(ctl_op_urgent(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_units_and_idempotence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_remove_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_ops_anyone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_ops_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_redaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_ownership, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_urgent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_job_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_waiting_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_client_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_path_safety, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_no_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_library, setup, teardown),
		cmocka_unit_test(test_fair_bucket),
		cmocka_unit_test(test_fair_slots),
		cmocka_unit_test(test_fair_runs_and_logs),
		cmocka_unit_test(test_heavy_ops),
		cmocka_unit_test_setup_teardown(test_run_rate_limit, setup, teardown),
	};
	hk_log_init("test_ctl", HK_LOG_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
