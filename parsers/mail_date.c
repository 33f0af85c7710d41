/*
 * mail_date.c — Date header values to seconds since 1970 UTC, and back to ISO 8601.
 *
 * libetpan's RFC 5322 date parser is tried first; what it rejects is read by
 * a forgiving tokenizer that accepts what clients actually send: no weekday
 * or a wrong one, two-digit years, named zones (GMT, EST, CEST...),
 * "GMT+0200", a missing zone (taken as UTC, and said so), asctime order
 * ("Mon Jun  3 10:00:00 2024"), ISO 8601 ("2024-06-03T10:00:00+02:00"),
 * dots in times and AM/PM.
 */
#include "mail_internal.h"

#include <libetpan/libetpan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DATE_LEN 256

struct date_parts {
    int year, month, day;
    int hour, minute, second;
    int zone_minutes; /* east of UTC */
    bool have_year, have_month, have_day, have_time, have_zone;
    bool zone_is_utc_word; /* "GMT" that a "+0200" may still follow */
    int ampm;              /* 0 none, 1 am, 2 pm */
};

/* ------------------------------------------------------------ calendar */

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to Y-M-D in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    *d = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = year_of_era + era * 400 + (*m <= 2);
}

void hg_mail_format_date(int64_t epoch, char out[32])
{
    int64_t days = epoch / 86400, secs = epoch % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60));
}

static bool to_epoch(const struct date_parts *p, int64_t *epoch_r)
{
    int year = p->year;
    if (year < 50)
        year += 2000;
    else if (year < 1000)
        year += 1900;
    if (year < 1900 || year > 9999 || p->month < 1 || p->month > 12 || p->day < 1 ||
        p->day > days_in_month(year, p->month))
        return false;
    if (p->hour < 0 || p->hour > 23 || p->minute < 0 || p->minute > 59 || p->second < 0 || p->second > 60)
        return false;
    if (p->zone_minutes < -18 * 60 || p->zone_minutes > 18 * 60)
        return false;
    int second = p->second == 60 ? 59 : p->second; /* a leap second */
    *epoch_r = days_from_civil(year, p->month, p->day) * 86400 + p->hour * 3600 + p->minute * 60 + second -
               (int64_t)p->zone_minutes * 60;
    return true;
}

/* ------------------------------------------------------------ libetpan's strict parser */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether S from I on holds only blanks and (nested) comments. */
static bool only_comments(const char *s, size_t len, size_t i)
{
    int depth = 0;
    for (; i < len; i++) {
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && depth > 0)
            depth--;
        else if (s[i] == '\\' && depth > 0 && i + 1 < len)
            i++;
        else if (depth == 0 && s[i] != ' ' && s[i] != '\t')
            return false;
    }
    return true;
}

/*
 * Whether the date text S[0..END) ends with a zone RFC 5322 defines:
 * "+hhmm"/"-hhmm" or one of the obsolete names UT, GMT, EST ... PDT, Z.
 */
static bool zone_ends(const char *s, size_t end)
{
    static const char *const names[] = {"ut",  "gmt", "z",   "est", "edt", "cst",
                                        "cdt", "mst", "mdt", "pst", "pdt"};
    for (;;) { /* blanks and trailing comments libetpan took as CFWS */
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (end == 0 || s[end - 1] != ')')
            break;
        const char *open = memrchr(s, '(', end);
        if (open == NULL)
            return false;
        end = (size_t)(open - s);
    }
    size_t start = end;
    while (start > 0 && s[start - 1] != ' ' && s[start - 1] != '\t')
        start--;
    size_t n = end - start;
    if (n == 5 && (s[start] == '+' || s[start] == '-'))
        return is_digit(s[start + 1]) && is_digit(s[start + 2]) && is_digit(s[start + 3]) &&
               is_digit(s[start + 4]);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(s + start, names[i], n) == 0)
            return true;
    return false;
}

