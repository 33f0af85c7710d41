#!/usr/bin/env bash
# imap-client.sh — daemon/imap.c (the poller's IMAP client) against real Dovecot.
#
# The harness's Dovecot (plain IMAP, MOVE, UIDPLUS) gets a fresh mailbox with messages saved
# byte for byte by doveadm; a private Dovecot of this test adds what the shared one has
# not: STARTTLS and IMAPS with a certificate from a test CA made here, and a capability
# list without MOVE (to drive the COPY fallback). The checks themselves are TAP lines
# printed by tests/integration/imap-client-test (see imap-client-test.c), which gets
# everything it needs in HGT_* variables.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

prog="$top_builddir/tests/integration/imap-client-test"
[ -x "$prog" ] || t_bail "$prog is not built (make check builds it)"
command -v openssl >/dev/null || t_bail "openssl is missing (./dev.sh installs it)"

# ---- the harness's Dovecot: a fresh mailbox with three messages ---------------------------
hg_dovecot_start >"$T_DIR/services.log" 2>&1 ||
    t_bail "Dovecot did not start: $(tail -n 5 "$T_DIR/services.log")"
user=imap-client@example.test
pass="imapc-$RANDOM$RANDOM"
hg_mail_user_add "$user" "$pass" >>"$T_DIR/services.log" 2>&1 || t_bail "cannot add $user"
doveadm_shared="doveadm -c $HG_VAR/dovecot/dovecot.conf"
rm -rf "$(hg_maildir "$user")"

msgs="$T_DIR/msgs"
mkdir -p "$msgs"
crlf() { sed 's/$/\r/'; }
crlf >"$msgs/1.eml" <<'EOF'
From: Customer <customer@example.test>
To: support@example.test
Subject: printer on fire
Message-ID: <1@imap-client.test>
Date: Mon, 03 Mar 2025 10:00:00 +0000

Hello, my printer is on fire.
EOF
crlf >"$msgs/2.eml" <<'EOF'
From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.test>
To: support@example.test
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
Message-ID: <2@imap-client.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln — 8-bit body, "quotes", {braces} and a backslash \ here.
EOF
{
    crlf <<'EOF'
From: Big Sender <big@example.test>
To: support@example.test
Subject: a large attachment
Message-ID: <3@imap-client.test>

EOF
    for i in $(seq 1 4000); do
        printf 'line %05d of a large message, padding padding padding padding\r\n' "$i"
    done
} >"$msgs/3.eml"
crlf >"$msgs/idle.eml" <<'EOF'
From: Late <late@example.test>
To: support@example.test
Subject: arrives during IDLE

boo
EOF
for i in 1 2 3; do
    $doveadm_shared save -u "$user" <"$msgs/$i.eml" || t_bail "doveadm save of message $i failed"
done
uidvalidity=$($doveadm_shared -f flow mailbox status -u "$user" uidvalidity INBOX | sed 's/.*uidvalidity=//')
[ -n "$uidvalidity" ] || t_bail "cannot read the UIDVALIDITY of $user's INBOX"

# ---- a private Dovecot with TLS (test CA) and without MOVE --------------------------------
tls="$T_DIR/tls"
mkdir -p "$tls"
(
    cd "$tls" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=helpgate imap-client test CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
            -keyout server.key -out server.csr &&
        printf '%s\n' subjectAltName=DNS:localhost extendedKeyUsage=serverAuth \
            basicConstraints=CA:FALSE >ext.cnf &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out server.pem
) >"$tls/openssl.log" 2>&1 ||
    t_bail "openssl could not make the test certificates: $(tail -n 3 "$tls/openssl.log")"

