/*
 * mail_mime.c — the MIME structure walk: one entry in ctx->parts per entity.
 *
 * Multiparts are cut at their delimiter lines top-down, so an inner part
 * that never closes still ends where its parent's next delimiter is, and a
 * missing final boundary ends the last part at the end of its parent. A
 * multipart without a usable boundary parameter has its boundary guessed
 * from the body; one whose boundary never appears is read as text. Depth and
 * part count are capped: a multipart below the depth limit is kept whole as
 * one part, parts past the count limit are skipped, each with a warning.
 *
 * This walk is ours rather than libetpan's mailmime_parse(), which was
 * measured here (libetpan 1.9.4) to recurse without a depth limit (input
 * nested 20,000 deep took 7.5 s, 100,000 deep did not end in 30 s), to drop
 * every sibling after an empty part, and to read a multipart as one part
 * when a parameter has no value ("; foo;") or a semicolon is missing. Field
 * values are read by mail_header.c and mail_param.c; dates use libetpan's
 * RFC 5322 parser first (mail_date.c).
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BOUNDARY 200
#define BOUNDARY_GUESS_LINES 200

static int add_part(struct mail_ctx *c, int parent, unsigned depth)
{
    if (c->n_parts >= c->lim.max_parts) {
        if (!c->parts_capped)
            hg_mail_warn(&c->warnings, "limit_parts", "more than %u MIME parts: the rest are skipped",
                         c->lim.max_parts);
        c->parts_capped = true;
        return -1;
    }
    if (c->n_parts == c->cap_parts) {
        c->cap_parts = c->cap_parts ? c->cap_parts * 2 : 8;
        c->parts = hg_xrealloc(c->parts, c->cap_parts * sizeof *c->parts);
    }
    int idx = (int)c->n_parts++;
    struct mail_part *p = &c->parts[idx];
    memset(p, 0, sizeof *p);
    p->parent = parent;
    p->first_child = -1;
    p->next_sibling = -1;
    p->depth = depth;
    p->number = 1;
    if (parent >= 0) {
        int last = c->parts[parent].first_child;
        if (last < 0) {
            c->parts[parent].first_child = idx;
        } else {
            while (c->parts[last].next_sibling >= 0)
                last = c->parts[last].next_sibling;
            c->parts[last].next_sibling = idx;
            p->number = c->parts[last].number + 1;
        }
    }
    return idx;
}

void hg_mail_part_name(const struct mail_ctx *c, int idx, char *out, size_t size)
{
    unsigned numbers[64];
    size_t n = 0;
    for (int i = idx; i > 0 && c->parts[i].parent >= 0 && n < 64; i = c->parts[i].parent)
        numbers[n++] = c->parts[i].number;
    if (n == 0) {
        snprintf(out, size, "message");
        return;
    }
    size_t o = (size_t)snprintf(out, size, "part ");
    while (n > 0 && o < size) {
        n--;
        o += (size_t)snprintf(out + o, size - o, n > 0 ? "%u." : "%u", numbers[n]);
    }
}

void hg_mail_parts_free(struct mail_ctx *c)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        struct mail_part *p = &c->parts[i];
        free(p->type);
        free(p->subtype);
        hg_mail_content_free(&p->ct);
        free(p->disposition);
        hg_mail_content_free(&p->disp);
        free(p->content_id);
    }
    free(c->parts);
    c->parts = NULL;
    c->n_parts = 0;
}

/* ------------------------------------------------------------ part headers */

static void warn_header_issues(struct mail_ctx *c, unsigned issues, const char *where, bool root)
{
    if (issues & HDR_TRUNCATED)
        hg_mail_warn(&c->warnings, "limit_header_size", "header of %s cut at %zu bytes", where,
                     c->lim.max_header_size);
    if ((issues & HDR_NO_BLANK_LINE) && root)
        hg_mail_warn(&c->warnings, "header_repaired", "no blank line after the header of %s", where);
    if (issues & HDR_BAD_FOLDING)
        hg_mail_warn(&c->warnings, "header_repaired", "continuation line without leading blank in %s", where);
    if (issues & HDR_GARBAGE)
        hg_mail_warn(&c->warnings, "header_repaired", "lines that are no header skipped in %s", where);
    if (issues & HDR_MBOX_FROM)
        hg_mail_warn(&c->warnings, "header_repaired", "mbox \"From \" line skipped");
}

static char *strip_angles(const char *v)
{
    while (*v == ' ' || *v == '\t' || *v == '<')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '>'))
        n--;
    return n > 0 ? hg_xstrndup(v, n) : NULL;
}

