#!/usr/bin/env python3
"""Parser validation cost (issue 17): the same files loaded by two `ov3d-tool` builds, before and
after a change, interleaved in the same run; reports medians and the after/before ratio.

Files (generated into a temporary directory, never committed):
- MinkUNet18A checkpoints, full size (289 tensors, ~62 MB): torch zip `.pth.tar` (real torch.save,
  bench/checkpoint/make_18a_checkpoint.py), the legacy format (torch.save with
  _use_new_zipfile_serialization=False) and safetensors (`ov3d convert` of the zip); timed by
  `ov3d inspect --benchmark N` (CheckpointReader.load with CRC, in-process, median of N);
- a 1M-point cloud as binary PLY, binary PCD, binary_compressed PCD (written by `ov3d`) and npy;
  timed by the `read X ms` of `ov3d superpoints --method graph` (CloudFile.read, in-process).

    python3 bench/parser_bench.py BEFORE/ov3d-tool AFTER/ov3d-tool [--rounds 5]
(needs torch for the checkpoints: .venv-tools; release builds: swift build -c release --product ov3d-tool)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def inspect_ms(tool, f, n):
    out = subprocess.run([tool, "inspect", f, "--benchmark", str(n)], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"CheckpointReader.load \(CRC on\)\s+([\d.]+) ms", out).group(1))


def cloud_read_ms(tool, f, tmp):
    out = subprocess.run([tool, "superpoints", "--method", "graph", "--graph-voxel", "0.5", "--out-ids", str(tmp / "ids.npy"), f],
                         capture_output=True, text=True, check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}).stdout
    return float(re.search(r"read ([\d.]+) ms", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loads", type=int, default=5, help="loads per inspect --benchmark run")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    ck = tmp / "model_best.pth.tar"
    subprocess.run([sys.executable, ROOT / "bench/checkpoint/make_18a_checkpoint.py", ck], check=True, capture_output=True)
    import torch
    legacy = tmp / "legacy.pth"
    torch.save(torch.load(ck, weights_only=False), legacy, _use_new_zipfile_serialization=False)
    st = tmp / "model.safetensors"
    subprocess.run([a.after, "convert", ck, st], check=True, capture_output=True)
    r = np.random.RandomState(0)
    pts = (r.rand(1_000_000, 3) * [8, 6, 3]).astype(np.float32)
    np.save(tmp / "cloud.npy", pts)
    clouds = {"npy": tmp / "cloud.npy"}
    for name, ext in (("ply", "ply"), ("pcd", "pcd")):
        clouds[name] = tmp / f"cloud.{ext}"
    # Written by ov3d itself (render does not write clouds; superpoints --out-ply writes binary PLY).
    subprocess.run([a.after, "superpoints", "--method", "graph", "--graph-voxel", "0.5", "--out-ids", tmp / "i.npy",
                    "--out-ply", clouds["ply"], clouds["npy"]], check=True, capture_output=True)
    hdr = ("# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
           f"WIDTH {len(pts)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(pts)}\nDATA binary\n").encode()
    clouds["pcd"].write_bytes(hdr + pts.tobytes())

    cases = [(f"checkpoint {k}", lambda t, f=f: inspect_ms(t, f, a.loads)) for k, f in
             (("zip .pth.tar", ck), ("legacy .pth", legacy), ("safetensors", st))]
    cases += [(f"cloud 1M {k}", lambda t, f=f: cloud_read_ms(t, f, tmp)) for k, f in clouds.items()]
    res = {c: {"before": [], "after": []} for c, _ in cases}
    for rnd in range(a.rounds):
        for c, fn in cases:
            order = ("before", "after") if rnd % 2 == 0 else ("after", "before")
            for which in order:
                res[c][which].append(fn(a.before if which == "before" else a.after))
    print(f"{a.rounds} interleaved rounds, medians (ms); ratio = after / before")
    print(f"{'input':28s} {'before':>9s} {'after':>9s} {'ratio':>6s}")
    for c, _ in cases:
        b, f = statistics.median(res[c]["before"]), statistics.median(res[c]["after"])
        print(f"{c:28s} {b:9.2f} {f:9.2f} {f / b:6.3f}")


if __name__ == "__main__":
    main()
