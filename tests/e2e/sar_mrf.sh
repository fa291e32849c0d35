#!/usr/bin/env bash
# sar_mrf.sh: the MRF after the logratio/pcakmeans threshold: its values go into the
# manifest, --mrf-beta 0 turns it off, and it changes the classes when it relabels pixels.
# usage: sar_mrf.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -euo pipefail
gd="$1" make="$2" work="$3"
if ! command -v jq >/dev/null 2>&1; then
    echo "SKIP: jq not installed"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
"$make" "$work/s" --size 256 >/dev/null
fail=0
t() { # manifest-of-run jq-test what-to-show
    if ! jq -e "$2" "$work/$1/manifest.json" >/dev/null; then
        echo "FAIL: $1: $2 (got: $(jq -c "$3" "$work/$1/manifest.json"))"
        fail=1
    fi
}
run() { # name method options...
    local name=$1 m=$2
    shift 2
    "$gd" detect -q --no-map -b "$work/s/before.tif" -a "$work/s/after.tif" -m "$m" \
        -o "$work/$name" --mmu-px 0 "$@"
}
run lr logratio
run lr0 logratio --mrf-beta 0
run pk pcakmeans --mrf-beta 2
t lr '.auto.mrf.beta == 3.5 and .auto.mrf.iterations >= 1 and .auto.mrf.max_iterations == 30 and .auto.mrf.on_abs_score == true and .auto.mrf.sigma > 0 and .auto.mrf.mean_change > .auto.mrf.mean_no_change' '.auto.mrf'
t lr '.parameters.mrf_beta == null and .auto.sar.speckle_window == 9' '[.parameters.mrf_beta, .auto.sar]'
t lr0 '.auto.mrf == {"beta": 0} and .parameters.mrf_beta == 0' '[.auto.mrf, .parameters.mrf_beta]'
t pk '.auto.mrf.beta == 2 and .auto.mrf.on_abs_score == false and .parameters.mrf_beta == 2' '.auto.mrf'
# the option is part of the run id
if [ "$(jq -r .run_id "$work/lr/manifest.json")" = "$(jq -r .run_id "$work/lr0/manifest.json")" ]; then
    echo "FAIL: --mrf-beta 0 and the default share a run id"
    fail=1
fi
# relabelled pixels show in the classes
if [ "$(jq .auto.mrf.relabelled "$work/lr/manifest.json")" -gt 0 ] &&
    cmp -s "$work/lr/change.tif" "$work/lr0/change.tif"; then
    echo "FAIL: the MRF relabelled pixels but change.tif is the same as without it"
    fail=1
fi
# a bad value is a usage error
if "$gd" detect -q -b "$work/s/before.tif" -a "$work/s/after.tif" -m logratio \
    -o "$work/bad" --mrf-beta -1 2>/dev/null; then
    echo "FAIL: --mrf-beta -1 accepted"
    fail=1
fi
exit $fail
