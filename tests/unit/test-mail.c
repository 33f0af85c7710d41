/*
 * test-mail.c — unit tests of the mail normalizer (parsers/mail*.c, charset.c, sha256.c).
 *
 * Table-driven tests of the pieces (charsets, SHA-256, encoded words,
 * addresses, dates, ticket tags, flowed text), then every message in
 * tests/data/mail/NAME.eml against NAME.expect.json: each field present in
 * the expect file must equal the same field of hg_mail_to_json()'s output
 * (strings, numbers, arrays, objects and null exactly; "warning_codes" is
 * the sorted set of warning codes). Keys starting with "_" configure the
 * case: "_limits" (struct hg_mail_limits fields), "_no_replay" (skip the
 * CRLF/LF-swapped replay), "_replay_skip" (fields not compared in it). Each
 * message is also parsed with its line ends swapped and cut at many
 * lengths, and every output must be valid UTF-8 and valid JSON.
 */
#include "helpgate/charset.h"
#include "helpgate/mail.h"
#include "helpgate/sha256.h"

#include "../../parsers/mail_internal.h"
#include "tap.h"

#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static char *read_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[len] = '\0';
    *len_r = len;
    return buf;
}

static void free_warnings(struct mail_warnings *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->items[i]);
    free(w->items);
    w->items = NULL;
    w->count = 0;
}

/* ------------------------------------------------------------ SHA-256 */

static void test_sha256(void)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[HG_SHA256_HEX_SIZE];
        hg_sha256_hex(cases[i].in, strlen(cases[i].in), hex);
        is_str(hex, cases[i].want, "sha256 FIPS 180-4 vector");
    }
    /* a million 'a', fed in uneven pieces */
    struct hg_sha256 ctx;
    char hex[HG_SHA256_HEX_SIZE];
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    hg_sha256_init(&ctx);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        hg_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    hg_sha256_final_hex(&ctx, hex);
    is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of a million 'a'");
}

/* ------------------------------------------------------------ charsets */

