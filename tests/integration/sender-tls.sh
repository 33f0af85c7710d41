#!/usr/bin/env bash
# sender-tls.sh — the outbox sender talks STARTTLS with certificate
# verification: against the harness's Postfix listener that requires TLS
# (certificate of a test CA), an unknown CA is refused (the mail waits,
# with the reason), and with the CA named by [smtp] ca_file the mail is
# delivered over TLS; the same over implicit TLS (smtps://).
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
rcpt=$(t_mail_user "$T_NAME")
conf="$T_DIR/helpgate.conf"
t_write_config "$conf"
t_add_smtp "$conf" "smtp://localhost:$HG_SMTP_TLS_PORT" $'retry_initial = 1s\nretry_max = 1s'
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
printf 'From: support@example.test\r\nTo: %s\r\nSubject: over TLS\r\nMessage-ID: <tls1@test>\r\n\r\nHello.\r\n' \
    "$rcpt" >"$T_DIR/m.eml"
t_psql "INSERT INTO outbox (kind, mail_from, recipients, message_id, payload)
        VALUES ('notice', 'support@example.test', ARRAY['$rcpt'], 'tls1@test',
                decode('$(base64 -w0 <"$T_DIR/m.eml")', 'base64'))" >/dev/null

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "a server certificate from an unknown CA is refused" t_wait_log "$log" "event=mail_deferred .*outbox=1 "
t_match "the row says why" "$(t_psql "SELECT last_error FROM outbox")" "[Cc]ertificate|SSL|TLS"
t_is "and the mail waits" "$(t_psql "SELECT status FROM outbox")" queued
t_is "nothing was delivered" "$(hg_mail_count "$rcpt")" 0

sed -i "s|^retry_max = 1s\$|&\nca_file = $HG_VAR/tls/ca.pem|" "$conf"
kill -HUP "$pid"
t_ok "with the test CA in ca_file the sender restarts" t_wait_log "$log" "event=sender_stopping .*reason=smtp_changed"
t_ok "and the mail is sent" t_wait_sql "SELECT status FROM outbox" sent 30
t_ok "and delivered" hg_wait_mail "$rcpt" 1 30
t_ok "over TLS (Postfix logs the TLS session)" \
    grep -Eq "TLS connection established from [a-z]+\[127.0.0.1\]" "$HG_VAR/log/postfix.log"

# Implicit TLS (smtps://) with the same CA.
sed -i "s|^url = .*|url = smtps://localhost:$HG_SMTPS_PORT|" "$conf"
printf 'From: support@example.test\r\nTo: %s\r\nSubject: over SMTPS\r\nMessage-ID: <tls2@test>\r\n\r\nHello.\r\n' \
    "$rcpt" >"$T_DIR/m2.eml"
kill -HUP "$pid"
restarted() { [ "$(grep -c "event=sender_stopping .*reason=smtp_changed" "$log")" -ge 2 ]; }
for _ in $(seq 1 300); do restarted && break; sleep 0.1; done
t_ok "the sender restarts for smtps://" restarted
t_psql "INSERT INTO outbox (kind, mail_from, recipients, message_id, payload)
        VALUES ('notice', 'support@example.test', ARRAY['$rcpt'], 'tls2@test',
                decode('$(base64 -w0 <"$T_DIR/m2.eml")', 'base64'))" >/dev/null
t_ok "a mail over SMTPS (implicit TLS) is sent" t_wait_sql "SELECT status FROM outbox WHERE message_id = 'tls2@test'" sent 30
t_ok "and delivered" hg_wait_mail "$rcpt" 2 30
kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_done
