#!/usr/bin/env bash
# dev.sh — build, run and test helpgate on Debian 12. Run it as root: it installs
# packages and starts private PostgreSQL, Dovecot and Postfix instances on loopback.
#
#   ./dev.sh deps                    install the Debian packages that are missing
#   ./dev.sh build [DIR] [ARGS...]   autoreconf when needed, then configure --enable-werror
#                                    ARGS in DIR (default build/) and make
#   eval "$(./dev.sh up)"            deps, build, services, demo database and config,
#                                    helpgated in the background; prints only `export` lines
#   ./dev.sh run                     the same, but helpgated in the foreground (Ctrl-C stops it)
#   ./dev.sh stop                    stop helpgated and the services
#   ./dev.sh test                    make check in build/ and build-asan/ (ASan+UBSan), then
#                                    fuzz every target of build-fuzz/; last line "N passed, N failed"
#
# Environment: CI (no colours), HG_NO_DAEMON=1 (up/run: services, database and config
# only, no build, no helpgated), HG_FUZZ_SECONDS (10), HG_JOBS (make -j, 2),
# HG_CHECK_JOBS (tests run at once by make check, 1), HG_CHECK_TIMEOUT (s per make check,
# 2400), and those of tests/harness/services.sh: HG_VAR, HG_PG_PORT, HG_IMAP_PORT,
# HG_SMTP_PORT, HG_SMTP_TLS_PORT, HG_SMTPS_PORT, HG_SMTP_SUBMIT_PORT, HG_HTTP_PORT, HELPGATE_MAIL_PASS.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"
# shellcheck disable=SC2034  # read by services.sh
top_srcdir=$top
# shellcheck source=tests/harness/services.sh disable=SC1091
. "$top/tests/harness/services.sh"

jobs=${HG_JOBS:-2}
demo_conf=$HG_VAR/demo/helpgate.conf
daemon_pidfile=$HG_VAR/run/helpgated.pid
daemon_log=$HG_VAR/log/helpgated.log

DEPS=(build-essential autoconf automake libtool pkg-config libetpan-dev libwebsockets-dev
  libcurl4-gnutls-dev libpq-dev libjansson-dev libpcre2-dev libxml2-dev libsystemd-dev check
  postgresql dovecot-imapd dovecot-lmtpd postfix clang libclang-rt-14-dev libgmime-3.0-dev
  systemd python3 curl libgnutls28-dev nettle-dev openssl clang-format shellcheck tzdata nodejs chromium zlib1g-dev)

if [ -z "${CI:-}" ] && [ -z "${NO_COLOR:-}" ] && [ -t 2 ]; then
  c_bold=$'\e[1m' c_red=$'\e[31m' c_green=$'\e[32m' c_off=$'\e[0m'
else
  c_bold='' c_red='' c_green='' c_off=''
fi

