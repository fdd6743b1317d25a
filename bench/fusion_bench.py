#!/usr/bin/env python3
"""Throughput of multi-view fusion: 640x480 depth frames onto a 150k-point cloud, ov3d (C ABI
online session, via ctypes) beside the NumPy reference (tools/fusion_reference.py) in the same run.

How to run (numpy==2.4.6 pillow==13.0.0; needs ../shared/data):
    swift build -c release --product ov3d
    nice python3 bench/fusion_bench.py --lib .build/release/libov3d.so [--channels 16 512] [--threads 1 2]
Metric: points x frames / second, from wall time and from process CPU time (the machine is
shared, so wall time includes waiting for a core; CPU time of threads=1 is the steadier number) (each frame projects and depth-tests every point, then gathers
the C-channel feature of the visible ones). Frames: the 25 real ScanNet scene0378_00 frames
(640x480 depth, mm); feature maps 320x240xC float32 (deterministic synthetic values); points: the
scene reconstructed by back-projecting the frames' depth, 150,000 points. Best of --repeats runs.
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fusion_reference as ref  # noqa: E402


class Points(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("color_order", ctypes.c_uint32), ("count", ctypes.c_size_t),
                ("xyz", ctypes.c_void_p), ("xyz_stride", ctypes.c_size_t), ("rgb", ctypes.c_void_p),
                ("rgb_stride", ctypes.c_size_t), ("normals", ctypes.c_void_p), ("normals_stride", ctypes.c_size_t),
                ("intensity", ctypes.c_void_p), ("intensity_stride", ctypes.c_size_t)]


class FusionParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("depth_width", ctypes.c_int32), ("depth_height", ctypes.c_int32),
                ("feature_width", ctypes.c_int32), ("feature_height", ctypes.c_int32), ("feature_dim", ctypes.c_int32),
                ("cut_bound", ctypes.c_int32), ("n_threads", ctypes.c_int32),
                ("visibility_threshold", ctypes.c_double), ("depth_scale", ctypes.c_double)]


def bind(lib):
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.ov3d_fusion_default_params.restype = FusionParams
    lib.ov3d_last_error.restype = ctypes.c_char_p
    lib.ov3d_fusion_create.argtypes = [vp, vp, vp]
    lib.ov3d_fusion_add_frame.argtypes = [vp, vp, sz, vp, sz, ctypes.c_int32, vp, vp, vp]
    lib.ov3d_fusion_snapshot.argtypes = [vp, vp, sz, vp, sz, vp, sz]
    lib.ov3d_fusion_free.argtypes = [vp]
    lib.ov3d_fusion_free.restype = None


def ov3d_fuse(lib, points, frames, C, threads):
    p = lib.ov3d_fusion_default_params()
    p.feature_width, p.feature_height, p.feature_dim, p.n_threads = 320, 240, C, threads
    pts = Points(ctypes.sizeof(Points), 0, points.shape[0], points.ctypes.data, 0, None, 0, None, 0, None, 0)
    h = ctypes.c_void_p()
    t0, c0 = time.perf_counter(), time.process_time()
    assert lib.ov3d_fusion_create(ctypes.byref(pts), ctypes.byref(p), ctypes.byref(h)) == 0, lib.ov3d_last_error()
    for depth, K, pose, feat in frames:
        intr = np.array([K[0], 0, K[2], 0, K[1], K[3], 0, 0, 1], dtype=np.float64)
        pose = np.ascontiguousarray(pose, dtype=np.float64)
        rc = lib.ov3d_fusion_add_frame(h, depth.ctypes.data, ctypes.c_size_t(depth.size), feat.ctypes.data,
                                       ctypes.c_size_t(feat.size), 0, intr.ctypes.data, pose.ctypes.data, None)
        assert rc == 0, lib.ov3d_last_error()
    out = np.zeros((points.shape[0], C), dtype=np.float32)
    mask = np.zeros(points.shape[0], dtype=np.uint8)
    assert lib.ov3d_fusion_snapshot(h, out.ctypes.data, ctypes.c_size_t(out.size), mask.ctypes.data,
                                    ctypes.c_size_t(mask.size), None, ctypes.c_size_t(0)) == 0
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    lib.ov3d_fusion_free(h)
    return (dt, dc), out, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(ROOT, ".build/release/libov3d.so"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--points", type=int, default=150_000)
    ap.add_argument("--channels", type=int, nargs="+", default=[16, 512])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    lib = ctypes.CDLL(a.lib)
    bind(lib)
    meta = ref.load_scannet(os.path.join(a.shared, "scannet_frames_scene0378_00"))
    cloud = ref.reconstruct(a.shared, meta, step=1, grid=6)
    rng = np.random.default_rng(0)
    points = np.ascontiguousarray(cloud[rng.choice(cloud.shape[0], a.points, replace=cloud.shape[0] < a.points)])
    depths = [ref.read_depth(os.path.join(a.shared, rel)) for rel, _, _ in meta]
    F = len(meta)
    print(f"fusion benchmark: {points.shape[0]} points x {F} frames (640x480 depth, 320x240xC features), "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}, cores={os.cpu_count()}")
    for C in a.channels:
        base = ref.synthetic_features(0, 240, 320, C)
        frames = [(depths[i], K, pose, base) for i, (_, K, pose) in enumerate(meta)]  # one map shared by all frames
        wall_np = cpu_np = float("inf")
        for _ in range(a.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fused, counts, _ = ref.fuse(points, frames)
            wall_np, cpu_np = min(wall_np, time.perf_counter() - t0), min(cpu_np, time.process_time() - c0)
        pf = points.shape[0] * F
        print(f"C={C:4d}  numpy             wall {wall_np * 1e3:7.1f} ms ({pf / wall_np / 1e6:6.2f} M pts*frames/s)"
              f"  cpu {cpu_np * 1e3:7.1f} ms ({pf / cpu_np / 1e6:6.2f} M/s)")
        for t in a.threads:
            wall = cpu = float("inf")
            for _ in range(a.repeats):
                (dt, dc), out, mask = ov3d_fuse(lib, points, frames, C, t)
                wall, cpu = min(wall, dt), min(cpu, dc)
            assert np.array_equal(mask, (counts > 0).astype(np.uint8)) and np.abs(out - fused).max() <= 1e-6
            print(f"C={C:4d}  ov3d threads={t}    wall {wall * 1e3:7.1f} ms ({pf / wall / 1e6:6.2f} M pts*frames/s)"
                  f"  cpu {cpu * 1e3:7.1f} ms ({pf / cpu / 1e6:6.2f} M/s)  wall ratio {wall_np / wall:.1f}x,"
                  f" cpu ratio {cpu_np / cpu:.1f}x numpy; outputs equal")


if __name__ == "__main__":
    main()
