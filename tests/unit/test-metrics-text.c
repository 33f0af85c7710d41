/*
 * test-metrics-text.c — the Prometheus text format writer: exact output for
 * counters, gauges and histograms (labels escaped, buckets cumulative, +Inf,
 * _sum and _count, numbers in their shortest form), every refusal leaving the
 * output as it was, and the verdict of a format checker on a whole scrape
 * (promtool when installed, else tests/harness/promcheck.py).
 */
#include "helpgate/metrics_text.h"

#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define L(n, v)                                                                                              \
    {                                                                                                        \
        n, v                                                                                                 \
    }

/* A whole scrape with one family of each kind (the last with UP_HELP); what promtool also checks. */
static int write_sample(struct hg_buf *out, const char *up_help, char **error_r)
{
    struct hg_metrics_text *w = hg_metrics_text_new(out);
    const struct hg_metrics_label box[] = {L("mailbox", "support")};
    const struct hg_metrics_label odd[] = {L("mailbox", "we\"ird\\box\nname")};
    const struct hg_metrics_label tier[] = {L("tier", "L1"), L("channel", "email")};
    static const double bounds[] = {0.005, 0.1, 1, 2.5};
    static const uint64_t counts[] = {1, 2, 0, 3, 4};
    const struct hg_metrics_histogram h = {bounds, 4, counts, 37.5};
    int rc = 0;
    if (rc == 0)
        rc = hg_metrics_text_family(w, "helpgate_mail_received_total", HG_METRICS_COUNTER,
                                    "Messages fetched from IMAP, per mailbox.", error_r);
    if (rc == 0)
        rc = hg_metrics_text_counter(w, box, 1, 42, error_r);
    if (rc == 0)
        rc = hg_metrics_text_counter(w, odd, 1, 0, error_r);
    if (rc == 0)
        rc = hg_metrics_text_family(
            w, "helpgate_open_tickets", HG_METRICS_GAUGE,
            "Tickets not yet closed.\nBy tier and channel; \"open\" means new, open or pending.", error_r);
    if (rc == 0)
        rc = hg_metrics_text_gauge(w, tier, 2, 17, error_r);
    if (rc == 0)
        rc = hg_metrics_text_family(w, "helpgate_intake_seconds", HG_METRICS_HISTOGRAM,
                                    "Time from fetch to ticket, in seconds.", error_r);
    if (rc == 0)
        rc = hg_metrics_text_histogram(w, tier, 1, &h, error_r);
    if (rc == 0)
        rc = hg_metrics_text_family(w, "helpgate_up", HG_METRICS_GAUGE, up_help, error_r);
    if (rc == 0)
        rc = hg_metrics_text_gauge(w, NULL, 0, 1, error_r);
    hg_metrics_text_free(&w);
    return rc;
}

static const char sample_want[] =
    "# HELP helpgate_mail_received_total Messages fetched from IMAP, per mailbox.\n"
    "# TYPE helpgate_mail_received_total counter\n"
    "helpgate_mail_received_total{mailbox=\"support\"} 42\n"
    "helpgate_mail_received_total{mailbox=\"we\\\"ird\\\\box\\nname\"} 0\n"
    "# HELP helpgate_open_tickets Tickets not yet closed.\\nBy tier and channel; \"open\" means new, open or "
    "pending.\n"
    "# TYPE helpgate_open_tickets gauge\n"
    "helpgate_open_tickets{tier=\"L1\",channel=\"email\"} 17\n"
    "# HELP helpgate_intake_seconds Time from fetch to ticket, in seconds.\n"
    "# TYPE helpgate_intake_seconds histogram\n"
    "helpgate_intake_seconds_bucket{tier=\"L1\",le=\"0.005\"} 1\n"
    "helpgate_intake_seconds_bucket{tier=\"L1\",le=\"0.1\"} 3\n"
    "helpgate_intake_seconds_bucket{tier=\"L1\",le=\"1\"} 3\n"
    "helpgate_intake_seconds_bucket{tier=\"L1\",le=\"2.5\"} 6\n"
    "helpgate_intake_seconds_bucket{tier=\"L1\",le=\"+Inf\"} 10\n"
    "helpgate_intake_seconds_sum{tier=\"L1\"} 37.5\n"
    "helpgate_intake_seconds_count{tier=\"L1\"} 10\n"
    "# TYPE helpgate_up gauge\n"
    "helpgate_up 1\n";

