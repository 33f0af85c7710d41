/*
 * intake.c — one transaction per inbound message (see intake.h).
 *
 * The work is one call of helpgate_intake_routed() (sql/014): duplicate
 * check, raw source, sender, threading, ticket with its route, message,
 * audit rows and IMAP position in a single round trip. Attachments follow in the same
 * transaction (BEGIN/COMMIT are sent only when there are some; otherwise the
 * call is its own transaction). Lists travel as one JSON parameter each, the
 * raw source as binary: nothing is ever spliced into SQL text. A concurrent
 * copy of the same message stored by another instance shows up as a unique
 * violation: the transaction is rolled back and run once more, and then
 * finds the stored copy. hg_intake_store_in_transaction() sends the same
 * statements inside the caller's transaction and leaves failures (that retry
 * included) to the caller, who rolls back and replays message by message;
 * hg_intake_send()/hg_intake_finish() are the same in two steps for a
 * pipelined store (store_pg.h), where the attachments' rows go without
 * waiting for answers.
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

static const char intake_sql[] =
    "SELECT outcome, ticket_id, ticket_number, message_row_id FROM helpgate_intake_message("
    " $1, $2, $3, $4, $5, $6, ARRAY(SELECT jsonb_array_elements_text($7::jsonb)),"
    " $8, $9, $10, $11::timestamptz, $12, $13, $14, $15, $16,"
    " ARRAY(SELECT jsonb_array_elements_text($17::jsonb)), $18, decode($19, 'hex'), $20)";

/* The same with the rules' decision for a new ticket (sql/004). */
static const char intake_routed_sql[] =
    "SELECT outcome, ticket_id, ticket_number, message_row_id FROM helpgate_intake_routed("
    " $1, $2, $3, $4, $5, $6, ARRAY(SELECT jsonb_array_elements_text($7::jsonb)),"
    " $8, $9, $10, $11::timestamptz, $12, $13, $14, $15, $16,"
    " ARRAY(SELECT jsonb_array_elements_text($17::jsonb)), $18, decode($19, 'hex'), $20, $21::jsonb)";

static char *json_list(const char *const *items)
{
    json_t *array = json_array();
    for (size_t i = 0; items != NULL && items[i] != NULL; i++)
        json_array_append_new(array, json_string(items[i]));
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    return text;
}

static enum hg_intake_outcome outcome_from_text(const char *text)
{
    if (strcmp(text, "new_ticket") == 0)
        return HG_INTAKE_NEW_TICKET;
    if (strcmp(text, "reply") == 0)
        return HG_INTAKE_REPLY;
    return HG_INTAKE_DUPLICATE;
}

/* Sends the one call that stores everything but the attachments: its handle, or -1. */
long hg_intake_send(struct hg_store *store, const struct hg_intake_message *m,
                    const struct hg_intake_source *source, char **error_r)
{
    bool imap = source != NULL && source->mailbox != NULL;
    char uidvalidity[16], uid[16], tag[24];
    snprintf(uidvalidity, sizeof(uidvalidity), "%u", imap ? source->uidvalidity : 0);
    snprintf(uid, sizeof(uid), "%u", imap ? source->uid : 0);
    snprintf(tag, sizeof(tag), "%lld", m->ticket_tag);
    char *refs = json_list(m->references);
    char *warnings = json_list(m->warnings);
    const char *params[] = {imap ? source->mailbox : NULL,
                            imap ? uidvalidity : NULL,
                            imap ? uid : NULL,
                            m->channel,
                            m->message_id,
                            m->in_reply_to,
                            refs,
                            m->from_email,
                            m->from_name,
                            m->subject,
                            m->date_iso,
                            tag,
                            m->body_text,
                            m->body_html,
                            m->reply_text,
                            m->auto_kind,
                            warnings,
                            m->support_address,
                            m->raw ? m->raw_sha256_hex : NULL,
                            (const char *)m->raw,
                            m->route_json};
    int lengths[21] = {0};
    int formats[21] = {0};
    lengths[19] = (int)m->raw_size;
    formats[19] = 1;
    bool routed = m->route_json != NULL;
    long handle = hg_pg_send(store, routed ? intake_routed_sql : intake_sql, routed ? 21 : 20, params,
                             lengths, formats, error_r);
    free(refs);
    free(warnings);
    return handle;
}

