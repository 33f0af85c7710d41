/*
 * helpgated.c — the helpgate daemon: start-up, signals, the database
 * connection and readiness.
 *
 * Life cycle: load the config (a bad file stops start-up with every error
 * listed), connect to PostgreSQL (retrying with backoff and jitter for as
 * long as it takes, logging why), refuse a schema that is behind, then tell
 * systemd READY=1 and serve. A bad rules file stops start-up too. SIGHUP
 * reloads the config and the rules (a bad file is rejected and the old one
 * keeps running); SIGTERM/SIGINT stop gracefully.
 *
 * Signals are blocked in every thread and taken synchronously with
 * sigtimedwait() in the main loop, so no work happens in a signal handler.
 */
#include "config.h"

#include "helpgate/alloc.h"
#include "helpgate/backoff.h"
#include "helpgate/config_check.h"
#include "helpgate/lease.h"
#include "helpgate/log.h"
#include "helpgate/mail_ingest.h"
#include "helpgate/chat.h"
#include "helpgate/mailloop.h"
#include "helpgate/metrics.h"
#include "helpgate/migrate.h"
#include "helpgate/poller.h"
#include "helpgate/pool.h"
#include "helpgate/rules_file.h"
#include "helpgate/rules_holder.h"
#include "helpgate/sender.h"
#include "helpgate/sla_scheduler.h"
#include "helpgate/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define DB_PING_INTERVAL_MS 5000
#define MAIN_TICK_MS 1000
#define SLA_INTERVAL_S 30 /* how often the SLA scheduler looks for warnings and breaches */

struct daemon {
    const char *config_path;
    struct hg_config *cfg;
    struct hg_store *store;
    struct hg_backoff db_backoff;
    sigset_t signals;
    bool stopping;
    bool reload_pending;
    uint64_t watchdog_usec;
    int ready_pipe; /* write end towards the waiting parent, or -1 */
    /* Intake: a connection pool, the mailbox leases, one poller per mailbox. */
    struct hg_pool *pool;
    struct hg_leases *leases;
    struct hg_poller **pollers;
    size_t n_pollers;
    struct hg_mail_ingest_settings ingest;
    struct hg_rules_holder *rules;     /* the routing rules in force */
    struct hg_mailloop *mailloop;      /* acknowledgements and notifications; NULL without [smtp] */
    struct hg_mailloop *next_mailloop; /* built by a reload, swapped in while no poller runs */
    bool mailloop_pending;
    struct hg_sender *sender;                  /* drains the outbox; NULL without [smtp] */
    struct hg_sender_settings sender_settings; /* as the running sender was started (strings owned) */
    struct hg_chat *chat;                      /* the chat listener; NULL when [chat] is not enabled */
    char *chat_fingerprint;                    /* the [chat] settings it was started with */
    struct hg_sla_scheduler *sla;              /* SLA warnings and breaches, every SLA_INTERVAL_S */
    struct hg_metrics_sampler *metrics;        /* the database's figures for /metrics */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: helpgated [--config FILE] [--foreground] [--check-config]\n"
            "\n"
            "  -c, --config FILE    configuration file (default: $HELPGATE_CONFIG or %s)\n"
            "  -f, --foreground     stay in the foreground (the default under systemd)\n"
            "  -n, --check-config   check the configuration, print \"configuration OK\" and exit\n"
            "  -V, --version        print the version and exit\n"
            "  -h, --help           this help\n"
            "\nSee helpgated(8).\n",
            hg_config_default_path(NULL));
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void log_config_errors(const char *path, const struct hg_config_errors *errors,
                              enum hg_log_level level)
{
    for (size_t i = 0; i < errors->count; i++) {
        const struct hg_config_error *e = &errors->items[i];
        hg_log(level, level >= HG_LOG_ERROR ? "config_error" : "config_warning",
               "file=%s line=%d key=%s message=%s", HG_Q(path), e->line, HG_Q(e->key ? e->key : "-"),
               HG_Q(e->message));
    }
}

