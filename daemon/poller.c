/*
 * poller.c — the per-mailbox IMAP intake thread (see poller.h).
 *
 * Order of work on every connection:
 *   1. SELECT the folder; a UIDVALIDITY that differs from the stored one
 *      means the server renumbered the folder: start again from UID 1 (the
 *      Message-ID key keeps that rescan free of duplicates);
 *   2. repair: messages stored but not yet flagged/moved (a crash between
 *      the commit and the IMAP command) get their action now; only UIDs
 *      that intake_seen records as stored, so a message passed over below
 *      keeps no flag it does not deserve;
 *   3. fetch every UID above last_uid in batches. A batch is one
 *      transaction: BEGIN, every message, the new last_uid, COMMIT (a kill
 *      anywhere before the commit leaves nothing, after it the position and
 *      the messages together). Inside it the store is in pipeline mode and
 *      each message is stored once the two after it are fetched, so that the
 *      ingest can prepare them while the server works (poller.h,
 *      mail_ingest.c). If a statement fails, the batch is rolled back
 *      and fetched again, and each message then gets its own transaction (the
 *      intake's unique-violation retry works there): a message the database
 *      refuses for its own data, while others of the batch are stored, is
 *      logged and passed over; any other failure stops the batch, keeps what
 *      was committed, and the session retries. The batch's action runs after
 *      its commit(s), then acted_uid is saved;
 *   4. wait (IDLE or poll), then go back to 3.
 * The lease is checked before every batch; a lost lease ends the session.
 */
#include "helpgate/poller.h"

#include "helpgate/alloc.h"
#include "helpgate/backoff.h"
#include "helpgate/imap.h"
#include "helpgate/intake.h"
#include "helpgate/lease.h"
#include "helpgate/log.h"
#include "helpgate/metrics.h"
#include "helpgate/pool.h"
#include "helpgate/secret.h"
#include "store_pg.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LEASE_RETRY_MS 3000
#define IDLE_ROUND_SECONDS 60
#define POOL_WAIT_MS 30000
#define IMAP_TIMEOUT_SECONDS 60
#define STORED_KEYWORD "$HelpgateStored"

struct hg_poller {
    struct hg_mailbox_config mb; /* our own copy */
    struct hg_poller_env env;
    pthread_t thread;
    int wake_fd; /* eventfd: written to stop the thread */
    atomic_bool stopping;
    struct hg_backoff backoff;
    uint64_t lease_token;
    bool lease_held;
    bool lease_elsewhere_logged;
};

struct mailbox_position {
    uint32_t uidvalidity;
    uint32_t last_uid;
    uint32_t acted_uid;
};

/* ---- config copy ---------------------------------------------------------------------------- */

static char *dup_opt(const char *s)
{
    return s ? hg_xstrdup(s) : NULL;
}

static void copy_mailbox(struct hg_mailbox_config *dst, const struct hg_mailbox_config *src)
{
    *dst = *src;
    dst->name = dup_opt(src->name);
    dst->host = dup_opt(src->host);
    dst->user = dup_opt(src->user);
    dst->password_file = dup_opt(src->password_file);
    dst->xoauth2_token_file = dup_opt(src->xoauth2_token_file);
    dst->folder = dup_opt(src->folder);
    dst->move_to = dup_opt(src->move_to);
}

