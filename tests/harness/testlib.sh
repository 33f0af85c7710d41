# testlib.sh — common set-up for integration tests (sourced after tap.sh).
#
# Gives each test: $T_DIR (a fresh scratch directory), its own database
# (t_make_db), the built binaries ($HELPGATED, $HELPGATECTL), a config writer,
# log waiting, and a cleanup trap that stops whatever the test started.
: "${top_srcdir:?run through make check (top_srcdir is not set)}"
: "${top_builddir:?run through make check (top_builddir is not set)}"
# shellcheck source=tests/harness/services.sh
. "$top_srcdir/tests/harness/services.sh"

HELPGATED="$top_builddir/daemon/helpgated"
HELPGATECTL="$top_builddir/daemon/helpgatectl"
T_NAME=$(basename "$0" .sh)
T_DIR="$top_builddir/tests/scratch/$T_NAME"
rm -rf "$T_DIR"
mkdir -p "$T_DIR"
T_PIDS=""
# The sanitizers' leak checker is on; helpgated's exits must be clean.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

t_cleanup() {
    local pid
    for pid in $T_PIDS; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $T_PIDS; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
trap t_cleanup EXIT

# t_spawn LOGFILE COMMAND...: start in the background, remember the pid in $T_LAST_PID.
t_spawn() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    T_LAST_PID=$!
    T_PIDS="$T_PIDS $T_LAST_PID"
}

# t_wait_log FILE REGEX [SECONDS]: wait until a line of FILE matches.
t_wait_log() {
    local file=$1 regex=$2 seconds=${3:-30} i
    for i in $(seq 1 $((seconds * 10))); do
        grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# timed out after ${seconds}s waiting for /$regex/ in $file; its tail:"
    tail -n 15 "$file" 2>/dev/null | sed 's/^/#   /'
    return 1
}

