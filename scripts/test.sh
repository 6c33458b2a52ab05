#!/usr/bin/env bash
# Every test of the project: the Rust suite (with the test-only hooks), then
# the clients under editors/ against the binary it built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

cargo test --all-features

echo "== editors/vscode (node's test runner)"
if ! command -v npm > /dev/null; then
  echo "npm is not installed: cannot test editors/vscode" >&2
  exit 1
fi
(
  cd editors/vscode
  npm ci --no-audit --no-fund --loglevel=error
  npx tsc -p .
  STUDIO_PACKER_BIN="$root/target/debug/studio-packer" node --test out/test/
)
