/*
 * proto.h - the control protocol on the wire (SPEC 9): framing, message
 * envelopes and byte strings; shared by libhousekeeper and the daemon. The
 * JSON form of registrations and run reports (daemon and CLI side only) is
 * proto_records.h.
 *
 * Transport: a Unix stream socket. Every message, in both directions, is a
 * frame: a 4-byte big-endian payload length, then that many bytes of one
 * UTF-8 JSON object. A request payload is at most HK_PROTO_MAX_REQUEST
 * bytes (the daemon drops a client announcing more, before buffering it);
 * a response at most HK_PROTO_MAX_RESPONSE (run reports can be long).
 *
 *   request   {"v":1,"id":N,"op":"register_cleanup","args":{...}}
 *   success   {"v":1,"id":N,"ok":true,"result":<any JSON>}
 *   failure   {"v":1,"id":N,"ok":false,"error":{"code":-1002,
 *              "name":"HK_ENOTFOUND","message":"...","details":<optional>}}
 *
 * "v" is the protocol version: a message with another version is refused
 * with HK_EPROTO. "id" is the caller's non-negative integer echoed back (null
 * when the request had none usable). "args" may be left out (= {}).
 * Error codes are those of include/housekeeper.h: -errno or HK_E*.
 *
 * Raw bytes in strings. File names are bytes, JSON strings are UTF-8. A byte
 * string that is valid UTF-8 is sent as is ("path":"..."). One that is not
 * is sent twice: "path" holds a display form (each invalid byte and each
 * backslash written as \xNN, so it is readable but lossy) and
 * "path_b64" holds the exact bytes in base64 (RFC 4648, with padding). A
 * reader takes KEY_b64 when present, else KEY. The same applies to every
 * byte-string field: path, directory, pattern, name, description,
 * source_file and the exclude array (then "exclude_b64" is an array of
 * base64 strings of the same length).
 *
 * Under -DHK_CLIENT_LIBRARY (libhousekeeper) only the framing, envelope and
 * byte-string parts are compiled; they allocate with malloc and return
 * -ENOMEM instead of aborting, and are hidden from the library's ABI.
 */
#ifndef HK_PROTO_H
#define HK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HK_PROTO_VERSION 1
#define HK_PROTO_HEADER_LEN 4
#define HK_PROTO_MAX_REQUEST (1024 * 1024)
#define HK_PROTO_MAX_RESPONSE (64 * 1024 * 1024)
/* audit pages (SPEC 9): records per page by default, and the most a
 * request may ask for */
#define HK_PROTO_AUDIT_LIMIT 1000
#define HK_PROTO_AUDIT_LIMIT_MAX 10000

#ifdef HK_CLIENT_LIBRARY
#pragma GCC visibility push(hidden)
#endif

/* Framing ------------------------------------------------------------------ */

/* Serialize msg (compact JSON) into a new frame *out of *out_len bytes
 * (header included), owned by the caller. HK_EPROTO when the payload would
 * exceed max bytes or msg cannot be serialized, -ENOMEM. */
int hk_proto_frame_encode(const json_t *msg, size_t max, char **out, size_t *out_len);

/* Incremental frame decoder for a non-blocking reader: feed it whatever
 * bytes arrived, take complete payloads out. */
struct hk_proto_decoder {
	size_t max;                          /* largest payload accepted */
	unsigned char hdr[HK_PROTO_HEADER_LEN];
	size_t hdr_len;                      /* header bytes seen so far */
	char *buf;                           /* payload being collected */
	size_t len;                          /* its announced length */
	size_t have;                         /* payload bytes seen so far */
	bool ready;                          /* buf holds a complete payload */
};
void hk_proto_decoder_init(struct hk_proto_decoder *d, size_t max);
void hk_proto_decoder_fini(struct hk_proto_decoder *d);
/* Consume bytes from data[0..n) up to the end of at most one frame; *used
 * says how many. Returns 1 when a payload is complete (take it with
 * hk_proto_decoder_take before feeding more; the rest of data is for the
 * next frame), 0 when every byte was consumed and more are needed,
 * HK_EPROTO when the header announces more than max bytes (nothing is
 * allocated; the stream cannot be resynchronized: drop it), -ENOMEM. */
