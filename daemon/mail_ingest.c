/*
 * mail_ingest.c — normalize a fetched mail and store it through intake (see mail_ingest.h).
 */
#include "helpgate/mail_ingest.h"

#include "helpgate/alloc.h"
#include "helpgate/mail.h"
#include "helpgate/mailloop.h"
#include "helpgate/poller.h"
#include "helpgate/routing.h"
#include "helpgate/sha256.h"
#include "store_pg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest ticket number we accept from a tag: more digits cannot be one of ours. */
#define TICKET_TAG_MAX_DIGITS 15

static long long parse_ticket_tag(const char *tag)
{
    if (tag == NULL || strlen(tag) > TICKET_TAG_MAX_DIGITS)
        return 0;
    return strtoll(tag, NULL, 10);
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A NULL-terminated copy of N pointers (the strings are not copied); caller frees the array. */
static const char **terminated(char *const *items, size_t n, const char *extra)
{
    const char **list = hg_xcalloc(n + 2, sizeof(*list));
    for (size_t i = 0; i < n; i++)
        list[i] = items[i];
    list[n] = extra;
    return list;
}

static struct hg_intake_attachment *map_attachments(const struct hg_mail *m)
{
    struct hg_intake_attachment *list = hg_xcalloc(m->n_attachments + 1, sizeof(*list));
    for (size_t i = 0; i < m->n_attachments; i++) {
        const struct hg_mail_attachment *a = &m->attachments[i];
        list[i] = (struct hg_intake_attachment){
            .filename = a->filename,
            .content_type = a->content_type,
            .content_id = a->content_id,
            .is_inline = a->is_inline,
            .data = a->data,
            .size = a->size,
            .sha256_hex = a->sha256,
        };
    }
    return list;
}

/*
 * M answers a notification's signed Reply-To, or is a bounce: the mail loop
 * takes it (1: an agent's answer, a refused answer, a bounce of our own
 * mail), or it goes through normal intake (0: the ticket's customer's
 * message, tagged with the ticket; a bounce of mail that was not ours).
 */
static int take_answer(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_mail *m, const struct hg_answer *answer, bool in_transaction,
                       struct hg_intake_result *result, char **error_r)
{
    if (!in_transaction && hg_pg_command(store, "BEGIN", 0, NULL, error_r) < 0)
        return -1;
    int rc = answer->ticket_number > 0
                 ? hg_mailloop_answer(settings->mailloop, store, m, answer, result, error_r)
                 : hg_mailloop_bounce(settings->mailloop, store, m, answer->source, result, error_r);
    if (!in_transaction) {
        if (rc >= 0 && hg_pg_command(store, "COMMIT", 0, NULL, error_r) < 0)
            rc = -1;
        if (rc < 0)
            PQclear(PQexec(hg_store_conn(store), "ROLLBACK"));
    }
    return rc;
}

/*
 * Pipelining a poller's batch. Storing message k takes three statements whose
 * order matters: its customer-facts query (the rules need the answer), its
 * intake call, then its acknowledgement's rows. Sent one after the other,
 * the server would wait for helpgated's routing between each. Instead, while
 * the server stores k, helpgated parses k+1, reads k+1's facts, routes it and
 * sends its intake call too, so the server always has the next call queued.
 * The facts of k+1 must reflect k's intake when k could change them: k+1's
 * facts query is then sent after k's intake call; when k cannot (see
 * independent()), before it, so that its answer is there while the server
 * stores k. The rows written after an intake call (attachments,
 * acknowledgement, notifications) are sent behind the next intake call: it
 * does not read them.
 */

/* The intake call of one mail, built once its route is known; the lists are owned. */
struct call {
    struct hg_intake_message msg;
    struct hg_intake_source source;
    const char **references;
    const char **warnings;
    struct hg_intake_attachment *attachments;
    char *truncation;
    long handle; /* > 0: sent, answer not read yet */
};

/* A fetched mail, parsed, on its way to the store. */
struct prepared {
    uint32_t uid;
    struct hg_mail *m;
    char raw_sha256[HG_SHA256_HEX_SIZE];
    uint64_t answered, signed_for;
    bool to_mailloop;          /* an answer to a signed Reply-To, or a bounce: the mail loop looks first */
    struct hg_routing routing; /* with rules, once started: its customer-facts query sent */
    bool routing_started;
    struct call call;
};

/* A poller batch's *batch_state: the mails prepared ahead, by UID. */
struct ahead {
    struct prepared *list[2];
};

static const char *recipient_of(const struct hg_mail_ingest_settings *settings, const struct hg_mail *m)
{
    return m->delivered_to != NULL ? m->delivered_to : settings->support_address;
}

static struct prepared *parse(const struct hg_mail_ingest_settings *settings, uint32_t uid, const char *raw,
                              size_t len)
{
    struct hg_mail_limits limits = {
        .ticket_tag_prefix = settings->ticket_tag_prefix,
        .support_address = settings->support_address,
    };
    struct prepared *p = hg_xcalloc(1, sizeof(*p));
    p->uid = uid;
    p->m = hg_mail_parse(raw, len, &limits);
    hg_sha256_hex(raw, len, p->raw_sha256);
    p->answered = hg_mailloop_signed_ticket(settings->mailloop, p->m, &p->signed_for);
    p->to_mailloop =
        p->answered > 0 || (p->m->auto_kind == HG_MAIL_AUTO_BOUNCE && settings->mailloop != NULL);
    return p;
}

static void prepared_free(struct hg_store *store, struct prepared *p)
{
    if (p == NULL)
        return;
    if (p->call.handle > 0)
        hg_pg_forget(store, p->call.handle);
    free(p->call.attachments);
    free(p->call.warnings);
    free(p->call.references);
    free(p->call.truncation);
    hg_routing_free(&p->routing);
    hg_mail_free(&p->m);
    free(p);
}

/* Sends P's customer-facts query (with rules; once). */
static int start_routing(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                         struct prepared *p, char **error_r)
{
    if (settings->rules == NULL || p->routing_started)
        return 0;
    p->routing_started = true;
    return hg_routing_start(&p->routing, store, settings->rules, settings->mailloop, p->m,
                            recipient_of(settings, p->m), "email", error_r);
}

/* ASCII only: non-ASCII addresses may be equal under PostgreSQL's lower() and not under ours. */
static bool same_address(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    for (const char *s = a; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    for (const char *s = b; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return strcasecmp(a, b) == 0;
}

/*
 * True when storing A cannot change B's customer facts (sql/008: the
 * sender's customer row and their open tickets): A goes through plain intake,
 * names no ticket (no tag, In-Reply-To or References: it opens a new ticket,
 * reopening none), and comes from another address (it creates no customer
 * row that B would find).
 */
static bool independent(const struct prepared *a, const struct prepared *b)
{
    const struct hg_mail *m = a->m;
    if (a->to_mailloop || m->ticket_tag != NULL || m->in_reply_to != NULL || m->n_references > 0)
        return false;
    const char *from_a = m->from ? m->from->email : NULL;
    const char *from_b = b->m->from ? b->m->from->email : NULL;
    return !same_address(from_a, from_b);
}

/* Routes P (its facts answered) and builds its intake call. */
static int build_call(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                      const struct hg_poller_message *msg, struct prepared *p, char **error_r)
{
    if (p->routing_started && hg_routing_finish(&p->routing, store, error_r) < 0)
        return -1;
    const struct hg_mail *m = p->m;
    struct call *c = &p->call;
    c->source =
        (struct hg_intake_source){.mailbox = msg->mailbox, .uidvalidity = msg->uidvalidity, .uid = msg->uid};
    c->truncation = msg->truncated
                        ? hg_xasprintf("message_truncated: the message is larger than the mailbox's "
                                       "max_message_size; only its first %zu bytes were stored",
                                       msg->len)
                        : NULL;
    c->references = terminated(m->references, m->n_references, NULL);
    c->warnings = terminated(m->warnings, m->n_warnings, c->truncation);
    c->attachments = map_attachments(m);
    c->msg = (struct hg_intake_message){
        .channel = "email",
        .message_id = m->message_id,
        .in_reply_to = m->in_reply_to,
        .references = c->references,
        .from_email = m->from ? nonempty(m->from->email) : NULL,
        .from_name = m->from ? m->from->name : NULL,
        .subject = m->subject,
        .date_iso = m->date,
        .ticket_tag = p->answered > 0 ? (long long)p->answered : parse_ticket_tag(m->ticket_tag),
        .body_text = m->body_text,
        .body_html = m->body_html,
        .reply_text = m->reply_text,
        .auto_kind = hg_mail_auto_name(m->auto_kind),
        .warnings = c->warnings,
        .attachments = c->attachments,
        .n_attachments = m->n_attachments,
        .support_address = recipient_of(settings, m),
        .raw = (const unsigned char *)msg->raw,
        .raw_size = msg->len,
        .raw_sha256_hex = p->raw_sha256,
        .route_json = p->routing.json,
        .after = settings->rules != NULL && settings->mailloop != NULL ? hg_routing_after_intake : NULL,
        .after_arg = &p->routing,
    };
    return 0;
}

/* The mail loop's look at P (an answer or a bounce): 1 taken, 0 passed on to intake, -1 error. */
static int mailloop_first(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                          const struct hg_poller_message *msg, struct prepared *p,
                          struct hg_intake_result *result, char **error_r)
{
    struct hg_intake_source source = {
        .mailbox = msg->mailbox, .uidvalidity = msg->uidvalidity, .uid = msg->uid};
    struct hg_answer answer = {p->answered, p->signed_for, &source, msg->raw, msg->len, p->raw_sha256};
    int taken = take_answer(store, settings, p->m, &answer, msg->in_transaction, result, error_r);
    if (taken == 0 && start_routing(store, settings, p, error_r) < 0)
        return -1;
    return taken;
}

/* Outside a pipelined batch: P in the caller's transaction (MSG->in_transaction) or its own. */
static int store_alone(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_poller_message *msg, struct prepared *p,
                       struct hg_intake_result *result, char **error_r)
{
    if (p->to_mailloop) {
        int taken = mailloop_first(store, settings, msg, p, result, error_r);
        if (taken != 0)
            return taken < 0 ? -1 : 0;
    } else if (start_routing(store, settings, p, error_r) < 0) {
        return -1;
    }
    if (build_call(store, settings, msg, p, error_r) < 0)
        return -1;
    if (msg->in_transaction)
        return hg_intake_store_in_transaction(store, &p->call.msg, &p->call.source, result, error_r);
    return hg_intake_store(store, &p->call.msg, &p->call.source, result, error_r);
}

/*
 * *Q_IO is NEXT prepared (parsed here when NULL). Its facts query is sent now,
 * before the caller's next intake call, when PREV's intake cannot change
 * those facts; else start_after() sends it once that call is sent.
 */
static int look_ahead(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                      const struct hg_poller_message *next, const struct prepared *prev,
                      struct prepared **q_io, char **error_r)
{
    if (next == NULL)
        return 0;
    if (*q_io == NULL)
        *q_io = parse(settings, next->uid, next->raw, next->len);
    struct prepared *q = *q_io;
    return !q->to_mailloop && independent(prev, q) ? start_routing(store, settings, q, error_r) : 0;
}

/* Q's facts query, behind the intake call just sent (a no-op when look_ahead() sent it before). */
static int start_after(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       struct prepared *q, char **error_r)
{
    return q != NULL && !q->to_mailloop ? start_routing(store, settings, q, error_r) : 0;
}

/* Routes P (waiting for its facts) and sends its intake call; MSG is P's fetched message. */
static int send_call(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                     const struct hg_poller_message *msg, struct prepared *p, char **error_r)
{
    if (build_call(store, settings, msg, p, error_r) < 0)
        return -1;
    p->call.handle = hg_intake_send(store, &p->call.msg, &p->call.source, error_r);
    return p->call.handle < 0 ? -1 : 0;
}

/*
 * In a pipelined batch: P, the mail of MSG, whose intake call the previous
 * call may have sent already. *Q_R holds what was prepared for MSG->next (or
 * NULL) and gets it back, *R_R what is prepared for the one after. Q's
 * intake call goes behind P's before P's answer is read (see the top of this
 * section).
 */
static int store_pipelined(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                           const struct hg_poller_message *msg, struct prepared *p, struct prepared **q_r,
                           struct prepared **r_r, struct hg_intake_result *result, char **error_r)
{
    const struct hg_poller_message *next = msg->next;
    *r_r = NULL;
    if (p->call.handle == 0) { /* not sent ahead */
        if (p->to_mailloop) {
            int taken = mailloop_first(store, settings, msg, p, result, error_r);
            if (taken < 0)
                return -1;
            if (taken > 0) { /* stored by the mail loop: only the next one to prepare */
                if (look_ahead(store, settings, next, p, q_r, error_r) < 0)
                    return -1;
                return start_after(store, settings, *q_r, error_r);
            }
        }
        if (start_routing(store, settings, p, error_r) < 0 ||
            look_ahead(store, settings, next, p, q_r, error_r) < 0 ||
            send_call(store, settings, msg, p, error_r) < 0 ||
            start_after(store, settings, *q_r, error_r) < 0)
            return -1;
    } else if (next != NULL && *q_r == NULL && look_ahead(store, settings, next, p, q_r, error_r) < 0) {
        return -1;
    }
    struct prepared *q = *q_r;
    if (q != NULL && !q->to_mailloop) {
        if (start_after(store, settings, q, error_r) < 0 ||
            look_ahead(store, settings, next->next, q, r_r, error_r) < 0 ||
            send_call(store, settings, next, q, error_r) < 0 ||
            start_after(store, settings, *r_r, error_r) < 0)
            return -1;
    }
    long handle = p->call.handle;
    p->call.handle = 0;
    return hg_intake_finish(store, handle, &p->call.msg, result, error_r);
}

static struct prepared *take_ahead(struct ahead *ahead, uint32_t uid)
{
    for (size_t i = 0; ahead != NULL && i < 2; i++) {
        struct prepared *p = ahead->list[i];
        if (p != NULL && p->uid == uid) {
            ahead->list[i] = NULL;
            return p;
        }
    }
    return NULL;
}

int hg_mail_ingest_one(struct hg_store *store, const struct hg_mail_ingest_settings *settings,
                       const struct hg_intake_source *source, const char *raw, size_t len, bool truncated,
                       struct hg_intake_result *result, char **error_r)
{
    struct hg_poller_message msg = {.mailbox = source != NULL ? source->mailbox : NULL,
                                    .uidvalidity = source != NULL ? source->uidvalidity : 0,
                                    .uid = source != NULL ? source->uid : 0,
                                    .raw = raw,
                                    .len = len,
                                    .truncated = truncated};
    struct prepared *p = parse(settings, msg.uid, raw, len);
    int rc = store_alone(store, settings, &msg, p, result, error_r);
    prepared_free(store, p);
    return rc;
}

int hg_mail_ingest(struct hg_store *store, const struct hg_poller_message *msg, void *arg,
                   struct hg_intake_result *result, char **error_r)
{
    const struct hg_mail_ingest_settings *settings = arg;
    if (msg->batch_state == NULL || !hg_pg_in_pipeline(store)) {
        struct prepared *p = parse(settings, msg->uid, msg->raw, msg->len);
        int rc = store_alone(store, settings, msg, p, result, error_r);
        prepared_free(store, p);
        return rc;
    }
    struct ahead *ahead = *msg->batch_state;
    if (ahead == NULL)
        *msg->batch_state = ahead = hg_xcalloc(1, sizeof(*ahead));
    struct prepared *p = take_ahead(ahead, msg->uid);
    struct prepared *q = msg->next != NULL ? take_ahead(ahead, msg->next->uid) : NULL;
    for (size_t i = 0; i < 2; i++) { /* anything else prepared is stale */
        prepared_free(store, ahead->list[i]);
        ahead->list[i] = NULL;
    }
    if (p == NULL)
        p = parse(settings, msg->uid, msg->raw, msg->len);
    ahead->list[0] = q;
    int rc = store_pipelined(store, settings, msg, p, &ahead->list[0], &ahead->list[1], result, error_r);
    prepared_free(store, p);
    return rc;
}

void hg_mail_ingest_batch_done(void *batch_state, void *arg, struct hg_store *store)
{
    (void)arg;
    struct ahead *ahead = batch_state;
    if (ahead == NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        prepared_free(store, ahead->list[i]);
    free(ahead);
}
