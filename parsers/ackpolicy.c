/*
 * ackpolicy.c — may we send automatic mail to this sender (see ackpolicy.h).
 *
 * The decision is a list of checks, each a small function that either
 * leaves the decision alone or marks it HG_ACK_SKIP with its reason code and
 * a detail. Checks on the message come first, then checks on the address to
 * answer, then the database facts. Everything reads the normalized record
 * (struct hg_mail): its header list and the normalizer's auto_kind verdict.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "helpgate/ackpolicy.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"

#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ADDRESS 254   /* RFC 5321 section 4.5.3.1.3: a path of 256 octets, brackets included */
#define MAX_LOCAL_PART 64 /* RFC 5321 section 4.5.3.1.1 */
#define MAX_LOOP_VALUE 200
#define MAX_QUOTED 60         /* characters of a setting or header value quoted in a message */
#define MATCH_LIMIT 100000    /* PCRE2 backtracking steps for one address */
#define DEPTH_LIMIT 1000      /* PCRE2 backtracking depth */
#define MAX_ERROR_TEXT 8192   /* hg_ackpolicy_new() error message */
#define MAX_REPLY_TO_TRIED 10 /* Reply-To addresses considered: each costs a pass over the headers */

struct hg_ackpolicy {
    char **own; /* addr-specs of our mailboxes */
    size_t n_own;
    char *domain;       /* lower-case, or NULL */
    char *loop_value;   /* X-Helpgate-Loop */
    char *msgid_suffix; /* or NULL */
    pcre2_code *noreply;
    pcre2_match_context *match_ctx;
    unsigned max_per_sender_hour;
    unsigned max_per_ticket;
};

/* Role mailboxes (RFC 2142 and the usual machine senders) that are ours at our own domain. */
static const char *const role_mailboxes[] = {
    "postmaster", "hostmaster", "webmaster",  "abuse",        "noc",    "security", "mailer-daemon", "root",
    "noreply",    "no-reply",   "donotreply", "do-not-reply", "bounce", "bounces",  "helpgate",
};

/* ------------------------------------------------------------ text helpers */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Whether S[0..N) equals T ignoring ASCII case. */
static bool span_equals_ci(const char *s, size_t n, const char *t)
{
    return strlen(t) == n && strncasecmp(s, t, n) == 0;
}

/* S as printable ASCII ('?' for anything else), at most MAX characters (then "..."). */
static void printable(char *out, size_t size, const char *s, size_t max)
{
    size_t n = 0;
    for (; *s != '\0' && n < max && n + 4 < size; s++)
        out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7F ? *s : '?';
    if (*s != '\0' && n + 4 <= size)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
}

/* The first word of V, lower-cased, up to ';', ',', '(' or a blank. */
static void first_word(const char *v, char *out, size_t size)
{
    size_t n = 0;
    while (is_blank(*v))
        v++;
    for (; *v != '\0' && *v != ';' && *v != ',' && *v != '(' && !is_blank(*v) && n + 1 < size; v++)
        out[n++] = lower(*v);
    out[n] = '\0';
}

/* ------------------------------------------------------------ addresses */

static bool forbidden_in_address(unsigned char c)
{
    return c <= 0x20 || c >= 0x7F || strchr("<>()[],;:\\\"", c) != NULL;
}

static bool valid_domain(const char *d)
{
    size_t n = strlen(d);
    if (n >= 3 && d[0] == '[' && d[n - 1] == ']') /* a domain literal: "[192.0.2.1]" */
        return strspn(d + 1, "0123456789abcdefABCDEF.:IPVipv") == n - 2;
    if (n == 0 || d[0] == '.' || d[n - 1] == '.' || strstr(d, "..") != NULL || strchr(d, '.') == NULL)
        return false;
    for (const char *p = d; *p != '\0'; p++)
        if (!(*p == '.' || *p == '-' || (*p >= '0' && *p <= '9') || (lower(*p) >= 'a' && lower(*p) <= 'z')))
            return false;
    return true;
}

