/*
 * ctl.c - the control socket server: socket creation, clients on the loop,
 * per-client limits, authorization and the dispatch table (see ctl.h).
 *
 * Invariants:
 * - A client is served one request at a time: while a reply is being
 *   written nothing more is read or decoded, so a client can never make
 *   the daemon buffer more than one reply plus one read chunk.
 * - Every client has exactly one deadline armed: finishing a started
 *   request (HK_CTL_READ_TIMEOUT), taking a pending reply
 *   (HK_CTL_WRITE_TIMEOUT), or idling (HK_CTL_IDLE_TIMEOUT for root,
 *   HK_FAIR_IDLE_TIMEOUT for another uid).
 * - Every client holds one slot of ctl->fair, taken at accept and given
 *   back in ctl_client_free; a connection without a slot is refused at
 *   once with an error frame.
 * - Nothing a client sends can stop the server: protocol errors answer
 *   with an error and, when the stream cannot continue (oversize frame),
 *   close that client only.
 * - Handlers (ctl_op_*) see a request and a reply sink, never a socket.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "ctl.h"
#include "ctl_int.h"
#include "fair.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define CTL_READ_CHUNK 65536
/* Queries (ctl_heavy) answered in one loop iteration: for about this long;
 * the others wait for the next iteration, so that status, events and
 * timers are served between pages (20 audit readers each asking for a
 * 1,000-record page built 20 pages, 100 ms, in one iteration). */
#define CTL_ITER_BUDGET_NS (4 * 1000 * 1000)

/* Reply sink ----------------------------------------------------------------- */

void hk_ctl_reply_init(struct hk_ctl_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
}

void hk_ctl_reply_fini(struct hk_ctl_reply *reply)
{
	hk_ctl_pending_cancel(reply->pending);   /* nobody took it over */
	free(reply->message);
	free(reply->raw_result);
	json_decref(reply->result);
	json_decref(reply->details);
	memset(reply, 0, sizeof(*reply));
}

void hk_ctl_reply_set_raw(struct hk_ctl_reply *reply, char *json_text, size_t len)
{
	json_decref(reply->result);
	reply->result = NULL;
	free(reply->raw_result);
	reply->raw_result = json_text;
	reply->raw_len = len;
	reply->code = 0;
}

void hk_ctl_reply_set_result(struct hk_ctl_reply *reply, json_t *result)
{
	free(reply->raw_result);
	reply->raw_result = NULL;
	json_decref(reply->result);
	reply->result = result;
	reply->code = 0;
}

void hk_ctl_reply_set_error(struct hk_ctl_reply *reply, int code, const char *fmt, ...)
{
	va_list ap;

	free(reply->message);
	reply->message = NULL;
	reply->code = code < 0 ? code : HK_EPROTO;
	if (fmt) {
		va_start(ap, fmt);
		reply->message = hk_xvasprintf(fmt, ap);
		va_end(ap);
	} else {
		reply->message = hk_xstrdup(hk_strerror(reply->code));
	}
}

/* Set an error from an op's return code and optional cause (freed). */
void ctl_reply_op_error(struct hk_ctl_reply *reply, int code, char *cause)
{
	if (cause)
		hk_ctl_reply_set_error(reply, code, "%s", cause);
	else
		hk_ctl_reply_set_error(reply, code, NULL);
	free(cause);
}

/* Argument helpers -------------------------------------------------------------- */

/* Refuse keys of args not in allowed (NULL-terminated). */
bool ctl_args_only(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
		   const char *const *allowed)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)req->args, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed && allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok) {
			hk_ctl_reply_set_error(reply, -EINVAL, "%s: unknown argument '%s'", req->op, key);
			return false;
		}
	}
	return true;
}

/* args["id"]: a registration id. required: missing is an error; else NULL
 * (absent or null) is allowed. Returns false with the reply set on error. */
bool ctl_arg_id(const struct hk_ctl_request *req, struct hk_ctl_reply *reply, bool required,
		const char **id)
{
	const json_t *v = json_object_get(req->args, "id");

	*id = NULL;
	if (!v || json_is_null(v)) {
		if (required) {
			hk_ctl_reply_set_error(reply, -EINVAL, "%s: missing argument 'id'", req->op);
			return false;
		}
		return true;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > HK_UUID_LEN || strlen(json_string_value(v)) != json_string_length(v)) {
		hk_ctl_reply_set_error(reply, -EINVAL, "%s: 'id' must be a registration id (a string)",
				       req->op);
		return false;
	}
	*id = json_string_value(v);
	return true;
}

