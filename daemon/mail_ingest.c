/*
 * mail_ingest.c — normalize a fetched mail and store it through intake (see mail_ingest.h).
 */
#include "helpgate/mail_ingest.h"

#include "helpgate/alloc.h"
#include "helpgate/mail.h"
#include "helpgate/mailloop.h"
#include "helpgate/poller.h"
#include "helpgate/routing.h"
#include "helpgate/sha256.h"
#include "store_pg.h"

#include <stdlib.h>
#include <string.h>

/* Longest ticket number we accept from a tag: more digits cannot be one of ours. */
#define TICKET_TAG_MAX_DIGITS 15

static long long parse_ticket_tag(const char *tag)
{
    if (tag == NULL || strlen(tag) > TICKET_TAG_MAX_DIGITS)
        return 0;
    return strtoll(tag, NULL, 10);
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A NULL-terminated copy of N pointers (the strings are not copied); caller frees the array. */
static const char **terminated(char *const *items, size_t n, const char *extra)
{
    const char **list = hg_xcalloc(n + 2, sizeof(*list));
    for (size_t i = 0; i < n; i++)
        list[i] = items[i];
    list[n] = extra;
    return list;
}

static struct hg_intake_attachment *map_attachments(const struct hg_mail *m)
{
    struct hg_intake_attachment *list = hg_xcalloc(m->n_attachments + 1, sizeof(*list));
    for (size_t i = 0; i < m->n_attachments; i++) {
        const struct hg_mail_attachment *a = &m->attachments[i];
        list[i] = (struct hg_intake_attachment){
            .filename = a->filename,
            .content_type = a->content_type,
            .content_id = a->content_id,
            .is_inline = a->is_inline,
            .data = a->data,
            .size = a->size,
            .sha256_hex = a->sha256,
        };
    }
    return list;
}

/*
 * M answers a notification's signed Reply-To, or is a bounce: the mail loop
 * takes it (1: an agent's answer, a refused answer, a bounce of our own
 * mail), or it goes through normal intake (0: the ticket's customer's
 * message, tagged with the ticket; a bounce of mail that was not ours).
 */
static int take_answer(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_mail *m, const struct hg_answer *answer, bool in_transaction,
                       struct hg_intake_result *result, char **error_r)
{
    if (!in_transaction && hg_pg_command(store, "BEGIN", 0, NULL, error_r) < 0)
        return -1;
    int rc = answer->ticket_number > 0
                 ? hg_mailloop_answer(settings->mailloop, store, m, answer, result, error_r)
                 : hg_mailloop_bounce(settings->mailloop, store, m, answer->source, result, error_r);
    if (!in_transaction) {
        if (rc >= 0 && hg_pg_command(store, "COMMIT", 0, NULL, error_r) < 0)
            rc = -1;
        if (rc < 0)
            PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    }
    return rc;
}

static int ingest(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                  const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                  bool in_transaction, struct hg_intake_result *result, char **error_r)
{
    struct hg_mail_limits limits = {
        .ticket_tag_prefix = settings->ticket_tag_prefix,
        .support_address = settings->support_address,
    };
    struct hg_mail *m = hg_mail_parse(raw, len, &limits);
    char raw_sha256[HG_SHA256_HEX_SIZE];
    hg_sha256_hex(raw, len, raw_sha256);
    uint64_t signed_for = 0;
    uint64_t answered = hg_mailloop_signed_ticket(settings->mailloop, m, &signed_for);
    if (answered > 0 || (m->auto_kind == HG_MAIL_AUTO_BOUNCE && settings->mailloop != NULL)) {
        struct hg_answer answer = {answered, signed_for, source, raw, len, raw_sha256};
        int taken = take_answer(store, settings, m, &answer, in_transaction, result, error_r);
        if (taken != 0) {
            hg_mail_free(&m);
            return taken < 0 ? -1 : 0;
        }
    }
    struct hg_routing routing = {0};
    if (settings->rules != NULL &&
        hg_routing_decide(&routing, store, settings->rules, settings->mailloop, m,
                          m->delivered_to != NULL ? m->delivered_to : settings->support_address, "email",
                          error_r) < 0) {
        hg_routing_free(&routing);
        hg_mail_free(&m);
        return -1;
    }
    char *truncation = truncated ? hg_xasprintf("message_truncated: the message is larger than the mailbox's "
                                                "max_message_size; only its first %zu bytes were stored",
                                                len)
                                 : NULL;
    const char **references = terminated(m->references, m->n_references, NULL);
    const char **warnings = terminated(m->warnings, m->n_warnings, truncation);
    struct hg_intake_attachment *attachments = map_attachments(m);

    struct hg_intake_message msg = {
        .channel = "email",
        .message_id = m->message_id,
        .in_reply_to = m->in_reply_to,
        .references = references,
        .from_email = m->from ? nonempty(m->from->email) : NULL,
        .from_name = m->from ? m->from->name : NULL,
        .subject = m->subject,
        .date_iso = m->date,
        .ticket_tag = answered > 0 ? (long long)answered : parse_ticket_tag(m->ticket_tag),
        .body_text = m->body_text,
        .body_html = m->body_html,
        .reply_text = m->reply_text,
        .auto_kind = hg_mail_auto_name(m->auto_kind),
        .warnings = warnings,
        .attachments = attachments,
        .n_attachments = m->n_attachments,
        .support_address = m->delivered_to ? m->delivered_to : settings->support_address,
        .raw = (const unsigned char *)raw,
        .raw_size = len,
        .raw_sha256_hex = raw_sha256,
        .route_json = routing.json,
        .after = settings->rules != NULL && settings->mailloop != NULL ? hg_routing_after_intake : NULL,
        .after_arg = &routing,
    };
    int rc = in_transaction ? hg_intake_store_in_transaction(store, &msg, source, result, error_r)
                            : hg_intake_store(store, &msg, source, result, error_r);
    free(attachments);
    free(warnings);
    free(references);
    free(truncation);
    hg_routing_free(&routing);
    hg_mail_free(&m);
    return rc;
}

int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r)
{
    return ingest(store, settings, source, raw, len, truncated, false, result, error_r);
}

int hg_mail_ingest(struct hg_store *store, const struct hg_poller_message *msg, void *arg,
                   struct hg_intake_result *result, char **error_r)
{
    struct hg_intake_source source = {
        .mailbox = msg->mailbox, .uidvalidity = msg->uidvalidity, .uid = msg->uid};
    return ingest(store, arg, &source, msg->raw, msg->len, msg->truncated, msg->in_transaction, result,
                  error_r);
}
