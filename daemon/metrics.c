/*
 * metrics.c — helpgated's counters, the database sampler and the /metrics text (see metrics.h).
 */
#include "helpgate/metrics.h"

#include "helpgate/alloc.h"
#include "helpgate/log.h"
#include "helpgate/metrics_text.h"
#include "store_pg.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LABELS_PER_METRIC 64 /* distinct label values kept per metric; more go to "other" */
#define LABEL_MAX 64

struct counter {
    char label[LABEL_MAX];
    uint64_t value;
};

struct family {
    const char *name, *label, *help;
    struct counter counters[LABELS_PER_METRIC];
    size_t n;
};

static struct family families[HG_METRIC__COUNT] = {
    [HG_METRIC_MESSAGES_IN] = {"helpgate_messages_in_total", "channel",
                               "Messages stored by intake, by channel"},
    [HG_METRIC_INTAKE] = {"helpgate_intake_total", "outcome",
                          "Intake outcomes (new ticket, reply, duplicate, ...)"},
    [HG_METRIC_ACKS_QUEUED] = {"helpgate_acks_queued_total", "channel", "Acknowledgements queued"},
    [HG_METRIC_ACKS_SKIPPED] = {"helpgate_acks_skipped_total", "reason",
                                "Acknowledgements not sent, by reason (throttled among them)"},
    [HG_METRIC_MAIL] = {"helpgate_mail_total", "result", "Outbox mail by SMTP result"},
    [HG_METRIC_IMAP_ERRORS] = {"helpgate_imap_errors_total", "mailbox",
                               "IMAP connection and protocol errors"},
    [HG_METRIC_SLA_EVENTS] = {"helpgate_sla_events_total", "event", "SLA warnings and breaches handled"},
};
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;

static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUNDS (sizeof latency_bounds / sizeof latency_bounds[0])
struct latency {
    const char *channel;
    uint64_t counts[N_BOUNDS + 1];
    double sum;
};
static struct latency latencies[] = {{"email", {0}, 0}, {"chat", {0}, 0}};
static atomic_long chat_connections;

void hg_metrics_count(enum hg_metric metric, const char *label)
{
    if ((unsigned)metric >= HG_METRIC__COUNT)
        return;
    struct family *f = &families[metric];
    const char *value = label != NULL ? label : "";
    pthread_mutex_lock(&counters_lock);
    size_t i = 0;
    while (i < f->n && strncmp(f->counters[i].label, value, LABEL_MAX - 1) != 0)
        i++;
    if (i == f->n) {
        /* A new label value; the last slot is "other", for every value past the table. */
        if (f->n < LABELS_PER_METRIC) {
            snprintf(f->counters[i].label, LABEL_MAX, "%s", f->n + 1 < LABELS_PER_METRIC ? value : "other");
            f->n++;
        } else {
            i = LABELS_PER_METRIC - 1;
        }
    }
    f->counters[i].value++;
    pthread_mutex_unlock(&counters_lock);
}

void hg_metrics_intake_seconds(const char *channel, double seconds)
{
    struct latency *l = strcmp(channel, "chat") == 0 ? &latencies[1] : &latencies[0];
    pthread_mutex_lock(&counters_lock);
    l->counts[hg_metrics_bucket_index(latency_bounds, N_BOUNDS, seconds)]++;
    l->sum += seconds;
    pthread_mutex_unlock(&counters_lock);
}

void hg_metrics_chat_connections(long delta)
{
    atomic_fetch_add(&chat_connections, delta);
}

/* ------------------------------------------------------------------------ */
/* The database sampler.                                                   */

#define MAX_TICKET_ROWS 15 /* 3 tiers x 5 statuses */

struct sample {
    bool valid;
    time_t at;
    struct {
        char tier[4], status[12];
        double count;
    } tickets[MAX_TICKET_ROWS];
    size_t n_tickets;
    double outbox_queued, outbox_oldest, database_bytes;
};

static struct sample last_sample;
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;

struct hg_metrics_sampler {
    struct hg_store_params db; /* strings owned */
    pthread_t thread;
    atomic_bool stop;
};

static int take_sample(struct hg_store *store, struct sample *s, char **error_r)
{
    memset(s, 0, sizeof(*s));
    PGresult *res = hg_pg_exec(store,
                               "SELECT tier, status, count(*) FROM tickets GROUP BY tier, status"
                               " ORDER BY tier, status",
                               0, NULL, error_r);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res) && s->n_tickets < MAX_TICKET_ROWS; i++, s->n_tickets++) {
        snprintf(s->tickets[i].tier, sizeof s->tickets[i].tier, "%s", PQgetvalue(res, i, 0));
        snprintf(s->tickets[i].status, sizeof s->tickets[i].status, "%s", PQgetvalue(res, i, 1));
        s->tickets[i].count = strtod(PQgetvalue(res, i, 2), NULL);
    }
    PQclear(res);
    res = hg_pg_exec(store,
                     "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0),"
                     " pg_database_size(current_database()) FROM outbox WHERE status = 'queued'",
                     0, NULL, error_r);
    if (res == NULL)
        return -1;
    s->outbox_queued = strtod(PQgetvalue(res, 0, 0), NULL);
    s->outbox_oldest = strtod(PQgetvalue(res, 0, 1), NULL);
    s->database_bytes = strtod(PQgetvalue(res, 0, 2), NULL);
    PQclear(res);
    s->valid = true;
    s->at = time(NULL);
    return 0;
}

