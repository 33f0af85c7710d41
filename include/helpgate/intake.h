/*
 * intake.h — store one inbound message (mail now, chat later) exactly once.
 *
 * hg_intake_store() runs one transaction that finds or creates the customer,
 * threads the message onto a ticket or opens a new one, writes the message,
 * its raw source, its attachments (deduplicated by SHA-256) and the audit
 * row, and records where the message came from (so a re-fetch is a no-op).
 * A message whose Message-ID is already stored only has its position
 * recorded. Later stages (routing, outbox) hook into the same transaction.
 * The work is one call of the server-side function helpgate_intake_message()
 * (sql/003), plus two statements per attachment: one round trip for most mail.
 *
 * Threading, in order:
 *  1. a ticket tag ([#1234] or a plus-address): the message joins that ticket
 *     only when it comes from the ticket's customer or from an agent; anyone
 *     else opens a new ticket, with a warning saying why;
 *  2. In-Reply-To / References naming a message we stored or sent;
 *  3. otherwise a new ticket.
 *
 * Ownership: everything in struct hg_intake_message belongs to the caller and
 * is only read. Errors: -1 with *error_r (caller frees); nothing is stored
 * then, and the caller may retry the same message later.
 */
#ifndef HELPGATE_INTAKE_H
#define HELPGATE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_store;

struct hg_intake_attachment {
    const char *filename; /* or NULL */
    const char *content_type;
    const char *content_id; /* or NULL */
    bool is_inline;
    const unsigned char *data;
    size_t size;
    const char *sha256_hex; /* 64 hex digits */
};

struct hg_intake_message {
    const char *channel;           /* "email" or "chat" */
    const char *message_id;        /* never NULL: derived from a hash when the mail had none */
    const char *in_reply_to;       /* or NULL */
    const char *const *references; /* NULL-terminated, may be NULL */
    const char *from_email;        /* or NULL (then the message cannot find a customer) */
    const char *from_name;
    const char *subject;
    const char *date_iso; /* ISO 8601 or NULL */
    long long ticket_tag; /* 0 when none */
    const char *body_text;
    const char *body_html; /* or NULL */
    const char *reply_text;
    const char *auto_kind;       /* NULL, "autoreply", "bounce", "list", "bulk" */
    const char *const *warnings; /* NULL-terminated, may be NULL */
    const struct hg_intake_attachment *attachments;
    size_t n_attachments;
    const char *support_address; /* which of our addresses received it, or NULL */
    const unsigned char *raw;    /* the source as received, or NULL */
    size_t raw_size;
    const char *raw_sha256_hex; /* 64 hex digits when raw is set */
};

struct hg_intake_source {
    const char *mailbox; /* [mailbox NAME]; NULL for chat */
    uint32_t uidvalidity;
    uint32_t uid;
};

enum hg_intake_outcome { HG_INTAKE_NEW_TICKET, HG_INTAKE_REPLY, HG_INTAKE_DUPLICATE };

struct hg_intake_result {
    enum hg_intake_outcome outcome;
    long long ticket_id; /* 0 for a duplicate seen only by position */
    long long ticket_number;
    long long message_row_id;
};

int hg_intake_store(struct hg_store *store, const struct hg_intake_message *msg,
                    const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r);

const char *hg_intake_outcome_name(enum hg_intake_outcome outcome);

#endif
