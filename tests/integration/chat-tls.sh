#!/usr/bin/env bash
# chat-tls.sh — the chat listener with a certificate from the config: wss://
# and https:// on one port, verified against the harness's test CA; a
# client that does not trust the CA is refused, one that does is welcomed;
# plain ws:// on that port does not work.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

command -v node >/dev/null || t_bail "node is missing (./dev.sh deps installs nodejs)"
[ -d "$top_srcdir/tests/chat/node_modules/ws" ] || t_bail "tests/chat/node_modules is missing (./dev.sh runs npm ci)"
t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
port=$((HG_HTTP_PORT + 3))
conf="$T_DIR/helpgate.conf"
t_write_config "$conf"
cp "$HG_VAR/tls/server.key" "$T_DIR/chat.key" && chmod 600 "$T_DIR/chat.key"
cat >>"$conf" <<CONF

[chat]
enabled = yes
listen = 127.0.0.1:$port
tls_cert = $HG_VAR/tls/server.pem
tls_key = $T_DIR/chat.key
allowed_origins = https://localhost:$port
widget_dir = $top_srcdir/contrib/widget
CONF
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the chat listener is up with TLS" t_wait_log "$log" "event=chat_listening .*tls=yes"

t_ok "https:// serves the demo page, verified with the test CA" \
    bash -c "curl -fsS --cacert '$HG_VAR/tls/ca.pem' https://localhost:$port/ | grep -q helpgate-chat.js"
t_fails "a client without the CA refuses the certificate" curl -fsS "https://localhost:$port/"

client() { # CA-FILE|none URL: hello, then prints the welcome's protocol or the error
    node --input-type=module -e '
      import WebSocket from "ws";
      const [ca, url] = process.argv.slice(1);
      const opts = { origin: "https://localhost:" + new URL(url).port };
      if (ca !== "none") opts.ca = (await import("node:fs")).readFileSync(ca);
      const ws = new WebSocket(url, "helpgate.chat.v1", opts);
      ws.on("open", () => ws.send(JSON.stringify({ type: "hello", name: "Tess" })));
      ws.on("message", (d) => { console.log(JSON.parse(d).protocol); process.exit(0); });
      ws.on("error", (e) => { console.log("error: " + e.message); process.exit(0); });
      setTimeout(() => { console.log("timeout"); process.exit(0); }, 10000);
    ' "$@"
}
export NODE_PATH="$top_srcdir/tests/chat/node_modules"
cd "$top_srcdir/tests/chat" || t_bail "no tests/chat"
t_is "wss:// with the test CA: welcomed" "$(client "$HG_VAR/tls/ca.pem" "wss://localhost:$port/chat")" "helpgate.chat.v1"
t_match "wss:// without it: the certificate is refused" "$(client none "wss://localhost:$port/chat")" "error: .*(certificate|self.signed|issuer)"
t_match "plain ws:// on the TLS port does not work" "$(client none "ws://localhost:$port/chat")" "^(error|timeout)"
cd - >/dev/null || true

kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_is "with status 0" "$T_EXIT_STATUS" 0
t_done
