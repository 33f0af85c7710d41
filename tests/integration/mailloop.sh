#!/usr/bin/env bash
# mailloop.sh — acknowledgements and notifications end to end, through the
# harness's Postfix and Dovecot: a customer's mail is acknowledged in the
# customer's own mailbox (threaded, tagged, RFC 3834 headers, from the
# support address); the L2 team is notified when a rule routes to L2, with a
# signed Reply-To; automatic mail is never acknowledged; a bot that
# auto-replies to everything gets at most the throttle's number of acks; a
# bounce of our own acknowledgement marks it failed and opens no ticket.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup support
box=$BOX conf=$CONF
cust=$(t_mail_user "cust-$T_NAME") agent=$(t_mail_user "agent-$T_NAME") bot=$(t_mail_user "bot-$T_NAME")
rules="$T_DIR/rules.conf"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
sed -i "s|^url = smtp.*|&\nretry_initial = 1s\nretry_max = 2s\nack_throttle = 2\nresponse_time_l2 = 4 hours|" "$conf"
sed -i "s|^from = .*|from = $box|" "$conf" # bounces of our mail come back to the polled mailbox
cat >"$rules" <<RULES
rule "Urgent goes to L2"
    when subject contains "urgent"
    then route L2, notify team L2
end
RULES
t_migrate
"$HELPGATECTL" --config "$conf" agent add "$agent" --team L2 --name "Ann Agent" >/dev/null || t_bail "agent add"

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "it loads the shipped templates" t_wait_log "$log" "event=templates_loaded .*templates=7"
t_ok "the poller selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"

# 1. A customer's urgent mail: ack to the customer, notification to L2.
t_make_mail "$T_DIR/c1.eml" "\"Cora Customer\" <$cust>" "$box" "Urgent: export broken" "Message-ID: <c1@test>" \
    "The export has been broken since this morning."
hg_send_mail "$cust" "$box" "$T_DIR/c1.eml" >/dev/null 2>&1 || t_bail "Postfix refused c1"
t_ok "the mail becomes a ticket in L2" t_wait_sql "SELECT tier FROM tickets" L2
number=$(t_psql "SELECT number FROM tickets")
t_ok "the customer receives the acknowledgement" hg_wait_mail "$cust" 1 30
ack=$(cat "$(find "$(hg_maildir "$cust")"/{new,cur} -type f | head -1)")
t_match "from the support address" "$ack" "^From: $box"
t_match "with the ticket tag in the subject" "$ack" "^Subject: Re: Urgent: export broken \[#$number\]"
t_match "threaded on the customer's message" "$ack" "^In-Reply-To: <c1@test>"
t_match "marked auto-replied (RFC 3834)" "$ack" "^Auto-Submitted: auto-replied"
t_match "with our loop header" "$ack" "^X-Helpgate-Loop: "
t_match "addressed by name" "$ack" "Dear Cora Customer"
t_match "promising the L2 response time" "$ack" "You will hear from us within 4 hours."
t_is "the ticket is marked acknowledged" "$(t_psql "SELECT acknowledged_at IS NOT NULL FROM tickets")" t
t_ok "the L2 agent receives the notification" hg_wait_mail "$agent" 1 30
note=$(cat "$(find "$(hg_maildir "$agent")"/{new,cur} -type f | head -1)")
t_match "naming tier and ticket" "$note" "^Subject: \[L2\] \[#$number\] Urgent: export broken"
t_match "with a signed Reply-To on the support address" "$note" "^Reply-To: ${box%@*}\+[a-z0-9.-]+@example.test"
t_match "quoting the customer's words" "$note" "The export has been broken since this morning."
t_match "marked auto-generated" "$note" "^Auto-Submitted: auto-generated"
t_ok "both mails are sent from the outbox" t_wait_sql \
    "SELECT string_agg(kind || ':' || status, ',' ORDER BY kind) FROM outbox" "ack:sent,notify:sent"

# 1b. A customer who writes in German is acknowledged in German (default.de.tmpl).
t_make_mail "$T_DIR/d1.eml" "\"Dora Kundin\" <$cust>" "$box" "Frage zur Rechnung" \
    $'Message-ID: <d1@test>\nContent-Language: de-DE'
