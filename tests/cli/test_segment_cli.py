"""`ov3d segment` and `ov3d query` (issue 14), called exactly as the issue fixes them, compared
with numpy's own computation from `ov3d features` output (which tests/cli/test_features_cli.py
checks against spconv): labels = argmax of cosine similarity, scores = that cosine, heat-maps =
cosine with the query. Also: the real ScanNet scene with the real CLIP label embeddings from
../shared/data (skipped when absent), NaN points (label -1), the PLY output, and bad inputs.

Run: python3 -m pytest -q tests/cli  (the tool: $OV3D_TOOL, else .build/{debug,release}/ov3d-tool)
"""
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built")

ROOM_W = mf.FIX / "room_18a_w8" / "weights.safetensors"      # MinkUNet18A/8: `final` is 16-d
SHARED = mf.ROOT.parent / "shared" / "data"
SCENE = SHARED / "scannet_votenet50k" / "scene0000_00_vert.npy"
CLIP = SHARED / "clip" / "text_embeddings"


def ov3d(*args, ok=True):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def unit(a):
    a = np.asarray(a, np.float64)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return np.divide(a, n, out=np.zeros_like(a), where=n > 0)


def numpy_segmentation(features, emb):
    """Labels and scores as a user would compute them from `ov3d features` output."""
    s = unit(features) @ unit(emb).T
    labels = s.argmax(axis=1)
    top2 = np.sort(s, axis=1)[:, -2:]
    return labels, s[np.arange(len(s)), labels], top2[:, 1] - top2[:, 0]


def check_against_numpy(labels, scores, features, emb, tie=1e-5):
    ref_l, ref_s, gap = numpy_segmentation(features, emb)
    clear = gap > tie
    assert labels.dtype == np.int32 and scores.dtype == np.float32
    mism = int((labels[clear] != ref_l[clear]).sum())
    err = float(np.abs(scores[clear] - ref_s[clear]).max())
    print(f"labels: {mism} of {clear.sum()} differ (near ties skipped: {(~clear).sum()}), max score error {err:.3g}")
    assert mism == 0
    assert err < 2e-5


def read_ply(path):
    """Header lines and the vertex records of a binary little-endian PLY (x y z r g b label score)."""
    raw = Path(path).read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end].decode().splitlines()
    props = [l.split()[1:] for l in header if l.startswith("property")]
    fmt = {"float": "f4", "uchar": "u1", "int": "i4"}
    dt = np.dtype([(name, "<" + fmt[t]) for t, name in props])
    n = int(next(l for l in header if l.startswith("element vertex")).split()[2])
    return header, np.frombuffer(raw[end:end + n * dt.itemsize], dtype=dt)


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """The room fixture's points, 6 words of 16-d embeddings, and `ov3d features` of the points."""
    d = tmp_path_factory.mktemp("room")
    pts = np.load(mf.FIX / "room_18a_w8" / "points.npy")
    emb = np.random.default_rng(4).standard_normal((6, 16)).astype(np.float32)
    np.save(d / "pts.npy", pts)
    np.save(d / "emb.npy", emb)
    (d / "labels.txt").write_text("wall\nfloor\nchair\ntable\ndoor\nfire extinguisher\n")
    ov3d("features", "--checkpoint", ROOM_W, "--points", d / "pts.npy", "--voxel-size", 0.05, "--out", d / "f.npy")
    return d, pts, emb, np.load(d / "f.npy")


