#!/usr/bin/env python3
"""Compares `ov3d fuse` and `ov3d eval --json` from outside with the NumPy / scikit-learn references.

How to run (pinned: numpy==2.4.6 pillow==13.0.0 scikit-learn==1.9.1, see fusion_reference.py):
    swift build --product ov3d-tool
    python3 tools/check_fusion_cli.py "$(swift build --show-bin-path)/ov3d-tool"
Writes a manifest + float16 feature maps (320x240 for 640x480 depth) for the 25 ScanNet frames of
../shared/data/scannet_frames_scene0378_00 into a temp dir, runs `ov3d fuse`, and compares the
mask (exact) and features (1e-6) with fusion_reference.fuse; then runs `ov3d eval --json` on the
metric fixtures and compares with scikit-learn.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fusion_reference as ref  # noqa: E402
import metric_reference as mref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(tool):
    shared = os.path.join(ROOT, "..", "shared", "data")
    frames = ref.load_scannet(os.path.join(shared, "scannet_frames_scene0378_00"))
    points = np.load(os.path.join(ROOT, "Tests/Fixtures/fusion/scannet0378/points.npy"))
    with tempfile.TemporaryDirectory() as d:
        man = {"depth_scale": 1000, "frames": []}
        fr = []
        for i, (rel, K, pose) in enumerate(frames):
            feat = ref.synthetic_features(i, 240, 320, 8)
            np.save(os.path.join(d, f"f{i}.npy"), feat.astype(np.float16))
            man["frames"].append({"depth": os.path.abspath(os.path.join(shared, rel)), "features": f"f{i}.npy",
                                  "intrinsics": [[K[0], 0, K[2]], [0, K[1], K[3]], [0, 0, 1]], "pose": pose.tolist()})
            fr.append((ref.read_depth(os.path.join(shared, rel)), K, pose, feat))
        with open(os.path.join(d, "m.json"), "w") as f:
            json.dump(man, f)
        np.save(os.path.join(d, "p.npy"), points)
        subprocess.run([tool, "fuse", "--points", os.path.join(d, "p.npy"), "--frames", os.path.join(d, "m.json"),
                        "--out-features", os.path.join(d, "F.npy"), "--out-mask", os.path.join(d, "M.npy"),
                        "--visibility-threshold", "0.25", "--cut-bound", "10"], check=True)
        F, M = np.load(os.path.join(d, "F.npy")), np.load(os.path.join(d, "M.npy"))
        fused, counts, _ = ref.fuse(points, fr)
        assert M.dtype == np.uint8 and F.dtype == np.float32 and F.shape == fused.shape
        assert np.array_equal(M, (counts > 0).astype(np.uint8)), "mask differs"
        err = float(np.abs(F - fused).max())
        assert err <= 1e-6, err
        print(f"ov3d fuse: {points.shape[0]} points, mask equal, max |dfeature| = {err}")
    exp = json.load(open(os.path.join(ROOT, "Tests/Fixtures/evaluation/expected.json")))
    for c in exp["cases"]:
        base = os.path.join(ROOT, "Tests/Fixtures/evaluation", c["name"])
        for conv, flag in (("standard", []), ("openscene", ["--openscene"])):
            out = subprocess.run([tool, "eval", "--pred", base + "_pred.npy", "--gt", base + "_gt.npy",
                                  "--num-classes", str(c["classes"]), "--ignore", "255", "--json"] + flag,
                                 check=True, capture_output=True, text=True).stdout
            j = json.loads(out)
            e = c[conv]
            assert abs(j["miou"] - e["miou"]) < 1e-12 and abs(j["macc"] - e["macc"]) < 1e-12, (c["name"], conv)
            for a, b in zip(j["iou"] + j["acc"], e["iou"] + e["acc"]):
                assert (a is None and b is None) or abs(a - b) < 1e-12, (c["name"], conv, a, b)
            print(f"ov3d eval {c['name']} {conv}: mIoU {j['miou']:.6f} mAcc {j['macc']:.6f} == reference")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bin", "ov3d"))
