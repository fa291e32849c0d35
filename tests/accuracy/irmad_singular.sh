#!/bin/sh
# irmad_singular.sh: IR-MAD on a pair whose band 3 duplicates band 1 must stop with an
# input error (exit 2) naming the singular covariance, not write NaNs.
set -u
geodelta=$1 data=$2 out=$3
if [ ! -d "$data" ]; then
    echo "SKIP: shared test data not found at $data"
    exit 77
fi
mkdir -p "$out"
for d in t1 t2; do
    src="$data/landsat/taizhou/$d.tif"
    cat > "$out/$d.vrt" <<VRT
<VRTDataset rasterXSize="400" rasterYSize="400">
  <VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename>$src</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>
  <VRTRasterBand dataType="Byte" band="2"><SimpleSource><SourceFilename>$src</SourceFilename><SourceBand>2</SourceBand></SimpleSource></VRTRasterBand>
  <VRTRasterBand dataType="Byte" band="3"><SimpleSource><SourceFilename>$src</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>
</VRTDataset>
VRT
done
"$geodelta" detect -b "$out/t1.vrt" -a "$out/t2.vrt" -m irmad -o "$out/run" --overwrite \
    --no-map -q 2> "$out/stderr"
rc=$?
cat "$out/stderr"
[ $rc -eq 2 ] || { echo "FAIL: exit $rc, expected 2"; exit 1; }
grep -q "covariance .* is singular" "$out/stderr" || { echo "FAIL: message"; exit 1; }
echo ok
