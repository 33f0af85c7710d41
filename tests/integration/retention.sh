#!/usr/bin/env bash
# retention.sh — `helpgatectl retention run` archives, then purges, exactly
# what [retention] says is due, and the archives hold it: closed tickets whole
# (then deleted), attachment contents no recent message uses, raw sources
# (then emptied). A dry run reports the same numbers and changes nothing; a
# run that fails purges nothing and leaves no archive; a second run finds
# nothing; two runs at once do the work once. Data is seeded through the
# intake, agent-answer and chat functions helpgated calls, then dated back.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_db_config
conf=$CONF
archive="$T_DIR/archive"
cat >>"$conf" <<CONF

[retention]
raw_days = 90
attachment_days = 365
closed_ticket_days = 730
archive_dir = $archive
CONF
t_migrate
ctl agent add ann@support.test --team L1 --name 'Ann Agent' >/dev/null 2>&1 || t_bail "agent add failed"

# Test helpers (tests/data/retention/helpers.sql): t_mail() stores mail as intake does, received
# DAYS ago; t_attach() an attachment as daemon/intake.c does; t_answer() an agent's answer by mail
# and its relay; t_close() closes a ticket DAYS ago.
hg_psql "$T_DB" -q -v ON_ERROR_STOP=1 -f "$top_srcdir/tests/data/retention/helpers.sql" >/dev/null ||
    t_bail "cannot create the test helpers"

# q SQL: the result of SQL; fails when it is empty.
q() {
    local value
    value=$(t_psql "$1") && [ -n "$value" ] && printf '%s\n' "$value"
}

# T1: closed 740 days ago, with an attachment only it uses and an agent's answer: due.
t1=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_raw || ' ' || t_number
         FROM t_mail('olga@client.test', 'Olga Old', 'Printer broken', 'It is broken since Monday.', 800)") ||
    t_bail "seeding t1 failed"
read -r t1 t1_msg t1_raw t1_number <<<"$t1"
b1=$(q "SELECT t_attach($t1_msg, 'printer.jpg', 'JPEG of the broken printer')") || t_bail "seeding b1 failed"
t1_answer=$(q "SELECT t_answer($t1_number, 'Please switch it off and on.', 799)") ||
    t_bail "seeding t1_answer failed"
t_psql "SELECT t_close($t1, 740)" >/dev/null
# T2: closed 700 days ago (kept); its attachment is older than 365 days: due.
t2=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_raw
         FROM t_mail('rita@client.test', 'Rita Recent', 'Invoice question', 'Invoice 4711 is wrong.', 700)") ||
    t_bail "seeding t2 failed"
read -r t2 t2_msg t2_raw <<<"$t2"
b2=$(q "SELECT t_attach($t2_msg, 'invoice-4711.pdf', '%PDF invoice 4711')") || t_bail "seeding b2 failed"
t_psql "SELECT t_close($t2, 700)" >/dev/null
# T3: open for 800 days; its attachment is also on T4's message of 10 days ago: not due.
t3=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_raw
         FROM t_mail('otto@client.test', 'Otto Open', 'Long-running issue', 'Still broken.', 800)") ||
    t_bail "seeding t3 failed"
read -r t3 t3_msg t3_raw <<<"$t3"
b3=$(q "SELECT t_attach($t3_msg, 'manual.pdf', '%PDF the shared manual')") || t_bail "seeding b3 failed"
t4=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_raw
         FROM t_mail('nina@client.test', 'Nina New', 'New question', 'How do I print?', 10)") ||
    t_bail "seeding t4 failed"
read -r t4 t4_msg t4_raw <<<"$t4"
t_psql "SELECT t_attach($t4_msg, 'manual.pdf', '%PDF the shared manual')" >/dev/null
# Raw sources on both sides of 90 days.
r91=$(q "SELECT t_raw FROM t_mail('eddie@client.test', 'Eddie Edge', 'Edge 91', 'Ninety-one days.', 91)") ||
    t_bail "seeding r91 failed"
r89=$(q "SELECT t_raw FROM t_mail('eddie@client.test', 'Eddie Edge', 'Edge 89', 'Eighty-nine days.', 89)") ||
    t_bail "seeding r89 failed"