bool ctl_arg_bool(const struct hk_ctl_request *req, struct hk_ctl_reply *reply, const char *key,
		  bool *out)
{
	const json_t *v = json_object_get(req->args, key);

	*out = false;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		hk_ctl_reply_set_error(reply, -EINVAL, "%s: '%s' must be true or false", req->op, key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* Authorization ------------------------------------------------------------------- */

/* Check the directory of an API registration as its path names it now,
 * walked component by component without following any symlink. A symlink
 * anywhere on the path is refused for every caller, root included: the
 * engine would not follow it anyway, and a path that can be turned into a
 * symlink is how one registration passes for another's directory. A
 * non-root caller must own an existing directory; root may name one that
 * does not exist (yet). */
static int ctl_dir_check(const char *path, uid_t uid, char **cause)
{
	struct stat st;
	size_t stop = 0;
	int r = hk_path_stat_nofollow(path, &st, &stop);
	char *walked = hk_xstrndup(path, stop ? stop : strlen(path));

	if (r == -ELOOP) {
		r = HK_EDENIED;
		*cause = hk_xasprintf("directory: '%s' goes through the symlink '%s'; "
				      "register the real path", path, walked);
	} else if (uid == 0) {
		r = 0;
	} else if (r == -ENOTDIR || (r == 0 && !S_ISDIR(st.st_mode))) {
		r = -ENOTDIR;
		*cause = hk_xasprintf("directory: '%s' is not a directory", walked);
	} else if (r < 0) {
		*cause = hk_xasprintf("directory: '%s': %s", walked, strerror(-r));
	} else if (st.st_uid != uid) {
		r = HK_EDENIED;
		*cause = hk_xasprintf("directory: '%s' is owned by uid %u, not by the caller (uid %u)",
				      path, (unsigned)st.st_uid, (unsigned)uid);
	}
	free(walked);
	return r;
}

/* Fetch registration id and check that the caller may change it. Returns
 * the copy (caller frees) or NULL with the reply set. */
struct hk_registration *ctl_get_changeable(const struct hk_ctl_ops *ops, void *ctx,
					   const struct hk_ctl_request *req,
					   struct hk_ctl_reply *reply, const char *id, bool config_ok,
					   bool check_owner, const char *verb)
{
	struct hk_registration *reg = NULL;
	int r;

	if (!ops->get_registration) {
		hk_ctl_reply_set_error(reply, -ENOSYS, "%s: not implemented by this daemon", req->op);
		return NULL;
	}
	r = ops->get_registration(ctx, id, &reg);
	if (r < 0 || !reg) {
		if (r == HK_ENOTFOUND || !reg)
			hk_ctl_reply_set_error(reply, HK_ENOTFOUND, "no registration with id '%s'", id);
		else
			hk_ctl_reply_set_error(reply, r, "%s: %s", id, hk_strerror(r));
		return NULL;
	}
	if (!config_ok && reg->source == HK_SOURCE_CONFIG) {
		hk_ctl_reply_set_error(reply, HK_ESOURCE,
				       "registration '%s' comes from %s:%u; edit that file and reload",
				       id, reg->source_file ? reg->source_file : "a configuration file",
				       reg->source_line);
		goto fail;
	}
	if (check_owner && req->peer.uid != 0 && reg->owner_uid != req->peer.uid) {
		if (reg->source == HK_SOURCE_CONFIG)
			hk_ctl_reply_set_error(reply, HK_EDENIED,
					       "registration '%s' comes from the configuration; "
					       "only root may %s", id, verb);
		else
			hk_ctl_reply_set_error(reply, HK_EDENIED,
					       "registration '%s' belongs to uid %u, not to the caller (uid %u)",
					       id, (unsigned)reg->owner_uid, (unsigned)req->peer.uid);
		goto fail;
	}
	return reg;
fail:
	hk_registration_free(reg);
	return NULL;
}

/* Checks shared by register and update on a filled-in registration. */
static bool ctl_check_registration(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
				   const struct hk_registration *reg, unsigned set)
{
	char *cause = NULL;
	int r;

	if (req->peer.uid != 0 && (set & HK_PROTO_F_ALLOW_SYSDIR) && reg->allow_system_directory) {
		hk_ctl_reply_set_error(reply, HK_EDENIED,
				       "allow_system_directory: only root may set it");
		return false;
	}
	r = hk_registration_validate(reg, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		return false;
	}
	if (set & HK_PROTO_F_DIRECTORY) {
		r = ctl_dir_check(reg->directory, req->peer.uid, &cause);
		if (r < 0) {
			ctl_reply_op_error(reply, r, cause);
			return false;
		}
	}
	return true;
}

/* Redaction of reads ------------------------------------------------------------- */

/* Is registration id the caller's own, for reads that show files (SPEC 9:
 * audit records, explain results, run reports)? Root's are everything; a
 * config registration is root's; an id no longer registered is nobody's
 * (its records may name files of a directory the caller cannot read).
 * seen caches the answers by id (a JSON object of booleans). */
static bool ctl_peer_owns(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_peer *peer,
			  const char *id, json_t *seen)
{
	struct hk_registration *reg = NULL;
	const json_t *known;
	bool owned;

	if (peer->uid == 0)
		return true;
	if (!id)
		return false;
	known = json_object_get(seen, id);
	if (known)
		return json_is_true(known);
	owned = ops->get_registration && ops->get_registration(ctx, id, &reg) == 0 && reg &&
		reg->source == HK_SOURCE_API && reg->owner_uid == peer->uid;
	hk_registration_free(reg);
	json_object_set_new(seen, id, json_boolean(owned));
	return owned;
}

/* explain for a non-root caller: only its own registrations' results;
 * of the others only how many cover the path (which the list of
 * registrations tells anyone), not the file's size, age or fate. */
static void ctl_redact_explain(const struct hk_ctl_ops *ops, void *ctx,
			       const struct hk_ctl_peer *peer, json_t *out)
{
	json_t *regs = json_object_get(out, "registrations");
	json_t *kept, *seen, *e;
	size_t i, others = 0;

	if (peer->uid == 0 || !json_is_array(regs))
		return;
	kept = json_array();
	seen = json_object();
	json_array_foreach(regs, i, e) {
		if (ctl_peer_owns(ops, ctx, peer, json_string_value(json_object_get(e, "id")), seen))
			json_array_append(kept, e);
		else
			others++;
	}
	json_object_set_new(out, "registrations", kept);
	if (others)
		json_object_set_new(out, "other_registrations", json_integer((json_int_t)others));
	json_decref(seen);
}

/* audit for a non-root caller: only the records of its own registrations,
 * filtered in the store's scan (struct hk_ctl_audit_query.visible), so a
 * page is filled with the caller's records however many of others lie in
 * between, within the scan's bound. */
struct ctl_audit_vis {
	const struct hk_ctl_ops *ops;
	void *ctx;
	const struct hk_ctl_peer *peer;
	json_t *seen;
};

static bool ctl_redact_audit(const char *reg_id, void *arg)
{
	struct ctl_audit_vis *v = arg;

	return ctl_peer_owns(v->ops, v->ctx, v->peer, reg_id, v->seen);
}

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
	log_info("ctl", "%s: registration %s updated by uid %u pid %d", reg->directory, reg->id,
		 (unsigned)req->peer.uid, (int)req->peer.pid);
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
	log_info("ctl", "%s: registration %s removed by uid %u pid %d", reg->directory, reg->id,
		 (unsigned)req->peer.uid, (int)req->peer.pid);
	hk_ctl_reply_set_result(reply, json_pack("{s:s}", "id", reg->id));
out:
	hk_registration_free(reg);
}

/* A read op returning a JSON value of the expected type. */
void ctl_reply_json(struct hk_ctl_reply *reply, int r, json_t *out, char *cause, bool want_array)
{
	if (r < 0) {
		json_decref(out);
		ctl_reply_op_error(reply, r, cause);
		return;
	}
	free(cause);
	if (!out || (want_array && !json_is_array(out))) {
		json_decref(out);
		hk_ctl_reply_set_error(reply, HK_EPROTO, "internal error: bad result from the daemon");
		return;
	}
	hk_ctl_reply_set_result(reply, out);
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
	if (r >= 0 && json_is_object(out))
		ctl_redact_explain(ops, ctx, &req->peer, out);
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

/* The registration an audit query is about, as an id: a name is resolved;
 * one that is not registered (any more) stays as given. For another uid,
 * the same refusal as a run of someone else's registration. NULL with the
 * reply set when refused. */
static char *ctl_audit_reg(const struct hk_ctl_ops *ops, void *ctx,
			   const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
			   const char *id)
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
	int r;

	if (!ctl_arg_id(req, reply, false, &id) || !ctl_audit_args(req, reply, &q, &cursor_id))
		goto out;
	if (id || cursor_id) {
		reg_id = ctl_audit_reg(ops, ctx, req, reply, id ? id : cursor_id);
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
	if (r >= 0 && json_is_array(out)) {
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
 * are logged too. ops_offset: the vtable slot that must be set (or
 * SIZE_MAX). */
static const struct ctl_handle {
	const char *op;
	ctl_handler_fn handler;
	bool needs_write;
	size_t ops_offset;
} ctl_handles[] = {
#define CTL_OP(o) offsetof(struct hk_ctl_ops, o)
	{ "register_cleanup", ctl_op_register, true, CTL_OP(register_cleanup) },
	{ "update_cleanup_config", ctl_op_update, true, CTL_OP(update_cleanup_config) },
	{ "remove_cleanup_config", ctl_op_remove, true, CTL_OP(remove_cleanup_config) },
	{ "get_cleanup_configs", ctl_op_list, false, CTL_OP(get_cleanup_configs) },
	{ "run_cleanup", ctl_op_run, true, CTL_OP(run_cleanup) },
	{ "status", ctl_op_status, false, CTL_OP(status) },
	{ "explain", ctl_op_explain, false, CTL_OP(explain) },
	{ "audit", ctl_op_audit, false, CTL_OP(audit) },
	{ "jobs", ctl_op_jobs, false, CTL_OP(jobs) },
	{ "wait_job", ctl_op_wait_job, false, CTL_OP(wait_job) },
	{ "reload", ctl_op_reload, true, CTL_OP(reload) },
	{ "metrics", ctl_op_metrics, false, CTL_OP(metrics) },
	{ "version", ctl_op_version, false, SIZE_MAX },
#undef CTL_OP
};

void hk_ctl_dispatch(const struct hk_ctl_ops *ops, void *ops_ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply)
{
	const struct ctl_handle *h = NULL;

	for (size_t i = 0; i < HK_ARRAY_SIZE(ctl_handles); i++)
		if (strcmp(req->op, ctl_handles[i].op) == 0)
			h = &ctl_handles[i];
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

static void ctl_encode(json_t *msg, int64_t id, char **frame, size_t *frame_len)
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

/* The response frame of a request id's reply (its result or error taken). */
static void ctl_reply_encode(int64_t id, struct hk_ctl_reply *reply, char **frame, size_t *frame_len,
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

/* Parse and dispatch one payload. The answer is in *frame, or, when the
 * handler deferred it and pending is not NULL, *pending and *req_id are
 * set instead (*frame NULL) for the server to wait on. busy: too many
 * unread replies (ctl_client_over): the request is refused. */
static void ctl_handle_payload(const struct hk_ctl_ops *ops, void *ops_ctx,
			       const struct hk_ctl_peer *peer, struct hk_fair *fair, double now,
			       bool busy, const char *text, size_t len, char **frame,
			       size_t *frame_len, struct hk_ctl_pending **pending, int64_t *req_id)
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

/* Server ------------------------------------------------------------------------ */

struct ctl_client {
	struct hk_ctl *ctl;
	struct ctl_client *next;
	struct ctl_client *prev;
	int fd;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	struct hk_proto_decoder dec;
	char *in;               /* read but not yet decoded */
	size_t in_len, in_off;
	char *out;              /* reply being written */
	size_t out_len, out_off;
	char *body;             /* the rest of it, written after out (a report's text) */
	size_t body_len;
	struct hk_ctl_peer peer;
	ev_tstamp partial_since;
	ev_tstamp last_activity;
	bool closing;           /* close once out is written */
	struct hk_ctl_pending *pending;   /* a deferred reply being waited for */
	int64_t pending_id;     /* its request id */
	bool held;              /* more input waits in the kernel until the reply is out */
	char *deferred;         /* a query waiting for a later loop iteration */
	size_t deferred_len;
	uint64_t deferred_seq;  /* its turn: the oldest goes first */
};

struct hk_ctl {
	struct ev_loop *loop;
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	const struct hk_ctl_ops *ops;
	void *ops_ctx;
	ev_io accept_w;
	ev_timer backoff_w;
	struct ctl_client *clients;
	size_t n_clients;
	struct hk_fair *fair;   /* slots, connections and runs per uid */
	size_t pending;         /* bytes of replies not yet written, all clients */
	double read_timeout;
	double write_timeout;
	double idle_timeout;
	double user_idle_timeout;
	ev_idle resume;         /* answers deferred queries (CTL_ITER_BUDGET_NS) */
	uint64_t deferrals;     /* queries deferred so far (their turns) */
	unsigned iter;          /* the loop iteration iter_spent is of */
	int64_t iter_spent;     /* ns spent on queries in it */
};

static void ctl_client_free(struct ctl_client *c)
{
	struct hk_ctl *ctl = c->ctl;

	if (c->pending) {
		/* the client went away: its wait ends, the job goes on */
		log_debug("ctl", "client uid %u pid %d gone while waiting; wait cancelled",
			  (unsigned)c->peer.uid, (int)c->peer.pid);
		hk_ctl_pending_cancel(c->pending);
		c->pending = NULL;
	}
	ev_io_stop(ctl->loop, &c->rio);
	ev_io_stop(ctl->loop, &c->wio);
	ev_timer_stop(ctl->loop, &c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_clients--;
	hk_fair_client_remove(ctl->fair, c->peer.uid);
	ctl->pending -= c->out_len + c->body_len;
	free(c->body);
	free(c->deferred);
	close(c->fd);
	hk_proto_decoder_fini(&c->dec);
	free(c->in);
	free(c->out);
	free(c);
}

/* Root keeps its connections long (tools that hold one open); a non-root
 * uid gets the short limit, so idle connections cannot hold its slots. */
static double ctl_idle_timeout(const struct ctl_client *c)
{
	const struct hk_ctl *ctl = c->ctl;
	if (c->peer.uid == 0 || ctl->user_idle_timeout > ctl->idle_timeout)
		return ctl->idle_timeout;
	return ctl->user_idle_timeout;
}

/* Arm the one deadline that applies now (see the invariants). */
static void ctl_client_arm(struct ctl_client *c)
{
	struct ev_loop *loop = c->ctl->loop;
	ev_tstamp deadline;

	if (c->deferred) {
		/* its query waits for a later iteration: nothing read meanwhile */
		ev_timer_stop(loop, &c->timer);
		ev_io_stop(loop, &c->wio);
		ev_io_stop(loop, &c->rio);
		return;
	}
	if (c->pending) {
		/* waiting for a job is not idling: no deadline; reading only to
		 * see the client go away */
		ev_timer_stop(loop, &c->timer);
		ev_io_stop(loop, &c->wio);
		if (c->held || c->closing)
			ev_io_stop(loop, &c->rio);
		else
			ev_io_start(loop, &c->rio);
		return;
	}
	if (c->out)
		deadline = c->last_activity + c->ctl->write_timeout;
	else if (hk_proto_decoder_partial(&c->dec) || c->in)
		deadline = c->partial_since + c->ctl->read_timeout;
	else
		deadline = c->last_activity + ctl_idle_timeout(c);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, deadline > ev_now(loop) ? deadline - ev_now(loop) : 0.0, 0.0);
	ev_timer_start(loop, &c->timer);
	if (c->out) {
		ev_io_stop(loop, &c->rio);
		ev_io_start(loop, &c->wio);
	} else {
		ev_io_stop(loop, &c->wio);
		if (c->closing)
			ev_io_stop(loop, &c->rio);
		else
			ev_io_start(loop, &c->rio);
	}
}

/* Write what we can of c->out. Returns false when the client was freed. */
static bool ctl_client_flush(struct ctl_client *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			log_debug("ctl", "client pid %d: write: %s", (int)c->peer.pid, strerror(errno));
			ctl_client_free(c);
			return false;
		}
		c->out_off += (size_t)n;
		c->last_activity = ev_now(c->ctl->loop);
		if (c->out_off == c->out_len && c->body) {
			free(c->out);
			c->ctl->pending -= c->out_len;
			c->out = c->body;
			c->out_len = c->body_len;
			c->out_off = 0;
			c->body = NULL;
			c->body_len = 0;
		}
	}
	free(c->out);
	c->ctl->pending -= c->out_len;
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->closing) {
		ctl_client_free(c);
		return false;
	}
	return true;
}

/* Queue a frame and try to write it. Returns false when the client was freed. */
static bool ctl_client_send(struct ctl_client *c, char *frame, size_t len)
{
	c->out = frame;
	c->out_len = len;
	c->out_off = 0;
	c->ctl->pending += len;
	return ctl_client_flush(c);
}

/* Has the client closed its end (POLLHUP: nothing can be written to it
 * any more)? Its requests are then dropped unanswered, without doing
 * their work. A client that only shut down its sending side still gets
 * its answers. */
static bool ctl_client_gone(const struct ctl_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Are there too many unread replies, of c's uid or of everyone's? Then c's
 * request is refused (the limits of ctl.h), so slow or stalled readers
 * cannot make the daemon hold unbounded memory. Root is never refused:
 * its own big report being read must not lock root out of status. */
static bool ctl_client_over(const struct ctl_client *c)
{
	const struct hk_ctl *ctl = c->ctl;
	size_t mine = 0;

	if (c->peer.uid == 0)
		return false;

	for (const struct ctl_client *o = ctl->clients; o; o = o->next)
		if (o->peer.uid == c->peer.uid)
			mine += o->out_len - o->out_off + o->body_len;
	if (mine <= HK_CTL_PENDING_UID && ctl->pending <= HK_CTL_PENDING_MAX)
		return false;
	log_debug("ctl", "client uid %u pid %d: request refused: %zu bytes of replies of this uid "
		  "unread, %zu in all", (unsigned)c->peer.uid, (int)c->peer.pid, mine, ctl->pending);
	return true;
}

/* A deferred reply is ready: queue it; the write watcher sends it and
 * goes on with the client's next request (never from inside the op that
 * completed it). */
static void ctl_client_deliver(struct hk_ctl_reply *reply, void *arg)
{
	struct ctl_client *c = arg;

	ctl_reply_encode(c->pending_id, reply, &c->out, &c->out_len, &c->body, &c->body_len);
	c->out_off = 0;
	c->ctl->pending += c->out_len + c->body_len;   /* unread reply bytes, as ctl_client_send counts them */
	c->pending = NULL;
	c->held = false;
	c->last_activity = ev_now(c->ctl->loop);
	ctl_client_arm(c);
}

/* Has this loop iteration's budget for queries been spent? */
static bool ctl_budget_spent(struct hk_ctl *ctl)
{
	unsigned it = ev_iteration(ctl->loop);
	if (it != ctl->iter) {
		ctl->iter = it;
		ctl->iter_spent = 0;
	}
	return ctl->iter_spent >= CTL_ITER_BUDGET_NS;
}

/* Is the request a query whose answer can be large (a page of records, a
 * list)? Those take turns across loop iterations. */
static bool ctl_heavy(const char *text, size_t len)
{
	static const char *const heavy[] = { "audit", "jobs", "explain", "list" };
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *m = json_string_value(json_object_get(msg, "method"));
	bool r = false;

	for (size_t i = 0; m && i < HK_ARRAY_SIZE(heavy); i++)
		r = r || strcmp(m, heavy[i]) == 0;
	json_decref(msg);
	return r;
}

/* Answer one request (text: taken). Returns false when the client was
 * freed. */
static bool ctl_client_request(struct ctl_client *c, char *text, size_t len)
{
	struct hk_ctl *ctl = c->ctl;
	size_t flen = 0;
	char *frame = NULL;
	int64_t t0 = hk_time_mono_ns();

	if (ctl_client_gone(c)) {
		log_debug("ctl", "client pid %d: gone; request dropped", (int)c->peer.pid);
		free(text);
		ctl_client_free(c);
		return false;
	}
	struct hk_ctl_pending *pending = NULL;
	ctl_handle_payload(ctl->ops, ctl->ops_ctx, &c->peer, ctl->fair, ev_now(ctl->loop),
			   ctl_client_over(c), text, len, &frame, &flen, &pending, &c->pending_id);
	free(text);
	ctl_budget_spent(ctl);
	ctl->iter_spent += hk_time_mono_ns() - t0;
	c->partial_since = ev_now(ctl->loop);
	if (pending) {
		c->pending = pending;
		hk_ctl_pending_attach(pending, ctl_client_deliver, c);
		if (c->out && !ctl_client_flush(c))
			return false;   /* answered at once (an ended job) */
		return true;
	}
	return ctl_client_send(c, frame, flen);
}

/* Decode and answer buffered requests, one at a time. Returns false when
 * the client was freed. */
static bool ctl_client_process(struct ctl_client *c)
{
	struct hk_ctl *ctl = c->ctl;

	while (c->in && !c->out && !c->pending && !c->deferred) {
		bool was_partial = hk_proto_decoder_partial(&c->dec);
		size_t used = 0;
		int r = hk_proto_decoder_feed(&c->dec, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		if (c->in_off == c->in_len) {
			free(c->in);
			c->in = NULL;
			c->in_len = c->in_off = 0;
		}
		if (!was_partial && hk_proto_decoder_partial(&c->dec))
			c->partial_since = ev_now(ctl->loop);
		if (r < 0) {
			/* oversize: answer, then drop the unsynchronizable stream */
			char *frame = NULL;
			size_t len = 0;
			json_t *msg = hk_proto_response_error(-1, HK_EPROTO,
							      "message too large (at most 1 MiB)", NULL);
			log_info("ctl", "client uid %u pid %d: oversized message, disconnecting",
				 (unsigned)c->peer.uid, (int)c->peer.pid);
			ctl_encode(msg, -1, &frame, &len);
			c->closing = true;
			free(c->in);
			c->in = NULL;
			return ctl_client_send(c, frame, len);
		}
		if (r == 1) {
			size_t len = 0;
			char *text = hk_proto_decoder_take(&c->dec, &len);
			if (ctl_budget_spent(ctl) && ctl_heavy(text, len)) {
				c->deferred = text;
				c->deferred_len = len;
				c->deferred_seq = ctl->deferrals++;
				ev_idle_start(ctl->loop, &ctl->resume);
				return true;
			}
			if (!ctl_client_request(c, text, len))
				return false;
		}
	}
	return true;
}

/* Answer the deferred queries, oldest first, within the iteration's
 * budget. */
static void ctl_resume_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	(void)revents;
	while (!ctl_budget_spent(ctl)) {
		struct ctl_client *c = NULL;
		for (struct ctl_client *o = ctl->clients; o; o = o->next)
			if (o->deferred && (!c || o->deferred_seq < c->deferred_seq))
				c = o;
		if (!c) {
			ev_idle_stop(loop, w);
			return;
		}
		char *text = c->deferred;
		c->deferred = NULL;
		if (ctl_client_request(c, text, c->deferred_len) && ctl_client_process(c))
			ctl_client_arm(c);
	}
}

static void ctl_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;
	char buf[CTL_READ_CHUNK];
	ssize_t n;

	if (c->pending) {
		/* waiting: end of file cancels the wait; a next request stays
		 * in the kernel until the reply is out (one at a time) */
		n = recv(c->fd, buf, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_client_free(c);
			return;
		}
		c->held = true;
		ctl_client_arm(c);
		return;
	}
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_debug("ctl", "client pid %d: read: %s", (int)c->peer.pid, strerror(errno));
		ctl_client_free(c);
		return;
	}
	c->last_activity = ev_now(loop);
	if (!hk_proto_decoder_partial(&c->dec))
		c->partial_since = ev_now(loop);
	c->in = hk_xmalloc((size_t)n);
	memcpy(c->in, buf, (size_t)n);
	c->in_len = (size_t)n;
	c->in_off = 0;
	if (ctl_client_process(c))
		ctl_client_arm(c);
}

static void ctl_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;

	if (!ctl_client_flush(c))
		return;
	if (ctl_client_process(c))
		ctl_client_arm(c);
}

static void ctl_client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = w->data;

	if (c->out)
		log_info("ctl", "client uid %u pid %d: reply not read within %.0f s, disconnecting",
			 (unsigned)c->peer.uid, (int)c->peer.pid, c->ctl->write_timeout);
	else if (hk_proto_decoder_partial(&c->dec))
		log_info("ctl", "client uid %u pid %d: request not completed within %.0f s, disconnecting",
			 (unsigned)c->peer.uid, (int)c->peer.pid, c->ctl->read_timeout);
	else
		log_debug("ctl", "client uid %u pid %d: idle for %.0f s, disconnecting",
			  (unsigned)c->peer.uid, (int)c->peer.pid, ctl_idle_timeout(c));
	ctl_client_free(c);
}

