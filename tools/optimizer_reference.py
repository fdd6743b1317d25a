#!/usr/bin/env python3
"""Golden trajectories of torch.optim (SGD / Adam / AdamW, parameter groups), learning-rate
schedules (constant, StepLR, OpenScene's per-iteration poly, CosineAnnealingLR), gradient-norm
clipping and the training losses (cosine / l1 / mse with masks, gradients by autograd) for
Tests/OV3DCoreTests/TrainingOptimizerTests.swift.

Run (torch pinned; the fixture is committed, CI never runs this):
    python3 -m venv .venv-tools && .venv-tools/bin/pip install torch==2.13.0+cpu numpy
    .venv-tools/bin/python tools/optimizer_reference.py   # writes Tests/Fixtures/training/optimizer_reference.json
"""
import json
import math
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "Tests" / "Fixtures" / "training" / "optimizer_reference.json"
STEPS = 6
PARAMS = [("conv0p1s1.kernel", [2, 3, 4]), ("bn0.bn.weight", [4]), ("bn0.bn.bias", [4]), ("final.kernel", [4, 5]),
          ("final.bias", [5])]


def f32list(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def schedule_lr(kind, base, t, prev, spec):
    """The lr of step t (0-based), as torch's schedulers / OpenScene's poly give it."""
    if t == 0:
        return base
    if kind == "constant":
        return base
    if kind == "poly":
        return base * (1 - float(t) / spec["max_steps"]) ** spec["power"]
    raise ValueError(kind)


def run_case(case, rng):
    torch.manual_seed(0)
    init = {n: torch.from_numpy(rng.standard_normal(s).astype(np.float32)) for n, s in PARAMS}
    grads = [{n: torch.from_numpy((rng.standard_normal(s) * (0.5 + st)).astype(np.float32)) for n, s in PARAMS}
             for st in range(STEPS)]
    params = {n: torch.nn.Parameter(init[n].clone()) for n, _ in PARAMS}
    opt_kw = dict(case["optimizer"])
    kind = opt_kw.pop("type")
    groups_spec = case.get("groups", [])
    assigned = set()
    groups = []
    for g in groups_spec:
        names = [n for n, _ in PARAMS if n not in assigned and any(
            (n.startswith(p[len("prefix:"):]) if p.startswith("prefix:") else n == p) for p in g["select"])]
        assigned.update(names)
        d = {"params": [params[n] for n in names]}
        for k in ("lr", "weight_decay"):
            if k in g:
                d[k] = g[k]
        groups.append(d)
    rest = [params[n] for n, _ in PARAMS if n not in assigned]
    if rest:
        groups.append({"params": rest})
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    opt = cls(groups, **opt_kw)
    sched = case.get("schedule", {"type": "constant"})
    torch_sched = None
    if sched["type"] == "step":
        torch_sched = torch.optim.lr_scheduler.StepLR(opt, step_size=sched["step_size"], gamma=sched["gamma"])
    elif sched["type"] == "cosine":
        torch_sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=sched["t_max"], eta_min=sched["eta_min"])
    bases = [g["lr"] for g in opt.param_groups]
    traj, lrs, norms = [], [], []
    for t in range(STEPS):
        if torch_sched is None:
            for g, b in zip(opt.param_groups, bases):
                g["lr"] = schedule_lr(sched["type"], b, t, g["lr"], sched)
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        for n, _ in PARAMS:
            params[n].grad = grads[t][n].clone()
        if "clip" in case:
            norms.append(float(torch.nn.utils.clip_grad_norm_([params[n] for n, _ in PARAMS], case["clip"])))
        opt.step()
        if torch_sched is not None:
            torch_sched.step()
        traj.append({n: f32list(params[n]) for n, _ in PARAMS})
    out = dict(case)
    out.update(init={n: f32list(init[n]) for n, _ in PARAMS},
               grads=[{n: f32list(g[n]) for n, _ in PARAMS} for g in grads],
               lrs=lrs, trajectory=traj)
    if norms:
        out["grad_norms"] = norms
    return out


CASES = [
    {"name": "sgd_plain", "optimizer": {"type": "sgd", "lr": 0.1}},
    {"name": "sgd_momentum_dampening_wd", "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1,
                                                         "weight_decay": 0.01}},
    {"name": "sgd_nesterov_step", "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True,
                                                 "weight_decay": 1e-3},
     "schedule": {"type": "step", "step_size": 2, "gamma": 0.5}},
    {"name": "adam_default", "optimizer": {"type": "adam", "lr": 1e-3}},
    {"name": "adam_wd_amsgrad_poly", "optimizer": {"type": "adam", "lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6,
                                                    "weight_decay": 0.01, "amsgrad": True},
     "schedule": {"type": "poly", "power": 0.9, "max_steps": STEPS}},
    {"name": "adamw_cosine", "optimizer": {"type": "adamw", "lr": 1e-2, "weight_decay": 0.1},
     "schedule": {"type": "cosine", "t_max": 3, "eta_min": 1e-4}},
    {"name": "adam_groups_clip", "optimizer": {"type": "adam", "lr": 1e-3, "weight_decay": 1e-4},
     "groups": [{"name": "heads", "select": ["prefix:final"], "lr": 1e-2, "weight_decay": 0.0},
                {"name": "bn", "select": ["bn0.bn.weight", "bn0.bn.bias"], "weight_decay": 0.0}],
     "clip": 2.0},
    {"name": "sgd_clip_cosine_long", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.5},
     "schedule": {"type": "cosine", "t_max": 2, "eta_min": 0.01}, "clip": 1.0},
]


def losses(rng):
    rows, dim = 7, 6
    pred = rng.standard_normal((rows, dim)).astype(np.float32)
    target = rng.standard_normal((rows, dim)).astype(np.float32)
    pred[3] *= 1e-3  # a small row
    target[5] = pred[5]  # an exact match (l1: sign(0))
    mask = np.array([1, 1, 0, 1, 1, 1, 0], dtype=np.uint8)
    out = {"rows": rows, "dim": dim, "pred": pred.reshape(-1).tolist(), "target": target.reshape(-1).tolist(),
           "mask": mask.tolist(), "cases": []}
    m = torch.from_numpy(mask.astype(bool))
    for kind in ("cosine", "l1", "mse"):
        for masked in (True, False):
            p = torch.from_numpy(pred).requires_grad_(True)
            t = torch.from_numpy(target)
            pm, tm = (p[m], t[m]) if masked else (p, t)
            if kind == "cosine":
                loss = (1 - torch.nn.functional.cosine_similarity(pm, tm, dim=1)).mean()
            elif kind == "l1":
                loss = torch.nn.L1Loss()(pm, tm)
            else:
                loss = torch.nn.MSELoss()(pm, tm)
            w = 0.7
            (w * loss).backward()
            out["cases"].append({"kind": kind, "masked": masked, "weight": w, "loss": float(loss.detach()),
                                 "grad": p.grad.reshape(-1).tolist()})
    return out


def main():
    rng = np.random.default_rng(20261202)
    fixture = {"torch": torch.__version__, "steps": STEPS, "params": [[n, s] for n, s in PARAMS],
               "cases": [run_case(c, rng) for c in CASES], "losses": losses(rng)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(CASES)} optimizer cases)")


if __name__ == "__main__":
    main()
