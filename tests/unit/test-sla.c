/*
 * test-sla.c — unit tests of SLA policies and business-time arithmetic
 * (parsers/sla.c, the `sla` blocks of parsers/rules_parse.c).
 *
 * Data-driven: tests/data/rules/sla/errors/NAME.rules beside NAME.ref (every
 * error and hint, as `helpgatectl rules check` prints them);
 * tests/data/rules/sla/NAME.rules beside NAME.json (due times, counted time
 * and warnings computed by hand, across holidays and both clock changes in
 * Europe/Berlin and America/New_York). Table-driven: the parsed policy, the
 * breach actions, the explanation. Differential: for random calendars, zones,
 * starts and targets, hg_sla_due() and hg_sla_counted() must agree with a
 * slow reference here that steps minute by minute and asks hg_tz_local()
 * whether each minute is open. Zones come from /usr/share/zoneinfo.
 */
#include "helpgate/rules.h"
#include "helpgate/sla.h"
#include "helpgate/tz.h"

#include "tap.h"
#include "testdata.h"
#include "rules_testlib.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Parses TEXT; on errors prints them as TAP comments and returns NULL. */
static struct hg_rules *parse(const char *text, size_t len, const char *filename)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules_loader loader = {test_load, NULL};
    struct hg_rules *r = hg_rules_parse(text, len, filename, &loader, NULL, &errors);
    for (size_t i = 0; i < errors.count && i < 5; i++) {
        char *e = hg_rules_error_format(&errors, i, filename);
        printf("# %s\n", e);
        free(e);
    }
    hg_rules_errors_free(&errors);
    return r;
}

/* All errors of TEXT, formatted and joined with newlines ("" when it parses). */

static int64_t parse_iso(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
        return INT64_MIN;
    return (int64_t)timegm(&tm);
}

/* "2026-11-23T07:30:00Z", or "never". */
static const char *iso(int64_t t, char *buf, size_t size)
{
    if (t == HG_SLA_NEVER)
        return "never";
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* "1h30m", "3d", "45m" in seconds; -1 when malformed. */
static int64_t duration(const char *s)
{
    int64_t total = 0;
    while (s != NULL && *s != '\0') {
        char *end;
        long long v = strtoll(s, &end, 10);
        int64_t unit = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : -1;
        if (end == s || unit < 0)
            return -1;
        total += v * unit;
        s = end + 1;
    }
    return s != NULL ? total : -1;
}

/* ------------------------------------------------------------------------ */
/* Cases from files.                                                       */

static void check_time(const char *file, const char *name, const char *what, int64_t got, json_t *want)
{
    char a[32], b[32];
    int64_t w = json_is_null(want) ? HG_SLA_NEVER : parse_iso(json_string_value(want));
    ok(got == w, "%s: %s: %s %s", file, name, what, iso(got, a, sizeof a));
    if (got != w)
        printf("#   want: %s\n", iso(w, b, sizeof b));
}

static void check_due_case(const struct hg_rules *r, json_t *c, const char *file)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *policy = json_string_value(json_object_get(c, "policy"));
    const struct hg_sla_policy *p = hg_rules_sla(r, policy);
    if (!ok(p != NULL, "%s: %s: policy %s is defined", file, name, policy))
        return;
    int64_t start = parse_iso(json_string_value(json_object_get(c, "start")));
    json_t *after = json_object_get(c, "after");
    if (after != NULL) {
        int64_t secs = duration(json_string_value(after));
        int64_t due = hg_sla_due(r, p, start, secs);
        check_time(file, name, "due", due, json_object_get(c, "due"));
        is_int(hg_sla_counted(r, p, start, due), secs, "  ... and the counted time up to it is the target");
    }
    json_t *to = json_object_get(c, "to");
    if (to != NULL) {
        int64_t got = hg_sla_counted(r, p, start, parse_iso(json_string_value(to)));
        int64_t want = duration(json_string_value(json_object_get(c, "counted")));
        ok(got == want, "%s: %s: counted %llds", file, name, (long long)got);
        if (got != want)
            printf("#   want: %llds\n", (long long)want);
    }
    if (json_object_get(c, "first_response_due") != NULL) {
        struct hg_sla_times t;
        hg_sla_times_at(r, p, start, &t);
        check_time(file, name, "first response due", t.first_response_due,
                   json_object_get(c, "first_response_due"));
        check_time(file, name, "first-response warning", t.first_response_warn,
                   json_object_get(c, "first_response_warn"));
        check_time(file, name, "resolution due", t.resolution_due, json_object_get(c, "resolution_due"));
        check_time(file, name, "resolution warning", t.resolution_warn,
                   json_object_get(c, "resolution_warn"));
    }
}

