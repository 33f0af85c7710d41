/*
 * chat_store.h — what the chat listener asks of PostgreSQL: sessions, chat
 * messages as tickets, history and pushed messages (sql/010).
 *
 * Every function runs on the caller's connection and blocks: the listener
 * calls them from its worker threads, never from the websocket service loop.
 *
 * hg_chat_store_hello(): a hello without a resume token opens a session with
 * a fresh 128-bit token (only its SHA-256 is stored); with one, it finds that
 * session and its ticket. The welcome frame (with the last messages of the
 * ticket as history) is built here.
 *
 * hg_chat_store_message(): one visitor message in one transaction: routed by
 * the rules in force (channel "chat"; the first message opens the ticket),
 * stored once per (session, client id), the mail loop's notifications (and
 * an acknowledgement by mail when the visitor gave an address and the route
 * names one), and the acknowledgement's text as a system message, which the
 * trigger of sql/010 announces for the push.
 *
 * hg_chat_store_push_frame(): the message frame of a stored message, for the
 * visitor's socket (NOTIFY helpgate_chat gives ticket and message ids).
 *
 * Ownership: strings in the results are the caller's (free()); inputs are
 * borrowed. Errors: -1 with *error_r (caller frees); nothing is stored then.
 */
#ifndef HELPGATE_CHAT_STORE_H
#define HELPGATE_CHAT_STORE_H

#include "helpgate/chat_proto.h"
#include "helpgate/intake.h"

#include <stdbool.h>

struct hg_store;
struct hg_rules_holder;
struct hg_mailloop;

struct hg_chat_store_settings {
    struct hg_rules_holder *rules;      /* NULL: every chat ticket takes the default route */
    const struct hg_mailloop *mailloop; /* NULL: no acknowledgement, no notifications */
    const char *support_address;        /* the rules' recipient; or NULL */
    const char *support_domain;         /* for the Message-IDs of chat messages; or NULL */
};

/* Who is chatting: from the session's hello. */
struct hg_chat_visitor {
    long long session_id;
    const char *name;
    const char *email; /* or NULL */
    const char *lang;  /* or NULL */
};

enum hg_chat_hello_outcome { HG_CHAT_HELLO_NEW, HG_CHAT_HELLO_RESUMED, HG_CHAT_HELLO_UNKNOWN };

struct hg_chat_hello_result {
    enum hg_chat_hello_outcome outcome;
    long long session_id;
    long long ticket_id;     /* 0 before the first message */
    long long ticket_number; /* 0 before the first message */
    char *welcome;           /* the welcome frame (JSON); NULL when outcome is UNKNOWN */
};

int hg_chat_store_hello(struct hg_store *store, const struct hg_chat_frame *hello, const char *peer,
                        struct hg_chat_hello_result *out, char **error_r);
void hg_chat_hello_result_free(struct hg_chat_hello_result *r);

int hg_chat_store_message(struct hg_store *store, const struct hg_chat_store_settings *settings,
                          const struct hg_chat_visitor *visitor, const char *client_id, const char *text,
                          struct hg_intake_result *result, char **error_r);

/* *frame_r: the message frame, or NULL when the message is not for the visitor (a note, gone). */
int hg_chat_store_push_frame(struct hg_store *store, long long message_id, char **frame_r, char **error_r);

/* Marks sessions online (refreshing last_seen_at) or offline. */
int hg_chat_store_presence(struct hg_store *store, const long long *session_ids, size_t n, bool online,
                           char **error_r);

#endif