pd="$T_DIR/dovecot"
# Unix socket paths must stay short: the private base_dir lives under /tmp.
base=$(mktemp -d /tmp/hg-imapc.XXXXXX) || t_bail "mktemp failed"
chmod 0755 "$base"
imap_cleanup() {
    t_cleanup
    rm -rf "$base"
}
trap imap_cleanup EXIT
mkdir -p "$pd/state" "$pd/mail"
chown dovecot:dovecot "$pd/mail"
tls_user=tls@example.test
printf '%s:{PLAIN}%s::::::\n' "$tls_user" "$pass" >"$pd/users"
chown root:dovecot "$pd/users"
chmod 0640 "$pd/users"
# The ports are picked free, but on a busy machine a client's ephemeral port may take one before
# Dovecot binds it: then it is started again on other ports (three tries).
write_private_conf() {
    starttls_port=$(hg_free_port)
    tls_port=$(hg_free_port)
    while [ "$tls_port" = "$starttls_port" ]; do tls_port=$(hg_free_port); done
cat >"$pd/dovecot.conf" <<EOF
# written by $T_NAME
base_dir = $base/run
state_dir = $pd/state
instance_name = hg-imapc-$$
protocols = imap
listen = 127.0.0.1, 127.0.0.2
ssl = yes
ssl_cert = <$tls/server.pem
ssl_key = <$tls/server.key
disable_plaintext_auth = no
# Dovecot checks an XOAUTH2 token against the passdb like a password: enough to drive
# AUTHENTICATE XOAUTH2 with the user's password as the token.
auth_mechanisms = plain login xoauth2
log_path = $pd/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$pd/mail/%d/%n
mail_fsync = never
# No MOVE: hg_imap_move() must fall back to UID COPY + STORE \\Deleted + UID EXPUNGE.
imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS
# "* OK Still here" every second: IDLE must not take it for news.
imap_idle_notify_interval = 1 secs
# Reached as 127.0.0.2: neither MOVE nor UIDPLUS (COPY + \Deleted, EXPUNGE only if allowed).
local 127.0.0.2 {
  protocol imap {
    imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE
  }
}
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $pd/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$pd/mail/%Ld/%Ln
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1, 127.0.0.2
    port = $starttls_port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $tls_port
    ssl = yes
  }
}
service anvil {
  chroot =
}
EOF
}
listening=0
for _ in 1 2 3; do
    write_private_conf
    doveconf -c "$pd/dovecot.conf" -n >/dev/null 2>"$pd/doveconf.err" ||
        t_bail "the private dovecot.conf is invalid: $(head -n 3 "$pd/doveconf.err")"
    t_spawn "$pd/dovecot.out" dovecot -F -c "$pd/dovecot.conf"
    if hg_wait_port "$tls_port" 30 2>/dev/null && hg_wait_port "$starttls_port" 30 2>/dev/null; then
        listening=1
        break
    fi
    kill "$T_LAST_PID" 2>/dev/null
    wait "$T_LAST_PID" 2>/dev/null
done
[ "$listening" -eq 1 ] ||
    t_bail "the private Dovecot did not listen: $(tail -n 5 "$pd/dovecot.log" "$pd/dovecot.out" 2>/dev/null)"
doveadm_private="doveadm -c $pd/dovecot.conf"
for i in 1 2 1 2; do
    $doveadm_private save -u "$tls_user" <"$msgs/$i.eml" ||
        t_bail "doveadm save on the private Dovecot failed"
done

# ---- the checks -----------------------------------------------------------------------------
export HGT_HOST=127.0.0.1 HGT_PORT=$HG_IMAP_PORT HGT_USER=$user HGT_PASS=$pass
export HGT_MSGS=$msgs HGT_UIDVALIDITY=$uidvalidity
export HGT_DOVEADM=$doveadm_shared
export HGT_IDLE_APPEND="$doveadm_shared save -u $user <$msgs/idle.eml"
export HGT_TLS_USER=$tls_user HGT_TLS_PORT=$tls_port HGT_STARTTLS_PORT=$starttls_port HGT_CA=$tls/ca.pem
export HGT_DOVEADM_PRIVATE=$doveadm_private
supp="$top_srcdir/tests/lsan.supp"
[ -f "$supp" ] && export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp"
"$prog"
