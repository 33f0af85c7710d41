/*
 * buf.c — bounded growable byte buffer (see buf.h).
 */
#include "helpgate/buf.h"

#include "helpgate/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hg_buf_init(struct hg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void hg_buf_free(struct hg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void hg_buf_reset(struct hg_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int ensure_room(struct hg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    b->data = hg_xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int hg_buf_append(struct hg_buf *b, const void *data, size_t len)
{
    if (ensure_room(b, len) < 0)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int hg_buf_append_str(struct hg_buf *b, const char *s)
{
    return hg_buf_append(b, s, strlen(s));
}

int hg_buf_append_char(struct hg_buf *b, char c)
{
    return hg_buf_append(b, &c, 1);
}

int hg_buf_vprintf(struct hg_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || ensure_room(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int hg_buf_printf(struct hg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *hg_buf_str(const struct hg_buf *b)
{
    return b->data ? b->data : "";
}

char *hg_buf_steal(struct hg_buf *b)
{
    char *p = b->data ? b->data : hg_xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
