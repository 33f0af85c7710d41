/*
 * tz.c — time zones from TZif data, and epoch to local time (see tz.h).
 *
 * TZif layout (RFC 9636 section 3): a 44-byte header ("TZif", a version
 * byte, 15 reserved bytes, six big-endian 32-bit counts), then a data block
 * whose size those counts fix: transition times, their type indexes, the
 * local time types (utoff, isdst, desigidx), the designation bytes, leap
 * second records, and the standard/wall and UT/local indicators. Version 2+
 * data repeats header and block with 64-bit times and ends with a footer,
 * "\n" POSIX-TZ-string "\n". The version 1 block of version 2+ data is only
 * checked to fit and skipped, as the RFC asks.
 *
 * The footer grammar (POSIX TZ, with the version 3 extension for times):
 *   std offset [dst [offset] [,start[/time],end[/time]]]
 * where a name is 3+ letters or <3+ of [A-Za-z0-9+-]>, an offset is
 * [+-]hh[:mm[:ss]] west of UTC with hh 0-24, a rule is Jn (1-365, no
 * February 29), n (0-365) or Mm.w.d (day d, 0 = Sunday, of week w, 5 =
 * last, of month m) and its time [+-]hhh[:mm[:ss]] local, hours -167..167,
 * default 02:00. A DST name without rules gets the US rules ,M3.2.0,M11.1.0
 * (what glibc and tzcode fall back to). DST is the union of the intervals
 * [start(y), end(y)) over the years y, so "0/0,J365/25" is DST all year;
 * when the end comes first in the year (southern hemisphere, Dublin's
 * negative DST) standard time is the union of [end(y), start(y)) instead.
 *
 * Calendar arithmetic is our own: days are counted in 400-year eras of
 * 146097 days that start on 1 March, so the leap day is the last day of its
 * year. Epochs are clamped to years 1-9999 first, so nothing overflows.
 */
#include "helpgate/tz.h"

#include "helpgate/alloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    HEADER_SIZE = 44,
    MAX_TRANSITIONS = 10000,
    MAX_TYPES = 256,  /* transition type indexes are one byte */
    MAX_CHARS = 1024, /* designation bytes; real files have fewer than 100 */
    MAX_FOOTER = 255, /* bytes of TZ string; real ones have fewer than 50 */
    MAX_ECHO = 64,    /* bytes of a name or TZ string quoted in an error */
    MAX_OFFSET_HOURS = 24,
    MAX_RULE_HOURS = 167, /* version 3: -167..167 */
    UTOFF_MIN = -89999,   /* RFC 9636: more than -25 hours */
    UTOFF_MAX = 93599,    /* and less than 26 hours */
    SECS_PER_DAY = 86400,
    DAYS_PER_ERA = 146097,     /* 400 Gregorian years */
    DAYS_BEFORE_EPOCH = 719468 /* 0000-03-01 to 1970-01-01 */
};

struct ttype {
    int32_t utoff;
    bool dst;
};

enum rule_kind {
    RULE_JULIAN, /* Jn: day n of 1-365, February 29 never counted */
    RULE_DAY,    /* n: day n of 0-365, February 29 counted */
    RULE_MONTH   /* Mm.w.d */
};

struct rule {
    enum rule_kind kind;
    int day;               /* RULE_JULIAN, RULE_DAY */
    int month, week, wday; /* RULE_MONTH; wday 0 = Sunday */
    int32_t time;          /* seconds after local midnight; may be negative or past 24 h */
};

struct posix_tz {
    int32_t std_utoff, dst_utoff; /* seconds east of UTC */
    bool has_dst;
    struct rule start, end; /* start is in standard time, end in DST */
};

struct hg_tz {
    char *name;
    size_t timecnt;
    int64_t *times;    /* strictly ascending */
    uint8_t *type_idx; /* the type from each transition on; < typecnt */
    size_t typecnt;
    struct ttype *types;
    bool has_footer;
    struct posix_tz footer;
};