static void test_sample(void)
{
    struct hg_buf out;
    hg_buf_init(&out, 1 << 16);
    char *error = NULL;
    is_int(write_sample(&out, NULL, &error), 0,
           "a scrape with a counter, a gauge and a histogram is written");
    if (error != NULL)
        printf("#   error: %s\n", error);
    free(error);
    is_str(hg_buf_str(&out), sample_want,
           "exact text: no HELP line without help, HELP escaped (\\\\, \\n), label values escaped (\\\\, "
           "\\\", \\n), buckets cumulative");
    hg_buf_free(&out);
}

static void test_numbers(void)
{
    static const struct {
        double value;
        const char *want;
    } cases[] = {
        {0, "g 0"},
        {3, "g 3"},
        {-2.5, "g -2.5"},
        {0.1, "g 0.1"},
        {1.0 / 3, "g 0.3333333333333333"},
        {1e21, "g 1e+21"},
        {123456789012345678.0, "g 1.2345678901234568e+17"},
        {5e-324, "g 5e-324"},
        {123456, "g 123456"},
        {1234567, "g 1.234567e+06"},
        {0.0001, "g 0.0001"},
        {0.00001234, "g 1.234e-05"},
        {-0.0, "g -0"},
        {NAN, "g NaN"},
        {INFINITY, "g +Inf"},
        {-INFINITY, "g -Inf"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hg_buf out;
        hg_buf_init(&out, 1024);
        struct hg_metrics_text *w = hg_metrics_text_new(&out);
        hg_metrics_text_family(w, "g", HG_METRICS_GAUGE, NULL, NULL);
        hg_buf_reset(&out);
        hg_metrics_text_gauge(w, NULL, 0, cases[i].value, NULL);
        char want[64], name[80];
        snprintf(want, sizeof want, "%s\n", cases[i].want);
        snprintf(name, sizeof name, "gauge written as \"%s\"", cases[i].want + 2);
        is_str(hg_buf_str(&out), want, name);
        hg_metrics_text_free(&w);
        hg_buf_free(&out);
    }

    struct hg_buf out;
    hg_buf_init(&out, 1024);
    struct hg_metrics_text *w = hg_metrics_text_new(&out);
    hg_metrics_text_family(w, "c_total", HG_METRICS_COUNTER, NULL, NULL);
    hg_metrics_text_counter(w, NULL, 0, UINT64_MAX, NULL);
    const struct hg_metrics_label empty[] = {L("a", NULL), L("b", "")};
    hg_metrics_text_counter(w, empty, 2, 1, NULL);
    is_str(hg_buf_str(&out),
           "# TYPE c_total counter\n"
           "c_total 18446744073709551615\n"
           "c_total{a=\"\",b=\"\"} 1\n",
           "counters are exact 64-bit integers; a NULL label value is \"\"");
    hg_metrics_text_free(&w);
    hg_buf_free(&out);
}

static void test_histogram_shapes(void)
{
    struct hg_buf out;
    hg_buf_init(&out, 4096);
    struct hg_metrics_text *w = hg_metrics_text_new(&out);
    static const uint64_t only[] = {7};
    static const double bounds[] = {1e-3, 60, 1e6};
    static const uint64_t counts[] = {0, 0, 0, 0};
    hg_metrics_text_family(w, "h", HG_METRICS_HISTOGRAM, "x", NULL);
    is_int(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){NULL, 0, only, 0.25}, NULL),
           0, "a histogram with no bounds");
    const struct hg_metrics_label op[] = {L("op", "fetch")};
    is_int(hg_metrics_text_histogram(w, op, 1, &(struct hg_metrics_histogram){bounds, 3, counts, 0}, NULL), 0,
           "an empty histogram with labels");
    is_str(hg_buf_str(&out),
           "# HELP h x\n"
           "# TYPE h histogram\n"
           "h_bucket{le=\"+Inf\"} 7\n"
           "h_sum 0.25\n"
           "h_count 7\n"
           "h_bucket{op=\"fetch\",le=\"0.001\"} 0\n"
           "h_bucket{op=\"fetch\",le=\"60\"} 0\n"
           "h_bucket{op=\"fetch\",le=\"1e+06\"} 0\n"
           "h_bucket{op=\"fetch\",le=\"+Inf\"} 0\n"
           "h_sum{op=\"fetch\"} 0\n"
           "h_count{op=\"fetch\"} 0\n",
           "only +Inf without bounds; zeros; le in shortest form");
    hg_metrics_text_free(&w);
    hg_buf_free(&out);

    static const double b[] = {1, 2, 5};
    static const struct {
        double value;
        size_t want;
    } cases[] = {{0.5, 0}, {1, 0}, {1.5, 1}, {2, 1}, {5, 2}, {6, 3}, {-INFINITY, 0}, {INFINITY, 3}, {NAN, 3}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[64];
        snprintf(name, sizeof name, "%g falls in bucket %zu of le 1, 2, 5, +Inf", cases[i].value,
                 cases[i].want);
        is_int((long long)hg_metrics_bucket_index(b, 3, cases[i].value), (long long)cases[i].want, name);
    }
    is_int((long long)hg_metrics_bucket_index(NULL, 0, 3), 0, "no bounds: always the +Inf bucket");
}

