/*
 * config.c — helpgate.conf: parse, validate, describe (see config.h).
 *
 * Every setting is one row of `settings` below: section, key, value type, the
 * struct field it fills, default (as text, parsed like the file), bounds,
 * flags (reloadable, required, secret), an example value for error hints and
 * one line of doc. The parser, the defaults, the validation, the error
 * messages, hg_config_free() and hg_config_settings() all walk that table;
 * only the rules that tie several keys together are written out as code
 * (finish_mailbox() and validate_file()).
 *
 * The text is read line by line. Every error is collected (up to MAX_ERRORS)
 * with its line, key, what is wrong and what to write instead. A value of a
 * setting flagged SECRET is never copied into an error, nor is the value of an
 * unknown key or the text of a line that cannot be parsed.
 */
#include "helpgate/config.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/suggest.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HG_PKGDATADIR
#define HG_PKGDATADIR "/usr/share/helpgate"
#endif
#ifndef HG_SYSCONFDIR
#define HG_SYSCONFDIR "/etc/helpgate"
#endif

enum {
    MAX_FILE_SIZE = 1024 * 1024, /* bytes */
    MAX_LINE = 4096,             /* bytes, without the line end */
    MAX_MAILBOXES = 1000,
    MAX_ERRORS = 100, /* then one "too many errors" and the parser stops */
    MAX_NAME = 64,    /* mailbox names, instance */
    MAX_ECHO = 80,    /* bytes of a value quoted back in an error */
    LABEL_SIZE = MAX_NAME + 16,
};

/* ------------------------------------------------------------------------ */
/* Small ASCII helpers: the file format is ASCII-keyed, so no locale.      */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool equals_ci(const char *a, const char *b)
{
    while (*a != '\0' && to_lower(*a) == to_lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    while (*prefix != '\0' && to_lower(*s) == to_lower(*prefix)) {
        s++;
        prefix++;
    }
    return *prefix == '\0';
}

static char *skip_space(char *s)
{
    while (is_space(*s))
        s++;
    return s;
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
}

static char *trim(char *s)
{
    s = skip_space(s);
    trim_right(s);
    return s;
}

/* True when every byte of S is a letter, digit or one of EXTRA. */
static bool only_chars(const char *s, const char *extra)
{
    for (; *s != '\0'; s++)
        if (!is_alnum(*s) && strchr(extra, *s) == NULL)
            return false;
    return true;
}

/* Copies S into BUF for quoting in an error, cut at MAX_ECHO bytes on a UTF-8 boundary. */
static const char *echo(const char *s, char *buf, size_t size)
{
    size_t n = strlen(s);
    if (n < size && n <= MAX_ECHO) {
        memcpy(buf, s, n + 1);
        return buf;
    }
    n = MAX_ECHO < size - 4 ? MAX_ECHO : size - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Error list.                                                             */

void hg_config_errors_init(struct hg_config_errors *errors)
{
    errors->items = NULL;
    errors->count = 0;
}

void hg_config_errors_free(struct hg_config_errors *errors)
{
    if (errors == NULL)
        return;
    for (size_t i = 0; i < errors->count; i++) {
        free(errors->items[i].key);
        free(errors->items[i].message);
    }
    free(errors->items);
    hg_config_errors_init(errors);
}

__attribute__((format(printf, 4, 0))) static void errors_add_v(struct hg_config_errors *errors, int line,
                                                               const char *key, const char *fmt, va_list ap)
{
    struct hg_buf message;
    hg_buf_init(&message, 4 * MAX_LINE);
    if (hg_buf_vprintf(&message, fmt, ap) < 0)
        hg_buf_append_str(&message, "(message too long)");
    errors->items = hg_xrealloc(errors->items, (errors->count + 1) * sizeof errors->items[0]);
    struct hg_config_error *e = &errors->items[errors->count++];
    e->line = line;
    e->key = key != NULL ? hg_xstrdup(key) : NULL;
    e->message = hg_buf_steal(&message);
}

void hg_config_errors_add(struct hg_config_errors *errors, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    if (errors == NULL)
        return;
    va_start(ap, fmt);
    errors_add_v(errors, line, key, fmt, ap);
    va_end(ap);
}

char *hg_config_error_format(const struct hg_config_errors *errors, size_t i, const char *filename)
{
    if (errors == NULL || i >= errors->count)
        return NULL;
    const struct hg_config_error *e = &errors->items[i];
    const char *file = filename != NULL ? filename : "helpgate.conf";
    char where[32] = "";
    if (e->line > 0)
        snprintf(where, sizeof where, ":%d", e->line);
    if (e->key != NULL)
        return hg_xasprintf("%s%s: %s: %s", file, where, e->key, e->message);
    return hg_xasprintf("%s%s: %s", file, where, e->message);
}

/* ------------------------------------------------------------------------ */
/* Checks of particular values. Each returns NULL when TEXT is fine, else  */
/* a new message saying what to write. Checks of SECRET settings never     */
/* quote TEXT.                                                             */

typedef char *value_check_fn(const char *text);

static char *check_instance(const char *text)
{
    char shown[MAX_ECHO + 4];
    if (strlen(text) <= MAX_NAME && only_chars(text, "-_."))
        return NULL;
    return hg_xasprintf("invalid instance name \"%s\"; use up to %d letters, digits, \"-\", \"_\" or \".\", "
                        "e.g. gw1",
                        echo(text, shown, sizeof shown), MAX_NAME);
}

static char *check_tag_prefix(const char *text)
{
    char shown[MAX_ECHO + 4];
    if (strlen(text) <= 16 && strpbrk(text, " \t[]") == NULL)
        return NULL;
    return hg_xasprintf("invalid ticket tag prefix \"%s\"; write up to 16 characters without spaces or "
                        "brackets, e.g. # (quoted: \"#\") for tags like [#1234]",
                        echo(text, shown, sizeof shown));
}

/* libpq URI form: postgresql://user:password@host/db?password=... */
static bool conninfo_uri_has_password(const char *uri)
{
    const char *authority = strstr(uri, "://") + 3;
    size_t authority_len = strcspn(authority, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < authority_len; i++)
        if (authority[i] == '@')
            at = authority + i;
    if (at != NULL && memchr(authority, ':', (size_t)(at - authority)) != NULL)
        return true;
    const char *query = strchr(uri, '?');
    while (query != NULL) {
        query++;
        if (starts_with_ci(query, "password="))
            return true;
        query = strchr(query, '&');
    }
    return false;
}

/* Skips one keyword=value value (quoted with '' or bare); NULL when a quote is not closed. */
static const char *skip_conninfo_value(const char *s)
{
    bool quoted = *s == '\'';
    if (quoted)
        s++;
    while (*s != '\0') {
        if (*s == '\\' && s[1] != '\0')
            s += 2;
        else if (quoted ? *s == '\'' : is_space(*s))
            return quoted ? s + 1 : s;
        else
            s++;
    }
    return quoted ? NULL : s;
}

/* libpq keyword form: host=... dbname=... password=... ; -1 when it is not that form. */
static int conninfo_keywords_have_password(const char *s)
{
    for (;;) {
        while (is_space(*s))
            s++;
        if (*s == '\0')
            return 0;
        const char *keyword = s;
        while (is_alnum(*s) || *s == '_')
            s++;
        size_t keyword_len = (size_t)(s - keyword);
        while (is_space(*s))
            s++;
        if (keyword_len == 0 || *s != '=')
            return -1;
        if (keyword_len == 8 && starts_with_ci(keyword, "password"))
            return 1;
        s++;
        while (is_space(*s))
            s++;
        s = skip_conninfo_value(s);
        if (s == NULL)
            return -1;
    }
}

static char *check_conninfo(const char *text)
{
    int has_password;
    if (starts_with_ci(text, "postgresql://") || starts_with_ci(text, "postgres://"))
        has_password = conninfo_uri_has_password(text);
    else
        has_password = conninfo_keywords_have_password(text);
    if (has_password < 0)
        return hg_xstrdup("conninfo is not a list of keyword=value pairs nor a postgresql:// URI; write e.g. "
                          "host=/run/postgresql dbname=helpgate user=helpgate");
    if (has_password > 0)
        return hg_xstrdup(
            "conninfo carries a password (value not shown); remove it and put the password in a "
            "file named by password_file, e.g. password_file = /etc/helpgate/db.pass");
    return NULL;
}

static char *check_smtp_url(const char *text)
{
    const char *rest;
    if (starts_with_ci(text, "smtps://"))
        rest = text + 8;
    else if (starts_with_ci(text, "smtp://"))
        rest = text + 7;
    else
        return hg_xstrdup(
            "url must start with smtps:// (implicit TLS) or smtp:// (STARTTLS) (value not shown); "
            "write e.g. smtps://mail.example.com:465");
    size_t authority_len = strcspn(rest, "/?#");
    if (memchr(rest, '@', authority_len) != NULL)
        return hg_xstrdup("url carries credentials (value not shown); write the user name in user = ... and "
                          "the password in a file named by password_file = ...");
    if (authority_len == 0 || rest[0] == ':')
        return hg_xstrdup("url has no host name; write e.g. smtps://mail.example.com:465");
    return NULL;
}

static bool is_domain(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

/* The addr-spec of "addr" or "Display Name <addr>"; length in *LEN_R, NULL when malformed. */
static const char *mail_address_of(const char *text, size_t *len_r)
{
    const char *open = strchr(text, '<');
    if (open == NULL) {
        *len_r = strlen(text);
        return text;
    }
    const char *close = strchr(open, '>');
    if (close == NULL || close[1] != '\0')
        return NULL;
    *len_r = (size_t)(close - open - 1);
    return open + 1;
}

static char *check_mail_from(const char *text)
{
    char shown[MAX_ECHO + 4];
    size_t len = 0;
    const char *addr = mail_address_of(text, &len);
    const char *at = addr != NULL ? memchr(addr, '@', len) : NULL;
    bool ok = at != NULL && at > addr && memchr(at + 1, '@', len - (size_t)(at - addr) - 1) == NULL &&
              is_domain(at + 1, len - (size_t)(at - addr) - 1);
    for (size_t i = 0; ok && i < len; i++)
        ok = !is_space(addr[i]) && addr[i] != '<' && addr[i] != '>';
    if (ok)
        return NULL;
    return hg_xasprintf("invalid address \"%s\"; write e.g. support@example.com or "
                        "Support <support@example.com>",
                        echo(text, shown, sizeof shown));
}

static char *check_domain(const char *text)
{
    char shown[MAX_ECHO + 4];
    if (is_domain(text, strlen(text)))
        return NULL;
    return hg_xasprintf("invalid domain \"%s\"; write a domain name such as example.com",
                        echo(text, shown, sizeof shown));
}

static bool is_port(const char *s)
{
    long port = 0;
    if (*s == '\0' || strlen(s) > 5)
        return false;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s))
            return false;
        port = port * 10 + (*s - '0');
    }
    return port >= 1 && port <= 65535;
}

