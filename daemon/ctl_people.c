/*
 * ctl_people.c — `helpgatectl agent …` and `helpgatectl customer …`: the
 * people helpgate knows, changed with the tool instead of SQL.
 *
 * Every change is one statement that also writes its audit row (actor
 * "ctl:USER"), so a change without its audit row cannot happen.
 */
#include "ctl.h"
#include "ctl_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- agent ------------------------------------------------------------------------------- */

struct agent_options {
    const char *name, *team;
    int lead; /* -1 unchanged, 0 no, 1 yes */
};

static int agent_options(int argc, char **argv, int first, struct agent_options *o)
{
    o->name = o->team = NULL;
    o->lead = -1;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            o->name = argv[++i];
        else if (strcmp(argv[i], "--team") == 0 && i + 1 < argc && ctl_valid_team(argv[i + 1]))
            o->team = argv[++i];
        else if (strcmp(argv[i], "--lead") == 0 || strcmp(argv[i], "--no-lead") == 0)
            o->lead = argv[i][2] == 'l';
        else {
            fprintf(stderr,
                    "helpgatectl agent: bad option %s (--team L1|L2|L3, --name NAME, --lead, --no-lead)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int agent_add(struct ctl_session *s, const char *email, const struct agent_options *o)
{
    if (o->team == NULL) {
        fprintf(stderr, "helpgatectl agent add: --team L1|L2|L3 is required\n");
        return EXIT_USAGE;
    }
    const char *params[] = {email, o->name, o->team, o->lead == 1 ? "t" : "f", s->actor};
    char done[512];
    snprintf(done, sizeof done, "agent %s added to team %s", email, o->team);
    return ctl_change(
        s,
        "WITH clash AS (SELECT 1 FROM agent_aliases WHERE lower(email) = lower($1)),"
        " a AS (INSERT INTO agents (email, name, team, is_lead) SELECT $1, $2, $3, $4 WHERE NOT EXISTS"
        " (SELECT 1 FROM clash) RETURNING id, email, name, team, is_lead)"
        " INSERT INTO audit_log (actor, action, details) SELECT $5, 'agent.add',"
        " jsonb_build_object('agent', id, 'email', email, 'name', name, 'team', team, 'lead', is_lead) FROM a"
        " RETURNING id",
        5, params, done, "that address is already an alias of an agent (agent alias remove it first)",
        "an agent with that address exists; change it with helpgatectl agent set");
}

static int agent_set(struct ctl_session *s, const char *email, const struct agent_options *o,
                     const char *active)
{
    const char *params[] = {email,  o->name, o->team, o->lead < 0 ? NULL : o->lead ? "t" : "f",
                            active, s->actor};
    char done[512], missing[512];
    snprintf(done, sizeof done, "agent %s changed", email);
    snprintf(missing, sizeof missing, "no agent %s (helpgatectl agent list shows them)", email);
    return ctl_change(
        s,
        "WITH a AS (UPDATE agents SET name = coalesce($2, name), team = coalesce($3, team),"
        " is_lead = coalesce($4::boolean, is_lead), active = coalesce($5::boolean, active)"
        " WHERE lower(email) = lower($1) RETURNING id, email, name, team, is_lead, active)"
        " INSERT INTO audit_log (actor, action, details) SELECT $6, CASE WHEN $5::boolean IS FALSE"
        " THEN 'agent.deactivate' ELSE 'agent.set' END, jsonb_build_object('agent', id, 'email', email,"
        " 'name', name, 'team', team, 'lead', is_lead, 'active', active) FROM a RETURNING id",
        6, params, done, missing, NULL);
}

static int agent_alias(struct ctl_session *s, int argc, char **argv)
{
    char done[512], missing[512];
    if (argc == 5 && strcmp(argv[2], "add") == 0 && ctl_valid_address(argv[4])) {
        const char *params[] = {argv[3], argv[4], s->actor};
        snprintf(done, sizeof done, "%s is now an address of agent %s", argv[4], argv[3]);
        snprintf(missing, sizeof missing, "no agent %s, or %s is an agent's own address", argv[3], argv[4]);
        return ctl_change(s,
                          "WITH a AS (INSERT INTO agent_aliases (email, agent_id) SELECT $2, id FROM agents"
                          " WHERE lower(email) = lower($1) AND NOT EXISTS (SELECT 1 FROM agents WHERE "
                          "lower(email) = lower($2))"
                          " RETURNING email, agent_id)"
                          " INSERT INTO audit_log (actor, action, details) SELECT $3, 'agent.alias.add',"
                          " jsonb_build_object('agent', agent_id, 'alias', email) FROM a RETURNING id",
                          3, params, done, missing, "that alias belongs to an agent already");
    }
    if (argc == 4 && strcmp(argv[2], "remove") == 0) {
        const char *params[] = {argv[3], s->actor};
        snprintf(done, sizeof done, "alias %s removed", argv[3]);
        snprintf(missing, sizeof missing, "no alias %s", argv[3]);
        return ctl_change(s,
                          "WITH a AS (DELETE FROM agent_aliases WHERE lower(email) = lower($1)"
                          " RETURNING email, agent_id)"
                          " INSERT INTO audit_log (actor, action, details) SELECT $2, 'agent.alias.remove',"
                          " jsonb_build_object('agent', agent_id, 'alias', email) FROM a RETURNING id",
                          2, params, done, missing, NULL);
    }
    fprintf(stderr, "usage: helpgatectl agent alias add AGENT-EMAIL ALIAS | agent alias remove ALIAS\n");
    return EXIT_USAGE;
}

static int agent_list(struct ctl_session *s)
{
    int rc = 0;
    PGresult *res =
        ctl_query(s,
                  "SELECT a.email, coalesce(a.name, ''), a.team, CASE WHEN a.is_lead THEN 'lead' ELSE ''"
                  " END, CASE WHEN a.active THEN 'active' ELSE 'inactive' END,"
                  " coalesce(string_agg(al.email, ', ' ORDER BY al.email), '')"
                  " FROM agents a LEFT JOIN agent_aliases al ON al.agent_id = a.id"
                  " GROUP BY a.id ORDER BY a.team, a.email",
                  0, NULL, &rc);
    if (res == NULL)
        return rc;
    printf("%-32s %-4s %-8s %-20s %-5s %s\n", "EMAIL", "TEAM", "STATE", "NAME", "LEAD", "ALIASES");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-32s %-4s %-8s %-20s %-5s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 1), PQgetvalue(res, i, 3), PQgetvalue(res, i, 5));
    PQclear(res);
    return 0;
}

static int agent_usage(void)
{
    fprintf(stderr, "usage: helpgatectl agent add EMAIL --team L1|L2|L3 [--name NAME] [--lead]\n"
                    "       helpgatectl agent set EMAIL [--team T] [--name NAME] [--lead|--no-lead]\n"
                    "       helpgatectl agent team EMAIL L1|L2|L3\n"
                    "       helpgatectl agent disable|deactivate EMAIL | agent enable|activate EMAIL\n"
                    "       helpgatectl agent list\n"
                    "       helpgatectl agent alias add AGENT-EMAIL ALIAS | agent alias remove ALIAS\n");
    return EXIT_USAGE;
}

static bool agent_verb(const char *verb)
{
    static const char *const verbs[] = {"add",      "set",    "team", "deactivate", "disable",
                                        "activate", "enable", "list", "alias"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i]) == 0)
            return true;
    return false;
}

