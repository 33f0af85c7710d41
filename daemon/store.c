/*
 * store.c — one PostgreSQL connection and parameterized-query helpers,
 * synchronous or (inside hg_pg_pipeline_enter/leave) pipelined.
 */
#include "store_pg.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements with parameters are prepared once per connection and then only executed:
 * this saves the server parsing and planning them for every message. */
#define PREPARED_MAX 64

/* A statement sent and not yet answered, or answered and not yet received by its caller. */
struct pending {
    long handle;      /* hg_pg_send()'s; 0: a command whose result is only checked */
    int prepare_slot; /* >= 0: the PQsendPrepare() of prepared[slot] */
    bool answered;    /* RESULT holds the answer (handles only) */
    PGresult *result; /* NULL when the statement failed */
};

struct hg_store {
    PGconn *conn;
    char description[256];
    char last_sqlstate[6];
    char *prepared[PREPARED_MAX]; /* SQL text of statement "hgN" is prepared[N]; NULL: unusable slot */
    int n_prepared;
    /* Pipeline mode (hg_pg_pipeline_enter) and, in both modes, statements sent by hg_pg_send(). */
    bool pipeline;
    bool flush_due;          /* sent something since the last flush request */
    struct pending *pending; /* in the order sent */
    size_t n_pending, cap_pending;
    long next_handle;
    char *pipeline_error; /* the first failure in this pipeline: every later answer is this */
    char pipeline_sqlstate[6];
};

/* libpq prints notices to stderr by default; we drop them (the migrations are quiet). */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static char *pg_error_text(const char *prefix, const char *message)
{
    char *text = hg_xasprintf("%s%s", prefix, message ? message : "unknown error");
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return text;
}

struct hg_store *hg_store_connect(const struct hg_store_params *params, char **error_r)
{
    char *password = NULL;
    if (params->password_file != NULL && params->password_file[0] != '\0') {
        if (hg_secret_read_file(params->password_file, &password, NULL, error_r) < 0)
            return NULL;
    }
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", params->connect_timeout > 0 ? params->connect_timeout : 10);

    const char *keywords[6];
    const char *values[6];
    int n = 0;
    keywords[n] = "dbname";
    values[n++] = params->conninfo ? params->conninfo : "";
    keywords[n] = "connect_timeout";
    values[n++] = timeout;
    keywords[n] = "application_name";
    values[n++] = params->application_name ? params->application_name : "helpgate";
    if (password != NULL) {
        keywords[n] = "password";
        values[n++] = password;
    }
    keywords[n] = NULL;
    values[n] = NULL;

    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    hg_secret_free(&password);
    if (conn == NULL) {
        *error_r = hg_xstrdup("out of memory creating the PostgreSQL connection");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        *error_r = pg_error_text("", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);

    struct hg_store *store = hg_xcalloc(1, sizeof(*store));
    store->conn = conn;
    const char *host = PQhost(conn);
    snprintf(store->description, sizeof(store->description), "%s:%s/%s", host ? host : "local",
             PQport(conn) ? PQport(conn) : "", PQdb(conn) ? PQdb(conn) : "");
    return store;
}

void hg_store_free(struct hg_store **store)
{
    if (*store == NULL)
        return;
    for (int i = 0; i < (*store)->n_prepared; i++)
        free((*store)->prepared[i]);
    for (size_t i = 0; i < (*store)->n_pending; i++)
        PQclear((*store)->pending[i].result);
    free((*store)->pending);
    free((*store)->pipeline_error);
    PQfinish((*store)->conn);
    free(*store);
    *store = NULL;
}

bool hg_store_is_ok(struct hg_store *store)
{
    return store != NULL && PQstatus(store->conn) == CONNECTION_OK;
}

const char *hg_store_describe(struct hg_store *store)
{
    return store->description;
}

PGconn *hg_store_conn(struct hg_store *store)
{
    return store->conn;
}

static char *result_error(PGresult *res, PGconn *conn)
{
    if (res == NULL)
        return pg_error_text("", PQerrorMessage(conn));
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary == NULL)
        return pg_error_text("", PQresultErrorMessage(res));
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    struct hg_buf text;
    hg_buf_init(&text, 4096);
    hg_buf_append_str(&text, primary);
    if (detail != NULL)
        hg_buf_printf(&text, " (detail: %s)", detail);
    if (hint != NULL)
        hg_buf_printf(&text, " (hint: %s)", hint);
    char *message = pg_error_text("", hg_buf_str(&text));
    hg_buf_free(&text);
    return message;
}

