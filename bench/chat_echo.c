/*
 * chat_echo.c — the ceiling of bench/chat: a bare libwebsockets server that
 * speaks just enough of helpgate.chat.v1 for bench/chat_load.c, with no
 * database, no JSON parser, no limits and no threads.
 *
 *   chat_echo PORT [ADDRESS]      (ADDRESS default 127.0.0.1)
 *
 * Accepts websockets with the subprotocol helpgate.chat.v1 on any path. Each
 * text message (reassembled from its fragments, up to 16 KB) is answered at
 * once, from the next writable callback:
 *   a frame containing "type":"hello"    {"type":"welcome","protocol":"helpgate.chat.v1",
 *                                        "ticket":null,"resume":"<32 hex>","history":[]}
 *   one containing "type":"message"      {"type":"ack","id":"<its id>","message":N,"ticket":T}
 *                                        (N counts all messages, T is the connection's)
 *   anything else                        {"type":"error","code":"bad_json",...}
 * found by searching the frame for those strings. Frames wait in a list per
 * connection, as in helpgated (one write per writable callback, as lws wants).
 * Stops on SIGINT or SIGTERM and prints the frames it answered on stderr.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL "helpgate.chat.v1"
#define RX_MAX 16384

struct out {
    struct out *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of room, then the frame */
};

struct pss {
    struct out *head, **tail;
    unsigned long long ticket;
    size_t rx_len, rx_size;
    bool rx_overflow;
    char *rx; /* grown as frames need, up to RX_MAX + 1 */
};

static volatile sig_atomic_t interrupted;
static unsigned long long messages, tickets, frames_in, frames_out, connections;

static void queue_frame(struct lws *wsi, struct pss *p, const char *frame, size_t len)
{
    struct out *o = malloc(sizeof(*o) + LWS_PRE + len);
    if (o == NULL)
        abort();
    o->next = NULL;
    o->len = len;
    memcpy(o->data + LWS_PRE, frame, len);
    *p->tail = o;
    p->tail = &o->next;
    lws_callback_on_writable(wsi);
}

/* The value of "id":"..." in FRAME, copied into ID (at most 64 characters); false when absent. */
static bool frame_id(const char *frame, char id[65])
{
    const char *s = strstr(frame, "\"id\":\"");
    if (s == NULL)
        return false;
    s += 6;
    size_t n = strcspn(s, "\"");
    if (n == 0 || n > 64 || s[n] != '"')
        return false;
    memcpy(id, s, n);
    id[n] = '\0';
    return true;
}

static void answer(struct lws *wsi, struct pss *p, const char *frame)
{
    char out[256], id[65];
    int n;
    frames_in++;
    if (strstr(frame, "\"type\":\"message\"") != NULL && frame_id(frame, id)) {
        if (p->ticket == 0)
            p->ticket = ++tickets;
        n = snprintf(out, sizeof out, "{\"type\":\"ack\",\"id\":\"%s\",\"message\":%llu,\"ticket\":%llu}", id,
                     ++messages, p->ticket);
    } else if (strstr(frame, "\"type\":\"hello\"") != NULL) {
        unsigned long long c = ++connections;
        n = snprintf(out, sizeof out,
                     "{\"type\":\"welcome\",\"protocol\":\"" PROTOCOL "\",\"ticket\":null,"
                     "\"resume\":\"%016llx%016llx\",\"history\":[]}",
                     c * 0x9e3779b97f4a7c15ULL, c);
    } else {
        n = snprintf(out, sizeof out,
                     "{\"type\":\"error\",\"code\":\"bad_json\",\"message\":\"chat_echo answers hello and "
                     "message frames only.\"}");
    }
    queue_frame(wsi, p, out, (size_t)n);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(p, 0, sizeof(*p));
        p->tail = &p->head;
        break;
    case LWS_CALLBACK_RECEIVE:
        if (p->rx_len + len > RX_MAX)
            p->rx_overflow = true;
        else {
            if (p->rx_len + len + 1 > p->rx_size) {
                size_t size = p->rx_size ? p->rx_size : 256;
                while (size < p->rx_len + len + 1)
                    size *= 2;
                p->rx = realloc(p->rx, size);
                if (p->rx == NULL)
                    abort();
                p->rx_size = size;
            }
            memcpy(p->rx + p->rx_len, in, len);
            p->rx_len += len;
        }
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            if (p->rx != NULL)
                p->rx[p->rx_len] = '\0';
            answer(wsi, p, p->rx_overflow || p->rx == NULL ? "" : p->rx);
            p->rx_len = 0;
            p->rx_overflow = false;
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct out *o = p->head;
        if (o == NULL)
            break;
        if (lws_write(wsi, o->data + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len)
            return -1;
        frames_out++;
        p->head = o->next;
        if (p->head == NULL)
            p->tail = &p->head;
        free(o);
        if (p->head != NULL)
            lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLOSED:
        while (p->head != NULL) {
            struct out *o = p->head;
            p->head = o->next;
            free(o);
        }
        free(p->rx);
        p->rx = NULL;
        p->rx_size = p->rx_len = 0;
        break;
    default:
        break;
    }
    return 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
        return 1; /* a websocket without our subprotocol */
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", http_callback, 0, 0, 0, NULL, 0},
    {PROTOCOL, callback, sizeof(struct pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: chat_echo PORT [ADDRESS]\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = argc == 3 ? argv[2] : "127.0.0.1";
    info.protocols = protocols;
    info.vhost_name = "chat-echo";
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    struct lws_context *ctx = lws_create_context(&info);
    if (ctx == NULL) {
        fprintf(stderr, "chat_echo: cannot listen on %s:%s\n", info.iface, argv[1]);
        return 1;
    }
    fprintf(stderr, "chat_echo: listening on %s:%d\n", info.iface, info.port);
    while (!interrupted)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_context_destroy(ctx);
    fprintf(stderr, "chat_echo: %llu connections said hello, %llu messages, %llu frames in, %llu out\n",
            connections, messages, frames_in, frames_out);
    return 0;
}
