#!/usr/bin/env bash
# parse-cli.sh — `helpgatectl parse` on every message of tests/data/mail/
# gives the expected fields (NAME.expect.json, the same files the unit test
# reads), prints valid JSON, reads standard input, and fails only when the
# file cannot be read.
set -u
. "$top_srcdir/tests/harness/tap.sh"
. "$top_srcdir/tests/harness/testlib.sh"

data="$top_srcdir/tests/data/mail"
compare='
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
bad = []
for key, value in want.items():
    if key.startswith("_"):
        continue
    if key == "warning_codes":
        codes = sorted(set(w.split(":")[0] for w in got.get("warnings", [])))
        if codes != sorted(set(value)):
            bad.append("warning_codes: got %s" % codes)
    elif got.get(key, "<missing>") != value:
        bad.append("%s: got %s want %s" % (key, json.dumps(got.get(key))[:200], json.dumps(value)[:200]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
'
checked=0
for eml in "$data"/*.eml; do
    name=$(basename "$eml" .eml)
    expect="$data/$name.expect.json"
    [ -f "$expect" ] || continue
    args=()
    limits=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("_limits", {})))' "$expect")
    # Cases that set parser limits the command line cannot express are the unit test's alone.
    case $limits in
    "{}") ;;
    *)
        prefix=$(python3 -c 'import json,sys; l=json.loads(sys.argv[1]); print(l.get("ticket_tag_prefix","")) if set(l) <= {"ticket_tag_prefix","support_address"} else sys.exit(1)' "$limits") || continue
        address=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("support_address",""))' "$limits")
        [ -n "$prefix" ] && args+=(--tag-prefix "$prefix")
        [ -n "$address" ] && args+=(--support-address "$address")
        ;;
    esac
    out="$T_DIR/$name.json"
    status=0
    "$HELPGATECTL" parse "${args[@]}" "$eml" >"$out" 2>"$T_DIR/$name.err" || status=$?
    if [ "$status" -ne 0 ]; then
        t_result 1 "parse $name exits 0"
        continue
    fi
    diff=$(python3 -c "$compare" "$out" "$expect" 2>&1)
    t_is "parse $name gives the expected fields" "$diff" ""
    checked=$((checked + 1))
done
t_ok "at least 80 messages were checked ($checked)" test "$checked" -ge 80

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