# T5: a chat, closed 735 days ago: due, with its session.
chat=$(q "SELECT session_id FROM helpgate_chat_hello(sha256('token-carl'), false, 'Carl Chat', 'carl@client.test',
                                                       '192.0.2.7', 'en')") || t_bail "seeding chat failed"
t5=$(q "SELECT ticket_id FROM helpgate_chat_message($chat, 'c1', 'Hello from the chat', 'Chat', NULL)") ||
    t_bail "seeding t5 failed"
t_psql "UPDATE messages SET created_at = now() - interval '760 days' WHERE ticket_id = $t5;
        UPDATE tickets SET created_at = now() - interval '760 days' WHERE id = $t5;
        SELECT t_close($t5, 735)" >/dev/null
# Merges: T6 (due) was merged into T7 (closed 100 days ago); T9 (open) was merged into T8, so T8 must wait.
t6=$(q "SELECT t_ticket FROM t_mail('mia@client.test', 'Mia Merge', 'Duplicate', 'Same as before.', 760)") ||
    t_bail "seeding t6 failed"
t7=$(q "SELECT t_ticket FROM t_mail('mia@client.test', 'Mia Merge', 'Original', 'The original.', 760)") ||
    t_bail "seeding t7 failed"
t8=$(q "SELECT t_ticket FROM t_mail('paul@client.test', 'Paul Parent', 'Parent', 'The parent.', 760)") ||
    t_bail "seeding t8 failed"
t9=$(q "SELECT t_ticket FROM t_mail('cleo@client.test', 'Cleo Child', 'Child', 'The child.', 750)") ||
    t_bail "seeding t9 failed"
t_psql "SELECT t_close($t6, 740), t_close($t7, 100), t_close($t8, 740);
        UPDATE tickets SET merged_into = $t7 WHERE id = $t6; UPDATE tickets SET merged_into = $t8 WHERE id = $t9" \
    >/dev/null
t6_raw=$(q "SELECT raw_id FROM messages WHERE ticket_id = $t6") || t_bail "seeding t6_raw failed"
t1_answer_raw=$(q "SELECT raw_id FROM messages WHERE id = $t1_answer") ||
    t_bail "seeding t1_answer_raw failed"

