#!/usr/bin/env bash
# fp32 against fp16 on this host's NVIDIA GPU, in one command: onnxruntime-node's CUDA 12 build,
# the export environment, both full-size exports, and windows/s at batches 8, 16 and 32 against the
# GPU's peak (scripts/bench/precision.bench.ts), written to bench/precision.json.
#   bash scripts/gpu/precision.check.sh [precision.bench.ts options, e.g. --batches 8,16,32,64]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; then
  echo "precision.check: no NVIDIA GPU here (nvidia-smi failed); the CPU path: npx tsx scripts/bench/precision.bench.ts --device cpu --size reduced" >&2
  exit 3
fi
# The package ships the CPU build; its install script fetches the CUDA 12 provider (.npmrc skips it).
ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node
npx crop-map model setup
mkdir -p bench
npx tsx scripts/bench/precision.bench.ts --json bench/precision.json "$@"
