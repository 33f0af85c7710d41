/*
 * metrics_text.c — the Prometheus text exposition format (see metrics_text.h).
 */
#include "helpgate/metrics_text.h"

#include "helpgate/alloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
    char *name;
    enum hg_metrics_type type;
};

struct hg_metrics_text {
    struct hg_buf *out;
    struct family *families; /* every family declared; the last is the current one */
    size_t n_families, cap_families;
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};
static const char *const histogram_suffixes[] = {"_bucket", "_sum", "_count"};

struct hg_metrics_text *hg_metrics_text_new(struct hg_buf *out)
{
    struct hg_metrics_text *w = hg_xcalloc(1, sizeof(*w));
    w->out = out;
    return w;
}

void hg_metrics_text_free(struct hg_metrics_text **writer)
{
    struct hg_metrics_text *w = *writer;
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n_families; i++)
        free(w->families[i].name);
    free(w->families);
    free(w);
    *writer = NULL;
}

/* Takes back what a failed call appended (hg_buf has no call for it). */
static void truncate_to(struct hg_buf *b, size_t len)
{
    b->len = len;
    if (b->data != NULL)
        b->data[len] = '\0';
}

__attribute__((format(printf, 2, 3))) static int fail(char **error_r, const char *fmt, ...)
{
    if (error_r != NULL) {
        va_list ap;
        va_start(ap, fmt);
        *error_r = hg_xvasprintf(fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- names and values ---------------------------------------------------------------------- */

static bool name_chars(const char *s, bool colon)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              (colon && c == ':')))
            return false;
    }
    return true;
}

bool hg_metrics_valid_metric_name(const char *name)
{
    return name_chars(name, true);
}

bool hg_metrics_valid_label_name(const char *name)
{
    return name_chars(name, false) && strncmp(name, "__", 2) != 0;
}

/* Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static bool valid_utf8(const unsigned char *s)
{
    while (*s != '\0') {
        unsigned char c = *s++;
        int more;
        unsigned long cp;
        if (c < 0x80)
            continue;
        else if (c >= 0xc2 && c <= 0xdf)
            more = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3, cp = c & 0x07;
        else
            return false;
        for (int i = 0; i < more; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (*s & 0x3f);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
    }
    return true;
}

/*
 * V as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, which is what
 * Prometheus' own clients write: the fewest digits that read back as V, in
 * exponent form when the exponent is below -4 or at least 6 ("1e+06",
 * "60", "0.001"); NaN, +Inf, -Inf.
 */
static void format_double(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        strcpy(out, signbit(v) ? "-0" : "0");
        return;
    }
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(out, 32, "%.*e", digits - 1, v);
        if (strtod(out, NULL) == v)
            break;
    }
    snprintf(out, 32, "%.*e", digits - 1, v);
    int exponent = atoi(strchr(out, 'e') + 1);
    if (exponent >= -4 && exponent < 6)
        snprintf(out, 32, "%.*f", digits - 1 - exponent > 0 ? digits - 1 - exponent : 0, v);
}

/* Text with \\ and \n escaped, and \" too when QUOTE (label values; help text keeps its quotes). */
static int append_escaped(struct hg_buf *out, const char *s, bool quote)
{
    int rc = 0;
    for (; *s != '\0' && rc == 0; s++) {
        if (*s == '\\')
            rc = hg_buf_append_str(out, "\\\\");
        else if (*s == '\n')
            rc = hg_buf_append_str(out, "\\n");
        else if (*s == '"' && quote)
            rc = hg_buf_append_str(out, "\\\"");
        else
            rc = hg_buf_append_char(out, *s);
    }
    return rc;
}

/* ---- families ------------------------------------------------------------------------------ */

/* True when a series of family A (of type TA) would bear the name B. */
static bool clashes(const char *a, enum hg_metrics_type ta, const char *b)
{
    if (strcmp(a, b) == 0)
        return true;
    size_t len = strlen(a);
    if (ta != HG_METRICS_HISTOGRAM || strncmp(a, b, len) != 0)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(b + len, histogram_suffixes[i]) == 0)
            return true;
    return false;
}

