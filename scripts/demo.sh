#!/usr/bin/env bash
# The main job on the embedded default: the local stack, the synthetic Rhode Island world at full
# scale (about 13 minutes and 9 GB the first time; a re-run finds it and skips), workers, and a
# state-wide run to completion. Prints where the maps are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npx crop-map dev up
npx crop-map dev check
npx crop-map synth --state RI --year 2022 --scale full --seed 1

CROP_MAP_WORKER_LOG="${CROP_MAP_HOME:-.crop-map}/dev/demo-worker.log" \
  bash scripts/with-worker.sh node bin/crop-map.js run --state RI --year 2022 --max-tiles-in-flight 2 --wait
echo "tile maps: s3://crop-map-outputs/runs/<run id>/tiles/<tile>/classes.tif (endpoint http://127.0.0.1:8333)"
echo "progress of any run: npx crop-map status <run id>; Temporal UI: http://127.0.0.1:8233"
