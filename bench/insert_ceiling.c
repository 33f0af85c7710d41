/*
 * insert_ceiling.c — the PostgreSQL side's ceiling for bench/ingest (a benchmark, not a test).
 *
 *   insert_ceiling CONNINFO DIR [--mode txn|one|six|routed] [--commit-every N] [--unprepared] [--truncate]
 *
 * Bare libpq over the given connection (the same unix socket helpgated uses):
 * for every DIR/ *.eml, in name order, the rows helpgate stores per message,
 * in helpgate's own tables (the database has the helpgate schema, so indexes,
 * constraints and column compression are the same). Two sets of rows:
 *
 * Three rows (--mode txn, --mode one): what helpgate must at least store.
 *   raw_messages (sha256, size, data)   the raw bytes, bytea as a binary parameter
 *   tickets      (subject, channel)     a ticket-like row
 *   messages     (ticket_id, direction, channel, from_address, message_id,
 *                 subject, body_text, raw_id)
 *                                       a message-like row with the file's text
 *                                       (invalid UTF-8 bytes read as Latin-1)
 * --mode txn (default): BEGIN, the three INSERTs (each RETURNING what the next
 * needs), COMMIT: five round trips per message. --mode one: the three INSERTs
 * as one statement (data-modifying CTEs): one round trip per message.
 *
 * Six rows (--mode six): the rows helpgated writes for a new message, as
 * helpgate_intake_message() (sql/003) writes them, in one statement:
 *   raw_messages  as above, ON CONFLICT (sha256) DO UPDATE as helpgated
 *   customers     the sender, looked up by lower(email) and inserted when new
 *                 (address and display name from the From line)
 *   tickets       (subject, channel, customer_id, support_address), for every
 *                 message (helpgated updates the ticket of a reply instead)
 *   messages      as above plus author_customer_id, from_name, in_reply_to
 *   audit_log     ('system', 'ticket.create', ticket, customer, the same JSON
 *                 details: channel, message_id, message row, mailbox)
 *   intake_seen   (mailbox, uidvalidity, uid = the file's number, message row)
 * Routed (--mode routed): what helpgated writes for a new message since
 * routing and the mail loop joined intake (sql/009 helpgate_intake_routed()
 * and the mail loop's decision): the six rows, the ticket written with its
 * route (tier, priority, the route as JSON: a default route of the shape
 * hg_rules_result_json() gives), and two more audit rows: 'ticket.route'
 * (the route) and 'ack.skipped' (what the mail loop records for a ticket it
 * does not acknowledge, as in bench/ingest's config, which has no templates).
 * Eight rows in one statement.
 * Not done here, though helpgated does them: the duplicate check, the agent
 * lookup, threading, and attachments (two statements per attachment, about
 * one message in ten of the shared corpus). Done here and not by helpgated:
 * the message row holds the whole file as text, where helpgated stores the
 * decoded text parts (about a quarter of the bytes) and puts attachments in
 * attachment_blobs. bench/README.md weighs the two.
 *
 * --commit-every N (modes one and six; default 1): BEGIN, N messages, COMMIT,
 * as helpgated commits once per IMAP batch; 1 = every message in its own
 * implicit transaction. --unprepared sends every statement with PQexecParams
 * instead (parsed and planned each time): a what-if, not a ceiling.
 * --truncate empties the tables first (audit_log's append-only trigger is
 * disabled for that moment: the database is a scratch one).
 *
 * Files are read and their SHA-256, headers and text prepared before the clock
 * starts: only the database work is timed. Prints one line, key=value:
 *   insert_ceiling mode=M rows=3|6 commit_every=N prepared=yes|no messages=N bytes=B seconds=S
 *                  msgs_per_s=R client_cpu_s=C server_cpu_s=P
 * server_cpu_s is the CPU time of this connection's backend process, read from
 * /proc (so only when the server runs on this machine and /proc is readable;
 * -1 otherwise). Exits 1 with the server's message on any failure.
 */
#include <libpq-fe.h>
#include <nettle/sha2.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct message {
    char *raw;
    size_t len;
    uint8_t sha256[SHA256_DIGEST_SIZE];
    char size_text[24];
    char *subject;
    char *from;
    char *from_email; /* the address in From (between <> when present) */
    char *from_name;  /* the display name before it, or NULL */
    char *message_id;
    char *in_reply_to;
    char uid_text[16]; /* the file's number in name order, as its IMAP UID would be */
    char *text;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system CPU seconds of this process. */
