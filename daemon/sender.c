/*
 * sender.c — the outbox drained by SMTP (see sender.h).
 *
 * The thread keeps one libcurl easy handle, so consecutive mails reuse the
 * SMTP connection, and one database connection that LISTENs for new rows.
 * Every row is one transaction: claim (FOR UPDATE SKIP LOCKED), send, record
 * the outcome, commit.
 */
#include "helpgate/sender.h"

#include "helpgate/alloc.h"
#include "helpgate/backoff.h"
#include "helpgate/log.h"
#include "helpgate/metrics.h"
#include "helpgate/secret.h"
#include "store_pg.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WAKE_MS 1000            /* retries fall due without a NOTIFY: look at least this often */
#define SMTP_TIMEOUT_SECONDS 60 /* one whole delivery; below systemd's stop timeout */

struct hg_sender {
    pthread_t thread;
    atomic_bool stop;
    struct hg_sender_settings settings; /* strings owned */
    struct hg_store_params db;          /* strings owned */
    struct hg_store *store;
    struct hg_backoff db_backoff;
    CURL *curl;
    char *password;
};

/* One claimed outbox row. */
struct outgoing {
    char *id;
    char *ticket_id; /* or NULL */
    char *mail_from;
    char *recipients; /* one per line */
    unsigned char *payload;
    size_t payload_len;
    size_t sent; /* bytes handed to libcurl so far */
    int attempts;
    long age_seconds;
};

/* ------------------------------------------------------------------------ */
/* SMTP.                                                                   */

static size_t read_payload(char *buffer, size_t size, size_t nitems, void *arg)
{
    struct outgoing *o = arg;
    size_t room = size * nitems, left = o->payload_len - o->sent;
    size_t n = left < room ? left : room;
    memcpy(buffer, o->payload + o->sent, n);
    o->sent += n;
    return n;
}

/* True when the URL's host is a loopback address or localhost. */
static bool loopback_url(const char *url)
{
    const char *host = strstr(url, "://");
    host = host != NULL ? host + 3 : url;
    return strncasecmp(host, "127.", 4) == 0 || strncasecmp(host, "localhost", 9) == 0 ||
           strncmp(host, "[::1]", 5) == 0;
}

static long use_ssl_level(const struct hg_sender_settings *s)
{
    if (strncasecmp(s->url, "smtps://", 8) == 0)
        return CURLUSESSL_ALL;
    return loopback_url(s->url) || s->allow_plaintext ? CURLUSESSL_TRY : CURLUSESSL_ALL;
}

enum outcome { SENT, RETRY, FAILED };

struct attempt {
    enum outcome outcome;
    long code; /* the SMTP server's last reply code, 0 when none */
    char error[CURL_ERROR_SIZE + 64];
};

static void smtp_send(struct hg_sender *s, struct outgoing *o, struct attempt *a)
{
    struct curl_slist *rcpt = NULL;
    for (char *line = o->recipients, *end; line != NULL && *line != '\0';
         line = end != NULL ? end + 1 : NULL) {
        end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        rcpt = curl_slist_append(rcpt, line);
        if (end != NULL)
            *end = '\n';
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_URL, s->settings.url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, o->mail_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
#if LIBCURL_VERSION_NUM >= 0x080200
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS,
                     1L); /* its name before curl 8.2 (Debian 12 has 7.88) */
#endif
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_payload);
    curl_easy_setopt(c, CURLOPT_READDATA, o);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->payload_len);
    curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl_level(&s->settings));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->settings.tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->settings.tls_verify ? 2L : 0L);
    if (s->settings.ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->settings.ca_file);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SMTP_TIMEOUT_SECONDS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (s->settings.user != NULL) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->settings.user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password != NULL ? s->password : "");
    }
    o->sent = 0;
    CURLcode rc = curl_easy_perform(c);
    a->code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->code);
    curl_slist_free_all(rcpt);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK) {
        a->outcome = SENT;
        a->error[0] = '\0';
        return;
    }
    a->outcome = a->code >= 500 && a->code < 600 && rc != CURLE_LOGIN_DENIED ? FAILED : RETRY;
    snprintf(a->error, sizeof a->error, "%s (code %ld): %s", curl_easy_strerror(rc), a->code,
             errbuf[0] != '\0' ? errbuf : "no details");
}

/* ------------------------------------------------------------------------ */
/* The outbox.                                                             */

static const char claim_sql[] =
    "SELECT id, ticket_id, coalesce(mail_from, ''), array_to_string(recipients, E'\\n'), payload, attempts,"
    " extract(epoch FROM now() - created_at)::bigint"
    " FROM outbox WHERE status = 'queued' AND next_attempt_at <= now() AND kind <> 'chat_push'"
    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED";