/* HOST:PORT or [IPV6]:PORT; with REQUIRE_PORT false a bare host is fine too. */
static bool is_host_and_port(const char *s, bool require_port)
{
    const char *port = NULL;
    size_t host_len;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close == s + 1 || !(close[1] == '\0' || close[1] == ':'))
            return false;
        for (const char *c = s + 1; c < close; c++)
            if (!is_alnum(*c) && *c != ':' && *c != '.' && *c != '%')
                return false;
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strrchr(s, ':');
        host_len = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (!is_domain(s, host_len))
            return false;
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (port == NULL)
        return !require_port;
    return is_port(port);
}

static char *check_listen(const char *text)
{
    char shown[MAX_ECHO + 4];
    if (is_host_and_port(text, true))
        return NULL;
    return hg_xasprintf("invalid listen address \"%s\"; write ADDRESS:PORT, e.g. 127.0.0.1:8080, "
                        "0.0.0.0:8080 or [::1]:8080",
                        echo(text, shown, sizeof shown));
}

static char *check_origin(const char *text)
{
    char shown[MAX_ECHO + 4];
    const char *rest = NULL;
    if (starts_with_ci(text, "https://"))
        rest = text + 8;
    else if (starts_with_ci(text, "http://"))
        rest = text + 7;
    if (rest != NULL && is_host_and_port(rest, false))
        return NULL;
    if (strcmp(text, "*") == 0)
        return hg_xstrdup("\"*\" would let any web site open the chat; list each site instead, e.g. "
                          "https://www.example.com");
    return hg_xasprintf("invalid origin \"%s\"; write scheme://host[:port] with no path, e.g. "
                        "https://www.example.com or http://localhost:8000",
                        echo(text, shown, sizeof shown));
}

/* ADDRESS or ADDRESS/BITS, IPv4 or IPv6: who may read /metrics. */
static char *check_network(const char *text)
{
    char shown[MAX_ECHO + 4], addr[64];
    const char *slash = strchr(text, '/');
    size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
    bool v6 = memchr(text, ':', len) != NULL;
    unsigned char bytes[16];
    bool ok = len < sizeof addr;
    if (ok) {
        memcpy(addr, text, len);
        addr[len] = '\0';
        ok = inet_pton(v6 ? AF_INET6 : AF_INET, addr, bytes) == 1;
    }
    if (ok && slash != NULL) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        ok = end != slash + 1 && *end == '\0' && bits >= 0 && bits <= (v6 ? 128 : 32);
    }
    if (ok)
        return NULL;
    return hg_xasprintf("invalid address \"%s\"; write an IP address or a network, e.g. 127.0.0.1, ::1 or "
                        "10.0.0.0/8",
                        echo(text, shown, sizeof shown));
}

static char *check_imap_host(const char *text)
{
    char shown[MAX_ECHO + 4];
    size_t colons = 0;
    for (const char *c = text; *c != '\0'; c++)
        colons += *c == ':';
    if (strstr(text, "://") != NULL)
        return hg_xasprintf("host \"%s\" is a URL; write only the host name, e.g. host = imap.example.com, "
                            "and choose TLS with tls = imaps",
                            echo(text, shown, sizeof shown));
    if (colons == 1)
        return hg_xasprintf("host \"%s\" carries a port; write the port on its own line, e.g. port = 993",
                            echo(text, shown, sizeof shown));
    if (colons >= 2 && only_chars(text, ":.%[]"))
        return NULL; /* IPv6 address */
    if (is_domain(text, strlen(text)))
        return NULL;
    return hg_xasprintf("invalid host \"%s\"; write a host name or address, e.g. imap.example.com",
                        echo(text, shown, sizeof shown));
}

/* ------------------------------------------------------------------------ */
/* The table.                                                              */

enum value_type { T_STRING, T_PATH, T_INT, T_SIZE, T_DURATION, T_BOOL, T_ENUM, T_LIST, T_NUMBER };
static const char *const type_names[] = {"string", "path", "int",  "size",  "duration",
                                         "bool",   "enum", "list", "number"};

enum section_id { SEC_NONE = -1, SEC_HELPGATE, SEC_DATABASE, SEC_SMTP, SEC_CHAT, SEC_RETENTION, SEC_MAILBOX };
enum { SEC_COUNT = SEC_MAILBOX + 1 };
static const char *const section_names[SEC_COUNT] = {"helpgate", "database",  "smtp",
                                                     "chat",     "retention", "mailbox"};

enum setting_flags {
    RELOADABLE = 1, /* SIGHUP applies a change */
    REQUIRED = 2,   /* must be set when its section is present */
    SECRET = 4,     /* the value may be or lead to a secret: never quoted in errors */
};

struct choice {
    const char *name;
    int value;
};

struct setting {
    enum section_id section;
    const char *key;
    enum value_type type;
    size_t offset;                /* in struct hg_config, or struct hg_mailbox_config for SEC_MAILBOX */
    const char *default_text;     /* parsed like a value in the file; NULL: unset */
    const char *default_doc;      /* for computed defaults; NULL: default_text */
    double min, max;              /* numbers: bounds; lists: max is the most items */
    const struct choice *choices; /* T_ENUM, ended by a NULL name */
    value_check_fn *check;        /* extra check of strings and list items */
    unsigned flags;
    const char *example; /* a value to suggest in errors */
    const char *doc;
};

/*
 * offsetof() that refuses to compile unless MEMBER has C type CTYPE, so a row
 * can never make the parser store an int into a long or a char ** into an int.
 */
#define CHECKED_OFFSET(st, member, ctype)                                                                    \
    (offsetof(st, member) + 0 * sizeof(char[_Generic(((st *)0)->member, ctype : 1, default : -1)]))
#define AS(value_type, ctype, st, member) .type = value_type, .offset = CHECKED_OFFSET(st, member, ctype)
#define AS_STRING(st, m) AS(T_STRING, char *, st, m)
#define AS_PATH(st, m) AS(T_PATH, char *, st, m)
#define AS_INT(st, m) AS(T_INT, int, st, m)
#define AS_DURATION(st, m) AS(T_DURATION, int, st, m)
#define AS_SIZE(st, m) AS(T_SIZE, long, st, m)
#define AS_BOOL(st, m) AS(T_BOOL, bool, st, m)
#define AS_NUMBER(st, m) AS(T_NUMBER, double, st, m)
#define AS_LIST(st, m) AS(T_LIST, char **, st, m)
#define AS_ENUM(st, m, enum_type, list) AS(T_ENUM, enum_type, st, m), .choices = list
#define CFG struct hg_config
#define MBOX struct hg_mailbox_config

/* Enums are stored through an int. */
_Static_assert(sizeof(enum hg_tls_mode) == sizeof(int), "enum hg_tls_mode is stored as an int");
_Static_assert(sizeof(enum hg_after_ingest) == sizeof(int), "enum hg_after_ingest is stored as an int");

static const struct choice tls_choices[] = {
    {"imaps", HG_TLS_IMPLICIT}, {"starttls", HG_TLS_STARTTLS}, {"none", HG_TLS_NONE}, {NULL, 0}};
static const struct choice after_ingest_choices[] = {
    {"flag", HG_AFTER_FLAG}, {"move", HG_AFTER_MOVE}, {NULL, 0}};

#define DAYS_MAX 36500 /* a century */

