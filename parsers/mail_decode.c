/*
 * mail_decode.c — transfer encodings (base64, quoted-printable, uuencode) and
 * the clean-up of decoded text (line ends, NUL, format=flowed).
 *
 * Decoders never fail: characters that do not belong are skipped or kept
 * literally and counted, so the caller can warn. Output is bounded by the
 * caller's maximum.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

enum { B64_BAD = -1, B64_PAD = -2, B64_BLANK = -3 };

#define XX B64_BAD
#define PD B64_PAD
#define WS B64_BLANK
/* base64 value of every byte: 0-63, or one of the markers above */
static const signed char base64_values[256] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, WS, WS, XX, XX, WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63, 52, 53, 54, 55,
    56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX, XX, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX, XX, 26, 27, 28, 29, 30, 31, 32,
    33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};
#undef XX
#undef PD
#undef WS

/* Writes what a partial quantum of N sextets holds. */
static size_t flush_quantum(unsigned acc, int n, unsigned char *out, size_t *bad)
{
    if (n == 2) {
        out[0] = (unsigned char)(acc >> 4);
        return 1;
    }
    if (n == 3) {
        out[0] = (unsigned char)(acc >> 10);
        out[1] = (unsigned char)(acc >> 2);
        return 2;
    }
    if (n == 1)
        (*bad)++;
    return 0;
}

/* Sextet value of C shifted into place, or BAD_SEXTET: four tables let one OR decode a quantum. */
#define SEXTET(c)                                                                                            \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                                  \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                             \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                             \
     : (c) == '+'               ? 62                                                                         \
     : (c) == '/'               ? 63                                                                         \
                                : -1)
#define BAD_SEXTET 0x01000000u
#define SHIFTED(c, s) (SEXTET(c) < 0 ? BAD_SEXTET : (uint32_t)SEXTET(c) << (s))
#define ROW(b, s)                                                                                            \
    SHIFTED(b + 0, s), SHIFTED(b + 1, s), SHIFTED(b + 2, s), SHIFTED(b + 3, s), SHIFTED(b + 4, s),           \
        SHIFTED(b + 5, s), SHIFTED(b + 6, s), SHIFTED(b + 7, s), SHIFTED(b + 8, s), SHIFTED(b + 9, s),       \
        SHIFTED(b + 10, s), SHIFTED(b + 11, s), SHIFTED(b + 12, s), SHIFTED(b + 13, s), SHIFTED(b + 14, s),  \
        SHIFTED(b + 15, s)
#define TABLE(s)                                                                                             \
    {                                                                                                        \
        ROW(0, s), ROW(16, s), ROW(32, s), ROW(48, s), ROW(64, s), ROW(80, s), ROW(96, s), ROW(112, s),      \
            ROW(128, s), ROW(144, s), ROW(160, s), ROW(176, s), ROW(192, s), ROW(208, s), ROW(224, s),       \
            ROW(240, s)                                                                                      \
    }
static const uint32_t sextet18[256] = TABLE(18);
static const uint32_t sextet12[256] = TABLE(12);
static const uint32_t sextet6[256] = TABLE(6);
static const uint32_t sextet0[256] = TABLE(0);
#undef TABLE
#undef ROW
#undef SHIFTED
#undef SEXTET

/* Decodes whole quanta of four alphabet characters for as long as they come; returns the new offsets. */
static void base64_run(const unsigned char *s, size_t len, size_t *i_r, unsigned char *out, size_t cap,
                       size_t *o_r)
{
    size_t i = *i_r, o = *o_r;
    while (i + 4 <= len && o + 3 <= cap) {
        uint32_t w = sextet18[s[i]] | sextet12[s[i + 1]] | sextet6[s[i + 2]] | sextet0[s[i + 3]];
        if (w & BAD_SEXTET)
            break;
        out[o] = (unsigned char)(w >> 16);
        out[o + 1] = (unsigned char)(w >> 8);
        out[o + 2] = (unsigned char)w;
        o += 3;
        i += 4;
    }
    *i_r = i;
    *o_r = o;
}

