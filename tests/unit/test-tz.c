/*
 * test-tz.c — unit tests for the time zone module (tz.h).
 *
 * Data-driven: every tests/data/tz/NAME.tzif (written by generate.py) is
 * parsed and checked against NAME.ref: the error it must give, or the local
 * times it must give; every truncation of each case is refused or reads the
 * same zone. Then real zones from /usr/share/zoneinfo ($TZDIR) against known
 * values and against glibc's localtime_r under setenv("TZ") (this test is
 * single-threaded, so that is safe here), POSIX TZ footers against glibc,
 * the calendar over years 1-9999 against day-by-day counting and gmtime_r,
 * fixed zones, zone names, and hostile bytes: every truncation of a real
 * file, byte flips, garbage, absurd counts, extreme epochs.
 * The data directory is found through $top_srcdir (default ".").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* tm_gmtoff, setenv */
#endif
#include "helpgate/tz.h"

#include "tap.h"
#include "testdata.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A uniformly spread value in [LO, HI). */
static int64_t random_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_random() % (uint64_t)(hi - lo));
}

/* The layout of the .ref files: "YYYY-MM-DD HH:MM:SS WEEKDAY OFFSET DST". */
static void format_local(const struct hg_tz_local *l, char *buf, size_t size)
{
    snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d %d %d %d", l->year, l->month, l->day, l->hour,
             l->minute, l->second, l->weekday, l->utc_offset, l->dst ? 1 : 0);
}

static void local_text(const struct hg_tz *tz, int64_t epoch, char *buf, size_t size)
{
    struct hg_tz_local l;
    hg_tz_local(tz, epoch, &l);
    format_local(&l, buf, size);
}

/* Days from 1970-01-01 to Y-M-D (Y >= -399) by counting leap years (not tz.c's era arithmetic). */
static int64_t naive_days(int64_t y, int m, int d)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t p = y + 400 - 1; /* complete years since -0399-01-01, 400 years (146097 days) before 0001 */
    int64_t days = 365 * p + p / 4 - p / 100 + p / 400 - 146097 - 719162;
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return days + before[m - 1] + (m > 2 && leap) + d - 1;
}

static int month_days(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return m == 2 && leap ? 29 : len[m - 1];
}

/* NULL when L is a well-formed local time of EPOCH (clamped), else what is wrong. */
static const char *insane(const struct hg_tz_local *l, int64_t epoch)
{
    int64_t t = epoch < HG_TZ_EPOCH_MIN ? HG_TZ_EPOCH_MIN : epoch > HG_TZ_EPOCH_MAX ? HG_TZ_EPOCH_MAX : epoch;
    if (l->year < 0 || l->year > 10000 || l->month < 1 || l->month > 12 || l->day < 1 ||
        l->day > month_days(l->year, l->month))
        return "bad date";
    if (l->hour < 0 || l->hour > 23 || l->minute < 0 || l->minute > 59 || l->second < 0 || l->second > 59)
        return "bad time of day";
    if (l->utc_offset < -89999 || l->utc_offset > 93599)
        return "offset out of range";
    int64_t days = naive_days(l->year, l->month, l->day);
    if (l->weekday != (int)(((days + 3) % 7 + 7) % 7))
        return "wrong weekday";
    if (days * 86400 + l->hour * 3600 + l->minute * 60 + l->second - l->utc_offset != t)
        return "local time minus offset is not the epoch";
    return NULL;
}

static const char *zoneinfo_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir != NULL && *dir != '\0' ? dir : "/usr/share/zoneinfo";
}

static struct hg_tz *load_zone(const char *name)
{
    char *path = file_path(zoneinfo_dir(), name, "");
    struct text data = read_file(path);
    char *error = NULL;
    struct hg_tz *tz =
        data.data ? hg_tz_parse((const unsigned char *)data.data, data.len, name, &error) : NULL;
    if (!ok(tz != NULL, "%s parses", path))
        printf("#   %s\n", error ? error : "cannot read the file (is tzdata installed?)");
    free(error);
    free(data.data);
    free(path);
    return tz;
}

/* ------------------------------------------------------------------ */
/* Data cases */

