#!/bin/sh
# exposure.sh: --population and --exposure against answers known by construction.
# A 300x300 px pair (UTM 33N, 10 m) whose only change is a 100x100 px square of
# vegetation loss (x 401000..402000, y 5798000..5799000 = 100 ha); then
#  - a population of 5 people per 100 m cell in EPSG:3035 (coarser, other CRS): the
#    square holds 5 people/ha x 100 ha = 500 people, the grid 5 x 900 ha;
#  - a population of 2 people per 0.0001 degree cell in EPSG:4326 (finer, other CRS),
#    wholly inside the grid: the grid holds 2 x its cells (count preserved);
#  - footprints: A inside (0.16 ha), B straddling the square's east edge (half of 0.04 ha
#    inside), C outside; points: D inside, E outside.
# With DATA (../shared/data): the OSCD Saclay pair with the Essonne communes as zones and
# as exposure features, and 5 people per 100 m cell: every zone holds 5 people per ha of
# its pixels, changed or not, and the communes' exact areas inside the change match the
# zones' pixel-centre changed areas.
#   exposure.sh GEODELTA OUTDIR [DATA]
set -u
G=$1 out=$2 data=${3:-}
for t in jq gdal_create gdal_rasterize; do
    command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
rm -rf "$out"
mkdir -p "$out"
d=$out/inputs
mkdir -p "$d"
ul="-a_ullr 400000 5800000 403000 5797000"
gdal_create -q -of GTiff -ot UInt16 -outsize 300 300 -bands 4 -burn 500 -burn 800 -burn 600 \
    -burn 4000 -a_srs EPSG:32633 $ul "$d/before.tif" || exit 1
gdal_create -q -of GTiff -ot UInt16 -outsize 300 300 -bands 4 -burn 500 -burn 800 -burn 600 \
    -burn 4000 -a_srs EPSG:32633 $ul "$d/after.tif" || exit 1
cat > "$d/square.geojson" <<'J'
{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32633"}},
 "features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
 [[[401000,5798000],[402000,5798000],[402000,5799000],[401000,5799000],[401000,5798000]]]}}]}
J
gdal_rasterize -q -b 3 -b 4 -burn 2000 -burn 2100 "$d/square.geojson" "$d/after.tif" || exit 1
# (dated in its TIFF tag, as GDAL writes TIFFTAG_DATETIME: the map's credit line shows it)
gdal_create -q -of GTiff -ot Float32 -outsize 200 200 -burn 5 -a_srs EPSG:3035 \
    -a_ullr 4556000 3260000 4576000 3240000 -mo "TIFFTAG_DATETIME=2020:06:30 00:00:00" \
    "$d/pop_coarse.tif" || exit 1
# 13.53..13.56 E, 52.32..52.34 N: inside the grid (13.5322..13.5777 E, 52.3187..52.3455 N)
gdal_create -q -of GTiff -ot Float32 -outsize 300 200 -burn 2 -a_srs EPSG:4326 \
    -a_ullr 13.54 52.34 13.57 52.32 "$d/pop_fine.tif" || exit 1
cat > "$d/footprints.geojson" <<'J'
{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32633"}},
 "features":[
 {"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":
  [[[401200,5798600],[401240,5798600],[401240,5798640],[401200,5798640],[401200,5798600]]]}},
 {"type":"Feature","properties":{"name":"B"},"geometry":{"type":"Polygon","coordinates":
  [[[401990,5798500],[402010,5798500],[402010,5798520],[401990,5798520],[401990,5798500]]]}},
 {"type":"Feature","properties":{"name":"C"},"geometry":{"type":"Polygon","coordinates":
  [[[402100,5798500],[402140,5798500],[402140,5798540],[402100,5798540],[402100,5798500]]]}}]}
J
cat > "$d/sites.geojson" <<'J'
{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32633"}},
 "features":[
 {"type":"Feature","properties":{"name":"D"},"geometry":{"type":"Point","coordinates":[401505,5798505]}},
 {"type":"Feature","properties":{"name":"E"},"geometry":{"type":"Point","coordinates":[402505,5798505]}}]}
