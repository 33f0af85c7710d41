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
 * Transactions: hg_intake_store() is for callers that hold no transaction
 * (helpgatectl, tests, chat): it makes its own, and when a concurrent copy of
 * the same message (another instance) shows up as a unique violation it rolls
 * back and runs once more, which then finds the stored copy.
 * hg_intake_store_in_transaction() is for a caller that holds one (the IMAP
 * poller, which commits a whole batch at once): it sends no BEGIN, COMMIT or
 * ROLLBACK and never retries. When it fails, the caller's transaction is
 * aborted: the caller rolls it back, and may then store the same messages
 * again one by one with hg_intake_store(), where the retry works as above.
 *
 * Ownership: everything in struct hg_intake_message belongs to the caller and
 * is only read. Errors: -1 with *error_r (caller frees); nothing is stored
 * then (or, in the caller's transaction, nothing will be once it is rolled
 * back), and the caller may retry the same message later.
 */
#ifndef HELPGATE_INTAKE_H
#define HELPGATE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_store;
struct hg_intake_result;

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
    const char *route_json;     /* the rules' decision for a new ticket (hg_rules_result_json()), or NULL */
    /*
     * Called in the same transaction once the message is stored (not for a
     * duplicate): the mail loop queues acknowledgements and notifications
     * there. A failure (-1 with *error_r) undoes the whole message.
     */
    int (*after)(void *arg, struct hg_store *store, const struct hg_intake_result *result, char **error_r);
    void *after_arg;
};

struct hg_intake_source {
    const char *mailbox; /* [mailbox NAME]; NULL for chat */
    uint32_t uidvalidity;
    uint32_t uid;
};

enum hg_intake_outcome {
    HG_INTAKE_NEW_TICKET,
    HG_INTAKE_REPLY,
    HG_INTAKE_DUPLICATE,
    HG_INTAKE_AGENT_ANSWER, /* an agent's answer to a signed address (mailloop.h) */
    HG_INTAKE_REFUSED,      /* sent to a signed address by someone who may not answer there */
    HG_INTAKE_OUR_BOUNCE,   /* a bounce of mail we sent: its outbox row is marked failed, no ticket */
};

struct hg_intake_result {
    enum hg_intake_outcome outcome;
    long long ticket_id; /* 0 for a duplicate seen only by position */
    long long ticket_number;
    long long message_row_id;
};

/* In its own transaction (see above); STORE must not be inside one. */
int hg_intake_store(struct hg_store *store, const struct hg_intake_message *msg,
                    const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r);

/* Inside the transaction the caller began on STORE (see above); nothing is committed here. */
int hg_intake_store_in_transaction(struct hg_store *store, const struct hg_intake_message *msg,
                                   const struct hg_intake_source *source, struct hg_intake_result *result,
                                   char **error_r);

/*
 * hg_intake_store_in_transaction() in two steps, for a pipelined store
 * (store_pg.h): send the call (a handle, or -1), prepare something else while
 * the server stores it, then finish: read its answer, send the attachments'
 * rows and run MSG->after. MSG must stay unchanged and valid in between.
 */
long hg_intake_send(struct hg_store *store, const struct hg_intake_message *msg,
                    const struct hg_intake_source *source, char **error_r);
int hg_intake_finish(struct hg_store *store, long handle, const struct hg_intake_message *msg,
                     struct hg_intake_result *result, char **error_r);

/*
 * After a failed hg_intake_store*() on STORE: true when the database refused
 * this message's own data (SQLSTATE class 22 data exception, 23 constraint
 * violation, 54 program limit such as an index row too large, P0 raised by
 * PL/pgSQL code such as a trigger) while the connection is fine, so other
 * messages may still succeed. False for everything any message would meet:
 * a lost connection, a server shutting down, resources, permissions, schema.
 */
bool hg_intake_failure_is_message_specific(struct hg_store *store);

const char *hg_intake_outcome_name(enum hg_intake_outcome outcome);

#endif
