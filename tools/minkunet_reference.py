#!/usr/bin/env python3
"""Golden fixtures for the MinkUNet / sparse-convolution engine (issue 3).

Environment (CPU only; never needed by CI or at run time):
    python3 -m venv .venv-tools && . .venv-tools/bin/activate
    pip install torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu
    pip install numpy==2.4.6 safetensors==0.8.0 spconv==2.3.8 cumm==0.7.11
    (spconv/cumm are the CPU packages; pin torch first or pip fetches a CUDA build).
    The committed fixtures were generated with the versions recorded in each case's meta.json
    ("versions": the shared venv had torch 2.15.0+cu132, run on CPU, spconv 2.3.8, cumm 0.7.11,
    numpy 2.4.6); the outputs depend on the torch build only through float32 rounding (~1e-7),
    and the script re-checks every output against a float64 reference before writing.

Run (from the repository root; ../shared/data is needed only for the real-scene cases, which
are skipped with a message when it is absent):
    python3 tools/minkunet_reference.py --out Tests/Fixtures/minkunet
    python3 tools/minkunet_reference.py --out /tmp/mk --cases synth_18a_full   # one case

What it does, per case (details in Tests/Fixtures/minkunet/README.md):
  1. points -> OpenScene voxeliser (NumPy, float64, shift to min 0, FNV-1 hash, first point per
     voxel, inverse map; tools/minkunet_common.py:voxelize).
  2. deterministic weights in MinkowskiEngine layout with the real OpenScene key names
     (`net3d.` prefix; tools/minkunet_common.py:seeded_state_dict).
  3. the network in spconv 2.3 (SubMConv3d k5/k3/k1, SparseConv3d k2s2, SparseInverseConv3d
     with the down layer's indice_key, BatchNorm1d eval, ReLU, residual, concat, 1x1 heads),
     1 thread; spatial shape padded to multiples of 16.
  4. an independent plain-PyTorch gather-GEMM-scatter implementation of ME semantics written
     from the spec (kernel maps by coordinate-key lookup), in float64 and float32.
  5. asserts spconv(fp32) == ME-reference(fp64) within 1e-5 relative (max-abs) and identical
     argmax labels, then writes spconv's outputs as the golden values.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
from minkunet_common import (MEReference, arch, build_spconv, bytes_digest, rel_maxabs, spconv_pair_counts,  # noqa: E402
                             save_safetensors, seeded_state_dict, spconv_input, voxelize)
from make_room import make_room_points, neighbour_stat  # noqa: E402

SEED = 20261122
TIE_REL = 1e-4   # labels whose top-2 gap is below TIE_REL * max|row| are stored as -1


def versions():
    import spconv
    import safetensors
    return {"torch": torch.__version__, "spconv": spconv.__version__, "numpy": np.__version__,
            "safetensors": safetensors.__version__, "python": sys.version.split()[0]}


def labels_of(f):
    """argmax per row; -1 where the top-2 gap is a near tie."""
    f = np.asarray(f, dtype=np.float64)
    top2 = np.sort(f, axis=1)[:, -2:] if f.shape[1] > 1 else np.concatenate([f - 1, f], 1)
    lab = f.argmax(1).astype(np.int32)
    gap = top2[:, 1] - top2[:, 0]
    lab[gap < TIE_REL * np.abs(f).max(1)] = -1
    return lab


def weights_digest(sd):
    """Spot values of every tensor (as float32 bit patterns) + float64 sum, to check a
    re-implementation of the seeded generator without committing large weights."""
    out = {}
    for k, v in sd.items():
        flat = np.asarray(v).reshape(-1)
        if flat.dtype == np.float32:
            idx = sorted(set([0, 1, 2, 3, len(flat) // 2, len(flat) - 1]))
            out[k] = {"shape": list(np.shape(v)), "dtype": "F32", "sum_f64": float(flat.astype(np.float64).sum()),
                      "spot_index": idx, "spot_bits": [int(flat[i:i + 1].view(np.uint32)[0]) for i in idx]}
        else:
            out[k] = {"shape": list(np.shape(v)), "dtype": "I64", "value": int(flat[0])}
    return out


def run_networks(a, sd, coords, feats):
    """Returns (spconv outputs, ME fp64 outputs, ME fp32 outputs, ME fp64 reference object,
    timings). Asserts agreement."""
    t = {}
    ref64 = MEReference(a, sd, dtype=torch.float64)
    ref64.setup(coords)
    t0 = time.time()
    o64 = {k: v.numpy() for k, v in ref64.forward(feats).items()}
    t["me_fp64_s"] = time.time() - t0
    ref32 = MEReference(a, sd, dtype=torch.float32)
    ref32.setup(coords)
    t0 = time.time()
    o32 = {k: v.numpy() for k, v in ref32.forward(feats).items()}
    t["me_fp32_s"] = time.time() - t0
    net = build_spconv(a, sd)
    with torch.no_grad():
        t0 = time.time()
        osp = {k: v.numpy().copy() for k, v in net(spconv_input(coords, feats)).items()}
        t["spconv_s"] = time.time() - t0
    me_counts = ref64.kernel_map_counts()
    sp_counts = spconv_pair_counts(net)
    for k, v in sp_counts.items():
        me = me_counts[k]
        if k.endswith("_subm"):
            # spconv's submanifold maps store one offset of each symmetric pair (d, -d) and
            # leave the other (and the centre) at 0; every stored count must equal ME's.
            # (checked for every offset but the centre, which spconv handles without pairs).
            pair_ok = (v == me) | (v[::-1] == me[::-1])
            pair_ok[len(me) // 2] = True
            ok = bool(((v == me) | (v == 0)).all()) and bool(pair_ok.all())
        else:
            ok = np.array_equal(v, me)
        assert ok, f"kernel map {k}: spconv {v.tolist()} vs ME {me.tolist()}"
    t["spconv_checked_maps"] = sorted(sp_counts)
    err = {}
    for h in o64:
        assert osp[h].shape == o64[h].shape, (h, osp[h].shape, o64[h].shape)
        e_sp = rel_maxabs(osp[h], o64[h])
        e_32 = rel_maxabs(o32[h], o64[h])
        err[h] = {"spconv_vs_me64_rel": e_sp[0], "spconv_vs_me64_abs": e_sp[1],
                  "me32_vs_me64_rel": e_32[0], "me32_vs_me64_abs": e_32[1],
                  "max_abs_value": float(np.abs(o64[h]).max())}
        assert e_sp[0] < 1e-5, f"spconv disagrees with the ME reference on {h}: {e_sp}"
        assert e_32[0] < 1e-5, f"fp32 ME reference disagrees with fp64 on {h}: {e_32}"
        l_sp, l_64 = labels_of(osp[h]), labels_of(o64[h])
        ok = (l_sp >= 0) & (l_64 >= 0)
        assert (l_sp[ok] == l_64[ok]).all(), f"argmax labels differ on {h}"
    return osp, o64, ref64, t, err


def case_meta(name, a, voxel_size, n_points, coords, ref, t, err, extra):
    m = {"case": name, "arch": a.name, "layers": a.layers, "planes": a.planes, "init_dim": a.init_dim,
         "in_channels": a.in_ch, "heads": [[h, d] for h, d in a.heads], "voxel_size": voxel_size,
         "n_points": int(n_points), "n_voxels": int(len(coords)),
         "voxels_per_stride": {str(ts): len(ref.maps[ts]) for ts in (1, 2, 4, 8, 16)},
         "flops": int(ref.flops()), "kernel_map_counts": {k: v.tolist() for k, v in ref.kernel_map_counts().items()},
         "errors": err, "timings_1thread": t, "tie_rel": TIE_REL, "weights_seed": SEED,
         "versions": versions()}
    m.update(extra)
    return m


def write_common(d, a, sd, osp, coords, inverse, inds, feats_kind, feats, with_weights):
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "coords.npy"), coords.astype(np.int32))
    np.save(os.path.join(d, "inverse.npy"), inverse.astype(np.int32))
    np.save(os.path.join(d, "inds.npy"), inds.astype(np.int32))
    if feats_kind != "ones":
        np.save(os.path.join(d, "input_features.npy"), feats.astype(np.float32))
    for i, (h, _) in enumerate(a.heads):
        suffix = "" if i == 0 else "." + h
        np.save(os.path.join(d, f"voxel_features{suffix}.npy"), osp[h].astype(np.float32))
    h0 = a.heads[0][0]
    np.save(os.path.join(d, "voxel_labels.npy"), labels_of(osp[h0]))
    if with_weights:
        save_safetensors(os.path.join(d, "weights.safetensors"), sd,
                         metadata={"arch": a.name, "seed": str(SEED), "layout": "MinkowskiEngine"})
    else:
        with open(os.path.join(d, "weights_digest.json"), "w") as f:
            json.dump(weights_digest(sd), f, indent=0)


def synth_case(out, name, a, points, voxel_size, feats_kind, with_weights, point_features=False):
    coords, inds, inverse = voxelize(points, voxel_size)
    rng = np.random.default_rng(SEED + 1)
    feats = (np.ones((len(coords), a.in_ch), np.float32) if feats_kind == "ones"
             else rng.uniform(-1, 1, size=(len(coords), a.in_ch)).astype(np.float32))
    sd = seeded_state_dict(a, SEED)
    osp, o64, ref, t, err = run_networks(a, sd, coords, feats)
    d = os.path.join(out, name)
    write_common(d, a, sd, osp, coords, inverse, inds, feats_kind, feats, with_weights)
    np.save(os.path.join(d, "points.npy"), points.astype(np.float32))
    h0 = a.heads[0][0]
    if point_features:
        np.save(os.path.join(d, "point_features.npy"), osp[h0][inverse].astype(np.float32))
    np.save(os.path.join(d, "point_labels.npy"), labels_of(osp[h0])[inverse])
    meta = case_meta(name, a, voxel_size, len(points), coords, ref, t, err,
                     {"input_features": feats_kind, "points": "points.npy (synthetic, bench/make_room.py)",
                      "weights": "weights.safetensors" if with_weights else "seeded generator (weights_digest.json)",
                      "neighbours_3x3x3_mean": neighbour_stat(coords)})
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"[{name}] voxels {len(coords)} points {len(points)} flops {meta['flops'] / 1e9:.3f} G errors {err[h0]}")


def scene_case(out, name, a, scene_path, voxel_size, weights_ref, n_sample=256, all_labels=True):
    """Real ScanNet scene: the scene is NOT copied; only hashes, small samples and labels."""
    v = np.load(scene_path)
    points = v[:, :3]
    coords, inds, inverse = voxelize(points, voxel_size)
    feats = np.ones((len(coords), a.in_ch), np.float32)
    sd = seeded_state_dict(a, SEED)
    osp, o64, ref, t, err = run_networks(a, sd, coords, feats)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(SEED + 2)
    prow = np.sort(rng.choice(len(points), size=min(n_sample, len(points)), replace=False)).astype(np.int64)
    vrow = np.sort(rng.choice(len(coords), size=min(n_sample, len(coords)), replace=False)).astype(np.int64)
    h0 = a.heads[0][0]
    np.save(os.path.join(d, "sample_point_rows.npy"), prow)
    np.save(os.path.join(d, "sample_point_features.npy"), osp[h0][inverse[prow]].astype(np.float32))
    np.save(os.path.join(d, "sample_voxel_rows.npy"), vrow)
    np.save(os.path.join(d, "sample_voxel_coords.npy"), coords[vrow].astype(np.int32))
    np.save(os.path.join(d, "sample_voxel_features.npy"), osp[h0][vrow].astype(np.float32))
    np.save(os.path.join(d, "sample_point_labels.npy"), labels_of(osp[h0])[inverse[prow]])
    if all_labels:
        np.save(os.path.join(d, "point_labels.npy"), labels_of(osp[h0])[inverse])
    if weights_ref is None:
        with open(os.path.join(d, "weights_digest.json"), "w") as f:
            json.dump(weights_digest(sd), f, indent=0)
    digests = {}
    for nm, arr in (("coords_int32", coords.astype(np.int32)), ("inverse_int32", inverse.astype(np.int32)),
                    ("inds_int32", inds.astype(np.int32))):
        sha, fnv = bytes_digest(arr)
        digests[nm] = {"sha256": sha, "fnv1a64": fnv, "shape": list(arr.shape)}
    meta = case_meta(name, a, voxel_size, len(points), coords, ref, t, err,
                     {"input_features": "ones",
                      "points": "../shared/data/" + os.path.relpath(scene_path, SHARED) + " columns 0:3 (float32, not copied)",
                      "weights": weights_ref or "seeded generator (weights_digest.json)",
                      "digests": digests, "neighbours_3x3x3_mean": neighbour_stat(coords)})
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"[{name}] voxels {len(coords)} points {len(points)} flops {meta['flops'] / 1e9:.3f} G errors {err[h0]}")


def tiny_corner_points(seed, n):
    """n points from a 26 cm cube around a corner of the synthetic room where the floor and two
    walls meet (room of bench/make_room.py at scale 0.3, yaw 0.35 rad about the origin)."""
    rng = np.random.default_rng(seed)
    scale, yaw = 0.3, 0.35
    p = make_room_points(seed=seed, scale=scale).astype(np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    corner = np.array([-s * 3.8 * scale, c * 3.8 * scale, 0.0])   # R @ (0, D, 0)
    q = p[np.abs(p - corner).max(axis=1) < 0.13]
    assert len(q) >= n, len(q)
    return q[rng.choice(len(q), size=n, replace=False)].astype(np.float32)


SHARED = None
# 18A structure, widths / 8, three heads (CUA-O3D head names); shared by room_18a_w8 and
# scene0000_18a_w8 (same seeded weights -> one committed weights file)
ARCH_18A_W8 = arch("18A").scaled(8, [("final", 16), ("final_dinov2", 8), ("final_sd", 12)])


def main():
    global SHARED
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default="all")
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared", "data"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    SHARED = os.path.abspath(args.shared)
    sel = None if args.cases == "all" else set(args.cases.split(","))
    want = lambda n: sel is None or n in sel

    if want("synth_18a_full"):
        # full-width MinkUNet18A, 512-d head, tiny cloud; weights from the seeded generator
        synth_case(args.out, "synth_18a_full", arch("18A"), tiny_corner_points(11, 300), 0.02, "ones", False,
                   point_features=True)
    if want("room_18a_w8"):
        # 18A structure, widths / 8, three heads (CUA-O3D style names), random input features,
        # small synthetic room at 5 cm
        pts = make_room_points(seed=3, scale=0.3, density=450.0)
        synth_case(args.out, "room_18a_w8", ARCH_18A_W8, pts, 0.05, "random", True)
    if want("room_34c_w16"):
        a = arch("34C").scaled(16, [("final", 8)])
        pts = make_room_points(seed=5, scale=0.25, density=400.0)
        synth_case(args.out, "room_34c_w16", a, pts, 0.05, "random", True)
    scene = os.path.join(SHARED, "scannet_votenet50k", "scene0000_00_vert.npy")
    if want("scene0000_18a_w8") or want("scene0000_18a_full"):
        if not os.path.exists(scene):
            print(f"SKIP real-scene cases: {scene} not found (../shared/data is not available)")
        else:
            if want("scene0000_18a_w8"):
                scene_case(args.out, "scene0000_18a_w8", ARCH_18A_W8, scene, 0.02, "../room_18a_w8/weights.safetensors")
            if want("scene0000_18a_full"):
                scene_case(args.out, "scene0000_18a_full", arch("18A"), scene, 0.02, None, n_sample=32,
                           all_labels=False)


if __name__ == "__main__":
    main()