static bool parse_strict(const char *s, size_t len, int64_t *epoch_r)
{
    size_t index = 0;
    struct mailimf_date_time *dt = NULL;
    if (mailimf_date_time_parse(s, len, &index, &dt) != MAILIMF_NO_ERROR || dt == NULL)
        return false;
    /*
     * What follows the date may only be blanks and comments such as "(CEST)".
     * libetpan stops before a comment that comes before the zone
     * ("00:19:00 (EDT) -0400", RFC 3798's example) and then reports +0000:
     * anything after the comments sends the value to the forgiving parser.
     */
    size_t parsed = index;
    bool complete = only_comments(s, len, index);
    int zone = dt->dt_zone;
    struct date_parts p = {
        .year = dt->dt_year,
        .month = dt->dt_month,
        .day = dt->dt_day,
        .hour = dt->dt_hour,
        .minute = dt->dt_min,
        .second = dt->dt_sec,
        .zone_minutes = (zone / 100) * 60 + (zone % 100),
    };
    mailimf_date_time_free(dt);
    /* libetpan reads a missing or unknown zone as +0000; only trust it when a zone is what it read last */
    return complete && zone_ends(s, parsed) && p.year >= 1000 && to_epoch(&p, epoch_r);
}

/* ------------------------------------------------------------ the forgiving parser */

struct zone_name {
    const char *name;
    int minutes;
};

static const struct zone_name zone_names[] = {
    {"ut", 0},     {"utc", 0},    {"gmt", 0},     {"z", 0},       {"wet", 0},    {"west", 60},  {"bst", 60},
    {"cet", 60},   {"met", 60},   {"cest", 120},  {"mest", 120},  {"eet", 120},  {"eest", 180}, {"msk", 180},
    {"ist", 330},  {"hkt", 480},  {"jst", 540},   {"kst", 540},   {"aest", 600}, {"aedt", 660}, {"nzst", 720},
    {"nzdt", 780}, {"est", -300}, {"edt", -240},  {"cst", -360},  {"cdt", -300}, {"mst", -420}, {"mdt", -360},
    {"pst", -480}, {"pdt", -420}, {"akst", -540}, {"akdt", -480}, {"hst", -600},
};

static const char *const month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t read_number(const char *s, size_t len, size_t i, int *value, size_t *digits)
{
    int v = 0;
    size_t start = i;
    while (i < len && is_digit(s[i])) {
        if (v < 100000)
            v = v * 10 + (s[i] - '0');
        i++;
    }
    *value = v;
    *digits = i - start;
    return i;
}

/* "+0200", "-05", "+02:00", "+2" after the sign at S[I]; returns the offset after it, or I. */
static size_t read_offset(const char *s, size_t len, size_t i, struct date_parts *p)
{
    int sign = s[i] == '-' ? -1 : 1;
    int value, minutes = 0;
    size_t digits;
    size_t j = read_number(s, len, i + 1, &value, &digits);
    if (digits == 0)
        return i;
    int hours = value;
    if (digits == 4 || digits == 3) {
        hours = value / 100;
        minutes = value % 100;
    } else if (digits <= 2 && j + 2 < len && s[j] == ':' && is_digit(s[j + 1]) && is_digit(s[j + 2])) {
        minutes = (s[j + 1] - '0') * 10 + (s[j + 2] - '0');
        j += 3;
    } else if (digits > 4) {
        return j;
    }
    p->zone_minutes = sign * (hours * 60 + minutes);
    p->have_zone = true;
    return j;
}

/* "10:00", "10:00:00", "10.00.00" with the hour already read. */
static size_t read_time(const char *s, size_t len, size_t i, int hour, struct date_parts *p)
{
    char sep = s[i];
    int minute, second = 0;
    size_t digits;
    size_t j = read_number(s, len, i + 1, &minute, &digits);
    if (digits == 0)
        return i + 1;
    if (j + 1 < len && s[j] == sep && is_digit(s[j + 1]))
        j = read_number(s, len, j + 1, &second, &digits);
    if (j < len && (s[j] == '.' || s[j] == ',') && j + 1 < len && is_digit(s[j + 1])) {
        int fraction;
        j = read_number(s, len, j + 1, &fraction, &digits); /* fractions of a second are dropped */
    }
    p->hour = hour;
    p->minute = minute;
    p->second = second;
    p->have_time = true;
    return j;
}

