# batch_common.sh: sourced by the batch tests: small samples, zones and a batch file in $1.
# usage: make_batch_inputs GD_MAKE_SAMPLES DIR
make_batch_inputs() {
    local gen="$1" dir="$2"
    mkdir -p "$dir"
    "$gen" "$dir/a" --size 128 >/dev/null
    "$gen" "$dir/b" --size 128 --shift 1.5,0.5 >/dev/null
    "$gen" "$dir/c" --size 100 --shift -2,3 >/dev/null
    cat > "$dir/zones.geojson" <<'JSON'
{"type": "FeatureCollection",
 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
 "features": [
  {"type": "Feature", "properties": {"name": "west"}, "geometry": {"type": "Polygon",
   "coordinates": [[[400000, 5798720], [400640, 5798720], [400640, 5800000], [400000, 5800000], [400000, 5798720]]]}},
  {"type": "Feature", "properties": {"name": "east"}, "geometry": {"type": "Polygon",
   "coordinates": [[[400640, 5798720], [401280, 5798720], [401280, 5800000], [400640, 5800000], [400640, 5798720]]]}}]}
JSON
    # six jobs: three sites, three methods, one job that fails (truth.tif has no nir band)
    cat > "$dir/jobs.json" <<'JSON'
{"description": "batch test: synthetic samples",
 "defaults": {"method": "ndvi", "zones": "zones.geojson", "zone_field": "name",
              "alerts": {"amber": {"changed_ha": 1}, "red": {"changed_pct": 10}},
              "params": {"mmu_ha": 0.05, "map_width": 320}},
 "shards": 3,
 "jobs": [
  {"id": "a-ndvi", "before": "a/before.tif", "after": "a/after.tif"},
  {"id": "b-ndvi", "before": "b/before.tif", "after": "b/after.tif"},
  {"id": "c-fixed", "before": "c/before.tif", "after": "c/after.tif", "params": {"threshold": 0.2}},
  {"id": "fails", "before": "a/before.tif", "after": "a/truth.tif"},
  {"id": "ab-ndwi", "before": "b/before.tif", "after": "a/after.tif", "method": "ndwi",
   "params": {"no_map": true}},
  {"id": "a-cva", "before": "a/before.tif", "after": "a/after.tif", "method": "cva",
   "zones_all_touched": true, "alerts": {"red": {"changed_ha": 10}}}
 ]}
JSON
}

# Hashes of the deterministic outputs of every job folder (manifest.json and run.log
# hold timestamps; map.png holds none but is covered by the manifest check).
output_hashes() {
    local root="$1"
    (cd "$root" && find . -mindepth 2 \( -name change.tif -o -name change.geojson \
        -o -name summary.json -o -name zones.csv -o -name zones.geojson -o -name map.png \
        -o -name failed.json -o -name job.json \) -print0 | sort -z | xargs -0 sha256sum) |
        grep -v 'failed.json' || true
}

# batch.csv without the seconds column (9th); our test ids and zones hold no commas.
index_without_seconds() {
    cut -d, -f1-8,10- "$1"
}