static void test_charset(void)
{
    static const struct {
        const char *label;
        const char *in;
        const char *want;
        unsigned flags;
        const char *name;
    } cases[] = {
        {"utf-8", "caf\xC3\xA9", "caf\xC3\xA9", 0, "UTF-8 stays"},
        {"UTF8", "caf\xE9", "caf\xC3\xA9", HG_CHARSET_INVALID_BYTES,
         "invalid UTF-8 byte read as windows-1252"},
        {"iso-8859-1", "\x80 caf\xE9", "\xE2\x82\xAC caf\xC3\xA9", 0, "iso-8859-1 read as windows-1252"},
        {"ISO_8859-1", "caf\xC3\xA9", "caf\xC3\xA9", HG_CHARSET_MISLABELED, "UTF-8 under a Latin-1 label"},
        {"us-ascii", "caf\xE9", "caf\xC3\xA9", HG_CHARSET_MISLABELED, "8-bit under an ASCII label"},
        {"ks_c_5601-1987", "\xC7\xD1\xB1\xB9", "\xED\x95\x9C\xEA\xB5\xAD", 0, "ks_c_5601-1987 as CP949"},
        {"gb2312", "\xE9\x46", "\xE9\x95\x95", 0, "gb2312 label on a GBK character"},
        {"shift_jis", "\x87\x40", "\xE2\x91\xA0", 0, "shift_jis label on a CP932 character"},
        {"iso-2022-jp", "\x1B$B$3$s\x1B(B", "\xE3\x81\x93\xE3\x82\x93", 0, "iso-2022-jp"},
        {"koi8-r", "\xF0\xD2\xC9", "\xD0\x9F\xD1\x80\xD0\xB8", 0, "koi8-r"},
        {"windows-1251", "\xCF\xF0\xE8", "\xD0\x9F\xD1\x80\xD0\xB8", 0, "windows-1251"},
        {"cp1250", "\x9A", "\xC5\xA1", 0, "cp1250 alias"},
        {"iso-8859-2", "\x9A", "\xC5\xA1", HG_CHARSET_MISLABELED,
         "iso-8859-2 with C1 bytes read as windows-1250"},
        {"unknown-8bit", "caf\xE9", "caf\xC3\xA9", HG_CHARSET_UNKNOWN_LABEL, "unknown-8bit guessed"},
        {"x-no-such-charset", "abc", "abc", HG_CHARSET_UNKNOWN_LABEL, "unknown label"},
        {NULL, "caf\xC3\xA9", "caf\xC3\xA9", 0, "no label, UTF-8"},
        {"utf-8", "\xEF\xBB\xBFhi", "hi", 0, "BOM dropped"},
        {"utf-8", "\xED\xA0\x80", "\xC3\xAD\xC2\xA0\xE2\x82\xAC", HG_CHARSET_INVALID_BYTES,
         "surrogate rejected"},
        {"big5", "\xA4\xA4", "\xE4\xB8\xAD", 0, "big5"},
        {"euc-kr", "\xB0\xA1", "\xEA\xB0\x80", 0, "euc-kr"},
        {"\"utf-8\"", "ok", "ok", 0, "quoted label"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_charset_result res;
        hg_charset_to_utf8(cases[i].label, cases[i].in, strlen(cases[i].in), 0, &res);
        is_str(res.text, cases[i].want, cases[i].name);
        unsigned watched = HG_CHARSET_UNKNOWN_LABEL | HG_CHARSET_MISLABELED | HG_CHARSET_INVALID_BYTES;
        ok((res.flags & watched) == cases[i].flags, "%s: flags %u", cases[i].name, res.flags);
        ok(hg_utf8_valid(res.text, res.len), "%s: valid UTF-8", cases[i].name);
        free(res.text);
    }
    struct hg_charset_result res;
    hg_charset_to_utf8("utf-8", "\xC3\xA9\xC3\xA9\xC3\xA9", 6, 5, &res);
    is_str(res.text, "\xC3\xA9\xC3\xA9", "output cut at a character boundary");
    ok(res.flags & HG_CHARSET_TRUNCATED, "truncation flagged");
    free(res.text);
    hg_charset_to_utf8("euc-jp", "\xA4\xB3\xA4", 3, 0, &res);
    ok(hg_utf8_valid(res.text, res.len) && (res.flags & HG_CHARSET_INVALID_BYTES),
       "truncated EUC-JP repaired");
    free(res.text);
    char name[64];
    ok(hg_charset_resolve("ks_c_5601-1987", name, sizeof name) && strcmp(name, "CP949") == 0,
       "resolve alias");
    ok(!hg_charset_resolve("x-bogus", name, sizeof name), "resolve unknown");
    ok(hg_charset_resolve("646", name, sizeof name) && strcmp(name, "US-ASCII") == 0,
       "first label of the table");
    ok(hg_charset_resolve("x-x-big5", name, sizeof name) && strcmp(name, "BIG5-HKSCS") == 0,
       "last label of the table");
    ok(hg_charset_resolve("Windows-1257", name, sizeof name) && strcmp(name, "CP1257") == 0,
       "windows code page");
}

/* ------------------------------------------------------------ encoded words */

static void test_encoded_words(void)
{
    static const struct {
        const char *in;
        const char *want;
        const char *warning; /* a code that must be reported, or NULL for none at all */
    } cases[] = {
        {"=?UTF-8?B?Q2Fmw6k=?=", "Caf\xC3\xA9", NULL},
        {"=?iso-8859-1?q?caf=E9?=", "caf\xC3\xA9", NULL},
        {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab", NULL},
        {"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab", NULL},
        {"=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "\xC3\xA9\xC3\xA9", NULL},
        {"=?utf-8?B?w6?= =?utf-8?B?k=?=", "\xC3\xA9", NULL},
        {"=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=", "\xC3\xA9", NULL},
        {"Re: =?utf-8?q?caf=C3=A9?= au lait", "Re: caf\xC3\xA9 au lait", NULL},
        {"=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c", NULL},
        {"=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xC3\xA9\xC3\xA9", NULL},
        {"=?utf-8?q?hello_world?=", "hello world", NULL},
        {"=?utf-8*en?q?hi?=", "hi", NULL},
        {"=?utf-8?x?abc?=", "=?utf-8?x?abc?=", NULL},
        {"=?utf-8?q?caf=C3=A9", "caf\xC3\xA9", "encoded_word_repaired"},
        {"=?iso-8859-1?q?this is=E9 text?=", "this is\xC3\xA9 text", "encoded_word_repaired"},
        {"=?x-unknown?q?abc?=", "abc", "charset_unknown"},
        {"caf\xE9", "caf\xC3\xA9", "header_8bit"},
        {"caf\xC3\xA9", "caf\xC3\xA9", NULL},
        {"foo=?utf-8?q?bar?=baz", "foobarbaz", NULL},
        {"=?utf-8?q?broken =?utf-8?q?ok?=", "brokenok", "encoded_word_repaired"},
        {"a =? b ?= c", "a =? b ?= c", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mail_warnings w = {0};
        char *got = hg_mail_decode_words(cases[i].in, strlen(cases[i].in), NULL, &w, "test");
        char name[160], shown[100];
        hg_mail_quote(shown, sizeof shown, cases[i].in, strlen(cases[i].in));
        snprintf(name, sizeof name, "encoded words: %s", shown);
        is_str(got, cases[i].want, name);
        bool warned = false;
        for (size_t k = 0; k < w.count; k++)
            warned = warned || (cases[i].warning != NULL &&
                                strncmp(w.items[k], cases[i].warning, strlen(cases[i].warning)) == 0);
        if (cases[i].warning != NULL)
            ok(warned, "%s: warns %s", name, cases[i].warning);
        free(got);
        free_warnings(&w);
    }
}

/* ------------------------------------------------------------ addresses */

static void test_addresses(void)
{
    static const struct {
        const char *in;
        size_t count;
        const char *name0, *email0, *name1, *email1;
    } cases[] = {
        {"Ann <ann@Example.COM>", 1, "Ann", "ann@example.com", NULL, NULL},
        {"\"Smith, Ann\" <a@x.org>, b@y.org", 2, "Smith, Ann", "a@x.org", NULL, "b@y.org"},
        {"Smith, Ann <a@x.org>", 1, "Smith, Ann", "a@x.org", NULL, NULL},
        {"a@x.org (Ann Smith)", 1, "Ann Smith", "a@x.org", NULL, NULL},
        {"Ann Smith a@x.org", 1, "Ann Smith", "a@x.org", NULL, NULL},
        {"undisclosed-recipients:;", 0, NULL, NULL, NULL, NULL},
        {"team: a@x.org, Bob <b@y.org>;", 2, NULL, "a@x.org", "Bob", "b@y.org"},
        {"=?utf-8?q?J=C3=B6rg?= <j@x.de>", 1, "J\xC3\xB6rg", "j@x.de", NULL, NULL},
        {"\"=?utf-8?q?J=C3=B6rg?=\" <j@x.de>", 1, "J\xC3\xB6rg", "j@x.de", NULL, NULL},
        {"=?utf-8?q?M=C3=BCller=2C_Hans?= <h@x.de>", 1, "M\xC3\xBCller, Hans", "h@x.de", NULL, NULL},
        {"MAILER-DAEMON", 1, NULL, "MAILER-DAEMON", NULL, NULL},
        {"Ann <mailto:ann@x.org>", 1, "Ann", "ann@x.org", NULL, NULL},
        {"Ann <ann@x.org", 1, "Ann", "ann@x.org", NULL, NULL},
        {"'Ann Smith' <a@x.org>", 1, "Ann Smith", "a@x.org", NULL, NULL},
        {"<a@x.org> (Ann)", 1, "Ann", "a@x.org", NULL, NULL},
        {"J\xC3\xB6rg <j@x.de>", 1, "J\xC3\xB6rg", "j@x.de", NULL, NULL},
        {"J\xF6rg <j@x.de>", 1, "J\xC3\xB6rg", "j@x.de", NULL, NULL},
        {"a@x.org,, ,b@y.org", 2, NULL, "a@x.org", NULL, "b@y.org"},
        {"\"a\\\"b\" <q@x.org>", 1, "a\"b", "q@x.org", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_mail_address_list list = {0};
        struct mail_warnings w = {0};
        hg_mail_parse_addresses(cases[i].in, strlen(cases[i].in), NULL, &list, &w, "to");
        char name[160];
        snprintf(name, sizeof name, "addresses: %s", cases[i].in);
        is_int((long long)list.count, (long long)cases[i].count, name);
        if (list.count >= 1 && cases[i].count >= 1) {
            is_str(list.items[0].name, cases[i].name0, "  first name");
            is_str(list.items[0].email, cases[i].email0, "  first email");
        }
        if (list.count >= 2 && cases[i].count >= 2) {
            is_str(list.items[1].name, cases[i].name1, "  second name");
            is_str(list.items[1].email, cases[i].email1, "  second email");
        }
        hg_mail_address_list_free(&list);
        free_warnings(&w);
    }
}

static void test_msgids(void)
{
    char *id = hg_mail_first_msgid(" <abc@x.org> (comment)", 22);
    is_str(id, "abc@x.org", "message id in brackets");
    free(id);
    id = hg_mail_first_msgid("abc@x.org", 9);
    is_str(id, "abc@x.org", "message id without brackets");
    free(id);
    id = hg_mail_first_msgid("<>", 2);
    ok(id == NULL, "empty message id");
    free(id);
    const char *refs = "<a@x> <b@x>\r\n <a@x>  <c@x>";
    char **ids;
    struct mail_warnings w = {0};
    size_t n = hg_mail_msgids(refs, strlen(refs), &ids, &w);
    is_int((long long)n, 3, "references deduplicated");
    if (n == 3)
        ok(strcmp(ids[0], "a@x") == 0 && strcmp(ids[2], "c@x") == 0, "references in order");
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free_warnings(&w);
}

/* ------------------------------------------------------------ dates */

static void test_dates(void)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: unreadable */
        bool zone_guessed;
    } cases[] = {
        {"Mon, 3 Jun 2024 10:15:30 +0200", "2024-06-03T08:15:30Z", false},
        {"Mon, 03 Jun 2024 10:15:30 +0200 (CEST)", "2024-06-03T08:15:30Z", false},
        {"3 Jun 2024 10:15 -0500", "2024-06-03T15:15:00Z", false},
        {"Mon, 3 Jun 24 10:15:30 GMT", "2024-06-03T10:15:30Z", false},
        {"Mon, 3 Jun 2024 10:15:30 EST", "2024-06-03T15:15:30Z", false},
        {"Mon, 3 Jun 2024 10:15:30", "2024-06-03T10:15:30Z", true},
        {"Mon Jun  3 10:15:30 2024", "2024-06-03T10:15:30Z", true},
        {"2024-06-03T10:15:30+02:00", "2024-06-03T08:15:30Z", false},
        {"2024-06-03 10:15:30Z", "2024-06-03T10:15:30Z", false},
        {"Mon, 3 Jun 2024 10:15:30 GMT+0200", "2024-06-03T08:15:30Z", false},
        {"Mon, 3 Jun 2024 10.15.30 +0000", "2024-06-03T10:15:30Z", false},
        {"Mon, 3 Jun 2024 10:15:30 PM +0000", "2024-06-03T22:15:30Z", false},
        {"Thu, 1 Jan 1970 00:00:00 +0000", "1970-01-01T00:00:00Z", false},
        {"Sat, 29 Feb 2020 23:59:60 +0000", "2020-02-29T23:59:59Z", false},
        {"Fri, 31 Dec 1999 23:30:00 -0130", "2000-01-01T01:00:00Z", false},
        {"Mon, 30 Feb 2024 10:00:00 +0000", NULL, false},
        {"yesterday", NULL, false},
        {"", NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t epoch = 0;
        bool guessed = false;
        bool got = hg_mail_parse_date(cases[i].in, strlen(cases[i].in), &epoch, &guessed);
        char iso[32] = "";
        if (got)
            hg_mail_format_date(epoch, iso);
        char name[160];
        snprintf(name, sizeof name, "date: %s", cases[i].in);
        is_str(got ? iso : NULL, cases[i].want, name);
        if (got && cases[i].want != NULL)
            ok(guessed == cases[i].zone_guessed, "%s: zone guessed %d", name, guessed);
    }
}

/* ------------------------------------------------------------ ticket tags and text */

static void test_ticket_tags(void)
{
    static const struct {
        const char *subject, *prefix, *want;
    } subjects[] = {
        {"Re: [#1234] Printer", NULL, "1234"},
        {"[Ticket#2024010110000011] Re: x", NULL, "2024010110000011"},
        {"Re: [Ticket #00042] Help", NULL, "42"},
        {"[ticket: 77] help", NULL, "77"},
        {"[Case-9] help", NULL, "9"},
        {"Re: [HD #55] Printer", "HD #", "55"},
        {"Re: [hd#56] Printer", "HD #", "56"},
        {"Invoice [2024] overdue", NULL, NULL},
        {"[#] nothing", NULL, NULL},
        {"[#12a] nothing", NULL, NULL},
        {"[#1234567890123456789] too long", NULL, NULL},
        {"Fwd: [ext] [#8] x", NULL, "8"},
    };
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        char *got = hg_mail_ticket_from_subject(subjects[i].subject, subjects[i].prefix);
        char name[160];
        snprintf(name, sizeof name, "ticket tag: %s", subjects[i].subject);
        is_str(got, subjects[i].want, name);
        free(got);
    }
    static const struct {
        const char *email, *support, *want;
    } addresses[] = {
        {"support+1234@example.com", NULL, "1234"},
        {"support+t42.9f8e7d@example.com", "support@example.com", "42"},
        {"support+ticket-42@example.com", "Support@Example.com", "42"},
        {"support+43@example.com", "Help Desk <support@example.com>", "43"},
        {"other+42@example.com", "support@example.com", NULL},
        {"support+42@evil.example", "support@example.com", NULL},
        {"support+news@example.com", NULL, NULL},
        {"support@example.com", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        char *got = hg_mail_ticket_from_address(addresses[i].email, addresses[i].support);
        char name[160];
        snprintf(name, sizeof name, "plus-address tag: %s", addresses[i].email);
        is_str(got, addresses[i].want, name);
        free(got);
    }
}

static void test_clean_text(void)
{
    static const struct {
        const char *in;
        bool flowed, delsp;
        const char *want;
    } cases[] = {
        {"a\r\nb\rc\n\n", false, false, "a\nb\nc"},
        {"one \ntwo\n", true, false, "one two"},
        {"one \ntwo\n", true, true, "onetwo"},
        {"> quoted \n> more\nanswer\n", true, false, "> quoted more\nanswer"},
        {"-- \nsig\n", true, false, "-- \nsig"},
        {" stuffed\n", true, false, "stuffed"},
        {"a\0b", false, false, "ab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].in);
        if (i == 6)
            len = 3;
        size_t n;
        char *got = hg_mail_clean_text(cases[i].in, len, cases[i].flowed, cases[i].delsp, &n);
        char name[64];
        snprintf(name, sizeof name, "clean text case %zu", i);
        is_str(got, cases[i].want, name);
        free(got);
    }
}

/* ------------------------------------------------------------ message files */

static const char *data_dir(void)
{
    static char dir[4096];
    const char *top = getenv("top_srcdir");
    snprintf(dir, sizeof dir, "%s/tests/data/mail", top != NULL && top[0] != '\0' ? top : ".");
    return dir;
}

static void set_size(json_t *limits, const char *key, size_t *field)
{
    json_t *v = json_object_get(limits, key);
    if (json_is_integer(v))
        *field = (size_t)json_integer_value(v);
}

static void read_limits(json_t *expect, struct hg_mail_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    json_t *l = json_object_get(expect, "_limits");
    if (!json_is_object(l))
        return;
    set_size(l, "max_message_size", &lim->max_message_size);
    set_size(l, "max_header_size", &lim->max_header_size);
    set_size(l, "max_part_size", &lim->max_part_size);
    set_size(l, "max_body_size", &lim->max_body_size);
    json_t *v;
    if (json_is_integer(v = json_object_get(l, "max_depth")))
        lim->max_depth = (unsigned)json_integer_value(v);
    if (json_is_integer(v = json_object_get(l, "max_parts")))
        lim->max_parts = (unsigned)json_integer_value(v);
    if (json_is_string(v = json_object_get(l, "ticket_tag_prefix")))
        lim->ticket_tag_prefix = json_string_value(v);
    if (json_is_string(v = json_object_get(l, "support_address")))
        lim->support_address = json_string_value(v);
}

/* The sorted, distinct codes ("charset_unknown") of the output's warnings. */
static json_t *warning_codes(json_t *out)
{
    json_t *codes = json_array();
    json_t *warnings = json_object_get(out, "warnings");
    char *list[HG_MAIL_MAX_WARNINGS + 2];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(warnings) && n < sizeof list / sizeof list[0]; i++) {
        const char *w = json_string_value(json_array_get(warnings, i));
        const char *colon = strchr(w, ':');
        char *code = strndup(w, colon != NULL ? (size_t)(colon - w) : strlen(w));
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(list[k], code) == 0;
        if (seen)
            free(code);
        else
            list[n++] = code;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(list[k - 1], list[k]) > 0; k--) {
            char *t = list[k];
            list[k] = list[k - 1];
            list[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(codes, json_string(list[i]));
        free(list[i]);
    }
    return codes;
}

static bool in_list(json_t *list, const char *key)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_array_get(list, i)), key) == 0)
            return true;
    return false;
}

/* Parses RAW and compares against EXPECT; returns true when every field matches. */
static bool check_fields(const char *name, const char *raw, size_t len, json_t *expect, json_t *skip,
                         bool *valid_r)
{
    struct hg_mail_limits lim;
    read_limits(expect, &lim);
    struct hg_mail *m = hg_mail_parse(raw, len, &lim);
    char *text = hg_mail_to_json(m, false);
    hg_mail_free(&m);
    json_error_t err;
    json_t *out = json_loads(text, 0, &err);
    *valid_r = out != NULL && hg_utf8_valid(text, strlen(text));
    free(text);
    if (out == NULL) {
        printf("# %s: output is not JSON: %s\n", name, err.text);
        return false;
    }
    bool all = true;
    const char *key;
    json_t *want;
    json_object_foreach(expect, key, want)
    {
        if (key[0] == '_' || in_list(skip, key))
            continue;
        json_t *got =
            strcmp(key, "warning_codes") == 0 ? warning_codes(out) : json_incref(json_object_get(out, key));
        if (got == NULL || !json_equal(got, want)) {
            char *g = got != NULL ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(missing)");
            char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("# %s: %s\n#   got:  %s\n#   want: %s\n", name, key, g, w);
            free(g);
            free(w);
            all = false;
        }
        json_decref(got);
    }
    json_decref(out);
    return all;
}

static char *swap_line_ends(const char *raw, size_t len, size_t *len_r)
{
    bool crlf = memmem(raw, len, "\r\n", 2) != NULL;
    char *out = malloc(len * 2 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (crlf && raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
            continue;
        if (!crlf && raw[i] == '\n')
            out[o++] = '\r';
        out[o++] = raw[i];
    }
    *len_r = o;
    return out;
}

/* Every prefix length of RAW at 32 cut points must parse into valid JSON. */
static bool survives_truncation(const char *raw, size_t len)
{
    bool good = true;
    for (size_t k = 1; k <= 32 && good; k++) {
        size_t cut = len * k / 33;
        char *copy = malloc(cut + 1);
        memcpy(copy, raw, cut);
        struct hg_mail *m = hg_mail_parse(copy, cut, NULL);
        char *text = hg_mail_to_json(m, false);
        json_t *j = json_loads(text, 0, NULL);
        good = j != NULL && hg_utf8_valid(text, strlen(text));
        json_decref(j);
        free(text);
        hg_mail_free(&m);
        free(copy);
    }
    return good;
}

static void test_message_file(const char *dir, const char *file)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    size_t len;
    char *raw = read_file(path, &len);
    snprintf(path, sizeof path, "%s/%s.expect.json", dir, name);
    json_error_t err;
    json_t *expect = json_load_file(path, 0, &err);
    if (raw == NULL || !json_is_object(expect)) {
        ok(0, "%s: readable with an expect file (%s)", name, err.text);
        free(raw);
        json_decref(expect);
        return;
    }
    bool valid;
    ok(check_fields(name, raw, len, expect, NULL, &valid), "%s: expected fields", name);
    ok(valid, "%s: output is valid UTF-8 JSON", name);
    if (!json_is_true(json_object_get(expect, "_no_replay"))) {
        size_t swapped_len;
        char *swapped = swap_line_ends(raw, len, &swapped_len);
        json_t *skip = json_deep_copy(json_object_get(expect, "_replay_skip"));
        if (!json_is_array(skip)) {
            json_decref(skip);
            skip = json_array();
        }
        json_array_append_new(skip, json_string("attachments"));
        char replay_name[300];
        snprintf(replay_name, sizeof replay_name, "%s (line ends swapped)", name);
        ok(check_fields(replay_name, swapped, swapped_len, expect, skip, &valid) && valid, "%s", replay_name);
        json_decref(skip);
        free(swapped);
    }
    ok(survives_truncation(raw, len), "%s: every truncation parses", name);
    json_decref(expect);
    free(raw);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_message_files(void)
{
    const char *dir = data_dir();
    DIR *d = opendir(dir);
    if (d == NULL) {
        ok(0, "open %s", dir);
        return;
    }
    char **files = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
            files = realloc(files, (n + 1) * sizeof *files);
            files[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    if (n > 0)
        qsort(files, n, sizeof *files, compare_names);
    ok(n >= 80, "at least 80 message files (%zu)", n);
    for (size_t i = 0; i < n; i++) {
        test_message_file(dir, files[i]);
        free(files[i]);
    }
    free(files);
}

static void test_api_edges(void)
{
    struct hg_mail *m = hg_mail_parse(NULL, 0, NULL);
    ok(m != NULL && m->message_id != NULL && m->message_id_generated, "NULL input gives a record");
    ok(m->body_text != NULL && m->reply_text != NULL && m->subject != NULL,
       "strings never NULL where promised");
    char *j = hg_mail_to_json(m, true);
    ok(j != NULL && strchr(j, '\n') != NULL, "pretty JSON is indented");
    free(j);
    hg_mail_free(&m);
    ok(m == NULL, "hg_mail_free sets the pointer to NULL");
    hg_mail_free(&m);
    is_str(hg_mail_auto_name(HG_MAIL_AUTO_BOUNCE), "bounce", "auto kind name");
    ok(hg_mail_auto_name(HG_MAIL_AUTO_NONE) == NULL, "no auto kind name for none");
}

int main(void)
{
    test_sha256();
    test_charset();
    test_encoded_words();
    test_addresses();
    test_msgids();
    test_dates();
    test_ticket_tags();
    test_clean_text();
    test_api_edges();
    test_message_files();
    return tap_done();
}
