#!/usr/bin/env bash
# intake-crash.sh — kill -9 helpgated in the middle of ingesting 1,000
# messages, restart it: exactly 1,000 messages stored, each once. Then the
# folder is recreated with the same messages (new UIDVALIDITY): a rescan
# that stores nothing twice.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

total=1000
t_intake_setup crashbox "batch_size = 50"
t_migrate
box=$BOX conf=$CONF

mkdir -p "$T_DIR/mails"
for i in $(seq 1 $total); do
    t_make_mail "$T_DIR/mails/$i.eml" "customer$((i % 37))@bulk.test" "$box" "Question number $i" \
        "Message-ID: <crash-$i@bulk.test>" "Body of message $i."
done
t_maildir_put "$box" "$T_DIR"/mails/*.eml
t_is "the mailbox holds $total messages" "$(hg_mail_count "$box")" "$total"

log="$T_DIR/run1.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "ingest starts" t_wait_sql "SELECT count(*) > 100 FROM messages" t 60
kill -KILL "$pid"
wait "$pid" 2>/dev/null
stored=$(t_psql "SELECT count(*) FROM messages")
t_ok "helpgated was killed in the middle ($stored of $total stored)" test "$stored" -lt "$total"

log="$T_DIR/run2.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "after a restart every message is stored" t_wait_sql "SELECT count(*) FROM messages" "$total" 120
sleep 1
t_is "exactly $total messages, none twice" "$(t_psql "SELECT count(DISTINCT message_id) || '/' || count(*) FROM messages")" \
    "$total/$total"
t_is "exactly $total positions recorded" "$(t_psql "SELECT count(*) FROM intake_seen")" "$total"
t_is "one ticket per message" "$(t_psql "SELECT count(*) FROM tickets")" "$total"
t_ok "every message is flagged on the server" t_wait_sql \
    "SELECT acted_uid = last_uid FROM mailbox_state WHERE mailbox = 'crashbox'" t 30
flagged=$(doveadm -c "$HG_VAR/dovecot/dovecot.conf" search -u "$box" mailbox INBOX KEYWORD '$HelpgateStored' 2>/dev/null | wc -l)
t_is "all $total carry the stored keyword" "$flagged" "$total"

# UIDVALIDITY reset: recreate the folder with the same messages.
kill -TERM "$pid"
t_wait_exit "$pid" 20
old_validity=$(t_psql "SELECT uidvalidity FROM mailbox_state WHERE mailbox = 'crashbox'")
dir=$(hg_maildir "$box")
rm -rf "$dir"
t_maildir_put "$box" "$T_DIR"/mails/*.eml
log="$T_DIR/run3.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "the new UIDVALIDITY is noticed" t_wait_log "$log" "event=imap_uidvalidity_changed .*mailbox=crashbox .*old=$old_validity"
t_ok "the rescan completes" t_wait_sql "SELECT acted_uid >= $total AND uidvalidity <> $old_validity FROM mailbox_state WHERE mailbox = 'crashbox'" t 120
t_is "and stores nothing twice" "$(t_psql "SELECT count(*) FROM messages")" "$total"
t_is "while every new position is recorded" "$(t_psql "SELECT count(*) FROM intake_seen")" "$((total * 2))"
kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 20
t_done
