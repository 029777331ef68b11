/*
 * test_proto.c - the wire codec: frames (whole, split byte by byte, several
 * in one buffer, oversize), envelopes (bad JSON, version mismatch, ids),
 * byte strings (raw non-UTF-8 paths), registration and report JSON.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "proto_records.h"
#include "util.h"

/* Frames --------------------------------------------------------------------- */

static char *frame_of(const char *json_text, size_t *len)
{
	json_t *j = json_loads(json_text, 0, NULL);
	char *frame = NULL;

	assert_non_null(j);
	assert_int_equal(hk_proto_frame_encode(j, HK_PROTO_MAX_REQUEST, &frame, len), 0);
	json_decref(j);
	return frame;
}

static void test_frame_header(void **state)
{
	size_t len;
	char *f = frame_of("{\"a\":1}", &len);

	assert_int_equal(len, 4 + 7);
	assert_memory_equal(f, "\0\0\0\x07{\"a\":1}", len);
	free(f);
}

static void test_frame_roundtrip_whole(void **state)
{
	struct hk_proto_decoder d;
	size_t len, used, plen;
	char *f = frame_of("{\"v\":1,\"id\":7,\"op\":\"status\"}", &len);
	char *payload;

	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, f, len, &used), 1);
	assert_int_equal(used, len);
	payload = hk_proto_decoder_take(&d, &plen);
	assert_string_equal(payload, "{\"v\":1,\"id\":7,\"op\":\"status\"}");
	assert_int_equal(plen, strlen(payload));
	assert_false(hk_proto_decoder_partial(&d));
	free(payload);
	free(f);
	hk_proto_decoder_fini(&d);
}

static void test_frame_byte_by_byte(void **state)
{
	struct hk_proto_decoder d;
	size_t len, used;
	char *f = frame_of("{\"v\":1,\"id\":1,\"op\":\"list\"}", &len);
	int got = 0;

	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	for (size_t i = 0; i < len; i++) {
		int r = hk_proto_decoder_feed(&d, f + i, 1, &used);
		assert_int_equal(used, 1);
		if (i + 1 < len) {
			assert_int_equal(r, 0);
			assert_true(hk_proto_decoder_partial(&d));
		} else {
			assert_int_equal(r, 1);
			got = 1;
		}
	}
	assert_int_equal(got, 1);
	char *p = hk_proto_decoder_take(&d, NULL);
	assert_string_equal(p, "{\"v\":1,\"id\":1,\"op\":\"list\"}");
	free(p);
	free(f);
	hk_proto_decoder_fini(&d);
}

static void test_frame_two_in_one_buffer(void **state)
{
	struct hk_proto_decoder d;
	size_t l1, l2, used;
	char *f1 = frame_of("{\"x\":1}", &l1);
	char *f2 = frame_of("{\"y\":[]}", &l2);
	char *buf = hk_xmalloc(l1 + l2);
	char *p;

	memcpy(buf, f1, l1);
	memcpy(buf + l1, f2, l2);
	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, buf, l1 + l2, &used), 1);
	assert_int_equal(used, l1);
	/* feeding before taking consumes nothing */
	size_t used2;
	assert_int_equal(hk_proto_decoder_feed(&d, buf + used, l2, &used2), 1);
	assert_int_equal(used2, 0);
	p = hk_proto_decoder_take(&d, NULL);
	assert_string_equal(p, "{\"x\":1}");
	free(p);
	assert_int_equal(hk_proto_decoder_feed(&d, buf + used, l2, &used2), 1);
	assert_int_equal(used2, l2);
	p = hk_proto_decoder_take(&d, NULL);
	assert_string_equal(p, "{\"y\":[]}");
	free(p);
	assert_null(hk_proto_decoder_take(&d, NULL));
	free(buf);
	free(f1);
	free(f2);
	hk_proto_decoder_fini(&d);
}

static void test_frame_oversize(void **state)
{
	struct hk_proto_decoder d;
	/* 1 MiB + 1 announced: refused from the header alone */
	const unsigned char hdr[4] = { 0x00, 0x10, 0x00, 0x01 };
	const unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
	const unsigned char max[4] = { 0x00, 0x10, 0x00, 0x00 };
	size_t used;

	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, hdr, 4, &used), HK_EPROTO);
	assert_null(d.buf);
	hk_proto_decoder_fini(&d);

	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, huge, 4, &used), HK_EPROTO);
	assert_null(d.buf);
	hk_proto_decoder_fini(&d);

	/* exactly the maximum is accepted (and waits for the payload) */
	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, max, 4, &used), 0);
	assert_true(hk_proto_decoder_partial(&d));
	hk_proto_decoder_fini(&d);
}

