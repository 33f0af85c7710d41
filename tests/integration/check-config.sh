#!/usr/bin/env bash
# check-config.sh — `helpgatectl check-config` accepts a good file, and for a
# bad one names file:line, the key, and what to write instead; exit 2; no
# secret is ever printed.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

good="$T_DIR/good.conf"
mkdir -p "$T_DIR/secrets"
printf 'imap-secret-value\n' >"$T_DIR/secrets/imap"
chmod 600 "$T_DIR/secrets/imap"
cat >"$good" <<CONF
[helpgate]
instance = test

[database]
conninfo = "host=/nonexistent dbname=helpgate"

[mailbox support]
host = 127.0.0.1
port = 10143
tls = none
user = support@example.test
password_file = $T_DIR/secrets/imap
poll_interval = 30s
CONF

out=$("$HELPGATECTL" check-config "$good" 2>&1)
t_is "a valid file exits 0" "$?" 0
t_match "and prints configuration OK" "$out" "configuration OK"
out=$("$HELPGATED" --check-config --config "$good" 2>&1)
t_is "helpgated --check-config agrees (exit 0)" "$?" 0

bad="$T_DIR/misspelt.conf"
sed 's/^poll_interval/pol_interval/' "$good" >"$bad"
out=$("$HELPGATECTL" check-config "$bad" 2>&1)
t_is "a misspelt key exits 2" "$?" 2
line=$(grep -n '^pol_interval' "$bad" | cut -d: -f1)
t_match "the error names file:line" "$out" "$bad:$line:"
t_match "the error names the key" "$out" "pol_interval"
t_match "the error suggests the right key" "$out" "did you mean.*poll_interval"
out=$("$HELPGATED" --check-config --config "$bad" 2>&1)
t_is "helpgated --check-config refuses it too (exit 2)" "$?" 2

# Several errors are all reported.
many="$T_DIR/many.conf"
cat "$good" >"$many"
cat >>"$many" <<'CONF'
[chat]
max_connections = lots
enabled = perhaps
CONF
out=$("$HELPGATECTL" check-config "$many" 2>&1)
t_is "a file with several errors exits 2" "$?" 2
t_match "the first error is reported" "$out" "max_connections"
t_match "the second error is reported" "$out" "enabled"

# Secrets: a missing password file is an error naming the file; a password
# written into conninfo is refused without being echoed.
missing="$T_DIR/missing-secret.conf"
sed "s|$T_DIR/secrets/imap|$T_DIR/secrets/nope|" "$good" >"$missing"
out=$("$HELPGATECTL" check-config "$missing" 2>&1)
t_is "a missing password file exits 2" "$?" 2
t_match "and names the file" "$out" "secrets/nope"

leaky="$T_DIR/leaky.conf"
sed 's|^conninfo = .*|conninfo = "host=db dbname=helpgate password=TopSecret123"|' "$good" >"$leaky"
out=$("$HELPGATECTL" check-config "$leaky" 2>&1)
t_is "a password inside conninfo exits 2" "$?" 2
t_match "and says to use password_file" "$out" "password_file"
t_no_match "and never prints the password" "$out" "TopSecret123"
out=$("$HELPGATECTL" check-config "$good" 2>&1; "$HELPGATECTL" check-config "$bad" 2>&1)
t_no_match "no output ever contains a secret file's contents" "$out" "imap-secret-value"

out=$("$HELPGATECTL" check-config "$T_DIR/does-not-exist.conf" 2>&1)
t_is "a missing config file exits 2" "$?" 2
t_match "and says it cannot open it" "$out" "cannot open"

# The man page documents every key of the settings table.
keys=$("$HELPGATECTL" check-config --list-keys | cut -f2 | sort -u)
t_ok "--list-keys lists settings" test -n "$keys"
undocumented=""
for key in $keys; do
    grep -qF -- "$key" "$top_srcdir/daemon/helpgate.conf.5" || undocumented="$undocumented $key"
done
t_is "helpgate.conf(5) documents every key" "$undocumented" ""
t_done