static const struct setting settings[] = {
    /* [helpgate] */
    {SEC_HELPGATE, "instance", AS_STRING(CFG, instance), .default_doc = "the host name",
     .check = check_instance, .example = "gw1",
     .doc = "Name of this helpgated in logs and mailbox leases; unique among instances"},
    {SEC_HELPGATE, "rules_file", AS_PATH(CFG, rules_file), .default_text = HG_SYSCONFDIR "/rules.conf",
     .flags = RELOADABLE, .example = HG_SYSCONFDIR "/rules.conf",
     .doc = "Routing rules that send each ticket to tier L1, L2 or L3"},
    {SEC_HELPGATE, "templates_dir", AS_PATH(CFG, templates_dir), .default_text = HG_SYSCONFDIR "/templates",
     .flags = RELOADABLE, .example = HG_SYSCONFDIR "/templates",
     .doc = "Directory of the acknowledgement and notification templates"},
    {SEC_HELPGATE, "hmac_secret_file", AS_PATH(CFG, hmac_secret_file), .flags = SECRET,
     .example = HG_SYSCONFDIR "/hmac.key",
     .doc = "File holding the key that signs agents' Reply-To addresses; required when [smtp] is set"},
    {SEC_HELPGATE, "ticket_tag_prefix", AS_STRING(CFG, ticket_tag_prefix), .default_text = "#",
     .check = check_tag_prefix, .flags = RELOADABLE, .example = "\"#\"",
     .doc = "Text before the ticket number in subject tags, as in [#1234]"},

    /* [database] */
    {SEC_DATABASE, "conninfo", AS_STRING(CFG, db_conninfo), .check = check_conninfo,
     .flags = REQUIRED | SECRET, .example = "host=/run/postgresql dbname=helpgate user=helpgate",
     .doc = "libpq connection string (keyword=value list or postgresql:// URI) without a password"},
    {SEC_DATABASE, "password_file", AS_PATH(CFG, db_password_file), .flags = SECRET,
     .example = HG_SYSCONFDIR "/db.pass",
     .doc = "File holding the database password, if the server asks for one"},
    {SEC_DATABASE, "connect_timeout", AS_DURATION(CFG, db_connect_timeout), .default_text = "10s", .min = 1,
     .max = 300, .example = "10s", .doc = "Give up a connection attempt to PostgreSQL after this long"},

    /* [smtp] */
    {SEC_SMTP, "url", AS_STRING(CFG, smtp_url), .check = check_smtp_url,
     .flags = RELOADABLE | REQUIRED | SECRET, .example = "smtps://mail.example.com:465",
     .doc = "Submission server: smtps://HOST[:PORT] for implicit TLS, smtp://HOST[:PORT] for STARTTLS"},
    {SEC_SMTP, "user", AS_STRING(CFG, smtp_user), .flags = RELOADABLE, .example = "helpgate",
     .doc = "Login for SMTP AUTH; needs password_file"},
    {SEC_SMTP, "password_file", AS_PATH(CFG, smtp_password_file), .flags = RELOADABLE | SECRET,
     .example = HG_SYSCONFDIR "/smtp.pass",
     .doc = "File holding the SMTP password; needs user; read again on SIGHUP"},
    {SEC_SMTP, "tls_verify", AS_BOOL(CFG, smtp_tls_verify), .default_text = "yes", .flags = RELOADABLE,
     .example = "yes", .doc = "Verify the server's certificate and host name"},
    {SEC_SMTP, "ca_file", AS_PATH(CFG, smtp_ca_file), .flags = RELOADABLE,
     .example = HG_SYSCONFDIR "/smtp-ca.pem",
     .doc = "Certificate authorities (PEM) to verify the server with, instead of the system's"},
    {SEC_SMTP, "from", AS_STRING(CFG, smtp_from), .check = check_mail_from, .flags = RELOADABLE | REQUIRED,
     .example = "Support <support@example.com>",
     .doc = "Sender of acknowledgements and notifications: an address, optionally as Name <address>"},
    {SEC_SMTP, "support_domain", AS_STRING(CFG, support_domain), .default_doc = "the domain of from",
     .check = check_domain, .flags = RELOADABLE, .example = "example.com",
     .doc = "Domain of the signed Reply-To addresses given to agents"},
    {SEC_SMTP, "allow_plaintext", AS_BOOL(CFG, smtp_allow_plaintext), .default_text = "no",
     .flags = RELOADABLE, .example = "no",
     .doc = "Allow smtp:// without STARTTLS to a server that is not on loopback"},
    {SEC_SMTP, "retry_initial", AS_DURATION(CFG, smtp_retry_initial), .default_text = "30s", .min = 1,
     .max = 3600, .flags = RELOADABLE, .example = "30s",
     .doc = "First wait before a failed delivery (4xx, connection) is tried again; doubles each time"},
    {SEC_SMTP, "retry_max", AS_DURATION(CFG, smtp_retry_max), .default_text = "1h", .min = 1, .max = 86400,
     .flags = RELOADABLE, .example = "1h", .doc = "Longest wait between two delivery attempts"},
    {SEC_SMTP, "give_up_after", AS_DURATION(CFG, smtp_give_up_after), .default_text = "5d", .min = 60,
     .max = 30 * 86400, .flags = RELOADABLE, .example = "5d",
     .doc = "A mail not delivered this long after it was queued is marked failed on its ticket"},
    {SEC_SMTP, "notify_l1", AS_LIST(CFG, smtp_notify[0]), .default_text = "", .max = 100,
     .check = check_mail_from, .flags = RELOADABLE, .example = "l1-team@example.com",
     .doc = "Where L1 notifications go; empty: to every active agent of team L1"},
    {SEC_SMTP, "notify_l2", AS_LIST(CFG, smtp_notify[1]), .default_text = "", .max = 100,
     .check = check_mail_from, .flags = RELOADABLE, .example = "l2-team@example.com",
     .doc = "Where L2 notifications go; empty: to every active agent of team L2"},
    {SEC_SMTP, "notify_l3", AS_LIST(CFG, smtp_notify[2]), .default_text = "", .max = 100,
     .check = check_mail_from, .flags = RELOADABLE, .example = "l3-team@example.com",
     .doc = "Where L3 notifications go; empty: to every active agent of team L3"},
    {SEC_SMTP, "noreply_pattern", AS_STRING(CFG, noreply_pattern),
     .default_text = "^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+-].*)?@",
     .flags = RELOADABLE, .example = "\"^(no-?reply|mailer-daemon)@\"",
     .doc = "Senders matching this regular expression (PCRE2, caseless) never get automatic mail"},
    {SEC_SMTP, "response_time_l1", AS_STRING(CFG, response_time[0]), .flags = RELOADABLE,
     .example = "\"one business day\"",
     .doc = "The first response an L1 acknowledgement promises ({{response_time}}); empty: none is promised"},
    {SEC_SMTP, "response_time_l2", AS_STRING(CFG, response_time[1]), .flags = RELOADABLE,
     .example = "\"4 hours\"", .doc = "The first response an L2 acknowledgement promises"},
    {SEC_SMTP, "response_time_l3", AS_STRING(CFG, response_time[2]), .flags = RELOADABLE,
     .example = "\"1 hour\"", .doc = "The first response an L3 acknowledgement promises"},
    {SEC_SMTP, "ack_throttle", AS_INT(CFG, ack_throttle), .default_text = "3", .min = 1, .max = 1000,
     .flags = RELOADABLE, .example = "3", .doc = "Most automatic mails to one sender per hour"},
    {SEC_SMTP, "ticket_auto_cap", AS_INT(CFG, ticket_auto_cap), .default_text = "5", .min = 1, .max = 1000,
     .flags = RELOADABLE, .example = "5", .doc = "Most automatic mails about one ticket, ever"},

    /* [chat] */
    {SEC_CHAT, "enabled", AS_BOOL(CFG, chat_enabled), .default_text = "no", .example = "yes",
     .doc = "Run the websocket listener for the chat widget"},
    {SEC_CHAT, "listen", AS_STRING(CFG, chat_listen), .default_text = "127.0.0.1:8080", .check = check_listen,
     .example = "127.0.0.1:8080", .doc = "Address and port of the listener: ADDRESS:PORT or [IPV6]:PORT"},
    {SEC_CHAT, "tls_cert", AS_PATH(CFG, chat_tls_cert), .example = HG_SYSCONFDIR "/chat.crt",
     .doc = "Certificate chain (PEM) for wss://; unset: plain ws:// behind a TLS reverse proxy"},
    {SEC_CHAT, "tls_key", AS_PATH(CFG, chat_tls_key), .flags = SECRET, .example = HG_SYSCONFDIR "/chat.key",
     .doc = "Private key (PEM) of tls_cert"},
    {SEC_CHAT, "allowed_origins", AS_LIST(CFG, chat_allowed_origins), .default_text = "",
     .default_doc = "empty", .max = 100, .check = check_origin, .flags = RELOADABLE,
     .example = "https://www.example.com",
     .doc = "Web origins (scheme://host[:port]) whose pages may open the chat; empty: none"},
    {SEC_CHAT, "max_frame", AS_SIZE(CFG, chat_max_frame), .default_text = "16k", .min = 1024, .max = 1 << 20,
     .flags = RELOADABLE, .example = "16k", .doc = "Largest websocket frame a client may send"},
    {SEC_CHAT, "max_message", AS_SIZE(CFG, chat_max_message), .default_text = "8k", .min = 256,
     .max = 1 << 20, .flags = RELOADABLE, .example = "8k",
     .doc = "Largest chat message text; at most max_frame"},
    {SEC_CHAT, "max_connections", AS_INT(CFG, chat_max_connections), .default_text = "10000", .min = 1,
     .max = 1000000, .flags = RELOADABLE, .example = "10000", .doc = "Most chat connections at once"},
    {SEC_CHAT, "idle_timeout", AS_DURATION(CFG, chat_idle_timeout), .default_text = "10m", .min = 10,
     .max = 86400, .flags = RELOADABLE, .example = "10m", .doc = "Close a connection silent for this long"},
    {SEC_CHAT, "ping_interval", AS_DURATION(CFG, chat_ping_interval), .default_text = "30s", .min = 5,
     .max = 3600, .flags = RELOADABLE, .example = "30s",
     .doc = "Ping a quiet connection this often; one that answers no ping for twice as long is closed"},
    {SEC_CHAT, "rate", AS_NUMBER(CFG, chat_rate), .default_text = "2", .min = 0.01, .max = 1000,
     .flags = RELOADABLE, .example = "2", .doc = "Messages per second a connection may send on average"},
    {SEC_CHAT, "burst", AS_INT(CFG, chat_burst), .default_text = "10", .min = 1, .max = 10000,
     .flags = RELOADABLE, .example = "10", .doc = "Messages a connection may send at once above rate"},
    {SEC_CHAT, "per_ip_connections", AS_INT(CFG, chat_per_ip_connections), .default_text = "20", .min = 1,
     .max = 1000000, .flags = RELOADABLE, .example = "20",
     .doc = "Most connections from one IP address; at most max_connections"},
    {SEC_CHAT, "ip_rate", AS_NUMBER(CFG, chat_ip_rate), .default_text = "10", .min = 0.01, .max = 100000,
     .flags = RELOADABLE, .example = "10",
     .doc = "Messages per second all connections from one IP address may send on average"},
    {SEC_CHAT, "ip_burst", AS_INT(CFG, chat_ip_burst), .default_text = "50", .min = 1, .max = 1000000,
     .flags = RELOADABLE, .example = "50", .doc = "Messages one IP address may send at once above ip_rate"},
    {SEC_CHAT, "metrics_allow", AS_LIST(CFG, chat_metrics_allow), .default_text = "127.0.0.1 ::1", .max = 100,
     .check = check_network, .flags = RELOADABLE, .example = "127.0.0.1 10.0.0.0/8",
     .doc = "Addresses and networks that may read /metrics on the listener's port; others get 403"},
    {SEC_CHAT, "widget_dir", AS_PATH(CFG, chat_widget_dir), .default_text = HG_PKGDATADIR "/widget",
     .flags = RELOADABLE, .example = HG_PKGDATADIR "/widget",
     .doc = "Directory of the widget's files, served over HTTP on the listener's port (index.html at /)"},

    /* [retention] */
    {SEC_RETENTION, "raw_days", AS_INT(CFG, retention_raw_days), .default_text = "90", .max = DAYS_MAX,
     .flags = RELOADABLE, .example = "90", .doc = "Days to keep raw messages; 0 keeps them forever"},
    {SEC_RETENTION, "attachment_days", AS_INT(CFG, retention_attachment_days), .default_text = "365",
     .max = DAYS_MAX, .flags = RELOADABLE, .example = "365",
     .doc = "Days to keep attachments; 0 keeps them forever"},
    {SEC_RETENTION, "closed_ticket_days", AS_INT(CFG, retention_closed_ticket_days), .default_text = "730",
     .max = DAYS_MAX, .flags = RELOADABLE, .example = "730",
     .doc = "Days after closing before a ticket is archived; 0 keeps it forever"},
    {SEC_RETENTION, "archive_dir", AS_PATH(CFG, archive_dir), .default_text = "/var/lib/helpgate/archive",
     .flags = RELOADABLE, .example = "/var/lib/helpgate/archive",
     .doc = "Directory that receives the retention archives"},

    /* [mailbox NAME] */
    {SEC_MAILBOX, "host", AS_STRING(MBOX, host), .check = check_imap_host, .flags = RELOADABLE | REQUIRED,
     .example = "imap.example.com", .doc = "IMAP server host name or address"},
    {SEC_MAILBOX, "port", AS_INT(MBOX, port), .default_doc = "993 with tls = imaps, else 143", .min = 1,
     .max = 65535, .flags = RELOADABLE, .example = "993", .doc = "IMAP server port"},
    {SEC_MAILBOX, "tls", AS_ENUM(MBOX, tls, enum hg_tls_mode, tls_choices), .default_text = "imaps",
     .flags = RELOADABLE, .example = "imaps",
     .doc = "imaps (TLS from the start), starttls, or none (loopback or allow_plaintext only)"},
    {SEC_MAILBOX, "tls_verify", AS_BOOL(MBOX, tls_verify), .default_text = "yes", .flags = RELOADABLE,
     .example = "yes", .doc = "Verify the server's certificate and host name"},
    {SEC_MAILBOX, "allow_plaintext", AS_BOOL(MBOX, allow_plaintext), .default_text = "no",
     .flags = RELOADABLE, .example = "yes", .doc = "Allow tls = none to a host that is not loopback"},
    {SEC_MAILBOX, "user", AS_STRING(MBOX, user), .flags = RELOADABLE | REQUIRED,
     .example = "support@example.com", .doc = "IMAP login"},
    {SEC_MAILBOX, "password_file", AS_PATH(MBOX, password_file), .flags = RELOADABLE | SECRET,
     .example = HG_SYSCONFDIR "/imap-support.pass",
     .doc = "File holding the IMAP password; exactly one of password_file and xoauth2_token_file"},
    {SEC_MAILBOX, "xoauth2_token_file", AS_PATH(MBOX, xoauth2_token_file), .flags = RELOADABLE | SECRET,
     .example = "/run/helpgate/support.token",
     .doc = "File holding an OAuth2 access token for XOAUTH2 (Gmail, Microsoft 365)"},
    {SEC_MAILBOX, "folder", AS_STRING(MBOX, folder), .default_text = "INBOX", .flags = RELOADABLE,
     .example = "INBOX", .doc = "Folder to read new mail from"},
    {SEC_MAILBOX, "after_ingest", AS_ENUM(MBOX, after_ingest, enum hg_after_ingest, after_ingest_choices),
     .default_text = "flag", .flags = RELOADABLE, .example = "move",
     .doc = "flag: mark stored messages \\Seen; move: move them to move_to"},
    {SEC_MAILBOX, "move_to", AS_STRING(MBOX, move_to), .flags = RELOADABLE, .example = "Archive",
     .doc = "Folder for stored messages; required with after_ingest = move"},
    {SEC_MAILBOX, "poll_interval", AS_DURATION(MBOX, poll_interval), .default_text = "60s", .min = 5,
     .max = 86400, .flags = RELOADABLE, .example = "60s",
     .doc = "Time between checks for new mail (a safety net when idle is on)"},
    {SEC_MAILBOX, "idle", AS_BOOL(MBOX, idle), .default_text = "yes", .flags = RELOADABLE, .example = "yes",
     .doc = "Use IMAP IDLE to learn of new mail at once when the server offers it"},
    {SEC_MAILBOX, "max_message_size", AS_SIZE(MBOX, max_message_size), .default_text = "25M", .min = 1024,
     .max = 1 << 30, .flags = RELOADABLE, .example = "25M",
     .doc = "Largest message fetched whole; a larger one is stored truncated, with a warning on the ticket"},
    {SEC_MAILBOX, "batch_size", AS_INT(MBOX, batch_size), .default_text = "100", .min = 1, .max = 1000,
     .flags = RELOADABLE, .example = "100", .doc = "Messages fetched per UID FETCH"},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

/* ------------------------------------------------------------------------ */
/* Lookup and suggestions.                                                 */

static enum section_id section_by_name(const char *name)
{
    for (int i = 0; i < SEC_COUNT; i++)
        if (strcmp(section_names[i], name) == 0)
            return (enum section_id)i;
    return SEC_NONE;
}

/* "[smtp]", or "[mailbox NAME]" when speaking of mailboxes in general. */
static const char *any_section_label(enum section_id section, char *buf, size_t size)
{
    if (section == SEC_MAILBOX)
        snprintf(buf, size, "[mailbox NAME]");
    else
        snprintf(buf, size, "[%s]", section_names[section]);
    return buf;
}

static const struct setting *find_setting(enum section_id section, const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].section == section && strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

/* Nearest key of SECTION (any section but EXCEPT when SECTION is SEC_NONE), if close enough. */
static const struct setting *nearest_setting(enum section_id section, enum section_id except, const char *key)
{
    const struct setting *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (section != SEC_NONE ? s->section != section : s->section == except)
            continue;
        size_t d = hg_edit_distance(key, s->key, hg_suggestion_limit(key));
        if (d < best_distance) {
            best = s;
            best_distance = d;
        }
    }
    return best_distance <= hg_suggestion_limit(key) ? best : NULL;
}

