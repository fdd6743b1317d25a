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
sees several files of every format: ~200 runs, about 30 s on 2 cores); OV3D_HOSTILE_ALL=1 runs
every command on every file (~650 runs).
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
    ckpt = [["inspect", f], ["convert", f, o / "out.safetensors"],
            ["features", "--checkpoint", f, "--points", valid_points, "--voxel-size", "0.05", "--out", o / "f.npy"],
            ["embed-text", "--weights", f, "--vocab", vocab, "--out", o / "e.npy", "chair"]]
    cloud = [["superpoints", "--method", "graph", "--out-ids", o / "ids.npy", f],
             ["superpoints", "--method", "vccs", "--out-ids", o / "ids.npy", "--out-ply", o / "sp.ply", f],
             ["render", f, "--png", o / "r.png", "--width", "64", "--height", "48"]]
    return {
        "npy": cloud + [
            ["features", "--checkpoint", WEIGHTS, "--points", f, "--voxel-size", "0.05", "--out", o / "f.npy"],
            ["eval", "--pred", f, "--gt", f, "--num-classes", "3"],
            ["fuse", "--points", f, "--frames", valid_manifest, "--out-features", o / "f.npy", "--out-mask", o / "m.npy"]],
        "pcd": cloud,
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


def test_every_command_on_every_hostile_file(corpus):
    c, cases = corpus
    if os.path.exists(hf.MARKER):
        os.unlink(hf.MARKER)
    everything = os.environ.get("OV3D_HOSTILE_ALL") == "1"
    jobs = []
    turn = {}
    for i, case in enumerate(cases):
        f = c / case["path"]
        cmds = commands(c, f, Path("OUT"))[case["format"]]
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
    for (case, cmd, o), (rc, err) in zip(jobs, results):
        what = f"{case['path']}: ov3d {' '.join(str(a) for a in cmd[:2])}"
        if rc == "timeout":
            problems.append(f"{what}: no exit within {TIMEOUT} s")
            continue
        if rc == -signal.SIGXCPU:
            problems.append(f"{what}: no exit within {CPU_SECONDS} s of CPU time (a hang)")
            continue
        if rc < 0:
            problems.append(f"{what}: killed by signal {signal.Signals(-rc).name}: {err.strip()[-300:]}")
            continue
        if rc != 0:
            name = Path(case["path"]).name
            named = [name, name.replace("depth_", "")]
            if case["format"] == "manifest" and case["name"].startswith("depth_"):
                named.append(case["name"][len("depth_"):] + ".png")
            line = err.strip().splitlines()[-1] if err.strip() else ""
            if not line.startswith(f"ov3d {cmd[0]}:") and "Error:" not in line:
                problems.append(f"{what}: exit {rc} without an 'ov3d {cmd[0]}: ...' message: {err.strip()[-300:]!r}")
            elif not any(n in err for n in named) and "valid.json" not in err and not (
                    case["format"] == "manifest" and str(c / "manifest") in err):  # names the frame file that is wrong
                problems.append(f"{what}: the message does not name the file: {line[:300]!r}")
            left = sorted(p.name for p in o.iterdir())
            if left:
                problems.append(f"{what}: failed (exit {rc}) but left {left} behind")
    assert not os.path.exists(hf.MARKER), "a pickle created the marker file"
    print(f"hostile: {len(jobs)} runs over {len(cases)} files, {sum(1 for r in results if r[0] != 0)} refused")
    assert not problems, f"{len(problems)} of {len(jobs)} runs misbehaved:\n" + "\n".join(problems)