/* ---------------------------------------------------------------------------
 * Calendar */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && (a < 0) != (b < 0))
        q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static bool is_leap(int64_t year)
{
    return floor_mod(year, 4) == 0 && (floor_mod(year, 100) != 0 || floor_mod(year, 400) == 0);
}

static int month_length(int64_t year, int month)
{
    static const int length[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : length[month - 1];
}

/* Days in a March-based year before its month MP (0 = March .. 11 = February). */
static const int days_before_month[12] = {0, 31, 61, 92, 122, 153, 184, 214, 245, 275, 306, 337};

/* Days since 1970-01-01 of YEAR-MONTH-DAY (proleptic Gregorian). */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    int64_t y = month <= 2 ? year - 1 : year; /* the year that began the March before */
    int mp = month <= 2 ? month + 9 : month - 3;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400; /* 0..399 */
    /* Leap days before year yoe of the era: February 29 of the years 1..yoe. */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + days_before_month[mp] + day - 1;
    return era * DAYS_PER_ERA + doe - DAYS_BEFORE_EPOCH;
}

/* The date DAYS days after 1970-01-01. */
static void civil_from_days(int64_t days, int64_t *year_r, int *month_r, int *day_r)
{
    int64_t z = days + DAYS_BEFORE_EPOCH; /* days since 0000-03-01 */
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t doe = z - era * DAYS_PER_ERA; /* 0..146096 */
    /* Centuries of 36524 days, the fourth one day longer (its last day is a leap day). */
    int64_t century = doe / 36524;
    if (century == 4)
        century = 3;
    int64_t rest = doe - century * 36524;
    /* Four-year blocks of 1461 days (the last of a century may be a day short). */
    int64_t quad = rest / 1461;
    rest -= quad * 1461;
    /* Years of 365 days, the fourth one day longer. */
    int64_t year_of_quad = rest / 365;
    if (year_of_quad == 4)
        year_of_quad = 3;
    int doy = (int)(rest - year_of_quad * 365); /* 0 = 1 March */
    int mp = 11;
    while (days_before_month[mp] > doy)
        mp--;
    int month = mp < 10 ? mp + 3 : mp - 9;
    *year_r = era * 400 + century * 100 + quad * 4 + year_of_quad + (month <= 2);
    *month_r = month;
    *day_r = doy - days_before_month[mp] + 1;
}

/* ---------------------------------------------------------------------------
 * POSIX TZ strings (the footer) */

struct cursor {
    const char *s;
    size_t len, pos;
    const char *why; /* set on failure */
};