/* Appends LEAD and the sections other than EXCEPT that have KEY, joined by " or "; false when none. */
static bool append_sections_having(struct hg_buf *out, enum section_id except, const char *key,
                                   const char *lead)
{
    char label[LABEL_SIZE];
    bool found = false;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].section == except || strcmp(settings[i].key, key) != 0)
            continue;
        hg_buf_printf(out, "%s%s", found ? " or " : lead,
                      any_section_label(settings[i].section, label, sizeof label));
        found = true;
    }
    return found;
}

/* "chat_max_frame" in [chat], "db_conninfo" in [database]: the key without the struct-style prefix. */
static const struct setting *find_without_prefix(enum section_id section, const char *key)
{
    const char *prefixes[] = {section_names[section], section == SEC_DATABASE ? "db" : NULL};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && prefixes[i] != NULL; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(key, prefixes[i], n) == 0 && key[n] == '_')
            return find_setting(section, key + n + 1);
    }
    return NULL;
}

/* "password" when "password_file" exists: secrets are named by files. */
static const struct setting *find_file_variant(enum section_id section, const char *key)
{
    char with_file[HG_SUGGEST_MAX_LEN + 8];
    if (strlen(key) > HG_SUGGEST_MAX_LEN)
        return NULL;
    snprintf(with_file, sizeof with_file, "%s_file", key);
    return find_setting(section, with_file);
}

const char *hg_config_suggest_key(const char *section, const char *key)
{
    if (section == NULL || key == NULL)
        return NULL;
    enum section_id id = starts_with_ci(section, "mailbox") && (section[7] == '\0' || is_space(section[7]))
                             ? SEC_MAILBOX
                             : section_by_name(section);
    if (id == SEC_NONE)
        return NULL;
    const struct setting *s = find_file_variant(id, key);
    if (s == NULL)
        s = find_without_prefix(id, key);
    if (s == NULL)
        s = nearest_setting(id, SEC_NONE, key);
    return s != NULL ? s->key : NULL;
}

/* ------------------------------------------------------------------------ */
/* Values: text to typed value, with bounds.                               */

struct value {
    long long number; /* int, size, duration, bool, enum */
    double real;      /* number */
    char *text;       /* string, path */
    char **list;      /* list */
};

static void format_with_units(long long n, const long long *units, const char *const *suffixes, size_t count,
                              char *buf, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        if (n != 0 && n % units[i] == 0) {
            snprintf(buf, size, "%lld%s", n / units[i], suffixes[i]);
            return;
        }
    }
    snprintf(buf, size, "%lld", n);
}

static void format_size(long long n, char *buf, size_t size)
{
    static const long long units[] = {1LL << 30, 1LL << 20, 1LL << 10};
    static const char *const suffixes[] = {"G", "M", "k"};
    format_with_units(n, units, suffixes, 3, buf, size);
}

static void format_duration(long long n, char *buf, size_t size)
{
    static const long long units[] = {86400, 3600, 60, 1};
    static const char *const suffixes[] = {"d", "h", "m", "s"};
    format_with_units(n, units, suffixes, 4, buf, size);
}

