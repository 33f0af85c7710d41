# shellcheck shell=bash
# tests/harness/services.sh — private PostgreSQL, Dovecot and Postfix on loopback for
# development (./dev.sh) and integration tests (tests/integration/*.sh).
#
# Source it; it defines functions and a few variables and starts nothing by itself:
#
#   . "$top_srcdir/tests/harness/services.sh"
#   hg_services_up || exit 1                       # idempotent: reuses healthy services
#   conninfo=$(hg_pg_createdb t_intake) || exit 1  # fresh database, its conninfo on stdout
#   hg_mail_user_add alice@example.test
#   hg_send_mail customer@example.test support@example.test tests/data/x.eml
#   hg_wait_mail support@example.test 1 30
#
# Every function returns non-zero on failure after saying why on stderr (with the tail of
# the service's log); none relies on the caller's `set -e`. Everything lives in $HG_VAR
# (default $top_srcdir/var): pg/ (cluster), run/ (sockets, pid files), log/, mail/
# (maildirs), dovecot/, postfix/, demo/. Services run as the system users postgres,
# dovecot and postfix when started as root (PostgreSQL runs as the invoking user when not
# root; Dovecot and Postfix need root). Public functions serialize on a lock in $HG_VAR,
# so tests running in parallel may all call hg_services_up.
#
# Ports (override with the environment before sourcing or before calling):
#   HG_PG_PORT 55432, HG_IMAP_PORT 10143, HG_SMTP_PORT 10025, HG_HTTP_PORT 18080,
#   HG_SMTP_TLS_PORT 10587 (Postfix requiring STARTTLS) and HG_SMTPS_PORT 10465 (implicit TLS),
#   both with the certificate of a test CA in $HG_VAR/tls, and HG_SMTP_SUBMIT_PORT 10588
#   (submission: STARTTLS, then SMTP AUTH against Dovecot's users required).
# HELPGATE_MAIL_PASS (default helpgate-demo) is the password of every demo mailbox.

if [ -z "${top_srcdir:-}" ]; then
  top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
