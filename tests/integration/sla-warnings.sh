#!/usr/bin/env bash
# sla-warnings.sh — a warning before each SLA target while it is at stake
# (sql/015): the first response is warned about at its warning time when it
# is still missing, the resolution at its own warning time; a ticket answered
# before its first warning time gets no early "resolution" warning; each
# warning once; a ticket routed before sql/015 keeps its single warning.
# The passes run at injected times (helpgatectl sla run --now) on tickets
# written with the route helpgated computes (rules-routing.sh checks that
# helpgated's routes carry both warning times).
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_ctl_setup
conf=$CONF
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
run_at() { ctl sla run --now "$(at "$1")" 2>/dev/null; }
warnings_at() { run_at "$1" | sed -n 's/^sla: \([0-9]*\) warnings.*/\1 warnings/p'; }
# warned NUMBER: the targets warned about, in order.
warned() {
    t_psql "SELECT coalesce(string_agg(l.details->>'target', ' ' ORDER BY l.id), '-') FROM audit_log l
            JOIN tickets t ON t.id = l.ticket_id WHERE l.action = 'sla.warning' AND t.number = $1"
}

now=$(date +%s)
ticket() { # NAME ROUTE-JSON: a ticket as intake writes a routed one
    t_psql "WITH c AS (INSERT INTO customers (email) VALUES ('$1@warn.example') RETURNING id)
            INSERT INTO tickets (subject, channel, customer_id, tier, route_actions)
            SELECT '$1', 'email', c.id, 'L1', '$2'::jsonb FROM c RETURNING number"
}
# A policy of "first response within 1h, resolution within 8h, warn 15m before", around the clock.
route() { # CREATED-AT
    printf '{"first_response_due": %d, "resolution_due": %d, "warn_at": %d, "resolution_warn_at": %d}' \
        $(($1 + 3600)) $(($1 + 28800)) $(($1 + 2700)) $(($1 + 27900))
}
slow=$(ticket slow "$(route "$now")")
quick=$(ticket quick "$(route "$now")")
t_psql "UPDATE tickets SET first_response_at = to_timestamp($((now + 600))) WHERE number = $quick" >/dev/null
old=$(ticket old "{\"first_response_due\": $((now + 3600)), \"resolution_due\": $((now + 28800)), \"warn_at\": $((now + 2700))}")
t_is "the route's resolution warning time is kept" \
    "$(t_psql "SELECT extract(epoch FROM sla_resolution_warn_at)::bigint FROM tickets WHERE number = $slow")" \
    "$((now + 27900))"

t_is "before the first warning time: nothing" "$(run_at $((now + 2000)))" "sla: 0 warnings, 0 breaches, 0 escalations"
t_is "at the first warning time: the unanswered ticket and the one routed before sql/015" \
    "$(run_at $((now + 2760)))" "sla: 2 warnings, 0 breaches, 0 escalations"
t_is "the unanswered one: about its first response" "$(warned "$slow")" "first_response"
t_is "the answered one: no early resolution warning" "$(warned "$quick")" "-"
t_is "the old one: its single warning, as before" "$(warned "$old")" "first_response"
t_is "both new ones are armed for their resolution warning" \
    "$(t_psql "SELECT count(*) FROM tickets WHERE sla_warned_at IS NULL
               AND extract(epoch FROM sla_warn_at)::bigint = $((now + 27900))")" 2
t_is "the same pass again: nothing twice" "$(run_at $((now + 2800)))" "sla: 0 warnings, 0 breaches, 0 escalations"
t_psql "UPDATE tickets SET first_response_at = to_timestamp($((now + 3000))) WHERE number IN ($slow, $old)" >/dev/null
t_is "hours later, before the resolution's warning time: nothing" \
    "$(run_at $((now + 20000)))" "sla: 0 warnings, 0 breaches, 0 escalations"
t_is "at the resolution's warning time: both new ones" \
    "$(run_at $((now + 27960)))" "sla: 2 warnings, 0 breaches, 0 escalations"
t_is "the slow one was warned about each target in turn" "$(warned "$slow")" "first_response resolution"
t_is "the quick one about its resolution only" "$(warned "$quick")" "resolution"
t_is "the old one not again" "$(warned "$old")" "first_response"
t_is "and never again" "$(run_at $((now + 28000)))" "sla: 0 warnings, 0 breaches, 0 escalations"

# Both warning times already past at the first pass: the first response now, the resolution at the next.
late=$(ticket late "$(route $((now - 30000)))")
t_is "both past: one warning in this pass (its breaches are sla.sh's)" "$(warnings_at $((now + 10)))" "1 warnings"
t_is "the next pass: the other" "$(warnings_at $((now + 40)))" "1 warnings"
t_is "first response, then resolution" "$(warned "$late")" "first_response resolution"

t_done
