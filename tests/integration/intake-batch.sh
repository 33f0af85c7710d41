#!/usr/bin/env bash
# intake-batch.sh — an IMAP batch is one transaction, and a failure inside it
# costs no other message: a message the database refuses (a sender address
# too long to index) is logged and left unflagged while the rest of its batch is
# stored and flagged; when every message of a batch fails (a test-only trigger
# on this test's database) nothing is passed over and the batch is retried;
# two mailboxes reading the same folder store every message once (the unique
# violations of concurrent batches fall back to one transaction per message);
# and kill -9 at random moments, again and again, loses and duplicates nothing.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

# shellcheck disable=SC2016  # the IMAP keyword, not an expansion
stored_kw='$HelpgateStored'
doveadm_search() { # ADDR SEARCH-ARGS...: one "guid uid" line per match
    local addr=$1
    shift
    doveadm -c "$HG_VAR/dovecot/dovecot.conf" search -u "$addr" mailbox INBOX "$@" 2>/dev/null
}

t_intake_setup batchbox "batch_size = 100"
t_migrate
box=$BOX conf=$CONF

# ---- 1. A poisoned message in the middle of a batch ---------------------------------------------
# Its sender's address (3,200 random characters before the @) is longer than a btree index
# entry may be: PostgreSQL refuses the new customer row with SQLSTATE 54000 ("index row size
# ... exceeds ... maximum"). The normalizer keeps such an address as it is.
mkdir -p "$T_DIR/mails"
long_sender="$(head -c 2400 /dev/urandom | base64 -w0 | tr '+/' 'xy')@batch.test"
for i in 1 2 3 4 5 6 7 8 9; do
    from="b$i@batch.test"
    [ "$i" -eq 5 ] && from="<$long_sender>"
    t_make_mail "$T_DIR/mails/$i.eml" "$from" "$box" "Batch message $i" "Message-ID: <batch-$i@batch.test>"
done
t_maildir_put "$box" "$T_DIR"/mails/{1..9}.eml

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "the batch fails, is rolled back and stored again message by message" \
    t_wait_log "$log" "level=warn event=imap_batch_replayed .*mailbox=batchbox first_uid=1 last_uid=9 messages=9" 60
t_ok "the poisoned message is logged as an error, with its UID and the server's reason" \
    t_wait_log "$log" "level=error event=message_rejected .*mailbox=batchbox uid=5 sqlstate=54000 error=.*index row" 30
t_ok "the eight others are stored" t_wait_sql "SELECT count(*) FROM messages" 8 30
t_is "the poisoned one is not" "$(t_psql "SELECT count(*) FROM messages WHERE message_id = 'batch-5@batch.test'")" 0
t_is "eight positions are recorded" "$(t_psql "SELECT string_agg(uid::text, ',' ORDER BY uid) FROM intake_seen")" \
    "1,2,3,4,6,7,8,9"
t_ok "the mailbox position passes it" t_wait_sql \
    "SELECT last_uid || '/' || acted_uid FROM mailbox_state WHERE mailbox = 'batchbox'" "9/9" 30
t_is "the eight are flagged on the server" "$(doveadm_search "$box" KEYWORD "$stored_kw" | wc -l)" 8
t_is "the poisoned one is left unflagged and unseen" \
    "$(doveadm_search "$box" NOT KEYWORD "$stored_kw" UNSEEN | awk '{ print $2 }')" 5
t_is "every stored message was logged once" "$(grep -c 'event=message_stored ' "$log")" 8

# The next batch is one transaction again.
for i in 10 11 12; do
    t_make_mail "$T_DIR/mails/$i.eml" "b$i@batch.test" "$box" "Batch message $i" "Message-ID: <batch-$i@batch.test>"
done
t_maildir_put "$box" "$T_DIR"/mails/{10..12}.eml
t_ok "the next batch is stored in one transaction" \
    t_wait_log "$log" "event=imap_batch_stored .*mailbox=batchbox messages=3 rejected=0 last_uid=12 transaction=batch" 30
t_is "with its three messages" "$(t_psql "SELECT count(*) FROM messages")" 11

# ---- 2. Every message of a batch fails: nothing is passed over ----------------------------------
t_psql "CREATE FUNCTION t_refuse_sys() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN RAISE EXCEPTION 'test trigger refuses %', NEW.message_id; END \$\$;
        CREATE TRIGGER t_refuse_sys BEFORE INSERT ON messages FOR EACH ROW
        WHEN (NEW.message_id LIKE 'sys-%') EXECUTE FUNCTION t_refuse_sys();" >/dev/null
for i in 13 14 15; do
    t_make_mail "$T_DIR/mails/$i.eml" "s$i@batch.test" "$box" "Refused while the trigger is there $i" \
        "Message-ID: <sys-$i@batch.test>"
done
t_maildir_put "$box" "$T_DIR"/mails/{13..15}.eml
t_ok "a batch whose every message fails fails as a whole, saying why" t_wait_log "$log" \
    "event=imap_session_failed .*mailbox=batchbox .*error=.*every message of the batch failed.*test trigger refuses" 60
