/*
 * ctl_people.c — `helpgatectl agent …` and `helpgatectl customer …`: the
 * people helpgate knows, changed with the tool instead of SQL.
 *
 * Every change is one statement that also writes its audit row (actor
 * "ctl:USER"), so a change without its audit row cannot happen.
 */
#include "ctl.h"

#include "helpgate/alloc.h"
#include "helpgate/config_check.h"
#include "store_pg.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQLSTATE_UNIQUE_VIOLATION "23505"

/* "ctl:alice": who ran the command (the sudo user when there is one). */
static void actor_name(char *out, size_t size)
{
    const char *user = getenv("SUDO_USER");
    struct passwd *pw = user == NULL ? getpwuid(geteuid()) : NULL;
    snprintf(out, size, "ctl:%s", user != NULL ? user : pw != NULL ? pw->pw_name : "unknown");
}

static bool valid_address(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(s) > 254)
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == '"' || *s == 0x7f)
            return false;
    return true;
}

static bool valid_tier(const char *s)
{
    return s != NULL && (strcmp(s, "L1") == 0 || strcmp(s, "L2") == 0 || strcmp(s, "L3") == 0);
}

/* A database session for one command: config, connection, actor. */
struct session {
    struct hg_config *cfg;
    struct hg_store *store;
    char actor[128];
};

static int open_session(struct ctl *ctl, struct session *s)
{
    memset(s, 0, sizeof(*s));
    s->cfg = load_config_or_explain(hg_config_default_path(ctl->config_path), false);
    if (s->cfg == NULL)
        return EXIT_USAGE;
    s->store = connect_or_explain(s->cfg);
    if (s->store == NULL) {
        hg_config_free(&s->cfg);
        return 1;
    }
    actor_name(s->actor, sizeof s->actor);
    return 0;
}

static void close_session(struct session *s)
{
    hg_store_free(&s->store);
    hg_config_free(&s->cfg);
}

/*
 * Runs SQL (which returns one row per changed thing); prints WHAT_DONE when
 * it changed something, NOT_FOUND (with the first parameter) when not.
 */
static int run_change(struct session *s, const char *sql, int n, const char *const *params,
                      const char *what_done, const char *not_found, const char *duplicate)
{
    char *error = NULL;
    PGresult *res = hg_pg_exec(s->store, sql, n, params, &error);
    if (res == NULL) {
        bool dup = strcmp(hg_pg_last_sqlstate(s->store), SQLSTATE_UNIQUE_VIOLATION) == 0;
        fprintf(stderr, "helpgatectl: %s\n", dup && duplicate != NULL ? duplicate : error);
        free(error);
        return dup ? EXIT_USAGE : 1;
    }
    int rows = PQntuples(res);
    PQclear(res);
    if (rows == 0) {
        fprintf(stderr, "helpgatectl: %s\n", not_found);
        return EXIT_USAGE;
    }
    printf("%s\n", what_done);
    return 0;
}

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
        else if (strcmp(argv[i], "--team") == 0 && i + 1 < argc && valid_tier(argv[i + 1]))
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

