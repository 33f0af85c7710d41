/*
 * ctl_data.c — `helpgatectl retention run` and `helpgatectl customer
 * export|erase`: the data helpgate holds, kept as long as [retention] says
 * and handed over or erased on request, without SQL.
 *
 * retention run calls hg_retention_run() (daemon/retention.c), the code
 * helpgated's scheduler runs. export and erase are one SQL call each
 * (helpgate_customer_export(), helpgate_erase_customer(); sql/013), plus the
 * files an export writes. Every export and erase leaves an audit row naming
 * the operator (the session's actor, "ctl:USER") and never the address (its
 * SHA-256 instead).
 */
#include "ctl_data.h"
#include "ctl.h"

#include "helpgate/alloc.h"
#include "helpgate/retention.h"
#include "helpgate/sha256.h"
#include "store_pg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void format_time(time_t t, bool compact, char *out, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void lower_sha256_hex(const char *address, char hex[HG_SHA256_HEX_SIZE])
{
    char *lower = hg_xstrdup(address);
    for (char *p = lower; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    hg_sha256_hex(lower, strlen(lower), hex);
    free(lower);
}

/* ---- retention run ------------------------------------------------------------------------- */

static const char *const class_phrase[HG_RETENTION_CLASSES] = {
    [HG_RETENTION_TICKETS] = "closed before",
    [HG_RETENTION_ATTACHMENTS] = "unused since",
    [HG_RETENTION_RAW] = "received before",
};
static const char *const class_key[HG_RETENTION_CLASSES] = {
    [HG_RETENTION_TICKETS] = "closed_ticket_days",
    [HG_RETENTION_ATTACHMENTS] = "attachment_days",
    [HG_RETENTION_RAW] = "raw_days",
};

static void print_size(const char *label, long long bytes)
{
    printf("%s %lld bytes (%.1f MiB)", label, bytes, (double)bytes / (1024.0 * 1024.0));
}

static void print_report(const struct hg_retention_settings *s, const struct hg_retention_report *r,
                         time_t now)
{
    char when[32];
    format_time(now, false, when, sizeof when);
    printf("retention %s as of %s\n", r->dry_run ? "dry run" : "run", when);
    bool more = false;
    for (int c = 0; c < HG_RETENTION_CLASSES; c++) {
        const struct hg_retention_class_report *k = &r->classes[c];
        printf("%-12s ", hg_retention_class_name((enum hg_retention_class)c));
        if (!k->enabled) {
            printf("kept forever (%s = 0)\n", class_key[c]);
            continue;
        }
        char cutoff[32];
        format_time(k->cutoff, false, cutoff, sizeof cutoff);
        printf("%s %s (%d days): ", class_phrase[c], cutoff, s->days[c]);
        if (k->rows == 0)
            printf("nothing due");
        else if (r->dry_run)
            printf("%lld due, %lld bytes", k->rows, k->bytes);
        else
            printf("%lld archived and purged, %lld bytes -> %s (%lld bytes)", k->rows, k->bytes,
                   k->archive_path, k->archive_size);
        printf("%s\n", k->more ? "; more is due than one run takes" : "");
        more = more || k->more;
    }
    if (r->dry_run) {
        print_size("database size:", r->db_size_before);
        printf("\ndry run: nothing was archived or purged\n");
        return;
    }
    print_size("database size:", r->db_size_before);
    print_size(" before,", r->db_size_after);
    printf(" after\n");
    printf("audit row %lld\n", r->audit_id);
    if (more)
        printf("hint: run it again to go on (each run takes at most --max-rows per class)\n");
    printf(
        "note: PostgreSQL reuses the space freed for new rows; VACUUM FULL would return it to the system\n");
}

static int retention_usage(void)
{
    fprintf(stderr, "usage: helpgatectl retention run [--dry-run [--at TIME]] [--max-rows N]\n");
    return EXIT_USAGE;
}

static int retention_run(struct ctl *ctl, int argc, char **argv)
{
    bool dry_run = false;
    time_t now = time(NULL);
    const char *at = NULL;
    int max_rows = 0;
    for (int i = 2; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
            at = argv[++i];
            int64_t when = 0;
            if (!ctl_parse_when(at, &when)) {
                fprintf(stderr, "helpgatectl retention run: --at %s: write e.g. 2026-11-23T03:00:00Z\n", at);
                return EXIT_USAGE;
            }
            now = (time_t)when;
        } else if (strcmp(argv[i], "--max-rows") == 0 && i + 1 < argc &&
                   (max_rows = (int)strtol(argv[i + 1], &end, 10)) > 0 && *end == '\0') {
            i++;
        } else {
            fprintf(stderr, "helpgatectl retention run: bad option %s\n", argv[i]);
            return retention_usage();
        }
    }
    if (at != NULL && !dry_run) {
        fprintf(stderr,
                "helpgatectl retention run: --at only with --dry-run (a real run purges as of now)\n");
        return EXIT_USAGE;
    }
    struct ctl_session s;
    int rc = ctl_session_open(ctl, &s);
    if (rc != 0)
        return rc;
    struct hg_retention_settings settings;
    hg_retention_settings_from_config(s.cfg, &settings);
    settings.actor = s.actor;
    settings.max_rows = max_rows;
    struct hg_retention_report report;
    char *error = NULL;
    if (hg_retention_run(s.store, &settings, dry_run, now, &report, &error) != 0) {
        fprintf(stderr, "helpgatectl retention run: %s\n", error);
        fprintf(stderr,
                "hint: nothing was purged (a run purges only when it commits); check [retention] archive_dir "
                "and the database, then run it again\n");
        free(error);
        rc = 1;
    } else if (report.outcome == HG_RETENTION_BUSY) {
        fprintf(stderr, "helpgatectl retention run: another retention run is in progress (helpgated or "
                        "helpgatectl); nothing done\n");
        rc = 1;
    } else {
        print_report(&settings, &report, now);
    }
    hg_retention_report_free(&report);
    ctl_session_close(&s);
    return rc;
}