static void test_frame_encode_too_big(void **state)
{
	json_t *j = json_object();
	char *big = hk_xmalloc(HK_PROTO_MAX_REQUEST + 1);
	char *frame = NULL;
	size_t len = 0;

	memset(big, 'a', HK_PROTO_MAX_REQUEST);
	big[HK_PROTO_MAX_REQUEST] = '\0';
	json_object_set_new(j, "s", json_string(big));
	assert_int_equal(hk_proto_frame_encode(j, HK_PROTO_MAX_REQUEST, &frame, &len), HK_EPROTO);
	assert_null(frame);
	json_decref(j);
	free(big);
}

static void test_frame_empty_payload(void **state)
{
	struct hk_proto_decoder d;
	const char zero[4] = { 0, 0, 0, 0 };
	size_t used, len = 99;
	char *p;

	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	assert_int_equal(hk_proto_decoder_feed(&d, zero, 4, &used), 1);
	p = hk_proto_decoder_take(&d, &len);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
	hk_proto_decoder_fini(&d);
}

/* Envelopes ------------------------------------------------------------------- */

static int parse_req(const char *text, struct hk_proto_request *req, char **cause)
{
	return hk_proto_request_parse(text, strlen(text), req, cause);
}

static void test_request_ok(void **state)
{
	struct hk_proto_request req;
	char *cause = NULL;

	assert_int_equal(parse_req("{\"v\":1,\"id\":42,\"op\":\"register_cleanup\",\"args\":{\"directory\":\"/x\"}}",
				   &req, &cause), 0);
	assert_null(cause);
	assert_int_equal(req.id, 42);
	assert_string_equal(req.op, "register_cleanup");
	assert_string_equal(json_string_value(json_object_get(req.args, "directory")), "/x");
	hk_proto_request_fini(&req);

	/* args left out: an empty object */
	assert_int_equal(parse_req("{\"v\":1,\"id\":0,\"op\":\"status\"}", &req, &cause), 0);
	assert_true(json_is_object(req.args));
	assert_int_equal(json_object_size(req.args), 0);
	hk_proto_request_fini(&req);
}

static const struct {
	const char *text;
	int64_t id;           /* id still readable for the error reply */
	const char *cause;    /* prefix of the message */
} bad_requests[] = {
	{ "{\"v\":1,\"id\":3,\"op\":", -1, "invalid JSON at byte" },
	{ "not json", -1, "invalid JSON at byte" },
	{ "[1,2]", -1, "message is not a JSON object" },
	{ "{\"id\":3,\"op\":\"x\"}", 3, "missing protocol version \"v\"" },
	{ "{\"v\":2,\"id\":3,\"op\":\"x\"}", 3, "unsupported protocol version 2 (this side speaks 1)" },
	{ "{\"v\":\"1\",\"id\":3,\"op\":\"x\"}", 3, "protocol version \"v\" is not an integer" },
	{ "{\"v\":1,\"op\":\"x\"}", -1, "missing or invalid \"id\" (a non-negative integer)" },
	{ "{\"v\":1,\"id\":-5,\"op\":\"x\"}", -1, "missing or invalid \"id\"" },
	{ "{\"v\":1,\"id\":3}", 3, "missing or invalid \"op\" (a string)" },
	{ "{\"v\":1,\"id\":3,\"op\":\"\"}", 3, "missing or invalid \"op\"" },
	{ "{\"v\":1,\"id\":3,\"op\":\"x\",\"args\":[]}", 3, "\"args\" is not an object" },
	{ "{\"v\":1,\"v\":1,\"id\":3,\"op\":\"x\"}", -1, "invalid JSON" },
};

