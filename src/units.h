/*
 * units.h - the value grammars of the configuration.
 *
 * One grammar for the configuration, the control protocol's strings and
 * the CLI, in which no unit letter has two meanings (SPEC 3):
 *
 * Durations follow the tmpfiles.d grammar as SPEC 3 lists it: terms of a
 * number (decimal fractions allowed, "1.5h") and a unit, optionally
 * separated by whitespace, that add up ("1w 2d", "1h30min", "2 h 5 min").
 * Units, case-sensitive: s/sec/second(s), m/min/minute(s), h/hr/hour(s),
 * d/day(s), w/week(s). No months or years ("M" is MiB, write "30d"), no
 * sub-second units. The sum is rounded UP to whole seconds (a limit is
 * never shorter than written: "1.25s" is 2 s), but a nonzero total below
 * one second is an error ("0.5s"), as it is surely a mistake.
 *
 * Sizes are a whole number with an optional 1024-based suffix K M G T
 * (upper case only: "m" is minutes), optionally followed by "B" or "iB"
 * with the same meaning ("500M" = "500MB" = "500MiB" = 500 * 2^20), or
 * "B" alone for bytes ("1000B"). Fractions ("1.5G") are rejected: use a
 * smaller unit.
 *
 * "0" is always valid and means 0. Any other number without a unit is an
 * error unless allow_bare is set; then it means seconds or bytes.
 * Pure functions; the only allocation is the cause string.
 */
#ifndef HK_UNITS_H
#define HK_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The units as error texts and help list them. */
#define HK_UNITS_DURATION_UNITS "use s, m or min, h, d or w"
#define HK_UNITS_SIZE_UNITS "use K, M, G or T, optionally followed by B or iB"

/* Parse a duration into whole seconds. A bare number other than "0" is an
 * error (units are required) unless allow_bare is set. Returns 0, -EINVAL
 * (bad syntax, *cause says what and suggests a unit), or -ERANGE (overflow
 * of int64 seconds). *cause, when non-NULL, is a new string owned by the
 * caller, set only on error. */
int hk_duration_parse(const char *s, bool allow_bare, int64_t *out_sec, char **cause);
/* Parse a size into bytes (K/M/G/T = 1024^n, optional trailing "B" or "iB").
 * Same error contract as hk_duration_parse. */
int hk_size_parse(const char *s, bool allow_bare, uint64_t *out_bytes, char **cause);

/* A free-space amount (min_free, free_target): a size, or a share "N%" of
 * the filesystem's size (1..99). */
struct hk_space {
	bool set;
	bool is_percent;
	unsigned percent;   /* when is_percent */
	uint64_t bytes;     /* when !is_percent */
};

/* Parse "SIZE" (the size grammar, no bare numbers but "0") or "N%" into
 * *out (set). Same error contract as hk_duration_parse. */
int hk_space_parse(const char *s, struct hk_space *out, char **cause);
/* Parse a share "N%" of a limit (low_watermark), 1..100. Same contract. */
int hk_percent_parse(const char *s, unsigned *out, char **cause);
/* "N%" or the size as hk_size_format writes it; "" when unset. */
char *hk_space_format(const struct hk_space *sp, char *buf, size_t len);
/* The bytes sp means on a filesystem of fs_bytes (a percentage rounds up). */
uint64_t hk_space_bytes(const struct hk_space *sp, uint64_t fs_bytes);

/* Buffer size that always holds the output of the three formatters below;
 * a smaller buffer gets a truncated, NUL-terminated string. */
#define HK_UNITS_FORMAT_MAX 64

/* Format seconds canonically with w, d, h, min and s, largest first ("1w
 * 2d 3h", "1min 30s", "0"), into buf. Re-parses to the same value. A
 * negative value gets a leading '-' (the parser never produces one, and
 * does not accept it back). Returns buf. */
char *hk_duration_format(int64_t sec, char *buf, size_t len);
/* Format a size with the largest exact unit: "500M", "1536K", "0", and
 * "1000B" when not a multiple of 1024, so it re-parses with allow_bare
 * false. Returns buf. */
char *hk_size_format(uint64_t bytes, char *buf, size_t len);
/* Human size for tables: bytes below 1 KiB exactly ("512 B"), otherwise one
 * decimal, rounded half up, in KiB..EiB ("1.5 MiB", "3.0 GiB"). Returns buf. */
char *hk_size_human(uint64_t bytes, char *buf, size_t len);

#endif /* HK_UNITS_H */
