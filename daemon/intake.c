/*
 * intake.c — one transaction per inbound message: position, customer,
 * threading, message, raw source, attachments, audit (see intake.h).
 *
 * Every statement is parameterized. Lists (references, warnings) travel as
 * one JSON parameter that the server unpacks, so no value is ever spliced
 * into SQL text. A concurrent copy of the same Message-ID stored by another
 * instance shows up as a unique violation: the transaction is rolled back
 * and run once more, and then finds the stored copy.
 */
#include "helpgate/intake.h"

#include "helpgate/alloc.h"
#include "store_pg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLSTATE_UNIQUE_VIOLATION "23505"

struct txn {
    struct hg_store *store;
    const struct hg_intake_message *msg;
    const struct hg_intake_source *source;
    struct hg_intake_result *result;
    long long customer_id; /* 0 when none */
    long long agent_id;    /* 0 when the sender is not an agent */
    long long raw_id;      /* 0 when no raw source */
    json_t *warnings;      /* the parser's plus threading's */
    char **error_r;
};

static char *ll_text(long long v)
{
    return hg_xasprintf("%lld", v);
}

static char *json_list(const char *const *items, const char *first)
{
    json_t *array = json_array();
    if (first != NULL)
        json_array_append_new(array, json_string(first));
    for (size_t i = 0; items != NULL && items[i] != NULL; i++)
        json_array_append_new(array, json_string(items[i]));
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    return text;
}

