/*
 * pool.c — lazily opened, bounded pool of PostgreSQL connections (see pool.h).
 */
#include "helpgate/pool.h"

#include "helpgate/alloc.h"
#include "store_pg.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct hg_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    char *conninfo;
    char *password_file;
    char *application_name;
    int connect_timeout;
    unsigned size;
    unsigned open; /* connections that exist, idle or lent */
    unsigned n_idle;
    struct hg_store **idle; /* size slots */
};

static char *dup_or_null(const char *s)
{
    return s ? hg_xstrdup(s) : NULL;
}

struct hg_pool *hg_pool_new(const struct hg_store_params *params, unsigned size)
{
    struct hg_pool *pool = hg_xcalloc(1, sizeof(*pool));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->returned, NULL);
    pool->conninfo = dup_or_null(params->conninfo);
    pool->password_file = dup_or_null(params->password_file);
    pool->application_name = dup_or_null(params->application_name);
    pool->connect_timeout = params->connect_timeout;
    pool->size = size ? size : 1;
    pool->idle = hg_xcalloc(pool->size, sizeof(*pool->idle));
    return pool;
}

void hg_pool_free(struct hg_pool **pool)
{
    struct hg_pool *p = *pool;
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->n_idle; i++)
        hg_store_free(&p->idle[i]);
    free(p->idle);
    free(p->conninfo);
    free(p->password_file);
    free(p->application_name);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pool = NULL;
}

static struct timespec deadline_after(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static struct hg_store *open_connection(struct hg_pool *pool, char **error_r)
{
    struct hg_store_params params = {
        .conninfo = pool->conninfo,
        .password_file = pool->password_file,
        .connect_timeout = pool->connect_timeout,
        .application_name = pool->application_name,
    };
    struct hg_store *store = hg_store_connect(&params, error_r);
    if (store == NULL) {
        pthread_mutex_lock(&pool->lock);
        pool->open--;
        pthread_cond_signal(&pool->returned);
        pthread_mutex_unlock(&pool->lock);
    }
    return store;
}

struct hg_store *hg_pool_get(struct hg_pool *pool, unsigned timeout_ms, char **error_r)
{
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->n_idle > 0) {
            struct hg_store *store = pool->idle[--pool->n_idle];
            pthread_mutex_unlock(&pool->lock);
            return store;
        }
        if (pool->open < pool->size) {
            pool->open++;
            pthread_mutex_unlock(&pool->lock);
            return open_connection(pool, error_r);
        }
        if (pthread_cond_timedwait(&pool->returned, &pool->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool->lock);
            *error_r =
                hg_xasprintf("no database connection free within %u ms (pool of %u)", timeout_ms, pool->size);
            return NULL;
        }
    }
}

void hg_pool_put(struct hg_pool *pool, struct hg_store **store)
{
    if (*store == NULL)
        return;
    /* A borrower that failed mid-transaction leaves it open: roll it back here. */
    PGconn *conn = hg_store_conn(*store);
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    bool healthy = hg_store_is_ok(*store) && PQtransactionStatus(conn) == PQTRANS_IDLE;
    if (!healthy)
        hg_store_free(store);
    pthread_mutex_lock(&pool->lock);
    if (healthy)
        pool->idle[pool->n_idle++] = *store;
    else
        pool->open--;
    pthread_cond_signal(&pool->returned);
    pthread_mutex_unlock(&pool->lock);
    *store = NULL;
}
