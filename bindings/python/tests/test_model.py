"""ov3d.model (MinkUNet inference, issue 3) against the spconv golden fixtures in
Tests/Fixtures/minkunet (tools/minkunet_reference.py), and its error handling."""
import sys
from pathlib import Path

import numpy as np
import pytest

import ov3d
from ov3d.model import Model, Result, Session

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
import minkunet_fixture as mf  # noqa: E402

ROOM = mf.FIX / "room_18a_w8"
HEAD_FILES = {"final": "voxel_features.npy", "final_dinov2": "voxel_features.final_dinov2.npy",
              "final_sd": "voxel_features.final_sd.npy"}


@pytest.fixture(scope="module")
def model():
    with Model(ROOM / "weights.safetensors") as m:
        yield m


@pytest.fixture
def session(model):
    with model.session(voxel_size=0.05, n_threads=1) as s:
        yield s


def test_model_description(model):
    assert model.head_count == 3
    assert model.heads == {"final": 16, "final_dinov2": 8, "final_sd": 12}
    assert model.variant == "MinkUNet(custom)"
    assert model.in_channels == 3
    assert model.head_dim("final_sd") == 12
    with pytest.raises(ov3d.InvalidArgumentError, match="out of range"):
        model.head_dim(3)
    with pytest.raises(ov3d.InvalidArgumentError, match="no head 'nope'"):
        model.head_dim("nope")
    assert ov3d.Model is Model


@pytest.mark.parametrize("case,heads", [("room_18a_w8", list(HEAD_FILES)), ("room_34c_w16", ["final"])])
def test_voxel_run_matches_spconv(case, heads):
    d = mf.FIX / case
    coords, feats = np.load(d / "coords.npy"), np.load(d / "input_features.npy")
    with Model(d / "weights.safetensors") as m, m.session(voxel_size=0.05, n_threads=1) as s:
        with s.run_voxels(coords, feats) as r:
            assert r.point_count == r.voxel_count == len(coords)
            for h in heads:
                got, ref = r.features(h), np.load(d / HEAD_FILES[h])
                assert got.shape == ref.shape and got.dtype == np.float32
                err = mf.rel_err(got, ref)
                print(f"{case} {h}: max-abs rel err {err:.3g}")
                assert err < 1e-4
                assert np.array_equal(r.voxel_features(h), got)
            assert mf.label_mismatches(r.features(0), np.load(d / "voxel_labels.npy")) == 0
            raw, unit = r.features("final"), r.features("final", normalized=True)
            nz = np.abs(raw).max(axis=1) > 0                                # all-zero rows stay zero
            assert np.allclose(np.linalg.norm(unit[nz], axis=1), 1, atol=1e-5)
            assert np.allclose(unit, raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-30), atol=1e-6)


def test_point_run_voxelises_as_openscene(session):
    pts = np.load(ROOM / "points.npy")
    inverse = np.load(ROOM / "inverse.npy")
    with session.run(pts) as r:
        assert r.point_count == len(pts) and r.voxel_count == len(np.load(ROOM / "coords.npy"))
        assert np.array_equal(r.voxel_index(), inverse)
        assert np.array_equal(r.voxel_coords(), np.load(ROOM / "coords.npy"))
        for h in range(3):
            assert np.array_equal(r.features(h), r.voxel_features(h)[inverse])
        # The point run uses ones as input: the same as a voxel run on the same coordinates.
        with session.run_voxels(r.voxel_coords()) as rv:
            assert np.array_equal(rv.features("final_sd"), r.voxel_features("final_sd"))
    # A strided view (a column slice of a wider array) gives the same voxels.
    wide = np.zeros((len(pts), 5), np.float32)
    wide[:, 1:4] = pts
    with session.run(wide[:, 1:4]) as r:
        assert np.array_equal(r.voxel_index(), inverse)


def test_full_width_18a_points_match_spconv(tmp_path):
    """MinkUNet18A at full width (512-d head), seeded weights rebuilt from the digest."""
    path = tmp_path / "w.safetensors"
    mf.write_safetensors(path, mf.seeded_state_dict("synth_18a_full"))
    d = mf.FIX / "synth_18a_full"
    with Model(path) as m, Session(m, voxel_size=0.02) as s, s.run(np.load(d / "points.npy")) as r:
        assert m.variant == "MinkUNet18A" and m.heads == {"final": 512}
        got = r.features()
        err = mf.rel_err(got, np.load(d / "point_features.npy"))
        print(f"synth_18a_full points: max-abs rel err {err:.3g}")
        assert err < 1e-4
        assert mf.label_mismatches(got, np.load(d / "point_labels.npy")) == 0
        assert np.array_equal(r.voxel_coords(), np.load(d / "coords.npy"))


