#!/usr/bin/env bash
# Installs the node packages when package-lock.json changed since the last install.
# The servers (Temporal CLI, SeaweedFS) install themselves on first use, into ~/.cache/crop-map/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.crop-map-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing node packages ..."
  # `npm ci`, as a user's CI would: the lock file lists every platform's optional binaries (biome,
  # swc, esbuild) and npm fetches only this platform's.
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
