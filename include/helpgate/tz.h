/*
 * tz.h — local time in a named time zone, without TZ, tzset() or global state.
 *
 * The rules engine evaluates business hours ("Mon-Fri 09:00-17:00
 * Europe/Berlin") in a multi-threaded daemon, where setenv("TZ") + tzset() +
 * localtime_r() would race. This module turns the bytes of a TZif file
 * (RFC 8536 and its successor RFC 9636: versions 1 to 4, the 64-bit block of
 * version 2+ files and their POSIX TZ footer, including the version 3
 * extensions) into an immutable struct hg_tz, and converts seconds since the
 * epoch to civil local time with its own calendar arithmetic.
 *
 * Pure: no file is opened (the daemon reads /usr/share/zoneinfo/NAME after
 * checking NAME with hg_tz_name_valid() and hands the bytes in), no clock,
 * no global or static mutable state. A struct hg_tz is never modified after
 * it is made, so any number of threads may call hg_tz_local() on it at once.
 *
 * Which local time type applies at an instant (RFC 9636 section 3.2):
 *  - before the first transition: time type 0;
 *  - on or after the last transition: the footer's TZ string when there is a
 *    non-empty one, otherwise the last transition's type;
 *  - with no transitions at all: the footer if any, otherwise type 0.
 *
 * Every input is treated as hostile: sizes are checked against the data
 * before anything is read, counts are bounded (10,000 transitions, 256 types,
 * a 255-byte footer), and all arithmetic is done in int64_t on clamped
 * values. Leap-second ("right/") files are refused: the daemon's clock is
 * POSIX time, which those files do not describe.
 *
 * Ownership: hg_tz_parse() and hg_tz_fixed() return a new struct hg_tz that
 * the caller releases with hg_tz_free(&tz) (which sets the pointer to NULL);
 * it keeps its own copy of NAME. Allocation failure aborts (alloc.h).
 * Errors: hg_tz_parse() returns NULL and sets *error_r to a one-line message
 * the caller frees with free(): the zone name, what is wrong, and the detail
 * ("Europe/Berlin: truncated TZif data: 1200 bytes, the header announces
 * 2298"). Nothing is logged.
 */
#ifndef HELPGATE_TZ_H
#define HELPGATE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hg_tz_local() clamps epochs to this range: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59Z, so the year always fits an int. */
#define HG_TZ_EPOCH_MIN INT64_C(-62135596800)
#define HG_TZ_EPOCH_MAX INT64_C(253402300799)
/* The longest zone name hg_tz_name_valid() accepts, in bytes. */
#define HG_TZ_NAME_MAX 64

struct hg_tz; /* opaque */

struct hg_tz_local {
    int year;       /* e.g. 2026 */
    int month;      /* 1-12 */
    int day;        /* 1-31 */
    int weekday;    /* 0 = Monday .. 6 = Sunday (ISO 8601 order) */
    int hour;       /* 0-23 */
    int minute;     /* 0-59 */
    int second;     /* 0-59 (POSIX time has no leap seconds) */
    int utc_offset; /* seconds east of UTC, e.g. 3600 for CET */
    bool dst;       /* daylight saving time, as the zone data says */
};

/* Parses the TZif data DATA/LEN. NAME (NULL: "(unnamed)") is copied and kept
 * for messages. Returns NULL with *error_r set on bad or unsupported data.
 * Versions '2' to '4' are read from their 64-bit block; a later version
 * digit is read the same way (RFC 9636 keeps new versions readable), and
 * bytes after the footer are ignored for the same reason. */
struct hg_tz *hg_tz_parse(const unsigned char *data, size_t len, const char *name, char **error_r);

/* A zone with one fixed offset, e.g. hg_tz_fixed(0, "UTC"). NAME NULL gives
 * "UTC" or "UTC+05:30". Returns NULL only when UTC_OFFSET_SECONDS lies
 * outside -89999..93599 (RFC 9636's range, just under -25 h to +26 h). */
struct hg_tz *hg_tz_fixed(int utc_offset_seconds, const char *name);

void hg_tz_free(struct hg_tz **tz);

/* The name the zone was made with. Valid as long as TZ is. */
const char *hg_tz_name(const struct hg_tz *tz);

/* The local time of EPOCH (seconds since 1970-01-01T00:00:00Z, clamped to
 * HG_TZ_EPOCH_MIN..HG_TZ_EPOCH_MAX) in TZ, which must not be NULL. */
void hg_tz_local(const struct hg_tz *tz, int64_t epoch, struct hg_tz_local *out);

/* Whether NAME may be turned into a path under the zoneinfo directory: 1 to
 * HG_TZ_NAME_MAX bytes of letters, digits, '/', '_', '-' and '+', no empty
 * component (so no leading, trailing or doubled '/'); having no '.', it
 * cannot hold "..". "Europe/Berlin", "Etc/GMT+5", "UTC" pass. */
bool hg_tz_name_valid(const char *name);

#endif
