/*
 * store.h — the PostgreSQL connection of helpgated and helpgatectl.
 *
 * A store is one libpq connection made from the config's conninfo plus the
 * password read from password_file (never from the config text itself). It
 * does not retry by itself: callers loop with hg_backoff and log why.
 * daemon/store_pg.h gives daemon modules the underlying connection; no libpq
 * type appears here.
 *
 * Ownership: hg_store_connect() returns a store the caller releases with
 * hg_store_free(&store). Errors: NULL or -1 with *error_r set (caller frees);
 * the message never contains the password.
 */
#ifndef HELPGATE_STORE_H
#define HELPGATE_STORE_H

#include <stdbool.h>

struct hg_store;

struct hg_store_params {
    const char *conninfo;         /* libpq conninfo or URI */
    const char *password_file;    /* or NULL */
    int connect_timeout;          /* seconds; 0 = 10 */
    const char *application_name; /* e.g. "helpgated/eu1"; NULL = "helpgate" */
};

struct hg_store *hg_store_connect(const struct hg_store_params *params, char **error_r);
void hg_store_free(struct hg_store **store);

/* True while the connection is usable (cheap, no round trip). */
bool hg_store_is_ok(struct hg_store *store);
/* A round trip (SELECT 1): 0 when the server answers, else -1 with *error_r. */
int hg_store_ping(struct hg_store *store, char **error_r);
/* "host:port/dbname" for log lines (no password); valid while the store lives. */
const char *hg_store_describe(struct hg_store *store);

#endif
