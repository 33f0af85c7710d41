/*
 * charset.h — turn text in any charset, under any label a mail client ever
 * wrote, into valid UTF-8.
 *
 * Labels are matched loosely ("ISO_8859-1", "iso8859-1", "latin1" are one
 * charset) and common wrong labels are read as what the sender really used:
 * ks_c_5601-1987 as CP949, gb2312/gbk as GB18030, iso-8859-1 and us-ascii as
 * windows-1252 (as browsers do), shift_jis as CP932, and so on. Text that is
 * valid UTF-8 under a Latin-1 or ASCII label is taken as UTF-8; an
 * iso-8859-N label on text using the C1 range is read as the matching
 * windows-125x. Unknown labels ("unknown-8bit", "x-user-defined", garbage)
 * read as UTF-8 when the bytes are valid UTF-8, else as windows-1252. Bytes
 * that are invalid in the charset become U+FFFD (or, under a UTF-8 label,
 * are read one by one as windows-1252). Everything else goes through iconv.
 *
 * Pure: no I/O, no global state, thread-safe. Allocation failure aborts.
 * Ownership: hg_charset_to_utf8() puts a new NUL-terminated string in
 * res->text that the caller frees with free(); it is never NULL and never
 * contains invalid UTF-8. Nothing is an error: what was repaired is told by
 * res->flags, so the caller can record a warning.
 */
#ifndef HELPGATE_CHARSET_H
#define HELPGATE_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

enum hg_charset_flag {
    HG_CHARSET_UNKNOWN_LABEL = 1 << 0, /* the label names no charset known here: bytes were guessed */
    HG_CHARSET_MISLABELED = 1 << 1,    /* the bytes did not fit the label: read as res->used instead */
    HG_CHARSET_INVALID_BYTES = 1 << 2, /* some bytes were invalid in the charset and were replaced */
    HG_CHARSET_TRUNCATED = 1 << 3,     /* the output reached max_out and was cut at a character */
};

struct hg_charset_result {
    char *text;     /* valid UTF-8, NUL-terminated; the caller frees it */
    size_t len;     /* bytes in text, not counting the NUL */
    unsigned flags; /* enum hg_charset_flag bits */
    char used[64];  /* the charset actually used, e.g. "windows-1252" */
};

/*
 * Converts LEN bytes of IN, labelled LABEL (NULL or "" when the text has no
 * label: then UTF-8 if valid, else windows-1252), to UTF-8. At most MAX_OUT
 * bytes are produced (0 = no limit). A leading byte order mark is dropped.
 */
void hg_charset_to_utf8(const char *label, const void *in, size_t len, size_t max_out,
                        struct hg_charset_result *res);

/*
 * The name of the charset LABEL will be read as ("windows-1252", "GB18030",
 * "UTF-8", ...), written into BUF (SIZE bytes); returns false when the label
 * is unknown (BUF then holds "").
 */
bool hg_charset_resolve(const char *label, char *buf, size_t size);

/* True when LEN bytes of S are valid UTF-8 (RFC 3629: no overlong forms, no surrogates). */
bool hg_utf8_valid(const void *s, size_t len);

/*
 * Length of the longest prefix of S (LEN bytes) that is at most MAX bytes
 * and does not end inside a UTF-8 sequence.
 */
size_t hg_utf8_cut(const char *s, size_t len, size_t max);

#endif
