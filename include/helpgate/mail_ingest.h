/*
 * mail_ingest.h — the glue between a fetched mail and the store: normalize it
 * (parsers/, pure) and hand the record to intake.
 *
 * hg_mail_ingest() has the shape of hg_poller_ingest_fn, so pollers call it
 * directly; ARG is a struct hg_mail_ingest_settings that outlives them. It
 * stores inside the poller's transaction when the message says so
 * (in_transaction), else in a transaction of its own, and logs nothing: the
 * poller logs each message once it is committed. hg_mail_ingest_one() is for
 * callers without a transaction. With rules, a new ticket is routed in the
 * same transaction (the sender's customer facts are read first); with a mail
 * loop, its acknowledgement and notifications are queued there too. A
 * message that was truncated on fetch (over
 * max_message_size) is stored with what was fetched and a warning saying so:
 * never dropped.
 */
#ifndef HELPGATE_MAIL_INGEST_H
#define HELPGATE_MAIL_INGEST_H

#include "helpgate/intake.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_rules_holder;
struct hg_mailloop;

struct hg_mail_ingest_settings {
    const char *ticket_tag_prefix;      /* as in the config; NULL = "#" */
    const char *support_address;        /* our address, for plus-address tags; or NULL */
    const char *support_domain;         /* or NULL */
    struct hg_rules_holder *rules;      /* routes new tickets; NULL: no routing (every ticket L1) */
    const struct hg_mailloop *mailloop; /* acknowledgements and notifications; NULL: none */
};

struct hg_poller_message;

int hg_mail_ingest(struct hg_store *store, const struct hg_poller_message *msg, void *arg,
                   struct hg_intake_result *result, char **error_r);
/*
 * hg_poller_env.batch_done: frees what hg_mail_ingest() prepared ahead. In a
 * poller's transaction (the store in pipeline mode) it routes and sends the
 * next message's intake call while the server stores the current one (see
 * the top of mail_ingest.c's pipelining section).
 */
void hg_mail_ingest_batch_done(void *batch_state, void *arg, struct hg_store *store);

/* One message in its own transaction, with its result (helpgatectl, tests). */
int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r);

#endif
