#!/usr/bin/env bash
# customer-erase.sh — `helpgatectl customer export` hands over everything held
# about a customer (JSON plus attachments and raw mails); `customer erase`
# leaves nothing of them in any column of any table — searched generically
# over information_schema — but the audit row that says it happened, which
# holds only the SHA-256 of the address. Queued mail to them is cancelled,
# another customer's data is untouched, and the audit log stays append-only
# but for the redaction the erase function does.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_db_config
conf=$CONF
cat >>"$conf" <<CONF

[retention]
archive_dir = $T_DIR/archive
CONF
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
hg_psql "$T_DB" -q -v ON_ERROR_STOP=1 -f "$top_srcdir/tests/data/retention/helpers.sql" >/dev/null ||
    t_bail "cannot create the test helpers"
# q SQL: the result of SQL; fails when it is empty.
q() {
    local value
    value=$(t_psql "$1") && [ -n "$value" ] && printf '%s\n' "$value"
}

addr=Alice.Erase@Client.test
lower=alice.erase@client.test
{
    ctl agent add ann@support.test --team L1 --name 'Ann Agent' &&
        ctl customer set "$addr" --name 'Alice Erasmus' --company 'Erasmus Widgets' \
            --notes 'SAP connector for Erasmus' --tier vip &&
        ctl customer set bob@other.test --name 'Bob Keeper' --company 'Keeper Ltd'
} >/dev/null 2>&1 || t_bail "helpgatectl agent/customer set failed"

# Alice's mail (her mail program puts her address in the Message-ID), with a passport only she
# sent and a logo Bob sends too; the agent's answer (relayed to her).
a1=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_number FROM t_mail('$addr', 'Alice Erasmus',
        'Passport copy for Erasmus Widgets', 'Hello, this is Alice Erasmus. Call me: +49 170 1234567.', 5,
        '20240603.4711.$lower')") || t_bail "seeding a1 failed"
read -r ta a1_msg ta_number <<<"$a1"
passport=$(q "SELECT t_attach($a1_msg, 'alice-erasmus-passport.pdf', 'PASSPORT OF ALICE ERASMUS')") ||
    t_bail "seeding the passport failed"
logo=$(q "SELECT t_attach($a1_msg, 'logo.png', 'LOGO BYTES')") || t_bail "seeding the logo failed"
t_psql "SELECT t_answer($ta_number, 'Hello Alice Erasmus, thanks for the passport.', 4)" >/dev/null
ctl ticket note "$ta_number" 'Called Alice Erasmus back about the passport.' >/dev/null 2>&1 ||
    t_bail "helpgatectl ticket note failed"
t_psql "SELECT helpgate_route_ticket($ta, '{\"tier\": \"L2\", \"rule\": \"vip\", \"sla\": \"vip\",
            \"notes\": \"SAP connector for Erasmus\"}', (SELECT id FROM customers WHERE email = '$addr'), 'rules')" \
    >/dev/null