/* See "Valid means" in ackpolicy.h. */
static bool valid_address(const char *a)
{
    const char *at = a != NULL ? strchr(a, '@') : NULL;
    if (at == NULL || strchr(at + 1, '@') != NULL || strlen(a) > MAX_ADDRESS)
        return false;
    size_t local = (size_t)(at - a);
    if (local == 0 || local > MAX_LOCAL_PART)
        return false;
    for (size_t i = 0; i < local; i++)
        if (forbidden_in_address((unsigned char)a[i]))
            return false;
    return valid_domain(at + 1);
}

/* The addr-spec of a configured address ("Support <support@example.com>") as a new string. */
static char *config_addr_spec(const char *s)
{
    const char *lt = strrchr(s, '<');
    const char *start = lt != NULL ? lt + 1 : s;
    while (is_blank(*start))
        start++;
    size_t n = 0;
    while (start[n] != '\0' && start[n] != '>' && !is_blank(start[n]))
        n++;
    return hg_xstrndup(start, n);
}

/* Length of the local part of EMAIL without its "+detail". */
static size_t base_local_len(const char *email, const char *at)
{
    const char *plus = memchr(email, '+', (size_t)(at - email));
    return (size_t)((plus != NULL ? plus : at) - email);
}

static bool is_role_mailbox(const char *local, size_t len)
{
    for (size_t i = 0; i < sizeof role_mailboxes / sizeof role_mailboxes[0]; i++)
        if (span_equals_ci(local, len, role_mailboxes[i]))
            return true;
    return false;
}

static bool in_own_domain(const struct hg_ackpolicy *p, const char *domain)
{
    if (p->domain == NULL)
        return false;
    size_t n = strlen(domain), k = strlen(p->domain);
    return strcasecmp(domain, p->domain) == 0 ||
           (n > k && domain[n - k - 1] == '.' && strcasecmp(domain + n - k, p->domain) == 0);
}

bool hg_ackpolicy_is_own_address(const struct hg_ackpolicy *p, const char *email)
{
    const char *at = email != NULL ? strrchr(email, '@') : NULL;
    if (at == NULL)
        return false;
    size_t base = base_local_len(email, at);
    for (size_t i = 0; i < p->n_own; i++) {
        const char *own_at = strrchr(p->own[i], '@');
        size_t own_local = (size_t)(own_at - p->own[i]);
        bool same_local = (size_t)(at - email) == own_local || base == own_local;
        if (same_local && strncasecmp(email, p->own[i], own_local) == 0 && strcasecmp(at, own_at) == 0)
            return true;
    }
    return in_own_domain(p, at + 1) && is_role_mailbox(email, base);
}

bool hg_ackpolicy_is_own_message_id(const struct hg_ackpolicy *p, const char *id)
{
    return p->msgid_suffix != NULL && id != NULL && ends_with_ci(id, p->msgid_suffix);
}

/* ------------------------------------------------------------ headers of the message */

