"""`ov3d train` with the recipes (issue 13) and `ov3d probe`, end to end on tiny generated rooms
(seconds each): CUA-O3D's three heads with learned σ (stored as `params` [heads], own group,
logged per step, growing for a deliberately noisier teacher) and the fixed-weights ablation;
SAS stage 1 (point + superpoint distillation) and stage 2 (temporal-ensembling
self-distillation from stage 1's weights); evaluation every epoch on a held-out room with
best-checkpoint keeping; resume bit for bit; determinism; the linear probe read back by the
loader; bad recipe keys refused with a message.

The rooms are numpy-made (no teacher model): points on a floor, walls and a few boxes, a class
per surface, per-point teacher targets = a class code in each teacher's space plus noise.

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d.
Run: python3 -m pytest -q tests/cli/test_recipes_cli.py
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402,F401
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, "
                                                     "or set OV3D_TOOL)")

K = 4            # classes: floor, wall, box-a, box-b
DIMS = {"final": 8, "final_dinov2": 6, "final_sd": 10}


def run(*args, env=None):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=600,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def room(rng, n=700):
    """Points (n×3, metres) on a 0.8 m room's floor, two walls and two boxes; labels 0..3; a
    superpoint per surface patch (a 0.2 m grid cell of each surface)."""
    pts, lab = [], []
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            p, c = [rng.random() * 0.8, rng.random() * 0.8, 0.0], 0
        elif r < 0.6:
            p, c = ([0.0, rng.random() * 0.8, rng.random() * 0.5] if rng.random() < 0.5
                    else [rng.random() * 0.8, 0.0, rng.random() * 0.5]), 1
        elif r < 0.8:
            p, c = [0.2 + rng.random() * 0.2, 0.2 + rng.random() * 0.2, 0.2], 2
        else:
            p, c = [0.5 + rng.random() * 0.2, 0.45 + rng.random() * 0.2, 0.3 * rng.random()], 3
        pts.append(p)
        lab.append(c)
    pts = np.asarray(pts, np.float32) + rng.normal(0, 0.003, (n, 3)).astype(np.float32)
    lab = np.asarray(lab, np.int32)
    cell = np.floor(pts / 0.2).astype(np.int64)
    key = lab * 1000 + cell[:, 0] * 100 + cell[:, 1] * 10 + cell[:, 2]
    _, sp = np.unique(key, return_inverse=True)
    return pts, lab, sp.astype(np.int32)


def make_data(d, scenes=3, noisy_teacher="final_sd"):
    """Training rooms, a held-out room, class codes per teacher (the first is the 'text')."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(13)
    codes = {h: rng.normal(0, 1, (K, D)).astype(np.float32) for h, D in DIMS.items()}
    for h in codes:
        codes[h] /= np.linalg.norm(codes[h], axis=1, keepdims=True)
    np.save(d / "text.npy", codes["final"])
    for s in range(scenes + 1):
        pts, lab, sp = room(rng)
        name = f"s{s}" if s < scenes else "held"
        np.save(d / f"{name}_points.npy", pts)
        np.save(d / f"{name}_labels.npy", lab)
        np.save(d / f"{name}_sp.npy", sp)
        mask = (rng.random(len(pts)) < 0.85).astype(np.uint8)
        np.save(d / f"{name}_mask.npy", mask)
        for h, c in codes.items():
            noise = 1.5 if h == noisy_teacher else 0.15
            t = c[lab] + rng.normal(0, noise, (len(pts), c.shape[1])).astype(np.float32)
            np.save(d / f"{name}_{h}.npy", t.astype(np.float32))
    return d