static void test_names(void)
{
    static const char *const good[] = {"a", "_x", "a:b", "A9_z", "helpgate_up", ":x"};
    static const char *const bad[] = {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a{b}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ok(hg_metrics_valid_metric_name(good[i]), "metric name \"%s\" is valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(!hg_metrics_valid_metric_name(bad[i]), "metric name \"%s\" is refused", bad[i]);
    ok(!hg_metrics_valid_metric_name(NULL), "a NULL metric name is refused");
    ok(hg_metrics_valid_label_name("mailbox") && hg_metrics_valid_label_name("_a") &&
           hg_metrics_valid_label_name("le"),
       "label names mailbox, _a, le are valid");
    ok(!hg_metrics_valid_label_name("__name__") && !hg_metrics_valid_label_name("a:b") &&
           !hg_metrics_valid_label_name("1a") && !hg_metrics_valid_label_name(""),
       "label names __name__, a:b, 1a and \"\" are refused");
}

/* Each refusal: -1, a message containing WANT, and the output untouched. */
static void test_refusals(void)
{
    struct hg_buf out;
    hg_buf_init(&out, 4096);
    struct hg_metrics_text *w = hg_metrics_text_new(&out);
    static const double up[] = {1, 2}, down[] = {2, 1}, flat[] = {1, 1}, inf[] = {1, INFINITY}, nan[] = {NAN};
    static const uint64_t counts[] = {1, 1, 1}, huge[] = {UINT64_MAX, 1, 0};
    const struct hg_metrics_label le[] = {L("le", "1")}, twice[] = {L("a", "1"), L("a", "2")},
                                  reserved[] = {L("__x", "1")}, bad_utf8[] = {L("a", "\xff")},
                                  overlong[] = {L("a", "\xc0\xaf")}, surrogate[] = {L("a", "\xed\xa0\x80")},
                                  bad_name[] = {L("a-b", "1")},
                                  fine[] = {L("a", "caf\xc3\xa9 \xf0\x9f\x93\xa7")};
    char *error = NULL;
    struct {
        int rc;
        const char *want;
    } got[24];
    int n = 0;
#define TRY(call)                                                                                            \
    do {                                                                                                     \
        error = NULL;                                                                                        \
        got[n].rc = (call);                                                                                  \
        got[n].want = error;                                                                                 \
        n++;                                                                                                 \
    } while (0)
    TRY(hg_metrics_text_counter(w, NULL, 0, 1, &error));                     /* 0: no family yet */
    TRY(hg_metrics_text_family(w, "1x", HG_METRICS_COUNTER, NULL, &error));  /* 1 */
    TRY(hg_metrics_text_family(w, "h", HG_METRICS_HISTOGRAM, "ok", &error)); /* 2: fine */
    size_t len = out.len;
    TRY(hg_metrics_text_counter(w, NULL, 0, 1, &error)); /* 3 */
    TRY(hg_metrics_text_histogram(w, le, 1, &(struct hg_metrics_histogram){up, 2, counts, 0},
                                  &error)); /* 4 */
    TRY(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){down, 2, counts, 0}, &error));
    TRY(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){flat, 2, counts, 0}, &error));
    TRY(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){inf, 2, counts, 0}, &error));
    TRY(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){nan, 1, counts, 0}, &error));
    TRY(hg_metrics_text_histogram(w, NULL, 0, &(struct hg_metrics_histogram){up, 2, huge, 0},
                                  &error));                                      /* 9 */
    TRY(hg_metrics_text_family(w, "h", HG_METRICS_GAUGE, NULL, &error));         /* 10 */
    TRY(hg_metrics_text_family(w, "h_count", HG_METRICS_COUNTER, NULL, &error)); /* 11 */
    TRY(hg_metrics_text_family(w, "g_sum", HG_METRICS_GAUGE, NULL, &error));     /* 12: fine */
    TRY(hg_metrics_text_family(w, "g", HG_METRICS_HISTOGRAM, NULL, &error));     /* 13 */
    len = out.len;
    TRY(hg_metrics_text_gauge(w, twice, 2, 1, &error));                    /* 14 */
    TRY(hg_metrics_text_gauge(w, reserved, 1, 1, &error));                 /* 15 */
    TRY(hg_metrics_text_gauge(w, bad_utf8, 1, 1, &error));                 /* 16 */
    TRY(hg_metrics_text_gauge(w, overlong, 1, 1, &error));                 /* 17 */
    TRY(hg_metrics_text_gauge(w, surrogate, 1, 1, &error));                /* 18 */
    TRY(hg_metrics_text_gauge(w, bad_name, 1, 1, &error));                 /* 19 */
    TRY(hg_metrics_text_family(w, "x", HG_METRICS_GAUGE, "\xff", &error)); /* 20 */
