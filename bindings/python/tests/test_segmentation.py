"""ov3d.segment / Result.query (issue 14) against numpy's own computation from the network's
per-point features (ov3d.Session.run, checked against spconv in test_model.py), plus NaN points,
float64 input, 2D ensemble and superpoint options, stale results and errors."""
import sys
from pathlib import Path

import numpy as np
import pytest

import ov3d

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
import minkunet_fixture as mf  # noqa: E402

ROOM = mf.FIX / "room_18a_w8"
NAMES = ["wall", "floor", "chair", "table", "door"]


@pytest.fixture(scope="module")
def model():
    with ov3d.Model(ROOM / "weights.safetensors") as m:
        yield m


@pytest.fixture(scope="module")
def data(model):
    pts = np.load(ROOM / "points.npy")
    emb = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    with model.session(voxel_size=0.05, n_threads=1) as s, s.run(pts, head=0) as r:
        feats = r.features(0)
    return pts, emb, feats


def unit(a):
    a = np.asarray(a, np.float64)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return np.divide(a, n, out=np.zeros_like(a), where=n > 0)


def test_segment_matches_numpy(model, data):
    pts, emb, feats = data
    res = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05, probabilities=True, features=True)
    s = unit(feats) @ unit(emb).T
    gap = np.sort(s, 1)[:, -1] - np.sort(s, 1)[:, -2]
    clear = gap > 1e-5
    assert res.labels.dtype == np.int32 and res.scores.dtype == np.float32
    assert (res.labels[clear] == s.argmax(1)[clear]).all()
    assert np.abs(res.scores - s[np.arange(len(s)), res.labels]).max() < 2e-5
    assert res.names == NAMES and len(res) == len(pts)
    assert res.info["voxel_size"] == pytest.approx(0.05) and res.info["voxels"] == 4308 and res.info["skipped"] == 0
    assert res.probabilities.shape == (len(pts), 5) and np.allclose(res.probabilities.sum(1), 1, atol=1e-4)
    assert np.allclose(res.features, unit(feats), atol=1e-5)
    assert sum(res.counts().values()) == len(pts)
    heat = res.query(emb[2] * 3)
    assert heat.shape == (len(pts),) and np.abs(heat - s[:, 2]).max() < 2e-5


def boundary_points():
    """Pairs of points either side of a 5 cm voxel boundary: x = 0.25·j (exactly 5·j voxels in
    float64) and the float32 just below it."""
    k = (np.arange(1, 41) * 0.25).astype(np.float32)
    x = np.concatenate([k, np.nextafter(k, np.float32(0))])
    return np.stack([x, np.zeros_like(x), np.zeros_like(x)], 1).astype(np.float32)


def test_float_voxel_size_voxelises_as_the_double(model):
    """The C ABI carries voxel sizes as float (0.05f = 0.0500000007...): the library takes the
    shortest decimal of that float (0.05), so C and Python voxelise as the CLI and OpenScene
    (float64 0.05) do. With 1 / 0.05f the points at 0.25·j would fall one voxel lower, into
    their neighbours' voxels (40 voxels instead of 80)."""
    xyz = boundary_points()
    ref = len(np.unique(np.floor(xyz.astype(np.float64) * (1 / 0.05)), axis=0))
    assert ref == 80
    emb = np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)
    res = ov3d.segment(xyz, model, emb, voxel_size=0.05, n_threads=1)
    assert res.info["voxels"] == ref and res.info["voxel_size"] == pytest.approx(0.05)
    with model.session(voxel_size=0.05, n_threads=1) as s:
        with s.run(xyz, head=0) as r:
            assert r.voxel_count == ref
        res2 = ov3d.segment(xyz, model, emb, session=s)   # the session's float voxel size
        assert res2.info["voxels"] == ref and np.array_equal(res2.labels, res.labels)
        assert np.array_equal(res2.scores, res.scores)


