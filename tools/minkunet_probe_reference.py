#!/usr/bin/env python3
"""Golden fixture for CUA-O3D's linear-probing heads (minkunet.md §7.4; issue 3).

Environment: the same as tools/minkunet_reference.py (see its header: torch==2.13.0+cpu,
numpy==2.4.6, safetensors==0.8.0, spconv==2.3.8, cumm==0.7.11 in a venv). The committed fixture
was generated with the versions recorded in its meta.json ("versions").

Run (from the repository root):
    python3 tools/minkunet_probe_reference.py --out Tests/Fixtures/minkunet

What it writes (Tests/Fixtures/minkunet/probe_14a_w16/, layout in that folder's README.md):
  * model.pth.tar: a checkpoint saved the way CUA-O3D's probe training saves one
    (run/distill_sep_prob_seg_*.py: torch.save of {'epoch', 'state_dict', 'best_iou'} from a
    DistributedDataParallel-wrapped DisNet, so keys start with `module.net3d.`). Network:
    MinkUNet14A with every width / 16, feature heads `final` 16, `final_dinov2` 8, `final_sd` 12
    (CUA-O3D's 512/1024/3200 scaled down; the loader reads widths from shapes), and all four
    probe heads CUA-O3D's model files define (1x1 MinkowskiConvolution, no bias):
      final_seg                 [36, 5]  on cat(final, final_dinov2, final_sd)  (CatProbSeg_All)
      final_seg_lseg            [16, 7]  on final                               (Sep/LsegProbSeg)
      final_seg_dinov2          [ 8, 7]  on final_dinov2                        (Sep/DINOv22ProbSeg)
      final_seg_stablediffusion [12, 7]  on final_sd                            (Sep/SDProbSeg)
    (no released file has all four; tests drop keys to get each real key set).
  * the feature heads by spconv 2.3 (checked against the float64 ME reference by
    tools/minkunet_reference.py:run_networks), then each probe applied by PyTorch as ME's 1x1
    convolution does (`F @ W`, float32) to spconv's head outputs: the golden logits. Asserted
    before writing: fp32 logits vs the float64 ME-reference chain < 1e-5 relative (max-abs) and
    identical argmax on non-tied rows.
"""
import argparse
import collections
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
from minkunet_common import arch, rel_maxabs, seeded_state_dict, voxelize, weight_values  # noqa: E402
from minkunet_reference import SEED, TIE_REL, labels_of, run_networks, versions  # noqa: E402
from make_room import make_room_points  # noqa: E402

NAME = "probe_14a_w16"
FEATURE_HEADS = [("final", 16), ("final_dinov2", 8), ("final_sd", 12)]
# (probe, inputs in concatenation order, classes) -- CUA_O3D models/mink_unet_with_dinov2_sd_*ProbSeg*.py
PROBES = [("final_seg", ["final", "final_dinov2", "final_sd"], 5),
          ("final_seg_lseg", ["final"], 7),
          ("final_seg_dinov2", ["final_dinov2"], 7),
          ("final_seg_stablediffusion", ["final_sd"], 7)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)

    a = arch("14A").scaled(16, FEATURE_HEADS)
    dims = dict(FEATURE_HEADS)
    points = make_room_points(seed=9, scale=0.2, density=120.0).astype(np.float32)
    voxel_size = 0.05
    coords, inds, inverse = voxelize(points, voxel_size)
    feats = np.ones((len(coords), a.in_ch), np.float32)   # CUA-O3D probes: input = constant ones

    sd = seeded_state_dict(a, SEED)                        # trunk + feature heads, `net3d.` keys
    for name, inputs, classes in PROBES:
        cin = sum(dims[i] for i in inputs)
        key = f"net3d.{name}.kernel"
        sd[key] = weight_values(SEED, key, cin * classes, math.sqrt(6.0 / cin), 0.0).reshape(cin, classes)

    osp, o64, ref, t, err = run_networks(a, sd, coords, feats)   # asserts spconv == ME fp64 per head

    logits, logits64 = {}, {}
    for name, inputs, classes in PROBES:
        W = torch.from_numpy(sd[f"net3d.{name}.kernel"])
        x32 = torch.cat([torch.from_numpy(osp[i]) for i in inputs], 1)
        x64 = torch.cat([torch.from_numpy(o64[i]) for i in inputs], 1)
        logits[name] = (x32 @ W).numpy()
        logits64[name] = (x64 @ W.double()).numpy()
        e = rel_maxabs(logits[name], logits64[name])
        err[name] = {"torch_fp32_vs_me64_rel": e[0], "torch_fp32_vs_me64_abs": e[1],
                     "max_abs_value": float(np.abs(logits64[name]).max())}
        assert e[0] < 1e-5, (name, e)
        l32, l64 = labels_of(logits[name]), labels_of(logits64[name])
        ok = (l32 >= 0) & (l64 >= 0)
        assert (l32[ok] == l64[ok]).all(), f"argmax differs on {name}"

    d = os.path.join(args.out, NAME)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "points.npy"), points)
    np.save(os.path.join(d, "coords.npy"), coords.astype(np.int32))
    np.save(os.path.join(d, "inverse.npy"), inverse.astype(np.int32))
    for i, (h, _) in enumerate(FEATURE_HEADS):
        np.save(os.path.join(d, "voxel_features.npy" if i == 0 else f"voxel_features.{h}.npy"), osp[h].astype(np.float32))
    for name, _, _ in PROBES:
        np.save(os.path.join(d, f"voxel_logits.{name}.npy"), logits[name].astype(np.float32))
        np.save(os.path.join(d, f"voxel_labels.{name}.npy"), labels_of(logits[name]))

    # The checkpoint as CUA-O3D writes it (DDP prefix `module.`; no optimizer state, which
    # re-packaged releases may drop as well).
    state = collections.OrderedDict()
    for k, v in sd.items():
        state["module." + k] = torch.from_numpy(np.array(v))
    torch.save({"epoch": 20, "state_dict": state, "best_iou": np.float64(0.25)}, os.path.join(d, "model.pth.tar"))

    meta = {"case": NAME, "arch": a.name, "layers": a.layers, "planes": a.planes, "init_dim": a.init_dim,
            "in_channels": a.in_ch, "heads": [[h, dd] for h, dd in FEATURE_HEADS] + [[n, c] for n, _, c in PROBES],
            "probes": {n: {"inputs": i, "classes": c} for n, i, c in PROBES},
            "voxel_size": voxel_size, "n_points": int(len(points)), "n_voxels": int(len(coords)),
            "input_features": "ones", "checkpoint": "model.pth.tar (torch.save, keys 'module.net3d.*')",
            "points": "make_room_points(seed=9, scale=0.2, density=120)",
            "errors": err, "tie_rel": TIE_REL, "weights_seed": SEED, "versions": versions()}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"[{NAME}] points {len(points)} voxels {len(coords)}; probe errors "
          + ", ".join(f"{n} {err[n]['torch_fp32_vs_me64_rel']:.2e}" for n, _, _ in PROBES))


if __name__ == "__main__":
    main()
