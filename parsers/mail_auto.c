/*
 * mail_auto.c — is a message from a machine (auto-reply, bounce, mailing
 * list, bulk), and which ticket does it name?
 *
 * The verdict follows RFC 3834 (Auto-Submitted) and the headers that
 * auto-responders, MTAs and list managers really write: Precedence,
 * X-Autoreply, X-Autorespond, X-Auto-Response-Suppress (Exchange), List-Id,
 * List-Unsubscribe, X-Failed-Recipients, multipart/report delivery-status
 * and disposition-notification, ARF feedback reports (RFC 5965, counted as
 * bounces: the record has no kind of their own), MAILER-DAEMON senders and a null
 * Return-Path. The first sign found in the order bounce, autoreply, list,
 * bulk decides, and is named in auto_reason.
 *
 * Ticket tags: "[#1234]" (or "[" + the configured prefix + digits + "]"),
 * common variants such as "[Ticket#1234]", "[Ticket #1234]", "[Case: 1234]",
 * and plus-addresses ("support+1234@", "support+t1234.SIGNATURE@").
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TICKET_DIGITS 18
#define MAX_REASON 120

/* ------------------------------------------------------------ helpers */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The header's unfolded value, trimmed, or NULL when the header is absent. */
static char *header_value(const struct mail_headers *h, const char *name)
{
    const struct mail_header *hd = hg_mail_header_get(h, name);
    if (hd == NULL)
        return NULL;
    char *v = hg_mail_header_unfold(hd);
    hg_mail_collapse_spaces(v);
    return v;
}

/* The first word of V, lower-cased, up to ';', '(' or a blank. */
static void first_word(const char *v, char *out, size_t size)
{
    size_t n = 0;
    while (*v != '\0' && is_blank(*v))
        v++;
    for (; *v != '\0' && *v != ';' && *v != '(' && !is_blank(*v) && n + 1 < size; v++)
        out[n++] = lower(*v);
    out[n] = '\0';
}