#undef TRY
    is_int(out.len, len, "the refused samples wrote nothing");
    static const struct {
        int rc;
        const char *want;
        const char *what;
    } want[] = {
        {-1, "before any family", "a sample before any family"},
        {-1, "metric name \"1x\" is not valid", "a name starting with a digit"},
        {0, NULL, "a histogram family"},
        {-1, "metric h is a histogram, not a counter", "a counter sample in a histogram family"},
        {-1, "\"le\" is the histogram's own label", "le as a histogram's label"},
        {-1, "bounds must increase (bound 1 is not above bound 0)", "decreasing bounds"},
        {-1, "bounds must increase", "equal bounds"},
        {-1, "bound 1 is not finite (the +Inf bucket is added)", "+Inf as a bound"},
        {-1, "bound 0 is not finite", "NaN as a bound"},
        {-1, "add up past 2^64", "counts that overflow"},
        {-1, "clashes with the histogram h", "the same family twice"},
        {-1, "metric h_count: clashes with the histogram h", "a family named like a histogram's _count"},
        {0, NULL, "a gauge g_sum"},
        {-1, "metric g: clashes with the gauge g_sum", "a histogram whose _sum is taken"},
        {-1, "label a given twice", "a label twice"},
        {-1, "label name \"__x\" is not valid", "a reserved label name"},
        {-1, "the value of label a is not UTF-8", "a label value that is not UTF-8"},
        {-1, "not UTF-8", "an overlong UTF-8 form"},
        {-1, "not UTF-8", "a UTF-16 surrogate"},
        {-1, "label name \"a-b\" is not valid", "a label name with a dash"},
        {-1, "the help text is not UTF-8", "help text that is not UTF-8"},
    };
    for (int i = 0; i < n; i++) {
        bool same = got[i].rc == want[i].rc &&
                    (want[i].want == NULL ? got[i].want == NULL
                                          : got[i].want != NULL && strstr(got[i].want, want[i].want) != NULL);
        ok(same, "%s: %s", want[i].what, want[i].rc == 0 ? "accepted" : "refused with a reason");
        if (!same)
            printf("#   rc %d, error: %s\n", got[i].rc, got[i].want != NULL ? got[i].want : "(none)");
        free((char *)got[i].want);
    }
    ok(hg_metrics_text_gauge(w, fine, 1, 1, NULL) == 0 &&
           strcmp(out.data + len, "g_sum{a=\"caf\xc3\xa9 \xf0\x9f\x93\xa7\"} 1\n") == 0,
       "the refused g did not become current: a gauge sample still goes to g_sum (UTF-8 kept)");
    hg_metrics_text_free(&w);
    ok(w == NULL, "hg_metrics_text_free sets the pointer to NULL");
    hg_buf_free(&out);

    /* the limit: a sample that does not fit leaves the output as it was */
    hg_buf_init(&out, 60);
    w = hg_metrics_text_new(&out);
    ok(hg_metrics_text_family(w, "g", HG_METRICS_GAUGE, "fits", NULL) == 0, "a family that fits");
    size_t before = out.len;
    error = NULL;
    const struct hg_metrics_label longer[] = {
        L("a", "a value much too long for the sixty bytes of this buffer")};
    ok(hg_metrics_text_gauge(w, longer, 1, 1, &error) == -1 && out.len == before &&
           strcmp(hg_buf_str(&out), "# HELP g fits\n# TYPE g gauge\n") == 0,
       "past the limit: -1 and the output unchanged");
    ok(error != NULL && strstr(error, "limit of 60 bytes") != NULL, "saying which limit");
    free(error);
    hg_metrics_text_free(&w);
    hg_buf_free(&out);
}