int cmd_retention(struct ctl *ctl, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return retention_run(ctl, argc, argv);
    return retention_usage();
}

/* ---- customer export ------------------------------------------------------------------------ */

/* A file name from an attachment's name: letters, digits, '.', '-', '_' (others become '_'), no leading dot.
 */
static char *safe_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        name = "attachment";
    size_t len = strlen(name);
    if (len > 100)
        len = 100;
    char *out = hg_xstrndup(name, len);
    for (char *p = out; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            *p = '_';
    if (out[0] == '.')
        out[0] = '_';
    return out;
}

static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "helpgatectl customer export: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "helpgatectl customer export: cannot write %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "helpgatectl customer export: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes one file with the bytea the query (one row, one column) gives; prints its path. */
static int export_blob(struct ctl_session *s, const char *sql, const char *key, const char *path)
{
    const char *params[] = {key};
    char *error = NULL;
    PGresult *res = hg_pg_exec(s->store, sql, 1, params, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl customer export: %s\n", error);
        free(error);
        return -1;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res); /* purged meanwhile: the JSON says what it was */
        return 0;
    }
    size_t len = 0;
    unsigned char *data = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
    PQclear(res);
    if (data == NULL)
        hg_out_of_memory(0);
    int rc = write_file(path, data, len);
    PQfreemem(data);
    if (rc == 0)
        printf("%s\n", path);
    return rc;
}

/* The attachment contents and raw sources of the messages an export covers. */
static int export_files(struct ctl_session *s, const char *email, const char *dir, int *files_r)
{
    const char *params[] = {email};
    char *error = NULL;
    PGresult *res = hg_pg_exec(
        s->store,
        "WITH c AS (SELECT id FROM customers WHERE lower(email) = lower($1)),"
        " m AS (SELECT m.id, m.raw_id FROM messages m"
        " WHERE m.ticket_id IN (SELECT t.id FROM tickets t WHERE t.customer_id = (SELECT id FROM c))"
        " OR m.author_customer_id = (SELECT id FROM c) OR lower(m.from_address) = lower($1))"
        " SELECT DISTINCT 'a', encode(a.blob_sha256, 'hex'), a.filename FROM attachments a"
        " JOIN attachment_blobs b ON b.sha256 = a.blob_sha256"
        " WHERE a.message_id IN (SELECT id FROM m) AND b.data IS NOT NULL"
        " UNION ALL SELECT 'r', m.id::text, NULL FROM m JOIN raw_messages r ON r.id = m.raw_id"
        " WHERE r.data IS NOT NULL ORDER BY 1, 2, 3",
        1, params, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl customer export: %s\n", error);
        free(error);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *key = PQgetvalue(res, i, 1);
        char *path;
        if (PQgetvalue(res, i, 0)[0] == 'a') {
            char *name = safe_name(PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2));
            path = hg_xasprintf("%s/%s-%s", dir, key, name);
            free(name);
            rc = export_blob(s, "SELECT data FROM attachment_blobs WHERE sha256 = decode($1, 'hex')", key,
                             path);
        } else {
            path = hg_xasprintf("%s/message-%s.eml", dir, key);
            rc = export_blob(s,
                             "SELECT r.data FROM messages m JOIN raw_messages r ON r.id = m.raw_id"
                             " WHERE m.id = $1::bigint",
                             key, path);
        }
        free(path);
        if (rc == 0)
            (*files_r)++;
    }
    PQclear(res);
    return rc;
}

