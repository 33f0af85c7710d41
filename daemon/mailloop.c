/*
 * mailloop.c — acknowledgements and team notifications queued at intake
 * (see mailloop.h). The decisions are the pure core's: parsers/ackpolicy.c
 * (may we write to this sender?), parsers/template.c (the words),
 * parsers/outmail.c (the RFC 5322 bytes), parsers/signed_address.c (the
 * Reply-To that lets an agent answer). This file gathers the facts from the
 * database and writes the outbox rows.
 */
#include "helpgate/mailloop.h"

#include "helpgate/ackpolicy.h"
#include "helpgate/agent_command.h"
#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/log.h"
#include "helpgate/metrics.h"
#include "helpgate/outmail.h"
#include "helpgate/readfile.h"
#include "helpgate/secret.h"
#include "helpgate/sha256.h"
#include "helpgate/signed_address.h"
#include "helpgate/template.h"
#include "store_pg.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TEMPLATE_FILE_MAX (256 * 1024)
#define MESSAGE_VAR_MAX (64 * 1024) /* the customer's words quoted in a notification */

static const char *const template_vars[] = {
    "ticket",  "ticket_tag", "subject",         "customer.name", "customer.email", "customer.tier",
    "tier",    "priority",   "queue",           "response_time", "reason",         "notes",
    "message", "channel",    "support_address", "sla.event",     "sla.target",     "sla.due",
};
#define N_TEMPLATE_VARS (sizeof template_vars / sizeof template_vars[0])

struct loaded_template {
    char *file; /* "vip.tmpl" */
    struct hg_template *t;
};

struct hg_mailloop {
    char *from_name;  /* or NULL */
    char *from_email; /* the support address */
    char *domain;     /* support_domain */
    char *tag_prefix;
    char *secret;
    size_t secret_len;
    struct hg_ackpolicy *policy;
    char **team[3];         /* configured team addresses, may be empty */
    char *response_time[3]; /* promised first response per tier, or NULL */
    struct loaded_template *templates;
    size_t n_templates;
    const char **files; /* template file names, for hg_template_choose() */
};

/* ------------------------------------------------------------------------ */
/* Loading.                                                                */

/* "Support <support@example.com>" or "support@example.com". */
static void split_from(const char *from, char **name_r, char **email_r)
{
    const char *lt = strrchr(from, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (lt == NULL || gt == NULL) {
        *name_r = NULL;
        *email_r = hg_xstrdup(from);
        return;
    }
    const char *end = lt;
    while (end > from && (end[-1] == ' ' || end[-1] == '"'))
        end--;
    const char *start = from;
    while (*start == ' ' || *start == '"')
        start++;
    *name_r = end > start ? hg_xstrndup(start, (size_t)(end - start)) : NULL;
    *email_r = hg_xstrndup(lt + 1, (size_t)(gt - lt - 1));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int load_one_template(struct hg_mailloop *loop, const char *dir, const char *file,
                             struct hg_buf *errors)
{
    char *path = hg_xasprintf("%s/%s", dir, file), *text = NULL, *error = NULL;
    size_t len = 0;
    int rc = hg_read_file(path, TEMPLATE_FILE_MAX, &text, &len, &error);
    if (rc < 0) {
        hg_buf_printf(errors, "%s\n", error);
        free(error);
        free(path);
        return -1;
    }
    struct hg_template_errors errs;
    hg_template_errors_init(&errs);
    struct hg_template *t = hg_template_compile(text, len, template_vars, N_TEMPLATE_VARS, NULL, &errs);
    for (size_t i = 0; i < errs.count && i < 5; i++) {
        char *line = hg_template_error_format(&errs, i, path);
        hg_buf_printf(errors, "%s\n", line);
        free(line);
    }
    hg_template_errors_free(&errs);
    free(text);
    free(path);
    if (t == NULL)
        return -1;
    loop->templates = hg_xrealloc(loop->templates, (loop->n_templates + 1) * sizeof(*loop->templates));
    loop->templates[loop->n_templates++] = (struct loaded_template){hg_xstrdup(file), t};
    return 0;
}

/* Every *.tmpl of DIR; a missing directory means no templates (nothing is sent; helpgated logs it). */
static int load_templates(struct hg_mailloop *loop, const char *dir, char **error_r)
{
    DIR *d = dir != NULL ? opendir(dir) : NULL;
    if (d == NULL)
        return 0;
    struct hg_buf errors;
    hg_buf_init(&errors, 16384);
    struct dirent *e;
    int failed = 0;
    while ((e = readdir(d)) != NULL)
        if (ends_with(e->d_name, ".tmpl") && e->d_name[0] != '.')
            failed |= load_one_template(loop, dir, e->d_name, &errors) < 0;
    closedir(d);
    loop->files = hg_xcalloc(loop->n_templates + 1, sizeof(*loop->files));
    for (size_t i = 0; i < loop->n_templates; i++)
        loop->files[i] = loop->templates[i].file;
    if (failed)
        *error_r = hg_buf_steal(&errors);
    hg_buf_free(&errors);
    return failed ? -1 : 0;
}

static int load_policy(struct hg_mailloop *loop, const struct hg_config *cfg, char **error_r)
{
    const char *own[] = {loop->from_email};
    char *suffix = hg_xasprintf("@helpgate.%s", loop->domain);
    struct hg_ackpolicy_config pc = {
        .own_addresses = own,
        .n_own_addresses = 1,
        .own_domain = loop->domain,
        .loop_value = loop->from_email,
        .message_id_suffix = suffix,
        .noreply_pattern = cfg->noreply_pattern,
        .max_per_sender_hour = (unsigned)cfg->ack_throttle,
        .max_per_ticket = (unsigned)cfg->ticket_auto_cap,
    };
    int rc = hg_ackpolicy_new(&pc, &loop->policy, error_r);
    free(suffix);
    return rc;
}

static char **copy_list(char *const *list)
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL)
        n++;
    char **copy = hg_xcalloc(n + 1, sizeof(*copy));
    for (size_t i = 0; i < n; i++) {
        char *name = NULL;
        split_from(list[i], &name, &copy[i]);
        free(name);
    }
    return copy;
}

