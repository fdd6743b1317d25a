#!/usr/bin/env bash
# Shipping checks (run by scripts/test.sh after the other tests; alone: bash scripts/test-packaging.sh):
#   1. the C sources compile for aarch64 (kernels fully, with -O3; the rest -fsyntax-only);
#   2. `make wheel`: the platform wheel (Swift runtime static, non-system libraries bundled);
#   3. the Python binding tests against that wheel installed into a fresh venv (not the checkout);
#   4. `make install` into a private prefix;
#   5. in a mount namespace where the Swift toolchain's folder and the build tree are hidden
#      (empty folders bind-mounted over them): pip install of the wheel into a fresh venv,
#      `import ov3d`, the `ov3d` command, ldd of the installed library, a C program built through
#      pkg-config and the CMake example (examples/cmake) built through find_package(ov3d).
# Prints "packaging: N passed". Needs root (or unprivileged user namespaces) for step 5.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
LOGS=${LOGS:-$ROOT/.build/test-logs}
mkdir -p "$LOGS"
passed=0
say() { printf '\n-- %s\n' "$1"; }

say "C sources cross-compile for aarch64 (intrinsics only behind the x86-64 dispatch)"
SWIFT_BIN=$(dirname "$(readlink -f "$(command -v swift)")")
CLANG=$SWIFT_BIN/clang
[ -x "$CLANG" ] || CLANG=$(command -v clang || true)
if [ -z "$CLANG" ]; then
  echo "SKIP: no clang (the Swift toolchain's clang is used)"
else
  mkdir -p .build/aarch64
  for src in Sources/CKernels/*.c; do
    "$CLANG" --target=aarch64-linux-gnu -ffreestanding -std=c11 -O3 -Wall -Wextra -Werror \
      -ISources/CKernels/include -c "$src" -o ".build/aarch64/$(basename "$src" .c).o"
    echo "aarch64 object: $src"
  done
  nm .build/aarch64/*.o | grep ' T ov3d_kernel_isa$' >/dev/null || { echo "aarch64 kernels lack ov3d_kernel_isa"; exit 1; }
  if [ -d /usr/aarch64-linux-gnu/include ]; then
    for src in $(ls Sources/*/*.c | grep -v '^Sources/CKernels/'); do
      "$CLANG" --target=aarch64-linux-gnu -std=c11 -fsyntax-only -Wall -Wextra -Werror \
        -I"$(dirname "$src")/include" -isystem /usr/aarch64-linux-gnu/include "$src"
      echo "aarch64 syntax: $src"
    done
  else
    echo "SKIP: other C sources (no aarch64 libc headers: apt-get install libc6-dev-arm64-cross)"
  fi
  passed=$((passed + 1))
fi

say "make wheel"
make -s wheel DIST="$ROOT/dist" 2>&1 | tee "$LOGS/wheel.log" | grep -vE '^\[[0-9]+/[0-9]+\]|^(Compiling|Building|Write|Linking)' || true
[ "${PIPESTATUS[0]}" = 0 ] || { echo "make wheel failed"; exit 1; }
WHEEL=$(ls "$ROOT"/dist/ov3d-*.whl)
passed=$((passed + 1))

