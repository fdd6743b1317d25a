"""Inputs of the training fixtures (Tests/Fixtures/training): the scenes (crops of real ScanNet
scenes from ../shared/data, or small generated ones), their features, targets and masks, the
seeded initial weights, and the `ov3d train` RUN.json of a case. Used by the reference
(tools/training_reference.py) and by the test (tests/cli/test_train_reference.py), so that both
feed exactly the same numbers. Needs only numpy; every value comes from the language-independent
seeded generator of tests/minkunet_fixture.py (splitmix64 counter, README of
Tests/Fixtures/minkunet), so nothing but the case definition needs committing.

A case (`Tests/Fixtures/training/<case>/case.json`, key "inputs"):
  "scenes": list of
     {"name": "scene0000_00", "crop": {"scene": "scannet_votenet50k/scene0000_00_vert.npy",
      "voxel_size": 0.02, "box_lo": [x0, y0], "box_hi": [x1, y1]}}
        voxelise the whole scene with OpenScene's voxeliser (float64, shift to min 0, FNV-1 hash
        order, first point per voxel), keep the voxels with x0 <= x < x1 and y0 <= y < y1 (voxel
        units, every z), shift the kept coordinates to min 0 per axis (row order kept);
        features = RGB of the voxel's first point / 127.5 - 1.
     {"name": "synth0", "synthetic": {"size": 32, "height": 20, "keep": 0.7}}
        a floor and two walls (1-2 voxels thick) and a box, voxels kept by the seeded generator;
        features from the generator in [-1, 1).
  targets of head h (dim D): generator key "train-ref/target/<name>/<h>", N*D values in [-1, 1);
  mask: generator key "train-ref/mask/<name>", value > -0.6 (about 80 % of the rows), uint8.
"""
import json
from pathlib import Path

import numpy as np

import minkunet_fixture as mf

ROOT = mf.ROOT
FIX = ROOT / "Tests" / "Fixtures" / "training"
SHARED = ROOT.parent / "shared" / "data"
SEED = 20261122


def gen(key, n, amp=1.0, offset=0.0):
    """n float32 values in [offset - amp, offset + amp) from the seeded generator."""
    return mf.seeded_values(key, n, amp, offset, SEED)


def crop_scene(crop, shared=SHARED):
    """(coords int32 [N,3], features float32 [N,3]) of a crop of a real scene (see the module doc)."""
    v = np.load(Path(shared) / crop["scene"])
    coords, inds, _ = mf.voxelize(v[:, :3], crop["voxel_size"])
    (x0, y0), (x1, y1) = crop["box_lo"], crop["box_hi"]
    keep = (coords[:, 0] >= x0) & (coords[:, 0] < x1) & (coords[:, 1] >= y0) & (coords[:, 1] < y1)
    c = coords[keep].astype(np.int64)
    c -= c.min(axis=0)
    feats = (v[inds[keep], 3:6].astype(np.float64) / 127.5 - 1.0).astype(np.float32)
    return c.astype(np.int32), feats


