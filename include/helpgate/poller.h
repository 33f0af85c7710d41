/*
 * poller.h — one thread per configured mailbox that moves its mail into
 * PostgreSQL exactly once.
 *
 * The thread holds the mailbox's lease (lease.h) while it works, connects to
 * IMAP, fetches every message above the last stored UID in batches, and
 * stores each batch in one transaction: BEGIN, the INGEST callback for every
 * message, the mailbox position, COMMIT. Only after the commit does it flag
 * or move the batch on the server. When a statement fails inside a batch,
 * the batch is rolled back and stored again one message per transaction: a
 * message whose data the database refuses (while others of the batch are
 * stored) is logged as an error, left on the server without the stored flag,
 * and passed over; any other failure stops the batch there and the session
 * retries later. Then it waits: IDLE when the server has it (a new message
 * is fetched within about a second), otherwise it polls. Errors are logged,
 * one line per attempt, and retried with backoff and jitter; one broken
 * mailbox never delays another.
 *
 * Ownership: hg_poller_start() copies the mailbox config; ENV and what it
 * points to must outlive the poller. hg_poller_stop() asks the thread to
 * finish the messages in flight (the one being stored and the up to two
 * fetched messages held back behind it, see hg_poller_message.next; its batch
 * then commits what it stored and flags that) and waits for it; it frees the poller and sets the pointer to
 * NULL.
 */
#ifndef HELPGATE_POLLER_H
#define HELPGATE_POLLER_H

#include "helpgate/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_store;
struct hg_pool;
struct hg_leases;
struct hg_intake_result;

/* One fetched message, as the INGEST callback gets it. */
struct hg_poller_message {
    const char *mailbox; /* the [mailbox NAME] */
    uint32_t uidvalidity;
    uint32_t uid;
    const char *raw; /* LEN bytes, valid during the call only (see NEXT) */
    size_t len;
    bool truncated;      /* larger than max_message_size: RAW is its beginning */
    bool in_transaction; /* the poller began a transaction on STORE: store inside it, commit nothing */
    /*
     * In a transaction (the store is then in pipeline mode, store_pg.h): the message the next
     * call will store, or NULL, and through its own NEXT the one after that (at most two
     * ahead). The ingest may prepare them (parse them, send their queries, even store NEXT
     * ahead of time) while the server stores this one, keeping what it prepared in
     * *BATCH_STATE; their bytes are valid during this call only (later calls get them again).
     * Outside a transaction both are NULL.
     */
    const struct hg_poller_message *next;
    void **batch_state; /* starts NULL for each transaction; env.batch_done frees it */
};

/*
 * Stores one fetched message: 0 with *RESULT when stored (or already stored),
 * -1 with *error_r. The poller logs the outcome once it is committed.
 */
typedef int hg_poller_ingest_fn(struct hg_store *store, const struct hg_poller_message *msg, void *arg,
                                struct hg_intake_result *result, char **error_r);

struct hg_poller_env {
    struct hg_pool *pool;
    struct hg_leases *leases;
    hg_poller_ingest_fn *ingest;
    void *ingest_arg;
    /* Frees an ingest's *batch_state at the end of a transaction (committed or not), before the
     * store leaves pipeline mode; may be NULL. */
    void (*batch_done)(void *batch_state, void *ingest_arg, struct hg_store *store);
};

struct hg_poller;

struct hg_poller *hg_poller_start(const struct hg_mailbox_config *mailbox, const struct hg_poller_env *env);
/* Asks the thread to stop without waiting (for stopping many pollers at once). */
void hg_poller_request_stop(struct hg_poller *poller);
void hg_poller_stop(struct hg_poller **poller);
/* The mailbox name, for logs. */
const char *hg_poller_name(const struct hg_poller *poller);
/* True when MAILBOX's settings equal the poller's (no restart needed on reload). */
bool hg_poller_config_equal(const struct hg_poller *poller, const struct hg_mailbox_config *mailbox);

#endif