/* Decodes base64 into OUT (CAP bytes); stops when full (*FULL_R). Returns the bytes written. */
static size_t base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *bad,
                            bool *full_r)
{
    const signed char *v = base64_values;
    const unsigned char *s = (const unsigned char *)in;
    unsigned acc = 0;
    int n = 0;
    size_t o = 0, i = 0;
    while (i < len) {
        if (n == 0) {
            base64_run(s, len, &i, out, cap, &o);
            if (i >= len)
                break;
        }
        int x = v[s[i++]];
        if (x >= 0) {
            acc = acc << 6 | (unsigned)x;
            if (++n == 4) {
                if (o + 3 > cap) {
                    unsigned char last[3] = {(unsigned char)(acc >> 16), (unsigned char)(acc >> 8),
                                             (unsigned char)acc};
                    memcpy(out + o, last, cap - o); /* fill up to the limit exactly */
                    *full_r = true;
                    return cap;
                }
                out[o] = (unsigned char)(acc >> 16);
                out[o + 1] = (unsigned char)(acc >> 8);
                out[o + 2] = (unsigned char)acc;
                o += 3;
                n = 0;
                acc = 0;
            }
        } else if (x == B64_PAD) {
            if (o + 2 > cap && n > 1) {
                *full_r = true;
                return o;
            }
            o += flush_quantum(acc, n, out + o, bad);
            n = 0;
            acc = 0;
        } else if (x == B64_BAD) {
            (*bad)++;
        }
    }
    if (n > 1 && o + 2 > cap) {
        *full_r = true;
        return o;
    }
    return o + flush_quantum(acc, n, out + o, bad);
}

size_t hg_mail_base64_decode_into(const char *in, size_t len, unsigned char *out, size_t *bad_r)
{
    bool full = false;
    size_t bad = 0;
    size_t n = base64_decode(in, len, out, len * 3 / 4 + 3, &bad, &full);
    if (bad_r != NULL)
        *bad_r = bad;
    return n;
}

int hg_mail_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Quoted-printable, line by line; line ends are kept as they came (CRLF or LF). */
static size_t qp_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad, bool *full)
{
    size_t o = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t next = nl != NULL ? (size_t)(nl - s) + 1 : len;
        size_t end = nl != NULL ? (size_t)(nl - s) : len;
        bool crlf = end > i && s[end - 1] == '\r';
        if (crlf)
            end--;
        while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--; /* blanks at a line end were added in transport */
        bool soft = end > i && s[end - 1] == '=';
        if (soft)
            end--;
        for (size_t k = i; k < end; k++) {
            if (o >= cap) {
                *full = true;
                return o;
            }
            int hi, lo;
            if (s[k] == '=' && k + 2 < end && (hi = hg_mail_hex_value(s[k + 1])) >= 0 &&
                (lo = hg_mail_hex_value(s[k + 2])) >= 0) {
                out[o++] = (unsigned char)(hi * 16 + lo);
                k += 2;
            } else {
                if (s[k] == '=')
                    (*bad)++;
                out[o++] = (unsigned char)s[k];
            }
        }
        if (nl != NULL && !soft) {
            if (o + (crlf ? 2 : 1) > cap) {
                *full = true;
                return o;
            }
            if (crlf)
                out[o++] = '\r';
            out[o++] = '\n';
        }
        i = next;
    }
    return o;
}

/* uuencode ("begin 644 name" ... "end"), for the odd x-uuencode part. */
static size_t uu_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad, bool *full)
{
    size_t o = 0, i = 0;
    const char *begin = len >= 6 && strncmp(s, "begin ", 6) == 0 ? s : memmem(s, len, "\nbegin ", 7);
    if (begin != NULL) {
        const char *nl = memchr(begin + 1, '\n', len - (size_t)(begin + 1 - s));
        i = nl != NULL ? (size_t)(nl - s) + 1 : len;
    }
    while (i < len) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - s) : len;
        size_t next = nl != NULL ? end + 1 : len;
        if (end - i >= 3 && strncmp(s + i, "end", 3) == 0)
            break;
        int count = end > i ? ((s[i] - ' ') & 63) : 0;
        for (size_t k = i + 1; count > 0 && k < end; k += 4) {
            unsigned c[4];
            for (size_t j = 0; j < 4; j++)
                c[j] = k + j < end ? (unsigned)(s[k + j] - ' ') & 63 : 0; /* trailing blanks may be cut */
            unsigned char bytes[3] = {(unsigned char)(c[0] << 2 | c[1] >> 4),
                                      (unsigned char)(c[1] << 4 | c[2] >> 2),
                                      (unsigned char)(c[2] << 6 | c[3])};
            for (int b = 0; b < 3 && count > 0; b++, count--) {
                if (o >= cap) {
                    *full = true;
                    return o;
                }
                out[o++] = bytes[b];
            }
        }
        if (count > 0)
            (*bad)++;
        i = next;
    }
    return o;
}

