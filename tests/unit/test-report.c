/*
 * test-report.c — the report's rules: nearest-rank percentiles, durations and
 * times as text, what each ticket counts for (period bounds, closed versus
 * resolved, tiers, custom code, the --tier filter), and the exact table, CSV
 * and JSON.
 */
#include "helpgate/report.h"

#include "tap.h"

#include <stdlib.h>

static void test_nearest_rank(void)
{
    static const int64_t one_to_ten[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const int64_t twenty[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    static const struct {
        const int64_t *values;
        size_t n;
        unsigned percent;
        int64_t want;
        const char *name;
    } cases[] = {
        {one_to_ten, 10, 50, 5, "n=10 median: rank ceil(5) = 5"},
        {one_to_ten, 10, 90, 9, "n=10 p90: rank ceil(9) = 9, exactly (no 9.000001 -> 10)"},
        {one_to_ten, 10, 100, 10, "n=10 p100 is the largest"},
        {one_to_ten, 10, 1, 1, "n=10 p1: rank ceil(0.1) = 1"},
        {one_to_ten, 1, 50, 1, "n=1 median is the value"},
        {one_to_ten, 1, 90, 1, "n=1 p90 is the value"},
        {one_to_ten, 2, 50, 1, "n=2 median is the lower middle: rank ceil(1) = 1"},
        {one_to_ten, 2, 90, 2, "n=2 p90: rank ceil(1.8) = 2"},
        {one_to_ten, 3, 50, 2, "n=3 median: rank ceil(1.5) = 2"},
        {one_to_ten, 3, 90, 3, "n=3 p90: rank ceil(2.7) = 3"},
        {twenty, 11, 90, 10, "n=11 p90: rank ceil(9.9) = 10"},
        {twenty, 20, 90, 18, "n=20 p90: rank 18"},
        {twenty, 20, 50, 10, "n=20 median: rank 10"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(hg_report_nearest_rank(cases[i].values, cases[i].n, cases[i].percent), cases[i].want,
               cases[i].name);
}

static void test_duration(void)
{
    static const struct {
        int64_t seconds;
        const char *want;
    } cases[] = {
        {0, "0s"},         {59, "59s"},       {60, "1m"},         {3599, "59m"},
        {3600, "1h 00m"},  {3900, "1h 05m"},  {86399, "23h 59m"}, {86400, "1d 0h"},
        {183600, "2d 3h"}, {187199, "2d 3h"}, {-5, "0s"},         {400 * 86400 + 7200, "400d 2h"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[HG_REPORT_DURATION_MAX];
        hg_report_format_duration(cases[i].seconds, got);
        char name[64];
        snprintf(name, sizeof name, "%lld s is %s", (long long)cases[i].seconds, cases[i].want);
        is_str(got, cases[i].want, name);
    }
}

static void test_times(void)
{
    static const struct {
        const char *text;
        int64_t want; /* -1: refused */
    } cases[] = {
        {"2026-11-01", 1793491200},
        {"2026-11-01T09:30", 1793525400},
        {"2026-11-01 09:30:15", 1793525415},
        {"2026-11-01T09:30:15Z", 1793525415},
        {"2026-11-01t09:30:15z", 1793525415},
        {"2026-11-01T09:30:00+01:00", 1793525400 - 3600},
        {"2026-11-01T09:30:00-0530", 1793525400 + 19800},
        {"2024-02-29", 1709164800},
        {"1970-01-01", 0},
        {"9999-12-31T23:59:59Z", 253402300799},
        {"9999-12-31T23:00-01:00", -1},
        {"1970-01-01T00:30+01:00", -1},
        {"2026-02-29", -1},
        {"2026-13-01", -1},
        {"2026-11-31", -1},
        {"2026-11-1", -1},
        {"2026-11-01T24:00", -1},
        {"2026-11-01T09:60", -1},
        {"2026-11-01T09:30:15.5Z", -1},
        {"2026-11-01T09:30+25:00", -1},
        {"2026-11-01Z", -1},
        {"1969-12-31", -1},
        {"yesterday", -1},
        {"", -1},
        {"2026-11-01 ", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = -1;
        int rc = hg_report_parse_time(cases[i].text, &got);
        char name[96];
        snprintf(name, sizeof name, "\"%s\" %s", cases[i].text, cases[i].want < 0 ? "is refused" : "parses");
        if (cases[i].want < 0)
            is_int(rc, -1, name);
        else
            is_int(rc == 0 ? got : -2, cases[i].want, name);
    }
    char out[HG_REPORT_TIME_MAX];
    hg_report_format_time(1793525415, out);
    is_str(out, "2026-11-01T09:30:15Z", "a time back as ISO 8601 UTC");
    hg_report_format_time(1709164800 - 1, out);
    is_str(out, "2024-02-28T23:59:59Z", "the second before a leap day");
    hg_report_format_time(253402300799, out);
    is_str(out, "9999-12-31T23:59:59Z", "the last second of 9999");
}

static void test_formats(void)
{
    enum hg_report_format f = HG_REPORT_TABLE;
    ok(hg_report_format_parse("csv", &f) == 0 && f == HG_REPORT_CSV, "csv is a format");
    ok(hg_report_format_parse("json", &f) == 0 && f == HG_REPORT_JSON, "json is a format");
    ok(hg_report_format_parse("table", &f) == 0 && f == HG_REPORT_TABLE, "table is a format");
    ok(hg_report_format_parse("xml", &f) == -1, "xml is not");
}

/* ---- what counts where ------------------------------------------------------------------------ */

#define F INT64_C(1793491200) /* 2026-11-01 */
#define T INT64_C(1796083200) /* 2026-12-01 */
#define AT(s) ((s)*HG_REPORT_US_PER_S)
#define NONE HG_REPORT_NO_TIME

/*
 * Six tickets (seconds from F):
 *   t1 L1 created F          answered +3900  resolved +7200   closed +10000  SLA, kept
 *   t2 L1 created +86400     answered +87000                                SLA, breached
 *   t3 L1 created F-86400    answered F-80000 resolved F+3600 (never closed)
 *   t4 L2 created T (the end is excluded: counts nowhere)
 *   t5 L2 created +1000      answered +500 (before creation: 0) resolved T-1, closed T+100;
 *      custom code
 *   t6 L3 created +2000      never answered, closed +185600 (never resolved); SLA, breached;
 *      custom code
 * Escalations: from L1 at F+100; from L2 at F+200 (custom code); from nowhere at F+300;
 * from L1 at T and at F-1 (both outside).
 */
static struct hg_report *sample_report(const char *tier)
{
    struct hg_report *r = hg_report_new(F, T, tier);
    const struct hg_report_ticket tickets[] = {
        {"L1", false, AT(F), AT(F + 3900), AT(F + 7200), AT(F + 10000), true, false},
        {"L1", false, AT(F + 86400), AT(F + 87000), NONE, NONE, true, true},
        {"L1", false, AT(F - 86400), AT(F - 80000), AT(F + 3600), NONE, false, false},
        {"L2", false, AT(T), NONE, NONE, NONE, true, true},
        {"L2", true, AT(F + 1000), AT(F + 500), AT(T - 1), AT(T + 100), false, false},
        {"L3", true, AT(F + 2000), NONE, NONE, AT(F + 185600), true, true},
    };
    for (size_t i = 0; i < sizeof(tickets) / sizeof(tickets[0]); i++)
        hg_report_add_ticket(r, &tickets[i]);
    hg_report_add_escalation(r, "L1", false, AT(F + 100));
    hg_report_add_escalation(r, "L2", true, AT(F + 200));
    hg_report_add_escalation(r, NULL, false, AT(F + 300));
    hg_report_add_escalation(r, "L1", false, AT(T));
    hg_report_add_escalation(r, "L1", false, AT(F - 1));
    const struct hg_report_customer customers[] = {
        {"ann@acme.test", "Acme, Inc. \"East\"", "vip", 3},
        {"bob@\nevil.test", NULL, "standard", 1},
    };
    hg_report_add_customer(r, &customers[0]);
    hg_report_add_customer(r, &customers[1]);
    return r;
}

struct want_row {
    enum hg_report_scope scope;
    int64_t incoming, closed, fr_count, fr_median, fr_p90, res_count, res_median, res_p90, escalations, sla,
        breached;
};

static void check_row(struct hg_report *r, const struct want_row *w)
{
    const struct hg_report_row *x = hg_report_row(r, w->scope);
    const char *name = hg_report_scope_name(w->scope);
    if (!ok(x != NULL, "%s: the row is there", name))
        return;
    const int64_t got[] = {
        x->incoming,           x->closed,           x->first_response.count, x->first_response.median,
        x->first_response.p90, x->resolution.count, x->resolution.median,    x->resolution.p90,
        x->escalations,        x->sla_tickets,      x->sla_breached};
    const int64_t want[] = {w->incoming,   w->closed,  w->fr_count,    w->fr_median, w->fr_p90,  w->res_count,
                            w->res_median, w->res_p90, w->escalations, w->sla,       w->breached};
    static const char *const what[] = {"incoming",    "closed",      "ttfr count",  "ttfr median",
                                       "ttfr p90",    "ttr count",   "ttr median",  "ttr p90",
                                       "escalations", "sla tickets", "sla breached"};
    bool same = true;
    for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++)
        if (got[i] != want[i]) {
            printf("#   %s %s: got %lld, want %lld\n", name, what[i], (long long)got[i], (long long)want[i]);
            same = false;
        }
    ok(same, "%s: every figure as computed by hand", name);
}

static void test_counting(void)
{
    struct hg_report *r = sample_report(NULL);
    /*
     * L1: incoming t1 t2 = 2; closed t1 (closed_at) + t3 (resolved_at, never closed) = 2;
     *     TTFR {3900, 600} -> sorted 600 3900: median rank 1 = 600, p90 rank 2 = 3900;
     *     TTR t1 7200, t3 86400+3600 = 90000: median 7200, p90 90000; SLA 1 of 2.
     * L2: incoming t5 = 1 (t4 is at the end: out); closed 0 (t5 closed after the end);
     *     TTFR {0}; TTR t5 (T-1)-(F+1000) = 2592000-1001 = 2590999.
     * L3: incoming 1, closed 1, no answer, TTR 185600-2000 = 183600 by closed_at; SLA 1 of 1.
     * all: incoming 4, closed 3, TTFR {0, 600, 3900}: median rank 2 = 600, p90 rank 3 = 3900;
     *      TTR {7200, 90000, 183600, 2590999}: median rank 2 = 90000, p90 rank 4 = 2590999;
     *      escalations 3 (L1, L2, unknown); SLA 2 of 3.
     * custom code (t5, t6): incoming 2, closed 1, TTFR {0}, TTR {183600, 2590999}: median 183600,
     *      p90 2590999; escalations 1; SLA 1 of 1.
     */
    const struct want_row want[] = {
        {HG_REPORT_L1, 2, 2, 2, 600, 3900, 2, 7200, 90000, 1, 2, 1},
        {HG_REPORT_L2, 1, 0, 1, 0, 0, 1, 2590999, 2590999, 1, 0, 0},
        {HG_REPORT_L3, 1, 1, 0, 0, 0, 1, 183600, 183600, 0, 1, 1},
        {HG_REPORT_ALL, 4, 3, 3, 600, 3900, 4, 90000, 2590999, 3, 3, 2},
        {HG_REPORT_CUSTOM_CODE, 2, 1, 1, 0, 0, 2, 183600, 2590999, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        check_row(r, &want[i]);
    is_int((long long)hg_report_customer_count(r), 2, "two customers kept");
    is_str(hg_report_customer(r, 0)->company, "Acme, Inc. \"East\"", "the company is copied");
    ok(hg_report_customer(r, 2) == NULL, "no third customer");
    hg_report_free(&r);
    ok(r == NULL, "hg_report_free sets the pointer to NULL");

    r = sample_report("L1");
    ok(hg_report_row(r, HG_REPORT_L2) == NULL && hg_report_row(r, HG_REPORT_L3) == NULL &&
           hg_report_row(r, HG_REPORT_ALL) == NULL,
       "--tier L1 leaves out L2, L3 and all");
    const struct want_row filtered[] = {
        {HG_REPORT_L1, 2, 2, 2, 600, 3900, 2, 7200, 90000, 1, 2, 1},
        /* t5 and t6 are not L1; the L2 escalation is not from L1 */
        {HG_REPORT_CUSTOM_CODE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(filtered) / sizeof(filtered[0]); i++)
        check_row(r, &filtered[i]);
    hg_report_free(&r);

    r = hg_report_new(F, T, NULL);
    for (int i = 0; i < HG_REPORT_TOP_CUSTOMERS + 2; i++)
        hg_report_add_customer(r, &(struct hg_report_customer){"c@x.test", NULL, "standard", 1});
    is_int((long long)hg_report_customer_count(r), HG_REPORT_TOP_CUSTOMERS, "at most ten customers");
    hg_report_free(&r);
}

/* ---- the outputs ----------------------------------------------------------------------------- */

static char *render(struct hg_report *r, enum hg_report_format format)
{
    struct hg_buf out;
    hg_buf_init(&out, 1 << 20);
    if (hg_report_write(r, format, &out) != 0)
        printf("# the writer failed\n");
    return hg_buf_steal(&out);
}

static void test_table(void)
{
    struct hg_report *r = sample_report(NULL);
    char *got = render(r, HG_REPORT_TABLE);
    is_str(got,
           "Support report 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z (end excluded)\n"
           "\n"
           "TIER         INCOMING  CLOSED  ANSWERED  TTFR MEDIAN  TTFR P90  RESOLVED  TTR MEDIAN  TTR P90  "
           "ESCALATED  SLA BREACHED\n"
           "L1                  2       2         2          10m    1h 05m         2      2h 00m    1d 1h  "
           "        1   50.0% (1/2)\n"
           "L2                  1       0         1           0s        0s         1     29d 23h  29d 23h  "
           "        1             -\n"
           "L3                  1       1         0            -         -         1       2d 3h    2d 3h  "
           "        0  100.0% (1/1)\n"
           "all                 4       3         3          10m    1h 05m         4       1d 1h  29d 23h  "
           "        3   66.7% (2/3)\n"
           "custom code         2       1         1           0s        0s         2       2d 3h  29d 23h  "
           "        1  100.0% (1/1)\n"
           "\n"
           "ANSWERED: tickets created in the period that have a first response; TTFR: time to it.\n"
           "RESOLVED: tickets resolved (else closed) in the period; TTR: time from creation to it.\n"
           "Wall-clock time; median and p90 by nearest rank; tiers are the tickets' current tiers.\n"
           "SLA BREACHED: of the tickets created in the period with an SLA due time, those breached.\n"
           "\n"
           "Top customers by tickets created\n"
           "TICKETS  CUSTOMER        COMPANY            TIER\n"
           "      3  ann@acme.test   Acme, Inc. \"East\"  vip\n"
           "      1  bob@?evil.test  -                  standard\n",
           "the table: aligned, durations for people, a control character shown as ?");
    free(got);
    hg_report_free(&r);

    r = hg_report_new(F, T, "L2");
    got = render(r, HG_REPORT_TABLE);
    is_str(got,
           "Support report 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z (end excluded), tier L2\n"
           "\n"
           "TIER         INCOMING  CLOSED  ANSWERED  TTFR MEDIAN  TTFR P90  RESOLVED  TTR MEDIAN  TTR P90  "
           "ESCALATED  SLA BREACHED\n"
           "L2                  0       0         0            -         -         0           -        -  "
           "        0             -\n"
           "custom code         0       0         0            -         -         0           -        -  "
           "        0             -\n"
           "\n"
           "ANSWERED: tickets created in the period that have a first response; TTFR: time to it.\n"
           "RESOLVED: tickets resolved (else closed) in the period; TTR: time from creation to it.\n"
           "Wall-clock time; median and p90 by nearest rank; tiers are the tickets' current tiers.\n"
           "SLA BREACHED: of the tickets created in the period with an SLA due time, those breached.\n"
           "\n"
           "Top customers: no tickets from known customers in the period\n",
           "an empty period with --tier L2: dashes, no customers");
    free(got);
    hg_report_free(&r);
}

static void test_csv(void)
{
    struct hg_report *r = sample_report(NULL);
    char *got = render(r, HG_REPORT_CSV);
#define P "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,"
    is_str(got,
           "from,to,kind,name,company,customer_tier,incoming,closed,ttfr_count,ttfr_median_s,ttfr_p90_s,"
           "ttr_count,ttr_median_s,ttr_p90_s,escalations,sla_tickets,sla_breached,sla_breach_rate\r\n" P
           "tier,L1,,,2,2,2,600,3900,2,7200,90000,1,2,1,0.5000\r\n" P
           "tier,L2,,,1,0,1,0,0,1,2590999,2590999,1,0,0,\r\n" P
           "tier,L3,,,1,1,0,,,1,183600,183600,0,1,1,1.0000\r\n" P
           "tier,all,,,4,3,3,600,3900,4,90000,2590999,3,3,2,0.6667\r\n" P
           "custom_code,custom_code,,,2,1,1,0,0,2,183600,2590999,1,1,1,1.0000\r\n" P
           "customer,ann@acme.test,\"Acme, Inc. \"\"East\"\"\",vip,3,,,,,,,,,,,\r\n" P
           "customer,\"bob@\nevil.test\",,standard,1,,,,,,,,,,,\r\n",
           "CSV: one header, CRLF, seconds, empty where no data, quoted where needed");
#undef P
    free(got);
    hg_report_free(&r);
}

static void test_json(void)
{
    struct hg_report *r = sample_report(NULL);
    char *got = render(r, HG_REPORT_JSON);
    is_str(
        got,
        "{\n"
        "  \"from\": \"2026-11-01T00:00:00Z\",\n"
        "  \"to\": \"2026-12-01T00:00:00Z\",\n"
        "  \"tier\": null,\n"
        "  \"rows\": {\n"
        "    \"L1\": {\"incoming\": 2, \"closed\": 2, \"first_response\": {\"count\": 2, \"median_s\": 600, "
        "\"p90_s\": 3900}, \"resolution\": {\"count\": 2, \"median_s\": 7200, \"p90_s\": 90000}, "
        "\"escalations\": 1, \"sla\": {\"tickets\": 2, \"breached\": 1, \"breach_rate\": 0.5000}},\n"
        "    \"L2\": {\"incoming\": 1, \"closed\": 0, \"first_response\": {\"count\": 1, \"median_s\": 0, "
        "\"p90_s\": 0}, \"resolution\": {\"count\": 1, \"median_s\": 2590999, \"p90_s\": 2590999}, "
        "\"escalations\": 1, \"sla\": {\"tickets\": 0, \"breached\": 0, \"breach_rate\": null}},\n"
        "    \"L3\": {\"incoming\": 1, \"closed\": 1, \"first_response\": {\"count\": 0, \"median_s\": null, "
        "\"p90_s\": null}, \"resolution\": {\"count\": 1, \"median_s\": 183600, \"p90_s\": 183600}, "
        "\"escalations\": 0, \"sla\": {\"tickets\": 1, \"breached\": 1, \"breach_rate\": 1.0000}},\n"
        "    \"all\": {\"incoming\": 4, \"closed\": 3, \"first_response\": {\"count\": 3, \"median_s\": 600, "
        "\"p90_s\": 3900}, \"resolution\": {\"count\": 4, \"median_s\": 90000, \"p90_s\": 2590999}, "
        "\"escalations\": 3, \"sla\": {\"tickets\": 3, \"breached\": 2, \"breach_rate\": 0.6667}},\n"
        "    \"custom_code\": {\"incoming\": 2, \"closed\": 1, \"first_response\": {\"count\": 1, "
        "\"median_s\": 0, \"p90_s\": 0}, \"resolution\": {\"count\": 2, \"median_s\": 183600, \"p90_s\": "
        "2590999}, \"escalations\": 1, \"sla\": {\"tickets\": 1, \"breached\": 1, \"breach_rate\": 1.0000}}\n"
        "  },\n"
        "  \"top_customers\": [\n"
        "    {\"email\": \"ann@acme.test\", \"company\": \"Acme, Inc. \\\"East\\\"\", \"tier\": \"vip\", "
        "\"tickets\": 3},\n"
        "    {\"email\": \"bob@\\nevil.test\", \"company\": null, \"tier\": \"standard\", \"tickets\": 1}\n"
        "  ]\n"
        "}\n",
        "JSON: seconds, nulls where no data, strings escaped");
    free(got);
    hg_report_free(&r);

    r = hg_report_new(F, T, "L3");
    got = render(r, HG_REPORT_JSON);
    ok(strstr(got, "\"tier\": \"L3\",\n") != NULL && strstr(got, "\"top_customers\": []\n}\n") != NULL &&
           strstr(got, "\"all\"") == NULL,
       "JSON with --tier L3: the filter named, no \"all\", an empty customer list");
    free(got);
    hg_report_free(&r);
}

static void test_limit(void)
{
    struct hg_report *r = sample_report(NULL);
    for (int f = HG_REPORT_TABLE; f <= HG_REPORT_JSON; f++) {
        struct hg_buf out;
        hg_buf_init(&out, 100);
        ok(hg_report_write(r, (enum hg_report_format)f, &out) == -1 && out.len <= 100,
           "format %d: -1 when the output passes the buffer's maximum", f);
        hg_buf_free(&out);
    }
    hg_report_free(&r);
}

int main(void)
{
    test_nearest_rank();
    test_duration();
    test_times();
    test_formats();
    test_counting();
    test_table();
    test_csv();
    test_json();
    test_limit();
    return tap_done();
}
