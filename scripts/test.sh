#!/usr/bin/env bash
# The test command: install what is missing, lint and format check, type check, then every test
# against a real Temporal server and a real S3 server that the tests start on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc)"
npx tsc --noEmit
echo "== tests (vitest)"
npx vitest run "$@"
