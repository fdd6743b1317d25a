"""`ov3d render` and `ov3d version` (issue 14) end to end: pictures of a generated room in RGB,
label and heat-map modes (PNG decoded here and looked at pixel by pixel), the NaN-point rule,
bad inputs (a clear message and a non-zero exit status, never a crash), and the kernels report
with an unknown OV3D_KERNELS refused.

The tool is $OV3D_TOOL, else the first of .build/{debug,release}/ov3d-tool and bin/ov3d.
Run: python3 -m pytest -q tests/cli
"""
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minkunet_fixture as mf  # noqa: E402
from test_features_cli import TOOL  # noqa: E402

pytestmark = pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built (swift build --product ov3d-tool, "
                                                     "or set OV3D_TOOL)")


def run(*args, env=None):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def read_png(path):
    """Decodes an 8-bit RGB, non-interlaced PNG (what ov3d writes) to an H×W×3 uint8 array."""
    b = Path(path).read_bytes()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(b):
        n, kind = struct.unpack(">I4s", b[pos:pos + 8])
        data = b[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert depth == 8 and ctype == 2 and interlace == 0
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 3 * w
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            c = prev[x - 3] if x >= 3 else 0
            up = prev[x]
            if f == 0:
                v = line[x]
            elif f == 1:
                v = line[x] + a
            elif f == 2:
                v = line[x] + up
            elif f == 3:
                v = line[x] + (a + up) // 2
            else:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                v = line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)
            cur[x] = v & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, 3).astype(np.uint8)


TABLE = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189),
         (23, 190, 207), (227, 119, 194), (188, 189, 34), (140, 86, 75), (255, 221, 51)]