static void format_bound(const struct setting *s, double bound, char *buf, size_t size)
{
    if (s->type == T_SIZE)
        format_size((long long)bound, buf, size);
    else if (s->type == T_DURATION)
        format_duration((long long)bound, buf, size);
    else if (s->type == T_NUMBER)
        snprintf(buf, size, "%g", bound);
    else
        snprintf(buf, size, "%lld", (long long)bound);
}

static const char *type_noun(enum value_type type)
{
    if (type == T_SIZE)
        return "a size";
    if (type == T_DURATION)
        return "a duration";
    return "a number";
}

/* NULL when VALUE is within the bounds of S, else the message. */
static char *check_range(const struct setting *s, const char *text, double value, bool overflow)
{
    char shown[MAX_ECHO + 4], low[32], high[32];
    if (!overflow && value >= s->min && value <= s->max)
        return NULL;
    format_bound(s, s->min, low, sizeof low);
    format_bound(s, s->max, high, sizeof high);
    return hg_xasprintf("%s %s out of range; write %s from %s to %s", s->key, echo(text, shown, sizeof shown),
                        type_noun(s->type), low, high);
}

/* Reads decimal digits at *S; 0 ok, -1 none, -2 overflow. */
static int read_digits(const char **s, long long *out)
{
    long long n = 0;
    int result = is_digit(**s) ? 0 : -1;
    for (; is_digit(**s); (*s)++) {
        int digit = **s - '0';
        if (n > (LLONG_MAX - digit) / 10)
            result = -2;
        else
            n = n * 10 + digit;
    }
    *out = n;
    return result;
}

static char *convert_int(const struct setting *s, const char *text, struct value *out)
{
    char shown[MAX_ECHO + 4], low[32], high[32];
    const char *p = text;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    int status = read_digits(&p, &out->number);
    if (status == -1 || *p != '\0') {
        format_bound(s, s->min, low, sizeof low);
        format_bound(s, s->max, high, sizeof high);
        return hg_xasprintf("invalid number \"%s\"; write a whole number from %s to %s",
                            echo(text, shown, sizeof shown), low, high);
    }
    if (negative)
        out->number = -out->number;
    return check_range(s, text, (double)out->number, status == -2);
}

static char *convert_size(const struct setting *s, const char *text, struct value *out)
{
    static const struct {
        const char *suffix;
        long long factor;
    } units[] = {{"", 1},           {"b", 1},           {"k", 1LL << 10},
                 {"kb", 1LL << 10}, {"kib", 1LL << 10}, {"m", 1LL << 20},
                 {"mb", 1LL << 20}, {"mib", 1LL << 20}, {"g", 1LL << 30},
                 {"gb", 1LL << 30}, {"gib", 1LL << 30}};
    char shown[MAX_ECHO + 4];
    const char *p = text;
    long long n = 0;
    int status = read_digits(&p, &n);
    for (size_t i = 0; status != -1 && i < sizeof units / sizeof units[0]; i++) {
        if (!equals_ci(p, units[i].suffix))
            continue;
        bool overflow = status == -2 || n > LLONG_MAX / units[i].factor;
        out->number = overflow ? 0 : n * units[i].factor;
        return check_range(s, text, (double)out->number, overflow);
    }
    return hg_xasprintf("invalid size \"%s\"; write e.g. 16384, 16k, 25M or 1G",
                        echo(text, shown, sizeof shown));
}

static long long duration_unit(char c)
{
    switch (c) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    default:
        return 0;
    }
}

/* Plain seconds (90) or parts with units (30s, 5m, 1h30m, 2d); -1 invalid, -2 overflow. */
static int parse_duration(const char *text, long long *seconds)
{
    const char *p = text;
    bool overflow = false;
    *seconds = 0;
    if (*text != '\0' && strspn(text, "0123456789") == strlen(text))
        return read_digits(&p, seconds);
    if (*text == '\0')
        return -1;
    while (*p != '\0') {
        long long n;
        int status = read_digits(&p, &n);
        long long unit = duration_unit(*p);
        if (status == -1 || unit == 0)
            return -1;
        p++;
        if (status == -2 || n > (LLONG_MAX - *seconds) / unit)
            overflow = true;
        else
            *seconds += n * unit;
    }
    return overflow ? -2 : 0;
}

static char *convert_duration(const struct setting *s, const char *text, struct value *out)
{
    char shown[MAX_ECHO + 4];
    int status = parse_duration(text, &out->number);
    if (status == -1)
        return hg_xasprintf("invalid duration \"%s\"; write e.g. 300, 300s, 5m or 1h",
                            echo(text, shown, sizeof shown));
    return check_range(s, text, (double)out->number, status == -2);
}

static char *convert_number(const struct setting *s, const char *text, struct value *out)
{
    char shown[MAX_ECHO + 4];
    const char *p = text;
    double value = 0, scale = 1;
    bool any_digit = false;
    for (; is_digit(*p); p++, any_digit = true)
        value = value * 10 + (*p - '0');
    if (any_digit && *p == '.')
        for (p++; is_digit(*p); p++) {
            scale /= 10;
            value += (*p - '0') * scale;
        }
    if (!any_digit || *p != '\0')
        return hg_xasprintf("invalid number \"%s\"; write a decimal number such as 2 or 0.5",
                            echo(text, shown, sizeof shown));
    out->real = value;
    return check_range(s, text, value, false);
}

static char *convert_bool(const char *text, struct value *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
    char shown[MAX_ECHO + 4];
    for (size_t i = 0; i < 4; i++) {
        if (equals_ci(text, yes[i]) || equals_ci(text, no[i])) {
            out->number = equals_ci(text, yes[i]);
            return NULL;
        }
    }
    return hg_xasprintf("invalid boolean \"%s\"; write yes or no", echo(text, shown, sizeof shown));
}

static char *convert_enum(const struct setting *s, const char *text, struct value *out)
{
    char shown[MAX_ECHO + 4];
    struct hg_buf choices;
    const char *nearest = NULL;
    size_t nearest_distance = SIZE_MAX;
    hg_buf_init(&choices, 1024);
    for (const struct choice *c = s->choices; c->name != NULL; c++) {
        if (equals_ci(text, c->name)) {
            out->number = c->value;
            hg_buf_free(&choices);
            return NULL;
        }
        size_t d = hg_edit_distance(text, c->name, hg_suggestion_limit(text));
        if (d < nearest_distance) {
            nearest = c->name;
            nearest_distance = d;
        }
        hg_buf_printf(&choices, "%s%s", c == s->choices ? "" : ", ", c->name);
    }
    char *message;
    if (nearest_distance <= hg_suggestion_limit(text))
        message = hg_xasprintf("invalid choice \"%s\"; did you mean \"%s\"? (choices: %s)",
                               echo(text, shown, sizeof shown), nearest, hg_buf_str(&choices));
    else
        message = hg_xasprintf("invalid choice \"%s\"; write one of: %s", echo(text, shown, sizeof shown),
                               hg_buf_str(&choices));
    hg_buf_free(&choices);
    return message;
}

static char *convert_path(const struct setting *s, const char *text, struct value *out)
{
    char shown[MAX_ECHO + 4];
    if (text[0] != '/') {
        if (s->flags & SECRET)
            return hg_xasprintf("value is not an absolute path (not shown); write the full path of the file, "
                                "e.g. %s",
                                s->example);
        return hg_xasprintf("path \"%s\" is not absolute; write a full path such as %s",
                            echo(text, shown, sizeof shown), s->example);
    }
    out->text = hg_xstrdup(text);
    return NULL;
}

static void free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **item = list; *item != NULL; item++)
        free(*item);
    free(list);
}

/* Whitespace- or comma-separated items, each passed through the setting's check. */
static char *convert_list(const struct setting *s, const char *text, struct value *out)
{
    size_t count = 0;
    char **list = hg_xcalloc(1, sizeof *list);
    const char *p = text;
    for (;;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == 0)
            break;
        if (count >= (size_t)s->max) {
            free_list(list);
            return hg_xasprintf("%s has more than %d entries; list at most %d", s->key, (int)s->max,
                                (int)s->max);
        }
        list = hg_xrealloc(list, (count + 2) * sizeof *list);
        list[count++] = hg_xstrndup(p, n);
        list[count] = NULL;
        p += n;
        char *problem = s->check != NULL ? s->check(list[count - 1]) : NULL;
        if (problem != NULL) {
            free_list(list);
            return problem;
        }
    }
    out->list = list;
    return NULL;
}

static char *convert_string(const struct setting *s, const char *text, struct value *out)
{
    char *problem = s->check != NULL ? s->check(text) : NULL;
    if (problem == NULL)
        out->text = hg_xstrdup(text);
    return problem;
}

/* Converts TEXT for S into OUT; NULL on success, else the message (value shown only if not secret). */
static char *convert_value(const struct setting *s, const char *text, struct value *out)
{
    memset(out, 0, sizeof *out);
    switch (s->type) {
    case T_STRING:
        return convert_string(s, text, out);
    case T_PATH:
        return convert_path(s, text, out);
    case T_INT:
        return convert_int(s, text, out);
    case T_SIZE:
        return convert_size(s, text, out);
    case T_DURATION:
        return convert_duration(s, text, out);
    case T_NUMBER:
        return convert_number(s, text, out);
    case T_BOOL:
        return convert_bool(text, out);
    case T_ENUM:
        return convert_enum(s, text, out);
    case T_LIST:
        return convert_list(s, text, out);
    }
    return hg_xstrdup("internal error: unknown value type");
}

/* ------------------------------------------------------------------------ */
/* Storing values in the structs, and freeing them, by table.              */

static void *field_of(void *base, const struct setting *s)
{
    return (char *)base + s->offset;
}

