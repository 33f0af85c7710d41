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
#include "helpgate/rules.h"
#include "helpgate/rules_file.h"
#include "helpgate/rules_mail.h"
#include "helpgate/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_data.h"
#include "ctl_report.h"

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
struct hg_config *load_config_or_explain(const char *path, bool show_warnings)
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

struct hg_store *connect_or_explain(const struct hg_config *cfg)
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
        fprintf(stderr, "helpgatectl: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *data = hg_xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= PARSE_INPUT_MAX) {
                fprintf(stderr, "helpgatectl: %s is larger than %u bytes\n", path, PARSE_INPUT_MAX);
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
                fprintf(stderr, "helpgatectl: cannot read %s: %s\n", path, strerror(errno));
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

/* ---- rules ---------------------------------------------------------------------------------- */

/* The rules file: FILE when given, else the configured one (the configuration is optional here). */
static const char *rules_path(struct ctl *ctl, const char *file, struct hg_config **cfg_r)
{
    *cfg_r = NULL;
    if (file != NULL)
        return file;
    const char *config_path = hg_config_default_path(ctl->config_path);
    if (ctl->config_path != NULL || access(config_path, F_OK) == 0)
        *cfg_r = load_config_or_explain(config_path, false);
    return *cfg_r != NULL ? (*cfg_r)->rules_file : hg_rules_default_path();
}

/* Loads and reports; NULL after printing every error. */
static struct hg_rules *load_rules_or_explain(const char *path)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules *rules = hg_rules_load(path, &errors);
    for (size_t i = 0; i < errors.count; i++) {
        char *line = hg_rules_error_format(&errors, i, path);
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    if (errors.count > 0)
        fprintf(stderr, "%s: %zu error%s\n", path, errors.count, errors.count == 1 ? "" : "s");
    hg_rules_errors_free(&errors);
    return rules;
}

static int rules_check(struct ctl *ctl, int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "helpgatectl rules check: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        }
        if (file != NULL) {
            fprintf(stderr, "helpgatectl rules check: one file at a time\n");
            return EXIT_USAGE;
        }
        file = argv[i];
    }
    struct hg_config *cfg;
    const char *path = rules_path(ctl, file, &cfg);
    struct hg_rules *rules = load_rules_or_explain(path);
    int rc = rules != NULL ? 0 : EXIT_USAGE;
    if (rules != NULL)
        printf("%s: rules OK: %zu rule%s\n", path, hg_rules_count(rules),
               hg_rules_count(rules) == 1 ? "" : "s");
    hg_rules_free(&rules);
    hg_config_free(&cfg);
    return rc;
}

