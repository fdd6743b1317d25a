#!/usr/bin/env bash
# Builds the libFuzzer executables (coverage-guided, sanitizers; issue 17) straight from the
# sources (SwiftPM's `swift build` never builds them):
#   fuzz/parser-fuzzer   every Swift ParserTarget (all of OV3DCore compiled with swiftc
#                        -sanitize=fuzzer,address, one module; the target is chosen by
#                        OV3D_FUZZ_TARGET, see fuzz/ParserFuzzer.swift). The libpng wrapper
#                        (CImageIO) is compiled here with -fsanitize=fuzzer-no-link,address so the
#                        `png` target sees its coverage; the other C/C++ objects (kernels, PCL
#                        bridge, CSupport: no parser) are linked from the debug build, uninstrumented.
#   fuzz/png-fuzzer      the C PNG wrapper alone (fuzz/png_fuzzer.c + Sources/CImageIO/png_io.c),
#                        clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all.
# Needs the debug build (`swift build`; run here when missing) and the toolchain's clang.
# Usage: see fuzz/README.md (or `make fuzz SECONDS=N`). Env: OUT_DIR (default fuzz/), FUZZ_OPT
# (default -O; CI uses -Onone: a faster build for its short runs).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
S=Sources/OV3DCore
O=${OUT_DIR:-fuzz}
CLANG=${CLANG:-$(dirname "$(readlink -f "$(command -v swift)")")/clang}
[ -x "$CLANG" ] || CLANG=clang
# gold warns once per ASan helper symbol ("Cannot export local symbol"): harmless, filtered.
quiet() { "$@" 2> >(grep -v 'Cannot export local symbol' >&2); }
B="$(swift build --show-bin-path)"
need_debug=0
for t in CKernels CPCLBridge CSupport; do ls "$B/$t.build/"*.o >/dev/null 2>&1 || need_debug=1; done
[ "$need_debug" = 0 ] || swift build --product ov3d >/dev/null
W=.build/fuzz-build${FUZZ_OPT:-}
mkdir -p "$O"
mkdir -p "$W/modules"

# The C PNG wrapper, instrumented: for the Swift fuzzer (coverage + ASan) and the C fuzzer.
"$CLANG" -c -g -O1 -fsanitize=fuzzer-no-link,address -ISources/CImageIO/include \
  Sources/CImageIO/png_io.c -o "$W/png_io.o"
quiet "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -ISources/CImageIO/include fuzz/png_fuzzer.c Sources/CImageIO/png_io.c -lpng -o "$O/png-fuzzer"
echo "built $O/png-fuzzer ($((SECONDS - t0)) s)"

MAPS=()
for t in CImageIO CKernels CPCLBridge CSupport; do
  MAPS+=(-Xcc "-fmodule-map-file=$B/$t.build/module.modulemap" -I "Sources/$t/include")
done
OBJS=("$W/png_io.o" "$B"/CKernels.build/*.o "$B"/CPCLBridge.build/*.o "$B"/CSupport.build/*.o)
XCC=()
for f in $(pkg-config --cflags-only-I pcl_common openblas 2>/dev/null); do XCC+=(-Xcc "$f"); done
# Its own module cache: a cache shared with other builds can hold a CKernels module from before
# a header was added to its umbrella directory (`cannot find type ... in scope`).
quiet swiftc "${FUZZ_OPT:--O}" -g -suppress-warnings -sanitize=fuzzer,address -parse-as-library -module-name OV3DFuzz \
  -module-cache-path "$W/modules" \
  -I Sources/CZlib -I Sources/COpenBLAS -I Sources/CPCL "${MAPS[@]}" "${XCC[@]}" \
  $(find $S -name '*.swift' | sort) fuzz/ParserFuzzer.swift "${OBJS[@]}" \
  -lz -lpng -lpcl_segmentation -lpcl_features -lpcl_search -lpcl_kdtree -lpcl_octree -lpcl_common -lstdc++ \
  $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -o "$O/parser-fuzzer"
echo "built $O/parser-fuzzer ($((SECONDS - t0)) s in all)"
