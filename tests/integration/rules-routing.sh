#!/usr/bin/env bash
# rules-routing.sh — the routing rules at work: mail of a VIP, of a customer
# with custom code and of an outage lands in L2, L2 (notes carried) and L3,
# each ticket records its rule (file:line) and actions, and the audit log has
# a ticket.route row; a bad rules file is refused at start and rejected on
# SIGHUP (the old rules keep running); a good one is taken on SIGHUP.
# Also `helpgatectl rules check` and `rules test`.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_intake_setup support
t_migrate
box=$BOX conf=$CONF rules="$T_DIR/rules.conf"
sed -i "s|^\[helpgate\]\$|[helpgate]\nrules_file = $rules|" "$conf"
printf 'support\nL2-team\n' >"$T_DIR/keywords.txt"
cat >"$rules" <<'RULES'
list vip_domains = "bigcorp.test"
list outage_words = "outage", "is down", "not working"

rule "Outages go to L3"
    when subject contains @outage_words or reply contains @outage_words
    then route L3, priority urgent, tag outage, notify team L3, stop
end

rule "VIP customers"
    when customer.tier is vip or from.domain in @vip_domains
    then route at least L2
         acknowledge vip
         sla vip
end

rule "Custom code"
    when customer.custom-code
    then route at least L2, queue custom-code, notify team with notes
end

sla vip
    first response within 1h
    resolution within 8h
    warn 15m before
    on breach notify lead
end
RULES

# --- helpgatectl rules check / test -------------------------------------------------
out=$("$HELPGATECTL" --config "$conf" rules check 2>&1)
t_is "rules check uses the configured file and says OK" "$out" "$rules: rules OK: 3 rules"
printf 'rule "typo"\n    when subjekt is x\n    then stop\nend\nrule "tier"\n    then route L4\nend\n' >"$T_DIR/bad.rules"
out=$("$HELPGATECTL" rules check "$T_DIR/bad.rules" 2>&1)
t_is "rules check exits 2 on errors" "$?" 2
t_match "naming file:line:col" "$out" "bad.rules:2:10: unknown field \"subjekt\""
t_match "with the nearest field as a hint" "$out" "hint: did you mean \"subject\"\?"
t_match "and every error (the tier too)" "$out" "bad.rules:6:16: expected L1, L2 or L3 after \"route\", found \"L4\""
t_make_mail "$T_DIR/outage.eml" "joe@example.test" "$box" "Portal is down"
out=$("$HELPGATECTL" --config "$conf" rules test "$T_DIR/outage.eml" --at 2026-11-23T10:00:00Z)
t_match "rules test shows the matching condition with its value" "$out" \
    'yes subject contains @outage_words   \["Portal is down"\]'
t_match "and the result" "$out" 'tier          L3   \(rule "Outages go to L3", .*rules.conf:4\)'
out=$("$HELPGATECTL" rules test "$rules" "$T_DIR/outage.eml" --customer-tier vip --custom-code --notes "n" 2>&1)
t_match "the outage rule stops the evaluation" "$out" '\(stop: no later rule is evaluated\)'
t_match "so a VIP with custom code still goes to L3" "$out" 'tier          L3'

# --- helpgated refuses a bad rules file at start --------------------------------------
cp "$conf" "$T_DIR/bad.conf"
sed -i "s|^rules_file = .*|rules_file = $T_DIR/bad.rules|" "$T_DIR/bad.conf"
out=$("$HELPGATED" --foreground --config "$T_DIR/bad.conf" 2>&1)
t_is "helpgated exits 2 with a bad rules file" "$?" 2
t_match "and logs each error with line and column" "$out" \
    'event=rules_error .*line=2 col=10 message="unknown field \\"subjekt\\""'
out=$("$HELPGATED" --check-config --config "$T_DIR/bad.conf" 2>&1)
t_is "helpgated --check-config checks the rules too" "$?" 2

# --- routing in the intake transaction -------------------------------------------------
t_psql "INSERT INTO customers (email, name, tier) VALUES ('boss@small.test', 'Boss', 'vip')" >/dev/null
t_psql "INSERT INTO customers (email, custom_code, custom_code_notes)
        VALUES ('dev@client.test', true, 'Runs our SAP connector, patched in March')" >/dev/null
log="$T_DIR/helpgated.log"
t_spawn "$log" "$HELPGATED" --foreground --config "$conf"
pid=$T_LAST_PID
t_ok "helpgated is ready" t_wait_log "$log" "event=ready"
t_ok "it logs the rules it loaded" t_wait_log "$log" "event=rules_loaded .*rules=3"
t_ok "the poller selects INBOX" t_wait_log "$log" "event=imap_selected .*mailbox=support"

