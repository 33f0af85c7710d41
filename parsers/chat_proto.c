/*
 * chat_proto.c — read client frames and write server frames of helpgate.chat.v1
 * (see chat_proto.h).
 *
 * A frame is checked for size, then for UTF-8 with the core's strict
 * validator (hg_utf8_valid, charset.c) before jansson sees it, then decoded
 * with JSON_REJECT_DUPLICATES (so that {"type":"hello","type":"message"}
 * cannot mean one thing here and another to a proxy) and JSON_ALLOW_NUL
 * (so that U+0000 in a field is reported as that field's fault, not as
 * broken JSON). Error sentences quote the client's bytes only through
 * quote(), which keeps at most QUOTE_MAX bytes and shows control characters
 * as '?'.
 */
#include "helpgate/chat_proto.h"

#include "helpgate/alloc.h"
#include "helpgate/charset.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUOTE_MAX 32                    /* bytes of client input an error sentence may quote */
#define QUOTE_SIZE (QUOTE_MAX + 4)      /* a quote, "..." and the NUL */
#define REASON_MAX 64                   /* bytes of jansson's own words (at most a code point of input) */
#define MAX_EPOCH INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ID_RULE "1 to 64 characters, each a letter, digit or one of . _ : -"
_Static_assert(HG_CHAT_MAX_ID == 64, "ID_RULE states HG_CHAT_MAX_ID");

/* ------------------------------------------------------------ UTF-8 and text */

/* Bytes in the valid UTF-8 sequence at P (AVAIL bytes left), or 0 when none starts there. */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
    for (size_t n = 1; n <= 4 && n <= avail; n++)
        if (hg_utf8_valid(p, n))
            return n;
    return 0;
}

/* True for the control characters C0, DEL and C1 as the N bytes at P of a valid sequence. */
static bool is_control(const unsigned char *p, size_t n)
{
    return (n == 1 && (p[0] < 0x20 || p[0] == 0x7F)) || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* S (LEN bytes) without leading and trailing ASCII white space: *S and *LEN narrowed. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

char *hg_chat_utf8_sanitize(const char *s, size_t len)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    if (len > (SIZE_MAX - 1) / 3)
        hg_out_of_memory(SIZE_MAX);
    char *out = hg_xmalloc(3 * len + 1); /* each byte becomes at most the 3 bytes of U+FFFD */
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0 || p[i] == '\0') {
            memcpy(out + o, replacement, 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return out;
}

/*
 * At most MAX bytes of S (LEN bytes), for an error sentence, in OUT (MAX + 4
 * bytes): control characters and bytes of no valid sequence as '?', "..."
 * when cut.
 */
static const char *quote(const char *s, size_t len, size_t max, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_sequence(p + i, len - i);
        if (i + (n > 0 ? n : 1) > max)
            break;
        if (n == 0 || is_control(p + i, n)) {
            out[o++] = '?';
            i += n > 0 ? n : 1;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------ errors */

static int fail(struct hg_chat_error *err, enum hg_chat_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct hg_chat_error *err, enum hg_chat_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

const char *hg_chat_code_name(enum hg_chat_code code)
{
    switch (code) {
    case HG_CHAT_ERR_NONE:
        return "none";
    case HG_CHAT_ERR_BAD_UTF8:
        return "bad_utf8";
    case HG_CHAT_ERR_BAD_JSON:
        return "bad_json";
    case HG_CHAT_ERR_UNKNOWN_TYPE:
        return "unknown_type";
    case HG_CHAT_ERR_MISSING_FIELD:
        return "missing_field";
    case HG_CHAT_ERR_BAD_FIELD:
        return "bad_field";
    case HG_CHAT_ERR_TOO_LARGE:
        return "too_large";
    case HG_CHAT_ERR_NOT_READY:
        return "not_ready";
    case HG_CHAT_ERR_RATE_LIMITED:
        return "rate_limited";
    case HG_CHAT_ERR_RESUME_UNKNOWN:
        return "resume_unknown";
    case HG_CHAT_ERR_INTERNAL:
        return "internal";
    }
    return "internal";
}

const char *hg_chat_code_sentence(enum hg_chat_code code)
{
    switch (code) {
    case HG_CHAT_ERR_NONE:
        return "No error.";
    case HG_CHAT_ERR_BAD_UTF8:
        return "The frame is not valid UTF-8.";
    case HG_CHAT_ERR_BAD_JSON:
        return "The frame is not one JSON object.";
    case HG_CHAT_ERR_UNKNOWN_TYPE:
        return "The frame's type is not hello, message or typing.";
    case HG_CHAT_ERR_MISSING_FIELD:
        return "The frame lacks a field its type requires.";
    case HG_CHAT_ERR_BAD_FIELD:
        return "A field of the frame has the wrong type or form.";
    case HG_CHAT_ERR_TOO_LARGE:
        return "The frame or its text is too large.";
    case HG_CHAT_ERR_NOT_READY:
        return "Not ready: send a hello frame and wait for the welcome before messages or typing.";
    case HG_CHAT_ERR_RATE_LIMITED:
        return "Too many frames in a short time; wait a moment, then send again.";
    case HG_CHAT_ERR_RESUME_UNKNOWN:
        return "The resume token names no chat here (it may have expired); send hello without resume to "
               "start a new chat.";
    case HG_CHAT_ERR_INTERNAL:
        return "The server could not handle this frame; try again in a moment.";
    }
    return "The server could not handle this frame; try again in a moment.";
}

/* ------------------------------------------------------------ reading */

/*
 * The string field KEY of O: 1 with *S_R and *LEN_R when it is there, 0
 * when it is absent (no key, null, or "" when EMPTY_IS_ABSENT), -1 with
 * *ERR when it is no string or holds U+0000.
 */
static int string_field(const json_t *o, const char *key, bool empty_is_absent, const char **s_r,
                        size_t *len_r, struct hg_chat_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"%s\" must be a string.", key);
    *s_r = json_string_value(v);
    *len_r = json_string_length(v);
    if (memchr(*s_r, '\0', *len_r) != NULL)
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"%s\" must not contain U+0000 (\\u0000).", key);
    return *len_r == 0 && empty_is_absent ? 0 : 1;
}

static int missing(struct hg_chat_error *err, const char *type, const char *key, const char *hint)
{
    return fail(err, HG_CHAT_ERR_MISSING_FIELD, "The %s frame has no \"%s\"; %s.", type, key, hint);
}

/* Code points in LEN bytes of valid UTF-8 at S, or SIZE_MAX when one is a control character. */
static size_t printable_length(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < len; count++) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0 || is_control(p + i, n))
            return SIZE_MAX;
        i += n;
    }
    return count;
}

