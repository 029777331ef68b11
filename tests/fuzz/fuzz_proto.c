/*
 * fuzz_proto.c - libFuzzer target for the control protocol (proto.h): the
 * input is a byte stream from a client. It is fed to the incremental frame
 * decoder in pseudo-random chunk sizes (from a hash of the input, so a run
 * is reproducible), as the daemon's reader does; every complete payload is
 * parsed as a request, its args as a registration (as register_cleanup
 * and update_cleanup_config do), which is then validated and turned back
 * into JSON and a frame; the payload is also parsed as a response.
 *
 * Checked contracts: feed consumes at most what it is given and all of it
 * unless a frame completes; a complete payload is NUL-terminated with the
 * announced length; HK_EPROTO ends the stream; every error has a cause.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "housekeeper.h"
#include "proto.h"
#include "proto_records.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_proto: %s\n", what);
	abort();
}

/* A registration as register_cleanup starts it (ctl.c). */
static struct hk_registration *fuzz_reg_new(void)
{
	struct hk_registration *reg = hk_xcalloc(1, sizeof(*reg));

	reg->pattern = hk_xstrdup("*");
	reg->excludes = hk_xcalloc(1, sizeof(*reg->excludes));
	reg->priority = 100;
	reg->age_by = HK_AGE_MTIME;
	reg->source = HK_SOURCE_API;
	reg->owner_uid = 1000;
	return reg;
}

static void fuzz_registration(const json_t *args, const char *const *ignore)
{
	struct hk_registration *reg = fuzz_reg_new();
	char *cause = NULL, *frame = NULL, *text;
	unsigned set = 0;
	size_t len;
	json_t *j;
	int r;

	r = hk_proto_registration_parse(args, ignore, reg, &set, &cause);
	if (r < 0) {
		if (r != HK_ECONFIG || !cause)
			fuzz_fail("registration: bad error contract");
		goto out;
	}
	if (!reg->pattern || !reg->excludes || reg->excludes[reg->n_excludes])
		fuzz_fail("registration: pattern or exclude list broken");
	if (set & HK_PROTO_F_DIRECTORY) {
		r = hk_registration_validate(reg, &cause);
		if (r < 0 && !cause)
			fuzz_fail("validate: error without cause");
		free(cause);
		cause = NULL;
	}
	j = hk_proto_registration_to_json(reg);
	if (!j)
		fuzz_fail("registration_to_json failed");
	text = json_dumps(j, JSON_COMPACT);
	free(text);
	if (hk_proto_frame_encode(j, HK_PROTO_MAX_RESPONSE, &frame, &len) == 0)
		free(frame);
	json_decref(j);
out:
	free(cause);
	hk_registration_free(reg);
}

static void fuzz_payload(const char *text, size_t len)
{
	static const char *const ignore[] = { "id", NULL };
	struct hk_proto_request req;
	json_t *result = NULL, *error = NULL;
	char *cause = NULL;
	int r;

	memset(&req, 0, sizeof(req));
	r = hk_proto_request_parse(text, len, &req, &cause);
	if (r == 0) {
		if (cause || !req.msg || !req.op || !json_is_object(req.args))
			fuzz_fail("request: bad success contract");
		fuzz_registration(req.args, NULL);
		fuzz_registration(req.args, ignore);
	} else if (r != HK_EPROTO || !cause) {
		fuzz_fail("request: bad error contract");
	}
	free(cause);
	cause = NULL;

	/* The same bytes as a response, as the client library reads them. */
	r = hk_proto_response_parse(text, len, req.id >= 0 ? req.id : 1, &result, &error, &cause);
	/* A daemon's error (which may itself be HK_EPROTO) comes with *error,
	 * a malformed message with *cause. */
	if (r == 0 && (!result || error || cause))
		fuzz_fail("response: bad success contract");
	if (r < 0 && !!error == !!cause)
		fuzz_fail("response: error needs exactly one of *error and *cause");
	if (error && (!json_is_object(error) ||
		      json_integer_value(json_object_get(error, "code")) != r))
		fuzz_fail("response: *error does not carry the code");
	hk_proto_request_fini(&req);
	json_decref(result);
	json_decref(error);
	free(cause);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_proto_decoder d;
	uint64_t rng = 1469598103934665603ULL;
	size_t off = 0;

	for (size_t i = 0; i < size; i++)
		rng = (rng ^ data[i]) * 1099511628211ULL;
	hk_proto_decoder_init(&d, HK_PROTO_MAX_REQUEST);
	while (off < size) {
		size_t chunk, used = 0, plen = 0;
		char *payload;
		int r;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		switch ((rng >> 33) % 4) {
		case 0: chunk = 1; break;
		case 1: chunk = 1 + (rng >> 40) % 7; break;
		case 2: chunk = 1 + (rng >> 40) % 256; break;
		default: chunk = size - off; break;
		}
		if (chunk > size - off)
			chunk = size - off;
		r = hk_proto_decoder_feed(&d, data + off, chunk, &used);
		if (used > chunk)
			fuzz_fail("feed used more than given");
		off += used;
		if (r == HK_EPROTO)
			break;
		if (r < 0)
			fuzz_fail("feed: unexpected error");
		if (r == 0) {
			if (used != chunk)
				fuzz_fail("feed returned 0 with bytes left");
			continue;
		}
		payload = hk_proto_decoder_take(&d, &plen);
		if (!payload || payload[plen] != '\0' || hk_proto_decoder_partial(&d))
			fuzz_fail("take: bad payload");
		fuzz_payload(payload, plen);
		free(payload);
	}
	hk_proto_decoder_fini(&d);
	return 0;
}
