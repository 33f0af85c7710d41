/*
 * sender.h — drain the outbox: deliver queued mail by SMTP (libcurl).
 *
 * One sender thread per helpgated, with its own database connection. It
 * LISTENs on the channel "helpgate_outbox" (a trigger NOTIFYs on every new
 * row, sql/005) and also wakes every second for retries that fell due. Each
 * row is claimed with SELECT … FOR UPDATE SKIP LOCKED in its own transaction,
 * sent, and marked sent/retry/failed before the commit, so several helpgated
 * share one outbox and a crash leaves the row queued.
 *
 * Delivery guarantee: at least once. A crash between the server's 250 and
 * our commit sends that mail again; every row has a stable Message-ID, so
 * the copy is recognisable (and mail clients thread it as the same message).
 *
 * Outcomes: 2xx → sent; 4xx, a connection or TLS failure, a refused login →
 * retried after retry_initial, doubling up to retry_max, until give_up_after
 * has passed since the row was queued → failed; 5xx → failed at once. A
 * failure is written to the row (last_error) and to the ticket's audit log
 * (`outbox.failed`).
 *
 * Ownership: settings are copied; hg_sender_stop() joins the thread and frees.
 */
#ifndef HELPGATE_SENDER_H
#define HELPGATE_SENDER_H

#include "helpgate/store.h"

#include <stdbool.h>

struct hg_sender;

struct hg_sender_settings {
    const char *url;           /* smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] */
    const char *user;          /* or NULL */
    const char *password_file; /* or NULL */
    bool tls_verify;
    const char *ca_file;  /* PEM CA bundle, or NULL for the system's */
    bool allow_plaintext; /* smtp:// without STARTTLS to a host that is not on loopback */
    int retry_initial;    /* seconds */
    int retry_max;        /* seconds */
    int give_up_after;    /* seconds */
};

struct hg_sender *hg_sender_start(const struct hg_store_params *db,
                                  const struct hg_sender_settings *settings);
/* Asks the thread to stop after the mail in flight, waits for it and frees. */
void hg_sender_stop(struct hg_sender **sender);

/* True when the SMTP password file now holds another password than the one
 * the sender started with (or has become readable or unreadable): the
 * daemon restarts the sender on SIGHUP then, as for a changed setting. */
bool hg_sender_password_changed(const struct hg_sender *sender);

#endif