/* Whether TZ gives the local times of TRUTH at a spread of epochs. */
static bool same_zone(const struct hg_tz *tz, const struct hg_tz *truth)
{
    for (int64_t t = -4000000000; t < 8000000000; t += 7777777) {
        char a[96], b[96];
        local_text(tz, t, a, sizeof a);
        local_text(truth, t, b, sizeof b);
        if (strcmp(a, b) != 0)
            return false;
    }
    return true;
}

static void run_data_case(const char *dir, const char *name)
{
    char *data_path = file_path(dir, name, ".tzif");
    char *ref_path = file_path(dir, name, ".ref");
    struct text data = read_file(data_path);
    struct text ref = read_file(ref_path);
    free(data_path);
    free(ref_path);
    if (!ok(data.data != NULL && ref.data != NULL, "%s: .tzif and .ref readable", name)) {
        free(data.data);
        free(ref.data);
        return;
    }
    const unsigned char *bytes = (const unsigned char *)data.data;
    char *error = NULL;
    struct hg_tz *tz = hg_tz_parse(bytes, data.len, name, &error);
    if (strncmp(ref.data, "error: ", 7) == 0) {
        const char *want = strip_trailing_newlines(ref.data + 7);
        bool refused = tz == NULL && error != NULL && strstr(error, want) != NULL;
        if (!ok(refused, "%s: refused with \"...%s...\"", name, want))
            printf("#   got: %s\n", error ? error : "(parsed)");
        else if (strncmp(error, name, strlen(name)) != 0 || strchr(error, '\n') != NULL)
            ok(0, "%s: the error names the zone and is one line: %s", name, error);
    } else if (ok(tz != NULL && error == NULL, "%s: parses", name)) {
        for (char *line = strtok(ref.data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            char *end;
            int64_t epoch = strtoll(line, &end, 10);
            char *comment = strchr(end, '#');
            if (comment != NULL)
                *comment = '\0';
            while (*end == ' ')
                end++;
            size_t n = strlen(end);
            while (n > 0 && end[n - 1] == ' ')
                end[--n] = '\0';
            char got[96], label[160];
            local_text(tz, epoch, got, sizeof got);
            snprintf(label, sizeof label, "%s: local time of %" PRId64, name, epoch);
            is_str(got, end, label);
        }
    } else {
        printf("#   %s\n", error);
    }

    /* Every truncation is refused, or (data with bytes after the footer) reads the same zone. */
    size_t wrong = 0;
    for (size_t len = 0; len < data.len; len++) {
        char *e = NULL;
        struct hg_tz *part = hg_tz_parse(bytes, len, name, &e);
        if ((part == NULL) == (e == NULL) || (part != NULL && (tz == NULL || !same_zone(part, tz))))
            wrong++;
        hg_tz_free(&part);
        free(e);
    }
    ok(wrong == 0, "%s: each of %zu truncations is refused with an error or reads the same zone (%zu wrong)",
       name, data.len, wrong);
    hg_tz_free(&tz);
    ok(tz == NULL, "%s: hg_tz_free sets the pointer to NULL", name);
    free(error);
    free(data.data);
    free(ref.data);
}

static void test_data_cases(void)
{
    const char *top = getenv("top_srcdir");
    char *dir = file_path(top && *top ? top : ".", "tests/data/tz", "");
    size_t count = 0;
    char **names = list_cases(dir, ".tzif", &count);
    for (size_t i = 0; i < count; i++) {
        run_data_case(dir, names[i]);
        free(names[i]);
    }
    free(names);
    ok(count >= 60, "found %zu data cases in %s (set top_srcdir)", count, dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Real zones: known values */

struct known {
    const char *zone;
    int64_t epoch;
    const char *utc; /* for the reader */
    const char *want;
};

static const struct known known[] = {
    {"Europe/Berlin", 1774745999, "2026-03-29 00:59:59Z", "2026-03-29 01:59:59 6 3600 0"},
    {"Europe/Berlin", 1774746000, "2026-03-29 01:00:00Z", "2026-03-29 03:00:00 6 7200 1"},
    {"Europe/Berlin", 1792889999, "2026-10-25 00:59:59Z", "2026-10-25 02:59:59 6 7200 1"},
    {"Europe/Berlin", 1792890000, "2026-10-25 01:00:00Z", "2026-10-25 02:00:00 6 3600 0"},
    {"Europe/Berlin", 2540289600, "2050-07-01 12:00:00Z", "2050-07-01 14:00:00 4 7200 1"},
    {"Europe/Berlin", 2525860800, "2050-01-15 12:00:00Z", "2050-01-15 13:00:00 5 3600 0"},
    {"Europe/Berlin", 4128627599, "2100-10-31 00:59:59Z", "2100-10-31 02:59:59 6 7200 1"},
    {"Europe/Berlin", 4128627600, "2100-10-31 01:00:00Z", "2100-10-31 02:00:00 6 3600 0"},
    {"Europe/Berlin", 7289654399, "2200-12-31 23:59:59Z", "2201-01-01 00:59:59 3 3600 0"},
    {"America/New_York", 1772953199, "2026-03-08 06:59:59Z", "2026-03-08 01:59:59 6 -18000 0"},
    {"America/New_York", 1772953200, "2026-03-08 07:00:00Z", "2026-03-08 03:00:00 6 -14400 1"},
    {"America/New_York", 1793512799, "2026-11-01 05:59:59Z", "2026-11-01 01:59:59 6 -14400 1"},
    {"America/New_York", 1793512800, "2026-11-01 06:00:00Z", "2026-11-01 01:00:00 6 -18000 0"},
    {"America/New_York", 1793509200, "2026-11-01 05:00:00Z", "2026-11-01 01:00:00 6 -14400 1"},
    {"Australia/Lord_Howe", 1775314799, "2026-04-04 14:59:59Z", "2026-04-05 01:59:59 6 39600 1"},
    {"Australia/Lord_Howe", 1775314800, "2026-04-04 15:00:00Z", "2026-04-05 01:30:00 6 37800 0"},
    {"Australia/Lord_Howe", 1791041399, "2026-10-03 15:29:59Z", "2026-10-04 01:59:59 6 37800 0"},
    {"Australia/Lord_Howe", 1791041400, "2026-10-03 15:30:00Z", "2026-10-04 02:30:00 6 39600 1"},
    {"Asia/Kolkata", 1781481600, "2026-06-15 00:00:00Z", "2026-06-15 05:30:00 0 19800 0"},
    {"Asia/Kolkata", 2540289600, "2050-07-01 12:00:00Z", "2050-07-01 17:30:00 4 19800 0"},
    {"UTC", 0, "1970-01-01 00:00:00Z", "1970-01-01 00:00:00 3 0 0"},
    {"UTC", -1, "1969-12-31 23:59:59Z", "1969-12-31 23:59:59 2 0 0"},
    {"UTC", 951825600, "2000-02-29 12:00:00Z", "2000-02-29 12:00:00 1 0 0"},
    {"UTC", -2203891200, "1900-03-01 00:00:00Z", "1900-03-01 00:00:00 3 0 0"},
    {"UTC", 4107542399, "2100-02-28 23:59:59Z", "2100-02-28 23:59:59 6 0 0"},
    {"UTC", 4107542400, "2100-03-01 00:00:00Z", "2100-03-01 00:00:00 0 0 0"},
    {"America/Sao_Paulo", 1543665600, "2018-12-01 12:00:00Z", "2018-12-01 10:00:00 5 -7200 1"},
    {"America/Sao_Paulo", 1768478400, "2026-01-15 12:00:00Z", "2026-01-15 09:00:00 3 -10800 0"},
    {"America/Sao_Paulo", 2525860800, "2050-01-15 12:00:00Z", "2050-01-15 09:00:00 5 -10800 0"},
};

static void test_known_values(void)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        struct hg_tz *tz = load_zone(known[i].zone);
        if (tz == NULL)
            continue;
        char got[96], label[160];
        local_text(tz, known[i].epoch, got, sizeof got);
        snprintf(label, sizeof label, "%s at %s (%" PRId64 ")", known[i].zone, known[i].utc, known[i].epoch);
        is_str(got, known[i].want, label);
        hg_tz_free(&tz);
    }
    struct hg_tz *berlin = load_zone("Europe/Berlin");
    if (berlin != NULL) {
        is_str(hg_tz_name(berlin), "Europe/Berlin", "hg_tz_name gives the name the zone was parsed with");
        hg_tz_free(&berlin);
    }
}

/* ------------------------------------------------------------------ */
/* Against glibc */

/* Compares hg_tz_local with localtime_r (under the TZ set by the caller) at T. */
static bool same_as_libc(const struct hg_tz *tz, int64_t t, char *diag, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL) {
        snprintf(diag, size, "localtime_r failed at %" PRId64, t);
        return false;
    }
    struct hg_tz_local l;
    hg_tz_local(tz, t, &l);
    if (l.year == tm.tm_year + 1900 && l.month == tm.tm_mon + 1 && l.day == tm.tm_mday &&
        l.hour == tm.tm_hour && l.minute == tm.tm_min && l.second == tm.tm_sec &&
        l.weekday == (tm.tm_wday + 6) % 7 && l.utc_offset == tm.tm_gmtoff && l.dst == (tm.tm_isdst > 0))
        return true;
    char mine[96];
    format_local(&l, mine, sizeof mine);
    snprintf(diag, size, "at %" PRId64 ": got %s, glibc %04d-%02d-%02d %02d:%02d:%02d %d %ld %d", t, mine,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (tm.tm_wday + 6) % 7, (long)tm.tm_gmtoff, tm.tm_isdst);
    return false;
}

