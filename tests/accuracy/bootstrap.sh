#!/bin/sh
# bootstrap.sh: eval_change's block-bootstrap intervals: a perfect result has a zero-width
# interval at 1; a real result's interval holds its point estimate, has width, and is the
# same on a second run (fixed seed).  bootstrap.sh GEODELTA EVAL_CHANGE DATA OUTDIR
set -eu
geodelta=$1 eval=$2 data=$3 out=$4
if [ ! -d "$data/sar/bern" ]; then
    echo "SKIP: shared test data not found at $data"
    exit 77
fi
gt=$data/sar/bern/gt.bmp
rm -rf "$out"
"$geodelta" detect -b "$data/sar/bern/t1.bmp" -a "$data/sar/bern/t2.bmp" -m logratio -o "$out" \
    -q --no-map --mmu-px 10
# the result against itself (classes 1..254 as the truth)
line=$("$eval" "$out/change.tif" "$out/change.tif" --gt-change-max 254 --bootstrap 200 | tail -1)
echo "$line"
echo "$line" | grep -q "PCC 1.0000-1.0000  kappa 1.0000-1.0000  F1 1.0000-1.0000" ||
    { echo "FAIL: a perfect result's interval is not [1, 1]"; exit 1; }
a=$("$eval" "$out/change.tif" "$gt" --gt-change-min 128 --bootstrap 500 --block 32)
b=$("$eval" "$out/change.tif" "$gt" --gt-change-min 128 --bootstrap 500 --block 32)
echo "$a"
[ "$a" = "$b" ] || { echo "FAIL: two bootstraps of the same result differ"; exit 1; }
echo "$a" | awk '
NR == 1 { k = $5 }
NR == 2 { split($0, f, "kappa "); split(f[2], r, "[- ]"); lo = r[1]; hi = r[2] }
END {
    if (!(lo <= k && k <= hi)) { print "FAIL: kappa " k " outside its interval " lo "-" hi; exit 1 }
    if (!(hi - lo > 0.01)) { print "FAIL: kappa interval " lo "-" hi " has no width"; exit 1 }
    print "PASS: kappa " k " in " lo "-" hi
}'
