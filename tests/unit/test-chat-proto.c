/*
 * test-chat-proto.c — unit tests of the chat protocol frames
 * (parsers/chat_proto.c) and the token bucket (parsers/token_bucket.c).
 *
 * Data-driven: each tests/data/chat/NAME.frame is one client frame, parsed
 * with the default limits and written out as NAME.ref says: the kind and
 * its fields one per line ("name: Ann"), or "error CODE", the id when the
 * error has one and the sentence. Control characters in values are shown
 * as \n, \t or \xHH. Every case is parsed from a buffer of exactly its size
 * (so that an over-read shows under ASan), every prefix of an accepted
 * frame that lacks its closing brace must be refused, and every error must
 * make an error frame that jansson reads back.
 * Table-driven: one frame per error code with a word its sentence must
 * hold, limits exactly at and one over, the builders read back with
 * jansson, the UTF-8 validator and sanitizer on a table of sequences,
 * resume tokens, and the token bucket on a fake clock. The source tree is
 * found through $top_srcdir.
 */
#include "helpgate/chat_proto.h"

#include "helpgate/buf.h"
#include "helpgate/charset.h"
#include "helpgate/token_bucket.h"

#include "tap.h"
#include "testdata.h"

#include <jansson.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static bool contains(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

/* Parses LEN bytes of DATA from a heap copy of exactly that size. */
static int parse_exact(const char *data, size_t len, const struct hg_chat_limits *limits,
                       struct hg_chat_frame *f, struct hg_chat_error *err)
{
    char *copy = malloc(len > 0 ? len : 1);
    memcpy(copy, data, len);
    int rc = hg_chat_parse(copy, len, limits, f, err);
    free(copy);
    return rc;
}

static int parse_str(const char *s, const struct hg_chat_limits *limits, struct hg_chat_frame *f,
                     struct hg_chat_error *err)
{
    return parse_exact(s, strlen(s), limits, f, err);
}

/* ------------------------------------------------------------ rendering for .ref files */

static void put_value(struct hg_buf *b, const char *label, const char *v)
{
    if (v == NULL)
        return;
    hg_buf_printf(b, "%s: ", label);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\n')
            hg_buf_append_str(b, "\\n");
        else if (*p == '\t')
            hg_buf_append_str(b, "\\t");
        else if (*p < 0x20 || *p == 0x7F)
            hg_buf_printf(b, "\\x%02X", *p);
        else
            hg_buf_append_char(b, (char)*p);
    }
    hg_buf_append_char(b, '\n');
}

static char *render(int rc, const struct hg_chat_frame *f, const struct hg_chat_error *err)
{
    struct hg_buf b;
    hg_buf_init(&b, 1 << 20);
    if (rc < 0) {
        hg_buf_printf(&b, "error %s\n", hg_chat_code_name(err->code));
        put_value(&b, "id", err->id[0] != '\0' ? err->id : NULL);
        put_value(&b, "message", err->message);
        return hg_buf_steal(&b);
    }
    static const char *const kinds[] = {"none", "hello", "message", "typing"};
    hg_buf_printf(&b, "%s\n", kinds[f->kind]);
    put_value(&b, "name", f->name);
    put_value(&b, "email", f->email);
    put_value(&b, "resume", f->resume);
    put_value(&b, "lang", f->lang);
    put_value(&b, "id", f->id);
    put_value(&b, "text", f->text);
    if (f->kind == HG_CHAT_TYPING)
        put_value(&b, "state", f->typing ? "true" : "false");
    return hg_buf_steal(&b);
}

/* ------------------------------------------------------------ checks shared by all cases */

/* The error frame for ERR parses back with the same code, message and id. */
static bool error_frame_reads_back(const struct hg_chat_error *err)
{
    char *text = hg_chat_error_frame(err->code, err->message, err->id);
    json_t *j = json_loads(text, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    bool same = j != NULL && strcmp(json_string_value(json_object_get(j, "type")), "error") == 0 &&
                strcmp(json_string_value(json_object_get(j, "code")), hg_chat_code_name(err->code)) == 0 &&
                strcmp(json_string_value(json_object_get(j, "message")), err->message) == 0 &&
                (err->id[0] == '\0' ? id == NULL : id != NULL && strcmp(id, err->id) == 0);
    json_decref(j);
    free(text);
    return same;
}

/* No control characters, valid UTF-8, not empty. */
static bool sentence_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
            return false;
    return s[0] != '\0' && hg_utf8_valid(s, strlen(s));
}

/* ------------------------------------------------------------ data-driven cases */

static char *source_path(const char *sub)
{
    const char *top = getenv("top_srcdir");
    return file_path(top != NULL ? top : ".", sub, "");
}

