/*
 * test-config.c — unit tests of parsers/config.c (helpgate.conf).
 *
 * Table-driven: every value type with its bounds, quoting, defaults, key
 * suggestions and the rules that tie keys together; data-driven: the files in
 * tests/data/config/ (NAME.conf beside NAME.conf.ref, the expected errors),
 * found through $top_srcdir. Also checks that no error ever shows a secret,
 * that hostile input only yields errors, and that the man page and the example
 * config agree with the setting table.
 */
#include "helpgate/config.h"

#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

#ifndef HG_SYSCONFDIR
#define HG_SYSCONFDIR "/etc/helpgate"
#endif
#ifndef HG_PKGDATADIR
#define HG_PKGDATADIR "/usr/share/helpgate"
#endif

/* The smallest valid file, and one with a mailbox to which a line can be added. */
#define MINIMAL "[database]\nconninfo = dbname=helpgate\n"
#define WITH_MAILBOX MINIMAL "[mailbox m]\nhost = localhost\nuser = u\npassword_file = /etc/helpgate/m.pass\n"

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                */

static char *read_file(const char *relative, size_t *len_r)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", top != NULL ? top : ".", relative);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap + 1);
    size_t n;
    while (data != NULL && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            data = realloc(data, cap + 1);
        }
    }
    fclose(f);
    if (data == NULL)
        return NULL;
    data[len] = '\0';
    *len_r = len;
    return data;
}

/* Replaces every FROM in S (in place, FROM at least as long as TO). */
static void replace_all(char *s, const char *from, const char *to)
{
    size_t from_len = strlen(from), to_len = strlen(to);
    char *hit;
    if (from_len < to_len || from_len == 0)
        return;
    while ((hit = strstr(s, from)) != NULL) {
        memcpy(hit, to, to_len);
        memmove(hit + to_len, hit + from_len, strlen(hit + from_len) + 1);
        s = hit + to_len;
    }
}

/* All errors formatted for FILENAME, one per line, build paths shown as /etc/helpgate. Caller frees. */
static char *format_errors(const struct hg_config_errors *errors, const char *filename)
{
    size_t cap = 256, len = 0;
    char *all = malloc(cap);
    all[0] = '\0';
    for (size_t i = 0; i < errors->count; i++) {
        char *line = hg_config_error_format(errors, i, filename);
        size_t n = strlen(line);
        while (len + n + 2 > cap)
            all = realloc(all, cap *= 2);
        memcpy(all + len, line, n);
        len += n;
        all[len++] = '\n';
        all[len] = '\0';
        free(line);
    }
    replace_all(all, HG_SYSCONFDIR, "/etc/helpgate");
    replace_all(all, HG_PKGDATADIR, "/usr/share/helpgate");
    return all;
}

static struct hg_config *parse_text(const char *text, struct hg_config_errors *errors)
{
    hg_config_errors_init(errors);
    return hg_config_parse(text, strlen(text), "test.conf", errors);
}

