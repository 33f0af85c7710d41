/*
 * test-outmail.c — unit tests of the outgoing message composer (parsers/outmail.c).
 *
 * The strongest check is the round trip: each message of the table is
 * composed, read back with helpgate's own normalizer (hg_mail_parse) and its
 * subject, names, addresses, ids, date and bodies compared with what went in;
 * every output is also checked for CRLF-only line ends, 7-bit bytes, header
 * lines within 78 columns and body lines within 998 octets. Then tables of
 * hostile input (header injection and friends), exact bytes of a small
 * message, transfer-encoding choice, dates, limits, addresses, message ids
 * and reply subjects (each reply subject is also read back for its ticket
 * tag).
 */
#include "helpgate/mail.h"
#include "helpgate/outmail.h"

#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

/* ------------------------------------------------------------ helpers */

static const struct hg_outmail_address default_to[] = {{"Ann Customer", "ann@example.org"}};

static struct hg_outmail base_message(void)
{
    struct hg_outmail m = {
        .from = {"Example Support", "support@example.com"},
        .to = default_to,
        .n_to = 1,
        .subject = "Your request",
        .date = 1717402500,
        .message_id = "20240603.abc@example.com",
        .body_text = "Hello,\nthank you.\n",
    };
    return m;
}

/* Blank runs to one space, trimmed: how the normalizer hands back header text. */
static char *collapse(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    for (; *s != '\0'; s++) {
        char c = *s == '\t' || *s == '\r' || *s == '\n' ? ' ' : *s;
        if (c == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return out;
}

/* Body text as the normalizer gives it: LF line ends (a lone CR is one too), no blanks or empty lines at
   the end. */
static char *body_form(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (*s == '\r' && s[1] == '\n')
            continue;
        out[n++] = *s == '\r' ? '\n' : *s;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    return out;
}

/* What must hold for every composed message; LABEL names it in failures. */
static void check_shape(const char *data, size_t len, const char *label, bool fold_everywhere)
{
    bool crlf_only = true, seven_bit = true, header_ok = true, body_ok = true, in_header = true;
    size_t line = 0, longest_header = 0, longest_body = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c >= 0x80 || c == 0)
            seven_bit = false;
        if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
            crlf_only = false;
        if (c == '\r' && (i + 1 >= len || data[i + 1] != '\n'))
            crlf_only = false;
        if (c == '\r' || c == '\n') {
            if (c == '\n') {
                if (line == 0)
                    in_header = false;
                if (in_header && line > longest_header)
                    longest_header = line;
                if (!in_header && line > longest_body)
                    longest_body = line;
                line = 0;
            }
            continue;
        }
        line++;
    }
    header_ok = longest_header <= (fold_everywhere ? 78 : 998);
    body_ok = longest_body <= 998;
    ok(crlf_only && seven_bit, "%s: CRLF line ends and 7-bit bytes only", label);
    ok(header_ok, "%s: header lines within %d columns (longest %zu)", label, fold_everywhere ? 78 : 998,
       longest_header);
    ok(body_ok && len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n',
       "%s: body lines within 998 octets, ends with CRLF", label);
}

static bool contains(const char *data, const char *needle)
{
    return data != NULL && strstr(data, needle) != NULL;
}

/* S for a TAP label: controls shown as '?', so that a test name stays on its line. */
static const char *shown(const char *s)
{
    static char out[4][160];
    static int slot;
    char *o = out[slot++ % 4];
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n + 1 < sizeof out[0]; s++)
        o[n++] = (unsigned char)*s < 0x20 || *s == 0x7F ? '?' : *s;
    o[n] = '\0';
    return s == NULL ? "(null)" : o;
}

/* ------------------------------------------------------------ round trips */

struct round_trip {
    const char *label;
    const char *from_name;
    const char *to_name;
    const char *to_email;
    const char *subject;
    const char *body;
    const char *html;
    const char *in_reply_to;
    const char *references[4];
    const char *want_encoding; /* "7bit" or "quoted-printable" for the text part */
};

