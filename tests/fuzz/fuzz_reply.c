/*
 * fuzz_reply.c — libFuzzer target for hg_reply_extract (reply.h).
 *
 * Besides crashes, leaks and timeouts (the work must stay linear), it
 * aborts when the result breaks a promise of the header: never longer than
 * the input, no leading or trailing newline, no carriage return at a line
 * end, and never empty when the input had something other than whitespace
 * (which also catches a NUL byte cutting the C string short).
 */
#include "helpgate/reply.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the input has something but spaces, as reply.c counts them:
 * ASCII spaces, NUL (the result is a C string, so NUL bytes are dropped from
 * it) and the no-break spaces U+00A0 and U+202F. */
static bool has_visible_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (i + 1 < len && memcmp(s + i, "\xC2\xA0", 2) == 0)
            i += 1;
        else if (i + 2 < len && memcmp(s + i, "\xE2\x80\xAF", 3) == 0)
            i += 2;
        else if (strchr(" \t\r\n\f\v", s[i]) == NULL) /* NUL is found by strchr: a space */
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char *out = hg_reply_extract(text, size);
    size_t len = strlen(out);
    if (len > size)
        abort();
    if (len > 0 && (out[0] == '\n' || out[len - 1] == '\n'))
        abort();
    if (strstr(out, "\r\n") != NULL || (len > 0 && out[len - 1] == '\r'))
        abort();
    if (len == 0 && has_visible_text(text, size))
        abort();
    free(out);
    return 0;
}