/* Parses TEXT expecting exactly WANT_ERRORS ("" for none), formatted for test.conf. */
static void expect_errors(const char *text, const char *want_errors, const char *name)
{
    struct hg_config_errors errors;
    struct hg_config *cfg = parse_text(text, &errors);
    char *got = format_errors(&errors, "test.conf");
    is_str(got, want_errors, name);
    ok((cfg == NULL) == (errors.count > 0), "%s: config returned only without errors", name);
    free(got);
    hg_config_free(&cfg);
    hg_config_errors_free(&errors);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* ------------------------------------------------------------------------ */
/* A full valid file.                                                      */

static void test_good_file(void)
{
    size_t len = 0;
    char *text = read_file("tests/data/config/good.conf", &len);
    struct hg_config_errors errors;
    hg_config_errors_init(&errors);
    if (!ok(text != NULL, "read tests/data/config/good.conf (set top_srcdir)"))
        return;
    struct hg_config *c = hg_config_parse(text, len, "good.conf", &errors);
    if (!ok(c != NULL && errors.count == 0, "good.conf parses without errors")) {
        char *all = format_errors(&errors, "good.conf");
        printf("# %s", all);
        free(all);
        hg_config_errors_free(&errors);
        free(text);
        return;
    }
    is_str(c->instance, "gw1", "instance");
    is_str(c->rules_file, "/etc/helpgate/rules.conf", "rules_file");
    is_str(c->templates_dir, "/etc/helpgate/templates", "templates_dir");
    is_str(c->hmac_secret_file, "/etc/helpgate/hmac.key", "hmac_secret_file");
    is_str(c->ticket_tag_prefix, "HD-", "ticket_tag_prefix (quoted)");
    is_str(c->db_conninfo, "host=/run/postgresql dbname=helpgate user=helpgate",
           "conninfo keeps its = signs");
    is_str(c->db_password_file, "/etc/helpgate/db.pass", "database password_file");
    is_int(c->db_connect_timeout, 15, "connect_timeout 15s");
    is_str(c->smtp_url, "smtps://mail.example.com:465", "smtp url");
    is_str(c->smtp_user, "helpgate", "smtp user");
    is_str(c->smtp_password_file, "/etc/helpgate/smtp.pass", "smtp password_file");
    ok(c->smtp_tls_verify, "smtp tls_verify");
    is_str(c->smtp_from, "Example Support <support@example.com>", "smtp from with a display name");
    is_str(c->support_domain, "example.com", "support_domain defaults to the domain of from");
    ok(c->chat_enabled, "chat enabled");
    is_str(c->chat_listen, "127.0.0.1:8443", "chat listen");
    is_str(c->chat_tls_cert, "/etc/helpgate/chat.crt", "chat tls_cert");
    is_str(c->chat_tls_key, "/etc/helpgate/chat.key", "chat tls_key");
    ok(c->chat_allowed_origins != NULL, "allowed_origins is a list");
    if (c->chat_allowed_origins != NULL) {
        is_str(c->chat_allowed_origins[0], "https://www.example.com", "origin 1 (comma separated)");
        is_str(c->chat_allowed_origins[1], "https://shop.example.com", "origin 2 (space separated)");
        is_str(c->chat_allowed_origins[2], "http://localhost:8000", "origin 3");
        ok(c->chat_allowed_origins[3] == NULL, "the list ends with NULL");
    }
    is_int(c->chat_max_frame, 32768, "max_frame 32k");
    is_int(c->chat_max_message, 4096, "max_message 4096");
    is_int(c->chat_max_connections, 5000, "max_connections");
    is_int(c->chat_idle_timeout, 900, "idle_timeout 15m");
    ok(c->chat_rate == 0.5, "rate 0.5");
    is_int(c->chat_burst, 5, "burst");
    is_int(c->chat_per_ip_connections, 10, "per_ip_connections");
    is_int(c->retention_raw_days, 30, "raw_days");
    is_int(c->retention_attachment_days, 0, "attachment_days 0 (forever)");
    is_int(c->retention_closed_ticket_days, 365, "closed_ticket_days");
    is_str(c->archive_dir, "/srv/helpgate/archive", "archive_dir");
    if (!is_int((long long)c->n_mailboxes, 2, "two mailboxes"))
        goto out;
    const struct hg_mailbox_config *m = &c->mailboxes[0];
    is_str(m->name, "support", "mailbox 1 name");
    is_int(m->line, 42, "mailbox 1 header line");
    is_str(m->host, "imap.example.com", "mailbox 1 host");
    is_int(m->port, 993, "mailbox 1 port defaults to 993 with imaps");
    ok(m->tls == HG_TLS_IMPLICIT, "mailbox 1 tls imaps by default");
    ok(m->tls_verify, "mailbox 1 tls_verify by default");
    is_str(m->user, "support@example.com", "mailbox 1 user");
    ok(m->auth == HG_AUTH_PASSWORD, "mailbox 1 auth by password");
    is_str(m->password_file, "/etc/helpgate/imap-support.pass", "mailbox 1 password_file");
    ok(m->xoauth2_token_file == NULL, "mailbox 1 has no token file");
    is_str(m->folder, "INBOX", "mailbox 1 folder");
    ok(m->after_ingest == HG_AFTER_MOVE, "mailbox 1 after_ingest move");
    is_str(m->move_to, "Processed by helpgate", "mailbox 1 move_to with spaces");
    is_int(m->poll_interval, 120, "mailbox 1 poll_interval 2m");
    ok(!m->idle, "mailbox 1 idle off");
    is_int(m->max_message_size, 40L << 20, "mailbox 1 max_message_size 40M");
    is_int(m->batch_size, 50, "mailbox 1 batch_size");
    m = &c->mailboxes[1];
    is_str(m->name, "sales-eu", "mailbox 2 name");
    is_int(m->port, 1993, "mailbox 2 port");
    ok(m->tls == HG_TLS_STARTTLS, "mailbox 2 starttls");
    ok(!m->tls_verify, "mailbox 2 tls_verify off");
    ok(m->auth == HG_AUTH_XOAUTH2, "mailbox 2 auth by XOAUTH2");
    is_str(m->xoauth2_token_file, "/run/helpgate/sales.token", "mailbox 2 token file");
    ok(m->password_file == NULL, "mailbox 2 has no password file");
out:
    hg_config_free(&c);
    ok(c == NULL, "hg_config_free sets the pointer to NULL");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    free(text);
}

/* ------------------------------------------------------------------------ */
/* Defaults.                                                               */

static void test_defaults(void)
{
    struct hg_config_errors errors;
    struct hg_config *c = parse_text(WITH_MAILBOX, &errors);
    if (!ok(c != NULL, "the minimal file with one mailbox parses"))
        return;
    ok(c->instance == NULL, "instance unset (the daemon uses the host name)");
    is_str(c->rules_file, HG_SYSCONFDIR "/rules.conf", "default rules_file");
    is_str(c->templates_dir, HG_SYSCONFDIR "/templates", "default templates_dir");
    ok(c->hmac_secret_file == NULL, "no default hmac_secret_file");
    is_str(c->ticket_tag_prefix, "#", "default ticket_tag_prefix");
    ok(c->db_password_file == NULL, "no default database password_file");
    is_int(c->db_connect_timeout, 10, "default connect_timeout");
    ok(c->smtp_url == NULL && c->smtp_from == NULL && c->support_domain == NULL, "no [smtp]: smtp unset");
    ok(c->smtp_tls_verify, "default smtp tls_verify");
    ok(!c->chat_enabled, "chat disabled by default");
    is_str(c->chat_listen, "127.0.0.1:8080", "default chat listen");
    ok(c->chat_allowed_origins != NULL && c->chat_allowed_origins[0] == NULL,
       "allowed_origins empty, not NULL");
    is_int(c->chat_max_frame, 16384, "default max_frame");
    is_int(c->chat_max_message, 8192, "default max_message");
    is_int(c->chat_max_connections, 10000, "default max_connections");
    is_int(c->chat_idle_timeout, 600, "default idle_timeout");
    ok(c->chat_rate == 2.0, "default rate");
    is_int(c->chat_burst, 10, "default burst");
    is_int(c->chat_per_ip_connections, 20, "default per_ip_connections");
    is_int(c->retention_raw_days, 90, "default raw_days");
    is_int(c->retention_attachment_days, 365, "default attachment_days");
    is_int(c->retention_closed_ticket_days, 730, "default closed_ticket_days");
    is_str(c->archive_dir, "/var/lib/helpgate/archive", "default archive_dir");
    const struct hg_mailbox_config *m = &c->mailboxes[0];
    is_int(m->port, 993, "default port");
    ok(m->tls == HG_TLS_IMPLICIT && m->tls_verify && !m->allow_plaintext, "default tls settings");
    is_str(m->folder, "INBOX", "default folder");
    ok(m->after_ingest == HG_AFTER_FLAG && m->move_to == NULL, "default after_ingest flag");
    is_int(m->poll_interval, 60, "default poll_interval");
    ok(m->idle, "idle by default");
    is_int(m->max_message_size, 25L << 20, "default max_message_size");
    is_int(m->batch_size, 100, "default batch_size");
    hg_config_free(&c);
    hg_config_errors_free(&errors);

    c = parse_text(WITH_MAILBOX "tls = starttls\n", &errors);
    ok(c != NULL && c->mailboxes[0].port == 143, "default port 143 with starttls");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    c = parse_text(WITH_MAILBOX "tls = none\n", &errors);
    ok(c != NULL && c->mailboxes[0].port == 143, "default port 143 with tls = none to localhost");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
}

/* ------------------------------------------------------------------------ */
/* Every type, its syntax and its bounds: one line added to a valid file.  */

typedef long long getter_fn(const struct hg_config *c);

static long long get_port(const struct hg_config *c)
{
    return c->mailboxes[0].port;
}
static long long get_batch(const struct hg_config *c)
{
    return c->mailboxes[0].batch_size;
}
static long long get_raw_days(const struct hg_config *c)
{
    return c->retention_raw_days;
}
static long long get_max_message_size(const struct hg_config *c)
{
    return c->mailboxes[0].max_message_size;
}
static long long get_max_frame(const struct hg_config *c)
{
    return c->chat_max_frame;
}
static long long get_poll(const struct hg_config *c)
{
    return c->mailboxes[0].poll_interval;
}
static long long get_idle(const struct hg_config *c)
{
    return c->mailboxes[0].idle;
}
static long long get_tls(const struct hg_config *c)
{
    return c->mailboxes[0].tls;
}
static long long get_after_ingest(const struct hg_config *c)
{
    return c->mailboxes[0].after_ingest;
}
static long long get_rate_milli(const struct hg_config *c)
{
    return (long long)(c->chat_rate * 1000 + 0.5);
}
static long long get_origin_count(const struct hg_config *c)
{
    long long n = 0;
    while (c->chat_allowed_origins[n] != NULL)
        n++;
    return n;
}

struct value_case {
    const char *section; /* NULL: the line goes into [mailbox m] */
    const char *line;
    getter_fn *get;
    long long want;    /* when error is NULL */
    const char *error; /* the message (after "test.conf:LINE: KEY: "), or NULL */
};

static const struct value_case value_cases[] = {
    /* int */
    {NULL, "port = 1", get_port, 1, NULL},
    {NULL, "port = 65535", get_port, 65535, NULL},
    {NULL, "port = +993", get_port, 993, NULL},
    {NULL, "port = 0", NULL, 0, "port 0 out of range; write a number from 1 to 65535"},
    {NULL, "port = 70000", NULL, 0, "port 70000 out of range; write a number from 1 to 65535"},
    {NULL, "port = -1", NULL, 0, "port -1 out of range; write a number from 1 to 65535"},
    {NULL, "port = 99999999999999999999", NULL, 0,
     "port 99999999999999999999 out of range; write a number from 1 to 65535"},
    {NULL, "port = 993x", NULL, 0, "invalid number \"993x\"; write a whole number from 1 to 65535"},
    {NULL, "port = 9 93", NULL, 0, "invalid number \"9 93\"; write a whole number from 1 to 65535"},
    {NULL, "port = 0x3e1", NULL, 0, "invalid number \"0x3e1\"; write a whole number from 1 to 65535"},
    {NULL, "batch_size = 1000", get_batch, 1000, NULL},
    {NULL, "batch_size = 1001", NULL, 0, "batch_size 1001 out of range; write a number from 1 to 1000"},
    {"retention", "raw_days = 0", get_raw_days, 0, NULL},
    {"retention", "raw_days = 36500", get_raw_days, 36500, NULL},
    {"retention", "raw_days = 36501", NULL, 0, "raw_days 36501 out of range; write a number from 0 to 36500"},
    {"retention", "raw_days = 90d", NULL, 0, "invalid number \"90d\"; write a whole number from 0 to 36500"},
    /* size */
    {NULL, "max_message_size = 1024", get_max_message_size, 1024, NULL},
    {NULL, "max_message_size = 16k", get_max_message_size, 16384, NULL},
    {NULL, "max_message_size = 16K", get_max_message_size, 16384, NULL},
    {NULL, "max_message_size = 16KiB", get_max_message_size, 16384, NULL},
    {NULL, "max_message_size = 16kb", get_max_message_size, 16384, NULL},
    {NULL, "max_message_size = 25M", get_max_message_size, 25L << 20, NULL},
    {NULL, "max_message_size = 25mib", get_max_message_size, 25L << 20, NULL},
    {NULL, "max_message_size = 1G", get_max_message_size, 1L << 30, NULL},
    {NULL, "max_message_size = 2048b", get_max_message_size, 2048, NULL},
    {NULL, "max_message_size = 1023", NULL, 0,
     "max_message_size 1023 out of range; write a size from 1k to 1G"},
    {NULL, "max_message_size = 2G", NULL, 0, "max_message_size 2G out of range; write a size from 1k to 1G"},
    {NULL, "max_message_size = 99999999999999999G", NULL, 0,
     "max_message_size 99999999999999999G out of range; write a size from 1k to 1G"},
    {NULL, "max_message_size = 16 kilobytes", NULL, 0,
     "invalid size \"16 kilobytes\"; write e.g. 16384, 16k, 25M or 1G"},
    {NULL, "max_message_size = 1.5M", NULL, 0, "invalid size \"1.5M\"; write e.g. 16384, 16k, 25M or 1G"},
    {NULL, "max_message_size = -1k", NULL, 0, "invalid size \"-1k\"; write e.g. 16384, 16k, 25M or 1G"},
    {NULL, "max_message_size = M", NULL, 0, "invalid size \"M\"; write e.g. 16384, 16k, 25M or 1G"},
    {"chat", "max_frame = 1M", get_max_frame, 1L << 20, NULL},
    {"chat", "max_frame = 1025k", NULL, 0, "max_frame 1025k out of range; write a size from 1k to 1M"},
    /* duration */
    {NULL, "poll_interval = 300", get_poll, 300, NULL},
    {NULL, "poll_interval = 300s", get_poll, 300, NULL},
    {NULL, "poll_interval = 5m", get_poll, 300, NULL},
    {NULL, "poll_interval = 1h", get_poll, 3600, NULL},
    {NULL, "poll_interval = 1h30m", get_poll, 5400, NULL},
    {NULL, "poll_interval = 1d", get_poll, 86400, NULL},
    {NULL, "poll_interval = 5s", get_poll, 5, NULL},
    {NULL, "poll_interval = 4s", NULL, 0, "poll_interval 4s out of range; write a duration from 5s to 1d"},
    {NULL, "poll_interval = 2d", NULL, 0, "poll_interval 2d out of range; write a duration from 5s to 1d"},
    {NULL, "poll_interval = 5 minutes", NULL, 0,
     "invalid duration \"5 minutes\"; write e.g. 300, 300s, 5m or 1h"},
    {NULL, "poll_interval = 5M", NULL, 0, "invalid duration \"5M\"; write e.g. 300, 300s, 5m or 1h"},
    {NULL, "poll_interval = 1h30", NULL, 0, "invalid duration \"1h30\"; write e.g. 300, 300s, 5m or 1h"},
    {NULL, "poll_interval = m", NULL, 0, "invalid duration \"m\"; write e.g. 300, 300s, 5m or 1h"},
    {NULL, "poll_interval = -5s", NULL, 0, "invalid duration \"-5s\"; write e.g. 300, 300s, 5m or 1h"},
    {NULL, "poll_interval = 9999999999999999999d", NULL, 0,
     "poll_interval 9999999999999999999d out of range; write a duration from 5s to 1d"},
    /* bool */
    {NULL, "idle = yes", get_idle, 1, NULL},
    {NULL, "idle = No", get_idle, 0, NULL},
    {NULL, "idle = TRUE", get_idle, 1, NULL},
    {NULL, "idle = false", get_idle, 0, NULL},
    {NULL, "idle = on", get_idle, 1, NULL},
    {NULL, "idle = off", get_idle, 0, NULL},
    {NULL, "idle = 1", get_idle, 1, NULL},
    {NULL, "idle = 0", get_idle, 0, NULL},
    {NULL, "idle = maybe", NULL, 0, "invalid boolean \"maybe\"; write yes or no"},
    {NULL, "idle = y", NULL, 0, "invalid boolean \"y\"; write yes or no"},
    /* enum */
    {NULL, "tls = imaps", get_tls, HG_TLS_IMPLICIT, NULL},
    {NULL, "tls = STARTTLS", get_tls, HG_TLS_STARTTLS, NULL},
    {NULL, "tls = none", get_tls, HG_TLS_NONE, NULL},
    {NULL, "tls = imap", NULL, 0,
     "invalid choice \"imap\"; did you mean \"imaps\"? (choices: imaps, starttls, none)"},
    {NULL, "tls = ssl", NULL, 0, "invalid choice \"ssl\"; write one of: imaps, starttls, none"},
    {NULL, "after_ingest = flag", get_after_ingest, HG_AFTER_FLAG, NULL},
    {NULL, "after_ingest = delete", NULL, 0, "invalid choice \"delete\"; write one of: flag, move"},
    /* number */
    {"chat", "rate = 2", get_rate_milli, 2000, NULL},
    {"chat", "rate = 0.5", get_rate_milli, 500, NULL},
    {"chat", "rate = 0.01", get_rate_milli, 10, NULL},
    {"chat", "rate = 1000", get_rate_milli, 1000000, NULL},
    {"chat", "rate = 0", NULL, 0, "rate 0 out of range; write a number from 0.01 to 1000"},
    {"chat", "rate = 1000.5", NULL, 0, "rate 1000.5 out of range; write a number from 0.01 to 1000"},
    {"chat", "rate = .5", NULL, 0, "invalid number \".5\"; write a decimal number such as 2 or 0.5"},
    {"chat", "rate = 1e3", NULL, 0, "invalid number \"1e3\"; write a decimal number such as 2 or 0.5"},
    {"chat", "rate = fast", NULL, 0, "invalid number \"fast\"; write a decimal number such as 2 or 0.5"},
    /* list */
    {"chat", "allowed_origins = https://a.example", get_origin_count, 1, NULL},
    {"chat", "allowed_origins = https://a.example,https://b.example:8443 , http://[::1]:8000",
     get_origin_count, 3, NULL},
    {"chat", "allowed_origins =", get_origin_count, 0, NULL},
    {"chat", "allowed_origins = ,, ,", get_origin_count, 0, NULL},
    {"chat", "allowed_origins = https://a.example *", NULL, 0,
     "\"*\" would let any web site open the chat; list each site instead, e.g. https://www.example.com"},
    {"chat", "allowed_origins = www.example.com", NULL, 0,
     "invalid origin \"www.example.com\"; write scheme://host[:port] with no path, e.g. "
     "https://www.example.com "
     "or http://localhost:8000"},
    {"chat", "allowed_origins = https://www.example.com/chat", NULL, 0,
     "invalid origin \"https://www.example.com/chat\"; write scheme://host[:port] with no path, e.g. "
     "https://www.example.com or http://localhost:8000"},
};

static char *build_case_file(const struct value_case *vc, int *line_r)
{
    char *text = malloc(strlen(WITH_MAILBOX) + strlen(vc->line) + 64);
    strcpy(text, WITH_MAILBOX);
    if (vc->section != NULL)
        sprintf(text + strlen(text), "[%s]\n", vc->section);
    *line_r = count_lines(text) + 1;
    strcat(text, vc->line);
    strcat(text, "\n");
    return text;
}

static void test_values(void)
{
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        const struct value_case *vc = &value_cases[i];
        struct hg_config_errors errors;
        int line;
        char *text = build_case_file(vc, &line);
        struct hg_config *c = parse_text(text, &errors);
        if (vc->error == NULL) {
            if (ok(c != NULL, "\"%s\" is accepted", vc->line))
                is_int(vc->get(c), vc->want, vc->line);
            else
                printf("#   error: %s\n", errors.count > 0 ? errors.items[0].message : "?");
        } else {
            char key[64], want[512];
            snprintf(key, sizeof key, "%.*s", (int)strcspn(vc->line, " ="), vc->line);
            snprintf(want, sizeof want, "test.conf:%d: %s: %s\n", line, key, vc->error);
            char *got = format_errors(&errors, "test.conf");
            is_str(got, want, vc->line);
            ok(c == NULL, "\"%s\": no config", vc->line);
            free(got);
        }
        hg_config_free(&c);
        hg_config_errors_free(&errors);
        free(text);
    }
}