static const struct round_trip round_trips[] = {
    {"plain ASCII",
     "Example Support",
     "Ann Customer",
     "ann@example.org",
     "Printer is offline",
     "Hello Ann,\n\nwe are on it.\n\n-- \nSupport\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"German names and subject",
     "Jürgen Müller",
     "Zoë Ærøskøbing",
     "zoe@example.org",
     "Grüße aus Köln: Ihre Anfrage",
     "Hallo Zoë,\nvielen Dank für Ihre Nachricht.\n",
     NULL,
     "orig.1@mail.example.org",
     {"root@x.example", "orig.1@mail.example.org", NULL},
     "quoted-printable"},
    {"long Japanese subject, folded encoded words",
     "サポートチーム",
     "山田太郎",
     "yamada@example.jp",
     "お問い合わせありがとうございます。担当者から折り返しご連絡いたしますので、しばらくお待ちください。"
     "チケット番号をご確認ください",
     "山田様\n\nお問い合わせありがとうございます。\n",
     NULL,
     NULL,
     {NULL},
     "quoted-printable"},
    {"emoji (4-byte UTF-8) everywhere",
     "Help 🛟 Desk",
     "Ann 🙂",
     "ann@example.org",
     "🔥🔥🔥 Server down 🔥🔥🔥 please help 🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏🙏",
     "Thanks 👍\n",
     NULL,
     NULL,
     {NULL},
     "quoted-printable"},
    {"ASCII that looks like an encoded word",
     "=?utf-8?q?Mallory?=",
     "Bob",
     "bob@example.org",
     "about =?utf-8?b?SGVsbG8=?= and =?x?= things",
     "text\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"names with specials",
     "Smith, Ann \"Annie\" (Sales)",
     "O'Brien, Pat <pat>",
     "pat@example.org",
     "Re: a: b; c, d <e> \"f\"",
     "x\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"long ASCII word in the subject",
     "A",
     "B",
     "b@example.org",
     "See https://example.com/a/very/long/path/that/does/not/fit/on/one/line/of/seventy/eight/columns/at/all"
     "?query=1&other=2 for details",
     "x\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"long lines, dots and From in the body",
     "A",
     "B",
     "b@example.org",
     "Long body",
     ".starts with a dot\n..two dots\n.\nFrom the start of a line\n"
     "0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "
     "0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789\n"
     "= equals = signs ===\n\ttab\n",
     NULL,
     NULL,
     {NULL},
     "quoted-printable"},
    {"HTML alternative",
     "Support",
     "Ann",
     "ann@example.org",
     "With HTML",
     "Hello Ann,\nplain version.\n",
     "<html><body><p>Hello Ann,</p><p>HTML version – ü</p></body></html>\n",
     NULL,
     {NULL},
     "7bit"},
    {"ticket tag survives",
     "Support",
     "Ann",
     "ann@example.org",
     "Re: [#1234] Printer is offline",
     "ok\n",
     NULL,
     "m1@example.org",
     {"m0@example.org", "m1@example.org", NULL},
     "7bit"},
    {"Cyrillic name longer than one encoded word",
     "Служба технической поддержки клиентов компании Пример",
     "Александр Сергеевич Пушкин-Гончаров",
     "pushkin@example.ru",
     "Ваш запрос принят",
     "Здравствуйте!\n",
     NULL,
     NULL,
     {NULL},
     "quoted-printable"},
    {"body with CRLF and trailing blanks",
     "A",
     "B",
     "b@example.org",
     "CRLF",
     "line one   \r\nline two\t\r\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"empty subject and body", "A", NULL, "b@example.org", "", "", NULL, NULL, {NULL}, "7bit"},
    {"quoted local part",
     "A",
     "Docomo User",
     "\"john.\"@docomo.ne.jp",
     "x",
     "y\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"non-breaking and wide spaces",
     "A\u00a0B",
     "C",
     "c@example.org",
     "a\u00a0b\u3000c d",
     "x\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
    {"mixed scripts with punctuation",
     "Ünïcødé «Name»",
     "C",
     "c@example.org",
     "(Köln) [Bonn] \"Zürich\" — 100% über, naïve façade; ¿qué? ¡sí! 北京",
     "x\n",
     NULL,
     NULL,
     {NULL},
     "7bit"},
};

static void test_round_trips(void)
{
    for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
        const struct round_trip *t = &round_trips[i];
        struct hg_outmail_address to = {t->to_name, t->to_email};
        size_t n_refs = 0;
        while (n_refs < 4 && t->references[n_refs] != NULL)
            n_refs++;
        struct hg_outmail m = base_message();
        m.from.name = t->from_name;
        m.to = &to;
        m.subject = t->subject;
        m.body_text = t->body;
        m.body_html = t->html;
        m.in_reply_to = t->in_reply_to;
        m.references = t->references;
        m.n_references = n_refs;
        char *data = NULL, *error = NULL;
        size_t len = 0;
        if (!ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0, "%s: composes", t->label)) {
            printf("#   error: %s\n", error);
            free(error);
            continue;
        }
        check_shape(data, len, t->label, true);
        char want_cte[64];
        snprintf(want_cte, sizeof want_cte, "Content-Transfer-Encoding: %s\r\n", t->want_encoding);
        ok(contains(data, want_cte), "%s: text part is %s", t->label, t->want_encoding);

        struct hg_mail *got = hg_mail_parse(data, len, NULL);
        char label[200], *want;
        want = collapse(t->subject);
        snprintf(label, sizeof label, "%s: subject read back", t->label);
        is_str(got->subject, want, label);
        free(want);
        want = collapse(t->from_name);
        snprintf(label, sizeof label, "%s: From name read back", t->label);
        is_str(got->from != NULL ? got->from->name : "(no From)", want, label);
        free(want);
        snprintf(label, sizeof label, "%s: From address read back", t->label);
        is_str(got->from != NULL ? got->from->email : NULL, "support@example.com", label);
        want = t->to_name != NULL ? collapse(t->to_name) : NULL;
        snprintf(label, sizeof label, "%s: To read back", t->label);
        bool to_same =
            got->to.count == 1 &&
            ((want == NULL && got->to.items[0].name == NULL) ||
             (want != NULL && got->to.items[0].name != NULL && strcmp(got->to.items[0].name, want) == 0)) &&
            strcmp(got->to.items[0].email, t->to_email) == 0;
        ok(to_same, "%s", label);
        if (!to_same && got->to.count == 1)
            printf("#   to: %s <%s>\n", got->to.items[0].name ? got->to.items[0].name : "(none)",
                   got->to.items[0].email);
        free(want);
        snprintf(label, sizeof label, "%s: Message-ID read back", t->label);
        is_str(got->message_id, "20240603.abc@example.com", label);
        snprintf(label, sizeof label, "%s: Date read back", t->label);
        is_str(got->date, "2024-06-03T08:15:00Z", label);
        snprintf(label, sizeof label, "%s: In-Reply-To read back", t->label);
        is_str(got->in_reply_to, t->in_reply_to, label);
        bool refs_same = got->n_references == n_refs;
        for (size_t k = 0; refs_same && k < n_refs; k++)
            refs_same = strcmp(got->references[k], t->references[k]) == 0;
        ok(refs_same, "%s: References read back (%zu)", t->label, n_refs);
        want = body_form(t->body);
        snprintf(label, sizeof label, "%s: body read back", t->label);
        is_str(got->body_text, want, label);
        free(want);
        if (t->html != NULL) {
            want = body_form(t->html);
            char *have = body_form(got->body_html != NULL ? got->body_html : "(none)");
            snprintf(label, sizeof label, "%s: HTML read back", t->label);
            is_str(have, want, label);
            free(want);
            free(have);
            ok(contains(data, "Content-Type: multipart/alternative;"), "%s: multipart/alternative", t->label);
        }
        ok(got->n_warnings == 0, "%s: read back without warnings (%zu)", t->label, got->n_warnings);
        for (size_t k = 0; k < got->n_warnings; k++)
            printf("#   warning: %s\n", got->warnings[k]);
        hg_mail_free(&got);
        free(data);
    }
}

