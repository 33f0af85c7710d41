/*
 * migrate.h — schema migrations, embedded in the binaries at build time.
 *
 * sql/NNN_name.sql files are compiled in (sql/embed.sh), so a binary always
 * knows the exact schema it needs: helpgatectl migrate applies the pending
 * ones, each in its own transaction under an advisory lock (two concurrent
 * migrate runs are safe), and helpgated refuses a schema that is behind.
 *
 * Errors: functions return 0 or -1 with a message in *error_r (caller frees).
 */
#ifndef HELPGATE_MIGRATE_H
#define HELPGATE_MIGRATE_H

#include <stddef.h>

struct hg_store;

struct hg_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct hg_migration hg_migrations[];
extern const size_t hg_migrations_count;

/* The highest version compiled in. */
int hg_migrate_latest_version(void);

/* The database's version (0 for an empty database) in *version_r. */
int hg_migrate_current_version(struct hg_store *store, int *version_r, char **error_r);

/*
 * Applies every pending migration in order. For each one applied, calls
 * ON_APPLIED (may be NULL). *applied_r counts them (0 when up to date).
 */
int hg_migrate_apply(struct hg_store *store, void (*on_applied)(const struct hg_migration *m, void *arg),
                     void *arg, int *applied_r, char **error_r);

#endif