J
common="-b $d/before.tif -a $d/after.tif -m ndvi --bands-before r=3,n=4 --sensor none
        --coreg none --mmu-px 0 -q"
fails=0
run() { # name, options...
    n=$1
    shift
    # shellcheck disable=SC2086
    if ! "$G" detect $common -o "$out/$n" "$@"; then
        echo "FAIL: detect $n $*"
        fails=$((fails + 1))
        return 1
    fi
}
t() { # dir file jq-test what
    if jq -e "$3" "$out/$1/$2" >/dev/null 2>&1; then
        echo "PASS: $1/$2: $3"
    else
        echo "FAIL: $1/$2: $3 (got: $(jq -c "$4" "$out/$1/$2" 2>&1 | cut -c1-400))"
        fails=$((fails + 1))
    fi
}
near() { printf '(((%s) - (%s)) | fabs) <= (%s) * (%s)' "$1" "$2" "$3" "$2"; }

# the footprints carry no date: the credit line gives the file's date, labelled as such
TZ=UTC touch -d "2021-03-04 12:00:00" "$d/footprints.geojson"
run coarse --with pdf --population "$d/pop_coarse.tif" --exposure "$d/footprints.geojson" \
    --exposure-field name --alerts '{"amber":{"people":400},"red":{"people":600}}'
t coarse summary.json "$(near .changed_ha 100 0.005)" '.changed_ha'
t coarse summary.json "$(near .classes[0].people 500 0.005)" '.classes'
t coarse summary.json "$(near .changed_people 500 0.005)" '.changed_people'
t coarse summary.json "$(near .population.people_on_grid 4500 0.005)" '.population'
t coarse summary.json '.alert_level == "amber"' '.alert_level'
t coarse summary.json '.exposure.classes[0].features == 2' '.exposure'
t coarse summary.json "$(near .exposure.classes[0].area_ha 0.18 0.005)" '.exposure'
t coarse summary.json '.exposure.features_read == 3' '.exposure'
t coarse change.geojson "$(near '[.features[].properties.people] | add' 500 0.005)" \
    '[.features[].properties]'
t coarse manifest.json '[.auxiliary_inputs[].role] | index("population") != null' '.auxiliary_inputs'
t coarse manifest.json '[.auxiliary_inputs[].role] | index("exposure") != null' '.auxiliary_inputs'
t coarse manifest.json '[.outputs[].path] | index("exposure.csv") != null' '[.outputs[].path]'
t coarse manifest.json '.parameters.population != null' '.parameters'
if [ -f "$out/coarse/exposure.csv" ]; then
    rows=$(tail -n +2 "$out/coarse/exposure.csv" | cut -d, -f1 | sort | tr '\n' ' ')
    if [ "$rows" = "A B " ]; then echo "PASS: exposure.csv lists A and B"
    else echo "FAIL: exposure.csv lists '$rows', want 'A B '"; fails=$((fails + 1)); fi
else
    echo "FAIL: no exposure.csv"; fails=$((fails + 1))
fi
"$G" verify "$out/coarse/manifest.json" >/dev/null || { echo "FAIL: verify coarse"; fails=$((fails + 1)); }
# map.pdf's georeferencing puts the square's centre on the change colour, outside it not
[ -f "$out/coarse/map.pdf" ] || { echo "FAIL: --with pdf wrote no map.pdf"; fails=$((fails + 1)); }
if command -v gdallocationinfo >/dev/null 2>&1 && [ -f "$out/coarse/map.pdf" ]; then
    inside=$(gdallocationinfo -valonly -geoloc "$out/coarse/map.pdf" 401500 5798500 | tr '\n' ' ')
    outside=$(gdallocationinfo -valonly -geoloc "$out/coarse/map.pdf" 400300 5799700 | tr '\n' ' ')
    if [ "$inside" = "213 94 0 " ] && [ "$outside" != "213 94 0 " ]; then
        echo "PASS: map.pdf georeferencing: (401500, 5798500) is $inside, (400300, 5799700) is $outside"
    else
        echo "FAIL: map.pdf georeferencing: inside '$inside', outside '$outside'"
        fails=$((fails + 1))
    fi
