#!/usr/bin/env python3
"""NumPy reference of OpenScene multi-view 2D->3D feature fusion, written from the spec
(../shared/reference/openscene-pipeline.md §6.1), and the generator of the fusion fixtures.

How to run (pinned versions; no PyTorch needed):
    python3 -m venv /tmp/venv-fusion && . /tmp/venv-fusion/bin/activate
    pip install numpy==2.4.6 pillow==13.0.0
    python3 tools/fusion_reference.py --make-fixtures Tests/Fixtures/fusion   # needs ../shared/data

What it does, per dataset (ScanNet scene0378_00, 25 frames; 7-Scenes redkitchen, 30 frames):
  * reconstructs a point cloud of the scene by back-projecting a subsampled depth grid of
    every 5th frame with its camera-to-world pose (plus a few points behind / outside the
    cameras), float32;
  * builds a deterministic synthetic feature map per frame (integer hash -> values k/1024-0.5,
    exact in float16 and float32) at a resolution different from the depth image
    (ScanNet 320x240 from 640x480 depth; 7-Scenes 200x150, a non-integer ratio);
  * fuses with vis_thres 0.25, cut 10 px, depth_scale 1000 and writes the fixtures:
    points.npy, poses.npy (F,4,4 f64), intrinsics.npy (F,4 f64: fx fy cx cy), counts.npy (N u8),
    corr.npy (F,2 u64: visible count, checksum of the per-frame correspondences),
    fused_rows.npy (every 5th point, f32), fused_rowsum.npy (N f64), meta.json.

The algorithm (the Swift implementation FusionSession follows it operation by operation):
  w2c = inverse of the camera-to-world pose (the cofactor expression of invert4x4 below);
  per point (float64): xc,yc,zc = w2c[:3,:3] p + w2c[:3,3]; require zc > 0;
  u = round_half_even(xc*fx/zc + cx), v likewise; cut <= u < W-cut, cut <= v < H-cut;
  d = depth[v,u]/depth_scale; visible iff |d - zc| <= vis*d;
  feature pixel u' = ((2u+1)*W') // (2W), v' = ((2v+1)*H') // (2H) (the feature pixel that
  contains the depth pixel's centre); sum += f (float32), count += 1; fused = sum/count.
"""
import argparse
import json
import os
import sys

import numpy as np

MASK32 = np.uint64(0xFFFFFFFF)


def invert4x4(m):
    """General 4x4 inverse by 2x2 sub-determinants; same expressions as CameraPose.invert4x4."""
    m = [float(x) for x in np.asarray(m, dtype=np.float64).reshape(16)]
    s0 = m[0] * m[5] - m[4] * m[1]
    s1 = m[0] * m[6] - m[4] * m[2]
    s2 = m[0] * m[7] - m[4] * m[3]
    s3 = m[1] * m[6] - m[5] * m[2]
    s4 = m[1] * m[7] - m[5] * m[3]
    s5 = m[2] * m[7] - m[6] * m[3]
    c5 = m[10] * m[15] - m[14] * m[11]
    c4 = m[9] * m[15] - m[13] * m[11]
    c3 = m[9] * m[14] - m[13] * m[10]
    c2 = m[8] * m[15] - m[12] * m[11]
    c1 = m[8] * m[14] - m[12] * m[10]
    c0 = m[8] * m[13] - m[12] * m[9]
    det = s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0
    d = 1 / det
    return np.array([
        (m[5] * c5 - m[6] * c4 + m[7] * c3) * d,
        (-m[1] * c5 + m[2] * c4 - m[3] * c3) * d,
        (m[13] * s5 - m[14] * s4 + m[15] * s3) * d,
        (-m[9] * s5 + m[10] * s4 - m[11] * s3) * d,
        (-m[4] * c5 + m[6] * c2 - m[7] * c1) * d,
        (m[0] * c5 - m[2] * c2 + m[3] * c1) * d,
        (-m[12] * s5 + m[14] * s2 - m[15] * s1) * d,
        (m[8] * s5 - m[10] * s2 + m[11] * s1) * d,
        (m[4] * c4 - m[5] * c2 + m[7] * c0) * d,
        (-m[0] * c4 + m[1] * c2 - m[3] * c0) * d,
        (m[12] * s4 - m[13] * s2 + m[15] * s0) * d,
        (-m[8] * s4 + m[9] * s2 - m[11] * s0) * d,
        (-m[4] * c3 + m[5] * c1 - m[6] * c0) * d,
        (m[0] * c3 - m[1] * c1 + m[2] * c0) * d,
        (-m[12] * s3 + m[13] * s1 - m[14] * s0) * d,
        (m[8] * s3 - m[9] * s1 + m[10] * s0) * d,
    ], dtype=np.float64).reshape(4, 4)