/* ------------------------------------------------------------------------ */
/* Quoting, comments, whitespace.                                          */

struct quote_case {
    const char *line; /* in [mailbox m] */
    const char *want; /* folder, or NULL when an error is expected */
    const char *error;
};

static const struct quote_case quote_cases[] = {
    {"folder = Support", "Support", NULL},
    {"folder = Support   \t", "Support", NULL},
    {"\t folder\t=\tSupport", "Support", NULL},
    {"folder=Support", "Support", NULL},
    {"folder = \"  spaced  \"", "  spaced  ", NULL},
    {"folder = \"a # b\"", "a # b", NULL},
    {"folder = a#b", "a#b", NULL},
    {"folder = a #b", "a", NULL},
    {"folder = Support # the main folder", "Support", NULL},
    {"folder = \"a \\\"quoted\\\" \\\\ word\"", "a \"quoted\" \\ word", NULL},
    {"folder = \"x\"   # comment", "x", NULL},
    {"folder = \"x\"\t", "x", NULL},
    {"folder = a=b", "a=b", NULL},
    {"folder = a\"b", "a\"b", NULL},
    {"folder = Ünïcödé 📬", "Ünïcödé 📬", NULL},
    {"folder = \"open", NULL,
     "folder: quoted value has no closing quote; end it with \" (write \\\" for a quote inside)"},
    {"folder = \"a\\nb\"", NULL,
     "folder: unknown escape in quoted value; only \\\" and \\\\ may follow a backslash (write \\\\ for a "
     "backslash)"},
    {"folder = \"a\" b", NULL, "folder: text after the closing quote; only a \"#\" comment may follow it"},
    {"folder = \"\"", NULL,
     "folder: empty value; write e.g. folder = INBOX, or remove the line to use the default"},
    {"folder =   ", NULL,
     "folder: empty value; write e.g. folder = INBOX, or remove the line to use the default"},
    {"folder = # nothing", NULL,
     "folder: empty value: \"#\" starts a comment; put a value holding \"#\" in double quotes, e.g. folder = "
     "\"#\""},
};

