#!/usr/bin/env bash
# options.sh: the detect option table (pipeline/options/detect_options.c) against what the
# program does, so that --help, batch files and the chain cannot drift apart again:
#  1. detect --help lists every method of `geodelta methods`;
#  2. the defaults the table states (--json-usage) are the values the chain uses (manifest
#     "auto" of runs with the defaults);
#  3. batch files take what the CLI takes and refuse what it refuses (threshold "ki",
#     map_width, odd windows), with the same wording;
#  4. every option with a batch key, given on the command line and in a batch job, gives
#     the same manifest "parameters" and the same run id.
# usage: options.sh GEODELTA GD_MAKE_SAMPLES WORKDIR
set -euo pipefail
gd="$1" gen="$2" work="$3"
if ! command -v jq >/dev/null 2>&1; then
    echo "SKIP: jq not installed"
    exit 77
fi
. "$(dirname "$0")/batch_common.sh"
rm -rf "$work"
make_batch_inputs "$gen" "$work/in"
"$gen" "$work/in/s" --size 128 --swir >/dev/null
in="$work/in"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
"$gd" detect --json-usage > "$work/usage.json"
jq -e '.options | length > 40' "$work/usage.json" >/dev/null || fail "--json-usage has no option list"

# ---- 1. every method in --help ----------------------------------------------------------
"$gd" detect --help > "$work/help.txt"
methods=$("$gd" methods | awk 'NR > 1 && /^[a-z]/ { print $1 }')
[[ $(echo "$methods" | wc -w) -ge 9 ]] || fail "geodelta methods lists too few methods"
# the -m entry: its line and continuation lines, up to the next option
help_m=$(awk '/--method/ { on = 1; print; next } on && /^  +-/ { exit } on { print }' "$work/help.txt" | tr '\n,:' '   ')
for m in $methods; do
    grep -qw -- "$m" <<<"$help_m" || fail "detect --help does not list method $m"
    jq -e --arg m "$m" '.options[] | select(.name == "method") | .choices | index($m) != null' \
        "$work/usage.json" >/dev/null || fail "--json-usage: method $m not a choice"
done

