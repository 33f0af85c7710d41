/*
 * mail.c — hg_mail_parse(): raw message in, normalized record out (see mail.h).
 *
 * The steps: cap the input, split the top-level header block, read the
 * envelope fields (ids, date, addresses, subject), walk the MIME structure
 * (mail_mime.c), choose and decode the body and the attachments
 * (mail_body.c), extract the reply (reply.h), find the ticket tag and the
 * auto-submitted verdict (mail_auto.c), and make up a Message-ID when there
 * is none. Nothing here can fail; repairs become warnings.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/charset.h"
#include "helpgate/reply.h"
#include "helpgate/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#define DEFAULT_MAX_MESSAGE_SIZE ((size_t)64 << 20)
#define DEFAULT_MAX_DEPTH 20
#define CEILING_MAX_DEPTH 100
#define DEFAULT_MAX_PARTS 500
#define DEFAULT_MAX_HEADER_SIZE ((size_t)256 << 10)
#define DEFAULT_MAX_PART_SIZE ((size_t)32 << 20)
#define DEFAULT_MAX_BODY_SIZE ((size_t)4 << 20)
#define MAX_SUBJECT_BYTES 4096

static void resolve_limits(const struct hg_mail_limits *in, struct hg_mail_limits *out)
{
    static const struct hg_mail_limits none = {0};
    if (in == NULL)
        in = &none;
    out->max_message_size = in->max_message_size ? in->max_message_size : DEFAULT_MAX_MESSAGE_SIZE;
    out->max_depth = in->max_depth ? in->max_depth : DEFAULT_MAX_DEPTH;
    if (out->max_depth > CEILING_MAX_DEPTH)
        out->max_depth = CEILING_MAX_DEPTH; /* the walk recurses once per level: keep the stack small */
    out->max_parts = in->max_parts ? in->max_parts : DEFAULT_MAX_PARTS;
    out->max_header_size = in->max_header_size ? in->max_header_size : DEFAULT_MAX_HEADER_SIZE;
    out->max_part_size = in->max_part_size ? in->max_part_size : DEFAULT_MAX_PART_SIZE;
    out->max_body_size = in->max_body_size ? in->max_body_size : DEFAULT_MAX_BODY_SIZE;
    out->ticket_tag_prefix =
        in->ticket_tag_prefix != NULL && in->ticket_tag_prefix[0] ? in->ticket_tag_prefix : "#";
    out->support_address = in->support_address;
}

const char *hg_mail_auto_name(enum hg_mail_auto kind)
{
    switch (kind) {
    case HG_MAIL_AUTO_AUTOREPLY:
        return "autoreply";
    case HG_MAIL_AUTO_BOUNCE:
        return "bounce";
    case HG_MAIL_AUTO_LIST:
        return "list";
    case HG_MAIL_AUTO_BULK:
        return "bulk";
    case HG_MAIL_AUTO_NONE:
        break;
    }
    return NULL;
}

/* ------------------------------------------------------------ header fields */

/*
 * The charset to read raw 8-bit header text in when it is not UTF-8: the
 * top-level one, else that of the first text part naming a charset that is
 * not ASCII or UTF-8 (the sender's mailer most likely used it for both).
 */
static const char *header_fallback_charset(const struct mail_ctx *c)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct mail_part *p = &c->parts[i];
        if (i > 0 && strcmp(p->type, "text") != 0)
            continue;
        const struct mail_param *cs = hg_mail_param_get(&p->ct, "charset");
        if (cs == NULL || cs->value_len == 0)
            continue;
        char resolved[64];
        if (i == 0 || (hg_charset_resolve(cs->value, resolved, sizeof resolved) &&
                       strcmp(resolved, "US-ASCII") != 0 && strcmp(resolved, "UTF-8") != 0))
            return cs->value;
    }
    return NULL;
}

static char *decoded_header(struct mail_ctx *c, const struct mail_headers *h, const char *name,
                            const char *where)
{
    const struct mail_header *hd = hg_mail_header_get(h, name);
    if (hd == NULL)
        return NULL;
    char *raw = hg_mail_header_unfold(hd);
    char *text = hg_mail_decode_words(raw, strlen(raw), c->fallback_charset, &c->warnings, where);
    free(raw);
    hg_mail_collapse_spaces(text);
    return text;
}

