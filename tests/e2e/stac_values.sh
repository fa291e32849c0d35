#!/usr/bin/env bash
# stac_values.sh: what detect --stac does with the items' statements of their values and
# with awkward acquisitions, against the nginx STAC fixture on 127.0.0.1:
#   - Sentinel-2 offsets: the same scene with the baseline-04.00 offset in the numbers
#     (earthsearch:boa_offset_applied=false, raster:bands offset -0.1) and taken out
#     (flag true; raster:bands still says -0.1, as Earth Search has been seen to) gives
#     the same reflectances and change pixels; a flag that lies gives other pixels;
#   - the scl asset as cloud mask: clouds over part of the change end as nodata;
#   - one acquisition split across two CRSs (geographic and UTM 32N) is warped, not refused;
#   - progress during search and fetch; SIGINT during a stalled fetch: exit 130, no
#     output that looks complete.
# usage: stac_values.sh GEODELTA DATA COGS
set -euo pipefail
G="$1"
DATA="$2" # read by stac_fixture.sh
export DATA
COGS="$3"
W="$(mktemp -d /tmp/gd_e2e_stacval.XXXXXX)"
# shellcheck source=stac_fixture.sh
. "$(dirname "$0")/stac_fixture.sh"
GPID=""
trap '[[ -n "$GPID" ]] && kill "$GPID" 2>/dev/null; stac_stop; [[ -n "${KEEP:-}" ]] || rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v gdal_calc.py >/dev/null || stac_skip "gdal_calc.py not installed"
# Debian's python3-gdal lives in the system interpreter (a pyenv python3 on PATH lacks it)
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
"$PY" -c 'from osgeo import gdal; import numpy' 2>/dev/null || stac_skip "no python3-gdal/numpy"

stac_make "$COGS"
D="$W/www/data"
cog() { gdal_translate -q -of COG -co BLOCKSIZE=128 -co COMPRESS=DEFLATE "$1" "$2"; rm -f "$1"; }
# the after scene with the baseline-04.00 offset in its numbers: DN + 1000
for k in red nir; do
    gdal_calc.py --quiet -A "$D/t2-full-$k.tif" --calc="A+1000" --type=UInt16 \
        --outfile "$W/p.tif" >/dev/null
    cog "$W/p.tif" "$D/t2-p1000-$k.tif"
done
# a scene classification for the after date: vegetation (4), clouds (9) over rows
# 300..349, columns 330..379 of the scene (the AOI's north-west quarter)
"$PY" - "$D/t2-full-red.tif" "$W/scl.tif" <<'EOF'
import sys
from osgeo import gdal
import numpy as np
src = gdal.Open(sys.argv[1])
a = np.full((src.RasterYSize, src.RasterXSize), 4, np.uint8)
a[300:350, 330:380] = 9
d = gdal.GetDriverByName("GTiff").Create(sys.argv[2], src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte)
d.SetGeoTransform(src.GetGeoTransform())
d.SetProjection(src.GetProjection())
d.GetRasterBand(1).WriteArray(a)
d = None
EOF
cog "$W/scl.tif" "$D/t2-scl.tif"
# the west tile of the before acquisition in UTM 32N; the east one (the first item by
# id, whose CRS the mosaic takes) stays in the fixture's geographic CRS
for k in red nir; do
    gdalwarp -q -t_srs EPSG:32632 -tr 10 10 -r near "$D/t1-west-$k.tif" "$W/e.tif"
    cog "$W/e.tif" "$D/t1-w32-$k.tif"
done

