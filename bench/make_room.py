#!/usr/bin/env python3
"""Deterministic synthetic indoor room (surface-like sparsity) for MinkUNet benchmarks and
fixtures. No external data: points are sampled on the surfaces of a box room (floor, ceiling,
4 walls) and box/cylinder furniture, with Gaussian surface noise so that surfaces are ~1-2
voxels thick (about 13-14 occupied voxels per 3x3x3 neighbourhood at 2 cm, like real scans).

Usage (numpy only; any Python 3.9+ with numpy>=1.24):
  python3 bench/make_room.py --out room_coords.npy                 # ~108k voxels at 2 cm
  python3 bench/make_room.py --out room_coords.npy --points-out room_points.npy
  python3 bench/make_room.py --scale 0.3 --out small.npy          # smaller room
Writes int32 (N,3) unique voxel coordinates (OpenScene voxeliser, voxel 0.02 m, rows in the
voxeliser's order) and optionally the float32 (M,3) points in metres. Prints voxel count and the
mean number of occupied voxels in each voxel's 3x3x3 neighbourhood (itself included).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from minkunet_fixture import voxelize  # noqa: E402  (numpy only)


def _plane(rng, origin, u, v, density):
    """Points on the parallelogram origin + a*u + b*v, a,b in [0,1)."""
    area = np.linalg.norm(np.cross(u, v))
    n = int(area * density)
    ab = rng.random((n, 2))
    return origin + ab[:, :1] * u + ab[:, 1:] * v


def _box(rng, lo, hi, density, bottom=False):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    d = hi - lo
    ex, ey, ez = np.array([d[0], 0, 0]), np.array([0, d[1], 0]), np.array([0, 0, d[2]])
    faces = [(lo + ez, ex, ey), (lo, ex, ez), (lo + ey, ex, ez), (lo, ey, ez), (lo + ex, ey, ez)]
    if bottom:
        faces.append((lo, ex, ey))
    return np.concatenate([_plane(rng, o, u, v, density) for o, u, v in faces])


def _cylinder(rng, centre, r, h, density):
    n = int(2 * np.pi * r * h * density)
    t = rng.random(n) * 2 * np.pi
    z = rng.random(n) * h
    side = np.stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t), centre[2] + z], 1)
    m = int(np.pi * r * r * density)
    rr = r * np.sqrt(rng.random(m))
    tt = rng.random(m) * 2 * np.pi
    top = np.stack([centre[0] + rr * np.cos(tt), centre[1] + rr * np.sin(tt), np.full(m, centre[2] + h)], 1)
    return np.concatenate([side, top])


def make_room_points(seed=7, scale=0.61, density=12000.0, noise=0.005, yaw=0.35):
    """Open-top room of 4.6 x 3.8 m (times `scale`) with 2.4 m walls on three sides (a scan
    rarely closes the fourth), furniture included.
    density: points per m^2 before noise; noise: std of the Gaussian surface jitter (m)."""
    rng = np.random.default_rng(seed)
    W, D, H = 4.6 * scale, 3.8 * scale, 2.4
    parts = [
        _plane(rng, np.array([0, 0, 0.0]), np.array([W, 0, 0]), np.array([0, D, 0]), density),   # floor
        _plane(rng, np.array([0, D, 0.0]), np.array([W, 0, 0]), np.array([0, 0, H]), density),
        _plane(rng, np.array([0, 0, 0.0]), np.array([0, D, 0]), np.array([0, 0, H]), density),
        _plane(rng, np.array([W, 0, 0.0]), np.array([0, D, 0]), np.array([0, 0, H]), density),
    ]
    n_furn = max(2, int(8 * scale * scale))
    for _ in range(n_furn):
        sx, sy, sz = rng.uniform(0.3, 1.6), rng.uniform(0.3, 1.0), rng.uniform(0.4, 1.2)
        sx, sy = min(sx, W - 0.3), min(sy, D - 0.3)    # small rooms only
        x, y = rng.uniform(0.1, W - sx - 0.1), rng.uniform(0.1, D - sy - 0.1)
        if rng.random() < 0.7:
            parts.append(_box(rng, [x, y, 0], [x + sx, y + sy, sz], density))
        else:
            parts.append(_cylinder(rng, [x + sx / 2, y + sy / 2, 0], min(sx, sy) / 2, sz, density))
    p = np.concatenate(parts)
    p = p + rng.normal(scale=noise, size=p.shape)
    c, s = np.cos(yaw), np.sin(yaw)     # rotate about z (walls not grid-aligned, like a scan)
    p = p @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]).T + np.array([0.0, 0.0, 0.0071])
    rng.shuffle(p, axis=0)
    return p.astype(np.float32)


def neighbour_stat(coords):
    """Mean number of occupied voxels in the 3x3x3 neighbourhood of each voxel (self included)."""
    c = coords.astype(np.int64) + 1
    B = 1 << 20
    key = lambda q: (q[:, 0] * B + q[:, 1]) * B + q[:, 2]
    keys = np.sort(key(c))
    total = 0
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                k = key(c + np.array([dx, dy, dz]))
                pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
                total += int((keys[pos] == k).sum())
    return total / len(c)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="int32 (N,3) voxel coords .npy")
    ap.add_argument("--points-out", help="also write float32 (M,3) points .npy")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.61)
    ap.add_argument("--voxel-size", type=float, default=0.02)
    a = ap.parse_args()
    p = make_room_points(a.seed, a.scale)
    coords, _, _ = voxelize(p, a.voxel_size)
    np.save(a.out, coords.astype(np.int32))
    if a.points_out:
        np.save(a.points_out, p)
    print(f"points {len(p)} voxels {len(coords)} mean occupied 3x3x3 neighbours {neighbour_stat(coords):.2f}")


if __name__ == "__main__":
    main()
