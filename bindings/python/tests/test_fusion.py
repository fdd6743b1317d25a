import json
import os
import sys

import numpy as np
import pytest

from ov3d import fusion

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_session_matches_numpy_reference_on_synthetic_frames():
    rng = np.random.default_rng(3)
    pts = rng.uniform([-1, -1, 1], [1, 1, 3], size=(5000, 3)).astype(np.float32)
    K = np.array([[100.0, 0, 31.5], [0, 100.0, 23.5], [0, 0, 1]])
    frames = []
    with fusion.FusionSession(pts, feature_dim=4, depth_size=(64, 48), feature_size=(20, 15), cut_bound=2) as s:
        for i in range(3):
            pose = np.eye(4)
            pose[0, 3] = 0.1 * i
            depth = rng.integers(1500, 2600, size=(48, 64)).astype(np.uint16)
            feat = rng.standard_normal((15, 20, 4)).astype(np.float32)
            assert s.add_frame(depth, feat, K, pose) > 0
            frames.append((depth, (K[0, 0], K[1, 1], K[0, 2], K[1, 2]), pose, feat))
        f, m, c = s.snapshot()
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import fusion_reference as ref
    rf, rc, _ = ref.fuse(pts, frames, cut=2)
    assert np.array_equal(m, (rc > 0).astype(np.uint8)) and np.array_equal(c, rc) and m.any()
    assert np.abs(f - rf).max() <= 1e-6


def test_evaluate_matches_fixture():
    exp = json.load(open(os.path.join(ROOT, "Tests/Fixtures/evaluation/expected.json")))
    c = exp["cases"][0]
    base = os.path.join(ROOT, "Tests/Fixtures/evaluation", c["name"])
    pred, gt = np.load(base + "_pred.npy"), np.load(base + "_gt.npy")
    for conv in ("standard", "openscene"):
        r = fusion.evaluate(pred, gt, c["classes"], openscene=conv == "openscene")
        assert abs(r["miou"] - c[conv]["miou"]) < 1e-12 and abs(r["macc"] - c[conv]["macc"]) < 1e-12
        assert [x is None for x in r["iou"]] == [x is None for x in c[conv]["iou"]]


def test_teacher_fusion_hand_example():
    vocab = np.eye(3, dtype=np.float32)
    teachers = np.array([[[1, 0.2, 0]], [[0, 0.1, 2]]], np.float32)
    cap = np.array([[0.8, 0.5, 0.2], [0.4, 0.6, 0.9]], np.float32)
    out, w = fusion.teacher_fusion(teachers, vocab, cap, return_weights=True)
    assert abs(w[0, 1] - 0.9314191246) < 1e-6
    with pytest.raises(fusion.InvalidArgumentError):
        fusion.teacher_fusion(teachers, vocab, cap, temperature=float("nan"))
