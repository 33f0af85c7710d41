/*
 * charset.c — any charset label and bytes to valid UTF-8 (see charset.h).
 *
 * UTF-8, ASCII and windows-1252 (which also serves iso-8859-1) are decoded
 * here without iconv, since they are nearly all mail; every other charset
 * goes through one iconv descriptor opened for the call. Valid UTF-8 with
 * 8-bit bytes under any single-byte label (iso-8859-N, windows-125x, KOI8,
 * Mac) is read as UTF-8 and flagged HG_CHARSET_MISLABELED.
 */
#include "helpgate/charset.h"

#include "charset_labels.h"

#include "helpgate/alloc.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* windows-1252 bytes 0x80-0x9F; the five bytes it leaves undefined become U+FFFD. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

#define MAX_LABEL 64

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at P (AVAIL bytes available), or 0. */
static size_t utf8_sequence_length(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Skips ASCII eight bytes at a time; returns the offset of the first non-ASCII byte or LEN. */
static size_t skip_ascii(const unsigned char *s, size_t i, size_t len)
{
    while (i + 8 <= len) {
        uint64_t word;
        memcpy(&word, s + i, 8);
        if (word & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < len && s[i] < 0x80)
        i++;
    return i;
}

bool hg_utf8_valid(const void *s, size_t len)
{
    const unsigned char *p = s;
    size_t i = 0;
    for (;;) {
        i = skip_ascii(p, i, len);
        if (i >= len)
            return true;
        size_t n = utf8_sequence_length(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
}

static bool has_8bit(const unsigned char *s, size_t len)
{
    return skip_ascii(s, 0, len) < len;
}

static bool has_c1_bytes(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0x80 && s[i] <= 0x9F)
            return true;
    return false;
}

size_t hg_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* back up over continuation bytes to the start of the sequence that would be split */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static uint32_t cp1252_code_point(unsigned char c)
{
    return c >= 0x80 && c <= 0x9F ? cp1252_c1[c - 0x80] : c;
}

/* ---------------------------------------------------------------- output */

struct out {
    char *buf;
    size_t len;
    size_t cap; /* bytes usable for text; buf has one more for the NUL */
    size_t max;
    bool truncated;
};

static void out_init(struct out *o, size_t guess, size_t max)
{
    o->max = max;
    o->cap = guess < max ? guess : max;
    if (o->cap < 16)
        o->cap = max < 16 ? max : 16;
    o->buf = hg_xmalloc(o->cap + 1);
    o->len = 0;
    o->truncated = false;
}

/* Makes room for N more bytes; false (and truncated) when MAX forbids it. */
static bool out_reserve(struct out *o, size_t n)
{
    if (o->truncated || n > o->max - o->len) {
        o->truncated = true;
        return false;
    }
    if (o->len + n <= o->cap)
        return true;
    size_t cap = o->cap;
    while (cap < o->len + n)
        cap = cap > o->max / 2 ? o->max : cap * 2;
    o->buf = hg_xrealloc(o->buf, cap + 1);
    o->cap = cap;
    return true;
}

/* Doubles the capacity up to MAX; false (and truncated) when it is already there. */
static bool out_grow(struct out *o)
{
    if (o->cap >= o->max) {
        o->truncated = true;
        return false;
    }
    size_t cap = o->cap > o->max / 2 ? o->max : o->cap * 2;
    o->buf = hg_xrealloc(o->buf, cap + 1);
    o->cap = cap;
    return true;
}

/* Appends N bytes of UTF-8; what does not fit under MAX is cut at a character boundary. */
static void out_put(struct out *o, const void *p, size_t n)
{
    if (o->truncated)
        return;
    if (n > o->max - o->len) {
        n = hg_utf8_cut(p, n, o->max - o->len);
        out_reserve(o, n);
        o->truncated = true;
    } else {
        out_reserve(o, n);
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void out_put_code_point(struct out *o, uint32_t cp)
{
    char tmp[4];
    out_put(o, tmp, utf8_encode(cp, tmp));
}

static void out_finish(struct out *o, struct hg_charset_result *res)
{
    o->buf[o->len] = '\0';
    res->text = o->buf;
    res->len = o->len;
    if (o->truncated)
        res->flags |= HG_CHARSET_TRUNCATED;
}

/* ---------------------------------------------------------------- decoders */

/* Valid UTF-8 sequences are copied; every other byte is read as windows-1252. Returns true if any was. */
static bool decode_utf8_or_cp1252(const unsigned char *s, size_t len, struct out *o)
{
    bool repaired = false;
    size_t i = 0;
    while (i < len && !o->truncated) {
        size_t ascii_end = skip_ascii(s, i, len);
        out_put(o, s + i, ascii_end - i);
        i = ascii_end;
        if (i >= len)
            break;
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n > 0) {
            out_put(o, s + i, n);
            i += n;
        } else {
            out_put_code_point(o, cp1252_code_point(s[i]));
            repaired = true;
            i++;
        }
    }
    return repaired;
}

static void decode_cp1252(const unsigned char *s, size_t len, struct out *o)
{
    size_t i = 0;
    while (i < len && !o->truncated) {
        size_t ascii_end = skip_ascii(s, i, len);
        out_put(o, s + i, ascii_end - i);
        i = ascii_end;
        if (i < len)
            out_put_code_point(o, cp1252_code_point(s[i++]));
    }
}

/* Returns false when iconv does not know NAME. */
static bool decode_iconv(const char *name, const unsigned char *s, size_t len, struct out *o, unsigned *flags)
{
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return false;
    char *in = (char *)s;
    size_t in_left = len;
    for (;;) {
        if (o->len == o->cap && !out_grow(o))
            break;
        char *out = o->buf + o->len;
        size_t out_left = o->cap - o->len;
        size_t r = iconv(cd, in_left > 0 ? &in : NULL, &in_left, &out, &out_left);
        int err = errno;
        o->len = (size_t)(out - o->buf);
        if (r != (size_t)-1) {
            if (in_left == 0) {
                /* flush any shift state, then done */
                out = o->buf + o->len;
                out_left = o->cap - o->len;
                iconv(cd, NULL, NULL, &out, &out_left);
                o->len = (size_t)(out - o->buf);
                break;
            }
            continue;
        }
        if (err == E2BIG) {
            if (!out_grow(o))
                break;
        } else if (err == EILSEQ && in_left > 0) {
            out_put_code_point(o, 0xFFFD);
            in++;
            in_left--;
            *flags |= HG_CHARSET_INVALID_BYTES;
        } else {
            /* EINVAL: the text ends inside a character */
            out_put_code_point(o, 0xFFFD);
            *flags |= HG_CHARSET_INVALID_BYTES;
            break;
        }
    }
    iconv_close(cd);
    return true;
}

/* ---------------------------------------------------------------- labels */

/* Lower-cases LABEL keeping letters and digits only; stops at an RFC 2231 language tag ("*"). */
static void label_key(const char *label, char *key, size_t size)
{
    size_t n = 0;
    for (const char *p = label; *p != '\0' && *p != '*' && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'A' && c <= 'Z')
            key[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            key[n++] = (char)c;
    }
    key[n] = '\0';
}

/* Copies the part of LABEL iconv may see: letters, digits and "-_.:", without quotes or spaces. */
static bool iconv_safe_label(const char *label, char *out, size_t size)
{
    size_t n = 0;
    const char *p = label;
    while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
        p++;
    for (; *p != '\0' && *p != '*' && *p != '"' && *p != '\'' && *p != ';' && *p != ' '; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.' || c == ':';
        if (!ok || n + 1 >= size)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n > 0;
}

/* "cp1250", "windows-1250", "win1250", "x-cp1250", "ms1250": windows code pages iconv knows as CP125x. */
static bool windows_code_page(const char *key, char *name, size_t size)
{
    static const char *const prefixes[] = {"windows", "win", "xcp", "cp", "ms", "xwindows"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(key, prefixes[i], n) == 0 && strlen(key + n) == 4 && strncmp(key + n, "125", 3) == 0 &&
            key[n + 3] >= '0' && key[n + 3] <= '8') {
            snprintf(name, size, "CP125%c", key[n + 3]);
            return true;
        }
    }
    return false;
}

struct resolved {
    enum decoder decoder;
    char iconv_name[MAX_LABEL];
    const char *c1_fallback;
};

static bool iconv_knows(const char *name)
{
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return false;
    iconv_close(cd);
    return true;
}

static void resolve_label(const char *label, struct resolved *r, bool probe_iconv)
{
    char key[MAX_LABEL];
    r->decoder = DECODE_GUESS;
    r->iconv_name[0] = '\0';
    r->c1_fallback = NULL;
    if (label == NULL)
        return;
    label_key(label, key, sizeof key);
    if (key[0] == '\0')
        return;
    const struct charset_alias *a = hg_charset_alias_find(key);
    if (a != NULL) {
        r->decoder = a->decoder;
        if (a->iconv_name != NULL)
            snprintf(r->iconv_name, sizeof r->iconv_name, "%s", a->iconv_name);
        r->c1_fallback = a->c1_fallback;
        return;
    }
    if (windows_code_page(key, r->iconv_name, sizeof r->iconv_name)) {
        r->decoder = DECODE_ICONV;
        return;
    }
    if (iconv_safe_label(label, r->iconv_name, sizeof r->iconv_name) &&
        (!probe_iconv || iconv_knows(r->iconv_name))) {
        r->decoder = DECODE_ICONV;
        return;
    }
    r->iconv_name[0] = '\0';
}

bool hg_charset_resolve(const char *label, char *buf, size_t size)
{
    struct resolved r;
    resolve_label(label, &r, true);
    const char *name = "";
    switch (r.decoder) {
    case DECODE_UTF8:
        name = "UTF-8";
        break;
    case DECODE_ASCII:
        name = "US-ASCII";
        break;
    case DECODE_CP1252:
        name = "windows-1252";
        break;
    case DECODE_ICONV:
        name = r.iconv_name;
        break;
    case DECODE_GUESS:
        name = "";
        break;
    }
    snprintf(buf, size, "%s", name);
    return name[0] != '\0';
}

/* ---------------------------------------------------------------- conversion */

static void set_used(struct hg_charset_result *res, const char *name)
{
    snprintf(res->used, sizeof res->used, "%s", name);
}

static void drop_bom(struct hg_charset_result *res)
{
    if (res->len >= 3 && memcmp(res->text, "\xEF\xBB\xBF", 3) == 0) {
        memmove(res->text, res->text + 3, res->len - 3 + 1);
        res->len -= 3;
    }
}

/* Text that is valid UTF-8 stays UTF-8 whatever its 8-bit label says; else per-byte windows-1252. */
static void convert_guess(const unsigned char *s, size_t len, struct out *o, struct hg_charset_result *res)
{
    set_used(res, "UTF-8");
    if (decode_utf8_or_cp1252(s, len, o)) {
        set_used(res, "windows-1252");
        res->flags |= HG_CHARSET_MISLABELED;
    }
}

/*
 * Whether iconv's NAME is a charset of one byte per character (ISO-8859-N,
 * windows-125x, KOI8, Mac and DOS code pages). Text in one of those is
 * practically never valid UTF-8 with 8-bit bytes in it, so such text under
 * such a label is UTF-8 mislabelled. Multi-byte charsets (EUC, GB, Big5,
 * Shift_JIS) can form valid UTF-8 by chance and are left alone.
 */
static bool single_byte_charset(const char *name)
{
    static const char *const prefixes[] = {"ISO-8859-", "ISO8859", "CP125", "WINDOWS-125", "KOI8",
                                           "MAC",       "CP437",   "CP737", "CP775",       "CP85",
                                           "CP86",      "IBM",     "CP874", "WINDOWS-874", "TIS-620",
                                           "ARMSCII",   "GEORGIAN"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static void convert_with_iconv(const struct resolved *r, const unsigned char *s, size_t len, struct out *o,
                               struct hg_charset_result *res)
{
    const char *name = r->iconv_name;
    if (single_byte_charset(name) && has_8bit(s, len) && hg_utf8_valid(s, len)) {
        set_used(res, "UTF-8");
        res->flags |= HG_CHARSET_MISLABELED;
        out_put(o, s, len);
        return;
    }
    if (r->c1_fallback != NULL && has_c1_bytes(s, len)) {
        name = r->c1_fallback;
        res->flags |= HG_CHARSET_MISLABELED;
    }
    set_used(res, name);
    if (!decode_iconv(name, s, len, o, &res->flags)) {
        res->flags |= HG_CHARSET_UNKNOWN_LABEL;
        res->flags &= ~(unsigned)HG_CHARSET_MISLABELED;
        convert_guess(s, len, o, res);
        res->flags &= ~(unsigned)HG_CHARSET_MISLABELED;
    }
}

void hg_charset_to_utf8(const char *label, const void *in, size_t len, size_t max_out,
                        struct hg_charset_result *res)
{
    const unsigned char *s = in;
    struct resolved r;
    struct out o;

    memset(res, 0, sizeof *res);
    resolve_label(label, &r, false);
    if (max_out == 0)
        max_out = SIZE_MAX - 1;
    out_init(&o, len + len / 8 + 16, max_out);

    switch (r.decoder) {
    case DECODE_UTF8:
        set_used(res, "UTF-8");
        if (decode_utf8_or_cp1252(s, len, &o))
            res->flags |= HG_CHARSET_INVALID_BYTES;
        break;
    case DECODE_ASCII:
    case DECODE_CP1252:
        if (!has_8bit(s, len)) {
            set_used(res, "US-ASCII");
            out_put(&o, s, len);
        } else if (hg_utf8_valid(s, len)) {
            set_used(res, "UTF-8");
            res->flags |= HG_CHARSET_MISLABELED;
            out_put(&o, s, len);
        } else if (r.decoder == DECODE_ASCII) {
            convert_guess(s, len, &o, res);
        } else {
            set_used(res, "windows-1252");
            decode_cp1252(s, len, &o);
        }
        break;
    case DECODE_GUESS:
        /* "unknown-8bit", "x-user-defined", garbage: a label that names no charset */
        convert_guess(s, len, &o, res);
        if (label != NULL && strspn(label, " \t\"'") != strlen(label)) {
            res->flags |= HG_CHARSET_UNKNOWN_LABEL;
            res->flags &= ~(unsigned)HG_CHARSET_MISLABELED;
        }
        break;
    case DECODE_ICONV:
        convert_with_iconv(&r, s, len, &o, res);
        break;
    }
    out_finish(&o, res);
    if (!hg_utf8_valid(res->text, res->len)) {
        /* never expected from iconv, but the promise is valid UTF-8 */
        struct out fixed;
        out_init(&fixed, res->len + 16, max_out);
        decode_utf8_or_cp1252((const unsigned char *)res->text, res->len, &fixed);
        free(res->text);
        res->flags |= HG_CHARSET_INVALID_BYTES;
        out_finish(&fixed, res);
    }
    drop_bom(res);
}