static void free_mailbox(struct hg_mailbox_config *mb)
{
    free(mb->name);
    free(mb->host);
    free(mb->user);
    free(mb->password_file);
    free(mb->xoauth2_token_file);
    free(mb->folder);
    free(mb->move_to);
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool hg_poller_config_equal(const struct hg_poller *poller, const struct hg_mailbox_config *b)
{
    const struct hg_mailbox_config *a = &poller->mb;
    return same_str(a->name, b->name) && same_str(a->host, b->host) && a->port == b->port &&
           a->tls == b->tls && a->tls_verify == b->tls_verify && same_str(a->user, b->user) &&
           a->auth == b->auth && same_str(a->password_file, b->password_file) &&
           same_str(a->xoauth2_token_file, b->xoauth2_token_file) && same_str(a->folder, b->folder) &&
           a->after_ingest == b->after_ingest && same_str(a->move_to, b->move_to) &&
           a->poll_interval == b->poll_interval && a->idle == b->idle &&
           a->max_message_size == b->max_message_size && a->batch_size == b->batch_size;
}

const char *hg_poller_name(const struct hg_poller *poller)
{
    return poller->mb.name;
}

/* ---- waiting -------------------------------------------------------------------------------- */

static bool stopping(struct hg_poller *p)
{
    return atomic_load(&p->stopping);
}

/* Sleeps MS or until asked to stop. */
static void nap(struct hg_poller *p, unsigned ms)
{
    struct pollfd pfd = {.fd = p->wake_fd, .events = POLLIN};
    if (!stopping(p))
        poll(&pfd, 1, (int)ms);
}

static void retry_later(struct hg_poller *p, const char *event, const char *error)
{
    unsigned delay = hg_backoff_next_ms(&p->backoff);
    hg_log_warn(event, "mailbox=%s host=%s attempt=%u retry_in_ms=%u error=%s", HG_Q(p->mb.name),
                HG_Q(p->mb.host), p->backoff.attempt, delay, HG_Q(error));
    hg_metrics_count(HG_METRIC_IMAP_ERRORS, p->mb.name);
    nap(p, delay);
}

/* ---- database position ---------------------------------------------------------------------- */

static int load_position(struct hg_poller *p, struct mailbox_position *pos, char **error_r)
{
    memset(pos, 0, sizeof(*pos));
    struct hg_store *store = hg_pool_get(p->env.pool, POOL_WAIT_MS, error_r);
    if (store == NULL)
        return -1;
    const char *params[] = {p->mb.name};
    PGresult *res = hg_pg_exec(store,
                               "SELECT COALESCE(uidvalidity, 0), last_uid, acted_uid FROM mailbox_state"
                               " WHERE mailbox = $1",
                               1, params, error_r);
    if (res != NULL && PQntuples(res) > 0) {
        pos->uidvalidity = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        pos->last_uid = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
        pos->acted_uid = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    hg_pool_put(p->env.pool, &store);
    return res == NULL ? -1 : 0;
}

/* The position's upsert, on STORE (inside the caller's transaction, if any). */
static int write_position(struct hg_store *store, const char *mailbox, const struct mailbox_position *pos,
                          char **error_r)
{
    char uidvalidity[16], last_uid[16], acted_uid[16];
    snprintf(uidvalidity, sizeof(uidvalidity), "%u", pos->uidvalidity);
    snprintf(last_uid, sizeof(last_uid), "%u", pos->last_uid);
    snprintf(acted_uid, sizeof(acted_uid), "%u", pos->acted_uid);
    const char *params[] = {mailbox, uidvalidity, last_uid, acted_uid};
    return hg_pg_command(store,
                         "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid, acted_uid)"
                         " VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox) DO UPDATE"
                         " SET uidvalidity = $2, last_uid = $3, acted_uid = $4, updated_at = now()",
                         4, params, error_r);
}

static int save_position(struct hg_poller *p, const struct mailbox_position *pos, char **error_r)
{
    struct hg_store *store = hg_pool_get(p->env.pool, POOL_WAIT_MS, error_r);
    if (store == NULL)
        return -1;
    int rc = write_position(store, p->mb.name, pos, error_r);
    hg_pool_put(p->env.pool, &store);
    return rc;
}

/* The UIDs in FIRST..LAST that intake_seen records as stored, ascending. */
static int load_stored_uids(struct hg_poller *p, const struct mailbox_position *pos, uint32_t first,
                            uint32_t last, uint32_t **uids_r, size_t *n_r, char **error_r)
{
    *uids_r = NULL;
    *n_r = 0;
    struct hg_store *store = hg_pool_get(p->env.pool, POOL_WAIT_MS, error_r);
    if (store == NULL)
        return -1;
    char uidvalidity[16], from[16], to[16];
    snprintf(uidvalidity, sizeof(uidvalidity), "%u", pos->uidvalidity);
    snprintf(from, sizeof(from), "%u", first);
    snprintf(to, sizeof(to), "%u", last);
    const char *params[] = {p->mb.name, uidvalidity, from, to};
    PGresult *res = hg_pg_exec(store,
                               "SELECT uid FROM intake_seen WHERE mailbox = $1 AND uidvalidity = $2"
                               " AND uid BETWEEN $3 AND $4 ORDER BY uid",
                               4, params, error_r);
    hg_pool_put(p->env.pool, &store);
    if (res == NULL)
        return -1;
    size_t n = (size_t)PQntuples(res);
    *uids_r = hg_xcalloc(n + 1, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        (*uids_r)[i] = (uint32_t)strtoul(PQgetvalue(res, (int)i, 0), NULL, 10);
    *n_r = n;
    PQclear(res);
    return 0;
}

/* Keeps in UIDS (ascending) only those also in KEEP (ascending); returns how many are left. */
static size_t intersect_uids(uint32_t *uids, size_t n, const uint32_t *keep, size_t n_keep)
{
    size_t out = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < n_keep && keep[j] < uids[i])
            j++;
        if (j < n_keep && keep[j] == uids[i])
            uids[out++] = uids[i];
    }
    return out;
}

/* ---- IMAP session --------------------------------------------------------------------------- */

static struct hg_imap *connect_imap(struct hg_poller *p, char **error_r)
{
    char *secret = NULL;
    const char *file = p->mb.auth == HG_AUTH_XOAUTH2 ? p->mb.xoauth2_token_file : p->mb.password_file;
    if (hg_secret_read_file(file, &secret, NULL, error_r) < 0)
        return NULL;
    struct hg_imap_params params = {
        .host = p->mb.host,
        .port = p->mb.port,
        .tls = p->mb.tls == HG_TLS_IMPLICIT   ? HG_IMAP_TLS_IMPLICIT
               : p->mb.tls == HG_TLS_STARTTLS ? HG_IMAP_TLS_STARTTLS
                                              : HG_IMAP_TLS_NONE,
        .tls_verify = p->mb.tls_verify,
        .user = p->mb.user,
        .password = p->mb.auth == HG_AUTH_PASSWORD ? secret : NULL,
        .xoauth2_token = p->mb.auth == HG_AUTH_XOAUTH2 ? secret : NULL,
        .timeout_seconds = IMAP_TIMEOUT_SECONDS,
    };
    struct hg_imap *imap = hg_imap_connect(&params, error_r);
    hg_secret_free(&secret);
    return imap;
}

/* Flags or moves UIDS after their commit. */
static int apply_action(struct hg_poller *p, struct hg_imap *imap, const uint32_t *uids, size_t n,
                        char **error_r)
{
    if (n == 0)
        return 0;
    if (p->mb.after_ingest == HG_AFTER_MOVE)
        return hg_imap_move(imap, uids, n, p->mb.move_to, error_r);
    static const char *const flags[] = {"\\Seen", STORED_KEYWORD, NULL};
    return hg_imap_add_flags(imap, uids, n, flags, error_r);
}

/*
 * Messages committed before a crash but never flagged/moved get their action now: those of
 * acted_uid+1..last_uid that the server still has and intake_seen records as stored.
 */
static int repair_actions(struct hg_poller *p, struct hg_imap *imap, struct mailbox_position *pos,
                          char **error_r)
{
    if (pos->acted_uid >= pos->last_uid)
        return 0;
    uint32_t *uids = NULL, *stored = NULL;
    size_t n = 0, n_stored = 0;
    if (hg_imap_uid_search_range(imap, pos->acted_uid + 1, pos->last_uid, &uids, &n, error_r) < 0)
        return -1;
    if (n > 0 &&
        load_stored_uids(p, pos, pos->acted_uid + 1, pos->last_uid, &stored, &n_stored, error_r) < 0) {
        free(uids);
        return -1;
    }
    n = intersect_uids(uids, n, stored, n_stored);
    free(stored);
    int rc = apply_action(p, imap, uids, n, error_r);
    free(uids);
    if (rc < 0)
        return -1;
    if (n > 0)
        hg_log_info("imap_actions_repaired", "mailbox=%s messages=%zu", HG_Q(p->mb.name), n);
    pos->acted_uid = pos->last_uid;
    return save_position(p, pos, error_r);
}

/* ---- one batch ------------------------------------------------------------------------------ */

/* How many fetched messages a transaction's batch holds back (see struct batch). */
#define HELD_MAX 2

/* A stored message, kept for its log line (after the commit) and its action. */
struct stored {
    uint32_t uid;
    size_t bytes;
    double seconds; /* parsing and storing it took */
    struct hg_intake_result result;
};

/* A message the database refused for its own data (replay only). */
struct rejected {
    uint32_t uid;
    char sqlstate[6];
    char *error;
};

struct batch {
    struct hg_poller *p;
    struct hg_store *store;
    const struct mailbox_position *pos;
    size_t capacity;       /* UIDs asked for: the most either list can hold */
    bool in_transaction;   /* true: the whole batch in our transaction; false: one per message */
    struct stored *stored; /* in UID order */
    size_t n_stored;
    struct rejected *rejected;
    size_t n_rejected;
    uint32_t last_uid;   /* the highest UID stored or passed over */
    uint32_t warned_uid; /* too-large warnings are logged once per UID, not again on a replay */
    bool store_failed;   /* a statement failed (not IMAP, not stopping) */
    char *error;         /* the store's reason for stopping */
    /* In one transaction, a message is stored when the two after it have arrived (or the fetch
     * ends), so that the ingest can prepare them while the server stores it (see
     * hg_poller_message.next). Their bytes are copied: the last ones are stored after
     * hg_imap_fetch_bodies() has returned and freed them. */
    struct held_message {
        struct hg_poller_message msg;
        char *raw; /* owned; MSG.raw */
        size_t capacity;
    } held[HELD_MAX];
    size_t n_held;
    void *ingest_state; /* the ingest's, across one transaction (hg_poller_env.batch_done frees it) */
};

/* Keeps the first error of several: *FIRST takes ERROR when empty, else ERROR is freed. */
static void keep_first_error(char **first, char *error)
{
    if (*first == NULL)
        *first = error;
    else
        free(error);
}

static void log_stored(const struct hg_poller *p, const struct stored *s)
{
    hg_log_info("message_stored", "mailbox=%s uid=%u outcome=%s ticket=%lld message=%lld bytes=%zu",
                HG_Q(p->mb.name), s->uid, hg_intake_outcome_name(s->result.outcome), s->result.ticket_number,
                s->result.message_row_id, s->bytes);
    hg_metrics_count(HG_METRIC_INTAKE, hg_intake_outcome_name(s->result.outcome));
    if (s->result.outcome != HG_INTAKE_DUPLICATE) {
        hg_metrics_count(HG_METRIC_MESSAGES_IN, "email");
        hg_metrics_intake_seconds("email", s->seconds);
    }
}

/* Forgets what the batch stored: its transaction was rolled back. */
static void batch_reset(struct batch *b)
{
    b->n_stored = 0;
    for (size_t i = 0; i < b->n_rejected; i++)
        free(b->rejected[i].error);
    b->n_rejected = 0;
    b->last_uid = b->pos->last_uid;
    b->store_failed = false;
}

static void reject(struct batch *b, uint32_t uid, char *error)
{
    struct rejected *r = &b->rejected[b->n_rejected++];
    r->uid = uid;
    snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", hg_pg_last_sqlstate(b->store));
    r->error = error;
    if (uid > b->last_uid)
        b->last_uid = uid;
}

/* Stores MSG (NEXT: the message stored after it, or NULL): 0, or -1 to stop the fetch. */
static int store_message(struct batch *b, const struct hg_poller_message *msg,
                         const struct hg_poller_message *next)
{
    struct hg_poller *p = b->p;
    struct hg_poller_message m = *msg;
    m.next = next;
    m.batch_state = b->in_transaction ? &b->ingest_state : NULL;
    struct stored *s = &b->stored[b->n_stored];
    char *error = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (p->env.ingest(b->store, &m, p->env.ingest_arg, &s->result, &error) == 0) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s->uid = m.uid;
        s->bytes = m.len;
        s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        b->n_stored++;
        if (m.uid > b->last_uid)
            b->last_uid = m.uid;
        if (!b->in_transaction)
            log_stored(p, s);
        return 0;
    }
    if (!b->in_transaction && hg_intake_failure_is_message_specific(b->store)) {
        reject(b, m.uid, error); /* its own transaction is gone; the others go on */
        return 0;
    }
    b->store_failed = true;
    keep_first_error(&b->error, error);
    return -1;
}