/* Finds or makes SQL's prepared statement on this connection: 1 with its name in NAME,
 * 0 when the cache is full (send it unprepared), -1 when preparing failed (*res_r holds why). */
/* The slot of SQL's prepared statement on this connection, or -1. */
static int find_prepared(const struct hg_store *store, const char *sql)
{
    for (int i = 0; i < store->n_prepared; i++)
        if (store->prepared[i] != NULL && strcmp(store->prepared[i], sql) == 0)
            return i;
    return -1;
}

static int prepared_name(struct hg_store *store, const char *sql, int n_params, char name[16],
                         PGresult **res_r)
{
    int slot = find_prepared(store, sql);
    if (slot >= 0) {
        snprintf(name, 16, "hg%d", slot);
        return 1;
    }
    if (store->n_prepared == PREPARED_MAX)
        return 0;
    snprintf(name, 16, "hg%d", store->n_prepared);
    PGresult *res = PQprepare(store->conn, name, sql, n_params, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        *res_r = res;
        return -1;
    }
    PQclear(res);
    store->prepared[store->n_prepared++] = hg_xstrdup(sql);
    return 1;
}

/* Records a failed answer: the SQLSTATE for hg_pg_last_sqlstate() and the message in *error_r. */
static void fail_with(struct hg_store *store, PGresult *res, char **error_r)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(store->last_sqlstate, sizeof(store->last_sqlstate), "%s", state ? state : "");
    *error_r = result_error(res, store->conn);
}

static bool answer_ok(const PGresult *res)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

static PGresult *exec_now(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                          const int *lengths, const int *formats, char **error_r)
{
    char name[16];
    PGresult *res = NULL;
    int prepared = n_params > 0 ? prepared_name(store, sql, n_params, name, &res) : 0;
    if (prepared == 1)
        res = PQexecPrepared(store->conn, name, n_params, params, lengths, formats, 0);
    else if (prepared == 0)
        res = PQexecParams(store->conn, sql, n_params, NULL, params, lengths, formats, 0);
    if (answer_ok(res)) {
        store->last_sqlstate[0] = '\0';
        return res;
    }
    fail_with(store, res, error_r);
    PQclear(res);
    return NULL;
}

PGresult *hg_pg_exec_full(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                          const int *lengths, const int *formats, char **error_r)
{
    if (!store->pipeline)
        return exec_now(store, sql, n_params, params, lengths, formats, error_r);
    long handle = hg_pg_send(store, sql, n_params, params, lengths, formats, error_r);
    return handle < 0 ? NULL : hg_pg_receive(store, handle, error_r);
}

PGresult *hg_pg_exec(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                     char **error_r)
{
    return hg_pg_exec_full(store, sql, n_params, params, NULL, NULL, error_r);
}

const char *hg_pg_last_sqlstate(struct hg_store *store)
{
    return store->last_sqlstate;
}