def quat_to_pose(t, q):
    """TUM (tx ty tz, qx qy qz qw) -> camera-to-world 4x4 (same expressions as CameraPose)."""
    x, y, z, w = [float(v) for v in q]
    n = (x * x + y * y + z * z + w * w) ** 0.5
    x, y, z, w = x / n, y / n, z / n, w / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w), t[0]],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w), t[1]],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y), t[2]],
        [0, 0, 0, 1]], dtype=np.float64)


def project(points, depth, K, pose, Wf, Hf, vis_thres=0.25, cut=10, depth_scale=1000.0):
    """Returns (point indices, depth pixel indices, feature pixel indices) of visible points."""
    H, W = depth.shape
    fx, fy, cx, cy = K
    m = invert4x4(pose).reshape(16)
    X = points[:, 0].astype(np.float64)
    Y = points[:, 1].astype(np.float64)
    Z = points[:, 2].astype(np.float64)
    zc = m[8] * X + m[9] * Y + m[10] * Z + m[11]
    xc = m[0] * X + m[1] * Y + m[2] * Z + m[3]
    yc = m[4] * X + m[5] * Y + m[6] * Z + m[7]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.round(xc * fx / zc + cx)
        v = np.round(yc * fy / zc + cy)
    ok = (zc > 0) & (u >= cut) & (u < W - cut) & (v >= cut) & (v < H - cut)
    idx = np.nonzero(ok)[0]
    ui = u[idx].astype(np.int64)
    vi = v[idx].astype(np.int64)
    d = depth[vi, ui].astype(np.float64) / depth_scale
    vis = np.abs(d - zc[idx]) <= vis_thres * d
    idx, ui, vi = idx[vis], ui[vis], vi[vis]
    uf = ((2 * ui + 1) * Wf) // (2 * W)
    vf = ((2 * vi + 1) * Hf) // (2 * H)
    return idx, vi * W + ui, vf * Wf + uf


def fuse(points, frames, vis_thres=0.25, cut=10, depth_scale=1000.0, keep_corr=False):
    """frames: iterable of (depth HxW uint16, K=(fx,fy,cx,cy), pose 4x4, features H'xW'xC float32)."""
    n = points.shape[0]
    sums = None
    counts = np.zeros(n, dtype=np.float32)
    corr = []
    for depth, K, pose, feat in frames:
        Hf, Wf, C = feat.shape
        if sums is None:
            sums = np.zeros((n, C), dtype=np.float32)
        idx, dpx, fpx = project(points, depth, K, pose, Wf, Hf, vis_thres, cut, depth_scale)
        flat = feat.reshape(Hf * Wf, C).astype(np.float32)
        sums[idx] += flat[fpx]
        counts[idx] += 1
        if keep_corr:
            corr.append((idx, dpx, fpx))
    fused = np.zeros_like(sums)
    seen = counts > 0
    fused[seen] = sums[seen] / counts[seen][:, None]
    return fused, counts.astype(np.uint32), corr


def synthetic_features(frame, Hf, Wf, C):
    """Deterministic feature map: value = (hash & 1023)/1024 - 0.5 (exact in f16 and f32).
    Keep in sync with the Swift test helper `syntheticFeatures`."""
    y, x, c = np.meshgrid(np.arange(Hf, dtype=np.uint64), np.arange(Wf, dtype=np.uint64),
                          np.arange(C, dtype=np.uint64), indexing="ij")
    h = (x * np.uint64(73856093)) ^ (y * np.uint64(19349663)) ^ (c * np.uint64(83492791)) ^ (np.uint64(frame) * np.uint64(2654435761))
    h &= MASK32
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & MASK32
    h ^= h >> np.uint64(12)
    h = (h * np.uint64(0x297A2D39)) & MASK32
    h ^= h >> np.uint64(15)
    return ((h & np.uint64(1023)).astype(np.float32) / np.float32(1024) - np.float32(0.5)).astype(np.float32)


def corr_checksum(idx, dpx, fpx):
    """Order-independent checksum of (point, depth pixel, feature pixel) triples, mod 2^64.
    Keep in sync with the Swift test helper `correspondenceChecksum`."""
    a = idx.astype(np.uint64)
    b = dpx.astype(np.uint64) + np.uint64(1)
    c = fpx.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        h = (a * np.uint64(0x9E3779B97F4A7C15)) ^ (b * np.uint64(0xC2B2AE3D27D4EB4F)) ^ (c * np.uint64(0x165667B19E3779F9))
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
        return int(np.sum(h, dtype=np.uint64))


def read_depth(path):
    from PIL import Image
    a = np.array(Image.open(path))
    assert a.dtype in (np.int32, np.uint16, np.int64) and a.ndim == 2, (path, a.dtype, a.shape)
    return a.astype(np.uint16)


