#!/usr/bin/env bash
# migrate.sh — `helpgatectl migrate` builds the whole schema once; a second run
# changes nothing; the keys that make intake idempotent and the append-only
# audit log hold.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

t_db_config
conf=$CONF

out=$("$HELPGATECTL" --config "$conf" migrate 2>&1)
t_is "first migrate exits 0" "$?" 0
t_match "first migrate names what it applied" "$out" "applied 001_initial"
t_is "schema_migrations records one row per migration" "$(t_psql 'SELECT count(*) FROM schema_migrations')" \
    "$(ls "$top_srcdir"/sql/[0-9]*.sql | wc -l)"

before=$(t_psql "SELECT string_agg(version || ':' || applied_at, ',') FROM schema_migrations")
tables_before=$(t_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
out=$("$HELPGATECTL" --config "$conf" migrate 2>&1)
t_is "second migrate exits 0" "$?" 0
t_match "second migrate says there is nothing to do" "$out" "nothing to do"
t_is "second migrate leaves schema_migrations unchanged" \
    "$(t_psql "SELECT string_agg(version || ':' || applied_at, ',') FROM schema_migrations")" "$before"
t_is "second migrate creates no table" "$(t_psql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" \
    "$tables_before"

out=$("$HELPGATECTL" --config "$conf" migrate --status 2>&1)
t_match "migrate --status reports up to date" "$out" "up to date"

for table in customers agents agent_aliases tickets messages attachments attachment_blobs raw_messages \
    mailbox_state intake_seen chat_sessions outbox audit_log schema_migrations; do
    t_is "table $table exists" "$(t_psql "SELECT to_regclass('public.$table') IS NOT NULL")" "t"
done

# Idempotent intake: the unique keys refuse a second copy.
t_psql "INSERT INTO customers (email) VALUES ('Ann@Example.test')" >/dev/null
t_fails "customer email is unique case-insensitively" t_psql "INSERT INTO customers (email) VALUES ('ann@example.TEST')"
t_psql "INSERT INTO tickets (channel, subject) VALUES ('email', 'x')" >/dev/null
tid=$(t_psql "SELECT id FROM tickets LIMIT 1")
t_psql "INSERT INTO messages (ticket_id, direction, channel, message_id) VALUES ($tid, 'in', 'email', 'a@b')" >/dev/null
t_fails "an inbound Message-ID is stored once" \
    t_psql "INSERT INTO messages (ticket_id, direction, channel, message_id) VALUES ($tid, 'in', 'email', 'a@b')"
t_psql "INSERT INTO intake_seen (mailbox, uidvalidity, uid) VALUES ('support', 7, 1)" >/dev/null
t_fails "an IMAP position (mailbox, uidvalidity, uid) is stored once" \
    t_psql "INSERT INTO intake_seen (mailbox, uidvalidity, uid) VALUES ('support', 7, 1)"
t_is "ticket numbers start at 1000" "$(t_psql "SELECT number FROM tickets WHERE id = $tid")" "1000"

# The audit log is append-only.
t_psql "INSERT INTO audit_log (actor, action) VALUES ('test', 'test.insert')" >/dev/null
t_fails "audit_log refuses UPDATE" t_psql "UPDATE audit_log SET actor = 'x'"
t_fails "audit_log refuses DELETE" t_psql "DELETE FROM audit_log"
t_is "the audit row is still there" "$(t_psql "SELECT actor FROM audit_log")" "test"

# Two migrate runs at once on a fresh database: both succeed, the schema is built once.
T_DB="${T_DB}_race"
hg_pg_createdb "$T_DB" >/dev/null
t_write_config "$T_DIR/race.conf" "$(hg_pg_conninfo "$T_DB")"
"$HELPGATECTL" --config "$T_DIR/race.conf" migrate >"$T_DIR/race1.out" 2>&1 &
p1=$!
"$HELPGATECTL" --config "$T_DIR/race.conf" migrate >"$T_DIR/race2.out" 2>&1 &
p2=$!
s1=0 s2=0
wait $p1 || s1=$?
wait $p2 || s2=$?
t_is "two concurrent migrate runs both succeed" "$s1$s2" "00"
t_is "and apply each migration once" "$(cat "$T_DIR"/race*.out | grep -c '^applied 001_initial')" "1"

# A database that cannot be reached is a clear error, exit 1.
t_write_config "$T_DIR/down.conf" "host=127.0.0.1 port=$(t_free_port) dbname=nothing"
out=$("$HELPGATECTL" --config "$T_DIR/down.conf" migrate 2>&1)
t_is "migrate against a stopped server exits 1" "$?" 1
t_match "and says it cannot connect" "$out" "cannot connect to PostgreSQL"
t_done
