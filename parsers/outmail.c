/*
 * outmail.c — compose outgoing messages (see outmail.h for the contract).
 *
 * Two passes of care: every input is checked as the message is built (the
 * first error wins, names its field, and the partial message is dropped),
 * and the finished message is checked once more for what must never leave
 * helpgate (a bare CR or LF, a NUL, an 8-bit byte, a line over 998 octets),
 * so a bug here fails loudly rather than sending a malformed or injected
 * message.
 *
 * Header fields are written through a small folder (struct field) that knows
 * the length of the current line and breaks before a blank when the next
 * token would pass 78 columns. Text that needs RFC 2047 is cut into encoded
 * words sized to the room left on the line, so folded lines stay within 78
 * columns even with the header name on the first line.
 */
#include "helpgate/outmail.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"
#include "helpgate/sha256.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FOLD_AT 78       /* RFC 5322 2.1.1: SHOULD */
#define MAX_LINE 998     /* RFC 5322 2.1.1: MUST */
#define MAX_WORD 75      /* RFC 2047 2: an encoded word */
#define WORD_OVERHEAD 12 /* "=?UTF-8?B?" and "?=" */
#define MIN_WORD_ROOM 24 /* fold first when less than this is left on a line */
#define QP_LINE 76       /* RFC 2045 6.7: encoded line length, "=" included */
#define MAX_MSGID 250
#define MAX_LOCAL 64
#define MAX_DOMAIN 253
#define MAX_ADDRESS 254
#define MAX_HEADER_NAME 76
#define MAX_TAG_PREFIX 32
#define MAX_DATE 253402300799LL /* 9999-12-31T23:59:59Z */

/* ------------------------------------------------------------ characters */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Length of the UTF-8 sequence that starts with LEAD, in text already known to be valid. */
static size_t utf8_seq_len(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* Copies S for an error message: printable ASCII only, at most 40 characters. */
static void quote(char out[48], const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n < 40; s++)
        out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7F ? *s : '?';
    if (s != NULL && *s != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int fail(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **error_r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error_r = hg_xvasprintf(fmt, ap);
    va_end(ap);
    return -1;
}

/* The message being written: a bounded buffer whose overflow sticks, so nothing is silently cut. */
struct msg {
    struct hg_buf b;
    bool full;
};

static void put(struct msg *m, const void *data, size_t len)
{
    if (!m->full && hg_buf_append(&m->b, data, len) < 0)
        m->full = true;
}

static void put_str(struct msg *m, const char *s)
{
    put(m, s, strlen(s));
}

static void put_char(struct msg *m, char c)
{
    put(m, &c, 1);
}

static void put_printf(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_printf(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!m->full && hg_buf_vprintf(&m->b, fmt, ap) < 0)
        m->full = true;
    va_end(ap);
}

/*
 * Checks header text WHAT: valid UTF-8, no controls but TAB (CR, LF and NUL
 * above all: no header injection). 0, or -1 with *error_r.
 */
static int check_text(const char *s, const char *what, char **error_r)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            return fail(error_r, "%s: contains a line break (CR or LF); header values must be one line",
                        what);
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail(error_r, "%s: contains the control character 0x%02X", what, c);
    }
    if (!hg_utf8_valid(s, n))
        return fail(error_r, "%s: is not valid UTF-8", what);
    return 0;
}

/* ------------------------------------------------------------ addresses */

