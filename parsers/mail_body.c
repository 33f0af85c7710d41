/*
 * mail_body.c — choose the main body among the parts, decode it to clean
 * UTF-8 text, and turn every other part into an attachment.
 *
 * Choice: in multipart/alternative the text/plain part is the body and the
 * richest (last) text/html one becomes body_html; multipart/related follows
 * its root (start= or first part); multipart/mixed, report, signed and
 * unknown multiparts take their first part that holds text. A plain part
 * that is blank gives way to the HTML one, which is then rendered to text.
 * Inline text parts that follow the body in the same multipart/mixed or
 * multipart/related (Apple Mail's text-image-text, also as the HTML branch
 * of an alternative) are appended to the plain or HTML body of their type.
 * Text parts that carry a file name or Content-Disposition: attachment are
 * attachments, never the body.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"
#include "helpgate/html2text.h"
#include "helpgate/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EXTRA_TEXT_PARTS 32
#define MAX_FILENAME 255
#define HTML_CHARSET_SNIFF 4096

struct extra_parts {
    int idx[MAX_EXTRA_TEXT_PARTS];
    size_t n;
};

struct body_pick {
    int plain;
    int html;
    struct extra_parts extra_plain; /* inline text/plain parts appended to the plain body */
    struct extra_parts extra_html;  /* inline text/html parts appended to the HTML body */
};

static const struct body_pick body_pick_none = {-1, -1, {{0}, 0}, {{0}, 0}};

