"""Hostile files through every `ov3d` command that reads their format (issue 17).

tools/hostile_files.py writes the corpus (npy, PCD, PLY, legacy and zip torch checkpoints,
safetensors, BPE vocabularies, PNG depth images through fusion manifests, manifests and train
configs: sizes the file does not hold, overflowing shapes, overlapping offsets, zip bombs, deep
nesting, views outside their storage, code-running pickles). Every run must end with an exit
status, never a signal, within 30 s of CPU time (`ulimit -t`; the wall-clock bound is looser so a
loaded machine does not turn slowness into failures) and a 2 GiB address-space limit (`ulimit -v`); a failure
must print `ov3d <command>: ...` naming the file; a failed run leaves no output file; no pickle
ever creates the marker file.

By default each file goes through one of its format's commands (rotating, so every command
sees several files of every format: 232 runs); OV3D_HOSTILE_ALL=1 runs every command on every
file (1428 runs; 27 min with a release tool on the shared, loaded 2-core machine; the result
is in docs/robustness.md), OV3D_HOSTILE_REPORT=FILE writes the counts and problems as JSON.
Run: OV3D_TOOL=.build/debug/ov3d-tool python3 -m pytest -q tests/cli/test_hostile.py
"""
import json
import os
import resource
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from test_features_cli import TOOL

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import hostile_files as hf  # noqa: E402

pytestmark = [pytest.mark.skipif(TOOL is None, reason="ov3d-tool not built"),
              # scripts/test.sh runs tests/cli a second time on the OpenBLAS kernels: parsing does not depend on them.
              pytest.mark.skipif(os.environ.get("OV3D_KERNELS") == "blas", reason="parsers do not depend on the kernels")]

WEIGHTS = ROOT / "Tests/Fixtures/minkunet/room_18a_w8/weights.safetensors"
TEXT_WEIGHTS = ROOT / "Tests/Fixtures/text/hf_tiny"
CPU_SECONDS = 30
TIMEOUT = 180
MEMORY = 2 << 30