/* One @, local part and domain not empty, no blanks, controls or characters ending a header address. */
static bool email_shaped(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (len > HG_CHAT_MAX_EMAIL || at == NULL || at == s || at == s + len - 1 ||
        memchr(at + 1, '@', (size_t)(s + len - at - 1)) != NULL)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F || (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] < 0xA0) ||
            strchr("<>()[]\\,;:\"", c) != NULL)
            return false;
        bool at_edge = i == 0 || i + 1 == len || s[i - 1] == '@' || s[i + 1] == '@';
        if (c == '.' && (at_edge || s[i + 1] == '.'))
            return false;
    }
    return true;
}

/* Subtags of 1..8 letters and digits joined by '-', the first letters only, at most HG_CHAT_MAX_LANG. */
static bool lang_shaped(const char *s, size_t len)
{
    if (len > HG_CHAT_MAX_LANG || len == 0 || !is_alpha(s[0]))
        return false;
    size_t subtag = 0;
    bool first = true;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-') {
            if (subtag == 0)
                return false;
            subtag = 0;
            first = false;
        } else if (!(first ? is_alpha(s[i]) : is_alnum(s[i])) || ++subtag > 8) {
            return false;
        }
    }
    return subtag > 0;
}

static bool id_shaped(const char *s, size_t len)
{
    if (len == 0 || len > HG_CHAT_MAX_ID)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && (s[i] == '\0' || strchr("._:-", s[i]) == NULL))
            return false;
    return true;
}

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(s[i]))
            return false;
    return true;
}