static bool domain_valid(const char *d, size_t n)
{
    if (n == 0 || n > MAX_DOMAIN)
        return false;
    if (d[0] == '[') { /* address literal: printable dtext between brackets */
        if (n < 3 || d[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++)
            if ((unsigned char)d[i] <= 0x20 || (unsigned char)d[i] >= 0x7F || d[i] == '[' || d[i] == ']' ||
                d[i] == '\\')
                return false;
        return true;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(c) || c == '-' || c == '_') {
            if ((label == 0 && c == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && d[n - 1] != '-';
}

static bool dot_atom_valid(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
            return false;
    }
    return true;
}

/*
 * Reads EMAIL into its local part (unquoted) and domain. The local part may
 * be a dot-atom or a quoted string; what is not a dot-atom is written back
 * quoted, so "john."@x (as some carriers hand out) survives.
 */
static int split_address(const char *email, const char *what, char **local_r, const char **domain_r,
                         char **error_r)
{
    char shown[48];
    quote(shown, email);
    size_t n = strlen(email);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c == '\r' || c == '\n')
            return fail(error_r, "%s: address contains a line break (CR or LF)", what);
        if (c < 0x20 || c == 0x7F)
            return fail(error_r, "%s: address \"%s\" contains the control character 0x%02X", what, shown, c);
        if (c >= 0x80)
            return fail(error_r,
                        "%s: address \"%s\" is not ASCII; internationalized addresses (SMTPUTF8) are not "
                        "supported",
                        what, shown);
    }
    const char *at = strrchr(email, '@');
    if (at == NULL)
        return fail(error_r, "%s: address \"%s\" has no '@'", what, shown);
    if (n > MAX_ADDRESS)
        return fail(error_r, "%s: address \"%s\" is longer than %d characters", what, shown, MAX_ADDRESS);
    size_t local_len = (size_t)(at - email);
    struct hg_buf local;
    hg_buf_init(&local, MAX_ADDRESS);
    if (local_len >= 2 && email[0] == '"' && email[local_len - 1] == '"') {
        for (size_t i = 1; i + 1 < local_len; i++) {
            char c = email[i];
            if (c == '\\' && i + 2 < local_len)
                c = email[++i];
            else if (c == '"' || c == '\\')
                goto bad_local;
            hg_buf_append_char(&local, c);
        }
    } else {
        for (size_t i = 0; i < local_len; i++)
            if (email[i] == ' ' || email[i] == '"' || email[i] == '\\' || email[i] == '<' ||
                email[i] == '>' || email[i] == '(' || email[i] == ')' || email[i] == ',' || email[i] == ';' ||
                email[i] == ':' || email[i] == '@' || email[i] == '[' || email[i] == ']')
                goto bad_local;
        hg_buf_append(&local, email, local_len);
    }
    if (local.len == 0 || local.len > MAX_LOCAL) {
        hg_buf_free(&local);
        return fail(error_r, "%s: address \"%s\" needs a local part of 1 to %d characters", what, shown,
                    MAX_LOCAL);
    }
    if (!domain_valid(at + 1, strlen(at + 1))) {
        hg_buf_free(&local);
        return fail(error_r, "%s: address \"%s\" has no valid domain after '@'", what, shown);
    }
    *local_r = hg_buf_steal(&local);
    *domain_r = at + 1;
    return 0;
bad_local:
    hg_buf_free(&local);
    return fail(error_r, "%s: address \"%s\" has a malformed local part", what, shown);
}

/* The addr-spec of EMAIL as it will be written, in a new string. */
static int address_text(const char *email, const char *what, char **text_r, char **error_r)
{
    char *local = NULL;
    const char *domain = NULL;
    if (split_address(email, what, &local, &domain, error_r) < 0)
        return -1;
    size_t n = strlen(local);
    struct hg_buf b;
    hg_buf_init(&b, 2 * MAX_ADDRESS + 8);
    if (dot_atom_valid(local, n)) {
        hg_buf_append(&b, local, n);
    } else {
        hg_buf_append_char(&b, '"');
        for (size_t i = 0; i < n; i++) {
            if (local[i] == '"' || local[i] == '\\')
                hg_buf_append_char(&b, '\\');
            hg_buf_append_char(&b, local[i]);
        }
        hg_buf_append_char(&b, '"');
    }
    hg_buf_printf(&b, "@%s", domain);
    free(local);
    *text_r = hg_buf_steal(&b);
    return 0;
}

int hg_outmail_check_address(const char *email, char **error_r)
{
    char *text;
    if (email == NULL)
        return fail(error_r, "address: missing");
    if (address_text(email, "address", &text, error_r) < 0)
        return -1;
    free(text);
    return 0;
}

/* ------------------------------------------------------------ message ids */

bool hg_outmail_msgid_valid(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id), ats = 0;
    if (n == 0 || n > MAX_MSGID || id[0] == '@' || id[n - 1] == '@')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7F || strchr("<>\"\\()", c) != NULL)
            return false;
        ats += c == '@';
    }
    return ats == 1;
}

static int check_msgid(const char *id, const char *what, char **error_r)
{
    if (hg_outmail_msgid_valid(id))
        return 0;
    if (id != NULL && strpbrk(id, "\r\n") != NULL)
        return fail(error_r, "%s: contains a line break (CR or LF)", what);
    char shown[48];
    quote(shown, id);
    return fail(error_r,
                "%s: \"%s\" is not a message id; write 1 to %d printable characters with one '@', without "
                "<>, blanks, quotes or parentheses",
                what, shown, MAX_MSGID);
}

int hg_outmail_message_id(const char *token, const char *domain, char **id_r, char **error_r)
{
    char shown[48];
    if (token == NULL || !dot_atom_valid(token, strlen(token))) {
        quote(shown, token);
        return fail(error_r,
                    "message id token \"%s\" is unfit; use letters, digits and !#$%%&'*+-/=?^_`{|}~. "
                    "(no dot at either end or twice in a row)",
                    shown);
    }
    if (domain == NULL || domain[0] == '[' || !domain_valid(domain, strlen(domain))) {
        quote(shown, domain);
        return fail(error_r, "message id domain \"%s\" is not a host name", shown);
    }
    if (strlen(token) + 1 + strlen(domain) > MAX_MSGID)
        return fail(error_r, "message id would be longer than %d characters", MAX_MSGID);
    *id_r = hg_xasprintf("%s@%s", token, domain);
    return 0;
}

/* ------------------------------------------------------------ folding */

struct field {
    struct msg *b;
    size_t line;    /* octets on the current line */
    bool has_token; /* something follows "Name:" on the first line: folding is allowed */
    bool too_long;  /* a line passed MAX_LINE */
};

static void field_begin(struct field *f, struct msg *b, const char *name)
{
    f->b = b;
    f->has_token = false;
    f->too_long = false;
    put_printf(b, "%s:", name);
    f->line = strlen(name) + 1;
}