/* Stores the oldest held message, its followers as its NEXT chain: 0, or -1 to stop the fetch. */
static int store_oldest_held(struct batch *b, const struct hg_poller_message *newest)
{
    for (size_t i = 0; i < b->n_held; i++)
        b->held[i].msg.next = i + 1 < b->n_held ? &b->held[i + 1].msg : newest;
    int rc = store_message(b, &b->held[0].msg, b->held[0].msg.next);
    struct held_message first = b->held[0]; /* its buffer is reused at the end of the ring */
    memmove(&b->held[0], &b->held[1], (b->n_held - 1) * sizeof(b->held[0]));
    b->held[--b->n_held] = first;
    return rc;
}

static void hold(struct batch *b, const struct hg_poller_message *msg)
{
    struct held_message *h = &b->held[b->n_held++];
    if (msg->len + 1 > h->capacity) {
        free(h->raw);
        h->capacity = msg->len + 1;
        h->raw = hg_xmalloc(h->capacity);
    }
    memcpy(h->raw, msg->raw, msg->len);
    h->msg = *msg;
    h->msg.raw = h->raw;
    h->msg.next = NULL;
}

/* The fetch callback: stores one message, in the batch's transaction (held back) or in its own. */
static int store_one(uint32_t uid, const char *raw, size_t len, bool truncated, void *arg)
{
    struct batch *b = arg;
    struct hg_poller *p = b->p;
    if (stopping(p) || b->n_stored + b->n_rejected + b->n_held >= b->capacity)
        return -1;
    if (truncated && uid > b->warned_uid)
        hg_log_warn("imap_message_too_large", "mailbox=%s uid=%u max_message_size=%ld", HG_Q(p->mb.name), uid,
                    p->mb.max_message_size);
    if (uid > b->warned_uid)
        b->warned_uid = uid;
    struct hg_poller_message msg = {.mailbox = p->mb.name,
                                    .uidvalidity = b->pos->uidvalidity,
                                    .uid = uid,
                                    .raw = raw,
                                    .len = len,
                                    .truncated = truncated,
                                    .in_transaction = b->in_transaction};
    if (!b->in_transaction)
        return store_message(b, &msg, NULL);
    if (b->n_held == HELD_MAX && store_oldest_held(b, &msg) < 0)
        return -1;
    hold(b, &msg);
    return 0;
}

