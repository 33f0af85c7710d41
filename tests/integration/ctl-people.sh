#!/usr/bin/env bash
# ctl-people.sh — agents and customers are managed with helpgatectl, never
# with SQL: add, change, deactivate, aliases, customer tiers and custom-code
# notes; clear errors; every change leaves an audit row naming the operator.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_ctl_setup
conf=$CONF

t_is "add an agent" "$(ctl agent add ann@support.test --team L2 --name 'Ann Agent' --lead 2>&1)" \
    "agent ann@support.test added to team L2"
out=$(ctl agent add ANN@support.test --team L1 2>&1)
t_is "the same address twice is refused (exit 2)" "$?" 2
t_match "with what to do instead" "$out" "exists; change it with helpgatectl agent set"
out=$(ctl agent add bob@support.test 2>&1)
t_match "a team is required" "$out" "--team L1\|L2\|L3 is required"
t_is "add an alias" "$(ctl agent alias add ann@support.test ann.private@home.test 2>&1)" \
    "ann.private@home.test is now an address of agent ann@support.test"
out=$(ctl agent alias add nobody@support.test x@home.test 2>&1)
t_is "an alias for an unknown agent is refused" "$?" 2
t_match "saying so" "$out" "no agent nobody@support.test"
out=$(ctl agent add ann.private@home.test --team L1 2>&1)
t_match "an alias cannot become another agent" "$out" "already an alias"
t_is "change the team" "$(ctl agent set ann@support.test --team L3 2>&1)" "agent ann@support.test changed"
t_is "the database has it" "$(t_psql "SELECT team || ' ' || is_lead || ' ' || name FROM agents")" "L3 true Ann Agent"
list=$(ctl agent list)
t_match "agent list shows team, state and aliases" "$list" \
    "^ann@support.test +L3 +active +Ann Agent +lead +ann.private@home.test$"
t_is "deactivate" "$(ctl agent deactivate ann@support.test 2>&1)" "agent ann@support.test changed"
t_is "inactive now" "$(t_psql "SELECT active FROM agents")" "f"
t_is "remove the alias" "$(ctl agent alias remove ann.private@home.test 2>&1)" "alias ann.private@home.test removed"

t_is "set a customer's tier and custom code" \
    "$(ctl customer set vip@client.test --tier vip --custom-code yes --notes 'SAP connector' --company Client 2>&1)" \
    "customer vip@client.test saved"
t_is "in the database" "$(t_psql "SELECT tier || ' ' || custom_code || ' ' || custom_code_notes FROM customers")" \
    "vip true SAP connector"
ctl customer set VIP@client.test --tier premium >/dev/null 2>&1
t_is "a later change keeps the other fields (case-insensitive address)" \
    "$(t_psql "SELECT count(*) || ' ' || tier || ' ' || custom_code FROM customers GROUP BY tier, custom_code")" \
    "1 premium true"
t_match "customer show" "$(ctl customer show vip@client.test)" "^tier +premium$"
out=$(ctl customer set vip@client.test --tier gold 2>&1)
t_is "a bad tier is refused" "$?" 2


# The short forms: customer add|set-tier|custom-code|notes, agent team|disable|enable.
t_is "customer add" "$(ctl customer add new@client.test --tier premium --name 'Nina New' 2>&1)" \
    "customer new@client.test added"
out=$(ctl customer add NEW@client.test 2>&1)
t_is "customer add refuses a known address (exit 2)" "$?" 2
t_match "with what to do instead" "$out" "exists; change it with helpgatectl customer set"
t_is "customer set-tier" "$(ctl customer set-tier new@client.test vip 2>&1)" "customer new@client.test saved"
out=$(ctl customer set-tier new@client.test gold 2>&1)
t_is "set-tier refuses an unknown tier (exit 2)" "$?" 2
t_is "customer custom-code" "$(ctl customer custom-code new@client.test yes --notes 'Odoo module' 2>&1)" \
    "customer new@client.test saved"
t_is "customer notes from standard input" \
    "$(printf 'Odoo 17 module\nsee wiki\n' | ctl customer notes new@client.test - 2>&1)" "customer new@client.test saved"
t_is "all in the database" \
    "$(t_psql "SELECT name || '|' || tier || '|' || custom_code || '|' || custom_code_notes FROM customers
               WHERE email = 'new@client.test'")" "Nina New|vip|true|Odoo 17 module
see wiki"
out=$(ctl customer custom-code new@client.test maybe 2>&1)
t_is "custom-code takes yes or no (exit 2)" "$?" 2
t_is "agent team" "$(ctl agent team ann@support.test L1 2>&1)" "agent ann@support.test changed"
t_is "the team changed" "$(t_psql "SELECT team FROM agents WHERE email = 'ann@support.test'")" "L1"
out=$(ctl agent team ann@support.test L9 2>&1)
t_is "agent team refuses an unknown team (exit 2)" "$?" 2
t_is "agent enable" "$(ctl agent enable ann@support.test 2>&1)" "agent ann@support.test changed"
t_is "active again" "$(t_psql "SELECT active FROM agents WHERE email = 'ann@support.test'")" "t"
t_is "agent disable" "$(ctl agent disable ann@support.test 2>&1)" "agent ann@support.test changed"
t_is "inactive again" "$(t_psql "SELECT active FROM agents WHERE email = 'ann@support.test'")" "f"
out=$(ctl agent disable nobody@support.test 2>&1)
t_is "disabling an unknown agent is refused (exit 2)" "$?" 2

actor="ctl:${SUDO_USER:-$(id -un)}"
t_is "every change is audited with the operator" \
    "$(t_psql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE actor = '$actor'")" \
    "agent.add,agent.alias.add,agent.set,agent.deactivate,agent.alias.remove,customer.set,customer.set,customer.add,customer.set,customer.set,customer.set,agent.set,agent.set,agent.deactivate"
t_done