/* Runs a query expected to return at most one row; *value_r gets column 0 or 0 when no row. */
static int query_ll(struct txn *t, const char *sql, int n, const char *const *params, long long *value_r)
{
    *value_r = 0;
    PGresult *res = hg_pg_exec(t->store, sql, n, params, t->error_r);
    if (res == NULL)
        return -1;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *value_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int find_stored_copy(struct txn *t)
{
    const char *params[] = {t->msg->message_id};
    PGresult *res = hg_pg_exec(t->store,
                               "SELECT m.id, m.ticket_id, tk.number FROM messages m"
                               " JOIN tickets tk ON tk.id = m.ticket_id"
                               " WHERE m.message_id = $1 AND m.direction = 'in'",
                               1, params, t->error_r);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    if (found) {
        t->result->message_row_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        t->result->ticket_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        t->result->ticket_number = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    return found;
}

static int store_raw(struct txn *t)
{
    if (t->msg->raw == NULL)
        return 0;
    char *size = ll_text((long long)t->msg->raw_size);
    const char *params[] = {t->msg->raw_sha256_hex, size, (const char *)t->msg->raw};
    int lengths[] = {0, 0, (int)t->msg->raw_size};
    int formats[] = {0, 0, 1};
    PGresult *res =
        hg_pg_exec_full(t->store,
                        "INSERT INTO raw_messages (sha256, size, data) VALUES (decode($1, 'hex'), $2, $3)"
                        " ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id",
                        3, params, lengths, formats, t->error_r);
    free(size);
    if (res == NULL)
        return -1;
    t->raw_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* The sender as an agent (by address or alias) or else as a customer, created when new. */
static int find_sender(struct txn *t)
{
    const char *email = t->msg->from_email;
    if (email == NULL || email[0] == '\0')
        return 0;
    /* Bounces come from the mail system, not from a customer: no customer is created for them. */
    bool may_create = !(t->msg->auto_kind && strcmp(t->msg->auto_kind, "bounce") == 0);
    const char *params[] = {email, t->msg->from_name ? t->msg->from_name : "", may_create ? "t" : "f"};
    PGresult *res =
        hg_pg_exec(t->store,
                   "WITH agent AS (SELECT a.id FROM agents a WHERE lower(a.email) = lower($1) AND a.active"
                   "   UNION ALL SELECT a.id FROM agent_aliases al JOIN agents a ON a.id = al.agent_id"
                   "   WHERE lower(al.email) = lower($1) AND a.active LIMIT 1),"
                   " found AS (SELECT id FROM customers WHERE lower(email) = lower($1)),"
                   " created AS (INSERT INTO customers (email, name) SELECT $1, NULLIF($2, '')"
                   "   WHERE $3::boolean AND NOT EXISTS (SELECT 1 FROM agent)"
                   "   AND NOT EXISTS (SELECT 1 FROM found)"
                   "   ON CONFLICT ((lower(email))) DO NOTHING RETURNING id)"
                   " SELECT (SELECT id FROM agent),"
                   "  COALESCE((SELECT id FROM found), (SELECT id FROM created))",
                   3, params, t->error_r);
    if (res == NULL)
        return -1;
    t->agent_id = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    t->customer_id =
        t->agent_id != 0 || PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

static void add_warning(struct txn *t, const char *warning)
{
    json_array_append_new(t->warnings, json_string(warning));
}

/* The ticket a tag names, when the sender may write to it; 0 otherwise. */
static int thread_by_tag(struct txn *t, long long *ticket_r)
{
    *ticket_r = 0;
    if (t->msg->ticket_tag <= 0)
        return 0;
    char *number = ll_text(t->msg->ticket_tag);
    const char *params[] = {number};
    PGresult *res =
        hg_pg_exec(t->store, "SELECT COALESCE(merged_into, id), customer_id FROM tickets WHERE number = $1",
                   1, params, t->error_r);
    if (res == NULL) {
        free(number);
        return -1;
    }
    if (PQntuples(res) == 0) {
        char *w = hg_xasprintf("ticket tag #%s names no ticket; a new ticket was opened", number);
        add_warning(t, w);
        free(w);
    } else {
        long long ticket = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        long long owner = PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        if (t->agent_id != 0 || (owner != 0 && owner == t->customer_id)) {
            *ticket_r = ticket;
        } else {
            char *w =
                hg_xasprintf("ticket tag #%s ignored: the sender is neither that ticket's customer nor an "
                             "agent; a new ticket was opened",
                             number);
            add_warning(t, w);
            free(w);
        }
    }
    PQclear(res);
    free(number);
    return 0;
}

/* The ticket of a message we stored or sent that In-Reply-To / References name (nearest first). */
static int thread_by_references(struct txn *t, long long *ticket_r)
{
    *ticket_r = 0;
    const char *const *refs = t->msg->references;
    size_t n = 0;
    while (refs != NULL && refs[n] != NULL)
        n++;
    if (t->msg->in_reply_to == NULL && n == 0)
        return 0;
    /* Most recent first: In-Reply-To, then References from the end. */
    const char **ordered = hg_xcalloc(n + 1, sizeof(*ordered));
    for (size_t i = 0; i < n; i++)
        ordered[i] = refs[n - 1 - i];
    char *list = json_list(ordered, t->msg->in_reply_to);
    free(ordered);
    const char *params[] = {list};
    int rc = query_ll(t,
                      "SELECT COALESCE(tk.merged_into, tk.id) FROM jsonb_array_elements_text($1::jsonb)"
                      "   WITH ORDINALITY AS r(id, pos)"
                      " JOIN LATERAL (SELECT ticket_id FROM messages WHERE message_id = r.id"
                      "   UNION ALL SELECT ticket_id FROM outbox WHERE message_id = r.id) hit ON true"
                      " JOIN tickets tk ON tk.id = hit.ticket_id"
                      " ORDER BY r.pos LIMIT 1",
                      1, params, ticket_r);
    free(list);
    return rc;
}

static int open_ticket(struct txn *t)
{
    char *customer = t->customer_id ? ll_text(t->customer_id) : NULL;
    const char *subject = t->msg->subject ? t->msg->subject : "";
    const char *params[] = {subject, t->msg->channel, customer, t->msg->support_address};
    PGresult *res = hg_pg_exec(t->store,
                               "INSERT INTO tickets (subject, channel, customer_id, support_address)"
                               " VALUES ($1, $2, $3, $4) RETURNING id, number",
                               4, params, t->error_r);
    free(customer);
    if (res == NULL)
        return -1;
    t->result->ticket_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    t->result->ticket_number = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    t->result->outcome = HG_INTAKE_NEW_TICKET;
    return 0;
}

static int join_ticket(struct txn *t, long long ticket)
{
    char *id = ll_text(ticket);
    const char *params[] = {id};
    PGresult *res =
        hg_pg_exec(t->store,
                   "UPDATE tickets SET updated_at = now(),"
                   " status = CASE WHEN status IN ('resolved', 'closed') THEN 'open' ELSE status END,"
                   " resolved_at = CASE WHEN status IN ('resolved', 'closed') THEN NULL ELSE resolved_at END,"
                   " closed_at = CASE WHEN status IN ('resolved', 'closed') THEN NULL ELSE closed_at END"
                   " WHERE id = $1 RETURNING number",
                   1, params, t->error_r);
    free(id);
    if (res == NULL)
        return -1;
    t->result->ticket_id = ticket;
    t->result->ticket_number = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    t->result->outcome = HG_INTAKE_REPLY;
    return 0;
}

static int thread_message(struct txn *t)
{
    long long ticket = 0;
    if (thread_by_tag(t, &ticket) < 0)
        return -1;
    if (ticket == 0 && thread_by_references(t, &ticket) < 0)
        return -1;
    return ticket != 0 ? join_ticket(t, ticket) : open_ticket(t);
}

static int insert_message(struct txn *t)
{
    const struct hg_intake_message *m = t->msg;
    char *ticket = ll_text(t->result->ticket_id);
    char *customer = t->customer_id ? ll_text(t->customer_id) : NULL;
    char *agent = t->agent_id ? ll_text(t->agent_id) : NULL;
    char *raw = t->raw_id ? ll_text(t->raw_id) : NULL;
    char *refs = json_list(m->references, NULL);
    char *warnings = json_dumps(t->warnings, JSON_COMPACT);
    const char *params[] = {ticket,        m->channel,     customer, agent,      m->from_email, m->from_name,
                            m->message_id, m->in_reply_to, refs,     m->subject, m->body_text,  m->body_html,
                            m->reply_text, m->auto_kind,   raw,      warnings,   m->date_iso};
    int rc =
        query_ll(t,
                 "INSERT INTO messages (ticket_id, direction, channel, author_customer_id, author_agent_id,"
                 " from_address, from_name, message_id, in_reply_to, references_ids, subject, body_text,"
                 " body_html, reply_text, auto_kind, raw_id, parse_warnings, sent_at)"
                 " VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8,"
                 "  ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), $10, $11, $12, $13, $14, $15,"
                 "  ARRAY(SELECT jsonb_array_elements_text($16::jsonb)), $17::timestamptz)"
                 " RETURNING id",
                 17, params, &t->result->message_row_id);
    free(ticket);
    free(customer);
    free(agent);
    free(raw);
    free(refs);
    free(warnings);
    return rc;
}

static int insert_attachment(struct txn *t, const struct hg_intake_attachment *a)
{
    char *size = ll_text((long long)a->size);
    const char *blob_params[] = {a->sha256_hex, size, (const char *)a->data};
    int lengths[] = {0, 0, (int)a->size};
    int formats[] = {0, 0, 1};
    PGresult *res =
        hg_pg_exec_full(t->store,
                        "INSERT INTO attachment_blobs (sha256, size, data) VALUES (decode($1, 'hex'), $2, $3)"
                        " ON CONFLICT (sha256) DO NOTHING",
                        3, blob_params, lengths, formats, t->error_r);
    if (res == NULL) {
        free(size);
        return -1;
    }
    PQclear(res);
    char *message = ll_text(t->result->message_row_id);
    const char *params[] = {
        message, a->sha256_hex, a->filename, a->content_type, a->content_id, a->is_inline ? "t" : "f", size};
    res = hg_pg_exec(
        t->store,
        "INSERT INTO attachments (message_id, blob_sha256, filename, content_type, content_id,"
        " is_inline, size) VALUES ($1, decode($2, 'hex'), $3, COALESCE($4, 'application/octet-stream'),"
        " $5, $6, $7)",
        7, params, t->error_r);
    free(message);
    free(size);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* Records the IMAP position with its message: 1 recorded, 0 already recorded, -1 error. No source (chat): 1.
 */
static int record_position(struct txn *t)
{
    if (t->source == NULL || t->source->mailbox == NULL)
        return 1;
    char uidvalidity[16], uid[16];
    snprintf(uidvalidity, sizeof(uidvalidity), "%u", t->source->uidvalidity);
    snprintf(uid, sizeof(uid), "%u", t->source->uid);
    char *row = t->result->message_row_id ? ll_text(t->result->message_row_id) : NULL;
    const char *params[] = {t->source->mailbox, uidvalidity, uid, row};
    long long fresh = 0;
    int rc =
        query_ll(t,
                 "INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id) VALUES ($1, $2, $3, $4)"
                 " ON CONFLICT DO NOTHING RETURNING 1",
                 4, params, &fresh);
    free(row);
    return rc < 0 ? -1 : fresh == 1;
}

static int audit(struct txn *t)
{
    const char *action = t->result->outcome == HG_INTAKE_NEW_TICKET ? "ticket.create" : "message.add";
    json_t *details = json_pack("{s:s, s:s, s:I}", "channel", t->msg->channel, "message_id",
                                t->msg->message_id, "message", (json_int_t)t->result->message_row_id);
    if (t->source != NULL && t->source->mailbox != NULL)
        json_object_set_new(details, "mailbox", json_string(t->source->mailbox));
    if (json_array_size(t->warnings) > 0)
        json_object_set(details, "warnings", t->warnings);
    char *text = json_dumps(details, JSON_COMPACT);
    json_decref(details);
    char *ticket = ll_text(t->result->ticket_id);
    char *customer = t->customer_id ? ll_text(t->customer_id) : NULL;
    const char *params[] = {action, ticket, customer, text};
    int rc = hg_pg_command(t->store,
                           "INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)"
                           " VALUES ('system', $1, $2, $3, $4::jsonb)",
                           4, params, t->error_r);
    free(text);
    free(ticket);
    free(customer);
    return rc;
}

/*
 * The body of the transaction: 0 to commit, 1 to roll back without error (the
 * position was recorded meanwhile by another transaction: nothing to add), -1 on error.
 */
static int store_in_transaction(struct txn *t)
{
    int copy = find_stored_copy(t);
    if (copy < 0)
        return -1;
    if (copy == 1) {
        t->result->outcome = HG_INTAKE_DUPLICATE;
        return record_position(t) < 0 ? -1 : 0;
    }
    if (store_raw(t) < 0 || find_sender(t) < 0 || thread_message(t) < 0 || insert_message(t) < 0)
        return -1;
    for (size_t i = 0; i < t->msg->n_attachments; i++)
        if (insert_attachment(t, &t->msg->attachments[i]) < 0)
            return -1;
    if (audit(t) < 0)
        return -1;
    int recorded = record_position(t);
    if (recorded < 0)
        return -1;
    if (recorded == 0) {
        memset(t->result, 0, sizeof(*t->result));
        t->result->outcome = HG_INTAKE_DUPLICATE;
        return 1;
    }
    return 0;
}

static int attempt(struct hg_store *store, const struct hg_intake_message *msg,
                   const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r)
{
    memset(result, 0, sizeof(*result));
    struct txn t = {.store = store, .msg = msg, .source = source, .result = result, .error_r = error_r};
    t.warnings = json_array();
    for (size_t i = 0; msg->warnings != NULL && msg->warnings[i] != NULL; i++)
        json_array_append_new(t.warnings, json_string(msg->warnings[i]));

    int rc = hg_pg_command(store, "BEGIN", 0, NULL, error_r);
    if (rc == 0)
        rc = store_in_transaction(&t);
    if (rc == 0) {
        rc = hg_pg_command(store, "COMMIT", 0, NULL, error_r);
    } else {
        PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
        if (rc == 1)
            rc = 0;
    }
    json_decref(t.warnings);
    return rc;
}

int hg_intake_store(struct hg_store *store, const struct hg_intake_message *msg,
                    const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r)
{
    int rc = attempt(store, msg, source, result, error_r);
    if (rc < 0 && strcmp(hg_pg_last_sqlstate(store), SQLSTATE_UNIQUE_VIOLATION) == 0) {
        /* Another instance stored the same message at the same moment: now we will find it. */
        free(*error_r);
        *error_r = NULL;
        rc = attempt(store, msg, source, result, error_r);
    }
    return rc;
}

const char *hg_intake_outcome_name(enum hg_intake_outcome outcome)
{
    switch (outcome) {
    case HG_INTAKE_NEW_TICKET:
        return "new_ticket";
    case HG_INTAKE_REPLY:
        return "reply";
    case HG_INTAKE_DUPLICATE:
        return "duplicate";
    }
    return "unknown";
}
