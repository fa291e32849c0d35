#!/bin/sh
# sweep_sar.sh: on demand (not in ctest): geodelta over the SAR pairs of ../shared/data/sar
# for a grid of settings; prints kappa (and F1) per pair, the mean kappa, and how many of
# the method's targets each setting meets, then per method the settings ranked by targets
# met, then mean kappa, then the leave-one-pair-out figures: for each pair, the setting
# with the best mean kappa on the other pairs, scored on the pair left out (the disclosed
# error rate of a tuned default is that one, not the in-sample one). DEFAULT (labels of
# the grid, space-separated, one per method) names the current defaults, whose in-sample
# figures are printed beside the held-out ones.
#   tests/accuracy/sweep_sar.sh build/dev/geodelta build/dev/tests/accuracy/eval_change \
#       ../shared/data [outdir]
# Methods and the pairs they are scored on:
#   logratio, pcakmeans: the five pairs (change = gt >= 128); targets = issue 6
#     (Ottawa 0.92, Bern 0.86, Sulzberger 0.965, Yellow River A 0.85)
#   flood: the two SAR flood pairs, Bern and Yellow River A (class 1, new water, scored:
#     eval_change --change-max 1, as the accuracy tests); targets = issue 21 (both 0.85)
# The grid comes from the environment (space-separated lists), defaults in brackets:
#   METHODS [logratio pcakmeans]  WINDOWS (speckle) [5 7 9]  SMOOTHS (logratio, flood)
#   [0 3 5]  BLOCKS (pcakmeans) [3 5]  BETAS (--mrf-beta) [0 1 2 3 4 5 6 8]
#   MMUS (px) [0 10; flood: 8]  SCORES (--sar-score; nr:N = --nr-window N) [ratio]
#   DECISIONS (--sar-decision; hysteresis:F = --hyst-low F) [threshold]
#   SPECKLES (--speckle) [refined-lee]  BIASES (--mrf-bias) [0]
#   EXTRAS: settings outside the grid, run for every method, ';'-separated
#     "label=detect options" (e.g. EXTRAS='ratio=--flood-rule ratio' for flood)
# CSV=docs/accuracy.csv GEN=build/…/gd_accuracy_gen: write each pair's held-out kappa and
# F1 into loo_kappa / loo_f1 of its row (logratio: sar.PAIR, other methods:
# sar.PAIR.METHOD) with gd_accuracy_gen set.
set -eu
geodelta=$1 eval=$2 data=$3/sar
out=${4:-${TMPDIR:-/tmp}/geodelta-sweep-sar}
[ -d "$data" ] || { echo "no SAR data at $data" >&2; exit 2; }
export GDAL_CACHEMAX="${GDAL_CACHEMAX:-512}"
mkdir -p "$out"
results=$out/results.txt
: > "$results"

pairs_of() { case $1 in flood) echo "bern yellow_river_a" ;;
                        *) echo "bern ottawa sulzberger yellow_river_a yellow_river_c" ;; esac; }
targets_of() { case $1 in flood) echo "bern=0.85 yellow_river_a=0.85" ;;
                          *) echo "ottawa=0.92 bern=0.86 sulzberger=0.965 yellow_river_a=0.85" ;;
               esac; }

run() { # method label options...
    m=$1 label=$2
    shift 2
    line="$m $label"
    evalopt=
    [ "$m" != flood ] || evalopt="--change-max 1"
    for c in $(pairs_of "$m"); do
        "$geodelta" detect -b "$data/$c/t1.bmp" -a "$data/$c/t2.bmp" -m "$m" -o "$out/run" \
            --overwrite --no-map -q "$@" >/dev/null 2>&1 || { line="$line $c=fail"; continue; }
        # shellcheck disable=SC2086 # evalopt is empty or one option with its value
        kf=$("$eval" "$out/run/change.tif" "$data/$c/gt.bmp" --name "$c" --gt-change-min 128 \
                $evalopt | awk '{for (i = 1; i < NF; i++) {
                    if ($i == "kappa") k = $(i + 1); if ($i == "F1") f = $(i + 1) }
                    print k "," f }')
        line="$line $c=$kf"
    done
    echo "$line" | awk -v targets="$(targets_of "$m")" '{
        s = 0; n = 0
        for (i = 3; i <= NF; i++) {
            split($i, a, "="); k[a[1]] = a[2] + 0; s += a[2]; n++
        }
        nt = split(targets, T, " "); met = 0
        for (j = 1; j <= nt; j++) { split(T[j], b, "="); met += (k[b[1]] >= b[2] + 0) }
        printf "%s mean=%.4f targets=%d/%d\n", $0, s / n, met, nt
    }' | tee -a "$results"
}

# a list item "name:value" is the option's name plus one option for its parameter
score_opt() { case $1 in nr:*) echo "--sar-score nr --nr-window ${1#nr:}" ;;
                         *) echo "--sar-score $1" ;; esac; }
