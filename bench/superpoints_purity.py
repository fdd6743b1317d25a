#!/usr/bin/env python3
"""Superpoint purity and counts on the real ScanNet scenes, per method and parameter set.

Runs the `ov3d superpoints` command (its public interface) on ../shared/data/scannet_votenet50k
scenes (50,000 points each, x y z r g b) and scores the ids against the NYU40 ground truth:
purity = share of annotated points (label > 0) whose superpoint's majority annotated label equals
their own. Points a method leaves unassigned (-1) count as their own segment (so they are
"pure"); the (assigned) column scores assigned points only, and `unassigned` is their share. Needs numpy only:

    swift build -c release --product ov3d-tool
    python3 bench/superpoints_purity.py [--tool .build/release/ov3d-tool] [--data ../shared/data]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CONFIGS = [
    ("graph kNN10 k=0.01 m=20", ["--method", "graph", "--graph-k", "10", "--k-thresh", "0.01", "--seg-min-verts", "20"]),
    ("graph kNN10 k=0.05 m=20", ["--method", "graph", "--graph-k", "10", "--k-thresh", "0.05", "--seg-min-verts", "20"]),
    ("graph kNN10 k=0.01 m=60", ["--method", "graph", "--graph-k", "10", "--k-thresh", "0.01", "--seg-min-verts", "60"]),
    ("graph voxel5cm k=0.01 m=5", ["--method", "graph", "--graph-voxel", "0.05", "--k-thresh", "0.01", "--seg-min-verts", "5"]),
    ("vccs v0.05 s0.25", ["--method", "vccs", "--voxel-resolution", "0.05", "--seed-resolution", "0.25"]),
    ("vccs v0.05 s0.5", ["--method", "vccs", "--voxel-resolution", "0.05", "--seed-resolution", "0.5"]),
    ("region-growing 3deg", ["--method", "region-growing", "--smoothness", "3"]),
    ("region-growing 8deg min20", ["--method", "region-growing", "--smoothness", "8", "--min-cluster-size", "20"]),
]


def purity(ids, labels, assigned_only=False):
    ids = ids.astype(np.int64).copy()
    un = ids < 0
    ids[un] = ids.max() + 1 + np.arange(un.sum())          # unassigned: singletons
    m = (labels > 0) & (~un if assigned_only else True)
    ids, labels = ids[m], labels[m]
    order = np.lexsort((labels, ids))
    pairs = np.stack([ids[order], labels[order]], 1)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    best = {}
    for (g, l), c in zip(uniq, counts):
        if g not in best or c > best[g][1]:
            best[g] = (l, c)
    maj = np.array([best[g][0] for g in ids])
    return float((maj == labels).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=".build/release/ov3d-tool")
    ap.add_argument("--data", default="../shared/data")
    a = ap.parse_args()
    d = os.path.join(a.data, "scannet_votenet50k")
    if not os.path.isdir(d):
        print(f"SKIP: {d} not found")
        return
    scenes = sorted(f[:-9] for f in os.listdir(d) if f.endswith("_vert.npy"))
    print(f"{'config':28s} {'mean purity':>11s} {'(assigned)':>10s} {'mean #sp':>9s} {'unassigned':>10s} {'mean s':>7s}   per scene purity")
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in CONFIGS:
            pur, pura, cnt, una, secs = [], [], [], [], []
            for s in scenes:
                out = os.path.join(tmp, "ids.npy")
                t = time.time()
                subprocess.run([a.tool, "superpoints", *args, "--out-ids", out, "--quiet",
                                os.path.join(d, s + "_vert.npy")], check=True)
                secs.append(time.time() - t)
                ids = np.load(out)
                lab = np.load(os.path.join(d, s + "_sem_label.npy")).astype(np.int64)
                assert len(ids) == len(lab)
                pur.append(purity(ids, lab))
                pura.append(purity(ids, lab, assigned_only=True))
                cnt.append(int(ids.max()) + 1)
                una.append(float((ids < 0).mean()))
            print(f"{name:28s} {np.mean(pur):11.4f} {np.mean(pura):10.4f} {np.mean(cnt):9.1f} {np.mean(una):10.4f} {np.mean(secs):7.2f}   "
                  + " ".join(f"{p:.3f}" for p in pur))


if __name__ == "__main__":
    sys.exit(main())
