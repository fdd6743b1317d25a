#!/usr/bin/env bash
# Builds the libFuzzer executables (coverage-guided, AddressSanitizer) with swiftc
# -sanitize=fuzzer,address straight from the sources (SwiftPM's `swift build` never builds them):
#   fuzz/parser-fuzzer      every parser of untrusted bytes (all of OV3DCore; the target is chosen
#                           by OV3D_FUZZ_TARGET, see fuzz/ParserFuzzer.swift); the C/C++ targets
#                           (libpng wrapper, PCL bridge, kernels) are linked from the debug build
#                           (`swift build` first: not instrumented).
# Usage: see fuzz/README.md (or `make fuzz SECONDS=N`).
set -euo pipefail
cd "$(dirname "$0")/.."
S=Sources/OV3DCore
B="$(swift build --show-bin-path)"
[ -f "$B/CImageIO.build/png_io.c.o" ] || swift build --product ov3d >/dev/null
MAPS=""
for t in CImageIO CKernels CPCLBridge CSupport; do MAPS="$MAPS -Xcc -fmodule-map-file=$B/$t.build/module.modulemap -I Sources/$t/include"; done
OBJS=$(ls "$B"/CImageIO.build/*.o "$B"/CKernels.build/*.o "$B"/CPCLBridge.build/*.o "$B"/CSupport.build/*.o)
PCL_I=$(pkg-config --cflags-only-I pcl_common 2>/dev/null | sed 's/-I/-Xcc -I/g')
OUT="${OUT:-fuzz/parser-fuzzer}"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name OV3DFuzz \
  -I Sources/CZlib -I Sources/COpenBLAS -I Sources/CPCL $MAPS $PCL_I \
  $(pkg-config --cflags-only-I openblas 2>/dev/null | sed 's/-I/-Xcc -I/g') \
  $(find $S -name '*.swift' | sort) fuzz/ParserFuzzer.swift $OBJS \
  -lz -lpng -lpcl_segmentation -lpcl_features -lpcl_search -lpcl_kdtree -lpcl_octree -lpcl_common -lstdc++ \
  $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -o "$OUT"
echo "built $OUT"
