#!/usr/bin/env bash
# report.sh — `helpgatectl report` on a seeded month: every figure of the
# table, the CSV and the JSON against numbers worked out by hand below
# (period [2026-11-01, 2026-12-01) UTC; median and p90 by nearest rank:
# the value at rank ceil(p/100 * n) of the sorted values).
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_ctl_setup
conf=$CONF
report() { "$HELPGATECTL" --config "$conf" report "$@"; }

# The data set. Customers: ann (vip), bob (premium, custom code), cid (standard, no company),
# dan (only tickets outside the period). Tickets, by letter (times UTC, 2026):
#   tier cust created       first resp.   resolved      closed        SLA due  breach
# A L1  ann  11-02 09:00    09:30 (30m)   11-02 12:00   11-03 12:00   yes      no
# B L1  ann  11-05 10:00    12:05 (2h05m) -             -             yes      first response
# C L1  cid  11-10 08:00    08:10 (10m)   11-12 11:30   -             yes      no
# D L1  ann  10-30 10:00    10-30 11:00   11-01 10:00   11-01 10:00   no       no     (created before)
# E L1  cid  12-01 00:00    -             -             -             no       no     (created at the end)
# F L1  dan  10-15 00:00    -             -             10-20 00:00   no       no     (all before)
# G L2  bob  11-03 14:00    15:00 (1h)    11-20 14:00   12-02 09:00   yes      resolution
# H L2  ann  11-30 23:59:59 -             -             -             no       no
# I L2  bob  11-15 09:00    09:45 (45m)   -             11-16 09:00   yes      no
# J L3  bob  11-08 10:00    11-09 12:00   11-12 10:00   11-13 10:00   yes      both
# K L3  cid  11-20 16:00    16:20 (20m)   -             -             yes      no
# L L3  -    11-25 00:00    -             -             -             no       no     (no customer)
# Escalations (audit 'ticket.escalate', details from/to): J L1->L2 11-08 11:00, J L2->L3 11-09 09:00,
# G L1->L2 11-03 16:00, K L2->L3 11-21 10:00, B without "from" 11-22 00:00 (counts in "all" only),
# F L1->L2 10-16 (before), B L1->L2 12-01 00:00:00 (at the end: out); and an 'sla.breach' row
# (not an escalation).
t_psql "
INSERT INTO customers (email, company, tier, custom_code) VALUES
  ('ann@acme.test', 'Acme, Inc.', 'vip', false),
  ('bob@globex.test', 'Globex \"Intl\"', 'premium', true),
  ('cid@initech.test', NULL, 'standard', false),
  ('dan@umbrella.test', 'Umbrella', 'standard', false);
INSERT INTO tickets (subject, channel, status, tier, customer_id, created_at, first_response_at,
                     resolved_at, closed_at, first_response_due, resolution_due,
                     first_response_breached_at, resolution_breached_at)
SELECT v.subject, 'email', v.status, v.tier, (SELECT id FROM customers WHERE email = v.email),
       v.created::timestamptz, v.fr::timestamptz, v.resolved::timestamptz, v.closed::timestamptz,
       CASE WHEN v.due THEN v.created::timestamptz + interval '4 hours' END,
       CASE WHEN v.due THEN v.created::timestamptz + interval '3 days' END,
       v.fr_breach::timestamptz, v.res_breach::timestamptz
