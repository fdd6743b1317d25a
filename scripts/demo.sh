#!/usr/bin/env bash
# The main job (README: `make setup demo`): the end-to-end demo on a generated room.
# Expects `make build` to have run (bin/ov3d, libov3d.so). The 3D network is the MinkUNet ov3d
# trains itself from the synthetic world's simulated teachers (scripts/demo-model.sh,
# examples/train/demo.json; a few minutes on 2 cores the first time, then reused).
# OV3D_DEMO_MODEL=none runs the demo with random 3D weights (timing only).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/demo}
if [ "${OV3D_DEMO_MODEL:-}" = none ]; then
  CK=()
else
  echo "== the demo's 3D network: trained by ov3d (scripts/demo-model.sh)"
  M=$(bash scripts/demo-model.sh "${OV3D_DEMO_MODEL:-out/demo-model}" | tail -1)
  CK=(--checkpoint "$M" --centred)
fi
echo "== ov3d demo -> $OUT"
"${OV3D:-bin/ov3d}" demo --out "$OUT" "${CK[@]}" "$@"
