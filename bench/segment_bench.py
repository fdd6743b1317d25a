#!/usr/bin/env python3
"""`segment` end to end (issue 14) from C, Python and the CLI, beside the bare network, on a
ScanNet-sized cloud and on a 1M-point LiDAR scan, with peak memory; and the peer users had
before: per-point features from Python (`Session.run` + `Result.features()`) scored with numpy.

Inputs (../shared/data; the script stops with a message when absent):
  * scannet: the real ScanNet scene scene0000_00 (votenet's 50,000-point subsample, N×6 npy), 2 cm;
  * lidar1m: 1,000,000 points built from the two real SemanticKITTI sweeps (124,668 + 124,605
    points) repeated with a 1 cm seeded jitter per copy (so not a real 1M-point sensor scan),
    5 cm voxels.
Model: a full-width MinkUNet18A (512-d head) with the fixtures' seeded weights (no trained
weights are available; timings do not depend on the weight values); vocabulary: the real CLIP
ViT-B/32 embeddings of the 20 ScanNet labels.

Measured, each in its own process (so that each peak RSS is its own), 1 thread, median of R
timed runs after one untimed first run (the CLI runs R times, each a new process, its in-process
`segment` time and its wall time are reported):
  * network: `ov3d_session_run_voxels` on the same voxels, scored head only (bench/segment_bench_driver.c);
  * C: `ov3d_segment` (voxelise + network + score + broadcast), same driver;
  * Python: `ov3d.segment(xyz, model, vocabulary)` (numpy in, numpy out);
  * CLI: `ov3d segment INPUT --checkpoint M --labels scannet20 --embeddings E --json --out-labels L.npy --out-scores S.npy`;
  * peer: Python `Session.run` + `Result.features()` (N×512 per point) + numpy normalise, matmul, argmax.
Reported: overhead beyond the network = (C − network) / network; binding overhead =
(Python − C) / C; CLI in-process overhead = (CLI segment − C) / C; peak RSS per process.

Usage (release build; 2 shared cores: run it alone, under nice):
    swift build -c release
    nice python3 bench/segment_bench.py --runs 3 --json bench/results/segment.json
(--skip-peer leaves out the per-point peer: 11 minutes and 5.6 GB on lidar1m.)
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import minkunet_fixture as mf  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SCENE = SHARED / "scannet_votenet50k" / "scene0000_00_vert.npy"
KITTI = [SHARED / "semantickitti_seq00" / "velodyne" / f"00000{i}.bin" for i in (0, 1)]
EMB = SHARED / "clip" / "text_embeddings" / "clip_scannet_labels_512.npy"


def make_inputs(d):
    for p in [SCENE, EMB, *KITTI]:
        if not p.exists():
            sys.exit(f"segment_bench: {p} not found (../shared/data)")
    scan = np.load(SCENE)[:, :3].astype(np.float32)
    sweeps = np.concatenate([np.fromfile(k, "<f4").reshape(-1, 4)[:, :3] for k in KITTI])
    rng = np.random.default_rng(14)
    reps = -(-1_000_000 // len(sweeps))
    lidar = np.concatenate([sweeps + rng.uniform(-0.01, 0.01, sweeps.shape).astype(np.float32) for _ in range(reps)])
    lidar = np.ascontiguousarray(lidar[:1_000_000])
    emb = np.load(EMB).astype(np.float32)
    inputs = {}
    for name, pts, voxel in (("scannet", scan, 0.02), ("lidar1m", lidar, 0.05)):
        np.save(d / f"{name}.npy", pts)
        pts.tofile(d / f"{name}.f32")
        inputs[name] = (pts, voxel)
    emb.tofile(d / "emb.f32")
    np.save(d / "emb.npy", emb)
    w = d / "m18a.safetensors"
    mf.write_safetensors(w, mf.seeded_state_dict("synth_18a_full"))
    return inputs, emb, w


PY_CHILD = r'''
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import ov3d
mode, w, pts_path, emb_path, voxel, runs = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]), int(sys.argv[7])
xyz, emb = np.load(pts_path), np.load(emb_path)
names = [str(i) for i in range(len(emb))]
model = ov3d.Model(w)
s = ov3d.Session(model, voxel_size=voxel, n_threads=1)
voc = ov3d.Vocabulary.from_embeddings(emb, names=names)
ms, lib_ms, net_ms = [], [], []
stages = {"voxelize_ms": [], "scoring_ms": [], "broadcast_ms": []}
for r in range(runs + 1):
    t0 = time.perf_counter()
    if mode == "segment":
        res = ov3d.segment(xyz, model, voc, session=s)
        labels, scores = res.labels, res.scores
        lib_ms.append(res.info["total_ms"]); net_ms.append(res.info["network_ms"])
        for k in stages: stages[k].append(res.info[k])
    else:   # the peer: per-point features + numpy
        with s.run(xyz, head=0) as out:
            f = out.features(0)
        f /= np.linalg.norm(f, axis=1, keepdims=True) + 1e-12
        e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        sc = f @ e.T
        labels = sc.argmax(1).astype(np.int32)
        scores = sc[np.arange(len(sc)), labels]
        del f, sc
    ms.append((time.perf_counter() - t0) * 1000)
np.save(sys.argv[8], labels)
np.save(sys.argv[8].replace("labels", "scores"), scores)
print(json.dumps({"ms": ms, "library_total_ms": lib_ms, "network_ms": net_ms, **stages,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


RSS_WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print('peak_rss_mb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr); "
               "sys.exit(r.returncode)")


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"segment_bench: {' '.join(map(str, cmd))} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--inputs", default="scannet,lidar1m")
    ap.add_argument("--json")
    ap.add_argument("--skip-peer", action="store_true", help="do not run the per-point peer (11 min and 5.6 GB on lidar1m)")
    args = ap.parse_args()
    lib = ROOT / ".build" / "release" / "libov3d.so"
    tool = ROOT / ".build" / "release" / "ov3d-tool"
    if not lib.exists() or not tool.exists():
        sys.exit("segment_bench: build first: swift build -c release")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OV3D_LIBRARY": str(lib), "OV3D_PROGRESS": "0"}
    out = {"runs": args.runs, "threads": 1, "loadavg_start": os.getloadavg(), "inputs": {}}
    with tempfile.TemporaryDirectory() as td:
        d = Path(td)
        inputs, emb, w = make_inputs(d)
        drv = d / "driver"
        subprocess.run(["gcc", "-O2", "-std=c99", "-Wall", "-Werror", f"-I{ROOT / 'include'}", str(HERE / "segment_bench_driver.c"),
                        f"-L{lib.parent}", "-lov3d", f"-Wl,-rpath,{lib.parent}", "-o", str(drv)], check=True)
        (d / "child.py").write_text(PY_CHILD)
        for name in args.inputs.split(","):
            pts, voxel = inputs[name]
            n = len(pts)
            common = [w, d / f"{name}.f32", n, d / "emb.f32", len(emb), emb.shape[1], voxel, 1, args.runs]
            print(f"== {name}: {n} points, voxel {voxel} m", flush=True)
            net = run_json([drv, "network", *map(str, common)], env)
            c = run_json([drv, "segment", *map(str, common)], env)
            py = run_json([sys.executable, d / "child.py", str(ROOT / "bindings" / "python"), "segment", w, d / f"{name}.npy",
                           d / "emb.npy", str(voxel), str(args.runs), d / "py_labels.npy"], env)
            peer = None if args.skip_peer else run_json(
                [sys.executable, d / "child.py", str(ROOT / "bindings" / "python"), "peer", w, d / f"{name}.npy",
                 d / "emb.npy", str(voxel), "0", d / "peer_labels.npy"], env)
            cli_seg, cli_net, cli_wall, cli_rss, cli_stages = [], [], [], [], []
            for r in range(args.runs):
                t0 = time.perf_counter()
                # Through a fresh Python parent, so that its RUSAGE_CHILDREN peak is the tool's own
                # (this process's children include the peer's 5 GB run).
                p = subprocess.run([sys.executable, "-c", RSS_WRAPPER, tool, "segment", d / f"{name}.npy", "--checkpoint", w, "--labels", "scannet20",
                                    "--embeddings", d / "emb.npy", "--voxel-size", str(voxel), "--threads", "1",
                                    "--out-labels", d / "cli_labels.npy", "--out-scores", d / "cli_scores.npy", "--json"],
                                   capture_output=True, text=True, env=env)
                cli_wall.append((time.perf_counter() - t0) * 1000)
                if p.returncode != 0:
                    sys.exit(f"segment_bench: ov3d segment failed: {p.stderr}")
                tm = json.loads(p.stdout.strip().splitlines()[-1])["timings_ms"]
                cli_seg.append(tm["segment"]); cli_net.append(tm["network"])
                cli_stages.append({k: tm[k] for k in ("read_input", "voxelize", "network", "scoring", "broadcast", "write", "total")})
                cli_rss.append(float(p.stderr.strip().splitlines()[-1].split()[-1]))
            # All surfaces give the same labels; the peer's agree except near ties.
            same = bool(np.array_equal(np.load(d / "py_labels.npy"), np.load(d / "cli_labels.npy")))
            same_scores = bool(np.array_equal(np.load(d / "py_scores.npy"), np.load(d / "cli_scores.npy"), equal_nan=True))
            peer_agree = None if peer is None else float((np.load(d / "peer_labels.npy") == np.load(d / "cli_labels.npy")).mean())
            med = lambda v: statistics.median(v[1:]) if len(v) > 1 else v[0]   # noqa: E731  (run 0 is the first, untimed run)
            r = {
                "points": n, "voxels": c["voxels"], "voxel_size": voxel,
                "network_ms": med(net["ms"]), "c_segment_ms": med(c["ms"]), "c_network_inside_ms": med(c["network_ms"]),
                "python_segment_ms": med(py["ms"]), "cli_segment_ms": statistics.median(cli_seg),
                "cli_wall_ms": statistics.median(cli_wall), "peer_python_per_point_ms": peer and peer["ms"][-1],
                "first_run_ms": {"network": net["ms"][0], "c": c["ms"][0], "python": py["ms"][0]},
                "peak_rss_mb": {"network": net["peak_rss_mb"], "c": c["peak_rss_mb"], "python": py["peak_rss_mb"],
                                "cli_max": max(cli_rss), "peer_python_per_point": peer and peer["peak_rss_mb"]},
                "labels_identical_python_cli": same, "scores_identical_python_cli": same_scores,
                "peer_label_agreement": peer_agree, "loadavg_after": os.getloadavg(),
                # Per stage inside the library (info.*_ms), medians of the timed runs.
                "stages_ms": {"c": {k: med(c[k]) for k in ("voxelize_ms", "network_ms", "scoring_ms", "broadcast_ms", "library_total_ms")},
                              "python": {k: med(py[k]) for k in ("voxelize_ms", "network_ms", "scoring_ms", "broadcast_ms", "library_total_ms")},
                              "cli": {k: statistics.median([t[k] for t in cli_stages]) for k in cli_stages[0]}},
            }
            # Across processes (the bare network and each surface in its own process: sensitive to
            # the load of a shared machine) ...
            r["overhead_beyond_network"] = r["c_segment_ms"] / r["network_ms"] - 1
            r["python_binding_overhead"] = r["python_segment_ms"] / r["c_segment_ms"] - 1
            r["cli_in_process_overhead"] = r["cli_segment_ms"] / r["c_segment_ms"] - 1
            # ... and within each run (the same call's own network time / the library's own total:
            # immune to load that drifts between processes). Medians over the timed runs.
            per = lambda a, b: statistics.median([x / y - 1 for x, y in zip(a[1:], b[1:])] or [a[0] / b[0] - 1])  # noqa: E731
            r["same_run"] = {
                "c_overhead_beyond_network": per(c["ms"], c["network_ms"]),
                "python_overhead_beyond_network": per(py["ms"], py["network_ms"]),
                "python_binding_overhead": per(py["ms"], py["library_total_ms"]),
                "c_call_overhead": per(c["ms"], c["library_total_ms"]),
                "cli_overhead_beyond_network": statistics.median([x / y - 1 for x, y in zip(cli_seg, cli_net)]),
            }
            r["peer_over_ov3d_python"] = peer and r["peer_python_per_point_ms"] / r["python_segment_ms"]
            out["inputs"][name] = r
            print(json.dumps(r, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print("\n| input | points | voxels | network ms | C segment ms | overhead | Python ms | binding | CLI segment ms | CLI wall ms | peak RSS C / Py / CLI MB | peer (per point, Python) ms, MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    sr = lambda r: " ".join(f"{k}={100 * v:+.1f}%" for k, v in r["same_run"].items())  # noqa: E731
    for name, r in out["inputs"].items():
        m = r["peak_rss_mb"]
        print(f"| {name} | {r['points']} | {r['voxels']} | {r['network_ms']:.0f} | {r['c_segment_ms']:.0f} | {100 * r['overhead_beyond_network']:+.1f}% "
              f"| {r['python_segment_ms']:.0f} | {100 * r['python_binding_overhead']:+.1f}% | {r['cli_segment_ms']:.0f} | {r['cli_wall_ms']:.0f} "
              f"| {m['c']:.0f} / {m['python']:.0f} / {m['cli_max']:.0f} | "
              + ("not run |" if r["peer_python_per_point_ms"] is None else f"{r['peer_python_per_point_ms']:.0f}, {m['peer_python_per_point']:.0f} |"))
    for name, r in out["inputs"].items():
        print(f"same run, {name}: {sr(r)}")
        print(f"stages, {name}: " + "; ".join(f"{who} " + " ".join(f"{k}={v:.0f}" for k, v in st.items())
                                             for who, st in r["stages_ms"].items()))
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