int hg_metrics_text_family(struct hg_metrics_text *w, const char *name, enum hg_metrics_type type,
                           const char *help, char **error_r)
{
    if (!hg_metrics_valid_metric_name(name))
        return fail(error_r,
                    "metric name \"%s\" is not valid: letters, digits, _ and :, not starting with a digit",
                    name != NULL ? name : "");
    if ((unsigned)type > HG_METRICS_HISTOGRAM)
        return fail(error_r, "metric %s: unknown type %d", name, (int)type);
    for (size_t i = 0; i < w->n_families; i++) {
        const struct family *f = &w->families[i];
        if (clashes(f->name, f->type, name) || clashes(name, type, f->name))
            return fail(error_r, "metric %s: clashes with the %s %s written before (each family once)", name,
                        type_names[f->type], f->name);
    }
    if (help != NULL && !valid_utf8((const unsigned char *)help))
        return fail(error_r, "metric %s: the help text is not UTF-8", name);

    size_t saved = w->out->len;
    int rc = 0;
    if (help != NULL) {
        rc = hg_buf_printf(w->out, "# HELP %s ", name);
        if (rc == 0)
            rc = append_escaped(w->out, help, false);
        if (rc == 0)
            rc = hg_buf_append_char(w->out, '\n');
    }
    if (rc == 0)
        rc = hg_buf_printf(w->out, "# TYPE %s %s\n", name, type_names[type]);
    if (rc != 0) {
        truncate_to(w->out, saved);
        return fail(error_r, "metric %s: the output would pass its limit of %zu bytes", name, w->out->max);
    }
    if (w->n_families == w->cap_families) {
        w->cap_families = w->cap_families ? w->cap_families * 2 : 16;
        w->families = hg_xrealloc(w->families, w->cap_families * sizeof(*w->families));
    }
    w->families[w->n_families++] = (struct family){hg_xstrdup(name), type};
    return 0;
}

/* ---- samples ------------------------------------------------------------------------------- */

/* The current family when it is of TYPE; NULL after setting the error. */
static const struct family *current(struct hg_metrics_text *w, enum hg_metrics_type type, char **error_r)
{
    if (w->n_families == 0) {
        fail(error_r, "a %s sample before any family: call hg_metrics_text_family first", type_names[type]);
        return NULL;
    }
    const struct family *f = &w->families[w->n_families - 1];
    if (f->type != type) {
        fail(error_r, "metric %s is a %s, not a %s", f->name, type_names[f->type], type_names[type]);
        return NULL;
    }
    return f;
}

static int check_labels(const struct family *f, const struct hg_metrics_label *labels, size_t n,
                        char **error_r)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = labels[i].name;
        if (!hg_metrics_valid_label_name(name))
            return fail(
                error_r,
                "metric %s: label name \"%s\" is not valid: letters, digits and _, not starting with a "
                "digit or __",
                f->name, name != NULL ? name : "");
        if (f->type == HG_METRICS_HISTOGRAM && strcmp(name, "le") == 0)
            return fail(error_r, "metric %s: \"le\" is the histogram's own label", f->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, name) == 0)
                return fail(error_r, "metric %s: label %s given twice", f->name, name);
        if (labels[i].value != NULL && !valid_utf8((const unsigned char *)labels[i].value))
            return fail(error_r, "metric %s: the value of label %s is not UTF-8", f->name, name);
    }
    return 0;
}

/* NAME{a="x",b="y",LE="..."} VALUE\n; LE NULL for none. */
static int sample_line(struct hg_buf *out, const char *name, const char *suffix,
                       const struct hg_metrics_label *labels, size_t n, const char *le, const char *value)
{
    int rc = hg_buf_printf(out, "%s%s", name, suffix);
    if (rc == 0 && (n > 0 || le != NULL))
        rc = hg_buf_append_char(out, '{');
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = hg_buf_printf(out, "%s%s=\"", i > 0 ? "," : "", labels[i].name);
        if (rc == 0)
            rc = append_escaped(out, labels[i].value != NULL ? labels[i].value : "", true);
        if (rc == 0)
            rc = hg_buf_append_char(out, '"');
    }
    if (rc == 0 && le != NULL)
        rc = hg_buf_printf(out, "%sle=\"%s\"", n > 0 ? "," : "", le);
    if (rc == 0 && (n > 0 || le != NULL))
        rc = hg_buf_append_char(out, '}');
    if (rc == 0)
        rc = hg_buf_printf(out, " %s\n", value);
    return rc;
}