def config(d, recipe, heads=("final", "final_dinov2", "final_sd"), losses=None, epochs=2, extra=None, **top):
    scenes = []
    for s in range(3):
        scenes.append({"points": f"s{s}_points.npy", "mask": f"s{s}_mask.npy",
                       "targets": {h: f"s{s}_{h}.npy" for h in (losses or {})}})
    cfg = {
        "model": {"architecture": "MinkUNet14A", "in_channels": 3, "heads": {h: DIMS[h] for h in heads}},
        "data": {"scenes": scenes, "voxel_size": 0.05, "batch_size": 2, "shuffle": True, "augment": True},
        "loss": losses or {},
        "optimizer": {"type": "adam", "lr": 0.01},
        "schedule": {"type": "poly", "power": 0.9},
        "seed": 5, "threads": 1, "out": "out.safetensors",
        "recipe": {"epochs": epochs, "loop": 2, **recipe},
    }
    cfg.update(top)
    if extra:
        extra(cfg)
    p = Path(d) / f"run_{abs(hash(json.dumps(cfg, sort_keys=True))) % 10**8}.json"
    p.write_text(json.dumps(cfg))
    return p


CUA_LOSSES = {"final": {"type": "cosine"}, "final_dinov2": {"type": "cosine"}, "final_sd": {"type": "demeaned_cosine"}}
EVAL = {"every_epochs": 1, "modes": ["distill"], "text": "text.npy", "voxel_size": 0.05,
        "scenes": [{"points": "held_points.npy", "labels": "held_labels.npy"}],
        "best_out": "best.safetensors", "log": "eval.jsonl"}


def steps(out):
    return [json.loads(x) for x in out.splitlines() if x.strip()]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("recipes"))


def read_safetensors(path):
    b = Path(path).read_bytes()
    n = int.from_bytes(b[:8], "little")
    head = json.loads(b[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}[v["dtype"]]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dt).reshape(v["shape"])
    return out, head.get("__metadata__", {})


