#!/bin/sh
# memlimit.sh: geodelta under an address-space limit (ulimit -v).
#   memlimit.sh GEODELTA MAKE_SAMPLES MAKE_BAD_INPUTS WORKDIR SIZE LIMIT_MB
# 1. a SIZE x SIZE sample pair (ndvi) must run to a verified manifest under LIMIT_MB;
#    elapsed time and peak RSS are printed (when /usr/bin/time exists);
# 2. a header claiming 40000 x 40000 pixels (16 GB for the chain, less than the machine's
#    memory but more than the limit) must be refused before allocating: exit 3, one line.
set -u
G=$1 MKS=$2 MKBAD=$3 W=$4 SIZE=$5 LIMIT=$6
rm -rf "$W"
mkdir -p "$W"
fails=0
"$MKS" "$W/samples" --size "$SIZE" >/dev/null || { echo "FAIL: cannot make samples"; exit 1; }
mkdir -p "$W/bad"
"$MKBAD" "$W/samples" "$W/bad" || { echo "FAIL: cannot make the bad inputs"; exit 1; }
TIME=""
[ -x /usr/bin/time ] && TIME="/usr/bin/time -f %e_s_elapsed,_peak_RSS_%M_KB -o $W/time.txt"

(
    ulimit -v $((LIMIT * 1024)) || exit 99
    # shellcheck disable=SC2086
    $TIME "$G" detect -b "$W/samples/before.tif" -a "$W/samples/after.tif" -m ndvi -o "$W/out" -q
)
rc=$?
if [ $rc -eq 99 ]; then
    echo "SKIP: ulimit -v is not available"
    exit 77
fi
if [ $rc -ne 0 ]; then
    echo "FAIL: ${SIZE}x$SIZE under ulimit -v $LIMIT MiB: exit $rc"
    fails=$((fails + 1))
elif ! "$G" verify "$W/out/manifest.json" >/dev/null 2>&1; then
    echo "FAIL: ${SIZE}x$SIZE under ulimit -v $LIMIT MiB: verify fails"
    fails=$((fails + 1))
else
    echo "PASS: ${SIZE}x$SIZE under ulimit -v $LIMIT MiB $( [ -f "$W/time.txt" ] && tr '_' ' ' <"$W/time.txt")"
fi

(
    ulimit -v $((LIMIT * 1024))
    "$G" detect -b "$W/bad/big.tif" -a "$W/bad/big.tif" -m logratio -o "$W/big" -q 2>"$W/big.err"
)
rc=$?
if [ $rc -eq 3 ] && [ "$(wc -l <"$W/big.err")" -eq 1 ] && grep -q "MiB" "$W/big.err" &&
   [ ! -e "$W/big/manifest.json" ]; then
    echo "PASS: 40000x40000 refused under ulimit -v $LIMIT MiB: $(cat "$W/big.err")"
else
    echo "FAIL: 40000x40000 under ulimit -v $LIMIT MiB: exit $rc (expected 3): $(cat "$W/big.err")"
    fails=$((fails + 1))
fi
[ $fails -eq 0 ] || exit 1
