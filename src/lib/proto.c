/*
 * proto.c - the control protocol codec (see proto.h for the wire format).
 *
 * Pure code: no I/O, no clock. The framing, envelope and byte-string parts
 * are shared with libhousekeeper (-DHK_CLIENT_LIBRARY): they use plain
 * malloc and report -ENOMEM, since a library must never abort its caller.
 * The registration and report converters (proto_records.c) are daemon/CLI
 * only and use the hk_x* allocators of util.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "housekeeper.h"
#include "proto.h"

#ifndef HK_CLIENT_LIBRARY
#include "util.h"
#endif

/* Framing ------------------------------------------------------------------ */

struct proto_frame {
	char *data;
	size_t len, cap;
	bool oom;
};

static int proto_frame_dump_cb(const char *data, size_t n, void *arg)
{
	struct proto_frame *f = arg;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap < f->len + n)
			cap *= 2;
		char *p = realloc(f->data, cap);
		if (!p) {
			f->oom = true;
			return -1;
		}
		f->data = p;
		f->cap = cap;
	}
	memcpy(f->data + f->len, data, n);
	f->len += n;
	return 0;
}

int hk_proto_frame_encode(const json_t *msg, size_t max, char **out, size_t *out_len)
{
	/* dumped once into the frame behind its header: a text first, then
	 * the frame, copied every reply twice (a page of records is 100 kB) */
	struct proto_frame f = { 0 };
	size_t len;

	*out = NULL;
	*out_len = 0;
	if (proto_frame_dump_cb("\0\0\0\0", HK_PROTO_HEADER_LEN, &f) < 0)
		return -ENOMEM;
	if (json_dump_callback(msg, proto_frame_dump_cb, &f, JSON_COMPACT) < 0) {
		free(f.data);
		return f.oom ? -ENOMEM : HK_EPROTO;
	}
	len = f.len - HK_PROTO_HEADER_LEN;
	if (len > max || len > UINT32_MAX) {
		free(f.data);
		return HK_EPROTO;
	}
	f.data[0] = (char)((len >> 24) & 0xff);
	f.data[1] = (char)((len >> 16) & 0xff);
	f.data[2] = (char)((len >> 8) & 0xff);
	f.data[3] = (char)(len & 0xff);
	*out = f.data;
	*out_len = f.len;
	return 0;
}

void hk_proto_decoder_init(struct hk_proto_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max;
}

void hk_proto_decoder_fini(struct hk_proto_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->hdr_len = d->have = d->len = 0;
	d->ready = false;
}

int hk_proto_decoder_feed(struct hk_proto_decoder *d, const void *data, size_t n, size_t *used)
{
	const unsigned char *p = data;
	size_t i = 0;
	int r = 0;

	if (d->ready) {
		/* the caller must take the payload first */
		*used = 0;
		return 1;
	}
	while (d->hdr_len < HK_PROTO_HEADER_LEN && i < n)
		d->hdr[d->hdr_len++] = p[i++];
	if (d->hdr_len < HK_PROTO_HEADER_LEN)
		goto out;
	if (!d->buf) {
		uint32_t len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
			       (uint32_t)d->hdr[2] << 8 | (uint32_t)d->hdr[3];
		if (len > d->max) {
			r = HK_EPROTO;
			goto out;
		}
		d->buf = malloc((size_t)len + 1);
		if (!d->buf) {
			r = -ENOMEM;
			goto out;
		}
		d->len = len;
		d->have = 0;
	}
	size_t take = d->len - d->have;
	if (take > n - i)
		take = n - i;
	if (take)
		memcpy(d->buf + d->have, p + i, take);
	d->have += take;
	i += take;
	if (d->have == d->len) {
		d->buf[d->len] = '\0';
		d->ready = true;
		r = 1;
	}
out:
	*used = i;
	return r;
}

char *hk_proto_decoder_take(struct hk_proto_decoder *d, size_t *len)
{
	char *buf;

	if (!d->ready)
		return NULL;
	buf = d->buf;
	if (len)
		*len = d->len;
	d->buf = NULL;
	d->ready = false;
	d->hdr_len = d->have = d->len = 0;
	return buf;
}

bool hk_proto_decoder_partial(const struct hk_proto_decoder *d)
{
	return !d->ready && d->hdr_len > 0;
}

