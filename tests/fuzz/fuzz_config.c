/*
 * fuzz_config.c - libFuzzer target for the config loader: any bytes, as
 * the text of a main file, through hk_config_load_string (parse, then the
 * registration validation it runs). It must never crash, leak or hang, and
 * every error it reports must be "file:line: message" or "file: message".
 *
 * Round trip (config.h: hk_config_print "prints INI that loads again"): a
 * text that loads is printed, the print must load without error, and
 * printing that must give the same settings (comment lines, which name
 * source lines, aside).
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "housekeeper.h"

#define FUZZ_NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print cfg into a new string, without its comment lines. */
static char *fuzz_print(const struct hk_config *cfg)
{
	char *text = NULL, *out, *p, *line;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	hk_config_print(cfg, f);
	if (fclose(f) != 0)
		abort();
	out = calloc(1, len + 2);
	if (!out)
		abort();
	p = out;
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#' || line[0] == ';')
			continue;
		p += sprintf(p, "%s\n", line);
	}
	free(text);
	return out;
}

static void fuzz_check_errors(const struct hk_config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		if (!errs->msgs[i] || strncmp(errs->msgs[i], FUZZ_NAME ":", strlen(FUZZ_NAME ":")) != 0) {
			fprintf(stderr, "error without the file name: %s\n", errs->msgs[i]);
			abort();
		}
	}
}

static void fuzz_dump_errors(const char *what, const char *text, const struct hk_config_errors *errs)
{
	fprintf(stderr, "%s\n--- text ---\n%s--- errors ---\n", what, text);
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_config_errors errs = { NULL, 0 }, errs2 = { NULL, 0 };
	struct hk_config *cfg = NULL, *cfg2 = NULL;
	char *text, *p1 = NULL, *p2 = NULL;
	int r;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	r = hk_config_load_string(text, FUZZ_NAME, &cfg, &errs);
	if (r == 0) {
		if (!cfg || errs.n != 0)
			abort();
		p1 = fuzz_print(cfg);
		/* The printed form must load again, and be a fixed point. */
		if (hk_config_load_string(p1, FUZZ_NAME, &cfg2, &errs2) != 0) {
			fuzz_dump_errors("printed config does not load again", p1, &errs2);
			abort();
		}
		p2 = fuzz_print(cfg2);
		if (strcmp(p1, p2) != 0) {
			fprintf(stderr, "print is not a fixed point\n--- first ---\n%s--- second ---\n%s",
				p1, p2);
			abort();
		}
	} else {
		if (r != HK_ECONFIG || cfg || errs.n == 0)
			abort();
		fuzz_check_errors(&errs);
	}

	free(p1);
	free(p2);
	hk_config_free(cfg);
	hk_config_free(cfg2);
	hk_config_errors_fini(&errs);
	hk_config_errors_fini(&errs2);
	free(text);
	return 0;
}
