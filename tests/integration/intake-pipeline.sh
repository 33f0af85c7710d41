#!/usr/bin/env bash
# intake-pipeline.sh — a batch is pipelined (mail_ingest.c: the next message's
# customer facts are asked for, and its intake call sent, while the server
# stores the current one), yet every message is routed on the facts a
# one-by-one intake would have seen: a sender's second mail in the same batch
# knows the first (customer.new, customer.open-tickets); a reply that
# reopens someone's closed ticket counts for that customer's next mail in the
# same batch; independent senders side by side are routed on their own facts.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup pipebox "batch_size = 100"
t_migrate
box=$BOX conf=$CONF rules="$T_DIR/rules.conf"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules|" "$conf"
cat >"$rules" <<'RULES'
rule "Newcomers"
    when customer.new
    then tag newcomer
end

rule "Customers with an open ticket"
    when customer.open-tickets >= 1
    then route L2, tag repeat
end
RULES

ticket_of() { # MESSAGE-ID: "tier tags" of the ticket its message is on
    t_psql "SELECT t.tier || ' ' || array_to_string(t.tags, ',') FROM messages m JOIN tickets t ON t.id = m.ticket_id
            WHERE m.message_id = '$1'"
}

# ---- 1. A first batch: one ticket for dana, then closed -------------------------------------
mkdir -p "$T_DIR/mails"
t_make_mail "$T_DIR/mails/d1.eml" "dana@pipe.test" "$box" "My first question" "Message-ID: <d1@pipe.test>"
t_maildir_put "$box" "$T_DIR/mails/d1.eml"
log="$T_DIR/helpgated-1.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "dana's first mail is stored" t_wait_sql "SELECT count(*) FROM messages" 1 30
t_is "as a newcomer in L1" "$(ticket_of d1@pipe.test)" "L1 newcomer"
dana_ticket=$(t_psql "SELECT t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.message_id = 'd1@pipe.test'")
kill -TERM "$pid"
t_wait_exit "$pid" 30
t_is "helpgated stops cleanly" "$T_EXIT_STATUS" 0
ctl ticket status "$dana_ticket" closed >/dev/null 2>&1
t_is "dana's ticket is closed: she has no open ticket" \
    "$(t_psql "SELECT count(*) FROM tickets WHERE status IN ('new', 'open', 'pending')")" 0

# ---- 2. One batch of eight, stored while helpgated was down ---------------------------------
order=0
mail() { # ID FROM SUBJECT [HEADERS]: the next mail of the batch (Dovecot gives UIDs in file name order)
    order=$((order + 1))
    t_make_mail "$T_DIR/mails/b$order.eml" "$2" "$box" "$3" "Message-ID: <$1@pipe.test>${4:+
$4}"
}
mail a1 "ann@pipe.test" "Printer jammed"                 # new sender
mail a2 "Ann@PIPE.test" "Printer jammed again"           # same sender (other case), right behind: knows a1
mail b1 "bob@pipe.test" "Login fails"                    # another new sender
mail c1 "cat@pipe.test" "Re: Printer jammed" "In-Reply-To: <a1@pipe.test>"  # joins ann's ticket
mail c2 "cat@pipe.test" "A question of my own"           # cat is known now (c1), no ticket of hers
mail e1 "eve@pipe.test" "Re: My first question" "In-Reply-To: <d1@pipe.test>" # reopens dana's ticket
mail d2 "DANA@pipe.test" "Another question"              # dana again: one open ticket now
mail f1 "fay@pipe.test" "Hello"                          # independent of d2
t_maildir_put "$box" "$T_DIR"/mails/b{1..8}.eml

log="$T_DIR/helpgated-2.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "the eight are stored" t_wait_sql "SELECT count(*) FROM messages" 9 60
t_ok "in one transaction" t_wait_log "$log" "event=imap_batch_stored .*messages=8 .*transaction=batch" 30
t_is "in the order delivered" "$(t_psql "SELECT string_agg(split_part(message_id, '@', 1), ' ' ORDER BY id) FROM messages")" \
    "d1 a1 a2 b1 c1 c2 e1 d2 f1"
t_is "a1: a newcomer in L1" "$(ticket_of a1@pipe.test)" "L1 newcomer"
t_is "a2: ann is known and has a1's ticket open (routed on facts after a1)" "$(ticket_of a2@pipe.test)" "L2 repeat"
t_is "b1: a newcomer in L1" "$(ticket_of b1@pipe.test)" "L1 newcomer"
t_is "c1: a reply on ann's first ticket" "$(t_psql "SELECT count(*) FROM messages m1 JOIN messages m2
    ON m1.ticket_id = m2.ticket_id WHERE m1.message_id = 'a1@pipe.test' AND m2.message_id = 'c1@pipe.test'")" 1
t_is "c2: cat is known from her reply, and has no open ticket of her own" "$(ticket_of c2@pipe.test)" "L1 "
t_is "e1: a reply that reopens dana's ticket" \
    "$(t_psql "SELECT status FROM tickets WHERE number = $dana_ticket")" "open"
t_is "d2: dana's reopened ticket counts (routed on facts after e1)" "$(ticket_of d2@pipe.test)" "L2 repeat"
t_is "f1: a newcomer in L1" "$(ticket_of f1@pipe.test)" "L1 newcomer"
t_is "every message is logged once" "$(grep -c 'event=message_stored ' "$log")" 8
t_is "every new ticket has its routing audited" \
    "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'ticket.route'")" \
    "$(t_psql "SELECT count(*) FROM tickets")"

kill -TERM "$pid"
t_wait_exit "$pid" 30
t_is "helpgated stops cleanly" "$T_EXIT_STATUS" 0
t_done