static void test_request_bad(void **state)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad_requests); i++) {
		struct hk_proto_request req;
		char *cause = NULL;
		int r = parse_req(bad_requests[i].text, &req, &cause);
		if (r != HK_EPROTO || !cause ||
		    strncmp(cause, bad_requests[i].cause, strlen(bad_requests[i].cause)) != 0 ||
		    req.id != bad_requests[i].id)
			fail_msg("request %zu (%s): r=%d id=%lld cause=%s", i, bad_requests[i].text, r,
				 (long long)req.id, cause ? cause : "(null)");
		free(cause);
		hk_proto_request_fini(&req);
	}
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static void test_responses(void **state)
{
	char *s;
	json_t *result, *error;
	char *cause;

	s = dump(hk_proto_response_ok(5, json_pack("{s:s}", "id", "abc")));
	assert_string_equal(s, "{\"id\":5,\"ok\":true,\"result\":{\"id\":\"abc\"},\"v\":1}");
	assert_int_equal(hk_proto_response_parse(s, strlen(s), 5, &result, &error, &cause), 0);
	assert_string_equal(json_string_value(json_object_get(result, "id")), "abc");
	assert_null(error);
	json_decref(result);
	/* another id */
	assert_int_equal(hk_proto_response_parse(s, strlen(s), 6, &result, &error, &cause), HK_EPROTO);
	assert_non_null(cause);
	free(cause);
	free(s);

	s = dump(hk_proto_response_error(9, HK_ENOTFOUND, "no registration with id 'x'", NULL));
	assert_string_equal(s, "{\"error\":{\"code\":-1002,\"message\":\"no registration with id 'x'\","
			       "\"name\":\"HK_ENOTFOUND\"},\"id\":9,\"ok\":false,\"v\":1}");
	assert_int_equal(hk_proto_response_parse(s, strlen(s), 9, &result, &error, &cause), HK_ENOTFOUND);
	assert_null(result);
	assert_string_equal(json_string_value(json_object_get(error, "message")),
			    "no registration with id 'x'");
	json_decref(error);
	free(s);

	/* null id: a refusal before any request, accepted for any id */
	s = dump(hk_proto_response_error(-1, HK_EBUSY, NULL, json_pack("[s]", "d")));
	assert_string_equal(s, "{\"error\":{\"code\":-1012,\"details\":[\"d\"],\"message\":\"resource busy\","
			       "\"name\":\"HK_EBUSY\"},\"id\":null,\"ok\":false,\"v\":1}");
	assert_int_equal(hk_proto_response_parse(s, strlen(s), 77, &result, &error, &cause), HK_EBUSY);
	json_decref(error);
	free(s);

	/* -errno names */
	assert_string_equal(hk_proto_error_name(-ENOENT), "ENOENT");
	assert_string_equal(hk_proto_error_name(HK_EDENIED), "HK_EDENIED");

	/* version mismatch in a response */
	const char *v2 = "{\"v\":2,\"id\":1,\"ok\":true,\"result\":null}";
	assert_int_equal(hk_proto_response_parse(v2, strlen(v2), 1, &result, &error, &cause), HK_EPROTO);
	assert_string_equal(cause, "unsupported protocol version 2 (this side speaks 1)");
	free(cause);
	/* malformed error object */
	const char *bad = "{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":5}}";
	assert_int_equal(hk_proto_response_parse(bad, strlen(bad), 1, &result, &error, &cause), HK_EPROTO);
	free(cause);
}

static void test_request_new(void **state)
{
	char *s = dump(hk_proto_request_new(3, "status", NULL));
	assert_string_equal(s, "{\"args\":{},\"id\":3,\"op\":\"status\",\"v\":1}");
	free(s);
}

/* Byte strings ------------------------------------------------------------------ */

static void test_base64(void **state)
{
	static const struct { const char *raw, *b64; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(v); i++) {
		char *e = hk_proto_base64_encode(v[i].raw, strlen(v[i].raw));
		char *d = NULL;
		size_t n;
		assert_string_equal(e, v[i].b64);
		assert_int_equal(hk_proto_base64_decode(e, strlen(e), &d, &n), 0);
		assert_int_equal(n, strlen(v[i].raw));
		assert_memory_equal(d, v[i].raw, n);
		free(e);
		free(d);
	}
	static const char *const bad[] = { "Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "=Zm9" };
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad); i++) {
		char *d = NULL;
		if (hk_proto_base64_decode(bad[i], strlen(bad[i]), &d, NULL) != HK_EPROTO)
			fail_msg("base64 '%s' accepted", bad[i]);
	}
}

