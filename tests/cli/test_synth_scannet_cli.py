"""`ov3d synth --scannet-scene` (issue 12 "Real geometry, simulated teachers", issue 13's ScanNet
rows): a real labelled ScanNet scene of ../shared/data/scannet_votenet50k written as a scene folder
with the four teachers SIMULATED at point level (LSeg-, SEEM-, DINOv2- and diffusion-like), which
`ov3d eval` and `ov3d train` (also CUA-O3D's three heads) read as they read a synthetic room.
Skipped when ../shared/data is absent. To stay fast the scene is the first 3,000 points of
scene0000_00 (the votenet files are already a random subsample), written in the votenet layout to
a temporary folder.

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d.
Run: python3 -m pytest -q tests/cli/test_synth_scannet_cli.py
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_features_cli import SHARED, TOOL  # noqa: E402
from test_synth_cli import numpy_miou  # noqa: E402

VOTENET = SHARED / "scannet_votenet50k"
pytestmark = [
    pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, or set OV3D_TOOL)"),
    pytest.mark.skipif(not (VOTENET / "scene0000_00_vert.npy").exists(),
                       reason=f"{VOTENET} not found (../shared/data is not part of the repository)"),
]
N = 3000
NYU40_TO_SCANNET20 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]


def run(*args):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=900)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    src = tmp_path_factory.mktemp("votenet")
    for s in ("_vert", "_sem_label", "_ins_label"):
        np.save(src / f"scene0000_00{s}.npy", np.load(VOTENET / f"scene0000_00{s}.npy")[:N])
    out = tmp_path_factory.mktemp("scannet") / "scene0000_00"
    rc, so, se = run("synth", "--scannet-scene", src / "scene0000_00_vert.npy", "--out", out, "--seed", 3,
                     "--capability-images", 1, "--threads", 2)
    assert rc == 0, se
    return src, out, so


def test_layout_labels_and_geometry(scene):
    src, out, so = scene
    vert = np.load(src / "scene0000_00_vert.npy")
    sem = np.load(src / "scene0000_00_sem_label.npy")
    pts = np.load(out / "points.npy")
    assert pts.dtype == np.float32 and pts.shape == (N, 3) and np.array_equal(pts, vert[:, :3])
    assert np.array_equal(np.load(out / "colors.npy"), np.clip(np.rint(vert[:, 3:6]), 0, 255).astype(np.uint8))
    lut = np.full(41, 255, np.int32)
    lut[NYU40_TO_SCANNET20] = np.arange(20)
    labels = np.load(out / "labels.npy")
    assert np.array_equal(labels, lut[sem]) and np.array_equal(np.load(out / "labels_seen.npy"), labels)
    assert np.array_equal(np.load(out / "instances.npy"), np.load(src / "scene0000_00_ins_label.npy").astype(np.int32))
    assert (np.load(out / "teachers" / "mask.npy") == 1).all()
    meta = json.loads((out / "scene.json").read_text())
    assert "SIMULATED" in meta["simulated"] and meta["points"] == N and meta["scene"] == "scene0000_00"
    for t in ("lseg", "seem"):
        f = np.load(out / "teachers" / f"{t}.npy")
        assert f.shape == (N, 512) and np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-4)
    assert np.load(out / "capabilities" / "table.npy").shape == (2, 20)
    assert "SIMULATED" in so


def test_eval_reproduces_the_rows(scene):
    _, out, so = scene
    meta = json.loads((out / "scene.json").read_text())
    rows = {r["method"]: r for r in meta["evaluation"]}
    emb = np.load(out / "vocabulary" / "embeddings.npy").astype(np.float64)
    gt = np.load(out / "labels_seen.npy")
    for name in ("lseg", "seem"):
        pred = np.load(out / "teachers" / f"{name}_labels.npy")
        ref = np.argmax(np.load(out / "teachers" / f"{name}.npy").astype(np.float64) @ emb.T, 1)
        assert (pred == ref).mean() > 0.999
        miou, _ = numpy_miou(pred, gt, 20)
        rc, js, se = run("eval", "--pred", out / "teachers" / f"{name}_labels.npy", "--gt", out / "labels_seen.npy",
                         "--label-set", "scannet20", "--json")
        assert rc == 0, se
        assert abs(json.loads(js)["miou"] - miou) < 1e-6 and abs(rows[name]["miou"] - miou) < 1e-6
        # simulated teachers make mistakes, but are far above chance on real geometry
        assert 0.2 < miou < 0.99, (name, miou)


def test_deterministic_and_trainable(scene, tmp_path):
    src, out, _ = scene
    again = tmp_path / "again"
    rc, _, se = run("synth", "--scannet-scene", src / "scene0000_00", "--out", again, "--seed", 3,
                    "--capability-images", 1, "--threads", 1)
    assert rc == 0, se
    for f in ("teachers/lseg.npy", "teachers/seem.npy", "teachers/dinov2.npy", "teachers/diffusion.npy",
              "capabilities/table.npy", "normals.npy"):
        assert (out / f).read_bytes() == (again / f).read_bytes(), f
    cfg = json.loads((out / "train.json").read_text())
    cfg.update(steps=1, out=str(tmp_path / "t.safetensors"))
    cfg["model"]["architecture"] = "MinkUNet14A"
    cfg["data"]["voxel_size"] = 0.1
    (tmp_path / "t.json").write_text(json.dumps(cfg).replace('"points.npy"', json.dumps(str(out / "points.npy")))
                                     .replace('"teachers/', '"' + str(out) + "/teachers/"))
    rc, so, se = run("train", "--config", tmp_path / "t.json", "--quiet", "--json")
    assert rc == 0, se
    assert np.isfinite(json.loads(so.splitlines()[-1])["total"])


def test_dinov2_and_diffusion_like_teachers(scene, tmp_path):
    """CUA-O3D's other two targets, SIMULATED at point level: the DINOv2-like (N×64) and
    diffusion-like (N×256) teachers of the synthetic small preset, finite unit rows, listed in
    scene.json, instance-aware (per-instance means differ), and the three-head recipe trains."""
    _, out, so = scene
    ins = np.load(out / "instances.npy")
    meta = {t["name"]: t for t in json.loads((out / "scene.json").read_text())["teachers"]}
    for name, dim in (("dinov2", 64), ("diffusion", 256)):
        f = np.load(out / "teachers" / f"{name}.npy")
        assert f.dtype == np.float32 and f.shape == (N, dim), (name, f.dtype, f.shape)
        assert np.isfinite(f).all() and np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-4)
        assert meta[name] == {"name": name, "dimension": dim, "text_aligned": False, "fused": f"teachers/{name}.npy"}
        big = [i for i in np.unique(ins) if i > 0 and (ins == i).sum() >= 20]
        assert len(big) >= 5
        means = np.stack([f[ins == i].mean(0) for i in big])
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        cos = means @ means.T
        off = cos[~np.eye(len(big), dtype=bool)]
        # points of one instance agree more with each other than with other instances
        within = np.mean([(f[ins == i] @ means[k]).mean() for k, i in enumerate(big)])
        assert off.max() < 0.999 and within > off.mean() + 0.1, (name, within, off.mean())
    assert "dinov2" in so and "diffusion" in so
    heads = {"final": 512, "final_dinov2": 64, "final_sd": 256}
    cfg = {"model": {"architecture": "MinkUNet14A", "in_channels": 3, "heads": heads},
           "data": {"scenes": [{"points": str(out / "points.npy"), "mask": str(out / "teachers/mask.npy"),
                                "targets": {"final": str(out / "teachers/lseg.npy"), "final_dinov2": str(out / "teachers/dinov2.npy"),
                                            "final_sd": str(out / "teachers/diffusion.npy")}}],
                    "voxel_size": 0.1, "batch_size": 1},
           "loss": {"final": {"type": "cosine"}, "final_dinov2": {"type": "cosine"}, "final_sd": {"type": "demeaned_cosine"}},
           "optimizer": {"type": "adam", "lr": 0.001}, "seed": 0, "threads": 2, "out": str(tmp_path / "cua.safetensors"),
           "recipe": {"type": "cua_o3d", "epochs": 1, "loop": 1}}
    (tmp_path / "cua.json").write_text(json.dumps(cfg))
    rc, so, se = run("train", "--config", tmp_path / "cua.json", "--quiet", "--json")
    assert rc == 0, se
    last = json.loads(so.splitlines()[-1])
    assert set(last["losses"]) == set(heads) and all(np.isfinite(v) for v in last["losses"].values())


def test_refusals(tmp_path):
    rc, so, se = run("synth", "--scannet-scene", tmp_path / "nothing_vert.npy", "--out", tmp_path / "o")
    assert rc != 0 and "cannot open" in se
    rc, so, se = run("synth", "--scannet-scene", VOTENET / "scene0000_00", "--out", tmp_path / "o", "--capability-images", 0)
    assert rc != 0 and "capability-images" in (so + se)
