/*
 * mail_param.c — Content-Type and Content-Disposition values with their
 * parameters (RFC 2045, RFC 2183, RFC 2231), read the way clients write them.
 *
 * Forgiven: missing semicolons between parameters, unquoted values with
 * blanks, unterminated quotes, comments, parameters without values, RFC 2231
 * continuations out of order or with gaps, and RFC 2047 words where RFC 2231
 * belongs (name="=?UTF-8?B?...?="). Values are kept as bytes; text is made
 * of them only when asked (hg_mail_param_text), so a boundary is never
 * "decoded".
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"

#include <stdlib.h>
#include <string.h>

#define MAX_RAW_PARAMS 64
#define MAX_SECTION 999

struct raw_param {
    const char *name;
    size_t name_len;
    char *value; /* unquoted bytes */
    size_t value_len;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token_char(char c)
{
    unsigned char u = (unsigned char)c;
    return u > 32 && u != 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static char to_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char *lower_copy(const char *s, size_t len)
{
    char *out = hg_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = to_lower(s[i]);
    out[len] = '\0';
    return out;
}

/* Skips blanks and (nested) comments. */
static size_t skip_blanks_and_comments(const char *s, size_t len, size_t i)
{
    while (i < len) {
        if (is_blank(s[i])) {
            i++;
        } else if (s[i] == '(') {
            int depth = 0;
            while (i < len) {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                else if (s[i] == '(')
                    depth++;
                else if (s[i] == ')' && --depth == 0) {
                    i++;
                    break;
                }
                i++;
            }
        } else {
            break;
        }
    }
    return i;
}

static size_t read_token(const char *s, size_t len, size_t i)
{
    while (i < len && is_token_char(s[i]))
        i++;
    return i;
}

/* A quoted string at S[I] == '"'; a backslash escapes only '"' and '\' (Windows paths keep theirs). */
static size_t read_quoted(const char *s, size_t len, size_t i, struct hg_buf *out, bool *unterminated)
{
    for (i++; i < len; i++) {
        char c = s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\'))
            c = s[++i];
        if (c == '\r' || c == '\n')
            continue;
        hg_buf_append_char(out, c);
    }
    *unterminated = true;
    return len;
}

/* True when S[I..] is blanks, then a token, then '=': the start of another parameter. */
static bool parameter_follows(const char *s, size_t len, size_t i)
{
    while (i < len && is_blank(s[i]))
        i++;
    size_t t = read_token(s, len, i);
    while (t < len && is_blank(s[t]))
        t++;
    return t > i && t < len && s[t] == '=';
}

/* An unquoted value: up to ';', or up to a blank that is followed by another "name=". */
static size_t read_bare_value(const char *s, size_t len, size_t i, struct hg_buf *out)
{
    size_t start = i;
    while (i < len && s[i] != ';') {
        if (is_blank(s[i]) && parameter_follows(s, len, i))
            break;
        i++;
    }
    size_t end = i;
    while (end > start && is_blank(s[end - 1]))
        end--;
    for (size_t k = start; k < end; k++)
        if (s[k] != '\r' && s[k] != '\n')
            hg_buf_append_char(out, s[k]);
    return i;
}

static size_t read_params(const char *s, size_t len, size_t i, struct raw_param *raw, size_t *n_raw,
                          struct mail_warnings *w, const char *where)
{
    while (i < len) {
        i = skip_blanks_and_comments(s, len, i);
        if (i < len && s[i] == ';') {
            i++;
            continue;
        }
        if (i >= len)
            break;
        size_t name_start = i;
        i = read_token(s, len, i);
        size_t name_end = i;
        i = skip_blanks_and_comments(s, len, i);
        if (name_end == name_start || i >= len || s[i] != '=') {
            /* junk or a parameter without value: skip to the next ';' */
            while (i < len && s[i] != ';')
                i++;
            continue;
        }
        i = skip_blanks_and_comments(s, len, i + 1);
        struct hg_buf value;
        hg_buf_init(&value, len + 1);
        bool unterminated = false;
        if (i < len && s[i] == '"')
            i = read_quoted(s, len, i, &value, &unterminated);
        else
            i = read_bare_value(s, len, i, &value);
        if (unterminated)
            hg_mail_warn(w, "param_repaired", "unterminated quote in %s", where);
        if (*n_raw >= MAX_RAW_PARAMS) {
            hg_mail_warn(w, "limit_params", "more than %d parameters in %s", MAX_RAW_PARAMS, where);
            hg_buf_free(&value);
            break;
        }
        raw[*n_raw].name = s + name_start;
        raw[*n_raw].name_len = name_end - name_start;
        raw[*n_raw].value_len = value.len;
        raw[*n_raw].value = hg_buf_steal(&value);
        (*n_raw)++;
    }
    return i;
}

/* ------------------------------------------------------------ RFC 2231 */

struct name_parts {
    size_t base_len; /* "filename" of "filename*1*" */
    int section;     /* -1 when there is none */
    bool extended;   /* ends in '*': the value is charset'lang'%XX */
};

static void split_name(const char *name, size_t len, struct name_parts *np)
{
    const char *star = memchr(name, '*', len);
    np->base_len = star != NULL ? (size_t)(star - name) : len;
    np->section = -1;
    np->extended = false;
    if (star == NULL)
        return;
    const char *p = star + 1, *end = name + len;
    if (p == end) {
        np->extended = true; /* "name*": one extended value without sections */
        return;
    }
    if (*p >= '0' && *p <= '9') {
        int n = 0;
        while (p < end && *p >= '0' && *p <= '9' && n <= MAX_SECTION)
            n = n * 10 + (*p++ - '0');
        np->section = n;
    }
    if (p < end && *p == '*') {
        np->extended = true;
        p++;
    }
    if (p != end || np->section > MAX_SECTION) {
        /* not RFC 2231 after all: keep the whole name */
        np->base_len = len;
        np->section = -1;
        np->extended = false;
    }
}

/* Decodes %XX; returns how many '%' had no two hex digits after them (kept as written). */
static size_t percent_decode_into(const char *s, size_t len, struct hg_buf *out)
{
    size_t bad = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hg_mail_hex_value(s[i + 1])) >= 0 &&
            (lo = hg_mail_hex_value(s[i + 2])) >= 0) {
            hg_buf_append_char(out, (char)(hi * 16 + lo));
            i += 2;
        } else {
            bad += s[i] == '%';
            hg_buf_append_char(out, s[i]);
        }
    }
    return bad;
}

