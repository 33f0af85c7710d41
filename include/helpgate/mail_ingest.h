/*
 * mail_ingest.h — the glue between a fetched mail and the store: normalize it
 * (parsers/, pure) and hand the record to intake (one transaction).
 *
 * hg_mail_ingest() has the shape of hg_poller_ingest_fn, so pollers call it
 * directly; ARG is a struct hg_mail_ingest_settings that outlives them.
 * A message that was truncated on fetch (over max_message_size) is stored
 * with what was fetched and a warning saying so: never dropped.
 */
#ifndef HELPGATE_MAIL_INGEST_H
#define HELPGATE_MAIL_INGEST_H

#include "helpgate/intake.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_mail_ingest_settings {
    const char *ticket_tag_prefix; /* as in the config; NULL = "#" */
    const char *support_address;   /* our address, for plus-address tags; or NULL */
    const char *support_domain;    /* or NULL */
};

int hg_mail_ingest(struct hg_store *store, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
                   const char *raw, size_t len, bool truncated, void *arg, char **error_r);

/* The same for one message with its result (helpgatectl, tests). */
int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r);

#endif
