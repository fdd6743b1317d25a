#!/usr/bin/env bash
# The whole test suite (README: `make test`): swift test, then the ABI tests against the built
# libov3d.so: header as C99 and C++17 with -Werror, exported symbols == declared functions,
# hostile-argument calls of every export, C/C++ tests and examples, Python binding tests,
# `ov3d features` command-line tests (tests/cli).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/.build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS" .build/abi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
t0=$SECONDS
step() { printf '\n== %s (t=%ss)\n' "$1" "$((SECONDS - t0))"; }
passed=0
failed=0
count() { # count <log> <regex for passed number>
  local n
  n=$(grep -oE "$2" "$1" | tail -1 | grep -oE '[0-9]+' | head -1 || true)
  passed=$((passed + ${n:-0}))
}

step "swift test"
set +e
swift test > "$LOGS/swift-test.log" 2>&1
rc=$?
set -e
grep -vE '^(\[[0-9]+/[0-9]+\]|Test Case .* (started|passed))|◇ Test .* started|✔ Test .* passed|^Compiling|^Write|^Building' "$LOGS/swift-test.log" || true
if [ "$rc" != 0 ] || grep -qE '✘ Test run .* failed|with [1-9][0-9]* failures? \(' "$LOGS/swift-test.log"; then
  echo "swift test failed"; exit 1
fi
count "$LOGS/swift-test.log" 'Executed [0-9]+ tests'
count "$LOGS/swift-test.log" 'Test run with [0-9]+ tests'

LIBDIR=$(swift build --show-bin-path)
LIB=$LIBDIR/libov3d.so
[ -f "$LIB" ] || swift build --product ov3d
export OV3D_LIBRARY=$LIB

step "header compiles as C99 and C++17 with warnings as errors"
gcc -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c tests/abi/header_c99.c -o .build/abi/h_c.o
g++ -std=c++17 -pedantic -Wall -Wextra -Werror -Iinclude -x c++ -c tests/abi/header_c99.c -o .build/abi/h_cpp.o
g++ -std=c++17 -pedantic -Wall -Wextra -Werror -Iinclude -Ibindings/cpp -x c++ -c - -o .build/abi/hpp.o <<<'#include "ov3d.hpp"'
passed=$((passed + 3))
python3 tests/abi/header_example.py "$LIB" | tee "$LOGS/header-example.log"
passed=$((passed + 1))

step "exports == declarations; hostile arguments to every export"
python3 tests/abi/check_exports.py "$LIB" | tee "$LOGS/abi.log"
count "$LOGS/abi.log" 'abi: [0-9]+ passed'

step "C and C++ tests"
for src in tests/abi/*_test.c; do
  exe=.build/abi/$(basename "$src" .c)
  gcc -std=c99 -Wall -Wextra -Werror -Iinclude "$src" -L"$LIBDIR" -lov3d -lpthread -lm -Wl,-rpath,"$LIBDIR" -o "$exe"
  "$exe" | tee -a "$LOGS/c.log"
done
for src in tests/abi/*_test.cpp; do
  exe=.build/abi/$(basename "$src" .cpp)
  g++ -std=c++17 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp "$src" -L"$LIBDIR" -lov3d -lpthread -Wl,-rpath,"$LIBDIR" -o "$exe"
  "$exe" | tee -a "$LOGS/c.log"
done
for n in $(grep -oE '[0-9]+ passed' "$LOGS/c.log" | grep -oE '[0-9]+'); do passed=$((passed + n)); done
python3 tests/abi/contract_coverage.py .build/abi/abi_contract_test | tee "$LOGS/contract-coverage.log"
count "$LOGS/contract-coverage.log" '[0-9]+ passed'

step "examples (plain gcc/g++ via examples/Makefile)"
make -s -C examples LIBDIR="$LIBDIR" OUT="$ROOT/.build/examples" run
for py in examples/python/*.py; do
  echo "== $py"
  PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}" python3 "$py"
done
passed=$((passed + 1))

step "python bindings (pytest)"
python3 -m pytest -q bindings/python/tests 2>&1 | tee "$LOGS/pytest.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "pytest failed"; exit 1; }
count "$LOGS/pytest.log" '[0-9]+ passed'

step "ov3d features command line (pytest tests/cli)"
TOOL=$LIBDIR/ov3d-tool
[ -x "$TOOL" ] || swift build --product ov3d-tool
OV3D_TOOL=$TOOL python3 -m pytest -q tests/cli 2>&1 | tee "$LOGS/cli.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "cli tests failed"; exit 1; }
count "$LOGS/cli.log" '[0-9]+ passed'

step "OpenBLAS path forced (OV3D_KERNELS=blas): what CPUs without AVX-512F run"
OV3D_KERNELS=blas swift test --skip-build --filter 'KernelSelection|MinkUNet|ComputeKernels|SparseKernelMap' > "$LOGS/swift-test-blas.log" 2>&1 ||
  { tail -40 "$LOGS/swift-test-blas.log"; echo "swift test with OV3D_KERNELS=blas failed"; exit 1; }
grep -E 'Test run with|Executed [0-9]+ tests|SKIP' "$LOGS/swift-test-blas.log" | tail -3
count "$LOGS/swift-test-blas.log" 'Test run with [0-9]+ tests'
OV3D_KERNELS=blas OV3D_TOOL=$TOOL python3 -m pytest -q tests/cli 2>&1 | tee "$LOGS/cli-blas.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "cli tests with OV3D_KERNELS=blas failed"; exit 1; }
count "$LOGS/cli-blas.log" '[0-9]+ passed'

step "shipping: aarch64 C, wheel, tests of the installed wheel, make install, no-toolchain namespace"
LOGS="$LOGS" bash scripts/test-packaging.sh 2>&1 | tee "$LOGS/packaging.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "packaging checks failed"; exit 1; }
count "$LOGS/packaging.log" 'packaging: [0-9]+ passed'

step "done in $((SECONDS - t0)) s"
echo "tests: $passed passed, $failed failed"
