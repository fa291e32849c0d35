#!/bin/sh
# coreg_brandenburg.sh: geodelta coreg on the AROSICS Brandenburg pair (../shared/data
# README, coreg/brandenburg) at AROSICS' two 256 px windows, printed next to the shifts
# AROSICS recorded there. AROSICS reports the correction (its map shift is minus our
# content displacement): we compare ours with minus theirs. AROSICS is an estimator
# too, not ground truth; the tolerance is 0.1 px per axis, just above the largest
# difference measured when this test was written (0.08 px, window 1, which reaches into
# nodata). Exit 77 (skipped) when the data is absent.
set -eu
geodelta=$1 data=$2/coreg/brandenburg
if [ ! -f "$data/ref.tif" ]; then
    echo "SKIP: $data not found"
    exit 77
fi
rc=0
# window centre X Y, AROSICS shift in px: x, y (rows down)
for w in "339611 5856426 -0.7194 1.8898" "353810 5840516 -0.6564 1.6798"; do
    set -- $w
    json=$("$geodelta" coreg -r "$data/ref.tif" -t "$data/tgt.tif" --window 256 --at "$1,$2" \
        --min-reliability 0 | tr -d ' \n')
    dx=$(echo "$json" | sed -n 's/.*"shift_px":{"x":\([-0-9.e]*\),"y":\([-0-9.e]*\)}.*/\1/p')
    dy=$(echo "$json" | sed -n 's/.*"shift_px":{"x":\([-0-9.e]*\),"y":\([-0-9.e]*\)}.*/\2/p')
    rel=$(echo "$json" | sed -n 's/.*"reliability":\([0-9.e]*\).*/\1/p')
    awk -v X="$1" -v Y="$2" -v ax="$3" -v ay="$4" -v x="$dx" -v y="$dy" -v r="$rel" 'BEGIN {
        ex = x + ax; ey = y + ay; if (ex < 0) ex = -ex; if (ey < 0) ey = -ey;
        printf "window (%s, %s): geodelta %.3f, %.3f px (reliability %.1f %%); AROSICS %.4f, %.4f px; |diff| %.3f, %.3f px (limit 0.1)\n",
            X, Y, x, y, r, -ax, -ay, ex, ey;
        exit (ex <= 0.1 && ey <= 0.1) ? 0 : 1 }' || rc=1
done
# the automatic window must agree with those two to within the spread of the scene
json=$("$geodelta" coreg -r "$data/ref.tif" -t "$data/tgt.tif" | tr -d ' \n')
echo "automatic window: $(echo "$json" | sed -n 's/.*\("shift_px":{[^}]*}\).*\("reliability":[0-9.]*\).*/\1 \2/p')"
dx=$(echo "$json" | sed -n 's/.*"shift_px":{"x":\([-0-9.e]*\),"y":\([-0-9.e]*\)}.*/\1/p')
dy=$(echo "$json" | sed -n 's/.*"shift_px":{"x":\([-0-9.e]*\),"y":\([-0-9.e]*\)}.*/\2/p')
awk -v x="$dx" -v y="$dy" 'BEGIN { exit (x > 0.55 && x < 0.82 && y > -2.0 && y < -1.58) ? 0 : 1 }' || {
    echo "automatic window outside the range of AROSICS' two windows +- 0.1 px"; rc=1; }
# AROSICS expects these two to fail: clouds in the target, and outside the reference
set +e
"$geodelta" coreg -r "$data/ref.tif" -t "$data/tgt.tif" --window 256 --at 353308,5859404 -q >/dev/null
c=$?
"$geodelta" coreg -r "$data/ref.tif" -t "$data/tgt.tif" --window 256 --at 349533,5818862 -q >/dev/null 2>&1
o=$?
set -e
echo "cloudy window: exit $c (2 expected: refused); window outside: exit $o (1 expected)"
[ "$c" = 2 ] && [ "$o" = 1 ] || rc=1
exit $rc