/* Loads and checks the config; NULL (with every error logged) when it is not valid. */
static struct hg_config *load_config(const char *path)
{
    struct hg_config_errors errors, warnings;
    hg_config_errors_init(&errors);
    hg_config_errors_init(&warnings);
    struct hg_config *cfg = hg_config_load(path, &errors, &warnings);
    log_config_errors(path, &errors, HG_LOG_ERROR);
    log_config_errors(path, &warnings, HG_LOG_WARN);
    hg_config_errors_free(&errors);
    hg_config_errors_free(&warnings);
    return cfg;
}

static void set_log_prefix(const struct hg_config *cfg)
{
    char host[256] = "";
    const char *instance = cfg->instance;
    if (instance == NULL) {
        gethostname(host, sizeof(host) - 1);
        instance = host;
    }
    char *prefix = hg_xasprintf("instance=%s", HG_Q(instance));
    hg_log_set_prefix(prefix);
    free(prefix);
}

static void apply_mailboxes(struct daemon *d);
static void swap_mailloop(struct daemon *d);
static void apply_sender(struct daemon *d);
static void apply_chat(struct daemon *d);

/*
 * Loads the configured rules file; logs every error and returns -1 when it is
 * bad. No file at the default path means no rules: every ticket goes to L1.
 */
static int load_rules(const struct hg_config *cfg, struct hg_rules **rules_r)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    bool missing = false;
    int rc = hg_rules_load_configured(cfg->rules_file, rules_r, &missing, &errors);
    for (size_t i = 0; i < errors.count; i++) {
        const struct hg_rules_error *e = &errors.items[i];
        hg_log_error("rules_error", "file=%s line=%d col=%d message=%s hint=%s", HG_Q(cfg->rules_file),
                     e->line, e->col, HG_Q(e->message), HG_Q(e->hint != NULL ? e->hint : ""));
    }
    hg_rules_errors_free(&errors);
    if (missing)
        hg_log_warn("rules_missing", "file=%s reason=%s", HG_Q(cfg->rules_file),
                    HG_Q("no rules file: every ticket goes to L1 with the default acknowledgement"));
    else if (rc == 0)
        hg_log_info("rules_loaded", "file=%s rules=%zu", HG_Q(cfg->rules_file), hg_rules_count(*rules_r));
    return rc;
}

static void reload_rules(struct daemon *d)
{
    struct hg_rules *rules = NULL;
    if (load_rules(d->cfg, &rules) < 0) {
        hg_log_error("rules_reload_rejected", "file=%s reason=%s", HG_Q(d->cfg->rules_file),
                     HG_Q("the new rules have errors; the running rules are kept"));
        return;
    }
    if (d->rules != NULL)
        hg_rules_holder_replace(d->rules, rules);
    else
        hg_rules_free(&rules);
}

/* The mail loop for CFG (NULL without [smtp]); -1 after logging why it cannot be built. */
static int build_mailloop(const struct hg_config *cfg, struct hg_mailloop **loop_r)
{
    *loop_r = NULL;
    if (cfg->smtp_url == NULL)
        return 0;
    char *error = NULL;
    *loop_r = hg_mailloop_new(cfg, &error);
    if (*loop_r == NULL) {
        hg_log_error("mailloop_error", "templates_dir=%s error=%s", HG_Q(cfg->templates_dir), HG_Q(error));
        free(error);
        return -1;
    }
    if (hg_mailloop_template_count(*loop_r) == 0)
        hg_log_warn("templates_missing", "templates_dir=%s reason=%s", HG_Q(cfg->templates_dir),
                    HG_Q("no *.tmpl files: no acknowledgement or notification is sent"));
    else
        hg_log_info("templates_loaded", "templates_dir=%s templates=%zu", HG_Q(cfg->templates_dir),
                    hg_mailloop_template_count(*loop_r));
    return 0;
}

