/*
 * store_pg.h — daemon-internal: the libpq connection behind a struct hg_store,
 * and small helpers for parameterized queries. Only daemon/ includes this.
 */
#ifndef HELPGATE_DAEMON_STORE_PG_H
#define HELPGATE_DAEMON_STORE_PG_H

#include "helpgate/store.h"

#include <libpq-fe.h>

PGconn *hg_store_conn(struct hg_store *store);

/*
 * Runs SQL with text parameters (PQexecParams). Returns the result when its
 * status is COMMAND_OK or TUPLES_OK, else NULL with *error_r set to the
 * server's message (primary, detail and hint). The caller PQclear()s.
 */
PGresult *hg_pg_exec(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                     char **error_r);
/* hg_pg_exec with per-parameter lengths and formats (1 = binary, for bytea); both may be NULL. */
PGresult *hg_pg_exec_full(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                          const int *lengths, const int *formats, char **error_r);
/* The SQLSTATE of the last failed hg_pg_exec* on this store ("" when none), e.g. "23505". */
const char *hg_pg_last_sqlstate(struct hg_store *store);
/* Like hg_pg_exec for statements whose result is not needed: 0 or -1. */
int hg_pg_command(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                  char **error_r);

#endif