send() { # FROM SUBJECT MESSAGE-ID [BODY]
    t_make_mail "$T_DIR/$3.eml" "$1" "$box" "$2" "Message-ID: <$3@test>" "${4:-Hello support, I need help.}"
    hg_send_mail "$1" "$box" "$T_DIR/$3.eml" >/dev/null 2>&1 || t_bail "Postfix refused $3"
}
send boss@small.test "Question about my contract" vip
send dev@client.test "Plugin question" custom
send joe@example.test "Help" outage "Our portal is down since 9:00."
send amy@example.test "How do I export?" plain
t_ok "four tickets are stored" t_wait_sql "SELECT count(*) FROM tickets" 4

ticket() { # MESSAGE-ID COLUMNS
    t_psql "SELECT $2 FROM tickets t JOIN messages m ON m.ticket_id = t.id WHERE m.message_id = '$1@test'"
}
t_is "the VIP's ticket is in L2 by the VIP rule" "$(ticket vip "tier || ' ' || matched_rule || ' ' || sla_policy")" \
    "L2 VIP customers vip"
t_is "the rule's place is recorded as file:line" "$(ticket vip matched_rule_at)" "$rules:9"
t_is "its SLA policy's due and warning times, counted from its creation (around the clock)" \
    "$(ticket vip "abs(extract(epoch FROM first_response_due - t.created_at) - 3600) < 5 AND
                   abs(extract(epoch FROM resolution_due - t.created_at) - 28800) < 5 AND
                   sla_warn_at = first_response_due - interval '15 minutes' AND
                   sla_resolution_warn_at = resolution_due - interval '15 minutes'")" t
t_is "and what a breach does" "$(ticket vip "route_actions->>'sla_on_breach'")" "notify_lead"
t_is "a ticket whose tier has no policy has no due times" \
    "$(ticket plain "coalesce(first_response_due::text, 'none')")" "none"
t_is "its acknowledgement template is recorded" "$(ticket vip "route_actions->>'acknowledge'")" "vip"
t_is "custom code goes to L2, queue custom-code" "$(ticket custom "tier || ' ' || queue")" "L2 custom-code"
t_is "the team is notified with the custom-code notes" \
    "$(ticket custom "route_actions->'notify'->0->>'team' || ' ' || (route_actions->'notify'->0->>'notes')")" "L2 true"
t_is "and the notes travel with the routing" "$(ticket custom "route_actions->>'notes'")" \
    "Runs our SAP connector, patched in March"
t_is "the outage (in the reply text) goes to L3, urgent, tagged" \
    "$(ticket outage "tier || ' ' || priority || ' ' || array_to_string(tags, ',')")" "L3 urgent outage"
t_is "a plain question takes the default: L1" "$(ticket plain "tier || ' ' || matched_rule || ' ' || coalesce(matched_rule_at, '-')")" \
    "L1 default -"
t_is "every ticket has a ticket.route audit row by the rules" \
    "$(t_psql "SELECT count(DISTINCT ticket_id) FROM audit_log WHERE action = 'ticket.route' AND actor = 'rules'")" 4
t_is "the audit row holds the decision" \
    "$(t_psql "SELECT a.details->>'tier' FROM audit_log a JOIN messages m ON m.ticket_id = a.ticket_id
               WHERE a.action = 'ticket.route' AND m.message_id = 'outage@test'")" "L3"

# A reply is not routed again.
number=$(ticket plain number)
send amy@example.test "Re: [#$number] How do I export? Also the site is down" plain-reply "Still waiting."
t_ok "the reply is stored" t_wait_sql "SELECT count(*) FROM messages" 5
t_is "on the same ticket, which keeps its tier" "$(ticket plain-reply "tier || ' ' || t.number")" "L1 $number"
t_is "and gets no second routing" \
    "$(t_psql "SELECT count(*) FROM audit_log WHERE action = 'ticket.route' AND ticket_id = (SELECT id FROM tickets WHERE number = $number)")" 1

# --- SIGHUP: a bad file is rejected, a good one is taken --------------------------------
cp "$rules" "$T_DIR/rules.good"
cp "$T_DIR/bad.rules" "$rules"
kill -HUP "$pid"
t_ok "a bad rules file on SIGHUP is rejected" t_wait_log "$log" "event=rules_reload_rejected"
send eve@bigcorp.test "Question" vip-domain
t_ok "mail still flows" t_wait_sql "SELECT count(*) FROM tickets" 5
t_is "routed by the old rules (VIP domain -> L2)" "$(ticket vip-domain tier)" "L2"
{ cat "$T_DIR/rules.good"; printf '\nrule "Exports"\n    when subject contains export\n    then route L3\nend\n'; } >"$rules"
kill -HUP "$pid"
t_ok "a good file on SIGHUP is loaded" t_wait_log "$log" "event=rules_loaded .*rules=4"
send kim@example.test "Export fails" export
t_ok "the next mail is stored" t_wait_sql "SELECT count(*) FROM tickets" 6
t_is "and routed by the new rule" "$(ticket export "tier || ' ' || matched_rule")" "L3 Exports"
t_ok "helpgated is still running" kill -0 "$pid"

t_done
