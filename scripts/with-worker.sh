#!/usr/bin/env bash
# Runs a command with an all-in-one worker beside it, and leaves nothing behind: when the command
# ends (or this script is interrupted) the worker is told to stop, given time to hand back its
# activities, then killed with anything it started. The command sees the worker's pid in
# CROP_MAP_WORKER_PID.
set -euo pipefail
cd "$(dirname "$0")/.."
log="${CROP_MAP_WORKER_LOG:-${CROP_MAP_HOME:-.crop-map}/dev/worker.log}"
mkdir -p "$(dirname "$log")"
# node itself in a process group of its own: signalling `npx` would leave the node under it running.
setsid node bin/crop-map.js worker --pool all >"$log" 2>&1 &
worker=$!
stop() {
  kill -TERM -- "-$worker" 2>/dev/null || return 0
  for _ in $(seq 1 60); do
    kill -0 -- "-$worker" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$worker" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM
echo "worker $worker running (log: $log)"
CROP_MAP_WORKER_PID=$worker "$@"