static void field_fold(struct field *f)
{
    put(f->b, "\r\n", 2);
    f->line = 0;
}

/*
 * Appends SEP (blanks, or "" where no fold may happen) and TOKEN; folds
 * before SEP first when FOLD is set, the line holds a token already and the
 * token would pass FOLD_AT.
 */
static void field_token(struct field *f, const char *sep, const char *token, size_t len, bool fold)
{
    size_t sep_len = strlen(sep);
    if (fold && sep_len > 0 && f->has_token && f->line + sep_len + len > FOLD_AT)
        field_fold(f);
    put(f->b, sep, sep_len);
    put(f->b, token, len);
    f->line += sep_len + len;
    f->has_token = true;
    if (f->line > MAX_LINE)
        f->too_long = true;
}

static int field_end(struct field *f, const char *what, char **error_r)
{
    put(f->b, "\r\n", 2);
    if (f->too_long)
        return fail(error_r, "%s: holds a word too long for a %d-octet line", what, MAX_LINE);
    return 0;
}

/* ------------------------------------------------------------ RFC 2047 */

/* Characters Q may leave as they are, even in a phrase (RFC 2047 5(3)). */
static bool q_literal(unsigned char c)
{
    return is_alnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_cost(unsigned char c)
{
    return q_literal(c) || c == ' ' ? 1 : 3;
}

static void q_append(struct hg_buf *b, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        if (q_literal(s[i])) {
            hg_buf_append_char(b, (char)s[i]);
        } else if (s[i] == ' ') {
            hg_buf_append_char(b, '_');
        } else {
            char e[3] = {'=', hex[s[i] >> 4], hex[s[i] & 0x0F]};
            hg_buf_append(b, e, 3);
        }
    }
}

static void b64_append(struct hg_buf *b, const unsigned char *s, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char out[4] = {digits[(v >> 18) & 63], digits[(v >> 12) & 63],
                       i + 1 < n ? digits[(v >> 6) & 63] : '=', i + 2 < n ? digits[v & 63] : '='};
        hg_buf_append(b, out, 4);
    }
}

/*
 * Writes TEXT (valid UTF-8, LEN bytes) as encoded words, the first after SEP
 * and the others after a space (which decoders drop between encoded words).
 * Each word is sized to the room left on the line, at most MAX_WORD.
 */
static void field_encoded(struct field *f, const char *sep, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t q_total = 0;
    for (size_t i = 0; i < len; i++)
        q_total += q_cost(s[i]);
    bool use_q = q_total <= (len + 2) / 3 * 4;
    size_t pos = 0;
    bool first = true;
    while (pos < len) {
        const char *word_sep = first ? sep : " ";
        size_t sep_len = strlen(word_sep);
        if (f->has_token && f->line + sep_len + MIN_WORD_ROOM > FOLD_AT)
            field_fold(f);
        size_t room = f->line + sep_len < FOLD_AT ? FOLD_AT - f->line - sep_len : 0;
        if (room > MAX_WORD)
            room = MAX_WORD;
        if (room < MIN_WORD_ROOM)
            room = MAX_WORD; /* a long header name on an unfoldable first line */
        size_t budget = room - WORD_OVERHEAD, take = 0, cost = 0;
        while (pos + take < len) {
            size_t cl = utf8_seq_len(s[pos + take]);
            size_t c = 0;
            if (use_q) {
                for (size_t k = 0; k < cl; k++)
                    c += q_cost(s[pos + take + k]);
                if (cost + c > budget)
                    break;
                cost += c;
            } else if ((take + cl + 2) / 3 * 4 > budget) {
                break;
            }
            take += cl;
        }
        struct hg_buf word;
        hg_buf_init(&word, MAX_WORD + 1);
        hg_buf_append_str(&word, use_q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
        if (use_q)
            q_append(&word, s + pos, take);
        else
            b64_append(&word, s + pos, take);
        hg_buf_append_str(&word, "?=");
        field_token(f, word_sep, word.data, word.len, false);
        hg_buf_free(&word);
        pos += take;
        first = false;
    }
}

struct word {
    const char *start;
    size_t len;
    bool encode;
};

/* Splits S at blank runs into at most CAP words; returns the count. */
static size_t split_words(const char *s, struct word *words, size_t cap)
{
    size_t n = 0;
    while (*s != '\0' && n < cap) {
        while (is_wsp((unsigned char)*s))
            s++;
        if (*s == '\0')
            break;
        const char *start = s;
        while (*s != '\0' && !is_wsp((unsigned char)*s))
            s++;
        words[n++] = (struct word){start, (size_t)(s - start), false};
    }
    return n;
}

static bool has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

static bool has_encoded_word_start(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '=' && s[i + 1] == '?')
            return true;
    return false;
}

/*
 * Writes unstructured text (Subject, extra header values): words as they
 * are, runs of words that need encoding (8-bit, "=?", or with ENCODE_LONG
 * too long for a folded line) as encoded words with the blanks inside the
 * run encoded too; blank runs become one space.
 */
