/*
 * fuzz_chat_proto.c — libFuzzer target for the chat protocol frames
 * (parsers/chat_proto.c).
 *
 * Input: the frame, all of it, so that the unit tests' frames
 * (tests/data/chat/) serve as seeds as they are. The limits follow the
 * length: max_frame is the default, 48, 256 or 1024 bytes as size % 4 is
 * 0..3, max_message the default, 1, 16 or 64 bytes as size / 4 % 4 is.
 *
 * What must hold (anything else aborts):
 *  - a parse succeeds or fails, never both: on success *err is clear, the
 *    frame fits max_frame, is valid UTF-8, and its fields keep the header's
 *    promises (trimmed name of 1..100 characters without controls, a
 *    one-@ email, a valid token, a short language tag, an id of the allowed
 *    characters, a non-blank text within max_message); on failure the frame
 *    is empty, the code is one a parse gives, bad_utf8 exactly when the
 *    bytes are invalid UTF-8, and the sentence is non-empty valid UTF-8
 *    without control characters;
 *  - the error frame for a failure, and every server frame built from a
 *    parsed frame, is a JSON object that jansson reads back with the same
 *    strings;
 *  - a parsed frame written again as a client frame by jansson parses to
 *    the same fields (when it fits the limit);
 *  - hg_chat_utf8_sanitize() of the input is valid UTF-8 without NUL, and
 *    the input itself when that was valid UTF-8 without NUL.
 * Seeds: tests/fuzz/seeds/chat_proto/ and the .frame files of tests/data/chat/.
 */
#include "helpgate/chat_proto.h"

