/*
 * proto_records.h - the JSON of registrations (out, and parsed from
 * request arguments) and of run reports, SPEC 9 field names (byte strings
 * as proto.h says). Daemon and CLI side: not in libhousekeeper.
 */
#ifndef HK_PROTO_RECORDS_H
#define HK_PROTO_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "proto.h"
#include "registration.h"
#include "report.h"


/* Fields of a registration given in JSON args (hk_proto_registration_parse). */
#define HK_PROTO_F_NAME          (1u << 0)
#define HK_PROTO_F_DIRECTORY     (1u << 1)
#define HK_PROTO_F_PATTERN       (1u << 2)
#define HK_PROTO_F_EXCLUDE       (1u << 3)
#define HK_PROTO_F_RETENTION     (1u << 4)
#define HK_PROTO_F_MAX_FILES     (1u << 5)
#define HK_PROTO_F_MAX_SIZE      (1u << 6)
#define HK_PROTO_F_PRIORITY      (1u << 7)
#define HK_PROTO_F_DESCRIPTION   (1u << 8)
#define HK_PROTO_F_RECURSIVE     (1u << 9)
#define HK_PROTO_F_AGE_BY        (1u << 10)
#define HK_PROTO_F_SCHEDULE      (1u << 11)
#define HK_PROTO_F_ALLOW_SYSDIR  (1u << 12)
#define HK_PROTO_F_MIN_FREE      (1u << 13)
#define HK_PROTO_F_FREE_TARGET   (1u << 14)
#define HK_PROTO_F_LOW_WATERMARK (1u << 15)
#define HK_PROTO_F_SKIP_OPEN     (1u << 16)
#define HK_PROTO_F_UNIT          (1u << 17)
#define HK_PROTO_F_REMOVE_EMPTY_DIRS (1u << 18)

/* The JSON object of a registration, SPEC 9 field names: id, name,
 * directory, pattern, exclude (array), retention (seconds or null),
 * max_files (or null), max_size (bytes or null), priority, description
 * (or null), recursive, age_by (array of "mtime"/"atime"/"ctime"),
 * schedule (or null), allow_system_directory, min_free and free_target
 * ("SIZE" or "N%" as in the INI, or null), low_watermark ("N%", "100%" by
 * default), skip_open, unit ("file" | "directory"), remove_empty_dirs,
 * default_retention (true
 * when retention came from housekeeper_default_retention), created_at,
 * updated_at, last_run (epoch seconds, 0 = unknown/never), source
 * ("config" | "api"), source_file (or null), owner_uid. A new reference;
 * aborts on out-of-memory like the hk_x* allocators. */
json_t *hk_proto_registration_to_json(const struct hk_registration *reg);
/* Set the keys of SPEC 5's later limits (min_free ... remove_empty_dirs,
 * as above) in object o: list and status share them. */
void hk_proto_registration_limits_to_json(json_t *o, const struct hk_registration *reg);

/* Apply the settable fields present in args (an object) to reg, allocating
 * its strings (reg->excludes stays NULL-terminated); *set (may be NULL)
 * receives the HK_PROTO_F_* bits of the fields given. Value forms:
 * retention: seconds (integer) or a duration string ("30d", "1w 2d", "90");
 * max_size: bytes (integer) or a size string ("500M"); max_files and
 * priority: integers (or decimal strings); min_free, free_target: "SIZE" or
 * "N%" (or bytes, an integer); low_watermark: "N%"; unit: "file" or
 * "directory"; recursive, skip_open, remove_empty_dirs...: booleans;
 * age_by: "mtime,atime" or an
 * array; exclude: an array of strings (or one string); null resets a field
 * to its default / no limit. Keys listed in ignore (NULL-terminated, may be
 * NULL) are skipped; any other unknown key, and the read-only ones (id,
 * source, created_at...), are an error. Returns 0, or HK_ECONFIG with
 * *cause ("retention: ..."), owned by the caller; reg may then be partly
 * changed. No I/O: hk_registration_validate does the rest. */
int hk_proto_registration_parse(const json_t *args, const char *const *ignore,
				struct hk_registration *reg, unsigned *set, char **cause);

/* The JSON object of a run report: job_id, trigger, dry_run, started and
 * finished (epoch seconds, floats), registrations (per registration: id,
 * name, directory, scanned, selected, deleted, bytes, blocks_bytes,
 * skipped, errors, error), files (registration_id, path, size, mtime
 * (epoch seconds, float), reason, outcome, error (null or message)) and
 * totals (registrations, deleted, bytes, skipped, errors). A new
 * reference; aborts on out-of-memory. */
json_t *hk_proto_report_to_json(const struct hk_report *rep);
/* The same without "files" (report files stream those). */
json_t *hk_proto_report_head_to_json(const struct hk_report *rep);
/* Append the "files" array of rep to b as compact JSON, equal in value to
 * the one of hk_proto_report_to_json but without building it in memory:
 * a 100k-file report is written in a fraction of the time. */
struct hk_buf;
void hk_proto_report_files_dump(struct hk_buf *b, const struct hk_report *rep);

#endif /* HK_PROTO_RECORDS_H */
