#!/bin/sh
# deliverables.sh: every deliverable opened with the reader a user would use: GDAL for
# change.tif's categories and attribute table and for map.pdf's georeferencing, OGR for
# change.gpkg (styles in layer_styles) and change.kmz, a JSON-schema check for
# stac-item.json, headless Chromium for report.html (no console error, the swipe moves,
# a screenshot); all listed in the manifest; the same run twice gives the same bytes;
# --without turns them off; map.pdf only with --with pdf. Tools that are missing skip their part, not the test.
#   deliverables.sh GEODELTA SAMPLES OUTDIR SRC_DIR
set -u
G=$1 S=$2 out=$3 src=$4
for t in jq gdalinfo ogrinfo unzip; do
    command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
rm -rf "$out"
mkdir -p "$out"
fails=0
ok() { echo "PASS: $1"; }
ko() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else ko "$1"; fi; }

for d in a b; do
    "$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/$d" -q --with pdf || {
        echo "FAIL: detect"; exit 1; }
done
a=$out/a

# change.tif: class names and colours where GIS read them
gdalinfo "$a/change.tif" > "$out/gdalinfo.txt" 2>&1
check "change.tif has category names" "grep -A3 'Categories:' '$out/gdalinfo.txt' | grep -q 'vegetation loss'"
check "change.tif has a colour table" "grep -q 'Color Table' '$out/gdalinfo.txt'"
# (GDAL 3.6's gdalinfo -json leaves the table out; its text output prints it as XML)
check "change.tif has a raster attribute table (Value, Class, colours)" \
    "grep -q 'GDALRasterAttributeTable' '$out/gdalinfo.txt' && grep -q '<Name>Class</Name>' '$out/gdalinfo.txt' && grep -q '<Name>Red</Name>' '$out/gdalinfo.txt'"

# styles
if command -v xmllint >/dev/null 2>&1; then
    check "change.qml and change.sld are well-formed XML" "xmllint --noout '$a/change.qml' '$a/change.sld'"
fi
check "change.qml is a paletted renderer with the classes" \
    "grep -q 'type=\"paletted\"' '$a/change.qml' && grep -q 'label=\"vegetation loss\"' '$a/change.qml'"

# change.gpkg
n_geojson=$(jq '.features | length' "$a/change.geojson")
n_gpkg=$(ogrinfo -ro -so "$a/change.gpkg" change 2>/dev/null | sed -n 's/^Feature Count: //p')
check "change.gpkg 'change' holds the $n_geojson polygons (got $n_gpkg)" "[ '$n_gpkg' = '$n_geojson' ]"
styled=$(ogrinfo -ro -q "$a/change.gpkg" -sql "SELECT count(*) AS n FROM layer_styles WHERE useAsDefault AND f_table_name = 'change' AND styleQML LIKE '%categorizedSymbol%' AND styleSLD LIKE '%StyledLayerDescriptor%'" 2>/dev/null | sed -n 's/.*n (Integer) = //p')
check "change.gpkg layer_styles has the default style of 'change'" "[ '$styled' = 1 ]"

# map.pdf: a PDF that GDAL reads as Geospatial PDF, text as text
gdalinfo "$a/map.pdf" > "$out/pdfinfo.txt" 2>&1
check "map.pdf is read by GDAL as Geospatial PDF with a CRS" \
    "grep -q 'Driver: PDF' '$out/pdfinfo.txt' && grep -q 'UTM zone 33N' '$out/pdfinfo.txt' && grep -q '^Origin' '$out/pdfinfo.txt'"
if command -v pdftotext >/dev/null 2>&1; then
    check "map.pdf keeps its text (title, legend)" \
        "pdftotext '$a/map.pdf' - | grep -q 'Change detection' && pdftotext '$a/map.pdf' - | grep -q 'vegetation loss'"
    check "map.pdf is A4 landscape" "pdfinfo '$a/map.pdf' | grep -q 'Page size:.*841.89 x 595.2'"
fi
if command -v pdftoppm >/dev/null 2>&1; then
    pdftoppm -png -r 60 -singlefile "$a/map.pdf" "$out/map-page" && [ -s "$out/map-page.png" ] &&
        ok "map.pdf renders with pdftoppm ($out/map-page.png)" || ko "pdftoppm map.pdf"
fi

# change.kmz
check "change.kmz holds doc.kml and overlay.png" \
    "unzip -l '$a/change.kmz' | grep -q doc.kml && unzip -l '$a/change.kmz' | grep -q overlay.png"
n_kml=$(ogrinfo -ro -so "$a/change.kmz" "Change polygons" 2>/dev/null | sed -n 's/^Feature Count: //p')
check "change.kmz has the $n_geojson polygons for OGR (got $n_kml)" "[ '$n_kml' = '$n_geojson' ]"