/* "2026-11-23T10:00:00Z", "...+01:00", "2026-11-23 10:00" (UTC) or "now"; false when malformed. */
bool ctl_parse_when(const char *text, int64_t *epoch_r)
{
    if (strcmp(text, "now") == 0) {
        *epoch_r = (int64_t)time(NULL);
        return true;
    }
    struct tm tm = {0};
    char sep, zone[8] = "";
    int n = sscanf(text, "%4d-%2d-%2d%c%2d:%2d:%2d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone);
    if (n < 6 || (sep != 'T' && sep != ' '))
        return false;
    int offset = 0;
    if (zone[0] == '+' || zone[0] == '-') {
        int hours, minutes;
        if (sscanf(zone + 1, "%2d:%2d", &hours, &minutes) != 2)
            return false;
        offset = (zone[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    } else if (zone[0] != '\0' && strcmp(zone, "Z") != 0) {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *epoch_r = (int64_t)timegm(&tm) - offset;
    return true;
}

struct rules_test_args {
    const char *files[2];
    int n_files;
    const char *recipient;
    struct hg_rules_input in;
};

/* Reads the options of `rules test` into ARGS; returns 0, or EXIT_USAGE after saying why. */
static int rules_test_options(int argc, char **argv, struct rules_test_args *a)
{
    a->in.customer_known = true;
    a->in.now = (int64_t)time(NULL);
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = strcmp(opt, "--customer-tier") == 0 || strcmp(opt, "--notes") == 0 ||
                           strcmp(opt, "--company") == 0 || strcmp(opt, "--open-tickets") == 0 ||
                           strcmp(opt, "--channel") == 0 || strcmp(opt, "--at") == 0 ||
                           strcmp(opt, "--recipient") == 0;
        if (takes_value && value == NULL) {
            fprintf(stderr, "helpgatectl rules test: %s needs a value\n", opt);
            return EXIT_USAGE;
        }
        char *end = NULL;
        if (strcmp(opt, "--customer-tier") == 0 &&
            (strcmp(value, "standard") == 0 || strcmp(value, "premium") == 0 || strcmp(value, "vip") == 0))
            a->in.customer_tier = value;
        else if (strcmp(opt, "--notes") == 0)
            a->in.customer_custom_code_notes = value;
        else if (strcmp(opt, "--company") == 0)
            a->in.customer_company = value;
        else if (strcmp(opt, "--open-tickets") == 0 &&
                 (a->in.customer_open_tickets = strtol(value, &end, 10)) >= 0 && *end == '\0')
            ;
        else if (strcmp(opt, "--channel") == 0 && (strcmp(value, "email") == 0 || strcmp(value, "chat") == 0))
            a->in.channel = value;
        else if (strcmp(opt, "--at") == 0 && ctl_parse_when(value, &a->in.now))
            ;
        else if (strcmp(opt, "--recipient") == 0)
            a->recipient = value;
        else if (strcmp(opt, "--custom-code") == 0)
            a->in.customer_custom_code = true;
        else if (strcmp(opt, "--new-customer") == 0)
            a->in.customer_known = false;
        else if (opt[0] == '-' && opt[1] != '\0') {
            fprintf(stderr, "helpgatectl rules test: %s %s\n",
                    takes_value ? "bad value for" : "unknown option", opt);
            return EXIT_USAGE;
        } else if (a->n_files < 2) {
            a->files[a->n_files++] = opt;
            continue;
        } else {
            fprintf(stderr, "helpgatectl rules test: give [RULES-FILE] MESSAGE\n");
            return EXIT_USAGE;
        }
        if (takes_value)
            i++;
    }
    if (a->n_files == 0) {
        fprintf(stderr, "usage: helpgatectl rules test [RULES-FILE] MESSAGE.eml [options]\n");
        return EXIT_USAGE;
    }
    return 0;
}

static int rules_test(struct ctl *ctl, int argc, char **argv)
{
    struct rules_test_args a = {0};
    int rc = rules_test_options(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct hg_config *cfg;
    const char *path = rules_path(ctl, a.n_files == 2 ? a.files[0] : NULL, &cfg);
    struct hg_rules *rules = load_rules_or_explain(path);
    if (rules == NULL) {
        hg_config_free(&cfg);
        return EXIT_USAGE;
    }
    size_t len = 0;
    char *raw = read_input(a.files[a.n_files - 1], &len);
    if (raw == NULL) {
        hg_rules_free(&rules);
        hg_config_free(&cfg);
        return 1;
    }
    struct hg_mail_limits limits = {.ticket_tag_prefix = cfg != NULL ? cfg->ticket_tag_prefix : NULL};
    struct hg_mail *mail = hg_mail_parse(raw, len, &limits);
    free(raw);
    struct hg_rules_input in;
    struct hg_rules_mail_views views;
    hg_rules_input_from_mail(mail, a.recipient, &in, &views);
    in.channel = a.in.channel != NULL ? a.in.channel : in.channel;
    in.customer_known = a.in.customer_known;
    in.customer_tier = a.in.customer_tier;
    in.customer_custom_code = a.in.customer_custom_code;
    in.customer_custom_code_notes = a.in.customer_custom_code_notes;
    in.customer_company = a.in.customer_company;
    in.customer_open_tickets = a.in.customer_open_tickets;
    in.now = a.in.now;
    char *explained = hg_rules_explain(rules, &in);
    fputs(explained, stdout);
    free(explained);
    hg_rules_mail_views_free(&views);
    hg_mail_free(&mail);
    hg_rules_free(&rules);
    hg_config_free(&cfg);
    return 0;
}

static int cmd_rules(struct ctl *ctl, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return rules_check(ctl, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return rules_test(ctl, argc, argv);
    fprintf(stderr, "usage: helpgatectl rules check [FILE]\n"
                    "       helpgatectl rules test [FILE] MESSAGE.eml [options]\n");
    return EXIT_USAGE;
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
    {"rules",
     "Check the routing rules, or show how they route one message.\n"
     "rules check [FILE]: every error as FILE:LINE:COL: what was expected, with a hint (exit 2),\n"
     "or \"rules OK: N rules\". FILE defaults to the configuration's rules_file.\n"
     "rules test [FILE] MESSAGE.eml: every rule in order, whether it matched, each condition with the\n"
     "value it saw, and the resulting actions. Offline: the customer is what the options say:\n"
     "  --customer-tier standard|premium|vip  --custom-code  --notes TEXT  --company NAME\n"
     "  --open-tickets N  --new-customer  --channel email|chat  --recipient ADDRESS\n"
     "  --at 2026-11-23T10:00:00Z (default: now; +HH:MM offsets too)",
     "rules check [FILE] | rules test [FILE] MESSAGE.eml [options]", cmd_rules},
    {"ticket",
     "List, show and change tickets: each change is audited with the operator's name (ctl:USER).\n"
     "ticket list [--status S[,S]] [--tier L1|L2|L3] [--assignee EMAIL|--unassigned] [--customer EMAIL]\n"
     "  [--channel email|chat] [--limit N (50; 0 for all)] [--format table|csv|json]: newest first;\n"
     "ticket show NUMBER [--format text|json]: fields, messages (notes marked), audit trail;\n"
     "ticket assign NUMBER EMAIL|--none; ticket tier NUMBER L1|L2|L3 [--reason TEXT];\n"
     "ticket status NUMBER new|open|pending|resolved|closed; ticket note NUMBER TEXT|- (internal);\n"
     "ticket merge NUMBER INTO-NUMBER (closes NUMBER; later mail on it goes to INTO-NUMBER).\n"
     "An unknown ticket or agent, an inactive agent or a change that makes no sense exits 2.",
     "ticket list|show|assign|tier|status|note|merge ...", cmd_ticket},
    {"agent",
     "Manage agents: who may answer tickets by mail, in which team (L1, L2, L3), from which addresses.\n"
     "agent add EMAIL --team L1|L2|L3 [--name NAME] [--lead]; agent list; agent set EMAIL [--team T]\n"
     "[--name N] [--lead|--no-lead]; agent team EMAIL L1|L2|L3; agent disable|deactivate EMAIL;\n"
     "agent enable|activate EMAIL; agent alias add EMAIL ALIAS; agent alias remove ALIAS.\n"
     "Every change is written to the audit log.",
     "agent add|list|set|team|disable|enable|alias ...", cmd_agent},
    {"customer",
     "Show or change what helpgate knows of a customer (the rules read it): tier, custom code, notes.\n"
     "customer show EMAIL; customer add EMAIL [options] (a new customer only);\n"
     "customer set EMAIL [--tier standard|premium|vip] [--custom-code yes|no] [--notes TEXT]\n"
     "[--company NAME] [--name NAME] (creates the customer when new); and its short forms\n"
     "customer set-tier EMAIL standard|premium|vip; customer custom-code EMAIL yes|no [--notes TEXT];\n"
     "customer notes EMAIL TEXT|- (- reads standard input). Audited.\n"
     "customer export EMAIL [--out DIR]: everything held about them, as DIR/customer-ID-export-TIME/\n"
     "customer.json with their attachments and raw mails beside it. customer erase EMAIL --yes: delete\n"
     "or anonymise it all, cancel mail queued to them, redact the audit log (without --yes: show what\n"
     "it would do). Both audited, the address only as its SHA-256.",
     "customer show|add|set|set-tier|custom-code|notes|export|erase EMAIL ...", cmd_customer},
    {"retention",
     "Archive, then purge, what [retention] says is due: closed tickets (archived whole, then deleted),\n"
     "attachment contents and raw sources (archived, then emptied). One gzip'd JSON Lines file per class\n"
     "in archive_dir, on disk before the purge; one audit row per run; the database size before and\n"
     "after. helpgated runs it daily. --dry-run: the same numbers, nothing changed (--at TIME: as of\n"
     "then); --max-rows N: at most N per class and run (default 10000).",
     "retention run [--dry-run [--at TIME]] [--max-rows N]", cmd_retention},
    {"report",
     "Support figures for a period [FROM, TO) in UTC, per tier L1, L2, L3 and all, and for the\n"
     "custom-code customers: incoming, closed, time to first response and to resolution (median,\n"
     "p90), escalations, SLA breach rate; the top 10 customers. As an aligned table, CSV or JSON.\n"
     "DATE: 2026-11-01 (00:00 UTC) or 2026-11-01T09:30[:00][Z|+01:00]. See helpgatectl(8), Reports.",
     "report --from DATE --to DATE [--format table|csv|json] [--tier L1|L2|L3]", cmd_report},
    {"sla",
     "Run one pass of the SLA scheduler now, as helpgated does every 30 seconds: warn the teams of\n"
     "tickets near a due time, record breaches, escalate (or tell the leads) as the policy says.\n"
     "--now TIME runs it as if it were TIME (2026-11-23T10:00:00Z, +HH:MM offsets too).",
     "sla run [--now TIME]", cmd_sla},
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