enum mail_encoding hg_mail_encoding_parse(const char *value, size_t len, bool *known_r)
{
    char word[32];
    size_t n = 0;
    *known_r = true;
    for (size_t i = 0; i < len && n + 1 < sizeof word; i++) {
        char c = value[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"')
            continue;
        if (c == ';' || c == '(')
            break;
        word[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    word[n] = '\0';
    if (strcmp(word, "7bit") == 0 || strcmp(word, "7-bit") == 0 || n == 0)
        return ENC_7BIT;
    if (strcmp(word, "8bit") == 0 || strcmp(word, "8-bit") == 0)
        return ENC_8BIT;
    if (strcmp(word, "binary") == 0)
        return ENC_BINARY;
    if (strcmp(word, "base64") == 0)
        return ENC_BASE64;
    if (strcmp(word, "quoted-printable") == 0)
        return ENC_QP;
    if (strcmp(word, "x-uuencode") == 0 || strcmp(word, "uuencode") == 0 || strcmp(word, "x-uue") == 0)
        return ENC_UUENCODE;
    *known_r = false;
    if (strstr(word, "base64") != NULL || strcmp(word, "b") == 0)
        return ENC_BASE64;
    if (strstr(word, "quoted") != NULL || strcmp(word, "qp") == 0 || strcmp(word, "q") == 0)
        return ENC_QP;
    return ENC_8BIT;
}

#define HUGE_BUFFER ((size_t)4 << 20)

/*
 * A buffer for SIZE bytes. A big one is marked for transparent huge pages:
 * filling 20 MB of fresh memory otherwise costs some 5,000 page faults,
 * which on virtual machines takes longer than decoding the bytes.
 */
static unsigned char *alloc_output(size_t size)
{
    unsigned char *p = hg_xmalloc(size);
#ifdef MADV_HUGEPAGE
    if (size >= HUGE_BUFFER) {
        uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t end = ((uintptr_t)p + size) & ~(uintptr_t)4095;
        if (end > start)
            madvise((void *)start, end - start, MADV_HUGEPAGE); /* a hint: failure changes nothing */
    }
#endif
    return p;
}

void hg_mail_decode_transfer(enum mail_encoding enc, const char *in, size_t len, size_t max,
                             struct decoded *out)
{
    size_t cap = len;
    if (enc == ENC_BASE64 || enc == ENC_UUENCODE)
        cap = len / 4 * 3 + 3;
    if (cap > max)
        cap = max;
    out->data = alloc_output(cap + 1);
    out->truncated = false;
    out->bad = 0;
    switch (enc) {
    case ENC_BASE64:
        out->len = base64_decode(in, len, out->data, cap, &out->bad, &out->truncated);
        break;
    case ENC_QP:
        out->len = qp_decode(in, len, out->data, cap, &out->bad, &out->truncated);
        break;
    case ENC_UUENCODE:
        out->len = uu_decode(in, len, out->data, cap, &out->bad, &out->truncated);
        break;
    default:
        out->len = len < cap ? len : cap;
        out->truncated = len > cap;
        memcpy(out->data, in, out->len);
        break;
    }
    out->data[out->len] = '\0';
}

/* ------------------------------------------------------------ text clean-up */

/* Copies S with CRLF and CR as LF and without NUL; returns the length written into OUT. */
static size_t normalize_newlines(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\r') {
            out[o++] = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else if (c != '\0') {
            out[o++] = c;
        }
    }
    return o;
}

/* RFC 3676: joins soft-broken lines of TEXT (LF only) into OUT, which needs 2 * len + 2 bytes. */
static size_t unflow(const char *text, size_t len, bool delsp, char *out)
{
    size_t o = 0, i = 0;
    int open_depth = -1; /* quote depth of a paragraph still being joined, or -1 */
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        size_t k = i;
        int depth = 0;
        while (k < end && text[k] == '>') {
            depth++;
            k++;
        }
        if (k < end && text[k] == ' ')
            k++; /* space-stuffing */
        bool signature = end - k == 3 && memcmp(text + k, "-- ", 3) == 0;
        bool soft = !signature && end > k && text[end - 1] == ' ';
        size_t content_end = soft && delsp ? end - 1 : end;
        if (open_depth >= 0 && open_depth != depth) {
            out[o++] = '\n'; /* quote depth changed: the open paragraph ends here */
            open_depth = -1;
        }
        if (open_depth < 0 && depth > 0) {
            memset(out + o, '>', (size_t)depth);
            o += (size_t)depth;
            out[o++] = ' ';
        }
        memcpy(out + o, text + k, content_end - k);
        o += content_end - k;
        if (soft && nl != NULL) {
            open_depth = depth;
        } else {
            open_depth = -1;
            if (nl != NULL)
                out[o++] = '\n';
        }
        i = nl != NULL ? end + 1 : len;
    }
    return o;
}

char *hg_mail_clean_text(const char *text, size_t len, bool flowed, bool delsp, size_t *len_r)
{
    char *plain = hg_xmalloc(len + 1);
    size_t n = normalize_newlines(text, len, plain);
    if (flowed) {
        char *joined = hg_xmalloc(2 * n + 2);
        n = unflow(plain, n, delsp, joined);
        free(plain);
        plain = joined;
    }
    while (n > 0 && (plain[n - 1] == ' ' || plain[n - 1] == '\t' || plain[n - 1] == '\n'))
        n--;
    plain[n] = '\0';
    *len_r = n;
    return plain;
}
