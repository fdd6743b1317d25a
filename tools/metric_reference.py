#!/usr/bin/env python3
"""Golden fixtures for ov3d's segmentation metrics (Sources/OV3DCore/Evaluation).

How to run (pinned versions):
    python3 -m venv /tmp/venv-metric && . /tmp/venv-metric/bin/activate
    pip install numpy==2.4.6 scikit-learn==1.9.1
    python3 tools/metric_reference.py Tests/Fixtures/evaluation

Standard mode: scikit-learn's per-class jaccard_score and recall_score on the non-ignored points,
averaged over the classes present in the ground truth. OpenScene mode: a re-implementation from
the spec (openscene-pipeline.md §5, util/metric.py of OpenScene/CUA-O3D/SAS): rows = prediction,
columns = GT, GT 255 skipped, NO_FEATURE_ID 256 mapped to an extra row and cropped, classes
without GT skipped, sums divided by the number of classes.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import jaccard_score, recall_score


def standard(pred, gt, k, ignore):
    keep = gt != ignore
    p, g = pred[keep], gt[keep]
    labels = list(range(k))
    iou = jaccard_score(g, p, labels=labels, average=None, zero_division=0).astype(np.float64)
    acc = recall_score(g, p, labels=labels, average=None, zero_division=0).astype(np.float64)
    # undefined where the class is absent from both (IoU) / from the ground truth (recall)
    iou[[c for c in labels if not ((g == c) | (p == c)).any()]] = np.nan
    acc[[c for c in labels if not (g == c).any()]] = np.nan
    present = [c for c in labels if (g == c).any()]
    return iou, acc, float(np.mean(iou[present])), float(np.mean(acc[present]))


def openscene(pred, gt, k, ignore=255):
    pred = pred.astype(np.int64).copy()
    gt = gt.astype(np.int64)
    idx = gt != ignore
    pred[(pred < 0) | (pred >= k)] = k  # NO_FEATURE_ID (and any out-of-range prediction)
    conf = np.bincount(pred[idx] * (k + 1) + gt[idx], minlength=(k + 1) ** 2).reshape(k + 1, k + 1)[:k, :k]
    iou = np.full(k, np.nan)
    acc = np.full(k, np.nan)
    miou = macc = 0.0
    for c in range(k):
        tp = conf[c, c]
        denom = tp + (conf[c, :].sum() - tp) + (conf[:, c].sum() - tp)
        if denom > 0:
            iou[c] = tp / denom
        n = (gt == c).sum()
        if n == 0:
            continue
        acc[c] = tp / n
        miou += iou[c] if denom > 0 else 0.0
        macc += acc[c]
    return iou, acc, miou / k, macc / k


def case(rng, n, k, p_ignore, p_nofeat, absent):
    gt = rng.integers(0, k, size=n)
    for c in absent:
        gt[gt == c] = (c + 1) % k
    pred = np.where(rng.random(n) < 0.6, gt, rng.integers(0, k, size=n))  # correlated predictions
    gt[rng.random(n) < p_ignore] = 255
    pred[rng.random(n) < p_nofeat] = 256
    return pred.astype(np.int32), gt.astype(np.int32)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261122)
    cases = [("k20", 5000, 20, 0.1, 0.05, [3, 17]), ("k5", 800, 5, 0.2, 0.0, [4]), ("k40", 4000, 40, 0.05, 0.1, [0, 1, 39])]
    expected = {"numpy": np.__version__, "sklearn": sklearn.__version__, "cases": []}
    nn = lambda a: [None if np.isnan(x) else float(x) for x in a]
    for name, n, k, pi, pn, absent in cases:
        pred, gt = case(rng, n, k, pi, pn, absent)
        np.save(os.path.join(out, f"{name}_pred.npy"), pred)
        np.save(os.path.join(out, f"{name}_gt.npy"), gt)
        si, sa, smi, sma = standard(pred, gt, k, 255)
        oi, oa, omi, oma = openscene(pred, gt, k)
        expected["cases"].append(dict(name=name, classes=k, ignore=255,
                                      standard=dict(iou=nn(si), acc=nn(sa), miou=smi, macc=sma),
                                      openscene=dict(iou=nn(oi), acc=nn(oa), miou=omi, macc=oma)))
        print(f"{name}: standard mIoU {smi:.6f} mAcc {sma:.6f}; openscene mIoU {omi:.6f} mAcc {oma:.6f}")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
