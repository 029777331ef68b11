/*
 * ctl_ops.c - the control operations: the handler of each operation
 * (register, update, remove, list, status, explain, audit, reload,
 * metrics, version; the job operations are ctl_jobs.c), the dispatch
 * table, and one request's way from its payload to its reply frame.
 * Handlers see a request and a reply sink, never a socket (ctl.c).
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_int.h"
#include "log.h"
#include "proto.h"
#include "proto_records.h"
#include "util.h"

/* Handlers ---------------------------------------------------------------------- */

static void ctl_op_register(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			    struct hk_ctl_reply *reply)
{
	struct hk_registration *reg = hk_xcalloc(1, sizeof(*reg));
	char id[HK_UUID_LEN + 1] = "";
	char *cause = NULL;
	unsigned set = 0;
	bool existed = false;
	json_t *res;
	int r;

	hk_registration_set_defaults(reg);
	reg->source = HK_SOURCE_API;
	reg->owner_uid = req->peer.uid;
	r = hk_proto_registration_parse(req->args, NULL, reg, &set, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	if (!(set & HK_PROTO_F_DIRECTORY)) {
		hk_ctl_reply_set_error(reply, HK_ECONFIG, "directory: required");
		goto out;
	}
	if (!ctl_check_registration(req, reply, reg, set))
		goto out;
	r = ops->register_cleanup(ctx, reg, &req->peer, id, &existed, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	free(cause);
	id[HK_UUID_LEN] = '\0';
	log_info("ctl", "%s: %s as %s (pattern %s) by uid %u pid %d", reg->directory,
		 existed ? "registration updated" : "registered", id, reg->pattern,
		 (unsigned)req->peer.uid, (int)req->peer.pid);
	res = json_pack("{s:s, s:b}", "id", id, "existed", existed);
	hk_ctl_reply_set_result(reply, res);
out:
	hk_registration_free(reg);
}

static void ctl_op_update(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			  struct hk_ctl_reply *reply)
{
	static const char *const ignore[] = { "id", NULL };
	struct hk_registration *reg = NULL;
	const char *id;
	char *cause = NULL;
	unsigned set = 0;
	int r;

	if (!ctl_arg_id(req, reply, true, &id))
		goto out;
	reg = ctl_get_changeable(ops, ctx, req, reply, id, false, true, "change it");
	if (!reg)
		goto out;
	r = hk_proto_registration_parse(req->args, ignore, reg, &set, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	if (!set) {
		hk_ctl_reply_set_error(reply, -EINVAL, "update_cleanup_config: no field to change");
		goto out;
	}
	if (!ctl_check_registration(req, reply, reg, set))
		goto out;
	r = ops->update_cleanup_config(ctx, reg, set, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	free(cause);
	log_info("ctl", "%s: registration %s updated by uid %u pid %d", reg->directory,
		 reg->name && *reg->name ? reg->name : reg->id, (unsigned)req->peer.uid,
		 (int)req->peer.pid);
	hk_ctl_reply_set_result(reply, json_pack("{s:s}", "id", reg->id));
out:
	hk_registration_free(reg);
}

static void ctl_op_remove(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			  struct hk_ctl_reply *reply)
{
	static const char *const allowed[] = { "id", NULL };
	struct hk_registration *reg = NULL;
	const char *id;
	char *cause = NULL;
	int r;

	if (!ctl_args_only(req, reply, allowed) || !ctl_arg_id(req, reply, true, &id))
		goto out;
	reg = ctl_get_changeable(ops, ctx, req, reply, id, false, true, "change it");
	if (!reg)
		goto out;
	r = ops->remove_cleanup_config(ctx, reg->id, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	free(cause);
	log_info("ctl", "%s: registration %s removed by uid %u pid %d", reg->directory,
		 reg->name && *reg->name ? reg->name : reg->id, (unsigned)req->peer.uid,
		 (int)req->peer.pid);
	hk_ctl_reply_set_result(reply, json_pack("{s:s}", "id", reg->id));
out:
	hk_registration_free(reg);
}

static void ctl_op_list(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			struct hk_ctl_reply *reply)
{
	json_t *out = NULL;

	if (!ctl_args_only(req, reply, NULL))
		return;
	int r = ops->get_cleanup_configs(ctx, &out);

	ctl_reply_json(reply, r, out, NULL, true);
}

static void ctl_op_status(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			  struct hk_ctl_reply *reply)
{
	json_t *out = NULL;

	if (!ctl_args_only(req, reply, NULL))
		return;
	int r = ops->status(ctx, &out);

	ctl_reply_json(reply, r, out, NULL, false);
}

static void ctl_op_explain(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			   struct hk_ctl_reply *reply)
{
	static const char *const allowed[] = { "path", "path_b64", NULL };
	char *path = NULL, *cause = NULL;
	json_t *out = NULL;
	int r;

	if (!ctl_args_only(req, reply, allowed))
		return;
	r = hk_proto_get_bytes(req->args, "path", &path, NULL);
	if (r < 0 || !*path) {
		hk_ctl_reply_set_error(reply, -EINVAL, "explain: %s argument 'path'",
				       r == -ENOENT ? "missing" : "invalid");
		goto out;
	}
	if (path[0] != '/') {
		hk_ctl_reply_set_error(reply, -EINVAL, "explain: path must be absolute");
		goto out;
	}
	r = ops->explain(ctx, path, &out, &cause);
	if (r >= 0 && json_is_object(out)) {
		ctl_redact_explain(ops, ctx, &req->peer, out);
		ctl_add_names(ops, ctx, json_object_get(out, "registrations"), "id", "name");
	}
	ctl_reply_json(reply, r, out, cause, false);
out:
	free(path);
}

/* The audit cursor: "c1-" 16 hex digits of the position, then, for a
 * query of one registration, "-" and its id in hex (shell-safe, opaque). */
#define CTL_CURSOR_PREFIX "c1-"

static json_t *ctl_audit_cursor(uint64_t next, const char *id)
{
	struct hk_buf b = { 0 };
	json_t *s;

	if (!next)
		return json_null();
	hk_buf_printf(&b, CTL_CURSOR_PREFIX "%016" PRIx64, next);
	if (id) {
		hk_buf_printf(&b, "-");
		for (const unsigned char *p = (const unsigned char *)id; *p; p++)
			hk_buf_printf(&b, "%02x", *p);
	}
	s = json_stringn(b.data, b.len);
	hk_buf_fini(&b);
	return s;
}

static int ctl_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a cursor: its position and (new string or NULL) registration id. */
static bool ctl_audit_cursor_parse(const char *s, uint64_t *from, char **id)
{
	size_t plen = strlen(CTL_CURSOR_PREFIX), n = strlen(s);
	char buf[HK_UUID_LEN + 1];
	size_t k = 0;

	*from = 0;
	*id = NULL;
	if (n < plen + 16 || strncmp(s, CTL_CURSOR_PREFIX, plen) != 0)
		return false;
	for (size_t i = plen; i < plen + 16; i++) {
		if (ctl_hex(s[i]) < 0)
			return false;
		*from = (*from << 4) | (uint64_t)ctl_hex(s[i]);
	}
	s += plen + 16;
	if (!*s)
		return *from != 0;
	if (*s++ != '-' || strlen(s) % 2 || strlen(s) / 2 > HK_UUID_LEN || !*s)
		return false;
	for (; *s; s += 2) {
		int hi = ctl_hex(s[0]), lo = ctl_hex(s[1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		buf[k++] = (char)(hi << 4 | lo);
	}
	buf[k] = '\0';
	*id = hk_xstrdup(buf);
	return *from != 0;
}

/* The audit arguments: since, limit and cursor into q (and *cursor_id). */
static bool ctl_audit_args(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
			   struct hk_ctl_audit_query *q, char **cursor_id)
{
	static const char *const allowed[] = { "since", "id", "limit", "cursor", NULL };
	const json_t *since = json_object_get(req->args, "since");
	const json_t *limit = json_object_get(req->args, "limit");
	const json_t *cursor = json_object_get(req->args, "cursor");

	if (!ctl_args_only(req, reply, allowed))
		return false;
	if (since && !json_is_null(since)) {
		if (!json_is_number(since) || json_number_value(since) < 0) {
			hk_ctl_reply_set_error(reply, -EINVAL,
					       "audit: 'since' must be epoch seconds (a non-negative number)");
			return false;
		}
		q->since = (int64_t)json_number_value(since);
	}
	if (limit && !json_is_null(limit)) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
		    json_integer_value(limit) > HK_PROTO_AUDIT_LIMIT_MAX) {
			hk_ctl_reply_set_error(reply, -EINVAL, "audit: 'limit' must be an integer "
					       "from 1 to %d", HK_PROTO_AUDIT_LIMIT_MAX);
			return false;
		}
		q->limit = (size_t)json_integer_value(limit);
	}
	if (cursor && !json_is_null(cursor) &&
	    (!json_is_string(cursor) ||
	     !ctl_audit_cursor_parse(json_string_value(cursor), &q->from, cursor_id))) {
		hk_ctl_reply_set_error(reply, -EINVAL, "audit: 'cursor' is not a cursor this daemon "
				       "gave (pass next_cursor of the previous page as it is)");
		return false;
	}
	return true;
}

/* Is s shaped like a registration id (a UUID: 36 characters, hex digits
 * and dashes at 8, 13, 18, 23)? */
static bool ctl_uuid_shaped(const char *s)
{
	if (strlen(s) != HK_UUID_LEN)
		return false;
	for (size_t i = 0; i < HK_UUID_LEN; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : ctl_hex(s[i]) < 0)
			return false;
	return true;
}

/* The registration an audit query is about, as an id: a name is resolved;
 * an id that is not registered (any more) stays as given, so that the
 * records of a removed registration can be read (*known false); anything
 * else is an error that names what the user typed. For another uid, the
 * same refusal as a run of someone else's registration. NULL with the
 * reply set when refused. */
static char *ctl_audit_reg(const struct hk_ctl_ops *ops, void *ctx,
			   const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
			   const char *id, bool *known)
{
	struct hk_registration *reg = NULL;
	char *out;

	if (req->peer.uid != 0) {
		reg = ctl_get_changeable(ops, ctx, req, reply, id, true, true, "read its records");
		if (!reg)
			return NULL;
	} else if (ops->get_registration && ops->get_registration(ctx, id, &reg) < 0) {
		reg = NULL;
	}
	if (!reg && !ctl_uuid_shaped(id)) {
		hk_ctl_reply_set_error(reply, HK_ENOTFOUND,
				       "'%s' is neither the id nor the name of a registration", id);
		return NULL;
	}
	*known = reg != NULL;
	out = hk_xstrdup(reg ? reg->id : id);
	hk_registration_free(reg);
	return out;
}

static void ctl_op_audit(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			 struct hk_ctl_reply *reply)
{
	struct hk_ctl_audit_query q = { .limit = HK_PROTO_AUDIT_LIMIT,
					.max_bytes = HK_CTL_AUDIT_BYTES,
					.max_visit = HK_CTL_AUDIT_VISIT };
	struct ctl_audit_vis vis = { ops, ctx, &req->peer, NULL };
	char *cursor_id = NULL, *reg_id = NULL;
	const char *id;
	json_t *out = NULL;
	uint64_t next = 0;
	bool known = true;
	int r;

	if (!ctl_arg_id(req, reply, false, &id) || !ctl_audit_args(req, reply, &q, &cursor_id))
		goto out;
	if (id || cursor_id) {
		reg_id = ctl_audit_reg(ops, ctx, req, reply, id ? id : cursor_id, &known);
		if (!reg_id)
			goto out;
		if (cursor_id && strcmp(reg_id, cursor_id) != 0) {
			hk_ctl_reply_set_error(reply, -EINVAL, "audit: the cursor continues a "
					       "query of another registration");
			goto out;
		}
	}
	q.id = reg_id;
	if (req->peer.uid != 0) {
		vis.seen = json_object();
		q.visible = ctl_redact_audit;
		q.visible_arg = &vis;
	}
	r = ops->audit(ctx, &q, &out, &next);
	if (r >= 0 && !known && !cursor_id && !next && json_array_size(out) == 0) {
		/* an id nobody has, nor had: an error, not an empty trail */
		json_decref(out);
		hk_ctl_reply_set_error(reply, HK_ENOTFOUND, "no registration has the id '%s', and "
				       "the audit trail has no record of one", reg_id);
		goto out;
	}
	if (r >= 0 && json_is_array(out)) {
		ctl_add_names(ops, ctx, out, "registration_id", "registration_name");
		out = json_pack("{s:o, s:o}", "records", out, "next_cursor",
				ctl_audit_cursor(next, reg_id));
		r = out ? r : -ENOMEM;
	}
	ctl_reply_json(reply, r, out, NULL, false);
	if (!reply->code && !json_is_object(reply->result))
		hk_ctl_reply_set_error(reply, HK_EPROTO, "internal error: bad result from the daemon");
out:
	json_decref(vis.seen);
	free(cursor_id);
	free(reg_id);
}

static void ctl_op_reload(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			  struct hk_ctl_reply *reply)
{
	json_t *errors = NULL;
	int r;

	if (!ctl_args_only(req, reply, NULL))
		return;
	if (req->peer.uid != 0) {
		hk_ctl_reply_set_error(reply, HK_EDENIED, "reload: only root may reload the configuration");
		return;
	}
	r = ops->reload(ctx, &errors);
	log_info("ctl", "configuration reload requested by uid %u pid %d: %s",
		 (unsigned)req->peer.uid, (int)req->peer.pid, r < 0 ? hk_strerror(r) : "done");
	if (r < 0) {
		size_t n = json_is_array(errors) ? json_array_size(errors) : 0;
		if (n)
			hk_ctl_reply_set_error(reply, r,
					       "configuration has %zu error%s; the running one stays in force",
					       n, n == 1 ? "" : "s");
		else
			hk_ctl_reply_set_error(reply, r, NULL);
		reply->details = errors;
		return;
	}
	json_decref(errors);
	hk_ctl_reply_set_result(reply, json_pack("{s:b}", "reloaded", true));
}

static void ctl_op_metrics(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			   struct hk_ctl_reply *reply)
{
	char *text = NULL;
	int r;

	if (!ctl_args_only(req, reply, NULL))
		return;
	r = ops->metrics(ctx, &text);
	if (r < 0 || !text) {
		free(text);
		hk_ctl_reply_set_error(reply, r < 0 ? r : HK_EPROTO, NULL);
		return;
	}
	hk_ctl_reply_set_result(reply, json_string(text));
	if (!reply->result)
		hk_ctl_reply_set_error(reply, HK_EPROTO, "metrics: text is not UTF-8");
	free(text);
}

static void ctl_op_version(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
			   struct hk_ctl_reply *reply)
{
	if (!ctl_args_only(req, reply, NULL))
		return;
	json_t *res = json_pack("{s:s, s:i}", "version", PACKAGE_VERSION, "protocol",
				HK_PROTO_VERSION);
	json_t *info = NULL;
	if (res && ops->daemon_info && ops->daemon_info(ctx, &info) == 0 && json_is_object(info))
		json_object_update(res, info);
	json_decref(info);
	hk_ctl_reply_set_result(reply, res);
}

/* The dispatch table. needs_write: the op may change state; its failures
 * are logged too. heavy: a query whose answer can be large (a page of
 * records, a list): such queries take turns across loop iterations
 * (ctl.c's budget). urgent: a cheap read-only query of in-memory state
 * that may be answered while the engine is in the middle of long work
 * (hk_ctl_serve_urgent: between deletion batches, between the files of
 * a batch); it must not touch the store,
 * whose write transaction may be open. ops_offset: the vtable slot that
 * must be set (or SIZE_MAX). */
static const struct ctl_handle {
	const char *op;
	ctl_handler_fn handler;
	bool needs_write;
	bool heavy;
	bool urgent;
	size_t ops_offset;
} ctl_handles[] = {
#define CTL_OP(o) offsetof(struct hk_ctl_ops, o)
	{ "register_cleanup", ctl_op_register, true, false, false, CTL_OP(register_cleanup) },
	{ "update_cleanup_config", ctl_op_update, true, false, false, CTL_OP(update_cleanup_config) },
	{ "remove_cleanup_config", ctl_op_remove, true, false, false, CTL_OP(remove_cleanup_config) },
	{ "get_cleanup_configs", ctl_op_list, false, true, false, CTL_OP(get_cleanup_configs) },
	{ "run_cleanup", ctl_op_run, true, false, false, CTL_OP(run_cleanup) },
	{ "status", ctl_op_status, false, false, true, CTL_OP(status) },
	{ "explain", ctl_op_explain, false, true, false, CTL_OP(explain) },
	{ "audit", ctl_op_audit, false, true, false, CTL_OP(audit) },
	{ "jobs", ctl_op_jobs, false, true, false, CTL_OP(jobs) },
	{ "wait_job", ctl_op_wait_job, false, false, false, CTL_OP(wait_job) },
	{ "reload", ctl_op_reload, true, false, false, CTL_OP(reload) },
	{ "metrics", ctl_op_metrics, false, false, true, CTL_OP(metrics) },
	{ "version", ctl_op_version, false, false, false, SIZE_MAX },
#undef CTL_OP
};

static const struct ctl_handle *ctl_handle_of(const char *op)
{
	for (size_t i = 0; op && i < HK_ARRAY_SIZE(ctl_handles); i++)
		if (strcmp(op, ctl_handles[i].op) == 0)
			return &ctl_handles[i];
	return NULL;
}

bool ctl_op_heavy(const char *op)
{
	const struct ctl_handle *h = ctl_handle_of(op);
	return h && h->heavy;
}

bool ctl_op_urgent(const char *op)
{
	const struct ctl_handle *h = ctl_handle_of(op);
	return h && h->urgent;
}

void hk_ctl_dispatch(const struct hk_ctl_ops *ops, void *ops_ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply)
{
	const struct ctl_handle *h = ctl_handle_of(req->op);

	if (!h) {
		hk_ctl_reply_set_error(reply, HK_EPROTO, "unknown operation '%s'", req->op);
		return;
	}
	if (h->ops_offset != SIZE_MAX) {
		void (*fn)(void);
		memcpy(&fn, (const char *)ops + h->ops_offset, sizeof(fn));
		if (!fn) {
			hk_ctl_reply_set_error(reply, -ENOSYS, "%s: not implemented by this daemon",
					       req->op);
			return;
		}
	}
	log_debug("ctl", "uid %u pid %d: %s", (unsigned)req->peer.uid, (int)req->peer.pid, req->op);
	h->handler(ops, ops_ctx, req, reply);
	if (h->needs_write && reply->code < 0 && !reply->quiet)
		log_info("ctl", "%s by uid %u pid %d refused: %s", req->op, (unsigned)req->peer.uid,
			 (int)req->peer.pid, reply->message ? reply->message : hk_strerror(reply->code));
}

void ctl_encode(json_t *msg, int64_t id, char **frame, size_t *frame_len)
{
	int r = msg ? hk_proto_frame_encode(msg, HK_PROTO_MAX_RESPONSE, frame, frame_len) : -ENOMEM;

	json_decref(msg);
	if (r == HK_EPROTO) {
		msg = hk_proto_response_error(id, -EMSGSIZE, "reply too large for the protocol", NULL);
		r = msg ? hk_proto_frame_encode(msg, HK_PROTO_MAX_RESPONSE, frame, frame_len) : -ENOMEM;
		json_decref(msg);
	}
	if (r < 0) {
		fprintf(stderr, "housekeeper: out of memory\n");
		abort();
	}
}

void ctl_reply_encode(int64_t id, struct hk_ctl_reply *reply, char **frame, size_t *frame_len,
		      char **body, size_t *body_len)
{
	json_t *msg;

	if (reply->code >= 0 && reply->raw_result) {
		/* the envelope of hk_proto_response_ok around the text as it is,
		 * in the text's own buffer: a report of 100k files is 18 MB, and
		 * a fresh copy of it (its pages faulted in) held the loop for
		 * up to 0.3 s */
		struct hk_buf b = { 0 };
		hk_buf_append(&b, "0000", HK_PROTO_HEADER_LEN);
		hk_buf_printf(&b, "{\"v\":%d,\"id\":", HK_PROTO_VERSION);
		if (id >= 0)
			hk_buf_printf(&b, "%" PRId64, id);
		else
			hk_buf_append(&b, "null", 4);
		hk_buf_append(&b, ",\"ok\":true,\"result\":", 20);
		size_t len = b.len - HK_PROTO_HEADER_LEN + reply->raw_len + 1;
		if (len <= HK_PROTO_MAX_RESPONSE) {
			size_t head = b.len;
			for (int i = 0; i < HK_PROTO_HEADER_LEN; i++)
				b.data[i] = (char)((len >> (8 * (HK_PROTO_HEADER_LEN - 1 - i))) & 0xff);
			char *f = hk_xrealloc(reply->raw_result, reply->raw_len + 2);
			reply->raw_result = NULL;
			f[reply->raw_len] = '}';
			f[reply->raw_len + 1] = '\0';
			if (body) {   /* the text sent after the head, as it is */
				*frame = b.data;
				*frame_len = head;
				*body = f;
				*body_len = reply->raw_len + 1;
				return;
			}
			hk_buf_append(&b, f, reply->raw_len + 1);
			free(f);
			*frame = b.data;
			*frame_len = b.len;
			return;
		}
		hk_buf_fini(&b);
		msg = hk_proto_response_error(id, -EMSGSIZE, "reply too large for the protocol", NULL);
	} else if (reply->code < 0) {
		msg = hk_proto_response_error(id, reply->code, reply->message, reply->details);
		reply->details = NULL;
	} else {
		msg = hk_proto_response_ok(id, reply->result);
		reply->result = NULL;
	}
	ctl_encode(msg, id, frame, frame_len);
}

struct ctl_move {
	struct hk_ctl_reply *to;
	bool moved;
};

/* Deliver a deferred reply into another sink (to, emptied first). */
static void ctl_reply_move(struct hk_ctl_reply *from, void *arg)
{
	struct ctl_move *mv = arg;
	hk_ctl_reply_fini(mv->to);
	*mv->to = *from;
	mv->to->pending = NULL;
	hk_ctl_reply_init(from);
	mv->moved = true;
}

void ctl_handle_payload(const struct hk_ctl_ops *ops, void *ops_ctx, const struct hk_ctl_peer *peer,
			struct hk_fair *fair, double now, bool busy, const char *text, size_t len,
			char **frame, size_t *frame_len, struct hk_ctl_pending **pending,
			int64_t *req_id)
{
	struct hk_proto_request preq;
	struct hk_ctl_reply reply;
	char *cause = NULL;
	int r;

	*frame = NULL;
	hk_ctl_reply_init(&reply);
	r = hk_proto_request_parse(text, len, &preq, &cause);
	if (r < 0) {
		log_debug("ctl", "uid %u pid %d: bad request: %s", (unsigned)peer->uid, (int)peer->pid,
			  cause ? cause : hk_strerror(r));
		hk_ctl_reply_set_error(&reply, r, "%s", cause ? cause : hk_strerror(r));
	} else if (busy) {
		hk_ctl_reply_set_error(&reply, HK_EBUSY, "too many replies not read yet; "
				       "read them or try again later");
	} else {
		struct hk_ctl_request req = { .op = preq.op, .args = preq.args, .peer = *peer,
					      .fair = fair, .now = now };
		hk_ctl_dispatch(ops, ops_ctx, &req, &reply);
	}
	if (reply.pending && pending) {
		*pending = reply.pending;
		*req_id = preq.id;
		reply.pending = NULL;
	} else {
		if (reply.pending) {
			/* nothing waits here: take a reply the op gave at once, else cancel */
			struct ctl_move mv = { &reply, false };
			struct hk_ctl_pending *p = reply.pending;
			reply.pending = NULL;
			hk_ctl_pending_attach(p, ctl_reply_move, &mv);
			if (!mv.moved) {
				hk_ctl_pending_cancel(p);
				hk_ctl_reply_set_error(&reply, HK_EBUSY,
						       "%s: the answer comes later; only the socket "
						       "server can wait for it", preq.op);
			}
		}
		ctl_reply_encode(preq.id, &reply, frame, frame_len, NULL, NULL);
	}
	free(cause);
	hk_ctl_reply_fini(&reply);
	hk_proto_request_fini(&preq);
}

void hk_ctl_handle_payload(const struct hk_ctl_ops *ops, void *ops_ctx,
			   const struct hk_ctl_peer *peer, const char *text, size_t len,
			   char **frame, size_t *frame_len)
{
	ctl_handle_payload(ops, ops_ctx, peer, NULL, 0.0, false, text, len, frame, frame_len, NULL,
			   NULL);
}