# Bob's ticket, and Alice's answer on it (threaded by In-Reply-To).
b1=$(q "SELECT t_ticket || ' ' || t_message || ' ' || t_message_id
        FROM t_mail('bob@other.test', 'Bob Keeper', 'Bob question', 'Bob asks about the logo.', 5)") ||
    t_bail "seeding b1 failed"
read -r tb b1_msg b1_id <<<"$b1"
t_psql "SELECT t_attach($b1_msg, 'logo.png', 'LOGO BYTES')" >/dev/null
a2=$(q "SELECT t_ticket FROM t_mail('$lower', 'Alice Erasmus', 'Re: Bob question', 'Alice here, same for me.', 3,
        NULL, '$b1_id')") || t_bail "seeding a2 failed"
t_is "(seed) Alice's reply lands on Bob's ticket" "$a2" "$tb"
# Alice's chat (her IP address is held).
session=$(q "SELECT session_id FROM helpgate_chat_hello(sha256('token-alice'), false, 'Alice Erasmus', '$lower',
                                                         '198.51.100.23', 'de')") || t_bail "seeding chat failed"
tc=$(q "SELECT ticket_id FROM helpgate_chat_message($session, 'c1', 'Chat: Alice Erasmus here', 'Chat', NULL)") ||
    t_bail "seeding the chat ticket failed"
# Mail to her: an acknowledgement sent, a relay still queued, one failed; a notification to the agent.
t_psql "INSERT INTO outbox (kind, ticket_id, mail_from, recipients, message_id, payload, status, last_error) VALUES
    ('ack', $ta, 'support@example.test', ARRAY['$addr'], 'ack-$ta@example.test',
     convert_to('To: Alice Erasmus <$lower>', 'UTF8'), 'sent', NULL),
    ('relay', $ta, 'support@example.test', ARRAY['$lower'], 'relay-q@example.test',
     convert_to('To: $lower', 'UTF8'), 'queued', NULL),
    ('relay', $ta, 'support@example.test', ARRAY['$lower'], 'relay-f@example.test',
     convert_to('To: $lower', 'UTF8'), 'failed', '550 5.1.1 <$lower>: mailbox unavailable'),
    ('notify', $ta, 'support@example.test', ARRAY['ann@support.test'], 'notify-$ta@example.test',
     convert_to('New ticket from Alice Erasmus <$lower>: Call me: +49 170 1234567', 'UTF8'), 'queued', NULL)" \
    >/dev/null
# A bounce recorded in the audit log with her address but no customer id.
t_psql "INSERT INTO audit_log (actor, action, details)
        VALUES ('system', 'mail.bounce', '{\"recipient\": \"$lower\", \"status\": \"5.1.1\"}')" >/dev/null

# The terms that must be gone: address, names, company, notes, phone, IP, the passport's name.
terms=("$lower" 'Alice Erasmus' 'Erasmus' 'SAP connector' '1234567' '198.51.100.23' 'passport')
# found: every table.column holding one of the terms, "TERM@table.column:rows" per line.
found() {
    local term
    for term in "${terms[@]}"; do
        t_psql "SELECT '$term@' || place || ':' || hits FROM t_find('$term')"
    done
}
# What Bob has, to check it is untouched.
bob() {
    t_psql "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
              SELECT row_to_json(c)::text AS x FROM customers c WHERE email = 'bob@other.test'
              UNION ALL SELECT row_to_json(t)::text FROM tickets t WHERE id = $tb
              UNION ALL SELECT row_to_json(m)::text FROM messages m WHERE id = $b1_msg
              UNION ALL SELECT row_to_json(a)::text FROM attachments a WHERE message_id = $b1_msg
              UNION ALL SELECT encode(data, 'hex') FROM attachment_blobs WHERE sha256 = decode('$logo', 'hex')
              UNION ALL SELECT row_to_json(l)::text FROM audit_log l
               WHERE customer_id = (SELECT id FROM customers WHERE email = 'bob@other.test')) rows"
}
bob_before=$(bob)
t_match "(seed) the data is everywhere before" "$(found)" "messages.body_text"

# ---- export ----------------------------------------------------------------------------------
out=$(ctl customer export "$addr" --out "$T_DIR" 2>&1)
t_is "export exits 0" "$?" 0
json=$(printf '%s\n' "$out" | grep '/customer.json$')
dir=$(dirname "$json")
t_match "it writes DIR/customer-ID-export-TIME/customer.json" "$json" \
    "^$T_DIR/customer-[0-9]+-export-[0-9]{8}T[0-9]{6}Z/customer.json$"
t_is "and prints every file it wrote: the JSON, 2 attachments, 3 raw mails" "$(printf '%s\n' "$out" | wc -l)" 6
t_is "the passport, named by SHA-256 and its name" "$(cat "$dir/$passport-alice-erasmus-passport.pdf")" \
    "PASSPORT OF ALICE ERASMUS"