/* Many references, an address list and extra headers: folding of structured fields. */
static void test_folding(void)
{
    char ids[60][32];
    const char *refs[60];
    for (int i = 0; i < 60; i++) {
        snprintf(ids[i], sizeof ids[i], "msg.%d.%d@host%d.example.org", i, i * 7919, i % 5);
        refs[i] = ids[i];
    }
    struct hg_outmail_address to[12];
    char names[12][48], emails[12][48];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], i % 2 ? "Person Number %d" : "Pérsön Nümber %d", i);
        snprintf(emails[i], sizeof emails[i], "person.%d@example.org", i);
        to[i] = (struct hg_outmail_address){names[i], emails[i]};
    }
    const struct hg_outmail_header headers[] = {
        {"X-Helpgate-Ticket", "1234"},
        {"X-Auto-Response-Suppress", "All"},
        {"Precedence", "bulk"},
        {"X-Long",
         "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v"},
        {"X-Unicode", "Grüße an alle"},
    };
    struct hg_outmail m = base_message();
    m.to = to;
    m.n_to = 12;
    m.cc = to + 1;
    m.n_cc = 3;
    m.reply_to = to + 2;
    m.n_reply_to = 1;
    m.references = refs;
    m.n_references = 60;
    m.in_reply_to = refs[59];
    m.headers = headers;
    m.n_headers = 5;
    m.auto_submitted = "auto-generated";
    char *data = NULL, *error = NULL;
    size_t len = 0;
    if (!ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0, "folding: composes")) {
        printf("#   error: %s\n", error);
        free(error);
        return;
    }
    check_shape(data, len, "folding", true);
    ok(contains(data, "\r\nX-Helpgate-Ticket: 1234\r\nX-Auto-Response-Suppress: All\r\nPrecedence: bulk\r\n"),
       "folding: extra headers in order, as given");
    ok(contains(data, "\r\nAuto-Submitted: auto-generated\r\n"), "folding: Auto-Submitted written");
    ok(contains(data, "\r\nX-Unicode: =?UTF-8?"), "folding: non-ASCII extra value encoded");
    struct hg_mail *got = hg_mail_parse(data, len, NULL);
    bool same = got->n_references == 60;
    for (size_t i = 0; same && i < 60; i++)
        same = strcmp(got->references[i], refs[i]) == 0;
    ok(same, "folding: 60 references read back in order");
    same = got->to.count == 12;
    for (size_t i = 0; same && i < 12; i++)
        same = strcmp(got->to.items[i].email, emails[i]) == 0 && got->to.items[i].name != NULL &&
               strcmp(got->to.items[i].name, names[i]) == 0;
    ok(same, "folding: 12 To addresses with names read back");
    ok(got->cc.count == 3 && strcmp(got->cc.items[2].email, emails[3]) == 0, "folding: Cc read back");
    ok(got->reply_to.count == 1 && strcmp(got->reply_to.items[0].email, emails[2]) == 0 &&
           strcmp(got->reply_to.items[0].name, names[2]) == 0,
       "folding: Reply-To read back");
    const char *x_long = NULL, *x_unicode = NULL;
    for (size_t i = 0; i < got->n_headers; i++) {
        if (strcmp(got->headers[i].name, "X-Long") == 0)
            x_long = got->headers[i].value;
        if (strcmp(got->headers[i].name, "X-Unicode") == 0)
            x_unicode = got->headers[i].value;
    }
    is_str(x_long, headers[3].value, "folding: long extra header unfolds to its value");
    is_str(x_unicode, "Grüße an alle", "folding: encoded extra header decodes to its value");
    ok(got->auto_kind == HG_MAIL_AUTO_AUTOREPLY, "folding: the normalizer sees the message as automatic");
    hg_mail_free(&got);
    free(data);
}

/* ------------------------------------------------------------ exact bytes */