static bool printable_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] >= 0x7f)
            return false;
    return len > 0;
}

/*
 * Keeps the top-level header fields, decoded, for the rules (header.NAME).
 * Repairs in fields nobody else reads are not worth a warning: they go to a
 * scratch list.
 */
static void copy_headers(struct mail_ctx *c, const struct mail_headers *h)
{
    struct mail_warnings scratch = {0};
    size_t n = h->count < HG_MAIL_MAX_HEADERS ? h->count : HG_MAIL_MAX_HEADERS;
    c->mail->headers = hg_xcalloc(n + 1, sizeof(*c->mail->headers));
    for (size_t i = 0; i < n; i++) {
        const struct mail_header *hd = &h->items[i];
        if (!printable_name(hd->name, hd->name_len))
            continue;
        char *raw = hg_mail_header_unfold(hd);
        char *text = hg_mail_decode_words(raw, strlen(raw), c->fallback_charset, &scratch, "header");
        free(raw);
        hg_mail_collapse_spaces(text);
        struct hg_mail_header *out = &c->mail->headers[c->mail->n_headers++];
        out->name = hg_xstrndup(hd->name, hd->name_len);
        out->value = text;
    }
    for (size_t i = 0; i < scratch.count; i++)
        free(scratch.items[i]);
    free(scratch.items);
}

static void read_subject(struct mail_ctx *c, const struct mail_headers *h)
{
    char *subject = decoded_header(c, h, "Subject", "subject");
    if (subject == NULL) {
        subject = hg_xstrdup("");
    } else if (strlen(subject) > MAX_SUBJECT_BYTES) {
        subject[hg_utf8_cut(subject, strlen(subject), MAX_SUBJECT_BYTES)] = '\0';
        hg_mail_warn(&c->warnings, "limit_subject", "subject cut at %d bytes", MAX_SUBJECT_BYTES);
    }
    c->mail->subject = subject;
}

/*
 * An entry without an addr-spec ('"Name" <>', a bare name) cannot be
 * written to: it is dropped, so that a reply falls back to From.
 */
static void drop_empty_addresses(struct mail_ctx *c, struct hg_mail_address_list *list, const char *where)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].email[0] != '\0') {
            list->items[kept++] = list->items[i];
            continue;
        }
        hg_mail_warn(&c->warnings, "address_invalid", "an entry of %s without an address dropped", where);
        hg_mail_address_free(&list->items[i]);
    }
    list->count = kept;
    if (kept == 0) {
        free(list->items);
        list->items = NULL;
    }
}

static void read_address_list(struct mail_ctx *c, const struct mail_headers *h, const char *name,
                              struct hg_mail_address_list *list, const char *where)
{
    for (size_t i = 0; i < h->count; i++) {
        const struct mail_header *hd = &h->items[i];
        if (hd->name_len != strlen(name) || strncasecmp(hd->name, name, hd->name_len) != 0)
            continue;
        char *raw = hg_mail_header_unfold(hd);
        hg_mail_parse_addresses(raw, strlen(raw), c->fallback_charset, list, &c->warnings, where);
        free(raw);
    }
    drop_empty_addresses(c, list, where);
}

static struct hg_mail_address *read_single_address(struct mail_ctx *c, const struct mail_headers *h,
                                                   const char *name, const char *where)
{
    const struct mail_header *hd = hg_mail_header_get(h, name);
    if (hd == NULL)
        return NULL;
    struct hg_mail_address_list list = {0};
    char *raw = hg_mail_header_unfold(hd);
    hg_mail_parse_addresses(raw, strlen(raw), c->fallback_charset, &list, &c->warnings, where);
    free(raw);
    if (list.count == 0) {
        free(list.items);
        return NULL;
    }
    struct hg_mail_address *a = hg_xmalloc(sizeof *a);
    *a = list.items[0];
    for (size_t i = 1; i < list.count; i++)
        hg_mail_address_free(&list.items[i]);
    free(list.items);
    return a;
}

