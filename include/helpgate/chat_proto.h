/*
 * chat_proto.h — the frames of the chat websocket protocol "helpgate.chat.v1".
 *
 * The pure core of the chat: reading what a visitor's browser sends and
 * writing what the server sends back. No sockets, no clock, no database; the
 * daemon owns the connection, decides what a frame means for the ticket and
 * calls these functions. contrib/widget/PROTOCOL.md documents the protocol
 * for integrators; this header is the C side of it.
 *
 * Reading: hg_chat_parse() takes one websocket text frame and fills a
 * struct hg_chat_frame. It refuses, in this order, a frame over max_frame
 * (too_large), bytes that are not strict UTF-8 (bad_utf8: no overlong forms,
 * no surrogates, nothing above U+10FFFF), text that is not one JSON object
 * (bad_json: trailing data and duplicate keys included), and then checks
 * "type" and the fields of that type. Fields it does not know are ignored,
 * whatever their value, so later clients can add some. A field that is
 * null counts as absent; so does an empty optional string field. A string
 * field holding U+0000 is bad_field.
 *
 * Writing: the hg_chat_*_frame() builders return compact JSON text, one
 * object with "type" first. They never fail on their inputs: strings that
 * come from mail or the database may be invalid UTF-8, and any such bytes
 * are written as U+FFFD (hg_chat_utf8_sanitize()).
 *
 * Ownership: hg_chat_parse() fills *OUT with strings the caller releases
 * with hg_chat_frame_clear(); on error *OUT holds nothing to release. Every
 * char * a builder returns is the caller's to free(). Inputs are only read.
 * Errors: 0/-1, the reason in a struct hg_chat_error the caller provides
 * (fixed buffers, no allocation). Its sentence is for the visitor: it quotes
 * at most a few dozen bytes of the frame, with control characters shown as
 * '?'. Allocation failure aborts (alloc.h). Pure and thread-safe.
 */
#ifndef HELPGATE_CHAT_PROTO_H
#define HELPGATE_CHAT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_CHAT_PROTOCOL "helpgate.chat.v1" /* also the websocket subprotocol name */

#define HG_CHAT_DEFAULT_MAX_FRAME 16384  /* as [chat] max_frame defaults */
#define HG_CHAT_DEFAULT_MAX_MESSAGE 8192 /* as [chat] max_message defaults */
#define HG_CHAT_MAX_NAME 100             /* characters (code points), after trimming */
#define HG_CHAT_MAX_EMAIL 254            /* bytes, after trimming */
#define HG_CHAT_MAX_LANG 35
#define HG_CHAT_MAX_ID 64
#define HG_CHAT_TOKEN_BYTES 16 /* a resume token is 128 random bits ... */
#define HG_CHAT_TOKEN_HEX 32   /* ... written as 32 lower-case hex digits */

/* Limits for hg_chat_parse(); 0 means the default. NULL limits: all defaults. */
struct hg_chat_limits {
    size_t max_frame;   /* bytes of the whole frame */
    size_t max_message; /* bytes of a message's "text", after JSON decoding */
};

enum hg_chat_kind {
    HG_CHAT_NONE = 0, /* after a failed parse */
    HG_CHAT_HELLO,    /* name, and email, resume, lang when given */
    HG_CHAT_MESSAGE,  /* id, text */
    HG_CHAT_TYPING,   /* typing */
};

/* One client frame. Strings are valid UTF-8 without NUL; NULL when the frame does not carry them. */
struct hg_chat_frame {
    enum hg_chat_kind kind;
    char *name;   /* hello: trimmed, 1..HG_CHAT_MAX_NAME characters, no control characters */
    char *email;  /* hello: trimmed addr-spec shape, or NULL */
    char *resume; /* hello: HG_CHAT_TOKEN_HEX lower-case hex digits, or NULL */
    char *lang;   /* hello: a language tag such as "de" or "pt-BR", as sent, or NULL */
    char *id;     /* message: the client's id, 1..HG_CHAT_MAX_ID of [A-Za-z0-9._:-] */
    char *text;   /* message: as sent (not trimmed), not blank, at most max_message bytes */
    bool typing;  /* typing: the "state" sent, true when absent */
};

enum hg_chat_code {
    HG_CHAT_ERR_NONE = 0,       /* no error: a parse succeeded */
    HG_CHAT_ERR_BAD_UTF8,       /* the frame is not valid UTF-8 */
    HG_CHAT_ERR_BAD_JSON,       /* not JSON, or not one object */
    HG_CHAT_ERR_UNKNOWN_TYPE,   /* "type" names no frame of this protocol */
    HG_CHAT_ERR_MISSING_FIELD,  /* a required field is absent (or null) */
    HG_CHAT_ERR_BAD_FIELD,      /* a field has the wrong type or shape */
    HG_CHAT_ERR_TOO_LARGE,      /* frame over max_frame, or text over max_message */
    HG_CHAT_ERR_NOT_READY,      /* (daemon) message or typing before hello */
    HG_CHAT_ERR_RATE_LIMITED,   /* (daemon) frames faster than the token bucket allows */
    HG_CHAT_ERR_RESUME_UNKNOWN, /* (daemon) hello's resume token names no chat */
    HG_CHAT_ERR_INTERNAL,       /* (daemon) the server failed; the client may retry */
};

