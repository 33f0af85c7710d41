/*
 * sla_scheduler.h — helpgated's periodic work: the SLA scheduler (warnings
 * before due times, breaches, escalation) every interval, and retention
 * (daemon/retention.c) every hour, which runs once a day across instances.
 *
 * A routed ticket carries its due times (sql/012: set from the route, which
 * routing.c fills from the rules' SLA policy). hg_sla_pass() does what is
 * due at NOW, in one transaction per batch: the database marks, audits and
 * escalates (helpgate_sla_warnings(), helpgate_sla_breaches(); rows claimed
 * FOR UPDATE SKIP LOCKED, so several helpgated may run it at once and each
 * event happens once), and the mail loop tells the team or its leads
 * (template "sla"). helpgatectl sla run --now TIME runs one pass with
 * another clock; helpgated runs one every interval.
 *
 * Ownership: hg_sla_scheduler_start() copies the store parameters; the mail
 * loop stays the caller's (hg_sla_scheduler_pause()/resume() around a swap);
 * hg_sla_scheduler_stop() joins and frees.
 */
#ifndef HELPGATE_SLA_SCHEDULER_H
#define HELPGATE_SLA_SCHEDULER_H

#include "helpgate/retention.h"
#include "helpgate/store.h"

#include <stdint.h>

struct hg_mailloop;

struct hg_sla_counts {
    long warnings, breaches, escalations;
};

/* One pass at NOW (epoch seconds). 0, or -1 with *error_r (what was committed stays). */
int hg_sla_pass(struct hg_store *store, const struct hg_mailloop *loop, int64_t now,
                struct hg_sla_counts *counts, char **error_r);

struct hg_sla_scheduler;

/* RETENTION: copied; NULL runs no retention. */
struct hg_sla_scheduler *hg_sla_scheduler_start(const struct hg_store_params *db,
                                                const struct hg_mailloop *loop, int interval_seconds,
                                                const struct hg_retention_settings *retention);
/* New retention settings (a reload), copied. */
void hg_sla_scheduler_set_retention(struct hg_sla_scheduler *s,
                                    const struct hg_retention_settings *retention);
void hg_sla_scheduler_pause(struct hg_sla_scheduler *s);
void hg_sla_scheduler_resume(struct hg_sla_scheduler *s, const struct hg_mailloop *loop);
void hg_sla_scheduler_stop(struct hg_sla_scheduler **s);

#endif