static int parse_hello(const json_t *o, struct hg_chat_frame *out, struct hg_chat_error *err)
{
    const char *s;
    size_t len;
    int rc = string_field(o, "name", false, &s, &len, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(err, "hello", "name", "give the visitor's name, e.g. \"Ann Example\"");
    trim(&s, &len);
    size_t chars = printable_length(s, len);
    if (chars == SIZE_MAX)
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"name\" must not contain control characters.");
    if (chars == 0)
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"name\" must not be empty or only white space.");
    if (chars > HG_CHAT_MAX_NAME)
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"name\" must be 1 to %d characters, not %zu.",
                    HG_CHAT_MAX_NAME, chars);
    out->name = hg_xstrndup(s, len);

    if ((rc = string_field(o, "email", true, &s, &len, err)) < 0)
        return -1;
    if (rc == 1)
        trim(&s, &len);
    if (rc == 1 && len > 0) { /* a blank email counts as none, as "" does */
        if (!email_shaped(s, len))
            return fail(err, HG_CHAT_ERR_BAD_FIELD,
                        "\"email\" must be an address such as ann@example.com: one @, at most %d bytes, no "
                        "spaces, <> or control characters.",
                        HG_CHAT_MAX_EMAIL);
        out->email = hg_xstrndup(s, len);
    }

    if ((rc = string_field(o, "resume", true, &s, &len, err)) < 0)
        return -1;
    if (rc == 1) {
        if (len != HG_CHAT_TOKEN_HEX || !hg_chat_token_valid(s))
            return fail(err, HG_CHAT_ERR_BAD_FIELD,
                        "\"resume\" must be the %d lower-case hex digits the welcome frame gave.",
                        HG_CHAT_TOKEN_HEX);
        out->resume = hg_xstrndup(s, len);
    }

    if ((rc = string_field(o, "lang", true, &s, &len, err)) < 0)
        return -1;
    if (rc == 1) {
        if (!lang_shaped(s, len))
            return fail(err, HG_CHAT_ERR_BAD_FIELD,
                        "\"lang\" must be a language tag such as \"de\" or \"pt-BR\": at most %d letters, "
                        "digits and '-'.",
                        HG_CHAT_MAX_LANG);
        out->lang = hg_xstrndup(s, len);
    }
    return 0;
}

static int parse_message(const json_t *o, size_t max_message, struct hg_chat_frame *out,
                         struct hg_chat_error *err)
{
    const char *s;
    size_t len;
    int rc = string_field(o, "id", false, &s, &len, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(err, "message", "id", "give each message an id of " ID_RULE);
    if (!id_shaped(s, len))
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"id\" must be " ID_RULE ".");
    memcpy(err->id, s, len + 1); /* later errors name the message */
    out->id = hg_xstrndup(s, len);

    if ((rc = string_field(o, "text", false, &s, &len, err)) < 0)
        return -1;
    if (rc == 0)
        return missing(err, "message", "text", "put the message in \"text\"");
    if (len > max_message)
        return fail(err, HG_CHAT_ERR_TOO_LARGE,
                    "\"text\" is %zu bytes, over the limit of %zu bytes; split the message.", len,
                    max_message);
    if (all_space(s, len))
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"text\" must not be empty or only white space.");
    out->text = hg_xstrndup(s, len);
    return 0;
}

