#!/usr/bin/env bash
# metrics.sh — /metrics on the listener's port: after a mail and a chat
# message, the counters and the database's figures say so; the text parses
# as Prometheus exposition format (tests/harness/promcheck.py, and promtool
# when installed); addresses outside metrics_allow get 403; paths that are
# not files are 404, never the metrics.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

command -v node >/dev/null || t_bail "node is missing (./dev.sh deps installs nodejs)"
t_intake_setup support
box=$BOX conf=$CONF
port=$((HG_HTTP_PORT + 4))
cat >>"$conf" <<CONF

[chat]
enabled = yes
listen = 127.0.0.1:$port
allowed_origins = http://127.0.0.1:$port
widget_dir = $top_srcdir/contrib/widget
CONF
t_migrate
log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the poller selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"

t_make_mail "$T_DIR/m1.eml" "Mia Customer <mia@customer.example>" "$box" "Printer" "Message-ID: <m1@test>"
hg_send_mail "mia@customer.example" "$box" "$T_DIR/m1.eml" >/dev/null 2>&1 || t_bail "Postfix refused m1"
t_ok "the mail is stored" t_wait_sql "SELECT count(*) FROM messages" 1 60
(cd "$top_srcdir/tests/chat" && node --input-type=module -e '
  import WebSocket from "ws";
  const ws = new WebSocket(process.argv[1], "helpgate.chat.v1");
  ws.on("open", () => ws.send(JSON.stringify({ type: "hello", name: "Max" })));
  ws.on("message", (d) => {
    const f = JSON.parse(d);
    if (f.type === "welcome") ws.send(JSON.stringify({ type: "message", id: "m1", text: "Hi there" }));
    if (f.type === "ack") process.exit(0);
  });
  setTimeout(() => process.exit(1), 10000);
' "ws://127.0.0.1:$port/chat") >/dev/null 2>&1
t_is "a chat message is stored" "$(t_psql "SELECT count(*) FROM messages WHERE channel = 'chat'")" 1

metrics() { curl -fsS "http://127.0.0.1:$port/metrics"; }
t_ok "the database figures are sampled" bash -c "for i in \$(seq 1 200); do
    curl -fsS http://127.0.0.1:$port/metrics | grep -q '^helpgate_tickets{tier=\"L1\",status=\"new\"} 2\$' && exit 0
    sleep 0.1; done; exit 1"
text=$(metrics)
has_line() { printf '%s\n' "$text" | grep -qxF -- "$1"; }
has_prefix() { printf '%s\n' "$text" | grep -q "^$1"; }
t_match "served as Prometheus text" "$(curl -sS -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/metrics")" \
    "^text/plain; version=0.0.4"
t_ok "messages in by channel: email" has_line 'helpgate_messages_in_total{channel="email"} 1'
t_ok "messages in by channel: chat" has_line 'helpgate_messages_in_total{channel="chat"} 1'
t_ok "intake outcomes" has_line 'helpgate_intake_total{outcome="new_ticket"} 2'
t_ok "intake latency histogram, email" has_line 'helpgate_intake_seconds_count{channel="email"} 1'
t_ok "tickets by tier and status" has_line 'helpgate_tickets{tier="L1",status="new"} 2'
t_ok "outbox depth" has_prefix "helpgate_outbox_queued [0-9]"
t_ok "outbox age" has_prefix "helpgate_outbox_oldest_seconds [0-9]"
t_ok "database size" has_prefix "helpgate_database_bytes [0-9]"
t_ok "chat connections" has_line "helpgate_chat_connections 0"
check=$(printf '%s\n' "$text" | python3 "$top_srcdir/tests/harness/promcheck.py" 2>&1)
t_is "it parses as Prometheus exposition format" "$?" 0
t_match "with every family" "$check" "helpgate_intake_seconds histogram"
if command -v promtool >/dev/null; then
    t_ok "promtool check metrics accepts it" bash -c "printf '%s\n' \"\$1\" | promtool check metrics" _ "$text"
fi
t_is "a path that is no file is 404" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/no-such-file")" 404

sed -i "s|^widget_dir = .*|&\nmetrics_allow = 10.0.0.0/8|" "$conf"
kill -HUP "$pid"
t_ok "SIGHUP restarts the listener with the new settings" t_wait_log "$log" "event=chat_stopping .*reason=chat_changed"
t_ok "it is back" t_wait_log "$log" "event=chat_listening.*" 10
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
t_is "127.0.0.1 outside metrics_allow gets 403" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")" 403
t_ok "and the refusal is logged" t_wait_log "$log" "event=metrics_refused .*ip=127.0.0.1"
kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_done