/* Envelopes ---------------------------------------------------------------- */

static char *proto_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *proto_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Check "v" of a message object; HK_EPROTO with *cause when wrong. */
static int proto_check_version(const json_t *msg, char **cause)
{
	const json_t *v = json_object_get(msg, "v");

	if (!v) {
		*cause = proto_strdup_printf("missing protocol version \"v\"");
		return HK_EPROTO;
	}
	if (!json_is_integer(v) || json_integer_value(v) != HK_PROTO_VERSION) {
		if (json_is_integer(v))
			*cause = proto_strdup_printf("unsupported protocol version %" JSON_INTEGER_FORMAT
						     " (this side speaks %d)",
						     json_integer_value(v), HK_PROTO_VERSION);
		else
			*cause = proto_strdup_printf("protocol version \"v\" is not an integer");
		return HK_EPROTO;
	}
	return 0;
}

static json_t *proto_load(const char *text, size_t len, char **cause)
{
	json_error_t jerr;
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!msg) {
		*cause = proto_strdup_printf("invalid JSON at byte %d: %s", jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_object(msg)) {
		*cause = proto_strdup_printf("message is not a JSON object");
		json_decref(msg);
		return NULL;
	}
	return msg;
}

int hk_proto_request_parse(const char *text, size_t len, struct hk_proto_request *req,
			   char **cause)
{
	const json_t *id, *op;
	int r = HK_EPROTO;

	memset(req, 0, sizeof(*req));
	req->id = -1;
	*cause = NULL;
	req->msg = proto_load(text, len, cause);
	if (!req->msg)
		goto out;
	id = json_object_get(req->msg, "id");
	if (json_is_integer(id) && json_integer_value(id) >= 0)
		req->id = json_integer_value(id);
	r = proto_check_version(req->msg, cause);
	if (r < 0)
		goto out;
	r = HK_EPROTO;
	if (req->id < 0) {
		*cause = proto_strdup_printf("missing or invalid \"id\" (a non-negative integer)");
		goto out;
	}
	op = json_object_get(req->msg, "op");
	if (!json_is_string(op) || !*json_string_value(op)) {
		*cause = proto_strdup_printf("missing or invalid \"op\" (a string)");
		goto out;
	}
	req->op = json_string_value(op);
	req->args = json_object_get(req->msg, "args");
	if (!req->args || json_is_null(req->args)) {
		req->args = json_object();
		if (!req->args || json_object_set_new(req->msg, "args", req->args) < 0) {
			r = -ENOMEM;
			goto out;
		}
	} else if (!json_is_object(req->args)) {
		*cause = proto_strdup_printf("\"args\" is not an object");
		goto out;
	}
	r = 0;
out:
	if (r == -ENOMEM && !*cause)
		*cause = proto_strdup_printf("out of memory");
	return r;
}

void hk_proto_request_fini(struct hk_proto_request *req)
{
	json_decref(req->msg);
	memset(req, 0, sizeof(*req));
	req->id = -1;
}

static json_t *proto_id(int64_t id)
{
	return id >= 0 ? json_integer(id) : json_null();
}

json_t *hk_proto_request_new(int64_t id, const char *op, json_t *args)
{
	json_t *msg = json_object();

	if (!args)
		args = json_object();
	if (!msg || !args || json_object_set_new(msg, "v", json_integer(HK_PROTO_VERSION)) < 0 ||
	    json_object_set_new(msg, "id", proto_id(id)) < 0 ||
	    json_object_set_new(msg, "op", json_string(op)) < 0 ||
	    json_object_set(msg, "args", args) < 0) {
		json_decref(msg);
		msg = NULL;
	}
	json_decref(args);
	return msg;
}

json_t *hk_proto_response_ok(int64_t id, json_t *result)
{
	json_t *msg = json_object();

	if (!result)
		result = json_null();
	if (!msg || json_object_set_new(msg, "v", json_integer(HK_PROTO_VERSION)) < 0 ||
	    json_object_set_new(msg, "id", proto_id(id)) < 0 ||
	    json_object_set_new(msg, "ok", json_true()) < 0 ||
	    json_object_set(msg, "result", result) < 0) {
		json_decref(msg);
		msg = NULL;
	}
	json_decref(result);
	return msg;
}

