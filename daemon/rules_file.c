/*
 * rules_file.c — the rules file, its list files and time zones from disk
 * (see rules_file.h); the parsing itself is parsers/rules_*.c.
 */
#include "config.h"

#include "helpgate/rules_file.h"

#include "helpgate/alloc.h"
#include "helpgate/readfile.h"
#include "helpgate/tz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HG_SYSCONFDIR
#define HG_SYSCONFDIR "/etc/helpgate"
#endif

enum {
    RULES_FILE_MAX = 4 * 1024 * 1024,
    LIST_FILE_MAX = 16 * 1024 * 1024,
    ZONE_FILE_MAX = 1024 * 1024,
};

struct load_ctx {
    char *dir; /* of the rules file, with a trailing '/' ("" for the current directory) */
};

static int load_named(void *arg, enum hg_rules_load_kind kind, const char *name, unsigned char **data_r,
                      size_t *len_r, char **error_r)
{
    struct load_ctx *ctx = arg;
    char *path;
    size_t max = LIST_FILE_MAX;
    if (kind == HG_RULES_LOAD_TIMEZONE) {
        if (!hg_tz_name_valid(name)) {
            *error_r = hg_xstrdup("not a time zone name");
            return -1;
        }
        const char *tzdir = getenv("TZDIR");
        path = hg_xasprintf("%s/%s", tzdir != NULL && tzdir[0] == '/' ? tzdir : "/usr/share/zoneinfo", name);
        max = ZONE_FILE_MAX;
    } else {
        path = name[0] == '/' ? hg_xstrdup(name) : hg_xasprintf("%s%s", ctx->dir, name);
    }
    char *data = NULL;
    int rc = hg_read_file(path, max, &data, len_r, error_r);
    free(path);
    *data_r = (unsigned char *)data;
    return rc;
}

static void add_file_error(struct hg_rules_errors *errors, const char *message)
{
    errors->items = hg_xrealloc(errors->items, (errors->count + 1) * sizeof(*errors->items));
    errors->items[errors->count++] = (struct hg_rules_error){.message = hg_xstrdup(message)};
}

struct hg_rules *hg_rules_load(const char *path, struct hg_rules_errors *errors)
{
    char *text = NULL, *error = NULL;
    size_t len = 0;
    if (hg_read_file(path, RULES_FILE_MAX, &text, &len, &error) < 0) {
        add_file_error(errors, error);
        free(error);
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    struct load_ctx ctx = {.dir = slash != NULL ? hg_xstrndup(path, (size_t)(slash - path) + 1)
                                                : hg_xstrdup("")};
    struct hg_rules_loader loader = {load_named, &ctx};
    struct hg_rules *rules = hg_rules_parse(text, len, path, &loader, NULL, errors);
    free(ctx.dir);
    free(text);
    return rules;
}

const char *hg_rules_default_path(void)
{
    return HG_SYSCONFDIR "/rules.conf";
}

int hg_rules_load_configured(const char *path, struct hg_rules **rules_r, bool *missing_r,
                             struct hg_rules_errors *errors)
{
    *rules_r = NULL;
    *missing_r = false;
    if (path == NULL)
        path = hg_rules_default_path();
    if (strcmp(path, hg_rules_default_path()) == 0 && access(path, F_OK) != 0 && errno == ENOENT) {
        *missing_r = true;
        return 0;
    }
    *rules_r = hg_rules_load(path, errors);
    return *rules_r != NULL ? 0 : -1;
}
