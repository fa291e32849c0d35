#!/usr/bin/env bash
# runid_column.sh: the option table's "run id" column is what the run id does.
#   runid_column.sh GEODELTA MAKE_SAMPLES WORKDIR DATA_DIR
# For every option with an example value that needs no extra file: one run of its method
# without it and one with `--OPTION EXAMPLE` (flags: `--OPTION`) on small inputs (the
# generated 6-band samples; SAR Bern for the SAR methods). Expected, from the column
# (`geodelta detect --json-usage`):
#   no                          -> same run id;
#   when given, with the map    -> another run id;
#   yes, yes (methods ...)      -> another run id unless the example is the default
#                                  for that method (then the same id: the resolved value
#                                  was recorded already).
# File options (hashed into the id as content) and options that need another one are
# covered by the provenance and options tests; this one reports how many it compared and
# fails below a floor, so that it cannot pass by skipping everything.
set -u
G=$1 MKS=$2 W=$3 DATA=$4
rm -rf "$W"
mkdir -p "$W"
"$MKS" "$W/s" --size 96 --swir >/dev/null || { echo "FAIL: cannot make samples"; exit 1; }
SAR_B="$DATA/sar/bern/t1.bmp" SAR_A="$DATA/sar/bern/t2.bmp"
[ -f "$SAR_B" ] || { echo "SKIP: $DATA/sar/bern is absent"; exit 77; }

declare -A base
run_id() { # method out extra...
    local m=$1 out=$2
    shift 2
    local b="$W/s/before.tif" a="$W/s/after.tif"
    case $m in logratio | pcakmeans | flood) b=$SAR_B a=$SAR_A ;; esac
    "$G" detect -b "$b" -a "$a" -m "$m" -o "$out" -q --without pdf,gpkg,kmz,report \
        --threads 1 "$@" 2>"$out.err" >/dev/null || return 1
    jq -r .run_id "$out/manifest.json"
}

fails=0 compared=0 n=0
while IFS=$'\t' read -r name type default mdefs applies example runid needs; do
    case $name in before | after | method | output | help | help-markdown | json-usage) continue ;; esac
    [ "$type" = file ] && continue
    [ "$needs" != null ] && continue
    [ "$type" != flag ] && [ "$example" = null ] && continue
    m=ndvi
    [ "$applies" != null ] && m=${applies%% *}
    n=$((n + 1))
    if [ -z "${base[$m]:-}" ]; then
        base[$m]=$(run_id "$m" "$W/base_$m") || { echo "FAIL: baseline $m: $(cat "$W/base_$m.err")"; exit 1; }
    fi
    args=("--$name")
    [ "$type" != flag ] && args+=("$example")
    if ! id=$(run_id "$m" "$W/o_$n" "${args[@]}"); then
        echo "skip: --$name $example with $m does not run here: $(head -1 "$W/o_$n.err")"
        continue
    fi
    mdef=$(jq -r --arg m "$m" '.[$m] // empty' <<<"$mdefs")
    [ -n "$mdef" ] || mdef=$default
    case $runid in
    no) want=same ;;
    "when given" | "with the map") want=other ;;
    yes*) if [ "$type" != flag ] && [ "$example" = "$mdef" ]; then want=same; else want=other; fi ;;
    *) echo "FAIL: --$name: unknown run id column '$runid'"; fails=$((fails + 1)); continue ;;
    esac
    got=other
    [ "$id" = "${base[$m]}" ] && got=same
    compared=$((compared + 1))
    if [ "$got" != "$want" ]; then
        echo "FAIL: --$name ${args[*]:1} ($m): column says '$runid', run id is the $got one (expected $want)"
        fails=$((fails + 1))
    else
        echo "ok: --$name ${args[*]:1} ($m): '$runid' -> $got id"
    fi
done < <("$G" detect --json-usage | jq -r '.options[] | [.name, .type, (.default|tostring),
          (.method_defaults|tojson), (.applies // "null" | tostring), (.example|tostring), .run_id,
          (.needs|tostring)] | @tsv')
echo "compared $compared options"
[ "$compared" -ge 30 ] || { echo "FAIL: only $compared options compared (floor 30)"; fails=$((fails + 1)); }
[ $fails -eq 0 ]