/* The whole scrape through a checker of the format: promtool when installed, else the suite's own
 * tests/harness/promcheck.py (strict enough for this: families, names, escapes, histograms). */
static void test_checker(void)
{
    bool promtool = system("command -v promtool >/dev/null 2>&1") == 0;
    const char *top = getenv("top_srcdir");
    char checker[512];
    if (promtool)
        snprintf(checker, sizeof checker, "promtool check metrics");
    else
        snprintf(checker, sizeof checker, "python3 %s/tests/harness/promcheck.py",
                 top != NULL ? top : "../..");
    struct hg_buf out;
    hg_buf_init(&out, 1 << 16);
    write_sample(&out, "1 while helpgated runs.", NULL);
    char path[] = "/tmp/test-metrics-text.XXXXXX";
    int fd = mkstemp(path);
    bool written = fd >= 0 && write(fd, out.data, out.len) == (ssize_t)out.len;
    if (fd >= 0)
        close(fd);
    char command[768];
    snprintf(command, sizeof command, "%s < %s > %s.out 2>&1", checker, path, path);
    ok(written && system(command) == 0, "%s accepts the scrape",
       promtool ? "promtool check metrics" : "promcheck.py");
    snprintf(command, sizeof command, "sed 's/^/#   /' %s.out; rm -f %s.out", path, path);
    if (system(command) != 0)
        printf("#   (the checker's output could not be shown)\n");
    unlink(path);
    hg_buf_free(&out);
}

int main(void)
{
    test_sample();
    test_numbers();
    test_histogram_shapes();
    test_names();
    test_refusals();
    test_checker();
    return tap_done();
}