static void free_outgoing(struct outgoing *o)
{
    free(o->id);
    free(o->ticket_id);
    free(o->mail_from);
    free(o->recipients);
    PQfreemem(o->payload);
    memset(o, 0, sizeof(*o));
}

/* 1 with *O filled, 0 when nothing is due, -1 on a database error. Inside BEGIN. */
static int claim(struct hg_sender *s, struct outgoing *o, char **error_r)
{
    PGresult *res = hg_pg_exec(s->store, claim_sql, 0, NULL, error_r);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    o->id = hg_xstrdup(PQgetvalue(res, 0, 0));
    o->ticket_id = PQgetisnull(res, 0, 1) ? NULL : hg_xstrdup(PQgetvalue(res, 0, 1));
    o->mail_from = hg_xstrdup(PQgetvalue(res, 0, 2));
    o->recipients = hg_xstrdup(PQgetvalue(res, 0, 3));
    o->payload = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 4), &o->payload_len);
    o->attempts = atoi(PQgetvalue(res, 0, 5));
    o->age_seconds = atol(PQgetvalue(res, 0, 6));
    PQclear(res);
    if (o->payload == NULL)
        hg_out_of_memory(0);
    return 1;
}

static long retry_delay(const struct hg_sender_settings *st, int attempts)
{
    long delay = st->retry_initial;
    for (int i = 1; i < attempts && delay < st->retry_max; i++)
        delay *= 2;
    return delay < st->retry_max ? delay : st->retry_max;
}

static int record(struct hg_sender *s, const struct outgoing *o, const struct attempt *a, char **error_r)
{
    char attempts[16], delay[24];
    snprintf(attempts, sizeof attempts, "%d", o->attempts + 1);
    enum outcome outcome = a->outcome;
    if (outcome == RETRY && o->age_seconds >= s->settings.give_up_after)
        outcome = FAILED;
    snprintf(delay, sizeof delay, "%ld", retry_delay(&s->settings, o->attempts + 1));
    if (outcome == SENT) {
        const char *p[] = {o->id, attempts};
        return hg_pg_command(
            s->store,
            "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = $2, last_error = NULL"
            " WHERE id = $1",
            2, p, error_r);
    }
    if (outcome == RETRY) {
        const char *p[] = {o->id, attempts, delay, a->error};
        return hg_pg_command(
            s->store,
            "UPDATE outbox SET attempts = $2, next_attempt_at = now() + make_interval(secs => $3),"
            " last_error = $4 WHERE id = $1",
            4, p, error_r);
    }
    const char *p[] = {o->id, attempts, a->error};
    return hg_pg_command(
        s->store,
        "WITH failed AS (UPDATE outbox SET status = 'failed', attempts = $2, last_error = $3"
        " WHERE id = $1 RETURNING id, ticket_id, kind, message_id)"
        " INSERT INTO audit_log (actor, action, ticket_id, details)"
        " SELECT 'system', 'outbox.failed', ticket_id, jsonb_build_object('outbox', id, 'kind', kind,"
        " 'message_id', message_id, 'error', $3::text) FROM failed",
        3, p, error_r);
}

static void log_attempt(const struct outgoing *o, const struct attempt *a)
{
    hg_metrics_count(HG_METRIC_MAIL, a->outcome == SENT     ? "sent"
                                     : a->outcome == FAILED ? "failed"
                                                            : "deferred");
    if (a->outcome == SENT)
        hg_log_info("mail_sent", "outbox=%s ticket=%s attempts=%d", o->id, o->ticket_id ? o->ticket_id : "-",
                    o->attempts + 1);
    else
        hg_log_warn(a->outcome == FAILED ? "mail_failed" : "mail_deferred",
                    "outbox=%s ticket=%s attempts=%d error=%s", o->id, o->ticket_id ? o->ticket_id : "-",
                    o->attempts + 1, HG_Q(a->error));
}