/* Every prefix of an accepted FRAME that stops before its last '}' is refused. */
static void check_prefixes(const char *name, const struct text *frame)
{
    const char *last = NULL;
    for (const char *p = frame->data; p < frame->data + frame->len; p++)
        if (*p == '}')
            last = p;
    size_t upto = last != NULL ? (size_t)(last - frame->data) : frame->len;
    bool all_refused = true;
    for (size_t n = 0; n <= upto; n++) {
        struct hg_chat_frame f;
        struct hg_chat_error err;
        if (parse_exact(frame->data, n, NULL, &f, &err) == 0) {
            all_refused = false;
            printf("#   prefix of %zu bytes accepted\n", n);
            hg_chat_frame_clear(&f);
        } else if (err.code != HG_CHAT_ERR_BAD_JSON && err.code != HG_CHAT_ERR_BAD_UTF8) {
            all_refused = false;
            printf("#   prefix of %zu bytes: %s\n", n, hg_chat_code_name(err.code));
        }
    }
    ok(all_refused, "%s: its %zu prefixes are refused as bad_json or bad_utf8", name, upto + 1);
}

static void test_data_cases(void)
{
    char *dir = source_path("tests/data/chat");
    size_t count = 0;
    char **names = list_cases(dir, ".frame", &count);
    ok(count >= 60, "tests/data/chat holds %zu cases", count);
    for (size_t i = 0; i < count; i++) {
        char *frame_path = file_path(dir, names[i], ".frame");
        char *ref_path = file_path(dir, names[i], ".ref");
        struct text frame = read_file(frame_path);
        struct text want = read_file(ref_path);
        if (!ok(frame.data != NULL && want.data != NULL, "%s: .frame and .ref read", names[i])) {
            free(frame.data);
            free(want.data);
            free(frame_path);
            free(ref_path);
            free(names[i]);
            continue;
        }
        struct hg_chat_frame f;
        struct hg_chat_error err;
        int rc = parse_exact(frame.data, frame.len, NULL, &f, &err);
        char *got = render(rc, &f, &err);
        char label[200];
        snprintf(label, sizeof label, "%s: as in .ref", names[i]);
        is_str(got, want.data, label);
        if (rc < 0) {
            ok(f.kind == HG_CHAT_NONE && f.name == NULL && f.id == NULL && f.text == NULL,
               "%s: the frame is empty after the error", names[i]);
            ok(sentence_clean(err.message) && error_frame_reads_back(&err),
               "%s: a clean sentence, and the error frame reads back", names[i]);
        } else {
            ok(err.code == HG_CHAT_ERR_NONE && err.message[0] == '\0', "%s: no error left", names[i]);
            check_prefixes(names[i], &frame);
        }
        hg_chat_frame_clear(&f);
        free(got);
        free(frame.data);
        free(want.data);
        free(frame_path);
        free(ref_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* ------------------------------------------------------------ one case per error code */

static void test_error_codes(void)
{
    static const struct {
        const char *frame;
        enum hg_chat_code code;
        const char *word; /* the sentence holds it */
        const char *id;   /* the error's id */
    } cases[] = {
        {"{\"type\":\"hello\",\"name\":\"\xC0\x80\"}", HG_CHAT_ERR_BAD_UTF8, "UTF-8", ""},
        {"{\"type\":\"hello\",\"name\":\"x\"", HG_CHAT_ERR_BAD_JSON, "line 1, column", ""},
        {"{\"type\":\"hello\" x}", HG_CHAT_ERR_BAD_JSON, "near 'x'", ""},
        {"[1,2]", HG_CHAT_ERR_BAD_JSON, "an array, not a JSON object", ""},
        {"{\"type\":\"goodbye\"}", HG_CHAT_ERR_UNKNOWN_TYPE, "\"goodbye\"", ""},
        {"{\"type\":\"message\",\"id\":\"m1\"}", HG_CHAT_ERR_MISSING_FIELD, "\"text\"", "m1"},
        {"{\"type\":\"hello\"}", HG_CHAT_ERR_MISSING_FIELD, "\"name\"", ""},
        {"{}", HG_CHAT_ERR_MISSING_FIELD, "\"type\"", ""},
        {"{\"type\":\"message\",\"id\":\"m/1\",\"text\":\"x\"}", HG_CHAT_ERR_BAD_FIELD, "letter, digit", ""},
        {"{\"type\":\"hello\",\"name\":\"Ann\",\"resume\":\"xyz\"}", HG_CHAT_ERR_BAD_FIELD, "hex digits", ""},
        {"{\"type\":\"hello\",\"name\":\"Ann\",\"email\":\"ann\"}", HG_CHAT_ERR_BAD_FIELD, "\"email\"", ""},
        {"{\"type\":\"hello\",\"name\":\"Ann\",\"lang\":\"en_US\"}", HG_CHAT_ERR_BAD_FIELD, "\"lang\"", ""},
        {"{\"type\":\"typing\",\"state\":1}", HG_CHAT_ERR_BAD_FIELD, "true or false", ""},
        {"{\"type\":\"message\",\"id\":\"m2\",\"text\":\"0123456789abcdefX\"}", HG_CHAT_ERR_TOO_LARGE,
         "limit of 16 bytes", "m2"},
        {"{\"type\":\"typing\",\"pad\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
         HG_CHAT_ERR_TOO_LARGE, "limit of 80 bytes", ""},
    };
    const struct hg_chat_limits limits = {.max_frame = 80, .max_message = 16};
    bool seen[HG_CHAT_ERR_INTERNAL + 1] = {false};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_chat_frame f;
        struct hg_chat_error err;
        int rc = parse_str(cases[i].frame, &limits, &f, &err);
        ok(rc == -1 && err.code == cases[i].code, "error case %zu: %s (got %s)", i,
           hg_chat_code_name(cases[i].code), rc == 0 ? "success" : hg_chat_code_name(err.code));
        if (!ok(contains(err.message, cases[i].word), "error case %zu: the sentence says %s", i,
                cases[i].word))
            printf("#   sentence: %s\n", err.message);
        is_str(err.id, cases[i].id, "error case: its id");
        seen[cases[i].code] = true;
        hg_chat_frame_clear(&f);
    }

    /* the codes the daemon decides: a builder with the default sentence */
    static const struct {
        enum hg_chat_code code;
        const char *name, *word;
    } daemon_codes[] = {
        {HG_CHAT_ERR_NOT_READY, "not_ready", "hello"},
        {HG_CHAT_ERR_RATE_LIMITED, "rate_limited", "wait"},
        {HG_CHAT_ERR_RESUME_UNKNOWN, "resume_unknown", "resume"},
        {HG_CHAT_ERR_INTERNAL, "internal", "try again"},
    };
    for (size_t i = 0; i < sizeof daemon_codes / sizeof daemon_codes[0]; i++) {
        char *text = hg_chat_error_frame(daemon_codes[i].code, NULL, i == 0 ? "c-9" : NULL);
        json_t *j = json_loads(text, 0, NULL);
        is_str(json_string_value(json_object_get(j, "code")), daemon_codes[i].name, daemon_codes[i].name);
        ok(contains(json_string_value(json_object_get(j, "message")), daemon_codes[i].word),
           "%s: the default sentence says %s", daemon_codes[i].name, daemon_codes[i].word);
        is_str(json_string_value(json_object_get(j, "id")), i == 0 ? "c-9" : NULL, "its id, when given");
        seen[daemon_codes[i].code] = true;
        json_decref(j);
        free(text);
    }
    bool all = true;
    for (int c = HG_CHAT_ERR_BAD_UTF8; c <= HG_CHAT_ERR_INTERNAL; c++)
        all = all && seen[c];
    ok(all, "every error code has a case");

    /* names: distinct, lower-case with '_' */
    bool distinct = true;
    for (int a = HG_CHAT_ERR_NONE; a <= HG_CHAT_ERR_INTERNAL; a++) {
        for (int b = a + 1; b <= HG_CHAT_ERR_INTERNAL; b++)
            distinct = distinct && strcmp(hg_chat_code_name(a), hg_chat_code_name(b)) != 0;
        distinct = distinct && strspn(hg_chat_code_name(a), "abcdefghijklmnopqrstuvwxyz_8") ==
                                   strlen(hg_chat_code_name(a));
        distinct = distinct && sentence_clean(hg_chat_code_sentence(a));
    }
    ok(distinct, "code names are distinct and lower-case, default sentences clean");
    is_str(hg_chat_code_name((enum hg_chat_code)99), "internal", "an unknown code is named internal");
}

/* ------------------------------------------------------------ limits, at and one over */

static void limit_case(const char *label, const char *frame, const struct hg_chat_limits *limits,
                       enum hg_chat_code want)
{
    struct hg_chat_frame f;
    struct hg_chat_error err;
    int rc = parse_str(frame, limits, &f, &err);
    if (!ok(want == HG_CHAT_ERR_NONE ? rc == 0 : rc == -1 && err.code == want, "%s: %s", label,
            want == HG_CHAT_ERR_NONE ? "accepted" : hg_chat_code_name(want)))
        printf("#   got %s: %s\n", rc == 0 ? "success" : hg_chat_code_name(err.code), err.message);
    hg_chat_frame_clear(&f);
}

/* "{...PREFIX" + N copies of UNIT + SUFFIX */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    struct hg_buf b;
    hg_buf_init(&b, 1 << 22);
    hg_buf_append_str(&b, prefix);
    for (size_t i = 0; i < n; i++)
        hg_buf_append_str(&b, unit);
    hg_buf_append_str(&b, suffix);
    return hg_buf_steal(&b);
}

static void test_limits(void)
{
    /* max_frame: the whole frame, in bytes */
    char *frame = repeat("{\"type\":\"typing\",\"pad\":\"", "x", 100, "\"}");
    size_t len = strlen(frame);
    struct hg_chat_limits at = {.max_frame = len}, under = {.max_frame = len - 1};
    limit_case("frame exactly at max_frame", frame, &at, HG_CHAT_ERR_NONE);
    limit_case("frame one byte over max_frame", frame, &under, HG_CHAT_ERR_TOO_LARGE);
    free(frame);
    /* the default max_frame */
    frame = repeat("{\"type\":\"typing\",\"pad\":\"", "x", HG_CHAT_DEFAULT_MAX_FRAME - 26, "\"}");
    ok(strlen(frame) == HG_CHAT_DEFAULT_MAX_FRAME, "a frame of the default max_frame");
    limit_case("frame at the default max_frame", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    frame = repeat("{\"type\":\"typing\",\"pad\":\"", "x", HG_CHAT_DEFAULT_MAX_FRAME - 25, "\"}");
    limit_case("frame one over the default max_frame", frame, NULL, HG_CHAT_ERR_TOO_LARGE);
    free(frame);

    /* max_message: decoded bytes of text; an escape counts as what it decodes to */
    struct hg_chat_limits msg = {.max_message = 20};
    frame = repeat("{\"type\":\"message\",\"id\":\"a\",\"text\":\"", "\\u00e9", 10, "\"}");
    limit_case("text of 20 bytes (10 escaped 2-byte characters)", frame, &msg, HG_CHAT_ERR_NONE);
    free(frame);
    frame = repeat("{\"type\":\"message\",\"id\":\"a\",\"text\":\"x", "\\u00e9", 10, "\"}");
    limit_case("text of 21 bytes", frame, &msg, HG_CHAT_ERR_TOO_LARGE);
    free(frame);
    frame = repeat("{\"type\":\"message\",\"id\":\"a\",\"text\":\"", "x", HG_CHAT_DEFAULT_MAX_MESSAGE, "\"}");
    limit_case("text at the default max_message", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    frame =
        repeat("{\"type\":\"message\",\"id\":\"a\",\"text\":\"", "x", HG_CHAT_DEFAULT_MAX_MESSAGE + 1, "\"}");
    limit_case("text one over the default max_message", frame, NULL, HG_CHAT_ERR_TOO_LARGE);
    free(frame);

    /* field limits */
    frame = repeat("{\"type\":\"message\",\"text\":\"x\",\"id\":\"", "i", HG_CHAT_MAX_ID, "\"}");
    limit_case("id of 64 characters", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    frame = repeat("{\"type\":\"message\",\"text\":\"x\",\"id\":\"", "i", HG_CHAT_MAX_ID + 1, "\"}");
    limit_case("id of 65 characters", frame, NULL, HG_CHAT_ERR_BAD_FIELD);
    free(frame);
    frame = repeat("{\"type\":\"hello\",\"name\":\"", "\xF0\x9F\x98\x80", HG_CHAT_MAX_NAME, "\"}");
    limit_case("name of 100 characters (400 bytes)", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    frame = repeat("{\"type\":\"hello\",\"name\":\"", "n", HG_CHAT_MAX_NAME + 1, "\"}");
    limit_case("name of 101 characters", frame, NULL, HG_CHAT_ERR_BAD_FIELD);
    free(frame);
    frame = repeat("{\"type\":\"hello\",\"name\":\"  ", "n", HG_CHAT_MAX_NAME, "  \"}");
    limit_case("name of 100 characters and blanks around", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    /* 254 bytes: 242 + "@example.com" */
    frame = repeat("{\"type\":\"hello\",\"name\":\"A\",\"email\":\"", "e", 242, "@example.com\"}");
    limit_case("email of 254 bytes", frame, NULL, HG_CHAT_ERR_NONE);
    free(frame);
    frame = repeat("{\"type\":\"hello\",\"name\":\"A\",\"email\":\"", "e", 243, "@example.com\"}");
    limit_case("email of 255 bytes", frame, NULL, HG_CHAT_ERR_BAD_FIELD);
    free(frame);
    limit_case("lang of 35 characters",
               "{\"type\":\"hello\",\"name\":\"A\",\"lang\":\"de-abcdefgh-abcdefgh-abcdefgh-abcde\"}", NULL,
               HG_CHAT_ERR_NONE);
    limit_case("lang of 36 characters",
               "{\"type\":\"hello\",\"name\":\"A\",\"lang\":\"de-abcdefgh-abcdefgh-abcdefgh-abcdef\"}", NULL,
               HG_CHAT_ERR_BAD_FIELD);
    limit_case("lang subtag of 9 characters", "{\"type\":\"hello\",\"name\":\"A\",\"lang\":\"de-abcdefghi\"}",
               NULL, HG_CHAT_ERR_BAD_FIELD);
    limit_case("resume of 33 digits",
               "{\"type\":\"hello\",\"name\":\"A\",\"resume\":\"0123456789abcdef0123456789abcdef0\"}", NULL,
               HG_CHAT_ERR_BAD_FIELD);
    limit_case("resume of 31 digits",
               "{\"type\":\"hello\",\"name\":\"A\",\"resume\":\"0123456789abcdef0123456789abcde\"}", NULL,
               HG_CHAT_ERR_BAD_FIELD);
    /* jansson's depth limit is far above any max_frame: deep nesting is refused by size first */
    frame = repeat("{\"type\":\"typing\",\"x\":", "[", 3000, "");
    limit_case("3000 nested arrays", frame, NULL, HG_CHAT_ERR_BAD_JSON);
    free(frame);
    struct hg_chat_limits big = {.max_frame = 1 << 20};
    frame = repeat("{\"type\":\"typing\",\"x\":", "[", 100000, "");
    limit_case("100000 nested arrays, max_frame 1 MiB", frame, &big, HG_CHAT_ERR_BAD_JSON);
    free(frame);
}

/* ------------------------------------------------------------ hostile input in sentences */

static size_t longest_run(const char *s, char c)
{
    size_t best = 0, run = 0;
    for (; *s; s++) {
        run = *s == c ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best;
}

static void test_hostile_sentences(void)
{
    static const char *const frames[] = {
        "{\"type\":\"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\"}",
        "{\"type\":\"typing\",\"x\":\"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "{\"type\":\"typing\",ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ}",
        "{\"type\":\"typing\"}ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "{\"type\":\"typing\",\"x\":1e99999ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ}",
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        struct hg_chat_frame f;
        struct hg_chat_error err;
        ok(parse_str(frames[i], NULL, &f, &err) == -1 && longest_run(err.message, 'Z') <= 32 &&
               sentence_clean(err.message),
           "hostile frame %zu: the sentence quotes at most 32 bytes of it", i);
        printf("#   %s: %s\n", hg_chat_code_name(err.code), err.message);
    }
    /* control characters and escapes in a quoted type */
    struct hg_chat_frame f;
    struct hg_chat_error err;
    parse_str("{\"type\":\"a\\u0000b\"}", NULL, &f, &err);
    ok(err.code == HG_CHAT_ERR_BAD_FIELD && contains(err.message, "U+0000"), "type with U+0000: bad_field");
    parse_str("{\"type\":\"\\r\\n\\u001b[2J\\u0085x\"}", NULL, &f, &err);
    ok(err.code == HG_CHAT_ERR_UNKNOWN_TYPE && contains(err.message, "\"???[2J?x\"") &&
           sentence_clean(err.message),
       "control characters of a quoted type show as '?'");
    /* a cut never splits a character */
    char *frame = repeat("{\"type\":\"", "\xE2\x82\xAC", 40, "\"}");
    parse_str(frame, NULL, &f, &err);
    ok(err.code == HG_CHAT_ERR_UNKNOWN_TYPE && contains(err.message, "\xE2\x82\xAC...\"") &&
           sentence_clean(err.message),
       "a quoted type is cut between characters");
    free(frame);
}

/* ------------------------------------------------------------ builders */

static json_t *load(const char *text, const char *label)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ok(j != NULL && json_is_object(j), "%s: valid JSON object", label);
    if (j == NULL)
        printf("#   %s: %s\n", e.text, text);
    return j;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_builders(void)
{
    const struct hg_chat_message history[] = {
        {.message = 987,
         .from = HG_CHAT_FROM_VISITOR,
         .name = "Ann Example",
         .text = "Hello, my printer...",
         .at = 1795428000,
         .id = "c-17"},
        {.message = 988,
         .from = HG_CHAT_FROM_AGENT,
         .name = "Bob",
         .text = "Have you tried \"off\" and on?\n",
         .at = 1795428060,
         .id = "ignored"},
        {.message = 989, .from = HG_CHAT_FROM_SYSTEM, .text = "Bob left the chat.", .at = 0},
    };
    char *text = hg_chat_welcome_frame(1234, "0123456789abcdef0123456789abcdef", history, 3);
    is_str(text,
           "{\"type\":\"welcome\",\"protocol\":\"helpgate.chat.v1\",\"ticket\":1234,"
           "\"resume\":\"0123456789abcdef0123456789abcdef\",\"history\":["
           "{\"type\":\"message\",\"message\":987,\"from\":\"visitor\",\"name\":\"Ann Example\","
           "\"text\":\"Hello, my printer...\",\"at\":\"2026-11-23T10:00:00Z\",\"id\":\"c-17\"},"
           "{\"type\":\"message\",\"message\":988,\"from\":\"agent\",\"name\":\"Bob\","
           "\"text\":\"Have you tried \\\"off\\\" and on?\\n\",\"at\":\"2026-11-23T10:01:00Z\"},"
           "{\"type\":\"message\",\"message\":989,\"from\":\"system\",\"text\":\"Bob left the chat.\","
           "\"at\":\"1970-01-01T00:00:00Z\"}]}",
           "welcome with history");
    json_t *j = load(text, "welcome");
    ok(json_array_size(json_object_get(j, "history")) == 3, "welcome: three history entries");
    json_decref(j);
    free(text);

    text = hg_chat_welcome_frame(0, NULL, NULL, 0);
    is_str(text,
           "{\"type\":\"welcome\",\"protocol\":\"helpgate.chat.v1\",\"ticket\":null,\"resume\":null,"
           "\"history\":[]}",
           "welcome before a ticket exists");
    free(text);

    text = hg_chat_ack_frame("c-17", 987, 1234);
    is_str(text, "{\"type\":\"ack\",\"id\":\"c-17\",\"message\":987,\"ticket\":1234}", "ack");
    free(text);

    text = hg_chat_message_frame(&history[1]);
    j = load(text, "message");
    is_str(str_of(j, "text"), history[1].text, "message: text reads back");
    ok(json_object_get(j, "id") == NULL, "message: no id for an agent");
    json_decref(j);
    free(text);

    text = hg_chat_typing_frame(HG_CHAT_FROM_AGENT, true);
    is_str(text, "{\"type\":\"typing\",\"from\":\"agent\",\"state\":true}", "typing true");
    free(text);
    text = hg_chat_typing_frame(HG_CHAT_FROM_AGENT, false);
    is_str(text, "{\"type\":\"typing\",\"from\":\"agent\",\"state\":false}", "typing false");
    free(text);

    text = hg_chat_error_frame(HG_CHAT_ERR_BAD_JSON, "The frame is not valid JSON.", NULL);
    is_str(text, "{\"type\":\"error\",\"code\":\"bad_json\",\"message\":\"The frame is not valid JSON.\"}",
           "error without id");
    free(text);
    text = hg_chat_error_frame(HG_CHAT_ERR_TOO_LARGE, "Too large.", "c-17");
    is_str(text, "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"Too large.\",\"id\":\"c-17\"}",
           "error with id");
    free(text);
    text = hg_chat_error_frame(HG_CHAT_ERR_INTERNAL, "Oops.", "");
    ok(!contains(text, "\"id\""), "error with empty id: no id");
    free(text);

    text = hg_chat_closed_frame("The ticket was closed.");
    is_str(text, "{\"type\":\"closed\",\"reason\":\"The ticket was closed.\"}", "closed");
    free(text);
    text = hg_chat_closed_frame(NULL);
    is_str(text, "{\"type\":\"closed\",\"reason\":\"\"}", "closed with NULL reason");
    free(text);

    /* invalid UTF-8 from mail or the database becomes U+FFFD; controls and quotes are escaped */
    const struct hg_chat_message bad = {.message = 1,
                                        .from = HG_CHAT_FROM_AGENT,
                                        .name = "Gr\xFC\xDF",
                                        .text = "caf\xE9 \xED\xA0\x80 \"q\" \\ \x01\x1b\x7f end",
                                        .at = -5};
    text = hg_chat_message_frame(&bad);
    j = load(text, "message with invalid UTF-8");
    is_str(str_of(j, "name"), "Gr\xEF\xBF\xBD\xEF\xBF\xBD", "invalid name bytes are U+FFFD");
    is_str(str_of(j, "text"),
           "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \"q\" \\ \x01\x1b\x7f end",
           "invalid text bytes are U+FFFD, the rest kept");
    is_str(str_of(j, "at"), "1970-01-01T00:00:00Z", "a time before 1970 is clamped");
    ok(json_object_get(j, "id") == NULL, "no id for an agent");
    json_decref(j);
    free(text);

    const struct hg_chat_message far = {.message = 2, .from = 42, .text = NULL, .at = INT64_MAX, .id = "x"};
    text = hg_chat_message_frame(&far);
    j = load(text, "message with odd values");
    is_str(str_of(j, "at"), "9999-12-31T23:59:59Z", "a time after 9999 is clamped");
    is_str(str_of(j, "text"), "", "NULL text is \"\"");
    is_str(str_of(j, "from"), "system", "an unknown sender is system");
    ok(json_object_get(j, "id") == NULL && json_object_get(j, "name") == NULL, "no id, no name");
    json_decref(j);
    free(text);

    text = hg_chat_ack_frame("\xFF", -1, -1);
    j = load(text, "ack with odd values");
    ok(json_is_null(json_object_get(j, "ticket")) && json_integer_value(json_object_get(j, "message")) == -1,
       "ack: ticket -1 is null, the message number kept");
    is_str(str_of(j, "id"), "\xEF\xBF\xBD", "ack: invalid id byte is U+FFFD");
    json_decref(j);
    free(text);

    text = hg_chat_error_frame(HG_CHAT_ERR_BAD_FIELD, "\xC0\x80 broken", "\xF4\x90\x80\x80");
    j = load(text, "error with invalid UTF-8");
    is_str(str_of(j, "message"), "\xEF\xBF\xBD\xEF\xBF\xBD broken", "error: sentence sanitized");
    json_decref(j);
    free(text);

    is_str(hg_chat_from_name(HG_CHAT_FROM_VISITOR), "visitor", "from name visitor");
    is_str(hg_chat_from_name(HG_CHAT_FROM_AGENT), "agent", "from name agent");
    is_str(hg_chat_from_name(HG_CHAT_FROM_SYSTEM), "system", "from name system");
}

/* A parsed message frame rebuilt with the builders comes back the same. */
static void test_round_trip(void)
{
    const char *in =
        "{\"type\":\"message\",\"id\":\"c-42\",\"text\":\"Gr\\u00fc\\u00dfe \\ud83d\\ude00\\n\\\"x\\\"\"}";
    struct hg_chat_frame f;
    struct hg_chat_error err;
    if (!ok(parse_str(in, NULL, &f, &err) == 0, "round trip: parse"))
        return;
    const struct hg_chat_message m = {
        .message = 5, .from = HG_CHAT_FROM_VISITOR, .name = "Ann", .text = f.text, .at = 1, .id = f.id};
    char *text = hg_chat_message_frame(&m);
    json_t *j = load(text, "round trip");
    is_str(str_of(j, "text"),
           "Gr\xC3\xBC\xC3\x9F"
           "e \xF0\x9F\x98\x80\n\"x\"",
           "round trip: text");
    is_str(str_of(j, "id"), "c-42", "round trip: id for a visitor");
    json_decref(j);
    free(text);
    hg_chat_frame_clear(&f);
    hg_chat_frame_clear(&f);
    ok(f.text == NULL && f.kind == HG_CHAT_NONE, "clearing twice is safe");
}

/* ------------------------------------------------------------ UTF-8 */

static void test_utf8(void)
{
    static const struct {
        const char *label;
        const char *bytes;
        size_t len;
        bool valid;
        const char *sanitized;
    } cases[] = {
        {"ASCII", "abc", 3, true, "abc"},
        {"2-byte", "\xC3\xA9", 2, true, "\xC3\xA9"},
        {"3-byte", "\xE2\x82\xAC", 3, true, "\xE2\x82\xAC"},
        {"4-byte emoji", "\xF0\x9F\x98\x80", 4, true, "\xF0\x9F\x98\x80"},
        {"U+10FFFF", "\xF4\x8F\xBF\xBF", 4, true, "\xF4\x8F\xBF\xBF"},
        {"U+FFFF", "\xEF\xBF\xBF", 3, true, "\xEF\xBF\xBF"},
        {"overlong NUL C0 80", "\xC0\x80", 2, false, "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"overlong C1 BF", "\xC1\xBF", 2, false, "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"overlong 3-byte E0 80 AF", "\xE0\x80\xAF", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"overlong 4-byte F0 80 80 AF", "\xF0\x80\x80\xAF", 4, false,
         "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"surrogate ED A0 80", "\xED\xA0\x80", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"surrogate ED BF BF", "\xED\xBF\xBF", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"above U+10FFFF F4 90 80 80", "\xF4\x90\x80\x80", 4, false,
         "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"F5 lead", "\xF5\x80\x80\x80", 4, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"lone continuation", "a\x80z", 3, false, "a\xEF\xBF\xBDz"},
        {"truncated 2-byte at end", "a\xC3", 2, false, "a\xEF\xBF\xBD"},
        {"truncated 3-byte", "\xE2\x82z", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBDz"},
        {"truncated 4-byte at end", "\xF0\x9F\x98", 3, false, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"FF byte", "\xFF", 1, false, "\xEF\xBF\xBD"},
        {"latin-1",
         "Gr\xFC\xDF"
         "e",
         5, false,
         "Gr\xEF\xBF\xBD\xEF\xBF\xBD"
         "e"},
        {"NUL byte", "a\0b", 3, true,
         "a\xEF\xBF\xBD"
         "b"},
        {"empty", "", 0, true, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ok(hg_utf8_valid(cases[i].bytes, cases[i].len) == cases[i].valid, "UTF-8 %s: %s", cases[i].label,
           cases[i].valid ? "valid" : "invalid");
        char *s = hg_chat_utf8_sanitize(cases[i].bytes, cases[i].len);
        char label[120];
        snprintf(label, sizeof label, "UTF-8 %s: sanitized", cases[i].label);
        is_str(s, cases[i].sanitized, label);
        free(s);
        /* in a frame: the text field of a message; NUL bytes end the JSON string early, so skip that one */
        if (memchr(cases[i].bytes, '\0', cases[i].len) != NULL)
            continue;
        char frame[128];
        int n = snprintf(frame, sizeof frame, "{\"type\":\"message\",\"id\":\"u\",\"text\":\"x%.*s\"}",
                         (int)cases[i].len, cases[i].bytes);
        struct hg_chat_frame f;
        struct hg_chat_error err;
        int rc = parse_exact(frame, (size_t)n, NULL, &f, &err);
        ok(cases[i].valid ? rc == 0
                          : rc == -1 && err.code == HG_CHAT_ERR_BAD_UTF8 && contains(err.message, "UTF-8"),
           "UTF-8 %s in a frame: %s", cases[i].label, cases[i].valid ? "accepted" : "bad_utf8");
        hg_chat_frame_clear(&f);
    }
}

/* ------------------------------------------------------------ resume tokens */

static void test_tokens(void)
{
    unsigned char raw[HG_CHAT_TOKEN_BYTES];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 17 + 0x0F);
    char hex[HG_CHAT_TOKEN_HEX + 1];
    hg_chat_token_hex(raw, hex);
    is_str(hex, "0f2031425364758697a8b9cadbecfd0e", "token as hex");
    ok(hg_chat_token_valid(hex), "that token is valid");
    memset(raw, 0xFF, sizeof raw);
    hg_chat_token_hex(raw, hex);
    is_str(hex, "ffffffffffffffffffffffffffffffff", "all ones");
    static const struct {
        const char *s;
        bool valid;
    } cases[] = {
        {"00000000000000000000000000000000", true},
        {"0123456789abcdef0123456789abcdef", true},
        {"0123456789ABCDEF0123456789abcdef", false},
        {"0123456789abcdef0123456789abcde", false},
        {"0123456789abcdef0123456789abcdef0", false},
        {"0123456789abcdeg0123456789abcdef", false},
        {" 0123456789abcdef0123456789abcde", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok(hg_chat_token_valid(cases[i].s) == cases[i].valid, "token \"%s\": %s",
           cases[i].s != NULL ? cases[i].s : "(null)", cases[i].valid ? "valid" : "invalid");
}

/* ------------------------------------------------------------ token bucket */

static void test_token_bucket(void)
{
    struct hg_token_bucket b;
    double t = 1000.0;
    hg_token_bucket_init(&b, 2, 3, t);
    bool burst = true;
    for (int i = 0; i < 3; i++)
        burst = burst && hg_token_bucket_take(&b, t);
    ok(burst, "a full bucket gives its burst of 3 at once");
    ok(!hg_token_bucket_take(&b, t), "the fourth is refused");
    ok(fabs(hg_token_bucket_wait(&b, t) - 0.5) < 1e-9, "wait is 1/rate = 0.5 s");
    ok(!hg_token_bucket_take(&b, t + 0.49), "refused at 0.49 s");
    ok(fabs(hg_token_bucket_wait(&b, t + 0.49) - 0.01) < 1e-9, "wait then 0.01 s");
    ok(hg_token_bucket_take(&b, t + 0.5), "given at 0.5 s");
    ok(!hg_token_bucket_take(&b, t + 0.5), "and no second one then");
    ok(hg_token_bucket_wait(&b, t + 10) == 0, "wait 0 once refilled");
    ok(hg_token_bucket_take(&b, t + 100) && hg_token_bucket_take(&b, t + 100) &&
           hg_token_bucket_take(&b, t + 100) && !hg_token_bucket_take(&b, t + 100),
       "a long pause refills up to the burst only");

    /* backwards clock: no refill, and no double refill when it comes back */
    hg_token_bucket_init(&b, 1, 1, 50.0);
    ok(hg_token_bucket_take(&b, 50.0), "backwards: first token");
    ok(!hg_token_bucket_take(&b, 10.0), "backwards: a time 40 s earlier refills nothing");
    ok(!hg_token_bucket_take(&b, 50.5), "backwards: back at 50.5, half a token");
    ok(hg_token_bucket_take(&b, 51.0), "backwards: at 51, one token");
    ok(!hg_token_bucket_take(&b, 51.0), "backwards: and only one");
    ok(!hg_token_bucket_take(&b, NAN) && !hg_token_bucket_take(&b, INFINITY),
       "NaN and infinite times: no refill");
    ok(hg_token_bucket_take(&b, 52.0), "finite times work after that");

    /* rates whose period is not exact in binary: waiting 1/rate is always enough */
    bool exact = true;
    for (int r = 1; r <= 97; r += 3) {
        double now = 12345.678;
        hg_token_bucket_init(&b, r, 1, now);
        hg_token_bucket_take(&b, now);
        for (int k = 0; k < 50; k++) {
            now += 1.0 / r;
            exact = exact && hg_token_bucket_take(&b, now);
        }
    }
    ok(exact, "waiting 1/rate always gives a token (rates 1..97)");

    /* odd parameters */
    hg_token_bucket_init(&b, 0, 2, 0);
    ok(hg_token_bucket_take(&b, 0) && hg_token_bucket_take(&b, 0) && !hg_token_bucket_take(&b, 1e9),
       "rate 0: the burst, then never again");
    ok(isinf(hg_token_bucket_wait(&b, 1e9)), "rate 0: wait is infinite");
    hg_token_bucket_init(&b, NAN, 0.2, 0);
    ok(b.rate == 0 && b.burst == 1, "NaN rate is 0, burst 0.2 is 1");
    hg_token_bucket_init(&b, 0.5, 1, 0);
    ok(hg_token_bucket_take(&b, 0) && !hg_token_bucket_take(&b, 1.9) && hg_token_bucket_take(&b, 2.0),
       "rate 0.5: one token every 2 s");
    hg_token_bucket_init(&b, 1e6, 5, 0);
    ok(hg_token_bucket_take(&b, 0) && hg_token_bucket_wait(&b, 0) == 0, "a big rate");
}

int main(void)
{
    test_data_cases();
    test_error_codes();
    test_limits();
    test_hostile_sentences();
    test_builders();
    test_round_trip();
    test_utf8();
    test_tokens();
    test_token_bucket();
    return tap_done();
}