static void test_exact_bytes(void)
{
    struct hg_outmail m = base_message();
    const struct hg_outmail_header h[] = {{"X-Helpgate-Ticket", "1234"}};
    m.headers = h;
    m.n_headers = 1;
    m.in_reply_to = "cust.1@example.org";
    const char *refs[] = {"cust.1@example.org"};
    m.references = refs;
    m.n_references = 1;
    m.auto_submitted = "auto-replied";
    m.subject = "Re: [#1234] Grüße";
    char *data = NULL, *error = NULL;
    size_t len = 0;
    int rc = hg_outmail_compose(&m, 0, &data, &len, &error);
    is_str(rc == 0 ? data : error,
           "Date: Mon, 03 Jun 2024 08:15:00 +0000\r\n"
           "From: Example Support <support@example.com>\r\n"
           "To: Ann Customer <ann@example.org>\r\n"
           "Subject: Re: [#1234] =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
           "Message-ID: <20240603.abc@example.com>\r\n"
           "In-Reply-To: <cust.1@example.org>\r\n"
           "References: <cust.1@example.org>\r\n"
           "Auto-Submitted: auto-replied\r\n"
           "X-Helpgate-Ticket: 1234\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 7bit\r\n"
           "\r\n"
           "Hello,\r\n"
           "thank you.\r\n",
           "exact bytes of a small acknowledgement");
    ok(rc == 0 && len == strlen(data), "length matches the NUL-terminated string");
    char *again = NULL;
    size_t len2 = 0;
    ok(hg_outmail_compose(&m, 0, &again, &len2, &error) == 0 && len2 == len && memcmp(again, data, len) == 0,
       "composing twice gives the same bytes");
    free(again);
    free(data);
}

/* ------------------------------------------------------------ hostile input */

enum field_id {
    F_SUBJECT,
    F_FROM_NAME,
    F_FROM_EMAIL,
    F_TO_NAME,
    F_TO_EMAIL,
    F_CC_EMAIL,
    F_REPLY_TO_EMAIL,
    F_MESSAGE_ID,
    F_IN_REPLY_TO,
    F_REFERENCE,
    F_HEADER_NAME,
    F_HEADER_VALUE,
    F_AUTO_SUBMITTED,
    F_BODY,
    F_HTML,
};

struct hostile {
    const char *label;
    enum field_id field;
    const char *value;
    const char *want_error; /* substring of the error */
};

static const struct hostile hostile_cases[] = {
    {"CRLF in subject", F_SUBJECT, "Hi\r\nBcc: victim@example.net", "subject: contains a line break"},
    {"bare LF in subject", F_SUBJECT, "Hi\nBcc: victim@example.net", "subject: contains a line break"},
    {"bare CR in subject", F_SUBJECT, "Hi\rBcc: victim@example.net", "subject: contains a line break"},
    {"CRLF in From name", F_FROM_NAME, "Evil\r\nBcc: victim@example.net", "from name: contains a line break"},
    {"CRLF in To name", F_TO_NAME, "Ann\r\n\r\nbody injection", "to name: contains a line break"},
    {"CRLF in To address", F_TO_EMAIL, "ann@example.org\r\nBcc: victim@example.net", "line break"},
    {"LF in Cc address", F_CC_EMAIL, "cc@example.org\nBcc: x@y.z", "line break"},
    {"CRLF in Reply-To address", F_REPLY_TO_EMAIL, "r@example.org\r\nX: y", "line break"},
    {"CRLF in Message-ID", F_MESSAGE_ID, "a@b\r\nBcc: x@y.z", "message_id: contains a line break"},
    {"CRLF in In-Reply-To", F_IN_REPLY_TO, "a@b\r\nBcc: x@y.z", "in_reply_to: contains a line break"},
    {"CRLF in a reference", F_REFERENCE, "a@b\r\nBcc: x@y.z", "references[0]: contains a line break"},
    {"CRLF in extra header value", F_HEADER_VALUE, "1\r\nBcc: x@y.z", "headers[0]: contains a line break"},
    {"CRLF in extra header name", F_HEADER_NAME, "X-A\r\nBcc", "headers[0]: header name"},
    {"colon in extra header name", F_HEADER_NAME, "Bcc: x@y.z\r\nX-A", "headers[0]: header name"},
    {"extra Bcc header", F_HEADER_NAME, "bcc", "header Bcc is written by the composer"},
    {"extra From header", F_HEADER_NAME, "FROM", "header From is written by the composer"},
    {"extra Content-Type header", F_HEADER_NAME, "Content-Type", "is written by the composer"},
    {"empty extra header name", F_HEADER_NAME, "", "must have 1 to 76 characters"},
    {"bell in subject", F_SUBJECT, "ding\a", "control character 0x07"},
    {"escape in From name", F_FROM_NAME, "\x1b[31mred", "control character 0x1B"},
    {"DEL in extra header value", F_HEADER_VALUE, "a\x7f", "control character 0x7F"},
    {"invalid UTF-8 in subject", F_SUBJECT, "caf\xe9", "subject: is not valid UTF-8"},
    {"overlong UTF-8 in name", F_TO_NAME, "\xc0\xaf", "not valid UTF-8"},
    {"UTF-16 surrogate in subject", F_SUBJECT, "\xed\xa0\x80", "not valid UTF-8"},
    {"invalid UTF-8 in body", F_BODY, "ok\n\xff\n", "body_text: is not valid UTF-8"},
    {"invalid UTF-8 in HTML", F_HTML, "<p>\xfe</p>", "body_html: is not valid UTF-8"},
    {"address without @", F_TO_EMAIL, "ann.example.org", "has no '@'"},
    {"address with a blank", F_TO_EMAIL, "ann smith@example.org", "malformed local part"},
    {"address with angle brackets", F_TO_EMAIL, "<ann@example.org>", "malformed local part"},
    {"two addresses in one", F_TO_EMAIL, "a@example.org, b@example.org", "malformed local part"},
    {"address with a comma in the domain", F_CC_EMAIL, "a@example.org,b", "no valid domain"},
    {"address without domain", F_FROM_EMAIL, "support@", "no valid domain"},
    {"address without local part", F_FROM_EMAIL, "@example.com", "local part"},
    {"non-ASCII address", F_TO_EMAIL, "jürgen@example.de", "not ASCII"},
    {"NUL-free but tab in address", F_TO_EMAIL, "a\t@example.org", "control character 0x09"},
    {"message id without @", F_MESSAGE_ID, "no-at-sign", "is not a message id"},
    {"message id with brackets", F_MESSAGE_ID, "<a@b>", "is not a message id"},
    {"message id with blank", F_IN_REPLY_TO, "a b@c", "is not a message id"},
    {"unknown Auto-Submitted", F_AUTO_SUBMITTED, "yes", "auto_submitted: \"yes\" is not one of"},
    {"Auto-Submitted with CRLF", F_AUTO_SUBMITTED, "auto-replied\r\nBcc: x@y.z", "auto_submitted:"},
};