static int parse_typing(const json_t *o, struct hg_chat_frame *out, struct hg_chat_error *err)
{
    const json_t *v = json_object_get(o, "state");
    if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
        return fail(err, HG_CHAT_ERR_BAD_FIELD, "\"state\" must be true or false.");
    out->typing = v == NULL || json_is_null(v) || json_is_true(v);
    return 0;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* jansson's reason, whose "near '...'" part quotes the frame: that part is cut to QUOTE_MAX bytes. */
static int bad_json(struct hg_chat_error *err, const json_error_t *jerr)
{
    char reason[sizeof jerr->text], near_q[QUOTE_SIZE];
    snprintf(reason, sizeof reason, "%s", jerr->text);
    char *near_start = strstr(reason, " near '");
    const char *near_text = "";
    if (near_start != NULL) {
        *near_start = '\0';
        const char *token = near_start + 7;
        size_t n = strlen(token);
        if (n > 0 && token[n - 1] == '\'')
            n--;
        near_text = quote(token, n, QUOTE_MAX, near_q);
    }
    char reason_q[REASON_MAX + 4];
    quote(reason, strlen(reason), REASON_MAX, reason_q);
    return fail(err, HG_CHAT_ERR_BAD_JSON, "The frame is not valid JSON: %s%s%s%s at line %d, column %d.",
                reason_q, near_start != NULL ? " near '" : "", near_text, near_start != NULL ? "'" : "",
                jerr->line, jerr->column);
}

static int parse_object(const json_t *root, size_t max_message, struct hg_chat_frame *out,
                        struct hg_chat_error *err)
{
    const char *type;
    size_t len;
    int rc = string_field(root, "type", false, &type, &len, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return fail(err, HG_CHAT_ERR_MISSING_FIELD,
                    "The frame has no \"type\"; send \"hello\", \"message\" or \"typing\".");
    if (strcmp(type, "hello") == 0) {
        out->kind = HG_CHAT_HELLO;
        return parse_hello(root, out, err);
    }
    if (strcmp(type, "message") == 0) {
        out->kind = HG_CHAT_MESSAGE;
        return parse_message(root, max_message, out, err);
    }
    if (strcmp(type, "typing") == 0) {
        out->kind = HG_CHAT_TYPING;
        return parse_typing(root, out, err);
    }
    char q[QUOTE_SIZE];
    return fail(err, HG_CHAT_ERR_UNKNOWN_TYPE,
                "Unknown frame type \"%s\"; " HG_CHAT_PROTOCOL " knows hello, message and typing.",
                quote(type, len, QUOTE_MAX, q));
}

int hg_chat_parse(const char *data, size_t len, const struct hg_chat_limits *limits,
                  struct hg_chat_frame *out, struct hg_chat_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    size_t max_frame =
        limits != NULL && limits->max_frame > 0 ? limits->max_frame : HG_CHAT_DEFAULT_MAX_FRAME;
    size_t max_message =
        limits != NULL && limits->max_message > 0 ? limits->max_message : HG_CHAT_DEFAULT_MAX_MESSAGE;
    if (len > max_frame)
        return fail(err, HG_CHAT_ERR_TOO_LARGE, "The frame is %zu bytes, over the limit of %zu bytes.", len,
                    max_frame);
    if (len == 0)
        return fail(err, HG_CHAT_ERR_BAD_JSON, "The frame is empty; send one JSON object.");
    if (!hg_utf8_valid(data, len)) {
        const unsigned char *p = (const unsigned char *)data;
        size_t i = 0, n;
        while (i < len && (n = utf8_sequence(p + i, len - i)) > 0)
            i += n;
        return fail(err, HG_CHAT_ERR_BAD_UTF8,
                    "The frame is not valid UTF-8: byte 0x%02X at offset %zu starts no valid sequence.", p[i],
                    i);
    }
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (root == NULL)
        return bad_json(err, &jerr);
    int rc;
    if (!json_is_object(root))
        rc = fail(err, HG_CHAT_ERR_BAD_JSON,
                  "The frame is %s, not a JSON object such as {\"type\":\"hello\"}.", json_kind(root));
    else
        rc = parse_object(root, max_message, out, err);
    json_decref(root);
    if (rc < 0) {
        hg_chat_frame_clear(out);
        return -1;
    }
    memset(err, 0, sizeof *err);
    return 0;
}

void hg_chat_frame_clear(struct hg_chat_frame *f)
{
    free(f->name);
    free(f->email);
    free(f->resume);
    free(f->lang);
    free(f->id);
    free(f->text);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------ writing */

static json_t *checked(json_t *v)
{
    if (v == NULL)
        hg_out_of_memory(0);
    return v;
}

/* S as a JSON string, NULL as "", invalid UTF-8 replaced. */
static json_t *text_value(const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s);
    if (hg_utf8_valid(s, n))
        return checked(json_stringn_nocheck(s, n));
    char *clean = hg_chat_utf8_sanitize(s, n);
    json_t *v = checked(json_string_nocheck(clean));
    free(clean);
    return v;
}

static json_t *number_or_null(int64_t n)
{
    return checked(n > 0 ? json_integer((json_int_t)n) : json_null());
}

static void set(json_t *o, const char *key, json_t *value)
{
    if (json_object_set_new_nocheck(o, key, value) < 0)
        hg_out_of_memory(0);
}

static json_t *frame_object(const char *type)
{
    json_t *o = checked(json_object());
    set(o, "type", checked(json_string_nocheck(type)));
    return o;
}

/* O as compact JSON, O released. */
static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s == NULL)
        hg_out_of_memory(0);
    return s; /* jansson allocates with malloc(): helpgate never calls json_set_alloc_funcs() */
}