static int agent_dispatch(struct ctl_session *s, int argc, char **argv)
{
    const char *verb = argv[1];
    if (strcmp(verb, "list") == 0)
        return argc == 2 ? agent_list(s) : agent_usage();
    if (strcmp(verb, "alias") == 0)
        return agent_alias(s, argc, argv);
    if (argc < 3)
        return agent_usage();
    struct agent_options none = {.lead = -1};
    if (strcmp(verb, "team") == 0) {
        if (argc != 4 || !ctl_valid_team(argv[3])) {
            fprintf(stderr, "usage: helpgatectl agent team EMAIL L1|L2|L3\n");
            return EXIT_USAGE;
        }
        none.team = argv[3];
        return agent_set(s, argv[2], &none, NULL);
    }
    struct agent_options o;
    bool with_options = strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0;
    if ((with_options && agent_options(argc, argv, 3, &o) != 0) || (!with_options && argc != 3))
        return agent_usage();
    if (strcmp(verb, "add") == 0)
        return ctl_valid_address(argv[2]) ? agent_add(s, argv[2], &o) : agent_usage();
    if (strcmp(verb, "set") == 0)
        return agent_set(s, argv[2], &o, NULL);
    if (strcmp(verb, "deactivate") == 0 || strcmp(verb, "disable") == 0)
        return agent_set(s, argv[2], &none, "f");
    if (strcmp(verb, "activate") == 0 || strcmp(verb, "enable") == 0)
        return agent_set(s, argv[2], &none, "t");
    return agent_usage();
}

