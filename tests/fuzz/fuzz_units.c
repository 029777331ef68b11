/*
 * fuzz_units.c - libFuzzer target for the value grammars of units.h: the
 * input, as a NUL-terminated text, through hk_duration_parse
 * and hk_size_parse, with and without allow_bare.
 *
 * Checked contracts: 0 or -EINVAL/-ERANGE; *cause set exactly on error;
 * a parsed value formats (hk_duration_format, hk_size_format) into a
 * string that parses back to the same value; the human form fits.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, const char *text, const char *detail)
{
	fprintf(stderr, "%s: input \"%s\": %s\n", what, text, detail ? detail : "");
	abort();
}

static void fuzz_duration(const char *text, bool allow_bare)
{
	char buf[HK_UNITS_FORMAT_MAX], *cause = NULL, *cause2 = NULL;
	int64_t sec = -12345, sec2 = -1;
	int r = hk_duration_parse(text, allow_bare, &sec, &cause);

	if (r == 0) {
		if (cause)
			fuzz_fail("duration: cause set on success", text, cause);
		if (sec < 0)
			fuzz_fail("duration: negative result", text, NULL);
		hk_duration_format(sec, buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf) - 1)
			fuzz_fail("duration: format may be truncated", text, buf);
		if (hk_duration_parse(buf, false, &sec2, &cause2) != 0 || sec2 != sec) {
			fprintf(stderr, "sec %lld -> \"%s\" -> %lld\n", (long long)sec, buf,
				(long long)sec2);
			fuzz_fail("duration: format does not parse back", text, cause2);
		}
	} else {
		if (r != -EINVAL && r != -ERANGE)
			fuzz_fail("duration: unexpected return", text, NULL);
		if (!cause || !*cause)
			fuzz_fail("duration: no cause on error", text, NULL);
	}
	free(cause);
	free(cause2);
}

static void fuzz_size(const char *text, bool allow_bare)
{
	char buf[HK_UNITS_FORMAT_MAX], *cause = NULL, *cause2 = NULL;
	uint64_t bytes = 12345, bytes2 = 0;
	int r = hk_size_parse(text, allow_bare, &bytes, &cause);

	if (r == 0) {
		if (cause)
			fuzz_fail("size: cause set on success", text, cause);
		hk_size_format(bytes, buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf) - 1)
			fuzz_fail("size: format may be truncated", text, buf);
		if (hk_size_parse(buf, false, &bytes2, &cause2) != 0 || bytes2 != bytes) {
			fprintf(stderr, "bytes %llu -> \"%s\" -> %llu\n", (unsigned long long)bytes,
				buf, (unsigned long long)bytes2);
			fuzz_fail("size: format does not parse back", text, cause2);
		}
		hk_size_human(bytes, buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf) - 1)
			fuzz_fail("size: human form may be truncated", text, buf);
	} else {
		if (r != -EINVAL && r != -ERANGE)
			fuzz_fail("size: unexpected return", text, NULL);
		if (!cause || !*cause)
			fuzz_fail("size: no cause on error", text, NULL);
	}
	free(cause);
	free(cause2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	/* Values are short; long inputs only slow the search down. */
	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	fuzz_duration(text, false);
	fuzz_duration(text, true);
	fuzz_size(text, false);
	fuzz_size(text, true);
	free(text);
	return 0;
}