static void field_unstructured(struct field *f, const char *text, bool encode_long)
{
    size_t cap = strlen(text) / 2 + 1;
    struct word *words = hg_xmalloc(cap * sizeof *words);
    size_t n = split_words(text, words, cap);
    for (size_t i = 0; i < n; i++)
        words[i].encode = has_8bit(words[i].start, words[i].len) ||
                          has_encoded_word_start(words[i].start, words[i].len) ||
                          (encode_long && words[i].len + 1 > FOLD_AT);
    for (size_t i = 0; i < n;) {
        if (!words[i].encode) {
            field_token(f, " ", words[i].start, words[i].len, true);
            i++;
            continue;
        }
        struct hg_buf run;
        hg_buf_init(&run, (size_t)-1);
        size_t j = i;
        for (; j < n && words[j].encode; j++) {
            if (j > i)
                hg_buf_append_char(&run, ' ');
            hg_buf_append(&run, words[j].start, words[j].len);
        }
        field_encoded(f, " ", run.data, run.len);
        hg_buf_free(&run);
        i = j;
    }
    free(words);
}

/* ------------------------------------------------------------ display names */

/* Writes NAME as a phrase: atoms, a quoted string, or encoded words. */
static void field_phrase(struct field *f, const char *name)
{
    size_t cap = strlen(name) / 2 + 1;
    struct word *words = hg_xmalloc(cap * sizeof *words);
    size_t n = split_words(name, words, cap);
    bool atoms = true, encode = false;
    size_t quoted_len = 2;
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i].start;
        size_t len = words[i].len;
        if (has_8bit(w, len) || has_encoded_word_start(w, len) || len + 1 > FOLD_AT)
            encode = true;
        for (size_t k = 0; k < len; k++) {
            if (!is_atext((unsigned char)w[k]))
                atoms = false;
            quoted_len += w[k] == '"' || w[k] == '\\' ? 2 : 1;
        }
        quoted_len += i > 0;
    }
    if (!encode && !atoms && quoted_len + 1 > FOLD_AT)
        encode = true;
    struct hg_buf text;
    hg_buf_init(&text, (size_t)-1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            hg_buf_append_char(&text, ' ');
        hg_buf_append(&text, words[i].start, words[i].len);
    }
    if (encode) {
        field_encoded(f, " ", text.data, text.len);
    } else if (atoms) {
        for (size_t i = 0; i < n; i++)
            field_token(f, " ", words[i].start, words[i].len, true);
    } else {
        struct hg_buf q;
        hg_buf_init(&q, (size_t)-1);
        hg_buf_append_char(&q, '"');
        for (size_t i = 0; i < text.len; i++) {
            if (text.data[i] == '"' || text.data[i] == '\\')
                hg_buf_append_char(&q, '\\');
            hg_buf_append_char(&q, text.data[i]);
        }
        hg_buf_append_char(&q, '"');
        field_token(f, " ", q.data, q.len, true);
        hg_buf_free(&q);
    }
    hg_buf_free(&text);
    free(words);
}

/* Writes "Name: a, B <b@x>, ..." for N addresses. WHAT names the field in errors. */
static int write_addresses(struct msg *b, const char *header, const struct hg_outmail_address *list, size_t n,
                           const char *what, char **error_r)
{
    struct field f;
    field_begin(&f, b, header);
    for (size_t i = 0; i < n; i++) {
        char where[64];
        if (n > 1)
            snprintf(where, sizeof where, "%s[%zu]", what, i);
        else
            snprintf(where, sizeof where, "%s", what);
        if (list[i].email == NULL)
            return fail(error_r, "%s: address missing", where);
        char *addr;
        if (address_text(list[i].email, where, &addr, error_r) < 0)
            return -1;
        const char *name = list[i].name;
        char name_what[80];
        snprintf(name_what, sizeof name_what, "%s name", where);
        if (name != NULL && check_text(name, name_what, error_r) < 0) {
            free(addr);
            return -1;
        }
        bool has_name = false;
        for (const char *p = name; p != NULL && *p != '\0' && !has_name; p++)
            has_name = !is_wsp((unsigned char)*p);
        char *token = hg_xasprintf(has_name ? "<%s>%s" : "%s%s", addr, i + 1 < n ? "," : "");
        if (has_name)
            field_phrase(&f, name);
        field_token(&f, " ", token, strlen(token), true);
        free(token);
        free(addr);
    }
    return field_end(&f, what, error_r);
}

/* ------------------------------------------------------------ date */

/* "Mon, 03 Jun 2024 08:15:00 +0000" for EPOCH (0 .. MAX_DATE). */
static void format_date(int64_t epoch, char out[40])
{
    static const char *const days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t day = epoch / 86400, secs = epoch % 86400;
    const char *weekday = days[day % 7];
    /* civil date from a day count, with years starting on March 1st so that leap days come last */
    int64_t z = day + 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", weekday, (int)d, months[m - 1], (int)y,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* ------------------------------------------------------------ bodies */

enum body_encoding { BODY_7BIT, BODY_QP };

static enum body_encoding choose_encoding(const char *s)
{
    size_t line = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            line = 0;
            continue;
        }
        if (c == '\r' && s[1] == '\n')
            continue;
        if ((c < 0x20 && c != '\t') || c >= 0x7F || ++line > FOLD_AT)
            return BODY_QP;
    }
    return BODY_7BIT;
}

