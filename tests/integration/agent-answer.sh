#!/usr/bin/env bash
# agent-answer.sh — agents answer from their own mail client: a reply to the
# notification's signed Reply-To (HTML alternative, quoted history,
# signature, as real clients write it) reaches the customer with only the
# answer, from the support address, threaded; #note stays internal and
# tells the team; #tier L3 moves the ticket and notifies L3; a forged or
# misaddressed answer is never relayed, and a stranger writing to a signed
# address gets one notice instead.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup support
box=$BOX conf=$CONF
cust=$(t_mail_user "cust-$T_NAME") l2=$(t_mail_user "l2-$T_NAME") l3=$(t_mail_user "l3-$T_NAME")
stranger=$(t_mail_user "x-$T_NAME")
rules="$T_DIR/rules.conf"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
sed -i "s|^from = .*|from = $box|" "$conf"
printf 'rule "All to L2"\n    then route L2, notify team L2\nend\n' >"$rules"
t_migrate
"$HELPGATECTL" --config "$conf" agent add "$l2" --team L2 --name "Lena Two" >/dev/null || t_bail "agent add"
"$HELPGATECTL" --config "$conf" agent add "$l3" --team L3 --name "Leo Three" >/dev/null || t_bail "agent add"

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the poller selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"

newest() { # ADDR: the file of the last mail delivered to ADDR
    find "$(hg_maildir "$1")"/new "$(hg_maildir "$1")"/cur -type f -printf '%T@ %p\n' 2>/dev/null |
        sort -n | tail -1 | cut -d' ' -f2-
}

t_make_mail "$T_DIR/c1.eml" "\"Cora Customer\" <$cust>" "$box" "Login fails" "Message-ID: <c1@test>" \
    "I cannot log in since this morning."
hg_send_mail "$cust" "$box" "$T_DIR/c1.eml" >/dev/null 2>&1 || t_bail "Postfix refused c1"
t_ok "the customer gets the acknowledgement" hg_wait_mail "$cust" 1 30
t_ok "the L2 agent gets the notification" hg_wait_mail "$l2" 1 30
number=$(t_psql "SELECT number FROM tickets")
signed=$(sed -n 's/^Reply-To: *//p' "$(newest "$l2")" | tr -d '\r')
notification_id=$(sed -n 's/^Message-ID: *//p' "$(newest "$l2")" | tr -d '\r')
t_match "the notification's Reply-To is a signed address" "$signed" "^${box%@*}\+[a-z0-9.-]+@example.test$"