t_is "the files are private" "$(stat -c %a "$dir" "$json" | sort -u | tr '\n' ' ')" "600 700 "
t_match "the raw mails as .eml" "$(cat "$dir"/message-*.eml)" "^Message-ID: <20240603.4711.$lower>"
check=$(python3 - "$json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
x = json.loads(text)
tickets = {t['ticket']['subject']: t for t in x['tickets']}
ok = [
    x['customer']['name'] == 'Alice Erasmus' and x['customer']['custom_code_notes'] == 'SAP connector for Erasmus',
    sorted(tickets) == ['Chat', 'Passport copy for Erasmus Widgets'],
    [m['direction'] for m in tickets['Passport copy for Erasmus Widgets']['messages']] == ['in', 'out', 'note'],
    len(tickets['Passport copy for Erasmus Widgets']['outbox']) == 5,
    len(tickets['Chat']['chat_sessions']) == 1 and tickets['Chat']['chat_sessions'][0]['peer_address'] == '198.51.100.23',
    [m['body_text'] for m in x['messages_on_other_tickets']] == ['Alice here, same for me.'],
    any(a['action'] == 'mail.bounce' for a in x['audit']),
    any(a['action'] == 'customer.set' for a in x['audit']),
    'resume_token_sha256' not in text,
]
print(' '.join('ok' if o else 'NO' for o in ok))
PY
)
t_is "the JSON holds her row, tickets, messages, mail, chat and audit rows, no token hashes" "$check" \
    "ok ok ok ok ok ok ok ok ok"
sha=$(printf '%s' "$lower" | sha256sum | cut -d' ' -f1)
t_is "the export is audited with the address's SHA-256 only" \
    "$(t_psql "SELECT details->>'email_sha256' FROM audit_log WHERE action = 'customer.export'")" "$sha"
out=$(ctl customer export nobody@nowhere.test --out "$T_DIR" 2>&1)
t_is "exporting an unknown address exits 2" "$?" 2
t_match "saying nothing is held" "$out" "nothing is held about nobody@nowhere.test"

# ---- erase -----------------------------------------------------------------------------------
before=$(found)
out=$(ctl customer erase "$addr" 2>&1)
t_is "erase without --yes exits 0" "$?" 0
t_match "and shows what it would do" "$out" "^  empty 5 message\(s\)"
t_match "without doing it" "$out" "nothing was changed: run it again with --yes"
t_is "nothing changed" "$(found)" "$before"
t_is "not even an audit row" "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'customer.erase'")" 0

out=$(ctl customer erase "$addr" --yes 2>&1)
t_is "erase --yes exits 0" "$?" 0
t_match "it says what it did" "$out" "^customer $addr erased \(audit row [0-9]+ holds only the SHA-256"
t_match "tickets kept anonymised" "$out" "^  keep 2 ticket\(s\) for the statistics"
t_match "queued mail cancelled" "$out" "^  empty 5 outbox row\(s\), cancelling 2 queued mail\(s\)$"
t_match "audit rows redacted" "$out" "^  redact [1-9][0-9]* audit row\(s\)$"
t_is "nothing of her is left in any column of any table" "$(found)" ""
t_is "the customer row is gone, Bob's stays" \
    "$(t_psql "SELECT string_agg(email, ' ') FROM customers")" "bob@other.test"
t_is "her tickets stay without customer, subject [erased]" \
    "$(t_psql "SELECT string_agg(coalesce(customer_id::text, '-') || ' ' || subject, ',' ORDER BY id)
               FROM tickets WHERE id IN ($ta, $tc)")" "- [erased],- [erased]"
t_is "the queued mail is cancelled, what was sent or failed keeps its status, without content" \
    "$(t_psql "SELECT string_agg(kind || ':' || status || ':' || (payload IS NULL), ' ' ORDER BY id) FROM outbox")" \
    "relay:sent:true ack:sent:true relay:cancelled:true relay:failed:true notify:cancelled:true"
t_is "the agent's answer keeps its author, loses its text" \
    "$(t_psql "SELECT from_address || ' ' || coalesce(body_text, 'NULL') FROM messages WHERE direction = 'out'")" \
    "ann@support.test NULL"
t_is "the operator's note too" \
    "$(t_psql "SELECT from_name || ' ' || coalesce(body_text, 'NULL') FROM messages WHERE direction = 'note'")" \
    "${SUDO_USER:-$(id -un)} NULL"
