/*
 * retention.c — archive, then purge, what is due (see retention.h).
 *
 * The SQL lives in sql/013_retention.sql: helpgate_retention_due_*() choose
 * and lock what is due, helpgate_*_record() give an archive line each,
 * helpgate_retention_purge_tickets() deletes tickets. This file runs them in
 * one transaction and owns the files: each archive is written under a
 * temporary name, fsync'd, linked to a name no other file has, and the
 * directory fsync'd before its rows are purged; an error before COMMIT
 * removes this run's archives again (nothing was purged). A dry run does
 * the same with a sink that only counts, and rolls back.
 */
#include "helpgate/retention.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/config.h"
#include "store_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* pg_try_advisory_xact_lock key: "hgretain" in ASCII. */
#define RETENTION_LOCK_KEY "7523107482615507310"
#define DEFAULT_MAX_ROWS 10000
/* Records fetched per query while archiving: at most the class's chunk_rows, and about this many bytes. */
#define CHUNK_BYTES (16LL * 1024 * 1024)
/* A class's keys as one SQL array literal: a bound on what one run handles. */
#define KEYS_TEXT_MAX (64u * 1024 * 1024)

/* One data class: its SQL. Keys are ticket or raw ids, or attachment contents' SHA-256 in hex. */
struct class_def {
    const char *name;
    const char *due_sql;    /* $1 cutoff (epoch), $2 limit → key, bytes, more (and locks them) */
    const char *record_sql; /* $1 keys of a chunk (text[]), $2 all keys → one JSON text per key, in order */
    int record_params;
    int chunk_rows;
    const char *purge_sql; /* $1 all keys → rows purged, details (JSON text or NULL) */
};

static const struct class_def classes[HG_RETENTION_CLASSES] = {
    [HG_RETENTION_TICKETS] =
        {
            .name = "tickets",
            .due_sql = "SELECT key, bytes, more"
                       " FROM helpgate_retention_due_tickets(to_timestamp($1::bigint), $2::integer)",
            .record_sql = "SELECT helpgate_ticket_record(u.k::bigint, $2::bigint[])::text"
                          " FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY u.n",
            .record_params = 2,
            .chunk_rows = 8,
            .purge_sql = "SELECT (p->>'tickets')::bigint, p::text"
                         " FROM helpgate_retention_purge_tickets($1::bigint[]) p",
        },
    [HG_RETENTION_ATTACHMENTS] =
        {
            .name = "attachments",
            .due_sql = "SELECT key, bytes, more"
                       " FROM helpgate_retention_due_attachments(to_timestamp($1::bigint), $2::integer)",
            .record_sql = "SELECT helpgate_blob_record(decode(u.k, 'hex'))::text"
                          " FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY u.n",
            .record_params = 1,
            .chunk_rows = 64,
            .purge_sql = "WITH p AS (UPDATE attachment_blobs SET data = NULL, purged_at = now()"
                         " WHERE sha256 = ANY (ARRAY(SELECT decode(k, 'hex') FROM unnest($1::text[]) k))"
                         " AND data IS NOT NULL RETURNING 1)"
                         " SELECT count(*), NULL::text FROM p",
        },
    [HG_RETENTION_RAW] =
        {
            .name = "raw",
            .due_sql = "SELECT key, bytes, more"
                       " FROM helpgate_retention_due_raw(to_timestamp($1::bigint), $2::integer)",
            .record_sql = "SELECT helpgate_raw_record(u.k::bigint)::text"
                          " FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY u.n",
            .record_params = 1,
            .chunk_rows = 64,
            .purge_sql = "WITH p AS (UPDATE raw_messages SET data = NULL, purged_at = now()"
                         " WHERE id = ANY ($1::bigint[]) AND data IS NOT NULL RETURNING 1)"
                         " SELECT count(*), NULL::text FROM p",
        },
};

const char *hg_retention_class_name(enum hg_retention_class c)
{
    return (unsigned)c < HG_RETENTION_CLASSES ? classes[c].name : "?";
}

