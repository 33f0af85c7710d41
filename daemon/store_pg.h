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

/*
 * Pipeline mode (libpq's), for a batch of statements inside one transaction:
 * statements are sent without waiting for the previous one's answer, so the
 * server works while the caller prepares the next. The server runs them in
 * the order sent. hg_pg_exec* work as before (they send, then read every
 * answer up to their own); hg_pg_defer() sends a statement whose result is
 * not needed; hg_pg_send()/hg_pg_receive() split a query to read its answer
 * later. After a failure the server skips everything up to the end of the
 * pipeline: every later call fails with the first error, and
 * hg_pg_pipeline_leave() returns it; the caller then rolls back.
 * Outside pipeline mode the same calls run at once (hg_pg_send keeps the
 * result for hg_pg_receive), so code can use them in both modes.
 */
int hg_pg_pipeline_enter(struct hg_store *store, char **error_r);
/* Reads every outstanding answer and leaves pipeline mode: 0, or -1 with the first failure. */
int hg_pg_pipeline_leave(struct hg_store *store, char **error_r);
bool hg_pg_in_pipeline(struct hg_store *store);
/* Sends SQL; returns a handle (> 0) for hg_pg_receive(), or -1 with *error_r. */
long hg_pg_send(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                const int *lengths, const int *formats, char **error_r);
/* The answer of HANDLE (sent on this store, received once) as hg_pg_exec returns it. */
PGresult *hg_pg_receive(struct hg_store *store, long handle, char **error_r);
/* HANDLE's answer will not be received: it is dropped (now, or when it arrives). */
void hg_pg_forget(struct hg_store *store, long handle);
/* Sends SQL whose result is not needed; in pipeline mode its failure shows in a later call. */
int hg_pg_defer(struct hg_store *store, const char *sql, int n_params, const char *const *params,
                const int *lengths, const int *formats, char **error_r);

#endif