/*
 * The end of the fetch in one transaction: the held messages, then the ingest's state. Also
 * when stopping: the ingest may have sent a held message's statements already, and what it
 * sent must be finished (its acknowledgement queued) in this transaction.
 */
static void store_held(struct batch *b)
{
    while (b->n_held > 0 && !b->store_failed)
        (void)store_oldest_held(b, NULL);
    b->n_held = 0;
    if (b->ingest_state != NULL && b->p->env.batch_done != NULL)
        b->p->env.batch_done(b->ingest_state, b->p->env.ingest_arg, b->store);
    b->ingest_state = NULL;
}

/* Sends SQL; on failure marks the batch failed with the reason. */
static int batch_command(struct batch *b, const char *sql)
{
    char *error = NULL;
    if (hg_pg_command(b->store, sql, 0, NULL, &error) == 0)
        return 0;
    b->store_failed = true;
    keep_first_error(&b->error, error);
    return -1;
}

static void rollback(struct batch *b)
{
    PGconn *conn = hg_store_conn(b->store);
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

/*
 * The batch in one transaction: BEGIN, every message, the position, COMMIT.
 * Returns 0 when committed (the fetch may have stopped early: *FETCH_ERROR
 * says why); -1 when nothing was (b->store_failed: a statement failed, and
 * the batch is rolled back).
 */
static int store_in_one_transaction(struct batch *b, struct hg_imap *imap, const uint32_t *uids, size_t n,
                                    char **fetch_error)
{
    struct hg_poller *p = b->p;
    b->in_transaction = true;
    if (batch_command(b, "BEGIN") < 0)
        return -1;
    char *error = NULL;
    if (hg_pg_pipeline_enter(b->store, &error) < 0) {
        b->store_failed = true;
        keep_first_error(&b->error, error);
    }
    /* An IMAP failure or a stop ends the fetch early: what was stored is committed all the same. */
    if (!b->store_failed)
        (void)hg_imap_fetch_bodies(imap, uids, n, (size_t)p->mb.max_message_size, store_one, b, fetch_error);
    store_held(b);
    if (hg_pg_pipeline_leave(b->store, &error) < 0) {
        b->store_failed = true;
        keep_first_error(&b->error, error);
    }
    if (!b->store_failed && b->n_stored > 0) {
        struct mailbox_position next = *b->pos;
        next.last_uid = b->last_uid;
        if (write_position(b->store, p->mb.name, &next, &error) < 0) {
            b->store_failed = true;
            keep_first_error(&b->error, error);
        }
    }
    if (!b->store_failed && batch_command(b, "COMMIT") == 0) {
        for (size_t i = 0; i < b->n_stored; i++)
            log_stored(p, &b->stored[i]);
        return 0;
    }
    rollback(b);
    batch_reset(b);
    b->store_failed = true;
    return -1;
}

/*
 * The replay: every message of the batch in its own transaction (fetched
 * again; nothing was flagged). Refused messages are passed over only when
 * some message of the batch was stored: when all fail, the cause is not
 * one message, and the batch fails as a whole. Returns 0, or -1 when the
 * replay stopped (b->error says why; what was committed stays).
 */
static int store_one_by_one(struct batch *b, struct hg_imap *imap, const uint32_t *uids, size_t n,
                            char **fetch_error)
{
    struct hg_poller *p = b->p;
    b->in_transaction = false;
    int rc = hg_imap_fetch_bodies(imap, uids, n, (size_t)p->mb.max_message_size, store_one, b, fetch_error);
    if (b->n_stored == 0 && b->n_rejected > 0) {
        char *error = hg_xasprintf("every message of the batch failed, so the cause is not one message: %s",
                                   b->rejected[0].error);
        keep_first_error(&b->error, error);
        batch_reset(b);
        return -1;
    }
    for (size_t i = 0; i < b->n_rejected; i++) {
        const struct rejected *r = &b->rejected[i];
        hg_log_error("message_rejected", "mailbox=%s uid=%u sqlstate=%s error=%s action=%s hint=%s",
                     HG_Q(p->mb.name), r->uid, HG_Q(r->sqlstate), HG_Q(r->error),
                     HG_Q("not stored; left on the server without the stored flag and not fetched again"),
                     HG_Q("fix the cause, then move the message out of the folder and back: it gets a new "
                          "UID, which is fetched"));
    }
    return rc;
}

/* Flags or moves what the batch stored, then saves the position. Returns 0 or -1 (*ERROR set). */
static int finish_batch(struct hg_poller *p, struct hg_imap *imap, struct mailbox_position *pos,
                        const struct batch *b, char **error)
{
    if (b->last_uid == pos->last_uid && b->n_stored == 0)
        return 0;
    pos->last_uid = b->last_uid;
    int rc = 0;
    uint32_t *uids = hg_xcalloc(b->n_stored + 1, sizeof(uint32_t));
    for (size_t i = 0; i < b->n_stored; i++)
        uids[i] = b->stored[i].uid;
    char *step_error = NULL;
    if (apply_action(p, imap, uids, b->n_stored, &step_error) == 0) {
        pos->acted_uid = pos->last_uid;
    } else {
        rc = -1;
        keep_first_error(error, step_error);
    }
    free(uids);
    hg_log_info("imap_batch_stored", "mailbox=%s messages=%zu rejected=%zu last_uid=%u transaction=%s",
                HG_Q(p->mb.name), b->n_stored, b->n_rejected, pos->last_uid,
                b->in_transaction ? "batch" : "per_message");
    step_error = NULL;
    if (save_position(p, pos, &step_error) < 0) {
        rc = -1;
        keep_first_error(error, step_error);
    }
    return rc;
}

/* Whether a failed batch may be stored again message by message on the same connection. */
static bool may_replay(struct hg_poller *p, const struct batch *b)
{
    return b->store_failed && !stopping(p) && hg_store_is_ok(b->store) &&
           PQtransactionStatus(hg_store_conn(b->store)) == PQTRANS_IDLE;
}

/* After a rolled-back batch: logs why, forgets the first attempt's errors, stores one by one. */
static int replay(struct batch *b, struct hg_imap *imap, const uint32_t *uids, size_t n, char **fetch_error)
{
    hg_log_warn("imap_batch_replayed", "mailbox=%s first_uid=%u last_uid=%u messages=%zu error=%s action=%s",
                HG_Q(b->p->mb.name), uids[0], uids[n - 1], n, HG_Q(b->error),
                HG_Q("rolled back; storing the batch again, one message per transaction"));
    free(b->error);
    b->error = NULL;
    free(*fetch_error);
    *fetch_error = NULL;
    return store_one_by_one(b, imap, uids, n, fetch_error);
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n_rejected; i++)
        free(b->rejected[i].error);
    free(b->rejected);
    free(b->stored);
    for (size_t i = 0; i < HELD_MAX; i++)
        free(b->held[i].raw);
}