static void store_value(void *base, const struct setting *s, struct value *v)
{
    void *field = field_of(base, s);
    switch (s->type) {
    case T_STRING:
    case T_PATH:
        free(*(char **)field);
        *(char **)field = v->text;
        break;
    case T_LIST:
        free_list(*(char ***)field);
        *(char ***)field = v->list;
        break;
    case T_INT:
    case T_DURATION:
        *(int *)field = (int)v->number;
        break;
    case T_SIZE:
        *(long *)field = (long)v->number;
        break;
    case T_BOOL:
        *(bool *)field = v->number != 0;
        break;
    case T_NUMBER:
        *(double *)field = v->real;
        break;
    case T_ENUM: {
        int e = (int)v->number;
        memcpy(field, &e, sizeof e);
        break;
    }
    }
    memset(v, 0, sizeof *v);
}

static void free_fields(void *base, bool mailbox)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if ((s->section == SEC_MAILBOX) != mailbox)
            continue;
        if (s->type == T_STRING || s->type == T_PATH) {
            char **field = field_of(base, s);
            free(*field);
            *field = NULL;
        } else if (s->type == T_LIST) {
            char ***field = field_of(base, s);
            free_list(*field);
            *field = NULL;
        }
    }
}

void hg_config_free(struct hg_config **cfg)
{
    if (cfg == NULL || *cfg == NULL)
        return;
    struct hg_config *c = *cfg;
    for (size_t i = 0; i < c->n_mailboxes; i++) {
        free_fields(&c->mailboxes[i], true);
        free(c->mailboxes[i].name);
    }
    free(c->mailboxes);
    free_fields(c, false);
    free(c);
    *cfg = NULL;
}

/* ------------------------------------------------------------------------ */
/* The parser.                                                             */

struct parser {
    struct hg_config *cfg;
    struct hg_config_errors *errors;
    size_t first_error; /* errors->count when parsing began */
    bool stopped;       /* too many errors */
    int line;
    enum section_id section; /* SEC_NONE before the first header */
    bool skipping;           /* in a section that is not understood: keys are ignored */
    size_t mailbox;          /* index of the open mailbox when section is SEC_MAILBOX */
    size_t mailbox_capacity; /* allocated entries of cfg->mailboxes */
    bool mailbox_limit_reported;
    int section_line[SEC_COUNT]; /* first header line of each one-off section, 0: absent */
    int seen[N_SETTINGS];        /* line where each setting was set (mailbox ones: open mailbox) */
    bool invalid[N_SETTINGS];    /* set with a value that was rejected */
};

__attribute__((format(printf, 4, 5))) static void report(struct parser *p, int line, const char *key,
                                                         const char *fmt, ...)
{
    va_list ap;
    if (p->stopped)
        return;
    if (p->errors->count - p->first_error >= MAX_ERRORS) {
        hg_config_errors_add(
            p->errors, line, NULL,
            "too many errors; stopped reading here after %d: fix these and check the file again", MAX_ERRORS);
        p->stopped = true;
        return;
    }
    va_start(ap, fmt);
    errors_add_v(p->errors, line, key, fmt, ap);
    va_end(ap);
}

static size_t setting_index(const struct setting *s)
{
    return (size_t)(s - settings);
}

static struct hg_mailbox_config *open_mailbox_config(struct parser *p)
{
    return &p->cfg->mailboxes[p->mailbox];
}

/* "[mailbox support]" or "[smtp]" for the open section. */
static const char *open_section_label(const struct parser *p, char *buf, size_t size)
{
    if (p->section == SEC_MAILBOX)
        snprintf(buf, size, "[mailbox %s]", p->cfg->mailboxes[p->mailbox].name);
    else if (p->section != SEC_NONE)
        snprintf(buf, size, "[%s]", section_names[p->section]);
    else
        snprintf(buf, size, "(no section)");
    return buf;
}

/* Applies the table defaults of the one-off sections (MAILBOX false) or of a mailbox. */
static void apply_defaults(struct parser *p, void *base, bool mailbox)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        struct value v;
        if ((s->section == SEC_MAILBOX) != mailbox || s->default_text == NULL)
            continue;
        char *problem = convert_value(s, s->default_text, &v);
        if (problem != NULL) {
            report(p, 0, s->key, "internal error: the built-in default is invalid: %s", problem);
            free(problem);
            continue;
        }
        store_value(base, s, &v);
    }
}

/* Length of the valid UTF-8 sequence at S (N bytes left); 0 when it is not valid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
    unsigned int cp, need;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (need > n)
        return 0;
    for (unsigned int i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return need;
}

/* Reports NUL bytes, control characters and invalid UTF-8; false when the line has one. */
static bool line_is_text(struct parser *p, const char *line, size_t n)
{
    const unsigned char *s = (const unsigned char *)line;
    for (size_t i = 0; i < n;) {
        if (s[i] == '\0') {
            report(p, p->line, NULL, "NUL byte at column %zu; the file must be plain UTF-8 text", i + 1);
            return false;
        }
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F) {
            report(p, p->line, NULL,
                   "control character 0x%02X at column %zu; remove it (only tabs and spaces "
                   "may separate words)",
                   s[i], i + 1);
            return false;
        }
        size_t len = utf8_sequence_length(s + i, n - i);
        if (len == 0) {
            report(p, p->line, NULL, "invalid UTF-8 (byte 0x%02X) at column %zu; save the file as UTF-8",
                   s[i], i + 1);
            return false;
        }
        i += len;
    }
    return true;
}

static void finish_mailbox(struct parser *p);

static void close_section(struct parser *p)
{
    if (p->section == SEC_MAILBOX && !p->skipping)
        finish_mailbox(p);
    p->section = SEC_NONE;
    p->skipping = true;
}

static void report_unknown_section(struct parser *p, const char *word, const char *name)
{
    char shown[MAX_ECHO + 4], shown_name[MAX_ECHO + 4];
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (int i = 0; i < SEC_COUNT; i++) {
        size_t d = hg_edit_distance(word, section_names[i], hg_suggestion_limit(word));
        if (d < best_distance) {
            best = section_names[i];
            best_distance = d;
        }
    }
    echo(word, shown, sizeof shown);
    echo(name, shown_name, sizeof shown_name);
    const char *space = *name != '\0' ? " " : "";
    if (best_distance > hg_suggestion_limit(word))
        report(p, p->line, NULL,
               "unknown section [%s%s%s]; write one of [helpgate], [database], [smtp], [chat], [retention] "
               "or [mailbox NAME]",
               shown, space, shown_name);
    else if (strcmp(best, "mailbox") == 0)
        report(p, p->line, NULL, "unknown section [%s%s%s]; did you mean [mailbox %s]?", shown, space,
               shown_name, *name != '\0' ? shown_name : "NAME");
    else
        report(p, p->line, NULL, "unknown section [%s%s%s]; did you mean [%s]?", shown, space, shown_name,
               best);
}

static void open_one_off_section(struct parser *p, enum section_id section, const char *name)
{
    char shown[MAX_ECHO + 4];
    if (*name != '\0')
        report(p, p->line, NULL, "section [%s] takes no name (\"%s\"); write [%s]", section_names[section],
               echo(name, shown, sizeof shown), section_names[section]);
    if (p->section_line[section] != 0)
        report(p, p->line, NULL, "section [%s] appears again (first on line %d); merge the two into one",
               section_names[section], p->section_line[section]);
    else
        p->section_line[section] = p->line;
    p->section = section;
    p->skipping = false;
}

static bool mailbox_name_is_valid(const char *name)
{
    return strlen(name) <= MAX_NAME && only_chars(name, "-_.");
}

static const struct hg_mailbox_config *find_mailbox(const struct hg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_mailboxes; i++)
        if (equals_ci(cfg->mailboxes[i].name, name))
            return &cfg->mailboxes[i];
    return NULL;
}

/* Reports why [mailbox NAME] cannot be opened; true when it can. */
static bool mailbox_can_open(struct parser *p, const char *name)
{
    char shown[MAX_ECHO + 4];
    const struct hg_mailbox_config *other;
    if (*name == '\0') {
        report(p, p->line, NULL, "[mailbox] needs a name; write e.g. [mailbox support]");
        return false;
    }
    if (!mailbox_name_is_valid(name)) {
        report(p, p->line, NULL,
               "invalid mailbox name \"%s\"; use up to %d letters, digits, \"-\", \"_\" and \".\", "
               "e.g. [mailbox support-eu]",
               echo(name, shown, sizeof shown), MAX_NAME);
        return false;
    }
    if ((other = find_mailbox(p->cfg, name)) != NULL) {
        report(p, p->line, NULL,
               "[mailbox %s] appears again (first on line %d); give each mailbox its own name", name,
               other->line);
        return false;
    }
    if (p->cfg->n_mailboxes >= MAX_MAILBOXES) {
        if (!p->mailbox_limit_reported)
            report(p, p->line, NULL,
                   "more than %d [mailbox] sections; run several helpgated instances with "
                   "separate files instead",
                   MAX_MAILBOXES);
        p->mailbox_limit_reported = true;
        return false;
    }
    return true;
}

/* Appends a mailbox with its defaults and makes it the open section. */
static void open_mailbox_section(struct parser *p, const char *name)
{
    struct hg_config *cfg = p->cfg;
    if (!mailbox_can_open(p, name))
        return;
    if (cfg->n_mailboxes == p->mailbox_capacity) {
        p->mailbox_capacity = p->mailbox_capacity != 0 ? 2 * p->mailbox_capacity : 4;
        cfg->mailboxes = hg_xrealloc(cfg->mailboxes, p->mailbox_capacity * sizeof cfg->mailboxes[0]);
    }
    p->mailbox = cfg->n_mailboxes++;
    struct hg_mailbox_config *m = &cfg->mailboxes[p->mailbox];
    memset(m, 0, sizeof *m);
    m->name = hg_xstrdup(name);
    m->line = p->line;
    apply_defaults(p, m, true);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].section == SEC_MAILBOX) {
            p->seen[i] = 0;
            p->invalid[i] = false;
        }
    }
    p->section = SEC_MAILBOX;
    p->skipping = false;
}

