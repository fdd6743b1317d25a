"""`--max-memory` (and OV3D_MAX_MEMORY) reach every command that does heavy work (issue 17):
segment, query, superpoints, fuse, agglomerate, train and demo, through the library's one memory path
(Support/Memory.swift). With a limit below what the run needs each exits with
OV3D_ERR_OUT_OF_MEMORY's status (5), a message naming the limit and the work, and no output
file; with a generous limit the same run succeeds (so the refusal is the limit's doing).
`ov3d features --max-memory` is tests/cli/test_memory_limits_cli.py.

Run: python3 -m pytest -q tests/cli  (the tool: $OV3D_TOOL, else .build/{debug,release}/ov3d-tool)
"""
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402
import training_fixture as tf  # noqa: E402
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built")

CKPT = mf.FIX / "room_18a_w8" / "weights.safetensors"
OUT_OF_MEMORY = 5  # -OV3D_ERR_OUT_OF_MEMORY
TINY = "1M"       # below any run's fixed part
ROOMY = "4G"


def run(args, env=None, timeout=300):
    p = subprocess.run([str(a) for a in [TOOL, *args]], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})})
    return p.returncode, p.stdout + p.stderr


def png16(path, depth):
    """A 16-bit greyscale PNG (zlib, no filter) of the uint16 array `depth`."""
    h, w = depth.shape
    raw = b"".join(b"\x00" + depth[r].astype(">u2").tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("maxmem")
    r = np.random.RandomState(3)
    n = 20000
    pts = np.c_[r.rand(n) * 2, r.rand(n) * 2, r.rand(n) * 0.1 + 1.0].astype(np.float32)
    np.save(d / "cloud.npy", pts)
    np.save(d / "emb.npy", np.cos(np.arange(4 * 16, dtype=np.float32) * 1.3).reshape(4, 16))
    np.save(d / "q.npy", np.cos(np.arange(16, dtype=np.float32) * 0.7))
    for t in range(2):
        np.save(d / f"teacher{t}.npy", r.rand(n, 16).astype(np.float32) - 0.5)
    # One frame looking down the z axis at the points (which are 1 m away), 64 x 48, 8 channels.
    png16(d / "depth.png", np.full((48, 64), 1000, np.uint16))
    np.save(d / "feat.npy", r.rand(48, 64, 8).astype(np.float32))
    (d / "frames.json").write_text(json.dumps({"frames": [{
        "depth": "depth.png", "features": "feat.npy",
        "intrinsics": [[40, 0, 32], [0, 40, 24], [0, 0, 1]],
        "pose": [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]]}]}))
    return d


def commands(d, out):
    """name -> (arguments, outputs the run would write)."""
    return {
        "segment": (["segment", d / "cloud.npy", "--checkpoint", CKPT, "--text", "a", "b", "c", "d",
                     "--embeddings", d / "emb.npy", "--voxel-size", "0.05", "--out-labels", out / "l.npy"], [out / "l.npy"]),
        "query": (["query", d / "cloud.npy", "--checkpoint", CKPT, "--text", "chair", "--embedding", d / "q.npy",
                   "--voxel-size", "0.05", "--out-scores", out / "s.npy"], [out / "s.npy"]),
        "superpoints": (["superpoints", "--method", "graph", "--out-ids", out / "ids.npy", "--quiet", d / "cloud.npy"],
                        [out / "ids.npy"]),
        "fuse": (["fuse", "--points", d / "cloud.npy", "--frames", d / "frames.json", "--out-features", out / "f.npy",
                  "--out-mask", out / "m.npy", "--cut-bound", "2"], [out / "f.npy", out / "m.npy"]),
        "agglomerate": (["agglomerate", "--teacher", d / "teacher0.npy", "--teacher", d / "teacher1.npy",
                         "--vocabulary", d / "emb.npy", "--method", "mean", "--out", out / "a.npy"], [out / "a.npy"]),
    }


@pytest.mark.parametrize("name", ["segment", "query", "superpoints", "fuse", "agglomerate"])
def test_max_memory_refuses_then_allows(inputs, tmp_path, name):
    args, outs = commands(inputs, tmp_path)[name]
    rc, text = run(args + ["--max-memory", TINY])
    assert rc == OUT_OF_MEMORY, f"{name} --max-memory {TINY}: exit {rc}\n{text}"
    assert "out of memory" in text and "memory limit of 1 MiB" in text and "would need" in text, text
    assert not any(p.exists() for p in outs), f"{name}: an output was written by the refused run"
    rc, text = run(args + ["--max-memory", ROOMY])
    assert rc == 0, f"{name} --max-memory {ROOMY}: exit {rc}\n{text}"
    assert all(p.exists() for p in outs)


def test_environment_limit(inputs, tmp_path):
    args, outs = commands(inputs, tmp_path)["superpoints"]
    rc, text = run(args, env={"OV3D_MAX_MEMORY": TINY})
    assert rc == OUT_OF_MEMORY and "superpoints (graph) of 20000 points" in text, text
    rc, text = run(args, env={"OV3D_MAX_MEMORY": "lots"})
    assert rc != 0 and "OV3D_MAX_MEMORY=lots is not a size" in text, text
    rc, text = run(args + ["--max-memory", "lots"])
    assert rc != 0 and "--max-memory lots is not a size" in text, text


def test_train_max_memory(tmp_path):
    case = tf.load_case("synth_sgd_momentum")
    cfg = tf.write_run(case, tmp_path, 1, out="out.safetensors")
    rc, text = run(["train", "--config", cfg, "--quiet", "--max-memory", TINY])
    assert rc == OUT_OF_MEMORY and "would need" in text and "limit of 1 MiB" in text, text
    assert not (tmp_path / "out.safetensors").exists()
    rc, text = run(["train", "--config", cfg, "--quiet", "--max-memory", ROOMY])
    assert rc == 0 and (tmp_path / "out.safetensors").exists(), text


def test_demo_max_memory(tmp_path):
    rc, text = run(["demo", "--preset", "tiny", "--out", tmp_path / "demo", "--frames", "2", "--no-network", "--max-memory", TINY])
    assert rc == OUT_OF_MEMORY and "memory limit of 1 MiB" in text, text