json_t *hk_proto_response_error(int64_t id, int code, const char *message, json_t *details)
{
	json_t *msg = json_object();
	json_t *err = json_object();

	if (!msg || !err || json_object_set_new(msg, "v", json_integer(HK_PROTO_VERSION)) < 0 ||
	    json_object_set_new(msg, "id", proto_id(id)) < 0 ||
	    json_object_set_new(msg, "ok", json_false()) < 0 ||
	    json_object_set_new(err, "code", json_integer(code)) < 0 ||
	    json_object_set_new(err, "name", json_string(hk_proto_error_name(code))) < 0 ||
	    hk_proto_set_bytes(err, "message", message ? message : hk_strerror(code),
			       strlen(message ? message : hk_strerror(code))) < 0 ||
	    (details && json_object_set(err, "details", details) < 0) ||
	    json_object_set(msg, "error", err) < 0) {
		json_decref(msg);
		msg = NULL;
	}
	json_decref(err);
	json_decref(details);
	return msg;
}

int hk_proto_response_parse(const char *text, size_t len, int64_t expect_id, json_t **result,
			    json_t **error, char **cause)
{
	json_t *msg = NULL;
	const json_t *id, *ok, *err, *code;
	int r = HK_EPROTO;

	*result = NULL;
	*error = NULL;
	*cause = NULL;
	msg = proto_load(text, len, cause);
	if (!msg)
		goto out;
	if (proto_check_version(msg, cause) < 0)
		goto out;
	id = json_object_get(msg, "id");
	ok = json_object_get(msg, "ok");
	/* a refusal before any request was read (too many clients, oversize)
	 * carries a null id */
	if (!(json_is_null(id) && json_is_false(ok)) &&
	    (!json_is_integer(id) || json_integer_value(id) != expect_id)) {
		*cause = proto_strdup_printf("response to another request (id %" PRId64 " expected)",
					     expect_id);
		goto out;
	}
	if (!json_is_boolean(ok)) {
		*cause = proto_strdup_printf("missing \"ok\" in response");
		goto out;
	}
	if (json_is_true(ok)) {
		*result = json_object_get(msg, "result");
		*result = *result ? json_incref(*result) : json_null();
		r = 0;
		goto out;
	}
	err = json_object_get(msg, "error");
	code = json_object_get(err, "code");
	if (!json_is_object(err) || !json_is_integer(code) || json_integer_value(code) >= 0 ||
	    json_integer_value(code) < INT_MIN || !json_is_string(json_object_get(err, "message"))) {
		*cause = proto_strdup_printf("malformed error in response");
		goto out;
	}
	r = (int)json_integer_value(code);
	*error = json_incref((json_t *)err);
out:
	json_decref(msg);
	return r;
}

const char *hk_proto_error_name(int code)
{
	if (code <= HK_EBASE) {
		switch ((enum hk_error)code) {
		case HK_EBASE: break;
		case HK_ECONFIG: return "HK_ECONFIG";
		case HK_ENOTFOUND: return "HK_ENOTFOUND";
		case HK_EREADONLY: return "HK_EREADONLY";
		case HK_EPROTO: return "HK_EPROTO";
		case HK_ENODAEMON: return "HK_ENODAEMON";
		case HK_EDENIED: return "HK_EDENIED";
		case HK_ESOURCE: return "HK_ESOURCE";
		case HK_ESTORE: return "HK_ESTORE";
		case HK_ECLOCK: return "HK_ECLOCK";
		case HK_ESYSDIR: return "HK_ESYSDIR";
		case HK_ECHANGED: return "HK_ECHANGED";
		case HK_EBUSY: return "HK_EBUSY";
		case HK_ELAST: break;
		}
		return "HK_EUNKNOWN";
	}
	if (code < 0) {
		const char *n = strerrorname_np(-code);
		return n ? n : "EUNKNOWN";
	}
	return "OK";
}

/* Byte strings --------------------------------------------------------------- */

static const char proto_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hk_proto_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = proto_b64[(v >> 18) & 63];
		out[o++] = proto_b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? proto_b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? proto_b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int proto_b64_value(char c)
{
	const char *p = c ? strchr(proto_b64, c) : NULL;
	return p ? (int)(p - proto_b64) : -1;
}

