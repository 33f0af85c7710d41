/*
 * mail_header.c — header blocks and RFC 2047 encoded words, as real mail writes them.
 *
 * A header block is split into fields that point into the message (nothing
 * is copied); folding is undone only when a value is read. Encoded words are
 * decoded leniently: adjacent words are joined (also when a multi-byte
 * character or a base64 quantum is split between them), words with spaces,
 * unterminated words and unknown charsets are repaired, and raw 8-bit text
 * is taken as UTF-8 when valid, else read in the fallback charset.
 * Also holds the warnings list every part of the normalizer writes to.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADER_FIELDS 2000
#define MAX_CHARSET_LABEL 64

/* ------------------------------------------------------------ warnings */

void hg_mail_quote(char *out, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    size_t limit = len > 40 ? 40 : len;
    for (size_t i = 0; i < limit && n + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (len > limit && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

void hg_mail_warn(struct mail_warnings *w, const char *code, const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    char *text = hg_xasprintf("%s: %s", code, detail);
    for (size_t i = 0; i < w->count; i++) {
        if (strcmp(w->items[i], text) == 0) {
            free(text);
            return;
        }
    }
    if (w->count >= HG_MAIL_MAX_WARNINGS) {
        w->dropped++;
        free(text);
        return;
    }
    w->items = hg_xrealloc(w->items, (w->count + 1) * sizeof *w->items);
    w->items[w->count++] = text;
}

/* ------------------------------------------------------------ header blocks */

/* End of the line starting at I (without CR LF); *NEXT_R is where the next line starts. */
static size_t line_end(const char *p, size_t len, size_t i, size_t *next_r)
{
    const char *nl = memchr(p + i, '\n', len - i);
    size_t end = nl != NULL ? (size_t)(nl - p) : len;
    *next_r = nl != NULL ? end + 1 : len;
    if (end > i && p[end - 1] == '\r')
        end--;
    return end;
}

/* Length of a header name at START ("Subject", also "Subject " before the colon), or 0. */
static size_t header_name_length(const char *p, size_t start, size_t end, size_t *colon_r)
{
    size_t i = start;
    while (i < end && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
        i++;
    size_t name_end = i;
    while (i < end && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (name_end == start || i >= end || p[i] != ':')
        return 0;
    *colon_r = i;
    return name_end - start;
}

static bool line_is_blank(const char *p, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

static bool line_is_header(const char *p, size_t len, size_t start)
{
    size_t next, colon;
    size_t end = line_end(p, len, start, &next);
    return header_name_length(p, start, end, &colon) > 0;
}

static void add_header(struct mail_headers *h, const char *name, size_t name_len, const char *value,
                       size_t value_len)
{
    if (h->count == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 32;
        h->items = hg_xrealloc(h->items, h->cap * sizeof *h->items);
    }
    h->items[h->count++] = (struct mail_header){name, name_len, value, value_len};
}

/* Extends the last header's value to END, within the block limit. */
static void extend_last(struct mail_headers *h, const char *p, size_t end, size_t limit, unsigned *issues)
{
    struct mail_header *last = &h->items[h->count - 1];
    if (end > limit) {
        end = limit;
        *issues |= HDR_TRUNCATED;
    }
    if (p + end > last->value)
        last->value_len = (size_t)(p + end - last->value);
}

size_t hg_mail_headers_parse(const char *p, size_t len, size_t max_bytes, struct mail_headers *h,
                             unsigned *issues_r)
{
    size_t i = 0, next;
    bool have_current = false;
    bool recording = true;

    if (len >= 5 && memcmp(p, "From ", 5) == 0 && !line_is_header(p, len, 0)) {
        line_end(p, len, 0, &next);
        i = next;
        *issues_r |= HDR_MBOX_FROM;
    }
    while (i < len) {
        size_t end = line_end(p, len, i, &next);
        if (line_is_blank(p, i, end))
            return next;
        if (recording && (i >= max_bytes || h->count >= MAX_HEADER_FIELDS)) {
            recording = false;
            have_current = false;
            *issues_r |= HDR_TRUNCATED;
        }
        if (p[i] == ' ' || p[i] == '\t') {
            if (have_current)
                extend_last(h, p, end, max_bytes, issues_r);
            else if (recording)
                *issues_r |= HDR_GARBAGE;
            i = next;
            continue;
        }
        size_t colon;
        size_t name_len = header_name_length(p, i, end, &colon);
        if (name_len == 0) {
            if (have_current && next < len && line_is_header(p, len, next)) {
                extend_last(h, p, end, max_bytes, issues_r);
                *issues_r |= HDR_BAD_FOLDING;
                i = next;
                continue;
            }
            *issues_r |= HDR_NO_BLANK_LINE;
            return i;
        }
        if (recording) {
            size_t v = colon + 1;
            while (v < end && (p[v] == ' ' || p[v] == '\t'))
                v++;
            add_header(h, p + i, name_len, p + v, 0);
            extend_last(h, p, end, max_bytes, issues_r);
            have_current = true;
        }
        i = next;
    }
    return len;
}

void hg_mail_headers_free(struct mail_headers *h)
{
    free(h->items);
    h->items = NULL;
    h->count = 0;
    h->cap = 0;
}

const struct mail_header *hg_mail_header_get(const struct mail_headers *h, const char *name)
{
    size_t n = strlen(name);
    char first = (char)(name[0] | 0x20);
    for (size_t i = 0; i < h->count; i++) {
        const struct mail_header *hd = &h->items[i];
        /* length and first letter rule out nearly every header before a full comparison */
        if (hd->name_len == n && (char)(hd->name[0] | 0x20) == first && strncasecmp(hd->name, name, n) == 0)
            return hd;
    }
    return NULL;
}

char *hg_mail_header_unfold(const struct mail_header *h)
{
    if (h == NULL)
        return hg_xstrdup("");
    char *out = hg_xmalloc(h->value_len + 1);
    size_t n = 0;
    for (size_t i = 0; i < h->value_len; i++) {
        char c = h->value[i];
        if (c == '\r')
            continue;
        if (c == '\n') {
            /* a fold is CRLF before a blank; a line joined without one (bad folding) gets a space */
            if (i + 1 < h->value_len && h->value[i + 1] != ' ' && h->value[i + 1] != '\t')
                out[n++] = ' ';
            continue;
        }
        out[n++] = c == '\0' ? ' ' : c;
    }
    out[n] = '\0';
    return out;
}

/* ------------------------------------------------------------ whitespace */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void hg_mail_collapse_spaces(char *s)
{
    size_t n = 0;
    bool pending_space = false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == ' ') {
            pending_space = n > 0;
            continue;
        }
        if (pending_space)
            s[n++] = ' ';
        pending_space = false;
        s[n++] = (char)c;
    }
    s[n] = '\0';
}

/* ------------------------------------------------------------ encoded words */

struct encoded_word {
    const char *charset;
    size_t charset_len;
    char encoding;     /* 'B' or 'Q' */
    size_t text_start; /* payload */
    size_t text_end;
    size_t end;        /* offset after the word */
    bool had_spaces;   /* a Q payload with blanks in it (broken but common) */
    bool unterminated; /* no "?=" at its end */
};

static bool has_blank(const char *s, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++)
        if (is_blank(s[i]))
            return true;
    return false;
}

static size_t first_blank(const char *s, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++)
        if (is_blank(s[i]))
            return i;
    return end;
}

static bool contains_word_start(const char *s, size_t start, size_t end)
{
    for (size_t i = start; i + 1 < end; i++)
        if (s[i] == '=' && s[i + 1] == '?')
            return true;
    return false;
}

/*
 * Where "?=" next occurs at or after FROM; *CACHE remembers the last answer so
 * that a header full of "=?" without terminators is still read in linear time.
 */
static size_t find_terminator(const char *s, size_t len, size_t from, size_t *cache)
{
    if (*cache != (size_t)-1 && *cache >= from)
        return *cache;
    if (*cache == len)
        return len;
    const char *t = from < len ? memmem(s + from, len - from, "?=", 2) : NULL;
    *cache = t != NULL ? (size_t)(t - s) : len;
    return *cache;
}

static bool parse_encoded_word(const char *s, size_t len, size_t i, struct encoded_word *ew, size_t *cache)
{
    if (i + 1 >= len || s[i] != '=' || s[i + 1] != '?')
        return false;
    size_t j = i + 2;
    while (j < len && s[j] != '?' && !is_blank(s[j]) && j - (i + 2) < MAX_CHARSET_LABEL)
        j++;
    if (j == i + 2 || j + 2 >= len || s[j] != '?' || s[j + 2] != '?')
        return false;
    char enc = s[j + 1];
    if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
        return false;
    ew->charset = s + i + 2;
    ew->charset_len = j - (i + 2);
    ew->encoding = (enc == 'b' || enc == 'B') ? 'B' : 'Q';
    ew->text_start = j + 3;
    ew->had_spaces = false;
    ew->unterminated = false;
    size_t term = find_terminator(s, len, ew->text_start, cache);
    if (term < len && has_blank(s, ew->text_start, term)) {
        if (contains_word_start(s, ew->text_start, term))
            term = len; /* the "?=" found belongs to a later word */
        else
            ew->had_spaces = true;
    }
    if (term >= len) {
        ew->text_end = first_blank(s, ew->text_start, len);
        ew->end = ew->text_end;
        ew->unterminated = true;
    } else {
        ew->text_end = term;
        ew->end = term + 2;
    }
    return true;
}

size_t hg_mail_encoded_word_end(const char *s, size_t len, size_t i, size_t *cache)
{
    struct encoded_word ew;
    return parse_encoded_word(s, len, i, &ew, cache) ? ew.end : 0;
}

static void decode_q_into(const char *s, size_t start, size_t end, struct hg_buf *out)
{
    for (size_t i = start; i < end; i++) {
        char c = s[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=') {
            int hi = i + 1 < end ? hg_mail_hex_value(s[i + 1]) : -1;
            int lo = i + 2 < end ? hg_mail_hex_value(s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi * 16 + lo);
                i += 2;
            }
        } else if (c == '\r' || c == '\n') {
            continue;
        }
        hg_buf_append_char(out, c);
    }
}

/* Consecutive encoded words in one charset, waiting to be converted together. */
struct pending_words {
    char charset[MAX_CHARSET_LABEL + 1];
    struct hg_buf bytes;
    struct hg_buf base64; /* B payloads joined, decoded only when needed */
    bool active;
};

static void decode_pending_base64(struct pending_words *pw)
{
    if (pw->base64.len == 0)
        return;
    unsigned char *tmp = hg_xmalloc(pw->base64.len * 3 / 4 + 4);
    size_t bad = 0;
    size_t n = hg_mail_base64_decode_into(pw->base64.data, pw->base64.len, tmp, &bad);
    hg_buf_append(&pw->bytes, tmp, n);
    free(tmp);
    hg_buf_reset(&pw->base64);
}

struct word_decoder {
    const char *fallback;
    struct mail_warnings *w;
    const char *where;
    struct hg_buf out;
};

static void warn_charset(struct word_decoder *d, const char *label, const struct hg_charset_result *res,
                         const char *what)
{
    char q[64];
    hg_mail_quote(q, sizeof q, label, strlen(label));
    if (res->flags & HG_CHARSET_UNKNOWN_LABEL)
        hg_mail_warn(d->w, "charset_unknown", "%s in %s: '%s' read as %s", what, d->where, q, res->used);
    else if (res->flags & HG_CHARSET_MISLABELED)
        hg_mail_warn(d->w, "charset_mislabeled", "%s in %s: '%s' read as %s", what, d->where, q, res->used);
    if (res->flags & HG_CHARSET_INVALID_BYTES)
        hg_mail_warn(d->w, "charset_invalid_bytes", "%s in %s: bytes invalid in '%s' replaced", what,
                     d->where, q);
}

static void flush_pending(struct word_decoder *d, struct pending_words *pw)
{
    if (!pw->active)
        return;
    decode_pending_base64(pw);
    struct hg_charset_result res;
    hg_charset_to_utf8(pw->charset, pw->bytes.data ? pw->bytes.data : "", pw->bytes.len, 0, &res);
    warn_charset(d, pw->charset, &res, "encoded word");
    hg_buf_append(&d->out, res.text, res.len);
    free(res.text);
    hg_buf_reset(&pw->bytes);
    pw->active = false;
}

static void append_raw(struct word_decoder *d, const char *s, size_t len)
{
    if (len == 0)
        return;
    if (hg_utf8_valid(s, len)) {
        hg_buf_append(&d->out, s, len);
        return;
    }
    struct hg_charset_result res;
    hg_charset_to_utf8(d->fallback, s, len, 0, &res);
    hg_mail_warn(d->w, "header_8bit", "raw 8-bit text in %s read as %s", d->where, res.used);
    hg_buf_append(&d->out, res.text, res.len);
    free(res.text);
}

static void add_word(struct word_decoder *d, struct pending_words *pw, const char *s,
                     const struct encoded_word *ew)
{
    char label[MAX_CHARSET_LABEL + 1];
    size_t n = ew->charset_len;
    memcpy(label, ew->charset, n);
    label[n] = '\0';
    char *star = strchr(label, '*'); /* RFC 2231 language: =?utf-8*en?q?...?= */
    if (star != NULL)
        *star = '\0';
    if (pw->active && strcasecmp(pw->charset, label) != 0)
        flush_pending(d, pw);
    if (!pw->active) {
        memcpy(pw->charset, label, strlen(label) + 1);
        pw->active = true;
    }
    if (ew->encoding == 'B') {
        for (size_t i = ew->text_start; i < ew->text_end; i++)
            if (!is_blank(s[i]))
                hg_buf_append_char(&pw->base64, s[i]);
    } else {
        decode_pending_base64(pw);
        decode_q_into(s, ew->text_start, ew->text_end, &pw->bytes);
    }
    if (ew->had_spaces)
        hg_mail_warn(d->w, "encoded_word_repaired", "blanks inside an encoded word in %s", d->where);
    if (ew->unterminated)
        hg_mail_warn(d->w, "encoded_word_repaired", "unterminated encoded word in %s", d->where);
}

static bool all_blank(const char *s, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++)
        if (!is_blank(s[i]))
            return false;
    return true;
}

