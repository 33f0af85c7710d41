/*
 * ctl_report.c — `helpgatectl report`: fetches the facts of a period from
 * PostgreSQL and hands them to the report module (parsers/report.c), which
 * decides what counts where and writes the table, CSV or JSON.
 *
 * The three queries run in one read-only REPEATABLE READ transaction, so
 * that they see the same snapshot. Every value reaches the server as a
 * parameter. The ticket query selects a superset of what can count (created,
 * resolved or closed in the period); report.c applies the exact rules.
 */
#include "ctl_report.h"

#include "ctl.h"

#include "helpgate/buf.h"
#include "helpgate/config_check.h"
#include "helpgate/report.h"
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest report written: far more than 15 rows and 10 customers can take. */
#define REPORT_OUTPUT_MAX (16u * 1024 * 1024)

#define SQLSTATE_UNDEFINED_COLUMN "42703"
#define SQLSTATE_UNDEFINED_TABLE "42P01"

/* Times travel as microseconds since the epoch (NULL stays NULL). */
static const char tickets_sql[] =
    "SELECT t.tier, coalesce(c.custom_code, false),"
    " floor(extract(epoch FROM t.created_at) * 1000000)::bigint,"
    " floor(extract(epoch FROM t.first_response_at) * 1000000)::bigint,"
    " floor(extract(epoch FROM t.resolved_at) * 1000000)::bigint,"
    " floor(extract(epoch FROM t.closed_at) * 1000000)::bigint,"
    " t.first_response_due IS NOT NULL OR t.resolution_due IS NOT NULL,"
    " t.first_response_breached_at IS NOT NULL OR t.resolution_breached_at IS NOT NULL"
    " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
    " WHERE ($3::text IS NULL OR t.tier = $3::text)"
    " AND ((t.created_at >= $1::timestamptz AND t.created_at < $2::timestamptz)"
    " OR (t.resolved_at >= $1::timestamptz AND t.resolved_at < $2::timestamptz)"
    " OR (t.closed_at >= $1::timestamptz AND t.closed_at < $2::timestamptz))";

static const char escalations_sql[] =
    "SELECT a.details->>'from', coalesce(c.custom_code, false),"
    " floor(extract(epoch FROM a.at) * 1000000)::bigint"
    " FROM audit_log a LEFT JOIN tickets t ON t.id = a.ticket_id"
    " LEFT JOIN customers c ON c.id = t.customer_id"
    " WHERE a.action = 'ticket.escalate' AND a.at >= $1::timestamptz AND a.at < $2::timestamptz"
    " AND ($3::text IS NULL OR a.details->>'from' = $3::text)";

static const char customers_sql[] =
    "SELECT c.email, c.company, c.tier, count(*)"
    " FROM tickets t JOIN customers c ON c.id = t.customer_id"
    " WHERE t.created_at >= $1::timestamptz AND t.created_at < $2::timestamptz"
    " AND ($3::text IS NULL OR t.tier = $3::text)"
    " GROUP BY c.id, c.email, c.company, c.tier"
    " ORDER BY count(*) DESC, lower(c.email), c.id LIMIT 10";

struct report_options {
    const char *from_text, *to_text, *tier;
    int64_t from, to;
    enum hg_report_format format;
};

static int usage(void)
{
    fprintf(stderr,
            "usage: helpgatectl report --from DATE --to DATE [--format table|csv|json] [--tier L1|L2|L3]\n"
            "  DATE is 2026-11-01 (00:00 UTC) or 2026-11-01T09:30[:00][Z|+01:00]; the period is\n"
            "  [from, to): --from 2026-11-01 --to 2026-12-01 is November.\n");
    return EXIT_USAGE;
}

static int parse_options(int argc, char **argv, struct report_options *o)
{
    memset(o, 0, sizeof(*o));
    o->format = HG_REPORT_TABLE;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool known = strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0 || strcmp(opt, "--format") == 0 ||
                     strcmp(opt, "--tier") == 0;
        if (!known) {
            fprintf(stderr, "helpgatectl report: unknown argument %s\n", opt);
            return usage();
        }
        if (value == NULL) {
            fprintf(stderr, "helpgatectl report: %s needs a value\n", opt);
            return usage();
        }
        i++;
        if (strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0) {
            bool from = opt[2] == 'f';
            if (hg_report_parse_time(value, from ? &o->from : &o->to) != 0) {
                fprintf(stderr, "helpgatectl report: %s %s is not a date\n", opt, value);
                fprintf(stderr, "hint: write 2026-11-01, 2026-11-01T09:30, or 2026-11-01T09:30:00+01:00\n");
                return EXIT_USAGE;
            }
            *(from ? &o->from_text : &o->to_text) = value;
        } else if (strcmp(opt, "--format") == 0) {
            if (hg_report_format_parse(value, &o->format) != 0) {
                fprintf(stderr, "helpgatectl report: unknown format %s (table, csv or json)\n", value);
                return EXIT_USAGE;
            }
        } else if (strcmp(value, "L1") == 0 || strcmp(value, "L2") == 0 || strcmp(value, "L3") == 0) {
            o->tier = value;
        } else {
            fprintf(stderr, "helpgatectl report: unknown tier %s (L1, L2 or L3)\n", value);
            return EXIT_USAGE;
        }
    }
    if (o->from_text == NULL || o->to_text == NULL) {
        fprintf(stderr, "helpgatectl report: --from and --to are required\n");
        return usage();
    }
    if (o->from >= o->to) {
        fprintf(stderr, "helpgatectl report: the period is empty: --to %s is not after --from %s\n",
                o->to_text, o->from_text);
        fprintf(stderr, "hint: the end is excluded; for one day write --from 2026-11-01 --to 2026-11-02\n");
        return EXIT_USAGE;
    }
    return 0;
}