static const char *header_value(const struct hg_mail *m, const char *name)
{
    for (size_t i = 0; i < m->n_headers; i++)
        if (strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

static bool token_char(char c)
{
    return !is_blank(c) && strchr("<>,;\"()", c) == NULL;
}

/*
 * Calls MATCH on every address-like token of VALUE ("<mailto:a@b?subject=x>",
 * "list a@b; contact c@d") with its "mailto:" and "?query" removed; true as
 * soon as one matches.
 */
static bool any_token(const char *value, bool (*match)(const void *ctx, const char *token), const void *ctx)
{
    char token[MAX_ADDRESS + 1];
    const char *p = value;
    while (*p != '\0') {
        while (*p != '\0' && !token_char(*p))
            p++;
        const char *start = p;
        while (*p != '\0' && token_char(*p))
            p++;
        size_t n = (size_t)(p - start);
        if (n > 7 && strncasecmp(start, "mailto:", 7) == 0)
            start += 7, n -= 7;
        const char *q = memchr(start, '?', n);
        if (q != NULL)
            n = (size_t)(q - start);
        if (n == 0 || n > MAX_ADDRESS)
            continue;
        memcpy(token, start, n);
        token[n] = '\0';
        if (match(ctx, token))
            return true;
    }
    return false;
}

static bool same_address(const void *ctx, const char *token)
{
    return strcasecmp((const char *)ctx, token) == 0;
}

/* Whether the List-Id VALUE ("Users <users.lists.example.org>") names EMAIL (users@lists.example.org). */
static bool list_id_names(const char *value, const char *email)
{
    const char *lt = strrchr(value, '<');
    const char *id = lt != NULL ? lt + 1 : value;
    while (is_blank(*id))
        id++;
    size_t n = 0;
    while (id[n] != '\0' && id[n] != '>' && !is_blank(id[n]))
        n++;
    if (n != strlen(email))
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(id[i]) != lower(email[i] == '@' ? '.' : email[i]))
            return false;
    return strchr(email, '@') != NULL;
}

static bool is_list_address(const struct hg_mail *m, const char *email)
{
    static const char *const named[] = {"List-Post", "Mailing-List", "X-Mailing-List"};
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct hg_mail_header *h = &m->headers[i];
        if (strcasecmp(h->name, "List-Id") == 0 && list_id_names(h->value, email))
            return true;
        for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
            if (strcasecmp(h->name, named[k]) == 0 && any_token(h->value, same_address, email))
                return true;
    }
    return false;
}

const char *hg_ackpolicy_reply_address(const struct hg_mail *m)
{
    for (size_t i = 0; i < m->reply_to.count && i < MAX_REPLY_TO_TRIED; i++) {
        const char *e = m->reply_to.items[i].email;
        if (valid_address(e) && !is_list_address(m, e))
            return e;
    }
    if (m->from != NULL && valid_address(m->from->email) && !is_list_address(m, m->from->email))
        return m->from->email;
    return NULL;
}

/* ------------------------------------------------------------ decisions */

static void decide_send(struct hg_ack_decision *d, const char *to)
{
    d->verdict = HG_ACK_SEND;
    d->reason = NULL;
    d->to = to;
    char quoted[MAX_QUOTED + 4];
    printable(quoted, sizeof quoted, to, MAX_QUOTED);
    snprintf(d->detail, sizeof d->detail, "send to %s", quoted);
}

__attribute__((format(printf, 3, 4))) static bool skip(struct hg_ack_decision *d, const char *reason,
                                                       const char *fmt, ...)
{
    char text[HG_ACK_DETAIL_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    d->verdict = HG_ACK_SKIP;
    d->reason = reason;
    printable(d->detail, sizeof d->detail, text, HG_ACK_DETAIL_MAX - 4);
    return true;
}

/* "NAME: VALUE" for a detail, the value shortened. */
static bool skip_header(struct hg_ack_decision *d, const char *reason, const char *name, const char *value)
{
    char quoted[MAX_QUOTED + 4];
    printable(quoted, sizeof quoted, value, MAX_QUOTED);
    return skip(d, reason, "%s: %s", name, quoted);
}

struct check_ctx {
    const struct hg_ackpolicy *policy;
    const struct hg_mail *mail;
};

static bool check_own_message_id(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const struct hg_mail *m = c->mail;
    if (m->message_id_generated || !hg_ackpolicy_is_own_message_id(c->policy, m->message_id))
        return false;
    return skip_header(d, "own_message_id", "Message-ID", m->message_id);
}

static bool names_own_address(const void *ctx, const char *token)
{
    return hg_ackpolicy_is_own_address(ctx, token);
}

static bool check_loop_header(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const struct hg_mail *m = c->mail;
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct hg_mail_header *h = &m->headers[i];
        if (strcasecmp(h->name, HG_ACKPOLICY_LOOP_HEADER) == 0 &&
            strcasecmp(h->value, c->policy->loop_value) == 0)
            return skip_header(d, "loop_header", h->name, h->value);
        if (strcasecmp(h->name, "X-Loop") == 0 && any_token(h->value, names_own_address, c->policy))
            return skip_header(d, "loop_header", h->name, h->value);
    }
    return false;
}