static void read_ids(struct mail_ctx *c, const struct mail_headers *h)
{
    struct hg_mail *m = c->mail;
    const struct mail_header *hd = hg_mail_header_get(h, "Message-ID");
    if (hd != NULL) {
        char *raw = hg_mail_header_unfold(hd);
        m->message_id = hg_mail_first_msgid(raw, strlen(raw));
        free(raw);
    }
    if ((hd = hg_mail_header_get(h, "In-Reply-To")) != NULL) {
        char *raw = hg_mail_header_unfold(hd);
        m->in_reply_to = hg_mail_first_msgid(raw, strlen(raw));
        free(raw);
    }
    if ((hd = hg_mail_header_get(h, "References")) != NULL) {
        char *raw = hg_mail_header_unfold(hd);
        m->n_references = hg_mail_msgids(raw, strlen(raw), &m->references, &c->warnings);
        free(raw);
    }
}

/* The date of the newest Received header: the text after its last ';'. */
static bool date_from_received(const struct mail_headers *h, int64_t *epoch_r)
{
    const struct mail_header *hd = hg_mail_header_get(h, "Received");
    if (hd == NULL)
        return false;
    char *raw = hg_mail_header_unfold(hd);
    char *semi = strrchr(raw, ';');
    bool zone_guessed;
    bool ok = semi != NULL && hg_mail_parse_date(semi + 1, strlen(semi + 1), epoch_r, &zone_guessed);
    free(raw);
    return ok;
}

static void read_date(struct mail_ctx *c, const struct mail_headers *h)
{
    struct hg_mail *m = c->mail;
    const struct mail_header *hd = hg_mail_header_get(h, "Date");
    int64_t epoch = 0;
    bool ok = false, zone_guessed = false;
    if (hd != NULL) {
        char *raw = hg_mail_header_unfold(hd);
        ok = hg_mail_parse_date(raw, strlen(raw), &epoch, &zone_guessed);
        if (!ok) {
            char q[64];
            hg_mail_quote(q, sizeof q, raw, strlen(raw));
            hg_mail_warn(&c->warnings, "date_invalid", "unreadable Date '%s'", q);
        } else if (zone_guessed) {
            hg_mail_warn(&c->warnings, "date_repaired", "Date without a readable time zone taken as UTC");
        }
        free(raw);
    }
    if (!ok && date_from_received(h, &epoch)) {
        ok = true;
        hg_mail_warn(&c->warnings, "date_repaired", "date taken from the newest Received header");
    }
    if (!ok && hd == NULL)
        hg_mail_warn(&c->warnings, "date_missing", "no Date header");
    if (ok) {
        char iso[32];
        hg_mail_format_date(epoch, iso);
        m->date = hg_xstrdup(iso);
        m->date_epoch = epoch;
    }
}

static void read_delivered_to(struct mail_ctx *c, const struct mail_headers *h)
{
    static const char *const names[] = {"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && c->mail->delivered_to == NULL; i++) {
        struct hg_mail_address *a = read_single_address(c, h, names[i], names[i]);
        if (a != NULL && a->email[0] != '\0') {
            c->mail->delivered_to = a->email;
            a->email = NULL;
        }
        hg_mail_address_free(a);
        free(a);
    }
}

static void read_envelope(struct mail_ctx *c, const struct mail_headers *h)
{
    struct hg_mail *m = c->mail;
    read_ids(c, h);
    read_date(c, h);
    read_subject(c, h);
    m->from = read_single_address(c, h, "From", "from");
    if (m->from == NULL)
        hg_mail_warn(&c->warnings, "from_missing", "no usable From header");
    else if (m->from->email[0] == '\0')
        hg_mail_warn(&c->warnings, "address_invalid", "From has no address");
    m->sender = read_single_address(c, h, "Sender", "sender");
    read_address_list(c, h, "Reply-To", &m->reply_to, "reply-to");
    read_address_list(c, h, "To", &m->to, "to");
    read_address_list(c, h, "Cc", &m->cc, "cc");
    read_delivered_to(c, h);
}