struct hg_mailloop *hg_mailloop_new(const struct hg_config *cfg, char **error_r)
{
    if (cfg->smtp_from == NULL || cfg->hmac_secret_file == NULL) {
        *error_r = hg_xstrdup("automatic mail needs [smtp] from and [helpgate] hmac_secret_file");
        return NULL;
    }
    struct hg_mailloop *loop = hg_xcalloc(1, sizeof(*loop));
    split_from(cfg->smtp_from, &loop->from_name, &loop->from_email);
    const char *at = strrchr(loop->from_email, '@');
    loop->domain = hg_xstrdup(cfg->support_domain != NULL ? cfg->support_domain
                              : at != NULL                ? at + 1
                                                          : "localhost");
    loop->tag_prefix = hg_xstrdup(cfg->ticket_tag_prefix != NULL ? cfg->ticket_tag_prefix : "#");
    for (int i = 0; i < 3; i++) {
        loop->team[i] = copy_list(cfg->smtp_notify[i]);
        loop->response_time[i] = cfg->response_time[i] != NULL ? hg_xstrdup(cfg->response_time[i]) : NULL;
    }
    char *warning = NULL;
    int rc = hg_secret_read_file(cfg->hmac_secret_file, &loop->secret, &warning, error_r);
    free(warning);
    if (rc == 0) {
        loop->secret_len = strlen(loop->secret);
        if (loop->secret_len < HG_SIGNED_MIN_SECRET) {
            *error_r = hg_xasprintf("%s: the key is %zu bytes; signed addresses need at least %d",
                                    cfg->hmac_secret_file, loop->secret_len, HG_SIGNED_MIN_SECRET);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = load_policy(loop, cfg, error_r);
    if (rc == 0)
        rc = load_templates(loop, cfg->templates_dir, error_r);
    if (rc < 0)
        hg_mailloop_free(&loop);
    return loop;
}

void hg_mailloop_free(struct hg_mailloop **loopp)
{
    struct hg_mailloop *loop = *loopp;
    if (loop == NULL)
        return;
    for (size_t i = 0; i < loop->n_templates; i++) {
        free(loop->templates[i].file);
        hg_template_free(&loop->templates[i].t);
    }
    free(loop->templates);
    free(loop->files);
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; loop->team[i] != NULL && loop->team[i][k] != NULL; k++)
            free(loop->team[i][k]);
        free(loop->team[i]);
        free(loop->response_time[i]);
    }
    hg_ackpolicy_free(&loop->policy);
    hg_secret_free(&loop->secret);
    free(loop->from_name);
    free(loop->from_email);
    free(loop->domain);
    free(loop->tag_prefix);
    free(loop);
    *loopp = NULL;
}

size_t hg_mailloop_template_count(const struct hg_mailloop *loop)
{
    return loop != NULL ? loop->n_templates : 0;
}

#define MAX_LANGUAGES 4

/*
 * The languages MAIL asks for, best first: Content-Language, then
 * Accept-Language (quality values ignored; their order is the preference).
 * Pointers into BUF (SIZE bytes).
 */
static size_t mail_languages(const struct hg_mail *mail, const char *out[MAX_LANGUAGES], char *buf,
                             size_t size)
{
    size_t n = 0, used = 0;
    static const char *const names[] = {"Content-Language", "Accept-Language"};
    for (size_t h = 0; h < 2; h++)
        for (size_t i = 0; i < mail->n_headers && n < MAX_LANGUAGES; i++) {
            if (strcasecmp(mail->headers[i].name, names[h]) != 0)
                continue;
            const char *p = mail->headers[i].value;
            while (*p != '\0' && n < MAX_LANGUAGES) {
                p += strspn(p, " ,");
                size_t len = strcspn(p, ",; ");
                if (len > 0 && len < 36 && used + len + 1 <= size && *p != '*') {
                    memcpy(buf + used, p, len);
                    buf[used + len] = '\0';
                    out[n++] = buf + used;
                    used += len + 1;
                }
                p += len;
                p += strcspn(p, ","); /* skip ";q=0.8" */
            }
        }
    return n;
}

static const struct hg_template *find_template_for(const struct hg_mailloop *loop, const char *name,
                                                   const struct hg_mail *mail)
{
    const char *languages[MAX_LANGUAGES];
    char buf[160];
    size_t n = mail != NULL ? mail_languages(mail, languages, buf, sizeof buf) : 0;
    const char *file = hg_template_choose(name, languages, n, loop->files, loop->n_templates);
    for (size_t i = 0; file != NULL && i < loop->n_templates; i++)
        if (strcmp(loop->templates[i].file, file) == 0)
            return loop->templates[i].t;
    return NULL;
}

static const struct hg_template *find_template(const struct hg_mailloop *loop, const char *name)
{
    return find_template_for(loop, name, NULL);
}

/* ------------------------------------------------------------------------ */
/* One mail into the outbox.                                               */

/* A Message-ID of ours: derived from the key and WHAT, so that doing the same work again gives the same id.
 */
static char *our_message_id(const struct hg_mailloop *loop, const char *what)
{
    struct hg_sha256 sha;
    char hex[HG_SHA256_HEX_SIZE];
    hg_sha256_init(&sha);
    hg_sha256_update(&sha, loop->secret, loop->secret_len);
    hg_sha256_update(&sha, "|", 1);
    hg_sha256_update(&sha, what, strlen(what));
    hg_sha256_final_hex(&sha, hex);
    hex[24] = '\0';
    return hg_xasprintf("hg.%s@helpgate.%s", hex, loop->domain);
}

struct queued {
    const char *kind; /* "ack", "notify" */
    long long ticket_id, message_row_id;
    char *const *recipients;
    const char *message_id;
    const char *payload;
    size_t payload_len;
};

static int queue_mail(struct hg_store *store, const struct hg_mailloop *loop, const struct queued *q,
                      char **error_r)
{
    json_t *list = json_array();
    for (size_t i = 0; q->recipients[i] != NULL; i++)
        json_array_append_new(list, json_string(q->recipients[i]));
    char *recipients = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    char ticket[24], message[24];
    snprintf(ticket, sizeof ticket, "%lld", q->ticket_id);
    snprintf(message, sizeof message, "%lld", q->message_row_id);
    const char *params[] = {q->kind,          ticket,     q->message_row_id > 0 ? message : NULL,
                            loop->from_email, recipients, q->message_id,
                            q->payload};
    int lengths[] = {0, 0, 0, 0, 0, 0, (int)q->payload_len};
    int formats[] = {0, 0, 0, 0, 0, 0, 1};
    /* Deferred: in a poller's pipelined batch the row is sent without waiting for its answer. */
    int rc = hg_pg_defer(
        store,
        "INSERT INTO outbox (kind, ticket_id, message_row_id, mail_from, recipients, message_id, payload)"
        " VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6, $7)"
        " ON CONFLICT (message_id) DO NOTHING",
        7, params, lengths, formats, error_r);
    free(recipients);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The words.                                                              */

struct words {
    struct hg_template_var vars[N_TEMPLATE_VARS];
    size_t n;
    char ticket[24], tag[64];
    char *message; /* owned */
};

static void set_var(struct words *w, const char *name, const char *value)
{
    w->vars[w->n++] = (struct hg_template_var){name, value};
}

static void fill_words(struct words *w, const struct hg_mailloop *loop, const struct hg_mail *mail,
                       const struct hg_intake_result *result, const struct hg_rules_input *facts,
                       const struct hg_rules_result *route)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->ticket, sizeof w->ticket, "%lld", result->ticket_number);
    snprintf(w->tag, sizeof w->tag, "[%s%lld]", loop->tag_prefix, result->ticket_number);
    const char *text =
        mail->reply_text != NULL && mail->reply_text[0] != '\0' ? mail->reply_text : mail->body_text;
    w->message = hg_xstrndup(text != NULL ? text : "", MESSAGE_VAR_MAX);
    set_var(w, "ticket", w->ticket);
    set_var(w, "ticket_tag", w->tag);
    set_var(w, "subject", mail->subject);
    set_var(w, "customer.name", mail->from != NULL ? mail->from->name : NULL);
    set_var(w, "customer.email", mail->from != NULL ? mail->from->email : NULL);
    set_var(w, "customer.tier", facts->customer_tier);
    set_var(w, "tier", hg_rules_tier_name(route->tier));
    set_var(w, "priority", route->priority);
    set_var(w, "queue", route->queue);
    set_var(w, "response_time",
            route->tier >= HG_TIER_L1 && route->tier <= HG_TIER_L3 ? loop->response_time[route->tier - 1]
                                                                   : NULL);
    set_var(w, "reason", route->tier_origin.line > 0 ? route->tier_origin.rule : NULL);
    set_var(w, "notes", route->notes);
    set_var(w, "message", w->message);
    set_var(w, "channel", facts->channel != NULL ? facts->channel : "email");
    set_var(w, "support_address", loop->from_email);
}

