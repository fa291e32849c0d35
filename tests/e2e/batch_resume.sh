#!/usr/bin/env bash
# batch_resume.sh: a batch killed with SIGKILL at random moments, then resumed, ends with
# exactly the outputs (hashes) and index of an uninterrupted run.
# usage: batch_resume.sh GEODELTA GD_MAKE_SAMPLES WORKDIR [TRIALS]
set -euo pipefail
gd="$1" gen="$2" work="$3" trials="${4:-3}"
. "$(dirname "$0")/batch_common.sh"
rm -rf "$work"
make_batch_inputs "$gen" "$work/in"

# reference: one uninterrupted run
t0=$(date +%s.%N)
set +e
"$gd" batch "$work/in/jobs.json" -o "$work/ref" --jobs 2 -q
rc=$?
set -e
t1=$(date +%s.%N)
[[ $rc == 3 ]] || { echo "FAIL: reference run exit $rc, expected 3 (one job fails)"; exit 1; }
ref_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
echo "reference run: ${ref_ms} ms"
output_hashes "$work/ref" > "$work/ref.sha"
[[ $(grep -c 'change.tif' "$work/ref.sha") == 5 ]] || { echo "FAIL: 5 jobs should succeed"; cat "$work/ref.sha"; exit 1; }
grep -q '^fails,failed,' "$work/ref/batch.csv" || { echo "FAIL: job 'fails' not failed"; exit 1; }

RANDOM=$$
for trial in $(seq 1 "$trials"); do
    out="$work/t$trial"
    kills=0
    # up to two kills per trial, each at a random moment of a (re)started run
    for k in 1 2; do
        "$gd" batch "$work/in/jobs.json" -o "$out" --jobs 2 -q --resume &
        pid=$!
        ms=$((RANDOM % ref_ms))
        sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            kills=$((kills + 1))
        fi
        wait "$pid" 2>/dev/null || true
    done
    # the job processes die with the batch (PR_SET_PDEATHSIG); give them a moment
    sleep 0.2
    set +e
    "$gd" batch "$work/in/jobs.json" -o "$out" --jobs 2 -q --resume
    rc=$?
    set -e
    [[ $rc == 3 ]] || { echo "FAIL: trial $trial: resumed run exit $rc, expected 3"; exit 1; }
    output_hashes "$out" > "$out.sha"
    if ! diff <(sed "s|\./||" "$work/ref.sha") <(sed "s|\./||" "$out.sha") >/dev/null; then
        echo "FAIL: trial $trial ($kills kills): outputs differ from the uninterrupted run"
        diff "$work/ref.sha" "$out.sha" || true
        exit 1
    fi
    if ! diff <(index_without_seconds "$work/ref/batch.csv") <(index_without_seconds "$out/batch.csv"); then
        echo "FAIL: trial $trial: batch.csv differs"
        exit 1
    fi
    # the durations that were stripped for the comparison are there (reused jobs too)
    if ! awk -F, 'NR > 1 && $9 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ { print "no seconds: " $0; bad = 1 }
                  END { exit bad }' "$out/batch.csv"; then
        echo "FAIL: trial $trial: job durations missing in batch.csv"
        exit 1
    fi
    if ls "$out"/*/*.tmp-* >/dev/null 2>&1; then
        echo "FAIL: trial $trial: temporary files left"; ls "$out"/*/*.tmp-*; exit 1
    fi
    for d in "$out"/*/; do
        [[ -f "$d/manifest.json" ]] || continue
        "$gd" verify -q "$d/manifest.json" || { echo "FAIL: trial $trial: $d does not verify"; exit 1; }
    done
    echo "trial $trial: $kills kill(s), resumed: identical outputs and index"
done
echo "PASS"