static bool is_type(const struct mail_part *p, const char *type, const char *subtype)
{
    return strcmp(p->type, type) == 0 && (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

static bool has_filename(const struct mail_part *p)
{
    return hg_mail_param_get(&p->disp, "filename") != NULL || hg_mail_param_get(&p->ct, "name") != NULL;
}

static bool is_attachment_disposition(const struct mail_part *p)
{
    return p->disposition != NULL && strcmp(p->disposition, "attachment") == 0;
}

static bool raw_is_blank(const struct mail_part *p)
{
    for (size_t i = 0; i < p->body_len; i++)
        if (p->body[i] != ' ' && p->body[i] != '\t' && p->body[i] != '\r' && p->body[i] != '\n')
            return false;
    return true;
}

/* A text/plain or text/html leaf that may be read as the body. */
static bool is_text_candidate(const struct mail_ctx *c, int idx)
{
    const struct mail_part *p = &c->parts[idx];
    if (p->kind != PART_LEAF || !(is_type(p, "text", "plain") || is_type(p, "text", "html")))
        return false;
    if (idx == 0 || (c->parts[0].kind == PART_MESSAGE && p->parent == 0))
        return true; /* a single-part message is its own body whatever it says */
    return !is_attachment_disposition(p) && !has_filename(p) && !raw_is_blank(p);
}

static void pick_in(const struct mail_ctx *c, int idx, struct body_pick *bp, unsigned guard);

static void pick_alternative(const struct mail_ctx *c, int idx, struct body_pick *bp, unsigned guard)
{
    for (int ch = c->parts[idx].first_child; ch >= 0; ch = c->parts[ch].next_sibling) {
        struct body_pick sub = body_pick_none;
        pick_in(c, ch, &sub, guard + 1);
        if (bp->plain < 0 && sub.plain >= 0) {
            bp->plain = sub.plain;
            bp->extra_plain = sub.extra_plain;
        }
        if (sub.html >= 0) {
            bp->html = sub.html;
            bp->extra_html = sub.extra_html;
        }
    }
}

static int related_root(const struct mail_ctx *c, int idx)
{
    const struct mail_param *start = hg_mail_param_get(&c->parts[idx].ct, "start");
    if (start != NULL) {
        for (int ch = c->parts[idx].first_child; ch >= 0; ch = c->parts[ch].next_sibling) {
            const char *cid = c->parts[ch].content_id;
            const char *s = start->value;
            size_t n = start->value_len;
            if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
                s++;
                n -= 2;
            }
            if (cid != NULL && strlen(cid) == n && strncmp(cid, s, n) == 0)
                return ch;
        }
    }
    return c->parts[idx].first_child;
}

static void add_extra(struct extra_parts *e, int idx)
{
    if (e->n < MAX_EXTRA_TEXT_PARTS)
        e->idx[e->n++] = idx;
}

/*
 * In multipart/mixed and multipart/related, inline text parts after the
 * chosen one continue the body of their type (Apple Mail's text-image-text,
 * also inside an alternative). In related, a part with a Content-ID is a
 * resource the root refers to, not a continuation.
 */
static void collect_continuations(const struct mail_ctx *c, int after, struct body_pick *bp, bool related)
{
    for (int ch = c->parts[after].next_sibling; ch >= 0; ch = c->parts[ch].next_sibling) {
        if (!is_text_candidate(c, ch) || (related && c->parts[ch].content_id != NULL))
            continue;
        if (bp->plain >= 0 && is_type(&c->parts[ch], "text", "plain"))
            add_extra(&bp->extra_plain, ch);
        else if (bp->html >= 0 && is_type(&c->parts[ch], "text", "html"))
            add_extra(&bp->extra_html, ch);
    }
}

static bool no_extras(const struct body_pick *bp)
{
    return bp->extra_plain.n == 0 && bp->extra_html.n == 0;
}

static void pick_in(const struct mail_ctx *c, int idx, struct body_pick *bp, unsigned guard)
{
    const struct mail_part *p = &c->parts[idx];
    if (guard > c->lim.max_depth + 1)
        return;
    if (p->kind == PART_LEAF) {
        if (is_text_candidate(c, idx)) {
            if (strcmp(p->subtype, "plain") == 0)
                bp->plain = idx;
            else
                bp->html = idx;
        }
        return;
    }
    if (p->kind == PART_MESSAGE) {
        if (p->first_child >= 0)
            pick_in(c, p->first_child, bp, guard + 1);
        return;
    }
    if (strcmp(p->subtype, "alternative") == 0) {
        pick_alternative(c, idx, bp, guard);
    } else if (strcmp(p->subtype, "related") == 0) {
        int root = related_root(c, idx);
        if (root >= 0)
            pick_in(c, root, bp, guard + 1);
        if (root >= 0 && (bp->plain >= 0 || bp->html >= 0) && no_extras(bp))
            collect_continuations(c, root, bp, true);
    } else if (strcmp(p->subtype, "encrypted") != 0) {
        for (int ch = p->first_child; ch >= 0; ch = c->parts[ch].next_sibling) {
            pick_in(c, ch, bp, guard + 1);
            if (bp->plain >= 0 || bp->html >= 0) {
                if (strcmp(p->subtype, "mixed") == 0 && no_extras(bp))
                    collect_continuations(c, ch, bp, false);
                break;
            }
        }
    }
}

/* ------------------------------------------------------------ decoding text */

static void warn_decoding(struct mail_ctx *c, const struct decoded *d, const char *where,
                          enum mail_encoding enc)
{
    if (d->bad > 0 && enc == ENC_BASE64)
        hg_mail_warn(&c->warnings, "base64_repaired", "%zu characters that are not base64 skipped in %s",
                     d->bad, where);
    else if (d->bad > 0 && enc == ENC_QP)
        hg_mail_warn(&c->warnings, "qp_repaired", "%zu malformed '=' sequences kept as they were in %s",
                     d->bad, where);
    else if (d->bad > 0)
        hg_mail_warn(&c->warnings, "uuencode_repaired", "%zu short lines in %s", d->bad, where);
    if (d->truncated)
        hg_mail_warn(&c->warnings, "limit_part_size", "%s cut at %zu bytes", where, c->lim.max_part_size);
}

/* The charset an HTML part declares in a <meta> tag, for parts whose Content-Type names none. */
static char *html_meta_charset(const unsigned char *html, size_t len)
{
    size_t n = len < HTML_CHARSET_SNIFF ? len : HTML_CHARSET_SNIFF;
    char *head = hg_xstrndup((const char *)html, n);
    char *found = NULL;
    for (char *p = strcasestr(head, "charset"); p != NULL && found == NULL;
         p = strcasestr(p + 7, "charset")) {
        char *q = p + 7;
        while (*q == ' ')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '"' || *q == '\'')
            q++;
        size_t k = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");
        if (k > 0 && k < 40)
            found = hg_xstrndup(q, k);
    }
    free(head);
    return found;
}