static bool check_own_from(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const struct hg_mail_address *from = c->mail->from;
    if (from == NULL || !hg_ackpolicy_is_own_address(c->policy, from->email))
        return false;
    char quoted[MAX_QUOTED + 4];
    printable(quoted, sizeof quoted, from->email, MAX_QUOTED);
    return skip(d, "own_address", "From %s is one of our addresses", quoted);
}

static bool check_bounce(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const struct hg_mail *m = c->mail;
    if (m->auto_kind != HG_MAIL_AUTO_BOUNCE)
        return false;
    return skip(d, "bounce", "a bounce (%s)", m->auto_reason != NULL ? m->auto_reason : "delivery report");
}

/* Auto-Submitted other than "no"; X-Autoreply or X-Autorespond other than "no"/"false"; Precedence:
 * auto_reply. */
static bool check_auto_submitted(const struct check_ctx *c, struct hg_ack_decision *d)
{
    static const char *const flags[] = {"X-Autoreply", "X-Autorespond"};
    static const char *const precedences[] = {"Precedence", "X-Precedence"};
    char word[32];
    const char *v = header_value(c->mail, "Auto-Submitted");
    if (v != NULL && (first_word(v, word, sizeof word), strcmp(word, "no") != 0))
        return skip_header(d, "auto_submitted", "Auto-Submitted", v);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        v = header_value(c->mail, flags[i]);
        if (v != NULL &&
            (first_word(v, word, sizeof word), strcmp(word, "no") != 0 && strcmp(word, "false") != 0))
            return skip_header(d, "auto_submitted", flags[i], v);
    }
    for (size_t i = 0; i < sizeof precedences / sizeof precedences[0]; i++) {
        v = header_value(c->mail, precedences[i]);
        if (v != NULL && (first_word(v, word, sizeof word), strcmp(word, "auto_reply") == 0 ||
                                                                strcmp(word, "auto-reply") == 0 ||
                                                                strcmp(word, "autoreply") == 0))
            return skip_header(d, "auto_submitted", precedences[i], v);
    }
    return false;
}

/* Exchange's comma-separated list ("DR, RN, NRN, OOF, AutoReply" or "All"). */
static bool suppresses_autoreply(const char *v)
{
    char word[32];
    while (*v != '\0') {
        while (*v != '\0' && (is_blank(*v) || *v == ',' || *v == ';'))
            v++;
        first_word(v, word, sizeof word);
        if (strcmp(word, "all") == 0 || strcmp(word, "autoreply") == 0 || strcmp(word, "oof") == 0)
            return true;
        while (*v != '\0' && !is_blank(*v) && *v != ',' && *v != ';')
            v++;
    }
    return false;
}

static bool check_suppressed(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const char *v = header_value(c->mail, "X-Auto-Response-Suppress");
    if (v == NULL || !suppresses_autoreply(v))
        return false;
    return skip_header(d, "suppressed_by_sender", "X-Auto-Response-Suppress", v);
}

static bool check_list_headers(const struct check_ctx *c, struct hg_ack_decision *d)
{
    static const char *const lists[] = {"List-Id",      "List-Post",      "List-Unsubscribe",
                                        "List-Help",    "List-Subscribe", "List-Owner",
                                        "List-Archive", "Mailing-List",   "X-Mailing-List"};
    static const char *const precedences[] = {"Precedence", "X-Precedence"};
    char word[32];
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        const char *v = header_value(c->mail, lists[i]);
        if (v != NULL)
            return skip_header(d, "list", lists[i], v);
    }
    for (size_t i = 0; i < sizeof precedences / sizeof precedences[0]; i++) {
        const char *v = header_value(c->mail, precedences[i]);
        if (v != NULL &&
            (first_word(v, word, sizeof word),
             strcmp(word, "bulk") == 0 || strcmp(word, "list") == 0 || strcmp(word, "junk") == 0))
            return skip_header(d, "list", precedences[i], v);
    }
    return false;
}

