#!/usr/bin/env bash
# The main job (README: `make setup demo`): the end-to-end demo on a generated room.
# Expects `make build` to have run (bin/ov3d, libov3d.so).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/demo}
echo "== ov3d demo -> $OUT"
bin/ov3d demo --out "$OUT" "$@"