static void test_bytes_utf8(void **state)
{
	json_t *o = json_object();
	char *out = NULL;
	size_t n;

	assert_int_equal(hk_proto_set_bytes(o, "path", "/var/log/caf\xc3\xa9.log", 18), 0);
	assert_string_equal(json_string_value(json_object_get(o, "path")), "/var/log/caf\xc3\xa9.log");
	assert_null(json_object_get(o, "path_b64"));
	assert_int_equal(hk_proto_get_bytes(o, "path", &out, &n), 0);
	assert_int_equal(n, 18);
	free(out);
	assert_int_equal(hk_proto_get_bytes(o, "missing", &out, &n), -ENOENT);
	json_decref(o);
}

static void test_bytes_raw_roundtrip(void **state)
{
	/* Latin-1 e-acute, a lone continuation byte, a backslash, 0xff */
	const char raw[] = "/var/log/caf\xe9/\x80x\\y\xff.log";
	json_t *o = json_object();
	char *out = NULL, *text = NULL;
	size_t n;

	assert_int_equal(hk_proto_set_bytes(o, "path", raw, strlen(raw)), 0);
	assert_string_equal(json_string_value(json_object_get(o, "path")),
			    "/var/log/caf\\xe9/\\x80x\\x5cy\\xff.log");
	assert_non_null(json_object_get(o, "path_b64"));
	/* through the wire: serialize and parse back */
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_int_equal(hk_proto_get_bytes(o, "path", &out, &n), 0);
	assert_int_equal(n, strlen(raw));
	assert_memory_equal(out, raw, n);
	free(out);
	/* setting a UTF-8 value again drops a stale _b64 */
	assert_int_equal(hk_proto_set_bytes(o, "path", "/ok", 3), 0);
	assert_null(json_object_get(o, "path_b64"));
	/* broken base64 and embedded NUL are refused */
	json_object_set_new(o, "path_b64", json_string("!!!!"));
	assert_int_equal(hk_proto_get_bytes(o, "path", &out, &n), HK_EPROTO);
	json_object_set_new(o, "path_b64", json_string("AGE="));   /* "\0a" */
	assert_int_equal(hk_proto_get_bytes(o, "path", &out, &n), HK_EPROTO);
	json_object_set_new(o, "path_b64", json_null());
	json_object_set_new(o, "path", json_integer(3));
	assert_int_equal(hk_proto_get_bytes(o, "path", &out, &n), HK_EPROTO);
	json_decref(o);
	free(text);
}

/* Registrations ------------------------------------------------------------------- */

static struct hk_registration *sample_reg(void)
{
	struct hk_registration *r = hk_xcalloc(1, sizeof(*r));

	memcpy(r->id, "0f8fad5b-d9cb-469f-a165-70867728950e", HK_UUID_LEN + 1);
	r->name = hk_xstrdup("myapp-logs");
	r->directory = hk_xstrdup("/var/log/my\xff" "app");
	r->pattern = hk_xstrdup("*.log");
	r->excludes = hk_xcalloc(3, sizeof(char *));
	r->excludes[0] = hk_xstrdup("current.log");
	r->excludes[1] = hk_xstrdup("keep-\xfe.log");
	r->n_excludes = 2;
	r->retention = 30 * 86400;
	r->has_retention = true;
	r->max_files = 100;
	r->has_max_files = true;
	r->priority = 50;
	r->description = hk_xstrdup("MyApp log files");
	r->recursive = true;
	r->age_by = HK_AGE_MTIME | HK_AGE_CTIME;
	r->source = HK_SOURCE_CONFIG;
	r->source_file = hk_xstrdup("/etc/housekeeper/conf.d/myapp.conf");
	r->source_line = 3;
	r->created_at = 1700000000;
	r->updated_at = 1700000100;
	r->last_run = 0;
	r->owner_uid = 0;
	r->min_free = (struct hk_space){ .set = true, .is_percent = true, .percent = 10 };
	r->free_target = (struct hk_space){ .set = true, .bytes = UINT64_C(2) << 30 };
	r->low_watermark = 80;
	r->skip_open = true;
	r->remove_empty_dirs = true;
	return r;
}

