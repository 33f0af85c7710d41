/*
 * lease.c — mailbox leases as advisory locks on a dedicated connection (see lease.h).
 *
 * The lock key is hashtextextended('helpgate.mailbox:' || name, 0), computed by
 * the server so every instance agrees. A generation number counts the lease
 * connections this instance has had: a token is the generation at which a
 * lease was taken, so a reconnect invalidates every earlier token.
 */
#include "helpgate/lease.h"

#include "helpgate/alloc.h"
#include "store_pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define PING_INTERVAL_MS 1000

struct hg_leases {
    pthread_mutex_t lock;
    struct hg_store_params params;
    char *instance;
    struct hg_store *conn; /* NULL while disconnected */
    uint64_t generation;
    uint64_t last_ping_ms;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct hg_leases *hg_leases_new(const struct hg_store_params *params, const char *instance)
{
    struct hg_leases *l = hg_xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->params.conninfo = params->conninfo ? hg_xstrdup(params->conninfo) : NULL;
    l->params.password_file = params->password_file ? hg_xstrdup(params->password_file) : NULL;
    l->params.application_name = params->application_name ? hg_xstrdup(params->application_name) : NULL;
    l->params.connect_timeout = params->connect_timeout;
    l->instance = hg_xstrdup(instance);
    return l;
}

void hg_leases_free(struct hg_leases **leases)
{
    struct hg_leases *l = *leases;
    if (l == NULL)
        return;
    hg_store_free(&l->conn);
    free((char *)l->params.conninfo);
    free((char *)l->params.password_file);
    free((char *)l->params.application_name);
    free(l->instance);
    pthread_mutex_destroy(&l->lock);
    free(l);
    *leases = NULL;
}

/* With the lock held: a live connection, reconnecting when needed. */
static struct hg_store *live_connection(struct hg_leases *l, char **error_r)
{
    if (l->conn != NULL && !hg_store_is_ok(l->conn))
        hg_store_free(&l->conn);
    if (l->conn == NULL) {
        l->conn = hg_store_connect(&l->params, error_r);
        if (l->conn == NULL)
            return NULL;
        l->generation++;
        l->last_ping_ms = now_ms();
    }
    return l->conn;
}

int hg_lease_try(struct hg_leases *leases, const char *mailbox, bool *held_r, uint64_t *token_r,
                 char **error_r)
{
    *held_r = false;
    pthread_mutex_lock(&leases->lock);
    struct hg_store *conn = live_connection(leases, error_r);
    if (conn == NULL) {
        pthread_mutex_unlock(&leases->lock);
        return -1;
    }
    const char *params[] = {mailbox, leases->instance};
    /* Session-level locks stack: take it only when this session does not hold it yet. */
    PGresult *res =
        hg_pg_exec(conn,
                   "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                   " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
                   " AND ((classid::bigint << 32) | objid::bigint)"
                   "     = hashtextextended('helpgate.mailbox:' || $1, 0))"
                   " THEN true ELSE pg_try_advisory_lock(hashtextextended('helpgate.mailbox:' || $1, 0))"
                   " END",
                   1, params, error_r);
    if (res == NULL) {
        pthread_mutex_unlock(&leases->lock);
        return -1;
    }
    *held_r = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (*held_r) {
        char *ignored = NULL;
        if (hg_pg_command(conn,
                          "INSERT INTO mailbox_state (mailbox, lease_holder, lease_renewed_at)"
                          " VALUES ($1, $2, now()) ON CONFLICT (mailbox) DO UPDATE"
                          " SET lease_holder = $2, lease_renewed_at = now()",
                          2, params, &ignored) < 0)
            free(ignored); /* informational only; the lock is what counts */
    }
    *token_r = leases->generation;
    pthread_mutex_unlock(&leases->lock);
    return 0;
}

bool hg_lease_held(struct hg_leases *leases, uint64_t token)
{
    pthread_mutex_lock(&leases->lock);
    bool held = leases->conn != NULL && leases->generation == token;
    if (held && now_ms() - leases->last_ping_ms >= PING_INTERVAL_MS) {
        char *error = NULL;
        if (hg_store_ping(leases->conn, &error) < 0) {
            free(error);
            hg_store_free(&leases->conn);
            held = false;
        } else {
            leases->last_ping_ms = now_ms();
        }
    }
    pthread_mutex_unlock(&leases->lock);
    return held;
}

void hg_lease_release(struct hg_leases *leases, const char *mailbox)
{
    pthread_mutex_lock(&leases->lock);
    if (leases->conn != NULL && hg_store_is_ok(leases->conn)) {
        const char *params[] = {mailbox};
        char *error = NULL;
        if (hg_pg_command(leases->conn,
                          "SELECT pg_advisory_unlock(hashtextextended('helpgate.mailbox:' || $1, 0))", 1,
                          params, &error) < 0)
            free(error);
    }
    pthread_mutex_unlock(&leases->lock);
}