int cmd_agent(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 2 || !agent_verb(argv[1]))
        return agent_usage();
    struct ctl_session s;
    int rc = ctl_session_open(ctl, &s);
    if (rc != 0)
        return rc;
    rc = agent_dispatch(&s, argc, argv);
    ctl_session_close(&s);
    return rc;
}

/* ---- customer ---------------------------------------------------------------------------- */

/* Most bytes of a customer's custom-code notes. */
#define CUSTOMER_NOTES_MAX (64u * 1024)

/* What a customer command changes; NULL leaves a field as it is. */
struct customer_fields {
    const char *tier, *custom_code /* "t", "f" */, *notes, *company, *name;
};

static bool valid_customer_tier(const char *s)
{
    return s != NULL && (strcmp(s, "standard") == 0 || strcmp(s, "premium") == 0 || strcmp(s, "vip") == 0);
}

static const char *yes_no(const char *s)
{
    return s == NULL ? NULL : strcmp(s, "yes") == 0 ? "t" : strcmp(s, "no") == 0 ? "f" : NULL;
}

static int customer_show(struct ctl_session *s, const char *email)
{
    const char *params[] = {email};
    int rc = 0;
    PGresult *res =
        ctl_query(s,
                  "SELECT c.email, coalesce(c.name, ''), coalesce(c.company, ''), c.tier,"
                  " CASE WHEN c.custom_code THEN 'yes' ELSE 'no' END, coalesce(c.custom_code_notes, ''),"
                  " (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id"
                  " AND t.status IN ('new', 'open', 'pending')),"
                  " (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id)"
                  " FROM customers c WHERE lower(c.email) = lower($1)",
                  1, params, &rc);
    if (res == NULL)
        return rc;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "helpgatectl: no customer %s\n", email);
        rc = EXIT_USAGE;
    } else {
        static const char *const labels[] = {"email",       "name",  "company",      "tier",
                                             "custom code", "notes", "open tickets", "tickets"};
        for (int k = 0; k < 8; k++)
            printf("%-13s %s\n", labels[k], PQgetvalue(res, 0, k));
    }
    PQclear(res);
    return rc;
}

/* Reads --tier, --custom-code, --notes, --company, --name from ARGV[FIRST...]. */
static int customer_options(const char *verb, int argc, char **argv, int first, struct customer_fields *f)
{
    for (int i = first; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--tier") == 0 && valid_customer_tier(v))
            f->tier = v;
        else if (strcmp(argv[i], "--custom-code") == 0 && yes_no(v) != NULL)
            f->custom_code = yes_no(v);
        else if (strcmp(argv[i], "--notes") == 0 && v != NULL)
            f->notes = v;
        else if (strcmp(argv[i], "--company") == 0 && v != NULL)
            f->company = v;
        else if (strcmp(argv[i], "--name") == 0 && v != NULL)
            f->name = v;
        else {
            fprintf(stderr,
                    "helpgatectl customer %s: bad option %s (--tier standard|premium|vip, --custom-code "
                    "yes|no, --notes TEXT, --company NAME, --name NAME)\n",
                    verb, argv[i]);
            return EXIT_USAGE;
        }
        i++;
    }
    return 0;
}

/*
 * Saves F for EMAIL in one statement with its audit row: `customer add`
 * (ADD: a new customer only, 'customer.add'), or `customer set` and its
 * short forms (created when new, 'customer.set').
 */
