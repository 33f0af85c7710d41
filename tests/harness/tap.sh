# tap.sh — TAP output for shell integration tests (sourced).
#   t_ok "what" command args...     passes when the command exits 0
#   t_fails "what" command args...  passes when the command exits non-zero
#   t_is "what" GOT WANT            passes when the strings are equal
#   t_match "what" TEXT REGEX       passes when TEXT matches the extended regex
#   t_done                          prints the plan; exits 1 if anything failed
t_count=0
t_failed=0

t_result() { # t_result STATUS DESCRIPTION
    t_count=$((t_count + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $t_count - $2"
    else
        echo "not ok $t_count - $2"
        t_failed=$((t_failed + 1))
    fi
}

t_ok() {
    local what=$1
    shift
    local status=0
    "$@" >/dev/null 2>&1 || status=$?
    t_result "$status" "$what"
    [ "$status" -eq 0 ] || echo "#   command failed ($status): $*"
}

t_fails() {
    local what=$1
    shift
    local status=0
    "$@" >/dev/null 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then t_result 0 "$what"; else
        t_result 1 "$what"
        echo "#   command unexpectedly succeeded: $*"
    fi
}

t_is() {
    if [ "$2" = "$3" ]; then t_result 0 "$1"; else
        t_result 1 "$1"
        printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
    fi
}

t_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then t_result 0 "$1"; else
        t_result 1 "$1"
        printf '#   no match for /%s/ in:\n' "$3"
        printf '%s\n' "$2" | head -20 | sed 's/^/#     /'
    fi
}

t_no_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then
        t_result 1 "$1"
        printf '#   unexpected match for /%s/ in:\n' "$3"
        printf '%s\n' "$2" | grep -E -- "$3" | head -5 | sed 's/^/#     /'
    else t_result 0 "$1"; fi
}

# t_bail MESSAGE: the test cannot go on (a service did not start…).
t_bail() {
    echo "Bail out! $*"
    exit 1
}

t_done() {
    echo "1..$t_count"
    [ "$t_failed" -eq 0 ]
}
