/*
 * report.h — the figures of `helpgatectl report` for one period, and their
 * output as an aligned table, CSV or JSON.
 *
 * The database side (daemon/ctl_report.c) only fetches facts: one record per
 * ticket that may count (its current tier, its customer's custom-code flag,
 * its timestamps, whether it had an SLA due time and a breach), one per
 * 'ticket.escalate' audit row, and the top customers. Every rule about what
 * counts where (the period is [from, to); "closed" is closed_at, else
 * resolved_at; time to resolution runs to resolved_at, else closed_at;
 * median and p90 by the nearest-rank method) lives here, so that it is unit
 * tested and documented once (helpgatectl(8), Reports).
 *
 * Times are microseconds since the Unix epoch (UTC); HG_REPORT_NO_TIME stands
 * for NULL. Durations come out in whole seconds, rounded down; a negative one
 * (a clock that went backwards) counts as 0.
 *
 * Ownership: hg_report_new() returns a report the caller frees with
 * hg_report_free(); it copies every string it is given. Nothing here fails
 * except the writers, when the output would exceed the buffer's maximum
 * (-1, the buffer may then hold part of the output). Allocation failure
 * aborts.
 */
#ifndef HELPGATE_REPORT_H
#define HELPGATE_REPORT_H

#include "helpgate/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_REPORT_NO_TIME INT64_MIN
#define HG_REPORT_US_PER_S INT64_C(1000000)
/* The most customers a report lists. */
#define HG_REPORT_TOP_CUSTOMERS 10

/* The rows of a report, in output order. */
enum hg_report_scope {
    HG_REPORT_L1,
    HG_REPORT_L2,
    HG_REPORT_L3,
    HG_REPORT_ALL,
    HG_REPORT_CUSTOM_CODE,
    HG_REPORT_SCOPES
};

enum hg_report_format { HG_REPORT_TABLE, HG_REPORT_CSV, HG_REPORT_JSON };

/* The facts of one ticket (all times HG_REPORT_NO_TIME when NULL). */
struct hg_report_ticket {
    const char *tier; /* current tier: "L1", "L2" or "L3" (anything else counts in "all" only) */
    bool custom_code; /* its customer has custom code (now) */
    int64_t created, first_response, resolved, closed;
    bool sla_due;  /* first_response_due or resolution_due is set */
    bool breached; /* first_response_breached_at or resolution_breached_at is set */
};

struct hg_report_durations {
    int64_t count;       /* how many values */
    int64_t median, p90; /* seconds; 0 when count is 0 */
};

/* One row: a tier, every tier, or the custom-code customers' tickets. */
struct hg_report_row {
    int64_t incoming;                          /* created in the period */
    int64_t closed;                            /* closed_at, else resolved_at, in the period */
    struct hg_report_durations first_response; /* created in the period, answered (any time) */
    struct hg_report_durations resolution;     /* resolved_at, else closed_at, in the period */
    int64_t escalations;                       /* 'ticket.escalate' rows in the period, by tier left */
    int64_t sla_tickets;                       /* created in the period with an SLA due time */
    int64_t sla_breached;                      /* ... of which with a breach */
};

struct hg_report_customer {
    const char *email;
    const char *company; /* NULL when unknown */
    const char *tier;    /* the customer's tier: standard, premium, vip */
    int64_t tickets;     /* created in the period */
};

struct hg_report;

/*
 * A report for [FROM, TO) (seconds since the epoch, UTC). TIER "L1", "L2" or
 * "L3" restricts every figure to that tier and leaves out the other tiers'
 * rows and "all"; NULL (or anything else) reports every tier.
 */
struct hg_report *hg_report_new(int64_t from, int64_t to, const char *tier);
void hg_report_free(struct hg_report **report);

/* Counts one ticket wherever its times fall; a ticket outside the period changes nothing. */
void hg_report_add_ticket(struct hg_report *report, const struct hg_report_ticket *ticket);
/* One 'ticket.escalate' audit row at AT, away from tier FROM_TIER (NULL or unknown: "all" only). */
void hg_report_add_escalation(struct hg_report *report, const char *from_tier, bool custom_code, int64_t at);
/* The next of the top customers, in order (the caller ranks them); past HG_REPORT_TOP_CUSTOMERS ignored. */
void hg_report_add_customer(struct hg_report *report, const struct hg_report_customer *customer);

/* A row's figures (medians computed on demand); NULL for a scope the report leaves out. */
const struct hg_report_row *hg_report_row(struct hg_report *report, enum hg_report_scope scope);
size_t hg_report_customer_count(const struct hg_report *report);
const struct hg_report_customer *hg_report_customer(const struct hg_report *report, size_t i);

/* Appends the report to OUT: 0, or -1 when OUT's maximum is reached. */
int hg_report_write(struct hg_report *report, enum hg_report_format format, struct hg_buf *out);

/* ---- the pure helpers, exposed for the tests ------------------------------------------------ */

/* "table", "csv", "json": 0 and the format, or -1. */
int hg_report_format_parse(const char *name, enum hg_report_format *format_r);
/* The scope's name: "L1", "L2", "L3", "all", "custom_code". */
const char *hg_report_scope_name(enum hg_report_scope scope);

/*
 * The PERCENT-th percentile (1..100) of SORTED (ascending, N > 0) by the
 * nearest-rank method: the value at rank ceil(PERCENT / 100 * N), counted
 * from 1, in integer arithmetic. The median is the 50th: the lower middle
 * value when N is even.
 */
int64_t hg_report_nearest_rank(const int64_t *sorted, size_t n, unsigned percent);

#define HG_REPORT_DURATION_MAX 32
/*
 * A duration for people, rounded down: "45s", "5m", "1h 05m", "2d 3h";
 * negative is "0s".
 */
void hg_report_format_duration(int64_t seconds, char out[HG_REPORT_DURATION_MAX]);

/*
 * "2026-11-01" (00:00 UTC that day), "2026-11-01T09:30", "2026-11-01 09:30:15",
 * each optionally followed by "Z", "+01:00", "-0530" (else UTC): 0 and the
 * seconds since the epoch, or -1 when malformed or out of range (from
 * 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC; no fractions of a
 * second).
 */
int hg_report_parse_time(const char *text, int64_t *epoch_r);
#define HG_REPORT_TIME_MAX 64
/* "2026-11-01T00:00:00Z". */
void hg_report_format_time(int64_t epoch, char out[HG_REPORT_TIME_MAX]);

#endif