def commands(c, f, o):
    """The ov3d commands that read a file of case c's format (f = the file, o = an output dir)."""
    valid_points = c / "manifest/points.npy"
    valid_manifest = c / "manifest/valid.json"
    vocab = c / "vocab_valid.txt"
    words = c / "words16.npy"          # 3 words in the 16-d space of WEIGHTS' first head
    word = c / "word16.npy"
    labels = c / "labels.npy"           # labels of valid_points (probe scenes)
    segment = ["--embeddings", words, "--text", "a", "b", "c", "--voxel-size", "0.05", "--threads", "1"]
    probe = ["--epochs", "1", "--batch-size", "1", "--loop", "1", "--classes", "3", "--voxel-size", "0.05", "--out", o / "p.safetensors"]
    ckpt = [["inspect", f], ["convert", f, o / "out.safetensors"],
            ["features", "--checkpoint", f, "--points", valid_points, "--voxel-size", "0.05", "--out", o / "f.npy"],
            ["embed-text", "--weights", f, "--vocab", vocab, "--out", o / "e.npy", "chair"],
            ["segment", valid_points, "--checkpoint", f, *segment, "--out-labels", o / "L.npy"],
            ["probe", "--checkpoint", f, "--scene", f"{valid_points},{labels}", "--probe", "final_seg_lseg", *probe],
            ["demo", "--checkpoint", f, "--frames", "2", "--threads", "1", "--out", o / "demo"]]
    cloud = [["superpoints", "--method", "graph", "--out-ids", o / "ids.npy", f],
             ["superpoints", "--method", "vccs", "--out-ids", o / "ids.npy", "--out-ply", o / "sp.ply", f],
             ["render", f, "--png", o / "r.png", "--width", "64", "--height", "48"],
             ["segment", f, "--checkpoint", WEIGHTS, *segment, "--out", o / "seg.ply", "--out-labels", o / "L.npy", "--out-scores", o / "S.npy"],
             ["query", f, "--checkpoint", WEIGHTS, "--text", "chair", "--embedding", word, "--voxel-size", "0.05",
              "--threads", "1", "--out-scores", o / "S.npy", "--out", o / "h.ply"]]
    return {
        "npy": cloud + [
            ["features", "--checkpoint", WEIGHTS, "--points", f, "--voxel-size", "0.05", "--out", o / "f.npy"],
            ["eval", "--pred", f, "--gt", f, "--num-classes", "3"],
            ["fuse", "--points", f, "--frames", valid_manifest, "--out-features", o / "f.npy", "--out-mask", o / "m.npy"],
            ["segment", valid_points, "--checkpoint", WEIGHTS, *segment[2:], "--embeddings", f, "--out-labels", o / "L.npy"],
            ["query", valid_points, "--checkpoint", WEIGHTS, "--text", "chair", "--embedding", f, "--voxel-size", "0.05",
             "--out-scores", o / "S.npy"],
            ["agglomerate", "--teacher", f, "--teacher", f, "--vocabulary", c / "words3.npy", "--method", "mean", "--out", o / "a.npy"],
            ["agglomerate", "--teacher", c / "teacher16.npy", "--teacher", c / "teacher16.npy", "--vocabulary", f,
             "--method", "max-similarity", "--out", o / "a.npy"],
            ["probe", "--checkpoint", WEIGHTS, "--scene", f"{f},{labels}", *probe]],
        "pcd": cloud,
        "geometry": cloud + [["superpoints", "--method", "region-growing", "--out-ids", o / "ids.npy", f],
                             ["superpoints", "--method", "vccs", "--single-camera-transform", "--out-ids", o / "ids.npy", f],
                             ["features", "--checkpoint", WEIGHTS, "--points", f, "--voxel-size", "0.05", "--out", o / "f.npy"]],
        "ply": cloud + [["superpoints", "--method", "mesh", "--out-ids", o / "ids.npy", f]],
        "legacy": ckpt, "pth": ckpt, "safetensors": ckpt,
        "vocab": [["tokenize", "--vocab", f, "--json", "a chair"],
                  ["embed-text", "--weights", TEXT_WEIGHTS, "--vocab", f, "--out", o / "e.npy", "chair"]],
        "manifest": [["fuse", "--points", valid_points, "--frames", f, "--out-features", o / "f.npy", "--out-mask", o / "m.npy"]],
        "png": [],  # reached through the manifest cases depth_<png>
        "train_config": [["train", "--config", f, "--quiet"]],
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    cases = hf.write_corpus(d)
    K = [[50, 0, 32], [0, 50, 24], [0, 0, 1]]
    T = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    (d / "manifest/valid.json").write_bytes(hf.manifest([dict(depth="depth.png", features="features.npy", intrinsics=K, pose=T)]))
    r = np.random.RandomState(5)
    np.save(d / "words16.npy", r.randn(3, 16).astype(np.float32))
    np.save(d / "word16.npy", r.randn(16).astype(np.float32))
    np.save(d / "words3.npy", r.randn(3, 3).astype(np.float32))
    n = len(np.load(d / "manifest/points.npy"))
    np.save(d / "labels.npy", r.randint(0, 3, n).astype(np.int64))
    np.save(d / "teacher16.npy", r.randn(n, 16).astype(np.float32))
    return d, cases


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))


def run(args, cwd):
    args = [str(a) for a in args]
    try:
        p = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit, cwd=cwd,
                           env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, errors="replace")
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", ""