static void test_quoting(void)
{
    int line = count_lines(WITH_MAILBOX) + 1;
    for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
        const struct quote_case *qc = &quote_cases[i];
        struct hg_config_errors errors;
        char text[512];
        snprintf(text, sizeof text, "%s%s\n", WITH_MAILBOX, qc->line);
        struct hg_config *c = parse_text(text, &errors);
        if (qc->want != NULL) {
            is_str(c != NULL ? c->mailboxes[0].folder : NULL, qc->want, qc->line);
        } else {
            char want[512];
            snprintf(want, sizeof want, "test.conf:%d: %s\n", line, qc->error);
            char *got = format_errors(&errors, "test.conf");
            is_str(got, want, qc->line);
            free(got);
        }
        hg_config_free(&c);
        hg_config_errors_free(&errors);
    }
    /* Comment lines, blank lines, a byte order mark, no final newline. */
    struct hg_config_errors errors;
    const char *text = "\xEF\xBB\xBF# comment\n  ; another\n\n\t\n[database]\n  # indented comment\n"
                       "conninfo = dbname=x";
    struct hg_config *c = parse_text(text, &errors);
    ok(c != NULL, "comments, blank lines, BOM and a missing final newline are fine");
    is_str(c != NULL ? c->db_conninfo : NULL, "dbname=x", "last line without newline is read");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    expect_errors("[database] # the database\nconninfo = dbname=x\n[mailbox a] ; first\nhost = localhost\n"
                  "user = u\nxoauth2_token_file = /t\n",
                  "", "comments after section headers");
}

/* ------------------------------------------------------------------------ */
/* CRLF.                                                                   */

static char *to_crlf(const char *text, size_t len, size_t *len_r)
{
    char *out = malloc(2 * len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            out[n++] = '\r';
        out[n++] = text[i];
    }
    out[n] = '\0';
    *len_r = n;
    return out;
}

static void test_crlf(void)
{
    static const char *const files[] = {"good", "misspelt", "errors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256], name[64];
        size_t len = 0, crlf_len = 0;
        snprintf(path, sizeof path, "tests/data/config/%s.conf", files[i]);
        snprintf(name, sizeof name, "%s.conf", files[i]);
        char *text = read_file(path, &len);
        if (!ok(text != NULL, "read %s", path))
            continue;
        char *crlf = to_crlf(text, len, &crlf_len);
        struct hg_config_errors lf_errors, crlf_errors;
        hg_config_errors_init(&lf_errors);
        hg_config_errors_init(&crlf_errors);
        struct hg_config *lf_cfg = hg_config_parse(text, len, name, &lf_errors);
        struct hg_config *crlf_cfg = hg_config_parse(crlf, crlf_len, name, &crlf_errors);
        char *lf_all = format_errors(&lf_errors, name), *crlf_all = format_errors(&crlf_errors, name);
        is_str(crlf_all, lf_all, "CRLF gives the same errors and lines as LF");
        ok((lf_cfg == NULL) == (crlf_cfg == NULL), "%s: CRLF parses like LF", name);
        if (lf_cfg != NULL && crlf_cfg != NULL)
            is_str(crlf_cfg->mailboxes[0].move_to, lf_cfg->mailboxes[0].move_to, "no CR left in values");
        free(lf_all);
        free(crlf_all);
        hg_config_free(&lf_cfg);
        hg_config_free(&crlf_cfg);
        hg_config_errors_free(&lf_errors);
        hg_config_errors_free(&crlf_errors);
        free(crlf);
        free(text);
    }
    expect_errors(
        "[database]\r\nconninfo = dbname=x\r\nfoo\rbar = 1\r\n",
        "test.conf:3: control character 0x0D at column 4; remove it (only tabs and spaces may separate "
        "words)\n",
        "a lone CR inside a line is an error");
}

/* ------------------------------------------------------------------------ */
/* Files with the expected errors beside them.                             */

static void test_reference_files(void)
{
    static const char *const files[] = {"misspelt", "errors", "secrets"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256], ref_path[256], name[64];
        size_t len = 0, ref_len = 0;
        snprintf(name, sizeof name, "%s.conf", files[i]);
        snprintf(path, sizeof path, "tests/data/config/%s", name);
        snprintf(ref_path, sizeof ref_path, "tests/data/config/%s.ref", name);
        char *text = read_file(path, &len), *ref = read_file(ref_path, &ref_len);
        if (ok(text != NULL && ref != NULL, "read %s and its .ref", path)) {
            struct hg_config_errors errors;
            hg_config_errors_init(&errors);
            struct hg_config *cfg = hg_config_parse(text, len, name, &errors);
            char *got = format_errors(&errors, name);
            is_str(got, ref, name);
            ok(cfg == NULL, "%s is rejected", name);
            for (size_t j = 1; j < errors.count; j++)
                if (!ok(errors.items[j - 1].line <= errors.items[j].line, "%s: errors in line order", name))
                    break;
            free(got);
            hg_config_free(&cfg);
            hg_config_errors_free(&errors);
        }
        free(text);
        free(ref);
    }
}