def synthetic_scene(name, spec):
    """(coords, features) of a generated scene: floor z in {0,1}, walls x in {0,1} and y in {0,1},
    a box in the middle; each surface voxel kept when the generator says so."""
    W, H, keep = int(spec["size"]), int(spec["height"]), float(spec["keep"])
    a, b = np.meshgrid(np.arange(W), np.arange(W), indexing="ij")
    floor = np.stack([a.ravel(), b.ravel(), np.zeros(W * W, np.int64)], 1)
    a, b = np.meshgrid(np.arange(W), np.arange(H), indexing="ij")
    wall_x = np.stack([np.zeros(W * H, np.int64), a.ravel(), b.ravel()], 1)
    wall_y = np.stack([a.ravel(), np.zeros(W * H, np.int64), b.ravel()], 1)
    lo, hi = W // 3, W // 3 + W // 4
    a, b = np.meshgrid(np.arange(lo, hi), np.arange(1, H // 2), indexing="ij")
    box = np.concatenate([np.stack([a.ravel(), np.full(a.size, lo), b.ravel()], 1),
                          np.stack([np.full(a.size, lo), a.ravel(), b.ravel()], 1),
                          np.stack([a.ravel(), np.full(a.size, hi), b.ravel()], 1)])
    cand = np.concatenate([floor, wall_x, wall_y, box]).astype(np.int64)
    normal = np.concatenate([np.tile([0, 0, 1], (len(floor), 1)), np.tile([1, 0, 0], (len(wall_x), 1)),
                             np.tile([0, 1, 0], (len(wall_y), 1)), np.tile([0, 1, 0], (len(box), 1))])
    thick = (gen(f"train-ref/synthetic/{name}/thick", len(cand)) > 0).astype(np.int64)
    cand = cand + normal * thick[:, None]
    kept = gen(f"train-ref/synthetic/{name}/keep", len(cand)) < (2.0 * keep - 1.0)
    c = np.unique(cand[kept], axis=0)
    feats = gen(f"train-ref/features/{name}", len(c) * 3).reshape(-1, 3)
    return c.astype(np.int32), feats


def scene_inputs(scene, heads, shared=SHARED):
    """{"coords", "features", "targets": {head: array}, "mask"} of one scene of a case."""
    name = scene["name"]
    if "crop" in scene:
        coords, feats = crop_scene(scene["crop"], shared)
    else:
        coords, feats = synthetic_scene(name, scene["synthetic"])
    n = len(coords)
    targets = {h: gen(f"train-ref/target/{name}/{h}", n * d).reshape(n, d) for h, d in heads.items()}
    mask = (gen(f"train-ref/mask/{name}", n) > -0.6).astype(np.uint8)
    return {"coords": coords, "features": feats, "targets": targets, "mask": mask}


def needs_shared(case):
    return any("crop" in s for s in case["inputs"]["scenes"])


def initial_state_dict(case, prefix="net3d."):
    """{key (with prefix): array} seeded initial weights of every tensor the case lists.
    With "bn_bias_margin" m in the case's inputs, every BatchNorm bias gets +m on even and -m on
    odd channels added (see Tests/Fixtures/training/README.md: keeps ReLU inputs away from 0)."""
    sd = {prefix + k: mf.seeded_tensor(prefix + k, t["shape"]) for k, t in case["tensors"].items()}
    m = float(case["inputs"].get("bn_bias_margin", 0.0))
    if m:
        for k, v in sd.items():
            if k.endswith(".bn.bias"):
                sd[k] = (v + np.where(np.arange(v.size) % 2 == 0, np.float32(m), np.float32(-m))).astype(np.float32)
    return sd


def write_run(case, workdir, steps, shared=SHARED, out="trained.safetensors", extra=None):
    """Writes the scenes (c<i>.npy, f<i>.npy, t<i>_<head>.npy, m<i>.npy), init.safetensors and
    RUN.json (issue 11's format) for `steps` steps into workdir; returns RUN.json's path."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    heads = case["config"]["model"]["heads"]
    scenes = []
    for i, sc in enumerate(case["inputs"]["scenes"]):
        d = scene_inputs(sc, heads, shared)
        np.save(workdir / f"c{i}.npy", d["coords"])
        np.save(workdir / f"f{i}.npy", d["features"])
        np.save(workdir / f"m{i}.npy", d["mask"])
        tg = {}
        for h, t in d["targets"].items():
            np.save(workdir / f"t{i}_{h}.npy", t)
            tg[h] = f"t{i}_{h}.npy"
        scenes.append({"coords": f"c{i}.npy", "features": f"f{i}.npy", "targets": tg, "mask": f"m{i}.npy"})
    mf.write_safetensors(workdir / "init.safetensors", initial_state_dict(case))
    cfg = json.loads(json.dumps(case["config"]))
    cfg["model"]["init"] = "init.safetensors"
    cfg["data"]["scenes"] = scenes
    cfg["steps"] = int(steps)
    cfg["out"] = out
    if extra:
        cfg.update(extra)
    path = workdir / "RUN.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def load_case(name):
    return json.loads((FIX / name / "case.json").read_text())