int hk_proto_decoder_feed(struct hk_proto_decoder *d, const void *data, size_t n, size_t *used);
/* The complete payload, NUL-terminated, *len bytes without the NUL; owned
 * by the caller. The decoder is then ready for the next frame. NULL when
 * no payload is complete. */
char *hk_proto_decoder_take(struct hk_proto_decoder *d, size_t *len);
/* Is a frame partly received (a request is half-sent)? */
bool hk_proto_decoder_partial(const struct hk_proto_decoder *d);

/* Envelopes ---------------------------------------------------------------- */

/* A parsed request. msg owns everything; op and args are borrowed from it. */
struct hk_proto_request {
	json_t *msg;
	int64_t id;          /* -1 when the request carried no usable id */
	const char *op;
	json_t *args;        /* always an object (an empty one when absent) */
};
/* Parse a request payload. On error returns HK_EPROTO with *cause (owned
 * by the caller) and still fills req->id when it could be read, so the
 * error can be answered; req must be finished with hk_proto_request_fini in
 * both cases. */
int hk_proto_request_parse(const char *text, size_t len, struct hk_proto_request *req,
			   char **cause);
void hk_proto_request_fini(struct hk_proto_request *req);

/* Build messages; each returns a new reference, NULL on out-of-memory.
 * args, result and details are stolen (may be NULL: {} / null / left out). */
json_t *hk_proto_request_new(int64_t id, const char *op, json_t *args);
json_t *hk_proto_response_ok(int64_t id, json_t *result);
json_t *hk_proto_response_error(int64_t id, int code, const char *message, json_t *details);

/* Parse a response payload to the request expect_id. Returns 0 with
 * *result (a new reference, possibly JSON null); the daemon's error code
 * (< 0) with *error (a new reference to the error object, which has at
 * least an integer "code" and a string "message"); or HK_EPROTO with
 * *cause for a malformed message, another version or another id. Unset
 * outputs are NULL. */
int hk_proto_response_parse(const char *text, size_t len, int64_t expect_id, json_t **result,
			    json_t **error, char **cause);

/* The symbolic name of an error code: "HK_ENOTFOUND", "ENOENT"; static. */
const char *hk_proto_error_name(int code);

/* Byte strings --------------------------------------------------------------- */

/* Set obj[key] to the bytes data[0..len) (see the top of this file:
 * key and, when not UTF-8, key_b64). Returns 0 or -ENOMEM. */
int hk_proto_set_bytes(json_t *obj, const char *key, const char *data, size_t len);
/* The bytes of obj[key]: a new NUL-terminated string in *out, owned by the
 * caller, and its length in *len (may be NULL). Returns 0; -ENOENT when
 * the key is absent or null; HK_EPROTO when it is not a string, the base64
 * is broken or the bytes contain NUL; -ENOMEM. */
int hk_proto_get_bytes(const json_t *obj, const char *key, char **out, size_t *len);
/* The same for one array element (value) and its base64 twin (b64, may be
 * NULL). */
int hk_proto_bytes_from_json(const json_t *value, const json_t *b64, char **out, size_t *len);

/* Base64 (RFC 4648, padded). encode returns a new string or NULL on
 * out-of-memory; decode returns 0, HK_EPROTO on bad input, -ENOMEM. */
char *hk_proto_base64_encode(const void *data, size_t len);
int hk_proto_base64_decode(const char *text, size_t text_len, char **out, size_t *out_len);

#ifdef HK_CLIENT_LIBRARY
#pragma GCC visibility pop
#endif

#endif /* HK_PROTO_H */
