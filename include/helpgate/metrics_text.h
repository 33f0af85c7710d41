/*
 * metrics_text.h — writes metrics in the Prometheus text exposition format
 * (version 0.0.4) into a struct hg_buf, for helpgated's /metrics.
 *
 * A writer appends families one after the other: hg_metrics_text_family()
 * writes "# HELP" and "# TYPE", then the samples of that family follow
 * (counters, gauges, or histograms with their cumulative _bucket{le=...}
 * series, +Inf included, then _sum and _count). Each family is written once,
 * so its samples are always together, as the format requires. The writer
 * checks what Prometheus would refuse: metric and label names
 * ([a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, "__" reserved, "le"
 * reserved in histograms), a family declared twice or clashing with a
 * histogram's _bucket, _sum or _count, a sample of the wrong type, a label
 * given twice, label values that are not UTF-8, bucket bounds that do not
 * increase. Label values are escaped (\\, \", \n), help text too (\\, \n).
 * Numbers are written in the C locale (helpgate never changes LC_NUMERIC),
 * doubles in the shortest form that reads back the same, NaN, +Inf, -Inf.
 * The caller writes each label set at most once per family.
 *
 * Ownership: the writer does not own OUT, which must outlive it; free the
 * writer with hg_metrics_text_free(). No global state: one writer per
 * scrape, any number of threads each with its own.
 *
 * Errors: every function returns 0, or -1 with *error_r (when error_r is not
 * NULL) set to a message the caller frees; OUT is then exactly as it was
 * before the call. Reaching OUT's maximum is an error like the others.
 * Allocation failure aborts.
 */
#ifndef HELPGATE_METRICS_TEXT_H
#define HELPGATE_METRICS_TEXT_H

#include "helpgate/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Type of what the writer produces. */
#define HG_METRICS_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum hg_metrics_type { HG_METRICS_COUNTER, HG_METRICS_GAUGE, HG_METRICS_HISTOGRAM };

struct hg_metrics_label {
    const char *name;
    const char *value; /* UTF-8; NULL is "" */
};

struct hg_metrics_histogram {
    const double *bounds;   /* upper bounds of the buckets, finite and strictly increasing */
    size_t n_bounds;        /* may be 0: then only the +Inf bucket */
    const uint64_t *counts; /* n_bounds + 1 per-bucket counts, NOT cumulative: counts[i] observations
                               <= bounds[i] and > bounds[i - 1]; counts[n_bounds] those above the last */
    double sum;             /* the sum of all observations */
};

struct hg_metrics_text;

struct hg_metrics_text *hg_metrics_text_new(struct hg_buf *out);
void hg_metrics_text_free(struct hg_metrics_text **writer);

/* Starts a family: "# HELP NAME HELP" (left out when HELP is NULL) and "# TYPE NAME TYPE". */
int hg_metrics_text_family(struct hg_metrics_text *writer, const char *name, enum hg_metrics_type type,
                           const char *help, char **error_r);
/* A sample of the current family, which must be a counter: NAME{LABELS} VALUE. */
int hg_metrics_text_counter(struct hg_metrics_text *writer, const struct hg_metrics_label *labels,
                            size_t n_labels, uint64_t value, char **error_r);
/* A sample of the current family, which must be a gauge. */
int hg_metrics_text_gauge(struct hg_metrics_text *writer, const struct hg_metrics_label *labels,
                          size_t n_labels, double value, char **error_r);
/* The series of one histogram of the current family, which must be a histogram. */
int hg_metrics_text_histogram(struct hg_metrics_text *writer, const struct hg_metrics_label *labels,
                              size_t n_labels, const struct hg_metrics_histogram *histogram, char **error_r);

/* For the caller's histograms: the index in counts[] of the bucket VALUE falls in (NaN: the last). */
size_t hg_metrics_bucket_index(const double *bounds, size_t n_bounds, double value);

bool hg_metrics_valid_metric_name(const char *name);
bool hg_metrics_valid_label_name(const char *name);

#endif
