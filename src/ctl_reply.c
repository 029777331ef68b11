/*
 * ctl_reply.c - what every control handler shares: the reply sink (a
 * result, a raw JSON text or an error with its code), deferred replies
 * (an answer that comes when a job ends), and the checks of a request's
 * arguments, each refusing with a reply that names the argument.
 *
 * Invariants: a pending reply has one owner at a time: the handler's sink
 * (reply->pending) until the server takes it, then the op until it calls
 * hk_ctl_pending_done; it is freed exactly once, after delivery or at
 * cancel; after a cancel the op never touches it again (its cancel
 * function has made it forget it).
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
#include "util.h"

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

struct hk_ctl_pending {
	struct hk_ctl_reply reply;
	bool done;
	hk_ctl_deliver_fn deliver;
	void *deliver_arg;
	void (*cancel)(void *arg);
	void *cancel_arg;
};

/* Deferred replies ------------------------------------------------------------- */

struct hk_ctl_pending *hk_ctl_reply_defer(struct hk_ctl_reply *reply)
{
	struct hk_ctl_pending *p = hk_xcalloc(1, sizeof(*p));
	hk_ctl_reply_init(&p->reply);
	reply->pending = p;
	return p;
}

static void ctl_pending_free(struct hk_ctl_pending *p)
{
	hk_ctl_reply_fini(&p->reply);
	free(p);
}

void hk_ctl_reply_undefer(struct hk_ctl_reply *reply)
{
	if (reply->pending)
		ctl_pending_free(reply->pending);
	reply->pending = NULL;
}

struct hk_ctl_reply *hk_ctl_pending_reply(struct hk_ctl_pending *p)
{
	return &p->reply;
}

void hk_ctl_pending_set_cancel(struct hk_ctl_pending *p, void (*fn)(void *arg), void *arg)
{
	p->cancel = fn;
	p->cancel_arg = arg;
}

void hk_ctl_pending_done(struct hk_ctl_pending *p)
{
	p->done = true;
	p->cancel = NULL;
	if (!p->deliver)
		return;   /* still in the handler: the server delivers it on attach */
	p->deliver(&p->reply, p->deliver_arg);
	ctl_pending_free(p);
}

void hk_ctl_pending_attach(struct hk_ctl_pending *p, hk_ctl_deliver_fn deliver, void *arg)
{
	p->deliver = deliver;
	p->deliver_arg = arg;
	if (p->done) {
		deliver(&p->reply, arg);
		ctl_pending_free(p);
	}
}

void hk_ctl_pending_cancel(struct hk_ctl_pending *p)
{
	if (!p)
		return;
	if (p->cancel)
		p->cancel(p->cancel_arg);
	ctl_pending_free(p);
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


void ctl_add_names(const struct hk_ctl_ops *ops, void *ctx, json_t *arr, const char *id_key,
		   const char *name_key)
{
	json_t *cache = json_object();   /* id -> name or null */
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		const char *id = json_string_value(json_object_get(o, id_key));
		json_t *name = id ? json_object_get(cache, id) : json_null();
		if (!name) {
			struct hk_registration *reg = NULL;
			/* by id only: get_registration also takes a name */
			if (ops->get_registration && ops->get_registration(ctx, id, &reg) == 0 &&
			    reg && reg->name && strcmp(reg->id, id) == 0)
				name = json_string(reg->name);   /* NULL when not UTF-8 */
			if (!name)
				name = json_null();
			hk_registration_free(reg);
			json_object_set_new(cache, id, name);
		}
		json_object_set(o, name_key, name);
	}
	json_decref(cache);
}