/* glibc's (offset, isdst) at T as one number. */
static long libc_state(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return tm.tm_gmtoff * 2 + (tm.tm_isdst > 0);
}

struct tally {
    size_t checked, wrong;
    char first[3][256];
};

static void tally(struct tally *t, const struct hg_tz *tz, int64_t epoch)
{
    char diag[256];
    t->checked++;
    if (!same_as_libc(tz, epoch, diag, sizeof diag) && t->wrong++ < 3)
        snprintf(t->first[t->wrong - 1], sizeof t->first[0], "%s", diag);
}

static void report(const struct tally *t, const char *what)
{
    ok(t->wrong == 0, "%s: %zu of %zu differ from glibc", what, t->wrong, t->checked);
    for (size_t i = 0; i < t->wrong && i < 3; i++)
        printf("#   %s\n", t->first[i]);
}

/* Random epochs in [FROM, TO), plus a walk in 6-hour steps; wherever glibc's offset or DST
 * flag changes between two steps, the exact second is found and both sides of it compared. */
static void compare_with_libc(const struct hg_tz *tz, const char *what, int64_t from, int64_t to, int randoms)
{
    struct tally random = {0}, walk = {0};
    for (int i = 0; i < randoms; i++)
        tally(&random, tz, random_between(from, to));
    char label[200];
    snprintf(label, sizeof label, "%s: %d random epochs", what, randoms);
    report(&random, label);

    size_t transitions = 0;
    long prev = libc_state(from);
    for (int64_t t = from + 6 * 3600; t < to; t += 6 * 3600) {
        tally(&walk, tz, t);
        long now = libc_state(t);
        if (now == prev)
            continue;
        int64_t lo = t - 6 * 3600, hi = t; /* state(lo) = prev, state(hi) = now */
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (libc_state(mid) == prev)
                lo = mid;
            else
                hi = mid;
        }
        tally(&walk, tz, hi - 1);
        tally(&walk, tz, hi);
        transitions++;
        prev = now;
    }
    snprintf(label, sizeof label, "%s: 6-hour walk and both sides of %zu transitions", what, transitions);
    report(&walk, label);
}

