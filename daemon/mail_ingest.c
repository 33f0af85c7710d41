/*
 * mail_ingest.c — normalize a fetched mail and store it through intake (see mail_ingest.h).
 */
#include "helpgate/mail_ingest.h"

#include "helpgate/alloc.h"
#include "helpgate/log.h"
#include "helpgate/mail.h"
#include "helpgate/sha256.h"

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

int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r)
{
    struct hg_mail_limits limits = {
        .ticket_tag_prefix = settings->ticket_tag_prefix,
        .support_address = settings->support_address,
    };
    struct hg_mail *m = hg_mail_parse(raw, len, &limits);
    char *truncation = truncated ? hg_xasprintf("message_truncated: the message is larger than the mailbox's "
                                                "max_message_size; only its first %zu bytes were stored",
                                                len)
                                 : NULL;
    const char **references = terminated(m->references, m->n_references, NULL);
    const char **warnings = terminated(m->warnings, m->n_warnings, truncation);
    struct hg_intake_attachment *attachments = map_attachments(m);
    char raw_sha256[HG_SHA256_HEX_SIZE];
    hg_sha256_hex(raw, len, raw_sha256);

    struct hg_intake_message msg = {
        .channel = "email",
        .message_id = m->message_id,
        .in_reply_to = m->in_reply_to,
        .references = references,
        .from_email = m->from ? nonempty(m->from->email) : NULL,
        .from_name = m->from ? m->from->name : NULL,
        .subject = m->subject,
        .date_iso = m->date,
        .ticket_tag = parse_ticket_tag(m->ticket_tag),
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
    };
    int rc = hg_intake_store(store, &msg, source, result, error_r);
    free(attachments);
    free(warnings);
    free(references);
    free(truncation);
    hg_mail_free(&m);
    return rc;
}

int hg_mail_ingest(struct hg_store *store, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
                   const char *raw, size_t len, bool truncated, void *arg, char **error_r)
{
    const struct hg_mail_ingest_settings *settings = arg;
    struct hg_intake_source source = {.mailbox = mailbox, .uidvalidity = uidvalidity, .uid = uid};
    struct hg_intake_result result;
    if (hg_mail_ingest_one(store, settings, &source, raw, len, truncated, &result, error_r) < 0)
        return -1;
    hg_log_info("message_stored", "mailbox=%s uid=%u outcome=%s ticket=%lld message=%lld bytes=%zu",
                HG_Q(mailbox), uid, hg_intake_outcome_name(result.outcome), result.ticket_number,
                result.message_row_id, len);
    return 0;
}
