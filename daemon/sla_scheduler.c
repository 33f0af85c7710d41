/*
 * sla_scheduler.c — the SLA scheduler's pass and its thread (see sla_scheduler.h).
 */
#include "helpgate/sla_scheduler.h"

#include "helpgate/alloc.h"
#include "helpgate/backoff.h"
#include "helpgate/log.h"
#include "helpgate/mailloop.h"
#include "helpgate/metrics.h"
#include "store_pg.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLA_BATCH 50

static const char *target_words(const char *target)
{
    return strcmp(target, "first_response") == 0 ? "first response" : "resolution";
}

/* Warnings due at NOW: how many rows, or -1. */
static int warn_batch(struct hg_store *store, const struct hg_mailloop *loop, const char *now, long *counted,
                      char **error_r)
{
    const char *params[] = {now};
    PGresult *res = hg_pg_exec(store,
                               "SELECT ticket_id, tier, target,"
                               " to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"
                               " FROM helpgate_sla_warnings(to_timestamp($1::double precision), 50)",
                               1, params, error_r);
    if (res == NULL)
        return -1;
    int n = PQntuples(res), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        struct hg_sla_notice notice = {.ticket_id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                       .event = "warning",
                                       .target = target_words(PQgetvalue(res, i, 2)),
                                       .due = PQgetvalue(res, i, 3),
                                       .team = PQgetvalue(res, i, 1)};
        rc = hg_mailloop_sla_notice(loop, store, &notice, error_r);
        hg_metrics_count(HG_METRIC_SLA_EVENTS, "warning");
        hg_log_info("sla_warning", "ticket=%s target=%s due=%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
                    HG_Q(notice.due));
    }
    PQclear(res);
    *counted += n;
    return rc < 0 ? -1 : n;
}

/* Breaches at NOW: how many rows, or -1. */
static int breach_batch(struct hg_store *store, const struct hg_mailloop *loop, const char *now,
                        struct hg_sla_counts *counts, char **error_r)
{
    const char *params[] = {now};
    PGresult *res =
        hg_pg_exec(store,
                   "SELECT ticket_id, target, to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
                   " old_tier, new_tier, action"
                   " FROM helpgate_sla_breaches(to_timestamp($1::double precision), 50)",
                   1, params, error_r);
    if (res == NULL)
        return -1;
    int n = PQntuples(res), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        bool escalated = strcmp(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)) != 0;
        struct hg_sla_notice notice = {.ticket_id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                       .event = "breach",
                                       .target = target_words(PQgetvalue(res, i, 1)),
                                       .due = PQgetvalue(res, i, 2),
                                       .team = PQgetvalue(res, i, 4),
                                       .to_leads = strcmp(PQgetvalue(res, i, 5), "notify_lead") == 0};
        rc = hg_mailloop_sla_notice(loop, store, &notice, error_r);
        counts->escalations += escalated;
        hg_metrics_count(HG_METRIC_SLA_EVENTS, "breach");
        hg_log_warn("sla_breach", "ticket=%s target=%s due=%s tier=%s action=%s", PQgetvalue(res, i, 0),
                    PQgetvalue(res, i, 1), HG_Q(notice.due), PQgetvalue(res, i, 4),
                    escalated ? "escalated" : "leads_notified");
    }
    PQclear(res);
    counts->breaches += n;
    return rc < 0 ? -1 : n;
}

/* One transaction: a batch of warnings and a batch of breaches. How many rows, or -1. */
static int pass_batch(struct hg_store *store, const struct hg_mailloop *loop, const char *now,
                      struct hg_sla_counts *counts, char **error_r)
{
    if (hg_pg_command(store, "BEGIN", 0, NULL, error_r) < 0)
        return -1;
    int warned = warn_batch(store, loop, now, &counts->warnings, error_r);
    int breached = warned < 0 ? -1 : breach_batch(store, loop, now, counts, error_r);
    if (breached >= 0 && hg_pg_command(store, "COMMIT", 0, NULL, error_r) == 0)
        return warned + breached;
    PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    return -1;
}

int hg_sla_pass(struct hg_store *store, const struct hg_mailloop *loop, int64_t now,
                struct hg_sla_counts *counts, char **error_r)
{
    memset(counts, 0, sizeof(*counts));
    char at[32];
    snprintf(at, sizeof at, "%lld", (long long)now);
    int n;
    while ((n = pass_batch(store, loop, at, counts, error_r)) >= SLA_BATCH)
        ;
    return n < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The thread.                                                             */

#define RETENTION_CHECK_S 3600               /* how often the thread asks for a retention run */
#define RETENTION_MIN_INTERVAL_S (23 * 3600) /* and the database lets one through: once a day in all */

struct hg_sla_scheduler {
    struct hg_store_params db; /* strings owned */
    const struct hg_mailloop *loop;
    int interval;
    bool retention_on;
    struct hg_retention_settings retention; /* archive_dir owned */
    time_t next_retention;
    pthread_t thread;
    pthread_rwlock_t pause;
    atomic_bool stop;
};

static void sleep_unless_stopped(struct hg_sla_scheduler *s, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && !atomic_load(&s->stop); waited += 100)
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
}