static void *sampler_main(void *arg)
{
    struct hg_metrics_sampler *m = arg;
    struct hg_store *store = NULL;
    unsigned failures = 0;
    while (!atomic_load(&m->stop)) {
        char *error = NULL;
        if (store == NULL)
            store = hg_store_connect(&m->db, &error);
        struct sample s;
        if (store != NULL && take_sample(store, &s, &error) == 0) {
            pthread_mutex_lock(&sample_lock);
            last_sample = s;
            pthread_mutex_unlock(&sample_lock);
            failures = 0;
        } else {
            if (failures++ == 0)
                hg_log_warn("metrics_sample_failed", "error=%s", HG_Q(error));
            if (store != NULL && !hg_store_is_ok(store))
                hg_store_free(&store);
        }
        free(error);
        for (int i = 0; i < HG_METRICS_SAMPLE_S * 10 && !atomic_load(&m->stop); i++)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    hg_store_free(&store);
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? hg_xstrdup(s) : NULL;
}

struct hg_metrics_sampler *hg_metrics_sampler_start(const struct hg_store_params *db)
{
    struct hg_metrics_sampler *m = hg_xcalloc(1, sizeof(*m));
    m->db = *db;
    m->db.conninfo = dup_or_null(db->conninfo);
    m->db.password_file = dup_or_null(db->password_file);
    m->db.application_name = dup_or_null(db->application_name);
    atomic_init(&m->stop, false);
    pthread_create(&m->thread, NULL, sampler_main, m);
    return m;
}

void hg_metrics_sampler_stop(struct hg_metrics_sampler **mp)
{
    struct hg_metrics_sampler *m = *mp;
    if (m == NULL)
        return;
    atomic_store(&m->stop, true);
    pthread_join(m->thread, NULL);
    free((char *)m->db.conninfo);
    free((char *)m->db.password_file);
    free((char *)m->db.application_name);
    free(m);
    *mp = NULL;
}

/* ------------------------------------------------------------------------ */
/* Rendering.                                                              */

static int render_counters(struct hg_metrics_text *w, char **error_r)
{
    for (size_t i = 0; i < HG_METRIC__COUNT; i++) {
        const struct family *f = &families[i];
        if (hg_metrics_text_family(w, f->name, HG_METRICS_COUNTER, f->help, error_r) < 0)
            return -1;
        for (size_t j = 0; j < f->n; j++) {
            struct hg_metrics_label label = {f->label, f->counters[j].label};
            if (hg_metrics_text_counter(w, &label, 1, f->counters[j].value, error_r) < 0)
                return -1;
        }
    }
    if (hg_metrics_text_family(w, "helpgate_intake_seconds", HG_METRICS_HISTOGRAM,
                               "Time to take in and store one message, by channel", error_r) < 0)
        return -1;
    for (size_t i = 0; i < sizeof latencies / sizeof latencies[0]; i++) {
        struct hg_metrics_label label = {"channel", latencies[i].channel};
        struct hg_metrics_histogram h = {latency_bounds, N_BOUNDS, latencies[i].counts, latencies[i].sum};
        if (hg_metrics_text_histogram(w, &label, 1, &h, error_r) < 0)
            return -1;
    }
    return 0;
}

static int gauge(struct hg_metrics_text *w, const char *name, const char *help, double value, char **error_r)
{
    if (hg_metrics_text_family(w, name, HG_METRICS_GAUGE, help, error_r) < 0)
        return -1;
    return hg_metrics_text_gauge(w, NULL, 0, value, error_r);
}

static int render_sample(struct hg_metrics_text *w, const struct sample *s, char **error_r)
{
    if (gauge(w, "helpgate_chat_connections", "Chat connections open on this instance",
              (double)atomic_load(&chat_connections), error_r) < 0)
        return -1;
    if (!s->valid)
        return 0; /* no sample yet: the database figures are left out rather than shown as zero */
    if (hg_metrics_text_family(w, "helpgate_tickets", HG_METRICS_GAUGE, "Tickets by tier and status",
                               error_r) < 0)
        return -1;
    for (size_t i = 0; i < s->n_tickets; i++) {
        struct hg_metrics_label labels[] = {{"tier", s->tickets[i].tier}, {"status", s->tickets[i].status}};
        if (hg_metrics_text_gauge(w, labels, 2, s->tickets[i].count, error_r) < 0)
            return -1;
    }
    if (gauge(w, "helpgate_outbox_queued", "Outbox rows waiting to be sent", s->outbox_queued, error_r) < 0 ||
        gauge(w, "helpgate_outbox_oldest_seconds", "Age of the oldest queued outbox row", s->outbox_oldest,
              error_r) < 0 ||
        gauge(w, "helpgate_database_bytes", "Size of the database", s->database_bytes, error_r) < 0 ||
        gauge(w, "helpgate_database_sample_age_seconds", "Age of the database figures above",
              difftime(time(NULL), s->at), error_r) < 0)
        return -1;
    return 0;
}

int hg_metrics_render(struct hg_buf *out)
{
    struct hg_metrics_text *w = hg_metrics_text_new(out);
    char *error = NULL;
    pthread_mutex_lock(&counters_lock);
    int rc = render_counters(w, &error);
    pthread_mutex_unlock(&counters_lock);
    struct sample s;
    pthread_mutex_lock(&sample_lock);
    s = last_sample;
    pthread_mutex_unlock(&sample_lock);
    if (rc == 0)
        rc = render_sample(w, &s, &error);
    hg_metrics_text_free(&w);
    if (rc < 0) {
        hg_buf_printf(out, "# helpgate: metrics could not be written: %s\n", error ? error : "?");
        hg_log_error("metrics_render_failed", "error=%s", HG_Q(error));
    }
    free(error);
    return rc;
}
