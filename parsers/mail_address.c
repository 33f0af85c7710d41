/*
 * mail_address.c — addresses (From, To, Cc, Reply-To, Sender) and message ids
 * (Message-ID, In-Reply-To, References), read forgivingly.
 *
 * An address list is cut at top-level commas (not inside quotes, comments,
 * angle brackets or encoded words); a piece with no address in it
 * ("Smith, Ann <a@x>" written without quotes) is joined to the next one;
 * groups ("team: a@x, b@y;") give their members; "a@x (Ann)" and
 * "Ann a@x" give the name too. Display names are decoded (RFC 2047, raw
 * 8-bit), addresses keep their local part as written and get a lower-case
 * domain.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_MSGID_LEN 998

struct range {
    size_t start;
    size_t end;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ------------------------------------------------------------ scanning */

/* Offset after the comment that starts at S[I] == '(' (nesting and escapes allowed). */
static size_t skip_comment(const char *s, size_t len, size_t i)
{
    int depth = 0;
    for (; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            i++;
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return len;
}

/* Offset after the quoted string that starts at S[I] == '"'. */
static size_t skip_quoted(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

static bool range_has(const char *s, struct range r, char c)
{
    return r.end > r.start && memchr(s + r.start, c, r.end - r.start) != NULL;
}

static bool range_blank(const char *s, struct range r)
{
    for (size_t i = r.start; i < r.end; i++)
        if (!is_blank(s[i]))
            return false;
    return true;
}

/* Cuts S into elements at top-level ',' and ';', dropping group names ("team:"). */
static size_t split_elements(const char *s, size_t len, struct range *out, size_t max)
{
    size_t n = 0, start = 0, i = 0, cache = (size_t)-1;
    bool in_angle = false;
    while (i < len) {
        char c = s[i];
        size_t word_end;
        if (c == '"') {
            i = skip_quoted(s, len, i);
            continue;
        }
        if (c == '(') {
            i = skip_comment(s, len, i);
            continue;
        }
        if (c == '=' && !in_angle && (word_end = hg_mail_encoded_word_end(s, len, i, &cache)) > 0) {
            i = word_end;
            continue;
        }
        if (c == '<')
            in_angle = true;
        else if (c == '>')
            in_angle = false;
        else if (!in_angle && (c == ',' || c == ';')) {
            if (n < max)
                out[n++] = (struct range){start, i};
            start = i + 1;
        } else if (!in_angle && c == ':' && !range_has(s, (struct range){start, i}, '@') &&
                   !range_has(s, (struct range){start, i}, '<')) {
            start = i + 1; /* "group name:" */
        }
        i++;
    }
    if (n < max && start < len)
        out[n++] = (struct range){start, len};
    return n;
}

/* The last top-level '<' of R, or R.end when there is none. */
static size_t find_angle(const char *s, struct range r)
{
    size_t found = r.end;
    for (size_t i = r.start; i < r.end;) {
        if (s[i] == '"')
            i = skip_quoted(s, r.end, i);
        else if (s[i] == '(')
            i = skip_comment(s, r.end, i);
        else {
            if (s[i] == '<')
                found = i;
            i++;
        }
    }
    return found;
}

/* ------------------------------------------------------------ cleaning */

/* Text of a display name: quotes removed, escapes resolved, comments kept as written. */
static void append_phrase(const char *s, struct range r, struct hg_buf *out)
{
    for (size_t i = r.start; i < r.end; i++) {
        char c = s[i];
        if (c == '"')
            continue;
        if (c == '\\' && i + 1 < r.end)
            c = s[++i];
        hg_buf_append_char(out, c == '\r' || c == '\n' ? ' ' : c);
    }
}

static char *finish_name(struct hg_buf *raw, const char *fallback, struct mail_warnings *w, const char *where)
{
    char *name = hg_mail_decode_words(raw->data ? raw->data : "", raw->len, fallback, w, where);
    hg_buf_free(raw);
    hg_mail_collapse_spaces(name);
    size_t n = strlen(name);
    while (n >= 2 && ((name[0] == '\'' && name[n - 1] == '\'') || (name[0] == '"' && name[n - 1] == '"'))) {
        memmove(name, name + 1, n - 2);
        n -= 2;
        name[n] = '\0';
        hg_mail_collapse_spaces(name);
        n = strlen(name);
    }
    if (name[0] == '\0') {
        free(name);
        return NULL;
    }
    return name;
}

/* An addr-spec without blanks, comments, "mailto:" and angle brackets; domain lower-cased. */
static char *clean_email(const char *s, struct range r)
{
    struct hg_buf b;
    hg_buf_init(&b, r.end - r.start + 1);
    for (size_t i = r.start; i < r.end;) {
        if (s[i] == '(') {
            i = skip_comment(s, r.end, i);
            continue;
        }
        if (!is_blank(s[i]) && s[i] != '<' && s[i] != '>')
            hg_buf_append_char(&b, s[i] == '\0' ? '?' : s[i]);
        i++;
    }
    char *raw = hg_buf_steal(&b);
    const char *start = raw;
    if (strncasecmp(start, "mailto:", 7) == 0)
        start += 7;
    struct hg_charset_result res;
    hg_charset_to_utf8(NULL, start, strlen(start), 0, &res);
    free(raw);
    char *at = strrchr(res.text, '@');
    for (char *p = at; p != NULL && *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return res.text;
}

static void list_add(struct hg_mail_address_list *list, char *name, char *email)
{
    list->items = hg_xrealloc(list->items, (list->count + 1) * sizeof *list->items);
    list->items[list->count].name = name;
    list->items[list->count].email = email;
    list->count++;
}

/* "a@x (Ann)", "Ann a@x" or a lone word: an element without angle brackets. */
static void parse_bare(const char *s, struct range r, const char *fallback, struct hg_mail_address_list *list,
                       struct mail_warnings *w, const char *where)
{
    struct hg_buf name;
    hg_buf_init(&name, (r.end - r.start) * 2 + 16);
    struct range email = {r.end, r.end};
    size_t i = r.start;
    while (i < r.end) {
        if (is_blank(s[i])) {
            i++;
            continue;
        }
        if (s[i] == '(') {
            size_t end = skip_comment(s, r.end, i);
            size_t inner_end = end > i + 1 && s[end - 1] == ')' ? end - 1 : end;
            append_phrase(s, (struct range){i + 1, inner_end}, &name);
            hg_buf_append_char(&name, ' ');
            i = end;
            continue;
        }
        size_t word_start = i;
        while (i < r.end && !is_blank(s[i]) && s[i] != '(')
            i = s[i] == '"' ? skip_quoted(s, r.end, i) : i + 1;
        struct range word = {word_start, i};
        if (email.start == r.end && range_has(s, word, '@')) {
            email = word;
        } else {
            append_phrase(s, word, &name);
            hg_buf_append_char(&name, ' ');
        }
    }
    if (email.start == r.end) {
        /* no '@' at all: one word is a local address (MAILER-DAEMON), more words only a name */
        char *text = finish_name(&name, fallback, w, where);
        if (text != NULL && strchr(text, ' ') == NULL) {
            list_add(list, NULL, text);
        } else if (text != NULL) {
            hg_mail_warn(w, "address_invalid", "no address in a %s entry", where);
            list_add(list, text, hg_xstrdup(""));
        }
        return;
    }
    list_add(list, finish_name(&name, fallback, w, where), clean_email(s, email));
}

/* "(Ann Smith)" as a whole name becomes "Ann Smith". */
static void strip_lone_parens(char *name)
{
    if (name == NULL)
        return;
    size_t n = strlen(name);
    if (n < 2 || name[0] != '(' || name[n - 1] != ')')
        return;
    if (memchr(name + 1, '(', n - 2) != NULL || memchr(name + 1, ')', n - 2) != NULL)
        return;
    memmove(name, name + 1, n - 2);
    name[n - 2] = '\0';
}

static void parse_element(const char *s, struct range r, const char *fallback,
                          struct hg_mail_address_list *list, struct mail_warnings *w, const char *where)
{
    size_t lt = find_angle(s, r);
    if (lt == r.end) {
        parse_bare(s, r, fallback, list, w, where);
        return;
    }
    const char *gt = memchr(s + lt, '>', r.end - lt);
    size_t email_end = gt != NULL ? (size_t)(gt - s) : r.end;
    if (gt == NULL)
        hg_mail_warn(w, "address_repaired", "missing '>' in %s", where);
    struct hg_buf name;
    hg_buf_init(&name, (r.end - r.start) * 2 + 16);
    append_phrase(s, (struct range){r.start, lt}, &name);
    if (gt != NULL && !range_blank(s, (struct range){email_end + 1, r.end})) {
        hg_buf_append_char(&name, ' ');
        append_phrase(s, (struct range){email_end + 1, r.end}, &name);
    }
    char *display = finish_name(&name, fallback, w, where);
    strip_lone_parens(display);
    list_add(list, display, clean_email(s, (struct range){lt + 1, email_end}));
}

void hg_mail_parse_addresses(const char *value, size_t len, const char *fallback,
                             struct hg_mail_address_list *list, struct mail_warnings *w, const char *where)
{
    size_t max = HG_MAIL_MAX_ADDRESSES + 1;
    struct range *elements = hg_xmalloc(max * sizeof *elements);
    size_t n = split_elements(value, len, elements, max);
    if (n > HG_MAIL_MAX_ADDRESSES) {
        hg_mail_warn(w, "limit_addresses", "more than %d addresses in %s", HG_MAIL_MAX_ADDRESSES, where);
        n = HG_MAIL_MAX_ADDRESSES;
    }
    size_t carry_start = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        struct range r = elements[i];
        if (carry_start != (size_t)-1)
            r.start = carry_start;
        carry_start = (size_t)-1;
        if (range_blank(value, r))
            continue;
        bool has_address = range_has(value, r, '@') || find_angle(value, r) < r.end;
        if (!has_address && i + 1 < n && find_angle(value, elements[i + 1]) < elements[i + 1].end) {
            carry_start = r.start; /* "Smith, Ann <a@x>": the comma was part of the name */
            continue;
        }
        if (list->count >= HG_MAIL_MAX_ADDRESSES)
            break;
        parse_element(value, r, fallback, list, w, where);
    }
    free(elements);
}

void hg_mail_address_free(struct hg_mail_address *a)
{
    if (a == NULL)
        return;
    free(a->name);
    free(a->email);
}

void hg_mail_address_list_free(struct hg_mail_address_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        hg_mail_address_free(&list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* ------------------------------------------------------------ message ids */

static char *clean_msgid(const char *s, size_t start, size_t end)
{
    struct hg_buf b;
    hg_buf_init(&b, MAX_MSGID_LEN);
    for (size_t i = start; i < end; i++)
        if (!is_blank(s[i]) && s[i] != '<' && s[i] != '>' && s[i] != '\0' && hg_buf_append_char(&b, s[i]) < 0)
            break;
    if (b.len == 0) {
        hg_buf_free(&b);
        return NULL;
    }
    struct hg_charset_result res;
    hg_charset_to_utf8(NULL, b.data, b.len, 0, &res);
    hg_buf_free(&b);
    return res.text;
}

/* The next id at or after *POS: "<...>", else a bare word with '@'. Returns NULL at the end. */
static char *next_msgid(const char *s, size_t len, size_t *pos, bool bare_words)
{
    size_t i = *pos;
    while (i < len) {
        if (s[i] == '(') {
            i = skip_comment(s, len, i);
        } else if (s[i] == '"') {
            i = skip_quoted(s, len, i);
        } else if (s[i] == '<') {
            const char *gt = memchr(s + i, '>', len - i);
            size_t end = gt != NULL ? (size_t)(gt - s) : len;
            *pos = gt != NULL ? end + 1 : len;
            char *id = clean_msgid(s, i + 1, end);
            if (id != NULL)
                return id;
            i = *pos;
        } else if (bare_words && !is_blank(s[i]) && s[i] != ',') {
            size_t start = i;
            while (i < len && !is_blank(s[i]) && s[i] != ',' && s[i] != '<')
                i++;
            if (memchr(s + start, '@', i - start) != NULL) {
                *pos = i;
                return clean_msgid(s, start, i);
            }
        } else {
            i++;
        }
    }
    *pos = len;
    return NULL;
}

static bool has_angle_id(const char *s, size_t len)
{
    const char *lt = memchr(s, '<', len);
    return lt != NULL && memchr(lt, '>', len - (size_t)(lt - s)) != NULL;
}

char *hg_mail_first_msgid(const char *value, size_t len)
{
    size_t pos = 0;
    char *id = next_msgid(value, len, &pos, !has_angle_id(value, len));
    if (id != NULL)
        return id;
    /* no '@' anywhere: take a lone word as it is */
    size_t start = 0;
    while (start < len && is_blank(value[start]))
        start++;
    size_t end = start;
    while (end < len && !is_blank(value[end]))
        end++;
    return end > start ? clean_msgid(value, start, end) : NULL;
}

size_t hg_mail_msgids(const char *value, size_t len, char ***ids_r, struct mail_warnings *w)
{
    char **ids = NULL;
    size_t n = 0, cap = 0, pos = 0, seen = 0;
    bool bare = !has_angle_id(value, len);
    char *id;
    while ((id = next_msgid(value, len, &pos, bare)) != NULL) {
        bool duplicate = false;
        for (size_t i = 0; i < n && !duplicate; i++)
            duplicate = strcmp(ids[i], id) == 0;
        if (duplicate) {
            free(id);
            continue;
        }
        seen++;
        if (n == HG_MAIL_MAX_REFERENCES) {
            /* keep the first (the thread's root) and the most recent ones */
            free(ids[1]);
            memmove(ids + 1, ids + 2, (n - 2) * sizeof *ids);
            n--;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            ids = hg_xrealloc(ids, cap * sizeof *ids);
        }
        ids[n++] = id;
    }
    if (seen > HG_MAIL_MAX_REFERENCES)
        hg_mail_warn(w, "limit_references", "%zu message ids, kept the first and the last %d", seen,
                     HG_MAIL_MAX_REFERENCES - 1);
    *ids_r = ids;
    return n;
}
