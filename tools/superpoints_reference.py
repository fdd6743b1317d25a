#!/usr/bin/env python3
"""Golden fixtures for ov3d's mesh superpoints: ScanNet's Segmentator run on test meshes.

How to run (pinned: numpy 2.x, Python 3.11+; the reference is ScanNet/ScanNet's Segmentator,
any commit of Segmentator/segmentator.cpp — the algorithm has been unchanged since 2017):

    python3 -m venv .venv-tools && . .venv-tools/bin/activate && pip install numpy==2.4.6
    # build the reference OUTSIDE the repository (its code is not committed here):
    git clone --depth 1 https://github.com/ScanNet/ScanNet /tmp/scannet
    (cd /tmp/scannet/Segmentator && g++ -std=c++11 -O2 -o segmentator segmentator.cpp tinyply.cpp)
    SEGMENTATOR=/tmp/scannet/Segmentator/segmentator python3 tools/superpoints_reference.py [--shared ../shared/data]

It writes into Tests/Fixtures/superpoints/:
  room_clean.ply / room_noisy.ply      generated room meshes (floor, 4 walls, a table, a ball);
                                       "clean" has exact ties (equal normals), "noisy" jittered
  <mesh>.k<kThresh>.m<segMinVerts>.npy the segmentator's segIndices (root vertex per vertex, int32)
for every mesh and parameter set below; with --shared also for PCL's cube.ply and Open3D's
MeshLab-written color.ply from the shared data (those outputs are tiny, so they are committed;
the meshes themselves are not). `generate_mesh(n)` is also used by bench/ for a 150k-vertex room.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

PARAMS = [(0.01, 20), (0.01, 60), (0.002, 5), (0.0005, 1)]


def grid(origin, u, v, nu, nv):
    """A triangulated nu x nv grid of vertices spanning origin + [0,1]u + [0,1]v."""
    a = np.linspace(0, 1, nu)
    b = np.linspace(0, 1, nv)
    A, B = np.meshgrid(a, b, indexing="ij")
    verts = origin + A[..., None] * u + B[..., None] * v
    idx = np.arange(nu * nv).reshape(nu, nv)
    f1 = np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:]], -1).reshape(-1, 3)
    f2 = np.stack([idx[:-1, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 3)
    return verts.reshape(-1, 3), np.concatenate([f1, f2])


def box(lo, hi, n):
    """Five faces (no bottom) of an axis-aligned box, outward normals."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    d = hi - lo
    ex, ey, ez = np.array([d[0], 0, 0]), np.array([0, d[1], 0]), np.array([0, 0, d[2]])
    parts = [grid(lo + ez, ex, ey, n, n),                    # top
             grid(lo, ez, ex, n, n), grid(lo + ey, ex, ez, n, n),  # front / back
             grid(lo, ey, ez, n, n), grid(lo + ex, ez, ey, n, n)]  # left / right
    return parts


def sphere(c, r, n):
    th = np.linspace(0.15, np.pi - 0.15, n)
    ph = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    v = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], -1).reshape(-1, 3) * r + c
    idx = np.arange(n * 2 * n).reshape(n, 2 * n)
    nxt = np.roll(idx, -1, axis=1)
    f1 = np.stack([idx[:-1], idx[1:], nxt[1:]], -1).reshape(-1, 3)
    f2 = np.stack([idx[:-1], nxt[1:], nxt[:-1]], -1).reshape(-1, 3)
    return v, np.concatenate([f1, f2])


def generate_mesh(n, noise, seed=0):
    """A room of about 8 * n^2 vertices: floor, four walls, a table box and a ball."""
    W, D, H = 5.0, 4.0, 2.6
    parts = [grid(np.zeros(3), np.array([W, 0, 0]), np.array([0, D, 0]), 2 * n, 2 * n),  # floor
             grid(np.zeros(3), np.array([0, 0, H]), np.array([W, 0, 0]), n, 2 * n),
             grid(np.array([0, D, 0]), np.array([W, 0, 0]), np.array([0, 0, H]), 2 * n, n),
             grid(np.zeros(3), np.array([0, D, 0]), np.array([0, 0, H]), 2 * n, n),
             grid(np.array([W, 0, 0]), np.array([0, 0, H]), np.array([0, D, 0]), n, 2 * n)]
    parts += box([1.5, 1.2, 0.0], [3.0, 2.4, 0.75], max(4, n // 3))
    parts.append(sphere(np.array([4.0, 3.0, 0.4]), 0.35, max(6, n // 3)))
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    v = np.concatenate(verts).astype(np.float32)
    if noise > 0:
        v += np.random.default_rng(seed).normal(0, noise, v.shape).astype(np.float32)
    return v, np.concatenate(faces).astype(np.int32)


def write_ply(path, v, f):
    with open(path, "wb") as fh:
        fh.write((f"ply\nformat binary_little_endian 1.0\nelement vertex {len(v)}\n"
                  "property float x\nproperty float y\nproperty float z\n"
                  f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n").encode())
        fh.write(np.ascontiguousarray(v, "<f4").tobytes())
        rec = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
        rec["n"] = 3
        rec["i"] = f
        fh.write(rec.tobytes())


def run_reference(exe, ply, k, m):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "mesh.ply")
        shutil.copy(ply, p)
        subprocess.run([exe, p, str(k), str(m)], check=True, stdout=subprocess.DEVNULL)
        out = [x for x in os.listdir(d) if x.endswith(".segs.json")]
        assert len(out) == 1, out
        with open(os.path.join(d, out[0])) as fh:
            return np.array(json.load(fh)["segIndices"], dtype=np.int32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=None, help="../shared/data, to add cube.ply and color.ply")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "superpoints"))
    a = ap.parse_args()
    exe = os.environ.get("SEGMENTATOR")
    if not exe:
        sys.exit("set SEGMENTATOR to the built ScanNet segmentator binary")
    os.makedirs(a.out, exist_ok=True)
    meshes = {}
    for name, noise in [("room_clean", 0.0), ("room_noisy", 0.004)]:
        v, f = generate_mesh(24, noise)
        p = os.path.join(a.out, name + ".ply")
        write_ply(p, v, f)
        meshes[name] = p
    if a.shared:
        meshes["cube"] = os.path.join(a.shared, "pcl_testdata", "cube.ply")
        meshes["open3d_color"] = os.path.join(a.shared, "ply_interop", "open3d_color.ply")
    for name, p in meshes.items():
        for k, m in PARAMS:
            ids = run_reference(exe, p, k, m)
            np.save(os.path.join(a.out, f"{name}.k{k:g}.m{m}.npy"), ids)
            print(name, k, m, "segments:", len(np.unique(ids)), "vertices:", len(ids))


if __name__ == "__main__":
    main()
