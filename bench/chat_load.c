/*
 * chat_load.c — load generator for bench/chat: many websocket clients of the
 * helpgate.chat.v1 protocol (contrib/widget/PROTOCOL.md) in one libwebsockets
 * client context, one thread.
 *
 *   chat_load --port P [--host H] [--path /chat] [--origin O]
 *             --connections N --mode hold|closed|open
 *             [--seconds S] [--warmup W] [--rate R] [--inflight K]
 *             [--ramp C] [--ready-file F] [--text-bytes B]
 *
 * Every mode first opens N connections (at most C connecting or waiting for
 * their welcome at a time, default 256), each asking for the subprotocol (and
 * sending Origin: O when given: an http:// origin, as libwebsockets 4.1's
 * client writes "Origin: http://" itself), and says hello on each: {"type":"hello",
 * "name":"Bench Visitor I","email":"visitor-I@bench.example"}. Once every
 * connection is welcomed (or has failed) the clock starts:
 *
 *   hold    writes F (when given) and holds every connection open until F is
 *           removed or S seconds have passed (the driver reads the server's
 *           RSS meanwhile).
 *   closed  each connection keeps K messages (default 1) waiting for their ack:
 *           a new one goes out as soon as an ack comes back (the most
 *           messages/s the server gives this many connections).
 *   open    R messages/s in all (default 1000), on a fixed schedule (message
 *           i is due at i/R s), round-robin over the connections, whatever the
 *           acks do.
 *
 * A message is {"type":"message","id":"mSEQ","text":"..."} (B bytes of plain
 * text, default 120) with a global sequence number as its id; its latency runs
 * from the moment the frame was handed to lws_write() to the moment its ack
 * ({"type":"ack","id":"mSEQ",...}) was read, found by that id. The first W
 * seconds (default 1) are a warm-up: latencies count for the messages sent in
 * the S seconds after it, and msgs/s is the number of acks read in those S
 * seconds divided by S. After the window no new message is sent and the
 * generator waits up to 10 s for the acks still missing; then it closes every
 * connection (close frame, status 1000; above 1000 connections by exiting).
 *
 * It prints one line of KEY=VALUE on stdout:
 *   mode; connections (welcomed); messages (acks read in the window); seconds
 *   (the window); msgs_per_s; p50_ms p99_ms max_ms (send -> ack); errors (the
 *   sum of the next five); conn_errors (connect or upgrade failed);
 *   error_frames (error frames read); closed_early (the server closed a
 *   connection before the end); unacked (messages of the window never
 *   answered); dropped (open loop: a connection already had 64 messages
 *   queued in the client); sent acked (all messages, warm-up and drain
 *   included); setup_s (first connect to last welcome); hello_p50_ms
 *   hello_p99_ms hello_max_ms (connect -> welcome); lag_p99_ms lag_max_ms
 *   (open loop: how late the client wrote a message against its schedule);
 *   client_cpu_s (this process)
 * and the first error it saw on stderr. Exits 0 when it ran (whatever the
 * errors), 1 when it could not run, 2 on bad usage.
 */
#include <libwebsockets.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL "helpgate.chat.v1"
#define RX_KEEP 1024     /* bytes of a server frame kept: its type and id come first */
#define QUEUE_MAX 64     /* messages waiting for a writable callback, per connection */
#define DRAIN_SECONDS 10 /* after the window, for the acks still missing */
#define CLOSE_SECONDS 5  /* for the close handshakes */
/* Above this many connections they are not closed one by one (close frame, wait for the
   server's) but all at once by the exit: lws 4.1 keeps its timeouts in one sorted list,
   so that thousands of closes cost seconds of list walks here. */
#define CLOSE_HANDSHAKES_MAX 1000
/* The pump (connects, the open-loop schedule, phases) runs from a timerfd in the lws
   loop: lws 4.1 turns a timer due in less than a millisecond into poll(0) calls, i.e.
   it would spin for the rest of every 1 ms tick of an lws_sul. */
