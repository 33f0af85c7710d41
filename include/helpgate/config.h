/*
 * config.h — helpgate.conf: parse, validate, describe.
 *
 * The file is INI-style: `[section]` or `[mailbox NAME]` headers, then
 * `key = value` lines; `#` or `;` starts a comment line. Every setting is
 * defined once in a table (config.c) with its type, default, bounds, whether
 * SIGHUP may change it, and one line of documentation; that table drives the
 * parser, `helpgatectl check-config` and the man page check.
 *
 * This module is pure: it parses text it is given and never opens a file.
 * Checks that need the file system (does the password file exist, is it
 * readable?) live in daemon/config_check.c.
 *
 * Ownership: hg_config_parse() returns a new struct hg_config that the caller
 * releases with hg_config_free(&cfg) (which sets the pointer to NULL); every
 * string inside belongs to it. Errors go into a struct hg_config_errors the
 * caller owns and releases with hg_config_errors_free(). Secrets are never
 * stored: the config names files that hold them.
 */
#ifndef HELPGATE_CONFIG_H
#define HELPGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum hg_tls_mode { HG_TLS_NONE, HG_TLS_STARTTLS, HG_TLS_IMPLICIT };
enum hg_after_ingest { HG_AFTER_FLAG, HG_AFTER_MOVE };
enum hg_imap_auth { HG_AUTH_PASSWORD, HG_AUTH_XOAUTH2 };

struct hg_mailbox_config {
    char *name; /* from [mailbox NAME] */
    char *host;
    int port;             /* default: 993 for imaps, 143 otherwise */
    enum hg_tls_mode tls; /* "imaps" (default), "starttls", "none" */
    bool tls_verify;      /* default true */
    bool allow_plaintext; /* default false; tls = none to a non-loopback host needs it */
    char *user;
    enum hg_imap_auth auth;            /* password_file or xoauth2_token_file set */
    char *password_file;               /* or NULL */
    char *xoauth2_token_file;          /* or NULL */
    char *folder;                      /* default "INBOX" */
    enum hg_after_ingest after_ingest; /* default flag */
    char *move_to;                     /* required when after_ingest = move */
    int poll_interval;                 /* seconds, default 60 */
    bool idle;                         /* default true */
    long max_message_size;             /* bytes, default 25 MiB */
    int batch_size;                    /* messages per UID FETCH, default 100 */
    int line;                          /* line of the [mailbox] header */
};

struct hg_config {
    /* [helpgate] */
    char *instance;          /* default: the host name is filled in by the daemon when NULL */
    char *rules_file;        /* default HG_SYSCONFDIR "/rules.conf" */
    char *templates_dir;     /* default HG_SYSCONFDIR "/templates" */
    char *hmac_secret_file;  /* default NULL (required once agents reply by mail) */
    char *ticket_tag_prefix; /* default "#" as in [#1234] */

    /* [database] */
    char *db_conninfo;      /* libpq conninfo; must not carry password= */
    char *db_password_file; /* or NULL */
    int db_connect_timeout; /* seconds, default 10 */

    /* [smtp] */
    char *smtp_url; /* smtp://, smtps:// */
    char *smtp_user;
    char *smtp_password_file;
    bool smtp_tls_verify; /* default true */
    char *smtp_ca_file;   /* PEM CA bundle, or NULL for the system's */
    char *smtp_from;      /* the support address */
    char *support_domain;
    bool smtp_allow_plaintext; /* default false: smtp:// needs STARTTLS unless the server is on loopback */
    int smtp_retry_initial;    /* seconds, default 30 */
    int smtp_retry_max;        /* seconds, default 3600 */
    int smtp_give_up_after;    /* seconds, default 5 days */
    char **smtp_notify[3];     /* team addresses for L1, L2, L3 (NULL-terminated, may be empty) */
    char *noreply_pattern;     /* PCRE2 */
    int ack_throttle;          /* automatic mails per sender per hour, default 3 */
    int ticket_auto_cap;       /* automatic mails per ticket, default 5 */
    char *response_time[3];    /* promised first response per tier (text for templates), or NULL */

    /* [chat] */
    bool chat_enabled; /* default false */
    char *chat_listen; /* "ADDR:PORT", default "127.0.0.1:8080" */
    char *chat_tls_cert;
    char *chat_tls_key;
    char **chat_allowed_origins; /* NULL-terminated, may be empty */
    long chat_max_frame;         /* bytes, default 16 KiB */
    long chat_max_message;       /* bytes, default 8 KiB */
    int chat_max_connections;    /* default 10000 */
    int chat_idle_timeout;       /* seconds, default 600 */
    int chat_ping_interval;      /* seconds, default 30 */
    double chat_rate;            /* messages per second per connection, default 2 */
    int chat_burst;              /* token bucket size, default 10 */
    int chat_per_ip_connections; /* default 20 */
    double chat_ip_rate;         /* messages per second per IP address, default 10 */
    int chat_ip_burst;           /* default 50 */
    char *chat_widget_dir;       /* default HG_PKGDATADIR "/widget" */
    char **chat_metrics_allow;   /* NULL-terminated, default 127.0.0.1 ::1 */

    /* [retention] */
    int retention_raw_days;           /* default 90, 0 = keep forever */
    int retention_attachment_days;    /* default 365 */
    int retention_closed_ticket_days; /* default 730 */
    char *archive_dir;                /* default "/var/lib/helpgate/archive" */

    struct hg_mailbox_config *mailboxes;
    size_t n_mailboxes;
};

struct hg_config_error {
    int line;      /* 0 when the error is about the whole file */
    char *key;     /* or NULL */
    char *message; /* what is wrong and what to write instead */
};

struct hg_config_errors {
    struct hg_config_error *items;
    size_t count;
};

/*
 * Parses TEXT (LEN bytes, need not be NUL-terminated), naming FILENAME in
 * errors. Collects every error rather than stopping at the first. Returns the
 * config when there was no error, else NULL with ERRORS filled in. Errors and
 * warnings never include a secret value.
 */
struct hg_config *hg_config_parse(const char *text, size_t len, const char *filename,
                                  struct hg_config_errors *errors);
void hg_config_free(struct hg_config **cfg);

void hg_config_errors_init(struct hg_config_errors *errors);
void hg_config_errors_free(struct hg_config_errors *errors);
/* Adds an error (used by daemon/config_check.c too). */
void hg_config_errors_add(struct hg_config_errors *errors, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "FILE:LINE: key: message" for error I (FILE:0 drops the line). Caller frees. */
char *hg_config_error_format(const struct hg_config_errors *errors, size_t i, const char *filename);

/* The setting table, for documentation and --list-keys. */
struct hg_config_setting_info {
    const char *section; /* "helpgate", "database", "mailbox", ... */
    const char *key;
    const char *type;          /* "string", "path", "int", "size", "duration", "bool", "enum", "list",
                                  "number" (decimal, e.g. 0.5) */
    const char *default_value; /* as text, or "" */
    bool reloadable;           /* SIGHUP applies it without a restart */
    const char *doc;
};
const struct hg_config_setting_info *hg_config_settings(size_t *count_r);

/* Levenshtein-nearest known key of SECTION for an unknown KEY, or NULL. */
const char *hg_config_suggest_key(const char *section, const char *key);

#endif
