/*
 * test-buf.c — the bounded buffer never passes its maximum and stays a string.
 */
#include "helpgate/buf.h"

#include "tap.h"

#include <stdlib.h>

static void test_append_within_limit(void)
{
    struct hg_buf b;
    hg_buf_init(&b, 16);
    is_str(hg_buf_str(&b), "", "an empty buffer reads as \"\"");
    is_int(hg_buf_append_str(&b, "hello"), 0, "append within the limit succeeds");
    is_int(hg_buf_append_char(&b, ' '), 0, "append a char");
    is_int(hg_buf_printf(&b, "%d", 42), 0, "printf within the limit");
    is_str(hg_buf_str(&b), "hello 42", "contents are the concatenation");
    is_int((long long)b.len, 8, "len counts bytes without the NUL");
    hg_buf_free(&b);
}

static void test_limit_is_hard(void)
{
    struct hg_buf b;
    hg_buf_init(&b, 8);
    is_int(hg_buf_append_str(&b, "12345678"), 0, "exactly the maximum fits");
    is_int(hg_buf_append_char(&b, '9'), -1, "one byte past the maximum fails");
    is_str(hg_buf_str(&b), "12345678", "a failed append leaves the contents as they were");
    is_int(hg_buf_printf(&b, "%s", "x"), -1, "printf past the maximum fails");
    hg_buf_reset(&b);
    is_str(hg_buf_str(&b), "", "reset empties the buffer");
    is_int(hg_buf_append(&b, "abc", (size_t)-1), -1, "a huge length is refused without overflow");
    hg_buf_free(&b);
}

static void test_steal(void)
{
    struct hg_buf b;
    hg_buf_init(&b, 1024);
    char *empty = hg_buf_steal(&b);
    is_str(empty, "", "stealing an empty buffer gives an empty string, not NULL");
    free(empty);
    for (int i = 0; i < 100; i++)
        hg_buf_append_str(&b, "0123456789");
    char *s = hg_buf_steal(&b);
    is_int((long long)strlen(s), 1000, "growth keeps every byte");
    is_int((long long)b.len, 0, "the buffer is empty after steal");
    free(s);
    hg_buf_free(&b);
}

int main(void)
{
    test_append_within_limit();
    test_limit_is_hard();
    test_steal();
    return tap_done();
}