/*
 * Fetches and stores UIDS (see the top of this file). Whatever was committed
 * then gets its action and its position saved, even when the batch stopped
 * early; a failed action is repaired on the next connection (acted_uid stays
 * behind last_uid).
 */
static int ingest_batch(struct hg_poller *p, struct hg_imap *imap, struct mailbox_position *pos,
                        const uint32_t *uids, size_t n, char **error_r)
{
    struct batch b = {.p = p,
                      .pos = pos,
                      .capacity = n,
                      .stored = hg_xcalloc(n, sizeof(struct stored)),
                      .rejected = hg_xcalloc(n, sizeof(struct rejected)),
                      .last_uid = pos->last_uid};
    b.store = hg_pool_get(p->env.pool, POOL_WAIT_MS, error_r);
    if (b.store == NULL) {
        free(b.stored);
        free(b.rejected);
        return -1;
    }
    char *fetch_error = NULL;
    int rc = store_in_one_transaction(&b, imap, uids, n, &fetch_error);
    if (rc < 0 && may_replay(p, &b))
        rc = replay(&b, imap, uids, n, &fetch_error);
    hg_pool_put(p->env.pool, &b.store);
    /* The store's reason is the real one, not "stopped by the caller". */
    char *error = b.error;
    if (fetch_error != NULL) {
        rc = -1;
        keep_first_error(&error, fetch_error);
    }
    if (finish_batch(p, imap, pos, &b, &error) < 0)
        rc = -1;
    batch_free(&b);
    if (rc < 0) {
        *error_r = error != NULL ? error : hg_xstrdup(stopping(p) ? "stopping" : "batch failed");
        return -1;
    }
    free(error);
    return 0;
}

