#!/usr/bin/env bash
# stac_cogs.sh: the per-band COGs the stac tests serve (made once: gdal_translate -of COG
# of the OSCD Pisa bands, whole and split into two overlapping tiles).
# usage: stac_cogs.sh DATA OUTDIR
set -euo pipefail
DATA="$1" # read by stac_fixture.sh
export DATA
# shellcheck source=stac_fixture.sh
. "$(dirname "$0")/stac_fixture.sh"
stac_make_cogs "$2"
echo "ok: $(find "$2" -name '*.tif' | wc -l) COGs in $2"