/* "[name]" or "[mailbox NAME]", optionally followed by a comment. */
static void parse_section_header(struct parser *p, char *s)
{
    close_section(p);
    char *end = strchr(s, ']');
    if (end == NULL) {
        report(p, p->line, NULL,
               "section header has no closing \"]\"; write e.g. [helpgate] or [mailbox NAME]");
        return;
    }
    char *after = skip_space(end + 1);
    if (*after != '\0' && *after != '#' && *after != ';')
        report(p, p->line, NULL,
               "text after the section header; put a comment after \"#\" or on its own line");
    *end = '\0';
    char *word = skip_space(s + 1);
    char *name = word + strcspn(word, " \t");
    if (*name != '\0')
        *name++ = '\0';
    name = trim(name);
    if (*word == '\0') {
        report(p, p->line, NULL, "empty section header; write e.g. [helpgate] or [mailbox NAME]");
        return;
    }
    enum section_id section = section_by_name(word);
    if (section == SEC_NONE)
        report_unknown_section(p, word, name);
    else if (section == SEC_MAILBOX)
        open_mailbox_section(p, name);
    else
        open_one_off_section(p, section, name);
}

/* Where KEY would be misplaced or misspelt: the hint after "unknown key ... in [x]". */
static void describe_unknown_key(const struct parser *p, const char *key, struct hg_buf *out)
{
    char label[LABEL_SIZE];
    const struct setting *s;
    if ((s = find_file_variant(p->section, key)) != NULL) {
        hg_buf_printf(out,
                      "; did you mean \"%s\"? Secrets never go in this file: write it to a file and give "
                      "that file's path",
                      s->key);
    } else if (append_sections_having(out, p->section, key, "; it belongs in ")) {
        /* done */
    } else if ((s = find_without_prefix(p->section, key)) != NULL ||
               (s = nearest_setting(p->section, SEC_NONE, key)) != NULL) {
        hg_buf_printf(out, "; did you mean \"%s\"?", s->key);
    } else if ((s = nearest_setting(SEC_NONE, p->section, key)) != NULL) {
        hg_buf_printf(out, "; did you mean \"%s\" in %s?", s->key,
                      any_section_label(s->section, label, sizeof label));
    } else {
        hg_buf_printf(out, "; see helpgate.conf(5) for the keys of %s",
                      p->section == SEC_MAILBOX ? "[mailbox NAME]"
                                                : open_section_label(p, label, sizeof label));
    }
}

static void report_unknown_key(struct parser *p, const char *key)
{
    char shown[MAX_ECHO + 4], label[LABEL_SIZE];
    struct hg_buf message;
    hg_buf_init(&message, 1024);
    echo(key, shown, sizeof shown);
    hg_buf_printf(&message, "unknown key \"%s\" in %s", shown, open_section_label(p, label, sizeof label));
    describe_unknown_key(p, key, &message);
    report(p, p->line, shown, "%s", hg_buf_str(&message));
    hg_buf_free(&message);
}

static void report_key_outside_section(struct parser *p, const char *key)
{
    char shown[MAX_ECHO + 4];
    struct hg_buf message;
    hg_buf_init(&message, 1024);
    echo(key, shown, sizeof shown);
    hg_buf_printf(&message, "key \"%s\" is before any section header", shown);
    if (!append_sections_having(&message, SEC_NONE, key, "; put it under "))
        hg_buf_append_str(&message, "; start the file with a header such as [helpgate]");
    report(p, p->line, shown, "%s", hg_buf_str(&message));
    hg_buf_free(&message);
}

/* A line without "=": never quoted back, it may be a pasted secret. */
static void report_missing_equals(struct parser *p, const char *s)
{
    char word[HG_SUGGEST_MAX_LEN + 1];
    size_t n = strcspn(s, " \t:");
    if (n <= HG_SUGGEST_MAX_LEN && p->section != SEC_NONE && !p->skipping) {
        memcpy(word, s, n);
        word[n] = '\0';
        if (find_setting(p->section, word) != NULL) {
            report(p, p->line, word, "missing \"=\" after \"%s\"; write %s = VALUE", word, word);
            return;
        }
    }
    report(
        p, p->line, NULL,
        "line is not \"key = value\", a [section] header or a comment (line not shown); fix it, or start it "
        "with \"#\" to make it a comment");
}

static char *read_quoted_value(struct parser *p, const struct setting *s, char *quote)
{
    char *out = quote, *in = quote + 1;
    for (; *in != '"'; in++) {
        if (*in == '\0') {
            report(p, p->line, s->key,
                   "quoted value has no closing quote; end it with \" (write \\\" for a quote "
                   "inside)");
            return NULL;
        }
        if (*in == '\\') {
            if (in[1] != '"' && in[1] != '\\') {
                report(p, p->line, s->key,
                       "unknown escape in quoted value; only \\\" and \\\\ may follow a "
                       "backslash (write \\\\ for a backslash)");
                return NULL;
            }
            in++;
        }
        *out++ = *in;
    }
    char *after = skip_space(in + 1);
    if (*after != '\0' && *after != '#') {
        report(p, p->line, s->key, "text after the closing quote; only a \"#\" comment may follow it");
        return NULL;
    }
    *out = '\0';
    return quote;
}

/*
 * The value after "=": a "quoted string", or bare text that ends where a "#"
 * starts a comment (at the start or after a space) and loses trailing spaces.
 * NULL after reporting a syntax error.
 */
static char *read_value(struct parser *p, const struct setting *s, char *raw, bool *comment_cut_r)
{
    char *value = skip_space(raw);
    *comment_cut_r = false;
    if (*value == '"')
        return read_quoted_value(p, s, value);
    for (char *c = value; *c != '\0'; c++) {
        if (*c == '#' && (c == value || is_space(c[-1]))) {
            *c = '\0';
            *comment_cut_r = true;
            break;
        }
    }
    trim_right(value);
    return value;
}

static void report_empty_value(struct parser *p, const struct setting *s, bool comment_cut)
{
    if (comment_cut)
        report(p, p->line, s->key,
               "empty value: \"#\" starts a comment; put a value holding \"#\" in double "
               "quotes, e.g. %s = \"#\"",
               s->key);
    else if (s->default_text != NULL || s->default_doc != NULL)
        report(p, p->line, s->key, "empty value; write e.g. %s = %s, or remove the line to use the default",
               s->key, s->example);
    else
        report(p, p->line, s->key, "empty value; write e.g. %s = %s, or remove the line", s->key, s->example);
}

static void *open_scope(struct parser *p)
{
    return p->section == SEC_MAILBOX ? (void *)open_mailbox_config(p) : (void *)p->cfg;
}

/* "key = value" */
static void parse_assignment(struct parser *p, char *line)
{
    char *equals = strchr(line, '=');
    if (equals == NULL) {
        report_missing_equals(p, line);
        return;
    }
    *equals = '\0';
    char *key = trim(line);
    if (*key == '\0') {
        report(p, p->line, NULL, "missing key before \"=\"; write key = value");
        return;
    }
    if (p->skipping)
        return;
    if (p->section == SEC_NONE) {
        report_key_outside_section(p, key);
        return;
    }
    const struct setting *s = find_setting(p->section, key);
    if (s == NULL) {
        report_unknown_key(p, key);
        return;
    }
    bool comment_cut;
    char *text = read_value(p, s, equals + 1, &comment_cut);
    size_t index = setting_index(s);
    if (p->seen[index] != 0) {
        report(p, p->line, s->key, "\"%s\" is set twice (first on line %d); keep only one", s->key,
               p->seen[index]);
        return;
    }
    p->seen[index] = p->line;
    if (text == NULL) {
        p->invalid[index] = true;
    } else if (*text == '\0' && s->type != T_LIST) {
        p->invalid[index] = true;
        report_empty_value(p, s, comment_cut);
    } else {
        struct value v;
        char *problem = convert_value(s, text, &v);
        p->invalid[index] = problem != NULL;
        if (problem != NULL)
            report(p, p->line, s->key, "%s", problem);
        else
            store_value(open_scope(p), s, &v);
        free(problem);
    }
}

static void parse_line(struct parser *p, const char *start, size_t n)
{
    char line[MAX_LINE + 1];
    if (n > MAX_LINE) {
        report(p, p->line, NULL, "line is %zu bytes long; the limit is %d bytes: shorten it", n, MAX_LINE);
        return;
    }
    if (!line_is_text(p, start, n))
        return;
    memcpy(line, start, n);
    line[n] = '\0';
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';')
        return;
    if (*s == '[')
        parse_section_header(p, s);
    else
        parse_assignment(p, s);
}

static void validate_file(struct parser *p);

static void parse_text(struct parser *p, const char *text, size_t len)
{
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    while (pos < len && !p->stopped) {
        const char *start = text + pos;
        const char *newline = memchr(start, '\n', len - pos);
        size_t n = newline != NULL ? (size_t)(newline - start) : len - pos;
        pos += n + (newline != NULL);
        if (n > 0 && start[n - 1] == '\r')
            n--;
        p->line++;
        parse_line(p, start, n);
    }
    close_section(p);
    validate_file(p);
}

/* ------------------------------------------------------------------------ */
/* Rules that tie several keys together.                                   */

/* Index of KEY in SECTION; the key must exist (a typo here is a bug caught by the tests). */
static size_t index_of(enum section_id section, const char *key)
{
    const struct setting *s = find_setting(section, key);
    if (s == NULL) {
        fprintf(stderr, "level=panic event=config_unknown_setting key=%s\n", key);
        abort();
    }
    return setting_index(s);
}

static bool was_set(const struct parser *p, enum section_id section, const char *key)
{
    return p->seen[index_of(section, key)] != 0;
}

/* Line where KEY was set, else FALLBACK (the section header). */
static int line_of(const struct parser *p, enum section_id section, const char *key, int fallback)
{
    int line = p->seen[index_of(section, key)];
    return line != 0 ? line : fallback;
}

