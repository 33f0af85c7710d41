/*
 * fuzz_outmail.c — libFuzzer target for the outgoing mail composer and the
 * signed Reply-To (parsers/outmail.c, parsers/signed_address.c).
 *
 * Input: one flags byte, then fields separated by NUL bytes: subject, From
 * name, To name, Cc address, text body, HTML body, In-Reply-To, a
 * reference, an extra header value, a subject to reply to, a ticket tag
 * prefix, a candidate signed address. Missing fields are empty.
 *
 * What must hold (anything else aborts):
 *  - compose either fails with an error or gives 7-bit CRLF text with lines
 *    of at most 998 octets whose header block holds exactly the fields the
 *    composer writes, each once (no injected header, ever);
 *  - read back with hg_mail_parse, the subject, the From name (when it has
 *    no quotes or parentheses the normalizer strips), In-Reply-To, the
 *    reference and the text body (the HTML body when there is one) equal
 *    what went in, blanks aside;
 *  - a reply subject made for ticket N, sent and read back with the same
 *    prefix, gives ticket tag N;
 *  - a signed address made for any numbers verifies to them, and a
 *    candidate that verifies is exactly the address made for its numbers.
 * Seeds: tests/fuzz/seeds/outmail/.
 */
#include "helpgate/mail.h"
#include "helpgate/outmail.h"
#include "helpgate/signed_address.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_FIELDS 12
#define SUPPORT "support@example.com"

static const unsigned char secret[] = "fuzzing secret, 32 bytes long!!!";

static void require(bool cond)
{
    if (!cond)
        abort();
}

/* True at a U+FEFF, which the normalizer drops where a decoded piece of text starts with it (a BOM). */
static bool is_bom(const char *s)
{
    return strncmp(s, "\xEF\xBB\xBF", 3) == 0;
}

/* Blank and control runs to one space, trimmed, U+FEFF dropped (how the normalizer hands back header text).
 */