static bool check_null_return_path(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const char *v = header_value(c->mail, "Return-Path");
    if (v == NULL)
        return false;
    for (const char *p = v; *p != '\0'; p++)
        if (!is_blank(*p) && *p != '<' && *p != '>')
            return false;
    return skip(d, "null_sender", "Return-Path: <> (a null reverse-path)");
}

/* What only the normalizer saw: subjects, read receipts, rarer autoreply headers. */
static bool check_auto_verdict(const struct check_ctx *c, struct hg_ack_decision *d)
{
    const struct hg_mail *m = c->mail;
    const char *why = m->auto_reason != NULL ? m->auto_reason : "no reason given";
    if (m->auto_kind == HG_MAIL_AUTO_AUTOREPLY)
        return skip(d, "auto_submitted", "an automatic reply (%s)", why);
    if (m->auto_kind == HG_MAIL_AUTO_LIST || m->auto_kind == HG_MAIL_AUTO_BULK)
        return skip(d, "list", "%s mail (%s)", hg_mail_auto_name(m->auto_kind), why);
    return false;
}

/* The checks on the address to answer and on the facts, shared by both deciding functions. */
static void decide_to(const struct hg_ackpolicy *p, const char *to, const struct hg_ack_facts *facts,
                      struct hg_ack_decision *d)
{
    static const struct hg_ack_facts none = {0};
    const struct hg_ack_facts *f = facts != NULL ? facts : &none;
    char quoted[MAX_QUOTED + 4];
    d->to = to;
    printable(quoted, sizeof quoted, to != NULL ? to : "", MAX_QUOTED);
    if (to == NULL || to[0] == '\0') {
        skip(d, "null_sender", "no address to answer");
        return;
    }
    if (!valid_address(to)) {
        skip(d, "null_sender", "\"%s\" is not a valid address", quoted);
        return;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->noreply, NULL);
    if (md == NULL)
        hg_out_of_memory(sizeof(void *));
    int rc = pcre2_match(p->noreply, (PCRE2_SPTR)to, strlen(to), 0, 0, md, p->match_ctx);
    pcre2_match_data_free(md);
    if (rc >= 0)
        skip(d, "noreply_sender", "%s matches the no-reply pattern", quoted);
    else if (rc != PCRE2_ERROR_NOMATCH)
        skip(d, "noreply_sender", "the no-reply pattern gave up on %s (PCRE2 error %d)", quoted, rc);
    else if (hg_ackpolicy_is_own_address(p, to))
        skip(d, "own_address", "%s is one of our addresses", quoted);
    else if (f->is_agent)
        skip(d, "agent", "the author is an agent");
    else if (f->ticket_already_acknowledged)
        skip(d, "already_acknowledged", "the ticket was acknowledged before");
    else if (f->auto_on_ticket >= p->max_per_ticket)
        skip(d, "ticket_cap", "%u automatic mails on this ticket (at most %u)", f->auto_on_ticket,
             p->max_per_ticket);
    else if (f->recent_auto_to_sender >= p->max_per_sender_hour)
        skip(d, "sender_throttled", "%u automatic mails to %s in the last hour (at most %u)",
             f->recent_auto_to_sender, quoted, p->max_per_sender_hour);
    else
        decide_send(d, to);
}

void hg_ackpolicy_decide(const struct hg_ackpolicy *p, const struct hg_mail *m,
                         const struct hg_ack_facts *facts, struct hg_ack_decision *d)
{
    bool (*const checks[])(const struct check_ctx *, struct hg_ack_decision *) = {
        check_own_message_id, check_loop_header,      check_bounce,
        check_own_from,       check_auto_submitted,   check_suppressed,
        check_list_headers,   check_null_return_path, check_auto_verdict,
    };
    const struct check_ctx c = {p, m};
    d->to = hg_ackpolicy_reply_address(m);
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (checks[i](&c, d))
            return;
    if (d->to == NULL)
        skip(d, "null_sender", "From and Reply-To hold no valid address to answer");
    else
        decide_to(p, d->to, facts, d);
}