static bool all_valid(const struct parser *p, enum section_id section, const char *key1, const char *key2)
{
    return !p->invalid[index_of(section, key1)] && !p->invalid[index_of(section, key2)];
}

static void report_missing_required(struct parser *p, enum section_id section, int header_line)
{
    char label[LABEL_SIZE];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->section != section || !(s->flags & REQUIRED) || p->seen[i] != 0)
            continue;
        if (section == SEC_MAILBOX)
            open_section_label(p, label, sizeof label);
        else
            any_section_label(section, label, sizeof label);
        report(p, header_line, s->key, "missing key \"%s\" in %s; add e.g. %s = %s", s->key, label, s->key,
               s->example);
    }
}

static bool is_loopback_host(const char *host)
{
    if (equals_ci(host, "localhost") || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    return strncmp(host, "127.", 4) == 0 && only_chars(host, ".") &&
           strspn(host, "0123456789.") == strlen(host);
}

static void check_mailbox_auth(struct parser *p, struct hg_mailbox_config *m)
{
    char label[LABEL_SIZE];
    bool password = was_set(p, SEC_MAILBOX, "password_file");
    bool token = was_set(p, SEC_MAILBOX, "xoauth2_token_file");
    open_section_label(p, label, sizeof label);
    if (password && token)
        report(
            p, line_of(p, SEC_MAILBOX, "xoauth2_token_file", m->line), "xoauth2_token_file",
            "both password_file and xoauth2_token_file are set in %s; keep only the one the server expects",
            label);
    else if (!password && !token)
        report(
            p, m->line, "password_file",
            "missing password_file in %s; add e.g. password_file = %s, or xoauth2_token_file = %s for OAuth2",
            label, settings[index_of(SEC_MAILBOX, "password_file")].example,
            settings[index_of(SEC_MAILBOX, "xoauth2_token_file")].example);
    m->auth = m->xoauth2_token_file != NULL ? HG_AUTH_XOAUTH2 : HG_AUTH_PASSWORD;
}

static void check_mailbox_after_ingest(struct parser *p, const struct hg_mailbox_config *m)
{
    char shown[MAX_ECHO + 4];
    int move_line = line_of(p, SEC_MAILBOX, "move_to", m->line);
    if (!all_valid(p, SEC_MAILBOX, "after_ingest", "move_to"))
        return;
    if (m->after_ingest == HG_AFTER_MOVE && m->move_to == NULL)
        report(p, line_of(p, SEC_MAILBOX, "after_ingest", m->line), "move_to",
               "after_ingest = move needs a folder to move to; add e.g. move_to = Archive");
    if (m->after_ingest == HG_AFTER_FLAG && m->move_to != NULL)
        report(p, move_line, "move_to",
               "move_to is set but after_ingest is flag; add after_ingest = move, "
               "or remove move_to");
    if (m->move_to != NULL && m->folder != NULL && strcmp(m->move_to, m->folder) == 0)
        report(p, move_line, "move_to",
               "move_to is the folder being read (\"%s\"); name another folder, e.g. "
               "move_to = Archive",
               echo(m->folder, shown, sizeof shown));
}

static void check_mailbox_plaintext(struct parser *p, const struct hg_mailbox_config *m)
{
    char shown[MAX_ECHO + 4];
    if (m->tls != HG_TLS_NONE || m->allow_plaintext || m->host == NULL || is_loopback_host(m->host))
        return;
    report(
        p, line_of(p, SEC_MAILBOX, "tls", m->line), "tls",
        "tls = none would send the password in clear text to %s; use tls = imaps or tls = starttls, or add "
        "allow_plaintext = yes if that network is trusted",
        echo(m->host, shown, sizeof shown));
}

static void finish_mailbox(struct parser *p)
{
    struct hg_mailbox_config *m = open_mailbox_config(p);
    report_missing_required(p, SEC_MAILBOX, m->line);
    check_mailbox_auth(p, m);
    check_mailbox_after_ingest(p, m);
    check_mailbox_plaintext(p, m);
    if (m->port == 0)
        m->port = m->tls == HG_TLS_IMPLICIT ? 993 : 143;
}

/* KEY1 set without KEY2 in SECTION: "user is set but password_file is not". */
static void check_pair(struct parser *p, enum section_id section, const char *key1, const char *key2)
{
    if (!was_set(p, section, key1) || was_set(p, section, key2))
        return;
    report(p, line_of(p, section, key1, p->section_line[section]), key2,
           "%s is set but %s is not; add e.g. %s = %s, or remove %s", key1, key2, key2,
           settings[index_of(section, key2)].example, key1);
}

static void validate_smtp(struct parser *p)
{
    struct hg_config *c = p->cfg;
    check_pair(p, SEC_SMTP, "user", "password_file");
    check_pair(p, SEC_SMTP, "password_file", "user");
    if (!was_set(p, SEC_HELPGATE, "hmac_secret_file"))
        report(p, p->section_line[SEC_SMTP], "hmac_secret_file",
               "[smtp] needs hmac_secret_file in [helpgate] to sign agents' reply addresses; add e.g. "
               "hmac_secret_file = %s",
               settings[index_of(SEC_HELPGATE, "hmac_secret_file")].example);
    if (c->support_domain == NULL && c->smtp_from != NULL) {
        size_t len = 0;
        const char *address = mail_address_of(c->smtp_from, &len);
        const char *at = address != NULL ? memchr(address, '@', len) : NULL;
        if (at != NULL)
            c->support_domain = hg_xstrndup(at + 1, len - (size_t)(at - address) - 1);
    }
}

static void validate_chat(struct parser *p)
{
    const struct hg_config *c = p->cfg;
    char frame[32], message[32];
    int header = p->section_line[SEC_CHAT];
    check_pair(p, SEC_CHAT, "tls_cert", "tls_key");
    check_pair(p, SEC_CHAT, "tls_key", "tls_cert");
    if (all_valid(p, SEC_CHAT, "max_message", "max_frame") && c->chat_max_message > c->chat_max_frame) {
        format_size(c->chat_max_message, message, sizeof message);
        format_size(c->chat_max_frame, frame, sizeof frame);
        report(p, line_of(p, SEC_CHAT, "max_message", header), "max_message",
               "max_message %s is larger than max_frame %s; a message must fit in one frame: raise max_frame "
               "or lower max_message",
               message, frame);
    }
    if (all_valid(p, SEC_CHAT, "per_ip_connections", "max_connections") &&
        c->chat_per_ip_connections > c->chat_max_connections)
        report(p, line_of(p, SEC_CHAT, "per_ip_connections", header), "per_ip_connections",
               "per_ip_connections %d is larger than max_connections %d; lower it to at most %d",
               c->chat_per_ip_connections, c->chat_max_connections, c->chat_max_connections);
}

static void validate_file(struct parser *p)
{
    if (p->section_line[SEC_DATABASE] == 0)
        report(p, 0, "conninfo", "missing [database] section; add [database] with e.g. conninfo = %s",
               settings[index_of(SEC_DATABASE, "conninfo")].example);
    for (int section = 0; section < SEC_MAILBOX; section++)
        if (p->section_line[section] != 0)
            report_missing_required(p, (enum section_id)section, p->section_line[section]);
    if (p->section_line[SEC_SMTP] != 0)
        validate_smtp(p);
    validate_chat(p);
}

/* ------------------------------------------------------------------------ */
/* Public entry points.                                                    */

/* Errors in file order (checks made at the end of a section come late); stable; at most MAX_ERRORS. */
static void sort_errors_by_line(struct hg_config_errors *errors, size_t first, size_t end)
{
    for (size_t i = first + 1; i < end; i++) {
        struct hg_config_error e = errors->items[i];
        size_t j = i;
        for (; j > first && errors->items[j - 1].line > e.line; j--)
            errors->items[j] = errors->items[j - 1];
        errors->items[j] = e;
    }
}

struct hg_config *hg_config_parse(const char *text, size_t len, const char *filename,
                                  struct hg_config_errors *errors)
{
    struct hg_config_errors discarded;
    struct parser p;
    (void)filename; /* errors carry line numbers; hg_config_error_format() names the file */
    hg_config_errors_init(&discarded);
    memset(&p, 0, sizeof p);
    p.errors = errors != NULL ? errors : &discarded;
    p.first_error = p.errors->count;
    p.cfg = hg_xcalloc(1, sizeof *p.cfg);
    p.section = SEC_NONE;
    if (text == NULL)
        len = 0;
    if (len > MAX_FILE_SIZE) {
        report(&p, 0, NULL, "file is %zu bytes; the limit is %d bytes (1 MiB): remove what is not needed",
               len, MAX_FILE_SIZE);
    } else {
        apply_defaults(&p, p.cfg, false);
        parse_text(&p, text, len);
    }
    bool failed = p.errors->count > p.first_error;
    sort_errors_by_line(p.errors, p.first_error, p.errors->count - (p.stopped ? 1 : 0));
    hg_config_errors_free(&discarded);
    if (failed)
        hg_config_free(&p.cfg);
    return p.cfg;
}

static struct hg_config_setting_info setting_infos[N_SETTINGS];
static pthread_once_t setting_infos_once = PTHREAD_ONCE_INIT;

static void fill_setting_infos(void)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        struct hg_config_setting_info *info = &setting_infos[i];
        info->section = section_names[s->section];
        info->key = s->key;
        info->type = type_names[s->type];
        info->default_value = s->default_doc != NULL    ? s->default_doc
                              : s->default_text != NULL ? s->default_text
                                                        : "";
        info->reloadable = (s->flags & RELOADABLE) != 0;
        info->doc = s->doc;
    }
}

const struct hg_config_setting_info *hg_config_settings(size_t *count_r)
{
    pthread_once(&setting_infos_once, fill_setting_infos);
    if (count_r != NULL)
        *count_r = N_SETTINGS;
    return setting_infos;
}