static int peek(const struct cursor *c)
{
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alpha(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool failed(struct cursor *c, const char *why)
{
    c->why = why;
    return false;
}

/* A time zone abbreviation: 3+ letters, or <3+ of [A-Za-z0-9+-]>. */
static bool parse_abbr(struct cursor *c)
{
    size_t n = 0;
    if (peek(c) == '<') {
        c->pos++;
        while (is_alpha(peek(c)) || is_digit(peek(c)) || peek(c) == '+' || peek(c) == '-') {
            c->pos++;
            n++;
        }
        if (peek(c) != '>')
            return failed(c, "a quoted abbreviation has a character other than A-Z, a-z, 0-9, '+', '-' "
                             "or no closing '>'");
        c->pos++;
    } else {
        while (is_alpha(peek(c))) {
            c->pos++;
            n++;
        }
    }
    if (n < 3)
        return failed(c, "expected an abbreviation of at least 3 letters (or <...> with digits and signs)");
    return true;
}

/* 1 to 3 decimal digits. */
static bool parse_uint(struct cursor *c, int *value)
{
    int v = 0, n = 0;
    while (n < 3 && is_digit(peek(c))) {
        v = v * 10 + (peek(c) - '0');
        c->pos++;
        n++;
    }
    *value = v;
    return n > 0 && !is_digit(peek(c));
}

/* [+-]hh[:mm[:ss]] with hh <= MAX_HOURS, as signed seconds. */
static bool parse_hms(struct cursor *c, int max_hours, int32_t *secs)
{
    int sign = 1, h, m = 0, s = 0;
    if (peek(c) == '+' || peek(c) == '-') {
        sign = peek(c) == '-' ? -1 : 1;
        c->pos++;
    }
    if (!parse_uint(c, &h))
        return failed(c, "expected hours (1 to 3 digits)");
    if (h > max_hours)
        return failed(c, max_hours == MAX_OFFSET_HOURS ? "offset hours out of range 0-24"
                                                       : "rule time hours out of range -167..167");
    if (peek(c) == ':') {
        c->pos++;
        if (!parse_uint(c, &m) || m > 59)
            return failed(c, "expected minutes 00-59 after ':'");
        if (peek(c) == ':') {
            c->pos++;
            if (!parse_uint(c, &s) || s > 59)
                return failed(c, "expected seconds 00-59 after ':'");
        }
    }
    *secs = sign * (h * 3600 + m * 60 + s);
    return true;
}

static bool parse_rule(struct cursor *c, struct rule *r)
{
    memset(r, 0, sizeof *r);
    int ch = peek(c);
    if (ch == 'J') {
        c->pos++;
        r->kind = RULE_JULIAN;
        if (!parse_uint(c, &r->day) || r->day < 1 || r->day > 365)
            return failed(c, "a Jn rule needs a day 1-365");
    } else if (ch == 'M') {
        c->pos++;
        r->kind = RULE_MONTH;
        if (!parse_uint(c, &r->month) || r->month < 1 || r->month > 12)
            return failed(c, "an Mm.w.d rule needs a month 1-12");
        if (peek(c) != '.')
            return failed(c, "expected '.' after the month of an Mm.w.d rule");
        c->pos++;
        if (!parse_uint(c, &r->week) || r->week < 1 || r->week > 5)
            return failed(c, "an Mm.w.d rule needs a week 1-5");
        if (peek(c) != '.')
            return failed(c, "expected '.' after the week of an Mm.w.d rule");
        c->pos++;
        if (!parse_uint(c, &r->wday) || r->wday > 6)
            return failed(c, "an Mm.w.d rule needs a weekday 0-6 (0 = Sunday)");
    } else if (is_digit(ch)) {
        r->kind = RULE_DAY;
        if (!parse_uint(c, &r->day) || r->day > 365)
            return failed(c, "an n rule needs a day 0-365");
    } else {
        return failed(c, "expected a rule: Jn, n or Mm.w.d");
    }
    r->time = 2 * 3600;
    if (peek(c) == '/') {
        c->pos++;
        if (!parse_hms(c, MAX_RULE_HOURS, &r->time))
            return false;
    }
    return true;
}

static bool parse_posix(struct cursor *c, struct posix_tz *p)
{
    int32_t offset;
    memset(p, 0, sizeof *p);
    if (!parse_abbr(c) || !parse_hms(c, MAX_OFFSET_HOURS, &offset))
        return false;
    p->std_utoff = -offset; /* POSIX offsets count west */
    if (peek(c) == -1)
        return true;
    if (!parse_abbr(c))
        return false;
    p->has_dst = true;
    p->dst_utoff = p->std_utoff + 3600;
    if (peek(c) == '+' || peek(c) == '-' || is_digit(peek(c))) {
        if (!parse_hms(c, MAX_OFFSET_HOURS, &offset))
            return false;
        p->dst_utoff = -offset;
    }
    if (peek(c) == -1) {
        struct cursor defaults = {",M3.2.0,M11.1.0", 15, 1, NULL};
        parse_rule(&defaults, &p->start);
        defaults.pos++;
        parse_rule(&defaults, &p->end);
        return true;
    }
    if (peek(c) != ',')
        return failed(c, "expected ',' and the start rule after the DST name and offset");
    c->pos++;
    if (!parse_rule(c, &p->start))
        return false;
    if (peek(c) != ',')
        return failed(c, "expected ',' and the end rule after the start rule");
    c->pos++;
    if (!parse_rule(c, &p->end))
        return false;
    if (peek(c) != -1)
        return failed(c, "unexpected character after the end rule");
    return true;
}

/* Days since 1970-01-01 of the day rule R names in YEAR. */
static int64_t rule_day(const struct rule *r, int64_t year)
{
    int64_t jan1 = days_from_civil(year, 1, 1);
    switch (r->kind) {
    case RULE_JULIAN:
        return jan1 + r->day - 1 + (is_leap(year) && r->day >= 60);
    case RULE_DAY:
        return jan1 + r->day;
    case RULE_MONTH:
    default: {
        int64_t first = days_from_civil(year, r->month, 1);
        int first_wday = (int)floor_mod(first + 4, 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
        int day = (r->wday - first_wday + 7) % 7 + 7 * (r->week - 1);
        while (day >= month_length(year, r->month))
            day -= 7;
        return first + day;
    }
    }
}

/* The instant a rule takes effect in YEAR; UTOFF_BEFORE is the offset in force until then. */
static int64_t rule_instant(const struct rule *r, int64_t year, int32_t utoff_before)
{
    return rule_day(r, year) * SECS_PER_DAY + r->time - utoff_before;
}

static void posix_lookup(const struct posix_tz *p, int64_t t, struct ttype *out)
{
    out->utoff = p->std_utoff;
    out->dst = false;
    if (!p->has_dst)
        return;
    int64_t year;
    int month, day;
    civil_from_days(floor_div(t, SECS_PER_DAY), &year, &month, &day);
    /* A year's rule instants stay within 9 days of it (time <= 167 h, offsets < 26 h), so the
     * intervals that can hold T belong to the years around T's. */
    bool reversed = rule_instant(&p->end, year, p->dst_utoff) < rule_instant(&p->start, year, p->std_utoff);
    bool inside = false;
    for (int64_t y = year - 1; y <= year + 1 && !inside; y++) {
        int64_t start = rule_instant(&p->start, y, p->std_utoff);
        int64_t end = rule_instant(&p->end, y, p->dst_utoff);
        inside = reversed ? end <= t && t < start : start <= t && t < end;
    }
    if (inside != reversed) {
        out->utoff = p->dst_utoff;
        out->dst = true;
    }
}

/* ---------------------------------------------------------------------------
 * TZif */

struct header {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int32_t be32s(const unsigned char *p)
{
    uint32_t v = be32(p);
    return v <= INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

static int64_t be64s(const unsigned char *p)
{
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
    return v <= INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
}

static void read_header(const unsigned char *p, struct header *h)
{
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
}

/* The size of the data block after header H; at most 30 * 2^32, no overflow. */
static uint64_t block_size(const struct header *h, unsigned time_size)
{
    return (uint64_t)h->timecnt * (time_size + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

/* Printable ASCII of S/LEN for an error message, at most MAX_ECHO bytes, others as '?'. */
static void echo(char *buf, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size; i++) {
        if (i == MAX_ECHO) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        buf[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[n] = '\0';
}

struct parse {
    const char *name;
    char **error_r;
};

__attribute__((format(printf, 2, 0))) static void set_error(const struct parse *p, const char *fmt,
                                                            va_list ap)
{
    char name[MAX_ECHO + 8];
    echo(name, sizeof name, p->name, strlen(p->name));
    char *detail = hg_xvasprintf(fmt, ap);
    *p->error_r = hg_xasprintf("%s: %s", name, detail);
    free(detail);
}

/* Sets the error; returns NULL. */
__attribute__((format(printf, 2, 3))) static struct hg_tz *fail(const struct parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    return NULL;
}

/* Sets the error; returns false. */
__attribute__((format(printf, 2, 3))) static bool refuse(const struct parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, fmt, ap);
    va_end(ap);
    return false;
}

static bool counts_ok(const struct parse *p, const struct header *h)
{
    if (h->typecnt == 0)
        return refuse(p, "bad TZif data: no local time types (typecnt 0)");
    if (h->typecnt > MAX_TYPES)
        return refuse(p, "bad TZif data: %" PRIu32 " local time types, at most %d are possible", h->typecnt,
                      MAX_TYPES);
    if (h->timecnt > MAX_TRANSITIONS)
        return refuse(p, "TZif data has %" PRIu32 " transitions, more than the %d accepted", h->timecnt,
                      MAX_TRANSITIONS);
    if (h->charcnt == 0)
        return refuse(p, "bad TZif data: no designation bytes (charcnt 0)");
    if (h->charcnt > MAX_CHARS)
        return refuse(p, "TZif data has %" PRIu32 " designation bytes, more than the %d accepted", h->charcnt,
                      MAX_CHARS);
    if (h->leapcnt != 0)
        return refuse(p,
                      "TZif data has %" PRIu32 " leap-second records (a \"right/\" zone), which are not "
                      "supported: the system clock counts POSIX time; use the zone without \"right/\"",
                      h->leapcnt);
    if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)
        return refuse(p, "bad TZif data: %" PRIu32 " standard/wall indicators for %" PRIu32 " types",
                      h->isstdcnt, h->typecnt);
    if (h->isutcnt != 0 && h->isutcnt != h->typecnt)
        return refuse(p, "bad TZif data: %" PRIu32 " UT/local indicators for %" PRIu32 " types", h->isutcnt,
                      h->typecnt);
    return true;
}

static struct hg_tz *new_tz(const char *name)
{
    struct hg_tz *tz = hg_xcalloc(1, sizeof *tz);
    tz->name = hg_xstrdup(name);
    return tz;
}

/* Reads the data block at B after header H (counts checked, size known to fit). */
static struct hg_tz *read_block(const struct parse *p, const unsigned char *b, const struct header *h,
                                unsigned time_size, const char *footer, size_t footer_len)
{
    const unsigned char *times = b;
    const unsigned char *idx = times + (size_t)h->timecnt * time_size;
    const unsigned char *types = idx + h->timecnt;
    const unsigned char *chars = types + (size_t)h->typecnt * 6;
    const unsigned char *isstd = chars + h->charcnt; /* leapcnt is 0 */
    const unsigned char *isut = isstd + h->isstdcnt;

    for (uint32_t i = 0; i < h->timecnt; i++) {
        if (idx[i] >= h->typecnt)
            return fail(
                p, "bad TZif data: transition %" PRIu32 " names local time type %u, but there are %" PRIu32,
                i, idx[i], h->typecnt);
        if (i > 0) {
            int64_t prev = time_size == 8 ? be64s(times + 8 * (i - 1)) : be32s(times + 4 * (i - 1));
            int64_t cur = time_size == 8 ? be64s(times + 8 * i) : be32s(times + 4 * i);
            if (cur <= prev)
                return fail(p,
                            "bad TZif data: transition %" PRIu32 " (%" PRId64
                            ") is not after transition %" PRIu32 " (%" PRId64 ")",
                            i, cur, i - 1, prev);
        }
    }
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = types + 6 * i;
        int32_t utoff = be32s(t);
        if (utoff < UTOFF_MIN || utoff > UTOFF_MAX)
            return fail(p,
                        "bad TZif data: local time type %" PRIu32 " has UT offset %" PRId32
                        " s, outside -89999..93599",
                        i, utoff);
        if (t[4] > 1)
            return fail(p, "bad TZif data: local time type %" PRIu32 " has isdst %u (must be 0 or 1)", i,
                        t[4]);
        if (t[5] >= h->charcnt || memchr(chars + t[5], '\0', h->charcnt - t[5]) == NULL)
            return fail(p,
                        "bad TZif data: the designation of local time type %" PRIu32
                        " (index %u) is not a NUL-terminated string among the %" PRIu32 " designation bytes",
                        i, t[5], h->charcnt);
        bool std = h->isstdcnt != 0 && isstd[i] == 1;
        if ((h->isstdcnt != 0 && isstd[i] > 1) || (h->isutcnt != 0 && isut[i] > 1))
            return fail(p, "bad TZif data: an indicator of local time type %" PRIu32 " is not 0 or 1", i);
        if (h->isutcnt != 0 && isut[i] == 1 && !std)
            return fail(p, "bad TZif data: local time type %" PRIu32 " is UT but not standard time", i);
    }

    struct posix_tz posix;
    bool has_footer = footer_len > 0;
    if (has_footer) {
        struct cursor c = {footer, footer_len, 0, NULL};
        if (!parse_posix(&c, &posix)) {
            char text[MAX_ECHO + 8];
            echo(text, sizeof text, footer, footer_len);
            return fail(p, "bad TZ string \"%s\" in the TZif footer: %s (at byte %zu)", text, c.why, c.pos);
        }
    }

    struct hg_tz *tz = new_tz(p->name);
    tz->timecnt = h->timecnt;
    tz->times = hg_xcalloc(h->timecnt, sizeof *tz->times);
    tz->type_idx = hg_xcalloc(h->timecnt, 1);
    for (uint32_t i = 0; i < h->timecnt; i++) {
        tz->times[i] = time_size == 8 ? be64s(times + 8 * i) : be32s(times + 4 * i);
        tz->type_idx[i] = idx[i];
    }
    tz->typecnt = h->typecnt;
    tz->types = hg_xcalloc(h->typecnt, sizeof *tz->types);
    for (uint32_t i = 0; i < h->typecnt; i++) {
        tz->types[i].utoff = be32s(types + 6 * i);
        tz->types[i].dst = types[6 * i + 4] == 1;
    }
    tz->has_footer = has_footer;
    if (has_footer)
        tz->footer = posix;
    return tz;
}

struct hg_tz *hg_tz_parse(const unsigned char *data, size_t len, const char *name, char **error_r)
{
    struct parse p = {name != NULL ? name : "(unnamed)", error_r};
    *error_r = NULL;
    if (data == NULL || len < HEADER_SIZE)
        return fail(&p, "truncated TZif data: %zu bytes, fewer than the %d of a header", data ? len : 0,
                    HEADER_SIZE);
    if (memcmp(data, "TZif", 4) != 0)
        return fail(&p, "not TZif data: it does not start with \"TZif\"");
    unsigned char version = data[4];
    if (version != 0 && (version < '2' || version > '9'))
        return fail(
            &p,
            "unknown TZif version byte 0x%02x (known: NUL and '2' to '4'; later digits are read like '4')",
            version);

    struct header h;
    read_header(data, &h);
    if (version == 0 && !counts_ok(&p, &h))
        return NULL;
    uint64_t end = HEADER_SIZE + block_size(&h, 4);
    if (end > len)
        return fail(&p, "truncated TZif data: %zu bytes, the version 1 header announces %" PRIu64, len, end);
    if (version == 0) /* bytes after the block are for newer readers: ignored */
        return read_block(&p, data + HEADER_SIZE, &h, 4, NULL, 0);

    size_t at = (size_t)end;
    if (len - at < HEADER_SIZE)
        return fail(&p, "truncated TZif data: %zu bytes, the version 2+ header at byte %zu needs %d", len, at,
                    HEADER_SIZE);
    if (memcmp(data + at, "TZif", 4) != 0)
        return fail(&p, "bad TZif data: no \"TZif\" at byte %zu, where the version 2+ header belongs", at);
    read_header(data + at, &h);
    if (!counts_ok(&p, &h))
        return NULL;
    end = at + HEADER_SIZE + block_size(&h, 8);
    if (end > len)
        return fail(&p, "truncated TZif data: %zu bytes, the version 2+ header announces %" PRIu64, len, end);

    size_t f = (size_t)end;
    if (f == len)
        return fail(&p, "truncated TZif data: %zu bytes, the footer is missing", len);
    if (data[f] != '\n')
        return fail(&p, "bad TZif data: byte %zu, where the footer belongs, is not a newline", f);
    size_t room = len - f - 1;
    const unsigned char *nl = memchr(data + f + 1, '\n', room < MAX_FOOTER + 1 ? room : MAX_FOOTER + 1);
    if (nl == NULL && room > MAX_FOOTER)
        return fail(&p, "the TZ string in the TZif footer is longer than %d bytes", MAX_FOOTER);
    if (nl == NULL)
        return fail(&p, "truncated TZif data: %zu bytes, the footer has no closing newline", len);
    const char *footer = (const char *)data + f + 1;
    return read_block(&p, data + at + HEADER_SIZE, &h, 8, footer, (size_t)((const char *)nl - footer));
}

struct hg_tz *hg_tz_fixed(int utc_offset_seconds, const char *name)
{
    if (utc_offset_seconds < UTOFF_MIN || utc_offset_seconds > UTOFF_MAX)
        return NULL;
    char made[32];
    if (name == NULL) {
        int a = utc_offset_seconds < 0 ? -utc_offset_seconds : utc_offset_seconds;
        char sign = utc_offset_seconds < 0 ? '-' : '+';
        if (a == 0)
            snprintf(made, sizeof made, "UTC");
        else if (a % 60 != 0)
            snprintf(made, sizeof made, "UTC%c%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
        else
            snprintf(made, sizeof made, "UTC%c%02d:%02d", sign, a / 3600, a / 60 % 60);
        name = made;
    }
    struct hg_tz *tz = new_tz(name);
    tz->typecnt = 1;
    tz->types = hg_xcalloc(1, sizeof *tz->types);
    tz->types[0].utoff = utc_offset_seconds;
    return tz;
}

void hg_tz_free(struct hg_tz **tz)
{
    if (*tz == NULL)
        return;
    free((*tz)->name);
    free((*tz)->times);
    free((*tz)->type_idx);
    free((*tz)->types);
    free(*tz);
    *tz = NULL;
}

const char *hg_tz_name(const struct hg_tz *tz)
{
    return tz->name;
}

static void lookup(const struct hg_tz *tz, int64_t t, struct ttype *out)
{
    if (tz->timecnt == 0 || t < tz->times[0]) {
        if (tz->timecnt == 0 && tz->has_footer)
            posix_lookup(&tz->footer, t, out);
        else
            *out = tz->types[0];
        return;
    }
    size_t lo = 0, hi = tz->timecnt; /* times[lo] <= t < times[hi] (times[timecnt] = +infinity) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == tz->timecnt - 1 && tz->has_footer)
        posix_lookup(&tz->footer, t, out);
    else
        *out = tz->types[tz->type_idx[lo]];
}

void hg_tz_local(const struct hg_tz *tz, int64_t epoch, struct hg_tz_local *out)
{
    int64_t t = epoch < HG_TZ_EPOCH_MIN ? HG_TZ_EPOCH_MIN : epoch > HG_TZ_EPOCH_MAX ? HG_TZ_EPOCH_MAX : epoch;
    struct ttype type;
    lookup(tz, t, &type);
    int64_t local = t + type.utoff;
    int64_t days = floor_div(local, SECS_PER_DAY);
    int secs = (int)(local - days * SECS_PER_DAY);
    int64_t year;
    civil_from_days(days, &year, &out->month, &out->day);
    out->year = (int)year;
    out->weekday = (int)floor_mod(days + 3, 7); /* 1970-01-01 was a Thursday; 0 = Monday */
    out->hour = secs / 3600;
    out->minute = secs / 60 % 60;
    out->second = secs % 60;
    out->utc_offset = type.utoff;
    out->dst = type.dst;
}

static bool name_char(char ch)
{
    return is_alpha((unsigned char)ch) || is_digit((unsigned char)ch) || ch == '_' || ch == '-' || ch == '+';
}

bool hg_tz_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    bool component_empty = true;
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (i == HG_TZ_NAME_MAX)
            return false;
        if (name[i] == '/') {
            if (component_empty)
                return false;
            component_empty = true;
        } else if (name_char(name[i])) {
            component_empty = false;
        } else {
            return false;
        }
    }
    return !component_empty;
}