/* ------------------------------------------------------------------------ */
/* Rules that tie keys together, and whole-file errors.                    */

struct rule_case {
    const char *text;
    const char *errors;
    const char *name;
};

static const struct rule_case rule_cases[] = {
    {"",
     "test.conf: conninfo: missing [database] section; add [database] with e.g. conninfo = "
     "host=/run/postgresql dbname=helpgate user=helpgate\n",
     "an empty file needs [database]"},
    {"[database]\n",
     "test.conf:1: conninfo: missing key \"conninfo\" in [database]; add e.g. conninfo = "
     "host=/run/postgresql dbname=helpgate user=helpgate\n",
     "conninfo is required"},
    {MINIMAL "[mailbox a]\n",
     "test.conf:3: host: missing key \"host\" in [mailbox a]; add e.g. host = imap.example.com\n"
     "test.conf:3: user: missing key \"user\" in [mailbox a]; add e.g. user = support@example.com\n"
     "test.conf:3: password_file: missing password_file in [mailbox a]; add e.g. password_file = "
     "/etc/helpgate/imap-support.pass, or xoauth2_token_file = /run/helpgate/support.token for OAuth2\n",
     "a mailbox needs host, user and a password or token file"},
    {WITH_MAILBOX "xoauth2_token_file = /t\n",
     "test.conf:7: xoauth2_token_file: both password_file and xoauth2_token_file are set in [mailbox m]; "
     "keep "
     "only the one the server expects\n",
     "password_file and xoauth2_token_file exclude each other"},
    {WITH_MAILBOX "after_ingest = move\n",
     "test.conf:7: move_to: after_ingest = move needs a folder to move to; add e.g. move_to = Archive\n",
     "move needs move_to"},
    {WITH_MAILBOX "after_ingest = move\nmove_to = INBOX\n",
     "test.conf:8: move_to: move_to is the folder being read (\"INBOX\"); name another folder, e.g. move_to "
     "= "
     "Archive\n",
     "move_to must differ from folder"},
    {WITH_MAILBOX "after_ingest = move\nmove_to = Done\n", "", "move with move_to"},
    {WITH_MAILBOX "move_to = Done\n",
     "test.conf:7: move_to: move_to is set but after_ingest is flag; add after_ingest = move, or remove "
     "move_to\n",
     "move_to without move"},
    {MINIMAL "[mailbox a]\nhost = imap.example.com\ntls = none\nuser = u\npassword_file = /p\n",
     "test.conf:5: tls: tls = none would send the password in clear text to imap.example.com; use tls = "
     "imaps or "
     "tls = starttls, or add allow_plaintext = yes if that network is trusted\n",
     "plain IMAP to a remote host"},
    {MINIMAL "[mailbox a]\nhost = imap.example.com\ntls = none\nallow_plaintext = yes\nuser = u\n"
             "password_file = /p\n",
     "", "plain IMAP to a remote host with allow_plaintext"},
    {MINIMAL "[mailbox a]\nhost = 127.0.0.2\ntls = none\nuser = u\npassword_file = /p\n"
             "[mailbox b]\nhost = ::1\ntls = none\nuser = u\npassword_file = /p\n"
             "[mailbox c]\nhost = LocalHost\ntls = none\nuser = u\npassword_file = /p\n",
     "", "plain IMAP to loopback"},
    {MINIMAL "[mailbox a]\nhost = 127.0.0.1.example.com\ntls = none\nuser = u\npassword_file = /p\n",
     "test.conf:5: tls: tls = none would send the password in clear text to 127.0.0.1.example.com; use tls = "
     "imaps or tls = starttls, or add allow_plaintext = yes if that network is trusted\n",
     "a name that starts like 127. is not loopback"},
    {MINIMAL "[mailbox a]\nhost = imap.example.com:993\nuser = u\npassword_file = /p\n",
     "test.conf:4: host: host \"imap.example.com:993\" carries a port; write the port on its own line, e.g. "
     "port "
     "= 993\n",
     "host with a port"},
    {MINIMAL "[smtp]\n",
     "test.conf:3: url: missing key \"url\" in [smtp]; add e.g. url = smtps://mail.example.com:465\n"
     "test.conf:3: from: missing key \"from\" in [smtp]; add e.g. from = Support <support@example.com>\n"
     "test.conf:3: hmac_secret_file: [smtp] needs hmac_secret_file in [helpgate] to sign agents' reply "
     "addresses; add e.g. hmac_secret_file = /etc/helpgate/hmac.key\n",
     "[smtp] needs url, from and the HMAC key"},
    {"[helpgate]\nhmac_secret_file = /k\n" MINIMAL "[smtp]\nurl = smtp://localhost\nfrom = a@b.example\n"
     "password_file = /p\n",
     "test.conf:8: user: password_file is set but user is not; add e.g. user = helpgate, or remove "
     "password_file\n",
     "smtp password_file needs user"},
    {"[helpgate]\nhmac_secret_file = /k\n" MINIMAL "[smtp]\nurl = smtp://localhost\nfrom = a@b.example\n"
     "support_domain = reply.example\n",
     "", "smtp with support_domain"},
    {"[helpgate]\nhmac_secret_file = /k\n" MINIMAL "[smtp]\nurl = http://localhost\nfrom = <bad>\n",
     "test.conf:6: url: url must start with smtps:// (implicit TLS) or smtp:// (STARTTLS) (value not shown); "
     "write e.g. smtps://mail.example.com:465\n"
     "test.conf:7: from: invalid address \"<bad>\"; write e.g. support@example.com or Support "
     "<support@example.com>\n",
     "bad smtp url and from"},
    {MINIMAL "[chat]\ntls_cert = /c\nmax_frame = 4k\nmax_message = 8k\nmax_connections = 10\n"
             "per_ip_connections = 11\n",
     "test.conf:4: tls_key: tls_cert is set but tls_key is not; add e.g. tls_key = /etc/helpgate/chat.key, "
     "or "
     "remove tls_cert\n"
     "test.conf:6: max_message: max_message 8k is larger than max_frame 4k; a message must fit in one frame: "
     "raise max_frame or lower max_message\n"
     "test.conf:8: per_ip_connections: per_ip_connections 11 is larger than max_connections 10; lower it to "
     "at "
     "most 10\n",
     "chat limits that contradict each other"},
    {MINIMAL "[chat]\nlisten = [::]:8080\n", "", "listen on IPv6"},
    {MINIMAL "[chat]\nlisten = 0.0.0.0:0\n",
     "test.conf:4: listen: invalid listen address \"0.0.0.0:0\"; write ADDRESS:PORT, e.g. 127.0.0.1:8080, "
     "0.0.0.0:8080 or [::1]:8080\n",
     "listen port 0"},
    {MINIMAL "[database]\nconnect_timeout = 5s\n",
     "test.conf:3: section [database] appears again (first on line 1); merge the two into one\n",
     "a repeated section"},
    {MINIMAL "[mailbox a]\nhost = localhost\nuser = u\npassword_file = /p\n[mailbox A]\n",
     "test.conf:7: [mailbox A] appears again (first on line 3); give each mailbox its own name\n",
     "mailbox names are unique regardless of case"},
    {MINIMAL "[helpgate]\ninstance = gw 1\nticket_tag_prefix = \"[x]\"\n",
     "test.conf:4: instance: invalid instance name \"gw 1\"; use up to 64 letters, digits, \"-\", \"_\" or "
     "\".\", "
     "e.g. gw1\n"
     "test.conf:5: ticket_tag_prefix: invalid ticket tag prefix \"[x]\"; write up to 16 characters without "
     "spaces or brackets, e.g. # (quoted: \"#\") for tags like [#1234]\n",
     "instance and tag prefix"},
    {"[Database]\nconninfo = x\n[mailbox]\n[chat\n[]\n[smtp x]\n[xyzzy]\n[Mailbox support]\n",
     "test.conf: conninfo: missing [database] section; add [database] with e.g. conninfo = "
     "host=/run/postgresql "
     "dbname=helpgate user=helpgate\n"
     "test.conf:1: unknown section [Database]; did you mean [database]?\n"
     "test.conf:3: [mailbox] needs a name; write e.g. [mailbox support]\n"
     "test.conf:4: section header has no closing \"]\"; write e.g. [helpgate] or [mailbox NAME]\n"
     "test.conf:5: empty section header; write e.g. [helpgate] or [mailbox NAME]\n"
     "test.conf:6: section [smtp] takes no name (\"x\"); write [smtp]\n"
     "test.conf:6: url: missing key \"url\" in [smtp]; add e.g. url = smtps://mail.example.com:465\n"
     "test.conf:6: from: missing key \"from\" in [smtp]; add e.g. from = Support <support@example.com>\n"
     "test.conf:6: hmac_secret_file: [smtp] needs hmac_secret_file in [helpgate] to sign agents' reply "
     "addresses; add e.g. hmac_secret_file = /etc/helpgate/hmac.key\n"
     "test.conf:7: unknown section [xyzzy]; write one of [helpgate], [database], [smtp], [chat], [retention] "
     "or "
     "[mailbox NAME]\n"
     "test.conf:8: unknown section [Mailbox support]; did you mean [mailbox support]?\n",
     "section header errors"},
    {"instance = x\nfoo = 1\n" MINIMAL "db_conninfo2 = x\n[chat]\nchat_max_frame = 1k\nhost 1\n",
     "test.conf:1: instance: key \"instance\" is before any section header; put it under [helpgate]\n"
     "test.conf:2: foo: key \"foo\" is before any section header; start the file with a header such as "
     "[helpgate]\n"
     "test.conf:5: db_conninfo2: unknown key \"db_conninfo2\" in [database]; did you mean \"conninfo\"?\n"
     "test.conf:7: chat_max_frame: unknown key \"chat_max_frame\" in [chat]; did you mean \"max_frame\"?\n"
     "test.conf:8: line is not \"key = value\", a [section] header or a comment (line not shown); fix it, or "
     "start it with \"#\" to make it a comment\n",
     "keys outside sections and struct-style names"},
    {MINIMAL "[chat]\nlisten 127.0.0.1:80\nmax_frame: 2k\n",
     "test.conf:4: listen: missing \"=\" after \"listen\"; write listen = VALUE\n"
     "test.conf:5: max_frame: missing \"=\" after \"max_frame\"; write max_frame = VALUE\n",
     "a known key without ="},
};