/* Splits "charset'lang'value" off the first extended section; returns where the value starts. */
static size_t take_charset(const char *v, size_t len, char **charset_r)
{
    const char *q1 = memchr(v, '\'', len);
    if (q1 == NULL)
        return 0;
    const char *q2 = memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v));
    if (q2 == NULL)
        return 0;
    if (q1 > v)
        *charset_r = lower_copy(v, (size_t)(q1 - v));
    return (size_t)(q2 + 1 - v);
}

struct section_ref {
    int section;
    size_t raw_index;
};

static int compare_sections(const void *a, const void *b)
{
    const struct section_ref *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    return x->raw_index < y->raw_index ? -1 : (x->raw_index > y->raw_index);
}

static bool same_base(const struct raw_param *r, const char *base, size_t base_len)
{
    struct name_parts np;
    split_name(r->name, r->name_len, &np);
    if (np.base_len != base_len)
        return false;
    for (size_t i = 0; i < base_len; i++)
        if (to_lower(r->name[i]) != to_lower(base[i]))
            return false;
    return true;
}

/* Joins the RFC 2231 sections (or the one "name*" value) of one parameter into P. */
static void join_sections(const struct raw_param *raw, size_t n_raw, const char *base, size_t base_len,
                          struct mail_param *p, struct mail_warnings *w, const char *where)
{
    struct section_ref refs[MAX_RAW_PARAMS];
    size_t n = 0;
    for (size_t i = 0; i < n_raw; i++) {
        struct name_parts np;
        split_name(raw[i].name, raw[i].name_len, &np);
        if ((np.section >= 0 || np.extended) && same_base(&raw[i], base, base_len))
            refs[n++] = (struct section_ref){np.section < 0 ? 0 : np.section, i};
    }
    qsort(refs, n, sizeof refs[0], compare_sections);
    struct hg_buf value;
    hg_buf_init(&value, 1u << 20);
    int expected = refs[0].section;
    if (expected != 0)
        hg_mail_warn(w, "param_repaired", "RFC 2231 parameter without section 0 in %s", where);
    for (size_t k = 0; k < n; k++) {
        const struct raw_param *r = &raw[refs[k].raw_index];
        struct name_parts np;
        split_name(r->name, r->name_len, &np);
        if (refs[k].section != expected) {
            hg_mail_warn(w, "param_repaired", "RFC 2231 sections missing or repeated in %s", where);
            if (refs[k].section < expected)
                continue;
        }
        expected = refs[k].section + 1;
        size_t start = 0;
        if (np.extended && k == 0)
            start = take_charset(r->value, r->value_len, &p->charset);
        if (np.extended && percent_decode_into(r->value + start, r->value_len - start, &value) > 0)
            hg_mail_warn(w, "param_repaired", "'%%' without two hex digits in an RFC 2231 value in %s",
                         where);
        else if (!np.extended)
            hg_buf_append(&value, r->value, r->value_len);
    }
    if (p->charset == NULL)
        p->charset = hg_xstrdup("");
    p->value_len = value.len;
    p->value = hg_buf_steal(&value);
}

