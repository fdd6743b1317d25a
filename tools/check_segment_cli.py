#!/usr/bin/env python3
"""Outside check of `ov3d segment` and `ov3d query` (issue 14), called exactly as the issue fixes
them, on clouds ov3d has not seen, with a real-format MinkUNet18A checkpoint and the real CLIP
label embeddings; labels and scores are compared with this script's own computation from the
network's features, which come from spconv 2.3 (not from ov3d).

What it does:
  1. a MinkUNet18A state dict (512-d `final`) in MinkowskiEngine layout with OpenScene's key
     names, seeded with a seed the fixtures never use (tools/minkunet_common.seeded_state_dict),
     saved the way OpenScene saves its checkpoints: `torch.save({"epoch", "state_dict":
     {"module.net3d.<key>": tensor}}, "model.pth.tar")` (DataParallel prefix);
  2. clouds nobody committed: a ScanNet scene (`scene0002_00`, votenet's 50k subsample from
     ../shared/data) turned by a random angle about z, shifted and jittered (N×6 .npy with
     colours, 2 cm), a random room of boxes as binary PLY (2 cm), and a SemanticKITTI sweep
     subsampled and jittered as a LiDAR .bin (5 cm);
  3. the network's features per voxel from spconv (OpenScene's voxeliser, NumPy float64,
     tests/minkunet_fixture.voxelize), broadcast to the points, L2-normalised, scored against
     the L2-normalised CLIP ViT-B/32 embeddings of the ScanNet-20 labels (float64);
  4. `ov3d segment INPUT --checkpoint M --labels scannet20 --embeddings E --voxel-size S
     --out OUT.ply --out-labels L.npy --out-scores S.npy --png P.png --json` and
     `ov3d query INPUT --checkpoint M --text chair --embedding E1.npy --voxel-size S
     --out-scores Q.npy --out HEAT.ply --png Q.png`;
  5. asserts: labels equal wherever the best two words differ by more than 1e-4 (near ties
     are counted and reported), scores within 1e-4, the heat-map within 1e-4, the JSON counts
     equal the label histogram, the PLY carries `label`/`score` and the names.

Environment: the tools venv (torch 2.13 CPU, spconv 2.3.8, numpy; see tools/minkunet_reference.py).
Run from the repository root (release build recommended; a debug build works, slower):
    python3 tools/check_segment_cli.py --ov3d .build/release/ov3d-tool [--seed 4242] [--keep DIR]
Exit status 0 = every check passed; a summary is printed as JSON on the last line.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))
import minkunet_common as mc  # noqa: E402
import minkunet_fixture as mf  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SCENE = SHARED / "scannet_votenet50k" / "scene0002_00_vert.npy"
KITTI = SHARED / "semantickitti_seq00" / "velodyne" / "000001.bin"
EMB = SHARED / "clip" / "text_embeddings" / "clip_scannet_labels_512.npy"
NAMES = (SHARED / "clip" / "text_embeddings" / "scannet20_labelset.txt")
TIE = 1e-4


def unit(a):
    a = np.asarray(a, np.float64)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return np.divide(a, n, out=np.zeros_like(a), where=n > 0)


def save_openscene_checkpoint(sd, path):
    """OpenScene's format: a dict with the epoch and a DataParallel state dict."""
    state = {"module." + k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    torch.save({"epoch": 100, "state_dict": state, "best_iou": 0.0}, path)


def box_room(rng, n=60000):
    """A random room: floor, four walls and a few boxes, points on their surfaces."""
    w, d, h = rng.uniform(3, 6), rng.uniform(3, 6), 2.6
    pts = []
    def plane(origin, u, v, count):
        a, b = rng.random((count, 1)), rng.random((count, 1))
        return origin + a * u + b * v
    pts.append(plane(np.array([0, 0, 0]), np.array([w, 0, 0]), np.array([0, d, 0]), n // 4))
    for o, u in (([0, 0, 0], [w, 0, 0]), ([0, d, 0], [w, 0, 0]), ([0, 0, 0], [0, d, 0]), ([w, 0, 0], [0, d, 0])):
        pts.append(plane(np.array(o, float), np.array(u, float), np.array([0, 0, h]), n // 10))
    for _ in range(6):
        c = rng.uniform([0.3, 0.3, 0], [w - 0.3, d - 0.3, 0]); s = rng.uniform(0.3, 1.2, 3)
        for axis in range(3):
            for side in (0, 1):
                o = c.copy(); o[axis] += side * s[axis]
                u = np.zeros(3); v = np.zeros(3)
                a1, a2 = [x for x in range(3) if x != axis]
                u[a1] = s[a1]; v[a2] = s[a2]
                pts.append(plane(o, u, v, n // 60))
    p = np.concatenate(pts).astype(np.float32)
    return p + rng.normal(0, 0.003, p.shape).astype(np.float32)


def write_ply(path, xyz, rgb):
    n = len(xyz)
    head = ("ply\nformat binary_little_endian 1.0\ncomment unseen room for check_segment_cli\n"
            f"element vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n").encode()
    rec = np.zeros(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")])
    rec["x"], rec["y"], rec["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    rec["r"], rec["g"], rec["b"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    Path(path).write_bytes(head + rec.tobytes())


def read_ply_labels(path):
    """(labels, scores, comments) of ov3d's segmented PLY (binary LE), parsed here."""
    raw = Path(path).read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end].decode().splitlines()
    comments = [l[len("comment "):] for l in header if l.startswith("comment ")]
    n = int(next(l.split()[2] for l in header if l.startswith("element vertex")))
    types = {"float": "<f4", "uchar": "u1", "int": "<i4", "double": "<f8", "short": "<i2", "ushort": "<u2", "uint": "<u4", "char": "i1"}
    fields = [(l.split()[2], types[l.split()[1]]) for l in header if l.startswith("property ")]
    rec = np.frombuffer(raw[end:end + n * np.dtype(fields).itemsize], dtype=fields)
    return rec["label"], rec["score"], comments


def spconv_point_features(sd, points, voxel):
    a = mc.arch_from_state_dict(sd)
    coords, _, inverse = mf.voxelize(points, voxel)
    net = mc.build_spconv(a, sd)
    ones = np.ones((len(coords), 3), np.float32)
    with torch.no_grad():
        out = net(mc.spconv_input(coords, ones))
    f = out["final"].numpy().astype(np.float64)
    bias = sd.get("net3d.final.bias")
    if bias is not None:              # OpenScene's `final` is a 1x1 convolution with a bias
        f = f + bias.astype(np.float64)
    return f[inverse], len(coords)


def run(cmd):
    t = time.time()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr}")
    return p, time.time() - t


def check_cloud(args, name, path, points, voxel, ckpt, sd, emb, names, d, report):
    feats, voxels = spconv_point_features(sd, points, voxel)
    s = unit(feats) @ unit(emb).T
    ref_l = s.argmax(1)
    ref_s = s[np.arange(len(s)), ref_l]
    top2 = np.sort(s, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > TIE
    L, S, O, P = (d / f"{name}_labels.npy", d / f"{name}_scores.npy", d / f"{name}_seg.ply", d / f"{name}_seg.png")
    p, secs = run([args.ov3d, "segment", path, "--checkpoint", ckpt, "--labels", "scannet20", "--embeddings", EMB,
                   "--voxel-size", voxel, "--out", O, "--out-labels", L, "--out-scores", S, "--png", P, "--json"])
    summary = json.loads(p.stdout)
    labels, scores = np.load(L), np.load(S)
    assert labels.dtype == np.int32 and scores.dtype == np.float32 and labels.shape == (len(points),)
    mism = int((labels[clear] != ref_l[clear]).sum())
    serr = float(np.abs(scores.astype(np.float64) - s[np.arange(len(s)), labels]).max())
    assert mism == 0, f"{name}: {mism} labels differ from spconv's features"
    assert serr < 1e-4, f"{name}: score error {serr}"
    assert summary["points"] == len(points) and summary["voxels"] == voxels, (summary["points"], summary["voxels"], voxels)
    vocab = summary["vocabulary"]          # the names as ov3d encodes them, in the file's order
    assert len(vocab) == len(names) and vocab[4] == names[4] == "chair", vocab
    counts = np.bincount(labels[labels >= 0], minlength=len(names))
    for i, nm in enumerate(vocab):
        assert summary["counts"][nm]["points"] == int(counts[i]), (nm, summary["counts"][nm], counts[i])
    pl, ps, comments = read_ply_labels(O)
    assert np.array_equal(pl.astype(np.int32), labels) and np.allclose(ps, scores, equal_nan=True)
    assert all(f"label {i} {nm}" in comments for i, nm in enumerate(vocab)), comments
    png = P.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png[16:24])
    # The query: "chair" (row 4 of the ScanNet-20 embeddings) as a one-row embedding file.
    word = names.index("chair")
    E1, Q, H, QP = d / f"{name}_chair.npy", d / f"{name}_q.npy", d / f"{name}_heat.ply", d / f"{name}_q.png"
    np.save(E1, emb[word:word + 1].astype(np.float32))
    p, qsecs = run([args.ov3d, "query", path, "--checkpoint", ckpt, "--text", "chair", "--embedding", E1,
                    "--voxel-size", voxel, "--out-scores", Q, "--out", H, "--png", QP])
    heat = np.load(Q)
    herr = float(np.abs(heat.astype(np.float64) - s[:, word]).max())
    assert herr < 1e-4, f"{name}: heat-map error {herr}"
    r = {"points": len(points), "voxels": voxels, "voxel_size": voxel, "label_mismatches": mism,
         "near_ties_skipped": int((~clear).sum()), "max_score_error": serr, "max_heat_error": herr,
         "labels_used": int((counts > 0).sum()), "png": [w, h], "segment_s": round(secs, 2), "query_s": round(qsecs, 2),
         "ov3d_network_ms": summary["timings_ms"]["network"]}
    print(f"{name}: {json.dumps(r)}", flush=True)
    report[name] = r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ov3d", default=str(ROOT / ".build" / "release" / "ov3d-tool"))
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--keep", help="keep the inputs and outputs in this folder")
    ap.add_argument("--clouds", default="scannet,room,lidar")
    args = ap.parse_args()
    for p in (SCENE, KITTI, EMB, NAMES):
        if not p.exists():
            sys.exit(f"check_segment_cli: {p} not found (../shared/data)")
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    names = [l.strip() for l in NAMES.read_text().splitlines() if l.strip()]
    emb = np.load(EMB).astype(np.float64)
    assert emb.shape == (20, 512) and len(names) == 20
    d = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ov3d_check_segment_"))
    d.mkdir(parents=True, exist_ok=True)
    a = mc.arch("18A", heads=(("final", 512),))
    sd = mc.seeded_state_dict(a, seed=args.seed)
    sd["net3d.final.bias"] = mc.weight_values(args.seed, "net3d.final.bias", 512, 0.05, 0.0)
    ckpt = d / "model.pth.tar"
    save_openscene_checkpoint(sd, ckpt)
    report = {"seed": args.seed, "checkpoint": "OpenScene format: {epoch, state_dict: module.net3d.*} torch.save",
              "versions": {"torch": torch.__version__, "numpy": np.__version__}}
    which = args.clouds.split(",")
    if "scannet" in which:
        v = np.load(SCENE).astype(np.float64)
        ang = rng.uniform(0, 2 * np.pi)
        R = np.array([[np.cos(ang), -np.sin(ang), 0], [np.sin(ang), np.cos(ang), 0], [0, 0, 1]])
        xyz = v[:, :3] @ R.T + rng.uniform(-5, 5, 3) + rng.normal(0, 0.002, (len(v), 3))
        cloud = np.concatenate([xyz, v[:, 3:6]], 1).astype(np.float32)
        path = d / "scannet_unseen.npy"
        np.save(path, cloud)
        check_cloud(args, "scannet", path, cloud[:, :3], 0.02, ckpt, sd, emb, names, d, report)
    if "room" in which:
        xyz = box_room(rng)
        rgb = rng.integers(0, 256, (len(xyz), 3), dtype=np.uint8)
        path = d / "room_unseen.ply"
        write_ply(path, xyz, rgb)
        check_cloud(args, "room", path, xyz, 0.02, ckpt, sd, emb, names, d, report)
    if "lidar" in which:
        k = np.fromfile(KITTI, "<f4").reshape(-1, 4)
        k = k[rng.random(len(k)) < 0.5]
        k[:, :3] += rng.normal(0, 0.01, (len(k), 3)).astype(np.float32)
        path = d / "lidar_unseen.bin"
        k.astype("<f4").tofile(path)
        check_cloud(args, "lidar", path, k[:, :3], 0.05, ckpt, sd, emb, names, d, report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