def test_segment_matches_numpy_from_features(room, tmp_path):
    d, pts, emb, feats = room
    p = ov3d("segment", d / "pts.npy", "--checkpoint", ROOM_W, "--labels-file", d / "labels.txt", "--embeddings",
             d / "emb.npy", "--voxel-size", 0.05, "--out", tmp_path / "seg.ply", "--out-labels", tmp_path / "L.npy",
             "--out-scores", tmp_path / "S.npy", "--json")
    summary = json.loads(p.stdout)
    labels, scores = np.load(tmp_path / "L.npy"), np.load(tmp_path / "S.npy")
    assert labels.shape == scores.shape == (len(pts),)
    check_against_numpy(labels, scores, feats, emb)
    names = ["wall", "floor", "chair", "table", "door", "fire extinguisher"]
    assert summary["vocabulary"] == names and summary["points"] == len(pts) and summary["skipped_points"] == 0
    assert summary["voxel_size"] == 0.05 and summary["voxel_size_source"] == "requested"
    assert {k: v["points"] for k, v in summary["counts"].items()} == {n: int((labels == i).sum()) for i, n in enumerate(names)}
    assert summary["timings_ms"]["network"] > 0 and summary["timings_ms"]["total"] >= summary["timings_ms"]["network"]
    # The PLY: colour per label, label and score properties, label names in the header comments.
    header, v = read_ply(tmp_path / "seg.ply")
    assert [l for l in header if l.startswith("comment label ")] == [f"comment label {i} {n}" for i, n in enumerate(names)]
    assert np.array_equal(v["label"], labels) and np.array_equal(v["score"], scores)
    assert np.allclose(np.stack([v["x"], v["y"], v["z"]], 1), pts)
    for i in range(6):
        c = np.stack([v["red"], v["green"], v["blue"]], 1)[labels == i]
        assert len(np.unique(c, axis=0)) <= 1   # one colour per label


def test_voxels_at_boundaries_as_float64_and_as_the_c_abi(room, tmp_path):
    """Points either side of 5 cm voxel boundaries (x = 0.25·j and the float32 just below): the
    CLI voxelises as OpenScene does in float64 (80 voxels), the same voxels the C ABI's float
    0.05f gives (bindings/python/tests/test_segmentation.py checks that side on these points)."""
    d, _, emb, _ = room
    k = (np.arange(1, 41) * 0.25).astype(np.float32)
    x = np.concatenate([k, np.nextafter(k, np.float32(0))])
    xyz = np.stack([x, np.zeros_like(x), np.zeros_like(x)], 1).astype(np.float32)
    np.save(tmp_path / "b.npy", xyz)
    ref = len(np.unique(np.floor(xyz.astype(np.float64) * (1 / 0.05)), axis=0))
    p = ov3d("segment", tmp_path / "b.npy", "--checkpoint", ROOM_W, "--text", "a", "b", "c", "d", "e", "f",
             "--embeddings", d / "emb.npy", "--voxel-size", 0.05, "--json")
    assert ref == 80 and json.loads(p.stdout)["voxels"] == ref


def test_words_on_the_command_line_and_the_default_voxel_size(room, tmp_path):
    d, pts, emb, _ = room
    p = ov3d("segment", d / "pts.npy", "--checkpoint", ROOM_W, "--text", "a", "b", "c", "d", "e", "f",
             "--embeddings", d / "emb.npy", "--out-labels", tmp_path / "L.npy", "--json")
    s = json.loads(p.stdout)
    assert s["vocabulary"] == list("abcdef")
    assert s["voxel_size"] == 0.02 and s["voxel_size_source"] == "default"
    assert "0.02" in p.stderr   # the note says which voxel size was used
    # The voxel size recorded in a converted checkpoint is used when none is given.
    ov3d("convert", ROOM_W, tmp_path / "m.safetensors", "--voxel-size", 0.05)
    p = ov3d("segment", d / "pts.npy", "--checkpoint", tmp_path / "m.safetensors", "--labels-file", d / "labels.txt",
             "--embeddings", d / "emb.npy", "--out-labels", tmp_path / "L2.npy", "--json")
    s = json.loads(p.stdout)
    assert s["voxel_size"] == 0.05 and s["voxel_size_source"] == "checkpoint"