: "${HG_VAR:=$top_srcdir/var}"
case $HG_VAR in /*) ;; *) HG_VAR=$PWD/$HG_VAR ;; esac
# One spelling of the path (build/../var is var), or the configs written from make check and
# from ./dev.sh would differ and each would restart the services.
HG_VAR=$(realpath -m "$HG_VAR")
: "${HG_PG_PORT:=55432}"
: "${HG_IMAP_PORT:=10143}"
: "${HG_SMTP_PORT:=10025}"
: "${HG_SMTP_TLS_PORT:=10587}"
: "${HG_SMTPS_PORT:=10465}"
: "${HG_SMTP_SUBMIT_PORT:=10588}"
: "${HG_HTTP_PORT:=18080}"
: "${HELPGATE_MAIL_PASS:=helpgate-demo}"

# The demo mail domain and its mailboxes (local parts).
HG_MAIL_DOMAIN=example.test
HG_DEMO_USERS=(support customer l1 l2 l3 team-l1 team-l2 team-l3)
# Seconds a service gets to come up (or go down) before we give up.
: "${HG_SERVICE_TIMEOUT:=30}"

_hg_lock_depth=0
_hg_lock_fd=

# ---------------------------------------------------------------------------
# Small helpers

_hg_log() { printf 'services: %s\n' "$*" >&2; }

# _hg_fail MESSAGE [LOGFILE...]: says what failed and shows the end of each log.
_hg_fail() {
  local msg=$1 f
  shift
  printf 'services: error: %s\n' "$msg" >&2
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf 'services: --- last lines of %s ---\n' "$f" >&2
    tail -n 25 "$f" >&2
    printf 'services: --- end of %s ---\n' "$f" >&2
  done
  return 1
}

_hg_is_root() { [ "$EUID" -eq 0 ]; }

_hg_need_root() {
  _hg_is_root && return 0
  _hg_fail "$1 is started as a private instance only by root here (run ./dev.sh as root, as the README says)"
}

# _hg_locked FUNC ARGS...: runs FUNC holding $HG_VAR/.services.lock (re-entrant).
# Daemons are started with the lock's descriptor closed so they never inherit it.
_hg_locked() {
  # Our own shell options whatever the caller's (set -e, -u, pipefail), restored on return.
  local -
  set +euo pipefail
  local rc=0
  if [ "$_hg_lock_depth" -eq 0 ]; then
    mkdir -p "$HG_VAR" || return 1
    exec {_hg_lock_fd}>>"$HG_VAR/.services.lock" || return 1
    if ! flock -w 300 "$_hg_lock_fd"; then
      exec {_hg_lock_fd}>&-
      _hg_fail "waited 300 s for $HG_VAR/.services.lock; another ./dev.sh or test holds it"
      return 1
    fi
  fi
  _hg_lock_depth=$((_hg_lock_depth + 1))
  "$@" || rc=$?
  _hg_lock_depth=$((_hg_lock_depth - 1))
  if [ "$_hg_lock_depth" -eq 0 ]; then
    exec {_hg_lock_fd}>&-
    _hg_lock_fd=
  fi
  return "$rc"
}

# _hg_spawn CMD...: runs CMD with stdin from /dev/null and the lock descriptor closed.
# (Output redirection is the caller's: always to a log file, never to our stdout, or
# `$(...)` and the test driver would wait for the daemon to exit.)
_hg_spawn() {
  if [ -n "$_hg_lock_fd" ]; then
    "$@" </dev/null {_hg_lock_fd}>&-
  else
    "$@" </dev/null
  fi
}

# _hg_write_if_changed FILE [MODE]: writes stdin to FILE (mode MODE, default 0644) unless
# FILE already has exactly that content, so that mtimes move only on real changes.
# Returns 0 when it wrote, 1 when not, 2 on error.
_hg_write_if_changed() {
  local file=$1 mode=${2:-0644} tmp
  tmp=$(mktemp "$file.XXXXXX") || return 2
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    chmod "$mode" "$file"
    return 1
  fi
  chmod "$mode" "$tmp" && mv -f "$tmp" "$file" || return 2
  return 0
}

# _hg_pids EXE_GLOB DIR...: pids of processes whose executable matches EXE_GLOB and whose
# working directory is one of DIRs or inside one. Daemons chdir to their own directories
# (PostgreSQL to its data directory, Postfix to its queue, Dovecot to its base_dir or a
# mail home), so this finds every process of one instance — also the orphans a kill -9 of
# the master leaves behind — and nothing else (pid files alone can be stale or reused).
_hg_pids() {
  local exe_glob=$1 d procdir exe
  shift
  local args=() cands=()
  for d in "$@"; do
    d=$(readlink -m "$d")
    args+=(-lname "$d" -o -lname "$d/*" -o)
  done
  [ ${#args[@]} -gt 0 ] || return 0
  unset 'args[${#args[@]}-1]'
  # /proc/PID/exe of every process whose cwd matches (two finds, whatever the count).
  mapfile -t cands < <(find /proc/[0-9]*/cwd -maxdepth 0 \( "${args[@]}" \) -printf '%h/exe\n' 2>/dev/null)
  [ ${#cands[@]} -gt 0 ] || return 0
  while read -r procdir exe; do
    # shellcheck disable=SC2053  # EXE_GLOB is a pattern on purpose
    [[ $exe == $exe_glob ]] && printf '%s\n' "${procdir#/proc/}"
  done < <(find "${cands[@]}" -maxdepth 0 -printf '%h %l\n' 2>/dev/null)
  return 0
}

# _hg_kill_pids NAME PID...: SIGKILL and wait until they are gone (5 s at most).
_hg_kill_pids() {
  local name=$1 i p alive
  shift
  [ $# -gt 0 ] || return 0
  _hg_log "$name: killing $# leftover process(es): $*"
  kill -9 "$@" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    alive=0
    for p in "$@"; do
      if [ -e "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ]; then
        alive=1
      fi
    done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.1
  done
  _hg_fail "$name: processes $* survive SIGKILL"
}

# _hg_wait_gone NAME SECONDS EXE_GLOB DIR...: waits until no process of the instance is
# left; SIGKILLs what remains after SECONDS.
_hg_wait_gone() {
  local name=$1 secs=$2 exe_glob=$3 i pids
  shift 3
  for ((i = 0; i < secs * 10; i++)); do
    pids=$(_hg_pids "$exe_glob" "$@")
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086  # one pid a word
  _hg_kill_pids "$name" $pids
}

# hg_port_listening PORT: true when a TCP socket listens on PORT (127.0.0.1 or any
# address). Reads /proc/net/tcp{,6} rather than connecting, so servers log no probes.
hg_port_listening() {
  local -
  set +euo pipefail
  local hex
  hex=$(printf '%04X' "$1") || return 1
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# hg_wait_port PORT TIMEOUT: waits until 127.0.0.1:PORT accepts connections.
hg_wait_port() {
  local -
  set +euo pipefail
  local port=$1 timeout=${2:-$HG_SERVICE_TIMEOUT} i
  for ((i = 0; i < timeout * 10; i++)); do
    hg_port_listening "$port" && return 0
    sleep 0.1
  done
  _hg_fail "nothing accepts connections on 127.0.0.1:$port after $timeout s"
}

# hg_free_port: prints a TCP port on 127.0.0.1 that nothing listens on (for a test's own
# helpgated, so parallel tests do not collide on the fixed defaults).
hg_free_port() {
  local -
  set +euo pipefail
  local i port
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 30000))
    if ! hg_port_listening "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  _hg_fail "found no free port"
}

_hg_dirs() {
  mkdir -p "$HG_VAR/run" "$HG_VAR/log" || return 1
  if _hg_is_root; then
    # PostgreSQL (user postgres) puts its socket and lock file in run/.
    chown postgres:postgres "$HG_VAR/run" || return 1
  fi
  chmod 0755 "$HG_VAR" "$HG_VAR/run" "$HG_VAR/log"
  # Unix socket paths are limited to 107 bytes; the longest is Dovecot's
  # $HG_VAR/run/dovecot/token-login/tokenlogin.
  if [ ${#HG_VAR} -gt 66 ]; then
    _hg_fail "HG_VAR=$HG_VAR is too long for unix socket paths; use a shorter one, e.g. HG_VAR=/tmp/hg-var"
    return 1
  fi
}

# ---------------------------------------------------------------------------
# PostgreSQL

_hg_pg_bindir() {
  local d
  if [ -n "${HG_PG_BINDIR:-}" ]; then
    printf '%s\n' "$HG_PG_BINDIR"
    return 0
  fi
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    printf '%s\n' "$d"
    return 0
  fi
  _hg_fail "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install: ./dev.sh deps, or apt-get install postgresql)"
}

# _hg_as_pg CMD...: runs CMD as the postgres system user when root (PostgreSQL refuses
# to run as root), else as ourselves; from / so that the cwd is always accessible.
_hg_as_pg() {
  if _hg_is_root; then
    (cd / && _hg_spawn runuser -u postgres -- "$@")
  else
    (cd / && _hg_spawn "$@")
  fi
}

# _hg_pg_pid DATADIR: the postmaster's pid when it runs, else fails.
_hg_pg_pid() {
  local datadir=$1 pid
  [ -f "$datadir/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $'\n'$(_hg_pids '/usr/lib/postgresql/*/bin/postgres' "$datadir")$'\n' == *$'\n'$pid$'\n'* ]] || return 1
  printf '%s\n' "$pid"
}

# _hg_pg_cluster_start LABEL DATADIR SOCKDIR PORT LOGFILE
_hg_pg_cluster_start() {
  local label=$1 datadir=$2 sockdir=$3 port=$4 log=$5 bindir changed=0 pid
  bindir=$(_hg_pg_bindir) || return 1
  mkdir -p "$datadir" "$sockdir" "$(dirname "$log")" || return 1
  touch "$log" || return 1
  if _hg_is_root; then
    chown postgres:postgres "$datadir" "$log" || return 1
    if ! runuser -u postgres -- test -w "$sockdir" -a -x "$datadir"; then
      _hg_fail "$label: user postgres cannot reach $datadir or write $sockdir: every directory above them must be searchable by others (chmod o+x), or set HG_VAR to a place that is (e.g. /tmp/hg-var)"
      return 1
    fi
  fi
  chmod 0700 "$datadir"

  if [ ! -f "$datadir/PG_VERSION" ]; then
    # A missing PG_VERSION means no cluster or an initdb that was interrupted.
    find "$datadir" -mindepth 1 -delete 2>/dev/null
    _hg_log "$label: initdb $datadir"
    if ! _hg_as_pg "$bindir/initdb" -D "$datadir" -U helpgate -A trust -E UTF8 --locale=C \
      --no-sync >>"$log" 2>&1; then
      _hg_fail "$label: initdb failed" "$log"
      return 1
    fi
    printf "\ninclude_if_exists = 'helpgate.conf'\n" >>"$datadir/postgresql.conf"
  fi

  if _hg_write_if_changed "$datadir/helpgate.conf" <<EOF; then
# Written by tests/harness/services.sh at every start; change that file instead.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0777
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    changed=1
  fi
  _hg_is_root && chown postgres:postgres "$datadir/helpgate.conf"

  if pid=$(_hg_pg_pid "$datadir"); then
    if [ "$changed" -eq 0 ] && _hg_as_pg "$bindir/pg_isready" -U helpgate -d postgres -q -h "$sockdir" -p "$port"; then
      _hg_log "$label: running (pid $pid, port $port)"
      return 0
    fi
    _hg_log "$label: restarting (pid $pid: configuration changed or not answering)"
    _hg_pg_cluster_stop "$label" "$datadir" || return 1
  fi

  # Not running: clear what a crash (kill -9) leaves behind.
  # shellcheck disable=SC2046  # one pid a word
  _hg_kill_pids "$label" $(_hg_pids '/usr/lib/postgresql/*/bin/postgres' "$datadir") || return 1
  rm -f "$datadir/postmaster.pid" "$sockdir/.s.PGSQL.$port" "$sockdir/.s.PGSQL.$port.lock"

  _hg_log "$label: starting on 127.0.0.1:$port and $sockdir"
  # The port is in Linux's ephemeral range (32768-60999): a client socket of something else
  # (e.g. bench/chat's 10,000 connections, closing for up to a minute) may hold it. Reserve it
  # from the kernel's choice of client ports when we may, and wait for it up to a minute.
  _hg_reserve_port "$port"
  local attempt lines_before
  for attempt in $(seq 1 30); do
    lines_before=$(wc -l <"$log")
    if _hg_as_pg "$bindir/pg_ctl" -D "$datadir" -l "$log" -w -t "$HG_SERVICE_TIMEOUT" start \
      >/dev/null 2>&1; then
      break
    fi
    if [ "$attempt" -lt 30 ] && tail -n +"$((lines_before + 1))" "$log" | grep -q 'Address already in use'; then
      _hg_log "$label: port $port is in use by another socket; trying again in 2 s"
      rm -f "$datadir/postmaster.pid"
      sleep 2
      continue
    fi
    _hg_fail "$label: PostgreSQL did not start within $HG_SERVICE_TIMEOUT s" "$log"
    return 1
  done
  if ! _hg_as_pg "$bindir/pg_isready" -U helpgate -d postgres -q -h "$sockdir" -p "$port" -t "$HG_SERVICE_TIMEOUT"; then
    _hg_fail "$label: PostgreSQL does not answer on $sockdir port $port" "$log"
    return 1
  fi
}

# _hg_reserve_port PORT: as root, keeps the kernel from giving PORT to client sockets
# (net.ipv4.ip_local_reserved_ports; a server may still listen on it). Best effort.
_hg_reserve_port() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports current
  _hg_is_root && [ -w "$file" ] || return 0
  current=$(cat "$file" 2>/dev/null) || return 0
  case ",$current," in *",$1,"*) return 0 ;; esac
  printf '%s\n' "${current:+$current,}$1" >"$file" 2>/dev/null || true
}

# _hg_pg_cluster_stop LABEL DATADIR: quiet when it does not run.
_hg_pg_cluster_stop() {
  local label=$1 datadir=$2 bindir pid
  local glob='/usr/lib/postgresql/*/bin/postgres'
  if pid=$(_hg_pg_pid "$datadir"); then
    bindir=$(_hg_pg_bindir) || return 1
    _hg_log "$label: stopping (pid $pid)"
    _hg_as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w -t "$HG_SERVICE_TIMEOUT" stop \
      >/dev/null 2>&1 || _hg_log "$label: pg_ctl stop failed; killing it"
  fi
  _hg_wait_gone "$label" 5 "$glob" "$datadir" || return 1
  [ -d "$datadir" ] && rm -f "$datadir/postmaster.pid"
  return 0
}

_hg_pg_start() {
  _hg_dirs || return 1
  _hg_pg_cluster_start postgresql "$HG_VAR/pg" "$HG_VAR/run" "$HG_PG_PORT" \
    "$HG_VAR/log/postgresql.log"
}
_hg_pg_stop() {
  _hg_pg_cluster_stop postgresql "$HG_VAR/pg"
}

# hg_pg_start: the shared cluster in $HG_VAR/pg (superuser helpgate, trust auth, socket in
# $HG_VAR/run, 127.0.0.1:$HG_PG_PORT); initdb on first use. Reuses a healthy one.
hg_pg_start() { _hg_locked _hg_pg_start; }
# hg_pg_stop: stops it (fast shutdown), quietly when it does not run.
hg_pg_stop() { _hg_locked _hg_pg_stop; }
# hg_pg_is_up: true when the shared cluster runs and answers.
hg_pg_is_up() {
  local -
  set +euo pipefail
  local bindir
  _hg_pg_pid "$HG_VAR/pg" >/dev/null || return 1
  bindir=$(_hg_pg_bindir 2>/dev/null) || return 1
  "$bindir/pg_isready" -U helpgate -d postgres -q -h "$HG_VAR/run" -p "$HG_PG_PORT"
}

_hg_pg_start_private() {
  local dir=$1 port=$2
  if [ -z "$dir" ] || [ -z "$port" ]; then
    _hg_fail "usage: hg_pg_start_private DIR PORT"
    return 1
  fi
  case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
  mkdir -p "$dir" || return 1
  _hg_is_root && { chown postgres:postgres "$dir" || return 1; }
  _hg_dirs || return 1
  # Remembered so that ./dev.sh stop and the end of ./dev.sh test can stop it.
  touch "$HG_VAR/run/private-clusters"
  grep -qxF "$dir" "$HG_VAR/run/private-clusters" || printf '%s\n' "$dir" >>"$HG_VAR/run/private-clusters"
  _hg_pg_cluster_start "postgresql($dir)" "$dir/data" "$dir" "$port" "$dir/postgresql.log"
}
_hg_pg_stop_private() {
  local dir=$1 rest
  [ -n "$dir" ] || { _hg_fail "usage: hg_pg_stop_private DIR"; return 2; }
  case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
  _hg_pg_cluster_stop "postgresql($dir)" "$dir/data" || return 1
  if [ -f "$HG_VAR/run/private-clusters" ]; then
    rest=$(grep -vxF "$dir" "$HG_VAR/run/private-clusters")
    printf '%s\n' "$rest" | sed '/^$/d' >"$HG_VAR/run/private-clusters"
  fi
  return 0
}
# hg_pg_start_private DIR PORT: a separate throwaway cluster: data in DIR/data, socket and
# log (DIR/postgresql.log) in DIR, 127.0.0.1:PORT, superuser helpgate, trust auth. Its
# conninfo: "host=DIR port=PORT user=helpgate dbname=postgres" (see hg_pg_createdb).
hg_pg_start_private() { _hg_locked _hg_pg_start_private "${1:-}" "${2:-}"; }
# hg_pg_stop_private DIR: stops it (DIR stays; remove it yourself).
hg_pg_stop_private() { _hg_locked _hg_pg_stop_private "${1:-}"; }
# hg_pg_stop_all_private: stops every private cluster started with this HG_VAR.
hg_pg_stop_all_private() {
  local -
  set +euo pipefail
  local dir
  [ -f "$HG_VAR/run/private-clusters" ] || return 0
  while IFS= read -r dir; do
    [ -n "$dir" ] && hg_pg_stop_private "$dir"
  done < <(cat "$HG_VAR/run/private-clusters")
  return 0
}

# hg_pg_conninfo DBNAME [HOST PORT]: prints the libpq conninfo of a database.
hg_pg_conninfo() {
  printf 'host=%s port=%s dbname=%s user=helpgate\n' "${2:-$HG_VAR/run}" "${3:-$HG_PG_PORT}" "$1"
}

# hg_pg_private_conninfo DIR PORT DBNAME: the conninfo of a database in a private cluster.
hg_pg_private_conninfo() {
  hg_pg_conninfo "${3:-postgres}" "$1" "$2"
}

# hg_psql DBNAME [PSQL-ARGS...]: psql as helpgate on database DBNAME of the shared cluster.
hg_psql() {
  local -
  set +euo pipefail
  local db=$1 bindir
  shift
  bindir=$(_hg_pg_bindir) || return 1
  "$bindir/psql" -X -h "$HG_VAR/run" -p "$HG_PG_PORT" -U helpgate -d "$db" "$@"
}

_hg_pg_sql() { # HOST PORT SQL
  local bindir
  bindir=$(_hg_pg_bindir) || return 1
  PGOPTIONS='-c client_min_messages=warning' "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U helpgate -d postgres -c "$3"
}

_hg_pg_check_name() {
  [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] && return 0
  _hg_fail "database name '$1': use letters, digits and _ (at most 63)"
}

# hg_pg_createdb NAME [HOST PORT]: drops (disconnecting its sessions) and recreates database
# NAME in the shared cluster (or in the one at HOST/PORT, e.g. a private one); prints its
# conninfo on stdout. Sets and exports nothing.
hg_pg_createdb() {
  local -
  set +euo pipefail
  local name=$1 host=${2:-$HG_VAR/run} port=${3:-$HG_PG_PORT}
  _hg_pg_check_name "$name" || return 1
  if ! _hg_pg_sql "$host" "$port" "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null ||
    ! _hg_pg_sql "$host" "$port" "CREATE DATABASE \"$name\"" >/dev/null; then
    _hg_fail "could not recreate database $name on $host port $port" "$HG_VAR/log/postgresql.log"
    return 1
  fi
  hg_pg_conninfo "$name" "$host" "$port"
}

# hg_pg_ensuredb NAME: creates database NAME in the shared cluster unless it exists.
hg_pg_ensuredb() {
  local -
  set +euo pipefail
  local name=$1 have
  _hg_pg_check_name "$name" || return 1
  have=$(_hg_pg_sql "$HG_VAR/run" "$HG_PG_PORT" "SELECT 1 FROM pg_database WHERE datname = '$name'") || {
    _hg_fail "PostgreSQL on $HG_VAR/run port $HG_PG_PORT does not answer" "$HG_VAR/log/postgresql.log"
    return 1
  }
  [ "$have" = 1 ] && return 0
  _hg_log "postgresql: creating database $name"
  _hg_pg_sql "$HG_VAR/run" "$HG_PG_PORT" "CREATE DATABASE \"$name\"" >/dev/null
}

# ---------------------------------------------------------------------------
# Dovecot (IMAP for helpgated, LMTP for Postfix)

_hg_dovecot_conf() { printf '%s\n' "$HG_VAR/dovecot/dovecot.conf"; }
_hg_lmtp_socket() { printf '%s\n' "$HG_VAR/postfix/spool/private/dovecot-lmtp"; }
# Dovecot's SASL socket for Postfix's submission listener (smtpd_sasl_path private/dovecot-auth).
_hg_sasl_socket() { printf '%s\n' "$HG_VAR/postfix/spool/private/dovecot-auth"; }
_hg_dovecot_dirs() { printf '%s\n' "$HG_VAR/run/dovecot" "$HG_VAR/mail" "$HG_VAR/dovecot"; }
_hg_dovecot_glob='@(/usr/sbin/dovecot|/usr/lib/dovecot/*)'

# The demo users first, then every user hg_mail_user_add added (kept across restarts).
_hg_dovecot_users_write() {
  local users=$HG_VAR/dovecot/users u
  touch "$users" || return 1
  {
    for u in "${HG_DEMO_USERS[@]}"; do
      printf '%s@%s:{PLAIN}%s::::::\n' "$u" "$HG_MAIL_DOMAIN" "$HELPGATE_MAIL_PASS"
    done
    awk -F: -v demo="${HG_DEMO_USERS[*]}" -v d="$HG_MAIL_DOMAIN" '
      BEGIN { n = split(demo, u, " "); for (i = 1; i <= n; i++) skip[u[i] "@" d] = 1 }
      !($1 in skip)' "$users"
  } | _hg_write_if_changed "$users"
  chown root:dovecot "$users" && chmod 0640 "$users"
}

_hg_mail_pass_ok() {
  [[ $1 != *[:$'\n']* && -n $1 ]] && return 0
  _hg_fail "mail password must be non-empty and contain no ':' or newline"
}

_hg_dovecot_start() {
  _hg_need_root Dovecot || return 1
  _hg_mail_pass_ok "$HELPGATE_MAIL_PASS" || return 1
  _hg_dirs || return 1
  local conf base=$HG_VAR/run/dovecot log=$HG_VAR/log/dovecot.log lmtp changed=0 pid
  conf=$(_hg_dovecot_conf)
  lmtp=$(_hg_lmtp_socket)
  mkdir -p "$HG_VAR/dovecot/state" "$HG_VAR/mail" "$(dirname "$lmtp")" || return 1
  chown dovecot:dovecot "$HG_VAR/mail" && chmod 0750 "$HG_VAR/mail"
  # Postfix's private/ (its LMTP client runs as postfix and finds the socket there).
  chown postfix "$(dirname "$lmtp")" && chmod 0700 "$(dirname "$lmtp")"
  touch "$log"
  _hg_dovecot_users_write || return 1

  if _hg_write_if_changed "$conf" <<EOF; then
# Written by tests/harness/services.sh at every start; change that file instead.
base_dir = $base
state_dir = $HG_VAR/dovecot/state
instance_name = helpgate-dovecot
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = $log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
default_process_limit = 300
default_client_limit = 2000
mail_location = maildir:$HG_VAR/mail/%d/%n
mail_fsync = never
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
postmaster_address = postmaster@$HG_MAIL_DOMAIN
hostname = mail.$HG_MAIL_DOMAIN

namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $HG_VAR/dovecot/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$HG_VAR/mail/%Ld/%Ln
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $HG_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service lmtp {
  unix_listener $lmtp {
    mode = 0666
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $(_hg_sasl_socket) {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol imap {
  mail_max_userip_connections = 200
}
EOF
    changed=1
  fi

  if pid=$(_hg_dovecot_pid); then
    if [ "$changed" -eq 0 ] && [ -S "$lmtp" ] && hg_port_listening "$HG_IMAP_PORT"; then
      _hg_log "dovecot: running (pid $pid, imap 127.0.0.1:$HG_IMAP_PORT)"
      return 0
    fi
    _hg_log "dovecot: restarting (pid $pid: configuration changed or not answering)"
    _hg_dovecot_stop || return 1
  fi

  # Not running: clear what a crash leaves behind (orphans, master.pid, sockets).
  # shellcheck disable=SC2046
  _hg_kill_pids dovecot $(_hg_pids "$_hg_dovecot_glob" $(_hg_dovecot_dirs)) || return 1
  rm -rf "$base"
  rm -f "$lmtp"
  if ! doveconf -c "$conf" -n >/dev/null 2>"$HG_VAR/dovecot/doveconf.err"; then
    _hg_fail "dovecot: $conf is invalid" "$HG_VAR/dovecot/doveconf.err"
    return 1
  fi
  _hg_log "dovecot: starting (imap 127.0.0.1:$HG_IMAP_PORT, lmtp $lmtp)"
  if ! _hg_spawn dovecot -c "$conf" >>"$log" 2>&1; then
    _hg_fail "dovecot: did not start" "$log"
    return 1
  fi
  local i
  for ((i = 0; i < HG_SERVICE_TIMEOUT * 10; i++)); do
    if [ -S "$lmtp" ] && hg_port_listening "$HG_IMAP_PORT"; then
      return 0
    fi
    sleep 0.1
  done
  _hg_fail "dovecot: not listening on 127.0.0.1:$HG_IMAP_PORT and $lmtp after $HG_SERVICE_TIMEOUT s" "$log"
}

# _hg_dovecot_pid: the master's pid when it runs.
_hg_dovecot_pid() {
  local pid f=$HG_VAR/run/dovecot/master.pid
  [ -f "$f" ] || return 1
  pid=$(head -n 1 "$f" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/dovecot ] || return 1
  # shellcheck disable=SC2046
  [[ $'\n'$(_hg_pids "$_hg_dovecot_glob" $(_hg_dovecot_dirs))$'\n' == *$'\n'$pid$'\n'* ]] || return 1
  printf '%s\n' "$pid"
}

_hg_dovecot_stop() {
  local pid
  if pid=$(_hg_dovecot_pid); then
    _hg_log "dovecot: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
  fi
  # shellcheck disable=SC2046
  _hg_wait_gone dovecot 10 "$_hg_dovecot_glob" $(_hg_dovecot_dirs) || return 1
  rm -f "$HG_VAR/run/dovecot/master.pid"
  return 0
}

# hg_dovecot_start: private Dovecot (IMAP on 127.0.0.1:$HG_IMAP_PORT, LMTP socket in
# Postfix's private/), maildirs in $HG_VAR/mail/DOMAIN/USER. Reuses a healthy one.
hg_dovecot_start() { _hg_locked _hg_dovecot_start; }
# hg_dovecot_stop: stops it, quietly when it does not run.
hg_dovecot_stop() { _hg_locked _hg_dovecot_stop; }
# hg_dovecot_is_up: true when Dovecot runs and accepts IMAP connections.
hg_dovecot_is_up() {
  local -
  set +euo pipefail
  _hg_dovecot_pid >/dev/null && hg_port_listening "$HG_IMAP_PORT"
}

_hg_mail_user_add() {
  local addr=${1,,} pass=${2:-$HELPGATE_MAIL_PASS} users=$HG_VAR/dovecot/users
  if ! [[ $addr =~ ^[a-z0-9._-]+@[a-z0-9.-]+$ ]]; then
    _hg_fail "hg_mail_user_add: '$1' is not an address like name@$HG_MAIL_DOMAIN (no + part)"
    return 1
  fi
  _hg_mail_pass_ok "$pass" || return 1
  local line="$addr:{PLAIN}$pass::::::" have
  if [ ! -f "$users" ]; then
    mkdir -p "$HG_VAR/dovecot" && touch "$users" || return 1
    if _hg_is_root; then chown root:dovecot "$users" && chmod 0640 "$users"; fi
  fi
  # Tests add many users: one awk over the file, nothing else, in the common case.
  have=$(awk -F: -v a="$addr" '$1 == a { print; exit }' "$users")
  if [ -z "$have" ]; then
    printf '%s\n' "$line" >>"$users"
  elif [ "$have" != "$line" ]; then
    { awk -F: -v a="$addr" '$1 != a' "$users"; printf '%s\n' "$line"; } | _hg_write_if_changed "$users" 0640
    if _hg_is_root; then chown root:dovecot "$users"; fi
  fi
  return 0
}
# hg_mail_user_add ADDR [PASSWORD]: adds (or updates) an IMAP/LMTP user at run time;
# Dovecot rereads the passwd-file by itself. Default password: $HELPGATE_MAIL_PASS.
# Postfix accepts every address @example.test; Dovecot delivers to known users only.
hg_mail_user_add() { _hg_locked _hg_mail_user_add "${1:-}" "${2:-}"; }

# hg_maildir ADDR: the maildir (INBOX) of ADDR; "user" alone means user@example.test and a
# +detail is ignored, as delivery does.
hg_maildir() {
  local -
  set +euo pipefail
  local addr=${1,,} local_part domain=$HG_MAIL_DOMAIN
  case $addr in *@*) domain=${addr#*@} local_part=${addr%%@*} ;; *) local_part=$addr ;; esac
  printf '%s\n' "$HG_VAR/mail/$domain/${local_part%%+*}"
}

# hg_mail_count ADDR: prints how many messages ADDR's INBOX holds (new + cur).
hg_mail_count() {
  local -
  set +euo pipefail
  local dir
  dir=$(hg_maildir "$1")
  find "$dir/new" "$dir/cur" -maxdepth 1 -type f 2>/dev/null | wc -l
  return 0
}

# hg_wait_mail ADDR COUNT TIMEOUT: waits until ADDR's INBOX holds at least COUNT messages.
hg_wait_mail() {
  local -
  set +euo pipefail
  local addr=$1 want=${2:-1} timeout=${3:-$HG_SERVICE_TIMEOUT}
  [ -n "$addr" ] || { _hg_fail "usage: hg_wait_mail ADDR COUNT TIMEOUT"; return 2; }
  local i n=0
  for ((i = 0; i <= timeout * 10; i++)); do
    n=$(hg_mail_count "$addr")
    [ "$n" -ge "$want" ] && return 0
    sleep 0.1
  done
  _hg_fail "$addr has $n message(s) in $(hg_maildir "$addr"), not $want, after $timeout s" \
    "$HG_VAR/log/postfix.log" "$HG_VAR/log/dovecot.log"
}

# ---------------------------------------------------------------------------
# Postfix (SMTP on 127.0.0.1:$HG_SMTP_PORT; example.test goes to Dovecot over LMTP)

_hg_postfix_etc() { printf '%s\n' "$HG_VAR/postfix/etc"; }

# The default /etc/postfix/main.cf must name our config directory in
# alternate_config_directories or `postfix -c DIR` refuses it. With Debian's "No
# configuration" there is no main.cf: write a minimal one that also keeps the default
# instance from listening. An existing main.cf only gets our directory appended.
_hg_postfix_allow_etc() {
  local etc=$1 main=/etc/postfix/main.cf cur d
  local -a dirs
  if [ ! -f "$main" ]; then
    _hg_log "postfix: writing $main (default instance disabled; lists $etc)"
    cat >"$main" <<EOF || return 1
# Written by helpgate's tests/harness/services.sh: Postfix was installed with "No
# configuration". This file only lets private instances run with \`postfix -c DIR\`.
compatibility_level = 3.6
master_service_disable = inet
alternate_config_directories = $etc
EOF
    return 0
  fi
  cur=$(postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null)
  IFS=$', \t\n' read -r -a dirs <<<"$cur"
  for d in "${dirs[@]}"; do
    [ "$d" = "$etc" ] && return 0
  done
  _hg_log "postfix: adding $etc to alternate_config_directories in $main"
  postconf -c /etc/postfix -e "alternate_config_directories = ${cur:+$cur, }$etc" || {
    _hg_fail "postfix: could not update $main"
    return 1
  }
}

# _hg_tls_certs DIR: a test CA (ca.pem) and a server certificate for localhost and 127.0.0.1
# (server.pem, server.key), made once; for the STARTTLS listener of Postfix.
_hg_tls_certs() {
  local dir=$1
  [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && [ -s "$dir/ca.pem" ] && return 0
  mkdir -p "$dir" || return 1
  (
    cd "$dir" || exit 1
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=helpgate dev test CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
        -keyout server.key -out server.csr &&
      printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" extendedKeyUsage=serverAuth \
        basicConstraints=CA:FALSE >ext.cnf &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile ext.cnf -out server.pem &&
      chmod 0644 ca.pem server.pem
  ) >"$dir/openssl.log" 2>&1 || {
    _hg_fail "tls: openssl could not make the test certificates" "$dir/openssl.log"
    return 1
  }
}

_hg_postfix_start() {
  _hg_need_root Postfix || return 1
  _hg_dirs || return 1
  _hg_tls_certs "$HG_VAR/tls" || return 1
  local etc spool=$HG_VAR/postfix/spool data=$HG_VAR/postfix/data log=$HG_VAR/log/postfix.log
  local changed=0
  etc=$(_hg_postfix_etc)
  mkdir -p "$etc" "$spool" "$data" || return 1
  _hg_postfix_allow_etc "$etc" || return 1
  touch "$log"

  if _hg_write_if_changed "$etc/main.cf" <<EOF; then
# Written by tests/harness/services.sh at every start; change that file instead.
compatibility_level = 3.6
queue_directory = $spool
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.helpgate-dev.test
mydomain = helpgate-dev.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = $HG_MAIL_DOMAIN
virtual_transport = lmtp:unix:private/dovecot-lmtp
# Nothing leaves this machine: mail to other domains bounces at once.
default_transport = error:5.1.2 this helpgate dev instance delivers to $HG_MAIL_DOMAIN only
relay_transport = \$default_transport
recipient_delimiter = +
alias_maps =
alias_database =
local_recipient_maps =
biff = no
# Deliver what tests send as it is: no Date/Message-ID/From added to mail from 127.0.0.1.
local_header_rewrite_clients =
smtpd_peername_lookup = no
message_size_limit = 104857600
mailbox_size_limit = 0
in_flow_delay = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
maillog_file = $log
maillog_file_prefixes = $HG_VAR/log
EOF
    changed=1
  fi
  if _hg_write_if_changed "$etc/master.cf" <<EOF; then
# Written by tests/harness/services.sh. No chroot anywhere (5th column n).
127.0.0.1:$HG_SMTP_PORT inet n - n - - smtpd
127.0.0.1:$HG_SMTP_TLS_PORT inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_cert_file=$HG_VAR/tls/server.pem -o smtpd_tls_key_file=$HG_VAR/tls/server.key
  -o smtpd_tls_loglevel=1
127.0.0.1:$HG_SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt -o smtpd_tls_cert_file=$HG_VAR/tls/server.pem
  -o smtpd_tls_key_file=$HG_VAR/tls/server.key -o smtpd_tls_loglevel=1
127.0.0.1:$HG_SMTP_SUBMIT_PORT inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_cert_file=$HG_VAR/tls/server.pem -o smtpd_tls_key_file=$HG_VAR/tls/server.key
  -o smtpd_tls_auth_only=yes -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=private/dovecot-auth -o smtpd_client_restrictions=
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    changed=1
  fi

  if _hg_postfix_running; then
    if [ "$changed" -eq 0 ] && hg_port_listening "$HG_SMTP_PORT"; then
      _hg_log "postfix: running (smtp 127.0.0.1:$HG_SMTP_PORT)"
      return 0
    fi
    _hg_log "postfix: restarting (configuration changed or not answering)"
    _hg_postfix_stop || return 1
  fi

  # Not running: clear orphans of a crashed master; postfix itself copes with stale
  # pid files (they are locks) and sockets.
  # shellcheck disable=SC2046
  _hg_kill_pids postfix $(_hg_pids '/usr/lib/postfix/sbin/*' "$spool") || return 1
  # `postfix start` creates the queue directories; the data directory must be postfix's.
  chown postfix "$data" && chmod 0700 "$data" || return 1
  _hg_log "postfix: starting (smtp 127.0.0.1:$HG_SMTP_PORT, log $log)"
  if ! _hg_spawn postfix -c "$etc" start >>"$log" 2>&1; then
    _hg_fail "postfix: did not start (is $etc listed in alternate_config_directories in /etc/postfix/main.cf?)" "$log"
    return 1
  fi
  hg_wait_port "$HG_SMTP_PORT" "$HG_SERVICE_TIMEOUT" || {
    _hg_fail "postfix: not listening on 127.0.0.1:$HG_SMTP_PORT" "$log"
    return 1
  }
  hg_wait_port "$HG_SMTP_TLS_PORT" "$HG_SERVICE_TIMEOUT" || {
    _hg_fail "postfix: not listening on 127.0.0.1:$HG_SMTP_TLS_PORT (STARTTLS)" "$log"
    return 1
  }
  hg_wait_port "$HG_SMTPS_PORT" "$HG_SERVICE_TIMEOUT" || {
    _hg_fail "postfix: not listening on 127.0.0.1:$HG_SMTPS_PORT (SMTPS)" "$log"
    return 1
  }
  hg_wait_port "$HG_SMTP_SUBMIT_PORT" "$HG_SERVICE_TIMEOUT" || {
    _hg_fail "postfix: not listening on 127.0.0.1:$HG_SMTP_SUBMIT_PORT (submission)" "$log"
    return 1
  }
}

_hg_postfix_running() {
  local etc
  etc=$(_hg_postfix_etc)
  [ -f "$etc/main.cf" ] || return 1
  postfix -c "$etc" status >/dev/null 2>&1
}

_hg_postfix_stop() {
  local etc
  etc=$(_hg_postfix_etc)
  if _hg_postfix_running; then
    _hg_log "postfix: stopping"
    postfix -c "$etc" stop >>"$HG_VAR/log/postfix.log" 2>&1 || _hg_log "postfix: stop failed; killing it"
  fi
  _hg_wait_gone postfix 10 '/usr/lib/postfix/sbin/*' "$HG_VAR/postfix/spool"
}

# hg_postfix_start: private Postfix (config $HG_VAR/postfix/etc, queue
# $HG_VAR/postfix/spool, log $HG_VAR/log/postfix.log) on 127.0.0.1:$HG_SMTP_PORT,
# relaying for 127.0.0.0/8; @example.test goes to Dovecot over LMTP, everything else
# bounces. Reuses a healthy one.
hg_postfix_start() { _hg_locked _hg_postfix_start; }
# hg_postfix_stop: stops it, quietly when it does not run.
hg_postfix_stop() { _hg_locked _hg_postfix_stop; }
# hg_postfix_is_up: true when Postfix runs and accepts SMTP connections.
hg_postfix_is_up() {
  local -
  set +euo pipefail
  _hg_postfix_running && hg_port_listening "$HG_SMTP_PORT"
}

# hg_send_mail FROM TO FILE: submits FILE (a whole RFC 5322 message) over SMTP to the
# private Postfix. TO may list several recipients separated by commas.
hg_send_mail() {
  local -
  set +euo pipefail
  local from=$1 to=$2 file=$3 r out crlf
  if [ -z "$from" ] || [ -z "$to" ] || [ ! -r "$file" ]; then
    _hg_fail "usage: hg_send_mail FROM TO FILE (FILE readable; got '$file')"
    return 2
  fi
  local rcpts=()
  IFS=', ' read -r -a r <<<"$to"
  for to in "${r[@]}"; do
    [ -n "$to" ] && rcpts+=(--mail-rcpt "$to")
  done
  # curl dot-stuffs lines only after CRLF: a bare-LF file with a line "." would end the
  # DATA there. Send CRLF lines (SMTP's own line ending; the message is unchanged).
  crlf=$(mktemp) || return 1
  LC_ALL=C sed 's/\r*$/\r/' "$file" >"$crlf"
  if ! out=$(curl -sS --max-time 60 --url "smtp://127.0.0.1:$HG_SMTP_PORT/helpgate-test" \
    --mail-from "$from" "${rcpts[@]}" --upload-file "$crlf" 2>&1); then
    rm -f "$crlf"
    _hg_fail "sending $file from $from to ${r[*]} via 127.0.0.1:$HG_SMTP_PORT failed: $out" \
      "$HG_VAR/log/postfix.log"
    return 1
  fi
  rm -f "$crlf"
}

# ---------------------------------------------------------------------------
# All three

_hg_services_up() {
  _hg_pg_start && _hg_dovecot_start && _hg_postfix_start
}
_hg_services_down() {
  local rc=0
  _hg_postfix_stop || rc=1
  _hg_dovecot_stop || rc=1
  _hg_pg_stop || rc=1
  return "$rc"
}
# hg_services_up: PostgreSQL, Dovecot and Postfix, each started or reused (idempotent).
hg_services_up() { _hg_locked _hg_services_up; }
# hg_services_down: stops all three, quietly for those that do not run.
hg_services_down() { _hg_locked _hg_services_down; }

# ---------------------------------------------------------------------------
# The demo configuration

# hg_write_demo_config FILE: writes the helpgate.conf of the demo (shared cluster, database
# helpgate, mailbox support@example.test, Postfix, chat on 127.0.0.1:$HG_HTTP_PORT), the
# mailbox password file and an HMAC secret (0600, in DIR/secrets/, DIR = FILE's directory),
# and a rules file and templates directory in DIR when they are missing.
hg_write_demo_config() {
  local -
  set +euo pipefail
  local file=$1 dir
  [ -n "$file" ] || { _hg_fail "usage: hg_write_demo_config FILE"; return 2; }
  case $file in /*) ;; *) file=$PWD/$file ;; esac
  dir=$(dirname "$file")
  _hg_mail_pass_ok "$HELPGATE_MAIL_PASS" || return 1
  mkdir -p "$dir/secrets" "$dir/templates" || return 1
  chmod 0700 "$dir/secrets"
  printf '%s' "$HELPGATE_MAIL_PASS" | _hg_write_if_changed "$dir/secrets/support.pass" 0600
  [ $? -le 1 ] || return 1
  if [ ! -s "$dir/secrets/hmac.key" ]; then
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/secrets/hmac.key") || return 1
  fi
  # The demo starts with the documented example rules and the shipped templates (copied once;
  # edit them freely, SIGHUP helpgated to apply).
  if [ ! -s "$dir/rules.conf" ] || ! grep -q '^rule ' "$dir/rules.conf"; then
    cp "$top_srcdir/tests/data/rules/example.conf" "$dir/rules.conf" &&
      cp "$top_srcdir/tests/data/rules/outage-words.txt" "$dir/outage-words.txt" || return 1
  fi
  if ! ls "$dir/templates"/*.tmpl >/dev/null 2>&1; then
    cp "$top_srcdir"/contrib/templates/*.tmpl "$dir/templates/" || return 1
  fi
  _hg_write_if_changed "$file" <<EOF
# helpgate.conf of the demo, written by ./dev.sh (tests/harness/services.sh) at every
# ./dev.sh up / run: change the script, not this file.
[helpgate]
instance = dev
rules_file = $dir/rules.conf
templates_dir = $dir/templates
hmac_secret_file = $dir/secrets/hmac.key

[database]
conninfo = host=$HG_VAR/run port=$HG_PG_PORT dbname=helpgate user=helpgate

[mailbox support]
host = 127.0.0.1
port = $HG_IMAP_PORT
tls = none
user = support@$HG_MAIL_DOMAIN
password_file = $dir/secrets/support.pass
folder = INBOX
after_ingest = flag
poll_interval = 30s
idle = yes

[smtp]
url = smtp://127.0.0.1:$HG_SMTP_PORT
from = support@$HG_MAIL_DOMAIN
support_domain = $HG_MAIL_DOMAIN

[chat]
enabled = yes
listen = 127.0.0.1:$HG_HTTP_PORT
allowed_origins = http://127.0.0.1:$HG_HTTP_PORT http://localhost:$HG_HTTP_PORT
widget_dir = $top_srcdir/contrib/widget
EOF
  return 0
}