# item variants: NDVI's two bands; $1 root, $2 before filter, $3 after filter
RN='.assets |= {red: .red, nir: .nir}'
rb() { echo ".assets[] |= . + {\"raster:bands\": [{scale: 0.0001, offset: $1, nodata: 0}]}"; }
variant() {
    local root="$1" it="$W/items_$1"
    mkdir -p "$it" "$W/www/$root"
    for id in b-0704-w b-0704-e; do jq -c "$RN | $2" "$W/items/$id.json" >"$it/$id.json"; done
    jq -c "$RN | $3" "$W/items/a-0211.json" >"$it/a-0211.json"
    stac_landing "$root"
    stac_pages "$root" "$it/b-0704-w.json $it/a-0211.json" "$it/b-0704-e.json"
}
# before: baseline 02.07 (no offset); after: baseline 05.09, offset in the numbers or not
OLD=".properties[\"s2:processing_baseline\"] = \"02.07\" | $(rb 0)"
NEW=".properties[\"s2:processing_baseline\"] = \"05.09\" | $(rb -0.1)"
P1000='.assets[] |= (.href |= sub("t2-full-"; "t2-p1000-"))'
variant harm "$OLD" "$NEW | .properties[\"earthsearch:boa_offset_applied\"] = true"
variant raw "$OLD" "$NEW | .properties[\"earthsearch:boa_offset_applied\"] = false | $P1000"
variant lie "$OLD" "$NEW | .properties[\"earthsearch:boa_offset_applied\"] = true | $P1000"
variant scl "$OLD" "$NEW | .properties[\"earthsearch:boa_offset_applied\"] = true |
    .assets.scl = {href: (.assets.red.href | sub(\"t2-full-red\"; \"t2-scl\")), roles: [\"data\"]}"
variant plain "." "."
variant utm '(select(.id == "b-0704-w") | .assets[] |= (.href |= sub("t1-west-"; "t1-w32-"))) // .' "."
stac_start || fail "nginx did not start"

A=(--collection sentinel-2-l2a --aoi "$W/aoi.geojson" --before 2015-07-01/2015-07-31
   --after 2018-02-01/2018-02-28 -m ndvi --map-width 320)
run() { "$G" detect --stac "$BASE/$1" "${A[@]}" -q -o "$W/$1" || fail "$1: exit $?"; }
pix() { gdal_translate -q -of ENVI "$W/$1/change.tif" "$W/$1.bin"; }
for r in ${ONLY:-harm raw lie scl plain utm}; do run "$r"; pix "$r"; done

# ---- offsets: flag true over original numbers = flag false over DN + 1000 ----
S='.auto.sensor.after'
for r in harm raw; do
    [[ "$(jq -r "$S.profile" "$W/$r/manifest.json")" == s2l2a ]] ||
        fail "$r: after profile $(jq -r "$S.profile" "$W/$r/manifest.json"), not s2l2a"
    [[ "$(jq -r '.auto.sensor.before.profile' "$W/$r/manifest.json")" == s2l2a ]] || fail "$r: before profile"
done
[[ "$(jq -c "[$S.bands[].offset]" "$W/harm/manifest.json")" == "[0,0]" ]] ||
    fail "harm: offsets $(jq -c "[$S.bands[].offset]" "$W/harm/manifest.json"), the flag says 0"
[[ "$(jq -c "[$S.bands[].offset]" "$W/raw/manifest.json")" == "[-0.1,-0.1]" ]] ||
    fail "raw: offsets $(jq -c "[$S.bands[].offset]" "$W/raw/manifest.json"), raster:bands says -0.1"
jq -e '.discover.dates[1].values | .offset_applied == true and .processing_baseline == 5.09' \
    "$W/harm/manifest.json" >/dev/null || fail "harm: the item's statement is not recorded"
jq -e '[.discover.dates[1].bands[].s2_offset_why | test("boa_offset_applied=true")] | all' \
    "$W/harm/manifest.json" >/dev/null || fail "harm: no reason recorded per band"
cmp -s "$W/harm.bin" "$W/raw.bin" || fail "offset applied and not applied give other change pixels"
if cmp -s "$W/harm.bin" "$W/lie.bin"; then fail "a lying flag changed nothing: the test cannot fail"; fi
echo "ok: offset in the numbers (raster:bands -0.1) and taken out (flag) -> the same $(jq .changed_pixels "$W/harm/summary.json") changed px; a lying flag -> $(jq .changed_pixels "$W/lie/summary.json")"

# ---- scl: clouds over part of the change are nodata ----
"$PY" - "$W/harm/change.tif" "$W/scl/change.tif" "$D/t2-scl.tif" <<'EOF' || fail "scl mask"
import sys
from osgeo import gdal
import numpy as np
def grid(p):
    d = gdal.Open(p)
    a = d.GetRasterBand(1).ReadAsArray()
    return d.GetGeoTransform(), a
(gt, ref), (gt2, got), (sgt, scl) = grid(sys.argv[1]), grid(sys.argv[2]), grid(sys.argv[3])
assert gt == gt2 and ref.shape == got.shape, "the two runs have other grids"
rows, cols = np.indices(ref.shape)
x = gt[0] + (cols + 0.5) * gt[1]; y = gt[3] + (rows + 0.5) * gt[5]
sc = np.floor((x - sgt[0]) / sgt[1]).astype(int); sr = np.floor((y - sgt[3]) / sgt[5]).astype(int)
cloud = scl[sr.clip(0, scl.shape[0] - 1), sc.clip(0, scl.shape[1] - 1)] == 9
inside = ref != 255                      # in the AOI
c_in = cloud & inside
chg = (ref != 0) & (ref != 255)
changed_under = int((chg & c_in).sum())
print(f"cloud px in AOI {int(c_in.sum())}, change under cloud (no mask) {changed_under}, "
      f"change elsewhere {int((chg & inside & ~cloud).sum())}")
assert changed_under > 0, "the clouds cover no change: the test proves nothing"
assert ((got != 255) & (got != 0)).sum() < (chg & inside).sum(), "no change removed by the mask"
assert (chg & inside & ~cloud).sum() > 0, "all the change is under the clouds"
assert (got[c_in] == 255).all(), f"{int((got[c_in] != 255).sum())} cloudy px not nodata"
# the after date is co-registered (a sub-pixel shift) and its mask moves with it: the
# masked area may reach one pixel past the cloud box, never further
near = cloud.copy()
for dy in (-1, 0, 1):
    for dx in (-1, 0, 1):
        near |= np.roll(np.roll(cloud, dy, 0), dx, 1)
extra = (got == 255) & ~((ref == 255) | near)
fringe = int(((got == 255) & ~((ref == 255) | cloud)).sum())
print(f"masked px beyond the cloud box (co-registration fringe, <= 1 px): {fringe}")
assert not extra.any(), f"{int(extra.sum())} nodata px where there is no cloud, e.g. at " \
    f"{list(zip(*np.nonzero(extra)))[:5]}; clouds at rows {np.nonzero(c_in.any(1))[0][[0, -1]]}, " \
    f"cols {np.nonzero(c_in.any(0))[0][[0, -1]]}"
EOF
jq -e '.auto.sensor.after.mask.masked_pixels > 0' "$W/scl/manifest.json" >/dev/null ||
    fail "scl: no masked pixels recorded"
echo "ok: scl: $(jq .auto.sensor.after.mask.masked_pixels "$W/scl/manifest.json") cloudy px masked, nodata in change.tif"

# ---- one acquisition across two CRSs (EPSG:4326 and UTM 32N): warped onto the first
# item's grid, close to the single-CRS result ----
jq -e '.warnings | map(select(test("different CRSs: 2 asset"))) | length == 1' "$W/utm/manifest.json" \
    >/dev/null || fail "utm: no warning about the warped assets"
[[ "$(jq -r '.discover.dates[0].acquisition.coverage' "$W/utm/manifest.json")" == 1 ]] || fail "utm: coverage"
agree="$("$PY" - "$W/plain/change.tif" "$W/utm/change.tif" <<'EOF'
import sys
from osgeo import gdal
ds = [gdal.Open(p) for p in sys.argv[1:]]  # kept: a band outliving its dataset crashes
a, b = (d.GetRasterBand(1).ReadAsArray() for d in ds)
assert a.shape == b.shape, (a.shape, b.shape)
v = a != 255
print(f"{(a[v] == b[v]).mean():.4f}")
EOF
)" || fail "utm: other grid than the single-CRS run"
awk -v a="$agree" 'BEGIN {exit !(a >= 0.97)}' || fail "utm: agreement $agree with the single-CRS run"
if cmp -s "$W/plain.bin" "$W/utm.bin"; then
    echo "note: utm result byte-identical to the single-CRS run"
fi
echo "ok: acquisition across two CRSs warped: $agree of the AOI's pixels as in the single-CRS run"

# ---- progress lines during search and fetch ----
"$G" detect --stac "$BASE/plain" "${A[@]}" -o "$W/prog" 2>"$W/prog.err" >/dev/null || fail "progress run"
grep -q '0\.\.\.10\.\.\.20.*100 - done\.' "$W/prog.err" || { cat "$W/prog.err"; fail "no progress line"; }
grep -q 'search before: page 1' "$W/prog/run.log" || fail "no search progress in run.log"
grep -q 'before: window .* read in' "$W/prog/run.log" || fail "no fetch line in run.log"
echo "ok: progress line on stderr; search pages and window reads in run.log"

# ---- SIGINT during a stalled fetch: exit 130 within a second or two, nothing complete ----
sigint() { # root
    local t0 rc=0
    t0=$(date +%s%N)
    GDAL_HTTP_TIMEOUT=60 "$G" detect --stac "$BASE/$1" "${A[@]}" -q -o "$W/int_$1" 2>"$W/int_$1.err" &
    GPID=$!
    sleep 2
    kill -INT "$GPID"
    wait "$GPID" || rc=$?
    GPID=""
    local ms=$((($(date +%s%N) - t0) / 1000000 - 2000))
    [[ $rc -eq 130 ]] || { cat "$W/int_$1.err"; fail "$1: SIGINT -> exit $rc, not 130"; }
    ((ms < 5000)) || fail "$1: exit $ms ms after SIGINT"
    grep -q "interrupted by SIGINT" "$W/int_$1.err" || { cat "$W/int_$1.err"; fail "$1: message"; }
    for f in manifest.json change.tif change.geojson summary.json map.png; do
        [[ -e "$W/int_$1/$f" ]] && fail "$1: $f left behind after SIGINT"
    done
    echo "ok: SIGINT during the stalled $1 fetch -> exit 130 after $ms ms, no output left"
}
sigint stall
