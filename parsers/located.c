/*
 * located.c — errors printed with their place in a file (see located.h).
 */
#include "helpgate/located.h"

#include "helpgate/buf.h"

enum { MAX_ERROR_TEXT = 4096 };

char *hg_located_error_format(const char *filename, int line, int col, const char *message, const char *hint)
{
    struct hg_buf b;
    hg_buf_init(&b, MAX_ERROR_TEXT);
    if (line > 0 && col > 0)
        hg_buf_printf(&b, "%s:%d:%d: %s", filename, line, col, message);
    else if (line > 0)
        hg_buf_printf(&b, "%s:%d: %s", filename, line, message);
    else
        hg_buf_printf(&b, "%s: %s", filename, message);
    if (hint != NULL)
        hg_buf_printf(&b, "\n  hint: %s", hint);
    return hg_buf_steal(&b);
}
