import os
from pathlib import Path

import numpy as np
import pytest

from ov3d import pointcloud as pc
from ov3d import Error

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "Tests" / "Fixtures" / "superpoints"


def test_mesh_superpoints_match_reference(tmp_path):
    with pc.Cloud.load(FIX / "room_noisy.ply") as c:
        assert len(c) == 7360 and c.faces.shape[1] == 3
        ids, k = pc.superpoints(c, "mesh", k_thresh=0.002, seg_min_verts=5)
        ref = np.load(FIX / "room_noisy.k0.002.m5.npy")
        _, dense = np.unique(ref, return_inverse=True)
        assert np.array_equal(ids, dense) and k == len(np.unique(ref))
        pooled = pc.mean_pool(ids, k, c.positions)
        assert pooled.shape == (k, 3)
        lab, _ = pc.vote(ids, k, ids)
        assert np.array_equal(lab, np.arange(k))
        assert np.array_equal(pc.broadcast(ids, k, lab, -1), ids)
        c.set_labels(ids)
        c.save(tmp_path / "seg.ply")
    with pc.Cloud.load(tmp_path / "seg.ply") as back:
        assert np.array_equal(back.labels, ids)


def test_from_arrays_and_errors(tmp_path):
    xyz = np.random.default_rng(0).random((500, 3), dtype=np.float32)
    with pc.Cloud.from_arrays(xyz) as c:
        ids, k = pc.superpoints(c, "graph", graph_k=8)
        assert ids.shape == (500,) and k >= 1
        c.save(tmp_path / "c.pcd", "pcd-binary-compressed")
    with pc.Cloud.load(tmp_path / "c.pcd") as c:
        assert np.array_equal(c.positions, xyz)
    with pytest.raises(Error):
        pc.Cloud.load(tmp_path / "missing.ply")
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 99999999999\nend_header\n")
    with pytest.raises(Error):
        pc.Cloud.load(bad)