static void test_due_files(void)
{
    char *dir = data_dir("sla");
    size_t n;
    char **names = list_cases(dir, ".rules", &n);
    ok(n >= 2, "found %zu due-time files", n);
    for (size_t i = 0; i < n; i++) {
        char *path = file_path(dir, names[i], ".rules"), *cases_path = file_path(dir, names[i], ".json");
        struct text src = read_file(path);
        struct hg_rules *r = parse(src.data != NULL ? src.data : "", src.len, names[i]);
        ok(r != NULL, "sla/%s.rules parses", names[i]);
        json_error_t jerr;
        json_t *cases = json_load_file(cases_path, 0, &jerr);
        ok(json_is_array(cases), "sla/%s.json loads (%s)", names[i], cases != NULL ? "ok" : jerr.text);
        for (size_t k = 0; r != NULL && k < json_array_size(cases); k++)
            check_due_case(r, json_array_get(cases, k), names[i]);
        json_decref(cases);
        hg_rules_free(&r);
        free(src.data);
        free(path);
        free(cases_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Table-driven.                                                           */

static void test_policy_fields(void)
{
    const char *text = "timezone \"UTC\"\n"
                       "hours business\n    mon-fri 08:00-18:00\nend\n"
                       "sla \"L1\"\n    first response within 4h\n    resolution within 3d\nend\n"
                       "sla vip\n"
                       "    resolution within 7h30m\n"
                       "    first response within 90m\n"
                       "    hours business   # count only then\n"
                       "    warn 15m before\n"
                       "    on breach notify lead\n"
                       "end\n"
                       "rule \"VIP\" when customer.tier is vip then sla vip end\n"
                       "rule \"L2 default\" then sla L2 end\n";
    struct hg_rules *r = parse(text, strlen(text), "t.rules");
    ok(r != NULL, "two policies parse");
    is_int((long long)hg_rules_sla_count(r), 2, "hg_rules_sla_count");
    const struct hg_sla_policy *l1 = hg_rules_sla(r, "L1"), *vip = hg_rules_sla(r, "vip");
    ok(l1 != NULL && l1 == hg_rules_sla_at(r, 0) && vip == hg_rules_sla_at(r, 1), "found by name and index");
    ok(l1 != NULL && strcmp(l1->name, "L1") == 0 && l1->line == 5 && l1->first_response_secs == 4 * 3600 &&
           l1->resolution_secs == 3 * 86400 && l1->warn_secs == 0 && l1->on_breach == HG_SLA_ESCALATE &&
           l1->calendar == NULL,
       "L1: 4h, 3d, no warning, escalate, around the clock (the defaults)");
    ok(vip != NULL && vip->first_response_secs == 90 * 60 && vip->resolution_secs == 7 * 3600 + 1800 &&
           vip->warn_secs == 900 && vip->on_breach == HG_SLA_NOTIFY_LEAD && vip->calendar != NULL &&
           strcmp(vip->calendar, "business") == 0,
       "vip: 90m, 7h30m, warn 15m, notify lead, hours business (lines in any order)");
    ok(hg_rules_sla(r, "L2") == NULL && hg_rules_sla(r, "VIP") == NULL && hg_rules_sla(r, NULL) == NULL &&
           hg_rules_sla(NULL, "L1") == NULL && hg_rules_sla_at(r, 2) == NULL,
       "an undefined tier default, another case, NULL: no policy");
    ok(hg_sla_due(r, NULL, 100, 10) == HG_SLA_NEVER && hg_sla_counted(r, NULL, 0, 100) == 0,
       "no policy: never due, nothing counted");
    struct hg_rules_input in = {.customer_tier = "vip", .now = 1795000000};
    struct hg_rules_result res;
    hg_rules_evaluate(r, &in, &res);
    ok(strcmp(res.sla, "L2") == 0 && hg_rules_sla(r, res.sla) == NULL,
       "the result names L2, which has no policy: no SLA");
    hg_rules_free(&r);

    /* Files from before SLA policies: `sla NAME` is a label and needs no definition. */
    const char *old = "rule \"a\" then sla gold end\nrule \"b\" then\n  route L2\n  sla silver\nend\n";
    char *errors = rules_errors_of(old, strlen(old), "old.rules", NULL);
    is_str(errors, "", "a file without policies may name undefined ones (as before)");
    free(errors);
    /* A policy named like a statement word or with a quoted name. */
    const char *names = "sla \"rule\"\n first response within 1m\n resolution within 1m\nend\n"
                        "sla sla\n first response within 1m\n resolution within 1m\nend\n"
                        "rule \"x\" then sla rule, sla sla\nend\n";
    errors = rules_errors_of(names, strlen(names), "names.rules", NULL);
    is_str(errors, "", "policies may be called \"rule\" and \"sla\"");
    free(errors);
    /* A calendar that is never open is refused when it is written (it has no spans). */
    const char *closed = "hours closed\nend\n";
    errors = rules_errors_of(closed, strlen(closed), "closed.rules", NULL);
    is_str(
        errors,
        "closed.rules:1: calendar \"closed\" has no hours\n  hint: add a line such as: mon-fri 08:00-18:00\n",
        "a calendar that is never open is refused");
    free(errors);
}

static void test_breach(void)
{
    struct hg_sla_policy escalate = {.on_breach = HG_SLA_ESCALATE}, lead = {.on_breach = HG_SLA_NOTIFY_LEAD};
    const struct {
        const struct hg_sla_policy *p;
        enum hg_rules_tier tier, want;
        bool lead;
    } cases[] = {
        {&escalate, HG_TIER_L1, HG_TIER_L2, false}, {&escalate, HG_TIER_L2, HG_TIER_L3, false},
        {&escalate, HG_TIER_L3, HG_TIER_L3, true},  {&lead, HG_TIER_L1, HG_TIER_L1, true},
        {&lead, HG_TIER_L2, HG_TIER_L2, true},      {&lead, HG_TIER_L3, HG_TIER_L3, true},
        {NULL, HG_TIER_L2, HG_TIER_L3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool notify = !cases[i].lead;
        enum hg_rules_tier got = hg_sla_breach_tier(cases[i].p, cases[i].tier, &notify);
        ok(got == cases[i].want && notify == cases[i].lead, "breach of %s under %s: %s%s",
           hg_rules_tier_name(cases[i].tier),
           cases[i].p != NULL ? hg_sla_breach_name(cases[i].p->on_breach) : "(no policy)",
           hg_rules_tier_name(got), notify ? ", notify the lead" : "");
    }
    is_str(hg_sla_breach_name(HG_SLA_ESCALATE), "escalate", "breach name escalate");
    is_str(hg_sla_breach_name(HG_SLA_NOTIFY_LEAD), "notify lead", "breach name notify lead");
}

static void test_explain(void)
{
    const char *text = "timezone \"Europe/Berlin\"\n"
                       "hours business\n    mon-fri 08:00-18:00\nend\n"
                       "sla office\n    first response within 1h\n    resolution within 2h\n"
                       "    hours business\n    warn 30m before\nend\n"
                       "sla L3\n    first response within 30m\n    resolution within 4h\n"
                       "    on breach notify lead\nend\n"
                       "rule \"Office\" when subject contains office then sla office end\n"
                       "rule \"Outage\" when subject contains down then route L3 end\n";
    struct hg_rules *r = parse(text, strlen(text), "t.rules");
    ok(r != NULL, "the explanation's rules parse");
    struct hg_rules_input in = {.subject = "office", .now = parse_iso("2026-11-20T16:30:00Z")};
    char *e = hg_rules_explain(r, &in);
    ok(strstr(e, "  sla           office   (t.rules:5, counted in hours business, Europe/Berlin)\n") != NULL,
       "explanation names the policy, its place and its calendar");
    ok(strstr(e, "    first response due  Mon 2026-11-23 08:30 +01:00   (within 1h)\n") != NULL,
       "explanation shows the first-response due time in local time");
    ok(strstr(e, "    resolution due      Mon 2026-11-23 09:30 +01:00   (within 2h)\n") != NULL,
       "explanation shows the resolution due time");
    ok(strstr(e, "    warnings            Mon 2026-11-23 08:00 +01:00 and Mon 2026-11-23 09:00 +01:00   "
                 "(30m before)\n") != NULL,
       "explanation shows the warnings");
    ok(strstr(e, "    on breach           escalate\n") != NULL, "explanation shows the breach action");
    if (strstr(e, "first response due") == NULL)
        printf("# %s\n", e);
    free(e);
    in.subject = "server down";
    in.now = parse_iso("2026-07-01T10:00:00Z");
    e = hg_rules_explain(r, &in);
    ok(strstr(e, "  sla           L3   (t.rules:11, counted around the clock)\n") != NULL &&
           strstr(e, "first response due  Wed 2026-07-01 12:30 +02:00   (within 30m)") != NULL &&
           strstr(e, "on breach           notify lead") != NULL,
       "the tier's default policy, around the clock, in summer time");
    free(e);
    in.subject = "hello";
    e = hg_rules_explain(r, &in);
    ok(strstr(e, "  sla           L1   (no policy \"L1\" is defined: no due times)\n") != NULL,
       "an undefined tier policy: no due times");
    free(e);
    hg_rules_free(&r);
    e = hg_rules_explain(NULL, &in);
    ok(strstr(e, "  sla           L1   (no policy") != NULL, "no rules: no policy");
    free(e);
}

/* The example of helpgate.rules(5) defines the tiers' policies and vip. */
static void test_example(void)
{
    char *dir = data_dir("");
    char *path = file_path(dir, "example", ".conf");
    struct text src = read_file(path);
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules_loader loader = {test_load, dir};
    struct hg_rules *r =
        hg_rules_parse(src.data != NULL ? src.data : "", src.len, "example.conf", &loader, NULL, &errors);
    ok(r != NULL, "example.conf parses");
    ok(hg_rules_sla(r, "L1") != NULL && hg_rules_sla(r, "L2") != NULL && hg_rules_sla(r, "L3") != NULL &&
           hg_rules_sla(r, "vip") != NULL,
       "example.conf defines L1, L2, L3 and vip");
    const struct hg_sla_policy *l1 = hg_rules_sla(r, "L1");
    char buf[32];
    /* Friday 2026-11-20 17:30 CET: L1's 4 business hours are 30m on Friday, 3h30 on Saturday (10-14). */
    int64_t due =
        l1 != NULL ? hg_sla_due(r, l1, parse_iso("2026-11-20T16:30:00Z"), l1->first_response_secs) : 0;
    is_str(iso(due, buf, sizeof buf), "2026-11-21T12:30:00Z",
           "example L1: first response 4h from Friday 17:30 is Saturday 13:30");
    hg_rules_free(&r);
    hg_rules_errors_free(&errors);
    free(src.data);
    free(path);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Limits.                                                                 */

static void test_bounds(void)
{
    /* A whole-day calendar closed by holidays for more than 100 years: the search gives up. */
    size_t cap = 40000 * 14 + 4096;
    char *text = malloc(cap);
    size_t n = (size_t)sprintf(text, "hours closed\n    daily 00:00-24:00\n    holiday ");
    time_t day = (time_t)parse_iso("2026-01-01T00:00:00Z");
    for (int i = 0; i < 36600; i++, day += 86400) {
        struct tm tm;
        gmtime_r(&day, &tm);
        n += (size_t)sprintf(text + n, "%s%04d-%02d-%02d", i ? ", " : "", tm.tm_year + 1900, tm.tm_mon + 1,
                             tm.tm_mday);
    }
    sprintf(text + n, "\nend\nsla s\n    first response within 1h\n    resolution within 2h\n"
                      "    hours closed\nend\n");
    struct hg_rules *r = parse(text, strlen(text), "closed.rules");
    ok(r != NULL, "a calendar with 36,600 holidays parses");
    const struct hg_sla_policy *p = hg_rules_sla(r, "s");
    clock_t t0 = clock();
    int64_t due = hg_sla_due(r, p, parse_iso("2026-01-01T00:00:00Z"), 3600);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ok(due == HG_SLA_NEVER && secs < 5, "closed for 100 years: HG_SLA_NEVER after %.3fs", secs);
    due = hg_sla_due(r, p, parse_iso("2100-01-01T00:00:00Z"), 3600);
    char buf[32];
    is_str(iso(due, buf, sizeof buf), "2126-03-18T01:00:00Z", "the first open hour after the holidays");
    is_int(hg_sla_counted(r, p, parse_iso("2026-01-01T00:00:00Z"), parse_iso("2126-03-19T00:00:00Z")), 86400,
           "counted over 100 years of holidays: the one open day after them");
    hg_rules_free(&r);
    free(text);

    const char *plain = "sla p\n first response within 1h\n resolution within 2h\nend\n"
                        "hours h\n mon 09:00-10:00\nend\n"
                        "sla q\n first response within 1h\n resolution within 2h\n hours h\nend\n";
    r = parse(plain, strlen(plain), "plain.rules");
    const struct hg_sla_policy *pp = hg_rules_sla(r, "p"), *q = hg_rules_sla(r, "q");
    ok(hg_sla_due(r, pp, HG_TZ_EPOCH_MAX - 100, 3600) == HG_SLA_NEVER &&
           hg_sla_due(r, q, HG_TZ_EPOCH_MAX - 100, 3600) == HG_SLA_NEVER,
       "past the year 9999: never");
    ok(hg_sla_due(r, pp, 1000, 0) == 1000 && hg_sla_due(r, q, 1000, -5) == 1000,
       "nothing to count: the start itself");
    ok(hg_sla_counted(r, q, INT64_MIN, INT64_MAX) > 0 &&
           hg_sla_counted(r, pp, INT64_MIN, INT64_MAX) == HG_TZ_EPOCH_MAX + 1 - HG_TZ_EPOCH_MIN,
       "counted over all time is clamped to the years 1 to 9999");
    /* Without a timezone the calendar is in UTC: Monday 2026-11-23 09:00-10:00. */
    is_str(iso(hg_sla_due(r, q, parse_iso("2026-11-20T12:00:00Z"), 1800), buf, sizeof buf),
           "2026-11-23T09:30:00Z", "without a timezone, calendars are in UTC");
    hg_rules_free(&r);

    /* Speed: 20,000 tickets' due times in a business calendar with a 3-day resolution (30 hours). */
    const char *busy =
        "timezone \"Europe/Berlin\"\nhours b\n mon-fri 08:00-18:00\n holiday 2026-12-24\nend\n"
        "sla s\n first response within 4h\n resolution within 30h\n hours b\n warn 1h before\nend\n";
    r = parse(busy, strlen(busy), "busy.rules");
    p = hg_rules_sla(r, "s");
    unsigned seed = 7;
    int64_t sum = 0;
    t0 = clock();
    for (int i = 0; i < 20000; i++) {
        struct hg_sla_times t;
        hg_sla_times_at(r, p, parse_iso("2026-01-01T00:00:00Z") + (int64_t)(rand_r(&seed) % (366 * 86400)),
                        &t);
        sum += t.resolution_due - t.first_response_due;
    }
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ok(sum > 0 && secs < 10, "20,000 tickets' due and warning times in %.3fs", secs);
    hg_rules_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Differential: against a minute-by-minute reference.                     */

struct ref_span {
    unsigned days;  /* bit 0 = Monday */
    int start, end; /* minutes */
};

struct ref_calendar {
    struct ref_span spans[4];
    int n_spans;
    int holidays[6]; /* YYYYMMDD */
    int n_holidays;
};

static bool ref_open(const struct hg_tz *tz, const struct ref_calendar *c, int64_t t)
{
    struct hg_tz_local l;
    hg_tz_local(tz, t, &l);
    int date = l.year * 10000 + l.month * 100 + l.day;
    for (int i = 0; i < c->n_holidays; i++)
        if (c->holidays[i] == date)
            return false;
    int minute = l.hour * 60 + l.minute;
    for (int i = 0; i < c->n_spans; i++)
        if ((c->spans[i].days & (1u << l.weekday)) && minute >= c->spans[i].start && minute < c->spans[i].end)
            return true;
    return false;
}

/* START on a minute, N whole minutes; OPEN: then on to the first open minute. */
static int64_t ref_due(const struct hg_tz *tz, const struct ref_calendar *c, int64_t start, int64_t n,
                       bool open)
{
    int64_t t = start;
    while (n > 0) {
        if (ref_open(tz, c, t))
            n -= 60;
        t += 60;
    }
    while (open && !ref_open(tz, c, t))
        t += 60;
    return t;
}

static int64_t ref_counted(const struct hg_tz *tz, const struct ref_calendar *c, int64_t from, int64_t to)
{
    int64_t n = 0;
    for (int64_t t = from; t < to; t += 60)
        n += ref_open(tz, c, t) ? 60 : 0;
    return n;
}

static struct hg_tz *load_zone(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    struct text t = read_file(path);
    char *error = NULL;
    struct hg_tz *tz = t.data != NULL ? hg_tz_parse((unsigned char *)t.data, t.len, name, &error) : NULL;
    free(error);
    free(t.data);
    return tz;
}

static void days_text(unsigned mask, char *out, size_t size)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    size_t n = 0;
    out[0] = '\0';
    for (int d = 0; d < 7; d++)
        if (mask & (1u << d))
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", names[d]);
}

/* A random calendar: spans on the quarter hour or the minute, often across 01:00-04:00 (clock changes). */
static void random_calendar(unsigned *seed, struct ref_calendar *c)
{
    memset(c, 0, sizeof(*c));
    c->n_spans = 1 + rand_r(seed) % 3;
    for (int i = 0; i < c->n_spans; i++) {
        struct ref_span *s = &c->spans[i];
        s->days = 1 + (unsigned)rand_r(seed) % 127;
        int kind = rand_r(seed) % 4;
        int grain = rand_r(seed) % 2 ? 15 : 1;
        if (kind == 0) {
            s->start = 0;
            s->end = 1440;
        } else if (kind == 1) {
            s->start = 60 + rand_r(seed) % 60;
            s->end = 150 + rand_r(seed) % 120;
        } else {
            s->start = rand_r(seed) % (1440 / grain) * grain;
            s->end = s->start + grain + rand_r(seed) % ((1440 - s->start) / grain) * grain;
            if (s->end > 1440)
                s->end = 1440;
        }
    }
    c->n_holidays = rand_r(seed) % 4;
    static const int dates[] = {20260308, 20260309, 20260329, 20260330, 20260405, 20261004,
                                20261025, 20261026, 20261101, 20261102, 20261225, 20270101};
    for (int i = 0; i < c->n_holidays; i++)
        c->holidays[i] = dates[rand_r(seed) % (sizeof dates / sizeof dates[0])];
}

static int64_t week_minutes(const struct ref_calendar *c)
{
    int64_t n = 0;
    for (int d = 0; d < 7; d++)
        for (int m = 0; m < 1440; m++)
            for (int i = 0; i < c->n_spans; i++)
                if ((c->spans[i].days & (1u << d)) && m >= c->spans[i].start && m < c->spans[i].end) {
                    n++;
                    break;
                }
    return n;
}

static void test_differential(void)
{
    static const char *const zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                        "Asia/Kolkata", "UTC"};
    /* Windows around the clock changes of 2026 (northern and southern), and a quiet one. */
    static const char *const windows[][2] = {{"2026-02-25T00:00:00Z", "2026-04-15T00:00:00Z"},
                                             {"2026-09-25T00:00:00Z", "2026-11-10T00:00:00Z"},
                                             {"2026-12-15T00:00:00Z", "2027-01-10T00:00:00Z"}};
    struct hg_tz *tzs[5];
    for (size_t z = 0; z < 5; z++)
        tzs[z] = load_zone(zones[z]);
    ok(tzs[0] != NULL && tzs[1] != NULL && tzs[2] != NULL && tzs[3] != NULL && tzs[4] != NULL,
       "the reference's zones load");
    unsigned seed = 2026;
    int rounds = 0, due_bad = 0, warn_bad = 0, counted_bad = 0, inverse_bad = 0, parse_bad = 0;
    for (int round = 0; round < 300 && tzs[0] != NULL; round++) {
        size_t z = (size_t)rand_r(&seed) % 5;
        struct ref_calendar c;
        random_calendar(&seed, &c);
        int64_t week = week_minutes(&c);
        int64_t fr = 1 + rand_r(&seed) % (week < 600 ? week : 600);
        int64_t res = fr + rand_r(&seed) % (week < 3000 ? week : 3000);
        int64_t warn = fr > 1 ? 1 + rand_r(&seed) % (fr - 1) : 0;
        char text[2048];
        size_t n = (size_t)snprintf(text, sizeof text, "timezone \"%s\"\nhours cal\n", zones[z]);
        for (int i = 0; i < c.n_spans; i++) {
            char days[64];
            days_text(c.spans[i].days, days, sizeof days);
            n += (size_t)snprintf(text + n, sizeof text - n, "    %s %02d:%02d-%02d:%02d\n", days,
                                  c.spans[i].start / 60, c.spans[i].start % 60, c.spans[i].end / 60,
                                  c.spans[i].end % 60);
        }
        for (int i = 0; i < c.n_holidays; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "    holiday %d-%02d-%02d\n",
                                  c.holidays[i] / 10000, c.holidays[i] / 100 % 100, c.holidays[i] % 100);
        char warn_line[64] = "";
        if (warn > 0)
            snprintf(warn_line, sizeof warn_line, "    warn %lldm before\n", (long long)warn);
        snprintf(text + n, sizeof text - n,
                 "end\nsla p\n    first response within %lldm\n    resolution within %lldm\n"
                 "    hours cal\n%send\n",
                 (long long)fr, (long long)res, warn_line);
        struct hg_rules *r = parse(text, strlen(text), "random.rules");
        const struct hg_sla_policy *p = hg_rules_sla(r, "p");
        if (p == NULL) {
            if (parse_bad++ == 0)
                printf("# does not parse:\n%s", text);
            hg_rules_free(&r);
            continue;
        }
        rounds++;
        const char *const *w = windows[rand_r(&seed) % 3];
        int64_t lo = parse_iso(w[0]), hi = parse_iso(w[1]);
        int64_t start = lo + (int64_t)(rand_r(&seed) % ((hi - lo) / 60)) * 60;
        struct hg_sla_times t;
        hg_sla_times_at(r, p, start, &t);
        int64_t want_fr = ref_due(tzs[z], &c, start, fr * 60, false),
                want_res = ref_due(tzs[z], &c, start, res * 60, false);
        if (t.first_response_due != want_fr || t.resolution_due != want_res) {
            if (due_bad++ < 3) {
                char a[32], b[32], d[32], e[32];
                printf("# %s start %s fr %lldm: %s want %s; res %lldm: %s want %s\n%s", zones[z],
                       iso(start, a, sizeof a), (long long)fr, iso(t.first_response_due, b, sizeof b),
                       iso(want_fr, d, sizeof d), (long long)res, iso(t.resolution_due, e, sizeof e),
                       iso(want_res, a, sizeof a), text);
            }
        }
        if (warn > 0 && (t.first_response_warn != ref_due(tzs[z], &c, start, (fr - warn) * 60, true) ||
                         t.resolution_warn != ref_due(tzs[z], &c, start, (res - warn) * 60, true)))
            warn_bad++;
        /* Counted between two random instants on minutes, and the inverse. */
        int64_t to = start + (int64_t)(rand_r(&seed) % (14 * 1440)) * 60;
        if (hg_sla_counted(r, p, start, to) != ref_counted(tzs[z], &c, start, to))
            counted_bad++;
        int64_t odd = start + rand_r(&seed) % 3600; /* not on a minute */
        int64_t d = hg_sla_due(r, p, odd, res * 60 + 17);
        int64_t later = odd + rand_r(&seed) % (20 * 86400);
        if (hg_sla_counted(r, p, odd, d) != res * 60 + 17 ||
            hg_sla_due(r, p, odd, hg_sla_counted(r, p, odd, later)) > later)
            inverse_bad++;
        hg_rules_free(&r);
    }
    ok(parse_bad == 0 && rounds == 300, "300 random calendars parse (%d did not)", parse_bad);
    ok(due_bad == 0, "due times equal the minute-by-minute reference (%d of %d differ)", due_bad, rounds);
    ok(warn_bad == 0, "warning times equal the reference (%d of %d differ)", warn_bad, rounds);
    ok(counted_bad == 0, "counted time equals the reference (%d of %d differ)", counted_bad, rounds);
    ok(inverse_bad == 0, "counted(due(n)) = n and due(counted) <= the end, off the minute (%d of %d differ)",
       inverse_bad, rounds);
    for (size_t zz = 0; zz < 5; zz++)
        hg_tz_free(&tzs[zz]);
}

int main(void)
{
    check_error_files("sla/errors", 4);
    test_due_files();
    test_policy_fields();
    test_breach();
    test_explain();
    test_example();
    test_bounds();
    test_differential();
    return tap_done();
}