#define TICK_SETUP_US 1000
#define TICK_OPEN_US 1000
#define TICK_OTHER_US 5000
#define TICK_HOLD_US 20000 /* every poll() walks all N sockets */

enum mode { MODE_HOLD, MODE_CLOSED, MODE_OPEN };
enum phase { PH_SETUP, PH_HOLD, PH_RUN, PH_DRAIN, PH_CLOSE, PH_DONE };
enum cstate { C_IDLE, C_CONNECTING, C_HELLO, C_READY, C_CLOSED, C_FAILED };

struct conn {
    struct lws *wsi;
    unsigned index;
    enum cstate state;
    bool hello_written, closing;
    double t_connect;
    uint32_t queue[QUEUE_MAX]; /* sequence numbers waiting to be written */
    unsigned q_head, q_len;
    size_t rx_len;
    char rx[RX_KEEP + 1];
};

struct msg {
    double scheduled, sent, acked; /* acked < 0: answered with an error frame */
};

struct vec {
    double *v;
    size_t n, cap;
};

static struct {
    /* options */
    const char *host, *path, *origin, *ready_file;
    int port;
    unsigned connections, ramp, inflight, text_bytes;
    enum mode mode;
    double seconds, warmup, rate;
    /* state */
    struct lws_context *context;
    int timer_fd;
    long tick_us;
    struct conn *conns;
    enum phase phase;
    unsigned next_to_connect, connecting, open, welcomed, finished_setup;
    double t_first_connect, t_setup_done, t_close, t0, t_window, t_end, deadline, next_file_check;
    struct msg *msgs;
    size_t n_msgs, cap_msgs;
    uint64_t scheduled_open; /* open loop: messages scheduled so far */
    unsigned rr;             /* open loop: the next connection */
    uint64_t acked_total, acked_in_window;
    size_t answered; /* messages acked, refused or dropped */
    unsigned conn_errors, error_frames, closed_early, dropped;
    struct vec hello_ms, lag_ms;
    char first_error[300];
    char *text; /* the message text, JSON-safe */
} g;

static volatile sig_atomic_t interrupted;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (q == NULL) {
        fprintf(stderr, "chat_load: out of memory (%zu bytes)\n", size);
        abort();
    }
    return q;
}

static void vec_push(struct vec *v, double x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void vec_sort(struct vec *v)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof(*v->v), cmp_double);
}

/* The value at or above fraction P of the sorted vector (nearest rank); 0 when empty. */
static double pct(const struct vec *v, double p)
{
    if (v->n == 0)
        return 0;
    size_t rank = (size_t)ceil(p * (double)v->n);
    if (rank < 1)
        rank = 1;
    if (rank > v->n)
        rank = v->n;
    return v->v[rank - 1];
}

static void note_error(const char *what, const char *detail, size_t len)
{
    if (g.first_error[0] != '\0')
        return;
    snprintf(g.first_error, sizeof g.first_error, "%s: %.*s", what, (int)(len > 200 ? 200 : len),
             detail != NULL ? detail : "");
}

/* ------------------------------------------------------------------------ */
/* Messages.                                                               */

static uint32_t new_msg(double scheduled)
{
    if (g.n_msgs == g.cap_msgs) {
        g.cap_msgs = g.cap_msgs ? g.cap_msgs * 2 : 65536;
        g.msgs = xrealloc(g.msgs, g.cap_msgs * sizeof(*g.msgs));
    }
    g.msgs[g.n_msgs] = (struct msg){scheduled, 0, 0};
    return (uint32_t)g.n_msgs++;
}

/* Queues message SEQ on K; false when K's queue is full. */
static bool enqueue(struct conn *k, uint32_t seq)
{
    if (k->q_len == QUEUE_MAX)
        return false;
    k->queue[(k->q_head + k->q_len) % QUEUE_MAX] = seq;
    k->q_len++;
    lws_callback_on_writable(k->wsi);
    return true;
}