def test_valid_inputs_work(corpus):
    """The valid companions the hostile cases are built around do load (else the corpus proves nothing)."""
    c, _ = corpus
    rc, err = run(["fuse", "--points", c / "manifest/points.npy", "--frames", c / "manifest/valid.json",
                   "--out-features", c / "vf.npy", "--out-mask", c / "vm.npy"], c)
    assert rc == 0, err
    assert np.load(c / "vm.npy").sum() > 0
    rc, err = run(["tokenize", "--vocab", c / "vocab_valid.txt", "--json", "a chair"], c)
    assert rc == 0, err
    # Each command line of commands() with every input valid: it must succeed (so a hostile
    # file's refusal is about that file, not about the command line).
    v = c / "manifest/points.npy"
    ok = {"npy": v, "legacy": WEIGHTS, "pth": WEIGHTS, "safetensors": WEIGHTS}
    for fmt, f in ok.items():
        for i, cmd in enumerate(commands(c, f, Path("OUT"))[fmt]):
            if cmd[0] in ("embed-text", "eval", "demo") or (fmt == "npy" and "--embeddings" in cmd and cmd[cmd.index("--embeddings") + 1] == f) \
                    or (fmt == "npy" and cmd[0] == "query" and cmd[cmd.index("--embedding") + 1] == f) \
                    or (fmt == "npy" and cmd[0] == "agglomerate" and cmd[cmd.index("--vocabulary") + 1] == f):
                continue  # a cloud is not a text model, a label array, a word embedding or a vocabulary; the demo is slow
            o = c / "valid_out" / f"{fmt}_{i}"
            o.mkdir(parents=True)
            rc, err = run([o / a.name if isinstance(a, Path) and a.parent == Path("OUT") else a for a in cmd], o)
            assert rc == 0, f"ov3d {' '.join(map(str, cmd[:2]))} on valid inputs: {err[-600:]}"


def test_every_command_on_every_hostile_file(corpus):
    c, cases = corpus
    if os.path.exists(hf.MARKER):
        os.unlink(hf.MARKER)
    everything = os.environ.get("OV3D_HOSTILE_ALL") == "1"
    # Reruns of a part of the sweep: OV3D_HOSTILE_ONLY (comma-separated substrings of the case
    # paths) and OV3D_HOSTILE_COMMANDS (comma-separated command names).
    only = [x for x in os.environ.get("OV3D_HOSTILE_ONLY", "").split(",") if x]
    only_cmds = [x for x in os.environ.get("OV3D_HOSTILE_COMMANDS", "").split(",") if x]
    jobs = []
    turn = {}
    for i, case in enumerate(cases):
        f = c / case["path"]
        if only and not any(x in case["path"] for x in only):
            continue
        cmds = [x for x in commands(c, f, Path("OUT"))[case["format"]] if not only_cmds or x[0] in only_cmds]
        if not cmds:
            continue
        if not everything:
            k = turn.get(case["format"], 0)
            turn[case["format"]] = k + 1
            cmds = [cmds[k % len(cmds)]]
        for j, cmd in enumerate(cmds):
            o = c / "out" / f"{i}_{j}"
            o.mkdir(parents=True)
            jobs.append((case, [o / a.name if isinstance(a, Path) and a.parent == Path("OUT") else a for a in cmd], o))

    with ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(lambda j: run(j[1], j[2]), jobs))

    problems = []
    count = dict(runs=len(jobs), succeeded=0, refused=0, signal=0, hang=0, no_message=0, unnamed=0, leftover=0, marker=0)
    for (case, cmd, o), (rc, err) in zip(jobs, results):
        what = f"{case['path']}: ov3d {' '.join(str(a) for a in cmd[:2])}"
        if rc == "timeout":
            count["hang"] += 1
            problems.append(f"{what}: no exit within {TIMEOUT} s")
            continue
        if rc == -signal.SIGXCPU:
            count["hang"] += 1
            problems.append(f"{what}: no exit within {CPU_SECONDS} s of CPU time (a hang)")
            continue
        if rc < 0:
            count["signal"] += 1
            problems.append(f"{what}: killed by signal {signal.Signals(-rc).name}: {err.strip()[-300:]}")
            continue
        if rc == 0:
            count["succeeded"] += 1
        else:
            count["refused"] += 1
            name = Path(case["path"]).name
            named = [name, name.replace("depth_", "")]
            if cmd[0] in ("agglomerate", "probe"):
                # The hostile file may be valid on its own and refused against its companion
                # (a teacher of another width, labels of another count): naming either is right.
                named += [Path(x).name for a in cmd for x in str(a).split(",") if os.sep in x]
            if case["format"] == "manifest" and case["name"].startswith("depth_"):
                named.append(case["name"][len("depth_"):] + ".png")
            line = err.strip().splitlines()[-1] if err.strip() else ""
            if not line.startswith(f"ov3d {cmd[0]}:") and "Error:" not in line:
                count["no_message"] += 1
                problems.append(f"{what}: exit {rc} without an 'ov3d {cmd[0]}: ...' message: {err.strip()[-300:]!r}")
            elif not any(n in err for n in named) and "valid.json" not in err and not (
                    case["format"] == "manifest" and str(c / "manifest") in err):  # names the frame file that is wrong
                count["unnamed"] += 1
                problems.append(f"{what}: the message does not name the file: {line[:300]!r}")
            left = sorted(p.name for p in o.iterdir())
            if left:
                count["leftover"] += 1
                problems.append(f"{what}: failed (exit {rc}) but left {left} behind")
    count["marker"] = int(os.path.exists(hf.MARKER))
    print(f"hostile: {len(jobs)} runs over {len(cases)} files: " + ", ".join(f"{k} {v}" for k, v in count.items()))
    if os.environ.get("OV3D_HOSTILE_REPORT"):
        Path(os.environ["OV3D_HOSTILE_REPORT"]).write_text(json.dumps(
            {"files": len(cases), "counts": count, "problems": problems,
             "commands": sorted({" ".join(str(a) for a in cmd[:3 if cmd[0] == "superpoints" else 1]) for _, cmd, _ in jobs})}, indent=1))
    assert not count["marker"], "a pickle created the marker file"
    assert not problems, f"{len(problems)} of {len(jobs)} runs misbehaved:\n" + "\n".join(problems)