static void warn_charset(struct mail_ctx *c, const char *label, const struct hg_charset_result *res,
                         const char *where, bool had_8bit)
{
    char q[64];
    hg_mail_quote(q, sizeof q, label != NULL ? label : "", label != NULL ? strlen(label) : 0);
    if (res->flags & HG_CHARSET_UNKNOWN_LABEL)
        hg_mail_warn(&c->warnings, "charset_unknown", "'%s' in %s read as %s", q, where, res->used);
    else if ((res->flags & HG_CHARSET_MISLABELED) && label != NULL)
        hg_mail_warn(&c->warnings, "charset_mislabeled", "'%s' in %s read as %s", q, where, res->used);
    else if ((res->flags & HG_CHARSET_MISLABELED) && had_8bit)
        hg_mail_warn(&c->warnings, "charset_missing", "8-bit text without charset in %s read as %s", where,
                     res->used);
    if (res->flags & HG_CHARSET_INVALID_BYTES)
        hg_mail_warn(&c->warnings, "charset_invalid_bytes", "bytes invalid in '%s' replaced in %s", q, where);
    if (res->flags & HG_CHARSET_TRUNCATED)
        hg_mail_warn(&c->warnings, "limit_body_size", "text of %s cut at %zu bytes", where,
                     c->lim.max_body_size);
}

static bool param_is(const struct mail_part *p, const char *name, const char *value)
{
    const struct mail_param *param = hg_mail_param_get(&p->ct, name);
    return param != NULL && strcasecmp(param->value, value) == 0;
}

/* The text of a text part as clean UTF-8 (LF line ends, format=flowed joined). */
static char *decode_text_part(struct mail_ctx *c, int idx, size_t *len_r)
{
    const struct mail_part *p = &c->parts[idx];
    char where[96];
    hg_mail_part_name(c, idx, where, sizeof where);
    struct decoded d;
    hg_mail_decode_transfer(p->encoding, p->body, p->body_len, c->lim.max_part_size, &d);
    warn_decoding(c, &d, where, p->encoding);

    const struct mail_param *cs = hg_mail_param_get(&p->ct, "charset");
    char *label = cs != NULL ? hg_xstrdup(cs->value) : NULL;
    if (label == NULL && strcmp(p->subtype, "html") == 0)
        label = html_meta_charset(d.data, d.len);
    bool had_8bit = false;
    for (size_t i = 0; i < d.len && !had_8bit; i++)
        had_8bit = d.data[i] >= 0x80;
    struct hg_charset_result res;
    hg_charset_to_utf8(label, d.data, d.len, c->lim.max_body_size, &res);
    warn_charset(c, label, &res, where, had_8bit);
    free(label);
    free(d.data);

    bool flowed = strcmp(p->subtype, "plain") == 0 && param_is(p, "format", "flowed");
    char *text = hg_mail_clean_text(res.text, res.len, flowed, flowed && param_is(p, "delsp", "yes"), len_r);
    free(res.text);
    return text;
}

static bool is_blank_text(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n')
            return false;
    return true;
}

