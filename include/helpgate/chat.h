/*
 * chat.h — the chat listener: websockets (subprotocol helpgate.chat.v1),
 * the widget's files and /metrics (metrics.h) over HTTP, on one port, with
 * libwebsockets.
 *
 * hg_chat_start() binds the port and starts its threads: one service thread
 * runs every socket (lws_service; it never waits for PostgreSQL), worker
 * threads with their own connections store hellos and messages
 * (chat_store.h) and hand the frames back, and a listener thread takes
 * NOTIFY helpgate_chat (sql/010) to push what agents write to whichever
 * socket holds the ticket, on any helpgated. Limits (frame and message size,
 * token buckets per connection and per IP, connections in all and per IP,
 * idle timeout, ping) come from [chat]; a visitor who breaks one gets an
 * error frame, an abusive one a close with a code, and nobody else notices.
 *
 * hg_chat_pause()/hg_chat_resume() hold the workers while the daemon swaps
 * the mail loop or the settings they read (a reload); sockets stay open.
 *
 * Ownership: settings are copied (strings too) except store.rules and
 * store.mailloop, which the caller keeps alive until hg_chat_stop() or the
 * next hg_chat_resume(). hg_chat_stop() closes every socket and frees.
 */
#ifndef HELPGATE_CHAT_H
#define HELPGATE_CHAT_H

#include "helpgate/chat_store.h"
#include "helpgate/store.h"

#include <stddef.h>

struct hg_chat_settings {
    const char *listen;             /* "ADDR:PORT" */
    const char *tls_cert, *tls_key; /* both or neither: wss and https */
    char *const *allowed_origins;   /* NULL-terminated; a browser's Origin must be one of them */
    char *const *metrics_allow;     /* NULL-terminated ADDRESS[/BITS]: who may GET /metrics */
    const char *widget_dir;         /* served at "/" (index.html) */
    size_t max_frame, max_message;  /* bytes */
    int max_connections, per_ip_connections;
    int ping_interval;    /* seconds between pings of a quiet connection */
    int idle_timeout;     /* seconds without a frame from the visitor */
    double rate, ip_rate; /* frames per second: per connection, per IP address */
    int burst, ip_burst;
    int workers; /* storing threads (and database connections); 0 = 2 */
    struct hg_store_params db;
    struct hg_chat_store_settings store;
};

struct hg_chat;

/* NULL with *error_r (caller frees) when the port cannot be bound or a file is missing. */
struct hg_chat *hg_chat_start(const struct hg_chat_settings *settings, char **error_r);
void hg_chat_stop(struct hg_chat **chat);

void hg_chat_pause(struct hg_chat *chat);
void hg_chat_resume(struct hg_chat *chat, const struct hg_chat_store_settings *store);

/* Connections open now (for the log and metrics). */
size_t hg_chat_connections(const struct hg_chat *chat);

#endif