/* A retention run when one is due here (the database says whether anyone ran one lately). */
static void maybe_retention(struct hg_sla_scheduler *s, struct hg_store *store)
{
    time_t now = time(NULL);
    if (!s->retention_on || now < s->next_retention)
        return;
    s->next_retention = now + RETENTION_CHECK_S;
    struct hg_retention_report report;
    char *error = NULL;
    if (hg_retention_run(store, &s->retention, false, now, &report, &error) != 0) {
        hg_log_error("retention_failed", "error=%s", HG_Q(error));
        free(error);
        return;
    }
    if (report.outcome == HG_RETENTION_DONE)
        hg_log_info("retention_done",
                    "tickets=%lld attachments=%lld raw=%lld db_size_before=%lld db_size_after=%lld",
                    report.classes[HG_RETENTION_TICKETS].rows, report.classes[HG_RETENTION_ATTACHMENTS].rows,
                    report.classes[HG_RETENTION_RAW].rows, report.db_size_before, report.db_size_after);
    hg_retention_report_free(&report);
}

static void *scheduler_main(void *arg)
{
    struct hg_sla_scheduler *s = arg;
    struct hg_store *store = NULL;
    struct hg_backoff backoff;
    hg_backoff_init(&backoff, 1000, 60000, (uint64_t)(uintptr_t)s);
    while (!atomic_load(&s->stop)) {
        char *error = NULL;
        if (store == NULL)
            store = hg_store_connect(&s->db, &error);
        struct hg_sla_counts counts;
        int rc = -1;
        if (store != NULL) {
            pthread_rwlock_rdlock(&s->pause);
            rc = hg_sla_pass(store, s->loop, (int64_t)time(NULL), &counts, &error);
            if (rc == 0)
                maybe_retention(s, store);
            pthread_rwlock_unlock(&s->pause);
        }
        unsigned wait_ms = (unsigned)s->interval * 1000u;
        if (rc < 0) {
            hg_log_warn("sla_pass_failed", "error=%s", HG_Q(error));
            if (store != NULL && !hg_store_is_ok(store))
                hg_store_free(&store);
            wait_ms = hg_backoff_next_ms(&backoff);
        } else {
            hg_backoff_reset(&backoff);
            if (counts.warnings + counts.breaches > 0)
                hg_log_info("sla_pass", "warnings=%ld breaches=%ld escalations=%ld", counts.warnings,
                            counts.breaches, counts.escalations);
        }
        free(error);
        sleep_unless_stopped(s, wait_ms);
    }
    hg_store_free(&store);
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? hg_xstrdup(s) : NULL;
}

static void copy_retention(struct hg_sla_scheduler *s, const struct hg_retention_settings *retention)
{
    free((char *)s->retention.archive_dir);
    memset(&s->retention, 0, sizeof(s->retention));
    s->retention_on = retention != NULL;
    if (retention == NULL)
        return;
    s->retention = *retention;
    s->retention.archive_dir = dup_or_null(retention->archive_dir);
    s->retention.actor = "system";
    s->retention.min_interval = RETENTION_MIN_INTERVAL_S;
}

void hg_sla_scheduler_set_retention(struct hg_sla_scheduler *s, const struct hg_retention_settings *retention)
{
    if (s == NULL)
        return;
    pthread_rwlock_wrlock(&s->pause);
    copy_retention(s, retention);
    pthread_rwlock_unlock(&s->pause);
}

struct hg_sla_scheduler *hg_sla_scheduler_start(const struct hg_store_params *db,
                                                const struct hg_mailloop *loop, int interval_seconds,
                                                const struct hg_retention_settings *retention)
{
    struct hg_sla_scheduler *s = hg_xcalloc(1, sizeof(*s));
    copy_retention(s, retention);
    s->db = *db;
    s->db.conninfo = dup_or_null(db->conninfo);
    s->db.password_file = dup_or_null(db->password_file);
    s->db.application_name = dup_or_null(db->application_name);
    s->loop = loop;
    s->interval = interval_seconds > 0 ? interval_seconds : 30;
    pthread_rwlock_init(&s->pause, NULL);
    atomic_init(&s->stop, false);
    pthread_create(&s->thread, NULL, scheduler_main, s);
    return s;
}

void hg_sla_scheduler_pause(struct hg_sla_scheduler *s)
{
    if (s != NULL)
        pthread_rwlock_wrlock(&s->pause);
}

void hg_sla_scheduler_resume(struct hg_sla_scheduler *s, const struct hg_mailloop *loop)
{
    if (s == NULL)
        return;
    s->loop = loop;
    pthread_rwlock_unlock(&s->pause);
}

void hg_sla_scheduler_stop(struct hg_sla_scheduler **sp)
{
    struct hg_sla_scheduler *s = *sp;
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    pthread_rwlock_destroy(&s->pause);
    free((char *)s->db.conninfo);
    free((char *)s->db.password_file);
    free((char *)s->db.application_name);
    free((char *)s->retention.archive_dir);
    free(s);
    *sp = NULL;
}