static void read_content_type(struct mail_ctx *c, int idx, const struct mail_headers *h, bool in_digest,
                              const char *where)
{
    struct mail_part *p = &c->parts[idx];
    const struct mail_header *ct = hg_mail_header_get(h, "Content-Type");
    bool ok =
        ct != NULL && hg_mail_content_parse(ct->value, ct->value_len, false, &p->ct, &c->warnings, where);
    const char *type = in_digest ? "message" : "text";
    const char *subtype = in_digest ? "rfc822" : "plain";
    if (ok && p->ct.subtype[0] != '\0') {
        type = p->ct.type;
        subtype = p->ct.subtype;
    } else if (ok && strcmp(p->ct.type, "text") == 0) {
        hg_mail_warn(&c->warnings, "content_type_repaired", "\"text\" without subtype in %s: text/plain",
                     where);
    } else if (ok && strcmp(p->ct.type, "multipart") == 0) {
        type = "multipart";
        subtype = "mixed";
        hg_mail_warn(&c->warnings, "content_type_repaired", "\"multipart\" without subtype in %s", where);
    } else if (ok) {
        type = "application";
        subtype = "octet-stream";
        hg_mail_warn(&c->warnings, "content_type_repaired", "unreadable Content-Type in %s", where);
    } else if (ct != NULL) {
        hg_mail_warn(&c->warnings, "content_type_repaired", "unreadable Content-Type in %s: %s/%s", where,
                     type, subtype);
    }
    p->type = hg_xstrdup(type);
    p->subtype = hg_xstrdup(subtype);
}

static void read_part_headers(struct mail_ctx *c, int idx, const struct mail_headers *h, bool in_digest)
{
    char where[96];
    hg_mail_part_name(c, idx, where, sizeof where);
    read_content_type(c, idx, h, in_digest, where);
    struct mail_part *p = &c->parts[idx];

    const struct mail_header *cte = hg_mail_header_get(h, "Content-Transfer-Encoding");
    p->encoding = ENC_7BIT;
    if (cte != NULL) {
        bool known;
        p->encoding = hg_mail_encoding_parse(cte->value, cte->value_len, &known);
        if (!known) {
            char q[64];
            hg_mail_quote(q, sizeof q, cte->value, cte->value_len);
            hg_mail_warn(&c->warnings, "transfer_encoding_unknown", "'%s' in %s", q, where);
        }
    }
    const struct mail_header *cd = hg_mail_header_get(h, "Content-Disposition");
    if (cd != NULL && hg_mail_content_parse(cd->value, cd->value_len, true, &p->disp, &c->warnings, where))
        p->disposition = hg_xstrdup(p->disp.type);
    const struct mail_header *cid = hg_mail_header_get(h, "Content-ID");
    if (cid != NULL) {
        char *v = hg_mail_header_unfold(cid);
        p->content_id = strip_angles(v);
        free(v);
    }
}

/* ------------------------------------------------------------ multipart */

struct delimiter {
    size_t line_start; /* where "--boundary" starts */
    size_t next;       /* where the line after it starts */
    bool close;        /* "--boundary--" */
};

static bool only_blanks_to_eol(const char *b, size_t len, size_t i, size_t *next_r)
{
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r'))
        i++;
    if (i < len && b[i] != '\n')
        return false;
    *next_r = i < len ? i + 1 : len;
    return true;
}

/* Whether the "--boundary" at LINE_START (BD_LEN bytes of boundary) ends a delimiter line; fills D. */
static bool delimiter_at(const char *b, size_t len, size_t line_start, size_t bd_len, struct delimiter *d)
{
    size_t after = line_start + 2 + bd_len;
    d->line_start = line_start;
    if (after + 1 < len && b[after] == '-' && b[after + 1] == '-') {
        const char *nl = memchr(b + after, '\n', len - after);
        d->next = nl != NULL ? (size_t)(nl - b) + 1 : len;
        d->close = true;
        return true;
    }
    d->close = false;
    return only_blanks_to_eol(b, len, after, &d->next);
}

/*
 * The first delimiter line at or after FROM. NEEDLE is "\n--" followed by
 * the boundary: searching for the line break too is both exact (a
 * delimiter starts a line) and fast (a longer needle skips further).
 */