static int customer_save(struct ctl_session *s, const char *verb, const char *email,
                         const struct customer_fields *f, bool add)
{
    if (!ctl_valid_address(email)) {
        fprintf(stderr, "helpgatectl customer %s: \"%s\" is not an email address\n", verb, email);
        return EXIT_USAGE;
    }
    const char *params[] = {email, f->tier, f->custom_code, f->notes, f->company, f->name, s->actor};
    char done[512];
    snprintf(done, sizeof done, add ? "customer %s added" : "customer %s saved", email);
    if (add)
        return ctl_change(
            s,
            "WITH c AS (INSERT INTO customers (email, tier, custom_code, custom_code_notes, company, name)"
            " VALUES ($1, coalesce($2, 'standard'), coalesce($3::boolean, false), $4, $5, $6)"
            " RETURNING id, tier, custom_code)"
            " INSERT INTO audit_log (actor, action, customer_id, details) SELECT $7, 'customer.add', id,"
            " jsonb_strip_nulls(jsonb_build_object('email', $1::text, 'tier', tier, 'custom_code', "
            "custom_code,"
            " 'notes', $4::text, 'company', $5::text, 'name', $6::text)) FROM c RETURNING id",
            7, params, done, "nothing saved",
            "a customer with that address exists; change it with helpgatectl customer set");
    return ctl_change(
        s,
        "WITH c AS (INSERT INTO customers (email, tier, custom_code, custom_code_notes, company, name)"
        " VALUES ($1, coalesce($2, 'standard'), coalesce($3::boolean, false), $4, $5, $6)"
        " ON CONFLICT ((lower(email))) DO UPDATE SET tier = coalesce($2, customers.tier),"
        " custom_code = coalesce($3::boolean, customers.custom_code),"
        " custom_code_notes = coalesce($4, customers.custom_code_notes),"
        " company = coalesce($5, customers.company),"
        " name = coalesce($6, customers.name), updated_at = now() RETURNING id)"
        " INSERT INTO audit_log (actor, action, customer_id, details) SELECT $7, 'customer.set', id,"
        " jsonb_strip_nulls(jsonb_build_object('tier', $2::text, 'custom_code', $3::boolean,"
        " 'notes', $4::text, 'company', $5::text, 'name', $6::text)) FROM c RETURNING id",
        7, params, done, "nothing saved", NULL);
}

static int customer_usage(void)
{
    fprintf(stderr,
            "usage: helpgatectl customer show EMAIL\n"
            "       helpgatectl customer add EMAIL [--tier standard|premium|vip] [--custom-code yes|no]\n"
            "                                      [--notes TEXT] [--company NAME] [--name NAME]\n"
            "       helpgatectl customer set EMAIL [same options as add]\n"
            "       helpgatectl customer set-tier EMAIL standard|premium|vip\n"
            "       helpgatectl customer custom-code EMAIL yes|no [--notes TEXT]\n"
            "       helpgatectl customer notes EMAIL TEXT|-\n");
    return EXIT_USAGE;
}

static int customer_dispatch(struct ctl_session *s, int argc, char **argv)
{
    const char *verb = argv[1], *email = argv[2];
    struct customer_fields f = {0};
    if (strcmp(verb, "show") == 0)
        return customer_show(s, email);
    if (strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0) {
        int rc = customer_options(verb, argc, argv, 3, &f);
        return rc != 0 ? rc : customer_save(s, verb, email, &f, verb[0] == 'a');
    }
    if (strcmp(verb, "set-tier") == 0) {
        f.tier = argv[3];
        return customer_save(s, verb, email, &f, false);
    }
    if (strcmp(verb, "custom-code") == 0) {
        f.custom_code = yes_no(argv[3]);
        if (argc == 6)
            f.notes = argv[5];
        return customer_save(s, verb, email, &f, false);
    }
    char *notes = ctl_text_arg("customer notes", argv[3], CUSTOMER_NOTES_MAX);
    if (notes == NULL)
        return EXIT_USAGE;
    f.notes = notes;
    int rc = customer_save(s, verb, email, &f, false);
    free(notes);
    return rc;
}

/* Checks the shape of a customer command before connecting: true when it is well formed. */
static bool customer_well_formed(int argc, char **argv)
{
    if (argc < 3)
        return false;
    const char *verb = argv[1];
    if (strcmp(verb, "show") == 0)
        return argc == 3;
    if (strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0)
        return true; /* options are checked with their values */
    if (strcmp(verb, "set-tier") == 0)
        return argc == 4 && valid_customer_tier(argv[3]);
    if (strcmp(verb, "custom-code") == 0)
        return (argc == 4 || (argc == 6 && strcmp(argv[4], "--notes") == 0)) && yes_no(argv[3]) != NULL;
    if (strcmp(verb, "notes") == 0)
        return argc == 4;
    return false;
}

int cmd_customer(struct ctl *ctl, int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "export") == 0 || strcmp(argv[1], "erase") == 0))
        return argv[1][1] == 'x' ? ctl_customer_export(ctl, argc, argv) : ctl_customer_erase(ctl, argc, argv);
    if (!customer_well_formed(argc, argv))
        return customer_usage();
    struct ctl_session s;
    int rc = ctl_session_open(ctl, &s);
    if (rc != 0)
        return rc;
    rc = customer_dispatch(&s, argc, argv);
    ctl_session_close(&s);
    return rc;
}