static const char *const libc_zones[] = {
    "Europe/Berlin",     "America/New_York",  "Australia/Lord_Howe", "Asia/Kolkata",     "UTC",
    "America/Sao_Paulo", "Europe/Dublin",     "America/Nuuk",        "Asia/Jerusalem",   "America/Santiago",
    "Pacific/Chatham",   "Africa/Casablanca", "Asia/Tehran",         "Antarctica/Troll",
};

static void test_zones_against_libc(void)
{
    int64_t to = sizeof(time_t) >= 8 ? INT64_C(4102444800) : INT32_MAX; /* 2100-01-01 */
    for (size_t i = 0; i < sizeof libc_zones / sizeof libc_zones[0]; i++) {
        struct hg_tz *tz = load_zone(libc_zones[i]);
        if (tz == NULL)
            continue;
        char spec[512]; /* ":/usr/share/zoneinfo/NAME": the very file tz was parsed from */
        snprintf(spec, sizeof spec, ":%s/%s", zoneinfo_dir(), libc_zones[i]);
        setenv("TZ", spec, 1);
        tzset();
        compare_with_libc(tz, libc_zones[i], 0, to, 3000);
        hg_tz_free(&tz);
    }
}

/* ------------------------------------------------------------------ */
/* POSIX TZ strings (footers) against glibc */