say "python binding tests against the installed wheel"
VENV=$ROOT/.build/wheel-venv
rm -rf "$VENV"
"$PY" -m venv --system-site-packages "$VENV"   # numpy and pytest from the system's Python
"$VENV/bin/python" -m pip install -q --no-index --disable-pip-version-check "$WHEEL"
(
  cd /tmp
  unset OV3D_LIBRARY OV3D_LIBRARY_DIR PYTHONPATH
  "$VENV/bin/python" - "$VENV" <<'EOF'
import sys, ov3d, ov3d._lib as L
venv = sys.argv[1]
lib = L.lib()._name
assert ov3d.__file__.startswith(venv), f"ov3d imported from {ov3d.__file__}, not the venv"
assert lib.startswith(venv), f"libov3d.so loaded from {lib}, not the wheel"
print("installed ov3d", ov3d.version(), "from", ov3d.__file__, "library", lib)
EOF
  OV3D_TEST_INSTALLED=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests" 2>&1 | tee "$LOGS/pytest-wheel.log"
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "pytest against the wheel failed"; exit 1; }
)
n=$(grep -oE '[0-9]+ passed' "$LOGS/pytest-wheel.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$((passed + n))

say "make install into a private prefix"
STAGE=$(mktemp -d /tmp/ov3d-ship.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
PREFIX=$STAGE/prefix
make -s install PREFIX="$PREFIX" | tail -1
cp "$WHEEL" "$STAGE/"
cp examples/c/hello.c "$STAGE/"
cp -r examples/cmake "$STAGE/cmake-example"
for f in lib/libov3d.so include/ov3d.h include/ov3d.hpp bin/ov3d lib/pkgconfig/ov3d.pc \
         lib/cmake/ov3d/ov3dConfig.cmake lib/cmake/ov3d/ov3dConfigVersion.cmake; do
  [ -f "$PREFIX/$f" ] || { echo "make install did not install $f"; exit 1; }
done
grep -qx "prefix=$PREFIX" "$PREFIX/lib/pkgconfig/ov3d.pc" || { echo "ov3d.pc does not name the prefix"; exit 1; }
passed=$((passed + 1))

say "without the Swift toolchain ($(dirname "$SWIFT_BIN")) and the build tree ($ROOT/.build)"
HIDE_TOOLCHAIN=$(dirname "$SWIFT_BIN")
EMPTY=$STAGE/empty
mkdir -p "$EMPTY"
unshare -m --propagation private env -u OV3D_LIBRARY -u OV3D_LIBRARY_DIR -u PYTHONPATH -u LD_LIBRARY_PATH \
  STAGE="$STAGE" PREFIX="$PREFIX" PY="$PY" HIDE="$HIDE_TOOLCHAIN" BUILD="$ROOT/.build" EMPTY="$EMPTY" \
  bash -euo pipefail -c '
  mount --bind "$EMPTY" "$HIDE"
  mount --bind "$EMPTY" "$BUILD"
  cd "$STAGE"
  [ -z "$(ls -A "$HIDE")" ] && [ -z "$(ls -A "$BUILD")" ] || { echo "the hiding mounts did not take"; exit 1; }
  if command -v swift >/dev/null 2>&1 && swift --version >/dev/null 2>&1; then echo "swift still runs"; exit 1; fi
  echo "hidden: $HIDE and $BUILD (swift no longer runs)"
  "$PY" -m venv --system-site-packages venv
  venv/bin/python -m pip install -q --no-index --disable-pip-version-check ./ov3d-*.whl
  venv/bin/python -c "import ov3d; print(\"python: ov3d\", ov3d.version())"
  venv/bin/ov3d --help | head -3
  echo "ov3d --version: $(venv/bin/ov3d --version)"
  lib=$(venv/bin/python -c "import ov3d._lib as L; print(L.lib()._name)")
  for f in "$lib" "$PREFIX/lib/libov3d.so" "$PREFIX/bin/ov3d"; do
    if ldd "$f" | grep -E "not found|$HIDE|$BUILD"; then echo "ldd $f resolves into a hidden folder"; exit 1; fi
    echo "ldd $f: $(ldd "$f" | wc -l) libraries, none in the toolchain or the build tree"
  done
  export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
  gcc -std=c99 -Wall -Werror hello.c $(pkg-config --cflags --libs ov3d) -o hello_pkgconfig
  ./hello_pkgconfig | head -2
  cmake -S cmake-example -B cmake-build -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 || { cat cmake.log; exit 1; }
  cmake --build cmake-build > cmake-build.log 2>&1 || { cat cmake-build.log; exit 1; }
  ./cmake-build/segmentation_node node.pcd
  "$PREFIX/bin/ov3d" --version > /dev/null
  if command -v pcl_convert_pcd_ascii_binary >/dev/null; then
    pcl_convert_pcd_ascii_binary node.pcd node_ascii.pcd 0 > /dev/null 2>&1
    grep -q "^POINTS 1050$" node_ascii.pcd && echo "PCL reads the node'"'"'s binary_compressed PCD (1050 points)"
  fi
' 2>&1 | tee "$LOGS/no-toolchain.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "the no-toolchain checks failed"; exit 1; }
passed=$((passed + 4))
echo "wheel: $(basename "$WHEEL") $(du -k "$WHEEL" | cut -f1) KiB"
echo "packaging: $passed passed"
