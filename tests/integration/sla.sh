#!/usr/bin/env bash
# sla.sh — the SLA scheduler of helpgated: a ticket past its first-response
# due time is escalated to the next tier (audited) and the next team told by
# mail; a ticket inside its warning time is warned about once; a policy that
# notifies a lead tells the lead, not the team; an answered ticket is not
# breached; `helpgatectl sla run --now` runs a pass at an injected time;
# every event happens once, also after a restart.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_make_db
hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
l1=$(t_mail_user "l1-$T_NAME") l2=$(t_mail_user "l2-$T_NAME") lead=$(t_mail_user "lead-$T_NAME")
conf="$T_DIR/helpgate.conf"
t_write_config "$conf"
t_add_smtp "$conf" "smtp://127.0.0.1:$HG_SMTP_PORT"
sed -i "s|^\[helpgate\]\$|[helpgate]\ntemplates_dir = $top_srcdir/contrib/templates|" "$conf"
"$HELPGATECTL" --config "$conf" migrate >/dev/null 2>&1 || t_bail "migrate failed"
for a in "$l1 L1" "$l2 L2"; do
    set -- $a
    "$HELPGATECTL" --config "$conf" agent add "$1" --team "$2" >/dev/null || t_bail "agent add $1"
done
"$HELPGATECTL" --config "$conf" agent add "$lead" --team L2 --lead >/dev/null || t_bail "agent add lead"

now=$(date +%s)
ticket() { # SUBJECT TIER ROUTE-JSON [EXTRA-SET]: a ticket of customer sla@customer.example
    t_psql "WITH c AS (INSERT INTO customers (email, name) VALUES ('sla-$1@customer.example', 'Sam $1')
                       RETURNING id)
            INSERT INTO tickets (subject, channel, customer_id, tier, route_actions)
            SELECT '$1', 'email', c.id, '$2', '$3'::jsonb FROM c RETURNING number"
}
late=$(ticket late L1 "{\"first_response_due\": $((now - 60)), \"resolution_due\": $((now + 86400))}")
soon=$(ticket soon L1 "{\"first_response_due\": $((now + 3600)), \"warn_at\": $((now - 30))}")
vip=$(ticket vip L2 "{\"resolution_due\": $((now - 10)), \"sla_on_breach\": \"notify_lead\"}")
done_=$(ticket answered L1 "{\"first_response_due\": $((now - 60))}")
t_psql "UPDATE tickets SET first_response_at = now() WHERE number = $done_" >/dev/null
t_is "the trigger set the due times from the route" \
    "$(t_psql "SELECT count(*) FROM tickets WHERE first_response_due IS NOT NULL OR resolution_due IS NOT NULL")" 4

log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "the scheduler reports its pass" t_wait_log "$log" "event=sla_pass .*warnings=1 breaches=2 escalations=1"
t_is "the late L1 ticket went to L2" "$(t_psql "SELECT tier || ' ' || escalations FROM tickets WHERE number = $late")" "L2 1"
t_is "its breach is recorded" \
    "$(t_psql "SELECT first_response_breached_at IS NOT NULL FROM tickets WHERE number = $late")" t
t_is "and audited: breach, then escalation from L1 to L2" \
    "$(t_psql "SELECT string_agg(a.action || ':' || coalesce(a.details->>'to', a.details->>'target'), ' ' ORDER BY a.id) FROM audit_log a JOIN tickets t ON t.id = a.ticket_id WHERE t.number = $late")" \
    "sla.breach:first_response ticket.escalate:L2"
t_ok "the L2 team is told by mail" hg_wait_mail "$l2" 1 30
t_ok "the mail is the SLA breach notice" \
    bash -c "grep -rl 'SLA breach' '$(hg_maildir "$l2")' | xargs grep -l '#$late' >/dev/null"
t_is "the ticket in its warning time is warned about" \
    "$(t_psql "SELECT (sla_warned_at IS NOT NULL) || ' ' || tier || ' ' || (first_response_breached_at IS NULL) FROM tickets WHERE number = $soon")" \
    "true L1 true"
t_ok "the L1 team gets the warning" hg_wait_mail "$l1" 1 30
t_ok "saying so" bash -c "grep -rl 'SLA warning' '$(hg_maildir "$l1")' | xargs grep -l '#$soon' >/dev/null"
t_is "the notify-lead policy keeps the tier" "$(t_psql "SELECT tier || ' ' || escalations FROM tickets WHERE number = $vip")" "L2 0"
t_ok "and tells the L2 lead" \
    t_wait_sql "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.number = $vip AND '$lead' = ANY (o.recipients)" 1 30
t_is "not the whole team (the other L2 agent got only the late ticket's notice)" \
    "$(t_psql "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.number = $vip AND '$l2' = ANY (o.recipients)")" 0
t_is "the answered ticket is not breached" \
    "$(t_psql "SELECT (first_response_breached_at IS NULL) || ' ' || tier FROM tickets WHERE number = $done_")" "true L1"

# The clock is injectable: helpgatectl sla run --now. A ticket due in an hour is breached at
# now + 2 hours, and only then (as is the one warned about above, due in an hour as well).
future=$(ticket future L1 "{\"first_response_due\": $((now + 3600))}")
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
out=$("$HELPGATECTL" --config "$conf" sla run --now "$(at $((now + 1800)))" 2>/dev/null)
t_is "sla run --now (in half an hour): nothing is due yet" "$out" "sla: 0 warnings, 0 breaches, 0 escalations"
out=$("$HELPGATECTL" --config "$conf" sla run --now "$(at $((now + 7200)))" 2>/dev/null)
t_is "sla run --now (in two hours): it and the warned one (due in an hour too) are breached" "$out" \
    "sla: 0 warnings, 2 breaches, 2 escalations"
t_is "it is on L2 now" "$(t_psql "SELECT tier FROM tickets WHERE number = $future")" L2
t_is "the breach is recorded at the injected time" \
    "$(t_psql "SELECT extract(epoch FROM first_response_breached_at)::bigint FROM tickets WHERE number = $future")" \
    "$((now + 7200))"
t_fails "a bad --now is refused" "$HELPGATECTL" --config "$conf" sla run --now yesterday

before=$(t_psql "SELECT (SELECT count(*) FROM audit_log) || '/' || (SELECT count(*) FROM outbox)")
kill -TERM "$pid"
t_ok "helpgated stops" t_wait_exit "$pid" 30
t_spawn "$log.2" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated starts again" t_wait_log "$log.2" "event=ready"
sleep 3
t_is "a second pass does nothing again (audit rows / outbox rows)" \
    "$(t_psql "SELECT (SELECT count(*) FROM audit_log) || '/' || (SELECT count(*) FROM outbox)")" "$before"
kill -TERM "$pid"
t_ok "helpgated stops cleanly" t_wait_exit "$pid" 30
t_done
