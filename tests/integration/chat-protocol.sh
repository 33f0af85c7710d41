#!/usr/bin/env bash
# chat-protocol.sh — the chat listener with a real websocket client
# (tests/chat/protocol.mjs, Node's `ws`): origin and subprotocol checks,
# hello/welcome, acks and resends, every error frame, oversize frames, rate
# limits, a live push, resume with history, an abusive client closed with
# 1008 while another goes on, the per-IP connection cap; then what PostgreSQL holds: one routed chat
# ticket, each message once, the acknowledgement as a system message, the L1
# team notified by mail, audit rows. Also the widget's files over HTTP.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

command -v node >/dev/null || t_bail "node is missing (./dev.sh deps installs nodejs)"
[ -d "$top_srcdir/tests/chat/node_modules/ws" ] || t_bail "tests/chat/node_modules is missing (./dev.sh installs it with npm ci)"
t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
team=$(t_mail_user "l1team-$T_NAME")
port=$((HG_HTTP_PORT + 1))
conf="$T_DIR/helpgate.conf"
rules="$T_DIR/rules.conf"
t_write_config "$conf"
t_add_smtp "$conf" "smtp://127.0.0.1:$HG_SMTP_PORT" "notify_l1 = $team"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
cat >>"$conf" <<CONF

[chat]
enabled = yes
listen = 127.0.0.1:$port
allowed_origins = http://127.0.0.1:$port
widget_dir = $top_srcdir/contrib/widget
max_frame = 4k
max_message = 2k
rate = 2
burst = 5
per_ip_connections = 7
idle_timeout = 10s
CONF
cat >"$rules" <<'RULES'
rule "Chats get the chat acknowledgement"
    when channel is chat
    then acknowledge chat, notify team L1, tag chat
end
RULES
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the chat listener is up" t_wait_log "$log" "event=chat_listening .*listen=127.0.0.1:$port"

# The widget over HTTP on the same port.
page=$(curl -fsS "http://127.0.0.1:$port/" 2>&1)
t_match "GET / serves the demo page" "$page" "helpgate-chat.js"
t_ok "GET /helpgate-chat.js serves the widget" \
    bash -c "curl -fsS http://127.0.0.1:$port/helpgate-chat.js | grep -q HelpgateChat"
t_fails "no files outside widget_dir" curl -fsS "http://127.0.0.1:$port/../../etc/passwd"

# The protocol, from a real client.
export HG_CHAT_URL="ws://127.0.0.1:$port/chat" HG_CHAT_ORIGIN="http://127.0.0.1:$port" HG_MAX_FRAME=4096
bindir=$(_hg_pg_bindir)
HG_PSQL_JSON=$(printf '["%s","-X","-Atq","-h","%s","-p","%s","-U","helpgate","-d","%s","-c"]' \
    "$bindir/psql" "$HG_VAR/run" "$HG_PG_PORT" "$T_DB")
export HG_PSQL_JSON
while IFS= read -r line; do
    case $line in
    "ok - "*) t_result 0 "${line#ok - }" ;;
    "not ok - "*) t_result 1 "${line#not ok - }" ;;
    "#"*) printf '%s\n' "$line" ;;
    esac
done < <(timeout 120 node "$top_srcdir/tests/chat/protocol.mjs" 2>&1)

# What PostgreSQL holds.
t_is "one chat ticket for Ann (the bystander has another)" \
    "$(t_psql "SELECT count(*) FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.channel = 'chat' AND c.email = 'ann.chat@customer.example'")" 1
t_is "routed by the rule" \
    "$(t_psql "SELECT t.tier || ' ' || array_to_string(t.tags, ',') || ' ' || (t.route_actions->'matched'->0->>'rule') FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE c.email = 'ann.chat@customer.example'")" \
    "L1 chat Chats get the chat acknowledgement"
t_is "each client id stored once" \
    "$(t_psql "SELECT count(*) - count(DISTINCT (chat_session_id, chat_client_id)) FROM messages WHERE channel = 'chat' AND direction = 'in'")" 0
t_is "c1 and c3 stored once each" \
    "$(t_psql "SELECT count(*) FROM messages WHERE chat_client_id IN ('c1', 'c3')")" 2
t_is "the acknowledgement is a system message on the ticket" \
    "$(t_psql "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN customers c ON c.id = t.customer_id WHERE c.email = 'ann.chat@customer.example' AND m.direction = 'out' AND m.author_agent_id IS NULL AND m.body_text LIKE '%ticket number%'")" 1
t_ok "the L1 team is notified by mail" hg_wait_mail "$team" 2 60
t_ok "the ticket's audit trail has create and route" \
    t_wait_sql "SELECT string_agg(a.action, ' ' ORDER BY a.id) FROM audit_log a JOIN tickets t ON t.id = a.ticket_id JOIN customers c ON c.id = t.customer_id WHERE c.email = 'ann.chat@customer.example' AND action IN ('ticket.create', 'ticket.route')" "ticket.create ticket.route"
t_ok "the refused origin is logged" grep -q "event=chat_origin_refused .*origin=https://evil.example" "$log"
t_ok "the abusive client is logged" grep -q "event=chat_abuse" "$log"
t_is "sessions that left are offline" \
    "$(t_psql "SELECT count(*) FROM chat_sessions WHERE online_since IS NOT NULL")" 0

kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_is "with status 0" "$T_EXIT_STATUS" 0
t_fails "no errors in the log" grep -q "level=error" "$log"
t_done