FROM (VALUES
  ('A','closed',  'L1','ann@acme.test',    '2026-11-02 09:00Z','2026-11-02 09:30Z','2026-11-02 12:00Z','2026-11-03 12:00Z',true, NULL,NULL),
  ('B','open',    'L1','ann@acme.test',    '2026-11-05 10:00Z','2026-11-05 12:05Z',NULL,NULL,                              true, '2026-11-05 14:00Z',NULL),
  ('C','resolved','L1','cid@initech.test', '2026-11-10 08:00Z','2026-11-10 08:10Z','2026-11-12 11:30Z',NULL,               true, NULL,NULL),
  ('D','closed',  'L1','ann@acme.test',    '2026-10-30 10:00Z','2026-10-30 11:00Z','2026-11-01 10:00Z','2026-11-01 10:00Z',false,NULL,NULL),
  ('E','new',     'L1','cid@initech.test', '2026-12-01 00:00Z',NULL,NULL,NULL,                                             false,NULL,NULL),
  ('F','closed',  'L1','dan@umbrella.test','2026-10-15 00:00Z',NULL,NULL,'2026-10-20 00:00Z',                              false,NULL,NULL),
  ('G','closed',  'L2','bob@globex.test',  '2026-11-03 14:00Z','2026-11-03 15:00Z','2026-11-20 14:00Z','2026-12-02 09:00Z',true, NULL,'2026-11-06 14:00Z'),
  ('H','new',     'L2','ann@acme.test',    '2026-11-30 23:59:59Z',NULL,NULL,NULL,                                          false,NULL,NULL),
  ('I','closed',  'L2','bob@globex.test',  '2026-11-15 09:00Z','2026-11-15 09:45Z',NULL,'2026-11-16 09:00Z',               true, NULL,NULL),
  ('J','closed',  'L3','bob@globex.test',  '2026-11-08 10:00Z','2026-11-09 12:00Z','2026-11-12 10:00Z','2026-11-13 10:00Z',true, '2026-11-08 14:00Z','2026-11-11 10:00Z'),
  ('K','open',    'L3','cid@initech.test', '2026-11-20 16:00Z','2026-11-20 16:20Z',NULL,NULL,                              true, NULL,NULL),
  ('L','new',     'L3',NULL,               '2026-11-25 00:00Z',NULL,NULL,NULL,                                             false,NULL,NULL)
) AS v (subject, status, tier, email, created, fr, resolved, closed, due, fr_breach, res_breach);
INSERT INTO audit_log (at, actor, action, ticket_id, details)
SELECT v.at::timestamptz, 'test', v.action, (SELECT id FROM tickets WHERE subject = v.subject), v.details::jsonb
FROM (VALUES
  ('2026-11-08 11:00Z','ticket.escalate','J','{\"from\": \"L1\", \"to\": \"L2\"}'),
  ('2026-11-09 09:00Z','ticket.escalate','J','{\"from\": \"L2\", \"to\": \"L3\"}'),
  ('2026-11-03 16:00Z','ticket.escalate','G','{\"from\": \"L1\", \"to\": \"L2\"}'),
  ('2026-11-21 10:00Z','ticket.escalate','K','{\"from\": \"L2\", \"to\": \"L3\"}'),
  ('2026-11-22 00:00Z','ticket.escalate','B','{\"to\": \"L2\"}'),
  ('2026-10-16 00:00Z','ticket.escalate','F','{\"from\": \"L1\", \"to\": \"L2\"}'),
  ('2026-12-01 00:00Z','ticket.escalate','B','{\"from\": \"L1\", \"to\": \"L2\"}'),
  ('2026-11-05 14:00Z','sla.breach',     'B','{\"target\": \"first_response\"}')
) AS v (at, action, subject, details);
" >/dev/null || t_bail "cannot seed the data set"
t_is "the data set is in" "$(t_psql "SELECT count(*) FROM tickets")/$(t_psql "SELECT count(*) FROM audit_log")" "12/8"

