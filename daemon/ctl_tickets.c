/*
 * ctl_tickets.c — `helpgatectl ticket …`: the everyday operations on tickets
 * without SQL: list and show them, assign, change tier and status, add an
 * internal note, merge two.
 *
 * Reading is one query each (show builds its whole answer, ticket, messages
 * and audit trail, as one JSON document in PostgreSQL). Every change is one
 * call of a function of sql/011_ticket_ops.sql that locks the ticket, writes
 * the change and its audit row (actor "ctl:USER") and refuses what makes no
 * sense with a message and a hint; those refusals exit 2 like bad usage.
 * The command line is checked before connecting.
 */
#include "ctl.h"

#include "helpgate/csv.h"
#include "helpgate/mailloop.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most bytes of a note's text. */
#define NOTE_MAX (256u * 1024)
/* Width of the cut columns of `ticket list`. */
#define LIST_ADDRESS_WIDTH 26
#define LIST_SUBJECT_WIDTH 40
/* Lines of a message that `ticket show` prints (and puts in "excerpt"). */
#define SHOW_LINES 4
#define STR_(x) #x
#define STR(x) STR_(x)

/* A timestamptz as ISO 8601 in UTC, to the second. */
#define SQL_ISO(ts) "to_char((" ts ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* How long ago TS was, compact: 45s, 12m, 5h, 3d. */
#define SQL_AGE(ts)                                                                                          \
    "(SELECT CASE WHEN s < 60 THEN s::text || 's' WHEN s < 3600 THEN (s / 60)::text || 'm'"                  \
    " WHEN s < 86400 THEN (s / 3600)::text || 'h' ELSE (s / 86400)::text || 'd' END"                         \
    " FROM (SELECT greatest(0, floor(extract(epoch FROM now() - (" ts "))))::bigint AS s) age)"

/* The command line of one ticket command, checked before connecting. */
struct ticket_args {
    const char *verb;
    char number[24], into[24]; /* ticket numbers, digits only */
    const char *format;        /* list: table|csv|json; show: text|json */
    /* list filters; NULL for none */
    const char *statuses, *tier, *assignee, *customer, *channel, *limit;
    bool unassigned;
    /* changes */
    const char *agent; /* assign: the agent, NULL for --none */
    const char *reason;
    const char *status;
    char *text; /* note: owned */
};

static const char *const statuses[] = {"new", "open", "pending", "resolved", "closed"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static bool valid_status(const char *s)
{
    return one_of(s, statuses, sizeof statuses / sizeof statuses[0]);
}

/* "1234" or "#1234" into OUT as digits without leading zeros; false when it is no number. */
static bool ticket_number(const char *s, char out[24])
{
    if (s[0] == '#')
        s++;
    size_t len = strspn(s, "0123456789");
    if (len == 0 || s[len] != '\0')
        return false;
    while (len > 1 && s[0] == '0') {
        s++;
        len--;
    }
    if (len > 18)
        return false;
    memcpy(out, s, len + 1);
    return true;
}

/* S[,S...] with known statuses only. */
static bool valid_status_list(const char *list)
{
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        char one[16];
        if (len == 0 || len >= sizeof one)
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!valid_status(one))
            return false;
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: helpgatectl ticket list [--status S[,S]] [--tier L1|L2|L3] [--assignee EMAIL|--unassigned]\n"
        "                               [--customer EMAIL] [--channel email|chat] [--limit N]\n"
        "                               [--format table|csv|json]\n"
        "       helpgatectl ticket show NUMBER [--format text|json]\n"
        "       helpgatectl ticket assign NUMBER EMAIL|--none\n"
        "       helpgatectl ticket tier NUMBER L1|L2|L3 [--reason TEXT]\n"
        "       helpgatectl ticket status NUMBER new|open|pending|resolved|closed\n"
        "       helpgatectl ticket note NUMBER TEXT|-\n"
        "       helpgatectl ticket merge NUMBER [into] INTO-NUMBER\n");
    return EXIT_USAGE;
}

