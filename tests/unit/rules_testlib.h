/*
 * rules_testlib.h — what the rules engine's unit tests share: where
 * tests/data/rules is, a loader that reads list files relative to a
 * directory (CTX, or "." when NULL) and time zones from /usr/share/zoneinfo,
 * a rules file's errors as text, and the check of the .rules/.ref error
 * cases of a data directory. Include after tap.h and testdata.h.
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

/* Every error of TEXT, formatted for FILENAME, one per line ("" when it parses). Caller frees. */
static char *rules_errors_of(const char *text, size_t len, const char *filename, const char *dir)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules_loader loader = {test_load, (void *)dir};
    struct hg_rules *r = hg_rules_parse(text, len, filename, &loader, NULL, &errors);
    size_t used = 0;
    char *all = calloc(1, 1);
    for (size_t i = 0; i < errors.count; i++) {
        char *line = hg_rules_error_format(&errors, i, filename);
        all = realloc(all, used + strlen(line) + 2);
        used += (size_t)sprintf(all + used, "%s\n", line);
        free(line);
    }
    hg_rules_errors_free(&errors);
    hg_rules_free(&r);
    return all;
}

/* Each NAME.rules of tests/data/rules/SUB gives exactly the errors of NAME.ref; at least AT_LEAST cases. */
static void check_error_files(const char *sub, size_t at_least)
{
    char *dir = data_dir(sub);
    size_t n;
    char **names = list_cases(dir, ".rules", &n);
    ok(n >= at_least, "found %zu error cases in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        char *path = file_path(dir, names[i], ".rules"), *ref_path = file_path(dir, names[i], ".ref");
        struct text src = read_file(path), ref = read_file(ref_path);
        char filename[256];
        snprintf(filename, sizeof filename, "%s.rules", names[i]);
        char *got = rules_errors_of(src.data != NULL ? src.data : "", src.len, filename, dir);
        char label[300];
        snprintf(label, sizeof label, "errors of %s/%s", sub, filename);
        is_str(got, ref.data != NULL ? ref.data : "(missing .ref)", label);
        free(got);
        free(src.data);
        free(ref.data);
        free(path);
        free(ref_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

#endif
