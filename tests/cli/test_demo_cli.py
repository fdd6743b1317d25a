"""`ov3d demo` (issues 12, 13) on the tiny preset: the demo runs the second-edition synthetic
world through the library's pipeline (`SyntheticDemo`), so for the same preset and seed it must
reproduce what `ov3d synth` writes — the same room, the same SIMULATED teachers fused the same
way, the same annotation-free capability table — and its 3D rows must be what `ov3d features`,
`ov3d agglomerate` and NumPy compute from the same checkpoint. Nothing here is a real-world
accuracy (simulated teachers, generated rooms).

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d.
Run: python3 -m pytest -q tests/cli/test_demo_cli.py
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built")
ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "data" / "clip"


def run(*args, cwd=None):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=900, cwd=cwd,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return p.returncode, p.stdout, p.stderr


def miou(pred, gt, k=20):
    """Standard convention (classes present in the ground truth), ignore 255."""
    keep = gt != 255
    pred, gt = pred[keep], gt[keep]
    ious = [((gt == c) & (pred == c)).sum() / ((gt == c) | (pred == c)).sum() for c in range(k) if (gt == c).any()]
    return float(np.mean(ious))


def rows(out):
    rep = json.loads((out / "report.json").read_text())
    return rep, {r["method"]: r for r in rep["rows"]}


@pytest.fixture(scope="module")
def demo2d(synth_tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "d"
    rc, so, se = run("demo", "--preset", "tiny", "--seed", "3", "--out", out, "--no-network",
                     "--embeddings", CLIP, "--threads", "2")
    assert rc == 0, se
    return out, so


def test_demo_reproduces_the_synth_folder(synth_tiny, demo2d):
    folder, _ = synth_tiny
    out, so = demo2d
    rep, r = rows(out)
    meta = json.loads((folder / "scene.json").read_text())
    assert "SIMULATED" in rep["synthetic"] and rep["preset"] == "tiny" and rep["seed"] == 3
    assert rep["points"] == meta["points"] and rep["frames"] == meta["stats"]["frames"]
    assert rep["seen_points"] == int(np.load(folder / "teachers" / "mask.npy").sum())
    synth = {e["method"]: e for e in meta["evaluation"]}
    for demo_name, synth_name in [("lseg", "lseg"), ("seem", "seem"), ("mean of teachers", "mean of teachers"),
                                  ("max similarity", "max similarity"),
                                  ("SAS capability-guided (τ = 0.05)", "capability-guided (annotation-free)")]:
        assert abs(r[demo_name]["miou"] - synth[synth_name]["miou"]) < 1e-9, (demo_name, r[demo_name], synth[synth_name])
        assert abs(r[demo_name]["macc"] - synth[synth_name]["macc"]) < 1e-9
        assert f"{100 * r[demo_name]['miou']:5.1f}%" in so
    # the annotation-free table is the one synth wrote (generated images only)
    table = np.load(folder / "capabilities" / "table.npy")
    assert np.allclose(np.array([rep["capabilities"]["lseg"], rep["capabilities"]["seem"]]), table, atol=1e-6)
    for name in ("mean + superpoint vote", "capability-guided + superpoint vote"):
        assert 0 < r[name]["miou"] <= 1
    assert not any(k.startswith("3D") or k == "2D-3D ensemble" for k in r), "no 3D rows without a network"
    for f in ("segmented.ply", "ground_truth.ply", "heatmap_chair.ply", "segmented.png", "ground_truth.png", "heatmap_chair.png"):
        assert (out / f).stat().st_size > 1000, f
    assert not (out / "segmented_3d.ply").exists()


def test_demo_3d_rows_match_features_and_numpy(synth_tiny, tmp_path):
    folder, _ = synth_tiny
    # a (barely) trained MinkUNet14A at 10 cm: fast, and its metadata carries the voxel size
    cfg = json.loads((folder / "train.json").read_text())
    cfg["model"]["architecture"] = "MinkUNet14A"
    cfg["data"]["voxel_size"] = 0.1
    sc = cfg["data"]["scenes"][0]
    sc["voxel_size"] = 0.1
    sc["points"], sc["mask"] = str(folder / sc["points"]), str(folder / sc["mask"])
    sc["targets"] = {h: str(folder / t) for h, t in sc["targets"].items()}
    cfg["steps"] = 1
    cfg["out"] = str(tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text(json.dumps(cfg))
    rc, _, se = run("train", "--config", tmp_path / "m.json", "--quiet")
    assert rc == 0, se
    out = tmp_path / "demo"
    rc, so, se = run("demo", "--preset", "tiny", "--seed", "3", "--out", out, "--checkpoint", tmp_path / "m.safetensors",
                     "--embeddings", CLIP, "--threads", "2")
    assert rc == 0, se
    rep, r = rows(out)
    assert rep["network"]["voxel_size"] == pytest.approx(0.1) and rep["network"]["scored"]
    rc, _, se = run("features", "--checkpoint", tmp_path / "m.safetensors", "--points", folder / "points.npy",
                    "--voxel-size", "0.1", "--out", tmp_path / "f3d.npy")
    assert rc == 0, se
    emb = np.load(folder / "vocabulary" / "embeddings.npy").astype(np.float64)
    f3 = np.load(tmp_path / "f3d.npy").astype(np.float64)
    labels = np.load(folder / "labels.npy")
    seen_gt = np.load(folder / "labels_seen.npy")
    mask = np.load(folder / "teachers" / "mask.npy") != 0
    p3 = np.argmax(f3 @ emb.T, 1)
    assert abs(r["3D distilled, every labelled point"]["miou"] - miou(p3, labels)) < 2e-3
    assert abs(r["3D distilled"]["miou"] - miou(np.where(mask, p3, -1), seen_gt)) < 2e-3
    # OpenScene's max-score ensemble with the capability-fused 2D features
    rc, _, se = run("agglomerate", "--teacher", folder / "teachers" / "lseg.npy", "--teacher", folder / "teachers" / "seem.npy",
                    "--vocabulary", folder / "vocabulary" / "embeddings.npy", "--method", "capability",
                    "--capabilities", folder / "capabilities" / "table.npy", "--out", tmp_path / "cap.npy")
    assert rc == 0, se
    f2 = np.load(tmp_path / "cap.npy").astype(np.float64)

    def best(f):
        return ((f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-5)) @ emb.T).max(1)
    chosen = np.where(((best(f3) < best(f2)) & mask)[:, None], f2, f3)
    ens = np.argmax(chosen @ emb.T, 1)
    assert abs(r["2D-3D ensemble"]["miou"] - miou(np.where(mask, ens, -1), seen_gt)) < 2e-3
    for f in ("segmented_3d.ply", "segmented_3d.png"):
        assert (out / f).stat().st_size > 1000


def test_demo_refusals(tmp_path):
    rc, so, se = run("demo", "--preset", "huge", "--out", tmp_path / "x")
    assert rc != 0 and "unknown preset" in so + se
