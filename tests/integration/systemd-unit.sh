#!/usr/bin/env bash
# systemd-unit.sh — helpgated.service is a valid notify unit with hardening;
# `systemd-analyze verify` accepts it (systemd is installed by ./dev.sh).
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

unit_in="$top_srcdir/contrib/systemd/helpgated.service.in"
for setting in Type=notify User=helpgate ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
    RestrictAddressFamilies= WatchdogSec= ExecReload= "ExecStartPre=.*--check-config"; do
    t_ok "the unit sets $setting" grep -Eq "^$setting" "$unit_in"
done

# Verify a copy whose binary paths point at this build.
unit="$T_DIR/helpgated.service"
sed -e "s|@sbindir@|$(cd "$top_builddir/daemon" && pwd)|g" -e "s|@sysconfdir@|$T_DIR|g" "$unit_in" >"$unit"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$unit" 2>&1)
status=$?
t_is "systemd-analyze verify exits 0" "$status" 0
t_no_match "and reports nothing about the unit" "$out" "helpgated.service:"
for page in helpgated.8 helpgate.conf.5; do
    t_ok "the unit's Documentation= page $page exists" test -s "$top_srcdir/daemon/$page"
done
t_done