# What the database holds, to compare before and after.
state() {
    t_psql "SELECT (SELECT count(*) FROM tickets) || ' ' || (SELECT count(*) FROM messages) || ' '
                || (SELECT count(*) FROM raw_messages WHERE data IS NOT NULL) || ' '
                || (SELECT count(*) FROM attachment_blobs WHERE data IS NOT NULL) || ' '
                || (SELECT count(*) FROM outbox) || ' ' || (SELECT count(*) FROM chat_sessions) || ' '
                || (SELECT count(*) FROM audit_log)"
}
before=$(state)
# ids KIND FILE: the sorted ids (tickets: ticket.id; raw: id; attachments: sha256) of an archive's records.
ids() {
    python3 - "$1" "$2" <<'PY'
import gzip, json, sys
kind, path = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in gzip.open(path, 'rt', encoding='utf-8')]
head, body, tail = lines[0], lines[1:-1], lines[-1]
assert head['format'] == 'helpgate-archive' and head['class'] == kind, head
assert tail == {'end': True, 'records': len(body), 'bytes': tail['bytes']}, tail
key = {'tickets': lambda r: r['ticket']['id'], 'raw': lambda r: r['id'], 'attachments': lambda r: r['sha256']}[kind]
print(' '.join(str(k) for k in sorted(key(r) for r in body)))
PY
}
sorted() { printf '%s\n' "$@" | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# ---- dry run ---------------------------------------------------------------------------------
out=$(ctl retention run --dry-run 2>&1)
t_is "a dry run exits 0" "$?" 0
t_match "it reports the tickets due" "$out" "^tickets +closed before .* \(730 days\): 3 due, [0-9]+ bytes$"
t_match "the attachment contents due" "$out" "^attachments .*\(365 days\): 1 due, 17 bytes$"
t_match "the raw sources due (after what the tickets take)" "$out" "^raw .*\(90 days\): 6 due, [0-9]+ bytes$"
t_match "and the database size" "$out" "^database size: [0-9]+ bytes"
t_match "and says it changed nothing" "$out" "dry run: nothing was archived or purged"
t_is "the dry run changed nothing" "$(state)" "$before"
t_is "and wrote no archive" "$(ls -A "$archive" 2>/dev/null)" ""
out=$(ctl retention run --dry-run --at "$(date -u -d '+400 days' +%Y-%m-%dT%H:%M:%SZ)" 2>&1)
t_match "--at looks ahead: T2's ticket is due in 400 days" "$out" "^tickets .*: 4 due"
out=$(ctl retention run --at 2030-01-01T00:00:00Z 2>&1)
t_is "a real run refuses --at (exit 2)" "$?" 2

# ---- a run that fails purges nothing ---------------------------------------------------------
# A table another module might add that still references T1: deleting it fails after archiving.
t_psql "CREATE TABLE t_ref (ticket_id bigint REFERENCES tickets (id)); INSERT INTO t_ref VALUES ($t1)" >/dev/null
out=$(ctl retention run 2>&1)
t_is "a run whose purge fails exits 1" "$?" 1
t_match "saying why" "$out" "t_ref"
t_is "nothing was purged" "$(state)" "$before"
t_is "and its archives are gone again" "$(ls -A "$archive" 2>/dev/null)" ""
t_psql "DROP TABLE t_ref" >/dev/null
printf 'x' >"$T_DIR/not-a-dir"
sed "s|^archive_dir = .*|archive_dir = $T_DIR/not-a-dir/archive|" "$conf" >"$T_DIR/bad.conf"
out=$("$HELPGATECTL" --config "$T_DIR/bad.conf" retention run 2>&1)
t_is "an archive directory that cannot be made fails the run (exit 1)" "$?" 1
t_match "with the reason" "$out" "cannot create archive directory $T_DIR/not-a-dir/archive: Not a directory"
t_match "and a hint" "$out" "^hint: nothing was purged"
t_is "nothing was purged" "$(state)" "$before"

# ---- the run ---------------------------------------------------------------------------------
out=$(ctl retention run 2>&1)
t_is "the run exits 0" "$?" 0
t_match "tickets archived and purged" "$out" \
    "^tickets .*: 3 archived and purged, [0-9]+ bytes -> $archive/tickets-[0-9]{8}T[0-9]{6}Z\.jsonl\.gz"
t_match "attachment contents" "$out" "^attachments .*: 1 archived and purged, 17 bytes -> $archive/attachments-"
t_match "raw sources" "$out" "^raw .*: 6 archived and purged, [0-9]+ bytes -> $archive/raw-"
t_match "the database size before and after" "$out" \
    "^database size: [0-9]+ bytes \(.*\) before, [0-9]+ bytes \(.*\) after$"
tickets_gz=$(ls "$archive"/tickets-*.jsonl.gz)
attachments_gz=$(ls "$archive"/attachments-*.jsonl.gz)
raw_gz=$(ls "$archive"/raw-*.jsonl.gz)
t_is "one archive per class, no temporary file left" "$(find "$archive" -mindepth 1 | wc -l)" 3
t_is "archives are private (0600)" "$(stat -c %a "$tickets_gz" "$raw_gz" "$attachments_gz" | sort -u)" 600

t_is "the tickets archive holds exactly T1, T5, T6" "$(ids tickets "$tickets_gz")" "$(sorted "$t1" "$t5" "$t6")"
t_is "those tickets are gone" "$(t_psql "SELECT count(*) FROM tickets WHERE id IN ($t1, $t5, $t6)")" 0
t_is "the others stay (T8 waits for T9 merged into it)" \
    "$(t_psql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM tickets WHERE id IN ($t2,$t3,$t4,$t7,$t8,$t9)")" \
    "$(sorted "$t2" "$t3" "$t4" "$t7" "$t8" "$t9")"