def test_sweep_regressions(corpus):
    """What the full sweep (OV3D_HOSTILE_ALL=1) found on main@566230b, run in every pass: a
    (1e9, 0) vocabulary made `agglomerate` build 10^9 class names (SIGABRT, 16 GB); segment and
    query refused NaN / Inf / huge clouds, a query embedding of the wrong width and agglomerate a
    non-finite teacher or vocabulary without naming the file."""
    c, _ = corpus
    v = c / "manifest/points.npy"
    checks = [
        (["agglomerate", "--teacher", c / "teacher16.npy", "--vocabulary", c / "npy/cols0_rows1e9.npy",
          "--method", "max-similarity", "--out", "a.npy"], 1, "cols0_rows1e9.npy"),
        (["agglomerate", "--teacher", c / "npy/nan_points.npy", "--vocabulary", c / "words3.npy", "--method", "mean",
          "--out", "a.npy"], 1, "nan_points.npy"),
        (["agglomerate", "--teacher", v, "--vocabulary", c / "npy/nan_points.npy", "--method", "mean", "--out", "a.npy"], 1,
         "nan_points.npy"),
        (["query", v, "--checkpoint", WEIGHTS, "--text", "x", "--embedding", c / "npy/one_column.npy", "--voxel-size", "0.05",
          "--out-scores", "s.npy"], 1, "one_column.npy"),
    ]
    for name in ("npy/nan_points.npy", "ply/huge_coords.ply", "geometry/one_inf.pcd"):
        checks.append((["segment", c / name, "--checkpoint", WEIGHTS, "--embeddings", c / "words16.npy", "--text", "a", "b", "c",
                        "--voxel-size", "0.05", "--out-labels", "L.npy"], 1, Path(name).name))
    for i, (cmd, want, named) in enumerate(checks):
        o = c / "regress" / str(i)
        o.mkdir(parents=True)
        rc, err = run(cmd, o)
        assert rc == want, f"ov3d {' '.join(map(str, cmd[:3]))}: rc {rc}: {err[-400:]}"
        assert err.startswith(f"ov3d {cmd[0]}: ") and named in err, err
        assert not list(o.iterdir())