static char *collapse(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (is_bom(s)) {
            s += 2;
            continue;
        }
        char c = (unsigned char)*s < 0x20 || *s == 0x7F ? ' ' : *s;
        if (c == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return out;
}

/* LF line ends (a lone CR is one too), U+FEFF dropped, no blanks or empty lines at the end. */
static char *body_form(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (is_bom(s))
            s += 2;
        else if (!(*s == '\r' && s[1] == '\n'))
            out[n++] = *s == '\r' ? '\n' : *s;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    return out;
}

/* A and B equal once both are put through FORM. */
static bool same_form(const char *a, const char *b, char *(*form)(const char *))
{
    char *fa = form(a != NULL ? a : ""), *fb = form(b != NULL ? b : "");
    bool same = strcmp(fa, fb) == 0;
    free(fa);
    free(fb);
    return same;
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static const char *const allowed_fields[] = {
    "Date",         "From",
    "Reply-To",     "To",
    "Cc",           "Subject",
    "Message-ID",   "In-Reply-To",
    "References",   "Auto-Submitted",
    "X-Fuzz",       "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding",
};

/* 7-bit, CRLF only, lines <= 998, ends with CRLF, the header block holds only our fields, each once. */
static void check_output(const char *out, size_t len)
{
    unsigned seen[sizeof allowed_fields / sizeof allowed_fields[0]] = {0};
    size_t line_start = 0;
    bool in_header = true;
    require(len >= 2 && out[len - 2] == '\r' && out[len - 1] == '\n');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        require(c != 0 && c < 0x80);
        if (c == '\r')
            require(i + 1 < len && out[i + 1] == '\n');
        if (c != '\n')
            continue;
        require(i > 0 && out[i - 1] == '\r');
        size_t line_len = i - 1 - line_start;
        require(line_len <= 998);
        if (in_header && line_len == 0) {
            in_header = false;
        } else if (in_header && out[line_start] != ' ' && out[line_start] != '\t') {
            const char *colon = memchr(out + line_start, ':', line_len);
            require(colon != NULL);
            size_t name_len = (size_t)(colon - (out + line_start));
            bool known = false;
            for (size_t k = 0; k < sizeof allowed_fields / sizeof allowed_fields[0]; k++) {
                if (strlen(allowed_fields[k]) == name_len &&
                    strncasecmp(out + line_start, allowed_fields[k], name_len) == 0) {
                    known = true;
                    require(++seen[k] == 1);
                }
            }
            require(known);
        }
        line_start = i + 1;
    }
    require(!in_header);
}

static void check_signed(const char *candidate, uint8_t flags)
{
    struct hg_signed_result r;
    char *error = NULL;
    require(hg_signed_address_verify(secret, sizeof secret - 1, SUPPORT, candidate, &r, &error) == 0);
    require(error == NULL);
    if (r.status != HG_SIGNED_VALID) {
        require(r.ticket == 0 && r.agent == 0 && r.purpose == 0);
    } else {
        char *address = NULL;
        require(hg_signed_address_make(secret, sizeof secret - 1, SUPPORT, r.purpose, r.ticket, r.agent,
                                       &address, &error) == 0);
        /* the candidate, trimmed, without <>, lower-cased, is exactly that address */
        char *c = collapse(candidate);
        size_t n = strlen(c);
        char *p = c;
        if (n >= 2 && p[0] == '<' && p[n - 1] == '>') {
            p[n - 1] = '\0';
            p++;
        }
        for (char *q = p; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        require(strcmp(p, address) == 0);
        free(c);
        free(address);
    }
    /* and a made one verifies */
    uint64_t ticket = 1 + (uint64_t)flags * 7919u + strlen(candidate);
    uint64_t agent = flags & 0x10 ? strlen(candidate) : 0;
    enum hg_signed_purpose purpose = flags & 0x20 ? HG_SIGNED_CUSTOMER : HG_SIGNED_AGENT;
    char *address = NULL;
    require(hg_signed_address_make(secret, sizeof secret - 1, SUPPORT, purpose, ticket, agent, &address,
                                   &error) == 0);
    require(hg_signed_address_verify(secret, sizeof secret - 1, SUPPORT, address, &r, &error) == 0);
    require(r.status == HG_SIGNED_VALID && r.ticket == ticket && r.agent == agent && r.purpose == purpose);
    free(address);
}

static void check_reply_subject(const char *subject, const char *prefix, uint8_t flags)
{
    int64_t ticket = flags & 0x40 ? 0 : 1 + (int64_t)(flags & 0x0F) * 1000 + (int64_t)strlen(subject) % 97;
    char *reply = NULL, *error = NULL;
    if (hg_outmail_reply_subject(subject, prefix, ticket, &reply, &error) < 0) {
        require(error != NULL && reply == NULL);
        free(error);
        return;
    }
    require(strncmp(reply, "Re: ", 4) == 0 || strcmp(reply, "Re:") == 0);
    static const struct hg_outmail_address to = {NULL, "ann@example.org"};
    struct hg_outmail m = {
        .from = {NULL, SUPPORT},
        .to = &to,
        .n_to = 1,
        .subject = reply,
        .message_id = "r@example.com",
        .body_text = "x",
    };
    char *out = NULL;
    size_t len = 0;
    if (hg_outmail_compose(&m, 0, &out, &len, &error) < 0) {
        free(error); /* e.g. invalid UTF-8 in the subject replied to */
        free(reply);
        return;
    }
    check_output(out, len);
    if (ticket > 0 && strlen(reply) < 2000) {
        struct hg_mail_limits limits = {.ticket_tag_prefix = prefix};
        struct hg_mail *mail = hg_mail_parse(out, len, &limits);
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)ticket);
        require(mail->ticket_tag != NULL && strcmp(mail->ticket_tag, want) == 0);
        hg_mail_free(&mail);
    }
    free(out);
    free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 200000)
        return 0;
    uint8_t flags = data[0];
    char *copy = malloc(size);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    const char *f[N_FIELDS];
    size_t n = 0;
    for (const char *p = copy; n < N_FIELDS; n++) {
        f[n] = p;
        size_t l = strlen(p);
        p += l < (size_t)(copy + size - 1 - p) ? l + 1 : l;
    }

    char *error = NULL;
    struct hg_outmail_address to = {f[2], "ann@example.org"};
    struct hg_outmail_address cc = {NULL, f[3]};
    struct hg_outmail_header header = {"X-Fuzz", f[8]};
    const char *refs[] = {f[7]};
    bool use_cc = hg_outmail_check_address(f[3], &error) == 0;
    free(error);
    error = NULL;
    bool use_irt = hg_outmail_msgid_valid(f[6]), use_ref = hg_outmail_msgid_valid(f[7]);
    struct hg_outmail m = {
        .from = {f[1], SUPPORT},
        .to = &to,
        .n_to = 1,
        .cc = &cc,
        .n_cc = use_cc ? 1 : 0,
        .subject = f[0],
        .date = (int64_t)flags * 86399 * 365,
        .message_id = "fuzz.1@example.com",
        .in_reply_to = use_irt ? f[6] : NULL,
        .references = refs,
        .n_references = use_ref ? 1 : 0,
        .auto_submitted = flags & 2 ? "auto-replied" : NULL,
        .headers = &header,
        .n_headers = flags & 4 ? 1 : 0,
        .body_text = f[4],
        .body_html = flags & 1 ? f[5] : NULL,
    };
    char *out = NULL;
    size_t len = 0;
    size_t max_size = flags & 8 ? 4096 : 0;
    if (hg_outmail_compose(&m, max_size, &out, &len, &error) < 0) {
        require(error != NULL && out == NULL);
        free(error);
    } else {
        require(error == NULL && strlen(out) == len);
        require(max_size == 0 || len <= max_size);
        check_output(out, len);
        struct hg_mail *mail = hg_mail_parse(out, len, NULL);
        if (strlen(f[0]) < 4000)
            require(same_form(mail->subject, f[0], collapse));
        if (strpbrk(f[1], "\"'()\\") == NULL)
            require(mail->from != NULL && same_form(mail->from->name, f[1], collapse));
        require(mail->from != NULL && strcmp(mail->from->email, SUPPORT) == 0);
        require(mail->to.count == 1 && strcmp(mail->to.items[0].email, "ann@example.org") == 0);
        if (use_irt)
            require(same_text(mail->in_reply_to, f[6]));
        if (use_ref)
            require(mail->n_references == 1 && strcmp(mail->references[0], f[7]) == 0);
        if (m.body_html == NULL) /* with HTML, an empty text part makes the HTML the main body */
            require(same_form(mail->body_text, f[4], body_form));
        else
            require(same_form(mail->body_html, f[5], body_form));
        hg_mail_free(&mail);
        free(out);
    }

    check_reply_subject(f[9], f[10], flags);
    check_signed(f[11], flags);
    free(copy);
    return 0;
}
