/*
 * chat.c — the chat listener (see chat.h): libwebsockets' service loop, the
 * visitors' connections and their limits, and the threads that talk to
 * PostgreSQL for it.
 *
 * Threads and hand-offs:
 *   service   owns every struct conn; parses frames (parsers/chat_proto.c),
 *             applies the limits, queues jobs, writes frames. Never blocks.
 *   workers   take jobs (hello, message, presence) from `jobs`, run them on
 *             their own connection (chat_store.c) and put the outcome on
 *             `done`, then wake the service loop (lws_cancel_service(), once
 *             for all the items queued before it looks).
 *   listener  LISTEN helpgate_chat; each notification becomes a push on
 *             `done` with the message frame already built.
 * A job names its connection by id, not pointer: the visitor may be gone
 * when the outcome arrives, and then it is dropped (what was stored stays).
 */
#include "helpgate/chat.h"

#include "helpgate/alloc.h"
#include "helpgate/backoff.h"
#include "helpgate/buf.h"
#include "helpgate/chat_proto.h"
#include "helpgate/log.h"
#include "helpgate/metrics_text.h"
#include "helpgate/metrics.h"
#include "helpgate/token_bucket.h"
#include "store_pg.h"

#include <libwebsockets.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONN_BUCKETS 4096
#define IP_BUCKETS 1024
#define OUT_QUEUE_MAX 256      /* frames waiting for a slow visitor before we give up on it */
#define VIOLATIONS_MAX 20      /* refused frames in a row before the close */
#define PRESENCE_INTERVAL_S 30 /* online sessions' last_seen_at refresh */
#define IDLE_SWEEP_S 5         /* how often silent connections are looked for */
#define PING_INTERVAL_S 30     /* when the settings give none */
#define MAX_PENDING_JOBS 16    /* per connection: a visitor cannot queue unbounded work */

/* ------------------------------------------------------------------------ */
/* Jobs and outcomes.                                                      */

enum job_kind { JOB_HELLO, JOB_MESSAGE, JOB_PRESENCE };

struct job {
    enum job_kind kind;
    double queued_at; /* monotonic seconds: the intake latency of a message */
    uint64_t conn_id;
    struct hg_chat_frame frame; /* HELLO and MESSAGE: owned */
    char peer[64];
    long long session_id;
    char *name, *email, *lang; /* MESSAGE: the visitor, copied */
    long long *sessions;       /* PRESENCE */
    size_t n_sessions;
    bool online;
    struct job *next;
};

enum done_kind { DONE_HELLO, DONE_MESSAGE, DONE_PUSH, DONE_FAILED };

struct done {
    enum done_kind kind;
    uint64_t conn_id;
    long long session_id, ticket_id, ticket_number, message_id;
    bool unknown_resume;
    char *frame; /* owned: welcome, ack, error or pushed message */
    char id[HG_CHAT_MAX_ID + 1];
    struct done *next;
};

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    void *head, **tail; /* a singly linked list through each item's `next` */
};

/* ------------------------------------------------------------------------ */
/* Connections.                                                            */

struct frame_out {
    size_t len;
    struct frame_out *next;
    unsigned char data[]; /* LWS_PRE bytes of room, then the frame */
};

struct ip_entry {
    char ip[64];
    int connections;
    struct hg_token_bucket bucket;
    struct ip_entry *next;
};

enum conn_state { CONN_NEW, CONN_HELLO_PENDING, CONN_READY };

struct conn {
    uint64_t id;
    struct lws *wsi;
    struct hg_chat *chat;
    struct conn *next_all, *prev_all, *next_bucket;
    struct ip_entry *ip;
    enum conn_state state;
    long long session_id, ticket_id;
    char *name, *email, *lang;
    struct hg_token_bucket bucket;
    int violations, pending_jobs;
    double last_rx; /* monotonic seconds of the visitor's last frame: the idle sweep's clock */
    struct hg_buf rx;
    bool rx_discarding; /* the rest of an oversize message is dropped */
    struct frame_out *out_head, **out_tail;
    int out_count;
    bool closing, abusive;
    enum lws_close_status close_status;
    char close_reason[64];
};