#define HG_CHAT_ERROR_MESSAGE_SIZE 256

struct hg_chat_error {
    enum hg_chat_code code;
    char message[HG_CHAT_ERROR_MESSAGE_SIZE]; /* one sentence for humans, UTF-8, no control characters */
    char id[HG_CHAT_MAX_ID + 1];              /* the message's id when the frame had a valid one, else "" */
};

/*
 * Reads LEN bytes of DATA (one websocket text frame; no NUL needed) under
 * LIMITS (NULL: defaults) into *OUT, which is overwritten. Returns 0, or -1
 * with *ERR set (and *OUT empty). *ERR is cleared on success.
 */
int hg_chat_parse(const char *data, size_t len, const struct hg_chat_limits *limits,
                  struct hg_chat_frame *out, struct hg_chat_error *err);

/* Frees the strings of *F and empties it; safe on an empty or already cleared frame. */
void hg_chat_frame_clear(struct hg_chat_frame *f);

/* "bad_utf8", "bad_json", ...: the "code" of error frames; "none" for HG_CHAT_ERR_NONE. */
const char *hg_chat_code_name(enum hg_chat_code code);

/* A default sentence for CODE, for the errors the daemon decides (not_ready, rate_limited, ...). */
const char *hg_chat_code_sentence(enum hg_chat_code code);

/* ------------------------------------------------------------ server frames */

enum hg_chat_from {
    HG_CHAT_FROM_VISITOR,
    HG_CHAT_FROM_AGENT,
    HG_CHAT_FROM_SYSTEM,
};

/* A message for hg_chat_message_frame() and the history of hg_chat_welcome_frame(); all borrowed. */
struct hg_chat_message {
    int64_t message;        /* the server's message number */
    enum hg_chat_from from; /* who wrote it */
    const char *name;       /* the writer's display name, or NULL (then no "name") */
    const char *text;       /* NULL is written as "" */
    int64_t at;             /* when, in seconds since 1970 UTC; written as "2026-11-23T10:00:00Z" */
    const char *id;         /* the client's id of a visitor's message, or NULL; written only for visitors */
};

/*
 * The builders. Each returns a new NUL-terminated compact JSON object that
 * the caller frees with free(). Ticket numbers <= 0 are written as null; a
 * NULL string where the frame needs one is written as "" (as null for the
 * resume token). Invalid UTF-8 in any string becomes U+FFFD.
 */

/* {"type":"welcome","protocol":"helpgate.chat.v1","ticket":N|null,"resume":"...","history":[...]} */
char *hg_chat_welcome_frame(int64_t ticket, const char *resume, const struct hg_chat_message *history,
                            size_t n_history);
/* {"type":"ack","id":"c-17","message":987,"ticket":1234} */
char *hg_chat_ack_frame(const char *id, int64_t message, int64_t ticket);
/* {"type":"message","message":988,"from":"agent","name":"Bob","text":"...","at":"..."} */
char *hg_chat_message_frame(const struct hg_chat_message *m);
/* {"type":"typing","from":"agent","state":true} */
char *hg_chat_typing_frame(enum hg_chat_from from, bool state);
/*
 * {"type":"error","code":"bad_json","message":"...","id":"c-17"}: MESSAGE
 * NULL gives hg_chat_code_sentence(CODE); ID NULL or "" leaves "id" out.
 * For a parse error: hg_chat_error_frame(err.code, err.message, err.id).
 */
char *hg_chat_error_frame(enum hg_chat_code code, const char *message, const char *id);
/* {"type":"closed","reason":"..."} */
char *hg_chat_closed_frame(const char *reason);

/* "visitor", "agent", "system". */
const char *hg_chat_from_name(enum hg_chat_from from);

/* ------------------------------------------------------------ helpers */

/*
 * LEN bytes of S as valid UTF-8 in a new NUL-terminated string (free() it):
 * each byte that starts no valid sequence, and each NUL, becomes U+FFFD.
 * Valid UTF-8 without NUL comes back unchanged.
 */
char *hg_chat_utf8_sanitize(const char *s, size_t len);

/* RAW as 32 lower-case hex digits and a NUL in OUT. */
void hg_chat_token_hex(const unsigned char raw[HG_CHAT_TOKEN_BYTES], char out[HG_CHAT_TOKEN_HEX + 1]);

/* True when S is exactly HG_CHAT_TOKEN_HEX lower-case hex digits. */
bool hg_chat_token_valid(const char *s);

#endif