void hg_retention_settings_from_config(const struct hg_config *cfg, struct hg_retention_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->days[HG_RETENTION_TICKETS] = cfg->retention_closed_ticket_days;
    s->days[HG_RETENTION_ATTACHMENTS] = cfg->retention_attachment_days;
    s->days[HG_RETENTION_RAW] = cfg->retention_raw_days;
    s->archive_dir = cfg->archive_dir;
    s->actor = "system";
}

void hg_retention_report_free(struct hg_retention_report *report)
{
    for (int c = 0; c < HG_RETENTION_CLASSES; c++) {
        free(report->classes[c].archive_path);
        report->classes[c].archive_path = NULL;
    }
}

/* "2026-11-23T03:00:00Z", or "20261123T030000Z" (COMPACT, for file names). */
static void format_time(time_t t, bool compact, char *out, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- what is due ----------------------------------------------------------------------------- */

struct due {
    char **keys; /* digits or hex digits: they need no quoting in an array literal */
    long long *bytes;
    size_t count;
    bool more;
};

static void due_free(struct due *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->bytes);
    memset(d, 0, sizeof(*d));
}

/* Loads and locks (FOR UPDATE, until the transaction ends) the due keys of a class. */
static int due_load(struct hg_store *store, const struct class_def *def, time_t cutoff, int limit,
                    struct due *d, char **error_r)
{
    char cutoff_text[24], limit_text[16];
    snprintf(cutoff_text, sizeof cutoff_text, "%lld", (long long)cutoff);
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *params[] = {cutoff_text, limit_text};
    memset(d, 0, sizeof(*d));
    PGresult *res = hg_pg_exec(store, def->due_sql, 2, params, error_r);
    if (res == NULL)
        return -1;
    d->count = (size_t)PQntuples(res);
    d->keys = hg_xcalloc(d->count + 1, sizeof(*d->keys));
    d->bytes = hg_xcalloc(d->count + 1, sizeof(*d->bytes));
    for (size_t i = 0; i < d->count; i++) {
        d->keys[i] = hg_xstrdup(PQgetvalue(res, (int)i, 0));
        d->bytes[i] = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        d->more = d->more || PQgetvalue(res, (int)i, 2)[0] == 't';
    }
    PQclear(res);
    return 0;
}

/* "{k1,k2,...}" for keys [FROM, TO); NULL when longer than KEYS_TEXT_MAX. */
static char *keys_literal(const struct due *d, size_t from, size_t to)
{
    struct hg_buf b;
    hg_buf_init(&b, KEYS_TEXT_MAX);
    int rc = hg_buf_append_char(&b, '{');
    for (size_t i = from; i < to && rc == 0; i++) {
        if (i > from)
            rc = hg_buf_append_char(&b, ',');
        if (rc == 0)
            rc = hg_buf_append_str(&b, d->keys[i]);
    }
    if (rc == 0)
        rc = hg_buf_append_char(&b, '}');
    if (rc != 0) {
        hg_buf_free(&b);
        return NULL;
    }
    return hg_buf_steal(&b);
}

/* ---- archive files --------------------------------------------------------------------------- */

struct archive {
    bool counting; /* a dry run: nothing is written, only counted */
    char *tmp_path;
    int fd;
    gzFile gz;
    long long records, bytes; /* record lines, and their bytes before compression */
};

/* mkdir -p; what it creates gets mode 0700 (archives hold personal data). */
static int make_dirs(const char *dir, char **error_r)
{
    char *path = hg_xstrdup(dir);
    int rc = 0;
    for (char *p = path + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *error_r = hg_xasprintf("cannot create archive directory %s: %s", path, strerror(errno));
            rc = -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        *error_r = hg_xasprintf("archive directory %s is not a directory", dir);
        rc = -1;
    }
    free(path);
    return rc;
}