static int export_usage(void)
{
    fprintf(stderr, "usage: helpgatectl customer export EMAIL [--out DIR]\n");
    return EXIT_USAGE;
}

int ctl_customer_export(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 3)
        return export_usage();
    const char *email = argv[2], *out = ".";
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            return export_usage();
    }
    if (!ctl_valid_address(email)) {
        fprintf(stderr, "helpgatectl customer export: \"%s\" is not an email address\n", email);
        return EXIT_USAGE;
    }
    struct ctl_session s;
    int rc = ctl_session_open(ctl, &s);
    if (rc != 0)
        return rc;
    const char *params[] = {email};
    char *error = NULL;
    PGresult *res = hg_pg_exec(
        s.store,
        "SELECT jsonb_pretty(x), x->'customer'->>'id',"
        " jsonb_typeof(x->'customer') = 'object' OR jsonb_array_length(x->'messages_on_other_tickets') > 0"
        " OR jsonb_array_length(x->'chat_sessions') > 0 OR jsonb_array_length(x->'outbox_on_other_tickets') "
        "> 0"
        " OR jsonb_array_length(x->'audit') > 0"
        " FROM helpgate_customer_export($1) x",
        1, params, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl customer export: %s\n", error);
        free(error);
        ctl_session_close(&s);
        return 1;
    }
    if (PQgetvalue(res, 0, 2)[0] != 't') {
        fprintf(stderr, "helpgatectl customer export: nothing is held about %s\n", email);
        PQclear(res);
        ctl_session_close(&s);
        return EXIT_USAGE;
    }
    char stamp[32];
    format_time(time(NULL), true, stamp, sizeof stamp);
    const char *id = PQgetisnull(res, 0, 1) ? "none" : PQgetvalue(res, 0, 1);
    char *dir = hg_xasprintf("%s/customer-%s-export-%s", out, id, stamp);
    int files = 0;
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "helpgatectl customer export: cannot create %s: %s\n", dir, strerror(errno));
        rc = 1;
    } else {
        char *json_path = hg_xasprintf("%s/customer.json", dir);
        const char *json = PQgetvalue(res, 0, 0);
        rc = write_file(json_path, json, strlen(json)) == 0 ? 0 : 1;
        if (rc == 0) {
            printf("%s\n", json_path);
            rc = export_files(&s, email, dir, &files) == 0 ? 0 : 1;
        }
        free(json_path);
    }
    if (rc == 0) {
        char hex[HG_SHA256_HEX_SIZE], count[16];
        lower_sha256_hex(email, hex);
        snprintf(count, sizeof count, "%d", files + 1);
        const char *audit_params[] = {s.actor, PQgetisnull(res, 0, 1) ? NULL : id, hex, count};
        if (hg_pg_command(
                s.store,
                "INSERT INTO audit_log (actor, action, customer_id, details) VALUES ($1, 'customer.export',"
                " $2::bigint, jsonb_build_object('email_sha256', $3::text, 'files', $4::integer))",
                4, audit_params, &error) != 0) {
            fprintf(stderr, "helpgatectl customer export: %s\n", error);
            free(error);
            rc = 1;
        }
    }
    PQclear(res);
    free(dir);
    ctl_session_close(&s);
    return rc;
}

