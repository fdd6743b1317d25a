"""Memory is fallible and bounded (issue 17): `ov3d features` on a 5M-point cloud (generated
here: the surfaces of an 8 × 8 × 3 m room) under `ulimit -v 786432` and `1572864` ends with
OV3D_ERR_OUT_OF_MEMORY's exit status (5) and a message — not a Swift trap (SIGABRT, as before);
with `--max-memory 512M` (or OV3D_MAX_MEMORY) it refuses before allocating the run, saying what
it would need, and its peak RSS stays far below the run's (~1.8 GB); no output is left behind.

Run: python3 -m pytest -q tests/cli  (the tool: $OV3D_TOOL, else .build/{debug,release}/ov3d-tool)
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402
from peak_rss import run_peak  # noqa: E402
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built")

CKPT = mf.FIX / "room_18a_w8" / "weights.safetensors"
OUT_OF_MEMORY = 5  # -OV3D_ERR_OUT_OF_MEMORY


@pytest.fixture(scope="module")
def cloud5m(tmp_path_factory):
    r = np.random.RandomState(0)
    n = 5_000_000
    face = r.randint(0, 6, n)
    u, v = r.rand(n), r.rand(n)
    x = np.where(face < 2, u * 8, np.where(face < 4, (face == 3) * 8.0, u * 8))
    y = np.where(face < 2, v * 8, np.where(face < 4, v * 8, (face == 5) * 8.0))
    z = np.where(face < 2, (face == 1) * 3.0, np.where(face < 4, u * 3, v * 3))
    path = tmp_path_factory.mktemp("mem") / "room5m.npy"
    np.save(path, np.c_[x, y, z].astype(np.float32))
    return path


def run_measured(args, env=None, address_space=None):
    """(exit code, negative for a signal; stderr; the command's own peak RSS in MiB)."""
    rc, _, err, peak = run_peak(args, extra_env={"OPENBLAS_NUM_THREADS": "1", **(env or {})}, address_space=address_space)
    return rc, err, peak


def features_args(cloud, out):
    return [TOOL, "features", "--checkpoint", str(CKPT), "--points", str(cloud), "--voxel-size", "0.02", "--out", str(out)]


@pytest.mark.parametrize("kib", [786432, 1572864])
def test_ulimit_gives_out_of_memory(cloud5m, tmp_path, kib):
    out = tmp_path / "f.npy"
    rc, err, _ = run_measured(features_args(cloud5m, out), address_space=kib * 1024)
    assert rc == OUT_OF_MEMORY, f"rc={rc} (negative = killed by a signal): {err[-600:]}"
    assert "out of memory" in err and "would need about" in err and "ulimit -v" in err, err
    assert not out.exists() and not list(tmp_path.glob("f.npy*"))


@pytest.mark.parametrize("how", ["flag", "env"])
def test_max_memory_refuses_before_allocating(cloud5m, tmp_path, how):
    out = tmp_path / "f.npy"
    args = features_args(cloud5m, out)
    if how == "flag":
        rc, err, rss = run_measured(args + ["--max-memory", "512M"])
    else:
        rc, err, rss = run_measured(args, env={"OV3D_MAX_MEMORY": "512M"})
    assert rc == OUT_OF_MEMORY, err
    assert "would need about" in err and "more than the memory limit of 512 MiB" in err and "5000000 points" in err, err
    # Refused before the run allocated: only the input (60 MB file + its float copy) was read;
    # the run itself peaks at ~1.8 GB.
    assert rss < 400, f"peak RSS {rss:.0f} MiB: the refusal came after allocating"
    assert not out.exists()


def test_bad_max_memory(cloud5m, tmp_path):
    args = features_args(cloud5m, tmp_path / "f.npy")
    rc, err, _ = run_measured(args + ["--max-memory", "lots"])
    assert rc != 0 and "--max-memory" in err
    rc, err, _ = run_measured(args, env={"OV3D_MAX_MEMORY": "-3G"})
    assert rc == 1 and "OV3D_MAX_MEMORY" in err, err