def test_cua_o3d_three_heads_sigma_eval_best(data):
    cfg = config(data, {"type": "cua_o3d", "sigma_out": "awl.safetensors", "sigma_pth": "awl.pth.tar",
                        "sigma_log": "sigma.jsonl", "eval": EVAL}, losses=CUA_LOSSES, epochs=3)
    code, out, err = run("train", "--config", cfg, "--json", "--summary", data / "summary.json")
    assert code == 0, err
    st = steps(out)
    done = json.loads((data / "summary.json").read_text())
    assert done["done"] and done["recipe"] == "cua_o3d" and done["peak_rss_bytes"] > 0 and done["steps"] == 9
    assert len(st) == 3 * 3  # 3 epochs × (3 scenes × loop 2 / batch 2)
    assert all(set(r["losses"]) == set(DIMS) and set(r["sigma"]) == set(DIMS) for r in st)
    evals = [r for r in st if "eval" in r]
    assert [r["epoch"] for r in evals] == [1, 2, 3]
    assert all(0 <= r["eval"]["distill"]["miou"] <= 1 for r in evals)
    # σ as released: one tensor `params` of shape [heads], beside the network weights.
    awl, _ = read_safetensors(data / "awl.safetensors")
    assert list(awl) == ["params"] and awl["params"].shape == (3,)
    assert np.allclose(awl["params"], [st[-1]["sigma"][h] for h in ("final", "final_dinov2", "final_sd")], rtol=1e-6)
    assert not np.allclose(awl["params"], 1.0), "σ never moved"
    # The deliberately noisier teacher (final_sd, noise 10× the others') ends with the largest σ.
    assert awl["params"][2] > awl["params"][0] and awl["params"][2] > awl["params"][1], awl["params"]
    # σ is not in the network's state dict (its own parameter group, not decayed with the net).
    net, meta = read_safetensors(data / "out.safetensors")
    assert "params" not in net and net["final_sd.kernel"].shape[-1] == DIMS["final_sd"]
    sig = [json.loads(x) for x in (data / "sigma.jsonl").read_text().splitlines()]
    assert len(sig) == len(st) and sig[-1]["sigma"] == st[-1]["sigma"]
    # Evaluation log and the best checkpoint (strictly best mIoU so far).
    ev = [json.loads(x) for x in (data / "eval.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in ev] == [1, 2, 3]
    best = max(e["eval"]["distill"]["miou"] for e in ev)
    assert abs(done["best_miou"] - best) < 1e-12
    assert done["best_epoch"] == [e["epoch"] for e in ev if e["eval"]["distill"]["miou"] == best][0]
    assert (data / "best.safetensors").exists() and (data / "best.awl.safetensors").exists()
    # The torch export of σ is a zip (torch.save's format).
    assert (data / "awl.pth.tar").read_bytes()[:2] == b"PK"


def test_cua_o3d_fixed_weights_and_determinism(data):
    cfg = config(data, {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1, 1, 1]}, losses=CUA_LOSSES, epochs=1)
    code, out1, err = run("train", "--config", cfg, "--json")
    assert code == 0, err
    w1 = (data / "out.safetensors").read_bytes()
    code, out2, err = run("train", "--config", cfg, "--json")
    assert code == 0, err
    assert (data / "out.safetensors").read_bytes() == w1, "same seed and threads: same weights"
    s1, s2 = steps(out1), steps(out2)
    assert [r["total"] for r in s1] == [r["total"] for r in s2]
    # Fixed equal weights: total = Σ losses, σ stays at its initial value.
    for r in s1:
        assert abs(r["total"] - sum(r["losses"].values())) < 1e-9 * max(1, r["total"])
        assert all(v == 1.0 for v in r["sigma"].values())


def test_resume_continues_bit_for_bit(data):
    def cfg_with(**top):
        # poly's max_steps fixed (its default is `steps`, which the interrupted run sets to 3).
        return config(data, {"type": "cua_o3d"}, losses=CUA_LOSSES, epochs=2,
                      schedule={"type": "poly", "power": 0.9, "max_steps": 6}, **top)
    full = cfg_with(out="full.safetensors")
    assert run("train", "--config", full, "--quiet")[0] == 0
    half = cfg_with(out="half.safetensors", save_state="state.safetensors", steps=3)
    code, _, err = run("train", "--config", half, "--quiet")
    assert code == 0, err
    assert (data / "state.safetensors.recipe.safetensors").exists()
    rest = cfg_with(out="rest.safetensors", resume="state.safetensors")
    code, out, err = run("train", "--config", rest, "--json")
    assert code == 0, err
    assert steps(out)[0]["step"] == 4
    assert (data / "rest.safetensors").read_bytes() == (data / "full.safetensors").read_bytes()


def test_sas_stage1_then_stage2(data):
    sp = [f"s{s}_sp.npy" for s in range(3)]
    ev = dict(EVAL, best_out="sas_best.safetensors", log="sas_eval.jsonl")
    c1 = config(data, {"type": "sas_stage1", "superpoints": sp, "eval": ev}, heads=("final",),
                losses={"final": {"type": "cosine"}}, out="stage1.safetensors")
    code, out, err = run("train", "--config", c1, "--json")
    assert code == 0, err
    st = steps(out)
    assert len(st) == 6 and all(r["losses"]["final"] > 0 for r in st)
    # Stage 1's loss = point loss (vs superpoint-mean targets) + superpoint loss: in [0, 4].
    assert all(0 < r["total"] <= 4 for r in st)
    c2 = config(data, {"type": "sas_stage2", "superpoints": sp, "text": "text.npy", "ema_momentum": 0.99, "eval": ev},
                heads=("final",), out="stage2.safetensors",
                extra=lambda c: c["model"].update({"init": "stage1.safetensors"}))
    code, out, err = run("train", "--config", c2, "--json")
    assert code == 0, err
    st2 = steps(out)
    assert len(st2) == 6 and all(np.isfinite(r["total"]) and r["total"] > 0 for r in st2)
    a, _ = read_safetensors(data / "stage1.safetensors")
    b, _ = read_safetensors(data / "stage2.safetensors")
    assert not np.array_equal(a["final.kernel"], b["final.kernel"]), "stage 2 changed nothing"


def test_sas_stage2_resume_continues_the_ema_bit_for_bit(data):
    """Stage 2's EMA state is saved in the recipe side file (`ema.<scene>`, float16 as released)
    and restored on resume: interrupted + resumed == uninterrupted, weights and EMA state."""
    assert run("train", "--config", config(data, {"type": "sas_stage1", "superpoints": [f"s{s}_sp.npy" for s in range(3)]},
                                           heads=("final",), losses={"final": {"type": "cosine"}}, epochs=1,
                                           out="s2init.safetensors"), "--quiet")[0] == 0

    def cfg_with(**top):
        return config(data, {"type": "sas_stage2", "superpoints": [f"s{s}_sp.npy" for s in range(3)], "text": "text.npy",
                             "ema_momentum": 0.5}, heads=("final",), epochs=2,
                      schedule={"type": "poly", "power": 0.9, "max_steps": 6},
                      extra=lambda c: c["model"].update({"init": "s2init.safetensors"}), **top)
    code, _, err = run("train", "--config", cfg_with(out="s2full.safetensors", save_state="s2full.state"), "--quiet")
    assert code == 0, err
    code, _, err = run("train", "--config", cfg_with(out="s2half.safetensors", save_state="s2.state", steps=3), "--quiet")
    assert code == 0, err
    half, _ = read_safetensors(data / "s2.state.recipe.safetensors")
    assert sorted(k for k in half if k.startswith("ema.")) == ["ema.0", "ema.1", "ema.2"]
    assert half["ema.0"].dtype == np.float16 and half["ema.0"].shape == (700, DIMS["final"])
    code, out, err = run("train", "--config", cfg_with(out="s2rest.safetensors", resume="s2.state", save_state="s2rest.state"), "--json")
    assert code == 0, err
    assert steps(out)[0]["step"] == 4
    assert (data / "s2rest.safetensors").read_bytes() == (data / "s2full.safetensors").read_bytes()
    full, _ = read_safetensors(data / "s2full.state.recipe.safetensors")
    rest, _ = read_safetensors(data / "s2rest.state.recipe.safetensors")
    for k in ("ema.0", "ema.1", "ema.2"):
        assert np.array_equal(full[k], rest[k]), k
        assert not np.array_equal(full[k], half[k]), f"{k} did not move in steps 4-6"


def test_crop_points_bounds_rows_deterministically_and_resumes(data):
    """`data.crop_points`: every scene keeps at most N points (a seeded column), per scene and
    step; SAS's superpoints follow the kept points; interrupted + resumed == uninterrupted (so the
    crop is deterministic across processes)."""
    sp = [f"s{s}_sp.npy" for s in range(3)]

    def cfg_with(**top):
        return config(data, {"type": "sas_stage1", "superpoints": sp}, heads=("final",), losses={"final": {"type": "cosine"}},
                      epochs=2, schedule={"type": "poly", "power": 0.9, "max_steps": 6},
                      extra=lambda c: c["data"].update({"crop_points": 300}), **top)
    code, out, err = run("train", "--config", cfg_with(out="crop_a.safetensors"), "--json")
    assert code == 0, err
    st = steps(out)
    assert len(st) == 6 and all(r["loss_rows"] == 600 for r in st)  # batch 2 x 300 of 700 points
    assert run("train", "--config", cfg_with(out="crop_h.safetensors", save_state="crop.state", steps=3), "--quiet")[0] == 0
    code, _, err = run("train", "--config", cfg_with(out="crop_r.safetensors", resume="crop.state"), "--quiet")
    assert code == 0, err
    assert (data / "crop_r.safetensors").read_bytes() == (data / "crop_a.safetensors").read_bytes()
    bad = config(data, {"type": "sas_stage1", "superpoints": sp}, heads=("final",), losses={"final": {"type": "cosine"}},
                 extra=lambda c: c["data"].update({"crop_points": -1}), out="crop_bad.safetensors")
    code, _, err = run("train", "--config", bad)
    assert code != 0 and code < 128 and "data.crop_points" in err, err


def test_probe_trains_and_loader_reads_it(data):
    c = config(data, {"type": "cua_o3d"}, losses=CUA_LOSSES, epochs=1, out="frozen.safetensors")
    assert run("train", "--config", c, "--quiet")[0] == 0
    scenes = [x for s in range(3) for x in ("--scene", f"{data}/s{s}_points.npy,{data}/s{s}_labels.npy")]
    code, out, err = run("probe", "--checkpoint", data / "frozen.safetensors", *scenes,
                         "--eval-scene", f"{data}/held_points.npy,{data}/held_labels.npy",
                         "--classes", K, "--epochs", 8, "--lr", 0.05, "--batch-size", 2, "--loop", 1,
                         "--voxel-size", 0.05, "--out", data / "probe.safetensors", "--json")
    assert code == 0, err
    recs = steps(out)
    ep = [r for r in recs if "epoch" in r]
    assert len(ep) == 8 and ep[-1]["loss"] < ep[0]["loss"]
    s = recs[-1]
    assert s["done"] and 0 <= s["miou"] <= 1
    sd, _ = read_safetensors(data / "probe.safetensors")
    assert sd["final_seg_lseg.kernel"].shape == (DIMS["final"], K)
    frozen, _ = read_safetensors(data / "frozen.safetensors")
    assert all(np.array_equal(frozen[k], sd[k]) for k in frozen), "the backbone is frozen"
    # The loader composes the probe: `ov3d inspect` lists it as a head.
    code, out, err = run("inspect", data / "probe.safetensors")
    assert code == 0 and "final_seg_lseg" in out, out + err


@pytest.mark.parametrize("recipe, msg", [
    ({"type": "nope"}, "recipe.type"),
    ({"type": "cua_o3d", "bogus": 1}, "recipe.bogus"),
    ({"type": "sas_stage1", "superpoints": ["s0_sp.npy"]}, "recipe.superpoints"),
    ({"type": "sas_stage2", "superpoints": ["s0_sp.npy", "s1_sp.npy", "s2_sp.npy"]}, "recipe.text"),
    ({"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1, 1]}, "fixed weights"),
    ({"type": "cua_o3d", "eval": dict(EVAL, centred="yes")}, "recipe.eval.centred"),
])
def test_bad_recipes_are_refused(data, recipe, msg):
    cfg = config(data, recipe, losses=CUA_LOSSES, epochs=1)
    code, out, err = run("train", "--config", cfg)
    assert code != 0 and code < 128 and msg in err, err


def test_agglomerate_mean_capability_and_refusals(tmp_path):
    rng = np.random.default_rng(3)
    k, d, n = 3, 8, 50
    text = rng.normal(0, 1, (k, d)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    a = rng.normal(0, 1, (n, d)).astype(np.float32)
    b = rng.normal(0, 1, (n, d)).astype(np.float32)
    b[:5] = 0  # unseen by teacher b: a alone
    for name, x in (("text", text), ("a", a), ("b", b)):
        np.save(tmp_path / f"{name}.npy", x)
    code, _, err = run("agglomerate", "--teacher", tmp_path / "a.npy", "--teacher", tmp_path / "b.npy",
                       "--vocabulary", tmp_path / "text.npy", "--method", "mean", "--out", tmp_path / "mean.npy")
    assert code == 0, err
    m = np.load(tmp_path / "mean.npy")
    assert m.shape == (n, d) and np.allclose(m[5:], (a[5:] + b[5:]) / 2, atol=1e-6) and np.allclose(m[:5], a[:5], atol=1e-6)
    # Capability: a teacher perfect on every class vs a useless one → (almost) its features alone (τ = 0.05).
    np.save(tmp_path / "cap.npy", np.array([[1.0] * k, [0.0] * k], np.float32))
    code, _, err = run("agglomerate", "--teacher", tmp_path / "a.npy", "--teacher", tmp_path / "b.npy",
                       "--vocabulary", tmp_path / "text.npy", "--capabilities", tmp_path / "cap.npy", "--out", tmp_path / "cap_out.npy")
    assert code == 0, err
    assert np.allclose(np.load(tmp_path / "cap_out.npy"), a, atol=1e-5)
    np.save(tmp_path / "short.npy", a[:10])
    for args, msg in ((["--teacher", tmp_path / "a.npy", "--teacher", tmp_path / "short.npy", "--method", "mean"], "rows"),
                      (["--teacher", tmp_path / "a.npy", "--method", "capability"], "--capabilities"),
                      (["--teacher", tmp_path / "a.npy", "--method", "vote"], "--method")):
        code, _, err = run("agglomerate", *args, "--vocabulary", tmp_path / "text.npy", "--out", tmp_path / "x.npy")
        assert code != 0 and code < 128 and msg in err, err