/* ---- customer erase ------------------------------------------------------------------------- */

static long long count_of(json_t *details, const char *key)
{
    return (long long)json_integer_value(json_object_get(details, key));
}

static void print_erase(const char *email, json_t *d, bool done)
{
    if (done)
        printf("customer %s erased (audit row %lld holds only the SHA-256 of the address: %s)\n", email,
               count_of(d, "audit_row"), json_string_value(json_object_get(d, "email_sha256")));
    else
        printf("customer erase %s would:\n", email);
    if (json_is_true(json_object_get(d, "customer")))
        printf("  delete the customer row\n");
    printf("  keep %lld ticket(s) for the statistics, without customer and with subject \"[erased]\"\n",
           count_of(d, "tickets"));
    printf("  empty %lld message(s): subject, texts, the customer's address and name\n",
           count_of(d, "messages"));
    printf("  purge %lld raw source(s), delete %lld attachment(s) and %lld content(s) no one else uses\n",
           count_of(d, "raw_sources"), count_of(d, "attachments"), count_of(d, "attachment_blobs"));
    printf("  delete %lld chat session(s)\n", count_of(d, "chat_sessions"));
    printf("  empty %lld outbox row(s), cancelling %lld queued mail(s)\n", count_of(d, "outbox"),
           count_of(d, "outbox_cancelled"));
    printf("  redact %lld audit row(s)\n", count_of(d, "audit_redacted"));
}

/* Archives hold everyone's data; an erasure does not rewrite them. Say so when there are some. */
static void archive_note(const char *archive_dir)
{
    DIR *dir = archive_dir != NULL ? opendir(archive_dir) : NULL;
    if (dir == NULL)
        return;
    bool any = false;
    for (struct dirent *e; !any && (e = readdir(dir)) != NULL;) {
        size_t len = strlen(e->d_name);
        any = e->d_name[0] != '.' && len > 9 && strcmp(e->d_name + len - 9, ".jsonl.gz") == 0;
    }
    closedir(dir);
    if (any)
        printf("note: the retention archives in %s are not rewritten; the ones written before now may hold "
               "this customer's data until they are deleted\n",
               archive_dir);
}

static int erase_usage(void)
{
    fprintf(stderr, "usage: helpgatectl customer erase EMAIL [--yes]\n");
    return EXIT_USAGE;
}

int ctl_customer_erase(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--yes") != 0))
        return erase_usage();
    const char *email = argv[2];
    bool yes = argc == 4;
    if (!ctl_valid_address(email)) {
        fprintf(stderr, "helpgatectl customer erase: \"%s\" is not an email address\n", email);
        return EXIT_USAGE;
    }
    struct ctl_session s;
    int rc = ctl_session_open(ctl, &s);
    if (rc != 0)
        return rc;
    /* Without --yes the erasure runs and is rolled back: the counts are exactly what --yes will do. */
    const char *params[] = {email, s.actor};
    char *error = NULL;
    PGresult *res = NULL;
    if (hg_pg_command(s.store, "BEGIN", 0, NULL, &error) == 0)
        res = hg_pg_exec(s.store, "SELECT helpgate_erase_customer($1, $2)::text", 2, params, &error);
    if (res != NULL && !yes)
        hg_pg_command(s.store, "ROLLBACK", 0, NULL, &error);
    else if (res != NULL && hg_pg_command(s.store, "COMMIT", 0, NULL, &error) != 0) {
        PQclear(res);
        res = NULL;
    }
    if (res == NULL) {
        fprintf(stderr, "helpgatectl customer erase: %s\n", error);
        fprintf(stderr, "hint: nothing was erased\n");
        free(error);
        ctl_session_close(&s);
        return 1;
    }
    free(error);
    if (PQgetisnull(res, 0, 0)) {
        fprintf(stderr, "helpgatectl customer erase: nothing is held about %s\n", email);
        rc = EXIT_USAGE;
    } else {
        json_t *details = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        print_erase(email, details, yes);
        json_decref(details);
        if (yes)
            archive_note(s.cfg->archive_dir);
        else
            printf("nothing was changed: run it again with --yes to erase\n");
    }
    PQclear(res);
    ctl_session_close(&s);
    return rc;
}
