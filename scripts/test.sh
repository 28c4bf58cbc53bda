#!/usr/bin/env bash
# The test command: install what is missing, lint and format check, type check, then every test
# against a real Temporal server and a real S3 server that the tests start on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The slow first-time installs run in the background while lint, type check and the first tests
# run: the model export's PyTorch environment (about 3.5 GB from PyPI) and the servers and Helm
# (Helm is built with `go install`, about 4 minutes cold); all are cached in ~/.cache/crop-map and a
# test that needs one waits for its install.
mkdir -p .crop-map
node bin/crop-map.js model setup > .crop-map/model-setup.log 2>&1 &
setup=$!
node bin/crop-map.js dev tools > .crop-map/tools-setup.log 2>&1 &
tools=$!
# Nothing outlives the command: an unfinished install is stopped (it resumes on the next run).
trap 'kill "$setup" "$tools" 2>/dev/null || true' EXIT
echo "== lint and format (biome)"
npx biome ci .
echo "== imports run one way (dependency-cruiser, .dependency-cruiser.cjs)"
npx depcruise lib activities workflows workers scripts infra models test --config .dependency-cruiser.cjs
echo "== type check (tsc)"
npx tsc --noEmit
echo "== tests (vitest)"
npx vitest run "$@"