void hg_ackpolicy_decide_address(const struct hg_ackpolicy *p, const char *address,
                                 const struct hg_ack_facts *facts, struct hg_ack_decision *d)
{
    decide_to(p, address, facts, d);
}

/* ------------------------------------------------------------ headers we send */

const char *hg_ackpolicy_auto_submitted(enum hg_ack_mail_kind kind)
{
    switch (kind) {
    case HG_ACK_MAIL_ACK:
        return "auto-replied";
    case HG_ACK_MAIL_NOTIFICATION:
        return "auto-generated";
    case HG_ACK_MAIL_RELAY:
        break;
    }
    return NULL;
}

size_t hg_ackpolicy_headers(const struct hg_ackpolicy *p, enum hg_ack_mail_kind kind,
                            struct hg_ack_header out[HG_ACK_MAX_HEADERS])
{
    size_t n = 0;
    if (kind != HG_ACK_MAIL_RELAY)
        out[n++] = (struct hg_ack_header){"X-Auto-Response-Suppress", "All"};
    out[n++] = (struct hg_ack_header){HG_ACKPOLICY_LOOP_HEADER, p->loop_value};
    out[n++] = (struct hg_ack_header){"X-Loop", p->own[0]};
    return n;
}

/* ------------------------------------------------------------ making a policy */

/* Appends "KEY: what (hint)" with the offending value quoted. */
__attribute__((format(printf, 3, 4))) static void config_error(struct hg_buf *errors, const char *key,
                                                               const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hg_buf_printf(errors, "%s%s: %s", errors->len > 0 ? "\n" : "", key, text);
}

static void read_own_addresses(struct hg_ackpolicy *p, const struct hg_ackpolicy_config *cfg,
                               struct hg_buf *errors)
{
    if (cfg->own_addresses == NULL || cfg->n_own_addresses == 0) {
        config_error(errors, "own_addresses",
                     "none given (list the support mailboxes, e.g. support@example.com)");
        return;
    }
    p->own = hg_xcalloc(cfg->n_own_addresses, sizeof(*p->own));
    for (size_t i = 0; i < cfg->n_own_addresses; i++) {
        char *spec = config_addr_spec(cfg->own_addresses[i] != NULL ? cfg->own_addresses[i] : "");
        if (!valid_address(spec)) {
            char quoted[MAX_QUOTED + 4];
            printable(quoted, sizeof quoted, cfg->own_addresses[i] != NULL ? cfg->own_addresses[i] : "(null)",
                      MAX_QUOTED);
            config_error(errors, "own_addresses", "\"%s\" is not an address (write support@example.com)",
                         quoted);
            free(spec);
            continue;
        }
        p->own[p->n_own++] = spec;
    }
}

static void read_domain(struct hg_ackpolicy *p, const char *domain, struct hg_buf *errors)
{
    if (domain == NULL)
        return;
    if (!valid_domain(domain) || domain[0] == '[') {
        char quoted[MAX_QUOTED + 4];
        printable(quoted, sizeof quoted, domain, MAX_QUOTED);
        config_error(errors, "own_domain", "\"%s\" is not a domain name (write example.com, without '@')",
                     quoted);
        return;
    }
    p->domain = hg_xstrdup(domain);
    for (char *c = p->domain; *c != '\0'; c++)
        *c = lower(*c);
}

static bool printable_line(const char *s, bool blanks_allowed)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F || (*s == ' ' && !blanks_allowed))
            return false;
    return true;
}

