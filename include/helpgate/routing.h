/*
 * routing.h — the rules' decision for one incoming message, and the mail
 * loop's work after it is stored: shared by mail intake (mail_ingest.c) and
 * chat (chat_store.c).
 *
 * hg_routing_decide() fills the rules input from a normalized mail (for a
 * chat message, a struct hg_mail the caller builds), reads the sender's
 * customer facts (sql/008 helpgate_customer_facts) and evaluates the rules in
 * force; json is the decision for the intake call. hg_routing_after_intake()
 * is intake's `after` hook (ARG: the struct hg_routing): the mail loop's
 * acknowledgement and notifications, in the message's transaction.
 *
 * Ownership: the struct is the caller's (usually on the stack, zeroed);
 * hg_routing_free() releases what it holds. It points into MAIL, which must
 * outlive it, and holds a reference on the rule set until freed.
 */
#ifndef HELPGATE_ROUTING_H
#define HELPGATE_ROUTING_H

#include "helpgate/intake.h"
#include "helpgate/mail.h"
#include "helpgate/rules.h"
#include "helpgate/rules_mail.h"

struct hg_store;
struct hg_mailloop;
struct hg_rules_holder;
struct hg_rules_ref;

struct hg_routing {
    struct hg_rules_input in;
    struct hg_rules_mail_views views;
    struct hg_rules_result route;
    char *json; /* hg_rules_result_json(), for the intake call */
    char *tier; /* customer facts read from the database (owned) */
    char *notes;
    char *company;
    const struct hg_mail *mail;
    const struct hg_mailloop *mailloop;
    struct hg_rules_holder *holder; /* the route points into the rule set: held until hg_routing_free() */
    struct hg_rules_ref *ref;
    struct hg_store *store; /* where the customer-facts query went */
    long facts_handle;      /* that query (hg_routing_start), until read */
};

/* CHANNEL: "email" or "chat"; RECIPIENT: the support address it came in on, or NULL. 0, or -1 with *error_r.
 */
int hg_routing_decide(struct hg_routing *r, struct hg_store *store, struct hg_rules_holder *rules,
                      const struct hg_mailloop *loop, const struct hg_mail *mail, const char *recipient,
                      const char *channel, char **error_r);
/*
 * The same in two steps, for a pipelined store (store_pg.h): start sends the
 * customer-facts query, finish reads it and evaluates the rules. The facts
 * are those of the moment the query runs: statements sent on the store
 * before start are seen, those sent between start and finish are not. A
 * started routing that is never finished is released by hg_routing_free()
 * (its query's answer is then dropped).
 */
int hg_routing_start(struct hg_routing *r, struct hg_store *store, struct hg_rules_holder *rules,
                     const struct hg_mailloop *loop, const struct hg_mail *mail, const char *recipient,
                     const char *channel, char **error_r);
int hg_routing_finish(struct hg_routing *r, struct hg_store *store, char **error_r);
void hg_routing_free(struct hg_routing *r);

/* intake's after hook (struct hg_intake_message.after) with ARG a struct hg_routing. */
int hg_routing_after_intake(void *arg, struct hg_store *store, const struct hg_intake_result *result,
                            char **error_r);

#endif