static int archive_write(struct archive *a, const char *data, size_t len, char **error_r)
{
    while (len > 0 && !a->counting) {
        unsigned part = len > (1u << 30) ? (1u << 30) : (unsigned)len;
        if (gzwrite(a->gz, data, part) != (int)part) {
            int zerr = 0;
            const char *why = gzerror(a->gz, &zerr);
            *error_r = hg_xasprintf("cannot write archive %s: %s", a->tmp_path,
                                    zerr == Z_ERRNO ? strerror(errno) : why);
            return -1;
        }
        data += part;
        len -= part;
    }
    return 0;
}

/* Writes LINE (and releases it) as one line. */
static int archive_write_json(struct archive *a, json_t *line, char **error_r)
{
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        hg_out_of_memory(0);
    int rc = archive_write(a, text, strlen(text), error_r);
    if (rc == 0)
        rc = archive_write(a, "\n", 1, error_r);
    free(text);
    return rc;
}

static void archive_abort(struct archive *a)
{
    if (a->gz != NULL)
        gzclose(a->gz);
    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp_path != NULL)
        unlink(a->tmp_path);
    free(a->tmp_path);
    memset(a, 0, sizeof(*a));
    a->fd = -1;
}

static int archive_open(struct archive *a, bool counting, const char *dir, const char *class_name, time_t now,
                        char **error_r)
{
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->counting = counting;
    if (counting)
        return 0;
    if (make_dirs(dir, error_r) != 0)
        return -1;
    char stamp[32];
    format_time(now, true, stamp, sizeof stamp);
    a->tmp_path = hg_xasprintf("%s/.%s-%s.%ld.tmp", dir, class_name, stamp, (long)getpid());
    a->fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        *error_r = hg_xasprintf("cannot create archive %s: %s", a->tmp_path, strerror(errno));
        archive_abort(a);
        return -1;
    }
    int gz_fd = dup(a->fd);
    a->gz = gz_fd >= 0 ? gzdopen(gz_fd, "wb") : NULL;
    if (a->gz == NULL) {
        *error_r = hg_xasprintf("cannot start a gzip stream for %s", a->tmp_path);
        if (gz_fd >= 0)
            close(gz_fd);
        archive_abort(a);
        return -1;
    }
    return 0;
}