static double own_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* User + system CPU seconds of process PID from /proc/PID/stat; -1 when unreadable. */
static double backend_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1.0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15. */
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1.0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "insert_ceiling: out of memory\n");
        exit(1);
    }
    return p;
}

/* Length of the valid UTF-8 sequence at S (at most N bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A NUL-terminated UTF-8 copy of S: valid sequences as they are, other bytes as Latin-1, NULs dropped. */
static char *to_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = xmalloc(2 * n + 1), *o = out;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(u + i, n - i);
        if (u[i] == 0) {
            i++;
        } else if (len > 0) {
            memcpy(o, u + i, len);
            o += len;
            i += len;
        } else {
            *o++ = (char)(0xc0 | u[i] >> 6);
            *o++ = (char)(0x80 | (u[i] & 0x3f));
            i++;
        }
    }
    *o = '\0';
    return out;
}

/* The first line of header NAME (no unfolding), as UTF-8; NULL when absent. */
static char *header(const char *raw, size_t len, const char *name)
{
    size_t name_len = strlen(name);
    const char *p = raw, *end = raw + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        size_t line = (size_t)(eol - p);
        if (line == 0 || (line == 1 && p[0] == '\r'))
            return NULL; /* end of the header */
        if (line > name_len && p[name_len] == ':' && strncasecmp(p, name, name_len) == 0) {
            const char *v = p + name_len + 1, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' '))
                e--;
            return to_utf8(v, (size_t)(e - v));
        }
        p = eol + 1;
    }
    return NULL;
}

/* "<id>" -> "id", in place. */
static void strip_angles(char *id)
{
    if (id == NULL || id[0] != '<')
        return;
    size_t n = strlen(id);
    memmove(id, id + 1, n);
    n--;
    if (n > 0 && id[n - 1] == '>')
        id[n - 1] = '\0';
}

static char *copy_range(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* Splits a From line: "Name <addr>" or "addr"; quotes around the name are dropped. */
static void split_from(const char *from, char **email_r, char **name_r)
{
    *email_r = NULL;
    *name_r = NULL;
    if (from == NULL || from[0] == '\0') {
        *email_r = copy_range("unknown@ceiling.invalid", strlen("unknown@ceiling.invalid"));
        return;
    }
    const char *lt = strrchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt == NULL || gt == NULL) {
        *email_r = copy_range(from, strlen(from));
        return;
    }
    *email_r = copy_range(lt + 1, (size_t)(gt - lt - 1));
    const char *start = from, *end = lt;
    while (start < end && (*start == ' ' || *start == '"'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '"'))
        end--;
    if (end > start)
        *name_r = copy_range(start, (size_t)(end - start));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_eml(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".eml") == 0;
}

static struct message *load(const char *dir, size_t *n_r, size_t *bytes_r)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_eml, by_name);
    if (n <= 0) {
        fprintf(stderr, "insert_ceiling: no *.eml in %s\n", dir);
        exit(1);
    }
    struct message *list = xmalloc((size_t)n * sizeof(*list));
    *bytes_r = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        FILE *f = fopen(path, "rb");
        struct stat st;
        if (f == NULL || fstat(fileno(f), &st) != 0) {
            perror(path);
            exit(1);
        }
        struct message *m = &list[i];
        m->len = (size_t)st.st_size;
        m->raw = xmalloc(m->len + 1);
        if (fread(m->raw, 1, m->len, f) != m->len) {
            perror(path);
            exit(1);
        }
        fclose(f);
        m->raw[m->len] = '\0';
        struct sha256_ctx ctx;
        sha256_init(&ctx);
        sha256_update(&ctx, m->len, (const uint8_t *)m->raw);
        sha256_digest(&ctx, sizeof(m->sha256), m->sha256);
        snprintf(m->size_text, sizeof(m->size_text), "%zu", m->len);
        m->subject = header(m->raw, m->len, "Subject");
        m->from = header(m->raw, m->len, "From");
        m->message_id = header(m->raw, m->len, "Message-ID");
        strip_angles(m->message_id);
        m->in_reply_to = header(m->raw, m->len, "In-Reply-To");
        strip_angles(m->in_reply_to);
        split_from(m->from, &m->from_email, &m->from_name);
        snprintf(m->uid_text, sizeof(m->uid_text), "%d", i + 1);
        m->text = to_utf8(m->raw, m->len);
        *bytes_r += m->len;
        free(names[i]);
    }
    free(names);
    *n_r = (size_t)n;
    return list;
}