/* ------------------------------------------------------------------------ */
/* Acknowledgement.                                                        */

struct auto_facts {
    bool is_agent, acknowledged;
    unsigned recent, on_ticket;
};

static int read_auto_facts(struct hg_store *store, long long ticket_id, const char *address,
                           struct auto_facts *f, char **error_r)
{
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", ticket_id);
    const char *params[] = {ticket, address};
    PGresult *res = hg_pg_exec(store,
                               "SELECT is_agent, acknowledged, recent_to_sender, on_ticket"
                               " FROM helpgate_auto_facts($1, $2)",
                               2, params, error_r);
    if (res == NULL)
        return -1;
    f->is_agent = PQgetvalue(res, 0, 0)[0] == 't';
    f->acknowledged = PQgetvalue(res, 0, 1)[0] == 't';
    f->recent = (unsigned)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
    f->on_ticket = (unsigned)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    return 0;
}

static int audit_skip(struct hg_store *store, long long ticket_id, const char *reason, const char *detail,
                      char **error_r)
{
    hg_metrics_count(HG_METRIC_ACKS_SKIPPED, reason);
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", ticket_id);
    const char *params[] = {ticket, reason, detail};
    return hg_pg_defer(
        store,
        "INSERT INTO audit_log (actor, action, ticket_id, details) VALUES ('system', 'ack.skipped',"
        " $1, jsonb_build_object('reason', $2::text, 'detail', $3::text))",
        3, params, NULL, NULL, error_r);
}

/* Composes MAIL (with the policy's headers for KIND) and queues it. */
static int compose_and_queue(struct hg_store *store, const struct hg_mailloop *loop, struct hg_outmail *m,
                             enum hg_ack_mail_kind kind, struct queued *q, char **error_r)
{
    struct hg_ack_header policy_headers[HG_ACK_MAX_HEADERS];
    size_t n = hg_ackpolicy_headers(loop->policy, kind, policy_headers);
    struct hg_outmail_header headers[HG_ACK_MAX_HEADERS + 1];
    for (size_t i = 0; i < n; i++)
        headers[i] = (struct hg_outmail_header){policy_headers[i].name, policy_headers[i].value};
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", q->ticket_id);
    headers[n++] = (struct hg_outmail_header){"X-Helpgate-Ticket", ticket};
    m->headers = headers;
    m->n_headers = n;
    m->auto_submitted = hg_ackpolicy_auto_submitted(kind);
    m->from = (struct hg_outmail_address){loop->from_name, loop->from_email};
    m->date = (int64_t)time(NULL);
    char *data = NULL;
    size_t len = 0;
    if (hg_outmail_compose(m, HG_OUTMAIL_DEFAULT_MAX_SIZE, &data, &len, error_r) < 0)
        return -1;
    q->payload = data;
    q->payload_len = len;
    int rc = queue_mail(store, loop, q, error_r);
    free(data);
    return rc;
}

