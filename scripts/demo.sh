#!/usr/bin/env bash
# The main job on the embedded default: the local stack, the synthetic Rhode Island world at full
# scale (about 13 minutes and 9 GB the first time; a re-run finds it and skips), workers, and a
# state-wide run to completion. Ends with how to look at the result: the viewer's command and the
# run's pages, then where its files are in S3.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npx crop-map dev up
npx crop-map dev check
npx crop-map synth --state RI --year 2022 --scale full --seed 1

home="${CROP_MAP_HOME:-.crop-map}"
out="$home/dev/demo-run.txt"
mkdir -p "$home/dev"
CROP_MAP_WORKER_LOG="$home/dev/demo-worker.log" \
  bash scripts/with-worker.sh node bin/crop-map.js run --state RI --year 2022 --max-tiles-in-flight 2 --wait |
  tee "$out"
# The run command's first lines: "run <id>" and "  output s3://<bucket>/<prefix>".
run_id=$(sed -n 's/^run \([^ ]*\)$/\1/p' "$out" | head -n 1)
output=$(sed -n 's/^  output \(s3:[^ ]*\)$/\1/p' "$out" | head -n 1)
viewer="http://127.0.0.1:8765" # crop-map serve's default address
cat <<TEXT

How to look at run $run_id:
  npx crop-map serve     (the viewer, in the foreground until Ctrl-C), then open
    $viewer/runs/$run_id                      the map, CDL labels, disagreement, region and tiles
    $viewer/runs/$run_id/files/report.html    the report (accuracy, per-class areas, tiles)
    $viewer/                                  every run
  npx crop-map status $run_id                 its tiles, also with no worker running
  Temporal UI: http://127.0.0.1:8233/namespaces/crop-map/workflows/$run_id
Files in S3 (endpoint http://127.0.0.1:8333, any S3 client):
  $output    map.tif, report.html, accuracy.json, stac/collection.json (STAC), tiles/<tile>/classes.tif
TEXT