static void reload_config(struct daemon *d)
{
    hg_log_info("config_reload", "file=%s", HG_Q(d->config_path));
    struct hg_config *fresh = load_config(d->config_path);
    struct hg_mailloop *loop = NULL;
    if (fresh == NULL || build_mailloop(fresh, &loop) < 0) {
        hg_log_error("config_reload_rejected", "file=%s reason=%s", HG_Q(d->config_path),
                     HG_Q("the new configuration or its templates have errors; the running ones are kept"));
        hg_config_free(&fresh);
        return;
    }
    hg_mailloop_free(&d->next_mailloop);
    d->next_mailloop = loop;
    d->mailloop_pending = true;
    if (strcmp(fresh->db_conninfo, d->cfg->db_conninfo) != 0)
        hg_log_warn("config_needs_restart", "key=database.conninfo reason=%s",
                    HG_Q("a new database connection takes effect on restart"));
    hg_config_free(&d->cfg);
    d->cfg = fresh;
    set_log_prefix(d->cfg);
    reload_rules(d);
    if (d->pool != NULL) {
        apply_mailboxes(d);
        apply_sender(d);
        apply_chat(d);
        struct hg_retention_settings retention;
        hg_retention_settings_from_config(d->cfg, &retention);
        hg_sla_scheduler_set_retention(d->sla, &retention);
    } else {
        swap_mailloop(d);
    }
    hg_log_info("config_reloaded", "file=%s mailboxes=%zu", HG_Q(d->config_path), d->cfg->n_mailboxes);
}