static int acknowledge(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_intake_result *result, const struct words *w,
                       const char *template_name, char **error_r)
{
    const struct hg_template *t = find_template_for(loop, template_name, mail);
    if (t == NULL)
        return audit_skip(store, result->ticket_id, "no_template", template_name, error_r);
    const char *address = hg_ackpolicy_reply_address(mail);
    struct auto_facts f = {0};
    if (address != NULL && read_auto_facts(store, result->ticket_id, address, &f, error_r) < 0)
        return -1;
    struct hg_ack_facts facts = {.is_agent = f.is_agent,
                                 .ticket_already_acknowledged = f.acknowledged,
                                 .recent_auto_to_sender = f.recent,
                                 .auto_on_ticket = f.on_ticket};
    struct hg_ack_decision d;
    hg_ackpolicy_decide(loop->policy, mail, &facts, &d);
    if (d.verdict != HG_ACK_SEND)
        return audit_skip(store, result->ticket_id, d.reason, d.detail, error_r);

    struct hg_template_output out;
    hg_template_render(t, w->vars, w->n, &out);
    char what[64];
    snprintf(what, sizeof what, "ack|%lld", result->ticket_id);
    char *message_id = our_message_id(loop, what);
    const char **refs = hg_xcalloc(mail->n_references + 2, sizeof(*refs));
    size_t n_refs = 0;
    for (size_t i = 0; i < mail->n_references; i++)
        refs[n_refs++] = mail->references[i];
    refs[n_refs++] = mail->message_id;
    struct hg_outmail_address to = {NULL, d.to};
    struct hg_outmail m = {.to = &to,
                           .n_to = 1,
                           .subject = out.subject,
                           .message_id = message_id,
                           .in_reply_to = mail->message_id,
                           .references = refs,
                           .n_references = n_refs,
                           .body_text = out.body};
    char *recipients[] = {(char *)d.to, NULL};
    struct queued q = {.kind = "ack",
                       .ticket_id = result->ticket_id,
                       .message_row_id = result->message_row_id,
                       .recipients = recipients,
                       .message_id = message_id};
    int rc = compose_and_queue(store, loop, &m, HG_ACK_MAIL_ACK, &q, error_r);
    if (rc == 0)
        hg_metrics_count(HG_METRIC_ACKS_QUEUED, "email");
    free(refs);
    free(message_id);
    hg_template_output_free(&out);
    if (rc == 0) {
        char ticket[24];
        snprintf(ticket, sizeof ticket, "%lld", result->ticket_id);
        const char *params[] = {ticket};
        rc = hg_pg_defer(
            store, "UPDATE tickets SET acknowledged_at = coalesce(acknowledged_at, now()) WHERE id = $1", 1,
            params, NULL, NULL, error_r);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Notifications.                                                          */

/* The first column of SQL (one parameter: a team) as a NULL-terminated list. Caller frees. */
static char **agent_addresses(struct hg_store *store, const char *sql, const char *team, char **error_r)
{
    const char *params[] = {team};
    PGresult *res = hg_pg_exec(store, sql, 1, params, error_r);
    if (res == NULL)
        return NULL;
    char **list = hg_xcalloc((size_t)PQntuples(res) + 1, sizeof(*list));
    for (int i = 0; i < PQntuples(res); i++)
        list[i] = hg_xstrdup(PQgetvalue(res, i, 0));
    PQclear(res);
    return list;
}

/* The addresses of TEAM: the configured ones, else every active agent of it. Caller frees (NULL-terminated).
 */
static char **team_recipients(const struct hg_mailloop *loop, struct hg_store *store, enum hg_rules_tier team,
                              char **error_r)
{
    char *const *configured = loop->team[team - 1];
    if (configured != NULL && configured[0] != NULL) {
        size_t n = 0;
        while (configured[n] != NULL)
            n++;
        char **copy = hg_xcalloc(n + 1, sizeof(*copy));
        for (size_t i = 0; i < n; i++)
            copy[i] = hg_xstrdup(configured[i]);
        return copy;
    }
    return agent_addresses(store, "SELECT email FROM agents WHERE team = $1 AND active ORDER BY email",
                           hg_rules_tier_name(team), error_r);
}

static void free_list(char **list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

/*
 * One notification mail to RECIPIENTS, whose Reply-To is signed for AGENT
 * (0: whoever of them answers); WHO names them in the Message-ID.
 */
static int notify_mail(const struct hg_mailloop *loop, struct hg_store *store,
                       const struct hg_intake_result *result, const struct hg_template_output *out,
                       char **recipients, long long agent, const char *who, char **error_r)
{
    char *reply_to = NULL;
    if (hg_signed_address_make((const unsigned char *)loop->secret, loop->secret_len, loop->from_email,
                               HG_SIGNED_AGENT, (uint64_t)result->ticket_number, (uint64_t)agent, &reply_to,
                               error_r) < 0)
        return -1;
    char what[400], root_what[64];
    snprintf(what, sizeof what, "notify|%lld|%lld|%s", result->ticket_id, result->message_row_id, who);
    snprintf(root_what, sizeof root_what, "thread|%lld", result->ticket_id);
    char *message_id = our_message_id(loop, what), *root = our_message_id(loop, root_what);
    size_t n = 0;
    while (recipients[n] != NULL)
        n++;
    struct hg_outmail_address *to = hg_xcalloc(n, sizeof(*to));
    for (size_t i = 0; i < n; i++)
        to[i] = (struct hg_outmail_address){NULL, recipients[i]};
    struct hg_outmail_address reply = {NULL, reply_to};
    const char *refs[] = {root};
    struct hg_outmail m = {.to = to,
                           .n_to = n,
                           .reply_to = &reply,
                           .n_reply_to = 1,
                           .subject = out->subject,
                           .message_id = message_id,
                           .in_reply_to = root,
                           .references = refs,
                           .n_references = 1,
                           .body_text = out->body};
    struct queued q = {.kind = "notify",
                       .ticket_id = result->ticket_id,
                       .message_row_id = result->message_row_id,
                       .recipients = recipients,
                       .message_id = message_id};
    int rc = compose_and_queue(store, loop, &m, HG_ACK_MAIL_NOTIFICATION, &q, error_r);
    free(to);
    free(message_id);
    free(root);
    free(reply_to);
    return rc;
}

/* The id of the active agent whose address or alias ADDRESS is, 0 when none, -1 on error. */
static long long agent_id_of(struct hg_store *store, const char *address, char **error_r)
{
    const char *params[] = {address};
    PGresult *res =
        hg_pg_exec(store,
                   "SELECT a.id FROM agents a LEFT JOIN agent_aliases al ON al.agent_id = a.id"
                   " WHERE a.active AND (lower(a.email) = lower($1) OR lower(al.email) = lower($1))"
                   " LIMIT 1",
                   1, params, error_r);
    if (res == NULL)
        return -1;
    long long id = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return id;
}

/*
 * Notifies RECIPIENTS about the message just stored. Each agent gets a mail
 * of their own whose Reply-To is signed for them, so an answer is theirs
 * only; other addresses (a team's shared mailbox) share one mail whose
 * Reply-To any agent may answer.
 */
/* TEMPLATE rendered with W to RECIPIENTS: one mail per agent (each with its own signed Reply-To), one for the
 * team addresses. */
static int notify_with(const struct hg_mailloop *loop, struct hg_store *store,
                       const struct hg_intake_result *result, const struct words *w, char **recipients,
                       const char *who, const char *template_name, char **error_r)
{
    const struct hg_template *t = find_template(loop, template_name);
    if (t == NULL || recipients == NULL || recipients[0] == NULL)
        return 0;
    struct hg_template_output out;
    hg_template_render(t, w->vars, w->n, &out);
    size_t n = 0, n_shared = 0;
    while (recipients[n] != NULL)
        n++;
    char **shared = hg_xcalloc(n + 1, sizeof(*shared));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        long long agent = agent_id_of(store, recipients[i], error_r);
        if (agent < 0) {
            rc = -1;
        } else if (agent == 0) {
            shared[n_shared++] = recipients[i];
        } else {
            char *one[] = {recipients[i], NULL};
            char who_one[400];
            snprintf(who_one, sizeof who_one, "%s|%lld", who, agent);
            rc = notify_mail(loop, store, result, &out, one, agent, who_one, error_r);
        }
    }
    if (rc == 0 && n_shared > 0)
        rc = notify_mail(loop, store, result, &out, shared, 0, who, error_r);
    free(shared);
    hg_template_output_free(&out);
    return rc;
}

static int notify(const struct hg_mailloop *loop, struct hg_store *store,
                  const struct hg_intake_result *result, const struct words *w, char **recipients,
                  const char *who, char **error_r)
{
    return notify_with(loop, store, result, w, recipients, who, "notify", error_r);
}

static int notify_route(const struct hg_mailloop *loop, struct hg_store *store,
                        const struct hg_intake_result *result, const struct words *w,
                        const struct hg_rules_result *route, char **error_r)
{
    if (find_template(loop, "notify") == NULL)
        return 0; /* no notification template: nothing to look up */
    for (size_t i = 0; i < route->n_notify; i++) {
        const struct hg_rules_notify *n = &route->notify[i];
        char **recipients = NULL;
        char who[300];
        if (n->address != NULL) {
            recipients = hg_xcalloc(2, sizeof(*recipients));
            recipients[0] = hg_xstrdup(n->address);
            snprintf(who, sizeof who, "agent:%s", n->address);
        } else {
            recipients = team_recipients(loop, store, n->team, error_r);
            if (recipients == NULL)
                return -1;
            snprintf(who, sizeof who, "team:%s", hg_rules_tier_name(n->team));
        }
        int rc = notify(loop, store, result, w, recipients, who, error_r);
        free_list(recipients);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* A customer's reply on an open ticket: its assignee, else the team of its tier. */
static int notify_reply(const struct hg_mailloop *loop, struct hg_store *store,
                        const struct hg_intake_result *result, struct words *w, char **error_r)
{
    if (find_template(loop, "notify") == NULL)
        return 0; /* no notification template: nothing to look up */
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", result->ticket_id);
    const char *params[] = {ticket};
    PGresult *res = hg_pg_exec(store,
                               "SELECT t.tier, a.email, t.priority, coalesce(t.queue, '') FROM tickets t"
                               " LEFT JOIN agents a ON a.id = t.assignee_id AND a.active WHERE t.id = $1",
                               1, params, error_r);
    if (res == NULL)
        return -1;
    enum hg_rules_tier tier = (enum hg_rules_tier)(PQgetvalue(res, 0, 0)[1] - '0');
    char **recipients;
    if (!PQgetisnull(res, 0, 1)) {
        recipients = hg_xcalloc(2, sizeof(*recipients));
        recipients[0] = hg_xstrdup(PQgetvalue(res, 0, 1));
    } else {
        recipients = team_recipients(loop, store, tier, error_r);
    }
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->vars[i].name, "tier") == 0)
            w->vars[i].value = hg_rules_tier_name(tier);
    PQclear(res);
    if (recipients == NULL)
        return -1;
    int rc = notify(loop, store, result, w, recipients, "reply", error_r);
    free_list(recipients);
    return rc;
}

int hg_mailloop_after_intake(const struct hg_mailloop *loop, struct hg_store *store,
                             const struct hg_mail *mail, const struct hg_intake_result *result,
                             const struct hg_rules_input *facts, const struct hg_rules_result *route,
                             char **error_r)
{
    if (loop == NULL || result->outcome == HG_INTAKE_DUPLICATE)
        return 0;
    struct words w;
    fill_words(&w, loop, mail, result, facts, route);
    int rc = 0;
    if (result->outcome == HG_INTAKE_NEW_TICKET) {
        if (route->acknowledge != NULL)
            rc = acknowledge(loop, store, mail, result, &w, route->acknowledge, error_r);
        if (rc == 0)
            rc = notify_route(loop, store, result, &w, route, error_r);
    } else if (mail->auto_kind == HG_MAIL_AUTO_NONE && facts->customer_known) {
        rc = notify_reply(loop, store, result, &w, error_r);
    }
    free(w.message);
    return rc;
}

char *hg_mailloop_ack_text(const struct hg_mailloop *loop, const struct hg_mail *mail,
                           const struct hg_intake_result *result, const struct hg_rules_input *facts,
                           const struct hg_rules_result *route)
{
    if (loop == NULL || route->acknowledge == NULL || result->outcome != HG_INTAKE_NEW_TICKET)
        return NULL;
    const struct hg_template *t = find_template_for(loop, route->acknowledge, mail);
    if (t == NULL)
        return NULL;
    struct words w;
    fill_words(&w, loop, mail, result, facts, route);
    struct hg_template_output out;
    hg_template_render(t, w.vars, w.n, &out);
    char *body = out.body;
    out.body = NULL;
    hg_template_output_free(&out);
    free(w.message);
    return body;
}

/* ------------------------------------------------------------------------ */
/* SLA notices.                                                            */

/* The active leads of TEAM (NULL-terminated; empty when it has none). Caller frees. */
static char **team_leads(struct hg_store *store, const char *team, char **error_r)
{
    return agent_addresses(store,
                           "SELECT email FROM agents WHERE team = $1 AND is_lead AND active ORDER BY email",
                           team, error_r);
}

static char **sla_recipients(const struct hg_mailloop *loop, struct hg_store *store,
                             const struct hg_sla_notice *n, char **error_r)
{
    enum hg_rules_tier team = n->team[1] == '3' ? HG_TIER_L3 : n->team[1] == '2' ? HG_TIER_L2 : HG_TIER_L1;
    if (n->to_leads) {
        char **leads = team_leads(store, hg_rules_tier_name(team), error_r);
        if (leads == NULL || leads[0] != NULL)
            return leads;
        free_list(leads); /* a team without a lead: its members are told */
    }
    return team_recipients(loop, store, team, error_r);
}

/*
 * A stored ticket for a notice: its number, subject, priority, customer,
 * last inbound message and channel, and the id of its latest audit row with action
 * AUDIT_ACTION (NULL: none), which makes a notice's Message-ID unique per
 * change. NUMBER > 0 picks the ticket by number, else by TICKET_ID. The
 * result (one row, or none when there is no such ticket) is the caller's to
 * PQclear(); ticket_words() points into it.
 */
static PGresult *read_ticket(struct hg_store *store, long long ticket_id, long long number,
                             const char *audit_action, char **error_r)
{
    char id[24], num[24];
    snprintf(id, sizeof id, "%lld", ticket_id);
    snprintf(num, sizeof num, "%lld", number);
    const char *params[] = {number > 0 ? NULL : id, number > 0 ? num : NULL, audit_action};
    return hg_pg_exec(
        store,
        "SELECT t.id, t.number, t.subject, t.priority, c.name, c.email, c.tier,"
        " (SELECT coalesce(nullif(m.reply_text, ''), m.body_text) FROM messages m"
        "   WHERE m.ticket_id = t.id AND m.direction = 'in' ORDER BY m.id DESC LIMIT 1),"
        " (SELECT max(l.id) FROM audit_log l WHERE l.ticket_id = t.id AND l.action = $3), t.channel"
        " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
        " WHERE t.id = $1::bigint OR t.number = $2::bigint",
        3, params, error_r);
}

static const char *value_of(PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* The words and intake-like RESULT of read_ticket()'s row; W points into RES (free W->message). */
static void ticket_words(const struct hg_mailloop *loop, PGresult *res, const char *team, struct words *w,
                         struct hg_intake_result *result)
{
    *result = (struct hg_intake_result){.outcome = HG_INTAKE_REPLY,
                                        .ticket_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
                                        .ticket_number = strtoll(PQgetvalue(res, 0, 1), NULL, 10)};
    memset(w, 0, sizeof(*w));
    snprintf(w->ticket, sizeof w->ticket, "%lld", result->ticket_number);
    snprintf(w->tag, sizeof w->tag, "[%s%lld]", loop->tag_prefix, result->ticket_number);
    w->message = hg_xstrndup(value_of(res, 7) != NULL ? value_of(res, 7) : "", MESSAGE_VAR_MAX);
    set_var(w, "ticket", w->ticket);
    set_var(w, "ticket_tag", w->tag);
    set_var(w, "subject", PQgetvalue(res, 0, 2));
    set_var(w, "priority", PQgetvalue(res, 0, 3));
    set_var(w, "customer.name", value_of(res, 4));
    set_var(w, "customer.email", value_of(res, 5));
    set_var(w, "customer.tier", value_of(res, 6));
    set_var(w, "tier", team);
    set_var(w, "message", w->message);
    set_var(w, "channel", PQgetvalue(res, 0, 9));
    set_var(w, "support_address", loop->from_email);
}

/* One word of a notice beyond the ticket's own (ticket_words()). */
struct notice_word {
    const char *name, *value;
};

/*
 * A notice about read_ticket()'s ticket in RES (nothing when it has no row):
 * template TEMPLATE_NAME with the ticket's words for TEAM plus EXTRA, to the
 * recipients RECIPIENTS_OF gives (NULL after an error), WHO naming it in the
 * Message-ID. Returns 1 when someone was told, 0 when nobody, -1 on error.
 */
static int ticket_notice(const struct hg_mailloop *loop, struct hg_store *store, PGresult *res,
                         const char *team, const struct notice_word *extra, size_t n_extra, char **recipients,
                         const char *who, const char *template_name, char **error_r)
{
    if (recipients == NULL)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        struct hg_intake_result result;
        struct words w;
        ticket_words(loop, res, team, &w, &result);
        for (size_t i = 0; i < n_extra; i++)
            set_var(&w, extra[i].name, extra[i].value);
        rc = notify_with(loop, store, &result, &w, recipients, who, template_name, error_r);
        if (rc == 0 && recipients[0] != NULL)
            rc = 1;
        free(w.message);
    }
    free_list(recipients);
    return rc;
}

int hg_mailloop_sla_notice(const struct hg_mailloop *loop, struct hg_store *store,
                           const struct hg_sla_notice *n, char **error_r)
{
    if (loop == NULL || find_template(loop, "sla") == NULL)
        return 0;
    PGresult *res = read_ticket(store, n->ticket_id, 0, NULL, error_r);
    if (res == NULL)
        return -1;
    const struct notice_word extra[] = {
        {"sla.event", n->event}, {"sla.target", n->target}, {"sla.due", n->due}};
    char who[128];
    snprintf(who, sizeof who, "sla:%s:%s:%s", n->event, n->target, n->team);
    int rc = ticket_notice(loop, store, res, n->team, extra, 3, sla_recipients(loop, store, n, error_r), who,
                           "sla", error_r);
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

int hg_mailloop_tier_notice(const struct hg_mailloop *loop, struct hg_store *store,
                            const struct hg_tier_notice *n, char **error_r)
{
    if (loop == NULL || find_template(loop, "notify") == NULL)
        return 0;
    if (n->team == NULL || n->team[0] != 'L' || n->team[1] < '1' || n->team[1] > '3' || n->team[2] != '\0') {
        *error_r = hg_xasprintf("no tier %s", n->team != NULL ? n->team : "(none)");
        return -1;
    }
    PGresult *res = read_ticket(store, 0, n->ticket_number, "ticket.tier", error_r);
    if (res == NULL)
        return -1;
    const struct notice_word extra[] = {{"reason", n->reason}};
    char who[128];
    snprintf(who, sizeof who, "tier:%s:%s", n->team,
             PQntuples(res) == 1 && !PQgetisnull(res, 0, 8) ? PQgetvalue(res, 0, 8) : "0");
    enum hg_rules_tier team = (enum hg_rules_tier)(n->team[1] - '0');
    int rc = ticket_notice(loop, store, res, n->team, extra, 1, team_recipients(loop, store, team, error_r),
                           who, "notify", error_r);
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Agents' answers to signed addresses.                                    */

static uint64_t verify_one(const struct hg_mailloop *loop, const char *address, uint64_t *agent_r)
{
    struct hg_signed_result r;
    char *error = NULL;
    if (address == NULL || hg_signed_address_verify((const unsigned char *)loop->secret, loop->secret_len,
                                                    loop->from_email, address, &r, &error) < 0) {
        free(error);
        return 0;
    }
    if (r.status == HG_SIGNED_BAD)
        hg_log_warn("signed_address_forged", "address=%s", HG_Q(address));
    if (r.status != HG_SIGNED_VALID || r.purpose != HG_SIGNED_AGENT)
        return 0;
    *agent_r = r.agent;
    return r.ticket;
}

uint64_t hg_mailloop_signed_ticket(const struct hg_mailloop *loop, const struct hg_mail *mail,
                                   uint64_t *agent_r)
{
    *agent_r = 0;
    if (loop == NULL)
        return 0;
    uint64_t ticket = verify_one(loop, mail->delivered_to, agent_r);
    for (size_t i = 0; ticket == 0 && i < mail->to.count; i++)
        ticket = verify_one(loop, mail->to.items[i].email, agent_r);
    for (size_t i = 0; ticket == 0 && i < mail->cc.count; i++)
        ticket = verify_one(loop, mail->cc.items[i].email, agent_r);
    return ticket;
}

/* Who wrote to the signed address: an active agent, the ticket's customer, or someone else. */
struct answer_sender {
    long long agent_id; /* 0 when not an agent */
    bool is_customer;
};

static int identify_sender(struct hg_store *store, const struct hg_mail *mail, uint64_t ticket_number,
                           struct answer_sender *s, char **error_r)
{
    memset(s, 0, sizeof(*s));
    const char *from = mail->from != NULL && mail->from->email[0] != '\0' ? mail->from->email : "";
    s->agent_id = agent_id_of(store, from, error_r);
    if (s->agent_id < 0)
        return -1;
    char number[24];
    snprintf(number, sizeof number, "%llu", (unsigned long long)ticket_number);
    const char *params[] = {from, number};
    PGresult *res =
        hg_pg_exec(store,
                   "SELECT EXISTS (SELECT 1 FROM tickets t JOIN customers c ON c.id = t.customer_id"
                   " WHERE t.number = $2 AND lower(c.email) = lower($1))",
                   2, params, error_r);
    if (res == NULL)
        return -1;
    s->is_customer = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

/* A short automatic mail to TO (kind 'notice'), throttled like acknowledgements. */
static int queue_notice(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                        long long ticket_id, const char *subject, const char *text, char **error_r)
{
    const char *to_address = hg_ackpolicy_reply_address(mail);
    if (to_address == NULL)
        return 0;
    struct auto_facts f = {0};
    if (read_auto_facts(store, ticket_id, to_address, &f, error_r) < 0)
        return -1;
    struct hg_ack_facts facts = {.recent_auto_to_sender = f.recent}; /* a notice is no acknowledgement */
    struct hg_ack_decision d;
    hg_ackpolicy_decide(loop->policy, mail, &facts, &d);
    if (d.verdict != HG_ACK_SEND)
        return audit_skip(store, ticket_id, d.reason, d.detail, error_r);
    char what[600];
    snprintf(what, sizeof what, "notice|%s", mail->message_id);
    char *message_id = our_message_id(loop, what);
    struct hg_outmail_address to = {NULL, d.to};
    const char *refs[] = {mail->message_id};
    struct hg_outmail m = {.to = &to,
                           .n_to = 1,
                           .subject = subject,
                           .message_id = message_id,
                           .in_reply_to = mail->message_id,
                           .references = refs,
                           .n_references = 1,
                           .body_text = text};
    char *recipients[] = {(char *)d.to, NULL};
    struct queued q = {
        .kind = "notice", .ticket_id = ticket_id, .recipients = recipients, .message_id = message_id};
    int rc = compose_and_queue(store, loop, &m, HG_ACK_MAIL_ACK, &q, error_r);
    free(message_id);
    return rc;
}

static long long ticket_id_of(struct hg_store *store, uint64_t number, char **error_r)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)number);
    const char *params[] = {text};
    PGresult *res = hg_pg_exec(store, "SELECT id FROM tickets WHERE number = $1", 1, params, error_r);
    if (res == NULL)
        return -1;
    long long id = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return id;
}

static int refuse(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                  const struct hg_answer *answer, const char *why, struct hg_intake_result *result,
                  char **error_r)
{
    long long ticket_id = ticket_id_of(store, answer->ticket_number, error_r);
    if (ticket_id < 0)
        return -1;
    result->outcome = HG_INTAKE_REFUSED;
    result->ticket_id = ticket_id;
    result->ticket_number = (long long)answer->ticket_number;
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", ticket_id);
    const char *from = mail->from != NULL ? mail->from->email : "";
    const char *params[] = {ticket_id > 0 ? ticket : NULL, from, why, mail->message_id};
    if (hg_pg_command(
            store,
            "INSERT INTO audit_log (actor, action, ticket_id, details) VALUES ('system', 'answer.refused',"
            " $1, jsonb_build_object('from', $2::text, 'reason', $3::text, 'message_id', $4::text))",
            4, params, error_r) < 0)
        return -1;
    if (answer->source != NULL && answer->source->mailbox != NULL) {
        char uidvalidity[16], uid[16];
        snprintf(uidvalidity, sizeof uidvalidity, "%u", answer->source->uidvalidity);
        snprintf(uid, sizeof uid, "%u", answer->source->uid);
        const char *pos[] = {answer->source->mailbox, uidvalidity, uid};
        if (hg_pg_command(store,
                          "INSERT INTO intake_seen (mailbox, uidvalidity, uid) VALUES ($1, $2, $3)"
                          " ON CONFLICT DO NOTHING",
                          3, pos, error_r) < 0)
            return -1;
    }
    if (mail->auto_kind != HG_MAIL_AUTO_NONE)
        return 0;
    char *subject = hg_xasprintf("Not delivered: %s", mail->subject != NULL ? mail->subject : "your answer");
    char *text =
        hg_xasprintf("Your message to a ticket's answer address was not passed on to the customer:\n%s\n\n"
                     "Answers are accepted only from the address of a support agent. If this is your\n"
                     "address, ask an administrator to add it to your agent account:\n\n"
                     "    helpgatectl agent alias add YOUR-AGENT-ADDRESS %s\n\n"
                     "and send your answer again.\n",
                     why, from);
    int rc = ticket_id > 0 ? queue_notice(loop, store, mail, ticket_id, subject, text, error_r) : 0;
    free(subject);
    free(text);
    return rc;
}

/* What the relay to the customer needs, as helpgate_agent_answer() returns it. */
struct stored_answer {
    char *outcome, *customer_email, *ticket_subject, *thread_on, *old_tier;
    long long ticket_id, message_row_id;
};

static void stored_answer_free(struct stored_answer *a)
{
    free(a->outcome);
    free(a->customer_email);
    free(a->ticket_subject);
    free(a->thread_on);
    free(a->old_tier);
}

static char *value_or_null(PGresult *res, int col)
{
    const char *value = value_of(res, col);
    return value != NULL ? hg_xstrdup(value) : NULL;
}

static int store_answer(struct hg_store *store, const struct hg_mail *mail, const struct hg_answer *answer,
                        long long agent_id, const char *relay_id, const struct hg_agent_reply *reply,
                        struct stored_answer *out, char **error_r)
{
    const struct hg_intake_source *src = answer->source;
    bool imap = src != NULL && src->mailbox != NULL;
    char uidvalidity[16], uid[16], number[24], agent[24], tier[4];
    snprintf(uidvalidity, sizeof uidvalidity, "%u", imap ? src->uidvalidity : 0);
    snprintf(uid, sizeof uid, "%u", imap ? src->uid : 0);
    snprintf(number, sizeof number, "%llu", (unsigned long long)answer->ticket_number);
    snprintf(agent, sizeof agent, "%lld", agent_id);
    snprintf(tier, sizeof tier, "L%u", reply->tier);
    const char *status = reply->status == HG_AGENT_STATUS_CLOSED    ? "closed"
                         : reply->status == HG_AGENT_STATUS_PENDING ? "pending"
                                                                    : NULL;
    const char *params[] = {imap ? src->mailbox : NULL,
                            imap ? uidvalidity : NULL,
                            imap ? uid : NULL,
                            number,
                            agent,
                            reply->relay ? relay_id : mail->message_id,
                            reply->relay ? "out" : "note",
                            mail->subject,
                            reply->text,
                            answer->raw_sha256_hex,
                            answer->raw,
                            reply->tier != 0 ? tier : NULL,
                            status};
    int lengths[13] = {0}, formats[13] = {0};
    lengths[10] = (int)answer->raw_size;
    formats[10] = 1;
    PGresult *res =
        hg_pg_exec_full(store,
                        "SELECT outcome, ticket_id, message_row_id, customer_email, ticket_subject,"
                        " thread_on, old_tier FROM helpgate_agent_answer($1, $2, $3, $4, $5, $6, $7,"
                        " $8, $9, decode($10, 'hex'), $11, $12, $13)",
                        13, params, lengths, formats, error_r);
    if (res == NULL)
        return -1;
    out->outcome = value_or_null(res, 0);
    out->ticket_id = PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->message_row_id = PQgetisnull(res, 0, 2) ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->customer_email = value_or_null(res, 3);
    out->ticket_subject = value_or_null(res, 4);
    out->thread_on = value_or_null(res, 5);
    out->old_tier = value_or_null(res, 6);
    PQclear(res);
    return 0;
}

/* The answer to the customer, from the support address, threaded on the customer's last message. */
static int relay(const struct hg_mailloop *loop, struct hg_store *store, const struct stored_answer *a,
                 uint64_t number, const char *relay_id, const char *text, char **error_r)
{
    if (a->customer_email == NULL)
        return 0;
    /* A chat visitor who is online reads the answer in the chat (pushed); offline, it goes by mail too. */
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", a->ticket_id);
    const char *params[] = {ticket};
    PGresult *res = hg_pg_exec(store, "SELECT helpgate_chat_online($1)", 1, params, error_r);
    if (res == NULL)
        return -1;
    bool online = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (online)
        return 0;
    char *subject = NULL;
    if (hg_outmail_reply_subject(a->ticket_subject, loop->tag_prefix, (int64_t)number, &subject, error_r) < 0)
        return -1;
    struct hg_outmail_address to = {NULL, a->customer_email};
    const char *refs[] = {a->thread_on};
    struct hg_outmail m = {.to = &to,
                           .n_to = 1,
                           .subject = subject,
                           .message_id = relay_id,
                           .in_reply_to = a->thread_on,
                           .references = refs,
                           .n_references = a->thread_on != NULL ? 1 : 0,
                           .body_text = text};
    char *recipients[] = {a->customer_email, NULL};
    struct queued q = {.kind = "relay",
                       .ticket_id = a->ticket_id,
                       .message_row_id = a->message_row_id,
                       .recipients = recipients,
                       .message_id = relay_id};
    int rc = compose_and_queue(store, loop, &m, HG_ACK_MAIL_RELAY, &q, error_r);
    free(subject);
    return rc;
}

/* After #tier or #note: the team that must know (the new tier's, or the ticket's for a note). */
static int notify_after_answer(const struct hg_mailloop *loop, struct hg_store *store,
                               const struct hg_mail *mail, const struct stored_answer *a, uint64_t number,
                               const struct hg_agent_reply *reply, char **error_r)
{
    bool moved = reply->tier != 0 && (a->old_tier == NULL || a->old_tier[1] - '0' != (int)reply->tier);
    if (!moved && !reply->note)
        return 0;
    enum hg_rules_tier team = (enum hg_rules_tier)(moved ? reply->tier : (unsigned)(a->old_tier[1] - '0'));
    struct hg_intake_result result = {.outcome = HG_INTAKE_REPLY,
                                      .ticket_id = a->ticket_id,
                                      .ticket_number = (long long)number,
                                      .message_row_id = a->message_row_id};
    struct hg_rules_result route = {.tier = team, .priority = "normal"};
    struct hg_rules_input facts = {.channel = "email"};
    struct hg_mail view = *mail;
    view.subject = a->ticket_subject;
    view.reply_text = reply->text;
    struct words w;
    fill_words(&w, loop, &view, &result, &facts, &route);
    char **recipients = team_recipients(loop, store, team, error_r);
    int rc = recipients != NULL
                 ? notify(loop, store, &result, &w, recipients, moved ? "tier" : "note", error_r)
                 : -1;
    free_list(recipients);
    free(w.message);
    return rc;
}

static int take_answer(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_answer *answer, const struct answer_sender *sender,
                       struct hg_intake_result *result, char **error_r)
{
    struct hg_agent_reply *reply = NULL;
    char *parse_error = NULL;
    if (hg_agent_reply_parse(mail->reply_text, strlen(mail->reply_text), &reply, &parse_error) < 0) {
        int rc = refuse(loop, store, mail, answer, parse_error, result, error_r);
        free(parse_error);
        return rc < 0 ? -1 : 1;
    }
    char what[600];
    snprintf(what, sizeof what, "relay|%s", mail->message_id);
    char *relay_id = our_message_id(loop, what);
    struct stored_answer a = {0};
    int rc = store_answer(store, mail, answer, sender->agent_id, relay_id, reply, &a, error_r);
    if (rc == 0 && a.outcome != NULL && strcmp(a.outcome, "agent_answer") == 0) {
        if (reply->relay)
            rc = relay(loop, store, &a, answer->ticket_number, relay_id, reply->text, error_r);
        if (rc == 0)
            rc = notify_after_answer(loop, store, mail, &a, answer->ticket_number, reply, error_r);
    }
    if (rc == 0) {
        bool duplicate = a.outcome != NULL && strcmp(a.outcome, "duplicate") == 0;
        result->outcome = duplicate ? HG_INTAKE_DUPLICATE : HG_INTAKE_AGENT_ANSWER;
        result->ticket_id = a.ticket_id;
        result->ticket_number = (long long)answer->ticket_number;
        result->message_row_id = a.message_row_id;
        if (a.outcome != NULL && strcmp(a.outcome, "no_ticket") == 0)
            rc = refuse(loop, store, mail, answer, "the ticket no longer exists", result, error_r);
    }
    stored_answer_free(&a);
    free(relay_id);
    hg_agent_reply_free(&reply);
    return rc < 0 ? -1 : 1;
}

int hg_mailloop_answer(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_answer *answer, struct hg_intake_result *result, char **error_r)
{
    memset(result, 0, sizeof(*result));
    struct answer_sender sender;
    if (identify_sender(store, mail, answer->ticket_number, &sender, error_r) < 0)
        return -1;
    int rc;
    if (sender.agent_id > 0 && answer->agent != 0 && (uint64_t)sender.agent_id != answer->agent)
        rc = refuse(loop, store, mail, answer,
                    "this answer address was given to another agent; answer from the address the "
                    "notification was sent to",
                    result, error_r) < 0
                 ? -1
                 : 1;
    else if (sender.agent_id > 0 && mail->auto_kind == HG_MAIL_AUTO_NONE)
        rc = take_answer(loop, store, mail, answer, &sender, result, error_r);
    else if (sender.is_customer)
        rc = 0;
    else
        rc = refuse(loop, store, mail, answer,
                    sender.agent_id > 0 ? "it is an automatic reply (out of office or similar)"
                                        : "the sender's address is not an agent's address",
                    result, error_r) < 0
                 ? -1
                 : 1;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Bounces of our own mail.                                                */

/* The first "<...@helpgate.DOMAIN>" in TEXT (LEN bytes) into OUT, without brackets; false when none. */
static bool find_our_id(const struct hg_mailloop *loop, const char *text, size_t len, char *out, size_t size)
{
    char suffix[300];
    int n = snprintf(suffix, sizeof suffix, "@helpgate.%s>", loop->domain);
    if (n <= 0 || (size_t)n >= sizeof suffix || text == NULL)
        return false;
    const char *end = text + len;
    for (const char *p = text; p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL; p++) {
        const char *close = memchr(p, '>', (size_t)(end - p) < 300 ? (size_t)(end - p) : 300);
        if (close == NULL)
            continue;
        size_t id_len = (size_t)(close - p - 1);
        if (id_len + 1 > (size_t)n && id_len < size && strncasecmp(close + 1 - n, suffix, (size_t)n) == 0 &&
            strncmp(p + 1, "hg.", 3) == 0) {
            memcpy(out, p + 1, id_len);
            out[id_len] = '\0';
            return true;
        }
    }
    return false;
}

static bool bounced_id(const struct hg_mailloop *loop, const struct hg_mail *mail, char *out, size_t size)
{
    if (find_our_id(loop, mail->body_text, mail->body_text_len, out, size))
        return true;
    for (size_t i = 0; i < mail->n_attachments; i++) {
        const struct hg_mail_attachment *a = &mail->attachments[i];
        if ((strncmp(a->content_type, "message/", 8) == 0 || strncmp(a->content_type, "text/", 5) == 0) &&
            find_our_id(loop, (const char *)a->data, a->size, out, size))
            return true;
    }
    return false;
}

int hg_mailloop_bounce(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_intake_source *source, struct hg_intake_result *result, char **error_r)
{
    char id[300];
    if (loop == NULL || mail->auto_kind != HG_MAIL_AUTO_BOUNCE || !bounced_id(loop, mail, id, sizeof id))
        return 0;
    memset(result, 0, sizeof(*result));
    result->outcome = HG_INTAKE_OUR_BOUNCE;
    char reason[200];
    snprintf(reason, sizeof reason, "bounced: %s", mail->subject != NULL ? mail->subject : "delivery failed");
    bool imap = source != NULL && source->mailbox != NULL;
    char uidvalidity[16], uid[16];
    snprintf(uidvalidity, sizeof uidvalidity, "%u", imap ? source->uidvalidity : 0);
    snprintf(uid, sizeof uid, "%u", imap ? source->uid : 0);
    const char *params[] = {id, reason, imap ? source->mailbox : NULL, uidvalidity, uid};
    PGresult *res = hg_pg_exec(
        store,
        "WITH failed AS (UPDATE outbox SET status = 'failed', last_error = $2 WHERE message_id = $1"
        " RETURNING id, ticket_id, kind),"
        " audit AS (INSERT INTO audit_log (actor, action, ticket_id, details) SELECT 'system', "
        "'outbox.bounced',"
        " ticket_id, jsonb_build_object('outbox', id, 'kind', kind, 'message_id', $1::text, 'reason', "
        "$2::text)"
        " FROM failed),"
        " seen AS (INSERT INTO intake_seen (mailbox, uidvalidity, uid) SELECT $3::text, $4::bigint, "
        "$5::bigint"
        " WHERE $3 IS NOT NULL"
        " ON CONFLICT DO NOTHING)"
        " SELECT coalesce((SELECT ticket_id FROM failed), 0), coalesce((SELECT number FROM tickets WHERE id ="
        " (SELECT ticket_id FROM failed)), 0)",
        5, params, error_r);
    if (res == NULL)
        return -1;
    result->ticket_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    result->ticket_number = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 1;
}
