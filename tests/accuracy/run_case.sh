#!/bin/sh
# run_case.sh: one accuracy case: geodelta detect, then eval_change against the labels.
# Exit 77 (ctest: skipped) when ../shared/data is absent.
set -eu
geodelta=$1 eval=$2 data=$3 out=$4 before=$5 after=$6 gt=$7 method=$8 gtmin=$9
shift 9
pcc=$1 kappa=$2 f1=$3
shift 3
if [ ! -d "$data" ]; then
    echo "SKIP: shared test data not found at $data"
    exit 77
fi
"$geodelta" detect -b "$data/$before" -a "$data/$after" -m "$method" -o "$out" \
    --overwrite --no-map -q "$@"
"$eval" "$out/change.tif" "$data/$gt" --name "$(basename "$out")" --gt-change-min "$gtmin" \
    --min-pcc "$pcc" --min-kappa "$kappa" --min-f1 "$f1" ${GT_IGNORE:+--gt-ignore "$GT_IGNORE"} \
    ${CHANGE_MAX:+--change-max "$CHANGE_MAX"}
