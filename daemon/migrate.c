/*
 * migrate.c — apply the embedded sql/ migrations in order (see migrate.h).
 *
 * Each migration runs in its own transaction that first takes a
 * transaction-level advisory lock, so concurrent `helpgatectl migrate` runs
 * serialize and the second finds nothing left to do. The migration text is
 * ours (compiled in), never user data, so it is sent with PQexec, which
 * accepts several statements; the bookkeeping insert is parameterized.
 */
#include "helpgate/migrate.h"

#include "helpgate/alloc.h"
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>

/* Arbitrary constant naming the migration lock: "hgmigrat" in ASCII. */
#define MIGRATION_LOCK_KEY "7522537938436481396"

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

int hg_migrate_latest_version(void)
{
    int latest = 0;
    for (size_t i = 0; i < hg_migrations_count; i++)
        if (hg_migrations[i].version > latest)
            latest = hg_migrations[i].version;
    return latest;
}

int hg_migrate_current_version(struct hg_store *store, int *version_r, char **error_r)
{
    *version_r = 0;
    PGresult *res =
        hg_pg_exec(store, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, error_r);
    if (res == NULL)
        return -1;
    int exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    res = hg_pg_exec(store, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, error_r);
    if (res == NULL)
        return -1;
    *version_r = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int exec_script(struct hg_store *store, const char *sql, char **error_r)
{
    PGresult *res = PQexec(hg_store_conn(store), sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    const char *message = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    *error_r = hg_xstrdup(message ? message : PQerrorMessage(hg_store_conn(store)));
    PQclear(res);
    return -1;
}

/* 1 when applied now, 0 when someone else already had, -1 on error. */
static int apply_one(struct hg_store *store, const struct hg_migration *m, char **error_r)
{
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[] = {version, m->name};
    char *inner = NULL;

    if (hg_pg_command(store, "BEGIN", 0, NULL, error_r) < 0)
        return -1;
    if (hg_pg_command(store, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", 0, NULL, &inner) < 0 ||
        hg_pg_command(store, create_table_sql, 0, NULL, &inner) < 0)
        goto fail;
    PGresult *res =
        hg_pg_exec(store, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &inner);
    if (res == NULL)
        goto fail;
    int done = PQntuples(res) > 0;
    PQclear(res);
    if (done)
        return hg_pg_command(store, "COMMIT", 0, NULL, error_r) < 0 ? -1 : 0;
    if (exec_script(store, m->sql, &inner) < 0 ||
        hg_pg_command(store, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params,
                      &inner) < 0 ||
        hg_pg_command(store, "COMMIT", 0, NULL, &inner) < 0)
        goto fail;
    return 1;

fail:
    *error_r = hg_xasprintf("migration %03d_%s failed: %s", m->version, m->name, inner ? inner : "?");
    free(inner);
    PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    return -1;
}

int hg_migrate_apply(struct hg_store *store, void (*on_applied)(const struct hg_migration *m, void *arg),
                     void *arg, int *applied_r, char **error_r)
{
    *applied_r = 0;
    int current;
    if (hg_migrate_current_version(store, &current, error_r) < 0)
        return -1;
    for (size_t i = 0; i < hg_migrations_count; i++) {
        const struct hg_migration *m = &hg_migrations[i];
        if (m->version <= current)
            continue;
        int rc = apply_one(store, m, error_r);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            (*applied_r)++;
            if (on_applied != NULL)
                on_applied(m, arg);
        }
    }
    return 0;
}