static void test_registration_to_json(void **state)
{
	struct hk_registration *r = sample_reg();
	json_t *j = hk_proto_registration_to_json(r);
	static const char *const keys[] = {
		"id", "name", "directory", "directory_b64", "pattern", "exclude", "exclude_b64",
		"retention", "max_files", "max_size", "priority", "description", "recursive", "age_by",
		"schedule", "allow_system_directory", "default_retention", "created_at", "updated_at",
		"last_run", "source", "source_file", "owner_uid", "min_free", "free_target",
		"low_watermark", "skip_open", "unit", "remove_empty_dirs",
	};

	for (size_t i = 0; i < HK_ARRAY_SIZE(keys); i++)
		if (!json_object_get(j, keys[i]))
			fail_msg("missing key %s", keys[i]);
	assert_int_equal(json_object_size(j), HK_ARRAY_SIZE(keys));
	assert_string_equal(json_string_value(json_object_get(j, "id")), r->id);
	assert_int_equal(json_integer_value(json_object_get(j, "retention")), 2592000);
	assert_int_equal(json_integer_value(json_object_get(j, "max_files")), 100);
	assert_true(json_is_null(json_object_get(j, "max_size")));
	assert_true(json_is_null(json_object_get(j, "schedule")));
	assert_string_equal(json_string_value(json_object_get(j, "source")), "config");
	assert_int_equal(json_integer_value(json_object_get(j, "created_at")), 1700000000);
	assert_true(json_is_null(json_object_get(j, "last_run")));   /* unset: null, not 0 */
	assert_true(json_is_true(json_object_get(j, "recursive")));
	char *age = json_dumps(json_object_get(j, "age_by"), JSON_COMPACT);
	assert_string_equal(age, "[\"mtime\",\"ctime\"]");
	free(age);
	assert_string_equal(json_string_value(json_object_get(j, "directory")), "/var/log/my\\xffapp");
	assert_int_equal(json_array_size(json_object_get(j, "exclude")), 2);
	assert_true(json_is_null(json_array_get(json_object_get(j, "exclude_b64"), 0)));
	/* SPEC 5's later keys: the INI's strings, booleans */
	assert_string_equal(json_string_value(json_object_get(j, "min_free")), "10%");
	assert_string_equal(json_string_value(json_object_get(j, "free_target")), "2G");
	assert_string_equal(json_string_value(json_object_get(j, "low_watermark")), "80%");
	assert_true(json_is_true(json_object_get(j, "skip_open")));
	assert_string_equal(json_string_value(json_object_get(j, "unit")), "file");
	assert_true(json_is_true(json_object_get(j, "remove_empty_dirs")));
	json_decref(j);
	/* unset: null, and low_watermark's default 100% (also from a zeroed 0) */
	r->min_free = r->free_target = (struct hk_space){ 0 };
	r->low_watermark = 0;
	j = hk_proto_registration_to_json(r);
	assert_true(json_is_null(json_object_get(j, "min_free")));
	assert_true(json_is_null(json_object_get(j, "free_target")));
	assert_string_equal(json_string_value(json_object_get(j, "low_watermark")), "100%");
	json_decref(j);
	hk_registration_free(r);
}