say() { printf '%s==>%s %s\n' "$c_bold" "$c_off" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$c_red" "$c_off" "$*" >&2; }
die() {
  printf '%serror:%s %s\n' "$c_red" "$c_off" "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# ---------------------------------------------------------------------------
# deps

# The chat tests' clients (tests/chat/package.json: ws, playwright-core) from the npm
# registry, with Debian's npm when node came without one.
_node_deps() {
  local lock=tests/chat/package-lock.json stamp=tests/chat/node_modules/.package-lock.json
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" -eq 0 ] || die "npm is missing: apt-get install npm (as root)"
    say "deps: installing npm"
    apt-get install -y --no-install-recommends npm </dev/null || die "apt-get install npm failed"
  fi
  if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then
    return 0
  fi
  say "deps: npm ci in tests/chat (ws, playwright-core)"
  (cd tests/chat && npm ci --no-audit --no-fund --loglevel=error </dev/null) || die "npm ci in tests/chat failed"
}

cmd_deps() {
  local missing=() p st
  command -v dpkg-query >/dev/null || die "dpkg-query not found: ./dev.sh supports Debian 12 (install by hand: ${DEPS[*]})"
  for p in "${DEPS[@]}"; do
    # shellcheck disable=SC2016  # a dpkg-query format, not a shell expansion
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "deps: all ${#DEPS[@]} packages are installed"
    _node_deps
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    printf '%serror:%s missing Debian packages: %s\n' "$c_red" "$c_off" "${missing[*]}" >&2
    printf 'Install them as root:\n  apt-get install %s\n(or run ./dev.sh as root, as the README says)\n' "${missing[*]}" >&2
    exit 1
  fi
  say "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix without a configuration of its own (no default instance, no exim4 instead):
  # tests/harness/services.sh runs private instances.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update </dev/null || { sleep 5 && apt-get update </dev/null; } || die "apt-get update failed"
  apt-get install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null || die "apt-get install failed"
  for p in "${missing[@]}"; do
    # shellcheck disable=SC2016
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || die "package $p is still not installed"
  done
  _node_deps
}

# ---------------------------------------------------------------------------
# build

# autoreconf -fi when configure (or what it generates from) is missing or older than
# configure.ac, a Makefile.am fragment or an m4 macro.
_autoreconf() {
  local newer=''
  if [ -x configure ] && [ -f Makefile.in ] && [ -f config.h.in ]; then
    newer=$(find . -maxdepth 3 \( -path './build*' -o -path ./var -o -path ./.git \) -prune -o \
      \( -name configure.ac -o -name '*.am' -o -path './m4/*.m4' \) -newer configure -print |
      head -n 1)
    [ -z "$newer" ] && return 0
    say "autoreconf -fi ($newer is newer than configure)"
  else
    say "autoreconf -fi"
  fi
  autoreconf -fi || return 1
}

# make check runs the tests through automake's tap-driver.sh, which autoreconf does not
# install: a fresh clone gets it from automake when it is not committed.
_tap_driver() {
  local lib
  [ -f build-aux/tap-driver.sh ] && return 0
  grep -q 'tap-driver\.sh' Makefile.am || return 0
  lib=$(automake --print-libdir) || return 1
  say "copying $lib/tap-driver.sh to build-aux/"
  mkdir -p build-aux && cp "$lib/tap-driver.sh" build-aux/ && chmod 0755 build-aux/tap-driver.sh
}

# _same_args QUOTED ARGS...: true when QUOTED (what config.status --config prints, quoted
# for the shell) lists exactly ARGS.
_same_args() {
  local -a old
  local a i=0
  eval "old=($1)" 2>/dev/null || return 1
  shift
  [ "${#old[@]}" -eq $# ] || return 1
  for a in "$@"; do
    [ "${old[i]}" = "$a" ] || return 1
    i=$((i + 1))
  done
}

# _build DIR CONFIGURE-ARGS...: configures DIR out of tree when it is new or was
# configured with other arguments, then makes. make itself reruns configure/automake when
# their inputs change.
_build() {
  local dir=$1 have='' cfg=../configure
  shift
  _autoreconf || return 1
  _tap_driver || return 1
  mkdir -p "$dir" || return 1
  if [ -f "$dir/Makefile" ] && [ -x "$dir/config.status" ]; then
    have=$("$dir/config.status" --config 2>/dev/null) || have=''
  fi
  if [ -z "$have" ] || ! _same_args "$have" "$@"; then
    [[ $dir == */* ]] && cfg=$top/configure
    say "configure in $dir/: $*"
    (cd "$dir" && "$cfg" "$@") || return 1
  fi
  say "make -j$jobs in $dir/"
  make -C "$dir" -j"$jobs" || return 1
}

cmd_build() {
  local dir=build
  if [ $# -gt 0 ] && [[ $1 != -* && $1 != *=* ]]; then
    dir=${1%/}
    shift
  fi
  _build "$dir" --enable-werror "$@" || die "build in $dir/ failed"
}

# ---------------------------------------------------------------------------
# helpgated

# The pid of the helpgated that up/run started, when it still runs.
_daemon_pid() {
  local pid exe
  [ -f "$daemon_pidfile" ] || return 1
  pid=$(cat "$daemon_pidfile" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case $exe in
    "$top"/build/daemon/helpgated | "$top/build/daemon/helpgated (deleted)") ;;
    *) return 1 ;;
  esac
  printf '%s\n' "$pid"
}

_alive() { # PID: runs and is not a zombie
  [ -e "/proc/$1" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

_daemon_stop() {
  local pid i
  if pid=$(_daemon_pid); then
    say "helpgated: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      _alive "$pid" || break
      sleep 0.1
    done
    if _alive "$pid"; then
      warn "helpgated: still running after 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$daemon_pidfile"
}

_daemon_bin() {
  local bin=$top/build/daemon/helpgated
  [ -x "$bin" ] || die "$bin is missing: the build did not make it (HG_NO_DAEMON=1 ./dev.sh up starts the services only)"
  printf '%s\n' "$bin"
}

# Starts helpgated in the background (its own session, output to the log) and waits for
# the line event=ready. A healthy one started earlier is reused unless it was rebuilt or
# its config changed since.
_daemon_start_bg() {
  local bin pid st deadline
  bin=$(_daemon_bin)
  if pid=$(_daemon_pid); then
    if [ "$(readlink "/proc/$pid/exe")" = "$bin" ] && [ ! "$demo_conf" -nt "$daemon_pidfile" ]; then
      say "helpgated: running (pid $pid, log $daemon_log)"
      return 0
    fi
    say "helpgated: restarting (rebuilt or reconfigured)"
    _daemon_stop
  fi
  [ -f "$daemon_log" ] && mv -f "$daemon_log" "$daemon_log.1"
  say "helpgated: starting (log $daemon_log)"
  setsid env --default-signal=INT,QUIT "$bin" --config "$demo_conf" --foreground \
    </dev/null >>"$daemon_log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$daemon_pidfile"
  deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if grep -q 'event=ready' "$daemon_log" 2>/dev/null; then
      say "helpgated: ready (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      st=0
      wait "$pid" 2>/dev/null || st=$?
      tail -n 40 "$daemon_log" >&2 || true
      rm -f "$daemon_pidfile"
      die "helpgated exited (status $st) before it was ready; its log is above ($daemon_log)"
    fi
    sleep 0.1
  done
  tail -n 40 "$daemon_log" >&2 || true
  _daemon_stop
  die "helpgated did not log event=ready within 30 s; its log is above ($daemon_log)"
}

# ---------------------------------------------------------------------------
# up / run / stop

_no_daemon() { [ "${HG_NO_DAEMON:-}" = 1 ]; }

# deps, build, services, demo database and config, migrations. Output goes to stderr.
_prepare() {
  cmd_deps
  if _no_daemon; then
    warn "HG_NO_DAEMON=1: services, database and config only (no build, no migration, no helpgated)"
  else
    _build build --enable-werror || die "build in build/ failed"
  fi
  hg_services_up || die "the services did not come up (see above)"
  hg_pg_ensuredb helpgate || die "could not create the database helpgate"
  hg_write_demo_config "$demo_conf" || die "could not write $demo_conf"
  if ! _no_daemon; then
    local ctl=$top/build/daemon/helpgatectl
    [ -x "$ctl" ] || die "$ctl is missing: the build did not make it"
    say "helpgatectl migrate"
    "$ctl" --config "$demo_conf" migrate </dev/null || die "helpgatectl --config $demo_conf migrate failed"
  fi
}

_export() { printf 'export %s=%q\n' "$1" "$2"; }

_exports() {
  _export PGHOST "$HG_VAR/run"
  _export PGPORT "$HG_PG_PORT"
  _export PGDATABASE helpgate
  _export PGUSER helpgate
  _export HELPGATE_CONFIG "$demo_conf"
  _export HELPGATE_IMAP_PORT "$HG_IMAP_PORT"
  _export HELPGATE_SMTP_PORT "$HG_SMTP_PORT"
  _export HELPGATE_HTTP_PORT "$HG_HTTP_PORT"
  _export HELPGATE_URL "http://127.0.0.1:$HG_HTTP_PORT/"
  _export HELPGATE_SUPPORT_ADDR "support@$HG_MAIL_DOMAIN"
  _export HELPGATE_CUSTOMER_ADDR "customer@$HG_MAIL_DOMAIN"
  _export HELPGATE_AGENT_L1_ADDR "l1@$HG_MAIL_DOMAIN"
  _export HELPGATE_AGENT_L2_ADDR "l2@$HG_MAIL_DOMAIN"
  _export HELPGATE_AGENT_L3_ADDR "l3@$HG_MAIL_DOMAIN"
  _export HELPGATE_TEAM_L1_ADDR "team-l1@$HG_MAIL_DOMAIN"
  _export HELPGATE_TEAM_L2_ADDR "team-l2@$HG_MAIL_DOMAIN"
  _export HELPGATE_TEAM_L3_ADDR "team-l3@$HG_MAIL_DOMAIN"
  _export HELPGATE_MAIL_PASS "$HELPGATE_MAIL_PASS"
  # So that later ./dev.sh calls in the same shell find the same instances.
  _export HG_VAR "$HG_VAR"
  _export HG_PG_PORT "$HG_PG_PORT"
  _export HG_IMAP_PORT "$HG_IMAP_PORT"
  _export HG_SMTP_PORT "$HG_SMTP_PORT"
  _export HG_SMTP_TLS_PORT "$HG_SMTP_TLS_PORT"
  _export HG_SMTPS_PORT "$HG_SMTPS_PORT"
  _export HG_SMTP_SUBMIT_PORT "$HG_SMTP_SUBMIT_PORT"
  _export HG_HTTP_PORT "$HG_HTTP_PORT"
}

_up() {
  _prepare
  if _no_daemon; then
    _daemon_stop
  else
    _daemon_start_bg
  fi
}

# stdout carries only the export lines, so that eval "$(./dev.sh up)" works.
cmd_up() {
  _up >&2
  _exports
}

cmd_run() {
  local d=$HG_MAIL_DOMAIN p=$HELPGATE_MAIL_PASS bin=''
  _prepare >&2
  _daemon_stop >&2
  _no_daemon || bin=$(_daemon_bin)
  cat <<EOF

${c_bold}helpgate demo${c_off}
  Chat widget:  http://127.0.0.1:$HG_HTTP_PORT/  (the demo page; the widget is its button)
  Mailboxes (IMAP 127.0.0.1:$HG_IMAP_PORT, no TLS, password $p):
    support@$d (helpgate reads it)   customer@$d
    agents l1@$d l2@$d l3@$d   teams team-l1@$d team-l2@$d team-l3@$d
  Write to support as the customer (SMTP 127.0.0.1:$HG_SMTP_PORT):
    printf 'From: customer@$d\\nTo: support@$d\\nSubject: Printer on fire\\n\\nHelp!\\n' >/tmp/m.eml
    curl -s --url smtp://127.0.0.1:$HG_SMTP_PORT --mail-from customer@$d --mail-rcpt support@$d --upload-file /tmp/m.eml
EOF
  if command -v swaks >/dev/null; then
    printf '    swaks --server 127.0.0.1:%s --from customer@%s --to support@%s\n' "$HG_SMTP_PORT" "$d" "$d"
  fi
  cat <<EOF
  Read the customer's mailbox:
    curl -s 'imap://127.0.0.1:$HG_IMAP_PORT/INBOX;UID=1' -u customer@$d:$p
  Database:  psql -h $HG_VAR/run -p $HG_PG_PORT -U helpgate helpgate
  Logs:      $HG_VAR/log/    Config: $demo_conf
  Stop helpgated with Ctrl-C; stop everything with: ./dev.sh stop

EOF
  if [ -z "$bin" ]; then
    warn "HG_NO_DAEMON=1: helpgated not started"
    return 0
  fi
  printf '%s\n' "$$" >"$daemon_pidfile"
  exec "$bin" --config "$demo_conf" --foreground
}

cmd_stop() {
  _daemon_stop
  hg_pg_stop_all_private || true
  hg_services_down || die "could not stop every service (see above)"
}

# ---------------------------------------------------------------------------
# test

# timeout(1) puts the command in a process group of its own, out of reach of Ctrl-C;
# --foreground keeps it in ours when someone is at the terminal.
tmo_opts=(-k 30)
[ -t 0 ] && tmo_opts+=(--foreground)
total_pass=0
total_fail=0
summary=()
test_services_started=()
test_token=''

_record() { # PASS FAIL TEXT
  total_pass=$((total_pass + $1))
  total_fail=$((total_fail + $2))
  summary+=("$3")
}

# Every process a test left behind (it carries HG_TEST_RUN in its environment): a
# daemon the test started and did not stop, a private cluster's postmaster, ...
_test_sweep() {
  local pids
  [ -n "$test_token" ] || return 0
  # (In a subshell without the variable, or our own grep and cut would match.)
  pids=$(
    unset HG_TEST_RUN
    grep -lzxF "HG_TEST_RUN=$test_token" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
  )
  [ -n "$pids" ] || return 0
  warn "tests left processes behind; ending them: ${pids//$'\n'/ }"
  # shellcheck disable=SC2086  # one pid a word
  ps -o pid=,args= -p $pids 2>/dev/null | cut -c1-160 | sed 's/^/  left behind: /' >&2 || true
  # shellcheck disable=SC2086  # one pid a word
  kill -TERM $pids 2>/dev/null || true
  sleep 2
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

# At the end of ./dev.sh test, however it ends (EXIT trap): stop what the test started
# (services that already ran before are left running), then the summary, last line
# "N passed, N failed".
_test_finish() {
  local rc=$? svc line
  trap - EXIT INT TERM
  hg_pg_stop_all_private || true
  _test_sweep
  for svc in postfix dovecot pg; do
    if [[ " ${test_services_started[*]} " == *" $svc "* ]]; then
      "hg_${svc}_stop" || true
    fi
  done
  if [ "$rc" -ne 0 ] && [ "$total_fail" -eq 0 ]; then
    _record 0 1 "stopped early (exit status $rc)"
  fi
  printf '\n%sSummary%s\n' "$c_bold" "$c_off"
  for line in "${summary[@]}"; do
    printf '  %s\n' "$line"
  done
  printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
  [ "$total_fail" -eq 0 ] && exit 0
  exit 1
}

# Sum of the header lines of an automake test-suite.log: "PASS FAIL SKIP".
_suite_counts() {
  awk '/^# (PASS|XFAIL|FAIL|XPASS|ERROR|SKIP): / {
         k = $2; sub(":", "", k); if (!(k in v)) v[k] = $3 }
       END { print v["PASS"] + v["XFAIL"], v["FAIL"] + v["XPASS"] + v["ERROR"], v["SKIP"] + 0 }' "$1"
}

_show_failed_logs() {
  local dir=$1 trs log
  while IFS= read -r trs; do
    grep -qE '^:global-test-result: (FAIL|XPASS|ERROR)' "$trs" || continue
    log=${trs%.trs}.log
    printf '%s--- last lines of %s ---%s\n' "$c_red" "$log" "$c_off" >&2
    tail -n 40 "$log" >&2 || true
  done < <(find "$dir" -name '*.trs' | sort)
}

# _check DIR CONFIGURE-ARGS...: build, then make check; count the results.
_check() {
  local dir=$1 rc=0 counts p f s
  shift
  if ! _build "$dir" "$@"; then
    _record 0 1 "$dir/: build failed"
    return 0
  fi
  # Compile the test programs in parallel (check with no TESTS builds them and runs
  # nothing); the tests themselves then run HG_CHECK_JOBS at once.
  if ! make -C "$dir" -j"$jobs" check TESTS=; then
    _record 0 1 "$dir/: test programs do not build"
    return 0
  fi
  rm -f "$dir/test-suite.log"
  say "make check in $dir/"
  timeout "${tmo_opts[@]}" "${HG_CHECK_TIMEOUT:-2400}" make -C "$dir" -j"${HG_CHECK_JOBS:-1}" check || rc=$?
  if [ -f "$dir/test-suite.log" ]; then
    counts=$(_suite_counts "$dir/test-suite.log")
    read -r p f s <<<"$counts"
  else
    p=0 f=0 s=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    [ "$rc" -eq 124 ] && warn "make check in $dir/ timed out after ${HG_CHECK_TIMEOUT:-2400} s"
  fi
  [ "$f" -gt 0 ] && _show_failed_logs "$dir"
  _record "$p" "$f" "$dir/: make check: $p passed, $f failed, $s skipped"
}

# _fuzz_data_dir TARGET: the tests/data/ directory whose files seed fuzz_TARGET.
_fuzz_data_dir() {
  case $1 in
  mime) echo mail ;;
  chat_proto) echo chat ;;
  template) echo templates/render ;;
  rules) echo rules/eval ;;
  *) echo "$1" ;;
  esac
}

_fuzz() {
  local dir=build-fuzz secs=${HG_FUZZ_SECONDS:-10} bin name seeds data corpus log n=0 p=0 f=0 execs
  if ! _build "$dir" CC=clang --enable-fuzzers; then
    _record 0 1 "$dir/: build failed"
    return 0
  fi
  for bin in "$dir"/tests/fuzz/fuzz_*; do
    name=${bin##*/}
    if ! [[ -f $bin && -x $bin && $name =~ ^fuzz_[A-Za-z0-9_-]+$ ]]; then
      continue
    fi
    n=$((n + 1))
    seeds=tests/fuzz/seeds/${name#fuzz_}
    corpus=$dir/tests/fuzz/corpus-${name#fuzz_}
    log=$dir/tests/fuzz/$name.log
    rm -rf "$corpus"
    mkdir -p "$corpus"
    # Seeds: the target's own (tests/fuzz/seeds/NAME) plus the unit tests' data files of the
    # same parser (tests/data/DIR), so the test cases need not be copied into the seeds.
    data=tests/data/$(_fuzz_data_dir "${name#fuzz_}")
    [ -d "$seeds" ] && cp -R "$seeds/." "$corpus/"
    [ -d "$data" ] && find "$data" -maxdepth 1 -type f ! -name '*.json' ! -name '*.py' \
      ! -name '*.ref' -exec cp -t "$corpus/" {} +
    [ -n "$(ls -A "$corpus")" ] || warn "$name: no seeds in $seeds or $data; starting from an empty corpus"
    say "fuzz: $name for $secs s on $seeds and $data"
    if timeout "${tmo_opts[@]}" $((secs + 120)) "$bin" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$dir/tests/fuzz/$name-" "$corpus" >"$log" 2>&1; then
      execs=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
      printf '%sPASS%s: %s (%s runs)\n' "$c_green" "$c_off" "$name" "${execs:-?}"
      p=$((p + 1))
    else
      printf '%sFAIL%s: %s (log %s)\n' "$c_red" "$c_off" "$name" "$log"
      printf '%s--- last lines of %s ---%s\n' "$c_red" "$log" "$c_off" >&2
      tail -n 40 "$log" >&2 || true
      f=$((f + 1))
    fi
  done
  [ "$n" -eq 0 ] && warn "no fuzz targets (executables fuzz_*) in $dir/tests/fuzz/"
  _record "$p" "$f" "$dir/: fuzz ${secs} s each: $p passed, $f failed"
}

cmd_test() {
  local svc
  trap _test_finish EXIT
  trap 'exit 130' INT TERM
  cmd_deps
  for svc in pg dovecot postfix; do
    "hg_${svc}_is_up" || test_services_started+=("$svc")
  done
  if ! hg_services_up; then
    _record 0 1 "services did not come up"
    return 0
  fi
  export HG_VAR HG_PG_PORT HG_IMAP_PORT HG_SMTP_PORT HG_SMTP_TLS_PORT HG_SMTPS_PORT HG_SMTP_SUBMIT_PORT HG_HTTP_PORT HELPGATE_MAIL_PASS
  test_token="$$-$(date +%s)"
  export HG_TEST_RUN=$test_token
  [ -n "${CI:-}" ] && export AM_COLOR_TESTS=no
  _check build --enable-werror
  _check build-asan --enable-werror --enable-sanitizers
  _fuzz
}

# ---------------------------------------------------------------------------

case ${1:-} in
  deps | build | up | run | stop | test)
    cmd=$1
    shift
    "cmd_$cmd" "$@"
    ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
