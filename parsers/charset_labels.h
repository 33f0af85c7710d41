/*
 * charset_labels.h — the table of charset labels mail clients write, for charset.c only.
 *
 * Each label is looked up by its key: lower-cased, with everything but
 * letters and digits removed ("ISO_8859-1" and "iso8859-1" are both
 * "iso88591"). Not a public API.
 */
#ifndef HELPGATE_CHARSET_LABELS_H
#define HELPGATE_CHARSET_LABELS_H

enum decoder {
    DECODE_UTF8,   /* labelled UTF-8: invalid bytes read as windows-1252 */
    DECODE_ASCII,  /* labelled ASCII: 8-bit bytes are UTF-8 if valid, else windows-1252 */
    DECODE_CP1252, /* labelled Latin-1/windows-1252: UTF-8 if the bytes are valid UTF-8 */
    DECODE_GUESS,  /* no usable label: UTF-8 if valid, byte by byte windows-1252 otherwise */
    DECODE_ICONV,  /* anything else */
};

struct charset_alias {
    const char *key; /* the label lower-cased with everything but letters and digits removed */
    enum decoder decoder;
    const char *iconv_name;  /* for DECODE_ICONV */
    const char *c1_fallback; /* charset to use instead when the text has bytes 0x80-0x9F */
};

/* The entry for KEY, or NULL. */
const struct charset_alias *hg_charset_alias_find(const char *key);

#endif