def test_vocabulary_objects_sessions_and_nx6_points(model, data):
    pts, emb, _ = data
    voc = ov3d.Vocabulary.from_embeddings(emb, names=NAMES)
    with model.session(voxel_size=0.05, n_threads=1) as s:
        a = ov3d.segment(pts, model, voc, session=s)
        rgb = np.hstack([pts, np.full((len(pts), 3), 128, np.float32)])   # N×6: the first three columns
        b = ov3d.segment(rgb, model, voc, session=s)
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.scores, b.scores)
        with pytest.raises(ov3d.InvalidArgumentError, match="segmented another cloud"):
            a.query(emb[0])        # the session now holds b
        b.query(emb[0])


def test_nan_points_and_float64(model, data):
    pts, emb, _ = data
    holes = pts.copy()
    holes[::5, 1] = np.nan
    res = ov3d.segment(holes, model, emb, names=NAMES, voxel_size=0.05)
    assert (res.labels[::5] == -1).all() and np.isnan(res.scores[::5]).all() and res.info["skipped"] == len(pts[::5])
    assert np.isnan(res.query(emb[0])[::5]).all()
    kept = ov3d.segment(np.ascontiguousarray(np.delete(pts, np.s_[::5], 0)), model, emb, names=NAMES, voxel_size=0.05)
    assert np.array_equal(np.delete(res.labels, np.s_[::5]), kept.labels)
    with pytest.raises(ov3d.InvalidArgumentError, match="convert=True"):
        ov3d.segment(pts.astype(np.float64), model, emb, names=NAMES)
    c = ov3d.segment(pts.astype(np.float64), model, emb, names=NAMES, voxel_size=0.05, convert=True)
    ref = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05)
    assert np.array_equal(c.labels, ref.labels) and np.array_equal(c.scores, ref.scores)
    bad = pts.copy()
    bad[3, 0] = np.inf
    with pytest.raises(ov3d.InvalidArgumentError, match="infinite"):
        ov3d.segment(bad, model, emb, names=NAMES)


def test_fused_features_and_superpoints(model, data):
    pts, emb, _ = data
    n = len(pts)
    f2 = np.zeros((n, 16), np.float32)
    f2[1::2] = emb[np.arange(n)[1::2] % 5]
    res = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05, fused=f2, fused_mode="fusion")
    assert (res.labels[0::2] == -1).all()
    assert (res.labels[1::2] == np.arange(n)[1::2] % 5).all()   # each 2D feature is a word's embedding
    assert np.allclose(res.scores[1::2], 1, atol=1e-5)
    base = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05)
    ids = (np.arange(n) // 40).astype(np.int32)
    sp = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05, superpoints=ids)
    for g in np.unique(ids):
        m = ids == g
        assert (sp.labels[m] == np.bincount(base.labels[m], minlength=5).argmax()).all()
    with pytest.raises(ov3d.InvalidArgumentError, match="fused_mode"):
        ov3d.segment(pts, model, emb, names=NAMES, fused=f2, fused_mode="nope")


def test_errors(model, data):
    pts, emb, _ = data
    with pytest.raises(ov3d.InvalidArgumentError, match="16-d features"):
        ov3d.segment(pts, model, np.ones((3, 8), np.float32), names=["a", "b", "c"])
    with pytest.raises(ov3d.InvalidArgumentError, match="shape"):
        ov3d.segment(pts[:, :2], model, emb, names=NAMES)
    res = ov3d.segment(pts, model, emb, names=NAMES, voxel_size=0.05)
    with pytest.raises(ov3d.InvalidArgumentError, match="dim is 8"):
        res.query(np.ones(8, np.float32))
    with pytest.raises(ov3d.InvalidArgumentError, match="encoder"):
        res.query("chair")


def test_typed_package():
    pkg = Path(ov3d.__file__).parent
    assert (pkg / "py.typed").exists()
    for name in ov3d.__all__:
        assert getattr(ov3d, name).__doc__, f"ov3d.{name} has no docstring"
    assert ov3d.segment.__annotations__["return"] in ("Result", ov3d.SegmentationResult)