static void test_rules(void)
{
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++)
        expect_errors(rule_cases[i].text, rule_cases[i].errors, rule_cases[i].name);
}

/* ------------------------------------------------------------------------ */
/* Secrets never appear in an error.                                       */

static const char *const secret_files[] = {
    "[database]\nconninfo = host=db password=hunter2 dbname=x\n",
    "[database]\nconninfo = host=db PassWord = 'hunter2' dbname=x\n",
    "[database]\nconninfo = postgresql://user:hunter2@db/helpgate\n",
    "[database]\nconninfo = postgres://db/helpgate?sslmode=require&password=hunter2\n",
    "[database]\nconninfo = host='unterminated hunter2\n",
    "[database]\nconninfo = \"hunter2\n",
    "[database]\nconninfo = \"a\" hunter2\n",
    "[database]\nconninfo = dbname=x\nconninfo = hunter2\n",
    MINIMAL "[smtp]\nurl = smtps://u:hunter2@mail.example.com\nfrom = a@b.c\n",
    MINIMAL "[smtp]\nurl = ftp://hunter2\nfrom = a@b.c\n",
    MINIMAL "[smtp]\npassword_file = hunter2\n",
    MINIMAL "[smtp]\npassword = hunter2\n",
    MINIMAL "[helpgate]\nhmac_secret_file = hunter2\nhmac_secret = hunter2\n",
    MINIMAL "[chat]\ntls_key = hunter2\n",
    WITH_MAILBOX "password = hunter2\n",
    WITH_MAILBOX "xoauth2_token_file = hunter2\n",
    WITH_MAILBOX "xoauth2_token = hunter2\n",
    WITH_MAILBOX "hunter2\n",
    WITH_MAILBOX "password: hunter2\n",
    WITH_MAILBOX "password_file hunter2\n",
    WITH_MAILBOX "[mailbox n]\npasswd = hunter2\ntoken = hunter2\nsecret = hunter2\n",
};

static void test_secrets(void)
{
    for (size_t i = 0; i < sizeof secret_files / sizeof secret_files[0]; i++) {
        struct hg_config_errors errors;
        struct hg_config *c = parse_text(secret_files[i], &errors);
        char *all = format_errors(&errors, "test.conf");
        ok(c == NULL && errors.count > 0, "secret case %zu is an error", i);
        if (!ok(strstr(all, "hunter2") == NULL, "secret case %zu: the secret is not in the errors", i))
            printf("# %s", all);
        free(all);
        hg_config_free(&c);
        hg_config_errors_free(&errors);
    }
    size_t len = 0;
    char *text = read_file("tests/data/config/secrets.conf", &len);
    if (ok(text != NULL, "read secrets.conf")) {
        struct hg_config_errors errors;
        hg_config_errors_init(&errors);
        struct hg_config *c = hg_config_parse(text, len, "secrets.conf", &errors);
        char *all = format_errors(&errors, "secrets.conf");
        ok(errors.count >= 10 && strstr(all, "hunter2") == NULL, "secrets.conf: many errors, no secret");
        free(all);
        hg_config_free(&c);
        hg_config_errors_free(&errors);
    }
    free(text);
}

/* ------------------------------------------------------------------------ */
/* Key suggestions.                                                        */

struct suggest_case {
    const char *section, *key, *want;
};

static const struct suggest_case suggest_cases[] = {
    {"mailbox", "pol_interval", "poll_interval"},
    {"mailbox support", "poll_intreval", "poll_interval"},
    {"mailbox", "Host", "host"},
    {"mailbox", "hots", "host"},
    {"mailbox", "max_mesage_size", "max_message_size"},
    {"mailbox", "password", "password_file"},
    {"mailbox", "xoauth2_token", "xoauth2_token_file"},
    {"mailbox", "after-ingest", "after_ingest"},
    {"mailbox", "mailbox_folder", "folder"},
    {"database", "conect_timeout", "connect_timeout"},
    {"database", "db_conninfo", "conninfo"},
    {"chat", "allowed_origin", "allowed_origins"},
    {"chat", "chat_max_frame", "max_frame"},
    {"chat", "maxframe", "max_frame"},
    {"retention", "raw_day", "raw_days"},
    {"helpgate", "ticket_prefix", "ticket_tag_prefix"},
    {"smtp", "form", "from"},
    {"mailbox", "completely_different", NULL},
    {"mailbox", "x", NULL},
    {"helpgate", "poll_interval", NULL},
    {"nosuchsection", "host", NULL},
    {"mailbox", "", NULL},
};

