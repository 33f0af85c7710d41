/*
 * helpgatectl.c — the operator's tool: one subcommand per task, each with
 * --help. Exit status: 0 done, 1 it failed (database, files), 2 bad usage or
 * invalid input (configuration errors included).
 */
#include "config.h"

#include "helpgate/alloc.h"
#include "helpgate/config_check.h"
#include "helpgate/mail.h"
#include "helpgate/migrate.h"
#include "helpgate/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

struct ctl {
    const char *config_path; /* --config, or NULL for the default */
};

struct command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct command *find_command(const char *name);
static void print_commands(FILE *out);

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static void print_config_errors(FILE *out, const char *path, const struct hg_config_errors *errors,
                                const char *kind)
{
    for (size_t i = 0; i < errors->count; i++) {
        char *line = hg_config_error_format(errors, i, path);
        fprintf(out, "%s%s\n", kind, line);
        free(line);
    }
}

/* Loads the config for a command; prints every error and returns NULL when it is invalid. */
static struct hg_config *load_config_or_explain(const char *path, bool show_warnings)
{
    struct hg_config_errors errors, warnings;
    hg_config_errors_init(&errors);
    hg_config_errors_init(&warnings);
    struct hg_config *cfg = hg_config_load(path, &errors, &warnings);
    print_config_errors(stderr, path, &errors, "");
    if (show_warnings)
        print_config_errors(stderr, path, &warnings, "warning: ");
    hg_config_errors_free(&errors);
    hg_config_errors_free(&warnings);
    return cfg;
}

static struct hg_store *connect_or_explain(const struct hg_config *cfg)
{
    struct hg_store_params params = {
        .conninfo = cfg->db_conninfo,
        .password_file = cfg->db_password_file,
        .connect_timeout = cfg->db_connect_timeout,
        .application_name = "helpgatectl",
    };
    char *error = NULL;
    struct hg_store *store = hg_store_connect(&params, &error);
    if (store == NULL) {
        fprintf(stderr, "helpgatectl: cannot connect to PostgreSQL: %s\n", error);
        fprintf(stderr, "hint: check [database] conninfo in the configuration and that the server is up\n");
        free(error);
    }
    return store;
}

/* ---- check-config --------------------------------------------------------------------------- */

static void list_keys(void)
{
    size_t count = 0;
    const struct hg_config_setting_info *settings = hg_config_settings(&count);
    for (size_t i = 0; i < count; i++)
        printf("%s\t%s\t%s\t%s\t%s\t%s\n", settings[i].section, settings[i].key, settings[i].type,
               settings[i].default_value, settings[i].reloadable ? "reload" : "restart", settings[i].doc);
}

static int cmd_check_config(struct ctl *ctl, int argc, char **argv)
{
    const char *path = ctl->config_path;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list-keys") == 0) {
            list_keys();
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "helpgatectl check-config: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        }
        path = argv[i];
    }
    path = hg_config_default_path(path);
    struct hg_config *cfg = load_config_or_explain(path, true);
    if (cfg == NULL)
        return EXIT_USAGE;
    hg_config_free(&cfg);
    printf("%s: configuration OK\n", path);
    return 0;
}

/* ---- migrate -------------------------------------------------------------------------------- */

static void print_applied(const struct hg_migration *m, void *arg)
{
    (void)arg;
    printf("applied %03d_%s\n", m->version, m->name);
}

static int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
    bool status_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--status") == 0) {
            status_only = true;
        } else {
            fprintf(stderr, "helpgatectl migrate: unexpected argument %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    const char *path = hg_config_default_path(ctl->config_path);
    struct hg_config *cfg = load_config_or_explain(path, false);
    if (cfg == NULL)
        return EXIT_USAGE;
    struct hg_store *store = connect_or_explain(cfg);
    hg_config_free(&cfg);
    if (store == NULL)
        return 1;

    int rc = 0, current = 0, applied = 0;
    char *error = NULL;
    if (status_only) {
        if (hg_migrate_current_version(store, &current, &error) == 0)
            printf("schema version %d, this helpgate needs %d: %s\n", current, hg_migrate_latest_version(),
                   current >= hg_migrate_latest_version() ? "up to date" : "run helpgatectl migrate");
        else
            rc = 1;
    } else if (hg_migrate_apply(store, print_applied, NULL, &applied, &error) == 0) {
        hg_migrate_current_version(store, &current, &error);
        if (applied == 0)
            printf("schema is up to date (version %d); nothing to do\n", current);
        else
            printf("schema migrated to version %d (%d applied)\n", current, applied);
    } else {
        rc = 1;
    }
    if (error != NULL) {
        fprintf(stderr, "helpgatectl migrate: %s\n", error);
        free(error);
        rc = 1;
    }
    hg_store_free(&store);
    return rc;
}

/* ---- parse --------------------------------------------------------------------------------- */

/* Most bytes `parse` reads: more than any mailbox's max_message_size can let through. */
#define PARSE_INPUT_MAX (256u * 1024 * 1024)

static char *read_input(const char *path, size_t *len_r)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "helpgatectl parse: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *data = hg_xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= PARSE_INPUT_MAX) {
                fprintf(stderr, "helpgatectl parse: %s is larger than %u bytes\n", path, PARSE_INPUT_MAX);
                free(data);
                data = NULL;
                break;
            }
            cap *= 2;
            data = hg_xrealloc(data, cap);
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "helpgatectl parse: cannot read %s: %s\n", path, strerror(errno));
                free(data);
                data = NULL;
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    *len_r = len;
    return data;
}

