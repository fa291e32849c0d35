#!/bin/sh
# threshold_fixed.sh: --threshold 0.2 is recorded as mode "fixed", value 0.2 in
# summary.json and manifest.json.
#   threshold_fixed.sh GEODELTA CHECK_OUTPUTS SAMPLES OUTDIR
set -u
G=$1 check=$2 S=$3 out=$4
if ! command -v jq >/dev/null 2>&1; then
    echo "SKIP: jq not installed"
    exit 77
fi
rm -rf "$out"
if ! "$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out" --overwrite -q \
        --threshold 0.2; then
    echo "FAIL: detect --threshold 0.2 failed"
    exit 1
fi
fails=0
"$check" "$out" || fails=$((fails + 1))
# jq -e: exit status from the last value (false/null -> 1)
t() {
    if jq -e "$2" "$out/$1" >/dev/null 2>&1; then
        echo "PASS: $1: $2"
    else
        echo "FAIL: $1: $2 (got: $(jq -c "$3" "$out/$1" 2>&1))"
        fails=$((fails + 1))
    fi
}
t summary.json '.threshold.mode == "fixed"' '.threshold'
t summary.json '(.threshold.value - 0.2 | fabs) < 1e-9' '.threshold'
t manifest.json '.auto.threshold.mode == "fixed"' '.auto.threshold'
t manifest.json '(.auto.threshold.value - 0.2 | fabs) < 1e-9' '.auto.threshold'
t manifest.json '(.parameters.threshold | tostring | tonumber) == 0.2' '.parameters'
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