def test_torch_checkpoint_with_probe_heads_matches_reference():
    """A torch .pth.tar (`module.net3d.` keys) of MinkUNet14A/16 with CUA-O3D feature heads and
    linear probes, run on points (ones as input): every head against the fixture."""
    d = mf.FIX / "probe_14a_w16"
    inverse, coords = np.load(d / "inverse.npy"), np.load(d / "coords.npy")
    with Model(d / "model.pth.tar") as m, m.session(voxel_size=0.05, n_threads=1) as s:
        assert m.head_names == ["final", "final_dinov2", "final_sd", "final_seg", "final_seg_lseg",
                                "final_seg_dinov2", "final_seg_stablediffusion"]
        assert m.heads["final_seg"] == 5 and m.heads["final_seg_lseg"] == 7
        with s.run(np.load(d / "points.npy")) as r:
            assert np.array_equal(r.voxel_index(), inverse) and np.array_equal(r.voxel_coords(), coords)
            for h in m.head_names:
                probe = h.startswith("final_seg")
                ref = np.load(d / (f"voxel_logits.{h}.npy" if probe else HEAD_FILES[h]))
                err = mf.rel_err(r.voxel_features(h), ref)
                print(f"probe_14a_w16 {h}: max-abs rel err {err:.3g}")
                assert err < 1e-4
                assert np.array_equal(r.features(h), r.voxel_features(h)[inverse])
                if probe:
                    assert mf.label_mismatches(r.voxel_features(h), np.load(d / f"voxel_labels.{h}.npy")) == 0


def test_single_head_and_voxel_size_override(session):
    coords = np.load(ROOM / "coords.npy")
    with session.run_voxels(coords, head="final_dinov2") as r:
        assert r.feature_dim(1) == 8
        with pytest.raises(ov3d.InvalidArgumentError, match="not computed"):
            r.features(0)
    pts = np.load(ROOM / "points.npy")
    with session.run(pts, voxel_size=0.1, head=0) as r:
        assert r.voxel_count < len(coords)


def test_bad_arrays(session):
    pts = np.load(ROOM / "points.npy")
    coords = np.load(ROOM / "coords.npy")
    bad_points = {
        "float64": pts.astype(np.float64),
        "N×2": np.ascontiguousarray(pts[:, :2]),
        "1-D": pts.ravel(),
        "fortran": np.asfortranarray(pts),
        "list": pts.tolist(),
    }
    for name, a in bad_points.items():
        with pytest.raises(ov3d.InvalidArgumentError):
            session.run(a)
    with pytest.raises(ov3d.InvalidArgumentError, match="dtype int32"):
        session.run_voxels(coords.astype(np.int64))
    with pytest.raises(ov3d.InvalidArgumentError, match="C-contiguous"):
        session.run_voxels(np.asfortranarray(coords))
    with pytest.raises(ov3d.InvalidArgumentError, match=r"\(N, 3\)"):
        session.run_voxels(np.zeros((4, 4), np.int32))
    with pytest.raises(ov3d.InvalidArgumentError, match="features must have shape"):
        session.run_voxels(coords, np.ones((len(coords), 2), np.float32))
    with pytest.raises(ov3d.InvalidArgumentError, match="dtype float32"):
        session.run_voxels(coords, np.ones((len(coords), 3), np.float64))
    with pytest.raises(ov3d.InvalidArgumentError, match="C-contiguous"):
        session.run_voxels(coords, np.ones((3, len(coords)), np.float32).T)
    with pytest.raises(ov3d.InvalidArgumentError, match="head must be"):
        session.run(pts, head=1.5)