static bool contains_ci(const char *haystack, const char *needle)
{
    return strcasestr(haystack, needle) != NULL;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* VALUE as printable ASCII ('?' for anything else), cut at MAX_REASON characters. */
static void printable(char *out, const char *value)
{
    size_t n = 0;
    for (; *value != '\0' && n < MAX_REASON; value++)
        out[n++] = (unsigned char)*value >= 0x20 && (unsigned char)*value < 0x7F ? *value : '?';
    out[n] = '\0';
}

/* "Auto-Submitted: auto-replied" for the reason, the value cut to stay short and printable. */
static char *reason_with_value(const char *name, const char *value)
{
    char q[MAX_REASON + 1];
    printable(q, value);
    return hg_xasprintf("%s: %s", name, q);
}

/* ------------------------------------------------------------ signs */

static const char *const bounce_subjects[] = {
    "undelivered mail",
    "undeliverable",
    "delivery status notification",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "delivery failure",
    "delivery has failed",
    "could not be delivered",
    "mail system error",
    "nondeliverable",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non recapitabile",
    "no se puede entregar",
    "rapport de non-remise",
};

static const char *const autoreply_subject_prefixes[] = {
    "automatic reply:",
    "autoreply:",
    "auto-reply:",
    "auto reply:",
    "auto response:",
    "auto-response:",
    "autoresponse:",
    "out of office:",
    "out of office reply",
    "out of the office:",
    "out of office autoreply",
    "abwesenheitsnotiz",
    "automatische antwort:",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "automatisch antwoord",
    "resposta automática",
    "autosvar",
    "automaattinen vastaus",
    "odpowiedź automatyczna",
    "automatická odpověď",
};

static bool subject_matches(const char *subject, const char *const *list, size_t n, bool prefix)
{
    for (size_t i = 0; i < n; i++)
        if (prefix ? starts_with_ci(subject, list[i]) : contains_ci(subject, list[i]))
            return true;
    return false;
}

static bool null_return_path(const struct mail_headers *h)
{
    char *v = header_value(h, "Return-Path");
    if (v == NULL)
        return false;
    bool null = strcmp(v, "<>") == 0 || strcmp(v, "< >") == 0 || strcmp(v, "") == 0;
    free(v);
    return null;
}

static bool from_is_mailer_daemon(const struct hg_mail *m)
{
    if (m->from == NULL)
        return false;
    const char *e = m->from->email;
    if (starts_with_ci(e, "mailer-daemon") && (e[13] == '\0' || e[13] == '@'))
        return true;
    if (starts_with_ci(e, "postmaster@") || strcasecmp(e, "postmaster") == 0)
        return true;
    const char *n = m->from->name;
    return n != NULL &&
           (strcasecmp(n, "Mail Delivery Subsystem") == 0 || strcasecmp(n, "Mail Delivery System") == 0);
}

static char *bounce_reason(const struct mail_auto_input *in)
{
    const struct mail_headers *h = in->headers;
    const struct hg_mail *m = in->mail;
    bool failure_subject = subject_matches(m->subject, bounce_subjects,
                                           sizeof bounce_subjects / sizeof bounce_subjects[0], false);
    if (in->delivery_status_report)
        return hg_xstrdup("multipart/report: delivery-status");
    if (in->feedback_report) /* an ARF abuse/feedback report: machine-sent, never to be acknowledged */
        return hg_xstrdup("multipart/report: feedback-report");
    if (hg_mail_header_get(h, "X-Failed-Recipients") != NULL)
        return hg_xstrdup("X-Failed-Recipients");
    if (from_is_mailer_daemon(m) && (failure_subject || !starts_with_ci(m->from->email, "postmaster")))
        return reason_with_value("From", m->from->email);
    if (failure_subject && null_return_path(h))
        return hg_xstrdup("Return-Path: <> with a delivery failure subject");
    return NULL;
}

static bool suppress_means_auto(const char *v)
{
    /* Exchange: "All", or a list such as "DR, RN, NRN, OOF, AutoReply" */
    char word[32];
    const char *p = v;
    while (*p != '\0') {
        while (*p != '\0' && (is_blank(*p) || *p == ','))
            p++;
        size_t n = 0;
        while (*p != '\0' && !is_blank(*p) && *p != ',' && n + 1 < sizeof word)
            word[n++] = lower(*p++);
        word[n] = '\0';
        if (strcmp(word, "all") == 0 || strcmp(word, "oof") == 0 || strcmp(word, "autoreply") == 0)
            return true;
        while (*p != '\0' && !is_blank(*p) && *p != ',')
            p++;
    }
    return false;
}

static char *autoreply_header_reason(const struct mail_headers *h)
{
    char word[32];
    char *v;
    if ((v = header_value(h, "Auto-Submitted")) != NULL) {
        first_word(v, word, sizeof word);
        char *r = strcmp(word, "no") != 0 ? reason_with_value("Auto-Submitted", v) : NULL;
        free(v);
        if (r != NULL)
            return r;
    }
    static const char *const flags[] = {"X-Autoreply",      "X-Autorespond",   "X-Autoreply-From",
                                        "X-Mail-Autoreply", "X-Autogenerated", "X-AutoReply-From"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if ((v = header_value(h, flags[i])) != NULL) {
            first_word(v, word, sizeof word);
            char *r =
                strcmp(word, "no") != 0 && strcmp(word, "false") != 0 ? reason_with_value(flags[i], v) : NULL;
            free(v);
            if (r != NULL)
                return r;
        }
    }
    if ((v = header_value(h, "X-Auto-Response-Suppress")) != NULL) {
        char *r = suppress_means_auto(v) ? reason_with_value("X-Auto-Response-Suppress", v) : NULL;
        free(v);
        if (r != NULL)
            return r;
    }
    return NULL;
}

static char *precedence_is(const struct mail_headers *h, const char *const *values, size_t n)
{
    char *v = header_value(h, "Precedence");
    if (v == NULL)
        v = header_value(h, "X-Precedence");
    if (v == NULL)
        return NULL;
    char word[32];
    first_word(v, word, sizeof word);
    char *r = NULL;
    for (size_t i = 0; i < n && r == NULL; i++)
        if (strcmp(word, values[i]) == 0)
            r = reason_with_value("Precedence", v);
    free(v);
    return r;
}

static char *autoreply_reason(const struct mail_auto_input *in)
{
    static const char *const auto_reply[] = {"auto_reply", "auto-reply", "autoreply"};
    char *r = autoreply_header_reason(in->headers);
    if (r == NULL)
        r = precedence_is(in->headers, auto_reply, 3);
    if (r == NULL && in->disposition_notification)
        r = hg_xstrdup("multipart/report: disposition-notification");
    if (r == NULL && null_return_path(in->headers))
        r = hg_xstrdup("Return-Path: <>");
    if (r == NULL &&
        subject_matches(in->mail->subject, autoreply_subject_prefixes,
                        sizeof autoreply_subject_prefixes / sizeof autoreply_subject_prefixes[0], true)) {
        r = reason_with_value("Subject", in->mail->subject);
    }
    return r;
}

static char *list_reason(const struct mail_auto_input *in)
{
    static const char *const list[] = {"list"};
    static const char *const headers[] = {"List-Id", "List-Post", "Mailing-List", "X-Mailing-List"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *v = header_value(in->headers, headers[i]);
        if (v != NULL) {
            char *r = reason_with_value(headers[i], v);
            free(v);
            return r;
        }
    }
    return precedence_is(in->headers, list, 1);
}

static char *bulk_reason(const struct mail_auto_input *in)
{
    static const char *const bulk[] = {"bulk", "junk"};
    char *r = precedence_is(in->headers, bulk, 2);
    if (r == NULL && hg_mail_header_get(in->headers, "List-Unsubscribe") != NULL)
        r = hg_xstrdup("List-Unsubscribe");
    return r;
}

void hg_mail_classify_auto(const struct mail_auto_input *in, struct hg_mail *m)
{
    char *(*const checks[])(const struct mail_auto_input *) = {bounce_reason, autoreply_reason, list_reason,
                                                               bulk_reason};
    const enum hg_mail_auto kinds[] = {HG_MAIL_AUTO_BOUNCE, HG_MAIL_AUTO_AUTOREPLY, HG_MAIL_AUTO_LIST,
                                       HG_MAIL_AUTO_BULK};
    m->auto_kind = HG_MAIL_AUTO_NONE;
    m->auto_reason = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char *reason = checks[i](in);
        if (reason != NULL) {
            m->auto_kind = kinds[i];
            m->auto_reason = reason;
            return;
        }
    }
}

