#!/usr/bin/env bash
# The main job on the embedded default: the local stack, then the pipeline on the bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npx crop-map dev up
npx crop-map dev check
npx crop-map tiles --state RI
