/*
 * buf.h — a growable byte buffer with a hard maximum size (after curl's dynbuf).
 *
 * Every buffer is given its maximum when it is made; an append that would pass
 * it fails with -1 and leaves the buffer as it was, so a hostile input can
 * never make helpgate use unbounded memory. The contents are always
 * NUL-terminated (the NUL is not counted in len). Allocation failure aborts.
 *
 * Ownership: the hg_buf struct is the caller's (usually on the stack);
 * hg_buf_free() releases its storage, hg_buf_steal() hands the storage to
 * the caller (free() it) and leaves the buffer empty.
 */
#ifndef HELPGATE_BUF_H
#define HELPGATE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct hg_buf {
    char *data; /* NUL-terminated, or NULL while empty */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
};

void hg_buf_init(struct hg_buf *b, size_t max);
void hg_buf_free(struct hg_buf *b);
void hg_buf_reset(struct hg_buf *b);
/* 0 on success, -1 when the result would exceed the maximum. */
int hg_buf_append(struct hg_buf *b, const void *data, size_t len);
int hg_buf_append_str(struct hg_buf *b, const char *s);
int hg_buf_append_char(struct hg_buf *b, char c);
int hg_buf_printf(struct hg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hg_buf_vprintf(struct hg_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The contents as a string ("" when empty); valid until the next change. */
const char *hg_buf_str(const struct hg_buf *b);
/* Hands the storage (never NULL) to the caller and empties the buffer. */
char *hg_buf_steal(struct hg_buf *b);

#endif
