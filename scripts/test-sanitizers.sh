#!/usr/bin/env bash
# `make test-asan` / `make test-tsan` (issue 17): builds libov3d.so with a sanitizer in its own
# build folder (.build-asan / .build-tsan: Swift -sanitize=address or thread; the C and C++
# targets -fsanitize=address,undefined or thread), builds the C/C++ ABI tests against it with the
# toolchain's clang and the same sanitizer (gcc's runtime is another version), and runs:
#   - abi_contract_test: every export with hostile arguments, wrong-type and freed handles
#   - session_threads_test: sessions sharing one model from 8 threads, cancellation, any free order
#   - the other tests/abi C and C++ tests
# Usage: bash scripts/test-sanitizers.sh asan|tsan (SAN_TESTS="a b": only those programs). Timings:
# docs/robustness.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
kind=${1:?usage: test-sanitizers.sh asan|tsan}
case "$kind" in
  asan) swift_san=address; c_san=address,undefined ;;
  tsan) swift_san=thread; c_san=thread ;;
  *) echo "unknown sanitizer '$kind' (asan or tsan)"; exit 2 ;;
esac
BUILD=$ROOT/.build-$kind
OUT=$BUILD/abi
mkdir -p "$OUT"
t0=$SECONDS
CLANG=${CLANG:-$(dirname "$(readlink -f "$(command -v swift)")")/clang}
[ -x "$CLANG" ] || CLANG=clang
CLANGXX=${CLANGXX:-${CLANG}++}
[ -x "$CLANGXX" ] || CLANGXX=clang++
# TSan's runtime intercepts libdispatch, so test programs link the toolchain's libdispatch and
# BlocksRuntime (which libov3d.so's Swift runtime uses anyway).
SWIFTLIB=$(dirname "$CLANG")/../lib/swift/linux
extra=()
[ "$kind" = tsan ] && extra=(-L"$SWIFTLIB" -ldispatch -lBlocksRuntime -Wl,-rpath,"$SWIFTLIB")

echo "== swift build --build-path .build-$kind (-sanitize=$swift_san; C/C++ -fsanitize=$c_san)"
swift build --build-path "$BUILD" --product ov3d \
  -Xswiftc -sanitize="$swift_san" \
  -Xcc -fsanitize="$c_san" -Xcc -fno-omit-frame-pointer -Xcc -fno-sanitize-recover=all \
  -Xcxx -fsanitize="$c_san" -Xcxx -fno-omit-frame-pointer -Xcxx -fno-sanitize-recover=all \
  2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
LIBDIR=$(swift build --build-path "$BUILD" --show-bin-path)
[ -f "$LIBDIR/libov3d.so" ] || { echo "the $kind build failed"; exit 1; }
tb=$SECONDS
echo "== built in $((tb - t0)) s"

# The runtime options: leaks are reported (ASan), any UBSan finding is fatal, and a huge
# allocation returns NULL / throws std::bad_alloc, as without ASan, instead of aborting (the
# tests check that such failures come back as OV3D_ERR_OUT_OF_MEMORY).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export OPENBLAS_NUM_THREADS=1
export OV3D_ROOT=$ROOT

passed=0
failed=0
run() { # run <name> <exe>
  local log=$OUT/$1.log
  if "$2" > "$log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $1: $(grep -E 'passed' "$log" | tail -1)"
  else
    failed=$((failed + 1)); echo "FAIL $1 (exit $?)"; tail -60 "$log"
  fi
  grep -E 'SUMMARY: |runtime error:' "$log" | head -5 || true
}

# SAN_TESTS="abi_contract_test session_threads_test" runs only those programs (CI's ASan step).
want() { [ -z "${SAN_TESTS:-}" ] || case " $SAN_TESTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for src in tests/abi/*_test.c; do
  want "$(basename "$src" .c)" || continue
  exe=$OUT/$(basename "$src" .c)
  "$CLANG" -std=c99 -g -O1 -fsanitize="$c_san" -fno-omit-frame-pointer -Iinclude "$src" \
    -L"$LIBDIR" -lov3d -lpthread -lm -Wl,-rpath,"$LIBDIR" "${extra[@]}" -o "$exe"
  run "$(basename "$src" .c)" "$exe"
done
for src in tests/abi/*_test.cpp; do
  want "$(basename "$src" .cpp)" || continue
  exe=$OUT/$(basename "$src" .cpp)
  "$CLANGXX" -std=c++17 -g -O1 -fsanitize="$c_san" -fno-omit-frame-pointer -Iinclude -Ibindings/cpp "$src" \
    -L"$LIBDIR" -lov3d -lpthread -Wl,-rpath,"$LIBDIR" "${extra[@]}" -o "$exe"
  run "$(basename "$src" .cpp)" "$exe"
done
echo "== $kind: $passed passed, $failed failed; build $((tb - t0)) s, tests $((SECONDS - tb)) s"
[ "$failed" = 0 ]