/* Message SEQ was refused or dropped: no ack will come. */
static void mark_failed(uint32_t seq)
{
    if (g.msgs[seq].acked != 0)
        return;
    g.msgs[seq].acked = -1;
    g.answered++;
}

static void send_new(struct conn *k, double when)
{
    uint32_t seq = new_msg(when);
    if (!enqueue(k, seq)) {
        mark_failed(seq);
        g.dropped++;
    }
}

static bool in_window(double t)
{
    return t >= g.t_window && t < g.t_end;
}

static void got_ack(uint32_t seq, double now)
{
    struct msg *m = &g.msgs[seq];
    if (m->sent == 0 || m->acked != 0)
        return; /* not ours, or twice */
    m->acked = now;
    g.acked_total++;
    g.answered++;
    if (g.phase >= PH_RUN && in_window(now))
        g.acked_in_window++;
}

/* "mSEQ" after "id":" in FRAME, or -1. */
static long frame_seq(const char *frame)
{
    const char *p = strstr(frame, "\"id\":\"m");
    if (p == NULL)
        return -1;
    char *end;
    unsigned long v = strtoul(p + 7, &end, 10);
    if (end == p + 7 || *end != '"' || v >= g.n_msgs)
        return -1;
    return (long)v;
}

/* ------------------------------------------------------------------------ */
/* Frames from the server.                                                 */

