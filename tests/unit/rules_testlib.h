/*
 * rules_testlib.h — what the rules engine's unit tests share: where
 * tests/data/rules is, and a loader that reads list files relative to a
 * directory (CTX, or "." when NULL) and time zones from /usr/share/zoneinfo.
 * Include after testdata.h (read_file()).
 */
#ifndef HELPGATE_TESTS_RULES_TESTLIB_H
#define HELPGATE_TESTS_RULES_TESTLIB_H

#include "helpgate/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/data/rules[/SUB]; caller frees. */
static char *data_dir(const char *sub)
{
    const char *top = getenv("top_srcdir");
    size_t len = strlen(top != NULL ? top : ".") + strlen(sub) + 32;
    char *dir = malloc(len);
    snprintf(dir, len, "%s/tests/data/rules%s%s", top != NULL ? top : ".", *sub ? "/" : "", sub);
    return dir;
}

static int test_load(void *ctx, enum hg_rules_load_kind kind, const char *name, unsigned char **data_r,
                     size_t *len_r, char **error_r)
{
    char path[4096];
    if (kind == HG_RULES_LOAD_TIMEZONE)
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    else if (name[0] == '/')
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", ctx != NULL ? (const char *)ctx : ".", name);
    struct text t = read_file(path);
    if (t.data == NULL) {
        *error_r = strdup("no such file");
        return -1;
    }
    *data_r = (unsigned char *)t.data;
    *len_r = t.len;
    return 0;
}

#endif
