/*
 * store.c — one PostgreSQL connection and parameterized-query helpers.
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

struct hg_store {
    PGconn *conn;
    char description[256];
    char last_sqlstate[6];
    char *prepared[PREPARED_MAX]; /* SQL text of statement "hgN" is prepared[N] */
    int n_prepared;
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
static int prepared_name(struct hg_store *store, const char *sql, int n_params, char name[16],
                         PGresult **res_r)
{
    for (int i = 0; i < store->n_prepared; i++) {
        if (strcmp(store->prepared[i], sql) == 0) {
            snprintf(name, 16, "hg%d", i);
            return 1;
        }
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

PGresult *hg_pg_exec_full(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                          const int *lengths, const int *formats, char **error_r)
{
    char name[16];
    PGresult *res = NULL;
    int prepared = n_params > 0 ? prepared_name(store, sql, n_params, name, &res) : 0;
    if (prepared == 1)
        res = PQexecPrepared(store->conn, name, n_params, params, lengths, formats, 0);
    else if (prepared == 0)
        res = PQexecParams(store->conn, sql, n_params, NULL, params, lengths, formats, 0);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        store->last_sqlstate[0] = '\0';
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(store->last_sqlstate, sizeof(store->last_sqlstate), "%s", state ? state : "");
    *error_r = result_error(res, store->conn);
    PQclear(res);
    return NULL;
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