def test_query_matches_numpy(room, tmp_path):
    d, pts, emb, feats = room
    np.save(tmp_path / "q.npy", emb[5])
    ov3d("query", d / "pts.npy", "--checkpoint", ROOM_W, "--text", "fire extinguisher", "--embedding", tmp_path / "q.npy",
         "--voxel-size", 0.05, "--out-scores", tmp_path / "H.npy", "--out", tmp_path / "heat.ply")
    heat = np.load(tmp_path / "H.npy")
    ref = unit(feats) @ unit(emb[5])
    assert heat.dtype == np.float32 and heat.shape == (len(pts),)
    assert np.abs(heat - ref).max() < 2e-5
    header, v = read_ply(tmp_path / "heat.ply")
    assert np.array_equal(v["score"], heat)
    assert any("fire extinguisher" in l for l in header)
    hottest = np.argmax(heat)
    assert v["red"][hottest] == 255 and v["blue"][hottest] == 0


def test_nan_points_are_skipped_with_label_minus_one(room, tmp_path):
    d, pts, emb, _ = room
    holes = pts.copy()
    holes[::9] = np.nan
    np.save(tmp_path / "holes.npy", holes)
    ov3d("segment", tmp_path / "holes.npy", "--checkpoint", ROOM_W, "--labels-file", d / "labels.txt", "--embeddings",
         d / "emb.npy", "--voxel-size", 0.05, "--out-labels", tmp_path / "L.npy", "--out-scores", tmp_path / "S.npy")
    labels, scores = np.load(tmp_path / "L.npy"), np.load(tmp_path / "S.npy")
    assert (labels[::9] == -1).all() and np.isnan(scores[::9]).all()
    keep = np.ones(len(pts), bool)
    keep[::9] = False
    np.save(tmp_path / "kept.npy", pts[keep])
    ov3d("features", "--checkpoint", ROOM_W, "--points", tmp_path / "kept.npy", "--voxel-size", 0.05, "--out", tmp_path / "f.npy")
    check_against_numpy(labels[keep], scores[keep], np.load(tmp_path / "f.npy"), emb)


def test_organised_pcd_with_nan_points(tmp_path):
    pcd = SHARED / "pcl_testdata" / "office1.pcd"
    if not pcd.exists():
        pytest.skip("../shared/data/pcl_testdata/office1.pcd not present")
    emb = np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)
    np.save(tmp_path / "e.npy", emb)
    p = ov3d("segment", pcd, "--checkpoint", ROOM_W, "--text", "a", "b", "c", "--embeddings", tmp_path / "e.npy",
             "--voxel-size", 0.05, "--out-labels", tmp_path / "L.npy", "--json")
    s = json.loads(p.stdout)
    labels = np.load(tmp_path / "L.npy")
    assert labels.shape == (640 * 480,) and s["points"] == 640 * 480
    print(f"office1.pcd: {s['skipped_points']} NaN points skipped of {s['points']}")
    assert 0.15 < s["skipped_points"] / s["points"] < 0.2   # 17.2 % NaN (shared data README)
    assert int((labels == -1).sum()) == s["skipped_points"]


def test_real_scannet_scene_with_real_clip_embeddings(tmp_path):
    """scene0000_00 (real ScanNet, N×6 npy) and CLIP ViT-B/32 embeddings of the ScanNet-20 labels
    (fp16 .npy), a full-width MinkUNet18A (seeded weights: no trained weights are available)."""
    emb_file = CLIP / "clip_scannet_labels_512.npy"
    if not (SCENE.exists() and emb_file.exists()):
        pytest.skip("../shared/data (ScanNet scene0000_00, CLIP label embeddings) not present")
    w = tmp_path / "m18a.safetensors"
    mf.write_safetensors(w, mf.seeded_state_dict("synth_18a_full"))
    p = ov3d("segment", SCENE, "--checkpoint", w, "--labels", "scannet20", "--embeddings", emb_file,
             "--out-labels", tmp_path / "L.npy", "--out-scores", tmp_path / "S.npy", "--out", tmp_path / "seg.ply", "--json")
    summary = json.loads(p.stdout)
    print(json.dumps(summary, indent=1))
    names = (CLIP / "scannet20_labelset.txt").read_text().split("\n")
    assert summary["vocabulary"] == [n for n in names if n]
    xyz = np.load(SCENE)[:, :3].astype(np.float32)
    np.save(tmp_path / "xyz.npy", xyz)
    ov3d("features", "--checkpoint", w, "--points", tmp_path / "xyz.npy", "--voxel-size", 0.02, "--out", tmp_path / "f.npy")
    emb = np.load(emb_file)
    assert emb.dtype == np.float16 and emb.shape == (20, 512)
    check_against_numpy(np.load(tmp_path / "L.npy"), np.load(tmp_path / "S.npy"), np.load(tmp_path / "f.npy"),
                        emb.astype(np.float32))
    np.save(tmp_path / "q.npy", emb[4])   # "chair"
    ov3d("query", SCENE, "--checkpoint", w, "--text", "chair", "--embedding", tmp_path / "q.npy",
         "--out-scores", tmp_path / "H.npy")
    ref = unit(np.load(tmp_path / "f.npy")) @ unit(emb[4].astype(np.float32))
    assert np.abs(np.load(tmp_path / "H.npy") - ref).max() < 2e-5