static int read_intake(struct hg_store *store, long handle, struct hg_intake_result *result, char **error_r)
{
    PGresult *res = hg_pg_receive(store, handle, error_r);
    if (res == NULL)
        return -1;
    result->outcome = outcome_from_text(PQgetvalue(res, 0, 0));
    result->ticket_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    result->ticket_number = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    result->message_row_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    return 0;
}

/* The attachment's two rows; their answers are not needed (deferred in pipeline mode). */
static int insert_attachment(struct hg_store *store, long long message_row_id,
                             const struct hg_intake_attachment *a, char **error_r)
{
    char size[24], message[24];
    snprintf(size, sizeof(size), "%zu", a->size);
    snprintf(message, sizeof(message), "%lld", message_row_id);
    const char *blob_params[] = {a->sha256_hex, size, (const char *)a->data};
    int lengths[] = {0, 0, (int)a->size};
    int formats[] = {0, 0, 1};
    if (hg_pg_defer(store,
                    "INSERT INTO attachment_blobs (sha256, size, data) VALUES (decode($1, 'hex'), $2, $3)"
                    " ON CONFLICT (sha256) DO NOTHING",
                    3, blob_params, lengths, formats, error_r) < 0)
        return -1;
    const char *params[] = {
        message, a->sha256_hex, a->filename, a->content_type, a->content_id, a->is_inline ? "t" : "f", size};
    return hg_pg_defer(store,
                       "INSERT INTO attachments (message_id, blob_sha256, filename, content_type, content_id,"
                       " is_inline, size) VALUES ($1, decode($2, 'hex'), $3,"
                       " COALESCE($4, 'application/octet-stream'), $5, $6, $7)",
                       7, params, NULL, NULL, error_r);
}

int hg_intake_finish(struct hg_store *store, long handle, const struct hg_intake_message *msg,
                     struct hg_intake_result *result, char **error_r)
{
    memset(result, 0, sizeof(*result));
    int rc = read_intake(store, handle, result, error_r);
    if (rc == 0 && result->outcome != HG_INTAKE_DUPLICATE)
        for (size_t i = 0; i < msg->n_attachments && rc == 0; i++)
            rc = insert_attachment(store, result->message_row_id, &msg->attachments[i], error_r);
    if (rc == 0 && result->outcome != HG_INTAKE_DUPLICATE && msg->after != NULL)
        rc = msg->after(msg->after_arg, store, result, error_r);
    return rc;
}

/* The statements of one message, in whatever transaction is open (or the call's own). */
static int store_statements(struct hg_store *store, const struct hg_intake_message *msg,
                            const struct hg_intake_source *source, struct hg_intake_result *result,
                            char **error_r)
{
    long handle = hg_intake_send(store, msg, source, error_r);
    if (handle < 0) {
        memset(result, 0, sizeof(*result));
        return -1;
    }
    return hg_intake_finish(store, handle, msg, result, error_r);
}

static int attempt(struct hg_store *store, const struct hg_intake_message *msg,
                   const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r)
{
    bool with_attachments = msg->n_attachments > 0 || msg->after != NULL; /* more than one statement */
    if (with_attachments && hg_pg_command(store, "BEGIN", 0, NULL, error_r) < 0)
        return -1;
    int rc = store_statements(store, msg, source, result, error_r);
    if (with_attachments) {
        if (rc == 0)
            rc = hg_pg_command(store, "COMMIT", 0, NULL, error_r);
        else
            PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    }
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

int hg_intake_store_in_transaction(struct hg_store *store, const struct hg_intake_message *msg,
                                   const struct hg_intake_source *source, struct hg_intake_result *result,
                                   char **error_r)
{
    return store_statements(store, msg, source, result, error_r);
}

bool hg_intake_failure_is_message_specific(struct hg_store *store)
{
    static const char *const classes[] = {"22", "23", "54", "P0"};
    const char *state = hg_pg_last_sqlstate(store);
    if (!hg_store_is_ok(store) || strlen(state) != 5)
        return false;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strncmp(state, classes[i], 2) == 0)
            return true;
    return false;
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
    case HG_INTAKE_AGENT_ANSWER:
        return "agent_answer";
    case HG_INTAKE_REFUSED:
        return "refused";
    case HG_INTAKE_OUR_BOUNCE:
        return "bounce_of_ours";
    }
    return "unknown";
}
