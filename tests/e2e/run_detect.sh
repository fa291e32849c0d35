#!/bin/sh
# run_detect.sh: one end-to-end detect case on the generated samples.
#   run_detect.sh GEODELTA CHECK_OUTPUTS EVAL_CHANGE SAMPLES OUTDIR METHOD GTMIN PCC KAPPA F1
#                 [extra eval_change options, e.g. --gt-ignore 3]
# GTMIN "-" skips the accuracy check. Runs detect, check_outputs, eval_change against
# truth.tif and geodelta verify; fails on the first failing step.
set -eu
geodelta=$1 check=$2 eval=$3 samples=$4 out=$5 method=$6 gtmin=$7 pcc=$8 kappa=$9 f1=${10}
shift 10

rm -rf "$out"
echo "== geodelta detect -m $method"
"$geodelta" detect -b "$samples/before.tif" -a "$samples/after.tif" -m "$method" \
    -o "$out" --overwrite -q
echo "== check_outputs"
"$check" "$out"
if [ "$gtmin" != "-" ]; then
    echo "== eval_change"
    "$eval" "$out/change.tif" "$samples/truth.tif" --name "e2e.$method" --gt-change-min "$gtmin" \
        --min-pcc "$pcc" --min-kappa "$kappa" --min-f1 "$f1" "$@"
fi
echo "== geodelta verify"
"$geodelta" verify "$out/manifest.json"
echo "PASS: e2e.detect.$method"
