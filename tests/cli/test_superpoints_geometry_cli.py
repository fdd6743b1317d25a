"""`ov3d superpoints` on degenerate geometry (issue 17), every point-cloud method: one or two
points, identical, colinear and planar clouds (the z = 0 plane with --single-camera-transform
included), coordinates of 1e25 / 1e30 (scaled, offset, one outlier), NaN / Inf points and
absurd resolutions. Each run must end by exit status (never a signal: PCL's asserts abort),
a failure must name the file and what is wrong and leave no output behind. The C API side is
Tests/OV3DCoreTests/SuperpointsGeometryTests.swift.

Run: python3 -m pytest -q tests/cli  (the tool: $OV3D_TOOL, else .build/{debug,release}/ov3d-tool)
"""
import subprocess

import numpy as np
import pytest

from test_features_cli import TOOL

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built")

METHODS = {
    "vccs": ["--method", "vccs"],
    "vccs-camera": ["--method", "vccs", "--single-camera-transform"],
    "region-growing": ["--method", "region-growing"],
    "graph": ["--method", "graph"],
    "graph-voxel": ["--method", "graph", "--graph-voxel", "0.05"],
}


def clouds():
    r = np.random.RandomState(1)
    u = r.rand(500, 3)
    g = r.rand(2000, 2) * 3
    t = np.linspace(0, 5, 300)
    nan = u.copy()
    nan[3, 1] = np.nan
    inf = u.copy()
    inf[5, 0] = np.inf
    return {
        "one": [[1, 2, 3]],
        "two": [[0, 0, 0], [1, 1, 1]],
        "identical": np.tile([[0.5, 0.5, 0.5]], (200, 1)),
        "colinear": np.stack([t, 2 * t, 3 * t], 1),
        "z0plane": np.c_[g, np.zeros(len(g))],
        "x0plane": np.c_[np.zeros(len(g)), g + 0.1],
        "tiny": u * 1e-30 + 1e-30,
        "scaled1e25": u * 1e25,
        "scaled1e30": u * 1e30,
        "offset1e25": u + 1e25,
        "outlier1e30": np.r_[u, [[1e30, 1e30, 1e30]]],
        "nan": nan,
        "inf": inf,
    }


CLOUDS = clouds()
# Where a refusal is the right answer: (cloud, method) -> words the message must contain.
REFUSED = {
    **{(c, m): ["z > 0"] for c in ("two", "colinear", "z0plane") for m in ("vccs-camera",)},
    **{(c, m): ["resolution", "voxels"] for c in ("scaled1e25", "scaled1e30", "offset1e25", "outlier1e30")
       for m in ("vccs", "vccs-camera")},
    **{(c, "graph-voxel"): ["voxel size 0.05"] for c in ("scaled1e25", "scaled1e30", "offset1e25", "outlier1e30")},
    **{(c, m): ["non-finite"] for c in ("nan", "inf") for m in METHODS},
}


def superpoints(tmp_path, name, xyz, args):
    src = tmp_path / f"{name}.npy"
    np.save(src, np.asarray(xyz, np.float32))
    out = tmp_path / "ids.npy"
    p = subprocess.run([TOOL, "superpoints", *args, "--quiet", "--out-ids", str(out), str(src)],
                       capture_output=True, text=True, timeout=120)
    return p, src, out


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("name", sorted(CLOUDS))
def test_degenerate_geometry(tmp_path, name, method):
    p, src, out = superpoints(tmp_path, name, CLOUDS[name], METHODS[method])
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {p.stderr[-400:]}"
    words = REFUSED.get((name, method))
    if words is None:
        assert p.returncode == 0, p.stderr
        ids = np.load(out)
        n = len(CLOUDS[name])
        assert ids.shape == (n,) and ids.dtype == np.int32
        used = np.unique(ids[ids >= 0])
        assert ids.min() >= -1 and np.array_equal(used, np.arange(len(used))), "ids are not dense"
        if name in ("one", "identical") and method != "region-growing":
            assert len(used) == 1
    else:
        assert p.returncode == 1, p.stderr  # OV3D_ERR_INVALID_ARGUMENT
        assert src.name in p.stderr and all(w in p.stderr for w in words), p.stderr
        assert not out.exists()
        assert not list(tmp_path.glob("ids.npy.tmp*"))


@pytest.mark.parametrize("args,words", [
    (["--voxel-resolution=1e-9", "--seed-resolution=1e-9"], ["resolution 1e-09"]),
    (["--voxel-resolution=1e-6", "--seed-resolution=1"], ["absurd"]),
    (["--voxel-resolution=0"], ["resolution"]),
    (["--voxel-resolution=-1"], ["resolution"]),
    (["--voxel-resolution=nan"], ["finite"]),
    (["--seed-resolution=inf"], ["finite"]),
])
def test_absurd_vccs_resolutions(tmp_path, args, words):
    p, src, out = superpoints(tmp_path, "cube", CLOUDS["x0plane"], ["--method", "vccs", *args])
    assert p.returncode == 1, p.stderr
    assert src.name in p.stderr and all(w in p.stderr for w in words), p.stderr
    assert not out.exists()
