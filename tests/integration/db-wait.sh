#!/usr/bin/env bash
# db-wait.sh — helpgated started while PostgreSQL is down keeps retrying with
# backoff, logs why at every attempt, and becomes ready once the database
# comes up. PostgreSQL restarting under a running helpgated is survived too.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

port=$(t_free_port)
pgdir="$T_DIR/pg"
hg_pg_start_private "$pgdir" "$port" >/dev/null 2>&1 || t_bail "cannot start a private PostgreSQL"
conninfo=$(hg_pg_private_conninfo "$pgdir" "$port" postgres)
conf="$T_DIR/helpgate.conf"
t_write_config "$conf" "$conninfo"
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate on the private cluster failed"
hg_pg_stop_private "$pgdir" >/dev/null 2>&1

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "with PostgreSQL down, helpgated logs a failed attempt" t_wait_log "$log" "event=db_connect_failed .*attempt=1 "
t_ok "and keeps retrying" t_wait_log "$log" "event=db_connect_failed .*attempt=3 "
t_match "each attempt says why and when it retries" "$(grep -m1 db_connect_failed "$log")" \
    "retry_in_ms=[0-9]+ error=\".+\""
t_fails "it is not ready yet" grep -q "event=ready" "$log"
t_ok "it is still running" kill -0 "$pid"

hg_pg_start_private "$pgdir" "$port" >/dev/null 2>&1 || t_bail "cannot restart the private PostgreSQL"
t_ok "once PostgreSQL is up, helpgated becomes ready" t_wait_log "$log" "event=ready" 60
t_match "after logging the connection" "$(cat "$log")" "event=db_connected"

# PostgreSQL restarts under a running helpgated: it notices and reconnects.
hg_pg_stop_private "$pgdir" >/dev/null 2>&1
t_ok "a lost connection is logged" t_wait_log "$log" "event=db_connection_lost" 30
hg_pg_start_private "$pgdir" "$port" >/dev/null 2>&1
reconnected() { [ "$(grep -c 'event=db_connected' "$log")" -ge 2 ]; }
t_wait_reconnect() {
    for _ in $(seq 1 600); do reconnected && return 0; sleep 0.1; done
    return 1
}
t_ok "and helpgated reconnects" t_wait_reconnect
t_is "it connected twice in all" "$(grep -c 'event=db_connected' "$log")" 2

kill -TERM "$pid"
t_ok "SIGTERM still stops it" t_wait_exit "$pid" 20
t_is "cleanly" "${T_EXIT_STATUS:-none}" 0
hg_pg_stop_private "$pgdir" >/dev/null 2>&1
t_done
