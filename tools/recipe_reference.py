#!/usr/bin/env python3
"""Golden fixtures for the training recipes (Sources/OV3DCore/Recipes), from PyTorch autograd
and SciPy.

How to run (pinned versions; CI never needs this):
    python3 -m venv .venv-tools
    .venv-tools/bin/pip install torch==2.13.0+cpu numpy==2.4.6 scipy==1.17.1 safetensors==0.8.0
    .venv-tools/bin/python tools/recipe_reference.py Tests/Fixtures/recipes

Writes Tests/Fixtures/recipes/recipes.safetensors (float32 and float64 tensors; a few KB). Every
case is the released recipe's own expression, written from ../shared/reference/minkunet.md §7
(CUA-O3D), sas-and-superpoints.md §5-6 (SAS) and openscene-pipeline.md §2 (augmentation):

  demean_*     CUA-O3D SD loss: (1 - CosineSimilarity()(F.normalize(p), F.normalize(t - t.mean(-1)))).mean()
               over the masked rows; loss and d/dp (float32 and float64).
  awl_*        AutomaticWeightedLoss: sum 0.5/p^2 * L + log(1 + p^2); total, d/dL, d/dp.
  sp_*         SAS stage 1: torch.unique(sorted, return_inverse) segments, scatter_mean (index_add),
               loss_1 + loss_2 with CosineSimilarity; d/do (float64 and float32).
  sd_*         SAS stage 2: pseudo-labels argmax(mean_sp(h) @ T^T), CE on o @ T^T and on
               mean_sp(o) @ T^T; d/do (float32).
  ema_*        history update 0.9999*h + 0.0001*p in float32 from a float16 state, stored float16, 3 steps.
  ce_*         CrossEntropyLoss(ignore_index=255) mean; d/dlogits (float32 and float64).
  probe_*      linear probe: logits = X @ W (bias-free 1x1 head on frozen head outputs), CE(ignore 255),
               torch.optim.Adam(lr, weight_decay=1e-4), poly lr base*(1 - it/max)^0.9 set after each
               step as run/distill_sep_prob_seg_*.py does; W and loss after each of 5 steps.
  elastic_*    dataset/augmentation.py ElasticDistortion.elastic_distortion with the noise given
               (scipy.ndimage.convolve mode=constant, RegularGridInterpolator).
"""
import os
import sys

import numpy as np
import scipy
import scipy.interpolate
import scipy.ndimage
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minkunet_common import save_safetensors  # noqa: E402

assert torch.__version__.startswith("2.13.0"), torch.__version__


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def demean_case(out, name, dtype, rng):
    rows, dim = 11, 17
    p = rng.normal(size=(rows, dim))
    t = rng.normal(size=(rows, dim)) * 3 + rng.normal(size=(rows, 1)) * 5   # strong per-row means
    t[4] = 2.5                                                               # constant row: de-meaned to zero
    mask = (rng.random(rows) > 0.3).astype(np.uint8)
    mask[4] = 1
    pt = torch.tensor(p, dtype=dtype, requires_grad=True)
    tt = torch.tensor(t, dtype=dtype)
    m = torch.tensor(mask.astype(bool))
    demeaned = tt - torch.mean(tt, dim=-1, keepdim=True)
    loss = (1 - torch.nn.CosineSimilarity()(F.normalize(pt[m], 2, dim=1), F.normalize(demeaned[m], 2, dim=1))).mean()
    loss.backward()
    npd = np.float64 if dtype == torch.float64 else np.float32
    out[f"{name}_pred"] = p.astype(npd)
    out[f"{name}_target"] = t.astype(npd)
    out[f"{name}_mask"] = mask
    out[f"{name}_loss"] = np.array([loss.item()], dtype=np.float64)
    out[f"{name}_grad"] = pt.grad.numpy().astype(npd)


def awl_case(out, name, dtype):
    losses = torch.tensor([0.83, 0.41, 1.37], dtype=dtype, requires_grad=True)
    params = torch.nn.Parameter(torch.tensor([1.0, 0.7, 1.6], dtype=dtype))
    total = 0
    for i, l in enumerate(losses):
        total += 0.5 / (params[i] ** 2) * l + torch.log(1 + params[i] ** 2)
    total.backward()
    out[f"{name}_losses"] = losses.detach().numpy().astype(np.float64)
    out[f"{name}_sigma"] = params.detach().numpy().astype(np.float64)
    out[f"{name}_total"] = np.array([total.item()], dtype=np.float64)
    out[f"{name}_dloss"] = losses.grad.numpy().astype(np.float64)
    out[f"{name}_dsigma"] = params.grad.numpy().astype(np.float64)