/* Waits up to TIMEOUT_MS for a signal and acts on it. */
static void wait_for_signal(struct daemon *d, unsigned timeout_ms)
{
    struct timespec timeout = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
    int sig = sigtimedwait(&d->signals, NULL, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
        hg_log_info("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        sd_notify(0, "STOPPING=1");
        d->stopping = true;
    } else if (sig == SIGHUP) {
        d->reload_pending = true;
    }
}

/* Sleeps for MS, waking early for signals; stops early when asked to stop. */
static void sleep_interruptible(struct daemon *d, unsigned ms)
{
    uint64_t until = monotonic_ms() + ms;
    while (!d->stopping) {
        uint64_t now = monotonic_ms();
        if (now >= until)
            break;
        uint64_t left = until - now;
        wait_for_signal(d, left > MAIN_TICK_MS ? MAIN_TICK_MS : (unsigned)left);
        if (d->watchdog_usec > 0)
            sd_notify(0, "WATCHDOG=1");
        if (d->reload_pending) {
            d->reload_pending = false;
            reload_config(d);
        }
    }
}

/* Connects to PostgreSQL, retrying with backoff until it works or we are told to stop. */
static bool connect_database(struct daemon *d)
{
    char app_name[64];
    snprintf(app_name, sizeof(app_name), "helpgated/%s", d->cfg->instance ? d->cfg->instance : "default");
    while (!d->stopping) {
        struct hg_store_params params = {
            .conninfo = d->cfg->db_conninfo,
            .password_file = d->cfg->db_password_file,
            .connect_timeout = d->cfg->db_connect_timeout,
            .application_name = app_name,
        };
        char *error = NULL;
        d->store = hg_store_connect(&params, &error);
        if (d->store != NULL) {
            hg_log_info("db_connected", "database=%s attempts=%u", HG_Q(hg_store_describe(d->store)),
                        d->db_backoff.attempt + 1);
            hg_backoff_reset(&d->db_backoff);
            return true;
        }
        unsigned delay = hg_backoff_next_ms(&d->db_backoff);
        hg_log_warn("db_connect_failed", "attempt=%u retry_in_ms=%u error=%s", d->db_backoff.attempt, delay,
                    HG_Q(error));
        free(error);
        sd_notifyf(0, "STATUS=waiting for PostgreSQL (attempt %u)", d->db_backoff.attempt);
        sleep_interruptible(d, delay);
    }
    return false;
}

/* 0 when the schema is current (or newer), -1 when it is behind or cannot be read. */
static int check_schema(struct daemon *d)
{
    int current = 0;
    char *error = NULL;
    if (hg_migrate_current_version(d->store, &current, &error) < 0) {
        hg_log_error("schema_check_failed", "error=%s", HG_Q(error));
        free(error);
        return -1;
    }
    int needed = hg_migrate_latest_version();
    if (current < needed) {
        hg_log_error("schema_behind", "schema_version=%d needed=%d hint=%s", current, needed,
                     HG_Q("run: helpgatectl migrate"));
        return -1;
    }
    if (current > needed)
        hg_log_warn("schema_newer", "schema_version=%d built_for=%d hint=%s", current, needed,
                    HG_Q("this helpgated is older than the database schema; upgrade it"));
    return 0;
}

static void tell_parent(struct daemon *d, char status)
{
    if (d->ready_pipe < 0)
        return;
    ssize_t ignored = write(d->ready_pipe, &status, 1);
    (void)ignored;
    close(d->ready_pipe);
    d->ready_pipe = -1;
}

/*
 * Detaches from the terminal. The parent waits until the child reports
 * ready ('0') or failed (anything else), and exits accordingly, so that
 * `helpgated && echo up` means what it says.
 */
static void detach(struct daemon *d)
{
    int fds[2];
    if (pipe(fds) < 0)
        hg_log_fatal("detach_failed", "error=%s", HG_Q(strerror(errno)));
    pid_t pid = fork();
    if (pid < 0)
        hg_log_fatal("detach_failed", "error=%s", HG_Q(strerror(errno)));
    if (pid > 0) {
        close(fds[1]);
        char status = '1';
        ssize_t n = read(fds[0], &status, 1);
        _exit(n == 1 && status == '0' ? 0 : 1);
    }
    close(fds[0]);
    d->ready_pipe = fds[1];
    setsid();
    if (freopen("/dev/null", "r", stdin) == NULL)
        hg_log_warn("detach_stdin", "error=%s", HG_Q(strerror(errno)));
}

/* Keeps the database connection alive; reconnects with backoff when it is lost. */
static void supervise_database(struct daemon *d, uint64_t *next_ping)
{
    uint64_t now = monotonic_ms();
    if (now < *next_ping)
        return;
    *next_ping = now + DB_PING_INTERVAL_MS;
    char *error = NULL;
    if (hg_store_ping(d->store, &error) == 0)
        return;
    hg_log_warn("db_connection_lost", "error=%s", HG_Q(error));
    free(error);
    hg_store_free(&d->store);
    sd_notify(0, "STATUS=reconnecting to PostgreSQL");
    if (connect_database(d))
        sd_notify(0, "STATUS=running");
}

/* ---- intake: pollers ------------------------------------------------------------------------ */

static bool same_setting(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *copy_setting(const char *s)
{
    return s ? hg_xstrdup(s) : NULL;
}

static void free_ingest_settings(struct hg_mail_ingest_settings *s)
{
    free((char *)s->ticket_tag_prefix);
    free((char *)s->support_address);
    free((char *)s->support_domain);
    memset(s, 0, sizeof(*s));
}

/* The pollers read d->ingest while they run: it is only replaced while none runs. */
static bool ingest_settings_changed(const struct daemon *d)
{
    return d->mailloop_pending || !same_setting(d->ingest.ticket_tag_prefix, d->cfg->ticket_tag_prefix) ||
           !same_setting(d->ingest.support_address, d->cfg->smtp_from) ||
           !same_setting(d->ingest.support_domain, d->cfg->support_domain);
}

/* Takes the mail loop a reload built (no poller may run). */
static void swap_mailloop(struct daemon *d)
{
    if (!d->mailloop_pending)
        return;
    hg_chat_pause(d->chat); /* its workers read the mail loop too, and so does the SLA scheduler */
    hg_sla_scheduler_pause(d->sla);
    hg_mailloop_free(&d->mailloop);
    d->mailloop = d->next_mailloop;
    d->next_mailloop = NULL;
    d->mailloop_pending = false;
    hg_chat_resume(d->chat, &(struct hg_chat_store_settings){.rules = d->rules, .mailloop = d->mailloop});
    hg_sla_scheduler_resume(d->sla, d->mailloop);
}

static void set_ingest_settings(struct daemon *d)
{
    free_ingest_settings(&d->ingest);
    swap_mailloop(d);
    d->ingest.ticket_tag_prefix = copy_setting(d->cfg->ticket_tag_prefix);
    d->ingest.support_address = copy_setting(d->cfg->smtp_from);
    d->ingest.support_domain = copy_setting(d->cfg->support_domain);
    d->ingest.rules = d->rules;
    d->ingest.mailloop = d->mailloop;
}

static const struct hg_mailbox_config *find_mailbox(const struct hg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_mailboxes; i++)
        if (strcmp(cfg->mailboxes[i].name, name) == 0)
            return &cfg->mailboxes[i];
    return NULL;
}

static bool has_poller(const struct daemon *d, const char *name)
{
    for (size_t i = 0; i < d->n_pollers; i++)
        if (strcmp(hg_poller_name(d->pollers[i]), name) == 0)
            return true;
    return false;
}

/* Stops the pollers whose mailbox went away or changed, and starts the missing ones. */
static void apply_mailboxes(struct daemon *d)
{
    size_t kept = 0;
    bool restart_all = ingest_settings_changed(d);
    for (size_t i = 0; i < d->n_pollers; i++) {
        const struct hg_mailbox_config *mb = find_mailbox(d->cfg, hg_poller_name(d->pollers[i]));
        if (!restart_all && mb != NULL && hg_poller_config_equal(d->pollers[i], mb)) {
            d->pollers[kept++] = d->pollers[i];
            continue;
        }
        hg_log_info("mailbox_stopping", "mailbox=%s reason=%s", HG_Q(hg_poller_name(d->pollers[i])),
                    mb == NULL    ? "removed"
                    : restart_all ? "intake_settings_changed"
                                  : "changed");
        hg_poller_stop(&d->pollers[i]);
    }
    d->n_pollers = kept;
    if (restart_all)
        set_ingest_settings(d);
    struct hg_poller_env env = {.pool = d->pool,
                                .leases = d->leases,
                                .ingest = hg_mail_ingest,
                                .ingest_arg = &d->ingest,
                                .batch_done = hg_mail_ingest_batch_done};
    d->pollers = hg_xrealloc(d->pollers, (d->n_pollers + d->cfg->n_mailboxes) * sizeof(*d->pollers));
    for (size_t i = 0; i < d->cfg->n_mailboxes; i++) {
        const struct hg_mailbox_config *mb = &d->cfg->mailboxes[i];
        if (has_poller(d, mb->name))
            continue;
        hg_log_info("mailbox_starting", "mailbox=%s host=%s folder=%s", HG_Q(mb->name), HG_Q(mb->host),
                    HG_Q(mb->folder));
        d->pollers[d->n_pollers++] = hg_poller_start(mb, &env);
    }
}

static struct hg_store_params store_params(const struct daemon *d, char *app_name, size_t size)
{
    snprintf(app_name, size, "helpgated/%s", d->cfg->instance ? d->cfg->instance : "default");
    return (struct hg_store_params){
        .conninfo = d->cfg->db_conninfo,
        .password_file = d->cfg->db_password_file,
        .connect_timeout = d->cfg->db_connect_timeout,
        .application_name = app_name,
    };
}

static void free_sender_settings(struct hg_sender_settings *s)
{
    free((char *)s->url);
    free((char *)s->user);
    free((char *)s->password_file);
    free((char *)s->ca_file);
    memset(s, 0, sizeof(*s));
}

static bool sender_settings_equal(const struct hg_sender_settings *a, const struct hg_config *cfg)
{
    return same_setting(a->url, cfg->smtp_url) && same_setting(a->user, cfg->smtp_user) &&
           same_setting(a->password_file, cfg->smtp_password_file) &&
           same_setting(a->ca_file, cfg->smtp_ca_file) && a->tls_verify == cfg->smtp_tls_verify &&
           a->allow_plaintext == cfg->smtp_allow_plaintext && a->retry_initial == cfg->smtp_retry_initial &&
           a->retry_max == cfg->smtp_retry_max && a->give_up_after == cfg->smtp_give_up_after;
}

/* Starts, restarts or stops the outbox sender to match [smtp]. */
static void apply_sender(struct daemon *d)
{
    bool same =
        d->sender != NULL && d->cfg->smtp_url != NULL && sender_settings_equal(&d->sender_settings, d->cfg);
    bool new_password = same && hg_sender_password_changed(d->sender);
    if (same && !new_password)
        return;
    if (d->sender != NULL) {
        hg_log_info("sender_stopping", "reason=%s",
                    new_password               ? "smtp_password_changed"
                    : d->cfg->smtp_url != NULL ? "smtp_changed"
                                               : "smtp_removed");
        hg_sender_stop(&d->sender);
    }
    free_sender_settings(&d->sender_settings);
    if (d->cfg->smtp_url == NULL)
        return;
    d->sender_settings = (struct hg_sender_settings){
        .url = copy_setting(d->cfg->smtp_url),
        .user = copy_setting(d->cfg->smtp_user),
        .password_file = copy_setting(d->cfg->smtp_password_file),
        .ca_file = copy_setting(d->cfg->smtp_ca_file),
        .tls_verify = d->cfg->smtp_tls_verify,
        .allow_plaintext = d->cfg->smtp_allow_plaintext,
        .retry_initial = d->cfg->smtp_retry_initial,
        .retry_max = d->cfg->smtp_retry_max,
        .give_up_after = d->cfg->smtp_give_up_after,
    };
    char app_name[64];
    struct hg_store_params params = store_params(d, app_name, sizeof app_name);
    hg_log_info("sender_starting", "retry_initial=%d retry_max=%d give_up_after=%d",
                d->cfg->smtp_retry_initial, d->cfg->smtp_retry_max, d->cfg->smtp_give_up_after);
    d->sender = hg_sender_start(&params, &d->sender_settings);
}

/* Everything the chat listener was started with, as one string: a reload that changes it restarts the
 * listener. */
static char *chat_fingerprint(const struct hg_config *cfg)
{
    char *origins = hg_xstrdup("");
    for (char **o = cfg->chat_allowed_origins; o != NULL && *o != NULL; o++) {
        char *next = hg_xasprintf("%s %s", origins, *o);
        free(origins);
        origins = next;
    }
    for (char **o = cfg->chat_metrics_allow; o != NULL && *o != NULL; o++) {
        char *next = hg_xasprintf("%s m:%s", origins, *o);
        free(origins);
        origins = next;
    }
    char *fp = hg_xasprintf(
        "%d|%s|%s|%s|%s|%s|%ld|%ld|%d|%d|%d|%g|%d|%g|%d|%s|%s", cfg->chat_enabled, cfg->chat_listen,
        cfg->chat_tls_cert ? cfg->chat_tls_cert : "", cfg->chat_tls_key ? cfg->chat_tls_key : "", origins,
        cfg->chat_widget_dir, cfg->chat_max_frame, cfg->chat_max_message, cfg->chat_max_connections,
        cfg->chat_per_ip_connections, cfg->chat_idle_timeout * 100000 + cfg->chat_ping_interval,
        cfg->chat_rate, cfg->chat_burst, cfg->chat_ip_rate, cfg->chat_ip_burst,
        cfg->smtp_from ? cfg->smtp_from : "", cfg->support_domain ? cfg->support_domain : "");
    free(origins);
    return fp;
}

/* Starts, restarts or stops the chat listener to match [chat]. */
static void apply_chat(struct daemon *d)
{
    char *fp = chat_fingerprint(d->cfg);
    if (d->chat_fingerprint != NULL && strcmp(fp, d->chat_fingerprint) == 0) {
        free(fp);
        return;
    }
    if (d->chat != NULL) {
        hg_log_info("chat_stopping", "reason=%s", d->cfg->chat_enabled ? "chat_changed" : "chat_disabled");
        hg_chat_stop(&d->chat);
    }
    free(d->chat_fingerprint);
    d->chat_fingerprint = fp;
    if (!d->cfg->chat_enabled)
        return;
    char app_name[64];
    struct hg_chat_settings settings = {
        .listen = d->cfg->chat_listen,
        .tls_cert = d->cfg->chat_tls_cert,
        .tls_key = d->cfg->chat_tls_key,
        .allowed_origins = d->cfg->chat_allowed_origins,
        .metrics_allow = d->cfg->chat_metrics_allow,
        .widget_dir = d->cfg->chat_widget_dir,
        .max_frame = (size_t)d->cfg->chat_max_frame,
        .max_message = (size_t)d->cfg->chat_max_message,
        .max_connections = d->cfg->chat_max_connections,
        .per_ip_connections = d->cfg->chat_per_ip_connections,
        .idle_timeout = d->cfg->chat_idle_timeout,
        .ping_interval = d->cfg->chat_ping_interval,
        .rate = d->cfg->chat_rate,
        .ip_rate = d->cfg->chat_ip_rate,
        .burst = d->cfg->chat_burst,
        .ip_burst = d->cfg->chat_ip_burst,
        .db = store_params(d, app_name, sizeof app_name),
        .store = {.rules = d->rules,
                  .mailloop = d->mailloop,
                  .support_address = d->cfg->smtp_from,
                  .support_domain = d->cfg->support_domain},
    };
    char *error = NULL;
    d->chat = hg_chat_start(&settings, &error);
    if (d->chat == NULL) {
        hg_log_error("chat_error", "listen=%s error=%s", HG_Q(d->cfg->chat_listen), HG_Q(error));
        free(error);
    }
}

static void start_intake(struct daemon *d)
{
    char app_name[64];
    struct hg_store_params params = store_params(d, app_name, sizeof app_name);
    unsigned size = d->cfg->n_mailboxes < 8 ? (unsigned)d->cfg->n_mailboxes + 1 : 8;
    d->pool = hg_pool_new(&params, size);
    d->leases = hg_leases_new(&params, d->cfg->instance ? d->cfg->instance : app_name);
    apply_mailboxes(d);
    apply_sender(d);
    apply_chat(d);
    struct hg_retention_settings retention;
    hg_retention_settings_from_config(d->cfg, &retention);
    d->sla = hg_sla_scheduler_start(&params, d->mailloop, SLA_INTERVAL_S, &retention);
    if (d->cfg->chat_enabled)
        d->metrics = hg_metrics_sampler_start(&params);
}

/* Stops every poller: all are asked first, so they finish their message in flight in parallel. */
static void stop_intake(struct daemon *d)
{
    for (size_t i = 0; i < d->n_pollers; i++)
        hg_poller_request_stop(d->pollers[i]);
    for (size_t i = 0; i < d->n_pollers; i++)
        hg_poller_stop(&d->pollers[i]);
    free(d->pollers);
    d->pollers = NULL;
    d->n_pollers = 0;
    hg_sender_stop(&d->sender);
    free_sender_settings(&d->sender_settings);
    hg_chat_stop(&d->chat);
    hg_sla_scheduler_stop(&d->sla);
    hg_metrics_sampler_stop(&d->metrics);
    free(d->chat_fingerprint);
    d->chat_fingerprint = NULL;
    hg_leases_free(&d->leases);
    hg_pool_free(&d->pool);
    free_ingest_settings(&d->ingest);
}

static void serve(struct daemon *d)
{
    uint64_t next_ping = monotonic_ms() + DB_PING_INTERVAL_MS;
    while (!d->stopping) {
        sleep_interruptible(d, MAIN_TICK_MS);
        if (!d->stopping)
            supervise_database(d, &next_ping);
    }
}

static int parse_args(struct daemon *d, int argc, char **argv, bool *foreground, bool *check_only)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 'n'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:fnVh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            d->config_path = optarg;
            break;
        case 'f':
            *foreground = true;
            break;
        case 'n':
            *check_only = true;
            break;
        case 'V':
            printf("helpgated %s\n", PACKAGE_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "helpgated: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Chat visitors each hold a descriptor: take the hard limit as the soft one (systemd's unit sets both). */
static void raise_file_limit(const struct hg_config *cfg)
{
    struct rlimit rl;
    if (!cfg->chat_enabled || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)cfg->chat_max_connections + 100 > before)
        hg_log_info("file_limit_raised", "from=%llu to=%llu", (unsigned long long)before,
                    (unsigned long long)rl.rlim_cur);
}

static void block_signals(struct daemon *d)
{
    sigemptyset(&d->signals);
    sigaddset(&d->signals, SIGTERM);
    sigaddset(&d->signals, SIGINT);
    sigaddset(&d->signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &d->signals, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    struct daemon d = {.ready_pipe = -1};
    bool foreground = false, check_only = false;
    if (parse_args(&d, argc, argv, &foreground, &check_only) < 0)
        return 2;
    d.config_path = hg_config_default_path(d.config_path);

    d.cfg = load_config(d.config_path);
    if (d.cfg == NULL) {
        if (check_only)
            fprintf(stderr, "helpgated: %s has errors (details above)\n", d.config_path);
        return 2;
    }
    struct hg_rules *rules = NULL;
    if (load_rules(d.cfg, &rules) < 0) {
        fprintf(stderr,
                "helpgated: the rules file %s has errors (details above; helpgatectl rules check "
                "shows them too)\n",
                d.cfg->rules_file);
        hg_config_free(&d.cfg);
        return 2;
    }
    d.rules = hg_rules_holder_new(rules);
    if (build_mailloop(d.cfg, &d.mailloop) < 0) {
        fprintf(stderr, "helpgated: the templates in %s have errors (details above)\n", d.cfg->templates_dir);
        hg_rules_holder_free(&d.rules);
        hg_config_free(&d.cfg);
        return 2;
    }
    if (check_only) {
        printf("configuration OK\n");
        hg_mailloop_free(&d.mailloop);
        hg_rules_holder_free(&d.rules);
        hg_config_free(&d.cfg);
        return 0;
    }
    set_log_prefix(d.cfg);
    raise_file_limit(d.cfg);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    block_signals(&d);
    if (!foreground && getenv("NOTIFY_SOCKET") == NULL)
        detach(&d);
    hg_backoff_init(&d.db_backoff, 500, 30000, (uint64_t)getpid() ^ monotonic_ms());
    if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0)
        d.watchdog_usec = 0;

    hg_log_info("starting", "version=%s config=%s pid=%d", PACKAGE_VERSION, HG_Q(d.config_path),
                (int)getpid());
    int status = 1;
    if (connect_database(&d)) {
        if (check_schema(&d) == 0) {
            sd_notify(0, "READY=1\nSTATUS=running");
            hg_log_info("ready", "database=%s schema_version=%d mailboxes=%zu",
                        HG_Q(hg_store_describe(d.store)), hg_migrate_latest_version(), d.cfg->n_mailboxes);
            tell_parent(&d, '0');
            start_intake(&d);
            serve(&d);
            stop_intake(&d);
            status = 0;
        }
    } else {
        status = 0; /* asked to stop while waiting for the database */
    }
    tell_parent(&d, '1');
    hg_store_free(&d.store);
    hg_rules_holder_free(&d.rules);
    hg_mailloop_free(&d.mailloop);
    hg_mailloop_free(&d.next_mailloop);
    hg_config_free(&d.cfg);
    curl_global_cleanup();
    hg_log_info("stopped", "status=%d", status);
    return status;
}
