/*
 * fuzz_config.c — libFuzzer target for the helpgate.conf parser.
 *
 * Feeds the input to hg_config_parse(), formats every error (as check-config
 * would) and frees everything, so ASan/UBSan see any overflow, leak or
 * undefined behaviour. Also asks for a key suggestion for the first line.
 * Seeds: tests/fuzz/seeds/config/.
 */
#include "helpgate/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_all(const struct hg_config_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++) {
        char *line = hg_config_error_format(errors, i, "fuzz.conf");
        if (line == NULL || errors->items[i].message == NULL)
            abort();
        free(line);
    }
}

static void suggest_for_first_line(const uint8_t *data, size_t size)
{
    char key[128];
    size_t n = 0;
    while (n < size && n < sizeof key - 1 && data[n] != '\n' && data[n] != '\0')
        n++;
    memcpy(key, data, n);
    key[n] = '\0';
    (void)hg_config_suggest_key("mailbox", key);
    (void)hg_config_suggest_key("chat", key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hg_config_errors errors;
    hg_config_errors_init(&errors);
    struct hg_config *cfg = hg_config_parse((const char *)data, size, "fuzz.conf", &errors);
    if ((cfg == NULL) != (errors.count > 0))
        abort(); /* a config comes back exactly when there is no error */
    format_all(&errors);
    hg_config_free(&cfg);
    hg_config_errors_free(&errors);
    suggest_for_first_line(data, size);
    return 0;
}
