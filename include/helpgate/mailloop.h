/*
 * mailloop.h — the automatic mail of intake: acknowledgements to customers
 * and notifications to the support teams, queued in the outbox inside the
 * transaction that stores the message (the sender delivers them).
 *
 * hg_mailloop_new() loads what the mail needs from the configuration: the
 * templates of templates_dir (every *.tmpl compiled once; a bad template is
 * an error naming file:line:col), the key that signs agents' Reply-To
 * addresses, the automatic-mail policy (RFC 3834, throttles, no-reply
 * pattern) and the team addresses. It is read-only afterwards and shared by
 * the intake threads.
 *
 * hg_mailloop_after_intake(), for a message just stored:
 *   - a new ticket: the acknowledgement the route names (template; none when
 *     the rules say so or the policy refuses, e.g. auto-replies, lists,
 *     no-reply senders, throttled senders: the reason is audited), and a
 *     notification to every team or agent the route names;
 *   - a customer's reply on a ticket: a notification to its assignee, else to
 *     the team of its tier.
 * Every mail has a Message-ID derived from the key and what caused it, and
 * the outbox's unique Message-ID makes a repeat a no-op.
 *
 * Ownership: hg_mailloop_free(&loop). Errors: NULL/-1 with *error_r (caller
 * frees); after -1 the caller's transaction is aborted.
 */
#ifndef HELPGATE_MAILLOOP_H
#define HELPGATE_MAILLOOP_H

#include "helpgate/config.h"
#include "helpgate/intake.h"
#include "helpgate/mail.h"
#include "helpgate/rules.h"

#include <stdbool.h>
#include <stdint.h>

struct hg_store;
struct hg_mailloop;

struct hg_mailloop *hg_mailloop_new(const struct hg_config *cfg, char **error_r);
void hg_mailloop_free(struct hg_mailloop **loop);

/* How many templates were loaded (for the log). */
size_t hg_mailloop_template_count(const struct hg_mailloop *loop);

/* FACTS: the rules input the route was decided on (customer fields); ROUTE: the decision. */
int hg_mailloop_after_intake(const struct hg_mailloop *loop, struct hg_store *store,
                             const struct hg_mail *mail, const struct hg_intake_result *result,
                             const struct hg_rules_input *facts, const struct hg_rules_result *route,
                             char **error_r);

/*
 * The acknowledgement of a new ticket as text, for the chat window: the body
 * of the template the route names, rendered as for mail (same variables,
 * language chosen by MAIL's Content-/Accept-Language). NULL when the route
 * names none, the ticket is not new, or no such template exists. Caller frees.
 */
char *hg_mailloop_ack_text(const struct hg_mailloop *loop, const struct hg_mail *mail,
                           const struct hg_intake_result *result, const struct hg_rules_input *facts,
                           const struct hg_rules_result *route);

/*
 * An SLA event of a ticket (see sql/012 and daemon/sla.c), told by mail with
 * the template "sla" (no template: nothing is sent): to the team TEAM, or to
 * its leads when TO_LEADS (a team without an active lead: to the team). The
 * notification has a signed Reply-To like the others, so the agent can
 * answer the customer from it. Runs in the caller's transaction.
 */
struct hg_sla_notice {
    long long ticket_id;
    const char *event;  /* "warning" or "breach" */
    const char *target; /* "first_response" or "resolution" */
    const char *due;    /* the due time, as the template shows it */
    const char *team;   /* "L1", "L2" or "L3": whose agents are told */
    bool to_leads;
};
int hg_mailloop_sla_notice(const struct hg_mailloop *loop, struct hg_store *store,
                           const struct hg_sla_notice *n, char **error_r);

/*
 * A ticket moved to another tier by an operator (helpgatectl ticket tier):
 * the new tier's team is told with the template "notify" (no template:
 * nothing is sent), with REASON as its {{reason}} and the customer's last
 * message, and a signed Reply-To so that an agent can answer from it. The
 * Message-ID is unique per move (the ticket.tier audit row's id). Runs in
 * the caller's transaction. Returns 1 when a mail was queued, 0 when none
 * (no template, no such ticket, nobody in the team), -1 on error.
 */
struct hg_tier_notice {
    long long ticket_number;
    const char *team;   /* the new tier: "L1", "L2" or "L3" */
    const char *reason; /* or NULL */
};
int hg_mailloop_tier_notice(const struct hg_mailloop *loop, struct hg_store *store,
                            const struct hg_tier_notice *n, char **error_r);

/*
 * Agents answer by replying to a notification's signed Reply-To.
 * hg_mailloop_signed_ticket() looks for such an address among MAIL's
 * recipients (To, Cc, Delivered-To) and returns the ticket number when the
 * signature is valid, else 0, and in *AGENT_R the agent the address was
 * signed for (0: a team's shared mailbox, any agent). A bad or missing
 * signature is no answer (a forged one is logged): the
 * mail goes through normal intake, where a ticket tag only counts for the
 * ticket's own customer).
 */
uint64_t hg_mailloop_signed_ticket(const struct hg_mailloop *loop, const struct hg_mail *mail,
                                   uint64_t *agent_r);

struct hg_answer {
    uint64_t ticket_number;                /* from the signed address */
    uint64_t agent;                        /* the agent it was signed for, 0 for any */
    const struct hg_intake_source *source; /* the IMAP position, or NULL */
    const char *raw;                       /* the source as received */
    size_t raw_size;
    const char *raw_sha256_hex;
};

/*
 * MAIL answers a signed address (see above). From the agent it was signed
 * for (or any active agent, for a shared mailbox's), by address or alias, and
 * written by a person: the commands at its top are applied,
 * the answer is stored on the ticket and relayed to the customer from the
 * support address (never the signed address), unless it is a #note; a new
 * tier's team, or the team of a note, is notified. From anyone else but the
 * ticket's customer: nothing is relayed and the sender gets one throttled
 * notice saying why and how to fix it. Returns 1 when handled, 0 when MAIL
 * is the ticket's customer's (the caller stores it through normal intake,
 * tagged with the ticket), -1 on error. RESULT tells the outcome for the log.
 */
int hg_mailloop_answer(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_answer *answer, struct hg_intake_result *result, char **error_r);

/*
 * A bounce (delivery status notification) of mail we sent: when MAIL is a
 * bounce that quotes one of our Message-IDs, the outbox row is marked
 * failed with the bounce's reason, the ticket's audit log says so
 * (`outbox.bounced`) and no ticket is opened. Returns 1 when it was ours, 0
 * when not (normal intake), -1 on error. Runs in the caller's transaction.
 */
int hg_mailloop_bounce(const struct hg_mailloop *loop, struct hg_store *store, const struct hg_mail *mail,
                       const struct hg_intake_source *source, struct hg_intake_result *result,
                       char **error_r);

#endif