static int check_body(const char *s, const char *what, char **error_r)
{
    if (!hg_utf8_valid(s, strlen(s)))
        return fail(error_r, "%s: is not valid UTF-8", what);
    return 0;
}

/* Writes S with CRLF line ends, ending with CRLF. */
static void append_7bit(struct msg *b, const char *s)
{
    while (*s != '\0') {
        size_t n = strcspn(s, "\r\n");
        put(b, s, n);
        put(b, "\r\n", 2);
        s += n;
        if (s[0] == '\r' && s[1] == '\n')
            s += 2;
        else if (s[0] == '\n')
            s++;
    }
}

/* Quoted-printable (RFC 2045 6.7): LF and CRLF are line ends, lines at most QP_LINE octets. */
static void append_qp(struct msg *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)text;
    while (*s != '\0') {
        size_t n = 0;
        while (s[n] != '\0' && s[n] != '\n' && !(s[n] == '\r' && s[n + 1] == '\n'))
            n++;
        size_t line = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = s[i];
            bool last = i + 1 == n;
            /* literal: printable but '=', blanks unless they end the line; "From " at the start is encoded
               so that no mbox along the way adds a '>' */
            bool literal = ((c >= 0x21 && c <= 0x7E && c != '=') || ((c == ' ' || c == '\t') && !last)) &&
                           !(i == 0 && c == 'F' && n >= 5 && memcmp(s, "From ", 5) == 0);
            size_t width = literal ? 1 : 3;
            /* room for a soft break "=" unless this is the line's last token */
            if (line + width + (last ? 0 : 1) > QP_LINE) {
                put(b, "=\r\n", 3);
                line = 0;
            }
            if (literal) {
                put_char(b, (char)c);
            } else {
                char e[3] = {'=', hex[c >> 4], hex[c & 0x0F]};
                put(b, e, 3);
            }
            line += width;
        }
        put(b, "\r\n", 2);
        s += n;
        if (s[0] == '\r')
            s += 2;
        else if (s[0] == '\n')
            s++;
    }
}

static void append_part_headers(struct msg *b, const char *subtype, enum body_encoding enc)
{
    put_printf(b, "Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n", subtype,
               enc == BODY_QP ? "quoted-printable" : "7bit");
}

static void append_body(struct msg *b, const char *s, enum body_encoding enc)
{
    if (enc == BODY_QP)
        append_qp(b, s);
    else
        append_7bit(b, s);
}

/* ------------------------------------------------------------ checks */

static const char *const reserved_headers[] = {
    "Date",       "From",         "Sender",         "Reply-To",    "To",
    "Cc",         "Bcc",          "Subject",        "Message-ID",  "In-Reply-To",
    "References", "MIME-Version", "Auto-Submitted", "Return-Path",
};

static int check_header_name(const char *name, const char *what, char **error_r)
{
    char shown[48];
    quote(shown, name);
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > MAX_HEADER_NAME)
        return fail(error_r, "%s: header name \"%s\" must have 1 to %d characters", what, shown,
                    MAX_HEADER_NAME);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7F || name[i] == ':')
            return fail(error_r, "%s: header name \"%s\" may hold printable ASCII but ':' only", what, shown);
    for (size_t i = 0; i < sizeof reserved_headers / sizeof reserved_headers[0]; i++)
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return fail(error_r, "%s: header %s is written by the composer; set the field instead", what,
                        reserved_headers[i]);
    if (strncasecmp(name, "Content-", 8) == 0)
        return fail(error_r, "%s: header %s is written by the composer", what, shown);
    return 0;
}

/* Everything the message must hold, checked before it is written. */
static int check_input(const struct hg_outmail *m, char **error_r)
{
    if (m->n_to == 0 || m->to == NULL)
        return fail(error_r, "to: at least one recipient is needed");
    if ((m->n_cc > 0 && m->cc == NULL) || (m->n_reply_to > 0 && m->reply_to == NULL) ||
        (m->n_references > 0 && m->references == NULL) || (m->n_headers > 0 && m->headers == NULL))
        return fail(error_r, "message: a count is set but its list is NULL");
    if (m->message_id == NULL)
        return fail(error_r, "message_id: missing; make one with hg_outmail_message_id()");
    if (check_msgid(m->message_id, "message_id", error_r) < 0)
        return -1;
    if (m->in_reply_to != NULL && check_msgid(m->in_reply_to, "in_reply_to", error_r) < 0)
        return -1;
    for (size_t i = 0; i < m->n_references; i++) {
        char what[48];
        snprintf(what, sizeof what, "references[%zu]", i);
        if (check_msgid(m->references[i], what, error_r) < 0)
            return -1;
    }
    if (m->date < 0 || m->date > MAX_DATE)
        return fail(error_r, "date: %lld is outside 1970-01-01 .. 9999-12-31", (long long)m->date);
    if (m->subject != NULL && check_text(m->subject, "subject", error_r) < 0)
        return -1;
    if (m->auto_submitted != NULL && strcmp(m->auto_submitted, "auto-replied") != 0 &&
        strcmp(m->auto_submitted, "auto-generated") != 0) {
        char shown[48];
        quote(shown, m->auto_submitted);
        return fail(error_r,
                    "auto_submitted: \"%s\" is not one of NULL, \"auto-replied\", \"auto-generated\"", shown);
    }
    for (size_t i = 0; i < m->n_headers; i++) {
        char what[48];
        snprintf(what, sizeof what, "headers[%zu]", i);
        if (check_header_name(m->headers[i].name, what, error_r) < 0)
            return -1;
        if (m->headers[i].value == NULL)
            return fail(error_r, "%s: %s has no value", what, m->headers[i].name);
        if (check_text(m->headers[i].value, what, error_r) < 0)
            return -1;
    }
    if (m->body_text != NULL && check_body(m->body_text, "body_text", error_r) < 0)
        return -1;
    if (m->body_html != NULL && check_body(m->body_html, "body_html", error_r) < 0)
        return -1;
    return 0;
}

