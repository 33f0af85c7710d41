/*
 * fuzz_html.c — libFuzzer target for hg_html_to_text (html2text.h).
 *
 * The first input byte picks an output cap (0 = the default, else a small
 * one); the rest is the HTML. Besides crashes and leaks, it aborts when the
 * output breaks a promise of the header: valid UTF-8, within the cap, no
 * leading or trailing newline, no trailing space on a line, never two empty
 * lines in a row, and a capped output that is not a prefix of the uncapped
 * one. libxml2's generic error channel is set to abort, so any message it
 * would print to stderr is found too.
 */
#include "helpgate/html2text.h"

#include <libxml/xmlerror.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void abort_on_message(void *ctx, const char *msg, ...)
{
    (void)ctx;
    fprintf(stderr, "libxml2 printed: %s\n", msg);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlSetGenericErrorFunc(NULL, abort_on_message);
    return 0;
}

static bool valid_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n;
        unsigned int cp;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if (s[i] >= 0xC2 && s[i] <= 0xDF) {
            n = 2, cp = s[i] & 0x1F;
        } else if (s[i] >= 0xE0 && s[i] <= 0xEF) {
            n = 3, cp = s[i] & 0x0F;
        } else if (s[i] >= 0xF0 && s[i] <= 0xF4) {
            n = 4, cp = s[i] & 0x07;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

static void check_output(const char *out, size_t cap)
{
    size_t len = strlen(out);
    if (!valid_utf8((const unsigned char *)out, len))
        abort();
    if (len > (cap ? cap : (size_t)4 << 20))
        abort();
    if (len > 0 && (out[0] == '\n' || out[len - 1] == '\n'))
        abort();
    if (strstr(out, "\n\n\n") != NULL || strstr(out, " \n") != NULL || strstr(out, "\t\n") != NULL)
        abort();
    if (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = 0;
    if (size > 0) {
        cap = data[0] < 0x80 ? 0 : (size_t)(data[0] - 0x7F) * 5;
        data++;
        size--;
    }
    bool truncated = false;
    char *out = hg_html_to_text((const char *)data, size, cap, &truncated);
    check_output(out, cap);
    if (cap != 0) {
        char *full = hg_html_to_text((const char *)data, size, 0, NULL);
        check_output(full, 0);
        size_t len = strlen(out);
        if (strncmp(out, full, len) != 0)
            abort();
        if (strlen(full) > cap && !truncated)
            abort();
        free(full);
    }
    free(out);
    return 0;
}