# Worked out by hand for [2026-11-01, 2026-12-01):
# incoming (created in the period): L1 A B C = 3 (D, F before; E at the end), L2 G H I = 3,
#   L3 J K L = 3, all 9; custom code (bob) G I J = 3.
# closed (closed_at, else resolved_at, in the period): L1 A (closed 11-03), C (resolved 11-12,
#   never closed), D (11-01) = 3; L2 I = 1 (G is closed 12-02: next month); L3 J = 1; all 5;
#   custom code I J = 2.
# time to first response (created in the period and answered), seconds:
#   L1 A 1800, B 7500, C 600 -> 600 1800 7500: median rank ceil(1.5)=2 -> 1800, p90 rank ceil(2.7)=3 -> 7500
#   L2 G 3600, I 2700 -> 2700 3600: median rank ceil(1)=1 -> 2700, p90 rank ceil(1.8)=2 -> 3600
#   L3 J 26h = 93600, K 1200 -> 1200 93600: median 1200, p90 93600
#   all 600 1200 1800 2700 3600 7500 93600: median rank ceil(3.5)=4 -> 2700, p90 rank ceil(6.3)=7 -> 93600
#   custom G 3600, I 2700, J 93600 -> 2700 3600 93600: median rank 2 -> 3600, p90 rank 3 -> 93600
# time to resolution (resolved_at, else closed_at, in the period; from creation), seconds:
#   L1 A 3h = 10800, C 2d 3h30m = 185400, D 2d = 172800 -> 10800 172800 185400: median 172800, p90 185400
#   L2 G 17d = 1468800 (resolved 11-20 though closed 12-02), I 1d = 86400 (closed, never resolved)
#      -> 86400 1468800: median rank 1 -> 86400, p90 rank 2 -> 1468800
#   L3 J 4d = 345600: median = p90 = 345600
#   all 10800 86400 172800 185400 345600 1468800: median rank 3 -> 172800, p90 rank ceil(5.4)=6 -> 1468800
#   custom I 86400, J 345600, G 1468800: median rank 2 -> 345600, p90 rank 3 -> 1468800
# escalations in the period by tier left: L1 J G = 2, L2 J K = 2, L3 0, all 5 (with B's row
#   without "from"), custom code J J G = 3.
# SLA (created in the period with a due time; breached): L1 A B C, B = 1/3 = 0.3333; L2 G I, G = 1/2;
#   L3 J K, J = 1/2; all 3/7 = 0.4286; custom G I J, G J = 2/3 = 0.6667.
# top customers (tickets created in the period): ann A B H = 3, bob G I J = 3 (tie: address order),
#   cid C K = 2; dan none; L has no customer.
want_rows="L1: in=3 closed=3 ttfr=3/1800/7500 ttr=3/172800/185400 esc=2 sla=1/3 rate=0.3333
L2: in=3 closed=1 ttfr=2/2700/3600 ttr=2/86400/1468800 esc=2 sla=1/2 rate=0.5000
L3: in=3 closed=1 ttfr=2/1200/93600 ttr=1/345600/345600 esc=0 sla=1/2 rate=0.5000
all: in=9 closed=5 ttfr=7/2700/93600 ttr=6/172800/1468800 esc=5 sla=3/7 rate=0.4286
custom_code: in=3 closed=2 ttfr=3/3600/93600 ttr=3/345600/1468800 esc=3 sla=2/3 rate=0.6667
customer: ann@acme.test|Acme, Inc.|vip|3
customer: bob@globex.test|Globex \"Intl\"|premium|3
customer: cid@initech.test|-|standard|2"

# flatten FORMAT FILE: the figures of a CSV or JSON report as lines like want_rows.
flatten() {
    python3 - "$1" "$2" <<'PY'
import csv, json, sys
fmt, path = sys.argv[1], sys.argv[2]
def v(x):
    return "-" if x is None or x == "" else str(x)
def rate(x):
    return "-" if x is None or x == "" else "%.4f" % float(x)
lines = []
if fmt == "json":
    doc = json.load(open(path, encoding="utf-8"))
    lines.append("period: %s %s %s" % (doc["from"], doc["to"], v(doc["tier"])))
    for name, r in doc["rows"].items():
        f, s = r["first_response"], r["resolution"]
        lines.append("%s: in=%d closed=%d ttfr=%d/%s/%s ttr=%d/%s/%s esc=%d sla=%d/%d rate=%s" % (
            name, r["incoming"], r["closed"], f["count"], v(f["median_s"]), v(f["p90_s"]),
            s["count"], v(s["median_s"]), v(s["p90_s"]), r["escalations"],
            r["sla"]["breached"], r["sla"]["tickets"], rate(r["sla"]["breach_rate"])))
    for c in doc["top_customers"]:
        lines.append("customer: %s|%s|%s|%d" % (c["email"], v(c["company"]), c["tier"], c["tickets"]))
else:
    raw = open(path, "rb").read()
    ends = raw.count(b"\r\n")
    if ends != raw.count(b"\n"):
        lines.append("not every line ends in CRLF")
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    if rows:
        lines.append("period: %s %s" % (rows[0]["from"], rows[0]["to"]))
    for r in rows:
        if r["kind"] == "customer":
            lines.append("customer: %s|%s|%s|%s" % (r["name"], v(r["company"]), r["customer_tier"], r["incoming"]))
        else:
            lines.append("%s: in=%s closed=%s ttfr=%s/%s/%s ttr=%s/%s/%s esc=%s sla=%s/%s rate=%s" % (
                r["name"], r["incoming"], r["closed"], r["ttfr_count"], v(r["ttfr_median_s"]),
                v(r["ttfr_p90_s"]), r["ttr_count"], v(r["ttr_median_s"]), v(r["ttr_p90_s"]),
                r["escalations"], r["sla_breached"], r["sla_tickets"], rate(r["sla_breach_rate"])))
print("\n".join(lines))
PY
}

