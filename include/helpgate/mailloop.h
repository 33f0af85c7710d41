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

#endif
