#!/bin/sh
# expect.sh: the `expect` helper of the error-path scripts (sourced, not run).
# Needs G (geodelta), W (work folder), fails and n (counters) set by the caller.
# Progress lines (GDAL style "0...10...20", also one cut short by the error, "80.") are
# not counted as error lines; blank lines are.
# After a failing run the output folder must hold no manifest.json and no *.tmp-* file.

# expect_summary WHAT: the script's last line; exit 1 when any case failed
expect_summary() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails case(s) failed"
        exit 1
    fi
    echo "all $1 cases passed"
}

# expect NAME RC "PAT1 PAT2 ..." -- geodelta arguments (OUT is replaced by a fresh folder)
expect() {
    name=$1 want=$2 pats=$3
    shift 4
    n=$((n + 1))
    out="$W/out$n"
    rm -rf "$out"
    args=""
    for a in "$@"; do
        [ "$a" = OUT ] && a=$out
        args="$args '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
    done
    eval "\"\$G\" $args" >"$W/stdout$n" 2>"$W/stderr$n"
    rc=$?
    grep -v -E '^[0-9]+(\.+[0-9]*)*( - done\.)?$' "$W/stderr$n" >"$W/errlines$n"
    nl=$(wc -l <"$W/errlines$n")
    why=""
    [ "$rc" -eq "$want" ] || why="$why exit $rc (expected $want);"
    if [ "$want" -ne 0 ]; then
        [ "$nl" -eq 1 ] || why="$why stderr has $nl lines (expected 1);"
        head -n 1 "$W/errlines$n" | grep -q '^geodelta' || why="$why stderr does not start with 'geodelta';"
        for p in $pats; do
            grep -q -F -e "$p" "$W/errlines$n" || why="$why stderr does not mention '$p';"
        done
        if [ -d "$out" ]; then
            [ ! -e "$out/manifest.json" ] || why="$why manifest.json left after a failure;"
            ls -a "$out" | grep -q '\.tmp-' && why="$why temporary file left in $out;"
        fi
    fi
    if [ -z "$why" ]; then
        echo "PASS: $name"
    else
        echo "FAIL: $name:$why"
        echo "      command: geodelta $args"
        sed 's/^/      stderr| /' "$W/stderr$n"
        fails=$((fails + 1))
    fi
}