char *hg_mail_decode_words(const char *s, size_t len, const char *fallback, struct mail_warnings *w,
                           const char *where)
{
    struct word_decoder d = {fallback, w, where, {0}};
    struct pending_words pw = {{0}, {0}, {0}, false};
    size_t pos = 0, scan = 0, cache = (size_t)-1;

    hg_buf_init(&d.out, len * 4 + 64);
    hg_buf_init(&pw.bytes, len + 64);
    hg_buf_init(&pw.base64, len + 64);
    while (scan + 1 < len) {
        const char *q = memmem(s + scan, len - scan, "=?", 2);
        if (q == NULL)
            break;
        size_t i = (size_t)(q - s);
        struct encoded_word ew;
        if (!parse_encoded_word(s, len, i, &ew, &cache)) {
            scan = i + 1;
            continue;
        }
        if (!(pw.active && all_blank(s, pos, i))) {
            flush_pending(&d, &pw);
            append_raw(&d, s + pos, i - pos);
        }
        add_word(&d, &pw, s, &ew);
        pos = scan = ew.end;
    }
    flush_pending(&d, &pw);
    append_raw(&d, s + pos, len - pos);
    hg_buf_free(&pw.bytes);
    hg_buf_free(&pw.base64);
    for (size_t i = 0; i < d.out.len; i++)
        if (d.out.data[i] == '\0')
            d.out.data[i] = ' ';
    return hg_buf_steal(&d.out);
}