static int fsync_dir(const char *dir, char **error_r)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        *error_r = hg_xasprintf("cannot sync archive directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/*
 * Ends the stream, makes it durable and gives it its name DIR/CLASS-STAMP.jsonl.gz
 * (-2, -3... when taken) in *path_r, with its size in *size_r.
 */
static int archive_finish(struct archive *a, const char *dir, const char *class_name, time_t now,
                          char **path_r, long long *size_r, char **error_r)
{
    int zrc = gzclose(a->gz);
    a->gz = NULL;
    if (zrc != Z_OK) {
        *error_r = hg_xasprintf("cannot finish archive %s (zlib error %d)", a->tmp_path, zrc);
        archive_abort(a);
        return -1;
    }
    struct stat st;
    if (fsync(a->fd) != 0 || fstat(a->fd, &st) != 0) {
        *error_r = hg_xasprintf("cannot sync archive %s: %s", a->tmp_path, strerror(errno));
        archive_abort(a);
        return -1;
    }
    close(a->fd);
    a->fd = -1;
    char stamp[32];
    format_time(now, true, stamp, sizeof stamp);
    char *path = NULL;
    for (int n = 1;; n++) {
        path = n == 1 ? hg_xasprintf("%s/%s-%s.jsonl.gz", dir, class_name, stamp)
                      : hg_xasprintf("%s/%s-%s-%d.jsonl.gz", dir, class_name, stamp, n);
        /* link() never replaces a file: an earlier archive with the same name stays. */
        if (link(a->tmp_path, path) == 0)
            break;
        int err = errno;
        free(path);
        if (err != EEXIST || n == 1000) {
            *error_r = hg_xasprintf("cannot name archive %s/%s-%s.jsonl.gz: %s", dir, class_name, stamp,
                                    strerror(err));
            archive_abort(a);
            return -1;
        }
    }
    unlink(a->tmp_path);
    free(a->tmp_path);
    a->tmp_path = NULL;
    if (fsync_dir(dir, error_r) != 0) {
        unlink(path);
        free(path);
        return -1;
    }
    *path_r = path;
    *size_r = (long long)st.st_size;
    return 0;
}

/* ---- one class ------------------------------------------------------------------------------- */

static json_t *archive_header(const char *class_name, time_t now, time_t cutoff, int days,
                              const char *database)
{
    char now_text[32], cutoff_text[32];
    format_time(now, false, now_text, sizeof now_text);
    format_time(cutoff, false, cutoff_text, sizeof cutoff_text);
    json_t *h = json_object();
    json_object_set_new(h, "format", json_string("helpgate-archive"));
    json_object_set_new(h, "version", json_integer(1));
    json_object_set_new(h, "class", json_string(class_name));
    json_object_set_new(h, "as_of", json_string(now_text));
    json_object_set_new(h, "days", json_integer(days));
    json_object_set_new(h, "cutoff", json_string(cutoff_text));
    json_object_set_new(h, "database", json_string(database));
    return h;
}

/* Writes the record of every due key into A, a chunk of keys per query. */
static int archive_records(struct hg_store *store, const struct class_def *def, const struct due *d,
                           const char *all_keys, struct archive *a, char **error_r)
{
    for (size_t from = 0; from < d->count;) {
        size_t to = from;
        long long chunk_bytes = 0;
        while (to < d->count && to - from < (size_t)def->chunk_rows &&
               (to == from || chunk_bytes < CHUNK_BYTES))
            chunk_bytes += d->bytes[to++];
        char *chunk = keys_literal(d, from, to);
        const char *params[] = {chunk, all_keys};
        PGresult *res = hg_pg_exec(store, def->record_sql, def->record_params, params, error_r);
        free(chunk);
        if (res == NULL)
            return -1;
        int rc = 0;
        if ((size_t)PQntuples(res) != to - from) {
            *error_r = hg_xasprintf("archiving %s: %zu records asked for, %d given", def->name, to - from,
                                    PQntuples(res));
            rc = -1;
        }
        for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
            if (PQgetisnull(res, i, 0)) {
                *error_r =
                    hg_xasprintf("archiving %s: %s vanished during the run", def->name, d->keys[from + i]);
                rc = -1;
                break;
            }
            size_t len = (size_t)PQgetlength(res, i, 0);
            rc = archive_write(a, PQgetvalue(res, i, 0), len, error_r);
            if (rc == 0)
                rc = archive_write(a, "\n", 1, error_r);
            a->records++;
            a->bytes += (long long)len + 1;
        }
        PQclear(res);
        if (rc != 0)
            return -1;
        from = to;
    }
    return 0;
}

/*
 * Archives, then purges, the due (and locked) rows of a class. *PURGED_R: what
 * the purge says it deleted (tickets), or NULL.
 */