# 1. The agent answers as Thunderbird would: text and HTML, quoted history, signature.
answer() { # FILE FROM TO BODY-TEXT
    local id
    id=$(basename "$1" .eml)
    cat >"$1" <<MAIL
From: $2
To: $3
Subject: Re: [L2] [#$number] Login fails
Message-ID: <$id@agent.test>
In-Reply-To: $notification_id
Date: Mon, 23 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

$4

On 23/11/2026 09:58, Support wrote:
> New normal ticket [#$number] for L2.
> The customer wrote: I cannot log in since this morning.

-- 
Lena Two, Support L2
--alt
Content-Type: text/html; charset=utf-8

<html><body><p>$4</p><blockquote>New normal ticket</blockquote></body></html>
--alt--
MAIL
}
answer "$T_DIR/a1.eml" "$l2" "$signed" "Please clear your browser cache and try again."
hg_send_mail "$l2" "$signed" "$T_DIR/a1.eml" >/dev/null 2>&1 || t_bail "Postfix refused a1"
t_ok "the customer receives the answer" hg_wait_mail "$cust" 2 30
relay=$(cat "$(newest "$cust")")
t_match "with the agent's words" "$relay" "Please clear your browser cache and try again."
t_no_match "without the quoted history" "$relay" "I cannot log in since this morning"
t_no_match "without the agent's signature" "$relay" "Lena Two, Support L2"
t_match "from the support address" "$relay" "^From: $box"
t_no_match "the signed address never reaches the customer" "$relay" "${box%@*}\+"
t_match "threaded on the customer's message" "$relay" "^In-Reply-To: <c1@test>"
t_match "with the ticket tag" "$relay" "^Subject: Re: \[#$number\] Login fails"
t_no_match "a person's answer is not marked automatic" "$relay" "^Auto-Submitted"
t_is "stored as outgoing, by the agent" \
    "$(t_psql "SELECT m.direction || ' ' || a.email FROM messages m JOIN agents a ON a.id = m.author_agent_id")" \
    "out $l2"
t_is "the first response time is set" "$(t_psql "SELECT first_response_at IS NOT NULL FROM tickets")" t

# 2. #note: internal, not relayed; the team is told.
answer "$T_DIR/a2.eml" "$l2" "$signed" "#note
Customer uses an old SSO plugin, check with L3."
hg_send_mail "$l2" "$signed" "$T_DIR/a2.eml" >/dev/null 2>&1
t_ok "the note is stored" t_wait_sql "SELECT count(*) FROM messages WHERE direction = 'note'" 1
t_match "with the command removed" "$(t_psql "SELECT body_text FROM messages WHERE direction = 'note'")" \
    "^Customer uses an old SSO plugin"
t_ok "the team is told of the note" hg_wait_mail "$l2" 2 30
sleep 2
t_is "the customer gets nothing" "$(hg_mail_count "$cust")" 2

# 3. #tier L3: the ticket moves, L3 is notified, the answer is relayed.
answer "$T_DIR/a3.eml" "$l2" "$signed" "#tier L3
A colleague from our specialist team will contact you."
hg_send_mail "$l2" "$signed" "$T_DIR/a3.eml" >/dev/null 2>&1
t_ok "the ticket moves to L3" t_wait_sql "SELECT tier FROM tickets" L3
t_ok "the L3 agent is notified" hg_wait_mail "$l3" 1 30
t_ok "the answer text goes to the customer" hg_wait_mail "$cust" 3 30
t_is "the escalation is audited as the agent's" \
    "$(t_psql "SELECT actor || ' ' || (details->>'to') FROM audit_log WHERE action = 'ticket.escalate'")" "agent:$l2 L3"

# 4. Forgeries are not relayed.
forged=$(printf '%s' "$signed" | sed 's/\(.\)@/\1x@/')
answer "$T_DIR/f1.eml" "$l2" "$forged" "Forged: bad signature."
hg_send_mail "$l2" "$forged" "$T_DIR/f1.eml" >/dev/null 2>&1
answer "$T_DIR/f2.eml" "$l2" "$box" "Forged: to the plain support address."
hg_send_mail "$l2" "$box" "$T_DIR/f2.eml" >/dev/null 2>&1
t_ok "both are stored" t_wait_sql "SELECT count(*) FROM messages WHERE message_id IN ('f1@agent.test', 'f2@agent.test')" 2
sleep 2
t_is "neither reaches the customer" "$(hg_mail_count "$cust")" 3

# 5. A stranger writing to the signed address: not relayed, one notice back.
answer "$T_DIR/s1.eml" "$stranger" "$signed" "I am not an agent."
hg_send_mail "$stranger" "$signed" "$T_DIR/s1.eml" >/dev/null 2>&1
t_ok "the refusal is audited" t_wait_sql "SELECT count(*) FROM audit_log WHERE action = 'answer.refused'" 1
t_ok "the stranger gets a notice" hg_wait_mail "$stranger" 1 30
t_match "saying how to fix it" "$(cat "$(newest "$stranger")")" "helpgatectl agent alias add"
sleep 2
t_is "the customer gets nothing" "$(hg_mail_count "$cust")" 3

# 6. The customer replies to the agent's answer: same ticket, the team of its tier (now L3) is told.
relay_id=$(sed -n 's/^Message-ID: *//p' "$(newest "$cust")" | tr -d '\r')
l3_before=$(hg_mail_count "$l3")
t_make_mail "$T_DIR/c2.eml" "$cust" "$box" "Re: Login fails" \
    "Message-ID: <c2@test>"$'\n'"In-Reply-To: $relay_id" "Thanks, it works again."
hg_send_mail "$cust" "$box" "$T_DIR/c2.eml" >/dev/null 2>&1
t_ok "the customer's reply is stored" t_wait_sql "SELECT count(*) FROM messages WHERE message_id = 'c2@test'" 1
t_is "on the same ticket" "$(t_psql "SELECT count(DISTINCT ticket_id) FROM messages WHERE author_customer_id IS NOT NULL")" 1
t_ok "and the L3 team is notified" hg_wait_mail "$l3" $((l3_before + 1)) 30
t_done