static void test_hostile(void)
{
    for (size_t i = 0; i < sizeof hostile_cases / sizeof hostile_cases[0]; i++) {
        const struct hostile *t = &hostile_cases[i];
        struct hg_outmail m = base_message();
        struct hg_outmail_address to = default_to[0], cc = {NULL, "cc@example.org"},
                                  reply_to = {NULL, "r@example.org"};
        struct hg_outmail_header header = {"X-Helpgate-Ticket", "1"};
        const char *refs[] = {"a@b"};
        m.to = &to;
        m.cc = &cc;
        m.n_cc = 1;
        m.reply_to = &reply_to;
        m.n_reply_to = 1;
        m.headers = &header;
        m.n_headers = 1;
        m.references = refs;
        m.n_references = 1;
        switch (t->field) {
        case F_SUBJECT:
            m.subject = t->value;
            break;
        case F_FROM_NAME:
            m.from.name = t->value;
            break;
        case F_FROM_EMAIL:
            m.from.email = t->value;
            break;
        case F_TO_NAME:
            to.name = t->value;
            break;
        case F_TO_EMAIL:
            to.email = t->value;
            break;
        case F_CC_EMAIL:
            cc.email = t->value;
            break;
        case F_REPLY_TO_EMAIL:
            reply_to.email = t->value;
            break;
        case F_MESSAGE_ID:
            m.message_id = t->value;
            break;
        case F_IN_REPLY_TO:
            m.in_reply_to = t->value;
            break;
        case F_REFERENCE:
            refs[0] = t->value;
            break;
        case F_HEADER_NAME:
            header.name = t->value;
            break;
        case F_HEADER_VALUE:
            header.value = t->value;
            break;
        case F_AUTO_SUBMITTED:
            m.auto_submitted = t->value;
            break;
        case F_BODY:
            m.body_text = t->value;
            break;
        case F_HTML:
            m.body_html = t->value;
            break;
        }
        char *data = NULL, *error = NULL;
        size_t len = 0;
        int rc = hg_outmail_compose(&m, 0, &data, &len, &error);
        ok(rc == -1 && data == NULL && contains(error, t->want_error), "refused: %s", t->label);
        if (rc != -1 || !contains(error, t->want_error))
            printf("#   rc %d, error: %s\n#   want: %s\n", rc, error ? error : "(none)", t->want_error);
        bool printable = true;
        for (const char *p = error; p != NULL && *p != '\0'; p++)
            printable = printable && (unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7F;
        ok(error != NULL && printable, "%s: error is one printable line", t->label);
        free(error);
        free(data);
    }
}

/* Inputs that are odd but allowed: a leading dot, a tab, a body with controls. */
static void test_allowed(void)
{
    struct hg_outmail m = base_message();
    m.subject = "\tTabbed\tsubject  with   blanks ";
    m.body_text = ".\n..\nbell\a and NUL-free controls \x01\x1f\rlone CR\n";
    char *data = NULL, *error = NULL;
    size_t len = 0;
    if (!ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0, "controls in the body are allowed")) {
        printf("#   error: %s\n", error);
        free(error);
        return;
    }
    ok(contains(data, "Subject: Tabbed subject with blanks\r\n"), "subject blanks collapsed and trimmed");
    ok(contains(data,
                "quoted-printable\r\n\r\n.\r\n..\r\nbell=07 and NUL-free controls =01=1F=0Dlone CR\r\n"),
       "body controls quoted-printable encoded, dots left to SMTP");
    free(data);
}

/* ------------------------------------------------------------ transfer encodings */

struct encoding_case {
    const char *label;
    const char *body;
    const char *want_cte;
    const char *want_part; /* substring of the output */
};