static int cmd_parse(struct ctl *ctl, int argc, char **argv)
{
    struct hg_mail_limits limits = {0};
    bool compact = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--compact") == 0) {
            compact = true;
        } else if (strcmp(argv[i], "--tag-prefix") == 0 && i + 1 < argc) {
            limits.ticket_tag_prefix = argv[++i];
        } else if (strcmp(argv[i], "--support-address") == 0 && i + 1 < argc) {
            limits.support_address = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "helpgatectl parse: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "helpgatectl parse: one file at a time (got %s and %s)\n", path, argv[i]);
            return EXIT_USAGE;
        }
    }
    if (path == NULL) {
        fprintf(stderr,
                "usage: helpgatectl parse [--compact] [--tag-prefix P] [--support-address A] FILE|-\n");
        return EXIT_USAGE;
    }
    /* With an explicit --config, its tag prefix and support address apply unless overridden. */
    struct hg_config *cfg = ctl->config_path ? load_config_or_explain(ctl->config_path, false) : NULL;
    if (cfg != NULL) {
        if (limits.ticket_tag_prefix == NULL)
            limits.ticket_tag_prefix = cfg->ticket_tag_prefix;
        if (limits.support_address == NULL)
            limits.support_address = cfg->smtp_from;
    }
    size_t len = 0;
    char *raw = read_input(path, &len);
    if (raw == NULL) {
        hg_config_free(&cfg);
        return 1;
    }
    struct hg_mail *mail = hg_mail_parse(raw, len, &limits);
    free(raw);
    char *json = hg_mail_to_json(mail, !compact);
    hg_mail_free(&mail);
    hg_config_free(&cfg);
    printf("%s\n", json);
    free(json);
    return 0;
}

/* ---- version / help ------------------------------------------------------------------------- */

static int cmd_version(struct ctl *ctl, int argc, char **argv)
{
    (void)ctl;
    (void)argc;
    (void)argv;
    printf("helpgatectl %s (schema version %d)\n", PACKAGE_VERSION, hg_migrate_latest_version());
    return 0;
}

static int cmd_help(struct ctl *ctl, int argc, char **argv)
{
    (void)ctl;
    if (argc > 1) {
        const struct command *cmd = find_command(argv[1]);
        if (cmd == NULL) {
            fprintf(stderr, "helpgatectl: unknown command '%s'\n", argv[1]);
            return EXIT_USAGE;
        }
        printf("usage: helpgatectl [--config FILE] %s\n\n%s\n", cmd->usage, cmd->summary);
        return 0;
    }
    printf("usage: helpgatectl [--config FILE] COMMAND [ARGS]\n\ncommands:\n");
    print_commands(stdout);
    printf("\n'helpgatectl COMMAND --help' tells more; see helpgatectl(8).\n");
    return 0;
}

static const struct command commands[] = {
    {"migrate", "Apply pending database migrations (each in its own transaction); --status only reports.",
     "migrate [--status]", cmd_migrate},
    {"check-config",
     "Check the configuration file: syntax, values, and the files it names. Prints \"configuration OK\"\n"
     "or every error as FILE:LINE: KEY: what is wrong and what to write instead (exit 2).\n"
     "--list-keys prints every setting: section, key, type, default, reload/restart, description.",
     "check-config [FILE] [--list-keys]", cmd_check_config},
    {"parse",
     "Normalize one message (FILE, or - for standard input) and print it as JSON: ids, addresses,\n"
     "subject, the body as UTF-8 text, the reply without quotes and signature, attachments with\n"
     "SHA-256, the ticket tag, the auto-submitted verdict and every repair made (warnings).\n"
     "Exit 0 for any message; 1 only when the file cannot be read.",
     "parse [--compact] [--tag-prefix P] [--support-address A] FILE|-", cmd_parse},
    {"version", "Print the version and the schema version it needs.", "version", cmd_version},
    {"help", "Show the commands, or the usage of one.", "help [COMMAND]", cmd_help},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_commands(FILE *out)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *summary = commands[i].summary;
        const char *end = strchr(summary, '\n');
        fprintf(out, "  %-14s %.*s\n", commands[i].name, end ? (int)(end - summary) : (int)strlen(summary),
                summary);
    }
}

int main(int argc, char **argv)
{
    struct ctl ctl = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
            ctl.config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            ctl.config_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return cmd_help(&ctl, 1, argv);
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            return cmd_version(&ctl, 1, argv);
        } else {
            fprintf(stderr, "helpgatectl: unknown option %s (try helpgatectl --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        cmd_help(&ctl, 1, argv);
        return EXIT_USAGE;
    }
    const struct command *cmd = find_command(argv[i]);
    if (cmd == NULL) {
        fprintf(stderr, "helpgatectl: unknown command '%s'\n\ncommands:\n", argv[i]);
        print_commands(stderr);
        return EXIT_USAGE;
    }
    if (wants_help(argc - i, argv + i)) {
        printf("usage: helpgatectl [--config FILE] %s\n\n%s\n", cmd->usage, cmd->summary);
        return 0;
    }
    return cmd->run(&ctl, argc - i, argv + i);
}
