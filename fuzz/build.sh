#!/usr/bin/env bash
# Builds fuzz/checkpoint-fuzzer: a libFuzzer (coverage-guided, AddressSanitizer) executable over
# the checkpoint readers, compiled straight from the sources with swiftc -sanitize=fuzzer,address
# (SwiftPM's default `swift build` never builds it). Usage: see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
S=Sources/OV3DCore
OUT="${OUT:-fuzz/checkpoint-fuzzer}"
FILES=$(ls $S/Support/{OV3DError,Parallel,Progress}.swift $S/Tensor/*.swift $S/Formats/*.swift $S/Checkpoint/*.swift \
        $S/Models/MinkUNetSpec.swift)
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name OV3DFuzz \
  -I Sources/CZlib -I Sources/COpenBLAS $(pkg-config --cflags-only-I openblas 2>/dev/null | sed 's/-I/-Xcc -I/g') \
  $FILES fuzz/CheckpointFuzzer.swift -lz $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -o "$OUT"
echo "built $OUT"
