#!/usr/bin/env python3
"""Compares `ov3d superpoints --method mesh` (the command-line interface) with the committed
ScanNet-segmentator outputs in Tests/Fixtures/superpoints (made by tools/superpoints_reference.py),
and, with --segmentator, with a live run of the reference binary on any extra meshes.

    swift build --product ov3d-tool
    python3 tools/check_superpoints_cli.py [--tool .build/debug/ov3d-tool] [--shared ../shared/data]
          [--segmentator /tmp/scannet/Segmentator/segmentator mesh1.ply ...]
Needs numpy. Exit status 1 on any mismatch.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from superpoints_reference import PARAMS, run_reference  # noqa: E402

FIX = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "superpoints")


def ours(tool, mesh, k, m, tmp):
    out = os.path.join(tmp, "ids.npy")
    subprocess.run([tool, "superpoints", "--method", "mesh", "--k-thresh", str(k), "--seg-min-verts", str(m),
                    "--out-ids", out, "--quiet", mesh], check=True)
    return np.load(out)


def same(ids, ref):
    _, dense = np.unique(ref, return_inverse=True)   # ov3d ids are dense, in root-vertex order
    return ids.dtype == np.int32 and np.array_equal(ids, dense)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=".build/debug/ov3d-tool")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--segmentator", default=None)
    ap.add_argument("meshes", nargs="*")
    a = ap.parse_args()
    meshes = {"room_clean": os.path.join(FIX, "room_clean.ply"), "room_noisy": os.path.join(FIX, "room_noisy.ply"),
              "cube": os.path.join(a.shared, "pcl_testdata", "cube.ply"),
              "open3d_color": os.path.join(a.shared, "ply_interop", "open3d_color.ply")}
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, mesh in meshes.items():
            if not os.path.exists(mesh):
                print(f"SKIP {name}: {mesh} not found")
                continue
            for k, m in PARAMS:
                ref = np.load(os.path.join(FIX, f"{name}.k{k:g}.m{m}.npy"))
                ok = same(ours(a.tool, mesh, k, m, tmp), ref)
                bad += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name} k={k} m={m}: {len(np.unique(ref))} segments")
        if a.segmentator:
            for mesh in a.meshes:
                for k, m in PARAMS:
                    ok = same(ours(a.tool, mesh, k, m, tmp), run_reference(a.segmentator, mesh, k, m))
                    bad += not ok
                    print(f"{'ok  ' if ok else 'FAIL'} {mesh} k={k} m={m} (live reference)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