/* What must never leave: a bare CR or LF, NUL, 8-bit bytes, lines over MAX_LINE octets. */
static int check_output(const char *s, size_t len, char **error_r)
{
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            if (i + 1 >= len || s[i + 1] != '\n')
                return fail(error_r, "internal error: bare CR at offset %zu", i);
            i++;
            line = 0;
            continue;
        }
        if (c == '\n' || c == '\0' || c >= 0x80)
            return fail(error_r, "internal error: byte 0x%02X at offset %zu", c, i);
        if (++line > MAX_LINE)
            return fail(error_r, "internal error: line over %d octets at offset %zu", MAX_LINE, i);
    }
    if (len < 2 || s[len - 2] != '\r' || s[len - 1] != '\n')
        return fail(error_r, "internal error: the message does not end with CRLF");
    return 0;
}

/* ------------------------------------------------------------ composing */

/* A boundary that is in neither encoded part: "=_hg" and hex of a hash of the content. */
static char *make_boundary(const struct hg_outmail *m, const char *text, const char *html)
{
    for (unsigned attempt = 0;; attempt++) {
        struct hg_sha256 ctx;
        char hex[HG_SHA256_HEX_SIZE];
        hg_sha256_init(&ctx);
        hg_sha256_update(&ctx, m->message_id, strlen(m->message_id) + 1);
        hg_sha256_update(&ctx, text, strlen(text) + 1);
        hg_sha256_update(&ctx, html, strlen(html) + 1);
        hg_sha256_update(&ctx, &attempt, sizeof attempt);
        hg_sha256_final_hex(&ctx, hex);
        hex[40] = '\0';
        char *boundary = hg_xasprintf("=_hg%s", hex);
        if (strstr(text, boundary) == NULL && strstr(html, boundary) == NULL)
            return boundary;
        free(boundary);
    }
}

static int write_headers(const struct hg_outmail *m, struct msg *b, char **error_r)
{
    char date[40];
    format_date(m->date, date);
    put_printf(b, "Date: %s\r\n", date);
    if (m->from.email == NULL)
        return fail(error_r, "from: address missing");
    if (write_addresses(b, "From", &m->from, 1, "from", error_r) < 0)
        return -1;
    if (m->n_reply_to > 0 &&
        write_addresses(b, "Reply-To", m->reply_to, m->n_reply_to, "reply_to", error_r) < 0)
        return -1;
    if (write_addresses(b, "To", m->to, m->n_to, "to", error_r) < 0)
        return -1;
    if (m->n_cc > 0 && write_addresses(b, "Cc", m->cc, m->n_cc, "cc", error_r) < 0)
        return -1;
    struct field f;
    field_begin(&f, b, "Subject");
    field_unstructured(&f, m->subject != NULL ? m->subject : "", true);
    if (field_end(&f, "subject", error_r) < 0)
        return -1;
    put_printf(b, "Message-ID: <%s>\r\n", m->message_id);
    if (m->in_reply_to != NULL)
        put_printf(b, "In-Reply-To: <%s>\r\n", m->in_reply_to);
    if (m->n_references > 0) {
        field_begin(&f, b, "References");
        for (size_t i = 0; i < m->n_references; i++) {
            char *id = hg_xasprintf("<%s>", m->references[i]);
            field_token(&f, " ", id, strlen(id), true);
            free(id);
        }
        if (field_end(&f, "references", error_r) < 0)
            return -1;
    }
    if (m->auto_submitted != NULL)
        put_printf(b, "Auto-Submitted: %s\r\n", m->auto_submitted);
    for (size_t i = 0; i < m->n_headers; i++) {
        field_begin(&f, b, m->headers[i].name);
        field_unstructured(&f, m->headers[i].value, false);
        char what[48];
        snprintf(what, sizeof what, "headers[%zu]", i);
        if (field_end(&f, what, error_r) < 0)
            return -1;
    }
    put_str(b, "MIME-Version: 1.0\r\n");
    return 0;
}

