"""`ov3d features` (issue 3) end to end: both interfaces of the command line against the spconv
golden fixtures in Tests/Fixtures/minkunet, row count and order, the N×4 batch-first form, and
bad inputs (each a clear message and a non-zero exit status, never a crash).

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d
(`swift build --product ov3d-tool`; scripts/test.sh builds it and sets OV3D_TOOL).
Run: python3 -m pytest -q tests/cli
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402

ROOM = mf.FIX / "room_18a_w8"
SYNTH = mf.FIX / "synth_18a_full"


def _tool():
    env = os.environ.get("OV3D_TOOL")
    if env:
        return env
    for c in (mf.ROOT / ".build" / "debug" / "ov3d-tool", mf.ROOT / ".build" / "release" / "ov3d-tool",
              mf.ROOT / "bin" / "ov3d"):
        if c.exists():
            return str(c)
    return None


TOOL = _tool()
pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, "
                                                     "or set OV3D_TOOL)")


def features(*args, ok=True):
    """Runs `ov3d features ARGS`; returns (returncode, stderr)."""
    p = subprocess.run([TOOL, "features", *map(str, args)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if ok:
        assert p.returncode == 0, p.stderr
    return p.returncode, p.stderr


@pytest.fixture(scope="module")
def synth_weights(tmp_path_factory):
    """Full-width MinkUNet18A seeded weights (62 MB, not committed) rebuilt from the digest."""
    path = tmp_path_factory.mktemp("w") / "synth_18a_full.safetensors"
    mf.write_safetensors(path, mf.seeded_state_dict("synth_18a_full"))
    return path


def test_points_interface_matches_spconv(synth_weights, tmp_path):
    out = tmp_path / "out.npy"
    features("--checkpoint", synth_weights, "--points", SYNTH / "points.npy", "--voxel-size", 0.02, "--out", out)
    got, ref = np.load(out), np.load(SYNTH / "point_features.npy")
    assert got.dtype == np.float32 and got.shape == ref.shape == (300, 512)   # one row per point, in point order
    err = mf.rel_err(got, ref)
    print(f"features --points synth_18a_full: max-abs rel err {err:.3g}")
    assert err < 1e-4
    assert mf.label_mismatches(got, np.load(SYNTH / "point_labels.npy")) == 0
    # --normalize: the same rows at unit length.
    features("--checkpoint", synth_weights, "--points", SYNTH / "points.npy", "--voxel-size", 0.02, "--out", out,
             "--normalize", "--threads", 2)
    unit = np.load(out)
    assert np.allclose(unit, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)


def test_voxel_interface_with_default_ones_matches_spconv(synth_weights, tmp_path):
    out = tmp_path / "out.npy"
    features("--checkpoint", synth_weights, "--voxel-coords", SYNTH / "coords.npy", "--out", out)
    got, ref = np.load(out), np.load(SYNTH / "voxel_features.npy")
    assert got.shape == ref.shape
    err = mf.rel_err(got, ref)
    print(f"features --voxel-coords synth_18a_full: max-abs rel err {err:.3g}")
    assert err < 1e-4
    assert mf.label_mismatches(got, np.load(SYNTH / "voxel_labels.npy")) == 0


@pytest.mark.parametrize("case,head,ref_file", [
    ("room_18a_w8", None, "voxel_features.npy"),
    ("room_18a_w8", "final_sd", "voxel_features.final_sd.npy"),
    ("room_18a_w8", "1", "voxel_features.final_dinov2.npy"),
    ("room_34c_w16", None, "voxel_features.npy"),
])
def test_voxel_interface_with_input_features_matches_spconv(case, head, ref_file, tmp_path):
    d, out = mf.FIX / case, tmp_path / "out.npy"
    args = ["--checkpoint", d / "weights.safetensors", "--voxel-coords", d / "coords.npy",
            "--input-features", d / "input_features.npy", "--out", out]
    features(*args, *(["--head", head] if head else []))
    got, ref = np.load(out), np.load(d / ref_file)
    assert got.shape == ref.shape
    err = mf.rel_err(got, ref)
    print(f"features --voxel-coords {case} {head or 'final'}: max-abs rel err {err:.3g}")
    assert err < 1e-4


@pytest.mark.parametrize("mode,head,ref_file", [
    ("points", None, "voxel_features.npy"),
    ("points", "final_seg", "voxel_logits.final_seg.npy"),
    ("voxels", "final_seg_lseg", "voxel_logits.final_seg_lseg.npy"),
    ("voxels", "final_sd", "voxel_features.final_sd.npy"),
])
def test_torch_checkpoint_with_probe_heads(mode, head, ref_file, tmp_path):
    """probe_14a_w16: a torch .pth.tar (`module.net3d.` keys), ones as input, CUA-O3D probes."""
    d, out = mf.FIX / "probe_14a_w16", tmp_path / "out.npy"
    src = ["--points", d / "points.npy", "--voxel-size", 0.05] if mode == "points" else ["--voxel-coords", d / "coords.npy"]
    features("--checkpoint", d / "model.pth.tar", *src, "--out", out, *(["--head", head] if head else []))
    ref = np.load(d / ref_file)
    if mode == "points":
        ref = ref[np.load(d / "inverse.npy")]
    got = np.load(out)
    assert got.shape == ref.shape
    err = mf.rel_err(got, ref)
    print(f"features --{mode} probe_14a_w16 {head or 'final'}: max-abs rel err {err:.3g}")
    assert err < 1e-4
    if head and head.startswith("final_seg") and mode == "voxels":
        assert mf.label_mismatches(got, np.load(d / f"voxel_labels.{head}.npy")) == 0


def test_voxel_rows_follow_input_order_and_batch_column(tmp_path):
    coords, feats = np.load(ROOM / "coords.npy"), np.load(ROOM / "input_features.npy")
    ref = np.load(ROOM / "voxel_features.npy")
    perm = np.random.default_rng(0).permutation(len(coords))
    np.save(tmp_path / "c.npy", np.ascontiguousarray(coords[perm]))
    np.save(tmp_path / "f.npy", np.ascontiguousarray(feats[perm]))
    out = tmp_path / "out.npy"
    w = ROOM / "weights.safetensors"
    features("--checkpoint", w, "--voxel-coords", tmp_path / "c.npy", "--input-features", tmp_path / "f.npy", "--out", out)
    assert mf.rel_err(np.load(out), ref[perm]) < 1e-4
    # N×4 batch-first, one batch.
    np.save(tmp_path / "c4.npy", np.hstack([np.zeros((len(coords), 1), np.int32), coords]))
    features("--checkpoint", w, "--voxel-coords", tmp_path / "c4.npy", "--input-features", ROOM / "input_features.npy",
             "--out", out)
    assert mf.rel_err(np.load(out), ref) < 1e-4
    # Two batches holding the same coordinates, rows interleaved: batches never interact.
    n = len(coords)
    both = np.vstack([np.hstack([np.zeros((n, 1), np.int32), coords]), np.hstack([np.full((n, 1), 7, np.int32), coords[perm]])])
    both_f = np.vstack([feats, feats[perm]])
    mix = np.random.default_rng(1).permutation(2 * n)
    np.save(tmp_path / "c4.npy", np.ascontiguousarray(both[mix]))
    np.save(tmp_path / "f4.npy", np.ascontiguousarray(both_f[mix]))
    features("--checkpoint", w, "--voxel-coords", tmp_path / "c4.npy", "--input-features", tmp_path / "f4.npy", "--out", out)
    got = np.load(out)
    assert got.shape == (2 * n, ref.shape[1])
    assert mf.rel_err(got, np.vstack([ref, ref[perm]])[mix]) < 1e-4
    # Other integer dtypes are converted (documented in --help); the result is the same.
    np.save(tmp_path / "c64.npy", coords.astype(np.int64))
    features("--checkpoint", w, "--voxel-coords", tmp_path / "c64.npy", "--input-features", ROOM / "input_features.npy",
             "--out", out)
    assert mf.rel_err(np.load(out), ref) < 1e-4


def test_points_rows_are_voxel_rows_through_the_inverse_map(tmp_path):
    """With ones as input (no input-features fixture for points), a point run equals the voxel run
    on the fixture's voxel coordinates, row by row through the fixture's inverse map."""
    w = ROOM / "weights.safetensors"
    features("--checkpoint", w, "--points", ROOM / "points.npy", "--voxel-size", 0.05, "--out", tmp_path / "p.npy")
    features("--checkpoint", w, "--voxel-coords", ROOM / "coords.npy", "--out", tmp_path / "v.npy")
    p, v = np.load(tmp_path / "p.npy"), np.load(tmp_path / "v.npy")
    inverse = np.load(ROOM / "inverse.npy")
    assert p.shape == (len(inverse), 16) and v.shape == (len(np.load(ROOM / "coords.npy")), 16)
    assert np.array_equal(p, v[inverse])
    # float64 points are accepted and give the same voxels (the voxeliser works in float64).
    np.save(tmp_path / "p64.npy", np.load(ROOM / "points.npy").astype(np.float64))
    features("--checkpoint", w, "--points", tmp_path / "p64.npy", "--voxel-size", 0.05, "--out", tmp_path / "p2.npy")
    assert np.array_equal(np.load(tmp_path / "p2.npy"), p)


def test_one_point_and_one_voxel_are_valid(tmp_path):
    w, out = ROOM / "weights.safetensors", tmp_path / "out.npy"
    np.save(tmp_path / "one.npy", np.array([[1, 2, 3]], np.float32))
    features("--checkpoint", w, "--points", tmp_path / "one.npy", "--voxel-size", 0.05, "--out", out)
    assert np.load(out).shape == (1, 16)
    np.save(tmp_path / "same.npy", np.full((20, 3), 0.5, np.float32))
    features("--checkpoint", w, "--points", tmp_path / "same.npy", "--voxel-size", 0.05, "--out", out)
    got = np.load(out)
    assert got.shape == (20, 16) and np.all(np.isfinite(got)) and np.all(got == got[0])


def test_extreme_coordinates_do_not_wrap(tmp_path):
    """-2^20 and 2^20 - 1 are the ends of the supported range; x-neighbours only if the 21-bit
    packing wrapped around. Run together, each row must equal its run alone."""
    lim, w = 1 << 20, ROOM / "weights.safetensors"
    rows = np.array([[-lim, 0, 0], [lim - 1, 0, 0], [0, -lim, lim - 1]], np.int32)
    np.save(tmp_path / "all.npy", rows)
    features("--checkpoint", w, "--voxel-coords", tmp_path / "all.npy", "--out", tmp_path / "all_out.npy")
    together = np.load(tmp_path / "all_out.npy")
    for i in range(len(rows)):
        np.save(tmp_path / "one.npy", rows[i:i + 1])
        features("--checkpoint", w, "--voxel-coords", tmp_path / "one.npy", "--out", tmp_path / "one_out.npy")
        assert np.array_equal(np.load(tmp_path / "one_out.npy")[0], together[i])


SHARED = Path(os.environ.get("OV3D_SHARED_DATA") or mf.ROOT.parent / "shared" / "data")
SCENE = SHARED / "scannet_votenet50k" / "scene0000_00_vert.npy"


def _openscene_voxelize(points, voxel_size):
    """The fixture README's voxeliser in numpy: float64 quantisation, shift to min 0, FNV-1 hash,
    np.unique (first point per voxel). Returns (coords int32, inverse int32)."""
    q = np.floor(points.astype(np.float64) * (1.0 / voxel_size))
    q = np.floor(q - q.min(axis=0)).astype(np.int64)
    h = np.full(len(q), 14695981039346656037, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for ax in range(3):
            h = (h * np.uint64(1099511628211)) ^ q[:, ax].astype(np.uint64)
    _, inds, inverse = np.unique(h, return_index=True, return_inverse=True)
    return q[inds].astype(np.int32), inverse.astype(np.int32)


@pytest.mark.skipif(not SCENE.exists(), reason=f"real ScanNet scene absent ({SCENE}); set OV3D_SHARED_DATA")
def test_real_scannet_scene_both_interfaces(tmp_path):
    """scene0000_00 (50k points, 49499 voxels at 2 cm) through both interfaces against the
    spconv samples of Tests/Fixtures/minkunet/scene0000_18a_w8."""
    import hashlib
    import json
    d = mf.FIX / "scene0000_18a_w8"
    meta = json.loads((d / "meta.json").read_text())
    pts = np.ascontiguousarray(np.load(SCENE)[:, :3]).astype(np.float32)
    np.save(tmp_path / "pts.npy", pts)
    coords, inverse = _openscene_voxelize(pts, 0.02)
    assert hashlib.sha256(coords.tobytes()).hexdigest() == meta["digests"]["coords_int32"]["sha256"]
    assert hashlib.sha256(inverse.tobytes()).hexdigest() == meta["digests"]["inverse_int32"]["sha256"]
    np.save(tmp_path / "coords.npy", coords)
    w = ROOM / "weights.safetensors"
    features("--checkpoint", w, "--points", tmp_path / "pts.npy", "--voxel-size", 0.02, "--out", tmp_path / "p.npy")
    features("--checkpoint", w, "--voxel-coords", tmp_path / "coords.npy", "--out", tmp_path / "v.npy")
    p, v = np.load(tmp_path / "p.npy"), np.load(tmp_path / "v.npy")
    assert p.shape == (50000, 16) and v.shape == (49499, 16)
    e_p = mf.rel_err(p[np.load(d / "sample_point_rows.npy")], np.load(d / "sample_point_features.npy"))
    e_v = mf.rel_err(v[np.load(d / "sample_voxel_rows.npy")], np.load(d / "sample_voxel_features.npy"))
    print(f"features scene0000 (18A/w8): points max-abs rel err {e_p:.3g}, voxels {e_v:.3g}")
    assert e_p < 1e-4 and e_v < 1e-4
    assert np.array_equal(coords[np.load(d / "sample_voxel_rows.npy")], np.load(d / "sample_voxel_coords.npy"))
    assert mf.label_mismatches(p, np.load(d / "point_labels.npy")) == 0
    assert np.array_equal(p, v[inverse])


def _bad_weights(path):
    sd, meta = mf.read_safetensors(ROOM / "weights.safetensors")
    sd["net3d.block3.1.conv2.kernel"] = np.zeros((27, 16, 15), np.float32)
    mf.write_safetensors(path, sd, meta)


# name -> (kind, array or writer, extra args, expected message fragment)
POINT_CASES = {
    "empty cloud": (np.zeros((0, 3), np.float32), "empty"),
    "NaN coordinate": (np.array([[0, 0, 0], [np.nan, 1, 1]], np.float32), "non-finite"),
    "Inf coordinate": (np.array([[0, 0, 0], [1, np.inf, 1]], np.float32), "non-finite"),
    "beyond 2^20 voxels": (np.array([[0, 0, 0], [60000, 0, 0]], np.float32), "2^20"),
    "N×4 points": (np.zeros((3, 4), np.float32), "N×3 float"),
    "integer points": (np.zeros((3, 3), np.int32), "N×3 float"),
}
VOXEL_CASES = {
    "duplicate coordinates": (np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]], np.int32), None, "twice"),
    "duplicate N×4": (np.array([[2, 0, 0, 0], [2, 0, 0, 0]], np.int32), None, "twice"),
    "beyond 2^20": (np.array([[1 << 20, 0, 0]], np.int32), None, "2^20"),
    "beyond -2^20 N×4": (np.array([[0, 0, -(1 << 20) - 1, 0]], np.int32), None, "2^20"),
    "does not fit int32": (np.array([[1 << 40, 0, 0]], np.int64), None, "int32"),
    "float coordinates": (np.zeros((2, 3), np.float32), None, "integer"),
    "N×2 coordinates": (np.zeros((2, 2), np.int32), None, "N×3 or N×4"),
    "1-D coordinates": (np.zeros((3,), np.int32), None, "N×3 or N×4"),
    "no coordinates": (np.zeros((0, 3), np.int32), None, "empty"),
    "NaN features": (np.array([[0, 0, 0], [1, 0, 0]], np.int32), np.array([[1, 1, 1], [1, np.nan, 1]], np.float32), "NaN"),
    "features wrong width": (np.array([[0, 0, 0]], np.int32), np.ones((1, 2), np.float32), "features"),
    "features wrong rows": (np.array([[0, 0, 0]], np.int32), np.ones((2, 3), np.float32), "features"),
}


def _expect_clean_failure(rc, err, fragment, out):
    assert rc > 0, f"exit status {rc} (negative = killed by a signal): {err}"
    assert "Fatal error" not in err and "Stack dump" not in err, err
    assert fragment in err, err
    assert not out.exists()


@pytest.mark.parametrize("name", list(POINT_CASES))
def test_bad_points_fail_cleanly(name, tmp_path):
    arr, fragment = POINT_CASES[name]
    np.save(tmp_path / "p.npy", arr)
    out = tmp_path / "out.npy"
    rc, err = features("--checkpoint", ROOM / "weights.safetensors", "--points", tmp_path / "p.npy",
                       "--voxel-size", 0.05, "--out", out, ok=False)
    _expect_clean_failure(rc, err, fragment, out)
    assert err.startswith("ov3d features: ")


@pytest.mark.parametrize("name", list(VOXEL_CASES))
def test_bad_voxels_fail_cleanly(name, tmp_path):
    coords, feats, fragment = VOXEL_CASES[name]
    np.save(tmp_path / "c.npy", coords)
    args = ["--checkpoint", ROOM / "weights.safetensors", "--voxel-coords", tmp_path / "c.npy"]
    if feats is not None:
        np.save(tmp_path / "f.npy", feats)
        args += ["--input-features", tmp_path / "f.npy"]
    out = tmp_path / "out.npy"
    rc, err = features(*args, "--out", out, ok=False)
    _expect_clean_failure(rc, err, fragment, out)


def test_bad_checkpoints_and_arguments_fail_cleanly(tmp_path):
    out = tmp_path / "out.npy"
    np.save(tmp_path / "one.npy", np.array([[1, 2, 3]], np.float32))
    pts = ["--points", tmp_path / "one.npy", "--voxel-size", 0.05, "--out", out]
    # A weight with the wrong shape: the key is named.
    _bad_weights(tmp_path / "bad.safetensors")
    rc, err = features("--checkpoint", tmp_path / "bad.safetensors", *pts, ok=False)
    _expect_clean_failure(rc, err, "block3.1.conv2.kernel", out)
    rc, err = features("--checkpoint", tmp_path / "missing.safetensors", *pts, ok=False)
    _expect_clean_failure(rc, err, "missing.safetensors", out)
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    rc, err = features("--checkpoint", tmp_path / "junk.safetensors", *pts, ok=False)
    _expect_clean_failure(rc, err, "junk.safetensors", out)
    (tmp_path / "trunc.npy").write_bytes(b"\x93NUMPY\x01\x00\xff\xffjunk")
    rc, err = features("--checkpoint", ROOM / "weights.safetensors", "--points", tmp_path / "trunc.npy",
                       "--voxel-size", 0.05, "--out", out, ok=False)
    _expect_clean_failure(rc, err, "trunc.npy", out)
    for vs in ("0", "-1", "nan"):
        rc, err = features("--checkpoint", ROOM / "weights.safetensors", "--points", tmp_path / "one.npy",
                           f"--voxel-size={vs}", "--out", out, ok=False)
        _expect_clean_failure(rc, err, "voxel size", out)
    rc, err = features("--checkpoint", ROOM / "weights.safetensors", *pts, "--head", "nope", ok=False)
    _expect_clean_failure(rc, err, "no head 'nope'", out)
    # --points without --voxel-size, when the checkpoint records none.
    rc, err = features("--checkpoint", ROOM / "weights.safetensors", "--points", tmp_path / "one.npy", "--out", out, ok=False)
    _expect_clean_failure(rc, err, "--voxel-size", out)
    # Argument errors (usage): both or neither input.
    for args in (["--points", tmp_path / "one.npy", "--voxel-coords", tmp_path / "one.npy"], [],
                 ["--voxel-coords", ROOM / "coords.npy", "--voxel-size", 0.05]):
        rc, err = features("--checkpoint", ROOM / "weights.safetensors", *args, "--out", out, ok=False)
        _expect_clean_failure(rc, err, "Usage", out)


def test_points_use_the_voxel_size_recorded_in_a_converted_checkpoint(tmp_path):
    """`ov3d convert --voxel-size` records it; `--points` without `--voxel-size` then uses it."""
    conv = tmp_path / "m.safetensors"
    p = subprocess.run([TOOL, "convert", str(ROOM / "weights.safetensors"), str(conv), "--voxel-size", "0.05"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    features("--checkpoint", conv, "--points", ROOM / "points.npy", "--out", tmp_path / "a.npy")
    features("--checkpoint", ROOM / "weights.safetensors", "--points", ROOM / "points.npy", "--voxel-size", 0.05,
             "--out", tmp_path / "b.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