static void test_suggestions(void)
{
    for (size_t i = 0; i < sizeof suggest_cases / sizeof suggest_cases[0]; i++) {
        const struct suggest_case *sc = &suggest_cases[i];
        char name[128];
        snprintf(name, sizeof name, "suggest [%s] %s", sc->section, sc->key);
        is_str(hg_config_suggest_key(sc->section, sc->key), sc->want, name);
    }
    char long_key[300];
    memset(long_key, 'a', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    ok(hg_config_suggest_key("mailbox", long_key) == NULL, "no suggestion for a very long key");
    ok(hg_config_suggest_key(NULL, "host") == NULL && hg_config_suggest_key("mailbox", NULL) == NULL,
       "NULL arguments");
    expect_errors(WITH_MAILBOX "\n\npol_interval = 5m\n",
                  "test.conf:9: pol_interval: unknown key \"pol_interval\" in [mailbox m]; did you mean "
                  "\"poll_interval\"?\n",
                  "misspelt key: suggestion and line number");
    expect_errors(
        MINIMAL "[helpgate]\nmax_frame = 1k\nframe_max = 1k\nconninfo = x\n",
        "test.conf:4: max_frame: unknown key \"max_frame\" in [helpgate]; it belongs in [chat]\n"
        "test.conf:5: frame_max: unknown key \"frame_max\" in [helpgate]; see helpgate.conf(5) for the "
        "keys of [helpgate]\n"
        "test.conf:6: conninfo: unknown key \"conninfo\" in [helpgate]; it belongs in [database]\n",
        "keys in the wrong section");
    expect_errors(MINIMAL "[helpgate]\npoll_intervall = 1m\n",
                  "test.conf:4: poll_intervall: unknown key \"poll_intervall\" in [helpgate]; did you mean "
                  "\"poll_interval\" in [mailbox NAME]?\n",
                  "misspelt key of another section");
}

/* ------------------------------------------------------------------------ */
/* Several errors in one file are all collected.                           */

static void test_collects_all_errors(void)
{
    expect_errors(
        "[database]\nconninfo = dbname=x\nconnect_timeout = soon\n[mailbox a]\nhost = localhost\n"
        "port = 0\nuser = u\npassword_file = relative\nbatch_size = many\nidle = perhaps\n"
        "[retention]\nraw_days = -1\narchive_dir = archive\n",
        "test.conf:3: connect_timeout: invalid duration \"soon\"; write e.g. 300, 300s, 5m or 1h\n"
        "test.conf:6: port: port 0 out of range; write a number from 1 to 65535\n"
        "test.conf:8: password_file: value is not an absolute path (not shown); write the full path of "
        "the file, e.g. /etc/helpgate/imap-support.pass\n"
        "test.conf:9: batch_size: invalid number \"many\"; write a whole number from 1 to 1000\n"
        "test.conf:10: idle: invalid boolean \"perhaps\"; write yes or no\n"
        "test.conf:12: raw_days: raw_days -1 out of range; write a number from 0 to 36500\n"
        "test.conf:13: archive_dir: path \"archive\" is not absolute; write a full path such as "
        "/var/lib/helpgate/archive\n",
        "seven errors in one file, in line order");
    expect_errors(WITH_MAILBOX "idle = yes\nidle = no\n",
                  "test.conf:8: idle: \"idle\" is set twice (first on line 7); keep only one\n",
                  "duplicate key");
}

/* ------------------------------------------------------------------------ */
/* Hostile input: errors, never a crash (ASan/UBSan watch).                */

/* A string literal and its length, NUL bytes included. */
#define LITERAL(s) s, sizeof(s) - 1

static void expect_error_containing(const char *text, size_t len, const char *needle, const char *name)
{
    struct hg_config_errors errors;
    hg_config_errors_init(&errors);
    struct hg_config *c = hg_config_parse(text, len, "test.conf", &errors);
    char *all = format_errors(&errors, "test.conf");
    ok(c == NULL, "%s: rejected", name);
    if (!ok(strstr(all, needle) != NULL, "%s: error says \"%s\"", name, needle))
        printf("# got: %.500s\n", all);
    ok(errors.count <= 101, "%s: at most 101 errors (got %zu)", name, errors.count);
    free(all);
    hg_config_free(&c);
    hg_config_errors_free(&errors);
}

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void test_hostile(void)
{
    size_t big = 2 * 1024 * 1024;
    char *buf = malloc(big + 1);

    /* A 4096-byte line is fine, a 4097-byte line is not. */
    int n =
        snprintf(buf, big, MINIMAL "[mailbox m]\nhost = localhost\nuser = u\npassword_file = /p\nfolder = ");
    memset(buf + n, 'f', 4096 - strlen("folder = "));
    strcpy(buf + n + 4096 - strlen("folder = "), "\n");
    struct hg_config_errors errors;
    struct hg_config *c = parse_text(buf, &errors);
    ok(c != NULL && strlen(c->mailboxes[0].folder) == 4096 - strlen("folder = "), "a 4096-byte line is read");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    strcpy(buf + n + 4096 - strlen("folder = "), "f\n");
    expect_error_containing(buf, strlen(buf), "test.conf:7: line is 4097 bytes long; the limit is 4096 bytes",
                            "a 4097-byte line");
    memset(buf, 'x', 100000);
    expect_error_containing(buf, 100000, "test.conf:1: line is 100000 bytes long", "a huge line");

    expect_error_containing(LITERAL("[database]\nconninfo = db\0name=x\n"),
                            "test.conf:2: NUL byte at column 14; the file must be plain UTF-8 text",
                            "a NUL byte");
    expect_error_containing(LITERAL("[database]\nconninfo = dbname=\xff\n"),
                            "test.conf:2: invalid UTF-8 (byte 0xFF) at column 19; save the file as UTF-8",
                            "invalid UTF-8");
    expect_error_containing(LITERAL("[database]\nconninfo = dbname=\xc0\xaf\n"), "invalid UTF-8 (byte 0xC0)",
                            "overlong UTF-8");
    expect_error_containing(LITERAL("[database]\nconninfo = dbname=\xed\xa0\x80\n"),
                            "invalid UTF-8 (byte 0xED)", "UTF-16 surrogate in UTF-8");
    expect_error_containing(LITERAL("[database]\nconninfo = dbname=\xe2\x82\n"), "invalid UTF-8 (byte 0xE2)",
                            "truncated UTF-8 at the end of a line");
    expect_error_containing(LITERAL("[database]\nconninfo = dbname=\x1b[31m\n"),
                            "control character 0x1B at column 19", "an escape sequence");

    /* Random binary. */
    uint32_t state = 2463534242u;
    for (size_t i = 0; i < 200000; i++)
        buf[i] = (char)(next_random(&state) & 0xff);
    expect_error_containing(buf, 200000, "too many errors; stopped reading here after 100", "random binary");
    for (size_t i = 0; i < 200000; i++)
        buf[i] = "[]=#;\" \n\r\tabcmailbox\\"[next_random(&state) % 22];
    expect_error_containing(buf, 200000, "test.conf", "random punctuation");

    /* 2000 sections. */
    size_t len = 0;
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(buf + len, "[mailbox m%d]\n", i);
    expect_error_containing(buf, len, "too many errors; stopped reading here after 100",
                            "2000 empty mailboxes");
    len = (size_t)sprintf(buf, MINIMAL);
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(buf + len, "[mailbox m%d]\nhost=localhost\nuser=u\npassword_file=/p\n", i);
    expect_error_containing(
        buf, len,
        "test.conf:4003: more than 1000 [mailbox] sections; run several helpgated instances "
        "with separate files instead",
        "2000 valid mailboxes");
    len = 0;
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(buf + len, "[helpgate]\n");
    expect_error_containing(buf, len, "section [helpgate] appears again (first on line 1)",
                            "2000 [helpgate]");

    /* Exactly 1000 mailboxes are fine. */
    len = (size_t)sprintf(buf, MINIMAL);
    for (int i = 0; i < 1000; i++)
        len += (size_t)sprintf(buf + len, "[mailbox m%d]\nhost=localhost\nuser=u\npassword_file=/p\n", i);
    hg_config_errors_init(&errors);
    c = hg_config_parse(buf, len, "test.conf", &errors);
    ok(c != NULL && c->n_mailboxes == 1000, "1000 mailboxes are accepted");
    hg_config_free(&c);
    hg_config_errors_free(&errors);

    /* Size limit. */
    memset(buf, '#', big);
    expect_error_containing(buf, 1024 * 1024 + 1,
                            "test.conf: file is 1048577 bytes; the limit is 1048576 bytes (1 MiB)",
                            "a 1 MiB + 1 file");
    for (size_t i = 63; i < big; i += 64)
        buf[i] = '\n';
    hg_config_errors_init(&errors);
    c = hg_config_parse(buf, 1024 * 1024, "test.conf", &errors);
    ok(errors.count == 1 && strstr(errors.items[0].message, "missing [database]") != NULL,
       "a file of exactly 1 MiB is read");
    hg_config_free(&c);
    hg_config_errors_free(&errors);

    /* NULL text, NULL errors. */
    hg_config_errors_init(&errors);
    c = hg_config_parse(NULL, 0, "test.conf", &errors);
    ok(c == NULL && errors.count == 1, "NULL text is an empty file");
    hg_config_errors_free(&errors);
    c = hg_config_parse(MINIMAL, strlen(MINIMAL), NULL, NULL);
    ok(c != NULL, "errors may be NULL");
    hg_config_free(&c);
    c = hg_config_parse("junk", 4, NULL, NULL);
    ok(c == NULL, "errors may be NULL for a bad file too");

    /* Every prefix of good.conf: errors or a config, never a crash. */
    char *text = read_file("tests/data/config/good.conf", &len);
    int accepted = 0;
    for (size_t cut = 0; text != NULL && cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any read past the end */
        memcpy(copy, text, cut);
        hg_config_errors_init(&errors);
        c = hg_config_parse(copy, cut, "good.conf", &errors);
        accepted += c != NULL;
        hg_config_free(&c);
        hg_config_errors_free(&errors);
        free(copy);
    }
    ok(text != NULL && accepted > 0, "every prefix of good.conf parses or fails cleanly (%d accepted)",
       accepted);
    free(text);
    free(buf);
}

/* ------------------------------------------------------------------------ */
/* The error API.                                                          */

static void test_error_api(void)
{
    struct hg_config_errors errors;
    hg_config_errors_init(&errors);
    hg_config_errors_add(&errors, 0, NULL, "whole file: %d", 1);
    hg_config_errors_add(&errors, 12, "host", "cannot resolve %s", "imap.example.com");
    char *a = hg_config_error_format(&errors, 0, "/etc/helpgate/helpgate.conf");
    char *b = hg_config_error_format(&errors, 1, "/etc/helpgate/helpgate.conf");
    is_str(a, "/etc/helpgate/helpgate.conf: whole file: 1", "format without line and key");
    is_str(b, "/etc/helpgate/helpgate.conf:12: host: cannot resolve imap.example.com",
           "format with line and key");
    ok(hg_config_error_format(&errors, 2, "x") == NULL, "format out of range is NULL");
    free(a);
    free(b);
    struct hg_config *c = hg_config_parse(MINIMAL, strlen(MINIMAL), "x", &errors);
    ok(c != NULL && errors.count == 2, "parse appends to an error list and judges only its own errors");
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    ok(errors.items == NULL && errors.count == 0, "errors_free empties the list");
    hg_config_errors_free(&errors);
}

/* ------------------------------------------------------------------------ */
/* The setting table, the man page and the example file.                   */

static const char *known_types[] = {"string", "path", "int",  "size",  "duration",
                                    "bool",   "enum", "list", "number"};

static void test_settings_table(void)
{
    size_t count = 0;
    const struct hg_config_setting_info *info = hg_config_settings(&count);
    ok(info != NULL && count >= 40, "the table has %zu settings", count);
    int problems = 0;
    for (size_t i = 0; i < count; i++) {
        bool known = false;
        for (size_t t = 0; t < sizeof known_types / sizeof known_types[0]; t++)
            known = known || strcmp(info[i].type, known_types[t]) == 0;
        if (!known || info[i].doc == NULL || info[i].doc[0] == '\0' || info[i].default_value == NULL) {
            printf("# bad row %s.%s\n", info[i].section, info[i].key);
            problems++;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(info[i].section, info[j].section) == 0 && strcmp(info[i].key, info[j].key) == 0) {
                printf("# duplicate %s.%s\n", info[i].section, info[i].key);
                problems++;
            }
    }
    is_int(problems, 0, "every row has a known type, a doc line, and a unique key");
    size_t again = 0;
    ok(hg_config_settings(&again) == info && again == count, "the table is stable");
}

/* Finds "\n.SS [section]" (or "[mailbox NAME]") and returns the text up to the next ".SS". */
static char *man_section(const char *man, const char *section)
{
    char heading[64];
    if (strcmp(section, "mailbox") == 0)
        snprintf(heading, sizeof heading, "\n.SS \"[mailbox NAME]\"\n");
    else
        snprintf(heading, sizeof heading, "\n.SS [%s]\n", section);
    const char *start = strstr(man, heading);
    if (start == NULL)
        return NULL;
    start += strlen(heading);
    const char *end = strstr(start, "\n.SS ");
    if (end == NULL)
        end = strstr(start, "\n.SH ");
    size_t n = end != NULL ? (size_t)(end - start + 1) : strlen(start);
    char *out = malloc(n + 1);
    memcpy(out, start, n);
    out[n] = '\0';
    replace_all(out, "\\-", "-");
    replace_all(out, "\\(dq", "\"");
    return out;
}

static void test_man_page(void)
{
    size_t len = 0, count = 0;
    char *man = read_file("daemon/helpgate.conf.5", &len);
    if (!ok(man != NULL, "read daemon/helpgate.conf.5"))
        return;
    const struct hg_config_setting_info *info = hg_config_settings(&count);
    int missing = 0;
    for (size_t i = 0; i < count; i++) {
        char *section = man_section(man, info[i].section);
        char entry[512], default_value[256];
        snprintf(default_value, sizeof default_value, "%s", info[i].default_value);
        replace_all(default_value, HG_SYSCONFDIR, "/etc/helpgate");
        replace_all(default_value, HG_PKGDATADIR, "/usr/share/helpgate");
        if (default_value[0] != '\0')
            snprintf(entry, sizeof entry, "\n.TP\n.B %s\n(%s; default: %s; %s)\n", info[i].key, info[i].type,
                     default_value, info[i].reloadable ? "reloadable" : "restart");
        else
            snprintf(entry, sizeof entry, "\n.TP\n.B %s\n(%s; no default; %s)\n", info[i].key, info[i].type,
                     info[i].reloadable ? "reloadable" : "restart");
        if (section == NULL || strstr(section, entry) == NULL) {
            printf("# helpgate.conf.5 lacks, under [%s]:%s", info[i].section, entry);
            missing++;
        }
        free(section);
    }
    is_int(missing, 0, "the man page documents every key with its type, default and reload behaviour");
    char *example = strstr(man, "\n.SH EXAMPLE\n.EX\n");
    char *example_end = example != NULL ? strstr(example, "\n.EE\n") : NULL;
    if (ok(example != NULL && example_end != NULL, "the man page has an example")) {
        example += strlen("\n.SH EXAMPLE\n.EX\n");
        example_end[1] = '\0';
        replace_all(example, "\\-", "-");
        expect_errors(example, "", "the man page example is valid");
    }
    free(man);
}

static void test_example_file(void)
{
    size_t len = 0;
    char *text = read_file("contrib/helpgate.conf.example", &len);
    if (!ok(text != NULL, "read contrib/helpgate.conf.example"))
        return;
    struct hg_config_errors errors;
    hg_config_errors_init(&errors);
    struct hg_config *c = hg_config_parse(text, len, "helpgate.conf.example", &errors);
    char *all = format_errors(&errors, "helpgate.conf.example");
    is_str(all, "", "the example config is valid");
    ok(c != NULL && c->n_mailboxes >= 1, "the example has a mailbox");
    free(all);
    hg_config_free(&c);
    hg_config_errors_free(&errors);
    free(text);
}

int main(void)
{
    test_good_file();
    test_defaults();
    test_values();
    test_quoting();
    test_crlf();
    test_reference_files();
    test_rules();
    test_secrets();
    test_suggestions();
    test_collects_all_errors();
    test_hostile();
    test_error_api();
    test_settings_table();
    test_man_page();
    test_example_file();
    return tap_done();
}
