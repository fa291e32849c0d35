#!/bin/sh
# run_case.sh: one accuracy case: geodelta detect, then eval_change against the labels,
# with the floors of the case's row (ID) in docs/accuracy.csv.
# Exit 77 (ctest: skipped) when ../shared/data is absent.
set -eu
geodelta=$1 eval=$2 gen=$3 csv=$4 id=$5 data=$6 out=$7 before=$8 after=$9
shift 9
gt=$1 method=$2 gtmin=$3
shift 3
# a case without its three floors in the CSV fails here, before any work
floors=$("$gen" floors "$csv" "$id")
set -- $floors "$@"
pcc=$1 kappa=$2 f1=$3
shift 3
for v in "$pcc" "$kappa" "$f1"; do
    [ "$v" != - ] || { echo "FAIL: $id lacks a pcc, kappa or f1 floor in $csv"; exit 1; }
done
if [ ! -d "$data" ]; then
    echo "SKIP: shared test data not found at $data"
    exit 77
fi
echo "floors from $csv ($id): pcc $pcc kappa $kappa f1 $f1"
"$geodelta" detect -b "$data/$before" -a "$data/$after" -m "$method" -o "$out" \
    --overwrite --no-map -q "$@"
"$eval" "$out/change.tif" "$data/$gt" --name "$(basename "$out")" --gt-change-min "$gtmin" \
    --min-pcc "$pcc" --min-kappa "$kappa" --min-f1 "$f1" ${GT_IGNORE:+--gt-ignore "$GT_IGNORE"} \
    ${CHANGE_MAX:+--change-max "$CHANGE_MAX"}