static void read_loop_value(struct hg_ackpolicy *p, const char *value, struct hg_buf *errors)
{
    if (value == NULL)
        value = p->n_own > 0 ? p->own[0] : "";
    size_t n = strlen(value);
    bool trimmed = n > 0 && value[0] != ' ' && value[n - 1] != ' ';
    if (n == 0 || n > MAX_LOOP_VALUE || !trimmed || !printable_line(value, true)) {
        config_error(errors, "loop_value",
                     "must be 1 to %d characters of printable ASCII on one line, without leading or trailing "
                     "blanks (write the support address or an installation name)",
                     MAX_LOOP_VALUE);
        return;
    }
    p->loop_value = hg_xstrdup(value);
}

static void read_msgid_suffix(struct hg_ackpolicy *p, const char *suffix, struct hg_buf *errors)
{
    if (suffix == NULL)
        return;
    if (strchr(suffix, '@') == NULL || strpbrk(suffix, "<>") != NULL || !printable_line(suffix, false) ||
        strlen(suffix) > MAX_ADDRESS) {
        char quoted[MAX_QUOTED + 4];
        printable(quoted, sizeof quoted, suffix, MAX_QUOTED);
        config_error(errors, "message_id_suffix",
                     "\"%s\" is not the end of a Message-ID (write the '@' and the domain part of our ids, "
                     "e.g. @helpgate.example.com)",
                     quoted);
        return;
    }
    p->msgid_suffix = hg_xstrdup(suffix);
}

static void compile_noreply(struct hg_ackpolicy *p, const char *pattern, struct hg_buf *errors)
{
    int code = 0;
    PCRE2_SIZE offset = 0;
    if (pattern == NULL)
        pattern = HG_ACKPOLICY_DEFAULT_NOREPLY;
    p->noreply = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                               PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
    if (p->noreply == NULL) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        config_error(errors, "noreply_pattern",
                     "%s at offset %zu (the syntax is PCRE2's, see pcre2pattern(3))", (const char *)message,
                     (size_t)offset);
        return;
    }
    pcre2_jit_compile(p->noreply, PCRE2_JIT_COMPLETE); /* the interpreter runs when JIT is unavailable */
    p->match_ctx = pcre2_match_context_create(NULL);
    if (p->match_ctx == NULL)
        hg_out_of_memory(sizeof(void *));
    pcre2_set_match_limit(p->match_ctx, MATCH_LIMIT);
    pcre2_set_depth_limit(p->match_ctx, DEPTH_LIMIT);
}

int hg_ackpolicy_new(const struct hg_ackpolicy_config *cfg, struct hg_ackpolicy **policy_r, char **error_r)
{
    struct hg_ackpolicy *p = hg_xcalloc(1, sizeof(*p));
    struct hg_buf errors;
    hg_buf_init(&errors, MAX_ERROR_TEXT);
    read_own_addresses(p, cfg, &errors);
    read_domain(p, cfg->own_domain, &errors);
    read_loop_value(p, cfg->loop_value, &errors);
    read_msgid_suffix(p, cfg->message_id_suffix, &errors);
    compile_noreply(p, cfg->noreply_pattern, &errors);
    p->max_per_sender_hour =
        cfg->max_per_sender_hour != 0 ? cfg->max_per_sender_hour : HG_ACKPOLICY_DEFAULT_PER_SENDER_HOUR;
    p->max_per_ticket = cfg->max_per_ticket != 0 ? cfg->max_per_ticket : HG_ACKPOLICY_DEFAULT_PER_TICKET;
    if (errors.len > 0) {
        *error_r = hg_buf_steal(&errors);
        *policy_r = NULL;
        hg_ackpolicy_free(&p);
        return -1;
    }
    hg_buf_free(&errors);
    *policy_r = p;
    return 0;
}

void hg_ackpolicy_free(struct hg_ackpolicy **policy)
{
    struct hg_ackpolicy *p = *policy;
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_own; i++)
        free(p->own[i]);
    free(p->own);
    free(p->domain);
    free(p->loop_value);
    free(p->msgid_suffix);
    pcre2_match_context_free(p->match_ctx);
    pcre2_code_free(p->noreply);
    free(p);
    *policy = NULL;
}