# stac-item.json
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
$py "$src/check_stac.py" "$a/stac-item.json" "$src/stac-item.schema.json"
rc=$?
if [ $rc -eq 0 ]; then
    ok "stac-item.json valid"
    jq 'del(.properties.start_datetime)' "$a/stac-item.json" > "$out/bad-item.json"
    cp "$a/change.tif" "$a/summary.json" "$out/" 2>/dev/null
    if $py "$src/check_stac.py" "$out/bad-item.json" "$src/stac-item.schema.json" >/dev/null 2>&1; then
        ko "the STAC check accepts an item without start_datetime"
    else
        ok "the STAC check refuses an item without start_datetime"
    fi
elif [ $rc -ne 77 ]; then
    ko "stac-item.json"
fi

# report.html in headless Chromium
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
    url="file://$(cd "$a" && pwd)/report.html#swipe=20"
    timeout 90 "$chrome" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1200,1400 --enable-logging=stderr --v=0 --dump-dom "$url" \
        > "$out/report.dom" 2> "$out/chromium.log"
    check "report.html runs its script (data-ready)" "grep -q 'data-ready=\"yes\"' '$out/report.dom'"
    check "the swipe moves to #swipe=20" \
        "grep -q 'data-swipe=\"20\"' '$out/report.dom' && grep -q 'inset(0px 0px 0px 20%)\\|inset(0 0 0 20%)' '$out/report.dom'"
    check "no console error, no refused request" \
        "! grep -E 'CONSOLE.*(ERROR|rror)|Refused to|net::ERR' '$out/chromium.log'"
    timeout 90 "$chrome" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1200,1400 --screenshot="$out/report.png" "$url" >/dev/null 2>&1
    check "a screenshot of the report is written ($out/report.png)" "[ -s '$out/report.png' ]"
    check "report.html has no http(s) resource" "! grep -qE '(src|href)=\"https?:' '$a/report.html'"
else
    echo "SKIP (part): no chromium"
fi

# manifest, verify, repeatable bytes
for f in change.tif.aux.xml change.qml change.sld change.gpkg map.pdf change.kmz stac-item.json report.html; do
    check "manifest lists $f" "jq -e --arg f $f '[.outputs[].path] | index(\$f) != null' '$a/manifest.json' >/dev/null"
    check "$f is the same bytes in a second run" "cmp -s '$a/$f' '$out/b/$f'"
done
check "geodelta verify passes" "'$G' verify '$a/manifest.json' >/dev/null"

# --without
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/none" -q --without all ||
    ko "detect --without all"
check "--without all writes none of them" \
    "! ls '$out/none' | grep -qE 'gpkg|kmz|pdf|stac|report|qml|sld'"
# map.pdf is off by default (it costs more than a few % of a run), on with --with pdf
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/dflt" -q ||
    ko "detect with the default deliverables"
check "by default: change.gpkg, change.kmz, stac-item.json, report.html, no map.pdf" \
    "[ -f '$out/dflt/change.gpkg' ] && [ -f '$out/dflt/change.kmz' ] && [ -f '$out/dflt/stac-item.json' ] && [ -f '$out/dflt/report.html' ] && [ ! -e '$out/dflt/map.pdf' ]"
check "the default run's manifest lists no map.pdf" "! grep -q 'map.pdf' '$out/dflt/manifest.json'"
check "--with pdf changes no other output (change.tif, map.png, change.gpkg)" \
    "cmp -s '$a/change.tif' '$out/dflt/change.tif' && cmp -s '$a/map.png' '$out/dflt/map.png' && cmp -s '$a/change.gpkg' '$out/dflt/change.gpkg'"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/wall" -q --with all --without kmz ||
    ko "detect --with all --without kmz"
check "--with all --without kmz: map.pdf and no change.kmz" \
    "[ -f '$out/wall/map.pdf' ] && [ ! -e '$out/wall/change.kmz' ]"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/badw" -q --with nonsense \
    2>/dev/null
check "--with nonsense is a usage error (exit 1)" "[ $? -eq 1 ]"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/bad" -q --without nonsense \
    2>/dev/null
check "--without nonsense is a usage error (exit 1)" "[ $? -eq 1 ]"
"$G" detect -b "$S/before.tif" -a "$S/after.tif" -m ndvi -o "$out/a3" -q --pdf-size a3 --with pdf \
    --without gpkg,kmz,stac,report,styles || ko "detect --pdf-size a3"
if command -v pdfinfo >/dev/null 2>&1; then
    check "--pdf-size a3 gives an A3 landscape page" "pdfinfo '$out/a3/map.pdf' | grep -q 'Page size:.*1190.55 x 841.89'"
fi
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "deliverables: all checks passed"