/* False (logged) when the lease was lost, e.g. its database connection dropped. */
static bool still_leased(struct hg_poller *p)
{
    if (hg_lease_held(p->env.leases, p->lease_token))
        return true;
    p->lease_held = false;
    hg_log_warn("mailbox_lease_lost", "mailbox=%s reason=%s", HG_Q(p->mb.name),
                HG_Q("the lease's database connection dropped; taking it again"));
    return false;
}

/* Stores every message above last_uid. */
static int drain_new(struct hg_poller *p, struct hg_imap *imap, struct mailbox_position *pos, char **error_r)
{
    uint32_t *uids = NULL;
    size_t n = 0;
    if (hg_imap_uid_search_range(imap, pos->last_uid + 1, 0, &uids, &n, error_r) < 0)
        return -1;
    size_t batch = p->mb.batch_size > 0 ? (size_t)p->mb.batch_size : 100;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0 && !stopping(p); i += batch) {
        if (!still_leased(p))
            break;
        rc = ingest_batch(p, imap, pos, uids + i, n - i < batch ? n - i : batch, error_r);
    }
    free(uids);
    return rc;
}

static int select_folder(struct hg_poller *p, struct hg_imap *imap, struct mailbox_position *pos,
                         char **error_r)
{
    uint32_t uidvalidity = 0, uidnext = 0, exists = 0;
    if (hg_imap_select(imap, p->mb.folder, &uidvalidity, &uidnext, &exists, error_r) < 0)
        return -1;
    if (load_position(p, pos, error_r) < 0)
        return -1;
    if (pos->uidvalidity != 0 && pos->uidvalidity != uidvalidity) {
        hg_log_warn("imap_uidvalidity_changed", "mailbox=%s folder=%s old=%u new=%u action=rescan",
                    HG_Q(p->mb.name), HG_Q(p->mb.folder), pos->uidvalidity, uidvalidity);
        pos->last_uid = 0;
        pos->acted_uid = 0;
    }
    if (pos->uidvalidity != uidvalidity) {
        pos->uidvalidity = uidvalidity;
        if (save_position(p, pos, error_r) < 0)
            return -1;
    }
    if (p->mb.after_ingest == HG_AFTER_FLAG && !hg_imap_keywords_allowed(imap))
        hg_log_info("imap_keywords_refused", "mailbox=%s folder=%s effect=%s", HG_Q(p->mb.name),
                    HG_Q(p->mb.folder), HG_Q("stored messages get \\Seen only, not " STORED_KEYWORD));
    hg_log_info("imap_selected", "mailbox=%s folder=%s uidvalidity=%u last_uid=%u exists=%u",
                HG_Q(p->mb.name), HG_Q(p->mb.folder), uidvalidity, pos->last_uid, exists);
    return 0;
}

