#!/usr/bin/env bash
# parse-cli.sh — `helpgatectl parse` on every message of tests/data/mail/
# gives the expected fields (NAME.expect.json, the same files the unit test
# reads), prints valid JSON, reads standard input, and fails only when the
# file cannot be read.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

# One Python process runs the command on every file and prints one TAP line each
# (numbered from 1; the shell checks below continue the count).
python3 - "$HELPGATECTL" "$top_srcdir/tests/data/mail" >"$T_DIR/cases.tap" <<'PY'
import glob, json, os, subprocess, sys

ctl, data = sys.argv[1], sys.argv[2]
n = 0
checked = 0

def result(ok, what, detail=""):
    global n
    n += 1
    print("%sok %d - %s" % ("" if ok else "not ", n, what))
    for line in detail.splitlines():
        print("#   " + line)

for eml in sorted(glob.glob(os.path.join(data, "*.eml"))):
    name = os.path.basename(eml)[:-4]
    expect_path = os.path.join(data, name + ".expect.json")
    if not os.path.exists(expect_path):
        continue
    want = json.load(open(expect_path))
    limits = want.get("_limits", {})
    # Limits the command line cannot express are the unit test's alone.
    if not set(limits) <= {"ticket_tag_prefix", "support_address"}:
        continue
    args = [ctl, "parse"]
    if limits.get("ticket_tag_prefix"):
        args += ["--tag-prefix", limits["ticket_tag_prefix"]]
    if limits.get("support_address"):
        args += ["--support-address", limits["support_address"]]
    run = subprocess.run(args + [eml], capture_output=True)
    if run.returncode != 0:
        result(False, "parse %s exits 0" % name, run.stderr.decode(errors="replace"))
        continue
    try:
        got = json.loads(run.stdout)
    except ValueError as e:
        result(False, "parse %s prints valid JSON" % name, str(e))
        continue
    bad = []
    for key, value in want.items():
        if key.startswith("_"):
            continue
        if key == "warning_codes":
            codes = sorted(set(w.split(":")[0] for w in got.get("warnings", [])))
            if codes != sorted(set(value)):
                bad.append("warning_codes: got %s want %s" % (codes, sorted(set(value))))
        elif got.get(key, "<missing>") != value:
            bad.append("%s: got %s want %s" % (key, json.dumps(got.get(key))[:200], json.dumps(value)[:200]))
    result(not bad, "parse %s gives the expected fields" % name, "\n".join(bad))
    checked += 1
result(checked >= 80, "at least 80 messages were checked (%d)" % checked)
PY
cat "$T_DIR/cases.tap"
t_count=$(grep -cE '^(not )?ok ' "$T_DIR/cases.tap")
t_failed=$(grep -c '^not ok ' "$T_DIR/cases.tap")
[ "$t_count" -gt 0 ] || t_result 1 "the comparison ran"

data="$top_srcdir/tests/data/mail"
first=$(ls "$data"/*.eml | head -1)
out=$("$HELPGATECTL" parse --compact - <"$first")
t_is "standard input works and --compact prints one line" "$(printf '%s\n' "$out" | wc -l)" 1
t_ok "and it is valid JSON" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"
printf '\xff\xfe\x00garbage\x00\n\n\x80' >"$T_DIR/binary.eml"
t_ok "binary junk still gives a record" "$HELPGATECTL" parse "$T_DIR/binary.eml"
status=0
"$HELPGATECTL" parse "$T_DIR/missing.eml" >/dev/null 2>&1 || status=$?
t_is "an unreadable file exits 1" "$status" 1
t_done
