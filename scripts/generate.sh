#!/usr/bin/env bash
# Regenerates what is made from the protocol model (src/protocol): the
# meta-model protocol/model.json, the JSON Schemas of protocol/schema/, the
# TypeScript types editors/vscode/src/protocol.ts and the Python client
# editors/scripts/packer_protocol.py. `cargo test` fails while any of them
# differs from what the model gives; commit what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_GENERATED=1 cargo test --all-features --test generated --quiet
git status --short protocol editors/vscode/src/protocol.ts editors/scripts/packer_protocol.py