static bool find_delimiter(const char *b, size_t len, size_t from, const char *needle, size_t needle_len,
                           struct delimiter *d)
{
    size_t bd_len = needle_len - 3;
    if (from == 0 && len >= bd_len + 2 && memcmp(b, needle + 1, bd_len + 2) == 0 &&
        delimiter_at(b, len, 0, bd_len, d))
        return true;
    size_t i = from > 0 ? from - 1 : 0; /* the line break before a line starting at FROM */
    while (i < len) {
        const char *hit = memmem(b + i, len - i, needle, needle_len);
        if (hit == NULL)
            return false;
        size_t line_start = (size_t)(hit - b) + 1;
        if (delimiter_at(b, len, line_start, bd_len, d))
            return true;
        i = line_start;
    }
    return false;
}

/* Where the part before a delimiter at LINE_START ends: the line break before it belongs to the delimiter. */
static size_t part_end_before(const char *b, size_t start, size_t line_start)
{
    size_t end = line_start;
    if (end > start && b[end - 1] == '\n')
        end--;
    if (end > start && b[end - 1] == '\r')
        end--;
    return end;
}

/* A boundary from the first "--token" line that occurs again, for a multipart that names none. */
static bool guess_boundary(const char *b, size_t len, char *out, size_t size)
{
    size_t i = 0;
    for (int line = 0; line < BOUNDARY_GUESS_LINES && i < len; line++) {
        const char *nl = memchr(b + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - b) : len;
        size_t e = end;
        while (e > i && (b[e - 1] == '\r' || b[e - 1] == ' ' || b[e - 1] == '\t'))
            e--;
        if (e - i > 3 && e - i - 2 < size && b[i] == '-' && b[i + 1] == '-') {
            size_t n = e - i - 2;
            memcpy(out, b + i + 2, n);
            out[n] = '\0';
            struct delimiter d;
            char needle[MAX_BOUNDARY + 4];
            snprintf(needle, sizeof needle, "\n--%s", out);
            if (find_delimiter(b, len, end, needle, n + 3, &d))
                return true;
        }
        i = nl != NULL ? end + 1 : len;
    }
    return false;
}

static void walk_entity(struct mail_ctx *c, const char *p, size_t len, int parent, unsigned depth,
                        bool in_digest, const struct mail_headers *root_headers, size_t root_body);

/* Treats a multipart that cannot be split as one text part. */
static void demote_to_text(struct mail_ctx *c, int idx)
{
    struct mail_part *p = &c->parts[idx];
    free(p->type);
    free(p->subtype);
    p->type = hg_xstrdup("text");
    p->subtype = hg_xstrdup("plain");
    p->kind = PART_LEAF;
}

static bool multipart_boundary(struct mail_ctx *c, int idx, const char *where, char *bd, size_t size)
{
    struct mail_part *p = &c->parts[idx];
    const struct mail_param *param = hg_mail_param_get(&p->ct, "boundary");
    if (param != NULL && param->value_len > 0 && param->value_len < size &&
        memchr(param->value, '\0', param->value_len) == NULL) {
        size_t n = param->value_len;
        while (n > 0 && (param->value[n - 1] == ' ' || param->value[n - 1] == '\t'))
            n--;
        memcpy(bd, param->value, n);
        bd[n] = '\0';
        if (n > 0)
            return true;
    }
    if (guess_boundary(p->body, p->body_len, bd, size)) {
        char q[64];
        hg_mail_quote(q, sizeof q, bd, strlen(bd));
        hg_mail_warn(&c->warnings, "boundary_repaired", "%s has no usable boundary parameter: found '%s'",
                     where, q);
        return true;
    }
    hg_mail_warn(&c->warnings, "boundary_missing", "%s has no boundary: read as text", where);
    return false;
}

/*
 * After a close delimiter, the same boundary may open more parts: Outlook
 * Express reused the outer boundary for an inner multipart, whose close
 * then came early. Returns true (D moved to the next delimiter) when so.
 */
static bool reopen_after_close(struct mail_ctx *c, const char *b, size_t len, const char *needle,
                               size_t needle_len, struct delimiter *d, const char *where)
{
    struct delimiter again;
    if (!find_delimiter(b, len, d->next, needle, needle_len, &again) || again.close)
        return false;
    hg_mail_warn(&c->warnings, "boundary_repaired", "%s has parts after its final boundary", where);
    *d = again;
    return true;
}

