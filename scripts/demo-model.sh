#!/usr/bin/env bash
# The 3D network of `make demo`, trained by ov3d itself (issue 13): six synthetic rooms
# (`ov3d synth --preset tiny`, seeds 101-106, SIMULATED teachers; the demo's room is small, seed 1),
# SAS's capability-guided fusion of the two text-aligned teachers with the annotation-free table
# as the target, centred on the vocabulary's mean embedding (`ov3d agglomerate --centre`:
# the loss then learns what tells the classes apart, not CLIP's common direction; `ov3d demo
# --centred` maps the features back), supervoxels (`ov3d superpoints`), then SAS stage 1 on a
# MinkUNet14A at 10 cm (`ov3d train --config examples/train/demo.json`; docs/recipes.md).
# Deterministic: same seeds and threads give the same weights (tests/cli/test_recipes_cli.py
# checks it for the recipe; `OV3D_DEMO_CHECK=1` retrains here and compares). Skipped when
# $DIR/demo.safetensors exists for the same recipe.
# Usage: scripts/demo-model.sh [DIR] (default out/demo-model); prints the checkpoint path last.
set -euo pipefail
cd "$(dirname "$0")/.."
OV3D=${OV3D:-bin/ov3d}
DIR=${1:-out/demo-model}
mkdir -p "$DIR/data"
if [ -f "$DIR/demo.safetensors" ] && cmp -s examples/train/demo.json "$DIR/demo.json" && [ "${OV3D_DEMO_CHECK:-0}" != 1 ]; then
  echo "$DIR/demo.safetensors"; exit 0
fi
for s in 101 102 103 104 105 106; do
  R="$DIR/data/room$s"
  if [ ! -f "$R/teachers/capability_centred.npy" ]; then
    "$OV3D" synth --preset tiny --seed "$s" --out "$R" --no-frame-features --threads 2 > "$R.synth.log"
    "$OV3D" agglomerate --teacher "$R/teachers/lseg.npy" --teacher "$R/teachers/seem.npy" \
      --vocabulary "$R/vocabulary/embeddings.npy" --method capability --capabilities "$R/capabilities/table.npy" \
      --centre --out "$R/teachers/capability_centred.npy" --threads 2
    "$OV3D" superpoints --method vccs --quiet --out-ids "$R/superpoints.npy" "$R/points.ply"
  fi
done
cp examples/train/demo.json "$DIR/demo.json"
[ -f "$DIR/demo.safetensors" ] && mv "$DIR/demo.safetensors" "$DIR/demo.previous.safetensors"
"$OV3D" train --config "$DIR/demo.json" --summary "$DIR/summary.json" >&2
if [ -f "$DIR/demo.previous.safetensors" ] && [ "${OV3D_DEMO_CHECK:-0}" = 1 ]; then
  cmp "$DIR/demo.safetensors" "$DIR/demo.previous.safetensors" >&2 && echo "retrained: identical weights" >&2
fi
echo "$DIR/demo.safetensors"