t_is "no message of it is passed over" "$(grep -c 'event=message_rejected' "$log")" 1
t_is "the position stays before it" \
    "$(t_psql "SELECT last_uid || '/' || acted_uid FROM mailbox_state WHERE mailbox = 'batchbox'")" "12/12"
t_psql "DROP TRIGGER t_refuse_sys ON messages; DROP FUNCTION t_refuse_sys();" >/dev/null
t_ok "once the cause is gone, the retry stores the batch" t_wait_sql "SELECT count(*) FROM messages" 14 90
t_ok "and flags it" t_wait_sql "SELECT last_uid || '/' || acted_uid FROM mailbox_state WHERE mailbox = 'batchbox'" \
    "15/15" 30
kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 20
t_is "cleanly" "${T_EXIT_STATUS:-none}" 0

# ---- 3. Two mailboxes over one folder: concurrent batches, each message once --------------------
dup=$(t_mail_user intake-batch-dup)
for i in $(seq 1 300); do
    t_make_mail "$T_DIR/mails/dup-$i.eml" "d$((i % 13))@dup.test" "$dup" "Shared folder $i" \
        "Message-ID: <dup-$i@dup.test>"
done
t_maildir_put "$dup" "$T_DIR"/mails/dup-*.eml
dup_conf="$T_DIR/dup.conf"
t_write_mailbox_config "$dup_conf" dupa "$dup" "batch_size = 50"
cat >>"$dup_conf" <<CONF

[mailbox dupb]
host = 127.0.0.1
port = $HG_IMAP_PORT
tls = none
user = $dup
password_file = $T_DIR/secrets/dupa
poll_interval = 5s
batch_size = 50
CONF
log="$T_DIR/dup.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$dup_conf"
pid=$T_LAST_PID
t_ok "both mailboxes reach the end of the folder" t_wait_sql \
    "SELECT string_agg(mailbox || '=' || last_uid || '/' || acted_uid, ' ' ORDER BY mailbox)
       FROM mailbox_state WHERE mailbox IN ('dupa', 'dupb')" "dupa=300/300 dupb=300/300" 120
t_is "every message is stored once" \
    "$(t_psql "SELECT count(DISTINCT message_id) || '/' || count(*) FROM messages WHERE message_id LIKE 'dup-%'")" \
    "300/300"
t_is "and its position recorded for both mailboxes" \
    "$(t_psql "SELECT count(*) FROM intake_seen WHERE mailbox IN ('dupa', 'dupb')")" 600
t_is "nothing was rejected" "$(grep -c 'event=message_rejected' "$log")" 0
t_is "all 300 are flagged" "$(doveadm_search "$dup" KEYWORD "$stored_kw" | wc -l)" 300
echo "# batches replayed after a conflict with the other mailbox: $(grep -c 'event=imap_batch_replayed' "$log")"
kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 20

# ---- 4. kill -9 again and again ------------------------------------------------------------------
total=2000
kbox=$(t_mail_user intake-batch-kill)
for i in $(seq 1 $total); do
    t_make_mail "$T_DIR/mails/kill-$i.eml" "k$((i % 29))@kill.test" "$kbox" "Kill test $i" \
        "Message-ID: <kill-$i@kill.test>"
done
t_maildir_put "$kbox" "$T_DIR"/mails/kill-*.eml
kill_conf="$T_DIR/kill.conf"
t_write_mailbox_config "$kill_conf" killbox "$kbox" "batch_size = 25"
progress=""
for round in 1 2 3 4 5 6; do
    t_spawn "$T_DIR/kill-$round.log" "$HELPGATED" --foreground --config "$kill_conf"
    pid=$T_LAST_PID
    # A random moment 10-150 ms after it starts storing.
    t_wait_log "$T_DIR/kill-$round.log" "event=imap_selected .*mailbox=killbox" 30 >/dev/null
    sleep "0.$(printf '%02d' $((RANDOM % 15 + 1)))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    progress="$progress $(t_psql "SELECT count(*) FROM messages WHERE message_id LIKE 'kill-%'")"
done
echo "# stored after each kill -9:$progress"
t_spawn "$T_DIR/kill-final.log" "$HELPGATED" --foreground --config "$kill_conf"
pid=$T_LAST_PID
t_ok "after six kill -9 and a restart, the folder is done" t_wait_sql \
    "SELECT last_uid || '/' || acted_uid FROM mailbox_state WHERE mailbox = 'killbox'" "$total/$total" 120
t_is "every message stored once" \
    "$(t_psql "SELECT count(DISTINCT message_id) || '/' || count(*) FROM messages WHERE message_id LIKE 'kill-%'")" \
    "$total/$total"
t_is "every position recorded once" "$(t_psql "SELECT count(*) FROM intake_seen WHERE mailbox = 'killbox'")" "$total"
t_is "every message flagged" "$(doveadm_search "$kbox" KEYWORD "$stored_kw" | wc -l)" "$total"
echo "# flag/move repairs after a kill between COMMIT and flag: $(cat "$T_DIR"/kill-*.log | grep -c 'event=imap_actions_repaired')"
kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 20
t_done