report --from 2026-11-01 --to 2026-12-01 --format json >"$T_DIR/month.json" 2>"$T_DIR/month.err"
t_is "JSON report: exit 0" "$?" 0
t_is "JSON: every figure as worked out by hand" "$(flatten json "$T_DIR/month.json")" \
    "period: 2026-11-01T00:00:00Z 2026-12-01T00:00:00Z -
$want_rows"

report --from 2026-11-01 --to 2026-12-01 --format csv >"$T_DIR/month.csv" 2>"$T_DIR/month-csv.err"
t_is "CSV report: exit 0" "$?" 0
t_is "CSV: the same figures, CRLF lines, quoting read back by Python's csv" \
    "$(flatten csv "$T_DIR/month.csv")" "period: 2026-11-01T00:00:00Z 2026-12-01T00:00:00Z
$want_rows"
t_is "CSV: one header line" "$(head -n 1 "$T_DIR/month.csv" | tr -d '\r')" \
    "from,to,kind,name,company,customer_tier,incoming,closed,ttfr_count,ttfr_median_s,ttfr_p90_s,ttr_count,ttr_median_s,ttr_p90_s,escalations,sla_tickets,sla_breached,sla_breach_rate"
t_match "CSV: a company with quotes is quoted, its quotes doubled" "$(cat "$T_DIR/month.csv")" \
    ',customer,bob@globex.test,"Globex ""Intl""",premium,3,'

# The table: the same figures as durations for people (1800 s = 30m, 7500 = 2h 05m, 93600 = 1d 2h,
# 172800 = 2d 0h, 185400 = 2d 3h, 1468800 = 17d 0h, 345600 = 4d 0h, 86400 = 1d 0h) and rates
# in per cent (1/3 = 33.3%, 3/7 = 42.9%, 2/3 = 66.7%).
report --from 2026-11-01 --to 2026-12-01 >"$T_DIR/month.txt" 2>"$T_DIR/month-table.err"
t_is "table report: exit 0" "$?" 0
t_is "table: aligned columns, every figure as worked out by hand" "$(cat "$T_DIR/month.txt")" \
    "Support report 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z (end excluded)

TIER         INCOMING  CLOSED  ANSWERED  TTFR MEDIAN  TTFR P90  RESOLVED  TTR MEDIAN  TTR P90  ESCALATED  SLA BREACHED
L1                  3       3         3          30m    2h 05m         3       2d 0h    2d 3h          2   33.3% (1/3)
L2                  3       1         2          45m    1h 00m         2       1d 0h   17d 0h          2   50.0% (1/2)
L3                  3       1         2          20m     1d 2h         1       4d 0h    4d 0h          0   50.0% (1/2)
all                 9       5         7          45m     1d 2h         6       2d 0h   17d 0h          5   42.9% (3/7)
custom code         3       2         3       1h 00m     1d 2h         3       4d 0h   17d 0h          3   66.7% (2/3)

ANSWERED: tickets created in the period that have a first response; TTFR: time to it.
RESOLVED: tickets resolved (else closed) in the period; TTR: time from creation to it.
Wall-clock time; median and p90 by nearest rank; tiers are the tickets' current tiers.
SLA BREACHED: of the tickets created in the period with an SLA due time, those breached.

Top customers by tickets created
TICKETS  CUSTOMER          COMPANY        TIER
      3  ann@acme.test     Acme, Inc.     vip
      3  bob@globex.test   Globex \"Intl\"  premium
      2  cid@initech.test  -              standard"

# --tier L2: only G H I count. custom code G I: in=2, closed I = 1, TTFR 2700 3600 (median 2700,
# p90 3600), TTR I 86400, G 1468800 (median 86400, p90 1468800), escalations from L2 of bob's
# tickets: J's 11-09 = 1 (K's is cid's), SLA G I, G = 1/2. L2's escalations: J K = 2.
# Customers by L2 tickets: bob G I = 2, ann H = 1.
report --from 2026-11-01 --to 2026-12-01 --tier L2 --format json >"$T_DIR/l2.json" 2>&1
t_is "--tier L2: only L2 and custom code, figures by hand" "$(flatten json "$T_DIR/l2.json")" \
    "period: 2026-11-01T00:00:00Z 2026-12-01T00:00:00Z L2