# t_wait_exit PID [SECONDS]: wait for a child to end; its status in $T_EXIT_STATUS.
t_wait_exit() {
    local pid=$1 seconds=${2:-30} i
    for i in $(seq 1 $((seconds * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            T_EXIT_STATUS=0
            wait "$pid" || T_EXIT_STATUS=$?
            return 0
        fi
        sleep 0.1
    done
    return 1
}

t_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# t_make_db: a fresh database for this test; sets T_DB and T_CONNINFO.
t_make_db() {
    hg_pg_start >/dev/null || t_bail "PostgreSQL did not start"
    T_DB="t_${T_NAME//-/_}"
    hg_pg_createdb "$T_DB" >/dev/null || t_bail "cannot create database $T_DB"
    T_CONNINFO=$(hg_pg_conninfo "$T_DB")
}

# t_psql SQL: run SQL in the test database, unaligned, tuples only.
t_psql() {
    hg_psql "$T_DB" -Atq -c "$1"
}

# t_write_config FILE [CONNINFO]: a minimal valid config for this test.
t_write_config() {
    local file=$1 conninfo=${2:-$T_CONNINFO}
    cat >"$file" <<CONF
# written by $T_NAME
[helpgate]
instance = $T_NAME

[database]
conninfo = "$conninfo"
connect_timeout = 2s
CONF
}

# t_wait_sql SQL WANT [SECONDS]: wait until SQL (in the test database) prints WANT.
t_wait_sql() {
    local sql=$1 want=$2 seconds=${3:-30} got="" i
    for i in $(seq 1 $((seconds * 10))); do
        got=$(t_psql "$sql" 2>/dev/null)
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    echo "# timed out after ${seconds}s: '$sql' gives '$got', want '$want'"
    return 1
}

# t_mail_user LOCALPART: a fresh IMAP user LOCALPART@example.test with an empty INBOX.
t_mail_user() {
    local addr="$1@example.test" dir
    hg_dovecot_start >/dev/null 2>&1 || t_bail "Dovecot did not start"
    hg_mail_user_add "$addr" >/dev/null || t_bail "cannot add mail user $addr"
    dir=$(hg_maildir "$addr")
    rm -rf "$dir"
    printf '%s\n' "$addr"
}

# t_maildir_put ADDR FILE...: deliver files straight into ADDR's maildir (fast, for bulk).
# The files' base names become the maildir names, so they must be unique in that mailbox.
t_maildir_put() {
    local addr=$1 dir
    shift
    dir=$(hg_maildir "$addr")
    mkdir -p "$dir/new" "$dir/cur" "$dir/tmp"
    cp -t "$dir/tmp" "$@" && find "$dir/tmp" -type f -exec mv -t "$dir/new" {} +
    chown -R dovecot:dovecot "$dir"
}

# t_write_mailbox_config FILE NAME ADDR [EXTRA-KEY-LINES]: a config with one [mailbox NAME]
# polling ADDR over plain IMAP on loopback (password in a 0600 file beside FILE).
# t_add_smtp FILE URL [EXTRA-KEY-LINES]: an [smtp] section sending through URL as
# support@example.test, and the signing key [smtp] needs (0600, beside FILE's secrets).
t_add_smtp() {
    local file=$1 url=$2 extra=${3:-}
    mkdir -p "$T_DIR/secrets"
    printf 'test-hmac-secret-%s\n' "$RANDOM$RANDOM" >"$T_DIR/secrets/hmac"
    chmod 600 "$T_DIR/secrets/hmac"
    sed -i "s|^\[helpgate\]\$|[helpgate]\nhmac_secret_file = $T_DIR/secrets/hmac|" "$file"
    cat >>"$file" <<CONF

[smtp]
url = $url
from = support@example.test
support_domain = example.test
$extra
CONF
}

t_write_mailbox_config() {
    local file=$1 name=$2 addr=$3 extra=${4:-}
    t_write_config "$file"
    t_add_smtp "$file" "smtp://127.0.0.1:$HG_SMTP_PORT"
    printf '%s\n' "$HELPGATE_MAIL_PASS" >"$T_DIR/secrets/$name"
    chmod 600 "$T_DIR/secrets/$name"
    cat >>"$file" <<CONF

[mailbox $name]
host = 127.0.0.1
port = $HG_IMAP_PORT
tls = none
user = $addr
password_file = $T_DIR/secrets/$name
poll_interval = 5s
$extra
CONF
}

# t_make_mail FILE FROM TO SUBJECT [HEADER-LINES] [BODY]: write a small RFC 5322 message.
t_make_mail() {
    local file=$1 from=$2 to=$3 subject=$4 headers=${5:-} body=${6:-Hello support, I need help.}
    {
        printf 'From: %s\nTo: %s\nSubject: %s\n' "$from" "$to" "$subject"
        printf 'Date: Mon, 03 Jun 2024 08:15:00 +0000\nMIME-Version: 1.0\n'
        printf 'Content-Type: text/plain; charset=utf-8\n'
        [ -n "$headers" ] && printf '%s\n' "$headers"
        printf '\n%s\n' "$body"
    } >"$file"
}

# t_intake_setup MAILBOX-NAME [EXTRA-KEY-LINES]: the common start of an intake test: a
# database, the services, a fresh mail user named after the test, and a migrated config
# polling it. Sets BOX (the address) and CONF (the config file).
t_intake_setup() {
    t_make_db
    hg_services_up >/dev/null 2>&1 || t_bail "services did not start"
    BOX=$(t_mail_user "$T_NAME")
    CONF="$T_DIR/helpgate.conf"
    t_write_mailbox_config "$CONF" "$1" "$BOX" "${2:-}"
}

# t_migrate: apply the schema to the test database with CONF.
t_migrate() {
    "$HELPGATECTL" --config "$CONF" migrate >/dev/null 2>&1 || t_bail "migrate failed"
}

# t_db_config: the test's database and a config for it in CONF (not migrated).
t_db_config() {
    t_make_db
    CONF="$T_DIR/helpgate.conf"
    t_write_config "$CONF"
}

# t_ctl_setup: t_db_config, then the schema. ctl runs helpgatectl with CONF.
t_ctl_setup() {
    t_db_config
    t_migrate
}
ctl() { "$HELPGATECTL" --config "$CONF" "$@"; }
