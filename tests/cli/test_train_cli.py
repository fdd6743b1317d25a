"""`ov3d train --config RUN.json [--json]` (issue 11) end to end on tiny generated scenes: the
fixed config keys, one JSON object per step on stdout, `out` with every state-dict key, the
`.pth` export (read back without torch: a zip with archive/data.pkl), determinism (two runs give
identical files), the points interface, and bad configs (a message naming the key or file and a
non-zero exit status, never a crash).

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d.
Run: python3 -m pytest -q tests/cli/test_train_cli.py
"""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402


from test_features_cli import TOOL  # noqa: E402  (one place finds the tool)
pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, "
                                                     "or set OV3D_TOOL)")


def train(config, *extra):
    p = subprocess.run([TOOL, "train", "--config", str(config), *extra], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return p.returncode, p.stdout, p.stderr


def scenes(d, count=2, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(count):
        c = np.unique(rng.integers(0, 12, size=(150 + 40 * s, 3)), axis=0).astype(np.int32)
        np.save(d / f"c{s}.npy", c)
        np.save(d / f"f{s}.npy", rng.standard_normal((len(c), 3)).astype(np.float32))
        np.save(d / f"t{s}.npy", rng.standard_normal((len(c), dim)).astype(np.float32))
        np.save(d / f"m{s}.npy", (rng.random(len(c)) > 0.2).astype(np.uint8))
        out.append({"coords": f"c{s}.npy", "features": f"f{s}.npy", "targets": {"final": f"t{s}.npy"}, "mask": f"m{s}.npy"})
    return out


def config(d, **over):
    cfg = {
        "model": {"architecture": "MinkUNet14A", "in_channels": 3, "heads": {"final": 16}, "final_bias": True},
        "data": {"scenes": scenes(d), "batch_size": 2, "shuffle": False, "augment": False},
        "loss": {"final": {"type": "cosine", "weight": 1.0}},
        "optimizer": {"type": "adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
        "schedule": {"type": "constant"},
        "steps": 2, "seed": 0, "threads": 1,
        "out": "trained.safetensors",
    }
    cfg.update(over)
    path = d / "run.json"
    path.write_text(json.dumps(cfg))
    return path


def test_train_writes_out_json_records_and_is_deterministic(tmp_path):
    cfg = config(tmp_path, export_pth="trained.pth")
    rc, out, err = train(cfg, "--json")
    assert rc == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["step"] for r in recs] == [1, 2]
    for r in recs:
        assert set(r) >= {"step", "losses", "total", "lr", "voxels", "voxels_per_second"}
        assert 0 <= r["losses"]["final"] <= 2 and r["lr"] == 0.001 and r["voxels"] > 0
    assert "step 2/2" in err
    sd, meta = mf.read_safetensors(tmp_path / "trained.safetensors")
    assert meta.get("ov3d.architecture") == "MinkUNet14A" and meta.get("ov3d.heads") == "final=16"
    assert "conv0p1s1.kernel" in sd and "final.kernel" in sd and "final.bias" in sd
    nbt = [k for k in sd if k.endswith("num_batches_tracked")]
    assert nbt and all(sd[k].dtype == np.int64 and int(sd[k]) == 2 for k in nbt)
    assert sum(k.endswith("running_var") for k in sd) == len(nbt)
    with zipfile.ZipFile(tmp_path / "trained.pth") as z:
        names = z.namelist()
        assert names[0] == "archive/data.pkl" and "archive/version" in names
        assert z.testzip() is None  # CRCs
        assert len([n for n in names if n.startswith("archive/data/")]) == len(sd)
    first = (tmp_path / "trained.safetensors").read_bytes()
    rc, _, err = train(cfg)
    assert rc == 0, err
    assert (tmp_path / "trained.safetensors").read_bytes() == first


def test_points_interface_and_sgd_poly(tmp_path):
    rng = np.random.default_rng(1)
    pts = (rng.random((500, 3)) * 0.3).astype(np.float32)
    np.save(tmp_path / "p.npy", pts)
    np.save(tmp_path / "pt.npy", rng.standard_normal((500, 16)).astype(np.float32))
    cfg = config(tmp_path, steps=3,
                 optimizer={"type": "sgd", "lr": 0.01, "momentum": 0.9},
                 schedule={"type": "poly", "power": 0.9})
    j = json.loads(cfg.read_text())
    j["data"]["scenes"].append({"points": "p.npy", "voxel_size": 0.02, "targets": {"final": "pt.npy"}})
    j["loss"]["final"]["type"] = "l1"
    cfg.write_text(json.dumps(j))
    rc, out, err = train(cfg, "--json")
    assert rc == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["lr"] for r in recs] == pytest.approx([0.01 * (1 - t / 3) ** 0.9 for t in range(3)], rel=1e-12)
    # step 2 takes scenes 2 (points) and 0: its loss rows are the points plus scene 0's voxels
    assert recs[1]["loss_rows"] == 500 + len(np.load(tmp_path / "c0.npy"))


@pytest.mark.parametrize("edit,needle", [
    (lambda j: j["optimizer"].update(type="adagrad"), "optimizer.type"),
    (lambda j: j["loss"].update(final={"type": "huber"}), "loss.final.type"),
    (lambda j: j["data"]["scenes"][1].update(coords="nope.npy"), "nope.npy"),
    (lambda j: j["data"]["scenes"][0].update(targets={"final": "f0.npy"}), "data.scenes[0].targets.final"),
    (lambda j: j["model"].update(architecture="MinkUNet99Z"), "MinkUNet99Z"),
    (lambda j: j.pop("steps"), "steps"),
    (lambda j: j["data"].update(batch_size=0), "data.batch_size"),
])
def test_bad_configs_fail_with_a_message(tmp_path, edit, needle):
    cfg = config(tmp_path)
    j = json.loads(cfg.read_text())
    edit(j)
    cfg.write_text(json.dumps(j))
    rc, _, err = train(cfg)
    assert rc != 0 and rc < 128, err  # an error status, not a signal
    assert needle in err, err


def test_missing_config_and_bad_json(tmp_path):
    rc, _, err = train(tmp_path / "none.json")
    assert rc != 0 and "none.json" in err
    (tmp_path / "bad.json").write_text("{\"model\": ")
    rc, _, err = train(tmp_path / "bad.json")
    assert rc != 0 and "JSON" in err
