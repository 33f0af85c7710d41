#!/usr/bin/env bash
# daemon-lifecycle.sh — helpgated becomes ready on a migrated database,
# refuses a schema that is behind, reloads on SIGHUP (keeping the old config
# when the new one is bad), stops cleanly on SIGTERM, and detaches only once
# it is ready.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_db_config
conf=$CONF

# Schema behind: refused with a hint, exit 1.
log="$T_DIR/behind.log"
status=0
timeout 30 "$HELPGATED" --foreground --config "$conf" >"$log" 2>&1 || status=$?
t_is "helpgated on an unmigrated database exits 1" "$status" 1
t_match "and logs that the schema is behind" "$(cat "$log")" "event=schema_behind"
t_match "with the command that fixes it" "$(cat "$log")" "helpgatectl migrate"

"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"

# Ready, reload, stop.
log="$T_DIR/run.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated logs event=ready" t_wait_log "$log" "event=ready"
ready_line=$(grep 'event=ready' "$log" | head -1)
t_match "log lines are key=value with level and event first" "$ready_line" \
    "^level=info event=ready instance=daemon-lifecycle( [a-z_]+=[^ ]+)+$"

cp "$conf" "$conf.good"
printf '[database]\nconninfo = "x"\nbogus_key = 1\n' >"$conf"
kill -HUP "$pid"
t_ok "a bad file on SIGHUP is rejected" t_wait_log "$log" "event=config_reload_rejected"
t_ok "and every error is logged with file, line and key" t_wait_log "$log" "event=config_error .*line=3 key=bogus_key"
t_ok "helpgated keeps running on the old config" kill -0 "$pid"

cp "$conf.good" "$conf"
sed -i 's/^instance = .*/instance = renamed/' "$conf"
kill -HUP "$pid"
t_ok "a good file on SIGHUP is applied" t_wait_log "$log" "event=config_reloaded instance=renamed"

kill -TERM "$pid"
t_ok "SIGTERM stops helpgated" t_wait_exit "$pid" 20
t_is "with exit status 0" "${T_EXIT_STATUS:-none}" 0
t_match "after logging stopping and stopped" "$(cat "$log")" "event=stopping.*signal=SIGTERM"
t_match "the last line says stopped" "$(tail -1 "$log")" "event=stopped"

# Without --foreground it detaches; the starter exits 0 only when the daemon is ready.
log="$T_DIR/detach.log"
status=0
timeout 30 "$HELPGATED" --config "$conf" >"$log" 2>&1 || status=$?
t_is "detached start returns 0 once ready" "$status" 0
t_match "the daemon was ready before the starter returned" "$(cat "$log")" "event=ready"
dpid=$(grep -o 'event=starting.* pid=[0-9]*' "$log" | grep -o '[0-9]*$')
t_ok "the detached daemon runs" kill -0 "${dpid:-0}"
kill -TERM "${dpid:-0}" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "${dpid:-0}" 2>/dev/null || break; sleep 0.1; done
t_fails "and stops on SIGTERM" kill -0 "${dpid:-0}"

# Usage errors exit 2.
status=0
"$HELPGATED" --no-such-option >/dev/null 2>&1 || status=$?
t_is "an unknown option exits 2" "$status" 2
t_done