/* Sends one due row: 1 done, 0 nothing due, -1 database trouble (the caller reconnects). */
static int send_one(struct hg_sender *s)
{
    char *error = NULL;
    struct outgoing o = {0};
    if (hg_pg_command(s->store, "BEGIN", 0, NULL, &error) < 0)
        goto db_error;
    int got = claim(s, &o, &error);
    if (got <= 0) {
        if (got < 0)
            goto db_error;
        hg_pg_command(s->store, "COMMIT", 0, NULL, &error);
        free(error);
        return 0;
    }
    struct attempt a;
    smtp_send(s, &o, &a);
    log_attempt(&o, &a);
    if (record(s, &o, &a, &error) < 0 || hg_pg_command(s->store, "COMMIT", 0, NULL, &error) < 0)
        goto db_error;
    free_outgoing(&o);
    return 1;
db_error:
    hg_log_error("outbox_db_error", "error=%s", HG_Q(error != NULL ? error : "unknown"));
    free(error);
    free_outgoing(&o);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* The thread.                                                             */

static bool connect_db(struct hg_sender *s)
{
    while (!atomic_load(&s->stop)) {
        char *error = NULL;
        s->store = hg_store_connect(&s->db, &error);
        if (s->store != NULL && hg_pg_command(s->store, "LISTEN helpgate_outbox", 0, NULL, &error) == 0) {
            hg_backoff_reset(&s->db_backoff);
            return true;
        }
        unsigned delay = (unsigned)hg_backoff_next_ms(&s->db_backoff);
        hg_log_warn("outbox_db_unavailable", "error=%s retry_in_ms=%u", HG_Q(error ? error : "unknown"),
                    delay);
        free(error);
        hg_store_free(&s->store);
        for (unsigned waited = 0; waited < delay && !atomic_load(&s->stop); waited += 100)
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    return false;
}

/* Waits for a NOTIFY or WAKE_MS; false when the connection broke. */
static bool wait_for_work(struct hg_sender *s)
{
    PGconn *conn = hg_store_conn(s->store);
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    if (pfd.fd < 0)
        return false;
    if (poll(&pfd, 1, WAKE_MS) > 0 && !PQconsumeInput(conn))
        return false;
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL)
        PQfreemem(n);
    return PQstatus(conn) == CONNECTION_OK;
}

static void *sender_main(void *arg)
{
    struct hg_sender *s = arg;
    while (!atomic_load(&s->stop)) {
        if (s->store == NULL && !connect_db(s))
            break;
        int rc = 0;
        while (!atomic_load(&s->stop) && (rc = send_one(s)) > 0)
            ;
        if (rc < 0 || !wait_for_work(s)) {
            hg_store_free(&s->store);
            continue;
        }
    }
    hg_store_free(&s->store);
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? hg_xstrdup(s) : NULL;
}

struct hg_sender *hg_sender_start(const struct hg_store_params *db, const struct hg_sender_settings *settings)
{
    struct hg_sender *s = hg_xcalloc(1, sizeof(*s));
    s->settings = *settings;
    s->settings.url = dup_or_null(settings->url);
    s->settings.user = dup_or_null(settings->user);
    s->settings.password_file = dup_or_null(settings->password_file);
    s->settings.ca_file = dup_or_null(settings->ca_file);
    s->db = *db;
    s->db.conninfo = dup_or_null(db->conninfo);
    s->db.password_file = dup_or_null(db->password_file);
    s->db.application_name = dup_or_null(db->application_name);
    if (settings->password_file != NULL) {
        char *warning = NULL, *error = NULL;
        if (hg_secret_read_file(settings->password_file, &s->password, &warning, &error) < 0)
            hg_log_error("smtp_password_unreadable", "file=%s error=%s", HG_Q(settings->password_file),
                         HG_Q(error));
        free(warning);
        free(error);
    }
    hg_backoff_init(&s->db_backoff, 500, 30000, (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL));
    s->curl = curl_easy_init();
    if (s->curl == NULL)
        hg_out_of_memory(0);
    atomic_init(&s->stop, false);
    pthread_create(&s->thread, NULL, sender_main, s);
    return s;
}

bool hg_sender_password_changed(const struct hg_sender *s)
{
    if (s->settings.password_file == NULL)
        return false;
    char *now = NULL, *warning = NULL, *error = NULL;
    int rc = hg_secret_read_file(s->settings.password_file, &now, &warning, &error);
    free(warning);
    free(error);
    bool changed = rc < 0 ? s->password != NULL : s->password == NULL || strcmp(now, s->password) != 0;
    hg_secret_free(&now);
    return changed;
}

void hg_sender_stop(struct hg_sender **sender)
{
    struct hg_sender *s = *sender;
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    curl_easy_cleanup(s->curl);
    hg_secret_free(&s->password);
    free((char *)s->settings.url);
    free((char *)s->settings.user);
    free((char *)s->settings.password_file);
    free((char *)s->settings.ca_file);
    free((char *)s->db.conninfo);
    free((char *)s->db.password_file);
    free((char *)s->db.application_name);
    free(s);
    *sender = NULL;
}
