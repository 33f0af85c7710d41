/*
 * alloc.c — allocation wrappers that abort on exhaustion (see alloc.h).
 */
#include "helpgate/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hg_out_of_memory(size_t size)
{
    fprintf(stderr, "level=panic event=out_of_memory size=%zu\n", size);
    abort();
}

void *hg_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        hg_out_of_memory(size);
    return p;
}

void *hg_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        hg_out_of_memory(count * size);
    return p;
}

void *hg_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        hg_out_of_memory(size);
    return p;
}

char *hg_xstrdup(const char *s)
{
    return hg_xstrndup(s, strlen(s));
}

char *hg_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = hg_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *hg_xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0)
        abort();
    char *p = hg_xmalloc((size_t)len + 1);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    return p;
}

char *hg_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = hg_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}