def scatter_mean(x, seg, n):
    s = torch.zeros((n, x.shape[1]), dtype=x.dtype).index_add(0, seg, x)
    c = torch.zeros(n, dtype=x.dtype).index_add(0, seg, torch.ones(len(seg), dtype=x.dtype))
    return s / c[:, None]


def superpoint_case(out, name, dtype, rng):
    rows, dim = 40, 8
    o = rng.normal(size=(rows, dim))
    t = rng.normal(size=(rows, dim))
    seg = rng.choice([3, 7, 11, 12, 20, 41], size=rows).astype(np.int32)
    mask = (rng.random(rows) > 0.25).astype(np.uint8)
    ot = torch.tensor(o, dtype=dtype, requires_grad=True)
    tt = torch.tensor(t, dtype=dtype)
    m = torch.tensor(mask.astype(bool))
    out3 = ot[m]
    sp = torch.tensor(seg.astype(np.int64))[m]
    _, sp = torch.unique(sp, sorted=True, return_inverse=True)
    n = int(sp.max()) + 1
    tmean = scatter_mean(tt[m], sp, n)
    loss1 = (1 - torch.nn.CosineSimilarity()(out3, tmean[sp, :])).mean()
    omean = scatter_mean(out3, sp, n)
    loss2 = (1 - torch.nn.CosineSimilarity()(omean, tmean)).mean()
    loss = loss1 + loss2
    loss.backward()
    npd = np.float64 if dtype == torch.float64 else np.float32
    out[f"{name}_pred"] = o.astype(npd)
    out[f"{name}_target"] = t.astype(npd)
    out[f"{name}_segments"] = seg
    out[f"{name}_mask"] = mask
    out[f"{name}_losses"] = np.array([loss.item(), loss1.item(), loss2.item()], dtype=np.float64)
    out[f"{name}_grad"] = ot.grad.numpy().astype(npd)


def selfdistill_case(out, name, rng):
    rows, dim, k = 40, 8, 5
    o = rng.normal(size=(rows, dim)).astype(np.float32)
    h = rng.normal(size=(rows, dim)).astype(np.float32)
    T = rng.normal(size=(k, dim))
    T = (T / np.linalg.norm(T, axis=1, keepdims=True)).astype(np.float32)
    seg = rng.choice([2, 5, 6, 9, 30], size=rows).astype(np.int32)
    ot = torch.tensor(o, requires_grad=True)
    ht = torch.tensor(h)
    Tt = torch.tensor(T)
    _, sp = torch.unique(torch.tensor(seg.astype(np.int64)), sorted=True, return_inverse=True)
    n = int(sp.max()) + 1
    hmean = scatter_mean(ht, sp, n)
    hfull = hmean[sp, :]
    y_mean = (hmean @ Tt.t()).max(dim=-1)[1]
    y_full = (hfull @ Tt.t()).max(dim=-1)[1]
    loss1 = torch.nn.CrossEntropyLoss()(ot @ Tt.t(), y_full)
    omean = scatter_mean(ot, sp, n)
    loss2 = torch.nn.CrossEntropyLoss()(omean @ Tt.t(), y_mean)
    loss = loss1 + loss2
    loss.backward()
    out[f"{name}_pred"] = o
    out[f"{name}_history"] = h
    out[f"{name}_text"] = T
    out[f"{name}_segments"] = seg
    out[f"{name}_labels"] = y_mean.numpy().astype(np.int32)
    out[f"{name}_losses"] = np.array([loss.item(), loss1.item(), loss2.item()], dtype=np.float64)
    out[f"{name}_grad"] = ot.grad.numpy()


def ema_case(out, name, rng):
    h = torch.tensor(rng.normal(size=(6, 8)) * 0.1, dtype=torch.float32).half()
    out[f"{name}_h0"] = h.numpy().astype(np.float16)
    for step in range(3):
        p = torch.tensor(rng.normal(size=(6, 8)), dtype=torch.float32)
        out[f"{name}_p{step}"] = p.numpy()
        h = (0.9999 * h.float() + 0.0001 * p).half()
        out[f"{name}_h{step + 1}"] = h.numpy().astype(np.float16)


def ce_case(out, name, dtype, rng):
    rows, k = 12, 6
    z = rng.normal(size=(rows, k)) * 2
    y = rng.integers(0, k, size=rows).astype(np.int32)
    y[[2, 7]] = 255
    zt = torch.tensor(z, dtype=dtype, requires_grad=True)
    loss = torch.nn.CrossEntropyLoss(ignore_index=255)(zt, torch.tensor(y.astype(np.int64)))
    loss.backward()
    npd = np.float64 if dtype == torch.float64 else np.float32
    out[f"{name}_logits"] = z.astype(npd)
    out[f"{name}_labels"] = y
    out[f"{name}_loss"] = np.array([loss.item()], dtype=np.float64)
    out[f"{name}_grad"] = zt.grad.numpy().astype(npd)