/* ------------------------------------------------------------ derived fields */

static void hash_header(struct hg_sha256 *sha, const struct mail_headers *h, const char *name)
{
    const struct mail_header *hd = hg_mail_header_get(h, name);
    char *raw = hg_mail_header_unfold(hd);
    hg_sha256_update(sha, name, strlen(name));
    hg_sha256_update(sha, raw, strlen(raw));
    hg_sha256_update(sha, "\n", 1);
    free(raw);
}

/*
 * A Message-ID for a message without one, the same for every copy of it:
 * a hash of Date, From, To, Subject and the body with line ends as LF.
 */
static void generate_message_id(struct mail_ctx *c, const struct mail_headers *h, const char *body,
                                size_t len)
{
    struct hg_sha256 sha;
    char hex[HG_SHA256_HEX_SIZE];
    hg_sha256_init(&sha);
    hash_header(&sha, h, "Date");
    hash_header(&sha, h, "From");
    hash_header(&sha, h, "To");
    hash_header(&sha, h, "Subject");
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] == '\r' && i + 1 < len && body[i + 1] == '\n') {
            hg_sha256_update(&sha, body + start, i - start);
            start = i + 1;
        }
    }
    hg_sha256_update(&sha, body + start, len - start);
    hg_sha256_final_hex(&sha, hex);
    hex[32] = '\0';
    c->mail->message_id = hg_xasprintf("%s@helpgate.invalid", hex);
    c->mail->message_id_generated = true;
    hg_mail_warn(&c->warnings, "message_id_generated", "no Message-ID: made one from a hash of the message");
}

static void find_ticket_tag(struct mail_ctx *c)
{
    struct hg_mail *m = c->mail;
    m->ticket_tag = hg_mail_ticket_from_subject(m->subject, c->lim.ticket_tag_prefix);
    if (m->ticket_tag == NULL && m->delivered_to != NULL)
        m->ticket_tag = hg_mail_ticket_from_address(m->delivered_to, c->lim.support_address);
    const struct hg_mail_address_list *lists[] = {&m->to, &m->cc};
    for (size_t l = 0; l < 2 && m->ticket_tag == NULL; l++)
        for (size_t i = 0; i < lists[l]->count && m->ticket_tag == NULL; i++)
            m->ticket_tag = hg_mail_ticket_from_address(lists[l]->items[i].email, c->lim.support_address);
}

static void extract_reply(struct hg_mail *m)
{
    char *reply = hg_reply_extract(m->body_text, m->body_text_len);
    struct hg_charset_result res; /* keeps the UTF-8 promise whatever the extractor returns */
    hg_charset_to_utf8("UTF-8", reply, strlen(reply), 0, &res);
    free(reply);
    m->reply_text = res.text;
}

static void finish_warnings(struct mail_ctx *c)
{
    struct mail_warnings *w = &c->warnings;
    if (w->dropped > 0) {
        char *text = hg_xasprintf("warnings_truncated: %zu more warnings not listed", w->dropped);
        w->items = hg_xrealloc(w->items, (w->count + 1) * sizeof *w->items);
        w->items[w->count++] = text;
    }
    c->mail->warnings = w->items;
    c->mail->n_warnings = w->count;
}

/*
 * Old Mac mailers and some gateways end lines with a lone CR. Such a message
 * is read from a copy in which every CR not followed by LF is an LF: the
 * copy has the same length, so a binary part can still take its bytes from
 * the original (mail_body.c). The repair is made when the first line break
 * is a lone CR, or when lone CRs outnumber LFs (a gateway that rewrote the
 * body only); a stray CR in a LF message is left to the text clean-up.
 */
