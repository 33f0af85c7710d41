#!/usr/bin/env bash
# format.sh — every C file is formatted with the repo's .clang-format, and
# every shell script passes shellcheck (both from Debian, installed by dev.sh).
set -u
. "$top_srcdir/tests/harness/tap.sh"
cd "$top_srcdir" || exit 1

unformatted=""
for f in daemon/*.[ch] parsers/*.[ch] include/helpgate/*.h tests/unit/*.[ch] tests/fuzz/*.c \
    tests/integration/*.c bench/*.c; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted="$unformatted $f"
done
t_is "C files follow .clang-format (clang-format -i to fix)" "$unformatted" ""

out=$(shellcheck -x dev.sh .ci/run tests/harness/services.sh bench/ingest 2>&1)
t_is "dev.sh, .ci/run, services.sh and bench/ingest pass shellcheck" "$out" ""
t_done