static int agent_add(struct session *s, const char *email, const struct agent_options *o)
{
    if (o->team == NULL) {
        fprintf(stderr, "helpgatectl agent add: --team L1|L2|L3 is required\n");
        return EXIT_USAGE;
    }
    const char *params[] = {email, o->name, o->team, o->lead == 1 ? "t" : "f", s->actor};
    char done[512];
    snprintf(done, sizeof done, "agent %s added to team %s", email, o->team);
    return run_change(
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

static int agent_set(struct session *s, const char *email, const struct agent_options *o, const char *active)
{
    const char *params[] = {email,  o->name, o->team, o->lead < 0 ? NULL : o->lead ? "t" : "f",
                            active, s->actor};
    char done[512], missing[512];
    snprintf(done, sizeof done, "agent %s changed", email);
    snprintf(missing, sizeof missing, "no agent %s (helpgatectl agent list shows them)", email);
    return run_change(
        s,
        "WITH a AS (UPDATE agents SET name = coalesce($2, name), team = coalesce($3, team),"
        " is_lead = coalesce($4::boolean, is_lead), active = coalesce($5::boolean, active)"
        " WHERE lower(email) = lower($1) RETURNING id, email, name, team, is_lead, active)"
        " INSERT INTO audit_log (actor, action, details) SELECT $6, CASE WHEN $5::boolean IS FALSE"
        " THEN 'agent.deactivate' ELSE 'agent.set' END, jsonb_build_object('agent', id, 'email', email,"
        " 'name', name, 'team', team, 'lead', is_lead, 'active', active) FROM a RETURNING id",
        6, params, done, missing, NULL);
}

static int agent_alias(struct session *s, int argc, char **argv)
{
    char done[512], missing[512];
    if (argc == 5 && strcmp(argv[2], "add") == 0 && valid_address(argv[4])) {
        const char *params[] = {argv[3], argv[4], s->actor};
        snprintf(done, sizeof done, "%s is now an address of agent %s", argv[4], argv[3]);
        snprintf(missing, sizeof missing, "no agent %s, or %s is an agent's own address", argv[3], argv[4]);
        return run_change(s,
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
        return run_change(s,
                          "WITH a AS (DELETE FROM agent_aliases WHERE lower(email) = lower($1)"
                          " RETURNING email, agent_id)"
                          " INSERT INTO audit_log (actor, action, details) SELECT $2, 'agent.alias.remove',"
                          " jsonb_build_object('agent', agent_id, 'alias', email) FROM a RETURNING id",
                          2, params, done, missing, NULL);
    }
    fprintf(stderr, "usage: helpgatectl agent alias add AGENT-EMAIL ALIAS | agent alias remove ALIAS\n");
    return EXIT_USAGE;
}

static int agent_list(struct session *s)
{
    char *error = NULL;
    PGresult *res =
        hg_pg_exec(s->store,
                   "SELECT a.email, coalesce(a.name, ''), a.team, CASE WHEN a.is_lead THEN 'lead' ELSE ''"
                   " END, CASE WHEN a.active THEN 'active' ELSE 'inactive' END,"
                   " coalesce(string_agg(al.email, ', ' ORDER BY al.email), '')"
                   " FROM agents a LEFT JOIN agent_aliases al ON al.agent_id = a.id"
                   " GROUP BY a.id ORDER BY a.team, a.email",
                   0, NULL, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl: %s\n", error);
        free(error);
        return 1;
    }
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
                    "       helpgatectl agent deactivate EMAIL | agent activate EMAIL | agent list\n"
                    "       helpgatectl agent alias add AGENT-EMAIL ALIAS | agent alias remove ALIAS\n");
    return EXIT_USAGE;
}

static int agent_dispatch(struct session *s, int argc, char **argv)
{
    const char *verb = argv[1];
    if (strcmp(verb, "list") == 0)
        return agent_list(s);
    if (strcmp(verb, "alias") == 0)
        return agent_alias(s, argc, argv);
    if (argc < 3)
        return agent_usage();
    struct agent_options o;
    bool with_options = strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0;
    if ((with_options && agent_options(argc, argv, 3, &o) != 0) || (!with_options && argc != 3))
        return agent_usage();
    if (strcmp(verb, "add") == 0)
        return valid_address(argv[2]) ? agent_add(s, argv[2], &o) : agent_usage();
    if (strcmp(verb, "set") == 0)
        return agent_set(s, argv[2], &o, NULL);
    struct agent_options none = {.lead = -1};
    if (strcmp(verb, "deactivate") == 0 || strcmp(verb, "activate") == 0)
        return agent_set(s, argv[2], &none, verb[0] == 'a' ? "t" : "f");
    return agent_usage();
}

int cmd_agent(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 2)
        return agent_usage();
    struct session s;
    int rc = open_session(ctl, &s);
    if (rc != 0)
        return rc;
    rc = agent_dispatch(&s, argc, argv);
    close_session(&s);
    return rc;
}

/* ---- customer ---------------------------------------------------------------------------- */

static int customer_show(struct session *s, const char *email)
{
    const char *params[] = {email};
    char *error = NULL;
    PGresult *res =
        hg_pg_exec(s->store,
                   "SELECT c.email, coalesce(c.name, ''), coalesce(c.company, ''), c.tier,"
                   " CASE WHEN c.custom_code THEN 'yes' ELSE 'no' END, coalesce(c.custom_code_notes, ''),"
                   " (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id"
                   " AND t.status IN ('new', 'open', 'pending')),"
                   " (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id)"
                   " FROM customers c WHERE lower(c.email) = lower($1)",
                   1, params, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl: %s\n", error);
        free(error);
        return 1;
    }
    int rc = 0;
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

static int customer_set(struct session *s, int argc, char **argv)
{
    const char *email = argv[2], *tier = NULL, *custom = NULL, *notes = NULL, *company = NULL, *name = NULL;
    for (int i = 3; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--tier") == 0 && v != NULL &&
            (strcmp(v, "standard") == 0 || strcmp(v, "premium") == 0 || strcmp(v, "vip") == 0))
            tier = v;
        else if (strcmp(argv[i], "--custom-code") == 0 && v != NULL &&
                 (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0))
            custom = v[0] == 'y' ? "t" : "f";
        else if (strcmp(argv[i], "--notes") == 0 && v != NULL)
            notes = v;
        else if (strcmp(argv[i], "--company") == 0 && v != NULL)
            company = v;
        else if (strcmp(argv[i], "--name") == 0 && v != NULL)
            name = v;
        else {
            fprintf(stderr,
                    "helpgatectl customer set: bad option %s (--tier standard|premium|vip, --custom-code "
                    "yes|no, --notes TEXT, --company NAME, --name NAME)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        i++;
    }
    if (!valid_address(email)) {
        fprintf(stderr, "helpgatectl customer set: \"%s\" is not an email address\n", email);
        return EXIT_USAGE;
    }
    const char *params[] = {email, tier, custom, notes, company, name, s->actor};
    char done[512];
    snprintf(done, sizeof done, "customer %s saved", email);
    return run_change(
        s,
        "WITH c AS (INSERT INTO customers (email, tier, custom_code, custom_code_notes, company, name)"
        " VALUES ($1, coalesce($2, 'standard'), coalesce($3::boolean, false), $4, $5, $6)"
        " ON CONFLICT ((lower(email))) DO UPDATE SET tier = coalesce($2, customers.tier),"
        " custom_code = coalesce($3::boolean, customers.custom_code),"
        " custom_code_notes = coalesce($4, customers.custom_code_notes), company = coalesce($5, "
        "customers.company),"
        " name = coalesce($6, customers.name), updated_at = now() RETURNING id)"
        " INSERT INTO audit_log (actor, action, customer_id, details) SELECT $7, 'customer.set', id,"
        " jsonb_strip_nulls(jsonb_build_object('tier', $2::text, 'custom_code', $3::boolean, 'notes', "
        "$4::text,"
        " 'company', $5::text, 'name', $6::text)) FROM c RETURNING id",
        7, params, done, "nothing saved", NULL);
}

int cmd_customer(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "set") != 0) ||
        (strcmp(argv[1], "show") == 0 && argc != 3)) {
        fprintf(stderr,
                "usage: helpgatectl customer show EMAIL\n"
                "       helpgatectl customer set EMAIL [--tier standard|premium|vip] [--custom-code yes|no]\n"
                "                                      [--notes TEXT] [--company NAME] [--name NAME]\n");
        return EXIT_USAGE;
    }
    struct session s;
    int rc = open_session(ctl, &s);
    if (rc != 0)
        return rc;
    rc = strcmp(argv[1], "show") == 0 ? customer_show(&s, argv[2]) : customer_set(&s, argc, argv);
    close_session(&s);
    return rc;
}
