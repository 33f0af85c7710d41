#!/usr/bin/env bash
# intake-lease.sh — two helpgated on one database and one mailbox: every
# message is stored once; kill -9 the lease holder and the other takes the
# mailbox over. A second mailbox with a wrong password logs a clear line per
# attempt and does not hold the first back.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup shared
box=$BOX conf=$CONF
broken=$(t_mail_user intake-broken)
printf 'wrong-password\n' >"$T_DIR/secrets/wrong"
chmod 600 "$T_DIR/secrets/wrong"
cat >>"$conf" <<CONF

[mailbox broken]
host = 127.0.0.1
port = $HG_IMAP_PORT
tls = none
user = $broken
password_file = $T_DIR/secrets/wrong
CONF
t_migrate
sed 's/^instance = .*/instance = first/' "$conf" >"$T_DIR/first.conf"
sed 's/^instance = .*/instance = second/' "$conf" >"$T_DIR/second.conf"

t_spawn "$T_DIR/first.log" "$HELPGATED" --foreground --config "$T_DIR/first.conf"
first=$T_LAST_PID
t_ok "the first instance takes the lease" t_wait_log "$T_DIR/first.log" "event=mailbox_lease_taken .*mailbox=shared"
t_spawn "$T_DIR/second.log" "$HELPGATED" --foreground --config "$T_DIR/second.conf"
second=$T_LAST_PID
t_ok "the second instance stands by" t_wait_log "$T_DIR/second.log" "event=mailbox_lease_elsewhere .*mailbox=shared"
t_is "mailbox_state names the holder" "$(t_psql "SELECT lease_holder FROM mailbox_state WHERE mailbox = 'shared'")" first

mkdir -p "$T_DIR/mails"
for i in $(seq 1 40); do
    t_make_mail "$T_DIR/mails/$i.eml" "c$i@lease.test" "$box" "Lease test $i" "Message-ID: <lease-$i@lease.test>"
done
t_maildir_put "$box" "$T_DIR"/mails/{1..20}.eml
t_ok "the holder stores the first messages" t_wait_sql "SELECT count(*) FROM messages" 20 60

kill -KILL "$first"
wait "$first" 2>/dev/null
t_ok "after kill -9 of the holder, the other takes the mailbox over" \
    t_wait_log "$T_DIR/second.log" "event=mailbox_lease_taken .*mailbox=shared" 30
t_maildir_put "$box" "$T_DIR"/mails/{21..40}.eml
t_ok "and stores the new messages" t_wait_sql "SELECT count(*) FROM messages" 40 60
sleep 2
t_is "every message once" "$(t_psql "SELECT count(DISTINCT message_id) || '/' || count(*) FROM messages")" "40/40"

# The broken mailbox: one clear line per attempt, with the server's words, and no secret.
t_ok "a wrong password is logged clearly" t_wait_log "$T_DIR/second.log" \
    "event=imap_connect_failed .*mailbox=broken .*attempt=[0-9]+ retry_in_ms=[0-9]+ error=.*(LOGIN|uthentication)"
t_no_match "without the password" "$(cat "$T_DIR"/*.log)" "wrong-password|$HELPGATE_MAIL_PASS"
kill -TERM "$second"
t_ok "the standby instance stops cleanly" t_wait_exit "$second" 20
t_is "with status 0" "${T_EXIT_STATUS:-none}" 0
t_done
