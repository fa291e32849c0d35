#!/bin/sh
# integrity.sh: evidence integrity under hostile conditions (issue 20), one case per call.
#   integrity.sh CASE GEODELTA SAMPLES WORKDIR
# GEODELTA is the test build (geodelta_hooks): the races are made exact with its pause
# points (GEODELTA_TEST_PAUSE_AT/DIR, tests/e2e/testhooks.c), not with sleeps. Given a
# binary without them (today's main), a case waits a moment for the pause, goes on, and
# fails on what it checks. Cases:
#   tmp-links      temporary names pre-planted as links to a file outside OUTDIR (root)
#   tmp-links-user the same as an unprivileged user (setpriv; skipped when not root)
#   runlog-link    run.log planted as a symbolic link and as a hard link
#   lock           a second run into an OUTDIR in use fails at once, naming the first's PID
#   swap           an input replaced (mv) after it was hashed: exit 2, no manifest
#   grow           an input appended to after it was hashed, and before the manifest
#   fifo           a FIFO or a device as input: refused at once (exit 2)
#   sigint sigterm stopped at a strip: 130/143, one line, no manifest, no temporary left;
#                  a later --overwrite run removes an older run's temporaries
set -u
case_=$1 G=$2 S=$3 W=$4
rm -rf "$W"
mkdir -p "$W"
fails=0
pass() { echo "PASS: $1"; }
failc() { echo "FAIL: $1"; fails=$((fails + 1)); }
finish() {
    [ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
    exit 0
}
B=$S/before.tif A=$S/after.tif

# waits (up to $2 s) for the run to reach pause point $1; 1 when it did not
reached() {
    n=0
    while [ ! -e "$W/pause/$1.reached" ] && [ $n -lt $(($2 * 20)) ]; do
        sleep 0.05
        n=$((n + 1))
    done
    [ -e "$W/pause/$1.reached" ] || { echo "note: pause point $1 not reached (no test hooks?)"; return 1; }
}
# starts geodelta in the background paused at point $1; the rest are its arguments
start_paused() {
    point=$1
    shift
    mkdir -p "$W/pause"
    GEODELTA_TEST_PAUSE_AT=$point GEODELTA_TEST_PAUSE_DIR=$W/pause "$G" "$@" \
        >"$W/run.out" 2>"$W/run.err" &
    pid=$!
}
tmp_left() { ls -A "$1" 2>/dev/null | grep -c 'tmp'; }

links_case() { # $1: runner prefix (empty or setpriv ...), $2: folder
    d=$2
    victim=$d/victim.txt
    echo "not an output" >"$victim"
    mkdir -p "$d/out"
    [ -n "$1" ] && chown -R 65534:65534 "$d"
    # the PID is known before the run: the planting shell execs geodelta
    $1 sh -c 'for n in change.tif change.geojson summary.json map.png manifest.json; do
                  ln -s "$1" "$2/$n.tmp-$$"; done
              exec "$3" detect -b "$4" -a "$5" -m ndvi -o "$2" -q' \
        sh "$victim" "$d/out" "$G" "$B" "$A" 2>"$d/err"
    rc=$?
    if [ "$(cat "$victim")" = "not an output" ]; then
        pass "the file the planted links lead to is untouched"
    else
        failc "the file outside OUTDIR was overwritten through a planted temporary link"
    fi
    for f in change.tif change.geojson summary.json manifest.json; do
        if [ -L "$d/out/$f" ] || [ ! -f "$d/out/$f" ]; then
            failc "$f is not a regular file of its own (exit $rc: $(cat "$d/err"))"
        fi
    done
    if [ $rc -eq 0 ] && $1 "$G" verify "$d/out/manifest.json" >/dev/null 2>&1; then
        pass "run exits 0 and its manifest verifies"
    else
        failc "exit $rc or verify failed: $(cat "$d/err")"
    fi
}

case $case_ in
tmp-links)
    links_case "" "$W"
    ;;
tmp-links-user)
    if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
        echo "SKIP: needs root and setpriv to run as an unprivileged user"
        exit 77
    fi
    # the samples must be readable by nobody: a copy under the work folder
    mkdir -p "$W/in"
    cp "$B" "$A" "$W/in/"
    B=$W/in/before.tif A=$W/in/after.tif
    chmod 755 "$W" && chmod 644 "$B" "$A"
    d=$(dirname "$W")
    while [ "$d" != / ]; do
        [ -x "$d" ] || { echo "SKIP: $d is not searchable by other users"; exit 77; }
        d=$(dirname "$d")
    done
    links_case "setpriv --reuid=65534 --regid=65534 --clear-groups" "$W"
    ;;
runlog-link)
    for kind in symbolic hard; do
        victim=$W/victim-$kind.txt
        echo "not a log" >"$victim"
        mkdir -p "$W/$kind"
        if [ $kind = symbolic ]; then ln -s "$victim" "$W/$kind/run.log"; else ln "$victim" "$W/$kind/run.log"; fi
        "$G" detect -b "$B" -a "$A" -m ndvi -o "$W/$kind" -q 2>"$W/$kind.err"
        rc=$?
        if [ "$(cat "$victim")" = "not a log" ]; then
            pass "$kind link run.log: its target is untouched"
        else
            failc "$kind link run.log: the file it leads to was overwritten"
        fi
        if [ $rc -eq 0 ] && [ ! -L "$W/$kind/run.log" ] && grep -q geodelta "$W/$kind/run.log" &&
            "$G" verify "$W/$kind/manifest.json" >/dev/null 2>&1; then
            pass "$kind link run.log: exit 0, a run.log of its own, verify passes"
        else
            failc "$kind link run.log: exit $rc ($(cat "$W/$kind.err")) or run.log still a link"
        fi
    done
    ;;