static PGresult *query(struct hg_store *store, const char *sql, const char *const params[3])
{
    char *error = NULL;
    PGresult *res = hg_pg_exec(store, sql, 3, params, &error);
    if (res == NULL) {
        const char *state = hg_pg_last_sqlstate(store);
        fprintf(stderr, "helpgatectl report: %s\n", error);
        if (strcmp(state, SQLSTATE_UNDEFINED_COLUMN) == 0 || strcmp(state, SQLSTATE_UNDEFINED_TABLE) == 0)
            fprintf(stderr, "hint: the schema is older than this helpgatectl; run helpgatectl migrate\n");
        free(error);
    }
    return res;
}

static int64_t time_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? HG_REPORT_NO_TIME : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool bool_value(const PGresult *res, int row, int col)
{
    return PQgetvalue(res, row, col)[0] == 't';
}

/* Runs the three queries and feeds the report; 0 or 1 after saying why. */
static int fetch(struct hg_store *store, const struct report_options *o, struct hg_report *report)
{
    char from[HG_REPORT_TIME_MAX], to[HG_REPORT_TIME_MAX];
    hg_report_format_time(o->from, from);
    hg_report_format_time(o->to, to);
    const char *params[3] = {from, to, o->tier};

    PGresult *res = query(store, tickets_sql, params);
    if (res == NULL)
        return 1;
    for (int i = 0; i < PQntuples(res); i++) {
        const struct hg_report_ticket t = {
            .tier = PQgetvalue(res, i, 0),
            .custom_code = bool_value(res, i, 1),
            .created = time_value(res, i, 2),
            .first_response = time_value(res, i, 3),
            .resolved = time_value(res, i, 4),
            .closed = time_value(res, i, 5),
            .sla_due = bool_value(res, i, 6),
            .breached = bool_value(res, i, 7),
        };
        hg_report_add_ticket(report, &t);
    }
    PQclear(res);

    if ((res = query(store, escalations_sql, params)) == NULL)
        return 1;
    for (int i = 0; i < PQntuples(res); i++)
        hg_report_add_escalation(report, PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0),
                                 bool_value(res, i, 1), time_value(res, i, 2));
    PQclear(res);

    if ((res = query(store, customers_sql, params)) == NULL)
        return 1;
    for (int i = 0; i < PQntuples(res); i++) {
        const struct hg_report_customer c = {
            .email = PQgetvalue(res, i, 0),
            .company = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
            .tier = PQgetvalue(res, i, 2),
            .tickets = strtoll(PQgetvalue(res, i, 3), NULL, 10),
        };
        hg_report_add_customer(report, &c);
    }
    PQclear(res);
    return 0;
}

static int run(struct hg_store *store, const struct report_options *o)
{
    char *error = NULL;
    if (hg_pg_command(store, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, &error) != 0) {
        fprintf(stderr, "helpgatectl report: %s\n", error);
        free(error);
        return 1;
    }
    struct hg_report *report = hg_report_new(o->from, o->to, o->tier);
    int rc = fetch(store, o, report);
    if (hg_pg_command(store, rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL, &error) != 0) {
        fprintf(stderr, "helpgatectl report: %s\n", error);
        free(error);
        rc = 1;
    }
    struct hg_buf out;
    hg_buf_init(&out, REPORT_OUTPUT_MAX);
    if (rc == 0 && hg_report_write(report, o->format, &out) != 0) {
        fprintf(stderr, "helpgatectl report: the report is larger than %u bytes\n", REPORT_OUTPUT_MAX);
        rc = 1;
    }
    if (rc == 0 && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
        fprintf(stderr, "helpgatectl report: cannot write the report: %s\n", strerror(errno));
        rc = 1;
    }
    hg_buf_free(&out);
    hg_report_free(&report);
    return rc;
}

int cmd_report(struct ctl *ctl, int argc, char **argv)
{
    struct report_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    struct ctl_session s;
    if ((rc = ctl_session_open(ctl, &s)) != 0)
        return rc;
    rc = run(s.store, &o);
    ctl_session_close(&s);
    return rc;
}