def label_color(label):
    """ov3d's label palette (LabelColors) for the first labels."""
    return (128, 128, 128) if label < 0 else TABLE[label]


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A floor, a wall and a dense red box, N×6 float32 (x y z r g b), plus labels and scores."""
    d = tmp_path_factory.mktemp("render")
    g = np.arange(0, 4, 0.08, dtype=np.float32)
    fx, fy = np.meshgrid(g, g)
    floor = np.stack([fx.ravel(), fy.ravel(), np.zeros(fx.size, np.float32)], 1)
    wx, wz = np.meshgrid(g, g[:25])
    wall = np.stack([wx.ravel(), np.full(wx.size, 4, np.float32), wz.ravel()], 1)
    b = np.arange(0, 0.4, 0.02, dtype=np.float32)
    bx, by, bz = np.meshgrid(b, b, b)
    box = np.stack([bx.ravel() + 1.5, by.ravel() + 1.5, bz.ravel()], 1)
    xyz = np.concatenate([floor, wall, box]).astype(np.float32)
    rgb = np.concatenate([np.tile([200, 180, 150], (len(floor), 1)), np.tile([120, 140, 200], (len(wall), 1)),
                          np.tile([220, 40, 40], (len(box), 1))]).astype(np.float32)
    np.save(d / "room.npy", np.concatenate([xyz, rgb], 1))
    labels = np.concatenate([np.zeros(len(floor)), np.ones(len(wall)), np.full(len(box), 2)]).astype(np.int32)
    np.save(d / "labels.npy", labels)
    np.save(d / "scores.npy", (xyz[:, 2] / xyz[:, 2].max()).astype(np.float16))   # fp16 accepted
    return d, len(xyz)


def test_rgb_picture(room):
    d, _ = room
    rc, _, err = run("render", d / "room.npy", "--png", d / "rgb.png", "--width", 320, "--height", 240)
    assert rc == 0, err
    img = read_png(d / "rgb.png")
    assert img.shape == (240, 320, 3)
    red = (img[..., 0] > 120) & (img[..., 1] < 60) & (img[..., 2] < 60)
    assert red.sum() > 50, red.sum()                       # the box is visible
    assert (img[0, 0] > 240).all()                         # background in the corner
    # Deterministic: the same command gives the same bytes.
    rc, _, err = run("render", d / "room.npy", "--png", d / "rgb2.png", "--width", 320, "--height", 240)
    assert rc == 0 and (d / "rgb.png").read_bytes() == (d / "rgb2.png").read_bytes()


def test_labels_picture_has_palette_and_legend(room):
    d, _ = room
    rc, _, err = run("render", d / "room.npy", "--labels", d / "labels.npy", "--names", "floor", "wall", "box",
                     "--png", d / "labels.png", "--width", 480, "--height", 240, "--view", "top")
    assert rc == 0, err
    img = read_png(d / "labels.png").astype(int)
    for label in range(3):
        c = np.array(label_color(label))
        exact = (np.abs(img - c).max(axis=2) == 0).sum()    # legend swatch (unshaded)
        assert exact >= 16, (label, exact)
    # Label names as a comma list and as a label set work too.
    rc, _, err = run("render", d / "room.npy", "--labels", d / "labels.npy", "--names", "floor,wall,box",
                     "--png", d / "labels2.png", "--width", 480, "--height", 240, "--view", "top")
    assert rc == 0, err
    assert (d / "labels.png").read_bytes() == (d / "labels2.png").read_bytes()
    rc, _, err = run("render", d / "room.npy", "--labels", d / "labels.npy", "--names", "scannet20",
                     "--png", d / "labels3.png", "--view", "1,-1,0.5")
    assert rc == 0, err


def test_scores_picture_has_colour_bar(room):
    d, _ = room
    rc, _, err = run("render", d / "room.npy", "--scores", d / "scores.npy", "--score-title", "box",
                     "--png", d / "heat.png", "--width", 400, "--height", 300)
    assert rc == 0, err
    img = read_png(d / "heat.png").astype(int)
    # The two ends of the colour map appear (bar ends).
    assert (np.abs(img - np.array([125, 8, 5])).max(axis=2) <= 6).sum() > 10
    assert (np.abs(img - np.array([48, 18, 59])).max(axis=2) <= 6).sum() > 10


def test_nan_points_are_skipped_and_values_follow_the_file(room, tmp_path):
    d, n = room
    pts = np.load(d / "room.npy")
    pts[::7, :3] = np.nan
    np.save(tmp_path / "holes.npy", pts)
    rc, _, err = run("render", tmp_path / "holes.npy", "--labels", d / "labels.npy", "--png", tmp_path / "h.png",
                     "--width", 200, "--height", 150)
    assert rc == 0, err
    np.save(tmp_path / "short.npy", np.zeros(n - 1, np.int32))
    rc, _, err = run("render", tmp_path / "holes.npy", "--labels", tmp_path / "short.npy", "--png", tmp_path / "x.png")
    assert rc != 0 and "--labels" in err


@pytest.mark.parametrize("args, needle", [
    (["--labels", "L", "--scores", "S"], "not both"),
    (["--view", "sideways"], "view"),
    (["--view", "0,0,0"], "zero"),
    (["--width", "3"], "width"),
    (["--names", "a"], "--names needs --labels"),
])
def test_bad_arguments(room, tmp_path, args, needle):
    d, _ = room
    rc, _, err = run("render", d / "room.npy", "--png", tmp_path / "x.png", *args)
    assert rc != 0 and needle in err, err
    assert not (tmp_path / "x.png").exists()


def test_bad_files(room, tmp_path):
    d, n = room
    rc, _, err = run("render", tmp_path / "missing.ply", "--png", tmp_path / "x.png")
    assert rc != 0 and "missing.ply" in err
    np.save(tmp_path / "flabels.npy", np.zeros(n, np.float32))
    rc, _, err = run("render", d / "room.npy", "--labels", tmp_path / "flabels.npy", "--png", tmp_path / "x.png")
    assert rc != 0 and "integer" in err
    np.save(tmp_path / "neg.npy", np.full(n, -5, np.int32))
    rc, _, err = run("render", d / "room.npy", "--labels", tmp_path / "neg.npy", "--png", tmp_path / "x.png")
    assert rc != 0 and "-5" in err
    rc, _, err = run("render", d / "room.npy", "--png", tmp_path / "no" / "dir" / "x.png")
    assert rc != 0 and "x.png" in err


def test_version_names_kernels_and_features():
    rc, out, err = run("version")
    assert rc == 0, err
    assert "kernels:" in out and ("avx512" in out or "openblas" in out)
    for f in ("PCL", "libpng", "zlib", "BLAS"):
        assert f + ":" in out, out
    rc, out, _ = run("version", env={"OV3D_KERNELS": "blas"})
    assert rc == 0 and "kernels: openblas" in out
    rc, out, err = run("version", env={"OV3D_KERNELS": "avx-512"})
    assert rc != 0 and "OV3D_KERNELS" in err and "avx-512" in err and "allowed" in err, err


def test_unknown_kernels_value_stops_computing_commands(tmp_path):
    """A command that runs kernels fails with the same message instead of silently choosing."""
    room = mf.FIX / "room_18a_w8"
    w = room / "weights.safetensors"
    rc, _, err = run("features", "--checkpoint", w, "--voxel-coords", room / "coords.npy",
                     "--input-features", room / "input_features.npy", "--out", tmp_path / "f.npy",
                     env={"OV3D_KERNELS": "fast"})
    assert rc != 0 and "OV3D_KERNELS" in err and "fast" in err, err
    assert not (tmp_path / "f.npy").exists()


VOCAB = mf.ROOT.parent / "shared" / "data" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
TEXT = mf.ROOT / "Tests" / "Fixtures" / "text"


@pytest.mark.skipif(not VOCAB.exists(), reason="../shared/data/clip/bpe_simple_vocab_16e6.txt.gz not found")
def test_embed_text_reads_openai_torchscript_and_defaults_to_openscene_prompt(tmp_path):
    """OpenAI's CLIP TorchScript archive through the command line: bare texts match PyTorch
    (openai-clip's own jit loader) within 1e-5; the default prompt is OpenScene's."""
    import json
    texts = json.loads((TEXT / "openai_clip_tiny_jit.json").read_text())["texts"]
    ref = np.load(TEXT / "openai_clip_tiny_jit_embeddings.npy")
    w = TEXT / "openai_clip_tiny_jit.pt"
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "bare.npy",
                     "--no-template", "--no-normalize", *texts)
    assert rc == 0, err
    got = np.load(tmp_path / "bare.npy")
    err_abs = float(np.abs(got - ref).max())
    print(f"embed-text OpenAI TorchScript tiny: max |ov3d - PyTorch| = {err_abs:.3g}")
    assert got.shape == ref.shape and err_abs < 1e-5
    # Default template == explicit OpenScene prompt; --template "" == --no-template.
    words = ["chair", "wall"]
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "d.npy", *words)
    assert rc == 0, err
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "p.npy",
                     "--no-template", *[f"a {x} in a scene" for x in words])
    assert rc == 0, err
    assert np.array_equal(np.load(tmp_path / "d.npy"), np.load(tmp_path / "p.npy"))
    assert np.allclose(np.load(tmp_path / "d.npy")[0] * np.linalg.norm(ref[0]), ref[0], atol=1e-5)  # "a chair in a scene"
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "e.npy", "--template", "", *words)
    assert rc == 0, err
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "f.npy", "--no-template", *words)
    assert rc == 0 and np.array_equal(np.load(tmp_path / "e.npy"), np.load(tmp_path / "f.npy"))
    rc, _, err = run("embed-text", "--weights", w, "--vocab", VOCAB, "--out", tmp_path / "g.npy", "--template", "no slot", "x")
    assert rc != 0 and "{}" in err


def test_hostile_torchscript_archive_is_refused_by_the_cli(tmp_path):
    """A TorchScript-shaped archive whose data.pkl calls os.system: an error, nothing runs."""
    marker = Path("/tmp/ov3d_pwned")
    if marker.exists():
        marker.unlink()
    rc, _, err = run("inspect", TEXT / "malicious_torchscript_os_system_attribute.pt")
    assert rc != 0 and "system" in err, err
    assert not marker.exists()