static int bad(const char *verb, const char *what, const char *value)
{
    fprintf(stderr, "helpgatectl ticket %s: %s%s%s\n", verb, what, value ? " " : "", value ? value : "");
    return EXIT_USAGE;
}

static int list_args(int argc, char **argv, struct ticket_args *a)
{
    a->format = "table";
    a->limit = "50";
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--unassigned") == 0) {
            a->unassigned = true;
            continue;
        }
        if (v == NULL)
            return bad("list", opt[0] == '-' ? "unknown option, or its value is missing:" : "unexpected",
                       opt);
        if (strcmp(opt, "--status") == 0 && valid_status_list(v))
            a->statuses = v;
        else if (strcmp(opt, "--tier") == 0 && ctl_valid_team(v))
            a->tier = v;
        else if (strcmp(opt, "--assignee") == 0)
            a->assignee = v;
        else if (strcmp(opt, "--customer") == 0)
            a->customer = v;
        else if (strcmp(opt, "--channel") == 0 && (strcmp(v, "email") == 0 || strcmp(v, "chat") == 0))
            a->channel = v;
        else if (strcmp(opt, "--limit") == 0 && strspn(v, "0123456789") == strlen(v) && strlen(v) > 0 &&
                 strlen(v) < 10)
            a->limit = strspn(v, "0") == strlen(v) ? NULL : v; /* 0: no limit */
        else if (strcmp(opt, "--format") == 0 &&
                 (strcmp(v, "table") == 0 || strcmp(v, "csv") == 0 || strcmp(v, "json") == 0))
            a->format = v;
        else if (opt[0] == '-')
            return bad("list", "bad value for", opt);
        else
            return bad("list", "unexpected", opt);
        i++;
    }
    if (a->unassigned && a->assignee != NULL)
        return bad("list", "--assignee and --unassigned exclude each other", NULL);
    return 0;
}

/* Fills A from the command line; 0, or EXIT_USAGE after saying why. */
static int parse_args(int argc, char **argv, struct ticket_args *a)
{
    memset(a, 0, sizeof(*a));
    if (argc < 2)
        return usage();
    const char *verb = a->verb = argv[1];
    if (strcmp(verb, "list") == 0)
        return list_args(argc, argv, a);
    if (strcmp(verb, "show") != 0 && strcmp(verb, "assign") != 0 && strcmp(verb, "tier") != 0 &&
        strcmp(verb, "status") != 0 && strcmp(verb, "note") != 0 && strcmp(verb, "merge") != 0)
        return usage();
    if (argc < 3)
        return usage();
    if (!ticket_number(argv[2], a->number))
        return bad(verb, "not a ticket number:", argv[2]);

    if (strcmp(verb, "show") == 0) {
        a->format = "text";
        if (argc == 5 && strcmp(argv[3], "--format") == 0 &&
            (strcmp(argv[4], "text") == 0 || strcmp(argv[4], "json") == 0))
            a->format = argv[4];
        else if (argc != 3)
            return bad(verb, "give NUMBER [--format text|json]", NULL);
    } else if (strcmp(verb, "assign") == 0) {
        if (argc != 4)
            return bad(verb, "give NUMBER and an agent's EMAIL, or --none", NULL);
        if (strcmp(argv[3], "--none") != 0 && !ctl_valid_address(argv[3]))
            return bad(verb, "not an agent's address:", argv[3]);
        a->agent = strcmp(argv[3], "--none") == 0 ? NULL : argv[3];
    } else if (strcmp(verb, "tier") == 0) {
        if (argc == 6 && strcmp(argv[4], "--reason") == 0)
            a->reason = argv[5];
        else if (argc != 4)
            return bad(verb, "give NUMBER L1|L2|L3 [--reason TEXT]", NULL);
        if (!ctl_valid_team(argv[3]))
            return bad(verb, "no tier", argv[3]);
        a->tier = argv[3];
    } else if (strcmp(verb, "status") == 0) {
        if (argc != 4)
            return bad(verb, "give NUMBER and new|open|pending|resolved|closed", NULL);
        if (!valid_status(argv[3]))
            return bad(verb, "no status", argv[3]);
        a->status = argv[3];
    } else if (strcmp(verb, "note") == 0) {
        if (argc != 4)
            return bad(verb, "give NUMBER and the TEXT (or - to read it from standard input)", NULL);
        a->text = ctl_text_arg("ticket note", argv[3], NOTE_MAX);
        if (a->text == NULL)
            return EXIT_USAGE;
        if (a->text[strspn(a->text, " \t\r\n")] == '\0')
            return bad(verb, "the note is empty", NULL);
    } else { /* merge */
        const char *into = argc == 5 && strcmp(argv[3], "into") == 0 ? argv[4] : argc == 4 ? argv[3] : NULL;
        if (into == NULL)
            return bad(verb, "give NUMBER and INTO-NUMBER, the ticket that goes on", NULL);
        if (!ticket_number(into, a->into))
            return bad(verb, "not a ticket number:", into);
    }
    return 0;
}

