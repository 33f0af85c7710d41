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

/* A fetched mail, parsed and ready to store; in a batch, prepared while the one before is stored. */
struct prepared {
    uint32_t uid;
    struct hg_mail *m;
    char raw_sha256[HG_SHA256_HEX_SIZE];
    uint64_t answered, signed_for;
    bool to_mailloop;          /* an answer to a signed Reply-To, or a bounce: the mail loop looks first */
    struct hg_routing routing; /* with rules: its customer-facts query sent */
    bool routing_started;
};

static const char *recipient_of(const struct hg_mail_ingest_settings *settings, const struct hg_mail *m)
{
    return m->delivered_to != NULL ? m->delivered_to : settings->support_address;
}

static int start_routing(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                         struct prepared *p, char **error_r)
{
    if (settings->rules == NULL || p->routing_started)
        return 0;
    p->routing_started = true;
    return hg_routing_start(&p->routing, store, settings->rules, settings->mailloop, p->m,
                            recipient_of(settings, p->m), "email", error_r);
}

/* Parses RAW into P and, unless the mail loop looks at it first, sends its customer-facts query. */
static int prepare(struct prepared *p, struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                   uint32_t uid, const char *raw, size_t len, char **error_r)
{
    struct hg_mail_limits limits = {
        .ticket_tag_prefix = settings->ticket_tag_prefix,
        .support_address = settings->support_address,
    };
    memset(p, 0, sizeof(*p));
    p->uid = uid;
    p->m = hg_mail_parse(raw, len, &limits);
    hg_sha256_hex(raw, len, p->raw_sha256);
    p->answered = hg_mailloop_signed_ticket(settings->mailloop, p->m, &p->signed_for);
    p->to_mailloop =
        p->answered > 0 || (p->m->auto_kind == HG_MAIL_AUTO_BOUNCE && settings->mailloop != NULL);
    return p->to_mailloop ? 0 : start_routing(store, settings, p, error_r);
}

static void prepared_free(struct prepared *p)
{
    hg_routing_free(&p->routing);
    hg_mail_free(&p->m);
}

/* The next message of the batch, prepared into *BATCH_STATE (kept there on failure too, for batch_done). */
static int prepare_next(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                        const struct hg_poller_message *next, void **batch_state, char **error_r)
{
    if (next == NULL || batch_state == NULL)
        return 0;
    struct prepared *p = hg_xcalloc(1, sizeof(*p));
    *batch_state = p;
    return prepare(p, store, settings, next->uid, next->raw, next->len, error_r);
}

/*
 * Stores the prepared mail P (RAW, LEN: its bytes). With NEXT and BATCH_STATE,
 * the next message is prepared once this one's intake call is sent, so that
 * parsing it and sending its facts query overlap the server's work.
 */
static int store_prepared(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                          const struct hg_intake_source *source, struct prepared *p, const char *raw,
                          size_t len, bool truncated, bool in_transaction,
                          const struct hg_poller_message *next, void **batch_state,
                          struct hg_intake_result *result, char **error_r)
{
    const struct hg_mail *m = p->m;
    if (p->to_mailloop) {
        struct hg_answer answer = {p->answered, p->signed_for, source, raw, len, p->raw_sha256};
        int taken = take_answer(store, settings, m, &answer, in_transaction, result, error_r);
        if (taken != 0)
            return taken < 0 ? -1 : prepare_next(store, settings, next, batch_state, error_r);
        if (start_routing(store, settings, p, error_r) < 0) /* the mail loop passed it on */
            return -1;
    }
    if (p->routing_started && hg_routing_finish(&p->routing, store, error_r) < 0)
        return -1;
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
        .ticket_tag = p->answered > 0 ? (long long)p->answered : parse_ticket_tag(m->ticket_tag),
        .body_text = m->body_text,
        .body_html = m->body_html,
        .reply_text = m->reply_text,
        .auto_kind = hg_mail_auto_name(m->auto_kind),
        .warnings = warnings,
        .attachments = attachments,
        .n_attachments = m->n_attachments,
        .support_address = recipient_of(settings, m),
        .raw = (const unsigned char *)raw,
        .raw_size = len,
        .raw_sha256_hex = p->raw_sha256,
        .route_json = p->routing.json,
        .after = settings->rules != NULL && settings->mailloop != NULL ? hg_routing_after_intake : NULL,
        .after_arg = &p->routing,
    };
    int rc;
    if (in_transaction) {
        long handle = hg_intake_send(store, &msg, source, error_r);
        rc = handle < 0 ? -1 : prepare_next(store, settings, next, batch_state, error_r);
        if (rc == 0)
            rc = hg_intake_finish(store, handle, &msg, result, error_r);
    } else {
        rc = hg_intake_store(store, &msg, source, result, error_r);
    }
    free(attachments);
    free(warnings);
    free(references);
    free(truncation);
    return rc;
}

int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r)
{
    struct prepared p;
    int rc = prepare(&p, store, settings, source != NULL ? source->uid : 0, raw, len, error_r);
    if (rc == 0)
        rc = store_prepared(store, settings, source, &p, raw, len, truncated, false, NULL, NULL, result,
                            error_r);
    prepared_free(&p);
    return rc;
}

int hg_mail_ingest(struct hg_store *store, const struct hg_poller_message *msg, void *arg,
                   struct hg_intake_result *result, char **error_r)
{
    const struct hg_mail_ingest_settings *settings = arg;
    struct hg_intake_source source = {
        .mailbox = msg->mailbox, .uidvalidity = msg->uidvalidity, .uid = msg->uid};
    /* Prepared during the previous message's call (same transaction), or now. */
    struct prepared *p = msg->batch_state != NULL ? *msg->batch_state : NULL;
    if (msg->batch_state != NULL)
        *msg->batch_state = NULL;
    int rc = 0;
    if (p != NULL && p->uid != msg->uid) {
        hg_mail_ingest_batch_done(p, arg);
        p = NULL;
    }
    if (p == NULL) {
        p = hg_xcalloc(1, sizeof(*p));
        rc = prepare(p, store, settings, msg->uid, msg->raw, msg->len, error_r);
    }
    if (rc == 0)
        rc = store_prepared(store, settings, &source, p, msg->raw, msg->len, msg->truncated,
                            msg->in_transaction, msg->next, msg->batch_state, result, error_r);
    hg_mail_ingest_batch_done(p, arg);
    return rc;
}

void hg_mail_ingest_batch_done(void *batch_state, void *arg)
{
    (void)arg;
    struct prepared *p = batch_state;
    if (p == NULL)
        return;
    prepared_free(p);
    free(p);
}
