/*
 * chat_store.c — chat sessions and messages in PostgreSQL (see chat_store.h).
 */
#include "helpgate/chat_store.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/mail.h"
#include "helpgate/mailloop.h"
#include "helpgate/metrics.h"
#include "helpgate/routing.h"
#include "helpgate/sha256.h"
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define HISTORY_MAX 100      /* messages in a welcome frame */
#define SUBJECT_MAX_BYTES 72 /* of the first line, for the ticket's subject */

/* ------------------------------------------------------------------------ */
/* Hello.                                                                  */

static int fresh_token(char hex[HG_CHAT_TOKEN_HEX + 1], char **error_r)
{
    unsigned char raw[HG_CHAT_TOKEN_BYTES];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        *error_r = hg_xstrdup("getrandom failed: no random bytes for a resume token");
        return -1;
    }
    hg_chat_token_hex(raw, hex);
    return 0;
}

static long long column_ll(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *column_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static enum hg_chat_from message_from(const char *direction, bool by_agent)
{
    if (strcmp(direction, "in") == 0)
        return HG_CHAT_FROM_VISITOR;
    return by_agent ? HG_CHAT_FROM_AGENT : HG_CHAT_FROM_SYSTEM;
}

static const char message_columns[] =
    "SELECT m.id, m.direction, m.author_agent_id IS NOT NULL, coalesce(a.name, m.from_name),"
    " coalesce(nullif(m.reply_text, ''), m.body_text), extract(epoch FROM m.created_at)::bigint,"
    " m.chat_client_id FROM messages m LEFT JOIN agents a ON a.id = m.author_agent_id";

static struct hg_chat_message message_at(PGresult *res, int row)
{
    enum hg_chat_from from = message_from(PQgetvalue(res, row, 1), PQgetvalue(res, row, 2)[0] == 't');
    return (struct hg_chat_message){
        .message = column_ll(res, row, 0),
        .from = from,
        .name = from == HG_CHAT_FROM_SYSTEM ? NULL : column_or_null(res, row, 3),
        .text = column_or_null(res, row, 4),
        .at = column_ll(res, row, 5),
        .id = from == HG_CHAT_FROM_VISITOR ? column_or_null(res, row, 6) : NULL,
    };
}

/* The welcome frame: the ticket's last HISTORY_MAX messages to and from the visitor, oldest first. */
static int welcome_frame(struct hg_store *store, const struct hg_chat_hello_result *r, const char *token,
                         char **frame_r, char **error_r)
{
    if (r->ticket_id == 0) {
        *frame_r = hg_chat_welcome_frame(0, token, NULL, 0);
        return 0;
    }
    char ticket[24], limit[16];
    snprintf(ticket, sizeof ticket, "%lld", r->ticket_id);
    snprintf(limit, sizeof limit, "%d", HISTORY_MAX);
    const char *params[] = {ticket, limit};
    char *sql = hg_xasprintf("%s WHERE m.ticket_id = $1 AND m.direction IN ('in', 'out')"
                             " ORDER BY m.id DESC LIMIT $2",
                             message_columns);
    PGresult *res = hg_pg_exec(store, sql, 2, params, error_r);
    free(sql);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    struct hg_chat_message *history = hg_xcalloc((size_t)n + 1, sizeof(*history));
    for (int i = 0; i < n; i++)
        history[n - 1 - i] = message_at(res, i);
    *frame_r = hg_chat_welcome_frame(r->ticket_number, token, history, (size_t)n);
    free(history);
    PQclear(res);
    return 0;
}

int hg_chat_store_hello(struct hg_store *store, const struct hg_chat_frame *hello, const char *peer,
                        struct hg_chat_hello_result *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    char token[HG_CHAT_TOKEN_HEX + 1];
    bool resume = hello->resume != NULL;
    if (resume)
        snprintf(token, sizeof token, "%s", hello->resume);
    else if (fresh_token(token, error_r) < 0)
        return -1;
    char token_sha256[HG_SHA256_HEX_SIZE];
    hg_sha256_hex(token, strlen(token), token_sha256);
    const char *params[] = {token_sha256, resume ? "t" : "f", hello->name, hello->email, peer, hello->lang};
    PGresult *res = hg_pg_exec(store,
                               "SELECT outcome, session_id, ticket_id, ticket_number"
                               " FROM helpgate_chat_hello(decode($1, 'hex'), $2, $3, $4, $5, $6)",
                               6, params, error_r);
    if (res == NULL)
        return -1;
    const char *outcome = PQgetvalue(res, 0, 0);
    out->outcome = strcmp(outcome, "new") == 0       ? HG_CHAT_HELLO_NEW
                   : strcmp(outcome, "resumed") == 0 ? HG_CHAT_HELLO_RESUMED
                                                     : HG_CHAT_HELLO_UNKNOWN;
    out->session_id = column_ll(res, 0, 1);
    out->ticket_id = column_ll(res, 0, 2);
    out->ticket_number = column_ll(res, 0, 3);
    PQclear(res);
    if (out->outcome == HG_CHAT_HELLO_UNKNOWN)
        return 0;
    return welcome_frame(store, out, token, &out->welcome, error_r);
}

void hg_chat_hello_result_free(struct hg_chat_hello_result *r)
{
    free(r->welcome);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------------ */
/* A visitor's message.                                                    */

/* "Chat: " and the text's first line, cut at a character boundary. Caller frees. */
static char *chat_subject(const char *text)
{
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
        text++;
    size_t len = strcspn(text, "\r\n");
    if (len > SUBJECT_MAX_BYTES) {
        len = SUBJECT_MAX_BYTES;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    return hg_xasprintf("Chat: %.*s", (int)len, text);
}

/* The chat message seen as a mail, for the rules and the mail loop (everything borrowed). */
struct chat_view {
    struct hg_mail mail;
    struct hg_mail_address from;
    struct hg_mail_header language;
    char *subject;
    char *message_id;
};

static void chat_view_init(struct chat_view *v, const struct hg_chat_store_settings *settings,
                           const struct hg_chat_visitor *visitor, const char *client_id, const char *text)
{
    memset(v, 0, sizeof(*v));
    v->subject = chat_subject(text);
    v->message_id =
        hg_xasprintf("chat.%lld.%s@%s", visitor->session_id, client_id,
                     settings->support_domain != NULL ? settings->support_domain : "helpgate.invalid");
    v->from = (struct hg_mail_address){(char *)visitor->name, (char *)(visitor->email ? visitor->email : "")};
    v->mail.message_id = v->message_id;
    v->mail.message_id_generated = true;
    v->mail.from = &v->from;
    v->mail.subject = v->subject;
    v->mail.body_text = (char *)text;
    v->mail.body_text_len = strlen(text);
    v->mail.reply_text = (char *)text;
    v->mail.content_type = "text/plain";
    if (visitor->lang != NULL) {
        v->language = (struct hg_mail_header){"Accept-Language", (char *)visitor->lang};
        v->mail.headers = &v->language;
        v->mail.n_headers = 1;
    }
}

static void chat_view_free(struct chat_view *v)
{
    free(v->subject);
    free(v->message_id);
}

static enum hg_intake_outcome outcome_of(const char *text)
{
    if (strcmp(text, "new_ticket") == 0)
        return HG_INTAKE_NEW_TICKET;
    if (strcmp(text, "reply") == 0)
        return HG_INTAKE_REPLY;
    return HG_INTAKE_DUPLICATE;
}

static int call_chat_message(struct hg_store *store, const struct hg_chat_visitor *visitor,
                             const char *client_id, const char *text, const char *subject,
                             const char *route_json, struct hg_intake_result *result, char **error_r)
{
    char session[24];
    snprintf(session, sizeof session, "%lld", visitor->session_id);
    const char *params[] = {session, client_id, text, subject, route_json};
    PGresult *res = hg_pg_exec(store,
                               "SELECT outcome, ticket_id, ticket_number, message_row_id"
                               " FROM helpgate_chat_message($1, $2, $3, $4, $5)",
                               5, params, error_r);
    if (res == NULL)
        return -1;
    result->outcome = outcome_of(PQgetvalue(res, 0, 0));
    result->ticket_id = column_ll(res, 0, 1);
    result->ticket_number = column_ll(res, 0, 2);
    result->message_row_id = column_ll(res, 0, 3);
    PQclear(res);
    return 0;
}

/* The acknowledgement, shown in the chat: a message from the system, pushed by the trigger. */
static int store_chat_ack(struct hg_store *store, const struct hg_intake_result *result, const char *text,
                          char **error_r)
{
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", result->ticket_id);
    const char *params[] = {ticket, text};
    return hg_pg_command(
        store,
        "WITH m AS (INSERT INTO messages (ticket_id, direction, channel, body_text, reply_text,"
        " sent_at) VALUES ($1, 'out', 'chat', $2, $2, now()) RETURNING id)"
        " UPDATE tickets SET acknowledged_at = coalesce(acknowledged_at, now())"
        " WHERE id = $1 AND EXISTS (SELECT 1 FROM m)",
        2, params, error_r);
}

static int store_statements(struct hg_store *store, const struct hg_chat_store_settings *settings,
                            const struct hg_chat_visitor *visitor, const char *client_id, const char *text,
                            struct chat_view *view, struct hg_routing *routing,
                            struct hg_intake_result *result, char **error_r)
{
    bool routed = settings->rules != NULL;
    if (routed && hg_routing_decide(routing, store, settings->rules, settings->mailloop, &view->mail,
                                    settings->support_address, "chat", error_r) < 0)
        return -1;
    if (call_chat_message(store, visitor, client_id, text, view->subject, routed ? routing->json : NULL,
                          result, error_r) < 0)
        return -1;
    if (result->outcome == HG_INTAKE_DUPLICATE || !routed || settings->mailloop == NULL)
        return 0;
    if (hg_routing_after_intake(routing, store, result, error_r) < 0)
        return -1;
    char *ack = hg_mailloop_ack_text(settings->mailloop, &view->mail, result, &routing->in, &routing->route);
    int rc = ack != NULL ? store_chat_ack(store, result, ack, error_r) : 0;
    if (ack != NULL && rc == 0)
        hg_metrics_count(HG_METRIC_ACKS_QUEUED, "chat");
    free(ack);
    return rc;
}

int hg_chat_store_message(struct hg_store *store, const struct hg_chat_store_settings *settings,
                          const struct hg_chat_visitor *visitor, const char *client_id, const char *text,
                          struct hg_intake_result *result, char **error_r)
{
    memset(result, 0, sizeof(*result));
    struct chat_view view;
    chat_view_init(&view, settings, visitor, client_id, text);
    struct hg_routing routing = {0};
    int rc = hg_pg_command(store, "BEGIN", 0, NULL, error_r);
    if (rc == 0)
        rc = store_statements(store, settings, visitor, client_id, text, &view, &routing, result, error_r);
    if (rc == 0)
        rc = hg_pg_command(store, "COMMIT", 0, NULL, error_r);
    else
        PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    hg_routing_free(&routing);
    chat_view_free(&view);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Pushes and presence.                                                    */

int hg_chat_store_push_frame(struct hg_store *store, long long message_id, char **frame_r, char **error_r)
{
    *frame_r = NULL;
    char id[24];
    snprintf(id, sizeof id, "%lld", message_id);
    const char *params[] = {id};
    char *sql = hg_xasprintf("%s WHERE m.id = $1 AND m.direction = 'out'", message_columns);
    PGresult *res = hg_pg_exec(store, sql, 1, params, error_r);
    free(sql);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        struct hg_chat_message m = message_at(res, 0);
        *frame_r = hg_chat_message_frame(&m);
    }
    PQclear(res);
    return 0;
}

int hg_chat_store_presence(struct hg_store *store, const long long *session_ids, size_t n, bool online,
                           char **error_r)
{
    if (n == 0)
        return 0;
    struct hg_buf ids;
    hg_buf_init(&ids, 24 * n + 8);
    hg_buf_append(&ids, "{", 1);
    for (size_t i = 0; i < n; i++)
        hg_buf_printf(&ids, "%s%lld", i > 0 ? "," : "", session_ids[i]);
    hg_buf_append(&ids, "}", 1);
    const char *params[] = {hg_buf_str(&ids), online ? "t" : "f"};
    int rc = hg_pg_command(store,
                           "UPDATE chat_sessions SET last_seen_at = now(),"
                           " online_since = CASE WHEN $2::boolean THEN coalesce(online_since, now()) END"
                           " WHERE id = ANY($1::bigint[])",
                           2, params, error_r);
    hg_buf_free(&ids);
    return rc;
}