/* Appends the continuation parts' text to TEXT. */
static char *append_extras(struct mail_ctx *c, char *text, size_t *len, const struct extra_parts *e)
{
    if (e->n == 0)
        return text;
    struct hg_buf b;
    hg_buf_init(&b, c->lim.max_body_size);
    hg_buf_append(&b, text, *len);
    free(text);
    for (size_t i = 0; i < e->n; i++) {
        size_t n;
        char *more = decode_text_part(c, e->idx[i], &n);
        c->parts[e->idx[i]].used = true;
        if (n > 0 && ((b.len > 0 && hg_buf_append_char(&b, '\n') < 0) ||
                      hg_buf_append(&b, more, hg_utf8_cut(more, n, b.max - b.len)) < 0))
            hg_mail_warn(&c->warnings, "limit_body_size", "body cut at %zu bytes", c->lim.max_body_size);
        free(more);
    }
    *len = b.len;
    return hg_buf_steal(&b);
}

static void render_html_body(struct mail_ctx *c)
{
    struct hg_mail *m = c->mail;
    bool truncated = false;
    char *rendered = hg_html_to_text(m->body_html, m->body_html_len, c->lim.max_body_size, &truncated);
    if (truncated)
        hg_mail_warn(&c->warnings, "limit_body_size", "text rendered from HTML cut at %zu bytes",
                     c->lim.max_body_size);
    struct hg_charset_result res; /* the renderer promises UTF-8; this keeps the promise if it slips */
    hg_charset_to_utf8("UTF-8", rendered, strlen(rendered), 0, &res);
    free(rendered);
    m->body_text = hg_mail_clean_text(res.text, res.len, false, false, &m->body_text_len);
    free(res.text);
}

void hg_mail_extract_body(struct mail_ctx *c)
{
    struct hg_mail *m = c->mail;
    struct body_pick bp = body_pick_none;
    if (c->n_parts > 0)
        pick_in(c, 0, &bp, 0);

    if (bp.html >= 0) {
        m->body_html = decode_text_part(c, bp.html, &m->body_html_len);
        c->parts[bp.html].used = true;
        m->body_html = append_extras(c, m->body_html, &m->body_html_len, &bp.extra_html);
    }
    if (bp.plain >= 0) {
        size_t len;
        char *text = decode_text_part(c, bp.plain, &len);
        if (!is_blank_text(text) || bp.html < 0) {
            c->parts[bp.plain].used = true;
            m->body_text = append_extras(c, text, &len, &bp.extra_plain);
            m->body_text_len = len;
            m->content_type = hg_xstrdup("text/plain");
            return;
        }
        free(text); /* a blank plain alternative: the HTML part is the body */
        c->parts[bp.plain].used = true;
    }
    if (bp.html >= 0) {
        m->content_type = hg_xstrdup("text/html");
        render_html_body(c);
        return;
    }
    m->body_text = hg_xstrdup("");
    m->body_text_len = 0;
}

/* ------------------------------------------------------------ attachments */

/* The last path component, without control characters; NULL when nothing is left. */
static char *sanitize_filename(struct mail_ctx *c, char *name, const char *where)
{
    if (name == NULL)
        return NULL;
    char *base = name;
    for (char *p = name; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    if (base != name)
        hg_mail_warn(&c->warnings, "filename_repaired", "directories removed from the file name of %s",
                     where);
    size_t n = 0;
    for (char *p = base; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x20 && *p != 0x7F)
            name[n++] = *p;
    name[n] = '\0';
    hg_mail_collapse_spaces(name);
    n = hg_utf8_cut(name, strlen(name), MAX_FILENAME);
    name[n] = '\0';
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        free(name);
        return NULL;
    }
    return name;
}

/* "Subject.eml" for an attached message that has no file name of its own. */
static char *message_filename(struct mail_ctx *c, const unsigned char *data, size_t len)
{
    struct mail_headers h = {0};
    unsigned issues = 0;
    hg_mail_headers_parse((const char *)data, len, c->lim.max_header_size, &h, &issues);
    const struct mail_header *subject = hg_mail_header_get(&h, "Subject");
    char *name = NULL;
    if (subject != NULL) {
        struct mail_warnings ignored = {0};
        char *raw = hg_mail_header_unfold(subject);
        char *text =
            hg_mail_decode_words(raw, strlen(raw), c->fallback_charset, &ignored, "attached message");
        hg_mail_collapse_spaces(text);
        text[hg_utf8_cut(text, strlen(text), 100)] = '\0';
        for (char *p = text; *p != '\0'; p++)
            if (strchr("/\\:*?\"<>|", *p) != NULL)
                *p = '_';
        if (text[0] != '\0')
            name = hg_xasprintf("%s.eml", text);
        free(text);
        free(raw);
        for (size_t i = 0; i < ignored.count; i++)
            free(ignored.items[i]);
        free(ignored.items);
    }
    hg_mail_headers_free(&h);
    return name != NULL ? name : hg_xstrdup("message.eml");
}

