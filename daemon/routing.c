/*
 * routing.c — the rules' decision for an incoming message and the mail loop after it (see routing.h).
 */
#include "helpgate/routing.h"

#include "helpgate/alloc.h"
#include "helpgate/mailloop.h"
#include "helpgate/rules_holder.h"
#include "helpgate/sla.h"
#include "store_pg.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char facts_sql[] = "SELECT known, tier, custom_code, custom_code_notes, company, open_tickets"
                                " FROM helpgate_customer_facts($1)";

/* The sender's customer facts (sql/008 helpgate_customer_facts), answered to R->facts_handle, into R->in. */
static int read_customer_facts(struct hg_store *store, struct hg_routing *r, char **error_r)
{
    PGresult *res = hg_pg_receive(store, r->facts_handle, error_r);
    r->facts_handle = 0;
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

static void set_epoch(json_t *o, const char *key, int64_t t)
{
    if (t != HG_SLA_NEVER)
        json_object_set_new(o, key, json_integer((json_int_t)t));
}

/*
 * The due times of the route's SLA policy, counted from now, into the route's
 * JSON: sql/012's trigger makes them the ticket's columns, and the scheduler
 * reads "sla_on_breach". No policy of that name: no SLA, nothing added.
 */
static void add_sla_times(struct hg_routing *r, const struct hg_rules *set)
{
    const struct hg_sla_policy *p = r->route.sla != NULL ? hg_rules_sla(set, r->route.sla) : NULL;
    if (p == NULL || r->json == NULL)
        return;
    json_t *o = json_loads(r->json, 0, NULL);
    if (o == NULL)
        return;
    struct hg_sla_times t;
    hg_sla_times_at(set, p, r->in.now, &t);
    set_epoch(o, "first_response_due", t.first_response_due);
    set_epoch(o, "resolution_due", t.resolution_due);
    set_epoch(o, "warn_at",
              t.first_response_warn < t.resolution_warn ? t.first_response_warn : t.resolution_warn);
    set_epoch(o, "resolution_warn_at", t.resolution_warn); /* the second warning (sql/015) */
    json_object_set_new(o, "sla_on_breach",
                        json_string(p->on_breach == HG_SLA_NOTIFY_LEAD ? "notify_lead" : "escalate"));
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (json != NULL) {
        free(r->json);
        r->json = json;
    }
}

int hg_routing_start(struct hg_routing *r, struct hg_store *store, struct hg_rules_holder *rules,
                     const struct hg_mailloop *loop, const struct hg_mail *mail, const char *recipient,
                     const char *channel, char **error_r)
{
    hg_rules_input_from_mail(mail, recipient, &r->in, &r->views);
    r->in.channel = channel;
    r->mail = mail;
    r->mailloop = loop;
    r->holder = rules;
    r->store = store;
    if (r->in.from_email == NULL)
        return 0;
    const char *params[] = {r->in.from_email};
    r->facts_handle = hg_pg_send(store, facts_sql, 1, params, NULL, NULL, error_r);
    return r->facts_handle < 0 ? -1 : 0;
}

int hg_routing_finish(struct hg_routing *r, struct hg_store *store, char **error_r)
{
    if (r->facts_handle > 0 && read_customer_facts(store, r, error_r) < 0)
        return -1;
    r->in.now = (int64_t)time(NULL);
    const struct hg_rules *set = hg_rules_holder_acquire(r->holder, &r->ref);
    hg_rules_evaluate(set, &r->in, &r->route);
    r->json = hg_rules_result_json(set, &r->route);
    add_sla_times(r, set);
    return 0;
}

int hg_routing_decide(struct hg_routing *r, struct hg_store *store, struct hg_rules_holder *rules,
                      const struct hg_mailloop *loop, const struct hg_mail *mail, const char *recipient,
                      const char *channel, char **error_r)
{
    if (hg_routing_start(r, store, rules, loop, mail, recipient, channel, error_r) < 0)
        return -1;
    return hg_routing_finish(r, store, error_r);
}

void hg_routing_free(struct hg_routing *r)
{
    if (r->holder != NULL && r->ref != NULL)
        hg_rules_holder_release(r->holder, &r->ref);
    if (r->facts_handle > 0)
        hg_pg_forget(r->store, r->facts_handle);
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
