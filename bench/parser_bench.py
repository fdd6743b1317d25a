#!/usr/bin/env python3
"""Cost of issue 17's validation: the same files loaded, and the same MinkUNet18A forward run, by
two `ov3d-tool` builds — BEFORE (main before the hardening work) and AFTER — interleaved in the
same run (the order alternates every round, so load drift on a shared machine cancels); reports
medians and the after/before ratio per case, with the machine's load.

Cases (files generated into a temporary directory, never committed):
- MinkUNet18A checkpoints, full size (289 tensors, ~62 MB): torch zip `.pth.tar` (the real
  torch.save, bench/checkpoint/make_18a_checkpoint.py), the legacy format (torch.save with
  _use_new_zipfile_serialization=False) and safetensors (`ov3d convert` of the zip): the median of
  `ov3d inspect --benchmark N` (CheckpointReader.load with CRC, in-process, N loads);
- `MinkUNet.load` of the zip checkpoint (read + architecture + BN folding) and the forward
  (`model.run(points:)`: voxelisation, network, 512-d head) on the generated room of
  bench/make_room.py (~108k voxels at 2 cm), 1 thread: `ov3d features --repeat R`'s load_ms and the
  median of its in-process forward times;
- the room's points (a ScanNet-sized cloud) as binary PLY (written by `ov3d superpoints --out-ply`),
  binary PCD, binary_compressed PCD (PCL's own pcl_convert_pcd_ascii_binary, when installed) and
  npy: the `read X ms` (CloudFile.read, in-process) of `ov3d superpoints --method graph`.

    python3 bench/parser_bench.py BEFORE/ov3d-tool AFTER/ov3d-tool [--rounds 6] [--md OUT.md]
(needs torch for the checkpoints: .venv-tools; release builds: swift build -c release --product
ov3d-tool, BEFORE in a separate worktree at the older commit.) Record: results/parser.md.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from make_room import make_room_points  # noqa: E402

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run(args):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=ENV)
    if p.returncode != 0:
        sys.exit(f"parser_bench: {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr[-2000:]}")
    return p


def inspect_ms(tool, f, n):
    out = run([tool, "inspect", f, "--benchmark", n]).stdout
    return {"": float(re.search(r"CheckpointReader.load \(CRC on\)\s+([\d.]+) ms", out).group(1))}


def cloud_read_ms(tool, f, tmp):
    out = run([tool, "superpoints", "--method", "graph", "--graph-voxel", "0.5", "--out-ids", tmp / "ids.npy", f]).stdout
    return {"": float(re.search(r"read ([\d.]+) ms", out).group(1))}


def forward_ms(tool, ck, pts, tmp, repeat):
    err = run([tool, "features", "--checkpoint", ck, "--points", pts, "--voxel-size", "0.02", "--threads", "1",
               "--repeat", repeat, "--out", tmp / "f.npy"]).stderr
    rec = json.loads([x for x in err.splitlines() if x.startswith("{")][-1])
    return {"load": rec["load_ms"], "forward": statistics.median(rec["ms"]), "_voxels": rec["voxels"]}


def loadavg():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--loads", type=int, default=5, help="loads per inspect --benchmark run")
    ap.add_argument("--repeat", type=int, default=3, help="forwards per features run")
    ap.add_argument("--md", help="also write the table as markdown here")
    ap.add_argument("--label", default="", help="names of the two builds, for the record")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ov3d-parser-bench-"))
    try:
        ck = tmp / "model_best.pth.tar"
        run([sys.executable, ROOT / "bench/checkpoint/make_18a_checkpoint.py", ck])
        import torch
        legacy = tmp / "legacy.pth"
        torch.save(torch.load(ck, weights_only=False), legacy, _use_new_zipfile_serialization=False)
        st = tmp / "model.safetensors"
        run([a.after, "convert", ck, st])
        pts = make_room_points()
        np.save(tmp / "room.npy", pts)
        clouds = {"npy": tmp / "room.npy", "binary PLY": tmp / "room.ply", "binary PCD": tmp / "room.pcd"}
        run([a.after, "superpoints", "--method", "graph", "--graph-voxel", "0.5", "--out-ids", tmp / "i.npy",
             "--out-ply", clouds["binary PLY"], clouds["npy"]])
        hdr = ("# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
               f"WIDTH {len(pts)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(pts)}\nDATA binary\n").encode()
        clouds["binary PCD"].write_bytes(hdr + pts.tobytes())
        if shutil.which("pcl_convert_pcd_ascii_binary"):
            clouds["binary_compressed PCD"] = tmp / "room_lzf.pcd"
            run(["pcl_convert_pcd_ascii_binary", clouds["binary PCD"], clouds["binary_compressed PCD"], "2"])

        cases = [(f"checkpoint {k}", lambda t, f=f: inspect_ms(t, f, a.loads)) for k, f in
                 (("zip .pth.tar", ck), ("legacy .pth", legacy), ("safetensors", st))]
        cases.append(("MinkUNet18A", lambda t: forward_ms(t, ck, clouds["npy"], tmp, a.repeat)))
        cases += [(f"cloud {k}", lambda t, f=f: cloud_read_ms(t, f, tmp)) for k, f in clouds.items()]
        res, loads, voxels = {}, [loadavg()], None
        t0 = time.time()
        for rnd in range(a.rounds):
            for c, fn in cases:
                order = ("before", "after") if rnd % 2 == 0 else ("after", "before")
                for which in order:
                    for sub, v in fn(a.before if which == "before" else a.after).items():
                        if sub == "_voxels":
                            voxels = v
                            continue
                        res.setdefault(f"{c} {sub}".strip(), {"before": [], "after": []})[which].append(v)
            loads.append(loadavg())
            print(f"round {rnd + 1}/{a.rounds} done, load {loads[-1]:.1f}", file=sys.stderr)
        wall = time.time() - t0
        sizes = {"zip": ck.stat().st_size, "legacy": legacy.stat().st_size, "safetensors": st.stat().st_size}
        head = (f"{a.rounds} interleaved rounds (order alternating), medians in ms; ratio = after / before; "
                f"spread = after's (max-min)/median. {len(pts)} points ({voxels} voxels at 2 cm), checkpoints "
                f"{sizes['zip'] >> 20}/{sizes['legacy'] >> 20}/{sizes['safetensors'] >> 20} MiB (zip/legacy/safetensors); "
                f"1 thread; 1-min load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores; {wall / 60:.0f} min")
        rows = []
        for c, v in res.items():
            b, f = statistics.median(v["before"]), statistics.median(v["after"])
            spread = (max(v["after"]) - min(v["after"])) / f if f else 0
            rows.append((c, b, f, f / b, spread))
        lines = [f"{'case':36s} {'before':>10s} {'after':>10s} {'ratio':>6s} {'spread':>7s}"]
        lines += [f"{c:36s} {b:10.2f} {f:10.2f} {r:6.3f} {s:7.2f}" for c, b, f, r, s in rows]
        print(head)
        print("\n".join(lines))
        if a.md:
            with open(a.md, "w") as fh:
                fh.write(f"{a.label}\n\n{head}\n\n```\n" + "\n".join(lines) + "\n```\n")
                fh.write("\nRaw samples (ms):\n\n```\n" + json.dumps(res) + "\n```\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
