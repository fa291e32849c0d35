#!/bin/sh
# kill.sh: atomic outputs. Runs `geodelta detect` and kills it with SIGKILL at random
# moments; every final-named output left behind must be byte-identical to the one of an
# uninterrupted run, and manifest.json may exist only when `geodelta verify` passes.
#   kill.sh GEODELTA SAMPLES_DIR WORKDIR [TRIALS] [SEED]
# Temporary files (NAME.tmp-PID) may stay behind: they are never mistaken for outputs.
set -u
G=$1 S=$2 W=$3 TRIALS=${4:-15} SEED=${5:-20261123}
rm -rf "$W"
mkdir -p "$W"
fails=0
run() { o=$1; shift; "$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$o" -q "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

t0=$(now_ms)
run "$W/ref" || { echo "FAIL: the reference run failed"; exit 1; }
t1=$(now_ms)
T=$((t1 - t0))
echo "reference run: $T ms"

# deterministic delays in [0, 1.2 T] ms: some runs finish before the kill
delays=$(awk -v seed="$SEED" -v n="$TRIALS" -v t="$T" \
    'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%d ", int(rand() * (1.2 * t + 1)) }')
i=0
complete=0 killed=0 leftovers=0
for d in $delays; do
    i=$((i + 1))
    out="$W/trial$i"
    # a plain command, not the shell function: $! must be geodelta itself, not a subshell
    "$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out" -q &
    pid=$!
    sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"
    if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null
    present=""
    for f in change.tif change.geojson map.png summary.json; do
        [ -e "$out/$f" ] || continue
        present="$present $f"
        if ! cmp -s "$W/ref/$f" "$out/$f"; then
            echo "FAIL: trial $i (killed after $d ms): $f is not the complete file"
            fails=$((fails + 1))
        fi
    done
    if [ -e "$out/manifest.json" ]; then
        complete=$((complete + 1))
        if ! "$G" verify "$out/manifest.json" >"$W/verify$i.log" 2>&1; then
            echo "FAIL: trial $i (killed after $d ms): manifest.json present but verify fails"
            sed 's/^/      /' "$W/verify$i.log"
            fails=$((fails + 1))
        fi
    fi
    n_tmp=$(ls -a "$out" 2>/dev/null | grep -c '\.tmp-')
    leftovers=$((leftovers + n_tmp))
    echo "trial $i: killed after $d ms; final files:${present:- none}$([ -e "$out/manifest.json" ] && echo ' + manifest'); $n_tmp temporary"
done

# a rerun with --overwrite over the last interrupted folder completes and verifies
if run "$out" --overwrite; then
    "$G" verify "$out/manifest.json" >/dev/null 2>&1 || { echo "FAIL: rerun after a kill does not verify"; fails=$((fails + 1)); }
else
    echo "FAIL: rerun with --overwrite after a kill failed"
    fails=$((fails + 1))
fi

echo "$TRIALS trials: $killed killed while running, $complete finished before the kill, $leftovers temporary files left"
if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "no partial output under a final name"
