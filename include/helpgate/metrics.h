/*
 * metrics.h — what helpgated counts, for /metrics (Prometheus text format).
 *
 * Two kinds of figures:
 *   - events this process saw, counted where they happen (one atomic add or
 *     a short lock; label values come from a small fixed set or the config):
 *     messages in by channel, intake outcomes, intake latency, acknowledgements
 *     queued and skipped by reason, mail sent/deferred/failed, IMAP errors by
 *     mailbox, chat connections;
 *   - the state of the database, the same for every instance: tickets by tier
 *     and status, outbox depth and age of its oldest row, the database's size.
 *     A sampler thread reads them every HG_METRICS_SAMPLE_S seconds (never
 *     while a scrape waits) and /metrics shows the last sample with its age.
 * Counters are per process (since it started), as Prometheus expects: sum
 * them over instances.
 *
 * Process-wide: the counters live in this module (like a server's stats
 * struct), so that any thread can count without a handle. Rendering uses
 * parsers/metrics_text.c.
 */
#ifndef HELPGATE_METRICS_H
#define HELPGATE_METRICS_H

#include "helpgate/buf.h"
#include "helpgate/store.h"

enum hg_metric {
    HG_METRIC_MESSAGES_IN,  /* label: channel ("email", "chat") */
    HG_METRIC_INTAKE,       /* label: outcome (hg_intake_outcome_name()) */
    HG_METRIC_ACKS_QUEUED,  /* label: channel */
    HG_METRIC_ACKS_SKIPPED, /* label: reason (ackpolicy's, "throttled" among them) */
    HG_METRIC_MAIL,         /* label: result ("sent", "deferred", "failed") */
    HG_METRIC_IMAP_ERRORS,  /* label: mailbox */
    HG_METRIC_SLA_EVENTS,   /* label: event ("warning", "breach") */
    HG_METRIC__COUNT
};

#define HG_METRICS_SAMPLE_S 15

/* Adds one to METRIC{LABEL}. Thread-safe. */
void hg_metrics_count(enum hg_metric metric, const char *label);
/* One message stored by intake on CHANNEL, SECONDS after it was taken in hand. */
void hg_metrics_intake_seconds(const char *channel, double seconds);
/* Chat connections open now: +1 / -1. */
void hg_metrics_chat_connections(long delta);

/* The database sampler; NULL-safe stop. */
struct hg_metrics_sampler;
struct hg_metrics_sampler *hg_metrics_sampler_start(const struct hg_store_params *db);
void hg_metrics_sampler_stop(struct hg_metrics_sampler **s);

/* The whole exposition into OUT. 0, or -1 (OUT then holds a comment saying why). */
int hg_metrics_render(struct hg_buf *out);

#endif
