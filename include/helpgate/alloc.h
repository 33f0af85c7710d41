/*
 * alloc.h — allocation that never returns NULL.
 *
 * helpgate follows Postfix's mymalloc: running out of memory is not an error
 * any caller can handle sensibly, so these functions print one line and
 * abort(). Everything they return is owned by the caller and released with
 * free().
 */
#ifndef HELPGATE_ALLOC_H
#define HELPGATE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *hg_xmalloc(size_t size);
void *hg_xcalloc(size_t count, size_t size);
void *hg_xrealloc(void *ptr, size_t size);
char *hg_xstrdup(const char *s);
/* Logs a panic line and aborts: for libraries' own allocators that return NULL. */
void hg_out_of_memory(size_t size) __attribute__((noreturn));
char *hg_xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *hg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hg_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