t_is "with them their messages, outbox rows and chat session" \
    "$(t_psql "SELECT (SELECT count(*) FROM messages WHERE ticket_id IN ($t1, $t5, $t6)) || ' '
                   || (SELECT count(*) FROM outbox WHERE ticket_id IN ($t1, $t5, $t6)) || ' '
                   || (SELECT count(*) FROM chat_sessions WHERE id = $chat)")" "0 0 0"
t_is "and the raw sources and attachment content only they used" \
    "$(t_psql "SELECT (SELECT count(*) FROM raw_messages WHERE id IN ($t1_raw, $t1_answer_raw, $t6_raw)) || ' '
                   || (SELECT count(*) FROM attachment_blobs WHERE sha256 = decode('$b1', 'hex'))")" "0 0"
t_is "the IMAP positions of their messages stay (a re-fetch stays a no-op)" \
    "$(t_psql "SELECT count(*) FROM intake_seen WHERE message_row_id IS NULL")" 3
t_is "their audit rows stay" "$(t_psql "SELECT count(*) > 0 FROM audit_log WHERE ticket_id = $t1")" t
check=$(python3 - "$tickets_gz" "$t1" "$b1" <<'PY'
import base64, gzip, hashlib, json, sys
path, t1, b1 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
recs = {r['ticket']['id']: r for r in map(json.loads, list(gzip.open(path, 'rt'))[1:-1])}
r = recs[t1]
msgs = r['messages']
raw = msgs[0]['raw']
att = msgs[0]['attachments'][0]
ok = [
    r['ticket']['subject'] == 'Printer broken', r['customer']['email'] == 'olga@client.test',
    [m['direction'] for m in msgs] == ['in', 'out'], msgs[0]['body_text'] == 'It is broken since Monday.',
    hashlib.sha256(base64.b64decode(raw['data_base64'])).hexdigest() == raw['sha256'],
    att['filename'] == 'printer.jpg' and att['sha256'] == b1,
    base64.b64decode(att['data_base64']) == b'JPEG of the broken printer',
    len(r['outbox']) == 1 and base64.b64decode(r['outbox'][0]['payload_base64']).endswith(b'off and on.'),
    all('resume_token_sha256' not in s for x in recs.values() for s in x['chat_sessions']),
    sum(len(x['chat_sessions']) for x in recs.values()) == 1,
]
print(' '.join('ok' if o else 'NO' for o in ok))
PY
)
t_is "T1's record holds the ticket, both messages, the raw source, the attachment and the mail sent" \
    "$check" "ok ok ok ok ok ok ok ok ok ok"

t_is "the attachments archive holds exactly T2's content" "$(ids attachments "$attachments_gz")" "$b2"
t_is "its data is purged, the row kept" \
    "$(t_psql "SELECT (data IS NULL) || ' ' || (purged_at IS NOT NULL) FROM attachment_blobs
               WHERE sha256 = decode('$b2', 'hex')")" \
    "true true"
t_is "the content also used 10 days ago stays" \
    "$(t_psql "SELECT data IS NOT NULL FROM attachment_blobs WHERE sha256 = decode('$b3', 'hex')")" t
t_is "the archive holds its bytes and uses" "$(python3 - "$attachments_gz" <<'PY'
import base64, gzip, json, sys
r = json.loads(list(gzip.open(sys.argv[1], 'rt'))[1])
print(base64.b64decode(r['data_base64']).decode(), r['uses'][0]['filename'])
PY
)" "%PDF invoice 4711 invoice-4711.pdf"

t7_raw=$(q "SELECT raw_id FROM messages WHERE ticket_id = $t7") || t_bail "seeding t7_raw failed"
t8_raw=$(q "SELECT raw_id FROM messages WHERE ticket_id = $t8") || t_bail "seeding t8_raw failed"
t9_raw=$(q "SELECT raw_id FROM messages WHERE ticket_id = $t9") || t_bail "seeding t9_raw failed"
t_is "the raw archive holds exactly the six sources older than 90 days" "$(ids raw "$raw_gz")" \
    "$(sorted "$t2_raw" "$t3_raw" "$r91" "$t7_raw" "$t8_raw" "$t9_raw")"
