#!/bin/sh
# oscd_urban.sh: cva (Otsu, its default), cva with Kittler-Illingworth and urban on the 10
# OSCD cities in one run: per-city PCC, kappa, F1, the mean F1 of each and the ratios
# urban / cva; asserts both ratios, the mean and per-city floors of urban (set just under
# the figures measured, README Accuracy).
# Exit 77 (ctest: skipped) when ../shared/data is absent.
set -eu
geodelta=$1 eval=$2 data=$3 out=$4
if [ ! -d "$data/oscd" ]; then
    echo "SKIP: shared test data not found at $data/oscd"
    exit 77
fi
# issue 6: urban mean F1 >= 1.5 x cva's measured in the same run
MIN_RATIO=${MIN_RATIO:-1.5}
# and better than cva with the same (KI) threshold: measured 0.2994 / 0.2404 = 1.25
MIN_RATIO_KI=${MIN_RATIO_KI:-1.2}
# measured (urban defaults: no mean, Kittler-Illingworth, 0.1 ha): mean F1 0.2994,
# cva + Otsu 0.0916 (ratio 3.27), cva + KI 0.2404 (ratio 1.25)
MIN_MEAN_F1=0.29
# city and the urban floors (pcc kappa f1), just under: abudhabi 0.9304 0.3141 0.3475,
# beihai 0.9432 0.2984 0.3229, beirut 0.9559 0.4546 0.4745, bercy 0.9838 0.2275 0.2349,
# mumbai 0.9332 0.2529 0.2806, nantes 0.9793 0.4072 0.4163, paris 0.9570 0.0893 0.0942,
# pisa 0.9753 0.2164 0.2289, rennes 0.9602 0.4914 0.5093, saclay_e 0.8934 0.0683 0.0852
FLOORS="abudhabi 0.925 0.30 0.335
beihai 0.938 0.285 0.31
beirut 0.950 0.44 0.46
bercy 0.980 0.21 0.22
mumbai 0.928 0.24 0.27
nantes 0.975 0.395 0.405
paris 0.952 0.08 0.085
pisa 0.970 0.205 0.215
rennes 0.955 0.48 0.495
saclay_e 0.888 0.06 0.075"
mkdir -p "$out"
res="$out/results.txt"
: >"$res"
fail=0
echo "$FLOORS" | while read -r city pcc kappa f1; do
    for method in cva cva-ki urban; do
        o="$out/$method/$city"
        "$geodelta" detect -b "$data/oscd/$city/t1.tif" -a "$data/oscd/$city/t2.tif" \
            -m "${method%-ki}" -o "$o" --overwrite --no-map -q \
            $([ "$method" = cva-ki ] && echo "-t ki")
        if [ "$method" = urban ]; then
            floors="--min-pcc $pcc --min-kappa $kappa --min-f1 $f1"
        else
            floors=""
        fi
        # shellcheck disable=SC2086
        line=$("$eval" "$o/change.tif" "$data/oscd/$city/gt.tif" --name "$method.$city" \
            --gt-change-min 1 $floors) || { echo "$line"; echo "FAIL: $method $city under its floors"; echo fail >>"$res"; continue; }
        echo "$line"
        echo "$method $line" >>"$res"
    done
done
if grep -q '^fail' "$res"; then
    fail=1
fi
awk -v minr="$MIN_RATIO" -v minrk="$MIN_RATIO_KI" -v minf="$MIN_MEAN_F1" -v fail="$fail" '
    $1 == "cva" || $1 == "cva-ki" || $1 == "urban" {
        for (i = 1; i <= NF; i++) if ($i == "F1") { s[$1] += $(i + 1); n[$1]++ }
    }
    END {
        if (n["cva"] != 10 || n["cva-ki"] != 10 || n["urban"] != 10) {
            print "FAIL: not every city was scored"; exit 1
        }
        mc = s["cva"] / 10; mk = s["cva-ki"] / 10; mu = s["urban"] / 10
        r = mc > 0 ? mu / mc : 0; rk = mk > 0 ? mu / mk : 0
        printf "mean F1: cva + Otsu %.4f  cva + KI %.4f  urban %.4f\n", mc, mk, mu
        printf "ratio urban / cva + Otsu %.2f (target >= %.2f), urban / cva + KI %.2f (>= %.2f)\n", r, minr, rk, minrk
        if (mu < minf) { printf "FAIL: urban mean F1 %.4f < %.4f\n", mu, minf; exit 1 }
        if (r < minr) { printf "FAIL: ratio %.2f < %.2f\n", r, minr; exit 1 }
        if (rk < minrk) { printf "FAIL: ratio to cva + KI %.2f < %.2f\n", rk, minrk; exit 1 }
        exit fail
    }' "$res"