struct bytes {
    unsigned char data[1024];
    size_t len;
};

static void put(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n <= sizeof b->data) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

static void put32(struct bytes *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    put(b, x, 4);
}

/* Version 2 data without transitions: one type (UTOFF, "ZZZ") and FOOTER. */
static void tzif_with_footer(struct bytes *b, const char *footer, int32_t utoff)
{
    b->len = 0;
    for (int block = 0; block < 2; block++) {
        put(b, "TZif2", 5);
        put(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
        uint32_t counts[6] = {0, 0, 0, 0, 1, 4}; /* isut, isstd, leap, time, type, char */
        for (int i = 0; i < 6; i++)
            put32(b, counts[i]);
        put32(b, (uint32_t)utoff);
        put(b, "\0\0ZZZ\0", 6);
    }
    put(b, "\n", 1);
    put(b, footer, strlen(footer));
    put(b, "\n", 1);
}

/* Footers glibc reads the same way: rules that stay inside their year. */
static const char *const libc_footers[] = {
    "EST5EDT,M3.2.0,M11.1.0",
    "CET-1CEST,M3.5.0,M10.5.0/3",
    "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    "IST-2IDT,M3.4.4/26,M10.5.0",
    "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
    "IST-1GMT0,M10.5.0,M3.5.0/1",
    "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
    "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
    "XXX3YYY,J60,300",
    "AAA-5:30BBB-6:15:30,J2/1:02:03,J364/-1:30",
    "AAA+3BBB+2,M2.5.6/167,M11.5.3/-167",
    "WWW+24:59:59VVV+23,M1.2.1,M12.1.6",
    "<-00>0",
    "<+0545>-5:45",
};

static void test_footers_against_libc(void)
{
    /* glibc applies a TZ string's rules from 1970 only (compute_change() takes earlier years
     * for 1970); the footers of the data cases check earlier years. */
    int64_t from = 0;
    int64_t to = sizeof(time_t) >= 8 ? INT64_C(7289654400) : INT32_MAX; /* 2201-01-01 */
    for (size_t i = 0; i < sizeof libc_footers / sizeof libc_footers[0]; i++) {
        struct bytes b;
        tzif_with_footer(&b, libc_footers[i], 0);
        char *error = NULL;
        struct hg_tz *tz = hg_tz_parse(b.data, b.len, libc_footers[i], &error);
        if (!ok(tz != NULL, "footer %s parses", libc_footers[i])) {
            printf("#   %s\n", error);
            free(error);
            continue;
        }
        setenv("TZ", libc_footers[i], 1);
        tzset();
        compare_with_libc(tz, libc_footers[i], from, to, 2000);
        hg_tz_free(&tz);
    }
}

/* ------------------------------------------------------------------ */
/* Calendar */

static void test_calendar(void)
{
    struct hg_tz *utc = hg_tz_fixed(0, "UTC");
    int y = 1, m = 1, d = 1, wd = 0; /* 0001-01-01 was a Monday (proleptic Gregorian) */
    size_t wrong = 0, days = 0;
    char first[160] = "";
    for (int64_t t = HG_TZ_EPOCH_MIN; t <= HG_TZ_EPOCH_MAX; t += 86400, days++) {
        struct hg_tz_local l;
        hg_tz_local(utc, t + (int64_t)(days % 86400), &l);
        int s = (int)(days % 86400);
        if (l.year != y || l.month != m || l.day != d || l.weekday != wd || l.hour != s / 3600 ||
            l.minute != s / 60 % 60 || l.second != s % 60) {
            if (wrong++ == 0)
                snprintf(first, sizeof first, "day %zu: want %04d-%02d-%02d wd %d, got %04d-%02d-%02d wd %d",
                         days, y, m, d, wd, l.year, l.month, l.day, l.weekday);
        }
        wd = (wd + 1) % 7;
        if (++d > month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    if (!ok(wrong == 0 && y == 10000, "every day of 0001-9999 (%zu days) has the right date and weekday",
            days))
        printf("#   %zu wrong; first %s\n", wrong, first);

    size_t differ = 0;
    for (int i = 0; i < 200000 && sizeof(time_t) >= 8; i++) {
        int64_t t = random_between(HG_TZ_EPOCH_MIN, HG_TZ_EPOCH_MAX + 1);
        int offset = (int)random_between(-89999, 93600);
        struct hg_tz *fixed = hg_tz_fixed(offset, NULL);
        time_t shifted = (time_t)(t + offset);
        struct tm tm;
        struct hg_tz_local l;
        hg_tz_local(fixed, t, &l);
        gmtime_r(&shifted, &tm);
        if (l.year != tm.tm_year + 1900 || l.month != tm.tm_mon + 1 || l.day != tm.tm_mday ||
            l.hour != tm.tm_hour || l.minute != tm.tm_min || l.second != tm.tm_sec ||
            l.weekday != (tm.tm_wday + 6) % 7 || l.utc_offset != offset || insane(&l, t) != NULL) {
            if (differ++ == 0)
                printf("#   epoch %" PRId64 " offset %d: %04d-%02d-%02d vs gmtime %04d-%02d-%02d\n", t,
                       offset, l.year, l.month, l.day, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        }
        hg_tz_free(&fixed);
    }
    ok(differ == 0,
       "200000 random epochs of years 1-9999 in random fixed zones agree with gmtime_r (%zu differ)", differ);
    hg_tz_free(&utc);
}

/* ------------------------------------------------------------------ */
/* Fixed zones and names */

static void test_fixed(void)
{
    struct hg_tz *tz = hg_tz_fixed(0, "UTC");
    char got[96];
    is_str(hg_tz_name(tz), "UTC", "hg_tz_fixed keeps its name");
    local_text(tz, 1774746000, got, sizeof got);
    is_str(got, "2026-03-29 01:00:00 6 0 0", "hg_tz_fixed(0): UTC");
    hg_tz_free(&tz);

    tz = hg_tz_fixed(19800, NULL);
    is_str(hg_tz_name(tz), "UTC+05:30", "a fixed zone without a name is named by its offset");
    local_text(tz, 0, got, sizeof got);
    is_str(got, "1970-01-01 05:30:00 3 19800 0", "hg_tz_fixed(19800): +05:30");
    hg_tz_free(&tz);

    tz = hg_tz_fixed(-12345, NULL);
    is_str(hg_tz_name(tz), "UTC-03:25:45", "an offset with seconds shows them");
    hg_tz_free(&tz);
    tz = hg_tz_fixed(0, NULL);
    is_str(hg_tz_name(tz), "UTC", "offset 0 without a name is UTC");
    hg_tz_free(&tz);

    tz = hg_tz_fixed(93599, NULL);
    ok(tz != NULL, "hg_tz_fixed accepts 93599 (just under 26 h)");
    hg_tz_free(&tz);
    tz = hg_tz_fixed(-89999, NULL);
    ok(tz != NULL, "hg_tz_fixed accepts -89999 (just over -25 h)");
    hg_tz_free(&tz);
    ok(hg_tz_fixed(93600, NULL) == NULL && hg_tz_fixed(-90000, NULL) == NULL &&
           hg_tz_fixed(-2147483647 - 1, "x") == NULL,
       "hg_tz_fixed refuses offsets of 26 h, -25 h and INT_MIN");
    hg_tz_free(&tz);
    ok(tz == NULL, "hg_tz_free(&NULL) is a no-op");
}

struct name_case {
    const char *name;
    bool valid;
};

static void test_names(void)
{
    static const struct name_case cases[] = {
        {"Europe/Berlin", true},
        {"UTC", true},
        {"Etc/GMT+5", true},
        {"Etc/GMT-14", true},
        {"America/Port-au-Prince", true},
        {"America/Argentina/Buenos_Aires", true},
        {"right/Europe/Berlin", true}, /* a path, refused later by the parser */
        {"A234567890123456789012345678901234567890123456789012345678901234", true}, /* 64 bytes */
        {"A2345678901234567890123456789012345678901234567890123456789012345", false},
        {"", false},
        {"/etc/passwd", false},
        {"../etc/passwd", false},
        {"Europe/../../etc/shadow", false},
        {"..", false},
        {"Europe/.", false},
        {"Europe//Berlin", false},
        {"Europe/", false},
        {"/", false},
        {"Europe/Berlin\n", false},
        {"Europe Berlin", false},
        {"Europe\\Berlin", false},
        {"Z\xc3\xbcrich", false},
        {"Europe/Berlin%00", false},
        {"~root", false},
    };
    size_t wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (hg_tz_name_valid(cases[i].name) != cases[i].valid) {
            wrong++;
            printf("#   \"%s\": want %s\n", cases[i].name, cases[i].valid ? "valid" : "invalid");
        }
    }
    ok(wrong == 0 && !hg_tz_name_valid(NULL), "hg_tz_name_valid: %zu name cases and NULL (%zu wrong)",
       sizeof cases / sizeof cases[0], wrong);
}

/* ------------------------------------------------------------------ */
/* Hostile input */

static size_t broken_results(const struct hg_tz *tz)
{
    static const int64_t epochs[] = {INT64_MIN,  -(INT64_C(1) << 59), HG_TZ_EPOCH_MIN, -1,       0,
                                     1774746000, 2540289600,          HG_TZ_EPOCH_MAX, INT64_MAX};
    size_t broken = 0;
    for (size_t i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
        struct hg_tz_local l;
        hg_tz_local(tz, epochs[i], &l);
        broken += insane(&l, epochs[i]) != NULL;
    }
    return broken;
}

/* Parses; counts results that break the contract (NULL exactly when there is an error). */
static size_t parse_checked(const unsigned char *data, size_t len, bool *parsed)
{
    char *error = NULL;
    struct hg_tz *tz = hg_tz_parse(data, len, "hostile", &error);
    size_t broken = (tz == NULL) != (error != NULL);
    if (error != NULL && (strchr(error, '\n') != NULL || strncmp(error, "hostile: ", 9) != 0))
        broken++;
    if (tz != NULL)
        broken += broken_results(tz);
    if (parsed != NULL)
        *parsed = tz != NULL;
    hg_tz_free(&tz);
    free(error);
    return broken;
}

static void test_real_file_damage(const char *zone)
{
    char *path = file_path(zoneinfo_dir(), zone, "");
    struct text t = read_file(path);
    free(path);
    if (!ok(t.data != NULL, "%s readable for damage tests", zone))
        return;
    unsigned char *data = (unsigned char *)t.data;
    size_t broken = 0, parsed_prefixes = 0;
    for (size_t len = 0; len < t.len; len++) {
        bool parsed;
        broken += parse_checked(data, len, &parsed);
        parsed_prefixes += parsed;
    }
    ok(broken == 0 && parsed_prefixes == 0, "%s: all %zu truncations are refused with an error (%zu broken)",
       zone, t.len, broken);

    static const unsigned char flips[] = {0x01, 0x80, 0xff};
    size_t parsed_count = 0;
    broken = 0;
    for (size_t i = 0; i < t.len; i++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            bool parsed;
            data[i] ^= flips[f];
            broken += parse_checked(data, t.len, &parsed);
            parsed_count += parsed;
            data[i] ^= flips[f];
        }
    }
    ok(broken == 0, "%s: %zu byte flips: %zu still parse, every result well-formed (%zu broken)", zone,
       t.len * sizeof flips, parsed_count, broken);
    free(t.data);
}

static void test_garbage(void)
{
    static unsigned char buf[700];
    size_t broken = 0, parsed_count = 0;
    for (int i = 0; i < 30000; i++) {
        size_t len = (size_t)random_between(0, sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char)next_random();
        if (i % 2 == 0 && len >= 44) { /* a header whose counts are small, huge or random */
            memcpy(buf, "TZif", 4);
            buf[4] = "\0"
                     "234"[next_random() % 4];
            for (int c = 0; c < 6; c++) {
                uint32_t v = (uint32_t)next_random();
                v = next_random() % 3 == 0 ? v : next_random() % 2 ? v % 8 : 0;
                buf[20 + 4 * c] = (unsigned char)(v >> 24);
                buf[21 + 4 * c] = (unsigned char)(v >> 16);
                buf[22 + 4 * c] = (unsigned char)(v >> 8);
                buf[23 + 4 * c] = (unsigned char)v;
            }
        }
        bool parsed;
        broken += parse_checked(buf, len, &parsed);
        parsed_count += parsed;
    }
    ok(broken == 0, "30000 garbage inputs: %zu parse, all results well-formed (%zu broken)", parsed_count,
       broken);
    char *error = NULL;
    ok(hg_tz_parse(NULL, 0, NULL, &error) == NULL && error != NULL && strstr(error, "(unnamed)") != NULL,
       "NULL data and name: refused, the error says (unnamed)");
    free(error);
}

/* Version 1 data with COUNT transitions one hour apart, alternating two types. */
static unsigned char *many_transitions(uint32_t count, size_t *len)
{
    *len = 44 + (size_t)count * 5 + 12 + 8;
    unsigned char *p = calloc(1, *len), *q = p + 44;
    memcpy(p, "TZif", 4);
    uint32_t counts[6] = {0, 0, 0, count, 2, 8};
    for (int c = 0; c < 6; c++)
        for (int k = 0; k < 4; k++)
            p[20 + 4 * c + k] = (unsigned char)(counts[c] >> (24 - 8 * k));
    for (uint32_t i = 0; i < count; i++, q += 4) {
        uint32_t t = 1000000000 + i * 3600;
        for (int k = 0; k < 4; k++)
            q[k] = (unsigned char)(t >> (24 - 8 * k));
    }
    for (uint32_t i = 0; i < count; i++)
        *q++ = (unsigned char)(i % 2);
    memcpy(q, "\0\0\x0e\x10\0\0\0\0\x1c\x20\1\4STD\0DST\0", 20); /* +3600 STD, +7200 DST */
    return p;
}

static void test_limits(void)
{
    size_t len;
    unsigned char *data = many_transitions(10000, &len);
    char *error = NULL;
    struct hg_tz *tz = hg_tz_parse(data, len, "limit", &error);
    char got[96];
    if (ok(tz != NULL, "10000 transitions are accepted")) {
        local_text(tz, 1000000000 + 9998 * 3600 + 1, got, sizeof got);
        is_str(got, "2002-10-30 16:46:41 2 3600 0", "the 9999th transition's type applies after it");
        local_text(tz, 1000000000 + 9999 * 3600 + 1, got, sizeof got);
        is_str(got, "2002-10-30 18:46:41 2 7200 1", "after the last transition its type applies");
    }
    hg_tz_free(&tz);
    free(error);
    free(data);

    data = many_transitions(10001, &len);
    tz = hg_tz_parse(data, len, "limit", &error);
    ok(tz == NULL && error != NULL &&
           strstr(error, "10001 transitions, more than the 10000 accepted") != NULL,
       "10001 transitions that fit the data are refused: %s", error ? error : "(parsed)");
    hg_tz_free(&tz);
    free(error);
    free(data);
}

static void test_extreme_epochs(void)
{
    struct hg_tz *tz = load_zone("Europe/Berlin");
    if (tz == NULL)
        return;
    char got[96];
    ok(broken_results(tz) == 0, "Europe/Berlin: extreme epochs give well-formed local times");
    local_text(tz, INT64_MIN, got, sizeof got);
    is_str(got, "0001-01-01 00:53:28 0 3208 0", "INT64_MIN is clamped to year 1 (Berlin LMT +00:53:28)");
    local_text(tz, INT64_MAX, got, sizeof got);
    is_str(got, "10000-01-01 00:59:59 5 3600 0", "INT64_MAX is clamped to 9999-12-31T23:59:59Z");
    hg_tz_free(&tz);
}

int main(void)
{
    test_data_cases();
    test_known_values();
    test_zones_against_libc();
    test_footers_against_libc();
    test_calendar();
    test_fixed();
    test_names();
    test_real_file_damage("Europe/Berlin");
    test_real_file_damage("America/Nuuk");
    test_garbage();
    test_limits();
    test_extreme_epochs();
    return tap_done();
}