/* Waits for news: IDLE when possible, else the poll interval. -1 when the connection failed. */
static int wait_for_mail(struct hg_poller *p, struct hg_imap *imap, char **error_r)
{
    if (p->mb.idle && hg_imap_has_idle(imap)) {
        bool changed = false;
        return hg_imap_idle_wait(imap, p->wake_fd, IDLE_ROUND_SECONDS, &changed, error_r);
    }
    nap(p, (unsigned)p->mb.poll_interval * 1000u);
    return stopping(p) ? 0 : hg_imap_noop(imap, error_r);
}

/* One IMAP connection's life. Returns when it fails, the lease is lost, or we stop. */
static void session(struct hg_poller *p)
{
    char *error = NULL;
    struct hg_imap *imap = connect_imap(p, &error);
    if (imap == NULL) {
        retry_later(p, "imap_connect_failed", error);
        free(error);
        return;
    }
    hg_log_info("imap_connected", "mailbox=%s host=%s port=%d idle=%s", HG_Q(p->mb.name), HG_Q(p->mb.host),
                p->mb.port, hg_imap_has_idle(imap) && p->mb.idle ? "yes" : "no");
    struct mailbox_position pos;
    int rc = select_folder(p, imap, &pos, &error);
    if (rc == 0)
        rc = repair_actions(p, imap, &pos, &error);
    /* The lease is checked every round, so an instance that only waits notices a loss too. */
    while (rc == 0 && !stopping(p) && p->lease_held && still_leased(p)) {
        rc = drain_new(p, imap, &pos, &error);
        if (rc == 0) {
            hg_backoff_reset(&p->backoff);
            if (!stopping(p) && p->lease_held)
                rc = wait_for_mail(p, imap, &error);
        }
    }
    if (rc < 0 && !stopping(p))
        retry_later(p, "imap_session_failed", error);
    free(error);
    hg_imap_free(&imap);
}

