#!/usr/bin/env bash
# intake-restarts.sh — Dovecot restarted mid-run and PostgreSQL restarted
# mid-run: helpgated recovers on its own; nothing lost or duplicated.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup restarts "batch_size = 20"
t_migrate
box=$BOX conf=$CONF

mkdir -p "$T_DIR/mails"
for i in $(seq 1 300); do
    t_make_mail "$T_DIR/mails/$i.eml" "r$((i % 11))@restart.test" "$box" "Restart test $i" \
        "Message-ID: <restart-$i@restart.test>"
done
t_maildir_put "$box" "$T_DIR"/mails/{1..100}.eml

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "the first messages are stored" t_wait_sql "SELECT count(*) FROM messages" 100 60

# Dovecot goes away and comes back.
hg_dovecot_stop >/dev/null 2>&1
t_maildir_put "$box" "$T_DIR"/mails/{101..200}.eml
t_ok "the lost IMAP connection is logged" t_wait_log "$log" "event=imap_(session|connect)_failed .*mailbox=restarts" 30
hg_dovecot_start >/dev/null 2>&1 || t_bail "Dovecot did not come back"
t_ok "after Dovecot returns, the messages are stored" t_wait_sql "SELECT count(*) FROM messages" 200 90

# PostgreSQL goes away and comes back.
hg_pg_stop >/dev/null 2>&1
t_maildir_put "$box" "$T_DIR"/mails/{201..300}.eml
sleep 3
hg_pg_start >/dev/null 2>&1 || t_bail "PostgreSQL did not come back"
t_ok "after PostgreSQL returns, every message is stored" t_wait_sql "SELECT count(*) FROM messages" 300 120
sleep 2
t_is "none twice" "$(t_psql "SELECT count(DISTINCT message_id) || '/' || count(*) FROM messages")" "300/300"
t_ok "helpgated is still running" kill -0 "$pid"
kill -TERM "$pid"
t_ok "and stops cleanly" t_wait_exit "$pid" 20
t_is "with status 0" "${T_EXIT_STATUS:-none}" 0
t_done