struct hg_chat {
    struct hg_chat_settings s; /* strings owned */
    char **origins;
    char **metrics_allow;
    struct lws_context *context;
    struct lws_http_mount mount, metrics_mount;
    struct lws_protocols protocols[3];
    lws_retry_bo_t retry;
    pthread_t service_thread, listener_thread, *worker_threads;
    int n_workers;
    atomic_bool stop;
    struct queue jobs, done;
    pthread_rwlock_t pause; /* workers hold it for reading while they work */
    /* Service thread only: */
    struct conn *all;
    struct conn *by_id[CONN_BUCKETS];
    struct ip_entry *ips[IP_BUCKETS];
    uint64_t next_conn_id;
    atomic_size_t n_conns;
    time_t next_presence;
    double next_idle_sweep;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void queue_init(struct queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    q->head = NULL;
    q->tail = &q->head;
}

/* Items are struct job or struct done: both have `next` last-but-not-least; passed as its address.
 * Returns whether the queue was empty before. */
static bool queue_push(struct queue *q, void *item, void **next_field)
{
    *next_field = NULL;
    pthread_mutex_lock(&q->lock);
    bool was_empty = q->head == NULL;
    *q->tail = item;
    q->tail = next_field;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
    return was_empty;
}

static void post_job(struct hg_chat *c, struct job *j)
{
    queue_push(&c->jobs, j, (void **)&j->next);
}

/* The service loop takes the whole queue at once: one wake-up per batch, for the first item in it. */
static void post_done(struct hg_chat *c, struct done *d)
{
    if (queue_push(&c->done, d, (void **)&d->next))
        lws_cancel_service(c->context);
}

static struct job *take_job(struct hg_chat *c)
{
    pthread_mutex_lock(&c->jobs.lock);
    while (c->jobs.head == NULL && !atomic_load(&c->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&c->jobs.ready, &c->jobs.lock, &until);
    }
    struct job *j = c->jobs.head;
    if (j != NULL) {
        c->jobs.head = j->next;
        if (c->jobs.head == NULL)
            c->jobs.tail = &c->jobs.head;
    }
    pthread_mutex_unlock(&c->jobs.lock);
    return j;
}

/* Everything done so far, oldest first. */
static struct done *take_all_done(struct hg_chat *c)
{
    pthread_mutex_lock(&c->done.lock);
    struct done *list = c->done.head;
    c->done.head = NULL;
    c->done.tail = &c->done.head;
    pthread_mutex_unlock(&c->done.lock);
    return list;
}

static void job_free(struct job *j)
{
    hg_chat_frame_clear(&j->frame);
    free(j->name);
    free(j->email);
    free(j->lang);
    free(j->sessions);
    free(j);
}

/* ------------------------------------------------------------------------ */
/* Workers.                                                                */

static struct done *failed(const struct job *j, const char *id)
{
    struct done *d = hg_xcalloc(1, sizeof(*d));
    d->kind = DONE_FAILED;
    d->conn_id = j->conn_id;
    d->frame = hg_chat_error_frame(HG_CHAT_ERR_INTERNAL,
                                   "The server could not store this just now; please send it again.", id);
    if (id != NULL)
        snprintf(d->id, sizeof d->id, "%s", id);
    return d;
}

static struct done *run_hello(struct hg_store *store, struct job *j, char **error_r)
{
    struct hg_chat_hello_result r;
    if (hg_chat_store_hello(store, &j->frame, j->peer[0] ? j->peer : NULL, &r, error_r) < 0)
        return NULL;
    struct done *d = hg_xcalloc(1, sizeof(*d));
    d->kind = DONE_HELLO;
    d->conn_id = j->conn_id;
    d->session_id = r.session_id;
    d->ticket_id = r.ticket_id;
    d->ticket_number = r.ticket_number;
    d->unknown_resume = r.outcome == HG_CHAT_HELLO_UNKNOWN;
    d->frame = d->unknown_resume
                   ? hg_chat_error_frame(HG_CHAT_ERR_RESUME_UNKNOWN,
                                         "This conversation cannot be resumed; say hello without a resume "
                                         "token to start a new one.",
                                         NULL)
                   : r.welcome;
    r.welcome = NULL;
    hg_chat_hello_result_free(&r);
    return d;
}

static struct done *run_message(struct hg_chat *c, struct hg_store *store, struct job *j, char **error_r)
{
    struct hg_chat_visitor v = {j->session_id, j->name, j->email, j->lang};
    struct hg_intake_result r;
    if (hg_chat_store_message(store, &c->s.store, &v, j->frame.id, j->frame.text, &r, error_r) < 0)
        return NULL;
    struct done *d = hg_xcalloc(1, sizeof(*d));
    d->kind = DONE_MESSAGE;
    d->conn_id = j->conn_id;
    d->ticket_id = r.ticket_id;
    d->ticket_number = r.ticket_number;
    d->message_id = r.message_row_id;
    snprintf(d->id, sizeof d->id, "%s", j->frame.id);
    d->frame = hg_chat_ack_frame(j->frame.id, r.message_row_id, r.ticket_number);
    hg_metrics_count(HG_METRIC_INTAKE, hg_intake_outcome_name(r.outcome));
    if (r.outcome != HG_INTAKE_DUPLICATE) {
        hg_metrics_count(HG_METRIC_MESSAGES_IN, "chat");
        hg_metrics_intake_seconds("chat", now_seconds() - j->queued_at);
    }
    if (r.outcome == HG_INTAKE_NEW_TICKET)
        hg_log_info("chat_ticket", "session=%lld ticket=%lld number=%lld", j->session_id, r.ticket_id,
                    r.ticket_number);
    return d;
}

/* Runs J; a database failure drops the connection (the next job reconnects). */
static void run_job(struct hg_chat *c, struct hg_store **store, struct hg_backoff *backoff, struct job *j)
{
    char *error = NULL;
    if (*store == NULL)
        *store = hg_store_connect(&c->s.db, &error);
    struct done *d = NULL;
    if (*store != NULL) {
        if (j->kind == JOB_HELLO)
            d = run_hello(*store, j, &error);
        else if (j->kind == JOB_MESSAGE)
            d = run_message(c, *store, j, &error);
        else if (hg_chat_store_presence(*store, j->sessions, j->n_sessions, j->online, &error) == 0)
            return;
    }
    if (d == NULL && j->kind != JOB_PRESENCE) {
        hg_log_warn("chat_store_failed", "conn=%llu kind=%s error=%s", (unsigned long long)j->conn_id,
                    j->kind == JOB_HELLO ? "hello" : "message", HG_Q(error));
        d = failed(j, j->kind == JOB_MESSAGE ? j->frame.id : NULL);
    } else if (d == NULL) {
        hg_log_warn("chat_presence_failed", "error=%s", HG_Q(error));
    }
    if (error != NULL && *store != NULL && !hg_store_is_ok(*store)) {
        hg_store_free(store);
        unsigned ms = hg_backoff_next_ms(backoff);
        struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    } else if (d != NULL && d->kind != DONE_FAILED) {
        hg_backoff_reset(backoff);
    }
    free(error);
    if (d != NULL)
        post_done(c, d);
}

static void *worker_main(void *arg)
{
    struct hg_chat *c = arg;
    struct hg_store *store = NULL;
    struct hg_backoff backoff;
    hg_backoff_init(&backoff, 200, 10000, (uint64_t)(uintptr_t)&backoff);
    for (;;) {
        struct job *j = take_job(c);
        if (j == NULL)
            break;
        pthread_rwlock_rdlock(&c->pause);
        run_job(c, &store, &backoff, j);
        pthread_rwlock_unlock(&c->pause);
        job_free(j);
    }
    hg_store_free(&store);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The NOTIFY listener.                                                    */

static void push_notification(struct hg_chat *c, struct hg_store *store, const char *payload)
{
    long long ticket = 0, message = 0;
    if (sscanf(payload, "%lld %lld", &ticket, &message) != 2)
        return;
    char *frame = NULL, *error = NULL;
    if (hg_chat_store_push_frame(store, message, &frame, &error) < 0) {
        hg_log_warn("chat_push_failed", "ticket=%lld message=%lld error=%s", ticket, message, HG_Q(error));
        free(error);
        return;
    }
    if (frame == NULL)
        return;
    struct done *d = hg_xcalloc(1, sizeof(*d));
    d->kind = DONE_PUSH;
    d->ticket_id = ticket;
    d->message_id = message;
    d->frame = frame;
    post_done(c, d);
}

/* Waits up to a second for notifications on STORE and pushes them; -1 when the connection broke. */
static int listen_once(struct hg_chat *c, struct hg_store *store)
{
    /* The service loop sleeps until something happens: wake it now and then for its timers (presence). */
    static _Thread_local unsigned ticks;
    if (++ticks % IDLE_SWEEP_S == 0)
        lws_cancel_service(c->context);
    PGconn *pg = hg_store_conn(store);
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
    if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
        return -1;
    if (!PQconsumeInput(pg))
        return -1;
    PGnotify *n;
    while ((n = PQnotifies(pg)) != NULL) {
        push_notification(c, store, n->extra);
        PQfreemem(n);
    }
    return 0;
}

static void *listener_main(void *arg)
{
    struct hg_chat *c = arg;
    struct hg_backoff backoff;
    hg_backoff_init(&backoff, 500, 30000, (uint64_t)(uintptr_t)&backoff);
    while (!atomic_load(&c->stop)) {
        char *error = NULL;
        struct hg_store *store = hg_store_connect(&c->s.db, &error);
        if (store != NULL && hg_pg_command(store, "LISTEN helpgate_chat", 0, NULL, &error) == 0) {
            hg_backoff_reset(&backoff);
            while (!atomic_load(&c->stop) && listen_once(c, store) == 0)
                ;
        }
        if (!atomic_load(&c->stop)) {
            hg_log_warn("chat_listen_failed", "error=%s", HG_Q(error ? error : "connection lost"));
            unsigned ms = hg_backoff_next_ms(&backoff);
            for (unsigned waited = 0; waited < ms && !atomic_load(&c->stop); waited += 100)
                nanosleep(&(struct timespec){0, 100000000L}, NULL);
        }
        free(error);
        hg_store_free(&store);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Connections: registry, IP table, outgoing frames.                       */

static struct conn *find_conn(struct hg_chat *c, uint64_t id)
{
    for (struct conn *k = c->by_id[id % CONN_BUCKETS]; k != NULL; k = k->next_bucket)
        if (k->id == id)
            return k;
    return NULL;
}

static unsigned ip_hash(const char *ip)
{
    unsigned h = 2166136261u;
    for (; *ip; ip++)
        h = (h ^ (unsigned char)*ip) * 16777619u;
    return h % IP_BUCKETS;
}

/* The entry of IP, made when missing. */
static struct ip_entry *ip_entry(struct hg_chat *c, const char *ip)
{
    unsigned h = ip_hash(ip);
    for (struct ip_entry *e = c->ips[h]; e != NULL; e = e->next)
        if (strcmp(e->ip, ip) == 0)
            return e;
    struct ip_entry *e = hg_xcalloc(1, sizeof(*e));
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    hg_token_bucket_init(&e->bucket, c->s.ip_rate, c->s.ip_burst, now_seconds());
    e->next = c->ips[h];
    c->ips[h] = e;
    return e;
}

static void ip_release(struct hg_chat *c, struct ip_entry *e)
{
    if (--e->connections > 0)
        return;
    struct ip_entry **p = &c->ips[ip_hash(e->ip)];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    free(e);
}

static void register_conn(struct hg_chat *c, struct conn *k)
{
    k->id = ++c->next_conn_id;
    k->next_bucket = c->by_id[k->id % CONN_BUCKETS];
    c->by_id[k->id % CONN_BUCKETS] = k;
    k->next_all = c->all;
    if (c->all != NULL)
        c->all->prev_all = k;
    c->all = k;
    atomic_fetch_add(&c->n_conns, 1);
    hg_metrics_chat_connections(1);
}

static void unregister_conn(struct hg_chat *c, struct conn *k)
{
    struct conn **p = &c->by_id[k->id % CONN_BUCKETS];
    while (*p != NULL && *p != k)
        p = &(*p)->next_bucket;
    if (*p == k)
        *p = k->next_bucket;
    if (k->prev_all != NULL)
        k->prev_all->next_all = k->next_all;
    else
        c->all = k->next_all;
    if (k->next_all != NULL)
        k->next_all->prev_all = k->prev_all;
    atomic_fetch_sub(&c->n_conns, 1);
    hg_metrics_chat_connections(-1);
}

/* Queues FRAME (taken: freed here) for K's socket. */
static void send_frame(struct conn *k, char *frame)
{
    if (frame == NULL)
        return;
    if (k->out_count >= OUT_QUEUE_MAX) {
        free(frame);
        if (!k->closing) {
            k->closing = true;
            k->close_status = LWS_CLOSE_STATUS_POLICY_VIOLATION;
            snprintf(k->close_reason, sizeof k->close_reason, "not reading");
        }
        lws_callback_on_writable(k->wsi);
        return;
    }
    size_t len = strlen(frame);
    struct frame_out *f = hg_xmalloc(sizeof(*f) + LWS_PRE + len);
    f->len = len;
    f->next = NULL;
    memcpy(f->data + LWS_PRE, frame, len);
    free(frame);
    *k->out_tail = f;
    k->out_tail = &f->next;
    k->out_count++;
    lws_callback_on_writable(k->wsi);
}

static void send_error(struct conn *k, enum hg_chat_code code, const char *sentence, const char *id)
{
    send_frame(k, hg_chat_error_frame(code, sentence, id));
}

static void refuse(struct conn *k, enum hg_chat_code code, const char *sentence, const char *id)
{
    send_error(k, code, sentence, id);
    if (++k->violations >= VIOLATIONS_MAX) {
        hg_log_warn("chat_abuse", "conn=%llu ip=%s code=%s", (unsigned long long)k->id,
                    k->ip ? k->ip->ip : "-", hg_chat_code_name(code));
        k->abusive = true; /* closed at once, from the receive callback */
    }
}

/* ------------------------------------------------------------------------ */
/* Frames from the visitor.                                                */

static char *dup_or_null(const char *s)
{
    return s != NULL ? hg_xstrdup(s) : NULL;
}

static void queue_job(struct hg_chat *c, struct conn *k, enum job_kind kind, struct hg_chat_frame *frame)
{
    struct job *j = hg_xcalloc(1, sizeof(*j));
    j->kind = kind;
    j->conn_id = k->id;
    j->frame = *frame;
    memset(frame, 0, sizeof(*frame));
    if (k->ip != NULL)
        snprintf(j->peer, sizeof j->peer, "%s", k->ip->ip);
    j->session_id = k->session_id;
    j->name = dup_or_null(k->name);
    j->email = dup_or_null(k->email);
    j->lang = dup_or_null(k->lang);
    k->pending_jobs++;
    j->queued_at = now_seconds();
    post_job(c, j);
}

static bool within_rate(struct conn *k, struct hg_chat_frame *f)
{
    double now = now_seconds();
    bool ok =
        hg_token_bucket_take(&k->bucket, now) && (k->ip == NULL || hg_token_bucket_take(&k->ip->bucket, now));
    if (!ok)
        refuse(k, HG_CHAT_ERR_RATE_LIMITED,
               "You are sending faster than the chat allows; wait a moment and "
               "send it again.",
               f->kind == HG_CHAT_MESSAGE ? f->id : NULL);
    return ok;
}

static void handle_frame(struct hg_chat *c, struct conn *k, const char *data, size_t len)
{
    struct hg_chat_limits limits = {c->s.max_frame, c->s.max_message};
    struct hg_chat_frame f = {0};
    struct hg_chat_error err;
    if (hg_chat_parse(data, len, &limits, &f, &err) < 0) {
        refuse(k, err.code, err.message, err.id[0] ? err.id : NULL);
        return;
    }
    if (!within_rate(k, &f)) {
        hg_chat_frame_clear(&f);
        return;
    }
    if (k->pending_jobs >= MAX_PENDING_JOBS) {
        refuse(k, HG_CHAT_ERR_RATE_LIMITED,
               "Too many messages are still being stored; send it again in a moment.",
               f.kind == HG_CHAT_MESSAGE ? f.id : NULL);
        hg_chat_frame_clear(&f);
        return;
    }
    switch (f.kind) {
    case HG_CHAT_HELLO:
        if (k->state != CONN_NEW) {
            refuse(k, HG_CHAT_ERR_BAD_FIELD, "This connection has already said hello.", NULL);
            break;
        }
        k->state = CONN_HELLO_PENDING;
        free(k->name);
        free(k->email);
        free(k->lang);
        k->name = dup_or_null(f.name);
        k->email = dup_or_null(f.email);
        k->lang = dup_or_null(f.lang);
        queue_job(c, k, JOB_HELLO, &f);
        break;
    case HG_CHAT_MESSAGE:
        if (k->state != CONN_READY) {
            refuse(k, HG_CHAT_ERR_NOT_READY,
                   "Say hello first: the server has not welcomed this connection yet.", f.id);
            break;
        }
        queue_job(c, k, JOB_MESSAGE, &f);
        break;
    case HG_CHAT_TYPING: /* shown to nobody yet: agents answer by mail */
    default:
        k->violations = 0;
        break;
    }
    hg_chat_frame_clear(&f);
}

/* A piece of a websocket message: assembled up to max_frame, then handled. */
static void receive(struct hg_chat *c, struct conn *k, const void *in, size_t len)
{
    k->last_rx = now_seconds();
    bool final = lws_is_final_fragment(k->wsi) && lws_remaining_packet_payload(k->wsi) == 0;
    if (lws_frame_is_binary(k->wsi) && !k->rx_discarding) {
        refuse(k, HG_CHAT_ERR_BAD_JSON, "Binary frames are not part of this protocol; send JSON text frames.",
               NULL);
        k->rx_discarding = true;
    }
    if (!k->rx_discarding && k->rx.len + len > c->s.max_frame) {
        char sentence[128];
        snprintf(sentence, sizeof sentence, "The frame is larger than the %zu bytes this chat accepts.",
                 c->s.max_frame);
        refuse(k, HG_CHAT_ERR_TOO_LARGE, sentence, NULL);
        hg_buf_reset(&k->rx);
        k->rx_discarding = true;
    }
    if (!k->rx_discarding)
        hg_buf_append(&k->rx, in, len);
    if (!final)
        return;
    if (!k->rx_discarding)
        handle_frame(c, k, k->rx.data != NULL ? k->rx.data : "", k->rx.len);
    hg_buf_reset(&k->rx);
    k->rx_discarding = false;
}

/* ------------------------------------------------------------------------ */
/* Outcomes from the workers and the listener.                             */

static void deliver_hello(struct conn *k, struct done *d)
{
    if (d->kind == DONE_FAILED || d->unknown_resume) {
        k->state = CONN_NEW; /* may say hello again */
    } else {
        k->state = CONN_READY;
        k->session_id = d->session_id;
        k->ticket_id = d->ticket_id;
    }
    send_frame(k, d->frame);
    d->frame = NULL;
}

static void deliver(struct hg_chat *c, struct done *d)
{
    if (d->kind == DONE_PUSH) {
        for (struct conn *k = c->all; k != NULL; k = k->next_all)
            if (k->state == CONN_READY && k->ticket_id == d->ticket_id)
                send_frame(k, hg_xstrdup(d->frame));
        return;
    }
    struct conn *k = find_conn(c, d->conn_id);
    if (k == NULL)
        return; /* the visitor left; what was stored stays */
    k->pending_jobs--;
    if (k->state == CONN_HELLO_PENDING) {
        deliver_hello(k, d);
        return;
    }
    if (d->kind == DONE_MESSAGE && d->ticket_id != 0)
        k->ticket_id = d->ticket_id;
    k->violations = 0;
    send_frame(k, d->frame);
    d->frame = NULL;
}

static void deliver_all(struct hg_chat *c)
{
    struct done *d = take_all_done(c);
    while (d != NULL) {
        struct done *next = d->next;
        deliver(c, d);
        free(d->frame);
        free(d);
        d = next;
    }
}

/* Every PRESENCE_INTERVAL_S: the sessions held here are still online. */
static void refresh_presence(struct hg_chat *c)
{
    time_t now = time(NULL);
    if (now < c->next_presence)
        return;
    c->next_presence = now + PRESENCE_INTERVAL_S;
    size_t n = 0, cap = atomic_load(&c->n_conns);
    if (cap == 0)
        return;
    long long *ids = hg_xcalloc(cap, sizeof(*ids));
    for (struct conn *k = c->all; k != NULL && n < cap; k = k->next_all)
        if (k->state == CONN_READY)
            ids[n++] = k->session_id;
    struct job *j = hg_xcalloc(1, sizeof(*j));
    j->kind = JOB_PRESENCE;
    j->sessions = ids;
    j->n_sessions = n;
    j->online = true;
    post_job(c, j);
}

/*
 * Closes the connections silent for idle_timeout, checked every IDLE_SWEEP_S.
 * One pass over the connections here instead of lws_set_timeout() on every
 * frame: lws 4.1 keeps its timeouts in one sorted list, so re-arming one per
 * frame walked all the connections (bench/chat: 47 % of the service thread
 * with 10,000 connections open).
 */
static void sweep_idle(struct hg_chat *c)
{
    double now = now_seconds();
    if (now < c->next_idle_sweep)
        return;
    c->next_idle_sweep = now + IDLE_SWEEP_S;
    for (struct conn *k = c->all; k != NULL; k = k->next_all)
        if (!k->closing && now - k->last_rx > c->s.idle_timeout) {
            k->closing = true;
            k->close_status = LWS_CLOSE_STATUS_GOINGAWAY;
            snprintf(k->close_reason, sizeof k->close_reason, "idle");
            lws_callback_on_writable(k->wsi);
        }
}

static void went_offline(struct hg_chat *c, struct conn *k)
{
    if (k->state != CONN_READY)
        return;
    struct job *j = hg_xcalloc(1, sizeof(*j));
    j->kind = JOB_PRESENCE;
    j->sessions = hg_xcalloc(1, sizeof(*j->sessions));
    j->sessions[0] = k->session_id;
    j->n_sessions = 1;
    j->online = false;
    post_job(c, j);
}

/* ------------------------------------------------------------------------ */
/* libwebsockets callbacks.                                                */

static bool origin_allowed(struct hg_chat *c, struct lws *wsi)
{
    char origin[256];
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0)
        return true; /* not a browser: browsers always send Origin with a websocket */
    if (len >= (int)sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
        return false;
    for (char **o = c->origins; o != NULL && *o != NULL; o++)
        if (strcasecmp(*o, origin) == 0)
            return true;
    hg_log_warn("chat_origin_refused", "origin=%s", HG_Q(origin));
    return false;
}

static int admit(struct hg_chat *c, struct lws *wsi, struct conn *k)
{
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    if (!origin_allowed(c, wsi))
        return -1;
    if ((int)atomic_load(&c->n_conns) >= c->s.max_connections) {
        hg_log_warn("chat_full", "ip=%s connections=%zu", HG_Q(ip), atomic_load(&c->n_conns));
        return -1;
    }
    struct ip_entry *e = ip_entry(c, ip);
    if (e->connections >= c->s.per_ip_connections) {
        hg_log_warn("chat_ip_full", "ip=%s connections=%d", HG_Q(ip), e->connections);
        return -1;
    }
    memset(k, 0, sizeof(*k));
    e->connections++;
    k->ip = e;
    k->wsi = wsi;
    k->chat = c;
    k->out_tail = &k->out_head;
    hg_buf_init(&k->rx, c->s.max_frame + 1);
    hg_token_bucket_init(&k->bucket, c->s.rate, c->s.burst, now_seconds());
    register_conn(c, k);
    return 0;
}

static void forget(struct hg_chat *c, struct conn *k)
{
    if (k->chat == NULL)
        return; /* never admitted */
    went_offline(c, k);
    unregister_conn(c, k);
    ip_release(c, k->ip);
    while (k->out_head != NULL) {
        struct frame_out *f = k->out_head;
        k->out_head = f->next;
        free(f);
    }
    hg_buf_free(&k->rx);
    free(k->name);
    free(k->email);
    free(k->lang);
    k->chat = NULL;
}

static int write_next(struct conn *k)
{
    struct frame_out *f = k->out_head;
    if (f != NULL) {
        if (lws_write(k->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len)
            return -1;
        k->out_head = f->next;
        if (k->out_head == NULL)
            k->out_tail = &k->out_head;
        k->out_count--;
        free(f);
        if (k->out_head != NULL || k->closing) {
            lws_callback_on_writable(k->wsi); /* one write per callback: the close comes next time */
            return 0;
        }
    }
    if (k->closing) {
        lws_close_reason(k->wsi, k->close_status, (unsigned char *)k->close_reason, strlen(k->close_reason));
        return -1;
    }
    return 0;
}

static int chat_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct hg_chat *c = lws_context_user(lws_get_context(wsi));
    struct conn *k = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return origin_allowed(c, wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        if (admit(c, wsi, k) < 0) {
            k->chat = NULL;
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"too many connections",
                             20);
            return -1;
        }
        k->last_rx = now_seconds();
        break;
    case LWS_CALLBACK_RECEIVE:
        if (k->chat != NULL && !k->closing)
            receive(c, k, in, len);
        if (k->chat != NULL && k->abusive) {
            static const char why[] = "too many refused frames";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, sizeof why - 1);
            return -1;
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (k->chat != NULL)
            return write_next(k);
        break;
    case LWS_CALLBACK_CLOSED:
        forget(c, k);
        break;
    default:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* /metrics                                                                */

/* One HTTP transaction of /metrics. */
struct http_pss {
    struct hg_buf body;
    size_t sent;
    bool active;
};

/* Is IP inside ENTRY ("ADDRESS" or "ADDRESS/BITS", IPv4 or IPv6)? */
static bool ip_in(const char *ip, const char *entry)
{
    char addr[64];
    int bits = -1;
    const char *slash = strchr(entry, '/');
    size_t len = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
    if (len >= sizeof addr)
        return false;
    memcpy(addr, entry, len);
    addr[len] = '\0';
    if (slash != NULL)
        bits = atoi(slash + 1);
    unsigned char want[16], have[16];
    int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
    size_t size = family == AF_INET6 ? 16 : 4;
    if (inet_pton(family, addr, want) != 1 || inet_pton(family, ip, have) != 1)
        return false;
    if (bits < 0 || bits > (int)size * 8)
        bits = (int)size * 8;
    for (int i = 0; i < bits; i++)
        if (((want[i / 8] ^ have[i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return true;
}

static bool metrics_allowed(const struct hg_chat *c, const char *ip)
{
    for (char **e = c->metrics_allow; e != NULL && *e != NULL; e++)
        if (ip_in(ip, *e))
            return true;
    return false;
}

static int metrics_begin(struct hg_chat *c, struct lws *wsi, struct http_pss *pss)
{
    unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof buf - 1];
    char uri[64] = "", ip[64] = "";
    /* lws also calls here for what the file mount does not find: that is a 404, not the metrics. */
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/metrics") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return -1;
    }
    lws_get_peer_simple(wsi, ip, sizeof ip);
    if (!metrics_allowed(c, ip)) {
        hg_log_warn("metrics_refused", "ip=%s", HG_Q(ip));
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "metrics are not served to this address");
        return -1;
    }
    hg_buf_init(&pss->body, 16 * 1024 * 1024);
    pss->active = true;
    pss->sent = 0;
    hg_metrics_render(&pss->body);
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, HG_METRICS_TEXT_CONTENT_TYPE, pss->body.len, &p,
                                    end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int metrics_write(struct lws *wsi, struct http_pss *pss)
{
    if (!pss->active)
        return 0;
    unsigned char buf[LWS_PRE + 4096];
    size_t n = pss->body.len - pss->sent < 4096 ? pss->body.len - pss->sent : 4096;
    bool last = pss->sent + n == pss->body.len;
    if (n > 0)
        memcpy(buf + LWS_PRE, pss->body.data + pss->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    pss->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void metrics_end(struct http_pss *pss)
{
    if (pss != NULL && pss->active) {
        hg_buf_free(&pss->body);
        pss->active = false;
    }
}

/* The HTTP side: files from the mount, /metrics; and the service loop's wake-ups. */
static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct hg_chat *c = lws_context_user(lws_get_context(wsi));
    struct http_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* a websocket without our subprotocol */
    case LWS_CALLBACK_HTTP:
        return metrics_begin(c, wsi, pss); /* the only callback mount is /metrics */
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return metrics_write(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        metrics_end(pss);
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        deliver_all(c);
        refresh_presence(c);
        sweep_idle(c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static void lws_log_line(int level, const char *line)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", line);
    copy[strcspn(copy, "\r\n")] = '\0';
    if (level & LLL_ERR)
        hg_log_error("chat_lws", "message=%s", HG_Q(copy));
    else
        hg_log_warn("chat_lws", "message=%s", HG_Q(copy));
}

static void *service_main(void *arg)
{
    struct hg_chat *c = arg;
    while (!atomic_load(&c->stop)) {
        if (lws_service(c->context, 0) < 0)
            break;
        deliver_all(c);
        refresh_presence(c);
        sweep_idle(c);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop.                                                         */

static int split_listen(const char *listen, char *host, size_t size, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= size)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

static char **copy_list(char *const *list)
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL)
        n++;
    char **out = hg_xcalloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = hg_xstrdup(list[i]);
    return out;
}

static void copy_settings(struct hg_chat *c, const struct hg_chat_settings *s)
{
    c->s = *s;
    c->s.listen = dup_or_null(s->listen);
    c->s.tls_cert = dup_or_null(s->tls_cert);
    c->s.tls_key = dup_or_null(s->tls_key);
    c->s.widget_dir = dup_or_null(s->widget_dir);
    c->s.db.conninfo = dup_or_null(s->db.conninfo);
    c->s.db.password_file = dup_or_null(s->db.password_file);
    c->s.db.application_name = dup_or_null(s->db.application_name);
    c->s.store.support_address = dup_or_null(s->store.support_address);
    c->s.store.support_domain = dup_or_null(s->store.support_domain);
    c->origins = copy_list(s->allowed_origins);
    c->metrics_allow = copy_list(s->metrics_allow);
    if (c->s.workers <= 0)
        c->s.workers = 2;
}

static void free_settings(struct hg_chat *c)
{
    free((char *)c->s.listen);
    free((char *)c->s.tls_cert);
    free((char *)c->s.tls_key);
    free((char *)c->s.widget_dir);
    free((char *)c->s.db.conninfo);
    free((char *)c->s.db.password_file);
    free((char *)c->s.db.application_name);
    free((char *)c->s.store.support_address);
    free((char *)c->s.store.support_domain);
    for (char **o = c->origins; o != NULL && *o != NULL; o++)
        free(*o);
    free(c->origins);
    for (char **o = c->metrics_allow; o != NULL && *o != NULL; o++)
        free(*o);
    free(c->metrics_allow);
}

static struct lws_context *make_context(struct hg_chat *c, char **error_r)
{
    char host[128];
    int port;
    if (split_listen(c->s.listen, host, sizeof host, &port) < 0) {
        *error_r = hg_xasprintf("[chat] listen = %s is not ADDRESS:PORT", c->s.listen);
        return NULL;
    }
    c->mount = (struct lws_http_mount){.mountpoint = "/",
                                       .mountpoint_len = 1,
                                       .origin = c->s.widget_dir,
                                       .def = "index.html",
                                       .origin_protocol = LWSMPRO_FILE};
    c->metrics_mount = (struct lws_http_mount){.mountpoint = "/metrics",
                                               .mountpoint_len = 8,
                                               .protocol = "http",
                                               .origin_protocol = LWSMPRO_CALLBACK};
    c->mount.mount_next = &c->metrics_mount;
    c->protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(struct http_pss), 0, 0, NULL, 0};
    c->protocols[1] = (struct lws_protocols){
        HG_CHAT_PROTOCOL, chat_callback, sizeof(struct conn), c->s.max_frame, 0, NULL, 0};
    int ping = c->s.ping_interval > 0 ? c->s.ping_interval : PING_INTERVAL_S;
    c->retry = (lws_retry_bo_t){.secs_since_valid_ping = (uint16_t)ping,
                                .secs_since_valid_hangup = (uint16_t)(ping * 2 + 10)};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host[0] != '\0' && strcmp(host, "*") != 0 ? host : NULL;
    info.protocols = c->protocols;
    info.mounts = &c->mount;
    info.user = c;
    info.retry_and_idle_policy = &c->retry;
    info.vhost_name = "helpgate-chat";
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (strchr(host, ':') == NULL);
    if (c->s.tls_cert != NULL) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = c->s.tls_cert;
        info.ssl_private_key_filepath = c->s.tls_key;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    struct lws_context *ctx = lws_create_context(&info);
    if (ctx == NULL)
        *error_r = hg_xasprintf("cannot listen on %s (in use, or the address or TLS files are wrong; the "
                                "log says more)",
                                c->s.listen);
    return ctx;
}

struct hg_chat *hg_chat_start(const struct hg_chat_settings *settings, char **error_r)
{
    struct hg_chat *c = hg_xcalloc(1, sizeof(*c));
    copy_settings(c, settings);
    queue_init(&c->jobs);
    queue_init(&c->done);
    pthread_rwlock_init(&c->pause, NULL);
    atomic_init(&c->stop, false);
    atomic_init(&c->n_conns, 0);
    c->context = make_context(c, error_r);
    if (c->context == NULL) {
        free_settings(c);
        free(c);
        return NULL;
    }
    c->n_workers = c->s.workers;
    c->worker_threads = hg_xcalloc((size_t)c->n_workers, sizeof(*c->worker_threads));
    for (int i = 0; i < c->n_workers; i++)
        pthread_create(&c->worker_threads[i], NULL, worker_main, c);
    pthread_create(&c->listener_thread, NULL, listener_main, c);
    pthread_create(&c->service_thread, NULL, service_main, c);
    hg_log_info("chat_listening", "listen=%s tls=%s widget_dir=%s", HG_Q(c->s.listen),
                c->s.tls_cert ? "yes" : "no", HG_Q(c->s.widget_dir));
    return c;
}

void hg_chat_pause(struct hg_chat *c)
{
    if (c != NULL)
        pthread_rwlock_wrlock(&c->pause);
}

void hg_chat_resume(struct hg_chat *c, const struct hg_chat_store_settings *store)
{
    if (c == NULL)
        return;
    c->s.store.rules = store->rules;
    c->s.store.mailloop = store->mailloop;
    pthread_rwlock_unlock(&c->pause);
}

size_t hg_chat_connections(const struct hg_chat *c)
{
    return c != NULL ? atomic_load(&c->n_conns) : 0;
}

void hg_chat_stop(struct hg_chat **chatp)
{
    struct hg_chat *c = *chatp;
    if (c == NULL)
        return;
    atomic_store(&c->stop, true);
    lws_cancel_service(c->context);
    pthread_join(c->service_thread, NULL);
    pthread_mutex_lock(&c->jobs.lock);
    pthread_cond_broadcast(&c->jobs.ready);
    pthread_mutex_unlock(&c->jobs.lock);
    for (int i = 0; i < c->n_workers; i++)
        pthread_join(c->worker_threads[i], NULL);
    pthread_join(c->listener_thread, NULL);
    lws_context_destroy(c->context); /* closes the sockets: CLOSED for each */
    deliver_all(c);                  /* frees outcomes that arrived meanwhile */
    for (struct job *j = c->jobs.head; j != NULL;) {
        struct job *next = j->next;
        job_free(j);
        j = next;
    }
    free(c->worker_threads);
    free_settings(c);
    pthread_rwlock_destroy(&c->pause);
    free(c);
    *chatp = NULL;
}