t_is "her raw sources are purged, her attachments gone, the logo Bob uses stays" \
    "$(t_psql "SELECT (SELECT count(*) FROM raw_messages WHERE data IS NOT NULL) || ' '
                   || (SELECT count(*) FROM attachments) || ' '
                   || (SELECT string_agg(encode(sha256, 'hex'), ' ') FROM attachment_blobs)")" "1 1 $logo"
t_is "her chat session is gone" "$(t_psql "SELECT count(*) FROM chat_sessions")" 0
t_is "Bob's data is untouched" "$(bob)" "$bob_before"
actor="ctl:${SUDO_USER:-$(id -un)}"
t_is "one audit row says it happened, with the SHA-256 of the lower-cased address" \
    "$(t_psql "SELECT actor || ' ' || (details->>'email_sha256') || ' ' || (details->>'messages')
               FROM audit_log WHERE action = 'customer.erase'")" "$actor $sha 5"
t_is "the bounce row is kept, redacted" \
    "$(t_psql "SELECT details->>'recipient' FROM audit_log WHERE action = 'mail.bounce'")" "[erased]"
t_is "the Message-ID that held her address is now a hash" \
    "$(t_psql "SELECT count(*) FROM messages WHERE message_id LIKE '%@erased.invalid'")" 1

out=$(ctl customer erase "$addr" --yes 2>&1)
t_is "erasing again exits 2" "$?" 2
t_match "nothing is held any more" "$out" "nothing is held about $addr"
out=$(ctl customer erase not-an-address --yes 2>&1)
t_is "a malformed address exits 2" "$?" 2

# She writes again: a new customer, a new ticket.
t_psql "SELECT t_mail('$addr', 'Alice Erasmus', 'Back again', 'Hello again.', 0)" >/dev/null
t_is "intake works for her again afterwards" \
    "$(t_psql "SELECT count(*) FROM customers c JOIN tickets t ON t.customer_id = c.id
               WHERE lower(c.email) = '$lower' AND t.subject = 'Back again'")" 1

# ---- the audit log stays append-only ---------------------------------------------------------------
t_fails "an UPDATE of the audit log fails" t_psql "UPDATE audit_log SET details = '{}'"
t_fails "a DELETE fails" t_psql "DELETE FROM audit_log"
t_fails "a TRUNCATE fails" t_psql "TRUNCATE audit_log"
erase_row=$(t_psql "SELECT id FROM audit_log WHERE action = 'customer.erase'")
bob_row=$(t_psql "SELECT min(id) FROM audit_log WHERE customer_id = (SELECT id FROM customers
                                                                     WHERE email = 'bob@other.test')")
guc="{\"erase_row\": $erase_row, \"email\": \"$lower\", \"global\": [\"$lower\"], \"linked\": [], \"tickets\": []}"
t_fails "the redaction setting alone does not open it (the erase row is not of this transaction)" \
    t_psql "BEGIN; SELECT set_config('helpgate.audit_redaction', '$guc', true);
            UPDATE audit_log SET details = details WHERE id = $bob_row; COMMIT"
forge="BEGIN;
    INSERT INTO audit_log (actor, action, details) VALUES ('x', 'customer.erase',
        jsonb_build_object('email_sha256', encode(sha256(convert_to('bob keeper', 'UTF8')), 'hex')));
    SELECT set_config('helpgate.audit_redaction', jsonb_build_object('erase_row', currval('audit_log_id_seq'),
        'email', 'bob keeper', 'global', jsonb_build_array('bob keeper'), 'linked', '[]'::jsonb,
        'tickets', '[]'::jsonb)::text, true);"
t_fails "even with a forged erase row, only the redaction of those terms may be written" \
    t_psql "$forge UPDATE audit_log SET details = '{\"forged\": true}' WHERE id = $bob_row; COMMIT"
t_fails "and nothing but details may change" \
    t_psql "$forge UPDATE audit_log SET actor = 'someone else' WHERE id = $bob_row; COMMIT"
t_is "Bob's audit rows are as they were" "$(bob)" "$bob_before"
t_is "PUBLIC may not run the erase function" \
    "$(t_psql "SELECT has_function_privilege('public', 'helpgate_erase_customer(text, text)', 'EXECUTE')")" f
t_done
