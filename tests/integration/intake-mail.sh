#!/usr/bin/env bash
# intake-mail.sh — mail sent through Postfix to a support mailbox becomes a
# ticket; replies by tag or by In-Reply-To land on it; attachments are stored
# once; a stranger guessing a tag opens a new ticket; the same Message-ID
# twice is stored once; auto-replies are stored and marked; the message is
# flagged on the server after the commit.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup support
t_migrate
box=$BOX conf=$CONF

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the poller connects and selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"
t_ok "and uses IDLE on Dovecot" t_wait_log "$log" "event=imap_connected .*mailbox=support .*idle=yes"

# 1. A new message through Postfix opens a ticket.
t_make_mail "$T_DIR/m1.eml" '"Ann Customer" <ann@customer.test>' "$box" "Printer on fire" \
    "Message-ID: <m1@customer.test>"
hg_send_mail ann@customer.test "$box" "$T_DIR/m1.eml" >/dev/null 2>&1 || t_bail "Postfix refused the mail"
t_ok "the mail becomes a ticket" t_wait_sql "SELECT count(*) FROM tickets" 1
t_is "with the subject" "$(t_psql "SELECT subject FROM tickets")" "Printer on fire"
t_is "channel email, status new, tier L1" "$(t_psql "SELECT channel || ' ' || status || ' ' || tier FROM tickets")" \
    "email new L1"
t_is "the customer is created from the sender" "$(t_psql "SELECT email || '|' || name FROM customers")" \
    "ann@customer.test|Ann Customer"
t_is "the message is stored inbound with its Message-ID" \
    "$(t_psql "SELECT direction || ' ' || message_id FROM messages")" "in m1@customer.test"
t_is "its raw source is kept" "$(t_psql "SELECT count(*) FROM messages m JOIN raw_messages r ON r.id = m.raw_id WHERE r.data IS NOT NULL")" 1
t_is "the audit log has the creation, then the routing" \
    "$(t_psql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'ticket.%'")" \
    "ticket.create,ticket.route"
number=$(t_psql "SELECT number FROM tickets")
t_ok "the position is recorded in mailbox_state" t_wait_sql \
    "SELECT last_uid = acted_uid AND last_uid > 0 FROM mailbox_state WHERE mailbox = 'support'" t
flags=$(doveadm -c "$HG_VAR/dovecot/dovecot.conf" fetch -u "$box" flags mailbox INBOX all 2>/dev/null)
t_match "the message is flagged on the server after the commit" "$flags" 'HelpgateStored'

# 2. A reply with the tag lands on the same ticket.
t_make_mail "$T_DIR/m2.eml" "ann@customer.test" "$box" "Re: [#$number] Printer on fire" \
    "Message-ID: <m2@customer.test>" "It is still burning."
hg_send_mail ann@customer.test "$box" "$T_DIR/m2.eml" >/dev/null 2>&1
t_ok "a tagged reply is stored" t_wait_sql "SELECT count(*) FROM messages" 2
t_is "on the same ticket" "$(t_psql "SELECT count(*) FROM tickets")" 1

# 3. A reply by In-Reply-To only (no tag) lands on the same ticket.
t_make_mail "$T_DIR/m3.eml" "colleague@customer.test" "$box" "Re: Printer" \
    $'Message-ID: <m3@customer.test>\nIn-Reply-To: <m1@customer.test>\nReferences: <m1@customer.test>' \
    "Adding my colleague's view."
hg_send_mail colleague@customer.test "$box" "$T_DIR/m3.eml" >/dev/null 2>&1
t_ok "an In-Reply-To reply is stored" t_wait_sql "SELECT count(*) FROM messages" 3
t_is "on the same ticket" "$(t_psql "SELECT count(DISTINCT ticket_id) FROM messages")" 1

# 4. A stranger quoting the tag does not get into the ticket.
t_make_mail "$T_DIR/m4.eml" "mallory@evil.test" "$box" "[#$number] let me in" "Message-ID: <m4@evil.test>"
hg_send_mail mallory@evil.test "$box" "$T_DIR/m4.eml" >/dev/null 2>&1
t_ok "the stranger's mail is stored" t_wait_sql "SELECT count(*) FROM messages" 4
t_is "on a new ticket" "$(t_psql "SELECT count(*) FROM tickets")" 2
t_match "with a warning saying why" \
    "$(t_psql "SELECT array_to_string(parse_warnings, ';') FROM messages WHERE message_id = 'm4@evil.test'")" \
    "neither that ticket's customer nor an agent"

# 5. An attachment is stored, and the same attachment again is stored once.
b64=$(printf 'PDF-ish bytes %.0s' $(seq 1 50) | base64 -w 76)
for n in 5 6; do
    cat >"$T_DIR/m$n.eml" <<MAIL
From: bob@customer.test
To: $box
Subject: logs $n
Message-ID: <m$n@customer.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b$n"

--b$n
Content-Type: text/plain; charset=us-ascii

See attached.
--b$n
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

$b64
--b$n--
MAIL
    hg_send_mail bob@customer.test "$box" "$T_DIR/m$n.eml" >/dev/null 2>&1
done
t_ok "both messages with attachments are stored" t_wait_sql "SELECT count(*) FROM attachments" 2
t_is "the attachment keeps its name and type" \
    "$(t_psql "SELECT DISTINCT filename || ' ' || content_type FROM attachments")" "report.pdf application/pdf"
t_is "its bytes are stored once (deduplicated by SHA-256)" "$(t_psql "SELECT count(*) FROM attachment_blobs")" 1
want_sha=$(printf 'PDF-ish bytes %.0s' $(seq 1 50) | sha256sum | cut -d' ' -f1)
t_is "under the SHA-256 of the decoded bytes" "$(t_psql "SELECT encode(sha256, 'hex') FROM attachment_blobs")" \
    "$want_sha"

# 6. The same Message-ID delivered twice is stored once.
hg_send_mail ann@customer.test "$box" "$T_DIR/m1.eml" >/dev/null 2>&1
t_make_mail "$T_DIR/m7.eml" "ann@customer.test" "$box" "marker" "Message-ID: <m7@customer.test>"
hg_send_mail ann@customer.test "$box" "$T_DIR/m7.eml" >/dev/null 2>&1
t_ok "a later message arrives" t_wait_sql "SELECT count(*) FROM messages WHERE message_id = 'm7@customer.test'" 1
t_is "the duplicate Message-ID was not stored again" \
    "$(t_psql "SELECT count(*) FROM messages WHERE message_id = 'm1@customer.test'")" 1
t_is "but its position was recorded" "$(t_psql "SELECT count(*) FROM intake_seen")" 8

# 7. An auto-reply is stored and marked.
t_make_mail "$T_DIR/m8.eml" "ann@customer.test" "$box" "Out of office: Re: [#$number] Printer on fire" \
    $'Message-ID: <m8@customer.test>\nAuto-Submitted: auto-replied' "I am away until Monday."
hg_send_mail ann@customer.test "$box" "$T_DIR/m8.eml" >/dev/null 2>&1
t_ok "the auto-reply is stored" t_wait_sql "SELECT count(*) FROM messages WHERE message_id = 'm8@customer.test'" 1
t_is "marked autoreply, on its ticket" \
    "$(t_psql "SELECT auto_kind || ' ' || (t.number = $number) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE message_id = 'm8@customer.test'")" \
    "autoreply true"

kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 20
t_is "cleanly" "${T_EXIT_STATUS:-none}" 0
t_done