static const struct encoding_case encoding_cases[] = {
    {"short ASCII lines", "a\nb\n", "7bit", "\r\n\r\na\r\nb\r\n"},
    {"78 columns stays 7bit",
     "123456789012345678901234567890123456789012345678901234567890123456789012345678\n", "7bit",
     "\r\n\r\n123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n"},
    {"79 columns is quoted-printable",
     "1234567890123456789012345678901234567890123456789012345678901234567890123456789\n", "quoted-printable",
     "\r\n\r\n123456789012345678901234567890123456789012345678901234567890123456789012345=\r\n6789\r\n"},
    {"non-ASCII", "ü\n", "quoted-printable", "\r\n\r\n=C3=BC\r\n"},
    {"equals and trailing blanks", "ü a=b  \nend\t\n", "quoted-printable", "=C3=BC a=3Db =20\r\nend=09\r\n"},
    {"no newline at the end", "last", "7bit", "\r\n\r\nlast\r\n"},
    {"From at line start", "é\nFrom me\n", "quoted-printable", "=C3=A9\r\n=46rom me\r\n"},
    {"soft break never splits =XX", "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü\n",
     "quoted-printable",
     "=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=C3=BC=\r\n=C3=BC"},
};

static void test_encodings(void)
{
    for (size_t i = 0; i < sizeof encoding_cases / sizeof encoding_cases[0]; i++) {
        const struct encoding_case *t = &encoding_cases[i];
        struct hg_outmail m = base_message();
        m.body_text = t->body;
        char *data = NULL, *error = NULL;
        size_t len = 0;
        if (!ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0, "encoding: %s: composes", t->label)) {
            free(error);
            continue;
        }
        char cte[64];
        snprintf(cte, sizeof cte, "Content-Transfer-Encoding: %s\r\n", t->want_cte);
        ok(contains(data, cte), "encoding: %s: %s", t->label, t->want_cte);
        ok(contains(data, t->want_part), "encoding: %s: encoded as expected", t->label);
        if (!contains(data, t->want_part))
            printf("#   got: %s\n", strstr(data, "\r\n\r\n"));
        struct hg_mail *got = hg_mail_parse(data, len, NULL);
        char *want = body_form(t->body);
        char label[128];
        snprintf(label, sizeof label, "encoding: %s: read back", t->label);
        is_str(got->body_text, want, label);
        free(want);
        hg_mail_free(&got);
        free(data);
    }
}

/* ------------------------------------------------------------ dates and limits */

static void test_dates(void)
{
    static const struct {
        int64_t epoch;
        const char *want;
    } cases[] = {
        {0, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"},
        {951782400, "Date: Tue, 29 Feb 2000 00:00:00 +0000\r\n"},
        {1709164800, "Date: Thu, 29 Feb 2024 00:00:00 +0000\r\n"},
        {1717402500, "Date: Mon, 03 Jun 2024 08:15:00 +0000\r\n"},
        {4107542399, "Date: Sun, 28 Feb 2100 23:59:59 +0000\r\n"},
        {253402300799, "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_outmail m = base_message();
        m.date = cases[i].epoch;
        char *data = NULL, *error = NULL;
        size_t len = 0;
        int rc = hg_outmail_compose(&m, 0, &data, &len, &error);
        ok(rc == 0 && strncmp(data, cases[i].want, strlen(cases[i].want)) == 0, "date %lld: %.37s",
           (long long)cases[i].epoch, cases[i].want);
        free(data);
        free(error);
    }
    const int64_t bad[] = {-1, 253402300800, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct hg_outmail m = base_message();
        m.date = bad[i];
        char *data = NULL, *error = NULL;
        size_t len = 0;
        ok(hg_outmail_compose(&m, 0, &data, &len, &error) == -1 && contains(error, "date:"),
           "date %lld refused", (long long)bad[i]);
        free(error);
    }
}

static void test_limits(void)
{
    size_t big = 100000;
    char *body = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        body[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
    body[big] = '\0';
    struct hg_outmail m = base_message();
    m.body_text = body;
    char *data = NULL, *error = NULL;
    size_t len = 0;
    ok(hg_outmail_compose(&m, 50000, &data, &len, &error) == -1 && contains(error, "larger than the limit"),
       "a message over max_size is refused");
    free(error);
    error = NULL;
    ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0 && len > big, "the default limit allows it");
    free(data);
    m.body_text = "short";
    ok(hg_outmail_compose(&m, 300, &data, &len, &error) == 0 && len <= 300,
       "a small limit fits a small message");
    free(data);

    /* a single word that cannot fit on a 998-octet line in an extra header */
    char *word = malloc(1200);
    memset(word, 'x', 1199);
    word[1199] = '\0';
    struct hg_outmail_header h = {"X-Long", word};
    m.headers = &h;
    m.n_headers = 1;
    error = NULL;
    ok(hg_outmail_compose(&m, 0, &data, &len, &error) == -1 && contains(error, "998"),
       "an extra header word too long for a line is refused");
    free(error);
    /* the same word in the subject is encoded and folded */
    m.n_headers = 0;
    m.subject = word;
    ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0, "the same word in the subject is folded");
    if (data != NULL) {
        check_shape(data, len, "1199-character subject word", true);
        struct hg_mail *got = hg_mail_parse(data, len, NULL);
        is_str(got->subject, word, "1199-character subject word read back");
        hg_mail_free(&got);
    }
    free(data);
    free(word);
    free(body);

    struct hg_outmail none = base_message();
    none.n_to = 0;
    error = NULL;
    ok(hg_outmail_compose(&none, 0, &data, &len, &error) == -1 && contains(error, "to:"),
       "a message without recipients is refused");
    free(error);
    none = base_message();
    none.message_id = NULL;
    ok(hg_outmail_compose(&none, 0, &data, &len, &error) == -1 && contains(error, "message_id"),
       "a message without Message-ID is refused");
    free(error);
    none = base_message();
    none.n_cc = 2;
    ok(hg_outmail_compose(&none, 0, &data, &len, &error) == -1 && contains(error, "NULL"),
       "a count without its list is refused");
    free(error);
}

/* ------------------------------------------------------------ addresses and ids */

static void test_addresses(void)
{
    static const struct {
        const char *email;
        const char *written; /* NULL: refused */
    } cases[] = {
        {"a@b.c", "a@b.c"},
        {"first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"},
        {"o'brien@example.ie", "o'brien@example.ie"},
        {"user@localhost", "user@localhost"},
        {"x@[192.0.2.1]", "x@[192.0.2.1]"},
        {"\"john.\"@docomo.ne.jp", "\"john.\"@docomo.ne.jp"},
        {"john.@docomo.ne.jp", "\"john.\"@docomo.ne.jp"},
        {"john..doe@example.org", "\"john..doe\"@example.org"},
        {"\"a b\"@example.org", "\"a b\"@example.org"},
        {"\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org"},
        {"no-at", NULL},
        {"a@", NULL},
        {"@b.c", NULL},
        {"a@-b.c", NULL},
        {"a@b-.c", NULL},
        {"a@b..c", NULL},
        {"a@.b.c", NULL},
        {"a@b.c.", NULL},
        {"a@b@c.d", NULL},
        {"a(b)@c.d", NULL},
        {"a;b@c.d", NULL},
        {"\"unterminated@c.d", NULL},
        {"\"a\"b\"@c.d", NULL},
        {"a@b_c!.d", NULL},
        {"a@[1.2.3.4", NULL},
        {"ä@b.c", NULL},
        {"a@b.c\r\nBcc: x@y", NULL},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c", NULL}, /* 65 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *error = NULL;
        int rc = hg_outmail_check_address(cases[i].email, &error);
        if (cases[i].written == NULL) {
            ok(rc == -1 && error != NULL, "address refused: %s", shown(cases[i].email));
            free(error);
            continue;
        }
        ok(rc == 0, "address accepted: %s", cases[i].email);
        free(error);
        struct hg_outmail m = base_message();
        struct hg_outmail_address to = {NULL, cases[i].email};
        m.to = &to;
        char *data = NULL;
        size_t len = 0;
        char want[128];
        snprintf(want, sizeof want, "\r\nTo: %s\r\n", cases[i].written);
        ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0 && contains(data, want), "address written: %s",
           cases[i].written);
        free(data);
    }
    char *error = NULL;
    ok(hg_outmail_check_address(NULL, &error) == -1, "NULL address refused");
    free(error);
}