/* ------------------------------------------------------------ ticket tags */

/* Digits at S (at most MAX_TICKET_DIGITS) as a new string without leading zeros; *END_R after them. */
static char *read_ticket_number(const char *s, const char **end_r)
{
    const char *p = s;
    while (is_digit(*p))
        p++;
    size_t n = (size_t)(p - s);
    *end_r = p;
    if (n == 0 || n > MAX_TICKET_DIGITS)
        return NULL;
    while (n > 1 && *s == '0')
        s++, n--;
    return hg_xstrndup(s, n);
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Matches PREFIX at P ignoring case, a blank in PREFIX matching any run of blanks (or none). */
static const char *match_prefix(const char *p, const char *prefix)
{
    while (*prefix != '\0') {
        if (is_blank(*prefix)) {
            p = skip_blanks(p);
            while (is_blank(*prefix))
                prefix++;
            continue;
        }
        if (lower(*p) != lower(*prefix))
            return NULL;
        p++;
        prefix++;
    }
    return skip_blanks(p);
}

/* The number if "<digits> ]" follows at P. */
static char *number_then_bracket(const char *p)
{
    const char *end;
    char *n = read_ticket_number(p, &end);
    if (n != NULL && *skip_blanks(end) == ']')
        return n;
    free(n);
    return NULL;
}

static const char *const ticket_words[] = {"ticket", "case", "request", "incident", "support"};

/* "[#1234]", "[Ticket#1234]", "[Ticket #1234]", "[Ticket: 1234]", "[Case-1234]" after the '['. */
static char *common_tag(const char *p)
{
    p = skip_blanks(p);
    bool word = false;
    for (size_t i = 0; i < sizeof ticket_words / sizeof ticket_words[0] && !word; i++) {
        size_t n = strlen(ticket_words[i]);
        if (strncasecmp(p, ticket_words[i], n) == 0 &&
            !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z'))) {
            p = skip_blanks(p + n);
            word = true;
        }
    }
    if (word && (*p == ':' || *p == '-'))
        p = skip_blanks(p + 1);
    bool hash = *p == '#';
    if (hash)
        p = skip_blanks(p + 1);
    return word || hash ? number_then_bracket(p) : NULL;
}

char *hg_mail_ticket_from_subject(const char *subject, const char *prefix)
{
    if (prefix == NULL || prefix[0] == '\0')
        prefix = "#";
    for (const char *p = strchr(subject, '['); p != NULL; p = strchr(p + 1, '[')) {
        const char *after = match_prefix(skip_blanks(p + 1), prefix);
        char *n = after != NULL ? number_then_bracket(after) : NULL;
        if (n == NULL)
            n = common_tag(p + 1);
        if (n != NULL)
            return n;
    }
    return NULL;
}

/* "1234", "t1234", "ticket1234", "ticket-1234", each optionally followed by ".signature" or "-signature". */
static char *ticket_from_detail(const char *detail, size_t len)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf)
        return NULL;
    memcpy(buf, detail, len);
    buf[len] = '\0';
    const char *p = buf;
    if (strncasecmp(p, "ticket", 6) == 0)
        p += 6;
    else if (lower(*p) == 't')
        p++;
    if (*p == '-' || *p == '_')
        p++;
    const char *end;
    char *n = read_ticket_number(p, &end);
    if (n != NULL && *end != '\0' && *end != '.' && *end != '-' && *end != '_') {
        free(n);
        return NULL;
    }
    return n;
}

/* The addr-spec of a configured support address, which may be written "Support <support@example.com>". */
static void support_addr_spec(const char *support, char *out, size_t size)
{
    const char *lt = strchr(support, '<');
    const char *start = lt != NULL ? lt + 1 : support;
    while (is_blank(*start))
        start++;
    size_t n = 0;
    while (start[n] != '\0' && start[n] != '>' && !is_blank(start[n]))
        n++;
    if (n >= size)
        n = 0;
    memcpy(out, start, n);
    out[n] = '\0';
}

char *hg_mail_ticket_from_address(const char *email, const char *support)
{
    const char *at = strrchr(email, '@');
    const char *plus = memchr(email, '+', at != NULL ? (size_t)(at - email) : 0);
    if (at == NULL || plus == NULL)
        return NULL;
    if (support != NULL && support[0] != '\0') {
        char spec[256];
        support_addr_spec(support, spec, sizeof spec);
        const char *support_at = strrchr(spec, '@');
        if (support_at == NULL)
            return NULL;
        size_t local = (size_t)(support_at - spec);
        if ((size_t)(plus - email) != local || strncasecmp(email, spec, local) != 0 ||
            strcasecmp(at, support_at) != 0)
            return NULL;
    }
    return ticket_from_detail(plus + 1, (size_t)(at - plus - 1));
}
