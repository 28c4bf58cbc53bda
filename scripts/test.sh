#!/usr/bin/env bash
# The test command: install what is missing, lint and format check, type check, then every test
# against a real Temporal server and a real S3 server that the tests start on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The model export's PyTorch environment (about 3.5 GB from PyPI the first time, then cached in
# ~/.cache/crop-map) installs in the background while lint, type check and the other tests run;
# the export test waits for it.
mkdir -p .crop-map
node bin/crop-map.js model setup > .crop-map/model-setup.log 2>&1 &
setup=$!
# Nothing outlives the command: an unfinished install is stopped (it resumes on the next run).
trap 'kill "$setup" 2>/dev/null || true' EXIT
echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc)"
npx tsc --noEmit
echo "== tests (vitest)"
npx vitest run "$@"
