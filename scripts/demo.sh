#!/usr/bin/env bash
# The main job on the embedded default: the local stack, the synthetic Rhode Island world at full
# scale (about 13 minutes and 9 GB the first time; a re-run finds it and skips), then the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npx crop-map dev up
npx crop-map dev check
npx crop-map synth --state RI --year 2022 --scale full --seed 1