fi

# the credit line names the population and exposure files with their dates
t coarse manifest.json '.auto.aux_dates.population.date == "2020-06-30" and (.auto.aux_dates.population.from | test("TIFFTAG_DATETIME")) and .auto.aux_dates.exposure.date == "file date 2021-03-04"' '.auto.aux_dates'
if command -v pdftotext >/dev/null 2>&1 && [ -f "$out/coarse/map.pdf" ]; then
    credit=$(pdftotext "$out/coarse/map.pdf" - | tr '\n' ' ')
    case "$credit" in
    *"population: pop_coarse.tif (2020-06-30); exposure: footprints.geojson (file date 2021-03-04)"*)
        echo "PASS: map credit line: population: pop_coarse.tif (2020-06-30); exposure: footprints.geojson (file date 2021-03-04)" ;;
    *) echo "FAIL: map credit line without the dates: $credit"; fails=$((fails + 1)) ;;
    esac
fi

run fine --population "$d/pop_fine.tif" --exposure "$d/sites.geojson" --no-map
t fine summary.json "$(near .population.people_on_grid 120000 0.005)" '.population'
t fine summary.json '.exposure.classes[0].features == 1 and .exposure.classes[0].area_ha == null' '.exposure'

# without the options nothing of this appears (other runs keep their bytes)
run plain --no-map
t plain summary.json '(has("changed_people") or has("population") or has("exposure")) | not' 'keys'
t plain change.geojson '.features[0].properties | has("people") | not' '.features[0].properties'

sac=$data/oscd/saclay_e communes=$data/vector/communes-91-essonne.geojson
if [ -n "$data" ] && [ -f "$sac/t1.tif" ] && [ -f "$communes" ]; then
    gdal_create -q -of GTiff -ot Float32 -outsize 120 140 -burn 5 -a_srs EPSG:3035 \
        -a_ullr 3746000 2881000 3758000 2867000 "$d/pop_saclay.tif" || exit 1
    if "$G" detect -b "$sac/t1.tif" -a "$sac/t2.tif" -m urban -o "$out/saclay" -q --no-map \
            --population "$d/pop_saclay.tif" --zones "$communes" --zone-field nom \
            --exposure "$communes" --exposure-field nom; then
        t saclay summary.json '(.zones | length) >= 10' '.zones | length'
        t saclay summary.json 'all(.zones[]; ((.people - 5 * .area_ha) | fabs) <= 0.001 * .people + 0.01)' \
            '[.zones[] | {zone, people, area_ha}]'
        t saclay summary.json 'all(.zones[]; ((.changed_people - 5 * .changed_ha) | fabs) <= 0.001 * .changed_people + 0.01)' \
            '[.zones[] | {zone, changed_people, changed_ha}]'
        t saclay summary.json 'all(.zones[]; .classes[0].people == .changed_people)' '.zones[0]'
        t saclay summary.json '([.zones[].people] | add) <= .population.people_on_grid + 0.01' '.population'
        t saclay summary.json '(([.zones[].classes[0].features_ha] | add) - ([.zones[].changed_ha] | add) | fabs) <= 0.01 * ([.zones[].changed_ha] | add)' \
            '[.zones[] | {changed_ha, f: .classes[0].features_ha}]'
        if head -1 "$out/saclay/zones.csv" | grep -q ',alert,people,changed_people,class1_people,exposed_features,'; then
            echo "PASS: zones.csv has the people and feature columns after alert"
        else
            echo "FAIL: zones.csv header: $(head -1 "$out/saclay/zones.csv")"; fails=$((fails + 1))
        fi
    else
        echo "FAIL: detect on saclay_e"; fails=$((fails + 1))
    fi
else
    echo "SKIP (part): no ../shared/data/oscd/saclay_e or communes"
fi
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "exposure: all checks passed"
