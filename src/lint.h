/*
 * lint.h - warnings of housekeeperd -t about valid registrations that would
 * delete what their owner wants kept (lint.c).
 */
#ifndef HK_LINT_H
#define HK_LINT_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* Check every registration of cfg; print one "file:line: warning: ..."
 * line per finding to out. Reads the registered directories (never
 * following symlinks), changes nothing. Returns the number of warnings. */
size_t hk_lint_config(const struct hk_config *cfg, FILE *out);

#endif /* HK_LINT_H */