static void write_body(const struct hg_outmail *m, struct msg *b)
{
    const char *text = m->body_text != NULL ? m->body_text : "";
    enum body_encoding text_enc = choose_encoding(text);
    if (m->body_html == NULL) {
        append_part_headers(b, "plain", text_enc);
        put(b, "\r\n", 2);
        append_body(b, text, text_enc);
        if (text[0] == '\0')
            put(b, "\r\n", 2);
        return;
    }
    enum body_encoding html_enc = choose_encoding(m->body_html);
    char *boundary = make_boundary(m, text, m->body_html);
    put_printf(b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n", boundary);
    put_printf(b, "This is a multi-part message in MIME format.\r\n\r\n--%s\r\n", boundary);
    append_part_headers(b, "plain", text_enc);
    put(b, "\r\n", 2);
    append_body(b, text, text_enc);
    put_printf(b, "\r\n--%s\r\n", boundary);
    append_part_headers(b, "html", html_enc);
    put(b, "\r\n", 2);
    append_body(b, m->body_html, html_enc);
    put_printf(b, "\r\n--%s--\r\n", boundary);
    free(boundary);
}

int hg_outmail_compose(const struct hg_outmail *m, size_t max_size, char **data_r, size_t *len_r,
                       char **error_r)
{
    if (max_size == 0)
        max_size = HG_OUTMAIL_DEFAULT_MAX_SIZE;
    if (check_input(m, error_r) < 0)
        return -1;
    struct msg out = {.full = false};
    hg_buf_init(&out.b, max_size);
    if (write_headers(m, &out, error_r) < 0) {
        hg_buf_free(&out.b);
        return -1;
    }
    write_body(m, &out);
    if (out.full) {
        hg_buf_free(&out.b);
        return fail(error_r, "message: larger than the limit of %zu bytes", max_size);
    }
    if (check_output(out.b.data, out.b.len, error_r) < 0) {
        hg_buf_free(&out.b);
        return -1;
    }
    *len_r = out.b.len;
    *data_r = hg_buf_steal(&out.b);
    return 0;
}

/* ------------------------------------------------------------ reply subjects */

/* Reply and forward markers mail clients put in front of a subject, lower-case. */
static const char *const reply_prefixes[] = {
    "re", "aw", "sv", "vs",  "antw", "antwort", "ref", "réf", "rif",  "odp",  "ynt",  "atb",  "vá",   "fwd",
    "fw", "wg", "tr", "enc", "rv",   "doorst",  "vl",  "fs",  "回复", "答复", "转发", "回覆", "轉寄",
};

/* Compares N bytes of S and the lower-case ASCII/UTF-8 word W, folding ASCII case only. */
static bool word_at(const char *s, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        else if (s[i] == '\xc3' && i + 1 < n && w[i] == '\xc3' && (unsigned char)s[i + 1] >= 0x80 &&
                 (unsigned char)s[i + 1] <= 0x9E &&
                 (unsigned char)s[i + 1] + 0x20 == (unsigned char)w[i + 1]) {
            i++; /* Latin-1 capital in UTF-8 (RÉF, VÁ) */
            continue;
        }
        if (c != (unsigned char)w[i])
            return false;
    }
    return true;
}

/* Length of a reply/forward marker at S ("Re:", "RE[2]:", "Aw :", "回复："), or 0. */
static size_t reply_prefix_len(const char *s)
{
    for (size_t k = 0; k < sizeof reply_prefixes / sizeof reply_prefixes[0]; k++) {
        size_t n = strlen(reply_prefixes[k]);
        if (strlen(s) < n || !word_at(s, reply_prefixes[k], n))
            continue;
        const char *p = s + n;
        if ((*p == '[' || *p == '(') && p[1] >= '0' && p[1] <= '9') { /* "Re[2]:" "Re(3):" */
            char close = *p == '[' ? ']' : ')';
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p != close)
                continue;
            p++;
        }
        while (*p == ' ')
            p++;
        if (*p == ':')
            return (size_t)(p + 1 - s);
        if (strncmp(p, "\xef\xbc\x9a", 3) == 0) /* full-width colon */
            return (size_t)(p + 3 - s);
    }
    return 0;
}

/* Length of "[" PREFIX DIGITS "]" at S naming TICKET (prefix ASCII case ignored), or 0. */
static size_t our_tag_len(const char *s, const char *prefix, int64_t ticket)
{
    size_t pn = strlen(prefix);
    if (s[0] != '[' || strncasecmp(s + 1, prefix, pn) != 0)
        return 0;
    const char *p = s + 1 + pn;
    while (*p == '0')
        p++;
    char digits[24];
    int dn = snprintf(digits, sizeof digits, "%lld", (long long)ticket);
    if (strncmp(p, digits, (size_t)dn) != 0 || p[dn] != ']')
        return 0;
    return (size_t)(p + dn + 1 - s);
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* The number if "DIGITS ]" follows at P (at most 18 digits, as tags are read), else -1. */
static int64_t number_then_bracket(const char *p)
{
    int64_t v = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 18)
            v = v * 10 + (*p - '0');
    if (digits == 0 || digits > 18 || *skip_spaces(p) != ']')
        return -1;
    return v;
}