static int too_long(struct hg_metrics_text *w, size_t saved, const struct family *f, char **error_r)
{
    truncate_to(w->out, saved);
    return fail(error_r, "metric %s: the output would pass its limit of %zu bytes", f->name, w->out->max);
}

int hg_metrics_text_counter(struct hg_metrics_text *w, const struct hg_metrics_label *labels, size_t n_labels,
                            uint64_t value, char **error_r)
{
    const struct family *f = current(w, HG_METRICS_COUNTER, error_r);
    if (f == NULL || check_labels(f, labels, n_labels, error_r) != 0)
        return -1;
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64, value);
    size_t saved = w->out->len;
    if (sample_line(w->out, f->name, "", labels, n_labels, NULL, text) != 0)
        return too_long(w, saved, f, error_r);
    return 0;
}

int hg_metrics_text_gauge(struct hg_metrics_text *w, const struct hg_metrics_label *labels, size_t n_labels,
                          double value, char **error_r)
{
    const struct family *f = current(w, HG_METRICS_GAUGE, error_r);
    if (f == NULL || check_labels(f, labels, n_labels, error_r) != 0)
        return -1;
    char text[32];
    format_double(value, text);
    size_t saved = w->out->len;
    if (sample_line(w->out, f->name, "", labels, n_labels, NULL, text) != 0)
        return too_long(w, saved, f, error_r);
    return 0;
}

int hg_metrics_text_histogram(struct hg_metrics_text *w, const struct hg_metrics_label *labels,
                              size_t n_labels, const struct hg_metrics_histogram *h, char **error_r)
{
    const struct family *f = current(w, HG_METRICS_HISTOGRAM, error_r);
    if (f == NULL || check_labels(f, labels, n_labels, error_r) != 0)
        return -1;
    if (h == NULL || h->counts == NULL || (h->n_bounds > 0 && h->bounds == NULL))
        return fail(error_r, "metric %s: a histogram needs its bounds and counts", f->name);
    for (size_t i = 0; i < h->n_bounds; i++) {
        if (!isfinite(h->bounds[i]))
            return fail(error_r, "metric %s: bucket bound %zu is not finite (the +Inf bucket is added)",
                        f->name, i);
        if (i > 0 && !(h->bounds[i] > h->bounds[i - 1]))
            return fail(error_r, "metric %s: bucket bounds must increase (bound %zu is not above bound %zu)",
                        f->name, i, i - 1);
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->n_bounds; i++) {
        if (h->counts[i] > UINT64_MAX - cumulative)
            return fail(error_r, "metric %s: the bucket counts add up past 2^64", f->name);
        cumulative += h->counts[i];
    }
    size_t saved = w->out->len;
    char le[32], value[32];
    int rc = 0;
    cumulative = 0;
    for (size_t i = 0; i <= h->n_bounds && rc == 0; i++) {
        cumulative += h->counts[i];
        if (i < h->n_bounds)
            format_double(h->bounds[i], le);
        else
            strcpy(le, "+Inf");
        snprintf(value, sizeof value, "%" PRIu64, cumulative);
        rc = sample_line(w->out, f->name, "_bucket", labels, n_labels, le, value);
    }
    format_double(h->sum, value);
    if (rc == 0)
        rc = sample_line(w->out, f->name, "_sum", labels, n_labels, NULL, value);
    snprintf(value, sizeof value, "%" PRIu64, cumulative);
    if (rc == 0)
        rc = sample_line(w->out, f->name, "_count", labels, n_labels, NULL, value);
    return rc == 0 ? 0 : too_long(w, saved, f, error_r);
}

size_t hg_metrics_bucket_index(const double *bounds, size_t n_bounds, double value)
{
    size_t lo = 0, hi = n_bounds; /* the first bound >= VALUE; NaN is <= none: the last */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (value <= bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
