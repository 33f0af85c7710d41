/*
 * config_check.c — read helpgate.conf and check the files it names.
 */
#include "helpgate/config_check.h"

#include "helpgate/alloc.h"
#include "helpgate/readfile.h"
#include "helpgate/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1024 * 1024)

#ifndef HG_SYSCONFDIR
#define HG_SYSCONFDIR "/etc/helpgate"
#endif

const char *hg_config_default_path(const char *path)
{
    if (path != NULL && path[0] != '\0')
        return path;
    const char *env = getenv("HELPGATE_CONFIG");
    if (env != NULL && env[0] != '\0')
        return env;
    return HG_SYSCONFDIR "/helpgate.conf";
}

static char *read_whole_file(const char *path, size_t *len_r, char **error_r)
{
    char *text = NULL;
    if (hg_read_file(path, CONFIG_FILE_MAX, &text, len_r, error_r) < 0)
        return NULL;
    return text;
}

static void check_secret(struct hg_config_errors *errors, struct hg_config_errors *warnings, int line,
                         const char *key, const char *path)
{
    if (path == NULL)
        return;
    char *value = NULL, *warning = NULL, *error = NULL;
    if (hg_secret_read_file(path, &value, &warning, &error) < 0) {
        hg_config_errors_add(errors, line, key, "%s; create it with the secret on one line, mode 600", error);
        free(error);
        return;
    }
    hg_secret_free(&value);
    if (warning != NULL) {
        hg_config_errors_add(warnings, line, key, "%s", warning);
        free(warning);
    }
}

static void check_readable_file(struct hg_config_errors *errors, int line, const char *key, const char *path)
{
    if (path == NULL)
        return;
    if (access(path, R_OK) != 0)
        hg_config_errors_add(errors, line, key, "cannot read %s: %s", path, strerror(errno));
}

static void check_optional_path(struct hg_config_errors *warnings, const char *key, const char *path,
                                const char *consequence)
{
    struct stat st;
    if (path != NULL && stat(path, &st) != 0)
        hg_config_errors_add(warnings, 0, key, "%s does not exist: %s", path, consequence);
}

static void check_files(const struct hg_config *cfg, struct hg_config_errors *errors,
                        struct hg_config_errors *warnings)
{
    check_secret(errors, warnings, 0, "database.password_file", cfg->db_password_file);
    check_secret(errors, warnings, 0, "helpgate.hmac_secret_file", cfg->hmac_secret_file);
    check_secret(errors, warnings, 0, "smtp.password_file", cfg->smtp_password_file);
    for (size_t i = 0; i < cfg->n_mailboxes; i++) {
        const struct hg_mailbox_config *mb = &cfg->mailboxes[i];
        char *key = hg_xasprintf("mailbox %s.password_file", mb->name);
        check_secret(errors, warnings, mb->line, key, mb->password_file);
        free(key);
        key = hg_xasprintf("mailbox %s.xoauth2_token_file", mb->name);
        check_secret(errors, warnings, mb->line, key, mb->xoauth2_token_file);
        free(key);
    }
    if (cfg->smtp_ca_file != NULL)
        check_readable_file(errors, 0, "smtp.ca_file", cfg->smtp_ca_file);
    if (cfg->chat_enabled) {
        check_readable_file(errors, 0, "chat.tls_cert", cfg->chat_tls_cert);
        check_secret(errors, warnings, 0, "chat.tls_key", cfg->chat_tls_key);
    }
    check_optional_path(warnings, "helpgate.rules_file", cfg->rules_file,
                        "every ticket will be routed to L1 by the default rule");
    check_optional_path(warnings, "helpgate.templates_dir", cfg->templates_dir,
                        "no acknowledgement or notification will be sent");
}

struct hg_config *hg_config_load(const char *path, struct hg_config_errors *errors,
                                 struct hg_config_errors *warnings)
{
    size_t len = 0;
    char *error = NULL;
    char *text = read_whole_file(path, &len, &error);
    if (text == NULL) {
        hg_config_errors_add(errors, 0, NULL, "%s", error);
        free(error);
        return NULL;
    }
    struct hg_config *cfg = hg_config_parse(text, len, path, errors);
    free(text);
    if (cfg == NULL)
        return NULL;
    check_files(cfg, errors, warnings);
    if (errors->count > 0)
        hg_config_free(&cfg);
    return cfg;
}