def probe_case(out, name, rng):
    rows, width, k, steps = 30, 10, 4, 5
    base_lr, power, wd = 1e-2, 0.9, 1e-4
    X = rng.normal(size=(rows, width)).astype(np.float32)
    W0 = (rng.normal(size=(width, k)) * 0.1).astype(np.float32)
    y = rng.integers(0, k, size=rows).astype(np.int32)
    y[[0, 9, 17]] = 255
    W = torch.nn.Parameter(torch.tensor(W0))
    opt = torch.optim.Adam([W], lr=base_lr, weight_decay=wd)
    crit = torch.nn.CrossEntropyLoss(ignore_index=255)
    Xt, yt = torch.tensor(X), torch.tensor(y.astype(np.int64))
    losses, Ws = [], []
    for it in range(steps):
        loss = crit(Xt @ W, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        cur = base_lr * (1 - float(it + 1) / steps) ** power
        for g in opt.param_groups:
            g["lr"] = cur
        losses.append(loss.item())
        Ws.append(W.detach().numpy().copy())
    out[f"{name}_features"] = X
    out[f"{name}_w0"] = W0
    out[f"{name}_labels"] = y
    out[f"{name}_losses"] = np.array(losses, dtype=np.float64)
    out[f"{name}_weights"] = np.stack(Ws).astype(np.float32)
    out[f"{name}_config"] = np.array([base_lr, power, wd, steps], dtype=np.float64)


def elastic_case(out, name, rng, granularity, magnitude):
    n = 60
    coords = (rng.random((n, 3)) * np.array([1.3, 0.9, 0.5])).astype(np.float32).astype(np.float64)
    blurx = np.ones((3, 1, 1, 1)).astype("float32") / 3
    blury = np.ones((1, 3, 1, 1)).astype("float32") / 3
    blurz = np.ones((1, 1, 3, 1)).astype("float32") / 3
    coords_min = coords.min(0)
    noise_dim = ((coords - coords_min).max(0) // granularity).astype(int) + 3
    noise = rng.normal(size=(*noise_dim, 3)).astype(np.float32)
    raw = noise.copy()
    for _ in range(2):
        noise = scipy.ndimage.convolve(noise, blurx, mode="constant", cval=0)
        noise = scipy.ndimage.convolve(noise, blury, mode="constant", cval=0)
        noise = scipy.ndimage.convolve(noise, blurz, mode="constant", cval=0)
    ax = [np.linspace(d_min, d_max, d)
          for d_min, d_max, d in zip(coords_min - granularity, coords_min + granularity * (noise_dim - 2), noise_dim)]
    interp = scipy.interpolate.RegularGridInterpolator(ax, noise, bounds_error=0, fill_value=0)
    res = coords + interp(coords) * magnitude
    out[f"{name}_coords"] = coords.astype(np.float32)
    out[f"{name}_noise"] = raw
    out[f"{name}_out"] = res.astype(np.float64)
    out[f"{name}_params"] = np.array([granularity, magnitude], dtype=np.float64)


def main():
    dest = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/recipes"
    os.makedirs(dest, exist_ok=True)
    rng = np.random.default_rng(20261202)
    torch.manual_seed(0)
    out = {}
    demean_case(out, "demean64", torch.float64, rng)
    demean_case(out, "demean32", torch.float32, rng)
    awl_case(out, "awl64", torch.float64)
    awl_case(out, "awl32", torch.float32)
    superpoint_case(out, "sp64", torch.float64, rng)
    superpoint_case(out, "sp32", torch.float32, rng)
    selfdistill_case(out, "sd32", rng)
    ema_case(out, "ema", rng)
    ce_case(out, "ce64", torch.float64, rng)
    ce_case(out, "ce32", torch.float32, rng)
    probe_case(out, "probe", rng)
    elastic_case(out, "elastic_fine", rng, 0.2, 0.4)
    elastic_case(out, "elastic_coarse", rng, 0.8, 1.6)
    meta = {"torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "generator": "tools/recipe_reference.py"}
    save_safetensors(os.path.join(dest, "recipes.safetensors"), out, meta)
    print("wrote", os.path.join(dest, "recipes.safetensors"), len(out), "tensors")


if __name__ == "__main__":
    main()