L2: in=3 closed=1 ttfr=2/2700/3600 ttr=2/86400/1468800 esc=2 sla=1/2 rate=0.5000
custom_code: in=2 closed=1 ttfr=2/2700/3600 ttr=2/86400/1468800 esc=1 sla=1/2 rate=0.5000
customer: bob@globex.test|Globex \"Intl\"|premium|2
customer: ann@acme.test|Acme, Inc.|vip|1"

# A period given as timestamps with an offset: [11-05 11:30+01:30 = 10:00Z, 11-09 09:00Z).
# Created: B (10:00Z, the first instant: in) and J (11-08) = 2, one each in L1 and L3. Closed: none
# (A 11-03, C 11-12, D 11-01, I 11-16, J 11-13). Escalations: J's L1->L2 at 11-08 11:00 = 1; J's
# L2->L3 at 11-09 09:00 is the end: out. TTFR B 7500, J 93600 -> median rank 1 = 7500, p90 rank 2 =
# 93600. SLA B J, both breached = 2/2. Custom code: J only. Customers: ann B = 1, bob J = 1.
report --from 2026-11-05T11:30:00+01:30 --to 2026-11-09T09:00Z --format json >"$T_DIR/week.json" 2>&1
t_is "a period with offsets: the bounds in UTC, start in, end out" "$(flatten json "$T_DIR/week.json")" \
    "period: 2026-11-05T10:00:00Z 2026-11-09T09:00:00Z -
L1: in=1 closed=0 ttfr=1/7500/7500 ttr=0/-/- esc=1 sla=1/1 rate=1.0000
L2: in=0 closed=0 ttfr=0/-/- ttr=0/-/- esc=0 sla=0/0 rate=-
L3: in=1 closed=0 ttfr=1/93600/93600 ttr=0/-/- esc=0 sla=1/1 rate=1.0000
all: in=2 closed=0 ttfr=2/7500/93600 ttr=0/-/- esc=1 sla=2/2 rate=1.0000
custom_code: in=1 closed=0 ttfr=1/93600/93600 ttr=0/-/- esc=1 sla=1/1 rate=1.0000
customer: ann@acme.test|Acme, Inc.|vip|1
customer: bob@globex.test|Globex \"Intl\"|premium|1"

report --from 2025-01-01 --to 2025-02-01 --format csv >"$T_DIR/empty.csv" 2>&1
t_is "an empty period: zeros, empty fields where there is no value, no customers" \
    "$(flatten csv "$T_DIR/empty.csv" | sed -n 3p)" "L2: in=0 closed=0 ttfr=0/-/- ttr=0/-/- esc=0 sla=0/0 rate=-"
t_is "... and six lines in all (header and five rows)" "$(wc -l <"$T_DIR/empty.csv")" 6

# Mistakes are refused with exit 2 and say why.
out=$(report --from 2026-11-01 --to 2026-11-01 2>&1)
t_is "an empty period is refused (exit 2)" "$?" 2
t_match "saying that the end is excluded" "$out" "the end is excluded"
out=$(report --from 2026-11-31 --to 2026-12-01 2>&1)
t_is "a date that does not exist is refused (exit 2)" "$?" 2
t_match "with the forms that work" "$out" "is not a date"
out=$(report --from 2026-11-01 --to 2026-12-01 --tier L4 2>&1)
t_is "an unknown tier is refused (exit 2)" "$?" 2
out=$(report --from 2026-11-01 --to 2026-12-01 --format xml 2>&1)
t_is "an unknown format is refused (exit 2)" "$?" 2
out=$(report --to 2026-12-01 2>&1)
t_is "--from is required (exit 2)" "$?" 2
t_match "with the usage" "$out" "usage: helpgatectl report --from DATE --to DATE"
t_match "helpgatectl help lists the command" "$("$HELPGATECTL" help)" "^  report +Support figures for a period"
t_is "the report reads and never writes: no audit row added" "$(t_psql "SELECT count(*) FROM audit_log")" 8
t_done
