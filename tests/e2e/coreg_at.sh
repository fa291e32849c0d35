#!/bin/sh
# coreg_at.sh: `geodelta coreg --at X,Y` outside the reference image is a usage error
# (exit 1, one line naming --at) that frees what the estimate had allocated: under the
# asan preset a leak adds LeakSanitizer's report to stderr (ASan keeps exit code 1).
#   coreg_at.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -eu
G=$1 gen=$2 W=$3
rm -rf "$W"
mkdir -p "$W"
"$gen" "$W/s" --size 128 >/dev/null
set +e
"$G" coreg -r "$W/s/before.tif" -t "$W/s/after.tif" --at 0,0 >/dev/null 2>"$W/at.err"
rc=$?
set -e
cat "$W/at.err"
[ "$rc" = 1 ] || { echo "FAIL: --at outside: exit $rc, expected 1"; exit 1; }
grep -q '^geodelta: --at 0,0 lies outside the reference image' "$W/at.err" ||
    { echo "FAIL: --at outside: message"; exit 1; }
[ "$(wc -l < "$W/at.err")" = 1 ] || { echo "FAIL: --at outside: more than one line on stderr"; exit 1; }
# inside the image the window is taken there
"$G" coreg -r "$W/s/before.tif" -t "$W/s/after.tif" --at 400640,5799360 --window 64 \
    >"$W/at.json"
grep -q '"shift_px"' "$W/at.json" || { echo "FAIL: --at inside: no shift"; exit 1; }
echo PASS
