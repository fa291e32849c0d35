#!/usr/bin/env bash
# sar_mrf.sh: the MRF after the logratio/pcakmeans threshold: its values go into the
# manifest, --mrf-beta 0 turns it off, and it changes the classes when it relabels pixels;
# the decision before it (--sar-decision), its bias (--mrf-bias) and the score
# (--sar-score) are recorded and part of the run id.
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
run lrt logratio --sar-decision threshold --mrf-bias 0
run lrh logratio --sar-score nr --nr-window 5 --sar-decision hysteresis --hyst-low 0.6
t lr '.auto.mrf.beta == 3.5 and .auto.mrf.iterations >= 1 and .auto.mrf.max_iterations == 30 and .auto.mrf.on_abs_score == true and .auto.mrf.sigma > 0 and .auto.mrf.mean_change > .auto.mrf.mean_no_change' '.auto.mrf'
t lr '.parameters.mrf_beta == null and .auto.sar.speckle_window == 7 and .auto.sar.score == "ratio"' '[.parameters.mrf_beta, .auto.sar]'
t lr '.auto.sar_decision.mode == "flicm" and .auto.sar_decision.iterations >= 1 and .auto.sar_decision.centre_change > .auto.sar_decision.centre_no_change and .auto.mrf.bias == -1.5 and .parameters.sar_decision == null and .parameters.mrf_bias == null' '[.auto.sar_decision, .auto.mrf.bias, .parameters]'
t pk '.auto.sar_decision == {"mode": "threshold"} and .auto.mrf.bias == 0 and .auto.sar.speckle_window == 9' '[.auto.sar_decision, .auto.mrf.bias, .auto.sar]'
t lrt '.auto.sar_decision == {"mode": "threshold"} and .auto.mrf.bias == 0 and .parameters.sar_decision == "threshold" and .parameters.mrf_bias == 0' '[.auto.sar_decision, .auto.mrf.bias, .parameters]'
t lrh '.auto.sar.score == "nr" and .auto.sar.nr_window == 5 and .auto.sar_decision.mode == "hysteresis" and .auto.sar_decision.low_fraction == 0.6 and (.auto.sar_decision.low - 0.6 * .auto.sar_decision.high | fabs) < 1e-9 and .parameters.sar_score == "nr" and .parameters.hyst_low == 0.6' '[.auto.sar, .auto.sar_decision, .parameters]'
t lr0 '.auto.mrf == {"beta": 0} and .parameters.mrf_beta == 0' '[.auto.mrf, .parameters.mrf_beta]'
t pk '.auto.mrf.beta == 2 and .auto.mrf.on_abs_score == false and .parameters.mrf_beta == 2' '.auto.mrf'
# the options are part of the run id
for o in lr0 lrt lrh; do
    if [ "$(jq -r .run_id "$work/lr/manifest.json")" = "$(jq -r .run_id "$work/$o/manifest.json")" ]; then
        echo "FAIL: $o and the default share a run id"
        fail=1
    fi
done
# the decision shows in the classes
if cmp -s "$work/lr/change.tif" "$work/lrt/change.tif"; then
    echo "FAIL: FLICM with its bias gives the same change.tif as the threshold"
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
for bad in "--sar-decision otsu" "--sar-score diff" "--nr-window 4" "--hyst-low 2"; do
    # shellcheck disable=SC2086
    if "$gd" detect -q -b "$work/s/before.tif" -a "$work/s/after.tif" -m logratio \
        -o "$work/bad" $bad 2>/dev/null; then
        echo "FAIL: $bad accepted"
        fail=1
    fi
done
exit $fail
