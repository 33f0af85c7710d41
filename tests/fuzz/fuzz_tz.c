/*
 * fuzz_tz.c — libFuzzer target for the time zone module (tz.h).
 *
 * Each input is parsed twice: as TZif data, and (when it has no newline and
 * fits) as the TZ string of a footer wrapped in minimal version 2 data, so
 * the footer grammar is reached without first getting a whole file right.
 * A zone comes back exactly when there is no error, the error is one line
 * naming the zone; when one parses, hg_tz_local() runs at fixed extremes
 * (INT64_MIN/MAX, the clamp bounds, -2^59) and at epochs taken from the
 * input, and every result must be a real date whose local time minus its
 * offset is the (clamped) epoch. Also runs hg_tz_name_valid() on the input.
 * Seeds: tests/fuzz/seeds/tz/ (real zone files) and tests/data/tz/.
 */
#include "helpgate/tz.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t days_before_year(int64_t y) /* from 1970-01-01, for y >= -399 */
{
    int64_t p = y + 399;
    return 365 * p + p / 4 - p / 100 + p / 400 - 146097 - 719162;
}

static void check_local(const struct hg_tz *tz, int64_t epoch)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const int length[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct hg_tz_local l;
    hg_tz_local(tz, epoch, &l);
    int64_t t = epoch < HG_TZ_EPOCH_MIN ? HG_TZ_EPOCH_MIN : epoch > HG_TZ_EPOCH_MAX ? HG_TZ_EPOCH_MAX : epoch;
    if (l.year < 0 || l.year > 10000 || l.month < 1 || l.month > 12)
        abort();
    bool leap = l.year % 4 == 0 && (l.year % 100 != 0 || l.year % 400 == 0);
    if (l.day < 1 || l.day > length[l.month - 1] + (l.month == 2 && leap))
        abort();
    if (l.hour < 0 || l.hour > 23 || l.minute < 0 || l.minute > 59 || l.second < 0 || l.second > 59)
        abort();
    if (l.utc_offset < -89999 || l.utc_offset > 93599 || l.weekday < 0 || l.weekday > 6)
        abort();
    int64_t days = days_before_year(l.year) + before[l.month - 1] + (l.month > 2 && leap) + l.day - 1;
    if (((days + 3) % 7 + 7) % 7 != l.weekday)
        abort();
    if (days * 86400 + l.hour * 3600 + l.minute * 60 + l.second - l.utc_offset != t)
        abort();
}

static void check_zone(const uint8_t *data, size_t size, const char *name)
{
    char *error = NULL;
    struct hg_tz *tz = hg_tz_parse(data, size, name, &error);
    if ((tz == NULL) == (error == NULL))
        abort(); /* a zone comes back exactly when there is no error */
    if (error != NULL && (strncmp(error, name, strlen(name)) != 0 || strchr(error, '\n') != NULL))
        abort();
    free(error);
    if (tz == NULL)
        return;
    if (strcmp(hg_tz_name(tz), name) != 0)
        abort();
    static const int64_t fixed[] = {
        INT64_MIN,  -(INT64_C(1) << 59), HG_TZ_EPOCH_MIN - 1, HG_TZ_EPOCH_MIN,     -1,       0, 1774746000,
        2540289600, 4102444800,          HG_TZ_EPOCH_MAX,     HG_TZ_EPOCH_MAX + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_local(tz, fixed[i]);
    /* Epochs from the input's bytes, spread over 1900-2200 and over everything. */
    for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        check_local(tz, (int64_t)(v % 9500000000u) - 2208988800);
        check_local(tz, (int64_t)(v >> 1) * (v & 1 ? -1 : 1));
    }
    hg_tz_free(&tz);
    if (tz != NULL)
        abort();
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Version 2 data with no transitions, one type, and DATA as the footer. */
static void check_footer(const uint8_t *data, size_t size)
{
    enum { BLOCK = 44 + 6 + 4 };
    uint8_t buf[2 * BLOCK + 2 + 300];
    if (size > 300 || memchr(data, '\n', size) != NULL)
        return;
    for (int b = 0; b < 2; b++) {
        uint8_t *p = buf + b * BLOCK;
        memset(p, 0, BLOCK);
        memcpy(p, "TZif2", 5);
        put32(p + 36, 1); /* typecnt */
        put32(p + 40, 4); /* charcnt */
        memcpy(p + 50, "ZZZ", 4);
    }
    buf[2 * BLOCK] = '\n';
    memcpy(buf + 2 * BLOCK + 1, data, size);
    buf[2 * BLOCK + 1 + size] = '\n';
    check_zone(buf, 2 * BLOCK + 2 + size, "footer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_zone(data, size, "fuzz");
    check_footer(data, size);
    char name[80];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    if (hg_tz_name_valid(name) &&
        (strstr(name, "..") != NULL || name[0] == '/' || strlen(name) > HG_TZ_NAME_MAX))
        abort();
    return 0;
}