static void test_registration_roundtrip(void **state)
{
	struct hk_registration *r = sample_reg();
	struct hk_registration *back = hk_xcalloc(1, sizeof(*back));
	static const char *const ignore[] = { "id", "source", "source_file", "created_at", "updated_at",
					      "last_run", "owner_uid", "default_retention", NULL };
	json_t *j = hk_proto_registration_to_json(r);
	char *text = json_dumps(j, JSON_COMPACT);
	char *cause = NULL;
	unsigned set = 0;

	json_decref(j);
	j = json_loads(text, 0, NULL);
	assert_int_equal(hk_proto_registration_parse(j, ignore, back, &set, &cause), 0);
	assert_null(cause);
	assert_string_equal(back->name, r->name);
	assert_string_equal(back->directory, r->directory);
	assert_string_equal(back->pattern, r->pattern);
	assert_int_equal(back->n_excludes, 2);
	assert_string_equal(back->excludes[0], "current.log");
	assert_string_equal(back->excludes[1], "keep-\xfe.log");
	assert_null(back->excludes[2]);
	assert_true(back->has_retention);
	assert_int_equal(back->retention, r->retention);
	assert_true(back->has_max_files);
	assert_int_equal(back->max_files, 100);
	assert_false(back->has_max_size);
	assert_int_equal(back->priority, 50);
	assert_string_equal(back->description, r->description);
	assert_true(back->recursive);
	assert_int_equal(back->age_by, HK_AGE_MTIME | HK_AGE_CTIME);
	assert_null(back->schedule);
	assert_memory_equal(&back->min_free, &r->min_free, sizeof(r->min_free));
	assert_memory_equal(&back->free_target, &r->free_target, sizeof(r->free_target));
	assert_int_equal(back->low_watermark, 80);
	assert_true(back->skip_open);
	assert_int_equal(back->unit, HK_UNIT_FILE);
	assert_true(back->remove_empty_dirs);
	assert_int_equal(set, HK_PROTO_F_NAME | HK_PROTO_F_DIRECTORY | HK_PROTO_F_PATTERN |
			 HK_PROTO_F_EXCLUDE | HK_PROTO_F_RETENTION | HK_PROTO_F_MAX_FILES |
			 HK_PROTO_F_MAX_SIZE | HK_PROTO_F_PRIORITY | HK_PROTO_F_DESCRIPTION |
			 HK_PROTO_F_RECURSIVE | HK_PROTO_F_AGE_BY | HK_PROTO_F_SCHEDULE |
			 HK_PROTO_F_ALLOW_SYSDIR | HK_PROTO_F_MIN_FREE | HK_PROTO_F_FREE_TARGET |
			 HK_PROTO_F_LOW_WATERMARK | HK_PROTO_F_SKIP_OPEN | HK_PROTO_F_UNIT |
			 HK_PROTO_F_REMOVE_EMPTY_DIRS);
	json_decref(j);
	free(text);
	hk_registration_free(r);
	hk_registration_free(back);
}

static void test_registration_units(void **state)
{
	static const struct {
		const char *args;
		int64_t retention;
		uint64_t max_size;
		uint64_t max_files;
	} ok[] = {
		{ "{\"retention\":\"30d\",\"max_size\":\"500M\",\"max_files\":\"7\"}", 2592000, 524288000, 7 },
		{ "{\"retention\":3600,\"max_size\":1000,\"max_files\":0}", 3600, 1000, 0 },
		{ "{\"retention\":\"90\",\"max_size\":\"4096\",\"max_files\":1}", 90, 4096, 1 },
		{ "{\"retention\":\"1w 2d\",\"max_size\":\"1G\",\"max_files\":2}", 777600, 1073741824, 2 },
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(ok); i++) {
		struct hk_registration reg = { 0 };
		json_t *a = json_loads(ok[i].args, 0, NULL);
		char *cause = NULL;
		assert_int_equal(hk_proto_registration_parse(a, NULL, &reg, NULL, &cause), 0);
		assert_int_equal(reg.retention, ok[i].retention);
		assert_int_equal(reg.max_size, ok[i].max_size);
		assert_int_equal(reg.max_files, ok[i].max_files);
		assert_true(reg.has_retention && reg.has_max_size && reg.has_max_files);
		json_decref(a);
	}
}