static void handle_frame(struct conn *k, const char *frame, size_t len)
{
    double now = now_s();
    if (strncmp(frame, "{\"type\":\"ack\"", 13) == 0) {
        long seq = frame_seq(frame);
        if (seq >= 0)
            got_ack((uint32_t)seq, now);
        if (g.mode == MODE_CLOSED && g.phase == PH_RUN && now < g.t_end)
            send_new(k, now);
    } else if (strncmp(frame, "{\"type\":\"welcome\"", 17) == 0) {
        if (k->state == C_HELLO) {
            k->state = C_READY;
            g.connecting--;
            g.welcomed++;
            g.finished_setup++;
            vec_push(&g.hello_ms, (now - k->t_connect) * 1000);
        }
    } else if (strncmp(frame, "{\"type\":\"error\"", 15) == 0) {
        g.error_frames++;
        note_error("error frame", frame, len);
        long seq = frame_seq(frame);
        if (seq >= 0)
            mark_failed((uint32_t)seq);
        if (k->state == C_HELLO) { /* hello refused: this connection is out */
            k->state = C_FAILED;
            g.connecting--;
            g.finished_setup++;
            k->closing = true;
            lws_callback_on_writable(k->wsi);
        } else if (g.mode == MODE_CLOSED && g.phase == PH_RUN && now < g.t_end && seq >= 0) {
            send_new(k, now); /* keep the loop going */
        }
    }
    /* message, typing, closed and later types: not measured */
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                */

static int write_text(struct conn *k, const char *text, size_t len)
{
    unsigned char buf[LWS_PRE + 16384];
    if (len > sizeof buf - LWS_PRE)
        return -1;
    memcpy(buf + LWS_PRE, text, len);
    return lws_write(k->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

static int writable(struct conn *k)
{
    char frame[16384];
    if (k->closing) {
        lws_close_reason(k->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
        return -1;
    }
    if (!k->hello_written) {
        int n = snprintf(
            frame, sizeof frame,
            "{\"type\":\"hello\",\"name\":\"Bench Visitor %u\",\"email\":\"visitor-%u@bench.example\"}",
            k->index, k->index);
        k->hello_written = true;
        if (write_text(k, frame, (size_t)n) < 0)
            return -1;
    } else if (k->q_len > 0) {
        uint32_t seq = k->queue[k->q_head];
        k->q_head = (k->q_head + 1) % QUEUE_MAX;
        k->q_len--;
        int n = snprintf(frame, sizeof frame, "{\"type\":\"message\",\"id\":\"m%u\",\"text\":\"%s\"}", seq,
                         g.text);
        if (write_text(k, frame, (size_t)n) < 0)
            return -1;
        double now = now_s();
        g.msgs[seq].sent = now;
        if (g.mode == MODE_OPEN && in_window(g.msgs[seq].scheduled))
            vec_push(&g.lag_ms, (now - g.msgs[seq].scheduled) * 1000);
    }
    if (k->q_len > 0)
        lws_callback_on_writable(k->wsi);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The client callback.                                                    */

static void conn_gone(struct conn *k, bool failed_to_connect, const char *why, size_t why_len)
{
    if (k->state == C_CONNECTING || k->state == C_HELLO) {
        g.connecting--;
        g.finished_setup++;
        if (failed_to_connect) {
            g.conn_errors++;
            note_error("connect", why, why_len);
        } else {
            g.closed_early++;
            note_error("closed before the welcome", why, why_len);
        }
    } else if (k->state == C_READY && g.phase < PH_CLOSE) {
        g.closed_early++;
        note_error("closed by the server", why, why_len);
    }
    k->state = failed_to_connect ? C_FAILED : C_CLOSED;
    k->wsi = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct conn *k = lws_get_opaque_user_data(wsi);
    if (k == NULL)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        conn_gone(k, true, in, in != NULL ? strlen(in) : 0);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        g.open++;
        k->state = C_HELLO;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        size_t room = RX_KEEP - k->rx_len;
        size_t take = len < room ? len : room;
        memcpy(k->rx + k->rx_len, in, take);
        k->rx_len += take;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            k->rx[k->rx_len] = '\0';
            handle_frame(k, k->rx, k->rx_len);
            k->rx_len = 0;
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return writable(k);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (g.phase < PH_CLOSE && len >= 2) {
            const unsigned char *b = in;
            char why[160];
            snprintf(why, sizeof why, "close status %u %.*s", (unsigned)(b[0] << 8 | b[1]),
                     (int)(len - 2 > 120 ? 120 : len - 2), (const char *)in + 2);
            note_error("the server closed", why, strlen(why));
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        g.open--;
        conn_gone(k, false, "connection closed", 17);
        break;
    default:
        break;
    }
    return 0;
}

static int pump_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
    {PROTOCOL, callback, 0, 4096, 0, NULL, 0},
    {"pump", pump_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------------------ */
/* The pump: connections, the schedule, the phases.                        */

static void start_connect(struct conn *k)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g.context;
    ci.address = g.host;
    ci.port = g.port;
    ci.path = g.path;
    ci.host = g.host;
    ci.origin = g.origin;
    ci.protocol = PROTOCOL;
    ci.local_protocol_name = PROTOCOL;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = k;
    ci.pwsi = &k->wsi;
    k->state = C_CONNECTING;
    k->t_connect = now_s();
    if (g.t_first_connect == 0)
        g.t_first_connect = k->t_connect;
    g.connecting++;
    if (lws_client_connect_via_info(&ci) == NULL && k->state == C_CONNECTING) {
        /* failed at once; the error callback may have run already */
        k->state = C_FAILED;
        g.connecting--;
        g.finished_setup++;
        g.conn_errors++;
        note_error("connect", "lws_client_connect_via_info failed", 34);
    }
}

static void begin_run(double now)
{
    g.t_setup_done = now;
    fprintf(stderr, "chat_load: %u of %u connections welcomed in %.2f s\n", g.welcomed, g.connections,
            now - g.t_first_connect);
    if (g.mode == MODE_HOLD) {
        g.phase = PH_HOLD;
        g.deadline = now + g.seconds;
        if (g.ready_file != NULL) {
            FILE *f = fopen(g.ready_file, "w");
            if (f != NULL) {
                fprintf(f, "welcomed=%u\n", g.welcomed);
                fclose(f);
            }
        }
        return;
    }
    g.phase = PH_RUN;
    g.t0 = now;
    g.t_window = now + g.warmup;
    g.t_end = g.t_window + g.seconds;
    if (g.mode == MODE_CLOSED)
        for (unsigned i = 0; i < g.connections; i++)
            if (g.conns[i].state == C_READY)
                for (unsigned j = 0; j < g.inflight; j++)
                    send_new(&g.conns[i], now);
}

static bool all_answered(void)
{
    return g.answered == g.n_msgs;
}

static void begin_close(double now)
{
    if (g.connections > CLOSE_HANDSHAKES_MAX) {
        g.phase = PH_DONE; /* the sockets close when the process exits */
        return;
    }
    g.phase = PH_CLOSE;
    g.deadline = now + CLOSE_SECONDS;
    g.t_close = now;
    for (unsigned i = 0; i < g.connections; i++) {
        struct conn *k = &g.conns[i];
        if (k->wsi != NULL && (k->state == C_READY || k->state == C_HELLO)) {
            k->closing = true;
            lws_callback_on_writable(k->wsi);
        }
    }
}

static void open_loop_schedule(double now)
{
    if (now >= g.t_end)
        return;
    uint64_t due = (uint64_t)((now - g.t0) * g.rate) + 1;
    while (g.scheduled_open < due) {
        double when = g.t0 + (double)g.scheduled_open / g.rate;
        g.scheduled_open++;
        struct conn *k = NULL;
        for (unsigned tries = 0; tries < g.connections; tries++) {
            struct conn *c = &g.conns[g.rr++ % g.connections];
            if (c->state == C_READY) {
                k = c;
                break;
            }
        }
        if (k == NULL)
            return;
        send_new(k, when);
    }
}

static void set_tick(long us)
{
    if (us == g.tick_us)
        return;
    g.tick_us = us;
    struct itimerspec its = {{us / 1000000, (us % 1000000) * 1000}, {us / 1000000, (us % 1000000) * 1000}};
    timerfd_settime(g.timer_fd, 0, &its, NULL);
}

static void pump(void)
{
    double now = now_s();
    switch (g.phase) {
    case PH_SETUP:
        while (g.connecting < g.ramp && g.next_to_connect < g.connections)
            start_connect(&g.conns[g.next_to_connect++]);
        if (g.finished_setup == g.connections)
            begin_run(now);
        break;
    case PH_HOLD:
        if (now >= g.deadline)
            begin_close(now);
        else if (g.ready_file != NULL && now >= g.next_file_check) {
            struct stat st;
            g.next_file_check = now + 0.05;
            if (stat(g.ready_file, &st) < 0 && errno == ENOENT)
                begin_close(now);
        }
        break;
    case PH_RUN:
        if (g.mode == MODE_OPEN)
            open_loop_schedule(now);
        if (now >= g.t_end) {
            g.phase = PH_DRAIN;
            g.deadline = now + DRAIN_SECONDS;
        }
        break;
    case PH_DRAIN:
        if (now >= g.deadline || all_answered())
            begin_close(now);
        break;
    case PH_CLOSE:
        if (g.open == 0 || now >= g.deadline) {
            g.phase = PH_DONE;
            fprintf(stderr, "chat_load: closed in %.2f s (%u still open)\n", now - g.t_close, g.open);
        }
        break;
    case PH_DONE:
        break;
    }
    if (g.phase == PH_DONE || interrupted) {
        if (!interrupted)
            interrupted = 1;
        lws_cancel_service(g.context);
        return;
    }
    set_tick(g.phase == PH_SETUP                        ? TICK_SETUP_US
             : g.phase == PH_HOLD                       ? TICK_HOLD_US
             : g.phase == PH_RUN && g.mode == MODE_OPEN ? TICK_OPEN_US
                                                        : TICK_OTHER_US);
}

static int pump_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)wsi;
    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE) {
        uint64_t expirations;
        if (read(g.timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
            return -1;
        pump();
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Report.                                                                 */

static void report(void)
{
    struct vec lat = {0};
    unsigned unacked = 0;
    uint64_t sent = 0;
    double max_ms = 0;
    for (size_t i = 0; i < g.n_msgs; i++) {
        struct msg *m = &g.msgs[i];
        if (m->sent > 0)
            sent++;
        if (g.mode == MODE_HOLD || !in_window(m->sent))
            continue;
        if (m->acked > 0) {
            double ms = (m->acked - m->sent) * 1000;
            vec_push(&lat, ms);
            if (ms > max_ms)
                max_ms = ms;
        } else if (m->acked == 0) {
            unacked++;
        }
    }
    vec_sort(&lat);
    vec_sort(&g.hello_ms);
    vec_sort(&g.lag_ms);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    double secs = g.mode == MODE_HOLD ? 0 : g.seconds;
    unsigned errors = g.conn_errors + g.error_frames + g.closed_early + unacked + g.dropped;
    printf("mode=%s connections=%u messages=%llu seconds=%.3f msgs_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f errors=%u conn_errors=%u error_frames=%u closed_early=%u unacked=%u dropped=%u "
           "sent=%llu acked=%llu setup_s=%.3f hello_p50_ms=%.3f hello_p99_ms=%.3f hello_max_ms=%.3f "
           "lag_p99_ms=%.3f lag_max_ms=%.3f client_cpu_s=%.3f\n",
           g.mode == MODE_HOLD     ? "hold"
           : g.mode == MODE_CLOSED ? "closed"
                                   : "open",
           g.welcomed, (unsigned long long)g.acked_in_window, secs,
           secs > 0 ? (double)g.acked_in_window / secs : 0, pct(&lat, 0.50), pct(&lat, 0.99), max_ms, errors,
           g.conn_errors, g.error_frames, g.closed_early, unacked, g.dropped, (unsigned long long)sent,
           (unsigned long long)g.acked_total, g.t_setup_done > 0 ? g.t_setup_done - g.t_first_connect : 0,
           pct(&g.hello_ms, 0.50), pct(&g.hello_ms, 0.99), g.hello_ms.n ? g.hello_ms.v[g.hello_ms.n - 1] : 0,
           pct(&g.lag_ms, 0.99), g.lag_ms.n ? g.lag_ms.v[g.lag_ms.n - 1] : 0, cpu);
    fflush(stdout);
    if (g.first_error[0] != '\0')
        fprintf(stderr, "chat_load: first error: %s\n", g.first_error);
    free(lat.v);
}

/* ------------------------------------------------------------------------ */
/* Options and main.                                                       */

static void usage(void)
{
    fprintf(stderr, "usage: chat_load --port P [--host H] [--path /chat] [--origin O] --connections N\n"
                    "                 --mode hold|closed|open [--seconds S] [--warmup W] [--rate R]\n"
                    "                 [--inflight K] [--ramp C] [--ready-file F] [--text-bytes B]\n");
}

static bool number_arg(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv)
{
    g.host = "127.0.0.1";
    g.path = "/chat";
    g.ramp = 256;
    g.inflight = 1;
    g.seconds = 10;
    g.warmup = 1;
    g.rate = 1000;
    g.text_bytes = 120;
    g.mode = MODE_CLOSED;
    bool have_mode = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (v == NULL) {
            usage();
            return -1;
        }
        i++;
        if (strcmp(a, "--host") == 0)
            g.host = v;
        else if (strcmp(a, "--path") == 0)
            g.path = v;
        else if (strcmp(a, "--origin") == 0) {
            /* lws 4.1 writes "Origin: http://" and the host it is given */
            if (strncmp(v, "http://", 7) == 0)
                v += 7;
            if (strstr(v, "://") != NULL) {
                fprintf(stderr, "chat_load: libwebsockets 4.1 sends only http:// origins, not %s\n", v);
                return -1;
            }
            g.origin = v[0] != '\0' ? v : NULL;
        } else if (strcmp(a, "--ready-file") == 0)
            g.ready_file = v;
        else if (strcmp(a, "--mode") == 0) {
            have_mode = true;
            if (strcmp(v, "hold") == 0)
                g.mode = MODE_HOLD;
            else if (strcmp(v, "closed") == 0)
                g.mode = MODE_CLOSED;
            else if (strcmp(v, "open") == 0)
                g.mode = MODE_OPEN;
            else
                goto bad;
        } else if (strcmp(a, "--port") == 0 && number_arg(v, 1, 65535, &d))
            g.port = (int)d;
        else if (strcmp(a, "--connections") == 0 && number_arg(v, 1, 1000000, &d))
            g.connections = (unsigned)d;
        else if (strcmp(a, "--ramp") == 0 && number_arg(v, 1, 100000, &d))
            g.ramp = (unsigned)d;
        else if (strcmp(a, "--inflight") == 0 && number_arg(v, 1, QUEUE_MAX, &d))
            g.inflight = (unsigned)d;
        else if (strcmp(a, "--text-bytes") == 0 && number_arg(v, 1, 8000, &d))
            g.text_bytes = (unsigned)d;
        else if (strcmp(a, "--seconds") == 0 && number_arg(v, 0.1, 86400, &d))
            g.seconds = d;
        else if (strcmp(a, "--warmup") == 0 && number_arg(v, 0, 3600, &d))
            g.warmup = d;
        else if (strcmp(a, "--rate") == 0 && number_arg(v, 0.1, 10000000, &d))
            g.rate = d;
        else
            goto bad;
        continue;
    bad:
        fprintf(stderr, "chat_load: bad option %s %s\n", a, v);
        usage();
        return -1;
    }
    if (g.port == 0 || g.connections == 0 || !have_mode) {
        usage();
        return -1;
    }
    return 0;
}

/* A text of about B bytes, plain ASCII, nothing to escape. */
static char *make_text(unsigned bytes)
{
    static const char words[] = "Hello, my printer shows error E42 again since this morning and the "
                                "invoice from last week is missing too; could someone have a look? ";
    char *t = xrealloc(NULL, bytes + 1);
    for (unsigned i = 0; i < bytes; i++)
        t[i] = words[i % (sizeof words - 1)];
    t[bytes] = '\0';
    if (bytes > 1 && t[bytes - 1] == ' ')
        t[bytes - 1] = '.';
    return t;
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 2;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0)
        return 2;
    g.text = make_text(g.text_bytes);
    g.conns = calloc(g.connections, sizeof(*g.conns));
    if (g.conns == NULL) {
        fprintf(stderr, "chat_load: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < g.connections; i++)
        g.conns[i].index = i + 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = 0;
    info.vhost_name = "chat_load";
    g.context = lws_create_context(&info);
    if (g.context == NULL) {
        fprintf(stderr, "chat_load: lws_create_context failed\n");
        return 1;
    }
    g.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    lws_sock_file_fd_type fd = {.filefd = g.timer_fd};
    if (g.timer_fd < 0 || lws_adopt_descriptor_vhost(lws_get_vhost_by_name(g.context, "chat_load"),
                                                     LWS_ADOPT_RAW_FILE_DESC, fd, "pump", NULL) == NULL) {
        fprintf(stderr, "chat_load: cannot set up the timer (timerfd, lws_adopt_descriptor_vhost)\n");
        return 1;
    }
    set_tick(TICK_SETUP_US);
    while (!interrupted)
        if (lws_service(g.context, 0) < 0)
            break;
    int rc = 0;
    if (interrupted == 2) {
        fprintf(stderr, "chat_load: interrupted\n");
        rc = 1;
    } else {
        report();
        if (g.connections > CLOSE_HANDSHAKES_MAX)
            _exit(0); /* the kernel closes the sockets (see CLOSE_HANDSHAKES_MAX) */
    }
    lws_context_destroy(g.context);
    free(g.conns);
    free(g.msgs);
    free(g.hello_ms.v);
    free(g.lag_ms.v);
    free(g.text);
    return rc;
}