/* Refuse a connection with one error frame, best effort, never blocking. */
static void ctl_refuse(int fd, int code, const char *message)
{
	json_t *msg = hk_proto_response_error(-1, code, message, NULL);
	char *frame = NULL;
	size_t len = 0;

	if (msg && hk_proto_frame_encode(msg, HK_PROTO_MAX_RESPONSE, &frame, &len) == 0) {
		ssize_t n = send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	json_decref(msg);
	free(frame);
	close(fd);
}

static void ctl_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	ev_io_start(loop, &ctl->accept_w);
}

/* Take a slot for a new connection (fair.h) or refuse it: the error frame
 * goes to the caller, a log line at most every HK_FAIR_LOG_INTERVAL per
 * uid, since refusals come as fast as a client can connect. */
static bool ctl_admit(struct hk_ctl *ctl, int fd, const struct ucred *cred)
{
	enum hk_fair_verdict v = hk_fair_client_add(ctl->fair, cred->uid);
	size_t suppressed = 0;
	char *msg;

	if (v == HK_FAIR_OK)
		return true;
	if (v == HK_FAIR_UID_CAP)
		msg = hk_xasprintf("too many connections of uid %u (at most %d); close one or try "
				   "again later", (unsigned)cred->uid, HK_FAIR_UID_CLIENTS);
	else
		msg = hk_xasprintf("too many clients (%zu connected); try again later",
				   hk_fair_total(ctl->fair));
	if (hk_fair_log_due(ctl->fair, cred->uid, ev_now(ctl->loop), &suppressed))
		log_warnx("ctl", "%s: uid %u pid %d refused: %s (%zu more refusals of this uid "
			  "since the last line)", ctl->path, (unsigned)cred->uid, (int)cred->pid, msg,
			  suppressed);
	ctl_refuse(fd, HK_EBUSY, msg);
	free(msg);
	return false;
}