int hg_pg_command(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                  char **error_r)
{
    PGresult *res = hg_pg_exec(store, sql, n_params, params, error_r);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int hg_store_ping(struct hg_store *store, char **error_r)
{
    if (!hg_store_is_ok(store)) {
        *error_r = pg_error_text("connection lost: ", PQerrorMessage(store->conn));
        return -1;
    }
    return hg_pg_command(store, "SELECT 1", 0, NULL, error_r);
}

/* ---- pipeline mode ------------------------------------------------------------------------ */

static struct pending *push_pending(struct hg_store *store, long handle, int prepare_slot)
{
    if (store->n_pending == store->cap_pending) {
        store->cap_pending = store->cap_pending ? store->cap_pending * 2 : 8;
        store->pending = hg_xrealloc(store->pending, store->cap_pending * sizeof(*store->pending));
    }
    struct pending *p = &store->pending[store->n_pending++];
    *p = (struct pending){.handle = handle, .prepare_slot = prepare_slot};
    return p;
}

static void drop_pending(struct hg_store *store, size_t i)
{
    memmove(&store->pending[i], &store->pending[i + 1], (store->n_pending - i - 1) * sizeof(*store->pending));
    store->n_pending--;
}

/* Keeps the first failure of the pipeline: everything after it is aborted by the server. */
static void pipeline_failed(struct hg_store *store, PGresult *res)
{
    if (store->pipeline_error != NULL)
        return;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(store->pipeline_sqlstate, sizeof(store->pipeline_sqlstate), "%s", state ? state : "");
    if (res != NULL && PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
        store->pipeline_error = hg_xstrdup("aborted: an earlier statement of the pipeline failed");
    else
        store->pipeline_error = result_error(res, store->conn);
}

/* Reads the answer of the oldest unanswered statement, P (one result, then libpq's NULL). */
static void read_answer(struct hg_store *store, struct pending *p)
{
    PGresult *res = PQgetResult(store->conn);
    for (PGresult *extra; res != NULL && (extra = PQgetResult(store->conn)) != NULL;)
        PQclear(extra); /* one result per statement: more is not ours to keep */
    if (!answer_ok(res)) {
        pipeline_failed(store, res);
        if (p->prepare_slot >= 0) { /* never prepared on the server: the name must not be used */
            free(store->prepared[p->prepare_slot]);
            store->prepared[p->prepare_slot] = NULL;
        }
        PQclear(res);
        res = NULL;
    }
    p->answered = true;
    p->result = p->handle != 0 ? res : NULL;
    if (p->handle == 0)
        PQclear(res);
}

static int flush_requests(struct hg_store *store)
{
    if (!store->flush_due)
        return 0;
    store->flush_due = false;
    return PQsendFlushRequest(store->conn) == 1 && PQflush(store->conn) == 0 ? 0 : -1;
}

int hg_pg_pipeline_enter(struct hg_store *store, char **error_r)
{
    if (store->pipeline)
        return 0;
    if (PQenterPipelineMode(store->conn) != 1) {
        *error_r = pg_error_text("cannot enter pipeline mode: ", PQerrorMessage(store->conn));
        return -1;
    }
    store->pipeline = true;
    store->flush_due = false;
    return 0;
}

/* Sends SQL in pipeline mode; prepares it first when new (the preparation is a statement too). */
static int send_pipelined(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                          const int *lengths, const int *formats, long handle)
{
    int slot = n_params > 0 ? find_prepared(store, sql) : -1;
    char name[16];
    if (slot < 0 && n_params > 0 && store->n_prepared < PREPARED_MAX) {
        slot = store->n_prepared;
        snprintf(name, sizeof(name), "hg%d", slot);
        if (PQsendPrepare(store->conn, name, sql, n_params, NULL) != 1)
            return -1;
        store->prepared[store->n_prepared++] = hg_xstrdup(sql);
        push_pending(store, 0, slot);
    }
    int sent;
    if (slot >= 0) {
        snprintf(name, sizeof(name), "hg%d", slot);
        sent = PQsendQueryPrepared(store->conn, name, n_params, params, lengths, formats, 0);
    } else {
        sent = PQsendQueryParams(store->conn, sql, n_params, NULL, params, lengths, formats, 0);
    }
    if (sent != 1)
        return -1;
    push_pending(store, handle, -1);
    store->flush_due = true;
    return 0;
}

long hg_pg_send(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                const int *lengths, const int *formats, char **error_r)
{
    long handle = ++store->next_handle;
    if (!store->pipeline) {
        PGresult *res = exec_now(store, sql, n_params, params, lengths, formats, error_r);
        if (res == NULL)
            return -1;
        struct pending *p = push_pending(store, handle, -1);
        p->answered = true;
        p->result = res;
        return handle;
    }
    if (send_pipelined(store, sql, n_params, params, lengths, formats, handle) < 0) {
        store->last_sqlstate[0] = '\0';
        *error_r = pg_error_text("cannot send the statement: ", PQerrorMessage(store->conn));
        return -1;
    }
    return handle;
}

PGresult *hg_pg_receive(struct hg_store *store, long handle, char **error_r)
{
    size_t i = 0;
    while (i < store->n_pending && store->pending[i].handle != handle)
        i++;
    if (i == store->n_pending) {
        *error_r = hg_xstrdup("internal error: no statement was sent under this handle");
        return NULL;
    }
    if (!store->pending[i].answered && flush_requests(store) < 0)
        pipeline_failed(store, NULL);
    /* Answers come in the order sent: read up to this one, keeping others' for their callers. */
    for (size_t j = 0; j <= i && store->pipeline_error == NULL; j++)
        if (!store->pending[j].answered)
            read_answer(store, &store->pending[j]);
    PGresult *res = store->pending[i].result;
    if (store->pipeline_error != NULL && res == NULL) {
        snprintf(store->last_sqlstate, sizeof(store->last_sqlstate), "%s", store->pipeline_sqlstate);
        *error_r = hg_xstrdup(store->pipeline_error);
    } else if (res == NULL) {
        fail_with(store, NULL, error_r);
    } else {
        store->last_sqlstate[0] = '\0';
    }
    store->pending[i].result = NULL;
    drop_pending(store, i);
    for (size_t j = 0; j < store->n_pending;) /* checked commands and preparations already answered */
        if (store->pending[j].handle == 0 && store->pending[j].answered)
            drop_pending(store, j);
        else
            j++;
    return res;
}

void hg_pg_forget(struct hg_store *store, long handle)
{
    for (size_t i = 0; i < store->n_pending; i++) {
        struct pending *p = &store->pending[i];
        if (p->handle != handle)
            continue;
        PQclear(p->result);
        p->result = NULL;
        p->handle = 0;
        if (p->answered)
            drop_pending(store, i);
        return;
    }
}

int hg_pg_defer(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                const int *lengths, const int *formats, char **error_r)
{
    if (!store->pipeline) {
        PGresult *res = exec_now(store, sql, n_params, params, lengths, formats, error_r);
        PQclear(res);
        return res != NULL ? 0 : -1;
    }
    if (store->pipeline_error != NULL) {
        snprintf(store->last_sqlstate, sizeof(store->last_sqlstate), "%s", store->pipeline_sqlstate);
        *error_r = hg_xstrdup(store->pipeline_error);
        return -1;
    }
    if (send_pipelined(store, sql, n_params, params, lengths, formats, 0) < 0) {
        *error_r = pg_error_text("cannot send the statement: ", PQerrorMessage(store->conn));
        return -1;
    }
    return 0;
}

int hg_pg_pipeline_leave(struct hg_store *store, char **error_r)
{
    if (!store->pipeline)
        return 0;
    bool sent = PQpipelineSync(store->conn) == 1;
    for (size_t i = 0; i < store->n_pending && sent; i++)
        if (!store->pending[i].answered)
            read_answer(store, &store->pending[i]);
    if (sent) {
        PGresult *res = PQgetResult(store->conn); /* the Sync's PGRES_PIPELINE_SYNC */
        if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
            pipeline_failed(store, res);
        PQclear(res);
    } else {
        pipeline_failed(store, NULL);
    }
    for (size_t i = 0; i < store->n_pending; i++)
        PQclear(store->pending[i].result);
    store->n_pending = 0;
    if (PQexitPipelineMode(store->conn) != 1)
        pipeline_failed(store, NULL);
    store->pipeline = false;
    int rc = 0;
    if (store->pipeline_error != NULL) {
        snprintf(store->last_sqlstate, sizeof(store->last_sqlstate), "%s", store->pipeline_sqlstate);
        *error_r = store->pipeline_error;
        store->pipeline_error = NULL;
        rc = -1;
    }
    return rc;
}

bool hg_pg_in_pipeline(struct hg_store *store)
{
    return store->pipeline;
}