# ---- 2. stated defaults = the chain's -----------------------------------------------------
def() { # option method -> the table's default for that method (or the general one)
    jq -r --arg o "$1" --arg m "$2" '.options[] | select(.name == $o) |
        (.method_defaults[$m] // .default) | tostring' "$work/usage.json"
}
run() { # name method [options...]
    local name=$1 m=$2
    shift 2
    "$gd" detect -q --no-map -b "$in/a/before.tif" -a "$in/a/after.tif" -m "$m" -o "$work/d/$name" \
        "$@" || fail "detect $name $m $* failed"
}
check() { # name jq-expression-with-$v value what
    jq -e --arg v "$3" "$2" "$work/d/$1/manifest.json" >/dev/null ||
        fail "$1: $4: the table says $3, the run used $(jq -c "${2%%==*}" "$work/d/$1/manifest.json" 2>/dev/null)"
}
run lr logratio
run pk pcakmeans
run ur urban
run nd ndvi
run fl flood --sensor none
for m in lr:logratio pk:pcakmeans; do
    n=${m%%:*} m=${m#*:}
    check $n '.auto.sar.speckle_window == ($v | tonumber)' "$(def speckle-window $m)" "--speckle-window"
    check $n '.auto.sar.speckle == $v' "$(def speckle $m)" "--speckle"
    check $n '.auto.sar.score == $v' "$(def sar-score $m)" "--sar-score"
    check $n '([.auto.sar.smooth_window, 1] | max) == ([($v | tonumber), 1] | max)' "$(def smooth $m)" "--smooth"
    check $n '.auto.sar_decision.mode == $v' "$(def sar-decision $m)" "--sar-decision"
    check $n '.auto.mrf.beta == ($v | tonumber)' "$(def mrf-beta $m)" "--mrf-beta"
    check $n '.auto.mrf.bias == ($v | tonumber)' "$(def mrf-bias $m)" "--mrf-bias"
    check $n '.auto.coreg.mode == $v' "$(def coreg $m)" "--coreg"
done
check pk '.auto.pcakmeans.block == ($v | tonumber)' "$(def pca-block pcakmeans)" "--pca-block"
check ur '.auto.urban.smooth == ($v | tonumber)' "$(def smooth urban)" "--smooth"
check nd '.auto.coreg.mode == $v' "$(def coreg ndvi)" "--coreg"
check nd '.auto.mmu.ha == ($v | split(";")[0] | tonumber)' "$(def mmu-ha ndvi)" "--mmu-ha"
check nd '.parameters.threshold == $v' "$(def threshold ndvi)" "--threshold"
check nd '.parameters.sensor == $v' "$(def sensor ndvi)" "--sensor"
check fl '.auto.mmu.min_pixels == ($v | tonumber)' "$(def mmu-px flood)" "--mmu-px"

# ---- 3. batch files: the CLI's rules, the CLI's words -------------------------------------
batch_check() { # name expected-exit params-json [grep-pattern]
    printf '{"jobs": [{"id": "j", "before": "a/before.tif", "after": "a/after.tif", "method": "ndvi", "params": %s}]}\n' \
        "$3" > "$in/$1.json"
    set +e
    "$gd" batch "$in/$1.json" --check > /dev/null 2> "$work/$1.err"
    local rc=$?
    set -e
    [[ $rc == "$2" ]] || { cat "$work/$1.err"; fail "batch $1: exit $rc, expected $2"; }
    [[ -z "${4:-}" ]] || grep -qF -- "$4" "$work/$1.err" || { cat "$work/$1.err"; fail "batch $1: no '$4'"; }
}
batch_check ki 0 '{"threshold": "ki"}'
batch_check mw319 2 '{"map_width": 319}' 'params.map_width: must be a number of pixels between 320 and 20000'
batch_check mw320 0 '{"map_width": 320}'
batch_check sw8 2 '{"speckle_window": 8}' 'params.speckle_window: must be an odd number from 3 to 31'
batch_check sws 2 '{"speckle_window": "7"}' 'params.speckle_window'
batch_check slope 2 '{"max_slope": 8}' 'params.max_slope: needs dem'
batch_check unk 2 '{"colour": 1}' "params: unknown field 'colour'"
set +e
"$gd" detect -b "$in/a/before.tif" -a "$in/a/after.tif" -m ndvi -o "$work/x" --map-width 319 2> "$work/cli.err"
rc=$?
set -e
[[ $rc == 1 ]] && grep -qF -- "--map-width '319' is not a number of pixels between 320 and 20000" "$work/cli.err" ||
    { cat "$work/cli.err"; fail "CLI --map-width 319: exit $rc"; }

# ---- 4. the same options on the command line and in a batch job ----------------------------
gd_key=$("$gd" keygen -o "$work/key" >/dev/null 2>&1 && echo "$work/key.pem" || true)
[[ -s "$work/key.pem" ]] || gd_key=$(ls "$work"/key* 2>/dev/null | grep -v pub | head -n1)
Z="$in/zones.geojson"
# runs: id, method, before, after, then option/value pairs (a flag's value is "")
declare -a runs=(
  "gen|ndvi|a/before.tif|a/after.tif|--t-srs|EPSG:32633|--res|20|--bands-before|red=3,nir=4|--bands-after|red=3,nir=4|--threshold|0.2|--coreg|none|--coreg-window|256|--mmu-ha|0.5|--sensor|none|--s2-offset|-1000|--mask-before|$in/a/truth.tif|--mask-after|$in/a/truth.tif|--aoi|$Z|--keep-score||--zones|$Z|--zone-field|name|--zones-all-touched||--alerts|{\"red\":{\"changed_ha\":10}}|--sign-key|$gd_key"
  "map|ndvi|a/before.tif|a/after.tif|--title|T 1|--area|Oder|--credit|Copernicus|--caveat|Draft|--layout|single|--map-bands|false-colour|--stretch|1,99|--map-width|400|--dpi|150|--map-overlay|$Z|--map-overlay-field|name|--map-aoi|$Z|--mmu-px|4"
  "nbr|nbr|s/before.tif|s/after.tif|--nbr-classes|binary|--no-map|"
  "lr|logratio|a/before.tif|a/after.tif|--speckle|lee|--speckle-window|5|--smooth|5|--mrf-beta|2|--mrf-bias|0.5|--sar-score|nr|--nr-window|5|--sar-decision|hysteresis|--hyst-low|0.6|--no-map|"
  "pk|pcakmeans|a/before.tif|a/after.tif|--pca-block|4|--no-map|"
  "ub|urban|s/before.tif|s/after.tif|--urban-seed|2|--urban-object-px|30|--no-map|"
  "fl|flood|s/before.tif|s/after.tif|--dem|$in/s/before.tif|--max-slope|8|--permanent-water|$Z|--no-map|"
  "fr|flood|a/before.tif|a/after.tif|--bands-before|sar=1|--flood-rule|ratio|--no-map|"
  "ex|ndvi|a/before.tif|a/after.tif|--population|$in/a/truth.tif|--exposure|$Z|--exposure-field|name|--with|pdf|--without|kmz,report|--pdf-size|a3"
)
jobs="[]"
covered=""
for r in "${runs[@]}"; do
    IFS='|' read -r -a f <<<"$r"
    id=${f[0]} m=${f[1]} b=${f[2]} a=${f[3]}
    args=()
    job=$(jq -n --arg id "$id" --arg m "$m" --arg b "$b" --arg a "$a" \
        '{id: $id, method: $m, before: $b, after: $a, params: {title: $id}}')
    for ((k = 4; k < ${#f[@]}; k += 2)); do
        o=${f[k]#--} v=${f[k+1]:-}
        covered="$covered $o"
        spec=$(jq -c --arg o "$o" '.options[] | select(.name == $o)' "$work/usage.json")
        [[ -n "$spec" ]] || { fail "option --$o not in the table"; continue; }
        type=$(jq -r .type <<<"$spec") key=$(jq -r '.batch // ""' <<<"$spec")
        [[ "$type" == flag ]] && args+=("--$o") || args+=("--$o" "$v")
        [[ -n "$key" ]] || { fail "--$o has no batch key"; continue; }
        job=$(jq -c --arg k "$key" --arg t "$type" --arg v "$v" '
            ($v | if $t == "flag" then true elif $t == "integer" or $t == "number" then tonumber
                  elif $k == "alerts" then fromjson else . end) as $x
            | if ($k | startswith("params.")) then .params[$k[7:]] = $x else .[$k] = $x end' <<<"$job")
    done
    [[ " ${args[*]} " == *" --title "* ]] || args+=(--title "$id")
    "$gd" detect -q -b "$in/$b" -a "$in/$a" -m "$m" -o "$work/cli/$id" "${args[@]}" ||
        fail "CLI run $id failed: ${args[*]}"
    jobs=$(jq -c --argjson j "$job" '. + [$j]' <<<"$jobs")
done
jq -n --argjson j "$jobs" '{jobs: $j}' > "$in/same.json"
"$gd" batch "$in/same.json" -o "$work/batch" -q --jobs 2 || { cat "$work/batch/batch.csv"; fail "batch of the same options failed"; }
for r in "${runs[@]}"; do
    id=${r%%|*}
    c="$work/cli/$id/manifest.json" bm="$work/batch/$id/manifest.json"
    [[ -s "$c" && -s "$bm" ]] || { fail "$id: a manifest is missing"; continue; }
    if ! diff <(jq -S .parameters "$c") <(jq -S .parameters "$bm") > "$work/$id.diff"; then
        fail "$id: CLI and batch parameters differ:"
        sed 's/^/      /' "$work/$id.diff"
    fi
    [[ $(jq -r .run_id "$c") == $(jq -r .run_id "$bm") ]] || fail "$id: CLI and batch run ids differ"
done
# every option with a batch key is covered by a run above
for o in $(jq -r '.options[] | select(.batch != null and .batch != "method" and .batch != "before" and .batch != "after") | .name' "$work/usage.json"); do
    [[ " $covered " == *" $o "* ]] || fail "--$o has a batch key but no CLI/batch comparison here"
done

if [[ $fails -ne 0 ]]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all option checks passed"