static void test_message_ids(void)
{
    static const struct {
        const char *token, *domain, *want;
    } cases[] = {
        {"hg.1234.5.f00d", "example.com", "hg.1234.5.f00d@example.com"},
        {"A1b2-C3_d4+e5", "mail.example.org", "A1b2-C3_d4+e5@mail.example.org"},
        {"x", "localhost", "x@localhost"},
        {"", "example.com", NULL},
        {".x", "example.com", NULL},
        {"x.", "example.com", NULL},
        {"x..y", "example.com", NULL},
        {"x y", "example.com", NULL},
        {"x@y", "example.com", NULL},
        {"x<y", "example.com", NULL},
        {"x\r\ny", "example.com", NULL},
        {"x", "", NULL},
        {"x", "exa mple.com", NULL},
        {"x", "[192.0.2.1]", NULL},
        {"x", "example.com\r\n", NULL},
        {NULL, "example.com", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *id = NULL, *error = NULL;
        int rc = hg_outmail_message_id(cases[i].token, cases[i].domain, &id, &error);
        char label[128];
        snprintf(label, sizeof label, "message id from \"%s\" and \"%s\"", shown(cases[i].token),
                 shown(cases[i].domain));
        if (cases[i].want != NULL) {
            is_str(rc == 0 ? id : error, cases[i].want, label);
            ok(hg_outmail_msgid_valid(id), "%s is valid as a message id", cases[i].want);
        } else {
            ok(rc == -1 && id == NULL && error != NULL, "%s refused", label);
        }
        free(id);
        free(error);
    }
    char *long_token = malloc(300);
    memset(long_token, 'a', 299);
    long_token[299] = '\0';
    char *id = NULL, *error = NULL;
    ok(hg_outmail_message_id(long_token, "example.com", &id, &error) == -1,
       "a 299-character token is refused");
    free(error);
    free(long_token);

    static const struct {
        const char *id;
        bool valid;
    } ids[] = {
        {"a@b", true},         {"CAF=x+y/z@mail.gmail.com", true},
        {"a", false},          {"@b", false},
        {"a@", false},         {"a@b@c", false},
        {"a b@c", false},      {"<a@b>", false},
        {"a\"@b", false},      {"(a)@b", false},
        {"\xc3\xa4@b", false}, {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ok(hg_outmail_msgid_valid(ids[i].id) == ids[i].valid, "msgid_valid(%s) is %s", shown(ids[i].id),
           ids[i].valid ? "true" : "false");
}

/* ------------------------------------------------------------ reply subjects */

struct reply_case {
    const char *subject;
    const char *prefix;
    int64_t ticket;
    const char *want;
};

static const struct reply_case reply_cases[] = {
    {"Printer offline", NULL, 12, "Re: [#12] Printer offline"},
    {"Re: [#12] Printer offline", NULL, 12, "Re: [#12] Printer offline"},
    {"Re: Re: AW: Fwd: Printer offline", NULL, 12, "Re: [#12] Printer offline"},
    {"AW: Re: x", NULL, 0, "Re: x"},
    {"RE[2]: x", NULL, 0, "Re: x"},
    {"Re(3): x", NULL, 0, "Re: x"},
    {"Re : x", NULL, 0, "Re: x"},
    {"SV: VS: Antw: Odp: x", NULL, 0, "Re: x"},
    {"WG: TR: RV: Enc: FW: x", NULL, 0, "Re: x"},
    {"RÉF: Réf: x", NULL, 0, "Re: x"},
    {"回复：转发: x", NULL, 12, "Re: [#12] x"},
    {"AW: Re: [#12] Fwd: x [#12]", NULL, 12, "Re: [#12] x"},
    {"Re: [#12] Re: [#12] x", NULL, 12, "Re: [#12] x"},
    {"Printer offline [#12]", NULL, 12, "Re: Printer offline [#12]"},
    {"Re: [EXTERNAL] Printer offline [#12]", NULL, 12, "Re: [EXTERNAL] Printer offline [#12]"},
    {"[#99] other ticket", NULL, 12, "Re: [#12] [#99] other ticket"},
    {"[#99] other ticket [#12]", NULL, 12, "Re: [#12] [#99] other ticket"},
    {"[Ticket#99] other ticket", NULL, 12, "Re: [#12] [Ticket#99] other ticket"},
    {"[Case: 99] other ticket", NULL, 12, "Re: [#12] [Case: 99] other ticket"},
    {"Re: [#012] leading zero", NULL, 12, "Re: [#12] leading zero"},
    {"[#123] longer number", NULL, 12, "Re: [#12] [#123] longer number"},
    {"[Ticket#12] x", "Ticket#", 12, "Re: [Ticket#12] x"},
    {"[ticket#12] x", "Ticket#", 12, "Re: [Ticket#12] x"},
    {"x", "Ticket#", 12, "Re: [Ticket#12] x"},
    {"[#12] hash tag with another prefix", "Ticket#", 12,
     "Re: [Ticket#12] [#12] hash tag with another prefix"},
    {"", NULL, 12, "Re: [#12]"},
    {NULL, NULL, 12, "Re: [#12]"},
    {"Re:", NULL, 0, "Re:"},
    {"  Re:\tx\r\n y  ", NULL, 12, "Re: [#12] x y"},
    {"Reply needed", NULL, 12, "Re: [#12] Reply needed"},
    {"Fwdx: y", NULL, 0, "Re: Fwdx: y"},
    {"Rest: y", NULL, 0, "Re: Rest: y"},
    {"[list] Re: x", NULL, 0, "Re: [list] Re: x"},
    {"Grüße [#12]", NULL, 12, "Re: Grüße [#12]"},
    {"x", NULL, 999999999999999999, "Re: [#999999999999999999] x"},
};

static void test_reply_subjects(void)
{
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const struct reply_case *t = &reply_cases[i];
        char *got = NULL, *error = NULL;
        int rc = hg_outmail_reply_subject(t->subject, t->prefix, t->ticket, &got, &error);
        char label[200];
        snprintf(label, sizeof label, "reply subject of \"%s\" (%s, %lld)", shown(t->subject),
                 t->prefix ? t->prefix : "#", (long long)t->ticket);
        is_str(rc == 0 ? got : error, t->want, label);
        if (rc == 0 && t->ticket > 0) {
            /* the normalizer must find this ticket in the subject as sent */
            struct hg_outmail m = base_message();
            m.subject = got;
            char *data = NULL;
            size_t len = 0;
            if (hg_outmail_compose(&m, 0, &data, &len, &error) == 0) {
                struct hg_mail_limits limits = {.ticket_tag_prefix = t->prefix};
                struct hg_mail *mail = hg_mail_parse(data, len, &limits);
                char want_tag[32];
                snprintf(want_tag, sizeof want_tag, "%lld", (long long)t->ticket);
                snprintf(label, sizeof label, "the normalizer reads ticket %lld from \"%s\"",
                         (long long)t->ticket, got);
                is_str(mail->ticket_tag, want_tag, label);
                hg_mail_free(&mail);
            }
            free(data);
        }
        free(got);
        free(error);
    }
    static const struct {
        const char *prefix;
        int64_t ticket;
        const char *want_error;
    } bad[] = {
        {"[#", 12, "brackets"},
        {"#]", 12, "brackets"},
        {"Ticket #", 12, "blanks"},
        {"a\nb", 12, "controls"},
        {"#", -1, "negative"},
        {"\xff", 12, "UTF-8"},
        {"0123456789012345678901234567890123", 12, "at most 32"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *got = NULL, *error = NULL;
        int rc = hg_outmail_reply_subject("x", bad[i].prefix, bad[i].ticket, &got, &error);
        ok(rc == -1 && got == NULL && contains(error, bad[i].want_error),
           "reply subject refuses prefix %zu (%s)", i, bad[i].want_error);
        free(error);
    }
}

int main(void)
{
    test_round_trips();
    test_folding();
    test_exact_bytes();
    test_hostile();
    test_allowed();
    test_encodings();
    test_dates();
    test_limits();
    test_addresses();
    test_message_ids();
    test_reply_subjects();
    return tap_done();
}
