#!/usr/bin/env bash
# sender-auth.sh — the outbox sender authenticates (SMTP AUTH) where the
# server requires it: the harness's submission listener takes mail only
# after STARTTLS and AUTH against Dovecot's users. With a wrong password
# the mail waits with "Login denied" and is tried again (never marked failed: a wrong password is ours to fix, not the
# recipient's fault) and the password never reaches the log; after the
# password file is corrected and helpgated reloaded (SIGHUP notices the
# file's new contents), it is delivered, and Postfix's log shows the
# authenticated user.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
rcpt=$(t_mail_user "$T_NAME")
login=$(t_mail_user "${T_NAME}-sender")
good_pass="right-$RANDOM$RANDOM"
hg_mail_user_add "$login" "$good_pass" >/dev/null || t_bail "cannot set the sender's password"
conf="$T_DIR/helpgate.conf"
t_write_config "$conf"
mkdir -p "$T_DIR/secrets"
wrong="wrong-$RANDOM$RANDOM"
printf '%s\n' "$wrong" >"$T_DIR/secrets/smtp.pass"
chmod 600 "$T_DIR/secrets/smtp.pass"
t_add_smtp "$conf" "smtp://localhost:$HG_SMTP_SUBMIT_PORT" \
    "retry_initial = 1s
retry_max = 1s
ca_file = $HG_VAR/tls/ca.pem
user = $login
password_file = $T_DIR/secrets/smtp.pass"
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"

queue() { # queue ID: one mail to $rcpt in the outbox
    printf 'From: support@example.test\r\nTo: %s\r\nSubject: auth %s\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n' \
        "$rcpt" "$1" "$1" >"$T_DIR/$1.eml"
    t_psql "INSERT INTO outbox (kind, mail_from, recipients, message_id, payload)
            VALUES ('notice', 'support@example.test', ARRAY['$rcpt'], '$1@test',
                    decode('$(base64 -w0 <"$T_DIR/$1.eml")', 'base64'))" >/dev/null
}
queue auth1

# A wrong password.
log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "a wrong password: the mail is deferred" t_wait_log "$log" "event=mail_deferred .*outbox=1 "
t_match "the row says why" "$(t_psql "SELECT last_error FROM outbox")" "[Ll]ogin denied"
t_ok "it is tried again" t_wait_log "$log" "event=mail_deferred .*outbox=1 .*attempts=[2-9]"
t_is "and it is not failed" "$(t_psql "SELECT status FROM outbox")" queued
t_is "nothing delivered" "$(hg_mail_count "$rcpt")" 0
t_ok "Postfix saw the failed AUTH" grep -Eq "SASL (PLAIN|LOGIN) authentication failed" "$HG_VAR/log/postfix.log"
t_fails "the password is not in helpgated's log" grep -qF "$wrong" "$log"

# The right password, reloaded.
printf '%s\n' "$good_pass" >"$T_DIR/secrets/smtp.pass"
kill -HUP "$pid"
t_ok "SIGHUP: the sender restarts with the new password" \
    t_wait_log "$log" "event=sender_stopping .*reason=smtp_password_changed"
t_ok "the mail is sent" t_wait_sql "SELECT status FROM outbox" sent 30
t_ok "and delivered" hg_wait_mail "$rcpt" 1 30
t_ok "after AUTH as the configured user (Postfix's log)" \
    grep -Eq "sasl_method=(PLAIN|LOGIN), sasl_username=$login" "$HG_VAR/log/postfix.log"
t_fails "the password is not in helpgated's log" grep -qF "$good_pass" "$log"
queue auth2
t_ok "the next mail goes the same way" t_wait_sql "SELECT status FROM outbox WHERE message_id = 'auth2@test'" sent 30
t_ok "and is delivered" hg_wait_mail "$rcpt" 2 30
kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_done
