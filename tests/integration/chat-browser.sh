#!/usr/bin/env bash
# chat-browser.sh — the chat end to end in a real browser (tests/chat/browser.mjs:
# Playwright with Debian's headless Chromium): the visitor writes from the
# widget on the demo page that helpgated serves; the ticket appears in
# PostgreSQL and the acknowledgement in the page; the L1 agent is notified by
# mail, answers from a mail client (quoted history, signature), helpgated
# takes the answer from IMAP and pushes it to the page, where it appears.
# Since the visitor is online, the answer is not mailed as well (the
# acknowledgement is, since the visitor gave an address). The visitor leaves;
# a second answer goes by mail, and on coming back the widget resumes and
# shows it. Saves a
# screenshot (chat-browser.png in the test's scratch directory).
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

command -v node >/dev/null || t_bail "node is missing (./dev.sh deps installs nodejs)"
[ -d "$top_srcdir/tests/chat/node_modules/playwright-core" ] || t_bail "tests/chat/node_modules is missing (./dev.sh runs npm ci)"
[ -x /usr/bin/chromium ] || t_bail "/usr/bin/chromium is missing (./dev.sh deps installs chromium)"
t_intake_setup support
box=$BOX conf=$CONF
visitor=$(t_mail_user "visitor-$T_NAME") agent=$(t_mail_user "agent-$T_NAME")
port=$((HG_HTTP_PORT + 2))
rules="$T_DIR/rules.conf"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
sed -i "s|^from = .*|from = $box|" "$conf"
cat >>"$conf" <<CONF

[chat]
enabled = yes
listen = 127.0.0.1:$port
allowed_origins = http://127.0.0.1:$port
widget_dir = $top_srcdir/contrib/widget
CONF
cat >"$rules" <<'RULES'
rule "Chats"
    when channel is chat
    then acknowledge chat, notify team L1
end
RULES
t_migrate
"$HELPGATECTL" --config "$conf" agent add "$agent" --team L1 --name "Lars One" >/dev/null || t_bail "agent add"

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the chat listener is up" t_wait_log "$log" "event=chat_listening"
t_ok "the poller selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"

out="$T_DIR/browser.out"
HG_PAGE_URL="http://127.0.0.1:$port/" HG_VISITOR_EMAIL="$visitor" HG_SCREENSHOT="$T_DIR/chat-browser.png" \
    HG_SECOND_ANSWER_SENT="$T_DIR/answer2.sent" \
    timeout 240 node "$top_srcdir/tests/chat/browser.mjs" >"$out" 2>&1 &
node_pid=$!

ready() { grep -q "^# ready-for-agent" "$out"; }
for _ in $(seq 1 600); do ready && break; kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
number=$(sed -n 's/^# ready-for-agent //p' "$out")
t_match "the browser's chat opened ticket $number" "$number" "^[0-9]+$"
t_is "the ticket is a chat from the visitor" \
    "$(t_psql "SELECT t.channel || ' ' || c.email FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.number = ${number:-0}")" \
    "chat $visitor"
t_ok "the agent is notified by mail" hg_wait_mail "$agent" 1 60
note=$(find "$(hg_maildir "$agent")"/new "$(hg_maildir "$agent")"/cur -type f | head -1)
signed=$(sed -n 's/^Reply-To: *//p' "$note" | tr -d '\r')
note_id=$(sed -n 's/^Message-ID: *//p' "$note" | tr -d '\r')
t_match "with a signed Reply-To" "$signed" "^${box%@*}\+[a-z0-9.-]+@example.test$"
cat >"$T_DIR/answer.eml" <<MAIL
From: Lars One <$agent>
To: $signed
Subject: Re: [L1] [#$number] Chat
Message-ID: <answer-$T_NAME@agent.test>
In-Reply-To: $note_id
Date: Mon, 23 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please install a new PDF reader and open the invoice again.

On 23/11/2026 09:58, Support wrote:
> New chat ticket [#$number] for L1.

-- 
Lars One, Support L1
MAIL
hg_send_mail "$agent" "$signed" "$T_DIR/answer.eml" >/dev/null 2>&1 || t_bail "Postfix refused the answer"

# The visitor leaves the page: the session goes offline, and the next answer goes by mail too.
offline() { grep -q "^# offline" "$out"; }
for _ in $(seq 1 1200); do offline && break; kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
t_ok "the visitor left the page" offline
t_ok "the session is offline" t_wait_sql "SELECT count(*) FROM chat_sessions WHERE online_since IS NOT NULL" 0 30
sed -e "s/answer-$T_NAME@/answer2-$T_NAME@/" \
    -e "s/^Please install a new PDF reader.*/Here is a second answer: the invoice is attached to your account./" \
    "$T_DIR/answer.eml" >"$T_DIR/answer2.eml"
hg_send_mail "$agent" "$signed" "$T_DIR/answer2.eml" >/dev/null 2>&1 || t_bail "Postfix refused the second answer"
t_ok "the second answer is stored" \
    t_wait_sql "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = ${number:-0} AND m.author_agent_id IS NOT NULL" 2 60
t_ok "the offline visitor gets it by mail (ack + this answer)" hg_wait_mail "$visitor" 2 60
t_ok "the mail holds the answer" \
    bash -c "grep -rlq 'second answer' '$(hg_maildir "$visitor")'"
touch "$T_DIR/answer2.sent"
wait "$node_pid"
while IFS= read -r line; do
    case $line in
    "ok - "*) t_result 0 "${line#ok - }" ;;
    "not ok - "*) t_result 1 "${line#not ok - }" ;;
    "#"*) printf '%s\n' "$line" ;;
    esac
done <"$out"
t_ok "the screenshot is a PNG" bash -c "file '$T_DIR/chat-browser.png' | grep -q 'PNG image'"
t_is "both answers are stored as the agent's" \
    "$(t_psql "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = ${number:-0} AND m.direction = 'out' AND m.author_agent_id IS NOT NULL")" 2
t_is "one relay in the outbox: the answer given while the visitor was away" \
    "$(t_psql "SELECT count(*) FROM outbox WHERE kind = 'relay'")" 1
t_is "the visitor's mailbox: the acknowledgement and that answer, not the first (given online)" \
    "$(grep -rl 'new PDF reader' "$(hg_maildir "$visitor")" | wc -l) $(hg_mail_count "$visitor")" "0 2"
kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_done