/*
 * The ticket number of a tag-like bracket at S, or -1: "[" PREFIX "12]" and
 * the common forms "[#12]", "[Ticket#12]", "[Case: 12]", "[Request-12]".
 * The same reading as the normalizer's (parsers/mail_auto.c), so that the
 * tag put first here is the one a reader of the reply finds.
 */
static int64_t tag_number_at(const char *s, const char *prefix)
{
    static const char *const words[] = {"ticket", "case", "request", "incident", "support"};
    if (*s != '[')
        return -1;
    const char *p = skip_spaces(s + 1);
    size_t pn = strlen(prefix);
    if (strncasecmp(p, prefix, pn) == 0) {
        int64_t v = number_then_bracket(skip_spaces(p + pn));
        if (v >= 0)
            return v;
    }
    bool word = false;
    for (size_t i = 0; i < sizeof words / sizeof words[0] && !word; i++) {
        size_t n = strlen(words[i]);
        /* p[n] is read only once the n bytes before it matched */
        if (strncasecmp(p, words[i], n) == 0 &&
            !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z'))) {
            p = skip_spaces(p + n);
            word = true;
        }
    }
    if (word && (*p == ':' || *p == '-'))
        p = skip_spaces(p + 1);
    bool hash = *p == '#';
    if (hash)
        p = skip_spaces(p + 1);
    return word || hash ? number_then_bracket(p) : -1;
}

static int check_tag_prefix(const char *prefix, char **error_r)
{
    char shown[48];
    quote(shown, prefix);
    size_t n = strlen(prefix);
    if (n > MAX_TAG_PREFIX || !hg_utf8_valid(prefix, n))
        return fail(error_r, "ticket tag prefix \"%s\" must be valid UTF-8 of at most %d bytes", shown,
                    MAX_TAG_PREFIX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)prefix[i] <= 0x20 || prefix[i] == 0x7F || prefix[i] == '[' || prefix[i] == ']')
            return fail(error_r, "ticket tag prefix \"%s\" may not hold blanks, controls or brackets", shown);
    return 0;
}

int hg_outmail_reply_subject(const char *subject, const char *tag_prefix, int64_t ticket, char **subject_r,
                             char **error_r)
{
    if (tag_prefix == NULL || tag_prefix[0] == '\0')
        tag_prefix = "#";
    if (check_tag_prefix(tag_prefix, error_r) < 0)
        return -1;
    if (ticket < 0)
        return fail(error_r, "ticket number %lld is negative", (long long)ticket);
    /* clean copy: controls to spaces, blank runs to one space, trimmed */
    struct hg_buf clean;
    hg_buf_init(&clean, (size_t)-1);
    for (const char *p = subject != NULL ? subject : ""; *p != '\0'; p++) {
        char c = (unsigned char)*p < 0x20 || *p == 0x7F ? ' ' : *p;
        if (c == ' ' && (clean.len == 0 || clean.data[clean.len - 1] == ' '))
            continue;
        hg_buf_append_char(&clean, c);
    }
    while (clean.len > 0 && clean.data[clean.len - 1] == ' ')
        clean.data[--clean.len] = '\0';
    const char *rest = hg_buf_str(&clean);
    /* drop markers and copies of our tag in front */
    bool tag_in_front = false;
    for (;;) {
        size_t n = reply_prefix_len(rest);
        if (n == 0 && ticket > 0 && (n = our_tag_len(rest, tag_prefix, ticket)) > 0)
            tag_in_front = true;
        if (n == 0)
            break;
        rest += n;
        while (*rest == ' ')
            rest++;
    }
    struct hg_buf out;
    hg_buf_init(&out, (size_t)-1);
    hg_buf_append_str(&out, "Re: ");
    if (ticket == 0) {
        hg_buf_append_str(&out, rest);
    } else {
        /* was our tag in front, or is it the first tag of the rest? then it stays where it is */
        const char *first = NULL;
        for (const char *p = strchr(rest, '['); p != NULL && first == NULL; p = strchr(p + 1, '['))
            if (tag_number_at(p, tag_prefix) >= 0)
                first = p;
        if (!tag_in_front && first != NULL && our_tag_len(first, tag_prefix, ticket) > 0) {
            hg_buf_append_str(&out, rest);
        } else {
            hg_buf_printf(&out, "[%s%lld]", tag_prefix, (long long)ticket);
            /* the rest without copies of our tag */
            const char *p = rest;
            bool need_space = true;
            while (*p != '\0') {
                size_t n = p[0] == '[' ? our_tag_len(p, tag_prefix, ticket) : 0;
                if (n > 0) {
                    p += n;
                    while (*p == ' ')
                        p++;
                    continue;
                }
                if (need_space) {
                    hg_buf_append_char(&out, ' ');
                    need_space = false;
                }
                hg_buf_append_char(&out, *p++);
            }
            while (out.len > 0 && out.data[out.len - 1] == ' ')
                out.data[--out.len] = '\0';
        }
    }
    hg_buf_free(&clean);
    while (out.len > 0 && out.data[out.len - 1] == ' ')
        out.data[--out.len] = '\0';
    *subject_r = hg_buf_steal(&out);
    return 0;
}