hg_send_mail "$cust" "$box" "$T_DIR/d1.eml" >/dev/null 2>&1
t_ok "the German customer gets an acknowledgement" hg_wait_mail "$cust" 2 30
ack_de=$(cat "$(find "$(hg_maildir "$cust")"/{new,cur} -type f -newer "$T_DIR/d1.eml" | head -1)")
t_match "in German" "$ack_de" "vielen Dank f=C3=BCr Ihre Nachricht|vielen Dank für Ihre Nachricht"

# 2. Automatic mail opens a ticket but is never acknowledged.
t_make_mail "$T_DIR/o1.eml" "$bot" "$box" "Out of office" $'Message-ID: <o1@test>\nAuto-Submitted: auto-replied'
hg_send_mail "$bot" "$box" "$T_DIR/o1.eml" >/dev/null 2>&1
t_ok "the auto-reply is stored" t_wait_sql "SELECT count(*) FROM tickets" 3
t_is "not acknowledged, and the audit log says why" \
    "$(t_psql "SELECT details->>'reason' FROM audit_log WHERE action = 'ack.skipped'")" "auto_submitted"

# 3. A bot that writes again and again (without marking its mail) gets at most ack_throttle acks.
for i in 1 2 3 4 5; do
    t_make_mail "$T_DIR/b$i.eml" "$bot" "$box" "Ticket received $i" "Message-ID: <b$i@test>"
    hg_send_mail "$bot" "$box" "$T_DIR/b$i.eml" >/dev/null 2>&1
done
t_ok "the five mails are stored" t_wait_sql "SELECT count(*) FROM tickets" 8
t_is "only two acknowledgements go to the bot (ack_throttle = 2)" \
    "$(t_psql "SELECT count(*) FROM outbox WHERE kind = 'ack' AND '$bot' = ANY (recipients)")" 2
t_is "the others are skipped as throttled" \
    "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'ack.skipped' AND details->>'reason' = 'sender_throttled'")" 3
t_ok "and the bot's mailbox gets exactly those two" hg_wait_mail "$bot" 2 30
sleep 2
t_is "no more" "$(hg_mail_count "$bot")" 2

# 4. An acknowledgement to an address that does not exist bounces: the bounce fails its outbox row.
ghost="ghost-$T_NAME@example.test"
t_make_mail "$T_DIR/g1.eml" "$ghost" "$box" "Hello from nowhere" "Message-ID: <g1@test>"
hg_send_mail "$ghost" "$box" "$T_DIR/g1.eml" >/dev/null 2>&1
t_ok "the ghost's mail is stored and acknowledged" \
    t_wait_sql "SELECT count(*) FROM outbox WHERE kind = 'ack' AND '$ghost' = ANY (recipients)" 1
t_ok "the bounce of that acknowledgement marks it failed" \
    t_wait_sql "SELECT status FROM outbox WHERE kind = 'ack' AND '$ghost' = ANY (recipients)" failed 60
t_match "with the bounce as the reason" \
    "$(t_psql "SELECT last_error FROM outbox WHERE kind = 'ack' AND '$ghost' = ANY (recipients)")" "^bounced: "
t_is "on the ticket's audit log" "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'outbox.bounced'")" 1
t_ok "the poller logs it" t_wait_log "$log" "event=message_stored .*outcome=bounce_of_ours"
t_is "and no ticket is opened for the bounce" "$(t_psql "SELECT count(*) FROM tickets")" 9

# 5. SMTP down for a while: the acknowledgement waits in the outbox and is delivered once, later.
late=$(t_mail_user "late-$T_NAME")
hg_postfix_stop >/dev/null 2>&1 || t_bail "cannot stop Postfix"
t_make_mail "$T_DIR/l1.eml" "$late" "$box" "Written while the relay is down" "Message-ID: <l1@test>"
t_maildir_put "$box" "$T_DIR/l1.eml" # Postfix is down: straight into the support mailbox
t_ok "the mail becomes a ticket" t_wait_sql "SELECT count(*) FROM tickets" 10
t_ok "its acknowledgement is deferred, not lost" t_wait_sql \
    "SELECT status = 'queued' AND attempts >= 1 FROM outbox WHERE kind = 'ack' AND '$late' = ANY (recipients)" t
hg_postfix_start >/dev/null 2>&1 || t_bail "cannot start Postfix"
t_ok "once SMTP is back it is delivered" hg_wait_mail "$late" 1 60
sleep 3
t_is "exactly once" "$(hg_mail_count "$late")" 1
t_done