static void fail(PGconn *conn, PGresult *res, const char *what)
{
    fprintf(stderr, "insert_ceiling: %s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    exit(1);
}

static PGresult *expect(PGconn *conn, PGresult *res, ExecStatusType want, const char *what)
{
    if (res == NULL || PQresultStatus(res) != want)
        fail(conn, res, what);
    return res;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void command(PGconn *conn, const char *sql)
{
    PQclear(expect(conn, PQexec(conn, sql), PGRES_COMMAND_OK, sql));
}

static void prepare(PGconn *conn, const char *name, const char *sql, int n_params)
{
    PQclear(expect(conn, PQprepare(conn, name, sql, n_params, NULL), PGRES_COMMAND_OK, name));
}

static int use_prepared = 1;

/* The text of each prepared statement, for --unprepared. */
static const char *const sql_raw =
    "INSERT INTO raw_messages (sha256, size, data) VALUES ($1, $2, $3) RETURNING id";
static const char *const sql_ticket =
    "INSERT INTO tickets (subject, channel) VALUES ($1, 'email') RETURNING id";
static const char *const sql_message =
    "INSERT INTO messages (ticket_id, direction, channel, from_address, message_id, subject, body_text,"
    " raw_id) VALUES ($1, 'in', 'email', $2, $3, $4, $5, $6)";
/* The six rows of a new message, as helpgate_intake_message() writes them (see the top). */
static const char *const sql_six =
    "WITH r AS (INSERT INTO raw_messages (sha256, size, data) VALUES ($1, $2, $3)"
    "  ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id),"
    " nc AS (INSERT INTO customers (email, name) SELECT $4, $5"
    "  WHERE NOT EXISTS (SELECT 1 FROM customers WHERE lower(email) = lower($4))"
    "  ON CONFLICT ((lower(email))) DO NOTHING RETURNING id),"
    " c AS (SELECT id FROM nc UNION ALL SELECT id FROM customers WHERE lower(email) = lower($4) LIMIT 1),"
    " t AS (INSERT INTO tickets (subject, channel, customer_id, support_address)"
    "  SELECT $6, 'email', (SELECT id FROM c), 'support@ceiling.invalid' RETURNING id),"
    " m AS (INSERT INTO messages (ticket_id, direction, channel, author_customer_id, from_address, from_name,"
    "  message_id, in_reply_to, subject, body_text, raw_id)"
    "  SELECT t.id, 'in', 'email', (SELECT id FROM c), $4, $5, $7, $8, $6, $9, r.id FROM r, t"
    "  RETURNING id, ticket_id),"
    " a AS (INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)"
    "  SELECT 'system', 'ticket.create', m.ticket_id, (SELECT id FROM c), "
    "jsonb_strip_nulls(jsonb_build_object("
    "  'channel', 'email', 'message_id', $7::text, 'message', m.id, 'mailbox', 'ceiling')) FROM m)"
    " INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id) SELECT 'ceiling', 1, $10, m.id "
    "FROM m";
/* The eight rows of a routed new message (see the top). */
static const char *const sql_routed =
    "WITH r AS (INSERT INTO raw_messages (sha256, size, data) VALUES ($1, $2, $3)"
    "  ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id),"
    " nc AS (INSERT INTO customers (email, name) SELECT $4, $5"
    "  WHERE NOT EXISTS (SELECT 1 FROM customers WHERE lower(email) = lower($4))"
    "  ON CONFLICT ((lower(email))) DO NOTHING RETURNING id),"
    " c AS (SELECT id FROM nc UNION ALL SELECT id FROM customers WHERE lower(email) = lower($4) LIMIT 1),"
    " t AS (INSERT INTO tickets (subject, channel, customer_id, support_address, tier, priority, "
    "route_actions,"
    "  sla_policy)"
    "  SELECT $6, 'email', (SELECT id FROM c), 'support@ceiling.invalid', $11::jsonb->>'tier',"
    "  $11::jsonb->>'priority', $11::jsonb, $11::jsonb->>'sla' RETURNING id),"
    " m AS (INSERT INTO messages (ticket_id, direction, channel, author_customer_id, from_address, from_name,"
    "  message_id, in_reply_to, subject, body_text, raw_id)"
    "  SELECT t.id, 'in', 'email', (SELECT id FROM c), $4, $5, $7, $8, $6, $9, r.id FROM r, t"
    "  RETURNING id, ticket_id),"
    " a AS (INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)"
    "  SELECT 'system', 'ticket.create', m.ticket_id, (SELECT id FROM c), "
    "jsonb_strip_nulls(jsonb_build_object("
    "  'channel', 'email', 'message_id', $7::text, 'message', m.id, 'mailbox', 'ceiling')) FROM m"
    "  UNION ALL SELECT 'rules', 'ticket.route', m.ticket_id, (SELECT id FROM c), $11::jsonb FROM m"
    "  UNION ALL SELECT 'system', 'ack.skipped', m.ticket_id, NULL,"
    "  jsonb_build_object('reason', 'no_template', 'detail', 'no acknowledgement template') FROM m)"
    " INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id) SELECT 'ceiling', 1, $10, m.id "
    "FROM m";
/* A default route, as hg_rules_result_json() writes it when no rule matched. */
static const char *const default_route =
    "{\"tier\":\"L1\",\"rule\":\"default\",\"file\":null,\"line\":0,\"priority\":\"normal\","
    "\"queue\":null,\"assign\":null,\"acknowledge\":null,\"sla\":\"L1\",\"tags\":[],\"notify\":[],"
    "\"matched\":[],\"stopped\":false}";
static const char *const sql_all =
    "WITH r AS (INSERT INTO raw_messages (sha256, size, data) VALUES ($1, $2, $3) RETURNING id),"
    " t AS (INSERT INTO tickets (subject, channel) VALUES ($4, 'email') RETURNING id)"
    " INSERT INTO messages (ticket_id, direction, channel, from_address, message_id, subject, body_text,"
    " raw_id) SELECT t.id, 'in', 'email', $5, $6, $4, $7, r.id FROM r, t";

static PGresult *run(PGconn *conn, const char *name, const char *sql, int n, const char *const *params,
                     const int *lengths, const int *formats)
{
    if (use_prepared)
        return PQexecPrepared(conn, name, n, params, lengths, formats, 0);
    return PQexecParams(conn, sql, n, NULL, params, lengths, formats, 0);
}

/* Five round trips: BEGIN, raw, ticket, message, COMMIT. */
static void store_txn(PGconn *conn, const struct message *m)
{
    command(conn, "BEGIN");
    const char *raw_params[] = {(const char *)m->sha256, m->size_text, m->raw};
    int raw_lengths[] = {SHA256_DIGEST_SIZE, 0, (int)m->len};
    int raw_formats[] = {1, 0, 1};
    PGresult *res = expect(conn, run(conn, "raw", sql_raw, 3, raw_params, raw_lengths, raw_formats),
                           PGRES_TUPLES_OK, "INSERT raw_messages");
    char raw_id[24];
    snprintf(raw_id, sizeof(raw_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    const char *ticket_params[] = {m->subject ? m->subject : ""};
    res = expect(conn, run(conn, "ticket", sql_ticket, 1, ticket_params, NULL, NULL), PGRES_TUPLES_OK,
                 "INSERT tickets");
    char ticket_id[24];
    snprintf(ticket_id, sizeof(ticket_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    const char *msg_params[] = {ticket_id, m->from, m->message_id, m->subject, m->text, raw_id};
    PQclear(expect(conn, run(conn, "message", sql_message, 6, msg_params, NULL, NULL), PGRES_COMMAND_OK,
                   "INSERT messages"));
    command(conn, "COMMIT");
}

/* One round trip: the three INSERTs in one statement. */
static void store_one(PGconn *conn, const struct message *m)
{
    const char *params[] = {
        (const char *)m->sha256, m->size_text, m->raw, m->subject ? m->subject : "", m->from,
        m->message_id,           m->text};
    int lengths[] = {SHA256_DIGEST_SIZE, 0, (int)m->len, 0, 0, 0, 0};
    int formats[] = {1, 0, 1, 0, 0, 0, 0};
    PQclear(expect(conn, run(conn, "all", sql_all, 7, params, lengths, formats), PGRES_COMMAND_OK,
                   "INSERT (one statement)"));
}

/* One round trip: the six rows of a new message in one statement. */
static void store_six(PGconn *conn, const struct message *m)
{
    const char *params[] = {
        (const char *)m->sha256,      m->size_text,  m->raw,         m->from_email, m->from_name,
        m->subject ? m->subject : "", m->message_id, m->in_reply_to, m->text,       m->uid_text};
    int lengths[] = {SHA256_DIGEST_SIZE, 0, (int)m->len, 0, 0, 0, 0, 0, 0, 0};
    int formats[] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    PQclear(expect(conn, run(conn, "six", sql_six, 10, params, lengths, formats), PGRES_COMMAND_OK,
                   "INSERT (six rows, one statement)"));
}

/* One round trip: the eight rows of a routed new message in one statement. */
static void store_routed(PGconn *conn, const struct message *m)
{
    const char *params[] = {(const char *)m->sha256,
                            m->size_text,
                            m->raw,
                            m->from_email,
                            m->from_name,
                            m->subject ? m->subject : "",
                            m->message_id,
                            m->in_reply_to,
                            m->text,
                            m->uid_text,
                            default_route};
    int lengths[] = {SHA256_DIGEST_SIZE, 0, (int)m->len, 0, 0, 0, 0, 0, 0, 0, 0};
    int formats[] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    PQclear(expect(conn, run(conn, "routed", sql_routed, 11, params, lengths, formats), PGRES_COMMAND_OK,
                   "INSERT (eight rows, one statement)"));
}

/* Empties what the modes write; audit_log is append-only, so its trigger is off for the moment. */
static void truncate_tables(PGconn *conn)
{
    command(conn, "BEGIN");
    command(conn, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    command(conn, "TRUNCATE raw_messages, tickets, messages, customers, audit_log, intake_seen CASCADE");
    command(conn, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    command(conn, "COMMIT");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: insert_ceiling CONNINFO DIR [--mode txn|one|six|routed] [--commit-every N] [--unprepared]"
            " [--truncate]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *mode = "txn";
    int truncate = 0;
    long commit_every = 1;
    for (int i = 3; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            mode = argv[++i];
        } else if (strcmp(argv[i], "--commit-every") == 0 && i + 1 < argc) {
            commit_every = strtol(argv[++i], &end, 10);
            if (*end != '\0' || commit_every < 1)
                usage();
        } else if (strcmp(argv[i], "--truncate") == 0)
            truncate = 1;
        else if (strcmp(argv[i], "--unprepared") == 0)
            use_prepared = 0;
        else
            usage();
    }
    int one = strcmp(mode, "one") == 0, six = strcmp(mode, "six") == 0, routed = strcmp(mode, "routed") == 0;
    if (!one && !six && !routed && strcmp(mode, "txn") != 0)
        usage();
    if (commit_every > 1 && !one && !six && !routed)
        usage(); /* txn commits every message by definition */

    size_t n, bytes;
    struct message *list = load(argv[2], &n, &bytes);

    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK)
        fail(conn, NULL, "connect");
    PQsetNoticeProcessor(conn, quiet, NULL);
    if (truncate)
        truncate_tables(conn);
    if (use_prepared) {
        prepare(conn, "raw", sql_raw, 3);
        prepare(conn, "ticket", sql_ticket, 1);
        prepare(conn, "message", sql_message, 6);
        prepare(conn, "all", sql_all, 7);
        prepare(conn, "six", sql_six, 10);
        prepare(conn, "routed", sql_routed, 11);
    }

    double server0 = backend_cpu(PQbackendPID(conn));
    double client0 = own_cpu();
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        if (commit_every > 1 && i % (size_t)commit_every == 0)
            command(conn, "BEGIN");
        if (routed)
            store_routed(conn, &list[i]);
        else if (six)
            store_six(conn, &list[i]);
        else if (one)
            store_one(conn, &list[i]);
        else
            store_txn(conn, &list[i]);
        if (commit_every > 1 && ((i + 1) % (size_t)commit_every == 0 || i + 1 == n))
            command(conn, "COMMIT");
    }
    double seconds = now() - t0;
    double client = own_cpu() - client0;
    double server1 = backend_cpu(PQbackendPID(conn));
    double server = server0 < 0 || server1 < 0 ? -1.0 : server1 - server0;
    PQfinish(conn);

    printf("insert_ceiling mode=%s rows=%d commit_every=%ld prepared=%s messages=%zu bytes=%zu seconds=%.4f"
           " msgs_per_s=%.1f client_cpu_s=%.3f server_cpu_s=%.3f\n",
           mode,
           routed ? 8
           : six  ? 6
                  : 3,
           commit_every, use_prepared ? "yes" : "no", n, bytes, seconds,
           seconds > 0 ? (double)n / seconds : 0.0, client, server);
    for (size_t i = 0; i < n; i++) {
        free(list[i].raw);
        free(list[i].subject);
        free(list[i].from);
        free(list[i].from_email);
        free(list[i].from_name);
        free(list[i].message_id);
        free(list[i].in_reply_to);
        free(list[i].text);
    }
    free(list);
    return 0;
}