@pytest.mark.parametrize("args,message", [
    (["--text", "a", "b", "--embeddings", "EMB"], "holds 6 embeddings but 2 words"),
    (["--labels", "nosuchset", "--embeddings", "EMB"], "unknown label set"),
    (["--labels-file", "LBL"], "exactly one of --embeddings"),
    (["--labels-file", "LBL", "--text", "x", "--embeddings", "EMB"], "exactly one of --labels"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--head", "nohead"], "no head 'nohead'"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--voxel-size=-1"], "--voxel-size must be a positive"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--voxel-size=nan"], "--voxel-size must be a positive"),
    (["--labels-file", "LBL", "--text-encoder", "EMB", "--template", "no slot"], "has no {} for the word"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--vocab", "EMB"], "--vocab applies to --text-encoder only"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--threads", "999"], "--threads must be 0...256"),
    (["--labels-file", "LBL", "--embeddings", "EMB", "--out", "x.txt"], "PLY"),
])
def test_bad_inputs_fail_with_a_message(room, tmp_path, args, message):
    d, _, _, _ = room
    args = [str(a).replace("EMB", str(d / "emb.npy")).replace("LBL", str(d / "labels.txt")) for a in args]
    args = [a if a != "x.txt" else str(tmp_path / "x.txt") for a in args]
    p = ov3d("segment", d / "pts.npy", "--checkpoint", ROOM_W, *args, ok=False)
    assert p.returncode != 0 and message in p.stderr, p.stderr
    assert "Fatal error" not in p.stderr and p.returncode < 128


def test_dimension_mismatch_and_missing_input_fail_cleanly(room, tmp_path):
    d, _, _, _ = room
    np.save(tmp_path / "e512.npy", np.ones((6, 512), np.float32))
    p = ov3d("segment", d / "pts.npy", "--checkpoint", ROOM_W, "--labels-file", d / "labels.txt", "--embeddings",
             tmp_path / "e512.npy", ok=False)
    assert p.returncode != 0 and "16-d features" in p.stderr and "512" in p.stderr
    np.save(tmp_path / "e16.npy", np.ones(16, np.float32))
    p = ov3d("query", tmp_path / "missing.ply", "--checkpoint", ROOM_W, "--text", "x", "--embedding", tmp_path / "e16.npy",
             ok=False)
    assert p.returncode != 0 and "missing.ply" in p.stderr


def test_query_shares_the_option_checks(room, tmp_path):
    """`ov3d query` takes the model and text-encoder options from the same groups as segment."""
    d, _, _, _ = room
    np.save(tmp_path / "e16.npy", np.ones(16, np.float32))
    for args, message in ((["--embedding", tmp_path / "e16.npy", "--voxel-size=0"], "--voxel-size must be a positive"),
                          (["--embedding", tmp_path / "e16.npy", "--text-encoder", "W"], "exactly one of --embedding"),
                          (["--text-encoder", "W", "--template", "x"], "has no {} for the word")):
        p = ov3d("query", d / "pts.npy", "--checkpoint", ROOM_W, "--text", "chair", *args, ok=False)
        assert p.returncode != 0 and message in p.stderr, p.stderr