def load_scannet(root, n_frames=25):
    K = np.loadtxt(os.path.join(root, "intrinsic.txt"))[:3, :3]
    rows = np.loadtxt(os.path.join(root, "gt_pose.txt"))
    frames = []
    for i in range(n_frames):
        r = rows[i]
        pose = quat_to_pose(r[1:4], r[4:8])
        frames.append(("scannet_frames_scene0378_00/depth/frame_%05d.png" % i,
                       (K[0, 0], K[1, 1], K[0, 2], K[1, 2]), pose))
    return frames


def load_7scenes(root, n_frames=30):
    K = np.loadtxt(os.path.join(root, "camera-intrinsics.txt"))
    frames = []
    for i in range(n_frames):
        pose = np.loadtxt(os.path.join(root, "frame-%06d.pose.txt" % (10 * i)))
        frames.append(("7scenes_redkitchen/frame-%06d.depth.png" % (10 * i), (K[0, 0], K[1, 1], K[0, 2], K[1, 2]), pose))
    return frames


def reconstruct(shared, frames, step=5, grid=8, extra_seed=7, depth_scale=1000.0):
    """Back-projects a grid-subsampled depth of every `step`-th frame into the world (float32),
    plus 200 points behind / beside the cameras (exercise the rejections)."""
    pts = []
    for rel, (fx, fy, cx, cy), pose in frames[::step]:
        d = read_depth(os.path.join(shared, rel)).astype(np.float64) / depth_scale
        H, W = d.shape
        vv, uu = np.meshgrid(np.arange(grid // 2, H, grid), np.arange(grid // 2, W, grid), indexing="ij")
        z = d[vv, uu]
        ok = z > 0
        z, uu, vv = z[ok], uu[ok], vv[ok]
        cam = np.stack([(uu - cx) * z / fx, (vv - cy) * z / fy, z, np.ones_like(z)], 0)
        pts.append((pose @ cam)[:3].T)
    p = np.concatenate(pts, 0)
    rng = np.random.default_rng(extra_seed)
    lo, hi = p.min(0), p.max(0)
    extra = rng.uniform(lo - 2.0, hi + 2.0, size=(200, 3))
    return np.concatenate([p, extra], 0).astype(np.float32)


DATASETS = {
    "scannet0378": dict(loader=load_scannet, dir="scannet_frames_scene0378_00", feat=(240, 320), C=8, feat_dtype="float32"),
    "7scenes_redkitchen": dict(loader=load_7scenes, dir="7scenes_redkitchen", feat=(150, 200), C=8, feat_dtype="float16"),
}


def make_fixtures(out_root, shared):
    for name, cfg in DATASETS.items():
        out = os.path.join(out_root, name)
        os.makedirs(out, exist_ok=True)
        frames = cfg["loader"](os.path.join(shared, cfg["dir"]))
        points = reconstruct(shared, frames)
        Hf, Wf = cfg["feat"]
        C = cfg["C"]
        fr = [(read_depth(os.path.join(shared, rel)), K, pose, synthetic_features(i, Hf, Wf, C))
              for i, (rel, K, pose) in enumerate(frames)]
        fused, counts, corr = fuse(points, fr, keep_corr=True)
        assert counts.max() <= 255
        np.save(os.path.join(out, "points.npy"), points)
        np.save(os.path.join(out, "poses.npy"), np.stack([p for _, _, p in frames]).astype(np.float64))
        np.save(os.path.join(out, "intrinsics.npy"), np.array([K for _, K, _ in frames], dtype=np.float64))
        np.save(os.path.join(out, "counts.npy"), counts.astype(np.uint8))
        np.save(os.path.join(out, "corr.npy"), np.array([[len(i), corr_checksum(i, d, f)] for i, d, f in corr], dtype=np.uint64))
        np.save(os.path.join(out, "fused_rows.npy"), fused[::5].copy())
        np.save(os.path.join(out, "fused_rowsum.npy"), fused.astype(np.float64).sum(1))
        meta = dict(dataset_dir=cfg["dir"], depth=[rel for rel, _, _ in frames], feature_height=Hf, feature_width=Wf,
                    channels=C, feature_dtype=cfg["feat_dtype"], visibility_threshold=0.25, cut_bound=10,
                    depth_scale=1000.0, points=int(points.shape[0]), seen=int((counts > 0).sum()),
                    row_stride=5, numpy=np.__version__)
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"{name}: {points.shape[0]} points, {len(frames)} frames, seen {int((counts > 0).sum())}, "
              f"mean views {counts[counts > 0].mean():.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make-fixtures", metavar="DIR")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
    a = ap.parse_args()
    if a.make_fixtures:
        make_fixtures(a.make_fixtures, a.shared)
    else:
        ap.print_help()


if __name__ == "__main__":
    sys.exit(main())