int hk_proto_base64_decode(const char *text, size_t text_len, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t o = 0;

	*out = NULL;
	if (text_len % 4)
		return HK_EPROTO;
	buf = malloc(text_len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < text_len; i += 4) {
		int v[4];
		bool last = i + 4 == text_len;
		for (int k = 0; k < 4; k++) {
			v[k] = proto_b64_value(text[i + k]);
			/* '=' only as the last one or two characters */
			if (v[k] < 0 && !(last && text[i + k] == '=' && k >= 2 &&
					  (k == 3 || text[i + 3] == '=')))
				goto bad;
		}
		if (v[0] < 0 || v[1] < 0)
			goto bad;
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 | (uint32_t)(v[3] < 0 ? 0 : v[3]);
		buf[o++] = (char)(x >> 16);
		if (v[2] >= 0)
			buf[o++] = (char)((x >> 8) & 0xff);
		if (v[3] >= 0)
			buf[o++] = (char)(x & 0xff);
	}
	buf[o] = '\0';
	*out = buf;
	if (out_len)
		*out_len = o;
	return 0;
bad:
	free(buf);
	return HK_EPROTO;
}

/* Display form of bytes that are not UTF-8: invalid bytes and backslashes
 * become \xNN; valid multi-byte sequences stay. Always valid UTF-8. */
static char *proto_display(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = malloc(n * 4 + 1);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	while (i < n) {
		size_t l = 0;
		if (u[i] < 0x80) {
			l = u[i] == '\\' || u[i] == 0 ? 0 : 1;
		} else {
			size_t want = (u[i] & 0xe0) == 0xc0 ? 2 : (u[i] & 0xf0) == 0xe0 ? 3 :
				      (u[i] & 0xf8) == 0xf0 ? 4 : 0;
			if (want && want <= n - i) {
				json_t *probe = json_stringn(s + i, want);
				if (probe)
					l = want;
				json_decref(probe);
			}
		}
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			snprintf(out + o, 5, "\\x%02x", u[i]);
			o += 4;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

int hk_proto_set_bytes(json_t *obj, const char *key, const char *data, size_t len)
{
	json_t *s = NULL;
	char *disp = NULL, *b64 = NULL, *bkey = NULL;
	int r = -ENOMEM;

	if (!memchr(data, '\0', len))
		s = json_stringn(data, len);
	if (s) {
		/* a "<key>_b64" exists only beside an earlier "<key>" */
		bool had_key = json_object_get(obj, key) != NULL;
		if (json_object_set_new(obj, key, s) < 0)
			goto out;
		r = 0;
		if (!had_key)
			goto out;
		r = -ENOMEM;
		bkey = proto_strdup_printf("%s_b64", key);
		if (!bkey)
			goto out;
		json_object_del(obj, bkey);
		r = 0;
		goto out;
	}
	disp = proto_display(data, len);
	b64 = hk_proto_base64_encode(data, len);
	bkey = proto_strdup_printf("%s_b64", key);
	if (!disp || !b64 || !bkey || json_object_set_new(obj, key, json_string(disp)) < 0 ||
	    json_object_set_new(obj, bkey, json_string(b64)) < 0)
		goto out;
	r = 0;
out:
	free(disp);
	free(b64);
	free(bkey);
	return r;
}

int hk_proto_bytes_from_json(const json_t *value, const json_t *b64, char **out, size_t *len)
{
	size_t n;
	char *buf = NULL;
	int r;

	*out = NULL;
	if (b64 && !json_is_null(b64)) {
		if (!json_is_string(b64))
			return HK_EPROTO;
		r = hk_proto_base64_decode(json_string_value(b64), json_string_length(b64), &buf, &n);
		if (r < 0)
			return r;
	} else {
		if (!value || json_is_null(value))
			return -ENOENT;
		if (!json_is_string(value))
			return HK_EPROTO;
		n = json_string_length(value);
		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, json_string_value(value), n + 1);
	}
	if (memchr(buf, '\0', n)) {
		free(buf);
		return HK_EPROTO;
	}
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int hk_proto_get_bytes(const json_t *obj, const char *key, char **out, size_t *len)
{
	char *bkey = proto_strdup_printf("%s_b64", key);
	int r;

	*out = NULL;
	if (!bkey)
		return -ENOMEM;
	r = hk_proto_bytes_from_json(json_object_get(obj, key), json_object_get(obj, bkey), out,
				     len);
	free(bkey);
	return r;
}