static struct mail_param *find_param(struct mail_content *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (strlen(c->params[i].name) == len && memcmp(c->params[i].name, name, len) == 0)
            return &c->params[i];
    return NULL;
}

/* Turns the raw parameters into C's list: one entry per name, RFC 2231 forms winning over plain ones. */
static void assemble_params(const struct raw_param *raw, size_t n_raw, struct mail_content *c,
                            struct mail_warnings *w, const char *where)
{
    c->params = hg_xcalloc(n_raw ? n_raw : 1, sizeof *c->params);
    for (size_t i = 0; i < n_raw; i++) {
        struct name_parts np;
        split_name(raw[i].name, raw[i].name_len, &np);
        char *name = lower_copy(raw[i].name, np.base_len);
        bool rfc2231 = np.section >= 0 || np.extended;
        struct mail_param *existing = find_param(c, name, np.base_len);
        if (existing != NULL && (existing->charset != NULL || !rfc2231)) {
            free(name); /* already have it (sections were joined at the first one) */
            continue;
        }
        struct mail_param p = {name, NULL, 0, NULL};
        if (rfc2231) {
            join_sections(raw, n_raw, raw[i].name, np.base_len, &p, w, where);
        } else {
            p.value = hg_xmalloc(raw[i].value_len + 1); /* may hold NUL bytes: no strndup */
            memcpy(p.value, raw[i].value, raw[i].value_len);
            p.value[raw[i].value_len] = '\0';
            p.value_len = raw[i].value_len;
        }
        if (existing != NULL) {
            free(existing->name);
            free(existing->value);
            *existing = p;
        } else {
            c->params[c->n_params++] = p;
        }
    }
}

/* ------------------------------------------------------------ public */

bool hg_mail_content_parse(const char *s, size_t len, bool disposition, struct mail_content *c,
                           struct mail_warnings *w, const char *where)
{
    struct raw_param raw[MAX_RAW_PARAMS];
    size_t n_raw = 0;
    memset(c, 0, sizeof *c);

    size_t i = skip_blanks_and_comments(s, len, 0);
    size_t type_start = i;
    i = read_token(s, len, i);
    c->type = lower_copy(s + type_start, i - type_start);
    i = skip_blanks_and_comments(s, len, i);
    if (!disposition && i < len && s[i] == '/') {
        i = skip_blanks_and_comments(s, len, i + 1);
        size_t sub_start = i;
        i = read_token(s, len, i);
        c->subtype = lower_copy(s + sub_start, i - sub_start);
    } else {
        c->subtype = hg_xstrdup("");
    }
    read_params(s, len, i, raw, &n_raw, w, where);
    assemble_params(raw, n_raw, c, w, where);
    for (size_t k = 0; k < n_raw; k++)
        free(raw[k].value);
    return c->type[0] != '\0';
}

void hg_mail_content_free(struct mail_content *c)
{
    for (size_t i = 0; i < c->n_params; i++) {
        free(c->params[i].name);
        free(c->params[i].value);
        free(c->params[i].charset);
    }
    free(c->params);
    free(c->type);
    free(c->subtype);
    memset(c, 0, sizeof *c);
}

const struct mail_param *hg_mail_param_get(const struct mail_content *c, const char *name)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return &c->params[i];
    return NULL;
}

char *hg_mail_param_text(const struct mail_content *c, const char *name, const char *fallback,
                         struct mail_warnings *w, const char *where)
{
    const struct mail_param *p = hg_mail_param_get(c, name);
    if (p == NULL)
        return NULL;
    char *text;
    size_t len;
    if (p->charset != NULL && p->charset[0] != '\0') {
        struct hg_charset_result res;
        hg_charset_to_utf8(p->charset, p->value, p->value_len, 0, &res);
        if (res.flags & (HG_CHARSET_UNKNOWN_LABEL | HG_CHARSET_MISLABELED | HG_CHARSET_INVALID_BYTES)) {
            char q[64];
            hg_mail_quote(q, sizeof q, p->charset, strlen(p->charset));
            hg_mail_warn(w, "charset_repaired", "parameter %s in %s: '%s' read as %s", name, where, q,
                         res.used);
        }
        text = res.text;
        len = res.len;
    } else {
        text = hg_mail_decode_words(p->value, p->value_len, fallback, w, where);
        len = strlen(text);
    }
    size_t controls = 0; /* "%00" or "%0A" in an RFC 2231 value: never cut the name there */
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F) {
            controls += text[i] != '\t';
            text[i] = ' ';
        }
    }
    if (controls > 0)
        hg_mail_warn(w, "param_repaired", "control characters in parameter %s in %s replaced", name, where);
    hg_mail_collapse_spaces(text);
    return text;
}