decision_opt() { case $1 in hysteresis:*) echo "--sar-decision hysteresis --hyst-low ${1#*:}" ;;
                            *) echo "--sar-decision $1" ;; esac; }

for m in ${METHODS:-logratio pcakmeans}; do
  if [ "$m" = flood ]; then mmus=${MMUS:-8}; else mmus=${MMUS:-0 10}; fi
  for sp in ${SPECKLES:-refined-lee}; do
    for sc in ${SCORES:-ratio}; do
      for d in ${DECISIONS:-threshold}; do
        for w in ${WINDOWS:-5 7 9}; do
            if [ "$m" = pcakmeans ]; then inner=${BLOCKS:-3 5}; else inner=${SMOOTHS:-0 3 5}; fi
            for s in $inner; do
                for b in ${BETAS:-0 1 2 3 4 5 6 8}; do
                  for bi in ${BIASES:-0}; do
                    for u in $mmus; do
                        if [ "$m" = pcakmeans ]; then opt="--pca-block $s"; else opt="--smooth $s"; fi
                        # word splitting wanted: each helper prints several options
                        # shellcheck disable=SC2086,SC2046
                        run "$m" "$sp$w/$sc/$d/$(echo "$opt" | tr -d ' -')/beta$b/bias$bi/mmu$u" \
                            --speckle "$sp" --speckle-window "$w" $opt --mrf-beta "$b" \
                            --mrf-bias "$bi" --mmu-px "$u" $(score_opt "$sc") $(decision_opt "$d")
                    done
                  done
                done
            done
        done
      done
    done
  done
  if [ -n "${EXTRAS:-}" ]; then
      echo "$EXTRAS" | tr ';' '\n' | while IFS= read -r item; do
          [ -n "$item" ] || continue
          # shellcheck disable=SC2086 # the options of an extra setting are a list
          run "$m" "${item%%=*}" ${item#*=}
      done
  fi
done
rm -rf "$out/run"
for m in ${METHODS:-logratio pcakmeans}; do
    echo "---- $m ranked (targets met, then mean kappa); all rows in $results"
    awk -v m="$m" '$1 == m {t = $NF; sub(/^targets=/, "", t); sub(/\/.*$/, "", t);
          k = $(NF - 1); sub(/^mean=/, "", k); print t, k, $0}' "$results" |
        sort -k1,1nr -k2,2nr | head -15 | cut -d' ' -f3-
    echo "---- $m: leave one pair out (setting chosen by mean kappa on the other pairs)"
    awk -v m="$m" -v pairs="$(pairs_of "$m")" -v def=" ${DEFAULT:-} " '
    BEGIN { np = split(pairs, P, " ") }
    $1 == m {
        n++; rows[n] = $2
        for (i = 3; i <= NF; i++) {
            if ($i !~ /=/ || $i ~ /^(mean|targets)=/) continue
            split($i, a, "="); split(a[2], kf, ","); K[n, a[1]] = kf[1]; F[n, a[1]] = kf[2]
        }
        if (index(def, " " $2 " ")) d = n
    }
    END {
        tk = tf = dk = df = 0
        for (j = 1; j <= np; j++) {
            best = 0; bm = -1
            for (r = 1; r <= n; r++) {
                s = 0; for (q = 1; q <= np; q++) if (q != j) s += K[r, P[q]]
                if (s > bm) { bm = s; best = r }
            }
            tk += K[best, P[j]]; tf += F[best, P[j]]
            printf "%-15s held-out kappa %.4f F1 %.4f (chosen: %s, mean kappa on the others %.4f)",
                   P[j], K[best, P[j]], F[best, P[j]], rows[best], bm / (np - 1)
            if (d) { printf "  in-sample default kappa %.4f F1 %.4f", K[d, P[j]], F[d, P[j]]
                     dk += K[d, P[j]]; df += F[d, P[j]] }
            printf "\n"
            printf "LOO %s %s %.4f %.4f\n", m, P[j], K[best, P[j]], F[best, P[j]] > "/dev/stderr"
        }
        printf "%s: leave-one-pair-out mean kappa %.4f F1 %.4f", m, tk / np, tf / np
        if (d) printf " (in-sample default %.4f / %.4f)", dk / np, df / np
        printf " over %d settings\n", n
    }' "$results" 2>"$out/loo.$m.txt"
    if [ -n "${CSV:-}" ] && [ -n "${GEN:-}" ]; then
        while read -r _ mm c k f; do
            if [ "$mm" = logratio ]; then id=sar.$c; else id=sar.$c.$mm; fi
            "$GEN" set "$CSV" "$id" "loo_kappa=$k" "loo_f1=$f" && echo "$CSV: $id loo $k / $f"
        done < "$out/loo.$m.txt"
    fi
done