t_is "they are purged, the rows kept" \
    "$(t_psql "SELECT count(*) FROM raw_messages WHERE data IS NULL AND purged_at IS NOT NULL")" 6
t_is "89 days and 10 days old stay" \
    "$(t_psql "SELECT count(*) FROM raw_messages WHERE data IS NOT NULL AND id IN ($r89, $t4_raw)")" 2
t_is "the archive holds the exact bytes" "$(python3 - "$raw_gz" <<'PY'
import base64, gzip, hashlib, json, sys
ok = all(hashlib.sha256(base64.b64decode(r['data_base64'])).hexdigest() == r['sha256']
         for r in map(json.loads, list(gzip.open(sys.argv[1], 'rt'))[1:-1]))
print(ok)
PY
)" True

actor="ctl:${SUDO_USER:-$(id -un)}"
t_is "one audit row for the run, with the counts" \
    "$(t_psql "SELECT actor || ' ' || (details->'tickets'->>'rows') || ' ' || (details->'attachments'->>'rows') || ' '
                   || (details->'raw'->>'rows') || ' ' || (details->'tickets'->'deleted'->>'messages')
               FROM audit_log WHERE action = 'retention.run'")" "$actor 3 1 6 4"

# ---- again -----------------------------------------------------------------------------------
after=$(state)
out=$(ctl retention run 2>&1)
t_match "a second run finds nothing due" "$out" "^raw .*: nothing due$"
t_is "and writes no archive" "$(find "$archive" -mindepth 1 | wc -l)" 3
t_is "but records that it ran" "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'retention.run'")" 2
t_is "nothing else changed" "$(state | cut -d' ' -f1-6)" "$(echo "$after" | cut -d' ' -f1-6)"

# A content purged by retention that arrives again is stored again (intake's ON CONFLICT DO NOTHING).
t10=$(q "SELECT t_message FROM t_mail('rita@client.test', 'Rita Recent', 'Again', 'The invoice again.', 0)") ||
    t_bail "seeding t10 failed"
t_psql "SELECT t_attach($t10, 'invoice-4711.pdf', '%PDF invoice 4711')" >/dev/null
t_is "an attachment purged and received again has its content back" \
    "$(t_psql "SELECT (data IS NOT NULL) || ' ' || (purged_at IS NULL) FROM attachment_blobs
               WHERE sha256 = decode('$b2', 'hex')")" \
    "true true"

# ---- at most --max-rows per class and run; one run at a time -------------------------------------
for n in 1 2 3; do t_psql "SELECT t_mail('bulk@client.test', 'Bulk', 'Bulk $n', 'Bulk $n', 120)" >/dev/null; done
out=$(ctl retention run --max-rows 2 2>&1)
t_match "--max-rows 2 takes two" "$out" "^raw .*: 2 archived and purged.*; more is due than one run takes$"
t_match "and says to run again" "$out" "hint: run it again"
out=$(ctl retention run --max-rows 2 2>&1)
t_match "the next run takes the rest" "$out" \
    "^raw .*: 1 archived and purged, [0-9]+ bytes -> $archive/raw-[0-9T]+Z(-2)?\.jsonl\.gz"

t_psql "SELECT t_mail('late@client.test', 'Late', 'Late', 'Late.', 100)" >/dev/null
hg_psql "$T_DB" -Atq -c "SELECT pg_advisory_lock(7523107482615507310)" -c "SELECT pg_sleep(4)" >/dev/null 2>&1 &
holder=$!
t_wait_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted" 1 10 ||
    t_bail "the lock holder did not start"
out=$(ctl retention run 2>&1)
t_is "a run while another holds the lock exits 1" "$?" 1
t_match "saying another run is in progress" "$out" "another retention run is in progress"
t_is "and purges nothing" \
    "$(t_psql "SELECT count(*) FROM raw_messages WHERE data IS NOT NULL AND created_at < now() - interval '90 days'")" 1
wait "$holder"
out=$(ctl retention run 2>&1)
t_match "once the lock is free the run goes on" "$out" "^raw .*: 1 archived and purged"
t_is "every retention archive is valid gzip" "$(gzip -t "$archive"/*.jsonl.gz 2>&1)" ""
t_done