static int run_class(struct hg_store *store, enum hg_retention_class c, const struct hg_retention_settings *s,
                     bool dry_run, time_t now, const struct due *d, struct hg_retention_class_report *r,
                     json_t **purged_r, char **error_r)
{
    const struct class_def *def = &classes[c];
    char *all_keys = keys_literal(d, 0, d->count);
    if (all_keys == NULL) {
        *error_r = hg_xasprintf("%s: too many due for one run (lower max_rows)", def->name);
        return -1;
    }
    struct archive a;
    json_t *header = archive_header(def->name, now, r->cutoff, s->days[c], hg_store_describe(store));
    int rc = archive_open(&a, dry_run, s->archive_dir, def->name, now, error_r);
    if (rc == 0)
        rc = archive_write_json(&a, header, error_r);
    else
        json_decref(header);
    if (rc == 0)
        rc = archive_records(store, def, d, all_keys, &a, error_r);
    if (rc == 0) {
        json_t *trailer = json_object();
        json_object_set_new(trailer, "end", json_true());
        json_object_set_new(trailer, "records", json_integer(a.records));
        json_object_set_new(trailer, "bytes", json_integer(a.bytes));
        rc = archive_write_json(&a, trailer, error_r);
    }
    long long records = a.records, json_bytes = a.bytes;
    if (rc == 0 && !dry_run)
        rc = archive_finish(&a, s->archive_dir, def->name, now, &r->archive_path, &r->archive_size, error_r);
    else if (rc != 0)
        archive_abort(&a);
    if (rc != 0) {
        free(all_keys);
        return -1;
    }

    /* The archive is on disk: now its rows may go. */
    const char *params[] = {all_keys};
    PGresult *res = hg_pg_exec(store, def->purge_sql, 1, params, error_r);
    free(all_keys);
    if (res == NULL)
        return -1;
    long long purged = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *purged_r = PQgetisnull(res, 0, 1) ? NULL : json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    if (purged != records || records != (long long)d->count) {
        *error_r = hg_xasprintf("%s: %lld archived but %lld purged: the rows changed during the run",
                                def->name, records, purged);
        return -1;
    }
    r->rows = records;
    if (c == HG_RETENTION_TICKETS)
        r->bytes = json_bytes;
    else
        for (size_t i = 0; i < d->count; i++)
            r->bytes += d->bytes[i];
    return 0;
}

/* ---- the run --------------------------------------------------------------------------------- */