def test_bad_values_are_errors_not_crashes(session):
    with pytest.raises(ov3d.InvalidArgumentError):
        session.run(np.zeros((0, 3), np.float32))                          # empty cloud
    with pytest.raises(ov3d.InvalidArgumentError, match="non-finite"):
        session.run(np.array([[0, 0, 0], [np.nan, 1, 1]], np.float32))
    with pytest.raises(ov3d.InvalidArgumentError, match="non-finite"):
        session.run(np.array([[0, 0, 0], [1, np.inf, 1]], np.float32))
    with pytest.raises(ov3d.InvalidArgumentError, match="2\\^20"):
        session.run(np.array([[0, 0, 0], [60000, 0, 0]], np.float32))    # 1.2M voxels at 5 cm
    with pytest.raises(ov3d.InvalidArgumentError):
        session.run_voxels(np.zeros((0, 3), np.int32))
    with pytest.raises(ov3d.InvalidArgumentError):
        session.run_voxels(np.zeros((2, 3), np.int32))                     # duplicate coordinates
    with pytest.raises(ov3d.InvalidArgumentError):
        session.run_voxels(np.array([[1 << 20, 0, 0]], np.int32))
    with pytest.raises(ov3d.InvalidArgumentError, match="NaN"):
        session.run_voxels(np.zeros((1, 3), np.int32), np.array([[1, np.nan, 1]], np.float32))
    # One point, and many points in one voxel, are valid clouds.
    with session.run(np.array([[1, 2, 3]], np.float32)) as r:
        assert r.voxel_count == 1 and r.features().shape == (1, 16)
    with session.run(np.full((50, 3), 0.5, np.float32)) as r:
        assert r.voxel_count == 1 and r.point_count == 50


def test_bad_files_and_params(tmp_path):
    with pytest.raises(ov3d.OV3DIOError, match="nonexistent"):
        Model(tmp_path / "nonexistent.safetensors")
    with pytest.raises(ov3d.Error) as e:
        Model(ROOM / "points.npy")
    assert str(e.value)
    # A weight with the wrong shape is named in the error.
    sd, meta = mf.read_safetensors(ROOM / "weights.safetensors")
    sd["net3d.block3.1.conv2.kernel"] = np.zeros((27, 16, 15), np.float32)
    bad = tmp_path / "bad.safetensors"
    mf.write_safetensors(bad, sd, meta)
    with pytest.raises(ov3d.FormatError, match="block3.1.conv2.kernel"):
        Model(bad)
    with Model(ROOM / "weights.safetensors") as m:
        with pytest.raises(ov3d.InvalidArgumentError, match="voxel_size"):
            m.session(voxel_size=0)
        with pytest.raises(ov3d.InvalidArgumentError, match="voxel_size"):
            m.session(voxel_size=float("nan"))
        with pytest.raises(ov3d.InvalidArgumentError, match="n_threads"):
            m.session(n_threads=-1)
    with pytest.raises(ov3d.InvalidArgumentError):
        Session("not a model")


def test_closed_handles(model):
    m = Model(ROOM / "weights.safetensors")
    s = m.session(voxel_size=0.05)
    r = s.run_voxels(np.array([[0, 0, 0], [1, 0, 0]], np.int32))
    feats = r.features()
    m.close()
    m.close()                                                              # idempotent
    with pytest.raises(ov3d.InvalidArgumentError, match="Model is closed"):
        m.head_count
    with pytest.raises(ov3d.InvalidArgumentError, match="Model is closed"):
        m.session()
    # The session keeps the C model alive.
    with s.run_voxels(np.array([[0, 0, 0], [1, 0, 0]], np.int32)) as r2:
        assert np.array_equal(r2.features(), feats)
    s.close()
    with pytest.raises(ov3d.InvalidArgumentError, match="Session is closed"):
        s.run(np.zeros((1, 3), np.float32))
    r.close()
    with pytest.raises(ov3d.InvalidArgumentError, match="Result is closed"):
        r.features()
    assert feats.shape == (2, 16)                                          # copies outlive the result


def test_progress_callback_cancels(model):
    stages = []

    def progress(fraction, stage):
        stages.append((fraction, stage))
        return fraction > 0.3

    with model.session(voxel_size=0.05, progress=progress) as s:
        with pytest.raises(ov3d.CancelledError):
            s.run_voxels(np.load(ROOM / "coords.npy"))
    assert stages and all(isinstance(st, str) for _, st in stages)

    def boom(fraction, stage):
        raise RuntimeError("callback failed")

    with model.session(voxel_size=0.05, progress=boom) as s:
        with pytest.raises(ov3d.CancelledError):
            s.run_voxels(np.load(ROOM / "coords.npy"))