static char *repair_bare_cr(struct mail_ctx *c, const char *raw, size_t len)
{
    size_t bare = 0, lf = 0;
    bool first_is_bare = false, seen_break = false;
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '\n') {
            lf++;
            seen_break = true;
        } else if (raw[i] == '\r' && (i + 1 >= len || raw[i + 1] != '\n')) {
            if (!seen_break)
                first_is_bare = true;
            bare++;
            seen_break = true;
        }
    }
    if (bare == 0 || (!first_is_bare && bare <= lf))
        return NULL;
    char *copy = hg_xmalloc(len + 1);
    memcpy(copy, raw, len);
    copy[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '\r' && (i + 1 >= len || copy[i + 1] != '\n'))
            copy[i] = '\n';
    hg_mail_warn(&c->warnings, "line_ends_repaired", "bare CR: %zu lone CRs read as line breaks", bare);
    c->original = raw;
    c->repaired = copy;
    return copy;
}

struct hg_mail *hg_mail_parse(const char *raw, size_t len, const struct hg_mail_limits *limits)
{
    struct mail_ctx c;
    memset(&c, 0, sizeof c);
    resolve_limits(limits, &c.lim);
    c.mail = hg_xcalloc(1, sizeof *c.mail);
    if (raw == NULL)
        len = 0;
    if (len > c.lim.max_message_size) {
        hg_mail_warn(&c.warnings, "limit_message_size", "only the first %zu bytes of %zu were read",
                     c.lim.max_message_size, len);
        len = c.lim.max_message_size;
    }
    if (raw == NULL)
        raw = "";
    char *repaired = repair_bare_cr(&c, raw, len);
    if (repaired != NULL)
        raw = repaired;

    struct mail_headers h = {0};
    unsigned issues = 0;
    size_t body = hg_mail_headers_parse(raw, len, c.lim.max_header_size, &h, &issues);
    if (issues & HDR_TRUNCATED)
        hg_mail_warn(&c.warnings, "limit_header_size", "header cut at %zu bytes", c.lim.max_header_size);
    if (issues & HDR_NO_BLANK_LINE)
        hg_mail_warn(&c.warnings, "header_repaired", "no blank line after the header");
    if (issues & (HDR_BAD_FOLDING | HDR_GARBAGE))
        hg_mail_warn(&c.warnings, "header_repaired", "malformed header lines joined or skipped");
    if (issues & HDR_MBOX_FROM)
        hg_mail_warn(&c.warnings, "header_repaired", "mbox \"From \" line skipped");

    hg_mail_walk(&c, raw, len, &h, body);
    c.fallback_charset = header_fallback_charset(&c);
    read_envelope(&c, &h);
    copy_headers(&c, &h);
    hg_mail_extract_body(&c);
    hg_mail_extract_attachments(&c);
    extract_reply(c.mail);
    find_ticket_tag(&c);
    struct mail_auto_input in = {&h, c.mail, c.delivery_status, c.disposition_notification,
                                 c.feedback_report};
    hg_mail_classify_auto(&in, c.mail);
    if (c.mail->message_id == NULL)
        generate_message_id(&c, &h, raw + body, len - body);

    hg_mail_headers_free(&h);
    hg_mail_parts_free(&c);
    free(repaired);
    finish_warnings(&c);
    return c.mail;
}

/* ------------------------------------------------------------ freeing */

static void free_strings(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

void hg_mail_free(struct hg_mail **mp)
{
    struct hg_mail *m = mp != NULL ? *mp : NULL;
    if (m == NULL)
        return;
    free(m->message_id);
    free(m->date);
    free(m->in_reply_to);
    free_strings(m->references, m->n_references);
    hg_mail_address_free(m->from);
    free(m->from);
    hg_mail_address_free(m->sender);
    free(m->sender);
    hg_mail_address_list_free(&m->reply_to);
    hg_mail_address_list_free(&m->to);
    hg_mail_address_list_free(&m->cc);
    free(m->delivered_to);
    for (size_t i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->subject);
    free(m->content_type);
    free(m->body_text);
    free(m->body_html);
    free(m->reply_text);
    for (size_t i = 0; i < m->n_attachments; i++) {
        free(m->attachments[i].filename);
        free(m->attachments[i].content_type);
        free(m->attachments[i].content_id);
        free(m->attachments[i].data);
    }
    free(m->attachments);
    free(m->ticket_tag);
    free(m->auto_reason);
    free_strings(m->warnings, m->n_warnings);
    free(m);
    *mp = NULL;
}
