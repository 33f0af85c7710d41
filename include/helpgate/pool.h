/*
 * pool.h — a small pool of PostgreSQL connections shared by helpgated's threads.
 *
 * Connections are opened lazily, up to SIZE, and a connection found broken
 * when it comes back is closed, so the next borrower gets a fresh one: a
 * PostgreSQL restart costs each thread one failed transaction, no more.
 * Thread-safe.
 *
 * Ownership: hg_pool_new() copies PARAMS; the pool is the caller's, released
 * with hg_pool_free(&pool) once every connection is back. A borrowed store
 * belongs to the borrower until hg_pool_put(pool, &store), which sets the
 * pointer to NULL. Errors: NULL with *error_r set (caller frees).
 */
#ifndef HELPGATE_POOL_H
#define HELPGATE_POOL_H

#include "helpgate/store.h"

struct hg_pool;

struct hg_pool *hg_pool_new(const struct hg_store_params *params, unsigned size);
void hg_pool_free(struct hg_pool **pool);

/* Waits up to TIMEOUT_MS for a free connection; connects when needed. */
struct hg_store *hg_pool_get(struct hg_pool *pool, unsigned timeout_ms, char **error_r);
void hg_pool_put(struct hg_pool *pool, struct hg_store **store);

#endif
