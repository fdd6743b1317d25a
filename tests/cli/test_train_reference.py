"""`ov3d train` (issue 11) against PyTorch: the training fixtures of Tests/Fixtures/training
(tools/training_reference.py; README there), one test per case.

Each test rebuilds the case's inputs (crops of real ScanNet scenes from ../shared/data, skipped
with a message when absent, or generated scenes), writes init.safetensors (seeded weights), the
.npy scenes and a RUN.json in issue 11's format, runs `ov3d train --config RUN.json --json` for
steps = 1, 2 and 3 (each run one step, resuming the previous run's `save_state`; resuming ==
one run and determinism: test_resume_and_determinism), and compares with the float64 PyTorch
reference after every step (the synth_* variants: one 3-step run, the state after step 3 and
the losses of every step):
  * losses: |a - b| / |b| per head and for the total (from the --json records);
  * every tensor of the state dict (`out`): num_batches_tracked exactly; for float tensors
      "elements"  max |a_i - b_i| / max |b| over the stored elements (64 fixed samples per tensor,
                  every element of tensors with < 4096 elements; max |b| over the whole tensor),
      "sum"       |sum a - sum b| / sum |b|,
      "l2"        | ||a|| - ||b|| | / ||b||,
      "delta_l2"  | ||a - a0|| - ||b - b0|| | / max(||b - b0||, 1e-3 ||b||): the change the steps
                  made, a finer check of the update's size (SGD: the gradient's scale).
Strict cases: losses, "elements", "sum", "l2" <= 1e-4 and "delta_l2" <= 1e-2, except that at
most OUTLIERS stored elements per step may exceed 1e-4 by at most 2 * (sum of the lrs so far):
Adam's step of an element whose gradient is within float32 rounding of 0 can take either sign
(PyTorch float32 itself does this to about 1 element in 10^6 against float64). The case without
the ReLU margin (scannet_14a_natural) uses the looser bounds in NATURAL (README: why).

The tool is $OV3D_TOOL, else .build/{debug,release}/ov3d-tool (scripts/test.sh sets it).
Run: python3 -m pytest -q tests/cli/test_train_reference.py
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402
import training_fixture as tf  # noqa: E402

TOL = 1e-4
TOL_DELTA = 1e-2
OUTLIERS = 2
# scannet_14a_natural (no ReLU margin): step 1 is still tight, later steps are bounded by what
# PyTorch float32 itself reaches against float64 (case.json "float32_vs_float64"), with margin.
NATURAL = {"loss": 1e-3, "elements_step1_fraction": 0.25, "sum": 1e-2, "l2": 1e-2}


def _tool():
    env = os.environ.get("OV3D_TOOL")
    if env:
        return env
    for c in (mf.ROOT / ".build" / "debug" / "ov3d-tool", mf.ROOT / ".build" / "release" / "ov3d-tool"):
        if c.exists():
            return str(c)
    return None


TOOL = _tool()
CASES = sorted(p.parent.name for p in tf.FIX.glob("*/case.json"))
pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, or set OV3D_TOOL)")


def train(config):
    """Runs `ov3d train --config config --json`; returns the per-step JSON records."""
    p = subprocess.run([TOOL, "train", "--config", str(config), "--json"], capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if p.returncode != 0 and "not in this build yet" in p.stderr:
        pytest.skip("ov3d train: the trainable MinkUNet is not in this build yet")
    assert p.returncode == 0, f"ov3d train failed ({p.returncode}):\n{p.stderr[-4000:]}"
    recs = [json.loads(line) for line in p.stdout.splitlines() if line.strip().startswith("{")]
    return recs


def strip(sd):
    out = {}
    for k, v in sd.items():
        for pre in ("module.", "net3d."):
            if k.startswith(pre):
                k = k[len(pre):]
        out[k] = v
    return out


def compare_step(case, samples, step, got, init):
    """{metric: (worst value, key)} of one step's state dict against the reference, and the
    stored elements beyond TOL: [(key, index, |a - b|)]."""
    ref = case["steps_reference"][step - 1]["tensors"]
    worst = {m: (0.0, None) for m in ("elements", "sum", "l2", "delta_l2")}
    fractions, outliers = [], []
    missing = sorted(set(case["tensors"]) - set(got))
    assert not missing, f"step {step}: out lacks {missing[:8]}"
    for k, t in case["tensors"].items():
        a = got[k]
        assert list(a.shape) == t["shape"], f"{k}: shape {list(a.shape)}, expected {t['shape']}"
        r = ref[k]
        if t["dtype"] == "I64":
            assert int(a.reshape(-1)[0]) == r["value"], f"step {step}: {k} = {int(a.reshape(-1)[0])}, expected {r['value']}"
            continue
        a = a.astype(np.float64).reshape(-1)
        a0 = init["net3d." + k].astype(np.float64).reshape(-1)
        idx = samples.get(f"{k}@index")
        b = samples[f"{k}@{step}"].astype(np.float64)
        av = a if idx is None else a[idx]
        diff = np.abs(av - b)
        beyond = np.nonzero(diff > TOL * r["max_abs"])[0]
        outliers += [(k, int(i if idx is None else idx[i]), float(diff[i])) for i in beyond]
        inside = np.delete(diff, beyond)
        e = {"elements": float(inside.max() / max(r["max_abs"], 1e-30)) if inside.size else 0.0,
             "sum": abs(float(a.sum()) - r["sum"]) / max(r["abs_sum"], 1e-30),
             "l2": abs(float(np.linalg.norm(a)) - r["l2"]) / max(r["l2"], 1e-30)}
        e["delta_l2"] = abs(float(np.linalg.norm(a - a0)) - r["delta_l2"]) / max(r["delta_l2"], 1e-3 * r["l2"], 1e-30)
        fractions.append(float((diff > TOL * r["max_abs"]).mean()))
        for m, v in e.items():
            if v > worst[m][0] or worst[m][1] is None:
                worst[m] = (v, k)
    worst["fraction_beyond_tol"] = (max(fractions), None)
    return worst, outliers


@pytest.mark.parametrize("name", CASES)
def test_training_matches_pytorch(name, tmp_path):
    case = tf.load_case(name)
    if tf.needs_shared(case) and not (tf.SHARED / "scannet_votenet50k").exists():
        pytest.skip(f"{name}: needs ../shared/data/scannet_votenet50k (real ScanNet scenes), not found at {tf.SHARED}")
    samples = dict(np.load(tf.FIX / name / "samples.npz"))
    init = tf.initial_state_dict(case)
    strict = case.get("strict", True)
    n = int(case["steps"])
    report = []
    per_step = case.get("per_step", not name.startswith("synth_"))
    for steps in (range(1, n + 1) if per_step else [n]):
        if per_step:
            # one step per run, each resuming the previous run's saved state (1 + 1 + 1 steps
            # instead of 1 + 2 + 3; resuming == one run: test_resume_and_determinism)
            extra = {"save_state": f"state{steps}.safetensors"}
            if steps > 1:
                extra["resume"] = f"state{steps - 1}.safetensors"
            run = tf.write_run(case, tmp_path, steps, out=f"out{steps}.safetensors", extra=extra)
            recs = train(run)
            assert len(recs) == 1, f"--json printed {len(recs)} records for step {steps} (resumed at step {steps - 1})"
        else:
            # the variants: one run of n steps, the state after the last, the losses of every step
            recs = train(tf.write_run(case, tmp_path, n, out=f"out{n}.safetensors"))
            assert len(recs) == n, f"--json printed {len(recs)} records for {n} steps"
            for s_, rec in enumerate(recs[:-1], start=1):
                ref = case["steps_reference"][s_ - 1]
                err = abs(rec["total"] - ref["total"]) / abs(ref["total"])
                assert err <= (TOL if strict or s_ == 1 else NATURAL["loss"]), f"{name} step {s_}: loss differs by {err:.3g}"
        got = strip(mf.read_safetensors(tmp_path / f"out{steps}.safetensors")[0])
        worst, outliers = compare_step(case, samples, steps, got, init)
        ref = case["steps_reference"][steps - 1]
        lr_sum = sum(r["lr"] for r in case["steps_reference"][:steps])
        rec = recs[-1]
        loss_err = abs(rec["total"] - ref["total"]) / abs(ref["total"])
        head_err = max(abs(rec["losses"][h] - ref["losses"][h]) / abs(ref["losses"][h]) for h in ref["losses"])
        assert abs(rec.get("lr", ref["lr"]) - ref["lr"]) <= 1e-12 * ref["lr"], f"step {steps}: lr {rec.get('lr')} vs {ref['lr']}"
        line = (f"{name} step {steps}: loss rel {max(loss_err, head_err):.2e}, " +
                ", ".join(f"{m} {v:.2e}" + (f" ({k})" if k else "") for m, (v, k) in worst.items()))
        if outliers:
            line += f"; {len(outliers)} stored element(s) beyond {TOL}: " + ", ".join(f"{k}[{i}] off by {d:.2e}" for k, i, d in outliers[:5])
        print(line)
        report.append((steps, loss_err, head_err, worst, outliers, lr_sum))
    for steps, loss_err, head_err, worst, outliers, lr_sum in report:
        if strict:
            assert len(outliers) <= OUTLIERS and all(d <= 2 * lr_sum for _, _, d in outliers), \
                f"{name} step {steps}: stored elements beyond {TOL}: {outliers[:10]}"
            assert max(loss_err, head_err) <= TOL, f"{name} step {steps}: loss differs by {max(loss_err, head_err):.3g} (relative)"
            for m in ("elements", "sum", "l2"):
                assert worst[m][0] <= TOL, f"{name} step {steps}: {m} error {worst[m][0]:.3g} at {worst[m][1]} (> {TOL})"
            assert worst["delta_l2"][0] <= TOL_DELTA, \
                f"{name} step {steps}: delta_l2 error {worst['delta_l2'][0]:.3g} at {worst['delta_l2'][1]} (> {TOL_DELTA})"
        else:
            tol_loss = TOL if steps == 1 else NATURAL["loss"]
            assert max(loss_err, head_err) <= tol_loss, f"{name} step {steps}: loss differs by {max(loss_err, head_err):.3g}"
            for m in ("sum", "l2"):
                assert worst[m][0] <= NATURAL[m], f"{name} step {steps}: {m} error {worst[m][0]:.3g} at {worst[m][1]}"
            if steps == 1:
                assert worst["fraction_beyond_tol"][0] <= NATURAL["elements_step1_fraction"], \
                    f"{name} step 1: {worst['fraction_beyond_tol'][0]:.3g} of a tensor's stored elements beyond {TOL}"


def test_resume_and_determinism(tmp_path):
    """synth_no_bias: 3 steps in one run == 1 + 1 + 1 resumed steps, bit for bit, twice."""
    case = tf.load_case("synth_no_bias")
    outs = []
    for rep in range(2):
        d = tmp_path / f"r{rep}"
        recs = train(tf.write_run(case, d, 3, out="out.safetensors"))
        assert len(recs) == 3
        for s, rec in enumerate(recs, start=1):
            ref = case["steps_reference"][s - 1]
            assert abs(rec["total"] - ref["total"]) <= TOL * abs(ref["total"]), f"step {s}: loss {rec['total']} vs {ref['total']}"
        outs.append(mf.read_safetensors(d / "out.safetensors")[0])
    for steps in range(1, 4):
        extra = {"save_state": f"state{steps}.safetensors"}
        if steps > 1:
            extra["resume"] = f"state{steps - 1}.safetensors"
        train(tf.write_run(case, tmp_path / "chain", steps, out=f"out{steps}.safetensors", extra=extra))
    chain = mf.read_safetensors(tmp_path / "chain" / "out3.safetensors")[0]
    a, b = outs
    assert sorted(a) == sorted(b) == sorted(chain)
    assert all(np.array_equal(a[k], b[k]) for k in a), "the same config gave different weights (not deterministic)"
    bad = [k for k in a if not np.array_equal(a[k], chain[k])]
    assert not bad, f"1 + 1 + 1 resumed steps differ from 3 steps in one run at {bad[:5]}"