static bool is_inline(const struct mail_ctx *c, const struct mail_part *p)
{
    if (p->disposition != NULL)
        return strcmp(p->disposition, "inline") == 0;
    return p->content_id != NULL && p->parent >= 0 && is_type(&c->parts[p->parent], "multipart", "related");
}

/* Appends an attachment that takes over DATA (SIZE bytes, allocated) and hashes it. */
static struct hg_mail_attachment *push_attachment(struct mail_ctx *c, unsigned char *data, size_t size)
{
    struct hg_mail *m = c->mail;
    m->attachments = hg_xrealloc(m->attachments, (m->n_attachments + 1) * sizeof *m->attachments);
    struct hg_mail_attachment *a = &m->attachments[m->n_attachments++];
    memset(a, 0, sizeof *a);
    a->data = data;
    a->size = size;
    hg_sha256_hex(a->data, a->size, a->sha256);
    return a;
}

static const char *const types_by_extension[][2] = {
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp"},
    {"txt", "text/plain"},
    {"csv", "text/csv"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"xml", "application/xml"},
    {"zip", "application/zip"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"eml", "message/rfc822"},
    {"msg", "application/vnd.ms-outlook"},
    {"ics", "text/calendar"},
};

/* The MIME type Outlook recorded, else one guessed from the file name's extension. */
static char *tnef_content_type(const struct tnef_file *f, const char *filename)
{
    if (f->mime_tag != NULL && strchr(f->mime_tag, '/') != NULL && strlen(f->mime_tag) < 128 &&
        strspn(f->mime_tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/.+-_") ==
            strlen(f->mime_tag)) {
        char *t = hg_xstrdup(f->mime_tag);
        for (char *p = t; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        return t;
    }
    const char *dot = filename != NULL ? strrchr(filename, '.') : NULL;
    for (size_t i = 0; dot != NULL && i < sizeof types_by_extension / sizeof types_by_extension[0]; i++)
        if (strcasecmp(dot + 1, types_by_extension[i][0]) == 0)
            return hg_xstrdup(types_by_extension[i][1]);
    return hg_xstrdup("application/octet-stream");
}

/* A body found only inside winmail.dat becomes the main body. */
static void take_tnef_body(struct mail_ctx *c, const struct tnef *t)
{
    struct hg_mail *m = c->mail;
    if (t->body == NULL || m->content_type != NULL)
        return;
    char label[16];
    snprintf(label, sizeof label, "CP%u", t->codepage != 0 ? (unsigned)t->codepage : 1252u);
    struct hg_charset_result res;
    hg_charset_to_utf8(label, t->body, t->body_len, c->lim.max_body_size, &res);
    free(m->body_text);
    m->body_text = hg_mail_clean_text(res.text, res.len, false, false, &m->body_text_len);
    free(res.text);
    m->content_type = hg_xstrdup("text/plain");
}

/*
 * Adds the files inside a winmail.dat. Returns true when they replace it;
 * false keeps winmail.dat as well (it held nothing readable, or was damaged).
 */
static bool unpack_tnef(struct mail_ctx *c, const unsigned char *data, size_t len, const char *where)
{
    struct tnef t;
    size_t room = c->lim.max_parts > c->n_parts ? c->lim.max_parts - c->n_parts : 1;
    hg_mail_tnef_decode(data, len, room, &t);
    size_t files = 0;
    for (size_t i = 0; i < t.n_files; i++) {
        const struct tnef_file *f = &t.files[i];
        if (f->data == NULL)
            continue;
        unsigned char *copy = hg_xmalloc(f->len + 1);
        memcpy(copy, f->data, f->len);
        struct hg_mail_attachment *a = push_attachment(c, copy, f->len);
        const char *name = f->long_name != NULL ? f->long_name : f->title;
        a->filename = sanitize_filename(c, name != NULL ? hg_xstrdup(name) : NULL, where);
        a->content_type = tnef_content_type(f, a->filename);
        files++;
    }
    bool body = t.body != NULL && c->mail->content_type == NULL;
    take_tnef_body(c, &t);
    bool replaced = (files > 0 || body) && !t.malformed;
    if (files > 0 || body)
        hg_mail_warn(&c->warnings, "tnef_unpacked", "winmail.dat in %s unpacked into %zu files%s", where,
                     files, body ? " and the text body" : "");
    if (t.capped)
        hg_mail_warn(&c->warnings, "limit_parts", "more files in winmail.dat than max_parts allows");
    if (t.malformed && (files > 0 || body))
        hg_mail_warn(&c->warnings, "tnef_repaired",
                     "winmail.dat in %s is damaged: read up to the damage, kept too", where);
    hg_mail_tnef_free(&t);
    return replaced;
}

static bool is_tnef(const struct mail_part *p)
{
    return is_type(p, "application", "ms-tnef") || is_type(p, "application", "vnd.ms-tnef");
}

static void add_attachment(struct mail_ctx *c, int idx)
{
    const struct mail_part *p = &c->parts[idx];
    char where[96];
    hg_mail_part_name(c, idx, where, sizeof where);
    if (p->kind == PART_LEAF && strcmp(p->type, "text") == 0 && !has_filename(p) && raw_is_blank(p))
        return; /* an empty text part is no attachment */

    struct decoded d;
    enum mail_encoding enc = p->kind == PART_MULTIPART ? ENC_BINARY : p->encoding;
    const char *body = p->body;
    if (c->repaired != NULL && p->kind == PART_LEAF && p->encoding == ENC_BINARY)
        body = c->original + (p->body - c->repaired); /* binary bytes as sent, lone CRs included */
    hg_mail_decode_transfer(enc, body, p->body_len, c->lim.max_part_size, &d);
    warn_decoding(c, &d, where, enc);
    if (is_tnef(p) && !d.truncated && unpack_tnef(c, d.data, d.len, where)) {
        free(d.data);
        return;
    }
    struct hg_mail_attachment *a = push_attachment(c, d.data, d.len);
    a->truncated = d.truncated;
    char *name = hg_mail_param_text(&p->disp, "filename", c->fallback_charset, &c->warnings, where);
    if (name == NULL || name[0] == '\0') {
        free(name);
        name = hg_mail_param_text(&p->ct, "name", c->fallback_charset, &c->warnings, where);
    }
    a->filename = sanitize_filename(c, name, where);
    if (a->filename == NULL && is_type(p, "message", "rfc822"))
        a->filename = message_filename(c, a->data, a->size);
    a->content_type = hg_xasprintf("%s/%s", p->type, p->subtype);
    if (!hg_utf8_valid(a->content_type, strlen(a->content_type))) {
        free(a->content_type);
        a->content_type = hg_xstrdup("application/octet-stream");
    }
    if (p->content_id != NULL) {
        struct hg_charset_result res;
        hg_charset_to_utf8(NULL, p->content_id, strlen(p->content_id), 998, &res);
        a->content_id = res.text;
    }
    a->is_inline = is_inline(c, p);
}

void hg_mail_extract_attachments(struct mail_ctx *c)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct mail_part *p = &c->parts[i];
        if (p->kind != PART_LEAF && !(p->kind == PART_MULTIPART && p->first_child < 0))
            continue;
        if (!p->used)
            add_attachment(c, (int)i);
    }
}
