"""Build script of the `ov3d` Python package (metadata in pyproject.toml).

A platform wheel bundles the native files next to the Python modules: ov3d/libov3d.so (loaded by
ov3d._lib) and ov3d/bin/ov3d-tool (run by the `ov3d` command, ov3d._cli). They come from
$OV3D_NATIVE_DIR, else from the release build of the checkout this folder sits in (built with
`make build` when missing and a Swift toolchain is on the PATH). `make wheel` then runs
auditwheel, which copies the non-system libraries they need into the wheel. Without native files
(no checkout, no toolchain) the result is the pure-Python package, which finds libov3d.so through
OV3D_LIBRARY / OV3D_LIBRARY_DIR.
"""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 has bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NATIVE = {"libov3d.so": "libov3d.so", "ov3d-tool": "bin/ov3d-tool"}  # build file -> path in ov3d/


def _release_bin_dir():
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "print-bin-dir"], capture_output=True, text=True)
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def native_dir():
    """The folder holding libov3d.so and ov3d-tool, or None (pure-Python package)."""
    env = os.environ.get("OV3D_NATIVE_DIR")
    if env:
        d = Path(env)
        missing = [f for f in NATIVE if not (d / f).is_file()]
        if missing:
            raise SystemExit(f"OV3D_NATIVE_DIR={env} lacks {', '.join(missing)}")
        return d
    if not (ROOT / "Package.swift").is_file() or not shutil.which("swift"):
        return None
    d = _release_bin_dir()
    if d is None or not all((d / f).is_file() for f in NATIVE):
        subprocess.check_call(["make", "-C", str(ROOT), "build"])
        d = _release_bin_dir()
    return d


NATIVE_DIR = native_dir()


class BuildPyWithNative(build_py):
    """Copies the native files into the build tree (never into the source folder), stripped."""

    def run(self):
        super().run()
        if NATIVE_DIR is None:
            return
        for src, rel in NATIVE.items():
            dst = Path(self.build_lib) / "ov3d" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(NATIVE_DIR / src, dst)
            if shutil.which("strip"):  # symbol tables too for the tool; the library keeps its exports
                subprocess.check_call(["strip", "--strip-all" if rel.startswith("bin/") else "--strip-unneeded", str(dst)])
            os.chmod(dst, 0o755)


class NativeDistribution(Distribution):
    """With native files the package is platform-specific (platlib, a platform wheel tag)."""

    def has_ext_modules(self):
        return NATIVE_DIR is not None


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: the package is ctypes-only, so any Python 3 but one platform."""

    def get_tag(self):
        python, abi, plat = super().get_tag()
        return ("py3", "none", plat) if NATIVE_DIR is not None else (python, abi, plat)


setup(distclass=NativeDistribution, cmdclass={"build_py": BuildPyWithNative, "bdist_wheel": PlatformWheel})
