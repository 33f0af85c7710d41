/*
 * routing.c — the rules' decision for an incoming message and the mail loop after it (see routing.h).
 */
#include "helpgate/routing.h"

#include "helpgate/alloc.h"
#include "helpgate/mailloop.h"
#include "helpgate/rules_holder.h"
#include "store_pg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The sender's customer facts (sql/008 helpgate_customer_facts) into R->in. */
static int read_customer_facts(struct hg_store *store, struct hg_routing *r, char **error_r)
{
    const char *params[] = {r->in.from_email};
    PGresult *res = hg_pg_exec(store,
                               "SELECT known, tier, custom_code, custom_code_notes, company, open_tickets"
                               " FROM helpgate_customer_facts($1)",
                               1, params, error_r);
    if (res == NULL)
        return -1;
    r->in.customer_known = PQgetvalue(res, 0, 0)[0] == 't';
    r->tier = hg_xstrdup(PQgetvalue(res, 0, 1));
    r->in.customer_tier = r->tier;
    r->in.customer_custom_code = PQgetvalue(res, 0, 2)[0] == 't';
    r->notes = PQgetisnull(res, 0, 3) ? NULL : hg_xstrdup(PQgetvalue(res, 0, 3));
    r->in.customer_custom_code_notes = r->notes;
    r->company = PQgetisnull(res, 0, 4) ? NULL : hg_xstrdup(PQgetvalue(res, 0, 4));
    r->in.customer_company = r->company;
    r->in.customer_open_tickets = strtol(PQgetvalue(res, 0, 5), NULL, 10);
    PQclear(res);
    return 0;
}

int hg_routing_decide(struct hg_routing *r, struct hg_store *store, struct hg_rules_holder *rules,
                      const struct hg_mailloop *loop, const struct hg_mail *mail, const char *recipient,
                      const char *channel, char **error_r)
{
    hg_rules_input_from_mail(mail, recipient, &r->in, &r->views);
    r->in.channel = channel;
    r->in.now = (int64_t)time(NULL);
    r->mail = mail;
    r->mailloop = loop;
    if (r->in.from_email != NULL && read_customer_facts(store, r, error_r) < 0)
        return -1;
    r->holder = rules;
    const struct hg_rules *set = hg_rules_holder_acquire(r->holder, &r->ref);
    hg_rules_evaluate(set, &r->in, &r->route);
    r->json = hg_rules_result_json(set, &r->route);
    return 0;
}

void hg_routing_free(struct hg_routing *r)
{
    if (r->holder != NULL)
        hg_rules_holder_release(r->holder, &r->ref);
    hg_rules_mail_views_free(&r->views);
    free(r->json);
    free(r->tier);
    free(r->notes);
    free(r->company);
    memset(r, 0, sizeof(*r));
}

int hg_routing_after_intake(void *arg, struct hg_store *store, const struct hg_intake_result *result,
                            char **error_r)
{
    struct hg_routing *r = arg;
    return hg_mailloop_after_intake(r->mailloop, store, r->mail, result, &r->in, &r->route, error_r);
}