#include "helpgate/charset.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static void require(bool cond)
{
    if (!cond)
        abort();
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Valid UTF-8 without C0, DEL or C1 control characters. */
static bool clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
            return false;
    return hg_utf8_valid(s, strlen(s));
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void check_fields(const struct hg_chat_frame *f, size_t max_message)
{
    switch (f->kind) {
    case HG_CHAT_HELLO: {
        size_t n = strlen(f->name);
        require(clean(f->name) && n > 0 && !is_space(f->name[0]) && !is_space(f->name[n - 1]));
        require(code_points(f->name) <= HG_CHAT_MAX_NAME);
        if (f->email != NULL) {
            const char *at = strchr(f->email, '@');
            require(at != NULL && at != f->email && at[1] != '\0' && strchr(at + 1, '@') == NULL);
            require(strlen(f->email) <= HG_CHAT_MAX_EMAIL && clean(f->email) &&
                    strpbrk(f->email, " <>") == NULL);
        }
        require(f->resume == NULL || hg_chat_token_valid(f->resume));
        require(f->lang == NULL || (strlen(f->lang) <= HG_CHAT_MAX_LANG && strlen(f->lang) > 0 &&
                                    strspn(f->lang, ALNUM "-") == strlen(f->lang)));
        require(f->id == NULL && f->text == NULL);
        break;
    }
    case HG_CHAT_MESSAGE: {
        size_t n = strlen(f->id);
        require(n > 0 && n <= HG_CHAT_MAX_ID);
        require(strspn(f->id, ALNUM "._:-") == n);
        size_t t = strlen(f->text);
        require(t > 0 && t <= max_message && hg_utf8_valid(f->text, t));
        bool blank = true;
        for (size_t i = 0; i < t; i++)
            blank = blank && is_space(f->text[i]);
        require(!blank);
        require(f->name == NULL && f->email == NULL && f->resume == NULL && f->lang == NULL);
        break;
    }
    case HG_CHAT_TYPING:
        require(f->name == NULL && f->id == NULL && f->text == NULL);
        break;
    default:
        require(false);
    }
}

static json_t *load(char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    require(j != NULL && json_is_object(j));
    free(text);
    return j;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Server frames built from F read back with its strings. */
static void check_builders(const struct hg_chat_frame *f)
{
    struct hg_chat_message m = {
        .message = 7,
        .from = HG_CHAT_FROM_VISITOR,
        .name = f->name,
        .text = f->text != NULL ? f->text : f->name,
        .at = 1795428000,
        .id = f->id,
    };
    json_t *j = load(hg_chat_message_frame(&m));
    require(same(str_of(j, "name"), m.name) && same(str_of(j, "text"), m.text != NULL ? m.text : ""));
    require(same(str_of(j, "id"), m.id != NULL && m.id[0] != '\0' ? m.id : NULL));
    json_decref(j);

    j = load(hg_chat_welcome_frame(5, f->resume, &m, 1));
    const json_t *h = json_array_get(json_object_get(j, "history"), 0);
    require(same(str_of(j, "resume"), f->resume) && same(str_of(h, "text"), m.text != NULL ? m.text : ""));
    json_decref(j);

    if (f->id != NULL) {
        j = load(hg_chat_ack_frame(f->id, 7, 5));
        require(same(str_of(j, "id"), f->id));
        json_decref(j);
    }
    j = load(hg_chat_closed_frame(f->text != NULL ? f->text : f->lang));
    require(same(str_of(j, "reason"), f->text != NULL ? f->text : f->lang != NULL ? f->lang : ""));
    json_decref(j);
    j = load(hg_chat_typing_frame(HG_CHAT_FROM_AGENT, f->typing));
    require(json_is_boolean(json_object_get(j, "state")));
    json_decref(j);
}

static void set_string(json_t *o, const char *key, const char *value)
{
    if (value != NULL)
        json_object_set_new(o, key, json_string(value));
}

/* F written again as a client frame parses to the same fields. */
static void check_reparse(const struct hg_chat_frame *f, const struct hg_chat_limits *limits)
{
    static const char *const types[] = {"", "hello", "message", "typing"};
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(types[f->kind]));
    set_string(o, "name", f->name);
    set_string(o, "email", f->email);
    set_string(o, "resume", f->resume);
    set_string(o, "lang", f->lang);
    set_string(o, "id", f->id);
    set_string(o, "text", f->text);
    if (f->kind == HG_CHAT_TYPING)
        json_object_set_new(o, "state", json_boolean(f->typing));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    require(text != NULL);
    struct hg_chat_frame g;
    struct hg_chat_error err;
    size_t max_frame = limits->max_frame > 0 ? limits->max_frame : HG_CHAT_DEFAULT_MAX_FRAME;
    int rc = hg_chat_parse(text, strlen(text), limits, &g, &err);
    if (strlen(text) > max_frame) {
        require(rc == -1 && err.code == HG_CHAT_ERR_TOO_LARGE);
    } else {
        require(rc == 0 && g.kind == f->kind && same(g.name, f->name) && same(g.email, f->email) &&
                same(g.resume, f->resume) && same(g.lang, f->lang) && same(g.id, f->id) &&
                same(g.text, f->text) && g.typing == f->typing);
    }
    hg_chat_frame_clear(&g);
    free(text);
}

static void check_error(const struct hg_chat_frame *f, const struct hg_chat_error *err, const char *frame,
                        size_t len, size_t max_frame)
{
    require(f->kind == HG_CHAT_NONE && f->name == NULL && f->email == NULL && f->resume == NULL &&
            f->lang == NULL && f->id == NULL && f->text == NULL);
    require(err->code >= HG_CHAT_ERR_BAD_UTF8 && err->code <= HG_CHAT_ERR_TOO_LARGE);
    require(err->message[0] != '\0' && clean(err->message));
    require(strlen(err->message) < sizeof err->message - 1); /* never cut: the sentences fit */
    if (len <= max_frame && len > 0)
        require((err->code == HG_CHAT_ERR_BAD_UTF8) == !hg_utf8_valid(frame, len));
    size_t id_len = strlen(err->id);
    require(strspn(err->id, ALNUM "._:-") == id_len);
    json_t *j = load(hg_chat_error_frame(err->code, err->message, err->id));
    require(same(str_of(j, "code"), hg_chat_code_name(err->code)) &&
            same(str_of(j, "message"), err->message));
    require(same(str_of(j, "id"), id_len > 0 ? err->id : NULL));
    json_decref(j);
}

static void check_sanitize(const char *s, size_t len)
{
    char *out = hg_chat_utf8_sanitize(s, len);
    size_t n = strlen(out);
    require(hg_utf8_valid(out, n) && n <= 3 * len);
    if (hg_utf8_valid(s, len) && memchr(s, '\0', len) == NULL)
        require(n == len && memcmp(out, s, len) == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t frames[] = {0, 32, 256, 1024}, messages[] = {0, 1, 16, 64};
    if (size == 0 || size > 100000)
        return 0;
    struct hg_chat_limits limits = {frames[data[0] & 3], messages[(data[0] >> 2) & 3]};
    size_t max_frame = limits.max_frame > 0 ? limits.max_frame : HG_CHAT_DEFAULT_MAX_FRAME;
    size_t max_message = limits.max_message > 0 ? limits.max_message : HG_CHAT_DEFAULT_MAX_MESSAGE;
    size_t len = size - 1;
    char *frame = malloc(len > 0 ? len : 1); /* exactly the frame, so that an over-read shows */
    memcpy(frame, data + 1, len);

    struct hg_chat_frame f;
    struct hg_chat_error err;
    int rc = hg_chat_parse(frame, len, &limits, &f, &err);
    if (rc == 0) {
        require(err.code == HG_CHAT_ERR_NONE && err.message[0] == '\0' && err.id[0] == '\0');
        require(len <= max_frame && hg_utf8_valid(frame, len));
        check_fields(&f, max_message);
        check_builders(&f);
        check_reparse(&f, &limits);
    } else {
        require(rc == -1);
        check_error(&f, &err, frame, len, max_frame);
    }
    hg_chat_frame_clear(&f);
    check_sanitize(frame, len);
    free(frame);
    return 0;
}