static int database_size(struct hg_store *store, long long *size_r, char **error_r)
{
    PGresult *res = hg_pg_exec(store, "SELECT pg_database_size(current_database())", 0, NULL, error_r);
    if (res == NULL)
        return -1;
    *size_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* 1 when a run is recorded less than MIN_INTERVAL seconds before NOW, 0 when not, -1 on error. */
static int ran_recently(struct hg_store *store, time_t now, int min_interval, char **error_r)
{
    char since[24];
    snprintf(since, sizeof since, "%lld", (long long)now - min_interval);
    const char *params[] = {since};
    PGresult *res = hg_pg_exec(store,
                               "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'retention.run'"
                               " AND at > to_timestamp($1::bigint))",
                               1, params, error_r);
    if (res == NULL)
        return -1;
    int recent = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return recent;
}

static int write_audit(struct hg_store *store, const struct hg_retention_settings *s, time_t now,
                       struct hg_retention_report *report, json_t *purged[HG_RETENTION_CLASSES],
                       char **error_r)
{
    char now_text[32];
    format_time(now, false, now_text, sizeof now_text);
    json_t *details = json_object();
    json_object_set_new(details, "as_of", json_string(now_text));
    for (int c = 0; c < HG_RETENTION_CLASSES; c++) {
        const struct hg_retention_class_report *r = &report->classes[c];
        json_t *o = json_object();
        json_object_set_new(o, "days", json_integer(s->days[c]));
        if (r->enabled) {
            char cutoff[32];
            format_time(r->cutoff, false, cutoff, sizeof cutoff);
            json_object_set_new(o, "cutoff", json_string(cutoff));
            json_object_set_new(o, "rows", json_integer(r->rows));
            json_object_set_new(o, "bytes", json_integer(r->bytes));
            json_object_set_new(o, "more", json_boolean(r->more));
        }
        if (r->archive_path != NULL) {
            json_object_set_new(o, "archive", json_string(r->archive_path));
            json_object_set_new(o, "archive_size", json_integer(r->archive_size));
        }
        if (purged[c] != NULL)
            json_object_set(o, "deleted", purged[c]);
        json_object_set_new(details, classes[c].name, o);
    }
    json_object_set_new(details, "database_size_before", json_integer(report->db_size_before));
    char *text = json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(details);
    if (text == NULL)
        hg_out_of_memory(0);
    const char *params[] = {s->actor != NULL ? s->actor : "system", text};
    PGresult *res = hg_pg_exec(store,
                               "INSERT INTO audit_log (actor, action, details)"
                               " VALUES ($1, 'retention.run', $2::jsonb) RETURNING id",
                               2, params, error_r);
    free(text);
    if (res == NULL)
        return -1;
    report->audit_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* Removes the archives of a run that did not commit: none of their rows was purged. */
static void remove_archives(struct hg_retention_report *report)
{
    for (int c = 0; c < HG_RETENTION_CLASSES; c++) {
        if (report->classes[c].archive_path != NULL)
            unlink(report->classes[c].archive_path);
        free(report->classes[c].archive_path);
        report->classes[c].archive_path = NULL;
        report->classes[c].archive_size = 0;
    }
}

/* The work inside the transaction: 1 when it stopped early (busy, recent), 0 done, -1 error. */
static int run_in_transaction(struct hg_store *store, const struct hg_retention_settings *s, bool dry_run,
                              time_t now, struct hg_retention_report *report, char **error_r)
{
    PGresult *res =
        hg_pg_exec(store, "SELECT pg_try_advisory_xact_lock(" RETENTION_LOCK_KEY ")", 0, NULL, error_r);
    if (res == NULL)
        return -1;
    bool locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!locked) {
        report->outcome = HG_RETENTION_BUSY;
        return 1;
    }
    if (!dry_run && s->min_interval > 0) {
        int recent = ran_recently(store, now, s->min_interval, error_r);
        if (recent > 0)
            report->outcome = HG_RETENTION_RECENT;
        if (recent != 0)
            return recent;
    }
    int limit = s->max_rows > 0 ? s->max_rows : DEFAULT_MAX_ROWS;
    json_t *purged[HG_RETENTION_CLASSES] = {NULL};
    int rc = 0;
    /* In enum order, tickets first: what they take along is not archived again by the other classes. */
    for (int c = 0; c < HG_RETENTION_CLASSES && rc == 0; c++) {
        struct hg_retention_class_report *r = &report->classes[c];
        r->enabled = s->days[c] > 0;
        if (!r->enabled)
            continue;
        r->cutoff = now - (time_t)s->days[c] * 86400;
        struct due d;
        rc = due_load(store, &classes[c], r->cutoff, limit, &d, error_r);
        if (rc != 0)
            break;
        r->more = d.more;
        if (d.count > 0)
            rc = run_class(store, (enum hg_retention_class)c, s, dry_run, now, &d, r, &purged[c], error_r);
        due_free(&d);
    }
    if (rc == 0 && !dry_run)
        rc = write_audit(store, s, now, report, purged, error_r);
    for (int c = 0; c < HG_RETENTION_CLASSES; c++)
        json_decref(purged[c]);
    return rc;
}

int hg_retention_run(struct hg_store *store, const struct hg_retention_settings *s, bool dry_run, time_t now,
                     struct hg_retention_report *report, char **error_r)
{
    memset(report, 0, sizeof(*report));
    report->dry_run = dry_run;
    bool any = false;
    for (int c = 0; c < HG_RETENTION_CLASSES; c++)
        any = any || s->days[c] > 0;
    if (any && !dry_run && (s->archive_dir == NULL || s->archive_dir[0] != '/')) {
        *error_r = hg_xstrdup("retention needs an absolute archive_dir ([retention] archive_dir)");
        return -1;
    }
    if (database_size(store, &report->db_size_before, error_r) != 0)
        return -1;
    if (hg_pg_command(store, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, error_r) != 0)
        return -1;
    int rc = run_in_transaction(store, s, dry_run, now, report, error_r);
    if (rc != 0 || dry_run) {
        char *ignored = NULL;
        hg_pg_command(store, "ROLLBACK", 0, NULL, &ignored);
        free(ignored);
        remove_archives(report);
        report->db_size_after = report->db_size_before;
        return rc < 0 ? -1 : 0;
    }
    if (hg_pg_command(store, "COMMIT", 0, NULL, error_r) != 0) {
        /* Whether the server committed is not known: the archives stay (archiving twice is harmless). */
        char *why = *error_r;
        *error_r = hg_xasprintf("COMMIT failed: %s (this run's archives stay in %s)", why, s->archive_dir);
        free(why);
        return -1;
    }
    return database_size(store, &report->db_size_after, error_r);
}