static void ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	for (int i = 0; i < 16; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: pause accepting instead of spinning */
				log_warn("ctl", "%s: accept", ctl->path);
				ev_io_stop(loop, &ctl->accept_w);
				ev_timer_stop(loop, &ctl->backoff_w);
				ev_timer_set(&ctl->backoff_w, HK_CTL_ACCEPT_BACKOFF, 0.0);
				ev_timer_start(loop, &ctl->backoff_w);
				return;
			}
			log_warn("ctl", "%s: accept", ctl->path);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			log_warn("ctl", "%s: SO_PEERCRED", ctl->path);
			close(fd);
			continue;
		}
		if (!ctl_admit(ctl, fd, &cred))
			continue;
		struct ctl_client *c = hk_xcalloc(1, sizeof(*c));
		c->ctl = ctl;
		c->fd = fd;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
		c->last_activity = c->partial_since = ev_now(loop);
		hk_proto_decoder_init(&c->dec, HK_PROTO_MAX_REQUEST);
		ev_io_init(&c->rio, ctl_client_read_cb, fd, EV_READ);
		ev_io_init(&c->wio, ctl_client_write_cb, fd, EV_WRITE);
		ev_init(&c->timer, ctl_client_timer_cb);
		c->rio.data = c->wio.data = c->timer.data = c;
		c->next = ctl->clients;
		if (ctl->clients)
			ctl->clients->prev = c;
		ctl->clients = c;
		ctl->n_clients++;
		log_debug("ctl", "client connected: uid %u gid %u pid %d", (unsigned)cred.uid,
			  (unsigned)cred.gid, (int)cred.pid);
		ctl_client_arm(c);
	}
}