static void walk_multipart(struct mail_ctx *c, int idx, unsigned depth)
{
    char where[96], bd[MAX_BOUNDARY + 1];
    hg_mail_part_name(c, idx, where, sizeof where);
    if (!multipart_boundary(c, idx, where, bd, sizeof bd)) {
        demote_to_text(c, idx);
        return;
    }
    const char *b = c->parts[idx].body;
    size_t len = c->parts[idx].body_len;
    char needle[MAX_BOUNDARY + 4];
    size_t needle_len = (size_t)snprintf(needle, sizeof needle, "\n--%s", bd);
    bool digest = strcmp(c->parts[idx].subtype, "digest") == 0;
    struct delimiter d;
    if (!find_delimiter(b, len, 0, needle, needle_len, &d)) {
        char q[64];
        hg_mail_quote(q, sizeof q, bd, strlen(bd));
        hg_mail_warn(&c->warnings, "boundary_missing", "boundary '%s' of %s never appears: read as text", q,
                     where);
        demote_to_text(c, idx);
        return;
    }
    c->parts[idx].kind = PART_MULTIPART;
    while (!c->parts_capped) {
        if (d.close && !reopen_after_close(c, b, len, needle, needle_len, &d, where))
            break;
        size_t start = d.next;
        struct delimiter next;
        bool found = find_delimiter(b, len, start, needle, needle_len, &next);
        size_t end = found ? part_end_before(b, start, next.line_start) : len;
        walk_entity(c, b + start, end - start, idx, depth + 1, digest, NULL, 0);
        if (!found) {
            hg_mail_warn(&c->warnings, "boundary_repaired", "%s has no final boundary", where);
            break;
        }
        d = next;
    }
}

/* ------------------------------------------------------------ entities */

static bool is_type(const struct mail_part *p, const char *type, const char *subtype)
{
    return strcmp(p->type, type) == 0 && (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

static void note_reports(struct mail_ctx *c, const struct mail_part *p)
{
    if (is_type(p, "multipart", "report")) {
        const struct mail_param *rt = hg_mail_param_get(&p->ct, "report-type");
        if (rt != NULL && strcasestr(rt->value, "delivery-status") != NULL)
            c->delivery_status = true;
        if (rt != NULL && strcasestr(rt->value, "disposition-notification") != NULL)
            c->disposition_notification = true;
        if (rt != NULL && strcasestr(rt->value, "feedback-report") != NULL)
            c->feedback_report = true;
    }
    if (is_type(p, "message", "feedback-report"))
        c->feedback_report = true;
    if (is_type(p, "message", "delivery-status") || is_type(p, "message", "global-delivery-status"))
        c->delivery_status = true;
    if (is_type(p, "message", "disposition-notification"))
        c->disposition_notification = true;
}

static void walk_entity(struct mail_ctx *c, const char *p, size_t len, int parent, unsigned depth,
                        bool in_digest, const struct mail_headers *root_headers, size_t root_body)
{
    int idx = add_part(c, parent, depth);
    if (idx < 0)
        return;
    struct mail_headers local = {0};
    const struct mail_headers *h = root_headers;
    size_t body = root_body;
    if (h == NULL) {
        unsigned issues = 0;
        char where[96];
        body = hg_mail_headers_parse(p, len, c->lim.max_header_size, &local, &issues);
        hg_mail_part_name(c, idx, where, sizeof where);
        warn_header_issues(c, issues, where, local.count > 0);
        h = &local;
    }
    read_part_headers(c, idx, h, in_digest);
    hg_mail_headers_free(&local);
    c->parts[idx].body = p + body;
    c->parts[idx].body_len = len - body;
    c->parts[idx].kind = PART_LEAF;
    note_reports(c, &c->parts[idx]);

    struct mail_part *part = &c->parts[idx];
    bool multipart = strcmp(part->type, "multipart") == 0;
    bool wrapper = idx == 0 && is_type(part, "message", "rfc822") &&
                   (part->encoding == ENC_7BIT || part->encoding == ENC_8BIT || part->encoding == ENC_BINARY);
    if ((multipart || wrapper) && depth + 1 > c->lim.max_depth) {
        char where[96];
        hg_mail_part_name(c, idx, where, sizeof where);
        hg_mail_warn(&c->warnings, "limit_depth", "%s is nested deeper than %u: kept whole", where,
                     c->lim.max_depth);
        return;
    }
    if (multipart) {
        walk_multipart(c, idx, depth);
    } else if (wrapper) {
        c->parts[idx].kind = PART_MESSAGE;
        walk_entity(c, c->parts[idx].body, c->parts[idx].body_len, idx, depth + 1, false, NULL, 0);
    }
}

void hg_mail_walk(struct mail_ctx *c, const char *p, size_t len, const struct mail_headers *root_headers,
                  size_t root_body)
{
    walk_entity(c, p, len, -1, 0, false, root_headers, root_body);
}