/* "2024-06-03" with the year already read. */
static size_t read_iso_date(const char *s, size_t len, size_t i, int year, struct date_parts *p)
{
    int month, day;
    size_t digits;
    size_t j = read_number(s, len, i + 1, &month, &digits);
    if (digits == 0 || j >= len || s[j] != s[i])
        return i + 1;
    j = read_number(s, len, j + 1, &day, &digits);
    if (digits == 0)
        return i + 1;
    p->year = year;
    p->month = month;
    p->day = day;
    p->have_year = p->have_month = p->have_day = true;
    if (j < len && (s[j] == 'T' || s[j] == 't'))
        j++;
    return j;
}

static void take_number(int value, size_t digits, struct date_parts *p)
{
    if (digits >= 3 && !p->have_year) {
        p->year = value;
        p->have_year = true;
    } else if (!p->have_day && value >= 1 && value <= 31) {
        p->day = value;
        p->have_day = true;
    } else if (!p->have_year) {
        p->year = value;
        p->have_year = true;
    }
}

static size_t read_numeric(const char *s, size_t len, size_t i, struct date_parts *p)
{
    int value;
    size_t digits;
    size_t j = read_number(s, len, i, &value, &digits);
    if (j + 1 < len && (s[j] == ':' || (s[j] == '.' && !p->have_time && digits <= 2)) && is_digit(s[j + 1]))
        return read_time(s, len, j, value, p);
    if (digits == 4 && j + 1 < len && (s[j] == '-' || s[j] == '/') && is_digit(s[j + 1]))
        return read_iso_date(s, len, j, value, p);
    take_number(value, digits, p);
    return j;
}

static void take_word(const char *w, size_t n, struct date_parts *p)
{
    char lower[8];
    if (n >= sizeof lower)
        return;
    for (size_t k = 0; k < n; k++)
        lower[k] = (char)(w[k] | 0x20);
    lower[n] = '\0';
    if (n >= 3 && !p->have_month) {
        for (int m = 0; m < 12; m++) {
            if (strncmp(lower, month_names[m], 3) == 0) {
                p->month = m + 1;
                p->have_month = true;
                return;
            }
        }
    }
    if (strcmp(lower, "am") == 0 || strcmp(lower, "pm") == 0) {
        p->ampm = lower[0] == 'a' ? 1 : 2;
        return;
    }
    for (size_t z = 0; z < sizeof zone_names / sizeof zone_names[0] && !p->have_zone; z++) {
        if (strcmp(lower, zone_names[z].name) == 0) {
            p->zone_minutes = zone_names[z].minutes;
            p->have_zone = true;
            p->zone_is_utc_word = zone_names[z].minutes == 0;
        }
    }
}

static bool parse_forgiving(const char *s, size_t len, int64_t *epoch_r, bool *zone_guessed_r)
{
    struct date_parts p = {0};
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (c == '(') {
            const char *close = memchr(s + i, ')', len - i);
            i = close != NULL ? (size_t)(close - s) + 1 : len;
        } else if (is_digit(c)) {
            i = read_numeric(s, len, i, &p);
        } else if ((c == '+' || c == '-') && i + 1 < len && is_digit(s[i + 1]) && p.have_time &&
                   (!p.have_zone || p.zone_is_utc_word)) {
            p.have_zone = false;
            p.zone_is_utc_word = false;
            size_t next = read_offset(s, len, i, &p);
            i = next > i ? next : i + 1;
        } else if (is_alpha(c)) {
            size_t start = i;
            while (i < len && is_alpha(s[i]))
                i++;
            take_word(s + start, i - start, &p);
        } else {
            i++;
        }
    }
    if (p.ampm == 2 && p.hour < 12)
        p.hour += 12;
    else if (p.ampm == 1 && p.hour == 12)
        p.hour = 0;
    if (!p.have_year || !p.have_month || !p.have_day)
        return false;
    *zone_guessed_r = !p.have_zone;
    return to_epoch(&p, epoch_r);
}

bool hg_mail_parse_date(const char *value, size_t len, int64_t *epoch_r, bool *zone_guessed_r)
{
    *zone_guessed_r = false;
    while (len > 0 && (value[0] == ' ' || value[0] == '\t'))
        value++, len--;
    if (len == 0 || len > MAX_DATE_LEN)
        return false;
    if (parse_strict(value, len, epoch_r))
        return true;
    return parse_forgiving(value, len, epoch_r, zone_guessed_r);
}