/* mkdir -p the parent of path, each new directory 0755. */
static int ctl_mkparent(const char *path, char **cause)
{
	char *dir = hk_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int r = 0;
	struct stat st;

	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				r = -errno;
				*cause = hk_xasprintf("%s: cannot create directory: %s", dir, strerror(errno));
				goto out;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = -ENOTDIR;
		*cause = hk_xasprintf("%s: not a directory", dir);
	}
out:
	free(dir);
	return r;
}

/* Is something listening on the socket at path? */
static bool ctl_socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return alive;
}

int hk_ctl_create(struct ev_loop *loop, const char *path, mode_t mode, gid_t gid,
		  const struct hk_ctl_ops *ops, void *ops_ctx, struct hk_ctl **out, char **cause)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hk_ctl *ctl = NULL;
	struct stat st;
	mode_t old_umask;
	int fd = -1, r;

	*out = NULL;
	*cause = NULL;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		*cause = hk_xasprintf("%s: socket path empty or too long (at most %zu bytes)",
				      path ? path : "", sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = ctl_mkparent(path, cause);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = hk_xasprintf("%s: exists and is not a socket; refusing to replace it", path);
			return -EEXIST;
		}
		if (ctl_socket_alive(&sa)) {
			*cause = hk_xasprintf("%s: another server is listening on this socket", path);
			return HK_EBUSY;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			*cause = hk_xasprintf("%s: cannot remove stale socket: %s", path, strerror(errno));
			return r;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		*cause = hk_xasprintf("%s: %s", path, strerror(errno));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: socket: %s", path, strerror(errno));
		return r;
	}
	/* the mode comes from the umask at bind time: no window with wider access */
	old_umask = umask((mode_t)(~mode & 0777));
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: bind: %s", path, strerror(errno));
		goto fail;
	}
	if (gid != (gid_t)-1 && fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: cannot set group %u: %s", path, (unsigned)gid, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (lstat(path, &st) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: listen: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	ctl = hk_xcalloc(1, sizeof(*ctl));
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->path = hk_xstrdup(path);
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->ops = ops;
	ctl->ops_ctx = ops_ctx;
	ctl->read_timeout = HK_CTL_READ_TIMEOUT;
	ctl->write_timeout = HK_CTL_WRITE_TIMEOUT;
	ctl->idle_timeout = HK_CTL_IDLE_TIMEOUT;
	ctl->user_idle_timeout = HK_FAIR_IDLE_TIMEOUT;
	ctl->fair = hk_fair_create(HK_CTL_MAX_CLIENTS, HK_FAIR_ROOT_SLOTS, HK_FAIR_UID_CLIENTS);
	ev_io_init(&ctl->accept_w, ctl_accept_cb, fd, EV_READ);
	ctl->accept_w.data = ctl;
	ev_init(&ctl->backoff_w, ctl_backoff_cb);
	ctl->backoff_w.data = ctl;
	ev_idle_init(&ctl->resume, ctl_resume_cb);
	ctl->resume.data = ctl;
	ev_set_priority(&ctl->resume, EV_MAXPRI);   /* libev runs only the top idles */
	ev_io_start(loop, &ctl->accept_w);
	log_debug("ctl", "%s: listening (mode %04o)", path, (unsigned)mode);
	*out = ctl;
	return 0;
fail:
	close(fd);
	return r;
}

void hk_ctl_free(struct hk_ctl *ctl)
{
	struct stat st;

	if (!ctl)
		return;
	while (ctl->clients)
		ctl_client_free(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->accept_w);
	ev_timer_stop(ctl->loop, &ctl->backoff_w);
	ev_idle_stop(ctl->loop, &ctl->resume);
	close(ctl->fd);
	if (lstat(ctl->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		unlink(ctl->path);
	hk_fair_free(ctl->fair);
	free(ctl->path);
	free(ctl);
}

void hk_ctl_set_timeouts(struct hk_ctl *ctl, double read_timeout, double write_timeout,
			 double idle_timeout)
{
	ctl->read_timeout = read_timeout;
	ctl->write_timeout = write_timeout;
	ctl->idle_timeout = idle_timeout;
}

void hk_ctl_set_user_idle_timeout(struct hk_ctl *ctl, double idle_timeout)
{
	ctl->user_idle_timeout = idle_timeout;
}

size_t hk_ctl_clients(const struct hk_ctl *ctl)
{
	return ctl->n_clients;
}