/* ---- list -------------------------------------------------------------------------------- */

/* Prints S in WIDTH characters (UTF-8 code points) and a space: control characters as spaces, cut
 * with "…". */
static void print_cell(const char *s, size_t width)
{
    size_t chars = 0;
    for (const char *p = s; *p != '\0'; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    size_t shown = chars <= width ? chars : width - 1, n = 0;
    const char *p = s;
    for (; *p != '\0'; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && n++ == shown)
            break;
        putchar((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
    if (chars > width)
        fputs("…", stdout);
    for (size_t i = chars <= width ? chars : width; i <= width; i++)
        putchar(' ');
}

static void print_csv_field(const char *s, bool last)
{
    struct hg_buf field;
    hg_buf_init(&field, SIZE_MAX / 2);
    (void)hg_csv_append_field(&field, s); /* no maximum to pass */
    fputs(hg_buf_str(&field), stdout);
    hg_buf_free(&field);
    putchar(last ? '\n' : ',');
}

/* Tickets newest first, filtered ($1 statuses "S,S", $2 tier, $3 assignee, $4 unassigned only,
 * $5 customer, $6 channel; NULL for none), at most $7 (NULL: all). The columns of the table and
 * CSV, then the row as a JSON object (text). (SQL with macros in it: wrapped by hand.) */
// clang-format off
static const char list_sql[] =
    "SELECT t.number, t.status, t.tier, t.priority, coalesce(c.email, ''), coalesce(a.email, ''),"
    " t.subject, " SQL_AGE("t.created_at") ", " SQL_ISO("t.created_at") ","
    " json_build_object('number', t.number, 'status', t.status, 'tier', t.tier,"
    "   'priority', t.priority, 'channel', t.channel, 'customer', c.email, 'assignee', a.email,"
    "   'subject', t.subject, 'age', " SQL_AGE("t.created_at") ","
    "   'created_at', " SQL_ISO("t.created_at") ", 'merged_into', mi.number)::text"
    " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
    " LEFT JOIN agents a ON a.id = t.assignee_id LEFT JOIN tickets mi ON mi.id = t.merged_into"
    " WHERE ($1::text IS NULL OR t.status = ANY (string_to_array($1::text, ',')))"
    " AND ($2::text IS NULL OR t.tier = $2::text)"
    " AND ($3::text IS NULL OR lower(a.email) = lower($3::text))"
    " AND (NOT $4::boolean OR t.assignee_id IS NULL)"
    " AND ($5::text IS NULL OR lower(c.email) = lower($5::text))"
    " AND ($6::text IS NULL OR t.channel = $6::text)"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT $7::bigint";
// clang-format on

static int ticket_list(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->statuses, a->tier,    a->assignee, a->unassigned ? "t" : "f",
                            a->customer, a->channel, a->limit};
    int rc = 0;
    PGresult *res = ctl_query(s, list_sql, 7, params, &rc);
    if (res == NULL)
        return rc;
    int rows = PQntuples(res);
    if (strcmp(a->format, "json") == 0) {
        printf("[");
        for (int i = 0; i < rows; i++)
            printf("%s\n  %s", i == 0 ? "" : ",", PQgetvalue(res, i, 9));
        printf("%s]\n", rows > 0 ? "\n" : "");
    } else if (strcmp(a->format, "csv") == 0) {
        static const char *const header[] = {"number",   "status",  "tier", "priority",  "customer",
                                             "assignee", "subject", "age",  "created_at"};
        for (int k = 0; k < 9; k++)
            print_csv_field(header[k], k == 8);
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < 9; k++)
                print_csv_field(PQgetvalue(res, i, k), k == 8);
    } else {
        printf("%-7s %-8s %-4s %-8s %-*s %-*s %-*s %s\n", "NUMBER", "STATUS", "TIER", "PRIORITY",
               LIST_ADDRESS_WIDTH, "CUSTOMER", LIST_ADDRESS_WIDTH, "ASSIGNEE", LIST_SUBJECT_WIDTH, "SUBJECT",
               "AGE");
        for (int i = 0; i < rows; i++) {
            const char *customer = PQgetvalue(res, i, 4), *assignee = PQgetvalue(res, i, 5);
            printf("%-7s %-8s %-4s %-8s ", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
            print_cell(customer[0] != '\0' ? customer : "-", LIST_ADDRESS_WIDTH);
            print_cell(assignee[0] != '\0' ? assignee : "-", LIST_ADDRESS_WIDTH);
            print_cell(PQgetvalue(res, i, 6), LIST_SUBJECT_WIDTH);
            printf("%s\n", PQgetvalue(res, i, 7));
        }
    }
    PQclear(res);
    return 0;
}

/* ---- show -------------------------------------------------------------------------------- */

/* The ticket, its messages and its audit trail as one JSON object (text), by number.
 * (SQL with macros in it: wrapped by hand.) */
// clang-format off
static const char show_sql[] =
    "SELECT json_build_object("
    " 'number', t.number, 'subject', t.subject, 'status', t.status, 'tier', t.tier,"
    " 'priority', t.priority, 'channel', t.channel, 'queue', t.queue, 'tags', t.tags,"
    " 'assignee', a.email,"
    " 'customer', CASE WHEN c.id IS NOT NULL THEN json_build_object('email', c.email,"
    "   'name', c.name, 'company', c.company, 'tier', c.tier, 'custom_code', c.custom_code,"
    "   'custom_code_notes', c.custom_code_notes) END,"
    " 'support_address', t.support_address, 'rule', t.matched_rule, 'rule_at', t.matched_rule_at,"
    " 'sla_policy', t.sla_policy, 'merged_into', mi.number,"
    " 'merged_here', coalesce((SELECT json_agg(x.number ORDER BY x.number) FROM tickets x"
    "   WHERE x.merged_into = t.id), '[]'),"
    " 'age', " SQL_AGE("t.created_at") ","
    " 'created_at', " SQL_ISO("t.created_at") ","
    " 'updated_at', " SQL_ISO("t.updated_at") ","
    " 'acknowledged_at', " SQL_ISO("t.acknowledged_at") ","
    " 'first_response_at', " SQL_ISO("t.first_response_at") ","
    " 'first_response_due', " SQL_ISO("t.first_response_due") ","
    " 'resolution_due', " SQL_ISO("t.resolution_due") ","
    " 'resolved_at', " SQL_ISO("t.resolved_at") ","
    " 'closed_at', " SQL_ISO("t.closed_at") ","
    " 'messages', coalesce((SELECT json_agg(json_build_object('id', m.id,"
    "   'direction', m.direction, 'note', m.direction = 'note', 'channel', m.channel,"
    "   'who', CASE WHEN m.direction = 'in'"
    "     THEN coalesce(nullif(m.from_name, '') || ' <' || m.from_address || '>', m.from_address,"
    "                   nullif(m.from_name, ''))"
    "     ELSE coalesce(ma.email, nullif(m.from_name, ''), m.from_address) END,"
    "   'at', " SQL_ISO("m.created_at") ", 'subject', m.subject,"
    "   'excerpt', ex.excerpt, 'lines', ex.lines,"
    "   'attachments', (SELECT count(*) FROM attachments x WHERE x.message_id = m.id))"
    "   ORDER BY m.created_at, m.id)"
    "   FROM messages m LEFT JOIN agents ma ON ma.id = m.author_agent_id"
    /* The first non-blank lines of the reply (or the body), and how many there are. */
    "   CROSS JOIN LATERAL (SELECT string_agg(left(l.line, 200), E'\\n' ORDER BY l.n)"
    "       FILTER (WHERE l.k <= " STR(SHOW_LINES) ") AS excerpt, count(*) AS lines"
    "     FROM (SELECT x.line, x.n, row_number() OVER (ORDER BY x.n) AS k"
    "           FROM regexp_split_to_table(coalesce(nullif(m.reply_text, ''), m.body_text, ''),"
    "                                      '\\r?\\n') WITH ORDINALITY AS x(line, n)"
    "           WHERE btrim(x.line) <> '') l) ex"
    "   WHERE m.ticket_id = t.id), '[]'),"
    " 'audit', coalesce((SELECT json_agg(json_build_object('at', " SQL_ISO("l.at") ","
    "   'actor', l.actor, 'action', l.action, 'details', l.details) ORDER BY l.id)"
    "   FROM audit_log l WHERE l.ticket_id = t.id), '[]'))::text"
    " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
    " LEFT JOIN agents a ON a.id = t.assignee_id LEFT JOIN tickets mi ON mi.id = t.merged_into"
    " WHERE t.number = $1::bigint";
// clang-format on

static const char *field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "LABEL  VALUE" when the value is there; SHOW_ALWAYS prints "-" for none. */
static void show_line(const char *label, const char *value, bool show_always)
{
    if (value != NULL || show_always)
        printf("%-18s %s\n", label, value != NULL ? value : "-");
}

static void show_numbers(const char *label, const json_t *numbers)
{
    if (!json_is_array(numbers) || json_array_size(numbers) == 0)
        return;
    printf("%-18s", label);
    size_t i;
    json_t *n;
    json_array_foreach(numbers, i, n)
        printf("%s#%" JSON_INTEGER_FORMAT, i == 0 ? " " : ", ", json_integer_value(n));
    printf("\n");
}

static void show_text(const json_t *t)
{
    printf("ticket #%" JSON_INTEGER_FORMAT "  %s\n", json_integer_value(json_object_get(t, "number")),
           field(t, "subject"));
    show_line("status", field(t, "status"), true);
    if (json_is_integer(json_object_get(t, "merged_into")))
        printf("%-18s #%" JSON_INTEGER_FORMAT "\n", "merged into",
               json_integer_value(json_object_get(t, "merged_into")));
    show_numbers("merged here", json_object_get(t, "merged_here"));
    show_line("tier", field(t, "tier"), true);
    show_line("priority", field(t, "priority"), true);
    show_line("channel", field(t, "channel"), true);
    const json_t *c = json_object_get(t, "customer");
    if (json_is_object(c)) {
        const char *name = field(c, "name"), *company = field(c, "company"),
                   *notes = field(c, "custom_code_notes");
        bool custom = json_is_true(json_object_get(c, "custom_code"));
        if (name != NULL)
            printf("%-18s %s <%s>\n", "customer", name, field(c, "email"));
        else
            printf("%-18s %s\n", "customer", field(c, "email"));
        printf("%-18s %s%s%s%s%s%s\n", "", field(c, "tier"), company ? ", " : "", company ? company : "",
               custom ? ", custom code" : "", custom && notes ? ": " : "", custom && notes ? notes : "");
    } else {
        show_line("customer", NULL, true);
    }
    show_line("assignee", field(t, "assignee"), true);
    show_line("queue", field(t, "queue"), false);
    const json_t *tags = json_object_get(t, "tags");
    if (json_array_size(tags) > 0) {
        printf("%-18s", "tags");
        size_t i;
        json_t *tag;
        json_array_foreach(tags, i, tag) printf("%s%s", i == 0 ? " " : ", ", json_string_value(tag));
        printf("\n");
    }
    if (field(t, "rule") != NULL)
        printf("%-18s %s%s%s%s\n", "rule", field(t, "rule"), field(t, "rule_at") ? " (" : "",
               field(t, "rule_at") ? field(t, "rule_at") : "", field(t, "rule_at") ? ")" : "");
    show_line("sla policy", field(t, "sla_policy"), false);
    show_line("support address", field(t, "support_address"), false);
    printf("%-18s %s (%s ago)\n", "created", field(t, "created_at"), field(t, "age"));
    show_line("updated", field(t, "updated_at"), true);
    show_line("acknowledged", field(t, "acknowledged_at"), false);
    show_line("first response", field(t, "first_response_at"), false);
    show_line("first response due", field(t, "first_response_due"), false);
    show_line("resolution due", field(t, "resolution_due"), false);
    show_line("resolved", field(t, "resolved_at"), false);
    show_line("closed", field(t, "closed_at"), false);

    const json_t *messages = json_object_get(t, "messages"), *m;
    size_t i;
    printf("\nmessages (%zu)\n", json_array_size(messages));
    json_array_foreach(messages, i, m)
    {
        bool note = json_is_true(json_object_get(m, "note"));
        json_int_t attachments = json_integer_value(json_object_get(m, "attachments"));
        printf("  %s  %-4s  %s%s", field(m, "at"), field(m, "direction"),
               field(m, "who") ? field(m, "who") : "?", note ? "  [internal note]" : "");
        if (attachments > 0)
            printf("  [%" JSON_INTEGER_FORMAT " attachment%s]", attachments, attachments == 1 ? "" : "s");
        printf("\n");
        const char *excerpt = field(m, "excerpt");
        for (const char *p = excerpt; p != NULL && *p != '\0';) {
            size_t len = strcspn(p, "\n");
            printf("      %.*s\n", (int)len, p);
            p += len + (p[len] == '\n');
        }
        json_int_t lines = json_integer_value(json_object_get(m, "lines"));
        if (lines > SHOW_LINES)
            printf("      … %" JSON_INTEGER_FORMAT " more line%s\n", lines - SHOW_LINES,
                   lines - SHOW_LINES == 1 ? "" : "s");
    }
    const json_t *audit = json_object_get(t, "audit"), *row;
    printf("\naudit (%zu)\n", json_array_size(audit));
    json_array_foreach(audit, i, row)
    {
        char *details = json_dumps(json_object_get(row, "details"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("  %s  %-20s %-16s %s\n", field(row, "at"), field(row, "actor"), field(row, "action"),
               details != NULL ? details : "");
        free(details);
    }
}

static int ticket_show(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->number};
    int rc = 0;
    PGresult *res = ctl_query(s, show_sql, 1, params, &rc);
    if (res == NULL)
        return rc;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "helpgatectl: no ticket #%s (hint: helpgatectl ticket list shows the tickets)\n",
                a->number);
        PQclear(res);
        return EXIT_USAGE;
    }
    json_error_t error;
    json_t *ticket = json_loads(PQgetvalue(res, 0, 0), 0, &error);
    PQclear(res);
    if (ticket == NULL) {
        fprintf(stderr, "helpgatectl: the database's answer is not JSON: %s\n", error.text);
        return 1;
    }
    if (strcmp(a->format, "json") == 0) {
        char *text = json_dumps(ticket, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
    } else {
        show_text(ticket);
    }
    json_decref(ticket);
    return 0;
}

/* ---- changes ----------------------------------------------------------------------------- */

/* Calls one function of sql/011 (one statement: the change and its audit row); its one row, or NULL. */
static PGresult *change(struct ctl_session *s, const char *sql, int n, const char *const *params, int *rc_r)
{
    PGresult *res = ctl_query(s, sql, n, params, rc_r);
    if (res != NULL && PQntuples(res) != 1) {
        fprintf(stderr, "helpgatectl: the database returned %d rows instead of one\n", PQntuples(res));
        PQclear(res);
        *rc_r = 1;
        return NULL;
    }
    return res;
}

static bool changed(PGresult *res)
{
    return strcmp(PQgetvalue(res, 0, 0), "t") == 0;
}

static int ticket_assign(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->number, a->agent, s->actor};
    int rc = 0;
    PGresult *res = change(s,
                           "SELECT changed, coalesce(old_assignee, ''), coalesce(new_assignee, '')"
                           " FROM helpgate_ticket_assign($1::bigint, $2, $3)",
                           3, params, &rc);
    if (res == NULL)
        return rc;
    const char *from = PQgetvalue(res, 0, 1), *to = PQgetvalue(res, 0, 2);
    if (!changed(res) && to[0] != '\0')
        printf("ticket #%s is already assigned to %s; nothing changed\n", a->number, to);
    else if (!changed(res))
        printf("ticket #%s is not assigned; nothing changed\n", a->number);
    else if (to[0] != '\0')
        printf("ticket #%s assigned to %s%s%s%s\n", a->number, to, from[0] ? " (was " : "", from,
               from[0] ? ")" : "");
    else
        printf("ticket #%s unassigned (was %s)\n", a->number, from);
    PQclear(res);
    return 0;
}

/* The mail loop, when the configuration sends mail; NULL with *WHY when it cannot be loaded (or none). */
static struct hg_mailloop *load_mailloop(const struct ctl_session *s, char **why)
{
    *why = NULL;
    if (s->cfg->smtp_url == NULL)
        return NULL;
    return hg_mailloop_new(s->cfg, why);
}

/* Ends the transaction: COMMIT when RC is 0 (then 0 or 1), else ROLLBACK and RC. */
static int end_transaction(struct ctl_session *s, int rc)
{
    char *error = NULL;
    if (rc == 0 && hg_pg_command(s->store, "COMMIT", 0, NULL, &error) == 0)
        return 0;
    if (error != NULL) {
        fprintf(stderr, "helpgatectl: %s\n", error);
        free(error);
        rc = 1;
    }
    PQclear(PQexec(hg_store_conn(s->store), "ROLLBACK"));
    return rc;
}

/*
 * The tier, its audit rows and (when mail is configured) the notification of
 * the new tier's team, in one transaction: as an agent's #tier does.
 */
static int ticket_tier(struct ctl_session *s, const struct ticket_args *a)
{
    char *why = NULL, *error = NULL;
    struct hg_mailloop *loop = load_mailloop(s, &why);
    if (hg_pg_command(s->store, "BEGIN", 0, NULL, &error) < 0) {
        fprintf(stderr, "helpgatectl: %s\n", error);
        free(error);
        hg_mailloop_free(&loop);
        free(why);
        return 1;
    }
    const char *params[] = {a->number, a->tier, a->reason, s->actor};
    int rc = 0, told = 0;
    PGresult *res =
        change(s, "SELECT changed, old_tier, new_tier FROM helpgate_ticket_tier($1::bigint, $2, $3, $4)", 4,
               params, &rc);
    bool moved = res != NULL && changed(res);
    if (moved && loop != NULL) {
        struct hg_tier_notice notice = {strtoll(a->number, NULL, 10), a->tier, a->reason};
        told = hg_mailloop_tier_notice(loop, s->store, &notice, &error);
        if (told < 0) {
            fprintf(stderr, "helpgatectl: cannot queue the notification of team %s: %s\n", a->tier, error);
            free(error);
            rc = 1;
        }
    }
    rc = end_transaction(s, res != NULL ? rc : (rc != 0 ? rc : 1));
    if (rc == 0 && res != NULL) {
        const char *from = PQgetvalue(res, 0, 1), *to = PQgetvalue(res, 0, 2);
        if (!moved)
            printf("ticket #%s is already %s; nothing changed\n", a->number, to);
        else
            printf("ticket #%s moved from %s to %s%s%s\n", a->number, from, to,
                   strcmp(to, from) > 0 ? " (escalated)" : "", told == 1 ? "; team told by mail" : "");
        if (moved && why != NULL)
            fprintf(stderr, "helpgatectl: team %s is not told by mail: %s\n", to, why);
    }
    PQclear(res);
    hg_mailloop_free(&loop);
    free(why);
    return rc;
}

static int ticket_status(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->number, a->status, s->actor};
    int rc = 0;
    PGresult *res =
        change(s, "SELECT changed, old_status, new_status FROM helpgate_ticket_status($1::bigint, $2, $3)", 3,
               params, &rc);
    if (res == NULL)
        return rc;
    if (!changed(res))
        printf("ticket #%s is already %s; nothing changed\n", a->number, PQgetvalue(res, 0, 2));
    else
        printf("ticket #%s is now %s (was %s)\n", a->number, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

static int ticket_note(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->number, a->text, s->user, s->actor};
    int rc = 0;
    PGresult *res =
        change(s, "SELECT message_row_id FROM helpgate_ticket_note($1::bigint, $2, $3, $4)", 4, params, &rc);
    if (res == NULL)
        return rc;
    printf("note added to ticket #%s\n", a->number);
    PQclear(res);
    return 0;
}

static int ticket_merge(struct ctl_session *s, const struct ticket_args *a)
{
    const char *params[] = {a->number, a->into, s->actor};
    int rc = 0;
    PGresult *res = change(s,
                           "SELECT cardinality(also_moved), array_to_string(also_moved, ', #')"
                           " FROM helpgate_ticket_merge($1::bigint, $2::bigint, $3)",
                           3, params, &rc);
    if (res == NULL)
        return rc;
    printf("ticket #%s merged into #%s and closed\n", a->number, a->into);
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        printf("ticket%s #%s, merged into #%s before, now point%s at #%s\n",
               strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "" : "s", PQgetvalue(res, 0, 1), a->number,
               strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "s" : "", a->into);
    PQclear(res);
    return 0;
}

int cmd_ticket(struct ctl *ctl, int argc, char **argv)
{
    struct ticket_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        free(a.text);
        return rc;
    }
    struct ctl_session s;
    rc = ctl_session_open(ctl, &s);
    if (rc == 0) {
        const char *verb = a.verb;
        rc = strcmp(verb, "list") == 0     ? ticket_list(&s, &a)
             : strcmp(verb, "show") == 0   ? ticket_show(&s, &a)
             : strcmp(verb, "assign") == 0 ? ticket_assign(&s, &a)
             : strcmp(verb, "tier") == 0   ? ticket_tier(&s, &a)
             : strcmp(verb, "status") == 0 ? ticket_status(&s, &a)
             : strcmp(verb, "note") == 0   ? ticket_note(&s, &a)
                                           : ticket_merge(&s, &a);
        ctl_session_close(&s);
    }
    free(a.text);
    return rc;
}