static void test_registration_bad(void **state)
{
	static const struct { const char *args, *cause; } bad[] = {
		{ "{\"retention\":-1}",
		  "retention: expected seconds (a non-negative integer) or a duration string like \"30d\"" },
		{ "{\"retention\":1.5}",
		  "retention: expected seconds (a non-negative integer) or a duration string like \"30d\"" },
		{ "{\"max_size\":true}",
		  "max_size: expected bytes (a non-negative integer) or a size string like \"500M\"" },
		{ "{\"max_files\":\"many\"}", "max_files: expected a non-negative integer" },
		{ "{\"priority\":\"high\"}", "priority: expected an integer" },
		{ "{\"recursive\":\"yes\"}", "recursive: expected true or false" },
		{ "{\"age_by\":\"birthtime\"}", "age_by: use mtime, atime, ctime or a list of them" },
		{ "{\"age_by\":[]}", "age_by: use mtime, atime, ctime or a list of them" },
		{ "{\"exclude\":[1]}", "exclude: expected an array of strings" },
		{ "{\"directory\":null}", "directory: must not be null" },
		{ "{\"directory\":5}", "directory: expected a string" },
		{ "{\"colour\":\"red\"}", "colour: unknown or read-only field" },
		{ "{\"source\":\"api\"}", "source: unknown or read-only field" },
		{ "{\"id\":\"x\"}", "id: unknown or read-only field" },
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad); i++) {
		struct hk_registration *reg = hk_xcalloc(1, sizeof(*reg));
		json_t *a = json_loads(bad[i].args, 0, NULL);
		char *cause = NULL;
		int r;
		assert_non_null(a);
		r = hk_proto_registration_parse(a, NULL, reg, NULL, &cause);
		if (r != HK_ECONFIG || !cause || strcmp(cause, bad[i].cause) != 0)
			fail_msg("%s: r=%d cause=%s", bad[i].args, r, cause ? cause : "(null)");
		free(cause);
		json_decref(a);
		hk_registration_free(reg);
	}
	/* a duration parse error carries the parser's message */
	struct hk_registration reg = { 0 };
	json_t *a = json_pack("{s:s}", "retention", "30 parsecs");
	char *cause = NULL;
	assert_int_equal(hk_proto_registration_parse(a, NULL, &reg, NULL, &cause), HK_ECONFIG);
	assert_true(strncmp(cause, "retention: ", 11) == 0);
	free(cause);
	json_decref(a);
}

static void test_registration_null_resets(void **state)
{
	struct hk_registration *reg = sample_reg();
	json_t *a = json_loads("{\"retention\":null,\"max_files\":null,\"pattern\":null,"
			       "\"exclude\":null,\"description\":null,\"age_by\":null,\"priority\":null}",
			       0, NULL);
	char *cause = NULL;
	unsigned set;

	assert_int_equal(hk_proto_registration_parse(a, NULL, reg, &set, &cause), 0);
	assert_false(reg->has_retention);
	assert_false(reg->has_max_files);
	assert_string_equal(reg->pattern, "*");
	assert_int_equal(reg->n_excludes, 0);
	assert_null(reg->excludes[0]);
	assert_null(reg->description);
	assert_int_equal(reg->age_by, HK_AGE_MTIME);
	assert_int_equal(reg->priority, 100);
	json_decref(a);
	hk_registration_free(reg);
}

/* Reports ------------------------------------------------------------------------ */

static void test_report_to_json(void **state)
{
	struct hk_report_reg regs[1] = { { .scanned = 10, .selected = 2, .deleted = 2, .bytes = 300,
					   .skipped = 1, .errors = 0 } };
	struct hk_report_file files[2] = {
		{ .path = (char *)"/l/a.log", .reg_id = "id-1", .size = 100, .mtime_ns = 1500000000LL,
		  .reason = HK_REASON_AGE, .outcome = HK_REAP_WOULD_DELETE },
		{ .path = (char *)"/l/b\xff.log", .reg_id = "id-1", .size = 200, .mtime_ns = 0,
		  .reason = HK_REASON_COUNT, .outcome = HK_REAP_FAILED, .err = -EACCES },
	};
	struct hk_report rep = { .job_id = 12, .trigger = "manual", .dry_run = true,
				 .started_ns = 1700000000500000000LL, .finished_ns = 1700000001000000000LL,
				 .regs = regs, .n_regs = 1, .files = files, .n_files = 2 };
	json_t *j;
	const json_t *f;
	char *p = NULL;

	memcpy(regs[0].id, "id-1", 5);
	regs[0].directory = (char *)"/l";
	j = hk_proto_report_to_json(&rep);
	assert_int_equal(json_integer_value(json_object_get(j, "job_id")), 12);
	assert_string_equal(json_string_value(json_object_get(j, "trigger")), "manual");
	assert_true(json_is_true(json_object_get(j, "dry_run")));
	/* times are whole epoch seconds, as everywhere (issue 18) */
	assert_true(json_is_integer(json_object_get(j, "started")));
	assert_int_equal(json_integer_value(json_object_get(j, "started")), 1700000000);
	assert_int_equal(json_integer_value(json_object_get(j, "finished")), 1700000001);
	assert_int_equal(json_array_size(json_object_get(j, "files")), 2);
	f = json_array_get(json_object_get(j, "files"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "path")), "/l/a.log");
	assert_string_equal(json_string_value(json_object_get(f, "reason")), "age");
	assert_string_equal(json_string_value(json_object_get(f, "outcome")), "would-delete");
	assert_int_equal(json_integer_value(json_object_get(f, "size")), 100);
	assert_true(json_is_integer(json_object_get(f, "mtime")));
	assert_int_equal(json_integer_value(json_object_get(f, "mtime")), 1);
	assert_true(json_is_null(json_object_get(f, "error")));
	f = json_array_get(json_object_get(j, "files"), 1);
	assert_int_equal(hk_proto_get_bytes(f, "path", &p, NULL), 0);
	assert_string_equal(p, "/l/b\xff.log");
	free(p);
	assert_string_equal(json_string_value(json_object_get(f, "outcome")), "failed");
	assert_non_null(json_string_value(json_object_get(f, "error")));
	const json_t *t = json_object_get(j, "totals");
	assert_int_equal(json_integer_value(json_object_get(t, "deleted")), 2);
	assert_int_equal(json_integer_value(json_object_get(t, "bytes")), 300);
	assert_int_equal(json_integer_value(json_object_get(t, "skipped")), 1);
	const json_t *r0 = json_array_get(json_object_get(j, "registrations"), 0);
	assert_int_equal(json_integer_value(json_object_get(r0, "scanned")), 10);
	assert_true(json_is_null(json_object_get(r0, "error")));
	json_decref(j);
}