const char *hg_chat_from_name(enum hg_chat_from from)
{
    switch (from) {
    case HG_CHAT_FROM_VISITOR:
        return "visitor";
    case HG_CHAT_FROM_AGENT:
        return "agent";
    case HG_CHAT_FROM_SYSTEM:
        return "system";
    }
    return "system";
}

/* EPOCH as "YYYY-MM-DDTHH:MM:SSZ", clamped to years 1970..9999. */
static json_t *time_value(int64_t epoch)
{
    time_t t = (time_t)(epoch < 0 ? 0 : epoch > MAX_EPOCH ? MAX_EPOCH : epoch);
    struct tm tm;
    char text[32] = "1970-01-01T00:00:00Z";
    if (gmtime_r(&t, &tm) != NULL)
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return checked(json_string_nocheck(text));
}

static json_t *message_object(const struct hg_chat_message *m)
{
    json_t *o = frame_object("message");
    set(o, "message", checked(json_integer((json_int_t)m->message)));
    set(o, "from", checked(json_string_nocheck(hg_chat_from_name(m->from))));
    if (m->name != NULL)
        set(o, "name", text_value(m->name));
    set(o, "text", text_value(m->text));
    set(o, "at", time_value(m->at));
    if (m->from == HG_CHAT_FROM_VISITOR && m->id != NULL && m->id[0] != '\0')
        set(o, "id", text_value(m->id));
    return o;
}

char *hg_chat_welcome_frame(int64_t ticket, const char *resume, const struct hg_chat_message *history,
                            size_t n_history)
{
    json_t *o = frame_object("welcome");
    set(o, "protocol", checked(json_string_nocheck(HG_CHAT_PROTOCOL)));
    set(o, "ticket", number_or_null(ticket));
    set(o, "resume", resume != NULL ? text_value(resume) : checked(json_null()));
    json_t *list = checked(json_array());
    for (size_t i = 0; i < n_history; i++)
        if (json_array_append_new(list, message_object(&history[i])) < 0)
            hg_out_of_memory(0);
    set(o, "history", list);
    return dump(o);
}

char *hg_chat_ack_frame(const char *id, int64_t message, int64_t ticket)
{
    json_t *o = frame_object("ack");
    set(o, "id", text_value(id));
    set(o, "message", checked(json_integer((json_int_t)message)));
    set(o, "ticket", number_or_null(ticket));
    return dump(o);
}

char *hg_chat_message_frame(const struct hg_chat_message *m)
{
    return dump(message_object(m));
}

char *hg_chat_typing_frame(enum hg_chat_from from, bool state)
{
    json_t *o = frame_object("typing");
    set(o, "from", checked(json_string_nocheck(hg_chat_from_name(from))));
    set(o, "state", checked(json_boolean(state)));
    return dump(o);
}

char *hg_chat_error_frame(enum hg_chat_code code, const char *message, const char *id)
{
    json_t *o = frame_object("error");
    set(o, "code", checked(json_string_nocheck(hg_chat_code_name(code))));
    set(o, "message", text_value(message != NULL ? message : hg_chat_code_sentence(code)));
    if (id != NULL && id[0] != '\0')
        set(o, "id", text_value(id));
    return dump(o);
}

char *hg_chat_closed_frame(const char *reason)
{
    json_t *o = frame_object("closed");
    set(o, "reason", text_value(reason));
    return dump(o);
}

/* ------------------------------------------------------------ resume tokens */

void hg_chat_token_hex(const unsigned char raw[HG_CHAT_TOKEN_BYTES], char out[HG_CHAT_TOKEN_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < HG_CHAT_TOKEN_BYTES; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 0x0F];
    }
    out[HG_CHAT_TOKEN_HEX] = '\0';
}

bool hg_chat_token_valid(const char *s)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < HG_CHAT_TOKEN_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false; /* also stops at a NUL before the end */
    return s[HG_CHAT_TOKEN_HEX] == '\0';
}