lock)
    start_paused outdir-locked detect -b "$B" -a "$A" -m ndvi -o "$W/out" -q
    reached outdir-locked 5
    t0=$(date +%s)
    "$G" detect -b "$B" -a "$B" -m ndvi -o "$W/out" -q 2>"$W/second.err"
    rc2=$?
    t1=$(date +%s)
    touch "$W/pause/outdir-locked.go"
    wait "$pid"
    rc1=$?
    if [ $rc2 -eq 4 ] && [ $((t1 - t0)) -le 2 ] && [ "$(wc -l <"$W/second.err")" -eq 1 ] &&
        grep -q "in use by another geodelta run (PID $pid)" "$W/second.err"; then
        pass "second run: exit 4 at once, one line naming PID $pid"
    else
        failc "second run: exit $rc2 after $((t1 - t0)) s: $(cat "$W/second.err")"
    fi
    if [ $rc1 -eq 0 ] && "$G" verify --inputs "$W/out/manifest.json" >/dev/null 2>&1 &&
        grep -q "after.tif" "$W/out/summary.json" && [ ! -e "$W/out/.geodelta.lock" ]; then
        pass "first run: exit 0, its own outputs verify, the lock file is gone"
    else
        failc "first run: exit $rc1 ($(cat "$W/run.err")); verify or summary wrong"
    fi
    ;;
swap | grow)
    mkdir -p "$W/in"
    cp "$B" "$A" "$W/in/"
    # the file swapped in: the after image with other pixels, on the same grid
    gdal_translate -q -scale 0 10000 0 6000 "$A" "$W/in/new-orig.tif" || failc "no gdal_translate"
    cp "$W/in/new-orig.tif" "$W/in/new.tif"
    point=inputs-hashed
    for step in 1 2; do
        out=$W/out$step
        start_paused $point detect -b "$W/in/before.tif" -a "$W/in/after.tif" -m ndvi -o "$out" -q
        reached $point 5 || sleep 0.5
        if [ "$case_" = swap ]; then
            cp "$W/in/after.tif" "$W/in/after.orig"
            mv "$W/in/new.tif" "$W/in/after.tif"
        else
            cp "$W/in/after.tif" "$W/in/after.orig"
            printf 'appended' >>"$W/in/after.tif"
        fi
        touch "$W/pause/$point.go"
        wait "$pid"
        rc=$?
        if [ $rc -eq 2 ] && [ ! -e "$out/manifest.json" ] &&
            grep -q "after.tif changed during the run" "$W/run.err"; then
            pass "$case_ at $point: exit 2 naming after.tif, no manifest"
        else
            failc "$case_ at $point: exit $rc, manifest $([ -e "$out/manifest.json" ] && echo present || echo absent): $(cat "$W/run.err")"
        fi
        # the second time: right before the manifest (appending while it is read)
        mv "$W/in/after.orig" "$W/in/after.tif"
        cp "$W/in/new-orig.tif" "$W/in/new.tif"
        rm -rf "$W/pause"
        point=before-manifest
    done
    ;;
fifo)
    mkfifo "$W/pipe.tif"
    for input in "$W/pipe.tif" /dev/zero; do
        t0=$(date +%s)
        timeout 30 "$G" detect -b "$B" -a "$input" -m ndvi -o "$W/out" -q 2>"$W/fifo.err"
        rc=$?
        t1=$(date +%s)
        if [ $rc -eq 2 ] && [ $((t1 - t0)) -le 5 ] && grep -q "only regular files" "$W/fifo.err"; then
            pass "$input refused at once: $(cat "$W/fifo.err")"
        else
            failc "$input: exit $rc after $((t1 - t0)) s: $(cat "$W/fifo.err")"
        fi
        rm -rf "$W/out"
    done
    ;;
sigint | sigterm)
    sig=INT want=130
    [ "$case_" = sigterm ] && sig=TERM want=143
    # --mem 1: the score goes to a temporary file, which must go too
    start_paused strip detect -b "$B" -a "$A" -m ndvi -o "$W/out" -q --mem 1 --threads 1
    reached strip 5 || sleep 0.3
    kill -$sig "$pid"
    wait "$pid"
    rc=$?
    if [ $rc -eq $want ] && [ "$(wc -l <"$W/run.err")" -eq 1 ] &&
        grep -q "interrupted by SIG$sig" "$W/run.err"; then
        pass "SIG$sig: exit $rc, one line: $(cat "$W/run.err")"
    else
        failc "SIG$sig: exit $rc (want $want), stderr: $(cat "$W/run.err")"
    fi
    if [ ! -e "$W/out/manifest.json" ] && [ "$(tmp_left "$W/out")" -eq 0 ] &&
        [ ! -e "$W/out/.geodelta.lock" ]; then
        pass "SIG$sig: no manifest, no temporary file, no lock file left"
    else
        failc "SIG$sig: left behind: $(ls -A "$W/out" | tr '\n' ' ')"
    fi
    # temporaries of older versions and of a killed run: removed by the next run
    touch "$W/out/change.tif.tmp-99999" "$W/out/score.tmp-99999.tif"
    mkdir -p "$W/out/.geodelta.tmp-AbCdEf" && touch "$W/out/.geodelta.tmp-AbCdEf/1-map.png"
    if "$G" detect -b "$B" -a "$A" -m ndvi -o "$W/out" -q --overwrite &&
        "$G" verify "$W/out/manifest.json" >/dev/null && [ "$(tmp_left "$W/out")" -eq 0 ]; then
        pass "a later --overwrite run completes and removes the stale temporaries"
    else
        failc "the --overwrite run after SIG$sig: $(ls -A "$W/out" | tr '\n' ' ')"
    fi
    ;;
*)
    echo "unknown case $case_"
    exit 1
    ;;
esac
finish