static bool take_lease(struct hg_poller *p)
{
    char *error = NULL;
    bool held = false;
    if (hg_lease_try(p->env.leases, p->mb.name, &held, &p->lease_token, &error) < 0) {
        retry_later(p, "mailbox_lease_failed", error);
        free(error);
        return false;
    }
    if (held) {
        if (!p->lease_held)
            hg_log_info("mailbox_lease_taken", "mailbox=%s", HG_Q(p->mb.name));
        p->lease_elsewhere_logged = false;
    } else if (!p->lease_elsewhere_logged) {
        hg_log_info("mailbox_lease_elsewhere", "mailbox=%s reason=%s", HG_Q(p->mb.name),
                    HG_Q("another helpgated polls this mailbox; this one stands by"));
        p->lease_elsewhere_logged = true;
    }
    p->lease_held = held;
    return held;
}

static void *poller_main(void *arg)
{
    struct hg_poller *p = arg;
    while (!stopping(p)) {
        if (!p->lease_held || !hg_lease_held(p->env.leases, p->lease_token)) {
            p->lease_held = false;
            if (!take_lease(p)) {
                nap(p, LEASE_RETRY_MS);
                continue;
            }
        }
        session(p);
    }
    if (p->lease_held)
        hg_lease_release(p->env.leases, p->mb.name);
    return NULL;
}

struct hg_poller *hg_poller_start(const struct hg_mailbox_config *mailbox, const struct hg_poller_env *env)
{
    struct hg_poller *p = hg_xcalloc(1, sizeof(*p));
    copy_mailbox(&p->mb, mailbox);
    p->env = *env;
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0)
        hg_log_panic("eventfd_failed", "mailbox=%s", HG_Q(mailbox->name));
    atomic_init(&p->stopping, false);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    hg_backoff_init(&p->backoff, 1000, 300000, (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)p);
    if (pthread_create(&p->thread, NULL, poller_main, p) != 0)
        hg_log_panic("thread_create_failed", "mailbox=%s", HG_Q(mailbox->name));
    return p;
}

void hg_poller_request_stop(struct hg_poller *poller)
{
    atomic_store(&poller->stopping, true);
    uint64_t one = 1;
    ssize_t ignored = write(poller->wake_fd, &one, sizeof(one));
    (void)ignored;
}

void hg_poller_stop(struct hg_poller **poller)
{
    struct hg_poller *p = *poller;
    if (p == NULL)
        return;
    hg_poller_request_stop(p);
    pthread_join(p->thread, NULL);
    close(p->wake_fd);
    free_mailbox(&p->mb);
    free(p);
    *poller = NULL;
}