/* The streamed file list of a report file equals, as JSON values, the one
 * jansson builds: escapes, UTF-8, non-UTF-8 (path_b64), null ids, errors,
 * sizes beyond INT64_MAX and times with and without fractions. */
static void test_report_files_dump(void **state)
{
	struct hk_report_file files[] = {
		{ .path = (char *)"/l/a.log", .reg_id = "id-1", .size = 100, .mtime_ns = 1500000000LL,
		  .reason = HK_REASON_AGE, .outcome = HK_REAP_DELETED },
		{ .path = (char *)"/l/q\"b\\s\n\t\x01\x1f\x7f.log", .reg_id = "id-1", .size = 1,
		  .mtime_ns = 1700000000123456789LL, .reason = HK_REASON_COUNT,
		  .outcome = HK_REAP_DELETED },
		{ .path = (char *)"/l/caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80", .size = UINT64_MAX,
		  .mtime_ns = -1, .reason = HK_REASON_SIZE, .outcome = HK_REAP_LOCKED },
		{ .path = (char *)"/l/b\xff.log", .reg_id = "id-2", .size = 200, .mtime_ns = 0,
		  .reason = HK_REASON_COUNT, .outcome = HK_REAP_FAILED, .err = -EACCES },
		{ .path = (char *)"/l/overlong\xc0\xaf", .size = 3, .mtime_ns = 2,
		  .reason = HK_REASON_AGE, .outcome = HK_REAP_FAILED, .err = -ENOSPC },
	};
	struct hk_report rep = { .files = files, .n_files = sizeof(files) / sizeof(files[0]) };
	struct hk_buf b = { 0 };
	hk_proto_report_files_dump(&b, &rep);
	json_error_t err;
	json_t *streamed = json_loadb(b.data, b.len, 0, &err);
	assert_non_null(streamed);
	json_t *built = hk_proto_report_to_json(&rep);
	assert_true(json_equal(streamed, json_object_get(built, "files")));
	json_decref(built);
	json_decref(streamed);
	hk_buf_fini(&b);

	/* an empty list */
	rep.n_files = 0;
	hk_proto_report_files_dump(&b, &rep);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "[]", 2);
	hk_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_frame_roundtrip_whole),
		cmocka_unit_test(test_frame_byte_by_byte),
		cmocka_unit_test(test_frame_two_in_one_buffer),
		cmocka_unit_test(test_frame_oversize),
		cmocka_unit_test(test_frame_encode_too_big),
		cmocka_unit_test(test_frame_empty_payload),
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_request_new),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_bytes_utf8),
		cmocka_unit_test(test_bytes_raw_roundtrip),
		cmocka_unit_test(test_registration_to_json),
		cmocka_unit_test(test_registration_roundtrip),
		cmocka_unit_test(test_registration_units),
		cmocka_unit_test(test_registration_bad),
		cmocka_unit_test(test_registration_null_resets),
		cmocka_unit_test(test_report_to_json),
		cmocka_unit_test(test_report_files_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
