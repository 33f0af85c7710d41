#!/usr/bin/env bash
# sender.sh — the outbox is delivered by SMTP through the harness's Postfix:
# a queued row leaves at once (NOTIFY) and arrives in the recipient's
# mailbox; with Postfix down it is retried with backoff and delivered once
# when Postfix is back; a 5xx answer marks it failed and writes the reason
# to its ticket's audit log; two helpgated share the outbox, each mail sent once.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
rcpt=$(t_mail_user "$T_NAME")
conf="$T_DIR/helpgate.conf"
t_write_config "$conf"
t_add_smtp "$conf" "smtp://127.0.0.1:$HG_SMTP_PORT" $'retry_initial = 1s\nretry_max = 2s'
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
t_psql "INSERT INTO tickets (subject, channel) VALUES ('t', 'email')" >/dev/null
ticket=$(t_psql "SELECT id FROM tickets")

queue() { # MESSAGE-ID [MAIL-FROM]
    printf 'From: support@example.test\r\nTo: %s\r\nSubject: outbox %s\r\nMessage-ID: <%s>\r\n\r\nHello from the outbox.\r\n.dot at the start of a line\r\n' \
        "$rcpt" "$1" "$1" >"$T_DIR/$1.eml"
    t_psql "INSERT INTO outbox (kind, ticket_id, mail_from, recipients, message_id, payload)
            VALUES ('ack', $ticket, '${2:-support@example.test}', ARRAY['$rcpt'], '$1',
                    decode('$(base64 -w0 <"$T_DIR/$1.eml")', 'base64'))" >/dev/null
}

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the sender starts with [smtp]" t_wait_log "$log" "event=sender_starting"

queue one@test
t_ok "a queued mail is sent" t_wait_sql "SELECT status || ' ' || attempts FROM outbox WHERE message_id = 'one@test'" \
    "sent 1"
t_ok "and arrives in the recipient's mailbox" hg_wait_mail "$rcpt" 1 30
file=$(find "$(hg_maildir "$rcpt")/new" "$(hg_maildir "$rcpt")/cur" -type f | head -1)
t_match "unchanged (Message-ID kept)" "$(cat "$file")" "^Message-ID: <one@test>"
t_match "with a leading dot kept (libcurl dot-stuffs)" "$(cat "$file")" "^\.dot at the start of a line"
t_ok "the log says so, once per mail" t_wait_log "$log" "event=mail_sent .*outbox=1 "

# Postfix down: retried, then delivered once it is back.
hg_postfix_stop >/dev/null 2>&1 || t_bail "cannot stop Postfix"
queue two@test
t_ok "with Postfix down the mail is deferred" t_wait_log "$log" "event=mail_deferred .*outbox=2 "
t_ok "it stays queued with the error recorded" t_wait_sql \
    "SELECT status = 'queued' AND attempts >= 1 AND last_error <> '' FROM outbox WHERE message_id = 'two@test'" t
sleep 3
t_ok "and is retried (more attempts)" t_wait_sql \
    "SELECT attempts >= 2 FROM outbox WHERE message_id = 'two@test'" t
hg_postfix_start >/dev/null 2>&1 || t_bail "cannot start Postfix"
t_ok "once Postfix is back it is sent" t_wait_sql "SELECT status FROM outbox WHERE message_id = 'two@test'" sent 30
t_ok "and delivered" hg_wait_mail "$rcpt" 2 30
sleep 2
t_is "exactly once" "$(grep -l '^Message-ID: <two@test>' "$(hg_maildir "$rcpt")"/{new,cur}/* 2>/dev/null | wc -l)" 1

# A 5xx answer: failed at once, on the ticket's audit log.
queue three@test 'not an address'
t_ok "a 5xx answer marks the mail failed" t_wait_sql "SELECT status FROM outbox WHERE message_id = 'three@test'" failed
t_is "after one attempt" "$(t_psql "SELECT attempts FROM outbox WHERE message_id = 'three@test'")" 1
t_match "with the server's answer" "$(t_psql "SELECT last_error FROM outbox WHERE message_id = 'three@test'")" \
    "code 5[0-9][0-9]"
t_is "and an outbox.failed row on the ticket's audit log" \
    "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'outbox.failed' AND ticket_id = $ticket
               AND details->>'message_id' = 'three@test'")" 1

# Two helpgated share one outbox: every mail is sent once, and both take part.
conf2="$T_DIR/helpgate2.conf"
sed "s/^instance = .*/instance = second/" "$conf" >"$conf2"
log2="$T_DIR/helpgated2.log"
t_spawn "$log2" "$HELPGATED" --foreground --config "$conf2"
pid2=$T_LAST_PID
t_ok "a second helpgated is ready" t_wait_log "$log2" "event=ready"
before=$(hg_mail_count "$rcpt")
for i in $(seq 1 40); do queue "many$i@test" >/dev/null; done
t_ok "forty mails are sent" t_wait_sql "SELECT count(*) FROM outbox WHERE message_id LIKE 'many%' AND status = 'sent'" 40 60
t_ok "and delivered" hg_wait_mail "$rcpt" $((before + 40)) 60
sleep 2
t_is "each once" "$(hg_mail_count "$rcpt")" $((before + 40))
t_is "each in one attempt (no row claimed twice)" \
    "$(t_psql "SELECT count(*) FROM outbox WHERE message_id LIKE 'many%' AND attempts <> 1")" 0
first=$(grep -c "event=mail_sent" "$log")
second=$(grep -c "event=mail_sent" "$log2")
t_ok "both instances sent some ($((first - 2)) and $second)" test "$second" -gt 0 -a "$first" -gt 2
kill -TERM "$pid" "$pid2"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_ok "the second too" t_wait_exit "$pid2" 30
t_done
